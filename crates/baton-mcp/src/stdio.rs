//! MCP over stdio for one local agent (`baton mcp`): the caller is fixed for
//! the life of the process, and serving ends on stdin EOF, transport close,
//! or the given shutdown signal (SIGTERM/SIGINT in the binary).

use std::{future::Future, sync::Arc};

use baton_app::{Actor, App};
use rmcp::ServiceExt;

use crate::{BatonMcp, Profile};

/// Serves MCP on this process's stdin/stdout until the client closes the
/// stream or `shutdown` resolves.
pub async fn serve(
    app: Arc<App>,
    actor: Actor,
    profile: Profile,
    shutdown: impl Future<Output = ()>,
) -> Result<(), String> {
    serve_on(app, actor, profile, rmcp::transport::stdio(), shutdown).await
}

/// Serves MCP on any async reader/writer pair (tests use an in-memory pipe).
pub async fn serve_on<R, W>(
    app: Arc<App>,
    actor: Actor,
    profile: Profile,
    io: (R, W),
    shutdown: impl Future<Output = ()>,
) -> Result<(), String>
where
    R: tokio::io::AsyncRead + Send + Unpin + 'static,
    W: tokio::io::AsyncWrite + Send + Unpin + 'static,
{
    let server = BatonMcp::stdio(app, profile, actor);
    let running = server.serve(io).await.map_err(|e| format!("MCP handshake failed: {e}"))?;
    let cancel = running.cancellation_token();
    tokio::select! {
        r = running.waiting() => {
            r.map_err(|e| format!("MCP server stopped: {e}"))?;
        }
        _ = shutdown => {
            tracing::info!("shutting down the MCP server");
            cancel.cancel();
        }
    }
    Ok(())
}
