//! `/qa`: the caller's QA queue — the marketplace stories they are the
//! assigned QA of, grouped by workflow state with the stories ready for
//! review first — and `/market/stories/{id}/review`, the review form: gate
//! (PASS / CONCERNS / FAIL / WAIVED), notes (markdown), top issues (one per
//! line) and an optional quality score, with the PR link and what the
//! project's CONCERNS policy will do shown before submitting. A review
//! redirects to the story page with its new state; a refusal shows the
//! form again with the message next to the field and the text kept.

use askama::Template;
use askama_web::WebTemplate;
use axum::{
    Form, Router,
    extract::{Path, State},
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
    routing::get,
};
use baton_app::{
    Actor, AppError,
    marketplace::stories::{MarketStoryView, QaReviewInput, StoryWorkflow},
};
use baton_domain::marketplace::{QaGateStatus, WorkflowStatus};
use serde::Deserialize;

use super::story::{concerns_text, latest_top_issues, project_path, story_path, workflow_label};
use crate::{
    AppState,
    pages::{
        layout::{FormErrors, Layout, OrPage, PageError, PageUser, form_status, unix_text},
        markdown,
    },
};

/// The routes of the QA pages.
pub fn router() -> Router<AppState> {
    Router::new().route("/qa", get(index)).route("/market/stories/{id}/review", get(review_form).post(review))
}

/// One story of the queue.
struct QueueRow {
    id: String,
    number: String,
    title: String,
    project: String,
    project_href: String,
    gate: Option<String>,
    reviews: i32,
    pr_url: Option<String>,
    developer: Option<String>,
}

/// The stories of one workflow state.
struct QueueGroup {
    status: String,
    label: String,
    rows: Vec<QueueRow>,
}

#[derive(Template, WebTemplate)]
#[template(path = "market/story_qa.html")]
struct QaPage {
    layout: Layout,
    groups: Vec<QueueGroup>,
    ready: usize,
}

async fn index(State(s): State<AppState>, PageUser(actor): PageUser) -> Result<Response, PageError> {
    let queue = s.app.qa_queue(&actor).await.or_page(&actor)?;
    let layout = Layout::new(&s, &actor, "QA reviews", "qa").await.or_page(&actor)?;
    // The service orders the queue by state; the page groups runs of one state.
    let mut groups: Vec<QueueGroup> = Vec::new();
    let mut ready = 0;
    for e in queue {
        let st = e.story.workflow_status;
        if st == WorkflowStatus::ReadyForReview {
            ready += 1;
        }
        let row = QueueRow {
            project_href: project_path(e.project.code.as_deref(), &e.project.id),
            project: e.project.name,
            gate: e.story.qa_gate.map(|g| g.as_api()),
            reviews: e.story.qa_review_count,
            pr_url: e.story.dev_pr_url,
            developer: e.story.assigned_dev.map(|d| d.username),
            id: e.story.id,
            number: e.story.number,
            title: e.story.title,
        };
        match groups.last_mut() {
            Some(g) if g.status == st.as_api() => g.rows.push(row),
            _ => groups.push(QueueGroup { status: st.as_api(), label: workflow_label(st), rows: vec![row] }),
        }
    }
    Ok(QaPage { layout, groups, ready }.into_response())
}

/// The review form's values.
#[derive(Debug, Default, Clone, Deserialize)]
struct ReviewForm {
    #[serde(default)]
    gate: String,
    #[serde(default)]
    notes: String,
    #[serde(default)]
    top_issues: String,
    #[serde(default)]
    quality_score: String,
}

/// One gate choice with what it does to this story.
struct GateChoice {
    value: String,
    label: &'static str,
    effect: String,
    checked: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "market/story_review.html")]
struct ReviewPage {
    layout: Layout,
    story: MarketStoryView,
    wf: StoryWorkflow,
    self_path: String,
    story_href: String,
    project_href: String,
    status_label: String,
    criteria_html: Option<String>,
    concerns: &'static str,
    gates: Vec<GateChoice>,
    previous_issues: Vec<String>,
    block: Option<String>,
    errors: FormErrors,
    form: ReviewForm,
}

