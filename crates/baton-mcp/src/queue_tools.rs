//! The job queue as a worker sees it: `wait_for_job`, `job_heartbeat`,
//! `update_job_status` (over stdio with a worktree to push),
//! `worker_heartbeat`, `check_queue_empty`, `verify_task_against_plan`
//! (a diff over HTTP, a local worktree over stdio); and for the people (and
//! scripts) who look after the queue `dispatch_job` ("start agent" on a
//! task), `list_jobs`, `get_job`, `cancel_job`, `retry_job` and
//! `requeue_job`.

use baton_app::{
    AppError, AppResult,
    queue::{
        claim::ClaimRequest,
        complete::UpdateJobStatus,
        enqueue::{JobFilter, NewTaskJob},
    },
    workers::Quota,
};
use baton_domain::agents::{AgentRuntime, WorkerTier};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;

use crate::{
    Transport,
    schema::api_enum_schema,
    tools::{Cx, parse, to_json},
};

api_enum_schema!(runtime_schema, opt_runtime_schema, AgentRuntime);
api_enum_schema!(tier_schema, opt_tier_schema, WorkerTier);

fn job_status_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({ "type": "string", "enum": ["running", "done", "failed", "skipped"] })
}

/// Arguments of `wait_for_job`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct WaitForJobArgs {
    /// Only jobs of this product (id or code).
    #[serde(default)]
    product_id: Option<String>,
    /// How long to wait for a job, 1–600 seconds (default 300). A timeout is a normal result `{status: "timeout"}`.
    #[serde(default)]
    #[schemars(range(min = 1, max = 600))]
    wait_seconds: Option<u64>,
    /// This worker's instance id (default: the `baton mcp` process's, or `mcp-http-<token>` over HTTP).
    #[serde(default)]
    instance_id: Option<String>,
    /// Agent program (default claude); only jobs of this runtime are claimed.
    #[serde(default)]
    #[schemars(schema_with = "opt_runtime_schema")]
    runtime: Option<AgentRuntime>,
    /// Capabilities this worker offers (jobs may require one).
    #[serde(default)]
    capabilities: Option<Vec<String>>,
    /// This worker's tier (default medium_p); lower tiers defer to idle higher ones.
    #[serde(default)]
    #[schemars(schema_with = "opt_tier_schema")]
    tier: Option<WorkerTier>,
}

/// Arguments of `job_heartbeat`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct JobHeartbeatArgs {
    /// The job id from `wait_for_job`.
    job_id: String,
    /// The claim `attempt` from `wait_for_job` (a claim taken over after a lease expiry is refused).
    #[serde(default)]
    attempt: Option<i32>,
}

/// Arguments of `update_job_status`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct UpdateJobStatusArgs {
    /// The job id from `wait_for_job`.
    job_id: String,
    /// running (started), done (verify gate applies: call `verify_task_against_plan` first), failed, or skipped (needs `error` ≥ 10 characters).
    #[schemars(schema_with = "job_status_schema")]
    status: String,
    /// The claim `attempt` from `wait_for_job`.
    #[serde(default)]
    attempt: Option<i32>,
    /// The branch the work is on.
    #[serde(default)]
    branch: Option<String>,
    /// The commit the work ended at.
    #[serde(default)]
    head_sha: Option<String>,
    /// The commit the work started from.
    #[serde(default)]
    base_sha: Option<String>,
    /// Whether you pushed the branch.
    #[serde(default)]
    pushed: Option<bool>,
    /// Pull request URL, if you opened one.
    #[serde(default)]
    pr_url: Option<String>,
    /// What was done (≤ 1000); must explain any drift when verification was partial or divergent.
    #[serde(default)]
    summary: Option<String>,
    /// Why it failed or was skipped (≤ 2000).
    #[serde(default)]
    error: Option<String>,
    /// Model used.
    #[serde(default)]
    model_id: Option<String>,
    /// Input tokens used.
    #[serde(default)]
    input_tokens: Option<i64>,
    /// Output tokens used.
    #[serde(default)]
    output_tokens: Option<i64>,
    /// Cache-read tokens.
    #[serde(default)]
    cache_read_tokens: Option<i64>,
    /// Cache-write tokens.
    #[serde(default)]
    cache_write_tokens: Option<i64>,
    /// Thinking tokens.
    #[serde(default)]
    actual_thinking_tokens: Option<i64>,
    /// Only check whether this report would be accepted now (claim, verify gate); changes nothing.
    #[serde(default)]
    check_only: Option<bool>,
}

