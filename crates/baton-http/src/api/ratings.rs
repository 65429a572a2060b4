//! `/api/projects/{id}/ratings` and `/api/experts/{username}`: clients rate
//! experts after completed work; anyone signed in reads a profile. The same
//! services back the MCP tools `rate_expert` and `get_expert_profile`.

use axum::{
    Json,
    extract::{Path, State},
    http::StatusCode,
};
use baton_app::marketplace::ratings::{ExpertProfile, NewRating, RatingView};

use super::responses::{BadBody, Conflict, Forbidden, NotFound, Unauthorized};
use crate::{
    AppState,
    error::ApiResult,
    extract::{ApiJson, Caller},
};

/// The project's client rates an expert (1–5, optional feedback ≤ 500
/// characters) once per stage, after that expert's work at the stage was
/// completed (409 before, and for a second rating).
#[utoipa::path(post, path = "/projects/{id}/ratings", tag = "marketplace",
    security(("bearer" = []), ("session" = [])),
    params(("id" = String, Path, description = "Project id")), request_body = NewRating,
    responses((status = 201, body = RatingView), BadBody, Unauthorized, Forbidden, NotFound, Conflict))]
pub async fn rate(
    State(s): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<NewRating>,
) -> ApiResult<(StatusCode, Json<RatingView>)> {
    Ok((StatusCode::CREATED, Json(s.app.rate_expert(&actor, &id, input).await?)))
}

/// The ratings given in a project, newest first (its client and administrators).
#[utoipa::path(get, path = "/projects/{id}/ratings", tag = "marketplace",
    security(("bearer" = []), ("session" = [])),
    params(("id" = String, Path, description = "Project id")),
    responses((status = 200, body = Vec<RatingView>), Unauthorized, NotFound))]
pub async fn list(
    State(s): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Vec<RatingView>>> {
    Ok(Json(s.app.project_ratings(&actor, &id).await?))
}

/// An expert's profile: average and count overall and per stage, completed
/// engagements, the newest ratings.
#[utoipa::path(get, path = "/experts/{username}", tag = "marketplace",
    security(("bearer" = []), ("session" = [])),
    params(("username" = String, Path, description = "The expert's username")),
    responses((status = 200, body = ExpertProfile), Unauthorized, NotFound))]
pub async fn profile(
    State(s): State<AppState>,
    Caller(actor): Caller,
    Path(username): Path<String>,
) -> ApiResult<Json<ExpertProfile>> {
    Ok(Json(s.app.expert_profile(&actor, &username).await?))
}
