//! Worker presence over REST (`POST /api/workers`, `DELETE
//! /api/workers/{instance_id}`): what `baton mcp` forwarding to a remote
//! server uses to register before serving and to go offline at exit. A
//! worker belongs to (user, token, instance): another token cannot take it
//! offline, sessions and demo accounts cannot register, bad input names the
//! field, and a refused request changes nothing.

use axum::http::{Method, StatusCode};
use baton_domain::roles::Role;
use baton_testkit::backend_tests;
use serde_json::json;

use crate::harness::{As, TestApp};

fn bearer(t: &str) -> As {
    As::Bearer(t.to_string())
}

backend_tests! {
    async fn a_worker_registers_with_its_identity_refreshes_and_goes_offline(t) {
        let app = TestApp::new(t).await;
        let uid = app.user("wk-owner", &[Role::Developer], false).await;
        let token = bearer(&app.token_for(&uid).await);
        let info = json!({"instance_id": "laptop-1", "runtime": "codex", "tier": "high_p",
            "capabilities": ["deploy", "gpu"], "hostname": "laptop", "pid": 4242});
        let res = app.json(Method::POST, "/api/workers", &token, &info).await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.text);
        let w = res.json();
        assert_eq!((w["instance_id"].as_str(), w["runtime"].as_str(), w["tier"].as_str()),
            (Some("laptop-1"), Some("codex"), Some("high_p")));
        assert_eq!(w["capabilities"], json!(["deploy", "gpu"]));
        assert_eq!((w["hostname"].as_str(), w["pid"].as_i64(), w["active"].as_bool()),
            (Some("laptop"), Some(4242), Some(true)));

        // Registering again updates the same row.
        let again = json!({"instance_id": "laptop-1", "runtime": "codex", "tier": "low_p", "hostname": "laptop", "pid": 4243});
        let res = app.json(Method::POST, "/api/workers", &token, &again).await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.text);
        assert_eq!(app.count("workers").await, 1);
        let listed = app.get("/api/workers", &token).await.json();
        assert_eq!(listed.as_array().map(Vec::len), Some(1));
        assert_eq!((listed[0]["tier"].as_str(), listed[0]["pid"].as_i64()), (Some("low_p"), Some(4243)));

        let res = app.json(Method::DELETE, "/api/workers/laptop-1", &token, &json!(null)).await;
        assert_eq!(res.status, StatusCode::NO_CONTENT, "{}", res.text);
        assert_eq!(app.count("workers").await, 0);
        let listed = app.get("/api/workers", &token).await.json();
        assert_eq!(listed.as_array().map(Vec::len), Some(0));
        let res = app.json(Method::DELETE, "/api/workers/laptop-1", &token, &json!(null)).await;
        assert_eq!(res.status, StatusCode::NOT_FOUND, "offline twice: {}", res.text);
    }

    async fn presence_is_per_token_and_refused_requests_change_nothing(t) {
        let app = TestApp::new(t).await;
        let uid = app.user("wk-two", &[Role::Developer], false).await;
        let first = bearer(&app.token_for(&uid).await);
        let second = bearer(&app.token_for(&uid).await);
        let res = app.json(Method::POST, "/api/workers", &first, &json!({"instance_id": "box"})).await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.text);
        assert_eq!((res.json()["runtime"].as_str(), res.json()["tier"].as_str()), (Some("claude"), Some("medium_p")));

        // Another token of the same user has no worker "box".
        let res = app.json(Method::DELETE, "/api/workers/box", &second, &json!(null)).await;
        assert_eq!(res.status, StatusCode::NOT_FOUND, "{}", res.text);
        assert_eq!(app.count("workers").await, 1);

        let bad = [
            (json!({"instance_id": ""}), "instance_id"),
            (json!({"instance_id": "x", "runtime": "gpt"}), "runtime"),
            (json!({"instance_id": "x", "capabilities": [""]}), "capabilities.0"),
            (json!({"instance_id": "x", "colour": "red"}), "colour"),
            (json!({"runtime": "claude"}), "instance_id"),
        ];
        for (body, field) in bad {
            let res = app.json(Method::POST, "/api/workers", &second, &body).await;
            assert!(res.status.is_client_error(), "{body}: {} {}", res.status, res.text);
            assert!(res.text.contains(field), "{body} should name {field}: {}", res.text);
        }
        let res = app.raw(Method::POST, "/api/workers", &second, "application/json", "{not json".into()).await;
        assert_eq!(res.status, StatusCode::BAD_REQUEST, "{}", res.text);
        assert_eq!(app.count("workers").await, 1);

        let res = app.json(Method::POST, "/api/workers", &As::Nobody, &json!({"instance_id": "x"})).await;
        assert_eq!(res.status, StatusCode::UNAUTHORIZED);
        let res = app.json(Method::DELETE, "/api/workers/box", &As::Nobody, &json!(null)).await;
        assert_eq!(res.status, StatusCode::UNAUTHORIZED);

        // A demo account reads only; a browser session has no token to be a worker of.
        let demo = app.user("wk-demo", &[Role::Developer], true).await;
        let demo = bearer(&app.token_for(&demo).await);
        let res = app.json(Method::POST, "/api/workers", &demo, &json!({"instance_id": "d"})).await;
        assert_eq!(res.status, StatusCode::FORBIDDEN, "{}", res.text);
        let cookie = As::Cookie(app.login("wk-two", "wk-two-password").await);
        let res = app.json(Method::POST, "/api/workers", &cookie, &json!({"instance_id": "s"})).await;
        assert_eq!(res.status, StatusCode::FORBIDDEN, "{}", res.text);
        let res = app.json(Method::DELETE, "/api/workers/box", &cookie, &json!(null)).await;
        assert_eq!(res.status, StatusCode::FORBIDDEN, "{}", res.text);
        assert_eq!(app.count("workers").await, 1, "refused requests change nothing");
        let listed = app.get("/api/workers", &first).await.json();
        assert_eq!(listed[0]["instance_id"], "box");
    }
}
