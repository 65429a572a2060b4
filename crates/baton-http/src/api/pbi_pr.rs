//! `/api/pbis/{id}/pr…`: a PBI's pull request — link one, mark it merged.
//! The same services back the MCP tools `set_pbi_pr` and `mark_pbi_pr_merged`.

use axum::{
    Json,
    extract::{Path, State},
};
use baton_app::backlog::{pbi_pr::PbiPrInput, pbis::PbiView};

use super::responses::{BadBody, Conflict, Forbidden, Invalid, NotFound, Unauthorized};
use crate::{
    AppState,
    error::ApiResult,
    extract::{ApiJson, Caller},
};

/// Links a pull request to a PBI. The same URL again changes nothing; a
/// different one replaces it and clears `pr_merged_at`. 422 naming `pr_url`
/// for a URL that is not a pull request on an allowed host (the product's
/// repository host or a configured pull request host).
#[utoipa::path(put, path = "/pbis/{id}/pr", tag = "backlog", security(("bearer" = []), ("session" = [])),
    params(("id" = String, Path, description = "PBI id or code")), request_body = PbiPrInput,
    responses((status = 200, body = PbiView), BadBody, Unauthorized, Forbidden, NotFound, Conflict))]
pub async fn set_pr(
    State(s): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<PbiPrInput>,
) -> ApiResult<Json<PbiView>> {
    Ok(Json(s.app.set_pbi_pr(&actor, &id, &input.pr_url).await?))
}

/// Records that the PBI's pull request was merged (now); again keeps the
/// first time. 409 when no pull request is linked.
#[utoipa::path(post, path = "/pbis/{id}/pr/merged", tag = "backlog", security(("bearer" = []), ("session" = [])),
    params(("id" = String, Path, description = "PBI id or code")),
    responses((status = 200, body = PbiView), Unauthorized, Forbidden, NotFound, Conflict, Invalid))]
pub async fn mark_merged(
    State(s): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<PbiView>> {
    Ok(Json(s.app.mark_pbi_pr_merged(&actor, &id).await?))
}
