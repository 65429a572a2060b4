//! `/projects/{id-or-code}/documents`: a project's documents — the list
//! (name, size, type, uploaded by, date) with download links (the
//! `/api/documents/{id}/content` route, an attachment that never renders in
//! Baton's origin), the upload form (`POST /projects/{p}/documents`, a
//! plain `multipart/form-data` form, the same `upload_document` service and
//! limits as `POST /api/projects/{id}/documents`) and delete
//! (`POST /projects/{p}/documents/{id}/delete`, uploader or client).
//!
//! Decisions:
//! - The page upload path counts as an upload for the body limit
//!   (`middleware::is_upload`), so files up to the document limit pass.
//!   A body announcing more than the upload limit is cut off by that
//!   middleware with a plain 413; a file above the document limit but within
//!   the upload slack is refused by the service and shown on the page.
//! - Browsers often send `application/octet-stream` (or nothing) for
//!   Markdown and text files; then the type is taken from the file
//!   extension, and the service still checks the bytes against it.
//! - Multipart is parsed here (a small parser: the workspace has no
//!   multipart crate); it is HTTP decoding, not a rule.

use std::collections::HashMap;

use askama::Template;
use askama_web::WebTemplate;
use axum::{
    Form, Router,
    body::Body,
    extract::{Path, State},
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Redirect, Response},
    routing::{get, post},
};
use baton_app::{
    Actor, AppError,
    marketplace::{
        documents::{DocumentView, NewDocument},
        projects::ProjectView,
    },
};
use baton_domain::marketplace::documents::{DOCUMENT_TYPES, MIME_TYPES};
use serde::Deserialize;

use super::projects::{Choice, label, project_path};
use crate::{
    AppState,
    pages::layout::{DEMO_REASON, FormErrors, Layout, OrPage, PageError, PageUser, form_status},
};

/// The routes of this module.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/projects/{project}/documents", get(show).post(upload))
        .route("/projects/{project}/documents/{document}/delete", post(delete))
}

/// One document in the list.
struct DocumentRow {
    id: String,
    filename: String,
    size: String,
    document_type: String,
    mime_type: String,
    uploaded_by: String,
    date: String,
    delete_block: Option<String>,
}

/// A size as people read it (`512 B`, `12.3 KB`, `4.5 MB`), from integers.
fn human_size(bytes: i64) -> String {
    let b = bytes.max(0);
    if b < 1024 {
        format!("{b} B")
    } else if b < 1024 * 1024 {
        format!("{}.{} KB", b / 1024, (b % 1024) * 10 / 1024)
    } else {
        format!("{}.{} MB", b / (1024 * 1024), (b % (1024 * 1024)) * 10 / (1024 * 1024))
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "market/client_documents.html")]
struct DocumentsPage {
    layout: Layout,
    name: String,
    path: String,
    documents: Vec<DocumentRow>,
    types: Vec<Choice>,
    accept: String,
    max_size: String,
    errors: FormErrors,
    upload_block: Option<String>,
}

/// Usernames of the project's people the caller can see (themselves and
/// the experts who bid), for "uploaded by".
async fn people(s: &AppState, actor: &Actor, p: &ProjectView) -> HashMap<String, String> {
    let mut names = HashMap::from([(actor.user_id.clone(), actor.username.clone())]);
    if let Ok(overview) = s.app.project_status(actor, &p.id).await {
        for o in overview.opportunities {
            for b in s.app.list_opportunity_bids(actor, &o.id).await.unwrap_or_default() {
                names.entry(b.expert_id).or_insert(b.expert);
            }
        }
    }
    names
}

async fn render(
    s: &AppState,
    actor: &Actor,
    project: &str,
    status: StatusCode,
    errors: FormErrors,
    kept_type: &str,
) -> Result<Response, PageError> {
    let p = s.app.get_project(actor, project).await.or_page(actor)?;
    let docs: Vec<DocumentView> = s.app.list_documents(actor, &p.id, None).await.or_page(actor)?;
    let names = people(s, actor, &p).await;
    let layout = Layout::new(s, actor, &format!("Documents · {}", p.name), "projects").await.or_page(actor)?;
    // Read-only parties (members with read access, administrators) see no
    // upload; the service decides, the page only mirrors it.
    let upload_block = if actor.is_demo {
        Some(DEMO_REASON.to_string())
    } else if p.access == "read" && !s.app.is_accepted_expert(actor, &p.id).await.unwrap_or(false) {
        Some("You have read-only access to this project".to_string())
    } else {
        None
    };
    let is_client = p.access == "own";
    let documents = docs
        .into_iter()
        .map(|d| DocumentRow {
            delete_block: if actor.is_demo {
                Some(DEMO_REASON.to_string())
            } else if is_client || d.uploaded_by_id == actor.user_id {
                None
            } else {
                Some("Only the uploader or the project's client deletes a document".to_string())
            },
            uploaded_by: names.get(&d.uploaded_by_id).cloned().unwrap_or_else(|| "another member".into()),
            size: human_size(d.size),
            date: d.created_at.format("%Y-%m-%d %H:%M UTC").to_string(),
            document_type: label(&d.document_type),
            mime_type: d.mime_type,
            filename: d.filename,
            id: d.id,
        })
        .collect();
    let page = DocumentsPage {
        layout,
        name: p.name.clone(),
        path: project_path(&p),
        documents,
        types: DOCUMENT_TYPES
            .iter()
            .map(|t| Choice { value: (*t).to_string(), label: label(t), selected: *t == kept_type })
            .collect(),
        accept: MIME_TYPES.join(",") + ",.md,.txt",
        max_size: human_size(i64::try_from(s.app.config.documents_max_bytes).unwrap_or(i64::MAX)),
        errors,
        upload_block,
    };
    Ok((status, page).into_response())
}

