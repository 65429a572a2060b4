//! `/api/workers`: the agent workers connected for the caller (admins: all).

use axum::{Json, extract::State};
use baton_app::workers::WorkerView;

use crate::{
    AppState,
    error::{ApiResult, ErrorBody},
    extract::Caller,
};

/// The caller's workers (administrators see everyone's), most recently seen
/// first; `active` means seen within the last 30 seconds.
#[utoipa::path(get, path = "/workers", tag = "jobs", security(("bearer" = []), ("session" = [])),
    responses((status = 200, body = Vec<WorkerView>), (status = 401, body = ErrorBody)))]
pub async fn list(State(s): State<AppState>, Caller(actor): Caller) -> ApiResult<Json<Vec<WorkerView>>> {
    Ok(Json(s.app.list_workers(&actor).await?))
}
