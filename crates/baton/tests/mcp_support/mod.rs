//! Helpers of the `baton mcp` forwarding and push tests: a `baton mcp`
//! child process in either mode (local database, or `--url` forwarding to
//! a running server) spoken to over stdio with out-of-order answers
//! buffered (calls run concurrently), a backlog with a queued job made over
//! REST, and git worktrees with a bare `origin`.

#![allow(dead_code, reason = "each test crate uses a different subset of the helpers")]

use std::{
    collections::HashMap,
    path::{Path, PathBuf},
    process::{ExitStatus, Stdio},
    time::{Duration, Instant},
};

use serde_json::{Value, json};
use tokio::{
    io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines},
    process::{Child, ChildStdin, ChildStdout},
};

use crate::common::{START_TIMEOUT, command, mcp::*};

/// Where a `baton mcp` process gets its data.
#[derive(Clone, Copy, Debug)]
pub enum Mode<'a> {
    /// Opens this database itself.
    Local(&'a str),
    /// Forwards to the server at this base URL (`BATON_URL`).
    Forward(&'a str),
}

/// A `baton mcp` child (stdio). Dropping it kills it.
pub struct Proc {
    child: Child,
    stdin: Option<ChildStdin>,
    out: Lines<BufReader<ChildStdout>>,
    /// Answers read while waiting for another id.
    early: HashMap<String, Value>,
    next_id: u64,
    /// Process id.
    pub pid: u32,
    /// Its stderr.
    pub log: PathBuf,
}

/// Spawns `baton mcp` without the handshake (stdin/stdout piped).
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

impl Proc {
    /// Spawns `baton mcp <args>` and completes the MCP handshake.
    pub async fn start(mode: Mode<'_>, dir: &Path, token: &str, args: &[&str]) -> Proc {
        let (mut child, log) = spawn(mode, dir, token, args);
        let pid = child.id().expect("a running child has a pid");
        let stdin = child.stdin.take().expect("stdin was piped");
        let out = BufReader::new(child.stdout.take().expect("stdout was piped")).lines();
        let mut p = Proc { child, stdin: Some(stdin), out, early: HashMap::new(), next_id: 1, pid, log };
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

    /// Sends a request; returns its numeric id.
    pub async fn send(&mut self, method: &str, params: Value) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        self.line(json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params})).await;
        id
    }

    /// Sends a `tools/call`; returns its id.
    pub async fn send_call(&mut self, name: &str, args: Value) -> u64 {
        self.send("tools/call", json!({"name": name, "arguments": args})).await
    }

    /// The answer to request `id` (others read meanwhile are kept).
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

    /// The result of a `tools/call` sent earlier.
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

    /// Closes stdin (EOF) and waits for the exit.
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

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}

/// The properties of a tool's input schema.
pub fn properties(tool: &Value) -> Vec<String> {
    tool["inputSchema"]["properties"].as_object().map(|m| m.keys().cloned().collect()).unwrap_or_default()
}

/// Runs git in `dir`; must succeed.
pub fn git(dir: &Path, args: &[&str]) -> String {
    let out = std::process::Command::new("git").arg("-C").arg(dir).args(args).output().expect("run git");
    assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).expect("git output is UTF-8").trim().to_string()
}

/// Whether `git rev-parse` finds `rev` in `dir`.
pub fn has_ref(dir: &Path, rev: &str) -> bool {
    std::process::Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["rev-parse", "--verify", "-q", rev])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// The file the plans name.
pub const PLAN: &str = "Change `src/engine.rs` to add ignition.";

/// A clone-like worktree at `root` on branch `branch` whose bare `origin`
/// (returned) has the base commit as its default branch `trunk`; one commit
/// on top changes exactly the file of [`PLAN`].
pub fn make_worktree(root: &Path, branch: &str) -> PathBuf {
    let origin = root.with_extension("origin.git");
    std::fs::create_dir_all(&origin).expect("create the origin");
    git(&origin, &["init", "-q", "--bare", "-b", "trunk"]);
    std::fs::create_dir_all(root.join("src")).expect("create the worktree");
    git(root, &["init", "-q", "-b", branch]);
    git(root, &["config", "user.email", "e2e@example.com"]);
    git(root, &["config", "user.name", "e2e"]);
    std::fs::write(root.join("src/engine.rs"), "fn main() {}\n").expect("write");
    git(root, &["add", "."]);
    git(root, &["commit", "-q", "-m", "base"]);
    git(root, &["remote", "add", "origin", origin.to_str().expect("utf-8 path")]);
    git(root, &["push", "-q", "origin", "HEAD:refs/heads/trunk"]);
    git(root, &["fetch", "-q", "origin"]);
    git(root, &["remote", "set-head", "origin", "trunk"]);
    std::fs::write(root.join("src/engine.rs"), "fn main() {}\nfn ignite() {}\n").expect("write");
    git(root, &["commit", "-q", "-am", "ignite"]);
    origin
}

/// A product with an open sprint and a story in it, over REST; returns the
/// story id. Tasks are added with [`task`].
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
