//! Escrows (marketplace reference §5): created PENDING on bid acceptance,
//! funded by the client's on-chain transfer, released to the expert after
//! the work is accepted, or refunded by an administrator.
//!
//! Seams other marketplace services call inside their own transactions:
//! [`create_for_accepted_bid`] (bid acceptance),
//! [`approve_release_for_opportunities`] (a story done, a planning
//! deliverable approved) and [`mark_rejected_for_opportunities`] (a planning
//! deliverable rejected, a QA gate FAIL).
//!
//! Decisions:
//! - Who: the client of an escrow funds it (everyone else gets 404, as if
//!   it did not exist); the client, the expert and administrators read it;
//!   only administrators record releases and refunds (the platform signs
//!   them, §5.4 proposal). Demo accounts change nothing (403).
//! - Funding checks the transaction before anything is stored: a rejected
//!   transaction (reverted, wrong token, wrong recipient, too little) is a
//!   422 naming the reason and writes nothing. A transaction not final yet,
//!   or an unreachable RPC, stores the hash and leaves the escrow PENDING;
//!   [`App::recheck_pending_escrows`] looks again with exponential backoff
//!   (30 s doubling up to 1 h). A client may replace an unconfirmed hash.
//! - A hash can back one escrow only (funding, release and refund hashes
//!   together): a reused hash is a 409. Polygon hashes are stored lowercase.
//! - Fee: `flat + bps` of the configuration at creation, stored on the
//!   escrow (later configuration changes do not touch existing escrows),
//!   deducted from the expert. The flat part applies to stablecoins only.
//!   Creation is refused (409) when the fee would take the whole amount.
//! - "Rejection" (opening the 30-day refund window) is a planning
//!   deliverable rejected or a story's QA gate FAIL, recorded by those
//!   services through [`mark_rejected_for_opportunities`]. A PENDING escrow
//!   (never funded) may be cancelled by an administrator at any time with a
//!   reason and no transaction. Refunds are of the full amount.
//! - Release needs the escrow FUNDED and release-approved; the release
//!   transaction must pay out at least the expert's share from the escrow
//!   address; a refund at least the full amount.
//! - Events: no product realtime stream carries escrows yet; nothing is
//!   published, and clients poll `GET /api/escrows/{id}` (§5.7: 30 s).

use std::time::Duration;

