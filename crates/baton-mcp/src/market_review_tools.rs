//! Marketplace tools for planning deliverables, ratings and project
//! documents, thin adapters over the services behind
//! `/api/opportunities/{id}/deliverables`, `/api/deliverables/{id}/review`,
//! `/api/projects/{id}/ratings`, `/api/experts/{username}` and
//! `/api/projects/{id}/documents`. Files travel as base64 text over MCP. Arguments are the services' own input types,
//! parsed after the id is split off; the `*Args` structs only describe them.

#![allow(dead_code)] // the `*Args` structs only describe the arguments, see above

use baton_app::{
    AppResult,
    marketplace::{
        deliverables::{ReviewDeliverable, SubmitDeliverable},
        documents::NewDocument,
        ratings::NewRating,
    },
};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;

use crate::{
    base64::decode_base64,
    tools::{Cx, parse, parse_with_id, to_json},
};

/// Arguments of `submit_deliverable`.
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
pub(crate) struct SubmitDeliverableArgs {
    /// The planning opportunity your bid was accepted on.
    opportunity_id: String,
    /// The pull request's own page (`https://github.com/owner/repo/pull/7`).
    pr_url: String,
}

/// Arguments of `list_deliverables`.
#[derive(JsonSchema, Deserialize)]
#[schemars(deny_unknown_fields)]
#[serde(deny_unknown_fields)]
pub(crate) struct OpportunityArgs {
    /// The opportunity.
    opportunity_id: String,
}

/// Arguments of `review_deliverable`.
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
pub(crate) struct ReviewDeliverableArgs {
    /// The deliverable.
    deliverable_id: String,
    /// `approve` (completes the opportunity, approves the escrow's release),
    /// `request_changes` or `reject` (the opportunity opens again).
    decision: ReviewDecisionArg,
    /// Why; required unless approving.
    notes: Option<String>,
}

/// The decision, as the schema shows it.
#[derive(JsonSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum ReviewDecisionArg {
    /// Accept the work.
    Approve,
    /// Another round.
    RequestChanges,
    /// Reject and reselect.
    Reject,
}

/// Arguments of `rate_expert`.
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
pub(crate) struct RateExpertArgs {
    /// Your project (id).
    project_id: String,
    /// The expert's username.
    expert: String,
    /// The stage rated: analyst, pm, architect, ux, developer or qa.
    stage: String,
    /// 1 to 5.
    rating: i64,
    /// Optional text, at most 500 characters.
    feedback: Option<String>,
}

/// Arguments of `list_project_ratings`.
#[derive(JsonSchema, Deserialize)]
#[schemars(deny_unknown_fields)]
#[serde(deny_unknown_fields)]
pub(crate) struct ProjectArgs {
    /// The project (id).
    project_id: String,
}

/// Arguments of `get_expert_profile`.
#[derive(JsonSchema, Deserialize)]
#[schemars(deny_unknown_fields)]
#[serde(deny_unknown_fields)]
pub(crate) struct ExpertArgs {
    /// The expert's username.
    username: String,
}

/// `submit_deliverable`.
pub(crate) async fn submit_deliverable(cx: &Cx<'_>, args: Value) -> AppResult<Value> {
    let (id, input): (String, SubmitDeliverable) = parse_with_id(args, "opportunity_id")?;
    to_json(cx.app.submit_deliverable(cx.actor, &id, input).await?)
}

/// `list_deliverables`.
pub(crate) async fn list_deliverables(cx: &Cx<'_>, args: Value) -> AppResult<Value> {
    let a: OpportunityArgs = parse(args)?;
    to_json(cx.app.list_deliverables(cx.actor, &a.opportunity_id).await?)
}

/// `review_deliverable`.
pub(crate) async fn review_deliverable(cx: &Cx<'_>, args: Value) -> AppResult<Value> {
    let (id, input): (String, ReviewDeliverable) = parse_with_id(args, "deliverable_id")?;
    to_json(cx.app.review_deliverable(cx.actor, &id, input).await?)
}

/// `rate_expert`.
pub(crate) async fn rate_expert(cx: &Cx<'_>, args: Value) -> AppResult<Value> {
    let (id, input): (String, NewRating) = parse_with_id(args, "project_id")?;
    to_json(cx.app.rate_expert(cx.actor, &id, input).await?)
}

/// `list_project_ratings`.
pub(crate) async fn list_project_ratings(cx: &Cx<'_>, args: Value) -> AppResult<Value> {
    let a: ProjectArgs = parse(args)?;
    to_json(cx.app.project_ratings(cx.actor, &a.project_id).await?)
}

/// `get_expert_profile`.
pub(crate) async fn get_expert_profile(cx: &Cx<'_>, args: Value) -> AppResult<Value> {
    let a: ExpertArgs = parse(args)?;
    to_json(cx.app.expert_profile(cx.actor, &a.username).await?)
}

/// Arguments of `upload_document`.
#[derive(JsonSchema, Deserialize)]
#[schemars(deny_unknown_fields)]
#[serde(deny_unknown_fields)]
pub(crate) struct UploadDocumentArgs {
    /// The project (id).
    project_id: String,
    /// The file name (no path).
    filename: String,
    /// brief, prd, architecture, design, wireframes or other.
    document_type: String,
    /// image/png, image/jpeg, image/webp, image/gif, application/pdf, text/markdown or text/plain.
    content_type: String,
    /// The file, base64-encoded (standard alphabet, padding optional).
    content_base64: String,
}

/// Arguments of `list_documents`.
#[derive(JsonSchema, Deserialize)]
#[schemars(deny_unknown_fields)]
#[serde(deny_unknown_fields)]
pub(crate) struct ListDocumentsArgs {
    /// The project (id).
    project_id: String,
    /// Only documents of this type.
    document_type: Option<String>,
}

/// Arguments of `delete_document`.
#[derive(JsonSchema, Deserialize)]
#[schemars(deny_unknown_fields)]
#[serde(deny_unknown_fields)]
pub(crate) struct DocumentArgs {
    /// The document.
    document_id: String,
}

/// `upload_document`.
pub(crate) async fn upload_document(cx: &Cx<'_>, args: Value) -> AppResult<Value> {
    let a: UploadDocumentArgs = parse(args)?;
    let bytes = decode_base64(&a.content_base64)
        .ok_or_else(|| baton_app::AppError::field("content_base64", "is not valid base64"))?;
    let input =
        NewDocument { filename: a.filename, document_type: a.document_type, content_type: a.content_type, bytes };
    to_json(cx.app.upload_document(cx.actor, &a.project_id, input).await?)
}

/// `list_documents`.
pub(crate) async fn list_documents(cx: &Cx<'_>, args: Value) -> AppResult<Value> {
    let a: ListDocumentsArgs = parse(args)?;
    to_json(cx.app.list_documents(cx.actor, &a.project_id, a.document_type.as_deref()).await?)
}

/// `delete_document`.
pub(crate) async fn delete_document(cx: &Cx<'_>, args: Value) -> AppResult<Value> {
    let a: DocumentArgs = parse(args)?;
    cx.app.delete_document(cx.actor, &a.document_id).await?;
    Ok(serde_json::json!({ "deleted": a.document_id }))
}
