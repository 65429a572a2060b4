//! Sprint runs (reference §6): a sprint executed by agents.
//!
//! * [`App::start_sprint_run`] (§6.1) checks the sprint and its scope in one
//!   product transaction, refuses with every pre-flight blocker listed, and
//!   queues the run's jobs: one `SPRINT_IMPLEMENTATION` job for the
//!   `SPRINT_BATCH` strategy, one `TASK_IMPLEMENTATION` job per TO_DO task
//!   (in execution order, `sprint_sequence` 0, 1, 2, …) for `STORY` and
//!   `SPRINT`. The claim barrier runs per-task jobs one at a time.
//! * [`batch`] is the batch job's side of the queue: the frozen scope written
//!   at claim time (§6.2), the aggregate gate and finalisation on `done`
//!   (§6.3), and pause or failure on `failed` (§6.4). The queue's claim and
//!   completion call it.
//! * [`executions`] are the worker's tools on the frozen scope:
//!   `update_task_execution` and `verify_sprint_task`.
//! * Cancel and resume (§6.4) are people's actions. Resuming a paused
//!   `SPRINT_BATCH` run starts a new run chained to it (`previous_run_id`)
//!   on the same branch, covering the tasks still in TO_DO.
//!
//! Git hosting (pushing, pull requests, merges) is not done here: workers
//! push and report branch, commits and PR URLs.

pub mod batch;
pub mod executions;
pub(crate) mod scope;

use baton_domain::{
    agents::{AgentRuntime, JobKind, JobSource, JobStatus, QuestionStatus, SprintRunStatus, TaskExecutionStatus},
    backlog::{PrStrategy, SprintStatus, VerifyRequired, VerifyResult},
};
use baton_store::{
    entities::{job, question, sprint, sprint_run, sprint_task_execution, task},
    events::Event,
    new_id, now,
    sea_orm::{
        ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
        sea_query::Expr,
    },
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value as Json, json};

use crate::{
    Actor, App, AppError, AppResult, access,
    list::{Page, PageParams},
    products,
    queue::{JobView, api_of, enqueue::ACTIVE_STATUSES, job_view},
    txn,
};

/// Event type announcing that a sprint run was started, changed or finished.
pub const SPRINT_RUN_CHANGED: &str = "sprint_run_changed";

/// The last 8 characters of an id (branch names).
pub(crate) fn last8(id: &str) -> String {
    let chars: Vec<char> = id.chars().collect();
    chars[chars.len().saturating_sub(8)..].iter().collect()
}

/// The branch of a run without an inherited one: `feat/sprint-<last8 run id>`.
pub fn sprint_branch(run_id: &str) -> String {
    format!("feat/sprint-{}", last8(run_id))
}

/// A sprint run as the API shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SprintRunView {
    /// Run id.
    pub id: String,
    /// The sprint it executes.
    pub sprint_id: String,
    /// Who started it.
    pub started_by_id: String,
    /// queued, running, paused, done, failed or cancelled.
    pub status: SprintRunStatus,
    /// sprint, story or sprint_batch (the product's at start, unless overridden).
    pub pr_strategy: PrStrategy,
    /// The git branch of the run (set when its batch job is claimed).
    pub branch: Option<String>,
    /// The run's pull request, if any.
    pub pr_url: Option<String>,
    /// When it started.
    pub started_at: Option<DateTime<Utc>>,
    /// When it finished.
    pub finished_at: Option<DateTime<Utc>>,
    /// Why it failed (first 500 characters of the worker's error).
    pub failure_reason: Option<String>,
    /// The task that made it fail, if known.
    pub failed_task_id: Option<String>,
    /// Why and where it is paused (reference §6.4 schema); null unless paused.
    #[schema(value_type = Option<Object>)]
    pub pause_context: Option<Json>,
    /// The run this one resumes.
    pub previous_run_id: Option<String>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

/// The API view of a run row.
pub fn run_view(m: sprint_run::Model) -> AppResult<SprintRunView> {
    Ok(SprintRunView {
        status: run_status(&m)?,
        pr_strategy: PrStrategy::decode(&m.pr_strategy, "sprint_runs.pr_strategy")?,
        id: m.id,
        sprint_id: m.sprint_id,
        started_by_id: m.started_by_id,
        branch: m.branch,
        pr_url: m.pr_url,
        started_at: m.started_at,
        finished_at: m.finished_at,
        failure_reason: m.failure_reason,
        failed_task_id: m.failed_task_id,
        pause_context: m.pause_context,
        previous_run_id: m.previous_run_id,
        created_at: m.created_at,
        updated_at: m.updated_at,
    })
}

