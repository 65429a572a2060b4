//! `/api/projects/{id}/documents` and `/api/documents/{id}…`: a project's
//! supporting files. An upload is the file itself as the request body (up
//! to the upload limit, not the 1 MB of JSON requests), described by the
//! query; a download answers the bytes as an attachment that browsers
//! never render in Baton's origin. The same services back the MCP tools
//! `list_documents` and `delete_document` (files do not travel over MCP).

use axum::{
    Json,
    body::{Body, Bytes},
    extract::{Path, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use baton_app::marketplace::documents::{DocumentView, NewDocument};
use serde::Deserialize;

use super::responses::{BadBody, Forbidden, Invalid, NotFound, Unauthorized};
use crate::{
    AppState,
    error::{ApiError, ApiResult},
    extract::{ApiQuery, Caller},
};

/// What the uploaded body is.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UploadQuery {
    /// The file name it is downloaded as (no path).
    pub filename: String,
    /// brief, prd, architecture, design, wireframes or other.
    pub document_type: String,
    /// Its MIME type, when the request's `Content-Type` is not it.
    pub content_type: Option<String>,
}

/// Filter of the document list.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Only documents of this type.
    pub document_type: Option<String>,
}

/// Uploads a document (the project's client, read-write members and
/// accepted experts). Allowed: PNG, JPEG, WebP, GIF, PDF, Markdown, plain
/// text, at most 10 MB by default; the bytes must be what the type says.
/// 422 names `filename`, `document_type`, `content_type` or `file`; 503 when
/// no document store is configured.
#[utoipa::path(post, path = "/projects/{id}/documents", tag = "marketplace",
    security(("bearer" = []), ("session" = [])),
    params(("id" = String, Path, description = "Project id"), UploadQuery),
    request_body(content = Vec<u8>, content_type = "application/octet-stream", description = "The file"),
    responses((status = 201, body = DocumentView), BadBody, Unauthorized, Forbidden, NotFound,
        (status = 413, description = "Larger than the upload limit"),
        (status = 503, description = "No document store configured")))]
pub async fn upload(
    State(s): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<UploadQuery>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<(StatusCode, Json<DocumentView>)> {
    let bytes: Bytes = axum::body::to_bytes(body, s.http.upload_limit).await.map_err(|_| {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("the file is larger than {} bytes", s.http.upload_limit),
        )
    })?;
    let content_type = q.content_type.unwrap_or_else(|| {
        headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default().to_string()
    });
    let input =
        NewDocument { filename: q.filename, document_type: q.document_type, content_type, bytes: bytes.to_vec() };
    Ok((StatusCode::CREATED, Json(s.app.upload_document(&actor, &id, input).await?)))
}

/// A project's documents, newest first.
#[utoipa::path(get, path = "/projects/{id}/documents", tag = "marketplace",
    security(("bearer" = []), ("session" = [])),
    params(("id" = String, Path, description = "Project id"), ListQuery),
    responses((status = 200, body = Vec<DocumentView>), Unauthorized, NotFound, Invalid))]
pub async fn list(
    State(s): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> ApiResult<Json<Vec<DocumentView>>> {
    Ok(Json(s.app.list_documents(&actor, &id, q.document_type.as_deref()).await?))
}

/// A document's content, as an attachment with its own type. It is served
/// sandboxed (`Content-Security-Policy: sandbox`), so even a file a browser
/// would render cannot run in Baton's origin.
#[utoipa::path(get, path = "/documents/{id}/content", tag = "marketplace",
    security(("bearer" = []), ("session" = [])),
    params(("id" = String, Path, description = "Document id")),
    responses((status = 200, description = "The file", content_type = "application/octet-stream"),
        Unauthorized, NotFound, (status = 503, description = "No document store configured")))]
pub async fn download(State(s): State<AppState>, Caller(actor): Caller, Path(id): Path<String>) -> ApiResult<Response> {
    let file = s.app.download_document(&actor, &id).await?;
    let mut res = file.bytes.into_response();
    let h = res.headers_mut();
    let mime = HeaderValue::from_str(&file.meta.mime_type)
        .unwrap_or_else(|_| HeaderValue::from_static("application/octet-stream"));
    h.insert(header::CONTENT_TYPE, mime);
    if let Ok(v) = HeaderValue::from_str(&content_disposition(&file.meta.filename)) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static("sandbox; default-src 'none'"));
    Ok(res)
}

/// Deletes a document (its uploader or the project's client).
#[utoipa::path(delete, path = "/documents/{id}", tag = "marketplace",
    security(("bearer" = []), ("session" = [])),
    params(("id" = String, Path, description = "Document id")),
    responses((status = 204, description = "Deleted"), Unauthorized, Forbidden, NotFound,
        (status = 503, description = "No document store configured")))]
pub async fn delete(State(s): State<AppState>, Caller(actor): Caller, Path(id): Path<String>) -> ApiResult<StatusCode> {
    s.app.delete_document(&actor, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `attachment` with an ASCII fallback name and the exact name in RFC 5987
/// form, so any file name survives without breaking the header.
fn content_disposition(name: &str) -> String {
    let ascii: String =
        name.chars().map(|c| if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' { c } else { '_' }).collect();
    let mut encoded = String::new();
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            encoded.push(b as char);
        } else {
            encoded.push_str(&format!("%{b:02X}"));
        }
    }
    format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

#[cfg(test)]
mod tests {
    use super::content_disposition;

    #[test]
    fn any_file_name_becomes_a_safe_attachment_header() {
        assert_eq!(content_disposition("a b.md"), "attachment; filename=\"a b.md\"; filename*=UTF-8''a%20b.md");
        let odd = content_disposition("x\"y\\é.png");
        assert!(odd.starts_with("attachment; filename=\"x_y__.png\""), "{odd}");
        assert!(odd.ends_with("filename*=UTF-8''x%22y%5C%C3%A9.png"), "{odd}");
    }
}
