//! SSE streams on both backends: auth and access, `ready` first, product
//! and per-user filtering, `resync` after lagging, heartbeats and the
//! periodic close, and (on Postgres) an event from instance A reaching a
//! client connected to instance B. Bodies are read with bounded timeouts.

use std::time::Duration;

use axum::{
    Router,
    body::{Body, BodyDataStream},
    http::{HeaderMap, Method, Request, StatusCode, header},
};
use baton_app::{
    App, AppConfig,
    events::{Event, kinds},
    questions::NewQuestion,
};
use baton_http::{AppState, HttpConfig};
use baton_store::events::EventBus;
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
    let mut b = Request::builder().method(Method::GET).uri(path).header(header::HOST, "127.0.0.1:8080");
    match who {
        As::Bearer(t) => b = b.header(header::AUTHORIZATION, format!("Bearer {t}")),
        As::Cookie(c) => b = b.header(header::COOKIE, format!("baton_session={c}")),
        As::Nobody => {}
    }
    let res = router.clone().oneshot(b.body(Body::empty()).expect("request")).await.expect("router");
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
