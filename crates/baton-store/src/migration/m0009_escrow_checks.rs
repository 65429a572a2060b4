//! Escrow verification on chain (issue 12, marketplace reference §5):
//!
//! - `release_approved_at`: when the work was accepted (QA PASS, story
//!   done, planning deliverable approved); a release can only be recorded
//!   after it.
//! - `rejected_at`: when the work was rejected (deliverable rejected, QA
//!   gate FAIL); an administrator may refund within 30 days after it.
//! - `refund_reason`: the administrator's reason for the refund.
//! - `check_*`: the last on-chain check of the transaction waiting for
//!   confirmation (funding, release or refund): when, what it found
//!   (free text), the confirmations seen, how many failed or unconfirmed
//!   checks in a row (the re-check backoff) and when to check again.

use sea_orm_migration::prelude::*;

use super::schema::{int, int_null, string_null, text_null, ts_null};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0009_escrow_checks"
    }
}

fn t(s: &str) -> Alias {
    Alias::new(s)
}

fn columns() -> Vec<ColumnDef> {
    vec![
        ts_null(t("release_approved_at")),
        ts_null(t("rejected_at")),
        text_null(t("refund_reason")),
        ts_null(t("checked_at")),
        string_null(t("check_result"), 500),
        int_null(t("check_confirmations")),
        int(t("check_attempts"), 0),
        ts_null(t("next_check_at")),
    ]
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite alters one column at a time.
        for mut col in columns() {
            m.alter_table(Table::alter().table(t("escrows")).add_column(&mut col).to_owned()).await?;
        }
        m.create_index(
            Index::create().name("idx_escrows_next_check_at").table(t("escrows")).col(t("next_check_at")).to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_index(Index::drop().name("idx_escrows_next_check_at").table(t("escrows")).to_owned()).await?;
        for name in [
            "release_approved_at",
            "rejected_at",
            "refund_reason",
            "checked_at",
            "check_result",
            "check_confirmations",
            "check_attempts",
            "next_check_at",
        ] {
            m.alter_table(Table::alter().table(t("escrows")).drop_column(t(name)).to_owned()).await?;
        }
        Ok(())
    }
}
