//! `pbis`: product backlog items; a marketplace/BMAD epic is a PBI.

use sea_orm::entity::prelude::*;

/// A product backlog item.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "pbis")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub product_id: String,
    /// `PBI-N`, unique per product.
    pub code: String,
    pub title: String,
    pub description: Option<String>,
    /// 1 (critical) to 4.
    pub priority: i32,
    pub sort_order: f64,
    /// `PbiStatus`.
    pub status: String,
    pub pr_url: Option<String>,
    pub pr_merged_at: Option<DateTimeUtc>,
    /// BMAD epic number, unique per product when set.
    pub epic_number: Option<i32>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
