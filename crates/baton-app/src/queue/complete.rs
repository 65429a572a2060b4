//! Reporting on a claimed job (reference §3.5): checks in the reference's
//! order, the verify gate (§5.4), persisting the outcome with usage, status
//! propagation to the task and above, and the PBI fail-cascade (§4.6) — one
//! transaction, events after commit. Also the verification a worker records
//! before it may report `done`.

use baton_domain::{
    ValidationErrors,
    agents::{JobKind, JobStatus},
    backlog::{TaskStatus, VerifyRequired, VerifyResult},
    ideas::{IdeaLogType, IdeaStatus},
    verify,
};
use baton_store::{
    entities::{idea, idea_log, job, story, task},
    events::Event,
    new_id, now,
    repo::queue as repo,
    sea_orm::{
        ActiveModelTrait,
        ActiveValue::Set,
        ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter, QueryOrder, TransactionTrait,
        sea_query::{Expr, Func, Query},
    },
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{enqueue::active_db, kind_of, not_your_claim, status_of, token_of};
use crate::{
    Actor, App, AppError, AppResult,
    backlog::{
        propagation::Rollup,
        refs,
        tasks::{apply_task_status_reading_queue, task_events, task_view},
    },
    txn,
};

/// Error written on siblings cancelled by a PBI fail-cascade.
pub const CASCADE_ERROR: &str = "cancelled_by_pbi_failure";
/// Longest `error` after the cascade trace is appended.
pub const MAX_TRACED_ERROR: usize = 1900;
/// Shortest error that explains a skip.
pub const MIN_SKIP_REASON: usize = 10;
/// Largest diff accepted for verification, in bytes.
pub const MAX_DIFF_BYTES: usize = 5 * 1024 * 1024;

/// A worker's report on its job.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateJobStatus {
    /// The job.
    pub job_id: String,
    /// `running`, `done`, `failed` or `skipped`.
    pub status: String,
    /// The claim attempt from the claim payload (recommended: a stale claim is refused).
    #[serde(default)]
    pub attempt: Option<i32>,
    /// The branch the work is on (≤ 255).
    #[serde(default)]
    pub branch: Option<String>,
    /// The commit the work ended at (≤ 64).
    #[serde(default)]
    pub head_sha: Option<String>,
    /// The commit the work started from (≤ 64).
    #[serde(default)]
    pub base_sha: Option<String>,
    /// The branch was pushed (records `pushed_at`).
    #[serde(default)]
    pub pushed: Option<bool>,
    /// Pull request URL (≤ 2000).
    #[serde(default)]
    pub pr_url: Option<String>,
    /// What was done (≤ 1000); with a partial or divergent verification it must explain the drift.
    #[serde(default)]
    pub summary: Option<String>,
    /// Why it failed or was skipped (≤ 2000; a skip needs ≥ 10 characters).
    #[serde(default)]
    pub error: Option<String>,
    /// Model used (≤ 200).
    #[serde(default)]
    pub model_id: Option<String>,
    /// Input tokens.
    #[serde(default)]
    pub input_tokens: Option<i64>,
    /// Output tokens.
    #[serde(default)]
    pub output_tokens: Option<i64>,
    /// Cache-read tokens.
    #[serde(default)]
    pub cache_read_tokens: Option<i64>,
    /// Cache-write tokens.
    #[serde(default)]
    pub cache_write_tokens: Option<i64>,
    /// Thinking tokens.
    #[serde(default)]
    pub actual_thinking_tokens: Option<i64>,
}

impl UpdateJobStatus {
    /// A report of `status` on `job_id` with nothing else.
    pub fn new(job_id: impl Into<String>, status: &str) -> UpdateJobStatus {
        UpdateJobStatus { job_id: job_id.into(), status: status.into(), ..Default::default() }
    }

