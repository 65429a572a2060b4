//! Projects and their stages (marketplace reference §1.2, issue 12
//! "Projects and stages"): the stage order, which moves are allowed, the
//! brief's life and the per-project settings' limits.
//!
//! Decisions where the reference is silent:
//! - A project starts in the analyst stage (optional research); advancing
//!   moves to the next stage, and from the architect stage the client may
//!   jump to the developer stage, skipping UX (the only skippable stage).
//!   Analyst is skipped simply by advancing without posting its
//!   opportunity.
//! - A planning stage cannot be left while its opportunity is open or
//!   closed (accepted, work under way): only once it is completed, or when
//!   none was posted (the stage was skipped).
//! - Entering the developer stage sets the status to in development; the
//!   QA stage is the last (its stories are reviewed one by one).
//! - Only planning projects and projects in development move; cancelled
//!   and completed ones are final.

use super::{OpportunityStatus, ProjectStatus, Stage};

/// What a QA gate of CONCERNS does to a story (`products.concerns_policy`),
/// defined with the story workflow that applies it.
pub use super::workflow::ConcernsPolicy;

crate::db_enum! {
    /// Whether a project brief is still a draft (`products.brief.status`).
    pub enum BriefStatus {
        /// Being written; only the project's people see it.
        Draft => "DRAFT",
        /// Published: the PM opportunity can be posted.
        Published => "PUBLISHED",
    }
}

/// The validation score a story needs by default (defined with the workflow).
pub use super::workflow::DEFAULT_VALIDATION_THRESHOLD;
/// Longest brief, in characters.
pub const MAX_BRIEF: usize = 100_000;

/// The stage after `stage` in §1.2's order; `None` after QA.
pub fn next_stage(stage: Stage) -> Option<Stage> {
    let i = Stage::ALL.iter().position(|s| *s == stage)?;
    Stage::ALL.get(i + 1).copied()
}

/// Why a project cannot move to another stage; the message names the state.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StageError {
    /// The project is cancelled or completed.
    #[error("the project is {0}; its stages no longer move")]
    Final(ProjectStatus),
    /// Nothing comes after QA.
    #[error("the project is already in the last stage (qa)")]
    Last,
    /// The requested stage is not the next one (nor a UX skip).
    #[error("the project is in the {from} stage; it can move to {allowed}, not {to}")]
    NotNext {
        /// Current stage.
        from: Stage,
        /// Asked for.
        to: Stage,
        /// What is allowed, e.g. `ux or developer`.
        allowed: String,
    },
    /// The stage's opportunity is still running.
    #[error("the {stage} opportunity is {status}; it must be completed before the project leaves the {stage} stage")]
    OpportunityRunning {
        /// The stage being left.
        stage: Stage,
        /// Its opportunity's status.
        status: OpportunityStatus,
    },
}

/// Decides the stage after an advance from `current` (status `status`),
/// given the statuses of the current stage's opportunities (planning
/// stages), towards `to` (`None` = the next stage). Returns the new stage
/// and the new status.
pub fn advance(
    status: ProjectStatus,
    current: Stage,
    to: Option<Stage>,
    current_opportunities: &[OpportunityStatus],
) -> Result<(Stage, ProjectStatus), StageError> {
    if matches!(status, ProjectStatus::Cancelled | ProjectStatus::Completed) {
        return Err(StageError::Final(status));
    }
    let next = next_stage(current).ok_or(StageError::Last)?;
    let target = to.unwrap_or(next);
    let skip_ux = current == Stage::Architect && target == Stage::Developer;
    if target != next && !skip_ux {
        let allowed = if current == Stage::Architect { "ux or developer".to_string() } else { next.as_api() };
        return Err(StageError::NotNext { from: current, to: target, allowed });
    }
    if current.is_planning()
        && let Some(running) = current_opportunities
            .iter()
            .copied()
            .find(|s| matches!(s, OpportunityStatus::Open | OpportunityStatus::Closed))
    {
        return Err(StageError::OpportunityRunning { stage: current, status: running });
    }
    let new_status = if target.is_planning() { status } else { ProjectStatus::InDevelopment };
    Ok((target, new_status))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stages_follow_the_reference_order() {
        assert_eq!(next_stage(Stage::Analyst), Some(Stage::Pm));
        assert_eq!(next_stage(Stage::Ux), Some(Stage::Developer));
        assert_eq!(next_stage(Stage::Qa), None);
    }

    #[test]
    fn advancing_moves_one_stage_or_skips_ux() {
        let p = ProjectStatus::Planning;
        assert_eq!(advance(p, Stage::Analyst, None, &[]), Ok((Stage::Pm, p)));
        assert_eq!(
            advance(p, Stage::Architect, Some(Stage::Developer), &[]),
            Ok((Stage::Developer, ProjectStatus::InDevelopment))
        );
        assert_eq!(
            advance(p, Stage::Ux, None, &[OpportunityStatus::Completed]),
            Ok((Stage::Developer, ProjectStatus::InDevelopment))
        );
        let e = advance(p, Stage::Pm, Some(Stage::Ux), &[]).expect_err("skip");
        assert_eq!(e.to_string(), "the project is in the pm stage; it can move to architect, not ux");
        assert_eq!(advance(ProjectStatus::InDevelopment, Stage::Qa, None, &[]), Err(StageError::Last));
    }

    #[test]
    fn a_running_opportunity_holds_the_stage() {
        let e = advance(ProjectStatus::Planning, Stage::Pm, None, &[OpportunityStatus::Closed]).expect_err("running");
        assert_eq!(
            e.to_string(),
            "the pm opportunity is closed; it must be completed before the project leaves the pm stage"
        );
        assert!(advance(ProjectStatus::Planning, Stage::Pm, None, &[OpportunityStatus::Open]).is_err());
        assert!(advance(ProjectStatus::Planning, Stage::Pm, None, &[OpportunityStatus::Completed]).is_ok());
    }

    #[test]
    fn final_projects_do_not_move() {
        let e = advance(ProjectStatus::Cancelled, Stage::Pm, None, &[]).expect_err("final");
        assert_eq!(e.to_string(), "the project is cancelled; its stages no longer move");
    }
}
