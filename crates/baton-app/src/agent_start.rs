//! "Start agent" on a task (reference §9.5, the solo board's button): the
//! rules that say whether a person may put an agent to work on a task right
//! now, read once here so the page that greys the button out and the action
//! that queues the job can never disagree.
//!
//! A task can be started when
//! * it has an implementation plan (the agent follows it and the verify gate
//!   compares the diff against it; a sprint run refuses a task without one
//!   for the same reason, reference §6.1 `task_no_plan`),
//! * it has no queued, claimed or running job (one agent per task), and
//! * one of the caller's workers is connected: seen within the 30-second
//!   window ([`crate::workers::ACTIVE_WINDOW_SECS`]), running the default
//!   runtime and not limited to another product. Without one the job would
//!   sit in the queue with nobody to take it, and the button would lie.
//!
//! An archived product is read-only, so its tasks cannot be started either.
//! Permission (demo users, read-only members) is not a blocker: it is a 403
//! from the action, and pages show it as their own reason.

use baton_domain::agents::AgentRuntime;
use baton_store::{
    entities::{job, worker},
    now,
    sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder},
};
use serde::Serialize;

use crate::{
    Actor, App, AppError, AppResult, access,
    backlog::refs,
    queue::{
        JobView,
        enqueue::{ACTIVE_STATUSES, NewTaskJob},
        job_view,
    },
    workers::ACTIVE_WINDOW_SECS,
};

/// Why an agent cannot be started on a task now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct StartBlocker {
    /// `no_plan`, `live_job`, `no_worker` or `archived`.
    pub code: &'static str,
    /// The reason in words, for people.
    pub message: String,
}

/// Whether an agent can be started on a task, and the job already on it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AgentStartCheck {
    /// The task's id.
    pub task_id: String,
    /// The task's code.
    pub task_code: String,
    /// Every reason it cannot start now; empty = it can.
    pub blockers: Vec<StartBlocker>,
    /// The task's queued, claimed or running job, if any (what "Cancel agent" cancels).
    pub live_job: Option<JobView>,
    /// Whether one of the caller's workers could take the job now.
    pub worker_connected: bool,
}

impl AgentStartCheck {
    /// Whether nothing blocks a start.
    pub fn can_start(&self) -> bool {
        self.blockers.is_empty()
    }

    /// The reasons joined for one line of text ("…; …").
    pub fn reason(&self) -> Option<String> {
        reason_of(&self.blockers)
    }
}

/// Blockers joined for one line of text ("…; …"); `None` when there are none.
pub fn reason_of(blockers: &[StartBlocker]) -> Option<String> {
    (!blockers.is_empty()).then(|| blockers.iter().map(|b| b.message.as_str()).collect::<Vec<_>>().join("; "))
}

/// The pure rule: blockers from what is known about the task.
pub fn start_blockers(
    task_code: &str,
    plan: Option<&str>,
    live_job: Option<&JobView>,
    worker_connected: bool,
    archived: bool,
) -> Vec<StartBlocker> {
    let mut out = Vec::new();
    if archived {
        out.push(StartBlocker { code: "archived", message: "the product is archived".into() });
    }
    if plan.is_none_or(|p| p.trim().is_empty()) {
        out.push(StartBlocker {
            code: "no_plan",
            message: format!("task {task_code} has no implementation plan; write one first"),
        });
    }
    if let Some(j) = live_job {
        out.push(StartBlocker {
            code: "live_job",
            message: format!("task {task_code} already has a {} job; cancel it or wait for it to finish", j.status),
        });
    }
    if !worker_connected {
        out.push(StartBlocker {
            code: "no_worker",
            message: "no agent worker of yours is connected (none seen in the last 30 s); start one with the command baton mcp"
                .into(),
        });
    }
    out
}

