//! Agent-facing reads: the bundled product context (`/claude-context` and
//! `/context`), `/next-story` and a sprint's tasks in execution order. Also
//! the backlog fixtures the product tests share (rows inserted directly).

use axum::http::StatusCode;
use baton_domain::roles::Role;
use baton_store::{
    entities::{idea, pbi, sprint, story, story_log, task},
    new_id, now,
    sea_orm::{ActiveModelTrait, ActiveValue::Set},
};
use baton_testkit::backend_tests;
use chrono::Duration;
use serde_json::{Value, json};

use crate::harness::{As, TestApp};

/// Backlog rows of one product, inserted directly; `at` is seconds after
/// a fixed start so creation order is under the test's control.
pub struct Fx<'a> {
    pub app: &'a TestApp,
    pub pid: String,
}

impl Fx<'_> {
    fn at(secs: i64) -> chrono::DateTime<chrono::Utc> {
        now() - Duration::days(1) + Duration::seconds(secs)
    }

    pub async fn sprint(&self, code: &str, status: &str, at: i64) -> String {
        sprint::ActiveModel {
            id: Set(new_id()),
            product_id: Set(self.pid.clone()),
            code: Set(code.into()),
            sprint_goal: Set(format!("Goal of {code}")),
            status: Set(status.into()),
            start_date: Set(Some(chrono::NaiveDate::from_ymd_opt(2026, 11, 2).expect("date"))),
            end_date: Set(None),
            created_at: Set(Self::at(at)),
            updated_at: Set(Self::at(at)),
            completed_at: Set(None),
        }
        .insert(&self.app.t.db)
        .await
        .expect("sprint")
        .id
    }

    pub async fn pbi(&self, code: &str, sort: f64) -> String {
        pbi::ActiveModel {
            id: Set(new_id()),
            product_id: Set(self.pid.clone()),
            code: Set(code.into()),
            title: Set(format!("PBI {code}")),
            description: Set(Some("why, with a comma".into())),
            priority: Set(2),
            sort_order: Set(sort),
            status: Set("READY".into()),
            created_at: Set(Self::at(0)),
            updated_at: Set(Self::at(0)),
            ..Default::default()
        }
        .insert(&self.app.t.db)
        .await
        .expect("pbi")
        .id
    }

    #[allow(clippy::too_many_arguments)]
    pub async fn story(&self, pbi_id: &str, sprint_id: Option<&str>, code: &str, sort: f64, status: &str) -> String {
        story::ActiveModel {
            id: Set(new_id()),
            pbi_id: Set(pbi_id.into()),
            product_id: Set(self.pid.clone()),
            sprint_id: Set(sprint_id.map(str::to_string)),
            code: Set(code.into()),
            title: Set(format!("Story {code}")),
            description: Set(Some("line one\nline \"two\"".into())),
            acceptance_criteria: Set(Some("it works".into())),
            priority: Set(2),
            sort_order: Set(sort),
            status: Set(status.into()),
            qa_review_count: Set(0),
            created_at: Set(Self::at(0)),
            updated_at: Set(Self::at(0)),
            ..Default::default()
        }
        .insert(&self.app.t.db)
        .await
        .expect("story")
        .id
    }

    pub async fn task(&self, story_id: &str, sprint_id: Option<&str>, code: &str, sort: f64, status: &str) -> String {
        task::ActiveModel {
            id: Set(new_id()),
            story_id: Set(story_id.into()),
            product_id: Set(self.pid.clone()),
            sprint_id: Set(sprint_id.map(str::to_string)),
            code: Set(code.into()),
            title: Set(format!("Task {code}")),
            description: Set(Some(format!("do {code}"))),
            implementation_plan: Set(Some(format!("edit `src/{code}.rs`"))),
            priority: Set(3),
            sort_order: Set(sort),
            status: Set(status.into()),
            verify_only: Set(false),
            verify_required: Set("ALIGNED_OR_PARTIAL".into()),
            requires_opus: Set(false),
            repo_url: Set(None),
            created_at: Set(Self::at(0)),
            updated_at: Set(Self::at(0)),
        }
        .insert(&self.app.t.db)
        .await
        .expect("task")
        .id
    }

    pub async fn log(&self, story_id: &str, kind: &str, content: &str, at: i64) {
        story_log::ActiveModel {
            id: Set(new_id()),
            story_id: Set(story_id.into()),
            r#type: Set(kind.into()),
            content: Set(content.into()),
            status: Set((kind == "TEST_RESULT").then(|| "PASSED".to_string())),
            commit_hash: Set((kind == "COMMIT").then(|| "abc123".to_string())),
            commit_message: Set((kind == "COMMIT").then(|| "fix: things".to_string())),
            metadata: Set(Some(json!({"files": 3}))),
            created_at: Set(Self::at(at)),
        }
        .insert(&self.app.t.db)
        .await
        .expect("log");
    }

    pub async fn idea(
        &self,
        user_id: &str,
        product_id: Option<&str>,
        code: &str,
        status: &str,
        archived: bool,
        at: i64,
    ) {
        idea::ActiveModel {
            id: Set(new_id()),
            user_id: Set(user_id.into()),
            product_id: Set(product_id.map(str::to_string)),
            code: Set(code.into()),
            title: Set(format!("Idea {code}")),
            status: Set(status.into()),
            archived: Set(archived),
            created_at: Set(Self::at(at)),
            updated_at: Set(Self::at(at)),
            ..Default::default()
        }
        .insert(&self.app.t.db)
        .await
        .expect("idea");
    }

    /// A small but complete backlog: two sprints (one closed), two PBIs,
    /// stories in and out of sprints, tasks in every status, logs.
    pub async fn backlog(&self) -> Backlog {
        let old = self.sprint("SP-1", "CLOSED", 10).await;
        let open = self.sprint("SP-2", "OPEN", 20).await;
        let b2 = self.pbi("PBI-2", 2.0).await;
        let b1 = self.pbi("PBI-1", 1.0).await;
        let done = self.story(&b1, Some(&old), "ST-001", 1.0, "DONE").await;
        self.task(&done, Some(&old), "T-1", 1.0, "DONE").await;
        let s3 = self.story(&b2, Some(&open), "ST-003", 0.5, "IN_SPRINT").await;
        self.task(&s3, Some(&open), "T-5", 2.0, "TO_DO").await;
        self.task(&s3, Some(&open), "T-4", 1.0, "IN_PROGRESS").await;
        let s2 = self.story(&b1, Some(&open), "ST-002", 1.0, "IN_SPRINT").await;
        self.task(&s2, Some(&open), "T-3", 2.0, "REVIEW").await;
        self.task(&s2, Some(&open), "T-2", 1.0, "DONE").await;
        let backlog_story = self.story(&b2, None, "ST-004", 2.0, "OPEN").await;
        self.task(&backlog_story, None, "T-6", 1.0, "TO_DO").await;
        self.log(&s2, "IMPLEMENTATION_PLAN", "plan, with \"quotes\"", 5).await;
        self.log(&s2, "TEST_RESULT", "all green", 6).await;
        self.log(&s2, "COMMIT", "commit", 7).await;
        Backlog { open_sprint: open, closed_sprint: old, s2, s3 }
    }
}

