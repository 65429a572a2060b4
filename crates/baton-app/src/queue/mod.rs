//! The durable agent job queue (reference §3.4–3.6, §4.6, §5.4, §8).
//!
//! Jobs are rows. A person (or Baton) enqueues a job; a worker claims the
//! oldest eligible one under a lease ([`claim`]), keeps it alive with
//! heartbeats ([`lease`]) and reports the outcome ([`complete`]), which runs
//! the verify gate, task status propagation and the PBI fail-cascade in the
//! same transaction. A person may cancel a job, or [`retry`] a failed or
//! cancelled one (a new job for the same task). Every state change commits
//! before its events go out.
//!
//! A claim is identified by the claiming token **and** the attempt number
//! (`retry_count` at claim time, which the stale-lease reset increases), so
//! a worker whose lease was taken over can no longer heartbeat or complete.

pub mod claim;
pub mod complete;
pub mod enqueue;
pub mod kind_config;
pub mod lease;
pub mod overview;
pub mod precheck;
pub mod requeue;
pub mod retry;
pub mod status;
pub mod sweep;

use baton_domain::agents::{AgentRuntime, JobKind, JobSource, JobStatus};
use baton_store::{
    entities::job,
    events::{Event, kinds},
};
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::json;

use crate::{Actor, App, AppError, AppResult, AuthVia};

/// The lowercase API form of a stored enum value, for events only (they go
/// out after the commit and cannot fail; unknown values are lowercased as
/// is). Views decode with `decode`, which refuses unknown values.
pub(crate) fn api_of<T: Copy>(raw: &str, parse: fn(&str) -> Option<T>, api: fn(T) -> String) -> String {
    parse(raw).map_or_else(|| raw.to_lowercase(), api)
}

/// A job as the API shows it: every column, enums lowercase.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct JobView {
    /// Id.
    pub id: String,
    /// The user whose agents may claim it.
    pub user_id: String,
    /// Product.
    pub product_id: String,
    /// Task, for task jobs.
    pub task_id: Option<String>,
    /// Idea, for idea jobs.
    pub idea_id: Option<String>,
    /// Sprint run, for jobs of a run.
    pub sprint_run_id: Option<String>,
    /// Order within the run.
    pub sprint_sequence: Option<i32>,
    /// `task_implementation`, `idea_grill`, …
    pub kind: String,
    /// `queued`, `claimed`, `running`, `done`, `failed`, `cancelled`, `skipped`.
    pub status: String,
    /// `claude`, `codex` or `harness`.
    pub runtime: String,
    /// `system`, `manual`, `orchestrator` or `copilot`.
    pub source: String,
    /// A capability the claiming worker must have.
    pub required_capability: Option<String>,
    /// The token that holds the claim.
    pub claimed_by_token_id: Option<String>,
    /// When it was claimed.
    pub claimed_at: Option<DateTime<Utc>>,
    /// The claiming worker instance.
    pub worker_instance_id: Option<String>,
    /// The claim expires unless renewed by then.
    pub lease_until: Option<DateTime<Utc>>,
    /// Times the lease expired and the job was handed out again; also the
    /// current claim's attempt number.
    pub retry_count: i32,
    /// When the worker reported it started.
    pub started_at: Option<DateTime<Utc>>,
    /// When it reached a terminal status.
    pub finished_at: Option<DateTime<Utc>>,
    /// When its branch was pushed.
    pub pushed_at: Option<DateTime<Utc>>,
    /// `aligned`, `partial`, `empty` or `divergent`.
    pub verify_result: Option<String>,
    /// The task's plan frozen at claim time.
    pub plan_snapshot: Option<String>,
    /// Commit the work started from.
    pub base_sha: Option<String>,
    /// Commit the work ended at.
    pub head_sha: Option<String>,
    /// Branch of the work.
    pub branch: Option<String>,
    /// Pull request.
    pub pr_url: Option<String>,
    /// Outcome summary.
    pub summary: Option<String>,
    /// Why it failed, was skipped or cancelled.
    pub error: Option<String>,
    /// Model used.
    pub model_id: Option<String>,
    /// Input tokens used.
    pub input_tokens: Option<i64>,
    /// Output tokens used.
    pub output_tokens: Option<i64>,
    /// Cache-read tokens used.
    pub cache_read_tokens: Option<i64>,
    /// Cache-write tokens used.
    pub cache_write_tokens: Option<i64>,
    /// Thinking tokens used.
    pub actual_thinking_tokens: Option<i64>,
    /// Model asked for.
    pub requested_model: Option<String>,
    /// Thinking budget asked for.
    pub requested_thinking_budget: Option<i32>,
    /// Permission mode asked for.
    pub requested_permission_mode: Option<String>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

