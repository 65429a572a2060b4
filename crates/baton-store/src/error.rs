//! The storage layer's error type, and the one place where a violated
//! constraint becomes something a service can act on.
//!
//! A unique violation is identified by the name of its index, the same on
//! both backends: Postgres reports the index name, SQLite reports the
//! `table.column` list, which [`StoreError::from`] turns back into the name
//! the migrations give that index (`{table}_{columns}_key`, see
//! [`crate::migration::schema::index`]). Services match those names with
//! [`ResultExt::on_unique`] against the constants of [`unique`], never
//! against message text.

use sea_orm::{DbErr, RuntimeErr, SqlErr};

/// Errors from the storage layer. Constraint violations are classified so the
/// services can turn them into field errors or conflicts.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A unique index was violated; the text is the index name (one of
    /// [`unique`] for the indexes services map), or the database's message
    /// when it named none.
    #[error("unique constraint violated: {0}")]
    Unique(String),
    /// A foreign key pointed nowhere (SQLite does not say which one).
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

/// Names of the unique indexes whose violation a service turns into an
/// answer for the client (as created by the migrations; a test checks each
/// exists on both backends).
pub mod unique {
    /// `users.username`.
    pub const USERS_USERNAME: &str = "users_username_key";
    /// `users.email`.
    pub const USERS_EMAIL: &str = "users_email_key";
    /// A product name per owner.
    pub const PRODUCTS_NAME: &str = "products_user_id_name_key";
    /// A product code per owner.
    pub const PRODUCTS_CODE: &str = "products_user_id_code_key";
    /// One membership per user and product.
    pub const PRODUCT_MEMBERS_USER: &str = "product_members_product_id_user_id_key";
    /// One price per model, runtime, provider, billing mode, unit and tier.
    pub const MODEL_PRICES_IDENTITY: &str = "model_prices_identity_key";

    /// Every name above.
    pub const ALL: &[&str] =
        &[USERS_USERNAME, USERS_EMAIL, PRODUCTS_NAME, PRODUCTS_CODE, PRODUCT_MEMBERS_USER, MODEL_PRICES_IDENTITY];

    /// Indexes named by hand in the migrations (their generated name would
    /// pass Postgres' 63-byte limit): the generated name SQLite's column
    /// list leads to, and the real one.
    pub(crate) const RENAMED: &[(&str, &str)] =
        &[("model_prices_runtime_provider_model_id_billing_mode_billing_unit_service_tier_key", MODEL_PRICES_IDENTITY)];
}

impl From<DbErr> for StoreError {
    fn from(e: DbErr) -> Self {
        match e.sql_err() {
            Some(SqlErr::UniqueConstraintViolation(m)) => StoreError::Unique(unique_index(&e).unwrap_or(m)),
            Some(SqlErr::ForeignKeyConstraintViolation(m)) => StoreError::ForeignKey(m),
            _ => StoreError::Db(e),
        }
    }
}

/// The name of the index a unique violation hit: Postgres names it; SQLite
/// says `UNIQUE constraint failed: t.a, t.b`, which the migrations' naming
/// rule turns into `t_a_b_key`.
fn unique_index(e: &DbErr) -> Option<String> {
    let (DbErr::Exec(RuntimeErr::SqlxError(x)) | DbErr::Query(RuntimeErr::SqlxError(x))) = e else { return None };
    let sqlx::Error::Database(d) = x.as_ref() else { return None };
    if let Some(name) = d.constraint() {
        return Some(name.to_string());
    }
    sqlite_index_name(d.message())
}

/// `UNIQUE constraint failed: t.a, t.b` → `t_a_b_key` (or its hand-given name).
fn sqlite_index_name(message: &str) -> Option<String> {
    let list = message.strip_prefix("UNIQUE constraint failed: ")?;
    if let Some(named) = list.strip_prefix("index '") {
        return named.strip_suffix('\'').map(str::to_string);
    }
    let mut table = None;
    let mut cols = Vec::new();
    for part in list.split(", ") {
        let (t, c) = part.trim().split_once('.')?;
        if *table.get_or_insert(t) != t {
            return None;
        }
        cols.push(c);
    }
    let generated = format!("{}_{}_key", table?, cols.join("_"));
    Some(match unique::RENAMED.iter().find(|(g, _)| *g == generated) {
        Some((_, real)) => real.to_string(),
        None => generated,
    })
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
    /// The index a unique violation hit (see [`unique`]), or `None` when
    /// this is not a unique violation.
    pub fn unique_index(&self) -> Option<&str> {
        match self {
            StoreError::Unique(name) => Some(name),
            _ => None,
        }
    }
}

