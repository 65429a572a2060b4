//! One claimed job: payload file, working directory, `running`, the
//! command with job heartbeats, then the report (reference §3.5, §3.6).
//!
//! - Exit 0: task jobs verify the worktree's diff against the plan
//!   (`verify_task_against_plan` with the diff made here), then the one
//!   "check, push, then report" flow of `baton mcp` pushes the branch and
//!   reports `done`; sprint batch jobs push and report (their command
//!   verified each execution); other kinds (ideas) report `done`. The
//!   summary is the command's last output lines (20 lines, ≤ 1000
//!   characters). A refused report (e.g. the verify gate) is reported as
//!   `failed` with the refusal, so the job does not wait for its lease.
//! - Non-zero exit: `failed`, "exit status N" and the last lines
//!   (≤ 2000 characters); a signal: "killed by signal N".
//! - A usage file the command wrote at `BATON_USAGE_PATH` (`{model_id,
//!   input_tokens, output_tokens, cache_read_tokens, cache_write_tokens,
//!   actual_thinking_tokens}`) goes into the report.
//! - A heartbeat that says the job was cancelled or is not ours (or its
//!   sprint run is no longer running) stops the command: SIGTERM to its
//!   process group, SIGKILL after the grace period; a cancelled job is not
//!   reported (the server would refuse it).

use std::{path::Path, time::Duration};

use baton_mcp::{push::push_then_report, worktrees::WorktreeRecord};
use serde_json::{Map, Value, json};

use super::{
    Stop, Worker,
    process::{Exit, Running, Tail},
    repo, until,
};
use crate::commands::mcp::forward::{Refused, ReportArgs, ToolReporter, verify_worktree};

/// Lines and characters of output in a `done` summary.
const SUMMARY_LINES: usize = 20;
const SUMMARY_CHARS: usize = 1000;
/// Characters of a `failed` error (the server's limit).
const ERROR_CHARS: usize = 2000;
/// Attempts at a report when the server cannot be reached.
const REPORT_TRIES: u32 = 3;
/// The heartbeat interval when the claim names none (reference §3.6).
const DEFAULT_HEARTBEAT: u64 = 60;

/// How the command's run ended.
enum End {
    /// It exited by itself.
    Exited(Exit),
    /// The server said to stop (cancelled, not ours, run paused…).
    Stopped { why: String, cancelled: bool },
    /// The worker is stopping now: the job is handed back (its lease lapses).
    HandedBack,
}

/// A job id usable as a file name.
fn safe_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 100 && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// A free name for the job's directory under `root`: the job id, or with
/// the attempt (and a counter) when an earlier one is still there.
fn free_name(root: &Path, job_id: &str, attempt: Option<i64>) -> String {
    let taken = |n: &str| root.join(n).exists() || WorktreeRecord::path(root, n).exists();
    if !taken(job_id) {
        return job_id.to_string();
    }
    let base = format!("{job_id}.a{}", attempt.unwrap_or(0));
    let mut name = base.clone();
    let mut i = 1;
    while taken(&name) {
        i += 1;
        name = format!("{base}.{i}");
    }
    name
}

/// The text after `prefix` with the last lines of output, cut to `chars`.
fn with_tail(prefix: &str, tail: &Tail, chars: usize) -> String {
    let room = chars.saturating_sub(prefix.chars().count() + 1);
    let lines = tail.last(SUMMARY_LINES, room);
    if lines.is_empty() { prefix.to_string() } else { format!("{prefix}\n{lines}") }
}

/// The usage fields of a usage file, if it holds any valid ones.
fn usage(path: &Path) -> Map<String, Value> {
    let mut out = Map::new();
    let Ok(text) = std::fs::read_to_string(path) else { return out };
    let Ok(Value::Object(v)) = serde_json::from_str::<Value>(&text) else {
        tracing::warn!(file = %path.display(), "usage file is not a JSON object; ignored");
        return out;
    };
    if let Some(m) = v.get("model_id").and_then(Value::as_str).map(str::trim).filter(|m| !m.is_empty())
        && m.chars().count() <= 200
    {
        out.insert("model_id".into(), json!(m));
    }
    for k in ["input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens", "actual_thinking_tokens"] {
        if let Some(n) = v.get(k).and_then(Value::as_i64).filter(|n| *n >= 0) {
            out.insert(k.into(), json!(n));
        }
    }
    out
}

