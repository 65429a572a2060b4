//! The marketplace story page (`/market/stories/{id}`), the QA queue
//! (`/qa`) and the review form (`/market/stories/{id}/review`) through the
//! whole router with browser sessions, on both backends. The project is
//! built over REST (bids accepted by the client assign the developer and
//! the QA); the pages then drive the workflow: validation, start, PR, a
//! CONCERNS review back to rework, a second PR, PASS → done. Refusals show
//! the message next to the field and write nothing; other people's stories
//! are the one 404 page; demo and administrators see no enabled control and
//! a demo's forged post is refused (403) with the database unchanged.

use axum::http::{Method, StatusCode};
use baton_domain::roles::Role;
use baton_testkit::backend_tests;
use serde_json::{Value, json};

use crate::harness::{As, Res, TestApp};

const PROPOSAL: &str =
    "I have shipped BMAD stories for three marketplaces and will start with the acceptance criteria tomorrow morning.";

struct Person {
    bearer: As,
    page: As,
}

async fn person(app: &TestApp, name: &str, roles: &[Role], demo: bool) -> (String, Person) {
    let id = app.user(name, roles, demo).await;
    let bearer = As::Bearer(app.token_for(&id).await);
    let page = As::Cookie(app.login(name, &format!("{name}-password")).await);
    (id, Person { bearer, page })
}

fn ok(res: &Res) -> Value {
    assert!(res.status.is_success(), "{} {}", res.status, res.text);
    res.json()
}

fn location(res: &Res) -> String {
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text);
    res.header("location").expect("location").to_string()
}

/// Whether the page has an enabled `<button type="submit" id="{id}"` (not disabled, not in a disabled fieldset).
fn enabled(res: &Res, id: &str) -> bool {
    let needle = format!("id=\"{id}\"");
    let Some(at) = res.text.find(&needle) else { return false };
    let tag_end = at + res.text[at..].find('>').unwrap_or(0);
    let tag_start = res.text[..at].rfind('<').unwrap_or(0);
    if res.text[tag_start..tag_end].contains(" disabled") {
        return false;
    }
    // Inside a disabled fieldset (any of the enclosing ones)?
    let before = &res.text[..at];
    let mut open: Vec<bool> = Vec::new();
    let mut i = 0;
    while i < before.len() {
        let rest = &before[i..];
        if rest.starts_with("<fieldset") {
            let tag = &rest[..rest.find('>').unwrap_or(rest.len())];
            open.push(tag.contains(" disabled"));
        } else if rest.starts_with("</fieldset>") {
            open.pop();
        }
        i += rest.chars().next().map_or(1, char::len_utf8);
    }
    !open.contains(&true)
}

async fn status_of(app: &TestApp, who: &As, story: &str) -> String {
    let res = app.get(&format!("/api/stories/{story}/workflow"), who).await;
    ok(&res)["story"]["workflow_status"].as_str().unwrap_or_default().to_string()
}

/// The counts of every table the story forms may write.
async fn counts(app: &TestApp) -> Vec<i64> {
    let mut v = Vec::new();
    for t in ["stories", "story_audit_logs", "opportunities", "bids", "escrows"] {
        v.push(app.count(t).await);
    }
    v
}

/// The open opportunity of `stage` for `story`, as the project sees it.
async fn opportunity_of(app: &TestApp, who: &As, stage: &str) -> Value {
    let res = app.get(&format!("/api/opportunities?stage={stage}"), who).await;
    ok(&res)["items"][0].clone()
}

async fn bid_and_accept(app: &TestApp, expert: &As, client: &As, stage: &str) {
    let o = opportunity_of(app, expert, stage).await;
    let id = o["id"].as_str().expect("opportunity id");
    let amount = o["budget"]["min"].as_i64().expect("budget");
    let body = json!({"amount": amount, "currency": o["budget"]["currency"], "proposal": PROPOSAL});
    let b = ok(&app.json(Method::POST, &format!("/api/opportunities/{id}/bids"), expert, &body).await);
    let bid = b["id"].as_str().expect("bid id");
    ok(&app.json(Method::POST, &format!("/api/bids/{bid}/accept"), client, &json!({})).await);
}

