//! Backlog authoring and progress: PBIs, stories, tasks and sprints
//! (`create_*`, `update_sprint`), a task's status and plan, and a PBI's
//! pull request (`set_pbi_pr`, `mark_pbi_pr_merged`).

use baton_app::{
    AppResult,
    backlog::{pbis::NewPbi, stories::NewStory, tasks::NewTask},
    sprints::{NewSprint, SprintPatch},
};
use baton_domain::backlog::{SprintStatus, TaskStatus, VerifyRequired};
use chrono::NaiveDate;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;

use crate::{
    schema::{api_enum_schema, opt_date_schema},
    tools::{Cx, parse, to_json},
};

api_enum_schema!(task_status_schema, opt_task_status_schema, TaskStatus);
api_enum_schema!(sprint_status_schema, opt_sprint_status_schema, SprintStatus);
api_enum_schema!(verify_required_schema, opt_verify_required_schema, VerifyRequired);

/// Arguments of `create_pbi`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreatePbiArgs {
    /// Product id or code (from `list_products`).
    product_id: String,
    /// Title, 1–200 characters.
    title: String,
    /// Description, at most 4000 characters.
    #[serde(default)]
    description: Option<String>,
    /// 1 (critical) to 4 (nice to have); default 2.
    #[serde(default)]
    #[schemars(range(min = 1, max = 4))]
    priority: Option<i32>,
}

/// Arguments of `create_story`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateStoryArgs {
    /// PBI id or code (`PBI-3`) the story belongs to; the product is taken from it.
    pbi_id: String,
    /// Title, 1–200 characters.
    title: String,
    /// Description, at most 4000 characters.
    #[serde(default)]
    description: Option<String>,
    /// Acceptance criteria, at most 4000 characters.
    #[serde(default)]
    acceptance_criteria: Option<String>,
    /// 1 (critical) to 4 (nice to have); default 2.
    #[serde(default)]
    #[schemars(range(min = 1, max = 4))]
    priority: Option<i32>,
    /// An OPEN sprint of the same product (id or code, see `get_context`); the story starts in_sprint.
    #[serde(default)]
    sprint_id: Option<String>,
}

/// Arguments of `create_task`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateTaskArgs {
    /// Story id or code (`ST-001`); the task inherits its product and sprint.
    story_id: String,
    /// Title, 1–200 characters.
    title: String,
    /// Description, at most 4000 characters.
    #[serde(default)]
    description: Option<String>,
    /// Markdown plan naming the files to change, at most 8000 characters (checked by `verify_task_against_plan`).
    #[serde(default)]
    implementation_plan: Option<String>,
    /// 1 (critical) to 4 (nice to have); default 2.
    #[serde(default)]
    #[schemars(range(min = 1, max = 4))]
    priority: Option<i32>,
    /// Repository URL overriding the product's.
    #[serde(default)]
    repo_url: Option<String>,
    /// The task only verifies: an empty diff is acceptable (default false).
    #[serde(default)]
    verify_only: Option<bool>,
    /// Weakest verify result that lets the job finish (default aligned_or_partial).
    #[serde(default)]
    #[schemars(schema_with = "opt_verify_required_schema")]
    verify_required: Option<VerifyRequired>,
    /// Needs the strongest model (default false).
    #[serde(default)]
    requires_opus: Option<bool>,
}

/// Arguments of `create_sprint`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateSprintArgs {
    /// Product id or code (from `list_products`).
    product_id: String,
    /// What the sprint is meant to achieve, 1–500 characters.
    sprint_goal: String,
    /// Explicit code (at most 30 characters, unique in the product); default `SP-N`.
    #[serde(default)]
    code: Option<String>,
    /// First day, `YYYY-MM-DD`; default today (UTC).
    #[serde(default)]
    #[schemars(schema_with = "opt_date_schema")]
    start_date: Option<NaiveDate>,
    /// Last day, `YYYY-MM-DD`; not before the start date.
    #[serde(default)]
    #[schemars(schema_with = "opt_date_schema")]
    end_date: Option<NaiveDate>,
}

/// Arguments of `update_sprint`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct UpdateSprintArgs {
    /// Sprint id (from `get_context`: `open_sprints[].id`, or `create_sprint`).
    sprint_id: String,
    /// New status; no state machine (the last write wins). A terminal status sets a missing end_date to today.
    #[serde(default)]
    #[schemars(schema_with = "opt_sprint_status_schema")]
    status: Option<SprintStatus>,
    /// New goal, 1–500 characters.
    #[serde(default)]
    sprint_goal: Option<String>,
    /// New first day, `YYYY-MM-DD`.
    #[serde(default)]
    #[schemars(schema_with = "opt_date_schema")]
    start_date: Option<NaiveDate>,
    /// New last day, `YYYY-MM-DD`.
    #[serde(default)]
    #[schemars(schema_with = "opt_date_schema")]
    end_date: Option<NaiveDate>,
}

/// Arguments of `update_task_status`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct UpdateTaskStatusArgs {
    /// Task id or code (`T-12`), e.g. from `get_sprint_context` or the job payload of `wait_for_job`.
    task_id: String,
    /// New status; the story, PBI and sprint follow automatically.
    #[schemars(schema_with = "task_status_schema")]
    status: TaskStatus,
    /// The sprint run you are working in (from the job payload), if any.
    #[serde(default)]
    sprint_run_id: Option<String>,
}

