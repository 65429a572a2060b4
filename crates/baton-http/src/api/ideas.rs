//! `/api/ideas…`: the caller's private ideas, their log, grill and plan.
//! `{id}` accepts the idea's code (`IDEA-007`) too; another user's idea is 404.

use super::responses::{BadBody, Conflict, Forbidden, Invalid, NotFound, Unauthorized};
use crate::{
    AppState,
    error::ApiResult,
    extract::{ApiJson, ApiQuery, Caller},
};
use axum::{
    Json,
    extract::{Path, State},
    http::StatusCode,
};
use baton_app::{
    ideas::{
        DispatchInput, IdeaActions, IdeaFilter, IdeaLogView, IdeaPatch, IdeaSummary, IdeaView, MarkdownInput,
        MaterializeInput, MaterializeResult, NewIdea, NewIdeaLog, PlanMdResult,
    },
    list::{Page, PageParams},
    queue::JobView,
};

/// Creates a draft idea owned by the caller (code `IDEA-NNN`).
#[utoipa::path(post, path = "/ideas", tag = "ideas", security(("bearer" = []), ("session" = [])),
    request_body = NewIdea,
    responses((status = 201, body = IdeaView), BadBody, Unauthorized, Forbidden, Conflict))]
pub async fn create(
    State(s): State<AppState>,
    Caller(actor): Caller,
    ApiJson(input): ApiJson<NewIdea>,
) -> ApiResult<(StatusCode, Json<IdeaView>)> {
    Ok((StatusCode::CREATED, Json(s.app.create_idea(&actor, input).await?)))
}

/// Lists the caller's ideas, newest first, filtered and paginated.
#[utoipa::path(get, path = "/ideas", tag = "ideas", security(("bearer" = []), ("session" = [])),
    params(IdeaFilter, PageParams),
    responses((status = 200, body = Page<IdeaSummary>), Unauthorized, Invalid))]
pub async fn list(
    State(s): State<AppState>,
    Caller(actor): Caller,
    ApiQuery(filter): ApiQuery<IdeaFilter>,
    ApiQuery(page): ApiQuery<PageParams>,
) -> ApiResult<Json<Page<IdeaSummary>>> {
    Ok(Json(s.app.list_ideas(&actor, filter, page).await?))
}

/// One of the caller's ideas, with its grill, plan and plan errors.
#[utoipa::path(get, path = "/ideas/{id}", tag = "ideas", security(("bearer" = []), ("session" = [])),
    params(("id" = String, Path, description = "idea id or code")),
    responses((status = 200, body = IdeaView), Unauthorized, NotFound))]
pub async fn get(
    State(s): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<IdeaView>> {
    Ok(Json(s.app.get_idea(&actor, &id).await?))
}

/// Changes an idea's title, description, products or archived flag.
#[utoipa::path(patch, path = "/ideas/{id}", tag = "ideas", security(("bearer" = []), ("session" = [])),
    params(("id" = String, Path, description = "idea id or code")), request_body = IdeaPatch,
    responses((status = 200, body = IdeaView), BadBody, Unauthorized, Forbidden, NotFound, Conflict))]
pub async fn update(
    State(s): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    ApiJson(patch): ApiJson<IdeaPatch>,
) -> ApiResult<Json<IdeaView>> {
    Ok(Json(s.app.update_idea(&actor, &id, patch).await?))
}

/// An idea's log (decisions, notes, grill and plan results, job events), oldest first.
#[utoipa::path(get, path = "/ideas/{id}/logs", tag = "ideas", security(("bearer" = []), ("session" = [])),
    params(("id" = String, Path, description = "idea id or code"), PageParams),
    responses((status = 200, body = Page<IdeaLogView>), Unauthorized, NotFound, Invalid))]
pub async fn list_logs(
    State(s): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    ApiQuery(page): ApiQuery<PageParams>,
) -> ApiResult<Json<Page<IdeaLogView>>> {
    Ok(Json(s.app.list_idea_logs(&actor, &id, page).await?))
}