/// Turns constraint violations of a storage result into the caller's own
/// errors (in the style of realworld-axum-sqlx's `on_constraint`); every
/// other error converts as usual.
pub trait ResultExt<T> {
    /// On a unique violation, `map` gets the violated index's name (compare
    /// it with the constants of [`unique`]) and returns the error to answer
    /// instead, or `None` to keep the storage error.
    fn on_unique<E: From<StoreError>>(self, map: impl FnOnce(&str) -> Option<E>) -> Result<T, E>;

    /// On a foreign-key violation, answers `map()` instead (SQLite does not
    /// say which key, so callers use this where only one can fail).
    fn on_foreign_key<E: From<StoreError>>(self, map: impl FnOnce() -> E) -> Result<T, E>;
}

impl<T, X: Into<StoreError>> ResultExt<T> for Result<T, X> {
    fn on_unique<E: From<StoreError>>(self, map: impl FnOnce(&str) -> Option<E>) -> Result<T, E> {
        self.map_err(|e| {
            let e = e.into();
            match &e {
                StoreError::Unique(index) => map(index).unwrap_or_else(|| e.into()),
                _ => e.into(),
            }
        })
    }

    fn on_foreign_key<E: From<StoreError>>(self, map: impl FnOnce() -> E) -> Result<T, E> {
        self.map_err(|e| match e.into() {
            StoreError::ForeignKey(_) => map(),
            e => e.into(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_column_lists_become_the_index_names_the_migrations_give() {
        assert_eq!(sqlite_index_name("UNIQUE constraint failed: users.email").as_deref(), Some(unique::USERS_EMAIL));
        assert_eq!(
            sqlite_index_name("UNIQUE constraint failed: products.user_id, products.code").as_deref(),
            Some(unique::PRODUCTS_CODE)
        );
        let prices = "UNIQUE constraint failed: model_prices.runtime, model_prices.provider, model_prices.model_id, \
                      model_prices.billing_mode, model_prices.billing_unit, model_prices.service_tier";
        assert_eq!(sqlite_index_name(prices).as_deref(), Some(unique::MODEL_PRICES_IDENTITY));
        assert_eq!(sqlite_index_name("UNIQUE constraint failed: index 'by_hand'").as_deref(), Some("by_hand"));
        assert_eq!(sqlite_index_name("UNIQUE constraint failed: a.x, b.y"), None, "one table per index");
        assert_eq!(sqlite_index_name("NOT NULL constraint failed: users.email"), None);
    }

    #[test]
    fn on_unique_maps_only_what_the_caller_names_and_keeps_the_rest() {
        #[derive(Debug, PartialEq)]
        enum E {
            Taken,
            Store(String),
        }
        impl From<StoreError> for E {
            fn from(e: StoreError) -> Self {
                E::Store(e.to_string())
            }
        }
        let hit: Result<(), StoreError> = Err(StoreError::Unique(unique::USERS_EMAIL.into()));
        assert_eq!(hit.on_unique(|k| (k == unique::USERS_EMAIL).then_some(E::Taken)), Err(E::Taken));
        let other: Result<(), StoreError> = Err(StoreError::Unique("sessions_id_hash_key".into()));
        assert_eq!(
            other.on_unique(|k| (k == unique::USERS_EMAIL).then_some(E::Taken)),
            Err(E::Store("unique constraint violated: sessions_id_hash_key".into()))
        );
        let fk: Result<(), StoreError> = Err(StoreError::ForeignKey("FOREIGN KEY constraint failed".into()));
        assert_eq!(fk.on_foreign_key(|| E::Taken), Err(E::Taken));
        let ok: Result<u8, StoreError> = Ok(1);
        assert_eq!(ok.on_foreign_key(|| E::Taken), Ok(1));
    }
}
