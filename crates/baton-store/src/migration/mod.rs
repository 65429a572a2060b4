//! The one migration set, applied identically to SQLite and Postgres.
//!
//! Each file creates one area of the data model; `docs/data-model.md` maps
//! every seed table and field to the columns created here.

use sea_orm_migration::prelude::*;

mod m0001_accounts;
mod m0002_backlog;
mod m0003_agents;
mod m0004_marketplace;
mod m0005_model_price_seed;
mod m0006_queue_claim_index;
mod m0007_idea_docs;
mod m0008_job_kind_config;
mod m0009_escrow_checks;
mod m0010_market_projects;
mod m0011_story_workflow;
mod m0012_job_indexes;
pub mod schema;

/// Applies Baton's migrations in order.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m0001_accounts::Migration),
            Box::new(m0002_backlog::Migration),
            Box::new(m0003_agents::Migration),
            Box::new(m0004_marketplace::Migration),
            Box::new(m0005_model_price_seed::Migration),
            Box::new(m0006_queue_claim_index::Migration),
            Box::new(m0007_idea_docs::Migration),
            Box::new(m0008_job_kind_config::Migration),
            Box::new(m0009_escrow_checks::Migration),
            Box::new(m0010_market_projects::Migration),
            Box::new(m0011_story_workflow::Migration),
            Box::new(m0012_job_indexes::Migration),
        ]
    }
}

/// A fingerprint of the migration sources. Test harnesses key cached,
/// migrated template databases on it, so editing a migration (not only
/// adding one) invalidates them.
pub const SOURCE_FINGERPRINT: u64 = fnv1a(concat!(
    include_str!("schema.rs"),
    include_str!("m0001_accounts.rs"),
    include_str!("m0002_backlog.rs"),
    include_str!("m0003_agents.rs"),
    include_str!("m0004_marketplace.rs"),
    include_str!("m0005_model_price_seed.rs"),
    include_str!("m0006_queue_claim_index.rs"),
    include_str!("m0007_idea_docs.rs"),
    include_str!("m0008_job_kind_config.rs"),
    include_str!("m0009_escrow_checks.rs"),
    include_str!("m0010_market_projects.rs"),
    include_str!("m0011_story_workflow.rs"),
    include_str!("m0012_job_indexes.rs"),
));

const fn fnv1a(s: &str) -> u64 {
    let bytes = s.as_bytes();
    let mut h: u64 = 0xcbf29ce484222325;
    let mut i = 0;
    while i < bytes.len() {
        h = (h ^ bytes[i] as u64).wrapping_mul(0x100000001b3);
        i += 1;
    }
    h
}
