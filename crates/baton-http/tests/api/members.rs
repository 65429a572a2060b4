//! Product members: the owner adds people by username (they must hold the
//! developer role), changes their access and role, and removes them;
//! readers may list; every refusal changes nothing.

use axum::http::{Method, StatusCode};
use baton_domain::roles::Role;
use baton_testkit::backend_tests;
use serde_json::{Value, json};

use crate::{
    harness::{As, Matrix, TestApp},
    products::{paths, snapshot},
};

fn usernames(v: &Value) -> Vec<String> {
    v["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|m| m["username"].as_str().unwrap_or_default().to_string())
        .collect()
}

backend_tests! {
    async fn the_owner_adds_changes_and_removes_members(t) {
        let app = TestApp::new(t).await;
        let mx = app.matrix().await;
        let owner = As::Bearer(mx.owner.clone());
        let base = format!("/api/products/{}/members", mx.product_id);
        let dev = app.user("Dana", &[Role::Developer], false).await;
        let dana = As::Bearer(app.token_for(&dev).await);
        assert_eq!(app.get(&format!("/api/products/{}", mx.product_id), &dana).await.status, StatusCode::NOT_FOUND);

        let res = app.json(Method::POST, &base, &owner, &json!({"username": "DANA"})).await;
        assert_eq!(res.status, StatusCode::CREATED, "{}", res.text);
        let m = res.json();
        assert_eq!(m["username"], "dana");
        assert_eq!(m["user_id"], dev.as_str());
        assert_eq!(m["access"], "read_only");
        assert_eq!(m["role"], "developer");
        assert_eq!(m["product_id"], mx.product_id.as_str());
        // Dana now reads but cannot write.
        assert_eq!(app.get(&format!("/api/products/{}", mx.product_id), &dana).await.json()["access"], "read_only");
        let res = app.json(Method::PATCH, &format!("/api/products/{}", mx.product_id), &dana, &json!({"description": "x"})).await;
        assert_eq!(res.status, StatusCode::FORBIDDEN);

        let listed = app.get(&base, &As::Bearer(mx.reader.clone())).await.json();
        assert_eq!(usernames(&listed), ["mx-writer", "mx-reader", "mx-demo", "dana"]);
        assert_eq!(listed["total"], 4);

        let res = app.json(Method::PATCH, &format!("{base}/{dev}"), &owner, &json!({"access": "read_write", "role": "scrum_master"})).await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.text);
        assert_eq!(res.json()["access"], "read_write");
        assert_eq!(res.json()["role"], "scrum_master");
        let res = app.json(Method::PATCH, &format!("/api/products/{}", mx.product_id), &dana, &json!({"description": "x"})).await;
        assert_eq!(res.status, StatusCode::OK);

        // Removal clears Dana's active product when it was this one.
        let res = app.json(Method::PUT, "/api/me/active-product", &dana, &json!({"product_id": mx.product_id})).await;
        assert_eq!(res.status, StatusCode::OK);
        let res = app.json(Method::DELETE, &format!("{base}/{dev}"), &owner, &json!({})).await;
        assert_eq!(res.status, StatusCode::NO_CONTENT, "{}", res.text);
        assert_eq!(app.get("/api/me", &dana).await.json()["active_product_id"], Value::Null);
        assert_eq!(app.get(&format!("/api/products/{}", mx.product_id), &dana).await.status, StatusCode::NOT_FOUND);
        assert_eq!(app.json(Method::DELETE, &format!("{base}/{dev}"), &owner, &json!({})).await.status, StatusCode::NOT_FOUND);
        assert_eq!(app.json(Method::PATCH, &format!("{base}/{dev}"), &owner, &json!({"access": "read_only"})).await.status, StatusCode::NOT_FOUND);
    }

    async fn bad_member_requests_are_refused_with_reasons_and_change_nothing(t) {
        let app = TestApp::new(t).await;
        let mx = app.matrix().await;
        let owner = As::Bearer(mx.owner.clone());
        let base = format!("/api/products/{}/members", mx.product_id);
        app.user("no-dev", &[Role::ScrumMaster], false).await;
        app.user("ok-dev", &[Role::Developer], false).await;
        let before = snapshot(&app).await;
        let res = app.json(Method::POST, &base, &owner, &json!({"username": "ghost"})).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(paths(&res), ["username"]);
        let res = app.json(Method::POST, &base, &owner, &json!({"username": "no-dev"})).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(paths(&res), ["username"]);
        assert!(res.text.contains("developer role"), "{}", res.text);
        let res = app.json(Method::POST, &base, &owner, &json!({"username": "mx-owner"})).await;
        assert_eq!(res.status, StatusCode::CONFLICT, "{}", res.text);
        assert!(res.text.contains("owns this product"));
        let res = app.json(Method::POST, &base, &owner, &json!({"username": "mx-writer", "access": "read_only"})).await;
        assert_eq!(res.status, StatusCode::CONFLICT, "{}", res.text);
        assert!(res.text.contains("already a member (read_write)"), "{}", res.text);
        let res = app.json(Method::POST, &base, &owner, &json!({"username": "ok-dev", "role": "admin"})).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(paths(&res), ["role"]);
        let res = app.json(Method::POST, &base, &owner, &json!({"username": "ok-dev", "access": "owner"})).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(paths(&res), ["access"]);
        let res = app.json(Method::POST, &base, &owner, &json!({})).await;
        assert_eq!(paths(&res), ["username"]);
        let writer_id = app.app().find_user_by_username("mx-writer").await.expect("q").expect("writer").id;
        let res = app.json(Method::PATCH, &format!("{base}/{writer_id}"), &owner, &json!({})).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(snapshot(&app).await, before);
    }

    async fn only_the_owner_manages_members_and_readers_may_list(t) {
        let app = TestApp::new(t).await;
        let mx = app.matrix().await;
        let base = format!("/api/products/{}/members", mx.product_id);
        let n = ["one", "two", "three", "four", "five", "six", "seven"];
        for name in n {
            app.user(&format!("cand-{name}"), &[Role::Developer], false).await;
        }
        let writer_id = app.app().find_user_by_username("mx-writer").await.expect("q").expect("writer").id;
        let mut added = Vec::new();
        for (i, (who, token, may_read, _)) in mx.callers().into_iter().enumerate() {
            let owner_side = matches!(who, "owner" | "token scoped to this product");
            let res = app.get(&base, &As::Bearer(token.clone())).await;
            assert_eq!(res.status, if may_read { StatusCode::OK } else { StatusCode::NOT_FOUND }, "list {who}");

            let before = snapshot(&app).await;
            let res = app.json(Method::POST, &base, &As::Bearer(token.clone()), &json!({"username": format!("cand-{}", n[i])})).await;
            if owner_side {
                assert_eq!(res.status, StatusCode::CREATED, "add {who}: {}", res.text);
                added.push(res.json()["user_id"].as_str().expect("id").to_string());
            } else {
                assert_eq!(res.status, Matrix::refused_status(may_read), "add {who}: {}", res.text);
                assert_eq!(snapshot(&app).await, before, "{who}");
            }

            let res = app.json(Method::PATCH, &format!("{base}/{writer_id}"), &As::Bearer(token.clone()), &json!({"role": "qa"})).await;
            if owner_side {
                assert_eq!(res.status, StatusCode::OK, "patch {who}");
            } else {
                assert_eq!(res.status, Matrix::refused_status(may_read), "patch {who}");
            }
        }
        for (who, token, may_read, _) in mx.callers() {
            let owner_side = matches!(who, "owner" | "token scoped to this product");
            let before = snapshot(&app).await;
            let target = added.last().cloned().unwrap_or_else(|| writer_id.clone());
            let res = app.json(Method::DELETE, &format!("{base}/{target}"), &As::Bearer(token), &json!({})).await;
            if owner_side {
                assert_eq!(res.status, StatusCode::NO_CONTENT, "remove {who}");
                added.pop();
            } else {
                assert_eq!(res.status, Matrix::refused_status(may_read), "remove {who}");
                assert_eq!(snapshot(&app).await, before, "{who}");
            }
        }
        assert!(added.is_empty());
    }
}
