//! `/api/projects`: marketplace projects (a client's products with a stage
//! and a brief), their brief and stage, and `PUT /api/me/roles` (the
//! caller's self-service marketplace roles). `{id}` is a product id or its
//! code.

use axum::{
    Json,
    extract::{Path, State},
    http::StatusCode,
};
use baton_app::{
    accounts::UserView,
    list::Page,
    marketplace::projects::{
        AdvanceInput, BriefInput, BriefView, NewProject, ProjectFilter, ProjectPatch, ProjectView, roles::MyRolesInput,
    },
};

use super::responses::{BadBody, Conflict, Forbidden, Invalid, NotFound, Unauthorized};
use crate::{
    AppState,
    error::ApiResult,
    extract::{ApiJson, ApiQuery, Caller},
};

/// Sets the caller's self-service marketplace roles (client, analyst, pm,
/// architect, ux, developer, qa); administrator-granted roles are kept.
#[utoipa::path(put, path = "/me/roles", tag = "account", security(("bearer" = []), ("session" = [])),
    request_body = MyRolesInput,
    responses((status = 200, body = UserView), BadBody, Unauthorized, Forbidden))]
pub async fn set_my_roles(
    State(s): State<AppState>,
    Caller(actor): Caller,
    ApiJson(input): ApiJson<MyRolesInput>,
) -> ApiResult<Json<UserView>> {
    Ok(Json(s.app.set_my_roles(&actor, input).await?))
}

/// The caller's projects (as client, member, or with an accepted bid), newest first.
#[utoipa::path(get, path = "/projects", tag = "marketplace", security(("bearer" = []), ("session" = [])),
    params(ProjectFilter),
    responses((status = 200, body = Page<ProjectView>), Unauthorized, Invalid))]
pub async fn list(
    State(s): State<AppState>,
    Caller(actor): Caller,
    ApiQuery(filter): ApiQuery<ProjectFilter>,
) -> ApiResult<Json<Page<ProjectView>>> {
    Ok(Json(s.app.list_projects(&actor, filter).await?))
}

/// Creates a project (role client): planning, analyst stage, optional draft brief.
#[utoipa::path(post, path = "/projects", tag = "marketplace", security(("bearer" = []), ("session" = [])),
    request_body = NewProject,
    responses((status = 201, body = ProjectView), BadBody, Unauthorized, Forbidden))]
pub async fn create(
    State(s): State<AppState>,
    Caller(actor): Caller,
    ApiJson(input): ApiJson<NewProject>,
) -> ApiResult<(StatusCode, Json<ProjectView>)> {
    Ok((StatusCode::CREATED, Json(s.app.create_project(&actor, input).await?)))
}

/// One project, by id or code.
#[utoipa::path(get, path = "/projects/{id}", tag = "marketplace", security(("bearer" = []), ("session" = [])),
    params(("id" = String, Path, description = "project (product) id or code")),
    responses((status = 200, body = ProjectView), Unauthorized, NotFound))]
pub async fn get(
    State(s): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<ProjectView>> {
    Ok(Json(s.app.get_project(&actor, &id).await?))
}

/// Changes a project's name, description, settings, or cancels it (client only).
#[utoipa::path(patch, path = "/projects/{id}", tag = "marketplace", security(("bearer" = []), ("session" = [])),
    params(("id" = String, Path, description = "project (product) id or code")), request_body = ProjectPatch,
    responses((status = 200, body = ProjectView), BadBody, Unauthorized, Forbidden, NotFound, Conflict))]
pub async fn update(
    State(s): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    ApiJson(patch): ApiJson<ProjectPatch>,
) -> ApiResult<Json<ProjectView>> {
    Ok(Json(s.app.update_project(&actor, &id, patch).await?))
}

/// The project's brief.
#[utoipa::path(get, path = "/projects/{id}/brief", tag = "marketplace", security(("bearer" = []), ("session" = [])),
    params(("id" = String, Path, description = "project (product) id or code")),
    responses((status = 200, body = BriefView), Unauthorized, NotFound))]
pub async fn get_brief(
    State(s): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<BriefView>> {
    Ok(Json(s.app.get_project_brief(&actor, &id).await?))
}

/// Writes the brief's markdown (client only); a published brief stays published.
#[utoipa::path(put, path = "/projects/{id}/brief", tag = "marketplace", security(("bearer" = []), ("session" = [])),
    params(("id" = String, Path, description = "project (product) id or code")), request_body = BriefInput,
    responses((status = 200, body = BriefView), BadBody, Unauthorized, Forbidden, NotFound, Conflict))]
pub async fn put_brief(
    State(s): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<BriefInput>,
) -> ApiResult<Json<BriefView>> {
    Ok(Json(s.app.put_project_brief(&actor, &id, input).await?))
}

/// Publishes the brief (client only); the PM opportunity may then be posted.
#[utoipa::path(post, path = "/projects/{id}/brief/publish", tag = "marketplace", security(("bearer" = []), ("session" = [])),
    params(("id" = String, Path, description = "project (product) id or code")),
    responses((status = 200, body = BriefView), Unauthorized, Forbidden, NotFound, Conflict))]
pub async fn publish_brief(
    State(s): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<BriefView>> {
    Ok(Json(s.app.publish_project_brief(&actor, &id).await?))
}

/// Moves the project to its next stage (client only; from architect,
/// `{"to": "developer"}` skips UX). 409 while the stage's opportunity runs.
#[utoipa::path(post, path = "/projects/{id}/advance-stage", tag = "marketplace", security(("bearer" = []), ("session" = [])),
    params(("id" = String, Path, description = "project (product) id or code")), request_body = AdvanceInput,
    responses((status = 200, body = ProjectView), BadBody, Unauthorized, Forbidden, NotFound, Conflict))]
pub async fn advance_stage(
    State(s): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<AdvanceInput>,
) -> ApiResult<Json<ProjectView>> {
    Ok(Json(s.app.advance_project_stage(&actor, &id, input).await?))
}
