//! The marketplace story tools through `BatonMcp::call` on SQLite and
//! Postgres: a story created, validated, started, its PR submitted, a QA
//! review sending it to rework, the PR resubmitted, a pass completing it;
//! argument errors naming the field, 409 conflicts naming the state, the
//! other parties and the demo account refused, outsiders told "not found".

mod common;

use std::sync::Arc;

use baton_app::{Actor, App, AppConfig, accounts::NewUser, products::NewProduct, tokens::NewToken};
use baton_domain::roles::Role;
use baton_mcp::{BatonMcp, Profile};
use baton_store::{
    entities::story,
    sea_orm::{ActiveModelTrait, ActiveValue::Set, EntityTrait},
};
use baton_testkit::{backend_tests, market};
use serde_json::json;

async fn person(app: &App, name: &str, roles: Vec<Role>, is_demo: bool) -> Actor {
    let user =
        NewUser { username: name.into(), password: format!("{name}-password"), roles, is_demo, ..Default::default() };
    let id = app.create_user(&Actor::cli(), user).await.expect("user").id;
    let token = app
        .create_token(&Actor::cli(), &id, NewToken { label: "agent".into(), ..Default::default() })
        .await
        .expect("token")
        .token;
    app.token_actor(&token).await.expect("actor")
}

backend_tests! {
    async fn a_story_goes_from_draft_to_done_over_mcp(t) {
        let app = Arc::new(App::local(t.db.clone(), AppConfig::default()));
        let client = person(&app, "client", vec![Role::Client], false).await;
        let dev = person(&app, "developer", vec![Role::Developer], false).await;
        let qa = person(&app, "reviewer", vec![Role::Qa], false).await;
        let outsider = person(&app, "outsider", vec![Role::Qa], false).await;
        let demo = person(&app, "demo", vec![Role::Qa], true).await;
        let input = NewProduct { name: "Shop".into(), definition_of_done: "done".into(), ..Default::default() };
        let pid = app.create_product(&client, input).await.expect("product").id;
        market::set_project_status(&t.db, &pid, "PLANNING").await;
        let mcp = BatonMcp::http(app.clone(), Profile::All);

        let r = common::ok(&mcp, &client, "upsert_market_story", json!({"project_id": pid, "epic": 1, "number": "1", "title": "Cart"})).await;
        assert_eq!((r["outcome"].as_str(), r["story"]["number"].as_str()), (Some("created"), Some("1.1")));
        let sid = r["story"]["id"].as_str().expect("id").to_string();
        let again = common::ok(&mcp, &client, "upsert_market_story", json!({"project_id": pid, "epic": 1, "number": "1.1", "title": "Cart"})).await;
        assert_eq!(again["outcome"], "unchanged");
        let text = common::err(&mcp, &client, "upsert_market_story", json!({"project_id": pid, "epic": 1, "number": "1", "titel": "x"})).await;
        assert!(text.starts_with("VALIDATION_ERROR: titel"), "{text}");

        let r = common::ok(&mcp, &client, "record_story_validation", json!({"story_id": sid, "score": 8, "decision": "go"})).await;
        assert_eq!(r["story"]["workflow_status"], "approved");
        let mut s: story::ActiveModel = story::Entity::find_by_id(sid.clone()).one(&t.db).await.expect("read").expect("s").into();
        s.assigned_dev_id = Set(Some(dev.user_id.clone()));
        s.assigned_qa_id = Set(Some(qa.user_id.clone()));
        s.update(&t.db).await.expect("assign");
        market::accepted_bid(&t.db, &pid, &dev.user_id, "DEVELOPER", None).await;
        market::accepted_bid(&t.db, &pid, &qa.user_id, "QA", None).await;

        let text = common::err(&mcp, &dev, "submit_story_pr", json!({"story_id": sid, "pr_url": "https://github.com/a/b/pull/1"})).await;
        assert!(text.contains("from approved to ready_for_review"), "{text}");
        common::ok(&mcp, &dev, "transition_story", json!({"story_id": sid, "to": "in_progress"})).await;
        let text = common::err(&mcp, &dev, "submit_story_pr", json!({"story_id": sid, "pr_url": "ftp://x"})).await;
        assert!(text.starts_with("VALIDATION_ERROR: pr_url"), "{text}");
        let r = common::ok(&mcp, &dev, "submit_story_pr", json!({"story_id": sid, "pr_url": "https://github.com/a/b/pull/1"})).await;
        assert_eq!(r["story"]["workflow_status"], "ready_for_review");
        assert!(r["opened_opportunity_id"].is_string());

        let review = json!({"story_id": sid, "gate": "fail", "notes": "Totals are wrong", "top_issues": ["rounding"]});
        let text = common::err(&mcp, &dev, "submit_qa_review", review.clone()).await;
        assert!(text.starts_with("PERMISSION_DENIED: "), "{text}");
        let text = common::err(&mcp, &outsider, "submit_qa_review", review.clone()).await;
        assert!(text.contains("not found"), "{text}");
        let text = common::err(&mcp, &demo, "submit_qa_review", review.clone()).await;
        assert_eq!(text, "PERMISSION_DENIED: Demo accounts cannot perform write operations");
        let r = common::ok(&mcp, &qa, "submit_qa_review", review).await;
        assert_eq!((r["story"]["workflow_status"].as_str(), r["story"]["qa_review_count"].as_i64()), (Some("in_progress"), Some(1)));
        let r = common::ok(&mcp, &dev, "submit_story_pr", json!({"story_id": sid, "pr_url": "https://github.com/a/b/pull/1"})).await;
        assert!(r["opened_opportunity_id"].is_null(), "no second QA opportunity");
        let r = common::ok(&mcp, &qa, "submit_qa_review", json!({"story_id": sid, "gate": "pass", "notes": "Fixed"})).await;
        assert_eq!(r["story"]["workflow_status"], "done");
        let r = common::ok(&mcp, &qa, "approve_story", json!({"story_id": sid})).await;
        assert_eq!(r["changed"], false);

        let list = common::ok(&mcp, &qa, "list_project_stories", json!({"project_id": pid, "workflow_status": "done"})).await;
        assert_eq!(list["stories"][0]["qa_gate"], "pass");
        let detail = common::ok(&mcp, &client, "get_story_workflow", json!({"story_id": sid})).await;
        let audit = detail["audit"].as_array().expect("audit");
        assert!(audit.iter().any(|a| a["action"] == "ESCROW_RELEASED"), "{audit:?}");
        let text = common::err(&mcp, &outsider, "get_story_workflow", json!({"story_id": sid})).await;
        assert!(text.contains("not found"), "{text}");
    }
}
