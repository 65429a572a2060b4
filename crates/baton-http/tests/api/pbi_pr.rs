//! A PBI's pull request over REST (`PUT /api/pbis/{id}/pr`,
//! `POST /api/pbis/{id}/pr/merged`): the permission matrix with the row
//! unchanged on every refusal, URL validation naming `pr_url`, the product
//! repository's host, idempotence, the 409s (no linked PR, archived
//! product) and the `pbi_changed` event.

use std::time::Duration;

use axum::http::{Method, StatusCode};
use baton_testkit::backend_tests;
use serde_json::{Value, json};

use crate::{
    harness::{As, Matrix, TestApp},
    items::ix::*,
};

fn id_of(v: &Value) -> String {
    v["id"].as_str().expect("id").to_string()
}

async fn pbi_json(app: &TestApp, owner: &As, id: &str) -> Value {
    get(app, owner, &format!("/api/pbis/{id}")).await
}

async fn put_pr(app: &TestApp, who: &As, pbi: &str, url: &str) -> crate::harness::Res {
    app.json(Method::PUT, &format!("/api/pbis/{pbi}/pr"), who, &json!({ "pr_url": url })).await
}

/// The next `pbi_changed` event (others are skipped).
async fn next_pbi_event(
    events: &mut tokio::sync::broadcast::Receiver<baton_store::events::Event>,
) -> baton_store::events::Event {
    tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            let ev = events.recv().await.expect("event");
            if ev.kind == "pbi_changed" {
                return ev;
            }
        }
    })
    .await
    .expect("a pbi_changed event within 5 s")
}

async fn merged(app: &TestApp, who: &As, pbi: &str) -> crate::harness::Res {
    app.json(Method::POST, &format!("/api/pbis/{pbi}/pr/merged"), who, &json!({})).await
}

