//! `jobs`: the agent job queue (seed `claude_jobs`). Claimed under a lease by
//! workers over MCP.

use sea_orm::entity::prelude::*;

/// One job.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "jobs")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub user_id: String,
    pub product_id: String,
    pub task_id: Option<String>,
    pub idea_id: Option<String>,
    pub sprint_run_id: Option<String>,
    /// Order within a sprint run; unique per run.
    pub sprint_sequence: Option<i32>,
    /// `JobKind`.
    pub kind: String,
    /// `JobStatus`.
    pub status: String,
    /// `AgentRuntime`.
    pub runtime: String,
    /// `JobSource`.
    pub source: String,
    pub required_capability: Option<String>,
    pub claimed_by_token_id: Option<String>,
    pub claimed_at: Option<DateTimeUtc>,
    pub worker_instance_id: Option<String>,
    pub lease_until: Option<DateTimeUtc>,
    pub retry_count: i32,
    pub started_at: Option<DateTimeUtc>,
    pub finished_at: Option<DateTimeUtc>,
    pub pushed_at: Option<DateTimeUtc>,
    /// `VerifyResult`.
    pub verify_result: Option<String>,
    pub plan_snapshot: Option<String>,
    pub base_sha: Option<String>,
    pub head_sha: Option<String>,
    pub branch: Option<String>,
    pub pr_url: Option<String>,
    pub summary: Option<String>,
    pub error: Option<String>,
    pub model_id: Option<String>,
    pub input_tokens: Option<i64>,
    pub output_tokens: Option<i64>,
    pub cache_read_tokens: Option<i64>,
    pub cache_write_tokens: Option<i64>,
    pub actual_thinking_tokens: Option<i64>,
    pub requested_model: Option<String>,
    pub requested_thinking_budget: Option<i32>,
    pub requested_permission_mode: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
