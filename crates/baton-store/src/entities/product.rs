//! `products`: a product backlog; in the marketplace, a client's project.

use sea_orm::entity::prelude::*;

/// A product.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "products")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    /// The owner.
    pub user_id: String,
    pub name: String,
    pub code: Option<String>,
    pub description: Option<String>,
    pub repo_url: Option<String>,
    pub definition_of_done: String,
    pub auto_pr: bool,
    pub pr_strategy: String,
    pub archived: bool,
    pub preferred_model: Option<String>,
    pub thinking_budget_default: Option<i32>,
    pub preferred_permission_mode: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
