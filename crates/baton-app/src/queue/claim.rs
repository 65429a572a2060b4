//! Claiming work (reference §3.4): the stale-lease reset, the claim with its
//! eligibility rules, the claim payload with the resolved model
//! configuration, and the `wait_for_job` long poll.
//!
//! A claim is two statements in the usual case: one read of the caller's
//! presence (is anything queued, did a lease expire, is a higher-tier peer
//! live, the quota floors), then one statement that picks the oldest
//! eligible job, locks it (`FOR UPDATE SKIP LOCKED` on Postgres), marks it
//! claimed and returns it with its payload rows (`repo::queue::claim_next`).
//! Only when a live higher-tier peer might be owed the job does the general
//! path weigh tier deference over candidates in Rust.

use std::{
    collections::HashSet,
    time::{Duration, Instant},
};

use baton_domain::{
    ValidationErrors,
    agents::{AgentRuntime, JobKind, JobStatus, SprintRunStatus, WorkerTier},
};
use baton_domain::{
    agents::TaskExecutionStatus,
    backlog::{PbiStatus, SprintStatus, VerifyRequired},
};
use baton_store::{
    entities::{idea, job, job_kind_config, product, sprint_run, sprint_task_execution, task, worker},
    events::{Event, kinds},
    now,
    repo::queue as repo,
    sea_orm::{
        ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait,
        QueryFilter, TransactionTrait,
    },
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value as Json, json};
use tokio::sync::broadcast::error::RecvError;

use super::{JobView, job_view, kind_of, token_of};
use crate::{Actor, App, AppError, AppResult, products};

/// The error a job gets when its lease expired on its last allowed attempt.
pub const STALE_FAILURE: &str = "agent did not complete job within 2 attempts";
/// Lease expiries after which a job fails instead of being requeued.
pub const MAX_RETRIES: i32 = 2;
/// A claimed job without a lease (legacy rows) goes stale this long after its claim.
pub const LEGACY_STALE_AFTER: Duration = Duration::from_secs(30 * 60);
/// Workers seen within this window count as live peers (the same window
/// that shows a worker as active).
pub const LIVE_WINDOW: Duration = Duration::from_secs(crate::workers::ACTIVE_WINDOW_SECS.unsigned_abs());
/// How often a worker should call `job_heartbeat`.
pub const HEARTBEAT_INTERVAL_SECS: u64 = 60;
/// Default long-poll window of `wait_for_job`.
pub const DEFAULT_WAIT: Duration = Duration::from_secs(300);
/// Longest long-poll window of `wait_for_job`.
pub const MAX_WAIT: Duration = Duration::from_secs(600);
/// Candidates examined per claim attempt: a small first window (the oldest
/// job is nearly always claimable), widened once when the capability and
/// tier filters leave none of a full window.
const CANDIDATE_WINDOWS: [u64; 2] = [16, 500];

/// Kinds claimable without a sprint run.
const STANDALONE: &[JobKind] = &[
    JobKind::IdeaGrill,
    JobKind::IdeaMakePlan,
    JobKind::IdeaReviewPlan,
    JobKind::PlanChat,
    JobKind::IdeaMakeSpec,
    JobKind::IdeaReviseSpec,
    JobKind::IdeaChat,
    JobKind::PrReview,
    JobKind::SpecReview,
    JobKind::TaskReview,
    JobKind::Deploy,
    JobKind::DocsAudit,
];

/// Who is asking for work.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClaimRequest {
    /// Only jobs of this product (id or code).
    #[serde(default)]
    pub product_id: Option<String>,
    /// The worker's agent program (default `claude`); only jobs of this runtime.
    #[serde(default = "crate::workers::default_runtime")]
    pub runtime: AgentRuntime,
    /// Capabilities the worker offers (jobs may require one).
    #[serde(default)]
    pub capabilities: Vec<String>,
    /// The worker's tier (default `medium_p`).
    #[serde(default = "crate::workers::default_tier")]
    pub tier: WorkerTier,
    /// The worker instance (1–200 characters).
    pub instance_id: String,
}

impl ClaimRequest {
    /// A request with defaults for `instance_id`.
    pub fn new(instance_id: impl Into<String>) -> ClaimRequest {
        ClaimRequest {
            product_id: None,
            runtime: AgentRuntime::Claude,
            capabilities: Vec::new(),
            tier: WorkerTier::MediumP,
            instance_id: instance_id.into(),
        }
    }

