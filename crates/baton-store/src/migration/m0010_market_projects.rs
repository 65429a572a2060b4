//! Marketplace project settings (issue 12 "Projects and stages", reference
//! §4.1, §6.3):
//!
//! - `products.dev_budget_min` / `dev_budget_max`, `qa_budget_min` /
//!   `qa_budget_max` and `story_budget_currency`: the budget of the
//!   developer and QA opportunities the platform opens per story, in
//!   hundredths of the currency's display unit (defaults from the
//!   reference's suggested ranges: developer 500–1500, QA 100–200 USDC).
//! - `products.concerns_policy` (`REWORK` | `PROCEED`): what a QA gate of
//!   CONCERNS does to a story (back to rework by default).
//! - `products.validation_threshold`: the readiness score (1–10) a story
//!   needs to be approved (8 by default, §6.3).
//! - `stories.can_start_in_parallel`: the client's exemption from the
//!   sequential rule of §4.1 (story N+1 hidden until story N is done).
//!
//! One column per ALTER statement: SQLite takes only one.

use sea_orm_migration::prelude::*;

use super::schema::{big, boolean, enum_col, int};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0010_market_projects"
    }
}

fn t(s: &str) -> Alias {
    Alias::new(s)
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for col in [
            big(t("dev_budget_min"), 50_000),
            big(t("dev_budget_max"), 150_000),
            big(t("qa_budget_min"), 10_000),
            big(t("qa_budget_max"), 20_000),
            enum_col(t("story_budget_currency"), "USDC"),
            enum_col(t("concerns_policy"), "REWORK"),
            int(t("validation_threshold"), 8),
        ] {
            m.alter_table(Table::alter().table(t("products")).add_column(col).to_owned()).await?;
        }
        m.alter_table(
            Table::alter().table(t("stories")).add_column(boolean(t("can_start_in_parallel"), false)).to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(Table::alter().table(t("stories")).drop_column(t("can_start_in_parallel")).to_owned()).await?;
        for col in [
            "validation_threshold",
            "concerns_policy",
            "story_budget_currency",
            "qa_budget_max",
            "qa_budget_min",
            "dev_budget_max",
            "dev_budget_min",
        ] {
            m.alter_table(Table::alter().table(t("products")).drop_column(t(col)).to_owned()).await?;
        }
        Ok(())
    }
}
