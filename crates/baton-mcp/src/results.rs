//! Tool result conventions (reference §1.3), in one place:
//!
//! - success: the value as pretty JSON text **and** as `structuredContent`
//!   (arrays and primitives wrapped as `{"result": …}`);
//! - failure: `isError: true` with one text block whose prefix tells the
//!   agent what to do: `PERMISSION_DENIED: …` (no access, demo account,
//!   not this token's job), `VALIDATION_ERROR: path: msg; …` (fix the
//!   arguments), or a plain message for state conflicts (which already
//!   carry their own prefix such as `JOB_CANCELLED:`).
//!
//! [`tool_error`] is the only function that turns an [`AppError`] into a
//! tool error.

use baton_app::AppError;
use baton_domain::ValidationErrors;
use rmcp::model::{CallToolResult, ContentBlock};
use serde_json::{Value, json};

/// The prefix of access failures.
pub const PERMISSION_DENIED: &str = "PERMISSION_DENIED";
/// The prefix of invalid arguments.
pub const VALIDATION_ERROR: &str = "VALIDATION_ERROR";

/// A successful tool result: pretty JSON text plus `structuredContent`.
pub fn success(value: Value) -> CallToolResult {
    let value = match value {
        Value::Object(_) => value,
        other => json!({ "result": other }),
    };
    let text = serde_json::to_string_pretty(&value).unwrap_or_else(|_| value.to_string());
    let mut result = CallToolResult::success(vec![ContentBlock::text(text)]);
    result.structured_content = Some(value);
    result
}

/// A failed tool result with exactly this message.
pub fn failure(message: impl Into<String>) -> CallToolResult {
    CallToolResult::error(vec![ContentBlock::text(message.into())])
}

/// `path: msg; path: msg` with a root-level issue shown as `(root)`.
pub fn validation_summary(errs: &ValidationErrors) -> String {
    errs.0
        .iter()
        .map(|e| {
            let path = match e.path.as_str() {
                "" | "." | "$" => "(root)",
                p => p,
            };
            format!("{path}: {}", e.message)
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// The one mapping from a service error to the message an agent sees.
pub fn error_message(e: &AppError) -> String {
    match e {
        AppError::Validation(errs) => format!("{VALIDATION_ERROR}: {}", validation_summary(errs)),
        AppError::DemoReadOnly => format!("{PERMISSION_DENIED}: Demo accounts cannot perform write operations"),
        AppError::Forbidden(m) | AppError::Unauthorized(m) => format!("{PERMISSION_DENIED}: {m}"),
        // Not found and not visible are the same answer, so ids cannot be probed.
        AppError::NotFound(what) => format!("{PERMISSION_DENIED}: {what} not found or not accessible with this token"),
        AppError::Conflict(m) => m.clone(),
        AppError::Unavailable(m) => format!("UNAVAILABLE: {m}"),
        AppError::RateLimited { retry_after_secs } => {
            format!("RATE_LIMITED: too many attempts; try again in {retry_after_secs} s")
        }
        AppError::Internal(m) => {
            tracing::error!(error = %format_args!("{m:#}"), "MCP tool failed");
            "INTERNAL_ERROR: something went wrong on Baton's side; the details are in the server log".into()
        }
    }
}

/// The one mapping from a service error to a tool error result.
pub fn tool_error(e: &AppError) -> CallToolResult {
    failure(error_message(e))
}

/// A tool outcome as the agent sees it.
pub fn outcome(r: Result<Value, AppError>) -> CallToolResult {
    match r {
        Ok(v) => success(v),
        Err(e) => tool_error(&e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(r: &CallToolResult) -> String {
        r.content[0].as_text().map(|t| t.text.clone()).unwrap_or_default()
    }

    #[test]
    fn validation_errors_name_every_path_and_show_the_root_as_root() {
        let mut errs = ValidationErrors::new();
        errs.add("title", "must not be empty");
        errs.add(".", "give at least one field");
        let r = tool_error(&AppError::Validation(errs));
        assert_eq!(r.is_error, Some(true));
        assert_eq!(text(&r), "VALIDATION_ERROR: title: must not be empty; (root): give at least one field");
    }

    #[test]
    fn access_failures_are_permission_denied_and_conflicts_keep_their_message() {
        assert!(text(&tool_error(&AppError::DemoReadOnly)).starts_with("PERMISSION_DENIED: Demo accounts"));
        assert!(text(&tool_error(&AppError::NotFound("task"))).starts_with("PERMISSION_DENIED: task not found"));
        assert!(text(&tool_error(&AppError::Forbidden("read-only member".into()))).starts_with("PERMISSION_DENIED: "));
        assert_eq!(text(&tool_error(&AppError::Conflict("JOB_CANCELLED: stop".into()))), "JOB_CANCELLED: stop");
        assert!(!text(&tool_error(&AppError::Internal("db password xyz".into()))).contains("xyz"));
    }

    #[test]
    fn success_carries_pretty_text_and_structured_content_and_wraps_non_objects() {
        let r = success(json!({"a": 1}));
        assert_eq!(r.is_error, Some(false));
        assert_eq!(r.structured_content, Some(json!({"a": 1})));
        assert_eq!(text(&r), "{\n  \"a\": 1\n}");
        assert_eq!(success(json!([1, 2])).structured_content, Some(json!({"result": [1, 2]})));
    }
}
