//! `sprint_task_executions`: the frozen task list of a `SPRINT_IMPLEMENTATION` job.

use sea_orm::entity::prelude::*;

/// One task inside a batch job.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "sprint_task_executions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub sprint_job_id: String,
    pub task_id: String,
    /// Position in the batch (the seed's `order`).
    pub run_order: i32,
    pub plan_snapshot: String,
    pub verify_required_snapshot: String,
    pub verify_only_snapshot: bool,
    pub base_sha: Option<String>,
    pub head_sha: Option<String>,
    /// `TaskExecutionStatus`.
    pub status: String,
    pub verify_result: Option<String>,
    pub verify_summary: Option<String>,
    pub skip_reason: Option<String>,
    pub started_at: Option<DateTimeUtc>,
    pub finished_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
