//! `/opportunities/{id}`: one opportunity — description (markdown), budget,
//! deadline, stage, status, the story and project links and the published
//! brief when the caller may see them; the bid form with the fee preview;
//! the caller's own bid (withdraw while pending); for the project's client
//! every bid with accept and reject; for the accepted expert of a planning
//! stage the deliverable form and their deliverables.
//!
//! Forms (plain posts, 303 on success, the page again with the error next
//! to its field otherwise; 404 stays the one not-found page):
//! `POST /opportunities/{id}/bids` (a `preview` button re-renders the page
//! with the fee preview and writes nothing), `POST
//! /opportunities/{id}/bids/{bid}/withdraw|accept|reject` (with an
//! optional local `back` path) and `POST /opportunities/{id}/deliverables`.
//! `GET /opportunities/{id}/fee-preview?amount=&currency=` answers the
//! preview partial for the bid form's script.
//!
//! Decisions:
//! - The fee preview is `App::bid_fee_preview`, the computation every bid
//!   response shows; the page only formats its base units.
//! - The bid form is offered to everyone but the project's client while the
//!   opportunity is open; it is disabled with the reason for a demo user, a
//!   caller without the stage's role, or one whose bid is live. The service
//!   decides anyway.
//! - Bid decisions are routed under the opportunity so this area's routes
//!   never clash with the client dashboard's.

use askama::Template;
use askama_web::WebTemplate;
use axum::{
    Form, Router,
    extract::{Path, Query, State},
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
    routing::{get, post},
};
use baton_app::{
    Actor, AppError,
    marketplace::{
        bids::{BidView, NewBid},
        deliverables::{DeliverableView, SubmitDeliverable},
        opportunities::OpportunityView,
    },
};
use baton_domain::marketplace::{
    BidStatus, Currency, OpportunityStatus,
    bidding::{self, FeePreview, MIN_PROPOSAL},
    project::BriefStatus,
};
use serde::Deserialize;

use super::browse::{base_text, currency_label, minor_text, parse_minor, stage_label};
use crate::{
    AppState,
    pages::{
        layout::{DEMO_REASON, FormErrors, Layout, OrPage, PageError, PageUser, form_status, local_path, unix_text},
        markdown,
        tasks::{fmt_time, status_label},
    },
};

/// The routes of the opportunity page.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/opportunities/{id}", get(show))
        .route("/opportunities/{id}/bids", post(bid))
        .route("/opportunities/{id}/fee-preview", get(fee_preview))
        .route("/opportunities/{id}/bids/{bid}/{action}", post(decide))
        .route("/opportunities/{id}/deliverables", post(deliver))
}

/// The URL of an opportunity's page.
pub(super) fn opportunity_path(id: &str) -> String {
    format!("/opportunities/{}", crate::pages::layout::urlencode(id))
}

/// A fee preview as the page shows it.
pub(super) struct FeeRow {
    amount: String,
    fee: String,
    rate: String,
    receives: String,
}

fn fee_row(p: &FeePreview, currency: Currency) -> FeeRow {
    let bps = p.platform_fee_bps;
    let flat = base_text(&p.platform_fee_flat, p.decimals, currency);
    let rate = if p.platform_fee_flat == "0" {
        format!("{}.{:02} %", bps / 100, bps % 100)
    } else {
        format!("{}.{:02} % + {flat}", bps / 100, bps % 100)
    };
    FeeRow {
        amount: base_text(&p.amount_base_units, p.decimals, currency),
        fee: base_text(&p.platform_fee, p.decimals, currency),
        receives: base_text(&p.expert_receives, p.decimals, currency),
        rate,
    }
}

/// A bid as the page lists it.
pub(super) struct BidRow {
    pub id: String,
    pub expert: String,
    pub status: String,
    pub status_label: String,
    pub amount: String,
    pub hours: Option<i32>,
    pub proposal_html: String,
    pub at: String,
    pub pending: bool,
    pub receives: Option<String>,
}

pub(super) fn bid_row(b: BidView) -> BidRow {
    let status = b.status.as_api();
    BidRow {
        status_label: status_label(&status),
        pending: b.status == BidStatus::Pending,
        amount: minor_text(b.amount, b.currency),
        receives: b.fee_preview.as_ref().map(|p| base_text(&p.expert_receives, p.decimals, b.currency)),
        hours: b.estimated_hours,
        proposal_html: markdown::render(&b.proposal),
        at: fmt_time(b.created_at),
        expert: b.expert,
        id: b.id,
        status,
    }
}

/// A deliverable as the page lists it.
struct DeliverableRow {
    pr_url: String,
    pr_number: i32,
    status: String,
    status_label: String,
    notes: Option<String>,
    at: String,
}

