//! The tpcb-like baseline the queue is compared with: `pgbench -b
//! tpcb-like` in a throwaway database on the same Postgres server, and the
//! same transaction run in-process by as many tasks as the queue has
//! workers (the only baseline on SQLite, which has no pgbench).

use std::{
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

use anyhow::{Context, anyhow, ensure};
use baton_store::{
    Db, new_id,
    sea_orm::{ConnectionTrait, Statement, TransactionTrait},
};

use super::super::{Target, remove_sqlite_files, sqlite_url};
use crate::cli::BenchArgs;

/// pgbench's scale-1 sizes.
const ACCOUNTS: i64 = 100_000;
const TELLERS: i64 = 10;

/// The tpcb-like figures of one database.
#[derive(Default)]
pub(super) struct Baseline {
    /// `pgbench -b tpcb-like` TPS (Postgres with pgbench available).
    pub(super) pgbench_tps: Option<f64>,
    /// The in-process tpcb-like loop's TPS.
    pub(super) loop_tps: Option<f64>,
    /// Where the baseline ran.
    pub(super) database: Option<String>,
    /// Why a figure is missing.
    pub(super) notes: Vec<String>,
}

impl Baseline {
    /// The TPS the queue is compared with, and its name.
    pub(super) fn reference(&self) -> Option<(f64, &'static str)> {
        match (self.pgbench_tps, self.loop_tps) {
            (Some(t), _) => Some((t, "pgbench tpcb-like")),
            (None, Some(t)) => Some((t, "tpcb-like loop")),
            _ => None,
        }
    }
}

/// The tpcb-like baseline of one database; failures become notes, so the
/// queue figures are still reported.
pub(super) async fn baseline(target: &Target, backend: &str, args: &BenchArgs) -> Baseline {
    let mut out = Baseline::default();
    let result = if backend == "postgres" {
        pg_baseline(&target.url, args, &mut out).await
    } else {
        sqlite_baseline(target, args, &mut out).await
    };
    if let Err(e) = result {
        out.notes.push(format!("baseline failed: {e:#}"));
    }
    out
}

/// SQLite: the tpcb-like loop on a scratch file beside the database.
async fn sqlite_baseline(target: &Target, args: &BenchArgs, out: &mut Baseline) -> anyhow::Result<()> {
    let dir = sqlite_dir(target).unwrap_or_else(std::env::temp_dir);
    let path = dir.join(format!("baton-bench-tpcb-{}.db", new_id()));
    out.database = Some(path.display().to_string());
    let result = async {
        let db = baton_store::connect(&sqlite_url(&path)).await.context("cannot open the baseline file")?;
        let r = async {
            init_tpcb(&db, "").await?;
            tpcb_loop(&db, "", args).await
        }
        .await;
        db.close().await.ok();
        r
    }
    .await;
    remove_sqlite_files(&path);
    out.loop_tps = Some(result?);
    out.notes.push("SQLite has no pgbench: the baseline is the tpcb-like loop on a scratch file".into());
    Ok(())
}

/// The directory of the target's SQLite file, so the baseline file shares its disk.
fn sqlite_dir(target: &Target) -> Option<PathBuf> {
    if let Some(p) = &target.temp {
        return p.parent().map(Path::to_path_buf);
    }
    let rest = target.url.strip_prefix("sqlite://").or_else(|| target.url.strip_prefix("sqlite:"))?;
    let file = rest.split('?').next()?;
    if file.is_empty() || file.contains(":memory:") {
        return None;
    }
    Path::new(file).parent().map(|d| if d.as_os_str().is_empty() { PathBuf::from(".") } else { d.to_path_buf() })
}

/// Postgres: a throwaway database on the same server for pgbench (and the
/// in-process loop), dropped afterwards.
async fn pg_baseline(url: &str, args: &BenchArgs, out: &mut Baseline) -> anyhow::Result<()> {
    let name = format!("baton_pgbench_{}", new_id().chars().filter(char::is_ascii_alphanumeric).collect::<String>());
    let admin = baton_store::connect(url).await.context("cannot reconnect")?;
    admin
        .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
        .await
        .with_context(|| format!("cannot create the throwaway database {name} (needs CREATEDB)"))?;
    out.database = Some(name.clone());
    let bench_url = pg_url_with_db(url, &name);
    let result = pg_measure(&bench_url, args, out).await;
    let dropped = admin.execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)")).await;
    admin.close().await.ok();
    result?;
    dropped.with_context(|| format!("cannot drop the throwaway database {name}"))?;
    Ok(())
}