    /// The field checks of a report; also used by the read-only precheck.
    pub(crate) fn validate(&self) -> Result<JobStatus, ValidationErrors> {
        let mut e = ValidationErrors::new();
        let status = match self.status.trim() {
            "running" => Some(JobStatus::Running),
            "done" => Some(JobStatus::Done),
            "failed" => Some(JobStatus::Failed),
            "skipped" => Some(JobStatus::Skipped),
            _ => None,
        };
        if status.is_none() {
            e.add("status", "must be one of running, done, failed, skipped");
        }
        let mut max = |path: &str, v: &Option<String>, n: usize| {
            if v.as_ref().is_some_and(|v| v.chars().count() > n) {
                e.add(path, format!("must be at most {n} characters"));
            }
        };
        max("branch", &self.branch, 255);
        max("head_sha", &self.head_sha, 64);
        max("base_sha", &self.base_sha, 64);
        max("pr_url", &self.pr_url, 2000);
        max("summary", &self.summary, 1000);
        max("error", &self.error, 2000);
        max("model_id", &self.model_id, 200);
        for (path, v) in [
            ("input_tokens", self.input_tokens),
            ("output_tokens", self.output_tokens),
            ("cache_read_tokens", self.cache_read_tokens),
            ("cache_write_tokens", self.cache_write_tokens),
            ("actual_thinking_tokens", self.actual_thinking_tokens),
        ] {
            if v.is_some_and(|v| v < 0) {
                e.add(path, "must not be negative");
            }
        }
        e.into_result()?;
        Ok(status.unwrap_or(JobStatus::Running))
    }
}

/// The rules of a `skipped` report (reference §3.5 check 5).
pub(crate) fn check_skip(kind: JobKind, to: JobStatus, input: &UpdateJobStatus) -> AppResult<()> {
    if to != JobStatus::Skipped {
        return Ok(());
    }
    if kind != JobKind::TaskImplementation {
        return Err(AppError::field("status", "skipped is only allowed for task_implementation jobs"));
    }
    if input.error.as_deref().map_or(0, |e| e.trim().chars().count()) < MIN_SKIP_REASON {
        return Err(AppError::field(
            "error",
            format!("a skip needs a reason of at least {MIN_SKIP_REASON} characters"),
        ));
    }
    Ok(())
}

/// The gates a `done` report must pass: the sprint aggregate gate for a
/// batch job (§6.3), the verify gate for a task job (§5.4).
pub(crate) async fn check_done_gates<C: ConnectionTrait>(
    c: &C,
    m: &job::Model,
    kind: JobKind,
    task: Option<&task::Model>,
    summary: Option<&str>,
) -> AppResult<()> {
    if kind == JobKind::SprintImplementation {
        crate::sprint_runs::batch::done_gate(c, m).await?;
    }
    if kind == JobKind::TaskImplementation
        && let Some(t) = task
    {
        let required = VerifyRequired::decode(&t.verify_required, "tasks.verify_required")?;
        let result = m.verify_result.as_deref().map(|v| VerifyResult::decode(v, "jobs.verify_result")).transpose()?;
        verify::gate(result, t.verify_only, required, summary)
            .map_err(|r| AppError::Conflict(format!("VERIFY_GATE: {}", r.0)))?;
    }
    Ok(())
}

/// The answer to a status report.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct JobStatusReport {
    /// The job.
    pub job_id: String,
    /// Its status now (lowercase).
    pub status: String,
    /// Branch recorded.
    pub branch: Option<String>,
    /// Commit recorded.
    pub head_sha: Option<String>,
    /// When the branch was pushed.
    pub pushed_at: Option<DateTime<Utc>>,
    /// Pull request.
    pub pr_url: Option<String>,
    /// Recorded verification (lowercase).
    pub verify_result: Option<String>,
    /// Summary recorded.
    pub summary: Option<String>,
    /// Error recorded (with the cascade trace, if one ran).
    pub error: Option<String>,
    /// When it started running.
    pub started_at: Option<DateTime<Utc>>,
    /// When it finished.
    pub finished_at: Option<DateTime<Utc>>,
    /// The task's status after propagation (task jobs reporting done or failed).
    pub task_status: Option<TaskStatus>,
    /// Jobs cancelled by the PBI fail-cascade or the sprint run failing.
    pub cancelled_jobs: Vec<String>,
    /// `idle` after `running`; otherwise `wait_for_job_again` while the
    /// caller has queued jobs, else `queue_empty`.
    pub next_action: String,
}

