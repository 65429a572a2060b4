//! What a [`Db`](crate::Db) sends to the database: statements, transactions
//! and round trips, counted as they happen, and optionally the statements'
//! text.
//!
//! The counts are what `baton bench queue` prints per job and what the
//! queue's cost test asserts, so the statement count of a job lifecycle
//! cannot creep back up unnoticed.
//!
//! * **Statements** are counted by SeaORM's metric callback, which every
//!   pool of a `Db` carries (reader and writer) and which every
//!   `DatabaseTransaction` begun on such a pool inherits: so a statement
//!   counts the same inside a transaction as outside. SeaORM runs `BEGIN`,
//!   `COMMIT` and `ROLLBACK` through sqlx's transaction manager, which does
//!   not call the callback: they are not statements here. Not counted
//!   either: `execute_unprepared` inside a transaction (SeaORM skips the
//!   callback there; `Db`'s own `execute_unprepared` is counted by `Db`),
//!   the `SET TRANSACTION` of `begin_with_config` with an isolation level or
//!   access mode on Postgres, and the pool's connection pings.
//! * **Transactions**: every `begin*` on `Db`, plus every statement sent
//!   through `Db` itself, outside a transaction (autocommit: the server runs
//!   each as a transaction of its own).
//! * **Round trips**: statements plus two per begun transaction (its
//!   `BEGIN` and its `COMMIT` or `ROLLBACK`). A lower bound: sqlx's extra
//!   Parse/Describe round trip for a statement not yet in its connection's
//!   statement cache is not seen.
//!
//! The counters are shared by every clone of a `Db` and count every task
//! using it: take [`Db::counts`](crate::Db::counts) before and after the
//! code of interest while nothing else runs (or divide a busy phase's
//! delta by the work it did).

use std::{
    collections::VecDeque,
    ops::Sub,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::Duration,
};

use sea_orm::{DatabaseConnection, metric::Info};

/// What a [`Db`](crate::Db) sent between two points in time: take
/// [`Db::counts`](crate::Db::counts) before and after, subtract.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct DbCounts {
    /// SQL statements sent, inside transactions and outside.
    pub statements: u64,
    /// Transactions: those begun on the `Db` plus one per statement sent
    /// outside a transaction (autocommit).
    pub transactions: u64,
    /// Network round trips to the database: statements plus `BEGIN` and
    /// `COMMIT`/`ROLLBACK` of every begun transaction. Pool pings are not
    /// counted (Postgres pools do not ping at checkout; see `connect_with`).
    pub round_trips: u64,
}

impl Sub for DbCounts {
    type Output = DbCounts;

    /// The difference `self - earlier`, saturating at zero.
    fn sub(self, earlier: DbCounts) -> DbCounts {
        DbCounts {
            statements: self.statements.saturating_sub(earlier.statements),
            transactions: self.transactions.saturating_sub(earlier.transactions),
            round_trips: self.round_trips.saturating_sub(earlier.round_trips),
        }
    }
}

/// One entry of the statement log ([`Db::record_sql`](crate::Db::record_sql)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqlEntry {
    /// The statement with its values (inlined, or listed in a trailing
    /// comment where SeaORM cannot inline them), or `BEGIN` for a transaction
    /// begun on the `Db` (its `COMMIT` is not seen: SeaORM ends it).
    pub sql: String,
    /// Whether it ran outside a transaction, through the `Db` itself.
    pub autocommit: bool,
    /// How long it took (zero for `BEGIN`).
    pub elapsed: Duration,
}

/// How many statements the log keeps when asked for none in particular.
pub const SQL_LOG_DEFAULT: usize = 1000;

tokio::task_local! {
    /// Set while `Db` runs a statement of its own (outside a transaction),
    /// so the metric callback, which runs inside that call on the same
    /// task, can tag the log entry as autocommit.
    static AUTOCOMMIT: ();
}

/// The counters shared by the pools of one `Db` and all its clones.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    statements: AtomicU64,
    autocommit: AtomicU64,
    begins: AtomicU64,
    /// Whether the log is on; checked before taking its lock.
    logging: AtomicBool,
    log: Mutex<SqlLog>,
}

