//! `baton mcp` with `BATON_URL`: an MCP stdio server on the agent's machine
//! that forwards the conversation to a remote Baton's Streamable HTTP
//! endpoint (`<BATON_URL>/mcp`, `Authorization: Bearer $BATON_TOKEN`), so an
//! agent on a laptop works on a team's server without a database here.
//!
//! - Start: the token is checked (`GET /api/me`; refused or unreachable is
//!   fatal), then this process registers as a worker (`POST /api/workers`)
//!   **before** it reads stdin, refreshes that presence every 10 s, and goes
//!   offline (`DELETE /api/workers/{instance_id}`) when it stops.
//! - Every request from the client is handled on its own task, so a long
//!   `wait_for_job` never holds up a `ping` or another call; JSON-RPC ids
//!   are passed through unchanged, notifications are forwarded.
//! - The worker identity of this process (instance id, runtime, tier,
//!   capabilities, host, pid) is added to `wait_for_job` and
//!   `worker_heartbeat` calls that do not name one, so the server sees the
//!   same worker it registered.
//! - Tools that need the worktree run their local part here:
//!   `verify_task_against_plan {task_id, worktree_path, base?}` diffs the
//!   worktree and sends `{task_id, diff}`; `update_job_status done` with
//!   `worktree_path` runs the one "check, push, then report" flow of
//!   [`baton_mcp::push`] with the server as its [`JobReporter`] (the check
//!   is `check_only`). `tools/list` shows the stdio schemas.
//! - Stdin EOF, SIGTERM or SIGINT end it: pending long polls are dropped
//!   (the server sees the connection close), other calls get a few seconds
//!   to finish, the worker goes offline, and the process exits.

