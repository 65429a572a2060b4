//! The one migration set, applied identically to SQLite and Postgres.
//!
//! Each file creates one area of the data model; `docs/data-model.md` maps
//! every seed table and field to the columns created here.

use sea_orm_migration::prelude::*;

mod m0001_accounts;
mod m0002_backlog;
mod m0003_agents;
mod m0004_marketplace;
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
        ]
    }
}
