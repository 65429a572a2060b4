//! Amounts and fees (marketplace reference §5.3, §4.3): base-unit integer
//! strings in u128, display units, the flat + bps fee and the expert's share,
//! and the wallet payment URIs (EIP-681, Solana Pay).
//!
//! Decisions:
//! - The fee is deducted from the expert (PRD), never added on top for the
//!   client: the client pays exactly `amount`.
//! - `fee = flat + floor(amount × bps / 10 000)`, computed as
//!   `(amount / 10 000) × bps + (amount % 10 000) × bps / 10 000`, which is
//!   the same floor but never overflows u128 for any bps ≤ 10 000.
//! - Display strings keep at least 2 decimals and never drop a non-zero
//!   digit (exact); trailing zeros beyond the second decimal are trimmed.

use super::Currency;

/// Why an amount cannot be turned into chain base units.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    /// The currency is fiat (USD) and cannot be escrowed on a chain.
    #[error("{0} cannot be escrowed on a chain")]
    NotOnChain(Currency),
    /// Negative or zero amounts are never escrowed.
    #[error("the amount must be positive")]
    NotPositive,
    /// Not a decimal string of digits (no sign, no spaces, no dot).
    #[error("the amount must be a string of digits")]
    NotDigits,
    /// More than 39 digits or beyond u128.
    #[error("the amount is too large")]
    TooLarge,
    /// The fee would take the whole amount.
    #[error("the platform fee ({fee}) is not smaller than the amount ({amount})")]
    FeeTooLarge {
        /// The fee in base units.
        fee: u128,
        /// The amount in base units.
        amount: u128,
    },
    /// Basis points above 10 000 (100 %).
    #[error("the fee rate must be at most 10000 basis points")]
    BpsOutOfRange,
}

/// Turns an amount in hundredths of the display unit (how budgets and bids
/// are stored) into chain base units (how escrows are stored): 12.34 USDC =
/// 1234 minor units = 12 340 000 base units (6 decimals). Exact: every
/// on-chain currency has at least 2 decimals, and an i64 times 10^16 fits a
/// u128.
pub fn minor_to_base_units(amount_minor: i64, currency: Currency) -> Result<u128, MoneyError> {
    let decimals = currency.base_unit_decimals().ok_or(MoneyError::NotOnChain(currency))?;
    let minor = u128::try_from(amount_minor).ok().filter(|m| *m > 0).ok_or(MoneyError::NotPositive)?;
    Ok(minor * 10u128.pow(decimals.saturating_sub(2)))
}

/// Parses a base-unit decimal string strictly: ASCII digits only (no sign,
/// no whitespace, no dot), 1 to 39 digits, within u128. Leading zeros are
/// accepted ("007" = 7) since they do not change the value.
pub fn parse_base_units(s: &str) -> Result<u128, MoneyError> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(MoneyError::NotDigits);
    }
    if s.len() > 39 {
        return Err(MoneyError::TooLarge);
    }
    s.bytes()
        .try_fold(0u128, |acc, b| acc.checked_mul(10)?.checked_add(u128::from(b - b'0')))
        .ok_or(MoneyError::TooLarge)
}

/// The canonical base-unit string of an amount (no leading zeros).
pub fn format_base_units(amount: u128) -> String {
    amount.to_string()
}

/// Formats base units in display units with `decimals` decimals: at least
/// two decimals, further trailing zeros trimmed, never rounded
/// (1 234 500 with 6 decimals = "1.2345"; 1 000 000 = "1.00").
pub fn format_display(amount: u128, decimals: u32) -> String {
    let digits = amount.to_string();
    let d = decimals as usize;
    let (int, frac) = if digits.len() > d {
        let (i, f) = digits.split_at(digits.len() - d);
        (i.to_string(), f.to_string())
    } else {
        ("0".to_string(), format!("{digits:0>d$}"))
    };
    let mut frac = frac.trim_end_matches('0').to_string();
    while frac.len() < 2 {
        frac.push('0');
    }
    format!("{int}.{frac}")
}

