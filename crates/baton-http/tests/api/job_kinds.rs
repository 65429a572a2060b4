//! `/api/admin/job-kinds` (administrators only) and `min_quota_pct` in the
//! product settings, on both backends.

use axum::http::{Method, StatusCode};
use baton_testkit::backend_tests;
use serde_json::json;

use crate::harness::{As, TestApp};

backend_tests! {
    async fn administrators_configure_job_kinds_and_others_are_refused(t) {
        let app = TestApp::new(t).await;
        let m = app.matrix().await;
        let (admin_id, admin) = app.admin().await;
        let admin = As::Bearer(admin);

        let res = app.get("/api/admin/job-kinds", &admin).await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.text);
        let all = res.json();
        let kinds = all.as_array().expect("list");
        assert!(kinds.len() >= 14, "every kind is listed");
        let task = kinds.iter().find(|k| k["kind"] == "task_implementation").expect("task kind");
        assert_eq!((task["model"].clone(), task["defaults"]["model"].as_str(), task["defaults"]["max_turns"].as_i64()),
            (json!(null), Some("sonnet"), Some(50)));

        let body = json!({"model": "opus", "thinking_budget": 9000, "permission_mode": "acceptEdits",
            "allowed_tools": ["Read", "Edit"], "max_turns": 12});
        for who in [&m.owner, &m.demo] {
            let res = app.json(Method::PUT, "/api/admin/job-kinds/task_implementation", &As::Bearer(who.clone()), &body).await;
            assert_eq!(res.status, StatusCode::FORBIDDEN, "{}", res.text);
        }
        let res = app.get("/api/admin/job-kinds", &As::Bearer(m.owner.clone())).await;
        assert_eq!(res.status, StatusCode::FORBIDDEN);
        assert_eq!(app.count("job_kind_configs").await, 0, "refusals write nothing");

        let res = app.json(Method::PUT, "/api/admin/job-kinds/task_implementation", &admin, &body).await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.text);
        let saved = res.json();
        assert_eq!((saved["model"].as_str(), saved["max_turns"].as_i64(), saved["updated_by"].as_str()),
            (Some("opus"), Some(12), Some(admin_id.as_str())));
        assert_eq!(saved["allowed_tools"], json!(["Read", "Edit"]));
        let got = app.get("/api/admin/job-kinds/task_implementation", &admin).await.json();
        assert_eq!(got, saved);

        // Bad input names the field and writes nothing; an unknown kind is 422.
        let res = app.json(Method::PUT, "/api/admin/job-kinds/task_implementation", &admin,
            &json!({"allowed_tools": ["Read", " "], "thinking_budget": 999999})).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", res.text);
        let paths: Vec<String> = res.json()["error"]["details"].as_array().expect("details").iter()
            .map(|d| d["path"].as_str().unwrap_or_default().to_string()).collect();
        assert_eq!(paths, ["thinking_budget", "allowed_tools.1"]);
        let res = app.json(Method::PUT, "/api/admin/job-kinds/nope", &admin, &json!({})).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(res.json()["error"]["details"][0]["path"], "kind");
        let res = app.json(Method::PUT, "/api/admin/job-kinds/task_implementation", &admin, &json!({"modle": "x"})).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
        let got = app.get("/api/admin/job-kinds/task_implementation", &admin).await.json();
        assert_eq!(got["model"], "opus", "unchanged after refusals");

        // Saving with nothing set clears the kind's configuration.
        let cleared = app.json(Method::PUT, "/api/admin/job-kinds/task_implementation", &admin, &json!({})).await.json();
        assert_eq!((cleared["model"].clone(), cleared["allowed_tools"].clone()), (json!(null), json!(null)));
    }

    async fn a_products_min_quota_pct_is_set_and_cleared_by_its_owner(t) {
        let app = TestApp::new(t).await;
        let m = app.matrix().await;
        let path = format!("/api/products/{}", m.product_id);
        let owner = As::Bearer(m.owner.clone());
        let res = app.json(Method::PATCH, &path, &owner, &json!({"min_quota_pct": 35})).await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.text);
        assert_eq!(res.json()["min_quota_pct"], 35);
        let res = app.json(Method::PATCH, &path, &owner, &json!({"min_quota_pct": -1})).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(res.json()["error"]["details"][0]["path"], "min_quota_pct");
        for who in [&m.reader, &m.demo] {
            let res = app.json(Method::PATCH, &path, &As::Bearer(who.clone()), &json!({"min_quota_pct": 5})).await;
            assert_eq!(res.status, StatusCode::FORBIDDEN, "{}", res.text);
        }
        let res = app.json(Method::PATCH, &path, &As::Bearer(m.outsider.clone()), &json!({"min_quota_pct": 5})).await;
        assert_eq!(res.status, StatusCode::NOT_FOUND, "{}", res.text);
        let res = app.get(&path, &owner).await;
        assert_eq!(res.json()["min_quota_pct"], 35, "refusals change nothing");
        let res = app.json(Method::PATCH, &path, &owner, &json!({"min_quota_pct": null})).await;
        assert!(res.json()["min_quota_pct"].is_null());
    }
}