/// The text of a tool result (its message on error).
fn text_of(r: &Value) -> String {
    r["content"][0]["text"].as_str().unwrap_or_default().to_string()
}

impl Worker {
    /// Calls `update_job_status` (retrying when the server cannot be
    /// reached); the tool result, or `None` when it never got through.
    async fn report(&self, args: Map<String, Value>) -> Option<Value> {
        for i in 1..=REPORT_TRIES {
            match self.remote.call_tool("update_job_status", Value::Object(args.clone())).await {
                Ok(r) => return Some(r),
                Err(e) => {
                    tracing::warn!(error = %e.message, try_ = i, "report failed");
                    tokio::time::sleep(Duration::from_secs(2)).await;
                }
            }
        }
        None
    }

    /// Reports `failed` with `error`.
    async fn report_failed(&self, base: &Map<String, Value>, error: String) {
        let mut args = base.clone();
        args.insert("status".into(), json!("failed"));
        args.insert("error".into(), json!(error));
        let job = base.get("job_id").cloned().unwrap_or_default();
        match self.report(args).await {
            Some(r) if r["isError"] == json!(true) => {
                tracing::warn!(job = %job, result = %text_of(&r), "failure report refused")
            }
            Some(_) => tracing::info!(job = %job, "job reported failed"),
            None => tracing::warn!(job = %job, "failure report not delivered; the lease will lapse"),
        }
    }

    /// One `job_heartbeat`: why the command must stop, if it must.
    async fn heartbeat(&self, job_id: &str, attempt: Option<i64>) -> Option<(String, bool)> {
        let mut args = Map::new();
        args.insert("job_id".into(), json!(job_id));
        if let Some(a) = attempt {
            args.insert("attempt".into(), json!(a));
        }
        let r = match self.remote.call_tool("job_heartbeat", Value::Object(args)).await {
            Ok(r) => r,
            Err(e) => {
                // The lease outlives a few missed beats; keep working.
                tracing::warn!(job = %job_id, error = %e.message, "job heartbeat failed");
                return None;
            }
        };
        if r["isError"] == json!(true) {
            return Some((text_of(&r), false));
        }
        let d = &r["structuredContent"];
        if d["cancelled"] == json!(true) {
            return Some(("the job was cancelled".into(), true));
        }
        match d["sprint_run_status"].as_str() {
            None | Some("queued" | "running") => None,
            Some(s) => Some((format!("its sprint run is {s}"), false)),
        }
    }
}