/// Parses a display amount ("12.5", "3") with at most `decimals` decimals
/// into base units, exactly; the inverse of [`format_display`].
pub fn parse_display(s: &str, decimals: u32) -> Result<u128, MoneyError> {
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    if int.is_empty() || frac.len() > decimals as usize || (s.contains('.') && frac.is_empty()) {
        return Err(MoneyError::NotDigits);
    }
    if !frac.bytes().all(|b| b.is_ascii_digit()) {
        return Err(MoneyError::NotDigits);
    }
    let int = parse_base_units(int)?;
    let frac_padded = format!("{frac:0<width$}", width = decimals as usize);
    let frac = if frac_padded.is_empty() { 0 } else { parse_base_units(&frac_padded)? };
    int.checked_mul(10u128.pow(decimals)).and_then(|v| v.checked_add(frac)).ok_or(MoneyError::TooLarge)
}

/// The split of an escrow: what the platform keeps and what the expert gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeeSplit {
    /// `flat + floor(amount × bps / 10 000)`.
    pub fee: u128,
    /// `amount − fee`, always positive.
    pub expert: u128,
}

/// Computes the platform fee and the expert's share of `amount` (base
/// units); refused when the fee is not smaller than the amount.
pub fn split_fee(amount: u128, bps: u32, flat: u128) -> Result<FeeSplit, MoneyError> {
    if bps > 10_000 {
        return Err(MoneyError::BpsOutOfRange);
    }
    if amount == 0 {
        return Err(MoneyError::NotPositive);
    }
    let bps = u128::from(bps);
    // floor(a·b/10⁴) = (a/10⁴)·b + floor((a%10⁴)·b/10⁴); both products fit.
    let pct = (amount / 10_000) * bps + (amount % 10_000) * bps / 10_000;
    let fee = pct.checked_add(flat).ok_or(MoneyError::FeeTooLarge { fee: u128::MAX, amount })?;
    if fee >= amount {
        return Err(MoneyError::FeeTooLarge { fee, amount });
    }
    Ok(FeeSplit { fee, expert: amount - fee })
}

/// What a payment URI points at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PaymentTarget<'a> {
    /// An EVM chain: ERC-20 `token` contract, or the native coin when `None`.
    Evm {
        /// EIP-155 chain id (137 Polygon, 80002 Amoy).
        chain_id: u64,
        /// ERC-20 contract; `None` for the native coin.
        token: Option<&'a str>,
    },
    /// Solana: an SPL `mint`, or SOL when `None`.
    Solana {
        /// SPL token mint; `None` for SOL.
        mint: Option<&'a str>,
    },
}

