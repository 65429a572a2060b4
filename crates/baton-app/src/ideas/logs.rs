//! An idea's activity log: listing it, and the owner's (or their agent's)
//! decisions and notes, which the MCP tool `log_idea_decision` also writes.

use baton_domain::{ValidationErrors, ideas::IdeaLogType, validation::check_text};
use baton_store::{
    entities::{idea, idea_log},
    new_id, now,
    sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder},
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{ensure_not_archived, find_own};
use crate::{
    Actor, App, AppError, AppResult,
    backlog::{paginate, story_logs::check_metadata},
    list::{Page, PageParams},
    txn::in_user_txn,
};

/// Longest log entry text.
pub const MAX_LOG_CONTENT: usize = 4000;
/// Largest log metadata object, in bytes of JSON (as for story logs).
pub use crate::backlog::story_logs::MAX_METADATA_BYTES;

/// One idea log entry.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct IdeaLogView {
    /// Id (UUID v7).
    pub id: String,
    /// The idea.
    pub idea_id: String,
    /// What kind of entry it is.
    #[serde(rename = "type")]
    #[schema(rename = "type")]
    pub kind: IdeaLogType,
    /// The entry's text.
    pub content: String,
    /// Extra facts (e.g. `{errors}` of a plan that did not parse).
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<Value>,
    /// Written.
    pub created_at: DateTime<Utc>,
}

pub(super) fn log_view(m: idea_log::Model) -> AppResult<IdeaLogView> {
    Ok(IdeaLogView {
        kind: IdeaLogType::decode(&m.r#type, "idea_logs.type")?,
        id: m.id,
        idea_id: m.idea_id,
        content: m.content,
        metadata: m.metadata,
        created_at: m.created_at,
    })
}

/// The entry kinds a person or agent may write by hand.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum NoteType {
    /// A decision taken (e.g. while grilling).
    Decision,
    /// A free note.
    Note,
}

impl From<NoteType> for IdeaLogType {
    fn from(t: NoteType) -> Self {
        match t {
            NoteType::Decision => IdeaLogType::Decision,
            NoteType::Note => IdeaLogType::Note,
        }
    }
}

/// A decision or note for an idea's log.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewIdeaLog {
    /// `decision` (default) or `note`.
    #[serde(default, rename = "type")]
    #[schema(rename = "type")]
    pub kind: Option<NoteType>,
    /// The text, 1–4000 characters.
    #[schema(max_length = 4000, pattern = "\\S")]
    pub content: String,
    /// Extra facts as a JSON object (at most 16 KB of JSON).
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<Value>,
}

fn validate(input: &NewIdeaLog) -> Result<(), ValidationErrors> {
    let mut errs = ValidationErrors::new();
    check_text(&mut errs, "content", &input.content, 1, MAX_LOG_CONTENT);
    check_metadata(&mut errs, input.metadata.as_ref());
    errs.into_result()
}

/// Adds a log entry to an idea inside a transaction.
pub(crate) async fn add_log<C: ConnectionTrait>(
    db: &C,
    idea_id: &str,
    kind: IdeaLogType,
    content: String,
    metadata: Option<Value>,
) -> AppResult<idea_log::Model> {
    Ok(idea_log::ActiveModel {
        id: Set(new_id()),
        idea_id: Set(idea_id.to_string()),
        r#type: Set(kind.as_db().into()),
        content: Set(content),
        metadata: Set(metadata),
        created_at: Set(now()),
    }
    .insert(db)
    .await?)
}

impl App {
    /// An idea's log, oldest first, paginated.
    pub async fn list_idea_logs(
        &self,
        actor: &Actor,
        idea_ref: &str,
        params: PageParams,
    ) -> AppResult<Page<IdeaLogView>> {
        let m = find_own(&self.db, actor, idea_ref).await?;
        let q = idea_log::Entity::find()
            .filter(idea_log::Column::IdeaId.eq(&m.id))
            .order_by_asc(idea_log::Column::CreatedAt)
            .order_by_asc(idea_log::Column::Id);
        paginate(&self.db, q, params).await?.try_map(log_view)
    }

    /// Logs a decision (or note) on one of the caller's ideas.
    pub async fn log_idea_decision(&self, actor: &Actor, idea_ref: &str, input: NewIdeaLog) -> AppResult<IdeaLogView> {
        actor.require_write()?;
        let found = find_own(&self.db, actor, idea_ref).await?;
        validate(&input)?;
        let id = found.id.clone();
        let (m, log) = in_user_txn(&self.db, &actor.user_id, move |c| {
            Box::pin(async move {
                let m = idea::Entity::find_by_id(id).one(c).await?.ok_or(AppError::NotFound("idea"))?;
                ensure_not_archived(&m)?;
                let kind = input.kind.unwrap_or(NoteType::Decision).into();
                let metadata = input.metadata.filter(|v| !v.is_null());
                let log = add_log(c, &m.id, kind, input.content.trim().to_string(), metadata).await?;
                Ok((m, log))
            })
        })
        .await?;
        self.announce_idea(&m, "logged").await;
        log_view(log)
    }
}
