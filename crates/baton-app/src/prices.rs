//! Model prices (reference §9.4) and the price book that turns a job's
//! tokens into its cost; the reports over many jobs are in
//! [`crate::insights`].
//!
//! * Prices are integer micro-units per million tokens (seeded by migration
//!   `m0005_model_price_seed` with public list prices; administrators keep
//!   them current through `/api/admin/model-prices`).
//! * A job's cost is exact (`baton_domain::costs`, pico-units) and shown as a
//!   decimal string with 6 places. A job whose model has no price row has
//!   **no** cost (`null`), never a guessed one; its tokens still count.
//! * Price lookup for a job: rows in US dollars whose `model_id` equals the
//!   job's (case-insensitive), else equals it without a trailing date
//!   (`-20250929`, `-2024-08-06`); among those, prefer the job's runtime, API
//!   billing, the `standard` tier, and the latest `effective_from` not after
//!   the job finished.

use baton_domain::{
    ValidationErrors,
    agents::{AgentRuntime, BillingMode, BillingUnit},
    costs::{Pico, Prices, Usage, cost},
};
use baton_store::{
    entities::{job, model_price},
    error::{ResultExt, unique},
    new_id, now,
    sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder},
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{
    Actor, App, AppError, AppResult,
    backlog::paginate,
    list::{Page, PageParams},
};

/// Decimal places of money in answers (micro-units).
pub const MONEY_PLACES: u32 = 6;
/// The currency insights report in.
pub const REPORT_CURRENCY: &str = "USD";

/// A price row as the admin API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ModelPriceView {
    /// Id (UUID v7).
    pub id: String,
    /// The model id agents report (`claude-sonnet-4-5`).
    pub model_id: String,
    /// claude | codex | harness.
    pub runtime: AgentRuntime,
    /// `anthropic`, `openai`, …
    pub provider: String,
    /// api | subscription.
    pub billing_mode: BillingMode,
    /// usd | usd_proxy | credits.
    pub billing_unit: BillingUnit,
    /// `standard` unless the provider sells tiers.
    pub service_tier: String,
    /// Micro-units of `currency` per million input tokens.
    pub input_price_per_1m_micros: i64,
    /// … per million output tokens.
    pub output_price_per_1m_micros: i64,
    /// … per million cache-read tokens.
    pub cache_read_price_per_1m_micros: i64,
    /// … per million cache-write tokens.
    pub cache_write_price_per_1m_micros: i64,
    /// The input price as a decimal string (`"3.000000"`).
    pub input_price_per_1m: String,
    /// The output price as a decimal string.
    pub output_price_per_1m: String,
    /// The cache-read price as a decimal string.
    pub cache_read_price_per_1m: String,
    /// The cache-write price as a decimal string.
    pub cache_write_price_per_1m: String,
    /// ISO currency code (`USD`).
    pub currency: String,
    /// From when the price applies (`null` = always).
    pub effective_from: Option<DateTime<Utc>>,
    /// Where the price was published.
    pub source_url: Option<String>,
    /// Free-form notes.
    pub notes: Option<String>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

fn micros_decimal(m: i64) -> String {
    Pico(i128::from(m) * 1_000_000).to_decimal(MONEY_PLACES)
}

/// Converts a row into its view; an enum value this build does not know is
/// an internal error naming its column.
pub fn price_view(m: model_price::Model) -> AppResult<ModelPriceView> {
    Ok(ModelPriceView {
        input_price_per_1m: micros_decimal(m.input_price_per_1m_micros),
        output_price_per_1m: micros_decimal(m.output_price_per_1m_micros),
        cache_read_price_per_1m: micros_decimal(m.cache_read_price_per_1m_micros),
        cache_write_price_per_1m: micros_decimal(m.cache_write_price_per_1m_micros),
        id: m.id,
        model_id: m.model_id,
        runtime: AgentRuntime::decode(&m.runtime, "model_prices.runtime")?,
        provider: m.provider,
        billing_mode: BillingMode::decode(&m.billing_mode, "model_prices.billing_mode")?,
        billing_unit: BillingUnit::decode(&m.billing_unit, "model_prices.billing_unit")?,
        service_tier: m.service_tier,
        input_price_per_1m_micros: m.input_price_per_1m_micros,
        output_price_per_1m_micros: m.output_price_per_1m_micros,
        cache_read_price_per_1m_micros: m.cache_read_price_per_1m_micros,
        cache_write_price_per_1m_micros: m.cache_write_price_per_1m_micros,
        currency: m.currency,
        effective_from: m.effective_from,
        source_url: m.source_url,
        notes: m.notes,
        created_at: m.created_at,
        updated_at: m.updated_at,
    })
}