/// The API view of a job row; an unknown enum value in it is an internal error.
pub fn job_view(m: job::Model) -> AppResult<JobView> {
    Ok(JobView {
        kind: JobKind::decode(&m.kind, "jobs.kind")?.as_api(),
        status: JobStatus::decode(&m.status, "jobs.status")?.as_api(),
        runtime: AgentRuntime::decode(&m.runtime, "jobs.runtime")?.as_api(),
        source: JobSource::decode(&m.source, "jobs.source")?.as_api(),
        verify_result: m
            .verify_result
            .as_deref()
            .map(|v| baton_domain::backlog::VerifyResult::decode(v, "jobs.verify_result").map(|v| v.as_api()))
            .transpose()?,
        id: m.id,
        user_id: m.user_id,
        product_id: m.product_id,
        task_id: m.task_id,
        idea_id: m.idea_id,
        sprint_run_id: m.sprint_run_id,
        sprint_sequence: m.sprint_sequence,
        required_capability: m.required_capability,
        claimed_by_token_id: m.claimed_by_token_id,
        claimed_at: m.claimed_at,
        worker_instance_id: m.worker_instance_id,
        lease_until: m.lease_until,
        retry_count: m.retry_count,
        started_at: m.started_at,
        finished_at: m.finished_at,
        pushed_at: m.pushed_at,
        plan_snapshot: m.plan_snapshot,
        base_sha: m.base_sha,
        head_sha: m.head_sha,
        branch: m.branch,
        pr_url: m.pr_url,
        summary: m.summary,
        error: m.error,
        model_id: m.model_id,
        input_tokens: m.input_tokens,
        output_tokens: m.output_tokens,
        cache_read_tokens: m.cache_read_tokens,
        cache_write_tokens: m.cache_write_tokens,
        actual_thinking_tokens: m.actual_thinking_tokens,
        requested_model: m.requested_model,
        requested_thinking_budget: m.requested_thinking_budget,
        requested_permission_mode: m.requested_permission_mode,
        created_at: m.created_at,
        updated_at: m.updated_at,
    })
}

/// The token a worker acts through; claiming and reporting need one.
pub(crate) fn token_of(actor: &Actor) -> AppResult<&str> {
    match &actor.via {
        AuthVia::Token { token_id, .. } => Ok(token_id),
        _ => Err(AppError::Forbidden("PERMISSION_DENIED: working on jobs needs an API token".into())),
    }
}

/// The caller's token id; working on jobs and worker presence need one.
pub fn token_of_pub(actor: &Actor) -> AppResult<&str> {
    token_of(actor)
}

/// The error a worker gets for a job it does not (or no longer) hold.
pub(crate) fn not_your_claim() -> AppError {
    AppError::Forbidden("PERMISSION_DENIED: This job was not claimed by your token".into())
}

/// The status of a stored job row.
pub(crate) fn status_of(m: &job::Model) -> AppResult<JobStatus> {
    Ok(JobStatus::decode(&m.status, "jobs.status")?)
}

/// The kind of a stored job row.
pub(crate) fn kind_of(m: &job::Model) -> AppResult<JobKind> {
    Ok(JobKind::decode(&m.kind, "jobs.kind")?)
}

impl App {
    /// Announces a job's new status (reference §3.5 step 5).
    pub(crate) async fn announce_job(&self, m: &job::Model) {
        self.announce(job_event(m)).await;
    }
}

/// The event of a job's new status (reference §3.5 step 5).
pub(crate) fn job_event(m: &job::Model) -> Event {
    {
        let data = json!({
            "job_id": m.id,
            "user_id": m.user_id,
            "product_id": m.product_id,
            "kind": api_of(&m.kind, JobKind::from_db, JobKind::as_api),
            "status": api_of(&m.status, JobStatus::from_db, JobStatus::as_api),
            "task_id": m.task_id,
            "idea_id": m.idea_id,
            "branch": m.branch,
            "pushed_at": m.pushed_at,
            "pr_url": m.pr_url,
            "verify_result": m.verify_result.as_deref().map(str::to_lowercase),
            "summary": m.summary,
            "error": m.error,
            "retry_count": m.retry_count,
        });
        Event::new(kinds::JOB_STATUS).for_product(&m.product_id).for_user(&m.user_id).with_data(data)
    }
}
