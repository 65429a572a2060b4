//! Sprints: create, list, change, delete (`crud`); add and remove stories
//! (`stories`); close, archive and fail (`close`); and the sprint board,
//! one sprint's stories with their tasks in execution order (`board`).
//! Their hand-written SQL lives in `baton_store::repo::sprints`.
//!
//! Rules (agent-backlog reference §3.2 `create_sprint`/`update_sprint`, §4.4):
//!
//! * Several sprints of one product may be OPEN at once; codes are `SP-N`
//!   per product unless an explicit code (≤30 characters) is given.
//! * A story's tasks always carry their story's `sprint_id`.
//! * Stories are added to and removed from OPEN sprints only (409 otherwise).
//! * `PATCH` is the reference's `update_sprint`: no state machine, the last
//!   write wins; a terminal status without an end date sets it to today,
//!   CLOSED sets `completed_at`. `POST …/close` is the full close: unfinished
//!   stories go back to the backlog or on to another open sprint, and PBIs
//!   whose stories are now all done become done.
//! * Closing or failing a sprint cascades to its active sprint run as in
//!   reference §4.3 step 5.

mod board;
mod close;
mod crud;
mod stories;
mod views;

use baton_domain::{
    agents::SprintRunStatus,
    backlog::{PbiStatus, SprintStatus, StoryStatus},
};
use baton_store::{
    entities::{sprint, story},
    events::{Event, kinds},
    sea_orm::{ConnectionTrait, EntityTrait},
};
use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use serde_json::json;

pub(crate) use self::stories::{
    load_open_sprint, lock_stories, move_stories, moved_stories, recheck_stories, resolve_stories_for_move,
};
pub use self::{
    board::{BoardStory, BoardTask, SprintBoard},
    close::{CloseSprint, ClosedSprint},
    crud::{NewSprint, SprintPatch},
    stories::{AddStories, SprintStories},
    views::{BoardCard, BoardLane, BoardRead, PlanPbi, PlanSprint, PlanStory, PlanningRead, RunBrief, SprintProgress},
};
use crate::{Actor, App, AppError, AppResult, access};
pub use baton_store::repo::sprints::{BOARD_STORIES_SQL, BOARD_TASKS_SQL};

/// Longest sprint goal.
pub const MAX_GOAL: usize = 500;
/// Longest sprint code.
pub const MAX_CODE: usize = 30;
/// Most stories one request may add to a sprint or move.
pub const MAX_STORIES_PER_REQUEST: usize = 500;

/// Event type announcing that a sprint was created, changed or deleted.
pub const SPRINT_CHANGED: &str = "sprint_changed";

/// A sprint as the API shows it.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct SprintView {
    /// Sprint id.
    pub id: String,
    /// The product it belongs to.
    pub product_id: String,
    /// `SP-N` or the explicit code it was created with; unique per product.
    pub code: String,
    /// What the sprint is meant to achieve (1–500 characters).
    pub sprint_goal: String,
    /// open | closed | archived | failed.
    pub status: SprintStatus,
    /// First day.
    pub start_date: Option<NaiveDate>,
    /// Last day (set to the closing day when it ends without one).
    pub end_date: Option<NaiveDate>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// When it was closed.
    pub completed_at: Option<DateTime<Utc>>,
}

fn sprint_status(m: &sprint::Model) -> AppResult<SprintStatus> {
    Ok(SprintStatus::decode(&m.status, "sprints.status")?)
}

fn story_status(m: &story::Model) -> AppResult<StoryStatus> {
    Ok(StoryStatus::decode(&m.status, "stories.status")?)
}

impl SprintView {
    fn of(m: sprint::Model) -> AppResult<SprintView> {
        Ok(SprintView {
            status: sprint_status(&m)?,
            id: m.id,
            product_id: m.product_id,
            code: m.code,
            sprint_goal: m.sprint_goal,
            start_date: m.start_date,
            end_date: m.end_date,
            created_at: m.created_at,
            updated_at: m.updated_at,
            completed_at: m.completed_at,
        })
    }
}

