//! `/api/realtime/…`: Server-Sent Events fed by the event bus (reference
//! §9.1). On Postgres the bus carries events between instances, so a change
//! made through one instance reaches a browser connected to another.
//!
//! What a stream carries, its typed events and its limits are the
//! service's (`baton_app::realtime`). Here each event is framed as SSE: the
//! event name is its `type` and its data the event's JSON, so one schema
//! (documented below) describes both. Every stream:
//! * sends `ready` first, after it has subscribed, so nothing published
//!   after `ready` is missed;
//! * sends `resync` when it may have missed events (it fell behind, or the
//!   Postgres listener reconnected): re-read the state you show;
//! * sends a `: heartbeat` comment every 25 s and ends after 5 minutes (both
//!   configurable), so the browser's EventSource reconnects and access is
//!   checked again;
//! * is refused with 429 (and `Retry-After`) beyond the per-user and
//!   per-address limits, or when the server runs short of descriptors.

use std::time::Duration;

use axum::{
    extract::State,
    http::{HeaderValue, header},
    response::{
        IntoResponse, Response,
        sse::{Event as SseEvent, KeepAlive, Sse},
    },
};
use baton_app::realtime::{NotificationEvent, RealtimeStream, SoloEvent, StreamEvent};
use futures::stream;
use serde::Deserialize;

use crate::{
    AppState,
    error::{ApiError, ApiResult, ErrorBody},
    extract::{ApiQuery, Caller, Client},
};

/// How soon a disconnected EventSource should reconnect.
const RETRY: Duration = Duration::from_secs(1);

/// The product of the Solo stream.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SoloQuery {
    /// The product whose changes to stream (id or code).
    pub product_id: Option<String>,
}

fn sse_event<E: StreamEvent>(e: &E) -> SseEvent {
    let name = e.name();
    SseEvent::default().event(name).json_data(e).unwrap_or_else(|_| SseEvent::default().event(name).data("{}"))
}

/// The SSE response: the stream's events until the deadline passes or the
/// bus closes. Dropping it (the client went away) frees the stream's slot.
pub(crate) fn event_stream<E: StreamEvent>(s: &AppState, rx: RealtimeStream<E>) -> Response {
    let cfg = &s.app.config;
    let deadline = tokio::time::Instant::now() + cfg.realtime_max_duration;
    let events = stream::unfold((rx, true), move |(mut rx, first)| async move {
        let next = tokio::select! {
            _ = tokio::time::sleep_until(deadline) => None,
            e = rx.next() => e,
        }?;
        let ev = sse_event(&next);
        let ev = if first { ev.retry(RETRY) } else { ev };
        Some((Ok::<_, std::convert::Infallible>(ev), (rx, false)))
    });
    let mut res = Sse::new(events)
        .keep_alive(KeepAlive::new().interval(cfg.realtime_heartbeat).text("heartbeat"))
        .into_response();
    let h = res.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache, no-transform"));
    h.insert("x-accel-buffering", HeaderValue::from_static("no"));
    res
}

/// Streams every change to one product (the Solo board): tasks, stories,
/// PBIs, sprints, runs, questions, jobs. Ideas' events go to their owner
/// only. Demo users and read-only members may listen. Each SSE event is
/// named by its `type`; its data is one of the `SoloEvent` schemas.
#[utoipa::path(get, path = "/realtime/solo", tag = "realtime", security(("bearer" = []), ("session" = [])),
    params(SoloQuery),
    responses((status = 200, content_type = "text/event-stream", body = SoloEvent,
            description = "SSE: `ready`, then the product's events (event name = `type`, data = the JSON of one \
                           `SoloEvent`), `resync` when events may have been missed, `: heartbeat` comments"),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody),
        (status = 429, body = ErrorBody, description = "too many open streams for this user or address",
            headers(("Retry-After" = u64, description = "seconds to wait before reconnecting")))))]
pub async fn solo(
    State(s): State<AppState>,
    Caller(actor): Caller,
    Client(client): Client,
    ApiQuery(q): ApiQuery<SoloQuery>,
) -> ApiResult<Response> {
    let Some(pid) = q.product_id.as_deref().map(str::trim).filter(|p| !p.is_empty()) else {
        return Err(ApiError::malformed("product_id is required"));
    };
    let stream = s.app.open_solo_stream(&actor, pid, &client.ip).await?;
    Ok(event_stream(&s, stream))
}

/// Streams what concerns the caller (the bell): questions in the products
/// they own or belong to (idea questions: their own), and status changes of
/// their own jobs. `ready` carries the open questions, so the bell needs no
/// second request. Each SSE event is named by its `type`; its data is one
/// of the `NotificationEvent` schemas.
#[utoipa::path(get, path = "/realtime/notifications", tag = "realtime", security(("bearer" = []), ("session" = [])),
    responses((status = 200, content_type = "text/event-stream", body = NotificationEvent,
            description = "SSE: `ready` (with the open questions), then `question_changed`, `job_status`, \
                           `job_enqueued` (event name = `type`, data = the JSON of one `NotificationEvent`), \
                           `resync`, `: heartbeat` comments"),
        (status = 401, body = ErrorBody),
        (status = 429, body = ErrorBody, description = "too many open streams for this user or address",
            headers(("Retry-After" = u64, description = "seconds to wait before reconnecting")))))]
pub async fn notifications(
    State(s): State<AppState>,
    Caller(actor): Caller,
    Client(client): Client,
) -> ApiResult<Response> {
    let stream = s.app.open_notification_stream(&actor, &client.ip).await?;
    Ok(event_stream(&s, stream))
}
