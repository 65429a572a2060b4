//! `/api/sprints/{id}/runs` and `/api/sprint-runs/{id}…`: sprint runs as
//! people drive them — start one (its jobs are queued for the caller's
//! agents), list and read them with their jobs and frozen task executions,
//! cancel and resume. Workers report on runs over MCP, which calls the same
//! services.

use axum::{
    Json,
    body::Bytes,
    extract::{Path, State},
    http::StatusCode,
};
use baton_app::{
    list::{Page, PageParams},
    sprint_runs::{SprintRunDetail, SprintRunView, StartSprintRun},
};
use serde::Deserialize;

use super::responses::{BadBody, Conflict, Forbidden, Invalid, NotFound, Unauthorized};
use crate::{
    AppState,
    error::ApiResult,
    extract::{ApiQuery, Caller, parse_json},
};

/// Paging of a run list.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RunQuery {
    /// Page number, from 1 to 1000000.
    #[param(minimum = 1, maximum = 1_000_000)]
    pub page: Option<u64>,
    /// Items per page, 1–200 (default 50).
    pub limit: Option<u64>,
}

/// Starts a run of an open sprint: one `sprint_implementation` job
/// (`sprint_batch`) or one `task_implementation` job per todo task in
/// execution order (`story`, `sprint`), queued for the caller's agents. The
/// body is optional. 409 when the sprint is not open, already has a queued,
/// running or paused run, has no todo task, or a pre-flight check fails
/// (`PRE_FLIGHT_BLOCKED: task_no_plan T-4; open_question ST-002; …`).
#[utoipa::path(post, path = "/sprints/{id}/runs", tag = "sprint runs", security(("bearer" = []), ("session" = [])),
    params(("id" = String, Path, description = "sprint id")),
    request_body(content = Option<StartSprintRun>, description = "optional; `{}` or no body for the defaults"),
    responses((status = 201, body = SprintRunDetail), BadBody, Unauthorized, Forbidden, NotFound, Conflict))]
pub async fn start(
    State(s): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult<(StatusCode, Json<SprintRunDetail>)> {
    let input: StartSprintRun =
        if body.iter().all(u8::is_ascii_whitespace) { StartSprintRun::default() } else { parse_json(&body)? };
    Ok((StatusCode::CREATED, Json(s.app.start_sprint_run(&actor, &id, input).await?)))
}

/// The runs of a sprint, newest first.
#[utoipa::path(get, path = "/sprints/{id}/runs", tag = "sprint runs", security(("bearer" = []), ("session" = [])),
    params(("id" = String, Path, description = "sprint id"), RunQuery),
    responses((status = 200, body = Page<SprintRunView>), Unauthorized, NotFound, Invalid))]
pub async fn list(
    State(s): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<RunQuery>,
) -> ApiResult<Json<Page<SprintRunView>>> {
    Ok(Json(s.app.list_sprint_runs(&actor, &id, PageParams { page: q.page, limit: q.limit }).await?))
}

/// One run with its jobs and the frozen task executions of its batch job.
#[utoipa::path(get, path = "/sprint-runs/{id}", tag = "sprint runs", security(("bearer" = []), ("session" = [])),
    params(("id" = String, Path, description = "sprint run id")),
    responses((status = 200, body = SprintRunDetail), Unauthorized, NotFound))]
pub async fn get(
    State(s): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<SprintRunDetail>> {
    Ok(Json(s.app.get_sprint_run(&actor, &id).await?))
}

/// Cancels a queued, running or paused run and its unfinished jobs (their
/// workers get `JOB_CANCELLED`). 409 when the run already finished.
#[utoipa::path(post, path = "/sprint-runs/{id}/cancel", tag = "sprint runs", security(("bearer" = []), ("session" = [])),
    params(("id" = String, Path, description = "sprint run id")),
    responses((status = 200, body = SprintRunDetail), Unauthorized, Forbidden, NotFound, Conflict))]
pub async fn cancel(
    State(s): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<SprintRunDetail>> {
    Ok(Json(s.app.cancel_sprint_run(&actor, &id).await?))
}

/// Resumes a paused run. A `sprint_batch` run continues as a new run chained
/// to it (`previous_run_id`) on the same branch with the tasks still in todo;
/// the paused run is cancelled. Per-task runs simply run again. Returns the
/// run that now runs. 409 unless paused.
#[utoipa::path(post, path = "/sprint-runs/{id}/resume", tag = "sprint runs", security(("bearer" = []), ("session" = [])),
    params(("id" = String, Path, description = "sprint run id")),
    responses((status = 200, body = SprintRunDetail), Unauthorized, Forbidden, NotFound, Conflict))]
pub async fn resume(
    State(s): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<SprintRunDetail>> {
    Ok(Json(s.app.resume_sprint_run(&actor, &id).await?))
}
