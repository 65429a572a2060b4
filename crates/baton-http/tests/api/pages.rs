//! The browser flow: first-run set-up, login, rate limit, forced password
//! reset, the token settings page.

use axum::http::StatusCode;
use baton_testkit::backend_tests;

use crate::harness::{As, TestApp};

backend_tests! {
    async fn first_run_offers_setup_once_and_logs_the_admin_in(t) {
        let app = TestApp::new(t).await;
        let res = app.get("/", &As::Nobody).await;
        assert_eq!(res.status, StatusCode::SEE_OTHER);
        assert_eq!(res.header("location"), Some("/setup"));
        let page = app.get("/setup", &As::Nobody).await;
        assert!(page.text.contains("Create administrator"));

        let res = app.form("/setup", &As::Nobody, &[("username", "root"), ("email", ""), ("password", "pw"), ("password_confirm", "pw")]).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(res.text.contains("at least 8"), "{}", res.text);
        assert_eq!(app.count("users").await, 0);

        let fields = [("username", "root"), ("email", "root@example.com"), ("password", "s3cret-pass"), ("password_confirm", "s3cret-pass")];
        let res = app.form("/setup", &As::Nobody, &fields).await;
        assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text);
        let cookie = res.session_cookie().expect("logged in after set-up");
        let set_cookie = res.header("set-cookie").expect("set-cookie");
        assert!(set_cookie.contains("HttpOnly") && set_cookie.contains("SameSite=Lax"), "{set_cookie}");
        let me = app.get("/api/me", &As::Cookie(cookie)).await.json();
        assert_eq!(me["username"], "root");
        assert_eq!(me["is_admin"], true);

        // Set-up is gone for good: the page and the form both send people to login.
        assert_eq!(app.get("/setup", &As::Nobody).await.header("location"), Some("/login"));
        let fields = [("username", "intruder"), ("email", ""), ("password", "s3cret-pass"), ("password_confirm", "s3cret-pass")];
        let res = app.form("/setup", &As::Nobody, &fields).await;
        assert_eq!(res.header("location"), Some("/login"));
        assert_eq!(app.count("users").await, 1);
    }

    async fn two_racing_setups_create_exactly_one_admin(t) {
        let app = TestApp::new(t).await;
        let a = baton_app::accounts::NewUser { username: "first".into(), password: "long enough".into(), ..Default::default() };
        let b = baton_app::accounts::NewUser { username: "second".into(), password: "long enough".into(), ..Default::default() };
        let (ra, rb) = tokio::join!(app.app().setup_first_admin(a), app.app().setup_first_admin(b));
        assert_eq!(ra.is_ok() as u8 + rb.is_ok() as u8, 1, "{ra:?} {rb:?}");
        assert_eq!(app.count("users").await, 1);
    }

    async fn wrong_password_and_unknown_user_look_the_same(t) {
        let app = TestApp::new(t).await;
        app.user("judy", &[], false).await;
        let wrong = app.form("/login", &As::Nobody, &[("username", "judy"), ("password", "nope-nope")]).await;
        let unknown = app.form("/login", &As::Nobody, &[("username", "nobody"), ("password", "nope-nope")]).await;
        assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
        assert_eq!(unknown.status, StatusCode::UNAUTHORIZED);
        assert!(wrong.text.contains(baton_app::sessions::BAD_LOGIN));
        assert_eq!(wrong.text.replace("judy", "X"), unknown.text.replace("nobody", "X"));
        assert!(wrong.session_cookie().is_none());
    }

    async fn the_eleventh_failed_login_in_a_minute_is_429(t) {
        let app = TestApp::new(t).await;
        app.user("kim", &[], false).await;
        for i in 0..10 {
            let res = app.form("/login", &As::Nobody, &[("username", "kim"), ("password", "wrong-pass")]).await;
            assert_eq!(res.status, StatusCode::UNAUTHORIZED, "attempt {}", i + 1);
        }
        // Now even the right password is refused until the window passes.
        let res = app.form("/login", &As::Nobody, &[("username", "kim"), ("password", "kim-password")]).await;
        assert_eq!(res.status, StatusCode::TOO_MANY_REQUESTS);
        let retry: u64 = res.header("retry-after").expect("Retry-After").parse().expect("seconds");
        assert!((1..=60).contains(&retry), "{retry}");
        // Other usernames from the same client are not affected.
        app.user("lee", &[], false).await;
        app.login("lee", "lee-password").await;
    }

    async fn a_forced_reset_sends_the_user_to_choose_a_new_password(t) {
        let app = TestApp::new(t).await;
        let input = baton_app::accounts::NewUser { username: "mia".into(), password: "temporary1".into(), must_reset_password: true, ..Default::default() };
        app.app().create_user(&baton_app::Actor::cli(), input).await.expect("user");
        let res = app.form("/login", &As::Nobody, &[("username", "mia"), ("password", "temporary1")]).await;
        assert_eq!(res.header("location"), Some("/reset-password"));
        let cookie = res.session_cookie().expect("cookie");
        assert_eq!(app.get("/", &As::Cookie(cookie.clone())).await.header("location"), Some("/reset-password"));
        assert_eq!(app.get("/settings/tokens", &As::Cookie(cookie.clone())).await.header("location"), Some("/reset-password"));
        let res = app.form("/reset-password", &As::Cookie(cookie.clone()), &[("current_password", "temporary1"), ("new_password", "temporary1"), ("new_password_confirm", "temporary1")]).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
        let res = app.form("/reset-password", &As::Cookie(cookie.clone()), &[("current_password", "temporary1"), ("new_password", "permanent-1"), ("new_password_confirm", "permanent-1")]).await;
        assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text);
        assert_eq!(res.header("location"), Some("/"));
        assert_eq!(app.get("/", &As::Cookie(cookie)).await.status, StatusCode::OK);
        app.login("mia", "permanent-1").await;
    }

    async fn the_settings_page_creates_shows_once_and_revokes_tokens(t) {
        let app = TestApp::new(t).await;
        app.user("ned", &[], false).await;
        let cookie = app.login("ned", "ned-password").await;
        let res = app.form("/settings/tokens", &As::Cookie(cookie.clone()), &[("label", "laptop"), ("expires_in_days", "30")]).await;
        assert_eq!(res.status, StatusCode::CREATED, "{}", res.text);
        assert_eq!(res.header("cache-control"), Some("no-store"));
        let start = res.text.find("<code id=\"new-token\">").expect("token shown") + "<code id=\"new-token\">".len();
        let secret = res.text[start..].split('<').next().expect("secret").to_string();
        assert!(secret.starts_with("baton_"));
        assert_eq!(app.get("/api/me", &As::Bearer(secret.clone())).await.json()["username"], "ned");
        let page = app.get("/settings/tokens", &As::Cookie(cookie.clone())).await;
        assert!(!page.text.contains(&secret), "the secret is shown only once");
        assert!(page.text.contains("laptop"));
        let tokens = app.get("/api/tokens", &As::Bearer(secret.clone())).await.json();
        let id = tokens[0]["id"].as_str().expect("id").to_string();
        let res = app.form(&format!("/settings/tokens/{id}/revoke"), &As::Cookie(cookie), &[]).await;
        assert_eq!(res.status, StatusCode::SEE_OTHER);
        assert_eq!(app.get("/api/me", &As::Bearer(secret)).await.status, StatusCode::UNAUTHORIZED);
    }
}