/// One task of a batch job's frozen scope.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ExecutionView {
    /// Execution id (pass it to `update_task_execution` and `verify_sprint_task`).
    pub id: String,
    /// The batch job.
    pub job_id: String,
    /// The task.
    pub task_id: String,
    /// Position in the batch, from 0.
    pub order: i32,
    /// The task's plan when the job was claimed.
    pub plan_snapshot: String,
    /// The task's verify_required when the job was claimed.
    pub verify_required: VerifyRequired,
    /// The task's verify_only when the job was claimed.
    pub verify_only: bool,
    /// Commit the task's work starts from.
    pub base_sha: Option<String>,
    /// Commit the task's work ended at.
    pub head_sha: Option<String>,
    /// pending, running, done, failed or skipped.
    pub status: TaskExecutionStatus,
    /// The recorded verification.
    pub verify_result: Option<VerifyResult>,
    /// The summary given with the verification (explains drift).
    pub verify_summary: Option<String>,
    /// Why it was skipped.
    pub skip_reason: Option<String>,
    /// When the worker started it.
    pub started_at: Option<DateTime<Utc>>,
    /// When it reached a terminal status.
    pub finished_at: Option<DateTime<Utc>>,
}

/// The API view of an execution row.
pub fn execution_view(m: sprint_task_execution::Model) -> AppResult<ExecutionView> {
    Ok(ExecutionView {
        verify_required: VerifyRequired::decode(
            &m.verify_required_snapshot,
            "sprint_task_executions.verify_required_snapshot",
        )?,
        status: TaskExecutionStatus::decode(&m.status, "sprint_task_executions.status")?,
        verify_result: m
            .verify_result
            .as_deref()
            .map(|v| VerifyResult::decode(v, "sprint_task_executions.verify_result"))
            .transpose()?,
        id: m.id,
        job_id: m.sprint_job_id,
        task_id: m.task_id,
        order: m.run_order,
        plan_snapshot: m.plan_snapshot,
        verify_only: m.verify_only_snapshot,
        base_sha: m.base_sha,
        head_sha: m.head_sha,
        verify_summary: m.verify_summary,
        skip_reason: m.skip_reason,
        started_at: m.started_at,
        finished_at: m.finished_at,
    })
}

/// A run with its jobs and the frozen executions of its batch job.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SprintRunDetail {
    /// The run.
    pub run: SprintRunView,
    /// Its jobs, in sequence order (a batch run has one).
    pub jobs: Vec<JobView>,
    /// The batch job's frozen task list, in order (empty before the claim and for per-task strategies).
    pub task_executions: Vec<ExecutionView>,
}

/// Options when starting a sprint run; all optional.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StartSprintRun {
    /// PR strategy for this run (sprint, story or sprint_batch); default the product's.
    #[serde(default)]
    pub pr_strategy: Option<PrStrategy>,
    /// Which agent program runs its jobs (default claude).
    #[serde(default)]
    pub runtime: Option<AgentRuntime>,
}

/// A queued job of a run, ready to insert.
fn run_job(
    user_id: &str,
    product_id: &str,
    run_id: &str,
    kind: JobKind,
    runtime: AgentRuntime,
    task: Option<(&str, i32)>,
    t: DateTime<Utc>,
) -> job::ActiveModel {
    job::ActiveModel {
        id: Set(new_id()),
        user_id: Set(user_id.to_string()),
        product_id: Set(product_id.to_string()),
        task_id: Set(task.map(|(id, _)| id.to_string())),
        sprint_run_id: Set(Some(run_id.to_string())),
        sprint_sequence: Set(task.map(|(_, n)| n)),
        kind: Set(kind.as_db().into()),
        status: Set(JobStatus::Queued.as_db().into()),
        runtime: Set(runtime.as_db().into()),
        source: Set(JobSource::System.as_db().into()),
        retry_count: Set(0),
        created_at: Set(t),
        updated_at: Set(t),
        ..Default::default()
    }
}

