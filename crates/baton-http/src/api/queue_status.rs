//! `/api/jobs/queue-status`: whether the caller's own agent queue is empty
//! (the REST side of the MCP tool `check_queue_empty`).

use axum::{Json, extract::State};
use baton_app::queue::status::QueueStatus;
use serde::Deserialize;

use super::responses::{Invalid, NotFound, Unauthorized};
use crate::{
    AppState,
    error::ApiResult,
    extract::{ApiQuery, Caller},
};

/// Query of the queue status.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct QueueStatusQuery {
    /// Only this product (id or code); without it, counts per readable product.
    pub product_id: Option<String>,
}

/// Counts the caller's own jobs (queued for their workers) that are queued,
/// claimed or running: in one product (`{empty, remaining, product_id}`;
/// 404 unless the caller can read it) or across the products they can read
/// (`{empty, remaining, by_product: {product id: n}}`).
#[utoipa::path(get, path = "/jobs/queue-status", tag = "jobs", security(("bearer" = []), ("session" = [])),
    params(QueueStatusQuery),
    responses((status = 200, body = QueueStatus), Unauthorized, NotFound, Invalid))]
pub async fn queue_status(
    State(s): State<AppState>,
    Caller(actor): Caller,
    ApiQuery(q): ApiQuery<QueueStatusQuery>,
) -> ApiResult<Json<QueueStatus>> {
    Ok(Json(s.app.queue_status(&actor, q.product_id.as_deref()).await?))
}
