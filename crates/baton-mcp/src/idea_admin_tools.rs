//! `update_idea`: an idea's title, description, products and archived flag,
//! the service behind `PATCH /api/ideas/{id}` (the idea workflow tools —
//! create, grill, plan, dispatch, materialize — live with the ideas work).
//! The change is the service's own `IdeaPatch`, parsed after `idea_id` is
//! split off; [`UpdateIdeaArgs`] only describes it.

#![allow(dead_code)] // `UpdateIdeaArgs` only describes the arguments, see above

use baton_app::{AppResult, ideas::IdeaPatch};
use schemars::JsonSchema;
use serde_json::Value;

use crate::tools::{Cx, parse_with_id, to_json};

/// Arguments of `update_idea`; absent fields stay, give at least one.
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
pub(crate) struct UpdateIdeaArgs {
    /// Your idea's id or code (`IDEA-3`).
    idea_id: String,
    /// New title.
    title: Option<String>,
    /// New description; `null` clears it.
    description: Option<String>,
    /// New product (id or code); `null` clears it.
    product_id: Option<String>,
    /// Replaces the secondary products (ids or codes), at most 20.
    product_ids: Option<Vec<String>>,
    /// Archive (read-only, hidden from lists) or unarchive.
    archived: Option<bool>,
}

/// `update_idea`.
pub(crate) async fn update_idea(cx: &Cx<'_>, args: Value) -> AppResult<Value> {
    let (id, patch): (String, IdeaPatch) = parse_with_id(args, "idea_id")?;
    to_json(cx.app.update_idea(cx.actor, &id, patch).await?)
}