/// Queues the jobs of a new run over `tasks` (in execution order).
async fn create_jobs<C: ConnectionTrait>(
    c: &C,
    user_id: &str,
    product_id: &str,
    run: &sprint_run::Model,
    strategy: PrStrategy,
    runtime: AgentRuntime,
    tasks: &[task::Model],
) -> AppResult<Vec<job::Model>> {
    let t = now();
    let mut out = Vec::new();
    if strategy == PrStrategy::SprintBatch {
        let j = run_job(user_id, product_id, &run.id, JobKind::SprintImplementation, runtime, None, t);
        out.push(j.insert(c).await?);
    } else {
        for (i, task) in tasks.iter().enumerate() {
            let seq = i32::try_from(i).map_err(|_| AppError::Conflict("too many tasks for one sprint run".into()))?;
            let j =
                run_job(user_id, product_id, &run.id, JobKind::TaskImplementation, runtime, Some((&task.id, seq)), t);
            out.push(j.insert(c).await?);
        }
    }
    Ok(out)
}

/// Loads a sprint the actor may read; anything else is "sprint not found".
async fn readable_sprint<C: ConnectionTrait>(db: &C, actor: &Actor, id: &str) -> AppResult<sprint::Model> {
    let s = sprint::Entity::find_by_id(id.trim().to_string()).one(db).await?.ok_or(AppError::NotFound("sprint"))?;
    match access::readable(db, actor, &s.product_id).await {
        Ok(_) => Ok(s),
        Err(AppError::NotFound(_)) => Err(AppError::NotFound("sprint")),
        Err(e) => Err(e),
    }
}

/// Loads a run whose product the actor may read, with its sprint.
async fn readable_run<C: ConnectionTrait>(
    db: &C,
    actor: &Actor,
    id: &str,
) -> AppResult<(sprint_run::Model, sprint::Model)> {
    let r =
        sprint_run::Entity::find_by_id(id.trim().to_string()).one(db).await?.ok_or(AppError::NotFound("sprint run"))?;
    let s = sprint::Entity::find_by_id(r.sprint_id.clone()).one(db).await?.ok_or(AppError::NotFound("sprint run"))?;
    match access::readable(db, actor, &s.product_id).await {
        Ok(_) => Ok((r, s)),
        Err(AppError::NotFound(_)) => Err(AppError::NotFound("sprint run")),
        Err(e) => Err(e),
    }
}

/// The sprint's queued, running or paused run, if any.
async fn active_run<C: ConnectionTrait>(c: &C, sprint_id: &str) -> AppResult<Option<sprint_run::Model>> {
    let active: Vec<&str> =
        SprintRunStatus::ALL.iter().filter(|s| s.is_active()).map(|s| s.as_db()).collect::<Vec<_>>();
    Ok(sprint_run::Entity::find()
        .filter(sprint_run::Column::SprintId.eq(sprint_id))
        .filter(sprint_run::Column::Status.is_in(active))
        .order_by_desc(sprint_run::Column::CreatedAt)
        .one(c)
        .await?)
}

fn run_status(r: &sprint_run::Model) -> AppResult<SprintRunStatus> {
    Ok(SprintRunStatus::decode(&r.status, "sprint_runs.status")?)
}

/// Closes the open merge-conflict question a paused run points at, if any.
async fn close_pause_question<C: ConnectionTrait>(c: &C, run: &sprint_run::Model) -> AppResult<Option<String>> {
    let Some(qid) = run
        .pause_context
        .as_ref()
        .and_then(|p| p.get("claude_question_id"))
        .and_then(Json::as_str)
        .filter(|q| !q.is_empty())
    else {
        return Ok(None);
    };
    let res = question::Entity::update_many()
        .col_expr(question::Column::Status, Expr::value(QuestionStatus::Closed.as_db()))
        .filter(question::Column::Id.eq(qid))
        .filter(question::Column::Status.eq(QuestionStatus::Open.as_db()))
        .exec(c)
        .await?;
    Ok((res.rows_affected > 0).then(|| qid.to_string()))
}

