//! Opportunities: posted by clients (planning) or the platform (stories), listed for experts.
//!
//! Seam for the story workflow: [`open_for_story`] opens the developer
//! opportunity of a story that became approved and the QA opportunity of a
//! story that first became ready for review.

use baton_domain::marketplace::{Currency, OpportunityStatus, Stage};
use baton_store::{
    entities::{opportunity, story},
    new_id, now,
};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};

use crate::AppResult;

/// Opens the `stage` (developer or QA) opportunity of a story inside the
/// caller's transaction, unless the story already has one for that stage
/// (then `None`: a story reworked and resubmitted keeps its QA opportunity).
pub async fn open_for_story<C: ConnectionTrait>(
    txn: &C,
    story: &story::Model,
    stage: Stage,
) -> AppResult<Option<opportunity::Model>> {
    let existing = opportunity::Entity::find()
        .filter(opportunity::Column::StoryId.eq(&story.id))
        .filter(opportunity::Column::Stage.eq(stage.as_db()))
        .one(txn)
        .await?;
    if existing.is_some() {
        return Ok(None);
    }
    // Budgets come from the project's per-story defaults (projects service).
    let (min, max) = if stage == Stage::Qa { (10_000, 20_000) } else { (50_000, 150_000) };
    let number = match (story.epic_number, story.story_number.as_deref()) {
        (Some(e), Some(s)) => format!("{e}.{s} "),
        _ => String::new(),
    };
    let at = now();
    let row = opportunity::ActiveModel {
        id: Set(new_id()),
        product_id: Set(story.product_id.clone()),
        story_id: Set(Some(story.id.clone())),
        stage: Set(stage.as_db().to_string()),
        title: Set(format!(
            "{} story {number}{}",
            if stage == Stage::Qa { "QA review of" } else { "Build" },
            story.title
        )),
        description: Set(story.description.clone().unwrap_or_default()),
        budget_min: Set(min),
        budget_max: Set(max),
        currency: Set(Currency::Usdc.as_db().to_string()),
        deadline: Set(None),
        status: Set(OpportunityStatus::Open.as_db().to_string()),
        accepted_bid_id: Set(None),
        created_at: Set(at),
        updated_at: Set(at),
    };
    Ok(Some(row.insert(txn).await?))
}
