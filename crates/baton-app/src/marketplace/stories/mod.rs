//! Marketplace stories: workflow transitions, validation, PRs and QA gates,
//! audit log (marketplace reference §6.2, §6.3, §8; issue 12 "Stories, BMAD
//! and QA"). The pure rules (transition table, backlog status mapping, QA
//! outcome, validation approval, PR URL) are in
//! `baton_domain::marketplace::workflow`; here they meet storage.
//!
//! Every write is one product transaction ([`crate::txn::in_product_txn`])
//! that also appends its `story_audit_logs` rows; events go out after the
//! commit. A refused request writes nothing.
//!
//! Decisions (the reference is silent or leaves them open):
//!
//! - **Who sees a project's stories.** The client (product owner), product
//!   members, administrators, and experts holding an accepted bid on one of
//!   the project's opportunities or assigned to one of its stories; anyone
//!   else gets 404. Products that are not marketplace projects
//!   (`project_status` null) have no marketplace stories (404 "project").
//!   *Seam:* the projects service puts the project-visibility rule into
//!   `access.rs`; [`ProjectParties::load`] is the one call to swap for it.
//! - **Parties.** Validators are the client (acting as product owner,
//!   reference §9.11) and the experts with an accepted bid on the project's
//!   PM or architect opportunity. The assigned developer / QA are
//!   `stories.assigned_dev_id` / `assigned_qa_id`, set by bid acceptance.
//!   The command line (`baton import bmad`) acts as the client.
//!   Administrators may read everything but are no party: their writes are 403.
//! - **Creation.** `upsert_market_story` is keyed by `epic.story` and is
//!   idempotent: created (DRAFT, backlog OPEN, under the epic's PBI — made
//!   as "Epic N" when missing), updated (title, description, acceptance
//!   criteria, story file; the workflow is never changed by an upsert) or
//!   unchanged (nothing written, no audit row).
//! - **Validation.** Recorded only on DRAFT stories (409 otherwise); a NO_GO
//!   or a score below the threshold is recorded (score, decision, who, when)
//!   and leaves the story DRAFT; a GO at or above approves it and opens its
//!   developer opportunity.
//! - **PR.** Only from IN_PROGRESS (the developer starts the story first);
//!   any http(s) `host/owner/repo/pull/N` URL (GitHub Enterprise too). The
//!   GitHub checks of §6.1 (author, diff) need the GitHub integration and
//!   are not made here. The first submission opens the QA opportunity; a
//!   resubmission after rework does not open a second one.
//! - **QA review.** Notes are required (1–4000 characters); top issues are
//!   optional (≤ 20, each ≤ 500 characters); the quality score 0–100 is
//!   optional. The QA may not be the story's developer (403). Every review
//!   (and approval) counts in `qa_review_count`. Approval records gate PASS.
//! - **Completion.** `complete_story` is the one idempotent path to DONE:
//!   DONE again is a no-op (nothing written); otherwise the story must be
//!   ready for review (409). It completes the story's developer and QA
//!   opportunities, approves their escrows' release through
//!   `escrows::approve_release_for_opportunities`, and writes
//!   STATUS_CHANGED, MERGED (recorded: merging the PR on GitHub needs the
//!   GitHub integration) and ESCROW_RELEASED (release approved) audit rows.
//!   The PBI (epic) rolls up to DONE when all its stories are.
//! - **Project completion.** When every marketplace story of a project is
//!   DONE and the project is IN_DEVELOPMENT, it becomes COMPLETED. A project
//!   still planning (stories imported early) or cancelled is left alone.
//! - **Project settings.** `validation_threshold` and `concerns_policy` are
//!   the projects service's columns on `products` (its migration); until
//!   they exist [`policy::story_policy`] reads the defaults (8, rework).
//! - **Blocking.** BLOCKED returns only to the state it was blocked from,
//!   read from the audit log's last move into BLOCKED.
//! - **Backlog status.** Every workflow write sets `status` from the one
//!   domain rule in the same statement. The backlog's own status writes
//!   (story PATCH, bulk status, task roll-ups) should leave marketplace
//!   stories alone: [`ensure_backlog_status_is_free`] is the check for them
//!   (not wired into the backlog services in this change).

mod access;
mod bmad;
mod complete;
mod pages;
mod policy;
mod views;
mod writes;

pub use access::ProjectParties;
pub use bmad::apply_bmad_record;
pub use complete::{CompleteOutcome, complete_story};
pub use pages::{ActionState, QaQueueEntry, StoryActions, StoryProject, StoryWorkflow};
pub use policy::{StoryPolicy, story_policy};
pub use views::{AuditEntryView, MarketStoryDetail, MarketStoryView, PartyView};
pub(crate) use writes::ensure_open;
pub use writes::{
    NewMarketStory, QaReviewInput, StoryApproval, StoryFilter, StoryMoveResult, StoryPr, StoryTransition,
    UpsertOutcome, UpsertResult, ValidationInput, upsert_market_story,
};

