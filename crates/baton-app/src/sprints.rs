//! Sprints: create, list, change, delete; add and remove stories; close,
//! archive and fail; and the sprint board (one sprint's stories with their
//! tasks, in execution order).
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

use std::collections::HashMap;

use baton_domain::{
    ValidationErrors,
    agents::{JobStatus, SprintRunStatus},
    backlog::{PbiStatus, SprintStatus, StoryStatus, TaskStatus},
    codes::CodeKind,
    validation::check_text,
};
use baton_store::{
    entities::{pbi, sprint, sprint_run, story},
    events::{Event, kinds},
    new_id, now,
    sea_orm::{
        ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, FromQueryResult, PaginatorTrait,
        QueryFilter, QueryOrder, QuerySelect, Statement, Value,
    },
};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::json;

use crate::{
    Actor, App, AppError, AppResult, access,
    backlog::refs,
    list::{Page, PageParams},
    txn,
};

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
    SprintStatus::from_db(&m.status)
        .ok_or_else(|| AppError::Internal(format!("sprint {} has an unknown status {:?}", m.id, m.status)))
}

fn story_status(m: &story::Model) -> AppResult<StoryStatus> {
    StoryStatus::from_db(&m.status)
        .ok_or_else(|| AppError::Internal(format!("story {} has an unknown status {:?}", m.id, m.status)))
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

/// Input for a new sprint.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewSprint {
    /// What the sprint is meant to achieve (1–500 characters).
    #[schema(max_length = 500, pattern = "\\S")]
    pub sprint_goal: String,
    /// An explicit code (≤30 characters, unique in the product); default `SP-N`.
    #[serde(default)]
    #[schema(min_length = 1, max_length = 30, pattern = "^\\S+$")]
    pub code: Option<String>,
    /// First day (`YYYY-MM-DD`); default today (UTC).
    #[serde(default)]
    pub start_date: Option<NaiveDate>,
    /// Last day; not before the start date.
    #[serde(default)]
    pub end_date: Option<NaiveDate>,
}

/// Changes to a sprint; absent fields stay as they are. At least one is needed.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(min_properties = 1)]
pub struct SprintPatch {
    /// New goal (1–500 characters).
    #[serde(default)]
    #[schema(max_length = 500, pattern = "\\S")]
    pub sprint_goal: Option<String>,
    /// New first day (`null` clears it).
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<NaiveDate>)]
    pub start_date: Option<Option<NaiveDate>>,
    /// New last day (`null` clears it).
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<NaiveDate>)]
    pub end_date: Option<Option<NaiveDate>>,
    /// New status. No state machine (the last write wins); a terminal status
    /// without an end date sets it to today; `closed` sets `completed_at`.
    /// Stories stay where they are: use `POST /sprints/{id}/close` to send
    /// unfinished ones back to the backlog.
    #[serde(default)]
    pub status: Option<SprintStatus>,
}

/// Tells "absent" (outer `None`) from "null" (`Some(None)`).
fn double_option<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<Option<T>>, D::Error> {
    Ok(Some(Option::<T>::deserialize(d)?))
}

/// Stories to add to a sprint.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddStories {
    /// Story ids or codes (`ST-004`), all of the sprint's product and not done.
    #[schema(min_items = 1, max_items = 500)]
    pub story_ids: Vec<String>,
}

/// Options of closing a sprint.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CloseSprint {
    /// An OPEN sprint of the same product to move unfinished stories to;
    /// absent or `null` = back to the product backlog.
    #[serde(default)]
    pub move_unfinished_to: Option<String>,
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

/// The sprint and the stories an add/move changed.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct SprintStories {
    /// The sprint.
    pub sprint: SprintView,
    /// The stories, in the order given, as they are now.
    pub stories: Vec<MovedStory>,
}

/// What closing a sprint did.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ClosedSprint {
    /// The sprint, now closed.
    pub sprint: SprintView,
    /// Done stories; they stay in the closed sprint.
    pub done_stories: Vec<MovedStory>,
    /// Unfinished stories sent back to the product backlog.
    pub returned_to_backlog: Vec<MovedStory>,
    /// Unfinished stories moved to `moved_to` instead.
    pub moved_to_sprint: Vec<MovedStory>,
    /// The sprint unfinished stories moved to, if one was given.
    pub moved_to: Option<SprintView>,
    /// PBIs that became done because all their stories are done.
    pub pbis_done: Vec<PbiChange>,
    /// The sprint's active run, if one was finished by the close.
    pub sprint_run: Option<RunChange>,
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

/// One task on the sprint board.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct BoardTask {
    /// Task id.
    pub id: String,
    /// `T-N`.
    pub code: String,
    /// Title.
    pub title: String,
    /// todo | in_progress | review | done | failed | excluded.
    pub status: TaskStatus,
    /// 1 (critical) to 4.
    pub priority: i32,
    /// Position within the story.
    pub sort_order: f64,
}

