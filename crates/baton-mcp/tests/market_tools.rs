//! The marketplace tools through `BatonMcp::call` on both backends: a
//! client and an expert choose their roles, the client creates a project,
//! writes and publishes the brief and posts the PM opportunity, the expert
//! browses and bids, the client accepts; errors name fields and demo
//! accounts are refused.

mod common;

use std::sync::Arc;

use baton_app::{App, AppConfig};
use baton_mcp::{BatonMcp, Profile};
use baton_testkit::backend_tests;
use common::{actor, err, ok};
use serde_json::json;

const PROPOSAL: &str =
    "I have written many PRDs in BMAD format for two-sided marketplaces and can start tomorrow with an interview.";

backend_tests! {
    async fn a_project_from_brief_to_accepted_bid_over_mcp(t) {
        let app = Arc::new(App::local(t.db.clone(), AppConfig::default()));
        let client = actor(&app, "client", false).await;
        let expert = actor(&app, "expert", false).await;
        let demo = actor(&app, "demo", true).await;
        let mcp = BatonMcp::http(app.clone(), Profile::All);
        ok(&mcp, &client, "set_my_roles", json!({"roles": ["client"]})).await;
        let roles = ok(&mcp, &expert, "set_my_roles", json!({"roles": ["pm", "developer"]})).await;
        assert_eq!(roles["roles"], json!(["developer", "pm"]));
        assert!(err(&mcp, &demo, "set_my_roles", json!({"roles": ["client"]})).await.contains("PERMISSION_DENIED"));
        let p = ok(&mcp, &client, "create_project", json!({"name": "Walkies", "code": "WALK"})).await;
        let pid = p["id"].as_str().expect("id").to_string();
        ok(&mcp, &client, "create_brief", json!({"project_id": "WALK", "markdown": "# Dogs"})).await;
        ok(&mcp, &client, "update_brief", json!({"project_id": "WALK", "markdown": "# Dogs v2"})).await;
        let e = err(&mcp, &client, "post_opportunity", json!({"project_id": pid, "stage": "pm", "title": "PRD", "description": "d", "budget": {"min": 100, "max": 200, "currency": "usdc"}})).await;
        assert!(e.contains("brief is draft"), "{e}");
        let b = ok(&mcp, &client, "publish_brief", json!({"project_id": pid})).await;
        assert_eq!(b["status"], json!("published"));
        assert_eq!(ok(&mcp, &client, "get_project_brief", json!({"project_id": pid})).await["markdown"], json!("# Dogs v2"));
        let e = err(&mcp, &client, "post_opportunity", json!({"project_id": pid, "stage": "pm", "title": "PRD", "description": "d", "budget": {"min": 300, "max": 200, "currency": "usdc"}})).await;
        assert!(e.contains("budget.max"), "{e}");
        let o = ok(&mcp, &client, "post_opportunity", json!({"project_id": pid, "stage": "pm", "title": "PRD", "description": "d", "budget": {"min": 100000, "max": 150000, "currency": "usdc"}})).await;
        let oid = o["id"].as_str().expect("id").to_string();
        let listed = ok(&mcp, &expert, "list_opportunities", json!({"stage": "pm", "sort": "newest"})).await;
        assert_eq!(listed["total"], json!(1));
        assert!(listed["items"][0]["client"].as_str().is_some_and(|c| c.starts_with("Client #")));
        let e = err(&mcp, &expert, "submit_bid", json!({"opportunity_id": oid, "amount": 100000, "currency": "usdc", "proposal": "short"})).await;
        assert!(e.contains("proposal"), "{e}");
        let bid = ok(&mcp, &expert, "submit_bid", json!({"opportunity_id": oid, "amount": 100000, "currency": "usdc", "proposal": PROPOSAL, "estimated_hours": 20})).await;
        assert_eq!(bid["fee_preview"]["expert_receives"], json!("950000000"));
        let bid_id = bid["id"].as_str().expect("id").to_string();
        assert_eq!(ok(&mcp, &expert, "get_my_bids", json!({})).await["total"], json!(1));
        assert_eq!(ok(&mcp, &client, "list_opportunity_bids", json!({"opportunity_id": oid})).await["items"].as_array().map(Vec::len), Some(1));
        assert!(err(&mcp, &expert, "accept_bid", json!({"bid_id": bid_id})).await.contains("PERMISSION_DENIED"));
        let accepted = ok(&mcp, &client, "accept_bid", json!({"bid_id": bid_id})).await;
        assert_eq!(accepted["status"], json!("accepted"));
        let status = ok(&mcp, &expert, "get_project_status", json!({"project_id": pid})).await;
        assert_eq!(status["opportunities"][0]["status"], json!("closed"));
        assert_eq!(status["project"]["current_stage"], json!("analyst"));
        let moved = ok(&mcp, &client, "advance_project_stage", json!({"project_id": pid})).await;
        assert_eq!(moved["current_stage"], json!("pm"));
        let e = err(&mcp, &client, "update_project", json!({"project_id": pid, "status": "completed"})).await;
        assert!(e.contains("status"), "{e}");
        assert_eq!(ok(&mcp, &expert, "list_projects", json!({})).await["total"], json!(1));
        assert_eq!(ok(&mcp, &expert, "get_opportunity", json!({"opportunity_id": oid})).await["client"], json!("client"));
        let w = err(&mcp, &expert, "withdraw_bid", json!({"bid_id": bid_id})).await;
        assert!(w.contains("accepted"), "{w}");
        let r = err(&mcp, &client, "reject_bid", json!({"bid_id": bid_id})).await;
        assert!(r.contains("accepted"), "{r}");
    }
}