/// Builds the wallet payment URI: EIP-681
/// (`ethereum:<token>@<chainId>/transfer?address=<escrow>&uint256=<amount>`,
/// or `ethereum:<escrow>@<chainId>?value=<wei>` for the native coin) or
/// Solana Pay (`solana:<recipient>?amount=<display>[&spl-token=<mint>]`).
pub fn payment_uri(target: &PaymentTarget<'_>, recipient: &str, amount: u128, decimals: u32) -> String {
    match target {
        PaymentTarget::Evm { chain_id, token: Some(token) } => {
            format!("ethereum:{token}@{chain_id}/transfer?address={recipient}&uint256={amount}")
        }
        PaymentTarget::Evm { chain_id, token: None } => format!("ethereum:{recipient}@{chain_id}?value={amount}"),
        PaymentTarget::Solana { mint } => {
            // Solana Pay wants the plain decimal, without padding zeros.
            let display = format_display(amount, decimals);
            let display = display.trim_end_matches('0').trim_end_matches('.');
            match mint {
                Some(m) => format!("solana:{recipient}?amount={display}&spl-token={m}"),
                None => format!("solana:{recipient}?amount={display}"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn minor_units_scale_to_each_chains_base_unit() {
        assert_eq!(minor_to_base_units(1234, Currency::Usdc), Ok(12_340_000));
        assert_eq!(minor_to_base_units(1, Currency::Sol), Ok(10_000_000));
        assert_eq!(minor_to_base_units(i64::MAX, Currency::Eth), Ok(i64::MAX as u128 * 10u128.pow(16)));
        assert_eq!(minor_to_base_units(0, Currency::Usdc), Err(MoneyError::NotPositive));
        assert_eq!(minor_to_base_units(-5, Currency::Usdc), Err(MoneyError::NotPositive));
        assert_eq!(minor_to_base_units(5, Currency::Usd), Err(MoneyError::NotOnChain(Currency::Usd)));
    }

    #[test]
    fn base_unit_strings_parse_strictly() {
        assert_eq!(parse_base_units("0"), Ok(0));
        assert_eq!(parse_base_units("12340000"), Ok(12_340_000));
        assert_eq!(parse_base_units(&u128::MAX.to_string()), Ok(u128::MAX));
        assert_eq!(parse_base_units("340282366920938463463374607431768211456"), Err(MoneyError::TooLarge));
        assert_eq!(parse_base_units(&"9".repeat(40)), Err(MoneyError::TooLarge));
        for bad in ["", "+1", "-1", " 1", "1 ", "1.0", "1e6", "0x10", "١"] {
            assert_eq!(parse_base_units(bad), Err(MoneyError::NotDigits), "{bad:?}");
        }
    }

    #[test]
    fn display_keeps_two_decimals_and_every_significant_digit() {
        assert_eq!(format_display(1_000_000, 6), "1.00");
        assert_eq!(format_display(1_234_500, 6), "1.2345");
        assert_eq!(format_display(1, 6), "0.000001");
        assert_eq!(format_display(0, 6), "0.00");
        assert_eq!(format_display(1, 18), "0.000000000000000001");
        assert_eq!(format_display(500, 2), "5.00");
        assert_eq!(parse_display("1.2345", 6), Ok(1_234_500));
        assert_eq!(parse_display("3", 9), Ok(3_000_000_000));
        assert_eq!(parse_display("0.0000001", 6), Err(MoneyError::NotDigits));
        assert_eq!(parse_display("1.", 6), Err(MoneyError::NotDigits));
        assert_eq!(parse_display("-1", 6), Err(MoneyError::NotDigits));
    }

    #[test]
    fn fee_is_flat_plus_floored_bps_and_must_leave_the_expert_something() {
        assert_eq!(split_fee(10_000, 500, 0), Ok(FeeSplit { fee: 500, expert: 9_500 }));
        assert_eq!(split_fee(19_999, 500, 0), Ok(FeeSplit { fee: 999, expert: 19_000 }));
        assert_eq!(split_fee(1_000_000_000, 500, 100_000_000), Ok(FeeSplit { fee: 150_000_000, expert: 850_000_000 }));
        assert_eq!(split_fee(100, 0, 100), Err(MoneyError::FeeTooLarge { fee: 100, amount: 100 }));
        assert_eq!(split_fee(100, 10_000, 0), Err(MoneyError::FeeTooLarge { fee: 100, amount: 100 }));
        assert_eq!(split_fee(100, 10_001, 0), Err(MoneyError::BpsOutOfRange));
        assert_eq!(split_fee(0, 500, 0), Err(MoneyError::NotPositive));
        assert!(matches!(split_fee(5, 0, u128::MAX), Err(MoneyError::FeeTooLarge { .. })));
        let max = split_fee(u128::MAX, 9_999, 0).expect("fits");
        assert_eq!(max.fee + max.expert, u128::MAX);
    }

    #[test]
    fn payment_uris_follow_eip681_and_solana_pay() {
        let usdc = "0x3c499c542cEF5E3811e1192ce70d8cC03d5c3359";
        assert_eq!(
            payment_uri(&PaymentTarget::Evm { chain_id: 137, token: Some(usdc) }, "0xabc", 12_340_000, 6),
            format!("ethereum:{usdc}@137/transfer?address=0xabc&uint256=12340000")
        );
        assert_eq!(
            payment_uri(&PaymentTarget::Evm { chain_id: 80002, token: None }, "0xabc", 10u128.pow(18), 18),
            "ethereum:0xabc@80002?value=1000000000000000000"
        );
        assert_eq!(
            payment_uri(&PaymentTarget::Solana { mint: Some("EPj") }, "Rcpt", 12_500_000, 6),
            "solana:Rcpt?amount=12.5&spl-token=EPj"
        );
        assert_eq!(
            payment_uri(&PaymentTarget::Solana { mint: None }, "Rcpt", 3_000_000_000, 9),
            "solana:Rcpt?amount=3"
        );
    }

    fn edge_u128() -> impl Strategy<Value = u128> {
        prop_oneof![
            any::<u128>(),
            (0u128..1_000_000),
            (0u128..1_000_000).prop_map(|d| u128::MAX - d),
            (0u32..128).prop_map(|s| 1u128 << s),
        ]
    }

    proptest! {
        #[test]
        fn fee_plus_expert_is_exactly_the_amount(amount in edge_u128(), bps in 0u32..=10_000, flat in edge_u128()) {
            match split_fee(amount, bps, flat) {
                Ok(s) => {
                    prop_assert_eq!(s.fee.checked_add(s.expert), Some(amount));
                    prop_assert!(s.expert > 0 && s.fee >= flat);
                }
                Err(e) => {
                    let expected = matches!(e, MoneyError::FeeTooLarge { .. } | MoneyError::NotPositive);
                    prop_assert!(expected, "unexpected error {:?}", e);
                }
            }
        }

        #[test]
        fn fee_is_the_exact_floor(amount in 1u128..(u128::MAX / 10_000), bps in 0u32..=10_000) {
            if let Ok(s) = split_fee(amount, bps, 0) {
                prop_assert_eq!(s.fee, amount * u128::from(bps) / 10_000);
            }
        }

        #[test]
        fn fee_is_monotonic_in_amount_and_bps(a in edge_u128(), b in edge_u128(), bps in 0u32..10_000) {
            let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
            if let (Ok(x), Ok(y)) = (split_fee(lo, bps, 0), split_fee(hi, bps, 0)) {
                prop_assert!(x.fee <= y.fee && x.expert <= y.expert);
            }
            if let (Ok(x), Ok(y)) = (split_fee(hi, bps, 0), split_fee(hi, bps + 1, 0)) {
                prop_assert!(x.fee <= y.fee);
            }
        }

        #[test]
        fn base_unit_strings_round_trip(v in edge_u128()) {
            prop_assert_eq!(parse_base_units(&format_base_units(v)), Ok(v));
        }

        #[test]
        fn display_round_trips(v in edge_u128(), decimals in prop::sample::select(vec![2u32, 6, 9, 18])) {
            prop_assert_eq!(parse_display(&format_display(v, decimals), decimals), Ok(v));
        }

        #[test]
        fn any_text_parses_to_its_number_or_is_refused(s in "\\PC{0,45}", v in any::<u64>()) {
            prop_assert_eq!(parse_base_units(&v.to_string()), Ok(u128::from(v)));
            // Accepted exactly when it is a number that fits, and then it
            // is that number (leading zeros aside).
            let canon = s.trim_start_matches('0');
            let canon = if canon.is_empty() && !s.is_empty() { "0" } else { canon };
            match parse_base_units(&s) {
                Ok(v) => prop_assert_eq!(format_base_units(v), canon),
                Err(_) => prop_assert!(
                    s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) || s.len() > 39 || canon.len() >= 39
                ),
            }
            prop_assert_eq!(parse_display(&s, 6), parse_display(&s, 6));
        }

        #[test]
        fn digit_strings_parse_to_their_value_or_are_too_large(s in "[0-9]{1,45}") {
            prop_assert!(parse_base_units(&format!("{s}x")).is_err(), "a trailing letter is refused");
            let canon = s.trim_start_matches('0');
            let canon = if canon.is_empty() { "0" } else { canon };
            match parse_base_units(&s) {
                Ok(v) => prop_assert_eq!(format_base_units(v), canon),
                Err(e) => {
                    prop_assert_eq!(e, MoneyError::TooLarge);
                    prop_assert!(s.len() > 39 || canon.len() >= 39);
                }
            }
        }
    }
}