fn deliverable_row(d: DeliverableView) -> DeliverableRow {
    let status = d.status.as_api();
    DeliverableRow {
        status_label: status_label(&status),
        at: fmt_time(d.submitted_at),
        pr_url: d.pr_url,
        pr_number: d.pr_number,
        notes: d.review_notes,
        status,
    }
}

/// The bid form's values (kept when refused or previewed).
#[derive(Debug, Default, Deserialize)]
struct BidForm {
    /// Display units.
    #[serde(default)]
    amount: String,
    #[serde(default)]
    currency: String,
    #[serde(default)]
    proposal: String,
    #[serde(default)]
    estimated_hours: String,
    /// Present when the "Preview fee" button sent the form.
    #[serde(default)]
    preview: Option<String>,
}

/// Which form a re-rendered page answers.
#[derive(Default)]
struct Posted {
    /// `bid`, `decide` or `deliver`.
    form: &'static str,
    errors: FormErrors,
    bid: BidForm,
    pr_url: String,
    preview: Option<FeeRow>,
}

#[derive(Template, WebTemplate)]
#[template(path = "market/browse_opportunity.html")]
struct OpportunityPage {
    layout: Layout,
    o: OpportunityView,
    stage: String,
    stage_label: String,
    status: String,
    status_label: String,
    budget: String,
    max_bid: String,
    currency: String,
    deadline: Option<String>,
    description_html: String,
    story: Option<(String, String)>,
    project_link: Option<String>,
    brief_html: Option<String>,
    is_client: bool,
    /// Whether the bid form is shown at all (open, not the client).
    can_bid: bool,
    bid_block: Option<String>,
    write_block: Option<String>,
    my_bid: Option<BidRow>,
    bids: Vec<BidRow>,
    /// Whether the opportunity takes bids (decision buttons are shown).
    open: bool,
    /// Whether the caller's bid is the accepted one (the deliverable form).
    accepted_is_me: bool,
    deliverables: Option<Vec<DeliverableRow>>,
    min_proposal: usize,
    form: &'static str,
    errors: FormErrors,
    bid: BidForm,
    pr_url: String,
    preview: Option<FeeRow>,
    /// The fee preview region's message when there is no preview.
    message: Option<String>,
    self_path: String,
}

impl OpportunityPage {
    /// The errors of `form` (empty for the other forms of the page).
    fn errors_of(&self, form: &str) -> FormErrors {
        if self.form == form { self.errors.clone() } else { FormErrors::none() }
    }
}

async fn render(
    s: &AppState,
    actor: &Actor,
    id: &str,
    status: StatusCode,
    posted: Posted,
) -> Result<Response, PageError> {
    let o = s.app.get_opportunity(actor, id).await.or_page(actor)?;
    let bids = s.app.list_opportunity_bids(actor, &o.id).await.or_page(actor)?;
    // The project is readable by its people only; everyone else sees the listing.
    let project = s.app.get_project(actor, &o.project_id).await.ok();
    let is_client = project.as_ref().is_some_and(|p| p.client_id == actor.user_id);
    let brief_html = match &project {
        Some(p) => p
            .brief
            .as_ref()
            .filter(|b| b.status == BriefStatus::Published && !b.markdown.trim().is_empty())
            .map(|b| markdown::render(&b.markdown)),
        None => None,
    };
    let project_link =
        project.as_ref().map(|p| format!("/projects/{}", p.code.clone().unwrap_or_else(|| p.id.clone())));
    let story = match &o.story_id {
        Some(sid) => match s.app.get_market_story(actor, sid).await {
            Ok(d) => {
                Some((format!("/market/stories/{}", d.story.id), format!("Story {} {}", d.story.number, d.story.title)))
            }
            Err(_) => None,
        },
        None => None,
    };
    let write_block = actor.is_demo.then(|| DEMO_REASON.to_string());
    let open = o.status == OpportunityStatus::Open;
    let mine: Vec<&BidView> = bids.iter().filter(|b| b.expert_id == actor.user_id).collect();
    let my_bid = mine.first().map(|b| bid_row((*b).clone()));
    let live_bid = mine.iter().any(|b| b.status != BidStatus::Withdrawn);
    let role = bidding::role_for_stage(o.stage);
    let bid_block = write_block.clone().or_else(|| {
        if !actor.has_role(role) {
            Some(format!("Bidding on a {} opportunity needs the {} role", stage_label(o.stage), role.as_api()))
        } else if live_bid {
            Some("You already bid on this opportunity; withdraw your bid to bid again".into())
        } else {
            None
        }
    });
    // Planning deliverables: the accepted expert's form and list.
    let accepted_is_me = match &o.accepted_bid_id {
        Some(aid) => bids.iter().any(|b| &b.id == aid && b.expert_id == actor.user_id),
        None => false,
    };
    let deliverables = if o.stage.is_planning() && (accepted_is_me || is_client) {
        Some(s.app.list_deliverables(actor, &o.id).await.or_page(actor)?.into_iter().map(deliverable_row).collect())
    } else {
        None
    };
    let layout = Layout::new(s, actor, &o.title, "opportunities").await.or_page(actor)?;
    let mut bid_form = posted.bid;
    if bid_form.currency.is_empty() {
        bid_form.currency = o.budget.currency.as_api();
    }
    let api_status = o.status.as_api();
    let page = OpportunityPage {
        layout,
        stage: o.stage.as_api(),
        stage_label: stage_label(o.stage),
        status_label: status_label(&api_status),
        status: api_status,
        budget: format!(
            "{} to {}",
            minor_text(o.budget.min, o.budget.currency),
            minor_text(o.budget.max, o.budget.currency)
        ),
        max_bid: minor_text(bidding::max_bid(o.budget.max), o.budget.currency),
        currency: currency_label(o.budget.currency),
        deadline: o.deadline.map(fmt_time),
        description_html: markdown::render(&o.description),
        story,
        project_link,
        brief_html,
        is_client,
        can_bid: open && !is_client,
        bid_block,
        write_block,
        my_bid,
        bids: if is_client { bids.into_iter().map(bid_row).collect() } else { vec![] },
        open,
        accepted_is_me,
        deliverables,
        min_proposal: MIN_PROPOSAL,
        form: posted.form,
        errors: posted.errors,
        bid: bid_form,
        pr_url: posted.pr_url,
        preview: posted.preview,
        message: None,
        self_path: opportunity_path(&o.id),
        o,
    };
    Ok((status, page).into_response())
}