    fn validate(&self) -> Result<(), ValidationErrors> {
        let mut e = ValidationErrors::new();
        let n = self.instance_id.trim().chars().count();
        if n == 0 || n > 200 {
            e.add("instance_id", "must be 1 to 200 characters");
        }
        for (i, c) in self.capabilities.iter().enumerate() {
            let n = c.trim().chars().count();
            if n == 0 || n > 40 {
                e.add(&format!("capabilities.{i}"), "must be 1 to 40 characters");
            }
        }
        e.into_result()
    }
}

/// The model configuration an agent should use, resolved per field in the
/// order: `task.requires_opus` → the job's `requested_*` → the product's
/// `preferred_*` → the administrator's configuration of the job's kind
/// (`job_kind_configs`) → defaults per kind. Turns and allowed tools only
/// come from the kind's configuration or the defaults.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ModelConfig {
    /// Model name or alias (`sonnet`, `opus`, …).
    pub model: String,
    /// Thinking budget in tokens.
    pub thinking_budget: i32,
    /// Permission mode (`bypassPermissions`, `acceptEdits`, …).
    pub permission_mode: String,
    /// Turn limit.
    pub max_turns: i32,
    /// The tools the agent may use, when an administrator restricted them
    /// for the job's kind; `null` = the runtime's own defaults.
    pub allowed_tools: Option<Vec<String>>,
    /// Where the model came from: `requires_opus`, `job`, `product`, `kind_config` or `default`.
    pub model_source: String,
}

/// The hard-coded defaults per kind: (model, thinking budget, permission mode, turns).
pub fn kind_defaults(kind: JobKind) -> (&'static str, i32, &'static str, i32) {
    match kind {
        JobKind::TaskImplementation => ("sonnet", 6000, "bypassPermissions", 50),
        JobKind::SprintImplementation => ("sonnet", 6000, "bypassPermissions", 200),
        JobKind::IdeaGrill => ("sonnet", 12000, "acceptEdits", 15),
        JobKind::IdeaMakePlan => ("opus", 24000, "acceptEdits", 20),
        JobKind::IdeaReviewPlan | JobKind::IdeaMakeSpec | JobKind::IdeaReviseSpec => ("opus", 16000, "acceptEdits", 20),
        _ => ("sonnet", 6000, "acceptEdits", 30),
    }
}

/// Resolves the model configuration of a job (see [`ModelConfig`]); `k` is
/// the configuration of the job's kind, if an administrator saved one.
pub fn resolve_config(
    kind: JobKind,
    requires_opus: bool,
    j: &job::Model,
    p: Option<&product::Model>,
    k: Option<&job_kind_config::Model>,
) -> ModelConfig {
    let (model, budget, mode, turns) = kind_defaults(kind);
    let (model, model_source) = if requires_opus {
        ("opus".to_string(), "requires_opus")
    } else if let Some(m) = &j.requested_model {
        (m.clone(), "job")
    } else if let Some(m) = p.and_then(|p| p.preferred_model.clone()) {
        (m, "product")
    } else if let Some(m) = k.and_then(|k| k.model.clone()) {
        (m, "kind_config")
    } else {
        (model.to_string(), "default")
    };
    ModelConfig {
        model,
        thinking_budget: j
            .requested_thinking_budget
            .or_else(|| p.and_then(|p| p.thinking_budget_default))
            .or_else(|| k.and_then(|k| k.thinking_budget))
            .unwrap_or(budget),
        permission_mode: j
            .requested_permission_mode
            .clone()
            .or_else(|| p.and_then(|p| p.preferred_permission_mode.clone()))
            .or_else(|| k.and_then(|k| k.permission_mode.clone()))
            .unwrap_or_else(|| mode.to_string()),
        max_turns: k.and_then(|k| k.max_turns).unwrap_or(turns),
        // Stored by the admin service as a JSON list of strings; anything
        // else (never written by Baton) counts as not set.
        allowed_tools: k
            .and_then(|k| k.allowed_tools.clone())
            .and_then(|v| serde_json::from_value::<Vec<String>>(v).ok()),
        model_source: model_source.to_string(),
    }
}

