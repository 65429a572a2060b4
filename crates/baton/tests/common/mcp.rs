//! Real MCP clients for the end-to-end queue tests: a keep-alive HTTP/1.1
//! connection (thousands of calls must not exhaust ephemeral ports), a
//! JSON-RPC client of `/mcp` (Streamable HTTP, stateless: every POST stands
//! alone, no `initialize` needed), a REST client with a Bearer token, and a
//! `baton mcp` child process spoken to over stdio (newline-delimited
//! JSON-RPC, with the `initialize` handshake; on a database of its own or
//! forwarding to a server). Also REST fixtures (a backlog with a queued
//! job, the listed worker) and `/proc` helpers to check that a killed
//! process left nothing behind.

use std::{
    collections::HashMap,
    path::{Path, PathBuf},
    process::{ExitStatus, Stdio},
    time::{Duration, Instant},
};

use serde_json::{Value, json};
use tokio::{
    io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader, Lines},
    net::TcpStream,
    process::{Child, ChildStdin, ChildStdout},
};

use super::{Baton, PASSWORD, Response, START_TIMEOUT, Server, command, git::PLAN};

/// How long one HTTP exchange may take (a `wait_for_job` long poll included).
pub const EXCHANGE_TIMEOUT: Duration = Duration::from_secs(120);

/// The result of one `tools/call`.
#[derive(Debug, Clone)]
pub struct ToolResult {
    /// `isError` of the result.
    pub is_error: bool,
    /// The first text content (the JSON text on success, the message on error).
    pub text: String,
    /// `structuredContent` (null on error).
    pub data: Value,
}

impl ToolResult {
    /// Reads a JSON-RPC response; a JSON-RPC level error fails the test (tool
    /// failures are results with `isError`, not protocol errors).
    #[track_caller]
    pub fn from_response(name: &str, v: &Value) -> ToolResult {
        assert!(v.get("error").is_none(), "{name}: JSON-RPC error {v}");
        let r = &v["result"];
        ToolResult {
            is_error: r["isError"].as_bool().unwrap_or(false),
            text: r["content"][0]["text"].as_str().unwrap_or_default().to_string(),
            data: r["structuredContent"].clone(),
        }
    }

    /// The structured result of a successful call.
    #[track_caller]
    pub fn ok(&self, what: &str) -> &Value {
        assert!(!self.is_error, "{what} failed: {}", self.text);
        assert!(self.data.is_object(), "{what}: no structuredContent: {self:?}");
        &self.data
    }

    /// Asserts a `PERMISSION_DENIED:` tool error and returns its text.
    #[track_caller]
    pub fn denied(&self, what: &str) -> &str {
        assert!(self.is_error, "{what} must be refused, got {}", self.text);
        assert!(
            self.text.starts_with("PERMISSION_DENIED: "),
            "{what}: expected PERMISSION_DENIED, got {:?}",
            self.text
        );
        &self.text
    }
}

/// One keep-alive HTTP/1.1 connection to `127.0.0.1:port` (reconnects when
/// the server closed it between requests).
pub struct Conn {
    port: u16,
    stream: Option<BufReader<TcpStream>>,
}

impl Conn {
    /// A connection to this port (opened on the first request).
    pub fn new(port: u16) -> Conn {
        Conn { port, stream: None }
    }