pub struct Backlog {
    pub open_sprint: String,
    pub closed_sprint: String,
    pub s2: String,
    pub s3: String,
}

fn codes(v: &Value, key: &str) -> Vec<String> {
    v.as_array().expect("array").iter().map(|x| x[key].as_str().unwrap_or_default().to_string()).collect()
}

backend_tests! {
    async fn context_bundles_product_open_sprints_next_story_and_my_open_ideas(t) {
        let app = TestApp::new(t).await;
        let owner = app.user("ctx-owner", &[Role::ProductOwner], false).await;
        let token = As::Bearer(app.token_for(&owner).await);
        let res = app.json(axum::http::Method::POST, "/api/products", &token,
            &json!({"name": "Ctx", "code": "CTX", "definition_of_done": "green"})).await;
        assert_eq!(res.status, StatusCode::CREATED, "{}", res.text);
        let pid = res.json()["id"].as_str().expect("id").to_string();
        let fx = Fx { app: &app, pid: pid.clone() };
        let b = fx.backlog().await;
        // A second, older OPEN sprint: the newest one stays active.
        let older_open = fx.sprint("SP-0", "OPEN", 1).await;
        let other = app.product_row(&owner, "Other").await;
        fx.idea(&owner, Some(&pid), "IDEA-001", "DRAFT", false, 3).await;
        fx.idea(&owner, None, "IDEA-002", "GRILLED", false, 1).await;
        fx.idea(&owner, Some(&pid), "IDEA-003", "PLANNED", false, 2).await;
        fx.idea(&owner, Some(&pid), "IDEA-004", "DRAFT", true, 2).await;
        fx.idea(&owner, Some(&other), "IDEA-005", "DRAFT", false, 2).await;
        let stranger = app.user("ctx-stranger", &[Role::Developer], false).await;
        fx.idea(&stranger, Some(&pid), "IDEA-001", "DRAFT", false, 0).await;

        for path in ["claude-context", "context"] {
            for key in [pid.as_str(), "CTX", "ctx"] {
                let res = app.get(&format!("/api/products/{key}/{path}"), &token).await;
                assert_eq!(res.status, StatusCode::OK, "{path} {key}: {}", res.text);
                let v = res.json();
                assert_eq!(v["product"]["id"], pid.as_str());
                assert_eq!(v["product"]["code"], "CTX");
                assert_eq!(v["product"]["definition_of_done"], "green");
                assert_eq!(v["active_sprint"]["id"], b.open_sprint.as_str());
                assert_eq!(v["active_sprint"]["status"], "open");
                assert_eq!(codes(&v["open_sprints"], "id"), [b.open_sprint.clone(), older_open.clone()]);
                // ST-003 sorts first (0.5) and has unfinished tasks.
                let story = &v["next_story"];
                assert_eq!(story["id"], b.s3.as_str());
                assert_eq!(story["code"], "ST-003");
                assert_eq!(story["status"], "in_sprint");
                assert_eq!(codes(&story["tasks"], "code"), ["T-4", "T-5"]);
                assert_eq!(codes(&story["tasks"], "derived_code"), ["ST-003.1", "ST-003.2"]);
                assert_eq!(codes(&story["tasks"], "status"), ["in_progress", "todo"]);
                assert_eq!(story["tasks"][0]["implementation_plan"], "edit `src/T-4.rs`");
                assert_eq!(codes(&v["open_ideas"], "code"), ["IDEA-002", "IDEA-001"]);
                assert_eq!(v["open_ideas"][1]["status"], "draft");
            }
        }
        // Finish ST-003's tasks by hand: the next story is ST-002 (its T-3 is in review).
        let db = &app.t.db;
        use sea_orm::{ConnectionTrait, Statement};
        db.execute_raw(Statement::from_string(db.get_database_backend(),
            format!("UPDATE tasks SET status = 'DONE' WHERE story_id = '{}'", b.s3))).await.expect("update");
        let v = app.get(&format!("/api/products/{pid}/context"), &token).await.json();
        assert_eq!(v["next_story"]["id"], b.s2.as_str());
        assert_eq!(codes(&v["next_story"]["tasks"], "derived_code"), ["ST-002.1", "ST-002.2"]);
        // A story without tasks counts as not done.
        let b9 = fx.pbi("PBI-9", 9.0).await;
        db.execute_raw(Statement::from_string(db.get_database_backend(),
            format!("UPDATE tasks SET status = 'DONE' WHERE story_id = '{}'", b.s2))).await.expect("update");
        let empty = fx.story(&b9, Some(&b.open_sprint), "ST-009", 5.0, "IN_SPRINT").await;
        let v = app.get(&format!("/api/products/{pid}/context"), &token).await.json();
        assert_eq!(v["next_story"]["id"], empty.as_str());
        assert_eq!(v["next_story"]["tasks"], json!([]));
    }

    async fn next_story_gives_codes_and_plans_or_null_when_nothing_is_left(t) {
        let app = TestApp::new(t).await;
        let mx = app.matrix().await;
        let fx = Fx { app: &app, pid: mx.product_id.clone() };
        let path = format!("/api/products/{}/next-story", mx.product_id);
        let v = app.get(&path, &As::Bearer(mx.owner.clone())).await.json();
        assert_eq!(v, json!({"sprint": null, "story": null}));
        let b = fx.backlog().await;
        for (who, token, may_read, _) in mx.callers() {
            let res = app.get(&path, &As::Bearer(token)).await;
            if may_read {
                assert_eq!(res.status, StatusCode::OK, "{who}");
                let v = res.json();
                assert_eq!(v["sprint"]["id"], b.open_sprint.as_str());
                assert_eq!(v["story"]["code"], "ST-003");
                assert_eq!(codes(&v["story"]["tasks"], "code"), ["T-4", "T-5"]);
                assert_eq!(v["story"]["tasks"][1]["implementation_plan"], "edit `src/T-5.rs`");
            } else {
                assert_eq!(res.status, StatusCode::NOT_FOUND, "{who}");
            }
        }
        // Everything in the open sprint done: no story, sprint still named.
        let db = &app.t.db;
        use sea_orm::{ConnectionTrait, Statement};
        db.execute_raw(Statement::from_string(db.get_database_backend(),
            format!("UPDATE stories SET status = 'DONE' WHERE sprint_id = '{}'", b.open_sprint))).await.expect("update");
        let v = app.get(&path, &As::Bearer(mx.owner.clone())).await.json();
        assert_eq!(v["story"], Value::Null);
        assert_eq!(v["sprint"]["id"], b.open_sprint.as_str());
        assert_eq!(app.get("/api/products/nope/next-story", &As::Bearer(mx.owner)).await.status, StatusCode::NOT_FOUND);
    }

    async fn sprint_tasks_come_in_execution_order_with_story_and_derived_codes(t) {
        let app = TestApp::new(t).await;
        let mx = app.matrix().await;
        let fx = Fx { app: &app, pid: mx.product_id.clone() };
        let b = fx.backlog().await;
        let path = format!("/api/sprints/{}/tasks", b.open_sprint);
        let res = app.get(&path, &As::Bearer(mx.reader.clone())).await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.text);
        let v = res.json();
        assert_eq!(v["total"], 4);
        // PBI-1 (sort 1) before PBI-2 (sort 2), whatever the story sort orders say.
        assert_eq!(codes(&v["items"], "code"), ["T-2", "T-3", "T-4", "T-5"]);
        assert_eq!(codes(&v["items"], "story_code"), ["ST-002", "ST-002", "ST-003", "ST-003"]);
        assert_eq!(codes(&v["items"], "derived_code"), ["ST-002.1", "ST-002.2", "ST-003.1", "ST-003.2"]);
        assert_eq!(codes(&v["items"], "status"), ["done", "review", "in_progress", "todo"]);
        assert_eq!(v["items"][0]["description"], "do T-2");
        assert_eq!(v["items"][0]["implementation_plan"], "edit `src/T-2.rs`");
        assert_eq!(v["items"][0]["pbi_code"], "PBI-1");
        let page2 = app.get(&format!("{path}?page=2&limit=3"), &As::Bearer(mx.owner.clone())).await.json();
        assert_eq!(codes(&page2["items"], "code"), ["T-5"]);
        assert_eq!(page2["total"], 4);
        let closed = app.get(&format!("/api/sprints/{}/tasks", b.closed_sprint), &As::Bearer(mx.owner.clone())).await.json();
        assert_eq!(codes(&closed["items"], "code"), ["T-1"]);
        for (who, token, may_read, _) in mx.callers() {
            let res = app.get(&path, &As::Bearer(token)).await;
            let want = if may_read { StatusCode::OK } else { StatusCode::NOT_FOUND };
            assert_eq!(res.status, want, "{who}");
        }
        assert_eq!(app.get("/api/sprints/nope/tasks", &As::Bearer(mx.owner.clone())).await.status, StatusCode::NOT_FOUND);
        assert_eq!(app.get(&format!("{path}?limit=500"), &As::Bearer(mx.owner)).await.status, StatusCode::UNPROCESSABLE_ENTITY);
    }
}