/// What a worker receives with a claimed job (reference §3.4 payloads).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ClaimedJob {
    /// The job.
    pub job_id: String,
    /// Its kind (lowercase).
    pub kind: String,
    /// Always `claimed`.
    pub status: String,
    /// The claim attempt; pass it back to `job_heartbeat` and `update_job_status`.
    pub attempt: i32,
    /// The lease expires then unless renewed by `job_heartbeat`.
    pub lease_until: DateTime<Utc>,
    /// Call `job_heartbeat` this often.
    pub heartbeat_interval_seconds: u64,
    /// The resolved model configuration.
    pub config: ModelConfig,
    /// Task jobs: `{id, code, title, description, implementation_plan, priority, repo_url, verify_only, verify_required}`.
    #[schema(value_type = Option<Object>)]
    pub task: Option<Json>,
    /// Task jobs: `{id, code, title, description, acceptance_criteria}`.
    #[schema(value_type = Option<Object>)]
    pub story: Option<Json>,
    /// Task jobs: `{id, code, title, priority, status}`.
    #[schema(value_type = Option<Object>)]
    pub pbi: Option<Json>,
    /// Task jobs in a sprint: `{id, code, goal, status}`; otherwise null.
    #[schema(value_type = Option<Object>)]
    pub sprint: Option<Json>,
    /// Idea jobs: `{id, code, title, description, grill_md, plan_md, status, product_id}`.
    #[schema(value_type = Option<Object>)]
    pub idea: Option<Json>,
    /// `{id, code, name, repo_url, definition_of_done}`.
    #[schema(value_type = Object)]
    pub product: Json,
    /// A branch name to work on (`feat/job-<last 8 of the job id>` for task jobs).
    pub branch_suggestion: String,
    /// The whole job row.
    pub job: JobView,
    /// Sprint batch jobs (`sprint_implementation`): the run, the frozen scope
    /// and the branch, flattened into the payload (reference §6.2).
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<crate::sprint_runs::batch::SprintBatchClaim>)]
    pub sprint_batch: Option<crate::sprint_runs::batch::SprintBatchClaim>,
}

/// The answer of `wait_for_job`: a claimed job, or a timeout (not an error).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum WaitOutcome {
    /// A job was claimed.
    Claimed(Box<ClaimedJob>),
    /// Nothing arrived within the window.
    Timeout(WaitTimeout),
}

/// Nothing to do within the window.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct WaitTimeout {
    /// Always `timeout`.
    pub status: String,
    /// `No job available within wait window`.
    pub message: String,
}

/// Whether a worker with `caps` may take a job of `kind` needing `required`.
/// Dedicated workers (exactly `["deploy"]` or `["docs_audit"]`) take only that kind.
pub fn capability_fits(caps: &[String], kind: JobKind, required: Option<&str>) -> bool {
    if caps.len() == 1 {
        let dedicated = match caps[0].as_str() {
            "deploy" => Some(JobKind::Deploy),
            "docs_audit" => Some(JobKind::DocsAudit),
            _ => None,
        };
        if let Some(only) = dedicated
            && only != kind
        {
            return false;
        }
    }
    required.is_none_or(|r| caps.iter().any(|c| c == r))
}

/// Claims older than this without a lease (legacy rows) count as expired.
pub(super) fn legacy_cutoff(now: DateTime<Utc>) -> DateTime<Utc> {
    now - chrono::Duration::from_std(LEGACY_STALE_AFTER).unwrap_or_default()
}

/// Per-user turns for woken claimers (striped: users hash onto a fixed set
/// of locks, so the set never grows; two users sharing a stripe only take
/// turns on wake-ups).
pub(crate) struct ClaimGates([tokio::sync::Mutex<()>; 64]);

impl Default for ClaimGates {
    fn default() -> Self {
        ClaimGates(std::array::from_fn(|_| tokio::sync::Mutex::new(())))
    }
}

impl ClaimGates {
    fn of(&self, user_id: &str) -> &tokio::sync::Mutex<()> {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        user_id.hash(&mut h);
        &self.0[(h.finish() % 64) as usize]
    }
}

