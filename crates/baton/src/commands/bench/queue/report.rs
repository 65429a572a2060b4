//! What `baton bench queue` reports: the figures of one database, checked
//! against the targets, as a table or as JSON.

use std::time::Duration;

use serde_json::{Value as Json, json};

use super::{
    super::stats::{Stats, ms, verdict},
    baseline::Baseline,
    cost::Cost,
};
use crate::cli::BenchArgs;

/// Targets from the queue-speed issue: enqueue → waiting agent latency,
/// throughput against the same run's tpcb-like baseline (Postgres: pgbench;
/// SQLite: the in-process loop), the claim and done tails on SQLite, and the
/// cost of a job.
const LATENCY_P50_TARGET: Duration = Duration::from_millis(3);
const LATENCY_P99_TARGET: Duration = Duration::from_millis(10);
const LATENCY_TARGET: &str = "p50 < 3 ms, p99 < 10 ms";
const SQLITE_CALL_P99_TARGET: Duration = Duration::from_millis(20);
const MAX_STATEMENTS_PER_JOB: f64 = 14.0;
const MAX_TRANSACTIONS_PER_JOB: f64 = 9.0;

/// The throughput ratio a backend must reach.
fn ratio_target(backend: &str) -> f64 {
    if backend == "postgres" { 0.5 } else { 0.25 }
}