/// One story on the sprint board, with its tasks in order.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct BoardStory {
    /// Story id.
    pub id: String,
    /// `ST-NNN`.
    pub code: String,
    /// The PBI it belongs to.
    pub pbi_id: String,
    /// Title.
    pub title: String,
    /// open | in_sprint | done | failed.
    pub status: StoryStatus,
    /// 1 (critical) to 4.
    pub priority: i32,
    /// Position within its PBI.
    pub sort_order: f64,
    /// Who works on it.
    pub assignee_id: Option<String>,
    /// Its tasks, by sort order, creation and id.
    pub tasks: Vec<BoardTask>,
}

/// A sprint with its stories and their tasks, in execution order (PBI order,
/// then story order, then task order; ties by creation time and id).
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct SprintBoard {
    /// The sprint.
    pub sprint: SprintView,
    /// Its stories.
    pub stories: Vec<BoardStory>,
}

fn today() -> NaiveDate {
    Utc::now().date_naive()
}

fn moved(m: story::Model) -> AppResult<MovedStory> {
    Ok(MovedStory { status: story_status(&m)?, id: m.id, code: m.code, title: m.title, sprint_id: m.sprint_id })
}

/// A raw statement with `$N` placeholders (both backends accept them).
pub(crate) async fn exec<C: ConnectionTrait>(db: &C, sql: &str, values: Vec<Value>) -> AppResult<u64> {
    Ok(db.execute_raw(Statement::from_sql_and_values(db.get_database_backend(), sql, values)).await?.rows_affected())
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

/// Loads a sprint inside a transaction and checks it is still OPEN.
pub(crate) async fn load_open_sprint<C: ConnectionTrait>(db: &C, id: &str) -> AppResult<SprintView> {
    let s = reload(db, id).await?;
    let status = sprint_status(&s)?;
    if status != SprintStatus::Open {
        return Err(AppError::Conflict(format!(
            "sprint {} is {status}; stories can only move to an open sprint",
            s.code
        )));
    }
    SprintView::of(s)
}

/// Stories by id, in the order given, as moved stories.
pub(crate) async fn moved_stories<C: ConnectionTrait>(db: &C, ids: &[String]) -> AppResult<Vec<MovedStory>> {
    stories_in_order(db, ids).await?.into_iter().map(moved).collect()
}

/// `$from, $from+1, …` for `n` values.
pub(crate) fn placeholders(from: usize, n: usize) -> String {
    (from..from + n).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ")
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

fn check_dates(errs: &mut ValidationErrors, start: Option<NaiveDate>, end: Option<NaiveDate>) {
    if let (Some(s), Some(e)) = (start, end)
        && e < s
    {
        errs.add("end_date", format!("must not be before the start date {s}"));
    }
}

/// Whether a sprint with this code (case-insensitively) exists in the product.
async fn code_taken<C: ConnectionTrait>(db: &C, product_id: &str, code: &str, except: Option<&str>) -> AppResult<bool> {
    let row = db
        .query_one_raw(Statement::from_sql_and_values(
            db.get_database_backend(),
            "SELECT id FROM sprints WHERE product_id = $1 AND LOWER(code) = LOWER($2)",
            [product_id.into(), code.into()],
        ))
        .await?;
    Ok(match row {
        Some(r) => {
            let id: String = r.try_get("", "id")?;
            except != Some(id.as_str())
        }
        None => false,
    })
}

/// How a sprint operation moves stories (and their tasks).
pub(crate) async fn move_stories<C: ConnectionTrait>(
    db: &C,
    story_ids: &[String],
    to_sprint: Option<&str>,
) -> AppResult<()> {
    if story_ids.is_empty() {
        return Ok(());
    }
    let t = now();
    let unfinished = if to_sprint.is_some() { StoryStatus::InSprint } else { StoryStatus::Open };
    let n = story_ids.len();
    let mut values: Vec<Value> = vec![to_sprint.map(str::to_string).into(), t.into()];
    values.extend(story_ids.iter().map(|s| Value::from(s.as_str())));
    exec(
        db,
        &format!("UPDATE tasks SET sprint_id = $1, updated_at = $2 WHERE story_id IN ({})", placeholders(3, n)),
        values.clone(),
    )
    .await?;
    values.push(unfinished.as_db().into());
    exec(
        db,
        &format!(
            "UPDATE stories SET sprint_id = $1, updated_at = $2, \
             status = CASE WHEN status IN ('DONE', 'FAILED') THEN status ELSE ${} END \
             WHERE id IN ({})",
            n + 3,
            placeholders(3, n)
        ),
        values,
    )
    .await?;
    Ok(())
}

/// Loads stories by id, in the order given.
async fn stories_in_order<C: ConnectionTrait>(db: &C, ids: &[String]) -> AppResult<Vec<story::Model>> {
    let rows = story::Entity::find().filter(story::Column::Id.is_in(ids.iter().cloned())).all(db).await?;
    let mut by_id: HashMap<String, story::Model> = rows.into_iter().map(|s| (s.id.clone(), s)).collect();
    Ok(ids.iter().filter_map(|id| by_id.remove(id)).collect())
}

/// Checks a list of story references for a move into (`Some`) or out of a
/// sprint of `product_id`: non-empty, no duplicates, each resolvable by the
/// actor, in the product and not done when moving into a sprint. Errors
/// name `field.N`; a story that does not exist and one the actor cannot see
/// get the same message.
pub(crate) async fn resolve_stories_for_move<C: ConnectionTrait>(
    db: &C,
    actor: &Actor,
    field: &str,
    refs_in: &[String],
    product_id: Option<&str>,
    into_sprint: bool,
) -> AppResult<Vec<story::Model>> {
    let mut errs = ValidationErrors::new();
    if refs_in.is_empty() {
        errs.add(field, "must list at least one story");
        return Err(errs.into());
    }
    if refs_in.len() > MAX_STORIES_PER_REQUEST {
        errs.add(field, format!("may list at most {MAX_STORIES_PER_REQUEST} stories"));
        return Err(errs.into());
    }
    let mut seen_refs: HashMap<String, usize> = HashMap::new();
    for (i, r) in refs_in.iter().enumerate() {
        let key = r.trim().to_ascii_uppercase();
        if let Some(first) = seen_refs.get(&key) {
            errs.add(&format!("{field}.{i}"), format!("duplicates {field}.{first}"));
        } else {
            seen_refs.insert(key, i);
        }
    }
    if !errs.is_empty() {
        return Err(errs.into());
    }
    let mut out: Vec<story::Model> = Vec::with_capacity(refs_in.len());
    let mut seen_ids: HashMap<String, usize> = HashMap::new();
    let mut first_product: Option<(String, usize)> = product_id.map(|p| (p.to_string(), usize::MAX));
    for (i, r) in refs_in.iter().enumerate() {
        let path = format!("{field}.{i}");
        let s = match refs::resolve_story_at(db, actor, r, &path).await {
            Ok(s) => s,
            Err(AppError::NotFound(_)) => {
                errs.add(&path, format!("no story {} that you can access", r.trim()));
                continue;
            }
            Err(AppError::Validation(v)) => {
                errs.0.extend(v.0);
                continue;
            }
            Err(e) => return Err(e),
        };
        if let Some(first) = seen_ids.get(&s.id) {
            errs.add(&path, format!("names the same story as {field}.{first}"));
            continue;
        }
        seen_ids.insert(s.id.clone(), i);
        match &first_product {
            Some((p, at)) if *p != s.product_id => {
                if *at == usize::MAX {
                    errs.add(&path, format!("story {} belongs to another product than the sprint", s.code));
                } else {
                    errs.add(&path, format!("story {} belongs to another product than {field}.{at}", s.code));
                }
                continue;
            }
            Some(_) => {}
            None => first_product = Some((s.product_id.clone(), i)),
        }
        if into_sprint && story_status(&s)? == StoryStatus::Done {
            errs.add(&path, format!("story {} is done; only unfinished stories can be planned into a sprint", s.code));
            continue;
        }
        out.push(s);
    }
    errs.into_result()?;
    Ok(out)
}

/// Re-reads the stories inside the transaction and checks they still are
/// where the validation saw them (same product, still not done).
pub(crate) async fn recheck_stories<C: ConnectionTrait>(
    db: &C,
    before: &[story::Model],
    product_id: &str,
    into_sprint: bool,
) -> AppResult<Vec<String>> {
    let ids: Vec<String> = before.iter().map(|s| s.id.clone()).collect();
    let now_rows = stories_in_order(db, &ids).await?;
    if now_rows.len() != ids.len() || now_rows.iter().any(|s| s.product_id != product_id) {
        return Err(AppError::Conflict("some of the stories were deleted or moved meanwhile; try again".into()));
    }
    if into_sprint && let Some(done) = now_rows.iter().find(|s| s.status == StoryStatus::Done.as_db()) {
        return Err(AppError::Conflict(format!(
            "story {} is done now; only unfinished stories can be planned",
            done.code
        )));
    }
    Ok(ids)
}

/// The sprint's newest queued, running or paused run.
async fn active_run<C: ConnectionTrait>(db: &C, sprint_id: &str) -> AppResult<Option<sprint_run::Model>> {
    let active = [SprintRunStatus::Queued, SprintRunStatus::Running, SprintRunStatus::Paused].map(|s| s.as_db());
    Ok(sprint_run::Entity::find()
        .filter(sprint_run::Column::SprintId.eq(sprint_id))
        .filter(sprint_run::Column::Status.is_in(active))
        .order_by_desc(sprint_run::Column::CreatedAt)
        .order_by_desc(sprint_run::Column::Id)
        .one(db)
        .await?)
}

/// The active run of a sprint finished by a close or fail (reference §4.3
/// step 5): CLOSED → the run is DONE, FAILED → the run is FAILED; its other
/// queued or running jobs are cancelled.
async fn finish_active_run<C: ConnectionTrait>(
    db: &C,
    s: &sprint::Model,
    status: SprintStatus,
) -> AppResult<Option<RunChange>> {
    let run_status = match status {
        SprintStatus::Closed => SprintRunStatus::Done,
        SprintStatus::Failed => SprintRunStatus::Failed,
        _ => return Ok(None),
    };
    let Some(run) = active_run(db, &s.id).await? else {
        return Ok(None);
    };
    let t = now();
    let reason = format!("sprint {} was {status}", s.code);
    let mut am: sprint_run::ActiveModel = run.clone().into();
    am.status = Set(run_status.as_db().into());
    am.finished_at = Set(Some(t));
    am.updated_at = Set(t);
    if run_status == SprintRunStatus::Failed && run.failure_reason.is_none() {
        am.failure_reason = Set(Some(reason.clone()));
    }
    am.update(db).await?;
    let live = [JobStatus::Queued, JobStatus::Claimed, JobStatus::Running].map(|s| s.as_db());
    let cancelled = exec(
        db,
        "UPDATE jobs SET status = $1, error = $2, finished_at = $3, updated_at = $3 \
         WHERE sprint_run_id = $4 AND status IN ($5, $6, $7)",
        vec![
            JobStatus::Cancelled.as_db().into(),
            format!("Cancelled: {reason}").into(),
            t.into(),
            run.id.clone().into(),
            live[0].into(),
            live[1].into(),
            live[2].into(),
        ],
    )
    .await?;
    Ok(Some(RunChange { id: run.id, status: run_status, cancelled_jobs: cancelled }))
}

/// Sets a sprint's status the way `update_sprint` does: a terminal status
/// without an end date sets it to today; CLOSED sets `completed_at`; OPEN
/// clears it.
fn apply_status(am: &mut sprint::ActiveModel, current: &sprint::Model, status: SprintStatus, end_given: bool) {
    let t = now();
    am.status = Set(status.as_db().into());
    if status != SprintStatus::Open && current.end_date.is_none() && !end_given {
        am.end_date = Set(Some(today()));
    }
    match status {
        SprintStatus::Closed => am.completed_at = Set(Some(t)),
        SprintStatus::Open => am.completed_at = Set(None),
        _ => {}
    }
}

/// The board's story columns (and its PBI's order), by the sprint index.
pub const BOARD_STORIES_SQL: &str = "SELECT s.id, s.code, s.pbi_id, s.title, s.status, s.priority, s.sort_order, \
     s.assignee_id, s.created_at, p.sort_order AS pbi_sort, p.created_at AS pbi_created \
     FROM stories s JOIN pbis p ON p.id = s.pbi_id WHERE s.sprint_id = $1";

/// The board's task columns, by the denormalised `tasks.sprint_id` (indexed;
/// every write keeps it equal to the story's sprint). Selecting through the
/// stories instead lets Postgres choose a scan of all tasks once its
/// statistics know the table is big: 40 ms instead of 2 ms at 50,000 tasks.
pub const BOARD_TASKS_SQL: &str = "SELECT t.id, t.story_id, t.code, t.title, t.status, t.priority, t.sort_order, \
     t.created_at FROM tasks t WHERE t.sprint_id = $1";

#[derive(Debug, FromQueryResult)]
struct BoardStoryRow {
    id: String,
    code: String,
    pbi_id: String,
    title: String,
    status: String,
    priority: i32,
    sort_order: f64,
    assignee_id: Option<String>,
    created_at: DateTime<Utc>,
    pbi_sort: f64,
    pbi_created: DateTime<Utc>,
}

#[derive(Debug, FromQueryResult)]
struct BoardTaskRow {
    id: String,
    story_id: String,
    code: String,
    title: String,
    status: String,
    priority: i32,
    sort_order: f64,
    created_at: DateTime<Utc>,
}

impl App {
    async fn announce_sprint(&self, product_id: &str, sprint_id: &str, action: &str) {
        publish(
            self,
            Event::new(SPRINT_CHANGED)
                .for_product(product_id)
                .with_data(json!({ "sprint_id": sprint_id, "action": action })),
        )
        .await;
    }

    /// Creates a sprint in a product (status OPEN).
    pub async fn create_sprint(&self, actor: &Actor, product_id: &str, input: NewSprint) -> AppResult<SprintView> {
        let product = crate::products::writable_ref(&self.db, actor, product_id).await?;
        let mut errs = ValidationErrors::new();
        check_text(&mut errs, "sprint_goal", &input.sprint_goal, 1, MAX_GOAL);
        let code = input.code.as_deref().map(str::trim).map(str::to_string);
        if let Some(c) = &code {
            check_text(&mut errs, "code", c, 1, MAX_CODE);
            if c.chars().any(char::is_whitespace) {
                errs.add("code", "must not contain spaces");
            }
        }
        let start = Some(input.start_date.unwrap_or_else(today));
        check_dates(&mut errs, start, input.end_date);
        errs.into_result()?;
        let goal = input.sprint_goal.trim().to_string();
        let pid = product.id.clone();
        let created = txn::in_product_txn(&self.db, &product.id, move |c| {
            Box::pin(async move {
                let code = match code {
                    Some(code) => {
                        if code_taken(c, &pid, &code, None).await? {
                            return Err(AppError::field(
                                "code",
                                format!("{code} is already used by a sprint of this product"),
                            ));
                        }
                        txn::note_code(c, &pid, CodeKind::Sprint, &code).await?;
                        code
                    }
                    None => loop {
                        // Codes given before counters existed (or typed by hand) are skipped.
                        let candidate = txn::allocate_code(c, &pid, CodeKind::Sprint).await?;
                        if !code_taken(c, &pid, &candidate, None).await? {
                            break candidate;
                        }
                    },
                };
                let t = now();
                let m = sprint::ActiveModel {
                    id: Set(new_id()),
                    product_id: Set(pid),
                    code: Set(code),
                    sprint_goal: Set(goal),
                    status: Set(SprintStatus::Open.as_db().into()),
                    start_date: Set(start),
                    end_date: Set(input.end_date),
                    created_at: Set(t),
                    updated_at: Set(t),
                    completed_at: Set(None),
                }
                .insert(c)
                .await?;
                Ok(m)
            })
        })
        .await?;
        self.announce_sprint(&created.product_id, &created.id, "created").await;
        SprintView::of(created)
    }

    /// A product's sprints, newest first, optionally of one status.
    pub async fn list_sprints(
        &self,
        actor: &Actor,
        product_id: &str,
        status: Option<&str>,
        page: PageParams,
    ) -> AppResult<Page<SprintView>> {
        let product = crate::products::readable_ref(&self.db, actor, product_id).await?;
        let (page, limit, offset) = page.window()?;
        let status =
            match status.map(str::trim).filter(|s| !s.is_empty()) {
                Some(s) => Some(SprintStatus::parse_api(s).ok_or_else(|| {
                    AppError::field("status", format!("must be one of: {}", SprintStatus::api_values()))
                })?),
                None => None,
            };
        let mut q = sprint::Entity::find().filter(sprint::Column::ProductId.eq(&product.id));
        if let Some(s) = status {
            q = q.filter(sprint::Column::Status.eq(s.as_db()));
        }
        let total = q.clone().count(&self.db).await?;
        let rows = q
            .order_by_desc(sprint::Column::CreatedAt)
            .order_by_desc(sprint::Column::Id)
            .offset(offset)
            .limit(limit)
            .all(&self.db)
            .await?;
        let items = rows.into_iter().map(SprintView::of).collect::<AppResult<Vec<_>>>()?;
        Ok(Page { items, page, limit, total })
    }

    /// One sprint.
    pub async fn get_sprint(&self, actor: &Actor, sprint_id: &str) -> AppResult<SprintView> {
        SprintView::of(readable_sprint(&self.db, actor, sprint_id).await?)
    }

    /// Changes a sprint's goal, dates or status (reference `update_sprint`).
    pub async fn update_sprint(
        &self,
        actor: &Actor,
        sprint_id: &str,
        patch: SprintPatch,
    ) -> AppResult<SprintStatusChange> {
        let s = writable_sprint(&self.db, actor, sprint_id).await?;
        let mut errs = ValidationErrors::new();
        if patch.sprint_goal.is_none()
            && patch.start_date.is_none()
            && patch.end_date.is_none()
            && patch.status.is_none()
        {
            errs.add(".", "give at least one of sprint_goal, start_date, end_date, status");
        }
        if let Some(g) = &patch.sprint_goal {
            check_text(&mut errs, "sprint_goal", g, 1, MAX_GOAL);
        }
        errs.into_result()?;
        let id = s.id.clone();
        let (view, run) = txn::in_product_txn(&self.db, &s.product_id, move |c| {
            Box::pin(async move {
                let current = reload(c, &id).await?;
                let start = patch.start_date.unwrap_or(current.start_date);
                let end = patch.end_date.unwrap_or(current.end_date);
                // Only a patch that touches the dates is held to their order: a sprint
                // closed before its planned start got today as its end date.
                if patch.start_date.is_some() || patch.end_date.is_some() {
                    let mut errs = ValidationErrors::new();
                    check_dates(&mut errs, start, end);
                    errs.into_result()?;
                }
                let mut am: sprint::ActiveModel = current.clone().into();
                if let Some(g) = patch.sprint_goal {
                    am.sprint_goal = Set(g.trim().to_string());
                }
                am.start_date = Set(start);
                am.end_date = Set(end);
                let mut run = None;
                if let Some(status) = patch.status {
                    let was = sprint_status(&current)?;
                    apply_status(&mut am, &current, status, patch.end_date.flatten().is_some());
                    if status != was {
                        run = finish_active_run(c, &current, status).await?;
                    }
                }
                am.updated_at = Set(now());
                let m = am.update(c).await?;
                Ok((SprintView::of(m)?, run))
            })
        })
        .await?;
        self.announce_sprint(&view.product_id, &view.id, "updated").await;
        Ok(SprintStatusChange { sprint: view, sprint_run: run })
    }

    /// Deletes a sprint. Its stories go back to the product backlog (open
    /// unless done or failed) and their tasks leave the sprint. A sprint with
    /// an active run (queued, running, paused) is refused (409): agents are
    /// working on it.
    pub async fn delete_sprint(&self, actor: &Actor, sprint_id: &str) -> AppResult<()> {
        let s = writable_sprint(&self.db, actor, sprint_id).await?;
        let id = s.id.clone();
        let story_ids = txn::in_product_txn(&self.db, &s.product_id, move |c| {
            Box::pin(async move {
                let current = reload(c, &id).await?;
                if let Some(run) = active_run(c, &current.id).await? {
                    return Err(AppError::Conflict(format!(
                        "sprint {} has a sprint run that is {}; fail or close the sprint first",
                        current.code,
                        run.status.to_ascii_lowercase()
                    )));
                }
                let stories: Vec<String> = story::Entity::find()
                    .filter(story::Column::SprintId.eq(&current.id))
                    .all(c)
                    .await?
                    .into_iter()
                    .map(|s| s.id)
                    .collect();
                move_stories(c, &stories, None).await?;
                exec(c, "UPDATE tasks SET sprint_id = NULL WHERE sprint_id = $1", vec![current.id.clone().into()])
                    .await?;
                sprint::Entity::delete_by_id(current.id).exec(c).await?;
                Ok(stories)
            })
        })
        .await?;
        self.announce_sprint(&s.product_id, &s.id, "deleted").await;
        announce_stories(self, &s.product_id, &story_ids, "returned_to_backlog").await;
        Ok(())
    }

    /// Plans stories into an OPEN sprint: each becomes `in_sprint` (a failed
    /// one stays failed) and its tasks follow. A story already in another
    /// sprint moves; one already in this sprint stays as it is.
    pub async fn add_stories_to_sprint(
        &self,
        actor: &Actor,
        sprint_id: &str,
        input: AddStories,
    ) -> AppResult<SprintStories> {
        let s = writable_sprint(&self.db, actor, sprint_id).await?;
        require_open(&s, "take stories")?;
        let stories =
            resolve_stories_for_move(&self.db, actor, "story_ids", &input.story_ids, Some(&s.product_id), true).await?;
        let (sid, pid) = (s.id.clone(), s.product_id.clone());
        let result = txn::in_product_txn(&self.db, &s.product_id, move |c| {
            Box::pin(async move {
                let current = reload(c, &sid).await?;
                require_open(&current, "take stories")?;
                let ids = recheck_stories(c, &stories, &pid, true).await?;
                let to_move: Vec<String> = stories
                    .iter()
                    .filter(|st| st.sprint_id.as_deref() != Some(current.id.as_str()))
                    .map(|st| st.id.clone())
                    .collect();
                move_stories(c, &to_move, Some(&current.id)).await?;
                let after = stories_in_order(c, &ids).await?;
                Ok(SprintStories {
                    sprint: SprintView::of(current)?,
                    stories: after.into_iter().map(moved).collect::<AppResult<_>>()?,
                })
            })
        })
        .await?;
        let ids: Vec<String> = result.stories.iter().map(|s| s.id.clone()).collect();
        announce_stories(self, &s.product_id, &ids, "planned").await;
        Ok(result)
    }

    /// Takes one story out of an OPEN sprint: it goes back to the backlog
    /// (open unless done or failed) and its tasks leave the sprint.
    pub async fn remove_story_from_sprint(&self, actor: &Actor, sprint_id: &str, story_ref: &str) -> AppResult<()> {
        let s = writable_sprint(&self.db, actor, sprint_id).await?;
        require_open(&s, "give up stories")?;
        let st = match refs::resolve_story(&self.db, actor, story_ref).await {
            Ok(st) => st,
            Err(AppError::NotFound(_)) => return Err(AppError::NotFound("story in this sprint")),
            Err(e) => return Err(e),
        };
        if st.sprint_id.as_deref() != Some(s.id.as_str()) {
            return Err(AppError::NotFound("story in this sprint"));
        }
        let (sid, story_id) = (s.id.clone(), st.id.clone());
        txn::in_product_txn(&self.db, &s.product_id, move |c| {
            Box::pin(async move {
                let current = reload(c, &sid).await?;
                require_open(&current, "give up stories")?;
                let now_row = story::Entity::find_by_id(story_id.clone()).one(c).await?;
                if now_row.and_then(|r| r.sprint_id).as_deref() != Some(current.id.as_str()) {
                    return Err(AppError::NotFound("story in this sprint"));
                }
                move_stories(c, std::slice::from_ref(&story_id), None).await
            })
        })
        .await?;
        announce_stories(self, &s.product_id, std::slice::from_ref(&st.id), "returned_to_backlog").await;
        Ok(())
    }

    /// Closes an OPEN sprint: done stories stay in it; unfinished stories go
    /// back to the backlog (open, no sprint) or on to another OPEN sprint of
    /// the product, their tasks following; PBIs whose stories are now all
    /// done become done (BLOCKED PBIs are left alone); `completed_at` and
    /// (if unset) `end_date` are set; the active run, if any, is finished.
    pub async fn close_sprint(&self, actor: &Actor, sprint_id: &str, input: CloseSprint) -> AppResult<ClosedSprint> {
        let s = writable_sprint(&self.db, actor, sprint_id).await?;
        require_open(&s, "be closed")?;
        let target = match input.move_unfinished_to.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
            None => None,
            Some(t) => {
                let bad = |m: String| AppError::field("move_unfinished_to", m);
                let target = match readable_sprint(&self.db, actor, t).await {
                    Ok(x) => x,
                    Err(AppError::NotFound(_)) => return Err(bad(format!("no sprint {t} that you can access"))),
                    Err(e) => return Err(e),
                };
                if target.id == s.id {
                    return Err(bad("must be another sprint than the one being closed".into()));
                }
                if target.product_id != s.product_id {
                    return Err(bad(format!("sprint {} belongs to another product", target.code)));
                }
                let st = sprint_status(&target)?;
                if st != SprintStatus::Open {
                    return Err(bad(format!(
                        "sprint {} is {st}; unfinished stories can only move to an open sprint",
                        target.code
                    )));
                }
                Some(target.id)
            }
        };
        let sid = s.id.clone();
        let result = txn::in_product_txn(&self.db, &s.product_id, move |c| {
            Box::pin(async move {
                let current = reload(c, &sid).await?;
                require_open(&current, "be closed")?;
                let moved_to = match &target {
                    Some(tid) => {
                        let t = reload(c, tid)
                            .await
                            .map_err(|_| AppError::field("move_unfinished_to", "that sprint was deleted meanwhile"))?;
                        let st = sprint_status(&t)?;
                        if st != SprintStatus::Open {
                            return Err(AppError::field(
                                "move_unfinished_to",
                                format!(
                                    "sprint {} is {st}; unfinished stories can only move to an open sprint",
                                    t.code
                                ),
                            ));
                        }
                        Some(t)
                    }
                    None => None,
                };
                let stories = story::Entity::find()
                    .filter(story::Column::SprintId.eq(&current.id))
                    .order_by_asc(story::Column::SortOrder)
                    .order_by_asc(story::Column::CreatedAt)
                    .order_by_asc(story::Column::Id)
                    .all(c)
                    .await?;
                let (done, unfinished): (Vec<_>, Vec<_>) =
                    stories.into_iter().partition(|st| st.status == StoryStatus::Done.as_db());
                let unfinished_ids: Vec<String> = unfinished.iter().map(|s| s.id.clone()).collect();
                move_stories(c, &unfinished_ids, moved_to.as_ref().map(|t| t.id.as_str())).await?;

                // PBIs of the done stories whose stories are now all done.
                let promote = pbi::Entity::find()
                    .from_raw_sql(Statement::from_sql_and_values(
                        c.get_database_backend(),
                        "SELECT * FROM pbis p \
                         WHERE p.id IN (SELECT s.pbi_id FROM stories s WHERE s.sprint_id = $1) \
                           AND p.status NOT IN ($2, $3) \
                           AND NOT EXISTS (SELECT 1 FROM stories s2 WHERE s2.pbi_id = p.id AND s2.status <> $3) \
                         ORDER BY p.sort_order, p.created_at, p.id",
                        [current.id.clone().into(), PbiStatus::Blocked.as_db().into(), PbiStatus::Done.as_db().into()],
                    ))
                    .all(c)
                    .await?;
                let t = now();
                let mut pbis_done = Vec::with_capacity(promote.len());
                for p in promote {
                    pbi::Entity::update_many()
                        .col_expr(
                            pbi::Column::Status,
                            baton_store::sea_orm::sea_query::Expr::value(PbiStatus::Done.as_db()),
                        )
                        .col_expr(pbi::Column::UpdatedAt, baton_store::sea_orm::sea_query::Expr::value(t))
                        .filter(pbi::Column::Id.eq(&p.id))
                        .exec(c)
                        .await?;
                    pbis_done.push(PbiChange { id: p.id, code: p.code, status: PbiStatus::Done });
                }

                let mut am: sprint::ActiveModel = current.clone().into();
                apply_status(&mut am, &current, SprintStatus::Closed, false);
                am.updated_at = Set(t);
                let closed = am.update(c).await?;
                let run = finish_active_run(c, &current, SprintStatus::Closed).await?;

                let after = stories_in_order(c, &unfinished_ids).await?;
                let after: Vec<MovedStory> = after.into_iter().map(moved).collect::<AppResult<_>>()?;
                let (returned, moved_on) = if moved_to.is_some() { (Vec::new(), after) } else { (after, Vec::new()) };
                Ok(ClosedSprint {
                    sprint: SprintView::of(closed)?,
                    done_stories: done.into_iter().map(moved).collect::<AppResult<_>>()?,
                    returned_to_backlog: returned,
                    moved_to_sprint: moved_on,
                    moved_to: moved_to.map(SprintView::of).transpose()?,
                    pbis_done,
                    sprint_run: run,
                })
            })
        })
        .await?;
        self.announce_sprint(&s.product_id, &s.id, "closed").await;
        let moved_ids: Vec<String> =
            result.returned_to_backlog.iter().chain(&result.moved_to_sprint).map(|s| s.id.clone()).collect();
        announce_stories(self, &s.product_id, &moved_ids, "sprint_closed").await;
        Ok(result)
    }

    /// Archives a CLOSED sprint (409 in any other status).
    pub async fn archive_sprint(&self, actor: &Actor, sprint_id: &str) -> AppResult<SprintView> {
        let s = writable_sprint(&self.db, actor, sprint_id).await?;
        let sid = s.id.clone();
        let view = txn::in_product_txn(&self.db, &s.product_id, move |c| {
            Box::pin(async move {
                let current = reload(c, &sid).await?;
                let st = sprint_status(&current)?;
                if st != SprintStatus::Closed {
                    return Err(AppError::Conflict(format!(
                        "sprint {} is {st}; only a closed sprint can be archived",
                        current.code
                    )));
                }
                let mut am: sprint::ActiveModel = current.clone().into();
                apply_status(&mut am, &current, SprintStatus::Archived, false);
                am.updated_at = Set(now());
                SprintView::of(am.update(c).await?)
            })
        })
        .await?;
        self.announce_sprint(&view.product_id, &view.id, "archived").await;
        Ok(view)
    }

    /// Marks an OPEN sprint failed (409 in any other status): the end date is
    /// set if it had none, its stories stay as they are, and its active run
    /// fails with its queued and running jobs cancelled.
    pub async fn fail_sprint(&self, actor: &Actor, sprint_id: &str) -> AppResult<SprintStatusChange> {
        let s = writable_sprint(&self.db, actor, sprint_id).await?;
        require_open(&s, "be failed")?;
        let sid = s.id.clone();
        let result = txn::in_product_txn(&self.db, &s.product_id, move |c| {
            Box::pin(async move {
                let current = reload(c, &sid).await?;
                require_open(&current, "be failed")?;
                let mut am: sprint::ActiveModel = current.clone().into();
                apply_status(&mut am, &current, SprintStatus::Failed, false);
                am.updated_at = Set(now());
                let m = am.update(c).await?;
                let run = finish_active_run(c, &current, SprintStatus::Failed).await?;
                Ok(SprintStatusChange { sprint: SprintView::of(m)?, sprint_run: run })
            })
        })
        .await?;
        self.announce_sprint(&s.product_id, &s.id, "failed").await;
        Ok(result)
    }

    /// The sprint board: the sprint's stories with their tasks, in execution
    /// order. Two indexed queries regardless of size.
    pub async fn sprint_board(&self, actor: &Actor, sprint_id: &str) -> AppResult<SprintBoard> {
        let s = readable_sprint(&self.db, actor, sprint_id).await?;
        let backend = self.db.get_database_backend();
        let mut stories = BoardStoryRow::find_by_statement(Statement::from_sql_and_values(
            backend,
            BOARD_STORIES_SQL,
            [s.id.clone().into()],
        ))
        .all(&self.db)
        .await?;
        let tasks = BoardTaskRow::find_by_statement(Statement::from_sql_and_values(
            backend,
            BOARD_TASKS_SQL,
            [s.id.clone().into()],
        ))
        .all(&self.db)
        .await?;
        // Sorting a few thousand rows here is cheaper than asking the
        // database to (Postgres compares text ids by collation) and keeps the
        // rows streaming straight from the indexes.
        stories.sort_by(|a, b| {
            a.pbi_sort
                .total_cmp(&b.pbi_sort)
                .then_with(|| a.pbi_created.cmp(&b.pbi_created))
                .then_with(|| a.pbi_id.cmp(&b.pbi_id))
                .then_with(|| a.sort_order.total_cmp(&b.sort_order))
                .then_with(|| a.created_at.cmp(&b.created_at))
                .then_with(|| a.id.cmp(&b.id))
        });
        let mut by_story: HashMap<String, Vec<BoardTaskRow>> = HashMap::with_capacity(stories.len());
        for t in tasks {
            by_story.entry(t.story_id.clone()).or_default().push(t);
        }
        let mut out = Vec::with_capacity(stories.len());
        for st in stories {
            let mut rows = by_story.remove(&st.id).unwrap_or_default();
            rows.sort_by(|a, b| {
                a.sort_order
                    .total_cmp(&b.sort_order)
                    .then_with(|| a.created_at.cmp(&b.created_at))
                    .then_with(|| a.id.cmp(&b.id))
            });
            let mut tasks = Vec::with_capacity(rows.len());
            for t in rows {
                tasks.push(BoardTask {
                    status: TaskStatus::from_db(&t.status).ok_or_else(|| {
                        AppError::Internal(format!("task {} has an unknown status {:?}", t.id, t.status))
                    })?,
                    id: t.id,
                    code: t.code,
                    title: t.title,
                    priority: t.priority,
                    sort_order: t.sort_order,
                });
            }
            out.push(BoardStory {
                status: StoryStatus::from_db(&st.status).ok_or_else(|| {
                    AppError::Internal(format!("story {} has an unknown status {:?}", st.id, st.status))
                })?,
                tasks,
                id: st.id,
                code: st.code,
                pbi_id: st.pbi_id,
                title: st.title,
                priority: st.priority,
                sort_order: st.sort_order,
                assignee_id: st.assignee_id,
            });
        }
        Ok(SprintBoard { sprint: SprintView::of(s)?, stories: out })
    }
}
