//! Marketplace stories (issue 12 "Stories, BMAD and QA"): the project's
//! story list, one story with its audit trail, create-or-update by
//! `epic.story`, and the workflow — validation, moves, `submit_story_pr`,
//! `submit_qa_review`, approval. Each tool calls the same `App` service as
//! its REST operation; the write tools parse the service's own input type
//! after splitting off the id, and the `*Args` structs only describe it.

#![allow(dead_code)] // the `*Args` of writes only describe the arguments, see above

use baton_app::{
    AppResult,
    marketplace::stories::{
        NewMarketStory, QaReviewInput, StoryApproval, StoryFilter, StoryPr, StoryTransition, ValidationInput,
    },
};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::tools::{Cx, parse, parse_with_id, to_json};

/// Arguments of `list_project_stories`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ListArgs {
    /// The project (product id; owners and members may use its code).
    project_id: String,
    /// Only this workflow state: draft, approved, in_progress, ready_for_review, done, blocked.
    #[serde(default)]
    workflow_status: Option<String>,
}

/// Arguments of the tools about one story.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct StoryArgs {
    /// The marketplace story's id.
    story_id: String,
}

/// Arguments of `upsert_market_story`.
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
pub(crate) struct UpsertArgs {
    /// The project (product id; owners and members may use its code).
    project_id: String,
    /// Epic number (≥ 1); its PBI is created ("Epic N") when missing.
    #[schemars(range(min = 1))]
    epic: i32,
    /// The story's number in the epic (`1`, `2b`) or the whole key (`3.1`).
    number: String,
    /// Title, 1–200 characters.
    title: String,
    /// Description (the BMAD "Story" section).
    description: Option<String>,
    /// Acceptance criteria.
    acceptance_criteria: Option<String>,
    /// Repository path of the BMAD story file, e.g. `docs/stories/3.1.login.md`.
    story_file: Option<String>,
    /// Title of the epic's PBI when it has to be created.
    epic_title: Option<String>,
}

/// Arguments of `record_story_validation`.
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
pub(crate) struct ValidationArgs {
    /// The marketplace story's id.
    story_id: String,
    /// Implementation readiness score, 1–10.
    #[schemars(range(min = 1, max = 10))]
    score: i32,
    /// `go` or `no_go`.
    decision: String,
}

/// Arguments of `transition_story`.
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
pub(crate) struct TransitionArgs {
    /// The marketplace story's id.
    story_id: String,
    /// `in_progress` (start an approved story), `blocked`, or back from blocked to where it was.
    to: String,
}

/// Arguments of `submit_story_pr`.
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
pub(crate) struct SubmitPrArgs {
    /// The marketplace story's id.
    story_id: String,
    /// `https://github.com/owner/repo/pull/N`.
    pr_url: String,
}

/// Arguments of `submit_qa_review`.
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
pub(crate) struct QaReviewArgs {
    /// The marketplace story's id.
    story_id: String,
    /// `pass`, `concerns`, `fail` or `waived`.
    gate: String,
    /// What you found, 1–4000 characters.
    notes: String,
    /// The main issues, at most 20.
    top_issues: Option<Vec<String>>,
    /// Quality score 0–100.
    #[schemars(range(min = 0, max = 100))]
    quality_score: Option<i32>,
}

/// Arguments of `approve_story`.
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
pub(crate) struct ApproveArgs {
    /// The marketplace story's id.
    story_id: String,
    /// Optional notes.
    notes: Option<String>,
}

/// `list_project_stories`.
pub(crate) async fn list(cx: &Cx<'_>, args: Value) -> AppResult<Value> {
    let a: ListArgs = parse(args)?;
    let filter = StoryFilter { workflow_status: a.workflow_status };
    // An object, as MCP structured content must be.
    let stories = cx.app.list_project_stories(cx.actor, &a.project_id, filter).await?;
    Ok(json!({ "stories": to_json(stories)? }))
}

/// `get_story_workflow`.
pub(crate) async fn detail(cx: &Cx<'_>, args: Value) -> AppResult<Value> {
    let a: StoryArgs = parse(args)?;
    to_json(cx.app.get_market_story(cx.actor, &a.story_id).await?)
}

/// `upsert_market_story`.
pub(crate) async fn upsert(cx: &Cx<'_>, args: Value) -> AppResult<Value> {
    let (project, input): (String, NewMarketStory) = parse_with_id(args, "project_id")?;
    to_json(cx.app.create_market_story(cx.actor, &project, input).await?)
}

/// `record_story_validation`.
pub(crate) async fn validation(cx: &Cx<'_>, args: Value) -> AppResult<Value> {
    let (id, input): (String, ValidationInput) = parse_with_id(args, "story_id")?;
    to_json(cx.app.record_validation(cx.actor, &id, input).await?)
}

/// `transition_story`.
pub(crate) async fn transition(cx: &Cx<'_>, args: Value) -> AppResult<Value> {
    let (id, input): (String, StoryTransition) = parse_with_id(args, "story_id")?;
    to_json(cx.app.transition_story(cx.actor, &id, input).await?)
}

/// `submit_story_pr`.
pub(crate) async fn submit_pr(cx: &Cx<'_>, args: Value) -> AppResult<Value> {
    let (id, input): (String, StoryPr) = parse_with_id(args, "story_id")?;
    to_json(cx.app.submit_story_pr(cx.actor, &id, input).await?)
}

/// `submit_qa_review`.
pub(crate) async fn qa_review(cx: &Cx<'_>, args: Value) -> AppResult<Value> {
    let (id, input): (String, QaReviewInput) = parse_with_id(args, "story_id")?;
    to_json(cx.app.submit_qa_review(cx.actor, &id, input).await?)
}

/// `approve_story`.
pub(crate) async fn approve(cx: &Cx<'_>, args: Value) -> AppResult<Value> {
    let (id, input): (String, StoryApproval) = parse_with_id(args, "story_id")?;
    to_json(cx.app.approve_story(cx.actor, &id, input).await?)
}
