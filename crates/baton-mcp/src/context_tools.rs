//! The read tools an agent starts with: `health`, `list_products`,
//! `get_context` (and its deprecated alias `get_claude_context`) and
//! `get_sprint_context`.

use baton_app::{AppResult, list::PageParams, products::ProductFilter};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::tools::{Cx, parse, to_json};

/// No arguments.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NoArgs {}

/// Arguments of `list_products`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ListProductsArgs {
    /// Page number, from 1 (default 1).
    #[serde(default)]
    #[schemars(range(min = 1))]
    page: Option<u64>,
    /// Products per page, 1–200 (default 50).
    #[serde(default)]
    #[schemars(range(min = 1, max = 200))]
    limit: Option<u64>,
}

/// Arguments of `get_context` / `get_claude_context`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ContextArgs {
    /// Product id or code (from `list_products`).
    product_id: String,
}

/// Arguments of `get_sprint_context`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct SprintContextArgs {
    /// Sprint id (from `get_context`: `open_sprints[].id`).
    sprint_id: String,
    /// Optional task id or code (`T-12`) to return in full as `task`.
    #[serde(default)]
    task_id: Option<String>,
    /// Page of the task list, from 1 (default 1).
    #[serde(default)]
    #[schemars(range(min = 1))]
    page: Option<u64>,
    /// Tasks per page, 1–200 (default 50).
    #[serde(default)]
    #[schemars(range(min = 1, max = 200))]
    limit: Option<u64>,
}

/// `health`.
pub(crate) async fn health(cx: &Cx<'_>, args: Value) -> AppResult<Value> {
    let app = cx.app;
    let _: NoArgs = parse(args)?;
    let ok = app.database_ok().await;
    Ok(json!({
        "status": if ok { "ok" } else { "degraded" },
        "version": env!("CARGO_PKG_VERSION"),
        "database": if ok { "ok" } else { "unreachable" },
    }))
}

/// `list_products`.
pub(crate) async fn list_products(cx: &Cx<'_>, args: Value) -> AppResult<Value> {
    let (app, actor) = (cx.app, cx.actor);
    let a: ListProductsArgs = parse(args)?;
    let filter = ProductFilter { archived: None, page: a.page, limit: a.limit };
    to_json(app.list_products(actor, filter).await?)
}

/// `get_context` and `get_claude_context`.
pub(crate) async fn get_context(cx: &Cx<'_>, args: Value) -> AppResult<Value> {
    let a: ContextArgs = parse(args)?;
    to_json(cx.app.product_context(cx.actor, &a.product_id).await?)
}

/// `get_sprint_context`.
pub(crate) async fn get_sprint_context(cx: &Cx<'_>, args: Value) -> AppResult<Value> {
    let (app, actor) = (cx.app, cx.actor);
    let a: SprintContextArgs = parse(args)?;
    let sprint = app.get_sprint(actor, &a.sprint_id).await?;
    let tasks = app.sprint_tasks(actor, &sprint.id, PageParams { page: a.page, limit: a.limit }).await?;
    let task = match &a.task_id {
        Some(t) => Some(app.get_task(actor, t).await?),
        None => None,
    };
    Ok(json!({ "sprint": to_json(sprint)?, "tasks": to_json(tasks)?, "task": to_json(task)? }))
}