backend_tests! {
    async fn assets_are_hashed_cached_and_compressed_and_pages_use_them(t) {
        let app = TestApp::new(t).await;
        app.admin().await;
        let page = app.get("/login", &As::Nobody).await;
        assert_eq!(page.status, StatusCode::OK);
        for asset in ["css/app.css", "js/live.js", "js/forms.js", "js/dnd.js", "js/hotkeys.js", "favicon.svg"] {
            let url = baton_http::pages::assets::url(asset);
            assert!(page.text.contains(&url), "the layout loads {url}");
            let res = app.get(&url, &As::Nobody).await;
            assert_eq!(res.status, StatusCode::OK, "{url}");
            assert_eq!(res.header("cache-control"), Some("public, max-age=31536000, immutable"));
            let req = axum::http::Request::get(&url)
                .header("host", "127.0.0.1:8080")
                .header("accept-encoding", "gzip")
                .body(axum::body::Body::empty())
                .expect("request");
            let gz = app.send(req).await;
            if res.text.len() > 1024 {
                assert_eq!(gz.header("content-encoding"), Some("gzip"), "{url} is compressed on request");
            }
        }
        // An old or made-up name is not served (no stale file under a new page).
        assert_eq!(app.get("/static/js/live.js", &As::Nobody).await.status, StatusCode::NOT_FOUND);
        // The rendered layout has no inline script, style or handler (the CSP would block them).
        assert!(!page.text.contains("style=\""), "no inline styles");
        assert!(!page.text.contains("<script>"), "no inline scripts");
        assert!(!page.text.contains(" onclick=") && !page.text.contains(" onload="), "no inline handlers");
    }

    async fn an_unknown_page_and_another_users_product_look_the_same(t) {
        let app = TestApp::new(t).await;
        let m = app.matrix().await;
        let outsider = As::Cookie(app.login("mx-outsider", "mx-outsider-password").await);
        let unknown = app.get("/products/NOPE-404/settings", &outsider).await;
        let hidden = app.get(&format!("/products/{}/settings", m.product_id), &outsider).await;
        assert_eq!(unknown.status, StatusCode::NOT_FOUND);
        assert_eq!(hidden.status, StatusCode::NOT_FOUND);
        assert!(hidden.text.contains("Not found"), "{}", hidden.text);
        assert!(!hidden.text.contains("Matrix"), "the product's name is not leaked");
    }
}
