//! Status propagation over HTTP (reference §4.3): a task's status moves its
//! story, PBI, sprint and sprint run in the same transaction, and the
//! answer says what changed.

use axum::http::{Method, StatusCode};
use baton_app::{Actor, tokens::NewToken};
use baton_store::{
    entities::{job, sprint_run},
    events::kinds,
    new_id, now,
    sea_orm::{ActiveModelTrait, ActiveValue::Set, ConnectionTrait, Statement},
};
use baton_testkit::backend_tests;
use serde_json::{Value, json};

use crate::{
    harness::{As, TestApp},
    items::ix::*,
};

/// One column of one row as text (`NULL` for null).
async fn col(app: &TestApp, table: &str, column: &str, id: &str) -> String {
    let db = &app.t.db;
    let row = db
        .query_one_raw(Statement::from_sql_and_values(
            db.get_database_backend(),
            format!("SELECT CAST({column} AS TEXT) AS v FROM {table} WHERE id = $1"),
            [id.into()],
        ))
        .await
        .expect("query")
        .unwrap_or_else(|| panic!("no {table} row {id}"));
    row.try_get::<Option<String>>("", "v").expect("value").unwrap_or_else(|| "NULL".into())
}

fn change(from: &str, to: &str) -> Value {
    json!({ "from": from, "to": to })
}

fn id(v: &Value) -> String {
    v["id"].as_str().expect("id").to_string()
}

async fn run_row(app: &TestApp, sprint_id: &str, user_id: &str, status: &str) -> String {
    let t = now();
    sprint_run::ActiveModel {
        id: Set(new_id()),
        sprint_id: Set(sprint_id.into()),
        started_by_id: Set(user_id.into()),
        status: Set(status.into()),
        pr_strategy: Set("SPRINT".into()),
        started_at: Set(Some(t)),
        created_at: Set(t),
        updated_at: Set(t),
        ..Default::default()
    }
    .insert(&app.t.db)
    .await
    .expect("run row")
    .id
}

#[allow(clippy::too_many_arguments, reason = "a fixture row names its columns")]
async fn job_row(
    app: &TestApp,
    user_id: &str,
    product_id: &str,
    task_id: &str,
    run_id: &str,
    seq: i32,
    status: &str,
    token_id: Option<&str>,
) -> String {
    let t = now();
    job::ActiveModel {
        id: Set(new_id()),
        user_id: Set(user_id.into()),
        product_id: Set(product_id.into()),
        task_id: Set(Some(task_id.into())),
        sprint_run_id: Set(Some(run_id.into())),
        sprint_sequence: Set(Some(seq)),
        kind: Set("TASK_IMPLEMENTATION".into()),
        status: Set(status.into()),
        runtime: Set("CLAUDE".into()),
        source: Set("ORCHESTRATOR".into()),
        claimed_by_token_id: Set(token_id.map(str::to_string)),
        retry_count: Set(0),
        created_at: Set(t),
        updated_at: Set(t),
        ..Default::default()
    }
    .insert(&app.t.db)
    .await
    .expect("job row")
    .id
}

