//! Backlog export (JSON or CSV download) and import of a JSON export into a
//! new product.

use axum::{
    Json,
    extract::{Path, State},
    http::{StatusCode, header},
    response::{IntoResponse, Response},
};
use baton_app::products::{BacklogExport, ExportParams, ImportResult};

use super::responses::{BadBody, Forbidden, Invalid, NotFound, Unauthorized};
use crate::{
    AppState,
    error::ApiResult,
    extract::{ApiJson, ApiQuery, Caller},
};

/// Downloads a product's whole backlog: `format=json` (default; nested,
/// codes as references, importable) or `format=csv` (one row per item with
/// a `type` column and parent codes).
#[utoipa::path(get, path = "/products/{id}/export", tag = "products", security(("bearer" = []), ("session" = [])),
    params(("id" = String, Path, description = "product id or code"), ExportParams),
    responses(
        (status = 200, description = "the export as a file (Content-Disposition: attachment)",
            content((BacklogExport = "application/json"), (String = "text/csv"))),
        Unauthorized, NotFound, Invalid))]
pub async fn export(
    State(s): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    ApiQuery(params): ApiQuery<ExportParams>,
) -> ApiResult<Response> {
    let file = s.app.export_product(&actor, &id, params.format.unwrap_or_default()).await?;
    Ok((
        [
            (header::CONTENT_TYPE, file.content_type.to_string()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{}\"", file.filename)),
        ],
        file.body,
    )
        .into_response())
}

/// Imports a JSON export as a new product owned by the caller. Everything is
/// checked first; one bad row is a 422 naming its path and nothing is created.
#[utoipa::path(post, path = "/products/import", tag = "products", security(("bearer" = []), ("session" = [])),
    request_body = BacklogExport,
    responses((status = 201, body = ImportResult), BadBody, Unauthorized, Forbidden))]
pub async fn import(
    State(s): State<AppState>,
    Caller(actor): Caller,
    ApiJson(input): ApiJson<BacklogExport>,
) -> ApiResult<(StatusCode, Json<ImportResult>)> {
    Ok((StatusCode::CREATED, Json(s.app.import_product(&actor, input).await?)))
}
