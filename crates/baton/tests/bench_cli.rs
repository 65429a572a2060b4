//! End-to-end tests of `baton bench`, run as a real process with tiny
//! sizes: the queue bench reports its figures on SQLite and Postgres (and
//! fails unless every job ended DONE exactly once), leaves no rows, files or
//! throwaway databases behind, measures several databases in one run, and
//! `baton bench` without a subcommand is still the board bench.

mod common;

use std::path::Path;

use baton_store::{
    Backend,
    sea_orm::{ConnectionTrait, Statement},
};
use baton_testkit::backend_tests;
use common::*;
use serde_json::Value;

/// Tiny sizes: a few seconds in a debug build.
const TINY: &[&str] = &[
    "bench",
    "queue",
    "--jobs",
    "50",
    "--samples",
    "20",
    "--warmup",
    "5",
    "--workers",
    "4",
    "--waiters",
    "2",
    "--pgbench-seconds",
    "1",
];

/// The rows the bench seeds, per table.
const TABLES: &[&str] = &["users", "api_tokens", "products", "pbis", "stories", "tasks", "jobs", "workers"];

async fn counts(db: &baton_store::Db) -> Vec<(String, i64)> {
    let mut out = Vec::new();
    for t in TABLES {
        let row = db
            .query_one_raw(Statement::from_string(db.get_database_backend(), format!("SELECT COUNT(*) AS n FROM {t}")))
            .await
            .expect("count")
            .expect("one row");
        out.push((t.to_string(), row.try_get::<i64>("", "n").expect("n")));
    }
    out
}

fn num(v: &Value, path: &str) -> f64 {
    let mut at = v;
    for key in path.split('.') {
        at = &at[key];
    }
    at.as_f64().unwrap_or_else(|| panic!("{path} is not a number in {v:#}"))
}

fn pgbench_installed() -> bool {
    let on_path =
        std::env::var_os("PATH").is_some_and(|p| std::env::split_paths(&p).any(|d| d.join("pgbench").is_file()));
    on_path
        || std::fs::read_dir("/usr/lib/postgresql")
            .map(|d| d.filter_map(Result::ok).any(|e| e.path().join("bin/pgbench").is_file()))
            .unwrap_or(false)
}

/// Checks one backend's queue figures: positive, ordered percentiles, the
/// sample and job counts asked for, every job done exactly once.
#[track_caller]
fn assert_queue_figures(r: &Value, backend: &str) {
    assert_eq!(r["backend"], backend, "{r:#}");
    let lat = &r["latency"]["enqueue_to_held"];
    assert_eq!(lat["n"], 20, "20 measured samples after 5 warm-up ones: {r:#}");
    let (p50, p95, p99, max) = (num(lat, "p50_ms"), num(lat, "p95_ms"), num(lat, "p99_ms"), num(lat, "max_ms"));
    assert!(p50 > 0.0 && p50 <= p95 && p95 <= p99 && p99 <= max, "latency percentiles out of order: {lat}");
    assert!(max < 30_000.0, "a sample must not have waited for the bench's timeout: {lat}");
    let call = num(r, "latency.enqueue_call.p50_ms");
    assert!(call > 0.0 && call <= max, "the enqueue call is part of the latency: {r:#}");
    assert!(r["latency"]["meets_target"].is_boolean());
    assert_eq!(r["select_1_round_trip"]["n"], 200, "{r:#}");
    assert!(num(r, "select_1_round_trip.p50_ms") > 0.0);
    assert_eq!(r["enqueue"]["jobs"], 50);
    assert!(num(r, "enqueue.jobs_per_s") > 0.0);
    let tp = &r["throughput"];
    assert_eq!(tp["jobs"], 50, "every pre-filled job was completed: {tp}");
    assert_eq!(tp["workers"], 4);
    assert_eq!(tp["all_done_exactly_once"], true);
    assert!(num(tp, "jobs_per_s") > 0.0 && num(tp, "seconds") > 0.0, "{tp}");
    for op in ["claim", "running", "verify", "done"] {
        assert_eq!(tp["calls"][op]["n"], 50, "one {op} call per job: {tp}");
        assert!(num(&tp["calls"][op], "p50_ms") > 0.0);
    }
    assert_cost_figures(r, backend);
    let base = &r["baseline"];
    assert_eq!(base["clients"], 4);
    assert!(num(base, "loop_tps") > 0.0, "the in-process tpcb-like loop ran: {base}");
    assert!(num(r, "ratio") > 0.0, "{r:#}");
    assert!(r["ratio_meets_target"].is_boolean());
    assert!(r["cost_meets_target"].is_boolean());
}