/// A new price row. Prices are integer micro-units per million tokens.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewModelPrice {
    /// Model id, 1–200 characters.
    #[schema(max_length = 200, pattern = "\\S")]
    pub model_id: String,
    /// claude | codex | harness (default claude).
    #[serde(default)]
    #[schema(value_type = Option<AgentRuntime>)]
    pub runtime: Option<String>,
    /// Provider, 1–100 characters (default `anthropic`).
    #[serde(default)]
    #[schema(max_length = 100, pattern = "\\S")]
    pub provider: Option<String>,
    /// api | subscription (default api).
    #[serde(default)]
    #[schema(value_type = Option<BillingMode>)]
    pub billing_mode: Option<String>,
    /// usd | usd_proxy | credits (default usd).
    #[serde(default)]
    #[schema(value_type = Option<BillingUnit>)]
    pub billing_unit: Option<String>,
    /// Service tier, 1–40 characters (default `standard`).
    #[serde(default)]
    #[schema(max_length = 40, pattern = "\\S")]
    pub service_tier: Option<String>,
    /// Micro-units per million input tokens (≥ 0).
    #[schema(minimum = 0, maximum = 1000000000000.0)]
    pub input_price_per_1m_micros: i64,
    /// Micro-units per million output tokens (≥ 0).
    #[schema(minimum = 0, maximum = 1000000000000.0)]
    pub output_price_per_1m_micros: i64,
    /// Micro-units per million cache-read tokens (≥ 0, default 0).
    #[serde(default)]
    #[schema(minimum = 0, maximum = 1000000000000.0)]
    pub cache_read_price_per_1m_micros: i64,
    /// Micro-units per million cache-write tokens (≥ 0, default 0).
    #[serde(default)]
    #[schema(minimum = 0, maximum = 1000000000000.0)]
    pub cache_write_price_per_1m_micros: i64,
    /// Three-letter currency code (default USD).
    #[serde(default)]
    #[schema(pattern = "^[A-Za-z]{3}$")]
    pub currency: Option<String>,
    /// From when the price applies.
    #[serde(default)]
    pub effective_from: Option<DateTime<Utc>>,
    /// Where the price was published (http(s) URL).
    #[serde(default)]
    #[schema(max_length = 500, pattern = "^https?://")]
    pub source_url: Option<String>,
    /// Notes, at most 2000 characters.
    #[serde(default)]
    #[schema(max_length = 2000)]
    pub notes: Option<String>,
}

/// Changes to a price row; absent fields stay as they are, `null` clears
/// the optional ones.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ModelPricePatch {
    /// Model id.
    #[serde(default)]
    #[schema(max_length = 200, pattern = "\\S")]
    pub model_id: Option<String>,
    /// claude | codex | harness.
    #[serde(default)]
    #[schema(value_type = Option<AgentRuntime>)]
    pub runtime: Option<String>,
    /// Provider.
    #[serde(default)]
    #[schema(max_length = 100, pattern = "\\S")]
    pub provider: Option<String>,
    /// api | subscription.
    #[serde(default)]
    #[schema(value_type = Option<BillingMode>)]
    pub billing_mode: Option<String>,
    /// usd | usd_proxy | credits.
    #[serde(default)]
    #[schema(value_type = Option<BillingUnit>)]
    pub billing_unit: Option<String>,
    /// Service tier.
    #[serde(default)]
    #[schema(max_length = 40, pattern = "\\S")]
    pub service_tier: Option<String>,
    /// Micro-units per million input tokens.
    #[serde(default)]
    #[schema(minimum = 0, maximum = 1000000000000.0)]
    pub input_price_per_1m_micros: Option<i64>,
    /// Micro-units per million output tokens.
    #[serde(default)]
    #[schema(minimum = 0, maximum = 1000000000000.0)]
    pub output_price_per_1m_micros: Option<i64>,
    /// Micro-units per million cache-read tokens.
    #[serde(default)]
    #[schema(minimum = 0, maximum = 1000000000000.0)]
    pub cache_read_price_per_1m_micros: Option<i64>,
    /// Micro-units per million cache-write tokens.
    #[serde(default)]
    #[schema(minimum = 0, maximum = 1000000000000.0)]
    pub cache_write_price_per_1m_micros: Option<i64>,
    /// Currency code.
    #[serde(default)]
    #[schema(pattern = "^[A-Za-z]{3}$")]
    pub currency: Option<String>,
    /// From when the price applies (`null` clears).
    #[serde(default, deserialize_with = "crate::backlog::nullable::deserialize")]
    #[schema(value_type = Option<DateTime<Utc>>)]
    pub effective_from: Option<Option<DateTime<Utc>>>,
    /// Source URL (`null` clears).
    #[serde(default, deserialize_with = "crate::backlog::nullable::deserialize")]
    #[schema(value_type = Option<String>, max_length = 500, pattern = "^https?://")]
    pub source_url: Option<Option<String>>,
    /// Notes (`null` clears).
    #[serde(default, deserialize_with = "crate::backlog::nullable::deserialize")]
    #[schema(value_type = Option<String>, max_length = 2000)]
    pub notes: Option<Option<String>>,
}

