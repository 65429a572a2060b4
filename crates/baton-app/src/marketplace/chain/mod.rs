//! Verifying escrow transactions on chain: one [`ChainVerifier`] trait, one
//! implementation per chain ([`polygon`], [`solana`]), both plain JSON-RPC
//! over HTTP.
//!
//! Decisions:
//! - The escrow address is one platform address per chain (configured),
//!   not a contract per escrow: funding is a plain transfer to it. On
//!   Polygon we accept ERC-20 `Transfer` logs (topic0 `0xddf252ad…`) emitted
//!   by the allow-listed token contract of the escrow's currency to that
//!   address (summed over the transaction), or for the native coin the
//!   transaction's `value` to it. A contract's `Deposited` event is not
//!   accepted: no escrow contract is deployed in v1, and the event alone
//!   would not prove which token moved.
//! - Solana: the transaction must be `finalized` (that is the check; the
//!   confirmations reported come from `getSlot`); the escrow owner's token
//!   balance for the allow-listed mint (SPL) or the escrow account's
//!   lamports (SOL) must grow by at least the amount.
//! - Release and refund transactions are verified the same way from the
//!   other side: the escrow address's balance of the token must fall by at
//!   least the expected amount (expert share, or the full amount).
//! - An unreachable RPC, a non-2xx answer or a JSON-RPC error is transient
//!   ([`ChainError`]): the escrow stays as it is and is re-checked.

pub mod polygon;
pub mod solana;

use std::{future::Future, pin::Pin, time::Duration};

use baton_domain::marketplace::{Blockchain, Currency};
use serde_json::{Value, json};

/// Token contracts (Polygon) or mints (Solana) accepted per currency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenAllow {
    /// The currency.
    pub currency: Currency,
    /// The contract address or mint.
    pub address: String,
}

/// One chain's settings.
#[derive(Debug, Clone)]
pub struct ChainSettings {
    /// Network name (`mainnet`, `amoy`, `devnet`).
    pub network: String,
    /// EIP-155 chain id for EVM chains (137 Polygon, 80002 Amoy); 0 on Solana.
    pub chain_id: u64,
    /// JSON-RPC endpoint; `None` = verification not configured (503).
    pub rpc_url: Option<String>,
    /// Where clients pay escrows on this chain (platform address).
    pub escrow_address: String,
    /// Allowed token contracts / mints.
    pub tokens: Vec<TokenAllow>,
    /// Confirmations required before an escrow counts as funded.
    pub min_confirmations: u64,
}

impl ChainSettings {
    /// Polygon defaults for `network` (`mainnet` or `amoy`), with the public
    /// USDC (native) and USDT contracts; `None` for an unknown network.
    pub fn polygon(network: &str) -> Option<ChainSettings> {
        let (chain_id, tokens): (u64, &[(Currency, &str)]) = match network {
            "mainnet" => (
                137,
                &[
                    (Currency::Usdc, "0x3c499c542cEF5E3811e1192ce70d8cC03d5c3359"),
                    (Currency::Usdt, "0xc2132D05D31c914a87C6611C10748AEb04B58e8F"),
                    (Currency::Eth, "0x7ceB23fD6bC0adD59E62ac25578270cFf1b9f619"),
                ],
            ),
            "amoy" => (80002, &[(Currency::Usdc, "0x41E94Eb019C0762f9Bfcf9Fb1E58725BfB0e7582")]),
            _ => return None,
        };
        Some(ChainSettings {
            network: network.into(),
            chain_id,
            rpc_url: None,
            escrow_address: String::new(),
            tokens: tokens.iter().map(|(c, a)| TokenAllow { currency: *c, address: (*a).into() }).collect(),
            min_confirmations: 12,
        })
    }

    /// Solana defaults for `network` (`mainnet` or `devnet`) with the
    /// public USDC mints; `None` for an unknown network.
    pub fn solana(network: &str) -> Option<ChainSettings> {
        let mint = match network {
            "mainnet" => "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v",
            "devnet" => "4zMMC9srt5Ri5X14GAgXhaHii3GnPAEERYPJgZJDncDU",
            _ => return None,
        };
        Some(ChainSettings {
            network: network.into(),
            chain_id: 0,
            rpc_url: None,
            escrow_address: String::new(),
            tokens: vec![TokenAllow { currency: Currency::UsdcSpl, address: mint.into() }],
            min_confirmations: 1,
        })
    }