backend_tests! {
    async fn the_story_pages_drive_the_workflow_with_the_permission_matrix(t) {
        let app = TestApp::new(t).await;
        let (_, admin) = {
            let id = app.user("root", &[Role::Admin], false).await;
            (id.clone(), Person { bearer: As::Bearer(app.token_for(&id).await), page: As::Cookie(app.login("root", "root-password").await) })
        };
        let (_, client) = person(&app, "carla", &[Role::Client], false).await;
        let (_, dev) = person(&app, "dev", &[Role::Developer], false).await;
        let (_, qa) = person(&app, "quinn", &[Role::Qa], false).await;
        let (_, other) = person(&app, "otto", &[Role::Developer], false).await;
        let (_, outsider) = person(&app, "olga", &[Role::Client], false).await;
        let (demo_id, demo) = person(&app, "demi", &[Role::Client], true).await;

        let project = ok(&app.json(Method::POST, "/api/projects", &client.bearer,
            &json!({"name": "Walkies", "code": "WALK", "brief": "# Walkies"})).await);
        let pid = project["id"].as_str().expect("project id").to_string();
        app.member_row(&pid, &demo_id, "READ_WRITE").await;
        let body = json!({"epic": 1, "number": "2", "title": "Book a walk", "description": "As an **owner** I book.",
            "acceptance_criteria": "1. A walk is booked\n2. <script>x</script>", "story_file": "docs/stories/1.2.book.md"});
        let created = ok(&app.json(Method::POST, &format!("/api/projects/{pid}/stories"), &client.bearer, &body).await);
        let sid = created["story"]["id"].as_str().expect("story id").to_string();
        let code = created["story"]["code"].as_str().expect("code").to_string();
        let page = format!("/market/stories/{sid}");

        // The client sees the draft with the validation form and the threshold.
        let res = app.get(&page, &client.page).await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.text);
        assert!(res.text.contains("data-status=\"draft\"") && res.text.contains("<span class=\"code\">1.2</span> Book a walk"), "{}", res.text);
        assert!(res.text.contains("href=\"/projects/WALK\""), "links the project");
        assert!(res.text.contains("<strong>owner</strong>") && res.text.contains("&lt;script&gt;x") && !res.text.contains("<script>x"), "markdown rendered safely");
        assert!(res.text.contains("docs/stories/1.2.book.md"));
        assert!(res.text.contains("id=\"validation-threshold\">8<"), "the threshold is shown");
        assert!(enabled(&res, "validation-submit"), "the client validates");
        assert!(!res.text.contains("style=\"") && !res.text.contains(" onclick="), "CSP-clean");

        // Others' ids: outsiders and unrelated experts get the one 404 page; unknown ids too.
        for who in [&outsider.page, &other.page] {
            let res = app.get(&page, who).await;
            assert_eq!(res.status, StatusCode::NOT_FOUND);
            assert!(!res.text.contains("Book a walk"));
        }
        assert_eq!(app.get("/market/stories/nope", &client.page).await.status, StatusCode::NOT_FOUND);
        let before = counts(&app).await;
        let res = app.form(&format!("{page}/validation"), &outsider.page, &[("score", "9"), ("decision", "go")]).await;
        assert_eq!(res.status, StatusCode::NOT_FOUND);
        assert_eq!(counts(&app).await, before);

        // Demo (a member) and the administrator read it with every control disabled.
        for who in [&demo.page, &admin.page] {
            let res = app.get(&page, who).await;
            assert_eq!(res.status, StatusCode::OK, "{}", res.text);
            assert!(!enabled(&res, "validation-submit") && !enabled(&res, "move-blocked"), "{}", res.text);
        }
        let res = app.form(&format!("{page}/validation"), &demo.page, &[("score", "9"), ("decision", "go")]).await;
        assert_eq!(res.status, StatusCode::FORBIDDEN);
        let res = app.form(&format!("{page}/validation"), &admin.page, &[("score", "9"), ("decision", "go")]).await;
        assert_eq!(res.status, StatusCode::FORBIDDEN, "administrators are no party");
        assert_eq!(counts(&app).await, before);

        // A refused validation is shown next to its field with nothing written.
        let res = app.form(&format!("{page}/validation"), &client.page, &[("score", "eleven"), ("decision", "go")]).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(res.text.contains("id=\"score-error\"") && res.text.contains("value=\"eleven\""), "{}", res.text);
        let res = app.form(&format!("{page}/validation"), &client.page, &[("score", "12"), ("decision", "go")]).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(res.text.contains("id=\"score-error\""), "{}", res.text);
        assert_eq!(counts(&app).await, before);
        // A NO-GO is recorded and leaves it draft; a GO 9 approves it.
        assert_eq!(location(&app.form(&format!("{page}/validation"), &client.page, &[("score", "9"), ("decision", "no_go")]).await), page);
        assert_eq!(status_of(&app, &client.bearer, &sid).await, "draft");
        assert_eq!(location(&app.form(&format!("{page}/validation"), &client.page, &[("score", "9"), ("decision", "go")]).await), page);
        assert_eq!(status_of(&app, &client.bearer, &sid).await, "approved");
        let res = app.get(&page, &client.page).await;
        assert!(res.text.contains("data-score=\"9\"") && res.text.contains("data-stage=\"developer\""), "{}", res.text);
        assert!(res.text.contains("href=\"/opportunities/"), "links the developer opportunity");

        // The developer's bid is accepted; they start and submit the PR from the page.
        bid_and_accept(&app, &dev.bearer, &client.bearer, "developer").await;
        let res = app.get(&page, &dev.page).await;
        assert!(enabled(&res, "move-in_progress"), "{}", res.text);
        let res = app.get(&page, &client.page).await;
        assert!(!enabled(&res, "move-in_progress"), "only the developer starts");
        assert_eq!(location(&app.form(&format!("{page}/moves"), &dev.page, &[("to", "in_progress")]).await), page);
        let before = counts(&app).await;
        let res = app.form(&format!("{page}/pr"), &client.page, &[("pr_url", "https://github.com/a/b/pull/7")]).await;
        assert_eq!(res.status, StatusCode::FORBIDDEN);
        let res = app.form(&format!("{page}/pr"), &dev.page, &[("pr_url", "not a url")]).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(res.text.contains("id=\"pr_url-error\"") && res.text.contains("value=\"not a url\""), "{}", res.text);
        assert_eq!(counts(&app).await, before);
        assert_eq!(location(&app.form(&format!("{page}/pr"), &dev.page, &[("pr_url", "https://github.com/a/b/pull/7")]).await), page);
        assert_eq!(status_of(&app, &client.bearer, &sid).await, "ready_for_review");

        // The QA's bid on the QA opportunity is accepted: the queue lists the story ready for review.
        bid_and_accept(&app, &qa.bearer, &client.bearer, "qa").await;
        let res = app.get("/qa", &qa.page).await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.text);
        assert!(res.text.contains("id=\"qa-group-ready_for_review\"") && res.text.contains(&format!("href=\"{page}/review\"")), "{}", res.text);
        assert!(res.text.contains("aria-current=\"page\"") || res.text.contains("QA reviews"));
        let res = app.get("/qa", &dev.page).await;
        assert!(res.text.contains("not the assigned QA of any") && !res.text.contains("Book a walk"), "{}", res.text);
        let res = app.get(&page, &qa.page).await;
        assert!(enabled(&res, "approve-submit") && res.text.contains("id=\"review-link\""), "{}", res.text);
        let res = app.get(&page, &dev.page).await;
        assert!(!enabled(&res, "approve-submit") && !res.text.contains("id=\"review-link\""));

        // The review form shows the PR and the CONCERNS policy; only the QA may submit it.
        let review = format!("{page}/review");
        let res = app.get(&review, &qa.page).await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.text);
        assert!(res.text.contains("https://github.com/a/b/pull/7") && res.text.contains("data-policy=\"rework\""), "{}", res.text);
        assert!(enabled(&res, "review-submit"));
        let res = app.get(&review, &dev.page).await;
        assert!(!enabled(&res, "review-submit") && res.text.contains("id=\"review-why\""));
        assert_eq!(app.get(&review, &outsider.page).await.status, StatusCode::NOT_FOUND);
        let before = counts(&app).await;
        let fields = [("gate", "concerns"), ("notes", "Missing **edge** case"), ("top_issues", "empty cart\r\n\r\nslow list"), ("quality_score", "70")];
        assert_eq!(app.form(&review, &dev.page, &fields).await.status, StatusCode::FORBIDDEN);
        assert_eq!(app.form(&review, &demo.page, &fields).await.status, StatusCode::FORBIDDEN);
        let res = app.form(&review, &qa.page, &[("gate", "maybe"), ("notes", "kept notes")]).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(res.text.contains("id=\"gate-error\"") && res.text.contains("kept notes"), "{}", res.text);
        let res = app.form(&review, &qa.page, &[("gate", "fail"), ("notes", "  ")]).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(res.text.contains("id=\"notes-error\""), "{}", res.text);
        assert_eq!(counts(&app).await, before);

        // CONCERNS → back to rework, the gate and its top issues on the story page.
        assert_eq!(location(&app.form(&review, &qa.page, &fields).await), page);
        assert_eq!(status_of(&app, &client.bearer, &sid).await, "in_progress");
        let res = app.get(&page, &client.page).await;
        assert!(res.text.contains("data-gate=\"concerns\"") && res.text.contains("id=\"qa-review-count\">1<"), "{}", res.text);
        assert!(res.text.contains("<li>empty cart</li><li>slow list</li>") && res.text.contains("<strong>70</strong>"), "{}", res.text);

        // Second PR, then PASS → done.
        assert_eq!(location(&app.form(&format!("{page}/pr"), &dev.page, &[("pr_url", "https://github.com/a/b/pull/7")]).await), page);
        assert_eq!(location(&app.form(&review, &qa.page, &[("gate", "pass"), ("notes", "All good")]).await), page);
        assert_eq!(status_of(&app, &client.bearer, &sid).await, "done");
        let res = app.get(&page, &client.page).await;
        assert!(res.text.contains("data-status=\"done\"") && res.text.contains("data-gate=\"pass\""), "{}", res.text);
        // The audit trail lists every move, oldest first.
        let trail: Vec<&str> = res.text.match_indices("data-action=\"").map(|(i, m)| {
            let rest = &res.text[i + m.len()..];
            &rest[..rest.find('"').unwrap_or(0)]
        }).collect();
        assert_eq!(trail.first(), Some(&"CREATED"), "{trail:?}");
        for a in ["VALIDATED", "STATUS_CHANGED", "PR_LINKED", "GATE_UPDATED", "MERGED", "ESCROW_RELEASED"] {
            assert!(trail.contains(&a), "{a} in {trail:?}");
        }
        let api = ok(&app.get(&format!("/api/stories/{sid}/audit"), &client.bearer).await);
        assert_eq!(api.as_array().map(Vec::len), Some(trail.len()), "the same entries as the API");
        let res = app.get("/qa", &qa.page).await;
        assert!(res.text.contains("id=\"qa-group-done\"") && res.text.contains("Nothing is waiting"), "{}", res.text);

        // The backlog's story page links the workflow page.
        let res = app.get(&format!("/products/WALK/stories/{code}"), &client.page).await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.text);
        assert!(res.text.contains(&format!("id=\"market-workflow\" href=\"{page}\"")), "{}", res.text);
        let _ = &admin.bearer;
        let _ = &other.bearer;
        let _ = &outsider.bearer;
        let _ = &demo.bearer;
    }
}
