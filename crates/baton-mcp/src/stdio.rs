//! MCP over stdio for one local agent (`baton mcp`): the caller is fixed for
//! the life of the process, and serving ends on stdin EOF, transport close,
//! or the given shutdown signal (SIGTERM/SIGINT in the binary).
//!
//! The process registers its worker presence **before** it starts serving
//! (so the UI shows the agent as soon as it can be called), refreshes it
//! every [`PRESENCE_INTERVAL`] while it serves, and takes it offline when it
//! stops.
//!
//! Only here is the agent's worktree on this machine, so over stdio
//! `update_job_status done` with `worktree_path` pushes the branch
//! (reference §3.5) through [`crate::push`].

use std::{future::Future, sync::Arc, time::Duration};

use baton_app::{
    Actor, App, AppError, AppResult,
    workers::{Quota, WorkerInfo},
};
use rmcp::{ServiceExt, model::Tool};
use serde_json::Value;

use crate::{BatonMcp, Profile, Transport};

/// How often a serving process refreshes its worker presence ("active"
/// means seen within 30 s, reference §8).
pub const PRESENCE_INTERVAL: Duration = Duration::from_secs(10);

/// The tool `name` as the stdio transport offers it (its schema can differ
/// from the HTTP one, e.g. `worktree_path`), for a front end that forwards
/// to a remote server but keeps the worktree tools local.
pub fn stdio_tool(name: &str, profile: Profile) -> Option<Tool> {
    crate::tools::find(name, profile, Transport::Stdio).map(|s| s.tool())
}

/// Parses tool arguments exactly as the tools do (unknown fields refused,
/// every problem a validation error naming its field).
pub fn parse_args<T: serde::de::DeserializeOwned>(args: Value) -> AppResult<T> {
    crate::tools::parse(args)
}

/// Splits `worktree_path` off `update_job_status` arguments (the rest is
/// parsed as on HTTP, unknown fields still refused).
pub fn take_worktree(args: Value) -> AppResult<(Option<String>, Value)> {
    let Value::Object(mut m) = args else { return Ok((None, args)) };
    let wt = match m.remove("worktree_path") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if !s.trim().is_empty() => Some(s),
        Some(_) => return Err(AppError::field("worktree_path", "must be an absolute path to an existing directory")),
    };
    Ok((wt, Value::Object(m)))
}

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
    // Presence stays fresh while serving; aborted (not awaited) at the end.
    let presence = registered.then(|| {
        let (app, actor, worker) = (app.clone(), actor.clone(), worker.clone());
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(PRESENCE_INTERVAL);
            tick.tick().await;
            loop {
                tick.tick().await;
                if let Err(e) = app.worker_heartbeat(&actor, worker.clone(), Quota::default()).await {
                    tracing::warn!(error = %e, "worker presence heartbeat failed");
                }
            }
        })
    });
    // The signal also ends a handshake that never comes.
    let result = tokio::select! {
        r = run(app.clone(), actor.clone(), profile, worker.clone(), io) => r,
        _ = shutdown => {
            tracing::info!("shutting down the MCP server");
            Ok(())
        }
    };
    if let Some(p) = presence {
        p.abort();
    }
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

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn the_stdio_report_and_verify_schemas_take_a_worktree() {
        for name in ["update_job_status", "verify_task_against_plan"] {
            let tool = stdio_tool(name, Profile::Core).expect("offered over stdio");
            let props = tool.input_schema.get("properties").and_then(Value::as_object).expect("properties");
            assert!(props.contains_key("worktree_path"), "{name}: {props:?}");
        }
        let report = stdio_tool("update_job_status", Profile::Core).expect("tool");
        let props = report.input_schema.get("properties").and_then(Value::as_object).expect("properties");
        assert!(props.contains_key("job_id") && props.contains_key("status") && props.contains_key("branch"));
    }

    #[test]
    fn the_worktree_is_taken_out_and_a_wrong_type_names_the_field() {
        let (wt, rest) = take_worktree(json!({"job_id": "j", "status": "done", "worktree_path": "/w"})).expect("ok");
        assert_eq!(wt.as_deref(), Some("/w"));
        assert_eq!(rest, json!({"job_id": "j", "status": "done"}));
        let (wt, _) = take_worktree(json!({"job_id": "j", "worktree_path": null})).expect("ok");
        assert!(wt.is_none());
        let e = take_worktree(json!({"worktree_path": 3})).expect_err("refused");
        assert!(format!("{e:?}").contains("worktree_path"), "{e:?}");
    }
}
