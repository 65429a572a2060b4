//! Marketplace story workflow (issue 12, "Stories, BMAD and QA"): what a
//! validation and a QA review leave on the story besides its status.
//!
//! - `stories.validation_decision`: the GO / NO_GO of the last recorded
//!   validation (beside `validation_score`), so a NO_GO 9 is not read as an
//!   approval.
//! - `stories.qa_quality_score`: the QA gate's quality score 0–100 (BMAD
//!   `quality_score`), null when not given.
//! - `stories.qa_notes`: the notes of the last QA review.

use sea_orm_migration::prelude::*;

use super::schema::{enum_null, int_null, text_null};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0011_story_workflow"
    }
}

fn t(s: &str) -> Alias {
    Alias::new(s)
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite adds one column per ALTER TABLE.
        m.alter_table(Table::alter().table(t("stories")).add_column(enum_null(t("validation_decision"))).to_owned())
            .await?;
        m.alter_table(Table::alter().table(t("stories")).add_column(int_null(t("qa_quality_score"))).to_owned())
            .await?;
        m.alter_table(Table::alter().table(t("stories")).add_column(text_null(t("qa_notes"))).to_owned()).await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for col in ["qa_notes", "qa_quality_score", "validation_decision"] {
            m.alter_table(Table::alter().table(t("stories")).drop_column(t(col)).to_owned()).await?;
        }
        Ok(())
    }
}
