//! Sprints over HTTP: codes and validation, lists, PATCH rules, adding and
//! removing stories (tasks follow), closing (unfinished stories back to the
//! backlog or on to another sprint, PBIs promoted), archive and fail with
//! the run cascade, the board, and the permission matrix of every write.

use axum::http::{Method, StatusCode};
use baton_testkit::backend_tests;
use serde_json::{Value, json};

use crate::harness::{As, Matrix, TestApp};

/// Direct row fixtures (the item services are tested elsewhere) and a
/// snapshot of every backlog row for "nothing changed" checks.
pub mod fx {
    use baton_store::{
        entities::{job, pbi, sprint, sprint_run, story, task},
        new_id, now,
        sea_orm::{ActiveModelTrait, ActiveValue::Set, ConnectionTrait, Statement},
    };

    use crate::harness::TestApp;

    pub async fn pbi(app: &TestApp, product_id: &str, code: &str, status: &str, sort: f64) -> String {
        let t = now();
        pbi::ActiveModel {
            id: Set(new_id()),
            product_id: Set(product_id.into()),
            code: Set(code.into()),
            title: Set(format!("PBI {code}")),
            priority: Set(2),
            sort_order: Set(sort),
            status: Set(status.into()),
            created_at: Set(t),
            updated_at: Set(t),
            ..Default::default()
        }
        .insert(&app.t.db)
        .await
        .expect("pbi row")
        .id
    }

    #[allow(clippy::too_many_arguments, reason = "a fixture row names its columns")]
    pub async fn story(
        app: &TestApp,
        product_id: &str,
        pbi_id: &str,
        code: &str,
        sprint_id: Option<&str>,
        status: &str,
        sort: f64,
    ) -> String {
        let t = now();
        story::ActiveModel {
            id: Set(new_id()),
            pbi_id: Set(pbi_id.into()),
            product_id: Set(product_id.into()),
            sprint_id: Set(sprint_id.map(str::to_string)),
            code: Set(code.into()),
            title: Set(format!("Story {code}")),
            priority: Set(2),
            sort_order: Set(sort),
            status: Set(status.into()),
            created_at: Set(t),
            updated_at: Set(t),
            ..Default::default()
        }
        .insert(&app.t.db)
        .await
        .expect("story row")
        .id
    }

    pub async fn task(
        app: &TestApp,
        product_id: &str,
        story_id: &str,
        code: &str,
        sprint_id: Option<&str>,
        status: &str,
        sort: f64,
    ) -> String {
        let t = now();
        task::ActiveModel {
            id: Set(new_id()),
            story_id: Set(story_id.into()),
            product_id: Set(product_id.into()),
            sprint_id: Set(sprint_id.map(str::to_string)),
            code: Set(code.into()),
            title: Set(format!("Task {code}")),
            priority: Set(2),
            sort_order: Set(sort),
            status: Set(status.into()),
            created_at: Set(t),
            updated_at: Set(t),
            ..Default::default()
        }
        .insert(&app.t.db)
        .await
        .expect("task row")
        .id
    }