/// Arguments of `update_job_status` over stdio: as over HTTP, plus the
/// worktree to push. Only its schema is used: `worktree_path` is taken out
/// before the rest is parsed as [`UpdateJobStatusArgs`] (serde's `flatten`
/// would let unknown fields through).
#[derive(JsonSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub(crate) struct UpdateJobStatusStdioArgs {
    #[serde(flatten)]
    report: UpdateJobStatusArgs,
    /// Absolute path of your git worktree. With `done`, the report is checked first, then HEAD is pushed to `origin` (branch: `branch`, else the worktree's branch, else `feat/job-<id>`) and branch, head_sha and pushed are recorded; a failed push reports the job failed. Leave it out to push yourself.
    worktree_path: Option<String>,
}

/// Arguments of `worker_heartbeat`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct WorkerHeartbeatArgs {
    /// Remaining subscription quota in percent, 0–100.
    #[serde(default)]
    #[schemars(range(min = 0, max = 100))]
    last_quota_pct: Option<i32>,
    /// When the quota was measured (RFC 3339; default now).
    #[serde(default)]
    last_quota_check_at: Option<chrono::DateTime<chrono::Utc>>,
    /// This worker's instance id (default: as for `wait_for_job`).
    #[serde(default)]
    instance_id: Option<String>,
    /// Agent program (default: this process's, or claude); kept on the worker row.
    #[serde(default)]
    #[schemars(schema_with = "opt_runtime_schema")]
    runtime: Option<AgentRuntime>,
    /// This worker's tier (default: this process's, or medium_p).
    #[serde(default)]
    #[schemars(schema_with = "opt_tier_schema")]
    tier: Option<WorkerTier>,
    /// Capabilities this worker offers (default: this process's, or none).
    #[serde(default)]
    capabilities: Option<Vec<String>>,
    /// Host the worker runs on.
    #[serde(default)]
    hostname: Option<String>,
    /// The worker's process id.
    #[serde(default)]
    pid: Option<i32>,
}

/// Arguments of `check_queue_empty`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct QueueStatusArgs {
    /// Only this product (id or code); omit to count per product you can read.
    #[serde(default)]
    product_id: Option<String>,
}

/// Arguments of `retry_job`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RetryJobArgs {
    /// The failed or cancelled job to retry (its id).
    job_id: String,
}

/// Arguments of `verify_task_against_plan` over HTTP.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct VerifyDiffArgs {
    /// The task (id or `T-N`) whose claimed job you hold, or the job id.
    task_id: String,
    /// Unified diff of your work (`git diff <base>...HEAD`), at most 5 MiB.
    diff: String,
}

/// Arguments of `verify_task_against_plan` over stdio.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct VerifyWorktreeArgs {
    /// The task (id or `T-N`) whose claimed job you hold, or the job id.
    task_id: String,
    /// Absolute path of the git worktree with your commits.
    worktree_path: String,
    /// Commit or ref to diff from (default: the job's `base_sha`, else the remote default branch from origin/HEAD).
    #[serde(default)]
    base: Option<String>,
}

/// `wait_for_job`.
pub(crate) async fn wait_for_job(cx: &Cx<'_>, args: Value) -> AppResult<Value> {
    let (app, actor) = (cx.app, cx.actor);
    let a: WaitForJobArgs = parse(args)?;
    let w = cx.worker(a.instance_id);
    let req = ClaimRequest {
        product_id: a.product_id,
        runtime: a.runtime.unwrap_or(w.runtime),
        capabilities: a.capabilities.unwrap_or(w.capabilities),
        tier: a.tier.unwrap_or(w.tier),
        instance_id: w.instance_id,
    };
    let wait = std::time::Duration::from_secs(a.wait_seconds.unwrap_or(300));
    if wait.is_zero() {
        return Err(AppError::field("wait_seconds", "must be between 1 and 600"));
    }
    to_json(app.wait_for_job(actor, req, wait).await?)
}

