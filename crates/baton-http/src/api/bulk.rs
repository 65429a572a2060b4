//! `/api/bulk/…`: reorder, move to a sprint and change status for lists of
//! ids, all-or-nothing (one bad id → 422 naming it, nothing changed).

use axum::{Json, extract::State};
use baton_app::bulk::{BulkStatusInput, BulkStatusResult, MoveToSprintInput, MovedToSprint, ReorderInput, Reordered};

use super::responses::{BadBody, Conflict, Forbidden, Unauthorized};
use crate::{
    AppState,
    error::ApiResult,
    extract::{ApiJson, Caller},
};

/// Puts siblings (PBIs of a product, stories of a PBI or tasks of a story)
/// in the given order: sort orders 1..n, unlisted siblings after them.
#[utoipa::path(post, path = "/bulk/reorder", tag = "bulk", security(("bearer" = []), ("session" = [])),
    request_body = ReorderInput,
    responses((status = 200, body = Reordered), BadBody, Unauthorized, Forbidden, Conflict))]
pub async fn reorder(
    State(s): State<AppState>,
    Caller(actor): Caller,
    ApiJson(input): ApiJson<ReorderInput>,
) -> ApiResult<Json<Reordered>> {
    Ok(Json(s.app.bulk_reorder(&actor, input).await?))
}

/// Moves stories into an open sprint, or back to the backlog with `sprint_id: null`.
#[utoipa::path(post, path = "/bulk/move-to-sprint", tag = "bulk", security(("bearer" = []), ("session" = [])),
    request_body = MoveToSprintInput,
    responses((status = 200, body = MovedToSprint), BadBody, Unauthorized, Forbidden, Conflict))]
pub async fn move_to_sprint(
    State(s): State<AppState>,
    Caller(actor): Caller,
    ApiJson(input): ApiJson<MoveToSprintInput>,
) -> ApiResult<Json<MovedToSprint>> {
    Ok(Json(s.app.bulk_move_to_sprint(&actor, input).await?))
}

/// Sets one status on many PBIs, stories or tasks; task changes run the
/// status propagation.
#[utoipa::path(post, path = "/bulk/status", tag = "bulk", security(("bearer" = []), ("session" = [])),
    request_body = BulkStatusInput,
    responses((status = 200, body = BulkStatusResult), BadBody, Unauthorized, Forbidden, Conflict))]
pub async fn status(
    State(s): State<AppState>,
    Caller(actor): Caller,
    ApiJson(input): ApiJson<BulkStatusInput>,
) -> ApiResult<Json<BulkStatusResult>> {
    Ok(Json(s.app.bulk_status(&actor, input).await?))
}
