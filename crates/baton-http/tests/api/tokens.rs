//! Token creation: validation names fields, bad input changes nothing,
//! scope is limited to accessible products, other people's tokens are 404.

use axum::http::{Method, StatusCode};
use baton_testkit::backend_tests;
use serde_json::json;

use crate::harness::{As, TestApp};

backend_tests! {
    async fn malformed_json_is_400_and_writes_nothing(t) {
        let app = TestApp::new(t).await;
        let (_, token) = app.admin().await;
        let before = app.count("api_tokens").await;
        let res = app.raw(Method::POST, "/api/tokens", &As::Bearer(token.clone()), "application/json", "{\"label\": ".into()).await;
        assert_eq!(res.status, StatusCode::BAD_REQUEST);
        assert_eq!(res.error_code(), "malformed_request");
        let res = app.raw(Method::POST, "/api/tokens", &As::Bearer(token), "text/plain", "{}".into()).await;
        assert_eq!(res.status, StatusCode::BAD_REQUEST);
        assert_eq!(app.count("api_tokens").await, before);
    }

    async fn a_missing_or_wrong_field_is_422_naming_it(t) {
        let app = TestApp::new(t).await;
        let (_, token) = app.admin().await;
        let before = app.count("api_tokens").await;
        let res = app.json(Method::POST, "/api/tokens", &As::Bearer(token.clone()), &json!({})).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", res.text);
        assert_eq!(res.error_code(), "validation_error");
        assert_eq!(res.json()["error"]["details"][0]["path"], "label");
        let res = app.json(Method::POST, "/api/tokens", &As::Bearer(token.clone()), &json!({"label": "x", "expires_in_days": "soon"})).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(res.json()["error"]["details"][0]["path"], "expires_in_days");
        let res = app.json(Method::POST, "/api/tokens", &As::Bearer(token.clone()), &json!({"label": "  ", "expires_in_days": 0})).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
        let paths: Vec<_> = res.json()["error"]["details"].as_array().expect("details").iter().map(|d| d["path"].as_str().unwrap_or_default().to_string()).collect();
        assert_eq!(paths, ["label", "expires_in_days"]);
        let res = app.json(Method::POST, "/api/tokens", &As::Bearer(token), &json!({"label": "x", "colour": "red"})).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(res.text.contains("colour"), "{}", res.text);
        assert_eq!(app.count("api_tokens").await, before);
    }

    async fn scope_must_name_products_the_user_can_access(t) {
        let app = TestApp::new(t).await;
        let (_, token) = app.admin().await;
        let before = app.count("api_tokens").await;
        let res = app.json(Method::POST, "/api/tokens", &As::Bearer(token), &json!({"label": "x", "product_ids": ["nope"]})).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(res.json()["error"]["details"][0]["path"], "product_ids.0");
        assert_eq!(app.count("api_tokens").await, before);
        assert_eq!(app.count("api_token_products").await, 0);
    }

    async fn other_peoples_tokens_are_not_found(t) {
        let app = TestApp::new(t).await;
        let (_, admin_token) = app.admin().await;
        let uid = app.user("frank", &[], false).await;
        let frank = app.token_for(&uid).await;
        let listed = app.get("/api/tokens", &As::Bearer(frank.clone())).await.json();
        let frank_token_id = listed[0]["id"].as_str().expect("id").to_string();
        let res = app.json(Method::DELETE, &format!("/api/tokens/{frank_token_id}"), &As::Bearer(admin_token), &json!({})).await;
        assert_eq!(res.status, StatusCode::NOT_FOUND);
        assert_eq!(app.get("/api/me", &As::Bearer(frank)).await.status, StatusCode::OK);
    }
}