/// Filters of the price list.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PriceFilter {
    /// Only rows of this model id.
    pub model_id: Option<String>,
    /// Only rows of this provider.
    pub provider: Option<String>,
    /// Page number, from 1 to 1000000.
    #[param(minimum = 1, maximum = 1_000_000)]
    pub page: Option<u64>,
    /// Items per page, 1–200 (default 50).
    pub limit: Option<u64>,
}

fn parse_enum<T>(
    errs: &mut ValidationErrors,
    path: &str,
    v: &str,
    parse: fn(&str) -> Option<T>,
    values: String,
) -> Option<T> {
    let r = parse(v);
    if r.is_none() {
        errs.add(path, format!("must be one of {values}"));
    }
    r
}

fn check_len(errs: &mut ValidationErrors, path: &str, v: &str, max: usize) {
    let n = v.trim().chars().count();
    if n == 0 {
        errs.add(path, "must not be empty");
    } else if n > max {
        errs.add(path, format!("must be at most {max} characters"));
    }
}

fn check_price(errs: &mut ValidationErrors, path: &str, v: i64) {
    if v < 0 {
        errs.add(path, "must not be negative");
    } else if v > 1_000_000_000_000 {
        errs.add(path, "is implausibly large (micro-units per million tokens)");
    }
}

fn check_currency(errs: &mut ValidationErrors, v: &str) {
    if !(v.len() == 3 && v.chars().all(|c| c.is_ascii_alphabetic())) {
        errs.add("currency", "must be a three-letter code such as USD");
    }
}

fn check_url(errs: &mut ValidationErrors, v: &str) {
    let v = v.trim();
    if !(v.starts_with("https://") || v.starts_with("http://")) || v.len() > 2000 {
        errs.add("source_url", "must be an http(s) URL of at most 2000 characters");
    }
}

fn check_notes(errs: &mut ValidationErrors, v: &str) {
    if v.chars().count() > 2000 {
        errs.add("notes", "must be at most 2000 characters");
    }
}

/// The answer when a price row would duplicate another's identity.
fn price_clash(index: &str) -> Option<AppError> {
    (index == unique::MODEL_PRICES_IDENTITY).then(|| {
        AppError::Conflict(
            "a price for this model, runtime, provider, billing mode, billing unit and service tier already exists; \
             change that row instead"
                .into(),
        )
    })
}

/// Every price row, for looking up job costs.
#[derive(Debug, Clone, Default)]
pub struct PriceBook {
    rows: Vec<model_price::Model>,
}

/// Strips a trailing `-YYYYMMDD` or `-YYYY-MM-DD` snapshot date from a model id.
pub fn without_date_suffix(model: &str) -> Option<&str> {
    let b = model.as_bytes();
    let digits = |s: &[u8]| s.iter().all(u8::is_ascii_digit);
    if b.len() > 9 && b[b.len() - 9] == b'-' && digits(&b[b.len() - 8..]) {
        return Some(&model[..model.len() - 9]);
    }
    if b.len() > 11 {
        let t = &b[b.len() - 11..];
        if t[0] == b'-' && digits(&t[1..5]) && t[5] == b'-' && digits(&t[6..8]) && t[8] == b'-' && digits(&t[9..11]) {
            return Some(&model[..model.len() - 11]);
        }
    }
    None
}

