//! Idea dispatch, actions and materialization over REST
//! (`POST /api/ideas/{id}/dispatch`, `GET …/actions`, `POST …/materialize`):
//! the §7.1 guards in order with nothing written on a refusal, job + status +
//! log together, failed idea jobs marking the idea, materialization with
//! codes, orders, a build sprint and pinned revisions, the re-materialize
//! rules, and the permission matrix.

use axum::http::{Method, StatusCode};
use baton_app::{
    queue::{claim::ClaimRequest, complete::UpdateJobStatus},
    workers::WorkerInfo,
};
use baton_domain::roles::Role;
use baton_store::sea_orm::{ConnectionTrait, Statement};
use baton_testkit::backend_tests;
use serde_json::{Value, json};

use crate::{
    harness::{As, Res, TestApp},
    items::ix::*,
};

/// A plan with two stories; the second story's first task asks for ALIGNED
/// but only reads a file (exploration downgrade), task priorities differ
/// from their story's.
const PLAN: &str = "---\nsprint:\n  goal: Ship CSV export\npbi:\n  title: Export\n  priority: 1\nstories:\n  - title: Button\n    priority: 2\n    tasks:\n      - title: Route\n        implementation_plan: edit `src/route.rs`\n        priority: 4\n      - title: Check\n        implementation_plan: run it\n        priority: 3\n        verify_only: true\n  - title: Docs\n    priority: 3\n    tasks:\n      - title: Write docs\n        implementation_plan: \"Lees `docs/style.md` and write `docs/export.md`\"\n        priority: 1\n        verify_required: ALIGNED\n---\n\n# Why\nBecause.\n";

async fn sql(app: &TestApp, q: &str, values: Vec<baton_store::sea_orm::Value>) {
    let db = &app.t.db;
    db.execute_raw(Statement::from_sql_and_values(db.get_database_backend(), q, values)).await.expect("sql");
}

async fn force_status(app: &TestApp, id: &str, status: &str) {
    sql(app, "UPDATE ideas SET status = $1 WHERE id = $2", vec![status.into(), id.into()]).await;
}

async fn set_repo(app: &TestApp, product_id: &str) {
    sql(
        app,
        "UPDATE products SET repo_url = $1 WHERE id = $2",
        vec!["https://example.com/r.git".into(), product_id.into()],
    )
    .await;
}

/// Counts rows of `table` matching `where_` (`$1` = `value`).
async fn count_where(app: &TestApp, table: &str, where_: &str, value: &str) -> i64 {
    let db = &app.t.db;
    let row = db
        .query_one_raw(Statement::from_sql_and_values(
            db.get_database_backend(),
            format!("SELECT COUNT(*) AS c FROM {table} WHERE {where_}"),
            [value.into()],
        ))
        .await
        .expect("count")
        .expect("row");
    row.try_get::<i64>("", "c").expect("c")
}

async fn user_token(app: &TestApp, name: &str, demo: bool) -> (String, String) {
    let id = app.user(name, &[Role::Developer], demo).await;
    let token = app.token_for(&id).await;
    (id, token)
}

async fn register(app: &TestApp, token: &str, instance: &str, caps: &[&str]) {
    let worker = app.app().token_actor(token).await.expect("actor");
    let mut info = WorkerInfo::new(instance);
    info.capabilities = caps.iter().map(|c| c.to_string()).collect();
    app.app().register_worker(&worker, info).await.expect("register");
}

async fn dispatch(app: &TestApp, who: &As, id: &str, body: Value) -> Res {
    app.json(Method::POST, &format!("/api/ideas/{id}/dispatch"), who, &body).await
}

async fn materialize(app: &TestApp, who: &As, id: &str, body: Value) -> Res {
    app.json(Method::POST, &format!("/api/ideas/{id}/materialize"), who, &body).await
}

fn conflict(res: &Res, needle: &str) {
    assert_eq!(res.status, StatusCode::CONFLICT, "{}", res.text);
    assert!(res.text.contains(needle), "expected {needle:?} in {}", res.text);
}

fn s<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key].as_str().unwrap_or_else(|| panic!("{key} in {v}"))
}

