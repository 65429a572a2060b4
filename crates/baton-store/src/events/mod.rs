//! The event bus: one interface, two implementations.
//!
//! Services publish an [`Event`] **after** the change it describes has been
//! committed — or hand it to the transaction with
//! [`notify_on_commit`](EventBus::notify_on_commit), which on Postgres sends
//! the NOTIFY inside the transaction (Postgres delivers it exactly at the
//! commit, never after a rollback) and saves a round trip; several events of
//! one call go in one statement ([`publish_all`](EventBus::publish_all)).
//! SSE streams and `wait_for_job` [`subscribe`](EventBus::subscribe) and react. Events are hints, not the source of truth: a subscriber that
//! missed something re-reads the database.
//!
//! * **In-process** (SQLite, or a single instance): a tokio broadcast channel.
//! * **Postgres** (N instances on one database): [`publish`](EventBus::publish)
//!   runs `SELECT pg_notify('baton_events', <json>)` through the pool; each bus
//!   owns **one** listener connection (`LISTEN baton_events`) whose
//!   notifications are fanned out to the same kind of local broadcast. A
//!   process receives its own events through that listener — exactly once, as
//!   every other instance does — and never delivers them locally as well.
//!
//! # Delivery policy
//!
//! * **Slow subscribers.** The local broadcast keeps the last
//!   [`DEFAULT_CAPACITY`] events. A subscriber that falls further behind gets
//!   [`RecvError::Lagged`](tokio::sync::broadcast::error::RecvError::Lagged)
//!   from its next `recv` (the oldest events were dropped for it alone), and
//!   must then resync — re-read whatever state it shows — and keep receiving.
//!   Neither the bus nor other subscribers are affected; publishing never waits
//!   for subscribers.
//! * **Lost listener connection** (Postgres). The listener reconnects by
//!   itself, with exponential backoff while the server is unreachable.
//!   Notifications sent while it was away are lost, so once it listens again
//!   the bus broadcasts a local [`kinds::BUS_RESYNC`] event: treat it like
//!   `Lagged` and resync.
//! * **Big events** (Postgres). A NOTIFY payload must be shorter than 8000
//!   bytes. An event whose JSON is longer is sent without its `data` and with
//!   `"truncated": true` (see [`Event::truncated`]); subscribers refetch what
//!   they need. The in-process bus has no limit and delivers events whole.
//! * **Closed bus.** When the last [`EventBus`] handle is dropped its listener
//!   stops and subscribers' `recv` returns
//!   [`RecvError::Closed`](tokio::sync::broadcast::error::RecvError::Closed).

mod postgres;

use std::{fmt, sync::Arc};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::broadcast;

use sea_orm::ConnectionTrait;

use crate::{Backend, Db, StoreError};

/// The Postgres NOTIFY channel every instance publishes to and listens on.
pub const CHANNEL: &str = "baton_events";

/// The longest NOTIFY payload Postgres accepts, in bytes (it must be shorter
/// than 8000).
pub const MAX_NOTIFY_PAYLOAD: usize = 7999;

/// How many events the local broadcast keeps for a slow subscriber before it
/// starts lagging.
pub const DEFAULT_CAPACITY: usize = 1024;

/// The `application_name` of the listener's Postgres connection, so it can be
/// told apart in `pg_stat_activity`.
pub const LISTENER_APPLICATION_NAME: &str = "baton-events";

/// Well-known event types (the `type` field). The list is open: any string is
/// a valid type.
pub mod kinds {
    /// A job was queued and can be claimed.
    pub const JOB_ENQUEUED: &str = "job_enqueued";
    /// A job changed status (claimed, completed, failed, requeued).
    pub const JOB_STATUS: &str = "job_status";
    /// A task was created, changed or deleted.
    pub const TASK_CHANGED: &str = "task_changed";
    /// A story was created, changed or deleted.
    pub const STORY_CHANGED: &str = "story_changed";
    /// A question was asked, answered or withdrawn.
    pub const QUESTION_CHANGED: &str = "question_changed";
    /// A worker reported that it is alive.
    pub const WORKER_HEARTBEAT: &str = "worker_heartbeat";
    /// A device pairing changed state.
    pub const PAIRING_CHANGED: &str = "pairing_changed";
    /// Local only, never published: the bus may have missed events (its
    /// listener reconnected), so subscribers should resync.
    pub const BUS_RESYNC: &str = "bus_resync";
}

