//! Percentiles and formatting shared by the benchmarks.

use std::time::Duration;

use serde_json::{Value, json};

/// Order statistics of a set of samples.
#[derive(Debug, Clone, Copy)]
pub struct Stats {
    /// Samples.
    pub n: usize,
    /// Median.
    pub p50: Duration,
    /// 95th percentile.
    pub p95: Duration,
    /// 99th percentile.
    pub p99: Duration,
    /// Largest sample.
    pub max: Duration,
}

impl Stats {
    /// Sorts `samples` and reads the percentiles (nearest-rank method, so a
    /// percentile is always one of the measured values). `None` when empty.
    pub fn of(samples: &mut [Duration]) -> Option<Stats> {
        if samples.is_empty() {
            return None;
        }
        samples.sort();
        let len = samples.len();
        let at = |q: f64| samples[((len as f64 * q).ceil() as usize).clamp(1, len) - 1];
        Some(Stats { n: len, p50: at(0.50), p95: at(0.95), p99: at(0.99), max: samples[len - 1] })
    }

    /// `{n, p50_ms, p95_ms, p99_ms, max_ms}`.
    pub fn json(&self) -> Value {
        json!({
            "n": self.n,
            "p50_ms": ms_f(self.p50),
            "p95_ms": ms_f(self.p95),
            "p99_ms": ms_f(self.p99),
            "max_ms": ms_f(self.max),
        })
    }
}

/// `a / b` as a plain number (b never zero).
pub fn ratio(a: Duration, b: Duration) -> f64 {
    a.as_secs_f64() / b.as_secs_f64().max(1e-9)
}

/// Milliseconds with microsecond resolution, for JSON.
pub fn ms_f(d: Duration) -> f64 {
    (d.as_secs_f64() * 1_000_000.0).round() / 1000.0
}

/// Milliseconds with two decimals, for tables.
pub fn ms(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64() * 1000.0)
}

/// "meets target" or "MISSES target".
pub fn verdict(ok: bool) -> &'static str {
    if ok { "meets target" } else { "MISSES target" }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank() {
        let mut v: Vec<Duration> = (1..=100).rev().map(Duration::from_millis).collect();
        let s = Stats::of(&mut v).expect("samples");
        assert_eq!((s.n, s.p50, s.p95, s.p99, s.max), (100, ms_d(50), ms_d(95), ms_d(99), ms_d(100)));
        let mut one = vec![ms_d(7)];
        let s = Stats::of(&mut one).expect("one sample");
        assert_eq!((s.p50, s.p99, s.max), (ms_d(7), ms_d(7), ms_d(7)));
        assert!(Stats::of(&mut []).is_none());
    }

    fn ms_d(n: u64) -> Duration {
        Duration::from_millis(n)
    }
}