#[derive(Debug, Default)]
struct SqlLog {
    keep: usize,
    entries: VecDeque<SqlEntry>,
}

impl Counters {
    /// Makes every statement `conn` runs (and every transaction begun on it)
    /// count here.
    pub(crate) fn install(self: &Arc<Self>, conn: &mut DatabaseConnection) {
        let counters = Arc::clone(self);
        conn.set_metric_callback(move |info: &Info<'_>| counters.statement_ran(info));
    }

    fn statement_ran(&self, info: &Info<'_>) {
        self.statements.fetch_add(1, Ordering::Relaxed);
        if self.logging.load(Ordering::Relaxed) {
            let autocommit = AUTOCOMMIT.try_with(|_| ()).is_ok();
            self.push(SqlEntry { sql: with_values(info.statement), autocommit, elapsed: info.elapsed });
        }
    }

    /// Runs one statement of `Db` itself (autocommit). `metered`: SeaORM's
    /// callback counts it (false for `execute_unprepared`, which it skips).
    pub(crate) async fn autocommit<F: Future>(&self, sql: &str, metered: bool, f: F) -> F::Output {
        self.autocommit.fetch_add(1, Ordering::Relaxed);
        if metered {
            if self.logging.load(Ordering::Relaxed) { AUTOCOMMIT.scope((), f).await } else { f.await }
        } else {
            self.statements.fetch_add(1, Ordering::Relaxed);
            if self.logging.load(Ordering::Relaxed) {
                self.push(SqlEntry { sql: sql.to_string(), autocommit: true, elapsed: Duration::ZERO });
            }
            f.await
        }
    }

    /// A transaction was begun on `Db`.
    pub(crate) fn begun(&self) {
        self.begins.fetch_add(1, Ordering::Relaxed);
        if self.logging.load(Ordering::Relaxed) {
            self.push(SqlEntry { sql: "BEGIN".into(), autocommit: false, elapsed: Duration::ZERO });
        }
    }

    pub(crate) fn counts(&self) -> DbCounts {
        let statements = self.statements.load(Ordering::Relaxed);
        let autocommit = self.autocommit.load(Ordering::Relaxed);
        let begins = self.begins.load(Ordering::Relaxed);
        DbCounts { statements, transactions: begins + autocommit, round_trips: statements + 2 * begins }
    }

    pub(crate) fn record_sql(&self, keep: usize) {
        let mut log = self.log.lock().unwrap_or_else(|e| e.into_inner());
        log.keep = keep;
        log.entries.clear();
        self.logging.store(keep > 0, Ordering::Relaxed);
    }

    pub(crate) fn take_sql(&self) -> Vec<SqlEntry> {
        let mut log = self.log.lock().unwrap_or_else(|e| e.into_inner());
        log.entries.drain(..).collect()
    }

    fn push(&self, entry: SqlEntry) {
        let mut log = self.log.lock().unwrap_or_else(|e| e.into_inner());
        if log.keep == 0 {
            return;
        }
        while log.entries.len() >= log.keep {
            log.entries.pop_front();
        }
        log.entries.push_back(entry);
    }
}

/// The statement with its values: inlined where SeaORM can (`$n`
/// placeholders), else listed after it in a comment.
fn with_values(stmt: &sea_orm::Statement) -> String {
    let shown = stmt.to_string();
    match &stmt.values {
        Some(values) if shown == stmt.sql && !values.0.is_empty() => format!("{shown} /* {:?} */", values.0),
        _ => shown,
    }
}

#[cfg(test)]
mod tests {
    use super::DbCounts;

    #[test]
    fn subtraction_is_per_field_and_saturates() {
        let a = DbCounts { statements: 10, transactions: 4, round_trips: 16 };
        let b = DbCounts { statements: 3, transactions: 1, round_trips: 5 };
        assert_eq!(a - b, DbCounts { statements: 7, transactions: 3, round_trips: 11 });
        assert_eq!(b - a, DbCounts::default());
    }
}