async fn pg_measure(bench_url: &str, args: &BenchArgs, out: &mut Baseline) -> anyhow::Result<()> {
    let pgbench = find_pgbench();
    match &pgbench {
        Some(bin) => {
            run_pgbench(bin, &["-i", "-s", "1", "-q", bench_url]).await.context("pgbench -i")?;
            let clients = args.workers.to_string();
            let threads = args.workers.min(2).to_string();
            let secs = args.pgbench_seconds.to_string();
            let text = run_pgbench(bin, &["-b", "tpcb-like", "-c", &clients, "-j", &threads, "-T", &secs, bench_url])
                .await
                .context("pgbench -b tpcb-like")?;
            out.pgbench_tps =
                Some(parse_tps(&text).ok_or_else(|| anyhow!("no `tps = …` in pgbench's output: {text}"))?);
        }
        None => out.notes.push(
            "pgbench not found (PATH, /usr/lib/postgresql/*/bin): no pgbench figure; the ratio uses the tpcb-like loop"
                .into(),
        ),
    }
    let db = baton_store::connect(bench_url).await.context("cannot open the throwaway database")?;
    let r = async {
        if pgbench.is_none() {
            init_tpcb(&db, "").await?;
        }
        tpcb_loop(&db, "", args).await
    }
    .await;
    db.close().await.ok();
    out.loop_tps = Some(r?);
    Ok(())
}

/// pgbench on PATH, else the newest under /usr/lib/postgresql.
fn find_pgbench() -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|d| d.join("pgbench"))
        .find(|p| p.is_file());
    on_path.or_else(|| {
        let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
            .ok()?
            .filter_map(|e| e.ok().map(|e| e.path().join("bin/pgbench")))
            .filter(|p| p.is_file())
            .collect();
        found.sort();
        found.pop()
    })
}

/// Runs pgbench; its stdout and stderr together, or an error with them.
async fn run_pgbench(bin: &Path, args: &[&str]) -> anyhow::Result<String> {
    let out = tokio::process::Command::new(bin)
        .args(args)
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true)
        .output()
        .await
        .with_context(|| format!("cannot run {}", bin.display()))?;
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    ensure!(out.status.success(), "{} exited with {}: {}", bin.display(), out.status, text.trim());
    Ok(text)
}

/// The `tps = N (without initial connection time)` figure.
fn parse_tps(text: &str) -> Option<f64> {
    text.lines()
        .filter_map(|l| l.trim().strip_prefix("tps = "))
        .filter_map(|rest| rest.split_whitespace().next()?.parse::<f64>().ok())
        .next_back()
}

/// Replaces the database name in a Postgres URL.
fn pg_url_with_db(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, format!("?{q}")),
        None => (url, String::new()),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let cut = base[scheme_end..].rfind('/').map_or(base.len(), |i| scheme_end + i);
    format!("{}/{}{}", &base[..cut], name, query)
}

