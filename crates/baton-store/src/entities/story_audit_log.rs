//! `story_audit_logs`: append-only log of marketplace story changes.

use sea_orm::entity::prelude::*;

/// One audit entry.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "story_audit_logs")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub story_id: String,
    /// `None` = the platform itself.
    pub user_id: Option<String>,
    /// e.g. `STATUS_CHANGED`, `PR_LINKED`, `GATE_UPDATED`.
    pub action: String,
    /// `WorkflowStatus`.
    pub from_status: Option<String>,
    pub to_status: Option<String>,
    pub metadata: Option<Json>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