impl App {
    /// Returns expired claims of `user_id`'s jobs to the queue (reference
    /// §3.4 step 1): after [`MAX_RETRIES`] requeues the job fails with
    /// [`STALE_FAILURE`]; otherwise it is requeued with `retry_count + 1` and
    /// its claim fields cleared (so the old worker's token no longer holds it).
    pub async fn reset_stale_jobs(&self, user_id: &str) -> AppResult<Vec<String>> {
        let t = now();
        let legacy = legacy_cutoff(t);
        // Most calls find nothing stale: check with a read first, so an idle
        // queue costs no write (on SQLite every write takes the database lock).
        if !repo::has_expired_claim(&self.db, user_id, t, legacy).await? {
            return Ok(Vec::new());
        }
        let txn = self.db.begin().await?;
        let failed = repo::fail_expired_claims(&txn, user_id, t, legacy, MAX_RETRIES, STALE_FAILURE).await?;
        let requeued = repo::requeue_expired_claims(&txn, user_id, t, legacy, MAX_RETRIES).await?;
        // A sprint job that ran out of attempts fails its run; an idea job
        // its idea.
        for id in &failed {
            fail_stale_run(&txn, id, t).await?;
            if let Some(m) = job::Entity::find_by_id(id.clone()).one(&txn).await?
                && let kind = kind_of(&m)?
                && kind.is_idea_kind()
            {
                super::complete::idea_job_ended(&txn, &m, kind, "failed").await?;
            }
        }
        txn.commit().await?;
        let ids: Vec<String> = failed.into_iter().chain(requeued).collect();
        if !ids.is_empty() {
            let rows = job::Entity::find().filter(job::Column::Id.is_in(ids.clone())).all(&self.db).await?;
            for m in &rows {
                if m.status == JobStatus::Queued.as_db() {
                    self.announce_enqueued(m).await;
                }
                self.announce_job(m).await;
            }
        }
        Ok(ids)
    }

    /// Claims the oldest eligible job for the calling worker, or `None`
    /// (reference §3.4 steps 1–2). Needs an API token (the claim is held by
    /// the token and the attempt number).
    pub async fn claim_job(&self, actor: &Actor, req: ClaimRequest) -> AppResult<Option<ClaimedJob>> {
        let product_id = self.check_claim(actor, &req).await?;
        self.claim_once(actor, &req, product_id.as_deref()).await
    }

    /// Validates a claim request and resolves its product filter.
    async fn check_claim(&self, actor: &Actor, req: &ClaimRequest) -> AppResult<Option<String>> {
        actor.require_write()?;
        token_of(actor)?;
        req.validate()?;
        match req.product_id.as_deref() {
            Some(p) => Ok(Some(products::writable_ref(&self.db, actor, p).await?.id)),
            None => Ok(None),
        }
    }

