//! The Postgres implementation: NOTIFY through the shared pool, and one
//! LISTEN connection per bus feeding the local broadcast.

use std::{
    str::FromStr,
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use sea_orm::{ConnectionTrait, DbBackend, Statement};
use sqlx::postgres::{PgConnectOptions, PgListener, PgPoolOptions};
use tokio::{
    sync::{broadcast, watch},
    task::AbortHandle,
};

use super::{CHANNEL, Event, LISTENER_APPLICATION_NAME, kinds};
use crate::{Db, StoreError, db::redact_url};

/// Shortest and longest pause between attempts to re-open a failed listener.
const MIN_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// A listener connection that lived this long was healthy: the backoff starts
/// over after it fails.
const STABLE_AFTER: Duration = Duration::from_secs(60);

pub(super) struct PgBus {
    db: Db,
    listening: watch::Receiver<bool>,
    task: AbortHandle,
}

impl Drop for PgBus {
    fn drop(&mut self) {
        // The task owns the listener connection; stopping it closes that
        // connection and, with the bus's own sender gone, the subscriptions.
        self.task.abort();
    }
}

impl PgBus {
    /// Opens the listener, waits until it listens, and leaves it running in a
    /// task that forwards notifications to `tx`.
    pub(super) async fn start(db: Db, url: &str, tx: broadcast::Sender<Event>) -> Result<PgBus, StoreError> {
        let options = PgConnectOptions::from_str(url)
            .map_err(|_| StoreError::BadUrl(redact_url(url)))?
            .application_name(LISTENER_APPLICATION_NAME);
        let listener = listen(&options).await.map_err(sqlx_error)?;
        let (state, listening) = watch::channel(true);
        let task = tokio::spawn(run(options, listener, tx, state)).abort_handle();
        Ok(PgBus { db, listening, task })
    }

    pub(super) async fn publish(&self, event: &Event) -> Result<(), StoreError> {
        let payload = event.notify_payload()?;
        self.db
            .execute_raw(Statement::from_sql_and_values(
                DbBackend::Postgres,
                "SELECT pg_notify($1, $2)",
                [CHANNEL.into(), payload.into()],
            ))
            .await?;
        Ok(())
    }

    /// The pool events are published through.
    pub(super) fn db_handle(&self) -> Db {
        self.db.clone()
    }

    /// Sends `events` with one statement on `c`: `SELECT pg_notify($1, $2),
    /// pg_notify($1, $3), …`. An event too big even without its data is
    /// left out with a warning, as [`publish`](Self::publish) would fail on it.
    pub(super) async fn publish_all<C: ConnectionTrait>(&self, c: &C, events: &[Event]) -> Result<(), StoreError> {
        let mut values: Vec<sea_orm::Value> = vec![CHANNEL.into()];
        let mut calls = Vec::with_capacity(events.len());
        for e in events {
            match e.notify_payload() {
                Ok(p) => {
                    values.push(p.into());
                    calls.push(format!("pg_notify($1, ${})", values.len()));
                }
                Err(err) => tracing::warn!(error = %err, kind = %e.kind, "event not published"),
            }
        }
        if calls.is_empty() {
            return Ok(());
        }
        let sql = format!("SELECT {}", calls.join(", "));
        c.execute_raw(Statement::from_sql_and_values(DbBackend::Postgres, sql, values)).await?;
        Ok(())
    }

    pub(super) async fn ready(&self) {
        let mut listening = self.listening.clone();
        // Err: the task is gone (the bus is being dropped); nothing to wait for.
        let _ = listening.wait_for(|l| *l).await;
    }

    pub(super) fn is_listening(&self) -> bool {
        *self.listening.borrow()
    }
}

/// A dedicated single-connection pool (so it never competes with queries)
/// and a listener on [`CHANNEL`] over it.
async fn listen(options: &PgConnectOptions) -> Result<PgListener, sqlx::Error> {
    let pool = PgPoolOptions::new()
        .max_connections(1)
        .min_connections(0)
        .max_lifetime(None)
        .idle_timeout(None)
        .acquire_timeout(Duration::from_secs(10))
        .connect_with(options.clone())
        .await?;
    let mut listener = PgListener::connect_with(&pool).await?;
    listener.ignore_pool_close_event(true);
    listener.listen(CHANNEL).await?;
    Ok(listener)
}

/// The listener loop. `PgListener` reconnects by itself after a dropped
/// connection (`Ok(None)` from `try_recv`); when that fails, or anything else
/// goes wrong, the listener is rebuilt from scratch with backoff. After every
/// reconnection subscribers get a [`kinds::BUS_RESYNC`] event, since
/// notifications sent in between are lost.
async fn run(
    options: PgConnectOptions,
    mut listener: PgListener,
    tx: broadcast::Sender<Event>,
    state: watch::Sender<bool>,
) {
    let mut backoff = Backoff::default();
    loop {
        let connected_at = Instant::now();
        let error = loop {
            match listener.try_recv().await {
                Ok(Some(notification)) => deliver(&tx, notification.payload()),
                Ok(None) => {
                    tracing::warn!("event listener connection was lost and re-established; subscribers resync");
                    let _ = tx.send(Event::new(kinds::BUS_RESYNC));
                }
                Err(e) => break e,
            }
        };
        state.send_replace(false);
        drop(listener);
        tracing::warn!(error = %error, "event listener failed; reconnecting");
        if connected_at.elapsed() >= STABLE_AFTER {
            backoff = Backoff::default();
        }
        listener = loop {
            tokio::time::sleep(backoff.next_delay()).await;
            match listen(&options).await {
                Ok(listener) => break listener,
                Err(e) => tracing::warn!(error = %e, "event listener cannot reconnect yet"),
            }
        };
        tracing::info!("event listener reconnected; subscribers resync");
        state.send_replace(true);
        let _ = tx.send(Event::new(kinds::BUS_RESYNC));
    }
}

fn deliver(tx: &broadcast::Sender<Event>, payload: &str) {
    match serde_json::from_str::<Event>(payload) {
        // Err only means nobody is subscribed right now.
        Ok(event) => {
            let _ = tx.send(event);
        }
        Err(e) => tracing::warn!(error = %e, "ignoring a notification on {CHANNEL} that is not an event"),
    }
}

fn sqlx_error(e: sqlx::Error) -> StoreError {
    StoreError::Db(sea_orm::DbErr::Conn(sea_orm::RuntimeErr::SqlxError(std::sync::Arc::new(e))))
}

/// Exponential backoff with up to 50% jitter, so instances that lost the
/// database together do not reconnect in lockstep.
struct Backoff {
    next: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff { next: MIN_BACKOFF }
    }
}

impl Backoff {
    fn next_delay(&mut self) -> Duration {
        let base = self.next;
        self.next = (self.next * 2).min(MAX_BACKOFF);
        let noise = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.subsec_nanos() % 1000);
        base + base.mul_f64(f64::from(noise) / 2000.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_to_a_cap() {
        let mut b = Backoff::default();
        let first = b.next_delay();
        assert!(first >= MIN_BACKOFF && first <= MIN_BACKOFF * 3 / 2);
        let mut last = first;
        for _ in 0..20 {
            last = b.next_delay();
        }
        assert!(last >= MAX_BACKOFF && last <= MAX_BACKOFF * 3 / 2);
    }
}
