//! Model prices (admin CRUD, seeded list prices) and cost insights with
//! exact arithmetic, on both backends.

use axum::http::{Method, StatusCode};
use baton_domain::roles::Role;
use baton_store::{
    entities::job,
    new_id, now,
    sea_orm::{ActiveModelTrait, ActiveValue::Set},
};
use baton_testkit::backend_tests;
use chrono::{DateTime, Utc};
use serde_json::json;

use crate::harness::{As, TestApp};

#[allow(clippy::too_many_arguments)]
async fn finished_job(
    app: &TestApp,
    user_id: &str,
    product_id: &str,
    model: Option<&str>,
    runtime: &str,
    tokens: (i64, i64, i64, i64),
    finished_at: DateTime<Utc>,
) {
    let t = now();
    job::ActiveModel {
        id: Set(new_id()),
        user_id: Set(user_id.into()),
        product_id: Set(product_id.into()),
        kind: Set("TASK_IMPLEMENTATION".into()),
        status: Set("DONE".into()),
        runtime: Set(runtime.into()),
        source: Set("MANUAL".into()),
        retry_count: Set(0),
        model_id: Set(model.map(str::to_string)),
        input_tokens: Set(Some(tokens.0)),
        output_tokens: Set(Some(tokens.1)),
        cache_read_tokens: Set(Some(tokens.2)),
        cache_write_tokens: Set(Some(tokens.3)),
        finished_at: Set(Some(finished_at)),
        created_at: Set(t),
        updated_at: Set(t),
        ..Default::default()
    }
    .insert(&app.t.db)
    .await
    .expect("job row");
}

fn day(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).expect("time").with_timezone(&Utc)
}

