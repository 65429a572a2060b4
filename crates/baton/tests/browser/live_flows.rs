//! Live updates seen from the browser (issue 10, "Live" and proof item 2):
//! pages follow changes made elsewhere — over MCP by another process, on
//! another instance (Postgres), in another browser session, over REST —
//! without a reload, and never wipe an edit in progress.
//!
//! The latency of "MCP change → card in its new column" is measured from
//! just before the MCP call (the test's clock) to the moment a
//! `MutationObserver` installed in the page beforehand sees the card, with
//! its new `data-status`, inside the new column (the page's clock: the same
//! machine, both `Date.now()`). It is printed as p50/p95/max.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use baton_store::sea_orm::{ConnectionTrait, Statement};
use serde_json::{Value, json};

use crate::{
    common::{Server, git::PLAN, mcp::McpHttp},
    harness::*,
};

/// The budget is 1 s; a debug build on a busy shared 2-core
/// machine stalls now and then, so each single change may take up to 3 s.
const BUDGET: Duration = Duration::from_secs(3);

/// The median must still be well inside the 1 s (its target is 300 ms).
const P50_BUDGET: Duration = Duration::from_secs(1);

/// How many MCP changes each latency measurement makes.
const CHANGES: usize = 20;

/// The statuses a measured task cycles through. A second task stays `todo`,
/// so the story (and with it the sprint) never completes and closes.
const CYCLE: [&str; 4] = ["in_progress", "review", "done", "todo"];

fn id_of(v: &Value) -> String {
    v["id"].as_str().unwrap_or_else(|| panic!("no id in {v}")).to_string()
}

fn code_of(v: &Value) -> String {
    v["code"].as_str().unwrap_or_else(|| panic!("no code in {v}")).to_string()
}

fn epoch_ms() -> i64 {
    let d = SystemTime::now().duration_since(UNIX_EPOCH).expect("the clock is after 1970");
    i64::try_from(d.as_millis()).expect("milliseconds fit in i64")
}

/// Alice's product LIV: an open sprint with one story in it and two tasks
/// (`task` is the one the flows move, `other` keeps the story open).
struct Live {
    token: String,
    product_id: String,
    task: String,
    other: String,
}

/// Sets alice up through `/setup` in `b` (logged in as her), then the
/// backlog over REST.
async fn live_product(site: &Site, b: &Browser) -> Live {
    b.setup_admin("alice", PASSWORD).await;
    let token = site.token("alice").await;
    let product = site
        .api_ok(
            &token,
            "POST",
            "/api/products",
            Some(&json!({"name": "Live wire", "code": "LIV", "definition_of_done": "Tests pass"})),
        )
        .await;
    let product_id = id_of(&product);
    let sprint = site
        .api_ok(&token, "POST", &format!("/api/products/{product_id}/sprints"), Some(&json!({"sprint_goal": "Spark"})))
        .await;
    let pbi = site
        .api_ok(&token, "POST", &format!("/api/products/{product_id}/pbis"), Some(&json!({"title": "Wiring"})))
        .await;
    let story = site
        .api_ok(
            &token,
            "POST",
            &format!("/api/pbis/{}/stories", id_of(&pbi)),
            Some(&json!({"title": "Connect the mains", "sprint_id": sprint["id"]})),
        )
        .await;
    let story_id = id_of(&story);
    let mut codes = Vec::new();
    for title in ["Strip the wires", "Fit the plug"] {
        let task = site
            .api_ok(
                &token,
                "POST",
                &format!("/api/stories/{story_id}/tasks"),
                Some(&json!({"title": title, "implementation_plan": PLAN})),
            )
            .await;
        codes.push(code_of(&task));
    }
    let other = codes.pop().expect("two tasks");
    let task = codes.pop().expect("two tasks");
    Live { token, product_id, task, other }
}

/// Adds bob (a developer) to the product with write access; returns his token.
async fn add_bob(site: &Site, live: &Live) -> String {
    site.create_user("bob", &["--role", "developer"]).await;
    let body = json!({"username": "bob", "access": "read_write"});
    site.api_ok(&live.token, "POST", &format!("/api/products/{}/members", live.product_id), Some(&body)).await;
    site.token("bob").await
}