use std::{
    collections::HashMap,
    future::Future,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use anyhow::{Context, bail};
use baton_app::{AppResult, workers::WorkerInfo};
use baton_mcp::{
    Profile, git,
    push::{DoneReport, JobReporter, PushPlan, push_then_report},
    results,
    stdio::{PRESENCE_INTERVAL, parse_args, stdio_tool, take_worktree},
    worktrees::{CleanupArgs, JobLookup, cleanup_result, cleanup_worktrees},
};
use reqwest::{StatusCode, header};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use tokio::{
    io::{AsyncBufReadExt, AsyncWriteExt, BufReader},
    sync::mpsc,
    task::JoinSet,
};

/// The local tool removing finished worktrees of `baton worker`.
const CLEANUP_TOOL: &str = "cleanup_my_worktrees";
/// Tools whose stdio form differs from the HTTP one (they take a worktree).
const LOCAL_TOOLS: [&str; 2] = ["verify_task_against_plan", "update_job_status"];
/// How long calls other than long polls may finish after stdin closes.
const DRAIN: Duration = Duration::from_secs(10);
/// JSON-RPC "internal error".
const INTERNAL: i64 = -32603;
/// Longest a forwarded request may take: the longest `wait_for_job` (600 s)
/// plus room for the answer; a hung server cannot hold a call forever.
const CALL_TIMEOUT: Duration = Duration::from_secs(660);

/// The remote server (also the client of `baton worker`).
pub struct Remote {
    http: reqwest::Client,
    base: String,
    token: String,
    /// The protocol version the server chose at `initialize`, sent as
    /// `MCP-Protocol-Version` on later requests.
    protocol: Mutex<Option<String>>,
    next_id: AtomicU64,
}

/// A failure talking to the remote server, as a JSON-RPC error.
#[derive(Debug)]
pub(crate) struct RpcError {
    pub(crate) code: i64,
    pub(crate) message: String,
}

impl RpcError {
    fn internal(message: impl Into<String>) -> RpcError {
        RpcError { code: INTERNAL, message: message.into() }
    }
}

/// The first line of a REST error body (`{"error": {"message": …}}`), or the text.
pub(crate) fn rest_message(body: &str) -> String {
    let v: Value = serde_json::from_str(body).unwrap_or(Value::Null);
    let msg = v["error"]["message"].as_str().or(v["error"].as_str()).map(str::to_string);
    let msg = msg.unwrap_or_else(|| body.trim().to_string());
    msg.lines().next().unwrap_or_default().chars().take(300).collect()
}

impl Remote {
    /// A client for `url` (scheme and host, optionally a path prefix).
    pub fn new(url: &str, token: &str) -> anyhow::Result<Remote> {
        let base = url.trim().trim_end_matches('/').to_string();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            bail!("BATON_URL must start with http:// or https:// (got {base:?})");
        }
        // reqwest is built without a bundled crypto provider: use ring (already
        // used by the database drivers) instead of building aws-lc.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .user_agent(concat!("baton-mcp/", env!("CARGO_PKG_VERSION")))
            .build()
            .context("cannot set up the HTTP client")?;
        Ok(Remote { http, base, token: token.to_string(), protocol: Mutex::new(None), next_id: AtomicU64::new(1) })
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// One REST call with the token; the status and the body text.
    pub(crate) async fn rest(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> anyhow::Result<(StatusCode, String)> {
        let mut req =
            self.http.request(method, self.url(path)).bearer_auth(&self.token).timeout(Duration::from_secs(30));
        if let Some(b) = body {
            req = req.header(header::CONTENT_TYPE, "application/json").body(b.to_string());
        }
        let res =
            req.send().await.map_err(|e| anyhow::anyhow!("cannot reach Baton at {}: {}", self.base, plain(&e)))?;
        let status = res.status();
        let text = res.text().await.unwrap_or_default();
        Ok((status, text))
    }

    /// Checks the token (`GET /api/me`); returns the user.
    pub async fn whoami(&self) -> anyhow::Result<Value> {
        let (status, body) = self.rest(reqwest::Method::GET, "/api/me", None).await?;
        match status {
            StatusCode::OK => {
                serde_json::from_str(&body).context("the server's /api/me is not JSON: is BATON_URL a Baton server?")
            }
            StatusCode::UNAUTHORIZED => bail!("BATON_TOKEN refused by {}: {}", self.base, rest_message(&body)),
            s => bail!("{}/api/me answered {s}: {}", self.base, rest_message(&body)),
        }
    }

    /// Registers this process as a worker of the token.
    pub async fn register(&self, w: &WorkerInfo) -> anyhow::Result<()> {
        let (status, body) = self.rest(reqwest::Method::POST, "/api/workers", Some(&worker_json(w))).await?;
        if !status.is_success() {
            bail!("cannot register the worker on {}: {status}: {}", self.base, rest_message(&body));
        }
        Ok(())
    }

    /// Takes this process's worker offline.
    pub async fn offline(&self, instance_id: &str) {
        let path = format!("/api/workers/{}", encode_segment(instance_id));
        match self.rest(reqwest::Method::DELETE, &path, None).await {
            Ok((s, _)) if s.is_success() || s == StatusCode::NOT_FOUND => {}
            Ok((s, body)) => {
                tracing::warn!(status = %s, error = %rest_message(&body), "could not take the worker offline")
            }
            Err(e) => tracing::warn!(error = %e, "could not take the worker offline"),
        }
    }

    /// Hands a claimed or running job of the caller back to the queue now
    /// (`POST /api/jobs/{id}/requeue`), so it need not wait for its lease to
    /// lapse; whether the server took it back.
    pub(crate) async fn requeue(&self, id: &str) -> bool {
        let path = format!("/api/jobs/{}/requeue", encode_segment(id));
        match self.rest(reqwest::Method::POST, &path, None).await {
            Ok((s, _)) if s.is_success() => true,
            Ok((s, body)) => {
                tracing::warn!(job = %id, status = %s, error = %rest_message(&body), "requeue refused");
                false
            }
            Err(e) => {
                tracing::warn!(job = %id, error = %e, "requeue not delivered");
                false
            }
        }
    }

    /// A job of the caller, if `id` is one (for its base commit).
    pub(crate) async fn job(&self, id: &str) -> Option<Value> {
        let path = format!("/api/jobs/{}", encode_segment(id));
        match self.rest(reqwest::Method::GET, &path, None).await {
            Ok((StatusCode::OK, body)) => serde_json::from_str(&body).ok(),
            _ => None,
        }
    }

    /// Posts one JSON-RPC message to `/mcp`. Returns the messages the server
    /// sent back (none for a notification).
    async fn post(&self, msg: &Value) -> Result<Vec<Value>, RpcError> {
        let mut req = self
            .http
            .post(self.url("/mcp"))
            .timeout(CALL_TIMEOUT)
            .bearer_auth(&self.token)
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::ACCEPT, "application/json, text/event-stream")
            .body(msg.to_string());
        let version = self.protocol.lock().ok().and_then(|p| p.clone());
        if let Some(v) = version
            && msg["method"] != "initialize"
        {
            req = req.header("MCP-Protocol-Version", v);
        }
        let res = req
            .send()
            .await
            .map_err(|e| RpcError::internal(format!("cannot reach Baton at {}: {}", self.base, plain(&e))))?;
        let status = res.status();
        let is_sse = res
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("text/event-stream"));
        let body = res
            .text()
            .await
            .map_err(|e| RpcError::internal(format!("reading the answer of {}: {}", self.base, plain(&e))))?;
        if status == StatusCode::ACCEPTED || (status.is_success() && body.trim().is_empty()) {
            return Ok(Vec::new());
        }
        let messages: Vec<Value> = if is_sse {
            sse_data(&body).filter_map(|d| serde_json::from_str(&d).ok()).collect()
        } else {
            match serde_json::from_str::<Value>(&body) {
                Ok(Value::Array(a)) => a,
                Ok(v) => vec![v],
                Err(_) => Vec::new(),
            }
        };
        if status.is_success() {
            return Ok(messages);
        }
        // The server's own JSON-RPC error (401 → -32001 "Missing Bearer token", …).
        if let Some(err) = messages.iter().find_map(|m| m.get("error")) {
            return Err(RpcError {
                code: err["code"].as_i64().unwrap_or(INTERNAL),
                message: err["message"].as_str().unwrap_or("error").to_string(),
            });
        }
        let code = if status == StatusCode::UNAUTHORIZED { baton_mcp::http::UNAUTHORIZED_CODE } else { INTERNAL };
        Err(RpcError { code, message: format!("{}/mcp answered {status}: {}", self.base, rest_message(&body)) })
    }

    /// Sends a request and returns the response with the same id.
    async fn request(&self, msg: &Value) -> Result<Value, RpcError> {
        let id = &msg["id"];
        let messages = self.post(msg).await?;
        messages
            .into_iter()
            .find(|m| &m["id"] == id && (m.get("result").is_some() || m.get("error").is_some()))
            .ok_or_else(|| RpcError::internal(format!("{}/mcp sent no answer to request {id}", self.base)))
    }

    /// Calls a tool on the server for this process's own purposes; the
    /// result is the `CallToolResult` (which may be a tool error).
    pub(crate) async fn call_tool(&self, name: &str, arguments: Value) -> Result<Value, RpcError> {
        let n = self.next_id.fetch_add(1, Ordering::Relaxed);
        let msg = json!({"jsonrpc": "2.0", "id": format!("baton-mcp-{n}"), "method": "tools/call",
            "params": {"name": name, "arguments": arguments}});
        let res = self.request(&msg).await?;
        if let Some(err) = res.get("error") {
            return Err(RpcError {
                code: err["code"].as_i64().unwrap_or(INTERNAL),
                message: err["message"].as_str().unwrap_or("error").to_string(),
            });
        }
        Ok(res["result"].clone())
    }
}

