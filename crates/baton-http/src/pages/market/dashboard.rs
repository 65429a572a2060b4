//! `/projects/{id-or-code}`: the client's project dashboard — header with
//! status and the stage stepper (Advance stage, Skip UX from the architect
//! stage), the brief (rendered, edit form, Publish), the opportunities per
//! stage with a create form and each one's bids (Accept / Reject while
//! pending), the planning deliverables to review and the rating forms
//! ([`super::deliverables`]), the stories by workflow status (linking
//! `/market/stories/{id}`), and the escrows with their payment
//! instructions and QR code ([`super::escrows`]).
//!
//! Forms: `POST /projects/{p}/brief`, `…/brief/publish`, `…/advance-stage`,
//! `…/opportunities`, `…/bids/{bid}/accept`, `…/bids/{bid}/reject`. A
//! refusal re-renders the dashboard with the message next to the form
//! that was sent and the typed values kept; other people's ids are the one
//! 404 page.
//!
//! Decisions:
//! - Everyone who sees the project (client, members, accepted experts,
//!   administrators) sees the dashboard; only the client gets enabled
//!   write controls, the others see why they are disabled.
//! - Budgets are typed in display units ("1500.00") and turned into minor
//!   units by the domain money parser (at most two decimals), never floats.
//! - A deadline is a date; it means the end of that day in UTC.
//! - Bids, deliverables and escrows the caller may not list (the service
//!   answers 404 to a member without a seat) show as empty lists.

use std::collections::HashMap;

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
    marketplace::{
        bids::BidView,
        deliverables::DeliverableView,
        escrows::EscrowView,
        opportunities::{NewOpportunity, OpportunityView},
        projects::{AdvanceInput, BriefInput, Budget, ProjectView},
        stories::StoryFilter,
    },
};
use baton_domain::marketplace::{
    BidStatus, Currency, DeliverableStatus, EscrowStatus, OpportunityStatus, Stage, WorkflowStatus, money,
    project::{BriefStatus, next_stage},
};
use chrono::{NaiveDate, TimeZone, Utc};
use serde::Deserialize;

use super::projects::{Choice, currency_label, label, minor_display, project_path, project_write_block};
use crate::{
    AppState,
    pages::{
        layout::{FormErrors, Layout, OrPage, PageError, PageUser, form_status, unix_text},
        markdown,
    },
};

/// The routes of the dashboard and its own forms.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/projects/{project}", get(show))
        .route("/projects/{project}/brief", post(brief))
        .route("/projects/{project}/brief/publish", post(publish))
        .route("/projects/{project}/advance-stage", post(advance))
        .route("/projects/{project}/opportunities", post(create_opportunity))
        .route("/projects/{project}/bids/{bid}/accept", post(accept_bid))
        .route("/projects/{project}/bids/{bid}/reject", post(reject_bid))
}

/// What a refused form leaves for the page: which form, its errors, the
/// values typed.
#[derive(Default)]
pub(super) struct Posted {
    /// The form's name (`brief`, `opportunity`, `bid-<id>`, `escrow-<id>`…).
    pub form: String,
    pub errors: FormErrors,
    pub values: HashMap<String, String>,
}

/// One step of the stage stepper.
struct StageStep {
    stage: String,
    label: String,
    /// `done`, `current` or `todo`.
    state: &'static str,
}

/// A bid as the dashboard lists it.
struct BidRow {
    id: String,
    expert_id: String,
    expert: String,
    amount: String,
    currency: String,
    proposal: String,
    hours: Option<i32>,
    status: String,
    status_label: String,
    pending: bool,
}

fn bid_row(b: BidView) -> BidRow {
    let status = b.status.as_api();
    BidRow {
        amount: minor_display(b.amount),
        currency: currency_label(b.currency),
        status_label: label(&status),
        pending: b.status == BidStatus::Pending,
        status,
        id: b.id,
        expert_id: b.expert_id,
        expert: b.expert,
        proposal: b.proposal,
        hours: b.estimated_hours,
    }
}

/// A planning deliverable with its review form.
pub(super) struct DeliverableRow {
    id: String,
    pr_url: String,
    pr_number: i32,
    pr_author: String,
    status: String,
    status_label: String,
    notes: Option<String>,
    submitted: String,
    reviewable: bool,
}

