//! User accounts: first-run set-up, administration, roles, passwords.

use baton_domain::{
    ValidationErrors,
    roles::Role,
    validation::{check_email, check_password, check_text, check_username},
};
use baton_store::{
    Backend,
    entities::{session, user, user_role},
    error::{ResultExt, unique},
    new_id, now,
    sea_orm::{
        ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
        QueryOrder, TransactionTrait,
    },
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{Actor, App, AppError, AppResult, passwords};

/// A user as shown to clients (never the password hash).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct UserView {
    /// Id (UUID v7).
    pub id: String,
    /// Login name (lowercase).
    pub username: String,
    /// E-mail address.
    pub email: Option<String>,
    /// Display name.
    pub name: Option<String>,
    /// Roles held.
    pub roles: Vec<Role>,
    /// Read-only demo account.
    pub is_demo: bool,
    /// Holds the admin role.
    pub is_admin: bool,
    /// Must set a new password at next login.
    pub must_reset_password: bool,
    /// Disabled accounts cannot log in or use tokens.
    pub disabled: bool,
    /// The product the user last worked in.
    pub active_product_id: Option<String>,
    /// When the account was created.
    pub created_at: DateTime<Utc>,
}

/// Input for creating a user.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    /// 3–40 letters, digits, `.`, `_`, `-`; stored lowercase.
    #[schema(min_length = 3, max_length = 40, pattern = "^[A-Za-z0-9._-]+$")]
    pub username: String,
    /// At least 8 characters.
    #[schema(min_length = 8, max_length = 256)]
    pub password: String,
    /// Optional e-mail address.
    #[serde(default)]
    #[schema(max_length = 254, pattern = "^[^@\\s]+@[^\\s.]\\S*\\.\\S*[^\\s.]$")]
    pub email: Option<String>,
    /// Optional display name.
    #[serde(default)]
    #[schema(max_length = 200)]
    pub name: Option<String>,
    /// Roles to grant; defaults to none.
    #[serde(default)]
    pub roles: Vec<Role>,
    /// Make a read-only demo account.
    #[serde(default)]
    pub is_demo: bool,
    /// Force a new password at first login.
    #[serde(default)]
    pub must_reset_password: bool,
}

/// Changes an administrator may make to a user; absent fields stay as they are.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserPatch {
    /// New e-mail address (`null` clears it).
    #[serde(default, with = "double_option")]
    #[schema(value_type = Option<String>, max_length = 254, pattern = "^[^@\\s]+@[^\\s.]\\S*\\.\\S*[^\\s.]$")]
    pub email: Option<Option<String>>,
    /// New display name (`null` clears it).
    #[serde(default, with = "double_option")]
    #[schema(value_type = Option<String>, max_length = 200, pattern = "\\S")]
    pub name: Option<Option<String>>,
    /// Replaces the whole role set.
    pub roles: Option<Vec<Role>>,
    /// Demo flag.
    pub is_demo: Option<bool>,
    /// Force a password change at next login.
    pub must_reset_password: Option<bool>,
    /// Disable (true) or re-enable (false) the account; disabling ends its sessions.
    pub disabled: Option<bool>,
    /// Set a new password (ends the user's sessions).
    #[schema(min_length = 8, max_length = 256)]
    pub password: Option<String>,
}

/// Serde helper telling "absent" from "null".
mod double_option {
    use serde::{Deserialize, Deserializer};

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
        Ok(Some(Option::<String>::deserialize(d)?))
    }
}

fn normalize_username(u: &str) -> String {
    u.trim().to_ascii_lowercase()
}

fn clean_opt(s: Option<String>) -> Option<String> {
    s.map(|v| v.trim().to_string()).filter(|v| !v.is_empty())
}

/// Loads a user's roles in a stable order.
async fn roles_of<C: ConnectionTrait>(db: &C, user_id: &str) -> AppResult<Vec<Role>> {
    let rows = user_role::Entity::find().filter(user_role::Column::UserId.eq(user_id)).all(db).await?;
    let mut roles: Vec<Role> =
        rows.iter().map(|r| Role::decode(&r.role, "user_roles.role")).collect::<Result<_, _>>()?;
    roles.sort();
    Ok(roles)
}