/// A story as moved by a sprint operation.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct MovedStory {
    /// Story id.
    pub id: String,
    /// `ST-NNN`.
    pub code: String,
    /// Title.
    pub title: String,
    /// Status after the move.
    pub status: StoryStatus,
    /// Sprint after the move (`null` = product backlog).
    pub sprint_id: Option<String>,
}

/// A PBI whose status a sprint operation changed.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct PbiChange {
    /// PBI id.
    pub id: String,
    /// `PBI-N`.
    pub code: String,
    /// Status after the change.
    pub status: PbiStatus,
}

/// A sprint run the operation finished, and how.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct RunChange {
    /// Sprint run id.
    pub id: String,
    /// Its status now (`done` or `failed`).
    pub status: SprintRunStatus,
    /// How many of its queued or running jobs were cancelled.
    pub cancelled_jobs: u64,
}

/// The sprint after a status change, with the run it finished.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct SprintStatusChange {
    /// The sprint (its fields inline).
    #[serde(flatten)]
    pub sprint: SprintView,
    /// The sprint's active run, if the change finished it.
    pub sprint_run: Option<RunChange>,
}

fn today() -> NaiveDate {
    Utc::now().date_naive()
}

fn moved(m: story::Model) -> AppResult<MovedStory> {
    Ok(MovedStory { status: story_status(&m)?, id: m.id, code: m.code, title: m.title, sprint_id: m.sprint_id })
}

/// Publishes an event after a commit; a failure is logged, never returned.
pub(crate) async fn publish(app: &App, event: Event) {
    if let Err(e) = app.bus.publish(&event).await {
        tracing::warn!(kind = %event.kind, error = %e, "could not publish an event");
    }
}

/// Announces stories that moved (after the commit).
pub(crate) async fn announce_stories(app: &App, product_id: &str, story_ids: &[String], action: &str) {
    if story_ids.is_empty() {
        return;
    }
    publish(
        app,
        Event::new(kinds::STORY_CHANGED)
            .for_product(product_id)
            .with_data(json!({ "story_ids": story_ids, "action": action })),
    )
    .await;
}

/// Loads a sprint whose product the actor may read; anything else is 404.
async fn readable_sprint<C: ConnectionTrait>(db: &C, actor: &Actor, id: &str) -> AppResult<sprint::Model> {
    let s = sprint::Entity::find_by_id(id.trim().to_string()).one(db).await?.ok_or(AppError::NotFound("sprint"))?;
    match access::readable(db, actor, &s.product_id).await {
        Ok(_) => Ok(s),
        Err(AppError::NotFound(_)) => Err(AppError::NotFound("sprint")),
        Err(e) => Err(e),
    }
}

/// Loads a sprint whose product the actor may change: 404 when they cannot
/// see it, 403 when they may only read it.
async fn writable_sprint<C: ConnectionTrait>(db: &C, actor: &Actor, id: &str) -> AppResult<sprint::Model> {
    actor.require_write()?;
    let s = readable_sprint(db, actor, id).await?;
    access::writable(db, actor, &s.product_id).await?;
    Ok(s)
}

/// Reloads a sprint inside the product transaction (it may have changed or
/// gone since the access check).
async fn reload<C: ConnectionTrait>(db: &C, id: &str) -> AppResult<sprint::Model> {
    sprint::Entity::find_by_id(id.to_string()).one(db).await?.ok_or(AppError::NotFound("sprint"))
}

fn require_open(s: &sprint::Model, doing: &str) -> AppResult<()> {
    let status = sprint_status(s)?;
    if status != SprintStatus::Open {
        return Err(AppError::Conflict(format!("sprint {} is {status}; only an open sprint can {doing}", s.code)));
    }
    Ok(())
}

impl App {
    pub(crate) async fn announce_sprint(&self, product_id: &str, sprint_id: &str, action: &str) {
        publish(
            self,
            Event::new(SPRINT_CHANGED)
                .for_product(product_id)
                .with_data(json!({ "sprint_id": sprint_id, "action": action })),
        )
        .await;
    }
}
