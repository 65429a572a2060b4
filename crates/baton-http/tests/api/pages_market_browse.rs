//! The expert's marketplace pages (`/opportunities`, `/opportunities/{id}`,
//! `/me/bids`, `/experts/{username}`) through the whole router with browser
//! sessions, on both backends: the list's filters in the URL and a bad one
//! next to its field, the fee preview without writing, bids by plain form
//! posts (303) and refusals next to their field with nothing written, the
//! client's accept and reject, withdraw from `/me/bids`, the accepted
//! expert's deliverable form, the permission matrix (client, expert, other
//! expert, outsider, demo, admin) with forged demo posts refused and others'
//! ids answered by the one 404 page.

use axum::http::{Method, StatusCode};
use baton_domain::roles::Role;
use baton_testkit::backend_tests;
use serde_json::{Value, json};

use crate::harness::{As, Res, TestApp};

const PROPOSAL: &str =
    "I have written many PRDs in BMAD format for two-sided marketplaces and can start tomorrow with an interview.";

/// Everyone of the matrix: a bearer token (to set data up over REST) and a
/// browser session (to use the pages).
struct Who {
    api: As,
    web: As,
}

struct People {
    client: Who,
    expert: Who,
    other: Who,
    outsider: Who,
    demo: Who,
    admin: Who,
}

async fn people(app: &TestApp) -> People {
    let mut all = Vec::new();
    for (name, roles, demo) in [
        ("client", vec![Role::Client], false),
        ("expert", vec![Role::Pm], false),
        ("other", vec![Role::Pm], false),
        ("outsider", vec![Role::Developer], false),
        ("demo", vec![Role::Client, Role::Pm], true),
        ("admin", vec![Role::Admin], false),
    ] {
        let id = app.user(name, &roles, demo).await;
        let api = As::Bearer(app.token_for(&id).await);
        let web = As::Cookie(app.login(name, &format!("{name}-password")).await);
        all.push(Who { api, web });
    }
    let mut it = all.into_iter();
    let mut next = || it.next().expect("user");
    People { client: next(), expert: next(), other: next(), outsider: next(), demo: next(), admin: next() }
}

fn ok(res: Res, status: StatusCode) -> Value {
    assert_eq!(res.status, status, "{}", res.text);
    res.json()
}

fn location(res: &Res) -> String {
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text);
    res.header("location").expect("location").to_string()
}

/// A project with a published brief and an open PM opportunity (800–1500 USDC); its id.
async fn pm_opportunity(app: &TestApp, p: &People) -> (String, String) {
    let project = ok(
        app.json(
            Method::POST,
            "/api/projects",
            &p.client.api,
            &json!({"name": "Walkies", "code": "WALK", "brief": "# Dogs need walks"}),
        )
        .await,
        StatusCode::CREATED,
    );
    let pid = project["id"].as_str().expect("id").to_string();
    ok(
        app.json(Method::POST, &format!("/api/projects/{pid}/brief/publish"), &p.client.api, &json!({})).await,
        StatusCode::OK,
    );
    let opp = json!({"stage": "pm", "title": "Write the PRD", "description": "A **PRD** for <script>dog</script> walking.", "budget": {"min": 80000, "max": 150000, "currency": "usdc"}});
    let o = ok(
        app.json(Method::POST, &format!("/api/projects/{pid}/opportunities"), &p.client.api, &opp).await,
        StatusCode::CREATED,
    );
    (pid, o["id"].as_str().expect("id").to_string())
}

fn bid_fields<'a>(amount: &'a str, proposal: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![("amount", amount), ("currency", "usdc"), ("proposal", proposal), ("estimated_hours", "30")]
}