/// Builds the client view of a user row.
pub async fn view<C: ConnectionTrait>(db: &C, u: user::Model) -> AppResult<UserView> {
    let roles = roles_of(db, &u.id).await?;
    Ok(UserView {
        is_admin: roles.contains(&Role::Admin),
        roles,
        id: u.id,
        username: u.username,
        email: u.email,
        name: u.name,
        is_demo: u.is_demo,
        must_reset_password: u.must_reset_password,
        disabled: u.disabled_at.is_some(),
        active_product_id: u.active_product_id,
        created_at: u.created_at,
    })
}

async fn set_roles<C: ConnectionTrait>(db: &C, user_id: &str, roles: &[Role]) -> AppResult<()> {
    user_role::Entity::delete_many().filter(user_role::Column::UserId.eq(user_id)).exec(db).await?;
    let mut seen = Vec::new();
    for r in roles {
        if seen.contains(r) {
            continue;
        }
        seen.push(*r);
        user_role::ActiveModel {
            id: Set(new_id()),
            user_id: Set(user_id.to_string()),
            role: Set(r.as_db().to_string()),
        }
        .insert(db)
        .await?;
    }
    Ok(())
}

fn validate_new(input: &NewUser) -> Result<(), ValidationErrors> {
    let mut errs = ValidationErrors::new();
    check_username(&mut errs, "username", input.username.trim());
    check_password(&mut errs, "password", &input.password);
    if let Some(e) = clean_opt(input.email.clone()) {
        check_email(&mut errs, "email", &e);
    }
    if let Some(n) = clean_opt(input.name.clone()) {
        check_text(&mut errs, "name", &n, 1, 200);
    }
    errs.into_result()
}

/// For [`ResultExt::on_unique`]: a clash on `users` as an error naming the field.
fn user_clash(username: &str) -> impl FnOnce(&str) -> Option<AppError> + '_ {
    move |index| match index {
        unique::USERS_EMAIL => Some(AppError::field("email", "is already used by another account")),
        unique::USERS_USERNAME => Some(AppError::field("username", format!("`{username}` is already taken"))),
        _ => None,
    }
}

pub(crate) async fn insert_user<C: ConnectionTrait>(db: &C, input: NewUser, hash: String) -> AppResult<user::Model> {
    let username = normalize_username(&input.username);
    let t = now();
    let row = user::ActiveModel {
        id: Set(new_id()),
        username: Set(username.clone()),
        email: Set(clean_opt(input.email).map(|e| e.to_ascii_lowercase())),
        name: Set(clean_opt(input.name)),
        password_hash: Set(hash),
        is_demo: Set(input.is_demo),
        must_reset_password: Set(input.must_reset_password),
        created_at: Set(t),
        updated_at: Set(t),
        ..Default::default()
    };
    let row = row.insert(db).await.on_unique(user_clash(&username))?;
    set_roles(db, &row.id, &input.roles).await?;
    Ok(row)
}

impl App {
    /// Whether the installation has no user yet (the web root then offers
    /// to create the first administrator).
    pub async fn needs_setup(&self) -> AppResult<bool> {
        Ok(user::Entity::find().count(&self.db).await? == 0)
    }

    /// Creates the first administrator. Refused once any user exists, even
    /// when two browsers race to do it.
    pub async fn setup_first_admin(&self, mut input: NewUser) -> AppResult<UserView> {
        validate_new(&input)?;
        input.roles = vec![Role::Admin, Role::ProductOwner, Role::ScrumMaster, Role::Developer];
        input.is_demo = false;
        input.must_reset_password = false;
        let hash = passwords::hash_off_thread(&input.password).await?;
        let backend = Backend::of(&self.db);
        let row = self
            .db
            .transaction::<_, user::Model, AppError>(|txn| {
                Box::pin(async move {
                    if backend == Backend::Postgres {
                        // Serialises concurrent set-ups; SQLite writers are serialised already.
                        txn.execute_unprepared("SELECT pg_advisory_xact_lock(4711)").await?;
                    }
                    let row = insert_user(txn, input, hash).await?;
                    if user::Entity::find().count(txn).await? > 1 {
                        return Err(AppError::Conflict("Baton is already set up: log in instead".into()));
                    }
                    Ok(row)
                })
            })
            .await?;
        view(&self.db, row).await
    }

    /// Creates a user (administrators, or the command line).
    pub async fn create_user(&self, actor: &Actor, input: NewUser) -> AppResult<UserView> {
        actor.require_write()?;
        actor.require_admin()?;
        validate_new(&input)?;
        let hash = passwords::hash_off_thread(&input.password).await?;
        let row = self
            .db
            .transaction::<_, user::Model, AppError>(|txn| Box::pin(async move { insert_user(txn, input, hash).await }))
            .await?;
        view(&self.db, row).await
    }

