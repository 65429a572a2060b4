//! Putting jobs on the queue and looking at them: "start agent" on a task,
//! the job list, one job, and cancelling.

use baton_domain::{
    ValidationErrors,
    agents::{AgentRuntime, JobKind, JobSource, JobStatus},
};
use baton_store::{
    entities::{job, task},
    events::{Event, kinds},
    new_id, now,
    sea_orm::{
        ActiveModelTrait, ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, EntityTrait, PaginatorTrait,
        QueryFilter, QueryOrder, TransactionTrait,
    },
};
use serde::Deserialize;
use serde_json::json;

use super::{JobView, job_view, status_of};
use crate::{
    Actor, App, AppError, AppResult,
    access::{self, Reach},
    backlog::refs,
    list::{Page, PageParams},
    products, txn,
};

/// Statuses of a job that still occupies its task.
pub const ACTIVE_STATUSES: [JobStatus; 3] = [JobStatus::Queued, JobStatus::Claimed, JobStatus::Running];

/// The db values of [`ACTIVE_STATUSES`].
pub(crate) fn active_db() -> Vec<&'static str> {
    ACTIVE_STATUSES.iter().map(|s| s.as_db()).collect()
}

/// Options when starting an agent on a task; all optional.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTaskJob {
    /// Which agent program should run it (default `claude`).
    #[serde(default)]
    pub runtime: Option<AgentRuntime>,
    /// A capability the claiming worker must have (≤ 40 characters).
    #[serde(default)]
    #[schema(max_length = 40, pattern = "\\S")]
    pub required_capability: Option<String>,
    /// Model to use (≤ 200 characters); overrides the product's preference.
    #[serde(default)]
    #[schema(max_length = 200, pattern = "\\S")]
    pub requested_model: Option<String>,
    /// Thinking budget in tokens (0–200000).
    #[serde(default)]
    #[schema(minimum = 0, maximum = 200000)]
    pub requested_thinking_budget: Option<i32>,
    /// Permission mode for the agent (≤ 40 characters).
    #[serde(default)]
    #[schema(max_length = 40, pattern = "\\S")]
    pub requested_permission_mode: Option<String>,
}

impl NewTaskJob {
    fn validate(&self) -> Result<(), ValidationErrors> {
        let mut e = ValidationErrors::new();
        let mut len = |path: &str, v: &Option<String>, max: usize| {
            if let Some(v) = v {
                let n = v.trim().chars().count();
                if n == 0 || n > max {
                    e.add(path, format!("must be 1 to {max} characters"));
                }
            }
        };
        len("required_capability", &self.required_capability, 40);
        len("requested_model", &self.requested_model, 200);
        len("requested_permission_mode", &self.requested_permission_mode, 40);
        if let Some(b) = self.requested_thinking_budget
            && !(0..=200_000).contains(&b)
        {
            e.add("requested_thinking_budget", "must be between 0 and 200000");
        }
        e.into_result()
    }
}

/// Filters of the job list.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct JobFilter {
    /// Only jobs in this status (`queued`, `claimed`, `running`, `done`, `failed`, `cancelled`, `skipped`).
    #[param(value_type = Option<baton_domain::agents::JobStatus>, inline)]
    pub status: Option<String>,
    /// Only jobs of this kind (`task_implementation`, …).
    #[param(value_type = Option<baton_domain::agents::JobKind>, inline)]
    pub kind: Option<String>,
    /// Only jobs of this product (id or code).
    pub product_id: Option<String>,
    /// Only jobs of this task (id or code).
    pub task_id: Option<String>,
    /// `true`: only dead jobs, failed after their last attempt (`retry_count`
    /// at least the lease-expiry limit, so the queue will not try them again);
    /// `false`: no dead jobs.
    pub dead: Option<bool>,
    /// Page number, from 1 to 1000000.
    #[param(minimum = 1, maximum = 1_000_000)]
    pub page: Option<u64>,
    /// Items per page, 1–200 (default 50).
    pub limit: Option<u64>,
}

/// Why a job in `status` cannot be cancelled (it already finished), if it
/// cannot; pages use it to disable the cancel button with this reason.
pub fn cancel_blocker(status: JobStatus) -> Option<String> {
    status.is_terminal().then(|| format!("job is already {}; only unfinished jobs can be cancelled", status.as_api()))
}

