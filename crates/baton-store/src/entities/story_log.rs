//! `story_logs`: implementation plans, test results and commits logged on a story.

use sea_orm::entity::prelude::*;

/// One story log entry.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "story_logs")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub story_id: String,
    /// `StoryLogType`.
    pub r#type: String,
    pub content: String,
    /// `TestStatus`, for `TEST_RESULT` only.
    pub status: Option<String>,
    pub commit_hash: Option<String>,
    pub commit_message: Option<String>,
    pub metadata: Option<Json>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
