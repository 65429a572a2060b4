//! Sprint runs over REST: starting and cancelling with the permission
//! matrix, refused starts that write nothing, reading runs with their jobs
//! and frozen executions, and a quota pause resumed on a chained run — with
//! a worker claiming and reporting through the same services MCP uses.

use axum::http::{Method, StatusCode};
use baton_app::queue::{claim::ClaimRequest, complete::UpdateJobStatus};
use baton_testkit::backend_tests;
use serde_json::{Value, json};

use crate::{
    harness::{As, Matrix, TestApp},
    items::ix::*,
};

fn id_of(v: &Value) -> String {
    v["id"].as_str().expect("id").to_string()
}

/// A PBI with one story in an open sprint and one planned task; returns the sprint id and the task.
async fn sprint_with_task(app: &TestApp, owner: &As, product_id: &str, plan: Option<&str>) -> (String, Value) {
    let sid = sprint(app, product_id, "SP-1", "OPEN").await;
    let p = pbi(app, owner, product_id, "P").await;
    let s = story(app, owner, &id_of(&p), json!({"title": "S", "sprint_id": sid})).await;
    let body = match plan {
        Some(p) => json!({"title": "T", "implementation_plan": p}),
        None => json!({"title": "T"}),
    };
    let tk = created(app, &format!("/api/stories/{}/tasks", id_of(&s)), owner, body).await;
    (sid, tk)
}

async fn counts(app: &TestApp) -> (i64, i64, i64) {
    (app.count("sprint_runs").await, app.count("jobs").await, app.count("sprint_task_executions").await)
}