fn deliverable_row(d: DeliverableView) -> DeliverableRow {
    let status = d.status.as_api();
    DeliverableRow {
        status_label: label(&status),
        reviewable: d.status == DeliverableStatus::Submitted,
        status,
        submitted: d.submitted_at.format("%Y-%m-%d %H:%M UTC").to_string(),
        id: d.id,
        pr_url: d.pr_url,
        pr_number: d.pr_number,
        pr_author: d.pr_author,
        notes: d.review_notes,
    }
}

/// The rating form of a completed engagement (or the rating given).
struct RateRow {
    expert: String,
    stage: String,
    given: Option<(i32, Option<String>)>,
}

/// An opportunity with its bids and deliverables.
struct OpportunityRow {
    id: String,
    stage: String,
    stage_label: String,
    title: String,
    description_html: String,
    budget: String,
    deadline: Option<String>,
    status: String,
    status_label: String,
    bid_count: u64,
    bids: Vec<BidRow>,
    deliverables: Vec<DeliverableRow>,
    rate: Option<RateRow>,
}

/// One story card.
struct StoryRow {
    id: String,
    number: String,
    title: String,
    score: Option<i32>,
    qa_gate: Option<String>,
}

/// One workflow column.
struct StoryColumn {
    status: String,
    label: String,
    stories: Vec<StoryRow>,
}

/// How to pay a pending escrow.
pub(super) struct PaymentRow {
    pub address: String,
    pub amount: String,
    pub uri: String,
    pub network: String,
    pub instructions: String,
    pub qr_url: String,
}

/// An escrow with its state and, while pending, how to pay it.
struct EscrowRow {
    id: String,
    status: String,
    status_label: String,
    amount: String,
    currency: String,
    chain: String,
    expert: String,
    expert_amount: String,
    tx_hash: Option<String>,
    pending: bool,
    payment: Option<PaymentRow>,
    payment_error: Option<String>,
    last_check: Option<String>,
}

#[derive(Template, WebTemplate)]
#[template(path = "market/client_dashboard.html")]
struct DashboardPage {
    layout: Layout,
    path: String,
    name: String,
    description: Option<String>,
    status: String,
    status_label: String,
    stage_label: String,
    steps: Vec<StageStep>,
    next: Option<(String, String)>,
    skip_ux: bool,
    brief_html: Option<String>,
    brief_status: Option<String>,
    brief_text: String,
    brief_published: bool,
    opportunities: Vec<OpportunityRow>,
    stage_choices: Vec<Choice>,
    currencies: Vec<Choice>,
    columns: Vec<StoryColumn>,
    story_total: usize,
    escrows: Vec<EscrowRow>,
    write_block: Option<String>,
    form: String,
    errors: FormErrors,
    none: FormErrors,
    values: HashMap<String, String>,
}

impl DashboardPage {
    /// The errors of form `form` (none when another form was sent).
    fn errors_for(&self, form: &str) -> &FormErrors {
        if self.form == form { &self.errors } else { &self.none }
    }

    /// A value typed into the refused form, else `fallback`.
    fn value(&self, name: &str, fallback: &str) -> String {
        self.values.get(name).cloned().unwrap_or_else(|| fallback.to_string())
    }
}

/// The list a service answers, or nothing when the caller has no seat to list it.
fn or_empty<T>(r: Result<Vec<T>, AppError>) -> Result<Vec<T>, AppError> {
    match r {
        Err(AppError::NotFound(_) | AppError::Forbidden(_)) => Ok(vec![]),
        other => other,
    }
}

fn steps(current: Stage) -> Vec<StageStep> {
    let at = Stage::ALL.iter().position(|s| *s == current).unwrap_or_default();
    Stage::ALL
        .iter()
        .enumerate()
        .map(|(i, s)| StageStep {
            stage: s.as_api(),
            label: stage_label(*s),
            state: if i < at {
                "done"
            } else if i == at {
                "current"
            } else {
                "todo"
            },
        })
        .collect()
}

/// A stage as people name it (`PM`, `UX`, `QA`, `Architect`).
pub(super) fn stage_label(s: Stage) -> String {
    match s {
        Stage::Pm => "PM".into(),
        Stage::Ux => "UX".into(),
        Stage::Qa => "QA".into(),
        other => label(&other.as_api()),
    }
}

