//! What the story routes answer.

use std::collections::HashMap;

use baton_domain::{
    backlog::StoryStatus,
    marketplace::{
        QaGateStatus, WorkflowStatus,
        workflow::{StoryNumber, ValidationDecision},
    },
};
use baton_store::{
    entities::{story, story_audit_log, user},
    sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter},
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{AppError, AppResult};

/// A user taking part in a story.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PartyView {
    /// User id.
    pub id: String,
    /// Login name.
    pub username: String,
}

/// A marketplace story as the story routes return it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct MarketStoryView {
    /// Id (UUID v7).
    pub id: String,
    /// The project (product).
    pub product_id: String,
    /// The epic's PBI.
    pub pbi_id: String,
    /// Backlog code `ST-NNN`.
    pub code: String,
    /// BMAD key `epic.story`, e.g. `3.1`.
    pub number: String,
    /// Epic number.
    pub epic_number: i32,
    /// Story part of the number (`1`, `2b`).
    pub story_number: String,
    /// Title.
    pub title: String,
    /// Description.
    pub description: Option<String>,
    /// Acceptance criteria.
    pub acceptance_criteria: Option<String>,
    /// Workflow state.
    pub workflow_status: WorkflowStatus,
    /// Backlog status, derived from the workflow state.
    pub status: StoryStatus,
    /// Last validation score, 1–10.
    pub validation_score: Option<i32>,
    /// Last validation decision.
    pub validation_decision: Option<ValidationDecision>,
    /// When the last validation was recorded.
    pub validated_at: Option<DateTime<Utc>>,
    /// Who recorded it (user id).
    pub validated_by: Option<String>,
    /// Last QA gate: pass | concerns | fail | waived | null.
    pub qa_gate: Option<QaGateStatus>,
    /// Quality score 0–100 of the last gate.
    pub qa_quality_score: Option<i32>,
    /// QA reviews so far (approvals included).
    pub qa_review_count: i32,
    /// When QA last reviewed.
    pub qa_reviewed_at: Option<DateTime<Utc>>,
    /// Notes of the last QA review.
    pub qa_notes: Option<String>,
    /// Repository path of the BMAD story file.
    pub story_file: Option<String>,
    /// Repository path of the QA gate file.
    pub qa_gate_path: Option<String>,
    /// The developer's pull request.
    pub dev_pr_url: Option<String>,
    /// Its number.
    pub dev_pr_number: Option<i32>,
    /// The assigned developer.
    pub assigned_dev: Option<PartyView>,
    /// The assigned QA reviewer.
    pub assigned_qa: Option<PartyView>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

/// One audit entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AuditEntryView {
    /// Id.
    pub id: String,
    /// Who (null = the platform).
    pub user: Option<PartyView>,
    /// STATUS_CHANGED, VALIDATED, PR_LINKED, GATE_UPDATED, MERGED, ESCROW_RELEASED, CREATED, UPDATED.
    pub action: String,
    /// Workflow state before.
    pub from_status: Option<WorkflowStatus>,
    /// Workflow state after.
    pub to_status: Option<WorkflowStatus>,
    /// Details (score, gate, PR, opportunity ids…).
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<Value>,
    /// When.
    pub created_at: DateTime<Utc>,
}

/// A story with its audit trail, oldest entry first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct MarketStoryDetail {
    /// The story.
    pub story: MarketStoryView,
    /// Its audit log.
    pub audit: Vec<AuditEntryView>,
}

/// Login names of these users.
pub(crate) async fn usernames<C: ConnectionTrait>(c: &C, mut ids: Vec<String>) -> AppResult<HashMap<String, String>> {
    ids.sort();
    ids.dedup();
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    Ok(user::Entity::find()
        .filter(user::Column::Id.is_in(ids))
        .all(c)
        .await?
        .into_iter()
        .map(|u| (u.id, u.username))
        .collect())
}

