//! `/me/bids`: the caller's bids (the service of `GET /api/me/bids`),
//! newest first, filtered by status in the URL, in pages; each links its
//! opportunity and a pending one can be withdrawn here (the form posts to
//! the opportunity's withdraw route and comes back).

use askama::Template;
use askama_web::WebTemplate;
use axum::{
    Router,
    extract::{Query, State},
    response::{IntoResponse, Response},
    routing::get,
};
use baton_app::{AppError, marketplace::bids::BidFilter};
use baton_domain::marketplace::BidStatus;
use serde::Deserialize;

use super::{
    browse::Choice,
    opportunity::{BidRow, bid_row, opportunity_path},
};
use crate::{
    AppState,
    pages::{
        layout::{DEMO_REASON, FormErrors, Layout, OrPage, PageError, PageUser, listed_or_filter_errors, urlencode},
        tasks::status_label,
    },
};

/// The routes of this module.
pub fn router() -> Router<AppState> {
    Router::new().route("/me/bids", get(index))
}

/// Bids per page.
const PER_PAGE: u64 = 25;

/// The list's filter as it arrives in the URL.
#[derive(Debug, Default, Deserialize)]
struct BidsQuery {
    #[serde(default)]
    status: String,
    #[serde(default)]
    page: String,
}

impl BidsQuery {
    fn url(&self, page: u64) -> String {
        let mut q = Vec::new();
        if !self.status.trim().is_empty() {
            q.push(format!("status={}", urlencode(self.status.trim())));
        }
        if page > 1 {
            q.push(format!("page={page}"));
        }
        if q.is_empty() { "/me/bids".into() } else { format!("/me/bids?{}", q.join("&")) }
    }

    fn filter(&self) -> Result<BidFilter, AppError> {
        let status = match self.status.trim() {
            "" => None,
            s => Some(
                BidStatus::parse_api(s)
                    .ok_or_else(|| AppError::field("status", format!("must be one of {}", BidStatus::api_values())))?,
            ),
        };
        let page = match self.page.trim() {
            "" => None,
            p => Some(p.parse::<u64>().map_err(|_| AppError::field("page", "must be a whole number from 1"))?),
        };
        Ok(BidFilter { status, page, limit: Some(PER_PAGE) })
    }
}

/// One bid with its opportunity.
struct Row {
    bid: BidRow,
    opportunity: String,
    title: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "market/browse_my_bids.html")]
struct MyBidsPage {
    layout: Layout,
    errors: FormErrors,
    statuses: Vec<Choice>,
    rows: Vec<Row>,
    total: u64,
    page: u64,
    pages: u64,
    prev: Option<String>,
    next: Option<String>,
    filtered: bool,
    back: String,
    write_block: Option<String>,
}

async fn index(
    State(s): State<AppState>,
    PageUser(actor): PageUser,
    Query(q): Query<BidsQuery>,
) -> Result<Response, PageError> {
    let layout = Layout::new(&s, &actor, "My bids", "bids").await.or_page(&actor)?;
    let listed = match q.filter() {
        Ok(f) => s.app.list_my_bids(&actor, f).await,
        Err(e) => Err(e),
    };
    let (status, errors, listed) = listed_or_filter_errors(&actor, listed, PER_PAGE)?;
    let mut rows = Vec::with_capacity(listed.items.len());
    for b in listed.items {
        // A bid's expert always sees its opportunity; a vanished one is named by id.
        let title = match s.app.get_opportunity(&actor, &b.opportunity_id).await {
            Ok(o) => o.title,
            Err(AppError::NotFound(_)) => b.opportunity_id.clone(),
            Err(e) => return Err(PageError::new(&actor, e)),
        };
        rows.push(Row { opportunity: opportunity_path(&b.opportunity_id), title, bid: bid_row(b) });
    }
    let pages = listed.total.div_ceil(listed.limit.max(1)).max(1);
    let current = q.status.trim().to_ascii_lowercase();
    let page = MyBidsPage {
        layout,
        errors,
        statuses: BidStatus::ALL
            .iter()
            .map(|st| {
                let v = st.as_api();
                Choice { label: status_label(&v), selected: v == current, value: v }
            })
            .collect(),
        rows,
        total: listed.total,
        page: listed.page,
        pages,
        prev: (listed.page > 1).then(|| q.url(listed.page - 1)),
        next: (listed.page < pages).then(|| q.url(listed.page + 1)),
        filtered: !current.is_empty(),
        back: q.url(listed.page),
        write_block: actor.is_demo.then(|| DEMO_REASON.to_string()),
    };
    Ok((status, page).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_status_filter_stays_in_the_url() {
        let q = BidsQuery { status: "pending".into(), page: String::new() };
        assert_eq!(q.url(2), "/me/bids?status=pending&page=2");
        assert_eq!(q.filter().expect("valid").status, Some(BidStatus::Pending));
        let bad = BidsQuery { status: "won".into(), page: String::new() };
        assert!(FormErrors::from(&bad.filter().expect_err("bad")).field("status").is_some());
    }
}
