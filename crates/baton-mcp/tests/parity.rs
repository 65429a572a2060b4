//! REST/MCP parity (issue 11): every REST operation that changes data has
//! an MCP tool calling the same service, or is on [`EXCLUDED`] with the
//! reason. Both sides come from the code: the operations from the OpenAPI
//! document built from the API router (`baton_http::openapi`), the tools
//! from the MCP catalog (`baton_mcp::tool_names`).
//!
//! Operations are keyed by `METHOD /path` (paths relative to `/api`), not
//! by `operationId`: utoipa names an operation after its handler function,
//! so `create` or `update` appear in several modules; the message of a
//! failure shows the operationId too.

use std::collections::BTreeSet;

use baton_mcp::tool_names;

/// Each writing REST operation and the tool that does the same.
const MAPPED: &[(&str, &str)] = &[
    // Products, settings and members.
    ("POST /products", "create_product"),
    ("PATCH /products/{id}", "update_product"),
    ("DELETE /products/{id}", "delete_product"),
    ("POST /products/{id}/archive", "archive_product"),
    ("POST /products/{id}/unarchive", "unarchive_product"),
    ("POST /products/{id}/members", "add_member"),
    ("PATCH /products/{id}/members/{user_id}", "update_member"),
    ("DELETE /products/{id}/members/{user_id}", "remove_member"),
    ("POST /products/import", "import_product"),
    // Backlog items.
    ("POST /products/{id}/pbis", "create_pbi"),
    ("PATCH /pbis/{id}", "update_pbi"),
    ("DELETE /pbis/{id}", "delete_pbi"),
    ("POST /pbis/{id}/move", "move_pbi"),
    ("PUT /pbis/{id}/pr", "set_pbi_pr"),
    ("POST /pbis/{id}/pr/merged", "mark_pbi_pr_merged"),
    ("POST /pbis/{id}/stories", "create_story"),
    ("PATCH /stories/{id}", "update_story"),
    ("DELETE /stories/{id}", "delete_story"),
    ("POST /stories/{id}/move", "move_story"),
    // One endpoint for every log type; MCP has log_test_result and log_commit too.
    ("POST /stories/{id}/log", "log_implementation"),
    ("POST /stories/{id}/tasks", "create_task"),
    ("PATCH /tasks/{id}", "update_task"),
    ("DELETE /tasks/{id}", "delete_task"),
    ("POST /tasks/{id}/move", "move_task"),
    ("POST /bulk/status", "bulk_status"),
    ("POST /bulk/move-to-sprint", "bulk_move_to_sprint"),
    ("POST /bulk/reorder", "bulk_reorder"),
    // Sprints and sprint runs.
    ("POST /products/{id}/sprints", "create_sprint"),
    ("PATCH /sprints/{id}", "update_sprint"),
    ("DELETE /sprints/{id}", "delete_sprint"),
    ("POST /sprints/{id}/stories", "add_stories_to_sprint"),
    ("DELETE /sprints/{id}/stories/{story_id}", "remove_story_from_sprint"),
    ("POST /sprints/{id}/close", "close_sprint"),
    ("POST /sprints/{id}/archive", "archive_sprint"),
    ("POST /sprints/{id}/fail", "fail_sprint"),
    ("POST /sprints/{id}/runs", "start_sprint_run"),
    ("POST /sprint-runs/{id}/cancel", "cancel_sprint_run"),
    ("POST /sprint-runs/{id}/resume", "resume_sprint_run"),
    // The queue.
    ("POST /tasks/{id}/jobs", "dispatch_job"),
    ("POST /jobs/{id}/cancel", "cancel_job"),
    ("POST /jobs/{id}/retry", "retry_job"),
    ("POST /jobs/{id}/requeue", "requeue_job"),
    // Administration of the queue.
    ("PUT /admin/job-kinds/{kind}", "set_job_kind_config"),
    // Presence: `worker_heartbeat` registers (upserts) the calling worker.
    ("POST /workers", "worker_heartbeat"),
    // Questions.
    ("POST /questions/{id}/answer", "answer_question"),
    ("POST /questions/{id}/cancel", "cancel_question"),
    // Marketplace deliverables and ratings (market_review_tools.rs).
    ("POST /opportunities/{id}/deliverables", "submit_deliverable"),
    ("POST /deliverables/{id}/review", "review_deliverable"),
    ("POST /projects/{id}/ratings", "rate_expert"),
    ("POST /projects/{id}/documents", "upload_document"),
    ("DELETE /documents/{id}", "delete_document"),
    // Ideas (idea_tools.rs; `update_idea` in idea_admin_tools.rs).
    ("POST /ideas", "create_idea"),
    ("PATCH /ideas/{id}", "update_idea"),
    ("POST /ideas/{id}/logs", "log_idea_decision"),
    ("PUT /ideas/{id}/grill-md", "update_idea_grill_md"),
    ("PUT /ideas/{id}/plan-md", "update_idea_plan_md"),
    ("POST /ideas/{id}/dispatch", "dispatch_idea_job"),
    ("POST /ideas/{id}/materialize", "materialize_idea"),
    // Marketplace stories (market_story_tools.rs).
    ("POST /projects/{id}/stories", "upsert_market_story"),
    ("POST /stories/{id}/validation", "record_story_validation"),
    ("POST /stories/{id}/transition", "transition_story"),
    ("POST /stories/{id}/submit-pr", "submit_story_pr"),
    ("POST /stories/{id}/qa-review", "submit_qa_review"),
    ("POST /stories/{id}/approve", "approve_story"),
    // The BMAD import (market_import_tools.rs).
    ("POST /projects/{id}/import/bmad", "import_bmad"),
    // The marketplace (market_tools.rs).
    ("PUT /me/roles", "set_my_roles"),
    ("POST /projects", "create_project"),
    ("PATCH /projects/{id}", "update_project"),
    ("PUT /projects/{id}/brief", "update_brief"),
    ("POST /projects/{id}/brief/publish", "publish_brief"),
    ("POST /projects/{id}/advance-stage", "advance_project_stage"),
    ("POST /projects/{id}/opportunities", "post_opportunity"),
    ("POST /opportunities/{id}/bids", "submit_bid"),
    ("POST /bids/{id}/withdraw", "withdraw_bid"),
    ("POST /bids/{id}/reject", "reject_bid"),
    ("POST /bids/{id}/accept", "accept_bid"),
    // Marketplace escrows (market_escrow_tools.rs).
    ("POST /escrows/{id}/fund", "fund_escrow"),
    ("POST /escrows/{id}/release", "record_escrow_release"),
    ("POST /escrows/{id}/refund", "refund_escrow"),
];

