//! Pull-request deliverables of planning stages (marketplace reference
//! §6.1): the review state machine.
//!
//! SUBMITTED → APPROVED | CHANGES_REQUESTED | REJECTED, and
//! CHANGES_REQUESTED → SUBMITTED when the expert submits again. APPROVED and
//! REJECTED are final. Repeating the move the deliverable already made (a
//! second approve) is not an error: callers answer it unchanged, so a
//! retried request never pays twice.

use super::DeliverableStatus;

/// What the client decides about a submitted deliverable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Review {
    /// Accept the work: the opportunity completes and its escrow may be released.
    Approve,
    /// Ask for another round on the same pull request.
    RequestChanges,
    /// Reject the work and reselect: the opportunity opens again.
    Reject,
}

impl Review {
    /// The status a deliverable has after this review.
    pub fn target(self) -> DeliverableStatus {
        match self {
            Review::Approve => DeliverableStatus::Approved,
            Review::RequestChanges => DeliverableStatus::ChangesRequested,
            Review::Reject => DeliverableStatus::Rejected,
        }
    }
}

/// What applying a review to a deliverable in `from` does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReviewOutcome {
    /// The deliverable moves to the review's target.
    Apply,
    /// It is already there (a repeated request): nothing changes.
    AlreadyDone,
}

/// Checks a review against the deliverable's state; the error says which
/// state it is in and what is possible from there.
pub fn check_review(from: DeliverableStatus, review: Review) -> Result<ReviewOutcome, String> {
    if from == review.target() {
        return Ok(ReviewOutcome::AlreadyDone);
    }
    match from {
        DeliverableStatus::Submitted => Ok(ReviewOutcome::Apply),
        DeliverableStatus::ChangesRequested => {
            Err("the deliverable is changes_requested: wait until the expert submits it again".to_string())
        }
        DeliverableStatus::Approved | DeliverableStatus::Rejected => {
            Err(format!("the deliverable is {} and cannot be reviewed again", from.as_api()))
        }
    }
}

/// Whether an expert may (re)submit while the opportunity's latest
/// deliverable is in `latest` (`None`: there is none yet). A new round after
/// changes were requested reuses that deliverable.
pub fn check_submit(latest: Option<DeliverableStatus>) -> Result<(), String> {
    match latest {
        None | Some(DeliverableStatus::ChangesRequested) | Some(DeliverableStatus::Rejected) => Ok(()),
        Some(s) => Err(format!("a deliverable is already {}: wait for the client's review", s.as_api())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use DeliverableStatus::*;

    #[test]
    fn every_state_and_review_has_one_answer() {
        let reviews = [Review::Approve, Review::RequestChanges, Review::Reject];
        for r in reviews {
            assert_eq!(check_review(Submitted, r), Ok(ReviewOutcome::Apply), "{r:?}");
            assert_eq!(check_review(r.target(), r), Ok(ReviewOutcome::AlreadyDone), "{r:?}");
        }
        assert!(check_review(Approved, Review::Reject).expect_err("refused").contains("approved"));
        assert!(check_review(Rejected, Review::Approve).expect_err("refused").contains("rejected"));
        assert!(check_review(ChangesRequested, Review::Approve).expect_err("refused").contains("submits it again"));
    }

    #[test]
    fn a_new_submission_waits_for_the_review_of_the_last() {
        assert!(check_submit(None).is_ok());
        assert!(check_submit(Some(ChangesRequested)).is_ok());
        assert!(check_submit(Some(Rejected)).is_ok());
        assert!(check_submit(Some(Submitted)).expect_err("refused").contains("submitted"));
        assert!(check_submit(Some(Approved)).expect_err("refused").contains("approved"));
    }
}
