//! `/api/products/{id}/members`: who else may read or change a product.
//! Readers may list; only the owner adds, changes and removes.

use axum::{
    Json,
    extract::{Path, State},
    http::StatusCode,
};
use baton_app::{
    list::{Page, PageParams},
    products::{MemberPatch, MemberView, NewMember},
};

use super::responses::{BadBody, Conflict, Forbidden, Invalid, NotFound, Unauthorized};
use crate::{
    AppState,
    error::ApiResult,
    extract::{ApiJson, ApiQuery, Caller},
};

/// Lists a product's members (not the owner), in the order they were added.
#[utoipa::path(get, path = "/products/{id}/members", tag = "products", security(("bearer" = []), ("session" = [])),
    params(("id" = String, Path, description = "product id or code"), PageParams),
    responses((status = 200, body = Page<MemberView>), Unauthorized, NotFound, Invalid))]
pub async fn list(
    State(s): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    ApiQuery(params): ApiQuery<PageParams>,
) -> ApiResult<Json<Page<MemberView>>> {
    Ok(Json(s.app.list_members(&actor, &id, params).await?))
}

/// Adds a member by username (owner only). The user must hold the developer
/// role (422 on `username` otherwise); the owner or an existing member is 409.
#[utoipa::path(post, path = "/products/{id}/members", tag = "products", security(("bearer" = []), ("session" = [])),
    params(("id" = String, Path, description = "product id or code")), request_body = NewMember,
    responses((status = 201, body = MemberView), BadBody, Unauthorized, Forbidden, NotFound, Conflict))]
pub async fn add(
    State(s): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<NewMember>,
) -> ApiResult<(StatusCode, Json<MemberView>)> {
    Ok((StatusCode::CREATED, Json(s.app.add_member(&actor, &id, input).await?)))
}

/// Changes a member's access or role (owner only).
#[utoipa::path(patch, path = "/products/{id}/members/{user_id}", tag = "products",
    security(("bearer" = []), ("session" = [])),
    params(("id" = String, Path, description = "product id or code"), ("user_id" = String, Path, description = "the member's user id")),
    request_body = MemberPatch,
    responses((status = 200, body = MemberView), BadBody, Unauthorized, Forbidden, NotFound, Conflict))]
pub async fn update(
    State(s): State<AppState>,
    Caller(actor): Caller,
    Path((id, user_id)): Path<(String, String)>,
    ApiJson(patch): ApiJson<MemberPatch>,
) -> ApiResult<Json<MemberView>> {
    Ok(Json(s.app.update_member(&actor, &id, &user_id, patch).await?))
}

/// Removes a member (owner only); their active product is cleared if it was this one.
#[utoipa::path(delete, path = "/products/{id}/members/{user_id}", tag = "products",
    security(("bearer" = []), ("session" = [])),
    params(("id" = String, Path, description = "product id or code"), ("user_id" = String, Path, description = "the member's user id")),
    responses((status = 204), Unauthorized, Forbidden, NotFound, Conflict))]
pub async fn remove(
    State(s): State<AppState>,
    Caller(actor): Caller,
    Path((id, user_id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    s.app.remove_member(&actor, &id, &user_id).await?;
    Ok(StatusCode::NO_CONTENT)
}
