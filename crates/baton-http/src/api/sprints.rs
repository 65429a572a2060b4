//! `/api/products/{id}/sprints` and `/api/sprints/{id}…`: sprints, their
//! stories, closing, archiving, failing and the sprint board.

use axum::{
    Json,
    body::Bytes,
    extract::{Path, State},
    http::StatusCode,
};
use baton_app::{
    list::{Page, PageParams},
    sprints::{
        AddStories, CloseSprint, ClosedSprint, NewSprint, SprintBoard, SprintPatch, SprintStatusChange, SprintStories,
        SprintView,
    },
};
use serde::Deserialize;

use super::responses::{BadBody, Conflict, Forbidden, Invalid, NotFound, Unauthorized};
use crate::{
    AppState,
    error::ApiResult,
    extract::{ApiJson, ApiQuery, Caller, parse_json},
};

/// Filters and paging of a sprint list.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SprintQuery {
    /// Only sprints in this status: open | closed | archived | failed.
    #[param(value_type = Option<baton_domain::backlog::SprintStatus>, inline)]
    pub status: Option<String>,
    /// Page number, from 1 to 1000000.
    #[param(minimum = 1, maximum = 1_000_000)]
    pub page: Option<u64>,
    /// Items per page, 1–200 (default 50).
    pub limit: Option<u64>,
}

/// Creates a sprint (status open; code `SP-N` unless one is given; start date default today).
#[utoipa::path(post, path = "/products/{id}/sprints", tag = "sprints", security(("bearer" = []), ("session" = [])),
    params(("id" = String, Path, description = "product id")), request_body = NewSprint,
    responses((status = 201, body = SprintView), BadBody, Unauthorized, Forbidden, NotFound, Conflict))]
pub async fn create(
    State(s): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<NewSprint>,
) -> ApiResult<(StatusCode, Json<SprintView>)> {
    Ok((StatusCode::CREATED, Json(s.app.create_sprint(&actor, &id, input).await?)))
}

/// Lists a product's sprints, newest first.
#[utoipa::path(get, path = "/products/{id}/sprints", tag = "sprints", security(("bearer" = []), ("session" = [])),
    params(("id" = String, Path, description = "product id"), SprintQuery),
    responses((status = 200, body = Page<SprintView>), Unauthorized, NotFound, Invalid))]
pub async fn list(
    State(s): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<SprintQuery>,
) -> ApiResult<Json<Page<SprintView>>> {
    let page = PageParams { page: q.page, limit: q.limit };
    Ok(Json(s.app.list_sprints(&actor, &id, q.status.as_deref(), page).await?))
}

/// One sprint.
#[utoipa::path(get, path = "/sprints/{id}", tag = "sprints", security(("bearer" = []), ("session" = [])),
    params(("id" = String, Path, description = "sprint id")),
    responses((status = 200, body = SprintView), Unauthorized, NotFound))]
pub async fn get(
    State(s): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<SprintView>> {
    Ok(Json(s.app.get_sprint(&actor, &id).await?))
}

/// Changes a sprint's goal, dates or status (no state machine; the last write
/// wins). A terminal status without an end date sets it to today; `closed`
/// sets `completed_at`. Stories stay put: use `POST /sprints/{id}/close` for
/// the full close.
#[utoipa::path(patch, path = "/sprints/{id}", tag = "sprints", security(("bearer" = []), ("session" = [])),
    params(("id" = String, Path, description = "sprint id")), request_body = SprintPatch,
    responses((status = 200, body = SprintStatusChange), BadBody, Unauthorized, Forbidden, NotFound, Conflict))]
pub async fn update(
    State(s): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    ApiJson(patch): ApiJson<SprintPatch>,
) -> ApiResult<Json<SprintStatusChange>> {
    Ok(Json(s.app.update_sprint(&actor, &id, patch).await?))
}

