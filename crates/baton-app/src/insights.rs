//! Cost insights (reference §9.4): tokens and exact costs of finished jobs
//! in the products the caller can read, grouped by day, model or product.
//!
//! A job whose model has no price row has **no** cost: a group with such a
//! job answers `cost: null` beside `priced_cost` (what the priced jobs
//! cost) and lists the unpriced models, never a guessed total. Prices and
//! their lookup live in [`crate::prices`].

use std::collections::{BTreeMap, BTreeSet};

use baton_domain::{
    ValidationErrors,
    costs::{Pico, Usage},
};
use baton_store::{
    entities::job,
    sea_orm::{ColumnTrait, EntityTrait, FromQueryResult, QueryFilter, QuerySelect},
};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::{
    Actor, App, AppResult,
    prices::{MONEY_PLACES, REPORT_CURRENCY},
};

/// How cost insights are grouped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum CostGrouping {
    /// By UTC day the job finished.
    #[default]
    Day,
    /// By model id.
    Model,
    /// By product.
    Product,
}

/// The cost insights query.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CostQuery {
    /// Only this product (id or code); default: every product the caller can read.
    pub product_id: Option<String>,
    /// Jobs finished on or after this day (`YYYY-MM-DD`) or instant (RFC 3339).
    pub from: Option<String>,
    /// Jobs finished on or before this day (`YYYY-MM-DD`, the whole day) or before this instant (RFC 3339).
    pub to: Option<String>,
    /// day | model | product (default day).
    #[param(value_type = Option<CostGrouping>, inline)]
    pub group_by: Option<String>,
}

/// Tokens and cost of a group of finished jobs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct CostLine {
    /// The day (`YYYY-MM-DD`), model id or product id; `null` for jobs without a model
    /// (group_by=model) and in the total.
    pub key: Option<String>,
    /// Finished jobs counted.
    pub jobs: u64,
    /// Input tokens.
    pub input_tokens: i64,
    /// Output tokens.
    pub output_tokens: i64,
    /// Cache-read tokens.
    pub cache_read_tokens: i64,
    /// Cache-write tokens.
    pub cache_write_tokens: i64,
    /// The exact cost as a decimal string, or `null` when some job's model has no price.
    pub cost: Option<String>,
    /// The cost of the jobs that do have a price (equals `cost` when all do).
    pub priced_cost: String,
    /// Jobs whose model has no price (their tokens are counted, their cost is not).
    pub unpriced_jobs: u64,
    /// Model ids without a price in this group, sorted.
    pub unpriced_models: Vec<String>,
}

/// The answer of `GET /api/insights/costs`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CostReport {
    /// Currency of every amount (USD).
    pub currency: String,
    /// day | model | product.
    pub group_by: CostGrouping,
    /// Lower bound applied (inclusive), if any.
    pub from: Option<DateTime<Utc>>,
    /// Upper bound applied (exclusive), if any.
    pub to: Option<DateTime<Utc>>,
    /// One line per group, sorted by key.
    pub groups: Vec<CostLine>,
    /// All groups together.
    pub total: CostLine,
}

#[derive(Debug, Default)]
struct Acc {
    line: CostLine,
    priced: Pico,
    unpriced_models: BTreeSet<String>,
}

impl Acc {
    fn add(&mut self, u: &JobUsage, c: Option<Pico>) {
        self.line.jobs += 1;
        self.line.input_tokens += u.input_tokens.unwrap_or(0);
        self.line.output_tokens += u.output_tokens.unwrap_or(0);
        self.line.cache_read_tokens += u.cache_read_tokens.unwrap_or(0);
        self.line.cache_write_tokens += u.cache_write_tokens.unwrap_or(0);
        match c {
            Some(c) => self.priced = self.priced.plus(c),
            None => {
                self.line.unpriced_jobs += 1;
                self.unpriced_models.insert(u.model_id.clone().unwrap_or_else(|| "(none)".into()));
            }
        }
    }

    fn finish(mut self, key: Option<String>) -> CostLine {
        self.line.key = key;
        self.line.priced_cost = self.priced.to_decimal(MONEY_PLACES);
        self.line.cost = (self.line.unpriced_jobs == 0).then(|| self.line.priced_cost.clone());
        self.line.unpriced_models = self.unpriced_models.into_iter().collect();
        self.line
    }
}