    /// Sends one request and reads the whole response.
    pub async fn send(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&[u8]>,
    ) -> Result<Response, String> {
        let port = self.port;
        let mut head = format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n");
        for (k, v) in headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        head.push_str(&format!("Content-Length: {}\r\n\r\n", body.map_or(0, <[u8]>::len)));
        let mut bytes = head.into_bytes();
        bytes.extend_from_slice(body.unwrap_or_default());
        loop {
            let fresh = self.stream.is_none();
            if fresh {
                let s = TcpStream::connect(("127.0.0.1", port)).await.map_err(|e| format!("connect: {e}"))?;
                s.set_nodelay(true).map_err(|e| format!("nodelay: {e}"))?;
                self.stream = Some(BufReader::new(s));
            }
            let stream = self.stream.as_mut().expect("connected above");
            let exchange = async {
                stream.get_mut().write_all(&bytes).await.map_err(|e| format!("write: {e}"))?;
                read_response(stream).await
            };
            let res = tokio::time::timeout(EXCHANGE_TIMEOUT, exchange)
                .await
                .unwrap_or_else(|_| Err(format!("timed out after {EXCHANGE_TIMEOUT:?}")));
            match res {
                Ok(r) => {
                    if r.header("connection").is_some_and(|c| c.eq_ignore_ascii_case("close")) {
                        self.stream = None;
                    }
                    return Ok(r);
                }
                Err(e) => {
                    self.stream = None;
                    // A kept-alive connection the server had already closed
                    // fails before any byte of an answer: that request was
                    // not handled, so sending it again on a new one is safe.
                    if !fresh && (e.starts_with("closed before") || e.starts_with("write:")) {
                        continue;
                    }
                    return Err(e);
                }
            }
        }
    }
}

async fn read_response(stream: &mut BufReader<TcpStream>) -> Result<Response, String> {
    let mut status_line = String::new();
    let n = stream.read_line(&mut status_line).await.map_err(|e| format!("read: {e}"))?;
    if n == 0 {
        return Err("closed before the status line".into());
    }
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse::<u16>().ok())
        .ok_or_else(|| format!("bad status line {status_line:?}"))?;
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        stream.read_line(&mut line).await.map_err(|e| format!("read header: {e}"))?;
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((k, v)) = line.split_once(':') {
            headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
        }
    }
    let find = |name: &str| headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    let mut body = Vec::new();
    if find("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
        loop {
            let mut size = String::new();
            stream.read_line(&mut size).await.map_err(|e| format!("read chunk size: {e}"))?;
            let n = usize::from_str_radix(size.trim().split(';').next().unwrap_or_default(), 16)
                .map_err(|e| format!("bad chunk size {size:?}: {e}"))?;
            let mut chunk = vec![0u8; n + 2];
            stream.read_exact(&mut chunk).await.map_err(|e| format!("read chunk: {e}"))?;
            if n == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..n]);
        }
    } else if let Some(len) = find("content-length") {
        let len: usize = len.parse().map_err(|e| format!("bad content-length {len:?}: {e}"))?;
        body.resize(len, 0);
        stream.read_exact(&mut body).await.map_err(|e| format!("read body: {e}"))?;
    } else if status != 204 && status != 304 {
        stream.read_to_end(&mut body).await.map_err(|e| format!("read body: {e}"))?;
    }
    let body = String::from_utf8(body).map_err(|e| format!("body not UTF-8: {e}"))?;
    Ok(Response { status, headers, body })
}

/// REST calls with a Bearer token over one keep-alive connection.
pub struct Rest {
    conn: Conn,
    bearer: String,
}

impl Rest {
    /// A client of the server on `port` authenticating with `token`.
    pub fn new(port: u16, token: &str) -> Rest {
        Rest { conn: Conn::new(port), bearer: format!("Bearer {token}") }
    }

    /// Sends a request with an optional JSON body.
    pub async fn send(&mut self, method: &str, path: &str, body: Option<&Value>) -> Response {
        let text = body.map(Value::to_string);
        let headers = [("Authorization", self.bearer.as_str()), ("Content-Type", "application/json")];
        self.conn
            .send(method, path, &headers, text.as_deref().map(str::as_bytes))
            .await
            .unwrap_or_else(|e| panic!("{method} {path} failed: {e}"))
    }

    /// `GET path`, expecting 200; the JSON body.
    pub async fn get_ok(&mut self, path: &str) -> Value {
        let r = self.send("GET", path, None).await;
        assert_eq!(r.status, 200, "GET {path}: {r:?}");
        r.json()
    }

    /// `POST path` with a JSON body, expecting `status`; the JSON body.
    pub async fn post_expect(&mut self, path: &str, body: &Value, status: u16) -> Value {
        let r = self.send("POST", path, Some(body)).await;
        assert_eq!(r.status, status, "POST {path} {body}: {r:?}");
        r.json()
    }
}

