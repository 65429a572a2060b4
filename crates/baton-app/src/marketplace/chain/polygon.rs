//! Polygon (EVM) verification over JSON-RPC: `eth_getTransactionReceipt`,
//! `eth_getTransactionByHash` (native coin value), `eth_blockNumber`.

use serde_json::{Value, json};

use super::{ChainError, CheckTx, Expected, RpcVerifier, Verification, VerifyFuture, rejected};

/// topic0 of `Transfer(address,address,uint256)`.
pub const TRANSFER_TOPIC: &str = "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef";

/// Verifies Polygon transactions through one JSON-RPC endpoint.
#[derive(Debug, Clone)]
pub struct PolygonVerifier(RpcVerifier);

impl PolygonVerifier {
    /// A verifier asking `url`, requiring `min_confirmations`.
    pub fn new(url: String, min_confirmations: u64) -> PolygonVerifier {
        PolygonVerifier(RpcVerifier::new(url, min_confirmations))
    }

    async fn verify(&self, tx: &str, expected: &Expected) -> Result<Verification, ChainError> {
        let PolygonVerifier(chain) = self;
        let receipt = chain.rpc.call("eth_getTransactionReceipt", json!([tx])).await?;
        if receipt.is_null() {
            return Ok(chain.pending(0));
        }
        if receipt.get("status").and_then(Value::as_str) != Some("0x1") {
            return Ok(rejected("the transaction reverted"));
        }
        let moved = match &expected.token {
            Some(token) => transferred(&receipt, token, expected),
            None => native_value(&chain.rpc.call("eth_getTransactionByHash", json!([tx])).await?, expected),
        };
        let moved = match RpcVerifier::amount(moved, expected) {
            Ok(moved) => moved,
            Err(rejection) => return Ok(rejection),
        };
        let block = receipt.get("blockNumber").and_then(Value::as_str).and_then(hex_u128);
        let head = chain.rpc.call("eth_blockNumber", json!([])).await?;
        let head = head.as_str().and_then(hex_u128);
        let confirmations = match (block, head) {
            (Some(b), Some(h)) if h >= b => u64::try_from(h - b + 1).unwrap_or(u64::MAX),
            _ => 0,
        };
        Ok(chain.settle(moved, confirmations))
    }
}

impl CheckTx for PolygonVerifier {
    fn check<'a>(&'a self, tx: &'a str, expected: &'a Expected) -> VerifyFuture<'a> {
        Box::pin(self.verify(tx, expected))
    }
}

/// Parses a `0x` hex quantity; values beyond u128 saturate (they exceed
/// any escrow anyway).
fn hex_u128(s: &str) -> Option<u128> {
    let h = s.strip_prefix("0x")?.trim_start_matches('0');
    if h.is_empty() {
        return Some(0);
    }
    if !h.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    if h.len() > 32 {
        return Some(u128::MAX);
    }
    u128::from_str_radix(h, 16).ok()
}

/// The address in a 32-byte topic (last 20 bytes).
fn topic_address(topic: &str) -> Option<String> {
    let h = topic.strip_prefix("0x")?;
    (h.len() == 64).then(|| format!("0x{}", &h[24..]).to_ascii_lowercase())
}

fn same_address(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

/// Sums the ERC-20 transfers of `token` matching `expected`'s from/to.
fn transferred(receipt: &Value, token: &str, expected: &Expected) -> Result<u128, String> {
    let logs = receipt.get("logs").and_then(Value::as_array).cloned().unwrap_or_default();
    let mut total: u128 = 0;
    let mut other_token = false;
    for log in &logs {
        let topics: Vec<&str> = log
            .get("topics")
            .and_then(Value::as_array)
            .map(|t| t.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        if topics.len() != 3 || !topics[0].eq_ignore_ascii_case(TRANSFER_TOPIC) {
            continue;
        }
        let (Some(from), Some(to)) = (topic_address(topics[1]), topic_address(topics[2])) else { continue };
        if expected.to.as_deref().is_some_and(|t| !same_address(t, &to))
            || expected.from.as_deref().is_some_and(|f| !same_address(f, &from))
        {
            continue;
        }
        let contract = log.get("address").and_then(Value::as_str).unwrap_or_default();
        if !same_address(contract, token) {
            other_token = true;
            continue;
        }
        let value = log.get("data").and_then(Value::as_str).and_then(hex_u128).unwrap_or(0);
        total = total.saturating_add(value);
    }
    match (total, other_token) {
        (0, true) => Err("wrong token: the transfer is not of the escrow's currency".into()),
        (0, false) => Err(match (&expected.to, &expected.from) {
            (Some(to), _) => format!("wrong recipient: no transfer to the escrow address {to}"),
            (None, Some(from)) => format!("no transfer from the escrow address {from}"),
            (None, None) => "no token transfer in the transaction".into(),
        }),
        (v, _) => Ok(v),
    }
}

/// The native coin value of a transaction matching `expected`'s from/to.
fn native_value(tx: &Value, expected: &Expected) -> Result<u128, String> {
    if tx.is_null() {
        return Err("transaction not found".into());
    }
    let to = tx.get("to").and_then(Value::as_str).unwrap_or_default();
    let from = tx.get("from").and_then(Value::as_str).unwrap_or_default();
    if let Some(want) = &expected.to
        && !same_address(want, to)
    {
        return Err(format!("wrong recipient: the transaction pays {to}, not the escrow address {want}"));
    }
    if let Some(want) = &expected.from
        && !same_address(want, from)
    {
        return Err(format!("the transaction is not sent by the escrow address {want}"));
    }
    Ok(tx.get("value").and_then(Value::as_str).and_then(hex_u128).unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_quantities_parse_and_saturate() {
        assert_eq!(hex_u128("0x0"), Some(0));
        assert_eq!(hex_u128("0x1b4"), Some(436));
        assert_eq!(hex_u128(&format!("0x{}", "f".repeat(64))), Some(u128::MAX));
        assert_eq!(hex_u128("12"), None);
        assert_eq!(hex_u128("0xzz"), None);
    }

    #[test]
    fn topics_carry_addresses_in_their_last_20_bytes() {
        let t = format!("0x{}{}", "0".repeat(24), "AbCdEf0000000000000000000000000000000001");
        assert_eq!(topic_address(&t).as_deref(), Some("0xabcdef0000000000000000000000000000000001"));
        assert_eq!(topic_address("0x12"), None);
    }
}
