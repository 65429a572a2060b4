//! The expert marketplace's pure rules (seed `002_*`, with the conflicts of
//! `reference/marketplace.md` §9 resolved as proposed there): its enums here,
//! and one submodule per concern.

pub mod bidding;
pub mod bmad;
pub mod deliverables;
pub mod documents;
pub mod escrow;
pub mod money;
pub mod project;
pub mod ratings;
pub mod workflow;

crate::db_enum! {
    /// A marketplace project's status (`products.project_status`; NULL for
    /// products that are not marketplace projects).
    pub enum ProjectStatus {
        /// Planning stages (analyst, PM, architect, UX) under way.
        Planning => "PLANNING",
        /// Stories are being built.
        InDevelopment => "IN_DEVELOPMENT",
        /// Every story is done.
        Completed => "COMPLETED",
        /// Stopped by the client.
        Cancelled => "CANCELLED",
    }
}

crate::db_enum! {
    /// A BMAD stage, in order (`products.current_stage`, `opportunities.stage`,
    /// `deliverables.stage`, `ratings.stage`). The seed stores these in
    /// lowercase; here that is the API form and the database holds UPPER_SNAKE
    /// like every other enum.
    pub enum Stage {
        /// Optional market research.
        Analyst => "ANALYST",
        /// Product requirements.
        Pm => "PM",
        /// Architecture.
        Architect => "ARCHITECT",
        /// Front-end spec and design (skippable).
        Ux => "UX",
        /// Implementation of one story.
        Developer => "DEVELOPER",
        /// QA review of one story.
        Qa => "QA",
    }
}

impl Stage {
    /// Whether this is a planning stage (one opportunity per project) rather
    /// than a per-story stage.
    pub fn is_planning(self) -> bool {
        matches!(self, Stage::Analyst | Stage::Pm | Stage::Architect | Stage::Ux)
    }
}

crate::db_enum! {
    /// An opportunity's status (`opportunities.status`).
    pub enum OpportunityStatus {
        /// Accepting bids.
        Open => "OPEN",
        /// A bid was accepted; no longer listed.
        Closed => "CLOSED",
        /// The deliverable was approved or the story is done.
        Completed => "COMPLETED",
    }
}

crate::db_enum! {
    /// A bid's status (`bids.status`).
    pub enum BidStatus {
        /// Waiting for the client.
        Pending => "PENDING",
        /// Accepted; the opportunity points at it.
        Accepted => "ACCEPTED",
        /// Rejected, or another bid was accepted.
        Rejected => "REJECTED",
        /// Withdrawn by the expert before acceptance.
        Withdrawn => "WITHDRAWN",
    }
}

crate::db_enum! {
    /// The marketplace workflow state of a story (`stories.workflow_status`;
    /// the Prisma `StoryStatus`). Kept beside the backlog
    /// [`crate::backlog::StoryStatus`]; NULL for plain backlog stories.
    pub enum WorkflowStatus {
        /// Written by the PM, not yet validated.
        Draft => "DRAFT",
        /// Validated; open for developer bids.
        Approved => "APPROVED",
        /// A developer is implementing it.
        InProgress => "IN_PROGRESS",
        /// PR submitted; waiting for QA.
        ReadyForReview => "READY_FOR_REVIEW",
        /// QA approved, merged and paid.
        Done => "DONE",
        /// Blocked by something outside the story.
        Blocked => "BLOCKED",
    }
}

crate::db_enum! {
    /// A pull-request deliverable's review state (`deliverables.status`).
    pub enum DeliverableStatus {
        /// Waiting for review.
        Submitted => "SUBMITTED",
        /// Approved (and merged).
        Approved => "APPROVED",
        /// The reviewer asked for changes.
        ChangesRequested => "CHANGES_REQUESTED",
        /// Rejected.
        Rejected => "REJECTED",
    }
}

crate::db_enum! {
    /// An escrow's on-chain state (`escrows.status`).
    pub enum EscrowStatus {
        /// Created, not funded yet.
        Pending => "PENDING",
        /// The funding transaction is confirmed.
        Funded => "FUNDED",
        /// Paid out to the expert (minus the platform fee).
        Released => "RELEASED",
        /// Returned to the client.
        Refunded => "REFUNDED",
    }
}

