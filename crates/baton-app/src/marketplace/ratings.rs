//! Ratings and expert profiles (marketplace reference §8).
//!
//! Decisions where the reference is silent or loose:
//! - A client rates an expert once per (project, stage): one rating covers
//!   all of that expert's stories of a developer or QA stage in the project.
//!   It is allowed once at least one opportunity of that stage in the
//!   project was completed with the expert's accepted bid ("only from
//!   COMPLETED engagements the rater paid for"). Ratings are final (no edit,
//!   no delete): the reference leaves moderation to administrators, which
//!   is not built yet.
//! - Profiles are visible to every signed-in user. Average = sum / count
//!   rounded half up to one decimal, overall and per stage. Feedback is shown
//!   with the stage and date; the client is named only from
//!   [`NAMED_CLIENTS_FROM`] ratings on, as §8 asks. The profile lists the
//!   expert roles held as the stages they may bid on (the client role and
//!   administrator-granted roles are not part of an expert's profile).
//! - Mutual ratings (expert rates client) are not in the seed's schema and
//!   are not built.

use std::collections::BTreeMap;

use baton_domain::{
    ValidationErrors,
    marketplace::{
        BidStatus, OpportunityStatus, Stage,
        bidding::role_for_stage,
        ratings::{NAMED_CLIENTS_FROM, average_text, check_rating},
    },
};
use baton_store::{
    entities::{bid, opportunity, product, rating, user, user_role},
    error::ResultExt,
    new_id, now,
};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set};
use serde::{Deserialize, Serialize};

use crate::{Actor, App, AppError, AppResult};

/// How many of the newest ratings a profile lists.
pub const PROFILE_RECENT: u64 = 20;

/// A client's rating of an expert for one stage of a project.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewRating {
    /// The expert's username.
    pub expert: String,
    /// The stage rated.
    pub stage: Stage,
    /// 1 to 5 stars.
    pub rating: i64,
    /// Optional text (≤ 500 characters).
    #[serde(default)]
    pub feedback: Option<String>,
}

/// A stored rating.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct RatingView {
    /// Id.
    pub id: String,
    /// The project.
    pub project_id: String,
    /// The expert rated.
    pub expert_id: String,
    /// The stage.
    pub stage: Stage,
    /// 1 to 5.
    pub rating: i32,
    /// The client's text.
    pub feedback: Option<String>,
    /// When.
    pub created_at: chrono::DateTime<chrono::Utc>,
}

/// Average and count of a set of ratings.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct RatingSummary {
    /// How many ratings.
    pub count: u64,
    /// Average to one decimal ("4.7"); `null` without ratings.
    pub average: Option<String>,
}

/// Per-stage summary on a profile.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct StageSummary {
    /// The stage.
    pub stage: Stage,
    /// Its ratings.
    #[serde(flatten)]
    pub summary: RatingSummary,
}

/// One rating as a profile lists it.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ProfileRating {
    /// The stage.
    pub stage: Stage,
    /// 1 to 5.
    pub rating: i32,
    /// The client's text.
    pub feedback: Option<String>,
    /// The client's username, or `null` while the expert has fewer than five ratings.
    pub client: Option<String>,
    /// When.
    pub created_at: chrono::DateTime<chrono::Utc>,
}

/// An expert's public profile.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ExpertProfile {
    /// Username.
    pub username: String,
    /// Display name.
    pub name: Option<String>,
    /// The expert roles held (stages the user may bid on), in stage order.
    pub roles: Vec<Stage>,
    /// Short bio.
    pub bio: Option<String>,
    /// All ratings.
    pub overall: RatingSummary,
    /// Per stage, in stage order; stages without ratings are left out.
    pub stages: Vec<StageSummary>,
    /// Engagements completed (accepted bids whose opportunity completed).
    pub completed_engagements: u64,
    /// The newest ratings.
    pub recent: Vec<ProfileRating>,
}