fn budget_label(b: &Budget) -> String {
    format!("{}–{} {}", minor_display(b.min), minor_display(b.max), currency_label(b.currency))
}

async fn opportunity_row(
    s: &AppState,
    actor: &Actor,
    p: &ProjectView,
    o: OpportunityView,
    ratings: &[(String, String, i32, Option<String>)],
) -> Result<OpportunityRow, AppError> {
    let bids = or_empty(s.app.list_opportunity_bids(actor, &o.id).await)?;
    let planning = o.stage.is_planning();
    let deliverables = if planning && o.accepted_bid_id.is_some() {
        or_empty(s.app.list_deliverables(actor, &o.id).await)?
    } else {
        vec![]
    };
    // The client rates the accepted expert of a completed engagement.
    let accepted = o.accepted_bid_id.as_deref().and_then(|id| bids.iter().find(|b| b.id == id));
    let rate = match accepted {
        Some(b) if o.status == OpportunityStatus::Completed && p.access == "own" => Some(RateRow {
            given: ratings
                .iter()
                .find(|(expert_id, stage, _, _)| *expert_id == b.expert_id && *stage == o.stage.as_api())
                .map(|(_, _, r, f)| (*r, f.clone())),
            expert: b.expert.clone(),
            stage: o.stage.as_api(),
        }),
        _ => None,
    };
    let status = o.status.as_api();
    Ok(OpportunityRow {
        stage: o.stage.as_api(),
        stage_label: stage_label(o.stage),
        description_html: markdown::render(&o.description),
        budget: budget_label(&o.budget),
        deadline: o.deadline.map(|d| d.format("%Y-%m-%d").to_string()),
        status_label: label(&status),
        status,
        bid_count: o.bid_count,
        bids: bids.into_iter().map(bid_row).collect(),
        deliverables: deliverables.into_iter().map(deliverable_row).collect(),
        rate,
        id: o.id,
        title: o.title,
    })
}

/// The QR code's URL of an escrow on this project's pages.
pub(super) fn qr_url(project_path: &str, escrow_id: &str) -> String {
    format!("{project_path}/escrows/{escrow_id}/qr.svg")
}

async fn escrow_row(
    s: &AppState,
    actor: &Actor,
    path: &str,
    e: EscrowView,
    experts: &HashMap<String, String>,
) -> EscrowRow {
    let pending = e.status == EscrowStatus::Pending;
    let (payment, payment_error) = if pending {
        match s.app.escrow_payment_instructions(actor, &e.id).await {
            Ok(i) => (
                Some(PaymentRow {
                    qr_url: qr_url(path, &e.id),
                    address: i.address,
                    amount: format!("{} {}", i.amount_display, currency_label(i.currency)),
                    uri: i.uri,
                    network: format!("{} {}", label(&i.blockchain.as_api()), i.network),
                    instructions: i.instructions,
                }),
                None,
            ),
            Err(err) => (None, Some(crate::error::ApiError::from(err).message)),
        }
    } else {
        (None, None)
    };
    let status = e.status.as_api();
    EscrowRow {
        status_label: label(&status),
        status,
        amount: e.amount_display.clone(),
        currency: currency_label(e.currency),
        chain: label(&e.blockchain.as_api()),
        expert: experts.get(&e.expert_id).cloned().unwrap_or_else(|| "the expert".into()),
        expert_amount: e
            .currency
            .base_unit_decimals()
            .and_then(|d| money::parse_base_units(&e.expert_amount).ok().map(|a| money::format_display(a, d)))
            .unwrap_or_default(),
        tx_hash: e.transaction_hash,
        pending,
        payment,
        payment_error,
        last_check: e.last_check.map(|c| format!("{} at {}", c.result, c.checked_at.format("%Y-%m-%d %H:%M UTC"))),
        id: e.id,
    }
}

