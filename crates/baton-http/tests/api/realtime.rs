//! SSE streams on both backends: auth and access, `ready` first, product
//! and per-user filtering, `resync` after lagging, heartbeats and the
//! periodic close, and (on Postgres) an event from instance A reaching a
//! client connected to instance B. Bodies are read with bounded timeouts.

use std::{collections::BTreeSet, net::SocketAddr, time::Duration};

use axum::{
    Router,
    body::{Body, BodyDataStream},
    extract::ConnectInfo,
    http::{HeaderMap, Method, Request, StatusCode, header},
};
use baton_app::{
    App, AppConfig,
    events::{Event, kinds},
    questions::NewQuestion,
    workers::WorkerInfo,
};
use baton_http::{AppState, HttpConfig};
use baton_store::events::EventBus;
use baton_store::sea_orm::{EntityTrait, sea_query::Expr};
use baton_testkit::backend_tests;
use futures::StreamExt;
use serde_json::{Value, json};
use tower::ServiceExt;

use crate::harness::{As, Matrix, ORIGIN, TestApp};

const WAIT: Duration = Duration::from_secs(10);

/// One SSE frame: its event name (or `None` for a comment) and data.
#[derive(Debug)]
struct Frame {
    event: Option<String>,
    data: String,
    comment: Option<String>,
}

struct Stream {
    body: BodyDataStream,
    buf: String,
}

impl Stream {
    /// Every named event until none comes for `idle` (heartbeats skipped).
    async fn drain(&mut self, idle: Duration) -> Vec<(String, Value)> {
        let mut out = Vec::new();
        loop {
            if !self.buf.contains("\n\n") {
                match tokio::time::timeout(idle, self.body.next()).await {
                    Ok(Some(Ok(bytes))) => {
                        self.buf.push_str(&String::from_utf8_lossy(&bytes));
                        continue;
                    }
                    Ok(Some(Err(e))) => panic!("body error: {e}"),
                    Ok(None) | Err(_) => return out,
                }
            }
            let f = self.frame().await.expect("a buffered frame");
            if let Some(name) = f.event {
                out.push((name, serde_json::from_str(&f.data).expect("event data is JSON")));
            }
        }
    }

    /// The next frame, or `None` when the stream ended. Panics after `WAIT`.
    async fn frame(&mut self) -> Option<Frame> {
        loop {
            if let Some(i) = self.buf.find("\n\n") {
                let raw: String = self.buf.drain(..i + 2).collect();
                let mut f = Frame { event: None, data: String::new(), comment: None };
                for line in raw.lines() {
                    if let Some(c) = line.strip_prefix(':') {
                        f.comment = Some(c.trim().to_string());
                    } else if let Some(e) = line.strip_prefix("event:") {
                        f.event = Some(e.trim().to_string());
                    } else if let Some(d) = line.strip_prefix("data:") {
                        f.data.push_str(d.trim());
                    }
                }
                return Some(f);
            }
            match tokio::time::timeout(WAIT, self.body.next()).await.expect("SSE frame within the timeout") {
                Some(Ok(bytes)) => self.buf.push_str(&String::from_utf8_lossy(&bytes)),
                Some(Err(e)) => panic!("body error: {e}"),
                None => return None,
            }
        }
    }

    /// The next named event (skipping heartbeat comments).
    async fn event(&mut self) -> (String, Value) {
        loop {
            let f = self.frame().await.expect("stream still open");
            if let Some(name) = f.event {
                let data = serde_json::from_str(&f.data).unwrap_or(Value::Null);
                return (name, data);
            }
        }
    }
}

async fn open(router: &Router, path: &str, who: &As) -> (StatusCode, HeaderMap, Stream) {
    open_from(router, path, who, None).await
}

/// Opens a stream as if from the client address `ip` (the connection's
/// peer, as `axum::serve` records it).
async fn open_from(router: &Router, path: &str, who: &As, ip: Option<&str>) -> (StatusCode, HeaderMap, Stream) {
    let mut b = Request::builder().method(Method::GET).uri(path).header(header::HOST, "127.0.0.1:8080");
    match who {
        As::Bearer(t) => b = b.header(header::AUTHORIZATION, format!("Bearer {t}")),
        As::Cookie(c) => b = b.header(header::COOKIE, format!("baton_session={c}")),
        As::Nobody => {}
    }
    let mut req = b.body(Body::empty()).expect("request");
    if let Some(ip) = ip {
        let addr: SocketAddr = format!("{ip}:40000").parse().expect("address");
        req.extensions_mut().insert(ConnectInfo(addr));
    }
    let res = router.clone().oneshot(req).await.expect("router");
    let (status, headers) = (res.status(), res.headers().clone());
    (status, headers, Stream { body: res.into_body().into_data_stream(), buf: String::new() })
}

