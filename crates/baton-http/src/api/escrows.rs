//! `/api/escrows…` and `/api/projects/{id}/escrows`: the on-chain escrow of
//! an engagement — read it, get the payment instructions, record the
//! funding, release and refund transactions. The same services back the MCP
//! tools `get_escrow_status`, `generate_wallet_qr`, `fund_escrow`,
//! `record_escrow_release` and `refund_escrow`.

use axum::{
    Json,
    extract::{Path, State},
};
use baton_app::marketplace::escrows::{EscrowView, PaymentInstructions, RefundInput, TxInput};

use super::responses::{BadBody, Conflict, Forbidden, NotFound, Unauthorized, Unavailable};
use crate::{
    AppState,
    error::ApiResult,
    extract::{ApiJson, Caller},
};

/// One escrow (its client, its expert or an administrator), with the last
/// on-chain check while a transaction awaits confirmation.
#[utoipa::path(get, path = "/escrows/{id}", tag = "marketplace", security(("bearer" = []), ("session" = [])),
    params(("id" = String, Path, description = "escrow id")),
    responses((status = 200, body = EscrowView), Unauthorized, NotFound))]
pub async fn get(
    State(s): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<EscrowView>> {
    Ok(Json(s.app.get_escrow(&actor, &id).await?))
}

/// A project's escrows: all for its client and administrators, an
/// expert's own for an expert.
#[utoipa::path(get, path = "/projects/{id}/escrows", tag = "marketplace", security(("bearer" = []), ("session" = [])),
    params(("id" = String, Path, description = "project id")),
    responses((status = 200, body = Vec<EscrowView>), Unauthorized, NotFound))]
pub async fn list_for_project(
    State(s): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Vec<EscrowView>>> {
    Ok(Json(s.app.list_project_escrows(&actor, &id).await?))
}

/// How to pay the escrow: address, amount in display units, EIP-681 or
/// Solana Pay URI and the URI as an SVG QR code.
#[utoipa::path(get, path = "/escrows/{id}/payment", tag = "marketplace", security(("bearer" = []), ("session" = [])),
    params(("id" = String, Path, description = "escrow id")),
    responses((status = 200, body = PaymentInstructions), Unauthorized, NotFound, Unavailable))]
pub async fn payment(
    State(s): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<PaymentInstructions>> {
    Ok(Json(s.app.escrow_payment_instructions(&actor, &id).await?))
}

/// The client records the funding transaction. Confirmed: FUNDED. Not
/// final yet or the chain unreachable: stays PENDING and is re-checked in
/// the background. 422 when the transaction cannot fund this escrow (the
/// reason is given; nothing is stored), 409 when the hash is used by another
/// escrow, 503 when the chain has no RPC endpoint configured.
#[utoipa::path(post, path = "/escrows/{id}/fund", tag = "marketplace", security(("bearer" = []), ("session" = [])),
    params(("id" = String, Path, description = "escrow id")), request_body = TxInput,
    responses((status = 200, body = EscrowView), BadBody, Unauthorized, Forbidden, NotFound, Conflict, Unavailable))]
pub async fn fund(
    State(s): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<TxInput>,
) -> ApiResult<Json<EscrowView>> {
    Ok(Json(s.app.fund_escrow(&actor, &id, &input.tx_hash).await?))
}

/// An administrator records the release transaction of a FUNDED escrow
/// whose work was approved; verified on chain like the funding.
#[utoipa::path(post, path = "/escrows/{id}/release", tag = "marketplace", security(("bearer" = []), ("session" = [])),
    params(("id" = String, Path, description = "escrow id")), request_body = TxInput,
    responses((status = 200, body = EscrowView), BadBody, Unauthorized, Forbidden, NotFound, Conflict, Unavailable))]
pub async fn release(
    State(s): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<TxInput>,
) -> ApiResult<Json<EscrowView>> {
    Ok(Json(s.app.record_escrow_release(&actor, &id, &input.tx_hash).await?))
}

/// An administrator refunds an escrow with a reason: a PENDING one is
/// cancelled (no transaction); a FUNDED one needs its refund transaction and
/// a rejection of the work within the last 30 days.
#[utoipa::path(post, path = "/escrows/{id}/refund", tag = "marketplace", security(("bearer" = []), ("session" = [])),
    params(("id" = String, Path, description = "escrow id")), request_body = RefundInput,
    responses((status = 200, body = EscrowView), BadBody, Unauthorized, Forbidden, NotFound, Conflict, Unavailable))]
pub async fn refund(
    State(s): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<RefundInput>,
) -> ApiResult<Json<EscrowView>> {
    Ok(Json(s.app.refund_escrow(&actor, &id, input.tx_hash.as_deref(), &input.reason).await?))
}
