//! Solana verification over JSON-RPC: `getTransaction` at `finalized`
//! (jsonParsed) and `getSlot` for the confirmations shown.

use serde_json::{Value, json};

use super::{ChainError, CheckTx, Expected, RpcVerifier, Verification, VerifyFuture, rejected};

/// Verifies Solana transactions through one JSON-RPC endpoint.
#[derive(Debug, Clone)]
pub struct SolanaVerifier(RpcVerifier);

impl SolanaVerifier {
    /// A verifier asking `url`. A `finalized` transaction is final; the
    /// confirmations (finalized slot − transaction slot + 1) must also
    /// reach `min_confirmations`.
    pub fn new(url: String, min_confirmations: u64) -> SolanaVerifier {
        SolanaVerifier(RpcVerifier::new(url, min_confirmations))
    }

    async fn verify(&self, tx: &str, expected: &Expected) -> Result<Verification, ChainError> {
        let SolanaVerifier(chain) = self;
        let cfg = json!({"encoding": "jsonParsed", "commitment": "finalized", "maxSupportedTransactionVersion": 0});
        let t = chain.rpc.call("getTransaction", json!([tx, cfg])).await?;
        if t.is_null() {
            // Unknown or not finalized yet.
            return Ok(chain.pending(0));
        }
        let Some(meta) = t.get("meta").filter(|m| !m.is_null()) else {
            return Ok(rejected("the transaction has no status metadata"));
        };
        if meta.get("err").is_some_and(|e| !e.is_null()) {
            return Ok(rejected("the transaction failed"));
        }
        let moved = match RpcVerifier::amount(balance_change(&t, meta, expected), expected) {
            Ok(moved) => moved,
            Err(rejection) => return Ok(rejection),
        };
        let slot = t.get("slot").and_then(Value::as_u64).unwrap_or(0);
        let head = chain.rpc.call("getSlot", json!([{"commitment": "finalized"}])).await?;
        let confirmations = head.as_u64().map_or(1, |h| h.saturating_sub(slot) + 1);
        Ok(chain.settle(moved, confirmations))
    }
}

impl CheckTx for SolanaVerifier {
    fn check<'a>(&'a self, tx: &'a str, expected: &'a Expected) -> VerifyFuture<'a> {
        Box::pin(self.verify(tx, expected))
    }
}

/// The increase of `expected.to` (or the decrease of `expected.from`).
fn balance_change(t: &Value, meta: &Value, expected: &Expected) -> Result<u128, String> {
    let (who, incoming) = match (&expected.to, &expected.from) {
        (Some(to), _) => (to.as_str(), true),
        (None, Some(from)) => (from.as_str(), false),
        (None, None) => return Err("nothing to check".into()),
    };
    let delta = |pre: u128, post: u128| if incoming { post.saturating_sub(pre) } else { pre.saturating_sub(post) };
    match &expected.token {
        Some(mint) => {
            let sum = |key: &str, want_mint: Option<&str>| -> u128 {
                meta.get(key)
                    .and_then(Value::as_array)
                    .map(|bs| {
                        bs.iter()
                            .filter(|b| b.get("owner").and_then(Value::as_str) == Some(who))
                            .filter(|b| want_mint.is_none_or(|m| b.get("mint").and_then(Value::as_str) == Some(m)))
                            .filter_map(|b| b.pointer("/uiTokenAmount/amount").and_then(Value::as_str))
                            .filter_map(|a| a.parse::<u128>().ok())
                            .fold(0u128, u128::saturating_add)
                    })
                    .unwrap_or(0)
            };
            let moved = delta(sum("preTokenBalances", Some(mint)), sum("postTokenBalances", Some(mint)));
            if moved == 0 {
                let any = delta(sum("preTokenBalances", None), sum("postTokenBalances", None));
                return Err(if any > 0 {
                    "wrong token: the transfer is not of the escrow's mint".into()
                } else if incoming {
                    format!("wrong recipient: no transfer to the escrow address {who}")
                } else {
                    format!("no transfer from the escrow address {who}")
                });
            }
            Ok(moved)
        }
        None => {
            let keys =
                t.pointer("/transaction/message/accountKeys").and_then(Value::as_array).cloned().unwrap_or_default();
            let index =
                keys.iter().position(|k| k.as_str().or_else(|| k.get("pubkey").and_then(Value::as_str)) == Some(who));
            let Some(i) = index else {
                return Err(if incoming {
                    format!("wrong recipient: the escrow address {who} is not in the transaction")
                } else {
                    format!("the escrow address {who} is not in the transaction")
                });
            };
            let at = |key: &str| meta.get(key).and_then(|b| b.get(i)).and_then(Value::as_u64).map_or(0, u128::from);
            let moved = delta(at("preBalances"), at("postBalances"));
            if moved == 0 {
                return Err(if incoming {
                    format!("wrong recipient: no SOL paid to the escrow address {who}")
                } else {
                    format!("no SOL paid from the escrow address {who}")
                });
            }
            Ok(moved)
        }
    }
}