/// reqwest's error with its causes on one line.
fn plain(e: &reqwest::Error) -> String {
    let mut s = e.to_string();
    let mut src = std::error::Error::source(e);
    while let Some(c) = src {
        s.push_str(": ");
        s.push_str(&c.to_string());
        src = c.source();
    }
    s
}

/// Percent-encodes one path segment.
pub(crate) fn encode_segment(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(b as char),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// The `data:` payloads of a Server-Sent Events body.
fn sse_data(body: &str) -> impl Iterator<Item = String> + '_ {
    body.split("\n\n").filter_map(|event| {
        let data: Vec<&str> =
            event.lines().filter_map(|l| l.strip_prefix("data:").map(|d| d.strip_prefix(' ').unwrap_or(d))).collect();
        (!data.is_empty()).then(|| data.join("\n"))
    })
}

fn worker_json(w: &WorkerInfo) -> Value {
    json!({
        "instance_id": w.instance_id,
        "runtime": w.runtime.as_api(),
        "tier": w.tier.as_api(),
        "capabilities": w.capabilities,
        "hostname": w.hostname,
        "pid": w.pid,
    })
}

/// Fills in this process's identity where a queue call names none.
pub(crate) fn inject_worker(args: &mut Map<String, Value>, w: &WorkerInfo, with_host: bool) {
    let mut set = |k: &str, v: Value| {
        if args.get(k).is_none_or(Value::is_null) {
            args.insert(k.into(), v);
        }
    };
    set("instance_id", json!(w.instance_id));
    set("runtime", json!(w.runtime.as_api()));
    set("tier", json!(w.tier.as_api()));
    set("capabilities", json!(w.capabilities));
    if with_host {
        if let Some(h) = &w.hostname {
            set("hostname", json!(h));
        }
        if let Some(p) = w.pid {
            set("pid", json!(p));
        }
    }
}

