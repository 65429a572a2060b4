//! Bids: submit, withdraw, reject, accept (one transaction).
//!
//! Decisions where the reference is silent:
//! - Bids are immutable (§4.2): an expert changes a bid by withdrawing it
//!   and bidding again. Because one row per (opportunity, expert) is the
//!   unique index, bidding again after a withdrawal reuses that row (new
//!   amount, proposal and time, status pending); a pending, accepted or
//!   rejected bid makes a new bid a 409.
//! - Checks run in this order: visibility (404), the client bidding on
//!   their own project (403), the expert role (403), the opportunity's and
//!   project's state (409), the input (422), an existing bid (409).
//! - Withdraw: the bid's expert only (the client gets 403, everyone else
//!   404). Reject and accept: the project's client only (the bid's expert
//!   gets 403, everyone else 404).
//! - Accept is race-safe: the product row is locked first (Postgres) or the
//!   writer is single (SQLite), and the opportunity moves OPEN → CLOSED with
//!   a conditional update, so of two accepts exactly one wins; the other
//!   gets 409 naming the opportunity's status.
//! - The fee preview is [`bidding::fee_preview`] (one function), shown on
//!   every bid.

use baton_domain::{
    ValidationErrors,
    marketplace::{
        BidStatus, Currency, OpportunityStatus, Stage,
        bidding::{self, BidInput, FeePreview},
    },
};
use baton_store::{
    entities::{bid, opportunity, product, story, user},
    error::ResultExt,
    new_id, now,
    sea_orm::{
        ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, Set,
        sea_query::Expr,
    },
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{
    escrows,
    opportunities::{Seat, visible_opportunity},
    projects::ensure_active,
};
use crate::{
    Actor, App, AppError, AppResult,
    list::{Page, PageParams},
    txn::in_product_txn,
};

/// Event published after a bid changed.
pub const BID_CHANGED: &str = "bid_changed";

/// A bid as the API shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct BidView {
    /// Id.
    pub id: String,
    /// The opportunity.
    pub opportunity_id: String,
    /// The expert's user id.
    pub expert_id: String,
    /// The expert's username.
    pub expert: String,
    /// Minor units.
    pub amount: i64,
    /// Currency.
    pub currency: Currency,
    /// The proposal.
    pub proposal: String,
    /// Estimated hours.
    pub estimated_hours: Option<i32>,
    /// `pending`, `accepted`, `rejected` or `withdrawn`.
    pub status: BidStatus,
    /// What the escrow would hold, the platform fee and the expert's share.
    pub fee_preview: Option<FeePreview>,
    /// Created (or re-submitted).
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

/// Input for a bid.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewBid {
    /// Minor units, 1 to 1.5 × the budget maximum.
    #[schema(minimum = 1)]
    pub amount: i64,
    /// The opportunity's currency.
    pub currency: Currency,
    /// At least 100 characters.
    #[schema(min_length = 100, max_length = 10000)]
    pub proposal: String,
    /// 1–2000 hours.
    #[serde(default)]
    #[schema(minimum = 1, maximum = 2000)]
    pub estimated_hours: Option<i32>,
}

/// Filter of the caller's bids.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct BidFilter {
    /// Only bids in this status.
    pub status: Option<BidStatus>,
    /// Page number, from 1.
    #[param(minimum = 1, maximum = 1_000_000)]
    pub page: Option<u64>,
    /// Items per page, 1–200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u64>,
}

/// The fee preview of a bid of `amount` minor units in `currency` under
/// today's escrow terms: what every bid shows and what the bid form
/// previews before submitting ([`App::bid_fee_preview`]).
pub fn fee_preview_of(config: &crate::AppConfig, amount: i64, currency: Currency) -> Option<FeePreview> {
    let (bps, flat) = super::escrows::fee_terms(config, currency);
    bidding::fee_preview(amount, currency, bps, flat)
}

/// Builds the view of a bid.
pub async fn bid_view<C: ConnectionTrait>(db: &C, config: &crate::AppConfig, b: bid::Model) -> AppResult<BidView> {
    let expert = user::Entity::find_by_id(b.expert_id.clone()).one(db).await?.map(|u| u.username).unwrap_or_default();
    let currency = Currency::decode(&b.currency, "bids.currency")?;
    Ok(BidView {
        fee_preview: fee_preview_of(config, b.amount, currency),
        status: BidStatus::decode(&b.status, "bids.status")?,
        currency,
        expert,
        id: b.id,
        opportunity_id: b.opportunity_id,
        expert_id: b.expert_id,
        amount: b.amount,
        proposal: b.proposal,
        estimated_hours: b.estimated_hours,
        created_at: b.created_at,
        updated_at: b.updated_at,
    })
}

