//! The sprint pages: the sprints list (create, edit, close with the choice
//! of where unfinished stories go, archive, delete, refusals shown with the
//! state), sprint planning (stories moved into and out of sprints through
//! the drag-and-drop/Move… route), sprint runs (start refused with the
//! blockers one per line, detail, cancel, resume), 404s, and the demo and
//! read-only members (disabled controls, forged posts refused, nothing
//! changed). Shared fixtures (`px`) serve the board tests too.

use axum::http::{Method, StatusCode};
use baton_testkit::backend_tests;
use serde_json::json;

use crate::{
    harness::TestApp,
    items::ix::{bearer, created, snapshot},
};

/// Fixtures of the page tests: a product `WEB` with a PBI, stories and
/// tasks made through the REST API, and browser sessions for everyone.
pub mod px {
    use axum::http::{Method, StatusCode};
    use baton_store::sea_orm::{ConnectionTrait, Statement};
    use serde_json::{Value, json};

    use crate::{
        harness::{As, Matrix, TestApp},
        items::ix::{bearer, created},
    };

    /// Everyone's sessions around product `WEB`.
    pub struct Px {
        pub m: Matrix,
        pub owner: As,
        pub reader: As,
        pub demo: As,
        pub outsider: As,
        pub pid: String,
    }

    pub async fn setup(app: &TestApp) -> Px {
        let m = app.matrix().await;
        let res = app
            .json(Method::PATCH, &format!("/api/products/{}", m.product_id), &bearer(&m.owner), &json!({"code": "WEB"}))
            .await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.text);
        let login = |u: &'static str| async move { As::Cookie(app.login(u, &format!("{u}-password")).await) };
        Px {
            owner: login("mx-owner").await,
            reader: login("mx-reader").await,
            demo: login("mx-demo").await,
            outsider: login("mx-outsider").await,
            pid: m.product_id.clone(),
            m,
        }
    }

    /// A PBI with `stories` stories of `tasks` tasks each (with plans when
    /// `plans`); returns (PBI, story codes, task codes).
    pub async fn backlog(
        app: &TestApp,
        px: &Px,
        title: &str,
        stories: usize,
        tasks: usize,
        plans: bool,
    ) -> (Value, Vec<String>, Vec<String>) {
        let owner = bearer(&px.m.owner);
        let p = created(app, &format!("/api/products/{}/pbis", px.pid), &owner, json!({"title": title})).await;
        let (mut st, mut tk) = (vec![], vec![]);
        for i in 0..stories {
            let s = created(
                app,
                &format!("/api/pbis/{}/stories", p["id"].as_str().unwrap_or_default()),
                &owner,
                json!({"title": format!("{title} story {i}")}),
            )
            .await;
            for j in 0..tasks {
                let body = if plans {
                    json!({"title": format!("task {i}.{j}"), "implementation_plan": "1. Edit `src/lib.rs`."})
                } else {
                    json!({"title": format!("task {i}.{j}")})
                };
                let t =
                    created(app, &format!("/api/stories/{}/tasks", s["id"].as_str().unwrap_or_default()), &owner, body)
                        .await;
                tk.push(t["code"].as_str().unwrap_or_default().to_string());
            }
            st.push(s["code"].as_str().unwrap_or_default().to_string());
        }
        (p, st, tk)
    }

    /// A sprint made through the REST API; returns its id.
    pub async fn sprint(app: &TestApp, px: &Px, goal: &str) -> String {
        let s = created(
            app,
            &format!("/api/products/{}/sprints", px.pid),
            &bearer(&px.m.owner),
            json!({"sprint_goal": goal}),
        )
        .await;
        s["id"].as_str().unwrap_or_default().to_string()
    }

    /// Plans stories (codes) into a sprint through the REST API.
    pub async fn plan(app: &TestApp, px: &Px, sprint_id: &str, stories: &[String]) {
        let ids: Vec<String> = {
            let mut v = vec![];
            for c in stories {
                v.push(story_id(app, px, c).await);
            }
            v
        };
        let res = app
            .json(
                Method::POST,
                &format!("/api/sprints/{sprint_id}/stories"),
                &bearer(&px.m.owner),
                &json!({"story_ids": ids}),
            )
            .await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    }

    async fn one(app: &TestApp, sql: String) -> Option<String> {
        let db = &app.t.db;
        let row = db.query_one_raw(Statement::from_string(db.get_database_backend(), sql)).await.expect("query")?;
        row.try_get::<Option<String>>("", "v").expect("value")
    }

    pub async fn sprint_id(app: &TestApp, px: &Px, code: &str) -> String {
        one(app, format!("SELECT id AS v FROM sprints WHERE product_id = '{}' AND code = '{code}'", px.pid))
            .await
            .expect("sprint")
    }

    pub async fn story_id(app: &TestApp, px: &Px, code: &str) -> String {
        one(app, format!("SELECT id AS v FROM stories WHERE product_id = '{}' AND code = '{code}'", px.pid))
            .await
            .expect("story")
    }

    /// A story's sprint code (`None` = backlog).
    pub async fn sprint_of(app: &TestApp, px: &Px, story: &str) -> Option<String> {
        one(app, format!("SELECT sp.code AS v FROM stories s LEFT JOIN sprints sp ON sp.id = s.sprint_id WHERE s.product_id = '{}' AND s.code = '{story}'", px.pid)).await
    }

    pub async fn status_of(app: &TestApp, px: &Px, table: &str, code: &str) -> String {
        one(app, format!("SELECT status AS v FROM {table} WHERE product_id = '{}' AND code = '{code}'", px.pid))
            .await
            .expect("status")
    }

    /// The HTML element with this id (its opening tag up to the next `>`).
    pub fn tag<'a>(html: &'a str, id: &str) -> &'a str {
        let at = html.find(&format!("id=\"{id}\"")).unwrap_or_else(|| panic!("no element #{id}"));
        let start = html[..at].rfind('<').unwrap_or(0);
        let end = html[at..].find('>').map_or(html.len(), |e| at + e + 1);
        &html[start..end]
    }

    /// The HTML of the element with this id up to the next element of the same id prefix (a region of the page).
    pub fn region<'a>(html: &'a str, id: &str, until: &str) -> &'a str {
        let at = html.find(&format!("id=\"{id}\"")).unwrap_or_else(|| panic!("no element #{id}"));
        let end = html[at + 1..].find(until).map_or(html.len(), |e| at + 1 + e);
        &html[at..end]
    }
}

