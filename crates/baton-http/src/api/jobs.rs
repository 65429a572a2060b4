//! `/api/tasks/{id}/jobs` and `/api/jobs…`: the agent job queue as people see
//! it — start an agent on a task, list and read jobs, cancel one, retry a
//! failed or cancelled one. Workers claim and report over MCP, which calls
//! the same services.

use axum::{
    Json,
    body::Bytes,
    extract::{Path, State},
    http::StatusCode,
};
use baton_app::{
    list::Page,
    queue::{
        JobView,
        enqueue::{JobFilter, NewTaskJob},
    },
};

use super::responses::{BadBody, Conflict, Forbidden, Invalid, NotFound, Unauthorized};
use crate::{
    AppState,
    error::ApiResult,
    extract::{ApiQuery, Caller, parse_json},
};

/// Starts an agent on a task: queues a `task_implementation` job (source
/// `manual`) for the caller's own workers. The body is optional. 409 while
/// the task already has a queued, claimed or running job.
#[utoipa::path(post, path = "/tasks/{id}/jobs", tag = "jobs", security(("bearer" = []), ("session" = [])),
    params(("id" = String, Path, description = "task id or code")),
    request_body(content = Option<NewTaskJob>, description = "optional; `{}` or no body for the defaults"),
    responses((status = 201, body = JobView), BadBody, Unauthorized, Forbidden, NotFound, Conflict))]
pub async fn enqueue(
    State(s): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult<(StatusCode, Json<JobView>)> {
    let input: NewTaskJob =
        if body.iter().all(u8::is_ascii_whitespace) { NewTaskJob::default() } else { parse_json(&body)? };
    Ok((StatusCode::CREATED, Json(s.app.enqueue_task_job(&actor, &id, input).await?)))
}

/// Jobs in the products the caller can read, newest first, filtered and paginated.
#[utoipa::path(get, path = "/jobs", tag = "jobs", security(("bearer" = []), ("session" = [])),
    params(JobFilter),
    responses((status = 200, body = Page<JobView>), Unauthorized, NotFound, Invalid))]
pub async fn list(
    State(s): State<AppState>,
    Caller(actor): Caller,
    ApiQuery(filter): ApiQuery<JobFilter>,
) -> ApiResult<Json<Page<JobView>>> {
    Ok(Json(s.app.list_jobs(&actor, filter).await?))
}

/// One job.
#[utoipa::path(get, path = "/jobs/{id}", tag = "jobs", security(("bearer" = []), ("session" = [])),
    params(("id" = String, Path, description = "job id")),
    responses((status = 200, body = JobView), Unauthorized, NotFound))]
pub async fn get(State(s): State<AppState>, Caller(actor): Caller, Path(id): Path<String>) -> ApiResult<Json<JobView>> {
    Ok(Json(s.app.get_job(&actor, &id).await?))
}

/// Cancels an unfinished job; its worker gets `JOB_CANCELLED` on its next
/// report. 409 when the job already finished.
#[utoipa::path(post, path = "/jobs/{id}/cancel", tag = "jobs", security(("bearer" = []), ("session" = [])),
    params(("id" = String, Path, description = "job id")),
    responses((status = 200, body = JobView), Unauthorized, Forbidden, NotFound, Conflict))]
pub async fn cancel(
    State(s): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<JobView>> {
    Ok(Json(s.app.cancel_job(&actor, &id).await?))
}

/// Retries a failed or cancelled task job: queues a new job for the same
/// task with the same requested configuration, for the caller's own
/// workers; the old job stays as it was. 409 naming the job's status when
/// it is not failed or cancelled, for jobs of a sprint run or of another
/// kind, and while the task has another queued, claimed or running job.
#[utoipa::path(post, path = "/jobs/{id}/retry", tag = "jobs", security(("bearer" = []), ("session" = [])),
    params(("id" = String, Path, description = "job id")),
    responses((status = 201, body = JobView), Unauthorized, Forbidden, NotFound, Conflict))]
pub async fn retry(
    State(s): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
) -> ApiResult<(StatusCode, Json<JobView>)> {
    Ok((StatusCode::CREATED, Json(s.app.retry_job(&actor, &id).await?)))
}

/// Requeues a stuck claimed or running job: back to `queued` at once, claim
/// cleared, `retry_count + 1` (the worker still holding it is refused on its
/// next heartbeat or report). Only the job's owner or an administrator.
/// 409 naming the job's status unless it is claimed or running.
#[utoipa::path(post, path = "/jobs/{id}/requeue", tag = "jobs", security(("bearer" = []), ("session" = [])),
    params(("id" = String, Path, description = "job id")),
    responses((status = 200, body = JobView), Unauthorized, Forbidden, NotFound, Conflict))]
pub async fn requeue(
    State(s): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<JobView>> {
    Ok(Json(s.app.requeue_job(&actor, &id).await?))
}
