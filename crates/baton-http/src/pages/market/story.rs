//! `/market/stories/{id}`: one marketplace story — number, title, epic,
//! project, workflow state with the moves the caller may make, description
//! and acceptance criteria, story and gate files, assignees, validation
//! (with the form for validators and the project's threshold), the
//! developer's PR form, the latest QA gate with the approve button and the
//! link to the review form, the story's opportunities, and the audit trail
//! (oldest first, the same service as `GET /api/stories/{id}/audit`).
//!
//! Forms (plain posts answered with a 303 back to this page, or this page
//! again with the refusal next to the field): `POST …/validation`,
//! `…/moves` (start, block, unblock), `…/pr`, `…/approve`. Every control
//! is enabled exactly when the service's `story_workflow` says the write
//! would pass its guards, and disabled with that reason otherwise.

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
    marketplace::stories::{
        ActionState, AuditEntryView, MarketStoryView, StoryApproval, StoryPr, StoryTransition, StoryWorkflow,
        ValidationInput,
    },
};
use baton_domain::marketplace::{WorkflowStatus, workflow::ConcernsPolicy, workflow::ValidationDecision};
use serde::Deserialize;
use serde_json::Value;

use crate::{
    AppState,
    pages::{
        layout::{FormErrors, Layout, OrPage, PageError, PageUser, form_status, unix_text, urlencode},
        markdown,
        tasks::{fmt_time, status_label},
    },
};

/// The routes of the story page.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/market/stories/{id}", get(show))
        .route("/market/stories/{id}/validation", post(validation))
        .route("/market/stories/{id}/moves", post(moves))
        .route("/market/stories/{id}/pr", post(submit_pr))
        .route("/market/stories/{id}/approve", post(approve))
}

/// The URL of a marketplace story's page.
pub fn story_path(id: &str) -> String {
    format!("/market/stories/{}", urlencode(id))
}

/// The URL of a project's page (its code, or its id when it has none).
pub fn project_path(code: Option<&str>, id: &str) -> String {
    format!("/projects/{}", urlencode(code.unwrap_or(id)))
}

/// A workflow state's label (`ready_for_review` → "Ready for review").
pub fn workflow_label(w: WorkflowStatus) -> String {
    status_label(&w.as_api())
}

/// What a CONCERNS gate does under the project's policy, in words.
pub fn concerns_text(p: ConcernsPolicy) -> &'static str {
    match p {
        ConcernsPolicy::Rework => "CONCERNS sends the story back to the developer for rework (in progress)",
        ConcernsPolicy::Proceed => "CONCERNS is non-blocking: the story is completed like a PASS",
    }
}

/// The caller's parts in words ("the client, a validator").
fn roles_text(roles: &[&str]) -> Option<String> {
    let words: Vec<&str> = roles
        .iter()
        .map(|r| match *r {
            "qa" => "the assigned QA",
            "developer" => "the assigned developer",
            "client" => "the client",
            _ => "a validator",
        })
        .collect();
    (!words.is_empty()).then(|| words.join(", "))
}

/// Why a control is disabled, if it is.
fn block_of(a: &ActionState) -> Option<String> {
    (!a.allowed).then(|| a.reason.clone().unwrap_or_else(|| "Not possible now".into()))
}

/// One move button (start, block, unblock).
struct MoveButton {
    to: String,
    label: String,
    block: Option<String>,
}

/// One audit entry as the trail shows it.
pub struct AuditRow {
    /// When.
    pub at: String,
    /// Who (`the platform` when nobody).
    pub who: String,
    /// The action (`STATUS_CHANGED`, …).
    pub action: String,
    /// The state before, if the entry moved the story.
    pub from: Option<String>,
    /// The state after.
    pub to: Option<String>,
    /// The metadata as `key: value` pairs.
    pub details: Vec<(String, String)>,
}

fn value_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Array(items) => items.iter().map(value_text).collect::<Vec<_>>().join("; "),
        Value::Null => "—".into(),
        other => other.to_string(),
    }
}

