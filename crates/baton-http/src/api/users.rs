//! `/api/users`: user administration (admin role only).

use axum::{
    Json,
    extract::{Path, State},
    http::StatusCode,
};
use baton_app::accounts::{NewUser, UserPatch, UserView};

use super::responses::{BadBody, Forbidden, NotFound, Unauthorized};
use crate::{
    AppState,
    error::ApiResult,
    extract::{ApiJson, Caller},
};

/// Lists all users.
#[utoipa::path(get, path = "/users", tag = "admin", security(("bearer" = []), ("session" = [])),
    responses((status = 200, body = Vec<UserView>), Unauthorized, Forbidden))]
pub async fn list(State(s): State<AppState>, Caller(actor): Caller) -> ApiResult<Json<Vec<UserView>>> {
    Ok(Json(s.app.list_users(&actor).await?))
}

/// Creates a user.
#[utoipa::path(post, path = "/users", tag = "admin", security(("bearer" = []), ("session" = [])), request_body = NewUser,
    responses((status = 201, body = UserView), BadBody, Unauthorized, Forbidden))]
pub async fn create(
    State(s): State<AppState>,
    Caller(actor): Caller,
    ApiJson(input): ApiJson<NewUser>,
) -> ApiResult<(StatusCode, Json<UserView>)> {
    Ok((StatusCode::CREATED, Json(s.app.create_user(&actor, input).await?)))
}

/// One user.
#[utoipa::path(get, path = "/users/{id}", tag = "admin", security(("bearer" = []), ("session" = [])),
    params(("id" = String, Path, description = "user id")),
    responses((status = 200, body = UserView), Unauthorized, Forbidden, NotFound))]
pub async fn get(
    State(s): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<UserView>> {
    Ok(Json(s.app.get_user(&actor, &id).await?))
}

/// Changes a user: e-mail, name, roles, demo flag, forced reset, disabled, password.
#[utoipa::path(patch, path = "/users/{id}", tag = "admin", security(("bearer" = []), ("session" = [])),
    params(("id" = String, Path, description = "user id")), request_body = UserPatch,
    responses((status = 200, body = UserView), BadBody, Unauthorized, Forbidden, NotFound))]
pub async fn update(
    State(s): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    ApiJson(patch): ApiJson<UserPatch>,
) -> ApiResult<Json<UserView>> {
    Ok(Json(s.app.update_user(&actor, &id, patch).await?))
}
