//! Shared helpers of the end-to-end tests: running the real `baton` binary,
//! a server guard that always kills its child, a tiny HTTP/1.1 client over
//! plain TCP, and scratch directories / empty databases that clean up after
//! themselves.

#![allow(dead_code, reason = "each test crate uses a different subset of the helpers")]

pub mod git;
pub mod mcp;

use std::{
    path::{Path, PathBuf},
    process::{ExitStatus, Stdio},
    time::{Duration, Instant},
};

use baton_store::sea_orm::{ConnectionTrait, Statement};
use tokio::{
    io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader},
    net::TcpStream,
    process::{Child, Command},
};

/// The binary under test, built by Cargo for these integration tests.
pub const BIN: &str = env!("CARGO_BIN_EXE_baton");

/// How long one CLI invocation may take before the test fails (debug build,
/// Argon2 hashing, a busy 2-core machine).
pub const CLI_TIMEOUT: Duration = Duration::from_secs(90);

/// How long a server may take to print its "running" line.
pub const START_TIMEOUT: Duration = Duration::from_secs(60);

/// A directory under the temp dir that is removed when dropped.
pub struct Scratch {
    /// Its path.
    pub path: PathBuf,
}

impl Scratch {
    /// Creates a fresh, empty directory.
    pub fn new() -> Scratch {
        let path = std::env::temp_dir().join(format!("baton-e2e-{}", uuid::Uuid::now_v7().simple()));
        std::fs::create_dir_all(&path).expect("create scratch directory");
        Scratch { path }
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// What one run of the binary produced.
#[derive(Debug)]
pub struct Run {
    /// The exit status.
    pub status: ExitStatus,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl Run {
    /// Asserts exit status 0 and returns `self` for chaining.
    #[track_caller]
    pub fn success(&self) -> &Run {
        assert!(
            self.status.success(),
            "expected success, got {:?}\nstdout: {}\nstderr: {}",
            self.status,
            self.stdout,
            self.stderr
        );
        assert_no_panic(&self.stderr);
        self
    }

    /// Asserts a failure reported as exactly one line starting with
    /// `error:` on stderr (and nothing on stdout), and returns that line.
    #[track_caller]
    pub fn one_error_line(&self) -> &str {
        assert!(
            !self.status.success(),
            "expected failure, got success\nstdout: {}\nstderr: {}",
            self.stdout,
            self.stderr
        );
        assert_no_panic(&self.stderr);
        let lines: Vec<&str> = self.stderr.lines().collect();
        assert_eq!(lines.len(), 1, "expected exactly one stderr line, got {lines:?}");
        assert!(lines[0].starts_with("error:"), "the error line must start with `error:`: {:?}", lines[0]);
        assert_eq!(self.stdout, "", "nothing may go to stdout on failure");
        lines[0]
    }

    /// Standard output parsed as JSON.
    #[track_caller]
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {:?}\nstderr: {}", self.stdout, self.stderr))
    }
}

/// Fails if the text looks like a Rust panic message.
#[track_caller]
pub fn assert_no_panic(stderr: &str) {
    assert!(!stderr.contains("panicked"), "panic text on stderr: {stderr}");
    assert!(!stderr.contains("RUST_BACKTRACE"), "panic text on stderr: {stderr}");
}

/// A `Command` for the binary with a clean environment: no inherited
/// `BATON_*` variables, run from `cwd` so a default `./baton-data` can only
/// ever land in a scratch directory.
pub fn command(cwd: &Path) -> Command {
    let mut cmd = Command::new(BIN);
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("BATON_") {
            cmd.env_remove(&k);
        }
    }
    cmd.current_dir(cwd).env("NO_COLOR", "1").kill_on_drop(true);
    cmd
}

/// Runs the binary with `args`, feeding `stdin` when given (stdin is
/// otherwise closed), and waits for it with [`CLI_TIMEOUT`].
pub async fn run_in(cwd: &Path, args: &[&str], stdin: Option<&str>) -> Run {
    let mut cmd = command(cwd);
    cmd.args(args).stdout(Stdio::piped()).stderr(Stdio::piped());
    cmd.stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() });
    let mut child = cmd.spawn().expect("spawn the baton binary");
    if let Some(input) = stdin {
        let mut pipe = child.stdin.take().expect("stdin was piped");
        pipe.write_all(input.as_bytes()).await.expect("write to the child's stdin");
        drop(pipe);
    }
    let out = tokio::time::timeout(CLI_TIMEOUT, child.wait_with_output())
        .await
        .unwrap_or_else(|_| panic!("`baton {}` did not finish within {CLI_TIMEOUT:?}", args.join(" ")))
        .expect("wait for the baton binary");
    Run {
        status: out.status,
        stdout: String::from_utf8(out.stdout).expect("stdout is UTF-8"),
        stderr: String::from_utf8(out.stderr).expect("stderr is UTF-8"),
    }
}

