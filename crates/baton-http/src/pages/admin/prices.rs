//! `/admin/prices`: model prices (list, add, change, delete) through the
//! price services `/api/admin/model-prices` uses. Prices are typed as
//! decimals per million tokens (`3.00`) and stored in micro-units.

use askama::Template;
use askama_web::WebTemplate;
use axum::{
    Form, Router,
    extract::{Path, State},
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
    routing::{get, post},
};
use baton_app::{
    Actor, AppError,
    prices::{ModelPricePatch, ModelPriceView, NewModelPrice, PriceFilter},
};
use baton_domain::agents::{AgentRuntime, BillingMode, BillingUnit};
use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize;

use super::admin_only;
use crate::{
    AppState,
    pages::layout::{DEMO_REASON, FormErrors, Layout, OrPage, PageError, PageUser, form_status},
};

/// The routes of this module.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/prices", get(page).post(create))
        .route("/admin/prices/{id}", post(update))
        .route("/admin/prices/{id}/delete", post(delete))
}

/// The four price fields: (form name, label).
const PRICES: [(&str, &str); 4] = [
    ("input_price_per_1m", "Input"),
    ("output_price_per_1m", "Output"),
    ("cache_read_price_per_1m", "Cache read"),
    ("cache_write_price_per_1m", "Cache write"),
];

/// A price row's form, as typed.
#[derive(Debug, Clone, Default, Deserialize)]
struct PriceForm {
    #[serde(default)]
    model_id: String,
    #[serde(default)]
    runtime: String,
    #[serde(default)]
    provider: String,
    #[serde(default)]
    billing_mode: String,
    #[serde(default)]
    billing_unit: String,
    #[serde(default)]
    service_tier: String,
    #[serde(default)]
    input_price_per_1m: String,
    #[serde(default)]
    output_price_per_1m: String,
    #[serde(default)]
    cache_read_price_per_1m: String,
    #[serde(default)]
    cache_write_price_per_1m: String,
    #[serde(default)]
    currency: String,
    #[serde(default)]
    effective_from: String,
    #[serde(default)]
    source_url: String,
    #[serde(default)]
    notes: String,
}

/// Parses a decimal amount (`3`, `3.5`, `0.000001`) into micro-units.
fn micros(field: &str, v: &str) -> Result<i64, AppError> {
    let bad = || AppError::field(field, "must be an amount like 3.00 (at most 6 decimals, not negative)");
    let v = v.trim();
    if v.is_empty() {
        return Ok(0);
    }
    let (whole, frac) = v.split_once('.').unwrap_or((v, ""));
    if whole.is_empty() && frac.is_empty()
        || !whole.chars().all(|c| c.is_ascii_digit())
        || !frac.chars().all(|c| c.is_ascii_digit())
        || frac.len() > 6
        || whole.len() > 12
    {
        return Err(bad());
    }
    let whole: i64 = if whole.is_empty() { 0 } else { whole.parse().map_err(|_| bad())? };
    let frac: i64 = format!("{frac:0<6}").parse().map_err(|_| bad())?;
    whole.checked_mul(1_000_000).and_then(|w| w.checked_add(frac)).ok_or_else(bad)
}

/// Shows micro-units as a decimal with at least two places (`3.00`, `0.30`, `0.000125`).
fn decimal(m: i64) -> String {
    let s = format!("{}.{:06}", m / 1_000_000, (m % 1_000_000).abs());
    let trimmed = s.trim_end_matches('0');
    let places = trimmed.split_once('.').map_or(0, |(_, f)| f.len());
    if places < 2 { format!("{}.{:02}", m / 1_000_000, (m % 1_000_000).abs() / 10_000) } else { trimmed.to_string() }
}

fn date(v: &str) -> Result<Option<DateTime<Utc>>, AppError> {
    let v = v.trim();
    if v.is_empty() {
        return Ok(None);
    }
    NaiveDate::parse_from_str(v, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| Some(t.and_utc()))
        .ok_or_else(|| AppError::field("effective_from", "must be a date like 2026-01-31"))
}

fn opt(v: &str) -> Option<String> {
    let v = v.trim();
    (!v.is_empty()).then(|| v.to_string())
}