/// The verification recorded on a job.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct VerifyReport {
    /// The job it was recorded on.
    pub job_id: String,
    /// The job's task.
    pub task_id: Option<String>,
    /// `aligned`, `partial`, `empty` or `divergent`.
    pub verify_result: VerifyResult,
    /// Why, in one sentence.
    pub reasoning: String,
    /// Whether `update_job_status done` would pass the gate with the task's rules and no summary.
    pub gate_passes_without_summary: bool,
}

/// Checks §3.5 steps 2–4 on a job row: the caller's token and attempt hold
/// the claim, it is not cancelled and not finished.
pub(crate) fn check_claim(m: &job::Model, token: &str, attempt: Option<i32>) -> AppResult<()> {
    if m.claimed_by_token_id.as_deref() != Some(token) || attempt.is_some_and(|a| a != m.retry_count) {
        return Err(not_your_claim());
    }
    let status = status_of(m)?;
    if status == JobStatus::Cancelled {
        return Err(AppError::Conflict(
            "JOB_CANCELLED: this job was cancelled; discard the work and call wait_for_job again".into(),
        ));
    }
    if !matches!(status, JobStatus::Claimed | JobStatus::Running) {
        return Err(AppError::Conflict(format!("Job is already in terminal state: {}", status.as_api())));
    }
    Ok(())
}

/// `error` with the cascade trace appended, at most [`MAX_TRACED_ERROR`] characters.
pub fn with_trace(error: Option<&str>, trace: &str) -> String {
    let sep = "\n---\n";
    let room = MAX_TRACED_ERROR.saturating_sub(trace.chars().count() + sep.chars().count());
    match error.filter(|e| !e.is_empty()) {
        Some(e) => format!("{}{sep}{trace}", e.chars().take(room).collect::<String>()),
        None => trace.chars().take(MAX_TRACED_ERROR).collect(),
    }
}

impl App {
    /// Loads a job of the caller's (other users' jobs are not found).
    pub(crate) async fn own_job(&self, actor: &Actor, job_id: &str) -> AppResult<job::Model> {
        job::Entity::find_by_id(job_id.trim().to_string())
            .one(&self.db)
            .await?
            .filter(|m| m.user_id == actor.user_id)
            .ok_or(AppError::NotFound("job"))
    }

    /// Records a worker's report on its job (reference §3.5).
    ///
    /// `running` is one conditional `UPDATE … RETURNING` (it changes only
    /// the job). Every other report is one transaction that reads and locks
    /// the job with its task in one statement, runs the checks in the
    /// reference's order, writes the job, and for a task job locks the story
    /// and propagates (story → PBI → sprint, see [`crate::backlog::propagation`])
    /// without the product-wide lock; its events go out in one round trip
    /// after the commit.
    /// `failed` and `skipped` reports take the product lock first, as the
    /// PBI fail-cascade changes sibling jobs of the whole PBI.
    pub async fn update_job_status(&self, actor: &Actor, input: UpdateJobStatus) -> AppResult<JobStatusReport> {
        actor.require_write()?;
        let token = token_of(actor)?.to_string();
        let to = input.validate()?;
        if to == JobStatus::Running
            && let Some(m) = self.mark_running(actor, &token, &input).await?
        {
            self.announce_job(&m).await;
            return report(m, None, Vec::new(), "idle");
        }
        // Postgres may pick this report as the victim of a deadlock with a
        // writer that takes its rows in another order (a person deleting the
        // story, say): the transaction rolled back whole, so run it again.
        let mut tries = 0;
        loop {
            match self.report_once(actor, &token, &input, to).await {
                Err(e) if tries < 3 && is_deadlock(&e) => tries += 1,
                other => return other,
            }
        }
    }