crate::db_enum! {
    /// The chain an escrow lives on (`escrows.blockchain`, `wallets.blockchain`).
    pub enum Blockchain {
        /// Polygon PoS (EVM).
        Polygon => "POLYGON",
        /// Solana.
        Solana => "SOLANA",
    }
}

crate::db_enum! {
    /// The one currency list for budgets, bids and escrows (§9.2 of the
    /// marketplace reference merges the budget/bid list `USD, USDC, USDT,
    /// MATIC, SOL` with the escrow list `USDC, USDT, ETH, SOL, USDC-SPL`).
    /// `opportunities.currency`, `bids.currency`, `escrows.currency`.
    pub enum Currency {
        /// US dollars: display and budgets only, never escrowed.
        Usd => "USD",
        /// USDC on Polygon.
        Usdc => "USDC",
        /// USDT on Polygon.
        Usdt => "USDT",
        /// MATIC/POL on Polygon.
        Matic => "MATIC",
        /// ETH (bridged) on Polygon.
        Eth => "ETH",
        /// SOL on Solana.
        Sol => "SOL",
        /// USDC as an SPL token on Solana; `USDC-SPL` in the seed and at the API.
        UsdcSpl => "USDC_SPL" as "usdc-spl",
    }
}

impl Currency {
    /// The chain an escrow in this currency lives on; `None` for fiat.
    pub fn chain(self) -> Option<Blockchain> {
        match self {
            Currency::Usd => None,
            Currency::Usdc | Currency::Usdt | Currency::Matic | Currency::Eth => Some(Blockchain::Polygon),
            Currency::Sol | Currency::UsdcSpl => Some(Blockchain::Solana),
        }
    }

    /// Decimals of the on-chain base unit (`escrows.amount` is a decimal
    /// string of base units); `None` for fiat. Budgets and bids are always in
    /// hundredths of the display unit instead.
    pub fn base_unit_decimals(self) -> Option<u32> {
        match self {
            Currency::Usd => None,
            Currency::Usdc | Currency::Usdt | Currency::UsdcSpl => Some(6),
            Currency::Sol => Some(9),
            Currency::Matic | Currency::Eth => Some(18),
        }
    }
}

crate::db_enum! {
    /// A BMAD QA gate decision (`stories.qa_gate_status`).
    pub enum QaGateStatus {
        /// Acceptance criteria met, no high issues.
        Pass => "PASS",
        /// Non-blocking issues (rework by default in Baton).
        Concerns => "CONCERNS",
        /// Back to implementation.
        Fail => "FAIL",
        /// Accepted with an approved waiver.
        Waived => "WAIVED",
    }
}

/// Default platform fee in basis points (500 = 5 %) of `escrows.platform_fee_bps`.
pub const DEFAULT_PLATFORM_FEE_BPS: i32 = 500;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stage_api_form_matches_the_seed_lowercase() {
        let api: Vec<_> = Stage::ALL.iter().map(|s| s.as_api()).collect();
        assert_eq!(api, ["analyst", "pm", "architect", "ux", "developer", "qa"]);
        assert!(Stage::Ux.is_planning() && !Stage::Qa.is_planning());
    }

    #[test]
    fn one_currency_enum_maps_to_chains_and_accepts_the_seed_spelling() {
        assert_eq!(Currency::parse_api("USDC-SPL"), Some(Currency::UsdcSpl));
        assert_eq!(Currency::parse_api("usdc_spl"), Some(Currency::UsdcSpl));
        assert_eq!(Currency::UsdcSpl.as_db(), "USDC_SPL");
        assert_eq!(Currency::UsdcSpl.to_string(), "usdc-spl");
        assert_eq!(Currency::UsdcSpl.chain(), Some(Blockchain::Solana));
        assert_eq!(Currency::Matic.chain(), Some(Blockchain::Polygon));
        assert_eq!(Currency::Usd.chain(), None);
        for c in Currency::ALL {
            assert_eq!(c.chain().is_some(), c.base_unit_decimals().is_some(), "{c:?}");
        }
    }

    #[test]
    fn workflow_status_is_the_prisma_story_status() {
        let db: Vec<_> = WorkflowStatus::ALL.iter().map(|s| s.as_db()).collect();
        assert_eq!(db, ["DRAFT", "APPROVED", "IN_PROGRESS", "READY_FOR_REVIEW", "DONE", "BLOCKED"]);
        assert_eq!(QaGateStatus::parse_api("waived"), Some(QaGateStatus::Waived));
    }
}
