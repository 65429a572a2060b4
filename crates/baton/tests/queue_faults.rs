//! Fault tests of the job queue with real processes (issue 5, "Proof with
//! real clients"): `baton serve` with a 2-second lease, workers that are
//! real `baton mcp` child processes speaking JSON-RPC over stdio, and late
//! reports replayed over `/mcp`. On SQLite (one file shared by every
//! process) and on Postgres.
//!
//! 1. A worker holding a running job is killed with SIGKILL: nothing of it
//!    survives, its job stays its own until the lease runs out, then a
//!    second worker (already waiting) is handed the job as attempt 1 and
//!    completes it (verified against the plan from a git worktree, pushed
//!    to the worktree's origin on done); the task is done and the story
//!    promoted. Every late report of the dead worker
//!    (status, heartbeat, verification; over `/mcp` and from a restarted
//!    `baton mcp`) is refused with PERMISSION_DENIED and changes nothing; its worker row, which a SIGKILL leaves behind,
//!    turns inactive on its own.
//! 2. A job whose claims expire three times ends FAILED with "agent did not
//!    complete job within 2 attempts".

mod common;

use std::{
    collections::HashMap,
    os::unix::process::ExitStatusExt,
    path::Path,
    time::{Duration, Instant},
};

use baton_testkit::backend_tests;
use chrono::{DateTime, Utc};
use common::{git::*, mcp::*, *};
use serde_json::{Value, json};

/// Global flags of every process: a 2 s lease and a 100 ms safety poll, so
/// expiries happen within the test and a waiting worker notices them fast.
const FLAGS: &[&str] = &["--job-lease-seconds", "2", "--job-wait-poll-ms", "100"];
/// The message of a job that ran out of attempts (baton-app `claim::STALE_FAILURE`).
const STALE_FAILURE: &str = "agent did not complete job within 2 attempts";
fn ts(v: &Value, what: &str) -> DateTime<Utc> {
    v.as_str().and_then(|s| s.parse::<DateTime<Utc>>().ok()).unwrap_or_else(|| panic!("{what} is not a timestamp: {v}"))
}

/// A `baton mcp` worker on the shared database with the test's [`FLAGS`].
async fn start_worker(url: &str, dir: &Path, token: &str, instance: &str) -> McpStdio {
    McpStdio::start(Mode::Local(url), dir, token, &[&["--instance-id", instance], FLAGS].concat()).await
}

