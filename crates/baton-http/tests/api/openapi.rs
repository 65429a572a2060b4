//! The OpenAPI document is generated from the router: every mounted API
//! route is in it, and every documented route is mounted.

use axum::http::{Method, StatusCode};
use baton_testkit::backend_tests;

use crate::harness::{As, TestApp};

/// The API routes this build mounts (method, path as in the document).
const ROUTES: &[(&str, &str)] = &[
    ("get", "/health"),
    ("get", "/questions"),
    ("get", "/questions/{id}"),
    ("post", "/questions/{id}/answer"),
    ("post", "/questions/{id}/cancel"),
    ("post", "/cron/expire-questions"),
    ("get", "/admin/job-kinds"),
    ("get", "/admin/job-kinds/{kind}"),
    ("put", "/admin/job-kinds/{kind}"),
    ("get", "/admin/model-prices"),
    ("post", "/admin/model-prices"),
    ("patch", "/admin/model-prices/{id}"),
    ("delete", "/admin/model-prices/{id}"),
    ("get", "/insights/costs"),
    ("get", "/realtime/solo"),
    ("get", "/realtime/notifications"),
    ("get", "/me"),
    ("get", "/tokens"),
    ("post", "/tokens"),
    ("delete", "/tokens/{id}"),
    ("get", "/users"),
    ("post", "/users"),
    ("get", "/users/{id}"),
    ("patch", "/users/{id}"),
    ("get", "/products"),
    ("post", "/products"),
    ("get", "/products/{id}"),
    ("patch", "/products/{id}"),
    ("delete", "/products/{id}"),
    ("post", "/products/{id}/archive"),
    ("post", "/products/{id}/unarchive"),
    ("put", "/me/active-product"),
    ("get", "/products/{id}/members"),
    ("post", "/products/{id}/members"),
    ("patch", "/products/{id}/members/{user_id}"),
    ("delete", "/products/{id}/members/{user_id}"),
    ("get", "/products/{id}/claude-context"),
    ("get", "/products/{id}/context"),
    ("get", "/products/{id}/next-story"),
    ("get", "/sprints/{id}/tasks"),
    ("get", "/products/{id}/export"),
    ("post", "/products/import"),
    ("get", "/products/{id}/sprints"),
    ("post", "/products/{id}/sprints"),
    ("get", "/sprints/{id}"),
    ("patch", "/sprints/{id}"),
    ("delete", "/sprints/{id}"),
    ("post", "/sprints/{id}/stories"),
    ("delete", "/sprints/{id}/stories/{story_id}"),
    ("post", "/sprints/{id}/close"),
    ("post", "/sprints/{id}/archive"),
    ("post", "/sprints/{id}/fail"),
    ("get", "/sprints/{id}/board"),
    ("post", "/sprints/{id}/runs"),
    ("get", "/sprints/{id}/runs"),
    ("get", "/sprint-runs/{id}"),
    ("post", "/sprint-runs/{id}/cancel"),
    ("post", "/sprint-runs/{id}/resume"),
    ("post", "/bulk/reorder"),
    ("post", "/bulk/move-to-sprint"),
    ("post", "/bulk/status"),
    ("post", "/products/{id}/pbis"),
    ("get", "/products/{id}/pbis"),
    ("get", "/pbis/{id}"),
    ("patch", "/pbis/{id}"),
    ("delete", "/pbis/{id}"),
    ("post", "/pbis/{id}/move"),
    ("put", "/pbis/{id}/pr"),
    ("post", "/pbis/{id}/pr/merged"),
    ("post", "/pbis/{id}/stories"),
    ("get", "/pbis/{id}/stories"),
    ("get", "/stories/{id}"),
    ("patch", "/stories/{id}"),
    ("delete", "/stories/{id}"),
    ("post", "/stories/{id}/move"),
    ("post", "/stories/{id}/log"),
    ("get", "/stories/{id}/log"),
    ("get", "/projects/{id}/stories"),
    ("post", "/projects/{id}/stories"),
    ("get", "/stories/{id}/workflow"),
    ("get", "/stories/{id}/audit"),
    ("post", "/stories/{id}/validation"),
    ("post", "/stories/{id}/transition"),
    ("post", "/stories/{id}/submit-pr"),
    ("post", "/stories/{id}/qa-review"),
    ("post", "/stories/{id}/approve"),
    ("post", "/opportunities/{id}/deliverables"),
    ("get", "/opportunities/{id}/deliverables"),
    ("post", "/deliverables/{id}/review"),
    ("post", "/projects/{id}/ratings"),
    ("get", "/projects/{id}/ratings"),
    ("get", "/experts/{username}"),
    ("post", "/projects/{id}/documents"),
    ("get", "/projects/{id}/documents"),
    ("get", "/documents/{id}/content"),
    ("delete", "/documents/{id}"),
    ("post", "/stories/{id}/tasks"),
    ("get", "/stories/{id}/tasks"),
    ("get", "/tasks/{id}"),
    ("patch", "/tasks/{id}"),
    ("delete", "/tasks/{id}"),
    ("post", "/tasks/{id}/move"),
    ("post", "/tasks/{id}/jobs"),
    ("get", "/jobs"),
    ("get", "/jobs/queue-status"),
    ("get", "/jobs/{id}"),
    ("post", "/jobs/{id}/cancel"),
    ("post", "/jobs/{id}/retry"),
    ("post", "/jobs/{id}/requeue"),
    ("get", "/workers"),
    ("post", "/workers"),
    ("delete", "/workers/{instance_id}"),
    ("post", "/ideas"),
    ("get", "/ideas"),
    ("get", "/ideas/{id}"),
    ("patch", "/ideas/{id}"),
    ("get", "/ideas/{id}/logs"),
    ("post", "/ideas/{id}/logs"),
    ("put", "/ideas/{id}/grill-md"),
    ("put", "/ideas/{id}/plan-md"),
    ("post", "/ideas/{id}/dispatch"),
    ("post", "/ideas/{id}/materialize"),
    ("get", "/ideas/{id}/actions"),
    ("put", "/me/roles"),
    ("get", "/projects"),
    ("post", "/projects"),
    ("get", "/projects/{id}"),
    ("patch", "/projects/{id}"),
    ("get", "/projects/{id}/brief"),
    ("put", "/projects/{id}/brief"),
    ("post", "/projects/{id}/brief/publish"),
    ("post", "/projects/{id}/advance-stage"),
    ("post", "/projects/{id}/import/bmad"),
    ("post", "/projects/{id}/opportunities"),
    ("get", "/opportunities"),
    ("get", "/opportunities/{id}"),
    ("get", "/opportunities/{id}/bids"),
    ("post", "/opportunities/{id}/bids"),
    ("get", "/me/bids"),
    ("post", "/bids/{id}/withdraw"),
    ("post", "/bids/{id}/reject"),
    ("post", "/bids/{id}/accept"),
    ("get", "/escrows/{id}"),
    ("get", "/projects/{id}/escrows"),
    ("get", "/escrows/{id}/payment"),
    ("post", "/escrows/{id}/fund"),
    ("post", "/escrows/{id}/release"),
    ("post", "/escrows/{id}/refund"),
];