/// pgbench's scale-1 tables and rows (what `pgbench -i -s 1` creates).
async fn init_tpcb(db: &Db, prefix: &str) -> anyhow::Result<()> {
    let b = db.get_database_backend();
    let ddl = [
        format!("CREATE TABLE {prefix}pgbench_branches (bid INTEGER PRIMARY KEY, bbalance INTEGER, filler CHAR(88))"),
        format!(
            "CREATE TABLE {prefix}pgbench_tellers (tid INTEGER PRIMARY KEY, bid INTEGER, tbalance INTEGER, filler CHAR(84))"
        ),
        format!(
            "CREATE TABLE {prefix}pgbench_accounts (aid INTEGER PRIMARY KEY, bid INTEGER, abalance INTEGER, filler CHAR(84))"
        ),
        format!(
            "CREATE TABLE {prefix}pgbench_history (tid INTEGER, bid INTEGER, aid INTEGER, delta INTEGER, mtime TIMESTAMP, \
             filler CHAR(22))"
        ),
    ];
    let txn = db.begin().await?;
    for sql in ddl {
        txn.execute_unprepared(&sql).await?;
    }
    txn.execute_unprepared(&format!("INSERT INTO {prefix}pgbench_branches (bid, bbalance) VALUES (1, 0)")).await?;
    for (table, id, n) in [("tellers", "tid", TELLERS), ("accounts", "aid", ACCOUNTS)] {
        let balance = if table == "tellers" { "tbalance" } else { "abalance" };
        txn.execute_raw(Statement::from_string(
            b,
            format!(
                "INSERT INTO {prefix}pgbench_{table} ({id}, bid, {balance}, filler) \
                 WITH RECURSIVE s(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM s WHERE x < {n}) SELECT x, 1, 0, '' FROM s"
            ),
        ))
        .await?;
    }
    txn.commit().await?;
    Ok(())
}

/// `args.workers` tasks run pgbench's tpcb-like transaction for
/// `args.pgbench_seconds`; returns transactions per second.
async fn tpcb_loop(db: &Db, prefix: &str, args: &BenchArgs) -> anyhow::Result<f64> {
    let deadline = Instant::now() + Duration::from_secs(args.pgbench_seconds);
    let start = Instant::now();
    let mut tasks = Vec::new();
    for i in 0..args.workers {
        let (db, prefix) = (db.clone(), prefix.to_string());
        tasks.push(tokio::spawn(async move {
            let mut rng = XorShift(0x9E37_79B9_7F4A_7C15 ^ ((i as u64 + 1) * 0x1000_0000_01B3));
            let mut n = 0u64;
            while Instant::now() < deadline {
                tpcb_txn(&db, &prefix, &mut rng).await?;
                n += 1;
            }
            Ok::<_, anyhow::Error>(n)
        }));
    }
    let mut total = 0u64;
    for t in tasks {
        total += t.await.context("a baseline task panicked")??;
    }
    Ok(total as f64 / start.elapsed().as_secs_f64())
}

/// pgbench's built-in tpcb-like script.
async fn tpcb_txn(db: &Db, p: &str, rng: &mut XorShift) -> anyhow::Result<()> {
    let b = db.get_database_backend();
    let aid = rng.below(ACCOUNTS) + 1;
    let tid = rng.below(TELLERS) + 1;
    let bid = 1i64;
    let delta = rng.below(10_001) - 5_000;
    let txn = db.begin().await?;
    let st = |sql: String, v: Vec<baton_store::sea_orm::Value>| Statement::from_sql_and_values(b, sql, v);
    txn.execute_raw(st(
        format!("UPDATE {p}pgbench_accounts SET abalance = abalance + $1 WHERE aid = $2"),
        vec![delta.into(), aid.into()],
    ))
    .await?;
    txn.query_one_raw(st(format!("SELECT abalance FROM {p}pgbench_accounts WHERE aid = $1"), vec![aid.into()])).await?;
    txn.execute_raw(st(
        format!("UPDATE {p}pgbench_tellers SET tbalance = tbalance + $1 WHERE tid = $2"),
        vec![delta.into(), tid.into()],
    ))
    .await?;
    txn.execute_raw(st(
        format!("UPDATE {p}pgbench_branches SET bbalance = bbalance + $1 WHERE bid = $2"),
        vec![delta.into(), bid.into()],
    ))
    .await?;
    txn.execute_raw(st(
        format!(
            "INSERT INTO {p}pgbench_history (tid, bid, aid, delta, mtime) VALUES ($1, $2, $3, $4, CURRENT_TIMESTAMP)"
        ),
        vec![tid.into(), bid.into(), aid.into(), delta.into()],
    ))
    .await?;
    txn.commit().await?;
    Ok(())
}

/// A tiny PRNG for the baseline's random accounts (quality is irrelevant).
struct XorShift(u64);

impl XorShift {
    fn below(&mut self, n: i64) -> i64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as i64
    }
}
