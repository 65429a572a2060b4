//! Escrow funding, release and refund against local fake JSON-RPC servers
//! answering with the real response shapes of `eth_getTransactionReceipt`,
//! `eth_getTransactionByHash`, `eth_blockNumber` and Solana
//! `getTransaction` (jsonParsed) / `getSlot`, on both backends.

mod common;

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use baton_app::{Actor, App, AppConfig, AppError, marketplace::escrows};
use baton_domain::roles::Role;
use baton_store::{
    entities::{escrow, opportunity},
    new_id, now,
    sea_orm::{ActiveModelTrait, EntityTrait, IntoActiveModel, Set},
};
use baton_testkit::{backend_tests, market};
use common::{product_of, user_with};
use serde_json::{Value, json};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpListener,
};

const USDC: &str = "0x3c499c542cef5e3811e1192ce70d8cc03d5c3359";
const USDT: &str = "0xc2132d05d31c914a87c6611c10748aeb04b58e8f";
const POLY_ESCROW: &str = "0x1111111111111111111111111111111111111111";
const CLIENT_WALLET: &str = "0x2222222222222222222222222222222222222222";
const SOL_ESCROW: &str = "EscrowPDA1111111111111111111111111111111111";
const SOL_CLIENT: &str = "ClientWa11et111111111111111111111111111111";
const USDC_MINT: &str = "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v";

/// The fake chain state both fake nodes answer from.
#[derive(Default)]
struct Chain {
    receipts: HashMap<String, Value>,
    txs: HashMap<String, Value>,
    head: u64,
    sol_txs: HashMap<String, Value>,
    slot: u64,
    down: bool,
}

type Shared = Arc<Mutex<Chain>>;

/// Serves JSON-RPC over HTTP/1.1 on 127.0.0.1:0; returns the URL.
async fn fake_node(state: Shared) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            let state = state.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                let body = loop {
                    let n = sock.read(&mut chunk).await.unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    let text = String::from_utf8_lossy(&buf).to_string();
                    if let Some(end) = text.find("\r\n\r\n") {
                        let len = text[..end]
                            .lines()
                            .find_map(|l| {
                                l.to_ascii_lowercase()
                                    .strip_prefix("content-length:")
                                    .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                            })
                            .unwrap_or(0);
                        if buf.len() >= end + 4 + len {
                            break buf[end + 4..end + 4 + len].to_vec();
                        }
                    }
                };
                let (status, out) = answer(&state, &body);
                let resp = format!(
                    "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{out}",
                    out.len()
                );
                let _ = sock.write_all(resp.as_bytes()).await;
            });
        }
    });
    format!("http://{addr}")
}

fn answer(state: &Shared, body: &[u8]) -> (&'static str, String) {
    let chain = state.lock().expect("lock");
    if chain.down {
        return ("502 Bad Gateway", String::new());
    }
    let req: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let p0 = req["params"][0].as_str().unwrap_or_default().to_string();
    let result = match req["method"].as_str().unwrap_or_default() {
        "eth_getTransactionReceipt" => chain.receipts.get(&p0).cloned().unwrap_or(Value::Null),
        "eth_getTransactionByHash" => chain.txs.get(&p0).cloned().unwrap_or(Value::Null),
        "eth_blockNumber" => json!(format!("{:#x}", chain.head)),
        "getTransaction" => {
            assert_eq!(req["params"][1]["commitment"], "finalized");
            assert_eq!(req["params"][1]["encoding"], "jsonParsed");
            chain.sol_txs.get(&p0).cloned().unwrap_or(Value::Null)
        }
        "getSlot" => json!(chain.slot),
        other => {
            let err = json!({"jsonrpc": "2.0", "id": req["id"], "error": {"code": -32601, "message": format!("the method {other} does not exist")}});
            return ("200 OK", err.to_string());
        }
    };
    ("200 OK", json!({"jsonrpc": "2.0", "id": req["id"], "result": result}).to_string())
}

fn pad(addr: &str) -> String {
    format!("0x{}{}", "0".repeat(24), addr.trim_start_matches("0x"))
}

fn hash(n: u8) -> String {
    format!("0x{}", format!("{n:02x}").repeat(32))
}

fn sig(n: u8) -> String {
    format!("{}{}", "5".repeat(86), n % 10 + 1)
}

