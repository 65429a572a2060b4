//! Ideas over MCP: `create_idea`, `get_idea_context`, `get_ideas_context`,
//! `update_idea_grill_md`, `update_idea_plan_md`, `log_idea_decision`,
//! `materialize_idea`, `dispatch_idea_job`. Each calls the same
//! `baton_app` service as `/api/ideas…`. A plan that does not parse is a
//! normal result `{ok: false, idea, errors}` (the plan is stored with
//! status plan_failed), not a tool error, so the agent can fix it.

use baton_app::{
    AppResult,
    ideas::{DispatchKind, IdeaFilter, MaterializeInput, NewIdea, NewIdeaLog, NoteType},
    list::PageParams,
};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;

use crate::{
    schema::opt_object_schema,
    tools::{Cx, parse, to_json},
};

/// `kind` of `dispatch_idea_job`.
fn dispatch_kind_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({ "type": "string", "enum": ["grill", "make_plan", "review_plan"] })
}

/// `type` of `log_idea_decision` (optional; `null` = decision).
fn opt_note_type_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({ "type": ["string", "null"], "enum": ["decision", "note", null] })
}

/// Arguments of `create_idea`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateIdeaArgs {
    /// Title, 1–200 characters.
    title: String,
    /// Description, at most 4000 characters.
    #[serde(default)]
    description: Option<String>,
    /// The product (id or code) it is for; needed before grilling.
    #[serde(default)]
    product_id: Option<String>,
    /// Secondary products (ids or codes) it also affects, at most 20.
    #[serde(default)]
    product_ids: Option<Vec<String>>,
}

/// Arguments of the tools about one idea.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct IdeaArgs {
    /// Your idea's id or code (`IDEA-007`).
    idea_id: String,
}

/// Arguments of `get_ideas_context`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct IdeasArgs {
    /// Only ideas for this product id (as product or secondary product).
    #[serde(default)]
    product_id: Option<String>,
    /// Only this status (lowercase, e.g. `plan_ready`).
    #[serde(default)]
    status: Option<String>,
    /// Archived ideas instead of current ones (default false).
    #[serde(default)]
    archived: Option<bool>,
    /// Page number (default 1).
    #[serde(default)]
    page: Option<u64>,
    /// Items per page, 1–200 (default 50).
    #[serde(default)]
    limit: Option<u64>,
}

/// Arguments of `update_idea_grill_md` and `update_idea_plan_md`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct MarkdownArgs {
    /// Your idea's id or code.
    idea_id: String,
    /// The markdown: the grill (1–64000 characters), or the plan (YAML
    /// front-matter at byte 0, then free markdown; at most 256 KB).
    markdown: String,
}

/// Arguments of `log_idea_decision`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct LogDecisionArgs {
    /// Your idea's id or code.
    idea_id: String,
    /// `decision` (default) or `note`.
    #[serde(default, rename = "type")]
    #[schemars(schema_with = "opt_note_type_schema")]
    kind: Option<NoteType>,
    /// The text, 1–4000 characters.
    content: String,
    /// Optional JSON object (at most 16 KiB).
    #[serde(default)]
    #[schemars(schema_with = "opt_object_schema")]
    metadata: Option<Value>,
}

/// Arguments of `materialize_idea`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct MaterializeArgs {
    /// Your idea's id or code (status plan_ready or plan_reviewed).
    idea_id: String,
    /// Also create an OPEN sprint for the new stories (default false).
    #[serde(default)]
    build_sprint: bool,
    /// Keep an earlier PBI of this idea that has tasks in progress or done
    /// and create the new one alongside it (default false: refused with
    /// `PBI_HAS_ACTIVE_TASKS:<code>`).
    #[serde(default)]
    allow_alongside: bool,
}

/// Arguments of `dispatch_idea_job`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct DispatchArgs {
    /// Your idea's id or code.
    idea_id: String,
    /// `grill`, `make_plan` or `review_plan`.
    #[schemars(schema_with = "dispatch_kind_schema")]
    kind: DispatchKind,
    /// The product (id or code) to run it in; default the idea's product.
    #[serde(default)]
    product_id: Option<String>,
}

/// `create_idea`.
pub(crate) async fn create_idea(cx: &Cx<'_>, args: Value) -> AppResult<Value> {
    let a: CreateIdeaArgs = parse(args)?;
    let input =
        NewIdea { title: a.title, description: a.description, product_id: a.product_id, product_ids: a.product_ids };
    to_json(cx.app.create_idea(cx.actor, input).await?)
}

/// `get_idea_context`.
pub(crate) async fn get_idea_context(cx: &Cx<'_>, args: Value) -> AppResult<Value> {
    let a: IdeaArgs = parse(args)?;
    to_json(cx.app.idea_context(cx.actor, &a.idea_id).await?)
}

/// `get_ideas_context`.
pub(crate) async fn get_ideas_context(cx: &Cx<'_>, args: Value) -> AppResult<Value> {
    let a: IdeasArgs = parse(args)?;
    let filter = IdeaFilter { status: a.status, product: a.product_id, archived: a.archived };
    to_json(cx.app.list_ideas(cx.actor, filter, PageParams { page: a.page, limit: a.limit }).await?)
}

/// `update_idea_grill_md`.
pub(crate) async fn update_idea_grill_md(cx: &Cx<'_>, args: Value) -> AppResult<Value> {
    let a: MarkdownArgs = parse(args)?;
    to_json(cx.app.update_idea_grill_md(cx.actor, &a.idea_id, a.markdown).await?)
}

/// `update_idea_plan_md`: `{ok, idea, errors}` either way.
pub(crate) async fn update_idea_plan_md(cx: &Cx<'_>, args: Value) -> AppResult<Value> {
    let a: MarkdownArgs = parse(args)?;
    to_json(cx.app.update_idea_plan_md(cx.actor, &a.idea_id, a.markdown).await?)
}

/// `log_idea_decision`.
pub(crate) async fn log_idea_decision(cx: &Cx<'_>, args: Value) -> AppResult<Value> {
    let a: LogDecisionArgs = parse(args)?;
    let input = NewIdeaLog { kind: a.kind, content: a.content, metadata: a.metadata };
    to_json(cx.app.log_idea_decision(cx.actor, &a.idea_id, input).await?)
}

/// `materialize_idea`.
pub(crate) async fn materialize_idea(cx: &Cx<'_>, args: Value) -> AppResult<Value> {
    let a: MaterializeArgs = parse(args)?;
    let input = MaterializeInput { build_sprint: a.build_sprint, allow_alongside: a.allow_alongside };
    to_json(cx.app.materialize_idea(cx.actor, &a.idea_id, input).await?)
}

/// `dispatch_idea_job`.
pub(crate) async fn dispatch_idea_job(cx: &Cx<'_>, args: Value) -> AppResult<Value> {
    let a: DispatchArgs = parse(args)?;
    to_json(cx.app.dispatch_idea_job(cx.actor, &a.idea_id, a.kind.into(), a.product_id.as_deref()).await?)
}
