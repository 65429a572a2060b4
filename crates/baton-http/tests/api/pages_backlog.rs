//! The backlog page (`/products/{code}`): the tree with its ids and data
//! attributes, create/edit/delete/move through plain forms, drag-and-drop
//! fields, bulk changes (all-or-nothing), filters, export and import, the
//! 404 for other people's products, and the demo / read-only matrix.

use axum::http::StatusCode;
use baton_app::{
    Actor,
    backlog::{pbis::NewPbi, stories::NewStory, tasks::NewTask},
    products::NewProduct,
    sprints::NewSprint,
};
use baton_domain::roles::Role;
use baton_testkit::backend_tests;

use crate::harness::{As, TestApp};

/// A logged-in product owner with product SHOP: PBI-1 (ST-001 with T-1,
/// T-2; ST-002) and PBI-2 (ST-003).
struct Shop {
    owner: Actor,
    cookie: As,
    product_id: String,
}

async fn actor_of(app: &TestApp, user_id: &str) -> Actor {
    let token = app.token_for(user_id).await;
    app.app().token_actor(&token).await.expect("actor")
}

async fn shop(app: &TestApp) -> Shop {
    let id = app.user("olive", &[Role::ProductOwner, Role::Developer], false).await;
    let owner = actor_of(app, &id).await;
    let a = app.app();
    let input = NewProduct {
        name: "Shop".into(),
        code: Some("SHOP".into()),
        definition_of_done: "Reviewed".into(),
        ..Default::default()
    };
    let product_id = a.create_product(&owner, input).await.expect("product").id;
    let pbi = |t: &str| NewPbi { title: t.into(), ..Default::default() };
    let story = |t: &str| NewStory { title: t.into(), ..Default::default() };
    let task = |t: &str| NewTask { title: t.into(), ..Default::default() };
    a.create_pbi(&owner, &product_id, pbi("Checkout")).await.expect("PBI-1");
    a.create_pbi(&owner, &product_id, pbi("Catalogue")).await.expect("PBI-2");
    let p1 =
        a.backlog_item_id(&owner, &product_id, baton_app::backlog::refs::ItemKind::Pbi, "PBI-1").await.expect("id");
    let p2 =
        a.backlog_item_id(&owner, &product_id, baton_app::backlog::refs::ItemKind::Pbi, "PBI-2").await.expect("id");
    let s1 = a.create_story(&owner, &p1, story("Pay by card")).await.expect("ST-001").id;
    a.create_story(&owner, &p1, story("Pay by invoice")).await.expect("ST-002");
    a.create_story(&owner, &p2, story("Search")).await.expect("ST-003");
    a.create_task(&owner, &s1, task("Card form")).await.expect("T-1");
    a.create_task(&owner, &s1, task("Card API")).await.expect("T-2");
    let cookie = As::Cookie(app.login("olive", "olive-password").await);
    Shop { owner, cookie, product_id }
}

/// The codes of the items with `prefix` ids (`story-`), in page order.
fn ids_in_order(html: &str, prefix: &str) -> Vec<String> {
    let needle = format!("id=\"{prefix}");
    html.match_indices(&needle)
        .map(|(i, _)| {
            let rest = &html[i + needle.len()..];
            rest[..rest.find('"').unwrap_or(0)].to_string()
        })
        .collect()
}

/// Story codes of a PBI in order, from the services.
async fn stories_of(app: &TestApp, s: &Shop, pbi: &str) -> Vec<String> {
    let scope = baton_app::backlog::stories::StoryScope::Pbi(pbi_id(app, s, pbi).await);
    let page = app.app().list_stories(&s.owner, scope, Default::default(), Default::default()).await.expect("stories");
    page.items.into_iter().map(|st| st.code).collect()
}

async fn pbi_id(app: &TestApp, s: &Shop, code: &str) -> String {
    app.app()
        .backlog_item_id(&s.owner, &s.product_id, baton_app::backlog::refs::ItemKind::Pbi, code)
        .await
        .expect("pbi id")
}

