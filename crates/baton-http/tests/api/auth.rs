//! Authentication: Bearer tokens, sessions shared by instances, `/api/me`,
//! revoked and expired tokens, disabled users.

use axum::http::{Method, StatusCode};
use baton_testkit::backend_tests;
use serde_json::json;

use crate::harness::{As, TestApp};

backend_tests! {
    async fn me_returns_the_token_owner_with_roles_and_demo_flag(t) {
        let app = TestApp::new(t).await;
        let (id, token) = app.admin().await;
        let res = app.get("/api/me", &As::Bearer(token)).await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.text);
        let me = res.json();
        assert_eq!(me["id"], id);
        assert_eq!(me["username"], "admin");
        assert_eq!(me["roles"], json!(["admin"]));
        assert_eq!(me["is_admin"], true);
        assert_eq!(me["is_demo"], false);
        assert!(me.get("password_hash").is_none());
    }

    async fn missing_and_unknown_credentials_are_401(t) {
        let app = TestApp::new(t).await;
        let res = app.get("/api/me", &As::Nobody).await;
        assert_eq!(res.status, StatusCode::UNAUTHORIZED);
        assert_eq!(res.error_code(), "unauthorized");
        let res = app.get("/api/me", &As::Bearer("baton_not-a-token".into())).await;
        assert_eq!(res.status, StatusCode::UNAUTHORIZED);
        assert!(res.json()["error"]["message"].as_str().unwrap_or_default().contains("invalid"));
        let res = app.get("/api/me", &As::Cookie("forged".into())).await;
        assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    }

    async fn revoked_and_expired_tokens_are_refused(t) {
        let app = TestApp::new(t).await;
        let (_, token) = app.admin().await;
        let created = app.json(Method::POST, "/api/tokens", &As::Bearer(token.clone()), &json!({"label": "short-lived", "expires_in_days": 1})).await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
        let second = created.json()["token"].as_str().expect("secret").to_string();
        let second_id = created.json()["id"].as_str().expect("id").to_string();
        assert_eq!(app.get("/api/me", &As::Bearer(second.clone())).await.status, StatusCode::OK);

        // Expire it in the database, as time passing would.
        use sea_orm::{ConnectionTrait, Statement};
        let past = chrono::Utc::now() - chrono::Duration::hours(1);
        app.t.db.execute_raw(Statement::from_sql_and_values(
            app.t.db.get_database_backend(),
            "UPDATE api_tokens SET expires_at = $1 WHERE id = $2",
            [past.into(), second_id.clone().into()],
        )).await.expect("expire token");
        let res = app.get("/api/me", &As::Bearer(second)).await;
        assert_eq!(res.status, StatusCode::UNAUTHORIZED);
        assert!(res.text.contains("expired"), "{}", res.text);

        let listed = app.get("/api/tokens", &As::Bearer(token.clone())).await.json();
        let first_id = listed.as_array().expect("list").iter().find(|t| t["id"] != second_id.as_str()).expect("first")["id"].as_str().expect("id").to_string();
        let res = app.json(Method::DELETE, &format!("/api/tokens/{first_id}"), &As::Bearer(token.clone()), &json!({})).await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.text);
        assert!(res.json()["revoked_at"].is_string());
        let res = app.get("/api/me", &As::Bearer(token)).await;
        assert_eq!(res.status, StatusCode::UNAUTHORIZED);
        assert!(res.text.contains("revoked"), "{}", res.text);
    }

    async fn a_session_from_one_instance_works_on_another(t) {
        let a = TestApp::new(t).await;
        a.user("carol", &[baton_domain::roles::Role::Developer], false).await;
        let cookie = a.login("carol", "carol-password").await;
        // A second instance: its own pool and router on the same database.
        let other_db = a.t.second_pool().await;
        let state_b = baton_http::AppState::new(baton_app::App::local(other_db, Default::default()), baton_http::HttpConfig::default());
        let router_b = baton_http::router(state_b);
        use tower::ServiceExt;
        let req = axum::http::Request::get("/api/me")
            .header("cookie", format!("baton_session={cookie}"))
            .body(axum::body::Body::empty())
            .expect("request");
        let res = router_b.oneshot(req).await.expect("response");
        assert_eq!(res.status(), StatusCode::OK);
        let body = axum::body::to_bytes(res.into_body(), usize::MAX).await.expect("body");
        let me: serde_json::Value = serde_json::from_slice(&body).expect("json");
        assert_eq!(me["username"], "carol");
    }

    async fn logout_ends_the_session_and_sessions_are_stored_hashed(t) {
        let app = TestApp::new(t).await;
        app.user("dave", &[], false).await;
        let cookie = app.login("dave", "dave-password").await;
        use sea_orm::{ConnectionTrait, Statement};
        let rows = app.t.db.query_all_raw(Statement::from_string(app.t.db.get_database_backend(), "SELECT id_hash FROM sessions")).await.expect("sessions");
        let stored: Vec<String> = rows.iter().map(|r| r.try_get::<String>("", "id_hash").expect("hash")).collect();
        assert_eq!(stored.len(), 1);
        assert_ne!(stored[0], cookie, "the cookie value must not be stored");
        let res = app.form("/logout", &As::Cookie(cookie.clone()), &[]).await;
        assert_eq!(res.status, StatusCode::SEE_OTHER);
        assert_eq!(app.get("/api/me", &As::Cookie(cookie)).await.status, StatusCode::UNAUTHORIZED);
        assert_eq!(app.count("sessions").await, 0);
    }

    async fn disabling_a_user_ends_sessions_and_tokens(t) {
        let app = TestApp::new(t).await;
        let (_, admin) = app.admin().await;
        let uid = app.user("erin", &[], false).await;
        let token = app.token_for(&uid).await;
        let cookie = app.login("erin", "erin-password").await;
        let res = app.json(Method::PATCH, &format!("/api/users/{uid}"), &As::Bearer(admin.clone()), &json!({"disabled": true})).await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.text);
        assert_eq!(res.json()["disabled"], true);
        assert_eq!(app.get("/api/me", &As::Bearer(token)).await.status, StatusCode::UNAUTHORIZED);
        assert_eq!(app.get("/api/me", &As::Cookie(cookie)).await.status, StatusCode::UNAUTHORIZED);
        let res = app.form("/login", &As::Nobody, &[("username", "erin"), ("password", "erin-password")]).await;
        assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    }

    async fn token_last_used_is_recorded(t) {
        let app = TestApp::new(t).await;
        let (_, token) = app.admin().await;
        let before = app.get("/api/tokens", &As::Bearer(token.clone())).await.json();
        // The listing request itself authenticated with the token.
        assert!(before[0]["last_used_at"].is_string(), "{before}");
        assert_eq!(before[0]["active"], true);
        assert!(before[0]["prefix"].as_str().expect("prefix").starts_with("baton_"));
        assert!(before[0].get("token").is_none(), "listings never show the secret");
    }
}
