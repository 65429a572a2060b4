//! Pinned plan and grill revisions (agent-backlog reference §3.8, §7.4).
//!
//! `doc_revisions`: every `grill_md` / `plan_md` an idea's owner (or their
//! agent) writes is also kept as an immutable revision in folder GRILLS or
//! PLANS of the idea's product, numbered 1, 2, … per idea and folder, under
//! the slug `<idea code lower>-grill|plan`. Revisions are never updated.
//! `pbi_docs`: which revisions a PBI was materialized from (roles PLAN and
//! GRILL), so the backlog item stays tied to the exact text it came from
//! even after the idea's plan changes.

use sea_orm_migration::prelude::*;

use super::schema::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0007_idea_docs"
    }
}

fn t(name: &str) -> Alias {
    Alias::new(name)
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(t("doc_revisions"))
                .col(pk(t("id")))
                .col(id_ref(t("product_id")))
                .col(id_ref(t("idea_id")))
                .col(enum_req(t("folder")))
                .col(string(t("slug"), 80))
                .col(ColumnDef::new(t("revision")).integer().not_null().to_owned())
                .col(text(t("content")))
                .col(id_ref_null(t("created_by")))
                .col(ts(t("created_at")))
                .foreign_key(&mut fk(t("doc_revisions"), t("product_id"), t("products"), ForeignKeyAction::Cascade))
                .foreign_key(&mut fk(t("doc_revisions"), t("idea_id"), t("ideas"), ForeignKeyAction::Cascade))
                .foreign_key(&mut fk(t("doc_revisions"), t("created_by"), t("users"), ForeignKeyAction::SetNull))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(t("pbi_docs"))
                .col(pk(t("id")))
                .col(id_ref(t("pbi_id")))
                .col(id_ref(t("revision_id")))
                .col(enum_req(t("role")))
                .col(ts(t("created_at")))
                .foreign_key(&mut fk(t("pbi_docs"), t("pbi_id"), t("pbis"), ForeignKeyAction::Cascade))
                .foreign_key(&mut fk(t("pbi_docs"), t("revision_id"), t("doc_revisions"), ForeignKeyAction::Cascade))
                .to_owned(),
        )
        .await?;
        create_indexes(
            m,
            vec![
                index("doc_revisions", &["idea_id", "folder", "revision"], true),
                index("doc_revisions", &["product_id", "folder", "slug"], false),
                index("pbi_docs", &["pbi_id", "role"], true),
                index("pbi_docs", &["revision_id"], false),
            ],
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(t("pbi_docs")).to_owned()).await?;
        m.drop_table(Table::drop().table(t("doc_revisions")).to_owned()).await
    }
}