const BIDS_UNIQUE: &str = "bids_opportunity_id_expert_id_key";

/// What a bid decision does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Decision {
    Withdraw,
    Reject,
    Accept,
}

impl App {
    async fn publish_bid_event(&self, product_id: &str, bid_id: &str, action: &str) {
        let event = baton_store::events::Event::new(BID_CHANGED)
            .for_product(product_id)
            .with_data(serde_json::json!({ "bid_id": bid_id, "action": action }));
        if let Err(e) = self.bus.publish(&event).await {
            tracing::warn!(error = %e, kind = BID_CHANGED, "could not publish event");
        }
    }

    /// The fee preview a bid of `amount` minor units in `currency` would
    /// get (the same computation as [`BidView::fee_preview`]), for the bid
    /// form before it is submitted. `None` when it cannot be escrowed (not
    /// positive, fiat, or a fee that would take it all). Reads nothing.
    pub fn bid_fee_preview(&self, amount: i64, currency: Currency) -> Option<FeePreview> {
        fee_preview_of(&self.config, amount, currency)
    }

    /// Submits a bid on an open opportunity (see the module doc for the checks).
    pub async fn submit_bid(&self, actor: &Actor, opportunity_id: &str, input: NewBid) -> AppResult<BidView> {
        actor.require_write()?;
        let (o, p, seat) = visible_opportunity(&self.db, actor, opportunity_id).await?;
        if seat == Seat::Client || p.user_id == actor.user_id {
            return Err(AppError::Forbidden(
                "you are this project's client; clients cannot bid on their own opportunities".into(),
            ));
        }
        let stage = Stage::decode(&o.stage, "opportunities.stage")?;
        let role = bidding::role_for_stage(stage);
        if !super::projects::roles::holds_role(&self.db, actor, role).await? {
            return Err(AppError::Forbidden(format!(
                "bidding on a {stage} opportunity needs the {role} role; add it to your roles (PUT /api/me/roles)"
            )));
        }
        let expert_id = actor.user_id.clone();
        let oid = o.id.clone();
        let pid = p.id.clone();
        let row = in_product_txn(&self.db, &p.id, move |txn| {
            Box::pin(async move {
                let p = product::Entity::find_by_id(pid).one(txn).await?.ok_or(AppError::NotFound("opportunity"))?;
                ensure_active(&p)?;
                let o =
                    opportunity::Entity::find_by_id(oid).one(txn).await?.ok_or(AppError::NotFound("opportunity"))?;
                let status = OpportunityStatus::decode(&o.status, "opportunities.status")?;
                if status != OpportunityStatus::Open {
                    return Err(AppError::Conflict(format!("the opportunity is {status}, not open")));
                }
                let currency = Currency::decode(&o.currency, "opportunities.currency")?;
                let mut errs = ValidationErrors::new();
                bidding::check_bid(
                    &mut errs,
                    BidInput {
                        amount: input.amount,
                        currency: input.currency,
                        proposal: &input.proposal,
                        estimated_hours: input.estimated_hours,
                    },
                    o.budget_max,
                    currency,
                );
                errs.into_result()?;
                let existing = bid::Entity::find()
                    .filter(bid::Column::OpportunityId.eq(&o.id))
                    .filter(bid::Column::ExpertId.eq(&expert_id))
                    .one(txn)
                    .await?;
                let at = now();
                match existing {
                    Some(b) if b.status == BidStatus::Withdrawn.as_db() => {
                        let mut am: bid::ActiveModel = b.into();
                        am.amount = Set(input.amount);
                        am.currency = Set(currency.as_db().into());
                        am.proposal = Set(input.proposal.trim().to_string());
                        am.estimated_hours = Set(input.estimated_hours);
                        am.status = Set(BidStatus::Pending.as_db().into());
                        am.created_at = Set(at);
                        am.updated_at = Set(at);
                        Ok(am.update(txn).await?)
                    }
                    Some(b) => {
                        let s = BidStatus::decode(&b.status, "bids.status")?;
                        Err(AppError::Conflict(format!(
                            "you already bid on this opportunity (your bid {} is {s})",
                            b.id
                        )))
                    }
                    None => Ok(bid::ActiveModel {
                        id: Set(new_id()),
                        opportunity_id: Set(o.id.clone()),
                        expert_id: Set(expert_id),
                        amount: Set(input.amount),
                        currency: Set(currency.as_db().into()),
                        proposal: Set(input.proposal.trim().to_string()),
                        estimated_hours: Set(input.estimated_hours),
                        status: Set(BidStatus::Pending.as_db().into()),
                        created_at: Set(at),
                        updated_at: Set(at),
                    }
                    .insert(txn)
                    .await
                    .on_unique(|i| {
                        (i == BIDS_UNIQUE).then(|| AppError::Conflict("you already bid on this opportunity".into()))
                    })?),
                }
            })
        })
        .await?;
        self.publish_bid_event(&o.product_id, &row.id, "submitted").await;
        bid_view(&self.db, &self.config, row).await
    }

