//! Story logs: what agents record on a story while they work — the plan
//! they followed, test runs (passed/failed) and commits — with optional
//! JSON metadata. Listed newest first.

use baton_domain::{
    ValidationErrors,
    backlog::{StoryLogType, TestStatus},
    validation::check_text,
};
use baton_store::{
    entities::story_log,
    error::ResultExt,
    events::{Event, kinds},
    new_id, now,
    sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder},
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{paginate, parse_status, refs};
use crate::{
    Actor, App, AppError, AppResult, access,
    list::{Page, PageParams},
    products,
    txn::in_product_txn,
};

/// Longest log content, in characters.
pub const MAX_CONTENT: usize = 50_000;
/// Longest commit message, in characters.
pub const MAX_COMMIT_MESSAGE: usize = 4000;
/// Largest metadata object, in bytes of JSON.
pub const MAX_METADATA_BYTES: usize = 16 * 1024;

/// A story log entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct StoryLogView {
    /// Id (UUID v7).
    pub id: String,
    /// The story it belongs to.
    pub story_id: String,
    /// implementation_plan | test_result | commit.
    #[serde(rename = "type")]
    #[schema(rename = "type")]
    pub kind: StoryLogType,
    /// The text logged.
    pub content: String,
    /// passed | failed (test results only).
    pub status: Option<TestStatus>,
    /// Commit hash (commits only).
    pub commit_hash: Option<String>,
    /// Commit message (commits only).
    pub commit_message: Option<String>,
    /// Free-form JSON object given by the logger.
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<Value>,
    /// When it was logged.
    pub created_at: DateTime<Utc>,
}

/// The API form of a story log row.
pub fn story_log_view(m: story_log::Model) -> AppResult<StoryLogView> {
    Ok(StoryLogView {
        kind: StoryLogType::decode(&m.r#type, "story_logs.type")?,
        status: m.status.as_deref().map(|s| TestStatus::decode(s, "story_logs.status")).transpose()?,
        id: m.id,
        story_id: m.story_id,
        content: m.content,
        commit_hash: m.commit_hash,
        commit_message: m.commit_message,
        metadata: m.metadata,
        created_at: m.created_at,
    })
}

/// A new story log entry.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewStoryLog {
    /// implementation_plan | test_result | commit.
    #[serde(rename = "type")]
    #[schema(rename = "type")]
    pub kind: StoryLogType,
    /// What to log (1–50000 characters).
    #[schema(min_length = 1, max_length = 50000, pattern = "\\S")]
    pub content: String,
    /// passed | failed; required for test_result, refused otherwise.
    #[serde(default)]
    pub status: Option<TestStatus>,
    /// 7–64 hex digits; required for commit, refused otherwise.
    #[serde(default)]
    #[schema(min_length = 7, max_length = 64, pattern = "^[0-9A-Fa-f]+$")]
    pub commit_hash: Option<String>,
    /// Required for commit (≤ 4000 characters), refused otherwise.
    #[serde(default)]
    #[schema(max_length = 4000, pattern = "\\S")]
    pub commit_message: Option<String>,
    /// Optional JSON object (≤ 16 KiB).
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<Value>,
}

/// Which log entries to list.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StoryLogFilter {
    /// Only this type: implementation_plan | test_result | commit.
    #[serde(rename = "type")]
    #[param(rename = "type", value_type = Option<baton_domain::backlog::StoryLogType>, inline)]
    pub kind: Option<String>,
}

