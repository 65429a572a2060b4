//! Browser tests: headless Chromium, driven over WebDriver (fantoccini +
//! Debian's `chromedriver`), against a real `baton serve`, on SQLite and on
//! Postgres. All flows live in this one test binary so they share one build.
//!
//! # Running them
//!
//! `scripts/test` installs what they need when it is missing (Debian's
//! `chromium` and `chromium-driver`; `axe-core` into `target/axe`) and
//! starts Postgres. By hand, with a throwaway Postgres running:
//!
//! ```text
//! cargo nextest run -p baton --test browser            # all flows
//! cargo nextest run -p baton --test browser auth_pages # one module
//! ```
//!
//! Screenshots land in `target/browser-screenshots/<backend>/<name>-<width>.png`
//! (390 and 1280 px, full page; `-nojs` with JavaScript off). Look at them.
//!
//! # Writing a flow
//!
//! 1. Make a module `tests/browser/<area>.rs` (e.g. `board.rs`) and add it
//!    below with `#[path = "browser/<area>.rs"] mod <area>;`.
//! 2. In it, `use crate::harness::*;` (that includes `PASSWORD`) and write flows with
//!    [`browser_tests!`](harness::browser_tests): each body gets a started
//!    `site` (a fresh database and a running `baton serve`) and runs once
//!    per backend, as `<flow>::sqlite` and `<flow>::postgres`.
//! 3. Start a browser with `site.browser(Js::On)` (or `Js::Off` for the
//!    "works without JavaScript" proof), get logged in with
//!    `b.setup_admin("alice", PASSWORD)` (through `/setup`) or create users
//!    with `site.create_user("bob", &["--role", "developer"])` and
//!    `b.login("bob", PASSWORD)`.
//! 4. Make fixtures the fast way, not through the UI (unless the UI is what
//!    you test): `let token = site.token("alice").await;` then
//!    `site.api(&token, "POST", "/api/products", Some(&json!({...})))`.
//! 5. Drive the page: `b.goto(path)`, `b.fill(css, text)`, `b.click(css)`,
//!    `b.submit_form(form_css, &[(name, value)])` (fills, submits, waits for
//!    the answer page), `b.click_and_wait_page(css)` for links and buttons
//!    that navigate. For things JavaScript changes in place, wait:
//!    `b.wait_for(css, WAIT)`, `b.wait_gone(css, WAIT)`,
//!    `b.wait_js("document.querySelector('#task-T-1').dataset.status === 'done'", WAIT)`
//!    or `wait_until("what", WAIT, || async { … })`. Never sleep. Drag with
//!    `b.pointer_drag(from_css, to_css, DropAt::Top)` (the real mouse; it
//!    drives native HTML5 drag and drop in Chromium) or `b.html5_drag(…)`
//!    (the same events dispatched by script).
//! 6. Read what the page shows by the data attributes, not by wording:
//!    `b.data_status("#task-T-1")`, `b.items("#column-done [data-code]")`
//!    (`(code, status)` pairs in document order), `b.text(css)`.
//! 7. Call `b.check_page("<page-name>")` once on every page (and state) you
//!    visit: it takes the screenshots and fails on axe-core serious/critical
//!    findings, CSP violations, `style=`/`on…=` attributes and inline
//!    `<script>`/`<style>`.
//! 8. Assert the database, not only the page: `site.api_get(&token, path)`
//!    (REST, JSON), `site.baton.run(&[...])` (the CLI),
//!    `site.count("SELECT COUNT(*) AS n FROM …")` and
//!    `site.table_counts(&["sessions"])` (row counts of every table, to prove
//!    that a refused request changed nothing).
//! 9. Keyboard flows: `b.focus(css)`, `b.press("text")`,
//!    `b.press(&fantoccini::key::Key::Enter.to_string())`, `b.focused()`
//!    (`tag#id.class` of the focused element). Several users: one
//!    `site.browser(..)` each. Two instances on one database (live updates
//!    across instances): `let other = site.second_server().await;` and
//!    `site.browser_at(&other, Js::On)`.
//! 10. Demo users and read-only members: `b.assert_no_enabled_write_controls()`
//!     (post-form controls and `[data-write]` elements must be `disabled`),
//!     then forge writes with `b.fetch_post(path, fields)` (from the page,
//!     same origin) or `site.server.post_form(path, fields, &[("Cookie", &b.session_cookie().await)])`
//!     and expect 403.
//!
//! With `Js::Off` page scripts do not run, but the harness's own WebDriver
//! `execute` calls do, so every helper above works except `fetch_post`
//! (use the raw `post_form` instead) and axe (it needs the page's timers;
//! it is skipped, the markup is the same one the JS-on run scans).
//!
//! When a flow fails, the page it failed on is saved next to the screenshots
//! as `FAILED-<test>.html` and `FAILED-<test>.png`; the panic message names
//! the page's path and, for a wait, what was awaited.
//!
//! Each flow starts its own chromedriver and Chromium (about 0.5 s on an
//! idle machine, 2–3.5 s on a busy one) and kills them, with their whole
//! process group, when the `Browser` is dropped, whatever happened. Nextest
//! runs at most two browser tests at a time (`.config/nextest.toml`).

mod common;

#[path = "browser/harness.rs"]
mod harness;

#[path = "browser/harness_checks.rs"]
mod harness_checks;

#[path = "browser/auth_pages.rs"]
mod auth_pages;

#[path = "browser/every_page.rs"]
mod every_page;

#[path = "browser/idea_flows.rs"]
mod idea_flows;

#[path = "browser/people_pages.rs"]
mod people_pages;

#[path = "browser/agent_flows.rs"]
mod agent_flows;

#[path = "browser/backlog_flows.rs"]
mod backlog_flows;

#[path = "browser/live_flows.rs"]
mod live_flows;

#[path = "browser/market_fixture.rs"]
mod market_fixture;

#[path = "browser/market_fixture_check.rs"]
mod market_fixture_check;

#[path = "browser/market_browse.rs"]
mod market_browse;

#[path = "browser/market_story.rs"]
mod market_story;

#[path = "browser/market_client.rs"]
mod market_client;