    /// Withdraws the caller's pending bid.
    pub async fn withdraw_bid(&self, actor: &Actor, bid_id: &str) -> AppResult<BidView> {
        self.decide_bid(actor, bid_id, Decision::Withdraw).await
    }

    /// Rejects a pending bid (the project's client).
    pub async fn reject_bid(&self, actor: &Actor, bid_id: &str) -> AppResult<BidView> {
        self.decide_bid(actor, bid_id, Decision::Reject).await
    }

    /// Accepts a pending bid (the project's client), in one transaction:
    /// the bid accepted, the other pending bids rejected, the opportunity
    /// closed with `accepted_bid_id`, the escrow created (pending), and for
    /// developer and QA stages the story's assignee set.
    pub async fn accept_bid(&self, actor: &Actor, bid_id: &str) -> AppResult<BidView> {
        self.decide_bid(actor, bid_id, Decision::Accept).await
    }

    async fn decide_bid(&self, actor: &Actor, bid_id: &str, decision: Decision) -> AppResult<BidView> {
        actor.require_write()?;
        let b = bid::Entity::find_by_id(bid_id.to_string()).one(&self.db).await?.ok_or(AppError::NotFound("bid"))?;
        let own = b.expert_id == actor.user_id;
        let (o, p, seat) = match visible_opportunity(&self.db, actor, &b.opportunity_id).await {
            Ok(hit) => hit,
            Err(AppError::NotFound(_)) => return Err(AppError::NotFound("bid")),
            Err(e) => return Err(e),
        };
        let is_client = seat == Seat::Client;
        match decision {
            Decision::Withdraw if !own => {
                return Err(if is_client {
                    AppError::Forbidden("only the expert who made the bid may withdraw it".into())
                } else {
                    AppError::NotFound("bid")
                });
            }
            Decision::Reject | Decision::Accept if !is_client => {
                return Err(if own || seat == Seat::ProjectReader {
                    let verb = if decision == Decision::Accept { "accept" } else { "reject" };
                    AppError::Forbidden(format!("only the project's client may {verb} bids"))
                } else {
                    AppError::NotFound("bid")
                });
            }
            _ => {}
        }
        let config = self.config.clone();
        let bid_id = b.id.clone();
        let client_id = p.user_id.clone();
        let row = in_product_txn(&self.db, &p.id, move |txn| {
            Box::pin(async move {
                let b = bid::Entity::find_by_id(bid_id).one(txn).await?.ok_or(AppError::NotFound("bid"))?;
                let o = opportunity::Entity::find_by_id(o.id).one(txn).await?.ok_or(AppError::NotFound("bid"))?;
                let bs = BidStatus::decode(&b.status, "bids.status")?;
                let os = OpportunityStatus::decode(&o.status, "opportunities.status")?;
                if decision == Decision::Withdraw || decision == Decision::Reject {
                    if bs != BidStatus::Pending {
                        return Err(AppError::Conflict(format!("the bid is {bs}, not pending")));
                    }
                } else {
                    let p = product::Entity::find_by_id(o.product_id.clone())
                        .one(txn)
                        .await?
                        .ok_or(AppError::NotFound("bid"))?;
                    ensure_active(&p)?;
                    bidding::check_decidable(bs, os).map_err(|e| AppError::Conflict(e.to_string()))?;
                }
                let at = now();
                let new_status = match decision {
                    Decision::Withdraw => BidStatus::Withdrawn,
                    Decision::Reject => BidStatus::Rejected,
                    Decision::Accept => BidStatus::Accepted,
                };
                if decision == Decision::Accept {
                    // Conditional: of two accepts racing, only one finds the opportunity still open.
                    let res = opportunity::Entity::update_many()
                        .col_expr(opportunity::Column::Status, Expr::value(OpportunityStatus::Closed.as_db()))
                        .col_expr(opportunity::Column::AcceptedBidId, Expr::value(b.id.clone()))
                        .col_expr(opportunity::Column::UpdatedAt, Expr::value(at))
                        .filter(opportunity::Column::Id.eq(&o.id))
                        .filter(opportunity::Column::Status.eq(OpportunityStatus::Open.as_db()))
                        .exec(txn)
                        .await?;
                    if res.rows_affected != 1 {
                        return Err(AppError::Conflict("the opportunity is closed, not open".into()));
                    }
                    bid::Entity::update_many()
                        .col_expr(bid::Column::Status, Expr::value(BidStatus::Rejected.as_db()))
                        .col_expr(bid::Column::UpdatedAt, Expr::value(at))
                        .filter(bid::Column::OpportunityId.eq(&o.id))
                        .filter(bid::Column::Id.ne(&b.id))
                        .filter(bid::Column::Status.eq(BidStatus::Pending.as_db()))
                        .exec(txn)
                        .await?;
                }
                let res = bid::Entity::update_many()
                    .col_expr(bid::Column::Status, Expr::value(new_status.as_db()))
                    .col_expr(bid::Column::UpdatedAt, Expr::value(at))
                    .filter(bid::Column::Id.eq(&b.id))
                    .filter(bid::Column::Status.eq(BidStatus::Pending.as_db()))
                    .exec(txn)
                    .await?;
                if res.rows_affected != 1 {
                    return Err(AppError::Conflict(format!("the bid is {bs}, not pending")));
                }
                let b = bid::Entity::find_by_id(b.id).one(txn).await?.ok_or(AppError::NotFound("bid"))?;
                if decision == Decision::Accept {
                    escrows::create_for_accepted_bid(txn, &config, &o, &b, &client_id).await?;
                    let stage = Stage::decode(&o.stage, "opportunities.stage")?;
                    if let (Some(sid), Stage::Developer | Stage::Qa) = (&o.story_id, stage) {
                        let s = story::Entity::find_by_id(sid.clone()).one(txn).await?;
                        if let Some(s) = s {
                            let mut am: story::ActiveModel = s.into();
                            if stage == Stage::Developer {
                                am.assigned_dev_id = Set(Some(b.expert_id.clone()));
                            } else {
                                am.assigned_qa_id = Set(Some(b.expert_id.clone()));
                            }
                            am.updated_at = Set(at);
                            am.update(txn).await?;
                        }
                    }
                }
                Ok(b)
            })
        })
        .await?;
        let action = match decision {
            Decision::Withdraw => "withdrawn",
            Decision::Reject => "rejected",
            Decision::Accept => "accepted",
        };
        self.publish_bid_event(&p.id, &row.id, action).await;
        bid_view(&self.db, &self.config, row).await
    }