async fn story_in(app: &TestApp, m: &Matrix) -> String {
    let owner = As::Bearer(m.owner.clone());
    let pbi =
        app.json(Method::POST, &format!("/api/products/{}/pbis", m.product_id), &owner, &json!({"title": "P"})).await;
    let pbi = pbi.json()["id"].as_str().expect("pbi").to_string();
    let story = app.json(Method::POST, &format!("/api/pbis/{pbi}/stories"), &owner, &json!({"title": "S"})).await;
    story.json()["id"].as_str().expect("story").to_string()
}

fn question(story: &str, text: &str) -> NewQuestion {
    NewQuestion { story_id: Some(story.into()), question: text.into(), ..Default::default() }
}

backend_tests! {
    async fn the_solo_stream_needs_a_caller_a_product_and_read_access(t) {
        let app = TestApp::new(t).await;
        let m = app.matrix().await;
        let path = format!("/api/realtime/solo?product_id={}", m.product_id);
        assert_eq!(open(&app.router, &path, &As::Nobody).await.0, StatusCode::UNAUTHORIZED);
        assert_eq!(open(&app.router, "/api/realtime/solo", &As::Bearer(m.owner.clone())).await.0, StatusCode::BAD_REQUEST);
        assert_eq!(open(&app.router, &path, &As::Bearer(m.outsider.clone())).await.0, StatusCode::NOT_FOUND);
        assert_eq!(open(&app.router, &path, &As::Bearer(m.scoped_out.clone())).await.0, StatusCode::NOT_FOUND);
        for token in [&m.reader, &m.demo] {
            let (status, headers, mut s) = open(&app.router, &path, &As::Bearer(token.clone())).await;
            assert_eq!(status, StatusCode::OK);
            assert_eq!(headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()), Some("text/event-stream"));
            assert_eq!(headers.get(header::CACHE_CONTROL).and_then(|v| v.to_str().ok()), Some("no-cache, no-transform"));
            assert_eq!(headers.get("x-accel-buffering").and_then(|v| v.to_str().ok()), Some("no"));
            let (name, data) = s.event().await;
            assert_eq!(name, "ready");
            assert_eq!(data["product_id"], m.product_id.as_str());
        }
        // A browser session works too.
        let cookie = app.login("mx-reader", "mx-reader-password").await;
        let (status, _, mut s) = open(&app.router, &path, &As::Cookie(cookie)).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(s.event().await.0, "ready");
    }

    async fn the_solo_stream_carries_its_products_events_only(t) {
        let app = TestApp::new(t).await;
        let m = app.matrix().await;
        let story = story_in(&app, &m).await;
        let path = format!("/api/realtime/solo?product_id={}", m.product_id);
        let (_, _, mut s) = open(&app.router, &path, &As::Bearer(m.reader.clone())).await;
        assert_eq!(s.event().await.0, "ready");
        let bus = &app.app().bus;
        bus.publish(&Event::new(kinds::TASK_CHANGED).for_product("another-product").with_data(json!({"n": 1}))).await.expect("publish");
        bus.publish(&Event::new(kinds::JOB_STATUS).for_product(m.product_id.clone()).for_user("someone")
            .with_data(json!({"idea_id": "i1", "status": "done"}))).await.expect("publish");
        let owner = app.app().token_actor(&m.owner).await.expect("owner");
        let asked = app.app().ask_question(&owner, question(&story, "Live?")).await.expect("ask");
        let (name, data) = s.event().await;
        assert_eq!(name, "question_changed", "events of other products and others' ideas are dropped");
        assert_eq!(data["product_id"], m.product_id.as_str());
        assert_eq!(data["data"]["op"], "asked");
        assert_eq!(data["data"]["question"]["id"], asked.id.as_str());
        assert_eq!(data["data"]["question"]["question"], "Live?", "enough to update a page without refetching");
        let res = app.json(Method::POST, &format!("/api/questions/{}/answer", asked.id), &As::Bearer(m.writer.clone()), &json!({"answer": "yes"})).await;
        assert_eq!(res.status, StatusCode::OK);
        let (name, data) = s.event().await;
        assert_eq!(name, "question_changed");
        assert_eq!(data["data"]["op"], "answered");
        assert_eq!(data["data"]["question"]["answer"], "yes");
    }

    async fn the_notification_stream_carries_the_callers_questions_and_jobs(t) {
        let app = TestApp::new(t).await;
        let m = app.matrix().await;
        let story = story_in(&app, &m).await;
        let reader = app.app().token_actor(&m.reader).await.expect("reader");
        let (status, _, mut s) = open(&app.router, "/api/realtime/notifications", &As::Bearer(m.reader.clone())).await;
        assert_eq!(status, StatusCode::OK);
        let (name, ready) = s.event().await;
        assert_eq!(name, "ready");
        assert_eq!(ready["product_ids"], json!([m.product_id]));
        assert_eq!(ready["open_questions"], json!([]));
        let (_, _, mut outsider) = open(&app.router, "/api/realtime/notifications", &As::Bearer(m.outsider.clone())).await;
        assert_eq!(outsider.event().await.0, "ready");

        let bus = &app.app().bus;
        bus.publish(&Event::new(kinds::JOB_STATUS).for_product(m.product_id.clone()).for_user("someone-else")
            .with_data(json!({"job_id": "j0", "status": "done"}))).await.expect("publish");
        bus.publish(&Event::new(kinds::TASK_CHANGED).for_product(m.product_id.clone())).await.expect("publish");
        bus.publish(&Event::new(kinds::JOB_STATUS).for_product(m.product_id.clone()).for_user(reader.user_id.clone())
            .with_data(json!({"job_id": "j1", "status": "claimed"}))).await.expect("publish");
        let (name, data) = s.event().await;
        assert_eq!(name, "job_status", "only the caller's own job, no board events");
        assert_eq!(data["data"]["job_id"], "j1");

        let owner = app.app().token_actor(&m.owner).await.expect("owner");
        let asked = app.app().ask_question(&owner, question(&story, "Bell?")).await.expect("ask");
        let (name, data) = s.event().await;
        assert_eq!(name, "question_changed");
        assert_eq!(data["data"]["question"]["id"], asked.id.as_str());
        // A new connection starts with the open questions in its `ready` event.
        let (_, _, mut again) = open(&app.router, "/api/realtime/notifications", &As::Bearer(m.reader.clone())).await;
        let (name, ready) = again.event().await;
        assert_eq!(name, "ready");
        assert_eq!(ready["open_questions"][0]["id"], asked.id.as_str());
        assert_eq!(ready["open_questions"].as_array().map(Vec::len), Some(1));

        // The outsider's stream got none of it: the next thing it sees is a marker of its own.
        let outsider_actor = app.app().token_actor(&m.outsider).await.expect("outsider");
        bus.publish(&Event::new(kinds::JOB_STATUS).for_user(outsider_actor.user_id.clone()).with_data(json!({"job_id": "mine"}))).await.expect("publish");
        let (name, data) = outsider.event().await;
        assert_eq!(name, "job_status");
        assert_eq!(data["data"]["job_id"], "mine");
    }

    async fn a_pages_stream_carries_its_product_and_the_bell(t) {
        let app = TestApp::new(t).await;
        let m = app.matrix().await;
        let story = story_in(&app, &m).await;
        // Pages only: no session → the log-in page; a product the caller cannot see → 404.
        let (status, headers, _) = open(&app.router, "/events", &As::Nobody).await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        assert_eq!(headers.get(header::LOCATION).and_then(|v| v.to_str().ok()), Some("/login"));
        let outsider = app.login("mx-outsider", "mx-outsider-password").await;
        let (status, _, _) = open(&app.router, &format!("/events?product={}", m.product_id), &As::Cookie(outsider)).await;
        assert_eq!(status, StatusCode::NOT_FOUND);

        let reader = app.login("mx-reader", "mx-reader-password").await;
        let (status, headers, mut scoped) =
            open(&app.router, &format!("/events?product={}", m.product_id), &As::Cookie(reader.clone())).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()), Some("text/event-stream"));
        let (name, ready) = scoped.event().await;
        assert_eq!((name.as_str(), ready["product_id"].as_str()), ("ready", Some(m.product_id.as_str())));
        let (_, _, mut all) = open(&app.router, "/events", &As::Cookie(reader)).await;
        assert_eq!(all.event().await.0, "ready");

        let bus = &app.app().bus;
        bus.publish(&Event::new(kinds::TASK_CHANGED).for_product("another-product").with_data(json!({"n": 1}))).await.expect("publish");
        bus.publish(&Event::new(kinds::TASK_CHANGED).for_product(m.product_id.clone()).with_data(json!({"task_id": "t1"}))).await.expect("publish");
        for s in [&mut scoped, &mut all] {
            let (name, data) = s.event().await;
            assert_eq!(name, "task_changed", "another product's events are dropped");
            assert_eq!(data["data"]["task_id"], "t1");
        }
        // The bell: a question in the product reaches both.
        let owner = app.app().token_actor(&m.owner).await.expect("owner");
        let asked = app.app().ask_question(&owner, question(&story, "Bell on a page?")).await.expect("ask");
        for s in [&mut scoped, &mut all] {
            let (name, data) = s.event().await;
            assert_eq!(name, "question_changed");
            assert_eq!(data["data"]["question"]["id"], asked.id.as_str());
        }
    }

    async fn a_worker_coming_and_going_reaches_its_owners_pages_once(t) {
        let app = TestApp::new(t).await;
        let m = app.matrix().await;
        let owner_cookie = app.login("mx-owner", "mx-owner-password").await;
        let reader_cookie = app.login("mx-reader", "mx-reader-password").await;
        let (_, _, mut dashboard) = open(&app.router, "/events", &As::Cookie(owner_cookie.clone())).await;
        let (_, _, mut solo) =
            open(&app.router, &format!("/events?product={}", m.product_id), &As::Cookie(owner_cookie)).await;
        let (_, _, mut others) = open(&app.router, "/events", &As::Cookie(reader_cookie)).await;
        for s in [&mut dashboard, &mut solo, &mut others] {
            assert_eq!(s.event().await.0, "ready");
        }
        let owner = app.app().token_actor(&m.owner).await.expect("owner");
        let reader = app.app().token_actor(&m.reader).await.expect("reader");
        // Everyone's streams end with a marker, so "nothing before it" is checkable.
        let mark = |n: u32| {
            let bus = app.app().bus.clone();
            let users = [owner.user_id.clone(), reader.user_id.clone()];
            async move {
                for u in users {
                    let e = Event::new(kinds::JOB_STATUS).for_user(u).with_data(json!({"job_id": format!("marker-{n}")}));
                    bus.publish(&e).await.expect("publish");
                }
            }
        };
        async fn next_is_marker(s: &mut Stream, n: u32) {
            let (name, data) = s.event().await;
            assert_eq!((name.as_str(), data["data"]["job_id"].as_str()), ("job_status", Some(format!("marker-{n}").as_str())));
        }

        // First registration: online, on both of the owner's pages, not the reader's.
        app.app().register_worker(&owner, WorkerInfo::new("laptop")).await.expect("register");
        for s in [&mut dashboard, &mut solo] {
            let (name, data) = s.event().await;
            assert_eq!(name, "worker_presence");
            assert_eq!(data["data"]["action"], "online");
            assert_eq!(data["data"]["instance_id"], "laptop");
            assert_eq!(data["user_id"], owner.user_id.as_str());
        }
        // Further heartbeats of a live worker say nothing to the pages.
        app.app().worker_heartbeat(&owner, WorkerInfo::new("laptop"), Default::default()).await.expect("beat");
        app.app().register_worker(&owner, WorkerInfo::new("laptop")).await.expect("again");
        mark(1).await;
        for s in [&mut dashboard, &mut solo, &mut others] {
            next_is_marker(s, 1).await;
        }

        // The 30 s window lapses: the sweep announces it once.
        let stale = baton_store::now() - chrono::Duration::seconds(31);
        baton_store::entities::worker::Entity::update_many()
            .col_expr(baton_store::entities::worker::Column::LastSeenAt, Expr::value(stale))
            .exec(&app.app().db)
            .await
            .expect("backdate");
        let cutoff = app.app().announce_lapsed_workers(None).await.expect("sweep");
        app.app().announce_lapsed_workers(Some(cutoff)).await.expect("second sweep");
        for s in [&mut dashboard, &mut solo] {
            let (name, data) = s.event().await;
            assert_eq!((name.as_str(), data["data"]["action"].as_str()), ("worker_presence", Some("offline")));
        }
        mark(2).await;
        for s in [&mut dashboard, &mut solo, &mut others] {
            next_is_marker(s, 2).await;
        }

        // Back again: online. A worker limited to another product reaches the
        // dashboard but not this product's page.
        app.app().worker_heartbeat(&owner, WorkerInfo::new("laptop"), Default::default()).await.expect("beat");
        let elsewhere = app.app().list_products(&owner, Default::default()).await.expect("products");
        let other = elsewhere.items.iter().find(|p| p.id != m.product_id).expect("the other product").id.clone();
        let limited = WorkerInfo { product_id: Some(other.clone()), ..WorkerInfo::new("desk") };
        app.app().register_worker(&owner, limited).await.expect("limited");
        let (name, data) = dashboard.event().await;
        assert_eq!((name.as_str(), data["data"]["instance_id"].as_str()), ("worker_presence", Some("laptop")));
        let (name, data) = dashboard.event().await;
        assert_eq!((name.as_str(), data["data"]["instance_id"].as_str()), ("worker_presence", Some("desk")));
        let (name, data) = solo.event().await;
        assert_eq!((name.as_str(), data["data"]["instance_id"].as_str()), ("worker_presence", Some("laptop")));
        // Going offline explicitly is announced too.
        app.app().worker_offline(&owner, "laptop").await.expect("offline");
        for s in [&mut dashboard, &mut solo] {
            let (name, data) = s.event().await;
            assert_eq!((name.as_str(), data["data"]["action"].as_str()), ("worker_presence", Some("offline")));
        }
        // A live worker limited to another product from now on leaves this
        // product's page too, so that page hears of it.
        let moved = WorkerInfo { product_id: Some(other.clone()), ..WorkerInfo::new("laptop") };
        app.app().register_worker(&owner, WorkerInfo::new("laptop")).await.expect("back");
        app.app().register_worker(&owner, moved).await.expect("moved");
        for s in [&mut dashboard, &mut solo] {
            let (name, data) = s.event().await;
            assert_eq!((name.as_str(), data["data"]["action"].as_str()), ("worker_presence", Some("online")));
            let (name, data) = s.event().await;
            assert_eq!((name.as_str(), data["data"]["action"].as_str()), ("worker_presence", Some("changed")));
            assert!(data["data"]["product_id"].is_null(), "{data}");
        }
        mark(3).await;
        for s in [&mut dashboard, &mut solo, &mut others] {
            next_is_marker(s, 3).await;
        }
    }

    async fn a_lagging_stream_is_told_to_resync_and_keeps_going(t) {
        let app = TestApp::new(t).await;
        let m = app.matrix().await;
        let path = format!("/api/realtime/solo?product_id={}", m.product_id);
        let (_, _, mut s) = open(&app.router, &path, &As::Bearer(m.owner.clone())).await;
        assert_eq!(s.event().await.0, "ready");
        // The bus keeps 1024 events per subscriber; overflow it while the client is not reading.
        for i in 0..1100 {
            app.app().bus.publish(&Event::new(kinds::TASK_CHANGED).for_product(m.product_id.clone()).with_data(json!({"i": i}))).await.expect("publish");
        }
        let (name, data) = s.event().await;
        assert_eq!(name, "resync");
        assert_eq!(data["reason"], "lagged");
        let (name, _) = s.event().await;
        assert_eq!(name, "task_changed", "the stream continues after a resync");
        // A bus reconnect is passed on as resync too.
        app.app().bus.publish(&Event::new(kinds::BUS_RESYNC)).await.expect("publish");
        loop {
            let (name, data) = s.event().await;
            if name == "resync" {
                assert_eq!(data["reason"], "bus_resync");
                break;
            }
            assert_eq!(name, "task_changed");
        }
    }

    async fn streams_send_heartbeats_and_close_after_their_maximum_duration(t) {
        let config = AppConfig {
            realtime_max_duration: Duration::from_millis(700),
            realtime_heartbeat: Duration::from_millis(150),
            ..AppConfig::default()
        };
        let app = TestApp::with_config(t, config).await;
        let m = app.matrix().await;
        let (_, _, mut s) = open(&app.router, "/api/realtime/notifications", &As::Bearer(m.owner.clone())).await;
        let first = s.frame().await.expect("ready");
        assert_eq!(first.event.as_deref(), Some("ready"));
        let mut heartbeats = 0;
        while let Some(f) = s.frame().await {
            if f.comment.as_deref() == Some("heartbeat") {
                heartbeats += 1;
            }
        }
        assert!(heartbeats >= 1, "at least one heartbeat before the close");
    }

    async fn an_event_published_by_one_instance_reaches_a_client_of_another(t) {
        let config = AppConfig::default;
        let bus_a = EventBus::for_db(&t.db, &t.url).await.expect("bus A");
        let pool_b = t.second_pool().await;
        let bus_b = if bus_a.is_shared() { EventBus::for_db(&pool_b, &t.url).await.expect("bus B") } else { bus_a.clone() };
        let app = TestApp::new(t).await;
        let m = app.matrix().await;
        let story = story_in(&app, &m).await;
        let http = HttpConfig { public_url: ORIGIN.into(), ..Default::default() };
        // Instance A serves the browser; instance B (its own pool and listener) makes the change.
        let a = AppState::new(App::new(app.t.db.clone(), bus_a, config()), http);
        let router_a = baton_http::router(a);
        let b = App::new(pool_b, bus_b, config());
        let (status, _, mut s) = open(&router_a, &format!("/api/realtime/solo?product_id={}", m.product_id), &As::Bearer(m.reader.clone())).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(s.event().await.0, "ready");
        let owner = b.token_actor(&m.owner).await.expect("owner on B");
        let asked = b.ask_question(&owner, question(&story, "Across instances?")).await.expect("ask on B");
        let (name, data) = s.event().await;
        assert_eq!(name, "question_changed");
        assert_eq!(data["data"]["question"]["id"], asked.id.as_str());
    }
}

