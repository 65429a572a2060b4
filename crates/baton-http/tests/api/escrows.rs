//! Escrows over REST: reading (client, expert, admin; others 404), the
//! payment instructions with the QR code, 503 when no chain RPC is
//! configured, 422 naming `tx_hash`, 403 for a non-admin release, and each
//! refusal leaving the row unchanged.

use axum::http::{Method, StatusCode};
use baton_domain::roles::Role;
use baton_store::{
    entities::escrow,
    sea_orm::{ActiveModelTrait, EntityTrait},
};
use baton_testkit::{backend_tests, market};
use serde_json::json;

use crate::harness::{As, TestApp};

async fn escrow_row(app: &TestApp, product_id: &str, client: &str, expert: &str) -> escrow::Model {
    market::escrow(product_id, client, expert).insert(&app.app().db).await.expect("escrow")
}

backend_tests! {
    async fn escrows_are_read_by_their_parties_and_funding_needs_a_chain(t) {
        let app = TestApp::new(t).await;
        let client = app.user("client", &[Role::Client], false).await;
        let expert = app.user("expert", &[Role::Developer], false).await;
        let other = app.user("other", &[Role::Developer], false).await;
        let (_, admin_token) = app.admin().await;
        let pid = app.product_row(&client, "Shop").await;
        let e = escrow_row(&app, &pid, &client, &expert).await;
        let as_client = As::Bearer(app.token_for(&client).await);
        let as_expert = As::Bearer(app.token_for(&expert).await);
        let as_other = As::Bearer(app.token_for(&other).await);
        let as_admin = As::Bearer(admin_token);

        for (who, caller, want) in [("client", &as_client, StatusCode::OK), ("expert", &as_expert, StatusCode::OK),
            ("admin", &as_admin, StatusCode::OK), ("other", &as_other, StatusCode::NOT_FOUND), ("nobody", &As::Nobody, StatusCode::UNAUTHORIZED)] {
            assert_eq!(app.get(&format!("/api/escrows/{}", e.id), caller).await.status, want, "{who}");
        }
        let v = app.get(&format!("/api/escrows/{}", e.id), &as_client).await.json();
        assert_eq!((v["status"].as_str(), v["amount_display"].as_str(), v["expert_amount"].as_str()), (Some("pending"), Some("12.34"), Some("11723000")));
        let list = app.get(&format!("/api/projects/{pid}/escrows"), &as_client).await;
        assert_eq!(list.json().as_array().map(Vec::len), Some(1));
        assert_eq!(app.get(&format!("/api/projects/{pid}/escrows"), &as_other).await.status, StatusCode::NOT_FOUND);

        let pay = app.get(&format!("/api/escrows/{}/payment", e.id), &as_client).await;
        assert_eq!(pay.status, StatusCode::OK);
        let pay = pay.json();
        assert!(pay["uri"].as_str().is_some_and(|u| u.starts_with("ethereum:0x3c499c542cEF5E3811e1192ce70d8cC03d5c3359@137/transfer?")));
        assert!(pay["qr_svg"].as_str().is_some_and(|s| s.contains("<svg")));

        let fund = format!("/api/escrows/{}/fund", e.id);
        let hash = format!("0x{}", "ab".repeat(32));
        let r = app.json(Method::POST, &fund, &as_client, &json!({"tx_hash": hash})).await;
        assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(r.error_code(), "unavailable");
        assert!(r.json()["error"]["message"].as_str().is_some_and(|m| m.contains("chain verification not configured")));
        let r = app.json(Method::POST, &fund, &as_client, &json!({"tx_hash": "0x12"})).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(r.json()["error"]["details"][0]["path"], "tx_hash");
        assert_eq!(app.json(Method::POST, &fund, &as_expert, &json!({"tx_hash": hash})).await.status, StatusCode::NOT_FOUND);
        let r = app.json(Method::POST, &format!("/api/escrows/{}/release", e.id), &as_client, &json!({"tx_hash": hash})).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        let r = app.json(Method::POST, &format!("/api/escrows/{}/refund", e.id), &as_expert, &json!({"reason": "x"})).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        let row = escrow::Entity::find_by_id(e.id.clone()).one(&app.app().db).await.expect("read").expect("row");
        assert_eq!(row, e, "refusals change nothing");
        let r = app.json(Method::POST, &format!("/api/escrows/{}/refund", e.id), &as_admin, &json!({"reason": "project cancelled"})).await;
        assert_eq!((r.status, r.json()["status"].as_str()), (StatusCode::OK, Some("refunded")));
    }
}
