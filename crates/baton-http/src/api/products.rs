//! `/api/products`: products the caller owns or is a member of, and the
//! caller's active product (`PUT /api/me/active-product`). `{id}` is a
//! product id or its code.

use axum::{
    Json,
    extract::{Path, State},
    http::StatusCode,
};
use baton_app::{
    accounts::UserView,
    list::Page,
    products::{ActiveProduct, NewProduct, ProductFilter, ProductPatch, ProductView},
};

use super::responses::{BadBody, Conflict, Forbidden, Invalid, NotFound, Unauthorized};
use crate::{
    AppState,
    error::ApiResult,
    extract::{ApiJson, ApiQuery, Caller},
};

/// Lists the caller's active products (owned or member of), oldest first;
/// `?archived=true` lists archived ones instead.
#[utoipa::path(get, path = "/products", tag = "products", security(("bearer" = []), ("session" = [])),
    params(ProductFilter),
    responses((status = 200, body = Page<ProductView>), Unauthorized, Invalid))]
pub async fn list(
    State(s): State<AppState>,
    Caller(actor): Caller,
    ApiQuery(filter): ApiQuery<ProductFilter>,
) -> ApiResult<Json<Page<ProductView>>> {
    Ok(Json(s.app.list_products(&actor, filter).await?))
}

/// Creates a product owned by the caller (not for demo accounts).
#[utoipa::path(post, path = "/products", tag = "products", security(("bearer" = []), ("session" = [])),
    request_body = NewProduct,
    responses((status = 201, body = ProductView), BadBody, Unauthorized, Forbidden))]
pub async fn create(
    State(s): State<AppState>,
    Caller(actor): Caller,
    ApiJson(input): ApiJson<NewProduct>,
) -> ApiResult<(StatusCode, Json<ProductView>)> {
    Ok((StatusCode::CREATED, Json(s.app.create_product(&actor, input).await?)))
}

/// One product, by id or code.
#[utoipa::path(get, path = "/products/{id}", tag = "products", security(("bearer" = []), ("session" = [])),
    params(("id" = String, Path, description = "product id or code")),
    responses((status = 200, body = ProductView), Unauthorized, NotFound))]
pub async fn get(
    State(s): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<ProductView>> {
    Ok(Json(s.app.get_product(&actor, &id).await?))
}

/// Changes a product's settings (owner and read-write members; 409 when archived).
#[utoipa::path(patch, path = "/products/{id}", tag = "products", security(("bearer" = []), ("session" = [])),
    params(("id" = String, Path, description = "product id or code")), request_body = ProductPatch,
    responses((status = 200, body = ProductView), BadBody, Unauthorized, Forbidden, NotFound, Conflict))]
pub async fn update(
    State(s): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    ApiJson(patch): ApiJson<ProductPatch>,
) -> ApiResult<Json<ProductView>> {
    Ok(Json(s.app.update_product(&actor, &id, patch).await?))
}

/// Deletes a product and its whole backlog for good (owner only).
#[utoipa::path(delete, path = "/products/{id}", tag = "products", security(("bearer" = []), ("session" = [])),
    params(("id" = String, Path, description = "product id or code")),
    responses((status = 204), Unauthorized, Forbidden, NotFound, Conflict))]
pub async fn delete(State(s): State<AppState>, Caller(actor): Caller, Path(id): Path<String>) -> ApiResult<StatusCode> {
    s.app.delete_product(&actor, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Archives a product: it leaves the default list and becomes read-only (owner only).
#[utoipa::path(post, path = "/products/{id}/archive", tag = "products", security(("bearer" = []), ("session" = [])),
    params(("id" = String, Path, description = "product id or code")),
    responses((status = 200, body = ProductView), Unauthorized, Forbidden, NotFound, Conflict))]
pub async fn archive(
    State(s): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<ProductView>> {
    Ok(Json(s.app.set_product_archived(&actor, &id, true).await?))
}

/// Unarchives a product (owner only).
#[utoipa::path(post, path = "/products/{id}/unarchive", tag = "products", security(("bearer" = []), ("session" = [])),
    params(("id" = String, Path, description = "product id or code")),
    responses((status = 200, body = ProductView), Unauthorized, Forbidden, NotFound, Conflict))]
pub async fn unarchive(
    State(s): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<ProductView>> {
    Ok(Json(s.app.set_product_archived(&actor, &id, false).await?))
}

/// Sets (or with `null` clears) the caller's active product; answers with the caller.
#[utoipa::path(put, path = "/me/active-product", tag = "account", security(("bearer" = []), ("session" = [])),
    request_body = ActiveProduct,
    responses((status = 200, body = UserView), BadBody, Unauthorized, Forbidden))]
pub async fn set_active(
    State(s): State<AppState>,
    Caller(actor): Caller,
    ApiJson(input): ApiJson<ActiveProduct>,
) -> ApiResult<Json<UserView>> {
    Ok(Json(s.app.set_active_product(&actor, input).await?))
}
