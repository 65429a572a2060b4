//! The sprint board page: cards and columns with their ids, codes and
//! statuses; a task moved through the board route (as the drag-and-drop
//! and the keyboard Move… form post it) with its story and PBI roll-up
//! visible in the re-rendered page; bad input and refusals shown; the
//! sprint picker; 404s.

use axum::http::{Method, StatusCode};
use baton_testkit::backend_tests;
use serde_json::json;

use crate::{
    harness::TestApp,
    items::ix::{bearer, snapshot},
    pages_sprints::px::*,
};

backend_tests! {
    async fn the_board_moves_tasks_and_shows_the_roll_up_at_once(t) {
        let app = TestApp::new(t).await;
        let px = setup(&app).await;
        let (_, stories, tasks) = backlog(&app, &px, "Board <b>PBI</b>", 2, 2, false).await;
        let sid = sprint(&app, &px, "Board sprint").await;
        plan(&app, &px, &sid, &stories).await;

        let page = app.get("/products/WEB/board", &px.owner).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.text);
        assert!(!page.text.contains("<b>PBI</b>"), "titles are escaped");
        for status in ["todo", "in_progress", "review", "done", "failed"] {
            let col = tag(&page.text, &format!("column-{status}"));
            assert!(col.contains("data-live"), "{col}");
            assert!(page.text.contains(&format!("data-dnd-field=\"status\" data-dnd-value=\"{status}\"")));
        }
        let card = tag(&page.text, "task-T-1");
        for attr in ["data-code=\"T-1\"", "data-status=\"todo\"", "draggable=\"true\"", "data-move-url=\"/products/WEB/tasks/T-1/status\""] {
            assert!(card.contains(attr), "{attr}: {card}");
        }
        assert!(page.text.contains("<select id=\"status-T-1\" name=\"status\">"), "keyboard Move… form");
        assert!(tag(&page.text, "story-ST-001").contains("data-status=\"in_sprint\""));
        assert!(tag(&page.text, "pbi-PBI-1").contains("data-status=\"ready\""));
        assert!(tag(&page.text, "sprint-SP-1").contains("data-status=\"open\""));
        assert_eq!(tasks.len(), 4);

        // As the drag-and-drop posts it: status + neighbours + return_to.
        let res = app.form("/products/WEB/tasks/T-1/status", &px.owner, &[("status", "in_progress"), ("before", ""), ("after", ""), ("return_to", "/products/WEB/board?sprint=SP-1")]).await;
        assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text);
        assert_eq!(res.header("location"), Some("/products/WEB/board?sprint=SP-1"));
        assert_eq!(status_of(&app, &px, "tasks", "T-1").await, "IN_PROGRESS");
        let page = app.get("/products/WEB/board?sprint=SP-1", &px.owner).await;
        let col = region(&page.text, "column-in_progress", "id=\"column-review\"");
        assert!(col.contains("id=\"task-T-1\"") && col.contains("data-status=\"in_progress\""), "{col}");

        // Both tasks of ST-001 done (keyboard form): the story is done at once, with its progress.
        for t in ["T-1", "t-2"] {
            let res = app.form(&format!("/products/WEB/tasks/{t}/status"), &px.owner, &[("status", "done"), ("return_to", "/products/WEB/board")]).await;
            assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text);
        }
        let page = app.get("/products/WEB/board?sprint=SP-1", &px.owner).await;
        let story = region(&page.text, "story-ST-001", "</li>");
        assert!(story.contains("data-status=\"done\"") && story.contains("2/2 tasks done") && story.contains("value=\"100\""), "{story}");
        assert!(tag(&page.text, "pbi-PBI-1").contains("data-status=\"ready\""), "the PBI waits for ST-002");
        // The rest done: the PBI is done too.
        for t in ["T-3", "T-4"] {
            let res = app.form(&format!("/products/WEB/tasks/{t}/status"), &px.owner, &[("status", "done")]).await;
            assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text);
        }
        let page = app.get("/products/WEB/board?sprint=SP-1", &px.owner).await;
        assert!(tag(&page.text, "pbi-PBI-1").contains("data-status=\"done\""), "{}", page.text);
        assert_eq!(status_of(&app, &px, "pbis", "PBI-1").await, "DONE");
        // Back to todo: the story and PBI are demoted, visibly.
        let res = app.form("/products/WEB/tasks/T-4/status", &px.owner, &[("status", "todo")]).await;
        assert_eq!(res.status, StatusCode::SEE_OTHER);
        let page = app.get("/products/WEB/board?sprint=SP-1", &px.owner).await;
        assert!(tag(&page.text, "story-ST-002").contains("data-status=\"in_sprint\""));
        assert!(!tag(&page.text, "pbi-PBI-1").contains("data-status=\"done\""));

        // Order within a column follows the story's task order when the neighbour is of the same story.
        let res = app.form("/products/WEB/tasks/T-4/status", &px.owner, &[("status", "done"), ("before", "T-3"), ("after", "")]).await;
        assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text);
        let page = app.get("/products/WEB/board?sprint=SP-1", &px.owner).await;
        let done = region(&page.text, "column-done", "id=\"column-failed\"");
        assert!(done.find("task-T-4") < done.find("task-T-3"), "{done}");

        // Bad input: a clear message in the alert, 422, nothing changed.
        let before = snapshot(&app).await;
        let res = app.form("/products/WEB/tasks/T-1/status", &px.owner, &[("status", "finished"), ("return_to", "/products/WEB/board?sprint=SP-1")]).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(res.text.contains("role=\"alert\"") && res.text.contains("T-1 was not moved: status: must be one of"), "{}", res.text);
        assert!(res.text.contains("id=\"column-todo\""), "the board is shown again");
        // An archived product refuses, with the reason.
        let res = app.json(Method::POST, &format!("/api/products/{}/archive", px.pid), &bearer(&px.m.owner), &json!({})).await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.text);
        let res = app.form("/products/WEB/tasks/T-1/status", &px.owner, &[("status", "todo")]).await;
        assert_eq!(res.status, StatusCode::CONFLICT, "{}", res.text);
        assert!(res.text.contains("T-1 was not moved") && res.text.contains("archived"), "{}", res.text);
        assert!(app.get("/products/WEB/board?sprint=SP-1", &px.owner).await.text.contains("disabled title=\"The product is archived\""));
        assert_eq!(snapshot(&app).await, before);

        // Unknown tasks, sprints and invisible products: the one 404 page.
        assert_eq!(app.form("/products/WEB/tasks/T-99/status", &px.owner, &[("status", "done")]).await.status, StatusCode::NOT_FOUND);
        assert_eq!(app.get("/products/WEB/board?sprint=SP-9", &px.owner).await.status, StatusCode::NOT_FOUND);
        let hidden = app.get("/products/WEB/board", &px.outsider).await;
        assert_eq!(hidden.status, StatusCode::NOT_FOUND);
        assert_eq!(hidden.text, app.get("/products/NOPE/board", &px.outsider).await.text);
        assert_eq!(app.form("/products/WEB/tasks/T-1/status", &px.outsider, &[("status", "done")]).await.status, StatusCode::NOT_FOUND);
    }

    async fn the_board_shows_the_newest_open_sprint_or_the_one_asked_for(t) {
        let app = TestApp::new(t).await;
        let px = setup(&app).await;
        let page = app.get("/products/WEB/board", &px.owner).await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(page.text.contains("has no open sprint"), "{}", page.text);

        let (_, stories, _) = backlog(&app, &px, "Two sprints", 2, 1, false).await;
        let first = sprint(&app, &px, "First").await;
        let second = sprint(&app, &px, "Second").await;
        plan(&app, &px, &first, &stories[..1]).await;
        plan(&app, &px, &second, &stories[1..]).await;
        let page = app.get("/products/WEB/board", &px.owner).await;
        assert!(page.text.contains("id=\"sprint-SP-2\"") && page.text.contains("id=\"story-ST-002\"") && !page.text.contains("id=\"story-ST-001\""), "{}", page.text);
        let page = app.get("/products/WEB/board?sprint=sp-1", &px.owner).await;
        assert!(page.text.contains("id=\"story-ST-001\"") && !page.text.contains("id=\"story-ST-002\""));
        assert!(page.text.contains("<option value=\"SP-1\" selected>"), "{}", page.text);
        assert!(page.text.contains("value=\"/products/WEB/board?sprint=SP-1\""), "moves come back to this sprint");
    }
}