use baton_domain::marketplace::{
    Blockchain, Currency, EscrowStatus,
    escrow::{EscrowEvent, EscrowTxs, Transition, apply},
    money::{self, PaymentTarget},
};
use baton_store::{
    entities::{bid, escrow, opportunity, product},
    new_id, now,
    sea_orm::{
        ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter,
        QueryOrder, Set,
    },
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::chain::{ChainError, Expected, Verification};
use crate::{Actor, App, AppConfig, AppError, AppResult, txn::in_product_txn};

/// Refunds are allowed this long after a rejection.
pub const REFUND_WINDOW_DAYS: i64 = 30;

/// Creates the PENDING escrow of a bid being accepted, inside the
/// acceptance's transaction: the bid's amount in chain base units, the
/// configured platform fee, the chain of the currency and its escrow address.
pub async fn create_for_accepted_bid<C: ConnectionTrait>(
    txn: &C,
    config: &AppConfig,
    opportunity: &opportunity::Model,
    bid: &bid::Model,
    client_id: &str,
) -> AppResult<escrow::Model> {
    let currency = Currency::decode(&bid.currency, "bids.currency").map_err(AppError::from)?;
    let chain =
        currency.chain().ok_or_else(|| AppError::Conflict(format!("{currency} cannot be escrowed on a chain")))?;
    let amount =
        money::minor_to_base_units(bid.amount, currency).map_err(|e| AppError::Conflict(format!("bid amount: {e}")))?;
    let fees = &config.chains;
    let flat = flat_fee(fees.fee_flat_minor, currency);
    money::split_fee(amount, fees.fee_bps, flat).map_err(|e| AppError::Conflict(format!("bid amount: {e}")))?;
    let at = now();
    let row = escrow::ActiveModel {
        id: Set(new_id()),
        product_id: Set(opportunity.product_id.clone()),
        opportunity_id: Set(Some(opportunity.id.clone())),
        client_id: Set(client_id.to_string()),
        expert_id: Set(bid.expert_id.clone()),
        amount: Set(money::format_base_units(amount)),
        currency: Set(currency.as_db().to_string()),
        blockchain: Set(chain.as_db().to_string()),
        platform_fee_bps: Set(i32::try_from(fees.fee_bps).unwrap_or(i32::MAX)),
        platform_fee_flat: Set(money::format_base_units(flat)),
        status: Set(EscrowStatus::Pending.as_db().to_string()),
        contract_address: Set(fees.settings(chain).escrow_address.clone()),
        transaction_hash: Set(None),
        release_transaction_hash: Set(None),
        refund_transaction_hash: Set(None),
        funded_at: Set(None),
        released_at: Set(None),
        refunded_at: Set(None),
        created_at: Set(at),
        updated_at: Set(at),
        release_approved_at: Set(None),
        rejected_at: Set(None),
        refund_reason: Set(None),
        checked_at: Set(None),
        check_result: Set(None),
        check_confirmations: Set(None),
        check_attempts: Set(0),
        next_check_at: Set(None),
    };
    Ok(row.insert(txn).await?)
}

/// The flat fee in base units of `currency`: the configured minor units
/// for stablecoins, nothing for MATIC, ETH and SOL.
/// The fee terms an escrow in `currency` gets under `config` today: basis
/// points and the flat part in base units (bid previews show the same).
pub fn fee_terms(config: &AppConfig, currency: Currency) -> (u32, u128) {
    (config.chains.fee_bps, flat_fee(config.chains.fee_flat_minor, currency))
}

fn flat_fee(flat_minor: i64, currency: Currency) -> u128 {
    match currency {
        Currency::Usdc | Currency::Usdt | Currency::UsdcSpl if flat_minor > 0 => {
            money::minor_to_base_units(flat_minor, currency).unwrap_or(0)
        }
        _ => 0,
    }
}

/// Marks the escrows of these opportunities as approved for release (the
/// work was accepted), inside the caller's transaction. Escrows still
/// pending stay pending; the release itself is recorded when its on-chain
/// transaction is verified. Idempotent: the first approval time is kept.
pub async fn approve_release_for_opportunities<C: ConnectionTrait>(
    txn: &C,
    opportunity_ids: &[String],
) -> AppResult<()> {
    mark_opportunities(txn, opportunity_ids, escrow::Column::ReleaseApprovedAt).await
}

/// Marks the escrows of these opportunities as rejected (deliverable
/// rejected, QA gate FAIL), inside the caller's transaction: an
/// administrator may refund them for [`REFUND_WINDOW_DAYS`] days from now.
/// Idempotent: the first rejection time is kept.
pub async fn mark_rejected_for_opportunities<C: ConnectionTrait>(txn: &C, opportunity_ids: &[String]) -> AppResult<()> {
    mark_opportunities(txn, opportunity_ids, escrow::Column::RejectedAt).await
}

async fn mark_opportunities<C: ConnectionTrait>(txn: &C, ids: &[String], col: escrow::Column) -> AppResult<()> {
    if ids.is_empty() {
        return Ok(());
    }
    let at = now();
    escrow::Entity::update_many()
        .col_expr(col, at.into())
        .col_expr(escrow::Column::UpdatedAt, at.into())
        .filter(escrow::Column::OpportunityId.is_in(ids.to_vec()))
        .filter(col.is_null())
        .exec(txn)
        .await?;
    Ok(())
}

/// A transaction to record on an escrow (funding or release).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TxInput {
    /// Polygon: `0x` + 64 hex digits; Solana: the base58 signature.
    #[schema(min_length = 64, max_length = 88)]
    pub tx_hash: String,
}

/// An administrator's refund.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefundInput {
    /// The refund transaction; omitted to cancel a never-funded escrow.
    #[serde(default)]
    #[schema(min_length = 64, max_length = 88)]
    pub tx_hash: Option<String>,
    /// Why (shown to both parties).
    #[schema(min_length = 1, max_length = 2000)]
    pub reason: String,
}

