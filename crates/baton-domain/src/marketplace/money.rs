//! Amounts and fees (marketplace reference §5.3, §4.3): base-unit integer
//! strings in u128, display units, the flat + bps fee and the expert's share.

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minor_units_scale_to_each_chains_base_unit() {
        assert_eq!(minor_to_base_units(1234, Currency::Usdc), Ok(12_340_000));
        assert_eq!(minor_to_base_units(1, Currency::Sol), Ok(10_000_000));
        assert_eq!(minor_to_base_units(i64::MAX, Currency::Eth), Ok(i64::MAX as u128 * 10u128.pow(16)));
        assert_eq!(minor_to_base_units(0, Currency::Usdc), Err(MoneyError::NotPositive));
        assert_eq!(minor_to_base_units(-5, Currency::Usdc), Err(MoneyError::NotPositive));
        assert_eq!(minor_to_base_units(5, Currency::Usd), Err(MoneyError::NotOnChain(Currency::Usd)));
    }
}