fn summary(values: &[i32]) -> RatingSummary {
    let sum: u64 = values.iter().map(|v| u64::try_from(*v).unwrap_or(0)).sum();
    let count = values.len() as u64;
    RatingSummary { count, average: average_text(sum, count) }
}

impl App {
    /// The project's client rates an expert for a stage they completed.
    pub async fn rate_expert(&self, actor: &Actor, project_id: &str, input: NewRating) -> AppResult<RatingView> {
        actor.require_write()?;
        let project = product::Entity::find_by_id(project_id)
            .one(&self.db)
            .await?
            .filter(|p| p.project_status.is_some())
            .ok_or(AppError::NotFound("project"))?;
        if project.user_id != actor.user_id {
            let involved = self.accepted_bids_in(&project.id, &actor.user_id).await?.next().is_some();
            return Err(if involved {
                AppError::Forbidden("only the project's client rates its experts".into())
            } else {
                AppError::NotFound("project")
            });
        }
        let mut errs = ValidationErrors::new();
        let feedback = input.feedback.as_deref().map(str::trim).filter(|f| !f.is_empty()).map(str::to_string);
        check_rating(&mut errs, input.rating, feedback.as_deref());
        errs.into_result()?;
        let expert = user::Entity::find()
            .filter(user::Column::Username.eq(input.expert.trim()))
            .one(&self.db)
            .await?
            .ok_or_else(|| AppError::field("expert", "no such user"))?;
        let completed = opportunity::Entity::find()
            .filter(opportunity::Column::ProductId.eq(&project.id))
            .filter(opportunity::Column::Stage.eq(input.stage.as_db()))
            .filter(opportunity::Column::Status.eq(OpportunityStatus::Completed.as_db()))
            .all(&self.db)
            .await?;
        let ids: Vec<String> = completed.iter().filter_map(|o| o.accepted_bid_id.clone()).collect();
        let did_it = !ids.is_empty()
            && bid::Entity::find()
                .filter(bid::Column::Id.is_in(ids))
                .filter(bid::Column::ExpertId.eq(&expert.id))
                .one(&self.db)
                .await?
                .is_some();
        if !did_it {
            return Err(AppError::Conflict(format!(
                "{} has completed no {} work in this project yet; rate after the work is approved",
                expert.username, input.stage
            )));
        }
        let rating = i32::try_from(input.rating).map_err(|_| AppError::field("rating", "must be from 1 to 5"))?;
        let row = rating::ActiveModel {
            id: Set(new_id()),
            product_id: Set(project.id.clone()),
            expert_id: Set(expert.id.clone()),
            client_id: Set(actor.user_id.clone()),
            stage: Set(input.stage.as_db().into()),
            rating: Set(rating),
            feedback: Set(feedback),
            created_at: Set(now()),
        }
        .insert(&self.db)
        .await
        .on_unique(|_| {
            Some(AppError::Conflict(format!(
                "you already rated {} for the {} stage of this project",
                expert.username, input.stage
            )))
        })?;
        rating_view(row)
    }

    /// The ratings given in a project (its client and administrators), newest first.
    pub async fn project_ratings(&self, actor: &Actor, project_id: &str) -> AppResult<Vec<RatingView>> {
        let project = product::Entity::find_by_id(project_id)
            .one(&self.db)
            .await?
            .filter(|p| p.project_status.is_some())
            .ok_or(AppError::NotFound("project"))?;
        if project.user_id != actor.user_id && !actor.is_admin() {
            return Err(AppError::NotFound("project"));
        }
        rating::Entity::find()
            .filter(rating::Column::ProductId.eq(&project.id))
            .order_by_desc(rating::Column::CreatedAt)
            .all(&self.db)
            .await?
            .into_iter()
            .map(rating_view)
            .collect()
    }

