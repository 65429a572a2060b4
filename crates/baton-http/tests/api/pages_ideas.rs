//! The `/ideas` and `/ideas/{code}` pages through the whole router with a
//! browser session, on both backends: the list with its filters in the
//! URL, creating an idea by a plain form post (303) and a refused one shown
//! next to its field with nothing written, CSRF and demo refusals with the
//! database unchanged, another user's idea as the one 404 page, the detail
//! page's edit, archive, log and plan forms, plan errors listed with their
//! line numbers, and the page stream carrying the owner's `idea_changed`.

use axum::{
    body::Body,
    http::{Request, StatusCode, header},
};
use baton_store::sea_orm::{ConnectionTrait, Statement};
use baton_testkit::backend_tests;
use tower::ServiceExt;

use crate::harness::{As, Res, TestApp};

/// A plan that parses: one story with two tasks and a build-sprint goal.
const GOOD_PLAN: &str = "---\nsprint:\n  goal: Ship export\npbi:\n  title: Export\n  priority: 2\nstories:\n  - title: Button\n    priority: 2\n    tasks:\n      - title: Route\n        implementation_plan: add it\n        priority: 2\n      - title: Check\n        implementation_plan: run it\n        priority: 3\n---\n\n# Why\nBecause.\n";

/// A plan with a YAML syntax error on document line 6 (one space too many).
const BAD_PLAN: &str =
    "---\npbi:\n  title: Export\n  description: |\n    Long text\n   priority: 2\nstories: []\n---\n";

/// A logged-in browser of one of the matrix users (`mx-owner`, `mx-demo`, …).
async fn browser(app: &TestApp, who: &str) -> As {
    As::Cookie(app.login(who, &format!("{who}-password")).await)
}

/// Puts an idea into a status directly (dispatch needs a live worker).
async fn force_status(app: &TestApp, code: &str, status: &str) {
    let db = &app.t.db;
    db.execute_raw(Statement::from_sql_and_values(
        db.get_database_backend(),
        "UPDATE ideas SET status = $1 WHERE code = $2",
        [status.into(), code.into()],
    ))
    .await
    .expect("status");
}

async fn idea_status(app: &TestApp, code: &str) -> String {
    let db = &app.t.db;
    let row = db
        .query_one_raw(Statement::from_sql_and_values(
            db.get_database_backend(),
            "SELECT status FROM ideas WHERE code = $1",
            [code.into()],
        ))
        .await
        .expect("read")
        .expect("idea");
    row.try_get::<String>("", "status").expect("status")
}

/// Creates an idea through the page's form; returns the redirect target.
async fn create(app: &TestApp, who: &As, fields: &[(&str, &str)]) -> Res {
    app.form("/ideas", who, fields).await
}

/// Reads the page stream until an event named `name` arrives; panics
/// after `within`.
async fn wait_for_event(body: &mut axum::body::BodyDataStream, name: &str, within: std::time::Duration) {
    use futures::StreamExt;
    let needle = format!("event: {name}");
    let mut buf = String::new();
    let deadline = tokio::time::Instant::now() + within;
    while !buf.contains(&needle) {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        match tokio::time::timeout(left, body.next()).await {
            Ok(Some(Ok(bytes))) => buf.push_str(&String::from_utf8_lossy(&bytes)),
            other => {
                panic!("no `{name}` event within {within:?} ({:?}); got: {buf}", other.map(|o| o.map(|r| r.is_ok())))
            }
        }
    }
}

/// The opening tag of the button with id `id`.
fn button<'a>(res: &'a Res, id: &str) -> &'a str {
    let start =
        res.text.find(&format!("<button type=\"submit\" id=\"{id}\"")).unwrap_or_else(|| panic!("a {id} button"));
    let end = start + res.text[start..].find('>').expect("tag end");
    &res.text[start..end]
}

fn location(res: &Res) -> &str {
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text);
    res.header("location").expect("location")
}

