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

/// Appends `entry` to the story's log.
async fn append(cx: &Cx<'_>, story_id: &str, entry: NewStoryLog) -> AppResult<Value> {
    to_json(cx.app.add_story_log(cx.actor, story_id, entry).await?)
}

/// An entry of `kind` without test status or commit.
fn entry(kind: StoryLogType, content: String, metadata: Option<Value>) -> NewStoryLog {
    NewStoryLog { kind, content, status: None, commit_hash: None, commit_message: None, metadata }
}

/// `log_implementation`.
pub(crate) async fn log_implementation(cx: &Cx<'_>, args: Value) -> AppResult<Value> {
    let a: LogImplementationArgs = parse(args)?;
    append(cx, &a.story_id, entry(StoryLogType::ImplementationPlan, a.content, a.metadata)).await
}

/// `log_test_result`.
pub(crate) async fn log_test_result(cx: &Cx<'_>, args: Value) -> AppResult<Value> {
    let a: LogTestResultArgs = parse(args)?;
    let input = NewStoryLog { status: Some(a.status), ..entry(StoryLogType::TestResult, a.content, a.metadata) };
    append(cx, &a.story_id, input).await
}

/// `log_commit`.
pub(crate) async fn log_commit(cx: &Cx<'_>, args: Value) -> AppResult<Value> {
    let a: LogCommitArgs = parse(args)?;
    let input = NewStoryLog {
        commit_hash: Some(a.commit_hash),
        commit_message: Some(a.commit_message),
        ..entry(StoryLogType::Commit, a.content, a.metadata)
    };
    append(cx, &a.story_id, input).await
}
