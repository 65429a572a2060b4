//! The escrow state machine (marketplace reference §5.2):
//! `PENDING → FUNDED → RELEASED | REFUNDED`, plus `PENDING → REFUNDED`
//! (cancelled before funding, no transaction).
//!
//! Repeats are idempotent (NFR16): recording the same transaction for the
//! move that already happened is a no-op success; any other move is a
//! conflict naming the current state.

use super::EscrowStatus;

/// A move of an escrow, with the transaction hash that proves it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EscrowEvent<'a> {
    /// The client's funding transaction was confirmed.
    Fund(&'a str),
    /// The release transaction (to the expert and the platform) was confirmed.
    Release(&'a str),
    /// The refund transaction was confirmed; `None` when cancelling a
    /// pending escrow that was never funded.
    Refund(Option<&'a str>),
}

/// The recorded transactions of an escrow, for idempotency checks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EscrowTxs<'a> {
    /// `escrows.transaction_hash`.
    pub funding: Option<&'a str>,
    /// `escrows.release_transaction_hash`.
    pub release: Option<&'a str>,
    /// `escrows.refund_transaction_hash`.
    pub refund: Option<&'a str>,
}

/// What applying an event does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    /// Move to this state.
    To(EscrowStatus),
    /// Already done with this very transaction: nothing to write.
    Unchanged,
}

/// A move the current state does not allow.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the escrow is {current}; it cannot be {wanted}")]
pub struct EscrowConflict {
    /// The escrow's state.
    pub current: EscrowStatus,
    /// What was asked ("funded", "released", "refunded").
    pub wanted: &'static str,
}

/// Decides the effect of `event` on an escrow in `current` with the
/// transactions `txs` already recorded.
pub fn apply(current: EscrowStatus, txs: EscrowTxs<'_>, event: EscrowEvent<'_>) -> Result<Transition, EscrowConflict> {
    use EscrowStatus::*;
    let same = |recorded: Option<&str>, tx: &str| recorded.is_some_and(|r| r.eq_ignore_ascii_case(tx));
    match (current, event) {
        (Pending, EscrowEvent::Fund(_)) => Ok(Transition::To(Funded)),
        (Funded | Released | Refunded, EscrowEvent::Fund(tx)) if same(txs.funding, tx) => Ok(Transition::Unchanged),
        (Funded, EscrowEvent::Release(_)) => Ok(Transition::To(Released)),
        (Released, EscrowEvent::Release(tx)) if same(txs.release, tx) => Ok(Transition::Unchanged),
        (Funded, EscrowEvent::Refund(Some(_))) | (Pending, EscrowEvent::Refund(None)) => Ok(Transition::To(Refunded)),
        (Refunded, EscrowEvent::Refund(Some(tx))) if same(txs.refund, tx) => Ok(Transition::Unchanged),
        (Refunded, EscrowEvent::Refund(None)) if txs.refund.is_none() => Ok(Transition::Unchanged),
        (_, e) => Err(EscrowConflict { current, wanted: wanted(e) }),
    }
}

fn wanted(e: EscrowEvent<'_>) -> &'static str {
    match e {
        EscrowEvent::Fund(_) => "funded",
        EscrowEvent::Release(_) => "released",
        EscrowEvent::Refund(Some(_)) => "refunded",
        EscrowEvent::Refund(None) => "cancelled without a refund transaction",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use EscrowStatus::*;

    #[test]
    fn the_table_of_moves() {
        let none = EscrowTxs::default();
        let funded = EscrowTxs { funding: Some("0xF"), ..none };
        let released = EscrowTxs { release: Some("0xR"), ..funded };
        let refunded = EscrowTxs { refund: Some("0xB"), ..funded };
        let ok = |s| Ok(Transition::To(s));
        let same = || Ok(Transition::Unchanged);
        let conflict = |current, wanted| Err(EscrowConflict { current, wanted });
        let cases: Vec<(EscrowStatus, EscrowTxs, EscrowEvent, Result<Transition, EscrowConflict>)> = vec![
            (Pending, none, EscrowEvent::Fund("0xF"), ok(Funded)),
            (Pending, none, EscrowEvent::Release("0xR"), conflict(Pending, "released")),
            (Pending, none, EscrowEvent::Refund(Some("0xB")), conflict(Pending, "refunded")),
            (Pending, none, EscrowEvent::Refund(None), ok(Refunded)),
            (Funded, funded, EscrowEvent::Fund("0xF"), same()),
            (Funded, funded, EscrowEvent::Fund("0xf"), same()),
            (Funded, funded, EscrowEvent::Fund("0xOTHER"), conflict(Funded, "funded")),
            (Funded, funded, EscrowEvent::Release("0xR"), ok(Released)),
            (Funded, funded, EscrowEvent::Refund(Some("0xB")), ok(Refunded)),
            (Funded, funded, EscrowEvent::Refund(None), conflict(Funded, "cancelled without a refund transaction")),
            (Released, released, EscrowEvent::Release("0xR"), same()),
            (Released, released, EscrowEvent::Release("0xR2"), conflict(Released, "released")),
            (Released, released, EscrowEvent::Fund("0xF"), same()),
            (Released, released, EscrowEvent::Refund(Some("0xB")), conflict(Released, "refunded")),
            (Refunded, refunded, EscrowEvent::Refund(Some("0xB")), same()),
            (Refunded, refunded, EscrowEvent::Release("0xR"), conflict(Refunded, "released")),
            (Refunded, none, EscrowEvent::Refund(None), same()),
            (Refunded, none, EscrowEvent::Fund("0xF"), conflict(Refunded, "funded")),
        ];
        for (state, txs, event, want) in cases {
            assert_eq!(apply(state, txs, event), want, "{state:?} {event:?}");
        }
        assert_eq!(
            apply(Released, released, EscrowEvent::Refund(Some("0xB"))).expect_err("refused").to_string(),
            "the escrow is released; it cannot be refunded"
        );
    }
}