/// `job_heartbeat`.
pub(crate) async fn job_heartbeat(cx: &Cx<'_>, args: Value) -> AppResult<Value> {
    let (app, actor) = (cx.app, cx.actor);
    let a: JobHeartbeatArgs = parse(args)?;
    to_json(app.job_heartbeat(actor, &a.job_id, a.attempt).await?)
}

/// `update_job_status`.
pub(crate) async fn update_job_status(cx: &Cx<'_>, args: Value) -> AppResult<Value> {
    let (app, actor) = (cx.app, cx.actor);
    // Only stdio has a worktree on this machine to push from.
    let (worktree, args) = match cx.transport {
        Transport::Stdio => crate::stdio::take_worktree(args)?,
        Transport::Http => (None, args),
    };
    let a: UpdateJobStatusArgs = parse(args)?;
    let input = UpdateJobStatus {
        job_id: a.job_id,
        status: a.status,
        attempt: a.attempt,
        branch: a.branch,
        head_sha: a.head_sha,
        base_sha: a.base_sha,
        pushed: a.pushed,
        pr_url: a.pr_url,
        summary: a.summary,
        error: a.error,
        model_id: a.model_id,
        input_tokens: a.input_tokens,
        output_tokens: a.output_tokens,
        cache_read_tokens: a.cache_read_tokens,
        cache_write_tokens: a.cache_write_tokens,
        actual_thinking_tokens: a.actual_thinking_tokens,
    };
    if a.check_only == Some(true) {
        return to_json(app.check_job_report(actor, &input).await?);
    }
    match worktree {
        Some(wt) if input.status.trim() == "done" => {
            let reporter = crate::push::LocalReporter { app, actor };
            to_json(crate::push::push_then_report(&reporter, input, &wt).await?)
        }
        _ => to_json(app.update_job_status(actor, input).await?),
    }
}

/// `worker_heartbeat`.
pub(crate) async fn worker_heartbeat(cx: &Cx<'_>, args: Value) -> AppResult<Value> {
    let (app, actor) = (cx.app, cx.actor);
    let a: WorkerHeartbeatArgs = parse(args)?;
    let quota = Quota { last_quota_pct: a.last_quota_pct, last_quota_check_at: a.last_quota_check_at };
    // What the worker says about itself is kept (a heartbeat upserts the row).
    let mut w = cx.worker(a.instance_id);
    w.runtime = a.runtime.unwrap_or(w.runtime);
    w.tier = a.tier.unwrap_or(w.tier);
    w.capabilities = a.capabilities.unwrap_or(w.capabilities);
    w.hostname = a.hostname.or(w.hostname);
    w.pid = a.pid.or(w.pid);
    to_json(app.worker_heartbeat(actor, w, quota).await?)
}

/// `check_queue_empty`.
pub(crate) async fn check_queue_empty(cx: &Cx<'_>, args: Value) -> AppResult<Value> {
    let (app, actor) = (cx.app, cx.actor);
    let a: QueueStatusArgs = parse(args)?;
    to_json(app.queue_status(actor, a.product_id.as_deref()).await?)
}

/// `retry_job`.
pub(crate) async fn retry_job(cx: &Cx<'_>, args: Value) -> AppResult<Value> {
    let a: RetryJobArgs = parse(args)?;
    to_json(cx.app.retry_job(cx.actor, &a.job_id).await?)
}

/// `verify_task_against_plan` over HTTP: the agent sends its diff.
pub(crate) async fn verify_diff(cx: &Cx<'_>, args: Value) -> AppResult<Value> {
    let a: VerifyDiffArgs = parse(args)?;
    to_json(cx.app.record_verify_result(cx.actor, &a.task_id, &a.diff).await?)
}

/// `verify_task_against_plan` over stdio: the worktree is diffed here
/// against the job's base (or the given one).
pub(crate) async fn verify_worktree(cx: &Cx<'_>, args: Value) -> AppResult<Value> {
    let (app, actor) = (cx.app, cx.actor);
    let a: VerifyWorktreeArgs = parse(args)?;
    let base = match a.base {
        Some(b) => Some(b),
        // The job's base commit, when the target is a job we can read.
        None => app.get_job(actor, &a.task_id).await.ok().and_then(|j| j.base_sha),
    };
    let (diff, base) = crate::git::diff_against(&a.worktree_path, base.as_deref()).await?;
    let mut report = to_json(app.record_verify_result(actor, &a.task_id, &diff).await?)?;
    if let Value::Object(m) = &mut report {
        m.insert("diffed_against".into(), Value::String(base));
    }
    Ok(report)
}

