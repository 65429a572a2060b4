//! Export a product's whole backlog (JSON or CSV) and import a JSON export
//! into a new product.
//!
//! The JSON export is nested — product settings, sprints, then PBIs with
//! their stories, each story with its tasks and logs — and refers to other
//! items only by code (a story's `sprint_code`, its assignee's username),
//! never by id, so it can be imported anywhere. Every list is in its
//! natural order (sprints oldest first; PBIs, stories and tasks by
//! position; logs oldest first) and timestamps are kept, so
//! export → import → export gives the same document except `exported_at`
//! (and the product name when it had to be made unique).
//!
//! Import decisions:
//! - It always creates a NEW product owned by the caller. A name or code the
//!   caller already uses gets a suffix (` (imported)`, ` (imported 2)`, …;
//!   `-2`, `-3`, …) and a warning says so.
//! - Codes are kept as they are and the product's code counters move past
//!   them, so new items continue the numbering.
//! - A story assignee is kept only when it is the importing user (the new
//!   product has no members yet); others are left unassigned with a warning.
//! - Everything is validated before anything is written and written in one
//!   transaction: one bad row is a 422 naming its path
//!   (`pbis.0.stories.2.tasks.1.title`) and nothing is created.
//! - CSV is export-only: one row per item with a `type` column
//!   (`product`, `sprint`, `pbi`, `story`, `task`, `log`) and the parent
//!   codes.

use std::collections::{HashMap, HashSet};

use baton_domain::{
    ValidationErrors,
    access::ProductAccess,
    backlog::{PbiStatus, PrStrategy, SprintStatus, StoryLogType, StoryStatus, TaskStatus, TestStatus, VerifyRequired},
    codes::CodeKind,
    validation::check_text,
};
use baton_store::{
    Db,
    entities::{pbi, product, sprint, story, story_log, task, user},
    new_id, now,
    sea_orm::{
        ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait,
        QueryFilter, TransactionTrait,
    },
};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{
    MAX_CODE, MAX_NAME, NewProduct, ProductView, Settings, check_repo_url, context::by_position, owner_clashes,
    product_unique_error, product_view, readable_ref,
};
use crate::{Actor, App, AppError, AppResult, AuthVia, txn::note_code};

/// The `format` value of a Baton backlog export.
pub const EXPORT_FORMAT: &str = "baton-backlog";
/// The export format version this build writes and reads.
pub const EXPORT_VERSION: u32 = 1;
/// Rows per multi-row insert (keeps under SQLite's parameter limit).
const CHUNK: usize = 500;

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

fn default_strategy() -> PrStrategy {
    PrStrategy::SprintBatch
}