/// One event: JSON with a `type` field, optional scoping ids and a free-form
/// payload.
///
/// ```
/// use baton_store::events::{Event, kinds};
///
/// let event = Event::new(kinds::JOB_ENQUEUED)
///     .for_product("0190c3c4-…")
///     .with_data(serde_json::json!({ "job_id": "0190c3c5-…" }));
/// assert_eq!(event.kind, "job_enqueued");
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// The event type, serialized as `type` (see [`kinds`]).
    #[serde(rename = "type")]
    pub kind: String,
    /// The product the event belongs to, for per-product streams.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product_id: Option<String>,
    /// The user the event is addressed to or about.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// Type-specific payload; `null` when there is none (or it was dropped,
    /// see [`truncated`](Self::truncated)).
    #[serde(default, skip_serializing_if = "Value::is_null")]
    pub data: Value,
    /// Set when `data` was dropped because the event was too big to send
    /// between instances; the subscriber should refetch instead of relying on
    /// `data`.
    #[serde(default, skip_serializing_if = "is_false")]
    pub truncated: bool,
}

fn is_false(b: &bool) -> bool {
    !*b
}

impl Event {
    /// An event of the given type, with no ids and no payload.
    pub fn new(kind: impl Into<String>) -> Event {
        Event { kind: kind.into(), product_id: None, user_id: None, data: Value::Null, truncated: false }
    }

    /// Scopes the event to a product.
    #[must_use]
    pub fn for_product(mut self, product_id: impl Into<String>) -> Event {
        self.product_id = Some(product_id.into());
        self
    }

    /// Scopes the event to a user.
    #[must_use]
    pub fn for_user(mut self, user_id: impl Into<String>) -> Event {
        self.user_id = Some(user_id.into());
        self
    }

    /// Sets the payload.
    #[must_use]
    pub fn with_data(mut self, data: Value) -> Event {
        self.data = data;
        self
    }

    /// The event as a NOTIFY payload: its JSON, or — when that is longer
    /// than [`MAX_NOTIFY_PAYLOAD`] — the JSON of a copy without `data` and
    /// marked [`truncated`](Self::truncated).
    pub(crate) fn notify_payload(&self) -> Result<String, StoreError> {
        let json = serde_json::to_string(self).map_err(encode_error)?;
        if json.len() <= MAX_NOTIFY_PAYLOAD {
            return Ok(json);
        }
        let trimmed = Event {
            kind: self.kind.clone(),
            product_id: self.product_id.clone(),
            user_id: self.user_id.clone(),
            data: Value::Null,
            truncated: true,
        };
        let json = serde_json::to_string(&trimmed).map_err(encode_error)?;
        if json.len() <= MAX_NOTIFY_PAYLOAD {
            tracing::debug!(kind = %self.kind, "event too big for NOTIFY; sent without its data");
            Ok(json)
        } else {
            Err(custom_error(format!(
                "event `{}` is too big to publish even without its data ({} bytes)",
                truncate_for_log(&self.kind),
                json.len()
            )))
        }
    }
}