async fn show(
    State(s): State<AppState>,
    PageUser(actor): PageUser,
    Path(project): Path<String>,
) -> Result<Response, PageError> {
    render(&s, &actor, &project, StatusCode::OK, FormErrors::none(), "other").await
}

/// A part of a `multipart/form-data` body.
#[derive(Debug)]
struct Part {
    name: String,
    filename: Option<String>,
    content_type: Option<String>,
    data: Vec<u8>,
}

fn find(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    if needle.is_empty() || hay.len() < needle.len() {
        return None;
    }
    (from..=hay.len() - needle.len()).find(|&i| hay[i] == needle[0] && &hay[i..i + needle.len()] == needle)
}

/// A header parameter (`name="file"`) of a Content-Disposition line.
fn param(line: &str, key: &str) -> Option<String> {
    line.split(';').map(str::trim).find_map(|kv| {
        let (k, v) = kv.split_once('=')?;
        k.trim().eq_ignore_ascii_case(key).then(|| v.trim().trim_matches('"').to_string())
    })
}

/// Parses a `multipart/form-data` body; `Err` names what is malformed.
fn parse_multipart(content_type: &str, body: &[u8]) -> Result<Vec<Part>, &'static str> {
    let (kind, _) = content_type.split_once(';').unwrap_or((content_type, ""));
    if !kind.trim().eq_ignore_ascii_case("multipart/form-data") {
        return Err("the form must be sent as multipart/form-data");
    }
    let boundary = param(content_type, "boundary").filter(|b| !b.is_empty()).ok_or("the form has no boundary")?;
    let delim = format!("--{boundary}").into_bytes();
    let next_delim = format!("\r\n--{boundary}").into_bytes();
    let mut pos = find(body, &delim, 0).ok_or("the form body is malformed")? + delim.len();
    let mut parts = Vec::new();
    loop {
        if body.get(pos..pos + 2) == Some(b"--") {
            return Ok(parts);
        }
        if body.get(pos..pos + 2) != Some(b"\r\n") {
            return Err("the form body is malformed");
        }
        pos += 2;
        let head_end = find(body, b"\r\n\r\n", pos).ok_or("the form body is malformed")?;
        let head = String::from_utf8_lossy(&body[pos..head_end]).to_string();
        let data_start = head_end + 4;
        let data_end = find(body, &next_delim, data_start).ok_or("the form body is malformed")?;
        let mut name = None;
        let mut filename = None;
        let mut part_type = None;
        for line in head.split("\r\n") {
            let Some((k, v)) = line.split_once(':') else { continue };
            if k.trim().eq_ignore_ascii_case("content-disposition") {
                name = param(v, "name");
                filename = param(v, "filename");
            } else if k.trim().eq_ignore_ascii_case("content-type") {
                part_type = Some(v.trim().to_string());
            }
        }
        parts.push(Part {
            name: name.ok_or("a form part has no name")?,
            filename,
            content_type: part_type,
            data: body[data_start..data_end].to_vec(),
        });
        pos = data_end + next_delim.len();
    }
}

/// The MIME type of an uploaded file: what the browser said, unless that
/// says nothing (`application/octet-stream`, empty); then by extension.
fn mime_of(declared: Option<&str>, filename: &str) -> String {
    let declared = declared.map(str::trim).unwrap_or_default();
    if !declared.is_empty() && declared != "application/octet-stream" {
        return declared.to_string();
    }
    let ext = filename.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase()).unwrap_or_default();
    match ext.as_str() {
        "md" | "markdown" => "text/markdown",
        "txt" => "text/plain",
        "pdf" => "application/pdf",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "webp" => "image/webp",
        "gif" => "image/gif",
        _ => "application/octet-stream",
    }
    .to_string()
}