    /// Long poll (reference §3.4 step 3): claims a job, or waits for a
    /// `job_enqueued` event of this user (and product) or the safety poll,
    /// resetting stale leases and trying again after each wake, until `wait`
    /// (at most 600 s) has passed.
    pub async fn wait_for_job(&self, actor: &Actor, req: ClaimRequest, wait: Duration) -> AppResult<WaitOutcome> {
        if wait > MAX_WAIT {
            return Err(AppError::field("wait_seconds", "must be between 1 and 600"));
        }
        // Subscribe before the first attempt so no enqueue can slip between.
        let mut rx = self.bus.subscribe();
        let product_id = self.check_claim(actor, &req).await?;
        let deadline = Instant::now() + wait;
        let mut woken = false;
        loop {
            let claimed = if woken {
                self.claim_after_wake(actor, &req, product_id.as_deref()).await?
            } else {
                self.claim_once(actor, &req, product_id.as_deref()).await?
            };
            if let Some(job) = claimed {
                return Ok(WaitOutcome::Claimed(Box::new(job)));
            }
            woken = true;
            loop {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return Ok(WaitOutcome::Timeout(WaitTimeout {
                        status: "timeout".into(),
                        message: "No job available within wait window".into(),
                    }));
                }
                let slice = left.min(self.config.job_wait_poll);
                match tokio::time::timeout(slice, rx.recv()).await {
                    Err(_) => break,
                    Ok(Ok(ev)) if wakes(&ev, &actor.user_id, product_id.as_deref()) => break,
                    Ok(Ok(_)) => {}
                    Ok(Err(RecvError::Lagged(_))) => break,
                    Ok(Err(RecvError::Closed)) => {
                        tokio::time::sleep(slice).await;
                        break;
                    }
                }
            }
        }
    }

    /// A claim attempt after a wake-up. One enqueue wakes every waiting
    /// worker of the user; without this gate each would run a write
    /// transaction for the one new job (on SQLite each takes the database
    /// write lock), which slowed enqueues down several-fold with 16 waiters.
    /// Woken workers of a user on this instance take turns, and each first
    /// checks with a cheap indexed read that a queued job is still there.
    /// Other instances race through `SKIP LOCKED` as before.
    async fn claim_after_wake(
        &self,
        actor: &Actor,
        req: &ClaimRequest,
        product_id: Option<&str>,
    ) -> AppResult<Option<ClaimedJob>> {
        let _turn = self.claim_gates.of(&actor.user_id).lock().await;
        self.claim_once(actor, req, product_id).await
    }

    /// One claim attempt (reference §3.4 steps 1–2). One read first says
    /// whether there is anything to claim, whether a lease expired (then the
    /// stale reset runs first, instead of on every claim) and whether a
    /// higher-tier peer could be owed the job. Without such a peer — the
    /// usual case — one statement picks, locks, marks and returns the job
    /// with its payload rows ([`repo::claim_next`]); with one, the general
    /// path weighs tier deference in Rust ([`Self::claim_in`]).
    async fn claim_once(
        &self,
        actor: &Actor,
        req: &ClaimRequest,
        product_id: Option<&str>,
    ) -> AppResult<Option<ClaimedJob>> {
        let token = token_of(actor)?.to_string();
        if actor.token_scope().is_some_and(|scope| scope.is_empty()) {
            return Ok(None);
        }
        let higher: Vec<&'static str> =
            WorkerTier::ALL.iter().filter(|t| t.rank() > req.tier.rank()).map(|t| t.as_db()).collect();
        let who = repo::Claimer {
            user_id: &actor.user_id,
            token_id: &token,
            instance_id: req.instance_id.trim(),
            higher_tiers: &higher,
        };
        let filter = repo::CandidateFilter {
            user_id: &actor.user_id,
            runtime: req.runtime.as_db(),
            standalone: STANDALONE,
            product_id,
            scope: actor.token_scope(),
        };
        let t = now();
        let since = t - chrono::Duration::from_std(LIVE_WINDOW).unwrap_or_default();
        let presence = repo::presence(&self.db, &who, &filter, since, t, legacy_cutoff(t))
            .await?
            .ok_or(AppError::NotFound("user"))?;
        if presence.expired {
            self.reset_stale_jobs(&actor.user_id).await?;
        } else if !presence.queued {
            return Ok(None);
        }
        let txn = self.db.begin().await?;
        let claimed = if presence.higher_peer {
            self.claim_in(&txn, actor, &token, req, product_id).await
        } else {
            let fit = repo::Fit {
                my_quota: presence.my_quota,
                user_floor: presence.user_floor,
                capabilities: &req.capabilities,
                only_kind: dedicated_kind(&req.capabilities).map(JobKind::as_db),
            };
            let mark = repo::ClaimMark { now: t, lease_until: t + self.lease() };
            match repo::claim_next(&txn, &who, &filter, &fit, &mark).await {
                Ok(Some(rows)) => finish_claim(&txn, rows).await.map(Some),
                Ok(None) => Ok(None),
                Err(e) => Err(e.into()),
            }
        };
        match claimed {
            Ok(Some((m, payload))) => {
                self.commit_announcing(txn, vec![super::job_event(&m)]).await?;
                Ok(Some(payload))
            }
            Ok(None) => {
                txn.rollback().await?;
                Ok(None)
            }
            Err(e) => {
                txn.rollback().await?;
                Err(e)
            }
        }
    }

    /// The lease a claim gets.
    fn lease(&self) -> chrono::Duration {
        chrono::Duration::from_std(self.config.job_lease).unwrap_or_default()
    }

    async fn claim_in(
        &self,
        c: &DatabaseTransaction,
        actor: &Actor,
        token: &str,
        req: &ClaimRequest,
        product_id: Option<&str>,
    ) -> AppResult<Option<(job::Model, ClaimedJob)>> {
        // On SQLite this writes first, so the transaction holds the write lock
        // from the start (see the repo function).
        let min_quota = repo::claimer_min_quota(c, &actor.user_id).await?.ok_or(AppError::NotFound("user"))?;
        let instance = req.instance_id.trim();
        let me = worker::Entity::find()
            .filter(worker::Column::UserId.eq(&actor.user_id))
            .filter(worker::Column::TokenId.eq(token))
            .filter(worker::Column::InstanceId.eq(instance))
            .one(c)
            .await?;
        // A product may set its own floor (`products.min_quota_pct`, null =
        // the user's); it is checked per candidate below.
        let my_quota = me.as_ref().and_then(|w| w.last_quota_pct);

        // Tier deference: live, idle, quota-passing peers of a higher tier
        // that could claim a job themselves get it first.
        let since = now() - chrono::Duration::from_std(LIVE_WINDOW).unwrap_or_default();
        let peers: Vec<worker::Model> = worker::Entity::find()
            .filter(worker::Column::UserId.eq(&actor.user_id))
            .filter(worker::Column::Runtime.eq(req.runtime.as_db()))
            .filter(worker::Column::LastSeenAt.gt(since))
            .all(c)
            .await?
            .into_iter()
            .filter(|w| !(w.token_id == token && w.instance_id == instance))
            .map(|w| Ok((WorkerTier::decode(&w.tier, "workers.tier")?.rank(), w)))
            .collect::<AppResult<Vec<_>>>()?
            .into_iter()
            .filter(|(rank, _)| *rank > req.tier.rank())
            .map(|(_, w)| w)
            .collect();
        let idle: Vec<(&worker::Model, Vec<String>)> = if peers.is_empty() {
            Vec::new()
        } else {
            let working: HashSet<(String, String)> = job::Entity::find()
                .filter(job::Column::UserId.eq(&actor.user_id))
                .filter(job::Column::Status.is_in([JobStatus::Claimed.as_db(), JobStatus::Running.as_db()]))
                .all(c)
                .await?
                .into_iter()
                .filter_map(|j| Some((j.claimed_by_token_id?, j.worker_instance_id?)))
                .collect();
            peers
                .iter()
                .filter(|w| !working.contains(&(w.token_id.clone(), w.instance_id.clone())))
                .map(|w| (w, crate::workers::capabilities_of(w)))
                .collect()
        };

        // Eligible QUEUED jobs, oldest first.
        if actor.token_scope().is_some_and(|scope| scope.is_empty()) {
            return Ok(None);
        }
        let filter = repo::CandidateFilter {
            user_id: &actor.user_id,
            runtime: req.runtime.as_db(),
            standalone: STANDALONE,
            product_id,
            scope: actor.token_scope(),
        };
        let mut candidates: Vec<String> = Vec::new();
        for window in CANDIDATE_WINDOWS {
            let rows = repo::claim_candidates(c, &filter, window).await?;
            let full = rows.len() as u64 == window;
            let floors = product_quota_floors(c, rows.iter().map(|r| r.product_id.clone()), min_quota).await?;
            for cand in rows {
                let kind = JobKind::decode(&cand.kind, "jobs.kind")?;
                let needs = cand.required_capability.as_deref();
                let floor = floors.get(&cand.product_id).copied().unwrap_or(min_quota);
                let passes = |q: Option<i32>| q.is_none_or(|q| q >= floor);
                let deferred = idle.iter().any(|(w, caps)| {
                    w.product_id.as_ref().is_none_or(|p| p == &cand.product_id)
                        && passes(w.last_quota_pct)
                        && capability_fits(caps, kind, needs)
                });
                if passes(my_quota) && capability_fits(&req.capabilities, kind, needs) && !deferred {
                    candidates.push(cand.id);
                }
            }
            if !candidates.is_empty() || !full {
                break;
            }
        }

        // Lock one: on Postgres the first not locked by another claimer.
        let Some(picked) = repo::lock_first_queued(c, &candidates).await? else {
            return Ok(None);
        };
        let m = job::Entity::find_by_id(picked).one(c).await?.ok_or(AppError::NotFound("job"))?;
        let plan = match &m.task_id {
            Some(id) => task::Entity::find_by_id(id.clone()).one(c).await?.and_then(|t| t.implementation_plan),
            None => None,
        };
        let t = now();
        let mut am: job::ActiveModel = m.into();
        am.status = Set(JobStatus::Claimed.as_db().into());
        am.claimed_by_token_id = Set(Some(token.to_string()));
        am.claimed_at = Set(Some(t));
        am.worker_instance_id = Set(Some(instance.to_string()));
        am.lease_until = Set(Some(t + self.lease()));
        am.plan_snapshot = Set(Some(plan.unwrap_or_default()));
        am.updated_at = Set(t);
        let m = am.update(c).await?;
        let rows = repo::payload_rows(c, m).await?;
        Ok(Some(finish_claim(c, rows).await?))
    }
}