/// An `eth_getTransactionReceipt` result with one ERC-20 Transfer log.
fn receipt(tx: &str, status: &str, block: u64, token: &str, from: &str, to: &str, amount: u128) -> Value {
    json!({
        "blockHash": format!("0x{}", "ab".repeat(32)),
        "blockNumber": format!("{block:#x}"),
        "contractAddress": null,
        "cumulativeGasUsed": "0x1f4a3",
        "effectiveGasPrice": "0x6fc23ac00",
        "from": from,
        "gasUsed": "0xb411",
        "logs": [{
            "address": token,
            "topics": [
                "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef",
                pad(from),
                pad(to)
            ],
            "data": format!("0x{amount:064x}"),
            "blockNumber": format!("{block:#x}"),
            "transactionHash": tx,
            "transactionIndex": "0x3",
            "blockHash": format!("0x{}", "ab".repeat(32)),
            "logIndex": "0x7",
            "removed": false
        }],
        "logsBloom": format!("0x{}", "0".repeat(512)),
        "status": status,
        "to": token,
        "transactionHash": tx,
        "transactionIndex": "0x3",
        "type": "0x2"
    })
}

/// A Solana `getTransaction` (jsonParsed) result moving `amount` of `mint`
/// (or lamports when `mint` is None) from `from` to `to`.
fn sol_tx(slot: u64, err: Value, mint: Option<&str>, from: &str, to: &str, amount: u64) -> Value {
    let keys = json!([
        {"pubkey": from, "signer": true, "source": "transaction", "writable": true},
        {"pubkey": to, "signer": false, "source": "transaction", "writable": true},
        {"pubkey": "11111111111111111111111111111111", "signer": false, "source": "transaction", "writable": false}
    ]);
    let (pre, post, pre_tok, post_tok) = match mint {
        None => (
            json!([10_000_000_000u64, 5, 1]),
            json!([10_000_000_000u64 - amount - 5000, 5 + amount, 1]),
            json!([]),
            json!([]),
        ),
        Some(m) => {
            let bal = |idx: u64, owner: &str, amt: u64| {
                json!({
                    "accountIndex": idx, "mint": m, "owner": owner,
                    "programId": "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA",
                    "uiTokenAmount": {"amount": amt.to_string(), "decimals": 6, "uiAmount": amt as f64 / 1e6, "uiAmountString": (amt as f64 / 1e6).to_string()}
                })
            };
            (
                json!([10_000_000u64, 2_039_280u64, 1]),
                json!([9_995_000u64, 2_039_280u64, 1]),
                json!([bal(3, from, 100_000_000), bal(4, to, 0)]),
                json!([bal(3, from, 100_000_000 - amount), bal(4, to, amount)]),
            )
        }
    };
    json!({
        "blockTime": 1_733_300_000,
        "meta": {
            "computeUnitsConsumed": 4644,
            "err": err,
            "fee": 5000,
            "innerInstructions": [],
            "logMessages": [],
            "postBalances": post,
            "postTokenBalances": post_tok,
            "preBalances": pre,
            "preTokenBalances": pre_tok,
            "rewards": [],
            "status": if err.is_null() { json!({"Ok": null}) } else { json!({"Err": err}) }
        },
        "slot": slot,
        "transaction": {
            "message": {"accountKeys": keys, "instructions": [], "recentBlockhash": "9rAtxuhtKn8qagc3UtZFyhLrw5zgp1vHkXh3Cy5vm1AF"},
            "signatures": ["x"]
        },
        "version": 0
    })
}

struct World {
    app: App,
    chain: Shared,
    client: Actor,
    expert: Actor,
    other: Actor,
    admin: Actor,
    demo: Actor,
    project: String,
}

async fn world(db: baton_store::Db, rpc: bool) -> World {
    let chain: Shared = Arc::new(Mutex::new(Chain { head: 100, slot: 500, ..Chain::default() }));
    let mut config = AppConfig::default();
    config.chains.polygon.escrow_address = POLY_ESCROW.into();
    config.chains.solana.escrow_address = SOL_ESCROW.into();
    if rpc {
        let url = fake_node(chain.clone()).await;
        config.chains.polygon.rpc_url = Some(url.clone());
        config.chains.solana.rpc_url = Some(url);
    }
    let app = App::local(db, config);
    let client = user_with(&app, "client", false, &[Role::Client]).await;
    let expert = user_with(&app, "expert", false, &[Role::Developer]).await;
    let other = user_with(&app, "other", false, &[Role::Developer]).await;
    let admin = user_with(&app, "root", false, &[Role::Admin]).await;
    let demo = user_with(&app, "demo", true, &[Role::Client]).await;
    let project = product_of(&app, &client, "Shop").await;
    World { app, chain, client, expert, other, admin, demo, project }
}

