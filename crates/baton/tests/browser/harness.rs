//! The reusable part of the browser tests: a real `baton serve` on one
//! backend ([`Site`]), headless Chromium driven over WebDriver ([`Browser`]),
//! and the checks every page must pass (axe-core, CSP, no inline style or
//! event-handler attributes, screenshots at 390 and 1280 px).
//!
//! How to write a flow is explained at the top of `tests/browser.rs`.

#![allow(dead_code, reason = "each flow uses a different subset of the helpers")]

use std::{
    collections::BTreeMap,
    future::Future,
    path::PathBuf,
    process::Stdio,
    sync::OnceLock,
    time::{Duration, Instant},
};

use baton_store::{
    Backend,
    sea_orm::{ConnectionTrait, Statement},
};
use baton_testkit::TestDb;
use fantoccini::{Client, Locator, elements::Element};
use serde_json::{Value, json};
use tokio::{
    io::{AsyncBufReadExt, BufReader},
    process::{Child, Command},
};

pub use crate::common::PASSWORD;
use crate::common::{Baton, Response, Scratch, Server};

/// Runs each flow once on SQLite and once on Postgres, as `name::sqlite` and
/// `name::postgres`, each against its own fresh database and its own
/// `baton serve`. The body receives a started [`Site`] under the given name.
///
/// ```ignore
/// browser_tests! {
///     /// What the flow proves.
///     async fn a_flow(site) {
///         let b = site.browser(Js::On).await;
///         b.setup_admin("alice", PASSWORD).await;
///     }
/// }
/// ```
macro_rules! browser_tests {
    ($($(#[$meta:meta])* async fn $name:ident($site:ident) $body:block)*) => {
        $(
            $(#[$meta])*
            mod $name {
                #[allow(unused_imports)]
                use super::*;

                async fn run($site: $crate::harness::Site) $body

                #[::baton_testkit::tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    run($crate::harness::Site::start(::baton_testkit::TestDb::sqlite().await).await).await
                }

                #[::baton_testkit::tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    run($crate::harness::Site::start(::baton_testkit::TestDb::postgres().await).await).await
                }
            }
        )*
    };
}
pub(crate) use browser_tests;

/// The default time a page may take to show what a test waits for (a
/// debug build on a busy 2-core machine).
pub const WAIT: Duration = Duration::from_secs(10);

/// The widths screenshots are taken at: a phone and a laptop.
pub const WIDTHS: [u32; 2] = [390, 1280];

/// The `axe-core` version `scripts/test` installs (keep the two in step).
pub const AXE_VERSION: &str = "4.14.1";

/// Whether the browser runs page scripts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Js {
    /// Normal browsing: page scripts run.
    On,
    /// Page scripts are disabled (`--blink-settings=scriptEnabled=false`):
    /// every flow must still work through plain forms. The harness's own
    /// WebDriver `execute` calls still work (they do not go through the
    /// page's script setting), so axe and the helpers below keep working.
    Off,
}

/// Where on the target element a drag ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DropAt {
    /// Its middle (e.g. a board column).
    Center,
    /// Just inside its top edge (e.g. "above this card").
    Top,
    /// Just inside its bottom edge (e.g. "below this card").
    Bottom,
}

impl DropAt {
    fn as_str(self) -> &'static str {
        match self {
            DropAt::Center => "center",
            DropAt::Top => "top",
            DropAt::Bottom => "bottom",
        }
    }
}

/// A real `baton serve` on one backend, with the CLI on the same database.
pub struct Site {
    /// The backend under test.
    pub backend: Backend,
    /// The server.
    pub server: Server,
    /// `baton --database-url …` on the same database (users, tokens, demo).
    pub baton: Baton,
    /// The test database; its pool reads state directly ([`Site::table_counts`]).
    pub db: TestDb,
}

impl Site {
    /// Starts `baton serve` on port 0 against `db` (a fresh, migrated, empty
    /// database: no users yet, so `/` leads to `/setup`).
    pub async fn start(db: TestDb) -> Site {
        let baton = Baton::new(&db.url);
        let server = baton.serve().await;
        server.wait_healthy(Duration::from_secs(30)).await;
        Site { backend: db.backend, server, baton, db }
    }

    /// `"sqlite"` or `"postgres"` (used in screenshot paths and messages).
    pub fn backend_name(&self) -> &'static str {
        match self.backend {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }

