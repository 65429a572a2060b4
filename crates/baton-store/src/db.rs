//! Connecting to SQLite or Postgres. The backend is chosen here, once, from
//! the URL scheme.

use std::{str::FromStr, time::Duration};

use sea_orm::{ConnectOptions, ConnectionTrait, Database, DbBackend};
use sea_orm_migration::MigratorTrait;

use crate::{StoreError, migration::Migrator};

pub use crate::gate::Db;

/// Which SQL engine a URL points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// Embedded SQLite file (or memory).
    Sqlite,
    /// A Postgres server, possibly shared by several Baton instances.
    Postgres,
}

impl Backend {
    /// The backend a URL names, or an error for anything else.
    pub fn from_url(url: &str) -> Result<Self, StoreError> {
        if url.starts_with("sqlite:") {
            Ok(Backend::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Backend::Postgres)
        } else {
            Err(StoreError::BadUrl(redact_url(url)))
        }
    }

    /// The backend of an open connection.
    pub fn of(db: &Db) -> Self {
        match db.get_database_backend() {
            DbBackend::Postgres => Backend::Postgres,
            _ => Backend::Sqlite,
        }
    }
}

/// Hides the password of a URL so it can be logged or shown in an error.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s + 3 => {
            let creds = &url[s + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}://{}:***@{}", &url[..s], user, &url[at + 1..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

/// How many reader connections a SQLite file gets (plus its one writer).
const SQLITE_READERS: u32 = 8;

/// Connection settings beyond the URL. [`connect`] uses the defaults.
#[derive(Debug, Clone)]
pub struct ConnectSettings {
    /// How long a SQLite connection waits for a lock before `SQLITE_BUSY`.
    /// Writers of one process queue at the write gate instead, so this
    /// only matters against other processes (the CLI beside a server) and
    /// WAL checkpoints.
    pub sqlite_busy_timeout: Duration,
}

impl Default for ConnectSettings {
    fn default() -> Self {
        ConnectSettings { sqlite_busy_timeout: Duration::from_secs(10) }
    }
}

/// Opens a pool with the default [`ConnectSettings`].
pub async fn connect(url: &str) -> Result<Db, StoreError> {
    connect_with(url, &ConnectSettings::default()).await
}

/// Opens a pool. SQLite gets WAL, a busy timeout and enforced foreign keys,
/// and a file gets its write gate: reader connections plus one writer
/// connection (see [`crate::gate`]); the file is created when missing.
pub async fn connect_with(url: &str, settings: &ConnectSettings) -> Result<Db, StoreError> {
    let backend = Backend::from_url(url)?;
    let mut opts = ConnectOptions::new(url.to_string());
    opts.sqlx_logging(false).connect_timeout(Duration::from_secs(5)).acquire_timeout(Duration::from_secs(10));
    let db = match backend {
        Backend::Sqlite => {
            let in_memory = url.contains(":memory:") || url.contains("mode=memory");
            let busy = settings.sqlite_busy_timeout;
            opts.min_connections(1).map_sqlx_sqlite_opts(move |o| {
                let o = o
                    .create_if_missing(true)
                    .foreign_keys(true)
                    .busy_timeout(busy)
                    .synchronous(sea_orm::sqlx::sqlite::SqliteSynchronous::Normal);
                if in_memory { o } else { o.journal_mode(sea_orm::sqlx::sqlite::SqliteJournalMode::Wal) }
            });
            if in_memory {
                // One connection for in-memory databases: each connection
                // would otherwise see its own empty database. It is the
                // writer too, so nothing needs a gate.
                opts.max_connections(1);
                Db::from(Database::connect(opts).await?)
            } else {
                // The writer opens first: it creates the file and turns on
                // WAL before any reader looks at it. It skips the pool's
                // liveness ping: a local file connection does not go stale,
                // and every write would pay for the ping.
                let mut write = opts.clone();
                write.max_connections(1).test_before_acquire(false);
                let writer = Database::connect(write).await?;
                opts.max_connections(SQLITE_READERS);
                Db::gated(Database::connect(opts).await?, writer)
            }
        }
        Backend::Postgres => {
            // No liveness ping at checkout: sqlx's default sends one before
            // handing out a pooled connection, a full round trip each time;
            // issue 13 measured 32 of a queue job's 78 round trips there. A
            // connection the server dropped fails its next statement with an
            // error instead, and the pool discards it; the services treat
            // that like any other database error, and a restarted server
            // costs a few failed requests rather than a ping on every one.
            opts.max_connections(20).min_connections(1).test_before_acquire(false);
            // One direct attempt first: a pool would retry until its acquire
            // timeout and then report only "pool timed out", hiding the cause
            // (refused, unknown host, bad password).
            use sea_orm::sqlx::Connection;
            let probe = tokio::time::timeout(Duration::from_secs(5), sea_orm::sqlx::PgConnection::connect(url)).await;
            match probe {
                Ok(Ok(conn)) => {
                    let _ = conn.close().await;
                }
                Ok(Err(e)) => return Err(StoreError::Connect(e.to_string())),
                Err(_) => return Err(StoreError::Connect("no answer within 5 s".into())),
            }
            Db::from(Database::connect(opts).await?)
        }
    };
    // Fail at start-up, not at the first request, when the server is unreachable.
    db.execute_unprepared("SELECT 1").await?;
    Ok(db)
}

/// Applies every pending migration. Applying twice is a no-op.
pub async fn migrate(db: &Db) -> Result<(), StoreError> {
    Migrator::up(db.writer(), None).await?;
    Ok(())
}

/// Whether the database answers a trivial query.
pub async fn ping(db: &Db) -> bool {
    db.execute_unprepared("SELECT 1").await.is_ok()
}

/// Validates a URL without connecting (used for early, clear CLI errors).
pub fn check_url(url: &str) -> Result<(), StoreError> {
    Backend::from_url(url)?;
    if Backend::from_url(url)? == Backend::Sqlite {
        sea_orm::sqlx::sqlite::SqliteConnectOptions::from_str(url)
            .map_err(|e| StoreError::BadUrl(format!("{url}: {e}")))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backend_is_chosen_by_scheme_and_others_are_refused() {
        assert_eq!(Backend::from_url("sqlite://x.db").ok(), Some(Backend::Sqlite));
        assert_eq!(Backend::from_url("postgres://u@h/db").ok(), Some(Backend::Postgres));
        assert!(matches!(Backend::from_url("mysql://u:pw@h/db"), Err(StoreError::BadUrl(u)) if !u.contains("pw")));
    }

    #[test]
    fn redaction_hides_only_the_password() {
        assert_eq!(redact_url("postgres://bob:secret@h:5432/db"), "postgres://bob:***@h:5432/db");
        assert_eq!(redact_url("postgres://bob@h/db"), "postgres://bob@h/db");
        assert_eq!(redact_url("sqlite://./baton.db"), "sqlite://./baton.db");
    }
}