/// The last on-chain check of a transaction awaiting confirmation.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq, Eq)]
pub struct EscrowCheck {
    /// When it ran.
    pub checked_at: DateTime<Utc>,
    /// What it found.
    pub result: String,
    /// Confirmations seen.
    pub confirmations: Option<i32>,
    /// When the next background check runs; `null` when none is due.
    pub next_check_at: Option<DateTime<Utc>>,
}

/// An escrow as the API shows it.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq, Eq)]
pub struct EscrowView {
    /// Id.
    pub id: String,
    /// The project (product).
    pub project_id: String,
    /// The opportunity paid for.
    pub opportunity_id: Option<String>,
    /// Who pays.
    pub client_id: String,
    /// Who is paid.
    pub expert_id: String,
    /// `pending`, `funded`, `released`, `refunded`.
    pub status: EscrowStatus,
    /// Currency.
    pub currency: Currency,
    /// Chain.
    pub blockchain: Blockchain,
    /// Amount in base units (decimal string).
    pub amount: String,
    /// Amount in display units ("12.50").
    pub amount_display: String,
    /// Platform fee rate in basis points.
    pub platform_fee_bps: i32,
    /// Platform fee in base units (flat + bps).
    pub platform_fee: String,
    /// What the expert receives, in base units.
    pub expert_amount: String,
    /// The address the client pays.
    pub escrow_address: String,
    /// Funding transaction (possibly still unconfirmed while pending).
    pub transaction_hash: Option<String>,
    /// Release transaction.
    pub release_transaction_hash: Option<String>,
    /// Refund transaction.
    pub refund_transaction_hash: Option<String>,
    /// When funding was confirmed.
    pub funded_at: Option<DateTime<Utc>>,
    /// When the release was confirmed.
    pub released_at: Option<DateTime<Utc>>,
    /// When the refund was recorded.
    pub refunded_at: Option<DateTime<Utc>>,
    /// When the work was accepted (release allowed).
    pub release_approved_at: Option<DateTime<Utc>>,
    /// When the work was rejected (refund window opens).
    pub rejected_at: Option<DateTime<Utc>>,
    /// The refund's reason.
    pub refund_reason: Option<String>,
    /// The last on-chain check, if any.
    pub last_check: Option<EscrowCheck>,
    /// Created.
    pub created_at: DateTime<Utc>,
}

/// How the client pays an escrow.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq, Eq)]
pub struct PaymentInstructions {
    /// The escrow.
    pub escrow_id: String,
    /// Chain.
    pub blockchain: Blockchain,
    /// Network (`mainnet`, `amoy`, `devnet`).
    pub network: String,
    /// Currency.
    pub currency: Currency,
    /// Token contract or mint; `null` for the native coin.
    pub token: Option<String>,
    /// Where to pay.
    pub address: String,
    /// Amount in base units.
    pub amount: String,
    /// Amount in display units.
    pub amount_display: String,
    /// EIP-681 or Solana Pay URI.
    pub uri: String,
    /// The URI as a QR code (SVG document).
    pub qr_svg: String,
    /// Human instructions.
    pub instructions: String,
}

fn decode_err(e: baton_domain::db_enum::UnknownDbValue) -> AppError {
    AppError::from(e)
}

/// Fee split of a stored escrow.
fn split_of(e: &escrow::Model) -> AppResult<money::FeeSplit> {
    let amount =
        money::parse_base_units(&e.amount).map_err(|err| AppError::internal(format!("escrows.amount: {err}")))?;
    let flat = money::parse_base_units(&e.platform_fee_flat)
        .map_err(|err| AppError::internal(format!("escrows.platform_fee_flat: {err}")))?;
    let bps = u32::try_from(e.platform_fee_bps).map_err(|_| AppError::internal("escrows.platform_fee_bps"))?;
    money::split_fee(amount, bps, flat).map_err(|err| AppError::internal(format!("escrow fee: {err}")))
}