async fn render(
    s: &AppState,
    actor: &Actor,
    id: &str,
    status: StatusCode,
    errors: FormErrors,
    form: ReviewForm,
) -> Result<Response, PageError> {
    let detail = s.app.get_market_story(actor, id).await.or_page(actor)?;
    let wf = s.app.story_workflow(actor, id).await.or_page(actor)?;
    let story = detail.story;
    let layout =
        Layout::new(s, actor, &format!("Review {} {}", story.number, story.title), "qa").await.or_page(actor)?;
    let rework = "the story goes back to the developer for rework (in progress)";
    let complete = "the story is done and its escrows are approved for release";
    let concerns_effect = match wf.project.concerns_policy {
        baton_domain::marketplace::workflow::ConcernsPolicy::Rework => rework,
        baton_domain::marketplace::workflow::ConcernsPolicy::Proceed => complete,
    };
    let chosen = form.gate.trim().to_string();
    let gates = [
        (QaGateStatus::Pass, "PASS", complete),
        (QaGateStatus::Concerns, "CONCERNS", concerns_effect),
        (QaGateStatus::Fail, "FAIL", rework),
        (QaGateStatus::Waived, "WAIVED", complete),
    ]
    .into_iter()
    .map(|(g, label, effect)| GateChoice {
        checked: g.as_api() == chosen,
        value: g.as_api(),
        label,
        effect: effect.into(),
    })
    .collect();
    let block = (!wf.actions.qa_review.allowed)
        .then(|| wf.actions.qa_review.reason.clone().unwrap_or_else(|| "Not possible now".into()));
    let page = ReviewPage {
        layout,
        self_path: format!("{}/review", story_path(&story.id)),
        story_href: story_path(&story.id),
        project_href: project_path(wf.project.code.as_deref(), &wf.project.id),
        status_label: workflow_label(story.workflow_status),
        criteria_html: story.acceptance_criteria.as_deref().map(markdown::render),
        concerns: concerns_text(wf.project.concerns_policy),
        gates,
        previous_issues: latest_top_issues(&detail.audit),
        block,
        errors,
        form,
        story,
        wf,
    };
    Ok((status, page).into_response())
}

async fn review_form(
    State(s): State<AppState>,
    PageUser(actor): PageUser,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    render(&s, &actor, &id, StatusCode::OK, FormErrors::none(), ReviewForm::default()).await
}

/// The service's input from the form; a bad gate or score names its field.
fn review_input(f: &ReviewForm) -> Result<QaReviewInput, AppError> {
    let gate = QaGateStatus::parse_api(f.gate.trim())
        .ok_or_else(|| AppError::field("gate", "choose PASS, CONCERNS, FAIL or WAIVED"))?;
    let quality_score = match f.quality_score.trim() {
        "" => None,
        q => Some(
            q.parse::<i32>().map_err(|_| AppError::field("quality_score", "must be a whole number from 0 to 100"))?,
        ),
    };
    let issues: Vec<String> =
        unix_text(&f.top_issues).lines().map(str::trim).filter(|l| !l.is_empty()).map(str::to_string).collect();
    Ok(QaReviewInput {
        gate,
        notes: unix_text(&f.notes),
        top_issues: (!issues.is_empty()).then_some(issues),
        quality_score,
    })
}

/// `POST /market/stories/{id}/review`: records the gate and shows the story
/// in its new state.
async fn review(
    State(s): State<AppState>,
    PageUser(actor): PageUser,
    Path(id): Path<String>,
    Form(f): Form<ReviewForm>,
) -> Result<Response, PageError> {
    let done = match review_input(&f) {
        Ok(input) => s.app.submit_qa_review(&actor, &id, input).await,
        Err(e) => Err(e),
    };
    match done {
        Ok(_) => Ok(Redirect::to(&story_path(&id)).into_response()),
        Err(e @ AppError::NotFound(_)) => Err(PageError::new(&actor, e)),
        Err(e) => render(&s, &actor, &id, form_status(&e), FormErrors::from(&e), f).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn top_issues_are_one_per_line_and_blank_lines_are_dropped() {
        let f = ReviewForm {
            gate: "concerns".into(),
            notes: "a\r\nb".into(),
            top_issues: " empty cart \r\n\r\nslow".into(),
            quality_score: "70".into(),
        };
        let i = review_input(&f).expect("valid");
        assert_eq!(i.gate, QaGateStatus::Concerns);
        assert_eq!(i.notes, "a\nb");
        assert_eq!(i.top_issues, Some(vec!["empty cart".to_string(), "slow".to_string()]));
        assert_eq!(i.quality_score, Some(70));
    }

    #[test]
    fn a_bad_gate_or_score_names_its_field() {
        let f = ReviewForm { gate: "maybe".into(), ..Default::default() };
        assert!(matches!(review_input(&f), Err(AppError::Validation(v)) if v.0[0].path == "gate"));
        let f = ReviewForm { gate: "pass".into(), quality_score: "high".into(), ..Default::default() };
        assert!(matches!(review_input(&f), Err(AppError::Validation(v)) if v.0[0].path == "quality_score"));
    }
}