    /// `running` as one statement: the job turns RUNNING only while the
    /// caller's token and attempt hold it claimed or running. `None` when it
    /// does not (the general path then says why).
    async fn mark_running(&self, actor: &Actor, token: &str, input: &UpdateJobStatus) -> AppResult<Option<job::Model>> {
        let t = now();
        let mut q = job::Entity::update_many()
            .col_expr(job::Column::Status, Expr::value(JobStatus::Running.as_db()))
            .col_expr(
                job::Column::StartedAt,
                Func::coalesce([Expr::col(job::Column::StartedAt), Expr::value(t)]).into(),
            )
            .col_expr(job::Column::UpdatedAt, Expr::value(t));
        if let Some(b) = &input.branch {
            q = q.col_expr(job::Column::Branch, Expr::value(b.clone()));
        }
        if input.pushed == Some(true) {
            q = q.col_expr(job::Column::PushedAt, Expr::value(t));
        }
        macro_rules! keep {
            ($($f:ident => $col:ident),*) => {$(if let Some(v) = &input.$f {
                q = q.col_expr(job::Column::$col, Expr::value(v.clone()));
            })*};
        }
        keep!(head_sha => HeadSha, base_sha => BaseSha, pr_url => PrUrl, summary => Summary, error => Error,
            model_id => ModelId, input_tokens => InputTokens, output_tokens => OutputTokens,
            cache_read_tokens => CacheReadTokens, cache_write_tokens => CacheWriteTokens,
            actual_thinking_tokens => ActualThinkingTokens);
        let mut q = q
            .filter(job::Column::Id.eq(input.job_id.trim()))
            .filter(job::Column::UserId.eq(&actor.user_id))
            .filter(job::Column::ClaimedByTokenId.eq(token))
            .filter(job::Column::Status.is_in([JobStatus::Claimed.as_db(), JobStatus::Running.as_db()]));
        if let Some(a) = input.attempt {
            q = q.filter(job::Column::RetryCount.eq(a));
        }
        Ok(q.exec_with_returning(&self.db).await?.into_iter().next())
    }

    /// One attempt at a report in one transaction (see [`Self::update_job_status`]).
    async fn report_once(
        &self,
        actor: &Actor,
        token: &str,
        input: &UpdateJobStatus,
        to: JobStatus,
    ) -> AppResult<JobStatusReport> {
        let txn = self.db.begin().await?;
        match self.report_in(&txn, actor, token, input, to).await {
            Ok((out, events)) => {
                // Events after the commit, not inside it: the story lock is
                // held until the commit, and sibling tasks' reports queue on
                // it, so the transaction ends one round trip sooner.
                txn.commit().await?;
                self.announce_all(&events).await;
                Ok(out)
            }
            Err(e) => {
                txn.rollback().await?;
                Err(e)
            }
        }
    }

