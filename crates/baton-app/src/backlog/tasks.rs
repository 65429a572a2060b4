//! Tasks: create under a story, list, read, change (status with propagation
//! in the same transaction, plan, moving to another story of the same
//! product), move within the story, delete.
//!
//! [`App::update_task_status`] and [`App::update_task_plan`] are the
//! agent-facing entry points (MCP `update_task_status`/`update_task_plan`
//! call them); `PATCH /api/tasks/{id}` goes through [`App::update_task`].

use baton_domain::agents::SprintRunStatus;
use baton_domain::{
    ValidationErrors,
    agents::JobStatus,
    backlog::{PbiStatus, SprintStatus, StoryStatus, TaskStatus, VerifyRequired},
    codes::CodeKind,
    propagation::{StoryChange, Transition, story_change},
};
use baton_store::{
    entities::{job, sprint, sprint_run, story, task},
    events::{Event, kinds},
    new_id, now,
    sea_orm::{
        ActiveModelTrait,
        ActiveValue::Set,
        ColumnTrait, Condition, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
        sea_query::{Expr, Query},
    },
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{
    DEFAULT_PRIORITY, MAX_PLAN, MAX_TEXT, MoveTo, TASK_ORDER, check_opt_text, check_priority, check_title, clean,
    clean_opt, nullable,
    ordered::{by_sprint, code_and_slot, common_filters, find_in, move_in_product, page_in_order, sprint_filter},
    parse_status,
    pbis::rollup_json,
    propagation::{Rollup, Seeds, propagate, run_is_active, settle_sprint_run},
    refs,
    stories::pbi_in_product,
};
use crate::{
    Actor, App, AppError, AppResult, AuthVia, access,
    list::{Page, PageParams},
    products::{self, check_repo_url},
    txn::in_product_txn,
};

/// A task as every route returns it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TaskView {
    /// Id (UUID v7).
    pub id: String,
    /// The story it belongs to.
    pub story_id: String,
    /// The product (from the story).
    pub product_id: String,
    /// The sprint (from the story); `null` when the story is in the backlog.
    pub sprint_id: Option<String>,
    /// `T-N`, unique in the product; never changes.
    pub code: String,
    /// Title (1–200 characters).
    pub title: String,
    /// Description (≤ 4000 characters).
    pub description: Option<String>,
    /// Markdown plan the agent follows (≤ 8000 characters).
    pub implementation_plan: Option<String>,
    /// 1 (critical) to 4 (nice to have).
    pub priority: i32,
    /// Position among the story's tasks (ascending).
    pub sort_order: f64,
    /// todo | in_progress | review | done | failed | excluded.
    pub status: TaskStatus,
    /// The task only verifies; an empty diff is acceptable.
    pub verify_only: bool,
    /// Weakest verify result accepted: aligned | aligned_or_partial | any.
    pub verify_required: VerifyRequired,
    /// Needs the strongest model.
    pub requires_opus: bool,
    /// Repository overriding the product's, for cross-repo work.
    pub repo_url: Option<String>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

/// The API form of a task row.
pub fn task_view(m: task::Model) -> AppResult<TaskView> {
    Ok(TaskView {
        status: TaskStatus::decode(&m.status, "tasks.status")?,
        verify_required: VerifyRequired::decode(&m.verify_required, "tasks.verify_required")?,
        id: m.id,
        story_id: m.story_id,
        product_id: m.product_id,
        sprint_id: m.sprint_id,
        code: m.code,
        title: m.title,
        description: m.description,
        implementation_plan: m.implementation_plan,
        priority: m.priority,
        sort_order: m.sort_order,
        verify_only: m.verify_only,
        requires_opus: m.requires_opus,
        repo_url: m.repo_url,
        created_at: m.created_at,
        updated_at: m.updated_at,
    })
}

/// A task after a change, with what the change did to the statuses above it.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct TaskChange {
    /// The task as it is now.
    #[serde(flatten)]
    pub task: TaskView,
    /// The status of the task's story now.
    pub story_status: StoryStatus,
    /// `promoted` (closer to done), `demoted` (further from done) or `null` (unchanged).
    pub story_status_change: Option<StoryChange>,
    /// The story's PBI status `{from, to}`, or `null` when it did not change.
    #[schema(value_type = Option<Object>)]
    pub pbi_status_change: Option<Transition<PbiStatus>>,
    /// The story's sprint status `{from, to}`, or `null` when it did not change.
    #[schema(value_type = Option<Object>)]
    pub sprint_status_change: Option<Transition<SprintStatus>>,
    /// The sprint run finished by this change `{from, to}`, or `null`.
    #[schema(value_type = Option<Object>)]
    pub sprint_run_status_change: Option<Transition<SprintRunStatus>>,
}