backend_tests! {
    async fn sigkilled_worker_loses_its_job_to_a_waiting_worker_and_stale_claims_fail_after_three_expiries(t) {
        // A user with one token per worker (a claim belongs to a token) and
        // one for the person using the REST API.
        let baton = Baton::new(&t.url);
        baton.create_user("agent", PASSWORD, &["--role", "developer"]).await;
        let mut tokens = HashMap::new();
        for label in ["rest", "worker-a", "worker-b", "worker-c"] {
            tokens.insert(label, baton.create_token("agent", label).await);
        }
        let listed = baton.run(&["token", "list", "--user", "agent", "--json"]).await.json();
        let token_id = |label: &str| -> String {
            listed
                .as_array()
                .expect("token list is an array")
                .iter()
                .find(|t| t["label"] == label)
                .and_then(|t| t["id"].as_str())
                .unwrap_or_else(|| panic!("token {label} not listed: {listed}"))
                .to_string()
        };
        let dir = baton.scratch.path.clone();
        let server = Server::start_with(&t.url, &dir, FLAGS).await;
        let mut rest = Rest::new(server.port, &tokens["rest"]);

        // The backlog, over REST: a product, a sprint, and per scenario a PBI,
        // a story in the sprint and a task with a plan.
        let product = rest
            .post_expect("/api/products", &json!({"name": "Faults", "code": "FLT", "definition_of_done": "tests pass"}), 201)
            .await;
        let pid = product["id"].as_str().expect("product id").to_string();
        let sprint = rest.post_expect(&format!("/api/products/{pid}/sprints"), &json!({"sprint_goal": "Survive"}), 201).await;
        let mut tasks = Vec::new();
        for title in ["Killed worker", "Abandoned claims"] {
            let pbi = rest.post_expect(&format!("/api/products/{pid}/pbis"), &json!({"title": title}), 201).await;
            let story = rest
                .post_expect(
                    &format!("/api/pbis/{}/stories", pbi["id"].as_str().expect("pbi id")),
                    &json!({"title": title, "sprint_id": sprint["id"]}),
                    201,
                )
                .await;
            assert_eq!(story["status"], "in_sprint", "{story}");
            let task = rest
                .post_expect(
                    &format!("/api/stories/{}/tasks", story["id"].as_str().expect("story id")),
                    &json!({"title": "Ignite", "implementation_plan": PLAN}),
                    201,
                )
                .await;
            tasks.push((story, task));
        }
        let worktree = dir.join("worktree");
        let origin = make_worktree(&worktree, "work");

        // Worker A: a real `baton mcp` process, registered before it serves.
        let mut a = start_worker(&t.url, &dir, &tokens["worker-a"], "worker-a").await;
        let wa = worker(&mut rest, "worker-a").await.expect("worker A is listed once its handshake is done");
        assert_eq!(wa["active"], true, "{wa}");
        assert_eq!(wa["pid"], json!(a.pid), "{wa}");

        // Worker B, another process with its own token, is started now: its
        // start-up can take longer than a lease on a busy machine, and A's
        // lease must not lapse before A renews it below.
        let mut b = start_worker(&t.url, &dir, &tokens["worker-b"], "worker-b").await;

        // A waits; a person starts the agent on the task; A receives the job.
        let (story1, task1) = &tasks[0];
        let waiting = a.send_call("wait_for_job", json!({"wait_seconds": 60})).await;
        let job = rest.post_expect(&format!("/api/tasks/{}/jobs", task1["id"].as_str().expect("task id")), &json!({}), 201).await;
        let job_id = job["id"].as_str().expect("job id").to_string();
        let job_path = format!("/api/jobs/{job_id}");
        let claim_a = a.recv("wait_for_job", waiting, Duration::from_secs(70)).await;
        let claim_a = claim_a.ok("wait_for_job (A)");
        assert_eq!(claim_a["job_id"], job_id.as_str(), "{claim_a}");
        assert_eq!(claim_a["attempt"], 0, "{claim_a}");
        a.call("update_job_status", json!({"job_id": job_id, "status": "running", "attempt": 0})).await.ok("running (A)");

        // Worker B, started earlier, now waits for work too.
        let waiting_b = b.send_call("wait_for_job", json!({"wait_seconds": 60})).await;

        // A renews its lease, then dies mid-job.
        let beat = a.call("job_heartbeat", json!({"job_id": job_id, "attempt": 0})).await;
        let lease_a = ts(&beat.ok("job_heartbeat (A)")["lease_until"], "A's lease");
        let children = descendants(a.pid);
        let killed_at = Instant::now();
        let status = a.kill().await;
        assert_eq!(status.signal(), Some(9), "A must die of SIGKILL: {status:?}");
        assert!(!process_exists(a.pid), "A's process {} still exists after SIGKILL", a.pid);
        for c in &children {
            assert!(!process_exists(*c), "A's child {c} outlived it");
        }
        assert!(descendants(a.pid).is_empty(), "nothing may remain under A's pid");
        let wa = worker(&mut rest, "worker-a").await.expect("a SIGKILL leaves the worker row behind");

        // B is handed the job only after A's lease ran out, as attempt 1.
        let claim_b = b.recv("wait_for_job", waiting_b, Duration::from_secs(30)).await;
        let claim_b = claim_b.ok("wait_for_job (B)").clone();
        let requeued_after = killed_at.elapsed();
        assert_eq!(claim_b["job_id"], job_id.as_str(), "{claim_b}");
        assert_eq!(claim_b["attempt"], 1, "{claim_b}");
        let held = &claim_b["job"];
        assert_eq!(held["retry_count"], 1, "{held}");
        assert_eq!(held["claimed_by_token_id"], token_id("worker-b").as_str(), "{held}");
        assert_eq!(held["worker_instance_id"], "worker-b", "{held}");
        let claimed_b = ts(&held["claimed_at"], "B's claim");
        assert!(claimed_b >= lease_a, "B claimed at {claimed_b}, before A's lease ended at {lease_a}");

        // A's late reports (its token, its attempt) are refused and change nothing.
        let mut late = McpHttp::new(server.port, &tokens["worker-a"]);
        let before = rest.get_ok(&job_path).await;
        assert_eq!(before["status"], "claimed", "{before}");
        late.call("update_job_status", json!({"job_id": job_id, "status": "done", "attempt": 0}))
            .await
            .denied("A's late done");
        late.call("update_job_status", json!({"job_id": job_id, "status": "failed", "attempt": 0, "error": "lost my process"}))
            .await
            .denied("A's late failed");
        late.call("job_heartbeat", json!({"job_id": job_id, "attempt": 0})).await.denied("A's late heartbeat");
        late.call("verify_task_against_plan", json!({"task_id": job_id, "diff": ""})).await.denied("A's late verify");
        // The same from a restarted `baton mcp` with A's token (another
        // instance id, so A's own worker row stays as the kill left it).
        let mut restarted = start_worker(&t.url, &dir, &tokens["worker-a"], "worker-a-restarted").await;
        restarted
            .call("update_job_status", json!({"job_id": job_id, "status": "done", "attempt": 0}))
            .await
            .denied("A's report from a restarted process");
        restarted.call("job_heartbeat", json!({"job_id": job_id, "attempt": 0})).await.denied("A's heartbeat from a restarted process");
        let exit = restarted.close(Duration::from_secs(20)).await;
        assert!(exit.success(), "{exit:?}; log:\n{}", restarted.log_text());
        assert_eq!(rest.get_ok(&job_path).await, before, "refused reports must not change the job");

        // B does the work: verification from its worktree, then done.
        b.call("job_heartbeat", json!({"job_id": job_id, "attempt": 1})).await.ok("job_heartbeat (B)");
        b.call("update_job_status", json!({"job_id": job_id, "status": "running", "attempt": 1})).await.ok("running (B)");
        let v = b
            .call("verify_task_against_plan", json!({"task_id": task1["code"], "worktree_path": worktree.to_str().expect("utf-8 path")}))
            .await;
        let v = v.ok("verify (B)");
        assert_eq!(v["verify_result"], "aligned", "{v}");
        assert_eq!(v["diffed_against"], "origin/trunk", "{v}");
        // Done with the worktree: `baton mcp` pushes HEAD to origin first.
        let head = git(&worktree, &["rev-parse", "HEAD"]);
        let done = b
            .call(
                "update_job_status",
                json!({"job_id": job_id, "status": "done", "attempt": 1, "summary": "ignition",
                       "branch": "feat/ignite", "worktree_path": worktree.to_str().expect("utf-8 path")}),
            )
            .await;
        let done = done.ok("done (B)");
        assert_eq!(done["status"], "done", "{done}");
        assert_eq!(done["task_status"], "done", "{done}");
        assert_eq!(done["branch"], "feat/ignite", "{done}");
        assert_eq!(done["head_sha"], head.as_str(), "{done}");
        assert!(done["pushed_at"].is_string(), "{done}");
        assert_eq!(git(&origin, &["rev-parse", "refs/heads/feat/ignite"]), head, "the work reached origin");
        let completed_after = killed_at.elapsed();
        let story = rest.get_ok(&format!("/api/stories/{}", story1["id"].as_str().expect("story id"))).await;
        assert_eq!(story["status"], "done", "the story is promoted: {story}");
        let finished = rest.get_ok(&job_path).await;
        assert_eq!(finished["status"], "done", "{finished}");
        assert_eq!(finished["retry_count"], 1, "{finished}");
        assert_eq!(finished["verify_result"], "aligned", "{finished}");
        assert_eq!(finished["claimed_by_token_id"], token_id("worker-b").as_str(), "{finished}");

        // Still refused once the job is done, with any attempt number.
        for attempt in [0, 1] {
            late.call("update_job_status", json!({"job_id": job_id, "status": "done", "attempt": attempt}))
                .await
                .denied("A's report after B finished");
        }
        assert_eq!(rest.get_ok(&job_path).await, finished, "refused reports must not change the finished job");

        // B leaves cleanly and signs off; A, killed, could not.
        let exit = b.close(Duration::from_secs(20)).await;
        assert!(exit.success(), "B exits 0 on EOF: {exit:?}; log:\n{}", b.log_text());
        assert!(worker(&mut rest, "worker-b").await.is_none(), "B signed off");
        let stale = worker(&mut rest, "worker-a").await.expect("A's worker row is still there");
        assert_eq!(stale["last_seen_at"], wa["last_seen_at"], "nothing refreshes a killed worker's presence");
        eprintln!(
            "[{:?}] SIGKILL → job re-claimed by the waiting worker: {requeued_after:?} (lease 2 s); \
             SIGKILL → job done by it: {completed_after:?}",
            t.backend
        );

        // Scenario 2: claims that expire three times. C claims and abandons
        // the job three times (new instance each time, as restarted workers).
        let (_, task2) = &tasks[1];
        let job2 = rest.post_expect(&format!("/api/tasks/{}/jobs", task2["id"].as_str().expect("task id")), &json!({}), 201).await;
        let job2_id = job2["id"].as_str().expect("job id").to_string();
        let mut c = McpHttp::new(server.port, &tokens["worker-c"]);
        let mut previous_lease: Option<DateTime<Utc>> = None;
        let abandon_started = Instant::now();
        for attempt in 0..3 {
            let r = c.call("wait_for_job", json!({"wait_seconds": 30, "instance_id": format!("abandoner-{attempt}")})).await;
            let r = r.ok("wait_for_job (C)");
            assert_eq!(r["job_id"], job2_id.as_str(), "{r}");
            assert_eq!(r["attempt"], attempt, "{r}");
            let claimed = ts(&r["job"]["claimed_at"], "C's claim");
            if let Some(l) = previous_lease {
                assert!(claimed >= l, "attempt {attempt} claimed at {claimed}, before the previous lease ended at {l}");
            }
            previous_lease = Some(ts(&r["lease_until"], "C's lease"));
        }
        // Nobody reports. The next claim attempt after the third expiry fails
        // the job; it is never handed out again.
        let deadline = Instant::now() + Duration::from_secs(30);
        let failed = loop {
            let r = c.call("wait_for_job", json!({"wait_seconds": 1, "instance_id": "abandoner-3"})).await;
            assert_eq!(r.ok("wait_for_job after the last attempt")["status"], "timeout", "{r:?}");
            let j = rest.get_ok(&format!("/api/jobs/{job2_id}")).await;
            if j["status"] == "failed" {
                break j;
            }
            assert!(Instant::now() < deadline, "the job did not fail after its third expiry: {j}; log:\n{}", server.log_text());
        };
        assert_eq!(failed["error"], STALE_FAILURE, "{failed}");
        assert_eq!(failed["retry_count"], 2, "{failed}");
        assert!(failed["finished_at"].is_string(), "{failed}");
        assert!(failed["lease_until"].is_null(), "{failed}");
        eprintln!("[{:?}] three expiries → FAILED in {:?}", t.backend, abandon_started.elapsed());
        // The last abandoner's report comes too late: the job is over.
        let r = c.call("update_job_status", json!({"job_id": job2_id, "status": "done", "attempt": 2})).await;
        assert!(r.is_error && r.text == "Job is already in terminal state: failed", "{r:?}");
        assert_eq!(rest.get_ok(&format!("/api/jobs/{job2_id}")).await, failed, "a refused report changes nothing");

        // Nothing keeps A's worker alive: it turns inactive by itself.
        let deadline = killed_at + Duration::from_secs(60);
        loop {
            let w = worker(&mut rest, "worker-a").await.expect("A's worker row stays until cleaned up");
            if w["active"] == false {
                break;
            }
            assert!(Instant::now() < deadline, "A's worker is still active 60 s after SIGKILL: {w}");
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        eprintln!("[{:?}] SIGKILL → worker shown inactive: {:?}", t.backend, killed_at.elapsed());
        assert_no_panic(&server.log_text());
        assert_no_panic(&b.log_text());
    }
}
