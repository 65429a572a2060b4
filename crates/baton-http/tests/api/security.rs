//! Security headers, CSRF, body limits, request ids, error shape.

use axum::http::{Method, StatusCode};
use baton_testkit::backend_tests;
use serde_json::json;

use crate::harness::{As, TestApp};

backend_tests! {
    async fn every_response_carries_the_security_headers(t) {
        let app = TestApp::new(t).await;
        let css = baton_http::pages::assets::url("css/app.css");
        for path in ["/login", "/api/health", "/api/nope", css.as_str()] {
            let res = app.get(path, &As::Nobody).await;
            let csp = res.header("content-security-policy").unwrap_or_else(|| panic!("CSP on {path}"));
            assert!(csp.contains("frame-ancestors 'none'") && csp.contains("script-src 'self'"), "{csp}");
            assert!(!csp.contains("unsafe-inline"));
            assert_eq!(res.header("x-content-type-options"), Some("nosniff"));
            assert!(res.header("x-request-id").is_some_and(|id| id.len() >= 32), "request id on {path}");
        }
    }

    async fn cookie_writes_from_another_site_are_refused(t) {
        let app = TestApp::new(t).await;
        app.user("olga", &[], false).await;
        let cookie = app.login("olga", "olga-password").await;
        let before = app.count("api_tokens").await;
        for origin in [None, Some("https://evil.example")] {
            let mut b = axum::http::Request::post("/api/tokens")
                .header("host", "127.0.0.1:8080")
                .header("content-type", "application/json")
                .header("cookie", format!("baton_session={cookie}"));
            if let Some(o) = origin {
                b = b.header("origin", o);
            }
            let res = app.send(b.body(axum::body::Body::from(r#"{"label":"x"}"#)).expect("request")).await;
            assert_eq!(res.status, StatusCode::FORBIDDEN, "origin {origin:?}");
            assert_eq!(res.error_code(), "csrf_failed");
        }
        let res = app.json(Method::POST, "/api/tokens", &As::Cookie(cookie), &json!({"label": "same-origin"})).await;
        assert_eq!(res.status, StatusCode::CREATED, "{}", res.text);
        assert_eq!(app.count("api_tokens").await, before + 1);
        // A login form posted from another site is refused too (login CSRF).
        let res = app.send(axum::http::Request::post("/login")
            .header("content-type", "application/x-www-form-urlencoded")
            .header("origin", "https://evil.example")
            .body(axum::body::Body::from("username=olga&password=olga-password")).expect("request")).await;
        assert_eq!(res.status, StatusCode::FORBIDDEN);
    }

    async fn oversized_bodies_are_refused(t) {
        let app = TestApp::new(t).await;
        let (_, token) = app.admin().await;
        let big = format!("{{\"label\":\"{}\"}}", "x".repeat(2 * 1024 * 1024));
        let res = app.raw(Method::POST, "/api/tokens", &As::Bearer(token), "application/json", big).await;
        assert_eq!(res.status, StatusCode::PAYLOAD_TOO_LARGE);
    }

    async fn health_reports_version_time_and_database(t) {
        let app = TestApp::new(t).await;
        let res = app.get("/api/health", &As::Nobody).await;
        assert_eq!(res.status, StatusCode::OK);
        let h = res.json();
        assert_eq!(h["status"], "ok");
        assert_eq!(h["version"], env!("CARGO_PKG_VERSION"));
        assert!(h["time"].as_str().is_some_and(|t| chrono::DateTime::parse_from_rfc3339(t).is_ok()));
        assert!(h.get("database").is_none());
        let res = app.get("/api/health?db=1", &As::Nobody).await;
        assert_eq!(res.json()["database"], "ok");
        // Database gone: 503 and "down".
        app.t.db.clone().close().await.expect("close pool");
        let res = app.get("/api/health?db=1", &As::Nobody).await;
        assert_eq!(res.status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(res.json()["database"], "down");
    }

    async fn unknown_api_routes_are_json_404(t) {
        let app = TestApp::new(t).await;
        let res = app.get("/api/does/not/exist", &As::Nobody).await;
        assert_eq!(res.status, StatusCode::NOT_FOUND);
        assert_eq!(res.error_code(), "route_not_found");
    }
}