/// Writing REST operations deliberately without a tool, each with why.
const EXCLUDED: &[(&str, &str)] = &[
    // A token must not mint or revoke tokens: an agent could give itself
    // a lasting credential. Tokens come from the settings page or `baton token create`.
    ("POST /tokens", "tokens are created by a person in the browser or the CLI"),
    ("DELETE /tokens/{id}", "tokens are revoked by a person in the browser or the CLI"),
    // Accounts are an administrator's business, not an agent's.
    ("POST /users", "user accounts are created by an administrator (admin page or CLI)"),
    ("PATCH /users/{id}", "user accounts are changed by an administrator (admin page or CLI)"),
    ("POST /admin/model-prices", "the price table is administrator configuration (admin page)"),
    ("PATCH /admin/model-prices/{id}", "the price table is administrator configuration (admin page)"),
    ("DELETE /admin/model-prices/{id}", "the price table is administrator configuration (admin page)"),
    ("POST /cron/expire-questions", "a scheduler endpoint (cron), not an action of a person or agent"),
    ("PUT /me/active-product", "a browser preference: which product the pages open"),
    ("DELETE /workers/{instance_id}", "a stopping runner signs off over REST; an MCP session ends with its process"),
];

/// Every writing operation of the API as `(METHOD /path, operationId)`,
/// read from the OpenAPI document as JSON (what `/api/openapi.json` serves).
fn write_operations() -> Vec<(String, String)> {
    let doc = serde_json::to_value(baton_http::openapi()).expect("the OpenAPI document serializes");
    let paths = doc["paths"].as_object().expect("paths");
    let mut ops = Vec::new();
    for (path, item) in paths {
        for method in ["post", "put", "patch", "delete"] {
            if let Some(op) = item.get(method) {
                let id = op["operationId"].as_str().unwrap_or_default().to_string();
                ops.push((format!("{} {path}", method.to_uppercase()), id));
            }
        }
    }
    ops
}

#[test]
fn every_writing_rest_operation_has_a_tool_or_a_reason() {
    let ops = write_operations();
    assert!(ops.len() > 40, "the OpenAPI document lists the API's writes ({} found)", ops.len());
    let tools: BTreeSet<&str> = tool_names().into_iter().collect();
    let mut problems = Vec::new();

    for (op, operation_id) in &ops {
        let mapped = MAPPED.iter().any(|(o, _)| o == op);
        let excluded = EXCLUDED.iter().any(|(o, _)| o == op);
        match (mapped, excluded) {
            (false, false) => problems.push(format!(
                "{op} (operationId {operation_id}) has no MCP tool: add one and map it, or exclude it with a reason"
            )),
            (true, true) => problems.push(format!("{op} is both mapped and excluded")),
            _ => {}
        }
    }
    for (op, tool) in MAPPED {
        if !tools.contains(tool) {
            problems.push(format!("{op} is mapped to `{tool}`, which is not in the MCP catalog"));
        }
        if !ops.iter().any(|(o, _)| o == op) {
            problems.push(format!("{op} (mapped to `{tool}`) is not an operation of the API any more"));
        }
    }
    for (op, reason) in EXCLUDED {
        assert!(!reason.trim().is_empty(), "{op} needs a reason");
        if !ops.iter().any(|(o, _)| o == op) {
            problems.push(format!("{op} is excluded but is not an operation of the API any more"));
        }
    }
    assert!(problems.is_empty(), "REST/MCP parity:\n{}", problems.join("\n"));
}

#[test]
fn the_parity_tables_name_each_operation_once() {
    let mut seen = BTreeSet::new();
    for (op, _) in MAPPED.iter().chain(EXCLUDED) {
        assert!(seen.insert(*op), "{op} appears twice");
        let (method, path) = op.split_once(' ').expect("METHOD /path");
        assert!(["POST", "PUT", "PATCH", "DELETE"].contains(&method), "{op}: only writes are listed");
        assert!(path.starts_with('/'), "{op}");
    }
}
