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
    /// Quota floor (0–100) for claiming this product's jobs; null = the user's.
    pub min_quota_pct: Option<i32>,
    /// `APP` or `SYSTEM`.
    pub kind: String,
    pub auto_pr_review: bool,
    pub auto_task_review: bool,
    pub auto_plan_review: bool,
    pub auto_materialize_plan: bool,
    pub auto_deploy: bool,
    pub deploy_flow: Option<String>,
    /// JSON array of document folder names.
    pub enabled_doc_folders: Option<Json>,
    pub content_policy: Option<Json>,
    /// Marketplace project status; `None` for products that are not marketplace projects.
    pub project_status: Option<String>,
    /// The active BMAD stage of a marketplace project.
    pub current_stage: Option<String>,
    /// The project brief, as structured JSON.
    pub brief: Option<Json>,
    /// `owner/name` of the project repository.
    pub repo_name: Option<String>,
    /// Budget of the developer opportunity opened per story (minor units).
    pub dev_budget_min: i64,
    pub dev_budget_max: i64,
    /// Budget of the QA opportunity opened per story (minor units).
    pub qa_budget_min: i64,
    pub qa_budget_max: i64,
    /// `Currency` of the per-story budgets.
    pub story_budget_currency: String,
    /// `ConcernsPolicy`: what a QA gate of CONCERNS does to a story.
    pub concerns_policy: String,
    /// Readiness score (1–10) a story needs to be approved.
    pub validation_threshold: i32,
    /// Last `PBI-N` number handed out.
    pub last_pbi_number: i64,
    /// Last `ST-NNN` number handed out.
    pub last_story_number: i64,
    /// Last `T-N` number handed out.
    pub last_task_number: i64,
    /// Last `SP-N` number handed out.
    pub last_sprint_number: i64,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