fn response(id: &Value, result: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "result": result})
}

fn error_response(id: &Value, e: RpcError) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "error": {"code": e.code, "message": e.message}})
}

/// A tool result (success or tool error) as JSON.
fn tool_result(r: AppResult<Value>) -> Value {
    serde_json::to_value(results::outcome(r)).unwrap_or_else(|_| json!({"content": [], "isError": true}))
}

/// Adds `key: value` to a successful tool result (structured content and text).
fn add_to_result(result: &mut Value, key: &str, value: Value) {
    if result["isError"] == json!(true) {
        return;
    }
    if let Some(sc) = result.get_mut("structuredContent").and_then(Value::as_object_mut) {
        sc.insert(key.into(), value);
        let text = serde_json::to_string_pretty(&Value::Object(sc.clone())).unwrap_or_default();
        if let Some(first) = result.get_mut("content").and_then(|c| c.get_mut(0)) {
            first["text"] = Value::String(text);
        }
    }
}

/// The arguments of the stdio `verify_task_against_plan`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct VerifyWorktree {
    task_id: String,
    worktree_path: String,
    #[serde(default)]
    base: Option<String>,
}

/// Shared state of one forwarding session.
struct Session {
    remote: Arc<Remote>,
    /// The token's user (whose worktrees `cleanup_my_worktrees` removes).
    user_id: String,
    worker: WorkerInfo,
    profile: Profile,
    out: mpsc::UnboundedSender<Value>,
}

impl Session {
    /// Answers one request from the client.
    async fn handle(&self, msg: Value) -> Value {
        let id = msg["id"].clone();
        let method = msg["method"].as_str().unwrap_or_default().to_string();
        match method.as_str() {
            "ping" => response(&id, json!({})),
            "initialize" => {
                let res = self.forward(&msg).await;
                if let Some(v) = res["result"]["protocolVersion"].as_str()
                    && let Ok(mut p) = self.remote.protocol.lock()
                {
                    *p = Some(v.to_string());
                }
                res
            }
            "tools/list" => {
                let mut res = self.forward(&msg).await;
                if let Some(tools) = res["result"]["tools"].as_array_mut() {
                    for t in tools.iter_mut() {
                        let name = t["name"].as_str().unwrap_or_default().to_string();
                        if LOCAL_TOOLS.contains(&name.as_str())
                            && let Some(local) = stdio_tool(&name, self.profile)
                            && let Ok(v) = serde_json::to_value(local)
                        {
                            *t = v;
                        }
                    }
                    // Local-only tools the server does not know.
                    if let Some(local) = stdio_tool(CLEANUP_TOOL, self.profile)
                        && let Ok(v) = serde_json::to_value(local)
                    {
                        tools.push(v);
                    }
                }
                res
            }
            "tools/call" => self.call(msg).await,
            _ => self.forward(&msg).await,
        }
    }

    /// Forwards a request as is; the server's answer keeps the client's id.
    async fn forward(&self, msg: &Value) -> Value {
        let id = msg["id"].clone();
        match self.remote.post(msg).await {
            Ok(messages) => {
                let mut answer = None;
                for m in messages {
                    if m["id"] == id && (m.get("result").is_some() || m.get("error").is_some()) {
                        answer = Some(m);
                    } else {
                        // Progress or log notifications on the way.
                        let _ = self.out.send(m);
                    }
                }
                answer.unwrap_or_else(|| error_response(&id, RpcError::internal("the server sent no answer")))
            }
            Err(e) => error_response(&id, e),
        }
    }