/// Cancels the run's queued, claimed and running jobs; returns them.
async fn cancel_live_jobs<C: ConnectionTrait>(c: &C, run_id: &str, why: &str) -> AppResult<Vec<job::Model>> {
    let live: Vec<job::Model> = job::Entity::find()
        .filter(job::Column::SprintRunId.eq(run_id))
        .filter(job::Column::Status.is_in(ACTIVE_STATUSES.iter().map(|s| s.as_db())))
        .all(c)
        .await?;
    let t = now();
    let mut out = Vec::with_capacity(live.len());
    for j in live {
        let mut am: job::ActiveModel = j.into();
        am.status = Set(JobStatus::Cancelled.as_db().into());
        am.error = Set(Some(why.to_string()));
        am.finished_at = Set(Some(t));
        am.lease_until = Set(None);
        am.updated_at = Set(t);
        out.push(am.update(c).await?);
    }
    Ok(out)
}

/// Loads the detail of a run: its jobs and its batch executions.
async fn detail<C: ConnectionTrait>(c: &C, run: sprint_run::Model) -> AppResult<SprintRunDetail> {
    let jobs: Vec<job::Model> = job::Entity::find()
        .filter(job::Column::SprintRunId.eq(&run.id))
        .order_by_asc(job::Column::SprintSequence)
        .order_by_asc(job::Column::CreatedAt)
        .order_by_asc(job::Column::Id)
        .all(c)
        .await?;
    let ids: Vec<String> = jobs.iter().map(|j| j.id.clone()).collect();
    let execs = sprint_task_execution::Entity::find()
        .filter(sprint_task_execution::Column::SprintJobId.is_in(ids))
        .order_by_asc(sprint_task_execution::Column::CreatedAt)
        .order_by_asc(sprint_task_execution::Column::RunOrder)
        .all(c)
        .await?;
    Ok(SprintRunDetail {
        run: run_view(run)?,
        jobs: jobs.into_iter().map(job_view).collect::<AppResult<_>>()?,
        task_executions: execs.into_iter().map(execution_view).collect::<AppResult<_>>()?,
    })
}

impl App {
    /// Announces a run change (after the commit).
    pub(crate) async fn announce_run(&self, product_id: &str, run: &sprint_run::Model, action: &str) {
        self.announce(run_event(product_id, run, action)).await;
    }

    /// Starts a run of an OPEN sprint (reference §6.1), in one transaction:
    /// 409 when the sprint is not open, when it already has a queued,
    /// running or paused run (naming its state), when nothing is in TO_DO,
    /// or `PRE_FLIGHT_BLOCKED: <type> <label>; …` listing every blocker.
    /// The jobs are queued for the caller's own agents.
    pub async fn start_sprint_run(
        &self,
        actor: &Actor,
        sprint_ref: &str,
        input: StartSprintRun,
    ) -> AppResult<SprintRunDetail> {
        actor.require_write()?;
        let s = readable_sprint(&self.db, actor, sprint_ref).await?;
        let p = access::writable(&self.db, actor, &s.product_id).await?;
        let user_id = actor.user_id.clone();
        let pid = p.id.clone();
        let (run, jobs) = txn::in_product_txn(&self.db, &pid, move |c| {
            Box::pin(async move {
                let p = products::ensure_not_archived_in(c, &p.id).await?;
                let s = sprint::Entity::find_by_id(s.id).one(c).await?.ok_or(AppError::NotFound("sprint"))?;
                let status = SprintStatus::decode(&s.status, "sprints.status")?;
                if status != SprintStatus::Open {
                    return Err(AppError::Conflict(format!(
                        "sprint {} is {status}; only an open sprint can be run",
                        s.code
                    )));
                }
                if let Some(r) = active_run(c, &s.id).await? {
                    return Err(AppError::Conflict(format!(
                        "sprint {} already has a {} sprint run ({}); cancel or resume it first",
                        s.code,
                        run_status(&r)?.as_api(),
                        r.id
                    )));
                }
                let strategy =
                    input.pr_strategy.map_or_else(|| PrStrategy::decode(&p.pr_strategy, "products.pr_strategy"), Ok)?;
                let scope = scope::load(c, &s.id).await?;
                let blockers = scope::blockers(c, &s.id, &scope, &p, strategy).await?;
                if !blockers.is_empty() {
                    return Err(scope::blocked(&blockers));
                }
                if scope.tasks.is_empty() {
                    return Err(AppError::Conflict(format!(
                        "sprint {} has no tasks in todo; there is nothing to run",
                        s.code
                    )));
                }
                let t = now();
                let run = sprint_run::ActiveModel {
                    id: Set(new_id()),
                    sprint_id: Set(s.id.clone()),
                    started_by_id: Set(user_id.clone()),
                    status: Set(SprintRunStatus::Queued.as_db().into()),
                    pr_strategy: Set(strategy.as_db().into()),
                    started_at: Set(Some(t)),
                    created_at: Set(t),
                    updated_at: Set(t),
                    ..Default::default()
                }
                .insert(c)
                .await?;
                let runtime = input.runtime.unwrap_or(AgentRuntime::Claude);
                let jobs = create_jobs(c, &user_id, &p.id, &run, strategy, runtime, &scope.tasks).await?;
                Ok((run, jobs))
            })
        })
        .await?;
        self.announce_run(&pid, &run, "started").await;
        for j in &jobs {
            self.announce_enqueued(j).await;
        }
        detail(&self.db, run).await
    }

