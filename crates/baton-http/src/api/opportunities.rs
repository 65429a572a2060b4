//! `/api/opportunities` and `/api/projects/{id}/opportunities`: work
//! offered for bids, posted by clients (planning stages) or the platform
//! (stories), listed for experts.

use axum::{
    Json,
    extract::{Path, State},
    http::StatusCode,
};
use baton_app::{
    list::Page,
    marketplace::opportunities::{NewOpportunity, OpportunityFilter, OpportunityView},
};

use super::responses::{BadBody, Conflict, Forbidden, Invalid, NotFound, Unauthorized};
use crate::{
    AppState,
    error::ApiResult,
    extract::{ApiJson, ApiQuery, Caller},
};

/// Posts an opportunity on a project (its client): one active per planning
/// stage, PM needs a published brief; developer and QA need `story_id`.
#[utoipa::path(post, path = "/projects/{id}/opportunities", tag = "marketplace", security(("bearer" = []), ("session" = [])),
    params(("id" = String, Path, description = "project (product) id or code")), request_body = NewOpportunity,
    responses((status = 201, body = OpportunityView), BadBody, Unauthorized, Forbidden, NotFound, Conflict))]
pub async fn create(
    State(s): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<NewOpportunity>,
) -> ApiResult<(StatusCode, Json<OpportunityView>)> {
    Ok((StatusCode::CREATED, Json(s.app.post_opportunity(&actor, &id, input).await?)))
}

/// Open opportunities for experts: filters (stage, currency, budget range,
/// deadline window), sort (newest, highest, lowest), pages. Clients are
/// anonymised until a bid of yours on the project is accepted.
#[utoipa::path(get, path = "/opportunities", tag = "marketplace", security(("bearer" = []), ("session" = [])),
    params(OpportunityFilter),
    responses((status = 200, body = Page<OpportunityView>), Unauthorized, Invalid))]
pub async fn list(
    State(s): State<AppState>,
    Caller(actor): Caller,
    ApiQuery(filter): ApiQuery<OpportunityFilter>,
) -> ApiResult<Json<Page<OpportunityView>>> {
    Ok(Json(s.app.list_opportunities(&actor, filter).await?))
}

/// One opportunity.
#[utoipa::path(get, path = "/opportunities/{id}", tag = "marketplace", security(("bearer" = []), ("session" = [])),
    params(("id" = String, Path, description = "opportunity id")),
    responses((status = 200, body = OpportunityView), Unauthorized, NotFound))]
pub async fn get(
    State(s): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<OpportunityView>> {
    Ok(Json(s.app.get_opportunity(&actor, &id).await?))
}