    async fn call(&self, mut msg: Value) -> Value {
        let id = msg["id"].clone();
        let name = msg["params"]["name"].as_str().unwrap_or_default().to_string();
        let args = msg["params"]["arguments"].take();
        let mut args = match args {
            Value::Object(m) => m,
            _ => Map::new(),
        };
        match name.as_str() {
            "wait_for_job" => inject_worker(&mut args, &self.worker, false),
            "worker_heartbeat" => inject_worker(&mut args, &self.worker, true),
            CLEANUP_TOOL if stdio_tool(CLEANUP_TOOL, self.profile).is_some() => {
                return response(&id, self.cleanup_local(Value::Object(args)).await);
            }
            "verify_task_against_plan" if args.contains_key("worktree_path") => {
                return match self.verify_local(Value::Object(args)).await {
                    Ok(result) => response(&id, result),
                    Err(e) => error_response(&id, e),
                };
            }
            "update_job_status" => {
                let (wt, rest) = match take_worktree(Value::Object(args)) {
                    Ok(x) => x,
                    Err(e) => return response(&id, tool_result(Err(e))),
                };
                let Value::Object(rest) = rest else { unreachable!("take_worktree keeps an object") };
                args = rest;
                if let Some(wt) = wt
                    && args.get("status").and_then(Value::as_str).map(str::trim) == Some("done")
                    && args.get("check_only") != Some(&json!(true))
                {
                    return self.done_with_push(&id, args, &wt).await;
                }
            }
            _ => {}
        }
        msg["params"]["arguments"] = Value::Object(args);
        self.forward(&msg).await
    }

    /// `verify_task_against_plan` with a worktree: the diff is made here,
    /// classified and recorded on the server.
    async fn verify_local(&self, args: Value) -> Result<Value, RpcError> {
        let a: VerifyWorktree = match parse_args(args) {
            Ok(a) => a,
            Err(e) => return Ok(tool_result(Err(e))),
        };
        verify_worktree(&self.remote, &a.task_id, &a.worktree_path, a.base).await
    }

    /// `cleanup_my_worktrees`: this machine's worktrees, the jobs' statuses
    /// from the server.
    async fn cleanup_local(&self, args: Value) -> Value {
        let a: CleanupArgs = match parse_args(args) {
            Ok(a) => a,
            Err(e) => return tool_result(Err(e)),
        };
        let dir = a.dir();
        let r = cleanup_worktrees(&dir, &self.user_id, &RemoteJobs(&self.remote)).await;
        tool_result(r.map(|entries| cleanup_result(&dir, entries)))
    }

    /// `update_job_status done` with a worktree (reference §3.5): the one
    /// "check, push, then report" flow of [`baton_mcp::push`], checked and
    /// recorded on the server.
    async fn done_with_push(&self, id: &Value, args: Map<String, Value>, worktree: &str) -> Value {
        let reporter = Forwarding { session: self, id };
        match push_then_report(&reporter, ReportArgs(args), worktree).await {
            Ok(answer) => answer,
            Err(Refused::Tool(result)) => response(id, result),
            Err(Refused::Rpc(e)) => error_response(id, e),
        }
    }
}

/// `verify_task_against_plan` for a worktree on this machine, recorded on
/// the server: the diff against `base` (else the job's recorded base
/// commit, else the remote's default branch) is made here and sent as
/// `{task_id, diff}`; the result names the base it `diffed_against`. Used by
/// the forwarding stdio tool and by `baton worker`.
pub(crate) async fn verify_worktree(
    remote: &Remote,
    task_id: &str,
    worktree: &str,
    base: Option<String>,
) -> Result<Value, RpcError> {
    let base = match base {
        Some(b) => Some(b),
        None => remote.job(task_id).await.and_then(|j| j["base_sha"].as_str().map(str::to_string)),
    };
    let (diff, base) = match git::diff_against(worktree, base.as_deref()).await {
        Ok(x) => x,
        Err(e) => return Ok(tool_result(Err(e))),
    };
    let mut result = remote.call_tool("verify_task_against_plan", json!({"task_id": task_id, "diff": diff})).await?;
    add_to_result(&mut result, "diffed_against", Value::String(base));
    Ok(result)
}

