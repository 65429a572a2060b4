//! A batch worker's tools on its frozen scope (reference §6.2):
//! `update_task_execution` and `verify_sprint_task`.
//!
//! Both need the caller's token to hold the parent `SPRINT_IMPLEMENTATION`
//! job in CLAIMED or RUNNING, checked with the claim attempt like
//! `job_heartbeat`: inside the write transaction a conditional update on the
//! job row (token, attempt, status) both checks and locks the claim, so a
//! worker whose lease was taken over cannot touch the executions.

use baton_domain::{
    ValidationErrors,
    agents::{JobKind, JobStatus, TaskExecutionStatus},
    backlog::{VerifyRequired, VerifyResult},
    verify,
};
use baton_store::{
    entities::{job, sprint_task_execution},
    now,
    sea_orm::{
        ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
        sea_query::Expr,
    },
};
use serde::{Deserialize, Serialize};

use super::{ExecutionView, execution_view};
use crate::{
    Actor, App, AppError, AppResult,
    queue::{
        complete::{MAX_DIFF_BYTES, check_claim},
        not_your_claim, token_of,
    },
    txn,
};

/// Longest skip reason.
pub const MAX_SKIP_REASON: usize = 2000;
/// Longest verification summary.
pub const MAX_VERIFY_SUMMARY: usize = 1000;

/// A worker's report on one execution of its batch job.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateTaskExecution {
    /// The execution (`task_executions[].execution_id` of the claim payload).
    pub execution_id: String,
    /// pending, running, done, failed or skipped.
    pub status: TaskExecutionStatus,
    /// The claim attempt from the claim payload (a claim taken over after a lease expiry is refused).
    #[serde(default)]
    pub attempt: Option<i32>,
    /// Commit the task's work starts from (4–64 hex digits).
    #[serde(default)]
    pub base_sha: Option<String>,
    /// Commit the task's work ended at (4–64 hex digits).
    #[serde(default)]
    pub head_sha: Option<String>,
    /// Why it was skipped (≤ 2000).
    #[serde(default)]
    pub skip_reason: Option<String>,
}

impl UpdateTaskExecution {
    /// A report of `status` on an execution with nothing else.
    pub fn new(execution_id: impl Into<String>, status: TaskExecutionStatus) -> UpdateTaskExecution {
        UpdateTaskExecution {
            execution_id: execution_id.into(),
            status,
            attempt: None,
            base_sha: None,
            head_sha: None,
            skip_reason: None,
        }
    }

    fn validate(&self) -> Result<(), ValidationErrors> {
        let mut e = ValidationErrors::new();
        check_sha(&mut e, "base_sha", self.base_sha.as_deref());
        check_sha(&mut e, "head_sha", self.head_sha.as_deref());
        if self.skip_reason.as_ref().is_some_and(|s| s.chars().count() > MAX_SKIP_REASON) {
            e.add("skip_reason", format!("must be at most {MAX_SKIP_REASON} characters"));
        }
        e.into_result()
    }
}

fn check_sha(e: &mut ValidationErrors, path: &str, v: Option<&str>) {
    if let Some(v) = v {
        let v = v.trim();
        if !(4..=64).contains(&v.len()) || !v.chars().all(|ch| ch.is_ascii_hexdigit()) {
            e.add(path, "must be a commit hash of 4 to 64 hex digits");
        }
    }
}

/// A worker's diff of one execution, to classify against the frozen plan.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifySprintTask {
    /// The execution.
    pub execution_id: String,
    /// Unified diff of the task's work (`git diff <base>...HEAD`), at most 5 MiB.
    pub diff: String,
    /// Explains drift (≤ 1000); a partial or divergent result on an
    /// aligned_or_partial task needs at least 20 characters.
    #[serde(default)]
    pub summary: Option<String>,
    /// The claim attempt from the claim payload.
    #[serde(default)]
    pub attempt: Option<i32>,
}

/// The verification recorded on an execution.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SprintVerifyReport {
    /// The execution.
    pub execution_id: String,
    /// aligned, partial, empty or divergent.
    pub result: VerifyResult,
    /// Why, in one sentence.
    pub reasoning: String,
    /// The commit the diff is taken from.
    pub base_sha: String,
    /// Whether the sprint gate would accept this execution as done (with the summary given).
    pub allowed_for_done: bool,
    /// Why not, when it would not.
    pub reason: Option<String>,
}