    /// One run with its jobs and frozen executions.
    pub async fn get_sprint_run(&self, actor: &Actor, run_id: &str) -> AppResult<SprintRunDetail> {
        let (run, _) = readable_run(&self.db, actor, run_id).await?;
        detail(&self.db, run).await
    }

    /// The runs of a sprint, newest first.
    pub async fn list_sprint_runs(
        &self,
        actor: &Actor,
        sprint_id: &str,
        params: PageParams,
    ) -> AppResult<Page<SprintRunView>> {
        let s = readable_sprint(&self.db, actor, sprint_id).await?;
        let q = sprint_run::Entity::find()
            .filter(sprint_run::Column::SprintId.eq(&s.id))
            .order_by_desc(sprint_run::Column::CreatedAt)
            .order_by_desc(sprint_run::Column::Id);
        crate::backlog::paginate(&self.db, q, params).await?.try_map(run_view)
    }

    /// Cancels a queued, running or paused run (reference §6.4): the run
    /// becomes CANCELLED with `pause_context` cleared, its unfinished jobs
    /// are cancelled (a worker holding one gets `JOB_CANCELLED`), and a
    /// merge-conflict question it waited on is closed. 409 otherwise.
    pub async fn cancel_sprint_run(&self, actor: &Actor, run_id: &str) -> AppResult<SprintRunDetail> {
        actor.require_write()?;
        let (run, s) = readable_run(&self.db, actor, run_id).await?;
        access::writable(&self.db, actor, &s.product_id).await?;
        let who = actor.username.clone();
        let pid = s.product_id.clone();
        let (run, jobs) = txn::in_product_txn(&self.db, &pid, move |c| {
            Box::pin(async move {
                let run =
                    sprint_run::Entity::find_by_id(run.id).one(c).await?.ok_or(AppError::NotFound("sprint run"))?;
                let status = run_status(&run)?;
                if !status.is_active() {
                    return Err(AppError::Conflict(format!(
                        "sprint run is already {status}; only queued, running or paused runs can be cancelled"
                    )));
                }
                close_pause_question(c, &run).await?;
                let jobs = cancel_live_jobs(c, &run.id, &format!("cancelled: sprint run cancelled by {who}")).await?;
                let t = now();
                let mut am: sprint_run::ActiveModel = run.into();
                am.status = Set(SprintRunStatus::Cancelled.as_db().into());
                am.pause_context = Set(None);
                am.finished_at = Set(Some(t));
                am.updated_at = Set(t);
                Ok((am.update(c).await?, jobs))
            })
        })
        .await?;
        for j in &jobs {
            self.announce_job(j).await;
        }
        self.announce_run(&pid, &run, "cancelled").await;
        detail(&self.db, run).await
    }