/// A JSON-RPC client of `/mcp` on one server with one token.
pub struct McpHttp {
    conn: Conn,
    bearer: String,
    next_id: u64,
}

impl McpHttp {
    /// A client of the server on `port` with `token`.
    pub fn new(port: u16, token: &str) -> McpHttp {
        McpHttp { conn: Conn::new(port), bearer: format!("Bearer {token}"), next_id: 1 }
    }

    /// One JSON-RPC request; the whole response object (HTTP 200 expected).
    pub async fn rpc(&mut self, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        let body = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}).to_string();
        let headers = [
            ("Authorization", self.bearer.as_str()),
            ("Content-Type", "application/json"),
            ("Accept", "application/json, text/event-stream"),
        ];
        let r = self
            .conn
            .send("POST", "/mcp", &headers, Some(body.as_bytes()))
            .await
            .unwrap_or_else(|e| panic!("POST /mcp {method} failed: {e}"));
        assert_eq!(r.status, 200, "POST /mcp {method}: {r:?}");
        let v = r.json();
        assert_eq!(v["id"], json!(id), "response to another request: {v}");
        v
    }

    /// `tools/call`.
    pub async fn call(&mut self, name: &str, args: Value) -> ToolResult {
        let v = self.rpc("tools/call", json!({"name": name, "arguments": args})).await;
        ToolResult::from_response(name, &v)
    }
}

/// Where a `baton mcp` process gets its data.
#[derive(Clone, Copy, Debug)]
pub enum Mode<'a> {
    /// Opens this database itself (`--database-url`).
    Local(&'a str),
    /// Forwards to the server at this base URL (`BATON_URL`).
    Forward(&'a str),
}

/// Spawns `baton [--database-url URL] mcp <args>` (forwarding: with
/// `BATON_URL`) and `BATON_TOKEN=token`, without the handshake (stdin and
/// stdout piped); returns the child and the file its stderr goes to.
pub fn spawn(mode: Mode<'_>, dir: &Path, token: &str, args: &[&str]) -> (Child, PathBuf) {
    let log = dir.join(format!("mcp-{}.log", uuid::Uuid::now_v7().simple()));
    let log_file = std::fs::File::create(&log).expect("create the mcp log file");
    let mut cmd = command(dir);
    match mode {
        Mode::Local(db) => {
            cmd.args(["--database-url", db, "mcp"]);
        }
        Mode::Forward(url) => {
            cmd.arg("mcp").env("BATON_URL", url);
        }
    }
    cmd.args(args)
        .env("BATON_TOKEN", token)
        .env("BATON_LOG", "info")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::from(log_file));
    (cmd.spawn().expect("spawn baton mcp"), log)
}

/// A `baton mcp` child process (stdio transport, newline-delimited
/// JSON-RPC) in either [`Mode`]. Answers read while waiting for another id
/// are kept, so calls may be in flight concurrently. Dropping it kills it.
pub struct McpStdio {
    child: Child,
    stdin: Option<ChildStdin>,
    out: Lines<BufReader<ChildStdout>>,
    /// Answers read while waiting for another id, by id.
    early: HashMap<String, Value>,
    next_id: u64,
    /// Process id.
    pub pid: u32,
    /// Where its stderr (the log) goes.
    pub log: PathBuf,
}

impl McpStdio {
    /// Spawns `baton mcp <args>` (see [`spawn`]) and completes the MCP
    /// handshake (after which the process has registered its worker).
    pub async fn start(mode: Mode<'_>, dir: &Path, token: &str, args: &[&str]) -> McpStdio {
        let (mut child, log) = spawn(mode, dir, token, args);
        let pid = child.id().expect("a running child has a pid");
        let stdin = child.stdin.take().expect("stdin was piped");
        let out = BufReader::new(child.stdout.take().expect("stdout was piped")).lines();
        let mut p = McpStdio { child, stdin: Some(stdin), out, early: HashMap::new(), next_id: 1, pid, log };
        let id = p
            .send(
                "initialize",
                json!({"protocolVersion": "2025-06-18", "capabilities": {},
                       "clientInfo": {"name": "baton-e2e", "version": "1"}}),
            )
            .await;
        let init = p.read(&json!(id), START_TIMEOUT).await;
        assert!(init["result"]["serverInfo"].is_object(), "initialize: {init}; log:\n{}", p.log_text());
        p.line(json!({"jsonrpc": "2.0", "method": "notifications/initialized"})).await;
        p
    }