    async fn report_in(
        &self,
        c: &DatabaseTransaction,
        actor: &Actor,
        token: &str,
        input: &UpdateJobStatus,
        to: JobStatus,
    ) -> AppResult<(JobStatusReport, Vec<Event>)> {
        let job_id = input.job_id.trim();
        let user = actor.user_id.as_str();
        let found = if to == JobStatus::Done {
            repo::job_and_task(c, job_id, user, true).await?
        } else {
            // Product lock first (a person's cancel takes it before the job
            // row too), then the job.
            let Some((m, _)) = repo::job_and_task(c, job_id, user, false).await? else {
                return Err(AppError::NotFound("job"));
            };
            txn::lock_product(c, &m.product_id).await?;
            repo::job_and_task(c, job_id, user, true).await?
        };
        let (m, t_row) = found.ok_or(AppError::NotFound("job"))?;
        check_claim(&m, token, input.attempt)?;
        let kind = kind_of(&m)?;
        check_skip(kind, to, input)?;
        if to == JobStatus::Done {
            check_done_gates(c, &m, kind, t_row.as_ref(), input.summary.as_deref()).await?;
        }
        let t = now();
        let failed_task_job = to == JobStatus::Failed && kind == JobKind::TaskImplementation;
        let mut am: job::ActiveModel = m.clone().into();
        am.status = Set(to.as_db().into());
        if to == JobStatus::Running {
            am.started_at = Set(Some(m.started_at.unwrap_or(t)));
        } else {
            am.finished_at = Set(Some(t));
            am.lease_until = Set(None);
        }
        if to == JobStatus::Done && kind == JobKind::TaskImplementation {
            let branch =
                input.branch.clone().or(m.branch.clone()).unwrap_or_else(|| super::precheck::job_branch(&m.id));
            am.branch = Set(Some(branch));
        } else if let Some(b) = &input.branch {
            am.branch = Set(Some(b.clone()));
        }
        if input.pushed == Some(true) {
            am.pushed_at = Set(Some(t));
        }
        macro_rules! keep {
            ($($f:ident),*) => {$(if input.$f.is_some() { am.$f = Set(input.$f.clone()); })*};
        }
        keep!(
            head_sha,
            base_sha,
            pr_url,
            summary,
            error,
            model_id,
            input_tokens,
            output_tokens,
            cache_read_tokens,
            cache_write_tokens,
            actual_thinking_tokens
        );
        am.updated_at = Set(t);
        let mut m = am.update(c).await?;

        // PBI fail-cascade (§4.6), before propagation: the siblings' job rows
        // are taken while this report holds no story or PBI lock, so a
        // sibling's `done` (job → story → PBI) never waits on it in reverse.
        let mut cascaded = Vec::new();
        if failed_task_job && let Some(tk) = &t_row {
            cascaded = pbi_cascade(c, &m, tk).await?;
        }

        // Propagation: done → task DONE, failed → task FAILED. No explicit
        // run: its check wants the caller to hold a claimed or running job in
        // the run, and this job was just finished above. Propagation finds the
        // run from this job's task (settle_sprint_run), and only settles it
        // while it is active.
        let mut roll = Rollup::default();
        let mut task_after = None;
        let mut queued = None;
        if kind == JobKind::TaskImplementation
            && matches!(to, JobStatus::Done | JobStatus::Failed)
            && let Some(tk) = &t_row
        {
            let status = if to == JobStatus::Done { TaskStatus::Done } else { TaskStatus::Failed };
            let (r, q) = apply_task_status_reading_queue(c, actor, tk, status, None, Some(user)).await?;
            roll = r;
            queued = Some(q);
            task_after = Some(task::Model { status: status.as_db().into(), updated_at: t, ..tk.clone() });
        }

        // Jobs of a sprint run finalise, pause or fail it (§6.3, §6.4);
        // after propagation, which may have finished stories.
        let run_after = crate::sprint_runs::batch::after_report(c, &m, to).await?;

        if failed_task_job {
            let mut trace = format!("cancelled_by_self; siblings_cancelled={}", cascaded.len());
            if !roll.cancelled_jobs.is_empty() {
                trace.push_str(&format!("; run_jobs_cancelled={}", roll.cancelled_jobs.len()));
            }
            let mut am: job::ActiveModel = m.clone().into();
            am.error = Set(Some(with_trace(m.error.as_deref(), &trace)));
            m = am.update(c).await?;
        }
        // Failed idea jobs mark their idea and log the event (§3.5 step 4).
        if to == JobStatus::Failed && kind.is_idea_kind() {
            idea_job_ended(c, &m, kind, "failed").await?;
        }

        let next_action = if to == JobStatus::Running {
            "idle"
        } else {
            let queued = match queued {
                Some(q) => q,
                None => repo::has_queued_job(c, user, None).await?,
            };
            if queued { "wait_for_job_again" } else { "queue_empty" }
        };

        let mut events = vec![super::job_event(&m)];
        if let Some(run) = &run_after {
            events.push(crate::sprint_runs::run_event(&m.product_id, run, "status"));
        }
        if !cascaded.is_empty() {
            for j in job::Entity::find().filter(job::Column::Id.is_in(cascaded.clone())).all(c).await? {
                events.push(super::job_event(&j));
            }
        }
        if let Some(tk) = &task_after {
            events.extend(task_events(&task_view(tk.clone())?, "status", &roll));
        }
        let mut cancelled_jobs = cascaded;
        cancelled_jobs.extend(roll.cancelled_jobs.iter().cloned());
        Ok((report(m, task_after, cancelled_jobs, next_action)?, events))
    }

