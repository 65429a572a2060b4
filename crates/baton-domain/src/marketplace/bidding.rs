//! Opportunities and bids (marketplace reference §4): who may post, list,
//! bid, withdraw, accept and reject, and the limits on each.
//!
//! Decisions where the reference is silent:
//! - Budgets and bids are integers in hundredths of the display unit; USD
//!   budgets are refused (422 on `currency`): every accepted bid becomes an
//!   on-chain escrow, and USD cannot be escrowed ("use USDC").
//! - The bid ceiling is `budget.max × 1.5` rounded down, computed without
//!   overflow.
//! - The fee preview uses the escrow terms of today (flat + bps of the
//!   escrowed base units, rounded down, deducted from the expert).
//! - The anonymised client label is a stable short hash of the client's id,
//!   so one client looks the same across listings without revealing who.
//! - Sequential rule (§4.1): a developer story is hidden while the story
//!   before it in the same epic (by story number, `2` < `10` < `10b`) is not
//!   DONE, unless it may start in parallel; stories of different epics never
//!   wait for each other.

use std::cmp::Ordering;

use serde::Serialize;

use super::{BidStatus, Currency, OpportunityStatus, Stage, money};
use crate::{ValidationErrors, roles::Role};

/// Shortest proposal, in characters (§4.2).
pub const MIN_PROPOSAL: usize = 100;
/// Longest proposal, in characters.
pub const MAX_PROPOSAL: usize = 10_000;
/// Largest estimate, in hours (a year of full-time work).
pub const MAX_ESTIMATED_HOURS: i32 = 2_000;
/// Largest budget or bid accepted, in minor units (10^13 = 100 billion
/// display units): far above any real deal, far below overflow anywhere.
pub const MAX_AMOUNT: i64 = 10_000_000_000_000;

/// The expert role that may bid on opportunities of `stage`.
pub fn role_for_stage(stage: Stage) -> Role {
    match stage {
        Stage::Analyst => Role::Analyst,
        Stage::Pm => Role::Pm,
        Stage::Architect => Role::Architect,
        Stage::Ux => Role::Ux,
        Stage::Developer => Role::Developer,
        Stage::Qa => Role::Qa,
    }
}

/// Checks a budget `{min, max, currency}` (field names under `path`, e.g. `budget`).
pub fn check_budget(errs: &mut ValidationErrors, path: &str, min: i64, max: i64, currency: Currency) {
    if min <= 0 || min > MAX_AMOUNT {
        errs.add(&format!("{path}.min"), format!("must be between 1 and {MAX_AMOUNT} (minor units)"));
    }
    if max <= 0 || max > MAX_AMOUNT {
        errs.add(&format!("{path}.max"), format!("must be between 1 and {MAX_AMOUNT} (minor units)"));
    } else if min > max {
        errs.add(&format!("{path}.max"), "must be at least budget.min");
    }
    check_escrowable(errs, &format!("{path}.currency"), currency);
}

/// Refuses currencies that cannot be escrowed on a chain (USD).
pub fn check_escrowable(errs: &mut ValidationErrors, path: &str, currency: Currency) {
    if currency.chain().is_none() {
        errs.add(path, format!("{} cannot be escrowed; use USDC", currency.as_db()));
    }
}

/// The largest bid on a budget whose maximum is `budget_max`: 1.5 × max,
/// rounded down.
pub fn max_bid(budget_max: i64) -> i64 {
    let v = i128::from(budget_max) * 3 / 2;
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// A bid as submitted, before it is checked.
#[derive(Debug, Clone, Copy)]
pub struct BidInput<'a> {
    /// Minor units.
    pub amount: i64,
    /// The bid's currency.
    pub currency: Currency,
    /// The proposal text.
    pub proposal: &'a str,
    /// Estimated hours, if given.
    pub estimated_hours: Option<i32>,
}

