//! `/`: the dashboard — my products with their active sprint's progress,
//! my open questions (answerable inline), running jobs and active workers.
//! First-run set-up and the log-in redirect start here too. Every part is
//! a live region, refreshed by the page stream.

use askama::Template;
use askama_web::WebTemplate;
use axum::{
    Router,
    extract::State,
    response::{IntoResponse, Redirect, Response},
    routing::get,
};
use baton_app::{
    Actor, AppError,
    list::PageParams,
    products::{ProductFilter, ProductView},
    questions::QuestionFilter,
    queue::enqueue::JobFilter,
};
use baton_domain::backlog::{StoryStatus, TaskStatus};

use super::{
    layout::{Layout, PageError, slug},
    questions::{QuestionRow, fmt_time, rows},
};
use crate::{AppState, extract::MaybeCaller};

/// The routes of this module.
pub fn router() -> Router<AppState> {
    Router::new().route("/", get(home))
}

/// Products the dashboard shows progress for (the rest are a link away).
const DASHBOARD_PRODUCTS: u64 = 12;
/// Open questions the dashboard lists.
const DASHBOARD_QUESTIONS: u64 = 5;
/// Running jobs the dashboard lists per status.
const DASHBOARD_JOBS: u64 = 20;

struct ProductCard {
    slug: String,
    name: String,
    code: String,
    sprint: Option<SprintProgress>,
}

struct SprintProgress {
    code: String,
    goal: String,
    stories_done: usize,
    stories: usize,
    tasks_done: usize,
    tasks: usize,
}

struct JobRow {
    id: String,
    kind: String,
    status: String,
    product: String,
    since: String,
}

struct WorkerRow {
    instance: String,
    runtime: String,
    tier: String,
    last_seen: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "home/index.html")]
struct HomePage {
    layout: Layout,
    username: String,
    is_demo: bool,
    products: Vec<ProductCard>,
    more_products: bool,
    questions: Vec<QuestionRow>,
    open_total: u64,
    jobs: Vec<JobRow>,
    workers: Vec<WorkerRow>,
    return_to: String,
}

async fn home(State(s): State<AppState>, MaybeCaller(maybe): MaybeCaller) -> Response {
    match s.app.needs_setup().await {
        Ok(true) => return Redirect::to("/setup").into_response(),
        Ok(false) => {}
        Err(e) => return PageError::anonymous(e).into_response(),
    }
    let actor = match maybe {
        None => return Redirect::to("/login").into_response(),
        Some(a) if a.must_reset_password => return Redirect::to("/reset-password").into_response(),
        Some(a) => a,
    };
    match dashboard(&s, &actor).await {
        Ok(page) => page.into_response(),
        Err(e) => PageError::new(&actor, e).into_response(),
    }
}

/// The active sprint (the newest open one) of a product and how far it is.
async fn sprint_progress(s: &AppState, actor: &Actor, p: &ProductView) -> Result<Option<SprintProgress>, AppError> {
    let open = s.app.list_sprints(actor, &p.id, Some("open"), PageParams { page: Some(1), limit: Some(1) }).await?;
    let Some(sprint) = open.items.into_iter().next() else { return Ok(None) };
    let board = s.app.sprint_board(actor, &sprint.id).await?;
    let tasks = board.stories.iter().flat_map(|st| st.tasks.iter());
    Ok(Some(SprintProgress {
        code: sprint.code,
        goal: sprint.sprint_goal,
        stories_done: board.stories.iter().filter(|st| st.status == StoryStatus::Done).count(),
        stories: board.stories.len(),
        tasks_done: tasks.clone().filter(|t| t.status == TaskStatus::Done).count(),
        tasks: tasks.count(),
    }))
}

async fn dashboard(s: &AppState, actor: &Actor) -> Result<HomePage, AppError> {
    let layout = Layout::new(s, actor, "Dashboard", "dashboard").await?;
    let filter = ProductFilter { limit: Some(200), ..Default::default() };
    let all = s.app.list_products(actor, filter).await?.items;
    let mut products = Vec::new();
    for p in all.iter().take(DASHBOARD_PRODUCTS as usize) {
        products.push(ProductCard {
            sprint: sprint_progress(s, actor, p).await?,
            slug: slug(p),
            name: p.name.clone(),
            code: p.code.clone().unwrap_or_default(),
        });
    }
    let open = QuestionFilter { status: Some("open".into()), limit: Some(DASHBOARD_QUESTIONS), ..Default::default() };
    let open = s.app.list_my_questions(actor, open).await?;
    let questions = rows(s, actor, &all, open.items).await?;
    let product_name = |id: &str| all.iter().find(|p| p.id == id).map(|p| p.name.clone()).unwrap_or_default();
    let mut jobs = Vec::new();
    for status in ["running", "claimed"] {
        let filter = JobFilter { status: Some(status.into()), limit: Some(DASHBOARD_JOBS), ..Default::default() };
        for j in s.app.list_jobs(actor, filter).await?.items {
            jobs.push(JobRow {
                since: fmt_time(j.started_at.or(j.claimed_at).unwrap_or(j.created_at)),
                product: product_name(&j.product_id),
                kind: j.kind.replace('_', " "),
                status: j.status,
                id: j.id,
            });
        }
    }
    // "Active" is the workers service's window (seen within 30 s): wide
    // enough that 10 s heartbeats never make "agent connected" flicker.
    let workers = s
        .app
        .list_workers(actor)
        .await?
        .into_iter()
        .filter(|w| w.active && w.user_id == actor.user_id)
        .map(|w| WorkerRow {
            instance: w.hostname.clone().unwrap_or_else(|| w.instance_id.clone()),
            runtime: w.runtime,
            tier: w.tier,
            last_seen: fmt_time(w.last_seen_at),
        })
        .collect();
    Ok(HomePage {
        layout,
        username: actor.username.clone(),
        is_demo: actor.is_demo,
        more_products: all.len() > DASHBOARD_PRODUCTS as usize,
        products,
        questions,
        open_total: open.total,
        jobs,
        workers,
        return_to: "/".into(),
    })
}
