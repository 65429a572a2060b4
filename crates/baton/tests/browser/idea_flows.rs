//! The idea flow through the pages alone (both backends; JavaScript on,
//! and off through plain forms and redirects):
//! create an idea on `/ideas` (the open list also follows an idea made over
//! REST), open it, see Grill disabled until one of the
//! user's agents is online (the button follows the worker's heartbeat
//! live), dispatch the grill, write the grill by hand, paste a plan with a
//! YAML mistake and see the error with its line, fix it (plan_ready), then
//! materialize with a build sprint and follow the link to the new PBI in
//! the backlog. Every page state passes the page checks (axe, CSP, no
//! inline style or script).

use serde_json::json;

use crate::harness::*;

/// A plan with a YAML syntax error on document line 6 (one space too many).
const BAD_PLAN: &str =
    "---\npbi:\n  title: Export\n  description: |\n    Long text\n   priority: 2\nstories: []\n---\n";

/// The same plan fixed: one story with two tasks and a build-sprint goal.
const GOOD_PLAN: &str = "---\nsprint:\n  goal: Ship export\npbi:\n  title: Export backlog as CSV\n  priority: 2\nstories:\n  - title: Download button\n    priority: 2\n    tasks:\n      - title: Add export route\n        implementation_plan: Stream rows ordered by sort order\n        priority: 2\n      - title: Typecheck pass\n        implementation_plan: Run the checks\n        priority: 3\n        verify_only: true\n---\n\n# Why\nSmall first step.\n";

browser_tests! {
    /// Create → grill → bad plan with its line → fixed → materialized with a
    /// build sprint → the new PBI in the backlog, with JavaScript on.
    async fn an_idea_goes_from_the_list_to_a_materialized_pbi(site) {
        idea_flow(&site, Js::On).await;
    }

    /// The same flow through plain forms and redirects, JavaScript off.
    async fn the_idea_flow_works_without_javascript(site) {
        idea_flow(&site, Js::Off).await;
    }
}