    /// The absolute URL of `path` on this server.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.server.base)
    }

    /// Starts a browser (1280 px wide) for this site.
    pub async fn browser(&self, js: Js) -> Browser {
        Browser::start(self, js).await
    }

    /// Starts another `baton serve` on the same database (a second instance,
    /// as in a scaled-out deployment); open a browser on it with
    /// [`Site::browser_at`]. Dropping the `Server` stops it.
    pub async fn second_server(&self) -> Server {
        let server = self.baton.serve().await;
        server.wait_healthy(Duration::from_secs(30)).await;
        server
    }

    /// Starts a browser on `server` (e.g. from [`Site::second_server`]).
    pub async fn browser_at(&self, server: &Server, js: Js) -> Browser {
        Browser::start_at(self, server, js).await
    }

    /// Creates a user with the CLI (password [`PASSWORD`]); `extra` are more
    /// `user create` flags, e.g. `&["--admin"]`, `&["--demo"]`,
    /// `&["--role", "developer"]`. Returns the user id.
    pub async fn create_user(&self, username: &str, extra: &[&str]) -> String {
        self.baton.create_user(username, PASSWORD, extra).await
    }

    /// Creates an API token for `username` with the CLI and returns the secret.
    pub async fn token(&self, username: &str) -> String {
        self.baton.create_token(username, &format!("browser-test-{}", uuid::Uuid::now_v7().simple())).await
    }

    /// One REST call with a Bearer token; `body` is sent as JSON.
    pub async fn api(&self, token: &str, method: &str, path: &str, body: Option<&Value>) -> Response {
        let auth = format!("Bearer {token}");
        let mut headers = vec![("Authorization", auth.as_str()), ("Accept", "application/json")];
        let bytes = body.map(|b| b.to_string().into_bytes());
        if bytes.is_some() {
            headers.push(("Content-Type", "application/json"));
        }
        self.server.request(method, path, &headers, bytes.as_deref()).await
    }

    /// `GET path` with a Bearer token; asserts 200 and returns the JSON body.
    #[track_caller]
    pub fn api_get<'a>(&'a self, token: &'a str, path: &'a str) -> impl Future<Output = Value> + 'a {
        let caller = std::panic::Location::caller();
        async move {
            let r = self.api(token, "GET", path, None).await;
            assert_eq!(r.status, 200, "GET {path} (called at {caller}): {r:?}");
            r.json()
        }
    }

    /// One REST call with a Bearer token that must succeed (2xx); returns the
    /// JSON body (`null` when empty). For fixtures: products, PBIs, stories.
    #[track_caller]
    pub fn api_ok<'a>(
        &'a self,
        token: &'a str,
        method: &'a str,
        path: &'a str,
        body: Option<&'a Value>,
    ) -> impl Future<Output = Value> + 'a {
        let caller = std::panic::Location::caller();
        async move {
            let r = self.api(token, method, path, body).await;
            assert!((200..300).contains(&r.status), "{method} {path} (called at {caller}): {r:?}");
            if r.body.trim().is_empty() { Value::Null } else { r.json() }
        }
    }

    /// A whole-number result of one SQL query on the test database (e.g.
    /// `SELECT COUNT(*) AS n FROM api_tokens`); the column must be named `n`.
    pub async fn count(&self, sql: &str) -> i64 {
        let db = &self.db.db;
        let row = db
            .query_one_raw(Statement::from_string(db.get_database_backend(), sql.to_string()))
            .await
            .unwrap_or_else(|e| panic!("query {sql:?}: {e}"))
            .unwrap_or_else(|| panic!("query {sql:?} returned no row"));
        row.try_get::<i64>("", "n").unwrap_or_else(|e| panic!("query {sql:?}: column `n`: {e}"))
    }

    /// The number of rows of every table: a cheap fingerprint to prove that a
    /// refused request left the database unchanged. Tables in `volatile`
    /// (e.g. `sessions`, touched by every request) are left out.
    pub async fn table_counts(&self, volatile: &[&str]) -> BTreeMap<String, i64> {
        let db = &self.db.db;
        let list = match self.backend {
            Backend::Sqlite => "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
            Backend::Postgres => {
                "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = 'public'"
            }
        };
        let rows = db
            .query_all_raw(Statement::from_string(db.get_database_backend(), list.to_string()))
            .await
            .expect("list the tables");
        let mut out = BTreeMap::new();
        for row in rows {
            let name: String = row.try_get("", "name").expect("table name");
            if volatile.contains(&name.as_str()) {
                continue;
            }
            let n = self.count(&format!("SELECT COUNT(*) AS n FROM \"{name}\"")).await;
            out.insert(name, n);
        }
        out
    }
}

/// `chromedriver` (and through it Chromium) in its own process group,
/// killed as a whole when dropped.
struct Driver {
    child: Child,
    pgid: u32,
    port: u16,
    /// Chromium's profile directory, removed after the processes are gone.
    profile: Option<Scratch>,
}

impl Driver {
    /// Starts chromedriver; on a loaded machine it now and then never
    /// prints its port, so a start that hangs is killed and tried again.
    async fn start() -> Driver {
        let exe = std::env::var("BATON_CHROMEDRIVER").unwrap_or_else(|_| "chromedriver".to_string());
        for attempt in 1..=3 {
            if let Some(driver) = Driver::try_start(&exe).await {
                return driver;
            }
            eprintln!("`{exe} --port=0` did not report its port within 30 s (attempt {attempt} of 3)");
        }
        panic!("`{exe} --port=0` did not report its port within 30 s, three times")
    }

    async fn try_start(exe: &str) -> Option<Driver> {
        let mut child = Command::new(exe)
            .arg("--port=0")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            // Chromium inherits the group, so one kill ends the whole tree.
            .process_group(0)
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start `{exe}` ({e}): install Debian's chromium and chromium-driver (scripts/test does)")
            });
        let pgid = child.id().expect("a running chromedriver has a pid");
        let stdout = child.stdout.take().expect("stdout was piped");
        let mut lines = BufReader::new(stdout).lines();
        let marker = "was started successfully on port ";
        let port = tokio::time::timeout(Duration::from_secs(30), async {
            while let Ok(Some(line)) = lines.next_line().await {
                if let Some(rest) = line.split(marker).nth(1) {
                    return rest.trim_end_matches('.').trim().parse::<u16>().ok();
                }
            }
            None
        })
        .await
        .ok()
        .flatten();
        let Some(port) = port else {
            // The whole group, as in `Drop`: nothing of a failed start may linger.
            let _ = std::process::Command::new("kill")
                .args(["-KILL", "--", &format!("-{pgid}")])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
            return None;
        };
        // Keep draining stdout so chromedriver never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Some(Driver { child, pgid, port, profile: Some(Scratch::new()) })
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        // The whole group (chromedriver, Chromium and its helpers): whatever
        // the test did, no browser may outlive it.
        let _ = std::process::Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.pgid)])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let _ = self.child.start_kill();
        // Chromium may still be writing its profile for a moment.
        if let Some(profile) = self.profile.take() {
            std::thread::sleep(Duration::from_millis(50));
            drop(profile);
        }
    }
}

/// The script that records Content-Security-Policy violations of a page in
/// `window.__batonCsp`. Registered for every new document (so violations
/// during loading are caught too) and re-run after each navigation.
const CSP_LISTENER: &str = r#"(() => {
  if (window.__batonCsp) return;
  window.__batonCsp = [];
  document.addEventListener('securitypolicyviolation', (e) => {
    window.__batonCsp.push({
      directive: e.violatedDirective, blocked: e.blockedURI,
      source: e.sourceFile + ':' + e.lineNumber, sample: e.sample,
    });
  }, true);
})();"#;

