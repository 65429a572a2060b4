//! MCP over stdio for one local agent (`baton mcp`): the caller is fixed for
//! the life of the process, and serving ends on stdin EOF, transport close,
//! or the given shutdown signal (SIGTERM/SIGINT in the binary).
//!
//! The process registers its worker presence **before** it starts serving
//! (so the UI shows the agent as soon as it can be called) and takes it
//! offline when it stops.

use std::{future::Future, sync::Arc};

use baton_app::{Actor, App, workers::WorkerInfo};
use rmcp::ServiceExt;

use crate::{BatonMcp, Profile};

/// Serves MCP on this process's stdin/stdout until the client closes the
/// stream or `shutdown` resolves.
pub async fn serve(
    app: Arc<App>,
    actor: Actor,
    profile: Profile,
    worker: WorkerInfo,
    shutdown: impl Future<Output = ()>,
) -> Result<(), String> {
    serve_on(app, actor, profile, worker, rmcp::transport::stdio(), shutdown).await
}

/// Serves MCP on any async reader/writer pair (tests use an in-memory pipe).
pub async fn serve_on<R, W>(
    app: Arc<App>,
    actor: Actor,
    profile: Profile,
    worker: WorkerInfo,
    io: (R, W),
    shutdown: impl Future<Output = ()>,
) -> Result<(), String>
where
    R: tokio::io::AsyncRead + Send + Unpin + 'static,
    W: tokio::io::AsyncWrite + Send + Unpin + 'static,
{
    // Presence first: demo accounts (read-only) and session callers are not workers.
    let registered = if actor.is_demo {
        false
    } else {
        match app.register_worker(&actor, worker.clone()).await {
            Ok(_) => true,
            Err(e) => return Err(format!("cannot register the worker: {e}")),
        }
    };
    // The signal also ends a handshake that never comes.
    let result = tokio::select! {
        r = run(app.clone(), actor.clone(), profile, worker.clone(), io) => r,
        _ = shutdown => {
            tracing::info!("shutting down the MCP server");
            Ok(())
        }
    };
    if registered && let Err(e) = app.worker_offline(&actor, &worker.instance_id).await {
        tracing::warn!(error = %e, "could not take the worker offline");
    }
    result
}

async fn run<R, W>(app: Arc<App>, actor: Actor, profile: Profile, worker: WorkerInfo, io: (R, W)) -> Result<(), String>
where
    R: tokio::io::AsyncRead + Send + Unpin + 'static,
    W: tokio::io::AsyncWrite + Send + Unpin + 'static,
{
    let server = BatonMcp::stdio(app, profile, actor, worker);
    let running = server.serve(io).await.map_err(|e| format!("MCP handshake failed: {e}"))?;
    // Dropping the running service (on shutdown) cancels it.
    running.waiting().await.map_err(|e| format!("MCP server stopped: {e}"))?;
    Ok(())
}
