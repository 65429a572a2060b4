//! `POST /api/projects/{id}/import/bmad`: the BMAD import of `baton import
//! bmad` over HTTP. The body is a tar.gz or a zip of the repository's
//! `docs/` (or of the repository), told apart by its bytes, not its
//! `Content-Type`; it may reach the upload limit, not the 1 MB of JSON
//! requests. The archive is unpacked and imported by the same service as
//! the command line and the MCP tool `import_bmad`
//! (`App::import_bmad_archive`).

use axum::{
    Json,
    body::{Body, Bytes},
    extract::{Path, State},
    http::StatusCode,
};
use baton_app::marketplace::import::{BmadArchive, ImportSummary};

use super::responses::{BadBody, Conflict, Forbidden, NotFound, Unauthorized};
use crate::{
    AppState,
    error::{ApiError, ApiResult},
    extract::Caller,
};

/// The archive, as raw bytes.
#[derive(utoipa::ToSchema)]
#[schema(value_type = String, format = Binary)]
pub struct BmadArchiveBody(#[allow(dead_code)] Vec<u8>);

/// Imports BMAD stories, QA gates and validation reports from an archive
/// (the project's client, or its PM or architect expert): a tar.gz or zip
/// of `docs/` or of the repository root (`docs/stories/*.md`,
/// `docs/qa/gates/*.{yml,yaml,md}`, `docs/qa/validation-reports/*.md`;
/// everything else is ignored). Stories are created or updated by number in
/// one transaction; a second import of the same files changes nothing. The
/// summary lists files not imported with the reason (unparsable, links,
/// over 512 KB). 413 above the upload limit; 422 naming `body` when the
/// body is not a tar.gz or zip, has more than 5,000 entries, unpacks to
/// more than 32 MiB or has an entry with `..` or an absolute path; nothing
/// is written then. 409 when the project is completed or cancelled.
#[utoipa::path(post, path = "/projects/{id}/import/bmad", tag = "marketplace",
    security(("bearer" = []), ("session" = [])),
    params(("id" = String, Path, description = "Project id or code")),
    request_body(description = "A tar.gz or zip archive (format told by its bytes)", content(
        (BmadArchiveBody = "application/gzip"),
        (BmadArchiveBody = "application/x-gzip"),
        (BmadArchiveBody = "application/zip"),
        (BmadArchiveBody = "application/octet-stream"))),
    responses((status = 200, body = ImportSummary), BadBody, Unauthorized, Forbidden, NotFound, Conflict))]
pub async fn import_bmad(
    State(s): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    body: Body,
) -> ApiResult<Json<ImportSummary>> {
    let bytes: Bytes = axum::body::to_bytes(body, s.http.upload_limit).await.map_err(|_| {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("the archive is larger than the upload limit of {} bytes", s.http.upload_limit),
        )
    })?;
    let archive = BmadArchive { bytes: bytes.to_vec(), format: None, field: "body" };
    Ok(Json(s.app.import_bmad_archive(&actor, &id, archive, |_, _| {}).await?))
}