    /// Resumes a paused run (reference §6.4). Per-task strategies: the run
    /// runs again (its queued jobs become claimable), `pause_context` is
    /// cleared and the conflict question closed. `SPRINT_BATCH`: a new run
    /// chained to this one (`previous_run_id`) on the same branch, with a
    /// new batch job covering the tasks still in TO_DO; this run becomes
    /// CANCELLED. Returns the run that now runs. 409 unless paused, and as
    /// a start when the remaining scope is blocked or empty.
    pub async fn resume_sprint_run(&self, actor: &Actor, run_id: &str) -> AppResult<SprintRunDetail> {
        actor.require_write()?;
        let (run, s) = readable_run(&self.db, actor, run_id).await?;
        access::writable(&self.db, actor, &s.product_id).await?;
        let user_id = actor.user_id.clone();
        let pid = s.product_id.clone();
        let (old, new, jobs) = txn::in_product_txn(&self.db, &pid, move |c| {
            Box::pin(async move {
                let p = products::ensure_not_archived_in(c, &s.product_id).await?;
                let run =
                    sprint_run::Entity::find_by_id(run.id).one(c).await?.ok_or(AppError::NotFound("sprint run"))?;
                let status = run_status(&run)?;
                if status != SprintRunStatus::Paused {
                    return Err(AppError::Conflict(format!(
                        "sprint run is {status}; only a paused run can be resumed"
                    )));
                }
                close_pause_question(c, &run).await?;
                let strategy = PrStrategy::decode(&run.pr_strategy, "sprint_runs.pr_strategy")?;
                let t = now();
                if strategy != PrStrategy::SprintBatch {
                    let jobs: Vec<job::Model> = job::Entity::find()
                        .filter(job::Column::SprintRunId.eq(&run.id))
                        .filter(job::Column::Status.eq(JobStatus::Queued.as_db()))
                        .all(c)
                        .await?;
                    let mut am: sprint_run::ActiveModel = run.into();
                    am.status = Set(SprintRunStatus::Running.as_db().into());
                    am.pause_context = Set(None);
                    am.updated_at = Set(t);
                    return Ok((None, am.update(c).await?, jobs));
                }
                let scope = scope::load(c, &run.sprint_id).await?;
                let blockers = scope::blockers(c, &run.sprint_id, &scope, &p, strategy).await?;
                if !blockers.is_empty() {
                    return Err(scope::blocked(&blockers));
                }
                if scope.tasks.is_empty() {
                    return Err(AppError::Conflict(
                        "no tasks of the sprint are in todo any more; cancel the run instead of resuming it".into(),
                    ));
                }
                let branch = run.branch.clone().unwrap_or_else(|| sprint_branch(&run.id));
                let mut am: sprint_run::ActiveModel = run.clone().into();
                am.status = Set(SprintRunStatus::Cancelled.as_db().into());
                am.pause_context = Set(None);
                am.finished_at = Set(Some(t));
                am.updated_at = Set(t);
                let old = am.update(c).await?;
                let new = sprint_run::ActiveModel {
                    id: Set(new_id()),
                    sprint_id: Set(run.sprint_id.clone()),
                    started_by_id: Set(user_id.clone()),
                    status: Set(SprintRunStatus::Queued.as_db().into()),
                    pr_strategy: Set(run.pr_strategy.clone()),
                    branch: Set(Some(branch)),
                    pr_url: Set(run.pr_url.clone()),
                    started_at: Set(Some(t)),
                    previous_run_id: Set(Some(run.id.clone())),
                    created_at: Set(t),
                    updated_at: Set(t),
                    ..Default::default()
                }
                .insert(c)
                .await?;
                // The new batch job runs on the old job's runtime.
                let runtime = job::Entity::find()
                    .filter(job::Column::SprintRunId.eq(&run.id))
                    .one(c)
                    .await?
                    .map(|j| AgentRuntime::decode(&j.runtime, "jobs.runtime"))
                    .transpose()?
                    .unwrap_or(AgentRuntime::Claude);
                let jobs = create_jobs(c, &user_id, &p.id, &new, strategy, runtime, &scope.tasks).await?;
                Ok((Some(old), new, jobs))
            })
        })
        .await?;
        if let Some(old) = &old {
            self.announce_run(&pid, old, "cancelled").await;
        }
        self.announce_run(&pid, &new, "resumed").await;
        for j in &jobs {
            self.announce_enqueued(j).await;
        }
        detail(&self.db, new).await
    }
}

/// The event of a sprint run's change.
pub(crate) fn run_event(product_id: &str, run: &sprint_run::Model, action: &str) -> Event {
    let data = json!({
        "sprint_run_id": run.id,
        "sprint_id": run.sprint_id,
        "status": api_of(&run.status, SprintRunStatus::from_db, SprintRunStatus::as_api),
        "action": action,
    });
    Event::new(SPRINT_RUN_CHANGED).for_product(product_id).with_data(data)
}