    /// The caller's own bids, newest first.
    pub async fn list_my_bids(&self, actor: &Actor, filter: BidFilter) -> AppResult<Page<BidView>> {
        let (page, limit) = PageParams { page: filter.page, limit: filter.limit }.resolve()?;
        let mut q = bid::Entity::find().filter(bid::Column::ExpertId.eq(&actor.user_id));
        if let Some(s) = filter.status {
            q = q.filter(bid::Column::Status.eq(s.as_db()));
        }
        let pager = q.order_by_desc(bid::Column::CreatedAt).order_by_desc(bid::Column::Id).paginate(&self.db, limit);
        let total = pager.num_items().await?;
        let rows = pager.fetch_page(page - 1).await?;
        let mut items = Vec::with_capacity(rows.len());
        for b in rows {
            items.push(bid_view(&self.db, &self.config, b).await?);
        }
        Ok(Page { items, page, limit, total })
    }

    /// The bids on an opportunity: all of them for the project's people
    /// (client, members, accepted experts, administrators), only their own
    /// for other experts. Newest first.
    pub async fn list_opportunity_bids(&self, actor: &Actor, opportunity_id: &str) -> AppResult<Vec<BidView>> {
        let (o, _, seat) = visible_opportunity(&self.db, actor, opportunity_id).await?;
        let mut q = bid::Entity::find().filter(bid::Column::OpportunityId.eq(&o.id));
        if seat == Seat::Outside {
            q = q.filter(bid::Column::ExpertId.eq(&actor.user_id));
        }
        let rows = q.order_by_desc(bid::Column::CreatedAt).order_by_desc(bid::Column::Id).all(&self.db).await?;
        let mut items = Vec::with_capacity(rows.len());
        for b in rows {
            items.push(bid_view(&self.db, &self.config, b).await?);
        }
        Ok(items)
    }
}
