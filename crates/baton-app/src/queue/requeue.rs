//! Requeueing a stuck job (issue 11): a job CLAIMED or RUNNING by a worker
//! that is no longer making progress goes back to QUEUED at once, without
//! waiting for its lease to end. Allowed to the job's owner (the user whose
//! agents claim it) and to administrators.
//!
//! It does what a lease expiry does ([`App::reset_stale_jobs`]), for one
//! job: claim fields cleared (token, instance, lease, claim time, plan
//! snapshot) and `retry_count + 1`. The increment is deliberate: the
//! attempt number identifies a claim, so the worker that still holds the
//! job is refused on its next heartbeat or report (`PERMISSION_DENIED`,
//! like a worker whose lease was taken over) even when the same token
//! claims the job again; and a requeue counts as a used attempt, so a job
//! that keeps getting stuck still ends FAILED after its last attempt.
//!
//! Unlike [`App::retry_job`] (a new job for a finished one), a requeue
//! keeps the same row, and works for every kind (idea, review and sprint-run
//! jobs too: their run's order and frozen scope stay as they were).

use baton_domain::agents::JobStatus;
use baton_store::{
    entities::job,
    now,
    sea_orm::{ActiveModelTrait, ActiveValue::Set, EntityTrait},
};

use super::{JobView, job_view, status_of};
use crate::{Actor, App, AppError, AppResult, txn};

/// Why someone other than the job's owner or an administrator may not requeue it.
pub const NOT_OWNER: &str = "only the job's owner or an administrator can requeue it";

/// Why a job in `status` cannot be requeued, if it cannot; pages use it to
/// disable the requeue button with this reason.
pub fn requeue_blocker(status: JobStatus) -> Option<String> {
    (!matches!(status, JobStatus::Claimed | JobStatus::Running))
        .then(|| format!("job is {}; only claimed or running jobs can be requeued", status.as_api()))
}

impl App {
    /// Puts a claimed or running job back in the queue (see the module
    /// docs). 404 for a job the caller cannot see; 403 for demo accounts and
    /// for anyone but the job's owner or an administrator; 409 naming the
    /// job's status unless it is claimed or running.
    pub async fn requeue_job(&self, actor: &Actor, job_id: &str) -> AppResult<JobView> {
        actor.require_write()?;
        let found = if actor.is_admin() {
            job::Entity::find_by_id(job_id.trim().to_string()).one(&self.db).await?.ok_or(AppError::NotFound("job"))?
        } else {
            self.readable_job(actor, job_id).await?
        };
        if found.user_id != actor.user_id && !actor.is_admin() {
            return Err(AppError::Forbidden(NOT_OWNER.into()));
        }
        let row = txn::in_product_txn(&self.db, &found.product_id.clone(), move |c| {
            Box::pin(async move {
                // Judged again under the product lock: a report, a cancel or
                // the lease sweeper may have landed since the read above.
                let m = job::Entity::find_by_id(found.id).one(c).await?.ok_or(AppError::NotFound("job"))?;
                if let Some(why) = requeue_blocker(status_of(&m)?) {
                    return Err(AppError::Conflict(why));
                }
                let t = now();
                let retry_count = m.retry_count + 1;
                let mut am: job::ActiveModel = m.into();
                am.status = Set(JobStatus::Queued.as_db().into());
                am.claimed_by_token_id = Set(None);
                am.claimed_at = Set(None);
                am.plan_snapshot = Set(None);
                am.lease_until = Set(None);
                am.worker_instance_id = Set(None);
                am.retry_count = Set(retry_count);
                am.updated_at = Set(t);
                Ok(am.update(c).await?)
            })
        })
        .await?;
        self.announce_enqueued(&row).await;
        self.announce_job(&row).await;
        job_view(row)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_claimed_or_running_jobs_may_be_requeued() {
        assert_eq!(requeue_blocker(JobStatus::Claimed), None);
        assert_eq!(requeue_blocker(JobStatus::Running), None);
        for s in [JobStatus::Queued, JobStatus::Done, JobStatus::Failed, JobStatus::Cancelled, JobStatus::Skipped] {
            let why = requeue_blocker(s).expect("refused");
            assert_eq!(why, format!("job is {}; only claimed or running jobs can be requeued", s.as_api()));
        }
    }
}
