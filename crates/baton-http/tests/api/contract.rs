//! The API contract as a spec-following client sees it: the document names
//! its server, every documented operation reaches its route, every `/api`
//! answer (router 404/405, body limit 413, bad query parameters) is the JSON
//! error shape, pages cannot overflow, text with NUL is refused before the
//! database, and the whole document is snapshotted so a change of the public
//! surface shows in review.

use axum::{
    body::Body,
    http::{Method, Request, StatusCode, header},
};
use baton_domain::roles::Role;
use baton_testkit::backend_tests;
use serde_json::{Value, json};
use tower::ServiceExt;

use crate::{
    harness::{As, Res, TestApp},
    items::ix::{created, pbi, story, task},
};

/// The served document, parsed.
async fn served_document(app: &TestApp) -> Value {
    let res = app.get("/api/openapi.json", &As::Nobody).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    res.json()
}

/// An error answer in the JSON shape: status, content type, code.
fn assert_json_error(res: &Res, status: StatusCode, code: &str, what: &str) {
    assert_eq!(res.status, status, "{what}: {}", res.text);
    assert!(
        res.header("content-type").is_some_and(|c| c.starts_with("application/json")),
        "{what}: content type {:?}, body {}",
        res.header("content-type"),
        res.text
    );
    assert_eq!(res.error_code(), code, "{what}: {}", res.text);
    assert!(res.json()["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "{what}: {}", res.text);
}

/// A 422 naming `field` first.
fn assert_names(res: &Res, field: &str, what: &str) {
    assert_json_error(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_error", what);
    assert_eq!(res.json()["error"]["details"][0]["path"], field, "{what}: {}", res.text);
}

/// An admin who also owns a product with one PBI, story, task and sprint.
struct World {
    token: String,
    user_id: String,
    product: String,
    pbi: String,
    story: String,
    task: String,
    sprint: String,
}

async fn world(app: &TestApp) -> World {
    let user_id = app.user("contract", &[Role::Admin, Role::ProductOwner], false).await;
    let token = app.token_for(&user_id).await;
    let who = As::Bearer(token.clone());
    let id = |v: Value| v["id"].as_str().expect("id").to_string();
    let product =
        id(created(app, "/api/products", &who, json!({ "name": "Contract", "definition_of_done": "Reviewed" })).await);
    let pbi = id(pbi(app, &who, &product, "Login").await);
    let story = id(story(app, &who, &pbi, json!({ "title": "Log in with a password" })).await);
    let task = id(task(app, &who, &story, "Form").await);
    let sprint =
        id(created(app, &format!("/api/products/{product}/sprints"), &who, json!({ "sprint_goal": "Ship" })).await);
    World { token, user_id, product, pbi, story, task, sprint }
}

impl World {
    /// A real id for a path parameter, chosen by the collection before it;
    /// a random UUID where no such item was made (the route must still be
    /// reached and answer the item's `not_found`, not the router's).
    fn fill(&self, path: &str) -> String {
        let segments: Vec<&str> = path.split('/').collect();
        let mut out = Vec::with_capacity(segments.len());
        for (i, seg) in segments.iter().enumerate() {
            if !(seg.starts_with('{') && seg.ends_with('}')) {
                out.push(seg.to_string());
                continue;
            }
            let collection = if i > 0 { segments[i - 1] } else { "" };
            let value = match (*seg, collection) {
                ("{user_id}", _) | ("{id}", "users") => self.user_id.clone(),
                ("{story_id}", _) | ("{id}", "stories") => self.story.clone(),
                ("{id}", "products") => self.product.clone(),
                ("{id}", "pbis") => self.pbi.clone(),
                ("{id}", "tasks") => self.task.clone(),
                ("{id}", "sprints") => self.sprint.clone(),
                _ => uuid::Uuid::now_v7().to_string(),
            };
            out.push(value);
        }
        out.join("/")
    }
}

/// Sends a request and reads the body only when it is not an event stream
/// (an SSE answer never ends; its status and headers are enough here).
async fn call(app: &TestApp, method: Method, uri: &str, token: &str) -> (StatusCode, String, Option<String>) {
    let mut b = Request::builder()
        .method(method.clone())
        .uri(uri)
        .header(header::HOST, "127.0.0.1:8080")
        .header(header::AUTHORIZATION, format!("Bearer {token}"));
    let body = if method == Method::GET || method == Method::DELETE {
        Body::empty()
    } else {
        b = b.header(header::CONTENT_TYPE, "application/json");
        Body::from("{}")
    };
    let res = app.router.clone().oneshot(b.body(body).expect("request")).await.expect("router never fails");
    let status = res.status();
    let ct = res.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).map(str::to_string);
    if ct.as_deref().is_some_and(|c| c.starts_with("text/event-stream")) {
        return (status, String::new(), ct);
    }
    let bytes = axum::body::to_bytes(res.into_body(), usize::MAX).await.expect("body");
    (status, String::from_utf8_lossy(&bytes).into_owned(), ct)
}

/// Every documented operation with the document's server prefix applied, as
/// a generated client would build it; deletes last so the items stay for
/// the other operations.
fn operations(doc: &Value, w: &World) -> Vec<(Method, String, String)> {
    let server = doc["servers"][0]["url"].as_str().expect("servers[0].url");
    let mut ops = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in item.as_object().expect("path item").keys() {
            let m = Method::from_bytes(method.to_uppercase().as_bytes()).expect("method");
            ops.push((m, path.clone(), format!("{server}{}", w.fill(path))));
        }
    }
    ops.sort_by_key(|(m, p, _)| (*m == Method::DELETE, p.clone()));
    ops
}

#[test]
fn the_openapi_document_is_snapshotted() {
    // Any change to a path, parameter, schema or status shows as a diff of
    // this file in review; accept intended ones with `cargo insta review`
    // (or INSTA_UPDATE=always).
    let doc = serde_json::to_value(baton_http::openapi()).expect("document as JSON");
    insta::assert_json_snapshot!("openapi", doc);
}

backend_tests! {
    async fn the_document_names_its_server_and_serves_what_the_cli_prints(t) {
        let app = TestApp::new(t).await;
        let doc = served_document(&app).await;
        assert_eq!(doc["servers"][0]["url"], "/api", "{}", doc["servers"]);
        assert_eq!(doc["servers"].as_array().map(Vec::len), Some(1));
        // `baton openapi` prints `baton_http::openapi()`; the server answers
        // the document of the router it mounts. They must be the same.
        let cli = serde_json::to_value(baton_http::openapi()).expect("document as JSON");
        assert_eq!(doc, cli, "served /api/openapi.json differs from `baton openapi`");
        // Paths are relative to the server: none repeats the prefix.
        let paths = doc["paths"].as_object().expect("paths");
        assert!(paths.len() > 50, "{} paths", paths.len());
        assert!(paths.keys().all(|p| p.starts_with('/') && !p.starts_with("/api/")), "{:?}", paths.keys());
    }

    async fn every_documented_operation_reaches_its_route(t) {
        let app = TestApp::new(t).await;
        let doc = served_document(&app).await;
        let w = world(&app).await;
        let ops = operations(&doc, &w);
        assert!(ops.len() > 80, "{} operations", ops.len());
        for (method, path, uri) in ops {
            let (status, text, ct) = call(&app, method.clone(), &uri, &w.token).await;
            let what = format!("{method} {path} as {uri}");
            assert_ne!(status, StatusCode::METHOD_NOT_ALLOWED, "{what}: {text}");
            assert!(status != StatusCode::INTERNAL_SERVER_ERROR, "{what}: {text}");
            if ct.as_deref().is_some_and(|c| c.starts_with("text/event-stream")) {
                assert_eq!(status, StatusCode::OK, "{what}");
                continue;
            }
            if status == StatusCode::NO_CONTENT {
                assert!(text.is_empty(), "{what}: {text}");
                continue;
            }
            let body: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{what}: not JSON ({e}): {text}"));
            assert_ne!(body["error"]["code"], "route_not_found", "{what} is documented but not routed: {text}");
        }
    }

    async fn the_router_fallback_is_told_apart_from_a_missing_item(t) {
        let app = TestApp::new(t).await;
        let w = world(&app).await;
        let who = As::Bearer(w.token.clone());
        let unknown = app.get("/api/no/such/route", &who).await;
        assert_json_error(&unknown, StatusCode::NOT_FOUND, "route_not_found", "unknown path");
        let missing = app.get(&format!("/api/products/{}", uuid::Uuid::now_v7()), &who).await;
        assert_json_error(&missing, StatusCode::NOT_FOUND, "not_found", "missing product");
    }

    async fn every_api_answer_is_the_json_error_shape(t) {
        let app = TestApp::new(t).await;
        let w = world(&app).await;
        let who = As::Bearer(w.token.clone());
        // Paths the nested API router never sees.
        for path in ["/api/", "/api", "/api//products", "/api/products/x/y/z"] {
            let res = app.get(path, &who).await;
            assert_json_error(&res, StatusCode::NOT_FOUND, "route_not_found", path);
        }
        // A known path with a method it does not have: 405, JSON, Allow kept.
        for (method, path) in [(Method::PUT, "/api/products"), (Method::DELETE, "/api/health"), (Method::POST, "/api/me")] {
            let res = app.raw(method.clone(), path, &who, "application/json", "{}".into()).await;
            assert_json_error(&res, StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", &format!("{method} {path}"));
            assert!(res.header("allow").is_some_and(|a| a.contains("GET")), "{method} {path}: {:?}", res.headers);
        }
        // A body announced larger than the limit is refused before it is read.
        let limit = app.state.http.body_limit;
        let big = format!("{{\"name\":\"{}\"}}", "x".repeat(limit));
        let req = Request::builder()
            .method(Method::POST)
            .uri("/api/products")
            .header(header::HOST, "127.0.0.1:8080")
            .header(header::AUTHORIZATION, format!("Bearer {}", w.token))
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::CONTENT_LENGTH, big.len())
            .body(Body::from(big.clone()))
            .expect("request");
        let res = app.send(req).await;
        assert_json_error(&res, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", "announced length");
        assert!(res.json()["error"]["message"].as_str().is_some_and(|m| m.contains(&limit.to_string())), "{}", res.text);
        // The same body without a length (chunked) is refused alike.
        let res = app.raw(Method::POST, "/api/products", &who, "application/json", big).await;
        assert_json_error(&res, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", "chunked");
        assert_eq!(app.count("products").await, 1, "nothing was created");
        // Pages outside /api keep their own (HTML) answers.
        let page = app.get("/no-such-page", &As::Nobody).await;
        assert_eq!(page.status, StatusCode::NOT_FOUND);
        assert!(!page.header("content-type").is_some_and(|c| c.starts_with("application/json")), "{:?}", page.headers);
    }

    async fn bad_query_parameters_are_422_naming_the_parameter(t) {
        let app = TestApp::new(t).await;
        let w = world(&app).await;
        let who = As::Bearer(w.token.clone());
        let lists = [
            "/api/products".to_string(),
            "/api/jobs".into(),
            "/api/questions".into(),
            "/api/admin/model-prices".into(),
            format!("/api/products/{}/members", w.product),
            format!("/api/products/{}/sprints", w.product),
            format!("/api/products/{}/pbis", w.product),
            format!("/api/pbis/{}/stories", w.pbi),
            format!("/api/stories/{}/tasks", w.story),
            format!("/api/stories/{}/log", w.story),
            format!("/api/sprints/{}/tasks", w.sprint),
            format!("/api/sprints/{}/runs", w.sprint),
        ];
        let bad = [
            ("page=9223372036854775808", "page"),
            ("page=18446744073709551615", "page"),
            ("page=99999999999999999999999", "page"),
            ("page=1000001", "page"),
            ("page=0", "page"),
            ("page=-1", "page"),
            ("page=1.5", "page"),
            ("limit=abc", "limit"),
            ("limit=201", "limit"),
            ("limit=-5", "limit"),
            ("page=2&limit=99999999999999999999", "limit"),
        ];
        for list in &lists {
            for (query, field) in bad {
                let res = app.get(&format!("{list}?{query}"), &who).await;
                assert_names(&res, field, &format!("{list}?{query}"));
            }
            // The largest page is allowed, and empty.
            let res = app.get(&format!("{list}?page=1000000&limit=200"), &who).await;
            assert_eq!(res.status, StatusCode::OK, "{list}: {}", res.text);
            assert_eq!(res.json()["items"], json!([]), "{list}: {}", res.text);
            assert_eq!(res.json()["page"], 1_000_000, "{list}: {}", res.text);
        }
        // Filters of other types, and enum values the services do not know.
        for (uri, field) in [
            ("/api/products?archived=maybe".to_string(), "archived"),
            ("/api/jobs?status=bogus".into(), "status"),
            ("/api/jobs?kind=bogus".into(), "kind"),
            ("/api/questions?status=bogus".into(), "status"),
            (format!("/api/products/{}/pbis?priority=high", w.product), "priority"),
            (format!("/api/products/{}/pbis?priority=99999999999", w.product), "priority"),
            (format!("/api/products/{}/sprints?status=bogus", w.product), "status"),
        ] {
            let res = app.get(&uri, &who).await;
            assert_names(&res, field, &uri);
        }
    }

    async fn nul_characters_are_refused_naming_the_field_and_nothing_is_stored(t) {
        let app = TestApp::new(t).await;
        let w = world(&app).await;
        let who = As::Bearer(w.token.clone());
        let (products, pbis, stories) = (app.count("products").await, app.count("pbis").await, app.count("stories").await);

        let res = app.json(Method::POST, "/api/products", &who, &json!({ "name": "Nul\u{0}name", "definition_of_done": "Reviewed" })).await;
        assert_names(&res, "name", "product name");
        let res = app.json(Method::POST, &format!("/api/products/{}/pbis", w.product), &who, &json!({ "title": "a\u{0}" })).await;
        assert_names(&res, "title", "PBI title");
        let res = app
            .json(Method::POST, &format!("/api/pbis/{}/stories", w.pbi), &who, &json!({ "title": "ok", "description": "\u{0}" }))
            .await;
        assert_names(&res, "description", "story description");
        // Nested fields and keys are named by their dotted path.
        let res = app
            .json(Method::POST, "/api/bulk/status", &who, &json!({ "ids": [w.task, "x\u{0}"], "status": "done" }))
            .await;
        assert_names(&res, "ids.1", "nested");
        // Updates too.
        let res = app.json(Method::PATCH, &format!("/api/pbis/{}", w.pbi), &who, &json!({ "title": "\u{0}" })).await;
        assert_names(&res, "title", "PBI update");
        // Query strings and paths.
        let res = app.get(&format!("/api/products/{}/pbis?q=a%00b", w.product), &who).await;
        assert_names(&res, "q", "query");
        let res = app.get("/api/products/a%00b", &who).await;
        assert_names(&res, "path", "path");

        assert_eq!(app.count("products").await, products, "no product was stored");
        assert_eq!(app.count("pbis").await, pbis, "no PBI was stored");
        assert_eq!(app.count("stories").await, stories, "no story was stored");
        let res = app.get(&format!("/api/pbis/{}", w.pbi), &who).await;
        assert_eq!(res.json()["title"], "Login", "the PBI is unchanged");
    }
}