fn yes() -> bool {
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

fn default_verify() -> VerifyRequired {
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

fn ordered<T>(mut v: Vec<T>, key: impl Fn(&T) -> (f64, &DateTime<Utc>, &str)) -> Vec<T> {
    v.sort_by(|a, b| by_position(key(a), key(b)));
    v
}

fn group<T>(rows: Vec<T>, parent: impl Fn(&T) -> String) -> HashMap<String, Vec<T>> {
    let mut m: HashMap<String, Vec<T>> = HashMap::new();
    for r in rows {
        m.entry(parent(&r)).or_default().push(r);
    }
    m
}

async fn all_in<C, E, F>(db: &C, col: F, ids: &[String]) -> AppResult<Vec<E::Model>>
where
    C: ConnectionTrait,
    E: EntityTrait,
    F: ColumnTrait,
{
    let mut out = Vec::new();
    for chunk in ids.chunks(CHUNK) {
        out.extend(E::find().filter(col.is_in(chunk.to_vec())).all(db).await?);
    }
    Ok(out)
}

/// Reads a product's whole backlog into the export document.
async fn build_export<C: ConnectionTrait>(db: &C, p: product::Model) -> AppResult<BacklogExport> {
    let mut sprints = sprint::Entity::find().filter(sprint::Column::ProductId.eq(&p.id)).all(db).await?;
    sprints.sort_by(|a, b| a.created_at.cmp(&b.created_at).then_with(|| a.id.cmp(&b.id)));
    let sprint_codes: HashMap<String, String> = sprints.iter().map(|s| (s.id.clone(), s.code.clone())).collect();
    let pbis = ordered(pbi::Entity::find().filter(pbi::Column::ProductId.eq(&p.id)).all(db).await?, |x| {
        (x.sort_order, &x.created_at, &x.id)
    });
    let stories = story::Entity::find().filter(story::Column::ProductId.eq(&p.id)).all(db).await?;
    let tasks = task::Entity::find().filter(task::Column::ProductId.eq(&p.id)).all(db).await?;
    let story_ids: Vec<String> = stories.iter().map(|s| s.id.clone()).collect();
    let logs = all_in::<_, story_log::Entity, _>(db, story_log::Column::StoryId, &story_ids).await?;
    let mut assignee_ids: Vec<String> = stories.iter().filter_map(|s| s.assignee_id.clone()).collect();
    assignee_ids.sort();
    assignee_ids.dedup();
    let users: HashMap<String, String> = all_in::<_, user::Entity, _>(db, user::Column::Id, &assignee_ids)
        .await?
        .into_iter()
        .map(|u| (u.id, u.username))
        .collect();
    let mut stories_by_pbi = group(stories, |s| s.pbi_id.clone());
    let mut tasks_by_story = group(tasks, |t| t.story_id.clone());
    let mut logs_by_story = group(logs, |l| l.story_id.clone());
    let pbis = pbis
        .into_iter()
        .map(|b| {
            let stories =
                ordered(stories_by_pbi.remove(&b.id).unwrap_or_default(), |x| (x.sort_order, &x.created_at, &x.id));
            let stories = stories
                .into_iter()
                .map(|s| {
                    let tasks = ordered(tasks_by_story.remove(&s.id).unwrap_or_default(), |x| {
                        (x.sort_order, &x.created_at, &x.id)
                    });
                    let mut logs = logs_by_story.remove(&s.id).unwrap_or_default();
                    logs.sort_by(|a, b| a.created_at.cmp(&b.created_at).then_with(|| a.id.cmp(&b.id)));
                    ExportStory {
                        status: StoryStatus::from_db(&s.status).unwrap_or(StoryStatus::Open),
                        sprint_code: s.sprint_id.as_ref().and_then(|id| sprint_codes.get(id).cloned()),
                        assignee: s.assignee_id.as_ref().and_then(|id| users.get(id).cloned()),
                        code: s.code,
                        title: s.title,
                        description: s.description,
                        acceptance_criteria: s.acceptance_criteria,
                        priority: s.priority,
                        sort_order: s.sort_order,
                        epic_number: s.epic_number,
                        story_number: s.story_number,
                        created_at: Some(s.created_at),
                        tasks: tasks
                            .into_iter()
                            .map(|t| ExportTask {
                                status: TaskStatus::from_db(&t.status).unwrap_or(TaskStatus::ToDo),
                                verify_required: VerifyRequired::from_db(&t.verify_required)
                                    .unwrap_or(VerifyRequired::AlignedOrPartial),
                                code: t.code,
                                title: t.title,
                                description: t.description,
                                implementation_plan: t.implementation_plan,
                                priority: t.priority,
                                sort_order: t.sort_order,
                                verify_only: t.verify_only,
                                requires_opus: t.requires_opus,
                                repo_url: t.repo_url,
                                created_at: Some(t.created_at),
                            })
                            .collect(),
                        logs: logs
                            .into_iter()
                            .map(|l| ExportLog {
                                log_type: StoryLogType::from_db(&l.r#type).unwrap_or(StoryLogType::ImplementationPlan),
                                status: l.status.as_deref().and_then(TestStatus::from_db),
                                content: l.content,
                                commit_hash: l.commit_hash,
                                commit_message: l.commit_message,
                                metadata: l.metadata,
                                created_at: Some(l.created_at),
                            })
                            .collect(),
                    }
                })
                .collect();
            ExportPbi {
                status: PbiStatus::from_db(&b.status).unwrap_or(PbiStatus::Ready),
                code: b.code,
                title: b.title,
                description: b.description,
                priority: b.priority,
                sort_order: b.sort_order,
                pr_url: b.pr_url,
                pr_merged_at: b.pr_merged_at,
                epic_number: b.epic_number,
                created_at: Some(b.created_at),
                stories,
            }
        })
        .collect();
    Ok(BacklogExport {
        format: EXPORT_FORMAT.into(),
        version: EXPORT_VERSION,
        exported_at: Some(now()),
        product: ExportProduct {
            pr_strategy: PrStrategy::from_db(&p.pr_strategy).unwrap_or(PrStrategy::SprintBatch),
            name: p.name,
            code: p.code,
            description: p.description,
            repo_url: p.repo_url,
            definition_of_done: p.definition_of_done,
            auto_pr: p.auto_pr,
            preferred_model: p.preferred_model,
            thinking_budget_default: p.thinking_budget_default,
            preferred_permission_mode: p.preferred_permission_mode,
            auto_pr_review: p.auto_pr_review,
            auto_task_review: p.auto_task_review,
            auto_plan_review: p.auto_plan_review,
            auto_materialize_plan: p.auto_materialize_plan,
            auto_deploy: p.auto_deploy,
        },
        sprints: sprints
            .into_iter()
            .map(|s| ExportSprint {
                status: SprintStatus::from_db(&s.status).unwrap_or(SprintStatus::Open),
                code: s.code,
                sprint_goal: s.sprint_goal,
                start_date: s.start_date,
                end_date: s.end_date,
                completed_at: s.completed_at,
                created_at: Some(s.created_at),
            })
            .collect(),
        pbis,
    })
}

/// The CSV columns, in order.
pub const CSV_COLUMNS: &[&str] = &[
    "type",
    "code",
    "pbi_code",
    "story_code",
    "sprint_code",
    "title",
    "description",
    "acceptance_criteria",
    "implementation_plan",
    "definition_of_done",
    "priority",
    "sort_order",
    "status",
    "assignee",
    "start_date",
    "end_date",
    "completed_at",
    "verify_only",
    "verify_required",
    "requires_opus",
    "repo_url",
    "pr_url",
    "log_type",
    "commit_hash",
    "commit_message",
    "metadata",
    "created_at",
];

fn csv_field(out: &mut String, v: &str) {
    if v.contains([',', '"', '\n', '\r']) {
        out.push('"');
        out.push_str(&v.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(v);
    }
}

fn csv_row(out: &mut String, fields: &HashMap<&str, String>) {
    for (i, col) in CSV_COLUMNS.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        csv_field(out, fields.get(col).map(String::as_str).unwrap_or(""));
    }
    out.push_str("\r\n");
}

fn opt(v: &Option<String>) -> String {
    v.clone().unwrap_or_default()
}

fn ts(v: &Option<DateTime<Utc>>) -> String {
    v.map(|t| t.to_rfc3339()).unwrap_or_default()
}

/// The export as CSV: a header, then one row per item.
pub fn to_csv(e: &BacklogExport) -> String {
    let mut out = String::new();
    out.push_str(&CSV_COLUMNS.join(","));
    out.push_str("\r\n");
    let p = &e.product;
    csv_row(
        &mut out,
        &HashMap::from([
            ("type", "product".to_string()),
            ("code", opt(&p.code)),
            ("title", p.name.clone()),
            ("description", opt(&p.description)),
            ("definition_of_done", p.definition_of_done.clone()),
            ("repo_url", opt(&p.repo_url)),
        ]),
    );
    for s in &e.sprints {
        csv_row(
            &mut out,
            &HashMap::from([
                ("type", "sprint".to_string()),
                ("code", s.code.clone()),
                ("title", s.sprint_goal.clone()),
                ("status", s.status.as_api()),
                ("start_date", s.start_date.map(|d| d.to_string()).unwrap_or_default()),
                ("end_date", s.end_date.map(|d| d.to_string()).unwrap_or_default()),
                ("completed_at", ts(&s.completed_at)),
                ("created_at", ts(&s.created_at)),
            ]),
        );
    }
    for b in &e.pbis {
        csv_row(
            &mut out,
            &HashMap::from([
                ("type", "pbi".to_string()),
                ("code", b.code.clone()),
                ("title", b.title.clone()),
                ("description", opt(&b.description)),
                ("priority", b.priority.to_string()),
                ("sort_order", b.sort_order.to_string()),
                ("status", b.status.as_api()),
                ("pr_url", opt(&b.pr_url)),
                ("created_at", ts(&b.created_at)),
            ]),
        );
        for s in &b.stories {
            csv_row(
                &mut out,
                &HashMap::from([
                    ("type", "story".to_string()),
                    ("code", s.code.clone()),
                    ("pbi_code", b.code.clone()),
                    ("sprint_code", opt(&s.sprint_code)),
                    ("title", s.title.clone()),
                    ("description", opt(&s.description)),
                    ("acceptance_criteria", opt(&s.acceptance_criteria)),
                    ("priority", s.priority.to_string()),
                    ("sort_order", s.sort_order.to_string()),
                    ("status", s.status.as_api()),
                    ("assignee", opt(&s.assignee)),
                    ("created_at", ts(&s.created_at)),
                ]),
            );
            for t in &s.tasks {
                csv_row(
                    &mut out,
                    &HashMap::from([
                        ("type", "task".to_string()),
                        ("code", t.code.clone()),
                        ("pbi_code", b.code.clone()),
                        ("story_code", s.code.clone()),
                        ("sprint_code", opt(&s.sprint_code)),
                        ("title", t.title.clone()),
                        ("description", opt(&t.description)),
                        ("implementation_plan", opt(&t.implementation_plan)),
                        ("priority", t.priority.to_string()),
                        ("sort_order", t.sort_order.to_string()),
                        ("status", t.status.as_api()),
                        ("verify_only", t.verify_only.to_string()),
                        ("verify_required", t.verify_required.as_api()),
                        ("requires_opus", t.requires_opus.to_string()),
                        ("repo_url", opt(&t.repo_url)),
                        ("created_at", ts(&t.created_at)),
                    ]),
                );
            }
            for l in &s.logs {
                csv_row(
                    &mut out,
                    &HashMap::from([
                        ("type", "log".to_string()),
                        ("pbi_code", b.code.clone()),
                        ("story_code", s.code.clone()),
                        ("description", l.content.clone()),
                        ("status", l.status.map(|s| s.as_api()).unwrap_or_default()),
                        ("log_type", l.log_type.as_api()),
                        ("commit_hash", opt(&l.commit_hash)),
                        ("commit_message", opt(&l.commit_message)),
                        ("metadata", l.metadata.as_ref().map(Value::to_string).unwrap_or_default()),
                        ("created_at", ts(&l.created_at)),
                    ]),
                );
            }
        }
    }
    out
}

/// A file-name-safe slug of the product's code or name.
fn slug(p: &ExportProduct) -> String {
    let base = p.code.clone().unwrap_or_else(|| p.name.clone()).to_ascii_lowercase();
    let mut s: String = base.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '-' }).collect();
    while s.contains("--") {
        s = s.replace("--", "-");
    }
    let s = s.trim_matches('-').chars().take(60).collect::<String>();
    if s.is_empty() { "product".into() } else { s }
}

fn check_item_code(errs: &mut ValidationErrors, path: &str, code: &str, seen: &mut HashMap<String, String>) {
    let len = code.chars().count();
    if code.trim() != code || len == 0 || len > MAX_CODE {
        errs.add(path, format!("must be 1 to {MAX_CODE} characters without surrounding spaces"));
    } else if let Some(first) = seen.get(code) {
        errs.add(path, format!("`{code}` is used twice (also at {first})"));
    } else {
        seen.insert(code.to_string(), path.to_string());
    }
}

fn check_priority(errs: &mut ValidationErrors, path: &str, p: i32) {
    if !baton_domain::backlog::PRIORITY_RANGE.contains(&p) {
        errs.add(path, "must be between 1 and 4");
    }
}

fn check_sort(errs: &mut ValidationErrors, path: &str, v: f64) {
    if !v.is_finite() {
        errs.add(path, "must be a finite number");
    }
}

fn check_opt(errs: &mut ValidationErrors, path: &str, v: &Option<String>, max: usize) {
    if let Some(v) = v {
        check_text(errs, path, v, 0, max);
    }
}

/// Validates a whole export; every problem is named by its path.
fn validate(e: &BacklogExport, errs: &mut ValidationErrors) {
    if e.format != EXPORT_FORMAT {
        errs.add("format", format!("must be `{EXPORT_FORMAT}`"));
    }
    if e.version != EXPORT_VERSION {
        errs.add("version", format!("must be {EXPORT_VERSION} (this build reads version {EXPORT_VERSION} exports)"));
    }
    let mut sprint_codes = HashMap::new();
    for (i, s) in e.sprints.iter().enumerate() {
        let p = format!("sprints.{i}");
        check_item_code(errs, &format!("{p}.code"), &s.code, &mut sprint_codes);
        check_text(errs, &format!("{p}.sprint_goal"), &s.sprint_goal, 1, 500);
    }
    let (mut pbi_codes, mut story_codes, mut task_codes) = (HashMap::new(), HashMap::new(), HashMap::new());
    let mut epics = HashSet::new();
    let mut bmad = HashSet::new();
    for (i, b) in e.pbis.iter().enumerate() {
        let p = format!("pbis.{i}");
        check_item_code(errs, &format!("{p}.code"), &b.code, &mut pbi_codes);
        check_text(errs, &format!("{p}.title"), &b.title, 1, 200);
        check_opt(errs, &format!("{p}.description"), &b.description, 4000);
        check_priority(errs, &format!("{p}.priority"), b.priority);
        check_sort(errs, &format!("{p}.sort_order"), b.sort_order);
        check_opt(errs, &format!("{p}.pr_url"), &b.pr_url, 500);
        if let Some(n) = b.epic_number
            && !epics.insert(n)
        {
            errs.add(&format!("{p}.epic_number"), format!("epic {n} is used by two PBIs"));
        }
        for (j, s) in b.stories.iter().enumerate() {
            let p = format!("{p}.stories.{j}");
            check_item_code(errs, &format!("{p}.code"), &s.code, &mut story_codes);
            check_text(errs, &format!("{p}.title"), &s.title, 1, 200);
            check_opt(errs, &format!("{p}.description"), &s.description, 4000);
            check_opt(errs, &format!("{p}.acceptance_criteria"), &s.acceptance_criteria, 4000);
            check_priority(errs, &format!("{p}.priority"), s.priority);
            check_sort(errs, &format!("{p}.sort_order"), s.sort_order);
            if let Some(c) = &s.sprint_code
                && !sprint_codes.contains_key(c)
            {
                errs.add(&format!("{p}.sprint_code"), format!("no sprint `{c}` in this export"));
            }
            check_opt(errs, &format!("{p}.story_number"), &s.story_number, 20);
            if let (Some(ep), Some(sn)) = (s.epic_number, &s.story_number)
                && !bmad.insert((ep, sn.clone()))
            {
                errs.add(&format!("{p}.story_number"), format!("story {ep}.{sn} appears twice"));
            }
            for (k, t) in s.tasks.iter().enumerate() {
                let p = format!("{p}.tasks.{k}");
                check_item_code(errs, &format!("{p}.code"), &t.code, &mut task_codes);
                check_text(errs, &format!("{p}.title"), &t.title, 1, 200);
                check_opt(errs, &format!("{p}.description"), &t.description, 4000);
                check_opt(errs, &format!("{p}.implementation_plan"), &t.implementation_plan, 8000);
                check_priority(errs, &format!("{p}.priority"), t.priority);
                check_sort(errs, &format!("{p}.sort_order"), t.sort_order);
                if let Some(u) = &t.repo_url {
                    check_repo_url(errs, &format!("{p}.repo_url"), u);
                }
            }
            for (k, l) in s.logs.iter().enumerate() {
                let p = format!("{p}.logs.{k}");
                check_text(errs, &format!("{p}.content"), &l.content, 0, 100_000);
                match l.log_type {
                    StoryLogType::TestResult if l.status.is_none() => {
                        errs.add(&format!("{p}.status"), "is required for a test result (passed or failed)")
                    }
                    StoryLogType::TestResult => {}
                    _ if l.status.is_some() => errs.add(&format!("{p}.status"), "is only for test results"),
                    StoryLogType::Commit if l.commit_hash.as_deref().is_none_or(|h| h.trim().is_empty()) => {
                        errs.add(&format!("{p}.commit_hash"), "is required for a commit")
                    }
                    _ => {}
                }
            }
        }
    }
}

/// Suffixes `base` until `taken` says no, keeping within `max` characters.
async fn unique_variant<F, Fut>(base: &str, max: usize, suffix: impl Fn(u32) -> String, taken: F) -> AppResult<String>
where
    F: Fn(String) -> Fut,
    Fut: std::future::Future<Output = AppResult<bool>>,
{
    for n in 1..1000 {
        let s = suffix(n);
        let keep = max.saturating_sub(s.chars().count());
        let candidate = format!("{}{s}", base.chars().take(keep).collect::<String>());
        if !taken(candidate.clone()).await? {
            return Ok(candidate);
        }
    }
    Err(AppError::Conflict("could not find a free name for the imported product".into()))
}

async fn insert_chunks<A>(txn: &DatabaseTransaction, rows: Vec<A>) -> AppResult<()>
where
    A: ActiveModelTrait + Send,
{
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<A> = rows.by_ref().take(CHUNK).collect();
        <A::Entity as EntityTrait>::insert_many(chunk).exec_without_returning(txn).await?;
    }
    Ok(())
}

