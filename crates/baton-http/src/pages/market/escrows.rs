//! A project's escrows on the client dashboard: the payment QR code as an
//! SVG image (`GET /projects/{p}/escrows/{id}/qr.svg`, shown with `<img>`
//! so the strict CSP holds) and the "I have paid" form
//! (`POST /projects/{p}/escrows/{id}/fund`, the same `fund_escrow` service
//! as `POST /api/escrows/{id}/fund`).
//!
//! Decisions:
//! - Both routes answer 404 for an escrow of another project than the one
//!   in the URL, so a URL never mixes two projects.
//! - Without an RPC endpoint for the escrow's chain the service answers
//!   503; the dashboard shows that as a plain message next to the form
//!   ("chain verification is not configured on this server"), never as a
//!   success.
//! - The SVG is served with its own `sandbox` CSP and `nosniff`: it is an
//!   image, never a document that runs anything.

use std::collections::HashMap;

use axum::{
    Form, Router,
    extract::{Path, State},
    http::{HeaderValue, header},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use baton_app::{Actor, AppError};
use serde::Deserialize;

use super::dashboard::answer;
use crate::{
    AppState,
    pages::layout::{OrPage, PageError, PageUser},
};

/// The routes of this module.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/projects/{project}/escrows/{escrow}/qr.svg", get(qr))
        .route("/projects/{project}/escrows/{escrow}/fund", post(fund))
}

/// Checks that the escrow belongs to the project of the URL (404 otherwise).
async fn of_project(s: &AppState, actor: &Actor, project: &str, escrow: &str) -> Result<(), AppError> {
    let p = s.app.get_project(actor, project).await?;
    let e = s.app.get_escrow(actor, escrow).await?;
    if e.project_id != p.id {
        return Err(AppError::NotFound("escrow"));
    }
    Ok(())
}

/// `GET /projects/{p}/escrows/{id}/qr.svg`: the payment URI as a QR code.
async fn qr(
    State(s): State<AppState>,
    PageUser(actor): PageUser,
    Path((project, escrow)): Path<(String, String)>,
) -> Result<Response, PageError> {
    of_project(&s, &actor, &project, &escrow).await.or_page(&actor)?;
    let i = s.app.escrow_payment_instructions(&actor, &escrow).await.or_page(&actor)?;
    let mut res = i.qr_svg.into_response();
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("image/svg+xml"));
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static("sandbox; default-src 'none'"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
    Ok(res)
}

/// The funding transaction.
#[derive(Deserialize)]
struct FundForm {
    #[serde(default)]
    tx_hash: String,
}

/// `POST /projects/{p}/escrows/{id}/fund`: records and verifies the
/// client's payment; the escrow shows as funded once the chain confirms it.
async fn fund(
    State(s): State<AppState>,
    PageUser(actor): PageUser,
    Path((project, escrow)): Path<(String, String)>,
    Form(f): Form<FundForm>,
) -> Result<Response, PageError> {
    let done = match of_project(&s, &actor, &project, &escrow).await {
        Ok(()) => s.app.fund_escrow(&actor, &escrow, f.tx_hash.trim()).await.map_err(|e| match e {
            AppError::Unavailable(m) => AppError::Unavailable(format!(
                "Chain verification is not configured on this server ({m}); nothing was recorded. Ask the administrator to set an RPC endpoint."
            )),
            other => other,
        }),
        Err(e) => Err(e),
    };
    let values = HashMap::from([("tx_hash".to_string(), f.tx_hash)]);
    answer(&s, &actor, &project, &format!("escrow-{escrow}"), values, done, &format!("escrow-{escrow}")).await
}
