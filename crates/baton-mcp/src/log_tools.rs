//! The story log: `log_implementation`, `log_test_result`, `log_commit`.

use baton_app::{AppResult, backlog::story_logs::NewStoryLog};
use baton_domain::backlog::{StoryLogType, TestStatus};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;

use crate::{
    schema::{api_enum_schema, opt_object_schema},
    tools::{Cx, parse, to_json},
};

api_enum_schema!(test_status_schema, opt_test_status_schema, TestStatus);

/// Arguments of `log_implementation`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct LogImplementationArgs {
    /// Story id or code (`ST-001`).
    story_id: String,
    /// What was implemented and how (markdown).
    content: String,
    /// Optional JSON object (at most 16 KiB).
    #[serde(default)]
    #[schemars(schema_with = "opt_object_schema")]
    metadata: Option<Value>,
}

/// Arguments of `log_test_result`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct LogTestResultArgs {
    /// Story id or code (`ST-001`).
    story_id: String,
    /// The test run: command and summary of its output.
    content: String,
    /// Whether the tests passed.
    #[schemars(schema_with = "test_status_schema")]
    status: TestStatus,
    /// Optional JSON object (at most 16 KiB).
    #[serde(default)]
    #[schemars(schema_with = "opt_object_schema")]
    metadata: Option<Value>,
}

/// Arguments of `log_commit`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct LogCommitArgs {
    /// Story id or code (`ST-001`).
    story_id: String,
    /// Note about the commit.
    content: String,
    /// The commit hash, 7–64 hex digits.
    commit_hash: String,
    /// The commit message (at most 4000 characters).
    commit_message: String,
    /// Optional JSON object (at most 16 KiB).
    #[serde(default)]
    #[schemars(schema_with = "opt_object_schema")]
    metadata: Option<Value>,
}

/// `log_implementation`.
pub(crate) async fn log_implementation(cx: &Cx<'_>, args: Value) -> AppResult<Value> {
    let (app, actor) = (cx.app, cx.actor);
    let a: LogImplementationArgs = parse(args)?;
    let input = NewStoryLog {
        kind: StoryLogType::ImplementationPlan,
        content: a.content,
        status: None,
        commit_hash: None,
        commit_message: None,
        metadata: a.metadata,
    };
    to_json(app.add_story_log(actor, &a.story_id, input).await?)
}

/// `log_test_result`.
pub(crate) async fn log_test_result(cx: &Cx<'_>, args: Value) -> AppResult<Value> {
    let (app, actor) = (cx.app, cx.actor);
    let a: LogTestResultArgs = parse(args)?;
    let input = NewStoryLog {
        kind: StoryLogType::TestResult,
        content: a.content,
        status: Some(a.status),
        commit_hash: None,
        commit_message: None,
        metadata: a.metadata,
    };
    to_json(app.add_story_log(actor, &a.story_id, input).await?)
}

/// `log_commit`.
pub(crate) async fn log_commit(cx: &Cx<'_>, args: Value) -> AppResult<Value> {
    let (app, actor) = (cx.app, cx.actor);
    let a: LogCommitArgs = parse(args)?;
    let input = NewStoryLog {
        kind: StoryLogType::Commit,
        content: a.content,
        status: None,
        commit_hash: Some(a.commit_hash),
        commit_message: Some(a.commit_message),
        metadata: a.metadata,
    };
    to_json(app.add_story_log(actor, &a.story_id, input).await?)
}
