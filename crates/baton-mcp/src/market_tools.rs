//! The marketplace over MCP: roles, projects and their brief and stage,
//! opportunities and bids (issue 12, reference §3.2 lists A and B).
//!
//! As in [`edit_tools`](crate::edit_tools), the arguments are the services'
//! own input types (`NewProject`, `NewOpportunity`, `NewBid`, …, which deny
//! unknown fields), parsed after the item reference is split off, so a tool
//! accepts exactly what its REST operation accepts. The `…Args` structs
//! only describe those fields to the agent; they are never built.

#![allow(dead_code)] // the `…Args` structs are schema descriptions only, see above

use baton_app::{
    AppResult,
    marketplace::{
        bids::{BidFilter, NewBid},
        opportunities::{NewOpportunity, OpportunityFilter},
        projects::{AdvanceInput, BriefInput, NewProject, ProjectFilter, ProjectPatch, roles::MyRolesInput},
    },
};
use baton_domain::{
    marketplace::{BidStatus, Currency, ProjectStatus, Stage, project::ConcernsPolicy},
    roles::Role,
};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::{
    schema::api_enum_schema,
    tools::{Cx, parse, parse_with_id, to_json},
};

api_enum_schema!(stage_schema, opt_stage_schema, Stage);
api_enum_schema!(currency_schema, opt_currency_schema, Currency);
api_enum_schema!(project_status_schema, opt_project_status_schema, ProjectStatus);
api_enum_schema!(concerns_schema, opt_concerns_schema, ConcernsPolicy);
api_enum_schema!(bid_status_schema, opt_bid_status_schema, BidStatus);
api_enum_schema!(role_schema, opt_role_schema, Role);

/// A budget in hundredths of the display unit (12.34 USDC = 1234).
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
pub(crate) struct BudgetArgs {
    /// Lowest amount, minor units, > 0.
    #[schemars(range(min = 1))]
    min: i64,
    /// Highest amount, minor units, ≥ min.
    #[schemars(range(min = 1))]
    max: i64,
    /// Currency (not `usd`: it cannot be escrowed).
    #[schemars(schema_with = "currency_schema")]
    currency: Currency,
}

/// Arguments of `set_my_roles`.
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
pub(crate) struct SetMyRolesArgs {
    /// Your self-service roles from now on: any of client, analyst, pm, architect, ux, developer, qa.
    roles: Vec<String>,
}

/// Arguments of `create_project`.
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
pub(crate) struct CreateProjectArgs {
    /// 1–200 characters, unique among your projects and products.
    name: String,
    /// Optional code: 1–30 letters, digits, `-`, `_`, `.`.
    code: Option<String>,
    /// Up to 4000 characters.
    description: Option<String>,
    /// The brief's first draft (markdown).
    brief: Option<String>,
    /// Developer opportunity budget per story (default 500.00–1500.00 USDC).
    dev_budget: Option<BudgetArgs>,
    /// QA opportunity budget per story (default 100.00–200.00 USDC).
    qa_budget: Option<BudgetArgs>,
    /// `rework` (default) or `proceed`: what a QA gate of CONCERNS does.
    #[schemars(schema_with = "opt_concerns_schema")]
    concerns_policy: Option<ConcernsPolicy>,
    /// Readiness score 1–10 a story needs (default 8).
    #[schemars(range(min = 1, max = 10))]
    validation_threshold: Option<i32>,
}

/// Arguments of the tools about one project.
#[derive(JsonSchema, Deserialize)]
#[schemars(deny_unknown_fields)]
#[serde(deny_unknown_fields)]
pub(crate) struct ProjectArgs {
    /// Project (product) id or code.
    project_id: String,
}

/// Arguments of `list_projects`.
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
pub(crate) struct ListProjectsArgs {
    /// Only projects in this status.
    #[schemars(schema_with = "opt_project_status_schema")]
    status: Option<ProjectStatus>,
    /// Page number, from 1.
    #[schemars(range(min = 1, max = 1_000_000))]
    page: Option<u64>,
    /// Items per page, 1–200.
    #[schemars(range(min = 1, max = 200))]
    limit: Option<u64>,
}

/// Arguments of `update_project`; absent fields stay.
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
pub(crate) struct UpdateProjectArgs {
    /// Project (product) id or code.
    project_id: String,
    /// New name.
    name: Option<String>,
    /// New description (empty clears it).
    description: Option<String>,
    /// Developer opportunity budget per story.
    dev_budget: Option<BudgetArgs>,
    /// QA opportunity budget per story.
    qa_budget: Option<BudgetArgs>,
    /// `rework` or `proceed`.
    #[schemars(schema_with = "opt_concerns_schema")]
    concerns_policy: Option<ConcernsPolicy>,
    /// 1–10.
    #[schemars(range(min = 1, max = 10))]
    validation_threshold: Option<i32>,
    /// Only `cancelled`.
    #[schemars(schema_with = "opt_project_status_schema")]
    status: Option<ProjectStatus>,
}

