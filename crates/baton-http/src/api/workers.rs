//! `/api/workers`: the agent workers connected for the caller (admins: all),
//! and presence for a worker that is not an MCP stdio process on the
//! server's machine — `baton mcp` forwarding to this server registers
//! itself here before serving and goes offline here when it stops.
//! Presence needs an API token: a worker is per (user, token, instance).

use axum::{
    Json,
    extract::{Path, State},
    http::StatusCode,
};
use baton_app::{
    AppError,
    workers::{WorkerInfo, WorkerView},
};

use super::responses::{BadBody, Forbidden, NotFound, Unauthorized};
use crate::{
    AppState,
    error::ApiResult,
    extract::{ApiJson, Caller},
};

/// The caller's workers (administrators see everyone's), most recently seen
/// first; `active` means seen within the last 30 seconds.
#[utoipa::path(get, path = "/workers", tag = "jobs", security(("bearer" = []), ("session" = [])),
    responses((status = 200, body = Vec<WorkerView>), Unauthorized))]
pub async fn list(State(s): State<AppState>, Caller(actor): Caller) -> ApiResult<Json<Vec<WorkerView>>> {
    Ok(Json(s.app.list_workers(&actor).await?))
}

/// Registers (or refreshes) a worker of the calling token: instance id,
/// runtime, tier, capabilities, host and pid. Registering the same instance
/// again updates it. Needs an API token (403 for a browser session or a
/// demo account).
#[utoipa::path(post, path = "/workers", tag = "jobs", security(("bearer" = [])),
    request_body = WorkerInfo,
    responses((status = 200, body = WorkerView), BadBody, Unauthorized, Forbidden, NotFound))]
pub async fn register(
    State(s): State<AppState>,
    Caller(actor): Caller,
    ApiJson(info): ApiJson<WorkerInfo>,
) -> ApiResult<Json<WorkerView>> {
    Ok(Json(s.app.register_worker(&actor, info).await?))
}

/// Takes a worker of the calling token offline (removes its presence row);
/// 404 when this token has no such worker.
#[utoipa::path(delete, path = "/workers/{instance_id}", tag = "jobs", security(("bearer" = [])),
    params(("instance_id" = String, Path, description = "the worker's instance id")),
    responses((status = 204), Unauthorized, Forbidden, NotFound))]
pub async fn offline(
    State(s): State<AppState>,
    Caller(actor): Caller,
    Path(instance_id): Path<String>,
) -> ApiResult<StatusCode> {
    if s.app.worker_offline(&actor, &instance_id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(AppError::NotFound("worker").into())
    }
}