/// Arguments of `dispatch_job`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct DispatchJobArgs {
    /// The task (id or `T-N`) to start an agent on; it must have no queued, claimed or running job.
    task_id: String,
    /// Agent program that should run it (default claude).
    #[serde(default)]
    #[schemars(schema_with = "opt_runtime_schema")]
    runtime: Option<AgentRuntime>,
    /// A capability the claiming worker must offer (≤ 40 characters).
    #[serde(default)]
    required_capability: Option<String>,
    /// Model to use (≤ 200 characters); overrides the product's preference.
    #[serde(default)]
    requested_model: Option<String>,
    /// Thinking budget in tokens (0–200000).
    #[serde(default)]
    #[schemars(range(min = 0, max = 200000))]
    requested_thinking_budget: Option<i32>,
    /// Permission mode for the agent (≤ 40 characters).
    #[serde(default)]
    requested_permission_mode: Option<String>,
}

/// Arguments of the tools about one job.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct JobArgs {
    /// The job's id.
    job_id: String,
}

/// Arguments of `list_jobs`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ListJobsArgs {
    /// Only jobs in this status (queued, claimed, running, done, failed, cancelled, skipped).
    #[serde(default)]
    status: Option<String>,
    /// Only jobs of this kind (task_implementation, sprint_implementation, idea_grill, …).
    #[serde(default)]
    kind: Option<String>,
    /// Only jobs of this product (id or code).
    #[serde(default)]
    product_id: Option<String>,
    /// Only jobs of this task (id or code).
    #[serde(default)]
    task_id: Option<String>,
    /// true: only dead jobs (failed after their last attempt); false: none of them.
    #[serde(default)]
    dead: Option<bool>,
    /// Page number from 1.
    #[serde(default)]
    #[schemars(range(min = 1, max = 1000000))]
    page: Option<u64>,
    /// Items per page, 1–200 (default 50).
    #[serde(default)]
    #[schemars(range(min = 1, max = 200))]
    limit: Option<u64>,
}

/// `dispatch_job`: "start agent" on a task, the service behind
/// `POST /api/tasks/{id}/jobs`.
pub(crate) async fn dispatch_job(cx: &Cx<'_>, args: Value) -> AppResult<Value> {
    let a: DispatchJobArgs = parse(args)?;
    let input = NewTaskJob {
        runtime: a.runtime,
        required_capability: a.required_capability,
        requested_model: a.requested_model,
        requested_thinking_budget: a.requested_thinking_budget,
        requested_permission_mode: a.requested_permission_mode,
    };
    to_json(cx.app.enqueue_task_job(cx.actor, &a.task_id, input).await?)
}

/// `get_job`.
pub(crate) async fn get_job(cx: &Cx<'_>, args: Value) -> AppResult<Value> {
    let a: JobArgs = parse(args)?;
    to_json(cx.app.get_job(cx.actor, &a.job_id).await?)
}

/// `list_jobs`.
pub(crate) async fn list_jobs(cx: &Cx<'_>, args: Value) -> AppResult<Value> {
    let a: ListJobsArgs = parse(args)?;
    let filter = JobFilter {
        status: a.status,
        kind: a.kind,
        product_id: a.product_id,
        task_id: a.task_id,
        dead: a.dead,
        page: a.page,
        limit: a.limit,
    };
    to_json(cx.app.list_jobs(cx.actor, filter).await?)
}

/// `cancel_job`.
pub(crate) async fn cancel_job(cx: &Cx<'_>, args: Value) -> AppResult<Value> {
    let a: JobArgs = parse(args)?;
    to_json(cx.app.cancel_job(cx.actor, &a.job_id).await?)
}

/// `requeue_job`.
pub(crate) async fn requeue_job(cx: &Cx<'_>, args: Value) -> AppResult<Value> {
    let a: JobArgs = parse(args)?;
    to_json(cx.app.requeue_job(cx.actor, &a.job_id).await?)
}