/// Input for a new task.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTask {
    /// Title, 1–200 characters.
    #[schema(max_length = 200, pattern = "\\S")]
    pub title: String,
    /// Description, at most 4000 characters.
    #[serde(default)]
    #[schema(max_length = 4000)]
    pub description: Option<String>,
    /// Markdown plan, at most 8000 characters.
    #[serde(default)]
    #[schema(max_length = 8000)]
    pub implementation_plan: Option<String>,
    /// 1 (critical) to 4 (nice to have); default 2.
    #[serde(default)]
    #[schema(minimum = 1, maximum = 4)]
    pub priority: Option<i32>,
    /// The task only verifies (default false).
    #[serde(default)]
    pub verify_only: Option<bool>,
    /// aligned | aligned_or_partial (default) | any.
    #[serde(default)]
    pub verify_required: Option<VerifyRequired>,
    /// Needs the strongest model (default false).
    #[serde(default)]
    pub requires_opus: Option<bool>,
    /// Repository overriding the product's.
    #[serde(default)]
    #[schema(
        max_length = 500,
        pattern = "^(?:(?:[Hh][Tt][Tt][Pp][Ss]?|[Ss][Ss][Hh]|[Gg][Ii][Tt])://(?:[^\\s\\x00-\\x1f\\x7f-\\x9f/?#]*@)?[^\\s\\x00-\\x1f\\x7f-\\x9f/?#@:.][^\\s\\x00-\\x1f\\x7f-\\x9f/?#@]*(?:[/?#][^\\s\\x00-\\x1f\\x7f-\\x9f]*)?|[^\\s\\x00-\\x1f\\x7f-\\x9f@:]+@[^\\s\\x00-\\x1f\\x7f-\\x9f:/]+:[^\\s\\x00-\\x1f\\x7f-\\x9f:]+)$"
    )]
    pub repo_url: Option<String>,
}