    /// Lists every user, oldest first (administrators).
    pub async fn list_users(&self, actor: &Actor) -> AppResult<Vec<UserView>> {
        actor.require_admin()?;
        let rows = user::Entity::find()
            .order_by_asc(user::Column::CreatedAt)
            .order_by_asc(user::Column::Id)
            .all(&self.db)
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            out.push(view(&self.db, r).await?);
        }
        Ok(out)
    }

    /// Finds a user by id for an administrator.
    pub async fn get_user(&self, actor: &Actor, id: &str) -> AppResult<UserView> {
        actor.require_admin()?;
        let row = user::Entity::find_by_id(id.to_string()).one(&self.db).await?.ok_or(AppError::NotFound("user"))?;
        view(&self.db, row).await
    }

    /// Looks a user up by login name.
    pub async fn find_user_by_username(&self, username: &str) -> AppResult<Option<user::Model>> {
        Ok(user::Entity::find().filter(user::Column::Username.eq(normalize_username(username))).one(&self.db).await?)
    }

    /// Changes a user (administrators). All-or-nothing.
    pub async fn update_user(&self, actor: &Actor, id: &str, patch: UserPatch) -> AppResult<UserView> {
        actor.require_write()?;
        actor.require_admin()?;
        let mut errs = ValidationErrors::new();
        if let Some(Some(e)) = &patch.email {
            check_email(&mut errs, "email", e.trim());
        }
        if let Some(Some(n)) = &patch.name {
            check_text(&mut errs, "name", n, 1, 200);
        }
        if let Some(p) = &patch.password {
            check_password(&mut errs, "password", p);
        }
        if actor.user_id == id && patch.disabled == Some(true) {
            errs.add("disabled", "you cannot disable your own account");
        }
        if actor.user_id == id && patch.roles.as_ref().is_some_and(|r| !r.contains(&Role::Admin)) {
            errs.add("roles", "you cannot remove your own admin role");
        }
        errs.into_result()?;
        let hash = match patch.password.as_deref() {
            Some(p) => Some(passwords::hash_off_thread(p).await?),
            None => None,
        };
        let id = id.to_string();
        let row = self
            .db
            .transaction::<_, user::Model, AppError>(|txn| {
                Box::pin(async move {
                    let row = user::Entity::find_by_id(id.clone()).one(txn).await?.ok_or(AppError::NotFound("user"))?;
                    let username = row.username.clone();
                    let mut am: user::ActiveModel = row.into();
                    if let Some(e) = patch.email {
                        am.email = Set(clean_opt(e).map(|e| e.to_ascii_lowercase()));
                    }
                    if let Some(n) = patch.name {
                        am.name = Set(clean_opt(n));
                    }
                    if let Some(d) = patch.is_demo {
                        am.is_demo = Set(d);
                    }
                    if let Some(m) = patch.must_reset_password {
                        am.must_reset_password = Set(m);
                    }
                    let mut end_sessions = false;
                    if let Some(d) = patch.disabled {
                        am.disabled_at = Set(d.then(now));
                        end_sessions |= d;
                    }
                    if let Some(h) = hash {
                        am.password_hash = Set(h);
                        end_sessions = true;
                    }
                    am.updated_at = Set(now());
                    let row = am.update(txn).await.on_unique(user_clash(&username))?;
                    if let Some(roles) = patch.roles {
                        set_roles(txn, &row.id, &roles).await?;
                    }
                    if end_sessions {
                        session::Entity::delete_many().filter(session::Column::UserId.eq(&row.id)).exec(txn).await?;
                    }
                    Ok(row)
                })
            })
            .await?;
        view(&self.db, row).await
    }

    /// Grants a role (administrators). Granting a held role is a no-op.
    pub async fn grant_role(&self, actor: &Actor, username: &str, role: Role) -> AppResult<UserView> {
        let u = self.find_user_by_username(username).await?.ok_or(AppError::NotFound("user"))?;
        let mut roles = roles_of(&self.db, &u.id).await?;
        if !roles.contains(&role) {
            roles.push(role);
        }
        self.update_user(actor, &u.id, UserPatch { roles: Some(roles), ..Default::default() }).await
    }

    /// Revokes a role (administrators). Revoking a role not held is a no-op.
    pub async fn revoke_role(&self, actor: &Actor, username: &str, role: Role) -> AppResult<UserView> {
        let u = self.find_user_by_username(username).await?.ok_or(AppError::NotFound("user"))?;
        let roles = roles_of(&self.db, &u.id).await?.into_iter().filter(|r| *r != role).collect();
        self.update_user(actor, &u.id, UserPatch { roles: Some(roles), ..Default::default() }).await
    }

    /// Sets a user's password by username (command line / administrators).
    pub async fn set_password(
        &self,
        actor: &Actor,
        username: &str,
        password: &str,
        must_reset: bool,
    ) -> AppResult<UserView> {
        let u = self.find_user_by_username(username).await?.ok_or(AppError::NotFound("user"))?;
        let patch = UserPatch {
            password: Some(password.to_string()),
            must_reset_password: Some(must_reset),
            ..Default::default()
        };
        self.update_user(actor, &u.id, patch).await
    }

    /// The caller changes their own password (also how a forced reset is
    /// completed). Other sessions of the user end; the current one stays.
    pub async fn change_own_password(&self, actor: &Actor, current: &str, new: &str) -> AppResult<()> {
        actor.require_write()?;
        let mut errs = ValidationErrors::new();
        check_password(&mut errs, "new_password", new);
        if current == new {
            errs.add("new_password", "must differ from the current password");
        }
        errs.into_result()?;
        let row =
            user::Entity::find_by_id(actor.user_id.clone()).one(&self.db).await?.ok_or(AppError::NotFound("user"))?;
        if !passwords::verify(current, &row.password_hash) {
            return Err(AppError::field("current_password", "is not your current password"));
        }
        let hash = passwords::hash_off_thread(new).await?;
        let keep = match &actor.via {
            crate::AuthVia::Session { session_id } => Some(session_id.clone()),
            _ => None,
        };
        self.db
            .transaction::<_, (), AppError>(|txn| {
                Box::pin(async move {
                    let mut am: user::ActiveModel = row.into();
                    am.password_hash = Set(hash);
                    am.must_reset_password = Set(false);
                    am.updated_at = Set(now());
                    let row = am.update(txn).await?;
                    let mut del = session::Entity::delete_many().filter(session::Column::UserId.eq(&row.id));
                    if let Some(keep) = keep {
                        del = del.filter(session::Column::Id.ne(keep));
                    }
                    del.exec(txn).await?;
                    Ok(())
                })
            })
            .await?;
        Ok(())
    }

    /// The caller's own account.
    pub async fn me(&self, actor: &Actor) -> AppResult<UserView> {
        let row =
            user::Entity::find_by_id(actor.user_id.clone()).one(&self.db).await?.ok_or(AppError::NotFound("user"))?;
        view(&self.db, row).await
    }
}

