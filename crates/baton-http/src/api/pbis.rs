//! `/api/products/{id}/pbis` and `/api/pbis/{id}…`: product backlog items.
//! `{id}` of a PBI accepts its code (`PBI-3`) too; a product accepts its code.

use super::responses::{BadBody, Conflict, Forbidden, Invalid, NotFound, Unauthorized};
use crate::{
    AppState,
    error::ApiResult,
    extract::{ApiJson, ApiQuery, Caller},
};
use axum::{
    Json,
    extract::{Path, State},
    http::StatusCode,
};
use baton_app::{
    backlog::{
        MoveTo,
        pbis::{NewPbi, PbiFilter, PbiPatch, PbiView},
    },
    list::{Page, PageParams},
};

/// Creates a PBI at the end of the product's backlog (code `PBI-N`).
#[utoipa::path(post, path = "/products/{id}/pbis", tag = "backlog", security(("bearer" = []), ("session" = [])),
    params(("id" = String, Path, description = "product id or code")), request_body = NewPbi,
    responses((status = 201, body = PbiView), BadBody, Unauthorized, Forbidden, NotFound, Conflict))]
pub async fn create(
    State(s): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<NewPbi>,
) -> ApiResult<(StatusCode, Json<PbiView>)> {
    Ok((StatusCode::CREATED, Json(s.app.create_pbi(&actor, &id, input).await?)))
}

/// Lists a product's PBIs in backlog order, filtered and paginated.
#[utoipa::path(get, path = "/products/{id}/pbis", tag = "backlog", security(("bearer" = []), ("session" = [])),
    params(("id" = String, Path, description = "product id or code"), PbiFilter, PageParams),
    responses((status = 200, body = Page<PbiView>), Unauthorized, NotFound, Invalid))]
pub async fn list(
    State(s): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    ApiQuery(filter): ApiQuery<PbiFilter>,
    ApiQuery(page): ApiQuery<PageParams>,
) -> ApiResult<Json<Page<PbiView>>> {
    Ok(Json(s.app.list_pbis(&actor, &id, filter, page).await?))
}

/// One PBI.
#[utoipa::path(get, path = "/pbis/{id}", tag = "backlog", security(("bearer" = []), ("session" = [])),
    params(("id" = String, Path, description = "PBI id or code")),
    responses((status = 200, body = PbiView), Unauthorized, NotFound, Invalid))]
pub async fn get(State(s): State<AppState>, Caller(actor): Caller, Path(id): Path<String>) -> ApiResult<Json<PbiView>> {
    Ok(Json(s.app.get_pbi(&actor, &id).await?))
}

/// Changes a PBI's title, description, priority or status.
#[utoipa::path(patch, path = "/pbis/{id}", tag = "backlog", security(("bearer" = []), ("session" = [])),
    params(("id" = String, Path, description = "PBI id or code")), request_body = PbiPatch,
    responses((status = 200, body = PbiView), BadBody, Unauthorized, Forbidden, NotFound, Conflict))]
pub async fn update(
    State(s): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    ApiJson(patch): ApiJson<PbiPatch>,
) -> ApiResult<Json<PbiView>> {
    Ok(Json(s.app.update_pbi(&actor, &id, patch).await?))
}

/// Deletes a PBI with its stories, their tasks and logs.
#[utoipa::path(delete, path = "/pbis/{id}", tag = "backlog", security(("bearer" = []), ("session" = [])),
    params(("id" = String, Path, description = "PBI id or code")),
    responses((status = 204, description = "deleted"), Unauthorized, Forbidden, NotFound, Conflict, Invalid))]
pub async fn delete(State(s): State<AppState>, Caller(actor): Caller, Path(id): Path<String>) -> ApiResult<StatusCode> {
    s.app.delete_pbi(&actor, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Moves a PBI within its product's backlog: exactly one of `before_id`,
/// `after_id` (a sibling's id or code) or `index` (0-based).
#[utoipa::path(post, path = "/pbis/{id}/move", tag = "backlog", security(("bearer" = []), ("session" = [])),
    params(("id" = String, Path, description = "PBI id or code")), request_body = MoveTo,
    responses((status = 200, body = PbiView), BadBody, Unauthorized, Forbidden, NotFound, Conflict))]
pub async fn move_pbi(
    State(s): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    ApiJson(to): ApiJson<MoveTo>,
) -> ApiResult<Json<PbiView>> {
    Ok(Json(s.app.move_pbi(&actor, &id, to).await?))
}