/// Arguments of `create_brief` and `update_brief`.
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
pub(crate) struct BriefArgs {
    /// Project (product) id or code.
    project_id: String,
    /// The brief in markdown (problem, users, MVP scope, constraints, success metrics).
    markdown: String,
}

/// Arguments of `advance_project_stage`.
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
pub(crate) struct AdvanceArgs {
    /// Project (product) id or code.
    project_id: String,
    /// The stage to enter; default the next. From architect, `developer` skips UX.
    #[schemars(schema_with = "opt_stage_schema")]
    to: Option<Stage>,
}

/// Arguments of `post_opportunity`.
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
pub(crate) struct PostOpportunityArgs {
    /// Project (product) id or code.
    project_id: String,
    /// The stage (the expert role it needs).
    #[schemars(schema_with = "stage_schema")]
    stage: Stage,
    /// 1–200 characters.
    title: String,
    /// What is to be delivered.
    description: String,
    /// Budget in minor units.
    budget: BudgetArgs,
    /// Optional deadline (RFC 3339), in the future.
    deadline: Option<String>,
    /// The story (developer and QA stages only; required there).
    story_id: Option<String>,
}

/// Arguments of `list_opportunities`.
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
pub(crate) struct ListOpportunitiesArgs {
    /// Only this stage.
    #[schemars(schema_with = "opt_stage_schema")]
    stage: Option<Stage>,
    /// Only this currency.
    #[schemars(schema_with = "opt_currency_schema")]
    currency: Option<Currency>,
    /// Budgets reaching at least this much (minor units).
    #[schemars(range(min = 0))]
    budget_min: Option<i64>,
    /// Budgets starting at most this much (minor units).
    #[schemars(range(min = 0))]
    budget_max: Option<i64>,
    /// Only deadlines within this many days.
    #[schemars(range(min = 1, max = 365))]
    deadline_within_days: Option<i64>,
    /// `newest` (default), `highest` or `lowest`.
    sort: Option<String>,
    /// Page number, from 1.
    #[schemars(range(min = 1, max = 1_000_000))]
    page: Option<u64>,
    /// Items per page, 1–200.
    #[schemars(range(min = 1, max = 200))]
    limit: Option<u64>,
}

/// Arguments of the tools about one opportunity.
#[derive(JsonSchema, Deserialize)]
#[schemars(deny_unknown_fields)]
#[serde(deny_unknown_fields)]
pub(crate) struct OpportunityArgs {
    /// Opportunity id.
    opportunity_id: String,
}

/// Arguments of `submit_bid`.
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
pub(crate) struct SubmitBidArgs {
    /// Opportunity id.
    opportunity_id: String,
    /// Minor units, 1 to 1.5 × the budget maximum.
    #[schemars(range(min = 1))]
    amount: i64,
    /// The opportunity's currency.
    #[schemars(schema_with = "currency_schema")]
    currency: Currency,
    /// Your proposal, at least 100 characters.
    proposal: String,
    /// Estimated hours, 1–2000.
    #[schemars(range(min = 1, max = 2000))]
    estimated_hours: Option<i32>,
}

/// Arguments of `get_my_bids`.
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
pub(crate) struct MyBidsArgs {
    /// Only bids in this status.
    #[schemars(schema_with = "opt_bid_status_schema")]
    status: Option<BidStatus>,
    /// Page number, from 1.
    #[schemars(range(min = 1, max = 1_000_000))]
    page: Option<u64>,
    /// Items per page, 1–200.
    #[schemars(range(min = 1, max = 200))]
    limit: Option<u64>,
}

/// Arguments of the tools about one bid.
#[derive(JsonSchema, Deserialize)]
#[schemars(deny_unknown_fields)]
#[serde(deny_unknown_fields)]
pub(crate) struct BidArgs {
    /// Bid id.
    bid_id: String,
}

/// `set_my_roles`.
pub(crate) async fn set_my_roles(cx: &Cx<'_>, args: Value) -> AppResult<Value> {
    let input: MyRolesInput = parse(args)?;
    to_json(cx.app.set_my_roles(cx.actor, input).await?)
}

/// `create_project`.
pub(crate) async fn create_project(cx: &Cx<'_>, args: Value) -> AppResult<Value> {
    let input: NewProject = parse(args)?;
    to_json(cx.app.create_project(cx.actor, input).await?)
}

