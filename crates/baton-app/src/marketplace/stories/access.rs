//! Who the caller is to a project and to one of its stories.

use baton_domain::marketplace::{BidStatus, Stage, workflow::StoryRole};
use baton_store::{
    entities::{bid, opportunity, product, story},
    sea_orm::{ColumnTrait, Condition, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QuerySelect},
};

use crate::{Actor, AppError, AppResult, AuthVia, access};

/// The caller's standing in one marketplace project.
#[derive(Debug, Clone)]
pub struct ProjectParties {
    /// The project (a product with `project_status` set).
    pub product: product::Model,
    /// The caller owns the project (or is the command line).
    pub is_client: bool,
    /// The caller holds an accepted bid on the PM or architect opportunity.
    pub is_planner: bool,
    /// The caller's user id.
    pub user_id: String,
}

impl ProjectParties {
    /// Resolves project `project_ref` (id, or code for owners and members)
    /// for `actor`: `NotFound("project")` unless the caller may see it (see
    /// the module doc) and it is a marketplace project.
    pub async fn load<C: ConnectionTrait>(c: &C, actor: &Actor, project_ref: &str) -> AppResult<ProjectParties> {
        // Who may see a project is decided in one place.
        let (product, _) = access::project_for(c, actor, project_ref).await?;
        Self::for_product(c, actor, product, true).await
    }

    /// Like [`ProjectParties::load`] for a product row already loaded;
    /// `product_access` = [`access::product_for`] admits the caller.
    pub async fn for_product<C: ConnectionTrait>(
        c: &C,
        actor: &Actor,
        product: product::Model,
        product_access: bool,
    ) -> AppResult<ProjectParties> {
        if product.project_status.is_none() {
            return Err(AppError::NotFound("project"));
        }
        let in_scope = actor.token_scope().is_none_or(|s| s.iter().any(|p| p == &product.id));
        let is_client = in_scope && (matches!(actor.via, AuthVia::Cli) || actor.user_id == product.user_id);
        let accepted = if in_scope && !actor.user_id.is_empty() {
            accepted_stages(c, &product.id, &actor.user_id).await?
        } else {
            Vec::new()
        };
        let is_planner = accepted.iter().any(|s| matches!(s, Stage::Pm | Stage::Architect));
        let assigned = in_scope
            && !actor.user_id.is_empty()
            && story::Entity::find()
                .filter(story::Column::ProductId.eq(&product.id))
                .filter(
                    Condition::any()
                        .add(story::Column::AssignedDevId.eq(&actor.user_id))
                        .add(story::Column::AssignedQaId.eq(&actor.user_id)),
                )
                .count(c)
                .await?
                > 0;
        if !(product_access || is_client || !accepted.is_empty() || assigned) {
            return Err(AppError::NotFound("project"));
        }
        Ok(ProjectParties { product, is_client, is_planner, user_id: actor.user_id.clone() })
    }

    /// The caller's roles for `s` (a story of this project).
    pub fn roles_for(&self, s: &story::Model) -> Vec<StoryRole> {
        let mut roles = Vec::new();
        if self.is_client || self.is_planner {
            roles.push(StoryRole::Validator);
        }
        if self.is_client {
            roles.push(StoryRole::Client);
        }
        let me = Some(self.user_id.as_str()).filter(|u| !u.is_empty());
        if me.is_some() && s.assigned_dev_id.as_deref() == me {
            roles.push(StoryRole::Developer);
        }
        if me.is_some() && s.assigned_qa_id.as_deref() == me {
            roles.push(StoryRole::Qa);
        }
        roles
    }
}

/// The stages of project `product_id` on which `user_id` holds an accepted bid.
async fn accepted_stages<C: ConnectionTrait>(c: &C, product_id: &str, user_id: &str) -> AppResult<Vec<Stage>> {
    let bid_ids: Vec<String> = bid::Entity::find()
        .select_only()
        .column(bid::Column::Id)
        .filter(bid::Column::ExpertId.eq(user_id))
        .filter(bid::Column::Status.eq(BidStatus::Accepted.as_db()))
        .into_tuple()
        .all(c)
        .await?;
    if bid_ids.is_empty() {
        return Ok(Vec::new());
    }
    let stages: Vec<String> = opportunity::Entity::find()
        .select_only()
        .column(opportunity::Column::Stage)
        .filter(opportunity::Column::ProductId.eq(product_id))
        .filter(opportunity::Column::AcceptedBidId.is_in(bid_ids))
        .into_tuple()
        .all(c)
        .await?;
    stages.iter().map(|s| Stage::decode(s, "opportunities.stage").map_err(AppError::from)).collect()
}

/// Loads marketplace story `story_id` (404 for plain backlog stories and
/// for stories of projects the caller cannot see) with the caller's parties.
pub(crate) async fn story_for<C: ConnectionTrait>(
    c: &C,
    actor: &Actor,
    story_id: &str,
) -> AppResult<(story::Model, ProjectParties)> {
    let s = story::Entity::find_by_id(story_id.trim().to_string())
        .one(c)
        .await?
        .filter(|s| s.workflow_status.is_some())
        .ok_or(AppError::NotFound("story"))?;
    let product = product::Entity::find_by_id(s.product_id.clone()).one(c).await?.ok_or(AppError::NotFound("story"))?;
    let product_access = access::project_for(c, actor, &product.id).await.is_ok();
    let parties = match ProjectParties::for_product(c, actor, product, product_access).await {
        Ok(p) => p,
        Err(AppError::NotFound(_)) => return Err(AppError::NotFound("story")),
        Err(e) => return Err(e),
    };
    Ok((s, parties))
}
