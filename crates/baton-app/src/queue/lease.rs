//! Keeping a claim alive (reference §3.6 `job_heartbeat`).

use baton_domain::agents::{JobKind, JobStatus, SprintRunStatus};
use baton_store::{
    entities::{job, sprint_run},
    now,
    sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr},
};
use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{kind_of, not_your_claim, status_of, token_of};
use crate::{Actor, App, AppError, AppResult};

/// The answer to a job heartbeat.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct JobHeartbeat {
    /// Whether the lease was extended; `false` when the job was cancelled.
    pub ok: bool,
    /// The job.
    pub job_id: String,
    /// The job's status (lowercase).
    pub status: String,
    /// The new lease end (when extended).
    pub lease_until: Option<DateTime<Utc>>,
    /// The job was cancelled: stop, discard the work and call `wait_for_job` again.
    pub cancelled: bool,
    /// The job's sprint run status, if it belongs to a run.
    pub sprint_run_status: Option<String>,
    /// Why the run is paused (`merge_conflict`, `quota_depleted`), if it is.
    pub sprint_run_pause_reason: Option<String>,
}

impl App {
    /// Extends the lease of a job the caller's token holds. `attempt` (from
    /// the claim payload) makes sure the claim was not taken over after a
    /// lease expiry. Returns `ok: false, cancelled: true` for a cancelled job
    /// so the worker stops; a job that finished otherwise is a conflict.
    pub async fn job_heartbeat(&self, actor: &Actor, job_id: &str, attempt: Option<i32>) -> AppResult<JobHeartbeat> {
        actor.require_write()?;
        let token = token_of(actor)?;
        let id = job_id.trim().to_string();
        let lease = now() + chrono::Duration::from_std(self.config.job_lease).unwrap_or_default();
        let mut q = job::Entity::update_many()
            .col_expr(job::Column::LeaseUntil, Expr::value(Some(lease)))
            .col_expr(job::Column::UpdatedAt, Expr::value(now()))
            .filter(job::Column::Id.eq(&id))
            .filter(job::Column::UserId.eq(&actor.user_id))
            .filter(job::Column::ClaimedByTokenId.eq(token))
            .filter(job::Column::Status.is_in([JobStatus::Claimed.as_db(), JobStatus::Running.as_db()]));
        if let Some(a) = attempt {
            q = q.filter(job::Column::RetryCount.eq(a));
        }
        let extended = q.exec(&self.db).await?.rows_affected == 1;
        let m = job::Entity::find_by_id(id).one(&self.db).await?;
        let Some(m) = m.filter(|m| m.user_id == actor.user_id) else { return Err(AppError::NotFound("job")) };
        let status = status_of(&m)?;
        if !extended {
            if m.claimed_by_token_id.as_deref() != Some(token) || attempt.is_some_and(|a| a != m.retry_count) {
                return Err(not_your_claim());
            }
            if status != JobStatus::Cancelled {
                return Err(AppError::Conflict(format!("Job is already in terminal state: {}", status.as_api())));
            }
        }
        let (mut run_status, mut pause) = (None, None);
        if let Some(run_id) = &m.sprint_run_id
            && let Some(run) = sprint_run::Entity::find_by_id(run_id.clone()).one(&self.db).await?
        {
            let status = SprintRunStatus::decode(&run.status, "sprint_runs.status")?;
            run_status = Some(status.as_api());
            if kind_of(&m)? == JobKind::SprintImplementation || status == SprintRunStatus::Paused {
                pause = run
                    .pause_context
                    .as_ref()
                    .and_then(|c| c.get("pause_reason"))
                    .and_then(|v| v.as_str())
                    .map(str::to_lowercase);
            }
        }
        Ok(JobHeartbeat {
            ok: extended,
            job_id: m.id,
            status: status.as_api(),
            lease_until: if extended { m.lease_until } else { None },
            cancelled: status == JobStatus::Cancelled,
            sprint_run_status: run_status,
            sprint_run_pause_reason: pause,
        })
    }
}
