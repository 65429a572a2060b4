//! `/api/admin/job-kinds`: the model configuration per job kind that the
//! claim uses after the job's and the product's own settings
//! (administrators only).

use axum::{
    Json,
    extract::{Path, State},
};
use baton_app::queue::kind_config::{JobKindConfigInput, JobKindConfigView};

use super::responses::{BadBody, Forbidden, Invalid, NotFound, Unauthorized};
use crate::{
    AppState,
    error::ApiResult,
    extract::{ApiJson, Caller},
};

/// Every job kind with its configuration and the defaults it falls back to.
#[utoipa::path(get, path = "/admin/job-kinds", tag = "admin", security(("bearer" = []), ("session" = [])),
    responses((status = 200, body = Vec<JobKindConfigView>), Unauthorized, Forbidden))]
pub async fn list(State(s): State<AppState>, Caller(actor): Caller) -> ApiResult<Json<Vec<JobKindConfigView>>> {
    Ok(Json(s.app.list_job_kind_configs(&actor).await?))
}

/// One job kind's configuration (422 for an unknown kind).
#[utoipa::path(get, path = "/admin/job-kinds/{kind}", tag = "admin", security(("bearer" = []), ("session" = [])),
    params(("kind" = String, Path, description = "job kind, e.g. `task_implementation`")),
    responses((status = 200, body = JobKindConfigView), Unauthorized, Forbidden, NotFound, Invalid))]
pub async fn get(
    State(s): State<AppState>,
    Caller(actor): Caller,
    Path(kind): Path<String>,
) -> ApiResult<Json<JobKindConfigView>> {
    Ok(Json(s.app.get_job_kind_config(&actor, &kind).await?))
}

/// Replaces one job kind's configuration: model, thinking budget,
/// permission mode, allowed tools, max turns (absent or `null` = not set
/// for this kind). The next claims of that kind use it.
#[utoipa::path(put, path = "/admin/job-kinds/{kind}", tag = "admin", security(("bearer" = []), ("session" = [])),
    params(("kind" = String, Path, description = "job kind, e.g. `task_implementation`")),
    request_body = JobKindConfigInput,
    responses((status = 200, body = JobKindConfigView), BadBody, Unauthorized, Forbidden, NotFound))]
pub async fn put(
    State(s): State<AppState>,
    Caller(actor): Caller,
    Path(kind): Path<String>,
    ApiJson(input): ApiJson<JobKindConfigInput>,
) -> ApiResult<Json<JobKindConfigView>> {
    Ok(Json(s.app.put_job_kind_config(&actor, &kind, input).await?))
}