/// The worker's one kind when it is dedicated (capabilities exactly
/// `["deploy"]` or `["docs_audit"]`, see [`capability_fits`]).
fn dedicated_kind(caps: &[String]) -> Option<JobKind> {
    match caps {
        [only] if only == "deploy" => Some(JobKind::Deploy),
        [only] if only == "docs_audit" => Some(JobKind::DocsAudit),
        _ => None,
    }
}

/// What every claim does after marking its job: a queued sprint run starts
/// running, and the payload is built from the rows read with the claim
/// (plus, for a run's job, its branch and batch scope).
async fn finish_claim(c: &DatabaseTransaction, rows: repo::ClaimRows) -> AppResult<(job::Model, ClaimedJob)> {
    let t = rows.job.claimed_at.unwrap_or_else(now);
    if let Some(run_id) = &rows.job.sprint_run_id
        && let Some(run) = sprint_run::Entity::find_by_id(run_id.clone()).one(c).await?
        && run.status == SprintRunStatus::Queued.as_db()
    {
        let started = run.started_at.unwrap_or(t);
        let mut r: sprint_run::ActiveModel = run.into();
        r.status = Set(SprintRunStatus::Running.as_db().into());
        r.started_at = Set(Some(started));
        r.updated_at = Set(t);
        r.update(c).await?;
    }
    let idea = match &rows.job.idea_id {
        Some(id) => idea::Entity::find_by_id(id.clone()).one(c).await?,
        None => None,
    };
    let m = rows.job.clone();
    let mut payload = payload(rows, idea)?;
    if m.sprint_run_id.is_none() {
        return Ok((m, payload));
    }
    // Jobs of a sprint run: the run's branch and, for a batch job, its
    // frozen scope (sprint_runs::batch).
    let (m, batch) = crate::sprint_runs::batch::on_claim(
        c,
        m,
        &mut payload.sprint,
        &mut payload.product,
        &mut payload.branch_suggestion,
    )
    .await?;
    payload.job = job_view(m.clone())?;
    payload.sprint_batch = batch;
    Ok((m, payload))
}

