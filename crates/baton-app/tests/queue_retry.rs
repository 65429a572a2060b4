//! Retrying a failed or cancelled job through the service (as REST, MCP and
//! the pages call it), on both backends: the new job and what it copies,
//! every refusal with the database unchanged, the permission matrix, and
//! two retries racing for the same job (on Postgres through two pools, like
//! two instances).

mod queue_common;

use std::{sync::Arc, time::Duration};

use baton_app::{
    Actor, App,
    queue::{
        claim::ClaimRequest,
        complete::UpdateJobStatus,
        enqueue::{JobFilter, NewTaskJob},
    },
};
use baton_domain::agents::AgentRuntime;
use baton_store::{
    entities::{job, product},
    events::kinds,
    sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter},
};
use baton_testkit::backend_tests;
use queue_common::*;

const LEASE: Duration = Duration::from_secs(300);

/// Sets a job's stored status (states the REST API reaches only through a worker).
async fn set_status(app: &App, id: &str, status: &str) {
    let mut am: job::ActiveModel = job_row(app, id).await.into();
    am.status = Set(status.into());
    am.update(&app.db).await.expect("status");
}

/// A hand-made task job of `task_id` in `status`.
async fn task_job(app: &App, who: &Actor, pid: &str, task_id: &str, status: &str) -> String {
    let spec =
        JobSpec { kind: "TASK_IMPLEMENTATION", source: "MANUAL", task_id: Some(task_id.into()), ..Default::default() };
    let id = insert_job(app, who, pid, spec).await;
    set_status(app, &id, status).await;
    id
}

async fn job_count(app: &App) -> u64 {
    job::Entity::find().count(&app.db).await.expect("count")
}

