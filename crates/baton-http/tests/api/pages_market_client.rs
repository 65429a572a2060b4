//! The client's marketplace pages (`/projects`, `/projects/{p}`,
//! `/projects/{p}/documents`) through the whole router with browser
//! sessions, on both backends: forms write through the same services as
//! REST (303), refusals re-render with the field named and write nothing,
//! the permission matrix (client, accepted expert, other expert, outsider,
//! demo, admin), other people's ids as the one 404 page, the payment QR as
//! an SVG image and funding without a chain answered 503 on the page.

use axum::http::{Method, StatusCode};
use baton_app::AppConfig;
use baton_domain::roles::Role;
use baton_store::sea_orm::{ConnectionTrait, Statement};
use baton_testkit::backend_tests;
use serde_json::{Value, json};

use crate::harness::{As, Res, TestApp};

const PROPOSAL: &str =
    "I have written many PRDs in BMAD format for two-sided marketplaces and can start tomorrow with an interview.";

struct People {
    client: As,
    pam: As,
    pete: As,
    otto: As,
    demo: As,
    admin: As,
    bearer: std::collections::HashMap<&'static str, As>,
}

async fn people(app: &TestApp) -> People {
    let mut cookies = std::collections::HashMap::new();
    let mut bearer = std::collections::HashMap::new();
    for (name, roles, demo) in [
        ("carla", vec![Role::Client], false),
        ("pam", vec![Role::Pm], false),
        ("pete", vec![Role::Pm], false),
        ("otto", vec![Role::Developer], false),
        ("demi", vec![Role::Client, Role::Pm], true),
        ("root", vec![Role::Admin], false),
    ] {
        let id = app.user(name, &roles, demo).await;
        bearer.insert(name, As::Bearer(app.token_for(&id).await));
        cookies.insert(name, As::Cookie(app.login(name, &format!("{name}-password")).await));
    }
    let c = |n: &str| cookies[n].clone();
    People {
        client: c("carla"),
        pam: c("pam"),
        pete: c("pete"),
        otto: c("otto"),
        demo: c("demi"),
        admin: c("root"),
        bearer,
    }
}

fn config(tag: &str) -> AppConfig {
    let dir = std::env::temp_dir().join(format!("baton-client-pages-{tag}-{}", baton_store::new_id()));
    let mut config = AppConfig { documents_url: Some(format!("file://{}", dir.display())), ..AppConfig::default() };
    config.chains.polygon.escrow_address = "0x00000000000000000000000000000000000000aa".into();
    config
}

fn location(res: &Res) -> String {
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text);
    res.header("location").expect("location").to_string()
}

fn ok(res: Res, status: StatusCode) -> Value {
    assert_eq!(res.status, status, "{}", res.text);
    res.json()
}

async fn one(app: &TestApp, sql: &str) -> String {
    let db = &app.t.db;
    let row = db
        .query_one_raw(Statement::from_string(db.get_database_backend(), sql.to_string()))
        .await
        .expect("read")
        .expect("row");
    row.try_get_by_index::<String>(0).expect("value")
}

/// Row counts of the marketplace tables, to prove a refusal wrote nothing.
async fn counts(app: &TestApp) -> Vec<i64> {
    let mut out = Vec::new();
    for t in ["products", "opportunities", "bids", "escrows", "deliverables", "ratings", "documents"] {
        out.push(app.count(t).await);
    }
    out
}

/// No enabled submit button in the page (every write control disabled).
fn no_enabled_submit(res: &Res) {
    for (i, _) in res.text.match_indices("<button type=\"submit\"") {
        let tag = &res.text[i..i + res.text[i..].find('>').expect("tag end")];
        if tag.contains("Log out") || tag.contains("class=\"link\"") {
            continue;
        }
        let fieldset_disabled = res.text[..i].rfind("<fieldset").is_some_and(|f| {
            let open = &res.text[f..i];
            open.contains(" disabled") && !open.contains("</fieldset>")
        });
        assert!(tag.contains(" disabled") || fieldset_disabled, "an enabled write control: {tag}");
    }
}

