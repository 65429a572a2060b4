//! `/products/{code}/board`: the sprint board (the newest open sprint, or
//! `?sprint=SP-N`). Columns by task status, one drop zone each; stories by
//! PBI with their status and progress, so a roll-up is visible at once. A
//! task moves through `POST /products/{code}/tasks/{T}/status`, which the
//! drag-and-drop and each card's keyboard "Move…" form both post.

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
    sprints::{BoardLane, BoardRead},
};
use baton_domain::backlog::TaskStatus;
use serde::Deserialize;

use super::{
    layout::{FormErrors, Layout, OrPage, PageError, PageUser, form_status, local_path, urlencode},
    sprints::{Failed, ProductCtx, beside, label, percent},
};
use crate::AppState;

/// The routes of this module.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/products/{code}/board", get(show))
        .route("/products/{code}/tasks/{task}/status", post(move_task))
}

/// The columns always shown; `excluded` (set by sprint-run verification)
/// only when a task has it.
const COLUMNS: [TaskStatus; 5] =
    [TaskStatus::ToDo, TaskStatus::InProgress, TaskStatus::Review, TaskStatus::Done, TaskStatus::Failed];

struct CardView {
    code: String,
    title: String,
    status: String,
    story_code: String,
    assignee: Option<String>,
    priority: i32,
}

struct ColumnView {
    status: String,
    label: String,
    cards: Vec<CardView>,
}

struct LaneView {
    code: String,
    title: String,
    status: String,
    assignee: Option<String>,
    tasks: u64,
    done: u64,
    percent: u64,
}

struct PbiView {
    code: String,
    title: String,
    status: String,
    stories: Vec<LaneView>,
}

struct SprintOption {
    code: String,
    text: String,
    selected: bool,
}

struct SprintHead {
    code: String,
    goal: String,
    status: String,
    open: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "board/show.html")]
struct BoardPage {
    layout: Layout,
    slug: String,
    blocked: Option<String>,
    sprint: Option<SprintHead>,
    sprints: Vec<SprintOption>,
    columns: Vec<ColumnView>,
    pbis: Vec<PbiView>,
    statuses: Vec<(String, String)>,
    return_to: String,
    alert: FormErrors,
    run_id: String,
    run_status: String,
    run_active: bool,
    drag: bool,
}

fn pbis_of(lanes: Vec<BoardLane>) -> Vec<PbiView> {
    let mut out: Vec<PbiView> = Vec::new();
    for l in lanes {
        let lane = LaneView {
            percent: percent(l.tasks_done, l.tasks),
            code: l.code,
            title: l.title,
            status: l.status.as_api(),
            assignee: l.assignee,
            tasks: l.tasks,
            done: l.tasks_done,
        };
        match out.last_mut() {
            Some(p) if p.code == l.pbi_code => p.stories.push(lane),
            _ => out.push(PbiView {
                code: l.pbi_code,
                title: l.pbi_title,
                status: l.pbi_status.as_api(),
                stories: vec![lane],
            }),
        }
    }
    out
}

fn columns_of(read: &mut BoardRead) -> Vec<ColumnView> {
    let mut statuses: Vec<TaskStatus> = COLUMNS.to_vec();
    if read.cards.iter().any(|c| c.status == TaskStatus::Excluded) {
        statuses.push(TaskStatus::Excluded);
    }
    let mut columns: Vec<ColumnView> =
        statuses.iter().map(|s| ColumnView { status: s.as_api(), label: label(&s.as_api()), cards: vec![] }).collect();
    for c in std::mem::take(&mut read.cards) {
        let Some(i) = statuses.iter().position(|s| *s == c.status) else { continue };
        let status = columns[i].status.clone();
        columns[i].cards.push(CardView {
            status,
            code: c.code,
            title: c.title,
            story_code: c.story_code,
            assignee: c.assignee,
            priority: c.priority,
        });
    }
    columns
}

/// Renders the board of `sprint` (else the newest open sprint), with a
/// failed move or run start when there is one.
pub(super) async fn render(
    s: &AppState,
    actor: &Actor,
    code: &str,
    sprint: Option<&str>,
    status: StatusCode,
    failed: Option<Failed>,
) -> Response {
    render_page(s, actor, code, sprint, status, failed).await.unwrap_or_else(IntoResponse::into_response)
}