backend_tests! {
    async fn linking_and_merging_follow_the_permission_matrix_and_refusals_change_nothing(t) {
        let app = TestApp::new(t).await;
        let m = app.matrix().await;
        let owner = bearer(&m.owner);
        let p = pbi(&app, &owner, &m.product_id, "Checkout").await;
        let pid = id_of(&p);
        assert!(p["pr_url"].is_null() && p["pr_merged_at"].is_null(), "a new PBI shows both fields: {p}");
        for (i, (name, token, may_read, may_write)) in m.callers().into_iter().enumerate() {
            let who = bearer(&token);
            let url = format!("https://github.com/acme/shop/pull/{}", i + 1);
            let before = pbi_json(&app, &owner, &pid).await;
            let res = put_pr(&app, &who, &pid, &url).await;
            let res2 = merged(&app, &who, &pid).await;
            if may_write {
                assert_eq!(res.status, StatusCode::OK, "{name}: {}", res.text);
                let linked = res.json();
                assert_eq!(linked["pr_url"], url.as_str(), "{name}");
                assert!(linked["pr_merged_at"].is_null(), "{name}: a new link is not merged");
                assert_eq!(res2.status, StatusCode::OK, "{name}: {}", res2.text);
                assert!(res2.json()["pr_merged_at"].is_string(), "{name}: {}", res2.text);
                assert_eq!(pbi_json(&app, &owner, &pid).await["pr_url"], url.as_str());
            } else {
                let expected = Matrix::refused_status(may_read);
                assert_eq!(res.status, expected, "{name} PUT: {}", res.text);
                assert_eq!(res2.status, expected, "{name} merged: {}", res2.text);
                assert_eq!(pbi_json(&app, &owner, &pid).await, before, "{name}: a refusal changes nothing");
            }
        }
    }

    async fn a_pull_request_url_must_be_a_pr_on_an_allowed_host(t) {
        let app = TestApp::new(t).await;
        let m = app.matrix().await;
        let owner = bearer(&m.owner);
        let pid = id_of(&pbi(&app, &owner, &m.product_id, "Checkout").await);
        let before = pbi_json(&app, &owner, &pid).await;
        for url in [
            "https://evil.example/acme/shop/pull/1",
            "https://github.com/acme/shop/issues/1",
            "https://github.com/acme/shop/pull/1?tab=files",
            "https://github.com@evil.example/acme/shop/pull/1",
            "ftp://github.com/acme/shop/pull/1",
            "https://git.example.com/team/shop/pulls/4",
            "",
        ] {
            let res = put_pr(&app, &owner, &pid, url).await;
            assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{url}: {}", res.text);
            assert_eq!(res.json()["error"]["details"][0]["path"], "pr_url", "{url}: {}", res.text);
        }
        let res = app.json(Method::PUT, &format!("/api/pbis/{pid}/pr"), &owner, &json!({ "url": "x" })).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", res.text);
        assert_eq!(pbi_json(&app, &owner, &pid).await, before, "invalid links change nothing");

        // The host of the product's repository is allowed too, with every forge shape.
        let res = app
            .json(Method::PATCH, &format!("/api/products/{}", m.product_id), &owner,
                &json!({ "repo_url": "https://git.example.com/team/shop" }))
            .await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.text);
        for url in [
            "https://git.example.com/team/shop/pulls/4",
            "https://GIT.example.com:3000/team/shop/pull/5",
            "https://git.example.com/team/sub/shop/-/merge_requests/6",
            "https://codeberg.org/team/shop/pulls/7",
        ] {
            let res = put_pr(&app, &owner, &pid, url).await;
            assert_eq!(res.status, StatusCode::OK, "{url}: {}", res.text);
            assert_eq!(res.json()["pr_url"], url.trim_end_matches('/'), "{url}");
        }
        // By code as well, with an unknown PBI a 404.
        assert_eq!(put_pr(&app, &owner, "PBI-1", "https://github.com/a/b/pull/9").await.status, StatusCode::OK);
        assert_eq!(put_pr(&app, &owner, "PBI-99", "https://github.com/a/b/pull/9").await.status, StatusCode::NOT_FOUND);
        assert_eq!(merged(&app, &owner, "PBI-99").await.status, StatusCode::NOT_FOUND);
    }

    async fn linking_and_merging_are_idempotent_and_merging_needs_a_link(t) {
        let app = TestApp::new(t).await;
        let m = app.matrix().await;
        let owner = bearer(&m.owner);
        let pid = id_of(&pbi(&app, &owner, &m.product_id, "Checkout").await);
        let before = pbi_json(&app, &owner, &pid).await;
        let res = merged(&app, &owner, &pid).await;
        assert_eq!(res.status, StatusCode::CONFLICT, "{}", res.text);
        assert!(res.text.contains("PBI-1 has no linked pull request"), "{}", res.text);
        assert_eq!(pbi_json(&app, &owner, &pid).await, before);

        let mut events = app.app().bus.subscribe();
        let url = "https://github.com/acme/shop/pull/12";
        let first = put_pr(&app, &owner, &pid, url).await.json();
        let ev = next_pbi_event(&mut events).await;
        assert_eq!(ev.product_id.as_deref(), Some(m.product_id.as_str()));
        assert_eq!((ev.data["pbi_id"].as_str(), ev.data["action"].as_str()), (Some(pid.as_str()), Some("pr_linked")));
        assert_eq!(ev.data["pr_url"], url);

        let done = merged(&app, &owner, &pid).await.json();
        let ev = next_pbi_event(&mut events).await;
        assert_eq!(ev.data["action"], "pr_merged");
        let merged_at = done["pr_merged_at"].clone();
        assert!(merged_at.is_string(), "{done}");
        // Again: the first timestamp stays, nothing is written or announced.
        let again = merged(&app, &owner, &pid).await;
        assert_eq!(again.status, StatusCode::OK, "{}", again.text);
        assert_eq!(again.json(), done);
        // The same URL again keeps the merge; nothing changes.
        let same = put_pr(&app, &owner, &pid, &format!("  {url}/ ")).await;
        assert_eq!(same.status, StatusCode::OK, "{}", same.text);
        assert_eq!(same.json(), done, "same URL is a no-op");
        while let Ok(ev) = events.try_recv() {
            assert_ne!(ev.kind, "pbi_changed", "no-ops publish nothing: {ev:?}");
        }
        // A different URL replaces the link and clears the merge.
        let other = put_pr(&app, &owner, &pid, "https://github.com/acme/shop/pull/13").await.json();
        assert_eq!(other["pr_url"], "https://github.com/acme/shop/pull/13");
        assert!(other["pr_merged_at"].is_null(), "{other}");
        assert_ne!(other["updated_at"], first["updated_at"]);
        // The list shows the fields too.
        let list = get(&app, &owner, &format!("/api/products/{}/pbis", m.product_id)).await;
        assert_eq!(list["items"][0]["pr_url"], "https://github.com/acme/shop/pull/13");
    }

    async fn an_archived_product_refuses_both_with_409(t) {
        let app = TestApp::new(t).await;
        let m = app.matrix().await;
        let owner = bearer(&m.owner);
        let pid = id_of(&pbi(&app, &owner, &m.product_id, "Checkout").await);
        assert_eq!(put_pr(&app, &owner, &pid, "https://github.com/acme/shop/pull/1").await.status, StatusCode::OK);
        let res = app.json(Method::POST, &format!("/api/products/{}/archive", m.product_id), &owner, &json!({})).await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.text);
        let before = pbi_json(&app, &owner, &pid).await;
        let res = put_pr(&app, &owner, &pid, "https://github.com/acme/shop/pull/2").await;
        assert_eq!(res.status, StatusCode::CONFLICT, "{}", res.text);
        assert!(res.text.contains("archived"), "{}", res.text);
        let res = merged(&app, &owner, &pid).await;
        assert_eq!(res.status, StatusCode::CONFLICT, "{}", res.text);
        assert!(res.text.contains("archived"), "{}", res.text);
        assert_eq!(pbi_json(&app, &owner, &pid).await, before);
        // Unauthenticated: 401.
        assert_eq!(put_pr(&app, &As::Nobody, &pid, "https://github.com/a/b/pull/1").await.status, StatusCode::UNAUTHORIZED);
    }
}