backend_tests! {
    async fn the_client_runs_a_project_from_the_dashboard(t) {
        let app = TestApp::with_config(t, config("flow")).await;
        let p = people(&app).await;

        // The list, with the create form for a client only.
        let empty = app.get("/projects", &p.client).await;
        assert_eq!(empty.status, StatusCode::OK, "{}", empty.text);
        assert!(empty.text.contains("href=\"/projects\" aria-current=\"page\">Projects</a>"));
        assert!(empty.text.contains("No projects yet") && empty.text.contains("action=\"/projects\""));
        let expert_view = app.get("/projects", &p.pam).await;
        assert!(!expert_view.text.contains("method=\"post\" action=\"/projects\"") && expert_view.text.contains("needs the client role"));

        // Refusals write nothing and name the field; demo is 403.
        let before = counts(&app).await;
        let blank = app.form("/projects", &p.client, &[("name", " "), ("code", ""), ("brief", "")]).await;
        assert_eq!(blank.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", blank.text);
        assert!(blank.text.contains("id=\"name-error\""), "{}", blank.text);
        let demo = app.form("/projects", &p.demo, &[("name", "Demo"), ("code", ""), ("brief", "")]).await;
        assert_eq!(demo.status, StatusCode::FORBIDDEN);
        let expert = app.form("/projects", &p.pam, &[("name", "Mine"), ("code", ""), ("brief", "")]).await;
        assert_eq!(expert.status, StatusCode::FORBIDDEN, "{}", expert.text);
        assert_eq!(counts(&app).await, before);

        // Create: 303 to the dashboard.
        let res = app.form("/projects", &p.client, &[("name", "Walkies"), ("code", "WALK"), ("brief", "# Walkies\r\n\r\nDogs.")]).await;
        assert_eq!(location(&res), "/projects/WALK");
        let pid = one(&app, "SELECT id FROM products WHERE code = 'WALK'").await;
        let list = app.get("/projects?status=planning", &p.client).await;
        assert!(list.text.contains("id=\"project-WALK\" data-code=\"WALK\" data-status=\"planning\""), "{}", list.text);
        let bad = app.get("/projects?status=nope", &p.client).await;
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(bad.text.contains("id=\"status-error\""));

        let dash = app.get("/projects/WALK", &p.client).await;
        assert_eq!(dash.status, StatusCode::OK, "{}", dash.text);
        assert!(dash.text.contains("data-stage=\"analyst\" data-state=\"current\""), "{}", dash.text);
        assert!(dash.text.contains("<h1>Walkies</h1>") && dash.text.contains("id=\"brief-status\" data-status=\"draft\""));
        assert!(!dash.text.contains("style=\"") && !dash.text.contains(" onclick="), "CSP-clean");

        // Posting the PM opportunity needs a published brief (409, nothing written).
        let pm = [("stage", "pm"), ("title", "Write the PRD"), ("description", "A **PRD**."), ("budget_min", "800"),
            ("budget_max", "1500.50"), ("currency", "usdc"), ("deadline", "")];
        let early = app.form("/projects/WALK/opportunities", &p.client, &pm).await;
        assert_eq!(early.status, StatusCode::CONFLICT, "{}", early.text);
        assert!(early.text.contains("brief is draft") && early.text.contains("value=\"Write the PRD\""), "kept: {}", early.text);
        assert_eq!(app.count("opportunities").await, 0);
        assert_eq!(location(&app.form("/projects/WALK/brief/publish", &p.client, &[]).await), "/projects/WALK#brief");
        let mut typo = pm;
        typo[3] = ("budget_min", "8.001");
        let refused = app.form("/projects/WALK/opportunities", &p.client, &typo).await;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(refused.text.contains("id=\"budget_min-error\""), "{}", refused.text);
        assert_eq!(app.count("opportunities").await, 0);
        assert_eq!(location(&app.form("/projects/WALK/opportunities", &p.client, &pm).await), "/projects/WALK#opportunities");
        assert_eq!(one(&app, "SELECT CAST(budget_max AS TEXT) FROM opportunities").await, "150050");
        let opp = one(&app, "SELECT id FROM opportunities").await;

        // Two experts bid over REST; the dashboard lists them in display units.
        let bids = format!("/api/opportunities/{opp}/bids");
        let bid = |amount: i64| json!({"amount": amount, "currency": "usdc", "proposal": PROPOSAL, "estimated_hours": 20});
        let pam_bid = ok(app.json(Method::POST, &bids, &p.bearer["pam"], &bid(100_000)).await, StatusCode::CREATED)["id"].as_str().expect("id").to_string();
        let pete_bid = ok(app.json(Method::POST, &bids, &p.bearer["pete"], &bid(90_000)).await, StatusCode::CREATED)["id"].as_str().expect("id").to_string();
        let dash = app.get("/projects/WALK", &p.client).await;
        assert!(dash.text.contains(&format!("id=\"bid-{pam_bid}\" data-code=\"{pam_bid}\" data-status=\"pending\"")));
        assert!(dash.text.contains("1000.00 USDC") && dash.text.contains("800.00–1500.50 USDC"), "{}", dash.text);
        assert!(dash.text.contains(&format!("action=\"/projects/WALK/bids/{pam_bid}/accept\"")));

        // Outsiders and not-yet-accepted experts: 404, and their writes change nothing.
        for who in [&p.otto, &p.pam] {
            assert_eq!(app.get("/projects/WALK", who).await.status, StatusCode::NOT_FOUND);
            assert_eq!(app.get(&format!("/projects/{pid}/documents"), who).await.status, StatusCode::NOT_FOUND);
        }
        let before = counts(&app).await;
        let forged = app.form(&format!("/projects/WALK/bids/{pam_bid}/accept"), &p.otto, &[]).await;
        assert_eq!(forged.status, StatusCode::NOT_FOUND);
        let forged = app.form(&format!("/projects/WALK/bids/{pam_bid}/accept"), &p.pam, &[]).await;
        assert!(matches!(forged.status, StatusCode::NOT_FOUND | StatusCode::FORBIDDEN), "{}", forged.status);
        assert_eq!(app.form(&format!("/projects/WALK/bids/{pam_bid}/accept"), &p.demo, &[]).await.status, StatusCode::FORBIDDEN);
        assert_eq!(counts(&app).await, before);
        assert_eq!(one(&app, &format!("SELECT status FROM bids WHERE id = '{pam_bid}'")).await, "PENDING");

        // Accept: the other bid is rejected, an escrow is created.
        assert_eq!(location(&app.form(&format!("/projects/WALK/bids/{pam_bid}/accept"), &p.client, &[]).await), "/projects/WALK#opportunities");
        assert_eq!(one(&app, &format!("SELECT status FROM bids WHERE id = '{pete_bid}'")).await, "REJECTED");
        let again = app.form(&format!("/projects/WALK/bids/{pete_bid}/accept"), &p.client, &[]).await;
        assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.text);
        assert!(again.text.contains("rejected"), "the state is named: {}", again.text);
        let escrow = one(&app, "SELECT id FROM escrows").await;

        // The escrow is pending with its payment instructions and QR code.
        let dash = app.get("/projects/WALK", &p.client).await;
        assert!(dash.text.contains(&format!("id=\"escrow-{escrow}\" class=\"client-escrow\" data-code=\"{escrow}\" data-status=\"pending\"")), "{}", dash.text);
        let qr = format!("/projects/WALK/escrows/{escrow}/qr.svg");
        assert!(dash.text.contains(&format!("<img src=\"{qr}\"")) && dash.text.contains("ethereum:"), "{}", dash.text);
        let svg = app.get(&qr, &p.client).await;
        assert_eq!((svg.status, svg.header("content-type")), (StatusCode::OK, Some("image/svg+xml")));
        assert!(svg.text.contains("<svg"));
        assert_eq!(app.get(&qr, &p.otto).await.status, StatusCode::NOT_FOUND);
        assert_eq!(app.get("/projects/WALK/escrows/nope/qr.svg", &p.client).await.status, StatusCode::NOT_FOUND);

        // Funding without a chain RPC: 503 on the page, the escrow stays pending.
        let hash = format!("0x{}", "ab".repeat(32));
        let fund = app.form(&format!("/projects/WALK/escrows/{escrow}/fund"), &p.client, &[("tx_hash", &hash)]).await;
        assert_eq!(fund.status, StatusCode::SERVICE_UNAVAILABLE, "{}", fund.text);
        assert!(fund.text.contains("Chain verification is not configured") && fund.text.contains(&hash), "{}", fund.text);
        assert_eq!(one(&app, "SELECT status FROM escrows").await, "PENDING");
        assert_eq!(app.form(&format!("/projects/WALK/escrows/{escrow}/fund"), &p.pam, &[("tx_hash", &hash)]).await.status, StatusCode::NOT_FOUND);

        // The accepted expert and an admin see the dashboard read-only.
        for who in [&p.pam, &p.admin] {
            let view = app.get(&format!("/projects/{pid}"), who).await;
            assert_eq!(view.status, StatusCode::OK, "{}", view.text);
            assert!(view.text.contains("Only the project&#39;s client changes it") || view.text.contains("Only the project&#x27;s client changes it"), "{}", view.text);
            no_enabled_submit(&view);
        }
        assert_eq!(app.get(&format!("/projects/{pid}"), &p.pete).await.status, StatusCode::NOT_FOUND, "a rejected bidder is not a party");
        let before = counts(&app).await;
        let brief = app.form(&format!("/projects/{pid}/brief"), &p.pam, &[("markdown", "hijack")]).await;
        assert_eq!(brief.status, StatusCode::FORBIDDEN, "{}", brief.text);
        assert_eq!(counts(&app).await, before);
        assert!(!one(&app, "SELECT CAST(brief AS TEXT) FROM products WHERE code = 'WALK'").await.contains("hijack"));

        // The brief is edited through the form (a published brief stays published).
        assert_eq!(location(&app.form("/projects/WALK/brief", &p.client, &[("markdown", "# Walkies v2")]).await), "/projects/WALK#brief");
        let dash = app.get("/projects/WALK", &p.client).await;
        assert!(dash.text.contains("<h1>Walkies v2</h1>") && dash.text.contains("data-status=\"published\""), "{}", dash.text);

        // Stages: the PM stage cannot be left while its work is under way.
        assert_eq!(location(&app.form("/projects/WALK/advance-stage", &p.client, &[]).await), "/projects/WALK#stages");
        let stuck = app.form("/projects/WALK/advance-stage", &p.client, &[]).await;
        assert_eq!(stuck.status, StatusCode::CONFLICT, "{}", stuck.text);
        assert!(stuck.text.contains("data-stage=\"pm\" data-state=\"current\""));

        // A story shows in its workflow column, linked to its page.
        let story = json!({"epic": 1, "number": "1", "title": "Sign up", "description": "As a walker I sign up."});
        let st = ok(app.json(Method::POST, &format!("/api/projects/{pid}/stories"), &p.bearer["carla"], &story).await, StatusCode::CREATED);
        let sid = st["story"]["id"].as_str().expect("id").to_string();
        let dash = app.get("/projects/WALK", &p.client).await;
        let col = dash.text.find("id=\"stories-draft\"").expect("draft column");
        assert!(dash.text[col..].contains(&format!("href=\"/market/stories/{sid}\"><span class=\"code\">1.1</span> Sign up")), "{}", dash.text);

        // The deliverable: changes need notes; approve completes the stage.
        let d = ok(app.json(Method::POST, &format!("/api/opportunities/{opp}/deliverables"), &p.bearer["pam"],
            &json!({"pr_url": "https://github.com/acme/walkies/pull/7"})).await, StatusCode::CREATED);
        let did = d["id"].as_str().expect("id").to_string();
        let review = format!("/projects/WALK/deliverables/{did}/review");
        let before = counts(&app).await;
        let nonotes = app.form(&review, &p.client, &[("decision", "request_changes"), ("notes", "")]).await;
        assert_eq!(nonotes.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", nonotes.text);
        assert_eq!(app.form(&format!("/projects/{pid}/deliverables/{did}/review"), &p.pam, &[("decision", "approve"), ("notes", "")]).await.status, StatusCode::FORBIDDEN);
        assert_eq!(counts(&app).await, before);
        assert_eq!(one(&app, "SELECT status FROM deliverables").await, "SUBMITTED");
        assert_eq!(location(&app.form(&review, &p.client, &[("decision", "approve"), ("notes", "Great PRD")]).await), format!("/projects/WALK#deliverable-{did}"));
        assert_eq!(one(&app, "SELECT status FROM opportunities").await, "COMPLETED");

        // Then the rating form for pam's PM stage.
        let dash = app.get("/projects/WALK", &p.client).await;
        assert!(dash.text.contains("id=\"rate-pm-pam\""), "{}", dash.text);
        let bad = app.form("/projects/WALK/ratings", &p.client, &[("expert", "pam"), ("stage", "pm"), ("rating", "9"), ("feedback", "")]).await;
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.text);
        assert_eq!(app.count("ratings").await, 0);
        let rated = app.form("/projects/WALK/ratings", &p.client, &[("expert", "pam"), ("stage", "pm"), ("rating", "5"), ("feedback", "Sharp")]).await;
        assert_eq!(location(&rated), "/projects/WALK#rate-pm-pam");
        assert!(app.get("/projects/WALK", &p.client).await.text.contains("You rated pam <strong>5/5</strong>: Sharp"));
        let _ = &p.pete;
    }

    async fn documents_are_uploaded_listed_and_deleted_from_the_page(t) {
        let app = TestApp::with_config(t, config("docs")).await;
        let p = people(&app).await;
        let res = app.form("/projects", &p.client, &[("name", "Walkies"), ("code", "WALK"), ("brief", "")]).await;
        assert_eq!(location(&res), "/projects/WALK");

        let page = app.get("/projects/WALK/documents", &p.client).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.text);
        assert!(page.text.contains("enctype=\"multipart/form-data\"") && page.text.contains("No documents yet"));

        let multipart = |name: &str, ct: &str, data: &str, kind: &str| {
            format!("--BOUND\r\nContent-Disposition: form-data; name=\"document_type\"\r\n\r\n{kind}\r\n--BOUND\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\nContent-Type: {ct}\r\n\r\n{data}\r\n--BOUND--\r\n")
        };
        let ct = "multipart/form-data; boundary=BOUND";
        let up = app.raw(Method::POST, "/projects/WALK/documents", &p.client, ct, multipart("notes.md", "application/octet-stream", "# Notes\n\nWalk the dogs.", "prd")).await;
        assert_eq!(location(&up), "/projects/WALK/documents");
        assert_eq!(one(&app, "SELECT mime_type FROM documents").await, "text/markdown");
        let id = one(&app, "SELECT id FROM documents").await;
        let page = app.get("/projects/WALK/documents", &p.client).await;
        assert!(page.text.contains(&format!("href=\"/api/documents/{id}/content\" download>notes.md</a>")), "{}", page.text);
        assert!(page.text.contains("<td>carla</td>") && page.text.contains("<td>Prd</td>"), "{}", page.text);
        let file = app.get(&format!("/api/documents/{id}/content"), &p.client).await;
        assert_eq!(file.text, "# Notes\n\nWalk the dogs.");

        // Refused uploads are shown on the page and write nothing.
        let before = counts(&app).await;
        let exe = app.raw(Method::POST, "/projects/WALK/documents", &p.client, ct, multipart("x.exe", "application/x-msdownload", "MZ", "other")).await;
        assert_eq!(exe.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", exe.text);
        assert!(exe.text.contains("id=\"content_type-error\""), "{}", exe.text);
        let empty = app.raw(Method::POST, "/projects/WALK/documents", &p.client, ct, multipart("e.txt", "text/plain", "", "other")).await;
        assert_eq!(empty.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(empty.text.contains("id=\"file-error\""), "{}", empty.text);
        let kind = app.raw(Method::POST, "/projects/WALK/documents", &p.client, ct, multipart("a.txt", "text/plain", "hi", "secret")).await;
        assert!(kind.text.contains("id=\"document_type-error\""), "{}", kind.text);
        let junk = app.raw(Method::POST, "/projects/WALK/documents", &p.client, "text/plain", "x".into()).await;
        assert_eq!(junk.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(app.raw(Method::POST, "/projects/WALK/documents", &p.demo, ct, multipart("n.md", "text/markdown", "x", "other")).await.status, StatusCode::FORBIDDEN);
        assert_eq!(app.raw(Method::POST, "/projects/WALK/documents", &p.otto, ct, multipart("n.md", "text/markdown", "x", "other")).await.status, StatusCode::NOT_FOUND);
        assert_eq!(app.form(&format!("/projects/WALK/documents/{id}/delete"), &p.otto, &[]).await.status, StatusCode::NOT_FOUND);
        assert_eq!(app.form(&format!("/projects/WALK/documents/{id}/delete"), &p.demo, &[]).await.status, StatusCode::FORBIDDEN);
        assert_eq!(counts(&app).await, before);

        // Documents are for the project's parties only: an administrator gets 404 too.
        assert_eq!(app.get("/projects/WALK/documents", &p.admin).await.status, StatusCode::NOT_FOUND);

        assert_eq!(location(&app.form(&format!("/projects/WALK/documents/{id}/delete"), &p.client, &[]).await), "/projects/WALK/documents");
        assert_eq!(app.count("documents").await, 0);
    }
}