/// Rows of the audit trail, oldest first as the service lists them.
pub fn audit_rows(audit: &[AuditEntryView]) -> Vec<AuditRow> {
    audit
        .iter()
        .map(|a| AuditRow {
            at: fmt_time(a.created_at),
            who: a.user.as_ref().map_or_else(|| "the platform".into(), |u| u.username.clone()),
            action: a.action.clone(),
            from: a.from_status.map(workflow_label),
            to: a.to_status.map(workflow_label),
            details: match &a.metadata {
                Some(Value::Object(m)) => {
                    m.iter().filter(|(_, v)| !v.is_null()).map(|(k, v)| (k.replace('_', " "), value_text(v))).collect()
                }
                Some(other) => vec![("details".into(), value_text(other))],
                None => vec![],
            },
        })
        .collect()
}

/// The top issues of the latest QA gate (kept in its audit entry).
pub fn latest_top_issues(audit: &[AuditEntryView]) -> Vec<String> {
    audit
        .iter()
        .rev()
        .find(|a| a.action == "GATE_UPDATED")
        .and_then(|a| a.metadata.as_ref())
        .and_then(|m| m.get("top_issues"))
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect())
        .unwrap_or_default()
}

/// An opportunity of the story.
struct OpportunityRow {
    id: String,
    stage: String,
    title: String,
    status: String,
    status_label: String,
    bids: u64,
}

#[derive(Template, WebTemplate)]
#[template(path = "market/story_show.html")]
struct StoryPage {
    layout: Layout,
    story: MarketStoryView,
    wf: StoryWorkflow,
    status: String,
    status_label: String,
    roles_text: Option<String>,
    /// The story in the backlog (for the client, who owns the product).
    backlog_href: Option<String>,
    project_href: String,
    description_html: Option<String>,
    criteria_html: Option<String>,
    qa_notes_html: Option<String>,
    top_issues: Vec<String>,
    gate: Option<String>,
    validated_at: Option<String>,
    validated_by: Option<String>,
    decision: Option<String>,
    concerns: &'static str,
    moves: Vec<MoveButton>,
    validate_block: Option<String>,
    pr_block: Option<String>,
    approve_block: Option<String>,
    review_block: Option<String>,
    opportunities: Vec<OpportunityRow>,
    audit: Vec<AuditRow>,
    form: &'static str,
    errors: FormErrors,
    posted: Posted,
    self_path: String,
}

impl StoryPage {
    /// The errors of form `form` (empty for the others).
    fn errors_of(&self, form: &str) -> FormErrors {
        if self.form == form { self.errors.clone() } else { FormErrors::none() }
    }
}

/// The values a refused form posted (kept in its fields).
#[derive(Debug, Default, Clone)]
struct Posted {
    score: String,
    decision: String,
    pr_url: String,
}