    /// The token contract / mint of `currency`; `Ok(None)` for the chain's
    /// native coin (MATIC, SOL); `Err` when the currency has no allowed token.
    pub fn token_for(&self, currency: Currency) -> Result<Option<&str>, String> {
        if matches!(currency, Currency::Matic | Currency::Sol) {
            return Ok(None);
        }
        self.tokens
            .iter()
            .find(|t| t.currency == currency)
            .map(|t| Some(t.address.as_str()))
            .ok_or_else(|| format!("no {currency} token is configured on {}", self.network))
    }
}

/// Chain settings and the platform fee, part of [`crate::AppConfig`].
#[derive(Debug, Clone)]
pub struct ChainConfig {
    /// Polygon settings.
    pub polygon: ChainSettings,
    /// Solana settings.
    pub solana: ChainSettings,
    /// Platform fee in basis points (500 = 5 %).
    pub fee_bps: u32,
    /// Flat platform fee in hundredths of the display unit, applied to
    /// stablecoin escrows only (USDC, USDT, USDC-SPL): without a price feed
    /// a flat fee in MATIC, ETH or SOL would mean nothing.
    pub fee_flat_minor: i64,
}

impl Default for ChainConfig {
    fn default() -> Self {
        ChainConfig {
            polygon: ChainSettings::polygon("mainnet").expect("known network"),
            solana: ChainSettings::solana("mainnet").expect("known network"),
            fee_bps: baton_domain::marketplace::DEFAULT_PLATFORM_FEE_BPS.unsigned_abs(),
            fee_flat_minor: 0,
        }
    }
}

impl ChainConfig {
    /// The settings of `chain`.
    pub fn settings(&self, chain: Blockchain) -> &ChainSettings {
        match chain {
            Blockchain::Polygon => &self.polygon,
            Blockchain::Solana => &self.solana,
        }
    }

    /// The verifier of `chain`, `None` when it has no RPC endpoint.
    pub fn verifier(&self, chain: Blockchain) -> Option<Box<dyn ChainVerifier>> {
        let s = self.settings(chain);
        let url = s.rpc_url.clone()?;
        Some(match chain {
            Blockchain::Polygon => Box::new(polygon::PolygonVerifier::new(url, s.min_confirmations)),
            Blockchain::Solana => Box::new(solana::SolanaVerifier::new(url, s.min_confirmations)),
        })
    }
}

/// What a transaction must show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expected {
    /// Token contract / mint; `None` for the native coin.
    pub token: Option<String>,
    /// Address whose balance must grow (funding: the escrow address).
    pub to: Option<String>,
    /// Address whose balance must fall (release, refund: the escrow address).
    pub from: Option<String>,
    /// The least amount moved, in base units.
    pub min_amount: u128,
}

/// The outcome of checking one transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verification {
    /// It does what was expected and is final enough.
    Confirmed {
        /// Base units moved.
        amount: u128,
        /// Confirmations seen.
        confirmations: u64,
    },
    /// Not mined/finalized yet, or too few confirmations: check again.
    Pending {
        /// Confirmations seen so far.
        confirmations: u64,
        /// Confirmations needed.
        needed: u64,
    },
    /// It can never satisfy the expectation (reverted, wrong token,
    /// wrong recipient, too little).
    Rejected {
        /// Why, for the client.
        reason: String,
    },
}

/// A transient failure: the chain could not be asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("chain RPC unavailable: {0}")]
pub struct ChainError(pub String);

/// A boxed future of a verification.
pub type VerifyFuture<'a> = Pin<Box<dyn Future<Output = Result<Verification, ChainError>> + Send + 'a>>;

/// Checks escrow transactions on one chain.
pub trait ChainVerifier: Send + Sync {
    /// Checks a funding transaction: `expected.to` receives at least
    /// `expected.min_amount` of `expected.token`.
    fn verify_funding<'a>(&'a self, tx: &'a str, expected: &'a Expected) -> VerifyFuture<'a>;
    /// Checks a release or refund transaction: `expected.from` (the escrow
    /// address) pays out at least `expected.min_amount` of the token.
    fn verify_payout<'a>(&'a self, tx: &'a str, expected: &'a Expected) -> VerifyFuture<'a>;
}

/// One transaction check of a JSON-RPC verifier: release and refund
/// transactions are checked like funding ones, from the other side
/// ([`Expected::from`] instead of [`Expected::to`]), so each chain writes
/// the check once and gets [`ChainVerifier`] from it.
pub(crate) trait CheckTx: Send + Sync {
    /// Checks `tx` against `expected`, in either direction.
    fn check<'a>(&'a self, tx: &'a str, expected: &'a Expected) -> VerifyFuture<'a>;
}

