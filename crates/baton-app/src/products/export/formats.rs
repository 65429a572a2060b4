//! The export document and its parts: what a JSON export holds, what a CSV
//! export is read into, and what an import answers.

use baton_domain::backlog::{
    PbiStatus, PrStrategy, SprintStatus, StoryLogType, StoryStatus, TaskStatus, TestStatus, VerifyRequired,
};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::products::ProductView;

/// The `format` value of a Baton backlog export.
pub const EXPORT_FORMAT: &str = "baton-backlog";
/// The export format version this build writes and reads.
pub const EXPORT_VERSION: u32 = 1;

/// Which file format to export.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ExportFormat {
    /// One nested JSON document (importable).
    #[default]
    Json,
    /// One CSV row per item.
    Csv,
}

/// The export query.
#[derive(Debug, Clone, Copy, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ExportParams {
    /// `json` (default) or `csv`.
    #[param(inline)]
    pub format: Option<ExportFormat>,
}

/// A whole backlog, as exported and imported.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BacklogExport {
    /// Always `baton-backlog`.
    #[schema(pattern = "^baton-backlog$")]
    pub format: String,
    /// Format version (1).
    #[schema(minimum = 1, maximum = 1)]
    pub version: u32,
    /// When the export was made (ignored on import).
    #[serde(default)]
    pub exported_at: Option<DateTime<Utc>>,
    /// The product's settings.
    pub product: ExportProduct,
    /// Its sprints, oldest first.
    #[serde(default)]
    pub sprints: Vec<ExportSprint>,
    /// Its PBIs in order, each with its stories.
    #[serde(default)]
    pub pbis: Vec<ExportPbi>,
}

/// Product settings in an export.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExportProduct {
    /// Name.
    #[schema(max_length = 200, pattern = "\\S")]
    pub name: String,
    /// Code.
    #[serde(default)]
    #[schema(min_length = 1, max_length = 30, pattern = "^[A-Za-z0-9._-]+$")]
    pub code: Option<String>,
    /// Description.
    #[serde(default)]
    #[schema(max_length = 4000)]
    pub description: Option<String>,
    /// Repository URL.
    #[serde(default)]
    #[schema(
        max_length = 500,
        pattern = "^(?:(?:[Hh][Tt][Tt][Pp][Ss]?|[Ss][Ss][Hh]|[Gg][Ii][Tt])://(?:[^\\s\\x00-\\x1f\\x7f-\\x9f/?#]*@)?[^\\s\\x00-\\x1f\\x7f-\\x9f/?#@:.][^\\s\\x00-\\x1f\\x7f-\\x9f/?#@]*(?:[/?#][^\\s\\x00-\\x1f\\x7f-\\x9f]*)?|[^\\s\\x00-\\x1f\\x7f-\\x9f@:]+@[^\\s\\x00-\\x1f\\x7f-\\x9f:/]+:[^\\s\\x00-\\x1f\\x7f-\\x9f:]+)$"
    )]
    pub repo_url: Option<String>,
    /// Definition of done.
    #[schema(max_length = 4000, pattern = "\\S")]
    pub definition_of_done: String,
    /// Auto PR.
    #[serde(default)]
    pub auto_pr: bool,
    /// PR strategy.
    #[serde(default = "default_strategy")]
    pub pr_strategy: PrStrategy,
    /// Preferred model.
    #[serde(default)]
    #[schema(max_length = 200)]
    pub preferred_model: Option<String>,
    /// Default thinking budget.
    #[serde(default)]
    #[schema(minimum = 0, maximum = 200000)]
    pub thinking_budget_default: Option<i32>,
    /// Permission mode.
    #[serde(default)]
    #[schema(max_length = 40, pattern = "^[A-Za-z0-9_-]*$")]
    pub preferred_permission_mode: Option<String>,
    /// Auto PR review.
    #[serde(default)]
    pub auto_pr_review: bool,
    /// Auto task review.
    #[serde(default)]
    pub auto_task_review: bool,
    /// Auto plan review.
    #[serde(default = "yes")]
    pub auto_plan_review: bool,
    /// Auto materialize plan.
    #[serde(default = "yes")]
    pub auto_materialize_plan: bool,
    /// Auto deploy.
    #[serde(default)]
    pub auto_deploy: bool,
}

pub(super) fn default_strategy() -> PrStrategy {
    PrStrategy::SprintBatch
}

pub(super) fn yes() -> bool {
    true
}

/// A sprint in an export.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExportSprint {
    /// Code (stories refer to it).
    #[schema(min_length = 1, max_length = 30, pattern = "^\\S(?:.*\\S)?$")]
    pub code: String,
    /// Goal.
    #[schema(max_length = 500, pattern = "\\S")]
    pub sprint_goal: String,
    /// Status.
    pub status: SprintStatus,
    /// First day.
    #[serde(default)]
    pub start_date: Option<NaiveDate>,
    /// Last day.
    #[serde(default)]
    pub end_date: Option<NaiveDate>,
    /// When it was closed.
    #[serde(default)]
    pub completed_at: Option<DateTime<Utc>>,
    /// When it was created (kept on import).
    #[serde(default)]
    pub created_at: Option<DateTime<Utc>>,
}