backend_tests! {
    async fn starting_and_cancelling_a_run_follow_the_permission_matrix(t) {
        let app = TestApp::new(t).await;
        let m = app.matrix().await;
        let owner = bearer(&m.owner);
        let (sid, _) = sprint_with_task(&app, &owner, &m.product_id, Some("Edit `src/a.rs`.")).await;
        let path = format!("/api/sprints/{sid}/runs");
        for (name, token, may_read, may_write) in m.callers() {
            let before = counts(&app).await;
            let res = app.json(Method::POST, &path, &bearer(&token), &json!({})).await;
            if may_write {
                assert_eq!(res.status, StatusCode::CREATED, "{name}: {}", res.text);
                let d = res.json();
                assert_eq!((d["run"]["status"].as_str(), d["run"]["pr_strategy"].as_str()), (Some("queued"), Some("sprint_batch")), "{name}");
                assert_eq!(d["jobs"].as_array().map(Vec::len), Some(1), "{name}");
                assert_eq!(d["jobs"][0]["kind"], "sprint_implementation", "{name}");
                let c = app.json(Method::POST, &format!("/api/sprint-runs/{}/cancel", id_of(&d["run"])), &bearer(&token), &json!({})).await;
                assert_eq!(c.status, StatusCode::OK, "{name}: {}", c.text);
                assert_eq!(c.json()["run"]["status"], "cancelled");
                assert_eq!(c.json()["jobs"][0]["status"], "cancelled");
            } else {
                assert_eq!(res.status, Matrix::refused_status(may_read), "{name}: {}", res.text);
                assert_eq!(counts(&app).await, before, "{name}: a refused start writes nothing");
            }
        }

        // Cancelling: read-only and demo 403, outsiders 404, nothing changes.
        let d = created(&app, &path, &owner, json!({})).await;
        let run_path = format!("/api/sprint-runs/{}", id_of(&d["run"]));
        for (name, token, may_read, may_write) in m.callers() {
            if may_write {
                continue;
            }
            let res = app.json(Method::POST, &format!("{run_path}/cancel"), &bearer(&token), &json!({})).await;
            assert_eq!(res.status, Matrix::refused_status(may_read), "{name}: {}", res.text);
            let res = app.json(Method::POST, &format!("{run_path}/resume"), &bearer(&token), &json!({})).await;
            assert_eq!(res.status, Matrix::refused_status(may_read), "{name}: {}", res.text);
            // Reading follows read access.
            let res = app.get(&run_path, &bearer(&token)).await;
            let want = if may_read { StatusCode::OK } else { StatusCode::NOT_FOUND };
            assert_eq!(res.status, want, "{name}: {}", res.text);
            let res = app.get(&path, &bearer(&token)).await;
            assert_eq!(res.status, want, "{name}: {}", res.text);
        }
        let run = get(&app, &owner, &run_path).await;
        assert_eq!(run["run"]["status"], "queued", "refused cancels changed nothing");
        assert_eq!(run["jobs"][0]["status"], "queued");
        let list = get(&app, &bearer(&m.reader), &path).await;
        assert_eq!(list["total"], 4, "three cancelled runs (owner, writer, scoped token) and the queued one");
        assert_eq!(list["items"][0]["id"], d["run"]["id"], "newest first");
        assert_eq!(app.get("/api/sprint-runs/nope", &owner).await.status, StatusCode::NOT_FOUND);
        assert_eq!(app.json(Method::POST, "/api/sprints/nope/runs", &owner, &json!({})).await.status, StatusCode::NOT_FOUND);
    }

    async fn refused_starts_are_409_or_422_and_write_nothing(t) {
        let app = TestApp::new(t).await;
        let m = app.matrix().await;
        let owner = bearer(&m.owner);
        let (sid, tk) = sprint_with_task(&app, &owner, &m.product_id, None).await;
        let path = format!("/api/sprints/{sid}/runs");
        let before = counts(&app).await;
        let res = app.json(Method::POST, &path, &owner, &json!({})).await;
        assert_eq!(res.status, StatusCode::CONFLICT, "{}", res.text);
        assert_eq!(res.error_code(), "conflict");
        assert_eq!(res.json()["error"]["message"], format!("PRE_FLIGHT_BLOCKED: task_no_plan {}", tk["code"].as_str().expect("code")));
        assert_eq!(counts(&app).await, before);
        let res = app.json(Method::POST, &path, &owner, &json!({"pr_strategy": "sometimes"})).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", res.text);
        let res = app.json(Method::POST, &path, &owner, &json!({"bogus": 1})).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", res.text);
        assert_eq!(counts(&app).await, before);

        let res = app.json(Method::PATCH, &format!("/api/tasks/{}", id_of(&tk)), &owner, &json!({"implementation_plan": "Edit `src/a.rs`."})).await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.text);
        // No body at all is a start with the defaults; a per-task override works too.
        let res = app.raw(Method::POST, &path, &owner, "application/json", String::new()).await;
        assert_eq!(res.status, StatusCode::CREATED, "{}", res.text);
        let first = res.json();
        let before = counts(&app).await;
        let res = app.json(Method::POST, &path, &owner, &json!({"pr_strategy": "story"})).await;
        assert_eq!(res.status, StatusCode::CONFLICT);
        assert!(res.text.contains("already has a queued sprint run"), "{}", res.text);
        assert_eq!(counts(&app).await, before);
        app.json(Method::POST, &format!("/api/sprint-runs/{}/cancel", id_of(&first["run"])), &owner, &json!({})).await;
        let d = created(&app, &path, &owner, json!({"pr_strategy": "story"})).await;
        assert_eq!(d["run"]["pr_strategy"], "story");
        assert_eq!(d["jobs"][0]["task_id"], tk["id"]);
        assert_eq!(d["jobs"][0]["sprint_sequence"], 0);
        // A finished run cannot be cancelled or resumed.
        let cancel = format!("/api/sprint-runs/{}/cancel", id_of(&first["run"]));
        assert_eq!(app.json(Method::POST, &cancel, &owner, &json!({})).await.status, StatusCode::CONFLICT);
        let resume = format!("/api/sprint-runs/{}/resume", id_of(&d["run"]));
        let res = app.json(Method::POST, &resume, &owner, &json!({})).await;
        assert_eq!(res.status, StatusCode::CONFLICT);
        assert!(res.text.contains("only a paused run can be resumed"), "{}", res.text);
    }

    async fn a_paused_batch_run_is_read_and_resumed_on_a_chained_run(t) {
        let app = TestApp::new(t).await;
        let m = app.matrix().await;
        let owner = bearer(&m.owner);
        let (sid, tk) = sprint_with_task(&app, &owner, &m.product_id, Some("Edit `src/a.rs`.")).await;
        let d = created(&app, &format!("/api/sprints/{sid}/runs"), &owner, json!({})).await;
        let run_id = id_of(&d["run"]);
        let worker = app.app().token_actor(&m.owner).await.expect("actor");
        let claimed = app.app().claim_job(&worker, ClaimRequest::new("w1")).await.expect("claim").expect("job");
        let run = get(&app, &owner, &format!("/api/sprint-runs/{run_id}")).await;
        assert_eq!(run["run"]["status"], "running");
        assert_eq!(run["jobs"][0]["status"], "claimed");
        assert_eq!(run["task_executions"][0]["task_id"], tk["id"]);
        assert_eq!(run["task_executions"][0]["status"], "pending");
        assert_eq!(run["task_executions"][0]["plan_snapshot"], "Edit `src/a.rs`.");
        let branch = run["run"]["branch"].as_str().expect("branch").to_string();

        let mut failed = UpdateJobStatus::new(&claimed.job_id, "failed");
        failed.error = Some("QUOTA_PAUSE: 3% left".into());
        app.app().update_job_status(&worker, failed).await.expect("failed");
        let run = get(&app, &bearer(&m.reader), &format!("/api/sprint-runs/{run_id}")).await;
        assert_eq!(run["run"]["status"], "paused");
        assert_eq!(run["run"]["pause_context"]["pause_reason"], "QUOTA_DEPLETED");

        let res = app.json(Method::POST, &format!("/api/sprint-runs/{run_id}/resume"), &bearer(&m.writer), &json!({})).await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.text);
        let new = res.json();
        assert_eq!(new["run"]["previous_run_id"], run_id.as_str());
        assert_eq!(new["run"]["branch"], branch.as_str());
        assert_eq!(new["run"]["status"], "queued");
        assert_eq!(new["jobs"][0]["kind"], "sprint_implementation");
        let list = get(&app, &owner, &format!("/api/sprints/{sid}/runs")).await;
        assert_eq!(list["total"], 2);
        assert_eq!(list["items"][0]["id"], new["run"]["id"]);
        assert_eq!(list["items"][1]["status"], "cancelled");
    }
}
