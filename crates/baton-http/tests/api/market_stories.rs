//! Marketplace story routes: create-or-update by number (201 / 200), the
//! project list, the workflow moves with their status codes and error
//! shapes (422 naming the field, 409 naming the state, 403, 404), and the
//! audit trail.

use axum::http::{Method, StatusCode};
use baton_domain::roles::Role;
use baton_store::{
    entities::story,
    sea_orm::{ActiveModelTrait, ActiveValue::Set, EntityTrait},
};
use baton_testkit::{backend_tests, market};
use serde_json::json;

use crate::harness::{As, TestApp};

struct People {
    client: As,
    dev: As,
    qa: As,
    outsider: As,
    demo: As,
}

async fn person(app: &TestApp, name: &str, roles: &[Role], demo: bool) -> (String, As) {
    let id = app.user(name, roles, demo).await;
    let token = app.token_for(&id).await;
    (id, As::Bearer(token))
}

/// A project (product with a project status) and its people; returns the
/// project id, the people and the developer's and QA's user ids.
async fn project(app: &TestApp) -> (String, People, String, String) {
    let (client_id, client) = person(app, "client", &[Role::Client], false).await;
    let (dev_id, dev) = person(app, "developer", &[Role::Developer], false).await;
    let (qa_id, qa) = person(app, "reviewer", &[Role::Qa], false).await;
    let (_, outsider) = person(app, "outsider", &[Role::Developer], false).await;
    let (_, demo) = person(app, "demo", &[Role::Client], true).await;
    let id = app.product_row(&client_id, "Shop").await;
    market::set_project_status(&app.t.db, &id, "IN_DEVELOPMENT").await;
    (id, People { client, dev, qa, outsider, demo }, dev_id, qa_id)
}

async fn assign(app: &TestApp, story_id: &str, dev: &str, qa: &str) {
    let mut s: story::ActiveModel =
        story::Entity::find_by_id(story_id.to_string()).one(&app.t.db).await.expect("read").expect("story").into();
    s.assigned_dev_id = Set(Some(dev.into()));
    s.assigned_qa_id = Set(Some(qa.into()));
    let s = s.update(&app.t.db).await.expect("assign");
    // What accepting their bids gives them besides the assignment: an
    // accepted bid on the project, which is what lets them see it.
    market::accepted_bid(&app.t.db, &s.product_id, dev, "DEVELOPER", None).await;
    market::accepted_bid(&app.t.db, &s.product_id, qa, "QA", None).await;
}