backend_tests! {
    async fn a_failed_job_is_retried_as_a_new_queued_job_with_the_same_settings(t) {
        let app = app(&t, LEASE).await;
        let alice = user(&app, "alice").await;
        let pid = product_of(&app, &alice, "P").await;
        let (_pbi, sid) = pbi_story(&app, &alice, &pid, "Login").await;
        let tid = task_in(&app, &alice, &sid, "Form", Some("Edit `src/login.rs`.")).await;
        let asked = NewTaskJob {
            runtime: Some(AgentRuntime::Codex),
            required_capability: Some("gpu".into()),
            requested_model: Some("gpt-5".into()),
            requested_thinking_budget: Some(1000),
            requested_permission_mode: Some("plan".into()),
        };
        let first = app.enqueue_task_job(&alice, &tid, asked).await.expect("enqueue");
        let mut req = ClaimRequest::new("w1");
        req.runtime = AgentRuntime::Codex;
        req.capabilities = vec!["gpu".into()];
        app.claim_job(&alice, req).await.expect("claim").expect("a job");
        let mut failed = UpdateJobStatus::new(&first.id, "failed");
        failed.error = Some("tests fail".into());
        app.update_job_status(&alice, failed).await.expect("failed");
        let mut events = app.bus.subscribe();

        let retry = app.retry_job(&alice, &first.id).await.expect("retry");
        assert_ne!(retry.id, first.id, "a new job");
        assert_eq!((retry.status.as_str(), retry.kind.as_str(), retry.source.as_str()), ("queued", "task_implementation", "manual"));
        assert_eq!(retry.task_id.as_deref(), Some(tid.as_str()));
        assert_eq!((retry.product_id.as_str(), retry.user_id.as_str()), (pid.as_str(), alice.user_id.as_str()));
        assert_eq!((retry.runtime.as_str(), retry.required_capability.as_deref()), ("codex", Some("gpu")));
        assert_eq!((retry.requested_model.as_deref(), retry.requested_thinking_budget), (Some("gpt-5"), Some(1000)));
        assert_eq!(retry.requested_permission_mode.as_deref(), Some("plan"));
        assert_eq!(retry.retry_count, 0);
        assert!(retry.claimed_at.is_none() && retry.error.is_none() && retry.finished_at.is_none());
        // The old job is left as it was.
        let old = job_row(&app, &first.id).await;
        assert_eq!(old.status, "FAILED");
        assert!(old.error.as_deref().is_some_and(|e| e.starts_with("tests fail")), "{:?}", old.error);
        // Waiting workers are woken exactly as by "start agent".
        let ev = loop {
            let ev = events.recv().await.expect("event");
            if ev.kind == kinds::JOB_ENQUEUED { break ev; }
        };
        assert_eq!(ev.data["job_id"], retry.id.as_str());
        assert_eq!(ev.user_id.as_deref(), Some(alice.user_id.as_str()));
        assert_eq!(ev.product_id.as_deref(), Some(pid.as_str()));
        let listed = app.list_jobs(&alice, JobFilter { task_id: Some(tid.clone()), ..Default::default() }).await.expect("list");
        assert_eq!(listed.total, 2, "both jobs stay in the task's history");
        // A worker claims the retry like any started job.
        let mut req = ClaimRequest::new("w2");
        req.runtime = AgentRuntime::Codex;
        req.capabilities = vec!["gpu".into()];
        let c = app.claim_job(&alice, req).await.expect("claim").expect("the retry");
        assert_eq!(c.job_id, retry.id);

        // A cancelled job may be retried too (the old failed one is still retryable once nothing is live).
        app.cancel_job(&alice, &retry.id).await.expect("cancel");
        let again = app.retry_job(&alice, &retry.id).await.expect("retry of a cancelled job");
        assert_eq!((again.status.as_str(), again.runtime.as_str()), ("queued", "codex"));
        let e = app.retry_job(&alice, &first.id).await.expect_err("task busy");
        assert!(refusal(e).starts_with("conflict: task T-1 already has a queued job"), "the enqueue rule applies");
    }

    async fn only_failed_or_cancelled_standalone_task_jobs_are_retried(t) {
        let app = app(&t, LEASE).await;
        let alice = user(&app, "alice").await;
        let pid = product_of(&app, &alice, "P").await;
        let (_pbi, sid) = pbi_story(&app, &alice, &pid, "S").await;
        let tid = task_in(&app, &alice, &sid, "one", None).await;
        for status in ["QUEUED", "CLAIMED", "RUNNING", "DONE", "SKIPPED"] {
            let j = task_job(&app, &alice, &pid, &tid, status).await;
            let before = job_count(&app).await;
            let e = app.retry_job(&alice, &j).await.expect_err(status);
            let lower = status.to_lowercase();
            assert_eq!(refusal(e), format!("conflict: job is {lower}; only failed or cancelled jobs can be retried"));
            assert_eq!(job_count(&app).await, before, "{status}: nothing written");
            set_status(&app, &j, "CANCELLED").await;
        }
        // Jobs Baton queues itself, and jobs of a sprint run.
        let review = insert_job(&app, &alice, &pid, JobSpec::default()).await;
        set_status(&app, &review, "FAILED").await;
        let e = app.retry_job(&alice, &review).await.expect_err("review");
        assert!(refusal(e).starts_with("conflict: pr_review jobs are queued by Baton"));
        let (_sp, run) = sprint_run(&app, &alice, &pid, "FAILED").await;
        let spec = JobSpec {
            kind: "TASK_IMPLEMENTATION",
            task_id: Some(tid.clone()),
            sprint_run_id: Some(run),
            sprint_sequence: Some(0),
            ..Default::default()
        };
        let in_run = insert_job(&app, &alice, &pid, spec).await;
        set_status(&app, &in_run, "FAILED").await;
        let e = app.retry_job(&alice, &in_run).await.expect_err("sprint run");
        assert!(refusal(e).contains("belongs to a sprint run"));
        // Another live job of the task: the enqueue rule, naming its status.
        let failed = task_job(&app, &alice, &pid, &tid, "FAILED").await;
        let live = task_job(&app, &alice, &pid, &tid, "RUNNING").await;
        let before = job_count(&app).await;
        let e = app.retry_job(&alice, &failed).await.expect_err("busy");
        assert_eq!(refusal(e), format!("conflict: task T-1 already has a running job ({live}); cancel it or wait for it to finish"));
        set_status(&app, &live, "DONE").await;
        // An archived product takes no new jobs.
        let mut p: product::ActiveModel = product::Entity::find_by_id(pid.clone()).one(&app.db).await.expect("read").expect("product").into();
        p.archived = Set(true);
        p.update(&app.db).await.expect("archive");
        let e = app.retry_job(&alice, &failed).await.expect_err("archived");
        assert!(refusal(e).contains("is archived"), "archived");
        assert_eq!(job_count(&app).await, before, "no refusal wrote anything");
    }

    async fn retry_follows_the_access_matrix(t) {
        let app = app(&t, LEASE).await;
        let alice = user(&app, "alice").await;
        let writer = user(&app, "writer").await;
        let reader = user(&app, "reader").await;
        let demo = user_with(&app, "demo", true, &[baton_domain::roles::Role::Developer]).await;
        let outsider = user(&app, "eve").await;
        let pid = product_of(&app, &alice, "P").await;
        let other_pid = product_of(&app, &outsider, "Q").await;
        for (who, access) in [(&writer, "READ_WRITE"), (&reader, "READ_ONLY"), (&demo, "READ_WRITE")] {
            member(&app, &pid, who, access).await;
        }
        let (_pbi, sid) = pbi_story(&app, &alice, &pid, "S").await;
        let tid = task_in(&app, &alice, &sid, "one", None).await;
        let j = task_job(&app, &alice, &pid, &tid, "FAILED").await;
        let (_pbi, other_sid) = pbi_story(&app, &outsider, &other_pid, "S").await;
        let other_tid = task_in(&app, &outsider, &other_sid, "theirs", None).await;
        let theirs = task_job(&app, &outsider, &other_pid, &other_tid, "FAILED").await;
        let before = job_count(&app).await;

        assert_eq!(refusal(app.retry_job(&alice, "no-such-job").await.expect_err("unknown")), "not found: job");
        assert_eq!(refusal(app.retry_job(&alice, &theirs).await.expect_err("other product")), "not found: job");
        assert_eq!(refusal(app.retry_job(&outsider, &j).await.expect_err("outsider")), "not found: job");
        let e = app.retry_job(&reader, &j).await.expect_err("read-only");
        assert_eq!(refusal(e), "forbidden: you have read-only access to this product");
        let e = app.retry_job(&demo, &j).await.expect_err("demo");
        assert!(matches!(e, baton_app::AppError::DemoReadOnly), "{e}");
        assert_eq!(job_count(&app).await, before, "refusals write nothing");
        // A read-write member may; the new job goes to their agents.
        let r = app.retry_job(&writer, &j).await.expect("member retry");
        assert_eq!((r.user_id.as_str(), r.status.as_str()), (writer.user_id.as_str(), "queued"));
    }

    async fn two_retries_of_the_same_job_at_once_queue_exactly_one_job(t) {
        let first = app(&t, LEASE).await;
        let second: Arc<App> = if t.backend == baton_store::Backend::Postgres {
            app_on(&t, t.second_pool().await, LEASE).await
        } else {
            first.clone()
        };
        let alice = user(&first, "alice").await;
        let pid = product_of(&first, &alice, "P").await;
        let (_pbi, sid) = pbi_story(&first, &alice, &pid, "S").await;
        let tid = task_in(&first, &alice, &sid, "one", None).await;
        let j = task_job(&first, &alice, &pid, &tid, "CANCELLED").await;
        for round in 0..5 {
            let handles: Vec<_> = [first.clone(), second.clone()]
                .into_iter()
                .map(|a| {
                    let (who, j) = (alice.clone(), j.clone());
                    tokio::spawn(async move { a.retry_job(&who, &j).await })
                })
                .collect();
            let mut ok = Vec::new();
            let mut refused = Vec::new();
            for h in handles {
                match h.await.expect("task") {
                    Ok(v) => ok.push(v.id),
                    Err(e) => refused.push(refusal(e)),
                }
            }
            assert_eq!(ok.len(), 1, "round {round}: exactly one retry wins: {refused:?}");
            assert!(refused[0].starts_with("conflict: task T-1 already has a queued job"), "{refused:?}");
            let live = job::Entity::find()
                .filter(job::Column::TaskId.eq(&tid))
                .filter(job::Column::Status.eq("QUEUED"))
                .count(&first.db)
                .await
                .expect("count");
            assert_eq!(live, 1, "round {round}: one queued job");
            first.cancel_job(&alice, &ok[0]).await.expect("cancel for the next round");
        }
    }
}
