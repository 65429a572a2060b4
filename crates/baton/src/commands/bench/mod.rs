//! `baton bench [board|queue]`: measures Baton's hot paths through the real
//! services, each beside a baseline measured in the same run on the same
//! database, so the ratio means something on a noisy machine.
//!
//! * [`board`] (the default): the sprint board read and task status updates
//!   with propagation on a big seeded product.
//! * [`board_page`] (part of `board`): the board page rendered through the
//!   real router with a session cookie, beside the service read; and the
//!   compressed JS + CSS the page loads.
//! * [`queue`]: the job queue — enqueue → a waiting agent holds the job, and
//!   claim → complete throughput of concurrent workers beside a tpcb-like
//!   baseline (`pgbench` on Postgres).
//!
//! Every database given (`--database-url`, else a temporary SQLite file,
//! plus each `--also`) is measured in turn and reported together. Seeded
//! rows and temporary files are removed afterwards unless `--keep` is given.

mod board;
mod board_page;
mod queue;
mod stats;

use std::path::PathBuf;

use baton_store::new_id;

use crate::cli::{BenchArgs, BenchWhat, DbArgs};

/// Runs the chosen benchmark and prints its report on stdout.
pub async fn run(db: &DbArgs, args: BenchArgs) -> anyhow::Result<()> {
    match args.what {
        BenchWhat::Board => board::run(db, args).await,
        BenchWhat::Queue => queue::run(db, args).await,
    }
}

/// One database to measure. A temporary SQLite file made for the run is
/// deleted (with its WAL files) when this is dropped, unless kept.
pub(crate) struct Target {
    /// Its URL.
    pub url: String,
    /// The temporary file, when the bench created the database.
    pub temp: Option<PathBuf>,
    /// Keep the temporary file (`--keep`).
    pub keep: bool,
}

impl Target {
    /// What to call the database in reports: the temporary file's path, or
    /// the URL without its password.
    pub fn label(&self) -> String {
        match &self.temp {
            Some(p) => format!("temporary {}", p.display()),
            None => baton_store::db::redact_url(&self.url),
        }
    }
}

impl Drop for Target {
    fn drop(&mut self) {
        if let Some(path) = &self.temp {
            if self.keep {
                eprintln!("kept the SQLite database {}", path.display());
            } else {
                remove_sqlite_files(path);
            }
        }
    }
}

/// The databases of this run: `--database-url` (else a new temporary SQLite
/// file, never the user's data directory) and then each `--also`.
pub(crate) fn targets(db: &DbArgs, args: &BenchArgs) -> Vec<Target> {
    let mut out = Vec::new();
    match &db.database_url {
        Some(url) => out.push(Target { url: url.clone(), temp: None, keep: args.keep }),
        None => {
            let path = temp_sqlite_path("baton-bench");
            out.push(Target { url: sqlite_url(&path), temp: Some(path), keep: args.keep });
        }
    }
    out.extend(args.also.iter().map(|u| Target { url: u.clone(), temp: None, keep: args.keep }));
    out
}

/// A fresh file name in the temp directory.
pub(crate) fn temp_sqlite_path(prefix: &str) -> PathBuf {
    std::env::temp_dir().join(format!("{prefix}-{}.db", new_id()))
}

/// The URL that creates and opens the SQLite file at `path`.
pub(crate) fn sqlite_url(path: &std::path::Path) -> String {
    format!("sqlite://{}?mode=rwc", path.display())
}

/// Deletes a SQLite database file and its WAL and shared-memory files.
pub(crate) fn remove_sqlite_files(path: &std::path::Path) {
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let mut p = path.to_path_buf().into_os_string();
        p.push(suffix);
        let _ = std::fs::remove_file(p);
    }
}