async fn item_id(app: &TestApp, s: &Shop, kind: baton_app::backlog::refs::ItemKind, code: &str) -> String {
    app.app().backlog_item_id(&s.owner, &s.product_id, kind, code).await.expect("item id")
}

async fn status_of_task(app: &TestApp, s: &Shop, code: &str) -> String {
    let id = item_id(app, s, baton_app::backlog::refs::ItemKind::Task, code).await;
    app.app().get_task(&s.owner, &id).await.expect("task").status.as_api()
}

backend_tests! {
    async fn the_tree_renders_every_item_with_its_id_code_status_and_dnd_attributes(t) {
        let app = TestApp::new(t).await;
        let s = shop(&app).await;
        let res = app.get("/products/SHOP", &s.cookie).await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.text);
        let html = &res.text;
        assert!(html.contains(r#"id="backlog-tree" data-live"#), "live region");
        for (id, code, status) in [("pbi-PBI-1", "PBI-1", "ready"), ("story-ST-001", "ST-001", "open"), ("task-T-2", "T-2", "todo")] {
            let at = html.find(&format!("id=\"{id}\"")).unwrap_or_else(|| panic!("{id} rendered"));
            let tag = &html[at..at + html[at..].find('>').expect("tag end")];
            assert!(tag.contains(&format!("data-code=\"{code}\"")), "{tag}");
            assert!(tag.contains(&format!("data-status=\"{status}\"")), "{tag}");
            assert!(tag.contains("data-dnd-item") && tag.contains("draggable=\"true\"") && tag.contains("data-move-url=\"/products/SHOP/"), "{tag}");
        }
        assert!(html.contains(r#"data-dnd-accept="story" data-dnd-field="pbi" data-dnd-value="PBI-1""#));
        assert!(html.contains(r#"data-dnd-accept="task" data-dnd-field="story" data-dnd-value="ST-001""#));
        assert_eq!(ids_in_order(html, "story-"), ["ST-001", "ST-002", "ST-003"]);
        assert_eq!(ids_in_order(html, "task-"), ["T-1", "T-2"]);
        // No inline script or style, no event handler attributes.
        assert!(!html.contains("style=\"") && !html.contains(" onclick=") && !html.contains("<script>"));
    }

    async fn forms_create_a_pbi_a_story_and_a_task(t) {
        let app = TestApp::new(t).await;
        let s = shop(&app).await;
        let res = app.form("/products/SHOP/pbis", &s.cookie, &[("title", "Accounts"), ("priority", "1"), ("description", "Sign up"), ("return_to", "/products/SHOP")]).await;
        assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text);
        assert_eq!(res.header("location"), Some("/products/SHOP"));
        let p3 = app.app().get_pbi(&s.owner, &pbi_id(&app, &s, "PBI-3").await).await.expect("PBI-3");
        assert_eq!((p3.title.as_str(), p3.priority, p3.description.as_deref()), ("Accounts", 1, Some("Sign up")));

        let res = app.form("/products/SHOP/pbis/PBI-3/stories", &s.cookie, &[("title", "Register"), ("priority", "3"), ("acceptance_criteria", "works")]).await;
        assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text);
        assert_eq!(stories_of(&app, &s, "PBI-3").await, ["ST-004"]);
        let res = app.form("/products/SHOP/stories/ST-004/tasks", &s.cookie, &[("title", "Form"), ("return_to", "//evil.example")]).await;
        assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text);
        assert_eq!(res.header("location"), Some("/products/SHOP"), "only local return paths");
        assert_eq!(status_of_task(&app, &s, "T-3").await, "todo");
        assert_eq!(app.count("tasks").await, 3);
    }

    async fn a_bad_field_is_shown_next_to_it_and_nothing_is_written(t) {
        let app = TestApp::new(t).await;
        let s = shop(&app).await;
        let long = "x".repeat(201);
        let res = app.form("/products/SHOP/pbis", &s.cookie, &[("title", &long), ("description", "kept text")]).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(res.text.contains(r#"id="title-error""#), "{}", res.text);
        assert!(res.text.contains("aria-invalid=\"true\" aria-describedby=\"title-error\""));
        assert!(res.text.contains(">kept text</textarea>"), "what was typed is kept");
        assert_eq!(app.count("pbis").await, 2);

        let res = app.form("/products/SHOP/stories/ST-001/edit", &s.cookie, &[("title", "  "), ("priority", "9")]).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(res.text.contains(r#"id="title-error""#) && res.text.contains(r#"id="priority-error""#), "{}", res.text);
        let st = app.app().get_story(&s.owner, &item_id(&app, &s, baton_app::backlog::refs::ItemKind::Story, "ST-001").await).await.expect("story");
        assert_eq!(st.title, "Pay by card");

        let res = app.form("/products/SHOP/pbis/PBI-1/stories", &s.cookie, &[("title", "ok"), ("priority", "high")]).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(res.text.contains(r#"id="priority-error""#));
        assert_eq!(app.count("stories").await, 3);
    }

    async fn edits_and_deletes_go_through_the_services(t) {
        let app = TestApp::new(t).await;
        let s = shop(&app).await;
        let res = app.form("/products/SHOP/tasks/T-1/edit", &s.cookie, &[("title", "Card form v2"), ("priority", "4"), ("description", ""), ("implementation_plan", "1. do it\r\n2. test it")]).await;
        assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text);
        let t1 = app.app().get_task(&s.owner, &item_id(&app, &s, baton_app::backlog::refs::ItemKind::Task, "T-1").await).await.expect("task");
        assert_eq!((t1.title.as_str(), t1.priority, t1.implementation_plan.as_deref()), ("Card form v2", 4, Some("1. do it\n2. test it")), "line breaks as the services count them");
        let res = app.form("/products/SHOP/pbis/PBI-2/edit", &s.cookie, &[("title", "Catalogue"), ("status", "blocked")]).await;
        assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text);
        let page = app.get("/products/SHOP", &s.cookie).await.text;
        assert!(page.contains(r#"id="pbi-PBI-2" class="node pbi" data-code="PBI-2" data-status="blocked""#), "{page}");

        let res = app.form("/products/SHOP/tasks/T-2/delete", &s.cookie, &[]).await;
        assert_eq!(res.status, StatusCode::SEE_OTHER);
        let res = app.form("/products/SHOP/pbis/PBI-1/delete", &s.cookie, &[]).await;
        assert_eq!(res.status, StatusCode::SEE_OTHER);
        assert_eq!((app.count("pbis").await, app.count("stories").await, app.count("tasks").await), (1, 1, 0));
        // A deleted item's routes are the 404 page.
        let res = app.form("/products/SHOP/tasks/T-2/delete", &s.cookie, &[]).await;
        assert_eq!(res.status, StatusCode::NOT_FOUND);
    }

    async fn drag_and_drop_fields_and_the_move_form_reorder_and_re_parent(t) {
        let app = TestApp::new(t).await;
        let s = shop(&app).await;
        // dnd.js: ST-002 dropped above ST-001 in PBI-1.
        let res = app.form("/products/SHOP/stories/ST-002/moves", &s.cookie, &[("pbi", "PBI-1"), ("before", "ST-001"), ("after", ""), ("return_to", "/products/SHOP?q=pay")]).await;
        assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text);
        assert_eq!(res.header("location"), Some("/products/SHOP?q=pay"));
        assert_eq!(stories_of(&app, &s, "PBI-1").await, ["ST-002", "ST-001"]);
        // The Move… form: down, then top.
        app.form("/products/SHOP/stories/ST-002/moves", &s.cookie, &[("pbi", "PBI-1"), ("position", "down")]).await;
        assert_eq!(stories_of(&app, &s, "PBI-1").await, ["ST-001", "ST-002"]);
        app.form("/products/SHOP/tasks/T-2/moves", &s.cookie, &[("story", "ST-001"), ("position", "top")]).await;
        let page = app.get("/products/SHOP", &s.cookie).await.text;
        assert_eq!(ids_in_order(&page, "task-"), ["T-2", "T-1"], "order persists");
        // Re-parent by drop: ST-001 into PBI-2, after ST-003.
        let res = app.form("/products/SHOP/stories/ST-001/moves", &s.cookie, &[("pbi", "PBI-2"), ("before", ""), ("after", "ST-003")]).await;
        assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text);
        assert_eq!(stories_of(&app, &s, "PBI-2").await, ["ST-003", "ST-001"]);
        assert_eq!(stories_of(&app, &s, "PBI-1").await, ["ST-002"]);
        // A task re-parented through the Move… form's story field.
        let res = app.form("/products/SHOP/tasks/T-1/moves", &s.cookie, &[("story", "ST-003"), ("before", ""), ("after", "")]).await;
        assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text);
        let page = app.get("/products/SHOP", &s.cookie).await.text;
        let st3 = page.find("id=\"story-ST-003\"").expect("ST-003");
        let t1 = page.find("id=\"task-T-1\"").expect("T-1");
        let st1 = page.find("id=\"story-ST-001\"").expect("ST-001");
        assert!(st3 < t1 && t1 < st1, "T-1 now under ST-003");
        // PBIs reorder too.
        app.form("/products/SHOP/pbis/PBI-2/moves", &s.cookie, &[("product", "SHOP"), ("before", "PBI-1"), ("after", "")]).await;
        assert_eq!(ids_in_order(&app.get("/products/SHOP", &s.cookie).await.text, "pbi-"), ["PBI-2", "PBI-1"]);
        // A refused move re-renders the tree (the truth) with the reason.
        let res = app.form("/products/SHOP/stories/ST-002/moves", &s.cookie, &[("pbi", "PBI-9"), ("position", "top")]).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(res.text.contains("no PBI `PBI-9` in this product"), "{}", res.text);
        assert!(res.text.contains(r#"id="backlog-tree" data-live"#));
        let res = app.form("/products/SHOP/stories/ST-002/moves", &s.cookie, &[("position", "sideways")]).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(stories_of(&app, &s, "PBI-1").await, ["ST-002"]);
    }

    async fn bulk_status_is_all_or_nothing_and_shows_the_refusal(t) {
        let app = TestApp::new(t).await;
        let s = shop(&app).await;
        let t1 = item_id(&app, &s, baton_app::backlog::refs::ItemKind::Task, "T-1").await;
        let t2 = item_id(&app, &s, baton_app::backlog::refs::ItemKind::Task, "T-2").await;
        let (v1, v2) = (format!("task:{t1}"), format!("task:{t2}"));
        let res = app.form("/products/SHOP/bulk", &s.cookie, &[("ids", &v1), ("ids", &v2), ("op", "status"), ("status", "in_progress")]).await;
        assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text);
        assert_eq!(status_of_task(&app, &s, "T-1").await, "in_progress");
        assert_eq!(status_of_task(&app, &s, "T-2").await, "in_progress");
        // ST-001 has tasks (status derived): setting it with ST-002 is refused, neither changes.
        let st1 = item_id(&app, &s, baton_app::backlog::refs::ItemKind::Story, "ST-001").await;
        let st2 = item_id(&app, &s, baton_app::backlog::refs::ItemKind::Story, "ST-002").await;
        let res = app.form("/products/SHOP/bulk", &s.cookie, &[("ids", &format!("story:{st2}")), ("ids", &format!("story:{st1}")), ("op", "status"), ("status", "done")]).await;
        assert!(res.status.is_client_error(), "{}", res.status);
        assert!(res.text.contains("id=\"bulk-errors\"") && res.text.contains("Nothing was changed"), "{}", res.text);
        assert!(res.text.contains("ST-001"), "the reason names the story: {}", res.text);
        let st2_now = app.app().get_story(&s.owner, &st2).await.expect("story");
        assert_eq!(st2_now.status.as_api(), "open");
        // Mixed kinds and an empty selection are refused on the form.
        let res = app.form("/products/SHOP/bulk", &s.cookie, &[("ids", &v1), ("ids", &format!("story:{st2}")), ("op", "status"), ("status", "done")]).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(res.text.contains("select items of one kind"));
        let res = app.form("/products/SHOP/bulk", &s.cookie, &[("op", "status"), ("status", "done")]).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(res.text.contains("select at least one item"));
    }

    async fn bulk_moves_stories_into_an_open_sprint_and_back(t) {
        let app = TestApp::new(t).await;
        let s = shop(&app).await;
        let sprint = app.app().create_sprint(&s.owner, &s.product_id, NewSprint { sprint_goal: "Launch".into(), ..Default::default() }).await.expect("sprint");
        let st1 = item_id(&app, &s, baton_app::backlog::refs::ItemKind::Story, "ST-001").await;
        let st3 = item_id(&app, &s, baton_app::backlog::refs::ItemKind::Story, "ST-003").await;
        let fields = [("ids", format!("story:{st1}")), ("ids", format!("story:{st3}")), ("op", "sprint".into()), ("sprint", sprint.id.clone())];
        let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let res = app.form("/products/SHOP/bulk", &s.cookie, &fields).await;
        assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text);
        for id in [&st1, &st3] {
            let st = app.app().get_story(&s.owner, id).await.expect("story");
            assert_eq!(st.sprint_id.as_deref(), Some(sprint.id.as_str()));
        }
        // The sprint filter now shows just those (and their PBIs as context).
        let page = app.get(&format!("/products/SHOP?sprint={}", sprint.code), &s.cookie).await;
        assert_eq!(page.status, StatusCode::OK);
        assert_eq!(ids_in_order(&page.text, "story-"), ["ST-001", "ST-003"]);
        // Tasks are not stories: refused, nothing moves.
        let t1 = item_id(&app, &s, baton_app::backlog::refs::ItemKind::Task, "T-1").await;
        let res = app.form("/products/SHOP/bulk", &s.cookie, &[("ids", &format!("task:{t1}")), ("op", "sprint"), ("sprint", "none")]).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
        // Back to the backlog.
        let res = app.form("/products/SHOP/bulk", &s.cookie, &[("ids", &format!("story:{st3}")), ("op", "sprint"), ("sprint", "none")]).await;
        assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text);
        assert_eq!(app.app().get_story(&s.owner, &st3).await.expect("story").sprint_id, None);
    }

    async fn filters_narrow_the_tree_and_bad_values_are_named(t) {
        let app = TestApp::new(t).await;
        let s = shop(&app).await;
        let page = app.get("/products/SHOP?q=card", &s.cookie).await;
        assert_eq!(page.status, StatusCode::OK);
        assert_eq!(ids_in_order(&page.text, "pbi-"), ["PBI-1"]);
        assert_eq!(ids_in_order(&page.text, "story-"), ["ST-001"]);
        assert_eq!(ids_in_order(&page.text, "task-"), ["T-1", "T-2"]);
        assert!(page.text.contains(r#"class="node pbi context""#), "PBI-1 shown for context");
        // The filter is kept in the forms' return path.
        assert!(page.text.contains(r#"name="return_to" value="/products/SHOP?q=card""#));
        let page = app.get("/products/SHOP?status=todo&priority=2", &s.cookie).await;
        assert_eq!(ids_in_order(&page.text, "task-"), ["T-1", "T-2"]);
        assert_eq!(ids_in_order(&page.text, "story-"), ["ST-001"]);
        let page = app.get("/products/SHOP?assignee=none&status=open", &s.cookie).await;
        assert_eq!(ids_in_order(&page.text, "story-"), ["ST-001", "ST-002", "ST-003"]);
        let page = app.get("/products/SHOP?status=bogus&sprint=SP-9", &s.cookie).await;
        assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(page.text.contains(r#"id="status-error""#) && page.text.contains(r#"id="sprint-error""#), "{}", page.text);
        assert_eq!(ids_in_order(&page.text, "story-").len(), 3, "the unfiltered tree");
    }

    async fn export_json_and_csv_download_and_import_round_trips(t) {
        let app = TestApp::new(t).await;
        let s = shop(&app).await;
        let res = app.get("/products/SHOP/export.json", &s.cookie).await;
        assert_eq!(res.status, StatusCode::OK);
        assert!(res.header("content-disposition").is_some_and(|d| d.starts_with("attachment; filename=\"shop-backlog.json\"")));
        let doc = res.json();
        assert_eq!(doc["pbis"][0]["stories"][0]["tasks"][1]["title"], "Card API");
        let csv = app.get("/products/SHOP/export.csv", &s.cookie).await;
        assert_eq!(csv.status, StatusCode::OK);
        assert!(csv.header("content-type").is_some_and(|c| c.starts_with("text/csv")));
        assert!(csv.text.contains("Pay by invoice"));

        let page = app.get("/products/import", &s.cookie).await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(page.text.contains(r#"<textarea id="import-text" name="text""#));
        let res = app.form("/products/import", &s.cookie, &[("text", &res.text), ("format", "auto")]).await;
        assert_eq!(res.status, StatusCode::CREATED, "{}", res.text);
        assert!(res.text.contains("2 PBIs, 3 stories, 2 tasks"), "{}", res.text);
        let res = app.form("/products/import", &s.cookie, &[("text", &csv.text), ("format", "csv")]).await;
        assert_eq!(res.status, StatusCode::CREATED, "{}", res.text);
        assert_eq!(app.count("products").await, 3);
        assert_eq!(app.count("tasks").await, 6);

        // Errors: not JSON, and a bad row; nothing is created.
        let res = app.form("/products/import", &s.cookie, &[("text", "{ nope"), ("format", "auto")]).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(res.text.contains("text: not a Baton JSON export"), "{}", res.text);
        assert!(res.text.contains("{ nope</textarea>"), "the pasted text is kept");
        let bad = csv.text.replacen("Pay by invoice", "", 1);
        let res = app.form("/products/import", &s.cookie, &[("text", &bad), ("format", "csv")]).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", res.text);
        assert!(res.text.contains("rows."), "the row is named: {}", res.text);
        assert_eq!(app.count("products").await, 3);
    }

    async fn unknown_codes_and_other_peoples_products_are_the_same_404(t) {
        let app = TestApp::new(t).await;
        let s = shop(&app).await;
        app.user("mallory", &[Role::Developer], false).await;
        let other = As::Cookie(app.login("mallory", "mallory-password").await);
        let theirs = app.get("/products/SHOP", &other).await;
        let unknown = app.get("/products/NOPE", &s.cookie).await;
        assert_eq!(theirs.status, StatusCode::NOT_FOUND);
        assert_eq!(unknown.status, StatusCode::NOT_FOUND);
        let body = |r: &crate::harness::Res| { let m = r.text.find("<main").expect("main"); r.text[m..].to_string() };
        assert_eq!(body(&theirs), body(&unknown));
        assert_eq!(app.get(&format!("/products/{}", s.product_id), &other).await.status, StatusCode::NOT_FOUND);
        assert_eq!(app.get("/products/SHOP/export.json", &other).await.status, StatusCode::NOT_FOUND);
        let res = app.form("/products/SHOP/pbis", &other, &[("title", "sneaky")]).await;
        assert_eq!(res.status, StatusCode::NOT_FOUND);
        assert_eq!(app.form("/products/SHOP/tasks/T-99/moves", &s.cookie, &[("position", "top")]).await.status, StatusCode::NOT_FOUND);
        assert_eq!(app.count("pbis").await, 2);
    }

    async fn demo_users_and_read_only_members_see_disabled_controls_and_forged_posts_are_403(t) {
        let app = TestApp::new(t).await;
        let s = shop(&app).await;
        let reader = app.user("rita", &[Role::Developer], false).await;
        let demo = app.user("dora", &[Role::Developer], true).await;
        app.member_row(&s.product_id, &reader, "READ_ONLY").await;
        app.member_row(&s.product_id, &demo, "READ_WRITE").await;
        let t1 = item_id(&app, &s, baton_app::backlog::refs::ItemKind::Task, "T-1").await;
        for (name, why) in [("rita", "Read-only member"), ("dora", "Demo accounts are read-only")] {
            let who = As::Cookie(app.login(name, &format!("{name}-password")).await);
            let page = app.get("/products/SHOP", &who).await;
            assert_eq!(page.status, StatusCode::OK);
            assert!(page.text.contains(&format!(r#"<p id="why-disabled" class="why">{why}"#)), "{name}: {}", page.text);
            assert!(!page.text.contains("draggable=\"true\""), "{name}: no drag");
            // Every form posting to this product sits in a disabled fieldset or has a disabled button.
            let mut forms = 0;
            for (i, _) in page.text.match_indices("<form ") {
                let form = &page.text[i..i + page.text[i..].find("</form>").expect("form end")];
                if form.contains("method=\"post\"") && form.contains("/products/") {
                    forms += 1;
                    assert!(form.contains(" disabled"), "{name}: enabled form {form}");
                }
            }
            assert!(forms > 10, "{name}: {forms} write forms checked");
            for (i, _) in page.text.match_indices("type=\"checkbox\"") {
                let tag = &page.text[i..i + page.text[i..].find('>').expect("tag end")];
                assert!(tag.contains("disabled"), "{name}: {tag}");
            }
            // Filters still work (GET).
            assert_eq!(app.get("/products/SHOP?q=card", &who).await.status, StatusCode::OK);
            // Forged posts: 403, nothing changes.
            let v = format!("task:{t1}");
            let mut posts: Vec<(&str, Vec<(&str, &str)>)> = vec![
                ("/products/SHOP/pbis", vec![("title", "forged")]),
                ("/products/SHOP/pbis/PBI-1/edit", vec![("title", "forged")]),
                ("/products/SHOP/stories/ST-001/delete", vec![]),
                ("/products/SHOP/stories/ST-002/moves", vec![("position", "top")]),
                ("/products/SHOP/bulk", vec![("ids", v.as_str()), ("op", "status"), ("status", "done")]),
            ];
            if name == "dora" {
                // Importing creates a product of one's own: only demo users are refused.
                posts.push(("/products/import", vec![("text", "{}")]));
            }
            for (path, fields) in posts {
                let res = app.form(path, &who, &fields).await;
                assert_eq!(res.status, StatusCode::FORBIDDEN, "{name} {path}: {}", res.text);
            }
            assert_eq!((app.count("products").await, app.count("pbis").await, app.count("stories").await), (1, 2, 3));
            assert_eq!(stories_of(&app, &s, "PBI-1").await, ["ST-001", "ST-002"]);
            assert_eq!(status_of_task(&app, &s, "T-1").await, "todo");
        }
    }

    async fn script_titles_are_escaped_and_long_words_render(t) {
        let app = TestApp::new(t).await;
        let s = shop(&app).await;
        let res = app.form("/products/SHOP/pbis", &s.cookie, &[("title", "<script>alert(1)</script>")]).await;
        assert_eq!(res.status, StatusCode::SEE_OTHER);
        // Descriptions hold at most 4000 characters: one word of that length.
        let word = "w".repeat(4000);
        let res = app.form("/products/SHOP/pbis/PBI-3/stories", &s.cookie, &[("title", "x"), ("description", &word)]).await;
        assert_eq!(res.status, StatusCode::SEE_OTHER);
        let page = app.get("/products/SHOP", &s.cookie).await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(!page.text.contains("<script>alert(1)"), "escaped");
        let at = page.text.find("id=\"pbi-PBI-3\"").expect("PBI-3");
        let item = &page.text[at..at + 1200];
        assert!(item.contains("&#60;script&#62;alert(1)&#60;/script&#62;") || item.contains("&lt;script&gt;alert(1)&lt;/script&gt;"), "{item}");
        assert!(page.text.contains(&word), "the long word is rendered (CSS wraps it)");
        // A 10,000-character word in the text filter comes back in its input, escaped.
        let long = format!("{}<b>", "q".repeat(10_000));
        let page = app.get(&format!("/products/SHOP?q={}", long.replace('<', "%3C").replace('>', "%3E")), &s.cookie).await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(page.text.contains(&"q".repeat(10_000)) && !page.text.contains("<b>"));
    }
}