/// Renders the dashboard of `project_ref` for `actor`, with `posted`'s
/// refusal next to its form.
pub(super) async fn render(
    s: &AppState,
    actor: &Actor,
    project_ref: &str,
    status: StatusCode,
    posted: Posted,
) -> Result<Response, PageError> {
    let p = s.app.get_project(actor, project_ref).await.or_page(actor)?;
    let overview = s.app.project_status(actor, &p.id).await.or_page(actor)?;
    let ratings: Vec<(String, String, i32, Option<String>)> = or_empty(s.app.project_ratings(actor, &p.id).await)
        .or_page(actor)?
        .into_iter()
        .map(|r| (r.expert_id, r.stage.as_api(), r.rating, r.feedback))
        .collect();
    let mut opportunities = Vec::with_capacity(overview.opportunities.len());
    for o in overview.opportunities {
        let row = opportunity_row(s, actor, &p, o, &ratings).await.or_page(actor)?;
        opportunities.push(row);
    }
    // Usernames of the experts, for the escrows (they only carry ids).
    let expert_names: HashMap<String, String> =
        opportunities.iter().flat_map(|o| o.bids.iter().map(|b| (b.expert_id.clone(), b.expert.clone()))).collect();
    let stories = or_empty(s.app.list_project_stories(actor, &p.id, StoryFilter::default()).await).or_page(actor)?;
    let story_total = stories.len();
    let columns = WorkflowStatus::ALL
        .iter()
        .map(|w| StoryColumn {
            status: w.as_api(),
            label: label(&w.as_api()),
            stories: stories
                .iter()
                .filter(|st| st.workflow_status == *w)
                .map(|st| StoryRow {
                    id: st.id.clone(),
                    number: st.number.clone(),
                    title: st.title.clone(),
                    score: st.validation_score,
                    qa_gate: st.qa_gate.map(|g| g.as_api()),
                })
                .collect(),
        })
        .collect();
    let path = project_path(&p);
    let mut escrows = Vec::new();
    for e in or_empty(s.app.list_project_escrows(actor, &p.id).await).or_page(actor)? {
        escrows.push(escrow_row(s, actor, &path, e, &expert_names).await);
    }
    let layout = Layout::new(s, actor, &p.name, "projects").await.or_page(actor)?;
    let brief = p.brief.clone();
    let next = next_stage(p.current_stage).map(|n| (n.as_api(), stage_label(n)));
    let status_api = p.status.as_api();
    let page = DashboardPage {
        layout,
        write_block: project_write_block(actor, &p),
        name: p.name.clone(),
        description: p.description.clone(),
        status_label: label(&status_api),
        status: status_api,
        stage_label: stage_label(p.current_stage),
        steps: steps(p.current_stage),
        next,
        skip_ux: p.current_stage == Stage::Architect,
        brief_html: brief.as_ref().filter(|b| !b.markdown.trim().is_empty()).map(|b| markdown::render(&b.markdown)),
        brief_status: brief.as_ref().map(|b| label(&b.status.as_api())),
        brief_published: brief.as_ref().is_some_and(|b| b.status == BriefStatus::Published),
        brief_text: posted
            .values
            .get("markdown")
            .cloned()
            .unwrap_or_else(|| brief.map(|b| b.markdown).unwrap_or_default()),
        opportunities,
        stage_choices: [Stage::Analyst, Stage::Pm, Stage::Architect, Stage::Ux]
            .iter()
            .map(|st| Choice {
                selected: posted.values.get("stage").map_or(*st == p.current_stage, |v| *v == st.as_api()),
                value: st.as_api(),
                label: stage_label(*st),
            })
            .collect(),
        currencies: Currency::ALL
            .iter()
            .filter(|c| c.chain().is_some())
            .map(|c| Choice {
                selected: posted.values.get("currency").map_or(*c == Currency::Usdc, |v| *v == c.as_api()),
                value: c.as_api(),
                label: currency_label(*c),
            })
            .collect(),
        columns,
        story_total,
        escrows,
        path,
        form: posted.form,
        errors: posted.errors,
        none: FormErrors::none(),
        values: posted.values,
    };
    Ok((status, page).into_response())
}

async fn show(
    State(s): State<AppState>,
    PageUser(actor): PageUser,
    Path(project): Path<String>,
) -> Result<Response, PageError> {
    render(&s, &actor, &project, StatusCode::OK, Posted::default()).await
}