    /// Classifies `diff` against the plan frozen on the job at claim time and
    /// records the result on the job (what `verify_task_against_plan` calls).
    /// `target` is the job id, or a task (id or code) whose claimed or
    /// running job the caller's token holds.
    pub async fn record_verify_result(&self, actor: &Actor, target: &str, diff: &str) -> AppResult<VerifyReport> {
        actor.require_write()?;
        let token = token_of(actor)?.to_string();
        if diff.len() > MAX_DIFF_BYTES {
            return Err(AppError::field("diff", format!("must be at most {MAX_DIFF_BYTES} bytes")));
        }
        // One read for the job and its task, by job id or by the task of the
        // caller's held job; the slower lookups below only find the error.
        let (m, t_row) = match repo::held_job_for(&self.db, target.trim(), &actor.user_id, &token).await? {
            Some(found) => found,
            None => {
                let t = refs::resolve_task(&self.db, actor, target).await?;
                let m = job::Entity::find()
                    .filter(job::Column::TaskId.eq(&t.id))
                    .filter(job::Column::UserId.eq(&actor.user_id))
                    .filter(job::Column::ClaimedByTokenId.eq(&token))
                    .filter(job::Column::Status.is_in(active_db()))
                    .order_by_desc(job::Column::ClaimedAt)
                    .one(&self.db)
                    .await?
                    .ok_or_else(|| {
                        AppError::Conflict(format!("task {} has no claimed or running job held by your token", t.code))
                    })?;
                (m, Some(t))
            }
        };
        check_claim(&m, &token, None)?;
        let verdict = verify::classify(diff, m.plan_snapshot.as_deref().unwrap_or(""));
        let updated = job::Entity::update_many()
            .col_expr(job::Column::VerifyResult, Expr::value(Some(verdict.result.as_db().to_string())))
            .col_expr(job::Column::UpdatedAt, Expr::value(now()))
            .filter(job::Column::Id.eq(&m.id))
            .filter(job::Column::ClaimedByTokenId.eq(&token))
            .filter(job::Column::RetryCount.eq(m.retry_count))
            .filter(job::Column::Status.is_in([JobStatus::Claimed.as_db(), JobStatus::Running.as_db()]))
            .exec(&self.db)
            .await?;
        if updated.rows_affected == 0 {
            // Changed since the check (cancelled, finished, taken over): say how.
            let now_row = self.own_job(actor, &m.id).await?;
            check_claim(&now_row, &token, None)?;
            return Err(not_your_claim());
        }
        let passes = match &t_row {
            Some(t) => verify::gate(
                Some(verdict.result),
                t.verify_only,
                VerifyRequired::decode(&t.verify_required, "tasks.verify_required")?,
                None,
            )
            .is_ok(),
            None => true,
        };
        Ok(VerifyReport {
            job_id: m.id,
            task_id: m.task_id,
            verify_result: verdict.result,
            reasoning: verdict.reasoning,
            gate_passes_without_summary: passes,
        })
    }
}

/// The answer to a report from the job as written.
fn report(
    m: job::Model,
    task_row: Option<task::Model>,
    cancelled_jobs: Vec<String>,
    next_action: &str,
) -> AppResult<JobStatusReport> {
    Ok(JobStatusReport {
        status: status_of(&m)?.as_api(),
        verify_result: m
            .verify_result
            .as_deref()
            .map(|v| VerifyResult::decode(v, "jobs.verify_result").map(VerifyResult::as_api))
            .transpose()?,
        job_id: m.id,
        branch: m.branch,
        head_sha: m.head_sha,
        pushed_at: m.pushed_at,
        pr_url: m.pr_url,
        summary: m.summary,
        error: m.error,
        started_at: m.started_at,
        finished_at: m.finished_at,
        task_status: task_row.map(|t| TaskStatus::decode(&t.status, "tasks.status")).transpose()?,
        cancelled_jobs,
        next_action: next_action.into(),
    })
}