impl PriceForm {
    fn of(p: &ModelPriceView) -> PriceForm {
        PriceForm {
            model_id: p.model_id.clone(),
            runtime: p.runtime.as_api(),
            provider: p.provider.clone(),
            billing_mode: p.billing_mode.as_api(),
            billing_unit: p.billing_unit.as_api(),
            service_tier: p.service_tier.clone(),
            input_price_per_1m: decimal(p.input_price_per_1m_micros),
            output_price_per_1m: decimal(p.output_price_per_1m_micros),
            cache_read_price_per_1m: decimal(p.cache_read_price_per_1m_micros),
            cache_write_price_per_1m: decimal(p.cache_write_price_per_1m_micros),
            currency: p.currency.clone(),
            effective_from: p.effective_from.map(|t| t.format("%Y-%m-%d").to_string()).unwrap_or_default(),
            source_url: p.source_url.clone().unwrap_or_default(),
            notes: p.notes.clone().unwrap_or_default(),
        }
    }

    /// The four prices as `(form name, label, value)`.
    fn prices(&self) -> Vec<(&'static str, &'static str, &str)> {
        let values = [
            &self.input_price_per_1m,
            &self.output_price_per_1m,
            &self.cache_read_price_per_1m,
            &self.cache_write_price_per_1m,
        ];
        PRICES.iter().zip(values).map(|((n, l), v)| (*n, *l, v.as_str())).collect()
    }

    /// All four prices in micro-units; every bad one is reported.
    fn micros(&self) -> Result<[i64; 4], AppError> {
        let mut out = [0; 4];
        let mut errs = baton_domain::ValidationErrors::new();
        for (i, (name, _, v)) in self.prices().into_iter().enumerate() {
            match micros(name, v) {
                Ok(m) => out[i] = m,
                Err(AppError::Validation(v)) => errs.0.extend(v.0),
                Err(e) => return Err(e),
            }
        }
        errs.into_result()?;
        Ok(out)
    }

    fn new_price(&self) -> Result<NewModelPrice, AppError> {
        let [input, output, cache_read, cache_write] = self.micros()?;
        Ok(NewModelPrice {
            model_id: self.model_id.clone(),
            runtime: opt(&self.runtime),
            provider: opt(&self.provider),
            billing_mode: opt(&self.billing_mode),
            billing_unit: opt(&self.billing_unit),
            service_tier: opt(&self.service_tier),
            input_price_per_1m_micros: input,
            output_price_per_1m_micros: output,
            cache_read_price_per_1m_micros: cache_read,
            cache_write_price_per_1m_micros: cache_write,
            currency: opt(&self.currency),
            effective_from: date(&self.effective_from)?,
            source_url: opt(&self.source_url),
            notes: opt(&self.notes),
        })
    }

    /// Every field is sent by the form, so empty optional ones clear.
    fn patch(&self) -> Result<ModelPricePatch, AppError> {
        let [input, output, cache_read, cache_write] = self.micros()?;
        Ok(ModelPricePatch {
            model_id: Some(self.model_id.clone()),
            runtime: Some(self.runtime.clone()),
            provider: Some(self.provider.clone()),
            billing_mode: Some(self.billing_mode.clone()),
            billing_unit: Some(self.billing_unit.clone()),
            service_tier: Some(self.service_tier.clone()),
            input_price_per_1m_micros: Some(input),
            output_price_per_1m_micros: Some(output),
            cache_read_price_per_1m_micros: Some(cache_read),
            cache_write_price_per_1m_micros: Some(cache_write),
            currency: Some(self.currency.clone()),
            effective_from: Some(date(&self.effective_from)?),
            source_url: Some(opt(&self.source_url)),
            notes: Some(opt(&self.notes)),
        })
    }
}

/// The service names price fields `…_micros`; the form shows decimals
/// under the name without the suffix.
fn errors_of(e: &AppError) -> FormErrors {
    let mut f = FormErrors::from(e);
    for (field, _) in &mut f.fields {
        if let Some(base) = field.strip_suffix("_micros") {
            *field = base.to_string();
        }
    }
    f
}

struct PriceRow {
    id: String,
    form: PriceForm,
    errors: FormErrors,
}

#[derive(Template, WebTemplate)]
#[template(path = "admin/prices.html")]
struct PricesPage {
    layout: Layout,
    rows: Vec<PriceRow>,
    form: PriceForm,
    errors: FormErrors,
    runtimes: Vec<String>,
    modes: Vec<String>,
    units: Vec<String>,
    disabled: Option<String>,
}

enum Failed {
    Nothing,
    Create(PriceForm, FormErrors),
    Row(String, PriceForm, FormErrors),
    General(FormErrors),
}

