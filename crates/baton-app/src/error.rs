//! The services' error type: variants a client can act on, mapped once to
//! HTTP statuses (and later to MCP errors).

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
    /// Something failed that the client cannot fix; details go to the log only.
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        AppError::Internal(e.to_string())
    }
}

impl From<baton_domain::db_enum::UnknownDbValue> for AppError {
    fn from(e: baton_domain::db_enum::UnknownDbValue) -> Self {
        AppError::Internal(e.to_string())
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
}
