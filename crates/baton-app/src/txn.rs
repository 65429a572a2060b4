//! Product-scoped write transactions and code allocation.
//!
//! Every backlog write runs in [`in_product_txn`], whose first statement
//! updates the product row. On Postgres that row lock serialises writers of
//! one product (so status propagation and code numbers never race under
//! READ COMMITTED); writers of different products never wait for each
//! other. On SQLite every transaction begun on [`Db`] is a write
//! transaction already: it queues for the single writer connection (first
//! come, first served) and begins `IMMEDIATE` (see [`baton_store::gate`]),
//! so the row update there only checks that the product exists.
//!
//! A transaction body writes through its transaction, never through the
//! `Db` handle: on SQLite that write would wait for the writer connection
//! the body itself holds.

use std::{future::Future, pin::Pin};

use baton_domain::codes::CodeKind;
use baton_store::{
    Db,
    sea_orm::{ConnectionTrait, DatabaseTransaction, Statement, TransactionTrait},
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
    let res = db
        .execute_raw(Statement::from_sql_and_values(
            db.get_database_backend(),
            "UPDATE products SET last_pbi_number = last_pbi_number WHERE id = $1",
            [product_id.into()],
        ))
        .await?;
    if res.rows_affected() == 0 {
        return Err(AppError::NotFound("product"));
    }
    Ok(())
}

/// Gives a transaction body its higher-ranked type, so one body can be
/// handed to either [`in_product_txn`] or [`in_job_txn`].
pub fn body<T, F>(f: F) -> F
where
    F: for<'c> FnOnce(&'c DatabaseTransaction) -> TxnBody<'c, T> + Send,
{
    f
}

/// Runs `f` in a transaction that first locks one job row. For a change
/// that touches only that job (a worker reporting `running`): on Postgres it
/// does not queue behind other writers of the product (a `done` report's
/// propagation holds the product row for a while); a person's cancel of the
/// same job still waits for it, or it for the cancel.
pub async fn in_job_txn<T, F>(db: &Db, job_id: &str, f: F) -> AppResult<T>
where
    T: Send,
    F: for<'c> FnOnce(&'c DatabaseTransaction) -> TxnBody<'c, T> + Send,
{
    in_locked_txn(db, "UPDATE jobs SET updated_at = updated_at WHERE id = $1", job_id, "job", f).await
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
    in_locked_txn(db, USER_LOCK_SQL, user_id, "user", f).await
}

/// Locks user `user_id`'s row for the rest of the transaction, as
/// [`in_user_txn`] does first: for a product transaction that also writes
/// the user's private things (materializing an idea). Take the product lock
/// first, then this one.
pub async fn lock_user<C: ConnectionTrait>(db: &C, user_id: &str) -> AppResult<()> {
    let res = db
        .execute_raw(Statement::from_sql_and_values(db.get_database_backend(), USER_LOCK_SQL, [user_id.into()]))
        .await?;
    if res.rows_affected() == 0 {
        return Err(AppError::NotFound("user"));
    }
    Ok(())
}

const USER_LOCK_SQL: &str = "UPDATE users SET idea_code_counter = idea_code_counter WHERE id = $1";

/// Runs `f` in a transaction whose first statement, `lock_sql` (a no-op
/// UPDATE of the row with id `$1`), locks that row; `NotFound(what)` when
/// there is no such row.
async fn in_locked_txn<T, F>(db: &Db, lock_sql: &str, id: &str, what: &'static str, f: F) -> AppResult<T>
where
    T: Send,
    F: for<'c> FnOnce(&'c DatabaseTransaction) -> TxnBody<'c, T> + Send,
{
    let txn = db.begin().await?;
    let res =
        txn.execute_raw(Statement::from_sql_and_values(txn.get_database_backend(), lock_sql, [id.into()])).await?;
    if res.rows_affected() == 0 {
        return finish(txn, Err(AppError::NotFound(what))).await;
    }
    let result = f(&txn).await;
    finish(txn, result).await
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
