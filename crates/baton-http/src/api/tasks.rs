//! `/api/stories/{id}/tasks` and `/api/tasks/{id}…`: tasks. `{id}` of a
//! task accepts its code (`T-12`) too. `PATCH /api/tasks/{id}` is also the
//! agents' status update (reference §10): the story, PBI, sprint and sprint
//! run follow in the same transaction and the answer says what changed.

use axum::{
    Json,
    extract::{Path, State},
    http::StatusCode,
};
use baton_app::{
    backlog::{
        MoveTo,
        tasks::{NewTask, TaskChange, TaskFilter, TaskPatch, TaskScope, TaskView},
    },
    list::{Page, PageParams},
};

use super::responses::{BadBody, Conflict, Forbidden, Invalid, NotFound, Unauthorized};
use crate::{
    AppState,
    error::ApiResult,
    extract::{ApiJson, ApiQuery, Caller},
};

/// Creates a task (status todo, code `T-N`) at the end of a story. In a
/// sprint story without an assignee the caller becomes its assignee.
#[utoipa::path(post, path = "/stories/{id}/tasks", tag = "backlog", security(("bearer" = []), ("session" = [])),
    params(("id" = String, Path, description = "story id or code")), request_body = NewTask,
    responses((status = 201, body = TaskChange), BadBody, Unauthorized, Forbidden, NotFound, Conflict))]
pub async fn create(
    State(s): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<NewTask>,
) -> ApiResult<(StatusCode, Json<TaskChange>)> {
    Ok((StatusCode::CREATED, Json(s.app.create_task(&actor, &id, input).await?)))
}

/// Lists a story's tasks in order, filtered and paginated.
#[utoipa::path(get, path = "/stories/{id}/tasks", tag = "backlog", security(("bearer" = []), ("session" = [])),
    params(("id" = String, Path, description = "story id or code"), TaskFilter, PageParams),
    responses((status = 200, body = Page<TaskView>), Unauthorized, NotFound, Invalid))]
pub async fn list(
    State(s): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    ApiQuery(filter): ApiQuery<TaskFilter>,
    ApiQuery(page): ApiQuery<PageParams>,
) -> ApiResult<Json<Page<TaskView>>> {
    Ok(Json(s.app.list_tasks(&actor, TaskScope::Story(id), filter, page).await?))
}

/// One task.
#[utoipa::path(get, path = "/tasks/{id}", tag = "backlog", security(("bearer" = []), ("session" = [])),
    params(("id" = String, Path, description = "task id or code")),
    responses((status = 200, body = TaskView), Unauthorized, NotFound, Invalid))]
pub async fn get(
    State(s): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<TaskView>> {
    Ok(Json(s.app.get_task(&actor, &id).await?))
}

/// Changes a task. A `status` change propagates to the story, PBI, sprint and
/// sprint run in the same transaction; `story_id` moves the task to another
/// story of the same product.
#[utoipa::path(patch, path = "/tasks/{id}", tag = "backlog", security(("bearer" = []), ("session" = [])),
    params(("id" = String, Path, description = "task id or code")), request_body = TaskPatch,
    responses((status = 200, body = TaskChange), BadBody, Unauthorized, Forbidden, NotFound, Conflict))]
pub async fn update(
    State(s): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    ApiJson(patch): ApiJson<TaskPatch>,
) -> ApiResult<Json<TaskChange>> {
    Ok(Json(s.app.update_task(&actor, &id, patch).await?))
}

/// Deletes a task.
#[utoipa::path(delete, path = "/tasks/{id}", tag = "backlog", security(("bearer" = []), ("session" = [])),
    params(("id" = String, Path, description = "task id or code")),
    responses((status = 204, description = "deleted"), Unauthorized, Forbidden, NotFound, Conflict, Invalid))]
pub async fn delete(State(s): State<AppState>, Caller(actor): Caller, Path(id): Path<String>) -> ApiResult<StatusCode> {
    s.app.delete_task(&actor, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Moves a task within its story: exactly one of `before_id`, `after_id`
/// (a sibling's id or code) or `index` (0-based).
#[utoipa::path(post, path = "/tasks/{id}/move", tag = "backlog", security(("bearer" = []), ("session" = [])),
    params(("id" = String, Path, description = "task id or code")), request_body = MoveTo,
    responses((status = 200, body = TaskView), BadBody, Unauthorized, Forbidden, NotFound, Conflict))]
pub async fn move_task(
    State(s): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    ApiJson(to): ApiJson<MoveTo>,
) -> ApiResult<Json<TaskView>> {
    Ok(Json(s.app.move_task(&actor, &id, to).await?))
}
