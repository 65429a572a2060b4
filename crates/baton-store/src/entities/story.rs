//! `stories`: backlog stories, which are also the marketplace's BMAD stories
//! (`epic_number`.`story_number`, workflow status, PR, validation and QA gate).

use sea_orm::entity::prelude::*;

/// A story.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "stories")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub pbi_id: String,
    /// Denormalised from the PBI.
    pub product_id: String,
    /// `None` = in the product backlog.
    pub sprint_id: Option<String>,
    pub assignee_id: Option<String>,
    /// `ST-NNN`, unique per product.
    pub code: String,
    pub title: String,
    pub description: Option<String>,
    pub acceptance_criteria: Option<String>,
    pub priority: i32,
    pub sort_order: f64,
    /// Backlog `StoryStatus`.
    pub status: String,
    pub epic_number: Option<i32>,
    /// Story part of a BMAD `{epic}.{story}` key, e.g. `3` or `11b`.
    pub story_number: Option<String>,
    /// Marketplace `WorkflowStatus`; `None` for plain backlog stories.
    pub workflow_status: Option<String>,
    pub assigned_dev_id: Option<String>,
    pub assigned_qa_id: Option<String>,
    pub dev_pr_url: Option<String>,
    pub dev_pr_number: Option<i32>,
    pub dev_pr_author: Option<String>,
    /// Repository path of the BMAD story file.
    pub story_file: Option<String>,
    pub validated_at: Option<DateTimeUtc>,
    pub validated_by: Option<String>,
    /// Readiness score 1–10.
    pub validation_score: Option<i32>,
    pub qa_gate_path: Option<String>,
    /// `QaGateStatus`.
    pub qa_gate_status: Option<String>,
    pub qa_reviewed_at: Option<DateTimeUtc>,
    pub qa_review_count: i32,
    /// `ValidationDecision` of the last validation (GO / NO_GO).
    pub validation_decision: Option<String>,
    /// QA gate quality score 0–100.
    pub qa_quality_score: Option<i32>,
    /// Notes of the last QA review.
    pub qa_notes: Option<String>,
    /// The client exempted this story from the sequential rule (§4.1).
    pub can_start_in_parallel: bool,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
