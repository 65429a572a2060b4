//! `/products/{code}/tasks/{T-N}`: a task with its description and plan,
//! story, logs, agent jobs (status, branch, head, PR, verify result, usage,
//! cost, timeline) and questions; "Start agent" and "Cancel agent".
//!
//! Also the pieces the story page and the solo board share: job rows, the
//! reason write controls are disabled, time and status formatting.

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
    Actor, AppError, agent_start::AgentStartCheck, backlog::tasks::TaskView, item_detail::JobLine,
    products::ProductView,
};
use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::{
    item_edit::TaskEdit,
    layout::{FormErrors, Layout, OrPage, PageError, PageUser, form_status, local_path, slug},
    markdown,
    stories::{LogRow, QuestionRow, log_rows, question_rows},
};
use crate::AppState;

/// The routes of this module.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/products/{code}/tasks/{task}", get(task_page))
        .route("/products/{code}/tasks/{task}/agent-runs", post(start_agent))
        .route("/products/{code}/tasks/{task}/agent-runs/cancel", post(cancel_agent))
}

/// Why every write control of a product page is disabled for `actor`, if it is.
pub(super) fn write_block(actor: &Actor, product: &ProductView) -> Option<String> {
    if actor.is_demo {
        Some("Demo accounts are read-only".into())
    } else if product.access == "read_only" {
        Some("Read-only member: you can look but not change".into())
    } else if product.archived {
        Some("The product is archived".into())
    } else {
        None
    }
}

