//! `ideas`: notes that are grilled into a plan and materialized into backlog.

use sea_orm::entity::prelude::*;

/// An idea (owner-private).
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "ideas")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub user_id: String,
    pub product_id: Option<String>,
    /// `IDEA-NNN`, unique per user.
    pub code: String,
    pub title: String,
    pub description: Option<String>,
    pub grill_md: Option<String>,
    pub plan_md: Option<String>,
    pub plan_review_log: Option<Json>,
    /// The PBI it was materialized into (unique).
    pub pbi_id: Option<String>,
    pub build_sprint_id: Option<String>,
    pub build_sprint_run_id: Option<String>,
    /// `IdeaStatus`.
    pub status: String,
    pub archived: bool,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