/// Changes to a task; absent fields stay as they are.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(min_properties = 1)]
pub struct TaskPatch {
    /// New title.
    #[serde(default)]
    #[schema(max_length = 200, pattern = "\\S")]
    pub title: Option<String>,
    /// New description; `null` clears it.
    #[serde(default, deserialize_with = "nullable::deserialize")]
    #[schema(value_type = Option<String>, max_length = 4000)]
    pub description: Option<Option<String>>,
    /// New plan; `null` clears it.
    #[serde(default, deserialize_with = "nullable::deserialize")]
    #[schema(value_type = Option<String>, max_length = 8000)]
    pub implementation_plan: Option<Option<String>>,
    /// New priority, 1–4.
    #[serde(default)]
    #[schema(minimum = 1, maximum = 4)]
    pub priority: Option<i32>,
    /// New status; the story, PBI, sprint (and sprint run) follow in the same transaction.
    #[serde(default)]
    pub status: Option<TaskStatus>,
    /// With `status`, from an agent working in a sprint run: the run (must be
    /// queued, running or paused, on the task's sprint, with a job the
    /// caller's token holds).
    #[serde(default)]
    pub sprint_run_id: Option<String>,
    /// Move the task to another story of the same product (id or code); it
    /// keeps its code, takes that story's sprint and goes to its end.
    #[serde(default)]
    pub story_id: Option<String>,
    /// Verify-only flag.
    #[serde(default)]
    pub verify_only: Option<bool>,
    /// aligned | aligned_or_partial | any.
    #[serde(default)]
    pub verify_required: Option<VerifyRequired>,
    /// Needs the strongest model.
    #[serde(default)]
    pub requires_opus: Option<bool>,
    /// Repository override; `null` clears it.
    #[serde(default, deserialize_with = "nullable::deserialize")]
    #[schema(value_type = Option<String>, max_length = 500, pattern = "^(?:(?:[Hh][Tt][Tt][Pp][Ss]?|[Ss][Ss][Hh]|[Gg][Ii][Tt])://(?:[^\\s\\x00-\\x1f\\x7f-\\x9f/?#]*@)?[^\\s\\x00-\\x1f\\x7f-\\x9f/?#@:.][^\\s\\x00-\\x1f\\x7f-\\x9f/?#@]*(?:[/?#][^\\s\\x00-\\x1f\\x7f-\\x9f]*)?|[^\\s\\x00-\\x1f\\x7f-\\x9f@:]+@[^\\s\\x00-\\x1f\\x7f-\\x9f:/]+:[^\\s\\x00-\\x1f\\x7f-\\x9f:]+)$")]
    pub repo_url: Option<Option<String>>,
}

impl TaskPatch {
    fn is_empty(&self) -> bool {
        self.title.is_none()
            && self.description.is_none()
            && self.implementation_plan.is_none()
            && self.priority.is_none()
            && self.status.is_none()
            && self.sprint_run_id.is_none()
            && self.story_id.is_none()
            && self.verify_only.is_none()
            && self.verify_required.is_none()
            && self.requires_opus.is_none()
            && self.repo_url.is_none()
    }
}

/// Which tasks to list.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TaskFilter {
    /// Only this status: todo | in_progress | review | done | failed | excluded.
    #[param(value_type = Option<baton_domain::backlog::TaskStatus>, inline)]
    pub status: Option<String>,
    /// Only tasks in this sprint (id or code); `none` = only tasks in no sprint.
    pub sprint_id: Option<String>,
    /// Only tasks of stories of this PBI (id or code).
    pub pbi_id: Option<String>,
    /// Only tasks of stories assigned to this user (id).
    pub assignee_id: Option<String>,
    /// Only this priority (1–4).
    #[param(minimum = 1, maximum = 4)]
    pub priority: Option<i32>,
    /// Text in the title or code (case-insensitive).
    pub q: Option<String>,
}

/// Which tasks a list covers.
#[derive(Debug, Clone)]
pub enum TaskScope {
    /// The tasks of one story (id or code).
    Story(String),
    /// All tasks of a product (id or code).
    Product(String),
}

fn validate_new(input: &NewTask) -> Result<(), ValidationErrors> {
    let mut errs = ValidationErrors::new();
    check_title(&mut errs, "title", &input.title);
    check_opt_text(&mut errs, "description", input.description.as_deref(), MAX_TEXT);
    check_opt_text(&mut errs, "implementation_plan", input.implementation_plan.as_deref(), MAX_PLAN);
    check_priority(&mut errs, "priority", input.priority);
    if let Some(u) = input.repo_url.as_deref().map(str::trim).filter(|u| !u.is_empty()) {
        check_repo_url(&mut errs, "repo_url", u);
    }
    errs.into_result()
}

