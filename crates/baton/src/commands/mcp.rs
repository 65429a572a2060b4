//! `baton mcp`: MCP over stdio for one local agent. The caller is the owner
//! of the API token in `BATON_TOKEN` (a missing, unknown, revoked or expired
//! token is fatal); the database is the one the other subcommands use.
//! Serving stops on stdin EOF, transport close, SIGTERM or SIGINT. Logs go
//! to stderr only: stdout carries the protocol.
//!
//! With `BATON_URL` (`--url`) no database is opened: the conversation is
//! forwarded to that server's `/mcp` ([`forward`]), while the tools that
//! need the agent's worktree run their git part here.

pub(crate) mod forward;

use std::sync::Arc;

use anyhow::{Context, bail};
use baton_app::{App, AppConfig, workers::WorkerInfo};
use baton_domain::agents::{AgentRuntime, WorkerTier};
use baton_mcp::Profile;
use baton_store::events::EventBus;

use crate::cli::{DbArgs, LogFormat, McpArgs};

/// Runs the stdio server.
pub async fn run(db_args: &DbArgs, config: AppConfig, args: McpArgs, log_format: LogFormat) -> anyhow::Result<()> {
    super::serve::init_logging(log_format);
    // Take over SIGTERM/SIGINT before anything else, so a signal during
    // start-up or the handshake still ends the process cleanly.
    let shutdown = shutdown_signal()?;
    let profile: Profile = args.tools.parse().map_err(|e: String| anyhow::anyhow!(e))?;
    let token = std::env::var("BATON_TOKEN").unwrap_or_default();
    if token.trim().is_empty() {
        bail!("BATON_TOKEN is not set: create a token with `baton token create` or in the web UI");
    }
    let worker = worker_info(&args)?;
    if let Some(remote) = args.url.as_deref().map(str::trim).filter(|u| !u.is_empty()) {
        forward::run(remote, token.trim(), profile, worker, shutdown).await?;
        // As below: do not wait for the blocking stdin reader.
        std::process::exit(0);
    }
    let url = crate::config::database_url(db_args)?;
    let db = crate::config::open(db_args).await?;
    let bus = EventBus::for_db(&db, &url).await.context("cannot start the event bus")?;
    let app = Arc::new(App::new(db, bus, config));
    let actor = app.token_actor(token.trim()).await.map_err(|e| anyhow::anyhow!("BATON_TOKEN refused: {e}"))?;
    tracing::info!(user = %actor.username, ?profile, instance = %worker.instance_id, "serving MCP on stdio");
    let result = baton_mcp::stdio::serve(app, actor, profile, worker, shutdown).await;
    // Stdin is read on a blocking thread that a signal cannot interrupt, and
    // the runtime would wait for it on exit: leave now that the worker is
    // offline and every change is committed.
    match result {
        Ok(()) => std::process::exit(0),
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1)
        }
    }
}

fn hostname() -> String {
    std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/proc/sys/kernel/hostname").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".into())
}

/// This process as a worker (registered before serving).
fn worker_info(args: &McpArgs) -> anyhow::Result<WorkerInfo> {
    worker_identity("mcp", args.instance_id.as_deref(), &args.runtime, &args.tier, &args.capabilities)
}

/// A worker identity for this process: the instance id given, else
/// `<prefix>-<hostname>-<pid>`; an unknown runtime or tier is an error
/// (never silently `claude`, reference §8). Shared with `baton worker`.
pub(crate) fn worker_identity(
    prefix: &str,
    instance_id: Option<&str>,
    runtime: &str,
    tier: &str,
    capabilities: &[String],
) -> anyhow::Result<WorkerInfo> {
    let host = hostname();
    let pid = std::process::id();
    let runtime = AgentRuntime::parse_api(runtime)
        .ok_or_else(|| anyhow::anyhow!("unknown runtime {runtime:?}: use {}", AgentRuntime::api_values()))?;
    let tier = WorkerTier::parse_api(tier)
        .ok_or_else(|| anyhow::anyhow!("unknown tier {tier:?}: use {}", WorkerTier::api_values()))?;
    let id = instance_id.map(str::trim).filter(|i| !i.is_empty());
    let mut w = WorkerInfo::new(id.map_or_else(|| format!("{prefix}-{host}-{pid}"), str::to_string));
    w.runtime = runtime;
    w.tier = tier;
    w.capabilities = capabilities.iter().map(|c| c.trim().to_string()).filter(|c| !c.is_empty()).collect();
    w.hostname = Some(host);
    w.pid = i32::try_from(pid).ok();
    Ok(w)
}

/// A future that resolves on SIGTERM or SIGINT; the handlers are installed
/// when this is called, not when it is first polled.
pub(crate) fn shutdown_signal() -> anyhow::Result<impl std::future::Future<Output = ()>> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate()).context("cannot handle SIGTERM")?;
        let mut int = signal(SignalKind::interrupt()).context("cannot handle SIGINT")?;
        Ok(async move {
            tokio::select! { _ = term.recv() => {}, _ = int.recv() => {} }
        })
    }
    #[cfg(not(unix))]
    {
        Ok(async {
            let _ = tokio::signal::ctrl_c().await;
        })
    }
}
