//! Token cost arithmetic, exact. Prices are integer micro-units (1e-6 of
//! the currency) per million tokens, so a price per single token is an
//! integer number of pico-units (1e-12): cost = Σ tokens × price, with no
//! rounding until it is shown.

/// Prices of one model, in micro-units per million tokens.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Prices {
    /// Input tokens.
    pub input: i64,
    /// Output tokens (thinking tokens are billed as output).
    pub output: i64,
    /// Cache reads.
    pub cache_read: i64,
    /// Cache writes.
    pub cache_write: i64,
}

/// Tokens used by one job.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    /// Input tokens.
    pub input: i64,
    /// Output tokens.
    pub output: i64,
    /// Cache-read tokens.
    pub cache_read: i64,
    /// Cache-write tokens.
    pub cache_write: i64,
}

/// An exact amount in pico-units (1e-12) of a currency.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Pico(pub i128);

impl Pico {
    /// Adds two amounts.
    pub fn plus(self, other: Pico) -> Pico {
        Pico(self.0 + other.0)
    }

    /// A decimal string with `places` fraction digits (≤ 12), rounded half
    /// away from zero: `Pico(4_500_000_000).to_decimal(6)` → `"0.004500"`.
    pub fn to_decimal(self, places: u32) -> String {
        let places = places.min(12);
        let scale = 10i128.pow(12 - places);
        let v = self.0;
        let rounded = if v >= 0 { (v + scale / 2) / scale } else { (v - scale / 2) / scale };
        let unit = 10i128.pow(places);
        let sign = if rounded < 0 { "-" } else { "" };
        let abs = rounded.abs();
        if places == 0 {
            format!("{sign}{abs}")
        } else {
            format!("{sign}{}.{:0width$}", abs / unit, abs % unit, width = places as usize)
        }
    }
}

/// The exact cost of `usage` at `prices`.
pub fn cost(usage: Usage, prices: Prices) -> Pico {
    let part = |tokens: i64, price: i64| i128::from(tokens) * i128::from(price);
    Pico(
        part(usage.input, prices.input)
            + part(usage.output, prices.output)
            + part(usage.cache_read, prices.cache_read)
            + part(usage.cache_write, prices.cache_write),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_million_tokens_cost_exactly_the_list_price() {
        // $3.00 per 1M input, $15.00 per 1M output.
        let p = Prices { input: 3_000_000, output: 15_000_000, ..Default::default() };
        assert_eq!(cost(Usage { input: 1_000_000, ..Default::default() }, p).to_decimal(2), "3.00");
        assert_eq!(cost(Usage { output: 1, ..Default::default() }, p).to_decimal(6), "0.000015");
        let mixed = cost(Usage { input: 1234, output: 567, cache_read: 0, cache_write: 0 }, p);
        // 1234 × 3e-6 + 567 × 15e-6 = 0.003702 + 0.008505
        assert_eq!(mixed.to_decimal(6), "0.012207");
    }

    #[test]
    fn sums_do_not_drift_and_rounding_is_half_away_from_zero() {
        let p = Prices { input: 1, ..Default::default() }; // 1e-12 per token
        let mut total = Pico::default();
        for _ in 0..1_000_000 {
            total = total.plus(cost(Usage { input: 1, ..Default::default() }, p));
        }
        assert_eq!(total, Pico(1_000_000));
        assert_eq!(total.to_decimal(6), "0.000001");
        assert_eq!(Pico(500_000).to_decimal(6), "0.000001");
        assert_eq!(Pico(499_999).to_decimal(6), "0.000000");
        assert_eq!(Pico(-1_500_000).to_decimal(6), "-0.000002");
        assert_eq!(Pico(7 * 10i128.pow(12)).to_decimal(0), "7");
    }
}