/// `update_job_status` arguments on their way to the server.
pub(crate) struct ReportArgs(pub(crate) Map<String, Value>);

impl DoneReport for ReportArgs {
    fn job_id(&self) -> &str {
        self.0.get("job_id").and_then(Value::as_str).unwrap_or_default()
    }
    fn branch(&self) -> Option<&str> {
        self.0.get("branch").and_then(Value::as_str)
    }
    fn base_sha(&self) -> Option<&str> {
        self.0.get("base_sha").and_then(Value::as_str)
    }
    fn record_push(&mut self, branch: String, head_sha: String, pushed: Option<bool>) {
        self.0.insert("branch".into(), json!(branch));
        self.0.insert("head_sha".into(), json!(head_sha));
        match pushed {
            Some(p) => self.0.insert("pushed".into(), json!(p)),
            None => self.0.remove("pushed"),
        };
    }
    fn fail(&mut self, error: String) {
        self.0.insert("status".into(), json!("failed"));
        self.0.insert("error".into(), json!(error));
    }
}

/// Why a forwarded report did not get through: the server's (or a local
/// git) tool error to answer with, or a failure to talk to the server.
pub(crate) enum Refused {
    /// The tool result to answer with (`isError`).
    Tool(Value),
    /// The server could not be reached or answered garbage.
    Rpc(RpcError),
}

impl From<baton_app::AppError> for Refused {
    fn from(e: baton_app::AppError) -> Self {
        Refused::Tool(tool_result(Err(e)))
    }
}

impl From<RpcError> for Refused {
    fn from(e: RpcError) -> Self {
        Refused::Rpc(e)
    }
}

/// Checks and records reports on the remote server, answering the
/// client's request `id`.
struct Forwarding<'a> {
    session: &'a Session,
    id: &'a Value,
}

impl JobReporter for Forwarding<'_> {
    type Report = ReportArgs;
    type Output = Value;
    type Error = Refused;

    async fn precheck(&self, report: &ReportArgs) -> Result<PushPlan, Refused> {
        precheck_report(&self.session.remote, report).await
    }

    async fn report(&self, report: ReportArgs) -> Result<Value, Refused> {
        let msg = json!({"jsonrpc": "2.0", "id": self.id, "method": "tools/call",
            "params": {"name": "update_job_status", "arguments": report.0}});
        Ok(self.session.forward(&msg).await)
    }
}

/// Job statuses from the server (`GET /api/jobs/{id}`), for cleanup.
pub(crate) struct RemoteJobs<'a>(pub(crate) &'a Remote);

impl JobLookup for RemoteJobs<'_> {
    async fn job_status(&self, job_id: &str) -> Option<String> {
        self.0.job(job_id).await.and_then(|j| j["status"].as_str().map(str::to_string))
    }
}

/// Checks a report on the server (`check_only`): what the push needs.
async fn precheck_report(remote: &Remote, report: &ReportArgs) -> Result<PushPlan, Refused> {
    let mut args = report.0.clone();
    args.insert("check_only".into(), json!(true));
    let check = remote.call_tool("update_job_status", Value::Object(args)).await?;
    if check["isError"] == json!(true) {
        return Err(Refused::Tool(check));
    }
    let check = &check["structuredContent"];
    Ok(PushPlan {
        default_branch: check["default_branch"].as_str().unwrap_or_default().to_string(),
        base_sha: check["base_sha"].as_str().map(str::to_string),
    })
}

/// Checks and records reports on the remote server for this process's own
/// use (`baton worker`): the answer is the tool result.
pub(crate) struct ToolReporter<'a> {
    /// The server.
    pub(crate) remote: &'a Remote,
}

impl JobReporter for ToolReporter<'_> {
    type Report = ReportArgs;
    type Output = Value;
    type Error = Refused;

    async fn precheck(&self, report: &ReportArgs) -> Result<PushPlan, Refused> {
        precheck_report(self.remote, report).await
    }

    async fn report(&self, report: ReportArgs) -> Result<Value, Refused> {
        Ok(self.remote.call_tool("update_job_status", Value::Object(report.0)).await?)
    }
}

