//! `opportunities`: marketplace work offered for bids, per project stage or story.

use sea_orm::entity::prelude::*;

/// One opportunity.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "opportunities")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    /// The project.
    pub product_id: String,
    /// Set for developer and QA opportunities.
    pub story_id: Option<String>,
    /// `Stage`.
    pub stage: String,
    pub title: String,
    pub description: String,
    /// Hundredths of the currency's display unit.
    pub budget_min: i64,
    pub budget_max: i64,
    /// `Currency`.
    pub currency: String,
    pub deadline: Option<DateTimeUtc>,
    /// `OpportunityStatus`.
    pub status: String,
    pub accepted_bid_id: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
