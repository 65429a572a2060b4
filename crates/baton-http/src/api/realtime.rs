//! `/api/realtime/…`: Server-Sent Events fed by the event bus (reference
//! §9.1). On Postgres the bus carries events between instances, so a change
//! made through one instance reaches a browser connected to another.
//!
//! Every stream:
//! * subscribes to the bus **before** it sends `ready`, so nothing published
//!   after `ready` is missed;
//! * forwards matching bus events as SSE events named by their type
//!   (`question_changed`, `job_status`, …) whose data is the event's JSON;
//! * sends `resync` when it may have missed events (it fell behind, or the
//!   Postgres listener reconnected): re-read the state you show;
//! * sends a `: heartbeat` comment every 25 s and ends after 5 minutes (both
//!   configurable), so the browser's EventSource reconnects and access is
//!   checked again.

use std::time::Duration;

use axum::{
    extract::State,
    http::{HeaderValue, header},
    response::{
        IntoResponse, Response,
        sse::{Event as SseEvent, KeepAlive, Sse},
    },
};
use baton_app::events::{Event, kinds};
use baton_app::questions::event_visible_to;
use futures::stream::{self, Stream};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::broadcast::{Receiver, error::RecvError};

use crate::{
    AppState,
    error::{ApiError, ApiResult, ErrorBody},
    extract::{ApiQuery, Caller},
};

/// Open questions sent with the notification stream's `ready` event.
const INITIAL_QUESTIONS: u64 = 50;

/// How soon a disconnected EventSource should reconnect.
const RETRY: Duration = Duration::from_secs(1);

/// The product of the Solo stream.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SoloQuery {
    /// The product whose changes to stream (id or code).
    pub product_id: Option<String>,
}

struct StreamState<F> {
    rx: Receiver<Event>,
    ready: Option<Value>,
    deadline: tokio::time::Instant,
    keep: F,
}

fn sse_event(name: &str, data: &impl serde::Serialize) -> SseEvent {
    SseEvent::default().event(name).json_data(data).unwrap_or_else(|_| SseEvent::default().event(name).data("{}"))
}

/// The SSE response: `ready`, then the events `keep` accepts, until the
/// deadline passes or the bus closes.
fn event_stream<F>(s: &AppState, rx: Receiver<Event>, ready: Value, keep: F) -> Response
where
    F: Fn(&Event) -> bool + Send + 'static,
{
    let cfg = &s.app.config;
    let state =
        StreamState { rx, ready: Some(ready), deadline: tokio::time::Instant::now() + cfg.realtime_max_duration, keep };
    let events = stream::unfold(state, |mut st| async move {
        if let Some(ready) = st.ready.take() {
            let ev = sse_event("ready", &ready).retry(RETRY);
            return Some((Ok::<_, std::convert::Infallible>(ev), st));
        }
        loop {
            let got = tokio::select! {
                _ = tokio::time::sleep_until(st.deadline) => return None,
                got = st.rx.recv() => got,
            };
            match got {
                Ok(e) if e.kind == kinds::BUS_RESYNC => {
                    return Some((Ok(sse_event("resync", &json!({ "reason": "bus_resync" }))), st));
                }
                Ok(e) if (st.keep)(&e) => return Some((Ok(sse_event(&e.kind.clone(), &e)), st)),
                Ok(_) => continue,
                Err(RecvError::Lagged(missed)) => {
                    return Some((Ok(sse_event("resync", &json!({ "reason": "lagged", "missed": missed }))), st));
                }
                Err(RecvError::Closed) => return None,
            }
        }
    });
    sse_response(events, cfg.realtime_heartbeat)
}

fn sse_response<S>(events: S, heartbeat: Duration) -> Response
where
    S: Stream<Item = Result<SseEvent, std::convert::Infallible>> + Send + 'static,
{
    let mut res = Sse::new(events).keep_alive(KeepAlive::new().interval(heartbeat).text("heartbeat")).into_response();
    let h = res.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache, no-transform"));
    h.insert("x-accel-buffering", HeaderValue::from_static("no"));
    res
}

/// Whether an event about an idea (its questions, its jobs) may go to
/// `user_id`: ideas are private to their owner.
fn idea_event_for(e: &Event, user_id: &str) -> Option<bool> {
    let about_idea = ["idea_id"].iter().any(|k| {
        e.data.get(k).is_some_and(|v| !v.is_null())
            || e.data.get("question").and_then(|q| q.get(k)).is_some_and(|v| !v.is_null())
    });
    about_idea.then(|| e.user_id.as_deref() == Some(user_id))
}

fn event_user(e: &Event) -> Option<&str> {
    e.user_id.as_deref().or_else(|| e.data.get("user_id").and_then(Value::as_str))
}

/// Streams every change to one product (the Solo board): tasks, stories,
/// questions, jobs. Ideas' events go to their owner only. Demo users and
/// read-only members may listen.
#[utoipa::path(get, path = "/realtime/solo", tag = "realtime", security(("bearer" = []), ("session" = [])),
    params(SoloQuery),
    responses((status = 200, content_type = "text/event-stream", body = String,
            description = "`ready` {product_id, user_id}, then bus events named by type; `resync`; heartbeat comments"),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn solo(
    State(s): State<AppState>,
    Caller(actor): Caller,
    ApiQuery(q): ApiQuery<SoloQuery>,
) -> ApiResult<Response> {
    let Some(pid) = q.product_id.as_deref().map(str::trim).filter(|p| !p.is_empty()) else {
        return Err(ApiError::malformed("product_id is required"));
    };
    let product = baton_app::products::readable_ref(&s.app.db, &actor, pid).await?;
    let rx = s.app.bus.subscribe();
    let ready = json!({ "product_id": product.id, "user_id": actor.user_id });
    let (product_id, user_id) = (product.id, actor.user_id);
    Ok(event_stream(&s, rx, ready, move |e| {
        if e.product_id.as_deref() != Some(product_id.as_str()) {
            return false;
        }
        idea_event_for(e, &user_id).unwrap_or(true)
    }))
}

/// Streams what concerns the caller (the bell): questions in the products
/// they own or belong to (idea questions: their own), and status changes of
/// their own jobs. `ready` carries the open questions, so the bell needs no
/// second request.
#[utoipa::path(get, path = "/realtime/notifications", tag = "realtime", security(("bearer" = []), ("session" = [])),
    responses((status = 200, content_type = "text/event-stream", body = String,
            description = "`ready` {user_id, product_ids, open_questions (newest 50)}, then `question_changed`, `job_status`, `job_enqueued`; `resync`; heartbeat comments"),
        (status = 401, body = ErrorBody)))]
pub async fn notifications(State(s): State<AppState>, Caller(actor): Caller) -> ApiResult<Response> {
    let rx = s.app.bus.subscribe();
    let products = s.app.notification_products(&actor).await?;
    let open = baton_app::questions::QuestionFilter {
        status: Some("open".into()),
        limit: Some(INITIAL_QUESTIONS),
        ..Default::default()
    };
    let open = s.app.list_questions(&actor, open).await?;
    let open: Vec<_> =
        open.items.into_iter().filter(|q| q.idea_id.is_some() || products.contains(&q.product_id)).collect();
    let ready = json!({ "user_id": actor.user_id, "product_ids": products, "open_questions": open });
    let user_id = actor.user_id;
    Ok(event_stream(&s, rx, ready, move |e| match e.kind.as_str() {
        kinds::QUESTION_CHANGED => event_visible_to(e, &user_id, &products),
        kinds::JOB_STATUS | kinds::JOB_ENQUEUED => event_user(e) == Some(user_id.as_str()),
        _ => false,
    }))
}