/// Runs the binary against one database, from one scratch directory.
pub struct Baton {
    /// The database URL passed as `--database-url`.
    pub url: String,
    /// Scratch working directory.
    pub scratch: Scratch,
}

impl Baton {
    /// A runner for the database at `url`.
    pub fn new(url: &str) -> Baton {
        Baton { url: url.to_string(), scratch: Scratch::new() }
    }

    /// `baton --database-url URL <args>`.
    pub async fn run(&self, args: &[&str]) -> Run {
        self.run_stdin(args, None).await
    }

    /// Like [`Baton::run`], with `stdin` piped in.
    pub async fn run_stdin(&self, args: &[&str], stdin: Option<&str>) -> Run {
        let mut all = vec!["--database-url", self.url.as_str()];
        all.extend_from_slice(args);
        run_in(&self.scratch.path, &all, stdin).await
    }

    /// Creates a user with the CLI and returns its id.
    pub async fn create_user(&self, username: &str, password: &str, extra: &[&str]) -> String {
        let mut args = vec!["user", "create", "--username", username, "--password-stdin"];
        args.extend_from_slice(extra);
        let r = self.run_stdin(&args, Some(&format!("{password}\n"))).await;
        r.success();
        r.stdout.trim().to_string()
    }

    /// `user list --json`, as JSON.
    pub async fn users(&self) -> Vec<serde_json::Value> {
        let r = self.run(&["user", "list", "--json"]).await;
        r.success();
        r.json().as_array().expect("user list --json prints an array").clone()
    }

    /// One user from `user list --json`.
    pub async fn user(&self, username: &str) -> serde_json::Value {
        self.users()
            .await
            .into_iter()
            .find(|u| u["username"] == username)
            .unwrap_or_else(|| panic!("`{username}` is not in `user list --json`"))
    }

    /// Creates an API token with the CLI and returns the secret.
    pub async fn create_token(&self, username: &str, label: &str) -> String {
        let r = self.run(&["token", "create", "--user", username, "--label", label]).await;
        r.success();
        r.stdout.trim().to_string()
    }

    /// Starts `baton serve` on this database.
    pub async fn serve(&self) -> Server {
        Server::start(&self.url, &self.scratch.path).await
    }
}

/// The roles of a user as listed by `user list --json`.
pub fn roles(user: &serde_json::Value) -> Vec<String> {
    user["roles"]
        .as_array()
        .expect("roles is an array")
        .iter()
        .map(|r| r.as_str().expect("a role is a string").to_string())
        .collect()
}

/// A running `baton serve`. Dropping it kills the process.
pub struct Server {
    child: Child,
    /// Process id.
    pub pid: u32,
    /// The listening port (from the "running" line).
    pub port: u16,
    /// `http://127.0.0.1:PORT`, as printed.
    pub base: String,
    /// When the process was spawned.
    pub spawned: Instant,
    /// Where its stderr (the log) goes.
    pub log: PathBuf,
}