/// Headless Chromium on one [`Site`]. Dropping it kills the browser.
pub struct Browser {
    /// The WebDriver client, for anything the helpers do not cover.
    pub client: Client,
    /// `http://127.0.0.1:PORT` of the site.
    pub base: String,
    /// `"sqlite"` or `"postgres"`.
    pub backend: &'static str,
    /// Whether page scripts run.
    pub js: Js,
    session: String,
    width: std::sync::atomic::AtomicU32,
    // Declared last: dropped after the client.
    driver: Driver,
}

impl Browser {
    /// Starts chromedriver and headless Chromium (1280 px wide) for the
    /// site's server, checks that page scripts are on or off as asked, and
    /// opens nothing yet.
    pub async fn start(site: &Site, js: Js) -> Browser {
        Browser::start_at(site, &site.server, js).await
    }

    /// Like [`Browser::start`], for another server on the same database
    /// (see [`Site::second_server`]).
    pub async fn start_at(site: &Site, server: &Server, js: Js) -> Browser {
        let started = Instant::now();
        let driver = Driver::start().await;
        let profile = driver.profile.as_ref().expect("profile exists until drop").path.display().to_string();
        let mut args = vec![
            "--headless=new".to_string(),
            "--no-sandbox".into(),
            "--disable-gpu".into(),
            "--disable-quic".into(),
            "--no-first-run".into(),
            // Without these Chromium's own background connections go out to
            // the internet and, on a closed network, get in the way.
            "--disable-background-networking".into(),
            "--disable-component-update".into(),
            "--disable-sync".into(),
            "--disable-dev-shm-usage".into(),
            // Overlay scrollbars would change the layout width at 390 px.
            "--hide-scrollbars".into(),
            "--lang=en-US".into(),
            format!("--user-data-dir={profile}"),
            format!("--window-size={},900", WIDTHS[1]),
        ];
        if js == Js::Off {
            args.push("--blink-settings=scriptEnabled=false".into());
        }
        let mut chrome = json!({ "args": args });
        let binary = std::env::var("BATON_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".to_string());
        if std::path::Path::new(&binary).exists() {
            chrome["binary"] = json!(binary);
        }
        let mut caps = serde_json::Map::new();
        caps.insert("browserName".into(), json!("chrome"));
        caps.insert("goog:chromeOptions".into(), chrome);
        let client = fantoccini::ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{}", driver.port))
            .await
            .unwrap_or_else(|e| panic!("start a Chromium session through chromedriver: {e}"));
        let session = client.session_id().await.ok().flatten().expect("a new session has an id");
        let backend = site.backend_name();
        let browser = Browser {
            client,
            base: server.base.clone(),
            backend,
            js,
            session,
            width: std::sync::atomic::AtomicU32::new(WIDTHS[1]),
            driver,
        };
        browser.cdp("Page.addScriptToEvaluateOnNewDocument", json!({ "source": CSP_LISTENER })).await;
        eprintln!("[{backend}] chromedriver + Chromium ({js:?}) ready in {:?}", started.elapsed());
        browser.assert_js_setting().await;
        browser
    }

    /// Proves the JS setting took: a page script sets the title or not.
    async fn assert_js_setting(&self) {
        self.client
            .goto("data:text/html,<title>off</title><script>document.title='on'</script>")
            .await
            .expect("open the JS probe page");
        let title = self.client.title().await.expect("read the probe title");
        let expected = if self.js == Js::On { "on" } else { "off" };
        assert_eq!(title, expected, "page scripts should be {:?}", self.js);
    }

    /// Sends one Chrome DevTools Protocol command through chromedriver.
    pub async fn cdp(&self, cmd: &str, params: Value) -> Value {
        let body = json!({ "cmd": cmd, "params": params }).to_string();
        let path = format!("/session/{}/goog/cdp/execute", self.session);
        let (status, v) = driver_request(self.driver.port, "POST", &path, Some(body.as_str()))
            .await
            .unwrap_or_else(|e| panic!("CDP {cmd}: {e}"));
        assert_eq!(status, 200, "CDP {cmd}: {v}");
        v["value"].clone()
    }

    /// Runs `script` (a function body; use `return`) in the page.
    #[track_caller]
    pub fn js<'a>(&'a self, script: &'a str, args: Vec<Value>) -> impl Future<Output = Value> + 'a {
        let caller = std::panic::Location::caller();
        async move {
            self.client
                .execute(script, args)
                .await
                .unwrap_or_else(|e| panic!("execute script (called at {caller}): {e}\n{script}"))
        }
    }

    /// Opens `path` (e.g. `/settings/tokens`) and waits for it to load.
    pub async fn goto(&self, path: &str) {
        let url = format!("{}{path}", self.base);
        self.client.goto(&url).await.unwrap_or_else(|e| panic!("open {url}: {e}"));
        self.after_navigation().await;
    }

    async fn after_navigation(&self) {
        // The new-document hook has run already when page scripts are on;
        // this covers documents it could not reach.
        let _ = self.client.execute(CSP_LISTENER, vec![]).await;
    }