/// Whether Postgres ended the transaction as a deadlock victim (SQLSTATE 40P01).
fn is_deadlock(e: &AppError) -> bool {
    matches!(e, AppError::Internal(i) if {
        let chain = format!("{i:#}");
        chain.contains("40P01") || chain.contains("deadlock detected")
    })
}

/// Sets the idea of an idea job that ended without success (`outcome`:
/// `failed`, or `cancelled`) to the matching `*_FAILED` status and adds a
/// `JOB_EVENT` log `"<KIND> <outcome>"` with `{job_id, error}`. A cancelled
/// or expired job counts as failed for its idea: otherwise the idea would
/// stay grilling or planning for good, a status no dispatch starts from.
pub(crate) async fn idea_job_ended<C: ConnectionTrait>(
    c: &C,
    m: &job::Model,
    kind: JobKind,
    outcome: &str,
) -> AppResult<()> {
    let Some(idea_id) = &m.idea_id else { return Ok(()) };
    let status = match kind {
        JobKind::IdeaGrill => Some(IdeaStatus::GrillFailed),
        JobKind::IdeaMakePlan => Some(IdeaStatus::PlanFailed),
        JobKind::IdeaReviewPlan => Some(IdeaStatus::PlanReviewFailed),
        JobKind::IdeaMakeSpec | JobKind::IdeaReviseSpec => Some(IdeaStatus::SpecFailed),
        _ => None,
    };
    let t = now();
    if let Some(status) = status {
        idea::Entity::update_many()
            .col_expr(idea::Column::Status, Expr::value(status.as_db()))
            .col_expr(idea::Column::UpdatedAt, Expr::value(t))
            .filter(idea::Column::Id.eq(idea_id))
            .exec(c)
            .await?;
    }
    idea_log::ActiveModel {
        id: Set(new_id()),
        idea_id: Set(idea_id.clone()),
        r#type: Set(IdeaLogType::JobEvent.as_db().into()),
        content: Set(format!("{} {outcome}", kind.as_db())),
        metadata: Set(Some(serde_json::json!({"job_id": m.id, "error": m.error}))),
        created_at: Set(t),
    }
    .insert(c)
    .await?;
    Ok(())
}

/// Cancels every unfinished job under the failed task's PBI (any story)
/// except `failed` itself; returns their ids. Idempotent.
async fn pbi_cascade<C: ConnectionTrait>(c: &C, failed: &job::Model, t: &task::Model) -> AppResult<Vec<String>> {
    let Some(s) = story::Entity::find_by_id(t.story_id.clone()).one(c).await? else { return Ok(Vec::new()) };
    let tasks_of_pbi = Query::select()
        .column(task::Column::Id)
        .from(task::Entity)
        .and_where(
            task::Column::StoryId.in_subquery(
                Query::select()
                    .column(story::Column::Id)
                    .from(story::Entity)
                    .and_where(story::Column::PbiId.eq(&s.pbi_id))
                    .to_owned(),
            ),
        )
        .to_owned();
    let victims: Vec<job::Model> = job::Entity::find()
        .filter(job::Column::TaskId.in_subquery(tasks_of_pbi))
        .filter(job::Column::Status.is_in(active_db()))
        .filter(job::Column::Id.ne(&failed.id))
        .all(c)
        .await?;
    let t0 = now();
    let mut ids = Vec::with_capacity(victims.len());
    for v in victims {
        // Only while still unfinished: a sibling's `done` (no product lock)
        // may have committed since the read above.
        let res = job::Entity::update_many()
            .col_expr(job::Column::Status, Expr::value(JobStatus::Cancelled.as_db()))
            .col_expr(job::Column::Error, Expr::value(CASCADE_ERROR))
            .col_expr(job::Column::FinishedAt, Expr::value(t0))
            .col_expr(job::Column::LeaseUntil, Expr::value(Option::<DateTime<Utc>>::None))
            .col_expr(job::Column::UpdatedAt, Expr::value(t0))
            .filter(job::Column::Id.eq(&v.id))
            .filter(job::Column::Status.is_in(active_db()))
            .exec(c)
            .await?;
        if res.rows_affected == 1 {
            ids.push(v.id);
        }
    }
    Ok(ids)
}
