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

use baton_domain::{
    ValidationErrors,
    agents::{JobKind, JobStatus},
    backlog::{VerifyRequired, VerifyResult},
    verify,
};
use baton_store::{
    entities::{job, task},
    sea_orm::EntityTrait,
};
use serde::Serialize;

use super::{complete::MIN_SKIP_REASON, complete::UpdateJobStatus, complete::check_claim, token_of};
use crate::{Actor, App, AppError, AppResult};

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

/// The field checks of a report (the same limits `update_job_status` applies).
fn validate(input: &UpdateJobStatus) -> Result<JobStatus, ValidationErrors> {
    let mut e = ValidationErrors::new();
    let status = match input.status.trim() {
        "running" => Some(JobStatus::Running),
        "done" => Some(JobStatus::Done),
        "failed" => Some(JobStatus::Failed),
        "skipped" => Some(JobStatus::Skipped),
        _ => None,
    };
    if status.is_none() {
        e.add("status", "must be one of running, done, failed, skipped");
    }
    for (path, v, n) in [
        ("branch", &input.branch, 255),
        ("head_sha", &input.head_sha, 64),
        ("base_sha", &input.base_sha, 64),
        ("pr_url", &input.pr_url, 2000),
        ("summary", &input.summary, 1000),
        ("error", &input.error, 2000),
        ("model_id", &input.model_id, 200),
    ] {
        if v.as_ref().is_some_and(|v| v.chars().count() > n) {
            e.add(path, format!("must be at most {n} characters"));
        }
    }
    for (path, v) in [
        ("input_tokens", input.input_tokens),
        ("output_tokens", input.output_tokens),
        ("cache_read_tokens", input.cache_read_tokens),
        ("cache_write_tokens", input.cache_write_tokens),
        ("actual_thinking_tokens", input.actual_thinking_tokens),
    ] {
        if v.is_some_and(|v| v < 0) {
            e.add(path, "must not be negative");
        }
    }
    e.into_result()?;
    Ok(status.unwrap_or(JobStatus::Running))
}

impl App {
    /// Checks whether `update_job_status` would accept `input` now, without
    /// changing anything; the error is the one the report would get.
    pub async fn check_job_report(&self, actor: &Actor, input: &UpdateJobStatus) -> AppResult<ReportCheck> {
        actor.require_write()?;
        let token = token_of(actor)?.to_string();
        let to = validate(input)?;
        let m = job::Entity::find_by_id(input.job_id.trim().to_string())
            .one(&self.db)
            .await?
            .filter(|m| m.user_id == actor.user_id)
            .ok_or(AppError::NotFound("job"))?;
        check_claim(&m, &token, input.attempt)?;
        let kind = JobKind::from_db(&m.kind).unwrap_or(JobKind::TaskImplementation);
        if to == JobStatus::Skipped {
            if kind != JobKind::TaskImplementation {
                return Err(AppError::field("status", "skipped is only allowed for task_implementation jobs"));
            }
            if input.error.as_deref().map_or(0, |e| e.trim().chars().count()) < MIN_SKIP_REASON {
                return Err(AppError::field(
                    "error",
                    format!("a skip needs a reason of at least {MIN_SKIP_REASON} characters"),
                ));
            }
        }
        if to == JobStatus::Done && kind == JobKind::SprintImplementation {
            crate::sprint_runs::batch::done_gate(&self.db, &m).await?;
        }
        if to == JobStatus::Done
            && kind == JobKind::TaskImplementation
            && let Some(task_id) = &m.task_id
            && let Some(t) = task::Entity::find_by_id(task_id.clone()).one(&self.db).await?
        {
            let required = VerifyRequired::from_db(&t.verify_required).unwrap_or(VerifyRequired::AlignedOrPartial);
            let result = m.verify_result.as_deref().and_then(VerifyResult::from_db);
            verify::gate(result, t.verify_only, required, input.summary.as_deref())
                .map_err(|r| AppError::Conflict(format!("VERIFY_GATE: {}", r.0)))?;
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
        let e = validate(&r).expect_err("invalid");
        let text = e.summary();
        assert!(text.contains("status") && text.contains("head_sha") && text.contains("input_tokens"), "{text}");
        assert_eq!(validate(&UpdateJobStatus::new("j", "done")).ok(), Some(JobStatus::Done));
    }
}