impl<T: CheckTx> ChainVerifier for T {
    fn verify_funding<'a>(&'a self, tx: &'a str, expected: &'a Expected) -> VerifyFuture<'a> {
        self.check(tx, expected)
    }

    fn verify_payout<'a>(&'a self, tx: &'a str, expected: &'a Expected) -> VerifyFuture<'a> {
        self.check(tx, expected)
    }
}

/// What the JSON-RPC verifiers share: the endpoint and the confirmations a
/// transaction needs, and how an amount moved becomes a [`Verification`].
#[derive(Debug, Clone)]
pub(crate) struct RpcVerifier {
    /// The chain's JSON-RPC endpoint.
    pub(crate) rpc: RpcClient,
    /// Confirmations needed (at least 1).
    pub(crate) min_confirmations: u64,
}

impl RpcVerifier {
    /// A verifier asking `url`, requiring `min_confirmations` (at least 1).
    pub(crate) fn new(url: String, min_confirmations: u64) -> RpcVerifier {
        RpcVerifier { rpc: RpcClient::new(url), min_confirmations: min_confirmations.max(1) }
    }

    /// Not seen yet, or not final enough: check again.
    pub(crate) fn pending(&self, confirmations: u64) -> Verification {
        Verification::Pending { confirmations, needed: self.min_confirmations }
    }

    /// The amount a transaction moved, or the rejection: why nothing
    /// matching moved, or that it is below what is expected. Checked before
    /// the chain head is asked for, which a rejected transaction does not
    /// need.
    pub(crate) fn amount(moved: Result<u128, String>, expected: &Expected) -> Result<u128, Verification> {
        match moved {
            Err(reason) => Err(rejected(&reason)),
            Ok(moved) if moved < expected.min_amount => {
                Err(rejected(&format!("too little: {moved} base units, {} expected", expected.min_amount)))
            }
            Ok(moved) => Ok(moved),
        }
    }

    /// Confirmed with `amount` once `confirmations` reach the minimum, else
    /// pending.
    pub(crate) fn settle(&self, amount: u128, confirmations: u64) -> Verification {
        if confirmations >= self.min_confirmations {
            Verification::Confirmed { amount, confirmations }
        } else {
            self.pending(confirmations)
        }
    }
}

/// A transaction that can never satisfy the expectation, and why.
pub(crate) fn rejected(reason: &str) -> Verification {
    Verification::Rejected { reason: reason.to_string() }
}

/// A minimal JSON-RPC 2.0 client.
#[derive(Debug, Clone)]
pub(crate) struct RpcClient {
    url: String,
    http: reqwest::Client,
}

impl RpcClient {
    pub(crate) fn new(url: String) -> RpcClient {
        // reqwest is built without a default TLS provider; install ring once
        // (a no-op when the binary already did).
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().unwrap_or_default();
        RpcClient { url, http }
    }

    /// Calls `method`; the `result` member (possibly `null`), or a
    /// [`ChainError`] for transport failures and JSON-RPC errors.
    pub(crate) async fn call(&self, method: &str, params: Value) -> Result<Value, ChainError> {
        let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
        let resp = self
            .http
            .post(&self.url)
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .await
            .map_err(|e| ChainError(format!("{method}: {e}")))?;
        let status = resp.status();
        let bytes = resp.bytes().await.map_err(|e| ChainError(format!("{method}: {e}")))?;
        if !status.is_success() {
            return Err(ChainError(format!("{method}: HTTP {status}")));
        }
        let mut v: Value = serde_json::from_slice(&bytes).map_err(|e| ChainError(format!("{method}: {e}")))?;
        if let Some(err) = v.get("error").filter(|e| !e.is_null()) {
            return Err(ChainError(format!("{method}: {err}")));
        }
        Ok(v.get_mut("result").map(Value::take).unwrap_or(Value::Null))
    }
}

/// Whether `tx` looks like a transaction id of `chain`: `0x` + 64 hex
/// digits on Polygon, 64–88 base58 characters on Solana.
pub fn valid_tx_hash(chain: Blockchain, tx: &str) -> bool {
    match chain {
        Blockchain::Polygon => tx.len() == 66 && tx.starts_with("0x") && tx[2..].bytes().all(|b| b.is_ascii_hexdigit()),
        Blockchain::Solana => {
            (64..=88).contains(&tx.len())
                && tx.bytes().all(|b| b.is_ascii_alphanumeric() && !matches!(b, b'0' | b'O' | b'I' | b'l'))
        }
    }
}