impl PriceBook {
    /// A book of the given rows.
    pub fn new(rows: Vec<model_price::Model>) -> PriceBook {
        PriceBook { rows }
    }

    /// The price row that applies to `model` run by `runtime` at `at`, if any.
    pub fn lookup(&self, model: &str, runtime: Option<&str>, at: Option<DateTime<Utc>>) -> Option<&model_price::Model> {
        let model = model.trim();
        let pick = |id: &str| {
            self.rows
                .iter()
                .filter(|r| r.currency.eq_ignore_ascii_case(REPORT_CURRENCY) && r.model_id.eq_ignore_ascii_case(id))
                .filter(|r| match (r.effective_from, at) {
                    (Some(from), Some(at)) => from <= at,
                    _ => true,
                })
                .max_by_key(|r| {
                    (
                        runtime.is_some_and(|rt| rt == r.runtime),
                        r.billing_mode == BillingMode::Api.as_db(),
                        r.service_tier == "standard",
                        r.effective_from,
                        r.id.clone(),
                    )
                })
        };
        pick(model).or_else(|| without_date_suffix(model).and_then(pick))
    }

    /// The exact cost of `usage` on `model`, or `None` when no price is known.
    pub fn cost(
        &self,
        model: Option<&str>,
        runtime: Option<&str>,
        at: Option<DateTime<Utc>>,
        usage: Usage,
    ) -> Option<Pico> {
        let row = self.lookup(model?, runtime, at)?;
        Some(cost(
            usage,
            Prices {
                input: row.input_price_per_1m_micros,
                output: row.output_price_per_1m_micros,
                cache_read: row.cache_read_price_per_1m_micros,
                cache_write: row.cache_write_price_per_1m_micros,
            },
        ))
    }

    /// The cost of one job (`None` when its model has no price), in USD.
    pub fn job_cost(&self, j: &job::Model) -> Option<Pico> {
        let usage = Usage {
            input: j.input_tokens.unwrap_or(0),
            output: j.output_tokens.unwrap_or(0),
            cache_read: j.cache_read_tokens.unwrap_or(0),
            cache_write: j.cache_write_tokens.unwrap_or(0),
        };
        self.cost(j.model_id.as_deref(), Some(&j.runtime), j.finished_at.or(Some(j.updated_at)), usage)
    }
}

impl App {
    /// Every price row, for job costs.
    pub async fn price_book(&self) -> AppResult<PriceBook> {
        Ok(PriceBook::new(model_price::Entity::find().all(&self.db).await?))
    }

