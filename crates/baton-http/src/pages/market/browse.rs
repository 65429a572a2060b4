//! `/opportunities`: open opportunities for experts, with the filters of
//! `GET /api/opportunities` (stage, currency, budget range, deadline
//! window) and its sort as a GET form kept in the URL, in pages. The same
//! service answers both, so the anonymised client, the sequential rule and
//! the bid count are the API's.
//!
//! Decisions:
//! - Budgets are typed in display units ("1500" or "1500.50") and turned
//!   into minor units with the domain's exact money parser; anything else
//!   is an error next to its field with an empty list (422), never a guess.
//! - The deadline window is offered as 7, 14, 30 and 90 days (the API
//!   takes 1–365; other values in a hand-written URL are passed on).
//!
//! The money helpers here are shared by the other marketplace pages of
//! this area: display strings always come from integers.

use askama::Template;
use askama_web::WebTemplate;
use axum::{
    Router,
    extract::{Query, State},
    response::{IntoResponse, Response},
    routing::get,
};
use baton_app::{
    AppError,
    marketplace::opportunities::{OpportunityFilter, OpportunitySort, OpportunityView},
};
use baton_domain::marketplace::{Currency, Stage, money};
use serde::Deserialize;

use crate::{
    AppState,
    pages::{
        layout::{FormErrors, Layout, OrPage, PageError, PageUser, listed_or_filter_errors, urlencode},
        tasks::{fmt_time, status_label},
    },
};

/// The routes of this module.
pub fn router() -> Router<AppState> {
    Router::new().route("/opportunities", get(index))
}

/// Opportunities per page.
const PER_PAGE: u64 = 25;

/// Deadline windows offered, in days.
const WINDOWS: [i64; 4] = [7, 14, 30, 90];

/// How a currency is written on pages (`USDC`, `USDC-SPL`).
pub(super) fn currency_label(c: Currency) -> String {
    c.as_api().to_ascii_uppercase()
}

/// An amount in minor units (hundredths) as display text: `1500.00 USDC`.
pub(super) fn minor_text(amount: i64, currency: Currency) -> String {
    let sign = if amount < 0 { "-" } else { "" };
    let v = u128::from(amount.unsigned_abs());
    format!("{sign}{} {}", money::format_display(v, 2), currency_label(currency))
}

/// A base-unit decimal string (escrows, fees) in display units with the
/// currency's decimals; the raw string when it does not parse.
pub(super) fn base_text(base: &str, decimals: u32, currency: Currency) -> String {
    match money::parse_base_units(base) {
        Ok(v) => format!("{} {}", money::format_display(v, decimals), currency_label(currency)),
        Err(_) => format!("{base} (base units)"),
    }
}

/// A display amount typed into a form ("1500", "1500.5") as minor units;
/// blank is `None`; anything else is a validation error on `field`.
pub(super) fn parse_minor(field: &str, text: &str) -> Result<Option<i64>, AppError> {
    let t = text.trim();
    if t.is_empty() {
        return Ok(None);
    }
    money::parse_display(t, 2)
        .ok()
        .and_then(|v| i64::try_from(v).ok())
        .map(Some)
        .ok_or_else(|| AppError::field(field, "must be an amount like 1500 or 1500.50 (at most two decimals)"))
}

/// A stage's label ("PM", "UX", "Developer").
pub(super) fn stage_label(s: Stage) -> String {
    match s {
        Stage::Pm => "PM".into(),
        Stage::Ux => "UX".into(),
        Stage::Qa => "QA".into(),
        other => status_label(&other.as_api()),
    }
}