impl Server {
    /// Spawns `baton --database-url URL serve --bind 127.0.0.1:0` and waits
    /// (bounded) for the line "Baton is running at http://127.0.0.1:PORT".
    pub async fn start(url: &str, dir: &Path) -> Server {
        Server::start_with(url, dir, &[]).await
    }

    /// Like [`Server::start`], with extra global flags before `serve`
    /// (e.g. `--job-lease-seconds 2`).
    pub async fn start_with(url: &str, dir: &Path, global: &[&str]) -> Server {
        let log = dir.join(format!("serve-{}.log", uuid::Uuid::now_v7().simple()));
        let log_file = std::fs::File::create(&log).expect("create the server log file");
        let mut cmd = command(dir);
        cmd.args(["--database-url", url])
            .args(global)
            .args(["serve", "--bind", "127.0.0.1:0"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log_file));
        let spawned = Instant::now();
        let mut child = cmd.spawn().expect("spawn baton serve");
        let pid = child.id().expect("a running child has a pid");
        let stdout = child.stdout.take().expect("stdout was piped");
        let mut server = Server { child, pid, port: 0, base: String::new(), spawned, log };
        let mut lines = BufReader::new(stdout).lines();
        let prefix = "Baton is running at ";
        let line = match tokio::time::timeout(START_TIMEOUT, async {
            while let Some(line) = lines.next_line().await.expect("read the server's stdout") {
                if line.starts_with(prefix) {
                    return Some(line);
                }
            }
            None
        })
        .await
        {
            Ok(Some(line)) => line,
            Ok(None) => panic!("baton serve closed stdout without the running line; log:\n{}", server.log_text()),
            Err(_) => panic!("baton serve did not start within {START_TIMEOUT:?}; log:\n{}", server.log_text()),
        };
        // Keep draining stdout so the child can never block on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        let base = line[prefix.len()..].trim().to_string();
        let port = base
            .strip_prefix("http://127.0.0.1:")
            .and_then(|p| p.parse::<u16>().ok())
            .unwrap_or_else(|| panic!("unexpected running line {line:?}"));
        assert_ne!(port, 0, "the printed port must be the real one, not 0");
        server.port = port;
        server.base = base;
        server
    }