/// Refreshes `worker`'s presence on the server every
/// [`PRESENCE_INTERVAL`] until aborted (the first tick is skipped: the
/// worker was just registered).
pub(crate) fn spawn_presence(remote: Arc<Remote>, worker: WorkerInfo) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(PRESENCE_INTERVAL);
        tick.tick().await;
        loop {
            tick.tick().await;
            let mut args = Map::new();
            inject_worker(&mut args, &worker, true);
            match remote.call_tool("worker_heartbeat", Value::Object(args)).await {
                Ok(r) if r["isError"] == json!(true) => {
                    tracing::warn!(result = %r["content"][0]["text"], "worker presence refused")
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e.message, "worker presence heartbeat failed"),
            }
        }
    })
}

/// Whether a request may be dropped at once when the client goes away (a
/// long poll changes nothing until it returns a job).
fn is_long_poll(msg: &Value) -> bool {
    msg["method"] == "tools/call" && msg["params"]["name"] == "wait_for_job"
}

/// Checks the token, registers the worker, serves stdin/stdout until EOF
/// or `shutdown`, then takes the worker offline.
pub async fn run(
    url: &str,
    token: &str,
    profile: Profile,
    worker: WorkerInfo,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    let remote = Remote::new(url, token)?;
    let me = remote.whoami().await?;
    // Demo accounts only read: they are not workers (as in the local mode).
    let registered = me["is_demo"] != json!(true);
    if registered {
        remote.register(&worker).await?;
    }
    tracing::info!(url = %url, user = %me["username"].as_str().unwrap_or_default(), instance = %worker.instance_id,
        "forwarding MCP on stdio");
    let (out, mut rx) = mpsc::unbounded_channel::<Value>();
    let user_id = me["id"].as_str().unwrap_or_default().to_string();
    let session = Arc::new(Session { remote: Arc::new(remote), user_id, worker, profile, out });

    let writer = tokio::spawn(async move {
        let mut stdout = tokio::io::stdout();
        while let Some(v) = rx.recv().await {
            if v.is_null() {
                break;
            }
            let mut line = v.to_string();
            line.push('\n');
            if stdout.write_all(line.as_bytes()).await.is_err() || stdout.flush().await.is_err() {
                break;
            }
        }
    });
    let presence = registered.then(|| spawn_presence(session.remote.clone(), session.worker.clone()));

    let mut tasks = JoinSet::new();
    let inflight: Arc<Mutex<HashMap<String, (tokio::task::AbortHandle, bool)>>> = Arc::default();
    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    tokio::pin!(shutdown);
    loop {
        let line = tokio::select! {
            l = lines.next_line() => l,
            _ = &mut shutdown => break,
            // Reap finished tasks so the set does not grow.
            Some(_) = tasks.join_next(), if !tasks.is_empty() => continue,
        };
        let line = match line {
            Ok(Some(l)) => l,
            Ok(None) => break,
            Err(e) => {
                tracing::warn!(error = %e, "stdin closed");
                break;
            }
        };
        if line.trim().is_empty() {
            continue;
        }
        let msg: Value = match serde_json::from_str(&line) {
            Ok(v) => v,
            Err(e) => {
                let _ = session.out.send(error_response(
                    &Value::Null,
                    RpcError { code: -32700, message: format!("Parse error: {e}") },
                ));
                continue;
            }
        };
        if msg.is_array() {
            let _ = session.out.send(error_response(
                &Value::Null,
                RpcError { code: -32600, message: "Invalid Request: batches are not supported".into() },
            ));
            continue;
        }
        let has_id = msg.get("id").is_some_and(|i| !i.is_null());
        match (msg.get("method").and_then(Value::as_str), has_id) {
            (Some(_), true) => {
                let key = msg["id"].to_string();
                let long = is_long_poll(&msg);
                let s = session.clone();
                let map = inflight.clone();
                let k2 = key.clone();
                let h = tasks.spawn(async move {
                    let answer = s.handle(msg).await;
                    if let Ok(mut m) = map.lock() {
                        m.remove(&k2);
                    }
                    let _ = s.out.send(answer);
                });
                if let Ok(mut m) = inflight.lock() {
                    m.insert(key, (h, long));
                }
            }
            (Some("notifications/cancelled"), false) => {
                // The stateless server cannot match it; dropping our request
                // closes its connection, which ends the call there.
                let key = msg["params"]["requestId"].to_string();
                if let Some((h, _)) = inflight.lock().ok().and_then(|mut m| m.remove(&key)) {
                    h.abort();
                }
            }
            (Some(_), false) => {
                let s = session.clone();
                tasks.spawn(async move {
                    if let Err(e) = s.remote.post(&msg).await {
                        tracing::debug!(error = %e.message, "notification not delivered");
                    }
                });
            }
            // A response to a server request: a stateless server sends none.
            (None, _) => tracing::debug!("ignoring a message without a method"),
        }
    }

    // Long polls go at once; other calls (a push, a report) may finish.
    if let Ok(m) = inflight.lock() {
        for (h, long) in m.values() {
            if *long {
                h.abort();
            }
        }
    }
    let _ = tokio::time::timeout(DRAIN, async { while tasks.join_next().await.is_some() {} }).await;
    tasks.abort_all();
    if let Some(p) = presence {
        p.abort();
    }
    if registered {
        session.remote.offline(&session.worker.instance_id).await;
    }
    // Let the writer flush what is queued (`null` is its stop sign).
    let _ = session.out.send(Value::Null);
    let _ = tokio::time::timeout(Duration::from_secs(2), writer).await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_https_client_builds_with_the_ring_provider_and_bad_urls_are_refused() {
        let r = Remote::new("https://baton.example.com/", "t").expect("an HTTPS client without aws-lc");
        assert_eq!(r.url("/mcp"), "https://baton.example.com/mcp");
        let e = Remote::new("baton.example.com", "t").err().expect("no scheme");
        assert!(e.to_string().contains("BATON_URL must start with http"), "{e}");
    }

    #[test]
    fn sse_bodies_yield_their_data_payloads() {
        let body = "event: message\ndata: {\"a\":1}\n\n: keep-alive\n\ndata: {\"b\":\ndata: 2}\n\n";
        let got: Vec<String> = sse_data(body).collect();
        assert_eq!(got, vec!["{\"a\":1}".to_string(), "{\"b\":\n2}".to_string()]);
    }

    #[test]
    fn the_worker_is_injected_only_where_the_call_names_none() {
        let mut w = WorkerInfo::new("me-1");
        w.capabilities = vec!["deploy".into()];
        w.hostname = Some("box".into());
        w.pid = Some(7);
        let mut args = Map::new();
        args.insert("instance_id".into(), json!("other"));
        inject_worker(&mut args, &w, false);
        assert_eq!(args["instance_id"], "other");
        assert_eq!(args["capabilities"], json!(["deploy"]));
        assert_eq!((args["runtime"].as_str(), args["tier"].as_str()), (Some("claude"), Some("medium_p")));
        assert!(!args.contains_key("hostname"), "wait_for_job has no hostname field");
        let mut args = Map::new();
        inject_worker(&mut args, &w, true);
        assert_eq!(
            (args["instance_id"].as_str(), args["hostname"].as_str(), args["pid"].as_i64()),
            (Some("me-1"), Some("box"), Some(7))
        );
    }

    #[test]
    fn rest_errors_and_segments() {
        assert_eq!(rest_message(r#"{"error":{"code":"unauthorized","message":"token revoked"}}"#), "token revoked");
        assert_eq!(rest_message("plain\nsecond"), "plain");
        assert_eq!(encode_segment("mcp-host/1 x"), "mcp-host%2F1%20x");
    }

    #[test]
    fn added_fields_show_in_text_and_structured_content() {
        let mut r = json!({"content": [{"type": "text", "text": "{}"}], "structuredContent": {"a": 1}});
        add_to_result(&mut r, "diffed_against", json!("origin/main"));
        assert_eq!(r["structuredContent"]["diffed_against"], "origin/main");
        assert!(r["content"][0]["text"].as_str().is_some_and(|t| t.contains("origin/main")));
        let mut e = json!({"content": [{"type": "text", "text": "x"}], "isError": true});
        add_to_result(&mut e, "k", json!(1));
        assert!(e.get("structuredContent").is_none());
    }
}
