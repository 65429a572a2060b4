//! Product members: people other than the owner who may read (or read and
//! change) a product's backlog. Only the owner manages them; anyone who can
//! read the product may list them.
//!
//! Decision: a member must hold the DEVELOPER account role (the reference:
//! "Product Owners add Developers by username"). Adding someone without it
//! is a 422 naming `username` with a hint on how to grant the role. The
//! membership's own `role` (default `developer`) is a label of what they do
//! in this product; `admin` and `client` are not product roles.

use baton_domain::roles::{MemberAccess, Role};
use baton_store::{
    entities::{product_member, user},
    error::{ResultExt, unique},
    new_id, now,
    sea_orm::{
        ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
        sea_query::Expr,
    },
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{ensure_not_archived_in, manageable_ref, readable_ref};
use crate::{
    Actor, App, AppError, AppResult,
    list::{Page, PageParams},
    txn::in_product_txn,
};

/// A membership as listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct MemberView {
    /// The membership's id.
    pub id: String,
    /// The product.
    pub product_id: String,
    /// The member's user id (used in the member routes).
    pub user_id: String,
    /// The member's login name.
    pub username: String,
    /// The member's display name.
    pub name: Option<String>,
    /// What they do in this product (default `developer`).
    pub role: Role,
    /// `read_write` or `read_only`.
    pub access: MemberAccess,
    /// When they were added.
    pub created_at: DateTime<Utc>,
}

/// Input for adding a member.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewMember {
    /// The login name of an existing user who holds the developer role.
    #[schema(min_length = 3, max_length = 40, pattern = "^[A-Za-z0-9._-]+$")]
    pub username: String,
    /// `read_write` or `read_only` (default).
    #[serde(default)]
    pub access: Option<MemberAccess>,
    /// Their role in this product (default `developer`).
    #[serde(default)]
    pub role: Option<Role>,
}

/// Changes to a membership; at least one field.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(min_properties = 1)]
pub struct MemberPatch {
    /// New access.
    pub access: Option<MemberAccess>,
    /// New role.
    pub role: Option<Role>,
}

fn check_role(role: Role) -> AppResult<Role> {
    if matches!(role, Role::Admin | Role::Client) {
        return Err(AppError::field(
            "role",
            "is not a product role; use product_owner, scrum_master, developer, analyst, pm, architect, ux or qa",
        ));
    }
    Ok(role)
}

fn member_view(m: product_member::Model, u: &user::Model) -> AppResult<MemberView> {
    Ok(MemberView {
        role: Role::decode(&m.role, "product_members.role")?,
        access: MemberAccess::decode(&m.access, "product_members.access")?,
        id: m.id,
        product_id: m.product_id,
        user_id: m.user_id,
        username: u.username.clone(),
        name: u.name.clone(),
        created_at: m.created_at,
    })
}

impl App {
    /// Lists a product's members (not the owner), in the order they were added.
    pub async fn list_members(&self, actor: &Actor, product: &str, params: PageParams) -> AppResult<Page<MemberView>> {
        let (page, limit) = params.resolve()?;
        let p = readable_ref(&self.db, actor, product).await?;
        let pager = product_member::Entity::find()
            .filter(product_member::Column::ProductId.eq(&p.id))
            .order_by_asc(product_member::Column::CreatedAt)
            .order_by_asc(product_member::Column::Id)
            .paginate(&self.db, limit);
        let total = pager.num_items().await?;
        let rows = pager.fetch_page(page - 1).await?;
        let users = user::Entity::find()
            .filter(user::Column::Id.is_in(rows.iter().map(|m| m.user_id.clone())))
            .all(&self.db)
            .await?;
        let items = rows
            .into_iter()
            .filter_map(|m| {
                let u = users.iter().find(|u| u.id == m.user_id)?;
                Some(member_view(m, u))
            })
            .collect::<AppResult<_>>()?;
        Ok(Page { items, page, limit, total })
    }

