//! `/products/{code}/planning`: sprint planning. The product backlog's
//! unfinished stories by PBI on the left, the open sprints on the right;
//! a story moves through `POST /products/{code}/stories/{ST}/sprint`, which
//! the drag-and-drop and each story's keyboard "Move…" form both post
//! (`sprint` = a sprint code, or empty for the backlog).

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
    sprints::{AddStories, PlanStory},
};
use serde::Deserialize;

use super::{
    layout::{FormErrors, Layout, OrPage, PageError, PageUser, form_status, local_path},
    sprints::{Failed, FormView, ProductCtx, beside, label},
};
use crate::AppState;

/// The routes of this module.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/products/{code}/planning", get(show))
        .route("/products/{code}/stories/{story}/sprint", post(move_story))
}

struct StoryView {
    code: String,
    title: String,
    status: String,
    pbi_code: String,
    tasks: u64,
    sprint: String,
}

impl StoryView {
    fn of(s: PlanStory, sprint: &str) -> StoryView {
        StoryView {
            status: s.status.as_api(),
            code: s.code,
            title: s.title,
            pbi_code: s.pbi_code,
            tasks: s.tasks,
            sprint: sprint.to_string(),
        }
    }
}

struct PbiGroup {
    code: String,
    title: String,
    status: String,
    stories: Vec<StoryView>,
}

struct SprintColumn {
    code: String,
    goal: String,
    stories: Vec<StoryView>,
}

#[derive(Template, WebTemplate)]
#[template(path = "planning/show.html")]
struct PlanningPage<'a> {
    layout: Layout,
    slug: String,
    blocked: Option<String>,
    drag: bool,
    backlog: Vec<PbiGroup>,
    sprints: Vec<SprintColumn>,
    open: Vec<String>,
    forms: FormView<'a>,
    alert: FormErrors,
    return_to: String,
}

/// Renders sprint planning, with a failed form when there is one.
pub(super) async fn render(
    s: &AppState,
    actor: &Actor,
    code: &str,
    status: StatusCode,
    failed: Option<Failed>,
) -> Response {
    render_page(s, actor, code, status, failed.as_ref()).await.unwrap_or_else(IntoResponse::into_response)
}

async fn render_page(
    s: &AppState,
    actor: &Actor,
    code: &str,
    status: StatusCode,
    failed: Option<&Failed>,
) -> Result<Response, PageError> {
    let ctx = ProductCtx::load(s, actor, code).await?;
    let read = s.app.planning_read(actor, &ctx.product.id).await.or_page(actor)?;
    let backlog = read
        .backlog
        .into_iter()
        .map(|p| PbiGroup {
            status: p.status.as_api(),
            stories: p.stories.into_iter().map(|s| StoryView::of(s, "")).collect(),
            code: p.code,
            title: p.title,
        })
        .collect();
    let open: Vec<String> = read.sprints.iter().map(|s| s.sprint.code.clone()).collect();
    let sprints = read
        .sprints
        .into_iter()
        .map(|s| SprintColumn {
            stories: s.stories.into_iter().map(|st| StoryView::of(st, &s.sprint.code)).collect(),
            code: s.sprint.code,
            goal: s.sprint.sprint_goal,
        })
        .collect();
    let page = PlanningPage {
        layout: ctx.layout(s, actor, &format!("Planning · {}", ctx.product.name), "planning").await?,
        return_to: format!("/products/{}/planning", ctx.slug),
        drag: ctx.blocked.is_none(),
        slug: ctx.slug,
        blocked: ctx.blocked,
        backlog,
        sprints,
        open,
        alert: failed.filter(|f| f.form.starts_with("move-")).map(|f| f.errors.clone()).unwrap_or_default(),
        forms: FormView::new(failed),
    };
    Ok((status, page).into_response())
}

async fn show(State(s): State<AppState>, PageUser(actor): PageUser, Path(code): Path<String>) -> Response {
    render(&s, &actor, &code, StatusCode::OK, None).await
}

/// The fields the planning drag-and-drop and Move… forms post.
#[derive(Deserialize)]
struct MoveForm {
    #[serde(default)]
    sprint: String,
    #[serde(default)]
    before: String,
    #[serde(default)]
    after: String,
    #[serde(default)]
    return_to: Option<String>,
}

async fn move_story(
    State(s): State<AppState>,
    PageUser(actor): PageUser,
    Path((code, story)): Path<(String, String)>,
    Form(f): Form<MoveForm>,
) -> Response {
    let fallback = format!("/products/{code}/planning");
    let id = match s.app.product_story_id(&actor, &code, &story).await {
        Ok(id) => id,
        Err(e) => return PageError::new(&actor, e).into_response(),
    };
    match plan(&s, &actor, &code, &id, &f).await {
        Ok(()) => Redirect::to(local_path(f.return_to.as_deref(), &fallback)).into_response(),
        Err(e) => {
            let failed = Failed::not_moved(&story, &e, ("sprint", f.sprint.as_str()));
            render(&s, &actor, &code, form_status(&e), Some(failed)).await
        }
    }
}

/// Puts the story into the chosen sprint (or back in the backlog), then
/// among its PBI's stories next to a neighbour of the same PBI, if the
/// drop named one (story order is kept per PBI).
async fn plan(s: &AppState, actor: &Actor, code: &str, id: &str, f: &MoveForm) -> Result<(), AppError> {
    let story = s.app.get_story(actor, id).await?;
    let target = f.sprint.trim();
    if target.is_empty() {
        if let Some(current) = &story.sprint_id {
            s.app.remove_story_from_sprint(actor, current, id).await?;
        }
    } else {
        let sprint = match s.app.product_sprint(actor, code, target).await {
            Ok(sp) => sp,
            Err(AppError::NotFound(_)) => {
                return Err(AppError::field("sprint", format!("no sprint {target} in this product")));
            }
            Err(e) => return Err(e),
        };
        if story.sprint_id.as_deref() != Some(sprint.id.as_str()) {
            s.app.add_stories_to_sprint(actor, &sprint.id, AddStories { story_ids: vec![id.to_string()] }).await?;
        }
    }
    for (neighbour, before) in [(f.before.trim(), true), (f.after.trim(), false)] {
        if neighbour.is_empty() {
            continue;
        }
        let Ok(other) = s.app.product_story_id(actor, code, neighbour).await else { continue };
        let other = s.app.get_story(actor, &other).await?;
        if other.pbi_id == story.pbi_id && other.id != story.id {
            s.app.move_story(actor, id, beside(other.id, before)).await?;
            break;
        }
    }
    Ok(())
}
