//! Realtime streams (SSE) as a service: who may open one, which bus events
//! each carries, the typed events they send, and how many may be open.
//!
//! The HTTP layer only frames what [`RealtimeStream::next`] returns as SSE
//! (event name = the event's `type`, data = its JSON) and ends the stream
//! after its maximum duration.
//!
//! * **Typed events.** Every event sent is one of the schemas below, with a
//!   `type` discriminator ([`SoloEvent`], [`NotificationEvent`]). A bus event
//!   is decoded into its type's payload; fields a payload does not declare
//!   are dropped, and a payload that does not decode (a publisher broke its
//!   shape) is sent without `data` and with `truncated: true`, as a
//!   too-big Postgres event is, so the client refetches.
//! * **Limits.** A stream holds a file descriptor and memory for minutes.
//!   Each user may hold [`AppConfig::realtime_max_streams_per_user`] streams
//!   and each client IP [`AppConfig::realtime_max_streams_per_ip`]; beyond
//!   that, and when open descriptors come within
//!   [`AppConfig::realtime_fd_reserve`] of the process limit, a new stream
//!   is refused with 429, so health checks and log-ins keep working. A slot
//!   is freed when its stream is dropped (the client went away or the
//!   stream ended). The counts are per process: descriptors are too.

mod events;
mod slots;

use baton_store::events::{Event, kinds};
use serde_json::Value;
use tokio::sync::broadcast::{Receiver, error::RecvError};

pub use events::*;
pub use slots::{STREAM_RETRY_AFTER_SECS, StreamSlot, StreamSlots};

use crate::{
    Actor, App, AppResult,
    questions::{QuestionFilter, QuestionView, event_visible_to},
};

/// Open questions sent with the notification stream's `ready` event.
pub const INITIAL_QUESTIONS: u64 = 50;

// ---------------------------------------------------------------------------
// Which bus events a stream carries.
// ---------------------------------------------------------------------------

/// Whether an event about an idea (its questions, its jobs) may go to
/// `user_id`: ideas are private to their owner. `None` when the event is
/// not about an idea.
fn idea_event_for(e: &Event, user_id: &str) -> Option<bool> {
    let about_idea = e.data.get("idea_id").is_some_and(|v| !v.is_null())
        || e.data.get("question").and_then(|q| q.get("idea_id")).is_some_and(|v| !v.is_null());
    about_idea.then(|| e.user_id.as_deref() == Some(user_id))
}

/// The user an event is addressed to (or, failing that, its payload's owner).
fn event_user(e: &Event) -> Option<&str> {
    e.user_id.as_deref().or_else(|| e.data.get("user_id").and_then(Value::as_str))
}

/// Whether a `worker_presence` event concerns `user_id`'s pages: only their
/// own workers count for "agent connected", and on a product's page
/// (`product_id`) only workers that may serve it (not limited to another
/// product).
pub fn presence_for(e: &Event, user_id: &str, product_id: Option<&str>) -> bool {
    e.kind == crate::workers::WORKER_PRESENCE
        && event_user(e) == Some(user_id)
        && match (product_id, e.data.get("product_id").and_then(Value::as_str)) {
            (Some(page), Some(limited_to)) => page == limited_to,
            _ => true,
        }
}

/// The Solo stream's filter: every event of the product, ideas' events only
/// for their owner, and the caller's workers coming and going.
pub fn solo_carries(e: &Event, product_id: &str, user_id: &str) -> bool {
    (e.product_id.as_deref() == Some(product_id) && idea_event_for(e, user_id).unwrap_or(true))
        || presence_for(e, user_id, Some(product_id))
}

/// The notification stream's filter: questions the caller may see in
/// `products` (idea questions: their own), the caller's own jobs and the
/// caller's own ideas changing (ideas are private, so only the owner's
/// stream carries them, with or without a product).
pub fn notifications_carry(e: &Event, user_id: &str, products: &[String]) -> bool {
    match e.kind.as_str() {
        kinds::QUESTION_CHANGED => event_visible_to(e, user_id, products),
        kinds::JOB_STATUS | kinds::JOB_ENQUEUED => event_user(e) == Some(user_id),
        crate::ideas::IDEA_CHANGED => e.user_id.as_deref() == Some(user_id),
        _ => false,
    }
}

// ---------------------------------------------------------------------------
// Streams.
// ---------------------------------------------------------------------------

type Keep = Box<dyn Fn(&Event) -> bool + Send + Sync>;

/// An open realtime stream: `ready` first, then the bus events it carries,
/// typed, and `resync` when it may have missed some. Holds its slot until
/// dropped.
pub struct RealtimeStream<E> {
    rx: Receiver<Event>,
    ready: Option<E>,
    keep: Keep,
    _slot: StreamSlot,
}

impl<E: StreamEvent> RealtimeStream<E> {
    /// The next event to send; `None` once the bus has closed.
    pub async fn next(&mut self) -> Option<E> {
        if let Some(ready) = self.ready.take() {
            return Some(ready);
        }
        loop {
            match self.rx.recv().await {
                Ok(e) if e.kind == kinds::BUS_RESYNC => {
                    return Some(E::resync(Resync {
                        kind: ResyncType::Tag,
                        reason: ResyncReason::BusResync,
                        missed: None,
                    }));
                }
                Ok(e) if (self.keep)(&e) => {
                    if let Some(ev) = E::from_bus(e) {
                        return Some(ev);
                    }
                }
                Ok(_) => {}
                Err(RecvError::Lagged(missed)) => {
                    return Some(E::resync(Resync {
                        kind: ResyncType::Tag,
                        reason: ResyncReason::Lagged,
                        missed: Some(missed),
                    }));
                }
                Err(RecvError::Closed) => return None,
            }
        }
    }
}