/// An escrow row inserted directly (the bids service is not involved).
async fn escrow_row(
    w: &World,
    client: &Actor,
    currency: &str,
    chain: &str,
    amount: u128,
    status: &str,
) -> escrow::Model {
    let opp = opportunity::ActiveModel {
        title: Set("PRD".into()),
        description: Set("Write the PRD".into()),
        budget_min: Set(100),
        budget_max: Set(100_000),
        currency: Set(currency.into()),
        ..market::opportunity(&w.project, "PM")
    }
    .insert(&w.app.db)
    .await
    .expect("opportunity");
    escrow::ActiveModel {
        opportunity_id: Set(Some(opp.id)),
        amount: Set(amount.to_string()),
        currency: Set(currency.into()),
        blockchain: Set(chain.into()),
        status: Set(status.into()),
        contract_address: Set(if chain == "POLYGON" { POLY_ESCROW } else { SOL_ESCROW }.into()),
        ..market::escrow(&w.project, &client.user_id, &w.expert.user_id)
    }
    .insert(&w.app.db)
    .await
    .expect("escrow")
}

async fn reload(w: &World, id: &str) -> escrow::Model {
    escrow::Entity::find_by_id(id.to_string()).one(&w.app.db).await.expect("read").expect("row")
}

/// Makes the background re-check of `id` due now.
async fn make_due(w: &World, id: &str) {
    let mut m = reload(w, id).await.into_active_model();
    m.next_check_at = Set(Some(now() - chrono::Duration::seconds(1)));
    m.update(&w.app.db).await.expect("due");
}

fn kind(e: &AppError) -> &'static str {
    match e {
        AppError::Validation(_) => "422",
        AppError::NotFound(_) => "404",
        AppError::Forbidden(_) | AppError::DemoReadOnly => "403",
        AppError::Conflict(_) => "409",
        AppError::Unavailable(_) => "503",
        _ => "other",
    }
}

