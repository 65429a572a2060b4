//! The project settings the story workflow reads: the validation threshold
//! and the CONCERNS policy (`products.validation_threshold`,
//! `products.concerns_policy`, set by the projects service).

use baton_domain::marketplace::workflow::{ConcernsPolicy, DEFAULT_VALIDATION_THRESHOLD};
use baton_store::{
    entities::product,
    sea_orm::{ConnectionTrait, EntityTrait},
};

use crate::{AppError, AppResult};

/// How a project treats validations and CONCERNS gates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoryPolicy {
    /// Minimum validation score (with GO) that approves a story.
    pub validation_threshold: i32,
    /// What a CONCERNS gate does.
    pub concerns_policy: ConcernsPolicy,
}

impl Default for StoryPolicy {
    fn default() -> Self {
        StoryPolicy { validation_threshold: DEFAULT_VALIDATION_THRESHOLD, concerns_policy: ConcernsPolicy::Rework }
    }
}

/// The policy of project `product_id`.
pub async fn story_policy<C: ConnectionTrait>(c: &C, product_id: &str) -> AppResult<StoryPolicy> {
    let p = product::Entity::find_by_id(product_id.to_string()).one(c).await?.ok_or(AppError::NotFound("project"))?;
    Ok(StoryPolicy {
        validation_threshold: p.validation_threshold,
        concerns_policy: ConcernsPolicy::decode(&p.concerns_policy, "products.concerns_policy")?,
    })
}