/// The cost per job (issue 13): Baton's counters over the drain, positive
/// and consistent (a round trip per statement at least); the server's on
/// Postgres only (statements when `pg_stat_statements` is loaded, else
/// saying why not); and each call of one job run alone.
#[track_caller]
fn assert_cost_figures(r: &Value, backend: &str) {
    let cost = &r["cost"];
    assert_eq!(cost["jobs"], 50, "{cost:#}");
    let per_job = &cost["per_job"];
    for k in ["statements", "transactions", "round_trips"] {
        assert!(num(per_job, k) > 0.0, "{k} per job: {cost:#}");
    }
    assert!(num(per_job, "round_trips") >= num(per_job, "statements"), "{cost:#}");
    assert!(num(per_job, "statements") >= num(per_job, "transactions"), "{cost:#}");
    for op in ["claim", "running", "verify", "done"] {
        let call = &cost["per_call_alone"][op];
        for k in ["statements", "transactions", "round_trips"] {
            assert!(num(call, k) > 0.0, "{op} {k}: {cost:#}");
        }
    }
    let server = &cost["server_per_job"];
    if backend == "postgres" {
        assert!(num(server, "transactions") > 0.0, "{cost:#}");
        match server["statements"].as_f64() {
            Some(n) => assert!(n > 0.0, "{cost:#}"),
            None => assert_eq!(server["statements_from"], "n/a (pg_stat_statements not loaded)", "{cost:#}"),
        }
    } else {
        assert!(server.is_null(), "no server counters on SQLite: {cost:#}");
    }
}

backend_tests! {
    /// `baton bench queue --json` on the test database: every figure is
    /// there, the baseline ran (pgbench on Postgres, in a throwaway database
    /// that is gone afterwards), and the bench's rows are deleted again.
    async fn bench_queue_reports_figures_and_cleans_up(t) {
        let before = counts(&t.db).await;
        let baton = Baton::new(&t.url);
        let mut args = TINY.to_vec();
        args.push("--json");
        let run = baton.run(&args).await;
        run.success();
        let out = run.json();
        assert_eq!(out["bench"], "queue");
        let results = out["results"].as_array().expect("results");
        assert_eq!(results.len(), 1, "one database measured: {out:#}");
        let r = &results[0];
        match t.backend {
            Backend::Sqlite => {
                assert_queue_figures(r, "sqlite");
                assert_eq!(r["ratio_against"], "tpcb-like loop");
                let scratch = r["baseline"]["database"].as_str().expect("the scratch file is named");
                assert!(!Path::new(scratch).exists(), "the baseline's scratch file {scratch} was deleted");
            }
            Backend::Postgres => {
                assert_queue_figures(r, "postgres");
                let name = r["baseline"]["database"].as_str().expect("the throwaway database is named");
                assert!(name.starts_with("baton_pgbench_"), "{name}");
                let left = t
                    .db
                    .query_one_raw(Statement::from_string(
                        t.db.get_database_backend(),
                        format!("SELECT COUNT(*) AS n FROM pg_database WHERE datname = '{name}'"),
                    ))
                    .await
                    .expect("look up")
                    .expect("row")
                    .try_get::<i64>("", "n")
                    .expect("n");
                assert_eq!(left, 0, "the throwaway pgbench database was dropped");
                if pgbench_installed() {
                    assert!(num(r, "baseline.pgbench_tps") > 0.0, "{r:#}");
                    assert_eq!(r["ratio_against"], "pgbench tpcb-like");
                } else {
                    assert!(r["baseline"]["pgbench_tps"].is_null());
                    assert!(r["baseline"]["notes"].to_string().contains("pgbench not found"), "{r:#}");
                }
            }
        }
        assert_eq!(counts(&t.db).await, before, "the bench's user, tokens, backlog and jobs were deleted");
        assert!(!baton.scratch.path.join("baton-data").exists(), "the bench never touches the data directory");
    }
}

