//! Products and their settings (`create_product`, `update_product`,
//! `archive_product`, `unarchive_product`, `delete_product`), members
//! (`add_member`, `update_member`, `remove_member`), export and import, and
//! the bulk operations (`bulk_status`, `bulk_move_to_sprint`,
//! `bulk_reorder`).
//!
//! The inputs are the services' own types (`NewProduct`, `ProductPatch`,
//! `NewMember`, …, which deny unknown fields), parsed from the arguments
//! after the item reference is split off: a tool accepts exactly what its
//! REST operation accepts. The `…Args` structs here only describe those
//! fields to the agent (the input schema); they are never built.

#![allow(dead_code)] // the `…Args` structs are schema descriptions only, see above

use baton_app::{
    AppResult,
    bulk::{BulkStatusInput, MoveToSprintInput, ReorderInput},
    products::{BacklogExport, ExportFormat, MemberPatch, NewMember, NewProduct, ProductPatch},
};
use baton_domain::{
    backlog::PrStrategy,
    roles::{MemberAccess, Role},
};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::{
    schema::api_enum_schema,
    tools::{Cx, parse, parse_with_id, to_json},
};

api_enum_schema!(pr_strategy_schema, opt_pr_strategy_schema, PrStrategy);
api_enum_schema!(access_schema, opt_access_schema, MemberAccess);
api_enum_schema!(role_schema, opt_role_schema, Role);

fn bulk_kind_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({ "type": "string", "enum": ["pbi", "story", "task"] })
}

fn opt_bulk_kind_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({ "type": ["string", "null"], "enum": ["pbi", "story", "task", null] })
}

fn opt_format_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({ "type": ["string", "null"], "enum": ["json", "csv", null] })
}

/// Arguments of `create_product` (the service's `NewProduct`).
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
pub(crate) struct CreateProductArgs {
    /// 1–200 characters, unique among your products.
    name: String,
    /// Short code: 1–30 letters, digits, `-`, `_`, `.`; unique among your products.
    code: Option<String>,
    /// At most 4000 characters.
    description: Option<String>,
    /// An `http(s)://`, `ssh://` or `git@host:path` repository URL.
    repo_url: Option<String>,
    /// Required, 1–4000 characters.
    definition_of_done: String,
    /// Open pull requests automatically (default false).
    auto_pr: Option<bool>,
    /// sprint, story or sprint_batch (default).
    #[schemars(schema_with = "opt_pr_strategy_schema")]
    pr_strategy: Option<PrStrategy>,
    /// Preferred model, at most 200 characters.
    preferred_model: Option<String>,
    /// Default thinking budget, 0–200000 tokens.
    #[schemars(range(min = 0, max = 200000))]
    thinking_budget_default: Option<i32>,
    /// Permission mode, 1–40 letters, digits, `-` or `_` (e.g. `acceptEdits`).
    preferred_permission_mode: Option<String>,
    /// Default false.
    auto_pr_review: Option<bool>,
    /// Default false.
    auto_task_review: Option<bool>,
    /// Default true.
    auto_plan_review: Option<bool>,
    /// Default true.
    auto_materialize_plan: Option<bool>,
    /// Default false.
    auto_deploy: Option<bool>,
    /// Quota floor 0–100 %: workers reporting less remaining quota do not claim this product's jobs; `null` = each worker's own threshold.
    #[schemars(range(min = 0, max = 100))]
    min_quota_pct: Option<i32>,
}

/// Arguments of `update_product` (the service's `ProductPatch`); absent
/// fields stay, `null` clears an optional one.
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
pub(crate) struct UpdateProductArgs {
    /// Product id or code.
    product_id: String,
    /// New name.
    name: Option<String>,
    /// New code (`null` clears it).
    code: Option<String>,
    /// New description (`null` clears it).
    description: Option<String>,
    /// New repository URL (`null` clears it).
    repo_url: Option<String>,
    /// New definition of done.
    definition_of_done: Option<String>,
    /// Open pull requests automatically.
    auto_pr: Option<bool>,
    /// sprint, story or sprint_batch.
    #[schemars(schema_with = "opt_pr_strategy_schema")]
    pr_strategy: Option<PrStrategy>,
    /// Preferred model (`null` clears it).
    preferred_model: Option<String>,
    /// Default thinking budget, 0–200000 (`null` clears it).
    #[schemars(range(min = 0, max = 200000))]
    thinking_budget_default: Option<i32>,
    /// Permission mode (`null` clears it).
    preferred_permission_mode: Option<String>,
    /// Auto PR review.
    auto_pr_review: Option<bool>,
    /// Auto task review.
    auto_task_review: Option<bool>,
    /// Auto plan review.
    auto_plan_review: Option<bool>,
    /// Auto materialize plan.
    auto_materialize_plan: Option<bool>,
    /// Auto deploy.
    auto_deploy: Option<bool>,
    /// Quota floor 0–100 % for claiming this product's jobs (`null` = each worker's own threshold).
    #[schemars(range(min = 0, max = 100))]
    min_quota_pct: Option<i32>,
}