/// The API view of a row.
pub fn view(e: &escrow::Model) -> AppResult<EscrowView> {
    let currency = Currency::decode(&e.currency, "escrows.currency").map_err(decode_err)?;
    let split = split_of(e)?;
    let decimals = currency.base_unit_decimals().unwrap_or(0);
    Ok(EscrowView {
        id: e.id.clone(),
        project_id: e.product_id.clone(),
        opportunity_id: e.opportunity_id.clone(),
        client_id: e.client_id.clone(),
        expert_id: e.expert_id.clone(),
        status: EscrowStatus::decode(&e.status, "escrows.status").map_err(decode_err)?,
        currency,
        blockchain: Blockchain::decode(&e.blockchain, "escrows.blockchain").map_err(decode_err)?,
        amount: e.amount.clone(),
        amount_display: money::format_display(split.fee + split.expert, decimals),
        platform_fee_bps: e.platform_fee_bps,
        platform_fee: split.fee.to_string(),
        expert_amount: split.expert.to_string(),
        escrow_address: e.contract_address.clone(),
        transaction_hash: e.transaction_hash.clone(),
        release_transaction_hash: e.release_transaction_hash.clone(),
        refund_transaction_hash: e.refund_transaction_hash.clone(),
        funded_at: e.funded_at,
        released_at: e.released_at,
        refunded_at: e.refunded_at,
        release_approved_at: e.release_approved_at,
        rejected_at: e.rejected_at,
        refund_reason: e.refund_reason.clone(),
        last_check: e.checked_at.map(|checked_at| EscrowCheck {
            checked_at,
            result: e.check_result.clone().unwrap_or_default(),
            confirmations: e.check_confirmations,
            next_check_at: e.next_check_at,
        }),
        created_at: e.created_at,
    })
}

/// Which transaction of an escrow awaits confirmation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TxKind {
    Funding,
    Release,
    Refund,
}

impl TxKind {
    fn event(self, tx: &str) -> EscrowEvent<'_> {
        match self {
            TxKind::Funding => EscrowEvent::Fund(tx),
            TxKind::Release => EscrowEvent::Release(tx),
            TxKind::Refund => EscrowEvent::Refund(Some(tx)),
        }
    }

    /// The transaction of this kind stored on `e`, if it still awaits
    /// confirmation.
    fn awaiting(e: &escrow::Model) -> Option<(TxKind, String)> {
        match EscrowStatus::from_db(&e.status)? {
            EscrowStatus::Pending => e.transaction_hash.clone().map(|t| (TxKind::Funding, t)),
            EscrowStatus::Funded => e
                .release_transaction_hash
                .clone()
                .map(|t| (TxKind::Release, t))
                .or_else(|| e.refund_transaction_hash.clone().map(|t| (TxKind::Refund, t))),
            _ => None,
        }
    }
}

fn txs(e: &escrow::Model) -> EscrowTxs<'_> {
    EscrowTxs {
        funding: e.transaction_hash.as_deref(),
        release: e.release_transaction_hash.as_deref(),
        refund: e.refund_transaction_hash.as_deref(),
    }
}