/// Logs a decision (or note) on an idea.
#[utoipa::path(post, path = "/ideas/{id}/logs", tag = "ideas", security(("bearer" = []), ("session" = [])),
    params(("id" = String, Path, description = "idea id or code")), request_body = NewIdeaLog,
    responses((status = 201, body = IdeaLogView), BadBody, Unauthorized, Forbidden, NotFound, Conflict))]
pub async fn add_log(
    State(s): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<NewIdeaLog>,
) -> ApiResult<(StatusCode, Json<IdeaLogView>)> {
    Ok((StatusCode::CREATED, Json(s.app.log_idea_decision(&actor, &id, input).await?)))
}

/// Stores the grill's result (`grill_md`) and sets the idea grilled.
#[utoipa::path(put, path = "/ideas/{id}/grill-md", tag = "ideas", security(("bearer" = []), ("session" = [])),
    params(("id" = String, Path, description = "idea id or code")), request_body = MarkdownInput,
    responses((status = 200, body = IdeaView), BadBody, Unauthorized, Forbidden, NotFound, Conflict))]
pub async fn put_grill_md(
    State(s): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<MarkdownInput>,
) -> ApiResult<Json<IdeaView>> {
    Ok(Json(s.app.update_idea_grill_md(&actor, &id, input.markdown).await?))
}

/// Stores and parses the plan (`plan_md`): `ok: true` and plan_ready when it
/// parses, `ok: false` with line-numbered `errors` and plan_failed when not.
#[utoipa::path(put, path = "/ideas/{id}/plan-md", tag = "ideas", security(("bearer" = []), ("session" = [])),
    params(("id" = String, Path, description = "idea id or code")), request_body = MarkdownInput,
    responses((status = 200, body = PlanMdResult), BadBody, Unauthorized, Forbidden, NotFound, Conflict))]
pub async fn put_plan_md(
    State(s): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<MarkdownInput>,
) -> ApiResult<Json<PlanMdResult>> {
    Ok(Json(s.app.update_idea_plan_md(&actor, &id, input.markdown).await?))
}

/// Dispatches an idea job (grill, make_plan, review_plan) after the §7.1
/// guards in order; 409 names the guard that failed.
#[utoipa::path(post, path = "/ideas/{id}/dispatch", tag = "ideas", security(("bearer" = []), ("session" = [])),
    params(("id" = String, Path, description = "idea id or code")), request_body = DispatchInput,
    responses((status = 201, body = JobView), BadBody, Unauthorized, Forbidden, NotFound, Conflict))]
pub async fn dispatch(
    State(s): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<DispatchInput>,
) -> ApiResult<(StatusCode, Json<JobView>)> {
    let job = s.app.dispatch_idea_job(&actor, &id, input.kind.into(), input.product_id.as_deref()).await?;
    Ok((StatusCode::CREATED, Json(job)))
}

/// Turns the idea's plan into a PBI with stories and tasks (optionally a
/// build sprint); 409 `PBI_HAS_ACTIVE_TASKS:<code>` when re-materializing
/// over work in progress without `allow_alongside`.
#[utoipa::path(post, path = "/ideas/{id}/materialize", tag = "ideas", security(("bearer" = []), ("session" = [])),
    params(("id" = String, Path, description = "idea id or code")), request_body = MaterializeInput,
    responses((status = 200, body = MaterializeResult), BadBody, Unauthorized, Forbidden, NotFound, Conflict))]
pub async fn materialize(
    State(s): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<MaterializeInput>,
) -> ApiResult<Json<MaterializeResult>> {
    Ok(Json(s.app.materialize_idea(&actor, &id, input).await?))
}

/// Which idea actions the caller could take now, each with the reason it
/// would be refused.
#[utoipa::path(get, path = "/ideas/{id}/actions", tag = "ideas", security(("bearer" = []), ("session" = [])),
    params(("id" = String, Path, description = "idea id or code")),
    responses((status = 200, body = IdeaActions), Unauthorized, NotFound))]
pub async fn actions(
    State(s): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<IdeaActions>> {
    Ok(Json(s.app.idea_actions(&actor, &id).await?))
}