/// The enqueue rules and the insert, inside the caller's product
/// transaction (so "start agent" and retry share them): the product must
/// not be archived and the task must have no queued, claimed or running
/// job (409 naming that job's status). Queues a `TASK_IMPLEMENTATION` job
/// from source `MANUAL` for `user_id`'s agents; `input` must be validated.
pub(crate) async fn queue_task_job<C: ConnectionTrait>(
    c: &C,
    task: &task::Model,
    user_id: String,
    input: NewTaskJob,
) -> AppResult<job::Model> {
    products::ensure_not_archived_in(c, &task.product_id).await?;
    if let Some(busy) = job::Entity::find()
        .filter(job::Column::TaskId.eq(&task.id))
        .filter(job::Column::Status.is_in(active_db()))
        .order_by_asc(job::Column::CreatedAt)
        .one(c)
        .await?
    {
        return Err(AppError::Conflict(format!(
            "task {} already has a {} job ({}); cancel it or wait for it to finish",
            task.code,
            status_of(&busy)?.as_api(),
            busy.id
        )));
    }
    let mut m = new_job_model(
        user_id,
        task.product_id.clone(),
        Some(task.id.clone()),
        None,
        JobKind::TaskImplementation,
        input.runtime.unwrap_or(AgentRuntime::Claude),
        JobSource::Manual,
        input.required_capability.map(|s| s.trim().to_string()),
    );
    m.requested_model = Set(input.requested_model.map(|s| s.trim().to_string()));
    m.requested_thinking_budget = Set(input.requested_thinking_budget);
    m.requested_permission_mode = Set(input.requested_permission_mode.map(|s| s.trim().to_string()));
    Ok(m.insert(c).await?)
}

/// A new QUEUED job row (attempt 0, no requested config: the claim resolves
/// the config, §3.4), not yet inserted; every enqueue builds its row here.
#[allow(clippy::too_many_arguments)]
pub(crate) fn new_job_model(
    user_id: String,
    product_id: String,
    task_id: Option<String>,
    idea_id: Option<String>,
    kind: JobKind,
    runtime: AgentRuntime,
    source: JobSource,
    required_capability: Option<String>,
) -> job::ActiveModel {
    let t = now();
    job::ActiveModel {
        id: Set(new_id()),
        user_id: Set(user_id),
        product_id: Set(product_id),
        task_id: Set(task_id),
        idea_id: Set(idea_id),
        kind: Set(kind.as_db().into()),
        status: Set(JobStatus::Queued.as_db().into()),
        runtime: Set(runtime.as_db().into()),
        source: Set(source.as_db().into()),
        required_capability: Set(required_capability),
        retry_count: Set(0),
        created_at: Set(t),
        updated_at: Set(t),
        ..Default::default()
    }
}

impl App {
    /// "Start agent" on a task (reference §10): queues a TASK_IMPLEMENTATION
    /// job from source MANUAL for the caller's own agents. Refused (409) while
    /// the task already has a queued, claimed or running job.
    pub async fn enqueue_task_job(&self, actor: &Actor, task_ref: &str, input: NewTaskJob) -> AppResult<JobView> {
        actor.require_write()?;
        input.validate()?;
        let task = refs::resolve_task(&self.db, actor, task_ref).await?;
        access::writable(&self.db, actor, &task.product_id).await?;
        // The wake-up goes out with the commit (inside the transaction on
        // Postgres): a waiting worker is woken one round trip sooner.
        let txn = self.db.begin().await?;
        let queued = async {
            txn::lock_product(&txn, &task.product_id).await?;
            queue_task_job(&txn, &task, actor.user_id.clone(), input).await
        }
        .await;
        let row = match queued {
            Ok(row) => row,
            Err(e) => {
                txn.rollback().await?;
                return Err(e);
            }
        };
        self.commit_announcing(txn, vec![enqueued_event(&row)]).await?;
        job_view(row)
    }

    /// Wakes waiting workers of the job's user (reference §3.4 step 3).
    pub(crate) async fn announce_enqueued(&self, m: &job::Model) {
        self.announce(enqueued_event(m)).await;
    }