/// Arguments of `update_task_plan`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct UpdateTaskPlanArgs {
    /// Task id or code (`T-12`).
    task_id: String,
    /// The new markdown plan (at most 8000 characters) naming the files to change; `null` clears it.
    implementation_plan: Option<String>,
}

/// Arguments of `set_pbi_pr`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct SetPbiPrArgs {
    /// PBI id or code (`PBI-3`).
    pbi_id: String,
    /// The pull request URL: `https://host/owner/repo/pull/N` (GitHub), `…/owner/repo/pulls/N` (Forgejo, Gitea) or `…/group/repo/-/merge_requests/N` (GitLab), on the product repository's host or an allowed host.
    pr_url: String,
}

/// Arguments of `mark_pbi_pr_merged`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct PbiArgs {
    /// PBI id or code (`PBI-3`).
    pbi_id: String,
}

/// `create_pbi`.
pub(crate) async fn create_pbi(cx: &Cx<'_>, args: Value) -> AppResult<Value> {
    let (app, actor) = (cx.app, cx.actor);
    let a: CreatePbiArgs = parse(args)?;
    let input = NewPbi { title: a.title, description: a.description, priority: a.priority };
    to_json(app.create_pbi(actor, &a.product_id, input).await?)
}

/// `create_story`.
pub(crate) async fn create_story(cx: &Cx<'_>, args: Value) -> AppResult<Value> {
    let (app, actor) = (cx.app, cx.actor);
    let a: CreateStoryArgs = parse(args)?;
    let input = NewStory {
        title: a.title,
        description: a.description,
        acceptance_criteria: a.acceptance_criteria,
        priority: a.priority,
        sprint_id: a.sprint_id,
        assignee_id: None,
    };
    to_json(app.create_story(actor, &a.pbi_id, input).await?)
}

/// `create_task`.
pub(crate) async fn create_task(cx: &Cx<'_>, args: Value) -> AppResult<Value> {
    let (app, actor) = (cx.app, cx.actor);
    let a: CreateTaskArgs = parse(args)?;
    let input = NewTask {
        title: a.title,
        description: a.description,
        implementation_plan: a.implementation_plan,
        priority: a.priority,
        verify_only: a.verify_only,
        verify_required: a.verify_required,
        requires_opus: a.requires_opus,
        repo_url: a.repo_url,
    };
    to_json(app.create_task(actor, &a.story_id, input).await?)
}

/// `create_sprint`.
pub(crate) async fn create_sprint(cx: &Cx<'_>, args: Value) -> AppResult<Value> {
    let (app, actor) = (cx.app, cx.actor);
    let a: CreateSprintArgs = parse(args)?;
    let input = NewSprint { sprint_goal: a.sprint_goal, code: a.code, start_date: a.start_date, end_date: a.end_date };
    // The sprint service takes a product id; accept a code like the other tools do.
    let product = app.get_product(actor, &a.product_id).await?;
    to_json(app.create_sprint(actor, &product.id, input).await?)
}

/// `update_sprint`.
pub(crate) async fn update_sprint(cx: &Cx<'_>, args: Value) -> AppResult<Value> {
    let (app, actor) = (cx.app, cx.actor);
    let a: UpdateSprintArgs = parse(args)?;
    let patch = SprintPatch {
        sprint_goal: a.sprint_goal,
        start_date: a.start_date.map(Some),
        end_date: a.end_date.map(Some),
        status: a.status,
    };
    to_json(app.update_sprint(actor, &a.sprint_id, patch).await?)
}

/// `update_task_status`.
pub(crate) async fn update_task_status(cx: &Cx<'_>, args: Value) -> AppResult<Value> {
    let (app, actor) = (cx.app, cx.actor);
    let a: UpdateTaskStatusArgs = parse(args)?;
    to_json(app.update_task_status(actor, &a.task_id, a.status, a.sprint_run_id).await?)
}

/// `update_task_plan`.
pub(crate) async fn update_task_plan(cx: &Cx<'_>, args: Value) -> AppResult<Value> {
    let (app, actor) = (cx.app, cx.actor);
    let a: UpdateTaskPlanArgs = parse(args)?;
    to_json(app.update_task_plan(actor, &a.task_id, a.implementation_plan).await?)
}

/// `set_pbi_pr`.
pub(crate) async fn set_pbi_pr(cx: &Cx<'_>, args: Value) -> AppResult<Value> {
    let (app, actor) = (cx.app, cx.actor);
    let a: SetPbiPrArgs = parse(args)?;
    to_json(app.set_pbi_pr(actor, &a.pbi_id, &a.pr_url).await?)
}

/// `mark_pbi_pr_merged`.
pub(crate) async fn mark_pbi_pr_merged(cx: &Cx<'_>, args: Value) -> AppResult<Value> {
    let (app, actor) = (cx.app, cx.actor);
    let a: PbiArgs = parse(args)?;
    to_json(app.mark_pbi_pr_merged(actor, &a.pbi_id).await?)
}
