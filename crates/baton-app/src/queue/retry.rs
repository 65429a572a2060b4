//! Retrying a job (issue 10): a person asks for another go at a task whose
//! job failed or was cancelled. The retry is a **new** queued job for the
//! same task; the old job stays as it was, so the job list keeps the whole
//! history of the task (both rows carry its `task_id`).
//!
//! The new job goes through the enqueue rules of "start agent"
//! ([`super::enqueue::queue_task_job`]: product not archived, no other
//! queued, claimed or running job of the task) and takes over the old
//! job's requested configuration (runtime, capability, model, thinking
//! budget, permission mode). Like "start agent", it is queued for the
//! caller's own agents.
//!
//! Only standalone task jobs can be retried: a job of a sprint run belongs
//! to the run's frozen scope and order, which its resume (or a new run)
//! takes care of; idea, review and deploy jobs are queued by Baton itself.
//!
//! There is no column linking the new job to the one it retries (the data
//! model of reference §2 has none): the shared task and the creation order
//! already tell the story, and the check and the insert happen in one
//! product transaction, so two retries at once give exactly one new job
//! (the second sees the first's queued job and gets 409).

use baton_domain::agents::{AgentRuntime, JobKind, JobStatus};
use baton_store::{
    entities::{job, task},
    sea_orm::EntityTrait,
};

use super::{
    JobView,
    enqueue::{NewTaskJob, queue_task_job},
    job_view,
};
use crate::{Actor, App, AppError, AppResult, access, txn};

/// Why a job cannot be retried, judged from the job alone (its status,
/// kind and sprint run); `None` when only the task's state (another live
/// job, an archived product) and the caller's access are left to check.
/// Pages use it to disable the retry button with this reason.
pub fn retry_blocker(status: JobStatus, kind: JobKind, in_sprint_run: bool) -> Option<String> {
    if !matches!(status, JobStatus::Failed | JobStatus::Cancelled) {
        return Some(format!("job is {}; only failed or cancelled jobs can be retried", status.as_api()));
    }
    if kind != JobKind::TaskImplementation {
        return Some(format!("{} jobs are queued by Baton and cannot be retried; only task jobs can", kind.as_api()));
    }
    if in_sprint_run {
        return Some("job belongs to a sprint run; resume the run or start a new one instead".into());
    }
    None
}

/// [`retry_blocker`] for a job as the API shows it (unknown values count as
/// not retryable).
pub fn retry_blocker_of(job: &JobView) -> Option<String> {
    match (JobStatus::parse_api(&job.status), JobKind::parse_api(&job.kind)) {
        (Some(s), Some(k)) => retry_blocker(s, k, job.sprint_run_id.is_some()),
        _ => Some("job cannot be retried".into()),
    }
}

/// The settings of the old job a retry asks for again.
fn same_request(m: &job::Model) -> AppResult<NewTaskJob> {
    Ok(NewTaskJob {
        runtime: Some(AgentRuntime::decode(&m.runtime, "jobs.runtime")?),
        required_capability: m.required_capability.clone(),
        requested_model: m.requested_model.clone(),
        requested_thinking_budget: m.requested_thinking_budget,
        requested_permission_mode: m.requested_permission_mode.clone(),
    })
}

impl App {
    /// Queues a new job for the task of a failed or cancelled job, with the
    /// same requested configuration, for the caller's agents. 404 for jobs
    /// the caller cannot see; 403 for demo accounts and read-only members;
    /// 409 naming the job's status unless it is failed or cancelled, for
    /// sprint-run and non-task jobs, and while the task has another live job.
    pub async fn retry_job(&self, actor: &Actor, job_id: &str) -> AppResult<JobView> {
        actor.require_write()?;
        let found = self.readable_job(actor, job_id).await?;
        access::writable(&self.db, actor, &found.product_id).await?;
        let user_id = actor.user_id.clone();
        let row = txn::in_product_txn(&self.db, &found.product_id.clone(), move |c| {
            Box::pin(async move {
                // Judged again under the product lock: a cancel or a report
                // may have landed since the read above.
                let m = job::Entity::find_by_id(found.id).one(c).await?.ok_or(AppError::NotFound("job"))?;
                let status = super::status_of(&m)?;
                if let Some(why) = retry_blocker(status, super::kind_of(&m)?, m.sprint_run_id.is_some()) {
                    return Err(AppError::Conflict(why));
                }
                // Tasks cascade their jobs away, so a task job's task exists.
                let task_id = m.task_id.clone().ok_or(AppError::NotFound("task"))?;
                let t = task::Entity::find_by_id(task_id).one(c).await?.ok_or(AppError::NotFound("task"))?;
                queue_task_job(c, &t, user_id, same_request(&m)?).await
            })
        })
        .await?;
        self.announce_enqueued(&row).await;
        job_view(row)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_failed_or_cancelled_standalone_task_jobs_may_be_retried() {
        let task = JobKind::TaskImplementation;
        assert_eq!(retry_blocker(JobStatus::Failed, task, false), None);
        assert_eq!(retry_blocker(JobStatus::Cancelled, task, false), None);
        for s in [JobStatus::Queued, JobStatus::Claimed, JobStatus::Running, JobStatus::Done, JobStatus::Skipped] {
            let why = retry_blocker(s, task, false).expect("refused");
            assert!(why.starts_with(&format!("job is {};", s.as_api())), "{why}");
        }
        let why = retry_blocker(JobStatus::Failed, JobKind::PrReview, false).expect("refused");
        assert!(why.starts_with("pr_review jobs"), "{why}");
        let why = retry_blocker(JobStatus::Failed, task, true).expect("refused");
        assert!(why.contains("sprint run"), "{why}");
    }
}
