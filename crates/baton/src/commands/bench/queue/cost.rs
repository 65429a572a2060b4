//! What a job costs the database (issue 13): statements, transactions and
//! round trips per completed job of the drain phase, from Baton's own
//! counters ([`Db::counts`]) and, on Postgres, from the server's
//! (`pg_stat_database` for transactions, `pg_stat_statements` for
//! statements when the server preloads it); and the cost of each call of
//! one job run alone.
//!
//! Decisions:
//! * The bench's own queries during the drain (the workers' "anything still
//!   queued?" check after an empty claim, and the server snapshots) are
//!   subtracted: they are not service calls. Empty claims themselves are
//!   counted: they are a real cost of the queue under contention.
//! * `pg_stat_statements` is created in the bench database (`CREATE
//!   EXTENSION IF NOT EXISTS`) only when the server preloads the library;
//!   otherwise the figure is "n/a" and nothing is created.
//! * A Postgres backend reports its transaction counts to
//!   `pg_stat_database` lazily: when a transaction ends at least a second
//!   after its last report, else when idle, up to 10 s later. Before each
//!   reading the bench waits [`PG_STATS_INTERVAL`] and then runs one short
//!   statement on every pooled connection at once (as many as the pool
//!   holds, so it opens none: a new connection's start-up is a transaction
//!   too), which makes every backend report; those statements are
//!   subtracted. `pg_stat_statements` counts at once and needs none of it.
//!   The server figures include whatever else ran in the database meanwhile
//!   (autovacuum, other clients) and transactions Baton never sends: the
//!   event bus's LISTEN connection reads each batch of notifications in a
//!   transaction of its own (Postgres' `ProcessIncomingNotify`), which is
//!   most likely why the server counts 2–4 more transactions per job than
//!   Baton on Postgres. Statements agree exactly.
//! * Baton's round trips leave out sqlx's extra Parse/Describe round trip
//!   for a statement not yet in its connection's statement cache (a server
//!   log with `log_min_duration_statement = 0` shows about 1.5 per job in a
//!   400-job drain, mostly each connection's first use of each text).

use std::time::Duration;

use anyhow::{Context, anyhow};
use baton_store::{
    Db, DbCounts,
    sea_orm::{ConnectionTrait, DbBackend, Statement},
};

/// A Postgres backend reports its statistics at the end of a transaction
/// when its last report is this long ago (`PGSTAT_MIN_INTERVAL`, 1 s, plus
/// a margin).
const PG_STATS_INTERVAL: Duration = Duration::from_millis(1_100);

/// What the server counted during the drain (Postgres only).
#[derive(Debug, Clone, Default)]
pub(super) struct ServerCost {
    /// `xact_commit + xact_rollback` of the bench database.
    pub(super) transactions: u64,
    /// Executions recorded by `pg_stat_statements` for the database,
    /// transaction control (BEGIN, COMMIT, ROLLBACK) left out; `None` when
    /// the view is not usable.
    pub(super) statements: Option<u64>,
}

/// The cost figures of one database.
#[derive(Debug, Clone, Default)]
pub(super) struct Cost {
    /// Jobs completed in the drain phase.
    pub(super) jobs: usize,
    /// Baton's counters over the drain phase.
    pub(super) client: DbCounts,
    /// The server's counters over the drain phase (Postgres).
    pub(super) server: Option<ServerCost>,
    /// One job alone, call by call (claim, running, verify, done).
    pub(super) per_call: Vec<(&'static str, DbCounts)>,
}

impl Cost {
    /// `n` per completed job of the drain.
    pub(super) fn per_job(&self, n: u64) -> f64 {
        n as f64 / self.jobs.max(1) as f64
    }
}

/// A reading of the server's counters.
#[derive(Debug, Clone, Copy)]
pub(super) struct ServerSnapshot {
    xacts: i64,
    statements: Option<i64>,
}

/// The server side of the measurement (Postgres), `None` on SQLite.
pub(super) struct ServerStats {
    pgss: bool,
}

impl ServerStats {
    /// Checks what the server offers; creates `pg_stat_statements` in the
    /// bench database when the server preloads it.
    pub(super) async fn open(db: &Db) -> Option<ServerStats> {
        if db.get_database_backend() != DbBackend::Postgres {
            return None;
        }
        Some(ServerStats { pgss: pgss_usable(db).await })
    }

    /// The counters before the drain: every backend reports first (see the
    /// module docs), then the transactions and statements are read.
    pub(super) async fn before(&self, db: &Db) -> anyhow::Result<ServerSnapshot> {
        flush(db).await?;
        self.read(db).await
    }

    /// The drain's figures: every backend reports, the counters are read
    /// again, and the bench's own `extra` queries during the drain (one
    /// statement and one transaction each) and its readings are left out.
    pub(super) async fn after(&self, db: &Db, before: ServerSnapshot, extra: u64) -> anyhow::Result<ServerCost> {
        let flushed = flush(db).await?;
        let after = self.read(db).await?;
        Ok(self.cost(before, after, extra + flushed))
    }

