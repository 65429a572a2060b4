//! The people pages on both backends: dashboard, products (create,
//! settings, members, archive/delete), questions (inline answers, the
//! race, the bell), admin users and model prices — each with its
//! permission matrix and forged posts that must change nothing.

use axum::http::{Method, StatusCode};
use baton_app::{
    Actor,
    list::PageParams,
    prices::PriceFilter,
    questions::{NewQuestion, QuestionView},
    queue::claim::ClaimRequest,
    workers::WorkerInfo,
};
use baton_domain::roles::Role;
use baton_testkit::backend_tests;
use serde_json::json;

use crate::{
    harness::{As, Matrix, Res, TestApp},
    items::ix::*,
};

fn id_of(v: &serde_json::Value) -> String {
    v["id"].as_str().expect("id").to_string()
}

/// Logs a matrix user in through the form.
async fn cookie(app: &TestApp, username: &str) -> As {
    As::Cookie(app.login(username, &format!("{username}-password")).await)
}

async fn ask(app: &TestApp, token: &str, story: &str, text: &str, options: Option<Vec<&str>>) -> QuestionView {
    let actor = app.app().token_actor(token).await.expect("actor");
    let input = NewQuestion {
        story_id: Some(story.into()),
        question: text.into(),
        options: options.map(|o| o.into_iter().map(String::from).collect()),
        ..Default::default()
    };
    app.app().ask_question(&actor, input).await.expect("ask")
}

/// A PBI with one story in the matrix product; returns the story id.
async fn a_story(app: &TestApp, m: &Matrix) -> String {
    let owner = bearer(&m.owner);
    let p = pbi(app, &owner, &m.product_id, "P").await;
    id_of(&story(app, &owner, &id_of(&p), json!({"title": "S"})).await)
}

fn assert_status(res: &Res, status: StatusCode, what: &str) {
    assert_eq!(res.status, status, "{what}: {}", res.text);
}

fn location(res: &Res) -> &str {
    res.header("location").unwrap_or_default()
}

async fn product_name(app: &TestApp, id: &str) -> String {
    app.app().get_product(&Actor::cli(), id).await.expect("product").name
}

async fn is_archived(app: &TestApp, id: &str) -> bool {
    app.app().get_product(&Actor::cli(), id).await.expect("product").archived
}

async fn member_count(app: &TestApp, product: &str) -> u64 {
    app.app().list_members(&Actor::cli(), product, PageParams::default()).await.expect("members").total
}