backend_tests! {
    async fn migrations_seed_public_prices_of_common_models(t) {
        let app = TestApp::new(t).await;
        let (_, admin) = app.admin().await;
        let page = app.get("/api/admin/model-prices?limit=200", &As::Bearer(admin)).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.text);
        let v = page.json();
        let items = v["items"].as_array().expect("items");
        let find = |model: &str| items.iter().find(|i| i["model_id"] == model).unwrap_or_else(|| panic!("{model} not seeded"));
        let sonnet = find("claude-sonnet-4-5");
        assert_eq!(sonnet["input_price_per_1m_micros"], 3_000_000);
        assert_eq!(sonnet["output_price_per_1m"], "15.000000");
        assert_eq!(sonnet["runtime"], "claude");
        assert!(sonnet["source_url"].as_str().unwrap_or_default().starts_with("https://"));
        for m in ["claude-opus-4-1", "claude-haiku-4-5", "gpt-4.1", "gpt-4.1-mini", "gpt-4o", "o3", "o4-mini"] {
            find(m);
        }
        assert_eq!(find("gpt-4.1")["cache_read_price_per_1m"], "0.500000");
    }

    async fn only_administrators_manage_prices_and_validation_names_fields(t) {
        let app = TestApp::new(t).await;
        let (_, admin) = app.admin().await;
        let dev = app.user("dev", &[Role::Developer], false).await;
        let dev = As::Bearer(app.token_for(&dev).await);
        let admin = As::Bearer(admin);
        let url = "/api/admin/model-prices";
        let body = json!({"model_id": "test-model", "runtime": "codex", "provider": "acme",
            "input_price_per_1m_micros": 1_250_000, "output_price_per_1m_micros": 10_000_000});
        let before = app.count("model_prices").await;
        assert_eq!(app.get(url, &dev).await.status, StatusCode::FORBIDDEN);
        assert_eq!(app.json(Method::POST, url, &dev, &body).await.status, StatusCode::FORBIDDEN);
        assert_eq!(app.get(url, &As::Nobody).await.status, StatusCode::UNAUTHORIZED);

        let bad = app.json(Method::POST, url, &admin, &json!({"model_id": "", "runtime": "gpt", "currency": "dollars",
            "input_price_per_1m_micros": -1, "output_price_per_1m_micros": 0, "source_url": "ftp://x"})).await;
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.text);
        let paths: Vec<String> = bad.json()["error"]["details"].as_array().expect("details").iter()
            .map(|d| d["path"].as_str().unwrap_or_default().to_string()).collect();
        for want in ["model_id", "runtime", "input_price_per_1m_micros", "currency", "source_url"] {
            assert!(paths.iter().any(|p| p == want), "{want} missing from {paths:?}");
        }
        assert_eq!(app.count("model_prices").await, before, "refused writes change nothing");

        let created = app.json(Method::POST, url, &admin, &body).await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
        let c = created.json();
        assert_eq!(c["runtime"], "codex");
        assert_eq!(c["billing_mode"], "api");
        assert_eq!(c["service_tier"], "standard");
        assert_eq!(c["input_price_per_1m"], "1.250000");
        let dup = app.json(Method::POST, url, &admin, &body).await;
        assert_eq!(dup.status, StatusCode::CONFLICT, "{}", dup.text);

        let id = c["id"].as_str().expect("id");
        let patched = app.json(Method::PATCH, &format!("{url}/{id}"), &admin,
            &json!({"output_price_per_1m_micros": 12_000_000, "notes": "raised"})).await;
        assert_eq!(patched.status, StatusCode::OK, "{}", patched.text);
        assert_eq!(patched.json()["output_price_per_1m"], "12.000000");
        assert_eq!(patched.json()["notes"], "raised");
        let cleared = app.json(Method::PATCH, &format!("{url}/{id}"), &admin, &json!({"notes": null})).await;
        assert!(cleared.json()["notes"].is_null());
        assert_eq!(app.json(Method::PATCH, &format!("{url}/{id}"), &dev, &json!({"notes": "x"})).await.status, StatusCode::FORBIDDEN);
        let neg = app.json(Method::PATCH, &format!("{url}/{id}"), &admin, &json!({"input_price_per_1m_micros": -5})).await;
        assert_eq!(neg.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(app.json(Method::DELETE, &format!("{url}/{id}"), &dev, &json!({})).await.status, StatusCode::FORBIDDEN);
        let del = app.json(Method::DELETE, &format!("{url}/{id}"), &admin, &json!({})).await;
        assert_eq!(del.status, StatusCode::NO_CONTENT);
        assert_eq!(app.json(Method::DELETE, &format!("{url}/{id}"), &admin, &json!({})).await.status, StatusCode::NOT_FOUND);
        assert_eq!(app.count("model_prices").await, before);
    }

    async fn cost_insights_are_exact_per_day_model_and_product_and_never_invent_prices(t) {
        let app = TestApp::new(t).await;
        let m = app.matrix().await;
        let owner_id = app.app().token_actor(&m.owner).await.expect("owner").user_id;
        let other_owner = app.user("other-owner", &[Role::ProductOwner], false).await;
        let hidden = app.product_row(&other_owner, "Hidden").await;
        // Sonnet 4.5 ($3 / $15 / $0.30 / $3.75): 1234 in, 567 out, 1000 cache read, 100 cache write
        // = 0.003702 + 0.008505 + 0.000300 + 0.000375 = 0.012882
        finished_job(&app, &owner_id, &m.product_id, Some("claude-sonnet-4-5-20250929"), "CLAUDE", (1234, 567, 1000, 100), day("2026-03-01T10:00:00Z")).await;
        // gpt-4.1 ($2 / $8, cached $0.50): 1M in, 1 out = 2.000008
        finished_job(&app, &owner_id, &m.product_id, Some("gpt-4.1"), "CODEX", (1_000_000, 1, 0, 0), day("2026-03-02T23:59:59Z")).await;
        // Unknown model: tokens count, cost does not.
        finished_job(&app, &owner_id, &m.product_id, Some("mystery-model"), "CLAUDE", (10, 20, 0, 0), day("2026-03-02T08:00:00Z")).await;
        // Someone else's product: invisible.
        finished_job(&app, &other_owner, &hidden, Some("gpt-4.1"), "CODEX", (5, 5, 0, 0), day("2026-03-01T10:00:00Z")).await;

        let owner = As::Bearer(m.owner.clone());
        let by_model = app.get("/api/insights/costs?group_by=model", &owner).await;
        assert_eq!(by_model.status, StatusCode::OK, "{}", by_model.text);
        let v = by_model.json();
        assert_eq!(v["currency"], "USD");
        let groups = v["groups"].as_array().expect("groups");
        let g = |k: &str| groups.iter().find(|g| g["key"] == k).unwrap_or_else(|| panic!("{k} missing: {v}"));
        assert_eq!(g("claude-sonnet-4-5-20250929")["cost"], "0.012882");
        assert_eq!(g("gpt-4.1")["cost"], "2.000008");
        assert!(g("mystery-model")["cost"].is_null());
        assert_eq!(g("mystery-model")["input_tokens"], 10);
        assert_eq!(v["total"]["jobs"], 3);
        assert_eq!(v["total"]["input_tokens"], 1_001_244);
        assert!(v["total"]["cost"].is_null(), "a total with an unpriced job has no cost");
        assert_eq!(v["total"]["priced_cost"], "2.012890");
        assert_eq!(v["total"]["unpriced_jobs"], 1);
        assert_eq!(v["total"]["unpriced_models"], json!(["mystery-model"]));

        let by_day = app.get("/api/insights/costs?group_by=day&from=2026-03-02&to=2026-03-02", &owner).await.json();
        let days = by_day["groups"].as_array().expect("groups");
        assert_eq!(days.len(), 1, "{by_day}");
        assert_eq!(days[0]["key"], "2026-03-02");
        assert_eq!(days[0]["jobs"], 2);
        let first_day = app.get("/api/insights/costs?to=2026-03-01", &owner).await.json();
        assert_eq!(first_day["total"]["cost"], "0.012882");

        let by_product = app.get(&format!("/api/insights/costs?group_by=product&product_id={}", m.product_id), &owner).await.json();
        assert_eq!(by_product["groups"].as_array().expect("groups").len(), 1);
        assert_eq!(by_product["groups"][0]["key"], m.product_id.as_str());

        // Readers see the product's costs; outsiders see nothing and cannot ask for it.
        let reader = app.get("/api/insights/costs", &As::Bearer(m.reader.clone())).await.json();
        assert_eq!(reader["total"]["jobs"], 3);
        let outsider = app.get("/api/insights/costs", &As::Bearer(m.outsider.clone())).await.json();
        assert_eq!(outsider["total"]["jobs"], 0);
        let probe = app.get(&format!("/api/insights/costs?product_id={}", m.product_id), &As::Bearer(m.outsider.clone())).await;
        assert_eq!(probe.status, StatusCode::NOT_FOUND);

        let bad = app.get("/api/insights/costs?group_by=week&from=yesterday", &owner).await;
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(bad.text.contains("group_by") && bad.text.contains("from"), "{}", bad.text);

        // Adding a price fills the gap.
        let (_, admin) = app.admin().await;
        let res = app.json(Method::POST, "/api/admin/model-prices", &As::Bearer(admin), &json!({
            "model_id": "mystery-model", "input_price_per_1m_micros": 1_000_000, "output_price_per_1m_micros": 2_000_000})).await;
        assert_eq!(res.status, StatusCode::CREATED, "{}", res.text);
        let after = app.get("/api/insights/costs?group_by=model", &owner).await.json();
        assert_eq!(after["total"]["cost"], "2.012940", "{after}");
    }
}