impl App {
    /// The login names of `ids` that the caller may see: themself, and the
    /// owners and members of products the caller can read. Pages use it to
    /// say who asked or answered a question; ids outside that circle are
    /// left out (the page shows "someone"), so it reveals no other account.
    pub async fn usernames(
        &self,
        actor: &Actor,
        ids: &[String],
    ) -> AppResult<std::collections::HashMap<String, String>> {
        use baton_store::{
            entities::{product, product_member},
            sea_orm::{Condition, QuerySelect, QueryTrait, sea_query::Query},
        };
        if ids.is_empty() {
            return Ok(Default::default());
        }
        let readable = || crate::access::visible_products(actor, product::Column::Id, crate::access::Reach::Readable);
        let owners = product::Entity::find().select_only().column(product::Column::UserId).filter(readable());
        let members = Query::select()
            .column(product_member::Column::UserId)
            .from(product_member::Entity)
            .and_where(product_member::Column::ProductId.in_subquery(
                product::Entity::find().select_only().column(product::Column::Id).filter(readable()).into_query(),
            ))
            .to_owned();
        let rows = user::Entity::find()
            .filter(user::Column::Id.is_in(ids.to_vec()))
            .filter(
                Condition::any()
                    .add(user::Column::Id.eq(&actor.user_id))
                    .add(user::Column::Id.in_subquery(owners.into_query()))
                    .add(user::Column::Id.in_subquery(members)),
            )
            .all(&self.db)
            .await?;
        Ok(rows.into_iter().map(|u| (u.id, u.username)).collect())
    }
}
