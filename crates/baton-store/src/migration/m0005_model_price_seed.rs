//! Seeds `model_prices` with public list prices of common Claude and OpenAI
//! models, so job costs show up without set-up (reference §9.4). Run once:
//! administrators change or delete rows later through
//! `/api/admin/model-prices`, and re-running migrations does not bring
//! deleted rows back.
//!
//! Prices are US dollars per million tokens, stored as integer micro-units
//! (`3_000_000` = $3.00), standard tier, pay-as-you-go API billing, as
//! published in **November 2025** on:
//!
//! * Anthropic: <https://www.anthropic.com/pricing#api> and
//!   <https://docs.anthropic.com/en/docs/about-claude/pricing> (cache write =
//!   5-minute cache write; Sonnet prices are those for prompts up to 200k tokens);
//! * OpenAI: <https://openai.com/api/pricing/> and
//!   <https://platform.openai.com/docs/pricing> (cache read = "cached input";
//!   OpenAI does not charge for cache writes).
//!
//! Only models whose prices the author was sure of are listed. Model ids are
//! the providers' ids without their date suffix (`claude-sonnet-4-5`); job
//! cost lookup strips a trailing `-YYYYMMDD` / `-YYYY-MM-DD` from a job's
//! model id when no row matches it exactly (`gpt-4o-2024-05-13`, priced
//! differently from later snapshots, has its own row).

use baton_domain::agents::{AgentRuntime, BillingMode, BillingUnit};
use sea_orm_migration::{
    prelude::*,
    sea_orm::{ActiveModelTrait, ActiveValue::Set},
};

use crate::entities::model_price;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0005_model_price_seed"
    }
}

/// (model id, provider, input, output, cache read, cache write), micro-USD per 1M tokens.
const PRICES: &[(&str, &str, i64, i64, i64, i64)] = &[
    // Anthropic.
    ("claude-opus-4-5", "anthropic", 5_000_000, 25_000_000, 500_000, 6_250_000),
    ("claude-opus-4-1", "anthropic", 15_000_000, 75_000_000, 1_500_000, 18_750_000),
    ("claude-opus-4", "anthropic", 15_000_000, 75_000_000, 1_500_000, 18_750_000),
    ("claude-sonnet-4-5", "anthropic", 3_000_000, 15_000_000, 300_000, 3_750_000),
    ("claude-sonnet-4", "anthropic", 3_000_000, 15_000_000, 300_000, 3_750_000),
    ("claude-3-7-sonnet", "anthropic", 3_000_000, 15_000_000, 300_000, 3_750_000),
    ("claude-haiku-4-5", "anthropic", 1_000_000, 5_000_000, 100_000, 1_250_000),
    ("claude-3-5-haiku", "anthropic", 800_000, 4_000_000, 80_000, 1_000_000),
    // OpenAI.
    ("gpt-5", "openai", 1_250_000, 10_000_000, 125_000, 0),
    ("gpt-5-codex", "openai", 1_250_000, 10_000_000, 125_000, 0),
    ("gpt-5-mini", "openai", 250_000, 2_000_000, 25_000, 0),
    ("gpt-4.1", "openai", 2_000_000, 8_000_000, 500_000, 0),
    ("gpt-4.1-mini", "openai", 400_000, 1_600_000, 100_000, 0),
    ("gpt-4.1-nano", "openai", 100_000, 400_000, 25_000, 0),
    ("gpt-4o", "openai", 2_500_000, 10_000_000, 1_250_000, 0),
    ("gpt-4o-2024-05-13", "openai", 5_000_000, 15_000_000, 0, 0),
    ("gpt-4o-mini", "openai", 150_000, 600_000, 75_000, 0),
    ("o3", "openai", 2_000_000, 8_000_000, 500_000, 0),
    ("o3-mini", "openai", 1_100_000, 4_400_000, 550_000, 0),
    ("o4-mini", "openai", 1_100_000, 4_400_000, 275_000, 0),
    ("o1", "openai", 15_000_000, 60_000_000, 7_500_000, 0),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let db = m.get_connection();
        let at = crate::now();
        for &(model, provider, input, output, cache_read, cache_write) in PRICES {
            let (runtime, source) = if provider == "anthropic" {
                (AgentRuntime::Claude, "https://docs.anthropic.com/en/docs/about-claude/pricing")
            } else {
                (AgentRuntime::Codex, "https://platform.openai.com/docs/pricing")
            };
            model_price::ActiveModel {
                id: Set(crate::new_id()),
                model_id: Set(model.into()),
                runtime: Set(runtime.as_db().into()),
                provider: Set(provider.into()),
                billing_mode: Set(BillingMode::Api.as_db().into()),
                billing_unit: Set(BillingUnit::Usd.as_db().into()),
                service_tier: Set("standard".into()),
                input_price_per_1m_micros: Set(input),
                output_price_per_1m_micros: Set(output),
                cache_read_price_per_1m_micros: Set(cache_read),
                cache_write_price_per_1m_micros: Set(cache_write),
                currency: Set("USD".into()),
                effective_from: Set(None),
                source_url: Set(Some(source.into())),
                notes: Set(Some("public list price, November 2025 (seeded)".into())),
                created_at: Set(at),
                updated_at: Set(at),
            }
            .insert(db)
            .await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.exec_stmt(
            Query::delete()
                .from_table(Alias::new("model_prices"))
                .and_where(Expr::col(Alias::new("notes")).eq("public list price, November 2025 (seeded)"))
                .to_owned(),
        )
        .await
    }
}
