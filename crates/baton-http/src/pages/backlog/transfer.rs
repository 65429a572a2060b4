//! Export (`GET /products/{code}/export.json|.csv`, a download) and import
//! (`GET|POST /products/import`: paste a JSON or CSV export into a
//! textarea; the import always creates a new product, so the route is not
//! under one product).

use askama::Template;
use askama_web::WebTemplate;
use axum::{
    extract::{Path, State},
    http::{StatusCode, header},
    response::{IntoResponse, Response},
};
use baton_app::{
    Actor, AppError,
    products::{BacklogExport, ExportFormat, ImportResult},
};

use super::Fields;
use crate::{
    AppState,
    pages::layout::{Layout, OrPage, PageError, PageUser, form_status, slug},
};

async fn export(s: &AppState, actor: &Actor, code: &str, format: ExportFormat) -> Result<Response, PageError> {
    let product = s.app.get_product(actor, code).await.or_page(actor)?;
    let file = s.app.export_product(actor, &product.id, format).await.or_page(actor)?;
    Ok((
        [
            (header::CONTENT_TYPE, file.content_type.to_string()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{}\"", file.filename)),
        ],
        file.body,
    )
        .into_response())
}

/// `GET /products/{code}/export.json`.
pub(super) async fn export_json(
    State(s): State<AppState>,
    PageUser(actor): PageUser,
    Path(code): Path<String>,
) -> Result<Response, PageError> {
    export(&s, &actor, &code, ExportFormat::Json).await
}

/// `GET /products/{code}/export.csv`.
pub(super) async fn export_csv(
    State(s): State<AppState>,
    PageUser(actor): PageUser,
    Path(code): Path<String>,
) -> Result<Response, PageError> {
    export(&s, &actor, &code, ExportFormat::Csv).await
}

#[derive(Template, WebTemplate)]
#[template(path = "backlog/import.html")]
struct ImportPage {
    layout: Layout,
    reason: Option<String>,
    text: String,
    format: String,
    /// `path: message` lines (the import names nested paths: `pbis.0.title`, `rows.3.title`).
    errors: Vec<String>,
    result: Option<ImportResult>,
    result_slug: String,
}

async fn render(s: &AppState, actor: &Actor, status: StatusCode, mut page: ImportPage) -> Response {
    page.layout = match Layout::new(s, actor, "Import a backlog", "products").await {
        Ok(l) => l,
        Err(e) => return PageError::new(actor, e).into_response(),
    };
    (status, page).into_response()
}

fn empty(actor: &Actor) -> ImportPage {
    ImportPage {
        layout: Layout::bare(actor, "Import a backlog"),
        reason: actor.is_demo.then(|| "Demo accounts are read-only".to_string()),
        text: String::new(),
        format: "auto".into(),
        errors: vec![],
        result: None,
        result_slug: String::new(),
    }
}

/// `GET /products/import`.
pub(super) async fn import_page(State(s): State<AppState>, PageUser(actor): PageUser) -> Response {
    render(&s, &actor, StatusCode::OK, empty(&actor)).await
}

/// Every message of an import error, with its full path.
fn messages(e: &AppError) -> Vec<String> {
    match e {
        AppError::Validation(v) => v.0.iter().map(|f| format!("{}: {}", f.path, f.message)).collect(),
        other => vec![crate::error::ApiError::from(other.clone()).message],
    }
}

/// `POST /products/import`: `text` (the pasted file), `format` (`auto`,
/// `json` or `csv`; auto = JSON when it starts with `{`).
pub(super) async fn import(State(s): State<AppState>, PageUser(actor): PageUser, f: Fields) -> Response {
    let text = f.get("text").unwrap_or_default().to_string();
    let format = f.filled("format").unwrap_or("auto").to_ascii_lowercase();
    let is_json = match format.as_str() {
        "json" => true,
        "csv" => false,
        _ => text.trim_start().starts_with('{'),
    };
    let result = if text.trim().is_empty() {
        Err(AppError::field("text", "paste a JSON or CSV export"))
    } else if is_json {
        match serde_json::from_str::<BacklogExport>(&text) {
            Ok(doc) => s.app.import_product(&actor, doc).await,
            Err(e) => Err(AppError::field("text", format!("not a Baton JSON export: {e}"))),
        }
    } else {
        s.app.import_product_csv(&actor, &text).await
    };
    let mut page = empty(&actor);
    page.format = format;
    match result {
        Ok(r) => {
            page.result_slug = slug(&r.product);
            page.result = Some(r);
            render(&s, &actor, StatusCode::CREATED, page).await
        }
        Err(e) => {
            page.errors = messages(&e);
            page.text = text;
            render(&s, &actor, form_status(&e), page).await
        }
    }
}