/// Arguments of the tools that take only a product.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ProductArgs {
    /// Product id or code.
    product_id: String,
}

/// Arguments of `add_member` (the service's `NewMember`).
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
pub(crate) struct AddMemberArgs {
    /// Product id or code.
    product_id: String,
    /// Login name of an existing user with the developer role.
    username: String,
    /// read_write or read_only (default).
    #[schemars(schema_with = "opt_access_schema")]
    access: Option<MemberAccess>,
    /// Their role in this product (default developer).
    #[schemars(schema_with = "opt_role_schema")]
    role: Option<Role>,
}

/// Arguments of `update_member` (the service's `MemberPatch`).
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
pub(crate) struct UpdateMemberArgs {
    /// Product id or code.
    product_id: String,
    /// The member's user id (from the product's member list).
    user_id: String,
    /// New access.
    #[schemars(schema_with = "opt_access_schema")]
    access: Option<MemberAccess>,
    /// New role.
    #[schemars(schema_with = "opt_role_schema")]
    role: Option<Role>,
}

/// Arguments of `remove_member`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RemoveMemberArgs {
    /// Product id or code.
    product_id: String,
    /// The member's user id.
    user_id: String,
}

/// Arguments of `export_product`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ExportArgs {
    /// Product id or code.
    product_id: String,
    /// json (default; nested, importable) or csv.
    #[serde(default)]
    #[schemars(schema_with = "opt_format_schema")]
    format: Option<ExportFormat>,
}

/// Arguments of `import_product`: exactly one of the two.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ImportArgs {
    /// A JSON export as `export_product` (format json) returns it in `content`.
    #[serde(default)]
    #[schemars(schema_with = "crate::schema::opt_object_schema")]
    export: Option<Value>,
    /// A CSV export as `export_product` (format csv) returns it in `content`.
    #[serde(default)]
    csv: Option<String>,
}

/// Arguments of `bulk_status` (the service's `BulkStatusInput`).
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
pub(crate) struct BulkStatusArgs {
    /// pbi, story or task.
    #[schemars(schema_with = "bulk_kind_schema")]
    kind: String,
    /// Ids or codes (1–500), all of one product.
    ids: Vec<String>,
    /// The new status (task: todo, in_progress, review, done, failed, excluded; story: open, in_sprint, done, failed; PBI: ready, blocked, failed, done).
    status: String,
}

/// Arguments of `bulk_move_to_sprint` (the service's `MoveToSprintInput`).
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
pub(crate) struct BulkMoveArgs {
    /// Story ids or codes (1–500), all of one product.
    story_ids: Vec<String>,
    /// An OPEN sprint of the same product, or `null` for the product backlog. Required.
    sprint_id: Option<String>,
}

/// Arguments of `bulk_reorder` (the service's `ReorderInput`).
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
pub(crate) struct BulkReorderArgs {
    /// pbi, story or task; inferred from the first id when absent.
    #[schemars(schema_with = "opt_bulk_kind_schema")]
    kind: Option<String>,
    /// Ids or codes of siblings (PBIs of one product, stories of one PBI or tasks of one story) in their new order; siblings not listed follow.
    ids: Vec<String>,
}

/// `create_product`.
pub(crate) async fn create_product(cx: &Cx<'_>, args: Value) -> AppResult<Value> {
    let input: NewProduct = parse(args)?;
    to_json(cx.app.create_product(cx.actor, input).await?)
}