/// What one database measured.
pub(super) struct Report {
    pub(super) backend: String,
    pub(super) database: String,
    pub(super) round_trip: Stats,
    pub(super) latency: Stats,
    pub(super) enqueue_call: Stats,
    pub(super) wake_to_held: Stats,
    pub(super) fill: Rate,
    pub(super) throughput: Rate,
    pub(super) ops: [(&'static str, Stats); 4],
    pub(super) cost: Cost,
    pub(super) baseline: Baseline,
}

/// Shown instead of the server's statement count without `pg_stat_statements`.
const NO_PGSS: &str = "n/a (pg_stat_statements not loaded)";

fn cost_json(c: &Cost) -> Json {
    let per_call: serde_json::Map<String, Json> =
        c.per_call.iter().map(|(name, n)| (name.to_string(), json!(n))).collect();
    let server = c.server.as_ref().map(|s| {
        json!({
            "transactions": c.per_job(s.transactions),
            "transactions_from": "pg_stat_database xact_commit + xact_rollback",
            "statements": s.statements.map(|n| c.per_job(n)),
            "statements_from": if s.statements.is_some() { "pg_stat_statements calls, without BEGIN/COMMIT/ROLLBACK" } else { NO_PGSS },
        })
    });
    json!({
        "jobs": c.jobs,
        "per_job": {
            "statements": c.per_job(c.client.statements),
            "transactions": c.per_job(c.client.transactions),
            "round_trips": c.per_job(c.client.round_trips),
        },
        "server_per_job": server,
        "per_call_alone": per_call,
    })
}

/// The table rows of the cost: (what, note).
/// Whether the drain's cost per job (Baton's counters) is within the target.
fn cost_ok(c: &Cost) -> bool {
    c.per_job(c.client.statements) <= MAX_STATEMENTS_PER_JOB
        && c.per_job(c.client.transactions) <= MAX_TRANSACTIONS_PER_JOB
}

fn cost_rows(c: &Cost) -> Vec<(String, String)> {
    let mut rows = vec![(
        "cost per job (drain, Baton's counters)".to_string(),
        format!(
            "{:.1} statements, {:.1} transactions, {:.1} round trips",
            c.per_job(c.client.statements),
            c.per_job(c.client.transactions),
            c.per_job(c.client.round_trips)
        ),
    )];
    if let Some(s) = &c.server {
        let statements = match s.statements {
            Some(n) => format!("{:.1} statements (pg_stat_statements)", c.per_job(n)),
            None => format!("statements {NO_PGSS}"),
        };
        rows.push((
            "cost per job (drain, server's counters)".to_string(),
            format!("{:.1} transactions (pg_stat_database), {statements}", c.per_job(s.transactions)),
        ));
    }
    for (name, n) in &c.per_call {
        rows.push((
            format!("  {name} call, one job alone"),
            format!("{} statements, {} transactions, {} round trips", n.statements, n.transactions, n.round_trips),
        ));
    }
    rows
}

/// `count` things in `took`.
#[derive(Clone, Copy)]
pub(super) struct Rate {
    pub(super) count: usize,
    pub(super) took: Duration,
}

impl Rate {
    pub(super) fn per_s(&self) -> f64 {
        self.count as f64 / self.took.as_secs_f64().max(1e-9)
    }
}

/// Prints every database's figures: JSON with `--json`, else a table.
pub(super) fn print(reports: &[Report], args: &BenchArgs) -> anyhow::Result<()> {
    if args.json {
        let results: Vec<Json> = reports.iter().map(|r| report_json(r, args)).collect();
        println!("{}", serde_json::to_string_pretty(&json!({"bench": "queue", "results": results}))?);
    } else {
        print_table(reports, args);
    }
    Ok(())
}

fn latency_ok(s: &Stats) -> bool {
    s.p50 < LATENCY_P50_TARGET && s.p99 < LATENCY_P99_TARGET
}

fn report_json(r: &Report, args: &BenchArgs) -> Json {
    let reference = r.baseline.reference();
    let ratio = reference.map(|(tps, _)| r.throughput.per_s() / tps);
    let ops: serde_json::Map<String, Json> = r.ops.iter().map(|(name, s)| (name.to_string(), s.json())).collect();
    json!({
        "backend": r.backend,
        "database": r.database,
        "select_1_round_trip": r.round_trip.json(),
        "latency": {
            "waiting_agents": args.waiters,
            "warmup": args.warmup,
            "enqueue_to_held": r.latency.json(),
            "enqueue_call": r.enqueue_call.json(),
            "enqueue_returned_to_held": r.wake_to_held.json(),
            "target": LATENCY_TARGET,
            "meets_target": latency_ok(&r.latency),
        },
        "enqueue": {"jobs": r.fill.count, "seconds": r.fill.took.as_secs_f64(), "jobs_per_s": r.fill.per_s()},
        "throughput": {
            "jobs": r.throughput.count,
            "workers": args.workers,
            "seconds": r.throughput.took.as_secs_f64(),
            "jobs_per_s": r.throughput.per_s(),
            "loop": "claim → running → verify (diff) → done",
            "all_done_exactly_once": true,
            "calls": ops,
        },
        "cost": cost_json(&r.cost),
        "baseline": {
            "clients": args.workers,
            "seconds": args.pgbench_seconds,
            "pgbench_tps": r.baseline.pgbench_tps,
            "loop_tps": r.baseline.loop_tps,
            "database": r.baseline.database,
            "notes": r.baseline.notes,
        },
        "ratio": ratio,
        "ratio_against": reference.map(|(_, name)| name),
        "ratio_target": ratio_target(&r.backend),
        "ratio_meets_target": ratio.map(|x| x >= ratio_target(&r.backend)),
        "cost_meets_target": cost_ok(&r.cost),
    })
}

fn print_table(reports: &[Report], args: &BenchArgs) {
    println!(
        "{:<9} {:<46} {:>6} {:>9} {:>9} {:>9} {:>9}  result",
        "backend", "measure", "n", "p50 ms", "p95 ms", "p99 ms", "max ms"
    );
    let line = |b: &str, what: &str, s: &Stats, note: &str| {
        println!(
            "{:<9} {:<46} {:>6} {:>9} {:>9} {:>9} {:>9}  {}",
            b,
            what,
            s.n,
            ms(s.p50),
            ms(s.p95),
            ms(s.p99),
            ms(s.max),
            note
        );
    };
    let plain = |b: &str, what: &str, n: Option<usize>, note: &str| {
        let n = n.map(|n| n.to_string()).unwrap_or_default();
        println!("{:<9} {:<46} {:>6} {:>39}  {}", b, what, n, "", note);
    };
    for r in reports {
        let b = r.backend.as_str();
        line(
            b,
            &format!("enqueue → held by a waiting agent ({} waiting)", args.waiters),
            &r.latency,
            &format!("{} ({LATENCY_TARGET})", verdict(latency_ok(&r.latency))),
        );
        line(b, "  of which the enqueue call", &r.enqueue_call, "");
        line(b, "  of which wake + claim", &r.wake_to_held, "");
        line(b, "  for scale: one SELECT 1 round trip", &r.round_trip, "");
        plain(b, "enqueue, one at a time (queue fill)", Some(r.fill.count), &format!("{:.0} jobs/s", r.fill.per_s()));
        plain(
            b,
            &format!("claim → running → verify → done, {} workers", args.workers),
            Some(r.throughput.count),
            &format!(
                "{:.0} jobs/s in {:.2} s; every job DONE exactly once",
                r.throughput.per_s(),
                r.throughput.took.as_secs_f64()
            ),
        );
        for (name, s) in &r.ops {
            let note = if b == "sqlite" && matches!(*name, "claim" | "done") {
                format!("{} (p99 < 20 ms)", verdict(s.p99 < SQLITE_CALL_P99_TARGET))
            } else {
                String::new()
            };
            line(b, &format!("  {name} call (under load)"), s, &note);
        }
        for (what, note) in cost_rows(&r.cost) {
            plain(b, &what, None, &note);
        }
        plain(
            b,
            "cost per job against the target",
            None,
            &format!("{} (≤ 14 statements, ≤ 9 transactions)", verdict(cost_ok(&r.cost))),
        );
        let secs = args.pgbench_seconds;
        if let Some(tps) = r.baseline.pgbench_tps {
            plain(
                b,
                &format!("baseline: pgbench tpcb-like -c {} -T {secs}", args.workers),
                None,
                &format!("{tps:.0} tps"),
            );
        }
        if let Some(tps) = r.baseline.loop_tps {
            plain(
                b,
                &format!("baseline: tpcb-like loop, {} tasks, {secs} s", args.workers),
                None,
                &format!("{tps:.0} tps"),
            );
        }
        match r.baseline.reference() {
            Some((tps, name)) => {
                let x = r.throughput.per_s() / tps;
                plain(
                    b,
                    &format!("queue throughput / {name}"),
                    None,
                    &format!(
                        "{:.0} % — {} (≥ {:.0} %)",
                        x * 100.0,
                        verdict(x >= ratio_target(b)),
                        ratio_target(b) * 100.0
                    ),
                );
            }
            None => plain(b, "queue throughput / baseline", None, "no baseline figure"),
        }
        for note in &r.baseline.notes {
            println!("{b:<9} note: {note}");
        }
        println!("{b:<9} database: {}", r.database);
    }
}