fn party(names: &HashMap<String, String>, id: Option<String>) -> Option<PartyView> {
    id.map(|id| PartyView { username: names.get(&id).cloned().unwrap_or_default(), id })
}

/// The view of a marketplace story row (`workflow_status` set).
pub(crate) fn view(m: story::Model, names: &HashMap<String, String>) -> AppResult<MarketStoryView> {
    let workflow_status = m
        .workflow_status
        .as_deref()
        .map(|w| WorkflowStatus::decode(w, "stories.workflow_status"))
        .transpose()?
        .ok_or_else(|| AppError::internal("not a marketplace story"))?;
    let epic_number = m.epic_number.ok_or_else(|| AppError::internal("marketplace story without epic number"))?;
    let story_number = m.story_number.clone().unwrap_or_default();
    Ok(MarketStoryView {
        number: StoryNumber { epic: epic_number, story: story_number.clone() }.number(),
        epic_number,
        story_number,
        workflow_status,
        status: StoryStatus::decode(&m.status, "stories.status")?,
        validation_decision: m
            .validation_decision
            .as_deref()
            .map(|d| ValidationDecision::decode(d, "stories.validation_decision"))
            .transpose()?,
        qa_gate: m.qa_gate_status.as_deref().map(|g| QaGateStatus::decode(g, "stories.qa_gate_status")).transpose()?,
        assigned_dev: party(names, m.assigned_dev_id),
        assigned_qa: party(names, m.assigned_qa_id),
        id: m.id,
        product_id: m.product_id,
        pbi_id: m.pbi_id,
        code: m.code,
        title: m.title,
        description: m.description,
        acceptance_criteria: m.acceptance_criteria,
        validation_score: m.validation_score,
        validated_at: m.validated_at,
        validated_by: m.validated_by,
        qa_quality_score: m.qa_quality_score,
        qa_review_count: m.qa_review_count,
        qa_reviewed_at: m.qa_reviewed_at,
        qa_notes: m.qa_notes,
        story_file: m.story_file,
        qa_gate_path: m.qa_gate_path,
        dev_pr_url: m.dev_pr_url,
        dev_pr_number: m.dev_pr_number,
        created_at: m.created_at,
        updated_at: m.updated_at,
    })
}

/// Views of several rows, with one user lookup.
pub(crate) async fn views<C: ConnectionTrait>(c: &C, rows: Vec<story::Model>) -> AppResult<Vec<MarketStoryView>> {
    let names = usernames(
        c,
        rows.iter().flat_map(|s| [s.assigned_dev_id.clone(), s.assigned_qa_id.clone()]).flatten().collect(),
    )
    .await?;
    rows.into_iter().map(|s| view(s, &names)).collect()
}

/// The audit entries' views.
pub(crate) async fn audit_views<C: ConnectionTrait>(
    c: &C,
    rows: Vec<story_audit_log::Model>,
) -> AppResult<Vec<AuditEntryView>> {
    let ids: Vec<String> = rows.iter().filter_map(|a| a.user_id.clone()).collect();
    let names = usernames(c, ids).await?;
    let status = |s: Option<String>, col| s.as_deref().map(|v| WorkflowStatus::decode(v, col)).transpose();
    rows.into_iter()
        .map(|a| {
            Ok(AuditEntryView {
                user: party(&names, a.user_id),
                from_status: status(a.from_status, "story_audit_logs.from_status")?,
                to_status: status(a.to_status, "story_audit_logs.to_status")?,
                id: a.id,
                action: a.action,
                metadata: a.metadata,
                created_at: a.created_at,
            })
        })
        .collect()
}

/// Sort key of a story number: epic, then the story's digits numerically, then its suffix.
pub(crate) fn number_key(s: &story::Model) -> (i32, u64, String) {
    let part = s.story_number.as_deref().unwrap_or_default();
    let digits: String = part.chars().take_while(char::is_ascii_digit).collect();
    (s.epic_number.unwrap_or_default(), digits.parse().unwrap_or(u64::MAX), part[digits.len()..].to_string())
}
