//! Marketplace rows for tests, inserted directly (no service involved), so
//! a test can set up what the bids and projects services would have done
//! without depending on them: a project status, an opportunity, a bid, an
//! escrow, and the usual combination, an opportunity closed on an expert's accepted bid
//! (which is what makes an expert a party of the project).
//!
//! The builders return active models with defaults a test overrides with
//! struct update syntax, e.g.
//! `opportunity::ActiveModel { title: Set("PRD".into()), ..market::opportunity(&pid, "PM") }`.
//! People (users with tokens) are made through the accounts service and
//! live in each test crate's `common` module: this crate sits below the
//! service crate.

use baton_store::{
    Db,
    entities::{bid, escrow, opportunity, product},
    new_id, now,
};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, EntityTrait};

/// Sets `products.project_status` (`PLANNING`, `IN_DEVELOPMENT`, …) of
/// `product_id`, which makes a plain product a marketplace project.
pub async fn set_project_status(db: &Db, product_id: &str, status: &str) -> product::Model {
    let mut row: product::ActiveModel =
        product::Entity::find_by_id(product_id.to_string()).one(db).await.expect("read").expect("product").into();
    row.project_status = Set(Some(status.into()));
    row.update(db).await.expect("project status")
}

/// A CLOSED opportunity of `stage` (a DB value: `PM`, `DEVELOPER`, …) on
/// project `product_id`: "{stage} work", budget 100.00–200.00 USDC, no
/// story, no deadline, no accepted bid yet.
pub fn opportunity(product_id: &str, stage: &str) -> opportunity::ActiveModel {
    let t = now();
    opportunity::ActiveModel {
        id: Set(new_id()),
        product_id: Set(product_id.into()),
        story_id: Set(None),
        stage: Set(stage.into()),
        title: Set(format!("{stage} work")),
        description: Set("work".into()),
        budget_min: Set(10_000),
        budget_max: Set(20_000),
        currency: Set("USDC".into()),
        deadline: Set(None),
        status: Set("CLOSED".into()),
        accepted_bid_id: Set(None),
        created_at: Set(t),
        updated_at: Set(t),
    }
}

/// An ACCEPTED bid of `expert_id` on `opportunity_id`: 150.00 USDC, a
/// 100-character proposal, no estimate.
pub fn bid(opportunity_id: &str, expert_id: &str) -> bid::ActiveModel {
    let t = now();
    bid::ActiveModel {
        id: Set(new_id()),
        opportunity_id: Set(opportunity_id.into()),
        expert_id: Set(expert_id.into()),
        amount: Set(15_000),
        currency: Set("USDC".into()),
        proposal: Set("p".repeat(100)),
        estimated_hours: Set(None),
        status: Set("ACCEPTED".into()),
        created_at: Set(t),
        updated_at: Set(t),
    }
}

/// A PENDING escrow of 12.34 USDC (12 340 000 base units) on Polygon
/// between `client_id` and `expert_id` on project `product_id`: 5 % fee,
/// paid to `0x1111…1111`, no opportunity, nothing funded or checked yet.
pub fn escrow(product_id: &str, client_id: &str, expert_id: &str) -> escrow::ActiveModel {
    let t = now();
    escrow::ActiveModel {
        id: Set(new_id()),
        product_id: Set(product_id.into()),
        opportunity_id: Set(None),
        client_id: Set(client_id.into()),
        expert_id: Set(expert_id.into()),
        amount: Set("12340000".into()),
        currency: Set("USDC".into()),
        blockchain: Set("POLYGON".into()),
        platform_fee_bps: Set(500),
        platform_fee_flat: Set("0".into()),
        status: Set("PENDING".into()),
        contract_address: Set("0x1111111111111111111111111111111111111111".into()),
        transaction_hash: Set(None),
        release_transaction_hash: Set(None),
        refund_transaction_hash: Set(None),
        funded_at: Set(None),
        released_at: Set(None),
        refunded_at: Set(None),
        created_at: Set(t),
        updated_at: Set(t),
        release_approved_at: Set(None),
        rejected_at: Set(None),
        refund_reason: Set(None),
        checked_at: Set(None),
        check_result: Set(None),
        check_confirmations: Set(None),
        check_attempts: Set(0),
        next_check_at: Set(None),
    }
}

/// Records `bid_id` as the accepted bid of `opp` (status unchanged).
pub async fn accept(db: &Db, opp: opportunity::Model, bid_id: &str) -> opportunity::Model {
    let mut o: opportunity::ActiveModel = opp.into();
    o.accepted_bid_id = Set(Some(bid_id.into()));
    o.update(db).await.expect("accept")
}

/// An opportunity of `stage` (DB value) closed on an accepted bid of
/// `expert_id`, optionally for story `story_id`: what accepting a bid
/// leaves behind, and what lets the expert see the project. Returns the
/// opportunity's id.
pub async fn accepted_bid(db: &Db, product_id: &str, expert_id: &str, stage: &str, story_id: Option<&str>) -> String {
    let opp =
        opportunity::ActiveModel { story_id: Set(story_id.map(str::to_string)), ..opportunity(product_id, stage) }
            .insert(db)
            .await
            .expect("opportunity");
    let b = bid(&opp.id, expert_id).insert(db).await.expect("bid");
    accept(db, opp, &b.id).await.id
}