// ---------------------------------------------------------------------------
// The documented event schemas, checked against real events.
// ---------------------------------------------------------------------------

/// The schema of a stream's events, as the OpenAPI document states it on
/// the route's `text/event-stream` answer.
fn stream_schema(doc: &Value, route: &str) -> Value {
    let paths = doc["paths"].as_object().expect("paths");
    let (_, item) = paths.iter().find(|(p, _)| p.ends_with(route)).expect("the route is documented");
    item["get"]["responses"]["200"]["content"]["text/event-stream"]["schema"].clone()
}

fn resolve<'a>(doc: &'a Value, s: &'a Value) -> &'a Value {
    match s.get("$ref").and_then(Value::as_str) {
        Some(r) => {
            let name = r.strip_prefix("#/components/schemas/").expect("a component reference");
            let target = &doc["components"]["schemas"][name];
            assert!(!target.is_null(), "{r} is not in the document");
            resolve(doc, target)
        }
        None => s,
    }
}

fn type_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Checks `v` against schema `s` (names and types of fields): `type`,
/// `enum`, `required`, `items`, `oneOf`/`anyOf`/`allOf`, the discriminator
/// mapping, and — stricter than JSON Schema — no field that an object schema
/// with `properties` does not declare. Errors are pushed with their path.
fn check(doc: &Value, s: &Value, v: &Value, path: &str, errs: &mut Vec<String>) {
    let s = resolve(doc, s);
    if let Some(d) = s.get("discriminator") {
        let prop = d["propertyName"].as_str().expect("propertyName");
        let Some(tag) = v.get(prop).and_then(Value::as_str) else {
            errs.push(format!("{path}: no `{prop}`"));
            return;
        };
        let Some(target) = d["mapping"].get(tag).and_then(Value::as_str) else {
            errs.push(format!("{path}: `{prop}` = `{tag}` is not documented"));
            return;
        };
        let listed = s["oneOf"].as_array().is_some_and(|a| a.iter().any(|x| x["$ref"] == target));
        assert!(listed, "the mapping's {target} is one of the oneOf");
        check(doc, &json!({ "$ref": target }), v, path, errs);
        return;
    }
    for sub in s.get("allOf").and_then(Value::as_array).into_iter().flatten() {
        check(doc, sub, v, path, errs);
    }
    for key in ["oneOf", "anyOf"] {
        if let Some(alts) = s.get(key).and_then(Value::as_array) {
            let fits = alts
                .iter()
                .filter(|a| {
                    let mut e = Vec::new();
                    check(doc, a, v, path, &mut e);
                    e.is_empty()
                })
                .count();
            if fits == 0 || (key == "oneOf" && fits > 1) {
                errs.push(format!("{path}: {v} fits {fits} of the {key} alternatives"));
            }
        }
    }
    if let Some(t) = s.get("type") {
        let types: Vec<&str> = match t {
            Value::String(x) => vec![x.as_str()],
            Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        };
        let actual = type_of(v);
        if !types.iter().any(|t| *t == actual || (*t == "number" && actual == "integer")) {
            errs.push(format!("{path}: a {actual}, documented as {types:?}"));
            return;
        }
    }
    if let Some(allowed) = s.get("enum").and_then(Value::as_array)
        && !allowed.contains(v)
    {
        errs.push(format!("{path}: {v} is not one of {allowed:?}"));
    }
    if s.get("format").and_then(Value::as_str) == Some("date-time")
        && let Some(x) = v.as_str()
        && !(x.len() >= 20 && x.as_bytes().get(10) == Some(&b'T'))
    {
        errs.push(format!("{path}: {x} is not a date-time"));
    }
    if let Value::Object(map) = v {
        for r in s.get("required").and_then(Value::as_array).into_iter().flatten() {
            if let Some(r) = r.as_str()
                && !map.contains_key(r)
            {
                errs.push(format!("{path}.{r}: required but missing"));
            }
        }
        if let Some(props) = s.get("properties").and_then(Value::as_object) {
            let open = s.get("additionalProperties").is_some_and(|a| a != &Value::Bool(false));
            for (k, x) in map {
                match props.get(k) {
                    Some(ps) => check(doc, ps, x, &format!("{path}.{k}"), errs),
                    None if open => {}
                    None => errs.push(format!("{path}.{k}: not documented")),
                }
            }
        }
    }
    if let (Value::Array(items), Some(item)) = (v, s.get("items")) {
        for (i, x) in items.iter().enumerate() {
            check(doc, item, x, &format!("{path}[{i}]"), errs);
        }
    }
}