    /// The current path and query (e.g. `/settings/tokens`).
    pub async fn path(&self) -> String {
        let url = self.client.current_url().await.expect("read the current URL");
        match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_string(),
        }
    }

    /// The first element matching `css`, right now (panics if none).
    #[track_caller]
    pub fn find<'a>(&'a self, css: &'a str) -> impl Future<Output = Element> + 'a {
        let caller = std::panic::Location::caller();
        async move {
            match self.client.find(Locator::Css(css)).await {
                Ok(e) => e,
                Err(e) => panic!("no element matches {css:?} on {} (called at {caller}): {e}", self.path().await),
            }
        }
    }

    /// Every element matching `css`.
    pub async fn find_all(&self, css: &str) -> Vec<Element> {
        self.client.find_all(Locator::Css(css)).await.unwrap_or_else(|e| panic!("find {css:?}: {e}"))
    }

    /// How many elements match `css`.
    pub async fn count(&self, css: &str) -> usize {
        self.find_all(css).await.len()
    }

    /// Waits until an element matches `css` and returns it.
    #[track_caller]
    pub fn wait_for<'a>(&'a self, css: &'a str, timeout: Duration) -> impl Future<Output = Element> + 'a {
        let caller = std::panic::Location::caller();
        async move {
            let deadline = Instant::now() + timeout;
            loop {
                if let Ok(e) = self.client.find(Locator::Css(css)).await {
                    return e;
                }
                if Instant::now() >= deadline {
                    panic!(
                        "nothing matched {css:?} within {timeout:?} on {} (called at {caller})\n{}",
                        self.path().await,
                        self.body_text().await
                    );
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }

    /// Waits until no element matches `css`.
    #[track_caller]
    pub fn wait_gone<'a>(&'a self, css: &'a str, timeout: Duration) -> impl Future<Output = ()> + 'a {
        let caller = std::panic::Location::caller();
        async move {
            let what = format!("{css:?} gone (called at {caller})");
            let me = self;
            wait_until(&what, timeout, || async move { me.count(css).await == 0 }).await
        }
    }

    /// Waits until the JavaScript expression `expr` is truthy in the page
    /// (e.g. `document.querySelector('#task-T-1').dataset.status === 'done'`).
    #[track_caller]
    pub fn wait_js<'a>(&'a self, expr: &'a str, timeout: Duration) -> impl Future<Output = ()> + 'a {
        let caller = std::panic::Location::caller();
        async move {
            let script = format!("try {{ return !!({expr}); }} catch (e) {{ return false; }}");
            let what = format!("`{expr}` (called at {caller})");
            let (me, script) = (self, script.as_str());
            wait_until(&what, timeout, || async move {
                me.client.execute(script, vec![]).await.ok().and_then(|v| v.as_bool()).unwrap_or(false)
            })
            .await
        }
    }

    /// The visible text of the first element matching `css`.
    pub async fn text(&self, css: &str) -> String {
        self.find(css).await.text().await.unwrap_or_else(|e| panic!("text of {css:?}: {e}"))
    }

    /// The visible text of the whole page (for assertions and failure messages).
    pub async fn body_text(&self) -> String {
        match self.client.find(Locator::Css("body")).await {
            Ok(b) => b.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        }
    }

    /// An attribute of the first element matching `css`.
    pub async fn attr(&self, css: &str, name: &str) -> Option<String> {
        self.find(css).await.attr(name).await.unwrap_or_else(|e| panic!("attribute {name} of {css:?}: {e}"))
    }

    /// `data-code` of the first element matching `css`.
    pub async fn data_code(&self, css: &str) -> Option<String> {
        self.attr(css, "data-code").await
    }

    /// `data-status` of the first element matching `css`.
    pub async fn data_status(&self, css: &str) -> Option<String> {
        self.attr(css, "data-status").await
    }

    /// `(data-code, data-status)` of every element matching `css` that has a
    /// `data-code`, in document order (e.g. `"#column-done [data-code]"`).
    pub async fn items(&self, css: &str) -> Vec<(String, String)> {
        let v = self
            .js(
                "return [...document.querySelectorAll(arguments[0])].filter(e => e.dataset.code !== undefined)\
                 .map(e => [e.dataset.code, e.dataset.status || '']);",
                vec![json!(css)],
            )
            .await;
        serde_json::from_value(v).expect("pairs of strings")
    }

    /// Clears the field matching `css` and types `value`.
    pub async fn fill(&self, css: &str, value: &str) {
        let field = self.find(css).await;
        field.clear().await.unwrap_or_else(|e| panic!("clear {css:?}: {e}"));
        if !value.is_empty() {
            field.send_keys(value).await.unwrap_or_else(|e| panic!("type into {css:?}: {e}"));
        }
    }

    /// Clicks the element matching `css` (no waiting).
    pub async fn click(&self, css: &str) {
        self.find(css).await.click().await.unwrap_or_else(|e| panic!("click {css:?}: {e}"));
    }

    /// Clicks the element matching `css` and waits until a new document has
    /// loaded (a form post with its redirect, or a link). For actions that
    /// JavaScript handles without navigating, use [`Browser::click`] and
    /// [`Browser::wait_for`] instead.
    pub async fn click_and_wait_page(&self, css: &str) {
        // A marker on the old window; a new document has a fresh window.
        self.js("window.__batonOld = true; return true;", vec![]).await;
        self.click(css).await;
        let deadline = Instant::now() + WAIT;
        loop {
            let state = self
                .client
                .execute(
                    "if (!window.__batonOld) return document.readyState === 'complete' ? 'loaded' : 'loading';\
                     return [...document.querySelectorAll(':invalid')]\
                       .filter(e => e.name).map(e => e.name + ': ' + e.validationMessage).join('; ');",
                    vec![],
                )
                .await
                .ok();
            if state.as_ref().and_then(Value::as_str) == Some("loaded") {
                break;
            }
            if Instant::now() >= deadline {
                // The usual cause: the browser's own validation (required,
                // minlength, type) held the form back.
                panic!(
                    "no new page within {WAIT:?} after clicking {css:?} on {}; fields the browser finds invalid: {}",
                    self.path().await,
                    state.as_ref().and_then(Value::as_str).unwrap_or("?")
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        self.after_navigation().await;
    }

    /// Drags `source` onto `target` by dispatching the HTML5 drag-and-drop
    /// events in the page (`dragstart`, `dragenter`, `dragover`, `drop`,
    /// `dragend`, sharing one `DataTransfer`; the drop goes to the element
    /// under the drop point). Deterministic, needs no visible elements; for
    /// the real mouse use [`Browser::pointer_drag`], which Chromium also
    /// turns into native HTML5 drags. Returns after the listeners ran.
    pub async fn html5_drag(&self, source: &str, target: &str, at: DropAt) {
        let v = self
            .js(
                "const [src, dst, at] = arguments;\
                 const s = document.querySelector(src), d = document.querySelector(dst);\
                 if (!s || !d) return 'nothing matches ' + (s ? dst : src);\
                 d.scrollIntoView({ block: 'center' });\
                 const r = d.getBoundingClientRect(), sr = s.getBoundingClientRect();\
                 const x = r.left + r.width / 2;\
                 const y = at === 'top' ? r.top + 2 : at === 'bottom' ? r.bottom - 2 : r.top + r.height / 2;\
                 const under = document.elementFromPoint(x, y) || d;\
                 const dt = new DataTransfer();\
                 const fire = (el, type, cx, cy) => el.dispatchEvent(new DragEvent(type,\
                   { bubbles: true, cancelable: true, composed: true, dataTransfer: dt, clientX: cx, clientY: cy }));\
                 fire(s, 'dragstart', sr.left + sr.width / 2, sr.top + sr.height / 2);\
                 fire(under, 'dragenter', x, y);\
                 fire(under, 'dragover', x, y);\
                 fire(under, 'drop', x, y);\
                 fire(s, 'dragend', x, y);\
                 return 'ok';",
                vec![json!(source), json!(target), json!(at.as_str())],
            )
            .await;
        assert_eq!(v, json!("ok"), "HTML5 drag {source:?} → {target:?}");
    }

    /// Drags `source` onto `target` with the real (WebDriver) mouse: press,
    /// move in steps, release. Drives pointer-event dragging and, in this
    /// Chromium, native HTML5 drag and drop too (the harness self-test
    /// checks both). Both elements must be in the viewport.
    pub async fn pointer_drag(&self, source: &str, target: &str, at: DropAt) {
        use fantoccini::actions::{InputSource, MOUSE_BUTTON_LEFT, MouseActions, PointerAction};
        let from = self.find(source).await;
        let to = self.find(target).await;
        let (_, _, _, height) = to.rectangle().await.unwrap_or_else(|e| panic!("size of {target:?}: {e}"));
        let dy = match at {
            DropAt::Center => 0.0,
            DropAt::Top => -(height / 2.0 - 2.0),
            DropAt::Bottom => height / 2.0 - 2.0,
        };
        let step = Some(Duration::from_millis(100));
        let mouse = MouseActions::new("mouse".into())
            .then(PointerAction::MoveToElement { element: from, duration: None, x: 0.0, y: 0.0 })
            .then(PointerAction::Down { button: MOUSE_BUTTON_LEFT })
            // Past the drag thresholds libraries use before a drag starts.
            .then(PointerAction::MoveBy { duration: step, x: 0.0, y: 8.0 })
            .then(PointerAction::MoveToElement {
                element: to.clone(),
                duration: Some(Duration::from_millis(300)),
                x: 0.0,
                y: dy,
            })
            .then(PointerAction::MoveToElement { element: to, duration: step, x: 1.0, y: dy })
            .then(PointerAction::Up { button: MOUSE_BUTTON_LEFT });
        self.client.perform_actions(mouse).await.unwrap_or_else(|e| panic!("drag {source:?} → {target:?}: {e}"));
        let _ = self.client.release_actions().await;
    }

    /// Fills the named fields of the form matching `form` (e.g.
    /// `form[action="/login"]`), clicks its submit button and waits for the
    /// answer page. Fields are found by `name`.
    pub async fn submit_form(&self, form: &str, fields: &[(&str, &str)]) {
        for (name, value) in fields {
            self.fill(&format!("{form} [name=\"{name}\"]"), value).await;
        }
        self.click_and_wait_page(&format!("{form} [type=submit]")).await;
    }

    /// First-run set-up through the `/setup` form; ends on the home page,
    /// logged in as the new administrator.
    pub async fn setup_admin(&self, username: &str, password: &str) {
        self.goto("/").await;
        assert_eq!(self.path().await, "/setup", "a fresh Baton sends `/` to the set-up page");
        let form = "form[action=\"/setup\"]";
        self.submit_form(
            form,
            &[
                ("username", username),
                ("email", &format!("{username}@example.test")),
                ("password", password),
                ("password_confirm", password),
            ],
        )
        .await;
        assert_eq!(self.path().await, "/", "set-up must end on the home page:\n{}", self.body_text().await);
    }

    /// Logs in through the `/login` form and asserts it left the login page.
    pub async fn login(&self, username: &str, password: &str) {
        self.goto("/login").await;
        self.submit_form("form[action=\"/login\"]", &[("username", username), ("password", password)]).await;
        assert_ne!(self.path().await, "/login", "login as {username} failed:\n{}", self.body_text().await);
    }

    /// Logs out through the top bar's form; ends on `/login`.
    pub async fn logout(&self) {
        // "Log out" sits in the user menu: open it first, as a person would.
        self.click("details.usermenu > summary").await;
        self.click_and_wait_page("form[action=\"/logout\"] [type=submit]").await;
        assert_eq!(self.path().await, "/login");
    }

    /// Types `keys` into the focused element (text, or special keys such as
    /// `&fantoccini::key::Key::Enter.to_string()`), as a keyboard user would.
    pub async fn press(&self, keys: &str) {
        let focused = self.client.active_element().await.expect("an element has the focus");
        focused.send_keys(keys).await.unwrap_or_else(|e| panic!("press {keys:?}: {e}"));
    }

    /// Moves the focus to the element matching `css` (as Tab would). A
    /// Shift press first makes the keyboard the last input, so the browser
    /// shows the focus as it would after Tab (`:focus-visible`): older
    /// Chromium releases do not for a script's `focus()` on a fresh page.
    pub async fn focus(&self, css: &str) {
        self.find(css).await;
        self.press(&fantoccini::key::Key::Shift.to_string()).await;
        self.js("document.querySelector(arguments[0]).focus(); return true;", vec![json!(css)]).await;
    }

    /// The focused element, described as `tag#id.class` (`body` when none),
    /// for keyboard-flow assertions.
    pub async fn focused(&self) -> String {
        let v = self
            .js(
                "const e = document.activeElement || document.body;\
                 return e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + \
                   [...e.classList].map(c => '.' + c).join('');",
                vec![],
            )
            .await;
        v.as_str().unwrap_or_default().to_string()
    }

    /// `baton_session=VALUE` of this browser, for a raw request made outside
    /// it (e.g. a forged POST with [`Server::post_form`]).
    pub async fn session_cookie(&self) -> String {
        let c = self.client.get_named_cookie("baton_session").await.expect("the browser has a session cookie");
        format!("baton_session={}", c.value())
    }

    /// POSTs a form from inside the page with `fetch` (same origin, the
    /// session cookie, the `Origin` a real browser sends), as a forged or
    /// scripted request would; returns the status. The page's controls are
    /// not used, so this tests the server's refusal, not the disabled buttons.
    pub async fn fetch_post(&self, path: &str, fields: &[(&str, &str)]) -> u16 {
        let fields: serde_json::Map<String, Value> = fields.iter().map(|(k, v)| (k.to_string(), json!(v))).collect();
        let v = self
            .client
            .execute_async(
                "const [path, fields, done] = arguments;\
                 fetch(path, { method: 'POST', body: new URLSearchParams(fields), redirect: 'manual' })\
                   .then(r => done(r.status), e => done('error: ' + e));",
                vec![json!(path), Value::Object(fields)],
            )
            .await
            .unwrap_or_else(|e| panic!("fetch POST {path}: {e}"));
        let status = v.as_u64().unwrap_or_else(|| panic!("fetch POST {path}: {v}"));
        u16::try_from(status).expect("an HTTP status")
    }

    /// Every enabled control that would change something: submit buttons and
    /// fields of `method=post` forms (except logging out), and
    /// `[data-write]` elements, as short descriptions. A demo user's or a
    /// read-only member's page must list none.
    pub async fn enabled_write_controls(&self) -> Vec<String> {
        let v = self
            .js(
                "const out = [];\
                 for (const f of document.querySelectorAll('form')) {\
                   if ((f.getAttribute('method') || 'get').toLowerCase() !== 'post') continue;\
                   if (f.getAttribute('action') === '/logout') continue;\
                   for (const c of f.querySelectorAll('button, input, select, textarea')) {\
                     if (c.type === 'hidden' || c.matches(':disabled')) continue;\
                     out.push(`${f.getAttribute('action')} ${c.tagName.toLowerCase()}[name=${c.name}] ${c.textContent.trim()}`);\
                   }\
                 }\
                 for (const c of document.querySelectorAll('[data-write]')) {\
                   if (!c.matches(':disabled') && c.getAttribute('aria-disabled') !== 'true') out.push(c.outerHTML.slice(0, 120));\
                 }\
                 return out;",
                vec![],
            )
            .await;
        serde_json::from_value(v).expect("a list of strings")
    }

    /// Asserts [`Browser::enabled_write_controls`] is empty.
    pub async fn assert_no_enabled_write_controls(&self) {
        let found = self.enabled_write_controls().await;
        assert!(found.is_empty(), "enabled write controls on {}: {found:#?}", self.path().await);
    }

    /// The width of the window's layout viewport in CSS pixels.
    pub async fn viewport_width(&self) -> u32 {
        let v = self.js("return window.innerWidth;", vec![]).await;
        u32::try_from(v.as_u64().expect("innerWidth is a number")).expect("a sane width")
    }

    /// Sets the viewport width (e.g. 390 or 1280); the height is 900 px.
    pub async fn set_width(&self, width: u32) {
        self.set_viewport(width, 900).await;
    }

    async fn set_viewport(&self, width: u32, height: u32) {
        self.client.set_window_size(width, height).await.unwrap_or_else(|e| panic!("resize to {width}x{height}: {e}"));
        self.width.store(width, std::sync::atomic::Ordering::Relaxed);
    }

    /// Writes full-page PNGs of the current page at 390 and 1280 px to
    /// `target/browser-screenshots/<backend>/<name>-<width>.png` (`-nojs`
    /// is added with JavaScript off), then restores the width.
    pub async fn screenshot(&self, name: &str) {
        let dir = screenshot_dir().join(self.backend);
        std::fs::create_dir_all(&dir).expect("create the screenshot directory");
        let before = self.width.load(std::sync::atomic::Ordering::Relaxed);
        let suffix = if self.js == Js::Off { "-nojs" } else { "" };
        for width in WIDTHS {
            self.set_viewport(width, 900).await;
            // Grow the window to the page's height so the picture shows it all
            // (the window is taller than its viewport by the browser frame).
            let v = self
                .js("return [document.documentElement.scrollHeight, window.outerHeight - window.innerHeight];", vec![])
                .await;
            let page = v[0].as_u64().unwrap_or(900).min(8000) as u32;
            let frame = v[1].as_u64().unwrap_or(0) as u32;
            self.set_viewport(width, page.max(600) + frame).await;
            let png = self.client.screenshot().await.unwrap_or_else(|e| panic!("screenshot {name}: {e}"));
            let file = dir.join(format!("{name}{suffix}-{width}.png"));
            std::fs::write(&file, png).unwrap_or_else(|e| panic!("write {}: {e}", file.display()));
        }
        self.set_viewport(before, 900).await;
    }

    /// Runs axe-core on the current page and fails, listing them readably,
    /// on any `serious` or `critical` violation.
    /// With JavaScript off axe cannot run (it needs the page's timers); the
    /// markup is the same as with JavaScript on, which is scanned.
    pub async fn axe_check(&self) {
        if self.js == Js::Off {
            return;
        }
        let path = self.path().await;
        let violations = self.axe_violations().await;
        let bad: Vec<&Value> =
            violations.iter().filter(|v| matches!(v["impact"].as_str(), Some("serious" | "critical"))).collect();
        if !bad.is_empty() {
            panic!("axe-core: serious or critical violations on {path} ({}):\n{}", self.backend, format_axe(&bad));
        }
        let minor: Vec<&Value> = violations.iter().collect();
        if !minor.is_empty() {
            // Reported, not failed: the issue's bar is "no serious or critical".
            eprintln!("axe-core: minor or moderate findings on {path}:\n{}", format_axe(&minor));
        }
    }

    /// Every axe-core violation on the current page (all impacts), as axe
    /// reports them (`id`, `impact`, `help`, `helpUrl`, `nodes[].target`,
    /// `nodes[].failureSummary`).
    pub async fn axe_violations(&self) -> Vec<Value> {
        // Injected through WebDriver, not a <script> tag: the CSP would block that.
        let loaded = self.js("return typeof window.axe === 'object';", vec![]).await;
        if loaded != json!(true) {
            self.js(&format!("{}\nreturn true;", axe_source()), vec![]).await;
        }
        let v = self
            .client
            .execute_async(
                "const done = arguments[arguments.length - 1];\
                 axe.run(document, { resultTypes: ['violations'] })\
                   .then(r => done(JSON.stringify(r.violations)), e => done('error: ' + e));",
                vec![],
            )
            .await
            .unwrap_or_else(|e| panic!("run axe-core: {e}"));
        let text = v.as_str().unwrap_or_default();
        serde_json::from_str(text).unwrap_or_else(|_| panic!("axe-core failed: {v}"))
    }

    /// Fails if the page reported any Content-Security-Policy violation
    /// since it loaded. With JavaScript off nothing can be recorded (the
    /// listener is a script), so only the HTML check applies.
    pub async fn assert_no_csp_violations(&self) {
        let list = self.csp_violations().await;
        assert!(list.is_empty(), "CSP violations on {}: {list:#?}", self.path().await);
    }

    /// The CSP violations the current page recorded (directive, blocked URI,
    /// source and sample of each).
    pub async fn csp_violations(&self) -> Vec<Value> {
        let v = self.js("return window.__batonCsp === undefined ? null : window.__batonCsp;", vec![]).await;
        if v.is_null() {
            assert_eq!(self.js, Js::Off, "the CSP listener is missing on {}", self.path().await);
            return vec![];
        }
        v.as_array().cloned().unwrap_or_default()
    }

    /// Fails if the current DOM has a `style` attribute, an `on…=`
    /// event-handler attribute, an inline `<script>` or a `<style>` element.
    pub async fn assert_clean_html(&self) {
        let html = self.client.source().await.expect("read the page source");
        let problems = html_problems(&html);
        assert!(problems.is_empty(), "inline style or script on {}: {problems:#?}", self.path().await);
    }

    /// Every check a page must pass, in one call: screenshots at both widths
    /// (named `name`), axe-core, CSP listener and the HTML check.
    pub async fn check_page(&self, name: &str) {
        self.assert_clean_html().await;
        self.assert_no_csp_violations().await;
        self.axe_check().await;
        self.screenshot(name).await;
        // Resizing runs layout (and page scripts) again: nothing new may break.
        self.assert_no_csp_violations().await;
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            return;
        }
        // A failed flow leaves the page it failed on behind: its HTML and a
        // screenshot, named after the test (the test thread's name).
        let name: String = std::thread::current()
            .name()
            .unwrap_or("unnamed")
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '.' })
            .collect();
        let dir = screenshot_dir().join(self.backend);
        let (port, session) = (self.driver.port, self.session.clone());
        let _ = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() else { return };
            rt.block_on(async {
                let _ = std::fs::create_dir_all(&dir);
                let get = |what: &'static str| {
                    let path = format!("/session/{session}/{what}");
                    async move {
                        let (_, v) = driver_request(port, "GET", &path, None).await.ok()?;
                        v["value"].as_str().map(str::to_string)
                    }
                };
                if let Some(html) = get("source").await {
                    let file = dir.join(format!("FAILED-{name}.html"));
                    if std::fs::write(&file, html).is_ok() {
                        eprintln!("the page at the failure: {}", file.display());
                    }
                }
                if let Some(png) = get("screenshot").await.and_then(|b| base64_decode(&b)) {
                    let file = dir.join(format!("FAILED-{name}.png"));
                    if std::fs::write(&file, png).is_ok() {
                        eprintln!("a screenshot of it: {}", file.display());
                    }
                }
            });
        })
        .join();
    }
}