/// After a form: back to the dashboard at `anchor` (303), or the dashboard
/// again with the refusal next to form `form` (404 stays the one
/// not-found page).
pub(super) async fn answer<T>(
    s: &AppState,
    actor: &Actor,
    project: &str,
    form: &str,
    values: HashMap<String, String>,
    done: Result<T, AppError>,
    anchor: &str,
) -> Result<Response, PageError> {
    match done {
        Ok(_) => {
            // The project's URL as it is now (its code may be typed in another case).
            let path = match s.app.get_project(actor, project).await {
                Ok(p) => project_path(&p),
                Err(_) => "/projects".into(),
            };
            Ok(Redirect::to(&format!("{path}#{anchor}")).into_response())
        }
        Err(e @ AppError::NotFound(_)) => Err(PageError::new(actor, e)),
        Err(e) => {
            let posted = Posted { form: form.to_string(), errors: FormErrors::from(&e), values };
            render(s, actor, project, form_status(&e), posted).await
        }
    }
}

/// The brief's markdown.
#[derive(Deserialize)]
struct BriefForm {
    #[serde(default)]
    markdown: String,
}

/// `POST /projects/{p}/brief`: writes the brief (a published one stays published).
async fn brief(
    State(s): State<AppState>,
    PageUser(actor): PageUser,
    Path(project): Path<String>,
    Form(f): Form<BriefForm>,
) -> Result<Response, PageError> {
    let markdown = unix_text(&f.markdown);
    let done = s.app.put_project_brief(&actor, &project, BriefInput { markdown: markdown.clone() }).await;
    let values = HashMap::from([("markdown".to_string(), markdown)]);
    answer(&s, &actor, &project, "brief", values, done, "brief").await
}

/// `POST /projects/{p}/brief/publish`.
async fn publish(
    State(s): State<AppState>,
    PageUser(actor): PageUser,
    Path(project): Path<String>,
) -> Result<Response, PageError> {
    let done = s.app.publish_project_brief(&actor, &project).await;
    answer(&s, &actor, &project, "brief", HashMap::new(), done, "brief").await
}

/// Where to move: empty = the next stage.
#[derive(Deserialize)]
struct AdvanceForm {
    #[serde(default)]
    to: String,
}

/// `POST /projects/{p}/advance-stage`: the next stage, or `to=developer`
/// from the architect stage to skip UX.
async fn advance(
    State(s): State<AppState>,
    PageUser(actor): PageUser,
    Path(project): Path<String>,
    Form(f): Form<AdvanceForm>,
) -> Result<Response, PageError> {
    let done = match f.to.trim() {
        "" => s.app.advance_project_stage(&actor, &project, AdvanceInput { to: None }).await,
        v => match Stage::parse_api(v) {
            Some(to) => s.app.advance_project_stage(&actor, &project, AdvanceInput { to: Some(to) }).await,
            None => Err(AppError::field("to", format!("must be one of {}", Stage::api_values()))),
        },
    };
    answer(&s, &actor, &project, "stage", HashMap::new(), done, "stages").await
}

/// The opportunity form as typed.
#[derive(Debug, Default, Deserialize)]
struct OpportunityForm {
    #[serde(default)]
    stage: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    budget_min: String,
    #[serde(default)]
    budget_max: String,
    #[serde(default)]
    currency: String,
    #[serde(default)]
    deadline: String,
}

