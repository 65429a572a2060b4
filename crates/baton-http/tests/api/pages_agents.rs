//! The agent pages: story and task detail (markdown, edit forms, jobs,
//! questions), "Start agent" / "Cancel agent" with the reasons it is
//! refused, the solo board, 404s, and demo and read-only users.

use axum::http::StatusCode;
use baton_app::{
    Actor, AuthVia,
    backlog::{
        pbis::NewPbi,
        stories::{NewStory, StoryPatch},
        story_logs::NewStoryLog,
        tasks::NewTask,
    },
    products::NewProduct,
    questions::NewQuestion,
    sprints::NewSprint,
    tokens::NewToken,
    workers::WorkerInfo,
};
use baton_domain::{backlog::StoryLogType, roles::Role};
use baton_testkit::backend_tests;

use crate::harness::{As, TestApp};

/// A product `ACME` with an open sprint holding three stories: ST-001
/// (alice's, tasks T-1 with a plan and T-2 without), ST-002 (nobody's,
/// T-3) and ST-003 (bob's, T-4); a reader, a demo member and an outsider.
struct Fx {
    app: TestApp,
    alice: Actor,
    alice_id: String,
    bob_id: String,
    cookie: As,
}

async fn actor_of(app: &TestApp, id: &str, via: AuthVia) -> Actor {
    Actor::from_user(app.app().get_user(&Actor::cli(), id).await.expect("user"), via)
}

async fn fixture(t: baton_testkit::TestDb) -> Fx {
    let app = TestApp::new(t).await;
    let alice_id = app.user("alice", &[Role::ProductOwner, Role::Developer], false).await;
    let bob_id = app.user("bob", &[Role::Developer], false).await;
    let reader_id = app.user("reader", &[Role::Developer], false).await;
    let demo_id = app.user("demo", &[Role::Developer], true).await;
    app.user("outsider", &[Role::Developer], false).await;
    let alice = actor_of(&app, &alice_id, AuthVia::OnBehalf).await;
    let a = app.app();
    let product = NewProduct {
        name: "Acme".into(),
        code: Some("ACME".into()),
        definition_of_done: "Tested".into(),
        ..Default::default()
    };
    let p = a.create_product(&alice, product).await.expect("product");
    app.member_row(&p.id, &bob_id, "READ_WRITE").await;
    app.member_row(&p.id, &reader_id, "READ_ONLY").await;
    app.member_row(&p.id, &demo_id, "READ_WRITE").await;
    let sp = a
        .create_sprint(&alice, &p.id, NewSprint { sprint_goal: "Ship it".into(), ..Default::default() })
        .await
        .expect("sprint");
    let pbi = a.create_pbi(&alice, &p.id, NewPbi { title: "Export".into(), ..Default::default() }).await.expect("pbi");
    let story = |title: &str, assignee: Option<&str>, description: Option<&str>| NewStory {
        title: title.into(),
        description: description.map(Into::into),
        acceptance_criteria: Some("- [ ] works".into()),
        sprint_id: Some(sp.id.clone()),
        assignee_id: assignee.map(Into::into),
        ..Default::default()
    };
    let desc = "**bold** and [evil](javascript:alert(1)) and <script>alert(2)</script>";
    let s1 = a
        .create_story(&alice, &pbi.id, story("<script>alert(1)</script> mine", Some(&alice_id), Some(desc)))
        .await
        .expect("s1");
    let s2 = a.create_story(&alice, &pbi.id, story("Free story", None, None)).await.expect("s2");
    let s3 = a.create_story(&alice, &pbi.id, story("Bob's story", Some(&bob_id), None)).await.expect("s3");
    let task = |title: &str, plan: Option<&str>| NewTask {
        title: title.into(),
        description: Some("Task *notes*".into()),
        implementation_plan: plan.map(Into::into),
        ..Default::default()
    };
    a.create_task(&alice, &s1.id, task("Planned", Some("1. Edit `src/lib.rs`\n2. **Test**"))).await.expect("T-1");
    a.create_task(&alice, &s1.id, task("Unplanned", None)).await.expect("T-2");
    a.create_task(&alice, &s2.id, task("Free task", Some("plan"))).await.expect("T-3");
    a.create_task(&alice, &s3.id, task("Bob's task", Some("plan"))).await.expect("T-4");
    // Adding a task to an unassigned story in a sprint makes its author the assignee: free ST-002 again.
    let free = StoryPatch { assignee_id: Some(None), ..Default::default() };
    a.update_story(&alice, &s2.id, free).await.expect("unassign");
    let cookie = As::Cookie(app.login("alice", "alice-password").await);
    Fx { app, alice, alice_id, bob_id, cookie }
}