    /// The process's stderr so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Writes one message line.
    pub async fn line(&mut self, v: Value) {
        let stdin = self.stdin.as_mut().expect("stdin is still open");
        stdin.write_all(format!("{v}\n").as_bytes()).await.expect("write to baton mcp");
        stdin.flush().await.expect("flush to baton mcp");
    }

    /// Sends a request without waiting; returns its numeric id.
    pub async fn send(&mut self, method: &str, params: Value) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        self.line(json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params})).await;
        id
    }

    /// Sends a `tools/call` without waiting; returns its id.
    pub async fn send_call(&mut self, name: &str, args: Value) -> u64 {
        self.send("tools/call", json!({"name": name, "arguments": args})).await
    }

    /// Reads messages until the response to request `id` (server
    /// notifications and requests in between are skipped; answers to other
    /// requests are kept for their own `read`).
    pub async fn read(&mut self, id: &Value, within: Duration) -> Value {
        if let Some(v) = self.early.remove(&id.to_string()) {
            return v;
        }
        let deadline = Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = match tokio::time::timeout(left, self.out.next_line()).await {
                Ok(Ok(Some(l))) => l,
                Ok(Ok(None)) => panic!("baton mcp closed stdout; log:\n{}", self.log_text()),
                Ok(Err(e)) => panic!("read from baton mcp: {e}"),
                Err(_) => panic!("no answer to request {id} within {within:?}; log:\n{}", self.log_text()),
            };
            let v: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("not JSON-RPC ({e}): {line}"));
            if v.get("result").is_none() && v.get("error").is_none() {
                continue;
            }
            if &v["id"] == id {
                return v;
            }
            self.early.insert(v["id"].to_string(), v);
        }
    }

    /// Waits (up to `within`) for the result of a `tools/call` sent with [`McpStdio::send_call`].
    pub async fn recv(&mut self, name: &str, id: u64, within: Duration) -> ToolResult {
        let v = self.read(&json!(id), within).await;
        ToolResult::from_response(name, &v)
    }

    /// `tools/call` and its result.
    pub async fn call(&mut self, name: &str, args: Value) -> ToolResult {
        let id = self.send_call(name, args).await;
        self.recv(name, id, EXCHANGE_TIMEOUT).await
    }

    /// `tools/list`: the tools by name.
    pub async fn tools(&mut self) -> HashMap<String, Value> {
        let id = self.send("tools/list", json!({})).await;
        let v = self.read(&json!(id), EXCHANGE_TIMEOUT).await;
        let tools = v["result"]["tools"].as_array().unwrap_or_else(|| panic!("tools/list: {v}"));
        tools.iter().map(|t| (t["name"].as_str().expect("tool name").to_string(), t.clone())).collect()
    }

    /// SIGKILL, then reaps the process; returns its exit status.
    pub async fn kill(&mut self) -> ExitStatus {
        self.child.start_kill().expect("send SIGKILL to baton mcp");
        tokio::time::timeout(Duration::from_secs(10), self.child.wait())
            .await
            .expect("a killed process is reaped at once")
            .expect("wait for baton mcp")
    }

    /// Closes stdin (EOF ends the session) and waits for the exit.
    pub async fn close(&mut self, within: Duration) -> ExitStatus {
        drop(self.stdin.take());
        self.wait(within).await
    }

    /// Waits for the process to exit.
    pub async fn wait(&mut self, within: Duration) -> ExitStatus {
        tokio::time::timeout(within, self.child.wait())
            .await
            .unwrap_or_else(|_| panic!("baton mcp did not exit within {within:?}; log:\n{}", self.log_text()))
            .expect("wait for baton mcp")
    }
}