/// Checks a bid against the opportunity's budget (§4.2 proposal): `0 <
/// amount ≤ budget.max × 1.5`, the opportunity's currency, a proposal of at
/// least 100 characters.
pub fn check_bid(errs: &mut ValidationErrors, bid: BidInput<'_>, budget_max: i64, currency: Currency) {
    let ceiling = max_bid(budget_max);
    if bid.amount <= 0 || bid.amount > ceiling {
        errs.add("amount", format!("must be between 1 and {ceiling} (1.5 × the budget maximum, minor units)"));
    }
    if bid.currency != currency {
        errs.add("currency", format!("must be the opportunity's currency {}", currency.as_db()));
    }
    let len = bid.proposal.trim().chars().count();
    if len < MIN_PROPOSAL {
        errs.add("proposal", format!("must be at least {MIN_PROPOSAL} characters (has {len})"));
    } else if len > MAX_PROPOSAL {
        errs.add("proposal", format!("must be at most {MAX_PROPOSAL} characters"));
    }
    if let Some(h) = bid.estimated_hours
        && !(1..=MAX_ESTIMATED_HOURS).contains(&h)
    {
        errs.add("estimated_hours", format!("must be between 1 and {MAX_ESTIMATED_HOURS}"));
    }
}

/// What the expert would receive for a bid: the escrowed amount in chain
/// base units, the platform fee and the expert's share (decimal strings,
/// as escrows store them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct FeePreview {
    /// The escrowed amount, base units.
    pub amount_base_units: String,
    /// Decimals of the base unit.
    pub decimals: u32,
    /// Platform fee in basis points.
    pub platform_fee_bps: i32,
    /// Flat platform fee, base units.
    pub platform_fee_flat: String,
    /// Total platform fee, base units.
    pub platform_fee: String,
    /// What the expert receives, base units.
    pub expert_receives: String,
}

/// The fee preview of a bid of `amount_minor` in `currency` under the fee
/// terms an escrow would get today (`bps`, `flat` in base units): the same
/// [`money::split_fee`] the escrow uses. `None` when it cannot be escrowed
/// (non-positive, fiat, or a fee that would take it all).
pub fn fee_preview(amount_minor: i64, currency: Currency, bps: u32, flat: u128) -> Option<FeePreview> {
    let amount = money::minor_to_base_units(amount_minor, currency).ok()?;
    let split = money::split_fee(amount, bps, flat).ok()?;
    Some(FeePreview {
        amount_base_units: amount.to_string(),
        decimals: currency.base_unit_decimals()?,
        platform_fee_bps: i32::try_from(bps).ok()?,
        platform_fee_flat: flat.to_string(),
        platform_fee: split.fee.to_string(),
        expert_receives: split.expert.to_string(),
    })
}

/// The label of a client an expert may not identify yet: `Client #` and
/// six hex digits of a stable hash of the client's id.
pub fn anonymised_client(client_id: &str) -> String {
    let mut h: u64 = 0xcbf29ce484222325;
    for b in client_id.as_bytes() {
        h = (h ^ u64::from(*b)).wrapping_mul(0x100000001b3);
    }
    format!("Client #{:06x}", h >> 40)
}

/// Whether a budget range `[min, max]` overlaps the filter `[from, to]`
/// (either end open).
pub fn budget_overlaps(min: i64, max: i64, from: Option<i64>, to: Option<i64>) -> bool {
    from.is_none_or(|f| max >= f) && to.is_none_or(|t| min <= t)
}

/// Why a bid cannot change state; the message names the current state.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BidStateError {
    /// The bid is no longer pending.
    #[error("the bid is {0}, not pending")]
    NotPending(BidStatus),
    /// The opportunity no longer takes bids.
    #[error("the opportunity is {0}, not open")]
    OpportunityNotOpen(OpportunityStatus),
}

/// Checks that a bid may be withdrawn, rejected or accepted: pending, on an
/// open opportunity.
pub fn check_decidable(bid: BidStatus, opportunity: OpportunityStatus) -> Result<(), BidStateError> {
    if bid != BidStatus::Pending {
        return Err(BidStateError::NotPending(bid));
    }
    if opportunity != OpportunityStatus::Open {
        return Err(BidStateError::OpportunityNotOpen(opportunity));
    }
    Ok(())
}