impl OpportunityForm {
    fn values(&self) -> HashMap<String, String> {
        [
            ("stage", &self.stage),
            ("title", &self.title),
            ("description", &self.description),
            ("budget_min", &self.budget_min),
            ("budget_max", &self.budget_max),
            ("currency", &self.currency),
            ("deadline", &self.deadline),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect()
    }

    /// The service input; unreadable values are errors naming their field.
    fn input(&self) -> Result<NewOpportunity, AppError> {
        let mut errs = baton_domain::ValidationErrors::new();
        let stage = Stage::parse_api(self.stage.trim());
        if stage.is_none() {
            errs.add("stage", format!("must be one of {}", Stage::api_values()));
        }
        let currency = Currency::parse_api(self.currency.trim());
        if currency.is_none() {
            errs.add("currency", format!("must be one of {}", Currency::api_values()));
        }
        let min = parse_minor(&mut errs, "budget_min", &self.budget_min);
        let max = parse_minor(&mut errs, "budget_max", &self.budget_max);
        let deadline = match self.deadline.trim() {
            "" => None,
            d => match NaiveDate::parse_from_str(d, "%Y-%m-%d").ok().and_then(|d| d.and_hms_opt(23, 59, 59)) {
                Some(t) => Some(Utc.from_utc_datetime(&t)),
                None => {
                    errs.add("deadline", "must be a date (YYYY-MM-DD)");
                    None
                }
            },
        };
        errs.into_result()?;
        let (Some(stage), Some(currency), Some(min), Some(max)) = (stage, currency, min, max) else {
            return Err(AppError::field("budget", "is incomplete"));
        };
        Ok(NewOpportunity {
            stage,
            title: self.title.clone(),
            description: unix_text(&self.description),
            budget: Budget { min, max, currency },
            deadline,
            story_id: None,
        })
    }
}

/// A display amount ("1500", "1500.5", "1500.50") as minor units, exactly.
pub(super) fn parse_minor(errs: &mut baton_domain::ValidationErrors, field: &str, raw: &str) -> Option<i64> {
    let v = money::parse_display(raw.trim(), 2).ok().and_then(|v| i64::try_from(v).ok());
    if v.is_none() {
        errs.add(field, "must be an amount like 1500 or 1500.50 (at most two decimals)");
    }
    v
}

/// `POST /projects/{p}/opportunities`: posts a planning opportunity.
async fn create_opportunity(
    State(s): State<AppState>,
    PageUser(actor): PageUser,
    Path(project): Path<String>,
    Form(f): Form<OpportunityForm>,
) -> Result<Response, PageError> {
    let done = match f.input() {
        Ok(input) => s.app.post_opportunity(&actor, &project, input).await,
        Err(e) => {
            // Who may post is decided before what was typed: a stranger still gets 404.
            match s.app.get_project(&actor, &project).await {
                Ok(_) => Err(e),
                Err(nf) => Err(nf),
            }
        }
    };
    answer(&s, &actor, &project, "opportunity", f.values(), done, "opportunities").await
}

/// `POST /projects/{p}/bids/{bid}/accept`: accepts a pending bid (escrow created).
async fn accept_bid(
    State(s): State<AppState>,
    PageUser(actor): PageUser,
    Path((project, bid)): Path<(String, String)>,
) -> Result<Response, PageError> {
    let done = s.app.accept_bid(&actor, &bid).await;
    answer(&s, &actor, &project, &format!("bid-{bid}"), HashMap::new(), done, "opportunities").await
}

/// `POST /projects/{p}/bids/{bid}/reject`.
async fn reject_bid(
    State(s): State<AppState>,
    PageUser(actor): PageUser,
    Path((project, bid)): Path<(String, String)>,
) -> Result<Response, PageError> {
    let done = s.app.reject_bid(&actor, &bid).await;
    answer(&s, &actor, &project, &format!("bid-{bid}"), HashMap::new(), done, "opportunities").await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budgets_are_read_in_display_units_exactly() {
        let f = OpportunityForm {
            stage: "pm".into(),
            title: "PRD".into(),
            description: "x".into(),
            budget_min: "800".into(),
            budget_max: "1500.5".into(),
            currency: "usdc".into(),
            deadline: "2027-01-31".into(),
        };
        let i = f.input().expect("reads");
        assert_eq!((i.budget.min, i.budget.max), (80_000, 150_050));
        assert_eq!(i.deadline.map(|d| d.to_rfc3339()).as_deref(), Some("2027-01-31T23:59:59+00:00"));
        let bad = OpportunityForm { budget_min: "1.234".into(), deadline: "soon".into(), ..f };
        let AppError::Validation(v) = bad.input().expect_err("refused") else { panic!("validation") };
        let fields: Vec<&str> = v.0.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(fields, ["budget_min", "deadline"]);
    }

    #[test]
    fn the_stepper_marks_the_current_stage() {
        let s = steps(Stage::Architect);
        let states: Vec<&str> = s.iter().map(|x| x.state).collect();
        assert_eq!(states, ["done", "done", "current", "todo", "todo", "todo"]);
        assert_eq!(s[1].label, "PM");
    }
}
