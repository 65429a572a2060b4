//! The idea lifecycle of the agent-backlog reference §7.1 as pure rules:
//! which statuses each idea job kind and materialization may start from, the
//! status each sets, and where each ends. Services check these before they
//! write, so REST, MCP and pages refuse the same transitions alike.

use crate::agents::JobKind;
use crate::backlog::VerifyRequired;
use crate::ideas::IdeaStatus;

/// An idea job that moves the idea through its lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IdeaJob {
    /// `IDEA_GRILL`: interview the owner, producing `grill_md`.
    Grill,
    /// `IDEA_MAKE_PLAN`: turn the grilled idea into `plan_md`.
    MakePlan,
    /// `IDEA_REVIEW_PLAN`: review the plan.
    ReviewPlan,
}

/// Statuses `IDEA_GRILL` may be dispatched from.
pub const GRILL_FROM: &[IdeaStatus] =
    &[IdeaStatus::Draft, IdeaStatus::Grilled, IdeaStatus::GrillFailed, IdeaStatus::PlanReady, IdeaStatus::Planned];
/// Statuses `IDEA_MAKE_PLAN` may be dispatched from.
pub const MAKE_PLAN_FROM: &[IdeaStatus] = &[IdeaStatus::Grilled, IdeaStatus::PlanFailed, IdeaStatus::PlanReady];
/// Statuses `IDEA_REVIEW_PLAN` may be dispatched from.
pub const REVIEW_PLAN_FROM: &[IdeaStatus] = &[IdeaStatus::PlanReady, IdeaStatus::PlanReviewed];
/// Statuses an idea may be materialized from (§7.4 step 1).
pub const MATERIALIZE_FROM: &[IdeaStatus] = &[IdeaStatus::PlanReady, IdeaStatus::PlanReviewed];
/// Statuses in which `update_idea_grill_md` may write the grill (§3.8).
pub const GRILL_MD_WRITABLE_IN: &[IdeaStatus] = &[IdeaStatus::Grilling, IdeaStatus::Grilled, IdeaStatus::PlanReady];

impl IdeaJob {
    /// Every lifecycle job, in lifecycle order.
    pub const ALL: &'static [IdeaJob] = &[IdeaJob::Grill, IdeaJob::MakePlan, IdeaJob::ReviewPlan];

    /// The lifecycle job of a job kind; `None` for kinds that do not move an
    /// idea's status (task and sprint work, chats, specs, reviews of other things).
    pub fn from_kind(kind: JobKind) -> Option<Self> {
        match kind {
            JobKind::IdeaGrill => Some(IdeaJob::Grill),
            JobKind::IdeaMakePlan => Some(IdeaJob::MakePlan),
            JobKind::IdeaReviewPlan => Some(IdeaJob::ReviewPlan),
            _ => None,
        }
    }

    /// The job kind enqueued for it.
    pub fn kind(self) -> JobKind {
        match self {
            IdeaJob::Grill => JobKind::IdeaGrill,
            IdeaJob::MakePlan => JobKind::IdeaMakePlan,
            IdeaJob::ReviewPlan => JobKind::IdeaReviewPlan,
        }
    }

    /// Statuses it may be dispatched from.
    pub fn allowed_from(self) -> &'static [IdeaStatus] {
        match self {
            IdeaJob::Grill => GRILL_FROM,
            IdeaJob::MakePlan => MAKE_PLAN_FROM,
            IdeaJob::ReviewPlan => REVIEW_PLAN_FROM,
        }
    }

    /// The status dispatch sets while the job is queued or running.
    pub fn running_status(self) -> IdeaStatus {
        match self {
            IdeaJob::Grill => IdeaStatus::Grilling,
            IdeaJob::MakePlan => IdeaStatus::Planning,
            IdeaJob::ReviewPlan => IdeaStatus::ReviewingPlan,
        }
    }

    /// The status its successful result sets: `update_idea_grill_md` →
    /// GRILLED, a `plan_md` that parses → PLAN_READY, a finished review →
    /// PLAN_REVIEWED.
    pub fn success_status(self) -> IdeaStatus {
        match self {
            IdeaJob::Grill => IdeaStatus::Grilled,
            IdeaJob::MakePlan => IdeaStatus::PlanReady,
            IdeaJob::ReviewPlan => IdeaStatus::PlanReviewed,
        }
    }

    /// The status a failed job sets (and, for a plan, a `plan_md` that
    /// does not parse).
    pub fn failure_status(self) -> IdeaStatus {
        match self {
            IdeaJob::Grill => IdeaStatus::GrillFailed,
            IdeaJob::MakePlan => IdeaStatus::PlanFailed,
            IdeaJob::ReviewPlan => IdeaStatus::PlanReviewFailed,
        }
    }

    /// Whether a live worker must offer the `review` capability for this job
    /// (guard 6 of §7.1: review kinds go to a reviewing worker).
    pub fn needs_review_worker(self) -> bool {
        matches!(self, IdeaJob::ReviewPlan)
    }

    /// Checks a dispatch (guard 2 of §7.1) and returns the status to set.
    pub fn dispatch(self, current: IdeaStatus) -> Result<IdeaStatus, IdeaTransitionError> {
        check(IdeaAction::Dispatch(self), current, self.allowed_from(), self.running_status())
    }
}