fn truncate_for_log(s: &str) -> &str {
    match s.char_indices().nth(64) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

fn encode_error(e: serde_json::Error) -> StoreError {
    custom_error(format!("cannot encode event: {e}"))
}

fn custom_error(message: String) -> StoreError {
    StoreError::Db(sea_orm::DbErr::Custom(message))
}

/// The event bus handle. Cloning is cheap and every clone is the same bus;
/// create one per process (per database) and share it.
#[derive(Clone)]
pub struct EventBus {
    inner: Arc<Inner>,
}

struct Inner {
    /// The local fan-out. In-process: publish sends here. Postgres: only the
    /// listener task sends here.
    tx: broadcast::Sender<Event>,
    imp: Imp,
}

enum Imp {
    InProcess,
    Postgres(postgres::PgBus),
}

impl fmt::Debug for EventBus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let imp = match &self.inner.imp {
            Imp::InProcess => "in-process",
            Imp::Postgres(_) => "postgres",
        };
        f.debug_struct("EventBus")
            .field("implementation", &imp)
            .field("subscribers", &self.inner.tx.receiver_count())
            .finish()
    }
}

impl EventBus {
    /// A bus that only reaches subscribers in this process: the SQLite (or
    /// single-instance) implementation.
    pub fn in_process() -> EventBus {
        let (tx, _) = broadcast::channel(DEFAULT_CAPACITY);
        EventBus { inner: Arc::new(Inner { tx, imp: Imp::InProcess }) }
    }

    /// The bus suited to `db`: in-process for SQLite; for Postgres, a bus
    /// shared by every instance on the database, whose listener connection is
    /// opened from `url` (the URL `db` was opened with).
    ///
    /// For Postgres this returns once the listener is listening, so events
    /// published afterwards — by any instance — reach this bus's
    /// subscribers. It fails when the listener cannot connect. Must be called
    /// inside a tokio runtime (the listener runs as a task).
    pub async fn for_db(db: &Db, url: &str) -> Result<EventBus, StoreError> {
        match Backend::of(db) {
            Backend::Sqlite => Ok(EventBus::in_process()),
            Backend::Postgres => {
                if Backend::from_url(url)? != Backend::Postgres {
                    return Err(StoreError::BadUrl(crate::db::redact_url(url)));
                }
                let (tx, _) = broadcast::channel(DEFAULT_CAPACITY);
                let pg = postgres::PgBus::start(db.clone(), url, tx.clone()).await?;
                Ok(EventBus { inner: Arc::new(Inner { tx, imp: Imp::Postgres(pg) }) })
            }
        }
    }

    /// Publishes an event to every subscriber of every instance (including
    /// this one). Call it after the change the event describes has been
    /// committed.
    ///
    /// Having no subscribers is not an error. On Postgres an event too big for
    /// NOTIFY is sent without its `data` (see [`Event::truncated`]); the error
    /// cases are a failed NOTIFY (the change is committed regardless — log
    /// and carry on) and an event too big even without its data.
    pub async fn publish(&self, event: &Event) -> Result<(), StoreError> {
        match &self.inner.imp {
            Imp::InProcess => {
                // Err only means nobody is subscribed right now.
                let _ = self.inner.tx.send(event.clone());
                Ok(())
            }
            Imp::Postgres(pg) => pg.publish(event).await,
        }
    }

    /// Publishes several events after their change has been committed, in
    /// one round trip on Postgres (one statement of `pg_notify` calls, which
    /// Postgres delivers in order). Failures as for [`publish`](Self::publish).
    pub async fn publish_all(&self, events: &[Event]) -> Result<(), StoreError> {
        match &self.inner.imp {
            Imp::InProcess => {
                for e in events {
                    let _ = self.inner.tx.send(e.clone());
                }
                Ok(())
            }
            Imp::Postgres(pg) => pg.publish_all(&pg.db_handle(), events).await,
        }
    }

