//! The job queue through its services (as REST and MCP call them), on both
//! backends: the happy path from "start agent" to a promoted story, the
//! claim rules of reference §3.4, leases and take-overs, the verify gate,
//! the PBI fail-cascade and the `wait_for_job` long poll.

mod queue_common;

use std::time::{Duration, Instant};

use baton_app::{
    queue::{
        claim::{ClaimRequest, STALE_FAILURE, WaitOutcome},
        complete::{CASCADE_ERROR, UpdateJobStatus},
        enqueue::{JobFilter, NewTaskJob},
    },
    workers::{Quota, WorkerInfo},
};
use baton_domain::{
    agents::{AgentRuntime, WorkerTier},
    backlog::VerifyResult,
};
use baton_store::{
    entities::{story, task},
    events::kinds,
    sea_orm::{ConnectionTrait, EntityTrait, Statement},
};
use baton_testkit::backend_tests;
use queue_common::*;

const LEASE: Duration = Duration::from_secs(300);

fn diff_of(paths: &[&str]) -> String {
    paths.iter().map(|p| format!("diff --git a/{p} b/{p}\n--- a/{p}\n+++ b/{p}\n@@ -1 +1 @@\n+x\n")).collect()
}

backend_tests! {
    async fn a_started_task_is_claimed_worked_and_done_and_its_story_follows(t) {
        let app = app(&t, LEASE).await;
        let alice = user(&app, "alice").await;
        let pid = product_of(&app, &alice, "P").await;
        let (_pbi, sid) = pbi_story(&app, &alice, &pid, "Login").await;
        let tid = task_in(&app, &alice, &sid, "Form", Some("Edit `src/login.rs` and `src/main.rs`.")).await;
        let mut events = app.bus.subscribe();

        let job = app.enqueue_task_job(&alice, "T-1", NewTaskJob::default()).await.expect("enqueue");
        assert_eq!((job.status.as_str(), job.kind.as_str(), job.source.as_str()), ("queued", "task_implementation", "manual"));
        let ev = loop {
            let ev = events.recv().await.expect("event");
            if ev.kind == kinds::JOB_ENQUEUED { break ev; }
        };
        assert_eq!(ev.user_id.as_deref(), Some(alice.user_id.as_str()));
        // A second start while the first is queued is refused, naming its status.
        let again = app.enqueue_task_job(&alice, &tid, NewTaskJob::default()).await.expect_err("busy");
        assert!(refusal(again).contains("already has a queued job"), "409 names the status");

        let claimed = app.claim_job(&alice, ClaimRequest::new("w1")).await.expect("claim").expect("a job");
        assert_eq!(claimed.job_id, job.id);
        assert_eq!(claimed.attempt, 0);
        assert_eq!(claimed.task.as_ref().expect("succeeds")["id"], tid.as_str());
        assert_eq!(claimed.story.as_ref().expect("succeeds")["id"], sid.as_str());
        assert!(claimed.pbi.is_some() && claimed.sprint.is_none());
        assert_eq!(claimed.product["id"], pid.as_str());
        assert_eq!(claimed.branch_suggestion, format!("feat/job-{}", &job.id[job.id.len() - 8..]));
        assert_eq!((claimed.config.model.as_str(), claimed.config.thinking_budget), ("sonnet", 6000));
        assert_eq!(claimed.job.plan_snapshot.as_deref(), Some("Edit `src/login.rs` and `src/main.rs`."));
        let lease = claimed.lease_until;
        assert!(lease > baton_store::now() + chrono::Duration::seconds(250));
        let again = app.enqueue_task_job(&alice, &tid, NewTaskJob::default()).await.expect_err("busy");
        assert!(refusal(again).contains("already has a claimed job"));
        assert!(app.claim_job(&alice, ClaimRequest::new("w2")).await.expect("claim").is_none(), "claimed once");

        let hb = app.job_heartbeat(&alice, &job.id, Some(0)).await.expect("heartbeat");
        assert!(hb.ok && !hb.cancelled && hb.lease_until.expect("succeeds") >= lease);
        let r = app.update_job_status(&alice, UpdateJobStatus::new(&job.id, "running")).await.expect("running");
        assert_eq!((r.status.as_str(), r.next_action.as_str()), ("running", "idle"));
        assert!(r.started_at.is_some());

        let v = app.record_verify_result(&alice, "T-1", &diff_of(&["src/login.rs", "src/main.rs"])).await.expect("verify");
        assert_eq!(v.verify_result, VerifyResult::Aligned);
        let mut done = UpdateJobStatus::new(&job.id, "done");
        done.attempt = Some(0);
        done.head_sha = Some("abc123".into());
        done.summary = Some("Login form".into());
        done.model_id = Some("claude-sonnet-4-5".into());
        done.input_tokens = Some(1200);
        done.output_tokens = Some(300);
        let r = app.update_job_status(&alice, done).await.expect("done");
        assert_eq!(r.status, "done");
        assert_eq!(r.next_action, "queue_empty");
        assert_eq!(r.verify_result.as_deref(), Some("aligned"));
        assert_eq!(r.head_sha.as_deref(), Some("abc123"));
        assert_eq!(r.branch, Some(claimed.branch_suggestion.clone()), "branch defaults to the suggestion");
        assert!(r.finished_at.is_some());
        let row = job_row(&app, &job.id).await;
        assert_eq!((row.input_tokens, row.output_tokens, row.lease_until), (Some(1200), Some(300), None));
        let tk = task::Entity::find_by_id(tid.clone()).one(&app.db).await.expect("succeeds").expect("succeeds");
        assert_eq!(tk.status, "DONE");
        let st = story::Entity::find_by_id(sid.clone()).one(&app.db).await.expect("succeeds").expect("succeeds");
        assert_eq!(st.status, "DONE", "the story is promoted by propagation");
        // A finished job takes no further reports.
        let late = app.update_job_status(&alice, UpdateJobStatus::new(&job.id, "failed")).await.expect_err("terminal");
        assert_eq!(refusal(late), "conflict: Job is already in terminal state: done");
        let listed = app.list_jobs(&alice, JobFilter { task_id: Some("T-1".into()), ..Default::default() }).await.expect("succeeds");
        assert_eq!((listed.total, listed.items[0].status.as_str()), (1, "done"));
        let by_status = app.list_jobs(&alice, JobFilter { status: Some("queued".into()), ..Default::default() }).await.expect("succeeds");
        assert_eq!(by_status.total, 0);
        let bad = app.list_jobs(&alice, JobFilter { status: Some("nope".into()), ..Default::default() }).await.expect_err("bad");
        assert!(refusal(bad).starts_with("validation: status"));
    }

    async fn jobs_without_a_task_are_claimable_and_runtime_and_capabilities_filter(t) {
        let app = app(&t, LEASE).await;
        let alice = user(&app, "alice").await;
        let bob = user(&app, "bob").await;
        let pid = product_of(&app, &alice, "P").await;
        let codex = insert_job(&app, &alice, &pid, JobSpec { runtime: "CODEX", ..Default::default() }).await;
        let gpu = insert_job(&app, &alice, &pid, JobSpec { required_capability: Some("gpu".into()), ..Default::default() }).await;
        let deploy = insert_job(&app, &alice, &pid, JobSpec { kind: "DEPLOY", ..Default::default() }).await;
        let plain = insert_job(&app, &alice, &pid, JobSpec::default()).await;

        // Another user's worker sees none of alice's jobs.
        assert!(app.claim_job(&bob, ClaimRequest::new("b")).await.expect("succeeds").is_none());
        // A dedicated deploy worker takes only the deploy job.
        let mut dedicated = ClaimRequest::new("d");
        dedicated.capabilities = vec!["deploy".into()];
        assert_eq!(app.claim_job(&alice, dedicated.clone()).await.expect("succeeds").expect("succeeds").job_id, deploy);
        assert!(app.claim_job(&alice, dedicated).await.expect("succeeds").is_none());
        // A plain Claude worker skips the gpu job (oldest) and takes the plain one.
        let got = app.claim_job(&alice, ClaimRequest::new("c1")).await.expect("succeeds").expect("succeeds");
        assert_eq!(got.job_id, plain);
        assert!(got.task.is_none() && got.story.is_none(), "a job without a task is claimable (LEFT JOIN)");
        assert!(app.claim_job(&alice, ClaimRequest::new("c2")).await.expect("succeeds").is_none());
        let mut with_gpu = ClaimRequest::new("g");
        with_gpu.capabilities = vec!["gpu".into()];
        assert_eq!(app.claim_job(&alice, with_gpu).await.expect("succeeds").expect("succeeds").job_id, gpu);
        let mut cx = ClaimRequest::new("x");
        cx.runtime = AgentRuntime::Codex;
        assert_eq!(app.claim_job(&alice, cx).await.expect("succeeds").expect("succeeds").job_id, codex);
        // Validation and tokens.
        let e = app.claim_job(&alice, ClaimRequest::new(" ")).await.expect_err("instance");
        assert!(refusal(e).starts_with("validation: instance_id"));
        let mut session = alice.clone();
        session.via = baton_app::AuthVia::Session { session_id: "s".into() };
        let e = app.claim_job(&session, ClaimRequest::new("w")).await.expect_err("token");
        assert!(refusal(e).contains("PERMISSION_DENIED"));
    }

    async fn sprint_jobs_wait_for_their_run_and_earlier_siblings(t) {
        let app = app(&t, LEASE).await;
        let alice = user(&app, "alice").await;
        let pid = product_of(&app, &alice, "P").await;
        let (_s, run) = sprint_run(&app, &alice, &pid, "QUEUED").await;
        let (_s2, paused) = sprint_run(&app, &alice, &pid, "PAUSED").await;
        let (_p, sid) = pbi_story(&app, &alice, &pid, "S").await;
        let t1 = task_in(&app, &alice, &sid, "one", None).await;
        let t2 = task_in(&app, &alice, &sid, "two", None).await;
        let t3 = task_in(&app, &alice, &sid, "three", None).await;
        let spec = |task: &str, run: &str, seq| JobSpec {
            kind: "TASK_IMPLEMENTATION",
            task_id: Some(task.to_string()),
            sprint_run_id: Some(run.to_string()),
            sprint_sequence: Some(seq),
            ..Default::default()
        };
        let _in_paused = insert_job(&app, &alice, &pid, spec(&t3, &paused, 1)).await;
        let j1 = insert_job(&app, &alice, &pid, spec(&t1, &run, 1)).await;
        let j2 = insert_job(&app, &alice, &pid, spec(&t2, &run, 2)).await;
        // A plain system task job without a run is not claimable either.
        insert_job(&app, &alice, &pid, JobSpec { kind: "TASK_IMPLEMENTATION", task_id: Some(t3.clone()), ..Default::default() }).await;

        let got = app.claim_job(&alice, ClaimRequest::new("w")).await.expect("succeeds").expect("succeeds");
        assert_eq!(got.job_id, j1, "the paused run's job is skipped");
        let run_row = baton_store::entities::sprint_run::Entity::find_by_id(run.clone()).one(&app.db).await.expect("succeeds").expect("succeeds");
        assert_eq!(run_row.status, "RUNNING", "claiming starts a queued run");
        assert!(run_row.started_at.is_some());
        assert!(app.claim_job(&alice, ClaimRequest::new("w2")).await.expect("succeeds").is_none(), "barrier holds job 2");
        let v = app.record_verify_result(&alice, &j1, "").await.expect("succeeds");
        assert_eq!(v.verify_result, VerifyResult::Empty);
        let mut skip = UpdateJobStatus::new(&j1, "skipped");
        skip.error = Some("no_op_changes_already_in_main".into());
        app.update_job_status(&alice, skip).await.expect("skip");
        assert_eq!(app.claim_job(&alice, ClaimRequest::new("w2")).await.expect("succeeds").expect("succeeds").job_id, j2);
    }

    async fn lower_tiers_defer_only_to_live_idle_able_higher_tier_peers(t) {
        let app = app(&t, LEASE).await;
        let alice = user(&app, "alice").await;
        let peer = token(&app, &alice.user_id).await;
        let pid = product_of(&app, &alice, "P").await;
        let other_pid = product_of(&app, &alice, "Q").await;
        let job = insert_job(&app, &alice, &pid, JobSpec::default()).await;
        let mut low = ClaimRequest::new("low");
        low.tier = WorkerTier::LowP;

        // A live, idle HIGH_P peer that could take the job: the low worker defers.
        let mut high = WorkerInfo::new("high");
        high.tier = WorkerTier::HighP;
        app.register_worker(&peer, high.clone()).await.expect("succeeds");
        assert!(app.claim_job(&alice, low.clone()).await.expect("succeeds").is_none());
        // ... but a medium peer does not make a high worker defer, and ranks are explicit.
        let mut med = WorkerInfo::new("med");
        med.tier = WorkerTier::MediumP;
        // A peer below its quota is on stand-by and does not count.
        app.worker_heartbeat(&peer, high.clone(), Quota { last_quota_pct: Some(5), ..Default::default() }).await.expect("succeeds");
        let got = app.claim_job(&alice, low.clone()).await.expect("succeeds").expect("peer on stand-by");
        assert_eq!(got.job_id, job);

        // A peer that lacks the required capability does not count (the deploy deadlock).
        app.worker_heartbeat(&peer, high.clone(), Quota { last_quota_pct: Some(90), ..Default::default() }).await.expect("succeeds");
        let deploy = insert_job(&app, &alice, &pid, JobSpec { kind: "DEPLOY", required_capability: Some("deploy".into()), ..Default::default() }).await;
        let mut low_deploy = low.clone();
        low_deploy.instance_id = "low-deploy".into();
        low_deploy.capabilities = vec!["deploy".into()];
        assert_eq!(app.claim_job(&alice, low_deploy).await.expect("succeeds").expect("succeeds").job_id, deploy);
        // A peer limited to another product does not count.
        let mut scoped = high.clone();
        scoped.product_id = Some(other_pid.clone());
        app.register_worker(&peer, scoped).await.expect("succeeds");
        let j3 = insert_job(&app, &alice, &pid, JobSpec::default()).await;
        let mut low3 = low.clone();
        low3.instance_id = "low3".into();
        assert_eq!(app.claim_job(&alice, low3).await.expect("succeeds").expect("succeeds").job_id, j3);
        // A busy peer does not count: the high worker claims, then the low one gets the next job.
        app.register_worker(&peer, high.clone()).await.expect("succeeds");
        let j4 = insert_job(&app, &alice, &pid, JobSpec::default()).await;
        let j5 = insert_job(&app, &alice, &pid, JobSpec::default()).await;
        let mut low4 = low.clone();
        low4.instance_id = "low4".into();
        assert!(app.claim_job(&alice, low4.clone()).await.expect("succeeds").is_none(), "idle high peer first");
        let mut as_high = ClaimRequest::new("high");
        as_high.tier = WorkerTier::HighP;
        assert_eq!(app.claim_job(&peer, as_high).await.expect("succeeds").expect("succeeds").job_id, j4);
        assert_eq!(app.claim_job(&alice, low4).await.expect("succeeds").expect("succeeds").job_id, j5);
        let _ = med;
    }

    async fn a_worker_under_its_quota_claims_nothing(t) {
        let app = app(&t, LEASE).await;
        let alice = user(&app, "alice").await;
        let pid = product_of(&app, &alice, "P").await;
        let job = insert_job(&app, &alice, &pid, JobSpec::default()).await;
        let info = WorkerInfo::new("w");
        app.worker_heartbeat(&alice, info.clone(), Quota { last_quota_pct: Some(19), ..Default::default() }).await.expect("succeeds");
        assert!(app.claim_job(&alice, ClaimRequest::new("w")).await.expect("succeeds").is_none(), "19 < 20");
        app.worker_heartbeat(&alice, info, Quota { last_quota_pct: Some(20), ..Default::default() }).await.expect("succeeds");
        assert_eq!(app.claim_job(&alice, ClaimRequest::new("w")).await.expect("succeeds").expect("succeeds").job_id, job);
        let e = app.worker_heartbeat(&alice, WorkerInfo::new("w"), Quota { last_quota_pct: Some(101), ..Default::default() }).await.expect_err("range");
        assert!(refusal(e).starts_with("validation: last_quota_pct"));
    }

    async fn expired_leases_requeue_twice_then_fail_and_old_workers_are_refused(t) {
        let app = app(&t, Duration::ZERO).await;
        let alice = user(&app, "alice").await;
        let second = token(&app, &alice.user_id).await;
        let pid = product_of(&app, &alice, "P").await;
        let job = insert_job(&app, &alice, &pid, JobSpec::default()).await;
        let mut events = app.bus.subscribe();

        let first = app.claim_job(&alice, ClaimRequest::new("a")).await.expect("succeeds").expect("succeeds");
        assert_eq!(first.attempt, 0);
        // The lease (zero) has expired: the next claim resets it and hands the job out again.
        let again = app.claim_job(&second, ClaimRequest::new("b")).await.expect("succeeds").expect("succeeds");
        assert_eq!((again.job_id.as_str(), again.attempt), (job.as_str(), 1));
        let requeued = loop {
            let ev = events.recv().await.expect("succeeds");
            if ev.kind == kinds::JOB_STATUS && ev.data["status"] == "queued" { break ev; }
        };
        assert_eq!(requeued.data["retry_count"], 1);
        // The first worker lost the claim: heartbeat and report are refused.
        let e = app.job_heartbeat(&alice, &job, Some(0)).await.expect_err("taken over");
        assert!(refusal(e).contains("PERMISSION_DENIED"));
        let e = app.update_job_status(&alice, UpdateJobStatus::new(&job, "done")).await.expect_err("taken over");
        assert_eq!(refusal(e), "forbidden: PERMISSION_DENIED: This job was not claimed by your token");
        // Same token, older attempt: refused too (token AND attempt).
        let third = app.claim_job(&second, ClaimRequest::new("b")).await.expect("succeeds").expect("succeeds");
        assert_eq!(third.attempt, 2);
        let mut stale = UpdateJobStatus::new(&job, "running");
        stale.attempt = Some(1);
        let e = app.update_job_status(&second, stale).await.expect_err("old attempt");
        assert!(refusal(e).contains("PERMISSION_DENIED"));
        let e = app.job_heartbeat(&second, &job, Some(1)).await.expect_err("old attempt");
        assert!(refusal(e).contains("PERMISSION_DENIED"));
        // Third expiry: failed with the reference message.
        let ids = app.reset_stale_jobs(&alice.user_id).await.expect("succeeds");
        assert_eq!(ids, vec![job.clone()]);
        let row = job_row(&app, &job).await;
        assert_eq!((row.status.as_str(), row.error.as_deref()), ("FAILED", Some(STALE_FAILURE)));
        assert_eq!(row.retry_count, 2);
        assert!(row.finished_at.is_some());
        assert!(app.claim_job(&second, ClaimRequest::new("b")).await.expect("succeeds").is_none());
        let e = app.update_job_status(&second, UpdateJobStatus::new(&job, "done")).await.expect_err("failed");
        assert_eq!(refusal(e), "conflict: Job is already in terminal state: failed");
    }

    async fn the_verify_gate_and_skip_rules_hold(t) {
        let app = app(&t, LEASE).await;
        let alice = user(&app, "alice").await;
        let pid = product_of(&app, &alice, "P").await;
        let (_p, sid) = pbi_story(&app, &alice, &pid, "S").await;
        let plan = "Change `src/a.rs` and `src/b.rs`.";
        let t1 = task_in(&app, &alice, &sid, "one", Some(plan)).await;
        let j = app.enqueue_task_job(&alice, &t1, NewTaskJob::default()).await.expect("succeeds").id;
        app.claim_job(&alice, ClaimRequest::new("w")).await.expect("succeeds").expect("succeeds");
        // The plan changes after the claim; the snapshot is what counts.
        app.update_task_plan(&alice, &t1, Some("Change `src/zzz.rs`.".into())).await.expect("succeeds");

        let e = app.update_job_status(&alice, UpdateJobStatus::new(&j, "done")).await.expect_err("no verify");
        assert!(refusal(e).contains("run verify_task_against_plan first"));
        let v = app.record_verify_result(&alice, &j, "").await.expect("succeeds");
        assert_eq!(v.verify_result, VerifyResult::Empty);
        let e = app.update_job_status(&alice, UpdateJobStatus::new(&j, "done")).await.expect_err("empty");
        assert!(refusal(e).starts_with("conflict: VERIFY_GATE"));
        let v = app.record_verify_result(&alice, &j, &diff_of(&["src/a.rs"])).await.expect("succeeds");
        assert_eq!(v.verify_result, VerifyResult::Partial, "{}", v.reasoning);
        assert!(!v.gate_passes_without_summary);
        let mut short = UpdateJobStatus::new(&j, "done");
        short.summary = Some("partial".into());
        assert!(refusal(app.update_job_status(&alice, short).await.expect_err("short")).contains("20 characters"));
        // Skips: a reason of 10+ characters is required.
        let mut skip = UpdateJobStatus::new(&j, "skipped");
        skip.error = Some("nothing".into());
        assert!(refusal(app.update_job_status(&alice, skip).await.expect_err("short")).starts_with("validation: error"));
        let bad = UpdateJobStatus::new(&j, "queued");
        assert!(refusal(app.update_job_status(&alice, bad).await.expect_err("status")).starts_with("validation: status"));
        let mut explained = UpdateJobStatus::new(&j, "done");
        explained.summary = Some("b.rs needed no change after all".into());
        let r = app.update_job_status(&alice, explained).await.expect("done with explanation");
        assert_eq!((r.status.as_str(), r.verify_result.as_deref()), ("done", Some("partial")));

        // Skipped is only for task jobs.
        let review = insert_job(&app, &alice, &pid, JobSpec::default()).await;
        app.claim_job(&alice, ClaimRequest::new("w")).await.expect("succeeds").expect("succeeds");
        let mut skip = UpdateJobStatus::new(&review, "skipped");
        skip.error = Some("nothing to review here".into());
        assert!(refusal(app.update_job_status(&alice, skip).await.expect_err("kind")).starts_with("validation: status"));
        let r = app.update_job_status(&alice, UpdateJobStatus::new(&review, "done")).await.expect("non-task kinds have no gate");
        assert_eq!(r.status, "done");
    }

    async fn a_failed_task_job_cancels_its_pbis_unfinished_jobs_and_traces_it(t) {
        let app = app(&t, LEASE).await;
        let alice = user(&app, "alice").await;
        let other = token(&app, &alice.user_id).await;
        let pid = product_of(&app, &alice, "P").await;
        let (pbi, s1) = pbi_story(&app, &alice, &pid, "A").await;
        let s2 = story_in(&app, &alice, &pbi, "B").await;
        let (_p2, s3) = pbi_story(&app, &alice, &pid, "Elsewhere").await;
        let t1 = task_in(&app, &alice, &s1, "one", None).await;
        let t2 = task_in(&app, &alice, &s1, "two", None).await;
        let t3 = task_in(&app, &alice, &s2, "three", None).await;
        let t4 = task_in(&app, &alice, &s3, "four", None).await;
        let j1 = app.enqueue_task_job(&alice, &t1, NewTaskJob::default()).await.expect("succeeds").id;
        let j2 = app.enqueue_task_job(&alice, &t2, NewTaskJob::default()).await.expect("succeeds").id;
        let j3 = app.enqueue_task_job(&alice, &t3, NewTaskJob::default()).await.expect("succeeds").id;
        let j4 = app.enqueue_task_job(&alice, &t4, NewTaskJob::default()).await.expect("succeeds").id;
        assert_eq!(app.claim_job(&alice, ClaimRequest::new("a")).await.expect("succeeds").expect("succeeds").job_id, j1);
        assert_eq!(app.claim_job(&other, ClaimRequest::new("b")).await.expect("succeeds").expect("succeeds").job_id, j2);

        let mut fail = UpdateJobStatus::new(&j1, "failed");
        fail.error = Some("tests fail".into());
        let r = app.update_job_status(&alice, fail).await.expect("failed");
        assert_eq!(r.status, "failed");
        let mut cancelled = r.cancelled_jobs.clone();
        cancelled.sort();
        let mut expected = vec![j2.clone(), j3.clone()];
        expected.sort();
        assert_eq!(cancelled, expected, "siblings under the same PBI, any story; not the other PBI's");
        assert_eq!(r.error.as_deref(), Some("tests fail\n---\ncancelled_by_self; siblings_cancelled=2"));
        assert_eq!(r.task_status, Some(baton_domain::backlog::TaskStatus::Failed));
        for j in [&j2, &j3] {
            let row = job_row(&app, j).await;
            assert_eq!((row.status.as_str(), row.error.as_deref()), ("CANCELLED", Some(CASCADE_ERROR)));
        }
        assert_eq!(job_row(&app, &j4).await.status, "QUEUED");
        // The cancelled sibling's worker learns it on heartbeat and report.
        let hb = app.job_heartbeat(&other, &j2, None).await.expect("heartbeat answers");
        assert!(hb.cancelled && !hb.ok);
        let e = app.update_job_status(&other, UpdateJobStatus::new(&j2, "done")).await.expect_err("cancelled");
        assert!(refusal(e).starts_with("conflict: JOB_CANCELLED"));
        let story = story::Entity::find_by_id(s1.clone()).one(&app.db).await.expect("succeeds").expect("succeeds");
        assert_eq!(story.status, "FAILED");
        // Long errors are cut so the trace fits in 1900 characters.
        let long = baton_app::queue::complete::with_trace(Some(&"x".repeat(2000)), "cancelled_by_self; siblings_cancelled=0");
        assert!(long.chars().count() <= 1900 && long.ends_with("siblings_cancelled=0"));
    }

    async fn people_cancel_unfinished_jobs_and_workers_find_out(t) {
        let app = app(&t, LEASE).await;
        let alice = user(&app, "alice").await;
        let pid = product_of(&app, &alice, "P").await;
        let (_p, sid) = pbi_story(&app, &alice, &pid, "S").await;
        let t1 = task_in(&app, &alice, &sid, "one", None).await;
        let j = app.enqueue_task_job(&alice, &t1, NewTaskJob::default()).await.expect("succeeds").id;
        app.claim_job(&alice, ClaimRequest::new("w")).await.expect("succeeds").expect("succeeds");
        let v = app.cancel_job(&alice, &j).await.expect("cancel");
        assert_eq!(v.status, "cancelled");
        let e = app.cancel_job(&alice, &j).await.expect_err("again");
        assert_eq!(refusal(e), "conflict: job is already cancelled; only unfinished jobs can be cancelled");
        let e = app.record_verify_result(&alice, &j, "").await.expect_err("cancelled");
        assert!(refusal(e).starts_with("conflict: JOB_CANCELLED"));
        // A new job may be started once the old one is cancelled.
        app.enqueue_task_job(&alice, &t1, NewTaskJob::default()).await.expect("restart");
        let e = app.get_job(&user(&app, "eve").await, &j).await.expect_err("outsider");
        assert_eq!(refusal(e), "not found: job");
    }

    async fn wait_for_job_wakes_on_an_enqueue_and_times_out_quietly(t) {
        let app = app(&t, LEASE).await;
        let alice = user(&app, "alice").await;
        let pid = product_of(&app, &alice, "P").await;
        let (_p, sid) = pbi_story(&app, &alice, &pid, "S").await;
        let t1 = task_in(&app, &alice, &sid, "one", None).await;

        let out = app.wait_for_job(&alice, ClaimRequest::new("w"), Duration::from_millis(150)).await.expect("succeeds");
        let WaitOutcome::Timeout(to) = out else { panic!("expected a timeout") };
        assert_eq!(to.status, "timeout");
        let e = app.wait_for_job(&alice, ClaimRequest::new("w"), Duration::from_secs(601)).await.expect_err("max");
        assert!(refusal(e).starts_with("validation: wait_seconds"));

        // A second instance on the same database (Postgres: its own pool and listener).
        let other = if t.backend == baton_store::Backend::Postgres {
            app_on(&t, t.second_pool().await, LEASE).await
        } else {
            app.clone()
        };
        for waiter_app in [app.clone(), other.clone()] {
            let waiter = {
                let (a, who) = (waiter_app.clone(), alice.clone());
                tokio::spawn(async move {
                    let start = Instant::now();
                    let out = a.wait_for_job(&who, ClaimRequest::new("w"), Duration::from_secs(30)).await.expect("succeeds");
                    (out, start.elapsed())
                })
            };
            // Let the waiter subscribe and find the queue empty.
            tokio::time::sleep(Duration::from_millis(200)).await;
            let job = app.enqueue_task_job(&alice, &t1, NewTaskJob::default()).await.expect("succeeds");
            let (out, took) = waiter.await.expect("succeeds");
            let WaitOutcome::Claimed(c) = out else { panic!("expected a job") };
            assert_eq!(c.job_id, job.id);
            assert!(took < Duration::from_secs(4), "woken by the event, not the 5 s poll: {took:?}");
            app.cancel_job(&alice, &job.id).await.expect("succeeds");
        }
    }

    async fn workers_register_heal_go_offline_and_are_listed(t) {
        let app = app(&t, LEASE).await;
        let alice = user(&app, "alice").await;
        let bob = user(&app, "bob").await;
        let mut info = WorkerInfo::new("mcp-host-1");
        info.capabilities = vec!["deploy".into()];
        info.tier = WorkerTier::HighP;
        info.hostname = Some("host".into());
        info.pid = Some(42);
        let w = app.register_worker(&alice, info.clone()).await.expect("succeeds");
        assert!(w.active);
        assert_eq!((w.tier.as_str(), w.capabilities.clone()), ("high_p", vec!["deploy".to_string()]));
        app.register_worker(&bob, WorkerInfo::new("b")).await.expect("succeeds");
        assert_eq!(app.list_workers(&alice).await.expect("succeeds").len(), 1, "own workers only");
        // The row disappears (e.g. cleaned up); the next heartbeat re-registers it.
        app.db.execute_raw(Statement::from_string(app.db.get_database_backend(), "DELETE FROM workers")).await.expect("succeeds");
        let healed = app.worker_heartbeat(&alice, info.clone(), Quota { last_quota_pct: Some(55), ..Default::default() }).await.expect("succeeds");
        assert_eq!((healed.instance_id.as_str(), healed.last_quota_pct), ("mcp-host-1", Some(55)));
        assert!(healed.last_quota_check_at.is_some());
        // A heartbeat without a reading keeps the last one.
        let again = app.worker_heartbeat(&alice, info.clone(), Quota::default()).await.expect("succeeds");
        assert_eq!(again.last_quota_pct, Some(55));
        assert!(app.worker_offline(&alice, "mcp-host-1").await.expect("succeeds"));
        assert!(!app.worker_offline(&alice, "mcp-host-1").await.expect("succeeds"));
        assert!(app.list_workers(&alice).await.expect("succeeds").is_empty());
        let admin = baton_app::Actor::cli();
        app.register_worker(&bob, WorkerInfo::new("b2")).await.expect("succeeds");
        assert_eq!(app.list_workers(&admin).await.expect("succeeds").len(), 1);
    }
}