    /// Adds a member by username; owner only. Unknown users and users
    /// without the developer role are 422 on `username`; the owner or an
    /// existing member is 409.
    pub async fn add_member(&self, actor: &Actor, product: &str, input: NewMember) -> AppResult<MemberView> {
        let p = manageable_ref(&self.db, actor, product).await?;
        let role = check_role(input.role.unwrap_or(Role::Developer))?;
        let access = input.access.unwrap_or(MemberAccess::ReadOnly);
        let username = input.username.trim().to_ascii_lowercase();
        if username.is_empty() {
            return Err(AppError::field("username", "must not be empty"));
        }
        let u = self
            .find_user_by_username(&username)
            .await?
            .ok_or_else(|| AppError::field("username", format!("no user named `{username}`")))?;
        if u.disabled_at.is_some() {
            return Err(AppError::field("username", format!("`{username}` is disabled")));
        }
        if u.id == p.user_id {
            return Err(AppError::Conflict(format!("`{username}` owns this product and cannot also be a member")));
        }
        let roles = crate::accounts::view(&self.db, u.clone()).await?.roles;
        if !roles.contains(&Role::Developer) {
            return Err(AppError::field(
                "username",
                format!(
                    "`{username}` does not hold the developer role; an administrator can grant it \
                     (`baton user grant {username} developer` or PATCH /api/users/{{id}})"
                ),
            ));
        }
        let pid = p.id.clone();
        let uid = u.id.clone();
        let row = in_product_txn(&self.db, &pid, move |txn| {
            Box::pin(async move {
                ensure_not_archived_in(txn, &p.id).await?;
                if let Some(existing) = product_member::Entity::find()
                    .filter(product_member::Column::ProductId.eq(&p.id))
                    .filter(product_member::Column::UserId.eq(&uid))
                    .one(txn)
                    .await?
                {
                    let access = MemberAccess::decode(&existing.access, "product_members.access")?.as_api();
                    return Err(AppError::Conflict(format!(
                        "`{username}` is already a member ({access}) of this product; change the membership instead"
                    )));
                }
                product_member::ActiveModel {
                    id: Set(new_id()),
                    product_id: Set(p.id.clone()),
                    user_id: Set(uid),
                    role: Set(role.as_db().into()),
                    access: Set(access.as_db().into()),
                    created_at: Set(now()),
                }
                .insert(txn)
                .await
                .on_unique(|index| {
                    (index == unique::PRODUCT_MEMBERS_USER)
                        .then(|| AppError::Conflict(format!("`{username}` is already a member of this product")))
                })
            })
        })
        .await?;
        self.publish_product_event(&pid, "member_added").await;
        member_view(row, &u)
    }

    /// Changes a member's access or role; owner only.
    pub async fn update_member(
        &self,
        actor: &Actor,
        product: &str,
        user_id: &str,
        patch: MemberPatch,
    ) -> AppResult<MemberView> {
        let p = manageable_ref(&self.db, actor, product).await?;
        if patch.access.is_none() && patch.role.is_none() {
            return Err(AppError::field("access", "give access or role (or both)"));
        }
        let role = patch.role.map(check_role).transpose()?;
        let pid = p.id.clone();
        let uid = user_id.to_string();
        let row = in_product_txn(&self.db, &pid, move |txn| {
            Box::pin(async move {
                ensure_not_archived_in(txn, &p.id).await?;
                let m = product_member::Entity::find()
                    .filter(product_member::Column::ProductId.eq(&p.id))
                    .filter(product_member::Column::UserId.eq(&uid))
                    .one(txn)
                    .await?
                    .ok_or(AppError::NotFound("member"))?;
                let mut am: product_member::ActiveModel = m.into();
                if let Some(a) = patch.access {
                    am.access = Set(a.as_db().into());
                }
                if let Some(r) = role {
                    am.role = Set(r.as_db().into());
                }
                Ok(am.update(txn).await?)
            })
        })
        .await?;
        let u = user::Entity::find_by_id(row.user_id.clone()).one(&self.db).await?.ok_or(AppError::NotFound("user"))?;
        self.publish_product_event(&pid, "member_changed").await;
        member_view(row, &u)
    }

    /// Removes a member; owner only. Their active product is cleared if it
    /// was this one.
    pub async fn remove_member(&self, actor: &Actor, product: &str, user_id: &str) -> AppResult<()> {
        let p = manageable_ref(&self.db, actor, product).await?;
        let pid = p.id.clone();
        let uid = user_id.to_string();
        in_product_txn(&self.db, &pid, move |txn| {
            Box::pin(async move {
                ensure_not_archived_in(txn, &p.id).await?;
                let res = product_member::Entity::delete_many()
                    .filter(product_member::Column::ProductId.eq(&p.id))
                    .filter(product_member::Column::UserId.eq(&uid))
                    .exec(txn)
                    .await?;
                if res.rows_affected == 0 {
                    return Err(AppError::NotFound("member"));
                }
                user::Entity::update_many()
                    .col_expr(user::Column::ActiveProductId, Expr::value(Option::<String>::None))
                    .filter(user::Column::Id.eq(&uid))
                    .filter(user::Column::ActiveProductId.eq(&p.id))
                    .exec(txn)
                    .await?;
                Ok(())
            })
        })
        .await?;
        self.publish_product_event(&pid, "member_removed").await;
        Ok(())
    }
}
