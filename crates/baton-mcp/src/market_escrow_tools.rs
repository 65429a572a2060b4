//! Marketplace escrow tools: thin adapters over the escrow services behind
//! `/api/escrows/…` and `/api/projects/{id}/escrows`
//! (`list_project_escrows`, `get_escrow_status`, `generate_wallet_qr`,
//! `fund_escrow`, and the administrators' `record_escrow_release` and
//! `refund_escrow`).
//!
//! Unlike the reference's `fund_escrow(opportunityId, currency)`, which
//! created the escrow and answered a wallet deep link, Baton creates the
//! escrow when the bid is accepted; `generate_wallet_qr` gives the payment
//! URI and QR, and `fund_escrow` records the transaction the wallet sent.

use baton_app::AppResult;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::tools::{Cx, parse, to_json};

/// Arguments of the tools about one escrow.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct EscrowArgs {
    /// The escrow's id.
    escrow_id: String,
}

/// Arguments of `list_project_escrows`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ProjectEscrowsArgs {
    /// The project (product id).
    project_id: String,
}

/// Arguments of `fund_escrow` and `record_escrow_release`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct EscrowTxArgs {
    /// The escrow's id.
    escrow_id: String,
    /// The transaction: Polygon `0x` + 64 hex digits, or a Solana signature.
    tx_hash: String,
}

/// Arguments of `refund_escrow`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RefundArgs {
    /// The escrow's id.
    escrow_id: String,
    /// The refund transaction; omit to cancel an escrow that was never funded.
    #[serde(default)]
    tx_hash: Option<String>,
    /// Why (shown to both parties).
    reason: String,
}

/// `list_project_escrows`: the escrow ids an agent needs for the other
/// escrow tools (bid acceptance does not answer the escrow it creates).
pub(crate) async fn list_project_escrows(cx: &Cx<'_>, args: Value) -> AppResult<Value> {
    let a: ProjectEscrowsArgs = parse(args)?;
    // An object, as MCP structured content must be.
    Ok(json!({ "escrows": to_json(cx.app.list_project_escrows(cx.actor, &a.project_id).await?)? }))
}

/// `get_escrow_status`.
pub(crate) async fn get_escrow_status(cx: &Cx<'_>, args: Value) -> AppResult<Value> {
    let a: EscrowArgs = parse(args)?;
    to_json(cx.app.get_escrow(cx.actor, &a.escrow_id).await?)
}

/// `generate_wallet_qr`.
pub(crate) async fn generate_wallet_qr(cx: &Cx<'_>, args: Value) -> AppResult<Value> {
    let a: EscrowArgs = parse(args)?;
    to_json(cx.app.escrow_payment_instructions(cx.actor, &a.escrow_id).await?)
}

/// `fund_escrow`.
pub(crate) async fn fund_escrow(cx: &Cx<'_>, args: Value) -> AppResult<Value> {
    let a: EscrowTxArgs = parse(args)?;
    to_json(cx.app.fund_escrow(cx.actor, &a.escrow_id, &a.tx_hash).await?)
}

/// `record_escrow_release`.
pub(crate) async fn record_escrow_release(cx: &Cx<'_>, args: Value) -> AppResult<Value> {
    let a: EscrowTxArgs = parse(args)?;
    to_json(cx.app.record_escrow_release(cx.actor, &a.escrow_id, &a.tx_hash).await?)
}

/// `refund_escrow`.
pub(crate) async fn refund_escrow(cx: &Cx<'_>, args: Value) -> AppResult<Value> {
    let a: RefundArgs = parse(args)?;
    to_json(cx.app.refund_escrow(cx.actor, &a.escrow_id, a.tx_hash.as_deref(), &a.reason).await?)
}