backend_tests! {
    async fn experts_browse_filter_and_bid_through_the_pages(t) {
        let app = TestApp::new(t).await;
        let p = people(&app).await;
        let (_, oid) = pm_opportunity(&app, &p).await;

        // The list: nav entry current, the row with its stage, budget, anonymised client and bid count.
        let list = app.get("/opportunities", &p.expert.web).await;
        assert_eq!(list.status, StatusCode::OK, "{}", list.text);
        assert!(list.text.contains("href=\"/opportunities\" aria-current=\"page\">Opportunities</a>"), "{}", list.text);
        assert!(list.text.contains("href=\"/me/bids\"") && list.text.contains("href=\"/projects\""), "nav entries");
        assert!(list.text.contains(&format!("id=\"opportunity-{oid}\"")), "{}", list.text);
        assert!(list.text.contains("800.00 – 1500.00 USDC"), "budget in display units: {}", list.text);
        assert!(list.text.contains("Client #"), "the client is anonymised");
        assert!(!list.text.contains("style=\"") && !list.text.contains(" onclick="), "CSP-clean");

        // Filters in the URL, kept in the form; a bad one next to its field.
        let none = app.get("/opportunities?stage=architect&sort=highest", &p.expert.web).await;
        assert!(none.text.contains("No open opportunity matches"), "{}", none.text);
        assert!(none.text.contains("<option value=\"highest\" selected>"), "sort kept");
        let hit = app.get("/opportunities?budget_min=1000&budget_max=1200.50&currency=usdc", &p.expert.web).await;
        assert!(hit.text.contains(&format!("id=\"opportunity-{oid}\"")), "budget overlap in display units");
        let above = app.get("/opportunities?budget_min=1500.01", &p.expert.web).await;
        assert!(!above.text.contains(&format!("id=\"opportunity-{oid}\"")), "1500.01 is above the budget");
        let bad = app.get("/opportunities?budget_max=12.345", &p.expert.web).await;
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.text);
        assert!(bad.text.contains("id=\"budget_max-error\""), "{}", bad.text);

        // The opportunity: markdown rendered safely, the bid form, no brief for a stranger.
        let url = format!("/opportunities/{oid}");
        let page = app.get(&url, &p.expert.web).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.text);
        assert!(page.text.contains("<strong>PRD</strong>") && !page.text.contains("<script>dog"), "{}", page.text);
        assert!(page.text.contains("id=\"bid-form\"") && page.text.contains("data-browse-fee="), "{}", page.text);
        assert!(!page.text.contains("Project brief"), "the brief is for the project's people");

        // The fee preview, without JavaScript and for the script, writes nothing.
        let mut preview = bid_fields("1000", "short");
        preview.push(("preview", "1"));
        let res = app.form(&format!("{url}/bids"), &p.expert.web, &preview).await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.text);
        assert!(res.text.contains("50.00 USDC") && res.text.contains("950.00 USDC"), "{}", res.text);
        assert!(res.text.contains(">short</textarea>"), "typed text kept");
        let partial = app.get(&format!("{url}/fee-preview?amount=1000&currency=usdc"), &p.expert.web).await;
        assert_eq!(partial.status, StatusCode::OK);
        assert!(partial.text.starts_with("<div id=\"fee-preview\"") && partial.text.contains("950.00 USDC"), "{}", partial.text);
        assert_eq!(app.count("bids").await, 0, "previews write nothing");

        // A refused bid names its field and writes nothing.
        let res = app.form(&format!("{url}/bids"), &p.expert.web, &bid_fields("1000", "too short")).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", res.text);
        assert!(res.text.contains("id=\"proposal-error\""), "{}", res.text);
        let res = app.form(&format!("{url}/bids"), &p.expert.web, &bid_fields("3000", PROPOSAL)).await;
        assert!(res.text.contains("id=\"amount-error\""), "above 1.5 × max: {}", res.text);
        assert_eq!(app.count("bids").await, 0);

        // A bid by plain form post: 303 to the page, which shows it with Withdraw.
        let res = app.form(&format!("{url}/bids"), &p.expert.web, &bid_fields("1000.50", PROPOSAL)).await;
        assert_eq!(location(&res), format!("{url}#my-bid"));
        let page = app.get(&url, &p.expert.web).await;
        assert!(page.text.contains("id=\"my-bid\"") && page.text.contains("1000.50 USDC"), "{}", page.text);
        assert!(page.text.contains("Withdraw bid"), "{}", page.text);
        assert!(page.text.contains("You already bid on this opportunity"), "the form says why it is disabled");
        let twice = app.form(&format!("{url}/bids"), &p.expert.web, &bid_fields("900", PROPOSAL)).await;
        assert_eq!(twice.status, StatusCode::CONFLICT, "{}", twice.text);

        // The other expert bids; the outsider lacks the role; the client cannot bid.
        location(&app.form(&format!("{url}/bids"), &p.other.web, &bid_fields("1100", PROPOSAL)).await);
        let outsider = app.get(&url, &p.outsider.web).await;
        assert!(outsider.text.contains("needs the pm role"), "{}", outsider.text);
        let refused = app.form(&format!("{url}/bids"), &p.outsider.web, &bid_fields("1100", PROPOSAL)).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.text);
        let client_page = app.get(&url, &p.client.web).await;
        assert!(!client_page.text.contains("id=\"bid-form\""), "no bid form for the client");
        assert!(client_page.text.contains("Project brief") && client_page.text.contains("Dogs need walks"), "{}", client_page.text);
        assert!(client_page.text.contains("href=\"/projects/WALK\""), "the dashboard is linked");
        let own = app.form(&format!("{url}/bids"), &p.client.web, &bid_fields("1100", PROPOSAL)).await;
        assert_eq!(own.status, StatusCode::FORBIDDEN);
        assert_eq!(app.count("bids").await, 2);

        // My bids: listed, filtered, withdrawn from the list (back to it).
        let mine = app.get("/me/bids", &p.expert.web).await;
        assert_eq!(mine.status, StatusCode::OK, "{}", mine.text);
        assert!(mine.text.contains("href=\"/me/bids\" aria-current=\"page\">My bids</a>"));
        assert!(mine.text.contains("Write the PRD") && mine.text.contains("data-status=\"pending\""), "{}", mine.text);
        let bids = ok(app.get(&format!("/api/opportunities/{oid}/bids"), &p.client.api).await, StatusCode::OK);
        let id_of = |who: &str| bids.as_array().expect("bids").iter().find(|b| b["expert"] == json!(who)).expect("bid")["id"].as_str().expect("id").to_string();
        let (mine_id, other_id) = (id_of("expert"), id_of("other"));
        // Someone else's bid: the one 404 page, nothing changed.
        let stolen = app.form(&format!("{url}/bids/{mine_id}/withdraw"), &p.other.web, &[]).await;
        assert_eq!(stolen.status, StatusCode::NOT_FOUND, "{}", stolen.text);
        let res = app.form(&format!("{url}/bids/{mine_id}/withdraw"), &p.expert.web, &[("back", "/me/bids")]).await;
        assert_eq!(location(&res), "/me/bids");
        let withdrawn = app.get("/me/bids?status=withdrawn", &p.expert.web).await;
        assert!(withdrawn.text.contains(&format!("id=\"bid-{mine_id}\"")), "{}", withdrawn.text);
        let pending = app.get("/me/bids?status=pending", &p.expert.web).await;
        assert!(pending.text.contains("No bid has this status"), "{}", pending.text);
        assert_eq!(app.get("/me/bids?status=won", &p.expert.web).await.status, StatusCode::UNPROCESSABLE_ENTITY);
        let offsite = app.form(&format!("{url}/bids/{other_id}/reject"), &p.client.web, &[("back", "//evil.example")]).await;
        assert_eq!(location(&offsite), format!("{url}#bids"), "only local paths are followed");

        // The expert bids again and the client accepts on the page.
        location(&app.form(&format!("{url}/bids"), &p.expert.web, &bid_fields("1200", PROPOSAL)).await);
        assert_eq!(app.form(&format!("{url}/bids/{mine_id}/accept"), &p.expert.web, &[]).await.status, StatusCode::FORBIDDEN);
        let res = app.form(&format!("{url}/bids/{mine_id}/accept"), &p.client.web, &[]).await;
        assert_eq!(location(&res), format!("{url}#bids"));
        assert_eq!(app.count("escrows").await, 1);
        let again = app.form(&format!("{url}/bids/{mine_id}/accept"), &p.client.web, &[]).await;
        assert_eq!(again.status, StatusCode::CONFLICT, "a second accept names the state: {}", again.text);

        // The accepted expert delivers the planning stage.
        let page = app.get(&url, &p.expert.web).await;
        assert!(page.text.contains("id=\"deliverable-form\""), "{}", page.text);
        assert!(!app.get(&url, &p.other.web).await.text.contains("id=\"deliverable-form\""), "only the accepted expert delivers");
        let bad = app.form(&format!("{url}/deliverables"), &p.expert.web, &[("pr_url", "not a url")]).await;
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.text);
        assert!(bad.text.contains("id=\"pr_url-error\""), "{}", bad.text);
        assert_eq!(app.count("deliverables").await, 0);
        let res = app.form(&format!("{url}/deliverables"), &p.expert.web, &[("pr_url", "https://github.com/acme/walkies/pull/7")]).await;
        assert_eq!(location(&res), format!("{url}#deliverables"));
        let page = app.get(&url, &p.client.web).await;
        assert!(page.text.contains("PR #7") && page.text.contains("data-status=\"submitted\""), "{}", page.text);

        // The admin reads every page; unknown ids are the one 404 page.
        assert_eq!(app.get(&url, &p.admin.web).await.status, StatusCode::OK);
        assert_eq!(app.get("/opportunities/nope", &p.expert.web).await.status, StatusCode::NOT_FOUND);
        assert_eq!(app.get("/opportunities/nope/fee-preview?amount=1", &p.expert.web).await.status, StatusCode::NOT_FOUND);
        assert_eq!(app.get("/opportunities", &As::Nobody).await.status, StatusCode::SEE_OTHER, "log in first");
    }

    async fn demo_users_see_disabled_controls_and_forged_posts_change_nothing(t) {
        let app = TestApp::new(t).await;
        let p = people(&app).await;
        let (_, oid) = pm_opportunity(&app, &p).await;
        let url = format!("/opportunities/{oid}");
        location(&app.form(&format!("{url}/bids"), &p.expert.web, &bid_fields("1000", PROPOSAL)).await);
        let page = app.get(&url, &p.demo.web).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.text);
        assert!(page.text.contains("id=\"why-disabled\""), "{}", page.text);
        assert!(page.text.contains("<fieldset disabled title=\"Demo accounts are read-only\""), "{}", page.text);
        let before = (app.count("bids").await, app.count("escrows").await, app.count("deliverables").await);
        let forged = app.form(&format!("{url}/bids"), &p.demo.web, &bid_fields("1000", PROPOSAL)).await;
        assert_eq!(forged.status, StatusCode::FORBIDDEN, "{}", forged.text);
        let bids = ok(app.get(&format!("/api/opportunities/{oid}/bids"), &p.client.api).await, StatusCode::OK);
        let bid = bids[0]["id"].as_str().expect("id").to_string();
        for action in ["accept", "reject", "withdraw"] {
            let res = app.form(&format!("{url}/bids/{bid}/{action}"), &p.demo.web, &[]).await;
            assert_eq!(res.status, StatusCode::FORBIDDEN, "{action}: {}", res.text);
        }
        assert_eq!(app.form(&format!("{url}/deliverables"), &p.demo.web, &[("pr_url", "https://github.com/a/b/pull/1")]).await.status, StatusCode::FORBIDDEN);
        assert_eq!((app.count("bids").await, app.count("escrows").await, app.count("deliverables").await), before);
        let mine = app.get("/me/bids", &p.demo.web).await;
        assert_eq!(mine.status, StatusCode::OK);
        assert!(mine.text.contains("You have not bid yet"), "{}", mine.text);
        let _ = &p.admin;
    }

    async fn expert_profiles_show_roles_and_ratings(t) {
        let app = TestApp::new(t).await;
        let p = people(&app).await;
        let page = app.get("/experts/expert", &p.outsider.web).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.text);
        assert!(page.text.contains("<span class=\"badge\">PM</span>"), "roles as stages: {}", page.text);
        assert!(page.text.contains("No ratings yet"), "{}", page.text);
        assert_eq!(app.get("/experts/ghost", &p.outsider.web).await.status, StatusCode::NOT_FOUND);
        assert_eq!(app.get("/experts/expert", &p.demo.web).await.status, StatusCode::OK);
        let _ = (&p.client, &p.expert, &p.other, &p.admin);
    }
}
