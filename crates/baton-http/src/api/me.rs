//! `GET /api/me`: the caller.

use axum::{Json, extract::State};
use baton_app::accounts::UserView;

use super::responses::Unauthorized;
use crate::{AppState, error::ApiResult, extract::Caller};

/// The authenticated caller, with roles and demo flag.
#[utoipa::path(get, path = "/me", tag = "account", security(("bearer" = []), ("session" = [])),
    responses((status = 200, body = UserView), Unauthorized))]
pub async fn me(State(s): State<AppState>, Caller(actor): Caller) -> ApiResult<Json<UserView>> {
    Ok(Json(s.app.me(&actor).await?))
}