    /// The server's stderr so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The value for an `Origin` header that names this server.
    pub fn origin(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Polls `GET /api/health` until it answers 200, within `within`.
    pub async fn wait_healthy(&self, within: Duration) -> Response {
        let deadline = Instant::now() + within;
        loop {
            match try_request(self.port, "GET", "/api/health", &[], None).await {
                Ok(r) if r.status == 200 => return r,
                other if Instant::now() >= deadline => {
                    panic!("not healthy within {within:?}: {other:?}; log:\n{}", self.log_text())
                }
                _ => tokio::time::sleep(Duration::from_millis(20)).await,
            }
        }
    }

    /// Sends SIGTERM and waits up to `within` for the process to exit.
    pub async fn terminate(&mut self, within: Duration) -> (ExitStatus, Duration) {
        let sent = Instant::now();
        let kill =
            std::process::Command::new("kill").args(["-TERM", &self.pid.to_string()]).status().expect("run kill -TERM");
        assert!(kill.success(), "kill -TERM {} failed", self.pid);
        let status = tokio::time::timeout(within, self.child.wait())
            .await
            .unwrap_or_else(|_| {
                panic!("baton serve did not exit within {within:?} of SIGTERM; log:\n{}", self.log_text())
            })
            .expect("wait for baton serve");
        (status, sent.elapsed())
    }

    /// Sends one request to this server.
    pub async fn request(&self, method: &str, path: &str, headers: &[(&str, &str)], body: Option<&[u8]>) -> Response {
        request(self.port, method, path, headers, body).await
    }

    /// `GET path` with extra headers.
    pub async fn get(&self, path: &str, headers: &[(&str, &str)]) -> Response {
        self.request("GET", path, headers, None).await
    }

    /// POSTs an `application/x-www-form-urlencoded` form from this server's
    /// own origin, as a browser would.
    pub async fn post_form(&self, path: &str, fields: &[(&str, &str)], extra: &[(&str, &str)]) -> Response {
        let origin = self.origin();
        let mut headers = vec![("Content-Type", "application/x-www-form-urlencoded"), ("Origin", origin.as_str())];
        headers.extend_from_slice(extra);
        self.request("POST", path, &headers, Some(form(fields).as_bytes())).await
    }

    /// Logs in through the `/login` form and returns the `Cookie` header value.
    pub async fn login(&self, username: &str, password: &str) -> String {
        let r = self.post_form("/login", &[("username", username), ("password", password)], &[]).await;
        assert_eq!(r.status, 303, "login as {username} must redirect: {r:?}");
        r.session_cookie().unwrap_or_else(|| panic!("login as {username} set no session cookie: {r:?}"))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // Whatever happened in the test, the server must not outlive it.
        let _ = self.child.start_kill();
    }
}

/// An HTTP response.
#[derive(Debug, Clone)]
pub struct Response {
    /// Status code.
    pub status: u16,
    /// Headers, names lowercase, in order.
    pub headers: Vec<(String, String)>,
    /// Body (decoded if chunked).
    pub body: String,
}

impl Response {
    /// The first header with this (lowercase) name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// `baton_session=VALUE` from a non-empty `Set-Cookie`, ready for a `Cookie` header.
    pub fn session_cookie(&self) -> Option<String> {
        self.headers
            .iter()
            .filter(|(k, _)| k == "set-cookie")
            .filter_map(|(_, v)| v.split(';').next())
            .map(str::trim)
            .find(|c| c.starts_with("baton_session=") && c.len() > "baton_session=".len())
            .map(str::to_string)
    }

    /// The body as JSON.
    #[track_caller]
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("body is not JSON ({e}): {self:?}"))
    }
}

/// Percent-encodes form fields.
pub fn form(fields: &[(&str, &str)]) -> String {
    fn enc(s: &str) -> String {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
                _ => format!("%{b:02X}"),
            })
            .collect()
    }
    fields.iter().map(|(k, v)| format!("{}={}", enc(k), enc(v))).collect::<Vec<_>>().join("&")
}

/// Sends one HTTP/1.1 request (`Connection: close`) and reads the response.
pub async fn request(port: u16, method: &str, path: &str, headers: &[(&str, &str)], body: Option<&[u8]>) -> Response {
    try_request(port, method, path, headers, body)
        .await
        .unwrap_or_else(|e| panic!("{method} {path} on port {port} failed: {e}"))
}

/// Like [`request`], returning I/O and protocol errors instead of panicking.
pub async fn try_request(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&[u8]>,
) -> Result<Response, String> {
    let exchange = async {
        let mut stream = TcpStream::connect(("127.0.0.1", port)).await.map_err(|e| format!("connect: {e}"))?;
        let mut head = format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n");
        for (k, v) in headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        if let Some(b) = body {
            head.push_str(&format!("Content-Length: {}\r\n", b.len()));
        }
        head.push_str("\r\n");
        let mut bytes = head.into_bytes();
        bytes.extend_from_slice(body.unwrap_or_default());
        stream.write_all(&bytes).await.map_err(|e| format!("write: {e}"))?;
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).await.map_err(|e| format!("read: {e}"))?;
        parse_response(&raw)
    };
    tokio::time::timeout(Duration::from_secs(30), exchange).await.map_err(|_| "timed out after 30 s".to_string())?
}

