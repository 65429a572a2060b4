//! The sprint tools: a sprint's stories (`add_stories_to_sprint`,
//! `remove_story_from_sprint`) and end (`close_sprint`, `archive_sprint`,
//! `fail_sprint`, `delete_sprint`); the sprint-run tools (reference §6):
//! `start_sprint_run`, `cancel_sprint_run` and `resume_sprint_run` for people and
//! orchestrators, and the batch worker's `update_task_execution` and
//! `verify_sprint_task` (a unified `diff` over HTTP, a local `worktree_path`
//! over stdio). Arguments and handlers live here so `tools.rs` only lists
//! and dispatches them (as for the other `*_tools` modules); every handler is a thin adapter over one service.

use baton_app::{
    AppResult,
    sprint_runs::{
        StartSprintRun,
        executions::{UpdateTaskExecution, VerifySprintTask},
    },
    sprints::{AddStories, CloseSprint},
};
use baton_domain::{
    agents::{AgentRuntime, TaskExecutionStatus},
    backlog::PrStrategy,
};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::{
    schema::api_enum_schema,
    tools::{Cx, parse, to_json},
};

api_enum_schema!(strategy_schema, opt_strategy_schema, PrStrategy);
api_enum_schema!(runtime_schema, opt_runtime_schema, AgentRuntime);
api_enum_schema!(execution_status_schema, opt_execution_status_schema, TaskExecutionStatus);

/// Arguments of `start_sprint_run`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct StartSprintRunArgs {
    /// The OPEN sprint to run (id, from `get_context`: `open_sprints[].id`).
    sprint_id: String,
    /// PR strategy for this run (default the product's): sprint_batch = one job for the whole sprint, story or sprint = one job per task.
    #[serde(default)]
    #[schemars(schema_with = "opt_strategy_schema")]
    pr_strategy: Option<PrStrategy>,
    /// Agent program for the run's jobs (default claude).
    #[serde(default)]
    #[schemars(schema_with = "opt_runtime_schema")]
    runtime: Option<AgentRuntime>,
}

/// Arguments of `update_task_execution`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct UpdateTaskExecutionArgs {
    /// The execution (`task_executions[].execution_id` of your sprint_implementation job).
    execution_id: String,
    /// running when you start the task; done (after `verify_sprint_task`), skipped (empty diff) or failed when it ends.
    #[schemars(schema_with = "execution_status_schema")]
    status: TaskExecutionStatus,
    /// The claim `attempt` from `wait_for_job`.
    #[serde(default)]
    attempt: Option<i32>,
    /// Commit the task's work starts from (hex).
    #[serde(default)]
    base_sha: Option<String>,
    /// Commit the task's work ended at (hex); give it with done so the next task diffs from it.
    #[serde(default)]
    head_sha: Option<String>,
    /// Why the task was skipped (≤ 2000).
    #[serde(default)]
    skip_reason: Option<String>,
}

/// Arguments of `verify_sprint_task` over HTTP.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct VerifySprintDiffArgs {
    /// The execution.
    execution_id: String,
    /// Unified diff of this task's commits (`git diff <base>...HEAD`), at most 5 MiB.
    diff: String,
    /// Explains any drift from the plan (≤ 1000; ≥ 20 characters needed for partial/divergent on aligned_or_partial tasks).
    #[serde(default)]
    summary: Option<String>,
    /// The claim `attempt` from `wait_for_job`.
    #[serde(default)]
    attempt: Option<i32>,
}

/// Arguments of `verify_sprint_task` over stdio.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct VerifySprintWorktreeArgs {
    /// The execution.
    execution_id: String,
    /// Absolute path of the git worktree with your commits.
    worktree_path: String,
    /// Explains any drift from the plan (≤ 1000).
    #[serde(default)]
    summary: Option<String>,
    /// The claim `attempt` from `wait_for_job`.
    #[serde(default)]
    attempt: Option<i32>,
}

/// `start_sprint_run`.
pub(crate) async fn start(cx: &Cx<'_>, args: Value) -> AppResult<Value> {
    let a: StartSprintRunArgs = parse(args)?;
    let input = StartSprintRun { pr_strategy: a.pr_strategy, runtime: a.runtime };
    to_json(cx.app.start_sprint_run(cx.actor, &a.sprint_id, input).await?)
}

/// `update_task_execution`.
pub(crate) async fn update_execution(cx: &Cx<'_>, args: Value) -> AppResult<Value> {
    let a: UpdateTaskExecutionArgs = parse(args)?;
    let input = UpdateTaskExecution {
        execution_id: a.execution_id,
        status: a.status,
        attempt: a.attempt,
        base_sha: a.base_sha,
        head_sha: a.head_sha,
        skip_reason: a.skip_reason,
    };
    to_json(cx.app.update_task_execution(cx.actor, input).await?)
}