/// Without `--database-url` the bench uses a temporary SQLite file (never
/// `./baton-data`), `--also` adds Postgres to the same run, and the table
/// shows both backends' figures; the temporary file is gone afterwards.
#[tokio::test]
async fn bench_queue_measures_sqlite_and_postgres_in_one_run() {
    let pg = EmptyPgDb::create().await;
    let scratch = Scratch::new();
    let mut args = TINY.to_vec();
    args.extend(["--also", pg.url.as_str()]);
    let run = run_in(&scratch.path, &args, None).await;
    run.success();
    let table = &run.stdout;
    for backend in ["sqlite", "postgres"] {
        let rows: Vec<&str> = table.lines().filter(|l| l.starts_with(backend)).collect();
        let find = |what: &str| {
            rows.iter()
                .find(|l| l.contains(what))
                .unwrap_or_else(|| panic!("no `{what}` row for {backend} in:\n{table}"))
                .to_string()
        };
        let latency = find("enqueue → held by a waiting agent (2 waiting)");
        assert!(latency.contains("target (p50 < 3 ms, p99 < 10 ms)"), "{latency}");
        let throughput = find("claim → running → verify → done, 4 workers");
        assert!(throughput.contains("jobs/s") && throughput.contains("every job DONE exactly once"), "{throughput}");
        let jobs_per_s: f64 = throughput
            .split_whitespace()
            .zip(throughput.split_whitespace().skip(1))
            .find(|(_, unit)| *unit == "jobs/s")
            .and_then(|(n, _)| n.parse().ok())
            .unwrap_or_else(|| panic!("no `N jobs/s` in {throughput}"));
        assert!(jobs_per_s > 0.0, "{throughput}");
        assert!(find("baseline: tpcb-like loop, 4 tasks, 1 s").contains("tps"));
        let ratio = if backend == "postgres" { "(≥ 50 %)" } else { "(≥ 25 %)" };
        assert!(find("queue throughput /").contains(ratio));
        assert!(find("cost per job against the target").contains("(≤ 14 statements, ≤ 9 transactions)"));
        if backend == "sqlite" {
            assert!(find("claim call (under load)").contains("(p99 < 20 ms)"));
            assert!(find("done call (under load)").contains("(p99 < 20 ms)"));
        }
        find("for scale: one SELECT 1 round trip");
        assert!(find("cost per job (drain, Baton's counters)").contains("statements,"));
        assert!(find("done call, one job alone").contains("round trips"));
        if backend == "postgres" {
            assert!(find("cost per job (drain, server's counters)").contains("transactions (pg_stat_database)"));
        }
    }
    let db_line = table
        .lines()
        .find(|l| l.starts_with("sqlite") && l.contains("database: temporary "))
        .unwrap_or_else(|| panic!("the SQLite database is a temporary file:\n{table}"));
    let path = db_line.split("database: temporary ").nth(1).expect("path").trim();
    assert!(!Path::new(path).exists(), "the temporary database {path} was deleted");
    assert!(!scratch.path.join("baton-data").exists(), "the default data directory is not used");
    assert!(run.stderr.contains("postgres: seeding"), "progress goes to stderr: {}", run.stderr);
}

/// Out-of-range sizes are refused before anything is seeded.
#[tokio::test]
async fn bench_queue_refuses_bad_sizes() {
    let scratch = Scratch::new();
    for (flag, value) in [("--workers", "0"), ("--jobs", "0"), ("--waiters", "65"), ("--pgbench-seconds", "0")] {
        let run = run_in(&scratch.path, &["bench", "queue", flag, value], None).await;
        assert!(!run.status.success(), "{flag} {value} must be refused");
        assert_no_panic(&run.stderr);
        assert!(run.stderr.contains(flag), "the error names {flag}: {}", run.stderr);
        assert_eq!(run.stdout, "");
    }
    let run = run_in(&scratch.path, &["bench", "queues"], None).await;
    assert!(!run.status.success() && run.stderr.contains("board") && run.stderr.contains("queue"), "{}", run.stderr);
    let leftovers = std::fs::read_dir(&scratch.path).expect("scratch").count();
    assert_eq!(leftovers, 0, "nothing was created");
}

/// `baton bench` without a subcommand is the board bench (the README's
/// command), here with `--json` and tiny sizes.
#[tokio::test]
async fn bench_without_subcommand_is_the_board_bench() {
    let scratch = Scratch::new();
    let args = ["bench", "--stories", "40", "--tasks", "80", "--board-stories", "10", "--requests", "5", "--json"];
    let run = run_in(&scratch.path, &args, None).await;
    run.success();
    let out = run.json();
    assert_eq!(out["bench"], "board");
    let rows = out["rows"].as_array().expect("rows");
    let ops: Vec<&str> = rows.iter().map(|r| r["operation"].as_str().expect("operation")).collect();
    assert_eq!(
        rows.len(),
        8,
        "seed, board, its baseline, update, its baseline, board page, its baseline, page assets: {ops:?}"
    );
    let board = rows.iter().find(|r| r["operation"] == "sprint board: 10 stories, 20 tasks").expect("board row");
    assert_eq!(board["n"], 5);
    let page = rows.iter().find(|r| r["operation"] == "board page HTML: 10 stories, 20 tasks").expect("board page row");
    assert_eq!(page["n"], 5);
    assert!(num(page, "p50_ms") > 0.0 && num(page, "p50_ms") <= num(page, "p99_ms"));
    assert!(num(board, "p50_ms") > 0.0 && num(board, "p50_ms") <= num(board, "p99_ms"));
    assert!(rows.iter().all(|r| r["backend"] == "sqlite"));
}