/// The open count the bell shows.
fn bell_count(html: &str) -> String {
    let bell = &html[html.find("id=\"bell\"").expect("bell")..];
    let start = bell.find("class=\"count\"").expect("count");
    let after = &bell[start..];
    let open = after.find('>').expect(">") + 1;
    after[open..].split('<').next().expect("number").to_string()
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

backend_tests! {
    async fn a_question_reaches_the_page_stream_at_once_and_the_refetched_bell_counts_it(t) {
        use axum::{body::Body, http::{Request, header}};
        use tower::ServiceExt;
        let app = TestApp::new(t).await;
        let m = app.matrix().await;
        let st = a_story(&app, &m).await;
        let As::Cookie(writer) = cookie(&app, "mx-writer").await else { unreachable!("a cookie") };
        let req = Request::builder()
            .uri("/events")
            .header(header::HOST, "127.0.0.1:8080")
            .header(header::COOKIE, format!("baton_session={writer}"))
            .body(Body::empty())
            .expect("request");
        let res = app.router.clone().oneshot(req).await.expect("router");
        assert_eq!(res.status(), StatusCode::OK);
        let mut body = res.into_body().into_data_stream();
        let second = std::time::Duration::from_secs(1);
        wait_for_event(&mut body, "ready", std::time::Duration::from_secs(5)).await;
        let started = std::time::Instant::now();
        ask(&app, &m.owner, &st, "Live question?", None).await;
        wait_for_event(&mut body, "question_changed", second).await;
        // What live.js does on the signal: refetch the page and swap #bell.
        let page = app.get("/products", &As::Cookie(writer)).await;
        assert_eq!(bell_count(&page.text), "1");
        assert!(page.text.contains("Live question?"));
        let took = started.elapsed();
        eprintln!("question asked → page-stream signal → bell refetched: {took:?}");
        assert!(took < second, "signal and refetch took {took:?}");
    }

    async fn the_dashboard_shows_my_products_sprint_progress_questions_jobs_and_workers(t) {
        let app = TestApp::new(t).await;
        let m = app.matrix().await;
        let owner = bearer(&m.owner);
        let p = pbi(&app, &owner, &m.product_id, "P").await;
        let st = story(&app, &owner, &id_of(&p), json!({"title": "S"})).await;
        let t1 = task(&app, &owner, &id_of(&st), "T1").await;
        task(&app, &owner, &id_of(&st), "T2").await;
        let sprint = created(&app, &format!("/api/products/{}/sprints", m.product_id), &owner, json!({"sprint_goal": "Ship the dashboard"})).await;
        let res = app.json(Method::POST, &format!("/api/sprints/{}/stories", id_of(&sprint)), &owner, &json!({"story_ids": [id_of(&st)]})).await;
        assert!(res.status.is_success(), "{}", res.text);
        set_status(&app, &owner, &id_of(&t1), "done").await;
        ask(&app, &m.owner, &id_of(&st), "Which <b>database</b>?", None).await;
        let job = created(&app, &format!("/api/tasks/{}/jobs", id_of(&t1)), &owner, json!({})).await;
        let worker = app.app().token_actor(&m.owner).await.expect("actor");
        app.app().register_worker(&worker, WorkerInfo::new("laptop-1")).await.expect("register");
        app.app().claim_job(&worker, ClaimRequest::new("laptop-1")).await.expect("claim").expect("a job");

        let me = cookie(&app, "mx-owner").await;
        let page = app.get("/", &me).await;
        assert_status(&page, StatusCode::OK, "dashboard");
        let html = page.text;
        for region in ["id=\"dash-products\" class=\"card\" data-live", "id=\"dash-questions\"", "id=\"dash-jobs\"", "id=\"dash-workers\"", "id=\"agent-status\" data-live"] {
            assert!(html.contains(region), "{region} missing");
        }
        assert!(html.contains("Matrix") && html.contains("Ship the dashboard"), "product and sprint goal");
        assert!(html.contains("1/2 tasks · 0/1 stories done"), "progress");
        assert!(html.contains("value=\"1\"") && html.contains("max=\"2\""), "progress bar");
        assert!(html.contains("database"), "question");
        assert!(!html.contains("<b>database</b>"), "raw HTML in a question is not rendered");
        assert!(html.contains(&format!("id=\"dash-job-{}\" data-status=\"claimed\"", id_of(&job))), "claimed job");
        assert!(html.contains("Agent connected") && html.contains("laptop-1"), "worker");

        // Someone without access sees none of it.
        let outsider = cookie(&app, "mx-outsider").await;
        let html = app.get("/", &outsider).await.text;
        assert!(!html.contains("Ship the dashboard") && !html.contains("database") && !html.contains("laptop-1"));
        assert!(html.contains("No agent connected"));
        assert!(!html.contains(&id_of(&job)));
    }

    async fn creating_a_product_validates_next_to_the_field_and_writes_nothing_on_error(t) {
        let app = TestApp::new(t).await;
        app.user("pia", &[Role::ProductOwner], false).await;
        app.user("dee", &[Role::ProductOwner], true).await;
        let pia = cookie(&app, "pia").await;
        let before = app.count("products").await;

        let res = app.form("/products", &pia, &[("name", " "), ("code", "bad code"), ("definition_of_done", "Done"), ("pr_strategy", "story")]).await;
        assert_status(&res, StatusCode::UNPROCESSABLE_ENTITY, "blank name");
        assert!(res.text.contains("id=\"name-error\"") && res.text.contains("id=\"code-error\""), "{}", res.text);
        assert!(res.text.contains("aria-describedby=\"name-error\""));
        assert!(res.text.contains("value=\"bad code\""), "the typed value is kept");
        assert_eq!(app.count("products").await, before);

        let res = app.form("/products", &pia, &[("name", "Web <script>x</script>"), ("code", "WEB"), ("definition_of_done", "Done"), ("pr_strategy", "story")]).await;
        assert_status(&res, StatusCode::SEE_OTHER, "create");
        assert_eq!(location(&res), "/products/WEB");
        let list = app.get("/products", &pia).await;
        assert!(list.text.contains("Web &lt;script&gt;x&lt;/script&gt;") || list.text.contains("Web &#60;script&#62;"), "escaped");
        assert!(!list.text.contains("<script>x</script>"));
        assert!(list.text.contains("id=\"product-WEB\" data-code=\"WEB\""));

        let res = app.form("/products", &pia, &[("name", "Other"), ("code", "web"), ("definition_of_done", "Done")]).await;
        assert_status(&res, StatusCode::UNPROCESSABLE_ENTITY, "duplicate code");
        assert!(res.text.contains("id=\"code-error\""));
        let res = app.form("/products", &pia, &[("name", "Other"), ("definition_of_done", "Done"), ("pr_strategy", "weekly")]).await;
        assert_status(&res, StatusCode::UNPROCESSABLE_ENTITY, "bad strategy");
        assert!(res.text.contains("id=\"pr_strategy-error\""));
        assert_eq!(app.count("products").await, before + 1);

        // The demo user sees the form disabled with a reason; a forged post is refused.
        let dee = cookie(&app, "dee").await;
        let page = app.get("/products", &dee).await;
        assert!(page.text.contains("disabled title=\"Demo accounts are read-only\""));
        let res = app.form("/products", &dee, &[("name", "Sneaky"), ("definition_of_done", "Done")]).await;
        assert_status(&res, StatusCode::FORBIDDEN, "demo create");
        assert_eq!(app.count("products").await, before + 1);

        // Archived products are under their own filter.
        let res = app.form("/products/WEB/archive", &pia, &[]).await;
        assert_status(&res, StatusCode::SEE_OTHER, "archive");
        assert!(!app.get("/products", &pia).await.text.contains("product-WEB"));
        assert!(app.get("/products?archived=1", &pia).await.text.contains("product-WEB"));
    }

    async fn product_settings_follow_the_permission_matrix(t) {
        let app = TestApp::new(t).await;
        let m = app.matrix().await;
        let pid = m.product_id.clone();
        let url = format!("/products/{pid}/settings");
        let (owner, writer, reader, outsider, demo) = (
            cookie(&app, "mx-owner").await,
            cookie(&app, "mx-writer").await,
            cookie(&app, "mx-reader").await,
            cookie(&app, "mx-outsider").await,
            cookie(&app, "mx-demo").await,
        );
        let page = app.get(&url, &owner).await;
        assert_status(&page, StatusCode::OK, "owner");
        assert!(!page.text.contains("disabled title="), "nothing disabled for the owner");
        let page = app.get(&url, &writer).await;
        assert!(page.text.contains("Only the product&#39;s owner manages members") || page.text.contains("Only the product's owner manages members"), "writer: members disabled");
        let page = app.get(&url, &reader).await;
        assert!(page.text.contains("disabled title=\"Read-only member\""));
        let page = app.get(&url, &demo).await;
        assert!(page.text.contains("disabled title=\"Demo accounts are read-only\""));
        let hidden = app.get(&url, &outsider).await;
        let unknown = app.get("/products/NOPE/settings", &outsider).await;
        assert_eq!((hidden.status, unknown.status), (StatusCode::NOT_FOUND, StatusCode::NOT_FOUND));
        assert_eq!(hidden.text, unknown.text, "the same 404 page");

        let fields = |name: &'static str, repo: &'static str| vec![("name", name), ("code", "MX"), ("definition_of_done", "Tested"), ("pr_strategy", "story"), ("repo_url", repo), ("thinking_budget_default", "1000"), ("auto_pr", "on")];
        let res = app.form(&url, &owner, &fields("Renamed", "not a url")).await;
        assert_status(&res, StatusCode::UNPROCESSABLE_ENTITY, "bad repo url");
        assert!(res.text.contains("id=\"repo_url-error\"") && res.text.contains("value=\"Renamed\""));
        assert_eq!(product_name(&app, &pid).await, "Matrix");
        for (who, status) in [(&reader, StatusCode::FORBIDDEN), (&demo, StatusCode::FORBIDDEN), (&outsider, StatusCode::NOT_FOUND)] {
            let res = app.form(&url, who, &fields("Hijacked", "")).await;
            assert_status(&res, status, "forged settings");
        }
        assert_eq!(product_name(&app, &pid).await, "Matrix");
        let res = app.form(&url, &writer, &fields("Renamed", "https://git.example.com/team/repo")).await;
        assert_status(&res, StatusCode::SEE_OTHER, "writer edits");
        assert_eq!(location(&res), "/products/MX/settings");
        let p = app.app().get_product(&Actor::cli(), &pid).await.expect("product");
        assert_eq!((p.name.as_str(), p.code.as_deref(), p.thinking_budget_default, p.auto_pr, p.auto_deploy), ("Renamed", Some("MX"), Some(1000), true, false));
        assert_eq!(p.repo_url.as_deref(), Some("https://git.example.com/team/repo"));
        let res = app.form("/products/MX/settings", &owner, &[("name", "Renamed"), ("code", "MX"), ("definition_of_done", "Tested"), ("thinking_budget_default", "lots")]).await;
        assert_status(&res, StatusCode::UNPROCESSABLE_ENTITY, "bad budget");
        assert!(res.text.contains("id=\"thinking_budget_default-error\""));
    }

    async fn members_are_added_changed_and_removed_by_the_owner_only(t) {
        let app = TestApp::new(t).await;
        let m = app.matrix().await;
        app.user("newbie", &[Role::Developer], false).await;
        app.user("nodev", &[], false).await;
        let pid = m.product_id.clone();
        let base = format!("/products/{pid}/members");
        let (owner, writer, reader, outsider, demo) = (
            cookie(&app, "mx-owner").await,
            cookie(&app, "mx-writer").await,
            cookie(&app, "mx-reader").await,
            cookie(&app, "mx-outsider").await,
            cookie(&app, "mx-demo").await,
        );
        assert_eq!(member_count(&app, &pid).await, 3);

        let res = app.form(&base, &owner, &[("username", "ghost"), ("access", "read_write"), ("role", "developer")]).await;
        assert_status(&res, StatusCode::UNPROCESSABLE_ENTITY, "unknown user");
        assert!(res.text.contains("id=\"username-error\"") && res.text.contains("value=\"ghost\""));
        let res = app.form(&base, &owner, &[("username", "nodev"), ("access", "read_write")]).await;
        assert_status(&res, StatusCode::UNPROCESSABLE_ENTITY, "not a developer");
        let res = app.form(&base, &owner, &[("username", "mx-writer"), ("access", "read_write")]).await;
        assert_status(&res, StatusCode::CONFLICT, "already a member");
        for (who, status) in [(&writer, StatusCode::FORBIDDEN), (&reader, StatusCode::FORBIDDEN), (&demo, StatusCode::FORBIDDEN), (&outsider, StatusCode::NOT_FOUND)] {
            let res = app.form(&base, who, &[("username", "newbie"), ("access", "read_write")]).await;
            assert_status(&res, status, "forged add");
        }
        assert_eq!(member_count(&app, &pid).await, 3);

        let res = app.form(&base, &owner, &[("username", "NewBie"), ("access", "read_write"), ("role", "qa")]).await;
        assert_status(&res, StatusCode::SEE_OTHER, "add");
        let page = app.get(&format!("/products/{pid}/settings"), &owner).await;
        assert!(page.text.contains("id=\"member-newbie\" data-access=\"read_write\""), "{}", page.text);
        let members = app.app().list_members(&Actor::cli(), &pid, PageParams::default()).await.expect("members").items;
        let newbie = members.iter().find(|mb| mb.username == "newbie").expect("added");
        assert_eq!((newbie.access.as_api(), newbie.role.as_api()), ("read_write".to_string(), "qa".to_string()));
        let row = format!("{base}/{}", newbie.user_id);

        let res = app.form(&row, &reader, &[("access", "read_only")]).await;
        assert_status(&res, StatusCode::FORBIDDEN, "forged change");
        let res = app.form(&row, &owner, &[("access", "everything")]).await;
        assert_status(&res, StatusCode::UNPROCESSABLE_ENTITY, "bad access");
        let res = app.form(&row, &owner, &[("access", "read_only"), ("role", "developer")]).await;
        assert_status(&res, StatusCode::SEE_OTHER, "change");
        let members = app.app().list_members(&Actor::cli(), &pid, PageParams::default()).await.expect("members").items;
        assert_eq!(members.iter().find(|mb| mb.username == "newbie").expect("still there").access.as_api(), "read_only");

        let res = app.form(&format!("{row}/remove"), &writer, &[]).await;
        assert_status(&res, StatusCode::FORBIDDEN, "forged remove");
        assert_eq!(member_count(&app, &pid).await, 4);
        let res = app.form(&format!("{row}/remove"), &owner, &[]).await;
        assert_status(&res, StatusCode::SEE_OTHER, "remove");
        assert_eq!(member_count(&app, &pid).await, 3);
        let res = app.form(&format!("{row}/remove"), &owner, &[]).await;
        assert_status(&res, StatusCode::NOT_FOUND, "removing twice");
    }

    async fn archive_unarchive_and_delete_ask_for_confirmation_and_the_owner(t) {
        let app = TestApp::new(t).await;
        let m = app.matrix().await;
        let pid = m.product_id.clone();
        let (owner, writer, demo) = (cookie(&app, "mx-owner").await, cookie(&app, "mx-writer").await, cookie(&app, "mx-demo").await);
        for who in [&writer, &demo] {
            let res = app.form(&format!("/products/{pid}/archive"), who, &[]).await;
            assert_status(&res, StatusCode::FORBIDDEN, "forged archive");
        }
        assert!(!is_archived(&app, &pid).await);
        let res = app.form(&format!("/products/{pid}/archive"), &owner, &[]).await;
        assert_status(&res, StatusCode::SEE_OTHER, "archive");
        assert!(is_archived(&app, &pid).await);
        let page = app.get(&format!("/products/{pid}/settings"), &owner).await;
        assert!(page.text.contains("This product is archived") && page.text.contains("Unarchive product"));
        assert!(page.text.contains("disabled title=\"Archived products are read-only: unarchive it first\""));
        let res = app.form(&format!("/products/{pid}/archive"), &owner, &[]).await;
        assert_status(&res, StatusCode::CONFLICT, "archive twice");
        assert!(res.text.contains("already archived"));
        let res = app.form(&format!("/products/{pid}/unarchive"), &owner, &[]).await;
        assert_status(&res, StatusCode::SEE_OTHER, "unarchive");
        assert!(!is_archived(&app, &pid).await);

        let res = app.form(&format!("/products/{pid}/delete"), &owner, &[("confirm", "nope")]).await;
        assert_status(&res, StatusCode::UNPROCESSABLE_ENTITY, "unconfirmed delete");
        assert!(res.text.contains("id=\"confirm-error\""));
        let res = app.form(&format!("/products/{pid}/delete"), &writer, &[("confirm", pid.as_str())]).await;
        assert_status(&res, StatusCode::FORBIDDEN, "forged delete");
        assert!(app.app().get_product(&Actor::cli(), &pid).await.is_ok());
        let res = app.form(&format!("/products/{pid}/delete"), &owner, &[("confirm", pid.as_str())]).await;
        assert_status(&res, StatusCode::SEE_OTHER, "delete");
        assert_eq!(location(&res), "/products");
        assert!(app.app().get_product(&Actor::cli(), &pid).await.is_err());
        assert_eq!(app.get(&format!("/products/{pid}/settings"), &owner).await.status, StatusCode::NOT_FOUND);
    }

    async fn questions_are_answered_inline_and_the_loser_learns_who_won(t) {
        let app = TestApp::new(t).await;
        let m = app.matrix().await;
        let st = a_story(&app, &m).await;
        let free = ask(&app, &m.owner, &st, "Which **database**?", None).await;
        let choice = ask(&app, &m.owner, &st, "Tabs or spaces?", Some(vec!["tabs", "spaces"])).await;
        // A question in someone else's product stays invisible.
        let other_owner = app.user("elsewhere", &[Role::ProductOwner], false).await;
        let other_product = app.product_row(&other_owner, "Hidden").await;
        let other_token = app.token_for(&other_owner).await;
        let hp = pbi(&app, &bearer(&other_token), &other_product, "HP").await;
        let hs = story(&app, &bearer(&other_token), &id_of(&hp), json!({"title": "HS"})).await;
        let hidden = ask(&app, &other_token, &id_of(&hs), "Secret question", None).await;

        let (owner, writer, reader, outsider, demo) = (
            cookie(&app, "mx-owner").await,
            cookie(&app, "mx-writer").await,
            cookie(&app, "mx-reader").await,
            cookie(&app, "mx-outsider").await,
            cookie(&app, "mx-demo").await,
        );
        let page = app.get("/questions", &writer).await;
        assert_status(&page, StatusCode::OK, "questions");
        assert!(page.text.contains(&format!("id=\"question-{}\" class=\"card question\" data-status=\"open\"", free.id)));
        assert!(page.text.contains("<strong>database</strong>"), "markdown rendered");
        assert!(page.text.contains("value=\"tabs\"") && page.text.contains("value=\"spaces\""), "options as buttons");
        assert!(!page.text.contains(&hidden.id) && !page.text.contains("Secret question"));
        assert!(page.text.contains("asked by mx-owner"));
        let page = app.get("/questions", &reader).await;
        assert!(page.text.contains(&free.id) && page.text.contains("disabled title=\"Read-only member\""));
        let page = app.get("/questions", &outsider).await;
        assert!(!page.text.contains(&free.id));
        let page = app.get(&format!("/questions?status=bogus&product={}", m.product_id), &owner).await;
        assert!(page.text.contains("id=\"status-error\""));

        // Forged answers by those who may not, and an unknown question.
        let path = format!("/questions/{}/answer", free.id);
        for (who, status) in [(&reader, StatusCode::FORBIDDEN), (&demo, StatusCode::FORBIDDEN), (&outsider, StatusCode::NOT_FOUND)] {
            let res = app.form(&path, who, &[("answer", "Mongo")]).await;
            assert_status(&res, status, "forged answer");
        }
        assert_eq!(app.form("/questions/nope/answer", &owner, &[("answer", "x")]).await.status, StatusCode::NOT_FOUND);
        let res = app.form(&path, &writer, &[("answer", "  "), ("return_to", "/questions")]).await;
        assert_status(&res, StatusCode::UNPROCESSABLE_ENTITY, "blank answer");
        assert!(res.text.contains(&format!("id=\"answer-{}-error\"", free.id)));
        let open = app.app().get_question(&Actor::cli(), &free.id).await.expect("question");
        assert_eq!(open.status.as_api(), "open");

        let res = app.form(&path, &writer, &[("answer", "Postgres"), ("return_to", "//evil.example/")]).await;
        assert_status(&res, StatusCode::SEE_OTHER, "answer");
        assert_eq!(location(&res), "/questions", "only local return paths");
        let q = app.app().get_question(&Actor::cli(), &free.id).await.expect("question");
        assert_eq!((q.status.as_api().as_str(), q.answer.as_deref()), ("answered", Some("Postgres")));

        // The second answer loses and is told who answered and what.
        let res = app.form(&path, &owner, &[("answer", "SQLite"), ("return_to", "/questions")]).await;
        assert_status(&res, StatusCode::CONFLICT, "second answer");
        assert!(res.text.contains("Already answered by mx-writer: “Postgres”"), "{}", res.text);
        let q = app.app().get_question(&Actor::cli(), &free.id).await.expect("question");
        assert_eq!(q.answer.as_deref(), Some("Postgres"));
        let page = app.get("/questions", &owner).await;
        assert!(page.text.contains("Recently answered") && page.text.contains("Postgres"));

        // Options: only one of them, chosen with its button.
        let path = format!("/questions/{}/answer", choice.id);
        let res = app.form(&path, &writer, &[("answer", "both")]).await;
        assert_status(&res, StatusCode::UNPROCESSABLE_ENTITY, "not an option");
        assert!(res.text.contains("must be one of the options"));
        let res = app.form(&path, &writer, &[("option", "spaces"), ("return_to", "/")]).await;
        assert_status(&res, StatusCode::SEE_OTHER, "option");
        assert_eq!(location(&res), "/");
        assert_eq!(app.app().get_question(&Actor::cli(), &choice.id).await.expect("q").answer.as_deref(), Some("spaces"));

        // The asker may withdraw an open question; others may not.
        let third = ask(&app, &m.owner, &st, "Still needed?", None).await;
        let res = app.form(&format!("/questions/{}/cancel", third.id), &writer, &[]).await;
        assert_status(&res, StatusCode::NOT_FOUND, "cancel by someone else");
        let page = app.get("/questions", &owner).await;
        assert!(page.text.contains(&format!("/questions/{}/cancel", third.id)));
        let res = app.form(&format!("/questions/{}/cancel", third.id), &owner, &[("return_to", "/questions")]).await;
        assert_status(&res, StatusCode::SEE_OTHER, "cancel");
        assert_eq!(app.app().get_question(&Actor::cli(), &third.id).await.expect("q").status.as_api(), "cancelled");
        let res = app.form(&format!("/questions/{}/cancel", third.id), &owner, &[]).await;
        assert_status(&res, StatusCode::CONFLICT, "cancel twice");
    }

    async fn the_bell_counts_open_questions_and_lists_the_newest_with_answer_forms(t) {
        let app = TestApp::new(t).await;
        let m = app.matrix().await;
        let st = a_story(&app, &m).await;
        app.user("root", &[Role::Admin], false).await;
        let (writer, reader, root) = (cookie(&app, "mx-writer").await, cookie(&app, "mx-reader").await, cookie(&app, "root").await);
        let page = app.get("/products", &writer).await;
        assert!(page.text.contains("<div id=\"bell\" data-live"), "the bell is a live region");
        assert_eq!(bell_count(&page.text), "0");
        assert!(page.text.contains("No open questions."));

        let mut asked = Vec::new();
        for i in 0..6 {
            asked.push(ask(&app, &m.owner, &st, &format!("Question number {i}?"), (i == 5).then(|| vec!["yes", "no"])).await);
        }
        let page = app.get("/products", &writer).await;
        assert_eq!(bell_count(&page.text), "6");
        let bell = &page.text[page.text.find("id=\"bell\"").expect("bell")..page.text.find("id=\"announce\"").expect("end")];
        assert!(bell.contains("Question number 5?") && !bell.contains("Question number 0?"), "the newest five");
        assert!(bell.contains(&format!("action=\"/questions/{}/answer\"", asked[5].id)));
        assert!(bell.contains("name=\"option\" value=\"yes\""));
        assert!(bell.contains(&format!("href=\"/questions#question-{}\"", asked[4].id)));
        let page = app.get("/products", &reader).await;
        assert!(page.text.contains("disabled title=\"Read-only member\""), "read-only members cannot answer from the bell");
        // An administrator may read every product, but the bell is about their own work.
        assert_eq!(bell_count(&app.get("/products", &root).await.text), "0");

        let res = app.form(&format!("/questions/{}/answer", asked[5].id), &writer, &[("option", "yes"), ("return_to", "/products")]).await;
        assert_status(&res, StatusCode::SEE_OTHER, "answer from the bell");
        assert_eq!(location(&res), "/products");
        assert_eq!(bell_count(&app.get("/products", &writer).await.text), "5");
    }

    async fn admin_users_page_creates_and_changes_users_and_hides_from_others(t) {
        let app = TestApp::new(t).await;
        app.user("root", &[Role::Admin], false).await;
        app.user("plain", &[Role::Developer], false).await;
        app.user("show", &[Role::Admin], true).await;
        let (root, plain, show) = (cookie(&app, "root").await, cookie(&app, "plain").await, cookie(&app, "show").await);
        let users = app.count("users").await;

        let hidden = app.get("/admin/users", &plain).await;
        let unknown = app.get("/admin/nothing", &plain).await;
        assert_eq!(hidden.status, StatusCode::NOT_FOUND);
        assert!(unknown.status == StatusCode::NOT_FOUND);
        assert!(hidden.text.contains("There is nothing here"));
        let res = app.form("/admin/users", &plain, &[("username", "mallory"), ("password", "long enough")]).await;
        assert_status(&res, StatusCode::NOT_FOUND, "non-admin create");
        assert_eq!(app.get("/admin/prices", &plain).await.status, StatusCode::NOT_FOUND);

        let page = app.get("/admin/users", &root).await;
        assert_status(&page, StatusCode::OK, "admin");
        assert!(page.text.contains("data-username=\"plain\""));
        let page = app.get("/admin/users", &show).await;
        assert!(page.text.contains("disabled title=\"Demo accounts are read-only\""), "demo admin sees it read-only");
        let res = app.form("/admin/users", &show, &[("username", "mallory"), ("password", "long enough")]).await;
        assert_status(&res, StatusCode::FORBIDDEN, "demo admin create");

        let res = app.form("/admin/users", &root, &[("username", "x"), ("password", "short"), ("roles", "developer"), ("roles", "qa")]).await;
        assert_status(&res, StatusCode::UNPROCESSABLE_ENTITY, "bad user");
        assert!(res.text.contains("id=\"username-error\"") && res.text.contains("id=\"password-error\""));
        assert!(res.text.contains("name=\"roles\" value=\"qa\" checked"), "ticked roles are kept");
        assert_eq!(app.count("users").await, users);
        let res = app.form("/admin/users", &root, &[("username", "Nora"), ("password", "first-pass-1"), ("email", "nora@example.com"), ("roles", "developer"), ("roles", "qa"), ("is_demo", "on"), ("must_reset_password", "on")]).await;
        assert_status(&res, StatusCode::SEE_OTHER, "create");
        let nora = app.app().find_user_by_username("nora").await.expect("db").expect("created");
        let view = app.app().get_user(&Actor::cli(), &nora.id).await.expect("user");
        assert_eq!(view.roles, vec![Role::Developer, Role::Qa]);
        assert!(view.is_demo && view.must_reset_password && !view.disabled);
        let res = app.form("/admin/users", &root, &[("username", "nora"), ("password", "first-pass-1")]).await;
        assert_status(&res, StatusCode::UNPROCESSABLE_ENTITY, "taken");

        let row = format!("/admin/users/{}", nora.id);
        let res = app.form(&row, &plain, &[("roles", "admin")]).await;
        assert_status(&res, StatusCode::NOT_FOUND, "non-admin role change");
        let res = app.form(&row, &root, &[("roles", "product_owner"), ("roles", "developer")]).await;
        assert_status(&res, StatusCode::SEE_OTHER, "roles");
        let view = app.app().get_user(&Actor::cli(), &nora.id).await.expect("user");
        assert_eq!(view.roles, vec![Role::ProductOwner, Role::Developer]);
        assert!(!view.is_demo && !view.must_reset_password, "unticked flags are cleared");
        let res = app.form(&row, &root, &[("roles", "emperor")]).await;
        assert_status(&res, StatusCode::UNPROCESSABLE_ENTITY, "unknown role");

        let res = app.form(&format!("{row}/disabled"), &root, &[("disabled", "true")]).await;
        assert_status(&res, StatusCode::SEE_OTHER, "disable");
        assert!(app.app().get_user(&Actor::cli(), &nora.id).await.expect("user").disabled);
        let page = app.get("/admin/users", &root).await;
        assert!(page.text.contains("data-username=\"nora\" data-status=\"disabled\""));
        let res = app.form(&format!("{row}/disabled"), &root, &[("disabled", "false")]).await;
        assert_status(&res, StatusCode::SEE_OTHER, "enable");
        assert!(!app.app().get_user(&Actor::cli(), &nora.id).await.expect("user").disabled);
        let me = app.app().find_user_by_username("root").await.expect("db").expect("root");
        let res = app.form(&format!("/admin/users/{}/disabled", me.id), &root, &[("disabled", "true")]).await;
        assert_status(&res, StatusCode::UNPROCESSABLE_ENTITY, "self-disable");

        let res = app.form(&format!("{row}/password"), &root, &[("password", "short")]).await;
        assert_status(&res, StatusCode::UNPROCESSABLE_ENTITY, "short password");
        let res = app.form(&format!("{row}/password"), &root, &[("password", "second-pass-2"), ("must_reset_password", "on")]).await;
        assert_status(&res, StatusCode::SEE_OTHER, "forced reset");
        let login = app.form("/login", &As::Nobody, &[("username", "nora"), ("password", "second-pass-2")]).await;
        assert_eq!(location(&login), "/reset-password");
    }

    async fn admin_prices_page_adds_changes_and_deletes_prices(t) {
        let app = TestApp::new(t).await;
        app.user("root", &[Role::Admin], false).await;
        app.user("show", &[Role::Admin], true).await;
        let (root, show) = (cookie(&app, "root").await, cookie(&app, "show").await);
        let prices = app.count("model_prices").await;
        let page = app.get("/admin/prices", &root).await;
        assert_status(&page, StatusCode::OK, "prices");

        let form = |model: &'static str, input: &'static str| vec![("model_id", model), ("runtime", "claude"), ("provider", "anthropic"), ("billing_mode", "api"), ("billing_unit", "usd"), ("service_tier", "standard"), ("input_price_per_1m", input), ("output_price_per_1m", "15"), ("cache_read_price_per_1m", "0.3"), ("cache_write_price_per_1m", "3.75"), ("currency", "USD"), ("effective_from", ""), ("source_url", ""), ("notes", "")];
        let res = app.form("/admin/prices", &root, &form("test-model-x", "abc")).await;
        assert_status(&res, StatusCode::UNPROCESSABLE_ENTITY, "bad price");
        assert!(res.text.contains("id=\"input_price_per_1m-error\"") && res.text.contains("value=\"test-model-x\""));
        let mut bad = form("test-model-x", "3");
        bad.push(("source_url", "ftp://nope"));
        bad.retain(|(k, v)| *k != "source_url" || !v.is_empty());
        let res = app.form("/admin/prices", &root, &bad).await;
        assert_status(&res, StatusCode::UNPROCESSABLE_ENTITY, "bad url");
        assert!(res.text.contains("id=\"source_url-error\""));
        assert_eq!(app.count("model_prices").await, prices);
        let res = app.form("/admin/prices", &show, &form("test-model-x", "3")).await;
        assert_status(&res, StatusCode::FORBIDDEN, "demo admin");
        assert_eq!(app.count("model_prices").await, prices);

        let res = app.form("/admin/prices", &root, &form("test-model-x", "3")).await;
        assert_status(&res, StatusCode::SEE_OTHER, "add");
        assert_eq!(app.count("model_prices").await, prices + 1);
        let filter = PriceFilter { model_id: Some("test-model-x".into()), ..Default::default() };
        let row = app.app().list_model_prices(&Actor::cli(), filter.clone()).await.expect("list").items.remove(0);
        assert_eq!((row.input_price_per_1m_micros, row.cache_read_price_per_1m_micros, row.cache_write_price_per_1m_micros), (3_000_000, 300_000, 3_750_000));
        let res = app.form("/admin/prices", &root, &form("test-model-x", "3")).await;
        assert_status(&res, StatusCode::CONFLICT, "duplicate");
        let page = app.get("/admin/prices", &root).await;
        assert!(page.text.contains(&format!("id=\"price-{}\"", row.id)) && page.text.contains("value=\"3.75\""));

        let path = format!("/admin/prices/{}", row.id);
        let res = app.form(&path, &root, &form("test-model-x", "-1")).await;
        assert_status(&res, StatusCode::UNPROCESSABLE_ENTITY, "negative");
        assert!(res.text.contains(&format!("id=\"p{}-input_price_per_1m-error\"", row.id)));
        let res = app.form(&path, &root, &form("test-model-x", "4.5")).await;
        assert_status(&res, StatusCode::SEE_OTHER, "change");
        let changed = app.app().get_model_price(&Actor::cli(), &row.id).await.expect("price");
        assert_eq!(changed.input_price_per_1m_micros, 4_500_000);
        let res = app.form(&format!("{path}/delete"), &show, &[]).await;
        assert_status(&res, StatusCode::FORBIDDEN, "demo delete");
        let res = app.form(&format!("{path}/delete"), &root, &[]).await;
        assert_status(&res, StatusCode::SEE_OTHER, "delete");
        assert!(app.app().list_model_prices(&Actor::cli(), filter).await.expect("list").items.is_empty());
        assert_eq!(app.form(&format!("{path}/delete"), &root, &[]).await.status, StatusCode::NOT_FOUND);
    }

    async fn admin_job_kinds_page_saves_a_kinds_configuration(t) {
        let app = TestApp::new(t).await;
        app.user("root", &[Role::Admin], false).await;
        app.user("show", &[Role::Admin], true).await;
        app.user("plain", &[Role::Developer], false).await;
        let (root, show, plain) = (cookie(&app, "root").await, cookie(&app, "show").await, cookie(&app, "plain").await);
        assert_status(&app.get("/admin/job-kinds", &plain).await, StatusCode::NOT_FOUND, "not an admin");
        let page = app.get("/admin/job-kinds", &root).await;
        assert_status(&page, StatusCode::OK, "job kinds");
        assert!(page.text.contains("id=\"kind-task_implementation\"") && page.text.contains("default sonnet"), "{}", page.text);

        let form = [("model", "opus"), ("thinking_budget", ""), ("permission_mode", "acceptEdits"), ("allowed_tools", "Read\nEdit"), ("max_turns", "9")];
        let res = app.form("/admin/job-kinds/task_implementation", &root, &form).await;
        assert_status(&res, StatusCode::SEE_OTHER, "save");
        assert_eq!(location(&res), "/admin/job-kinds#kind-task_implementation");
        let saved = app.app().get_job_kind_config(&app.app().token_actor(&app.admin().await.1).await.expect("admin"), "task_implementation").await.expect("config");
        assert_eq!((saved.model.as_deref(), saved.max_turns, saved.allowed_tools.clone()), (Some("opus"), Some(9), Some(vec!["Read".to_string(), "Edit".to_string()])));

        let bad = [("model", "opus"), ("max_turns", "lots")];
        let res = app.form("/admin/job-kinds/task_implementation", &root, &bad).await;
        assert_status(&res, StatusCode::UNPROCESSABLE_ENTITY, "bad turns");
        assert!(res.text.contains("id=\"task_implementation-max_turns\"") && res.text.contains("max_turns-error"), "{}", res.text);
        let res = app.form("/admin/job-kinds/task_implementation", &show, &form).await;
        assert_status(&res, StatusCode::FORBIDDEN, "demo admin");
        let res = app.form("/admin/job-kinds/task_implementation", &plain, &form).await;
        assert_status(&res, StatusCode::NOT_FOUND, "not an admin");
    }
}
