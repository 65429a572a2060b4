//! Ideas over REST (`/api/ideas…`): per-user `IDEA-NNN` codes (also under
//! concurrent creates), privacy (another user's idea is 404, demo accounts
//! 403), validation errors naming the field with nothing written, archive,
//! the log, and `grill_md` / `plan_md` moving the idea to grilled,
//! plan_ready or plan_failed with line-numbered errors.

use axum::http::{Method, StatusCode};
use baton_domain::roles::Role;
use baton_store::sea_orm::{ConnectionTrait, Statement};
use baton_testkit::backend_tests;
use serde_json::{Value, json};

use crate::{
    harness::{As, Res, TestApp},
    items::ix::*,
};

/// A plan that parses: one story with two tasks.
const GOOD_PLAN: &str = "---\npbi:\n  title: Export\n  priority: 2\nstories:\n  - title: Button\n    priority: 2\n    tasks:\n      - title: Route\n        implementation_plan: add it\n        priority: 2\n      - title: Check\n        implementation_plan: run it\n        priority: 3\n---\n\n# Why\nBecause.\n";

/// A plan with a YAML syntax error on document line 6 (one space too many).
const BAD_PLAN: &str =
    "---\npbi:\n  title: Export\n  description: |\n    Long text\n   priority: 2\nstories: []\n---\n";

async fn create(app: &TestApp, who: &As, body: Value) -> Res {
    app.json(Method::POST, "/api/ideas", who, &body).await
}

async fn idea(app: &TestApp, who: &As, body: Value) -> Value {
    let res = create(app, who, body).await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text);
    res.json()
}

fn str_of<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key].as_str().unwrap_or_else(|| panic!("{key} in {v}"))
}

/// The first validation error's path.
fn field(res: &Res) -> String {
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", res.text);
    res.json()["error"]["details"][0]["path"].as_str().unwrap_or_default().to_string()
}

/// Puts an idea into a status directly (dispatch, which moves it there, is not built yet).
async fn force_status(app: &TestApp, id: &str, status: &str) {
    let db = &app.t.db;
    db.execute_raw(Statement::from_sql_and_values(
        db.get_database_backend(),
        "UPDATE ideas SET status = $1 WHERE id = $2",
        [status.into(), id.into()],
    ))
    .await
    .expect("status");
}

async fn user_token(app: &TestApp, name: &str, demo: bool) -> (String, As) {
    let id = app.user(name, &[Role::Developer], demo).await;
    let token = app.token_for(&id).await;
    (id, bearer(&token))
}

async fn get_idea(app: &TestApp, who: &As, id: &str) -> Value {
    get(app, who, &format!("/api/ideas/{id}")).await
}