/// The whole flow in a browser with `js`.
async fn idea_flow(site: &Site, js: Js) {
    let b = site.browser(js).await;
    let tag = if js == Js::On { "" } else { "-nojs" };
    b.setup_admin("alice", PASSWORD).await;
    let alice = site.token("alice").await;
    let body = json!({"name": "Shop", "code": "SHOP", "definition_of_done": "Tested", "repo_url": "https://example.com/shop.git"});
    let product = site.api_ok(&alice, "POST", "/api/products", Some(&body)).await;
    let pid = product["id"].as_str().expect("product id").to_string();

    // The nav leads to the list; the create form makes the idea (303 to its page).
    b.goto("/").await;
    b.click_and_wait_page("nav.mainnav a[href=\"/ideas\"]").await;
    assert_eq!(b.path().await, "/ideas");
    b.check_page(&format!("ideas-empty{tag}")).await;
    b.fill("#idea-title", "Export CSV").await;
    b.fill("#idea-description", "As a **file**").await;
    b.find("#idea-product").await.select_by_value(&pid).await.expect("choose the product");
    b.click_and_wait_page("#new-idea [type=submit]").await;
    assert_eq!(b.path().await, "/ideas/IDEA-001");
    assert_eq!(b.data_status("#idea-head").await.as_deref(), Some("draft"));

    // Back on the list the idea is a row with its status; it opens the page.
    b.goto("/ideas").await;
    assert_eq!(b.items("#ideas-list [data-code]").await, vec![("IDEA-001".to_string(), "draft".to_string())]);
    b.check_page(&format!("ideas-list{tag}")).await;
    if js == Js::On {
        // The open list follows changes made elsewhere (here over REST).
        site.api_ok(&alice, "POST", "/api/ideas", Some(&json!({"title": "Made over REST"}))).await;
        b.wait_for("#ideas-list #idea-IDEA-002[data-status=draft]", WAIT).await;
    }
    b.click_and_wait_page("#idea-IDEA-001 a[data-open]").await;
    assert_eq!(b.path().await, "/ideas/IDEA-001");

    // No agent online: Grill is disabled with the reason. A worker's first
    // heartbeat enables it on the open page, without a reload.
    b.wait_for("#action-grill[disabled]", WAIT).await;
    assert!(b.text("#action-grill-why").await.contains("worker"), "{}", b.text("#action-grill-why").await);
    b.check_page(&format!("idea-draft{tag}")).await;
    let mut worker = crate::common::mcp::McpHttp::new(site.server.port, &alice);
    worker.call("worker_heartbeat", json!({"instance_id": "idea-flow-worker"})).await.ok("worker_heartbeat");
    if js == Js::On {
        // The open page follows the worker's presence and the dispatch live.
        b.wait_for("#action-grill:not([disabled])", WAIT).await;
        b.click("#action-grill").await;
        b.wait_js("document.querySelector('#idea-head')?.dataset.status === 'grilling'", WAIT).await;
    } else {
        b.goto("/ideas/IDEA-001").await;
        b.click_and_wait_page("#action-grill").await;
        assert_eq!(b.data_status("#idea-head").await.as_deref(), Some("grilling"));
    }
    b.wait_for("#idea-jobs .job[data-status=queued]", WAIT).await;
    assert!(b.find_all("#action-grill[disabled]").await.len() == 1, "one job at a time");

    // The grill, written by hand (as the agent would through MCP).
    b.click("#grill summary").await;
    b.submit_form("#grill form", &[("markdown", "# Idee: Export\n\n## Scope\n\nCSV only")]).await;
    assert_eq!(b.data_status("#idea-head").await.as_deref(), Some("grilled"));
    assert!(b.text("#grill .prose").await.contains("CSV only"));

    // A plan with a YAML mistake: stored, the error names its line and the line is marked.
    b.click("#plan summary").await;
    b.submit_form("#plan form", &[("markdown", BAD_PLAN)]).await;
    assert_eq!(b.data_status("#idea-head").await.as_deref(), Some("plan_failed"));
    let errors = b.text("#plan-errors").await;
    assert!(errors.contains("Line 6"), "{errors}");
    assert_eq!(b.attr("#plan-errors .plan-error", "data-line").await.as_deref(), Some("6"));
    b.wait_for("#plan-line-6.bad", WAIT).await;
    assert!(b.text("#action-materialize-why").await.len() > 3, "materialize says why it cannot run");
    b.check_page(&format!("idea-plan-failed{tag}")).await;

    // Fixed by hand: plan_ready, the preview shows what materializing creates.
    b.submit_form("#plan form", &[("markdown", GOOD_PLAN)]).await;
    assert_eq!(b.data_status("#idea-head").await.as_deref(), Some("plan_ready"));
    assert_eq!(b.count("#plan-errors").await, 0);
    let preview = b.text("#plan-preview").await;
    assert!(preview.contains("Export backlog as CSV") && preview.contains("Add export route"), "{preview}");
    b.check_page(&format!("idea-plan-ready{tag}")).await;

    // Materialize with a build sprint; the page links the new PBI and sprint.
    b.click("#build_sprint").await;
    b.click_and_wait_page("#action-materialize").await;
    assert_eq!(b.path().await, "/ideas/IDEA-001");
    assert_eq!(b.data_status("#idea-head").await.as_deref(), Some("planned"));
    b.wait_for("#idea-sprint", WAIT).await;
    b.check_page(&format!("idea-planned{tag}")).await;
    b.click_and_wait_page("#idea-pbi").await;
    assert_eq!(b.path().await, "/products/SHOP");
    b.wait_for("#pbi-PBI-1", WAIT).await;

    // The database agrees: one PBI with one story in the build sprint and two tasks.
    let idea = site.api_get(&alice, "/api/ideas/IDEA-001").await;
    assert_eq!(idea["status"], "planned");
    assert!(idea["pbi_id"].is_string() && idea["build_sprint_id"].is_string(), "{idea}");
    assert_eq!(site.count("SELECT COUNT(*) AS n FROM tasks").await, 2);
    let in_sprint = format!(
        "SELECT COUNT(*) AS n FROM stories WHERE sprint_id = '{}'",
        idea["build_sprint_id"].as_str().unwrap_or_default()
    );
    assert_eq!(site.count(&in_sprint).await, 1);
}
