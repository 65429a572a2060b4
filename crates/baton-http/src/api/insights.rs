//! `/api/insights/costs`: tokens and exact costs of finished agent jobs.

use axum::{Json, extract::State};
use baton_app::insights::{CostQuery, CostReport};

use super::responses::{Invalid, NotFound, Unauthorized};
use crate::{
    AppState,
    error::ApiResult,
    extract::{ApiQuery, Caller},
};

/// Tokens and costs of finished jobs in the products the caller can read,
/// grouped by day, model or product. Money is a decimal string (6 places);
/// a group containing a job whose model has no price has `cost: null` (its
/// tokens still count; `priced_cost` sums the jobs that have a price).
#[utoipa::path(get, path = "/insights/costs", tag = "insights", security(("bearer" = []), ("session" = [])),
    params(CostQuery),
    responses((status = 200, body = CostReport), Unauthorized, NotFound, Invalid))]
pub async fn costs(
    State(s): State<AppState>,
    Caller(actor): Caller,
    ApiQuery(query): ApiQuery<CostQuery>,
) -> ApiResult<Json<CostReport>> {
    Ok(Json(s.app.cost_insights(&actor, query).await?))
}