impl App {
    /// Opens the Solo stream of a product the caller can read (id or code):
    /// every change to it, ideas' events only for their owner. Refused with
    /// 429 beyond the stream limits.
    pub async fn open_solo_stream(
        &self,
        actor: &Actor,
        product_ref: &str,
        client_ip: &str,
    ) -> AppResult<RealtimeStream<SoloEvent>> {
        let slot = self.streams.acquire(&actor.user_id, client_ip)?;
        let product = crate::products::readable_ref(&self.db, actor, product_ref).await?;
        // Subscribe before `ready`, so nothing published after it is missed.
        let rx = self.bus.subscribe();
        let ready = SoloEvent::Ready(SoloReady {
            kind: ReadyType::Tag,
            product_id: product.id.clone(),
            user_id: actor.user_id.clone(),
        });
        let (product_id, user_id) = (product.id, actor.user_id.clone());
        Ok(RealtimeStream {
            rx,
            ready: Some(ready),
            keep: Box::new(move |e| solo_carries(e, &product_id, &user_id)),
            _slot: slot,
        })
    }

    /// Opens the live stream of a web page: the bell's events (as
    /// [`App::open_notification_stream`]) plus every change to one product
    /// the caller can read (`product_ref`, id or code) or, without one, to
    /// any of their products, and the caller's workers coming and going. Idea events go to their owner only. The page
    /// treats events as signals to refetch itself, so one stream per tab
    /// is enough. Refused with 429 beyond the stream limits.
    pub async fn open_page_stream(
        &self,
        actor: &Actor,
        product_ref: Option<&str>,
        client_ip: &str,
    ) -> AppResult<RealtimeStream<SoloEvent>> {
        let slot = self.streams.acquire(&actor.user_id, client_ip)?;
        let scope = match product_ref {
            Some(p) => Some(crate::products::readable_ref(&self.db, actor, p).await?.id),
            None => None,
        };
        // Subscribe before `ready`, so nothing published after it is missed.
        let rx = self.bus.subscribe();
        let products = self.notification_products(actor).await?;
        let ready = SoloEvent::Ready(SoloReady {
            kind: ReadyType::Tag,
            product_id: scope.clone().unwrap_or_default(),
            user_id: actor.user_id.clone(),
        });
        let user_id = actor.user_id.clone();
        Ok(RealtimeStream {
            rx,
            ready: Some(ready),
            keep: Box::new(move |e| {
                let about_scope = match &scope {
                    Some(p) => solo_carries(e, p, &user_id),
                    None => {
                        (e.product_id.as_ref().is_some_and(|p| products.contains(p))
                            && idea_event_for(e, &user_id).unwrap_or(true))
                            || presence_for(e, &user_id, None)
                    }
                };
                about_scope || notifications_carry(e, &user_id, &products)
            }),
            _slot: slot,
        })
    }

    /// Opens the caller's notification stream (the bell): questions in the
    /// products they own or belong to (idea questions: their own) and
    /// their own jobs; `ready` carries the open questions. Refused with 429
    /// beyond the stream limits.
    pub async fn open_notification_stream(
        &self,
        actor: &Actor,
        client_ip: &str,
    ) -> AppResult<RealtimeStream<NotificationEvent>> {
        let slot = self.streams.acquire(&actor.user_id, client_ip)?;
        // Subscribe before reading the state `ready` carries.
        let rx = self.bus.subscribe();
        let products = self.notification_products(actor).await?;
        let open = QuestionFilter { status: Some("open".into()), limit: Some(INITIAL_QUESTIONS), ..Default::default() };
        let open_questions: Vec<QuestionView> = self
            .list_questions(actor, open)
            .await?
            .items
            .into_iter()
            .filter(|q| q.idea_id.is_some() || products.contains(&q.product_id))
            .collect();
        let ready = NotificationEvent::Ready(NotificationsReady {
            kind: ReadyType::Tag,
            user_id: actor.user_id.clone(),
            product_ids: products.clone(),
            open_questions,
        });
        let user_id = actor.user_id.clone();
        Ok(RealtimeStream {
            rx,
            ready: Some(ready),
            keep: Box::new(move |e| notifications_carry(e, &user_id, &products)),
            _slot: slot,
        })
    }
}

#[cfg(test)]
mod idea_event_tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn idea_changes_and_idea_questions_reach_their_owner_only() {
        let products = vec!["p1".to_string()];
        // An idea without a product: still on its owner's stream, nobody else's.
        let changed = Event::new(crate::ideas::IDEA_CHANGED).for_user("ann").with_data(json!({"idea_id": "i1"}));
        assert!(notifications_carry(&changed, "ann", &products));
        assert!(!notifications_carry(&changed, "bob", &products));
        // With a product: the product's other members do not get it either.
        let in_product = changed.clone().for_product("p1");
        assert!(!notifications_carry(&in_product, "bob", &products));
        assert!(!solo_carries(&in_product, "p1", "bob"));
        assert!(solo_carries(&in_product, "p1", "ann"));
        // An open idea question rings the owner's bell only.
        let question = Event::new(kinds::QUESTION_CHANGED)
            .for_product("p1")
            .for_user("ann")
            .with_data(json!({"question": {"idea_id": "i1", "status": "open"}}));
        assert!(notifications_carry(&question, "ann", &products));
        assert!(!notifications_carry(&question, "bob", &products));
        // Typed for both streams.
        assert!(matches!(
            events::NotificationEvent::from_bus(changed.clone()),
            Some(events::NotificationEvent::IdeaChanged(_))
        ));
        assert_eq!(events::SoloEvent::from_bus(changed).map(|e| e.name()), Some(crate::ideas::IDEA_CHANGED));
    }
}