async fn render(
    s: &AppState,
    actor: &Actor,
    id: &str,
    status: StatusCode,
    form: &'static str,
    errors: FormErrors,
    posted: Posted,
) -> Result<Response, PageError> {
    let detail = s.app.get_market_story(actor, id).await.or_page(actor)?;
    let wf = s.app.story_workflow(actor, id).await.or_page(actor)?;
    let story = detail.story;
    let title = format!("{} {}", story.number, story.title);
    let layout = Layout::new(s, actor, &title, "projects").await.or_page(actor)?;
    let a = &wf.actions;
    let mut moves = Vec::new();
    match story.workflow_status {
        WorkflowStatus::Approved => moves.push(MoveButton {
            to: WorkflowStatus::InProgress.as_api(),
            label: "Start work".into(),
            block: block_of(&a.start),
        }),
        WorkflowStatus::Blocked => moves.push(MoveButton {
            to: a.unblock_to.map(|w| w.as_api()).unwrap_or_default(),
            label: match a.unblock_to {
                Some(w) => format!("Unblock (back to {})", workflow_label(w).to_lowercase()),
                None => "Unblock".into(),
            },
            block: block_of(&a.unblock),
        }),
        _ => {}
    }
    if !matches!(story.workflow_status, WorkflowStatus::Blocked | WorkflowStatus::Done) {
        moves.push(MoveButton {
            to: WorkflowStatus::Blocked.as_api(),
            label: "Block".into(),
            block: block_of(&a.block),
        });
    }
    let names = |id: &Option<String>| {
        id.as_ref().map(|i| {
            detail.audit.iter().filter_map(|e| e.user.as_ref()).find(|u| &u.id == i).map_or_else(
                || {
                    [story.assigned_dev.as_ref(), story.assigned_qa.as_ref()]
                        .into_iter()
                        .flatten()
                        .find(|u| &u.id == i)
                        .map_or_else(|| "someone".to_string(), |u| u.username.clone())
                },
                |u| u.username.clone(),
            )
        })
    };
    let page = StoryPage {
        layout,
        status: story.workflow_status.as_api(),
        status_label: workflow_label(story.workflow_status),
        roles_text: roles_text(&wf.roles),
        backlog_href: wf.roles.contains(&"client").then(|| {
            format!(
                "/products/{}/stories/{}",
                urlencode(wf.project.code.as_deref().unwrap_or(&wf.project.id)),
                story.code
            )
        }),
        project_href: project_path(wf.project.code.as_deref(), &wf.project.id),
        description_html: story.description.as_deref().map(markdown::render),
        criteria_html: story.acceptance_criteria.as_deref().map(markdown::render),
        qa_notes_html: story.qa_notes.as_deref().map(markdown::render),
        top_issues: latest_top_issues(&detail.audit),
        gate: story.qa_gate.map(|g| g.as_api()),
        validated_at: story.validated_at.map(fmt_time),
        validated_by: names(&story.validated_by),
        decision: story
            .validation_decision
            .map(|d| String::from(if d == ValidationDecision::Go { "GO" } else { "NO-GO" })),
        concerns: concerns_text(wf.project.concerns_policy),
        moves,
        validate_block: block_of(&a.validate),
        pr_block: block_of(&a.submit_pr),
        approve_block: block_of(&a.approve),
        review_block: block_of(&a.qa_review),
        opportunities: wf
            .opportunities
            .iter()
            .map(|o| OpportunityRow {
                id: o.id.clone(),
                stage: o.stage.as_api(),
                title: o.title.clone(),
                status: o.status.as_api(),
                status_label: status_label(&o.status.as_api()),
                bids: o.bid_count,
            })
            .collect(),
        audit: audit_rows(&detail.audit),
        form,
        errors,
        posted,
        self_path: story_path(&story.id),
        story,
        wf,
    };
    Ok((status, page).into_response())
}

async fn show(
    State(s): State<AppState>,
    PageUser(actor): PageUser,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    render(&s, &actor, &id, StatusCode::OK, "", FormErrors::none(), Posted::default()).await
}

/// After a form: back to the story (303), or the page again with the
/// refusal next to the form (404 stays the one not-found page).
async fn answer<T>(
    s: &AppState,
    actor: &Actor,
    id: &str,
    form: &'static str,
    posted: Posted,
    done: Result<T, AppError>,
) -> Result<Response, PageError> {
    match done {
        Ok(_) => Ok(Redirect::to(&story_path(id)).into_response()),
        Err(e @ AppError::NotFound(_)) => Err(PageError::new(actor, e)),
        Err(e) => render(s, actor, id, form_status(&e), form, FormErrors::from(&e), posted).await,
    }
}

/// The validation form.
#[derive(Debug, Default, Deserialize)]
struct ValidationForm {
    #[serde(default)]
    score: String,
    #[serde(default)]
    decision: String,
}

