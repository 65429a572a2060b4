//! Products: create with validation, list (own, member, archived, scoped),
//! read by id or code, change, archive/unarchive, delete with cascade, the
//! active product; the permission matrix for every write; refused requests
//! change nothing.

use axum::http::{Method, StatusCode};
use baton_domain::roles::Role;
use baton_testkit::backend_tests;
use serde_json::{Value, json};

use crate::{
    context::Fx,
    harness::{As, Matrix, TestApp},
};

/// Row counts of every table a product write could touch.
pub async fn snapshot(app: &TestApp) -> Vec<(&'static str, i64)> {
    let mut out = Vec::new();
    for t in ["products", "product_members", "sprints", "pbis", "stories", "tasks", "story_logs", "users"] {
        out.push((t, app.count(t).await));
    }
    out
}

pub fn paths(res: &crate::harness::Res) -> Vec<String> {
    res.json()["error"]["details"]
        .as_array()
        .map(|d| d.iter().map(|e| e["path"].as_str().unwrap_or_default().to_string()).collect())
        .unwrap_or_default()
}

async fn owner(app: &TestApp, name: &str) -> (String, As) {
    let id = app.user(name, &[Role::ProductOwner], false).await;
    let token = app.token_for(&id).await;
    (id, As::Bearer(token))
}

async fn create(app: &TestApp, who: &As, body: Value) -> crate::harness::Res {
    app.json(Method::POST, "/api/products", who, &body).await
}