fn parse_response(raw: &[u8]) -> Result<Response, String> {
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").ok_or("no end of headers")?;
    let head = std::str::from_utf8(&raw[..split]).map_err(|e| format!("head not UTF-8: {e}"))?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next().ok_or("empty response")?;
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse::<u16>().ok())
        .ok_or_else(|| format!("bad status line {status_line:?}"))?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let mut body = raw[split + 4..].to_vec();
    let chunked = headers.iter().any(|(k, v)| k == "transfer-encoding" && v.eq_ignore_ascii_case("chunked"));
    if chunked {
        body = dechunk(&body)?;
    }
    let body = String::from_utf8(body).map_err(|e| format!("body not UTF-8: {e}"))?;
    Ok(Response { status, headers, body })
}

fn dechunk(mut data: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    loop {
        let eol = data.windows(2).position(|w| w == b"\r\n").ok_or("bad chunk header")?;
        let size_text = std::str::from_utf8(&data[..eol]).map_err(|e| e.to_string())?;
        let size = usize::from_str_radix(size_text.split(';').next().unwrap_or_default().trim(), 16)
            .map_err(|e| format!("bad chunk size {size_text:?}: {e}"))?;
        data = &data[eol + 2..];
        if size == 0 {
            return Ok(out);
        }
        if data.len() < size + 2 {
            return Err("truncated chunk".into());
        }
        out.extend_from_slice(&data[..size]);
        data = &data[size + 2..];
    }
}

/// The Postgres admin URL of the test cluster.
pub fn pg_admin_url() -> String {
    std::env::var(baton_testkit::PG_ENV)
        .unwrap_or_else(|_| panic!("{} is not set: run the suite with ./scripts/test", baton_testkit::PG_ENV))
}

/// Replaces the database name in a Postgres URL.
pub fn pg_url_with_db(admin_url: &str, name: &str) -> String {
    let (base, query) = match admin_url.split_once('?') {
        Some((b, q)) => (b, format!("?{q}")),
        None => (admin_url, String::new()),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let cut = base[scheme_end..].rfind('/').map_or(base.len(), |i| scheme_end + i);
    format!("{}/{}{}", &base[..cut], name, query)
}

/// A brand-new, empty (unmigrated) Postgres database, dropped with the guard.
pub struct EmptyPgDb {
    /// Its URL.
    pub url: String,
    admin_url: String,
    name: String,
}

impl EmptyPgDb {
    /// Creates the database.
    pub async fn create() -> EmptyPgDb {
        let admin_url = pg_admin_url();
        let name = format!("e2e_{}", uuid::Uuid::now_v7().simple());
        let admin = baton_store::connect(&admin_url).await.expect("connect to the test cluster");
        admin.execute_unprepared(&format!("CREATE DATABASE \"{name}\"")).await.expect("create an empty database");
        admin.close().await.expect("close the admin pool");
        EmptyPgDb { url: pg_url_with_db(&admin_url, &name), admin_url, name }
    }
}

impl Drop for EmptyPgDb {
    fn drop(&mut self) {
        let (admin_url, name) = (self.admin_url.clone(), self.name.clone());
        // Drop may run inside the test's runtime: use a thread with its own.
        let _ = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() else { return };
            rt.block_on(async {
                if let Ok(admin) = baton_store::connect(&admin_url).await {
                    let _ = admin.execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)")).await;
                }
            });
        })
        .join();
    }
}

/// `(version, applied_at)` of every applied migration, in order.
pub async fn applied_migrations(url: &str) -> Vec<(String, i64)> {
    let db = baton_store::connect(url).await.expect("open the database");
    let rows = db
        .query_all_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT version, applied_at FROM seaql_migrations ORDER BY version",
        ))
        .await
        .expect("read seaql_migrations");
    let out = rows
        .iter()
        .map(|r| {
            (
                r.try_get::<String>("", "version").expect("version column"),
                r.try_get::<i64>("", "applied_at").expect("applied_at column"),
            )
        })
        .collect();
    db.close().await.expect("close the pool");
    out
}

/// A password that passes validation.
pub const PASSWORD: &str = "correct-horse-battery";