backend_tests! {
    async fn accepted_bids_get_an_escrow_with_the_configured_fee_and_address(t) {
        let w = world(t.db.clone(), false).await;
        let seed = escrow_row(&w, &w.client, "USDC", "POLYGON", 1, "PENDING").await;
        let opp = opportunity::Entity::find_by_id(seed.opportunity_id.clone().expect("opportunity"))
            .one(&w.app.db).await.expect("read").expect("row");
        let bid = |amount: i64, currency: &str| baton_store::entities::bid::Model {
            id: new_id(), opportunity_id: opp.id.clone(), expert_id: w.expert.user_id.clone(), amount,
            currency: currency.into(), proposal: "p".repeat(100), estimated_hours: None, status: "ACCEPTED".into(),
            created_at: now(), updated_at: now(),
        };
        let mut config = w.app.config.clone();
        config.chains.fee_flat_minor = 10_000; // 100 USDC, stablecoins only
        let e = escrows::create_for_accepted_bid(&w.app.db, &config, &opp, &bid(50_000, "USDC"), &w.client.user_id).await.expect("escrow");
        assert_eq!((e.amount.as_str(), e.platform_fee_flat.as_str(), e.platform_fee_bps), ("500000000", "100000000", 500));
        assert_eq!((e.contract_address.as_str(), e.status.as_str(), e.blockchain.as_str()), (POLY_ESCROW, "PENDING", "POLYGON"));
        let v = escrows::view(&e).expect("view");
        assert_eq!((v.platform_fee.as_str(), v.expert_amount.as_str()), ("125000000", "375000000"));
        // A fee taking the whole amount refuses the acceptance.
        let err = escrows::create_for_accepted_bid(&w.app.db, &config, &opp, &bid(10_000, "USDC"), &w.client.user_id).await.expect_err("fee too large");
        assert_eq!(kind(&err), "409", "{err}");
        // No flat fee on SOL (no price feed).
        let e = escrows::create_for_accepted_bid(&w.app.db, &config, &opp, &bid(100, "SOL"), &w.client.user_id).await.expect("sol");
        assert_eq!((e.platform_fee_flat.as_str(), e.contract_address.as_str()), ("0", SOL_ESCROW));
    }

    async fn polygon_funding_confirms_and_repeats_are_idempotent(t) {
        let w = world(t.db.clone(), true).await;
        let e = escrow_row(&w, &w.client, "USDC", "POLYGON", 12_340_000, "PENDING").await;
        let tx = hash(1);
        w.chain.lock().expect("lock").receipts.insert(tx.clone(), receipt(&tx, "0x1", 89, USDC, CLIENT_WALLET, POLY_ESCROW, 12_340_000));
        // Upper-case hex is the same transaction.
        let v = w.app.fund_escrow(&w.client, &e.id, &tx.to_uppercase().replace("0X", "0x")).await.expect("fund");
        assert_eq!(v.status.as_api(), "funded");
        assert_eq!(v.transaction_hash.as_deref(), Some(tx.as_str()));
        assert_eq!(v.last_check.as_ref().and_then(|c| c.confirmations), Some(12));
        assert_eq!((v.platform_fee.as_str(), v.expert_amount.as_str(), v.amount_display.as_str()), ("617000", "11723000", "12.34"));
        let again = w.app.fund_escrow(&w.client, &e.id, &tx).await.expect("repeat is a no-op");
        assert_eq!(again, v);
        // A different hash on a funded escrow is a conflict naming the state.
        let err = w.app.fund_escrow(&w.client, &e.id, &hash(9)).await.expect_err("refused");
        assert_eq!(err.to_string(), "the escrow is funded; it cannot be funded");
        // The same hash can never fund a second escrow.
        let second = escrow_row(&w, &w.client, "USDC", "POLYGON", 12_340_000, "PENDING").await;
        let err = w.app.fund_escrow(&w.client, &second.id, &tx).await.expect_err("refused");
        assert_eq!(kind(&err), "409", "{err}");
        assert!(err.to_string().contains("another escrow"));
        assert_eq!(reload(&w, &second.id).await, second);
    }

    async fn rejected_transactions_are_422_and_write_nothing(t) {
        let w = world(t.db.clone(), true).await;
        let e = escrow_row(&w, &w.client, "USDC", "POLYGON", 12_340_000, "PENDING").await;
        let cases = [
            (hash(2), receipt(&hash(2), "0x0", 50, USDC, CLIENT_WALLET, POLY_ESCROW, 12_340_000), "reverted"),
            (hash(3), receipt(&hash(3), "0x1", 50, USDT, CLIENT_WALLET, POLY_ESCROW, 12_340_000), "wrong token"),
            (hash(4), receipt(&hash(4), "0x1", 50, USDC, CLIENT_WALLET, CLIENT_WALLET, 12_340_000), "wrong recipient"),
            (hash(5), receipt(&hash(5), "0x1", 50, USDC, CLIENT_WALLET, POLY_ESCROW, 12_339_999), "too little"),
        ];
        for (tx, r, why) in cases {
            w.chain.lock().expect("lock").receipts.insert(tx.clone(), r);
            let err = w.app.fund_escrow(&w.client, &e.id, &tx).await.expect_err("refused");
            assert_eq!(kind(&err), "422", "{why}: {err}");
            let AppError::Validation(errs) = &err else { unreachable!() };
            let text = format!("{errs:?}");
            assert!(text.contains("tx_hash") && text.contains(why), "{why}: {text}");
            assert_eq!(reload(&w, &e.id).await, e, "{why}: nothing stored");
        }
        let err = w.app.fund_escrow(&w.client, &e.id, "0x1234").await.expect_err("refused");
        assert_eq!(kind(&err), "422");
        assert_eq!(reload(&w, &e.id).await, e);
    }

    async fn too_few_confirmations_stay_pending_until_a_recheck(t) {
        let w = world(t.db.clone(), true).await;
        let e = escrow_row(&w, &w.client, "USDC", "POLYGON", 5_000_000, "PENDING").await;
        let tx = hash(6);
        w.chain.lock().expect("lock").receipts.insert(tx.clone(), receipt(&tx, "0x1", 98, USDC, CLIENT_WALLET, POLY_ESCROW, 5_000_000));
        let v = w.app.fund_escrow(&w.client, &e.id, &tx).await.expect("recorded");
        assert_eq!(v.status.as_api(), "pending");
        let check = v.last_check.expect("checked");
        assert_eq!(check.confirmations, Some(3));
        assert_eq!(check.result, "waiting for confirmations (3/12)");
        assert!(check.next_check_at.is_some());
        // Not due yet: nothing happens.
        assert_eq!(w.app.recheck_pending_escrows().await.expect("recheck"), 0);
        w.chain.lock().expect("lock").head = 120;
        make_due(&w, &e.id).await;
        assert_eq!(w.app.recheck_pending_escrows().await.expect("recheck"), 1);
        let row = reload(&w, &e.id).await;
        assert_eq!(row.status, "FUNDED");
        assert!(row.funded_at.is_some() && row.next_check_at.is_none());
        // Idempotent: nothing left to check.
        assert_eq!(w.app.recheck_pending_escrows().await.expect("recheck"), 0);
    }

    async fn an_unreachable_rpc_keeps_the_escrow_pending_and_is_retried(t) {
        let w = world(t.db.clone(), true).await;
        let e = escrow_row(&w, &w.client, "USDC", "POLYGON", 5_000_000, "PENDING").await;
        let tx = hash(7);
        {
            let mut c = w.chain.lock().expect("lock");
            c.receipts.insert(tx.clone(), receipt(&tx, "0x1", 50, USDC, CLIENT_WALLET, POLY_ESCROW, 5_000_000));
            c.down = true;
        }
        let v = w.app.fund_escrow(&w.client, &e.id, &tx).await.expect("stored for a re-check");
        assert_eq!(v.status.as_api(), "pending");
        assert!(v.last_check.expect("checked").result.contains("unavailable"));
        make_due(&w, &e.id).await;
        assert_eq!(w.app.recheck_pending_escrows().await.expect("recheck"), 0, "still down");
        let row = reload(&w, &e.id).await;
        assert_eq!((row.status.as_str(), row.check_attempts), ("PENDING", 2));
        w.chain.lock().expect("lock").down = false;
        make_due(&w, &e.id).await;
        assert_eq!(w.app.recheck_pending_escrows().await.expect("recheck"), 1);
        assert_eq!(reload(&w, &e.id).await.status, "FUNDED");
    }

    async fn without_an_rpc_funding_is_503_and_writes_nothing(t) {
        let w = world(t.db.clone(), false).await;
        let e = escrow_row(&w, &w.client, "USDC", "POLYGON", 5_000_000, "PENDING").await;
        let err = w.app.fund_escrow(&w.client, &e.id, &hash(8)).await.expect_err("refused");
        assert_eq!(kind(&err), "503");
        assert_eq!(err.to_string(), "chain verification not configured for polygon");
        assert_eq!(reload(&w, &e.id).await, e);
    }

    async fn solana_spl_and_sol_funding(t) {
        let w = world(t.db.clone(), true).await;
        let spl = escrow_row(&w, &w.client, "USDC_SPL", "SOLANA", 7_500_000, "PENDING").await;
        let sol = escrow_row(&w, &w.client, "SOL", "SOLANA", 2_000_000_000, "PENDING").await;
        {
            let mut c = w.chain.lock().expect("lock");
            c.sol_txs.insert(sig(1), sol_tx(480, Value::Null, Some(USDC_MINT), SOL_CLIENT, SOL_ESCROW, 7_500_000));
            c.sol_txs.insert(sig(2), sol_tx(480, Value::Null, None, SOL_CLIENT, SOL_ESCROW, 2_000_000_000));
            c.sol_txs.insert(sig(3), sol_tx(480, Value::Null, Some("So11111111111111111111111111111111111111112"), SOL_CLIENT, SOL_ESCROW, 7_500_000));
            c.sol_txs.insert(sig(4), sol_tx(480, json!({"InstructionError": [0, {"Custom": 1}]}), Some(USDC_MINT), SOL_CLIENT, SOL_ESCROW, 7_500_000));
        }
        for (s, why) in [(sig(3), "wrong token"), (sig(4), "failed")] {
            let err = w.app.fund_escrow(&w.client, &spl.id, &s).await.expect_err("refused");
            assert_eq!(kind(&err), "422", "{why}");
            assert!(format!("{err:?}").contains(why), "{why}: {err:?}");
        }
        assert_eq!(reload(&w, &spl.id).await, spl);
        // Not finalized yet (null result): pending.
        let v = w.app.fund_escrow(&w.client, &spl.id, &sig(5)).await.expect("pending");
        assert_eq!(v.status.as_api(), "pending");
        let v = w.app.fund_escrow(&w.client, &spl.id, &sig(1)).await.expect("replaces the unconfirmed signature");
        assert_eq!(v.status.as_api(), "funded");
        assert_eq!(v.last_check.and_then(|c| c.confirmations), Some(21));
        let v = w.app.fund_escrow(&w.client, &sol.id, &sig(2)).await.expect("sol");
        assert_eq!(v.status.as_api(), "funded");
    }

    async fn fund_permission_matrix(t) {
        let w = world(t.db.clone(), true).await;
        let e = escrow_row(&w, &w.client, "USDC", "POLYGON", 5_000_000, "PENDING").await;
        let demo_escrow = escrow_row(&w, &w.demo, "USDC", "POLYGON", 5_000_000, "PENDING").await;
        let tx = hash(10);
        w.chain.lock().expect("lock").receipts.insert(tx.clone(), receipt(&tx, "0x1", 50, USDC, CLIENT_WALLET, POLY_ESCROW, 5_000_000));
        for (who, actor, id, want) in [
            ("expert", &w.expert, &e.id, "404"),
            ("other", &w.other, &e.id, "404"),
            ("admin", &w.admin, &e.id, "404"),
            ("demo client", &w.demo, &demo_escrow.id, "403"),
            ("client, unknown id", &w.client, &"nope".to_string(), "404"),
        ] {
            let err = w.app.fund_escrow(actor, id, &tx).await.expect_err("refused");
            assert_eq!(kind(&err), want, "{who}");
        }
        assert_eq!(reload(&w, &e.id).await, e);
        assert_eq!(reload(&w, &demo_escrow.id).await, demo_escrow);
        // Reading: client, expert and admin; not others.
        for (actor, ok) in [(&w.client, true), (&w.expert, true), (&w.admin, true), (&w.other, false)] {
            assert_eq!(w.app.get_escrow(actor, &e.id).await.is_ok(), ok);
            assert_eq!(w.app.list_project_escrows(actor, &w.project).await.map(|l| l.len()).ok(), ok.then_some(2));
        }
        assert_eq!(w.app.fund_escrow(&w.client, &e.id, &tx).await.expect("client funds").status.as_api(), "funded");
    }

    async fn release_needs_approval_an_admin_and_a_payout(t) {
        let w = world(t.db.clone(), true).await;
        let e = escrow_row(&w, &w.client, "USDC", "POLYGON", 10_000_000, "PENDING").await;
        let fund = hash(11);
        let release = hash(12);
        {
            let mut c = w.chain.lock().expect("lock");
            c.receipts.insert(fund.clone(), receipt(&fund, "0x1", 50, USDC, CLIENT_WALLET, POLY_ESCROW, 10_000_000));
            // The expert's share: 10 USDC − 5 %.
            c.receipts.insert(release.clone(), receipt(&release, "0x1", 60, USDC, POLY_ESCROW, "0x3333333333333333333333333333333333333333", 9_500_000));
        }
        let err = w.app.record_escrow_release(&w.admin, &e.id, &release).await.expect_err("refused");
        assert_eq!(err.to_string(), "the escrow is pending; it cannot be released");
        w.app.fund_escrow(&w.client, &e.id, &fund).await.expect("funded");
        let err = w.app.record_escrow_release(&w.admin, &e.id, &release).await.expect_err("refused");
        assert_eq!(kind(&err), "409", "not approved yet");
        escrows::approve_release_for_opportunities(&w.app.db, &[e.opportunity_id.clone().expect("opportunity")]).await.expect("approve");
        let before = reload(&w, &e.id).await;
        assert!(before.release_approved_at.is_some());
        for (who, actor, want) in [("client", &w.client, "403"), ("expert", &w.expert, "403"), ("other", &w.other, "404"), ("demo", &w.demo, "404")] {
            let err = w.app.record_escrow_release(actor, &e.id, &release).await.expect_err("refused");
            assert_eq!(kind(&err), want, "{who}");
        }
        assert_eq!(reload(&w, &e.id).await, before);
        let v = w.app.record_escrow_release(&w.admin, &e.id, &release).await.expect("released");
        assert_eq!(v.status.as_api(), "released");
        assert_eq!(w.app.record_escrow_release(&w.admin, &e.id, &release).await.expect("idempotent"), v);
        let err = w.app.refund_escrow(&w.admin, &e.id, Some(&hash(13)), "late").await.expect_err("refused");
        assert_eq!(kind(&err), "409");
    }

    async fn refunds_within_thirty_days_of_a_rejection(t) {
        let w = world(t.db.clone(), true).await;
        // A pending escrow is cancelled with a reason, no transaction.
        let pending = escrow_row(&w, &w.client, "USDC", "POLYGON", 10_000_000, "PENDING").await;
        let err = w.app.refund_escrow(&w.admin, &pending.id, None, "  ").await.expect_err("refused");
        assert_eq!(kind(&err), "422");
        let err = w.app.refund_escrow(&w.client, &pending.id, None, "changed my mind").await.expect_err("refused");
        assert_eq!(kind(&err), "403");
        assert_eq!(reload(&w, &pending.id).await, pending);
        let v = w.app.refund_escrow(&w.admin, &pending.id, None, "project cancelled").await.expect("cancelled");
        assert_eq!((v.status.as_api().as_str(), v.refund_reason.as_deref()), ("refunded", Some("project cancelled")));

        let funded = escrow_row(&w, &w.client, "USDC", "POLYGON", 10_000_000, "FUNDED").await;
        let refund = hash(14);
        w.chain.lock().expect("lock").receipts.insert(refund.clone(), receipt(&refund, "0x1", 60, USDC, POLY_ESCROW, CLIENT_WALLET, 10_000_000));
        let err = w.app.refund_escrow(&w.admin, &funded.id, Some(&refund), "bad work").await.expect_err("refused");
        assert_eq!(err.to_string(), "the escrow is funded and its work was not rejected");
        let mut m = reload(&w, &funded.id).await.into_active_model();
        m.rejected_at = Set(Some(now() - chrono::Duration::days(31)));
        m.update(&w.app.db).await.expect("old rejection");
        let err = w.app.refund_escrow(&w.admin, &funded.id, Some(&refund), "bad work").await.expect_err("refused");
        assert_eq!(kind(&err), "409");
        assert!(err.to_string().contains("refund window"), "{err}");
        let mut m = reload(&w, &funded.id).await.into_active_model();
        m.rejected_at = Set(None);
        m.update(&w.app.db).await.expect("reset");
        escrows::mark_rejected_for_opportunities(&w.app.db, &[funded.opportunity_id.clone().expect("opportunity")]).await.expect("reject");
        let err = w.app.refund_escrow(&w.admin, &funded.id, None, "bad work").await.expect_err("refused");
        assert_eq!(kind(&err), "422", "a funded escrow needs the refund transaction");
        let v = w.app.refund_escrow(&w.admin, &funded.id, Some(&refund), "QA rejected").await.expect("refunded");
        assert_eq!((v.status.as_api().as_str(), v.refund_reason.as_deref()), ("refunded", Some("QA rejected")));
    }

    async fn payment_instructions_carry_the_uri_and_a_qr_code(t) {
        let w = world(t.db.clone(), false).await;
        let e = escrow_row(&w, &w.client, "USDC", "POLYGON", 12_340_000, "PENDING").await;
        let p = w.app.escrow_payment_instructions(&w.client, &e.id).await.expect("instructions");
        assert_eq!(p.uri, format!("ethereum:0x3c499c542cEF5E3811e1192ce70d8cC03d5c3359@137/transfer?address={POLY_ESCROW}&uint256=12340000"));
        assert_eq!((p.amount_display.as_str(), p.address.as_str()), ("12.34", POLY_ESCROW));
        assert!(p.qr_svg.contains("<svg"), "{}", &p.qr_svg[..p.qr_svg.len().min(80)]);
        let s = escrow_row(&w, &w.client, "USDC_SPL", "SOLANA", 12_500_000, "PENDING").await;
        let p = w.app.escrow_payment_instructions(&w.expert, &s.id).await.expect("expert reads");
        assert_eq!(p.uri, format!("solana:{SOL_ESCROW}?amount=12.5&spl-token={USDC_MINT}"));
        assert_eq!(kind(&w.app.escrow_payment_instructions(&w.other, &s.id).await.expect_err("refused")), "404");
    }
}
