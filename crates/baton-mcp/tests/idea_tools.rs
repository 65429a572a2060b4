//! The idea tools through `BatonMcp::call` on both backends: an idea from
//! creation through dispatch, a question on it, grill, a plan that does not
//! parse (a normal `ok: false` result with line numbers, not a tool error),
//! the fixed plan, a logged decision and materialization; privacy (another
//! user's idea is `PERMISSION_DENIED: idea not found`, demo accounts PERMISSION_DENIED) and the core
//! profile offering what the grill and plan agents need.

mod common;

use baton_app::{products::NewProduct, workers::WorkerInfo};
use baton_mcp::{BatonMcp, Profile};
use baton_testkit::backend_tests;
use common::{Base, actor, base, call, err, ok};
use serde_json::json;

/// Line 6 has one space too many (a YAML syntax error).
const BAD_PLAN: &str =
    "---\npbi:\n  title: Export\n  description: |\n    Long text\n   priority: 2\nstories: []\n---\n";
const GOOD_PLAN: &str = "---\npbi:\n  title: Export\n  priority: 2\nstories:\n  - title: Button\n    priority: 2\n    tasks:\n      - title: Route\n        implementation_plan: edit `src/route.rs`\n        priority: 2\n---\n\n# Why\n";

backend_tests! {
    async fn an_idea_goes_from_creation_to_backlog_over_mcp(t) {
        let product = NewProduct {
            name: "Shop".into(),
            definition_of_done: "tests pass".into(),
            repo_url: Some("https://example.com/shop.git".into()),
            ..Default::default()
        };
        let Base { app, owner, demo, product_id } = base(&t, product).await;
        let mcp = BatonMcp::http(app.clone(), Profile::All);
        let stranger = actor(&app, "stranger", false).await;

        let e = err(&mcp, &demo, "create_idea", json!({"title": "Mine", "product_id": product_id})).await;
        assert!(e.starts_with("PERMISSION_DENIED"), "{e}");
        let e = err(&mcp, &owner, "create_idea", json!({"title": "x", "colour": "red"})).await;
        assert!(e.starts_with("VALIDATION_ERROR: colour: unknown field"), "{e}");
        let idea = ok(&mcp, &owner, "create_idea", json!({"title": "CSV export", "product_id": product_id})).await;
        assert_eq!((idea["code"].as_str(), idea["status"].as_str()), (Some("IDEA-001"), Some("draft")));
        let id = idea["id"].as_str().expect("id").to_string();

        // Private: another user's call is NOT_FOUND, the list shows only your own.
        let e = err(&mcp, &stranger, "get_idea_context", json!({"idea_id": id})).await;
        assert!(e.starts_with("PERMISSION_DENIED: idea not found"), "{e}");
        let e = err(&mcp, &stranger, "ask_user_question", json!({"idea_id": id, "question": "Why?"})).await;
        assert!(e.starts_with("PERMISSION_DENIED: idea not found"), "{e}");
        assert_eq!(ok(&mcp, &stranger, "get_ideas_context", json!({})).await["total"], 0);
        assert_eq!(ok(&mcp, &owner, "get_ideas_context", json!({"product_id": product_id, "status": "draft"})).await["total"], 1);

        // Dispatch needs a live worker; then the job is queued and the idea grilling.
        let e = err(&mcp, &owner, "dispatch_idea_job", json!({"idea_id": "IDEA-001", "kind": "grill"})).await;
        assert!(e.contains("no live worker of yours is connected"), "{e}");
        app.register_worker(&owner, WorkerInfo::new("laptop")).await.expect("worker");
        let e = err(&mcp, &owner, "dispatch_idea_job", json!({"idea_id": id, "kind": "paint"})).await;
        assert!(e.starts_with("VALIDATION_ERROR: kind: "), "{e}");
        let job = ok(&mcp, &owner, "dispatch_idea_job", json!({"idea_id": id, "kind": "grill"})).await;
        assert_eq!((job["kind"].as_str(), job["status"].as_str()), (Some("idea_grill"), Some("queued")));

        // The grill agent asks the owner a question and logs a decision.
        let q = ok(&mcp, &owner, "ask_user_question", json!({"idea_id": id, "question": "CSV or XLSX?", "options": ["CSV", "XLSX"]})).await;
        assert_eq!(q["idea_id"].as_str(), Some(id.as_str()));
        let logged = ok(&mcp, &owner, "log_idea_decision", json!({"idea_id": id, "content": "CSV only in v1"})).await;
        assert_eq!(logged["type"], "decision");
        let cx = ok(&mcp, &owner, "get_idea_context", json!({"idea_id": id})).await;
        assert_eq!(cx["idea"]["status"], "grilling");
        assert_eq!(cx["product"]["id"].as_str(), Some(product_id.as_str()));
        assert_eq!(cx["open_questions"].as_array().map(Vec::len), Some(1), "{cx}");
        let kinds: Vec<&str> = cx["recent_logs"].as_array().expect("logs").iter().filter_map(|l| l["type"].as_str()).collect();
        assert_eq!(kinds, ["job_event", "decision"]);

        // Grill, then a plan that does not parse: a normal result with the line.
        let grilled = ok(&mcp, &owner, "update_idea_grill_md", json!({"idea_id": id, "markdown": "# Idee — CSV"})).await;
        assert_eq!(grilled["status"], "grilled");
        let (is_error, text, bad) = call(&mcp, &owner, "update_idea_plan_md", json!({"idea_id": id, "markdown": BAD_PLAN})).await;
        assert!(!is_error, "a bad plan is not a tool error: {text}");
        assert_eq!(bad["ok"], false);
        assert_eq!(bad["idea"]["status"], "plan_failed");
        assert_eq!(bad["errors"][0]["line"], 6, "{bad}");
        let good = ok(&mcp, &owner, "update_idea_plan_md", json!({"idea_id": id, "markdown": GOOD_PLAN})).await;
        assert_eq!((good["ok"].as_bool(), good["idea"]["status"].as_str()), (Some(true), Some("plan_ready")));
        assert_eq!(good["errors"], json!([]));

        // Materialize: demo refused, the owner gets the backlog.
        let e = err(&mcp, &demo, "materialize_idea", json!({"idea_id": id})).await;
        assert!(e.starts_with("PERMISSION_DENIED"), "{e}");
        let made = ok(&mcp, &owner, "materialize_idea", json!({"idea_id": id, "build_sprint": true})).await;
        assert_eq!(made["pbi_code"], "PBI-1");
        assert_eq!((made["story_ids"].as_array().map(Vec::len), made["task_ids"].as_array().map(Vec::len)), (Some(1), Some(1)));
        assert!(made["build_sprint_id"].is_string(), "{made}");
        let e = err(&mcp, &owner, "materialize_idea", json!({"idea_id": id})).await;
        assert!(e.contains("materialize is not allowed while the idea is planned"), "{e}");
    }

    async fn the_core_profile_offers_what_the_idea_agents_need(t) {
        let Base { app, .. } = base(&t, NewProduct { name: "P".into(), definition_of_done: "d".into(), ..Default::default() }).await;
        let core = BatonMcp::http(app.clone(), Profile::Core);
        let names: Vec<String> = core.tools().into_iter().map(|t| t.name.to_string()).collect();
        for needed in ["get_idea_context", "update_idea_grill_md", "update_idea_plan_md", "log_idea_decision", "ask_user_question"] {
            assert!(names.iter().any(|n| n == needed), "{needed} in core: {names:?}");
        }
        for all_only in ["create_idea", "get_ideas_context", "materialize_idea", "dispatch_idea_job"] {
            assert!(!names.iter().any(|n| n == all_only), "{all_only} is not in core");
        }
    }
}