#[derive(Debug, FromQueryResult)]
struct JobUsage {
    product_id: String,
    model_id: Option<String>,
    runtime: String,
    input_tokens: Option<i64>,
    output_tokens: Option<i64>,
    cache_read_tokens: Option<i64>,
    cache_write_tokens: Option<i64>,
    finished_at: Option<DateTime<Utc>>,
}

fn parse_bound(errs: &mut ValidationErrors, path: &str, v: Option<&str>, end_of_day: bool) -> Option<DateTime<Utc>> {
    let v = v.map(str::trim).filter(|s| !s.is_empty())?;
    if let Ok(d) = NaiveDate::parse_from_str(v, "%Y-%m-%d") {
        let d = if end_of_day { d.succ_opt()? } else { d };
        return Some(d.and_hms_opt(0, 0, 0)?.and_utc());
    }
    match DateTime::parse_from_rfc3339(v) {
        Ok(t) => Some(t.with_timezone(&Utc)),
        Err(_) => {
            errs.add(path, "must be a date (YYYY-MM-DD) or an RFC 3339 instant");
            None
        }
    }
}

impl App {
    /// Tokens and exact costs of finished jobs in the products the caller
    /// can read, grouped by day, model or product.
    pub async fn cost_insights(&self, actor: &Actor, query: CostQuery) -> AppResult<CostReport> {
        let mut errs = ValidationErrors::new();
        let group_by = match query.group_by.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            None => CostGrouping::Day,
            Some(g) => match g.to_ascii_lowercase().as_str() {
                "day" => CostGrouping::Day,
                "model" => CostGrouping::Model,
                "product" => CostGrouping::Product,
                _ => {
                    errs.add("group_by", "must be one of day, model, product");
                    CostGrouping::Day
                }
            },
        };
        let from = parse_bound(&mut errs, "from", query.from.as_deref(), false);
        let to = parse_bound(&mut errs, "to", query.to.as_deref(), true);
        if let (Some(f), Some(t)) = (from, to)
            && f >= t
        {
            errs.add("to", "must be after from");
        }
        errs.into_result()?;
        let mut q = job::Entity::find()
            .select_only()
            .columns([
                job::Column::ProductId,
                job::Column::ModelId,
                job::Column::Runtime,
                job::Column::InputTokens,
                job::Column::OutputTokens,
                job::Column::CacheReadTokens,
                job::Column::CacheWriteTokens,
                job::Column::FinishedAt,
            ])
            .filter(job::Column::FinishedAt.is_not_null());
        match query.product_id.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            Some(pid) => {
                let p = crate::products::readable_ref(&self.db, actor, pid).await?;
                q = q.filter(job::Column::ProductId.eq(p.id));
            }
            None => q = q.filter(crate::questions::readable_products(actor, job::Column::ProductId)),
        }
        if let Some(f) = from {
            q = q.filter(job::Column::FinishedAt.gte(f));
        }
        if let Some(t) = to {
            q = q.filter(job::Column::FinishedAt.lt(t));
        }
        let rows = q.into_model::<JobUsage>().all(&self.db).await?;
        let book = self.price_book().await?;
        let mut groups: BTreeMap<Option<String>, Acc> = BTreeMap::new();
        let mut total = Acc::default();
        for u in &rows {
            let usage = Usage {
                input: u.input_tokens.unwrap_or(0),
                output: u.output_tokens.unwrap_or(0),
                cache_read: u.cache_read_tokens.unwrap_or(0),
                cache_write: u.cache_write_tokens.unwrap_or(0),
            };
            let c = book.cost(u.model_id.as_deref(), Some(&u.runtime), u.finished_at, usage);
            let key = match group_by {
                CostGrouping::Day => u.finished_at.map(|t| t.format("%Y-%m-%d").to_string()),
                CostGrouping::Model => u.model_id.clone(),
                CostGrouping::Product => Some(u.product_id.clone()),
            };
            groups.entry(key).or_default().add(u, c);
            total.add(u, c);
        }
        Ok(CostReport {
            currency: REPORT_CURRENCY.into(),
            group_by,
            from,
            to,
            groups: groups.into_iter().map(|(k, a)| a.finish(k)).collect(),
            total: total.finish(None),
        })
    }
}
