//! The one migration set, applied identically to SQLite and Postgres.
//!
//! Each file creates one area of the data model; `docs/data-model.md` maps
//! every seed table and field to the columns created here.

use sea_orm_migration::prelude::*;

mod m0001_accounts;
pub mod schema;

/// Applies Baton's migrations in order.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![Box::new(m0001_accounts::Migration)]
    }
}
