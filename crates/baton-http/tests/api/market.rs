//! The marketplace over REST on both backends: projects and their brief
//! and stage, opportunities, bids; status codes and error shapes naming
//! fields; who gets 401, 403, 404 and 409.

use axum::http::{Method, StatusCode};
use baton_domain::roles::Role;
use baton_testkit::backend_tests;
use serde_json::{Value, json};

use crate::harness::{As, Res, TestApp};

const PROPOSAL: &str =
    "I have written many PRDs in BMAD format for two-sided marketplaces and can start tomorrow with an interview.";

struct People {
    client: As,
    expert: As,
    other: As,
    outsider: As,
    demo: As,
}

async fn people(app: &TestApp) -> People {
    let mut tokens = Vec::new();
    for (name, roles, demo) in [
        ("client", vec![Role::Client], false),
        ("expert", vec![], false),
        ("other", vec![Role::Pm], false),
        ("outsider", vec![Role::Developer], false),
        ("demo", vec![Role::Client, Role::Pm], true),
    ] {
        let id = app.user(name, &roles, demo).await;
        tokens.push(As::Bearer(app.token_for(&id).await));
    }
    let mut it = tokens.into_iter();
    let mut next = || it.next().expect("token");
    People { client: next(), expert: next(), other: next(), outsider: next(), demo: next() }
}

fn field_of(res: &Res) -> String {
    res.json()["error"]["details"][0]["path"].as_str().unwrap_or_default().to_string()
}

fn ok(res: Res, status: StatusCode) -> Value {
    assert_eq!(res.status, status, "{}", res.text);
    res.json()
}

