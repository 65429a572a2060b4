//! Baton's use cases ("services"): the one place where rules meet storage,
//! transactions and events. REST handlers, MCP tools, web pages and the CLI
//! all call these functions, so every rule behaves the same from each.

pub mod access;
pub mod accounts;
pub mod actor;
pub mod agent_start;
pub mod backlog;
pub mod bulk;
pub mod config;
pub mod demo;
pub mod error;
pub mod ideas;
pub mod insights;
pub mod item_detail;
pub mod list;
pub mod marketplace;
pub mod passwords;
pub mod prices;
pub mod products;
pub mod questions;
pub mod queue;
pub mod realtime;
pub mod secrets;
pub mod sessions;
pub mod solo;
pub mod sprint_runs;
pub mod sprints;
pub mod tokens;
pub mod txn;
pub mod workers;

pub use actor::{Actor, AuthVia};
/// The event bus types, for the layers that stream events (SSE, MCP).
pub use baton_store::events;
pub use config::AppConfig;
pub use error::{AppError, AppResult, Internal};

use baton_store::{Db, events::EventBus};

/// Everything a use case needs: the database, the event bus and settings.
/// Cheap to share behind an `Arc`.
pub struct App {
    /// The database pool.
    pub db: Db,
    /// Where committed changes are announced (SSE, waiting agents, other instances).
    pub bus: EventBus,
    /// Tunables (session lifetime, login limits).
    pub config: AppConfig,
    /// Serialises the claim attempts of woken `wait_for_job` callers per
    /// user in this process (see `queue::claim`).
    pub(crate) claim_gates: queue::claim::ClaimGates,
    /// The realtime streams open in this process, against their limits.
    pub streams: realtime::StreamSlots,
    /// Where project documents are kept (`None`: not configured).
    pub documents: Option<std::sync::Arc<dyn object_store::ObjectStore>>,
}

impl App {
    /// Wraps an open, migrated database and its event bus.
    pub fn new(db: Db, bus: EventBus, config: AppConfig) -> Self {
        let streams = realtime::StreamSlots::new(&config);
        // `serve` opens the store first and stops on a bad URL; here a bad
        // one only turns documents off.
        let documents = config.documents_url.as_deref().and_then(|url| {
            marketplace::documents::open_store(url)
                .inspect_err(|e| tracing::error!(error = %e, "documents are off"))
                .ok()
        });
        App { db, bus, config, claim_gates: queue::claim::ClaimGates::default(), streams, documents }
    }

    /// An app whose events stay in this process (tests, one-shot CLI commands).
    pub fn local(db: Db, config: AppConfig) -> Self {
        Self::new(db, EventBus::in_process(), config)
    }

    /// Whether the database answers.
    pub async fn database_ok(&self) -> bool {
        baton_store::db::ping(&self.db).await
    }
}