/// Runs one claimed job to its report.
pub(super) async fn run(w: &Worker, payload: Value, slot: u16) {
    let job_id = payload["job_id"].as_str().unwrap_or_default().to_string();
    let attempt = payload["attempt"].as_i64();
    let kind = payload["kind"].as_str().unwrap_or_default().to_string();
    let mut base = Map::new();
    base.insert("job_id".into(), json!(job_id));
    if let Some(a) = attempt {
        base.insert("attempt".into(), json!(a));
    }
    if !safe_id(&job_id) {
        tracing::warn!(job = %job_id, "a job id that is no file name; not run");
        return;
    }
    tracing::info!(slot, job = %job_id, kind = %kind, attempt = ?attempt, "claimed");
    let root = &w.worktrees;
    let name = free_name(root, &job_id, attempt);
    let payload_path = root.join(format!("{name}.payload.json"));
    let usage_path = root.join(format!("{name}.usage.json"));
    let _ = std::fs::remove_file(&usage_path);
    if let Err(e) = std::fs::write(&payload_path, serde_json::to_string_pretty(&payload).unwrap_or_default()) {
        w.report_failed(&base, format!("worker: cannot write the payload file {}: {e}", payload_path.display())).await;
        return;
    }
    let place = match repo::prepare(root, &w.repos, &payload, &name).await {
        Ok(p) => p,
        Err(e) => {
            w.report_failed(&base, format!("worker: cannot prepare the worktree: {e}")).await;
            return;
        }
    };
    let record = WorktreeRecord {
        job_id: job_id.clone(),
        user_id: w.user_id.clone(),
        kind: kind.clone(),
        branch: place.branch.clone(),
        base_sha: place.base_sha.clone(),
        repo_cache: place.repo_cache.clone(),
    };
    if let Err(e) = record.write(root, &name) {
        tracing::warn!(job = %job_id, error = %e, "cannot write the worktree record (cleanup will skip it)");
    }

    // `running`, with the branch and base the work starts from.
    let mut running = base.clone();
    running.insert("status".into(), json!("running"));
    if let Some(b) = &place.branch {
        running.insert("branch".into(), json!(b));
    }
    if let Some(s) = &place.base_sha {
        running.insert("base_sha".into(), json!(s));
    }
    match w.report(running).await {
        Some(r) if r["isError"] == json!(true) => {
            tracing::warn!(job = %job_id, result = %text_of(&r), "running refused; not running the command");
            return;
        }
        Some(_) => {}
        None => {
            tracing::warn!(job = %job_id, "server unreachable; not running the command (the lease will lapse)");
            return;
        }
    }

    let dir = place.dir.to_string_lossy().to_string();
    let mut env = vec![
        ("BATON_PAYLOAD_PATH".to_string(), payload_path.to_string_lossy().to_string()),
        ("BATON_JOB_ID".to_string(), job_id.clone()),
        ("BATON_JOB_KIND".to_string(), kind.clone()),
        ("BATON_TOKEN".to_string(), w.token.clone()),
        ("BATON_URL".to_string(), w.url.clone()),
        ("BATON_WORKTREE".to_string(), dir.clone()),
        ("BATON_USAGE_PATH".to_string(), usage_path.to_string_lossy().to_string()),
    ];
    if let Some(a) = attempt {
        env.push(("BATON_JOB_ATTEMPT".to_string(), a.to_string()));
    }
    if let Some(b) = &place.branch {
        env.push(("BATON_BRANCH".to_string(), b.clone()));
    }
    let last8: String = job_id.chars().rev().take(8).collect::<Vec<_>>().into_iter().rev().collect();
    let mut cmd = match Running::spawn(&w.exec, &place.dir, &env, &format!("job {last8}")) {
        Ok(c) => c,
        Err(e) => {
            w.report_failed(&base, format!("worker: cannot start the command: {e}")).await;
            return;
        }
    };
    tracing::info!(job = %job_id, pid = cmd.pid(), dir = %dir, "command started");

    let every = w.heartbeat.unwrap_or_else(|| {
        Duration::from_secs(payload["heartbeat_interval_seconds"].as_u64().unwrap_or(DEFAULT_HEARTBEAT).max(1))
    });
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await;
    let mut stop = w.stop.clone();
    let end = loop {
        tokio::select! {
            status = cmd.wait() => break match status {
                Ok(e) => End::Exited(e),
                Err(e) => {
                    tracing::warn!(job = %job_id, error = %e, "cannot wait for the command");
                    End::Exited(Exit::Code(-1))
                }
            },
            _ = tick.tick() => {
                if let Some((why, cancelled)) = w.heartbeat(&job_id, attempt).await {
                    tracing::info!(job = %job_id, reason = %why, "stopping the command");
                    cmd.stop(w.grace).await;
                    break End::Stopped { why, cancelled };
                }
            }
            _ = until(&mut stop, Stop::Now) => {
                cmd.stop(w.grace).await;
                break End::HandedBack;
            }
        }
    };
    let tail = cmd.finish().await;
    let use_map = usage(&usage_path);
    let mut last = base.clone();
    last.extend(use_map);

    match end {
        End::HandedBack => {
            if w.remote.requeue(&job_id).await {
                tracing::info!(job = %job_id, "command stopped; the job is back in the queue");
            } else {
                tracing::info!(job = %job_id, "command stopped; the job is handed back when its lease lapses");
            }
        }
        End::Stopped { why, cancelled: true } => {
            tracing::info!(job = %job_id, reason = %why, "command stopped; nothing reported");
        }
        End::Stopped { why, cancelled: false } => {
            w.report_failed(&last, with_tail(&format!("stopped: {why}"), &tail, ERROR_CHARS)).await;
        }
        End::Exited(Exit::Code(0)) => done(w, last, &kind, &place, &tail).await,
        End::Exited(Exit::Code(n)) => {
            w.report_failed(&last, with_tail(&format!("exit status {n}"), &tail, ERROR_CHARS)).await;
        }
        End::Exited(Exit::Signal(s)) => {
            w.report_failed(&last, with_tail(&format!("killed by signal {s}"), &tail, ERROR_CHARS)).await;
        }
    }
}

