//! The one path to DONE, shared by the QA review, the QA approval and the
//! BMAD import.

use baton_domain::marketplace::{OpportunityStatus, ProjectStatus, WorkflowStatus, workflow};
use baton_store::{
    entities::{opportunity, product, story},
    now,
    sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QuerySelect, sea_query::Expr},
};
use serde_json::json;

use super::{actions, audit};
use crate::{
    AppError, AppResult,
    backlog::propagation::{Rollup, Seeds, propagate},
    marketplace::escrows,
};

/// What [`complete_story`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CompleteOutcome {
    /// The story became DONE.
    Completed {
        /// The developer and QA opportunities completed (their escrows approved for release).
        opportunity_ids: Vec<String>,
        /// The project became COMPLETED (its last story).
        project_completed: bool,
        /// Backlog roll-ups (the epic's PBI…).
        rollup: Rollup,
    },
    /// It was DONE already; nothing was written.
    AlreadyDone,
}

/// Completes story `story_id` inside the caller's product transaction:
/// DONE (backlog DONE), its developer and QA opportunities COMPLETED, their
/// escrows approved for release, the PBI rolled up, the project COMPLETED
/// after its last story (when in development), and the audit rows
/// STATUS_CHANGED, MERGED and ESCROW_RELEASED by `user_id` (`None` = the
/// platform). Idempotent: a story already DONE is left as it is. A story
/// that is not ready for review is a 409 naming its state.
pub async fn complete_story<C: ConnectionTrait>(
    c: &C,
    story_id: &str,
    user_id: Option<&str>,
    source: &str,
) -> AppResult<CompleteOutcome> {
    let s = story::Entity::find_by_id(story_id.to_string()).one(c).await?.ok_or(AppError::NotFound("story"))?;
    let from = s
        .workflow_status
        .as_deref()
        .map(|w| WorkflowStatus::decode(w, "stories.workflow_status"))
        .transpose()?
        .ok_or(AppError::NotFound("story"))?;
    if from == WorkflowStatus::Done {
        return Ok(CompleteOutcome::AlreadyDone);
    }
    if workflow::find(from, WorkflowStatus::Done).is_none() {
        return Err(AppError::Conflict(format!(
            "story is {}; only a story ready for review can be completed",
            from.as_api()
        )));
    }
    let at = now();
    let backlog = workflow::backlog_status(WorkflowStatus::Done, s.sprint_id.is_some());
    story::Entity::update_many()
        .col_expr(story::Column::WorkflowStatus, Expr::value(WorkflowStatus::Done.as_db()))
        .col_expr(story::Column::Status, Expr::value(backlog.as_db()))
        .col_expr(story::Column::UpdatedAt, Expr::value(at))
        .filter(story::Column::Id.eq(&s.id))
        .exec(c)
        .await?;
    audit(c, &s.id, user_id, actions::STATUS_CHANGED, Some(from), Some(WorkflowStatus::Done), json!({ "via": source }))
        .await?;
    audit(
        c,
        &s.id,
        user_id,
        actions::MERGED,
        None,
        None,
        // Merging on GitHub needs the GitHub integration; the approval is recorded.
        json!({ "pr_url": s.dev_pr_url, "pr_number": s.dev_pr_number, "merge": "recorded" }),
    )
    .await?;
    let opportunity_ids: Vec<String> = opportunity::Entity::find()
        .select_only()
        .column(opportunity::Column::Id)
        .filter(opportunity::Column::StoryId.eq(&s.id))
        .filter(opportunity::Column::Status.ne(OpportunityStatus::Completed.as_db()))
        .into_tuple()
        .all(c)
        .await?;
    if !opportunity_ids.is_empty() {
        opportunity::Entity::update_many()
            .col_expr(opportunity::Column::Status, Expr::value(OpportunityStatus::Completed.as_db()))
            .col_expr(opportunity::Column::UpdatedAt, Expr::value(at))
            .filter(opportunity::Column::Id.is_in(opportunity_ids.clone()))
            .exec(c)
            .await?;
    }
    escrows::approve_release_for_opportunities(c, &opportunity_ids).await?;
    audit(
        c,
        &s.id,
        user_id,
        actions::ESCROW_RELEASED,
        None,
        None,
        json!({ "opportunity_ids": opportunity_ids, "release": "approved" }),
    )
    .await?;
    let rollup = propagate(c, Seeds::default().and_pbis([s.pbi_id.clone()])).await?;
    let project_completed = complete_project_if_done(c, &s.product_id).await?;
    Ok(CompleteOutcome::Completed { opportunity_ids, project_completed, rollup })
}

/// Marks project `product_id` COMPLETED when it is in development and every
/// one of its marketplace stories is DONE; whether it did.
async fn complete_project_if_done<C: ConnectionTrait>(c: &C, product_id: &str) -> AppResult<bool> {
    let Some(p) = product::Entity::find_by_id(product_id.to_string()).one(c).await? else { return Ok(false) };
    if p.project_status.as_deref() != Some(ProjectStatus::InDevelopment.as_db()) {
        return Ok(false);
    }
    let open = story::Entity::find()
        .filter(story::Column::ProductId.eq(product_id))
        .filter(story::Column::WorkflowStatus.is_not_null())
        .filter(story::Column::WorkflowStatus.ne(WorkflowStatus::Done.as_db()))
        .count(c)
        .await?;
    if open > 0 {
        return Ok(false);
    }
    product::Entity::update_many()
        .col_expr(product::Column::ProjectStatus, Expr::value(ProjectStatus::Completed.as_db()))
        .col_expr(product::Column::UpdatedAt, Expr::value(now()))
        .filter(product::Column::Id.eq(product_id))
        .exec(c)
        .await?;
    Ok(true)
}