/// One request to chromedriver's own HTTP API (for what fantoccini does not
/// offer: CDP commands, and the failure dump from a synchronous `Drop`).
/// chromedriver keeps connections open, so the body is read by its length.
async fn driver_request(port: u16, method: &str, path: &str, body: Option<&str>) -> Result<(u16, Value), String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let exchange = async {
        let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.map_err(|e| e.to_string())?;
        let body = body.unwrap_or_default();
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\n\r\n",
            body.len()
        );
        stream.write_all(head.as_bytes()).await.map_err(|e| e.to_string())?;
        stream.write_all(body.as_bytes()).await.map_err(|e| e.to_string())?;
        let mut raw = Vec::new();
        let mut buf = [0u8; 64 * 1024];
        loop {
            let n = stream.read(&mut buf).await.map_err(|e| e.to_string())?;
            if n == 0 {
                return Err("connection closed before the whole answer".to_string());
            }
            raw.extend_from_slice(&buf[..n]);
            let Some(split) = raw.windows(4).position(|w| w == b"\r\n\r\n") else { continue };
            let head = String::from_utf8_lossy(&raw[..split]).to_ascii_lowercase();
            let status = head.split(' ').nth(1).and_then(|s| s.parse::<u16>().ok()).ok_or("no status")?;
            let length = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse::<usize>().ok())
                .ok_or("no content-length")?;
            if raw.len() >= split + 4 + length {
                let v = serde_json::from_slice(&raw[split + 4..split + 4 + length]).map_err(|e| e.to_string())?;
                return Ok((status, v));
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(30), exchange).await.map_err(|_| "timed out after 30 s".to_string())?
}