/// Deletes a sprint; its stories go back to the backlog (open unless done or failed).
#[utoipa::path(delete, path = "/sprints/{id}", tag = "sprints", security(("bearer" = []), ("session" = [])),
    params(("id" = String, Path, description = "sprint id")),
    responses((status = 204), Unauthorized, Forbidden, NotFound, Conflict))]
pub async fn delete(State(s): State<AppState>, Caller(actor): Caller, Path(id): Path<String>) -> ApiResult<StatusCode> {
    s.app.delete_sprint(&actor, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Plans stories (ids or codes) into an open sprint; their tasks follow.
#[utoipa::path(post, path = "/sprints/{id}/stories", tag = "sprints", security(("bearer" = []), ("session" = [])),
    params(("id" = String, Path, description = "sprint id")), request_body = AddStories,
    responses((status = 200, body = SprintStories), BadBody, Unauthorized, Forbidden, NotFound, Conflict))]
pub async fn add_stories(
    State(s): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<AddStories>,
) -> ApiResult<Json<SprintStories>> {
    Ok(Json(s.app.add_stories_to_sprint(&actor, &id, input).await?))
}

/// Takes a story (id or code) out of an open sprint, back to the backlog.
#[utoipa::path(delete, path = "/sprints/{id}/stories/{story_id}", tag = "sprints",
    security(("bearer" = []), ("session" = [])),
    params(("id" = String, Path, description = "sprint id"), ("story_id" = String, Path, description = "story id or code")),
    responses((status = 204), Unauthorized, Forbidden, NotFound, Conflict, Invalid))]
pub async fn remove_story(
    State(s): State<AppState>,
    Caller(actor): Caller,
    Path((id, story_id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    s.app.remove_story_from_sprint(&actor, &id, &story_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Closes an open sprint: done stories stay; unfinished ones go back to the
/// backlog or to `move_unfinished_to`; PBIs whose stories are all done
/// become done. The body is optional.
#[utoipa::path(post, path = "/sprints/{id}/close", tag = "sprints", security(("bearer" = []), ("session" = [])),
    params(("id" = String, Path, description = "sprint id")), request_body(content = Option<CloseSprint>),
    responses((status = 200, body = ClosedSprint), BadBody, Unauthorized, Forbidden, NotFound, Conflict))]
pub async fn close(
    State(s): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult<Json<ClosedSprint>> {
    let input = if body.iter().all(u8::is_ascii_whitespace) { CloseSprint::default() } else { parse_json(&body)? };
    Ok(Json(s.app.close_sprint(&actor, &id, input).await?))
}

/// Archives a closed sprint.
#[utoipa::path(post, path = "/sprints/{id}/archive", tag = "sprints", security(("bearer" = []), ("session" = [])),
    params(("id" = String, Path, description = "sprint id")),
    responses((status = 200, body = SprintView), Unauthorized, Forbidden, NotFound, Conflict))]
pub async fn archive(
    State(s): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<SprintView>> {
    Ok(Json(s.app.archive_sprint(&actor, &id).await?))
}

/// Marks an open sprint failed; its active run fails too.
#[utoipa::path(post, path = "/sprints/{id}/fail", tag = "sprints", security(("bearer" = []), ("session" = [])),
    params(("id" = String, Path, description = "sprint id")),
    responses((status = 200, body = SprintStatusChange), Unauthorized, Forbidden, NotFound, Conflict))]
pub async fn fail(
    State(s): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<SprintStatusChange>> {
    Ok(Json(s.app.fail_sprint(&actor, &id).await?))
}

/// The sprint board: the sprint's stories with their tasks, in execution order.
#[utoipa::path(get, path = "/sprints/{id}/board", tag = "sprints", security(("bearer" = []), ("session" = [])),
    params(("id" = String, Path, description = "sprint id")),
    responses((status = 200, body = SprintBoard), Unauthorized, NotFound))]
pub async fn board(
    State(s): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<SprintBoard>> {
    Ok(Json(s.app.sprint_board(&actor, &id).await?))
}