/// Orders BMAD story numbers (`2` < `10` < `10b`): numerically by leading
/// digits, then by the rest.
pub fn cmp_story_numbers(a: &str, b: &str) -> Ordering {
    fn split(s: &str) -> (u64, &str) {
        let end = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
        (s[..end].parse().unwrap_or(u64::MAX), &s[end..])
    }
    split(a).cmp(&split(b))
}

/// One story of a project, as the sequential rule sees it.
#[derive(Debug, Clone, Copy)]
pub struct SequenceFacts<'a> {
    /// The epic number.
    pub epic: i32,
    /// The story number within the epic.
    pub story: &'a str,
    /// Whether its workflow status is DONE.
    pub done: bool,
    /// Whether the client let it start in parallel.
    pub parallel: bool,
}

/// The sequential rule of §4.1: whether `target`'s developer opportunity is
/// hidden because the story before it in its epic is not done yet.
pub fn waits_for_previous(target: &SequenceFacts<'_>, project: &[SequenceFacts<'_>]) -> bool {
    if target.parallel {
        return false;
    }
    project
        .iter()
        .filter(|s| s.epic == target.epic && cmp_story_numbers(s.story, target.story) == Ordering::Less)
        .max_by(|a, b| cmp_story_numbers(a.story, b.story))
        .is_some_and(|prev| !prev.done)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn errs_of(f: impl FnOnce(&mut ValidationErrors)) -> Vec<String> {
        let mut e = ValidationErrors::new();
        f(&mut e);
        e.0.into_iter().map(|f| f.path).collect()
    }

    #[test]
    fn each_stage_has_its_expert_role() {
        assert_eq!(role_for_stage(Stage::Developer), Role::Developer);
        assert_eq!(role_for_stage(Stage::Qa), Role::Qa);
        assert_eq!(role_for_stage(Stage::Pm), Role::Pm);
    }

    #[test]
    fn budgets_need_positive_ordered_bounds_and_an_escrowable_currency() {
        assert!(errs_of(|e| check_budget(e, "budget", 100, 200, Currency::Usdc)).is_empty());
        assert_eq!(errs_of(|e| check_budget(e, "budget", 300, 200, Currency::Usdc)), ["budget.max"]);
        assert_eq!(errs_of(|e| check_budget(e, "budget", 0, 200, Currency::Usdc)), ["budget.min"]);
        assert_eq!(errs_of(|e| check_budget(e, "budget", 1, -1, Currency::Usdc)), ["budget.max"]);
        assert_eq!(errs_of(|e| check_budget(e, "budget", 1, 2, Currency::Usd)), ["budget.currency"]);
    }

    #[test]
    fn bids_are_bounded_by_one_and_a_half_times_the_budget() {
        let proposal = "x".repeat(100);
        let bid = |amount, currency| BidInput { amount, currency, proposal: &proposal, estimated_hours: Some(10) };
        assert!(errs_of(|e| check_bid(e, bid(150, Currency::Usdc), 100, Currency::Usdc)).is_empty());
        assert_eq!(errs_of(|e| check_bid(e, bid(151, Currency::Usdc), 100, Currency::Usdc)), ["amount"]);
        assert_eq!(errs_of(|e| check_bid(e, bid(0, Currency::Usdc), 100, Currency::Usdc)), ["amount"]);
        assert_eq!(errs_of(|e| check_bid(e, bid(10, Currency::Sol), 100, Currency::Usdc)), ["currency"]);
        let short = BidInput { amount: 10, currency: Currency::Usdc, proposal: "too short", estimated_hours: Some(0) };
        assert_eq!(errs_of(|e| check_bid(e, short, 100, Currency::Usdc)), ["proposal", "estimated_hours"]);
        assert_eq!(max_bid(i64::MAX), i64::MAX);
    }

    #[test]
    fn the_fee_preview_splits_without_losing_a_base_unit() {
        let p = fee_preview(100_000, Currency::Usdc, 500, 0).expect("escrowable");
        assert_eq!(p.amount_base_units, "1000000000");
        assert_eq!(p.platform_fee, "50000000");
        assert_eq!(p.expert_receives, "950000000");
        assert_eq!(fee_preview(10, Currency::Usd, 500, 0), None);
        assert_eq!(fee_preview(0, Currency::Usdc, 500, 0), None);
    }

    proptest! {
        #[test]
        fn fee_and_share_add_up_to_the_amount(amount in 1i64..=i64::MAX, c in 0usize..6) {
            let currency = [Currency::Usdc, Currency::Usdt, Currency::Matic, Currency::Eth, Currency::Sol, Currency::UsdcSpl][c];
            let p = fee_preview(amount, currency, 500, 0).expect("escrowable");
            let total: u128 = p.amount_base_units.parse().expect("number");
            let fee: u128 = p.platform_fee.parse().expect("number");
            let share: u128 = p.expert_receives.parse().expect("number");
            prop_assert_eq!(fee + share, total);
            prop_assert_eq!(fee, total * 500 / 10_000);
        }

        #[test]
        fn story_numbers_order_any_text_antisymmetrically_and_numbers_numerically(
            a in "\\PC{0,12}",
            b in "\\PC{0,12}",
            n in 0u32..1_000_000,
        ) {
            let ab = cmp_story_numbers(&a, &b);
            prop_assert_eq!(ab.reverse(), cmp_story_numbers(&b, &a));
            // Numbers compare by value, not as text ("9" before "10").
            prop_assert_eq!(cmp_story_numbers(&n.to_string(), &(n + 1).to_string()), Ordering::Less);
            prop_assert_eq!(cmp_story_numbers(&n.to_string(), &n.to_string()), Ordering::Equal);
        }

        #[test]
        fn the_ceiling_never_overflows(max in any::<i64>()) {
            let c = max_bid(max);
            if max > 0 { prop_assert!(c >= max); }
        }
    }

    #[test]
    fn the_client_label_is_stable_and_does_not_show_the_id() {
        let a = anonymised_client("0190-abc");
        assert_eq!(a, anonymised_client("0190-abc"));
        assert!(a.starts_with("Client #") && a.len() == "Client #".len() + 6, "{a}");
        assert_ne!(a, anonymised_client("0190-abd"));
    }

    #[test]
    fn budget_filters_overlap_ranges() {
        assert!(budget_overlaps(100, 200, Some(150), None));
        assert!(budget_overlaps(100, 200, None, Some(100)));
        assert!(!budget_overlaps(100, 200, Some(201), None));
        assert!(!budget_overlaps(100, 200, None, Some(99)));
        assert!(budget_overlaps(100, 200, None, None));
    }

    #[test]
    fn only_pending_bids_on_open_opportunities_are_decided() {
        assert_eq!(check_decidable(BidStatus::Pending, OpportunityStatus::Open), Ok(()));
        let e = check_decidable(BidStatus::Withdrawn, OpportunityStatus::Open).expect_err("withdrawn");
        assert_eq!(e.to_string(), "the bid is withdrawn, not pending");
        let e = check_decidable(BidStatus::Pending, OpportunityStatus::Closed).expect_err("closed");
        assert_eq!(e.to_string(), "the opportunity is closed, not open");
    }

    #[test]
    fn a_story_waits_for_the_previous_story_of_its_epic() {
        let s = |epic, story, done, parallel| SequenceFacts { epic, story, done, parallel };
        let project =
            [s(1, "1", true, false), s(1, "2", false, false), s(1, "10", false, false), s(2, "1", false, false)];
        assert!(!waits_for_previous(&project[0], &project));
        assert!(!waits_for_previous(&project[1], &project), "1.1 is done");
        assert!(waits_for_previous(&project[2], &project), "1.2 is not done");
        assert!(!waits_for_previous(&project[3], &project), "another epic");
        assert!(!waits_for_previous(&s(1, "10", false, true), &project), "parallel");
        assert_eq!(cmp_story_numbers("2", "10"), Ordering::Less);
        assert_eq!(cmp_story_numbers("10", "10b"), Ordering::Less);
    }
}
