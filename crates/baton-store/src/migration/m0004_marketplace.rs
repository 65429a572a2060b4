//! The expert marketplace: opportunities and bids, pull-request deliverables,
//! escrows and the wallets they pay to, documents, ratings, hosted-MCP OAuth
//! sessions, GitHub App installations and the story audit log. Projects,
//! stories and users are the shared `products`, `stories` and `users`.
//!
//! Prisma gives no delete rules. Rows that are content of a parent cascade
//! with it; references to the people in a deal (client, expert, uploader)
//! use NO ACTION, so a user or project with marketplace history cannot be
//! hard-deleted (disable the account instead); optional references set NULL.

use sea_orm_migration::prelude::*;

use super::schema::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0004_marketplace"
    }
}

fn t(name: &str) -> Alias {
    Alias::new(name)
}

const KEEP: ForeignKeyAction = ForeignKeyAction::NoAction;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let pg = m.get_database_backend() == sea_orm::DbBackend::Postgres;

        // opportunities.accepted_bid_id ↔ bids.opportunity_id: as in m0001,
        // SQLite takes the forward reference inline, Postgres gets it added
        // once bids exists.
        let mut opportunities = Table::create();
        opportunities
            .table(t("opportunities"))
            .col(pk(t("id")))
            .col(id_ref(t("product_id")))
            .col(id_ref_null(t("story_id")))
            .col(enum_req(t("stage")))
            .col(string(t("title"), 200))
            .col(text(t("description")))
            // The seed's `budget` JSON {min, max, currency} as typed columns,
            // in hundredths of the currency's display unit.
            .col(big(t("budget_min"), 0))
            .col(big(t("budget_max"), 0))
            .col(enum_req(t("currency")))
            .col(ts_null(t("deadline")))
            .col(enum_col(t("status"), "OPEN"))
            .col(id_ref_null(t("accepted_bid_id")))
            .col(ts(t("created_at")))
            .col(ts(t("updated_at")))
            .foreign_key(&mut fk(t("opportunities"), t("product_id"), t("products"), ForeignKeyAction::Cascade))
            .foreign_key(&mut fk(t("opportunities"), t("story_id"), t("stories"), ForeignKeyAction::Cascade));
        if !pg {
            opportunities.foreign_key(&mut fk(
                t("opportunities"),
                t("accepted_bid_id"),
                t("bids"),
                ForeignKeyAction::SetNull,
            ));
        }
        m.create_table(opportunities.to_owned()).await?;

        m.create_table(
            Table::create()
                .table(t("bids"))
                .col(pk(t("id")))
                .col(id_ref(t("opportunity_id")))
                .col(id_ref(t("expert_id")))
                // Hundredths of the currency's display unit.
                .col(big(t("amount"), 0))
                .col(enum_req(t("currency")))
                .col(text(t("proposal")))
                .col(int_null(t("estimated_hours")))
                .col(enum_col(t("status"), "PENDING"))
                .col(ts(t("created_at")))
                .col(ts(t("updated_at")))
                .foreign_key(&mut fk(t("bids"), t("opportunity_id"), t("opportunities"), ForeignKeyAction::Cascade))
                .foreign_key(&mut fk(t("bids"), t("expert_id"), t("users"), KEEP))
                .to_owned(),
        )
        .await?;

        if pg {
            m.create_foreign_key(
                ForeignKey::create()
                    .name("opportunities_accepted_bid_id_fkey")
                    .from(t("opportunities"), t("accepted_bid_id"))
                    .to(t("bids"), t("id"))
                    .on_delete(ForeignKeyAction::SetNull)
                    .on_update(ForeignKeyAction::Cascade)
                    .to_owned(),
            )
            .await?;
        }

        m.create_table(
            Table::create()
                .table(t("deliverables"))
                .col(pk(t("id")))
                .col(id_ref_null(t("opportunity_id")))
                .col(id_ref_null(t("story_id")))
                .col(id_ref(t("expert_id")))
                .col(enum_req(t("stage")))
                .col(text(t("pr_url")))
                .col(int(t("pr_number"), 0))
                .col(string(t("pr_author"), 100))
                .col(enum_col(t("status"), "SUBMITTED"))
                .col(text_null(t("review_notes")))
                .col(ts(t("submitted_at")))
                .col(ts_null(t("reviewed_at")))
                .col(ts_null(t("approved_at")))
                // A planning deliverable belongs to its opportunity, a
                // development one to its story; never both, never neither.
                .check(exactly_one_of("deliverables", "opportunity_id", "story_id"))
                .foreign_key(&mut fk(
                    t("deliverables"),
                    t("opportunity_id"),
                    t("opportunities"),
                    ForeignKeyAction::Cascade,
                ))
                .foreign_key(&mut fk(t("deliverables"), t("story_id"), t("stories"), ForeignKeyAction::Cascade))
                .foreign_key(&mut fk(t("deliverables"), t("expert_id"), t("users"), KEEP))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(t("escrows"))
                .col(pk(t("id")))
                .col(id_ref(t("product_id")))
                .col(id_ref_null(t("opportunity_id")))
                .col(id_ref(t("client_id")))
                .col(id_ref(t("expert_id")))
                // Decimal string of chain base units (wei, lamports, token units).
                .col(string(t("amount"), 80))
                .col(enum_req(t("currency")))
                .col(enum_req(t("blockchain")))
                .col(int(t("platform_fee_bps"), 500))
                // Flat part of the fee, in the same base units as `amount`.
                .col(string_def(t("platform_fee_flat"), 80, "0"))
                .col(enum_col(t("status"), "PENDING"))
                .col(string(t("contract_address"), 100))
                .col(string_null(t("transaction_hash"), 100))
                .col(string_null(t("release_transaction_hash"), 100))
                .col(string_null(t("refund_transaction_hash"), 100))
                .col(ts_null(t("funded_at")))
                .col(ts_null(t("released_at")))
                .col(ts_null(t("refunded_at")))
                .col(ts(t("created_at")))
                .col(ts(t("updated_at")))
                .foreign_key(&mut fk(t("escrows"), t("product_id"), t("products"), KEEP))
                .foreign_key(&mut fk(t("escrows"), t("opportunity_id"), t("opportunities"), ForeignKeyAction::SetNull))
                .foreign_key(&mut fk(t("escrows"), t("client_id"), t("users"), KEEP))
                .foreign_key(&mut fk(t("escrows"), t("expert_id"), t("users"), KEEP))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(t("wallets"))
                .col(pk(t("id")))
                .col(id_ref(t("user_id")))
                .col(enum_req(t("blockchain")))
                .col(string(t("address"), 100))
                .col(ts_null(t("verified_at")))
                .col(ts(t("created_at")))
                .foreign_key(&mut fk(t("wallets"), t("user_id"), t("users"), ForeignKeyAction::Cascade))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(t("documents"))
                .col(pk(t("id")))
                .col(id_ref(t("product_id")))
                .col(id_ref(t("uploaded_by_id")))
                .col(string(t("filename"), 255))
                .col(text(t("storage_path")))
                .col(string(t("mime_type"), 100))
                .col(big(t("size"), 0))
                .col(string(t("document_type"), 40))
                .col(ts(t("created_at")))
                .foreign_key(&mut fk(t("documents"), t("product_id"), t("products"), ForeignKeyAction::Cascade))
                .foreign_key(&mut fk(t("documents"), t("uploaded_by_id"), t("users"), KEEP))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(t("ratings"))
                .col(pk(t("id")))
                .col(id_ref(t("product_id")))
                .col(id_ref(t("expert_id")))
                .col(id_ref(t("client_id")))
                .col(enum_req(t("stage")))
                .col(ColumnDef::new(t("rating")).integer().not_null().check(Expr::col(t("rating")).between(1, 5)))
                .col(text_null(t("feedback")))
                .col(ts(t("created_at")))
                .foreign_key(&mut fk(t("ratings"), t("product_id"), t("products"), ForeignKeyAction::Cascade))
                .foreign_key(&mut fk(t("ratings"), t("expert_id"), t("users"), KEEP))
                .foreign_key(&mut fk(t("ratings"), t("client_id"), t("users"), KEEP))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(t("mcp_sessions"))
                .col(pk(t("id")))
                // SHA-256 of the OAuth `state`, which is the bearer secret of the poll.
                .col(string(t("state_hash"), 64))
                .col(id_ref_null(t("user_id")))
                // The API token minted when the poll first sees the session
                // completed; the plaintext is returned once and never stored.
                .col(id_ref_null(t("token_id")))
                .col(ts(t("expires_at")))
                .col(ts_null(t("consumed_at")))
                .col(ts(t("created_at")))
                .foreign_key(&mut fk(t("mcp_sessions"), t("user_id"), t("users"), ForeignKeyAction::Cascade))
                .foreign_key(&mut fk(t("mcp_sessions"), t("token_id"), t("api_tokens"), ForeignKeyAction::SetNull))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(t("github_installations"))
                .col(pk(t("id")))
                .col(ColumnDef::new(t("installation_id")).big_integer().not_null())
                .col(ColumnDef::new(t("account_id")).big_integer().not_null())
                .col(string(t("account_login"), 100))
                .col(ts(t("created_at")))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(t("story_audit_logs"))
                .col(pk(t("id")))
                .col(id_ref(t("story_id")))
                // NULL = the platform itself (webhook without a mapped user).
                .col(id_ref_null(t("user_id")))
                .col(string(t("action"), 40))
                .col(enum_null(t("from_status")))
                .col(enum_null(t("to_status")))
                .col(json_null(t("metadata")))
                .col(ts(t("created_at")))
                .foreign_key(&mut fk(t("story_audit_logs"), t("story_id"), t("stories"), ForeignKeyAction::Cascade))
                .foreign_key(&mut fk(t("story_audit_logs"), t("user_id"), t("users"), ForeignKeyAction::SetNull))
                .to_owned(),
        )
        .await?;

        create_indexes(
            m,
            vec![
                index("opportunities", &["accepted_bid_id"], true),
                index("opportunities", &["product_id"], false),
                index("opportunities", &["story_id"], false),
                index("opportunities", &["stage"], false),
                index("opportunities", &["status"], false),
                index("bids", &["opportunity_id", "expert_id"], true),
                index("bids", &["expert_id"], false),
                index("bids", &["status"], false),
                index("deliverables", &["opportunity_id"], false),
                index("deliverables", &["story_id"], false),
                index("deliverables", &["expert_id"], false),
                index("deliverables", &["status"], false),
                index("escrows", &["transaction_hash"], true),
                index("escrows", &["product_id"], false),
                index("escrows", &["opportunity_id"], false),
                index("escrows", &["client_id"], false),
                index("escrows", &["expert_id"], false),
                index("escrows", &["status"], false),
                index("escrows", &["contract_address"], false),
                index("escrows", &["blockchain"], false),
                index("wallets", &["blockchain", "address"], true),
                index("wallets", &["user_id", "blockchain"], false),
                index("documents", &["product_id"], false),
                index("documents", &["document_type"], false),
                index("ratings", &["product_id", "expert_id", "client_id", "stage"], true),
                index("ratings", &["expert_id"], false),
                index("mcp_sessions", &["state_hash"], true),
                index("mcp_sessions", &["expires_at"], false),
                index("github_installations", &["installation_id"], true),
                index("story_audit_logs", &["story_id", "created_at"], false),
                index("story_audit_logs", &["created_at"], false),
            ],
        )
        .await
    }
}
