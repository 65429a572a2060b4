//! `/api/admin/model-prices`: the token prices job costs are computed from
//! (administrators only).

use axum::{
    Json,
    extract::{Path, State},
    http::StatusCode,
};
use baton_app::{
    list::Page,
    prices::{ModelPricePatch, ModelPriceView, NewModelPrice, PriceFilter},
};

use super::responses::{BadBody, Conflict, Forbidden, Invalid, NotFound, Unauthorized};
use crate::{
    AppState,
    error::ApiResult,
    extract::{ApiJson, ApiQuery, Caller},
};

/// Lists price rows by provider and model.
#[utoipa::path(get, path = "/admin/model-prices", tag = "admin", security(("bearer" = []), ("session" = [])),
    params(PriceFilter),
    responses((status = 200, body = Page<ModelPriceView>), Unauthorized, Forbidden, Invalid))]
pub async fn list(
    State(s): State<AppState>,
    Caller(actor): Caller,
    ApiQuery(filter): ApiQuery<PriceFilter>,
) -> ApiResult<Json<Page<ModelPriceView>>> {
    Ok(Json(s.app.list_model_prices(&actor, filter).await?))
}

/// Adds a price row (integer micro-units per million tokens).
#[utoipa::path(post, path = "/admin/model-prices", tag = "admin", security(("bearer" = []), ("session" = [])),
    request_body = NewModelPrice,
    responses((status = 201, body = ModelPriceView), BadBody, Unauthorized, Forbidden, Conflict))]
pub async fn create(
    State(s): State<AppState>,
    Caller(actor): Caller,
    ApiJson(input): ApiJson<NewModelPrice>,
) -> ApiResult<(StatusCode, Json<ModelPriceView>)> {
    Ok((StatusCode::CREATED, Json(s.app.create_model_price(&actor, input).await?)))
}

/// Changes a price row.
#[utoipa::path(patch, path = "/admin/model-prices/{id}", tag = "admin", security(("bearer" = []), ("session" = [])),
    params(("id" = String, Path, description = "price row id")), request_body = ModelPricePatch,
    responses((status = 200, body = ModelPriceView), BadBody, Unauthorized, Forbidden, NotFound, Conflict))]
pub async fn update(
    State(s): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    ApiJson(patch): ApiJson<ModelPricePatch>,
) -> ApiResult<Json<ModelPriceView>> {
    Ok(Json(s.app.update_model_price(&actor, &id, patch).await?))
}

/// Deletes a price row; jobs on that model then have no cost.
#[utoipa::path(delete, path = "/admin/model-prices/{id}", tag = "admin", security(("bearer" = []), ("session" = [])),
    params(("id" = String, Path, description = "price row id")),
    responses((status = 204), Unauthorized, Forbidden, NotFound))]
pub async fn delete(State(s): State<AppState>, Caller(actor): Caller, Path(id): Path<String>) -> ApiResult<StatusCode> {
    s.app.delete_model_price(&actor, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