/// The payment URI as an SVG QR code; empty if the URI is too long for a
/// QR code (it never is for these URIs).
fn qr_svg(uri: &str) -> String {
    use qrcode::{EcLevel, QrCode, render::svg};
    QrCode::with_error_correction_level(uri.as_bytes(), EcLevel::M)
        .map(|code| code.render::<svg::Color<'_>>().min_dimensions(240, 240).build())
        .unwrap_or_default()
}

/// Backoff of the background re-check after `attempts` unconfirmed checks.
fn backoff(attempts: i32) -> Duration {
    let secs = 30u64.saturating_mul(1u64 << attempts.clamp(0, 7));
    Duration::from_secs(secs.min(3600))
}

impl App {
    /// Loads an escrow the actor may read (client, expert, admin); 404 otherwise.
    async fn readable_escrow(&self, actor: &Actor, id: &str) -> AppResult<escrow::Model> {
        let e = escrow::Entity::find_by_id(id.to_string()).one(&self.db).await?.ok_or(AppError::NotFound("escrow"))?;
        let party = !actor.user_id.is_empty() && (e.client_id == actor.user_id || e.expert_id == actor.user_id);
        let scoped_out = actor.token_scope().is_some_and(|s| !s.iter().any(|p| p == &e.product_id));
        if scoped_out || !(party || actor.is_admin()) {
            return Err(AppError::NotFound("escrow"));
        }
        Ok(e)
    }

    /// One escrow (client, expert or admin).
    pub async fn get_escrow(&self, actor: &Actor, id: &str) -> AppResult<EscrowView> {
        view(&self.readable_escrow(actor, id).await?)
    }

    /// A project's escrows: all of them for its client (owner) and
    /// administrators, an expert's own for an expert; 404 for anyone else.
    pub async fn list_project_escrows(&self, actor: &Actor, project_id: &str) -> AppResult<Vec<EscrowView>> {
        let p = product::Entity::find_by_id(project_id.to_string())
            .one(&self.db)
            .await?
            .ok_or(AppError::NotFound("project"))?;
        if actor.token_scope().is_some_and(|s| !s.iter().any(|x| x == &p.id)) {
            return Err(AppError::NotFound("project"));
        }
        let mut q = escrow::Entity::find().filter(escrow::Column::ProductId.eq(&p.id));
        let sees_all = actor.is_admin() || p.user_id == actor.user_id;
        if !sees_all {
            q = q.filter(
                Condition::any()
                    .add(escrow::Column::ExpertId.eq(&actor.user_id))
                    .add(escrow::Column::ClientId.eq(&actor.user_id)),
            );
        }
        let rows = q.order_by_asc(escrow::Column::CreatedAt).order_by_asc(escrow::Column::Id).all(&self.db).await?;
        if !sees_all && rows.is_empty() {
            return Err(AppError::NotFound("project"));
        }
        rows.iter().map(view).collect()
    }

    /// How the client pays the escrow: address, amount, payment URI, QR.
    pub async fn escrow_payment_instructions(&self, actor: &Actor, id: &str) -> AppResult<PaymentInstructions> {
        let e = self.readable_escrow(actor, id).await?;
        let v = view(&e)?;
        let settings = self.config.chains.settings(v.blockchain);
        let token = settings.token_for(v.currency).map_err(AppError::Unavailable)?.map(str::to_string);
        if e.contract_address.is_empty() {
            return Err(AppError::Unavailable(format!("no escrow address is configured on {}", v.blockchain)));
        }
        let amount = money::parse_base_units(&e.amount).map_err(|err| AppError::internal(err.to_string()))?;
        let decimals = v.currency.base_unit_decimals().unwrap_or(0);
        let target = match v.blockchain {
            Blockchain::Polygon => PaymentTarget::Evm { chain_id: settings.chain_id, token: token.as_deref() },
            Blockchain::Solana => PaymentTarget::Solana { mint: token.as_deref() },
        };
        let uri = money::payment_uri(&target, &e.contract_address, amount, decimals);
        Ok(PaymentInstructions {
            escrow_id: e.id.clone(),
            blockchain: v.blockchain,
            network: settings.network.clone(),
            currency: v.currency,
            instructions: format!(
                "Send exactly {} {} on {} {} to {}, then submit the transaction hash to fund the escrow.",
                v.amount_display, v.currency, v.blockchain, settings.network, e.contract_address
            ),
            qr_svg: qr_svg(&uri),
            token,
            address: e.contract_address,
            amount: v.amount,
            amount_display: v.amount_display,
            uri,
        })
    }

    /// Records and verifies the client's funding transaction (client only;
    /// see the module doc for the outcomes).
    pub async fn fund_escrow(&self, actor: &Actor, id: &str, tx_hash: &str) -> AppResult<EscrowView> {
        let e = self.readable_escrow(actor, id).await?;
        if e.client_id != actor.user_id {
            return Err(AppError::NotFound("escrow"));
        }
        actor.require_write()?;
        self.submit_tx(e, TxKind::Funding, tx_hash).await
    }

    /// Records and verifies the release transaction (administrators; the
    /// escrow must be FUNDED and its work accepted).
    pub async fn record_escrow_release(&self, actor: &Actor, id: &str, tx_hash: &str) -> AppResult<EscrowView> {
        let e = self.readable_escrow(actor, id).await?;
        actor.require_write()?;
        actor.require_admin()?;
        if e.status == EscrowStatus::Funded.as_db() && e.release_approved_at.is_none() {
            return Err(AppError::Conflict("the escrow is funded but its work is not approved for release yet".into()));
        }
        self.submit_tx(e, TxKind::Release, tx_hash).await
    }

    /// Refunds an escrow (administrators, with a reason): a PENDING escrow
    /// is cancelled without a transaction; a FUNDED one needs the refund
    /// transaction and a rejection within [`REFUND_WINDOW_DAYS`] days.
    pub async fn refund_escrow(
        &self,
        actor: &Actor,
        id: &str,
        tx_hash: Option<&str>,
        reason: &str,
    ) -> AppResult<EscrowView> {
        let e = self.readable_escrow(actor, id).await?;
        actor.require_write()?;
        actor.require_admin()?;
        let reason = reason.trim();
        if reason.is_empty() || reason.chars().count() > 2000 {
            return Err(AppError::field("reason", "a reason of 1 to 2000 characters is required"));
        }
        let tx_hash = tx_hash.map(str::trim).filter(|t| !t.is_empty());
        let status = EscrowStatus::decode(&e.status, "escrows.status").map_err(decode_err)?;
        if status == EscrowStatus::Funded {
            let Some(rejected) = e.rejected_at else {
                return Err(AppError::Conflict("the escrow is funded and its work was not rejected".into()));
            };
            if now() - rejected > chrono::Duration::days(REFUND_WINDOW_DAYS) {
                return Err(AppError::Conflict(format!(
                    "the refund window closed {REFUND_WINDOW_DAYS} days after the rejection of {}",
                    rejected.format("%Y-%m-%d")
                )));
            }
            if e.release_approved_at.is_some() {
                return Err(AppError::Conflict("the escrow's work was approved for release".into()));
            }
            if tx_hash.is_none() {
                return Err(AppError::field("tx_hash", "a funded escrow is refunded by an on-chain transaction"));
            }
        }
        match tx_hash {
            None => {
                match apply(status, txs(&e), EscrowEvent::Refund(None))
                    .map_err(|c| AppError::Conflict(c.to_string()))?
                {
                    Transition::Unchanged => view(&e),
                    Transition::To(next) => {
                        let reason = reason.to_string();
                        let id = e.id.clone();
                        let updated = in_product_txn(&self.db, &e.product_id, move |txn| {
                            Box::pin(async move {
                                let cur = escrow::Entity::find_by_id(id)
                                    .one(txn)
                                    .await?
                                    .ok_or(AppError::NotFound("escrow"))?;
                                if cur.status != EscrowStatus::Pending.as_db() {
                                    return Err(AppError::Conflict(format!(
                                        "the escrow is {}",
                                        cur.status.to_lowercase()
                                    )));
                                }
                                let at = now();
                                let mut m = cur.into_active_model();
                                m.status = Set(next.as_db().to_string());
                                m.refunded_at = Set(Some(at));
                                m.refund_reason = Set(Some(reason));
                                m.next_check_at = Set(None);
                                m.updated_at = Set(at);
                                Ok(m.update(txn).await?)
                            })
                        })
                        .await?;
                        view(&updated)
                    }
                }
            }
            Some(tx) => {
                let reason = reason.to_string();
                let mut e = e;
                e.refund_reason = Some(reason);
                self.submit_tx(e, TxKind::Refund, tx).await
            }
        }
    }

    /// Validates, verifies and records a transaction of `kind`.
    async fn submit_tx(&self, e: escrow::Model, kind: TxKind, tx_hash: &str) -> AppResult<EscrowView> {
        let chain = Blockchain::decode(&e.blockchain, "escrows.blockchain").map_err(decode_err)?;
        let tx = tx_hash.trim();
        if !super::chain::valid_tx_hash(chain, tx) {
            return Err(AppError::field(
                "tx_hash",
                match chain {
                    Blockchain::Polygon => "a Polygon transaction hash is 0x followed by 64 hex digits",
                    Blockchain::Solana => "a Solana transaction signature is 64 to 88 base58 characters",
                },
            ));
        }
        let tx = if chain == Blockchain::Polygon { tx.to_ascii_lowercase() } else { tx.to_string() };
        let status = EscrowStatus::decode(&e.status, "escrows.status").map_err(decode_err)?;
        match apply(status, txs(&e), kind.event(&tx)).map_err(|c| AppError::Conflict(c.to_string()))? {
            Transition::Unchanged => return view(&e),
            Transition::To(_) => {}
        }
        self.ensure_hash_unused(&tx, &e.id).await?;
        let verifier = self
            .config
            .chains
            .verifier(chain)
            .ok_or_else(|| AppError::Unavailable(format!("chain verification not configured for {chain}")))?;
        let expected = self.expectation(&e, kind)?;
        let outcome = match kind {
            TxKind::Funding => verifier.verify_funding(&tx, &expected).await,
            TxKind::Release | TxKind::Refund => verifier.verify_payout(&tx, &expected).await,
        };
        if let Ok(Verification::Rejected { reason }) = &outcome {
            return Err(AppError::field("tx_hash", format!("the transaction does not fund this escrow: {reason}")));
        }
        let updated = self.record_check(&e, kind, &tx, outcome).await?;
        view(&updated)
    }

    async fn ensure_hash_unused(&self, tx: &str, escrow_id: &str) -> AppResult<()> {
        let used = escrow::Entity::find()
            .filter(escrow::Column::Id.ne(escrow_id))
            .filter(
                Condition::any()
                    .add(escrow::Column::TransactionHash.eq(tx))
                    .add(escrow::Column::ReleaseTransactionHash.eq(tx))
                    .add(escrow::Column::RefundTransactionHash.eq(tx)),
            )
            .one(&self.db)
            .await?;
        if used.is_some() {
            return Err(AppError::Conflict("this transaction is already recorded for another escrow".into()));
        }
        Ok(())
    }

    /// What the transaction of `kind` must show for `e`.
    fn expectation(&self, e: &escrow::Model, kind: TxKind) -> AppResult<Expected> {
        let currency = Currency::decode(&e.currency, "escrows.currency").map_err(decode_err)?;
        let chain = Blockchain::decode(&e.blockchain, "escrows.blockchain").map_err(decode_err)?;
        let settings = self.config.chains.settings(chain);
        let token = settings.token_for(currency).map_err(AppError::Unavailable)?.map(str::to_string);
        if e.contract_address.is_empty() {
            return Err(AppError::Unavailable(format!("no escrow address is configured on {chain}")));
        }
        let split = split_of(e)?;
        let address = Some(e.contract_address.clone());
        Ok(match kind {
            TxKind::Funding => Expected { token, to: address, from: None, min_amount: split.fee + split.expert },
            TxKind::Release => Expected { token, to: None, from: address, min_amount: split.expert },
            TxKind::Refund => Expected { token, to: None, from: address, min_amount: split.fee + split.expert },
        })
    }

    /// Writes the outcome of a check of `tx` in one transaction, after
    /// re-reading the escrow (a concurrent check may have finished first).
    async fn record_check(
        &self,
        seen: &escrow::Model,
        kind: TxKind,
        tx: &str,
        outcome: Result<Verification, ChainError>,
    ) -> AppResult<escrow::Model> {
        let id = seen.id.clone();
        let tx = tx.to_string();
        let refund_reason = seen.refund_reason.clone();
        in_product_txn(&self.db, &seen.product_id, move |txn| {
            Box::pin(async move {
                let cur = escrow::Entity::find_by_id(id).one(txn).await?.ok_or(AppError::NotFound("escrow"))?;
                let status = EscrowStatus::decode(&cur.status, "escrows.status").map_err(decode_err)?;
                let next =
                    match apply(status, txs(&cur), kind.event(&tx)).map_err(|c| AppError::Conflict(c.to_string()))? {
                        Transition::Unchanged => return Ok(cur),
                        Transition::To(s) => s,
                    };
                let at = now();
                let attempts = cur.check_attempts;
                let mut m = cur.into_active_model();
                match kind {
                    TxKind::Funding => m.transaction_hash = Set(Some(tx.clone())),
                    TxKind::Release => m.release_transaction_hash = Set(Some(tx.clone())),
                    TxKind::Refund => {
                        m.refund_transaction_hash = Set(Some(tx.clone()));
                        m.refund_reason = Set(refund_reason);
                    }
                }
                m.checked_at = Set(Some(at));
                m.updated_at = Set(at);
                match outcome {
                    Ok(Verification::Confirmed { confirmations, .. }) => {
                        m.status = Set(next.as_db().to_string());
                        match kind {
                            TxKind::Funding => m.funded_at = Set(Some(at)),
                            TxKind::Release => m.released_at = Set(Some(at)),
                            TxKind::Refund => m.refunded_at = Set(Some(at)),
                        }
                        m.check_result = Set(Some(format!("confirmed ({confirmations} confirmations)")));
                        m.check_confirmations = Set(Some(i32::try_from(confirmations).unwrap_or(i32::MAX)));
                        m.check_attempts = Set(0);
                        m.next_check_at = Set(None);
                    }
                    Ok(Verification::Pending { confirmations, needed }) => {
                        m.check_result = Set(Some(format!("waiting for confirmations ({confirmations}/{needed})")));
                        m.check_confirmations = Set(Some(i32::try_from(confirmations).unwrap_or(i32::MAX)));
                        m.check_attempts = Set(attempts.saturating_add(1));
                        m.next_check_at = Set(Some(at + backoff(attempts)));
                    }
                    Ok(Verification::Rejected { reason }) => {
                        // Only reached from a re-check (a fresh submission is
                        // refused before this): drop the hash, stop checking.
                        match kind {
                            TxKind::Funding => m.transaction_hash = Set(None),
                            TxKind::Release => m.release_transaction_hash = Set(None),
                            TxKind::Refund => m.refund_transaction_hash = Set(None),
                        }
                        m.check_result = Set(Some(format!("rejected: {reason}").chars().take(500).collect()));
                        m.check_attempts = Set(0);
                        m.next_check_at = Set(None);
                    }
                    Err(err) => {
                        m.check_result = Set(Some(err.to_string().chars().take(500).collect()));
                        m.check_attempts = Set(attempts.saturating_add(1));
                        m.next_check_at = Set(Some(at + backoff(attempts)));
                    }
                }
                Ok(m.update(txn).await?)
            })
        })
        .await
    }

    /// Checks again every escrow transaction awaiting confirmation whose
    /// next check is due; called periodically by `serve`. Idempotent.
    /// Returns how many escrows changed status.
    pub async fn recheck_pending_escrows(&self) -> AppResult<usize> {
        let due = escrow::Entity::find()
            .filter(escrow::Column::NextCheckAt.lte(now()))
            .order_by_asc(escrow::Column::NextCheckAt)
            .all(&self.db)
            .await?;
        let mut changed = 0;
        for e in due {
            let Some((kind, tx)) = TxKind::awaiting(&e) else { continue };
            let Ok(chain) = Blockchain::decode(&e.blockchain, "escrows.blockchain") else { continue };
            let Some(verifier) = self.config.chains.verifier(chain) else { continue };
            let Ok(expected) = self.expectation(&e, kind) else { continue };
            let outcome = match kind {
                TxKind::Funding => verifier.verify_funding(&tx, &expected).await,
                TxKind::Release | TxKind::Refund => verifier.verify_payout(&tx, &expected).await,
            };
            match self.record_check(&e, kind, &tx, outcome).await {
                Ok(updated) if updated.status != e.status => changed += 1,
                Ok(_) => {}
                Err(err) => tracing::warn!(escrow = %e.id, error = %err, "escrow re-check failed"),
            }
        }
        Ok(changed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recheck_backoff_doubles_up_to_an_hour() {
        assert_eq!(backoff(0), Duration::from_secs(30));
        assert_eq!(backoff(1), Duration::from_secs(60));
        assert_eq!(backoff(6), Duration::from_secs(1920));
        assert_eq!(backoff(7), Duration::from_secs(3600));
        assert_eq!(backoff(1000), Duration::from_secs(3600));
    }

    #[test]
    fn flat_fee_applies_to_stablecoins_only() {
        assert_eq!(flat_fee(10_000, Currency::Usdc), 100_000_000);
        assert_eq!(flat_fee(10_000, Currency::UsdcSpl), 100_000_000);
        assert_eq!(flat_fee(10_000, Currency::Sol), 0);
        assert_eq!(flat_fee(0, Currency::Usdt), 0);
    }
}