    /// Lists price rows (administrators), by provider and model.
    pub async fn list_model_prices(&self, actor: &Actor, filter: PriceFilter) -> AppResult<Page<ModelPriceView>> {
        actor.require_admin()?;
        let mut q = model_price::Entity::find();
        if let Some(m) = filter.model_id.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            q = q.filter(model_price::Column::ModelId.eq(m));
        }
        if let Some(p) = filter.provider.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            q = q.filter(model_price::Column::Provider.eq(p));
        }
        let q = q
            .order_by_asc(model_price::Column::Provider)
            .order_by_asc(model_price::Column::ModelId)
            .order_by_asc(model_price::Column::Id);
        let page = paginate(&self.db, q, PageParams { page: filter.page, limit: filter.limit }).await?;
        let Page { items, page, limit, total } = page;
        let items = items.into_iter().map(price_view).collect::<AppResult<_>>()?;
        Ok(Page { items, page, limit, total })
    }

    /// One price row (administrators).
    pub async fn get_model_price(&self, actor: &Actor, id: &str) -> AppResult<ModelPriceView> {
        actor.require_admin()?;
        let row = model_price::Entity::find_by_id(id.trim().to_string())
            .one(&self.db)
            .await?
            .ok_or(AppError::NotFound("model price"))?;
        price_view(row)
    }

    /// Adds a price row (administrators). The same model, runtime, provider,
    /// billing mode, unit and tier twice is a 409.
    pub async fn create_model_price(&self, actor: &Actor, input: NewModelPrice) -> AppResult<ModelPriceView> {
        actor.require_write()?;
        actor.require_admin()?;
        let mut errs = ValidationErrors::new();
        check_len(&mut errs, "model_id", &input.model_id, 200);
        let runtime = match input.runtime.as_deref() {
            Some(v) => parse_enum(&mut errs, "runtime", v, AgentRuntime::parse_api, AgentRuntime::api_values()),
            None => Some(AgentRuntime::Claude),
        };
        let billing_mode = match input.billing_mode.as_deref() {
            Some(v) => parse_enum(&mut errs, "billing_mode", v, BillingMode::parse_api, BillingMode::api_values()),
            None => Some(BillingMode::Api),
        };
        let billing_unit = match input.billing_unit.as_deref() {
            Some(v) => parse_enum(&mut errs, "billing_unit", v, BillingUnit::parse_api, BillingUnit::api_values()),
            None => Some(BillingUnit::Usd),
        };
        let provider = input.provider.clone().unwrap_or_else(|| "anthropic".into());
        check_len(&mut errs, "provider", &provider, 100);
        let tier = input.service_tier.clone().unwrap_or_else(|| "standard".into());
        check_len(&mut errs, "service_tier", &tier, 40);
        check_price(&mut errs, "input_price_per_1m_micros", input.input_price_per_1m_micros);
        check_price(&mut errs, "output_price_per_1m_micros", input.output_price_per_1m_micros);
        check_price(&mut errs, "cache_read_price_per_1m_micros", input.cache_read_price_per_1m_micros);
        check_price(&mut errs, "cache_write_price_per_1m_micros", input.cache_write_price_per_1m_micros);
        let currency = input.currency.clone().unwrap_or_else(|| "USD".into()).trim().to_ascii_uppercase();
        check_currency(&mut errs, &currency);
        if let Some(u) = &input.source_url {
            check_url(&mut errs, u);
        }
        if let Some(n) = &input.notes {
            check_notes(&mut errs, n);
        }
        errs.into_result()?;
        let (Some(runtime), Some(billing_mode), Some(billing_unit)) = (runtime, billing_mode, billing_unit) else {
            return Err(AppError::internal("validated enums missing"));
        };
        let at = now();
        let row = model_price::ActiveModel {
            id: Set(new_id()),
            model_id: Set(input.model_id.trim().to_string()),
            runtime: Set(runtime.as_db().into()),
            provider: Set(provider.trim().to_string()),
            billing_mode: Set(billing_mode.as_db().into()),
            billing_unit: Set(billing_unit.as_db().into()),
            service_tier: Set(tier.trim().to_string()),
            input_price_per_1m_micros: Set(input.input_price_per_1m_micros),
            output_price_per_1m_micros: Set(input.output_price_per_1m_micros),
            cache_read_price_per_1m_micros: Set(input.cache_read_price_per_1m_micros),
            cache_write_price_per_1m_micros: Set(input.cache_write_price_per_1m_micros),
            currency: Set(currency),
            effective_from: Set(input.effective_from),
            source_url: Set(input.source_url.map(|s| s.trim().to_string())),
            notes: Set(input.notes),
            created_at: Set(at),
            updated_at: Set(at),
        }
        .insert(&self.db)
        .await
        .on_unique(price_clash)?;
        price_view(row)
    }

    /// Changes a price row (administrators).
    pub async fn update_model_price(
        &self,
        actor: &Actor,
        id: &str,
        patch: ModelPricePatch,
    ) -> AppResult<ModelPriceView> {
        actor.require_write()?;
        actor.require_admin()?;
        let row = model_price::Entity::find_by_id(id.trim().to_string())
            .one(&self.db)
            .await?
            .ok_or(AppError::NotFound("model price"))?;
        let mut errs = ValidationErrors::new();
        let mut am: model_price::ActiveModel = row.into();
        if let Some(v) = &patch.model_id {
            check_len(&mut errs, "model_id", v, 200);
            am.model_id = Set(v.trim().to_string());
        }
        if let Some(v) = &patch.runtime
            && let Some(r) = parse_enum(&mut errs, "runtime", v, AgentRuntime::parse_api, AgentRuntime::api_values())
        {
            am.runtime = Set(r.as_db().into());
        }
        if let Some(v) = &patch.billing_mode
            && let Some(r) = parse_enum(&mut errs, "billing_mode", v, BillingMode::parse_api, BillingMode::api_values())
        {
            am.billing_mode = Set(r.as_db().into());
        }
        if let Some(v) = &patch.billing_unit
            && let Some(r) = parse_enum(&mut errs, "billing_unit", v, BillingUnit::parse_api, BillingUnit::api_values())
        {
            am.billing_unit = Set(r.as_db().into());
        }
        if let Some(v) = &patch.provider {
            check_len(&mut errs, "provider", v, 100);
            am.provider = Set(v.trim().to_string());
        }
        if let Some(v) = &patch.service_tier {
            check_len(&mut errs, "service_tier", v, 40);
            am.service_tier = Set(v.trim().to_string());
        }
        if let Some(v) = patch.input_price_per_1m_micros {
            check_price(&mut errs, "input_price_per_1m_micros", v);
            am.input_price_per_1m_micros = Set(v);
        }
        if let Some(v) = patch.output_price_per_1m_micros {
            check_price(&mut errs, "output_price_per_1m_micros", v);
            am.output_price_per_1m_micros = Set(v);
        }
        if let Some(v) = patch.cache_read_price_per_1m_micros {
            check_price(&mut errs, "cache_read_price_per_1m_micros", v);
            am.cache_read_price_per_1m_micros = Set(v);
        }
        if let Some(v) = patch.cache_write_price_per_1m_micros {
            check_price(&mut errs, "cache_write_price_per_1m_micros", v);
            am.cache_write_price_per_1m_micros = Set(v);
        }
        if let Some(v) = &patch.currency {
            let c = v.trim().to_ascii_uppercase();
            check_currency(&mut errs, &c);
            am.currency = Set(c);
        }
        if let Some(v) = patch.effective_from {
            am.effective_from = Set(v);
        }
        if let Some(v) = patch.source_url {
            if let Some(u) = &v {
                check_url(&mut errs, u);
            }
            am.source_url = Set(v.map(|s| s.trim().to_string()));
        }
        if let Some(v) = patch.notes {
            if let Some(n) = &v {
                check_notes(&mut errs, n);
            }
            am.notes = Set(v);
        }
        errs.into_result()?;
        am.updated_at = Set(now());
        let row = am.update(&self.db).await.on_unique(price_clash)?;
        price_view(row)
    }

    /// Deletes a price row (administrators); jobs on that model then have no cost.
    pub async fn delete_model_price(&self, actor: &Actor, id: &str) -> AppResult<()> {
        actor.require_write()?;
        actor.require_admin()?;
        let res = model_price::Entity::delete_by_id(id.trim().to_string()).exec(&self.db).await?;
        if res.rows_affected == 0 {
            return Err(AppError::NotFound("model price"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn date_suffixes_are_stripped_only_when_they_are_dates() {
        assert_eq!(without_date_suffix("claude-sonnet-4-5-20250929"), Some("claude-sonnet-4-5"));
        assert_eq!(without_date_suffix("gpt-4o-2024-08-06"), Some("gpt-4o"));
        assert_eq!(without_date_suffix("claude-sonnet-4-5"), None);
        assert_eq!(without_date_suffix("o3"), None);
        assert_eq!(without_date_suffix("gpt-4.1-mini"), None);
    }

    #[test]
    fn prices_render_as_six_place_decimals() {
        assert_eq!(micros_decimal(3_000_000), "3.000000");
        assert_eq!(micros_decimal(25_000), "0.025000");
    }

    #[test]
    fn an_unknown_enum_value_in_a_price_row_is_an_internal_error_naming_the_column() {
        let row = model_price::Model {
            id: "p1".into(),
            model_id: "m".into(),
            runtime: "CLAUDE".into(),
            provider: "anthropic".into(),
            billing_mode: "BARTER".into(),
            billing_unit: "USD".into(),
            service_tier: "standard".into(),
            input_price_per_1m_micros: 3_000_000,
            output_price_per_1m_micros: 15_000_000,
            cache_read_price_per_1m_micros: 0,
            cache_write_price_per_1m_micros: 0,
            currency: "USD".into(),
            effective_from: None,
            source_url: None,
            notes: None,
            created_at: now(),
            updated_at: now(),
        };
        let err = price_view(row.clone()).map(|v| v.id).expect_err("BARTER is no billing mode");
        assert!(err.to_string().contains("model_prices.billing_mode"), "{err}");
        let ok = price_view(model_price::Model { billing_mode: "API".into(), ..row }).map(|v| v.billing_mode);
        assert_eq!(ok.ok(), Some(BillingMode::Api));
    }
}