/// A UTC time for people (`2026-05-01 14:03 UTC`).
pub(super) fn fmt_time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// The label of a lowercase status (`in_progress` → `In progress`).
pub(super) fn status_label(api: &str) -> String {
    if api == "todo" {
        return "To do".into();
    }
    let words = api.replace('_', " ");
    let mut c = words.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// A URL that may be a link on our pages (pull requests come from workers).
fn web_url(u: &str) -> bool {
    let l = u.trim().to_ascii_lowercase();
    (l.starts_with("https://") || l.starts_with("http://")) && !u.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// A job as its row shows it.
pub(super) struct JobRow {
    /// Job id.
    pub id: String,
    /// Lowercase status.
    pub status: String,
    /// Status label.
    pub status_label: String,
    /// The task's code (story page).
    pub task_code: String,
    /// Branch.
    pub branch: Option<String>,
    /// Head commit (short).
    pub head_sha: Option<String>,
    /// Pull request link, only when it is an http(s) URL.
    pub pr_link: Option<String>,
    /// Pull request text when it is not a link.
    pub pr_text: Option<String>,
    /// Verify result (lowercase).
    pub verify: Option<String>,
    /// Model.
    pub model: Option<String>,
    /// Token usage in words, when reported.
    pub usage: Option<String>,
    /// Cost in USD, or why it is unknown.
    pub cost: String,
    /// (what happened, when), in order.
    pub timeline: Vec<(&'static str, String)>,
    /// Summary.
    pub summary: Option<String>,
    /// Error.
    pub error: Option<String>,
    /// Handed out again after lost leases.
    pub retries: i32,
}

fn usage_text(j: &baton_app::queue::JobView) -> Option<String> {
    let parts: Vec<String> = [
        ("in", j.input_tokens),
        ("out", j.output_tokens),
        ("cache read", j.cache_read_tokens),
        ("cache write", j.cache_write_tokens),
        ("thinking", j.actual_thinking_tokens),
    ]
    .into_iter()
    .filter_map(|(k, v)| v.map(|v| format!("{v} {k}")))
    .collect();
    (!parts.is_empty()).then(|| format!("{} tokens", parts.join(" · ")))
}

/// Rows of jobs; `codes` maps task ids to their codes.
pub(super) fn job_rows(lines: Vec<JobLine>, codes: &HashMap<String, String>) -> Vec<JobRow> {
    lines
        .into_iter()
        .map(|JobLine { job: j, cost }| {
            let timeline = [
                ("queued", Some(j.created_at)),
                ("claimed", j.claimed_at),
                ("started", j.started_at),
                ("pushed", j.pushed_at),
                ("finished", j.finished_at),
            ]
            .into_iter()
            .filter_map(|(k, t)| t.map(|t| (k, fmt_time(t))))
            .collect();
            let (pr_link, pr_text) = match j.pr_url.clone() {
                Some(u) if web_url(&u) => (Some(u), None),
                other => (None, other),
            };
            let cost = match (cost, j.model_id.is_some()) {
                (Some(c), _) => format!("${c}"),
                (None, true) => "no price for this model".into(),
                (None, false) => "—".into(),
            };
            JobRow {
                status_label: status_label(&j.status),
                task_code: j.task_id.as_ref().and_then(|t| codes.get(t)).cloned().unwrap_or_default(),
                head_sha: j.head_sha.as_ref().map(|h| h.chars().take(12).collect()),
                usage: usage_text(&j),
                verify: j.verify_result.clone(),
                model: j.model_id.clone(),
                retries: j.retry_count,
                branch: j.branch,
                summary: j.summary,
                error: j.error,
                status: j.status,
                id: j.id,
                pr_link,
                pr_text,
                cost,
                timeline,
            }
        })
        .collect()
}

/// Why "Start agent" is disabled for a task: the page-wide reason first,
/// else the service's blockers.
pub(super) fn start_block(write: &Option<String>, check_reason: Option<String>) -> Option<String> {
    write.clone().or(check_reason)
}

#[derive(Template, WebTemplate)]
#[template(path = "tasks/show.html")]
struct TaskPage {
    layout: Layout,
    slug: String,
    task: TaskView,
    status: String,
    status_label: String,
    story_code: String,
    story_title: String,
    story_status: String,
    description_html: Option<String>,
    plan_html: Option<String>,
    jobs: Vec<JobRow>,
    questions: Vec<QuestionRow>,
    logs: Vec<LogRow>,
    write_block: Option<String>,
    start_block: Option<String>,
    live_job: Option<String>,
    agent_error: Option<String>,
    errors: FormErrors,
    edit: TaskEdit,
    self_path: String,
}

impl TaskPage {
    /// Whether `v` is the edit form's current value of `field` (for `selected`).
    fn is(&self, field: &str, v: &str) -> bool {
        self.edit.value(field) == v
    }
}

/// What a re-rendered task page shows besides the task.
#[derive(Default)]
pub(super) struct TaskExtras {
    /// The refusal of Start/Cancel agent.
    pub agent_error: Option<String>,
    /// Errors of an edit form.
    pub errors: FormErrors,
    /// The values of a refused edit form.
    pub edit: Option<TaskEdit>,
}

/// Renders the task page (also with a refused form's errors and values).
pub(super) async fn render_task(
    s: &AppState,
    actor: &Actor,
    code: &str,
    task_ref: &str,
    status: StatusCode,
    extras: TaskExtras,
) -> Result<Response, PageError> {
    let product = s.app.get_product(actor, code).await.or_page(actor)?;
    let task = s.app.product_task(actor, &product.id, task_ref).await.or_page(actor)?;
    let story = s.app.get_story(actor, &task.story_id).await.or_page(actor)?;
    let check: AgentStartCheck = s.app.agent_start_check(actor, &task.id).await.or_page(actor)?;
    let lines = s.app.task_jobs(actor, &product.id, std::slice::from_ref(&task.id)).await.or_page(actor)?;
    let people = s.app.product_people(actor, &product.id).await.or_page(actor)?;
    let questions = s.app.item_questions(actor, &story.id, Some(&task.id)).await.or_page(actor)?;
    let logs =
        s.app.list_story_logs(actor, &story.id, Default::default(), Default::default()).await.or_page(actor)?.items;
    let p = slug(&product);
    let write = write_block(actor, &product);
    let codes = HashMap::from([(task.id.clone(), task.code.clone())]);
    let self_path = format!("/products/{p}/tasks/{}", task.code);
    let page = TaskPage {
        layout: Layout::for_product(s, actor, &format!("{} {}", task.code, task.title), "backlog", &product)
            .await
            .or_page(actor)?,
        status: task.status.as_api(),
        status_label: status_label(&task.status.as_api()),
        story_status: story.status.as_api(),
        story_code: story.code,
        story_title: story.title,
        description_html: task.description.as_deref().map(markdown::render),
        plan_html: task.implementation_plan.as_deref().filter(|p| !p.trim().is_empty()).map(markdown::render),
        jobs: job_rows(lines, &codes),
        questions: question_rows(questions, &people, &self_path, &write),
        logs: log_rows(logs),
        start_block: start_block(&write, check.reason()),
        live_job: check.live_job.map(|j| j.status),
        write_block: write,
        agent_error: extras.agent_error,
        errors: extras.errors,
        edit: extras.edit.unwrap_or_else(|| TaskEdit::of(&task)),
        slug: p,
        self_path,
        task,
    };
    Ok((status, page).into_response())
}

async fn task_page(
    State(s): State<AppState>,
    PageUser(actor): PageUser,
    Path((code, task)): Path<(String, String)>,
) -> Result<Response, PageError> {
    render_task(&s, &actor, &code, &task, StatusCode::OK, TaskExtras::default()).await
}

/// The form of Start/Cancel agent: where to go back to.
#[derive(Deserialize)]
pub(super) struct AgentForm {
    #[serde(default)]
    return_to: Option<String>,
}

/// After a refused Start/Cancel: the page the button was on, with the reason.
async fn agent_refused(
    s: &AppState,
    actor: &Actor,
    code: &str,
    task: &str,
    back: &str,
    e: AppError,
) -> Result<Response, PageError> {
    if matches!(e, AppError::NotFound(_)) {
        return Err(PageError::new(actor, e));
    }
    let status = form_status(&e);
    let message = FormErrors::from(&e).all().join("; ");
    if back.ends_with("/solo") {
        return super::solo::render_solo(s, actor, code, status, Some((task.to_ascii_uppercase(), message))).await;
    }
    let extras = TaskExtras { agent_error: Some(message), ..Default::default() };
    render_task(s, actor, code, task, status, extras).await
}

async fn start_agent(
    State(s): State<AppState>,
    PageUser(actor): PageUser,
    Path((code, task)): Path<(String, String)>,
    Form(f): Form<AgentForm>,
) -> Result<Response, PageError> {
    agent_action(&s, &actor, &code, &task, f, false).await
}

async fn cancel_agent(
    State(s): State<AppState>,
    PageUser(actor): PageUser,
    Path((code, task)): Path<(String, String)>,
    Form(f): Form<AgentForm>,
) -> Result<Response, PageError> {
    agent_action(&s, &actor, &code, &task, f, true).await
}

/// Start (or cancel) the agent of a task, then back to the page the button
/// was on; a refusal re-renders that page with the reason.
async fn agent_action(
    s: &AppState,
    actor: &Actor,
    code: &str,
    task: &str,
    f: AgentForm,
    cancel: bool,
) -> Result<Response, PageError> {
    let product = s.app.get_product(actor, code).await.or_page(actor)?;
    let t = s.app.product_task(actor, &product.id, task).await.or_page(actor)?;
    let fallback = format!("/products/{}/tasks/{}", slug(&product), t.code);
    let back = local_path(f.return_to.as_deref(), &fallback).to_string();
    let done = if cancel { s.app.cancel_agent(actor, &t.id).await } else { s.app.start_agent(actor, &t.id).await };
    match done {
        Ok(_) => Ok(Redirect::to(&back).into_response()),
        Err(e) => agent_refused(s, actor, &product.id, &t.code, &back, e).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_of_statuses() {
        assert_eq!(status_label("todo"), "To do");
        assert_eq!(status_label("in_progress"), "In progress");
        assert_eq!(status_label("done"), "Done");
    }

    #[test]
    fn only_web_urls_are_links() {
        assert!(web_url("https://github.com/o/r/pull/1"));
        assert!(!web_url("javascript:alert(1)"));
        assert!(!web_url("https://x y"));
    }
}