fn validate_patch(p: &TaskPatch) -> Result<(), ValidationErrors> {
    let mut errs = ValidationErrors::new();
    if let Some(t) = &p.title {
        check_title(&mut errs, "title", t);
    }
    if let Some(Some(d)) = &p.description {
        check_opt_text(&mut errs, "description", Some(d), MAX_TEXT);
    }
    if let Some(Some(plan)) = &p.implementation_plan {
        check_opt_text(&mut errs, "implementation_plan", Some(plan), MAX_PLAN);
    }
    check_priority(&mut errs, "priority", p.priority);
    if let Some(Some(u)) = &p.repo_url
        && !u.trim().is_empty()
    {
        check_repo_url(&mut errs, "repo_url", u.trim());
    }
    if p.sprint_run_id.is_some() && p.status.is_none() {
        errs.add("sprint_run_id", "only goes with a status change");
    }
    if p.is_empty() {
        errs.add("status", "give at least one field to change (e.g. status or implementation_plan)");
    }
    errs.into_result()
}

/// Checks that the caller may report a status for `t` in sprint run `run_id`:
/// the run is queued, running or paused, belongs to the task's sprint, and
/// the caller's token holds a claimed or running job in it (the command
/// line is exempt).
async fn check_sprint_run<C: ConnectionTrait>(c: &C, actor: &Actor, t: &task::Model, run_id: &str) -> AppResult<()> {
    let key = run_id.trim();
    let missing = || AppError::field("sprint_run_id", format!("no sprint run `{key}` in this product"));
    let run = sprint_run::Entity::find_by_id(key.to_string()).one(c).await?.ok_or_else(missing)?;
    let sp = sprint::Entity::find_by_id(run.sprint_id.clone()).one(c).await?.ok_or_else(missing)?;
    if sp.product_id != t.product_id {
        return Err(missing());
    }
    if !run_is_active(&run.status)? {
        let status = SprintRunStatus::decode(&run.status, "sprint_runs.status")?.as_api();
        return Err(AppError::Conflict(format!(
            "sprint run {key} is {status}; only a queued, running or paused run takes task updates"
        )));
    }
    if t.sprint_id.as_deref() != Some(run.sprint_id.as_str()) {
        return Err(AppError::field(
            "sprint_run_id",
            format!("task {} is not in sprint {}, which this run works on", t.code, sp.code),
        ));
    }
    let token_id = match &actor.via {
        AuthVia::Cli => return Ok(()),
        AuthVia::Token { token_id, .. } => token_id.clone(),
        AuthVia::Session { .. } | AuthVia::OnBehalf => String::new(),
    };
    let held = job::Entity::find()
        .filter(job::Column::SprintRunId.eq(&run.id))
        .filter(job::Column::ClaimedByTokenId.eq(token_id))
        .filter(job::Column::Status.is_in([JobStatus::Claimed.as_db(), JobStatus::Running.as_db()]))
        .count(c)
        .await?;
    if held == 0 {
        return Err(AppError::Forbidden(format!(
            "only an agent whose token holds a claimed or running job in sprint run {key} may report for it"
        )));
    }
    Ok(())
}

/// Sets a task's status and runs the whole propagation (story → PBI →
/// sprint → sprint run) on the same connection. Call inside the product's
/// write transaction after the access checks; `sprint_run_id` is checked
/// here. Bulk status changes use this too.
pub async fn apply_task_status<C: ConnectionTrait>(
    c: &C,
    actor: &Actor,
    t: &task::Model,
    status: TaskStatus,
    sprint_run_id: Option<&str>,
) -> AppResult<Rollup> {
    Ok(apply_task_status_reading_queue(c, actor, t, status, sprint_run_id, None).await?.0)
}

