//! `update_job_status done` with a worktree on the agent's machine
//! (reference §3.5): **check, push, then report**, written once.
//!
//! 1. The report is checked where it will be recorded (a report that would
//!    be refused pushes nothing);
//! 2. HEAD is pushed to `origin` (the reported branch, else the worktree's,
//!    else the job's default), based on the reported base, else the job's,
//!    else the remote default branch;
//! 3. the report goes out with the pushed branch and HEAD (and `pushed`),
//!    or as `failed` with the push error.
//!
//! Where the report is checked and recorded is a [`JobReporter`]: the
//! local services for `baton mcp` on the database ([`LocalReporter`]), or
//! the remote server's `/mcp` for `baton mcp --url` (in the binary).

use std::future::Future;

use baton_app::{
    Actor, App, AppError,
    queue::complete::{JobStatusReport, UpdateJobStatus},
};

use crate::git::{self, Push, PushOutcome};

/// What the check of a `done` report tells the push.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushPlan {
    /// The branch to record when none is reported or checked out.
    pub default_branch: String,
    /// The job's recorded base commit, if any.
    pub base_sha: Option<String>,
}

/// A `done` report on its way: what the push reads from it and writes
/// into it, whatever its representation.
pub trait DoneReport {
    /// The job reported on (for the log).
    fn job_id(&self) -> &str;
    /// The branch the agent reported, if any.
    fn branch(&self) -> Option<&str>;
    /// The base commit the agent reported, if any.
    fn base_sha(&self) -> Option<&str>;
    /// Records what was pushed: branch, HEAD and `pushed` (`None` when
    /// nothing new was pushed).
    fn record_push(&mut self, branch: String, head_sha: String, pushed: Option<bool>);
    /// Turns the report into `failed` with this error.
    fn fail(&mut self, error: String);
}

/// Where a report is checked and recorded.
pub trait JobReporter: Sync {
    /// The report as this reporter holds it.
    type Report: DoneReport + Send;
    /// What recording the report answers.
    type Output: Send;
    /// A failure to check or record (a local git failure converts into it).
    type Error: From<AppError> + Send;
    /// Checks that the report would be accepted now; changes nothing.
    fn precheck(&self, report: &Self::Report) -> impl Future<Output = Result<PushPlan, Self::Error>> + Send;
    /// Records the report.
    fn report(&self, report: Self::Report) -> impl Future<Output = Result<Self::Output, Self::Error>> + Send;
}

/// Applies a push to a `done` report: the pushed branch and HEAD are what
/// gets recorded; a failed push turns the report into `failed` with the
/// push error (the worktree is left as it is for inspection).
pub fn apply_push(report: &mut impl DoneReport, push: Push) {
    let pushed = match push.outcome {
        PushOutcome::Pushed => Some(true),
        PushOutcome::NothingToPush => None,
        PushOutcome::Failed(error) => {
            tracing::warn!(job = %report.job_id(), error = %error, "push failed; reporting the job failed");
            report.fail(error);
            None
        }
    };
    report.record_push(push.branch, push.head_sha, pushed);
}

/// Check, push, then report (see the module documentation).
pub async fn push_then_report<R: JobReporter>(
    reporter: &R,
    mut report: R::Report,
    worktree: &str,
) -> Result<R::Output, R::Error> {
    let dir = git::worktree_dir(worktree)?;
    let plan = reporter.precheck(&report).await?;
    let branch = git::branch_to_push(dir, report.branch(), &plan.default_branch).await?;
    let base = match report.base_sha().map(str::to_string).or(plan.base_sha) {
        Some(b) => Some(b),
        None => git::default_branch(dir).await.ok(),
    };
    let push = git::push_head(dir, &branch, base.as_deref()).await?;
    apply_push(&mut report, push);
    reporter.report(report).await
}

impl DoneReport for UpdateJobStatus {
    fn job_id(&self) -> &str {
        &self.job_id
    }
    fn branch(&self) -> Option<&str> {
        self.branch.as_deref()
    }
    fn base_sha(&self) -> Option<&str> {
        self.base_sha.as_deref()
    }
    fn record_push(&mut self, branch: String, head_sha: String, pushed: Option<bool>) {
        self.branch = Some(branch);
        self.head_sha = Some(head_sha);
        self.pushed = pushed;
    }
    fn fail(&mut self, error: String) {
        self.status = "failed".into();
        self.error = Some(error);
    }
}

/// Reports through the services of this process (`baton mcp` on the database).
pub struct LocalReporter<'a> {
    /// The services.
    pub app: &'a App,
    /// The caller (the token's owner).
    pub actor: &'a Actor,
}

impl JobReporter for LocalReporter<'_> {
    type Report = UpdateJobStatus;
    type Output = JobStatusReport;
    type Error = AppError;

    async fn precheck(&self, report: &UpdateJobStatus) -> Result<PushPlan, AppError> {
        let check = self.app.check_job_report(self.actor, report).await?;
        Ok(PushPlan { default_branch: check.default_branch, base_sha: check.base_sha })
    }

    async fn report(&self, report: UpdateJobStatus) -> Result<JobStatusReport, AppError> {
        self.app.update_job_status(self.actor, report).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_push_turns_done_into_failed_and_a_push_records_pushed() {
        let push = |outcome| Push { branch: "feat/x".into(), head_sha: "abc".into(), outcome };
        let mut r = UpdateJobStatus::new("j", "done");
        apply_push(&mut r, push(PushOutcome::Pushed));
        assert_eq!((r.status.as_str(), r.pushed, r.branch.as_deref()), ("done", Some(true), Some("feat/x")));
        let mut r = UpdateJobStatus::new("j", "done");
        r.pushed = Some(true);
        apply_push(&mut r, push(PushOutcome::NothingToPush));
        assert_eq!((r.status.as_str(), r.pushed, r.head_sha.as_deref()), ("done", None, Some("abc")));
        let mut r = UpdateJobStatus::new("j", "done");
        apply_push(&mut r, push(PushOutcome::Failed("push failed (rejected): no".into())));
        assert_eq!(r.status, "failed");
        assert_eq!(r.error.as_deref(), Some("push failed (rejected): no"));
        assert_eq!(r.pushed, None);
    }
}
