//! The `/jobs`, `/jobs/{id}` and `/workers` pages through the whole router
//! with a browser session, on both backends: what they render (ids,
//! statuses, the job's git state, usage, cost and timeline), the filters
//! kept in the URL and paging, cancel and retry as plain form posts (303),
//! refusals shown on the page, the one 404 for other people's jobs, and
//! demo and read-only members: disabled controls and forged posts refused
//! with the database unchanged.

use axum::http::StatusCode;
use baton_app::{
    Actor,
    prices::NewModelPrice,
    queue::{claim::ClaimRequest, complete::UpdateJobStatus},
    workers::WorkerInfo,
};
use baton_store::{
    entities::{job, worker},
    new_id, now,
    sea_orm::{ActiveModelTrait, ActiveValue::Set, EntityTrait},
};
use baton_testkit::backend_tests;
use serde_json::{Value, json};

use crate::{
    harness::{As, Matrix, Res, TestApp},
    items::ix::*,
};

fn id_of(v: &Value) -> String {
    v["id"].as_str().expect("id").to_string()
}

/// A logged-in browser of one of the matrix users (`mx-owner`, `mx-reader`, …).
async fn browser(app: &TestApp, who: &str) -> As {
    As::Cookie(app.login(who, &format!("{who}-password")).await)
}

/// The owner's product with one story and a task titled `title`; returns the task.
async fn task_of(app: &TestApp, m: &Matrix, title: &str) -> Value {
    let owner = bearer(&m.owner);
    let p = pbi(app, &owner, &m.product_id, "P").await;
    let s = story(app, &owner, &id_of(&p), json!({"title": "S"})).await;
    task(app, &owner, &id_of(&s), title).await
}

/// Starts an agent on the task over REST; returns the job.
async fn start(app: &TestApp, m: &Matrix, task: &Value) -> Value {
    created(app, &format!("/api/tasks/{}/jobs", id_of(task)), &bearer(&m.owner), json!({})).await
}

async fn status_of(app: &TestApp, id: &str) -> String {
    job::Entity::find_by_id(id.to_string()).one(&app.t.db).await.expect("read").expect("job").status
}

/// The `disabled` attribute and reason of the button whose label is `label`.
fn button<'a>(res: &'a Res, label: &str) -> &'a str {
    let end = res.text.find(&format!(">{label}</button>")).unwrap_or_else(|| panic!("a {label} button"));
    let start = res.text[..end].rfind("<button").expect("button start");
    &res.text[start..end]
}