/// A PBI in an export.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExportPbi {
    /// Code.
    #[schema(min_length = 1, max_length = 30, pattern = "^\\S(?:.*\\S)?$")]
    pub code: String,
    /// Title.
    #[schema(max_length = 200, pattern = "\\S")]
    pub title: String,
    /// Description.
    #[serde(default)]
    #[schema(max_length = 4000)]
    pub description: Option<String>,
    /// Priority 1–4.
    #[schema(minimum = 1, maximum = 4)]
    pub priority: i32,
    /// Position.
    pub sort_order: f64,
    /// Status.
    pub status: PbiStatus,
    /// Pull request URL.
    #[serde(default)]
    #[schema(max_length = 500)]
    pub pr_url: Option<String>,
    /// When the PR was merged.
    #[serde(default)]
    pub pr_merged_at: Option<DateTime<Utc>>,
    /// BMAD epic number.
    #[serde(default)]
    pub epic_number: Option<i32>,
    /// When it was created (kept on import).
    #[serde(default)]
    pub created_at: Option<DateTime<Utc>>,
    /// Its stories in order.
    #[serde(default)]
    pub stories: Vec<ExportStory>,
}

/// A story in an export.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExportStory {
    /// Code.
    #[schema(min_length = 1, max_length = 30, pattern = "^\\S(?:.*\\S)?$")]
    pub code: String,
    /// Title.
    #[schema(max_length = 200, pattern = "\\S")]
    pub title: String,
    /// Description.
    #[serde(default)]
    #[schema(max_length = 4000)]
    pub description: Option<String>,
    /// Acceptance criteria.
    #[serde(default)]
    #[schema(max_length = 4000)]
    pub acceptance_criteria: Option<String>,
    /// Priority 1–4.
    #[schema(minimum = 1, maximum = 4)]
    pub priority: i32,
    /// Position within the PBI.
    pub sort_order: f64,
    /// Status.
    pub status: StoryStatus,
    /// Code of its sprint in this export.
    #[serde(default)]
    pub sprint_code: Option<String>,
    /// Username of its assignee.
    #[serde(default)]
    pub assignee: Option<String>,
    /// BMAD epic number.
    #[serde(default)]
    pub epic_number: Option<i32>,
    /// BMAD story number.
    #[serde(default)]
    #[schema(max_length = 20)]
    pub story_number: Option<String>,
    /// When it was created (kept on import).
    #[serde(default)]
    pub created_at: Option<DateTime<Utc>>,
    /// Its tasks in order.
    #[serde(default)]
    pub tasks: Vec<ExportTask>,
    /// Its log, oldest first.
    #[serde(default)]
    pub logs: Vec<ExportLog>,
}

/// A task in an export.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExportTask {
    /// Code.
    #[schema(min_length = 1, max_length = 30, pattern = "^\\S(?:.*\\S)?$")]
    pub code: String,
    /// Title.
    #[schema(max_length = 200, pattern = "\\S")]
    pub title: String,
    /// Description.
    #[serde(default)]
    #[schema(max_length = 4000)]
    pub description: Option<String>,
    /// Implementation plan.
    #[serde(default)]
    #[schema(max_length = 8000)]
    pub implementation_plan: Option<String>,
    /// Priority 1–4.
    #[schema(minimum = 1, maximum = 4)]
    pub priority: i32,
    /// Position within the story.
    pub sort_order: f64,
    /// Status.
    pub status: TaskStatus,
    /// Verification-only.
    #[serde(default)]
    pub verify_only: bool,
    /// Weakest acceptable verify result.
    #[serde(default = "default_verify")]
    pub verify_required: VerifyRequired,
    /// Needs the strongest model.
    #[serde(default)]
    pub requires_opus: bool,
    /// Repository override.
    #[serde(default)]
    #[schema(
        max_length = 500,
        pattern = "^(?:(?:[Hh][Tt][Tt][Pp][Ss]?|[Ss][Ss][Hh]|[Gg][Ii][Tt])://(?:[^\\s\\x00-\\x1f\\x7f-\\x9f/?#]*@)?[^\\s\\x00-\\x1f\\x7f-\\x9f/?#@:.][^\\s\\x00-\\x1f\\x7f-\\x9f/?#@]*(?:[/?#][^\\s\\x00-\\x1f\\x7f-\\x9f]*)?|[^\\s\\x00-\\x1f\\x7f-\\x9f@:]+@[^\\s\\x00-\\x1f\\x7f-\\x9f:/]+:[^\\s\\x00-\\x1f\\x7f-\\x9f:]+)$"
    )]
    pub repo_url: Option<String>,
    /// When it was created (kept on import).
    #[serde(default)]
    pub created_at: Option<DateTime<Utc>>,
}

pub(super) fn default_verify() -> VerifyRequired {
    VerifyRequired::AlignedOrPartial
}

/// A story log entry in an export.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExportLog {
    /// `implementation_plan`, `test_result` or `commit`.
    #[serde(rename = "type")]
    pub log_type: StoryLogType,
    /// The text.
    #[schema(max_length = 100000)]
    pub content: String,
    /// `passed`/`failed` for test results.
    #[serde(default)]
    pub status: Option<TestStatus>,
    /// Commit hash.
    #[serde(default)]
    pub commit_hash: Option<String>,
    /// Commit message.
    #[serde(default)]
    pub commit_message: Option<String>,
    /// Free JSON.
    #[serde(default)]
    pub metadata: Option<Value>,
    /// When it was logged (kept on import).
    #[serde(default)]
    pub created_at: Option<DateTime<Utc>>,
}

/// An export ready to download.
#[derive(Debug, Clone)]
pub struct ExportedFile {
    /// Suggested file name.
    pub filename: String,
    /// `application/json` or `text/csv; charset=utf-8`.
    pub content_type: &'static str,
    /// The file.
    pub body: String,
}

/// What an import created.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ImportResult {
    /// The new product.
    pub product: ProductView,
    /// Sprints created.
    pub sprints: u64,
    /// PBIs created.
    pub pbis: u64,
    /// Stories created.
    pub stories: u64,
    /// Tasks created.
    pub tasks: u64,
    /// Story log entries created.
    pub logs: u64,
    /// Things changed on the way in (renamed product, dropped assignees).
    pub warnings: Vec<String>,
}
