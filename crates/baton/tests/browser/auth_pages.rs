//! The account pages in a real browser: first-run set-up, logging in and
//! out, the forced password reset, API tokens, and a demo user's read-only
//! view — with JavaScript on and off, on SQLite and on Postgres.

use serde_json::json;

use crate::harness::*;

/// The tokens of `username`, as `token list --json` prints them.
async fn cli_tokens(site: &Site, username: &str) -> Vec<serde_json::Value> {
    let r = site.baton.run(&["token", "list", "--user", username, "--json"]).await;
    r.success();
    r.json().as_array().expect("token list --json prints an array").clone()
}

/// Creates a token through the `/settings/tokens` form and returns the
/// secret the page shows once.
async fn create_token_in_page(b: &Browser, label: &str) -> String {
    b.goto("/settings/tokens").await;
    b.submit_form("form[action=\"/settings/tokens\"]", &[("label", label), ("expires_in_days", "30")]).await;
    let secret = b.text("#new-token").await;
    assert!(!secret.trim().is_empty(), "the new token is shown on the page");
    secret.trim().to_string()
}

/// The set-up → token → `/api/me` flow, shared by the JS-on and JS-off runs;
/// returns the secret and checks every page on the way.
async fn setup_and_token_flow(site: &Site, b: &Browser) -> String {
    b.goto("/").await;
    assert_eq!(b.path().await, "/setup", "a fresh Baton asks for its first administrator");
    b.check_page("setup").await;

    // A mismatched confirmation is refused next to the form, nothing is created.
    b.submit_form(
        "form[action=\"/setup\"]",
        &[("username", "alice"), ("email", ""), ("password", PASSWORD), ("password_confirm", "something-else")],
    )
    .await;
    let alert = b.text("section:has(form[action=\"/setup\"]) [role=alert]").await;
    assert!(alert.contains("does not match"), "{alert}");
    assert_eq!(b.attr("form[action=\"/setup\"] [name=username]", "value").await.as_deref(), Some("alice"));
    assert_eq!(site.baton.users().await.len(), 0, "a refused set-up creates nobody");
    b.check_page("setup-error").await;

    b.setup_admin("alice", PASSWORD).await;
    assert!(b.text("h1").await.contains("alice"), "{}", b.body_text().await);
    b.check_page("home").await;

    b.goto("/settings/tokens").await;
    b.check_page("tokens").await;
    // The detector the demo test relies on sees an administrator's controls.
    let controls = b.enabled_write_controls().await;
    assert!(controls.iter().any(|c| c.starts_with("/settings/tokens button")), "{controls:#?}");
    let secret = create_token_in_page(b, "laptop").await;
    b.check_page("tokens-created").await;

    let me = site.api_get(&secret, "/api/me").await;
    assert_eq!(me["username"], "alice", "{me}");
    let tokens = cli_tokens(site, "alice").await;
    assert_eq!(tokens.len(), 1, "{tokens:?}");
    assert_eq!(tokens[0]["label"], "laptop", "{tokens:?}");
    assert!(tokens[0]["expires_at"].is_string(), "the expiry from the form was kept: {tokens:?}");

    // Revoking in the page stops the token at once.
    b.click_and_wait_page("form[action$=\"/revoke\"] [type=submit]").await;
    assert_eq!(b.path().await, "/settings/tokens");
    let me = site.api(&secret, "GET", "/api/me", None).await;
    assert_eq!(me.status, 401, "a revoked token is refused: {me:?}");

    b.logout().await;
    b.check_page("login").await;
    secret
}

/// What the set-up flow leaves in the database, for comparing the JS-on and
/// JS-off runs.
async fn state_after_setup(site: &Site) -> serde_json::Value {
    let users = site.baton.users().await;
    let users: Vec<_> = users.iter().map(|u| json!([u["username"], u["roles"], u["is_demo"]])).collect();
    let tokens: Vec<_> = cli_tokens(site, "alice")
        .await
        .iter()
        .map(|t| json!([t["label"], t["expires_at"].is_string(), t["revoked_at"].is_string()]))
        .collect();
    json!({ "users": users, "tokens": tokens })
}

/// Runs the set-up flow in a browser with JavaScript on or off and checks
/// the database ends in the same state either way.
async fn setup_flow_reaches_the_expected_state(site: &Site, js: Js) {
    let b = site.browser(js).await;
    setup_and_token_flow(site, &b).await;
    let mut state = state_after_setup(site).await;
    sort_roles(&mut state);
    let expected = json!({
        "users": [["alice", ["admin", "developer", "product_owner", "scrum_master"], false]],
        "tokens": [["laptop", true, true]],
    });
    assert_eq!(state, expected, "database state after the set-up flow with JavaScript {js:?}");
}