/// What was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdeaAction {
    /// Dispatching a lifecycle job.
    Dispatch(IdeaJob),
    /// Turning the plan into backlog items.
    Materialize,
}

impl std::fmt::Display for IdeaAction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            IdeaAction::Dispatch(job) => f.write_str(job.kind().as_db()),
            IdeaAction::Materialize => f.write_str("materialize"),
        }
    }
}

/// An action is not allowed in the idea's current status.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{action} is not allowed while the idea is {current}; allowed from: {}", list(allowed))]
pub struct IdeaTransitionError {
    /// What was attempted.
    pub action: IdeaAction,
    /// The idea's status.
    pub current: IdeaStatus,
    /// The statuses it is allowed from.
    pub allowed: &'static [IdeaStatus],
}

fn list(statuses: &[IdeaStatus]) -> String {
    statuses.iter().map(|s| s.as_api()).collect::<Vec<_>>().join(", ")
}

fn check(
    action: IdeaAction,
    current: IdeaStatus,
    allowed: &'static [IdeaStatus],
    next: IdeaStatus,
) -> Result<IdeaStatus, IdeaTransitionError> {
    if allowed.contains(&current) { Ok(next) } else { Err(IdeaTransitionError { action, current, allowed }) }
}

/// Checks a dispatch of any job kind against the idea's status. Kinds that
/// are not lifecycle jobs leave the status as it is.
pub fn check_dispatch(kind: JobKind, current: IdeaStatus) -> Result<IdeaStatus, IdeaTransitionError> {
    match IdeaJob::from_kind(kind) {
        Some(job) => job.dispatch(current),
        None => Ok(current),
    }
}

/// Checks materialization (§7.4 step 1) and returns the status it sets, PLANNED.
pub fn check_materialize(current: IdeaStatus) -> Result<IdeaStatus, IdeaTransitionError> {
    check(IdeaAction::Materialize, current, MATERIALIZE_FROM, IdeaStatus::Planned)
}

/// The status after `update_idea_plan_md`: PLAN_READY when the plan parsed,
/// PLAN_FAILED when it did not.
pub fn after_plan_md(parsed: bool) -> IdeaStatus {
    if parsed { IdeaJob::MakePlan.success_status() } else { IdeaJob::MakePlan.failure_status() }
}

/// The status after an idea job of `kind` failed; `None` for kinds that do
/// not move an idea's status.
pub fn after_job_failed(kind: JobKind) -> Option<IdeaStatus> {
    IdeaJob::from_kind(kind).map(IdeaJob::failure_status)
}

/// Whether `update_idea_grill_md` may write the grill in this status.
pub fn grill_md_writable(current: IdeaStatus) -> bool {
    GRILL_MD_WRITABLE_IN.contains(&current)
}

/// Words that mark a step of an implementation plan as reading or
/// inspecting rather than changing (the reference's Dutch ones and English).
const EXPLORATION_WORDS: &[&str] = &[
    "lees",
    "grep",
    "zoals",
    "op basis van",
    "bekijk",
    "read ",
    "reading",
    "look at",
    "inspect",
    "based on",
    "see ",
    "like in",
    "similar to",
    "search",
];

/// Whether an implementation plan names files it only reads: a line with an
/// exploration word (`lees`, `grep`, `zoals`, `op basis van`, read, inspect,
/// look at, based on, …) that also names something in backticks, or any
/// backtick token that is a bare directory (`src/`), an extensionless route
/// (`/api/items`) or a URL. Such names never show up in the diff, so the
/// verify classifier would call the work PARTIAL (reference §5.3, the
/// exploration guard of IDEA-139).
pub fn has_exploration_steps(implementation_plan: &str) -> bool {
    implementation_plan.lines().any(|line| {
        let tokens: Vec<&str> = line.split('`').skip(1).step_by(2).map(str::trim).filter(|t| !t.is_empty()).collect();
        if tokens.is_empty() {
            return false;
        }
        let lower = line.to_lowercase();
        let exploring = EXPLORATION_WORDS.iter().any(|w| lower.contains(w));
        let unseen = tokens.iter().any(|t| {
            t.contains("://")
                || (t.ends_with('/') && !t.contains(char::is_whitespace))
                || (t.starts_with('/')
                    && !t.contains(char::is_whitespace)
                    && !t.rsplit('/').next().is_some_and(|last| last.contains('.')))
        });
        exploring || unseen
    })
}