/// `POST /projects/{p}/documents`: uploads the file of the form.
async fn upload(
    State(s): State<AppState>,
    PageUser(actor): PageUser,
    Path(project): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, PageError> {
    let p = s.app.get_project(&actor, &project).await.or_page(&actor)?;
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let limit = s.http.upload_limit;
    let parsed = match axum::body::to_bytes(body, limit).await {
        Ok(bytes) => parse_multipart(content_type, &bytes).map_err(|m| AppError::field("file", m)),
        Err(_) => Err(AppError::field("file", format!("must be at most {limit} bytes"))),
    };
    let mut kept_type = "other".to_string();
    let done = match parsed {
        Ok(parts) => {
            kept_type = parts
                .iter()
                .find(|p| p.name == "document_type")
                .map(|p| String::from_utf8_lossy(&p.data).trim().to_string())
                .unwrap_or_default();
            match parts.iter().find(|p| p.name == "file" && p.filename.as_deref().is_some_and(|f| !f.is_empty())) {
                None => Err(AppError::field("file", "choose a file to upload")),
                Some(file) => {
                    let filename = file.filename.clone().unwrap_or_default();
                    let input = NewDocument {
                        content_type: mime_of(file.content_type.as_deref(), &filename),
                        filename,
                        document_type: kept_type.clone(),
                        bytes: file.data.clone(),
                    };
                    s.app.upload_document(&actor, &p.id, input).await
                }
            }
        }
        Err(e) => Err(e),
    };
    match done {
        Ok(_) => Ok(Redirect::to(&format!("{}/documents", project_path(&p))).into_response()),
        Err(e @ AppError::NotFound(_)) => Err(PageError::new(&actor, e)),
        Err(e) => render(&s, &actor, &project, form_status(&e), FormErrors::from(&e), &kept_type).await,
    }
}

/// The delete form carries nothing.
#[derive(Deserialize)]
struct Empty {}

/// `POST /projects/{p}/documents/{id}/delete`.
async fn delete(
    State(s): State<AppState>,
    PageUser(actor): PageUser,
    Path((project, document)): Path<(String, String)>,
    Form(_): Form<Empty>,
) -> Result<Response, PageError> {
    let p = s.app.get_project(&actor, &project).await.or_page(&actor)?;
    // A document of another project is not this page's to delete.
    let docs = s.app.list_documents(&actor, &p.id, None).await.or_page(&actor)?;
    if !docs.iter().any(|d| d.id == document) {
        return Err(PageError::new(&actor, AppError::NotFound("document")));
    }
    match s.app.delete_document(&actor, &document).await {
        Ok(()) => Ok(Redirect::to(&format!("{}/documents", project_path(&p))).into_response()),
        Err(e @ AppError::NotFound(_)) => Err(PageError::new(&actor, e)),
        Err(e) => render(&s, &actor, &project, form_status(&e), FormErrors::from(&e), "other").await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multipart_forms_are_parsed_into_parts() {
        let body = b"--XyZ\r\nContent-Disposition: form-data; name=\"document_type\"\r\n\r\nprd\r\n--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a b.md\"\r\nContent-Type: application/octet-stream\r\n\r\n# Hi\r\n\r\nthere\r\n--XyZ--\r\n";
        let parts = parse_multipart("multipart/form-data; boundary=XyZ", body).expect("parses");
        assert_eq!(parts.len(), 2);
        assert_eq!((parts[0].name.as_str(), parts[0].data.as_slice()), ("document_type", &b"prd"[..]));
        assert_eq!(parts[1].filename.as_deref(), Some("a b.md"));
        assert_eq!(parts[1].data, b"# Hi\r\n\r\nthere");
        assert_eq!(mime_of(parts[1].content_type.as_deref(), "a b.md"), "text/markdown");
        assert_eq!(mime_of(Some("image/png"), "x.md"), "image/png");
    }

    #[test]
    fn malformed_multipart_is_refused_without_panicking() {
        for (ct, body) in [
            ("text/plain", &b"x"[..]),
            ("multipart/form-data", &b"--a\r\n"[..]),
            ("multipart/form-data; boundary=a", &b""[..]),
            ("multipart/form-data; boundary=a", &b"--a\r\nContent-Disposition: form-data\r\n\r\nx\r\n--a--"[..]),
            ("multipart/form-data; boundary=a", &b"--a\r\nno end"[..]),
        ] {
            assert!(parse_multipart(ct, body).is_err(), "{ct} {body:?}");
        }
    }

    #[test]
    fn sizes_are_shown_from_integers() {
        assert_eq!(human_size(512), "512 B");
        assert_eq!(human_size(1536), "1.5 KB");
        assert_eq!(human_size(10 * 1024 * 1024), "10.0 MB");
    }
}