async fn render_page(
    s: &AppState,
    actor: &Actor,
    code: &str,
    sprint: Option<&str>,
    status: StatusCode,
    failed: Option<Failed>,
) -> Result<Response, PageError> {
    let ctx = ProductCtx::load(s, actor, code).await?;
    let mut read = s.app.board_read(actor, &ctx.product.id, sprint).await.or_page(actor)?;
    let columns = columns_of(&mut read);
    let shown = read.sprint.as_ref().map(|s| s.code.clone()).unwrap_or_default();
    let return_to = match sprint {
        Some(_) if !shown.is_empty() => format!("/products/{}/board?sprint={}", ctx.slug, urlencode(&shown)),
        _ => format!("/products/{}/board", ctx.slug),
    };
    let run_active = read.latest_run.as_ref().is_some_and(|r| r.status.is_active());
    let page = BoardPage {
        layout: ctx.layout(s, actor, &format!("Board · {}", ctx.product.name), "board").await?,
        drag: ctx.blocked.is_none(),
        blocked: ctx.blocked,
        sprint: read.sprint.as_ref().map(|sp| SprintHead {
            code: sp.code.clone(),
            goal: sp.sprint_goal.clone(),
            status: sp.status.as_api(),
            open: sp.status == baton_domain::backlog::SprintStatus::Open,
        }),
        sprints: read
            .sprints
            .iter()
            .map(|sp| SprintOption {
                selected: sp.code == shown,
                text: format!("{} — {} ({})", sp.code, sp.sprint_goal, sp.status),
                code: sp.code.clone(),
            })
            .collect(),
        columns,
        pbis: pbis_of(std::mem::take(&mut read.lanes)),
        statuses: TaskStatus::ALL.iter().map(|s| (s.as_api(), label(&s.as_api()))).collect(),
        alert: failed.map(|f| f.errors).unwrap_or_default(),
        run_id: read.latest_run.as_ref().map(|r| r.id.clone()).unwrap_or_default(),
        run_status: read.latest_run.as_ref().map(|r| r.status.as_api()).unwrap_or_default(),
        run_active,
        return_to,
        slug: ctx.slug,
    };
    Ok((status, page).into_response())
}

#[derive(Deserialize)]
struct BoardQuery {
    #[serde(default)]
    sprint: Option<String>,
}

async fn show(
    State(s): State<AppState>,
    PageUser(actor): PageUser,
    Path(code): Path<String>,
    Query(q): Query<BoardQuery>,
) -> Response {
    let sprint = q.sprint.as_deref().map(str::trim).filter(|s| !s.is_empty());
    render(&s, &actor, &code, sprint, StatusCode::OK, None).await
}

/// The fields the board's drag-and-drop and Move… forms post.
#[derive(Deserialize)]
struct MoveForm {
    #[serde(default)]
    status: String,
    #[serde(default)]
    before: String,
    #[serde(default)]
    after: String,
    #[serde(default)]
    return_to: Option<String>,
}

/// The `sprint` query value of a board URL, if any.
fn sprint_param(url: &str) -> Option<String> {
    let query = url.split_once('?')?.1;
    form_urlencoded::parse(query.as_bytes()).find(|(k, _)| k == "sprint").map(|(_, v)| v.into_owned())
}

async fn move_task(
    State(s): State<AppState>,
    PageUser(actor): PageUser,
    Path((code, task)): Path<(String, String)>,
    Form(f): Form<MoveForm>,
) -> Response {
    let fallback = format!("/products/{code}/board");
    let back = local_path(f.return_to.as_deref(), &fallback).to_string();
    let id = match s.app.product_task_id(&actor, &code, &task).await {
        Ok(id) => id,
        Err(e) => return PageError::new(&actor, e).into_response(),
    };
    let result = change_status(&s, &actor, &code, &id, &f).await;
    match result {
        Ok(()) => Redirect::to(&back).into_response(),
        Err(e) => {
            let failed = Failed::not_moved(&task, &e, ("status", f.status.as_str()));
            let sprint = sprint_param(&back);
            render(&s, &actor, &code, sprint.as_deref(), form_status(&e), Some(failed)).await
        }
    }
}

/// Sets the status, then the position among the story's tasks when a
/// neighbour in the column belongs to the same story (order is kept per
/// story; neighbours of other stories say nothing about it).
async fn change_status(s: &AppState, actor: &Actor, code: &str, id: &str, f: &MoveForm) -> Result<(), AppError> {
    let status = TaskStatus::parse_api(&f.status)
        .ok_or_else(|| AppError::field("status", format!("must be one of: {}", TaskStatus::api_values())))?;
    let change = s.app.update_task_status(actor, id, status, None).await?;
    for (neighbour, before) in [(f.before.trim(), true), (f.after.trim(), false)] {
        if neighbour.is_empty() {
            continue;
        }
        let Ok(other) = s.app.product_task_id(actor, code, neighbour).await else { continue };
        let other = s.app.get_task(actor, &other).await?;
        if other.story_id == change.task.story_id && other.id != change.task.id {
            s.app.move_task(actor, id, beside(other.id, before)).await?;
            break;
        }
    }
    Ok(())
}