    /// Jobs in the products the caller can read (idea jobs only their
    /// owner's), newest first.
    pub async fn list_jobs(&self, actor: &Actor, filter: JobFilter) -> AppResult<Page<JobView>> {
        let (page, limit) = PageParams { page: filter.page, limit: filter.limit }.resolve()?;
        let mut errs = ValidationErrors::new();
        let status = filter.status.as_deref().map(|s| JobStatus::parse_api(s).ok_or(s));
        let kind = filter.kind.as_deref().map(|k| JobKind::parse_api(k).ok_or(k));
        if let Some(Err(_)) = status {
            errs.add("status", format!("must be one of {}", JobStatus::api_values()));
        }
        if let Some(Err(_)) = kind {
            errs.add("kind", format!("must be one of {}", JobKind::api_values()));
        }
        errs.into_result()?;
        let mut q = job::Entity::find();
        if let Some(p) = filter.product_id.as_deref() {
            let p = products::readable_ref(&self.db, actor, p).await?;
            q = q.filter(job::Column::ProductId.eq(p.id));
        } else {
            q = q.filter(access::visible_products(actor, job::Column::ProductId, Reach::Own));
        }
        if let Some(t) = filter.task_id.as_deref() {
            let t = refs::resolve_task_at(&self.db, actor, t, "task_id").await?;
            q = q.filter(job::Column::TaskId.eq(t.id));
        }
        if let Some(Ok(s)) = status {
            q = q.filter(job::Column::Status.eq(s.as_db()));
        }
        if let Some(Ok(k)) = kind {
            q = q.filter(job::Column::Kind.eq(k.as_db()));
        }
        if let Some(dead) = filter.dead {
            let is_dead = Condition::all()
                .add(job::Column::Status.eq(JobStatus::Failed.as_db()))
                .add(job::Column::RetryCount.gte(super::claim::MAX_RETRIES));
            q = q.filter(if dead { is_dead } else { is_dead.not() });
        }
        q = q.filter(Condition::any().add(job::Column::IdeaId.is_null()).add(job::Column::UserId.eq(&actor.user_id)));
        let pager = q.order_by_desc(job::Column::CreatedAt).order_by_desc(job::Column::Id).paginate(&self.db, limit);
        let total = pager.num_items().await?;
        let items = pager.fetch_page(page - 1).await?.into_iter().map(job_view).collect::<AppResult<_>>()?;
        Ok(Page { items, page, limit, total })
    }

    /// One job the caller can read.
    pub async fn get_job(&self, actor: &Actor, job_id: &str) -> AppResult<JobView> {
        job_view(self.readable_job(actor, job_id).await?)
    }

    /// Loads a job whose product the caller can read (idea jobs: owner only).
    pub(crate) async fn readable_job(&self, actor: &Actor, job_id: &str) -> AppResult<job::Model> {
        let m =
            job::Entity::find_by_id(job_id.trim().to_string()).one(&self.db).await?.ok_or(AppError::NotFound("job"))?;
        if m.idea_id.is_some() && m.user_id != actor.user_id {
            return Err(AppError::NotFound("job"));
        }
        match access::readable(&self.db, actor, &m.product_id).await {
            Ok(_) => Ok(m),
            Err(AppError::NotFound(_)) => Err(AppError::NotFound("job")),
            Err(e) => Err(e),
        }
    }

    /// Cancels a job that has not finished; a worker holding it gets
    /// `JOB_CANCELLED` on its next report. 409 when it already finished.
    pub async fn cancel_job(&self, actor: &Actor, job_id: &str) -> AppResult<JobView> {
        actor.require_write()?;
        let found = self.readable_job(actor, job_id).await?;
        access::writable(&self.db, actor, &found.product_id).await?;
        let who = actor.username.clone();
        let row = txn::in_product_txn(&self.db, &found.product_id.clone(), move |c| {
            Box::pin(async move {
                let m = job::Entity::find_by_id(found.id).one(c).await?.ok_or(AppError::NotFound("job"))?;
                if let Some(why) = cancel_blocker(status_of(&m)?) {
                    return Err(AppError::Conflict(why));
                }
                let t = now();
                let mut am: job::ActiveModel = m.into();
                am.status = Set(JobStatus::Cancelled.as_db().into());
                am.finished_at = Set(Some(t));
                am.lease_until = Set(None);
                am.error = Set(Some(format!("cancelled by {who}")));
                am.updated_at = Set(t);
                let m = am.update(c).await?;
                let kind = super::kind_of(&m)?;
                if kind.is_idea_kind() {
                    super::complete::idea_job_ended(c, &m, kind, "cancelled").await?;
                }
                Ok(m)
            })
        })
        .await?;
        self.announce_job(&row).await;
        job_view(row)
    }
}

/// The event that wakes waiting workers of the job's user (reference §3.4 step 3).
pub(crate) fn enqueued_event(m: &job::Model) -> Event {
    let data = json!({
        "job_id": m.id,
        "user_id": m.user_id,
        "product_id": m.product_id,
        "task_id": m.task_id,
        "idea_id": m.idea_id,
        "kind": m.kind.to_lowercase(),
        "status": "queued",
    });
    Event::new(kinds::JOB_ENQUEUED).for_product(&m.product_id).for_user(&m.user_id).with_data(data)
}
