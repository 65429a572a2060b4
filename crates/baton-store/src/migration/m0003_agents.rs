//! Agents and everything around them: sprint runs, ideas (with their
//! products, logs and the owner's questions), the job queue (seed
//! `claude_jobs`), frozen sprint task executions, worker presence (seed
//! `claude_workers`), the agent → human question channel (seed
//! `claude_questions`), model prices, QR login pairings and web push
//! subscriptions.

use sea_orm_migration::prelude::*;

use super::schema::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0003_agents"
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
                .table(t("sprint_runs"))
                .col(pk(t("id")))
                .col(id_ref(t("sprint_id")))
                .col(id_ref(t("started_by_id")))
                .col(enum_col(t("status"), "QUEUED"))
                .col(enum_req(t("pr_strategy")))
                .col(string_null(t("branch"), 255))
                .col(text_null(t("pr_url")))
                .col(ts_null(t("started_at")))
                .col(ts_null(t("finished_at")))
                .col(text_null(t("failure_reason")))
                .col(id_ref_null(t("failed_task_id")))
                .col(json_null(t("pause_context")))
                .col(id_ref_null(t("previous_run_id")))
                .col(ts(t("created_at")))
                .col(ts(t("updated_at")))
                .foreign_key(&mut fk(t("sprint_runs"), t("sprint_id"), t("sprints"), ForeignKeyAction::Cascade))
                .foreign_key(&mut fk(t("sprint_runs"), t("started_by_id"), t("users"), ForeignKeyAction::Cascade))
                .foreign_key(&mut fk(t("sprint_runs"), t("failed_task_id"), t("tasks"), ForeignKeyAction::SetNull))
                .foreign_key(&mut fk(
                    t("sprint_runs"),
                    t("previous_run_id"),
                    t("sprint_runs"),
                    ForeignKeyAction::SetNull,
                ))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(t("ideas"))
                .col(pk(t("id")))
                .col(id_ref(t("user_id")))
                .col(id_ref_null(t("product_id")))
                .col(string(t("code"), 30))
                .col(string(t("title"), 200))
                .col(text_null(t("description")))
                .col(text_null(t("grill_md")))
                .col(text_null(t("plan_md")))
                .col(json_null(t("plan_review_log")))
                .col(id_ref_null(t("pbi_id")))
                .col(id_ref_null(t("build_sprint_id")))
                .col(id_ref_null(t("build_sprint_run_id")))
                .col(enum_col(t("status"), "DRAFT"))
                .col(boolean(t("archived"), false))
                .col(ts(t("created_at")))
                .col(ts(t("updated_at")))
                .foreign_key(&mut fk(t("ideas"), t("user_id"), t("users"), ForeignKeyAction::Cascade))
                .foreign_key(&mut fk(t("ideas"), t("product_id"), t("products"), ForeignKeyAction::SetNull))
                .foreign_key(&mut fk(t("ideas"), t("pbi_id"), t("pbis"), ForeignKeyAction::SetNull))
                .foreign_key(&mut fk(t("ideas"), t("build_sprint_id"), t("sprints"), ForeignKeyAction::SetNull))
                .foreign_key(&mut fk(t("ideas"), t("build_sprint_run_id"), t("sprint_runs"), ForeignKeyAction::SetNull))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(t("idea_products"))
                .col(pk(t("id")))
                .col(id_ref(t("idea_id")))
                .col(id_ref(t("product_id")))
                .col(ts(t("created_at")))
                .foreign_key(&mut fk(t("idea_products"), t("idea_id"), t("ideas"), ForeignKeyAction::Cascade))
                .foreign_key(&mut fk(t("idea_products"), t("product_id"), t("products"), ForeignKeyAction::Cascade))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(t("idea_logs"))
                .col(pk(t("id")))
                .col(id_ref(t("idea_id")))
                .col(enum_req(t("type")))
                .col(text(t("content")))
                .col(json_null(t("metadata")))
                .col(ts(t("created_at")))
                .foreign_key(&mut fk(t("idea_logs"), t("idea_id"), t("ideas"), ForeignKeyAction::Cascade))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(t("user_questions"))
                .col(pk(t("id")))
                .col(id_ref(t("idea_id")))
                .col(id_ref(t("user_id")))
                .col(text(t("question")))
                .col(text_null(t("answer")))
                .col(enum_col(t("status"), "PENDING"))
                .col(ts(t("created_at")))
                .col(ts(t("updated_at")))
                .foreign_key(&mut fk(t("user_questions"), t("idea_id"), t("ideas"), ForeignKeyAction::Cascade))
                .foreign_key(&mut fk(t("user_questions"), t("user_id"), t("users"), ForeignKeyAction::Cascade))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(t("jobs"))
                .col(pk(t("id")))
                // Ownership and links.
                .col(id_ref(t("user_id")))
                .col(id_ref(t("product_id")))
                .col(id_ref_null(t("task_id")))
                .col(id_ref_null(t("idea_id")))
                .col(id_ref_null(t("sprint_run_id")))
                .col(int_null(t("sprint_sequence")))
                // Type and routing.
                .col(enum_req(t("kind")))
                .col(enum_col(t("status"), "QUEUED"))
                .col(enum_col(t("runtime"), "CLAUDE"))
                .col(enum_col(t("source"), "SYSTEM"))
                .col(string_null(t("required_capability"), 40))
                // Claim state.
                .col(id_ref_null(t("claimed_by_token_id")))
                .col(ts_null(t("claimed_at")))
                .col(string_null(t("worker_instance_id"), 200))
                .col(ts_null(t("lease_until")))
                .col(int(t("retry_count"), 0))
                // Lifecycle stamps.
                .col(ts_null(t("started_at")))
                .col(ts_null(t("finished_at")))
                .col(ts_null(t("pushed_at")))
                // Verification and git.
                .col(enum_null(t("verify_result")))
                .col(text_null(t("plan_snapshot")))
                .col(string_null(t("base_sha"), 64))
                .col(string_null(t("head_sha"), 64))
                .col(string_null(t("branch"), 255))
                .col(text_null(t("pr_url")))
                // Outcome.
                .col(text_null(t("summary")))
                .col(text_null(t("error")))
                // Usage as reported.
                .col(string_null(t("model_id"), 200))
                .col(big_null(t("input_tokens")))
                .col(big_null(t("output_tokens")))
                .col(big_null(t("cache_read_tokens")))
                .col(big_null(t("cache_write_tokens")))
                .col(big_null(t("actual_thinking_tokens")))
                // Requested configuration.
                .col(string_null(t("requested_model"), 200))
                .col(int_null(t("requested_thinking_budget")))
                .col(string_null(t("requested_permission_mode"), 40))
                .col(ts(t("created_at")))
                .col(ts(t("updated_at")))
                .foreign_key(&mut fk(t("jobs"), t("user_id"), t("users"), ForeignKeyAction::Cascade))
                .foreign_key(&mut fk(t("jobs"), t("product_id"), t("products"), ForeignKeyAction::Cascade))
                .foreign_key(&mut fk(t("jobs"), t("task_id"), t("tasks"), ForeignKeyAction::Cascade))
                .foreign_key(&mut fk(t("jobs"), t("idea_id"), t("ideas"), ForeignKeyAction::Cascade))
                .foreign_key(&mut fk(t("jobs"), t("sprint_run_id"), t("sprint_runs"), ForeignKeyAction::SetNull))
                .foreign_key(&mut fk(t("jobs"), t("claimed_by_token_id"), t("api_tokens"), ForeignKeyAction::SetNull))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(t("sprint_task_executions"))
                .col(pk(t("id")))
                .col(id_ref(t("sprint_job_id")))
                .col(id_ref(t("task_id")))
                // The seed's `order`, renamed: ORDER is reserved in SQL.
                .col(int(t("run_order"), 0))
                .col(text(t("plan_snapshot")))
                .col(enum_req(t("verify_required_snapshot")))
                .col(boolean(t("verify_only_snapshot"), false))
                .col(string_null(t("base_sha"), 64))
                .col(string_null(t("head_sha"), 64))
                .col(enum_col(t("status"), "PENDING"))
                .col(enum_null(t("verify_result")))
                .col(text_null(t("verify_summary")))
                .col(text_null(t("skip_reason")))
                .col(ts_null(t("started_at")))
                .col(ts_null(t("finished_at")))
                .col(ts(t("created_at")))
                .col(ts(t("updated_at")))
                .foreign_key(&mut fk(
                    t("sprint_task_executions"),
                    t("sprint_job_id"),
                    t("jobs"),
                    ForeignKeyAction::Cascade,
                ))
                .foreign_key(&mut fk(t("sprint_task_executions"), t("task_id"), t("tasks"), ForeignKeyAction::Cascade))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(t("workers"))
                .col(pk(t("id")))
                .col(id_ref(t("user_id")))
                .col(id_ref(t("token_id")))
                .col(string(t("instance_id"), 200))
                .col(id_ref_null(t("product_id")))
                .col(enum_col(t("runtime"), "CLAUDE"))
                .col(json_null(t("capabilities")))
                .col(enum_col(t("tier"), "MEDIUM_P"))
                .col(string_null(t("hostname"), 255))
                .col(int_null(t("pid")))
                .col(ts(t("started_at")))
                .col(ts(t("last_seen_at")))
                .col(int_null(t("last_quota_pct")))
                .col(ts_null(t("last_quota_check_at")))
                .foreign_key(&mut fk(t("workers"), t("user_id"), t("users"), ForeignKeyAction::Cascade))
                .foreign_key(&mut fk(t("workers"), t("token_id"), t("api_tokens"), ForeignKeyAction::Cascade))
                .foreign_key(&mut fk(t("workers"), t("product_id"), t("products"), ForeignKeyAction::SetNull))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(t("questions"))
                .col(pk(t("id")))
                .col(id_ref_null(t("story_id")))
                .col(id_ref_null(t("task_id")))
                .col(id_ref_null(t("idea_id")))
                .col(id_ref(t("product_id")))
                .col(id_ref(t("asked_by")))
                .col(text(t("question")))
                .col(json_null(t("options")))
                .col(enum_col(t("status"), "OPEN"))
                .col(text_null(t("answer")))
                .col(id_ref_null(t("answered_by")))
                .col(ts_null(t("answered_at")))
                .col(ts(t("created_at")))
                .col(ts(t("expires_at")))
                .check(exactly_one_of("questions", "story_id", "idea_id"))
                .foreign_key(&mut fk(t("questions"), t("story_id"), t("stories"), ForeignKeyAction::Cascade))
                .foreign_key(&mut fk(t("questions"), t("task_id"), t("tasks"), ForeignKeyAction::SetNull))
                .foreign_key(&mut fk(t("questions"), t("idea_id"), t("ideas"), ForeignKeyAction::Cascade))
                .foreign_key(&mut fk(t("questions"), t("product_id"), t("products"), ForeignKeyAction::Cascade))
                .foreign_key(&mut fk(t("questions"), t("asked_by"), t("users"), ForeignKeyAction::Cascade))
                .foreign_key(&mut fk(t("questions"), t("answered_by"), t("users"), ForeignKeyAction::SetNull))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(t("model_prices"))
                .col(pk(t("id")))
                .col(string(t("model_id"), 200))
                .col(enum_col(t("runtime"), "CLAUDE"))
                .col(string_def(t("provider"), 100, "anthropic"))
                .col(enum_col(t("billing_mode"), "API"))
                .col(enum_col(t("billing_unit"), "USD"))
                .col(string_def(t("service_tier"), 40, "standard"))
                // Integer micro-units (1e-6 of `currency`) per million tokens:
                // the seed's Decimal(12,6) without floats.
                .col(big(t("input_price_per_1m_micros"), 0))
                .col(big(t("output_price_per_1m_micros"), 0))
                .col(big(t("cache_read_price_per_1m_micros"), 0))
                .col(big(t("cache_write_price_per_1m_micros"), 0))
                .col(string_def(t("currency"), 10, "USD"))
                .col(ts_null(t("effective_from")))
                .col(text_null(t("source_url")))
                .col(text_null(t("notes")))
                .col(ts(t("created_at")))
                .col(ts(t("updated_at")))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(t("login_pairings"))
                .col(pk(t("id")))
                .col(string(t("secret_hash"), 64))
                .col(string(t("desktop_token_hash"), 64))
                .col(enum_col(t("status"), "PENDING"))
                .col(id_ref_null(t("user_id")))
                .col(string_null(t("desktop_ua"), 255))
                .col(string_null(t("desktop_ip"), 45))
                .col(ts(t("created_at")))
                .col(ts(t("expires_at")))
                .col(ts_null(t("approved_at")))
                .col(ts_null(t("consumed_at")))
                .foreign_key(&mut fk(t("login_pairings"), t("user_id"), t("users"), ForeignKeyAction::SetNull))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(t("push_subscriptions"))
                .col(pk(t("id")))
                .col(id_ref(t("user_id")))
                .col(text(t("endpoint")))
                .col(text(t("p256dh")))
                .col(text(t("auth")))
                .col(text_null(t("user_agent")))
                .col(string_def(t("app_scope"), 40, "baton"))
                .col(ts(t("created_at")))
                .col(ts(t("last_used_at")))
                .foreign_key(&mut fk(t("push_subscriptions"), t("user_id"), t("users"), ForeignKeyAction::Cascade))
                .to_owned(),
        )
        .await?;

        create_indexes(
            m,
            vec![
                index("sprint_runs", &["sprint_id", "status"], false),
                index("sprint_runs", &["started_by_id", "status"], false),
                index("sprint_runs", &["previous_run_id"], true),
                index("ideas", &["user_id", "code"], true),
                index("ideas", &["pbi_id"], true),
                index("ideas", &["user_id", "archived", "status"], false),
                index("ideas", &["user_id", "product_id"], false),
                index("idea_products", &["idea_id", "product_id"], true),
                index("idea_products", &["product_id"], false),
                index("idea_logs", &["idea_id", "created_at"], false),
                index("user_questions", &["idea_id", "status"], false),
                index("user_questions", &["user_id"], false),
                index("jobs", &["sprint_run_id", "sprint_sequence"], true),
                index("jobs", &["user_id", "status"], false),
                index("jobs", &["product_id", "status"], false),
                index("jobs", &["task_id", "status"], false),
                index("jobs", &["idea_id", "status"], false),
                index("jobs", &["sprint_run_id", "status"], false),
                index("jobs", &["status", "claimed_at"], false),
                index("jobs", &["status", "finished_at"], false),
                index("jobs", &["status", "lease_until"], false),
                index("sprint_task_executions", &["sprint_job_id", "task_id"], true),
                index("sprint_task_executions", &["sprint_job_id", "run_order"], false),
                index("workers", &["user_id", "token_id", "instance_id"], true),
                index("workers", &["token_id", "instance_id"], false),
                index("workers", &["user_id", "last_seen_at"], false),
                index("questions", &["story_id", "status"], false),
                index("questions", &["idea_id", "status"], false),
                index("questions", &["product_id", "status"], false),
                index("questions", &["status", "expires_at"], false),
                // Named by hand: the generated name passes Postgres' 63-byte limit.
                index(
                    "model_prices",
                    &["runtime", "provider", "model_id", "billing_mode", "billing_unit", "service_tier"],
                    true,
                )
                .name("model_prices_identity_key")
                .to_owned(),
                index("model_prices", &["model_id"], false),
                index("login_pairings", &["expires_at"], false),
                index("login_pairings", &["status", "expires_at"], false),
                index("push_subscriptions", &["endpoint"], true),
                index("push_subscriptions", &["user_id"], false),
            ],
        )
        .await
    }
}
