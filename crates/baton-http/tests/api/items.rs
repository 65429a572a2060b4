//! PBIs, stories, tasks and story logs over HTTP: codes, full views,
//! validation, ordering and moves, re-parenting, ref resolution, lists,
//! cascades, concurrency of codes and the permission matrix of every write.

use axum::http::{Method, StatusCode};
use baton_testkit::backend_tests;
use serde_json::{Value, json};

use crate::harness::{As, Matrix, Res, TestApp};

/// Small helpers shared with the propagation tests.
pub mod ix {
    use axum::http::{Method, StatusCode};
    use baton_store::{
        entities::sprint,
        new_id, now,
        sea_orm::{ActiveModelTrait, ActiveValue::Set, ConnectionTrait, Statement},
    };
    use serde_json::{Value, json};

    use crate::harness::{As, TestApp};

    pub fn bearer(token: &str) -> As {
        As::Bearer(token.to_string())
    }

    /// POSTs and expects 201; returns the body.
    pub async fn created(app: &TestApp, path: &str, who: &As, body: Value) -> Value {
        let res = app.json(Method::POST, path, who, &body).await;
        assert_eq!(res.status, StatusCode::CREATED, "POST {path}: {}", res.text);
        res.json()
    }

    pub async fn pbi(app: &TestApp, who: &As, product: &str, title: &str) -> Value {
        created(app, &format!("/api/products/{product}/pbis"), who, json!({ "title": title })).await
    }

    pub async fn story(app: &TestApp, who: &As, pbi: &str, body: Value) -> Value {
        created(app, &format!("/api/pbis/{pbi}/stories"), who, body).await
    }

    pub async fn task(app: &TestApp, who: &As, story: &str, title: &str) -> Value {
        created(app, &format!("/api/stories/{story}/tasks"), who, json!({ "title": title })).await
    }

    /// PATCHes a task's status and expects 200.
    pub async fn set_status(app: &TestApp, who: &As, task: &str, status: &str) -> Value {
        let res = app.json(Method::PATCH, &format!("/api/tasks/{task}"), who, &json!({ "status": status })).await;
        assert_eq!(res.status, StatusCode::OK, "status {status}: {}", res.text);
        res.json()
    }

    pub async fn get(app: &TestApp, who: &As, path: &str) -> Value {
        let res = app.get(path, who).await;
        assert_eq!(res.status, StatusCode::OK, "GET {path}: {}", res.text);
        res.json()
    }

    /// An OPEN (or other status) sprint row.
    pub async fn sprint(app: &TestApp, product_id: &str, code: &str, status: &str) -> String {
        let t = now();
        sprint::ActiveModel {
            id: Set(new_id()),
            product_id: Set(product_id.into()),
            code: Set(code.into()),
            sprint_goal: Set(format!("Goal {code}")),
            status: Set(status.into()),
            start_date: Set(None),
            end_date: Set(None),
            created_at: Set(t),
            updated_at: Set(t),
            completed_at: Set(None),
        }
        .insert(&app.t.db)
        .await
        .expect("sprint row")
        .id
    }

    /// The user id behind a token.
    pub async fn me(app: &TestApp, who: &As) -> String {
        get(app, who, "/api/me").await["id"].as_str().expect("id").to_string()
    }

    /// Every backlog row, for "a failed request changed nothing" checks.
    pub async fn snapshot(app: &TestApp) -> Vec<String> {
        let db = &app.t.db;
        let mut out = Vec::new();
        for (table, cols) in [
            ("pbis", "id, code, title, priority, sort_order, status, updated_at"),
            ("stories", "id, pbi_id, sprint_id, assignee_id, code, title, sort_order, status, updated_at"),
            ("tasks", "id, story_id, sprint_id, code, title, sort_order, status, implementation_plan, updated_at"),
            ("story_logs", "id, story_id, type, content"),
            ("sprints", "id, status, completed_at"),
            ("sprint_runs", "id, status, failed_task_id"),
            ("jobs", "id, status"),
            ("products", "id, last_pbi_number, last_story_number, last_task_number"),
        ] {
            let sql = format!("SELECT {cols} FROM {table} ORDER BY id");
            for row in db.query_all_raw(Statement::from_string(db.get_database_backend(), sql)).await.expect("snapshot")
            {
                let mut line = format!("{table}:");
                for c in cols.split(", ") {
                    let v = row
                        .try_get::<Option<String>>("", c)
                        .map(|v| v.unwrap_or_default())
                        .or_else(|_| row.try_get::<f64>("", c).map(|v| v.to_string()))
                        .or_else(|_| row.try_get::<i64>("", c).map(|v| v.to_string()))
                        .or_else(|_| row.try_get::<i32>("", c).map(|v| v.to_string()))
                        .or_else(|_| {
                            row.try_get::<Option<chrono::DateTime<chrono::Utc>>>("", c).map(|v| format!("{v:?}"))
                        })
                        .unwrap_or_else(|_| "?".into());
                    line.push_str(&format!(" {v}"));
                }
                out.push(line);
            }
        }
        out
    }
}

use ix::*;

fn paths(res: &Res) -> Vec<String> {
    res.json()["error"]["details"]
        .as_array()
        .map(|d| d.iter().map(|e| e["path"].as_str().unwrap_or_default().to_string()).collect())
        .unwrap_or_default()
}

fn codes(page: &Value) -> Vec<String> {
    page["items"].as_array().expect("items").iter().map(|i| i["code"].as_str().expect("code").to_string()).collect()
}

