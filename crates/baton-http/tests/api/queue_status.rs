//! `GET /api/jobs/queue-status` (the REST side of `check_queue_empty`): each
//! caller counts only their own live jobs, a product filter needs read
//! access (404 otherwise), and the per-product breakdown never shows a
//! product the caller (or the token's scope) cannot read.

use axum::http::{Method, StatusCode};
use baton_app::queue::claim::ClaimRequest;
use baton_testkit::backend_tests;
use serde_json::{Value, json};

use crate::{
    harness::{As, TestApp},
    items::ix::*,
};

fn id_of(v: &Value) -> String {
    v["id"].as_str().expect("id").to_string()
}

backend_tests! {
    async fn each_caller_counts_their_own_live_jobs_in_products_they_can_read(t) {
        let app = TestApp::new(t).await;
        let m = app.matrix().await;
        let owner = bearer(&m.owner);
        let writer = bearer(&m.writer);
        let p = pbi(&app, &owner, &m.product_id, "P").await;
        let s = story(&app, &owner, &id_of(&p), json!({"title": "S"})).await;
        let t1 = task(&app, &owner, &id_of(&s), "one").await;
        let t2 = task(&app, &owner, &id_of(&s), "two").await;
        let t3 = task(&app, &owner, &id_of(&s), "three").await;
        created(&app, &format!("/api/tasks/{}/jobs", id_of(&t1)), &owner, json!({})).await;
        created(&app, &format!("/api/tasks/{}/jobs", id_of(&t2)), &owner, json!({})).await;
        created(&app, &format!("/api/tasks/{}/jobs", id_of(&t3)), &writer, json!({})).await;

        let path = format!("/api/jobs/queue-status?product_id={}", m.product_id);
        for (name, token, may_read, _) in m.callers() {
            let res = app.get(&path, &bearer(&token)).await;
            if !may_read {
                assert_eq!(res.status, StatusCode::NOT_FOUND, "{name}: {}", res.text);
                continue;
            }
            assert_eq!(res.status, StatusCode::OK, "{name}: {}", res.text);
            let expected = match name {
                "owner" | "token scoped to this product" => 2,
                "read_write member" => 1,
                _ => 0,
            };
            let body = res.json();
            assert_eq!(body["remaining"], expected, "{name}: {body}");
            assert_eq!(body["empty"], expected == 0, "{name}: {body}");
            assert_eq!(body["product_id"], m.product_id.as_str(), "{name}");
            assert!(body.get("by_product").is_none(), "{name}: {body}");
        }

        // Without a product: per readable product; a token scoped elsewhere sees nothing.
        let all = get(&app, &owner, "/api/jobs/queue-status").await;
        assert_eq!(all, json!({"empty": false, "remaining": 2, "by_product": {m.product_id.clone(): 2}}));
        let scoped_out = get(&app, &bearer(&m.scoped_out), "/api/jobs/queue-status").await;
        assert_eq!(scoped_out, json!({"empty": true, "remaining": 0, "by_product": {}}));
        let outsider = get(&app, &bearer(&m.outsider), "/api/jobs/queue-status").await;
        assert_eq!(outsider, json!({"empty": true, "remaining": 0, "by_product": {}}));

        // Claimed still counts; cancelled does not.
        let actor = app.app().token_actor(&m.owner).await.expect("actor");
        let claimed = app.app().claim_job(&actor, ClaimRequest::new("w1")).await.expect("claim").expect("a job");
        let one = get(&app, &owner, &path).await;
        assert_eq!(one["remaining"], 2, "a claimed job is still live: {one}");
        let res = app.json(Method::POST, &format!("/api/jobs/{}/cancel", claimed.job_id), &owner, &json!({})).await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.text);
        let after = get(&app, &owner, "/api/jobs/queue-status").await;
        assert_eq!(after["remaining"], 1, "{after}");
        assert_eq!(after["by_product"][&m.product_id], 1, "{after}");

        // A member who loses access no longer sees that product's jobs, not even their own.
        let writer_id = me(&app, &writer).await;
        let mine = get(&app, &writer, "/api/jobs/queue-status").await;
        assert_eq!(mine, json!({"empty": false, "remaining": 1, "by_product": {m.product_id.clone(): 1}}));
        let res = app.send_delete(&format!("/api/products/{}/members/{writer_id}", m.product_id), &owner).await;
        assert!(res.status.is_success(), "{}", res.text);
        let gone = get(&app, &writer, "/api/jobs/queue-status").await;
        assert_eq!(gone, json!({"empty": true, "remaining": 0, "by_product": {}}));
        assert_eq!(app.get(&path, &writer).await.status, StatusCode::NOT_FOUND);

        // Unknown product: 404; no caller: 401.
        assert_eq!(app.get("/api/jobs/queue-status?product_id=NOPE", &owner).await.status, StatusCode::NOT_FOUND);
        assert_eq!(app.get("/api/jobs/queue-status", &As::Nobody).await.status, StatusCode::UNAUTHORIZED);
    }
}
