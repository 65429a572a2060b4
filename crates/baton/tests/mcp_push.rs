//! Pushing where the worktree is (reference §3.5 "What done does"), with
//! real processes and real git: a worktree whose `origin` is a bare
//! repository in a temp directory. Each scenario runs with `baton mcp` on
//! the database (local mode) and with `baton mcp --url` forwarding to
//! `baton serve`; on SQLite and Postgres.
//!
//! - `update_job_status done` with `worktree_path`: the report is checked,
//!   HEAD is pushed (reported branch, else the worktree's branch), and the
//!   job records branch, head SHA and `pushed_at`; pushing the same HEAD
//!   again is "Everything up-to-date": done without `pushed_at`.
//! - A report the server would refuse (no verification yet) pushes nothing.
//! - A push that fails (origin gone) reports the job `failed` with
//!   `push failed (<reason>): <stderr>`; the worktree is kept.
//! - Over HTTP nothing is pushed: the agent's branch and head SHA are
//!   recorded without any repository, and `worktree_path` is refused.

mod common;

use std::{
    path::{Path, PathBuf},
    time::Duration,
};

use baton_testkit::backend_tests;
use common::{git::*, mcp::*};
use serde_json::{Value, json};

fn path(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// Claims the next job with `p` and starts it; returns `(job id, attempt)`.
async fn claim(p: &mut McpStdio, job_id: &str) -> i64 {
    let c = p.call("wait_for_job", json!({"wait_seconds": 30})).await;
    let c = c.ok("wait_for_job");
    assert_eq!(c["job_id"], job_id, "{c}");
    let attempt = c["attempt"].as_i64().expect("attempt");
    p.call("update_job_status", json!({"job_id": job_id, "status": "running", "attempt": attempt})).await.ok("running");
    attempt
}

/// For product `code`: a backlog (see [`backlog`]; returns the story id),
/// a worktree on branch `agent-work` with its bare origin, and a
/// `baton mcp` in `mode` registered as worker `code`.
async fn product_worker(
    rest: &mut Rest,
    dir: &Path,
    token: &str,
    code: &str,
    mode: Mode<'_>,
) -> (String, PathBuf, PathBuf, McpStdio) {
    let story = backlog(rest, code).await;
    let worktree = dir.join(format!("wt-{code}"));
    let origin = make_worktree(&worktree, "agent-work");
    let p = McpStdio::start(mode, dir, token, &["--instance-id", code]).await;
    (story, worktree, origin, p)
}

backend_tests! {
    async fn done_with_a_worktree_pushes_the_branch_then_reports_it(t) {
        let (baton, server, tokens) = agent_server(&t.url, &["rest", "worker"]).await;
        let (dir, token) = (baton.scratch.path.clone(), &tokens[1]);
        let mut rest = Rest::new(server.port, &tokens[0]);

        for (code, mode) in [("PUSHL", Mode::Local(&t.url)), ("PUSHF", Mode::Forward(&server.base))] {
            let (story, worktree, origin, mut p) = product_worker(&mut rest, &dir, token, code, mode).await;
            let head = git(&worktree, &["rev-parse", "HEAD"]);

            // A reported branch is pushed in local mode; without one the worktree's branch is.
            let (_, job_id) = task_with_job(&mut rest, &story, "Ignite").await;
            let attempt = claim(&mut p, &job_id).await;
            let v = p.call("verify_task_against_plan", json!({"task_id": job_id, "worktree_path": path(&worktree)})).await;
            let v = v.ok("verify");
            assert_eq!((v["verify_result"].as_str(), v["diffed_against"].as_str()), (Some("aligned"), Some("origin/trunk")), "{code}: {v}");
            let branch = if code == "PUSHL" { "feat/reported" } else { "agent-work" };
            let mut report = json!({"job_id": job_id, "status": "done", "attempt": attempt, "worktree_path": path(&worktree)});
            if code == "PUSHL" {
                report["branch"] = json!(branch);
            }
            let done = p.call("update_job_status", report).await;
            let done = done.ok("done");
            assert_eq!((done["status"].as_str(), done["branch"].as_str(), done["head_sha"].as_str()),
                (Some("done"), Some(branch), Some(head.as_str())), "{code}: {done}");
            assert!(done["pushed_at"].is_string(), "{code}: {done}");
            assert_eq!(git(&origin, &["rev-parse", &format!("refs/heads/{branch}")]), head, "{code}: the branch reached origin");
            let job = rest.get_ok(&format!("/api/jobs/{job_id}")).await;
            assert_eq!((job["status"].as_str(), job["branch"].as_str(), job["head_sha"].as_str()),
                (Some("done"), Some(branch), Some(head.as_str())), "{code}: {job}");
            assert!(job["pushed_at"].is_string(), "{code}: {job}");
            assert_eq!(job["worker_instance_id"], code, "{code}: claimed as this process's worker: {job}");

            // The same HEAD again: "Everything up-to-date", done without pushed_at.
            let (_, job2) = task_with_job(&mut rest, &story, "Ignite again").await;
            let attempt = claim(&mut p, &job2).await;
            p.call("verify_task_against_plan", json!({"task_id": job2, "worktree_path": path(&worktree)})).await.ok("verify 2");
            let again = p
                .call("update_job_status", json!({"job_id": job2, "status": "done", "attempt": attempt,
                    "branch": branch, "pushed": true, "worktree_path": path(&worktree)}))
                .await;
            let again = again.ok("done again");
            assert_eq!((again["status"].as_str(), again["branch"].as_str()), (Some("done"), Some(branch)), "{code}: {again}");
            assert!(again["pushed_at"].is_null(), "nothing was pushed, whatever the agent says: {again}");
            let job = rest.get_ok(&format!("/api/jobs/{job2}")).await;
            assert!(job["pushed_at"].is_null() && job["head_sha"] == head.as_str(), "{code}: {job}");

            let status = p.close(Duration::from_secs(20)).await;
            assert_eq!(status.code(), Some(0), "{code}: {}", p.log_text());
        }
    }

    async fn a_refused_report_pushes_nothing_and_a_failed_push_fails_the_job(t) {
        let (baton, server, tokens) = agent_server(&t.url, &["rest", "worker"]).await;
        let (dir, token) = (baton.scratch.path.clone(), &tokens[1]);
        let mut rest = Rest::new(server.port, &tokens[0]);

        for (code, mode) in [("FAILL", Mode::Local(&t.url)), ("FAILF", Mode::Forward(&server.base))] {
            let (story, worktree, origin, mut p) = product_worker(&mut rest, &dir, token, code, mode).await;
            let (task, job_id) = task_with_job(&mut rest, &story, "Ignite").await;
            let attempt = claim(&mut p, &job_id).await;

            // Not verified yet: the gate refuses, nothing is pushed, nothing changes.
            let before = rest.get_ok(&format!("/api/jobs/{job_id}")).await;
            let refused = p
                .call("update_job_status", json!({"job_id": job_id, "status": "done", "attempt": attempt, "worktree_path": path(&worktree)}))
                .await;
            assert!(refused.is_error && refused.text.contains("VERIFY_GATE"), "{code}: {refused:?}");
            assert!(!has_ref(&origin, "refs/heads/agent-work"), "{code}: a refused report must not push");
            assert_eq!(rest.get_ok(&format!("/api/jobs/{job_id}")).await, before, "{code}: the job is unchanged");
            // A worktree that does not exist is a validation error naming the field.
            let missing = p
                .call("update_job_status", json!({"job_id": job_id, "status": "done", "attempt": attempt, "worktree_path": "relative/wt"}))
                .await;
            assert!(missing.is_error && missing.text.starts_with("VALIDATION_ERROR: worktree_path"), "{code}: {missing:?}");
            assert_eq!(rest.get_ok(&format!("/api/jobs/{job_id}")).await, before, "{code}: the job is unchanged");

            // Verified, but origin has gone: the job fails with the push error.
            p.call("verify_task_against_plan", json!({"task_id": task["id"], "worktree_path": path(&worktree)})).await.ok("verify");
            git(&worktree, &["remote", "set-url", "origin", path(&dir.join(format!("gone-{code}.git")))]);
            let failed = p
                .call("update_job_status", json!({"job_id": job_id, "status": "done", "attempt": attempt, "worktree_path": path(&worktree)}))
                .await;
            let failed = failed.ok("done with a failing push");
            assert_eq!(failed["status"], "failed", "{code}: {failed}");
            let error = failed["error"].as_str().unwrap_or_default();
            assert!(error.starts_with("push failed (remote unreachable): "), "{code}: {error}");
            let job = rest.get_ok(&format!("/api/jobs/{job_id}")).await;
            assert_eq!(job["status"], "failed", "{code}: {job}");
            assert!(job["error"].as_str().is_some_and(|e| e.contains("push failed (")), "{code}: {job}");
            assert!(job["pushed_at"].is_null(), "{code}: {job}");
            assert!(worktree.join("src/engine.rs").exists(), "{code}: the worktree is kept");
            let task = rest.get_ok(&format!("/api/tasks/{}", task["id"].as_str().expect("task id"))).await;
            assert_eq!(task["status"], "failed", "{code}: {task}");
            p.close(Duration::from_secs(20)).await;
        }
    }

    async fn over_http_nothing_is_pushed_and_the_reported_branch_is_recorded(t) {
        let (_baton, server, tokens) = agent_server(&t.url, &["http-worker"]).await;
        let token = &tokens[0];
        let mut rest = Rest::new(server.port, token);
        let story = backlog(&mut rest, "HTTP").await;
        let mut mcp = McpHttp::new(server.port, token);
        let list = mcp.rpc("tools/list", json!({})).await;
        let tools: Vec<Value> = list["result"]["tools"].as_array().expect("tools").clone();
        let schema = |name: &str| tools.iter().find(|t| t["name"] == name).map(properties).unwrap_or_default();
        assert!(!schema("update_job_status").contains(&"worktree_path".to_string()));
        assert!(schema("verify_task_against_plan").contains(&"diff".to_string()));

        let (_, job_id) = task_with_job(&mut rest, &story, "Ignite").await;
        let c = mcp.call("wait_for_job", json!({"wait_seconds": 30})).await;
        let attempt = c.ok("wait_for_job")["attempt"].clone();
        let diff = "diff --git a/src/engine.rs b/src/engine.rs\n--- a/src/engine.rs\n+++ b/src/engine.rs\n@@ -1 +1,2 @@\n fn main() {}\n+fn ignite() {}\n";
        mcp.call("verify_task_against_plan", json!({"task_id": job_id, "diff": diff})).await.ok("verify");
        let before = rest.get_ok(&format!("/api/jobs/{job_id}")).await;
        let wt = mcp
            .call("update_job_status", json!({"job_id": job_id, "status": "done", "attempt": attempt, "worktree_path": "/tmp"}))
            .await;
        assert!(wt.is_error && wt.text.contains("worktree_path"), "{wt:?}");
        assert_eq!(rest.get_ok(&format!("/api/jobs/{job_id}")).await, before);
        let done = mcp
            .call("update_job_status", json!({"job_id": job_id, "status": "done", "attempt": attempt,
                "branch": "feat/http", "head_sha": "0123456789abcdef", "pushed": true}))
            .await;
        let done = done.ok("done over HTTP");
        assert_eq!((done["status"].as_str(), done["branch"].as_str(), done["head_sha"].as_str()),
            (Some("done"), Some("feat/http"), Some("0123456789abcdef")), "{done}");
        assert!(done["pushed_at"].is_string(), "{done}");
    }
}