backend_tests! {
    async fn codes_are_per_user_and_ideas_are_read_listed_changed_and_archived(t) {
        let app = TestApp::new(t).await;
        let (ann_id, ann) = user_token(&app, "ann", false).await;
        let (_, bob) = user_token(&app, "bob", false).await;
        let shop = app.product_row(&ann_id, "Shop").await;
        let blog = app.product_row(&ann_id, "Blog").await;

        let first = idea(&app, &ann, json!({ "title": "  Export CSV  ", "description": "as a file" })).await;
        assert_eq!(str_of(&first, "code"), "IDEA-001");
        assert_eq!(str_of(&first, "title"), "Export CSV", "titles are trimmed");
        assert_eq!(str_of(&first, "status"), "draft");
        assert!(first["product_id"].is_null() && first["product_ids"] == json!([]), "{first}");
        let second =
            idea(&app, &ann, json!({ "title": "Dark mode", "product_id": shop, "product_ids": [blog, shop, blog] }))
                .await;
        assert_eq!(str_of(&second, "code"), "IDEA-002");
        assert_eq!(second["product_ids"], json!([blog]), "the primary and duplicates are dropped: {second}");
        let bobs = idea(&app, &bob, json!({ "title": "Bob's own" })).await;
        assert_eq!(str_of(&bobs, "code"), "IDEA-001", "codes count per user");

        // Read by id and by code in any case.
        assert_eq!(get_idea(&app, &ann, "idea-2").await["id"], second["id"]);
        assert_eq!(get_idea(&app, &ann, str_of(&first, "id")).await["code"], "IDEA-001");

        // Lists: own ideas only, newest first, filters and paging.
        let all = get(&app, &ann, "/api/ideas").await;
        assert_eq!(all["total"], 2, "{all}");
        assert_eq!(all["items"][0]["code"], "IDEA-002");
        assert!(all["items"][0].get("plan_md").is_none(), "lists leave the markdown out");
        assert_eq!(get(&app, &ann, &format!("/api/ideas?product={shop}")).await["total"], 1);
        let by_secondary = get(&app, &ann, &format!("/api/ideas?product={blog}")).await;
        assert_eq!(by_secondary["items"][0]["code"], "IDEA-002", "secondary products count: {by_secondary}");
        assert_eq!(get(&app, &ann, "/api/ideas?status=draft&limit=1").await["items"].as_array().map(Vec::len), Some(1));
        assert_eq!(get(&app, &ann, "/api/ideas?status=plan_ready").await["total"], 0);
        let bad = app.get("/api/ideas?status=nonsense", &ann).await;
        assert_eq!(field(&bad), "status");

        // Change title, description, product and secondary products.
        let path = format!("/api/ideas/{}", str_of(&first, "id"));
        let res = app
            .json(Method::PATCH, &path, &ann, &json!({ "title": "CSV export", "description": null, "product_id": "Shop-x" }))
            .await;
        assert_eq!(field(&res), "product_id", "an unknown product is named");
        let res = app
            .json(Method::PATCH, &path, &ann, &json!({ "title": "CSV export", "description": null, "product_id": blog, "product_ids": [shop] }))
            .await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.text);
        let changed = res.json();
        assert_eq!((str_of(&changed, "title"), changed["description"].clone()), ("CSV export", Value::Null));
        assert_eq!((changed["product_id"].clone(), changed["product_ids"].clone()), (json!(blog), json!([shop])));
        assert_eq!(str_of(&changed, "code"), "IDEA-001", "codes never change");

        // Archive: hidden from the list, read-only until unarchived.
        let res = app.json(Method::PATCH, &path, &ann, &json!({ "archived": true })).await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.text);
        assert_eq!(get(&app, &ann, "/api/ideas").await["total"], 1);
        assert_eq!(get(&app, &ann, "/api/ideas?archived=true").await["items"][0]["code"], "IDEA-001");
        let res = app.json(Method::PATCH, &path, &ann, &json!({ "title": "Nope" })).await;
        assert_eq!(res.status, StatusCode::CONFLICT, "{}", res.text);
        let res = app.json(Method::POST, &format!("{path}/logs"), &ann, &json!({ "content": "x" })).await;
        assert_eq!(res.status, StatusCode::CONFLICT, "{}", res.text);
        let res = app.json(Method::PATCH, &path, &ann, &json!({ "archived": false, "title": "Back" })).await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.text);
        assert_eq!(str_of(&res.json(), "title"), "Back");
        // A new idea after all this still continues the sequence.
        assert_eq!(str_of(&idea(&app, &ann, json!({ "title": "Third" })).await, "code"), "IDEA-003");
    }

    async fn ideas_are_private_to_their_owner_and_demo_accounts_cannot_write(t) {
        let app = TestApp::new(t).await;
        let (ann_id, ann) = user_token(&app, "ann", false).await;
        let (_, bob) = user_token(&app, "bob", false).await;
        let (_, demo) = user_token(&app, "demo", true).await;
        let (_, admin_token) = app.admin().await;
        let admin = bearer(&admin_token);
        let shop = app.product_row(&ann_id, "Shop").await;
        let mine = idea(&app, &ann, json!({ "title": "Secret plan", "product_id": shop })).await;
        force_status(&app, str_of(&mine, "id"), "GRILLING").await;
        let before = get_idea(&app, &ann, str_of(&mine, "id")).await;
        let logs_before = app.count("idea_logs").await;
        for (name, who) in [("another user", &bob), ("an administrator", &admin), ("a demo user", &demo)] {
            for key in [str_of(&mine, "id"), "IDEA-001"] {
                let base = format!("/api/ideas/{key}");
                let reads = [app.get(&base, who).await, app.get(&format!("{base}/logs"), who).await];
                let writes = [
                    app.json(Method::PATCH, &base, who, &json!({ "title": "Mine now" })).await,
                    app.json(Method::POST, &format!("{base}/logs"), who, &json!({ "content": "hi" })).await,
                    app.json(Method::PUT, &format!("{base}/grill-md"), who, &json!({ "markdown": "# G" })).await,
                    app.json(Method::PUT, &format!("{base}/plan-md"), who, &json!({ "markdown": GOOD_PLAN })).await,
                ];
                for res in reads {
                    assert_eq!(res.status, StatusCode::NOT_FOUND, "{name} reads {key}: {}", res.text);
                }
                // Demo accounts are refused as writers before anything is looked up.
                let refused = if name == "a demo user" { StatusCode::FORBIDDEN } else { StatusCode::NOT_FOUND };
                for res in writes {
                    assert_eq!(res.status, refused, "{name} writes {key}: {}", res.text);
                }
            }
            assert_eq!(get(&app, who, "/api/ideas").await["total"], 0, "{name} lists none of ann's ideas");
        }
        assert_eq!(get_idea(&app, &ann, str_of(&mine, "id")).await, before, "refusals change nothing");
        assert_eq!(app.count("idea_logs").await, logs_before);
        let res = create(&app, &demo, json!({ "title": "Demo idea" })).await;
        assert_eq!(res.status, StatusCode::FORBIDDEN, "{}", res.text);
        assert_eq!(app.count("ideas").await, 1, "the demo create wrote nothing");

        // A token scoped to another product does not see an idea of this one.
        let other = app.product_row(&ann_id, "Other").await;
        let scoped = app
            .app()
            .create_token(
                &baton_app::Actor::cli(),
                &ann_id,
                baton_app::tokens::NewToken { label: "scoped".into(), product_ids: vec![other], expires_in_days: None },
            )
            .await
            .expect("token")
            .token;
        let res = app.get(&format!("/api/ideas/{}", str_of(&mine, "id")), &bearer(&scoped)).await;
        assert_eq!(res.status, StatusCode::NOT_FOUND, "{}", res.text);
    }

    async fn two_creates_at_once_get_different_codes(t) {
        let app = TestApp::new(t).await;
        let (_, ann) = user_token(&app, "ann", false).await;
        let (a, b) = tokio::join!(
            create(&app, &ann, json!({ "title": "One" })),
            create(&app, &ann, json!({ "title": "Two" })),
        );
        assert_eq!((a.status, b.status), (StatusCode::CREATED, StatusCode::CREATED), "{} / {}", a.text, b.text);
        let mut codes = vec![str_of(&a.json(), "code").to_string(), str_of(&b.json(), "code").to_string()];
        codes.sort();
        assert_eq!(codes, ["IDEA-001", "IDEA-002"]);
        // Six more at once still never collide.
        let more = futures::future::join_all((0..6).map(|i| create(&app, &ann, json!({ "title": format!("n{i}") })))).await;
        let mut all: Vec<String> = more
            .iter()
            .map(|r| {
                assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
                str_of(&r.json(), "code").to_string()
            })
            .collect();
        all.sort();
        assert_eq!(all, (3..=8).map(|n| format!("IDEA-{n:03}")).collect::<Vec<_>>());
    }

    async fn bad_input_is_a_422_naming_the_field_and_writes_nothing(t) {
        let app = TestApp::new(t).await;
        let (ann_id, ann) = user_token(&app, "ann", false).await;
        let (bob_id, _) = user_token(&app, "bob", false).await;
        let theirs = app.product_row(&bob_id, "Theirs").await;
        let read_only = app.product_row(&bob_id, "Shared").await;
        app.member_row(&read_only, &ann_id, "READ_ONLY").await;
        let mine = app.product_row(&ann_id, "Mine").await;
        let cases = [
            (json!({ "title": "   " }), "title"),
            (json!({}), "title"),
            (json!({ "title": "t".repeat(201) }), "title"),
            (json!({ "title": "ok", "description": "d".repeat(4001) }), "description"),
            (json!({ "title": "ok", "product_id": theirs }), "product_id"),
            (json!({ "title": "ok", "product_id": read_only }), "product_id"),
            (json!({ "title": "ok", "product_ids": [mine, "nope"] }), "product_ids.1"),
            (json!({ "title": "ok", "product_ids": vec![mine.clone(); 21] }), "product_ids"),
            (json!({ "title": "ok", "colour": "red" }), "colour"),
        ];
        for (body, path) in cases {
            let res = create(&app, &ann, body.clone()).await;
            assert_eq!(field(&res), path, "{body}: {}", res.text);
        }
        assert_eq!(app.count("ideas").await, 0, "nothing was created");

        let made = idea(&app, &ann, json!({ "title": "Keep", "product_id": mine })).await;
        let path = format!("/api/ideas/{}", str_of(&made, "id"));
        let before = get_idea(&app, &ann, str_of(&made, "id")).await;
        let patches = [
            (json!({}), "title"),
            (json!({ "title": "" }), "title"),
            (json!({ "title": "New", "product_id": theirs }), "product_id"),
            (json!({ "title": "New", "product_ids": ["nope"] }), "product_ids.0"),
            (json!({ "status": "planned" }), "status"),
        ];
        for (body, expected) in patches {
            let res = app.json(Method::PATCH, &path, &ann, &body).await;
            assert_eq!(field(&res), expected, "{body}: {}", res.text);
        }
        let logs = [
            (json!({ "content": "" }), "content"),
            (json!({ "content": "x".repeat(4001) }), "content"),
            (json!({ "content": "ok", "type": "plan_result" }), "type"),
            (json!({ "content": "ok", "metadata": [1, 2] }), "metadata"),
        ];
        for (body, expected) in logs {
            let res = app.json(Method::POST, &format!("{path}/logs"), &ann, &body).await;
            assert_eq!(field(&res), expected, "{body}: {}", res.text);
        }
        assert_eq!(get_idea(&app, &ann, str_of(&made, "id")).await, before, "failed requests change nothing");
        assert_eq!(app.count("idea_logs").await, 0);
        assert_eq!(app.count("idea_products").await, 0);
    }

    async fn decisions_and_notes_are_logged_in_order(t) {
        let app = TestApp::new(t).await;
        let (_, ann) = user_token(&app, "ann", false).await;
        let made = idea(&app, &ann, json!({ "title": "Logged" })).await;
        let path = format!("/api/ideas/{}/logs", str_of(&made, "code"));
        let mut events = app.app().bus.subscribe();
        let decision =
            created(&app, &path, &ann, json!({ "content": " Use CSV ", "metadata": { "options": ["csv", "xlsx"] } })).await;
        assert_eq!((str_of(&decision, "type"), str_of(&decision, "content")), ("decision", "Use CSV"));
        assert_eq!(decision["metadata"]["options"][1], "xlsx");
        let ev = events.recv().await.expect("event");
        assert_eq!((ev.kind.as_str(), ev.data["idea_id"].clone()), ("idea_changed", made["id"].clone()));
        created(&app, &path, &ann, json!({ "type": "note", "content": "Ask finance" })).await;
        let page = get(&app, &ann, &path).await;
        assert_eq!(page["total"], 2);
        let types: Vec<&str> = page["items"].as_array().expect("items").iter().map(|l| str_of(l, "type")).collect();
        assert_eq!(types, ["decision", "note"]);
        assert_eq!(get(&app, &ann, &format!("{path}?limit=1&page=2")).await["items"][0]["content"], "Ask finance");
    }

    async fn grill_and_plan_move_the_idea_and_a_bad_plan_shows_its_line(t) {
        let app = TestApp::new(t).await;
        let (ann_id, ann) = user_token(&app, "ann", false).await;
        let shop = app.product_row(&ann_id, "Shop").await;
        let bare = idea(&app, &ann, json!({ "title": "No product" })).await;
        let made = idea(&app, &ann, json!({ "title": "Export", "product_id": shop })).await;
        let id = str_of(&made, "id").to_string();
        let put = |what: &'static str, key: String, md: String| {
            let app = &app;
            let ann = &ann;
            async move {
                app.json(Method::PUT, &format!("/api/ideas/{key}/{what}"), ann, &json!({ "markdown": md })).await
            }
        };

        // A draft may not be grilled by hand nor planned; nothing changes.
        let before = get_idea(&app, &ann, &id).await;
        for res in [put("grill-md", id.clone(), "# G".into()).await, put("plan-md", id.clone(), GOOD_PLAN.into()).await]
        {
            assert_eq!(res.status, StatusCode::CONFLICT, "{}", res.text);
            assert!(res.text.contains("draft"), "the refusal names the status: {}", res.text);
        }
        assert_eq!(get_idea(&app, &ann, &id).await, before);
        // Without a product neither may be written.
        force_status(&app, str_of(&bare, "id"), "GRILLING").await;
        let res = put("grill-md", str_of(&bare, "id").into(), "# G".into()).await;
        assert_eq!(res.status, StatusCode::CONFLICT, "{}", res.text);
        assert!(res.text.contains("product"), "{}", res.text);

        // Grilling → grilled.
        force_status(&app, &id, "GRILLING").await;
        assert_eq!(field(&put("grill-md", id.clone(), "  ".into()).await), "markdown");
        let res = put("grill-md", id.clone(), "# Idee — Export\n## Scope\n".into()).await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.text);
        let grilled = res.json();
        assert_eq!(str_of(&grilled, "status"), "grilled");
        assert_eq!(str_of(&grilled, "grill_md"), "# Idee — Export\n## Scope\n");

        // A plan with a YAML error: stored, plan_failed, the error's line reported and kept.
        let res = put("plan-md", id.clone(), BAD_PLAN.into()).await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.text);
        let failed = res.json();
        assert_eq!(failed["ok"], false);
        assert_eq!(failed["idea"]["status"], "plan_failed");
        assert_eq!(failed["idea"]["plan_md"], BAD_PLAN);
        assert_eq!(failed["errors"][0]["line"], 6, "{failed}");
        let shown = get_idea(&app, &ann, &id).await;
        assert_eq!(shown["plan_errors"], failed["errors"], "the detail shows the same errors");
        // A schema error names its dotted path.
        let res = put("plan-md", id.clone(), GOOD_PLAN.replace("implementation_plan: run it", "verify_only: true")).await;
        let schema = res.json();
        assert_eq!(schema["ok"], false);
        assert_eq!(schema["errors"][0]["path"], "stories.0.tasks.1.implementation_plan", "{schema}");

        // Fixed: plan_ready, errors gone.
        let res = put("plan-md", "IDEA-002".into(), GOOD_PLAN.into()).await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.text);
        let ready = res.json();
        assert_eq!((ready["ok"].clone(), ready["errors"].clone()), (json!(true), json!([])));
        assert_eq!(ready["idea"]["status"], "plan_ready");
        assert_eq!(get_idea(&app, &ann, &id).await["plan_errors"], json!([]));

        // The log tells the story.
        let logs = get(&app, &ann, &format!("/api/ideas/{id}/logs")).await;
        let items = logs["items"].as_array().expect("items");
        let kinds: Vec<&str> = items.iter().map(|l| str_of(l, "type")).collect();
        assert_eq!(kinds, ["grill_result", "job_event", "job_event", "plan_result"]);
        assert_eq!(items[1]["metadata"]["errors"][0]["line"], 6);
        assert_eq!(str_of(&items[3], "content"), "Plan ready: 1 stories, 2 tasks (rev 1)");
        assert_eq!(items[3]["metadata"]["revision"], 1, "a plan that parses is kept as a revision");

        // Too big: refused, nothing written.
        let before = get_idea(&app, &ann, &id).await;
        let huge = format!("{GOOD_PLAN}{}", "x".repeat(256 * 1024));
        assert_eq!(field(&put("plan-md", id.clone(), huge).await), "markdown");
        assert_eq!(get_idea(&app, &ann, &id).await, before);
        assert_eq!(app.count("idea_logs").await, 4);

        // A YAML bomb (aliases of aliases) and absurd nesting: refused with
        // the reason on `markdown`, nothing written.
        let mut bomb = String::from("---\na: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
        for c in b'b'..=b'k' {
            let (me, prev) = (c as char, (c - 1) as char);
            bomb.push_str(&format!("{me}: &{me} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]\n"));
        }
        bomb.push_str("---\n");
        let deep = format!("---\npbi: {}{}\n---\n", "[".repeat(10_000), "]".repeat(10_000));
        for (what, md) in [("bomb", bomb), ("deep nesting", deep)] {
            let res = put("plan-md", id.clone(), md).await;
            assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{what}: {}", res.text);
            assert_eq!(field(&res), "markdown", "{what}");
            assert_eq!(get_idea(&app, &ann, &id).await, before, "{what} wrote nothing");
            assert_eq!(app.count("idea_logs").await, 4, "{what} logged nothing");
        }

        // Planned (materialized) ideas take no new plan.
        force_status(&app, &id, "PLANNED").await;
        let res = put("plan-md", id.clone(), GOOD_PLAN.into()).await;
        assert_eq!(res.status, StatusCode::CONFLICT, "{}", res.text);
    }
}
