//! `baton worker`: the built-in agent runner. It claims jobs from a Baton
//! server over MCP (`wait_for_job`, as `baton mcp --url` does), prepares a
//! git worktree for each ([`repo`]), runs the `--exec` command there
//! ([`process`]) and reports the outcome ([`job`]).
//!
//! - Start: the token is checked (`GET /api/me`); a refused token or an
//!   unreachable server is one line on stderr and exit status 2. The worker
//!   registers its presence (runtime, tier, capabilities, instance id),
//!   refreshes it every 10 s and goes offline when it stops.
//! - `--jobs N` slots each loop: quota check (`--quota-cmd`), long poll,
//!   run, report. Below the minimum quota a slot does not claim; the server
//!   refuses the claim too, from the quota reported with `worker_heartbeat`.
//! - SIGTERM or SIGINT: no new claims (a pending long poll is dropped), the
//!   running commands finish and are reported. A second signal stops them
//!   (SIGTERM, SIGKILL after `--grace`) and hand their jobs back at once
//!   with `POST /api/jobs/{id}/requeue` (a retry, `retry_count + 1`, as a
//!   lapsed lease would be; if the server cannot be reached the lease lapses
//!   and the sweeper requeues it, reference §8). Then the worker goes
//!   offline and exits 0.
//! - `--cleanup`: removes this user's finished worktrees that hold no
//!   unpushed work ([`baton_mcp::worktrees`]) and exits.

mod job;
mod process;
mod repo;

use std::{
    path::{Path, PathBuf},
    sync::Arc,
    time::Duration,
};

use anyhow::Context;
use baton_app::workers::WorkerInfo;
use baton_mcp::worktrees::cleanup_worktrees;
use serde_json::{Map, Value, json};
use tokio::sync::watch;

use super::mcp::forward::{Remote, RemoteJobs, encode_segment, inject_worker, rest_message, spawn_presence};
use crate::cli::{LogFormat, WorkerArgs};

/// Exit status when the worker cannot start (bad token, unreachable server, bad options).
const START_FAILED: i32 = 2;
/// Long-poll window of one `wait_for_job`.
const WAIT_SECONDS: u64 = 60;
/// Pause after a failed claim before trying again.
const BACKOFF: Duration = Duration::from_secs(5);
/// The minimum quota when the server tells none (reference §8 default).
const DEFAULT_MIN_QUOTA: i64 = 20;
/// Longest a `--quota-cmd` may run.
const QUOTA_TIMEOUT: Duration = Duration::from_secs(60);

/// How far the worker is in stopping.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Stop {
    /// Claiming and running.
    Running,
    /// First signal: finish the running jobs, claim no more.
    Draining,
    /// Second signal: stop the running commands and hand their jobs back.
    Now,
}

/// Waits until the stop level reaches `level` (forever if it never does).
async fn until(stop: &mut watch::Receiver<Stop>, level: Stop) {
    if stop.wait_for(|s| *s >= level).await.is_err() {
        std::future::pending::<()>().await;
    }
}

/// The worker's settings and connection, shared by its slots.
pub(crate) struct Worker {
    remote: Arc<Remote>,
    info: WorkerInfo,
    user_id: String,
    url: String,
    token: String,
    exec: String,
    worktrees: PathBuf,
    grace: Duration,
    heartbeat: Option<Duration>,
    quota_cmd: Option<String>,
    quota_retry: Duration,
    product: Option<String>,
    stop: watch::Receiver<Stop>,
    repos: repo::Repos,
}