/// The quota floor of each of these products: its own `min_quota_pct`, or
/// the claiming user's `user_floor` when it has none.
async fn product_quota_floors<C: ConnectionTrait>(
    c: &C,
    product_ids: impl Iterator<Item = String>,
    user_floor: i32,
) -> AppResult<std::collections::HashMap<String, i32>> {
    let ids: HashSet<String> = product_ids.collect();
    if ids.is_empty() {
        return Ok(Default::default());
    }
    let rows = product::Entity::find().filter(product::Column::Id.is_in(ids)).all(c).await?;
    Ok(rows.into_iter().map(|p| (p.id, p.min_quota_pct.unwrap_or(user_floor))).collect())
}

/// Fails the active sprint run of a SPRINT_IMPLEMENTATION job whose lease
/// expired on its last attempt, naming the running execution if any.
async fn fail_stale_run<C: ConnectionTrait>(c: &C, job_id: &str, t: DateTime<Utc>) -> AppResult<()> {
    let Some(j) = job::Entity::find_by_id(job_id.to_string()).one(c).await? else { return Ok(()) };
    if j.kind != JobKind::SprintImplementation.as_db() {
        return Ok(());
    }
    let Some(run_id) = j.sprint_run_id else { return Ok(()) };
    let Some(run) = sprint_run::Entity::find_by_id(run_id).one(c).await? else { return Ok(()) };
    if !SprintRunStatus::decode(&run.status, "sprint_runs.status")?.is_active() {
        return Ok(());
    }
    let mut reason = "stale: lease expired".to_string();
    if let Some(x) = sprint_task_execution::Entity::find()
        .filter(sprint_task_execution::Column::SprintJobId.eq(&j.id))
        .filter(sprint_task_execution::Column::Status.eq(TaskExecutionStatus::Running.as_db()))
        .one(c)
        .await?
    {
        reason.push_str(&format!(", last execution: order {} task {}", x.run_order, x.task_id));
    }
    let mut am: sprint_run::ActiveModel = run.into();
    am.status = Set(SprintRunStatus::Failed.as_db().into());
    am.failure_reason = Set(Some(reason));
    am.finished_at = Set(Some(t));
    am.updated_at = Set(t);
    am.update(c).await?;
    Ok(())
}

