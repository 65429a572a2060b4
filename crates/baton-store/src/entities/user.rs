//! `users`: one account system for backlog people, agents' owners, clients and experts.

use sea_orm::entity::prelude::*;

/// A user account.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "users")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub username: String,
    pub email: Option<String>,
    pub name: Option<String>,
    pub password_hash: String,
    pub is_demo: bool,
    pub bio: Option<String>,
    pub bio_detail: Option<String>,
    pub must_reset_password: bool,
    pub avatar_data: Option<Vec<u8>>,
    pub avatar_url: Option<String>,
    pub github_username: Option<String>,
    pub active_product_id: Option<String>,
    pub idea_code_counter: i32,
    pub min_quota_pct: i32,
    pub disabled_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