/// Every event matches the stream's documented schema and is named by its
/// `type`; returns the types seen.
fn assert_documented(doc: &Value, route: &str, events: &[(String, Value)]) -> BTreeSet<String> {
    let schema = stream_schema(doc, route);
    let mut seen = BTreeSet::new();
    for (name, data) in events {
        assert_eq!(data["type"].as_str(), Some(name.as_str()), "the SSE event name is the data's type: {data}");
        let mut errs = Vec::new();
        check(doc, &schema, data, name, &mut errs);
        assert!(errs.is_empty(), "{route} `{name}` does not match its schema: {errs:#?}\n{data:#}");
        seen.insert(name.clone());
    }
    seen
}

async fn post(app: &TestApp, path: &str, who: &As, body: Value) -> Value {
    let res = app.json(Method::POST, path, who, &body).await;
    assert!(res.status.is_success(), "POST {path}: {} {}", res.status, res.text);
    res.json()
}

backend_tests! {
    async fn every_streamed_event_matches_its_documented_schema(t) {
        let app = TestApp::new(t).await;
        let m = app.matrix().await;
        let owner = As::Bearer(m.owner.clone());
        let doc = serde_json::to_value(baton_http::openapi()).expect("document");
        let solo_path = format!("/api/realtime/solo?product_id={}", m.product_id);
        let (_, _, mut solo) = open(&app.router, &solo_path, &owner).await;
        let (_, _, mut bell) = open(&app.router, "/api/realtime/notifications", &owner).await;

        // Real changes through the API and the services.
        let pid = &m.product_id;
        let pbi = post(&app, &format!("/api/products/{pid}/pbis"), &owner, json!({"title": "P"})).await;
        let pbi = pbi["id"].as_str().expect("pbi");
        let story = post(&app, &format!("/api/pbis/{pbi}/stories"), &owner, json!({"title": "S"})).await;
        let story = story["id"].as_str().expect("story");
        let task = post(&app, &format!("/api/stories/{story}/tasks"), &owner, json!({"title": "T"})).await;
        let task = task["id"].as_str().expect("task");
        let res = app.json(Method::PATCH, &format!("/api/tasks/{task}"), &owner, &json!({"status": "in_progress"})).await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.text);
        post(&app, &format!("/api/stories/{story}/log"), &owner, json!({"type": "implementation_plan", "content": "half way"})).await;
        post(&app, &format!("/api/products/{pid}/sprints"), &owner, json!({"sprint_goal": "Ship"})).await;
        let res = app.json(Method::PATCH, &format!("/api/products/{pid}"), &owner, &json!({"description": "streamed"})).await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.text);
        let job = post(&app, &format!("/api/tasks/{task}/jobs"), &owner, json!({})).await;
        let job = job["id"].as_str().expect("job");
        post(&app, &format!("/api/jobs/{job}/cancel"), &owner, json!({})).await;
        let worker = app.app().token_actor(&m.owner).await.expect("owner");
        app.app().register_worker(&worker, WorkerInfo::new("schema")).await.expect("register");
        let asker = app.app().token_actor(&m.writer).await.expect("writer");
        let asked = app.app().ask_question(&asker, question(story, "Schema?")).await.expect("ask");
        post(&app, &format!("/api/questions/{}/answer", asked.id), &owner, json!({"answer": "typed"})).await;
        // A too-big event crosses instances without its data.
        let mut big = Event::new(kinds::TASK_CHANGED).for_product(pid.clone());
        big.truncated = true;
        app.app().bus.publish(&big).await.expect("publish");
        app.app().bus.publish(&Event::new(kinds::BUS_RESYNC)).await.expect("publish");

        let idle = Duration::from_millis(1500);
        let solo_events = solo.drain(idle).await;
        let seen = assert_documented(&doc, "/realtime/solo", &solo_events);
        for want in ["ready", "pbi_changed", "story_changed", "task_changed", "sprint_changed", "product_changed",
                     "job_enqueued", "job_status", "question_changed", "worker_presence", "resync"] {
            assert!(seen.contains(want), "the Solo stream sent a `{want}` event: {seen:?}");
        }
        let truncated = solo_events.iter().find(|(_, d)| d["truncated"] == true).expect("the truncated event");
        assert!(truncated.1.get("data").is_none());

        let bell_events = bell.drain(idle).await;
        let seen = assert_documented(&doc, "/realtime/notifications", &bell_events);
        for want in ["ready", "job_enqueued", "job_status", "question_changed", "resync"] {
            assert!(seen.contains(want), "the notification stream sent a `{want}` event: {seen:?}");
        }
        // The checker does catch a mismatch: a field of the wrong type, and one not documented.
        let schema = stream_schema(&doc, "/realtime/notifications");
        let mut errs = Vec::new();
        check(&doc, &schema, &json!({"type": "job_status", "product_id": null, "user_id": null, "data": {"job_id": 7}}), "bad", &mut errs);
        check(&doc, &schema, &json!({"type": "ready", "user_id": "u", "product_ids": [], "open_questions": [], "extra": 1}), "bad", &mut errs);
        check(&doc, &schema, &json!({"type": "task_changed"}), "bad", &mut errs);
        assert_eq!(errs.len(), 3, "{errs:#?}");
    }

    async fn the_twenty_first_stream_of_one_user_is_429_until_one_closes(t) {
        let app = TestApp::new(t).await;
        let m = app.matrix().await;
        let owner = As::Bearer(m.owner.clone());
        let solo = format!("/api/realtime/solo?product_id={}", m.product_id);
        let mut open_streams = Vec::new();
        for i in 0..20 {
            // Both streams count against one user's limit, from many addresses.
            let path = if i % 2 == 0 { solo.as_str() } else { "/api/realtime/notifications" };
            let ip = format!("10.0.{}.1", i);
            let (status, _, s) = open_from(&app.router, path, &owner, Some(&ip)).await;
            assert_eq!(status, StatusCode::OK, "stream {}", i + 1);
            open_streams.push(s);
        }
        let res = app.get("/api/realtime/notifications", &owner).await;
        assert_eq!(res.status, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(res.error_code(), "rate_limited");
        let retry: u64 = res.header("retry-after").expect("Retry-After").parse().expect("seconds");
        assert!(retry >= 1);
        // Another token of the same user shares the limit; another user does not.
        assert_eq!(app.get(&solo, &As::Bearer(m.scoped_in.clone())).await.status, StatusCode::TOO_MANY_REQUESTS);
        let (status, _, mut other) = open(&app.router, &solo, &As::Bearer(m.reader.clone())).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(other.event().await.0, "ready");
        // The health check and plain requests are not limited.
        assert_eq!(app.get("/api/health", &As::Nobody).await.status, StatusCode::OK);
        assert_eq!(app.get("/api/me", &owner).await.status, StatusCode::OK);
        // Closing a stream frees its slot.
        drop(open_streams.pop());
        let (status, _, mut again) = open(&app.router, "/api/realtime/notifications", &owner).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(again.event().await.0, "ready");
        assert_eq!(app.get(&solo, &owner).await.status, StatusCode::TOO_MANY_REQUESTS, "and only one");
    }

    async fn one_address_gets_at_most_its_streams(t) {
        let config = AppConfig { realtime_max_streams_per_ip: 3, ..AppConfig::default() };
        let app = TestApp::with_config(t, config).await;
        let m = app.matrix().await;
        let path = "/api/realtime/notifications";
        let mut held = Vec::new();
        for token in [&m.owner, &m.writer, &m.reader] {
            let (status, _, s) = open_from(&app.router, path, &As::Bearer(token.clone()), Some("192.0.2.1")).await;
            assert_eq!(status, StatusCode::OK);
            held.push(s);
        }
        let (status, headers, _) = open_from(&app.router, path, &As::Bearer(m.demo.clone()), Some("192.0.2.1")).await;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
        assert!(headers.contains_key(header::RETRY_AFTER));
        let (status, _, _) = open_from(&app.router, path, &As::Bearer(m.demo.clone()), Some("192.0.2.2")).await;
        assert_eq!(status, StatusCode::OK, "another address is not affected");
        // A stream that ended by itself frees its slot too.
        drop(held.pop());
        let (status, _, _) = open_from(&app.router, path, &As::Bearer(m.demo.clone()), Some("192.0.2.1")).await;
        assert_eq!(status, StatusCode::OK);
    }

    async fn a_stream_that_reaches_its_maximum_duration_frees_its_slot(t) {
        let config = AppConfig {
            realtime_max_duration: Duration::from_millis(300),
            realtime_max_streams_per_user: 1,
            ..AppConfig::default()
        };
        let app = TestApp::with_config(t, config).await;
        let m = app.matrix().await;
        let owner = As::Bearer(m.owner.clone());
        let (status, _, mut s) = open(&app.router, "/api/realtime/notifications", &owner).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(app.get("/api/realtime/notifications", &owner).await.status, StatusCode::TOO_MANY_REQUESTS);
        while s.frame().await.is_some() {}
        assert_eq!(app.app().streams.open(), 0, "the ended stream gave its slot back");
        let (status, _, _) = open(&app.router, "/api/realtime/notifications", &owner).await;
        assert_eq!(status, StatusCode::OK);
    }
}