/// The `verify_required` a materialized task gets: the plan's value, default
/// ALIGNED_OR_PARTIAL, and ALIGNED downgraded to ALIGNED_OR_PARTIAL when the
/// plan has exploration steps (`true` = downgraded, to be logged). Without
/// the downgrade such a task could never pass the ALIGNED gate.
pub fn materialized_verify_required(
    requested: Option<VerifyRequired>,
    implementation_plan: &str,
) -> (VerifyRequired, bool) {
    match requested {
        Some(VerifyRequired::Aligned) if has_exploration_steps(implementation_plan) => {
            (VerifyRequired::AlignedOrPartial, true)
        }
        Some(v) => (v, false),
        None => (VerifyRequired::AlignedOrPartial, false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_dispatch_matches_the_reference_table() {
        use IdeaStatus::*;
        // (job, allowed from, sets, success, failure) — §7.1 verbatim.
        let table = [
            (IdeaJob::Grill, vec![Draft, Grilled, GrillFailed, PlanReady, Planned], Grilling, Grilled, GrillFailed),
            (IdeaJob::MakePlan, vec![Grilled, PlanFailed, PlanReady], Planning, PlanReady, PlanFailed),
            (IdeaJob::ReviewPlan, vec![PlanReady, PlanReviewed], ReviewingPlan, PlanReviewed, PlanReviewFailed),
        ];
        for (job, allowed, sets, ok, failed) in table {
            assert_eq!(IdeaJob::from_kind(job.kind()), Some(job));
            for &status in IdeaStatus::ALL {
                let result = check_dispatch(job.kind(), status);
                if allowed.contains(&status) {
                    assert_eq!(result, Ok(sets), "{job:?} from {status:?}");
                } else {
                    let err = result.expect_err("refused");
                    assert_eq!((err.action, err.current), (IdeaAction::Dispatch(job), status));
                }
            }
            assert_eq!((job.success_status(), job.failure_status()), (ok, failed));
            assert_eq!(after_job_failed(job.kind()), Some(failed));
        }
    }

    #[test]
    fn materialize_only_from_a_ready_or_reviewed_plan() {
        for &status in IdeaStatus::ALL {
            let result = check_materialize(status);
            if matches!(status, IdeaStatus::PlanReady | IdeaStatus::PlanReviewed) {
                assert_eq!(result, Ok(IdeaStatus::Planned));
            } else {
                assert!(result.is_err(), "{status:?}");
            }
        }
    }

    #[test]
    fn refusals_name_the_action_the_status_and_the_way_out() {
        let err = check_dispatch(JobKind::IdeaMakePlan, IdeaStatus::Draft).expect_err("draft cannot plan");
        assert_eq!(
            err.to_string(),
            "IDEA_MAKE_PLAN is not allowed while the idea is draft; allowed from: grilled, plan_failed, plan_ready"
        );
        assert_eq!(
            check_materialize(IdeaStatus::Planning).expect_err("planning").to_string(),
            "materialize is not allowed while the idea is planning; allowed from: plan_ready, plan_reviewed"
        );
    }

    #[test]
    fn other_kinds_leave_the_idea_alone() {
        for &kind in JobKind::ALL {
            if IdeaJob::from_kind(kind).is_none() {
                assert_eq!(check_dispatch(kind, IdeaStatus::Planning), Ok(IdeaStatus::Planning));
                assert_eq!(after_job_failed(kind), None);
            }
        }
        assert_eq!(IdeaJob::ALL.len(), 3);
        let reviewing: Vec<_> = IdeaJob::ALL.iter().filter(|j| j.needs_review_worker()).collect();
        assert_eq!(reviewing, [&IdeaJob::ReviewPlan]);
    }

    #[test]
    fn plan_md_outcome_and_grill_writes() {
        assert_eq!(after_plan_md(true), IdeaStatus::PlanReady);
        assert_eq!(after_plan_md(false), IdeaStatus::PlanFailed);
        assert!(grill_md_writable(IdeaStatus::Grilling) && grill_md_writable(IdeaStatus::PlanReady));
        assert!(!grill_md_writable(IdeaStatus::Draft) && !grill_md_writable(IdeaStatus::Planned));
    }

    #[test]
    fn aligned_plans_that_only_read_some_files_are_downgraded() {
        use VerifyRequired::*;
        let reads = "1. Lees `src/lib.rs` voor de conventies\n2. Edit `src/api.rs`";
        assert!(has_exploration_steps(reads));
        assert_eq!(materialized_verify_required(Some(Aligned), reads), (AlignedOrPartial, true));
        for plan in ["Look at `docs/` first", "Call `/api/items` to check", "See `https://example.com/x`"] {
            assert!(has_exploration_steps(plan), "{plan}");
        }
        let edits = "1. Edit `src/api.rs`\n2. Add a test in `tests/api.rs`";
        assert!(!has_exploration_steps(edits));
        assert_eq!(materialized_verify_required(Some(Aligned), edits), (Aligned, false));
        // Only ALIGNED is downgraded; the default is ALIGNED_OR_PARTIAL.
        assert_eq!(materialized_verify_required(Some(Any), reads), (Any, false));
        assert_eq!(materialized_verify_required(None, edits), (AlignedOrPartial, false));
        assert!(!has_exploration_steps("read the docs, no paths named"));
    }
}
