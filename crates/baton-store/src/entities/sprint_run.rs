//! `sprint_runs`: one execution of a sprint by agents, chained on resume.

use sea_orm::entity::prelude::*;

/// A sprint run.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "sprint_runs")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub sprint_id: String,
    pub started_by_id: String,
    /// `SprintRunStatus`.
    pub status: String,
    /// `PrStrategy` copied from the product at start.
    pub pr_strategy: String,
    pub branch: Option<String>,
    pub pr_url: Option<String>,
    pub started_at: Option<DateTimeUtc>,
    pub finished_at: Option<DateTimeUtc>,
    pub failure_reason: Option<String>,
    pub failed_task_id: Option<String>,
    pub pause_context: Option<Json>,
    /// The run this one resumes (unique).
    pub previous_run_id: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