impl Fx {
    /// Connects a worker of alice's (through a token, as `baton mcp` does).
    async fn connect_worker(&self) {
        let token = self
            .app
            .app()
            .create_token(&Actor::cli(), &self.alice_id, NewToken { label: "w".into(), ..Default::default() })
            .await
            .expect("token");
        let via = AuthVia::Token { token_id: token.info.id.clone(), scope: None };
        let worker = actor_of(&self.app, &self.alice_id, via).await;
        self.app.app().register_worker(&worker, WorkerInfo::new("laptop")).await.expect("worker");
    }

    async fn login(&self, who: &str) -> As {
        As::Cookie(self.app.login(who, &format!("{who}-password")).await)
    }

    async fn jobs(&self) -> i64 {
        self.app.count("jobs").await
    }
}

/// The element with `id="…"` (its opening tag up to the next `</li>`/`</header>`).
fn element<'a>(html: &'a str, id: &str) -> &'a str {
    let start = html.find(&format!("id=\"{id}\"")).unwrap_or_else(|| panic!("no #{id} in page"));
    let rest = &html[start..];
    let end = rest.find("</li>").or_else(|| rest.find("</header>")).unwrap_or(rest.len());
    &rest[..end]
}

/// No inline styles, handlers or scripts (the CSP forbids them).
fn csp_clean(html: &str) {
    assert!(!html.contains(" style="), "inline style");
    assert!(!html.contains(" onclick=") && !html.contains(" onerror=") && !html.contains(" onload="), "handler");
    for (i, _) in html.match_indices("<script") {
        let tag = &html[i..i + html[i..].find('>').expect("tag end")];
        assert!(tag.contains(" src="), "inline script: {tag}");
    }
}