backend_tests! {
    async fn the_story_workflow_over_rest(t) {
        let app = TestApp::new(t).await;
        let (pid, who, dev_id, qa_id) = project(&app).await;
        let body = json!({ "epic": 2, "number": "1", "title": "Checkout", "acceptance_criteria": "1. Pay" });
        let res = app.json(Method::POST, &format!("/api/projects/{pid}/stories"), &who.client, &body).await;
        assert_eq!(res.status, StatusCode::CREATED, "{}", res.text);
        let created = res.json();
        assert_eq!(created["outcome"], "created");
        assert_eq!(created["story"]["number"], "2.1");
        assert_eq!(created["story"]["workflow_status"], "draft");
        assert_eq!(created["story"]["qa_gate"], serde_json::Value::Null);
        let sid = created["story"]["id"].as_str().expect("id").to_string();
        let res = app.json(Method::POST, &format!("/api/projects/{pid}/stories"), &who.client, &body).await;
        assert_eq!((res.status, res.json()["outcome"].clone()), (StatusCode::OK, json!("unchanged")));

        let bad = json!({ "epic": 2, "number": "3.1", "title": "X" });
        let res = app.json(Method::POST, &format!("/api/projects/{pid}/stories"), &who.client, &bad).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(res.json()["error"]["details"][0]["path"], "number");
        let res = app.json(Method::POST, &format!("/api/projects/{pid}/stories"), &who.demo, &body).await;
        assert_eq!(res.status, StatusCode::FORBIDDEN);
        let res = app.json(Method::POST, &format!("/api/projects/{pid}/stories"), &who.outsider, &body).await;
        assert_eq!(res.status, StatusCode::NOT_FOUND);
        let stories_before = app.count("stories").await;

        let url = |what: &str| format!("/api/stories/{sid}/{what}");
        let res = app.json(Method::POST, &url("validation"), &who.client, &json!({ "score": 12, "decision": "go" })).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(res.json()["error"]["details"][0]["path"], "score");
        let res = app.json(Method::POST, &url("validation"), &who.client, &json!({ "score": 9, "decision": "go" })).await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.text);
        assert_eq!(res.json()["story"]["workflow_status"], "approved");
        assert!(res.json()["opened_opportunity_id"].is_string());
        assign(&app, &sid, &dev_id, &qa_id).await;

        let res = app.json(Method::POST, &url("submit-pr"), &who.dev, &json!({ "pr_url": "https://github.com/a/b/pull/1" })).await;
        assert_eq!(res.status, StatusCode::CONFLICT);
        assert!(res.json()["error"]["message"].as_str().is_some_and(|m| m.contains("from approved")), "{}", res.text);
        let res = app.json(Method::POST, &url("transition"), &who.qa, &json!({ "to": "in_progress" })).await;
        assert_eq!(res.status, StatusCode::FORBIDDEN);
        let res = app.json(Method::POST, &url("transition"), &who.dev, &json!({ "to": "in_progress" })).await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.text);
        let res = app.json(Method::POST, &url("submit-pr"), &who.dev, &json!({ "pr_url": "not a url" })).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(res.json()["error"]["details"][0]["path"], "pr_url");
        let res = app.json(Method::POST, &url("submit-pr"), &who.dev, &json!({ "pr_url": "https://github.com/a/b/pull/7" })).await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.text);
        assert_eq!(res.json()["story"]["dev_pr_number"], 7);

        let review = json!({ "gate": "concerns", "notes": "Missing edge case", "top_issues": ["empty cart"] });
        let res = app.json(Method::POST, &url("qa-review"), &who.dev, &review).await;
        assert_eq!(res.status, StatusCode::FORBIDDEN);
        let res = app.json(Method::POST, &url("qa-review"), &who.qa, &review).await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.text);
        assert_eq!((res.json()["story"]["workflow_status"].clone(), res.json()["story"]["qa_gate"].clone()), (json!("in_progress"), json!("concerns")));
        app.json(Method::POST, &url("submit-pr"), &who.dev, &json!({ "pr_url": "https://github.com/a/b/pull/7" })).await;
        let res = app.json(Method::POST, &url("approve"), &who.qa, &json!({})).await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.text);
        let done = res.json();
        assert_eq!((done["story"]["workflow_status"].clone(), done["changed"].clone(), done["project_completed"].clone()), (json!("done"), json!(true), json!(true)));
        let res = app.json(Method::POST, &url("approve"), &who.qa, &json!({})).await;
        assert_eq!((res.status, res.json()["changed"].clone()), (StatusCode::OK, json!(false)));
        assert_eq!(app.count("stories").await, stories_before);

        let res = app.get(&format!("/api/projects/{pid}/stories?workflow_status=done"), &who.qa).await;
        assert_eq!(res.status, StatusCode::OK);
        let list = res.json();
        assert_eq!(list.as_array().map(Vec::len), Some(1));
        assert_eq!((list[0]["number"].clone(), list[0]["qa_review_count"].clone(), list[0]["qa_gate"].clone()), (json!("2.1"), json!(2), json!("pass")));
        assert_eq!(list[0]["assigned_dev"]["username"], "developer");
        let res = app.get(&format!("/api/projects/{pid}/stories?workflow_status=nope"), &who.client).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(res.json()["error"]["details"][0]["path"], "workflow_status");
        assert_eq!(app.get(&format!("/api/projects/{pid}/stories"), &who.outsider).await.status, StatusCode::NOT_FOUND);

        let res = app.get(&url("audit"), &who.client).await;
        assert_eq!(res.status, StatusCode::OK);
        let actions: Vec<String> = res.json().as_array().expect("audit").iter().map(|a| a["action"].as_str().unwrap_or_default().to_string()).collect();
        assert!(["VALIDATED", "PR_LINKED", "GATE_UPDATED", "MERGED", "ESCROW_RELEASED"].iter().all(|a| actions.iter().any(|x| x == a)), "{actions:?}");
        let res = app.get(&url("workflow"), &who.dev).await;
        assert_eq!(res.status, StatusCode::OK);
        assert_eq!(res.json()["audit"].as_array().map(Vec::len), Some(actions.len()));
        assert_eq!(app.get(&url("workflow"), &who.outsider).await.status, StatusCode::NOT_FOUND);
    }
}