async fn render(s: &AppState, actor: &Actor, failed: Failed, status: StatusCode) -> Result<Response, PageError> {
    admin_only(actor)?;
    let layout = Layout::new(s, actor, "Model prices", "admin").await.or_page(actor)?;
    let list = s
        .app
        .list_model_prices(actor, PriceFilter { limit: Some(200), ..Default::default() })
        .await
        .or_page(actor)?
        .items;
    let mut form = PriceForm {
        runtime: AgentRuntime::Claude.as_api(),
        provider: "anthropic".into(),
        billing_mode: BillingMode::Api.as_api(),
        billing_unit: BillingUnit::Usd.as_api(),
        service_tier: "standard".into(),
        currency: "USD".into(),
        ..Default::default()
    };
    let mut errors = FormErrors::none();
    let mut row_failed = None;
    match failed {
        Failed::Nothing => {}
        Failed::Create(f, e) => {
            form = f;
            errors = e;
        }
        Failed::General(e) => errors = e,
        Failed::Row(id, f, e) => {
            if list.iter().any(|p| p.id == id) {
                row_failed = Some((id, f, e));
            } else {
                errors.general.extend(e.all());
            }
        }
    }
    let rows = list
        .iter()
        .map(|p| match &row_failed {
            Some((id, f, e)) if *id == p.id => PriceRow { id: p.id.clone(), form: f.clone(), errors: e.clone() },
            _ => PriceRow { id: p.id.clone(), form: PriceForm::of(p), errors: FormErrors::none() },
        })
        .collect();
    let page = PricesPage {
        layout,
        rows,
        form,
        errors,
        runtimes: AgentRuntime::ALL.iter().map(|r| r.as_api()).collect(),
        modes: BillingMode::ALL.iter().map(|r| r.as_api()).collect(),
        units: BillingUnit::ALL.iter().map(|r| r.as_api()).collect(),
        disabled: actor.is_demo.then(|| DEMO_REASON.to_string()),
    };
    Ok((status, page).into_response())
}

async fn page(State(s): State<AppState>, PageUser(actor): PageUser) -> Result<Response, PageError> {
    render(&s, &actor, Failed::Nothing, StatusCode::OK).await
}

async fn create(
    State(s): State<AppState>,
    PageUser(actor): PageUser,
    Form(f): Form<PriceForm>,
) -> Result<Response, PageError> {
    admin_only(&actor)?;
    let result = match f.new_price() {
        Ok(input) => s.app.create_model_price(&actor, input).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(p) => Ok(Redirect::to(&format!("/admin/prices#price-{}", p.id)).into_response()),
        Err(e) => render(&s, &actor, Failed::Create(f, errors_of(&e)), form_status(&e)).await,
    }
}

async fn update(
    State(s): State<AppState>,
    PageUser(actor): PageUser,
    Path(id): Path<String>,
    Form(f): Form<PriceForm>,
) -> Result<Response, PageError> {
    admin_only(&actor)?;
    let result = match f.patch() {
        Ok(patch) => s.app.update_model_price(&actor, &id, patch).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(_) => Ok(Redirect::to(&format!("/admin/prices#price-{id}")).into_response()),
        Err(e @ AppError::NotFound(_)) => Err(PageError::new(&actor, e)),
        Err(e) => render(&s, &actor, Failed::Row(id, f, errors_of(&e)), form_status(&e)).await,
    }
}

async fn delete(
    State(s): State<AppState>,
    PageUser(actor): PageUser,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    admin_only(&actor)?;
    match s.app.delete_model_price(&actor, &id).await {
        Ok(()) => Ok(Redirect::to("/admin/prices").into_response()),
        Err(e @ AppError::NotFound(_)) => Err(PageError::new(&actor, e)),
        Err(e) => render(&s, &actor, Failed::General(errors_of(&e)), form_status(&e)).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_become_micro_units_and_back() {
        assert_eq!(micros("x", "3").ok(), Some(3_000_000));
        assert_eq!(micros("x", "3.5").ok(), Some(3_500_000));
        assert_eq!(micros("x", "0.000125").ok(), Some(125));
        assert_eq!(micros("x", ".3").ok(), Some(300_000));
        assert_eq!(micros("x", "").ok(), Some(0));
        for bad in ["-1", "1.0000001", "abc", "1e3", ".", "1.2.3", "9999999999999"] {
            assert!(micros("x", bad).is_err(), "{bad}");
        }
        assert_eq!(decimal(3_000_000), "3.00");
        assert_eq!(decimal(300_000), "0.30");
        assert_eq!(decimal(125), "0.000125");
        assert_eq!(decimal(15_750_000), "15.75");
    }
}
