//! The storage layer's error type.

use sea_orm::{DbErr, SqlErr};

/// Errors from the storage layer. Constraint violations are classified so the
/// services can turn them into field errors or conflicts.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A unique constraint was violated; the text names the constraint.
    #[error("unique constraint violated: {0}")]
    Unique(String),
    /// A foreign key pointed nowhere.
    #[error("foreign key violated: {0}")]
    ForeignKey(String),
    /// The database URL is not one we understand.
    #[error("unsupported database URL `{0}`: use sqlite://PATH or postgres://USER@HOST/DB")]
    BadUrl(String),
    /// The database server could not be reached or refused us.
    #[error("cannot connect: {0}")]
    Connect(String),
    /// Any other database error.
    #[error("database error: {0}")]
    Db(DbErr),
}

impl From<DbErr> for StoreError {
    fn from(e: DbErr) -> Self {
        match e.sql_err() {
            Some(SqlErr::UniqueConstraintViolation(m)) => StoreError::Unique(m),
            Some(SqlErr::ForeignKeyConstraintViolation(m)) => StoreError::ForeignKey(m),
            _ => StoreError::Db(e),
        }
    }
}

impl From<sea_orm::TransactionError<StoreError>> for StoreError {
    fn from(e: sea_orm::TransactionError<StoreError>) -> Self {
        match e {
            sea_orm::TransactionError::Connection(e) => e.into(),
            sea_orm::TransactionError::Transaction(e) => e,
        }
    }
}

impl StoreError {
    /// Whether this is a unique violation mentioning `needle` (a column or
    /// index name). SQLite names columns, Postgres names the index, so callers
    /// pass a fragment both contain.
    pub fn is_unique_on(&self, needle: &str) -> bool {
        matches!(self, StoreError::Unique(m) if m.contains(needle))
    }
}