async fn show(
    State(s): State<AppState>,
    PageUser(actor): PageUser,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    render(&s, &actor, &id, StatusCode::OK, Posted::default()).await
}

/// The bid form as the service takes it; bad amounts, hours or currency
/// are errors on their fields.
fn new_bid(f: &BidForm) -> Result<NewBid, AppError> {
    let amount = parse_minor("amount", &f.amount)?.ok_or_else(|| AppError::field("amount", "is required"))?;
    let currency = Currency::parse_api(&f.currency)
        .ok_or_else(|| AppError::field("currency", format!("must be one of {}", Currency::api_values())))?;
    let estimated_hours = match f.estimated_hours.trim() {
        "" => None,
        h => Some(h.parse::<i32>().map_err(|_| AppError::field("estimated_hours", "must be a whole number of hours"))?),
    };
    Ok(NewBid { amount, currency, proposal: unix_text(&f.proposal), estimated_hours })
}

/// `POST /opportunities/{id}/bids`: submits the bid (303 to the page's bid
/// section), or with `preview` re-renders the page with the fee preview.
async fn bid(
    State(s): State<AppState>,
    PageUser(actor): PageUser,
    Path(id): Path<String>,
    Form(f): Form<BidForm>,
) -> Result<Response, PageError> {
    let input = new_bid(&f);
    if f.preview.is_some() {
        let (errors, preview) = match &input {
            Ok(b) => match s.app.bid_fee_preview(b.amount, b.currency) {
                Some(p) => (FormErrors::none(), Some(fee_row(&p, b.currency))),
                None => (
                    FormErrors::from(&AppError::field("amount", "cannot be escrowed: the fee would take it all")),
                    None,
                ),
            },
            Err(e) => (FormErrors::from(e), None),
        };
        let status = if preview.is_some() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
        return render(&s, &actor, &id, status, Posted { form: "bid", errors, bid: f, preview, ..Default::default() })
            .await;
    }
    let done = match input {
        Ok(b) => s.app.submit_bid(&actor, &id, b).await,
        Err(e) => Err(e),
    };
    match done {
        Ok(_) => Ok(Redirect::to(&format!("{}#my-bid", opportunity_path(&id))).into_response()),
        Err(e @ AppError::NotFound(_)) => Err(PageError::new(&actor, e)),
        Err(e) => {
            let posted = Posted { form: "bid", errors: FormErrors::from(&e), bid: f, ..Default::default() };
            render(&s, &actor, &id, form_status(&e), posted).await
        }
    }
}

/// The preview query of the bid form's script.
#[derive(Debug, Default, Deserialize)]
struct PreviewQuery {
    #[serde(default)]
    amount: String,
    #[serde(default)]
    currency: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "market/browse_fee_preview.html")]
struct FeePreviewPartial {
    preview: Option<FeeRow>,
    message: Option<String>,
}