backend_tests! {
    async fn ideas_are_created_by_form_listed_with_filters_and_private(t) {
        let app = TestApp::new(t).await;
        let m = app.matrix().await;
        let owner = browser(&app, "mx-owner").await;

        // The nav links the list; an empty list invites the first idea.
        let empty = app.get("/ideas", &owner).await;
        assert_eq!(empty.status, StatusCode::OK, "{}", empty.text);
        assert!(empty.text.contains("href=\"/ideas\" aria-current=\"page\">Ideas</a>"), "{}", empty.text);
        assert!(empty.text.contains("No ideas yet") && empty.text.contains("action=\"/ideas\""));
        assert!(empty.text.contains(&format!("<option value=\"{}\">Matrix</option>", m.product_id)), "products offered");

        // Plain form post without JavaScript: 303 to the new idea's page.
        let res = create(&app, &owner, &[("title", "Export <b>CSV</b>"), ("description", "as a file"), ("product_id", &m.product_id)]).await;
        assert_eq!(location(&res), "/ideas/IDEA-001");
        let res = create(&app, &owner, &[("title", "Dark mode"), ("description", ""), ("product_id", "")]).await;
        assert_eq!(location(&res), "/ideas/IDEA-002");

        let list = app.get("/ideas", &owner).await;
        assert!(list.text.contains("id=\"ideas-list\"") && list.text.contains("data-live"), "a live region");
        assert!(list.text.contains("id=\"idea-IDEA-001\" data-code=\"IDEA-001\" data-status=\"draft\""), "{}", list.text);
        assert!(list.text.contains("Export &#60;b&#62;CSV&#60;/b&#62;"), "titles are escaped");
        assert!(list.text.contains(&format!("href=\"/products/{}\">Matrix</a>", m.product_id)), "the product is named");
        assert!(list.text.contains("2 ideas"));
        assert!(!list.text.contains("style=\"") && !list.text.contains(" onclick="), "CSP-clean");

        // Filters in the URL, kept in the form.
        let by_product = app.get(&format!("/ideas?product={}", m.product_id), &owner).await;
        assert!(by_product.text.contains("IDEA-001") && !by_product.text.contains("id=\"idea-IDEA-002\""));
        assert!(by_product.text.contains(&format!("<option value=\"{}\" selected>", m.product_id)));
        let by_status = app.get("/ideas?status=plan_ready", &owner).await;
        assert!(by_status.text.contains("No idea matches") && by_status.text.contains("<option value=\"plan_ready\" selected>"));
        let bad = app.get("/ideas?status=bogus", &owner).await;
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(bad.text.contains("id=\"status-error\""), "{}", bad.text);
        let bad = app.get("/ideas?product=NOPE", &owner).await;
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(bad.text.contains("id=\"product-error\""), "{}", bad.text);

        // A refused create: the message next to the field, the text kept, nothing written.
        let before = app.count("ideas").await;
        let res = create(&app, &owner, &[("title", "   "), ("description", "kept text"), ("product_id", "")]).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", res.text);
        assert!(res.text.contains("id=\"title-error\"") && res.text.contains("kept text"), "{}", res.text);
        assert_eq!(app.count("ideas").await, before);

        // A read-only product is refused on its field.
        let reader = browser(&app, "mx-reader").await;
        let res = create(&app, &reader, &[("title", "Mine"), ("product_id", &m.product_id)]).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(res.text.contains("id=\"product_id-error\""), "{}", res.text);
        assert_eq!(app.count("ideas").await, before);

        // Ideas are private: another user (even a member of the product) gets the one 404 page.
        let writer = browser(&app, "mx-writer").await;
        let other = app.get("/ideas/IDEA-001", &writer).await;
        assert_eq!(other.status, StatusCode::NOT_FOUND);
        assert!(!other.text.contains("Export"));
        assert!(app.get("/ideas", &writer).await.text.contains("0 ideas"));
        let res = app.form("/ideas/IDEA-001/update", &writer, &[("title", "Stolen")]).await;
        assert_eq!(res.status, StatusCode::NOT_FOUND);
        assert_eq!(app.get("/ideas", &As::Nobody).await.header("location"), Some("/login"));

        // A post from another site is refused before anything runs.
        let As::Cookie(c) = &owner else { unreachable!() };
        let req = Request::builder()
            .method("POST").uri("/ideas")
            .header("host", "127.0.0.1:8080").header("cookie", format!("baton_session={c}"))
            .header("origin", "https://evil.example").header("content-type", "application/x-www-form-urlencoded")
            .body(Body::from("title=Forged")).expect("request");
        assert_eq!(app.send(req).await.status, StatusCode::FORBIDDEN);
        assert_eq!(app.count("ideas").await, before);

        // Demo users: the form is disabled with the reason, a forged post is refused.
        let demo = browser(&app, "mx-demo").await;
        let page = app.get("/ideas", &demo).await;
        assert!(page.text.contains("disabled title=\"Demo accounts are read-only\""), "{}", page.text);
        let res = create(&app, &demo, &[("title", "Forged")]).await;
        assert_eq!(res.status, StatusCode::FORBIDDEN);
        assert_eq!(app.count("ideas").await, before);
    }

    async fn the_idea_page_edits_logs_archives_and_shows_plan_errors_by_line(t) {
        let app = TestApp::new(t).await;
        let m = app.matrix().await;
        let owner = browser(&app, "mx-owner").await;
        create(&app, &owner, &[("title", "Export"), ("product_id", "")]).await;

        let page = app.get("/ideas/IDEA-001", &owner).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.text);
        for region in ["idea-head", "idea-actions", "grill", "plan", "idea-jobs", "idea-questions", "logs"] {
            assert!(page.text.contains(&format!("id=\"{region}\"")), "region {region}");
        }
        assert!(page.text.contains("data-code=\"IDEA-001\" data-status=\"draft\""));
        // Without a product the plan cannot be written: the reason is next to the button.
        assert!(page.text.contains("id=\"plan-why\" class=\"why\">Choose the idea&#39;s product first")
            || page.text.contains("id=\"plan-why\" class=\"why\">Choose the idea&#x27;s product first")
            || page.text.contains("id=\"plan-why\" class=\"why\">Choose the idea's product first"), "{}", page.text);
        assert!(!page.text.contains("style=\"") && !page.text.contains(" onclick="), "CSP-clean");

        // Edit: title, product and a secondary product (checkboxes).
        let other = app.product_row(&crate::items::ix::me(&app, &crate::items::ix::bearer(&m.owner)).await, "Other").await;
        let res = app.form("/ideas/IDEA-001/update", &owner, &[
            ("title", "Export CSV"), ("description", "Line one\r\nline two"), ("product_id", &m.product_id),
            ("product_ids_shown", "1"), ("product_ids", &other),
        ]).await;
        assert_eq!(location(&res), "/ideas/IDEA-001");
        let page = app.get("/ideas/IDEA-001", &owner).await;
        assert!(page.text.contains("Export CSV") && page.text.contains("Also affects"), "{}", page.text);
        assert!(page.text.contains(&format!("value=\"{other}\" checked")), "the secondary stays ticked");
        // A blank title is refused next to its field, nothing changed.
        let res = app.form("/ideas/IDEA-001/update", &owner, &[("title", " ")]).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(res.text.contains("id=\"title-error\""), "{}", res.text);
        assert!(app.get("/ideas/IDEA-001", &owner).await.text.contains("Export CSV"));

        // A decision in the log.
        let res = app.form("/ideas/IDEA-001/logs", &owner, &[("type", "decision"), ("content", "Only **CSV** in v1")]).await;
        assert_eq!(location(&res), "/ideas/IDEA-001#logs");
        let page = app.get("/ideas/IDEA-001", &owner).await;
        assert!(page.text.contains("data-kind=\"decision\"") && page.text.contains("<strong>CSV</strong>"), "{}", page.text);
        let res = app.form("/ideas/IDEA-001/logs", &owner, &[("type", "decision"), ("content", "")]).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(res.text.contains("id=\"content-error\""), "{}", res.text);

        // A plan can be pasted once grilled; a bad one is stored with its errors by line.
        force_status(&app, "IDEA-001", "GRILLED").await;
        let res = app.form("/ideas/IDEA-001/plan", &owner, &[("markdown", &BAD_PLAN.replace('\n', "\r\n"))]).await;
        assert_eq!(location(&res), "/ideas/IDEA-001#plan");
        assert_eq!(idea_status(&app, "IDEA-001").await, "PLAN_FAILED");
        let page = app.get("/ideas/IDEA-001", &owner).await;
        assert!(page.text.contains("id=\"plan-errors\""), "{}", page.text);
        assert!(page.text.contains("<a href=\"#plan-line-6\">Line 6</a>"), "the error names its line: {}", page.text);
        assert!(page.text.contains("id=\"plan-line-6\" value=\"6\" class=\"bad\""), "the line is marked in the source");
        assert!(page.text.contains("data-kind=\"job_event\""), "the failure is logged");
        // A schema error names its dotted path.
        let schema_bad = GOOD_PLAN.replace("        implementation_plan: run it\n", "");
        app.form("/ideas/IDEA-001/plan", &owner, &[("markdown", &schema_bad)]).await;
        let page = app.get("/ideas/IDEA-001", &owner).await;
        assert!(page.text.contains("stories.0.tasks.1.implementation_plan"), "{}", page.text);
        // Hostile input is refused next to the field with the text kept and nothing written.
        let huge = format!("---\n{}", "x".repeat(300 * 1024));
        let res = app.form("/ideas/IDEA-001/plan", &owner, &[("markdown", &huge)]).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(res.text.contains("id=\"markdown-error\""));
        // Fixed by hand: plan_ready, the preview shows what materializing creates.
        let res = app.form("/ideas/IDEA-001/plan", &owner, &[("markdown", GOOD_PLAN)]).await;
        assert_eq!(location(&res), "/ideas/IDEA-001#plan");
        assert_eq!(idea_status(&app, "IDEA-001").await, "PLAN_READY");
        let page = app.get("/ideas/IDEA-001", &owner).await;
        assert!(!page.text.contains("id=\"plan-errors\""));
        assert!(page.text.contains("id=\"plan-preview\"") && page.text.contains("<strong>2 tasks</strong>"), "{}", page.text);
        assert!(page.text.contains("Ship export") && page.text.contains("<h1>Why</h1>"));

        // Archive: read-only with the reason, hidden from the list; unarchive brings it back.
        let res = app.form("/ideas/IDEA-001/archive", &owner, &[]).await;
        assert_eq!(location(&res), "/ideas/IDEA-001");
        let page = app.get("/ideas/IDEA-001", &owner).await;
        assert!(page.text.contains("IDEA-001 is archived: unarchive it to change it"), "{}", page.text);
        assert!(page.text.contains("action=\"/ideas/IDEA-001/unarchive\""));
        assert!(app.get("/ideas", &owner).await.text.contains("0 ideas"));
        assert!(app.get("/ideas?archived=true", &owner).await.text.contains("id=\"idea-IDEA-001\""));
        let res = app.form("/ideas/IDEA-001/logs", &owner, &[("content", "late")]).await;
        assert_eq!(res.status, StatusCode::CONFLICT, "archived ideas are read-only");
        assert!(res.text.contains("archived"));
        let res = app.form("/ideas/IDEA-001/unarchive", &owner, &[]).await;
        assert_eq!(location(&res), "/ideas/IDEA-001");
        assert!(app.get("/ideas", &owner).await.text.contains("id=\"idea-IDEA-001\""));
    }

    async fn actions_are_disabled_with_the_guards_reason_then_dispatch_and_materialize(t) {
        let app = TestApp::new(t).await;
        let m = app.matrix().await;
        let owner = browser(&app, "mx-owner").await;
        create(&app, &owner, &[("title", "Export"), ("product_id", &m.product_id)]).await;

        // No repository yet: Grill is disabled with the guard's reason; the others by status.
        let page = app.get("/ideas/IDEA-001", &owner).await;
        let grill = button(&page, "action-grill");
        assert!(grill.contains(" disabled") && grill.contains("repo_url"), "{grill}");
        assert!(button(&page, "action-make_plan").contains(" disabled"));
        assert!(page.text.contains("id=\"action-materialize-why\""), "materialize says why it is disabled");
        let before = app.count("jobs").await;
        let res = app.form("/ideas/IDEA-001/jobs", &owner, &[("kind", "grill")]).await;
        assert_eq!(res.status, StatusCode::CONFLICT, "{}", res.text);
        assert!(res.text.contains("repo_url"), "the refusal is shown on the page");
        assert_eq!(app.count("jobs").await, before, "nothing queued");
        let res = app.form("/ideas/IDEA-001/jobs", &owner, &[("kind", "deploy")]).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(res.text.contains("kind: must be grill, make_plan or review_plan"), "{}", res.text);

        // With a repository but no live worker: the reason says so.
        let db = &app.t.db;
        db.execute_raw(Statement::from_sql_and_values(
            db.get_database_backend(),
            "UPDATE products SET repo_url = 'https://example.com/r.git' WHERE id = $1",
            [m.product_id.clone().into()],
        )).await.expect("repo");
        let page = app.get("/ideas/IDEA-001", &owner).await;
        let grill = button(&page, "action-grill");
        assert!(grill.contains(" disabled") && grill.contains("worker"), "{grill}");

        // A live worker: Grill is enabled and queues a job shown on the page.
        let actor = app.app().token_actor(&m.owner).await.expect("actor");
        app.app().register_worker(&actor, baton_app::workers::WorkerInfo::new("laptop")).await.expect("worker");
        let page = app.get("/ideas/IDEA-001", &owner).await;
        assert!(!button(&page, "action-grill").contains(" disabled"), "{}", button(&page, "action-grill"));
        let res = app.form("/ideas/IDEA-001/jobs", &owner, &[("kind", "grill")]).await;
        assert_eq!(location(&res), "/ideas/IDEA-001");
        assert_eq!(idea_status(&app, "IDEA-001").await, "GRILLING");
        assert_eq!(app.count("jobs").await, before + 1);
        let page = app.get("/ideas/IDEA-001", &owner).await;
        assert!(page.text.contains("class=\"job\" data-status=\"queued\""), "the job is listed: {}", page.text);
        assert!(button(&page, "action-grill").contains(" disabled"), "one job at a time");

        // The grill written (as the agent would), a plan pasted: Materialize with a build sprint.
        let res = app.form("/ideas/IDEA-001/grill", &owner, &[("markdown", "# Idee\n## Scope\nCSV only")]).await;
        assert_eq!(location(&res), "/ideas/IDEA-001");
        let res = app.form("/ideas/IDEA-001/plan", &owner, &[("markdown", GOOD_PLAN)]).await;
        assert_eq!(location(&res), "/ideas/IDEA-001#plan");
        let page = app.get("/ideas/IDEA-001", &owner).await;
        assert!(page.text.contains("<h2>Scope</h2>"), "the grill is rendered");
        assert!(!page.text.contains("id=\"action-materialize-why\""), "materialize is possible: {}", page.text);
        let res = app.form("/ideas/IDEA-001/materialize", &owner, &[("build_sprint", "on")]).await;
        assert_eq!(location(&res), "/ideas/IDEA-001");
        assert_eq!(idea_status(&app, "IDEA-001").await, "PLANNED");
        let page = app.get("/ideas/IDEA-001", &owner).await;
        assert!(page.text.contains(&format!("id=\"idea-pbi\" href=\"/products/{}#pbi-PBI-1\"", m.product_id)), "{}", page.text);
        assert!(page.text.contains("id=\"idea-sprint\""), "the build sprint is linked");
        // Materializing again is refused with the current state, nothing created.
        let pbis = app.count("pbis").await;
        let res = app.form("/ideas/IDEA-001/materialize", &owner, &[]).await;
        assert_eq!(res.status, StatusCode::CONFLICT, "{}", res.text);
        assert!(res.text.contains("planned"), "{}", res.text);
        assert_eq!(app.count("pbis").await, pbis);
    }

    async fn the_ideas_questions_are_answered_inline_on_its_page(t) {
        let app = TestApp::new(t).await;
        let m = app.matrix().await;
        let owner = browser(&app, "mx-owner").await;
        create(&app, &owner, &[("title", "Export"), ("product_id", &m.product_id)]).await;
        let actor = app.app().token_actor(&m.owner).await.expect("actor");
        let idea = app.app().get_idea(&actor, "IDEA-001").await.expect("idea");
        // The owner's grill agent asks (over MCP this is ask_user_question {idea_id}).
        let ask = baton_app::questions::NewQuestion {
            idea_id: Some(idea.id.clone()),
            question: "Which **columns**?".into(),
            options: Some(vec!["All".into(), "Visible only".into()]),
            ..Default::default()
        };
        let q = app.app().ask_question(&actor, ask).await.expect("asked");
        let page = app.get("/ideas/IDEA-001", &owner).await;
        assert!(page.text.contains(&format!("id=\"question-{}\" class=\"question\" data-status=\"open\"", q.id)), "{}", page.text);
        assert!(page.text.contains("<strong>columns</strong>") && page.text.contains("value=\"Visible only\""));
        assert!(page.text.contains("name=\"return_to\" value=\"/ideas/IDEA-001\""), "the answer comes back here");
        let res = app.form(&format!("/questions/{}/answer", q.id), &owner, &[("option", "Visible only"), ("return_to", "/ideas/IDEA-001")]).await;
        assert_eq!(location(&res), "/ideas/IDEA-001");
        let page = app.get("/ideas/IDEA-001", &owner).await;
        assert!(page.text.contains("data-status=\"answered\"") && page.text.contains("<strong>Answer:</strong> Visible only"), "{}", page.text);
        // Nobody else sees the idea's questions on a page.
        let writer = browser(&app, "mx-writer").await;
        assert_eq!(app.get("/ideas/IDEA-001", &writer).await.status, StatusCode::NOT_FOUND);
    }

    async fn demo_users_see_their_idea_pages_disabled_and_forged_posts_change_nothing(t) {
        let app = TestApp::new(t).await;
        let m = app.matrix().await;
        // A demo user's idea, seeded through the services as the demo seed would.
        let mut seeder = app.app().token_actor(&m.demo).await.expect("actor");
        seeder.is_demo = false;
        let input = baton_app::ideas::NewIdea { title: "Demo idea".into(), ..Default::default() };
        app.app().create_idea(&seeder, input).await.expect("idea");
        let demo = browser(&app, "mx-demo").await;
        let page = app.get("/ideas/IDEA-001", &demo).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.text);
        assert!(page.text.contains("id=\"why-disabled\" class=\"notice\">Demo accounts are read-only"), "{}", page.text);
        assert!(page.text.contains("disabled title=\"Demo accounts are read-only\""));
        let before = app.count("idea_logs").await;
        for (path, fields) in [
            ("/ideas/IDEA-001/update", vec![("title", "Forged")]),
            ("/ideas/IDEA-001/logs", vec![("content", "Forged")]),
            ("/ideas/IDEA-001/archive", vec![]),
        ] {
            let res = app.form(path, &demo, &fields).await;
            assert_eq!(res.status, StatusCode::FORBIDDEN, "{path}");
        }
        assert_eq!(app.count("idea_logs").await, before);
        assert!(app.get("/ideas/IDEA-001", &demo).await.text.contains("Demo idea"), "unchanged");
    }

    async fn the_page_stream_carries_the_owners_idea_changes_only(t) {
        let app = TestApp::new(t).await;
        let _m = app.matrix().await;
        let open = |who: As| {
            let router = app.router.clone();
            async move {
                let As::Cookie(c) = who else { unreachable!("a cookie") };
                let req = Request::builder()
                    .uri("/events")
                    .header(header::HOST, "127.0.0.1:8080")
                    .header(header::COOKIE, format!("baton_session={c}"))
                    .body(Body::empty())
                    .expect("request");
                let res = router.oneshot(req).await.expect("router");
                assert_eq!(res.status(), StatusCode::OK);
                res.into_body().into_data_stream()
            }
        };
        let owner = browser(&app, "mx-owner").await;
        let writer = browser(&app, "mx-writer").await;
        let mut mine = open(owner.clone()).await;
        let mut theirs = open(writer.clone()).await;
        let second = std::time::Duration::from_secs(5);
        wait_for_event(&mut mine, "ready", second).await;
        wait_for_event(&mut theirs, "ready", second).await;
        // An idea without a product still reaches its owner's pages.
        create(&app, &owner, &[("title", "Live idea")]).await;
        wait_for_event(&mut mine, "idea_changed", second).await;
        // Another user's stream stays silent about it.
        use futures::StreamExt;
        let quiet = tokio::time::timeout(std::time::Duration::from_millis(300), theirs.next()).await;
        if let Ok(Some(Ok(bytes))) = quiet {
            assert!(!String::from_utf8_lossy(&bytes).contains("idea_changed"), "another user saw the idea");
        }
    }
}
