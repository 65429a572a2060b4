//! The services' error type: variants a client can act on, mapped once to
//! HTTP statuses and MCP errors. An internal failure keeps the error chain
//! that caused it, for the log; the client only learns that it happened.

use std::{error::Error as StdError, fmt, sync::Arc};

use baton_domain::ValidationErrors;
use baton_store::StoreError;

/// Result of a use case.
pub type AppResult<T, E = AppError> = Result<T, E>;

/// Why a use case refused or failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum AppError {
    /// Input is well-formed but invalid; each bad field is named.
    #[error("validation failed: {0}")]
    Validation(#[from] ValidationErrors),
    /// No credentials, or credentials that are wrong, expired or revoked.
    #[error("{0}")]
    Unauthorized(String),
    /// The caller is known but may not do this.
    #[error("{0}")]
    Forbidden(String),
    /// Demo accounts are read-only.
    #[error("demo accounts are read-only")]
    DemoReadOnly,
    /// The thing does not exist, or belongs to someone the caller cannot see.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The request conflicts with the current state (named in the message).
    #[error("{0}")]
    Conflict(String),
    /// Too many attempts; retry after this many seconds.
    #[error("too many attempts; try again in {retry_after_secs} s")]
    RateLimited {
        /// Seconds until a retry may succeed.
        retry_after_secs: u64,
    },
    /// A dependency the request needs is not configured or not reachable
    /// (503); the message says which.
    #[error("{0}")]
    Unavailable(String),
    /// Something failed that the client cannot fix; details go to the log only.
    #[error("internal error: {0}")]
    Internal(Internal),
}

/// An internal failure: what went wrong and, when another error caused it,
/// that error with its own chain of sources (shared, so [`AppError`] stays
/// `Clone`). `{}` shows the message; `{:#}` the whole chain, for the log.
#[derive(Debug, Clone)]
pub struct Internal {
    message: String,
    source: Option<Arc<dyn StdError + Send + Sync>>,
}

impl Internal {
    /// A failure with no underlying error.
    pub fn new(message: impl Into<String>) -> Internal {
        Internal { message: message.into(), source: None }
    }

    /// A failure caused by `source`.
    pub fn caused_by(message: impl Into<String>, source: impl StdError + Send + Sync + 'static) -> Internal {
        Internal { message: message.into(), source: Some(Arc::new(source)) }
    }

    /// The message without its causes.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for Internal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        if f.alternate() {
            let mut next = self.source();
            while let Some(e) = next {
                write!(f, ": {e}")?;
                next = e.source();
            }
        }
        Ok(())
    }
}

impl StdError for Internal {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.source.as_deref().map(|e| e as &(dyn StdError + 'static))
    }
}

impl From<String> for Internal {
    fn from(message: String) -> Self {
        Internal::new(message)
    }
}

impl From<&str> for Internal {
    fn from(message: &str) -> Self {
        Internal::new(message)
    }
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        AppError::Internal(Internal::caused_by("storage failed", e))
    }
}

impl From<baton_domain::db_enum::UnknownDbValue> for AppError {
    fn from(e: baton_domain::db_enum::UnknownDbValue) -> Self {
        // The message itself names the column and the value; there is no deeper cause.
        AppError::Internal(Internal::new(e.to_string()))
    }
}

impl From<baton_store::sea_orm::DbErr> for AppError {
    fn from(e: baton_store::sea_orm::DbErr) -> Self {
        StoreError::from(e).into()
    }
}

impl From<baton_store::sea_orm::TransactionError<AppError>> for AppError {
    fn from(e: baton_store::sea_orm::TransactionError<AppError>) -> Self {
        match e {
            baton_store::sea_orm::TransactionError::Connection(e) => e.into(),
            baton_store::sea_orm::TransactionError::Transaction(e) => e,
        }
    }
}

impl AppError {
    /// A validation error on one field.
    pub fn field(path: &str, message: impl Into<String>) -> Self {
        AppError::Validation(ValidationErrors::one(path, message))
    }

    /// An internal failure with no underlying error.
    pub fn internal(message: impl Into<String>) -> Self {
        AppError::Internal(Internal::new(message))
    }

    /// An internal failure caused by `source` (kept for the log).
    pub fn internal_from(message: impl Into<String>, source: impl StdError + Send + Sync + 'static) -> Self {
        AppError::Internal(Internal::caused_by(message, source))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_internal_error_keeps_its_whole_chain_for_the_log() {
        let db = baton_store::sea_orm::DbErr::Custom("connection reset by peer".into());
        let e = AppError::from(db);
        let AppError::Internal(i) = &e else { panic!("internal: {e:?}") };
        assert_eq!(i.to_string(), "storage failed");
        assert_eq!(format!("{i:#}"), "storage failed: database error: Custom Error: connection reset by peer");
        assert!(i.source().is_some(), "the cause is reachable by source()");
        let copy = e.clone();
        assert_eq!(copy.to_string(), "internal error: storage failed");
    }

    #[test]
    fn an_unknown_database_value_names_its_column() {
        let e = AppError::from(baton_domain::db_enum::UnknownDbValue { column: "tasks.status", value: "BOGUS".into() });
        let AppError::Internal(i) = &e else { panic!("internal: {e:?}") };
        assert_eq!(format!("{i:#}"), "unknown value \"BOGUS\" in column tasks.status");
    }
}
