//! `/api/tokens`: the caller's API tokens.

use axum::{
    Json,
    extract::{Path, State},
    http::StatusCode,
};
use baton_app::tokens::{CreatedToken, NewToken, TokenView};

use super::responses::{BadBody, Forbidden, NotFound, Unauthorized};
use crate::{
    AppState,
    error::ApiResult,
    extract::{ApiJson, Caller},
};

/// Lists the caller's tokens, newest first (secrets are never shown again).
#[utoipa::path(get, path = "/tokens", tag = "account", security(("bearer" = []), ("session" = [])),
    responses((status = 200, body = Vec<TokenView>), Unauthorized))]
pub async fn list(State(s): State<AppState>, Caller(actor): Caller) -> ApiResult<Json<Vec<TokenView>>> {
    let uid = actor.user_id.clone();
    Ok(Json(s.app.list_tokens(&actor, &uid).await?))
}

/// Creates a token for the caller; the answer holds the secret, shown once.
#[utoipa::path(post, path = "/tokens", tag = "account", security(("bearer" = []), ("session" = [])), request_body = NewToken,
    responses((status = 201, body = CreatedToken), BadBody, Unauthorized, Forbidden))]
pub async fn create(
    State(s): State<AppState>,
    Caller(actor): Caller,
    ApiJson(input): ApiJson<NewToken>,
) -> ApiResult<(StatusCode, Json<CreatedToken>)> {
    let uid = actor.user_id.clone();
    Ok((StatusCode::CREATED, Json(s.app.create_token(&actor, &uid, input).await?)))
}

/// Revokes one of the caller's tokens; it stops working at once.
#[utoipa::path(delete, path = "/tokens/{id}", tag = "account", security(("bearer" = []), ("session" = [])),
    params(("id" = String, Path, description = "token id")),
    responses((status = 200, body = TokenView), Unauthorized, Forbidden, NotFound))]
pub async fn revoke(
    State(s): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<TokenView>> {
    Ok(Json(s.app.revoke_token(&actor, &id).await?))
}