/// Reports a job whose command exited 0 (see the module documentation).
async fn done(w: &Worker, mut args: Map<String, Value>, kind: &str, place: &repo::Place, tail: &Tail) {
    let job_id = args.get("job_id").and_then(Value::as_str).unwrap_or_default().to_string();
    let summary = tail.last(SUMMARY_LINES, SUMMARY_CHARS);
    let summary = if summary.is_empty() { "the command exited 0 without output".to_string() } else { summary };
    args.insert("status".into(), json!("done"));
    args.insert("summary".into(), json!(summary));
    let dir = place.dir.to_string_lossy().to_string();
    let pushes = repo::has_branch(kind) && place.repo_cache.is_some();
    if kind == "task_implementation" && pushes {
        match verify_worktree(&w.remote, &job_id, &dir, place.base_sha.clone()).await {
            Ok(v) if v["isError"] == json!(true) => {
                w.report_failed(&args, with_tail(&format!("verify failed: {}", text_of(&v)), tail, ERROR_CHARS)).await;
                return;
            }
            Ok(v) => {
                tracing::info!(job = %job_id, result = %v["structuredContent"]["verify_result"], "verified")
            }
            Err(e) => {
                w.report_failed(&args, with_tail(&format!("verify failed: {}", e.message), tail, ERROR_CHARS)).await;
                return;
            }
        }
    }
    if !pushes {
        match w.report(args.clone()).await {
            Some(r) if r["isError"] == json!(true) => {
                let why = text_of(&r);
                tracing::warn!(job = %job_id, result = %why, "done refused");
                w.report_failed(&args, with_tail(&format!("done refused: {why}"), tail, ERROR_CHARS)).await;
            }
            Some(_) => tracing::info!(job = %job_id, "job reported done"),
            None => tracing::warn!(job = %job_id, "done report not delivered; the lease will lapse"),
        }
        return;
    }
    if let Some(b) = &place.branch {
        args.insert("branch".into(), json!(b));
    }
    let reporter = ToolReporter { remote: &w.remote };
    match push_then_report(&reporter, ReportArgs(args.clone()), &dir).await {
        Ok(r) if r["isError"] == json!(true) => {
            tracing::warn!(job = %job_id, result = %text_of(&r), "report refused after the push")
        }
        Ok(r) => {
            let d = &r["structuredContent"];
            tracing::info!(job = %job_id, status = %d["status"], branch = %d["branch"], "job reported")
        }
        Err(Refused::Tool(r)) => {
            let why = text_of(&r);
            tracing::warn!(job = %job_id, result = %why, "done refused; nothing pushed");
            w.report_failed(&args, with_tail(&format!("done refused: {why}"), tail, ERROR_CHARS)).await;
        }
        Err(Refused::Rpc(e)) => {
            tracing::warn!(job = %job_id, error = %e.message, "report not delivered; the lease will lapse")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_ids_and_usage() {
        let root = std::env::temp_dir().join(format!("baton-job-{}", std::process::id()));
        std::fs::create_dir_all(root.join("j1")).expect("mkdir");
        assert_eq!(free_name(&root, "j2", Some(0)), "j2");
        assert_eq!(free_name(&root, "j1", Some(1)), "j1.a1");
        assert!(safe_id("0190-abc_D") && !safe_id("../x") && !safe_id(""));
        let f = root.join("u.json");
        std::fs::write(&f, r#"{"model_id":"m","input_tokens":5,"output_tokens":-1,"junk":1}"#).expect("write");
        let u = usage(&f);
        assert_eq!(Value::Object(u), json!({"model_id": "m", "input_tokens": 5}));
        std::fs::write(&f, "[1]").expect("write");
        assert!(usage(&f).is_empty());
        assert!(usage(&root.join("missing")).is_empty());
        let _ = std::fs::remove_dir_all(&root);
    }
}