backend_tests! {
    async fn the_marketplace_flow_over_rest(t) {
        let app = TestApp::new(t).await;
        let p = people(&app).await;
        assert_eq!(app.get("/api/projects", &As::Nobody).await.status, StatusCode::UNAUTHORIZED);
        // Roles are self-service.
        let me = ok(app.json(Method::PUT, "/api/me/roles", &p.expert, &json!({"roles": ["pm", "architect"]})).await, StatusCode::OK);
        assert_eq!(me["roles"], json!(["pm", "architect"]));
        let bad = app.json(Method::PUT, "/api/me/roles", &p.expert, &json!({"roles": ["admin"]})).await;
        assert_eq!((bad.status, field_of(&bad)), (StatusCode::UNPROCESSABLE_ENTITY, "roles[0]".into()), "{}", bad.text);
        // Projects.
        let refused = app.json(Method::POST, "/api/projects", &p.expert, &json!({"name": "X"})).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.text);
        let demo = app.json(Method::POST, "/api/projects", &p.demo, &json!({"name": "X"})).await;
        assert_eq!(demo.status, StatusCode::FORBIDDEN, "{}", demo.text);
        let project = ok(app.json(Method::POST, "/api/projects", &p.client, &json!({"name": "Walkies", "code": "WALK", "brief": "# Dogs"})).await, StatusCode::CREATED);
        assert_eq!((project["status"].as_str(), project["current_stage"].as_str()), (Some("planning"), Some("analyst")));
        assert_eq!(project["dev_budget"], json!({"min": 50000, "max": 150000, "currency": "usdc"}));
        let pid = project["id"].as_str().expect("id").to_string();
        assert_eq!(ok(app.get("/api/projects/walk", &p.client).await, StatusCode::OK)["id"], json!(pid));
        assert_eq!(app.get(&format!("/api/projects/{pid}"), &p.outsider).await.status, StatusCode::NOT_FOUND);
        let patch = app.json(Method::PATCH, &format!("/api/projects/{pid}"), &p.client, &json!({"validation_threshold": 0})).await;
        assert_eq!((patch.status, field_of(&patch)), (StatusCode::UNPROCESSABLE_ENTITY, "validation_threshold".into()));
        let listed = ok(app.get("/api/projects?status=planning", &p.client).await, StatusCode::OK);
        assert_eq!(listed["total"], json!(1));
        // Brief.
        let pm = json!({"stage": "pm", "title": "PRD", "description": "Write the PRD.", "budget": {"min": 80000, "max": 150000, "currency": "usdc"}});
        let early = app.json(Method::POST, &format!("/api/projects/{pid}/opportunities"), &p.client, &pm).await;
        assert_eq!(early.status, StatusCode::CONFLICT, "{}", early.text);
        assert!(early.text.contains("brief is draft"), "{}", early.text);
        ok(app.json(Method::PUT, &format!("/api/projects/{pid}/brief"), &p.client, &json!({"markdown": "# Dogs v2"})).await, StatusCode::OK);
        let forbidden = app.json(Method::POST, &format!("/api/projects/{pid}/brief/publish"), &p.outsider, &json!({})).await;
        assert_eq!(forbidden.status, StatusCode::NOT_FOUND);
        let published = ok(app.json(Method::POST, &format!("/api/projects/{pid}/brief/publish"), &p.client, &json!({})).await, StatusCode::OK);
        assert_eq!(published["status"], json!("published"));
        assert_eq!(ok(app.get(&format!("/api/projects/{pid}/brief"), &p.client).await, StatusCode::OK)["markdown"], json!("# Dogs v2"));
        // Opportunities.
        let usd = json!({"stage": "architect", "title": "A", "description": "d", "budget": {"min": 1, "max": 2, "currency": "usd"}});
        let res = app.json(Method::POST, &format!("/api/projects/{pid}/opportunities"), &p.client, &usd).await;
        assert_eq!((res.status, field_of(&res)), (StatusCode::UNPROCESSABLE_ENTITY, "budget.currency".into()), "{}", res.text);
        let opp = ok(app.json(Method::POST, &format!("/api/projects/{pid}/opportunities"), &p.client, &pm).await, StatusCode::CREATED);
        let oid = opp["id"].as_str().expect("id").to_string();
        let dup = app.json(Method::POST, &format!("/api/projects/{pid}/opportunities"), &p.client, &pm).await;
        assert_eq!(dup.status, StatusCode::CONFLICT);
        let browse = ok(app.get("/api/opportunities?stage=pm&sort=highest&limit=10", &p.expert).await, StatusCode::OK);
        assert_eq!(browse["total"], json!(1));
        assert!(browse["items"][0]["client"].as_str().is_some_and(|c| c.starts_with("Client #")), "{browse}");
        let bad_query = app.get("/api/opportunities?deadline_within_days=0", &p.expert).await;
        assert_eq!((bad_query.status, field_of(&bad_query)), (StatusCode::UNPROCESSABLE_ENTITY, "deadline_within_days".into()));
        // Bids.
        let bid = |amount: i64, proposal: &str| json!({"amount": amount, "currency": "usdc", "proposal": proposal, "estimated_hours": 30});
        let bids_url = format!("/api/opportunities/{oid}/bids");
        let short = app.json(Method::POST, &bids_url, &p.expert, &bid(100_000, "short")).await;
        assert_eq!((short.status, field_of(&short)), (StatusCode::UNPROCESSABLE_ENTITY, "proposal".into()));
        let own = app.json(Method::POST, &bids_url, &p.client, &bid(100_000, PROPOSAL)).await;
        assert_eq!(own.status, StatusCode::FORBIDDEN, "{}", own.text);
        let role = app.json(Method::POST, &bids_url, &p.outsider, &bid(100_000, PROPOSAL)).await;
        assert_eq!(role.status, StatusCode::FORBIDDEN, "{}", role.text);
        let b1 = ok(app.json(Method::POST, &bids_url, &p.expert, &bid(100_000, PROPOSAL)).await, StatusCode::CREATED);
        assert_eq!(b1["fee_preview"]["platform_fee"], json!("50000000"));
        let again = app.json(Method::POST, &bids_url, &p.expert, &bid(90_000, PROPOSAL)).await;
        assert_eq!(again.status, StatusCode::CONFLICT);
        let b2 = ok(app.json(Method::POST, &bids_url, &p.other, &bid(95_000, PROPOSAL)).await, StatusCode::CREATED);
        assert_eq!(ok(app.get(&bids_url, &p.client).await, StatusCode::OK).as_array().map(Vec::len), Some(2));
        assert_eq!(ok(app.get(&bids_url, &p.other).await, StatusCode::OK).as_array().map(Vec::len), Some(1));
        let b1id = b1["id"].as_str().expect("id");
        let b2id = b2["id"].as_str().expect("id");
        assert_eq!(app.json(Method::POST, &format!("/api/bids/{b1id}/accept"), &p.expert, &json!({})).await.status, StatusCode::FORBIDDEN);
        assert_eq!(app.json(Method::POST, &format!("/api/bids/{b1id}/accept"), &p.outsider, &json!({})).await.status, StatusCode::NOT_FOUND);
        assert_eq!(app.json(Method::POST, &format!("/api/bids/{b1id}/accept"), &p.demo, &json!({})).await.status, StatusCode::FORBIDDEN);
        let rejected = ok(app.json(Method::POST, &format!("/api/bids/{b2id}/reject"), &p.client, &json!({})).await, StatusCode::OK);
        assert_eq!(rejected["status"], json!("rejected"));
        let accepted = ok(app.json(Method::POST, &format!("/api/bids/{b1id}/accept"), &p.client, &json!({})).await, StatusCode::OK);
        assert_eq!(accepted["status"], json!("accepted"));
        let late = app.json(Method::POST, &format!("/api/bids/{b1id}/withdraw"), &p.expert, &json!({})).await;
        assert_eq!(late.status, StatusCode::CONFLICT);
        assert!(late.text.contains("accepted"), "{}", late.text);
        let mine = ok(app.get("/api/me/bids?status=accepted", &p.expert).await, StatusCode::OK);
        assert_eq!(mine["total"], json!(1));
        assert_eq!(ok(app.get(&format!("/api/opportunities/{oid}"), &p.expert).await, StatusCode::OK)["client"], json!("client"));
        // The stage holds while the PM works.
        ok(app.json(Method::POST, &format!("/api/projects/{pid}/advance-stage"), &p.client, &json!({})).await, StatusCode::OK);
        let held = app.json(Method::POST, &format!("/api/projects/{pid}/advance-stage"), &p.client, &json!({})).await;
        assert_eq!(held.status, StatusCode::CONFLICT, "{}", held.text);
        assert_eq!(app.count("escrows").await, 1);
    }
}