browser_tests! {
    /// First-run set-up → home → a token made in the page works against
    /// `/api/me` → revoke → log out; every page passes the page checks.
    async fn first_run_setup_and_api_token(site) {
        setup_flow_reaches_the_expected_state(&site, Js::On).await;
    }

    /// The same flow with JavaScript disabled reaches the same database state
    /// through plain forms.
    async fn first_run_setup_without_javascript(site) {
        setup_flow_reaches_the_expected_state(&site, Js::Off).await;
    }

    /// A wrong password shows the error next to the login form (keeping the
    /// username); the right one logs in; a forced reset comes first.
    async fn login_errors_and_forced_reset(site) {
        site.create_user("alice", &["--admin"]).await;
        site.create_user("bob", &["--must-reset"]).await;
        let b = site.browser(Js::On).await;

        b.goto("/login").await;
        b.submit_form("form[action=\"/login\"]", &[("username", "alice"), ("password", "not-the-password")]).await;
        assert_eq!(b.path().await, "/login");
        let alert = b.text("section:has(form[action=\"/login\"]) [role=alert]").await;
        assert!(!alert.trim().is_empty(), "the error is shown next to the form");
        assert!(!alert.contains("not-the-password"), "the password is never echoed: {alert}");
        assert_eq!(b.attr("form[action=\"/login\"] [name=username]", "value").await.as_deref(), Some("alice"));
        let password = b.attr("form[action=\"/login\"] [name=password]", "value").await;
        assert_eq!(password.unwrap_or_default(), "", "the password field comes back empty");
        b.check_page("login-error").await;

        b.login("alice", PASSWORD).await;
        assert_eq!(b.path().await, "/");
        b.logout().await;

        // Bob must choose a new password before anything else.
        b.login("bob", PASSWORD).await;
        assert_eq!(b.path().await, "/reset-password");
        b.check_page("reset-password").await;
        b.goto("/settings/tokens").await;
        assert_eq!(b.path().await, "/reset-password", "the reset gate holds on other pages");

        let form = "form[action=\"/reset-password\"]";
        b.submit_form(
            form,
            &[("current_password", PASSWORD), ("new_password", "a-new-password"), ("new_password_confirm", "a-new-passwort")],
        )
        .await;
        let alert = b.text(&format!("section:has({form}) [role=alert]")).await;
        assert!(alert.contains("does not match"), "{alert}");
        b.check_page("reset-password-error").await;

        b.submit_form(
            form,
            &[
                ("current_password", PASSWORD),
                ("new_password", "a-new-password"),
                ("new_password_confirm", "a-new-password"),
            ],
        )
        .await;
        assert_eq!(b.path().await, "/");
        assert_eq!(site.baton.user("bob").await["must_reset_password"], false);
        b.logout().await;
        b.login("bob", "a-new-password").await;
        assert_eq!(b.path().await, "/");
    }

    /// A demo user sees every write control disabled; forged writes (from the
    /// page's own origin, and raw with its cookie) are refused with 403 and
    /// leave the database unchanged.
    async fn demo_user_is_read_only(site) {
        site.create_user("alice", &["--admin"]).await;
        site.create_user("demo", &["--demo"]).await;
        site.baton.create_token("demo", "made by an admin").await;
        let b = site.browser(Js::On).await;
        b.login("demo", PASSWORD).await;
        assert!(b.body_text().await.contains("read-only"), "the home page says so: {}", b.body_text().await);
        b.check_page("home-demo").await;

        b.goto("/settings/tokens").await;
        assert_eq!(b.count("form[action$=\"/revoke\"] [type=submit]").await, 1, "the demo's token is listed");
        b.assert_no_enabled_write_controls().await;
        b.check_page("tokens-demo").await;

        // Sessions are touched by every request; everything else must stay.
        let before = site.table_counts(&["sessions", "login_attempts"]).await;
        let tokens_before = cli_tokens(&site, "demo").await;
        let token_id = tokens_before[0]["id"].as_str().expect("token id").to_string();
        let revoke = format!("/settings/tokens/{token_id}/revoke");

        assert_eq!(b.fetch_post("/settings/tokens", &[("label", "forged")]).await, 403);
        assert_eq!(b.fetch_post(&revoke, &[]).await, 403);
        let cookie = b.session_cookie().await;
        let raw = site.server.post_form("/settings/tokens", &[("label", "forged")], &[("Cookie", &cookie)]).await;
        assert_eq!(raw.status, 403, "{raw:?}");
        let raw = site.server.post_form(&revoke, &[], &[("Cookie", &cookie)]).await;
        assert_eq!(raw.status, 403, "{raw:?}");

        assert_eq!(site.table_counts(&["sessions", "login_attempts"]).await, before, "nothing was written");
        assert_eq!(cli_tokens(&site, "demo").await, tokens_before, "the demo's tokens are untouched");
        // Still logged in and still allowed to log out.
        b.goto("/settings/tokens").await;
        assert_eq!(b.path().await, "/settings/tokens");
        b.logout().await;
    }
}

/// Roles come back in an order the test should not depend on.
fn sort_roles(state: &mut serde_json::Value) {
    for u in state["users"].as_array_mut().into_iter().flatten() {
        if let Some(roles) = u[1].as_array_mut() {
            roles.sort_by_key(|r| r.as_str().map(str::to_string));
        }
    }
}

browser_tests! {
    /// Two instances on one database: a token made in the page of
    /// instance B works at once on instance A, and a session from B is
    /// refused nowhere; logging in by keyboard alone works.
    async fn a_second_instance_and_the_keyboard(site) {
        site.create_user("alice", &["--admin"]).await;
        let b_server = site.second_server().await;
        let b = site.browser_at(&b_server, Js::On).await;
        b.goto("/login").await;
        b.focus("form[action=\"/login\"] [name=username]").await;
        b.press("alice").await;
        b.press(&fantoccini::key::Key::Tab.to_string()).await;
        assert_eq!(b.focused().await, "input#password");
        b.press(PASSWORD).await;
        b.js("window.__batonOld = true; return true;", vec![]).await;
        b.press(&fantoccini::key::Key::Enter.to_string()).await;
        b.wait_js("!window.__batonOld && location.pathname === '/'", crate::harness::WAIT).await;

        let secret = create_token_in_page(&b, "instance B").await;
        assert_ne!(b_server.port, site.server.port);
        let me = site.api_get(&secret, "/api/me").await;
        assert_eq!(me["username"], "alice", "instance A accepts a token made on B: {me}");
        let cookie = b.session_cookie().await;
        let home = site.server.get("/", &[("Cookie", &cookie)]).await;
        assert_eq!(home.status, 200, "instance A knows B's session: {home:?}");
    }
}