backend_tests! {
    async fn items_get_codes_full_views_and_are_addressed_by_id_or_code(t) {
        let app = TestApp::new(t).await;
        let m = app.matrix().await;
        let owner = bearer(&m.owner);
        let p1 = pbi(&app, &owner, &m.product_id, "  First  ").await;
        let p2 = pbi(&app, &owner, &m.product_id, "Second").await;
        assert_eq!(p1["code"], "PBI-1");
        assert_eq!(p1["title"], "First", "titles are trimmed");
        assert_eq!(p1["status"], "ready");
        assert_eq!(p1["priority"], 2);
        assert_eq!(p1["sort_order"], 1.0);
        assert_eq!(p2["code"], "PBI-2");
        assert_eq!(p2["sort_order"], 2.0);
        assert_eq!(p1["product_id"], m.product_id.as_str());

        let s1 = story(&app, &owner, "pbi-1", json!({
            "title": "Login", "description": "d", "acceptance_criteria": "ac", "priority": 1
        })).await;
        assert_eq!(s1["code"], "ST-001");
        assert_eq!(s1["status"], "open");
        assert_eq!(s1["pbi_id"], p1["id"]);
        assert_eq!(s1["product_id"], m.product_id.as_str());
        assert_eq!(s1["sprint_id"], Value::Null);
        assert_eq!(s1["acceptance_criteria"], "ac");
        let s2 = story(&app, &owner, p1["id"].as_str().unwrap_or_default(), json!({ "title": "Logout" })).await;
        assert_eq!(s2["code"], "ST-002");
        assert_eq!(s2["sort_order"], 2.0);

        let t1 = task(&app, &owner, "st-1", "Form").await;
        assert_eq!(t1["code"], "T-1");
        assert_eq!(t1["status"], "todo");
        assert_eq!(t1["verify_required"], "aligned_or_partial");
        assert_eq!(t1["story_id"], s1["id"]);
        assert_eq!(t1["story_status"], "open");
        assert_eq!(t1["story_status_change"], Value::Null);
        let t2 = created(&app, "/api/stories/ST-001/tasks", &owner, json!({
            "title": "API", "implementation_plan": "Edit `src/api.rs`", "verify_required": "any",
            "verify_only": true, "requires_opus": true, "repo_url": "https://git.example.com/a/b", "priority": 4
        })).await;
        assert_eq!(t2["code"], "T-2");
        assert_eq!(t2["sort_order"], 2.0);
        assert_eq!(t2["verify_required"], "any");
        assert_eq!(t2["verify_only"], true);
        assert_eq!(t2["repo_url"], "https://git.example.com/a/b");

        // Every item is readable by id and by code, in any case.
        for path in ["/api/pbis/PBI-2", "/api/pbis/pbi-2"] {
            assert_eq!(get(&app, &owner, path).await["id"], p2["id"]);
        }
        assert_eq!(get(&app, &owner, &format!("/api/pbis/{}", p2["id"].as_str().unwrap_or_default())).await["code"], "PBI-2");
        assert_eq!(get(&app, &owner, "/api/stories/st-002").await["id"], s2["id"]);
        assert_eq!(get(&app, &owner, "/api/tasks/t-2").await["implementation_plan"], "Edit `src/api.rs`");

        // Lists are pages.
        let page = get(&app, &owner, &format!("/api/products/{}/pbis", m.product_id)).await;
        assert_eq!(codes(&page), ["PBI-1", "PBI-2"]);
        assert_eq!(page["total"], 2);
        assert_eq!(page["page"], 1);
        assert_eq!(page["limit"], 50);
        assert_eq!(codes(&get(&app, &owner, "/api/pbis/PBI-1/stories").await), ["ST-001", "ST-002"]);
        assert_eq!(codes(&get(&app, &owner, "/api/stories/ST-001/tasks").await), ["T-1", "T-2"]);

        // PATCH changes fields; null clears an optional one; codes never change.
        let res = app.json(Method::PATCH, "/api/pbis/PBI-1", &owner,
            &json!({ "title": "First!", "description": "x", "priority": 3 })).await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.text);
        assert_eq!(res.json()["priority"], 3);
        let res = app.json(Method::PATCH, "/api/pbis/PBI-1", &owner, &json!({ "description": null })).await;
        assert_eq!(res.json()["description"], Value::Null);
        assert_eq!(res.json()["title"], "First!");
        assert_eq!(res.json()["code"], "PBI-1");
        let res = app.json(Method::PATCH, "/api/stories/ST-002", &owner,
            &json!({ "title": "Sign out", "acceptance_criteria": "gone" })).await;
        assert_eq!(res.json()["acceptance_criteria"], "gone");
        let res = app.json(Method::PATCH, "/api/tasks/T-1", &owner,
            &json!({ "implementation_plan": "Plan", "title": "Form v2" })).await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.text);
        assert_eq!(res.json()["implementation_plan"], "Plan");
        assert_eq!(res.json()["status"], "todo");
        assert_eq!(res.json()["pbi_status_change"], Value::Null);

        // PBI status by hand.
        let res = app.json(Method::PATCH, "/api/pbis/PBI-2", &owner, &json!({ "status": "blocked" })).await;
        assert_eq!(res.json()["status"], "blocked");

        // Deleting answers 204 and the item is gone.
        let res = app.send_delete("/api/tasks/T-2", &owner).await;
        assert_eq!(res.status, StatusCode::NO_CONTENT);
        assert_eq!(app.get("/api/tasks/T-2", &owner).await.status, StatusCode::NOT_FOUND);
        // Codes are not reused.
        assert_eq!(task(&app, &owner, "ST-001", "Again").await["code"], "T-3");
    }

    async fn invalid_input_names_every_field_and_changes_nothing(t) {
        let app = TestApp::new(t).await;
        let m = app.matrix().await;
        let owner = bearer(&m.owner);
        pbi(&app, &owner, &m.product_id, "P").await;
        story(&app, &owner, "PBI-1", json!({ "title": "S" })).await;
        task(&app, &owner, "ST-001", "T").await;
        story(&app, &owner, "PBI-1", json!({ "title": "No tasks" })).await;
        let before = snapshot(&app).await;
        let long = "x".repeat(4001);
        let cases: Vec<(Method, String, Value, Vec<&str>)> = vec![
            (Method::POST, format!("/api/products/{}/pbis", m.product_id),
                json!({ "title": " ", "description": long, "priority": 5 }), vec!["title", "description", "priority"]),
            (Method::POST, format!("/api/products/{}/pbis", m.product_id), json!({ "title": "x".repeat(201) }), vec!["title"]),
            (Method::POST, format!("/api/products/{}/pbis", m.product_id), json!({ "title": "a", "colour": "red" }), vec!["colour"]),
            (Method::POST, "/api/pbis/PBI-1/stories".into(),
                json!({ "title": "", "acceptance_criteria": long, "priority": 0 }), vec!["title", "acceptance_criteria", "priority"]),
            (Method::POST, "/api/pbis/PBI-1/stories".into(), json!({ "title": "a", "sprint_id": "SP-9" }), vec!["sprint_id"]),
            (Method::POST, "/api/pbis/PBI-1/stories".into(), json!({ "title": "a", "assignee_id": "nobody" }), vec!["assignee_id"]),
            (Method::POST, "/api/stories/ST-001/tasks".into(),
                json!({ "title": "a", "implementation_plan": "p".repeat(8001), "repo_url": "not a url" }),
                vec!["implementation_plan", "repo_url"]),
            (Method::POST, "/api/stories/ST-001/tasks".into(), json!({ "title": "a", "status": "done" }), vec!["status"]),
            (Method::PATCH, "/api/tasks/T-1".into(), json!({ "status": "finished" }), vec!["status"]),
            (Method::PATCH, "/api/tasks/T-1".into(), json!({}), vec!["status"]),
            (Method::PATCH, "/api/tasks/T-1".into(), json!({ "title": "ok", "sprint_run_id": "r" }), vec!["sprint_run_id"]),
            (Method::PATCH, "/api/stories/ST-001".into(), json!({ "sprint_id": "x" }), vec!["sprint_id"]),
            (Method::PATCH, "/api/stories/ST-002".into(), json!({ "status": "in_sprint" }), vec!["status"]),
            (Method::PATCH, "/api/pbis/PBI-1".into(), json!({ "priority": 7 }), vec!["priority"]),
            (Method::POST, "/api/stories/ST-001/log".into(), json!({ "type": "test_result", "content": "ran" }), vec!["status"]),
            (Method::POST, "/api/stories/ST-001/log".into(),
                json!({ "type": "commit", "content": "c", "commit_hash": "xyz", "status": "passed" }),
                vec!["status", "commit_hash", "commit_message"]),
            (Method::POST, "/api/stories/ST-001/log".into(),
                json!({ "type": "implementation_plan", "content": " ", "metadata": [1] }), vec!["content", "metadata"]),
            (Method::POST, "/api/stories/ST-001/log".into(), json!({ "type": "note", "content": "x" }), vec!["type"]),
        ];
        for (method, path, body, want) in cases {
            let res = app.json(method.clone(), &path, &owner, &body).await;
            assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{method} {path} {body}: {}", res.text);
            assert_eq!(res.error_code(), "validation_error");
            assert_eq!(paths(&res), want, "{method} {path} {body}: {}", res.text);
        }
        let res = app.raw(Method::POST, "/api/stories/ST-001/tasks", &owner, "application/json", "{".into()).await;
        assert_eq!(res.status, StatusCode::BAD_REQUEST);
        // A story with tasks takes its status from them: a hand-set status is a conflict that says why.
        let res = app.json(Method::PATCH, "/api/stories/ST-001", &owner, &json!({ "status": "done" })).await;
        assert_eq!(res.status, StatusCode::CONFLICT, "{}", res.text);
        assert!(res.text.contains("ST-001 has 1 task(s), so its status (open) follows them"), "{}", res.text);
        assert_eq!(snapshot(&app).await, before, "failed requests changed the database");
    }

    async fn moves_take_the_midpoint_and_renumber_when_the_gap_is_too_small(t) {
        let app = TestApp::new(t).await;
        let m = app.matrix().await;
        let owner = bearer(&m.owner);
        pbi(&app, &owner, &m.product_id, "P").await;
        story(&app, &owner, "PBI-1", json!({ "title": "S" })).await;
        for n in 1..=4 {
            task(&app, &owner, "ST-001", &format!("T{n}")).await;
        }
        let mv = |task: &'static str, body: Value| {
            let app = &app;
            let owner = owner.clone();
            async move { app.json(Method::POST, &format!("/api/tasks/{task}/move"), &owner, &body).await }
        };
        let order = || async { codes(&get(&app, &owner, "/api/stories/ST-001/tasks").await) };

        let res = mv("T-4", json!({ "before_id": "T-2" })).await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.text);
        assert_eq!(res.json()["sort_order"], 1.5, "midpoint of T-1 (1) and T-2 (2)");
        assert_eq!(order().await, ["T-1", "T-4", "T-2", "T-3"]);
        let res = mv("T-1", json!({ "after_id": "t-3" })).await;
        assert_eq!(res.json()["sort_order"], 4.0, "after the last");
        assert_eq!(order().await, ["T-4", "T-2", "T-3", "T-1"]);
        let res = mv("T-1", json!({ "index": 0 })).await;
        assert_eq!(res.json()["sort_order"], 0.5, "before the first");
        assert_eq!(order().await, ["T-1", "T-4", "T-2", "T-3"]);
        let res = mv("T-1", json!({ "index": 99 })).await;
        assert_eq!(order().await, ["T-4", "T-2", "T-3", "T-1"]);
        assert_eq!(res.json()["sort_order"], 4.0);

        // Halving the same gap again and again eventually renumbers the list, keeping the order.
        let (mut a, mut b) = ("T-4", "T-2");
        for _ in 0..60 {
            let res = mv(a, json!({ "after_id": b })).await;
            assert_eq!(res.status, StatusCode::OK, "{}", res.text);
            std::mem::swap(&mut a, &mut b);
        }
        let page = get(&app, &owner, "/api/stories/ST-001/tasks").await;
        let sorts: Vec<f64> = page["items"].as_array().expect("items").iter().map(|i| i["sort_order"].as_f64().expect("f64")).collect();
        assert!(sorts.windows(2).all(|w| w[0] < w[1]), "strictly increasing: {sorts:?}");
        assert!(sorts.windows(2).all(|w| w[1] - w[0] > 1e-9), "renumbered, gaps never vanish: {sorts:?}");
        assert_eq!(codes(&page).len(), 4);

        // Bad targets name the field and change nothing.
        let before = snapshot(&app).await;
        for (body, path) in [
            (json!({}), "index"),
            (json!({ "index": 1, "before_id": "T-2" }), "before_id"),
            (json!({ "before_id": "T-99" }), "before_id"),
            (json!({ "after_id": "T-1" }), "after_id"),
        ] {
            let res = mv("T-1", body.clone()).await;
            assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {}", res.text);
            assert_eq!(paths(&res), [path], "{body}");
        }
        assert_eq!(snapshot(&app).await, before);

        // PBIs and stories move the same way, by code or id.
        pbi(&app, &owner, &m.product_id, "P2").await;
        pbi(&app, &owner, &m.product_id, "P3").await;
        let res = app.json(Method::POST, "/api/pbis/PBI-3/move", &owner, &json!({ "before_id": "PBI-1" })).await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.text);
        assert_eq!(codes(&get(&app, &owner, &format!("/api/products/{}/pbis", m.product_id)).await), ["PBI-3", "PBI-1", "PBI-2"]);
        story(&app, &owner, "PBI-1", json!({ "title": "S2" })).await;
        let res = app.json(Method::POST, "/api/stories/ST-002/move", &owner, &json!({ "index": 0 })).await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.text);
        assert_eq!(codes(&get(&app, &owner, "/api/pbis/PBI-1/stories").await), ["ST-002", "ST-001"]);
        // A sibling from another parent is not a valid neighbour.
        story(&app, &owner, "PBI-2", json!({ "title": "Other" })).await;
        let res = app.json(Method::POST, "/api/stories/ST-002/move", &owner, &json!({ "after_id": "ST-003" })).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(paths(&res), ["after_id"]);
    }

    async fn reparenting_stays_in_the_product_and_keeps_codes_and_denormalised_ids(t) {
        let app = TestApp::new(t).await;
        let m = app.matrix().await;
        let owner = bearer(&m.owner);
        let sp = sprint(&app, &m.product_id, "SP-1", "OPEN").await;
        pbi(&app, &owner, &m.product_id, "A").await;
        let b = pbi(&app, &owner, &m.product_id, "B").await;
        story(&app, &owner, "PBI-1", json!({ "title": "S1" })).await;
        story(&app, &owner, "PBI-2", json!({ "title": "In sprint", "sprint_id": sp })).await;
        story(&app, &owner, "PBI-2", json!({ "title": "S3" })).await;
        task(&app, &owner, "ST-001", "T").await;

        // A story moves to another PBI: same code, appended there.
        let res = app.json(Method::PATCH, "/api/stories/ST-001", &owner, &json!({ "pbi_id": "PBI-2" })).await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.text);
        let moved = res.json();
        assert_eq!(moved["code"], "ST-001");
        assert_eq!(moved["pbi_id"], b["id"]);
        assert_eq!(moved["sort_order"], 3.0);
        assert_eq!(codes(&get(&app, &owner, "/api/pbis/PBI-2/stories").await), ["ST-002", "ST-003", "ST-001"]);
        assert_eq!(get(&app, &owner, "/api/pbis/PBI-1/stories").await["total"], 0);

        // A task moves to a sprint story: takes its sprint, keeps its code.
        let res = app.json(Method::PATCH, "/api/tasks/T-1", &owner, &json!({ "story_id": "ST-002" })).await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.text);
        let t1 = res.json();
        assert_eq!(t1["code"], "T-1");
        assert_eq!(t1["sprint_id"], sp.as_str());
        assert_eq!(t1["story_status"], "in_sprint");
        assert_eq!(get(&app, &owner, "/api/stories/ST-002/tasks").await["total"], 1);
        // …and back to a backlog story: sprint cleared.
        let res = app.json(Method::PATCH, "/api/tasks/T-1", &owner, &json!({ "story_id": "ST-003" })).await;
        assert_eq!(res.json()["sprint_id"], Value::Null);

        // Another product (even one the caller owns) is refused, naming the field.
        let owner_id = me(&app, &owner).await;
        let other = app.product_row(&owner_id, "Other").await;
        let op = pbi(&app, &owner, &other, "Elsewhere").await;
        let os = story(&app, &owner, op["id"].as_str().unwrap_or_default(), json!({ "title": "Far" })).await;
        // (The other product has its own ST-001 now, so codes are ambiguous for this owner: use ids.)
        let s1 = moved["id"].as_str().expect("id").to_string();
        let t1_path = format!("/api/tasks/{}", t1["id"].as_str().expect("id"));
        let res = app.get("/api/stories/ST-001", &owner).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "ambiguous: {}", res.text);
        let before = snapshot(&app).await;
        let res = app.json(Method::PATCH, &format!("/api/stories/{s1}"), &owner, &json!({ "pbi_id": op["id"] })).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", res.text);
        assert_eq!(paths(&res), ["pbi_id"]);
        let res = app.json(Method::PATCH, &t1_path, &owner, &json!({ "story_id": os["id"] })).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", res.text);
        assert_eq!(paths(&res), ["story_id"]);
        let res = app.json(Method::PATCH, &t1_path, &owner, &json!({ "story_id": "T-1" })).await;
        assert_eq!(paths(&res), ["story_id"]);
        assert!(res.text.contains("task code"), "{}", res.text);
        assert_eq!(snapshot(&app).await, before);
    }

    async fn refs_give_hints_for_wrong_kinds_ask_for_ids_when_ambiguous_and_hide_other_products(t) {
        let app = TestApp::new(t).await;
        let m = app.matrix().await;
        let owner = bearer(&m.owner);
        let owner_id = me(&app, &owner).await;
        pbi(&app, &owner, &m.product_id, "P").await;
        story(&app, &owner, "PBI-1", json!({ "title": "S" })).await;
        task(&app, &owner, "ST-001", "T").await;

        let res = app.get("/api/tasks/ST-001", &owner).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(res.text.contains("ST-001 is a story code; pass a task id or T-… code"), "{}", res.text);
        let res = app.get("/api/stories/t-1", &owner).await;
        assert!(res.text.contains("T-1 is a task code; pass a story id or ST-… code"), "{}", res.text);
        let res = app.json(Method::POST, "/api/pbis/ST-001/stories", &owner, &json!({ "title": "x" })).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(paths(&res), ["pbi_id"]);
        assert_eq!(app.get("/api/tasks/T-404", &owner).await.status, StatusCode::NOT_FOUND);
        assert_eq!(app.get("/api/tasks/no-such-id", &owner).await.status, StatusCode::NOT_FOUND);

        // The same code in a second product of the same owner: ambiguous, ids offered.
        let other = app.product_row(&owner_id, "Second").await;
        let p = pbi(&app, &owner, &other, "Q").await;
        assert_eq!(p["code"], "PBI-1");
        let res = app.get("/api/pbis/PBI-1", &owner).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", res.text);
        assert!(res.text.contains("pass the PBI id"), "{}", res.text);
        assert!(res.text.contains(p["id"].as_str().unwrap_or("?")), "{}", res.text);
        // A token scoped to one product sees only that one: no ambiguity.
        let res = app.get("/api/pbis/PBI-1", &bearer(&m.scoped_in)).await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.text);
        assert_eq!(res.json()["product_id"], m.product_id.as_str());
        // The member only sees the matrix product.
        let res = app.get("/api/pbis/pbi-1", &bearer(&m.writer)).await;
        assert_eq!(res.json()["product_id"], m.product_id.as_str());
        // Outsiders and out-of-scope tokens get 404 by id and by code.
        for who in [&m.outsider, &m.scoped_out] {
            assert_eq!(app.get("/api/tasks/T-1", &bearer(who)).await.status, StatusCode::NOT_FOUND);
            assert_eq!(app.get(&format!("/api/pbis/{}", p["id"].as_str().unwrap_or_default()), &bearer(&m.outsider)).await.status, StatusCode::NOT_FOUND);
        }
    }

    async fn lists_filter_by_status_sprint_pbi_assignee_priority_and_text_and_paginate(t) {
        let app = TestApp::new(t).await;
        let m = app.matrix().await;
        let owner = bearer(&m.owner);
        let owner_id = me(&app, &owner).await;
        let sp = sprint(&app, &m.product_id, "SP-1", "OPEN").await;
        pbi(&app, &owner, &m.product_id, "Checkout flow").await;
        let p2 = created(&app, &format!("/api/products/{}/pbis", m.product_id), &owner,
            json!({ "title": "50% off_sale", "priority": 1 })).await;
        pbi(&app, &owner, &m.product_id, "500 offers").await;
        story(&app, &owner, "PBI-1", json!({ "title": "Pay", "sprint_id": "sp-1" })).await;
        story(&app, &owner, "PBI-1", json!({ "title": "Refund", "assignee_id": owner_id, "priority": 4 })).await;
        story(&app, &owner, "PBI-1", json!({ "title": "Receipt" })).await;
        for n in 0..5 {
            task(&app, &owner, "ST-001", &format!("Pay step {n}")).await;
        }
        task(&app, &owner, "ST-002", "Refund step").await;
        set_status(&app, &owner, "T-2", "in_progress").await;

        let pbis = |q: &str| {
            let app = &app;
            let owner = owner.clone();
            let path = format!("/api/products/{}/pbis?{q}", m.product_id);
            async move { codes(&get(app, &owner, &path).await) }
        };
        assert_eq!(pbis("q=CHECKOUT").await, ["PBI-1"], "case-insensitive");
        assert_eq!(pbis("q=50%25").await, ["PBI-2"], "% is literal");
        assert_eq!(pbis("q=f_s").await, ["PBI-2"], "_ is literal");
        assert_eq!(pbis("q=pbi-3").await, ["PBI-3"], "codes match too");
        assert_eq!(pbis("priority=1").await, ["PBI-2"]);
        assert_eq!(pbis("status=READY&limit=2&page=2").await, ["PBI-3"]);
        let page = get(&app, &owner, &format!("/api/products/{}/pbis?limit=2", m.product_id)).await;
        assert_eq!((page["total"].as_u64(), page["limit"].as_u64(), codes(&page).len()), (Some(3), Some(2), 2));
        assert_eq!(p2["priority"], 1);

        let stories = |q: &str| {
            let app = &app;
            let owner = owner.clone();
            let path = format!("/api/pbis/PBI-1/stories?{q}");
            async move { codes(&get(app, &owner, &path).await) }
        };
        assert_eq!(stories("status=in_sprint").await, ["ST-001"]);
        assert_eq!(stories(&format!("sprint_id={sp}")).await, ["ST-001"]);
        assert_eq!(stories("sprint_id=SP-1").await, ["ST-001"]);
        assert_eq!(stories("sprint_id=none").await, ["ST-002", "ST-003"]);
        assert_eq!(stories(&format!("assignee_id={owner_id}")).await, ["ST-001", "ST-002"], "ST-001 got its assignee from the first task");
        assert_eq!(stories("priority=4").await, ["ST-002"]);
        assert_eq!(stories("q=re").await, ["ST-002", "ST-003"]);

        let tasks = |q: &str| {
            let app = &app;
            let owner = owner.clone();
            let path = format!("/api/stories/ST-001/tasks?{q}");
            async move { codes(&get(app, &owner, &path).await) }
        };
        assert_eq!(tasks("status=in_progress").await, ["T-2"]);
        assert_eq!(tasks("status=todo&limit=2&page=2").await, ["T-4", "T-5"]);
        assert_eq!(tasks("q=STEP%204").await, ["T-5"]);
        assert_eq!(tasks(&format!("sprint_id={sp}&pbi_id=PBI-1&assignee_id={owner_id}")).await.len(), 5);
        assert_eq!(tasks("pbi_id=PBI-2").await.len(), 0);

        // Bad parameters are 422s naming them.
        for (path, field) in [
            (format!("/api/products/{}/pbis?status=maybe", m.product_id), "status"),
            (format!("/api/products/{}/pbis?limit=500", m.product_id), "limit"),
            (format!("/api/products/{}/pbis?page=0", m.product_id), "page"),
            (format!("/api/products/{}/pbis?page=abc", m.product_id), "page"),
            ("/api/pbis/PBI-1/stories?sprint_id=SP-9".into(), "sprint_id"),
            ("/api/stories/ST-001/tasks?status=open".into(), "status"),
            ("/api/stories/ST-001/tasks?priority=high".into(), "priority"),
            ("/api/stories/ST-001/log?type=note".into(), "type"),
        ] {
            let res = app.get(&path, &owner).await;
            assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{path}: {}", res.text);
            assert_eq!(paths(&res), [field], "{path}: {}", res.text);
        }
    }

    async fn story_logs_are_validated_and_listed_newest_first(t) {
        let app = TestApp::new(t).await;
        let m = app.matrix().await;
        let owner = bearer(&m.owner);
        pbi(&app, &owner, &m.product_id, "P").await;
        story(&app, &owner, "PBI-1", json!({ "title": "S" })).await;
        let plan = created(&app, "/api/stories/ST-001/log", &owner,
            json!({ "type": "implementation_plan", "content": "Plan A", "metadata": { "model": "opus", "n": 3 } })).await;
        assert_eq!(plan["type"], "implementation_plan");
        assert_eq!(plan["metadata"]["model"], "opus");
        assert_eq!(plan["status"], Value::Null);
        let test = created(&app, "/api/stories/st-1/log", &owner,
            json!({ "type": "test_result", "content": "42 passed", "status": "PASSED" })).await;
        assert_eq!(test["status"], "passed");
        let commit = created(&app, "/api/stories/ST-001/log", &bearer(&m.writer),
            json!({ "type": "commit", "content": "c", "commit_hash": "ABCDEF1234", "commit_message": "Fix login" })).await;
        assert_eq!(commit["commit_hash"], "abcdef1234");
        assert_eq!(commit["commit_message"], "Fix login");
        let page = get(&app, &owner, "/api/stories/ST-001/log").await;
        let types: Vec<&str> = page["items"].as_array().expect("items").iter().map(|i| i["type"].as_str().unwrap_or("")).collect();
        assert_eq!(types, ["commit", "test_result", "implementation_plan"], "newest first");
        assert_eq!(page["total"], 3);
        let only = get(&app, &owner, "/api/stories/ST-001/log?type=test_result&limit=1").await;
        assert_eq!(only["items"][0]["id"], test["id"]);
        assert_eq!(app.count("story_logs").await, 3);
        // Reads for readers, refusals for everyone who may not write.
        assert_eq!(app.get("/api/stories/ST-001/log", &bearer(&m.reader)).await.status, StatusCode::OK);
        assert_eq!(app.get("/api/stories/ST-001/log", &bearer(&m.outsider)).await.status, StatusCode::NOT_FOUND);
        let body = json!({ "type": "implementation_plan", "content": "x" });
        for (who, status) in [(&m.reader, StatusCode::FORBIDDEN), (&m.demo, StatusCode::FORBIDDEN), (&m.outsider, StatusCode::NOT_FOUND)] {
            let res = app.json(Method::POST, "/api/stories/ST-001/log", &bearer(who), &body).await;
            assert_eq!(res.status, status, "{}", res.text);
        }
        assert_eq!(app.count("story_logs").await, 3);
        let big = json!({ "type": "implementation_plan", "content": "x", "metadata": { "blob": "y".repeat(17_000) } });
        let res = app.json(Method::POST, "/api/stories/ST-001/log", &owner, &big).await;
        assert_eq!(paths(&res), ["metadata"]);
    }

    async fn deleting_cascades_down_and_leaves_other_items_alone(t) {
        let app = TestApp::new(t).await;
        let m = app.matrix().await;
        let owner = bearer(&m.owner);
        pbi(&app, &owner, &m.product_id, "Doomed").await;
        pbi(&app, &owner, &m.product_id, "Kept").await;
        for p in ["PBI-1", "PBI-1", "PBI-2"] {
            story(&app, &owner, p, json!({ "title": "S" })).await;
        }
        for s in ["ST-001", "ST-001", "ST-002", "ST-003"] {
            task(&app, &owner, s, "T").await;
        }
        created(&app, "/api/stories/ST-001/log", &owner, json!({ "type": "implementation_plan", "content": "p" })).await;
        assert_eq!((app.count("pbis").await, app.count("stories").await, app.count("tasks").await), (2, 3, 4));

        let res = app.send_delete("/api/stories/ST-003", &owner).await;
        assert_eq!(res.status, StatusCode::NO_CONTENT, "{}", res.text);
        assert_eq!((app.count("stories").await, app.count("tasks").await), (2, 3));
        let res = app.send_delete("/api/pbis/PBI-1", &owner).await;
        assert_eq!(res.status, StatusCode::NO_CONTENT, "{}", res.text);
        assert_eq!((app.count("pbis").await, app.count("stories").await, app.count("tasks").await, app.count("story_logs").await), (1, 0, 0, 0));
        assert_eq!(app.get("/api/stories/ST-001", &owner).await.status, StatusCode::NOT_FOUND);
        assert_eq!(app.send_delete("/api/pbis/PBI-1", &owner).await.status, StatusCode::NOT_FOUND);
        assert_eq!(get(&app, &owner, "/api/pbis/PBI-2").await["title"], "Kept");
    }

    async fn sixty_concurrent_creates_of_each_kind_in_one_product_all_get_distinct_codes(t) {
        let app = TestApp::new(t).await;
        let m = app.matrix().await;
        let owner = bearer(&m.owner);
        pbi(&app, &owner, &m.product_id, "Parent").await;
        story(&app, &owner, "PBI-1", json!({ "title": "Parent" })).await;
        let mut handles = Vec::new();
        for n in 0..60 {
            for (path, who) in [
                (format!("/api/products/{}/pbis", m.product_id), m.owner.clone()),
                ("/api/pbis/PBI-1/stories".to_string(), m.writer.clone()),
                ("/api/stories/ST-001/tasks".to_string(), m.scoped_in.clone()),
            ] {
                let router = app.router.clone();
                handles.push(tokio::spawn(async move {
                    use tower::ServiceExt;
                    let req = axum::http::Request::builder()
                        .method("POST")
                        .uri(&path)
                        .header("host", "127.0.0.1:8080")
                        .header("authorization", format!("Bearer {who}"))
                        .header("content-type", "application/json")
                        .body(axum::body::Body::from(json!({ "title": format!("item {n}") }).to_string()))
                        .expect("request");
                    let res = router.oneshot(req).await.expect("router");
                    let status = res.status();
                    let bytes = axum::body::to_bytes(res.into_body(), usize::MAX).await.expect("body");
                    let body: Value = serde_json::from_slice(&bytes).expect("json");
                    (status, body["code"].as_str().unwrap_or_default().to_string(), body["sort_order"].as_f64())
                }));
            }
        }
        let (mut pbis, mut stories, mut tasks) = (Vec::new(), Vec::new(), Vec::new());
        for h in handles {
            let (status, code, _) = h.await.expect("join");
            assert_eq!(status, StatusCode::CREATED, "{code}");
            match code.split('-').next() {
                Some("PBI") => pbis.push(code),
                Some("ST") => stories.push(code),
                _ => tasks.push(code),
            }
        }
        let sorted = |mut v: Vec<String>| { v.sort(); v.dedup(); v };
        let (pbis, stories, tasks) = (sorted(pbis), sorted(stories), sorted(tasks));
        let mut want_p: Vec<String> = (2..=61).map(|n| format!("PBI-{n}")).collect();
        let mut want_s: Vec<String> = (2..=61).map(|n| format!("ST-{n:03}")).collect();
        let mut want_t: Vec<String> = (1..=60).map(|n| format!("T-{n}")).collect();
        want_p.sort();
        want_s.sort();
        want_t.sort();
        assert_eq!(pbis, want_p);
        assert_eq!(stories, want_s);
        assert_eq!(tasks, want_t);
        // Appends never collide either: each sibling list has distinct sort orders.
        let page = get(&app, &owner, "/api/stories/ST-001/tasks?limit=200").await;
        let mut sorts: Vec<f64> = page["items"].as_array().expect("items").iter().map(|i| i["sort_order"].as_f64().expect("f64")).collect();
        sorts.dedup();
        assert_eq!(sorts.len(), 60);
    }

    async fn writes_to_an_archived_product_are_conflicts_that_change_nothing(t) {
        let app = TestApp::new(t).await;
        let m = app.matrix().await;
        let owner = bearer(&m.owner);
        pbi(&app, &owner, &m.product_id, "P").await;
        story(&app, &owner, "PBI-1", json!({ "title": "S" })).await;
        task(&app, &owner, "ST-001", "T").await;
        let res = app.json(Method::POST, &format!("/api/products/{}/archive", m.product_id), &owner, &json!({})).await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.text);
        let before = snapshot(&app).await;
        for (method, path, body) in [
            (Method::POST, format!("/api/products/{}/pbis", m.product_id), json!({ "title": "x" })),
            (Method::PATCH, "/api/pbis/PBI-1".into(), json!({ "title": "x" })),
            (Method::POST, "/api/pbis/PBI-1/stories".into(), json!({ "title": "x" })),
            (Method::POST, "/api/stories/ST-001/move".into(), json!({ "index": 0 })),
            (Method::POST, "/api/stories/ST-001/tasks".into(), json!({ "title": "x" })),
            (Method::PATCH, "/api/tasks/T-1".into(), json!({ "status": "done" })),
            (Method::POST, "/api/stories/ST-001/log".into(), json!({ "type": "commit", "content": "c", "commit_hash": "abcdef1", "commit_message": "m" })),
            (Method::DELETE, "/api/tasks/T-1".into(), Value::Null),
        ] {
            let res = if method == Method::DELETE { app.send_delete(&path, &owner).await } else { app.json(method.clone(), &path, &owner, &body).await };
            assert_eq!(res.status, StatusCode::CONFLICT, "{method} {path}: {}", res.text);
            assert!(res.text.contains("archived"), "{}", res.text);
        }
        assert_eq!(snapshot(&app).await, before);
        assert_eq!(get(&app, &owner, "/api/tasks/T-1").await["status"], "todo", "reads still work");
    }

    async fn every_write_route_follows_the_permission_matrix(t) {
        let app = TestApp::new(t).await;
        let m: Matrix = app.matrix().await;
        let owner = bearer(&m.owner);
        for (name, token, may_read, may_write) in m.callers() {
            let who = bearer(&token);
            // Fresh items per caller, made by the owner.
            let p = pbi(&app, &owner, &m.product_id, "P").await;
            let pbi_id = p["id"].as_str().expect("id").to_string();
            let s = story(&app, &owner, &pbi_id, json!({ "title": "S" })).await;
            let story_id = s["id"].as_str().expect("id").to_string();
            let sibling = story(&app, &owner, &pbi_id, json!({ "title": "S2" })).await;
            let tk = task(&app, &owner, &story_id, "T").await;
            let task_id = tk["id"].as_str().expect("id").to_string();
            task(&app, &owner, &story_id, "T2").await;

            // Reads.
            for path in [format!("/api/pbis/{pbi_id}"), format!("/api/stories/{story_id}"), format!("/api/tasks/{task_id}"),
                format!("/api/products/{}/pbis", m.product_id), format!("/api/pbis/{pbi_id}/stories"),
                format!("/api/stories/{story_id}/tasks"), format!("/api/stories/{story_id}/log")] {
                let res = app.get(&path, &who).await;
                let want = if may_read { StatusCode::OK } else { StatusCode::NOT_FOUND };
                assert_eq!(res.status, want, "{name} GET {path}: {}", res.text);
            }

            let before = snapshot(&app).await;
            let writes: Vec<(Method, String, Value, StatusCode)> = vec![
                (Method::POST, format!("/api/products/{}/pbis", m.product_id), json!({ "title": "new" }), StatusCode::CREATED),
                (Method::PATCH, format!("/api/pbis/{pbi_id}"), json!({ "title": "changed" }), StatusCode::OK),
                (Method::POST, format!("/api/pbis/{pbi_id}/move"), json!({ "index": 0 }), StatusCode::OK),
                (Method::POST, format!("/api/pbis/{pbi_id}/stories"), json!({ "title": "new" }), StatusCode::CREATED),
                (Method::PATCH, format!("/api/stories/{story_id}"), json!({ "priority": 1 }), StatusCode::OK),
                (Method::POST, format!("/api/stories/{story_id}/move"), json!({ "after_id": sibling["id"] }), StatusCode::OK),
                (Method::POST, format!("/api/stories/{story_id}/log"), json!({ "type": "implementation_plan", "content": "p" }), StatusCode::CREATED),
                (Method::POST, format!("/api/stories/{story_id}/tasks"), json!({ "title": "new" }), StatusCode::CREATED),
                (Method::PATCH, format!("/api/tasks/{task_id}"), json!({ "status": "done" }), StatusCode::OK),
                (Method::POST, format!("/api/tasks/{task_id}/move"), json!({ "index": 5 }), StatusCode::OK),
                (Method::DELETE, format!("/api/tasks/{task_id}"), Value::Null, StatusCode::NO_CONTENT),
                (Method::DELETE, format!("/api/stories/{story_id}"), Value::Null, StatusCode::NO_CONTENT),
                (Method::DELETE, format!("/api/pbis/{pbi_id}"), Value::Null, StatusCode::NO_CONTENT),
            ];
            for (method, path, body, ok) in writes {
                let res = if method == Method::DELETE {
                    app.send_delete(&path, &who).await
                } else {
                    app.json(method.clone(), &path, &who, &body).await
                };
                if may_write {
                    assert_eq!(res.status, ok, "{name} {method} {path}: {}", res.text);
                } else {
                    assert_eq!(res.status, Matrix::refused_status(may_read), "{name} {method} {path}: {}", res.text);
                    if name == "demo member" {
                        assert_eq!(res.error_code(), "demo_read_only", "{name} {method} {path}");
                    }
                }
            }
            if !may_write {
                assert_eq!(snapshot(&app).await, before, "{name}: a refused write changed the database");
            }
        }
    }
}

impl TestApp {
    /// DELETE without a body.
    pub async fn send_delete(&self, path: &str, who: &As) -> Res {
        self.raw(Method::DELETE, path, who, "application/json", String::new()).await
    }
}
