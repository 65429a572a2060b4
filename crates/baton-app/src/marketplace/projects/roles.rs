//! Self-service marketplace roles (role fluidity, reference §1.1): a user
//! chooses which of CLIENT, ANALYST, PM, ARCHITECT, UX, DEVELOPER and QA
//! they hold; ADMIN, PRODUCT_OWNER and SCRUM_MASTER stay granted by an
//! administrator and are kept as they are.
//!
//! Decision: the request names the whole self-service set (a PUT), so
//! removing a role is sending the list without it. Dropping a role does not
//! touch bids already made with it.

use baton_domain::{ValidationErrors, roles::Role};
use baton_store::{
    entities::{user, user_role},
    new_id,
    sea_orm::{
        ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
        TransactionTrait,
    },
};
use serde::Deserialize;

use crate::{
    Actor, App, AppError, AppResult, AuthVia,
    accounts::{UserView, view},
};

/// The roles a user may give or take themselves.
pub const SELF_SERVICE_ROLES: &[Role] =
    &[Role::Client, Role::Analyst, Role::Pm, Role::Architect, Role::Ux, Role::Developer, Role::Qa];

/// The caller's marketplace roles.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MyRolesInput {
    /// The self-service roles to hold from now on (any of `client`, `analyst`, `pm`, `architect`, `ux`, `developer`, `qa`); others are refused.
    pub roles: Vec<Role>,
}

/// Whether the caller holds `role` now. Read from the database, not the
/// actor: a long-lived session (an MCP stdio process) that just changed its
/// own roles with [`App::set_my_roles`] must see the change at once.
pub(crate) async fn holds_role<C: ConnectionTrait>(db: &C, actor: &Actor, role: Role) -> AppResult<bool> {
    if actor.user_id.is_empty() {
        return Ok(actor.has_role(role));
    }
    let n = user_role::Entity::find()
        .filter(user_role::Column::UserId.eq(&actor.user_id))
        .filter(user_role::Column::Role.eq(role.as_db()))
        .count(db)
        .await?;
    Ok(n > 0)
}

impl App {
    /// Sets the caller's self-service marketplace roles; administrator-granted
    /// roles are kept. Demo users are refused.
    pub async fn set_my_roles(&self, actor: &Actor, input: MyRolesInput) -> AppResult<UserView> {
        actor.require_write()?;
        if matches!(actor.via, AuthVia::Cli) || actor.user_id.is_empty() {
            return Err(AppError::Forbidden("roles are chosen by a signed-in user".into()));
        }
        let mut errs = ValidationErrors::new();
        for (i, r) in input.roles.iter().enumerate() {
            if !SELF_SERVICE_ROLES.contains(r) {
                errs.add(&format!("roles[{i}]"), format!("`{r}` is granted by an administrator, not chosen"));
            }
        }
        errs.into_result()?;
        let user_id = actor.user_id.clone();
        let wanted = input.roles;
        let row = self
            .db
            .transaction::<_, user::Model, AppError>(|txn| {
                Box::pin(async move {
                    let u =
                        user::Entity::find_by_id(user_id.clone()).one(txn).await?.ok_or(AppError::NotFound("user"))?;
                    let held =
                        user_role::Entity::find().filter(user_role::Column::UserId.eq(&user_id)).all(txn).await?;
                    for r in &held {
                        let role = Role::decode(&r.role, "user_roles.role")?;
                        if SELF_SERVICE_ROLES.contains(&role) && !wanted.contains(&role) {
                            user_role::Entity::delete_by_id(r.id.clone()).exec(txn).await?;
                        }
                    }
                    let mut seen: Vec<Role> = held.iter().filter_map(|r| Role::from_db(&r.role)).collect();
                    for role in wanted {
                        if !seen.contains(&role) {
                            seen.push(role);
                            user_role::ActiveModel {
                                id: Set(new_id()),
                                user_id: Set(user_id.clone()),
                                role: Set(role.as_db().to_string()),
                            }
                            .insert(txn)
                            .await?;
                        }
                    }
                    Ok(u)
                })
            })
            .await?;
        view(&self.db, row).await
    }
}