impl Drop for McpStdio {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}

/// The properties of a tool's input schema.
pub fn properties(tool: &Value) -> Vec<String> {
    tool["inputSchema"]["properties"].as_object().map(|m| m.keys().cloned().collect()).unwrap_or_default()
}

/// A product with an open sprint and a story in it, over REST; returns the
/// story id. Tasks are added with [`task_with_job`].
pub async fn backlog(rest: &mut Rest, code: &str) -> String {
    let product = rest
        .post_expect(
            "/api/products",
            &json!({"name": format!("Product {code}"), "code": code, "definition_of_done": "tests pass"}),
            201,
        )
        .await;
    let pid = product["id"].as_str().expect("product id").to_string();
    let sprint = rest.post_expect(&format!("/api/products/{pid}/sprints"), &json!({"sprint_goal": "Ship"}), 201).await;
    let pbi = rest.post_expect(&format!("/api/products/{pid}/pbis"), &json!({"title": "Engine"}), 201).await;
    let story = rest
        .post_expect(
            &format!("/api/pbis/{}/stories", pbi["id"].as_str().expect("pbi id")),
            &json!({"title": "Ignition", "sprint_id": sprint["id"]}),
            201,
        )
        .await;
    story["id"].as_str().expect("story id").to_string()
}

/// A task with [`PLAN`] in `story`, and a job started on it ("start agent");
/// returns `(task, job id)`.
pub async fn task_with_job(rest: &mut Rest, story_id: &str, title: &str) -> (Value, String) {
    let task = rest
        .post_expect(
            &format!("/api/stories/{story_id}/tasks"),
            &json!({"title": title, "implementation_plan": PLAN}),
            201,
        )
        .await;
    let job =
        rest.post_expect(&format!("/api/tasks/{}/jobs", task["id"].as_str().expect("task id")), &json!({}), 201).await;
    (task, job["id"].as_str().expect("job id").to_string())
}

/// The worker of this instance id in `GET /api/workers`, if listed.
pub async fn worker(rest: &mut Rest, instance: &str) -> Option<Value> {
    let list = rest.get_ok("/api/workers").await;
    list.as_array().expect("workers is an array").iter().find(|w| w["instance_id"] == instance).cloned()
}

/// Whether a process with this pid exists (zombies included).
pub fn process_exists(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

/// The pids of every live descendant of `pid` (children, grandchildren, …).
pub fn descendants(pid: u32) -> Vec<u32> {
    let mut parents: Vec<(u32, u32)> = Vec::new();
    if let Ok(dir) = std::fs::read_dir("/proc") {
        for e in dir.flatten() {
            let Some(p) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else { continue };
            let Ok(stat) = std::fs::read_to_string(e.path().join("stat")) else { continue };
            // `pid (comm) state ppid …`; comm may hold spaces and parentheses.
            let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else { continue };
            if let Some(ppid) = rest.split_whitespace().nth(1).and_then(|s| s.parse::<u32>().ok()) {
                parents.push((p, ppid));
            }
        }
    }
    let mut out = Vec::new();
    let mut frontier = vec![pid];
    while let Some(parent) = frontier.pop() {
        for &(p, pp) in &parents {
            if pp == parent && !out.contains(&p) {
                out.push(p);
                frontier.push(p);
            }
        }
    }
    out
}

/// A user `agent` (developer) with one API token per label (in order) and a
/// server on the same database, run from the scratch directory of the
/// returned [`Baton`] (keep it alive as long as the server).
pub async fn agent_server(url: &str, labels: &[&str]) -> (Baton, Server, Vec<String>) {
    let baton = Baton::new(url);
    baton.create_user("agent", PASSWORD, &["--role", "developer"]).await;
    let mut tokens = Vec::with_capacity(labels.len());
    for label in labels {
        tokens.push(baton.create_token("agent", label).await);
    }
    let server = Server::start(url, &baton.scratch.path).await;
    (baton, server, tokens)
}