/// `list_projects`.
pub(crate) async fn list_projects(cx: &Cx<'_>, args: Value) -> AppResult<Value> {
    let filter: ProjectFilter = parse(args)?;
    to_json(cx.app.list_projects(cx.actor, filter).await?)
}

/// `get_project_status`.
pub(crate) async fn get_project_status(cx: &Cx<'_>, args: Value) -> AppResult<Value> {
    let a: ProjectArgs = parse(args)?;
    to_json(cx.app.project_status(cx.actor, &a.project_id).await?)
}

/// `update_project`.
pub(crate) async fn update_project(cx: &Cx<'_>, args: Value) -> AppResult<Value> {
    let (id, patch): (String, ProjectPatch) = parse_with_id(args, "project_id")?;
    to_json(cx.app.update_project(cx.actor, &id, patch).await?)
}

/// `create_brief` and `update_brief`: one service writes the draft.
pub(crate) async fn put_brief(cx: &Cx<'_>, args: Value) -> AppResult<Value> {
    let (id, input): (String, BriefInput) = parse_with_id(args, "project_id")?;
    to_json(cx.app.put_project_brief(cx.actor, &id, input).await?)
}

/// `get_project_brief`.
pub(crate) async fn get_project_brief(cx: &Cx<'_>, args: Value) -> AppResult<Value> {
    let a: ProjectArgs = parse(args)?;
    to_json(cx.app.get_project_brief(cx.actor, &a.project_id).await?)
}

/// `publish_brief`.
pub(crate) async fn publish_brief(cx: &Cx<'_>, args: Value) -> AppResult<Value> {
    let a: ProjectArgs = parse(args)?;
    to_json(cx.app.publish_project_brief(cx.actor, &a.project_id).await?)
}

/// `advance_project_stage`.
pub(crate) async fn advance_project_stage(cx: &Cx<'_>, args: Value) -> AppResult<Value> {
    let (id, input): (String, AdvanceInput) = parse_with_id(args, "project_id")?;
    to_json(cx.app.advance_project_stage(cx.actor, &id, input).await?)
}

/// `post_opportunity`.
pub(crate) async fn post_opportunity(cx: &Cx<'_>, args: Value) -> AppResult<Value> {
    let (id, input): (String, NewOpportunity) = parse_with_id(args, "project_id")?;
    to_json(cx.app.post_opportunity(cx.actor, &id, input).await?)
}

/// `list_opportunities`.
pub(crate) async fn list_opportunities(cx: &Cx<'_>, args: Value) -> AppResult<Value> {
    let filter: OpportunityFilter = parse(args)?;
    to_json(cx.app.list_opportunities(cx.actor, filter).await?)
}

/// `get_opportunity`.
pub(crate) async fn get_opportunity(cx: &Cx<'_>, args: Value) -> AppResult<Value> {
    let a: OpportunityArgs = parse(args)?;
    to_json(cx.app.get_opportunity(cx.actor, &a.opportunity_id).await?)
}

/// `list_opportunity_bids`.
pub(crate) async fn list_opportunity_bids(cx: &Cx<'_>, args: Value) -> AppResult<Value> {
    let a: OpportunityArgs = parse(args)?;
    to_json(json!({ "items": cx.app.list_opportunity_bids(cx.actor, &a.opportunity_id).await? }))
}

/// `submit_bid`.
pub(crate) async fn submit_bid(cx: &Cx<'_>, args: Value) -> AppResult<Value> {
    let (id, input): (String, NewBid) = parse_with_id(args, "opportunity_id")?;
    to_json(cx.app.submit_bid(cx.actor, &id, input).await?)
}

/// `get_my_bids`.
pub(crate) async fn get_my_bids(cx: &Cx<'_>, args: Value) -> AppResult<Value> {
    let filter: BidFilter = parse(args)?;
    to_json(cx.app.list_my_bids(cx.actor, filter).await?)
}

/// `withdraw_bid`.
pub(crate) async fn withdraw_bid(cx: &Cx<'_>, args: Value) -> AppResult<Value> {
    let a: BidArgs = parse(args)?;
    to_json(cx.app.withdraw_bid(cx.actor, &a.bid_id).await?)
}

/// `reject_bid`.
pub(crate) async fn reject_bid(cx: &Cx<'_>, args: Value) -> AppResult<Value> {
    let a: BidArgs = parse(args)?;
    to_json(cx.app.reject_bid(cx.actor, &a.bid_id).await?)
}

/// `accept_bid`.
pub(crate) async fn accept_bid(cx: &Cx<'_>, args: Value) -> AppResult<Value> {
    let a: BidArgs = parse(args)?;
    to_json(cx.app.accept_bid(cx.actor, &a.bid_id).await?)
}