    pub async fn sprint(app: &TestApp, product_id: &str, code: &str, status: &str) -> String {
        let t = now();
        sprint::ActiveModel {
            id: Set(new_id()),
            product_id: Set(product_id.into()),
            code: Set(code.into()),
            sprint_goal: Set(format!("Goal of {code}")),
            status: Set(status.into()),
            start_date: Set(Some(t.date_naive())),
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

    /// A RUNNING sprint run with one queued job in it; returns (run, job).
    pub async fn running_run(app: &TestApp, sprint_id: &str, product_id: &str, user_id: &str) -> (String, String) {
        let t = now();
        let run = sprint_run::ActiveModel {
            id: Set(new_id()),
            sprint_id: Set(sprint_id.into()),
            started_by_id: Set(user_id.into()),
            status: Set("RUNNING".into()),
            pr_strategy: Set("SPRINT_BATCH".into()),
            started_at: Set(Some(t)),
            created_at: Set(t),
            updated_at: Set(t),
            ..Default::default()
        }
        .insert(&app.t.db)
        .await
        .expect("run row");
        let job = job::ActiveModel {
            id: Set(new_id()),
            user_id: Set(user_id.into()),
            product_id: Set(product_id.into()),
            sprint_run_id: Set(Some(run.id.clone())),
            kind: Set("SPRINT_IMPLEMENTATION".into()),
            status: Set("QUEUED".into()),
            runtime: Set("CLAUDE".into()),
            source: Set("MANUAL".into()),
            retry_count: Set(0),
            created_at: Set(t),
            updated_at: Set(t),
            ..Default::default()
        }
        .insert(&app.t.db)
        .await
        .expect("job row");
        (run.id, job.id)
    }

    /// One column of one row, as text (`NULL` for null).
    pub async fn col(app: &TestApp, table: &str, column: &str, id: &str) -> String {
        let db = &app.t.db;
        let row = db
            .query_one_raw(Statement::from_sql_and_values(
                db.get_database_backend(),
                format!("SELECT CAST({column} AS TEXT) AS v FROM {table} WHERE id = $1"),
                [id.into()],
            ))
            .await
            .expect("query")
            .unwrap_or_else(|| panic!("no {table} row {id}"));
        row.try_get::<Option<String>>("", "v").expect("value").unwrap_or_else(|| "NULL".into())
    }

    /// Every backlog row with the columns a write could change, in a stable order.
    pub async fn snapshot(app: &TestApp) -> Vec<String> {
        let db = &app.t.db;
        let mut out = Vec::new();
        for (table, cols) in [
            ("pbis", "id, status, sort_order, updated_at"),
            ("stories", "id, status, sprint_id, pbi_id, sort_order, updated_at"),
            ("tasks", "id, status, sprint_id, story_id, sort_order, updated_at"),
            ("sprints", "id, code, status, sprint_goal, start_date, end_date, completed_at, updated_at"),
            ("sprint_runs", "id, status, finished_at"),
            ("jobs", "id, status"),
        ] {
            let casts: Vec<String> = cols.split(", ").map(|c| format!("COALESCE(CAST({c} AS TEXT), 'NULL')")).collect();
            let sql = format!("SELECT {} AS r FROM {table} ORDER BY id", casts.join(" || '|' || "));
            for row in db.query_all_raw(Statement::from_string(db.get_database_backend(), sql)).await.expect("snapshot")
            {
                out.push(format!("{table}:{}", row.try_get::<String>("", "r").expect("row")));
            }
        }
        out
    }
}

fn today() -> String {
    chrono::Utc::now().date_naive().to_string()
}

fn paths(res: &crate::harness::Res) -> Vec<String> {
    res.json()["error"]["details"]
        .as_array()
        .map(|a| a.iter().map(|d| d["path"].as_str().unwrap_or_default().to_string()).collect())
        .unwrap_or_default()
}

async fn create(app: &TestApp, tok: &str, pid: &str, body: Value) -> crate::harness::Res {
    app.json(Method::POST, &format!("/api/products/{pid}/sprints"), &As::Bearer(tok.into()), &body).await
}

backend_tests! {
    async fn creating_sprints_generates_codes_allows_several_open_and_validates_every_field(t) {
        let app = TestApp::new(t).await;
        let m = app.matrix().await;
        let pid = m.product_id.clone();
        let res = create(&app, &m.owner, &pid, json!({"sprint_goal": "  Ship login  "})).await;
        assert_eq!(res.status, StatusCode::CREATED, "{}", res.text);
        let s1 = res.json();
        assert_eq!(s1["code"], "SP-1");
        assert_eq!(s1["status"], "open");
        assert_eq!(s1["sprint_goal"], "Ship login");
        assert_eq!(s1["start_date"], today());
        assert_eq!(s1["end_date"], Value::Null);
        assert_eq!(s1["product_id"], pid.as_str());
        let s2 = create(&app, &m.writer, &pid, json!({"sprint_goal": "Second", "start_date": "2030-01-01", "end_date": "2030-01-14"})).await;
        assert_eq!(s2.status, StatusCode::CREATED, "{}", s2.text);
        assert_eq!(s2.json()["code"], "SP-2");
        assert_eq!(s2.json()["status"], "open", "several sprints may be open at once");
        assert_eq!(s2.json()["end_date"], "2030-01-14");
        let explicit = create(&app, &m.owner, &pid, json!({"sprint_goal": "Named", "code": "Q4-alpha"})).await;
        assert_eq!(explicit.status, StatusCode::CREATED);
        assert_eq!(explicit.json()["code"], "Q4-alpha");
        // An explicit SP-N moves the counter on, so generated codes never collide with it.
        assert_eq!(create(&app, &m.owner, &pid, json!({"sprint_goal": "x", "code": "SP-7"})).await.status, StatusCode::CREATED);
        assert_eq!(create(&app, &m.owner, &pid, json!({"sprint_goal": "y"})).await.json()["code"], "SP-8");

        let before = app.count("sprints").await;
        let dup = create(&app, &m.owner, &pid, json!({"sprint_goal": "again", "code": "q4-ALPHA"})).await;
        assert_eq!(dup.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", dup.text);
        assert_eq!(paths(&dup), ["code"]);
        assert!(dup.text.contains("q4-ALPHA"), "{}", dup.text);
        let bad = create(&app, &m.owner, &pid, json!({"sprint_goal": " ", "code": "X".repeat(31), "start_date": "2030-02-01", "end_date": "2030-01-31"})).await;
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(paths(&bad), ["sprint_goal", "code", "end_date"]);
        let long = create(&app, &m.owner, &pid, json!({"sprint_goal": "g".repeat(501)})).await;
        assert_eq!(paths(&long), ["sprint_goal"]);
        assert_eq!(create(&app, &m.owner, &pid, json!({"sprint_goal": "g".repeat(500)})).await.status, StatusCode::CREATED);
        let unknown = create(&app, &m.owner, &pid, json!({"sprint_goal": "x", "colour": "red"})).await;
        assert_eq!(unknown.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(unknown.text.contains("colour"));
        let date = create(&app, &m.owner, &pid, json!({"sprint_goal": "x", "start_date": "tomorrow"})).await;
        assert_eq!(paths(&date), ["start_date"]);
        let missing = create(&app, &m.owner, &pid, json!({})).await;
        assert_eq!(paths(&missing), ["sprint_goal"]);
        assert_eq!(app.count("sprints").await, before + 1);
        let nowhere = create(&app, &m.owner, "no-such-product", json!({"sprint_goal": "x"})).await;
        assert_eq!(nowhere.status, StatusCode::NOT_FOUND);
    }

    async fn listing_filters_by_status_pages_newest_first_and_hides_other_products(t) {
        let app = TestApp::new(t).await;
        let m = app.matrix().await;
        let pid = m.product_id.clone();
        for goal in ["a", "b", "c"] {
            create(&app, &m.owner, &pid, json!({"sprint_goal": goal})).await;
        }
        fx::sprint(&app, &pid, "OLD", "CLOSED").await;
        let all = app.get(&format!("/api/products/{pid}/sprints"), &As::Bearer(m.reader.clone())).await;
        assert_eq!(all.status, StatusCode::OK, "{}", all.text);
        assert_eq!(all.json()["total"], 4);
        let open = app.get(&format!("/api/products/{pid}/sprints?status=open&limit=2"), &As::Bearer(m.owner.clone())).await.json();
        assert_eq!(open["total"], 3);
        assert_eq!(open["limit"], 2);
        let codes: Vec<&str> = open["items"].as_array().expect("items").iter().map(|s| s["code"].as_str().expect("code")).collect();
        assert_eq!(codes, ["SP-3", "SP-2"]);
        let page2 = app.get(&format!("/api/products/{pid}/sprints?status=OPEN&limit=2&page=2"), &As::Bearer(m.owner.clone())).await.json();
        assert_eq!(page2["items"][0]["code"], "SP-1");
        let closed = app.get(&format!("/api/products/{pid}/sprints?status=closed"), &As::Bearer(m.owner.clone())).await.json();
        assert_eq!(closed["items"][0]["code"], "OLD");
        assert_eq!(closed["items"][0]["status"], "closed");
        let bad = app.get(&format!("/api/products/{pid}/sprints?status=done"), &As::Bearer(m.owner.clone())).await;
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(paths(&bad), ["status"]);
        let limit = app.get(&format!("/api/products/{pid}/sprints?limit=201"), &As::Bearer(m.owner.clone())).await;
        assert_eq!(paths(&limit), ["limit"]);
        assert_eq!(app.get(&format!("/api/products/{pid}/sprints"), &As::Bearer(m.outsider.clone())).await.status, StatusCode::NOT_FOUND);
        assert_eq!(app.get(&format!("/api/products/{pid}/sprints"), &As::Bearer(m.scoped_out.clone())).await.status, StatusCode::NOT_FOUND);
        let id = open["items"][0]["id"].as_str().expect("id");
        assert_eq!(app.get(&format!("/api/sprints/{id}"), &As::Bearer(m.demo.clone())).await.json()["code"], "SP-3");
        assert_eq!(app.get(&format!("/api/sprints/{id}"), &As::Bearer(m.outsider.clone())).await.status, StatusCode::NOT_FOUND);
    }

    async fn patch_follows_update_sprint_terminal_statuses_set_end_date_and_closed_sets_completed_at(t) {
        let app = TestApp::new(t).await;
        let m = app.matrix().await;
        let owner = As::Bearer(m.owner.clone());
        let s = create(&app, &m.owner, &m.product_id, json!({"sprint_goal": "g", "start_date": "2030-01-10"})).await.json();
        let path = format!("/api/sprints/{}", s["id"].as_str().expect("id"));
        let before = fx::snapshot(&app).await;
        let empty = app.json(Method::PATCH, &path, &owner, &json!({})).await;
        assert_eq!(empty.status, StatusCode::UNPROCESSABLE_ENTITY);
        let bad = app.json(Method::PATCH, &path, &owner, &json!({"end_date": "2030-01-09"})).await;
        assert_eq!(paths(&bad), ["end_date"]);
        let bad = app.json(Method::PATCH, &path, &owner, &json!({"sprint_goal": ""})).await;
        assert_eq!(paths(&bad), ["sprint_goal"]);
        let bad = app.json(Method::PATCH, &path, &owner, &json!({"status": "finished"})).await;
        assert_eq!(paths(&bad), ["status"]);
        assert_eq!(fx::snapshot(&app).await, before, "refused patches change nothing");

        let goal = app.json(Method::PATCH, &path, &owner, &json!({"sprint_goal": "New goal", "end_date": "2030-01-20"})).await;
        assert_eq!(goal.status, StatusCode::OK, "{}", goal.text);
        assert_eq!(goal.json()["sprint_goal"], "New goal");
        assert_eq!(goal.json()["end_date"], "2030-01-20");
        let cleared = app.json(Method::PATCH, &path, &owner, &json!({"end_date": null})).await.json();
        assert_eq!(cleared["end_date"], Value::Null);
        assert_eq!(cleared["start_date"], "2030-01-10");

        let closed = app.json(Method::PATCH, &path, &owner, &json!({"status": "closed"})).await.json();
        assert_eq!(closed["status"], "closed");
        assert_eq!(closed["end_date"], today());
        assert!(closed["completed_at"].is_string(), "{closed}");
        // No state machine: the last write wins, and reopening clears completed_at.
        let reopened = app.json(Method::PATCH, &path, &owner, &json!({"status": "open"})).await.json();
        assert_eq!(reopened["status"], "open");
        assert_eq!(reopened["completed_at"], Value::Null);
        let failed = app.json(Method::PATCH, &path, &owner, &json!({"status": "failed", "end_date": "2030-01-15"})).await.json();
        assert_eq!(failed["status"], "failed");
        assert_eq!(failed["end_date"], "2030-01-15", "an end date given with the status is kept");
        let archived = app.json(Method::PATCH, &path, &owner, &json!({"status": "archived", "sprint_goal": "Put away"})).await.json();
        assert_eq!(archived["status"], "archived");
        assert_eq!(archived["end_date"], "2030-01-15");
        assert_eq!(app.json(Method::PATCH, "/api/sprints/nope", &owner, &json!({"sprint_goal": "x"})).await.status, StatusCode::NOT_FOUND);
    }

    async fn adding_and_removing_stories_moves_their_tasks_and_refuses_bad_ids_all_or_nothing(t) {
        let app = TestApp::new(t).await;
        let m = app.matrix().await;
        let pid = m.product_id.clone();
        let owner = As::Bearer(m.owner.clone());
        let sp = fx::sprint(&app, &pid, "SP-1", "OPEN").await;
        let other_sp = fx::sprint(&app, &pid, "SP-2", "OPEN").await;
        let p1 = fx::pbi(&app, &pid, "PBI-1", "READY", 1.0).await;
        let a = fx::story(&app, &pid, &p1, "ST-001", None, "OPEN", 1.0).await;
        let b = fx::story(&app, &pid, &p1, "ST-002", Some(&other_sp), "IN_SPRINT", 2.0).await;
        let done = fx::story(&app, &pid, &p1, "ST-003", None, "DONE", 3.0).await;
        let failed = fx::story(&app, &pid, &p1, "ST-004", None, "FAILED", 4.0).await;
        let ta = fx::task(&app, &pid, &a, "T-1", None, "TO_DO", 1.0).await;
        let tb = fx::task(&app, &pid, &b, "T-2", Some(&other_sp), "IN_PROGRESS", 1.0).await;
        let elsewhere = app.product_row(&app.user("someone", &[], false).await, "Theirs").await;
        let ep = fx::pbi(&app, &elsewhere, "PBI-1", "READY", 1.0).await;
        let foreign = fx::story(&app, &elsewhere, &ep, "ST-001", None, "OPEN", 1.0).await;
        let add = format!("/api/sprints/{sp}/stories");

        let before = fx::snapshot(&app).await;
        for (body, want) in [
            (json!({"story_ids": []}), vec!["story_ids"]),
            (json!({"story_ids": [a, "st-001"]}), vec!["story_ids.1"]),
            (json!({"story_ids": [a, a]}), vec!["story_ids.1"]),
            (json!({"story_ids": [a, "no-such-id", foreign]}), vec!["story_ids.1", "story_ids.2"]),
            (json!({"story_ids": [a, done]}), vec!["story_ids.1"]),
            (json!({"story_ids": ["T-1"]}), vec!["story_ids.0"]),
        ] {
            let res = app.json(Method::POST, &add, &owner, &body).await;
            assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {}", res.text);
            assert_eq!(paths(&res), want, "{body}: {}", res.text);
        }
        // A story that does not exist and one in a product the caller cannot see read the same.
        let res = app.json(Method::POST, &add, &owner, &json!({"story_ids": ["missing", foreign]})).await;
        let details = res.json()["error"]["details"].clone();
        assert_eq!(details[0]["message"].as_str().map(|m| m.replace("missing", "X")), details[1]["message"].as_str().map(|m| m.replace(&foreign, "X")));
        assert_eq!(fx::snapshot(&app).await, before, "refused requests change nothing");

        let res = app.json(Method::POST, &add, &owner, &json!({"story_ids": ["st-1", b, failed]})).await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.text);
        let body = res.json();
        assert_eq!(body["sprint"]["code"], "SP-1");
        let got: Vec<(&str, &str)> = body["stories"].as_array().expect("stories").iter().map(|s| (s["code"].as_str().expect("code"), s["status"].as_str().expect("status"))).collect();
        assert_eq!(got, [("ST-001", "in_sprint"), ("ST-002", "in_sprint"), ("ST-004", "failed")]);
        for id in [&a, &b, &failed] {
            assert_eq!(fx::col(&app, "stories", "sprint_id", id).await, sp);
        }
        assert_eq!(fx::col(&app, "tasks", "sprint_id", &ta).await, sp, "tasks follow their story");
        assert_eq!(fx::col(&app, "tasks", "sprint_id", &tb).await, sp, "tasks follow a story moved from another sprint");
        // Adding again is harmless.
        assert_eq!(app.json(Method::POST, &add, &owner, &json!({"story_ids": [a]})).await.status, StatusCode::OK);

        let res = app.json(Method::DELETE, &format!("/api/sprints/{sp}/stories/ST-001"), &owner, &json!({})).await;
        assert_eq!(res.status, StatusCode::NO_CONTENT, "{}", res.text);
        assert_eq!(fx::col(&app, "stories", "status", &a).await, "OPEN");
        assert_eq!(fx::col(&app, "stories", "sprint_id", &a).await, "NULL");
        assert_eq!(fx::col(&app, "tasks", "sprint_id", &ta).await, "NULL");
        let res = app.json(Method::DELETE, &format!("/api/sprints/{sp}/stories/{failed}"), &owner, &json!({})).await;
        assert_eq!(res.status, StatusCode::NO_CONTENT);
        assert_eq!(fx::col(&app, "stories", "status", &failed).await, "FAILED", "a failed story stays failed");
        let res = app.json(Method::DELETE, &format!("/api/sprints/{sp}/stories/{a}"), &owner, &json!({})).await;
        assert_eq!(res.status, StatusCode::NOT_FOUND, "not in this sprint any more");
        let res = app.json(Method::DELETE, &format!("/api/sprints/{sp}/stories/{foreign}"), &owner, &json!({})).await;
        assert_eq!(res.status, StatusCode::NOT_FOUND);

        // Only open sprints take or give up stories.
        let closed = fx::sprint(&app, &pid, "SP-9", "CLOSED").await;
        let res = app.json(Method::POST, &format!("/api/sprints/{closed}/stories"), &owner, &json!({"story_ids": [a]})).await;
        assert_eq!(res.status, StatusCode::CONFLICT);
        assert!(res.text.contains("SP-9 is closed"), "{}", res.text);
        let res = app.json(Method::DELETE, &format!("/api/sprints/{closed}/stories/{a}"), &owner, &json!({})).await;
        assert_eq!(res.status, StatusCode::CONFLICT);
        assert_eq!(fx::col(&app, "stories", "sprint_id", &a).await, "NULL");
    }

    async fn closing_returns_unfinished_stories_to_the_backlog_and_promotes_pbis_whose_stories_are_all_done(t) {
        let app = TestApp::new(t).await;
        let m = app.matrix().await;
        let pid = m.product_id.clone();
        let owner = As::Bearer(m.owner.clone());
        let sp = fx::sprint(&app, &pid, "SP-1", "OPEN").await;
        let p1 = fx::pbi(&app, &pid, "PBI-1", "READY", 1.0).await;
        let p2 = fx::pbi(&app, &pid, "PBI-2", "READY", 2.0).await;
        let p3 = fx::pbi(&app, &pid, "PBI-3", "BLOCKED", 3.0).await;
        let p4 = fx::pbi(&app, &pid, "PBI-4", "READY", 4.0).await;
        let a = fx::story(&app, &pid, &p1, "ST-001", Some(&sp), "DONE", 1.0).await;
        let ta = fx::task(&app, &pid, &a, "T-1", Some(&sp), "DONE", 1.0).await;
        let _b = fx::story(&app, &pid, &p2, "ST-002", Some(&sp), "DONE", 1.0).await;
        let c = fx::story(&app, &pid, &p2, "ST-003", Some(&sp), "IN_SPRINT", 2.0).await;
        let tc1 = fx::task(&app, &pid, &c, "T-2", Some(&sp), "DONE", 1.0).await;
        let tc2 = fx::task(&app, &pid, &c, "T-3", Some(&sp), "TO_DO", 2.0).await;
        let _d = fx::story(&app, &pid, &p3, "ST-004", Some(&sp), "DONE", 1.0).await;
        let e = fx::story(&app, &pid, &p1, "ST-005", Some(&sp), "FAILED", 2.0).await;
        let _ = p4;
        let res = app.json(Method::POST, &format!("/api/sprints/{sp}/close"), &owner, &json!({})).await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.text);
        let body = res.json();
        assert_eq!(body["sprint"]["status"], "closed");
        assert_eq!(body["sprint"]["end_date"], today());
        assert!(body["sprint"]["completed_at"].is_string());
        let codes = |k: &str| -> Vec<String> { body[k].as_array().expect(k).iter().map(|s| s["code"].as_str().expect("code").to_string()).collect() };
        assert_eq!(codes("done_stories"), ["ST-001", "ST-002", "ST-004"]);
        assert_eq!(codes("returned_to_backlog"), ["ST-003", "ST-005"]);
        assert_eq!(codes("moved_to_sprint"), Vec::<String>::new());
        // PBI-1 still has the failed ST-005, PBI-2 the unfinished ST-003, PBI-3 is blocked.
        assert_eq!(codes("pbis_done"), Vec::<String>::new());
        assert_eq!(fx::col(&app, "stories", "status", &c).await, "OPEN");
        assert_eq!(fx::col(&app, "stories", "sprint_id", &c).await, "NULL");
        assert_eq!(fx::col(&app, "stories", "status", &e).await, "FAILED");
        assert_eq!(fx::col(&app, "tasks", "sprint_id", &tc1).await, "NULL");
        assert_eq!(fx::col(&app, "tasks", "sprint_id", &tc2).await, "NULL");
        assert_eq!(fx::col(&app, "stories", "sprint_id", &a).await, sp, "done stories stay in the closed sprint");
        assert_eq!(fx::col(&app, "tasks", "sprint_id", &ta).await, sp);
        assert_eq!(fx::col(&app, "pbis", "status", &p3).await, "BLOCKED");
        assert_eq!(fx::col(&app, "pbis", "status", &p4).await, "READY", "a PBI without stories stays ready");

        let again = app.json(Method::POST, &format!("/api/sprints/{sp}/close"), &owner, &json!({})).await;
        assert_eq!(again.status, StatusCode::CONFLICT);
        assert!(again.text.contains("SP-1 is closed"), "{}", again.text);

        // A sprint whose stories are all done promotes their PBIs (promotion only; blocked untouched).
        let sp2 = fx::sprint(&app, &pid, "SP-2", "OPEN").await;
        let p5 = fx::pbi(&app, &pid, "PBI-5", "READY", 5.0).await;
        let p6 = fx::pbi(&app, &pid, "PBI-6", "FAILED", 6.0).await;
        let p7 = fx::pbi(&app, &pid, "PBI-7", "BLOCKED", 7.0).await;
        fx::story(&app, &pid, &p5, "ST-010", Some(&sp2), "DONE", 1.0).await;
        fx::story(&app, &pid, &p5, "ST-011", None, "DONE", 2.0).await;
        fx::story(&app, &pid, &p6, "ST-012", Some(&sp2), "DONE", 1.0).await;
        fx::story(&app, &pid, &p7, "ST-013", Some(&sp2), "DONE", 1.0).await;
        // No body at all is fine too.
        let res = app.raw(Method::POST, &format!("/api/sprints/{sp2}/close"), &owner, "application/json", String::new()).await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.text);
        let done: Vec<(String, String)> = res.json()["pbis_done"].as_array().expect("pbis").iter().map(|p| (p["code"].as_str().expect("c").to_string(), p["status"].as_str().expect("s").to_string())).collect();
        assert_eq!(done, [("PBI-5".to_string(), "done".to_string()), ("PBI-6".to_string(), "done".to_string())]);
        assert_eq!(fx::col(&app, "pbis", "status", &p7).await, "BLOCKED");
    }

    async fn closing_can_move_unfinished_stories_to_another_open_sprint_and_refuses_bad_targets(t) {
        let app = TestApp::new(t).await;
        let m = app.matrix().await;
        let pid = m.product_id.clone();
        let owner = As::Bearer(m.owner.clone());
        let sp = fx::sprint(&app, &pid, "SP-1", "OPEN").await;
        let next = fx::sprint(&app, &pid, "SP-2", "OPEN").await;
        let closed = fx::sprint(&app, &pid, "SP-3", "CLOSED").await;
        let theirs = app.product_row(&app.user("them", &[], false).await, "Theirs").await;
        let their_sprint = fx::sprint(&app, &theirs, "SP-1", "OPEN").await;
        let p1 = fx::pbi(&app, &pid, "PBI-1", "READY", 1.0).await;
        let done = fx::story(&app, &pid, &p1, "ST-001", Some(&sp), "DONE", 1.0).await;
        let open = fx::story(&app, &pid, &p1, "ST-002", Some(&sp), "IN_SPRINT", 2.0).await;
        let t1 = fx::task(&app, &pid, &open, "T-1", Some(&sp), "IN_PROGRESS", 1.0).await;
        let path = format!("/api/sprints/{sp}/close");

        let before = fx::snapshot(&app).await;
        for (target, needle) in [
            (sp.clone(), "another sprint"),
            (closed.clone(), "SP-3 is closed"),
            (their_sprint.clone(), "no sprint"),
            ("nope".to_string(), "no sprint"),
        ] {
            let res = app.json(Method::POST, &path, &owner, &json!({"move_unfinished_to": target})).await;
            assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{target}: {}", res.text);
            assert_eq!(paths(&res), ["move_unfinished_to"]);
            assert!(res.text.contains(needle), "{needle}: {}", res.text);
        }
        let res = app.json(Method::POST, &path, &owner, &json!({"move_unfinished_to": next, "extra": 1})).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
        let res = app.raw(Method::POST, &path, &owner, "application/json", "{\"move_unfinished_to\": ".into()).await;
        assert_eq!(res.status, StatusCode::BAD_REQUEST);
        assert_eq!(fx::snapshot(&app).await, before, "refused closes change nothing");

        let res = app.json(Method::POST, &path, &owner, &json!({"move_unfinished_to": next})).await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.text);
        let body = res.json();
        assert_eq!(body["moved_to"]["code"], "SP-2");
        assert_eq!(body["moved_to_sprint"][0]["code"], "ST-002");
        assert_eq!(body["moved_to_sprint"][0]["status"], "in_sprint");
        assert_eq!(body["moved_to_sprint"][0]["sprint_id"], next.as_str());
        assert_eq!(body["returned_to_backlog"], json!([]));
        assert_eq!(fx::col(&app, "stories", "sprint_id", &open).await, next);
        assert_eq!(fx::col(&app, "tasks", "sprint_id", &t1).await, next);
        assert_eq!(fx::col(&app, "stories", "sprint_id", &done).await, sp);
        assert_eq!(fx::col(&app, "sprints", "status", &next).await, "OPEN");
    }