fn max_code(kind: CodeKind, codes: impl Iterator<Item = String>) -> Option<String> {
    codes.filter_map(|c| kind.number(&c)).max().map(|n| kind.format(n))
}

async fn write_import(
    db: &Db,
    owner: Actor,
    settings: Settings,
    e: BacklogExport,
) -> AppResult<(product::Model, [u64; 5])> {
    let txn = db.begin().await?;
    let res = write_import_in(&txn, owner, settings, e).await;
    match res {
        Ok(v) => {
            txn.commit().await?;
            Ok(v)
        }
        Err(err) => {
            txn.rollback().await?;
            Err(err)
        }
    }
}

async fn write_import_in(
    txn: &DatabaseTransaction,
    owner: Actor,
    settings: Settings,
    e: BacklogExport,
) -> AppResult<(product::Model, [u64; 5])> {
    let t = now();
    let p = settings
        .into_active(new_id(), &owner.user_id, t)
        .insert(txn)
        .await
        .map_err(|e| product_unique_error(e, "product."))?;
    let pid = p.id.clone();
    let mut counts = [0u64; 5];
    let mut sprint_ids = HashMap::new();
    let mut rows = Vec::new();
    for s in &e.sprints {
        let id = new_id();
        sprint_ids.insert(s.code.clone(), id.clone());
        rows.push(sprint::ActiveModel {
            id: Set(id),
            product_id: Set(pid.clone()),
            code: Set(s.code.clone()),
            sprint_goal: Set(s.sprint_goal.trim().to_string()),
            status: Set(s.status.as_db().into()),
            start_date: Set(s.start_date),
            end_date: Set(s.end_date),
            created_at: Set(s.created_at.unwrap_or(t)),
            updated_at: Set(t),
            completed_at: Set(s.completed_at),
        });
    }
    counts[0] = rows.len() as u64;
    insert_chunks(txn, rows).await?;
    let (mut pbis, mut stories, mut tasks, mut logs) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for b in &e.pbis {
        let bid = new_id();
        pbis.push(pbi::ActiveModel {
            id: Set(bid.clone()),
            product_id: Set(pid.clone()),
            code: Set(b.code.clone()),
            title: Set(b.title.trim().to_string()),
            description: Set(b.description.clone()),
            priority: Set(b.priority),
            sort_order: Set(b.sort_order),
            status: Set(b.status.as_db().into()),
            pr_url: Set(b.pr_url.clone()),
            pr_merged_at: Set(b.pr_merged_at),
            epic_number: Set(b.epic_number),
            created_at: Set(b.created_at.unwrap_or(t)),
            updated_at: Set(t),
        });
        for s in &b.stories {
            let sid = new_id();
            let sprint_id = s.sprint_code.as_ref().and_then(|c| sprint_ids.get(c).cloned());
            stories.push(story::ActiveModel {
                id: Set(sid.clone()),
                pbi_id: Set(bid.clone()),
                product_id: Set(pid.clone()),
                sprint_id: Set(sprint_id.clone()),
                assignee_id: Set(s.assignee.as_ref().filter(|u| **u == owner.username).map(|_| owner.user_id.clone())),
                code: Set(s.code.clone()),
                title: Set(s.title.trim().to_string()),
                description: Set(s.description.clone()),
                acceptance_criteria: Set(s.acceptance_criteria.clone()),
                priority: Set(s.priority),
                sort_order: Set(s.sort_order),
                status: Set(s.status.as_db().into()),
                epic_number: Set(s.epic_number),
                story_number: Set(s.story_number.clone()),
                workflow_status: Set(None),
                assigned_dev_id: Set(None),
                assigned_qa_id: Set(None),
                dev_pr_url: Set(None),
                dev_pr_number: Set(None),
                dev_pr_author: Set(None),
                story_file: Set(None),
                validated_at: Set(None),
                validated_by: Set(None),
                validation_score: Set(None),
                qa_gate_path: Set(None),
                qa_gate_status: Set(None),
                qa_reviewed_at: Set(None),
                qa_review_count: Set(0),
                created_at: Set(s.created_at.unwrap_or(t)),
                updated_at: Set(t),
            });
            for k in &s.tasks {
                tasks.push(task::ActiveModel {
                    id: Set(new_id()),
                    story_id: Set(sid.clone()),
                    product_id: Set(pid.clone()),
                    sprint_id: Set(sprint_id.clone()),
                    code: Set(k.code.clone()),
                    title: Set(k.title.trim().to_string()),
                    description: Set(k.description.clone()),
                    implementation_plan: Set(k.implementation_plan.clone()),
                    priority: Set(k.priority),
                    sort_order: Set(k.sort_order),
                    status: Set(k.status.as_db().into()),
                    verify_only: Set(k.verify_only),
                    verify_required: Set(k.verify_required.as_db().into()),
                    requires_opus: Set(k.requires_opus),
                    repo_url: Set(k.repo_url.clone()),
                    created_at: Set(k.created_at.unwrap_or(t)),
                    updated_at: Set(t),
                });
            }
            for l in &s.logs {
                logs.push(story_log::ActiveModel {
                    id: Set(new_id()),
                    story_id: Set(sid.clone()),
                    r#type: Set(l.log_type.as_db().into()),
                    content: Set(l.content.clone()),
                    status: Set(l.status.map(|s| s.as_db().to_string())),
                    commit_hash: Set(l.commit_hash.clone()),
                    commit_message: Set(l.commit_message.clone()),
                    metadata: Set(l.metadata.clone()),
                    created_at: Set(l.created_at.unwrap_or(t)),
                });
            }
        }
    }
    counts[1] = pbis.len() as u64;
    counts[2] = stories.len() as u64;
    counts[3] = tasks.len() as u64;
    counts[4] = logs.len() as u64;
    insert_chunks(txn, pbis).await?;
    insert_chunks(txn, stories).await?;
    insert_chunks(txn, tasks).await?;
    insert_chunks(txn, logs).await?;
    let highest = [
        (CodeKind::Sprint, max_code(CodeKind::Sprint, e.sprints.iter().map(|s| s.code.clone()))),
        (CodeKind::Pbi, max_code(CodeKind::Pbi, e.pbis.iter().map(|b| b.code.clone()))),
        (
            CodeKind::Story,
            max_code(CodeKind::Story, e.pbis.iter().flat_map(|b| b.stories.iter().map(|s| s.code.clone()))),
        ),
        (
            CodeKind::Task,
            max_code(
                CodeKind::Task,
                e.pbis.iter().flat_map(|b| b.stories.iter().flat_map(|s| s.tasks.iter().map(|t| t.code.clone()))),
            ),
        ),
    ];
    for (kind, code) in highest {
        if let Some(code) = code {
            note_code(txn, &pid, kind, &code).await?;
        }
    }
    let p = product::Entity::find_by_id(pid).one(txn).await?.ok_or(AppError::NotFound("product"))?;
    Ok((p, counts))
}