/// [`apply_task_status`], and with `queued_of` also whether that user has a
/// QUEUED job, read in the same statement as the sibling statuses (a
/// worker's `done` needs both). Locks the story before writing the task
/// (story → PBI → sprint, see [`super::propagation`]), so it needs no
/// product lock; roll-ups above the story run only when it changed.
pub async fn apply_task_status_reading_queue<C: ConnectionTrait>(
    c: &C,
    actor: &Actor,
    t: &task::Model,
    status: TaskStatus,
    sprint_run_id: Option<&str>,
    queued_of: Option<&str>,
) -> AppResult<(Rollup, bool)> {
    if let Some(run) = sprint_run_id {
        check_sprint_run(c, actor, t, run).await?;
    }
    let story = super::propagation::lock_story(c, &t.story_id).await?;
    let (statuses, queued) = baton_store::repo::queue::set_task_status_reading_story(
        c,
        &t.id,
        &t.story_id,
        status.as_db(),
        now(),
        queued_of,
    )
    .await?;
    let mut roll = Rollup::default();
    let Some(story) = story else { return Ok((roll, queued)) };
    let story = super::propagation::settle_story(c, story, &statuses, &mut roll).await?;
    super::propagation::propagate_above(c, &story, &mut roll).await?;
    if let Some(sprint_id) = &story.sprint_id
        && let Some(tr) = roll.sprint(sprint_id)
    {
        settle_sprint_run(c, sprint_id, tr.to, &t.id, sprint_run_id.map(str::trim), &mut roll).await?;
    }
    Ok((roll, queued))
}

/// The change report for task `t` after a roll-up.
async fn change_report<C: ConnectionTrait>(c: &C, t: task::Model, roll: &Rollup) -> AppResult<TaskChange> {
    let s = find_in::<story::Entity, _>(c, &t.story_id).await?;
    let story_status = StoryStatus::decode(&s.status, "stories.status")?;
    Ok(TaskChange {
        story_status,
        story_status_change: roll.story(&s.id).and_then(|tr| story_change(tr.from, tr.to)),
        pbi_status_change: roll.pbi(&s.pbi_id),
        sprint_status_change: s.sprint_id.as_deref().and_then(|id| roll.sprint(id)),
        sprint_run_status_change: roll.sprint_runs.first().map(|r| r.transition),
        task: task_view(t)?,
    })
}

impl App {
    /// Announces a task change and the roll-ups it caused.
    pub(crate) async fn announce_task(&self, t: &TaskView, action: &str, roll: &Rollup) {
        self.announce_all(&task_events(t, action, roll)).await;
    }
}

/// The events of a task change and the roll-ups it caused.
pub(crate) fn task_events(t: &TaskView, action: &str, roll: &Rollup) -> Vec<Event> {
    {
        let data = json!({
            "task_id": t.id,
            "code": t.code,
            "story_id": t.story_id,
            "sprint_id": t.sprint_id,
            "status": t.status,
            "action": action,
            "rollup": rollup_json(roll),
        });
        let mut out = vec![Event::new(kinds::TASK_CHANGED).for_product(&t.product_id).with_data(data)];
        out.extend(super::stories::rollup_events(&t.product_id, roll));
        out
    }
}