use baton_domain::marketplace::WorkflowStatus;
use baton_store::{
    entities::story_audit_log,
    new_id, now,
    sea_orm::{ActiveModelTrait, ActiveValue::Set, ConnectionTrait},
};
use serde_json::Value;

use crate::AppResult;

/// Audit actions (`story_audit_logs.action`).
pub mod actions {
    /// A story was created (by hand or by an import).
    pub const CREATED: &str = "CREATED";
    /// Title, description, acceptance criteria or story file changed.
    pub const UPDATED: &str = "UPDATED";
    /// `workflow_status` changed.
    pub const STATUS_CHANGED: &str = "STATUS_CHANGED";
    /// A validation was recorded.
    pub const VALIDATED: &str = "VALIDATED";
    /// The developer's pull request was linked.
    pub const PR_LINKED: &str = "PR_LINKED";
    /// A QA gate decision was recorded.
    pub const GATE_UPDATED: &str = "GATE_UPDATED";
    /// The story's PR is to be merged (recorded on completion).
    pub const MERGED: &str = "MERGED";
    /// The escrows of the story's opportunities were approved for release.
    pub const ESCROW_RELEASED: &str = "ESCROW_RELEASED";
}

/// Appends one audit row inside the caller's transaction. `user_id` empty
/// (the command line) or `None` = the platform.
pub(crate) async fn audit<C: ConnectionTrait>(
    c: &C,
    story_id: &str,
    user_id: Option<&str>,
    action: &str,
    from: Option<WorkflowStatus>,
    to: Option<WorkflowStatus>,
    metadata: Value,
) -> AppResult<()> {
    story_audit_log::ActiveModel {
        id: Set(new_id()),
        story_id: Set(story_id.to_string()),
        user_id: Set(user_id.filter(|u| !u.is_empty()).map(str::to_string)),
        action: Set(action.to_string()),
        from_status: Set(from.map(|s| s.as_db().to_string())),
        to_status: Set(to.map(|s| s.as_db().to_string())),
        metadata: Set((!metadata.is_null()).then_some(metadata)),
        created_at: Set(now()),
    }
    .insert(c)
    .await?;
    Ok(())
}

/// Seam for the backlog services: a marketplace story's backlog `status`
/// follows its `workflow_status` (the one rule,
/// `baton_domain::marketplace::workflow::backlog_status`), so a direct status
/// change of the backlog kind (`PATCH /api/stories/{id} {status}`, bulk
/// status) must be refused for it, and task roll-ups must not re-derive it.
/// A 409 naming the workflow state for marketplace stories; `Ok` for plain
/// backlog stories.
pub fn ensure_backlog_status_is_free(s: &baton_store::entities::story::Model) -> AppResult<()> {
    match s.workflow_status.as_deref().and_then(WorkflowStatus::from_db) {
        Some(w) => Err(crate::AppError::Conflict(format!(
            "story {} is a marketplace story ({}); its status follows the workflow",
            s.code,
            w.as_api()
        ))),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use baton_store::{entities::story, now};

    use super::*;

    fn row(workflow: Option<&str>) -> story::Model {
        let t = now();
        story::Model {
            id: "s".into(),
            pbi_id: "p".into(),
            product_id: "pr".into(),
            sprint_id: None,
            assignee_id: None,
            code: "ST-001".into(),
            title: "t".into(),
            description: None,
            acceptance_criteria: None,
            priority: 2,
            sort_order: 1.0,
            status: "OPEN".into(),
            epic_number: Some(1),
            story_number: Some("1".into()),
            workflow_status: workflow.map(str::to_string),
            assigned_dev_id: None,
            assigned_qa_id: None,
            dev_pr_url: None,
            dev_pr_number: None,
            dev_pr_author: None,
            story_file: None,
            validated_at: None,
            validated_by: None,
            validation_score: None,
            qa_gate_path: None,
            qa_gate_status: None,
            qa_reviewed_at: None,
            qa_review_count: 0,
            validation_decision: None,
            qa_quality_score: None,
            qa_notes: None,
            can_start_in_parallel: false,
            created_at: t,
            updated_at: t,
        }
    }

    #[test]
    fn only_plain_backlog_stories_take_a_status_by_hand() {
        assert!(ensure_backlog_status_is_free(&row(None)).is_ok());
        match ensure_backlog_status_is_free(&row(Some("IN_PROGRESS"))) {
            Err(crate::AppError::Conflict(m)) => assert!(m.contains("in_progress"), "{m}"),
            other => panic!("expected a conflict, got {other:?}"),
        }
    }
}
