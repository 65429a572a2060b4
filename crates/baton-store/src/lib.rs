//! Baton storage: SeaORM entities, the one migration set (SQLite and
//! Postgres), connection set-up, repositories and the event bus.
//!
//! Nothing above this crate names a backend: the choice is made once, from
//! the URL scheme, in [`db::connect`].

pub mod counters;
pub mod db;
#[allow(missing_docs, reason = "columns are documented in docs/data-model.md")]
pub mod entities;
pub mod error;
pub mod events;
pub mod gate;
pub mod migration;
pub mod repo;

pub use counters::DbCounts;
pub use db::{Backend, Db, connect};
pub use error::StoreError;
pub use sea_orm;

/// A new UUID v7 id in its text form: time-ordered, so indexes stay compact
/// and ids sort by creation.
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// The current time, truncated to microseconds so values read back from
/// either backend compare equal to the ones written.
pub fn now() -> chrono::DateTime<chrono::Utc> {
    use chrono::{SubsecRound, Utc};
    Utc::now().trunc_subsecs(6)
}
