//! The database handle, and on SQLite the write gate: one writer
//! connection, handed out in arrival order.
//!
//! SQLite lets one connection write at a time. With writers spread over a
//! pool, a writer that finds the lock taken sleeps in SQLite's busy handler
//! (a growing back-off, up to the busy timeout) and tries again; under load
//! the unlucky ones sleep hundreds of milliseconds while later writers
//! overtake them, and a transaction that upgrades from reading to writing
//! fails at once with `SQLITE_BUSY`. So on a SQLite file [`Db`] keeps every
//! write on one connection in a pool of its own: writers queue for it first
//! come, first served (sqlx hands out pool connections fairly) and never
//! meet the lock. Reads go to the reader pool and run beside the writer, as
//! WAL allows.
//!
//! What counts as a write: every transaction begun on [`Db`] (begun
//! `IMMEDIATE` on SQLite, so it holds the write lock from its first
//! statement), and every single statement that is not a plain read
//! ([`is_read`]). On Postgres (row locks, several instances) and for an
//! in-memory SQLite database (one connection in all) both roles are the same
//! pool: nothing is gated there.
//!
//! Deadlock rule: a task holding a write transaction writes through that
//! transaction only. A write through [`Db`] in the meantime would queue for
//! the writer the task holds itself, until the pool's acquire timeout ends
//! it with an error (before the gate it was the busy timeout, then
//! `SQLITE_BUSY`). Reads through [`Db`] are fine: they never wait for the
//! writer.

use std::{future::Future, pin::Pin, sync::Arc};

use sea_orm::{
    AccessMode, ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend, DbErr, ExecResult, IsolationLevel,
    QueryResult, SqliteTransactionMode, Statement, TransactionError, TransactionOptions, TransactionTrait,
};

use crate::counters::{Counters, DbCounts, SQL_LOG_DEFAULT, SqlEntry};

/// The database handle every layer passes around: a pool for reads and, on
/// a SQLite file, the single writer connection (see the module docs). It is
/// a [`ConnectionTrait`] and a [`TransactionTrait`] like SeaORM's own
/// connection, and cheap to clone.
#[derive(Debug, Clone)]
pub struct Db {
    /// Reads; on Postgres and in-memory SQLite everything.
    read: DatabaseConnection,
    /// Writes: a one-connection pool on a SQLite file, else `read` again.
    write: DatabaseConnection,
    /// Whether `write` is a pool of its own (statements are routed).
    gated: bool,
    /// What this handle and its clones sent (see [`crate::counters`]).
    counters: Arc<Counters>,
}

impl Db {
    /// A handle whose writes all go through `writer`, a pool of exactly one
    /// connection to the same SQLite file as `readers`.
    pub(crate) fn gated(mut readers: DatabaseConnection, mut writer: DatabaseConnection) -> Db {
        let counters = Arc::new(Counters::default());
        counters.install(&mut readers);
        counters.install(&mut writer);
        Db { read: readers, write: writer, gated: true, counters }
    }

    /// Statements, transactions and round trips this handle (and every
    /// clone of it, from every task) has sent so far; subtract two readings
    /// for the cost of what ran in between. See [`crate::counters`] for what
    /// counts.
    pub fn counts(&self) -> DbCounts {
        self.counters.counts()
    }

    /// Turns the statement log on (keeping the last [`SQL_LOG_DEFAULT`]
    /// statements) or off, clearing it either way. A debugging aid: with it
    /// on every statement is formatted with its values and the log's lock
    /// is taken, so leave it off when measuring time.
    pub fn record_sql(&self, on: bool) {
        self.counters.record_sql(if on { SQL_LOG_DEFAULT } else { 0 });
    }

    /// The statements logged since [`Db::record_sql`] or the last call, oldest
    /// first; empties the log (which stays on).
    pub fn take_sql(&self) -> Vec<SqlEntry> {
        self.counters.take_sql()
    }

    /// The SQL dialect (also without [`ConnectionTrait`] in scope, as on
    /// SeaORM's connection).
    pub fn get_database_backend(&self) -> DbBackend {
        self.read.get_database_backend()
    }