/// `verify_sprint_task` with a diff (HTTP).
pub(crate) async fn verify_diff(cx: &Cx<'_>, args: Value) -> AppResult<Value> {
    let a: VerifySprintDiffArgs = parse(args)?;
    let input = VerifySprintTask { execution_id: a.execution_id, diff: a.diff, summary: a.summary, attempt: a.attempt };
    to_json(cx.app.verify_sprint_task(cx.actor, input).await?)
}

/// `verify_sprint_task` in a local worktree (stdio): resolves the base
/// (recorded on the execution), diffs `<base>...HEAD`, then verifies.
pub(crate) async fn verify_worktree(cx: &Cx<'_>, args: Value) -> AppResult<Value> {
    let a: VerifySprintWorktreeArgs = parse(args)?;
    let base = cx.app.sprint_execution_base(cx.actor, &a.execution_id, a.attempt).await?;
    let (diff, _) = crate::git::diff_against(&a.worktree_path, Some(&base)).await?;
    let input = VerifySprintTask { execution_id: a.execution_id, diff, summary: a.summary, attempt: a.attempt };
    to_json(cx.app.verify_sprint_task(cx.actor, input).await?)
}

/// Arguments of the tools that take only a sprint.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct SprintArgs {
    /// Sprint id or code (from `get_context`: `open_sprints[]`).
    sprint_id: String,
}

/// Arguments of `add_stories_to_sprint`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct AddStoriesArgs {
    /// An OPEN sprint (id or code).
    sprint_id: String,
    /// Story ids or codes (1–500), all of the sprint's product and not done.
    story_ids: Vec<String>,
}

/// Arguments of `remove_story_from_sprint`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RemoveStoryArgs {
    /// The sprint (id or code).
    sprint_id: String,
    /// The story (id or code) to send back to the product backlog.
    story_id: String,
}

/// Arguments of `close_sprint`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CloseSprintArgs {
    /// The OPEN sprint to close (id or code).
    sprint_id: String,
    /// An OPEN sprint of the same product to move unfinished stories to; absent or `null` = the product backlog.
    #[serde(default)]
    move_unfinished_to: Option<String>,
}

/// Arguments of `cancel_sprint_run` and `resume_sprint_run`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RunArgs {
    /// The sprint run's id (from `start_sprint_run` or a job payload).
    sprint_run_id: String,
}

/// `add_stories_to_sprint`.
pub(crate) async fn add_stories(cx: &Cx<'_>, args: Value) -> AppResult<Value> {
    let a: AddStoriesArgs = parse(args)?;
    to_json(cx.app.add_stories_to_sprint(cx.actor, &a.sprint_id, AddStories { story_ids: a.story_ids }).await?)
}

/// `remove_story_from_sprint`.
pub(crate) async fn remove_story(cx: &Cx<'_>, args: Value) -> AppResult<Value> {
    let a: RemoveStoryArgs = parse(args)?;
    cx.app.remove_story_from_sprint(cx.actor, &a.sprint_id, &a.story_id).await?;
    Ok(json!({ "removed": a.story_id }))
}

/// `close_sprint`.
pub(crate) async fn close(cx: &Cx<'_>, args: Value) -> AppResult<Value> {
    let a: CloseSprintArgs = parse(args)?;
    let input = CloseSprint { move_unfinished_to: a.move_unfinished_to };
    to_json(cx.app.close_sprint(cx.actor, &a.sprint_id, input).await?)
}

/// `archive_sprint`.
pub(crate) async fn archive(cx: &Cx<'_>, args: Value) -> AppResult<Value> {
    let a: SprintArgs = parse(args)?;
    to_json(cx.app.archive_sprint(cx.actor, &a.sprint_id).await?)
}

/// `fail_sprint`.
pub(crate) async fn fail(cx: &Cx<'_>, args: Value) -> AppResult<Value> {
    let a: SprintArgs = parse(args)?;
    to_json(cx.app.fail_sprint(cx.actor, &a.sprint_id).await?)
}

/// `delete_sprint`.
pub(crate) async fn delete(cx: &Cx<'_>, args: Value) -> AppResult<Value> {
    let a: SprintArgs = parse(args)?;
    cx.app.delete_sprint(cx.actor, &a.sprint_id).await?;
    Ok(json!({ "deleted": a.sprint_id }))
}

/// `cancel_sprint_run`.
pub(crate) async fn cancel_run(cx: &Cx<'_>, args: Value) -> AppResult<Value> {
    let a: RunArgs = parse(args)?;
    to_json(cx.app.cancel_sprint_run(cx.actor, &a.sprint_run_id).await?)
}

/// `resume_sprint_run`.
pub(crate) async fn resume_run(cx: &Cx<'_>, args: Value) -> AppResult<Value> {
    let a: RunArgs = parse(args)?;
    to_json(cx.app.resume_sprint_run(cx.actor, &a.sprint_run_id).await?)
}
