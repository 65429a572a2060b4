//! The escrow MCP tools over the same services as REST, on both backends:
//! the project's escrow list, status and payment QR for the parties, 503-style `UNAVAILABLE` funding
//! without a chain RPC, outsiders told "not found", demo refused, the
//! administrators' refund.

mod common;

use baton_app::products::NewProduct;
use baton_store::{
    entities::escrow,
    new_id, now,
    sea_orm::{ActiveModelTrait, EntityTrait, Set},
};
use baton_testkit::backend_tests;
use common::{Base, base};
use serde_json::json;

backend_tests! {
    async fn escrow_tools_adapt_the_escrow_services(t) {
        let Base { app, owner, demo, product_id } = base(&t, NewProduct { name: "Shop".into(), definition_of_done: "done".into(), ..Default::default() }).await;
        let mcp = baton_mcp::BatonMcp::http(app.clone(), baton_mcp::Profile::All);
        let outsider = common::actor(&app, "outsider", false).await;
        let expert = common::actor(&app, "expert", false).await;
        let at = now();
        let mk = |client: &str| escrow::ActiveModel {
            id: Set(new_id()), product_id: Set(product_id.clone()), opportunity_id: Set(None),
            client_id: Set(client.to_string()), expert_id: Set(expert.user_id.clone()),
            amount: Set("2000000000".into()), currency: Set("SOL".into()), blockchain: Set("SOLANA".into()),
            platform_fee_bps: Set(500), platform_fee_flat: Set("0".into()), status: Set("PENDING".into()),
            contract_address: Set("EscrowPDA1111111111111111111111111111111111".into()),
            transaction_hash: Set(None), release_transaction_hash: Set(None), refund_transaction_hash: Set(None),
            funded_at: Set(None), released_at: Set(None), refunded_at: Set(None), created_at: Set(at), updated_at: Set(at),
            release_approved_at: Set(None), rejected_at: Set(None), refund_reason: Set(None), checked_at: Set(None),
            check_result: Set(None), check_confirmations: Set(None), check_attempts: Set(0), next_check_at: Set(None),
        };
        let e = mk(&owner.user_id).insert(&app.db).await.expect("escrow");
        let d = mk(&demo.user_id).insert(&app.db).await.expect("demo escrow");

        // The list gives the ids the other tools take: all of them for the project's client, none to outsiders.
        let l = common::ok(&mcp, &owner, "list_project_escrows", json!({"project_id": product_id})).await;
        let mut ids: Vec<&str> = l["escrows"].as_array().expect("escrows").iter().filter_map(|x| x["id"].as_str()).collect();
        ids.sort_unstable();
        let mut want = vec![e.id.as_str(), d.id.as_str()];
        want.sort_unstable();
        assert_eq!(ids, want);
        assert_eq!(l["escrows"][0]["status"], "pending");
        let text = common::err(&mcp, &outsider, "list_project_escrows", json!({"project_id": product_id})).await;
        assert!(text.starts_with("PERMISSION_DENIED") && text.contains("not found"), "{text}");

        let v = common::ok(&mcp, &expert, "get_escrow_status", json!({"escrow_id": e.id})).await;
        assert_eq!((v["status"].as_str(), v["amount_display"].as_str()), (Some("pending"), Some("2.00")));
        let q = common::ok(&mcp, &owner, "generate_wallet_qr", json!({"escrow_id": e.id})).await;
        assert_eq!(q["uri"], "solana:EscrowPDA1111111111111111111111111111111111?amount=2");
        assert!(q["qr_svg"].as_str().is_some_and(|s| s.contains("<svg")));
        let text = common::err(&mcp, &outsider, "get_escrow_status", json!({"escrow_id": e.id})).await;
        assert!(text.starts_with("PERMISSION_DENIED") && text.contains("not found"), "{text}");

        let sig = "5".repeat(87);
        let text = common::err(&mcp, &owner, "fund_escrow", json!({"escrow_id": e.id, "tx_hash": sig})).await;
        assert_eq!(text, "UNAVAILABLE: chain verification not configured for solana");
        let text = common::err(&mcp, &demo, "fund_escrow", json!({"escrow_id": d.id, "tx_hash": sig})).await;
        assert!(text.starts_with("PERMISSION_DENIED"), "{text}");
        let text = common::err(&mcp, &owner, "refund_escrow", json!({"escrow_id": e.id, "reason": "cancel"})).await;
        assert!(text.starts_with("PERMISSION_DENIED"), "{text}");
        let row = escrow::Entity::find_by_id(e.id.clone()).one(&app.db).await.expect("read").expect("row");
        assert_eq!(row, e, "refusals change nothing");
    }
}