use px::*;

backend_tests! {
    async fn the_sprints_page_creates_edits_closes_archives_and_deletes_through_forms(t) {
        let app = TestApp::new(t).await;
        let px = setup(&app).await;
        let (_, stories, tasks) = backlog(&app, &px, "Checkout", 2, 1, false).await;

        let page = app.get("/products/WEB/sprints", &px.owner).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.text);
        assert!(page.text.contains("No sprints yet"));

        // Errors next to their fields, what was typed kept, nothing written.
        let res = app.form("/products/WEB/sprints", &px.owner, &[("sprint_goal", " "), ("code", "X 1"), ("start_date", "2026-02-30"), ("end_date", "")]).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", res.text);
        assert!(res.text.contains("id=\"start_date-error\""), "{}", res.text);
        assert!(res.text.contains("YYYY-MM-DD"));
        assert!(res.text.contains("value=\"X 1\""), "typed values are kept");
        let res = app.form("/products/WEB/sprints", &px.owner, &[("sprint_goal", " "), ("code", ""), ("start_date", "2026-03-02"), ("end_date", "2026-03-01")]).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(res.text.contains("id=\"sprint_goal-error\"") && res.text.contains("id=\"end_date-error\""), "{}", res.text);
        assert!(res.text.contains("aria-invalid=\"true\""));
        assert_eq!(app.count("sprints").await, 0);

        for goal in ["Ship checkout", "Polish"] {
            let res = app.form("/products/WEB/sprints", &px.owner, &[("sprint_goal", goal), ("code", ""), ("start_date", "2026-03-02"), ("end_date", "")]).await;
            assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text);
            assert_eq!(res.header("location"), Some("/products/WEB/sprints"));
        }
        // A duplicate code is refused next to the code field.
        let res = app.form("/products/WEB/sprints", &px.owner, &[("sprint_goal", "Dup"), ("code", "sp-1")]).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", res.text);
        assert!(res.text.contains("id=\"code-error\""));

        let sp1 = sprint_id(&app, &px, "SP-1").await;
        plan(&app, &px, &sp1, &stories).await;
        // One task done: its story is done and stays; the other goes on to SP-2.
        let res = app.form(&format!("/products/WEB/tasks/{}/status", tasks[0]), &px.owner, &[("status", "done"), ("return_to", "/products/WEB/board")]).await;
        assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text);

        let page = app.get("/products/WEB/sprints", &px.owner).await;
        let row = tag(&page.text, "sprint-SP-1");
        assert!(row.contains("data-code=\"SP-1\"") && row.contains("data-status=\"open\""), "{row}");
        assert!(page.text.contains("1/2 stories · 1/2 tasks done"), "{}", page.text);
        assert!(page.text.contains("<option value=\"SP-2\">sprint SP-2</option>"), "close offers the other open sprint");

        // Edit: a bad date is shown in that sprint's form, then a good edit.
        let res = app.form("/products/WEB/sprints/SP-1", &px.owner, &[("sprint_goal", "Ship it"), ("start_date", "2026-03-10"), ("end_date", "2026-03-01")]).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", res.text);
        assert!(res.text.contains("id=\"end_date-error\""));
        assert!(res.text.contains("value=\"Ship it\""));
        let res = app.form("/products/WEB/sprints/sp-1", &px.owner, &[("sprint_goal", "Ship it"), ("start_date", "2026-03-02"), ("end_date", "2026-03-13")]).await;
        assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text);
        let page = app.get("/products/WEB/sprints", &px.owner).await;
        assert!(page.text.contains("Ship it") && page.text.contains("2026-03-02 → 2026-03-13"));

        // Archive before closing: refused with the state.
        let res = app.form("/products/WEB/sprints/SP-1/archive", &px.owner, &[]).await;
        assert_eq!(res.status, StatusCode::CONFLICT);
        assert!(res.text.contains("sprint SP-1 is open; only a closed sprint can be archived"), "{}", res.text);

        // Close, unfinished stories on to SP-2.
        let res = app.form("/products/WEB/sprints/SP-1/close", &px.owner, &[("move_unfinished_to", "NOPE")]).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(res.text.contains("id=\"move_unfinished_to-error\""), "{}", res.text);
        let res = app.form("/products/WEB/sprints/SP-1/close", &px.owner, &[("move_unfinished_to", "SP-2")]).await;
        assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text);
        assert_eq!(sprint_of(&app, &px, &stories[0]).await.as_deref(), Some("SP-1"), "done stays");
        assert_eq!(sprint_of(&app, &px, &stories[1]).await.as_deref(), Some("SP-2"), "unfinished moves on");
        // Closing again: 409 with the state.
        let res = app.form("/products/WEB/sprints/SP-1/close", &px.owner, &[("move_unfinished_to", "")]).await;
        assert_eq!(res.status, StatusCode::CONFLICT);
        assert!(res.text.contains("sprint SP-1 is closed"), "{}", res.text);
        assert!(tag(&res.text, "sprint-SP-1").contains("data-status=\"closed\""));

        let res = app.form("/products/WEB/sprints/SP-1/archive", &px.owner, &[]).await;
        assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text);
        assert_eq!(status_of(&app, &px, "sprints", "SP-1").await, "ARCHIVED");

        // Delete SP-2: its story goes back to the backlog.
        let res = app.form("/products/WEB/sprints/SP-2/delete", &px.owner, &[]).await;
        assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text);
        assert_eq!(app.count("sprints").await, 1);
        assert_eq!(sprint_of(&app, &px, &stories[1]).await, None);

        // Unknown sprints and other people's products: the one 404 page.
        let unknown = app.form("/products/WEB/sprints/SP-9/close", &px.owner, &[]).await;
        assert_eq!(unknown.status, StatusCode::NOT_FOUND);
        let hidden = app.get("/products/WEB/sprints", &px.outsider).await;
        let missing = app.get("/products/NOPE/sprints", &px.outsider).await;
        assert_eq!(hidden.status, StatusCode::NOT_FOUND);
        assert_eq!(hidden.text, missing.text);
    }

    async fn planning_moves_stories_into_and_out_of_sprints(t) {
        let app = TestApp::new(t).await;
        let px = setup(&app).await;
        let (_, stories, _) = backlog(&app, &px, "Search <script>alert(1)</script>", 3, 1, false).await;
        sprint(&app, &px, "First").await;
        let closed = sprint(&app, &px, "Old").await;
        let res = app.json(Method::PATCH, &format!("/api/sprints/{closed}"), &bearer(&px.m.owner), &json!({"status": "closed"})).await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.text);

        let page = app.get("/products/WEB/planning", &px.owner).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.text);
        assert!(!page.text.contains("<script>alert(1)"), "titles are escaped");
        let card = tag(&page.text, "story-ST-001");
        assert!(card.contains("data-code=\"ST-001\"") && card.contains("data-status=\"open\""), "{card}");
        assert!(card.contains("draggable=\"true\"") && card.contains("data-move-url=\"/products/WEB/stories/ST-001/sprint\""), "{card}");
        assert!(tag(&page.text, "pbi-PBI-1").contains("data-status=\"ready\""));
        assert!(page.text.contains("data-dnd-field=\"sprint\" data-dnd-value=\"SP-1\""), "an open sprint is a drop zone");
        assert!(!page.text.contains("data-dnd-value=\"SP-2\""), "a closed sprint is not");

        // Into the sprint (as the drag-and-drop posts it), then out again.
        let res = app.form("/products/WEB/stories/ST-002/sprint", &px.owner, &[("sprint", "SP-1"), ("before", ""), ("after", ""), ("return_to", "/products/WEB/planning")]).await;
        assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text);
        assert_eq!(res.header("location"), Some("/products/WEB/planning"));
        assert_eq!(sprint_of(&app, &px, "ST-002").await.as_deref(), Some("SP-1"));
        assert_eq!(status_of(&app, &px, "stories", "ST-002").await, "IN_SPRINT");
        let page = app.get("/products/WEB/planning", &px.owner).await;
        let sp = region(&page.text, "plan-sprint-SP-1", "plan-new-sprint");
        assert!(sp.contains("id=\"story-ST-002\"") && sp.contains("data-status=\"in_sprint\""), "{sp}");
        // Reorder within its PBI while planning: ST-003 placed before ST-001.
        let res = app.form("/products/WEB/stories/ST-003/sprint", &px.owner, &[("sprint", "SP-1"), ("before", "ST-002"), ("after", ""), ("return_to", "/products/WEB/planning")]).await;
        assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text);
        let page = app.get("/products/WEB/planning", &px.owner).await;
        let sp = region(&page.text, "plan-sprint-SP-1", "plan-new-sprint");
        assert!(sp.find("story-ST-003") < sp.find("story-ST-002"), "{sp}");

        let res = app.form("/products/WEB/stories/st-2/sprint", &px.owner, &[("sprint", ""), ("return_to", "/products/WEB/planning")]).await;
        assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text);
        assert_eq!(sprint_of(&app, &px, "ST-002").await, None);
        assert_eq!(status_of(&app, &px, "stories", "ST-002").await, "OPEN");

        // A closed sprint refuses, shown with its state; nothing moved.
        let before = snapshot(&app).await;
        let res = app.form("/products/WEB/stories/ST-001/sprint", &px.owner, &[("sprint", "SP-2"), ("return_to", "/products/WEB/planning")]).await;
        assert_eq!(res.status, StatusCode::CONFLICT, "{}", res.text);
        assert!(res.text.contains("role=\"alert\""));
        assert!(res.text.contains("ST-001 was not moved: sprint SP-2 is closed; only an open sprint can take stories"), "{}", res.text);
        let res = app.form("/products/WEB/stories/ST-001/sprint", &px.owner, &[("sprint", "SP-77")]).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(res.text.contains("no sprint SP-77 in this product"));
        assert_eq!(snapshot(&app).await, before);

        // Inline sprint creation from planning comes back to planning; errors too.
        let res = app.form("/products/WEB/sprints", &px.owner, &[("sprint_goal", ""), ("return_to", "/products/WEB/planning")]).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(res.text.contains("Sprint planning") && res.text.contains("id=\"sprint_goal-error\""), "{}", res.text);
        let res = app.form("/products/WEB/sprints", &px.owner, &[("sprint_goal", "Next"), ("return_to", "/products/WEB/planning")]).await;
        assert_eq!(res.header("location"), Some("/products/WEB/planning"));
        assert!(app.get("/products/WEB/planning", &px.owner).await.text.contains("id=\"plan-sprint-SP-3\""));

        // Unknown stories and other products' codes: 404.
        assert_eq!(app.form("/products/WEB/stories/ST-999/sprint", &px.owner, &[("sprint", "SP-1")]).await.status, StatusCode::NOT_FOUND);
        assert_eq!(app.get("/products/WEB/planning", &px.outsider).await.status, StatusCode::NOT_FOUND);
        assert_eq!(stories.len(), 3);
    }

    async fn runs_start_refused_with_blockers_then_cancel_and_resume(t) {
        let app = TestApp::new(t).await;
        let px = setup(&app).await;
        let (_, stories, tasks) = backlog(&app, &px, "Runs", 1, 2, false).await;
        let sid = sprint(&app, &px, "Run me").await;
        plan(&app, &px, &sid, &stories).await;

        let res = app.form("/products/WEB/sprints/SP-1/runs", &px.owner, &[("return_to", "/products/WEB/sprints")]).await;
        assert_eq!(res.status, StatusCode::CONFLICT, "{}", res.text);
        for t in &tasks {
            assert!(res.text.contains(&format!("<li>task_no_plan {t}</li>")), "one blocker per line: {}", res.text);
        }
        // From the board, the board is shown with the blockers.
        let res = app.form("/products/WEB/sprints/SP-1/runs", &px.owner, &[("return_to", "/products/WEB/board")]).await;
        assert_eq!(res.status, StatusCode::CONFLICT);
        assert!(res.text.contains("id=\"column-todo\"") && res.text.contains(&format!("<li>task_no_plan {}</li>", tasks[0])), "{}", res.text);
        assert_eq!(app.count("sprint_runs").await, 0);

        for t in &tasks {
            let res = app.json(Method::PATCH, &format!("/api/tasks/{t}"), &bearer(&px.m.owner), &json!({"implementation_plan": "1. Do it."})).await;
            assert_eq!(res.status, StatusCode::OK, "{}", res.text);
        }
        let res = app.form("/products/WEB/sprints/SP-1/runs", &px.owner, &[("return_to", "/products/WEB/board")]).await;
        assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text);
        let run_url = res.header("location").unwrap_or_default().to_string();
        assert!(run_url.starts_with("/products/WEB/runs/"), "{run_url}");
        let page = app.get(&run_url, &px.owner).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.text);
        assert!(page.text.contains("data-status=\"queued\"") && page.text.contains("Cancel run"), "{}", page.text);
        assert!(page.text.contains("data-live"));
        // The board and the sprints page link the run and refuse a second start.
        let board = app.get("/products/WEB/board", &px.owner).await;
        assert!(board.text.contains(&run_url) && board.text.contains("A run of this sprint is active"));

        let res = app.form(&format!("{run_url}/resume"), &px.owner, &[]).await;
        assert_eq!(res.status, StatusCode::CONFLICT);
        assert!(res.text.contains("only a paused run can be resumed"), "{}", res.text);
        let res = app.form(&format!("{run_url}/cancel"), &px.owner, &[]).await;
        assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text);
        let page = app.get(&run_url, &px.owner).await;
        assert!(page.text.contains("data-status=\"cancelled\"") && !page.text.contains("Cancel run"));
        let res = app.form(&format!("{run_url}/cancel"), &px.owner, &[]).await;
        assert_eq!(res.status, StatusCode::CONFLICT);
        assert!(res.text.contains("already cancelled"), "{}", res.text);

        // A paused run shows its pause context and resumes.
        let res = app.form("/products/WEB/sprints/SP-1/runs", &px.owner, &[]).await;
        assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text);
        let run2 = res.header("location").unwrap_or_default().to_string();
        let run_id = run2.rsplit('/').next().unwrap_or_default().to_string();
        {
            use baton_store::sea_orm::{ConnectionTrait, Statement};
            let db = &app.t.db;
            db.execute_raw(Statement::from_string(db.get_database_backend(), format!("UPDATE sprint_runs SET status = 'PAUSED', pause_context = '{{\"pause_reason\":\"QUOTA_DEPLETED\"}}' WHERE id = '{run_id}'"))).await.expect("pause");
        }
        let page = app.get(&run2, &px.owner).await;
        assert!(page.text.contains("QUOTA_DEPLETED") && page.text.contains(">Resume</button>"), "{}", page.text);
        let res = app.form(&format!("{run2}/resume"), &px.owner, &[]).await;
        assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text);
        let after = app.get(res.header("location").unwrap_or_default(), &px.owner).await;
        assert!(!after.text.contains("data-status=\"paused\""), "{}", after.text);

        // Unknown runs, and runs seen through another product: 404.
        assert_eq!(app.get("/products/WEB/runs/nope", &px.owner).await.status, StatusCode::NOT_FOUND);
        assert_eq!(app.get(&run_url, &px.outsider).await.status, StatusCode::NOT_FOUND);
        assert_eq!(app.form(&format!("{run_url}/cancel"), &px.outsider, &[]).await.status, StatusCode::NOT_FOUND);
    }

    async fn demo_and_read_only_members_see_disabled_controls_and_cannot_write(t) {
        let app = TestApp::new(t).await;
        let px = setup(&app).await;
        let (_, stories, tasks) = backlog(&app, &px, "Locked", 2, 1, true).await;
        let sid = sprint(&app, &px, "Locked sprint").await;
        plan(&app, &px, &sid, &stories[..1]).await;
        let res = app.form("/products/WEB/sprints/SP-1/runs", &px.owner, &[]).await;
        assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text);
        let run_url = res.header("location").unwrap_or_default().to_string();

        for (who, reason) in [(&px.reader, "Read-only member"), (&px.demo, "Demo accounts are read-only")] {
            for path in ["/products/WEB/sprints", "/products/WEB/planning", "/products/WEB/board", run_url.as_str()] {
                let page = app.get(path, who).await;
                assert_eq!(page.status, StatusCode::OK, "{path}: {}", page.text);
                assert!(page.text.contains(&format!("disabled title=\"{reason}\"")), "{path}: {}", page.text);
                assert!(!page.text.contains("draggable=\"true\""), "{path}: drag disabled");
                // Every submit button of a write form is disabled.
                for (i, _) in page.text.match_indices("<button type=\"submit\"") {
                    let b = &page.text[i..i + page.text[i..].find('>').unwrap_or(0)];
                    let is_get = page.text[..i].rfind("<form").is_some_and(|f| page.text[f..i].contains("method=\"get\"") || page.text[f..i].contains("/logout"));
                    assert!(is_get || b.contains("disabled"), "{path}: enabled write control {b}");
                }
            }
            let page = app.get("/products/WEB/board", who).await;
            assert!(tag(&page.text, &format!("task-{}", tasks[0])).contains("data-dnd-disabled"));
        }

        let before = (snapshot(&app).await, app.count("sprints").await, app.count("sprint_runs").await);
        for who in [&px.reader, &px.demo] {
            let posts: Vec<(String, Vec<(&str, &str)>)> = vec![
                ("/products/WEB/sprints".into(), vec![("sprint_goal", "Forged")]),
                ("/products/WEB/sprints/SP-1".into(), vec![("sprint_goal", "Forged")]),
                ("/products/WEB/sprints/SP-1/close".into(), vec![]),
                ("/products/WEB/sprints/SP-1/delete".into(), vec![]),
                ("/products/WEB/sprints/SP-1/runs".into(), vec![]),
                (format!("/products/WEB/stories/{}/sprint", stories[1]), vec![("sprint", "SP-1")]),
                (format!("/products/WEB/tasks/{}/status", tasks[0]), vec![("status", "done")]),
                (format!("{run_url}/cancel"), vec![]),
            ];
            for (path, fields) in posts {
                let res = app.form(&path, who, &fields).await;
                assert_eq!(res.status, StatusCode::FORBIDDEN, "{path}: {}", res.text);
            }
        }
        assert_eq!((snapshot(&app).await, app.count("sprints").await, app.count("sprint_runs").await), before);
        assert!(app.get(&run_url, &px.owner).await.text.contains("data-status=\"queued\""));
        let _ = created;
    }
}