backend_tests! {
    async fn a_product_is_created_read_by_id_or_code_listed_and_changed(t) {
        let app = TestApp::new(t).await;
        let (uid, me) = owner(&app, "prod-owner").await;
        let res = create(&app, &me, json!({
            "name": "Baton", "code": "BATON", "description": "Backlog for agents",
            "repo_url": "https://git.example.com/team/baton.git", "definition_of_done": "Reviewed and tested",
            "auto_pr": true, "pr_strategy": "story", "preferred_model": "opus", "thinking_budget_default": 12000,
            "preferred_permission_mode": "acceptEdits"
        })).await;
        assert_eq!(res.status, StatusCode::CREATED, "{}", res.text);
        let p = res.json();
        let id = p["id"].as_str().expect("id").to_string();
        assert_eq!(p["code"], "BATON");
        assert_eq!(p["user_id"], uid.as_str());
        assert_eq!(p["pr_strategy"], "story");
        assert_eq!(p["auto_pr"], true);
        assert_eq!(p["archived"], false);
        assert_eq!(p["access"], "owner");
        assert_eq!(p["thinking_budget_default"], 12000);
        // Defaults.
        let d = create(&app, &me, json!({"name": "Second", "definition_of_done": "done"})).await.json();
        assert_eq!(d["pr_strategy"], "sprint_batch");
        assert_eq!(d["auto_pr"], false);
        assert_eq!(d["code"], Value::Null);
        assert_eq!(d["auto_plan_review"], true);

        for key in [id.as_str(), "BATON", "baton"] {
            let res = app.get(&format!("/api/products/{key}"), &me).await;
            assert_eq!(res.status, StatusCode::OK, "{key}");
            assert_eq!(res.json(), p);
        }
        let list = app.get("/api/products", &me).await.json();
        assert_eq!(list["total"], 2);
        assert_eq!(list["items"][0]["id"], id.as_str());
        assert_eq!(list["items"][0]["definition_of_done"], "Reviewed and tested");
        let page = app.get("/api/products?limit=1&page=2", &me).await.json();
        assert_eq!(page["items"][0]["name"], "Second");
        assert_eq!((page["page"].clone(), page["limit"].clone(), page["total"].clone()), (json!(2), json!(1), json!(2)));

        let res = app.json(Method::PATCH, "/api/products/BATON", &me, &json!({
            "name": "Baton 2", "code": null, "description": null, "pr_strategy": "sprint", "thinking_budget_default": null
        })).await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.text);
        let v = res.json();
        assert_eq!(v["name"], "Baton 2");
        assert_eq!(v["code"], Value::Null);
        assert_eq!(v["description"], Value::Null);
        assert_eq!(v["pr_strategy"], "sprint");
        assert_eq!(v["thinking_budget_default"], Value::Null);
        assert_eq!(v["repo_url"], "https://git.example.com/team/baton.git");
        assert_eq!(app.get("/api/products/BATON", &me).await.status, StatusCode::NOT_FOUND);
    }

    async fn invalid_or_clashing_input_is_422_naming_each_field_and_creates_nothing(t) {
        let app = TestApp::new(t).await;
        let (_, me) = owner(&app, "prod-owner").await;
        let (_, other) = owner(&app, "prod-owner2").await;
        assert_eq!(create(&app, &me, json!({"name": "Taken", "code": "TK", "definition_of_done": "d"})).await.status, StatusCode::CREATED);
        let before = snapshot(&app).await;
        let cases = [
            (json!({"name": "taken", "definition_of_done": "d"}), vec!["name"]),
            (json!({"name": "New", "code": "tk", "definition_of_done": "d"}), vec!["code"]),
            (json!({"name": "", "code": "x".repeat(31), "definition_of_done": " ", "repo_url": "not a url",
                    "thinking_budget_default": -1, "preferred_permission_mode": "has space"}),
             vec!["name", "code", "repo_url", "definition_of_done", "thinking_budget_default", "preferred_permission_mode"]),
            (json!({"name": "New"}), vec!["definition_of_done"]),
            (json!({"name": "New", "definition_of_done": "d", "pr_strategy": "weekly"}), vec!["pr_strategy"]),
            (json!({"name": "New", "code": "has space", "definition_of_done": "d"}), vec!["code"]),
        ];
        for (body, want) in cases {
            let res = create(&app, &me, body.clone()).await;
            assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {}", res.text);
            assert_eq!(res.error_code(), "validation_error");
            assert_eq!(paths(&res), want, "{body}");
        }
        let res = create(&app, &me, json!({"name": "New", "definition_of_done": "d", "colour": "red"})).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(res.text.contains("colour"), "{}", res.text);
        assert_eq!(snapshot(&app).await, before);
        // Names and codes are per owner: someone else may use them.
        assert_eq!(create(&app, &other, json!({"name": "Taken", "code": "TK", "definition_of_done": "d"})).await.status, StatusCode::CREATED);
        // Renaming onto another product's name is refused too.
        let second = create(&app, &me, json!({"name": "Second", "definition_of_done": "d"})).await.json();
        let res = app.json(Method::PATCH, &format!("/api/products/{}", second["id"].as_str().expect("id")), &me,
            &json!({"name": "TAKEN", "code": "Tk"})).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(paths(&res), ["name", "code"]);
        assert_eq!(app.get(&format!("/api/products/{}", second["id"].as_str().expect("id")), &me).await.json()["name"], "Second");
    }

    async fn demo_users_cannot_create_products(t) {
        let app = TestApp::new(t).await;
        let demo = app.user("demo-po", &[Role::ProductOwner], true).await;
        let token = As::Bearer(app.token_for(&demo).await);
        let before = snapshot(&app).await;
        let res = create(&app, &token, json!({"name": "Nope", "definition_of_done": "d"})).await;
        assert_eq!(res.status, StatusCode::FORBIDDEN);
        assert_eq!(res.error_code(), "demo_read_only");
        assert_eq!(snapshot(&app).await, before);
        assert_eq!(app.get("/api/products", &token).await.json()["total"], 0);
    }

    async fn the_list_shows_own_and_member_products_within_the_token_scope(t) {
        let app = TestApp::new(t).await;
        let mx = app.matrix().await;
        for (who, token, may_read, _) in mx.callers() {
            let v = app.get("/api/products", &As::Bearer(token)).await.json();
            let ids: Vec<&str> = v["items"].as_array().expect("items").iter().map(|p| p["id"].as_str().unwrap_or_default()).collect();
            assert_eq!(ids.contains(&mx.product_id.as_str()), may_read, "{who}: {v}");
        }
        let v = app.get("/api/products", &As::Bearer(mx.owner.clone())).await.json();
        assert_eq!(v["total"], 2, "owner sees both of their products");
        let v = app.get("/api/products", &As::Bearer(mx.scoped_in.clone())).await.json();
        assert_eq!(v["total"], 1);
        let reader = app.get("/api/products", &As::Bearer(mx.reader.clone())).await.json();
        assert_eq!(reader["items"][0]["access"], "read_only");
        let writer = app.get("/api/products", &As::Bearer(mx.writer.clone())).await.json();
        assert_eq!(writer["items"][0]["access"], "read_write");
        let demo = app.get("/api/products", &As::Bearer(mx.demo.clone())).await.json();
        assert_eq!(demo["items"][0]["access"], "read_only");
        let res = app.get("/api/products?limit=0", &As::Bearer(mx.owner)).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(paths(&res), ["limit"]);
    }

    async fn every_product_write_follows_the_permission_matrix(t) {
        let app = TestApp::new(t).await;
        let mx = app.matrix().await;
        let pid = mx.product_id.clone();
        let path = format!("/api/products/{pid}");
        // PATCH: owner and read-write members.
        for (who, token, may_read, may_write) in mx.callers() {
            let before = snapshot(&app).await;
            let res = app.json(Method::PATCH, &path, &As::Bearer(token), &json!({"description": who})).await;
            if may_write {
                assert_eq!(res.status, StatusCode::OK, "{who}: {}", res.text);
                assert_eq!(res.json()["description"], who);
            } else {
                assert_eq!(res.status, Matrix::refused_status(may_read), "{who}: {}", res.text);
                assert_eq!(snapshot(&app).await, before, "{who}");
            }
        }
        // Archive, unarchive and delete: the owner only (their scoped-in token included).
        let owner_only = |who: &str| matches!(who, "owner" | "token scoped to this product");
        for action in ["archive", "unarchive"] {
            for (who, token, may_read, _) in mx.callers() {
                let res = app.json(Method::POST, &format!("{path}/{action}"), &As::Bearer(token), &json!({})).await;
                if who == "owner" {
                    assert_eq!(res.status, StatusCode::OK, "{action} {who}: {}", res.text);
                    assert_eq!(res.json()["archived"], action == "archive");
                } else if owner_only(who) {
                    // Already done by the owner a moment ago: the state conflict says so.
                    assert_eq!(res.status, StatusCode::CONFLICT, "{action} {who}");
                    assert!(res.json()["error"]["message"].as_str().unwrap_or_default().contains("already"), "{}", res.text);
                } else {
                    let want = if may_read { StatusCode::FORBIDDEN } else { StatusCode::NOT_FOUND };
                    assert_eq!(res.status, want, "{action} {who}: {}", res.text);
                }
            }
        }
        for (who, token, may_read, _) in mx.callers() {
            if owner_only(who) {
                continue;
            }
            let before = snapshot(&app).await;
            let res = app.json(Method::DELETE, &path, &As::Bearer(token), &json!({})).await;
            assert_eq!(res.status, Matrix::refused_status(may_read), "delete {who}");
            assert_eq!(snapshot(&app).await, before, "{who}");
        }
        let res = app.json(Method::DELETE, &path, &As::Bearer(mx.scoped_in.clone()), &json!({})).await;
        assert_eq!(res.status, StatusCode::NO_CONTENT, "{}", res.text);
        assert_eq!(app.get(&path, &As::Bearer(mx.owner)).await.status, StatusCode::NOT_FOUND);
    }

    async fn an_archived_product_is_read_only_for_everyone_until_unarchived(t) {
        let app = TestApp::new(t).await;
        let mx = app.matrix().await;
        let pid = mx.product_id.clone();
        let path = format!("/api/products/{pid}");
        let owner = As::Bearer(mx.owner.clone());
        assert_eq!(app.json(Method::POST, &format!("{path}/archive"), &owner, &json!({})).await.status, StatusCode::OK);
        let listed = app.get("/api/products", &owner).await.json();
        assert!(!listed["items"].as_array().expect("items").iter().any(|p| p["id"] == pid.as_str()));
        let archived = app.get("/api/products?archived=true", &owner).await.json();
        assert_eq!(archived["total"], 1);
        assert_eq!(archived["items"][0]["id"], pid.as_str());
        assert_eq!(app.get(&path, &As::Bearer(mx.reader.clone())).await.status, StatusCode::OK);
        let before = snapshot(&app).await;
        for who in [&mx.owner, &mx.writer] {
            let res = app.json(Method::PATCH, &path, &As::Bearer(who.clone()), &json!({"name": "Changed"})).await;
            assert_eq!(res.status, StatusCode::CONFLICT, "{}", res.text);
            assert!(res.json()["error"]["message"].as_str().unwrap_or_default().contains("archived"), "{}", res.text);
        }
        let res = app.json(Method::POST, &format!("{path}/members"), &owner, &json!({"username": "mx-outsider"})).await;
        assert_eq!(res.status, StatusCode::CONFLICT, "{}", res.text);
        let writer_id = app.app().find_user_by_username("mx-writer").await.expect("q").expect("writer").id;
        let res = app.json(Method::PATCH, &format!("{path}/members/{writer_id}"), &owner, &json!({"access": "read_only"})).await;
        assert_eq!(res.status, StatusCode::CONFLICT, "{}", res.text);
        let res = app.json(Method::DELETE, &format!("{path}/members/{writer_id}"), &owner, &json!({})).await;
        assert_eq!(res.status, StatusCode::CONFLICT, "{}", res.text);
        // Reads keep working: context, members, export.
        for read in ["context", "members", "export"] {
            assert_eq!(app.get(&format!("{path}/{read}"), &owner).await.status, StatusCode::OK, "{read}");
        }
        // Read-only members still get 403 first: access is checked before state.
        let res = app.json(Method::PATCH, &path, &As::Bearer(mx.reader.clone()), &json!({"name": "Changed"})).await;
        assert_eq!(res.status, StatusCode::FORBIDDEN);
        assert_eq!(snapshot(&app).await, before);
        assert_eq!(app.json(Method::POST, &format!("{path}/unarchive"), &owner, &json!({})).await.status, StatusCode::OK);
        let res = app.json(Method::PATCH, &path, &As::Bearer(mx.writer), &json!({"name": "Changed"})).await;
        assert_eq!(res.status, StatusCode::OK);
    }

    async fn deleting_a_product_removes_its_whole_backlog_and_clears_active_choices(t) {
        let app = TestApp::new(t).await;
        let mx = app.matrix().await;
        let fx = Fx { app: &app, pid: mx.product_id.clone() };
        fx.backlog().await;
        let keep = snapshot(&app).await;
        for who in [&mx.owner, &mx.writer] {
            let res = app.json(Method::PUT, "/api/me/active-product", &As::Bearer(who.clone()), &json!({"product_id": mx.product_id})).await;
            assert_eq!(res.status, StatusCode::OK, "{}", res.text);
        }
        assert!(app.count("tasks").await > 0);
        let res = app.json(Method::DELETE, &format!("/api/products/{}", mx.product_id), &As::Bearer(mx.owner.clone()), &json!({})).await;
        assert_eq!(res.status, StatusCode::NO_CONTENT);
        for table in ["sprints", "pbis", "stories", "tasks", "story_logs"] {
            assert_eq!(app.count(table).await, 0, "{table}");
        }
        assert_eq!(app.count("products").await, keep[0].1 - 1);
        assert_eq!(app.count("product_members").await, 0);
        for who in [&mx.owner, &mx.writer] {
            assert_eq!(app.get("/api/me", &As::Bearer(who.clone())).await.json()["active_product_id"], Value::Null);
        }
    }

    async fn the_active_product_must_be_readable_and_can_be_cleared(t) {
        let app = TestApp::new(t).await;
        let mx = app.matrix().await;
        let (_, stranger) = owner(&app, "stranger").await;
        let theirs = create(&app, &stranger, json!({"name": "Theirs", "code": "THEIRS", "definition_of_done": "d"})).await.json();
        let reader = As::Bearer(mx.reader.clone());
        let res = app.json(Method::PUT, "/api/me/active-product", &reader, &json!({"product_id": mx.product_id})).await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.text);
        assert_eq!(res.json()["active_product_id"], mx.product_id.as_str());
        assert_eq!(app.get("/api/me", &reader).await.json()["active_product_id"], mx.product_id.as_str());
        for bad in [theirs["id"].as_str().expect("id"), "THEIRS", "nope"] {
            let res = app.json(Method::PUT, "/api/me/active-product", &reader, &json!({"product_id": bad})).await;
            assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
            assert_eq!(paths(&res), ["product_id"]);
        }
        assert_eq!(app.get("/api/me", &reader).await.json()["active_product_id"], mx.product_id.as_str());
        let res = app.json(Method::PUT, "/api/me/active-product", &As::Bearer(mx.scoped_out.clone()), &json!({"product_id": mx.product_id})).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "a scoped token cannot pick a product outside its scope");
        let res = app.json(Method::PUT, "/api/me/active-product", &As::Bearer(mx.demo.clone()), &json!({"product_id": mx.product_id})).await;
        assert_eq!(res.status, StatusCode::FORBIDDEN);
        let res = app.json(Method::PUT, "/api/me/active-product", &reader, &json!({"product_id": null})).await;
        assert_eq!(res.json()["active_product_id"], Value::Null);
        let res = app.json(Method::PUT, "/api/me/active-product", &reader, &json!({})).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(paths(&res), ["product_id"]);
    }

    async fn a_code_shared_by_two_accessible_products_asks_for_the_id(t) {
        let app = TestApp::new(t).await;
        let (_, a) = owner(&app, "alice").await;
        let (_, b) = owner(&app, "bob").await;
        let dev = app.user("dev", &[Role::Developer], false).await;
        let dev_token = As::Bearer(app.token_for(&dev).await);
        let pa = create(&app, &a, json!({"name": "A", "code": "SAME", "definition_of_done": "d"})).await.json();
        let pb = create(&app, &b, json!({"name": "B", "code": "SAME", "definition_of_done": "d"})).await.json();
        for (owner_token, p) in [(&a, &pa), (&b, &pb)] {
            let res = app.json(Method::POST, &format!("/api/products/{}/members", p["id"].as_str().expect("id")), owner_token,
                &json!({"username": "dev"})).await;
            assert_eq!(res.status, StatusCode::CREATED, "{}", res.text);
        }
        assert_eq!(app.get("/api/products/SAME", &a).await.json()["id"], pa["id"]);
        let res = app.get("/api/products/SAME", &dev_token).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", res.text);
        assert!(res.json()["error"]["message"].as_str().unwrap_or_default().contains("product id"));
        assert_eq!(app.get(&format!("/api/products/{}", pb["id"].as_str().expect("id")), &dev_token).await.status, StatusCode::OK);
    }
}
