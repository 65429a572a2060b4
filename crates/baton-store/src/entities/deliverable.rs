//! `deliverables`: pull requests submitted for an opportunity (planning) or a story (development).

use sea_orm::entity::prelude::*;

/// One deliverable.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "deliverables")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub opportunity_id: Option<String>,
    pub story_id: Option<String>,
    pub expert_id: String,
    pub stage: String,
    pub pr_url: String,
    pub pr_number: i32,
    pub pr_author: String,
    /// `DeliverableStatus`.
    pub status: String,
    pub review_notes: Option<String>,
    pub submitted_at: DateTimeUtc,
    pub reviewed_at: Option<DateTimeUtc>,
    pub approved_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