/// Whether an event should wake a worker of `user_id` waiting on `product`.
fn wakes(ev: &Event, user_id: &str, product: Option<&str>) -> bool {
    if ev.kind == kinds::BUS_RESYNC {
        return true;
    }
    let queued = ev.kind == kinds::JOB_ENQUEUED
        || (ev.kind == kinds::JOB_STATUS && ev.data.get("status").and_then(Json::as_str) == Some("queued"));
    queued && ev.user_id.as_deref() == Some(user_id) && product.is_none_or(|p| ev.product_id.as_deref() == Some(p))
}

/// Builds the claim payload for the job's kind from the rows read with the claim.
fn payload(rows: repo::ClaimRows, idea: Option<idea::Model>) -> AppResult<ClaimedJob> {
    let m = &rows.job;
    let kind = kind_of(m)?;
    let p = rows.product.as_ref();
    let product = p.map_or(Json::Null, |p| {
        json!({"id": p.id, "code": p.code, "name": p.name, "repo_url": p.repo_url,
            "definition_of_done": p.definition_of_done, "min_quota_pct": p.min_quota_pct})
    });
    let last8: String = {
        let chars: Vec<char> = m.id.chars().collect();
        chars[chars.len().saturating_sub(8)..].iter().collect()
    };
    let t = rows.task.as_ref();
    let mut out = ClaimedJob {
        job_id: m.id.clone(),
        kind: kind.as_api(),
        status: "claimed".into(),
        attempt: m.retry_count,
        lease_until: m.lease_until.unwrap_or_else(now),
        heartbeat_interval_seconds: HEARTBEAT_INTERVAL_SECS,
        config: resolve_config(kind, t.is_some_and(|t| t.requires_opus), m, p, rows.kind_config.as_ref()),
        task: None,
        story: None,
        pbi: None,
        sprint: None,
        idea: None,
        product,
        branch_suggestion: format!("feat/job-{last8}"),
        job: job_view(m.clone())?,
        sprint_batch: None,
    };
    if let Some(t) = t {
        if let Some(s) = &rows.story {
            out.story = Some(json!({"id": s.id, "code": s.code, "title": s.title, "description": s.description,
                "acceptance_criteria": s.acceptance_criteria}));
            if let Some(pb) = &rows.pbi {
                out.pbi = Some(json!({"id": pb.id, "code": pb.code, "title": pb.title, "priority": pb.priority,
                    "status": PbiStatus::decode(&pb.status, "pbis.status")?.as_api()}));
            }
            if let Some(sp) = &rows.sprint {
                out.sprint = Some(json!({"id": sp.id, "code": sp.code, "goal": sp.sprint_goal,
                    "status": SprintStatus::decode(&sp.status, "sprints.status")?.as_api()}));
            }
        }
        out.task = Some(json!({"id": t.id, "code": t.code, "title": t.title, "description": t.description,
            "implementation_plan": t.implementation_plan, "priority": t.priority, "repo_url": t.repo_url,
            "verify_only": t.verify_only,
            "verify_required": VerifyRequired::decode(&t.verify_required, "tasks.verify_required")?.as_api()}));
    }
    if let Some(i) = idea {
        let stage = match kind {
            JobKind::IdeaGrill => "grill",
            JobKind::IdeaMakePlan => "plan",
            JobKind::IdeaReviewPlan => "review",
            _ => "work",
        };
        out.branch_suggestion = format!("feat/idea-{}-{stage}", i.code.to_lowercase());
        out.idea = Some(json!({"id": i.id, "code": i.code, "title": i.title, "description": i.description,
            "grill_md": i.grill_md, "plan_md": i.plan_md, "status": baton_domain::ideas::IdeaStatus::decode(&i.status, "ideas.status")?.as_api(),
            "product_id": i.product_id}));
    }
    Ok(out)
}