backend_tests! {
    async fn every_mounted_route_is_documented_and_every_documented_route_answers(t) {
        let app = TestApp::new(t).await;
        let res = app.get("/api/openapi.json", &As::Nobody).await;
        assert_eq!(res.status, StatusCode::OK);
        let doc = res.json();
        assert!(doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.1")));
        let paths = doc["paths"].as_object().expect("paths");
        let mut documented = Vec::new();
        for (path, item) in paths {
            for method in item.as_object().expect("item").keys() {
                documented.push((method.clone(), path.clone()));
            }
        }
        documented.sort();
        let mut expected: Vec<(String, String)> = ROUTES.iter().map(|(m, p)| (m.to_string(), p.to_string())).collect();
        expected.sort();
        assert_eq!(documented, expected, "documented routes differ from the mounted list");

        // Each documented route is really mounted: it never falls through to the 404/405 of the router.
        for (method, path) in &documented {
            let concrete = format!("/api{}", path.replace("{id}", "x"));
            let m = Method::from_bytes(method.to_uppercase().as_bytes()).expect("method");
            let res = app.raw(m, &concrete, &As::Nobody, "application/json", "{}".into()).await;
            assert_ne!(res.status, StatusCode::METHOD_NOT_ALLOWED, "{method} {concrete}");
            assert!(!res.text.contains("no API route"), "{method} {concrete} is documented but not mounted");
        }
    }
}
