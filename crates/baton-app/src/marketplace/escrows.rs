//! Escrows: created on acceptance, funded, released, refunded.
//!
//! Seams other marketplace services call inside their own transactions:
//! [`create_for_accepted_bid`] (bid acceptance) and
//! [`approve_release_for_opportunities`] (a story done, a planning
//! deliverable approved).

use baton_domain::marketplace::{Currency, DEFAULT_PLATFORM_FEE_BPS, EscrowStatus, money};
use baton_store::{
    entities::{bid, escrow, opportunity},
    new_id, now,
};
use sea_orm::{ActiveModelTrait, ConnectionTrait, Set};

use crate::{AppConfig, AppError, AppResult};

/// Creates the PENDING escrow of a bid being accepted, inside the
/// acceptance's transaction: the bid's amount in chain base units, the
/// platform fee terms of today, the chain of the currency.
pub async fn create_for_accepted_bid<C: ConnectionTrait>(
    txn: &C,
    _config: &AppConfig,
    opportunity: &opportunity::Model,
    bid: &bid::Model,
    client_id: &str,
) -> AppResult<escrow::Model> {
    let currency = Currency::decode(&bid.currency, "bids.currency").map_err(AppError::from)?;
    let chain =
        currency.chain().ok_or_else(|| AppError::Conflict(format!("{currency} cannot be escrowed on a chain")))?;
    let amount =
        money::minor_to_base_units(bid.amount, currency).map_err(|e| AppError::Conflict(format!("bid amount: {e}")))?;
    let at = now();
    let row = escrow::ActiveModel {
        id: Set(new_id()),
        product_id: Set(opportunity.product_id.clone()),
        opportunity_id: Set(Some(opportunity.id.clone())),
        client_id: Set(client_id.to_string()),
        expert_id: Set(bid.expert_id.clone()),
        amount: Set(amount.to_string()),
        currency: Set(currency.as_db().to_string()),
        blockchain: Set(chain.as_db().to_string()),
        platform_fee_bps: Set(DEFAULT_PLATFORM_FEE_BPS),
        platform_fee_flat: Set("0".into()),
        status: Set(EscrowStatus::Pending.as_db().to_string()),
        contract_address: Set(String::new()),
        transaction_hash: Set(None),
        release_transaction_hash: Set(None),
        refund_transaction_hash: Set(None),
        funded_at: Set(None),
        released_at: Set(None),
        refunded_at: Set(None),
        created_at: Set(at),
        updated_at: Set(at),
    };
    Ok(row.insert(txn).await?)
}

/// Marks the escrows of these opportunities as approved for release (the
/// work was accepted), inside the caller's transaction. Escrows still
/// pending stay pending; the release itself is recorded when its on-chain
/// transaction is verified.
pub async fn approve_release_for_opportunities<C: ConnectionTrait>(
    _txn: &C,
    _opportunity_ids: &[String],
) -> AppResult<()> {
    // Filled by the escrow service (release approval columns come with its migration).
    Ok(())
}
