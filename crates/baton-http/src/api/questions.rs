//! `/api/questions`: people read and answer the questions agents ask
//! (agents ask over MCP `ask_user_question`).

use axum::{
    Json,
    extract::{Path, State},
};
use baton_app::{
    list::Page,
    questions::{AnswerInput, QuestionFilter, QuestionView},
};

use super::responses::{BadBody, Conflict, Forbidden, Invalid, NotFound, Unauthorized};
use crate::{
    AppState,
    error::ApiResult,
    extract::{ApiJson, ApiQuery, Caller},
};

/// Lists questions in products the caller can read (and the caller's own
/// idea questions), newest first; filter by status and product.
#[utoipa::path(get, path = "/questions", tag = "questions", security(("bearer" = []), ("session" = [])),
    params(QuestionFilter),
    responses((status = 200, body = Page<QuestionView>), Unauthorized, NotFound, Invalid))]
pub async fn list(
    State(s): State<AppState>,
    Caller(actor): Caller,
    ApiQuery(filter): ApiQuery<QuestionFilter>,
) -> ApiResult<Json<Page<QuestionView>>> {
    Ok(Json(s.app.list_questions(&actor, filter).await?))
}

/// One question.
#[utoipa::path(get, path = "/questions/{id}", tag = "questions", security(("bearer" = []), ("session" = [])),
    params(("id" = String, Path, description = "question id")),
    responses((status = 200, body = QuestionView), Unauthorized, NotFound))]
pub async fn get(
    State(s): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<QuestionView>> {
    Ok(Json(s.app.get_question(&actor, &id).await?))
}

/// Answers an open question (product members with write access; idea
/// questions: the idea's owner). With options, the answer must be one of
/// them. Of two racing answers exactly one wins; the other gets 409.
#[utoipa::path(post, path = "/questions/{id}/answer", tag = "questions", security(("bearer" = []), ("session" = [])),
    params(("id" = String, Path, description = "question id")), request_body = AnswerInput,
    responses((status = 200, body = QuestionView), BadBody, Unauthorized, Forbidden, NotFound, Conflict))]
pub async fn answer(
    State(s): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<AnswerInput>,
) -> ApiResult<Json<QuestionView>> {
    Ok(Json(s.app.answer_question(&actor, &id, input).await?))
}

/// Withdraws an open question (its asker only; others get 404).
#[utoipa::path(post, path = "/questions/{id}/cancel", tag = "questions", security(("bearer" = []), ("session" = [])),
    params(("id" = String, Path, description = "question id")),
    responses((status = 200, body = QuestionView), Unauthorized, Forbidden, NotFound, Conflict))]
pub async fn cancel(
    State(s): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<QuestionView>> {
    Ok(Json(s.app.cancel_question(&actor, &id).await?))
}
