//! `/api/pbis/{id}/stories` and `/api/stories/{id}…`: stories and their
//! logs. `{id}` of a story accepts its code (`ST-004`) too.

use axum::{
    Json,
    extract::{Path, State},
    http::StatusCode,
};
use baton_app::{
    backlog::{
        MoveTo,
        stories::{NewStory, StoryFilter, StoryPatch, StoryScope, StoryView},
        story_logs::{NewStoryLog, StoryLogFilter, StoryLogView},
    },
    list::{Page, PageParams},
};

use super::responses::{BadBody, Conflict, Forbidden, Invalid, NotFound, Unauthorized};
use crate::{
    AppState,
    error::ApiResult,
    extract::{ApiJson, ApiQuery, Caller},
};

/// Creates a story at the end of a PBI (code `ST-NNN`); with `sprint_id`
/// (an open sprint of the same product) it starts in_sprint.
#[utoipa::path(post, path = "/pbis/{id}/stories", tag = "backlog", security(("bearer" = []), ("session" = [])),
    params(("id" = String, Path, description = "PBI id or code")), request_body = NewStory,
    responses((status = 201, body = StoryView), BadBody, Unauthorized, Forbidden, NotFound, Conflict))]
pub async fn create(
    State(s): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<NewStory>,
) -> ApiResult<(StatusCode, Json<StoryView>)> {
    Ok((StatusCode::CREATED, Json(s.app.create_story(&actor, &id, input).await?)))
}

/// Lists a PBI's stories in order, filtered and paginated.
#[utoipa::path(get, path = "/pbis/{id}/stories", tag = "backlog", security(("bearer" = []), ("session" = [])),
    params(("id" = String, Path, description = "PBI id or code"), StoryFilter, PageParams),
    responses((status = 200, body = Page<StoryView>), Unauthorized, NotFound, Invalid))]
pub async fn list(
    State(s): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    ApiQuery(filter): ApiQuery<StoryFilter>,
    ApiQuery(page): ApiQuery<PageParams>,
) -> ApiResult<Json<Page<StoryView>>> {
    Ok(Json(s.app.list_stories(&actor, StoryScope::Pbi(id), filter, page).await?))
}

/// One story.
#[utoipa::path(get, path = "/stories/{id}", tag = "backlog", security(("bearer" = []), ("session" = [])),
    params(("id" = String, Path, description = "story id or code")),
    responses((status = 200, body = StoryView), Unauthorized, NotFound, Invalid))]
pub async fn get(
    State(s): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<StoryView>> {
    Ok(Json(s.app.get_story(&actor, &id).await?))
}

/// Changes a story; `pbi_id` moves it to another PBI of the same product.
#[utoipa::path(patch, path = "/stories/{id}", tag = "backlog", security(("bearer" = []), ("session" = [])),
    params(("id" = String, Path, description = "story id or code")), request_body = StoryPatch,
    responses((status = 200, body = StoryView), BadBody, Unauthorized, Forbidden, NotFound, Conflict))]
pub async fn update(
    State(s): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    ApiJson(patch): ApiJson<StoryPatch>,
) -> ApiResult<Json<StoryView>> {
    Ok(Json(s.app.update_story(&actor, &id, patch).await?))
}

/// Deletes a story with its tasks and logs.
#[utoipa::path(delete, path = "/stories/{id}", tag = "backlog", security(("bearer" = []), ("session" = [])),
    params(("id" = String, Path, description = "story id or code")),
    responses((status = 204, description = "deleted"), Unauthorized, Forbidden, NotFound, Conflict, Invalid))]
pub async fn delete(State(s): State<AppState>, Caller(actor): Caller, Path(id): Path<String>) -> ApiResult<StatusCode> {
    s.app.delete_story(&actor, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Moves a story within its PBI: exactly one of `before_id`, `after_id`
/// (a sibling's id or code) or `index` (0-based).
#[utoipa::path(post, path = "/stories/{id}/move", tag = "backlog", security(("bearer" = []), ("session" = [])),
    params(("id" = String, Path, description = "story id or code")), request_body = MoveTo,
    responses((status = 200, body = StoryView), BadBody, Unauthorized, Forbidden, NotFound, Conflict))]
pub async fn move_story(
    State(s): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    ApiJson(to): ApiJson<MoveTo>,
) -> ApiResult<Json<StoryView>> {
    Ok(Json(s.app.move_story(&actor, &id, to).await?))
}

/// Logs an implementation plan, a test result (`status` passed | failed) or
/// a commit (`commit_hash`, `commit_message`) on a story.
#[utoipa::path(post, path = "/stories/{id}/log", tag = "backlog", security(("bearer" = []), ("session" = [])),
    params(("id" = String, Path, description = "story id or code")), request_body = NewStoryLog,
    responses((status = 201, body = StoryLogView), BadBody, Unauthorized, Forbidden, NotFound, Conflict))]
pub async fn add_log(
    State(s): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<NewStoryLog>,
) -> ApiResult<(StatusCode, Json<StoryLogView>)> {
    Ok((StatusCode::CREATED, Json(s.app.add_story_log(&actor, &id, input).await?)))
}

/// A story's log, newest first.
#[utoipa::path(get, path = "/stories/{id}/log", tag = "backlog", security(("bearer" = []), ("session" = [])),
    params(("id" = String, Path, description = "story id or code"), StoryLogFilter, PageParams),
    responses((status = 200, body = Page<StoryLogView>), Unauthorized, NotFound, Invalid))]
pub async fn list_logs(
    State(s): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    ApiQuery(filter): ApiQuery<StoryLogFilter>,
    ApiQuery(page): ApiQuery<PageParams>,
) -> ApiResult<Json<Page<StoryLogView>>> {
    Ok(Json(s.app.list_story_logs(&actor, &id, filter, page).await?))
}