    async fn archive_needs_a_closed_sprint_and_fail_needs_an_open_one_and_cascades_to_the_run(t) {
        let app = TestApp::new(t).await;
        let m = app.matrix().await;
        let pid = m.product_id.clone();
        let owner = As::Bearer(m.owner.clone());
        let owner_id = app.get("/api/me", &owner).await.json()["id"].as_str().expect("id").to_string();
        let sp = fx::sprint(&app, &pid, "SP-1", "OPEN").await;
        let res = app.json(Method::POST, &format!("/api/sprints/{sp}/archive"), &owner, &json!({})).await;
        assert_eq!(res.status, StatusCode::CONFLICT);
        assert!(res.text.contains("SP-1 is open"), "{}", res.text);
        let (run, job) = fx::running_run(&app, &sp, &pid, &owner_id).await;
        let res = app.json(Method::POST, &format!("/api/sprints/{sp}/close"), &owner, &json!({})).await;
        assert_eq!(res.json()["sprint_run"]["status"], "done", "{}", res.text);
        assert_eq!(res.json()["sprint_run"]["cancelled_jobs"], 1);
        assert_eq!(fx::col(&app, "sprint_runs", "status", &run).await, "DONE");
        assert_eq!(fx::col(&app, "jobs", "status", &job).await, "CANCELLED");
        let res = app.json(Method::POST, &format!("/api/sprints/{sp}/archive"), &owner, &json!({})).await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.text);
        assert_eq!(res.json()["status"], "archived");
        let res = app.json(Method::POST, &format!("/api/sprints/{sp}/archive"), &owner, &json!({})).await;
        assert_eq!(res.status, StatusCode::CONFLICT);
        assert!(res.text.contains("archived"));