/// Checks and locks the caller's claim on a batch job inside a write
/// transaction; the job row as it is now.
async fn lock_claim<C: ConnectionTrait>(
    c: &C,
    job_id: &str,
    token: &str,
    attempt: Option<i32>,
) -> AppResult<job::Model> {
    let mut q = job::Entity::update_many()
        .col_expr(job::Column::UpdatedAt, Expr::col(job::Column::UpdatedAt))
        .filter(job::Column::Id.eq(job_id))
        .filter(job::Column::ClaimedByTokenId.eq(token))
        .filter(job::Column::Status.is_in([JobStatus::Claimed.as_db(), JobStatus::Running.as_db()]));
    if let Some(a) = attempt {
        q = q.filter(job::Column::RetryCount.eq(a));
    }
    let locked = q.exec(c).await?.rows_affected == 1;
    let m = job::Entity::find_by_id(job_id.to_string()).one(c).await?.ok_or(AppError::NotFound("job"))?;
    check_claim(&m, token, attempt)?;
    if !locked {
        return Err(not_your_claim());
    }
    Ok(m)
}

/// The execution and its batch job, if the job is the caller's; other
/// users' executions are not found.
async fn own_execution<C: ConnectionTrait>(
    c: &C,
    actor: &Actor,
    execution_id: &str,
) -> AppResult<(sprint_task_execution::Model, job::Model)> {
    let x = sprint_task_execution::Entity::find_by_id(execution_id.trim().to_string())
        .one(c)
        .await?
        .ok_or(AppError::NotFound("task execution"))?;
    let j = job::Entity::find_by_id(x.sprint_job_id.clone())
        .one(c)
        .await?
        .filter(|j| j.user_id == actor.user_id && j.kind == JobKind::SprintImplementation.as_db())
        .ok_or(AppError::NotFound("task execution"))?;
    Ok((x, j))
}

/// The base commit of an execution: its own, else the `head_sha` of the
/// previous DONE execution, else (nothing done before it) the job's
/// `base_sha` reported by the worker. `None` when none is known.
async fn resolve_base<C: ConnectionTrait>(
    c: &C,
    x: &sprint_task_execution::Model,
    j: &job::Model,
) -> AppResult<Option<String>> {
    if let Some(b) = x.base_sha.clone().filter(|b| !b.is_empty()) {
        return Ok(Some(b));
    }
    let prev = sprint_task_execution::Entity::find()
        .filter(sprint_task_execution::Column::SprintJobId.eq(&j.id))
        .filter(sprint_task_execution::Column::RunOrder.lt(x.run_order))
        .filter(sprint_task_execution::Column::Status.eq(TaskExecutionStatus::Done.as_db()))
        .order_by_desc(sprint_task_execution::Column::RunOrder)
        .one(c)
        .await?;
    match prev {
        Some(p) => Ok(p.head_sha.filter(|h| !h.is_empty())),
        None => Ok(j.base_sha.clone().filter(|b| !b.is_empty())),
    }
}

fn missing_base(x: &sprint_task_execution::Model) -> AppError {
    AppError::Conflict(format!(
        "MISSING_BASE_SHA: execution {} (order {}) has no base commit and no earlier done execution has a head_sha; \
         report the base with update_task_execution base_sha (or update_job_status running base_sha)",
        x.id, x.run_order
    ))
}

impl App {
    /// Records a worker's progress on one execution of its batch job
    /// (reference §6.2): RUNNING sets `started_at`, a terminal status sets
    /// `finished_at`; commits and a skip reason are kept when given.
    /// Repeating a report changes nothing more (idempotent).
    pub async fn update_task_execution(&self, actor: &Actor, input: UpdateTaskExecution) -> AppResult<ExecutionView> {
        actor.require_write()?;
        let token = token_of(actor)?.to_string();
        input.validate()?;
        let (_, j) = own_execution(&self.db, actor, &input.execution_id).await?;
        let actor2 = actor.clone();
        let row = txn::in_product_txn(&self.db, &j.product_id, move |c| {
            Box::pin(async move {
                let (x, j) = own_execution(c, &actor2, &input.execution_id).await?;
                lock_claim(c, &j.id, &token, input.attempt).await?;
                let t = now();
                let terminal = matches!(
                    input.status,
                    TaskExecutionStatus::Done | TaskExecutionStatus::Failed | TaskExecutionStatus::Skipped
                );
                let mut am: sprint_task_execution::ActiveModel = x.clone().into();
                am.status = Set(input.status.as_db().into());
                match input.status {
                    TaskExecutionStatus::Running => {
                        am.started_at = Set(Some(x.started_at.unwrap_or(t)));
                        am.finished_at = Set(None);
                    }
                    TaskExecutionStatus::Pending => {}
                    _ if terminal => am.finished_at = Set(Some(x.finished_at.unwrap_or(t))),
                    _ => {}
                }
                if let Some(b) = &input.base_sha {
                    am.base_sha = Set(Some(b.trim().to_ascii_lowercase()));
                }
                if let Some(h) = &input.head_sha {
                    am.head_sha = Set(Some(h.trim().to_ascii_lowercase()));
                }
                if let Some(s) = &input.skip_reason {
                    am.skip_reason = Set(Some(s.trim().to_string()));
                }
                am.updated_at = Set(t);
                Ok(am.update(c).await?)
            })
        })
        .await?;
        execution_view(row)
    }