/// Opens `path` and waits until its live stream listens (`ready` received),
/// so a change made from now on is not missed.
async fn open_live(b: &Browser, path: &str) {
    b.goto(path).await;
    b.wait_js("document.body.dataset.liveState === 'open'", WAIT).await;
}

/// Installs the in-page watch: `window.__live.want = {card, column, status}`
/// names what to wait for; the observer stamps `window.__live.at` (epoch
/// ms, page clock) the first time exactly one such card is inside that
/// column with that status. `window.__live.marker` is lost on a reload.
async fn install_watch(b: &Browser) {
    b.js(
        "window.__live = { want: null, at: null, marker: 'same page' };\
         const check = () => {\
           const l = window.__live;\
           if (!l.want || l.at !== null) return;\
           const cards = document.querySelectorAll(l.want.card);\
           if (cards.length === 1 && cards[0].dataset.status === l.want.status && cards[0].closest(l.want.column))\
             l.at = Date.now();\
         };\
         window.__liveCheck = check;\
         new MutationObserver(check).observe(document.body,\
           { subtree: true, childList: true, attributes: true, attributeFilter: ['data-status'] });\
         return true;",
        vec![],
    )
    .await;
}

/// Arms the watch for `card` reaching `status` on the board (it must not
/// be there yet, or the measurement would be void).
async fn want(b: &Browser, card: &str, status: &str) {
    let column = format!("#column-{status}");
    let armed = b
        .js(
            "window.__live.want = { card: arguments[0], column: arguments[1], status: arguments[2] };\
             window.__live.at = null; window.__liveCheck(); return window.__live.at === null;",
            vec![json!(card), json!(column), json!(status)],
        )
        .await;
    assert_eq!(armed, json!(true), "{card} is already {status} before the change");
}

/// Waits for the armed watch and returns the latency from `since_ms`.
async fn seen_after(b: &Browser, since_ms: i64, what: &str) -> Duration {
    b.wait_js("window.__live.at !== null", WAIT).await;
    let at = b.js("return window.__live.at;", vec![]).await.as_i64().unwrap_or_else(|| panic!("{what}: no time"));
    Duration::from_millis(u64::try_from(at - since_ms).unwrap_or(0))
}

/// Makes [`CHANGES`] status changes of `task` over MCP (`mcp`) and measures
/// how long each takes to show on the board open in `b`.
async fn measure(b: &Browser, mcp: &mut McpHttp, task: &str) -> Vec<Duration> {
    let card = format!("#task-{task}");
    // A first call opens the keep-alive connection, outside the measurement.
    mcp.rpc("tools/list", json!({})).await;
    let mut latencies = Vec::with_capacity(CHANGES);
    for i in 0..CHANGES {
        let status = CYCLE[i % CYCLE.len()];
        want(b, &card, status).await;
        let before = epoch_ms();
        let res = mcp.call("update_task_status", json!({"task_id": task, "status": status})).await;
        assert_eq!(res.ok("update_task_status")["status"], status, "{res:?}");
        let latency = seen_after(b, before, &format!("{task} → {status}")).await;
        assert!(latency < BUDGET, "change {i}: {task} → {status} took {latency:?} to show (budget {BUDGET:?})");
        latencies.push(latency);
    }
    latencies
}

/// p50, p95 and max of `v` (sorted in place).
fn summary(v: &mut [Duration]) -> (Duration, Duration, Duration) {
    v.sort();
    let at = |q: f64| {
        let rank = (q * v.len() as f64).ceil() as usize;
        v[rank.clamp(1, v.len()) - 1]
    };
    (at(0.50), at(0.95), v[v.len() - 1])
}

/// Prints and checks a latency series.
fn report(site: &Site, what: &str, latencies: &mut [Duration]) {
    let (p50, p95, max) = summary(latencies);
    let all: Vec<u128> = latencies.iter().map(Duration::as_millis).collect();
    eprintln!(
        "[{}] {what}: p50 {} ms, p95 {} ms, max {} ms over {} changes (sorted, ms: {all:?})",
        site.backend_name(),
        p50.as_millis(),
        p95.as_millis(),
        max.as_millis(),
        latencies.len()
    );
    assert!(p50 < P50_BUDGET, "{what}: p50 {p50:?} (budget {P50_BUDGET:?}; the issue's target is 300 ms)");
}