    /// Transactions, then (with `pg_stat_statements`) statements.
    async fn read(&self, db: &Db) -> anyhow::Result<ServerSnapshot> {
        let xacts = scalar(
            db,
            "SELECT (xact_commit + xact_rollback)::bigint AS n FROM pg_stat_database WHERE datname = current_database()",
        )
        .await?;
        let statements = if self.pgss { Some(scalar(db, PGSS_CALLS).await?) } else { None };
        Ok(ServerSnapshot { xacts, statements })
    }

    /// The difference of two readings less `extra` statements (one
    /// transaction each) and the readings' own queries. The closing
    /// transactions figure counts the opening reading (one transaction, two
    /// with `pg_stat_statements`) but not its own; the closing statements
    /// figure counts the opening statements query and the closing
    /// transactions query.
    fn cost(&self, before: ServerSnapshot, after: ServerSnapshot, extra: u64) -> ServerCost {
        let own_xacts: i64 = if self.pgss { 2 } else { 1 };
        let transactions = (after.xacts - before.xacts - own_xacts - extra as i64).max(0) as u64;
        let statements = match (before.statements, after.statements) {
            (Some(b), Some(a)) => Some((a - b - 2 - extra as i64).max(0) as u64),
            _ => None,
        };
        ServerCost { transactions, statements }
    }
}

/// Makes every pooled connection report its statistics: waits out the
/// report interval, then runs one statement on each at once. Returns how
/// many statements it ran.
async fn flush(db: &Db) -> anyhow::Result<u64> {
    tokio::time::sleep(PG_STATS_INTERVAL).await;
    let n = db.open_connections().max(1);
    let mut all = tokio::task::JoinSet::new();
    for _ in 0..n {
        let db = db.clone();
        all.spawn(async move { db.execute_unprepared("SELECT pg_sleep(0.1)").await.map(|_| ()) });
    }
    while let Some(r) = all.join_next().await {
        r.context("a statistics flush panicked")?.context("cannot flush the server statistics")?;
    }
    Ok(u64::from(n))
}

/// Executions in this database, transaction control left out.
const PGSS_CALLS: &str = "SELECT COALESCE(SUM(s.calls), 0)::bigint AS n FROM pg_stat_statements s \
     JOIN pg_database d ON d.oid = s.dbid WHERE d.datname = current_database() \
     AND s.query !~* '^\\s*(BEGIN|COMMIT|ROLLBACK|START TRANSACTION|END)\\s*;?\\s*$'";

/// Whether `pg_stat_statements` can be read: the server preloads it and the
/// extension exists (created here when missing; failures mean "no").
async fn pgss_usable(db: &Db) -> bool {
    let preloaded = async {
        let row = db
            .query_one_raw(Statement::from_string(DbBackend::Postgres, "SHOW shared_preload_libraries"))
            .await?
            .ok_or_else(|| anyhow!("no row"))?;
        let libs: String = row.try_get_by_index(0)?;
        Ok::<_, anyhow::Error>(libs.split(',').any(|l| l.trim().trim_matches('"') == "pg_stat_statements"))
    }
    .await
    .unwrap_or(false);
    if !preloaded {
        return false;
    }
    let _ = db.execute_unprepared("CREATE EXTENSION IF NOT EXISTS pg_stat_statements").await;
    scalar(db, PGSS_CALLS).await.is_ok()
}

async fn scalar(db: &Db, sql: &str) -> anyhow::Result<i64> {
    let row = db
        .query_one_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .with_context(|| format!("cannot read {sql}"))?
        .ok_or_else(|| anyhow!("no row from {sql}"))?;
    Ok(row.try_get("", "n")?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_snapshots_and_the_bench_queries_are_left_out() {
        let with = ServerStats { pgss: true };
        let before = ServerSnapshot { xacts: 100, statements: Some(1000) };
        let after = ServerSnapshot { xacts: 100 + 2 + 3 + 40, statements: Some(1000 + 2 + 3 + 90) };
        let c = with.cost(before, after, 3);
        assert_eq!((c.transactions, c.statements), (40, Some(90)));
        let without = ServerStats { pgss: false };
        let c = without.cost(
            ServerSnapshot { xacts: 100, statements: None },
            ServerSnapshot { xacts: 100 + 1 + 40, statements: None },
            0,
        );
        assert_eq!((c.transactions, c.statements), (40, None));
    }

    #[test]
    fn per_job_divides_by_the_jobs() {
        let c = Cost { jobs: 4, ..Default::default() };
        assert_eq!(c.per_job(10), 2.5);
        assert_eq!(Cost::default().per_job(3), 3.0, "no jobs: no division by zero");
    }
}
