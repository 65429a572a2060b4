//! Bids: `POST /api/opportunities/{id}/bids`, `GET /api/opportunities/{id}/bids`,
//! `POST /api/bids/{id}/withdraw|reject|accept`, `GET /api/me/bids`.

use axum::{
    Json,
    extract::{Path, State},
    http::StatusCode,
};
use baton_app::{
    list::Page,
    marketplace::bids::{BidFilter, BidView, NewBid},
};

use super::responses::{BadBody, Conflict, Forbidden, Invalid, NotFound, Unauthorized};
use crate::{
    AppState,
    error::ApiResult,
    extract::{ApiJson, ApiQuery, Caller},
};

/// Bids on an opportunity (role matching the stage, not the project's
/// client, open opportunities only, one live bid per expert, `0 < amount ≤
/// 1.5 × budget.max`); the answer includes the fee preview.
#[utoipa::path(post, path = "/opportunities/{id}/bids", tag = "marketplace", security(("bearer" = []), ("session" = [])),
    params(("id" = String, Path, description = "opportunity id")), request_body = NewBid,
    responses((status = 201, body = BidView), BadBody, Unauthorized, Forbidden, NotFound, Conflict))]
pub async fn create(
    State(s): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<NewBid>,
) -> ApiResult<(StatusCode, Json<BidView>)> {
    Ok((StatusCode::CREATED, Json(s.app.submit_bid(&actor, &id, input).await?)))
}

/// The bids on an opportunity: all for the project's people, only your own otherwise.
#[utoipa::path(get, path = "/opportunities/{id}/bids", tag = "marketplace", security(("bearer" = []), ("session" = [])),
    params(("id" = String, Path, description = "opportunity id")),
    responses((status = 200, body = Vec<BidView>), Unauthorized, NotFound))]
pub async fn list(
    State(s): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Vec<BidView>>> {
    Ok(Json(s.app.list_opportunity_bids(&actor, &id).await?))
}

/// The caller's bids, newest first.
#[utoipa::path(get, path = "/me/bids", tag = "marketplace", security(("bearer" = []), ("session" = [])),
    params(BidFilter),
    responses((status = 200, body = Page<BidView>), Unauthorized, Invalid))]
pub async fn mine(
    State(s): State<AppState>,
    Caller(actor): Caller,
    ApiQuery(filter): ApiQuery<BidFilter>,
) -> ApiResult<Json<Page<BidView>>> {
    Ok(Json(s.app.list_my_bids(&actor, filter).await?))
}

/// Withdraws your pending bid.
#[utoipa::path(post, path = "/bids/{id}/withdraw", tag = "marketplace", security(("bearer" = []), ("session" = [])),
    params(("id" = String, Path, description = "bid id")),
    responses((status = 200, body = BidView), Unauthorized, Forbidden, NotFound, Conflict))]
pub async fn withdraw(
    State(s): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<BidView>> {
    Ok(Json(s.app.withdraw_bid(&actor, &id).await?))
}

/// Rejects a pending bid (the project's client).
#[utoipa::path(post, path = "/bids/{id}/reject", tag = "marketplace", security(("bearer" = []), ("session" = [])),
    params(("id" = String, Path, description = "bid id")),
    responses((status = 200, body = BidView), Unauthorized, Forbidden, NotFound, Conflict))]
pub async fn reject(
    State(s): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<BidView>> {
    Ok(Json(s.app.reject_bid(&actor, &id).await?))
}

/// Accepts a pending bid (the project's client): other pending bids
/// rejected, the opportunity closed, the escrow created, the story assigned.
#[utoipa::path(post, path = "/bids/{id}/accept", tag = "marketplace", security(("bearer" = []), ("session" = [])),
    params(("id" = String, Path, description = "bid id")),
    responses((status = 200, body = BidView), Unauthorized, Forbidden, NotFound, Conflict))]
pub async fn accept(
    State(s): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<BidView>> {
    Ok(Json(s.app.accept_bid(&actor, &id).await?))
}
