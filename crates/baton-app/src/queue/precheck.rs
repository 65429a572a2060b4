//! Would a report be accepted? A read-only rehearsal of `update_job_status`
//! (reference §3.5) for the side that must act **before** the report: the
//! stdio transport pushes the worktree's branch only when the job would
//! then be accepted as done, so a refused report (wrong claim, cancelled
//! job, verify gate) never leaves a pushed branch behind, and a push
//! failure can still be reported as `failed`.
//!
//! It reads the same rows and applies the same checks as `complete.rs`
//! (claim by token and attempt, cancelled/terminal job, skip rules, the
//! verify gate, the sprint aggregate gate) and writes nothing. The real
//! report re-checks everything inside its transaction, so a change between
//! the two (a cancel, a lease takeover) is still refused there.

use baton_domain::agents::JobStatus;
use baton_store::{entities::task, sea_orm::EntityTrait};
use serde::Serialize;

use super::{
    complete::{UpdateJobStatus, check_claim, check_done_gates, check_skip},
    token_of,
};
use crate::{Actor, App, AppResult};

/// What a report would do, when it would be accepted.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ReportCheck {
    /// The job.
    pub job_id: String,
    /// Its kind (lowercase), e.g. `task_implementation`.
    pub kind: String,
    /// The status the report asks for (lowercase).
    pub status: String,
    /// The branch a `done` report records when none is reported: the
    /// job's branch, else `feat/job-<last 8 of the job id>`.
    pub default_branch: String,
    /// The job's recorded base commit, if any.
    pub base_sha: Option<String>,
    /// Always true: a report that would be refused is an error instead.
    pub would_pass: bool,
}

/// `feat/job-<last 8 characters of the job id>`, the branch of a task job
/// that reported none (reference §3.5).
pub fn job_branch(job_id: &str) -> String {
    let chars: Vec<char> = job_id.chars().collect();
    let last8: String = chars[chars.len().saturating_sub(8)..].iter().collect();
    format!("feat/job-{last8}")
}

impl App {
    /// Checks whether `update_job_status` would accept `input` now, without
    /// changing anything; the error is the one the report would get.
    pub async fn check_job_report(&self, actor: &Actor, input: &UpdateJobStatus) -> AppResult<ReportCheck> {
        actor.require_write()?;
        let token = token_of(actor)?.to_string();
        let to = input.validate()?;
        let m = self.own_job(actor, &input.job_id).await?;
        check_claim(&m, &token, input.attempt)?;
        let kind = super::kind_of(&m)?;
        check_skip(kind, to, input)?;
        if to == JobStatus::Done {
            let t = match &m.task_id {
                Some(id) => task::Entity::find_by_id(id.clone()).one(&self.db).await?,
                None => None,
            };
            check_done_gates(&self.db, &m, kind, t.as_ref(), input.summary.as_deref()).await?;
        }
        Ok(ReportCheck {
            default_branch: m.branch.clone().unwrap_or_else(|| job_branch(&m.id)),
            kind: kind.as_api(),
            status: to.as_api(),
            base_sha: m.base_sha,
            job_id: m.id,
            would_pass: true,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_job_branch_uses_the_last_eight_characters() {
        assert_eq!(job_branch("0192f5a1-7c3b-7aaa-9bbb-0123456789ab"), "feat/job-456789ab");
        assert_eq!(job_branch("abc"), "feat/job-abc");
    }

    #[test]
    fn field_checks_name_the_field() {
        let mut r = UpdateJobStatus::new("j", "finished");
        r.head_sha = Some("x".repeat(65));
        r.input_tokens = Some(-1);
        let e = r.validate().expect_err("invalid");
        let text = e.summary();
        assert!(text.contains("status") && text.contains("head_sha") && text.contains("input_tokens"), "{text}");
        assert_eq!(UpdateJobStatus::new("j", "done").validate().ok(), Some(JobStatus::Done));
    }
}
