//! `bids`: an expert's offer on an opportunity; one per expert and opportunity.

use sea_orm::entity::prelude::*;

/// One bid.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "bids")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub opportunity_id: String,
    pub expert_id: String,
    /// Hundredths of the currency's display unit.
    pub amount: i64,
    /// `Currency`.
    pub currency: String,
    pub proposal: String,
    pub estimated_hours: Option<i32>,
    /// `BidStatus`.
    pub status: String,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
