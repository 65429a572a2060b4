//! `/api/users`: user administration (admin role only).

use axum::{
    Json,
    extract::{Path, State},
    http::StatusCode,
};
use baton_app::accounts::{NewUser, UserPatch, UserView};

use crate::{
    AppState,
    error::{ApiResult, ErrorBody},
    extract::{ApiJson, Caller},
};

/// Lists all users.
#[utoipa::path(get, path = "/users", tag = "admin", security(("bearer" = []), ("session" = [])),
    responses((status = 200, body = Vec<UserView>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn list(State(s): State<AppState>, Caller(actor): Caller) -> ApiResult<Json<Vec<UserView>>> {
    Ok(Json(s.app.list_users(&actor).await?))
}

/// Creates a user.
#[utoipa::path(post, path = "/users", tag = "admin", security(("bearer" = []), ("session" = [])), request_body = NewUser,
    responses((status = 201, body = UserView), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
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
    responses((status = 200, body = UserView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
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
    responses((status = 200, body = UserView), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update(
    State(s): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    ApiJson(patch): ApiJson<UserPatch>,
) -> ApiResult<Json<UserView>> {
    Ok(Json(s.app.update_user(&actor, &id, patch).await?))
}
