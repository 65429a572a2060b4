//! The job queue over REST: "start agent" on a task with the permission
//! matrix, the job list and filters, one job, cancelling, retrying, and the
//! workers list — with a worker claiming and finishing through the same
//! services.

use axum::http::{Method, StatusCode};
use baton_app::{
    queue::{claim::ClaimRequest, complete::UpdateJobStatus},
    workers::WorkerInfo,
};
use baton_testkit::backend_tests;
use serde_json::json;

use crate::{
    harness::{As, TestApp},
    items::ix::*,
};

fn id_of(v: &serde_json::Value) -> String {
    v["id"].as_str().expect("id").to_string()
}

backend_tests! {
    async fn starting_an_agent_follows_the_permission_matrix_and_refuses_a_second_job(t) {
        let app = TestApp::new(t).await;
        let m = app.matrix().await;
        let owner = bearer(&m.owner);
        let p = pbi(&app, &owner, &m.product_id, "P").await;
        let s = story(&app, &owner, &id_of(&p), json!({"title": "S"})).await;
        let tk = task(&app, &owner, &id_of(&s), "T").await;
        let path = format!("/api/tasks/{}/jobs", id_of(&tk));
        for (name, token, may_read, may_write) in m.callers() {
            let before = app.count("jobs").await;
            let res = app.json(Method::POST, &path, &bearer(&token), &json!({})).await;
            if may_write {
                assert_eq!(res.status, StatusCode::CREATED, "{name}: {}", res.text);
                let job = res.json();
                assert_eq!((job["status"].as_str(), job["kind"].as_str(), job["source"].as_str()),
                    (Some("queued"), Some("task_implementation"), Some("manual")), "{name}");
                // A second start while it is queued: 409 naming the status.
                let again = app.json(Method::POST, &path, &bearer(&token), &json!({})).await;
                assert_eq!(again.status, StatusCode::CONFLICT, "{name}");
                assert!(again.text.contains("already has a queued job"), "{}", again.text);
                // Cancel so the next caller can start one.
                let c = app.json(Method::POST, &format!("/api/jobs/{}/cancel", id_of(&job)), &owner, &json!({})).await;
                assert_eq!(c.status, StatusCode::OK, "{}", c.text);
                assert_eq!(c.json()["status"], "cancelled");
            } else {
                let expected = crate::harness::Matrix::refused_status(may_read);
                assert_eq!(res.status, expected, "{name}: {}", res.text);
                assert_eq!(app.count("jobs").await, before, "{name}: a refused start writes nothing");
            }
        }
        // No body at all is fine too; options are validated.
        let res = app.raw(Method::POST, &path, &owner, "application/json", String::new()).await;
        assert_eq!(res.status, StatusCode::CREATED, "{}", res.text);
        let job = res.json();
        let res = app.json(Method::POST, &path, &owner, &json!({"requested_thinking_budget": -1, "bogus": 1})).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", res.text);
        app.json(Method::POST, &format!("/api/jobs/{}/cancel", id_of(&job)), &owner, &json!({})).await;
        let res = app.json(Method::POST, &path, &owner, &json!({"requested_thinking_budget": -1})).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(res.json()["error"]["details"][0]["path"], "requested_thinking_budget");
        let res = app.json(Method::POST, "/api/tasks/T-999/jobs", &owner, &json!({})).await;
        assert_eq!(res.status, StatusCode::NOT_FOUND);
    }

    async fn jobs_are_listed_filtered_read_and_cancelled_by_those_who_may(t) {
        let app = TestApp::new(t).await;
        let m = app.matrix().await;
        let owner = bearer(&m.owner);
        let p = pbi(&app, &owner, &m.product_id, "P").await;
        let s = story(&app, &owner, &id_of(&p), json!({"title": "S"})).await;
        let t1 = task(&app, &owner, &id_of(&s), "one").await;
        let t2 = task(&app, &owner, &id_of(&s), "two").await;
        let j1 = created(&app, &format!("/api/tasks/{}/jobs", id_of(&t1)), &owner, json!({"runtime": "codex"})).await;
        let j2 = created(&app, &format!("/api/tasks/{}/jobs", id_of(&t2)), &owner, json!({})).await;
        assert_eq!(j1["runtime"], "codex");

        let all = get(&app, &owner, "/api/jobs").await;
        assert_eq!(all["total"], 2);
        assert_eq!(all["items"][0]["id"], j2["id"], "newest first");
        let page = get(&app, &owner, "/api/jobs?limit=1&page=2").await;
        assert_eq!((page["items"][0]["id"].clone(), page["total"].clone()), (j1["id"].clone(), json!(2)));
        let by_task = get(&app, &owner, &format!("/api/jobs?task_id={}", t1["code"].as_str().expect("succeeds"))).await;
        assert_eq!(by_task["total"], 1);
        let by_product = get(&app, &bearer(&m.reader), &format!("/api/jobs?product_id={}&status=queued&kind=task_implementation", m.product_id)).await;
        assert_eq!(by_product["total"], 2, "readers see the product's jobs");
        let none = get(&app, &bearer(&m.outsider), "/api/jobs").await;
        assert_eq!(none["total"], 0, "outsiders see nothing");
        let res = app.get(&format!("/api/jobs?product_id={}", m.product_id), &bearer(&m.outsider)).await;
        assert_eq!(res.status, StatusCode::NOT_FOUND);
        let res = app.get("/api/jobs?status=bogus", &owner).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
        let res = app.get(&format!("/api/jobs/{}", id_of(&j1)), &bearer(&m.scoped_out)).await;
        assert_eq!(res.status, StatusCode::NOT_FOUND);
        let one = get(&app, &bearer(&m.scoped_in), &format!("/api/jobs/{}", id_of(&j1))).await;
        assert_eq!(one["task_id"], t1["id"]);
        assert_eq!(app.get("/api/jobs/nope", &owner).await.status, StatusCode::NOT_FOUND);

        // Cancel: readers and demo 403, outsiders 404, then the owner; again → 409.
        let cancel = format!("/api/jobs/{}/cancel", id_of(&j1));
        for (who, status) in [(&m.reader, StatusCode::FORBIDDEN), (&m.demo, StatusCode::FORBIDDEN),
                              (&m.outsider, StatusCode::NOT_FOUND), (&m.scoped_out, StatusCode::NOT_FOUND)] {
            let res = app.json(Method::POST, &cancel, &bearer(who), &json!({})).await;
            assert_eq!(res.status, status, "{}", res.text);
        }
        let res = app.json(Method::POST, &cancel, &bearer(&m.writer), &json!({})).await;
        assert_eq!(res.status, StatusCode::OK);
        let res = app.json(Method::POST, &cancel, &owner, &json!({})).await;
        assert_eq!(res.status, StatusCode::CONFLICT);
        assert!(res.text.contains("already cancelled"), "{}", res.text);
        assert!(matches!(owner, As::Bearer(_)));
    }

    async fn a_worker_claims_over_the_services_and_rest_shows_the_outcome(t) {
        let app = TestApp::new(t).await;
        let m = app.matrix().await;
        let owner = bearer(&m.owner);
        let p = pbi(&app, &owner, &m.product_id, "P").await;
        let s = story(&app, &owner, &id_of(&p), json!({"title": "S"})).await;
        let tk = task(&app, &owner, &id_of(&s), "T").await;
        let job = created(&app, &format!("/api/tasks/{}/jobs", id_of(&tk)), &owner, json!({})).await;

        let worker = app.app().token_actor(&m.owner).await.expect("actor");
        app.app().register_worker(&worker, WorkerInfo::new("mcp-test-1")).await.expect("register");
        let workers = get(&app, &owner, "/api/workers").await;
        assert_eq!(workers.as_array().expect("succeeds").len(), 1);
        assert_eq!((workers[0]["instance_id"].as_str(), workers[0]["active"].as_bool()), (Some("mcp-test-1"), Some(true)));
        assert_eq!(get(&app, &bearer(&m.writer), "/api/workers").await.as_array().expect("succeeds").len(), 0, "only your own");

        let claimed = app.app().claim_job(&worker, ClaimRequest::new("mcp-test-1")).await.expect("succeeds").expect("job");
        assert_eq!(claimed.job_id, id_of(&job));
        let shown = get(&app, &owner, &format!("/api/jobs/{}", id_of(&job))).await;
        assert_eq!(shown["status"], "claimed");
        assert_eq!(shown["worker_instance_id"], "mcp-test-1");
        app.app().record_verify_result(&worker, &claimed.job_id, "diff --git a/x b/x\n+++ b/x\n+1\n").await.expect("succeeds");
        let mut done = UpdateJobStatus::new(&claimed.job_id, "done");
        done.branch = Some("feat/x".into());
        done.head_sha = Some("0123abcd".into());
        done.pushed = Some(true);
        app.app().update_job_status(&worker, done).await.expect("done without a local repository");
        let shown = get(&app, &owner, &format!("/api/jobs/{}", id_of(&job))).await;
        assert_eq!((shown["status"].as_str(), shown["branch"].as_str(), shown["head_sha"].as_str()),
            (Some("done"), Some("feat/x"), Some("0123abcd")));
        assert!(shown["pushed_at"].is_string());
        let tk = get(&app, &owner, &format!("/api/tasks/{}", id_of(&tk))).await;
        assert_eq!(tk["status"], "done");
        let st = get(&app, &owner, &format!("/api/stories/{}", id_of(&s))).await;
        assert_eq!(st["status"], "done");
        let res = app.json(Method::POST, &format!("/api/jobs/{}/cancel", id_of(&job)), &owner, &json!({})).await;
        assert_eq!(res.status, StatusCode::CONFLICT);
        assert!(res.text.contains("already done"));
    }

    async fn a_failed_or_cancelled_job_is_retried_by_those_who_may(t) {
        let app = TestApp::new(t).await;
        let m = app.matrix().await;
        let owner = bearer(&m.owner);
        let p = pbi(&app, &owner, &m.product_id, "P").await;
        let s = story(&app, &owner, &id_of(&p), json!({"title": "S"})).await;
        let tk = task(&app, &owner, &id_of(&s), "T").await;
        let job = created(&app, &format!("/api/tasks/{}/jobs", id_of(&tk)), &owner, json!({"runtime": "codex"})).await;
        let retry = format!("/api/jobs/{}/retry", id_of(&job));

        // Queued: 409 naming the status, nothing written.
        let before = app.count("jobs").await;
        let res = app.json(Method::POST, &retry, &owner, &json!({})).await;
        assert_eq!(res.status, StatusCode::CONFLICT, "{}", res.text);
        assert_eq!(res.error_code(), "conflict");
        assert!(res.text.contains("job is queued; only failed or cancelled jobs can be retried"), "{}", res.text);
        // A worker claims it and reports it failed.
        let worker = app.app().token_actor(&m.owner).await.expect("actor");
        let mut req = ClaimRequest::new("w");
        req.runtime = baton_domain::agents::AgentRuntime::Codex;
        app.app().claim_job(&worker, req).await.expect("claim").expect("job");
        let res = app.json(Method::POST, &retry, &owner, &json!({})).await;
        assert!(res.status == StatusCode::CONFLICT && res.text.contains("job is claimed"), "{}", res.text);
        let mut failed = UpdateJobStatus::new(id_of(&job), "failed");
        failed.error = Some("boom".into());
        app.app().update_job_status(&worker, failed).await.expect("failed");
        assert_eq!(app.count("jobs").await, before);

        // Readers and demo 403, outsiders and foreign scopes 404, nothing written.
        for (who, status) in [(&m.reader, StatusCode::FORBIDDEN), (&m.demo, StatusCode::FORBIDDEN),
                              (&m.outsider, StatusCode::NOT_FOUND), (&m.scoped_out, StatusCode::NOT_FOUND)] {
            let res = app.json(Method::POST, &retry, &bearer(who), &json!({})).await;
            assert_eq!(res.status, status, "{}", res.text);
        }
        assert_eq!(app.count("jobs").await, before, "refusals write nothing");
        assert_eq!(app.json(Method::POST, "/api/jobs/nope/retry", &owner, &json!({})).await.status, StatusCode::NOT_FOUND);

        // The writer retries: 201 with the new queued job, same task and runtime.
        let res = app.json(Method::POST, &retry, &bearer(&m.writer), &json!({})).await;
        assert_eq!(res.status, StatusCode::CREATED, "{}", res.text);
        let new = res.json();
        assert_ne!(new["id"], job["id"]);
        assert_eq!((new["status"].as_str(), new["task_id"].as_str(), new["runtime"].as_str()),
            (Some("queued"), tk["id"].as_str(), Some("codex")));
        let old = get(&app, &owner, &format!("/api/jobs/{}", id_of(&job))).await;
        assert_eq!(old["status"], "failed", "the old job is left as it was");
        // Twice in a row: the first retry's job is live, so 409.
        let res = app.json(Method::POST, &retry, &owner, &json!({})).await;
        assert_eq!(res.status, StatusCode::CONFLICT);
        assert!(res.text.contains("already has a queued job"), "{}", res.text);
        // Cancelled jobs are retried too (no body at all is fine).
        let c = app.json(Method::POST, &format!("/api/jobs/{}/cancel", id_of(&new)), &owner, &json!({})).await;
        assert_eq!(c.status, StatusCode::OK);
        let res = app.raw(Method::POST, &format!("/api/jobs/{}/retry", id_of(&new)), &bearer(&m.scoped_in), "application/json", String::new()).await;
        assert_eq!(res.status, StatusCode::CREATED, "{}", res.text);
        assert_eq!(get(&app, &owner, &format!("/api/jobs?task_id={}", id_of(&tk))).await["total"], 3);
    }

    async fn a_stuck_job_is_requeued_by_its_owner_or_an_admin_and_dead_jobs_are_filtered(t) {
        let app = TestApp::new(t).await;
        let m = app.matrix().await;
        let owner = bearer(&m.owner);
        let p = pbi(&app, &owner, &m.product_id, "P").await;
        let s = story(&app, &owner, &id_of(&p), json!({"title": "S"})).await;
        let tk = task(&app, &owner, &id_of(&s), "T").await;
        let job = created(&app, &format!("/api/tasks/{}/jobs", id_of(&tk)), &owner, json!({})).await;
        let requeue = format!("/api/jobs/{}/requeue", id_of(&job));

        // Queued: 409 naming the status.
        let res = app.json(Method::POST, &requeue, &owner, &json!({})).await;
        assert_eq!(res.status, StatusCode::CONFLICT, "{}", res.text);
        assert!(res.text.contains("job is queued; only claimed or running jobs can be requeued"), "{}", res.text);
        let worker = app.app().token_actor(&m.owner).await.expect("actor");
        let claimed = app.app().claim_job(&worker, ClaimRequest::new("w")).await.expect("claim").expect("job");
        assert_eq!(claimed.attempt, 0);

        // Not the owner: the writer and reader 403, demo 403, outsiders 404; nothing changes.
        for (who, status) in [(&m.writer, StatusCode::FORBIDDEN), (&m.reader, StatusCode::FORBIDDEN),
                              (&m.demo, StatusCode::FORBIDDEN), (&m.outsider, StatusCode::NOT_FOUND)] {
            let res = app.json(Method::POST, &requeue, &bearer(who), &json!({})).await;
            assert_eq!(res.status, status, "{}", res.text);
        }
        assert_eq!(get(&app, &owner, &format!("/api/jobs/{}", id_of(&job))).await["status"], "claimed");

        let res = app.json(Method::POST, &requeue, &owner, &json!({})).await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.text);
        let r = res.json();
        assert_eq!((r["status"].as_str(), r["retry_count"].as_i64()), (Some("queued"), Some(1)));
        assert!(r["worker_instance_id"].is_null() && r["claimed_by_token_id"].is_null(), "{r}");
        // The old claim's report is refused and changes nothing.
        let mut late = UpdateJobStatus::new(id_of(&job), "running");
        late.attempt = Some(0);
        let e = app.app().update_job_status(&worker, late).await.expect_err("stale claim");
        assert!(matches!(e, baton_app::AppError::Forbidden(_)), "{e:?}");
        assert_eq!(get(&app, &owner, &format!("/api/jobs/{}", id_of(&job))).await["status"], "queued");

        // An administrator who is not a member may requeue it.
        let (_, admin) = app.admin().await;
        app.app().claim_job(&worker, ClaimRequest::new("w")).await.expect("claim").expect("job");
        let res = app.json(Method::POST, &requeue, &bearer(&admin), &json!({})).await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.text);
        assert_eq!(res.json()["retry_count"], 2);

        // Claimed once more and failed on its last attempt: dead.
        let last = app.app().claim_job(&worker, ClaimRequest::new("w")).await.expect("claim").expect("job");
        let mut failed = UpdateJobStatus::new(id_of(&job), "failed");
        failed.attempt = Some(last.attempt);
        failed.error = Some("boom".into());
        app.app().update_job_status(&worker, failed).await.expect("failed");
        let other = task(&app, &owner, &id_of(&s), "U").await;
        let j2 = created(&app, &format!("/api/tasks/{}/jobs", id_of(&other)), &owner, json!({})).await;
        let c2 = app.app().claim_job(&worker, ClaimRequest::new("w")).await.expect("claim").expect("job");
        let mut failed = UpdateJobStatus::new(id_of(&j2), "failed");
        failed.attempt = Some(c2.attempt);
        app.app().update_job_status(&worker, failed).await.expect("failed");
        let dead = get(&app, &owner, "/api/jobs?dead=true").await;
        assert_eq!((dead["total"].as_i64(), dead["items"][0]["id"].as_str()), (Some(1), job["id"].as_str()));
        let not_dead = get(&app, &owner, "/api/jobs?dead=false&status=failed").await;
        assert_eq!((not_dead["total"].as_i64(), not_dead["items"][0]["id"].as_str()), (Some(1), j2["id"].as_str()));
        let res = app.get("/api/jobs?dead=maybe", &owner).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", res.text);
    }
}