        let sp2 = fx::sprint(&app, &pid, "SP-2", "OPEN").await;
        let (run2, job2) = fx::running_run(&app, &sp2, &pid, &owner_id).await;
        let res = app.json(Method::POST, &format!("/api/sprints/{sp2}/fail"), &owner, &json!({})).await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.text);
        let body = res.json();
        assert_eq!(body["status"], "failed");
        assert_eq!(body["end_date"], today());
        assert_eq!(body["completed_at"], Value::Null);
        assert_eq!(body["sprint_run"]["id"], run2.as_str());
        assert_eq!(body["sprint_run"]["status"], "failed");
        assert_eq!(fx::col(&app, "sprint_runs", "status", &run2).await, "FAILED");
        assert_eq!(fx::col(&app, "jobs", "status", &job2).await, "CANCELLED");
        let res = app.json(Method::POST, &format!("/api/sprints/{sp2}/fail"), &owner, &json!({})).await;
        assert_eq!(res.status, StatusCode::CONFLICT);
        assert!(res.text.contains("SP-2 is failed"), "{}", res.text);
    }

    async fn deleting_a_sprint_returns_its_stories_to_the_backlog(t) {
        let app = TestApp::new(t).await;
        let m = app.matrix().await;
        let pid = m.product_id.clone();
        let owner = As::Bearer(m.owner.clone());
        let sp = fx::sprint(&app, &pid, "SP-1", "OPEN").await;
        let p1 = fx::pbi(&app, &pid, "PBI-1", "READY", 1.0).await;
        let a = fx::story(&app, &pid, &p1, "ST-001", Some(&sp), "IN_SPRINT", 1.0).await;
        let d = fx::story(&app, &pid, &p1, "ST-002", Some(&sp), "DONE", 2.0).await;
        let ta = fx::task(&app, &pid, &a, "T-1", Some(&sp), "TO_DO", 1.0).await;
        let res = app.json(Method::DELETE, &format!("/api/sprints/{sp}"), &owner, &json!({})).await;
        assert_eq!(res.status, StatusCode::NO_CONTENT, "{}", res.text);
        assert_eq!(app.count("sprints").await, 0);
        assert_eq!(fx::col(&app, "stories", "status", &a).await, "OPEN");
        assert_eq!(fx::col(&app, "stories", "sprint_id", &a).await, "NULL");
        assert_eq!(fx::col(&app, "stories", "status", &d).await, "DONE");
        assert_eq!(fx::col(&app, "tasks", "sprint_id", &ta).await, "NULL");
        assert_eq!(app.get(&format!("/api/sprints/{sp}"), &owner).await.status, StatusCode::NOT_FOUND);

        // Not while agents work on it.
        let owner_id = app.get("/api/me", &owner).await.json()["id"].as_str().expect("id").to_string();
        let busy = fx::sprint(&app, &pid, "SP-2", "OPEN").await;
        let (run, _) = fx::running_run(&app, &busy, &pid, &owner_id).await;
        let before = fx::snapshot(&app).await;
        let res = app.json(Method::DELETE, &format!("/api/sprints/{busy}"), &owner, &json!({})).await;
        assert_eq!(res.status, StatusCode::CONFLICT, "{}", res.text);
        assert!(res.text.contains("SP-2 has a sprint run that is running"), "{}", res.text);
        assert_eq!(fx::snapshot(&app).await, before);
        assert_eq!(fx::col(&app, "sprint_runs", "status", &run).await, "RUNNING");
    }

    async fn the_board_lists_stories_with_their_tasks_in_execution_order(t) {
        let app = TestApp::new(t).await;
        let m = app.matrix().await;
        let pid = m.product_id.clone();
        let sp = fx::sprint(&app, &pid, "SP-1", "OPEN").await;
        let p2 = fx::pbi(&app, &pid, "PBI-2", "READY", 2.0).await;
        let p1 = fx::pbi(&app, &pid, "PBI-1", "READY", 1.0).await;
        let s3 = fx::story(&app, &pid, &p2, "ST-003", Some(&sp), "IN_SPRINT", 1.0).await;
        let s2 = fx::story(&app, &pid, &p1, "ST-002", Some(&sp), "IN_SPRINT", 2.0).await;
        let s1 = fx::story(&app, &pid, &p1, "ST-001", Some(&sp), "DONE", 1.0).await;
        fx::story(&app, &pid, &p1, "ST-004", None, "OPEN", 0.5).await;
        fx::task(&app, &pid, &s1, "T-2", Some(&sp), "DONE", 2.0).await;
        fx::task(&app, &pid, &s1, "T-1", Some(&sp), "DONE", 1.0).await;
        fx::task(&app, &pid, &s3, "T-3", Some(&sp), "IN_PROGRESS", 1.0).await;
        let _ = s2;
        let res = app.get(&format!("/api/sprints/{sp}/board"), &As::Bearer(m.reader.clone())).await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.text);
        let body = res.json();
        assert_eq!(body["sprint"]["code"], "SP-1");
        let stories: Vec<&str> = body["stories"].as_array().expect("stories").iter().map(|s| s["code"].as_str().expect("code")).collect();
        assert_eq!(stories, ["ST-001", "ST-002", "ST-003"]);
        let tasks: Vec<&str> = body["stories"][0]["tasks"].as_array().expect("tasks").iter().map(|t| t["code"].as_str().expect("code")).collect();
        assert_eq!(tasks, ["T-1", "T-2"]);
        assert_eq!(body["stories"][0]["status"], "done");
        assert_eq!(body["stories"][1]["tasks"], json!([]));
        assert_eq!(body["stories"][2]["tasks"][0]["status"], "in_progress");
        assert_eq!(app.get(&format!("/api/sprints/{sp}/board"), &As::Bearer(m.outsider.clone())).await.status, StatusCode::NOT_FOUND);
    }

    async fn every_sprint_write_follows_the_permission_matrix(t) {
        let app = TestApp::new(t).await;
        let m = app.matrix().await;
        let pid = m.product_id.clone();
        let p1 = fx::pbi(&app, &pid, "PBI-1", "READY", 1.0).await;
        for (i, (who, tok, may_read, may_write)) in m.callers().into_iter().enumerate() {
            let caller = As::Bearer(tok.clone());
            let sp = fx::sprint(&app, &pid, &format!("M-{i}"), "OPEN").await;
            let in_sprint = fx::story(&app, &pid, &p1, &format!("ST-{}", 100 + i), Some(&sp), "IN_SPRINT", 1.0).await;
            let loose = fx::story(&app, &pid, &p1, &format!("ST-{}", 200 + i), None, "OPEN", 2.0).await;
            let closed = fx::sprint(&app, &pid, &format!("C-{i}"), "CLOSED").await;
            let before = fx::snapshot(&app).await;
            let calls: Vec<(Method, String, Value, StatusCode)> = vec![
                (Method::POST, format!("/api/products/{pid}/sprints"), json!({"sprint_goal": "g"}), StatusCode::CREATED),
                (Method::PATCH, format!("/api/sprints/{sp}"), json!({"sprint_goal": "changed"}), StatusCode::OK),
                (Method::POST, format!("/api/sprints/{sp}/stories"), json!({"story_ids": [loose]}), StatusCode::OK),
                (Method::DELETE, format!("/api/sprints/{sp}/stories/{in_sprint}"), json!({}), StatusCode::NO_CONTENT),
                (Method::POST, format!("/api/sprints/{closed}/archive"), json!({}), StatusCode::OK),
                (Method::POST, format!("/api/sprints/{sp}/close"), json!({}), StatusCode::OK),
                (Method::DELETE, format!("/api/sprints/{closed}"), json!({}), StatusCode::NO_CONTENT),
            ];
            for (method, path, body, ok) in calls {
                let res = app.json(method.clone(), &path, &caller, &body).await;
                if may_write {
                    assert_eq!(res.status, ok, "{who} {method} {path}: {}", res.text);
                } else {
                    assert_eq!(res.status, Matrix::refused_status(may_read), "{who} {method} {path}: {}", res.text);
                    if who.starts_with("demo") {
                        assert_eq!(res.error_code(), "demo_read_only", "{who} {path}");
                    }
                }
            }
            let fail_sp = fx::sprint(&app, &pid, &format!("F-{i}"), "OPEN").await;
            let res = app.json(Method::POST, &format!("/api/sprints/{fail_sp}/fail"), &caller, &json!({})).await;
            let want = if may_write { StatusCode::OK } else { Matrix::refused_status(may_read) };
            assert_eq!(res.status, want, "{who} fail: {}", res.text);
            if !may_write {
                let mut after = fx::snapshot(&app).await;
                after.retain(|r| !r.contains(&fail_sp));
                assert_eq!(after, before, "{who}: a refused write changes nothing");
            }
            let read = app.get(&format!("/api/sprints/{sp}"), &caller).await;
            assert_eq!(read.status, if may_read { StatusCode::OK } else { StatusCode::NOT_FOUND }, "{who} read");
            let board = app.get(&format!("/api/sprints/{sp}/board"), &caller).await;
            assert_eq!(board.status, if may_read { StatusCode::OK } else { StatusCode::NOT_FOUND }, "{who} board");
        }
    }
}