    /// How many connections the pools hold open right now (in use or idle).
    /// `baton bench queue` uses it to run one statement on every pooled
    /// Postgres connection, so each reports its statistics.
    pub fn open_connections(&self) -> u32 {
        let size = |c: &DatabaseConnection| match c.get_database_backend() {
            DbBackend::Postgres => c.get_postgres_connection_pool().size(),
            _ => c.get_sqlite_connection_pool().size(),
        };
        if self.gated { size(&self.read) + size(&self.write) } else { size(&self.read) }
    }

    /// Whether writes queue for one writer connection (a SQLite file).
    pub fn is_gated(&self) -> bool {
        self.gated
    }

    /// The connection that runs writes (migrations use it directly).
    pub(crate) fn writer(&self) -> &DatabaseConnection {
        &self.write
    }

    /// The connection a statement runs on.
    fn route(&self, sql: &str) -> &DatabaseConnection {
        if self.gated && !is_read(sql) { &self.write } else { &self.read }
    }

    /// Closes the pools, waiting for connections in use to come back.
    pub async fn close(self) -> Result<(), DbErr> {
        if self.gated {
            self.write.close().await?;
        }
        self.read.close().await
    }
}

/// A handle on one pool for both roles: Postgres, in-memory SQLite, or an
/// admin connection.
impl From<DatabaseConnection> for Db {
    fn from(mut conn: DatabaseConnection) -> Db {
        let counters = Arc::new(Counters::default());
        // Before the clone: each copy carries its own callback slot.
        counters.install(&mut conn);
        Db { write: conn.clone(), read: conn, gated: false, counters }
    }
}

/// Whether `sql` only reads, so it may run on a reader connection: a single
/// `SELECT` or `VALUES`, or a `WITH` naming no writing keyword. Anything in
/// doubt counts as a write (a read on the writer is merely queued; a write
/// on a reader would contend for the lock again).
pub fn is_read(sql: &str) -> bool {
    // Several statements in one string (unprepared batches): the writer.
    if sql.trim_end().trim_end_matches(';').contains(';') {
        return false;
    }
    let mut words = sql.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).filter(|w| !w.is_empty());
    let is = |w: &str, k: &str| w.eq_ignore_ascii_case(k);
    match words.next() {
        Some(w) if is(w, "SELECT") || is(w, "VALUES") => true,
        Some(w) if is(w, "WITH") => {
            !words.any(|w| ["INSERT", "UPDATE", "DELETE", "REPLACE", "UPSERT"].iter().any(|k| is(w, k)))
        }
        _ => false,
    }
}

#[async_trait::async_trait]
impl ConnectionTrait for Db {
    fn get_database_backend(&self) -> DbBackend {
        Db::get_database_backend(self)
    }

    async fn execute_raw(&self, stmt: Statement) -> Result<ExecResult, DbErr> {
        let conn = self.route(&stmt.sql);
        self.counters.autocommit("", true, conn.execute_raw(stmt)).await
    }

    async fn execute_unprepared(&self, sql: &str) -> Result<ExecResult, DbErr> {
        // SeaORM's metric callback skips unprepared statements: counted here.
        self.counters.autocommit(sql, false, self.route(sql).execute_unprepared(sql)).await
    }

    async fn query_one_raw(&self, stmt: Statement) -> Result<Option<QueryResult>, DbErr> {
        let conn = self.route(&stmt.sql);
        self.counters.autocommit("", true, conn.query_one_raw(stmt)).await
    }

    async fn query_all_raw(&self, stmt: Statement) -> Result<Vec<QueryResult>, DbErr> {
        let conn = self.route(&stmt.sql);
        self.counters.autocommit("", true, conn.query_all_raw(stmt)).await
    }
}

/// Every transaction is a write transaction: it runs on the writer and, on
/// SQLite, begins `IMMEDIATE` unless the caller chose another mode.
#[async_trait::async_trait]
impl TransactionTrait for Db {
    type Transaction = DatabaseTransaction;

