//! Turning command-line options into a database URL and a ready database.

use std::path::Path;

use anyhow::{Context, bail};
use baton_store::{Db, db::redact_url};

use crate::cli::DbArgs;

/// The database URL the options name: `--database-url`, else an SQLite file
/// in the data directory (created, and checked to be writable).
pub fn database_url(args: &DbArgs) -> anyhow::Result<String> {
    if let Some(url) = &args.database_url {
        baton_store::db::check_url(url).map_err(|e| anyhow::anyhow!("{e}"))?;
        return Ok(url.clone());
    }
    prepare_data_dir(&args.data_dir)?;
    Ok(format!("sqlite://{}?mode=rwc", args.data_dir.join("baton.db").display()))
}

fn prepare_data_dir(dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create data directory {}", dir.display()))?;
    let probe = dir.join(".baton-write-test");
    if let Err(e) = std::fs::write(&probe, b"ok") {
        bail!("data directory {} is not writable: {e}", dir.display());
    }
    let _ = std::fs::remove_file(probe);
    Ok(())
}

/// Connects and migrates, with one clear error line when that fails.
pub async fn open(args: &DbArgs) -> anyhow::Result<Db> {
    let url = database_url(args)?;
    let db =
        baton_store::connect(&url).await.with_context(|| format!("cannot open the database {}", redact_url(&url)))?;
    baton_store::db::migrate(&db).await.with_context(|| format!("cannot migrate the database {}", redact_url(&url)))?;
    Ok(db)
}
