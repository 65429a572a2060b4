//! `/products/{code}/runs/{id}`: a sprint run with its jobs and the batch
//! job's task executions, its pause context, and cancel / resume. Runs are
//! started from the sprints page and the board (`sprints::start_run`).

use std::collections::HashMap;

use askama::Template;
use askama_web::WebTemplate;
use axum::{
    Router,
    extract::{Path, State},
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
    routing::{get, post},
};
use baton_app::{Actor, AppError, sprint_runs::SprintRunDetail};
use chrono::{DateTime, Utc};

use super::{
    layout::{FormErrors, Layout, OrPage, PageError, PageUser, form_status},
    sprints::{Failed, ProductCtx, label},
};
use crate::AppState;

/// The routes of this module.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/products/{code}/runs/{id}", get(show))
        .route("/products/{code}/runs/{id}/cancel", post(cancel))
        .route("/products/{code}/runs/{id}/resume", post(resume))
}

fn when(t: Option<DateTime<Utc>>) -> String {
    t.map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string()).unwrap_or_else(|| "—".into())
}

struct JobRow {
    id: String,
    kind: String,
    status: String,
    task: String,
    sequence: String,
    started: String,
    finished: String,
    note: String,
}

struct ExecRow {
    order: i32,
    task: String,
    status: String,
    verify: String,
    note: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "runs/show.html")]
struct RunPage {
    layout: Layout,
    slug: String,
    blocked: Option<String>,
    id: String,
    sprint_code: String,
    status: String,
    strategy: String,
    branch: String,
    pr_url: Option<String>,
    started: String,
    finished: String,
    failure: Option<String>,
    failed_task: Option<String>,
    pause: Option<String>,
    previous: Option<String>,
    active: bool,
    paused: bool,
    jobs: Vec<JobRow>,
    executions: Vec<ExecRow>,
    errors: FormErrors,
}

/// Loads a run of this product: runs of other products are the 404 page.
async fn run_of(s: &AppState, actor: &Actor, code: &str, id: &str) -> Result<(SprintRunDetail, String), PageError> {
    let d = s.app.get_sprint_run(actor, id).await.or_page(actor)?;
    let sprint = s.app.product_sprint(actor, code, &d.run.sprint_id).await.or_page(actor)?;
    Ok((d, sprint.code))
}

async fn render(
    s: &AppState,
    actor: &Actor,
    code: &str,
    id: &str,
    status: StatusCode,
    failed: Option<Failed>,
) -> Response {
    render_page(s, actor, code, id, status, failed).await.unwrap_or_else(IntoResponse::into_response)
}

async fn render_page(
    s: &AppState,
    actor: &Actor,
    code: &str,
    id: &str,
    status: StatusCode,
    failed: Option<Failed>,
) -> Result<Response, PageError> {
    let ctx = ProductCtx::load(s, actor, code).await?;
    let (d, sprint_code) = run_of(s, actor, &ctx.product.id, id).await?;
    // Task codes for the tables (a run covers one sprint: a few dozen tasks).
    let mut codes: HashMap<String, String> = HashMap::new();
    let task_ids = d
        .jobs
        .iter()
        .filter_map(|j| j.task_id.clone())
        .chain(d.task_executions.iter().map(|e| e.task_id.clone()))
        .chain(d.run.failed_task_id.clone());
    for t in task_ids {
        if !codes.contains_key(&t)
            && let Ok(task) = s.app.get_task(actor, &t).await
        {
            codes.insert(t, task.code);
        }
    }
    let code_of = |t: &str| codes.get(t).cloned().unwrap_or_else(|| t.to_string());
    let run = &d.run;
    let page = RunPage {
        layout: ctx.layout(s, actor, &format!("Sprint run · {sprint_code}"), "board").await?,
        slug: ctx.slug,
        blocked: ctx.blocked,
        id: run.id.clone(),
        sprint_code,
        status: run.status.as_api(),
        strategy: run.pr_strategy.as_api(),
        branch: run.branch.clone().unwrap_or_else(|| "—".into()),
        pr_url: run.pr_url.clone(),
        started: when(run.started_at),
        finished: when(run.finished_at),
        failure: run.failure_reason.clone(),
        failed_task: run.failed_task_id.as_deref().map(code_of),
        pause: run.pause_context.as_ref().map(|c| serde_json::to_string_pretty(c).unwrap_or_default()),
        previous: run.previous_run_id.clone(),
        active: run.status.is_active(),
        paused: run.status == baton_domain::agents::SprintRunStatus::Paused,
        jobs: d
            .jobs
            .iter()
            .map(|j| JobRow {
                id: j.id.clone(),
                kind: j.kind.to_ascii_lowercase(),
                status: j.status.to_ascii_lowercase(),
                task: j.task_id.as_deref().map(code_of).unwrap_or_else(|| "whole sprint".into()),
                sequence: j.sprint_sequence.map(|n| n.to_string()).unwrap_or_default(),
                started: when(j.started_at),
                finished: when(j.finished_at),
                note: j.error.clone().or_else(|| j.summary.clone()).unwrap_or_default(),
            })
            .collect(),
        executions: d
            .task_executions
            .iter()
            .map(|e| ExecRow {
                order: e.order,
                task: code_of(&e.task_id),
                status: e.status.as_api(),
                verify: e.verify_result.map(|v| v.as_api()).unwrap_or_default(),
                note: e.skip_reason.clone().or_else(|| e.verify_summary.clone()).unwrap_or_default(),
            })
            .collect(),
        errors: failed.map(|f| f.errors).unwrap_or_default(),
    };
    Ok((status, page).into_response())
}

async fn show(
    State(s): State<AppState>,
    PageUser(actor): PageUser,
    Path((code, id)): Path<(String, String)>,
) -> Response {
    render(&s, &actor, &code, &id, StatusCode::OK, None).await
}

/// Runs `action` on a run of this product, then 303 back to the run (the
/// run that now runs, after a resume), or the page with the refusal.
async fn act(
    s: &AppState,
    actor: &Actor,
    code: &str,
    id: &str,
    result: impl Future<Output = Result<SprintRunDetail, AppError>>,
) -> Response {
    match result.await {
        Ok(d) => Redirect::to(&format!("/products/{code}/runs/{}", d.run.id)).into_response(),
        Err(AppError::NotFound(w)) => PageError::new(actor, AppError::NotFound(w)).into_response(),
        Err(e) => render(s, actor, code, id, form_status(&e), Some(Failed::new("run", &e, &[]))).await,
    }
}

async fn cancel(
    State(s): State<AppState>,
    PageUser(actor): PageUser,
    Path((code, id)): Path<(String, String)>,
) -> Response {
    if let Err(e) = run_of(&s, &actor, &code, &id).await {
        return e.into_response();
    }
    act(&s, &actor, &code, &id, s.app.cancel_sprint_run(&actor, &id)).await
}

async fn resume(
    State(s): State<AppState>,
    PageUser(actor): PageUser,
    Path((code, id)): Path<(String, String)>,
) -> Response {
    if let Err(e) = run_of(&s, &actor, &code, &id).await {
        return e.into_response();
    }
    act(&s, &actor, &code, &id, s.app.resume_sprint_run(&actor, &id)).await
}