/// Runs `baton worker`.
pub async fn run(args: WorkerArgs, log_format: LogFormat) -> anyhow::Result<()> {
    super::serve::init_logging(log_format);
    // Signals are taken over first: a SIGTERM during start-up ends cleanly.
    let stop = match signals() {
        Ok(s) => s,
        Err(e) => fail_start(e),
    };
    let (remote, me, root) = match connect(&args).await {
        Ok(x) => x,
        Err(e) => fail_start(e),
    };
    let user_id = me["id"].as_str().unwrap_or_default().to_string();
    if args.cleanup {
        let entries = cleanup_worktrees(&root, &user_id, &RemoteJobs(&remote))
            .await
            .map_err(|e| anyhow::anyhow!("cleanup failed: {e}"))?;
        for e in &entries {
            let verb = if e.removed { "removed" } else { "kept" };
            println!("{verb} {} (job {}): {}", e.worktree, e.job_id, e.reason);
        }
        if entries.is_empty() {
            println!("no worktrees of yours under {}", root.display());
        }
        return Ok(());
    }
    let info = match super::mcp::worker_identity(
        "worker",
        args.instance_id.as_deref(),
        &args.runtime,
        &args.tier,
        &args.capabilities,
    ) {
        Ok(i) => i,
        Err(e) => fail_start(e),
    };
    if me["is_demo"] == json!(true) {
        fail_start(anyhow::anyhow!("the demo account only reads: it cannot run jobs"));
    }
    if let Err(e) = remote.register(&info).await {
        fail_start(e);
    }
    let remote = Arc::new(remote);
    let presence = spawn_presence(remote.clone(), info.clone());
    let worker = Arc::new(Worker {
        remote: remote.clone(),
        info,
        user_id,
        url: args.url.trim().trim_end_matches('/').to_string(),
        token: std::env::var("BATON_TOKEN").unwrap_or_default().trim().to_string(),
        exec: args.exec.clone().unwrap_or_default(),
        worktrees: root,
        grace: Duration::from_secs(args.grace),
        heartbeat: args.heartbeat_secs.map(Duration::from_secs),
        quota_cmd: args.quota_cmd.clone().filter(|c| !c.trim().is_empty()),
        quota_retry: Duration::from_secs(args.quota_retry_secs),
        product: args.product.clone().filter(|p| !p.trim().is_empty()),
        stop,
        repos: repo::Repos::default(),
    });
    tracing::info!(url = %worker.url, user = %me["username"].as_str().unwrap_or_default(),
        instance = %worker.info.instance_id, jobs = args.jobs, worktrees = %worker.worktrees.display(), "worker started");
    let mut slots = tokio::task::JoinSet::new();
    for n in 0..args.jobs {
        slots.spawn(slot(worker.clone(), n));
    }
    while slots.join_next().await.is_some() {}
    presence.abort();
    remote.offline(&worker.info.instance_id).await;
    tracing::info!("worker stopped");
    Ok(())
}

/// Prints why the worker cannot start, as one line, and exits with 2.
fn fail_start(e: anyhow::Error) -> ! {
    let msg = format!("{e:#}").replace('\n', " ");
    eprintln!("error: {msg}");
    std::process::exit(START_FAILED)
}

/// Checks the options and the token; the client, the user and the absolute
/// worktrees directory (created).
async fn connect(args: &WorkerArgs) -> anyhow::Result<(Remote, Value, PathBuf)> {
    let token = std::env::var("BATON_TOKEN").unwrap_or_default();
    if token.trim().is_empty() {
        anyhow::bail!("BATON_TOKEN is not set: create a token with `baton token create` or in the web UI");
    }
    if !args.cleanup && args.exec.as_deref().is_none_or(|e| e.trim().is_empty()) {
        anyhow::bail!("--exec is empty: give the command to run for each job");
    }
    let root = absolute(&args.worktrees)?;
    std::fs::create_dir_all(&root).with_context(|| format!("cannot create --worktrees {}", root.display()))?;
    let remote = Remote::new(&args.url, token.trim())?;
    let me = remote.whoami().await?;
    Ok((remote, me, root))
}

fn absolute(p: &Path) -> anyhow::Result<PathBuf> {
    if p.is_absolute() {
        return Ok(p.to_path_buf());
    }
    Ok(std::env::current_dir().context("cannot read the current directory")?.join(p))
}

/// SIGTERM/SIGINT handling: the first moves to [`Stop::Draining`], the
/// next to [`Stop::Now`].
fn signals() -> anyhow::Result<watch::Receiver<Stop>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).context("cannot handle SIGTERM")?;
    let mut int = signal(SignalKind::interrupt()).context("cannot handle SIGINT")?;
    let (tx, rx) = watch::channel(Stop::Running);
    tokio::spawn(async move {
        loop {
            tokio::select! { _ = term.recv() => {}, _ = int.recv() => {} }
            let next = if *tx.borrow() == Stop::Running { Stop::Draining } else { Stop::Now };
            match next {
                Stop::Draining => {
                    tracing::info!("stopping: no new jobs; running jobs finish (signal again to stop them)")
                }
                _ => tracing::info!("stopping now: running commands are stopped and their jobs handed back"),
            }
            tx.send_replace(next);
        }
    });
    Ok(rx)
}

/// One slot: check the quota, claim, run, report; until the worker stops.
async fn slot(w: Arc<Worker>, n: u16) {
    let mut stop = w.stop.clone();
    loop {
        if *stop.borrow() != Stop::Running {
            break;
        }
        if let Some(cmd) = &w.quota_cmd {
            match w.quota_allows(cmd).await {
                Ok(true) => {}
                Ok(false) | Err(_) => {
                    tokio::select! {
                        _ = tokio::time::sleep(w.quota_retry) => continue,
                        _ = until(&mut stop, Stop::Draining) => break,
                    }
                }
            }
        }
        let claim = tokio::select! {
            c = w.claim() => c,
            // A pending long poll changes nothing until it returns a job.
            _ = until(&mut stop, Stop::Draining) => break,
        };
        match claim {
            Ok(Some(payload)) => job::run(&w, payload, n).await,
            Ok(None) => {}
            Err(e) => {
                tracing::warn!(slot = n, error = %e, "wait_for_job failed");
                tokio::select! {
                    _ = tokio::time::sleep(BACKOFF) => {}
                    _ = until(&mut stop, Stop::Draining) => break,
                }
            }
        }
    }
}

