//! Fixtures shared by the MCP tool tests: developer accounts acting through
//! an API token, a product owned by one of them with a demo account as a
//! read-write member, and tool calls through `BatonMcp::call` (the dispatch
//! both transports use).

#![allow(dead_code, reason = "each test crate uses a different subset of the helpers")]

use std::sync::Arc;

use baton_app::{
    Actor, App, AppConfig,
    accounts::NewUser,
    products::{NewMember, NewProduct},
    tokens::NewToken,
};
use baton_domain::roles::{MemberAccess, Role};
use baton_mcp::BatonMcp;
use baton_testkit::TestDb;
use serde_json::Value;

/// A developer account `name` (password `<name>-password`), a demo one if
/// `is_demo`.
pub fn developer(name: &str, is_demo: bool) -> NewUser {
    NewUser {
        username: name.into(),
        password: format!("{name}-password"),
        roles: vec![Role::Developer],
        is_demo,
        ..Default::default()
    }
}

/// A new developer `name` acting through an API token of its own.
pub async fn actor(app: &App, name: &str, is_demo: bool) -> Actor {
    let id = app.create_user(&Actor::cli(), developer(name, is_demo)).await.expect("user").id;
    let token = app
        .create_token(&Actor::cli(), &id, NewToken { label: "agent".into(), ..Default::default() })
        .await
        .expect("token")
        .token;
    app.token_actor(&token).await.expect("actor")
}

/// An app on the test database with an `owner` of `product` and a `demo`
/// account that is a read-write member of it.
pub struct Base {
    /// The application services.
    pub app: Arc<App>,
    /// The product's owner.
    pub owner: Actor,
    /// A demo account, read-write member of the product.
    pub demo: Actor,
    /// The product's id.
    pub product_id: String,
}

/// Creates the [`Base`] world on `t`.
pub async fn base(t: &TestDb, product: NewProduct) -> Base {
    let app = Arc::new(App::local(t.db.clone(), AppConfig::default()));
    let owner = actor(&app, "owner", false).await;
    let demo = actor(&app, "demo", true).await;
    let product_id = app.create_product(&owner, product).await.expect("product").id;
    let member = NewMember { username: "demo".into(), access: Some(MemberAccess::ReadWrite), role: None };
    app.add_member(&owner, &product_id, member).await.expect("member");
    Base { app, owner, demo, product_id }
}

/// Calls a tool; returns `(is_error, text, structuredContent)`.
pub async fn call(mcp: &BatonMcp, who: &Actor, name: &str, args: Value) -> (bool, String, Value) {
    let r = mcp.call(who, name, args).await.unwrap_or_else(|| panic!("{name} is offered"));
    let text = r.content.first().and_then(|c| c.as_text()).map(|t| t.text.clone()).unwrap_or_default();
    (r.is_error.unwrap_or(false), text, r.structured_content.unwrap_or(Value::Null))
}

/// Calls a tool that must succeed; its structured result.
pub async fn ok(mcp: &BatonMcp, who: &Actor, name: &str, args: Value) -> Value {
    let (err, text, v) = call(mcp, who, name, args).await;
    assert!(!err, "{name}: {text}");
    v
}

/// Calls a tool that must fail; its error text.
pub async fn err(mcp: &BatonMcp, who: &Actor, name: &str, args: Value) -> String {
    let (err, text, _) = call(mcp, who, name, args).await;
    assert!(err, "{name} should fail: {text}");
    text
}
