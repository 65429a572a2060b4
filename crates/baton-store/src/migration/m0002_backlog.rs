//! The backlog: sprints, product backlog items, stories (with the BMAD and
//! marketplace workflow fields of the marketplace `Story`), story logs and
//! tasks.

use sea_orm_migration::prelude::*;

use super::schema::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0002_backlog"
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
                .table(t("sprints"))
                .col(pk(t("id")))
                .col(id_ref(t("product_id")))
                .col(string(t("code"), 30))
                .col(string(t("sprint_goal"), 500))
                .col(enum_col(t("status"), "OPEN"))
                .col(date_null(t("start_date")))
                .col(date_null(t("end_date")))
                .col(ts(t("created_at")))
                .col(ts(t("updated_at")))
                .col(ts_null(t("completed_at")))
                .foreign_key(&mut fk(t("sprints"), t("product_id"), t("products"), ForeignKeyAction::Cascade))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(t("pbis"))
                .col(pk(t("id")))
                .col(id_ref(t("product_id")))
                .col(string(t("code"), 30))
                .col(string(t("title"), 200))
                .col(text_null(t("description")))
                .col(int(t("priority"), 2))
                .col(double(t("sort_order")))
                .col(enum_col(t("status"), "READY"))
                .col(text_null(t("pr_url")))
                .col(ts_null(t("pr_merged_at")))
                // A marketplace/BMAD epic is a PBI; its number, when it has one.
                .col(int_null(t("epic_number")))
                .col(ts(t("created_at")))
                .col(ts(t("updated_at")))
                .foreign_key(&mut fk(t("pbis"), t("product_id"), t("products"), ForeignKeyAction::Cascade))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(t("stories"))
                .col(pk(t("id")))
                .col(id_ref(t("pbi_id")))
                .col(id_ref(t("product_id")))
                .col(id_ref_null(t("sprint_id")))
                .col(id_ref_null(t("assignee_id")))
                .col(string(t("code"), 30))
                .col(string(t("title"), 200))
                .col(text_null(t("description")))
                .col(text_null(t("acceptance_criteria")))
                .col(int(t("priority"), 2))
                .col(double(t("sort_order")))
                .col(enum_col(t("status"), "OPEN"))
                // BMAD story `{epic}.{story}`; the story part keeps letter
                // suffixes (`11b`, `2B1`) that real repositories use.
                .col(int_null(t("epic_number")))
                .col(string_null(t("story_number"), 20))
                // Marketplace workflow (Prisma `Story`); NULL for plain backlog stories.
                .col(enum_null(t("workflow_status")))
                .col(id_ref_null(t("assigned_dev_id")))
                .col(id_ref_null(t("assigned_qa_id")))
                .col(text_null(t("dev_pr_url")))
                .col(int_null(t("dev_pr_number")))
                .col(string_null(t("dev_pr_author"), 100))
                .col(text_null(t("story_file")))
                .col(ts_null(t("validated_at")))
                .col(id_ref_null(t("validated_by")))
                .col(int_null(t("validation_score")))
                .col(text_null(t("qa_gate_path")))
                .col(enum_null(t("qa_gate_status")))
                .col(ts_null(t("qa_reviewed_at")))
                .col(int(t("qa_review_count"), 0))
                .col(ts(t("created_at")))
                .col(ts(t("updated_at")))
                .foreign_key(&mut fk(t("stories"), t("pbi_id"), t("pbis"), ForeignKeyAction::Cascade))
                .foreign_key(&mut fk(t("stories"), t("product_id"), t("products"), ForeignKeyAction::Cascade))
                .foreign_key(&mut fk(t("stories"), t("sprint_id"), t("sprints"), ForeignKeyAction::SetNull))
                .foreign_key(&mut fk(t("stories"), t("assignee_id"), t("users"), ForeignKeyAction::SetNull))
                .foreign_key(&mut fk(t("stories"), t("assigned_dev_id"), t("users"), ForeignKeyAction::SetNull))
                .foreign_key(&mut fk(t("stories"), t("assigned_qa_id"), t("users"), ForeignKeyAction::SetNull))
                .foreign_key(&mut fk(t("stories"), t("validated_by"), t("users"), ForeignKeyAction::SetNull))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(t("story_logs"))
                .col(pk(t("id")))
                .col(id_ref(t("story_id")))
                .col(enum_req(t("type")))
                .col(text(t("content")))
                .col(enum_null(t("status")))
                .col(string_null(t("commit_hash"), 64))
                .col(text_null(t("commit_message")))
                .col(json_null(t("metadata")))
                .col(ts(t("created_at")))
                .foreign_key(&mut fk(t("story_logs"), t("story_id"), t("stories"), ForeignKeyAction::Cascade))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(t("tasks"))
                .col(pk(t("id")))
                .col(id_ref(t("story_id")))
                .col(id_ref(t("product_id")))
                .col(id_ref_null(t("sprint_id")))
                .col(string(t("code"), 30))
                .col(string(t("title"), 200))
                .col(text_null(t("description")))
                .col(text_null(t("implementation_plan")))
                .col(int(t("priority"), 2))
                .col(double(t("sort_order")))
                .col(enum_col(t("status"), "TO_DO"))
                .col(boolean(t("verify_only"), false))
                .col(enum_col(t("verify_required"), "ALIGNED_OR_PARTIAL"))
                .col(boolean(t("requires_opus"), false))
                .col(text_null(t("repo_url")))
                .col(ts(t("created_at")))
                .col(ts(t("updated_at")))
                .foreign_key(&mut fk(t("tasks"), t("story_id"), t("stories"), ForeignKeyAction::Cascade))
                .foreign_key(&mut fk(t("tasks"), t("product_id"), t("products"), ForeignKeyAction::Cascade))
                .foreign_key(&mut fk(t("tasks"), t("sprint_id"), t("sprints"), ForeignKeyAction::SetNull))
                .to_owned(),
        )
        .await?;

        create_indexes(
            m,
            vec![
                index("sprints", &["product_id", "code"], true),
                index("sprints", &["product_id", "status"], false),
                index("pbis", &["product_id", "code"], true),
                index("pbis", &["product_id", "epic_number"], true),
                index("pbis", &["product_id", "priority", "sort_order"], false),
                index("pbis", &["product_id", "status"], false),
                index("stories", &["product_id", "code"], true),
                index("stories", &["product_id", "epic_number", "story_number"], true),
                index("stories", &["pbi_id", "priority", "sort_order"], false),
                index("stories", &["sprint_id", "sort_order"], false),
                index("stories", &["product_id", "status"], false),
                index("stories", &["sprint_id", "assignee_id"], false),
                index("stories", &["assignee_id"], false),
                index("stories", &["assigned_dev_id"], false),
                index("stories", &["assigned_qa_id"], false),
                index("stories", &["workflow_status"], false),
                index("stories", &["epic_number"], false),
                index("story_logs", &["story_id", "created_at"], false),
                index("tasks", &["product_id", "code"], true),
                index("tasks", &["story_id", "priority", "sort_order"], false),
                index("tasks", &["sprint_id", "status"], false),
            ],
        )
        .await
    }
}