/// An option of a select.
pub(super) struct Choice {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

/// One opportunity in the list.
struct Row {
    id: String,
    stage: String,
    stage_label: String,
    title: String,
    project: String,
    budget: String,
    deadline: String,
    client: String,
    bid_count: u64,
}

fn row(o: OpportunityView) -> Row {
    Row {
        stage: o.stage.as_api(),
        stage_label: stage_label(o.stage),
        budget: format!(
            "{} – {}",
            money::format_display(u128::from(o.budget.min.unsigned_abs()), 2),
            minor_text(o.budget.max, o.budget.currency)
        ),
        deadline: o.deadline.map(fmt_time).unwrap_or_else(|| "—".into()),
        id: o.id,
        title: o.title,
        project: o.project_name,
        client: o.client,
        bid_count: o.bid_count,
    }
}

/// The list's filters as they arrive in the URL (empty = any).
#[derive(Debug, Default, Deserialize)]
struct BrowseQuery {
    #[serde(default)]
    stage: String,
    #[serde(default)]
    currency: String,
    /// Display units.
    #[serde(default)]
    budget_min: String,
    /// Display units.
    #[serde(default)]
    budget_max: String,
    /// Days.
    #[serde(default)]
    deadline: String,
    #[serde(default)]
    sort: String,
    #[serde(default)]
    page: String,
}

impl BrowseQuery {
    /// The URL of this list on page `page`, filters and sort kept.
    fn url(&self, page: u64) -> String {
        let mut q = Vec::new();
        for (k, v) in [
            ("stage", &self.stage),
            ("currency", &self.currency),
            ("budget_min", &self.budget_min),
            ("budget_max", &self.budget_max),
            ("deadline", &self.deadline),
            ("sort", &self.sort),
        ] {
            if !v.trim().is_empty() {
                q.push(format!("{k}={}", urlencode(v.trim())));
            }
        }
        if page > 1 {
            q.push(format!("page={page}"));
        }
        if q.is_empty() { "/opportunities".into() } else { format!("/opportunities?{}", q.join("&")) }
    }

    fn filtered(&self) -> bool {
        [&self.stage, &self.currency, &self.budget_min, &self.budget_max, &self.deadline]
            .iter()
            .any(|v| !v.trim().is_empty())
    }

