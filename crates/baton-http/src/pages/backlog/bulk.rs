//! `POST /products/{code}/bulk`: the multi-select form. Checkboxes post
//! `ids` as `kind:id` (`story:0190…`); the `op` button says what to do —
//! `status` (one status on items of one kind) or `sprint` (stories into an
//! open sprint, or back to the backlog with `none`). Both services are
//! all-or-nothing: a refusal changes nothing and is shown on the form.

use axum::{
    extract::{Path, State},
    response::{IntoResponse, Response},
};
use baton_app::{
    AppError, AppResult,
    bulk::{BulkKind, BulkStatusInput, MoveToSprintInput},
};

use super::{Ctx, Fields};
use crate::{AppState, pages::layout::PageUser};

/// The selected items' kind and ids; all must be of one kind.
fn selection(f: &Fields) -> AppResult<(BulkKind, Vec<String>)> {
    let mut kind = None;
    let mut ids = Vec::new();
    for v in f.all("ids") {
        let (k, id) = v.split_once(':').unwrap_or(("", v));
        let k = match k {
            "pbi" => BulkKind::Pbi,
            "story" => BulkKind::Story,
            "task" => BulkKind::Task,
            _ => return Err(AppError::field("ids", format!("`{v}` is not a selected backlog item"))),
        };
        if kind.is_some_and(|known| known != k) {
            return Err(AppError::field("ids", "select items of one kind: only PBIs, only stories or only tasks"));
        }
        kind = Some(k);
        ids.push(id.to_string());
    }
    match kind {
        Some(k) => Ok((k, ids)),
        None => Err(AppError::field("ids", "select at least one item")),
    }
}

async fn apply(s: &AppState, actor: &baton_app::Actor, f: &Fields) -> AppResult<()> {
    let (kind, ids) = selection(f)?;
    match f.get("op").unwrap_or_default() {
        "status" => {
            let status = f.filled("status").ok_or_else(|| AppError::field("status", "choose a status"))?;
            let input = BulkStatusInput { kind, ids, status: status.to_string() };
            s.app.bulk_status(actor, input).await.map(|_| ())
        }
        "sprint" => {
            if kind != BulkKind::Story {
                return Err(AppError::field("ids", "only stories move to a sprint: select stories"));
            }
            let sprint = match f.filled("sprint") {
                None => return Err(AppError::field("sprint", "choose a sprint, or the product backlog")),
                Some(v) if v.eq_ignore_ascii_case("none") => None,
                Some(v) => Some(v.to_string()),
            };
            let input = MoveToSprintInput { story_ids: ids, sprint_id: Some(sprint) };
            s.app.bulk_move_to_sprint(actor, input).await.map(|_| ())
        }
        _ => Err(AppError::field("op", "choose Set status or Move to sprint")),
    }
}

/// `POST /products/{code}/bulk`.
pub(super) async fn bulk(
    State(s): State<AppState>,
    PageUser(actor): PageUser,
    Path(code): Path<String>,
    f: Fields,
) -> Response {
    let ctx = match Ctx::load(&s, &actor, &code).await {
        Ok(c) => c,
        Err(e) => return e.into_response(),
    };
    let result = apply(&s, &actor, &f).await;
    // An unknown selected id is a validation error of the bulk services, so
    // it stays on the form instead of becoming the 404 page.
    let result = result.map_err(|e| match e {
        AppError::NotFound(what) => AppError::field("ids", format!("a selected {what} no longer exists")),
        other => other,
    });
    ctx.finish(&s, &actor, result, "bulk:".into(), &f).await
}