    /// The base commit to diff an execution from (see `verify_sprint_task`),
    /// recorded on the execution; `MISSING_BASE_SHA` when none is known.
    /// The stdio transport calls this before diffing the worktree.
    pub async fn sprint_execution_base(
        &self,
        actor: &Actor,
        execution_id: &str,
        attempt: Option<i32>,
    ) -> AppResult<String> {
        actor.require_write()?;
        let token = token_of(actor)?.to_string();
        let (_, j) = own_execution(&self.db, actor, execution_id).await?;
        let actor2 = actor.clone();
        let id = execution_id.to_string();
        txn::in_product_txn(&self.db, &j.product_id, move |c| {
            Box::pin(async move {
                let (x, j) = own_execution(c, &actor2, &id).await?;
                let j = lock_claim(c, &j.id, &token, attempt).await?;
                persist_base(c, &x, &j).await
            })
        })
        .await
    }

    /// Classifies the diff of one execution against its frozen plan and
    /// records `verify_result` and `verify_summary` on it (reference §6.2
    /// step 3). The base is the execution's, else the previous DONE
    /// execution's `head_sha` (recorded), else the job's reported base;
    /// `MISSING_BASE_SHA` otherwise. `allowed_for_done` applies the gate
    /// with the frozen `verify_only`/`verify_required` and the summary.
    pub async fn verify_sprint_task(&self, actor: &Actor, input: VerifySprintTask) -> AppResult<SprintVerifyReport> {
        actor.require_write()?;
        let token = token_of(actor)?.to_string();
        let mut errs = ValidationErrors::new();
        if input.diff.len() > MAX_DIFF_BYTES {
            errs.add("diff", format!("must be at most {MAX_DIFF_BYTES} bytes"));
        }
        if input.summary.as_ref().is_some_and(|s| s.chars().count() > MAX_VERIFY_SUMMARY) {
            errs.add("summary", format!("must be at most {MAX_VERIFY_SUMMARY} characters"));
        }
        errs.into_result()?;
        let (_, j) = own_execution(&self.db, actor, &input.execution_id).await?;
        let actor2 = actor.clone();
        txn::in_product_txn(&self.db, &j.product_id, move |c| {
            Box::pin(async move {
                let (x, j) = own_execution(c, &actor2, &input.execution_id).await?;
                let j = lock_claim(c, &j.id, &token, input.attempt).await?;
                let base = persist_base(c, &x, &j).await?;
                let verdict = verify::classify(&input.diff, &x.plan_snapshot);
                let summary = input.summary.map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
                let required = VerifyRequired::decode(
                    &x.verify_required_snapshot,
                    "sprint_task_executions.verify_required_snapshot",
                )?;
                let gate = verify::gate(Some(verdict.result), x.verify_only_snapshot, required, summary.as_deref());
                sprint_task_execution::Entity::update_many()
                    .col_expr(sprint_task_execution::Column::VerifyResult, Expr::value(Some(verdict.result.as_db())))
                    .col_expr(sprint_task_execution::Column::VerifySummary, Expr::value(summary))
                    .col_expr(sprint_task_execution::Column::UpdatedAt, Expr::value(now()))
                    .filter(sprint_task_execution::Column::Id.eq(&x.id))
                    .exec(c)
                    .await?;
                Ok(SprintVerifyReport {
                    execution_id: x.id,
                    result: verdict.result,
                    reasoning: verdict.reasoning,
                    base_sha: base,
                    allowed_for_done: gate.is_ok(),
                    reason: gate.err().map(|r| r.0),
                })
            })
        })
        .await
    }
}

/// Resolves the base of an execution and records it when it was missing.
async fn persist_base<C: ConnectionTrait>(
    c: &C,
    x: &sprint_task_execution::Model,
    j: &job::Model,
) -> AppResult<String> {
    let base = resolve_base(c, x, j).await?.ok_or_else(|| missing_base(x))?;
    if x.base_sha.as_deref() != Some(base.as_str()) {
        sprint_task_execution::Entity::update_many()
            .col_expr(sprint_task_execution::Column::BaseSha, Expr::value(Some(base.clone())))
            .col_expr(sprint_task_execution::Column::UpdatedAt, Expr::value(now()))
            .filter(sprint_task_execution::Column::Id.eq(&x.id))
            .exec(c)
            .await?;
    }
    Ok(base)
}