backend_tests! {
    async fn the_queue_lists_jobs_with_filters_in_the_url_and_pages(t) {
        let app = TestApp::new(t).await;
        let m = app.matrix().await;
        let tk = task_of(&app, &m, "<script>alert(1)</script> login").await;
        let queued = start(&app, &m, &tk).await;
        let owner = browser(&app, "mx-owner").await;

        let page = app.get("/jobs", &owner).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.text);
        assert!(page.text.contains(&format!("id=\"job-{}\"", id_of(&queued))), "{}", page.text);
        assert!(page.text.contains("data-status=\"queued\""));
        assert!(page.text.contains("href=\"/products/"), "the task links to its page");
        assert!(page.text.contains("&#60;script&#62;alert(1)&#60;/script&#62; login"), "titles are escaped");
        assert!(!page.text.contains("<script>alert(1)"));
        assert!(page.text.contains("id=\"jobs-list\"") && page.text.contains("data-live"), "one live region");
        assert!(!page.text.contains("style=\"") && !page.text.contains(" onclick="), "CSP-clean");

        // Filters: status, kind and product (by code or id) in the URL, kept in the selects.
        let none = app.get("/jobs?status=failed", &owner).await;
        assert_eq!(none.status, StatusCode::OK);
        assert!(!none.text.contains(&id_of(&queued)) && none.text.contains("No job matches"));
        assert!(none.text.contains("<option value=\"failed\" selected>"), "the filter stays selected");
        let some = app.get(&format!("/jobs?status=queued&kind=task_implementation&product={}", m.product_id), &owner).await;
        assert!(some.text.contains(&id_of(&queued)), "{}", some.text);
        let other_kind = app.get("/jobs?kind=pr_review", &owner).await;
        assert!(!other_kind.text.contains(&id_of(&queued)));
        // Bad values: the field is named next to its select, nothing else breaks.
        let bad = app.get("/jobs?status=bogus&page=x", &owner).await;
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(bad.text.contains("id=\"page-error\""), "{}", bad.text);
        let bad = app.get("/jobs?status=bogus", &owner).await;
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(bad.text.contains("id=\"status-error\"") && bad.text.contains("aria-invalid=\"true\""), "{}", bad.text);
        // A product the caller cannot see is the one 404 page.
        let hidden = app.get("/jobs?product=NOPE", &owner).await;
        assert_eq!(hidden.status, StatusCode::NOT_FOUND);

        // 51 more jobs (hand-made review jobs): two pages, filters kept in the links.
        let owner_id = me(&app, &bearer(&m.owner)).await;
        for _ in 0..51 {
            let t = now();
            job::ActiveModel {
                id: Set(new_id()), user_id: Set(owner_id.clone()), product_id: Set(m.product_id.clone()),
                kind: Set("PR_REVIEW".into()), status: Set("QUEUED".into()), runtime: Set("CLAUDE".into()),
                source: Set("SYSTEM".into()), retry_count: Set(0), created_at: Set(t), updated_at: Set(t),
                ..Default::default()
            }.insert(&app.t.db).await.expect("job");
        }
        let first = app.get("/jobs?status=queued", &owner).await;
        assert!(first.text.contains("52 jobs matching") && first.text.contains("Page 1 of 2"), "{}", first.text);
        let next = ["href=\"/jobs?status=queued&amp;page=2\"", "href=\"/jobs?status=queued&#38;page=2\""];
        assert!(next.iter().any(|n| first.text.contains(n)), "the next link keeps the filter");
        let second = app.get("/jobs?status=queued&page=2", &owner).await;
        assert!(second.text.contains("Page 2 of 2") && second.text.contains(&id_of(&queued)), "the oldest is last");
        assert!(second.text.contains("href=\"/jobs?status=queued\" rel=\"prev\""));

        // Readers see the product's jobs; outsiders see none.
        let reader = browser(&app, "mx-reader").await;
        assert!(app.get("/jobs", &reader).await.text.contains("52 jobs"), "readers see the product's jobs");
        let outsider = browser(&app, "mx-outsider").await;
        let page = app.get("/jobs", &outsider).await;
        assert!(page.text.contains("0 jobs") && !page.text.contains(&id_of(&queued)));
        assert_eq!(app.get("/jobs", &As::Nobody).await.header("location"), Some("/login"));
    }

    async fn a_job_page_shows_its_result_usage_cost_and_timeline(t) {
        let app = TestApp::new(t).await;
        let m = app.matrix().await;
        let tk = task_of(&app, &m, "Form").await;
        let job = start(&app, &m, &tk).await;
        let price = NewModelPrice {
            model_id: "claude-test".into(),
            input_price_per_1m_micros: 3_000_000,
            output_price_per_1m_micros: 15_000_000,
            ..Default::default()
        };
        app.app().create_model_price(&Actor::cli(), price).await.expect("price");
        let worker = app.app().token_actor(&m.owner).await.expect("actor");
        app.app().claim_job(&worker, ClaimRequest::new("mcp-laptop")).await.expect("claim").expect("job");
        app.app().update_job_status(&worker, UpdateJobStatus::new(id_of(&job), "running")).await.expect("running");
        app.app().record_verify_result(&worker, &id_of(&job), "diff --git a/x b/x\n+++ b/x\n+1\n").await.expect("verify");
        let mut done = UpdateJobStatus::new(id_of(&job), "done");
        done.branch = Some("feat/login".into());
        done.head_sha = Some("0123abcd".into());
        done.pushed = Some(true);
        done.pr_url = Some("https://github.com/acme/rocket/pull/7".into());
        done.summary = Some("Login <b>form</b>".into());
        done.model_id = Some("claude-test".into());
        done.input_tokens = Some(1_000_000);
        done.output_tokens = Some(100_000);
        app.app().update_job_status(&worker, done).await.expect("done");

        let owner = browser(&app, "mx-owner").await;
        let page = app.get(&format!("/jobs/{}", id_of(&job)), &owner).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.text);
        for expected in ["id=\"job-detail\"", "data-status=\"done\"", "<code>feat/login</code>", "<code>0123abcd</code>",
                         "href=\"https://github.com/acme/rocket/pull/7\"", "<code>claude-test</code>", "1000000", "100000",
                         "$4.500000", "Login &#60;b&#62;form&#60;/b&#62;", "Claimed", "by mcp-laptop", "Running", "Pushed", "Done",
                         "mcp-laptop"] {
            assert!(page.text.contains(expected), "{expected}: {}", page.text);
        }
        assert!(page.text.contains("<dt>Verify result</dt><dd><span class=\"badge\" data-status="), "the verify result");
        // Finished: cancel is disabled with its reason; retry too (only failed or cancelled).
        assert!(button(&page, "Cancel job").contains("disabled"));
        assert!(page.text.contains("job is already done; only unfinished jobs can be cancelled"));
        assert!(page.text.contains("job is done; only failed or cancelled jobs can be retried"));
        assert!(!page.text.contains("style=\""));
    }

    async fn cancel_and_retry_are_form_posts_that_redirect_and_refusals_are_shown(t) {
        let app = TestApp::new(t).await;
        let m = app.matrix().await;
        let tk = task_of(&app, &m, "Form").await;
        let job = start(&app, &m, &tk).await;
        let id = id_of(&job);
        let writer = browser(&app, "mx-writer").await;

        // Queued: cancel enabled, retry disabled with the reason.
        let page = app.get(&format!("/jobs/{id}"), &writer).await;
        assert!(!button(&page, "Cancel job").contains("disabled"), "{}", page.text);
        assert!(button(&page, "Retry").contains("disabled"));
        assert!(page.text.contains("job is queued; only failed or cancelled jobs can be retried"));
        // Retry anyway (a stale page): refused on the page with 409, nothing written.
        let before = app.count("jobs").await;
        let res = app.form(&format!("/jobs/{id}/retry"), &writer, &[]).await;
        assert_eq!(res.status, StatusCode::CONFLICT, "{}", res.text);
        assert!(res.text.contains("role=\"alert\"") && res.text.contains("job is queued"), "{}", res.text);
        assert_eq!(app.count("jobs").await, before);

        let res = app.form(&format!("/jobs/{id}/cancel"), &writer, &[]).await;
        assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text);
        assert_eq!(res.header("location"), Some(format!("/jobs/{id}").as_str()));
        assert_eq!(status_of(&app, &id).await, "CANCELLED");
        let res = app.form(&format!("/jobs/{id}/cancel"), &writer, &[]).await;
        assert_eq!(res.status, StatusCode::CONFLICT);
        assert!(res.text.contains("job is already cancelled"), "{}", res.text);

        // Cancelled: retry enabled; it goes to the new job's page.
        let page = app.get(&format!("/jobs/{id}"), &writer).await;
        assert!(!button(&page, "Retry").contains("disabled"), "{}", page.text);
        let res = app.form(&format!("/jobs/{id}/retry"), &writer, &[]).await;
        assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text);
        let to = res.header("location").expect("location").to_string();
        let new_id = to.strip_prefix("/jobs/").expect("a job page").to_string();
        assert_ne!(new_id, id);
        assert_eq!(status_of(&app, &new_id).await, "QUEUED");
        assert_eq!(app.count("jobs").await, before + 1);
        let page = app.get(&to, &writer).await;
        assert!(page.text.contains("All jobs of this task") && page.text.contains(&format!("id=\"job-{id}\"")), "the task's history");
        // The old one again: the task is busy now, and the page says so.
        let page = app.get(&format!("/jobs/{id}"), &writer).await;
        assert!(button(&page, "Retry").contains("disabled"));
        assert!(page.text.contains("the task already has a queued job"), "{}", page.text);
        let res = app.form(&format!("/jobs/{id}/retry"), &writer, &[]).await;
        assert_eq!(res.status, StatusCode::CONFLICT);
        assert!(res.text.contains("already has a queued job"), "{}", res.text);
    }

    async fn other_peoples_jobs_are_the_one_404_and_readers_and_demo_cannot_write(t) {
        let app = TestApp::new(t).await;
        let m = app.matrix().await;
        let tk = task_of(&app, &m, "Form").await;
        let job = start(&app, &m, &tk).await;
        let id = id_of(&job);

        let outsider = browser(&app, "mx-outsider").await;
        let hidden = app.get(&format!("/jobs/{id}"), &outsider).await;
        let unknown = app.get("/jobs/no-such-job", &outsider).await;
        assert_eq!((hidden.status, unknown.status), (StatusCode::NOT_FOUND, StatusCode::NOT_FOUND));
        assert_eq!(hidden.text, unknown.text, "nothing tells an existing job from a made-up id");
        for action in ["cancel", "retry"] {
            let res = app.form(&format!("/jobs/{id}/{action}"), &outsider, &[]).await;
            assert_eq!(res.status, StatusCode::NOT_FOUND, "{action}");
            assert_eq!(res.text, unknown.text);
        }

        for (who, reason) in [("mx-reader", "You have read-only access to this product"), ("mx-demo", "Demo accounts are read-only")] {
            let b = browser(&app, who).await;
            let page = app.get(&format!("/jobs/{id}"), &b).await;
            assert_eq!(page.status, StatusCode::OK, "{who}");
            for label in ["Cancel job", "Retry"] {
                let button = button(&page, label);
                assert!(button.contains("disabled") && button.contains(reason), "{who} {label}: {button}");
            }
            for action in ["cancel", "retry"] {
                let before = app.count("jobs").await;
                let res = app.form(&format!("/jobs/{id}/{action}"), &b, &[]).await;
                assert_eq!(res.status, StatusCode::FORBIDDEN, "{who} forged {action}: {}", res.text);
                assert_eq!(app.count("jobs").await, before);
                assert_eq!(status_of(&app, &id).await, "QUEUED", "{who} {action}: unchanged");
            }
        }
        // A post from another site is refused before anything runs.
        let owner = browser(&app, "mx-owner").await;
        let As::Cookie(c) = &owner else { unreachable!() };
        let req = axum::http::Request::builder()
            .method("POST").uri(format!("/jobs/{id}/cancel"))
            .header("host", "127.0.0.1:8080").header("cookie", format!("baton_session={c}"))
            .header("origin", "https://evil.example").header("content-type", "application/x-www-form-urlencoded")
            .body(axum::body::Body::empty()).expect("request");
        assert_eq!(app.send(req).await.status, StatusCode::FORBIDDEN);
        assert_eq!(status_of(&app, &id).await, "QUEUED");
    }

    async fn the_workers_page_shows_the_registry_and_who_is_active(t) {
        let app = TestApp::new(t).await;
        let m = app.matrix().await;
        let actor = app.app().token_actor(&m.owner).await.expect("actor");
        let mut info = WorkerInfo::new("mcp-laptop-1");
        info.capabilities = vec!["gpu".into(), "deploy".into()];
        info.tier = baton_domain::agents::WorkerTier::HighP;
        info.hostname = Some("laptop".into());
        info.pid = Some(4242);
        let w = app.app().register_worker(&actor, info).await.expect("register");
        app.app().worker_heartbeat(&actor, WorkerInfo::new("mcp-old"), baton_app::workers::Quota { last_quota_pct: Some(15), ..Default::default() }).await.expect("old");
        // The old one last called in a minute ago: outside the 30 s window.
        let rows = worker::Entity::find().all(&app.t.db).await.expect("rows");
        let old = rows.into_iter().find(|r| r.instance_id == "mcp-old").expect("old");
        let mut am: worker::ActiveModel = old.into();
        am.last_seen_at = Set(now() - chrono::Duration::seconds(60));
        am.update(&app.t.db).await.expect("age");

        let owner = browser(&app, "mx-owner").await;
        let page = app.get("/workers", &owner).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.text);
        assert!(page.text.contains("1 active of 2"), "{}", page.text);
        let row = &page.text[page.text.find(&format!("id=\"worker-{}\"", w.id)).expect("row")..];
        assert!(row.starts_with(&format!("id=\"worker-{}\" data-id=\"{}\" data-status=\"active\"", w.id, w.id)), "{row}");
        for expected in ["mcp-laptop-1", "claude", "high p", "<code>gpu</code>, <code>deploy</code>", "laptop (pid 4242)"] {
            assert!(page.text.contains(expected), "{expected}");
        }
        assert!(page.text.contains("data-status=\"inactive\"") && page.text.contains("15 %") && page.text.contains("1 min ago"));
        assert!(page.text.contains("data-poll=\"10\"") && page.text.contains("id=\"workers-list\""), "refreshes itself");
        // Only your own workers (administrators: everyone's).
        let writer = browser(&app, "mx-writer").await;
        assert!(app.get("/workers", &writer).await.text.contains("No workers yet"));
    }

    async fn requeue_is_a_form_post_for_the_owner_and_dead_jobs_have_a_filter(t) {
        let app = TestApp::new(t).await;
        let m = app.matrix().await;
        let tk = task_of(&app, &m, "Stuck").await;
        let job = start(&app, &m, &tk).await;
        let id = id_of(&job);
        let owner = browser(&app, "mx-owner").await;
        let writer = browser(&app, "mx-writer").await;

        // Queued: the button is disabled with the reason.
        let page = app.get(&format!("/jobs/{id}"), &owner).await;
        assert!(button(&page, "Requeue").contains("disabled"), "{}", page.text);
        assert!(page.text.contains("job is queued; only claimed or running jobs can be requeued"));
        let worker = app.app().token_actor(&m.owner).await.expect("actor");
        app.app().claim_job(&worker, ClaimRequest::new("w")).await.expect("claim").expect("job");
        // Claimed: enabled for the owner; a read-write member sees why not and is refused.
        let page = app.get(&format!("/jobs/{id}"), &owner).await;
        assert!(!button(&page, "Requeue").contains("disabled"), "{}", page.text);
        let page = app.get(&format!("/jobs/{id}"), &writer).await;
        assert!(button(&page, "Requeue").contains("disabled"));
        assert!(page.text.contains("Requeue: only the job&#39;s owner or an administrator can requeue it."), "{}", page.text);
        let res = app.form(&format!("/jobs/{id}/requeue"), &writer, &[]).await;
        assert_eq!(res.status, StatusCode::FORBIDDEN, "{}", res.text);
        assert_eq!(status_of(&app, &id).await, "CLAIMED");
        let res = app.form(&format!("/jobs/{id}/requeue"), &owner, &[]).await;
        assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text);
        assert_eq!(res.header("location"), Some(format!("/jobs/{id}").as_str()));
        assert_eq!(status_of(&app, &id).await, "QUEUED");

        // The dead filter is one of the status choices.
        let list = app.get("/jobs?status=dead", &owner).await;
        assert_eq!(list.status, StatusCode::OK, "{}", list.text);
        assert!(list.text.contains("<option value=\"dead\" selected>"), "{}", list.text);
        assert!(!list.text.contains(&id), "a queued job is not dead");
        let mut am: job::ActiveModel = job::Entity::find_by_id(id.clone()).one(&app.t.db).await.expect("read").expect("job").into();
        am.status = Set("FAILED".into());
        am.retry_count = Set(baton_app::queue::claim::MAX_RETRIES);
        am.update(&app.t.db).await.expect("fail it");
        let list = app.get("/jobs?status=dead", &owner).await;
        assert!(list.text.contains(&id[..8]) || list.text.contains(&id), "a failed job out of attempts is dead: {}", list.text);
        let list = app.get("/jobs?status=failed&kind=deploy", &owner).await;
        assert!(!list.text.contains(&id), "other filters still apply");
    }
}
