//! Test support: a fresh, migrated database per test on SQLite or Postgres,
//! and [`backend_tests!`], which runs one test body on both backends;
//! [`market`] inserts marketplace rows (opportunities, bids) directly.
//!
//! Postgres tests need `BATON_TEST_PG_URL` (an admin URL of a throwaway
//! cluster); `scripts/test` starts one and sets it. Each test gets its own
//! database, copied from a migrated template, so tests never share state
//! and need no `#[serial]`.

pub mod market;

use std::path::PathBuf;

use baton_store::{Backend, Db};
use sea_orm::ConnectionTrait;

pub use tokio;

pub mod archives;

/// The environment variable naming the Postgres admin URL for tests.
pub const PG_ENV: &str = "BATON_TEST_PG_URL";

/// A migrated database that exists for one test.
pub struct TestDb {
    /// The connection pool.
    pub db: Db,
    /// The URL, for tests that start a second process or pool.
    pub url: String,
    /// Which backend this is.
    pub backend: Backend,
    cleanup: Cleanup,
}

enum Cleanup {
    File(PathBuf),
    PgDatabase { admin_url: String, name: String },
}

impl TestDb {
    /// A fresh SQLite file database in the temp directory.
    pub async fn sqlite() -> TestDb {
        let path = std::env::temp_dir().join(format!("baton-test-{}.db", uuid::Uuid::now_v7().simple()));
        let url = format!("sqlite://{}?mode=rwc", path.display());
        let db = baton_store::connect(&url).await.expect("open test SQLite");
        baton_store::db::migrate(&db).await.expect("migrate test SQLite");
        TestDb { db, url, backend: Backend::Sqlite, cleanup: Cleanup::File(path) }
    }

    /// A fresh Postgres database copied from a migrated template.
    pub async fn postgres() -> TestDb {
        let admin_url = std::env::var(PG_ENV).unwrap_or_else(|_| {
            panic!("{PG_ENV} is not set: run the suite with ./scripts/test, which starts a throwaway Postgres")
        });
        let template = ensure_template(&admin_url).await;
        let name = format!("t_{}", uuid::Uuid::now_v7().simple());
        let admin = admin_pool(&admin_url).await;
        admin
            .execute_unprepared(&format!("CREATE DATABASE \"{name}\" TEMPLATE \"{template}\""))
            .await
            .expect("create test database");
        drop(admin);
        let url = db_url(&admin_url, &name);
        let db = baton_store::connect(&url).await.expect("open test Postgres");
        TestDb { db, url, backend: Backend::Postgres, cleanup: Cleanup::PgDatabase { admin_url, name } }
    }

    /// Opens a second, independent pool on the same database (as another
    /// instance of Baton would).
    pub async fn second_pool(&self) -> Db {
        baton_store::connect(&self.url).await.expect("open second pool")
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        match &self.cleanup {
            Cleanup::File(path) => {
                for suffix in ["", "-wal", "-shm"] {
                    let mut p = path.clone().into_os_string();
                    p.push(suffix);
                    let _ = std::fs::remove_file(p);
                }
            }
            Cleanup::PgDatabase { admin_url, name } => {
                let (admin_url, name) = (admin_url.clone(), name.clone());
                // Drop runs inside the test's runtime; a helper thread with its
                // own runtime may block without stalling it.
                let _ = std::thread::spawn(move || {
                    let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() else { return };
                    rt.block_on(async {
                        if let Ok(admin) = baton_store::connect(&admin_url).await {
                            let _ = admin
                                .execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                                .await;
                        }
                    });
                })
                .join();
            }
        }
    }
}

async fn admin_pool(admin_url: &str) -> Db {
    let mut opts = sea_orm::ConnectOptions::new(admin_url.to_string());
    opts.max_connections(1).sqlx_logging(false);
    sea_orm::Database::connect(opts).await.expect("connect to the test Postgres cluster").into()
}

/// Replaces the database name of a Postgres URL.
fn db_url(admin_url: &str, name: &str) -> String {
    let (base, query) = match admin_url.split_once('?') {
        Some((b, q)) => (b, format!("?{q}")),
        None => (admin_url, String::new()),
    };
    let cut = base.rfind('/').filter(|i| *i > base.find("://").map_or(0, |s| s + 2)).unwrap_or(base.len());
    format!("{}/{}{}", &base[..cut], name, query)
}

/// Creates the migrated template once per cluster and schema version; an
/// advisory lock keeps parallel test processes from racing to build it.
async fn ensure_template(admin_url: &str) -> String {
    let fingerprint = baton_store::migration::SOURCE_FINGERPRINT;
    let template = format!("baton_tpl_{fingerprint:016x}");
    let admin = admin_pool(admin_url).await;
    admin.execute_unprepared("SELECT pg_advisory_lock(727272)").await.expect("advisory lock");
    let exists = admin
        .query_one_raw(sea_orm::Statement::from_string(
            sea_orm::DbBackend::Postgres,
            format!("SELECT 1 AS one FROM pg_database WHERE datname = '{template}'"),
        ))
        .await
        .expect("look up template")
        .is_some();
    if !exists {
        admin.execute_unprepared(&format!("CREATE DATABASE \"{template}\"")).await.expect("create template");
        let db = baton_store::connect(&db_url(admin_url, &template)).await.expect("open template");
        baton_store::db::migrate(&db).await.expect("migrate template");
        db.close().await.expect("close template");
    }
    admin.execute_unprepared("SELECT pg_advisory_unlock(727272)").await.expect("advisory unlock");
    template
}

/// Runs each test body once on SQLite and once on Postgres, as
/// `name::sqlite` and `name::postgres`.
///
/// ```ignore
/// backend_tests! {
///     async fn creates_a_user(t) {
///         let db = &t.db;
///         // ...
///     }
/// }
/// ```
#[macro_export]
macro_rules! backend_tests {
    ($($(#[$meta:meta])* async fn $name:ident($t:ident) $body:block)*) => {
        $(
            $(#[$meta])*
            mod $name {
                #[allow(unused_imports)]
                use super::*;

                async fn run($t: $crate::TestDb) $body

                #[$crate::tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    run($crate::TestDb::sqlite().await).await
                }

                #[$crate::tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    run($crate::TestDb::postgres().await).await
                }
            }
        )*
    };
}

#[cfg(test)]
mod tests {
    use super::db_url;

    #[test]
    fn db_url_swaps_only_the_database_name() {
        assert_eq!(
            db_url("postgres://postgres@127.0.0.1:5433/postgres", "t_1"),
            "postgres://postgres@127.0.0.1:5433/t_1"
        );
        assert_eq!(db_url("postgres://u:p@h:1/postgres?sslmode=disable", "x"), "postgres://u:p@h:1/x?sslmode=disable");
    }
}
