//! Editing the backlog: `update_*`, `delete_*` and `move_*` of PBIs,
//! stories and tasks.
//!
//! The changes are the services' own input types (`PbiPatch`, `StoryPatch`,
//! `TaskPatch`, `MoveTo`, which deny unknown fields and tell `null` from
//! absent), parsed after the item reference is split off: a tool accepts
//! exactly what `PATCH /api/pbis/{id}` and friends accept. The `…Args`
//! structs only describe those fields to the agent; they are never built.

#![allow(dead_code)] // the `…Args` structs are schema descriptions only, see above

use baton_app::{
    AppResult,
    backlog::{MoveTo, pbis::PbiPatch, stories::StoryPatch, tasks::TaskPatch},
};
use baton_domain::backlog::{PbiStatus, StoryStatus, TaskStatus, VerifyRequired};
use schemars::JsonSchema;
use serde_json::{Value, json};

use crate::{
    schema::api_enum_schema,
    tools::{Cx, parse_with_id, to_json},
};

api_enum_schema!(pbi_status_schema, opt_pbi_status_schema, PbiStatus);
api_enum_schema!(story_status_schema, opt_story_status_schema, StoryStatus);
api_enum_schema!(task_status_schema, opt_task_status_schema, TaskStatus);
api_enum_schema!(verify_required_schema, opt_verify_required_schema, VerifyRequired);

/// Arguments of `update_pbi`; absent fields stay, give at least one.
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
pub(crate) struct UpdatePbiArgs {
    /// PBI id or code (`PBI-3`).
    pbi_id: String,
    /// New title, 1–200 characters.
    title: Option<String>,
    /// New description, at most 4000 characters; `null` clears it.
    description: Option<String>,
    /// New priority, 1–4.
    #[schemars(range(min = 1, max = 4))]
    priority: Option<i32>,
    /// Set the status by hand (blocked is only set this way; the others follow the stories).
    #[schemars(schema_with = "opt_pbi_status_schema")]
    status: Option<PbiStatus>,
}

/// Arguments of `update_story`; absent fields stay, give at least one.
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
pub(crate) struct UpdateStoryArgs {
    /// Story id or code (`ST-001`).
    story_id: String,
    /// New title, 1–200 characters.
    title: Option<String>,
    /// New description, at most 4000 characters; `null` clears it.
    description: Option<String>,
    /// New acceptance criteria, at most 4000 characters; `null` clears them.
    acceptance_criteria: Option<String>,
    /// New priority, 1–4.
    #[schemars(range(min = 1, max = 4))]
    priority: Option<i32>,
    /// Move the story to another PBI of the same product (id or code); it goes to that PBI's end.
    pbi_id: Option<String>,
    /// New assignee (owner or member of the product); `null` clears it.
    assignee_id: Option<String>,
    /// Only for a story without tasks: open or in_sprint (matching whether it is in a sprint), done or failed.
    #[schemars(schema_with = "opt_story_status_schema")]
    status: Option<StoryStatus>,
}

/// Arguments of `update_task`; absent fields stay, give at least one.
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
pub(crate) struct UpdateTaskArgs {
    /// Task id or code (`T-12`).
    task_id: String,
    /// New title, 1–200 characters.
    title: Option<String>,
    /// New description, at most 4000 characters; `null` clears it.
    description: Option<String>,
    /// New plan, at most 8000 characters; `null` clears it.
    implementation_plan: Option<String>,
    /// New priority, 1–4.
    #[schemars(range(min = 1, max = 4))]
    priority: Option<i32>,
    /// New status; story, PBI, sprint (and sprint run) follow in the same transaction.
    #[schemars(schema_with = "opt_task_status_schema")]
    status: Option<TaskStatus>,
    /// With `status`, from an agent working in a sprint run: the run.
    sprint_run_id: Option<String>,
    /// Move the task to another story of the same product (id or code); it takes that story's sprint.
    story_id: Option<String>,
    /// The task only verifies: an empty diff is acceptable.
    verify_only: Option<bool>,
    /// Weakest verify result that lets the job finish.
    #[schemars(schema_with = "opt_verify_required_schema")]
    verify_required: Option<VerifyRequired>,
    /// Needs the strongest model.
    requires_opus: Option<bool>,
    /// Repository URL overriding the product's; `null` clears it.
    repo_url: Option<String>,
}

/// Arguments of `move_pbi`, `move_story` and `move_task`: the item and
/// exactly one of `before_id`, `after_id`, `index`.
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
pub(crate) struct MoveArgs {
    /// The item to move: PBI, story or task id or code (`PBI-3`, `ST-001`, `T-12`).
    id: String,
    /// Place it just before this sibling (id or code).
    before_id: Option<String>,
    /// Place it just after this sibling (id or code).
    after_id: Option<String>,
    /// 0-based position among the siblings after the move; past the end appends.
    #[schemars(range(min = 0))]
    index: Option<u64>,
}

/// Arguments of `delete_pbi`, `delete_story` and `delete_task`.
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
pub(crate) struct DeleteArgs {
    /// The item to delete: PBI, story or task id or code; a PBI takes its stories, tasks and logs with it.
    id: String,
}

/// No further arguments (an unknown one is a validation error).
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Nothing {}

/// `update_pbi`.
pub(crate) async fn update_pbi(cx: &Cx<'_>, args: Value) -> AppResult<Value> {
    let (id, patch): (String, PbiPatch) = parse_with_id(args, "pbi_id")?;
    to_json(cx.app.update_pbi(cx.actor, &id, patch).await?)
}

/// `update_story`.
pub(crate) async fn update_story(cx: &Cx<'_>, args: Value) -> AppResult<Value> {
    let (id, patch): (String, StoryPatch) = parse_with_id(args, "story_id")?;
    to_json(cx.app.update_story(cx.actor, &id, patch).await?)
}

/// `update_task`.
pub(crate) async fn update_task(cx: &Cx<'_>, args: Value) -> AppResult<Value> {
    let (id, patch): (String, TaskPatch) = parse_with_id(args, "task_id")?;
    to_json(cx.app.update_task(cx.actor, &id, patch).await?)
}

/// `move_pbi`.
pub(crate) async fn move_pbi(cx: &Cx<'_>, args: Value) -> AppResult<Value> {
    let (id, to): (String, MoveTo) = parse_with_id(args, "id")?;
    to_json(cx.app.move_pbi(cx.actor, &id, to).await?)
}

/// `move_story`.
pub(crate) async fn move_story(cx: &Cx<'_>, args: Value) -> AppResult<Value> {
    let (id, to): (String, MoveTo) = parse_with_id(args, "id")?;
    to_json(cx.app.move_story(cx.actor, &id, to).await?)
}

/// `move_task`.
pub(crate) async fn move_task(cx: &Cx<'_>, args: Value) -> AppResult<Value> {
    let (id, to): (String, MoveTo) = parse_with_id(args, "id")?;
    to_json(cx.app.move_task(cx.actor, &id, to).await?)
}

/// `delete_pbi`, `delete_story` and `delete_task`.
pub(crate) async fn delete(cx: &Cx<'_>, args: Value, kind: &str) -> AppResult<Value> {
    let (id, Nothing {}): (String, Nothing) = parse_with_id(args, "id")?;
    match kind {
        "pbi" => cx.app.delete_pbi(cx.actor, &id).await?,
        "story" => cx.app.delete_story(cx.actor, &id).await?,
        _ => cx.app.delete_task(cx.actor, &id).await?,
    }
    Ok(json!({ "deleted": id }))
}