backend_tests! {
    async fn failed_idea_jobs_mark_the_idea_and_stale_sprint_jobs_fail_their_run(t) {
        use baton_store::{
            entities::{idea, idea_log, sprint_run},
            new_id, now,
            sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, QueryFilter},
        };
        let app = app(&t, Duration::ZERO).await;
        let alice = user(&app, "alice").await;
        let pid = product_of(&app, &alice, "P").await;
        let tm = now();
        let idea_id = idea::ActiveModel {
            id: Set(new_id()),
            user_id: Set(alice.user_id.clone()),
            product_id: Set(Some(pid.clone())),
            code: Set("IDEA-001".into()),
            title: Set("Dark mode".into()),
            status: Set("GRILLING".into()),
            archived: Set(false),
            created_at: Set(tm),
            updated_at: Set(tm),
            ..Default::default()
        }
        .insert(&app.db)
        .await
        .expect("idea")
        .id;
        let j = insert_job(&app, &alice, &pid, JobSpec { kind: "IDEA_GRILL", ..Default::default() }).await;
        baton_store::entities::job::Entity::update_many()
            .col_expr(
                baton_store::entities::job::Column::IdeaId,
                baton_store::sea_orm::sea_query::Expr::value(Some(idea_id.clone())),
            )
            .filter(baton_store::entities::job::Column::Id.eq(&j))
            .exec(&app.db)
            .await
            .expect("link idea");
        let c = app.claim_job(&alice, ClaimRequest::new("w")).await.expect("claim").expect("idea job");
        assert_eq!(c.branch_suggestion, "feat/idea-idea-001-grill");
        assert_eq!(c.idea.as_ref().expect("idea payload")["code"], "IDEA-001");
        assert_eq!(c.config.thinking_budget, 12000);
        let mut fail = UpdateJobStatus::new(&j, "failed");
        fail.error = Some("could not reach the user".into());
        app.update_job_status(&alice, fail).await.expect("failed");
        let i = idea::Entity::find_by_id(idea_id.clone()).one(&app.db).await.expect("read").expect("idea");
        assert_eq!(i.status, "GRILL_FAILED");
        let log = idea_log::Entity::find().filter(idea_log::Column::IdeaId.eq(&idea_id)).one(&app.db).await.expect("read").expect("log");
        assert_eq!((log.r#type.as_str(), log.content.as_str()), ("JOB_EVENT", "IDEA_GRILL failed"));

        // A sprint job whose lease expires three times fails its run.
        let (_s, run) = sprint_run(&app, &alice, &pid, "RUNNING").await;
        let sj = insert_job(&app, &alice, &pid, JobSpec { kind: "SPRINT_IMPLEMENTATION", sprint_run_id: Some(run.clone()), sprint_sequence: Some(1), ..Default::default() }).await;
        for attempt in 0..3 {
            let c = app.claim_job(&alice, ClaimRequest::new("w")).await.expect("claim").expect("sprint job");
            assert_eq!((c.job_id.as_str(), c.attempt), (sj.as_str(), attempt));
        }
        assert!(app.claim_job(&alice, ClaimRequest::new("w")).await.expect("claim").is_none());
        assert_eq!(job_row(&app, &sj).await.status, "FAILED");
        let r = sprint_run::Entity::find_by_id(run).one(&app.db).await.expect("read").expect("run");
        assert_eq!((r.status.as_str(), r.failure_reason.as_deref()), ("FAILED", Some("stale: lease expired")));
    }
}