impl App {
    /// Creates a task (status todo) at the end of a story, with the next
    /// `T-N` code; it inherits the story's product and sprint. In a sprint
    /// story without an assignee, the caller becomes the assignee. A done
    /// story with a new task is demoted.
    pub async fn create_task(&self, actor: &Actor, story_ref: &str, input: NewTask) -> AppResult<TaskChange> {
        let parent = refs::resolve_story(&self.db, actor, story_ref).await?;
        access::writable(&self.db, actor, &parent.product_id).await?;
        validate_new(&input)?;
        let pid = parent.product_id.clone();
        let caller = actor.user_id.clone();
        let (report, roll) = in_product_txn(&self.db, &pid, move |c| {
            Box::pin(async move {
                products::ensure_not_archived_in(c, &parent.product_id).await?;
                let s = find_in::<story::Entity, _>(c, &parent.id).await?;
                let (code, sort_order) = code_and_slot::<task::Entity, _>(c, &s.product_id, &s.id).await?;
                let t = now();
                let row = task::ActiveModel {
                    id: Set(new_id()),
                    story_id: Set(s.id.clone()),
                    product_id: Set(s.product_id.clone()),
                    sprint_id: Set(s.sprint_id.clone()),
                    code: Set(code),
                    title: Set(clean(&input.title)),
                    description: Set(clean_opt(input.description)),
                    implementation_plan: Set(clean_opt(input.implementation_plan)),
                    priority: Set(input.priority.unwrap_or(DEFAULT_PRIORITY)),
                    sort_order: Set(sort_order),
                    status: Set(TaskStatus::ToDo.as_db().into()),
                    verify_only: Set(input.verify_only.unwrap_or(false)),
                    verify_required: Set(input
                        .verify_required
                        .unwrap_or(VerifyRequired::AlignedOrPartial)
                        .as_db()
                        .into()),
                    requires_opus: Set(input.requires_opus.unwrap_or(false)),
                    repo_url: Set(clean_opt(input.repo_url)),
                    created_at: Set(t),
                    updated_at: Set(t),
                }
                .insert(c)
                .await?;
                if s.sprint_id.is_some() && s.assignee_id.is_none() && !caller.is_empty() {
                    // Conditional, so a concurrent assignment is never overwritten.
                    story::Entity::update_many()
                        .col_expr(story::Column::AssigneeId, Expr::value(caller))
                        .col_expr(story::Column::UpdatedAt, Expr::value(t))
                        .filter(story::Column::Id.eq(&s.id))
                        .filter(story::Column::AssigneeId.is_null())
                        .filter(story::Column::SprintId.is_not_null())
                        .exec(c)
                        .await?;
                }
                let roll = propagate(c, Seeds::stories([s.id.clone()])).await?;
                Ok((change_report(c, row, &roll).await?, roll))
            })
        })
        .await?;
        self.announce_task(&report.task, "created", &roll).await;
        Ok(report)
    }

