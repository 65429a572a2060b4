//! `baton mcp`: MCP over stdio for one local agent. The caller is the owner
//! of the API token in `BATON_TOKEN` (a missing, unknown, revoked or expired
//! token is fatal); the database is the one the other subcommands use.
//! Serving stops on stdin EOF, transport close, SIGTERM or SIGINT. Logs go
//! to stderr only: stdout carries the protocol.

use std::sync::Arc;

use anyhow::{Context, bail};
use baton_app::{App, AppConfig};
use baton_mcp::Profile;
use baton_store::events::EventBus;

use crate::cli::{DbArgs, LogFormat, McpArgs};

/// Runs the stdio server.
pub async fn run(db_args: &DbArgs, args: McpArgs, log_format: LogFormat) -> anyhow::Result<()> {
    super::serve::init_logging(log_format);
    let profile: Profile = args.tools.parse().map_err(|e: String| anyhow::anyhow!(e))?;
    let token = std::env::var("BATON_TOKEN").unwrap_or_default();
    if token.trim().is_empty() {
        bail!("BATON_TOKEN is not set: create a token with `baton token create` or in the web UI");
    }
    let url = crate::config::database_url(db_args)?;
    let db = crate::config::open(db_args).await?;
    let bus = EventBus::for_db(&db, &url).await.context("cannot start the event bus")?;
    let app = Arc::new(App::new(db, bus, AppConfig::default()));
    let actor = app.token_actor(token.trim()).await.map_err(|e| anyhow::anyhow!("BATON_TOKEN refused: {e}"))?;
    // TODO(workers): register this process's worker presence here, before
    // serving, once the workers service exists (reference §1.2, §8).
    tracing::info!(user = %actor.username, ?profile, "serving MCP on stdio");
    baton_mcp::stdio::serve(app, actor, profile, super::serve::shutdown_signal()).await.map_err(|e| anyhow::anyhow!(e))
}
