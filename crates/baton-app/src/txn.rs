//! Product-scoped write transactions and code allocation.
//!
//! Every backlog write by a person runs in [`in_product_txn`], whose first
//! statement updates the product row. On Postgres that row lock serialises writers of
//! one product (so status propagation and code numbers never race under
//! READ COMMITTED); writers of different products never wait for each
//! other. On SQLite every transaction begun on [`Db`] is a write
//! transaction already: it queues for the single writer connection (first
//! come, first served) and begins `IMMEDIATE` (see [`baton_store::gate`]),
//! so the row update there only checks that the product exists.
//!
//! A worker's `done` report is the exception: it locks only its job, story,
//! PBI and sprint rows, in that order (see `backlog::propagation`), so
//! agents finishing tasks of one product do not queue on one row.
//!
//! A transaction body writes through its transaction, never through the
//! `Db` handle: on SQLite that write would wait for the writer connection
//! the body itself holds.

use std::{future::Future, pin::Pin};

use baton_domain::codes::CodeKind;
use baton_store::{
    Db,
    sea_orm::{ConnectionTrait, DatabaseTransaction, DbBackend, Statement, TransactionTrait},
};

use crate::{AppError, AppResult};

/// The body of a product transaction.
pub type TxnBody<'c, T> = Pin<Box<dyn Future<Output = AppResult<T>> + Send + 'c>>;

/// Runs `f` in a transaction that first locks product `product_id`.
/// Commits when `f` returns `Ok`, rolls back (leaving the database exactly
/// as before) when it returns `Err`.
pub async fn in_product_txn<T, F>(db: &Db, product_id: &str, f: F) -> AppResult<T>
where
    T: Send,
    F: for<'c> FnOnce(&'c DatabaseTransaction) -> TxnBody<'c, T> + Send,
{
    let txn = db.begin().await?;
    lock_product(&txn, product_id).await?;
    let result = f(&txn).await;
    finish(txn, result).await
}

/// Commits after a body that succeeded, rolls back after one that failed.
async fn finish<T>(txn: DatabaseTransaction, result: AppResult<T>) -> AppResult<T> {
    match result {
        Ok(v) => {
            txn.commit().await?;
            Ok(v)
        }
        Err(e) => {
            txn.rollback().await?;
            Err(e)
        }
    }
}

/// Locks the product row for the rest of the transaction.
pub async fn lock_product<C: ConnectionTrait>(db: &C, product_id: &str) -> AppResult<()> {
    lock_row(db, "products", product_id, "product").await
}

/// Locks row `id` of `table` for the rest of the transaction with `SELECT …
/// FOR NO KEY UPDATE` (the lock an UPDATE of a non-key column takes, without
/// writing a new row version as a dummy `SET x = x` would); on SQLite, whose
/// write transactions hold the database lock from BEGIN, it only checks
/// that the row exists. `NotFound(what)` when it does not.
async fn lock_row<C: ConnectionTrait>(db: &C, table: &str, id: &str, what: &'static str) -> AppResult<()> {
    let b = db.get_database_backend();
    let lock = if b == DbBackend::Postgres { " FOR NO KEY UPDATE" } else { "" };
    let sql = format!("SELECT id FROM {table} WHERE id = $1{lock}");
    match db.query_one_raw(Statement::from_sql_and_values(b, sql, [id.into()])).await? {
        Some(_) => Ok(()),
        None => Err(AppError::NotFound(what)),
    }
}

/// Runs `f` in a transaction that first locks user `user_id`'s row: the
/// owner's private things (ideas and their `IDEA-NNN` counter) are written
/// one transaction at a time per user on Postgres, as [`in_product_txn`]
/// does per product; on SQLite every write transaction is serialised anyway.
pub async fn in_user_txn<T, F>(db: &Db, user_id: &str, f: F) -> AppResult<T>
where
    T: Send,
    F: for<'c> FnOnce(&'c DatabaseTransaction) -> TxnBody<'c, T> + Send,
{
    let txn = db.begin().await?;
    if let Err(e) = lock_user(&txn, user_id).await {
        return finish(txn, Err(e)).await;
    }
    let result = f(&txn).await;
    finish(txn, result).await
}

/// Locks user `user_id`'s row for the rest of the transaction, as
/// [`in_user_txn`] does first: for a product transaction that also writes
/// the user's private things (materializing an idea). Take the product lock
/// first, then this one.
pub async fn lock_user<C: ConnectionTrait>(db: &C, user_id: &str) -> AppResult<()> {
    lock_row(db, "users", user_id, "user").await
}

fn counter(kind: CodeKind) -> &'static str {
    match kind {
        CodeKind::Pbi => "last_pbi_number",
        CodeKind::Story => "last_story_number",
        CodeKind::Task => "last_task_number",
        CodeKind::Sprint => "last_sprint_number",
    }
}

/// Hands out the next code of `kind` in the product. Call inside
/// [`in_product_txn`]; the number is only used if the transaction commits.
pub async fn allocate_code<C: ConnectionTrait>(db: &C, product_id: &str, kind: CodeKind) -> AppResult<String> {
    let col = counter(kind);
    let row = db
        .query_one_raw(Statement::from_sql_and_values(
            db.get_database_backend(),
            format!("UPDATE products SET {col} = {col} + 1 WHERE id = $1 RETURNING {col} AS n"),
            [product_id.into()],
        ))
        .await?
        .ok_or(AppError::NotFound("product"))?;
    let n: i64 = row.try_get("", "n")?;
    Ok(kind.format(n))
}

/// Records an explicitly chosen code (e.g. from an import) so later
/// generated codes continue after it instead of colliding.
pub async fn note_code<C: ConnectionTrait>(db: &C, product_id: &str, kind: CodeKind, code: &str) -> AppResult<()> {
    if let Some(n) = kind.number(code) {
        let col = counter(kind);
        db.execute_raw(Statement::from_sql_and_values(
            db.get_database_backend(),
            format!("UPDATE products SET {col} = CASE WHEN {col} < $1 THEN $1 ELSE {col} END WHERE id = $2"),
            [n.into(), product_id.into()],
        ))
        .await?;
    }
    Ok(())
}