backend_tests! {
    async fn task_statuses_promote_and_demote_the_story_pbi_and_sprint_in_one_go(t) {
        let app = TestApp::new(t).await;
        let m = app.matrix().await;
        let owner = bearer(&m.owner);
        let sp = sprint(&app, &m.product_id, "SP-1", "OPEN").await;
        pbi(&app, &owner, &m.product_id, "P").await;
        story(&app, &owner, "PBI-1", json!({ "title": "S", "sprint_id": sp })).await;
        task(&app, &owner, "ST-001", "A").await;
        task(&app, &owner, "ST-001", "B").await;

        let r = set_status(&app, &owner, "T-1", "done").await;
        assert_eq!(r["status"], "done");
        assert_eq!(r["story_status"], "in_sprint");
        assert_eq!((r["story_status_change"].clone(), r["pbi_status_change"].clone(), r["sprint_status_change"].clone()),
            (Value::Null, Value::Null, Value::Null));

        let r = set_status(&app, &owner, "T-2", "done").await;
        assert_eq!(r["story_status"], "done");
        assert_eq!(r["story_status_change"], "promoted");
        assert_eq!(r["pbi_status_change"], change("ready", "done"));
        assert_eq!(r["sprint_status_change"], change("open", "closed"));
        assert_eq!(r["sprint_run_status_change"], Value::Null);
        assert_eq!(col(&app, "sprints", "status", &sp).await, "CLOSED");
        assert_ne!(col(&app, "sprints", "completed_at", &sp).await, "NULL", "closing sets completed_at");
        assert_eq!(get(&app, &owner, "/api/stories/ST-001").await["status"], "done");
        assert_eq!(get(&app, &owner, "/api/pbis/PBI-1").await["status"], "done");

        // Reopening a task demotes everything again.
        let r = set_status(&app, &owner, "t-2", "in_progress").await;
        assert_eq!(r["story_status"], "in_sprint");
        assert_eq!(r["story_status_change"], "demoted");
        assert_eq!(r["pbi_status_change"], change("done", "ready"));
        assert_eq!(r["sprint_status_change"], change("closed", "open"));
        assert_eq!(col(&app, "sprints", "completed_at", &sp).await, "NULL", "reopening clears completed_at");

        // Excluded tasks are ignored, but a story of excluded tasks only is not done.
        let r = set_status(&app, &owner, "T-2", "excluded").await;
        assert_eq!((r["story_status"].clone(), r["story_status_change"].clone()), (json!("done"), json!("promoted")));
        let r = set_status(&app, &owner, "T-1", "excluded").await;
        assert_eq!((r["story_status"].clone(), r["story_status_change"].clone()), (json!("in_sprint"), json!("demoted")));

        // A failed task fails the story, the PBI and the sprint; fixing it recovers them.
        let r = set_status(&app, &owner, "T-1", "failed").await;
        assert_eq!((r["story_status"].clone(), r["story_status_change"].clone()), (json!("failed"), json!("demoted")));
        assert_eq!(r["pbi_status_change"], change("ready", "failed"));
        assert_eq!(r["sprint_status_change"], change("open", "failed"));
        let r = set_status(&app, &owner, "T-1", "done").await;
        assert_eq!((r["story_status"].clone(), r["story_status_change"].clone()), (json!("done"), json!("promoted")));
        assert_eq!(r["pbi_status_change"], change("failed", "done"));
        assert_eq!(r["sprint_status_change"], change("failed", "closed"));

        // Setting the same status again changes nothing.
        let r = set_status(&app, &owner, "T-1", "done").await;
        assert_eq!((r["story_status_change"].clone(), r["pbi_status_change"].clone()), (Value::Null, Value::Null));

        // A backlog story goes back to open, not in_sprint.
        story(&app, &owner, "PBI-1", json!({ "title": "Backlog" })).await;
        task(&app, &owner, "ST-002", "C").await;
        let r = set_status(&app, &owner, "T-3", "done").await;
        assert_eq!(r["story_status"], "done");
        let r = set_status(&app, &owner, "T-3", "review").await;
        assert_eq!((r["story_status"].clone(), r["story_status_change"].clone()), (json!("open"), json!("demoted")));
    }

    async fn a_sprint_closes_only_when_every_pbi_in_it_is_done_and_blocked_pbis_stay_blocked(t) {
        let app = TestApp::new(t).await;
        let m = app.matrix().await;
        let owner = bearer(&m.owner);
        let sp = sprint(&app, &m.product_id, "SP-1", "OPEN").await;
        pbi(&app, &owner, &m.product_id, "Spans sprint and backlog").await;
        story(&app, &owner, "PBI-1", json!({ "title": "In sprint", "sprint_id": sp })).await;
        story(&app, &owner, "PBI-1", json!({ "title": "In backlog" })).await;
        task(&app, &owner, "ST-001", "A").await;
        task(&app, &owner, "ST-002", "B").await;

        let r = set_status(&app, &owner, "T-1", "done").await;
        assert_eq!(r["story_status_change"], "promoted");
        assert_eq!(r["pbi_status_change"], Value::Null, "the PBI still has an open story");
        assert_eq!(r["sprint_status_change"], Value::Null, "the sprint's PBI is not done");
        assert_eq!(col(&app, "sprints", "status", &sp).await, "OPEN");
        // Finishing the backlog story completes the PBI, which closes the sprint it spans.
        let r = set_status(&app, &owner, "T-2", "done").await;
        assert_eq!(r["pbi_status_change"], change("ready", "done"));
        assert_eq!(r["sprint_status_change"], Value::Null, "the task's own story is in no sprint");
        assert_eq!(col(&app, "sprints", "status", &sp).await, "CLOSED");

        // BLOCKED is set by hand and never rolled up.
        pbi(&app, &owner, &m.product_id, "Blocked").await;
        story(&app, &owner, "PBI-2", json!({ "title": "S" })).await;
        task(&app, &owner, "ST-003", "C").await;
        let res = app.json(Method::PATCH, "/api/pbis/PBI-2", &owner, &json!({ "status": "blocked" })).await;
        assert_eq!(res.json()["status"], "blocked");
        let r = set_status(&app, &owner, "T-3", "done").await;
        assert_eq!(r["story_status_change"], "promoted");
        assert_eq!(r["pbi_status_change"], Value::Null);
        assert_eq!(get(&app, &owner, "/api/pbis/PBI-2").await["status"], "blocked");
        let r = set_status(&app, &owner, "T-3", "failed").await;
        assert_eq!(r["pbi_status_change"], Value::Null);
        assert_eq!(get(&app, &owner, "/api/pbis/PBI-2").await["status"], "blocked");

        // Archived sprints never change.
        let archived = sprint(&app, &m.product_id, "SP-2", "ARCHIVED").await;
        pbi(&app, &owner, &m.product_id, "Q").await;
        let s = story(&app, &owner, "PBI-3", json!({ "title": "S" })).await;
        app.t.db.execute_raw(Statement::from_sql_and_values(app.t.db.get_database_backend(),
            "UPDATE stories SET sprint_id = $1, status = 'IN_SPRINT' WHERE id = $2", [archived.clone().into(), id(&s).into()]))
            .await.expect("put story in archived sprint");
        task(&app, &owner, "ST-004", "D").await;
        set_status(&app, &owner, "T-4", "done").await;
        assert_eq!(col(&app, "sprints", "status", &archived).await, "ARCHIVED");
    }

    async fn creating_deleting_and_moving_tasks_and_stories_keep_statuses_derived(t) {
        let app = TestApp::new(t).await;
        let m = app.matrix().await;
        let owner = bearer(&m.owner);
        pbi(&app, &owner, &m.product_id, "P").await;
        story(&app, &owner, "PBI-1", json!({ "title": "S1" })).await;
        story(&app, &owner, "PBI-1", json!({ "title": "S2" })).await;
        task(&app, &owner, "ST-001", "A").await;
        task(&app, &owner, "ST-002", "B").await;
        set_status(&app, &owner, "T-1", "done").await;
        let r = set_status(&app, &owner, "T-2", "done").await;
        assert_eq!(r["pbi_status_change"], change("ready", "done"));

        // A new task reopens a done story and its PBI.
        let r = created(&app, "/api/stories/ST-001/tasks", &owner, json!({ "title": "More" })).await;
        assert_eq!(r["code"], "T-3");
        assert_eq!((r["story_status"].clone(), r["story_status_change"].clone()), (json!("open"), json!("demoted")));
        assert_eq!(r["pbi_status_change"], change("done", "ready"));
        // Deleting it makes the story done again.
        assert_eq!(app.send_delete("/api/tasks/T-3", &owner).await.status, StatusCode::NO_CONTENT);
        assert_eq!(get(&app, &owner, "/api/stories/ST-001").await["status"], "done");
        assert_eq!(get(&app, &owner, "/api/pbis/PBI-1").await["status"], "done");

        // Moving an unfinished task in re-derives both stories.
        story(&app, &owner, "PBI-1", json!({ "title": "S3" })).await;
        task(&app, &owner, "ST-003", "C").await;
        assert_eq!(get(&app, &owner, "/api/pbis/PBI-1").await["status"], "ready");
        let r = app.json(Method::PATCH, "/api/tasks/T-4", &owner, &json!({ "story_id": "ST-002" })).await.json();
        assert_eq!((r["story_status"].clone(), r["story_status_change"].clone()), (json!("open"), json!("demoted")));
        assert_eq!(get(&app, &owner, "/api/stories/ST-003").await["status"], "open", "no tasks: open");
        assert_eq!(get(&app, &owner, "/api/pbis/PBI-1").await["status"], "ready");
        // Deleting the unfinished story leaves only done stories: the PBI is done.
        app.send_delete("/api/stories/ST-003", &owner).await;
        assert_eq!(get(&app, &owner, "/api/pbis/PBI-1").await["status"], "ready", "ST-002 still has T-4 open");
        assert_eq!(app.send_delete("/api/stories/ST-002", &owner).await.status, StatusCode::NO_CONTENT);
        assert_eq!(get(&app, &owner, "/api/pbis/PBI-1").await["status"], "done");

        // A story moved to a done PBI reopens it; the PBI it left is re-derived.
        pbi(&app, &owner, &m.product_id, "Q").await;
        story(&app, &owner, "PBI-2", json!({ "title": "Open one" })).await;
        let res = app.json(Method::PATCH, "/api/stories/ST-004", &owner, &json!({ "pbi_id": "PBI-1" })).await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.text);
        assert_eq!(get(&app, &owner, "/api/pbis/PBI-1").await["status"], "ready");
        // A story without tasks may have its status set by hand.
        let res = app.json(Method::PATCH, "/api/stories/ST-004", &owner, &json!({ "status": "done" })).await;
        assert_eq!(res.json()["status"], "done");
        assert_eq!(get(&app, &owner, "/api/pbis/PBI-1").await["status"], "done");
    }

    async fn the_first_task_of_a_sprint_story_makes_the_caller_its_assignee(t) {
        let app = TestApp::new(t).await;
        let m = app.matrix().await;
        let owner = bearer(&m.owner);
        let writer = bearer(&m.writer);
        let owner_id = me(&app, &owner).await;
        let writer_id = me(&app, &writer).await;
        let sp = sprint(&app, &m.product_id, "SP-1", "OPEN").await;
        pbi(&app, &owner, &m.product_id, "P").await;
        story(&app, &owner, "PBI-1", json!({ "title": "Sprint", "sprint_id": sp })).await;
        story(&app, &owner, "PBI-1", json!({ "title": "Backlog" })).await;
        story(&app, &owner, "PBI-1", json!({ "title": "Taken", "sprint_id": "SP-1", "assignee_id": owner_id })).await;

        task(&app, &writer, "ST-001", "first").await;
        assert_eq!(get(&app, &owner, "/api/stories/ST-001").await["assignee_id"], writer_id.as_str());
        task(&app, &owner, "ST-001", "second").await;
        assert_eq!(get(&app, &owner, "/api/stories/ST-001").await["assignee_id"], writer_id.as_str(), "only when unassigned");
        task(&app, &writer, "ST-002", "backlog").await;
        assert_eq!(get(&app, &owner, "/api/stories/ST-002").await["assignee_id"], Value::Null, "only in a sprint");
        task(&app, &writer, "ST-003", "taken").await;
        assert_eq!(get(&app, &owner, "/api/stories/ST-003").await["assignee_id"], owner_id.as_str());
        // Tasks inherit the story's sprint.
        assert_eq!(get(&app, &owner, "/api/tasks/T-1").await["sprint_id"], sp.as_str());
        assert_eq!(get(&app, &owner, "/api/tasks/T-3").await["sprint_id"], Value::Null);

        // A story can only start in an open sprint of the same product.
        let closed = sprint(&app, &m.product_id, "SP-2", "CLOSED").await;
        let before = app.count("stories").await;
        let res = app.json(Method::POST, "/api/pbis/PBI-1/stories", &owner, &json!({ "title": "x", "sprint_id": closed })).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", res.text);
        assert!(res.text.contains("SP-2 is closed"), "{}", res.text);
        let elsewhere = app.product_row(&owner_id, "Other").await;
        let foreign = sprint(&app, &elsewhere, "SP-1", "OPEN").await;
        let res = app.json(Method::POST, "/api/pbis/PBI-1/stories", &owner, &json!({ "title": "x", "sprint_id": foreign })).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", res.text);
        assert_eq!(app.count("stories").await, before);
    }

    async fn sprint_runs_finish_with_their_sprint_and_a_failed_task_cancels_the_rest_of_the_run(t) {
        let app = TestApp::new(t).await;
        let m = app.matrix().await;
        let owner = bearer(&m.owner);
        let owner_id = me(&app, &owner).await;
        let agent = app.app().create_token(&Actor::cli(), &owner_id, NewToken { label: "agent".into(), ..Default::default() })
            .await.expect("agent token");
        let agent_as = As::Bearer(agent.token.clone());
        let other_agent = app.app().create_token(&Actor::cli(), &owner_id, NewToken { label: "other".into(), ..Default::default() })
            .await.expect("other token");
        let sp = sprint(&app, &m.product_id, "SP-1", "OPEN").await;
        pbi(&app, &owner, &m.product_id, "P").await;
        story(&app, &owner, "PBI-1", json!({ "title": "S", "sprint_id": sp })).await;
        let t1 = id(&task(&app, &owner, "ST-001", "A").await);
        let t2 = id(&task(&app, &owner, "ST-001", "B").await);
        let t3 = id(&task(&app, &owner, "ST-001", "C").await);
        let run = run_row(&app, &sp, &owner_id, "RUNNING").await;
        let mine = job_row(&app, &owner_id, &m.product_id, &t1, &run, 1, "CLAIMED", Some(&agent.info.id)).await;
        let queued = job_row(&app, &owner_id, &m.product_id, &t2, &run, 2, "QUEUED", None).await;
        let running = job_row(&app, &owner_id, &m.product_id, &t3, &run, 3, "RUNNING", Some(&other_agent.info.id)).await;
        let done = job_row(&app, &owner_id, &m.product_id, &t3, &run, 4, "DONE", None).await;

        // Refusals first: each leaves everything as it was.
        let before = snapshot(&app).await;
        let body = json!({ "status": "failed", "sprint_run_id": run });
        let res = app.json(Method::PATCH, "/api/tasks/T-1", &owner, &body).await;
        assert_eq!(res.status, StatusCode::FORBIDDEN, "a token without a job in the run: {}", res.text);
        let res = app.json(Method::PATCH, "/api/tasks/T-1", &agent_as, &json!({ "status": "failed", "sprint_run_id": "nope" })).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", res.text);
        let other_sprint = sprint(&app, &m.product_id, "SP-2", "OPEN").await;
        let other_run = run_row(&app, &other_sprint, &owner_id, "RUNNING").await;
        let res = app.json(Method::PATCH, "/api/tasks/T-1", &agent_as, &json!({ "status": "failed", "sprint_run_id": other_run })).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", res.text);
        assert!(res.text.contains("not in sprint SP-2"), "{}", res.text);
        let finished = run_row(&app, &sp, &owner_id, "DONE").await;
        let res = app.json(Method::PATCH, "/api/tasks/T-1", &agent_as, &json!({ "status": "failed", "sprint_run_id": finished })).await;
        assert_eq!(res.status, StatusCode::CONFLICT, "{}", res.text);
        assert!(res.text.contains("is done"), "{}", res.text);
        let mut after = snapshot(&app).await;
        after.retain(|l| !l.contains(&other_sprint) && !l.contains(&other_run) && !l.contains(&finished));
        assert_eq!(after, before, "refused status updates changed something");

        // The agent holding a job in the run reports a failure: run failed, the rest cancelled.
        let res = app.json(Method::PATCH, "/api/tasks/T-1", &agent_as, &body).await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.text);
        let r = res.json();
        assert_eq!(r["sprint_status_change"], change("open", "failed"));
        assert_eq!(r["sprint_run_status_change"], change("running", "failed"));
        assert_eq!(col(&app, "sprint_runs", "status", &run).await, "FAILED");
        assert_eq!(col(&app, "sprint_runs", "failed_task_id", &run).await, t1);
        assert_ne!(col(&app, "sprint_runs", "finished_at", &run).await, "NULL");
        assert_eq!(col(&app, "jobs", "status", &mine).await, "CLAIMED", "the failing task's own job is left to its worker");
        for j in [&queued, &running] {
            assert_eq!(col(&app, "jobs", "status", j).await, "CANCELLED");
            assert_eq!(col(&app, "jobs", "error", j).await, format!("Cancelled: task {t1} failed in same sprint run"));
        }
        assert_eq!(col(&app, "jobs", "status", &done).await, "DONE");

        // Closing a sprint by finishing its last PBI finishes its newest active run as done.
        let sp3 = sprint(&app, &m.product_id, "SP-3", "OPEN").await;
        pbi(&app, &owner, &m.product_id, "Q").await;
        story(&app, &owner, "PBI-2", json!({ "title": "S", "sprint_id": sp3 })).await;
        task(&app, &owner, "ST-002", "D").await;
        let run3 = run_row(&app, &sp3, &owner_id, "PAUSED").await;
        let r = set_status(&app, &owner, "T-4", "done").await;
        assert_eq!(r["sprint_status_change"], change("open", "closed"));
        assert_eq!(r["sprint_run_status_change"], change("paused", "done"));
        assert_eq!(col(&app, "sprint_runs", "status", &run3).await, "DONE");
    }

    async fn status_changes_publish_events_after_commit_and_failures_publish_none(t) {
        let app = TestApp::new(t).await;
        let m = app.matrix().await;
        let owner = bearer(&m.owner);
        pbi(&app, &owner, &m.product_id, "P").await;
        story(&app, &owner, "PBI-1", json!({ "title": "S" })).await;
        task(&app, &owner, "ST-001", "A").await;
        let mut rx = app.app().bus.subscribe();
        set_status(&app, &owner, "T-1", "done").await;
        let mut seen = Vec::new();
        while let Ok(Ok(e)) = tokio::time::timeout(std::time::Duration::from_secs(5), rx.recv()).await {
            seen.push(e);
            if seen.len() == 2 {
                break;
            }
        }
        assert_eq!(seen.len(), 2, "{seen:?}");
        assert_eq!(seen[0].kind, kinds::TASK_CHANGED);
        assert_eq!(seen[0].product_id.as_deref(), Some(m.product_id.as_str()));
        assert_eq!(seen[0].data["code"], "T-1");
        assert_eq!(seen[0].data["status"], "done");
        assert_eq!(seen[0].data["rollup"]["stories"][0]["to"], "done");
        assert_eq!(seen[1].kind, kinds::STORY_CHANGED);
        assert_eq!(seen[1].data["to"], "done");

        let res = app.json(Method::PATCH, "/api/tasks/T-1", &bearer(&m.reader), &json!({ "status": "todo" })).await;
        assert_eq!(res.status, StatusCode::FORBIDDEN);
        let res = app.json(Method::PATCH, "/api/tasks/T-1", &owner, &json!({ "status": "todo", "sprint_run_id": "x" })).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(rx.try_recv().is_err(), "a refused change published an event");
        assert_eq!(get(&app, &owner, "/api/tasks/T-1").await["status"], "done");
    }
}
