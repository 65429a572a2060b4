//! `/api/opportunities/{id}/deliverables` and `/api/deliverables/{id}/review`:
//! planning deliverables (pull requests) and the client's review. The same
//! services back the MCP tools `submit_deliverable`, `list_deliverables` and
//! `review_deliverable`.

use axum::{
    Json,
    extract::{Path, State},
    http::StatusCode,
};
use baton_app::marketplace::deliverables::{DeliverableView, ReviewDeliverable, SubmitDeliverable};

use super::responses::{BadBody, Conflict, Forbidden, NotFound, Unauthorized};
use crate::{
    AppState,
    error::ApiResult,
    extract::{ApiJson, Caller},
};

/// The accepted expert submits the pull request that delivers a planning
/// stage (again after changes were requested). 409 while a submission
/// waits for review or when the opportunity is not awarded; 422 naming
/// `pr_url` for a link that is not a pull request on an allowed host.
#[utoipa::path(post, path = "/opportunities/{id}/deliverables", tag = "marketplace",
    security(("bearer" = []), ("session" = [])),
    params(("id" = String, Path, description = "Opportunity id")), request_body = SubmitDeliverable,
    responses((status = 201, body = DeliverableView), BadBody, Unauthorized, Forbidden, NotFound, Conflict))]
pub async fn submit(
    State(s): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<SubmitDeliverable>,
) -> ApiResult<(StatusCode, Json<DeliverableView>)> {
    Ok((StatusCode::CREATED, Json(s.app.submit_deliverable(&actor, &id, input).await?)))
}

/// An opportunity's deliverables, newest first: all for the client, the
/// caller's own for an expert.
#[utoipa::path(get, path = "/opportunities/{id}/deliverables", tag = "marketplace",
    security(("bearer" = []), ("session" = [])),
    params(("id" = String, Path, description = "Opportunity id")),
    responses((status = 200, body = Vec<DeliverableView>), Unauthorized, NotFound))]
pub async fn list(
    State(s): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Vec<DeliverableView>>> {
    Ok(Json(s.app.list_deliverables(&actor, &id).await?))
}

/// The project's client approves (the opportunity completes and its escrow
/// is approved for release), asks for changes or rejects (the opportunity
/// opens again for another expert). `notes` are required unless approving.
/// A repeated decision answers the deliverable unchanged.
#[utoipa::path(post, path = "/deliverables/{id}/review", tag = "marketplace",
    security(("bearer" = []), ("session" = [])),
    params(("id" = String, Path, description = "Deliverable id")), request_body = ReviewDeliverable,
    responses((status = 200, body = DeliverableView), BadBody, Unauthorized, Forbidden, NotFound, Conflict))]
pub async fn review(
    State(s): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<ReviewDeliverable>,
) -> ApiResult<Json<DeliverableView>> {
    Ok(Json(s.app.review_deliverable(&actor, &id, input).await?))
}