    /// An expert's profile: averages overall and per stage, completed
    /// engagements and the newest ratings. Any signed-in user may read it.
    pub async fn expert_profile(&self, _actor: &Actor, username: &str) -> AppResult<ExpertProfile> {
        let expert = user::Entity::find()
            .filter(user::Column::Username.eq(username.trim()))
            .filter(user::Column::DisabledAt.is_null())
            .one(&self.db)
            .await?
            .ok_or(AppError::NotFound("user"))?;
        let rows = rating::Entity::find()
            .filter(rating::Column::ExpertId.eq(&expert.id))
            .order_by_desc(rating::Column::CreatedAt)
            .all(&self.db)
            .await?;
        let all: Vec<i32> = rows.iter().map(|r| r.rating).collect();
        let mut by_stage: BTreeMap<usize, (Stage, Vec<i32>)> = BTreeMap::new();
        for r in &rows {
            let stage = Stage::decode(&r.stage, "ratings.stage")?;
            let order = Stage::ALL.iter().position(|s| *s == stage).unwrap_or(usize::MAX);
            by_stage.entry(order).or_insert_with(|| (stage, Vec::new())).1.push(r.rating);
        }
        let named = rows.len() as u64 >= NAMED_CLIENTS_FROM;
        let mut recent = Vec::new();
        for r in rows.iter().take(PROFILE_RECENT as usize) {
            let client = if named {
                user::Entity::find_by_id(&r.client_id).one(&self.db).await?.map(|u| u.username)
            } else {
                None
            };
            recent.push(ProfileRating {
                stage: Stage::decode(&r.stage, "ratings.stage")?,
                rating: r.rating,
                feedback: r.feedback.clone(),
                client,
                created_at: r.created_at,
            });
        }
        let accepted: Vec<String> = bid::Entity::find()
            .filter(bid::Column::ExpertId.eq(&expert.id))
            .filter(bid::Column::Status.eq(BidStatus::Accepted.as_db()))
            .select_only()
            .column(bid::Column::Id)
            .into_tuple()
            .all(&self.db)
            .await?;
        let completed_engagements = if accepted.is_empty() {
            0
        } else {
            opportunity::Entity::find()
                .filter(opportunity::Column::AcceptedBidId.is_in(accepted))
                .filter(opportunity::Column::Status.eq(OpportunityStatus::Completed.as_db()))
                .all(&self.db)
                .await?
                .len() as u64
        };
        let held: Vec<String> = user_role::Entity::find()
            .filter(user_role::Column::UserId.eq(&expert.id))
            .select_only()
            .column(user_role::Column::Role)
            .into_tuple()
            .all(&self.db)
            .await?;
        let roles =
            Stage::ALL.iter().copied().filter(|s| held.iter().any(|r| r == role_for_stage(*s).as_db())).collect();
        Ok(ExpertProfile {
            username: expert.username,
            name: expert.name,
            roles,
            bio: expert.bio,
            overall: summary(&all),
            stages: by_stage.into_values().map(|(stage, v)| StageSummary { stage, summary: summary(&v) }).collect(),
            completed_engagements,
            recent,
        })
    }

    /// The caller's accepted bids on opportunities of a project.
    async fn accepted_bids_in(&self, project_id: &str, expert_id: &str) -> AppResult<std::vec::IntoIter<bid::Model>> {
        let opps: Vec<String> = opportunity::Entity::find()
            .filter(opportunity::Column::ProductId.eq(project_id))
            .select_only()
            .column(opportunity::Column::Id)
            .into_tuple()
            .all(&self.db)
            .await?;
        if opps.is_empty() {
            return Ok(Vec::new().into_iter());
        }
        Ok(bid::Entity::find()
            .filter(bid::Column::OpportunityId.is_in(opps))
            .filter(bid::Column::ExpertId.eq(expert_id))
            .filter(bid::Column::Status.eq(BidStatus::Accepted.as_db()))
            .all(&self.db)
            .await?
            .into_iter())
    }
}

fn rating_view(m: rating::Model) -> AppResult<RatingView> {
    Ok(RatingView {
        stage: Stage::decode(&m.stage, "ratings.stage")?,
        id: m.id,
        project_id: m.product_id,
        expert_id: m.expert_id,
        rating: m.rating,
        feedback: m.feedback,
        created_at: m.created_at,
    })
}