    /// The filter as the service takes it; a bad value is a validation
    /// error on its field.
    fn filter(&self) -> Result<OpportunityFilter, AppError> {
        let blank = |v: &str| v.trim().is_empty();
        let stage = if blank(&self.stage) {
            None
        } else {
            Some(
                Stage::parse_api(&self.stage)
                    .ok_or_else(|| AppError::field("stage", format!("must be one of {}", Stage::api_values())))?,
            )
        };
        let currency = if blank(&self.currency) {
            None
        } else {
            Some(
                Currency::parse_api(&self.currency)
                    .ok_or_else(|| AppError::field("currency", format!("must be one of {}", Currency::api_values())))?,
            )
        };
        let deadline_within_days = if blank(&self.deadline) {
            None
        } else {
            Some(
                self.deadline
                    .trim()
                    .parse::<i64>()
                    .map_err(|_| AppError::field("deadline", "must be a number of days from 1 to 365"))?,
            )
        };
        let sort = match self.sort.trim() {
            "" | "newest" => OpportunitySort::Newest,
            "highest" => OpportunitySort::Highest,
            "lowest" => OpportunitySort::Lowest,
            _ => return Err(AppError::field("sort", "must be newest, highest or lowest")),
        };
        let page = if blank(&self.page) {
            None
        } else {
            Some(
                self.page
                    .trim()
                    .parse::<u64>()
                    .map_err(|_| AppError::field("page", "must be a whole number from 1"))?,
            )
        };
        Ok(OpportunityFilter {
            stage,
            currency,
            budget_min: parse_minor("budget_min", &self.budget_min)?,
            budget_max: parse_minor("budget_max", &self.budget_max)?,
            deadline_within_days,
            sort: Some(sort),
            page,
            limit: Some(PER_PAGE),
        })
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "market/browse_index.html")]
struct BrowsePage {
    layout: Layout,
    errors: FormErrors,
    q: BrowseQuery,
    stages: Vec<Choice>,
    currencies: Vec<Choice>,
    windows: Vec<Choice>,
    sorts: Vec<Choice>,
    rows: Vec<Row>,
    total: u64,
    page: u64,
    pages: u64,
    prev: Option<String>,
    next: Option<String>,
    filtered: bool,
}

fn choices<T: Copy>(all: &[T], current: &str, value: impl Fn(T) -> String, label: impl Fn(T) -> String) -> Vec<Choice> {
    all.iter()
        .map(|v| {
            let value = value(*v);
            Choice { selected: value.eq_ignore_ascii_case(current.trim()), label: label(*v), value }
        })
        .collect()
}

async fn index(
    State(s): State<AppState>,
    PageUser(actor): PageUser,
    Query(q): Query<BrowseQuery>,
) -> Result<Response, PageError> {
    let layout = Layout::new(&s, &actor, "Opportunities", "opportunities").await.or_page(&actor)?;
    let listed = match q.filter() {
        Ok(f) => s.app.list_opportunities(&actor, f).await,
        Err(e) => Err(e),
    };
    let (status, errors, listed) = listed_or_filter_errors(&actor, listed, PER_PAGE)?;
    let pages = listed.total.div_ceil(listed.limit.max(1)).max(1);
    let escrowable: Vec<Currency> = Currency::ALL.iter().copied().filter(|c| c.chain().is_some()).collect();
    let sort = if q.sort.trim().is_empty() { "newest".to_string() } else { q.sort.clone() };
    let page = BrowsePage {
        layout,
        errors,
        stages: choices(Stage::ALL, &q.stage, |v| v.as_api(), stage_label),
        currencies: choices(&escrowable, &q.currency, |v| v.as_api(), currency_label),
        windows: choices(&WINDOWS, &q.deadline, |d| d.to_string(), |d| format!("within {d} days")),
        sorts: choices(
            &["newest", "highest", "lowest"],
            &sort,
            |v| v.to_string(),
            |v| {
                match v {
                    "highest" => "Highest budget",
                    "lowest" => "Lowest budget",
                    _ => "Newest",
                }
                .to_string()
            },
        ),
        rows: listed.items.into_iter().map(row).collect(),
        total: listed.total,
        page: listed.page,
        pages,
        prev: (listed.page > 1).then(|| q.url(listed.page - 1)),
        next: (listed.page < pages).then(|| q.url(listed.page + 1)),
        filtered: q.filtered(),
        q,
    };
    Ok((status, page).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_and_sort_stay_in_the_url_across_pages() {
        let q = BrowseQuery {
            stage: "pm".into(),
            budget_min: "1500.5".into(),
            sort: "highest".into(),
            page: "2".into(),
            ..Default::default()
        };
        assert_eq!(q.url(3), "/opportunities?stage=pm&budget_min=1500.5&sort=highest&page=3");
        assert_eq!(BrowseQuery::default().url(1), "/opportunities");
        assert!(q.filtered() && !BrowseQuery::default().filtered());
    }

    #[test]
    fn display_budgets_become_minor_units_exactly() {
        let q = BrowseQuery { budget_min: "1500.5".into(), budget_max: "2000".into(), ..Default::default() };
        let f = q.filter().expect("valid");
        assert_eq!((f.budget_min, f.budget_max), (Some(150_050), Some(200_000)));
        for bad in ["12.345", "-3", "1e3", "abc"] {
            let q = BrowseQuery { budget_max: bad.into(), ..Default::default() };
            let e = q.filter().expect_err(bad);
            assert!(FormErrors::from(&e).field("budget_max").is_some(), "{bad}");
        }
        let e = BrowseQuery { stage: "boss".into(), ..Default::default() }.filter().expect_err("stage");
        assert!(FormErrors::from(&e).field("stage").is_some());
    }

    #[test]
    fn money_is_shown_from_integers() {
        assert_eq!(minor_text(150_050, Currency::Usdc), "1500.50 USDC");
        assert_eq!(base_text("2137500000", 6, Currency::UsdcSpl), "2137.50 USDC-SPL");
        assert_eq!(base_text("1234567890123456789", 18, Currency::Matic), "1.234567890123456789 MATIC");
    }
}
