//! `questions`: the agent → human question channel (seed `claude_questions`).

use sea_orm::entity::prelude::*;

/// One question from an agent.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "questions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    /// Exactly one of `story_id` and `idea_id` is set.
    pub story_id: Option<String>,
    pub task_id: Option<String>,
    pub idea_id: Option<String>,
    pub product_id: String,
    pub asked_by: String,
    pub question: String,
    /// JSON string array for multiple choice; `None` for free text.
    pub options: Option<Json>,
    /// `QuestionStatus`.
    pub status: String,
    pub answer: Option<String>,
    pub answered_by: Option<String>,
    pub answered_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub expires_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
