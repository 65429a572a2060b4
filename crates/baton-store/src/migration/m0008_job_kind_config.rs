//! Queue administration (issue 11):
//!
//! - `job_kind_configs`: per job kind, the model configuration an
//!   administrator sets (model, thinking budget, permission mode, allowed
//!   tools, max turns). The claim's config resolution uses it after the
//!   job's requested values and the product's preferences, before the
//!   built-in defaults (reference §3.4). One row per kind, the kind's db
//!   value as key; every setting nullable (null = not set here).
//! - `products.min_quota_pct`: a product's own quota floor; a worker whose
//!   last reported quota is below it does not claim the product's jobs.
//!   Null = each user's own `users.min_quota_pct`.

use sea_orm_migration::prelude::*;

use super::schema::{fk, int_null, json_null, string_null, ts};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0008_job_kind_config"
    }
}

fn t(s: &str) -> Alias {
    Alias::new(s)
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(t("job_kind_configs"))
                .col(ColumnDef::new(t("kind")).string_len(40).not_null().primary_key())
                .col(string_null(t("model"), 200))
                .col(int_null(t("thinking_budget")))
                .col(string_null(t("permission_mode"), 40))
                .col(json_null(t("allowed_tools")))
                .col(int_null(t("max_turns")))
                .col(ts(t("updated_at")))
                .col(ColumnDef::new(t("updated_by")).string_len(36).null())
                .foreign_key(&mut fk(t("job_kind_configs"), t("updated_by"), t("users"), ForeignKeyAction::SetNull))
                .to_owned(),
        )
        .await?;
        m.alter_table(Table::alter().table(t("products")).add_column(int_null(t("min_quota_pct"))).to_owned()).await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(Table::alter().table(t("products")).drop_column(t("min_quota_pct")).to_owned()).await?;
        m.drop_table(Table::drop().table(t("job_kind_configs")).to_owned()).await
    }
}