    /// Lists tasks (of a story or a whole product) in order.
    pub async fn list_tasks(
        &self,
        actor: &Actor,
        scope: TaskScope,
        filter: TaskFilter,
        params: PageParams,
    ) -> AppResult<Page<TaskView>> {
        let mut q = task::Entity::find();
        let product_id = match scope {
            TaskScope::Story(r) => {
                let s = refs::resolve_story(&self.db, actor, &r).await?;
                q = q.filter(task::Column::StoryId.eq(&s.id));
                s.product_id
            }
            TaskScope::Product(r) => {
                let p = products::readable_ref(&self.db, actor, &r).await?;
                q = q.filter(task::Column::ProductId.eq(&p.id));
                p.id
            }
        };
        let status = parse_status(filter.status.as_deref(), "status", TaskStatus::parse_api, TaskStatus::api_values)?;
        let sprint = sprint_filter(&self.db, &product_id, filter.sprint_id.as_deref()).await?;
        q = by_sprint(q, task::Column::SprintId, sprint);
        let mut story_cond = Condition::all();
        let mut by_story = false;
        if let Some(r) = filter.pbi_id.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            let p = pbi_in_product(&self.db, &product_id, r, "pbi_id").await?;
            story_cond = story_cond.add(story::Column::PbiId.eq(p.id));
            by_story = true;
        }
        if let Some(a) = filter.assignee_id.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            story_cond = story_cond.add(story::Column::AssigneeId.eq(a));
            by_story = true;
        }
        if by_story {
            q = q.filter(task::Column::StoryId.in_subquery(
                Query::select().column(story::Column::Id).from(story::Entity).cond_where(story_cond).to_owned(),
            ));
        }
        let backend = self.db.get_database_backend();
        let q = common_filters(q, backend, status.map(TaskStatus::as_db), filter.priority, filter.q.as_deref());
        page_in_order(&self.db, q, params, task_view).await
    }

    /// One task, by id or code.
    pub async fn get_task(&self, actor: &Actor, task_ref: &str) -> AppResult<TaskView> {
        task_view(refs::resolve_task(&self.db, actor, task_ref).await?)
    }

    /// Changes a task. A status change runs the propagation in the same
    /// transaction and the answer says what it changed; moving the task to
    /// another story (same product only) keeps its code, takes that story's
    /// sprint and re-derives both stories.
    pub async fn update_task(&self, actor: &Actor, task_ref: &str, patch: TaskPatch) -> AppResult<TaskChange> {
        let found = refs::resolve_task(&self.db, actor, task_ref).await?;
        access::writable(&self.db, actor, &found.product_id).await?;
        validate_patch(&patch)?;
        let id = found.id.clone();
        let pid = found.product_id.clone();
        let actor2 = actor.clone();
        let (report, roll) = in_product_txn(&self.db, &pid, move |c| {
            Box::pin(async move {
                products::ensure_not_archived_in(c, &found.product_id).await?;
                let m = find_in::<task::Entity, _>(c, &id).await?;
                // Story before task, as a worker's `done` takes them.
                if patch.status.is_some() || patch.story_id.is_some() {
                    super::propagation::lock_story(c, &m.story_id).await?;
                }
                let mut new_story = None;
                if let Some(r) = patch.story_id.as_deref() {
                    let s = story_in_product(c, &m.product_id, r, "story_id").await?;
                    if s.id != m.story_id {
                        new_story = Some(s);
                    }
                }
                let old_story = m.story_id.clone();
                let mut am: task::ActiveModel = m.into();
                if let Some(t) = patch.title {
                    am.title = Set(clean(&t));
                }
                if let Some(d) = patch.description {
                    am.description = Set(clean_opt(d));
                }
                if let Some(p) = patch.implementation_plan {
                    am.implementation_plan = Set(clean_opt(p));
                }
                if let Some(p) = patch.priority {
                    am.priority = Set(p);
                }
                if let Some(v) = patch.verify_only {
                    am.verify_only = Set(v);
                }
                if let Some(v) = patch.verify_required {
                    am.verify_required = Set(v.as_db().into());
                }
                if let Some(v) = patch.requires_opus {
                    am.requires_opus = Set(v);
                }
                if let Some(u) = patch.repo_url {
                    am.repo_url = Set(clean_opt(u));
                }
                if let Some(s) = &new_story {
                    am.story_id = Set(s.id.clone());
                    am.sprint_id = Set(s.sprint_id.clone());
                    am.sort_order = Set(TASK_ORDER.next(c, &s.id).await?);
                }
                am.updated_at = Set(now());
                let row = am.update(c).await?;
                let mut roll = Rollup::default();
                if let Some(status) = patch.status {
                    roll = apply_task_status(c, &actor2, &row, status, patch.sprint_run_id.as_deref()).await?;
                }
                if new_story.is_some() {
                    let moved = propagate(c, Seeds::stories([old_story, row.story_id.clone()])).await?;
                    merge(&mut roll, moved);
                }
                let row = find_in::<task::Entity, _>(c, &row.id).await?;
                Ok((change_report(c, row, &roll).await?, roll))
            })
        })
        .await?;
        self.announce_task(&report.task, "updated", &roll).await;
        Ok(report)
    }

    /// Sets a task's status (the agent-facing operation of reference §3.3):
    /// the story, PBI, sprint and sprint run follow in the same transaction.
    pub async fn update_task_status(
        &self,
        actor: &Actor,
        task_ref: &str,
        status: TaskStatus,
        sprint_run_id: Option<String>,
    ) -> AppResult<TaskChange> {
        let patch = TaskPatch { status: Some(status), sprint_run_id, ..Default::default() };
        self.update_task(actor, task_ref, patch).await
    }

    /// Replaces a task's implementation plan (`None` clears it).
    pub async fn update_task_plan(&self, actor: &Actor, task_ref: &str, plan: Option<String>) -> AppResult<TaskChange> {
        let patch = TaskPatch { implementation_plan: Some(plan), ..Default::default() };
        self.update_task(actor, task_ref, patch).await
    }

    /// Moves a task within its story.
    pub async fn move_task(&self, actor: &Actor, task_ref: &str, to: MoveTo) -> AppResult<TaskView> {
        let found = refs::resolve_task(&self.db, actor, task_ref).await?;
        access::writable(&self.db, actor, &found.product_id).await?;
        let row = move_in_product::<task::Entity>(&self.db, &found.product_id, found.id.clone(), to).await?;
        let view = task_view(row)?;
        self.announce_task(&view, "moved", &Rollup::default()).await;
        Ok(view)
    }

    /// Deletes a task; its story (and above) are re-derived.
    pub async fn delete_task(&self, actor: &Actor, task_ref: &str) -> AppResult<()> {
        let found = refs::resolve_task(&self.db, actor, task_ref).await?;
        access::writable(&self.db, actor, &found.product_id).await?;
        let id = found.id.clone();
        let pid = found.product_id.clone();
        let story_id = found.story_id.clone();
        let roll = in_product_txn(&self.db, &found.product_id, move |c| {
            Box::pin(async move {
                products::ensure_not_archived_in(c, &pid).await?;
                // Job → story → task, as a worker's `done` takes them (the
                // delete cascades to the task's jobs).
                job::Entity::find()
                    .filter(job::Column::TaskId.eq(&id))
                    .order_by_asc(job::Column::Id)
                    .lock(baton_store::sea_orm::sea_query::LockType::Update)
                    .all(c)
                    .await?;
                super::propagation::lock_story(c, &story_id).await?;
                let res = task::Entity::delete_by_id(id).exec(c).await?;
                if res.rows_affected == 0 {
                    return Err(AppError::NotFound("task"));
                }
                propagate(c, Seeds::stories([story_id])).await
            })
        })
        .await?;
        self.announce_task(&task_view(found)?, "deleted", &roll).await;
        Ok(())
    }
}

