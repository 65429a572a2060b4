//! Fixtures shared by the service tests: accounts acting through an API
//! token, and bare user, product and membership rows inserted directly
//! (for tests that must not go through the services they check).

#![allow(dead_code, reason = "each test crate uses a different subset of the helpers")]

use baton_app::{Actor, App, accounts::NewUser, tokens::NewToken};
use baton_domain::roles::Role;
use baton_store::{
    Db,
    entities::{product, product_member, user},
    new_id, now,
    sea_orm::{ActiveModelTrait, ActiveValue::Set},
};

/// A user `name` with these roles (a demo account if `is_demo`) and one
/// API token, acting through it.
pub async fn user_with(app: &App, name: &str, is_demo: bool, roles: &[Role]) -> Actor {
    let input = NewUser {
        username: name.into(),
        password: "long enough".into(),
        roles: roles.to_vec(),
        is_demo,
        ..Default::default()
    };
    let id = app.create_user(&Actor::cli(), input).await.expect("user").id;
    token(app, &id).await
}

/// A developer with one API token, acting through it.
pub async fn user(app: &App, name: &str) -> Actor {
    user_with(app, name, false, &[Role::Developer]).await
}

/// A product owner (and developer) with one API token, acting through it.
pub async fn product_owner(app: &App, name: &str) -> Actor {
    user_with(app, name, false, &[Role::ProductOwner, Role::Developer]).await
}

/// Another token of the same user, acting through it.
pub async fn token(app: &App, user_id: &str) -> Actor {
    let token = app
        .create_token(&Actor::cli(), user_id, NewToken { label: "t".into(), ..Default::default() })
        .await
        .expect("token")
        .token;
    app.token_actor(&token).await.expect("actor")
}

/// A bare user row `username` (no roles, no token).
pub async fn user_row(db: &Db, username: &str) -> user::Model {
    let t = now();
    user::ActiveModel {
        id: Set(new_id()),
        username: Set(username.into()),
        password_hash: Set("x".into()),
        created_at: Set(t),
        updated_at: Set(t),
        ..Default::default()
    }
    .insert(db)
    .await
    .expect("user")
}

/// A bare product row `name` owned by `user_id`; returns its id.
pub async fn product_row(db: &Db, user_id: &str, name: &str) -> String {
    let t = now();
    product::ActiveModel {
        id: Set(new_id()),
        user_id: Set(user_id.into()),
        name: Set(name.into()),
        definition_of_done: Set("done".into()),
        created_at: Set(t),
        updated_at: Set(t),
        ..Default::default()
    }
    .insert(db)
    .await
    .expect("product")
    .id
}

/// A product owned by `owner`; returns its id.
pub async fn product_of(app: &App, owner: &Actor, name: &str) -> String {
    product_row(&app.db, &owner.user_id, name).await
}

/// Makes `who` a developer member of the product with this access
/// (`READ_WRITE`, `READ_ONLY`).
pub async fn member(app: &App, product_id: &str, who: &Actor, access: &str) {
    product_member::ActiveModel {
        id: Set(new_id()),
        product_id: Set(product_id.into()),
        user_id: Set(who.user_id.clone()),
        role: Set("DEVELOPER".into()),
        access: Set(access.into()),
        created_at: Set(now()),
    }
    .insert(&app.db)
    .await
    .expect("member");
}