impl App {
    /// A product's whole backlog as an export document.
    pub async fn export_backlog(&self, actor: &Actor, product: &str) -> AppResult<BacklogExport> {
        let p = readable_ref(&self.db, actor, product).await?;
        build_export(&self.db, p).await
    }

    /// A product's whole backlog as a file in `format`, with a file name.
    pub async fn export_product(&self, actor: &Actor, product: &str, format: ExportFormat) -> AppResult<ExportedFile> {
        let e = self.export_backlog(actor, product).await?;
        let stem = format!("{}-backlog", slug(&e.product));
        Ok(match format {
            ExportFormat::Json => ExportedFile {
                filename: format!("{stem}.json"),
                content_type: "application/json",
                body: serde_json::to_string_pretty(&e).map_err(|err| AppError::Internal(err.to_string()))?,
            },
            ExportFormat::Csv => ExportedFile {
                filename: format!("{stem}.csv"),
                content_type: "text/csv; charset=utf-8",
                body: to_csv(&e),
            },
        })
    }

    /// Imports an export as a new product owned by the caller (see the
    /// module notes for the rules).
    pub async fn import_product(&self, actor: &Actor, e: BacklogExport) -> AppResult<ImportResult> {
        actor.require_write()?;
        if matches!(actor.via, AuthVia::Cli) {
            return Err(AppError::Forbidden("products are imported by a user (use the API)".into()));
        }
        let mut errs = ValidationErrors::new();
        validate(&e, &mut errs);
        let ep = e.product.clone();
        let mut settings = Settings::from_input(
            NewProduct {
                name: ep.name,
                code: ep.code,
                description: ep.description,
                repo_url: ep.repo_url,
                definition_of_done: ep.definition_of_done,
                auto_pr: Some(ep.auto_pr),
                pr_strategy: Some(ep.pr_strategy),
                preferred_model: ep.preferred_model,
                thinking_budget_default: ep.thinking_budget_default,
                preferred_permission_mode: ep.preferred_permission_mode,
                auto_pr_review: Some(ep.auto_pr_review),
                auto_task_review: Some(ep.auto_task_review),
                auto_plan_review: Some(ep.auto_plan_review),
                auto_materialize_plan: Some(ep.auto_materialize_plan),
                auto_deploy: Some(ep.auto_deploy),
            },
            "product.",
            &mut errs,
        );
        errs.into_result()?;
        let mut warnings = Vec::new();
        let db = &self.db;
        let uid = actor.user_id.clone();
        let (name_taken, _) = owner_clashes(db, &uid, None, Some(&settings.name), None).await?;
        if name_taken {
            let base = settings.name.clone();
            let name = unique_variant(
                &base,
                MAX_NAME,
                |n| if n == 1 { " (imported)".into() } else { format!(" (imported {n})") },
                |c| {
                    let uid = uid.clone();
                    async move { Ok(owner_clashes(db, &uid, None, Some(&c), None).await?.0) }
                },
            )
            .await?;
            warnings.push(format!("product.name: you already have a product named `{base}`; imported as `{name}`"));
            settings.name = name;
        }
        if let Some(code) = settings.code.clone()
            && owner_clashes(db, &uid, None, None, Some(&code)).await?.1
        {
            let new_code = unique_variant(
                &code,
                MAX_CODE,
                |n| format!("-{}", n + 1),
                |c| {
                    let uid = uid.clone();
                    async move { Ok(owner_clashes(db, &uid, None, None, Some(&c)).await?.1) }
                },
            )
            .await?;
            warnings.push(format!("product.code: you already use the code `{code}`; imported as `{new_code}`"));
            settings.code = Some(new_code);
        }
        for (i, b) in e.pbis.iter().enumerate() {
            for (j, s) in b.stories.iter().enumerate() {
                if let Some(a) = &s.assignee
                    && *a != actor.username
                {
                    warnings.push(format!(
                        "pbis.{i}.stories.{j}.assignee: `{a}` is not a member of the new product; left unassigned"
                    ));
                }
            }
        }
        let (p, [sprints, pbis, stories, tasks, logs]) = write_import(&self.db, actor.clone(), settings, e).await?;
        self.publish_product_event(&p.id, "imported").await;
        Ok(ImportResult { product: product_view(p, ProductAccess::Own), sprints, pbis, stories, tasks, logs, warnings })
    }
}