/// Asserts the page in `b` was not reloaded since [`install_watch`].
async fn assert_same_page(b: &Browser, path: &str) {
    assert_eq!(b.js("return window.__live && window.__live.marker;", vec![]).await, json!("same page"), "no reload");
    assert_eq!(b.path().await, path);
}

/// `PATCH /api/tasks/{code}` as the product owner.
async fn patch_task(site: &Site, token: &str, code: String, body: Value) -> Value {
    site.api_ok(token, "PATCH", &format!("/api/tasks/{code}"), Some(&body)).await
}

/// Runs one SQL statement on the test database.
async fn sql(site: &Site, statement: &str) {
    let db = &site.db.db;
    db.execute_raw(Statement::from_string(db.get_database_backend(), statement.to_string()))
        .await
        .unwrap_or_else(|e| panic!("{statement}: {e}"));
}

browser_tests! {
    /// Proof item 2: the board is open; another process changes a task's
    /// status over MCP; the card moves to its column without a reload.
    /// Twenty changes, latency measured.
    async fn an_mcp_status_change_moves_the_card_on_the_open_board(site) {
        let b = site.browser(Js::On).await;
        let live = live_product(&site, &b).await;
        let card = format!("#task-{}", live.task);
        open_live(&b, "/products/LIV/board").await;
        assert_eq!(b.items(&format!("#column-todo {card}")).await, vec![(live.task.clone(), "todo".to_string())]);
        install_watch(&b).await;

        let mut mcp = McpHttp::new(site.server.port, &live.token);
        let mut latencies = measure(&b, &mut mcp, &live.task).await;
        report(&site, "MCP update_task_status → card in its new column (same instance)", &mut latencies);

        assert_same_page(&b, "/products/LIV/board").await;
        assert_eq!(b.count(&card).await, 1, "one card, no duplicate");
        // The last change of the cycle put the task back to todo; the other
        // task never moved.
        let task = site.api_get(&live.token, &format!("/api/tasks/{}", live.task)).await;
        assert_eq!(task["status"], CYCLE[(CHANGES - 1) % CYCLE.len()], "{task}");
        assert_eq!(b.data_status(&format!("#column-todo #task-{}", live.other)).await.as_deref(), Some("todo"));
        b.check_page("board-live").await;
    }

    /// Proof item 2 on Postgres: the browser is on instance B, the MCP
    /// change is made on instance A; the event travels through
    /// LISTEN/NOTIFY. Then the page refetches on `resync`: the listener
    /// connections are cut, a change made behind the bus's back (plain SQL,
    /// no event) shows once the listener is back.
    async fn an_mcp_change_on_instance_a_moves_the_card_on_instance_b(site) {
        if site.backend != baton_store::Backend::Postgres {
            eprintln!("[sqlite] skipped: instances share events only on Postgres (SQLite's bus is in-process)");
            return;
        }
        let setup = site.browser(Js::On).await;
        let live = live_product(&site, &setup).await;
        drop(setup);
        let other: Server = site.second_server().await;
        let b = site.browser_at(&other, Js::On).await;
        b.login("alice", PASSWORD).await;
        open_live(&b, "/products/LIV/board").await;
        install_watch(&b).await;

        let mut mcp = McpHttp::new(site.server.port, &live.token);
        let mut latencies = measure(&b, &mut mcp, &live.task).await;
        report(&site, "MCP update_task_status on instance A → card moved on instance B", &mut latencies);
        assert_same_page(&b, "/products/LIV/board").await;

        // `resync`: a title changed in the database directly sends no
        // event; cutting the listeners makes every bus reconnect and tell
        // its streams to resync, and the page re-reads itself.
        let title = format!("#task-{} .title", live.other);
        assert_eq!(b.text(&title).await, "Fit the plug");
        sql(&site, &format!("UPDATE tasks SET title = 'Fit the plug (resynced)' WHERE code = '{}'", live.other)).await;
        let cut = site
            .count(
                "SELECT COUNT(*) FILTER (WHERE pg_terminate_backend(pid)) AS n FROM pg_stat_activity \
                 WHERE application_name = 'baton-events' AND datname = current_database()",
            )
            .await;
        assert!(cut >= 2, "both instances listen ({cut} listener connections cut)");
        b.wait_js(
            &format!("document.querySelector('#task-{} .title').textContent === 'Fit the plug (resynced)'", live.other),
            WAIT,
        )
        .await;
        assert_same_page(&b, "/products/LIV/board").await;
        eprintln!("[postgres] listeners cut ({cut}) → resync → the page re-read itself");

        // And events flow again after the reconnection.
        want(&b, &format!("#task-{}", live.task), "review").await;
        let before = epoch_ms();
        mcp.call("update_task_status", json!({"task_id": live.task, "status": "review"})).await.ok("after resync");
        let latency = seen_after(&b, before, "after the listener reconnected").await;
        eprintln!("[postgres] after the reconnection: {latency:?}");
        assert!(latency < BUDGET, "{latency:?}");
    }

    /// Two sessions on one board: alice drags a card, bob's page follows;
    /// bob moves it with the keyboard-reachable Move form, alice's page
    /// follows. Both without a reload.
    async fn two_sessions_see_each_others_moves_live(site) {
        let a = site.browser(Js::On).await;
        let live = live_product(&site, &a).await;
        add_bob(&site, &live).await;
        let b = site.browser(Js::On).await;
        b.login("bob", PASSWORD).await;
        let card = format!("#task-{}", live.task);
        open_live(&a, "/products/LIV/board").await;
        open_live(&b, "/products/LIV/board").await;
        install_watch(&a).await;
        install_watch(&b).await;

        // Alice drags the card to Review with the mouse.
        want(&b, &card, "review").await;
        let before = epoch_ms();
        a.pointer_drag(&card, "#column-review ul.cards", DropAt::Center).await;
        let seen = seen_after(&b, before, "alice's drag on bob's page").await;
        a.wait_js(&format!("document.querySelector('#column-review {card}') !== null"), WAIT).await;
        let task = site.api_get(&live.token, &format!("/api/tasks/{}", live.task)).await;
        assert_eq!(task["status"], "review", "the drag saved: {task}");
        eprintln!("[{}] alice's drag → bob's board: {seen:?} (from the start of the drag)", site.backend_name());
        assert!(seen < BUDGET + Duration::from_secs(1), "{seen:?}");

        // Bob moves it to Done with the Move… form (no drag).
        want(&a, &card, "done").await;
        b.click(&format!("{card} summary[data-move-button]")).await;
        b.find(&format!("#status-{}", live.task)).await.select_by_value("done").await.expect("choose done");
        let before = epoch_ms();
        b.click(&format!("{card} form.move-form button[type=submit]")).await;
        let seen = seen_after(&a, before, "bob's move on alice's page").await;
        b.wait_js(&format!("document.querySelector('#column-done {card}') !== null"), WAIT).await;
        let task = site.api_get(&live.token, &format!("/api/tasks/{}", live.task)).await;
        assert_eq!(task["status"], "done", "bob's move saved: {task}");
        eprintln!("[{}] bob's Move form → alice's board: {seen:?}", site.backend_name());
        assert!(seen < BUDGET, "{seen:?}");

        assert_same_page(&a, "/products/LIV/board").await;
        assert_same_page(&b, "/products/LIV/board").await;
        assert_eq!((a.count(&card).await, b.count(&card).await), (1, 1), "one card on each page");
    }

    /// An edit in progress survives a live refresh: bob types into an
    /// inline edit form of the backlog; changes arrive meanwhile; his text
    /// and focus stay (the region waits while he types, and keeps his
    /// unsaved text when it catches up after he looked away), and what he
    /// saves is saved. Also: the backlog and a job page follow REST changes
    /// live.
    async fn an_edit_in_progress_survives_a_live_refresh(site) {
        let setup = site.browser(Js::On).await;
        let live = live_product(&site, &setup).await;
        drop(setup);
        let bob_token = add_bob(&site, &live).await;
        let b = site.browser(Js::On).await;
        b.login("bob", PASSWORD).await;
        open_live(&b, "/products/LIV").await;
        install_watch(&b).await;
        let (task, other) = (format!("#task-{}", live.task), format!("#task-{}", live.other));

        // The backlog follows a REST change.
        let patch = |code: &str, body: Value| patch_task(&site, &live.token, code.to_string(), body);
        patch(&live.task, json!({"status": "in_progress"})).await;
        b.wait_js(&format!("document.querySelector('{task}').dataset.status === 'in_progress'"), WAIT).await;

        // Bob opens the inline edit of the task and types a new title; the
        // field keeps the focus.
        b.click(&format!("{task} details.edit > summary")).await;
        let field = format!("#edit-{}-title", live.task);
        b.wait_js(&format!("document.querySelector('{field}').offsetParent !== null"), WAIT).await;
        b.fill(&field, "Strip the wires carefully").await;
        assert_eq!(b.focused().await, format!("input#edit-{}-title", live.task));

        // Alice changes the other task over REST, and an agent asks a
        // question (it rings the bell: the same refresh decided about the
        // backlog region, so once the bell shows it, that refresh is over).
        let fetches = "performance.getEntriesByType('resource').filter(e => e.initiatorType === 'fetch').length";
        let before = b.js(&format!("return {fetches};"), vec![]).await.as_i64().expect("a count");
        patch(&live.other, json!({"status": "review"})).await;
        let mut agent = McpHttp::new(site.server.port, &live.token);
        let story = site.api_get(&live.token, &format!("/api/tasks/{}", live.other)).await["story_id"].clone();
        agent
            .call("ask_user_question", json!({"story_id": story, "question": "Which plug?", "wait_seconds": 0}))
            .await
            .ok("ask_user_question");
        b.wait_js("document.querySelector('#bell .count')?.textContent.trim() === '1'", WAIT).await;
        let after = b.js(&format!("return {fetches};"), vec![]).await.as_i64().expect("a count");
        assert!(after > before, "the page refetched itself ({before} → {after} fetches)");
        let state = b
            .js(
                &format!(
                    "const f = document.querySelector('{field}');\
                     return [f.value, document.activeElement === f, f.closest('details').open];"
                ),
                vec![],
            )
            .await;
        assert_eq!(state, json!(["Strip the wires carefully", true, true]), "bob's text, focus and open form survive");

        // Bob looks away (the focus leaves the form, nothing is saved): the
        // region catches up with alice's change and still holds his
        // unsaved title in the open form.
        b.click(".backlog .page-head h1").await;
        b.wait_js(&format!("document.querySelector('{other}').dataset.status === 'review'"), WAIT).await;
        let state = b
            .js(
                &format!(
                    "const f = document.querySelector('{field}');                     return [f.value, f.closest('details').open, f.defaultValue];"
                ),
                vec![],
            )
            .await;
        assert_eq!(
            state,
            json!(["Strip the wires carefully", true, "Strip the wires"]),
            "the refreshed form keeps bob's unsaved text"
        );

        // Bob goes back and saves with Enter: his title is saved.
        b.focus(&field).await;
        b.press(&fantoccini::key::Key::Enter.to_string()).await;
        b.wait_js(
            &format!("document.querySelector('{task} .title').textContent === 'Strip the wires carefully'"),
            WAIT,
        )
        .await;
        let saved = site.api_get(&bob_token, &format!("/api/tasks/{}", live.task)).await;
        assert_eq!(saved["title"], "Strip the wires carefully", "{saved}");
        assert_eq!(saved["status"], "in_progress", "bob's edit kept alice's earlier status change: {saved}");
        assert_same_page(&b, "/products/LIV").await;
        b.check_page("backlog-live").await;

        // A job page follows too: alice queues a job and cancels it over
        // REST while bob watches it.
        let job = site.api_ok(&live.token, "POST", &format!("/api/tasks/{}/jobs", live.other), None).await;
        let job_id = id_of(&job);
        open_live(&b, &format!("/jobs/{job_id}")).await;
        assert_eq!(b.data_status("#job-detail").await, job["status"].as_str().map(str::to_string), "{job}");
        let cancelled = site.api_ok(&live.token, "POST", &format!("/api/jobs/{job_id}/cancel"), None).await;
        let status = cancelled["status"].as_str().expect("a status").to_string();
        assert_ne!(Some(status.as_str()), job["status"].as_str(), "{cancelled}");
        b.wait_js(&format!("document.querySelector('#job-detail').dataset.status === '{status}'"), WAIT).await;
    }
}
