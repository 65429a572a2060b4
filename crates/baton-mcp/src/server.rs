//! The MCP `ServerHandler`: which tools are offered (profile × transport),
//! who is calling (the Bearer token's actor over HTTP, the process's token
//! over stdio), the demo read-only guard, and dispatch to the services.

use std::{str::FromStr, sync::Arc};

use baton_app::{Actor, App, AppError, workers::WorkerInfo};
use rmcp::{
    ErrorData, RoleServer, ServerHandler,
    model::{
        CallToolRequestParams, CallToolResponse, Implementation, ListToolsResult, PaginatedRequestParams,
        ServerCapabilities, ServerConfig, Tool,
    },
    service::RequestContext,
};
use serde_json::Value;

use crate::{results, tools};

/// Tools that wait for something (a job, an answer) and stop waiting when
/// their caller goes away.
const LONG_POLLS: [&str; 2] = ["wait_for_job", "ask_user_question"];

/// Which tools `tools/list` offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Profile {
    /// The agent loop essentials (a small context for the agent).
    #[default]
    Core,
    /// Every tool, including backlog authoring.
    All,
}

impl FromStr for Profile {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "" | "core" => Ok(Profile::Core),
            "all" => Ok(Profile::All),
            other => Err(format!("unknown MCP tool profile {other:?}: use core or all")),
        }
    }
}

/// How the server is reached (a few tools differ: only stdio has a worktree).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// Streamable HTTP at `/mcp`.
    Http,
    /// `baton mcp` over stdin/stdout.
    Stdio,
}

#[derive(Clone)]
enum Identity {
    /// Over HTTP: the actor the auth layer put into the request's extensions.
    PerRequest,
    /// Over stdio: the process's token, resolved once at start.
    Fixed(Arc<Actor>),
}

/// The tools `tools/list` offers for a profile on a transport, in catalog
/// order (what a server answers, without needing one).
pub fn tool_list(profile: Profile, transport: Transport) -> Vec<Tool> {
    tools::CATALOG.iter().filter(|s| s.offered(profile, transport)).map(|s| s.tool()).collect()
}

/// The Baton MCP server.
#[derive(Clone)]
pub struct BatonMcp {
    app: Arc<App>,
    profile: Profile,
    transport: Transport,
    identity: Identity,
    worker: Option<Arc<WorkerInfo>>,
}

impl BatonMcp {
    /// A server for HTTP requests; each request's actor comes from the auth
    /// layer of [`crate::http`].
    pub fn http(app: Arc<App>, profile: Profile) -> Self {
        BatonMcp { app, profile, transport: Transport::Http, identity: Identity::PerRequest, worker: None }
    }

    /// A server for one stdio caller, which is the worker `worker` (its
    /// identity is the default of the queue tools).
    pub fn stdio(app: Arc<App>, profile: Profile, actor: Actor, worker: WorkerInfo) -> Self {
        BatonMcp {
            app,
            profile,
            transport: Transport::Stdio,
            identity: Identity::Fixed(Arc::new(actor)),
            worker: Some(Arc::new(worker)),
        }
    }

    /// The tools offered, in catalog order.
    pub fn tools(&self) -> Vec<Tool> {
        tool_list(self.profile, self.transport)
    }

    fn actor(&self, ctx: &RequestContext<RoleServer>) -> Option<Arc<Actor>> {
        match &self.identity {
            Identity::Fixed(a) => Some(a.clone()),
            Identity::PerRequest => ctx
                .extensions
                .get::<axum::http::request::Parts>()
                .and_then(|p| p.extensions.get::<Arc<Actor>>())
                .cloned(),
        }
    }

    /// Calls a tool by name for an actor and applies the result conventions
    /// (public for tests and for other front ends).
    pub async fn call(&self, actor: &Actor, name: &str, args: Value) -> Option<rmcp::model::CallToolResult> {
        let spec = tools::find(name, self.profile, self.transport)?;
        if spec.writes && actor.is_demo {
            return Some(results::tool_error(&AppError::DemoReadOnly));
        }
        // Text Postgres cannot store (and SQLite would keep silently) is
        // refused here, once for every tool and field, before any parsing.
        if let Some(path) = baton_domain::validation::find_nul(&args) {
            return Some(results::tool_error(&AppError::field(&path, baton_domain::validation::NUL_MESSAGE)));
        }
        let started = std::time::Instant::now();
        let cx = tools::Cx { app: &self.app, actor, transport: self.transport, worker: self.worker.as_deref() };
        // On the heap: the dispatch future is as large as the largest tool's,
        // and debug builds copy it through the stack (a test overflowed its
        // 2 MB thread stack once the catalog grew).
        let r = Box::pin(tools::run(&cx, name, args)).await;
        tracing::info!(tool = name, user = %actor.username, ok = r.is_ok(), micros = started.elapsed().as_micros() as u64, "mcp tool call");
        Some(results::outcome(r))
    }
}

impl ServerHandler for BatonMcp {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new("baton", env!("CARGO_PKG_VERSION")))
            .with_instructions(
                "Baton: the team's backlog and agent job queue. Start with `list_products` and `get_context`; \
                 report progress with `update_task_status` and the `log_*` tools.",
            )
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        Ok(ListToolsResult::with_all_items(self.tools()))
    }

    fn get_tool(&self, name: &str) -> Option<Tool> {
        tools::find(name, self.profile, self.transport).map(|s| s.tool())
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let Some(actor) = self.actor(&context) else {
            return Ok(results::tool_error(&AppError::Unauthorized("no authenticated caller".into())).into());
        };
        let args = request.arguments.map(Value::Object).unwrap_or(Value::Null);
        let call = self.call(&actor, &request.name, args);
        let outcome = if LONG_POLLS.contains(&request.name.as_ref()) {
            // rmcp does not stop a handler whose client went away (an HTTP
            // disconnect, or `notifications/cancelled` over stdio); it only
            // cancels the request's token. A long poll left running would
            // still claim a job, or wait on, for a caller that is gone: the
            // job would then sit claimed until its lease lapsed.
            tokio::select! {
                r = call => r,
                () = context.ct.cancelled() => {
                    return Err(ErrorData::internal_error("the request was cancelled: the client went away", None));
                }
            }
        } else {
            // Other calls are short and may be writes: they run to their
            // commit (or rollback) even if nobody reads the answer.
            call.await
        };
        match outcome {
            Some(r) => Ok(r.into()),
            None => Err(ErrorData::invalid_params(
                format!("unknown tool {:?}: see tools/list (BATON_MCP_TOOLS=all offers every tool)", request.name),
                None,
            )),
        }
    }
}