    /// Hands `events` to the transaction `c` so they go out exactly when it
    /// commits: on Postgres one statement of `pg_notify` calls inside the
    /// transaction (Postgres delivers NOTIFY only at commit, and never after
    /// a rollback), saving the round trip and the pool checkout of a
    /// separate publish. Returns the events still to publish after the
    /// commit with [`publish_all`](Self::publish_all): none on Postgres, all
    /// of them in-process (a broadcast cannot wait for a commit).
    ///
    /// An error here aborts the transaction on Postgres: fail the call (the
    /// change is rolled back) rather than commit it.
    pub async fn notify_on_commit<C: ConnectionTrait>(
        &self,
        c: &C,
        events: Vec<Event>,
    ) -> Result<Vec<Event>, StoreError> {
        match &self.inner.imp {
            Imp::InProcess => Ok(events),
            Imp::Postgres(pg) => {
                pg.publish_all(c, &events).await?;
                Ok(Vec::new())
            }
        }
    }

    /// Sends an event to this process's subscribers only, never to other
    /// instances: for a fact every instance derives from the shared
    /// database by itself (a worker's presence window lapsing), which
    /// would otherwise reach each subscriber once per instance.
    pub fn publish_local(&self, event: &Event) {
        // Err only means nobody is subscribed right now.
        let _ = self.inner.tx.send(event.clone());
    }

    /// A new subscription, receiving every event published from now on.
    ///
    /// `recv` yields `Err(Lagged(n))` when this subscriber fell more than
    /// [`DEFAULT_CAPACITY`] events behind: resync, then keep receiving. A
    /// [`kinds::BUS_RESYNC`] event asks for the same. `Err(Closed)` means the
    /// bus was dropped.
    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.inner.tx.subscribe()
    }

    /// Waits until the bus delivers events from other instances: at once for
    /// the in-process bus; for Postgres, until the listener is listening
    /// (which it already is after [`for_db`](Self::for_db) unless its
    /// connection has since dropped).
    pub async fn ready(&self) {
        match &self.inner.imp {
            Imp::InProcess => {}
            Imp::Postgres(pg) => pg.ready().await,
        }
    }

    /// Whether the bus currently receives events from other instances
    /// (always true in-process; for Postgres, whether the listener is
    /// connected). For health checks.
    pub fn is_listening(&self) -> bool {
        match &self.inner.imp {
            Imp::InProcess => true,
            Imp::Postgres(pg) => pg.is_listening(),
        }
    }

    /// Whether events cross process boundaries (the Postgres implementation).
    pub fn is_shared(&self) -> bool {
        matches!(self.inner.imp, Imp::Postgres(_))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn events_serialize_with_a_type_field_and_omit_empty_parts() {
        let e = Event::new(kinds::JOB_STATUS).for_product("p1").with_data(json!({ "status": "claimed" }));
        let v = serde_json::to_value(&e).expect("encode");
        assert_eq!(v, json!({ "type": "job_status", "product_id": "p1", "data": { "status": "claimed" } }));
        let back: Event = serde_json::from_value(v).expect("decode");
        assert_eq!(back, e);
        let bare: Event = serde_json::from_str(r#"{"type":"x"}"#).expect("decode bare");
        assert_eq!(bare, Event::new("x"));
    }

    #[test]
    fn small_events_are_sent_whole() {
        let e = Event::new("x").for_user("u").with_data(json!({ "a": 1 }));
        let payload = e.notify_payload().expect("payload");
        assert_eq!(serde_json::from_str::<Event>(&payload).expect("decode"), e);
    }

    #[test]
    fn big_events_lose_their_data_and_say_so() {
        let e = Event::new("x").for_product("p").with_data(json!({ "blob": "a".repeat(MAX_NOTIFY_PAYLOAD) }));
        let payload = e.notify_payload().expect("payload");
        assert!(payload.len() <= MAX_NOTIFY_PAYLOAD);
        let got: Event = serde_json::from_str(&payload).expect("decode");
        assert_eq!(got, Event { truncated: true, data: Value::Null, ..e });
    }

    #[test]
    fn an_event_too_big_without_data_is_refused() {
        let e = Event::new("x".repeat(MAX_NOTIFY_PAYLOAD));
        assert!(e.notify_payload().is_err());
    }
}
