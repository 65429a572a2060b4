//! The one product-access function. Every query for product data asks here
//! first; the decision itself is the pure rule in `baton_domain::access`.

use baton_domain::{
    access::{AccessFacts, ProductAccess, product_access},
    roles::MemberAccess,
};
use baton_store::{
    entities::{product, product_member},
    sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter},
};

use crate::{Actor, AppError, AuthVia};

/// What `actor` may do with product `product_id`, and the product row.
/// `None` access (missing product, no membership, outside token scope) comes
/// back as `NotFound`, so ids of other people's products cannot be probed.
pub async fn product_for<C: ConnectionTrait>(
    db: &C,
    actor: &Actor,
    product_id: &str,
) -> Result<(product::Model, ProductAccess), AppError> {
    let product =
        product::Entity::find_by_id(product_id.to_string()).one(db).await?.ok_or(AppError::NotFound("product"))?;
    let membership = if actor.user_id == product.user_id || matches!(actor.via, AuthVia::Cli) {
        None
    } else {
        product_member::Entity::find()
            .filter(product_member::Column::ProductId.eq(&product.id))
            .filter(product_member::Column::UserId.eq(&actor.user_id))
            .one(db)
            .await?
            .map(|m| MemberAccess::decode(&m.access, "product_members.access"))
            .transpose()?
    };
    let facts = AccessFacts {
        is_owner: actor.user_id == product.user_id || matches!(actor.via, AuthVia::Cli),
        membership,
        is_demo: actor.is_demo,
        is_admin: actor.is_admin(),
        outside_token_scope: actor.token_scope().is_some_and(|s| !s.iter().any(|p| p == &product.id)),
    };
    match product_access(facts) {
        ProductAccess::None => Err(AppError::NotFound("product")),
        access => Ok((product, access)),
    }
}

/// Loads a product the actor may read.
pub async fn readable<C: ConnectionTrait>(db: &C, actor: &Actor, product_id: &str) -> Result<product::Model, AppError> {
    Ok(product_for(db, actor, product_id).await?.0)
}

/// Loads a product the actor may change (backlog writes); 403 for readers.
pub async fn writable<C: ConnectionTrait>(db: &C, actor: &Actor, product_id: &str) -> Result<product::Model, AppError> {
    actor.require_write()?;
    let (p, access) = product_for(db, actor, product_id).await?;
    if !access.can_write() {
        return Err(AppError::Forbidden("you have read-only access to this product".into()));
    }
    Ok(p)
}

/// Loads a product the actor owns (members, settings, archive); 403 otherwise.
pub async fn manageable<C: ConnectionTrait>(
    db: &C,
    actor: &Actor,
    product_id: &str,
) -> Result<product::Model, AppError> {
    actor.require_write()?;
    let (p, access) = product_for(db, actor, product_id).await?;
    if !access.can_manage() {
        return Err(AppError::Forbidden("only the product owner may do this".into()));
    }
    Ok(p)
}