/// `update_product`.
pub(crate) async fn update_product(cx: &Cx<'_>, args: Value) -> AppResult<Value> {
    let (id, patch): (String, ProductPatch) = parse_with_id(args, "product_id")?;
    to_json(cx.app.update_product(cx.actor, &id, patch).await?)
}

/// `archive_product` and `unarchive_product`.
pub(crate) async fn set_archived(cx: &Cx<'_>, args: Value, archived: bool) -> AppResult<Value> {
    let a: ProductArgs = parse(args)?;
    to_json(cx.app.set_product_archived(cx.actor, &a.product_id, archived).await?)
}

/// `delete_product`.
pub(crate) async fn delete_product(cx: &Cx<'_>, args: Value) -> AppResult<Value> {
    let a: ProductArgs = parse(args)?;
    cx.app.delete_product(cx.actor, &a.product_id).await?;
    Ok(json!({ "deleted": a.product_id }))
}

/// `add_member`.
pub(crate) async fn add_member(cx: &Cx<'_>, args: Value) -> AppResult<Value> {
    let (id, input): (String, NewMember) = parse_with_id(args, "product_id")?;
    to_json(cx.app.add_member(cx.actor, &id, input).await?)
}

/// `update_member`.
pub(crate) async fn update_member(cx: &Cx<'_>, args: Value) -> AppResult<Value> {
    let (id, rest): (String, Value) = parse_with_id(args, "product_id")?;
    let (user_id, patch): (String, MemberPatch) = parse_with_id(rest, "user_id")?;
    to_json(cx.app.update_member(cx.actor, &id, &user_id, patch).await?)
}

/// `remove_member`.
pub(crate) async fn remove_member(cx: &Cx<'_>, args: Value) -> AppResult<Value> {
    let a: RemoveMemberArgs = parse(args)?;
    cx.app.remove_member(cx.actor, &a.product_id, &a.user_id).await?;
    Ok(json!({ "removed": a.user_id }))
}

/// `export_product`: the file REST would download, as text.
pub(crate) async fn export_product(cx: &Cx<'_>, args: Value) -> AppResult<Value> {
    let a: ExportArgs = parse(args)?;
    let file = cx.app.export_product(cx.actor, &a.product_id, a.format.unwrap_or_default()).await?;
    Ok(json!({ "filename": file.filename, "content_type": file.content_type, "content": file.body }))
}

/// `import_product`.
pub(crate) async fn import_product(cx: &Cx<'_>, args: Value) -> AppResult<Value> {
    let a: ImportArgs = parse(args)?;
    match (a.export, a.csv) {
        (Some(export), None) => {
            let export: BacklogExport = parse(export).map_err(|e| prefix_paths(e, "export"))?;
            to_json(cx.app.import_product(cx.actor, export).await?)
        }
        (None, Some(csv)) => to_json(cx.app.import_product_csv(cx.actor, &csv).await?),
        _ => Err(baton_app::AppError::field("export", "give exactly one of export or csv")),
    }
}

/// Validation paths of a nested value, under its argument's name.
fn prefix_paths(e: baton_app::AppError, field: &str) -> baton_app::AppError {
    match e {
        baton_app::AppError::Validation(mut errs) => {
            for d in &mut errs.0 {
                d.path =
                    if d.path.is_empty() || d.path == "." { field.to_string() } else { format!("{field}.{}", d.path) };
            }
            baton_app::AppError::Validation(errs)
        }
        other => other,
    }
}

/// `bulk_status`.
pub(crate) async fn bulk_status(cx: &Cx<'_>, args: Value) -> AppResult<Value> {
    let input: BulkStatusInput = parse(args)?;
    to_json(cx.app.bulk_status(cx.actor, input).await?)
}

/// `bulk_move_to_sprint`.
pub(crate) async fn bulk_move_to_sprint(cx: &Cx<'_>, args: Value) -> AppResult<Value> {
    let input: MoveToSprintInput = parse(args)?;
    to_json(cx.app.bulk_move_to_sprint(cx.actor, input).await?)
}

/// `bulk_reorder`.
pub(crate) async fn bulk_reorder(cx: &Cx<'_>, args: Value) -> AppResult<Value> {
    let input: ReorderInput = parse(args)?;
    to_json(cx.app.bulk_reorder(cx.actor, input).await?)
}
