//! `workers`: live presence of agent workers (seed `claude_workers`).

use sea_orm::entity::prelude::*;

/// One running worker instance.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "workers")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub user_id: String,
    pub token_id: String,
    pub instance_id: String,
    pub product_id: Option<String>,
    /// `AgentRuntime`.
    pub runtime: String,
    /// JSON array of capability strings, e.g. `["deploy"]`.
    pub capabilities: Option<Json>,
    /// `WorkerTier` (the seed's `capability`).
    pub tier: String,
    pub hostname: Option<String>,
    pub pid: Option<i32>,
    pub started_at: DateTimeUtc,
    pub last_seen_at: DateTimeUtc,
    pub last_quota_pct: Option<i32>,
    pub last_quota_check_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