/// `GET /opportunities/{id}/fee-preview`: the fee preview partial for an
/// amount in display units (the same region the page renders), for an
/// opportunity the caller may see. Reads nothing else, writes nothing.
async fn fee_preview(
    State(s): State<AppState>,
    PageUser(actor): PageUser,
    Path(id): Path<String>,
    Query(q): Query<PreviewQuery>,
) -> Result<Response, PageError> {
    let o = s.app.get_opportunity(&actor, &id).await.or_page(&actor)?;
    let currency = Currency::parse_api(&q.currency).unwrap_or(o.budget.currency);
    let partial = match parse_minor("amount", &q.amount) {
        Ok(Some(amount)) => match s.app.bid_fee_preview(amount, currency) {
            Some(p) => FeePreviewPartial { preview: Some(fee_row(&p, currency)), message: None },
            None => FeePreviewPartial { preview: None, message: Some("This amount cannot be escrowed.".into()) },
        },
        Ok(None) => FeePreviewPartial { preview: None, message: None },
        Err(_) => FeePreviewPartial {
            preview: None,
            message: Some("Type an amount like 1500 or 1500.50 to see the fee.".into()),
        },
    };
    Ok(partial.into_response())
}

/// A decision form's hidden field: where to go afterwards.
#[derive(Debug, Default, Deserialize)]
struct DecideForm {
    #[serde(default)]
    back: Option<String>,
}

/// `POST /opportunities/{id}/bids/{bid}/withdraw|accept|reject`: the
/// expert withdraws their pending bid, the client accepts or rejects one.
async fn decide(
    State(s): State<AppState>,
    PageUser(actor): PageUser,
    Path((id, bid, action)): Path<(String, String, String)>,
    Form(f): Form<DecideForm>,
) -> Result<Response, PageError> {
    let done = match action.as_str() {
        "withdraw" => s.app.withdraw_bid(&actor, &bid).await,
        "accept" => s.app.accept_bid(&actor, &bid).await,
        "reject" => s.app.reject_bid(&actor, &bid).await,
        _ => Err(AppError::NotFound("page")),
    };
    let fallback = format!("{}#bids", opportunity_path(&id));
    match done {
        Ok(_) => Ok(Redirect::to(local_path(f.back.as_deref(), &fallback)).into_response()),
        Err(e @ AppError::NotFound(_)) => Err(PageError::new(&actor, e)),
        Err(e) => {
            let posted = Posted { form: "decide", errors: FormErrors::from(&e), ..Default::default() };
            render(&s, &actor, &id, form_status(&e), posted).await
        }
    }
}

/// The deliverable form.
#[derive(Debug, Default, Deserialize)]
struct DeliverForm {
    #[serde(default)]
    pr_url: String,
}

/// `POST /opportunities/{id}/deliverables`: the accepted expert submits the
/// pull request that delivers a planning stage.
async fn deliver(
    State(s): State<AppState>,
    PageUser(actor): PageUser,
    Path(id): Path<String>,
    Form(f): Form<DeliverForm>,
) -> Result<Response, PageError> {
    let input = SubmitDeliverable { pr_url: f.pr_url.trim().to_string() };
    match s.app.submit_deliverable(&actor, &id, input).await {
        Ok(_) => Ok(Redirect::to(&format!("{}#deliverables", opportunity_path(&id))).into_response()),
        Err(e @ AppError::NotFound(_)) => Err(PageError::new(&actor, e)),
        Err(e) => {
            let posted =
                Posted { form: "deliver", errors: FormErrors::from(&e), pr_url: f.pr_url, ..Default::default() };
            render(&s, &actor, &id, form_status(&e), posted).await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bid_form_reads_display_units_and_names_bad_fields() {
        let f = BidForm {
            amount: "1500.25".into(),
            currency: "usdc".into(),
            proposal: "x\r\ny".into(),
            estimated_hours: "12".into(),
            preview: None,
        };
        let b = new_bid(&f).expect("valid");
        assert_eq!(
            (b.amount, b.currency, b.proposal.as_str(), b.estimated_hours),
            (150_025, Currency::Usdc, "x\ny", Some(12))
        );
        let bad = BidForm { amount: "1.234".into(), ..f };
        assert!(FormErrors::from(&new_bid(&bad).expect_err("amount")).field("amount").is_some());
        let bad = BidForm { amount: "1".into(), estimated_hours: "many".into(), ..bad };
        assert!(FormErrors::from(&new_bid(&bad).expect_err("hours")).field("estimated_hours").is_some());
    }

    #[test]
    fn fee_previews_are_shown_in_display_units() {
        let p = bidding::fee_preview(225_000, Currency::Usdc, 500, 0).expect("preview");
        let r = fee_row(&p, Currency::Usdc);
        assert_eq!(
            (r.amount.as_str(), r.fee.as_str(), r.receives.as_str()),
            ("2250.00 USDC", "112.50 USDC", "2137.50 USDC")
        );
        assert_eq!(r.rate, "5.00 %");
    }
}
