//! The one product-access function. Every query for product data asks here
//! first; the decision itself is the pure rule in `baton_domain::access`.

use baton_domain::{
    access::{AccessFacts, ProductAccess, product_access},
    roles::MemberAccess,
};
use baton_store::{
    entities::{product, product_member},
    sea_orm::{ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, sea_query::Query},
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

/// How far a list query over several products reaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    /// The caller's own work: products they own or are a member of, for
    /// everyone (administrators and the command line included). Lists of
    /// "my" things and the notification bell use it.
    Own,
    /// Every product [`product_for`] would let the caller read: their own
    /// products for most callers, all products for administrators and the
    /// command line.
    Readable,
}

/// The "products the caller may see" condition on a product-id column
/// `col`: owned or member of (or everything, for [`Reach::Readable`] with an
/// administrator or the command line), always within the token's scope.
///
/// It narrows list queries so indexes serve them; single rows still go
/// through [`product_for`], which makes the decision. The two agree: a
/// product this condition admits is one `product_for` lets the caller read.
pub fn visible_products<C: ColumnTrait>(actor: &Actor, col: C, reach: Reach) -> Condition {
    let mut cond = Condition::all();
    let everything = reach == Reach::Readable && (matches!(actor.via, AuthVia::Cli) || actor.is_admin());
    if !everything {
        let owned = Query::select()
            .column(product::Column::Id)
            .from(product::Entity)
            .and_where(product::Column::UserId.eq(&actor.user_id))
            .to_owned();
        let member = Query::select()
            .column(product_member::Column::ProductId)
            .from(product_member::Entity)
            .and_where(product_member::Column::UserId.eq(&actor.user_id))
            .to_owned();
        cond = cond.add(Condition::any().add(col.in_subquery(owned)).add(col.in_subquery(member)));
    }
    if let Some(scope) = actor.token_scope() {
        cond = cond.add(col.is_in(scope.to_vec()));
    }
    cond
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

/// Whether `actor` holds an accepted bid on one of project `product_id`'s
/// opportunities: the marketplace's third way to see a project, beside
/// owning it (the client) and being a member.
pub async fn has_accepted_bid<C: ConnectionTrait>(db: &C, actor: &Actor, product_id: &str) -> Result<bool, AppError> {
    use baton_store::{entities::opportunity, sea_orm::PaginatorTrait};
    if actor.user_id.is_empty() {
        return Ok(false);
    }
    let n = opportunity::Entity::find()
        .filter(opportunity::Column::ProductId.eq(product_id))
        .filter(opportunity::Column::Id.in_subquery(accepted_bid_opportunities(actor)))
        .count(db)
        .await?;
    Ok(n > 0)
}

fn accepted_bid_opportunities(actor: &Actor) -> baton_store::sea_orm::sea_query::SelectStatement {
    use baton_domain::marketplace::BidStatus;
    use baton_store::entities::bid;
    Query::select()
        .column(bid::Column::OpportunityId)
        .from(bid::Entity)
        .and_where(bid::Column::ExpertId.eq(&actor.user_id))
        .and_where(bid::Column::Status.eq(BidStatus::Accepted.as_db()))
        .to_owned()
}

/// A marketplace project (by id or code) and the caller's access to it:
/// the client (owner) and members as for any product ([`product_for`]),
/// plus experts with an accepted bid on it, who may read. Everyone else,
/// and products that are not marketplace projects, get `NotFound`.
pub async fn project_for<C: ConnectionTrait>(
    db: &C,
    actor: &Actor,
    id_or_code: &str,
) -> Result<(product::Model, ProductAccess), AppError> {
    let found = match crate::products::resolve(db, actor, id_or_code).await {
        Ok(hit) => Some(hit),
        Err(AppError::NotFound(_)) => None,
        Err(e) => return Err(e),
    };
    let (p, access) = match found {
        Some(hit) => hit,
        None => {
            let p = product::Entity::find_by_id(id_or_code.trim().to_string())
                .one(db)
                .await?
                .ok_or(AppError::NotFound("project"))?;
            let in_scope = actor.token_scope().is_none_or(|s| s.iter().any(|id| id == &p.id));
            if !in_scope || !has_accepted_bid(db, actor, &p.id).await? {
                return Err(AppError::NotFound("project"));
            }
            (p, ProductAccess::Read)
        }
    };
    if p.project_status.is_none() {
        return Err(AppError::NotFound("project"));
    }
    Ok((p, access))
}

/// The "projects the caller may see" condition on a product-id column:
/// [`visible_products`] (own reach) or an accepted bid of the caller on one
/// of the project's opportunities; always within the token's scope.
pub fn visible_projects<C: ColumnTrait>(actor: &Actor, col: C) -> Condition {
    use baton_store::entities::opportunity;
    let via_bid = Query::select()
        .column(opportunity::Column::ProductId)
        .from(opportunity::Entity)
        .and_where(opportunity::Column::Id.in_subquery(accepted_bid_opportunities(actor)))
        .to_owned();
    let mut own = Condition::any()
        .add(
            col.in_subquery(
                Query::select()
                    .column(product::Column::Id)
                    .from(product::Entity)
                    .and_where(product::Column::UserId.eq(&actor.user_id))
                    .to_owned(),
            ),
        )
        .add(
            col.in_subquery(
                Query::select()
                    .column(product_member::Column::ProductId)
                    .from(product_member::Entity)
                    .and_where(product_member::Column::UserId.eq(&actor.user_id))
                    .to_owned(),
            ),
        );
    own = own.add(col.in_subquery(via_bid));
    let mut cond = Condition::all().add(own);
    if let Some(scope) = actor.token_scope() {
        cond = cond.add(col.is_in(scope.to_vec()));
    }
    cond
}