/// A story of product `product_id` by id or code, or a validation error on
/// `field` (tasks move only within their product).
pub async fn story_in_product<C: ConnectionTrait>(
    c: &C,
    product_id: &str,
    reference: &str,
    field: &str,
) -> AppResult<story::Model> {
    let key = reference.trim();
    let upper = key.to_ascii_uppercase();
    if let Some(k) = CodeKind::of(key).filter(|k| *k != CodeKind::Story) {
        let what = match k {
            CodeKind::Task => "a task code",
            CodeKind::Pbi => "a PBI code",
            _ => "a sprint code",
        };
        return Err(AppError::field(field, format!("{upper} is {what}; pass a story id or ST-… code")));
    }
    let canonical = CodeKind::Story.number(&upper).map(|n| CodeKind::Story.format(n)).unwrap_or_else(|| upper.clone());
    story::Entity::find()
        .filter(story::Column::ProductId.eq(product_id))
        .filter(Condition::any().add(story::Column::Id.eq(key)).add(story::Column::Code.is_in([upper, canonical])))
        .one(c)
        .await?
        .ok_or_else(|| {
            AppError::field(field, format!("no story `{key}` in this product (tasks move only within their product)"))
        })
}

/// Folds `more` into `roll`, keeping the first `from` and the last `to` of rows changed twice.
fn merge(roll: &mut Rollup, more: Rollup) {
    fn fold<T: Copy + PartialEq>(
        into: &mut Vec<super::propagation::Changed<T>>,
        more: Vec<super::propagation::Changed<T>>,
    ) {
        for c in more {
            match into.iter_mut().find(|x| x.id == c.id) {
                Some(x) => x.transition.to = c.transition.to,
                None => into.push(c),
            }
        }
        into.retain(|x| x.transition.from != x.transition.to);
    }
    fold(&mut roll.stories, more.stories);
    fold(&mut roll.pbis, more.pbis);
    fold(&mut roll.sprints, more.sprints);
    fold(&mut roll.sprint_runs, more.sprint_runs);
    roll.cancelled_jobs.extend(more.cancelled_jobs);
}
