//! `job_kind_configs`: an administrator's model configuration per job kind,
//! used by the claim's config resolution after the job's and the product's
//! own settings (reference §3.4).

use sea_orm::entity::prelude::*;

/// One kind's configuration; a null setting is not set here.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "job_kind_configs")]
pub struct Model {
    /// The `JobKind` db value.
    #[sea_orm(primary_key, auto_increment = false)]
    pub kind: String,
    pub model: Option<String>,
    pub thinking_budget: Option<i32>,
    pub permission_mode: Option<String>,
    /// A JSON list of tool names the agent may use.
    pub allowed_tools: Option<Json>,
    pub max_turns: Option<i32>,
    pub updated_at: DateTimeUtc,
    /// The administrator who saved it last (null once that user is deleted).
    pub updated_by: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