/// `POST /market/stories/{id}/validation`: a validate-next-story result;
/// a GO at or above the threshold approves the story.
async fn validation(
    State(s): State<AppState>,
    PageUser(actor): PageUser,
    Path(id): Path<String>,
    Form(f): Form<ValidationForm>,
) -> Result<Response, PageError> {
    let posted = Posted { score: f.score.clone(), decision: f.decision.clone(), ..Default::default() };
    let input = match (f.score.trim().parse::<i32>(), ValidationDecision::parse_api(f.decision.trim())) {
        (Ok(score), Some(decision)) => Ok(ValidationInput { score, decision }),
        (Err(_), _) => Err(AppError::field("score", "must be a whole number from 1 to 10")),
        (_, None) => Err(AppError::field("decision", "must be go or no_go")),
    };
    let done = match input {
        Ok(i) => s.app.record_validation(&actor, &id, i).await,
        Err(e) => Err(e),
    };
    answer(&s, &actor, &id, "validation", posted, done).await
}

/// The move form.
#[derive(Debug, Default, Deserialize)]
struct MoveForm {
    #[serde(default)]
    to: String,
}

/// `POST /market/stories/{id}/moves`: start, block, or back from blocked.
async fn moves(
    State(s): State<AppState>,
    PageUser(actor): PageUser,
    Path(id): Path<String>,
    Form(f): Form<MoveForm>,
) -> Result<Response, PageError> {
    let done = match WorkflowStatus::parse_api(f.to.trim()) {
        Some(to) => s.app.transition_story(&actor, &id, StoryTransition { to }).await,
        None => Err(AppError::field("to", format!("must be one of: {}", WorkflowStatus::api_values()))),
    };
    answer(&s, &actor, &id, "moves", Posted::default(), done).await
}

/// The PR form.
#[derive(Debug, Default, Deserialize)]
struct PrForm {
    #[serde(default)]
    pr_url: String,
}

/// `POST /market/stories/{id}/pr`: the assigned developer's pull request.
async fn submit_pr(
    State(s): State<AppState>,
    PageUser(actor): PageUser,
    Path(id): Path<String>,
    Form(f): Form<PrForm>,
) -> Result<Response, PageError> {
    let posted = Posted { pr_url: f.pr_url.clone(), ..Default::default() };
    let done = s.app.submit_story_pr(&actor, &id, StoryPr { pr_url: f.pr_url.trim().to_string() }).await;
    answer(&s, &actor, &id, "pr", posted, done).await
}

/// The approve form.
#[derive(Debug, Default, Deserialize)]
struct ApproveForm {
    #[serde(default)]
    notes: String,
}

/// `POST /market/stories/{id}/approve`: the assigned QA approves (gate PASS).
async fn approve(
    State(s): State<AppState>,
    PageUser(actor): PageUser,
    Path(id): Path<String>,
    Form(f): Form<ApproveForm>,
) -> Result<Response, PageError> {
    let notes = unix_text(&f.notes);
    let input = StoryApproval { notes: Some(notes).filter(|n| !n.trim().is_empty()) };
    let done = s.app.approve_story(&actor, &id, input).await;
    answer(&s, &actor, &id, "approve", Posted::default(), done).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_encoded_and_projects_fall_back_to_their_id() {
        assert_eq!(story_path("a b"), "/market/stories/a+b");
        assert_eq!(project_path(Some("WALK"), "x"), "/projects/WALK");
        assert_eq!(project_path(None, "x"), "/projects/x");
    }

    #[test]
    fn the_latest_gate_gives_the_top_issues() {
        let entry = |action: &str, meta: Value| AuditEntryView {
            id: "a".into(),
            user: None,
            action: action.into(),
            from_status: None,
            to_status: None,
            metadata: Some(meta),
            created_at: chrono::Utc::now(),
        };
        let audit = vec![
            entry("GATE_UPDATED", serde_json::json!({"top_issues": ["old"]})),
            entry("GATE_UPDATED", serde_json::json!({"top_issues": ["empty cart", "slow"]})),
            entry("STATUS_CHANGED", serde_json::json!({"via": "qa_review"})),
        ];
        assert_eq!(latest_top_issues(&audit), vec!["empty cart".to_string(), "slow".to_string()]);
        let rows = audit_rows(&audit);
        assert_eq!(rows[0].who, "the platform");
        assert_eq!(rows[1].details, vec![("top issues".to_string(), "empty cart; slow".to_string())]);
    }
}