impl App {
    /// Whether one of `user_id`'s workers could take a job of `product_id`
    /// now: seen within the active window, default runtime, and not limited
    /// to another product.
    pub async fn worker_connected(&self, user_id: &str, product_id: &str) -> AppResult<bool> {
        let since = now() - chrono::Duration::seconds(ACTIVE_WINDOW_SECS);
        let found = worker::Entity::find()
            .filter(worker::Column::UserId.eq(user_id))
            .filter(worker::Column::LastSeenAt.gt(since))
            .filter(worker::Column::Runtime.eq(AgentRuntime::Claude.as_db()))
            .filter(
                Condition::any().add(worker::Column::ProductId.is_null()).add(worker::Column::ProductId.eq(product_id)),
            )
            .one(&self.db)
            .await?;
        Ok(found.is_some())
    }

    /// The oldest queued, claimed or running job of a task, if any.
    pub(crate) async fn live_job_of(&self, task_id: &str) -> AppResult<Option<JobView>> {
        job::Entity::find()
            .filter(job::Column::TaskId.eq(task_id))
            .filter(job::Column::Status.is_in(ACTIVE_STATUSES.iter().map(|s| s.as_db())))
            .order_by_asc(job::Column::CreatedAt)
            .one(&self.db)
            .await?
            .map(job_view)
            .transpose()
    }

    /// Whether the caller could start an agent on a task (id or code) now,
    /// with every reason they cannot. Reads only; any reader may ask.
    pub async fn agent_start_check(&self, actor: &Actor, task_ref: &str) -> AppResult<AgentStartCheck> {
        let task = refs::resolve_task(&self.db, actor, task_ref).await?;
        let product = access::readable(&self.db, actor, &task.product_id).await?;
        let live_job = self.live_job_of(&task.id).await?;
        let worker_connected = self.worker_connected(&actor.user_id, &task.product_id).await?;
        let blockers = start_blockers(
            &task.code,
            task.implementation_plan.as_deref(),
            live_job.as_ref(),
            worker_connected,
            product.archived,
        );
        Ok(AgentStartCheck { task_id: task.id, task_code: task.code, blockers, live_job, worker_connected })
    }

    /// "Start agent": queues a task job for the caller's agents when
    /// [`App::agent_start_check`] finds nothing in the way. Demo users and
    /// read-only members get 403; a blocker is a 409 naming every reason.
    pub async fn start_agent(&self, actor: &Actor, task_ref: &str) -> AppResult<JobView> {
        actor.require_write()?;
        let task = refs::resolve_task(&self.db, actor, task_ref).await?;
        access::writable(&self.db, actor, &task.product_id).await?;
        let check = self.agent_start_check(actor, &task.id).await?;
        if let Some(reason) = check.reason() {
            return Err(AppError::Conflict(format!("cannot start an agent: {reason}")));
        }
        // The enqueue re-checks the live job inside its transaction, so two
        // racing starts still queue one job.
        self.enqueue_task_job(actor, &task.id, NewTaskJob::default()).await
    }

    /// "Cancel agent": cancels the task's queued, claimed or running job.
    /// 409 when it has none.
    pub async fn cancel_agent(&self, actor: &Actor, task_ref: &str) -> AppResult<JobView> {
        actor.require_write()?;
        let task = refs::resolve_task(&self.db, actor, task_ref).await?;
        access::writable(&self.db, actor, &task.product_id).await?;
        match self.live_job_of(&task.id).await? {
            Some(j) => self.cancel_job(actor, &j.id).await,
            None => Err(AppError::Conflict(format!("task {} has no queued or running agent job to cancel", task.code))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_task_with_a_plan_no_job_and_a_worker_can_start() {
        assert!(start_blockers("T-1", Some("do it"), None, true, false).is_empty());
    }

    #[test]
    fn every_reason_is_listed() {
        let codes: Vec<_> = start_blockers("T-1", Some("  "), None, false, true).into_iter().map(|b| b.code).collect();
        assert_eq!(codes, ["archived", "no_plan", "no_worker"]);
        let b = start_blockers("T-9", None, None, true, false);
        assert_eq!(b.len(), 1);
        assert!(b[0].message.contains("T-9") && b[0].message.contains("plan"), "{}", b[0].message);
    }
}
