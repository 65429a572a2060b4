//! Marketplace stories (issue 12 "Stories, BMAD and QA"): a project's
//! `epic.story` list and creation, and the workflow of one story —
//! validation, moves, PR, QA review, approval — with its audit trail.
//! Thin adapters over `App`'s story services; the backlog's own
//! `/api/stories/{id}` routes stay as they are (these are sub-paths they do
//! not use).

use axum::{
    Json,
    extract::{Path, State},
    http::StatusCode,
};
use baton_app::marketplace::stories::{
    AuditEntryView, MarketStoryDetail, MarketStoryView, NewMarketStory, QaReviewInput, StoryApproval, StoryFilter,
    StoryMoveResult, StoryPr, StoryTransition, UpsertOutcome, UpsertResult, ValidationInput,
};

use super::responses::{BadBody, Conflict, Forbidden, Invalid, NotFound, Unauthorized};
use crate::{
    AppState,
    error::ApiResult,
    extract::{ApiJson, ApiQuery, Caller},
};

/// A project's marketplace stories in `epic.story` order, each with its
/// number, workflow state, validation score, QA gate and assigned parties.
#[utoipa::path(get, path = "/projects/{id}/stories", tag = "marketplace", security(("bearer" = []), ("session" = [])),
    params(("id" = String, Path, description = "project (product) id, or its code for owners and members"), StoryFilter),
    responses((status = 200, body = Vec<MarketStoryView>), Unauthorized, NotFound, Invalid))]
pub async fn list(
    State(s): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    ApiQuery(filter): ApiQuery<StoryFilter>,
) -> ApiResult<Json<Vec<MarketStoryView>>> {
    Ok(Json(s.app.list_project_stories(&actor, &id, filter).await?))
}

/// Creates or updates story `epic.story` (idempotent, keyed by number):
/// 201 when created (draft), 200 when updated or unchanged. By the client
/// or a PM/architect of the project.
#[utoipa::path(post, path = "/projects/{id}/stories", tag = "marketplace", security(("bearer" = []), ("session" = [])),
    params(("id" = String, Path, description = "project (product) id, or its code for owners and members")),
    request_body = NewMarketStory,
    responses((status = 201, body = UpsertResult, description = "created"),
        (status = 200, body = UpsertResult, description = "updated or unchanged"),
        BadBody, Unauthorized, Forbidden, NotFound, Conflict))]
pub async fn upsert(
    State(s): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<NewMarketStory>,
) -> ApiResult<(StatusCode, Json<UpsertResult>)> {
    let r = s.app.create_market_story(&actor, &id, input).await?;
    let status = if r.outcome == UpsertOutcome::Created { StatusCode::CREATED } else { StatusCode::OK };
    Ok((status, Json(r)))
}

/// One marketplace story with its audit trail (oldest first).
#[utoipa::path(get, path = "/stories/{id}/workflow", tag = "marketplace", security(("bearer" = []), ("session" = [])),
    params(("id" = String, Path, description = "marketplace story id")),
    responses((status = 200, body = MarketStoryDetail), Unauthorized, NotFound))]
pub async fn detail(
    State(s): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<MarketStoryDetail>> {
    Ok(Json(s.app.get_market_story(&actor, &id).await?))
}

/// A marketplace story's audit trail: who moved it from where to where, validations, PRs, gates.
#[utoipa::path(get, path = "/stories/{id}/audit", tag = "marketplace", security(("bearer" = []), ("session" = [])),
    params(("id" = String, Path, description = "marketplace story id")),
    responses((status = 200, body = Vec<AuditEntryView>), Unauthorized, NotFound))]
pub async fn audit(
    State(s): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Vec<AuditEntryView>>> {
    Ok(Json(s.app.story_audit(&actor, &id).await?))
}

/// Records a validation (score 1–10, go | no_go) of a draft story; a GO at
/// or above the project's threshold (default 8) approves it and opens its
/// developer opportunity. By a PM/architect of the project or the client.
#[utoipa::path(post, path = "/stories/{id}/validation", tag = "marketplace", security(("bearer" = []), ("session" = [])),
    params(("id" = String, Path, description = "marketplace story id")), request_body = ValidationInput,
    responses((status = 200, body = StoryMoveResult), BadBody, Unauthorized, Forbidden, NotFound, Conflict))]
pub async fn validation(
    State(s): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<ValidationInput>,
) -> ApiResult<Json<StoryMoveResult>> {
    Ok(Json(s.app.record_validation(&actor, &id, input).await?))
}

/// Moves a story as the workflow table allows: start (assigned developer,
/// approved → in_progress), block (any party), back from blocked to where
/// it was. Other moves go through their own routes (409 names them).
#[utoipa::path(post, path = "/stories/{id}/transition", tag = "marketplace", security(("bearer" = []), ("session" = [])),
    params(("id" = String, Path, description = "marketplace story id")), request_body = StoryTransition,
    responses((status = 200, body = StoryMoveResult), BadBody, Unauthorized, Forbidden, NotFound, Conflict))]
pub async fn transition(
    State(s): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<StoryTransition>,
) -> ApiResult<Json<StoryMoveResult>> {
    Ok(Json(s.app.transition_story(&actor, &id, input).await?))
}

/// The assigned developer submits the story's pull request: in_progress →
/// ready_for_review; the first submission opens the QA opportunity.
#[utoipa::path(post, path = "/stories/{id}/submit-pr", tag = "marketplace", security(("bearer" = []), ("session" = [])),
    params(("id" = String, Path, description = "marketplace story id")), request_body = StoryPr,
    responses((status = 200, body = StoryMoveResult), BadBody, Unauthorized, Forbidden, NotFound, Conflict))]
pub async fn submit_pr(
    State(s): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<StoryPr>,
) -> ApiResult<Json<StoryMoveResult>> {
    Ok(Json(s.app.submit_story_pr(&actor, &id, input).await?))
}

/// The assigned QA records a gate: pass | waived complete the story
/// (escrows approved for release), fail sends it back to in_progress,
/// concerns too unless the project's policy is `proceed`.
#[utoipa::path(post, path = "/stories/{id}/qa-review", tag = "marketplace", security(("bearer" = []), ("session" = [])),
    params(("id" = String, Path, description = "marketplace story id")), request_body = QaReviewInput,
    responses((status = 200, body = StoryMoveResult), BadBody, Unauthorized, Forbidden, NotFound, Conflict))]
pub async fn qa_review(
    State(s): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<QaReviewInput>,
) -> ApiResult<Json<StoryMoveResult>> {
    Ok(Json(s.app.submit_qa_review(&actor, &id, input).await?))
}

/// The assigned QA approves a story ready for review (gate pass) and it is
/// completed; approving a story already done changes nothing (`changed: false`).
#[utoipa::path(post, path = "/stories/{id}/approve", tag = "marketplace", security(("bearer" = []), ("session" = [])),
    params(("id" = String, Path, description = "marketplace story id")), request_body = StoryApproval,
    responses((status = 200, body = StoryMoveResult), BadBody, Unauthorized, Forbidden, NotFound, Conflict))]
pub async fn approve(
    State(s): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<StoryApproval>,
) -> ApiResult<Json<StoryMoveResult>> {
    Ok(Json(s.app.approve_story(&actor, &id, input).await?))
}
