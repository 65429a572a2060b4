//! Agent-facing reads (reference §3.1, §10): a product's bundled context,
//! its next story, and a sprint's tasks in execution order.

use axum::{
    Json,
    extract::{Path, State},
};
use baton_app::{
    list::{Page, PageParams},
    products::{NextStory, ProductContext, SprintTask},
};

use super::responses::{Invalid, NotFound, Unauthorized};
use crate::{
    AppState,
    error::ApiResult,
    extract::{ApiQuery, Caller},
};

/// The bundled context an agent starts from: product, newest open sprint,
/// all open sprints (newest first), the next story with its tasks, and the
/// caller's open ideas. Same as `/context`.
#[utoipa::path(get, path = "/products/{id}/claude-context", tag = "agents", security(("bearer" = []), ("session" = [])),
    params(("id" = String, Path, description = "product id or code")),
    responses((status = 200, body = ProductContext), Unauthorized, NotFound))]
pub async fn claude_context(
    State(s): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<ProductContext>> {
    Ok(Json(s.app.product_context(&actor, &id).await?))
}

/// The bundled context an agent starts from (see `/claude-context`).
#[utoipa::path(get, path = "/products/{id}/context", tag = "agents", security(("bearer" = []), ("session" = [])),
    params(("id" = String, Path, description = "product id or code")),
    responses((status = 200, body = ProductContext), Unauthorized, NotFound))]
pub async fn context(
    State(s): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<ProductContext>> {
    Ok(Json(s.app.product_context(&actor, &id).await?))
}

/// The next story of the newest open sprint with its tasks (codes and
/// plans); `story` is `null` when nothing is left to do.
#[utoipa::path(get, path = "/products/{id}/next-story", tag = "agents", security(("bearer" = []), ("session" = [])),
    params(("id" = String, Path, description = "product id or code")),
    responses((status = 200, body = NextStory), Unauthorized, NotFound))]
pub async fn next_story(
    State(s): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<NextStory>> {
    Ok(Json(s.app.next_story(&actor, &id).await?))
}

/// A sprint's tasks in execution order (PBI → story → task), each with its
/// description, plan, story code and derived code.
#[utoipa::path(get, path = "/sprints/{id}/tasks", tag = "agents", security(("bearer" = []), ("session" = [])),
    params(("id" = String, Path, description = "sprint id"), PageParams),
    responses((status = 200, body = Page<SprintTask>), Unauthorized, NotFound, Invalid))]
pub async fn sprint_tasks(
    State(s): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    ApiQuery(params): ApiQuery<PageParams>,
) -> ApiResult<Json<Page<SprintTask>>> {
    Ok(Json(s.app.sprint_tasks(&actor, &id, params).await?))
}