fn validate(input: &NewStoryLog) -> Result<(), ValidationErrors> {
    let mut errs = ValidationErrors::new();
    check_text(&mut errs, "content", &input.content, 1, MAX_CONTENT);
    let is_test = input.kind == StoryLogType::TestResult;
    let is_commit = input.kind == StoryLogType::Commit;
    match (&input.status, is_test) {
        (None, true) => errs.add("status", "is required for a test_result: passed or failed"),
        (Some(_), false) => errs.add("status", "only goes with type test_result"),
        _ => {}
    }
    match (input.commit_hash.as_deref(), is_commit) {
        (None, true) => errs.add("commit_hash", "is required for a commit"),
        (Some(h), true) => {
            let h = h.trim();
            if !(7..=64).contains(&h.len()) || !h.bytes().all(|b| b.is_ascii_hexdigit()) {
                errs.add("commit_hash", "must be 7 to 64 hexadecimal digits");
            }
        }
        (Some(_), false) => errs.add("commit_hash", "only goes with type commit"),
        (None, false) => {}
    }
    match (input.commit_message.as_deref(), is_commit) {
        (None, true) => errs.add("commit_message", "is required for a commit"),
        (Some(m), true) => check_text(&mut errs, "commit_message", m, 1, MAX_COMMIT_MESSAGE),
        (Some(_), false) => errs.add("commit_message", "only goes with type commit"),
        (None, false) => {}
    }
    check_metadata(&mut errs, input.metadata.as_ref());
    errs.into_result()
}

/// Log metadata: absent, `null` or a JSON object of at most
/// [`MAX_METADATA_BYTES`] (story and idea logs alike).
pub(crate) fn check_metadata(errs: &mut ValidationErrors, metadata: Option<&Value>) {
    match metadata {
        None | Some(Value::Null) => {}
        Some(v @ Value::Object(_)) => {
            if v.to_string().len() > MAX_METADATA_BYTES {
                errs.add("metadata", format!("must be at most {MAX_METADATA_BYTES} bytes of JSON"));
            }
        }
        Some(_) => errs.add("metadata", "must be a JSON object"),
    }
}

impl App {
    /// Appends a log entry to a story.
    pub async fn add_story_log(&self, actor: &Actor, story_ref: &str, input: NewStoryLog) -> AppResult<StoryLogView> {
        let s = refs::resolve_story(&self.db, actor, story_ref).await?;
        access::writable(&self.db, actor, &s.product_id).await?;
        validate(&input)?;
        let pid = s.product_id.clone();
        let story_id = s.id.clone();
        let row = in_product_txn(&self.db, &s.product_id, move |c| {
            Box::pin(async move {
                products::ensure_not_archived_in(c, &pid).await?;
                story_log::ActiveModel {
                    id: Set(new_id()),
                    story_id: Set(story_id),
                    r#type: Set(input.kind.as_db().into()),
                    content: Set(input.content.trim().to_string()),
                    status: Set(input.status.map(|s| s.as_db().to_string())),
                    commit_hash: Set(input.commit_hash.map(|h| h.trim().to_ascii_lowercase())),
                    commit_message: Set(input.commit_message.map(|m| m.trim().to_string())),
                    metadata: Set(input.metadata.filter(|m| !m.is_null())),
                    created_at: Set(now()),
                }
                .insert(c)
                .await
                // The story was deleted since it was resolved.
                .on_foreign_key(|| AppError::NotFound("story"))
            })
        })
        .await?;
        let data = json!({ "story_id": row.story_id, "action": "logged", "log_id": row.id, "type": row.r#type.to_lowercase() });
        self.announce(Event::new(kinds::STORY_CHANGED).for_product(&s.product_id).with_data(data)).await;
        story_log_view(row)
    }

    /// A story's log entries, newest first.
    pub async fn list_story_logs(
        &self,
        actor: &Actor,
        story_ref: &str,
        filter: StoryLogFilter,
        params: PageParams,
    ) -> AppResult<Page<StoryLogView>> {
        let s = refs::resolve_story(&self.db, actor, story_ref).await?;
        let kind = parse_status(filter.kind.as_deref(), "type", StoryLogType::parse_api, StoryLogType::api_values)?;
        let mut q = story_log::Entity::find().filter(story_log::Column::StoryId.eq(&s.id));
        if let Some(k) = kind {
            q = q.filter(story_log::Column::Type.eq(k.as_db()));
        }
        let q = q.order_by_desc(story_log::Column::CreatedAt).order_by_desc(story_log::Column::Id);
        paginate(&self.db, q, params).await?.try_map(story_log_view)
    }
}
