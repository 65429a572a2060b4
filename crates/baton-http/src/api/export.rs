//! Backlog export (JSON or CSV download) and import of either into a new
//! product.

use axum::{
    Json,
    extract::{FromRequest, Path, Request, State},
    http::{StatusCode, header},
    response::{IntoResponse, Response},
};
use baton_app::products::{BacklogExport, ExportParams, ImportResult};

use super::responses::{BadBody, Forbidden, Invalid, NotFound, Unauthorized};
use crate::{
    AppState,
    error::{ApiError, ApiResult},
    extract::{ApiJson, ApiQuery, Caller, read_body},
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

/// Imports an export as a new product owned by the caller: a JSON export
/// (`Content-Type: application/json`) or a CSV export (`text/csv`, UTF-8,
/// a header row naming the columns, then one row per item). Everything is
/// checked first; one bad item is a 422 naming its path
/// (`pbis.0.stories.2.title`, or `rows.3.title` in a CSV: rows counted from
/// 0 after the header) and nothing is created.
#[utoipa::path(post, path = "/products/import", tag = "products", security(("bearer" = []), ("session" = [])),
    request_body(description = "a JSON export, or a CSV export as `GET /products/{id}/export?format=csv` writes it",
        content((BacklogExport = "application/json"), (String = "text/csv"))),
    responses((status = 201, body = ImportResult), BadBody, Unauthorized, Forbidden))]
pub async fn import(
    State(s): State<AppState>,
    Caller(actor): Caller,
    req: Request,
) -> ApiResult<(StatusCode, Json<ImportResult>)> {
    let is_csv = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.split(';').next().is_some_and(|m| m.trim().eq_ignore_ascii_case("text/csv")));
    let result = if is_csv {
        let body = read_body(req, &s).await?;
        let text = std::str::from_utf8(&body).map_err(|_| ApiError::malformed("the CSV body is not valid UTF-8"))?;
        s.app.import_product_csv(&actor, text).await?
    } else {
        let ApiJson(input) = ApiJson::<BacklogExport>::from_request(req, &s).await?;
        s.app.import_product(&actor, input).await?
    };
    Ok((StatusCode::CREATED, Json(result)))
}
