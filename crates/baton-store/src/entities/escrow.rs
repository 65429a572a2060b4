//! `escrows`: on-chain escrow of one engagement.

use sea_orm::entity::prelude::*;

/// One escrow.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "escrows")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub product_id: String,
    pub opportunity_id: Option<String>,
    pub client_id: String,
    pub expert_id: String,
    /// Decimal string of chain base units.
    pub amount: String,
    /// `Currency`.
    pub currency: String,
    /// `Blockchain`.
    pub blockchain: String,
    pub platform_fee_bps: i32,
    /// Decimal string, same base units as `amount`.
    pub platform_fee_flat: String,
    /// `EscrowStatus`.
    pub status: String,
    pub contract_address: String,
    /// Funding transaction; unique.
    pub transaction_hash: Option<String>,
    pub release_transaction_hash: Option<String>,
    pub refund_transaction_hash: Option<String>,
    pub funded_at: Option<DateTimeUtc>,
    pub released_at: Option<DateTimeUtc>,
    pub refunded_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    /// When the work was accepted; a release may be recorded from then on.
    pub release_approved_at: Option<DateTimeUtc>,
    /// When the work was rejected; refunds are allowed for 30 days after.
    pub rejected_at: Option<DateTimeUtc>,
    /// The administrator's reason for a refund.
    pub refund_reason: Option<String>,
    /// Last on-chain check of the transaction awaiting confirmation.
    pub checked_at: Option<DateTimeUtc>,
    /// What that check found (free text).
    pub check_result: Option<String>,
    /// Confirmations seen by that check.
    pub check_confirmations: Option<i32>,
    /// Unconfirmed or failed checks in a row (re-check backoff).
    pub check_attempts: i32,
    /// When the background re-check looks again; NULL = nothing to check.
    pub next_check_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