/// Decodes standard base64 (WebDriver's screenshots), `None` if malformed.
fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in text.bytes().filter(|c| !c.is_ascii_whitespace() && *c != b'=') {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

/// Polls `condition` every 50 ms until it is true; panics naming `what`
/// after `timeout`.
pub async fn wait_until<F, Fut>(what: &str, timeout: Duration, mut condition: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if condition().await {
            return;
        }
        if Instant::now() >= deadline {
            panic!("waited {timeout:?} for {what}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// `target/browser-screenshots` (from `CARGO_TARGET_DIR`, else from where
/// the test binary is: `target/debug/deps/browser-…`).
pub fn screenshot_dir() -> PathBuf {
    target_dir().join("browser-screenshots")
}

fn target_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR") {
        let dir = PathBuf::from(dir);
        return if dir.is_absolute() { dir } else { PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..").join(dir) };
    }
    let exe = std::env::current_exe().expect("the test binary's path");
    exe.ancestors()
        .find(|p| p.file_name().is_some_and(|n| n == "deps"))
        .and_then(|deps| deps.parent()?.parent())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target"))
}

/// The text of `axe.min.js`, read once per test binary.
fn axe_source() -> &'static str {
    static AXE: OnceLock<String> = OnceLock::new();
    AXE.get_or_init(|| {
        let file = target_dir().join("axe/node_modules/axe-core/axe.min.js");
        std::fs::read_to_string(&file).unwrap_or_else(|e| {
            panic!(
                "read {} ({e}): install it with `npm install --prefix target/axe --save-exact axe-core@{AXE_VERSION}` \
                 (scripts/test does)",
                file.display()
            )
        })
    })
}

fn format_axe(violations: &[&Value]) -> String {
    let mut out = String::new();
    for v in violations {
        out.push_str(&format!(
            "- [{}] {}: {} ({})\n",
            v["impact"].as_str().unwrap_or("?"),
            v["id"].as_str().unwrap_or("?"),
            v["help"].as_str().unwrap_or(""),
            v["helpUrl"].as_str().unwrap_or("")
        ));
        for n in v["nodes"].as_array().into_iter().flatten() {
            out.push_str(&format!("    at {}\n", n["target"]));
            if let Some(summary) = n["failureSummary"].as_str() {
                for line in summary.lines() {
                    out.push_str(&format!("       {line}\n"));
                }
            }
        }
    }
    out
}

/// Inline `style` attributes, `on…` event-handler attributes, inline
/// `<script>` and `<style>` elements in `html`, one description each.
pub fn html_problems(html: &str) -> Vec<String> {
    let mut problems = Vec::new();
    let lower = html.to_ascii_lowercase();
    let b = lower.as_bytes();
    let mut i = 0;
    while let Some(off) = lower[i..].find('<') {
        let start = i + off;
        if lower[start..].starts_with("<!--") {
            i = lower[start..].find("-->").map_or(lower.len(), |e| start + e + 3);
            continue;
        }
        // The end of the tag, skipping quoted attribute values.
        let mut j = start + 1;
        let mut quote: Option<u8> = None;
        while j < b.len() {
            match (quote, b[j]) {
                (Some(q), c) if c == q => quote = None,
                (None, b'"' | b'\'') => quote = Some(b[j]),
                (None, b'>') => break,
                _ => {}
            }
            j += 1;
        }
        let tag = &lower[start..j.min(lower.len())];
        let name: String = tag[1..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '-').collect();
        let snippet = || html[start..j.min(html.len())].chars().take(160).collect::<String>();
        if !name.is_empty() {
            for attr in attribute_names(&tag[1 + name.len()..]) {
                if attr == "style" || (attr.starts_with("on") && attr.len() > 2) {
                    problems.push(format!("`{attr}` attribute: {}", snippet()));
                }
            }
            let raw_text_end = |closing: &str| lower[j..].find(closing).map_or(lower.len(), |e| j + e + closing.len());
            if name == "script" {
                if !attribute_names(&tag[7..]).iter().any(|a| a == "src") {
                    problems.push(format!("inline <script>: {}", snippet()));
                }
                i = raw_text_end("</script");
                continue;
            }
            if name == "style" {
                problems.push(format!("<style> element: {}", snippet()));
                i = raw_text_end("</style");
                continue;
            }
        }
        i = j.max(start + 1);
    }
    problems
}

/// The attribute names in the inside of a start tag (after its name).
fn attribute_names(inside: &str) -> Vec<String> {
    let b = inside.as_bytes();
    let mut names = Vec::new();
    let mut i = 0;
    while i < b.len() {
        while i < b.len() && (b[i].is_ascii_whitespace() || b[i] == b'/') {
            i += 1;
        }
        let start = i;
        while i < b.len() && !b[i].is_ascii_whitespace() && !matches!(b[i], b'=' | b'>' | b'/') {
            i += 1;
        }
        if i > start {
            names.push(inside[start..i].to_string());
        } else if i < b.len() && b[i] != b'=' {
            i += 1;
            continue;
        }
        while i < b.len() && b[i].is_ascii_whitespace() {
            i += 1;
        }
        if i < b.len() && b[i] == b'=' {
            i += 1;
            while i < b.len() && b[i].is_ascii_whitespace() {
                i += 1;
            }
            match b.get(i) {
                Some(&q @ (b'"' | b'\'')) => {
                    i += 1;
                    while i < b.len() && b[i] != q {
                        i += 1;
                    }
                    i += 1;
                }
                _ => {
                    while i < b.len() && !b[i].is_ascii_whitespace() && b[i] != b'>' {
                        i += 1;
                    }
                }
            }
        }
    }
    names
}

#[test]
fn base64_decodes_what_webdriver_sends() {
    assert_eq!(base64_decode("aGVsbG8gd29ybGQ=").as_deref(), Some(&b"hello world"[..]));
    assert_eq!(base64_decode("iVBORw0KGgo=").as_deref(), Some(&b"\x89PNG\r\n\x1a\n"[..]));
    assert_eq!(base64_decode("not*base64"), None);
}

#[test]
fn html_problems_finds_inline_style_handlers_and_scripts() {
    let clean = r#"<!doctype html><html><head><script type="module" src="/static/js/app.js"></script>
        <link rel="stylesheet" href="/static/app.css"></head><body data-x='a onclick=b style=c'>
        <p title="style=&quot;x&quot;">on=1 style="not an attribute"</p><!-- <p style="x"> --></body></html>"#;
    assert_eq!(html_problems(clean), Vec::<String>::new());
    let dirty = r#"<p style="color:red">x</p><button type=submit onclick="go()">b</button>
        <script>alert(1)</script><style>p{}</style><img src=x onerror=alert(1)>"#;
    let found = html_problems(dirty);
    assert_eq!(found.len(), 5, "{found:#?}");
    assert!(found[0].starts_with("`style`"), "{found:#?}");
    assert!(found[1].starts_with("`onclick`"), "{found:#?}");
    assert!(found[2].starts_with("inline <script>"), "{found:#?}");
    assert!(found[3].starts_with("<style>"), "{found:#?}");
    assert!(found[4].starts_with("`onerror`"), "{found:#?}");
}