    async fn begin(&self) -> Result<DatabaseTransaction, DbErr> {
        self.begin_with_options(TransactionOptions::default()).await
    }

    async fn begin_with_config(
        &self,
        isolation_level: Option<IsolationLevel>,
        access_mode: Option<AccessMode>,
    ) -> Result<DatabaseTransaction, DbErr> {
        self.begin_with_options(TransactionOptions { isolation_level, access_mode, sqlite_transaction_mode: None })
            .await
    }

    async fn begin_with_options(&self, mut options: TransactionOptions) -> Result<DatabaseTransaction, DbErr> {
        if self.get_database_backend() == DbBackend::Sqlite && options.sqlite_transaction_mode.is_none() {
            // Take the write lock at BEGIN: a DEFERRED transaction that reads
            // first and writes later fails with SQLITE_BUSY when another
            // connection wrote in between (no busy handler helps there).
            options.sqlite_transaction_mode = Some(SqliteTransactionMode::Immediate);
        }
        self.counters.begun();
        self.write.begin_with_options(options).await
    }

    async fn transaction<F, T, E>(&self, callback: F) -> Result<T, TransactionError<E>>
    where
        F: for<'c> FnOnce(&'c DatabaseTransaction) -> Pin<Box<dyn Future<Output = Result<T, E>> + Send + 'c>> + Send,
        T: Send,
        E: std::fmt::Display + std::fmt::Debug + Send,
    {
        let txn = self.begin().await.map_err(TransactionError::Connection)?;
        run(txn, callback).await
    }

    async fn transaction_with_config<F, T, E>(
        &self,
        callback: F,
        isolation_level: Option<IsolationLevel>,
        access_mode: Option<AccessMode>,
    ) -> Result<T, TransactionError<E>>
    where
        F: for<'c> FnOnce(&'c DatabaseTransaction) -> Pin<Box<dyn Future<Output = Result<T, E>> + Send + 'c>> + Send,
        T: Send,
        E: std::fmt::Display + std::fmt::Debug + Send,
    {
        let txn = self.begin_with_config(isolation_level, access_mode).await.map_err(TransactionError::Connection)?;
        run(txn, callback).await
    }
}

/// Runs `callback` in `txn`; commits after `Ok`, rolls back after `Err`.
async fn run<F, T, E>(txn: DatabaseTransaction, callback: F) -> Result<T, TransactionError<E>>
where
    F: for<'c> FnOnce(&'c DatabaseTransaction) -> Pin<Box<dyn Future<Output = Result<T, E>> + Send + 'c>> + Send,
    T: Send,
    E: std::fmt::Display + std::fmt::Debug + Send,
{
    let result = callback(&txn).await;
    match result {
        Ok(v) => {
            txn.commit().await.map_err(TransactionError::Connection)?;
            Ok(v)
        }
        Err(e) => {
            txn.rollback().await.map_err(TransactionError::Connection)?;
            Err(TransactionError::Transaction(e))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::is_read;

    #[test]
    fn plain_reads_are_reads_and_anything_in_doubt_is_a_write() {
        for sql in [
            "SELECT 1",
            "  select id FROM jobs WHERE status = $1",
            "(SELECT 1) UNION (SELECT 2)",
            "VALUES (1)",
            "WITH s AS (SELECT updated_at FROM jobs) SELECT * FROM s",
            "SELECT 1;",
        ] {
            assert!(is_read(sql), "{sql} is a read");
        }
        for sql in [
            "INSERT INTO t VALUES (1)",
            "UPDATE users SET min_quota_pct = min_quota_pct WHERE id = $1 RETURNING min_quota_pct",
            "delete from t",
            "WITH s AS (SELECT 1) UPDATE t SET x = 1",
            "with x as (select 1) insert into t select * from x",
            "PRAGMA optimize",
            "-- a comment\nSELECT 1",
            "SELECT 1; DELETE FROM t",
            "",
        ] {
            assert!(!is_read(sql), "{sql} is a write");
        }
    }
}