/// An idea of `who` in `product`, put into plan_ready with [`PLAN`] and a grill.
async fn ready_idea(app: &TestApp, who: &As, product: &str) -> String {
    let idea = created(app, "/api/ideas", who, json!({ "title": "CSV export", "product_id": product })).await;
    let id = s(&idea, "id").to_string();
    force_status(app, &id, "GRILLING").await;
    let res = app.json(Method::PUT, &format!("/api/ideas/{id}/grill-md"), who, &json!({"markdown": "# Idee"})).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    let res = app.json(Method::PUT, &format!("/api/ideas/{id}/plan-md"), who, &json!({"markdown": PLAN})).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    assert_eq!(res.json()["idea"]["status"], "plan_ready", "{}", res.text);
    id
}

async fn counts(app: &TestApp) -> (i64, i64, i64, i64) {
    (app.count("pbis").await, app.count("stories").await, app.count("tasks").await, app.count("idea_logs").await)
}

backend_tests! {
    async fn dispatch_checks_the_guards_in_order_and_writes_job_status_and_log_together(t) {
        let app = TestApp::new(t).await;
        let (ann_id, ann_token) = user_token(&app, "ann", false).await;
        let ann = bearer(&ann_token);
        let (_, bob) = user_token(&app, "bob", false).await;
        let shop = app.product_row(&ann_id, "Shop").await;
        let other = app.product_row(&ann_id, "Other").await;
        let idea = created(&app, "/api/ideas", &ann, json!({ "title": "Dark mode" })).await;
        let id = s(&idea, "id").to_string();
        let grill = json!({ "kind": "grill" });

        // 1. Someone else's idea is 404; a product the idea is not in is 404 too.
        assert_eq!(dispatch(&app, &bearer(&bob), &id, grill.clone()).await.status, StatusCode::NOT_FOUND);
        let res = dispatch(&app, &ann, &id, json!({ "kind": "grill", "product_id": other })).await;
        assert_eq!(res.status, StatusCode::NOT_FOUND, "{}", res.text);
        assert!(res.text.contains("idea in this product not found"), "{}", res.text);
        // 2. The status: a draft cannot be planned.
        let res = dispatch(&app, &ann, &id, json!({ "kind": "make_plan" })).await;
        conflict(&res, "IDEA_MAKE_PLAN is not allowed while the idea is draft; allowed from: grilled, plan_failed, plan_ready");
        // 3. A product, then its repository.
        conflict(&dispatch(&app, &ann, &id, grill.clone()).await, "has no product");
        // A secondary product does not stand in for the idea's own.
        let res = app.json(Method::PATCH, &format!("/api/ideas/{id}"), &ann, &json!({ "product_ids": [other] })).await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.text);
        conflict(&dispatch(&app, &ann, &id, json!({ "kind": "grill", "product_id": other })).await, "has no product");
        let res = app.json(Method::PATCH, &format!("/api/ideas/{id}"), &ann, &json!({ "product_id": shop })).await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.text);
        conflict(&dispatch(&app, &ann, &id, grill.clone()).await, "has no repo_url");
        set_repo(&app, &shop).await;
        // 4. Content policy: a plan needs a grill to start from.
        force_status(&app, &id, "GRILLED").await;
        conflict(&dispatch(&app, &ann, &id, json!({ "kind": "make_plan" })).await, "no grill_md to plan from");
        force_status(&app, &id, "DRAFT").await;
        // 6. A live worker.
        conflict(&dispatch(&app, &ann, &id, grill.clone()).await, "no live worker of yours is connected (none seen in the last 15 s)");
        assert_eq!(app.count("jobs").await, 0);
        assert_eq!(count_where(&app, "idea_logs", "idea_id = $1", &id).await, 0, "refusals write nothing");

        // The actions say the same before and after a worker connects.
        let actions = get(&app, &ann, &format!("/api/ideas/{id}/actions")).await;
        assert_eq!(actions["grill"]["allowed"], false);
        assert!(s(&actions["grill"], "reason").contains("no live worker"), "{actions}");
        assert!(s(&actions["make_plan"], "reason").contains("allowed from"), "{actions}");
        assert!(s(&actions["materialize"], "reason").contains("materialize is not allowed while the idea is draft"), "{actions}");
        register(&app, &ann_token, "laptop", &[]).await;
        let actions = get(&app, &ann, &format!("/api/ideas/{id}/actions")).await;
        assert_eq!(actions["grill"], json!({ "allowed": true, "reason": null }), "{actions}");

        // Dispatched: job, status and log together.
        let res = dispatch(&app, &ann, &id, grill.clone()).await;
        assert_eq!(res.status, StatusCode::CREATED, "{}", res.text);
        let job = res.json();
        assert_eq!((s(&job, "kind"), s(&job, "status"), s(&job, "idea_id"), s(&job, "product_id")),
            ("idea_grill", "queued", id.as_str(), shop.as_str()));
        assert_eq!(s(&get(&app, &ann, &format!("/api/ideas/{id}")).await, "status"), "grilling");
        let logs = get(&app, &ann, &format!("/api/ideas/{id}/logs")).await;
        assert_eq!((logs["items"][0]["type"].as_str(), logs["items"][0]["content"].as_str()),
            (Some("job_event"), Some("IDEA_GRILL queued")), "{logs}");
        assert_eq!(logs["items"][0]["metadata"]["job_id"], job["id"]);

        // 5. A second dispatch while one is queued: 409 naming the job, nothing written.
        force_status(&app, &id, "DRAFT").await;
        let res = dispatch(&app, &ann, &id, grill.clone()).await;
        conflict(&res, &format!("already has a queued IDEA_GRILL job ({})", s(&job, "id")));
        let actions = get(&app, &ann, &format!("/api/ideas/{id}/actions")).await;
        assert!(s(&actions["grill"], "reason").contains("already has a queued"), "{actions}");
        assert_eq!(app.count("jobs").await, 1);
        assert_eq!(count_where(&app, "idea_logs", "idea_id = $1", &id).await, 1);
        assert_eq!(s(&get(&app, &ann, &format!("/api/ideas/{id}")).await, "status"), "draft");

        // Reviews need a worker with the review capability.
        let res = app.json(Method::POST, &format!("/api/jobs/{}/cancel", s(&job, "id")), &ann, &json!({})).await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.text);
        sql(&app, "UPDATE ideas SET status = 'PLAN_READY', plan_md = 'x' WHERE id = $1", vec![id.clone().into()]).await;
        conflict(&dispatch(&app, &ann, &id, json!({ "kind": "review_plan" })).await, "offers the `review` capability");
        register(&app, &ann_token, "reviewer", &["review"]).await;
        let res = dispatch(&app, &ann, &id, json!({ "kind": "review_plan", "product_id": shop })).await;
        assert_eq!(res.status, StatusCode::CREATED, "{}", res.text);
        assert_eq!((res.json()["kind"].as_str(), res.json()["required_capability"].as_str()),
            (Some("idea_review_plan"), Some("review")));
        assert_eq!(s(&get(&app, &ann, &format!("/api/ideas/{id}")).await, "status"), "reviewing_plan");

        // Bad input names the field.
        let res = dispatch(&app, &ann, &id, json!({ "kind": "paint" })).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", res.text);
    }

    async fn a_failed_idea_job_marks_the_idea_failed_and_logs_it(t) {
        let app = TestApp::new(t).await;
        let (ann_id, ann_token) = user_token(&app, "ann", false).await;
        let ann = bearer(&ann_token);
        let shop = app.product_row(&ann_id, "Shop").await;
        set_repo(&app, &shop).await;
        register(&app, &ann_token, "laptop", &[]).await;
        for (kind, from, failed) in [("grill", "DRAFT", "grill_failed"), ("make_plan", "GRILLED", "plan_failed")] {
            let idea = created(&app, "/api/ideas", &ann, json!({ "title": kind, "product_id": shop })).await;
            let id = s(&idea, "id").to_string();
            sql(&app, "UPDATE ideas SET status = $1, grill_md = 'g' WHERE id = $2", vec![from.into(), id.clone().into()]).await;
            let job = created(&app, &format!("/api/ideas/{id}/dispatch"), &ann, json!({ "kind": kind })).await;
            let worker = app.app().token_actor(&ann_token).await.expect("actor");
            let claimed = app.app().claim_job(&worker, ClaimRequest::new("laptop")).await.expect("claim").expect("a job");
            assert_eq!(claimed.job_id, s(&job, "id"));
            let mut report = UpdateJobStatus::new(&claimed.job_id, "failed");
            report.error = Some("model refused".into());
            app.app().update_job_status(&worker, report).await.expect("failed");
            let after = get(&app, &ann, &format!("/api/ideas/{id}")).await;
            assert_eq!(s(&after, "status"), failed);
            let logs = get(&app, &ann, &format!("/api/ideas/{id}/logs")).await;
            let last = &logs["items"][1];
            assert_eq!(last["type"], "job_event", "{logs}");
            assert!(s(last, "content").ends_with("failed"), "{logs}");
            assert_eq!(last["metadata"]["job_id"], job["id"]);
        }
    }

    async fn a_cancelled_idea_job_frees_its_idea_for_another_dispatch(t) {
        let app = TestApp::new(t).await;
        let (ann_id, ann_token) = user_token(&app, "ann", false).await;
        let ann = bearer(&ann_token);
        let shop = app.product_row(&ann_id, "Shop").await;
        set_repo(&app, &shop).await;
        register(&app, &ann_token, "laptop", &[]).await;
        let idea = created(&app, "/api/ideas", &ann, json!({ "title": "Stuck?", "product_id": shop })).await;
        let id = s(&idea, "id").to_string();
        let job = created(&app, &format!("/api/ideas/{id}/dispatch"), &ann, json!({ "kind": "grill" })).await;
        assert_eq!(s(&get(&app, &ann, &format!("/api/ideas/{id}")).await, "status"), "grilling");
        let res = app.json(Method::POST, &format!("/api/jobs/{}/cancel", s(&job, "id")), &ann, &json!({})).await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.text);
        // Not left grilling (from which nothing can be dispatched): failed, logged.
        assert_eq!(s(&get(&app, &ann, &format!("/api/ideas/{id}")).await, "status"), "grill_failed");
        let logs = get(&app, &ann, &format!("/api/ideas/{id}/logs")).await;
        assert_eq!((logs["items"][1]["content"].as_str(), &logs["items"][1]["metadata"]["job_id"]),
            (Some("IDEA_GRILL cancelled"), &job["id"]), "{logs}");
        let again = created(&app, &format!("/api/ideas/{id}/dispatch"), &ann, json!({ "kind": "grill" })).await;
        assert_ne!(again["id"], job["id"]);
        assert_eq!(s(&get(&app, &ann, &format!("/api/ideas/{id}")).await, "status"), "grilling");
    }

    async fn materializing_creates_the_backlog_once_with_codes_orders_a_sprint_and_pinned_revisions(t) {
        let app = TestApp::new(t).await;
        let (ann_id, ann_token) = user_token(&app, "ann", false).await;
        let ann = bearer(&ann_token);
        let shop = app.product_row(&ann_id, "Shop").await;
        // An existing PBI: the new one gets the next code and goes last.
        let first = created(&app, &format!("/api/products/{shop}/pbis"), &ann, json!({ "title": "Earlier" })).await;
        let id = ready_idea(&app, &ann, &shop).await;

        let res = materialize(&app, &ann, &id, json!({ "build_sprint": true })).await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.text);
        let out = res.json();
        assert_eq!(s(&out, "pbi_code"), "PBI-2");
        assert_eq!(s(&out, "product_id"), shop);
        let (story_ids, task_ids) = (out["story_ids"].as_array().expect("stories"), out["task_ids"].as_array().expect("tasks"));
        assert_eq!((story_ids.len(), task_ids.len()), (2, 3));
        let pbi = get(&app, &ann, &format!("/api/pbis/{}", s(&out, "pbi_id"))).await;
        assert_eq!((s(&pbi, "title"), pbi["priority"].as_i64(), s(&pbi, "status")), ("Export", Some(1), "ready"));
        assert!(pbi["sort_order"].as_f64() > first["sort_order"].as_f64(), "{pbi}");
        let sprint_id = s(&out, "build_sprint_id").to_string();
        let sprint = get(&app, &ann, &format!("/api/sprints/{sprint_id}")).await;
        assert_eq!((s(&sprint, "sprint_goal"), s(&sprint, "status")), ("Ship CSV export", "open"));
        assert!(s(&sprint, "code").ends_with("-idea-001") && s(&sprint, "code").starts_with("S-"), "{sprint}");

        let mut seen = Vec::new();
        for (i, sid) in story_ids.iter().enumerate() {
            let st = get(&app, &ann, &format!("/api/stories/{}", sid.as_str().expect("id"))).await;
            assert_eq!((st["sort_order"].as_f64(), s(&st, "status"), s(&st, "sprint_id")),
                (Some((i + 1) as f64), "in_sprint", sprint_id.as_str()));
            seen.push(s(&st, "code").to_string());
        }
        assert_eq!(seen, ["ST-001", "ST-002"]);
        let mut tasks = Vec::new();
        for tid in task_ids {
            let tk = get(&app, &ann, &format!("/api/tasks/{}", tid.as_str().expect("id"))).await;
            tasks.push((s(&tk, "code").to_string(), tk["sort_order"].as_f64(), tk["priority"].as_i64(),
                s(&tk, "verify_required").to_string(), tk["verify_only"].as_bool(), s(&tk, "status").to_string(),
                tk["sprint_id"].clone()));
        }
        let sp = json!(sprint_id);
        assert_eq!(tasks, [
            ("T-1".into(), Some(1.0), Some(4), "aligned_or_partial".into(), Some(false), "todo".into(), sp.clone()),
            ("T-2".into(), Some(2.0), Some(3), "aligned_or_partial".into(), Some(true), "todo".into(), sp.clone()),
            // Its own priority (1, not the story's 3), downgraded from ALIGNED.
            ("T-3".into(), Some(1.0), Some(1), "aligned_or_partial".into(), Some(false), "todo".into(), sp.clone()),
        ]);

        let after = get(&app, &ann, &format!("/api/ideas/{id}")).await;
        assert_eq!((s(&after, "status"), after["pbi_id"].clone(), after["build_sprint_id"].clone()),
            ("planned", out["pbi_id"].clone(), sp.clone()));
        let logs = get(&app, &ann, &format!("/api/ideas/{id}/logs")).await;
        let items = logs["items"].as_array().expect("items");
        let last = items.last().expect("a log");
        assert_eq!(last["type"], "plan_result");
        assert!(s(last, "content").starts_with("Materialized into PBI-2 (2 stories, 3 tasks)"), "{last}");
        assert!(s(last, "content").contains("T-3"), "the downgrade is named: {last}");
        assert_eq!(last["metadata"]["downgraded_task_codes"], json!(["T-3"]));
        assert_eq!((last["metadata"]["story_count"].as_i64(), last["metadata"]["pbi_code"].as_str()), (Some(2), Some("PBI-2")));
        // The PBI is pinned to the plan and grill revisions it was built from.
        assert_eq!(count_where(&app, "pbi_docs", "pbi_id = $1", s(&out, "pbi_id")).await, 2);
        assert_eq!(count_where(&app, "doc_revisions", "idea_id = $1", &id).await, 2, "one plan, one grill revision");

        // Not again from planned: 409 naming the status.
        conflict(&materialize(&app, &ann, &id, json!({})).await, "materialize is not allowed while the idea is planned");
    }

    async fn rematerializing_refuses_over_active_tasks_or_replaces_the_old_pbi(t) {
        let app = TestApp::new(t).await;
        let (ann_id, ann_token) = user_token(&app, "ann", false).await;
        let ann = bearer(&ann_token);
        let shop = app.product_row(&ann_id, "Shop").await;
        let id = ready_idea(&app, &ann, &shop).await;
        let out = materialize(&app, &ann, &id, json!({})).await.json();
        assert!(out["build_sprint_id"].is_null(), "{out}");
        let old_pbi = s(&out, "pbi_id").to_string();
        let first_task = out["task_ids"][0].as_str().expect("task").to_string();

        // A task in progress: 409 PBI_HAS_ACTIVE_TASKS, nothing changed.
        sql(&app, "UPDATE tasks SET status = 'IN_PROGRESS' WHERE id = $1", vec![first_task.clone().into()]).await;
        force_status(&app, &id, "PLAN_READY").await;
        let before = counts(&app).await;
        conflict(&materialize(&app, &ann, &id, json!({ "build_sprint": true })).await, "PBI_HAS_ACTIVE_TASKS:PBI-1");
        assert_eq!(counts(&app).await, before, "nothing written");
        assert_eq!(app.count("sprints").await, 0);
        assert_eq!(s(&get(&app, &ann, &format!("/api/ideas/{id}")).await, "status"), "plan_ready");

        // allow_alongside keeps the old PBI and adds a new one.
        let res = materialize(&app, &ann, &id, json!({ "allow_alongside": true })).await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.text);
        let beside = res.json();
        assert_eq!(s(&beside, "pbi_code"), "PBI-2");
        assert_eq!(app.count("pbis").await, 2);
        assert_eq!(get(&app, &ann, &format!("/api/pbis/{old_pbi}")).await["code"], "PBI-1");

        // Without active tasks the old PBI is replaced.
        force_status(&app, &id, "PLAN_READY").await;
        let res = materialize(&app, &ann, &id, json!({})).await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.text);
        let replaced = res.json();
        assert_eq!(s(&replaced, "pbi_code"), "PBI-3");
        assert_eq!(app.count("pbis").await, 2, "PBI-2 was deleted, PBI-3 created");
        assert_eq!(app.app().get_pbi(&app.app().token_actor(&ann_token).await.expect("actor"), s(&beside, "pbi_id")).await.err().map(|e| e.to_string()),
            Some("PBI not found".into()));
        assert_eq!(app.count("tasks").await, 6);
    }

    async fn only_the_owner_with_write_access_may_dispatch_or_materialize(t) {
        let app = TestApp::new(t).await;
        let (ann_id, ann_token) = user_token(&app, "ann", false).await;
        let ann = bearer(&ann_token);
        let (_, bob) = user_token(&app, "bob", false).await;
        let (demo_id, demo) = user_token(&app, "demo", true).await;
        let (cas_id, cas_token) = user_token(&app, "cas", false).await;
        let cas = bearer(&cas_token);
        let shop = app.product_row(&ann_id, "Shop").await;
        set_repo(&app, &shop).await;
        let id = ready_idea(&app, &ann, &shop).await;
        app.member_row(&shop, &demo_id, "READ_WRITE").await;

        // Another user: 404 on all three; demo: 403 on the writes.
        for path in ["dispatch", "materialize"] {
            let url = format!("/api/ideas/{id}/{path}");
            let body = json!({ "kind": "review_plan" });
            let body = if path == "dispatch" { body } else { json!({}) };
            assert_eq!(app.json(Method::POST, &url, &bearer(&bob), &body).await.status, StatusCode::NOT_FOUND);
            assert_eq!(app.json(Method::POST, &url, &bearer(&demo), &body).await.status, StatusCode::FORBIDDEN);
        }
        assert_eq!(app.get(&format!("/api/ideas/{id}/actions"), &bearer(&bob)).await.status, StatusCode::NOT_FOUND);

        // A member whose access became read-only cannot dispatch or materialize her idea.
        app.member_row(&shop, &cas_id, "READ_WRITE").await;
        let hers = ready_idea(&app, &cas, &shop).await;
        register(&app, &cas_token, "cas-laptop", &["review"]).await;
        sql(&app, "UPDATE product_members SET access = 'READ_ONLY' WHERE user_id = $1", vec![cas_id.clone().into()]).await;
        let res = dispatch(&app, &cas, &hers, json!({ "kind": "review_plan" })).await;
        assert_eq!(res.status, StatusCode::FORBIDDEN, "{}", res.text);
        assert_eq!(materialize(&app, &cas, &hers, json!({})).await.status, StatusCode::FORBIDDEN);
        let actions = get(&app, &cas, &format!("/api/ideas/{hers}/actions")).await;
        assert_eq!(actions["materialize"]["allowed"], false, "{actions}");
        assert_eq!(app.count("jobs").await, 0);
        assert_eq!(app.count("pbis").await, 0);

        // The owner may.
        let res = materialize(&app, &ann, &id, json!({})).await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    }
}
