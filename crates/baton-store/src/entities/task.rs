//! `tasks`: the units of work agents implement.

use sea_orm::entity::prelude::*;

/// A task.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "tasks")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub story_id: String,
    /// Denormalised from the story.
    pub product_id: String,
    /// Denormalised from the story.
    pub sprint_id: Option<String>,
    /// `T-N`, unique per product; stable when re-parented.
    pub code: String,
    pub title: String,
    pub description: Option<String>,
    pub implementation_plan: Option<String>,
    pub priority: i32,
    pub sort_order: f64,
    /// `TaskStatus`.
    pub status: String,
    pub verify_only: bool,
    /// `VerifyRequired`.
    pub verify_required: String,
    pub requires_opus: bool,
    /// Overrides the product's repository.
    pub repo_url: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