backend_tests! {
    async fn idea_questions_and_idea_changes_reach_the_owners_bell_only(t) {
        let app = TestApp::new(t).await;
        let m = app.matrix().await;
        let owner = app.app().token_actor(&m.owner).await.expect("owner");
        let writer = app.app().token_actor(&m.writer).await.expect("writer");
        let res = app.json(Method::POST, "/api/ideas", &As::Bearer(m.owner.clone()),
            &json!({"title": "Dark mode", "product_id": m.product_id})).await;
        assert_eq!(res.status, StatusCode::CREATED, "{}", res.text);
        let idea_id = res.json()["id"].as_str().expect("id").to_string();
        let (_, _, mut mine) = open(&app.router, "/api/realtime/notifications", &As::Bearer(m.owner.clone())).await;
        assert_eq!(mine.event().await.0, "ready");
        let (_, _, mut theirs) = open(&app.router, "/api/realtime/notifications", &As::Bearer(m.writer.clone())).await;
        assert_eq!(theirs.event().await.0, "ready");

        // An agent of the owner asks about the idea: the owner's bell rings live.
        let q = NewQuestion { idea_id: Some(idea_id.clone()), question: "CSV or XLSX?".into(), ..Default::default() };
        let asked = app.app().ask_question(&owner, q).await.expect("ask");
        let (name, data) = mine.event().await;
        assert_eq!(name, "question_changed");
        assert_eq!(data["data"]["question"]["id"], asked.id.as_str());
        // A change to the idea follows on the same stream.
        let res = app.json(Method::PATCH, &format!("/api/ideas/{idea_id}"), &As::Bearer(m.owner.clone()),
            &json!({"title": "Dark mode v2"})).await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.text);
        let (name, data) = mine.event().await;
        assert_eq!(name, "idea_changed");
        assert_eq!((data["data"]["idea_id"].as_str(), data["user_id"].as_str()), (Some(idea_id.as_str()), Some(owner.user_id.as_str())));
        // The bell's open questions include it after a reconnect.
        let (_, _, mut again) = open(&app.router, "/api/realtime/notifications", &As::Bearer(m.owner.clone())).await;
        let (_, ready) = again.event().await;
        assert_eq!(ready["open_questions"][0]["id"], asked.id.as_str());

        // A member of the same product got neither: its next event is its own marker.
        app.app().bus.publish(&Event::new(kinds::JOB_STATUS).for_user(writer.user_id.clone())
            .with_data(json!({"job_id": "marker"}))).await.expect("publish");
        let (name, data) = theirs.event().await;
        assert_eq!((name.as_str(), data["data"]["job_id"].as_str()), ("job_status", Some("marker")));
    }
}