backend_tests! {
    async fn story_and_task_pages_render_markdown_harmlessly(t) {
        let fx = fixture(t).await;
        let a = fx.app.app();
        let question = NewQuestion {
            story_id: Some("ST-001".into()),
            task_id: Some("T-1".into()),
            question: "Use **Postgres** or SQLite?".into(),
            options: Some(vec!["Postgres".into(), "SQLite".into()]),
            ..Default::default()
        };
        let q = a.ask_question(&fx.alice, question).await.expect("ask");
        let free = NewQuestion { story_id: Some("ST-001".into()), question: "Anything else?".into(), ..Default::default() };
        let answered = a.ask_question(&fx.alice, free).await.expect("ask");
        a.answer_question(&fx.alice, &answered.id, baton_app::questions::AnswerInput { answer: "No, ship it".into() })
            .await
            .expect("answer");
        let log = NewStoryLog {
            kind: StoryLogType::TestResult,
            content: "All **42** tests pass".into(),
            status: Some(baton_domain::backlog::TestStatus::Passed),
            commit_hash: None,
            commit_message: None,
            metadata: None,
        };
        a.add_story_log(&fx.alice, "ST-001", log).await.expect("log");

        let res = fx.app.get("/products/ACME/stories/ST-001", &fx.cookie).await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.text);
        let html = &res.text;
        csp_clean(html);
        let head = element(html, "story-ST-001");
        assert!(head.contains("data-code=\"ST-001\"") && head.contains("data-status=\"in_sprint\""), "{head}");
        assert!(!html.contains("<script>alert"), "title and description are escaped");
        assert!(html.contains("&#60;script&#62;alert(1)&#60;/script&#62; mine"), "title escaped");
        assert!(html.contains("<strong>bold</strong>"), "markdown rendered");
        assert!(!html.to_ascii_lowercase().contains("href=\"javascript"), "javascript: link dropped");
        assert!(html.contains("evil"), "its text stays");
        assert!(html.contains("<li><input disabled=\"\" type=\"checkbox\"/>"), "acceptance criteria rendered");
        let t1 = element(html, "task-T-1");
        assert!(t1.contains("data-code=\"T-1\"") && t1.contains("data-status=\"todo\""), "{t1}");
        assert!(element(html, "task-T-2").contains("no plan"));
        assert!(html.contains("All <strong>42</strong> tests pass"), "log rendered");
        // The open question has its answer form (the questions page's route), with option buttons.
        let qhtml = element(html, &format!("question-{}", q.id));
        assert!(qhtml.contains(&format!("action=\"/questions/{}/answer\"", q.id)), "{qhtml}");
        assert!(qhtml.contains("name=\"option\" value=\"Postgres\""), "{qhtml}");
        assert!(qhtml.contains("name=\"return_to\" value=\"/products/ACME/stories/ST-001\""), "{qhtml}");
        assert!(qhtml.contains("<strong>Postgres</strong>"), "question markdown");
        let ahtml = element(html, &format!("question-{}", answered.id));
        assert!(ahtml.contains("No, ship it") && ahtml.contains("alice") && !ahtml.contains("<form"), "{ahtml}");

        let res = fx.app.get("/products/acme/tasks/t-1", &fx.cookie).await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.text);
        let html = &res.text;
        csp_clean(html);
        let head = element(html, "task-T-1");
        assert!(head.contains("data-status=\"todo\""), "{head}");
        assert!(html.contains("<code>src/lib.rs</code>") && html.contains("<strong>Test</strong>"), "plan rendered");
        assert!(html.contains("Task <em>notes</em>"), "description rendered");
        assert!(html.contains(&format!("question-{}", q.id)), "the task's question");
        assert!(!html.contains(&format!("question-{}", answered.id)), "only questions about this task");
    }

    async fn edit_forms_change_the_item_or_show_the_error_next_to_the_field(t) {
        let fx = fixture(t).await;
        let a = fx.app.app();
        let path = "/products/ACME/stories/ST-002/update";
        let fields = [("title", "Renamed"), ("description", "New *desc*"), ("acceptance_criteria", ""),
            ("priority", "1"), ("assignee_id", ""), ("return_to", "/products/ACME/solo")];
        let res = fx.app.form(path, &fx.cookie, &fields).await;
        assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text);
        assert_eq!(res.header("location"), Some("/products/ACME/solo"));
        let s = a.get_story(&fx.alice, "ST-002").await.expect("story");
        assert_eq!((s.title.as_str(), s.description.as_deref(), s.acceptance_criteria.as_deref(), s.priority),
            ("Renamed", Some("New *desc*"), None, 1));

        // Blank title: 422, the message next to the title, what was typed kept, nothing written.
        let fields = [("title", "  "), ("description", "typed text survives"), ("priority", "3")];
        let res = fx.app.form(path, &fx.cookie, &fields).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", res.text);
        assert!(res.text.contains("id=\"title-error\""), "{}", res.text);
        assert!(res.text.contains("aria-invalid=\"true\" aria-describedby=\"title-error\""));
        assert!(res.text.contains("typed text survives"));
        assert_eq!(a.get_story(&fx.alice, "ST-002").await.expect("story"), s, "nothing written");
        // A priority out of range and an assignee who is not a member.
        let outsider = a.find_user_by_username("outsider").await.expect("lookup").expect("user").id;
        let res = fx.app.form(path, &fx.cookie, &[("priority", "9"), ("assignee_id", outsider.as_str())]).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", res.text);
        assert!(res.text.contains("id=\"priority-error\""), "{}", res.text);
        assert_eq!(a.get_story(&fx.alice, "ST-002").await.expect("story"), s);
        let res = fx.app.form(path, &fx.cookie, &[("assignee_id", outsider.as_str())]).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", res.text);
        assert!(res.text.contains("id=\"assignee_id-error\""), "{}", res.text);
        // return_to elsewhere is ignored.
        let res = fx.app.form(path, &fx.cookie, &[("priority", "2"), ("return_to", "//evil.example")]).await;
        assert_eq!(res.header("location"), Some("/products/ACME/stories/ST-002"));

        // Task: edit form and plan form.
        let fields = [("title", "Planned, renamed"), ("description", ""), ("status", "in_progress"), ("priority", "2"),
            ("verify_required", "any"), ("verify_only", "true"), ("requires_opus", "false"), ("repo_url", "")];
        let res = fx.app.form("/products/ACME/tasks/T-1/update", &fx.cookie, &fields).await;
        assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text);
        assert_eq!(res.header("location"), Some("/products/ACME/tasks/T-1"));
        let task = a.get_task(&fx.alice, "T-1").await.expect("task");
        assert_eq!(task.title, "Planned, renamed");
        assert_eq!(task.description, None);
        assert_eq!(task.status.as_api(), "in_progress");
        assert!(task.verify_only);
        // The story followed the task (propagation through the same service).
        let page = fx.app.get("/products/ACME/stories/ST-001", &fx.cookie).await.text;
        assert!(element(&page, "task-T-1").contains("data-status=\"in_progress\""));

        let res = fx.app.form("/products/ACME/tasks/T-2/plan", &fx.cookie, &[("implementation_plan", "Step 1\r\nStep 2")]).await;
        assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text);
        assert_eq!(a.get_task(&fx.alice, "T-2").await.expect("task").implementation_plan.as_deref(), Some("Step 1\nStep 2"));
        let long = "x".repeat(8001);
        let res = fx.app.form("/products/ACME/tasks/T-2/plan", &fx.cookie, &[("implementation_plan", long.as_str())]).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", res.text);
        assert!(res.text.contains("id=\"implementation_plan-error\""), "{}", res.text);
        assert_eq!(a.get_task(&fx.alice, "T-2").await.expect("task").implementation_plan.as_deref(), Some("Step 1\nStep 2"));
        let res = fx.app.form("/products/ACME/tasks/T-2/update", &fx.cookie, &[("status", "sideways")]).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", res.text);
        assert!(res.text.contains("id=\"status-error\""), "{}", res.text);
    }

    async fn start_agent_is_refused_with_the_reason_until_it_can_run(t) {
        let fx = fixture(t).await;
        let a = fx.app.app();
        // No worker connected: disabled with the reason; a forged POST shows it, writes nothing.
        let page = fx.app.get("/products/ACME/tasks/T-1", &fx.cookie).await.text;
        assert!(page.contains("Start agent</button>"));
        assert!(element(&page, "task-agent").contains("disabled title=\"no agent worker of yours is connected"), "{page}");
        let res = fx.app.form("/products/ACME/tasks/T-1/agent-runs", &fx.cookie, &[]).await;
        assert_eq!(res.status, StatusCode::CONFLICT, "{}", res.text);
        assert!(res.text.contains("no agent worker of yours is connected"), "{}", res.text);
        assert_eq!(fx.jobs().await, 0);

        fx.connect_worker().await;
        // No plan: the same, from the solo board (the error is shown on the card).
        let solo = fx.app.get("/products/ACME/solo", &fx.cookie).await.text;
        let t2 = element(&solo, "task-T-2");
        assert!(t2.contains("disabled") && t2.contains("has no implementation plan"), "{t2}");
        assert!(!element(&solo, "task-T-1").contains("disabled"), "T-1 can start");
        let res = fx.app.form("/products/ACME/tasks/T-2/agent-runs", &fx.cookie, &[("return_to", "/products/ACME/solo")]).await;
        assert_eq!(res.status, StatusCode::CONFLICT, "{}", res.text);
        let card = element(&res.text, "task-T-2");
        assert!(card.contains("role=\"alert\"") && card.contains("no implementation plan"), "{card}");
        assert_eq!(fx.jobs().await, 0);

        // T-1 starts: 303 back to the board, one queued job, shown on the card.
        let res = fx.app.form("/products/ACME/tasks/T-1/agent-runs", &fx.cookie, &[("return_to", "/products/ACME/solo")]).await;
        assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text);
        assert_eq!(res.header("location"), Some("/products/ACME/solo"));
        let jobs = a.list_jobs(&fx.alice, Default::default()).await.expect("jobs").items;
        assert_eq!(jobs.len(), 1);
        assert_eq!((jobs[0].status.as_str(), jobs[0].kind.as_str()), ("queued", "task_implementation"));
        let solo = fx.app.get("/products/ACME/solo", &fx.cookie).await.text;
        let t1 = element(&solo, "task-T-1");
        assert!(t1.contains("data-job-status=\"queued\""), "{t1}");
        assert!(t1.contains("already has a queued job") && t1.contains("Cancel agent"), "{t1}");
        assert!(solo.contains("id=\"solo-board\"") && solo.contains("data-live"));
        // A second start is refused: live job.
        let res = fx.app.form("/products/ACME/tasks/T-1/agent-runs", &fx.cookie, &[]).await;
        assert_eq!(res.status, StatusCode::CONFLICT);
        assert!(res.text.contains("already has a queued job"), "{}", res.text);
        assert_eq!(fx.jobs().await, 1);
        // The task page lists the job.
        let page = fx.app.get("/products/ACME/tasks/T-1", &fx.cookie).await.text;
        assert!(page.contains(&format!("id=\"job-{}\"", jobs[0].id)), "{page}");

        // Cancel: the job is cancelled and Start is available again.
        let res = fx.app.form("/products/ACME/tasks/T-1/agent-runs/cancel", &fx.cookie, &[]).await;
        assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text);
        assert_eq!(a.get_job(&fx.alice, &jobs[0].id).await.expect("job").status, "cancelled");
        let res = fx.app.form("/products/ACME/tasks/T-1/agent-runs/cancel", &fx.cookie, &[]).await;
        assert_eq!(res.status, StatusCode::CONFLICT, "nothing left to cancel");
        let solo = fx.app.get("/products/ACME/solo", &fx.cookie).await.text;
        let t1 = element(&solo, "task-T-1");
        assert!(t1.contains("data-job-status=\"cancelled\"") && !t1.contains("disabled"), "{t1}");
    }

    async fn the_solo_board_shows_mine_and_free_stories_and_lets_me_take_one(t) {
        let fx = fixture(t).await;
        let res = fx.app.get("/products/ACME/solo", &fx.cookie).await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.text);
        csp_clean(&res.text);
        let html = &res.text;
        assert!(html.contains("Ship it"));
        assert!(element(html, "story-ST-001").contains("data-status=\"in_sprint\""));
        assert!(html.contains("id=\"story-ST-002\""), "free to take");
        assert!(!html.contains("id=\"story-ST-003\"") && !html.contains("id=\"task-T-4\""), "not bob's");
        assert!(html.contains("No agent connected"));
        // Take ST-002: it becomes mine.
        let take = element(html, "story-ST-002");
        assert!(take.contains("action=\"/products/ACME/stories/ST-002/update\"") && take.contains(&fx.alice_id), "{take}");
        let res = fx.app.form("/products/ACME/stories/ST-002/update", &fx.cookie,
            &[("assignee_id", fx.alice_id.as_str()), ("return_to", "/products/ACME/solo")]).await;
        assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text);
        let s = fx.app.app().get_story(&fx.alice, "ST-002").await.expect("story");
        assert_eq!(s.assignee_id.as_deref(), Some(fx.alice_id.as_str()));
        // Bob sees his own story and no longer the one alice took.
        let bob = fx.login("bob").await;
        let html = fx.app.get("/products/ACME/solo", &bob).await.text;
        assert!(html.contains("id=\"story-ST-003\"") && !html.contains("id=\"story-ST-002\"") && !html.contains("id=\"story-ST-001\""));
        // Reassigning through the service moves it off alice's board.
        let patch = StoryPatch { assignee_id: Some(Some(fx.bob_id.clone())), ..Default::default() };
        fx.app.app().update_story(&fx.alice, "ST-002", patch).await.expect("reassign");
        let html = fx.app.get("/products/ACME/solo", &fx.cookie).await.text;
        assert!(!html.contains("id=\"story-ST-002\""));
    }

    async fn unknown_codes_and_other_peoples_products_are_the_same_404(t) {
        let fx = fixture(t).await;
        let outsider = fx.login("outsider").await;
        let not_found = fx.app.get("/products/NOPE/solo", &fx.cookie).await;
        assert_eq!(not_found.status, StatusCode::NOT_FOUND);
        for path in ["/products/ACME/stories/ST-999", "/products/ACME/tasks/T-999", "/products/ACME/stories/T-1",
            "/products/NOPE/stories/ST-001", "/products/NOPE/tasks/T-1"] {
            let res = fx.app.get(path, &fx.cookie).await;
            assert_eq!(res.status, StatusCode::NOT_FOUND, "{path}");
            assert_eq!(res.text, not_found.text, "{path}: the one 404 page");
        }
        for path in ["/products/ACME/stories/ST-001", "/products/ACME/tasks/T-1", "/products/ACME/solo"] {
            let res = fx.app.get(path, &outsider).await;
            assert_eq!(res.status, StatusCode::NOT_FOUND, "{path}");
            assert!(res.text.contains("There is nothing here"), "{path}");
        }
        let before = fx.app.app().get_story(&fx.alice, "ST-001").await.expect("story");
        for path in ["/products/ACME/stories/ST-001/update", "/products/ACME/tasks/T-1/update", "/products/ACME/tasks/T-1/plan",
            "/products/ACME/tasks/T-1/agent-runs", "/products/ACME/tasks/T-1/agent-runs/cancel"] {
            let res = fx.app.form(path, &outsider, &[("title", "hacked"), ("implementation_plan", "x")]).await;
            assert_eq!(res.status, StatusCode::NOT_FOUND, "{path}");
        }
        assert_eq!(fx.app.app().get_story(&fx.alice, "ST-001").await.expect("story"), before);
        assert_eq!(fx.jobs().await, 0);
    }

    async fn demo_users_and_read_only_members_see_disabled_controls_and_are_refused(t) {
        let fx = fixture(t).await;
        fx.connect_worker().await;
        let before = fx.app.app().get_story(&fx.alice, "ST-001").await.expect("story");
        let plan = fx.app.app().get_task(&fx.alice, "T-2").await.expect("task").implementation_plan;
        for (who, reason) in [("reader", "Read-only member"), ("demo", "Demo accounts are read-only")] {
            let cookie = fx.login(who).await;
            for path in ["/products/ACME/stories/ST-001", "/products/ACME/tasks/T-1", "/products/ACME/solo"] {
                let res = fx.app.get(path, &cookie).await;
                assert_eq!(res.status, StatusCode::OK, "{who} {path}");
                assert!(res.text.contains(&format!("id=\"why-disabled\" class=\"notice\">{reason}")), "{who} {path}");
                // Every form's submit control is disabled (directly or by its fieldset); the
                // logout form of the top bar is the only exception.
                let forms: Vec<&str> = res.text.split("<form").skip(1).filter(|f| !f.contains("action=\"/logout\"")).collect();
                assert!(!forms.is_empty(), "{who} {path}");
                for f in forms {
                    let f = &f[..f.find("</form>").unwrap_or(f.len())];
                    assert!(f.contains(" disabled"), "{who} {path}: enabled control in {f}");
                }
            }
            let posts: [(&str, &[(&str, &str)]); 5] = [
                ("/products/ACME/stories/ST-001/update", &[("title", "hacked")]),
                ("/products/ACME/tasks/T-2/update", &[("title", "hacked")]),
                ("/products/ACME/tasks/T-2/plan", &[("implementation_plan", "hacked")]),
                ("/products/ACME/tasks/T-1/agent-runs", &[]),
                ("/products/ACME/stories/ST-002/update", &[("assignee_id", fx.alice_id.as_str())]),
            ];
            for (path, fields) in posts {
                let res = fx.app.form(path, &cookie, fields).await;
                assert_eq!(res.status, StatusCode::FORBIDDEN, "{who} {path}: {}", res.text);
            }
        }
        assert_eq!(fx.app.app().get_story(&fx.alice, "ST-001").await.expect("story"), before);
        assert_eq!(fx.app.app().get_story(&fx.alice, "ST-002").await.expect("story").assignee_id, None);
        assert_eq!(fx.app.app().get_task(&fx.alice, "T-2").await.expect("task").implementation_plan, plan);
        assert_eq!(fx.jobs().await, 0);
    }
}
