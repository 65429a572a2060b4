//! `/products/{code}/solo`: the solo board (reference §9.5) — my stories
//! and tasks of the active sprint plus the unassigned ones I may take,
//! grouped by story, each task with its latest job's state and "Start
//! agent" (disabled with the reason when it cannot start). The board is one
//! live region: job and backlog events refetch it.

use askama::Template;
use askama_web::WebTemplate;
use axum::{
    Router,
    extract::{Path, State},
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::get,
};
use baton_app::{
    Actor,
    agent_start::reason_of,
    solo::{SoloStory, SoloTask},
};

use super::{
    layout::{Layout, OrPage, PageError, PageUser, slug},
    tasks::{start_block, status_label, write_block},
};
use crate::AppState;

/// The routes of this module.
pub fn router() -> Router<AppState> {
    Router::new().route("/products/{code}/solo", get(solo_page))
}

/// A task card.
struct TaskCard {
    code: String,
    title: String,
    status: String,
    status_label: String,
    /// Latest job's (status, label).
    job: Option<(String, String)>,
    /// Why "Start agent" is disabled.
    start_block: Option<String>,
    /// Whether a job is queued, claimed or running (Cancel agent shows).
    live: bool,
    /// A refused Start/Cancel on this card.
    error: Option<String>,
}

/// A story card with its tasks.
struct StoryCard {
    code: String,
    title: String,
    status: String,
    status_label: String,
    /// Free to take (the unassigned list).
    takeable: bool,
    tasks: Vec<TaskCard>,
}

#[derive(Template, WebTemplate)]
#[template(path = "solo/index.html")]
struct SoloPage {
    layout: Layout,
    slug: String,
    product_name: String,
    sprint: Option<String>,
    mine: Vec<StoryCard>,
    unassigned: Vec<StoryCard>,
    worker_connected: bool,
    write_block: Option<String>,
    me: String,
    self_path: String,
}

fn cards(
    stories: Vec<SoloStory>,
    takeable: bool,
    write: &Option<String>,
    error: &Option<(String, String)>,
) -> Vec<StoryCard> {
    stories
        .into_iter()
        .map(|s| StoryCard {
            status: s.status.as_api(),
            status_label: status_label(&s.status.as_api()),
            takeable,
            tasks: s.tasks.into_iter().map(|t| task_card(t, write, error)).collect(),
            code: s.code,
            title: s.title,
        })
        .collect()
}

fn task_card(t: SoloTask, write: &Option<String>, error: &Option<(String, String)>) -> TaskCard {
    let live = t.blockers.iter().any(|b| b.code == "live_job");
    TaskCard {
        status: t.status.as_api(),
        status_label: status_label(&t.status.as_api()),
        job: t.job.map(|j| (j.status.clone(), status_label(&j.status))),
        start_block: start_block(write, reason_of(&t.blockers)),
        error: error.as_ref().filter(|(c, _)| *c == t.code).map(|(_, m)| m.clone()),
        live,
        code: t.code,
        title: t.title,
    }
}

/// Renders the solo board; `error` is a refused Start/Cancel (task code,
/// message) shown on that task's card.
pub(super) async fn render_solo(
    s: &AppState,
    actor: &Actor,
    code: &str,
    status: StatusCode,
    error: Option<(String, String)>,
) -> Result<Response, PageError> {
    let product = s.app.get_product(actor, code).await.or_page(actor)?;
    let board = s.app.solo_board(actor, &product.id).await.or_page(actor)?;
    let write = write_block(actor, &product);
    let p = slug(&product);
    let page = SoloPage {
        layout: Layout::for_product(s, actor, &format!("Solo — {}", product.name), "solo", &product)
            .await
            .or_page(actor)?,
        sprint: board.sprint.map(|sp| format!("{} — {}", sp.code, sp.sprint_goal)),
        mine: cards(board.mine, false, &write, &error),
        unassigned: cards(board.unassigned, true, &write, &error),
        worker_connected: board.worker_connected,
        write_block: write,
        me: actor.user_id.clone(),
        self_path: format!("/products/{p}/solo"),
        product_name: product.name,
        slug: p,
    };
    Ok((status, page).into_response())
}

async fn solo_page(
    State(s): State<AppState>,
    PageUser(actor): PageUser,
    Path(code): Path<String>,
) -> Result<Response, PageError> {
    render_solo(&s, &actor, &code, StatusCode::OK, None).await
}
