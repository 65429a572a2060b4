//! Accounts and products: users, roles, browser sessions, API tokens and
//! their product scope, login attempts (rate limiting shared by all
//! instances), products and their members.

use sea_orm_migration::prelude::*;

use super::schema::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0001_accounts"
    }
}

fn t(name: &str) -> Alias {
    Alias::new(name)
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let pg = m.get_database_backend() == sea_orm::DbBackend::Postgres;

        // users ↔ products reference each other (owner, active product).
        // SQLite accepts a forward reference inside CREATE TABLE; Postgres
        // gets the constraint added once products exists.
        let mut users = Table::create();
        users
            .table(t("users"))
            .col(pk(t("id")))
            .col(string(t("username"), 40))
            .col(string_null(t("email"), 254))
            .col(string_null(t("name"), 200))
            .col(text(t("password_hash")))
            .col(boolean(t("is_demo"), false))
            .col(string_null(t("bio"), 160))
            .col(string_null(t("bio_detail"), 2000))
            .col(boolean(t("must_reset_password"), false))
            .col(blob_null(t("avatar_data")))
            .col(text_null(t("avatar_url")))
            .col(string_null(t("github_username"), 100))
            .col(id_ref_null(t("active_product_id")))
            .col(int(t("idea_code_counter"), 0))
            .col(int(t("min_quota_pct"), 20))
            .col(ts_null(t("disabled_at")))
            .col(ts(t("created_at")))
            .col(ts(t("updated_at")));
        if !pg {
            users.foreign_key(&mut fk(t("users"), t("active_product_id"), t("products"), ForeignKeyAction::SetNull));
        }
        m.create_table(users.to_owned()).await?;

        m.create_table(
            Table::create()
                .table(t("user_roles"))
                .col(pk(t("id")))
                .col(id_ref(t("user_id")))
                .col(enum_col(t("role"), "DEVELOPER"))
                .foreign_key(&mut fk(t("user_roles"), t("user_id"), t("users"), ForeignKeyAction::Cascade))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(t("products"))
                .col(pk(t("id")))
                .col(id_ref(t("user_id")))
                .col(string(t("name"), 200))
                .col(string_null(t("code"), 30))
                .col(text_null(t("description")))
                .col(text_null(t("repo_url")))
                .col(text(t("definition_of_done")))
                .col(boolean(t("auto_pr"), false))
                .col(enum_col(t("pr_strategy"), "SPRINT_BATCH"))
                .col(boolean(t("archived"), false))
                .col(string_null(t("preferred_model"), 200))
                .col(int_null(t("thinking_budget_default")))
                .col(enum_null(t("preferred_permission_mode")))
                // Later backlog additions (agent-backlog reference §2).
                .col(enum_col(t("kind"), "APP"))
                .col(boolean(t("auto_pr_review"), false))
                .col(boolean(t("auto_task_review"), false))
                .col(boolean(t("auto_plan_review"), true))
                .col(boolean(t("auto_materialize_plan"), true))
                .col(boolean(t("auto_deploy"), false))
                .col(text_null(t("deploy_flow")))
                .col(json_null(t("enabled_doc_folders")))
                .col(json_null(t("content_policy")))
                // Marketplace `Project` fields. A product is a marketplace
                // project exactly when `project_status` is set.
                .col(enum_null(t("project_status")))
                .col(enum_null(t("current_stage")))
                .col(json_null(t("brief")))
                .col(string_null(t("repo_name"), 200))
                // Last number handed out per code kind (PBI-N, ST-NNN, T-N,
                // SP-N): allocation is one row update, which also serialises
                // concurrent writers of one product (see baton-app txn.rs).
                .col(big(t("last_pbi_number"), 0))
                .col(big(t("last_story_number"), 0))
                .col(big(t("last_task_number"), 0))
                .col(big(t("last_sprint_number"), 0))
                .col(ts(t("created_at")))
                .col(ts(t("updated_at")))
                .foreign_key(&mut fk(t("products"), t("user_id"), t("users"), ForeignKeyAction::Cascade))
                .to_owned(),
        )
        .await?;

        if pg {
            m.create_foreign_key(
                ForeignKey::create()
                    .name("users_active_product_id_fkey")
                    .from(t("users"), t("active_product_id"))
                    .to(t("products"), t("id"))
                    .on_delete(ForeignKeyAction::SetNull)
                    .on_update(ForeignKeyAction::Cascade)
                    .to_owned(),
            )
            .await?;
        }

        m.create_table(
            Table::create()
                .table(t("product_members"))
                .col(pk(t("id")))
                .col(id_ref(t("product_id")))
                .col(id_ref(t("user_id")))
                .col(enum_col(t("role"), "DEVELOPER"))
                .col(enum_col(t("access"), "READ_ONLY"))
                .col(ts(t("created_at")))
                .foreign_key(&mut fk(t("product_members"), t("product_id"), t("products"), ForeignKeyAction::Cascade))
                .foreign_key(&mut fk(t("product_members"), t("user_id"), t("users"), ForeignKeyAction::Cascade))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(t("sessions"))
                .col(pk(t("id")))
                .col(string(t("id_hash"), 64))
                .col(id_ref(t("user_id")))
                .col(text_null(t("user_agent")))
                .col(string_null(t("ip"), 64))
                .col(ts(t("created_at")))
                .col(ts(t("last_seen_at")))
                .col(ts(t("expires_at")))
                .foreign_key(&mut fk(t("sessions"), t("user_id"), t("users"), ForeignKeyAction::Cascade))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(t("api_tokens"))
                .col(pk(t("id")))
                .col(id_ref(t("user_id")))
                .col(string(t("token_hash"), 64))
                .col(string(t("prefix"), 16))
                .col(string_null(t("label"), 200))
                .col(ts(t("created_at")))
                .col(ts_null(t("expires_at")))
                .col(ts_null(t("last_used_at")))
                .col(ts_null(t("revoked_at")))
                .foreign_key(&mut fk(t("api_tokens"), t("user_id"), t("users"), ForeignKeyAction::Cascade))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(t("api_token_products"))
                .col(pk(t("id")))
                .col(id_ref(t("token_id")))
                .col(id_ref(t("product_id")))
                .foreign_key(&mut fk(
                    t("api_token_products"),
                    t("token_id"),
                    t("api_tokens"),
                    ForeignKeyAction::Cascade,
                ))
                .foreign_key(&mut fk(
                    t("api_token_products"),
                    t("product_id"),
                    t("products"),
                    ForeignKeyAction::Cascade,
                ))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(t("login_attempts"))
                .col(pk(t("id")))
                .col(string(t("key_hash"), 64))
                .col(ts(t("created_at")))
                .to_owned(),
        )
        .await?;

        create_indexes(
            m,
            vec![
                index("users", &["username"], true),
                index("users", &["email"], true),
                index("users", &["github_username"], true),
                index("users", &["active_product_id"], false),
                index("user_roles", &["user_id", "role"], true),
                index("products", &["user_id", "name"], true),
                index("products", &["user_id", "code"], true),
                index("products", &["user_id", "archived"], false),
                index("products", &["project_status"], false),
                index("products", &["current_stage"], false),
                index("product_members", &["product_id", "user_id"], true),
                index("product_members", &["user_id"], false),
                index("sessions", &["id_hash"], true),
                index("sessions", &["user_id"], false),
                index("sessions", &["expires_at"], false),
                index("api_tokens", &["token_hash"], true),
                index("api_tokens", &["user_id"], false),
                index("api_token_products", &["token_id", "product_id"], true),
                index("login_attempts", &["key_hash", "created_at"], false),
            ],
        )
        .await
    }
}