/// A number in percent from the first number in `text` (`42`, `42.5%`),
/// clamped to 0–100.
fn parse_percent(text: &str) -> Option<i64> {
    let start = text.find(|c: char| c.is_ascii_digit())?;
    let num: String = text[start..].chars().take_while(|c| c.is_ascii_digit() || *c == '.').collect();
    let v: f64 = num.trim_end_matches('.').parse().ok()?;
    // Truncation is intended: 19.9 % is below a 20 % minimum.
    #[allow(clippy::cast_possible_truncation)]
    Some((v.floor() as i64).clamp(0, 100))
}

impl Worker {
    /// Runs the quota command, reports the quota and says whether it is
    /// at or above the minimum (the product's `min_quota_pct` when the
    /// server tells one, else the user's, else 20).
    async fn quota_allows(&self, cmd: &str) -> anyhow::Result<bool> {
        let out = tokio::time::timeout(
            QUOTA_TIMEOUT,
            tokio::process::Command::new("sh")
                .arg("-c")
                .arg(cmd)
                .stdin(std::process::Stdio::null())
                .kill_on_drop(true)
                .output(),
        )
        .await;
        let out = match out {
            Ok(Ok(o)) if o.status.success() => o,
            Ok(Ok(o)) => {
                tracing::warn!(status = %o.status, "--quota-cmd failed; not claiming");
                anyhow::bail!("quota command failed");
            }
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "cannot run --quota-cmd; not claiming");
                anyhow::bail!("quota command failed");
            }
            Err(_) => {
                tracing::warn!("--quota-cmd timed out; not claiming");
                anyhow::bail!("quota command timed out");
            }
        };
        let text = String::from_utf8_lossy(&out.stdout);
        let Some(pct) = parse_percent(&text) else {
            tracing::warn!(output = %text.trim(), "--quota-cmd printed no percentage; not claiming");
            anyhow::bail!("no percentage");
        };
        let mut args = Map::new();
        args.insert("last_quota_pct".into(), json!(pct));
        inject_worker(&mut args, &self.info, true);
        match self.remote.call_tool("worker_heartbeat", Value::Object(args)).await {
            Ok(r) if r["isError"] == json!(true) => {
                tracing::warn!(result = %r["content"][0]["text"], "quota report refused")
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e.message, "quota report failed"),
        }
        let min = self.min_quota().await;
        if pct < min {
            tracing::info!(quota = pct, min, "quota below the minimum: not claiming");
            return Ok(false);
        }
        Ok(true)
    }

    /// The minimum quota: the product's `min_quota_pct` (with `--product`),
    /// else the user's, else [`DEFAULT_MIN_QUOTA`].
    async fn min_quota(&self) -> i64 {
        let mut paths = Vec::new();
        if let Some(p) = &self.product {
            paths.push(format!("/api/products/{}", encode_segment(p.trim())));
        }
        paths.push("/api/me".to_string());
        for path in paths {
            if let Ok((status, body)) = self.remote.rest(reqwest::Method::GET, &path, None).await
                && status.is_success()
                && let Some(min) = serde_json::from_str::<Value>(&body).ok().and_then(|v| v["min_quota_pct"].as_i64())
            {
                return min;
            }
        }
        DEFAULT_MIN_QUOTA
    }

    /// One `wait_for_job` long poll: the claim payload, or `None` on timeout.
    async fn claim(&self) -> anyhow::Result<Option<Value>> {
        let mut args = Map::new();
        args.insert("wait_seconds".into(), json!(WAIT_SECONDS));
        if let Some(p) = &self.product {
            args.insert("product_id".into(), json!(p.trim()));
        }
        inject_worker(&mut args, &self.info, false);
        let r = self
            .remote
            .call_tool("wait_for_job", Value::Object(args))
            .await
            .map_err(|e| anyhow::anyhow!("{}", e.message))?;
        if r["isError"] == json!(true) {
            anyhow::bail!("{}", rest_message(r["content"][0]["text"].as_str().unwrap_or("refused")));
        }
        let data = &r["structuredContent"];
        if data["status"] == "timeout" || data["job_id"].as_str().is_none() {
            return Ok(None);
        }
        Ok(Some(data.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quota_output_is_read_as_a_clamped_percentage() {
        assert_eq!(parse_percent("42"), Some(42));
        assert_eq!(parse_percent("quota: 19.9%\n"), Some(19));
        assert_eq!(parse_percent("150"), Some(100));
        assert_eq!(parse_percent("none"), None);
    }
}
