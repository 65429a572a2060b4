//! User administration and the demo guard.

use axum::http::{Method, StatusCode};
use baton_domain::roles::Role;
use baton_testkit::backend_tests;
use serde_json::json;

use crate::harness::{As, TestApp};

backend_tests! {
    async fn admins_create_list_and_change_users(t) {
        let app = TestApp::new(t).await;
        let (_, admin) = app.admin().await;
        let res = app.json(Method::POST, "/api/users", &As::Bearer(admin.clone()),
            &json!({"username": "Grace", "password": "long enough", "email": "grace@example.com", "roles": ["developer", "qa"]})).await;
        assert_eq!(res.status, StatusCode::CREATED, "{}", res.text);
        let grace = res.json();
        assert_eq!(grace["username"], "grace", "usernames are stored lowercase");
        assert_eq!(grace["roles"], json!(["developer", "qa"]));
        let id = grace["id"].as_str().expect("id").to_string();

        let res = app.json(Method::PATCH, &format!("/api/users/{id}"), &As::Bearer(admin.clone()),
            &json!({"roles": ["developer"], "must_reset_password": true, "name": "Grace H."})).await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.text);
        assert_eq!(res.json()["roles"], json!(["developer"]));
        assert_eq!(res.json()["must_reset_password"], true);

        let list = app.get("/api/users", &As::Bearer(admin.clone())).await.json();
        assert_eq!(list.as_array().expect("list").len(), 2);
        assert_eq!(app.get(&format!("/api/users/{id}"), &As::Bearer(admin)).await.json()["name"], "Grace H.");
    }

    async fn duplicates_and_bad_fields_are_422_and_write_nothing(t) {
        let app = TestApp::new(t).await;
        let (_, admin) = app.admin().await;
        let before = (app.count("users").await, app.count("user_roles").await);
        let res = app.json(Method::POST, "/api/users", &As::Bearer(admin.clone()),
            &json!({"username": "ADMIN", "password": "long enough", "roles": ["developer"]})).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", res.text);
        assert_eq!(res.json()["error"]["details"][0]["path"], "username");
        let res = app.json(Method::POST, "/api/users", &As::Bearer(admin.clone()),
            &json!({"username": "x", "password": "short", "email": "nope"})).await;
        let paths: Vec<_> = res.json()["error"]["details"].as_array().expect("details").iter().map(|d| d["path"].as_str().unwrap_or_default().to_string()).collect();
        assert_eq!(paths, ["username", "password", "email"]);
        let res = app.json(Method::POST, "/api/users", &As::Bearer(admin),
            &json!({"username": "henry", "password": "long enough", "roles": ["wizard"]})).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(res.json()["error"]["details"][0]["path"], "roles.0");
        assert_eq!((app.count("users").await, app.count("user_roles").await), before);
    }

    async fn non_admins_are_forbidden_and_unknown_users_not_found(t) {
        let app = TestApp::new(t).await;
        let (_, admin) = app.admin().await;
        let uid = app.user("ivan", &[Role::Developer], false).await;
        let ivan = app.token_for(&uid).await;
        assert_eq!(app.get("/api/users", &As::Bearer(ivan.clone())).await.status, StatusCode::FORBIDDEN);
        let res = app.json(Method::POST, "/api/users", &As::Bearer(ivan), &json!({"username": "mallory", "password": "long enough"})).await;
        assert_eq!(res.status, StatusCode::FORBIDDEN);
        assert_eq!(app.get("/api/users/does-not-exist", &As::Bearer(admin)).await.status, StatusCode::NOT_FOUND);
    }

    async fn admins_cannot_lock_themselves_out(t) {
        let app = TestApp::new(t).await;
        let (id, admin) = app.admin().await;
        let res = app.json(Method::PATCH, &format!("/api/users/{id}"), &As::Bearer(admin.clone()), &json!({"disabled": true, "roles": []})).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(res.json()["error"]["details"].as_array().expect("details").len(), 2);
        assert_eq!(app.get("/api/me", &As::Bearer(admin)).await.json()["is_admin"], true);
    }

    async fn demo_users_read_but_every_write_is_403(t) {
        let app = TestApp::new(t).await;
        app.app().seed_demo().await.expect("seed demo");
        assert_eq!((app.count("products").await, app.count("pbis").await, app.count("stories").await, app.count("tasks").await, app.count("sprints").await), (1, 2, 4, 7, 1));
        // Seeding again changes nothing.
        let again = app.app().seed_demo().await.expect("seed demo again");
        assert!(again.contains("nothing changed"), "{again}");
        assert_eq!(app.count("users").await, 1);
        let demo_id = app.app().find_user_by_username("demo").await.expect("lookup").expect("demo").id;
        let token = app.token_for(&demo_id).await;
        let me = app.get("/api/me", &As::Bearer(token.clone())).await;
        assert_eq!(me.status, StatusCode::OK);
        assert_eq!(me.json()["is_demo"], true);
        assert_eq!(app.get("/api/tokens", &As::Bearer(token.clone())).await.status, StatusCode::OK);
        let before = app.count("api_tokens").await;
        for (method, path) in [
            (Method::POST, "/api/tokens"),
            (Method::DELETE, "/api/tokens/anything"),
            (Method::POST, "/api/users"),
            (Method::PATCH, &format!("/api/users/{demo_id}")),
            (Method::POST, "/api/no-such-route"),
        ] {
            let res = app.json(method.clone(), path, &As::Bearer(token.clone()), &json!({"label": "x"})).await;
            assert_eq!(res.status, StatusCode::FORBIDDEN, "{method} {path}: {}", res.text);
            assert_eq!(res.error_code(), "demo_read_only");
        }
        // Pages too: a demo session cannot create tokens through the form.
        let cookie = app.login("demo", "demo1234").await;
        let res = app.form("/settings/tokens", &As::Cookie(cookie.clone()), &[("label", "x")]).await;
        assert_eq!(res.status, StatusCode::FORBIDDEN);
        assert!(res.text.contains("read-only"));
        assert_eq!(app.get("/settings/tokens", &As::Cookie(cookie)).await.status, StatusCode::OK);
        assert_eq!(app.count("api_tokens").await, before);
    }
}
