//! The people pages in a real browser: an agent's question rings the bell
//! live and answering it there wakes the waiting `ask_user_question`; the
//! dashboard, products, settings, questions and admin pages pass the page
//! checks; a read-only member and a demo user get no enabled write control
//! on them and forged posts are refused.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::{
    common::{
        PASSWORD,
        mcp::{McpHttp, Rest, backlog},
    },
    harness::{Js, WAIT, browser_tests},
};

/// How long the bell may take to show a new question (the budget).
const BELL_BUDGET: Duration = Duration::from_secs(1);

browser_tests! {
    /// The agent asks over MCP and waits; the bell counts the question
    /// within a second without a reload; the person answers from the bell's
    /// panel and the agent's call returns with that answer.
    async fn a_question_rings_the_bell_and_the_answer_wakes_the_agent(site) {
        site.create_user("alice", &["--admin"]).await;
        let token = site.token("alice").await;
        let mut rest = Rest::new(site.server.port, &token);
        let story = backlog(&mut rest, "SHOP").await;
        let b = site.browser(Js::On).await;
        b.login("alice", PASSWORD).await;
        b.goto("/").await;
        b.check_page("dashboard").await;
        assert_eq!(b.text("#bell .count").await.trim(), "0");

        let port = site.server.port;
        let agent_token = token.clone();
        let asked = Instant::now();
        let agent = tokio::spawn(async move {
            let mut mcp = McpHttp::new(port, &agent_token);
            let args = json!({"story_id": story, "question": "Ship on Friday?", "options": ["yes", "no"], "wait_seconds": 120});
            mcp.call("ask_user_question", args).await
        });
        b.wait_js("document.querySelector('#bell .count')?.textContent.trim() === '1'", WAIT).await;
        let took = asked.elapsed();
        eprintln!("{}: question asked over MCP → bell shows it: {took:?}", site.backend_name());
        assert!(took < BELL_BUDGET, "the bell took {took:?}");
        assert!(b.text("#dash-questions").await.contains("Ship on Friday?"), "the dashboard lists it live too");

        b.click("#bell summary").await;
        b.wait_for("#bell .bell-answer button[name=option][value=yes]", WAIT).await;
        b.check_page("bell-open").await;
        b.click("#bell .bell-answer button[name=option][value=yes]").await;
        let answered = tokio::time::timeout(WAIT, agent).await.expect("the agent wakes").expect("agent task");
        let q = answered.ok("ask_user_question");
        assert_eq!((q["status"].as_str(), q["answer"].as_str(), q["timed_out"].as_bool()), (Some("answered"), Some("yes"), Some(false)), "{q}");
        b.wait_js("document.querySelector('#bell .count')?.textContent.trim() === '0'", WAIT).await;

        b.goto("/questions?status=answered").await;
        assert!(b.text("#questions-list").await.contains("Ship on Friday?"));
        b.check_page("questions-answered").await;
        b.goto("/products").await;
        b.check_page("products").await;
        b.goto("/products/SHOP/settings").await;
        b.check_page("product-settings").await;
        b.goto("/admin/users").await;
        b.check_page("admin-users").await;
        b.goto("/admin/prices").await;
        b.check_page("admin-prices").await;
    }

    /// A read-only member and a demo user see the questions, settings and
    /// dashboard with every write control disabled; forged posts are 403
    /// and change nothing.
    async fn read_only_member_and_demo_get_no_write_controls(site) {
        site.create_user("alice", &["--admin"]).await;
        site.create_user("rita", &["--role", "developer"]).await;
        site.create_user("demo", &["--demo", "--role", "developer"]).await;
        let token = site.token("alice").await;
        let mut rest = Rest::new(site.server.port, &token);
        let story = backlog(&mut rest, "SHOP").await;
        for (user, access) in [("rita", "read_only"), ("demo", "read_write")] {
            rest.post_expect("/api/products/SHOP/members", &json!({"username": user, "access": access}), 201).await;
        }
        let mut mcp = McpHttp::new(site.server.port, &token);
        let asked = mcp.call("ask_user_question", json!({"story_id": story, "question": "Which colour?"})).await;
        let question = asked.ok("ask_user_question")["id"].as_str().expect("question id").to_string();

        for user in ["rita", "demo"] {
            let b = site.browser(Js::On).await;
            b.login(user, PASSWORD).await;
            for (path, name) in [("/", "dashboard"), ("/questions", "questions"), ("/products/SHOP/settings", "product-settings")] {
                b.goto(path).await;
                assert!(b.body_text().await.contains("Which colour?") || path.ends_with("settings"), "{user} sees the question on {path}");
                b.assert_no_enabled_write_controls().await;
                b.check_page(&format!("{name}-{user}")).await;
            }
            let before = site.table_counts(&["sessions", "login_attempts"]).await;
            let answer = format!("/questions/{question}/answer");
            assert_eq!(b.fetch_post(&answer, &[("answer", "red")]).await, 403, "{user} answers");
            assert_eq!(b.fetch_post("/products/SHOP/settings", &[("name", "Hijacked"), ("definition_of_done", "x")]).await, 403, "{user} edits");
            assert_eq!(b.fetch_post("/products/SHOP/members", &[("username", "alice")]).await, 403, "{user} adds a member");
            assert_eq!(b.fetch_post("/products/SHOP/delete", &[("confirm", "SHOP")]).await, 403, "{user} deletes");
            assert_eq!(site.table_counts(&["sessions", "login_attempts"]).await, before, "nothing was written");
        }
        let q = site.api_get(&token, &format!("/api/questions/{question}")).await;
        assert_eq!(q["status"], "open");
        assert_eq!(site.api_get(&token, "/api/products/SHOP").await["name"], "Product SHOP");
    }
}
