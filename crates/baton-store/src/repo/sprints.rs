//! Sprints' hand-written SQL: code lookup, set-based moves of stories and
//! their tasks, the close's PBI promotion and run-job cancellation, and the
//! sprint board's two index-shaped reads.

use baton_domain::{
    agents::JobStatus,
    backlog::{PbiStatus, StoryStatus},
};
use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, EntityTrait, FromQueryResult, Statement, Value};

use super::placeholders;
use crate::{StoreError, entities::pbi};

async fn exec<C: ConnectionTrait>(db: &C, sql: &str, values: Vec<Value>) -> Result<u64, StoreError> {
    Ok(db.execute_raw(Statement::from_sql_and_values(db.get_database_backend(), sql, values)).await?.rows_affected())
}

/// The id of the sprint of `product_id` with this code, compared
/// case-insensitively.
pub async fn sprint_with_code<C: ConnectionTrait>(
    db: &C,
    product_id: &str,
    code: &str,
) -> Result<Option<String>, StoreError> {
    let row = db
        .query_one_raw(Statement::from_sql_and_values(
            db.get_database_backend(),
            "SELECT id FROM sprints WHERE product_id = $1 AND LOWER(code) = LOWER($2)",
            [product_id.into(), code.into()],
        ))
        .await?;
    Ok(match row {
        Some(r) => Some(r.try_get("", "id")?),
        None => None,
    })
}

/// Moves stories, and their tasks, into `to_sprint` (or out of any sprint
/// with `None`): each story not done or failed gets status `unfinished`.
pub async fn move_stories<C: ConnectionTrait>(
    db: &C,
    story_ids: &[String],
    to_sprint: Option<&str>,
    unfinished: StoryStatus,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    if story_ids.is_empty() {
        return Ok(());
    }
    let n = story_ids.len();
    let mut values: Vec<Value> = vec![to_sprint.map(str::to_string).into(), now.into()];
    values.extend(story_ids.iter().map(|s| Value::from(s.as_str())));
    exec(
        db,
        &format!("UPDATE tasks SET sprint_id = $1, updated_at = $2 WHERE story_id IN ({})", placeholders(3, n)),
        values.clone(),
    )
    .await?;
    values.extend([unfinished.as_db().into(), StoryStatus::Done.as_db().into(), StoryStatus::Failed.as_db().into()]);
    exec(
        db,
        &format!(
            "UPDATE stories SET sprint_id = $1, updated_at = $2, \
             status = CASE WHEN status IN (${}, ${}) THEN status ELSE ${} END \
             WHERE id IN ({})",
            n + 4,
            n + 5,
            n + 3,
            placeholders(3, n)
        ),
        values,
    )
    .await?;
    Ok(())
}

/// Takes every task out of the sprint (before the sprint is deleted).
pub async fn detach_tasks<C: ConnectionTrait>(db: &C, sprint_id: &str) -> Result<u64, StoreError> {
    exec(db, "UPDATE tasks SET sprint_id = NULL WHERE sprint_id = $1", vec![sprint_id.into()]).await
}

/// Cancels the queued, claimed and running jobs of a sprint run with
/// `error`; returns how many.
pub async fn cancel_run_jobs<C: ConnectionTrait>(
    db: &C,
    run_id: &str,
    error: &str,
    now: DateTime<Utc>,
) -> Result<u64, StoreError> {
    exec(
        db,
        "UPDATE jobs SET status = $1, error = $2, finished_at = $3, updated_at = $3 \
         WHERE sprint_run_id = $4 AND status IN ($5, $6, $7)",
        vec![
            JobStatus::Cancelled.as_db().into(),
            error.into(),
            now.into(),
            run_id.into(),
            JobStatus::Queued.as_db().into(),
            JobStatus::Claimed.as_db().into(),
            JobStatus::Running.as_db().into(),
        ],
    )
    .await
}

/// The PBIs with a story in the sprint whose stories are now all done and
/// that are neither blocked nor done yet, in backlog order.
pub async fn pbis_completed_by<C: ConnectionTrait>(db: &C, sprint_id: &str) -> Result<Vec<pbi::Model>, StoreError> {
    Ok(pbi::Entity::find()
        .from_raw_sql(Statement::from_sql_and_values(
            db.get_database_backend(),
            "SELECT * FROM pbis p \
             WHERE p.id IN (SELECT s.pbi_id FROM stories s WHERE s.sprint_id = $1) \
               AND p.status NOT IN ($2, $3) \
               AND NOT EXISTS (SELECT 1 FROM stories s2 WHERE s2.pbi_id = p.id AND s2.status <> $4) \
             ORDER BY p.sort_order, p.created_at, p.id",
            [
                sprint_id.into(),
                PbiStatus::Blocked.as_db().into(),
                PbiStatus::Done.as_db().into(),
                StoryStatus::Done.as_db().into(),
            ],
        ))
        .all(db)
        .await?)
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

/// A story on the sprint board.
#[derive(Debug, Clone, FromQueryResult)]
pub struct BoardStoryRow {
    /// Story id.
    pub id: String,
    /// `ST-NNN`.
    pub code: String,
    /// Its PBI.
    pub pbi_id: String,
    /// Title.
    pub title: String,
    /// Status, as stored.
    pub status: String,
    /// Priority.
    pub priority: i32,
    /// Order within its PBI.
    pub sort_order: f64,
    /// Who works on it.
    pub assignee_id: Option<String>,
    /// Creation time (order tie-break).
    pub created_at: DateTime<Utc>,
    /// Its PBI's order.
    pub pbi_sort: f64,
    /// Its PBI's creation time.
    pub pbi_created: DateTime<Utc>,
}

/// A task on the sprint board.
#[derive(Debug, Clone, FromQueryResult)]
pub struct BoardTaskRow {
    /// Task id.
    pub id: String,
    /// Its story.
    pub story_id: String,
    /// `T-N`.
    pub code: String,
    /// Title.
    pub title: String,
    /// Status, as stored.
    pub status: String,
    /// Priority.
    pub priority: i32,
    /// Order within its story.
    pub sort_order: f64,
    /// Creation time (order tie-break).
    pub created_at: DateTime<Utc>,
}

/// The stories of a sprint board, unsorted ([`BOARD_STORIES_SQL`]).
pub async fn board_stories<C: ConnectionTrait>(db: &C, sprint_id: &str) -> Result<Vec<BoardStoryRow>, StoreError> {
    Ok(BoardStoryRow::find_by_statement(Statement::from_sql_and_values(
        db.get_database_backend(),
        BOARD_STORIES_SQL,
        [sprint_id.into()],
    ))
    .all(db)
    .await?)
}

/// The tasks of a sprint board, unsorted ([`BOARD_TASKS_SQL`]).
pub async fn board_tasks<C: ConnectionTrait>(db: &C, sprint_id: &str) -> Result<Vec<BoardTaskRow>, StoreError> {
    Ok(BoardTaskRow::find_by_statement(Statement::from_sql_and_values(
        db.get_database_backend(),
        BOARD_TASKS_SQL,
        [sprint_id.into()],
    ))
    .all(db)
    .await?)
}
