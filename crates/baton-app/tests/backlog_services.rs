//! Backlog services called directly (as MCP tools will call them), on both
//! backends: ref resolution, the status update with its change report,
//! propagation from seeds, and race-free codes under 60 concurrent creates.

mod common;

use std::sync::Arc;

use baton_app::{
    App, AppConfig, AppError,
    backlog::{
        pbis::NewPbi,
        propagation::{Seeds, propagate},
        refs,
        stories::NewStory,
        tasks::{NewTask, apply_task_status},
    },
    txn,
};
use baton_domain::{
    backlog::{PbiStatus, SprintStatus, StoryStatus, TaskStatus},
    propagation::{StoryChange, Transition},
};
use baton_store::{
    entities::{sprint, story, task},
    new_id, now,
    sea_orm::{ActiveModelTrait, ActiveValue::Set, ConnectionTrait, EntityTrait, Statement},
};
use baton_testkit::backend_tests;
use common::{member, product_of, user};

async fn open_sprint(app: &App, product_id: &str) -> String {
    let t = now();
    sprint::ActiveModel {
        id: Set(new_id()),
        product_id: Set(product_id.into()),
        code: Set("SP-1".into()),
        sprint_goal: Set("Goal".into()),
        status: Set("OPEN".into()),
        start_date: Set(None),
        end_date: Set(None),
        created_at: Set(t),
        updated_at: Set(t),
        completed_at: Set(None),
    }
    .insert(&app.db)
    .await
    .expect("sprint")
    .id
}

fn new_pbi(title: &str) -> NewPbi {
    NewPbi { title: title.into(), ..Default::default() }
}
fn new_story(title: &str) -> NewStory {
    NewStory { title: title.into(), ..Default::default() }
}
fn new_task(title: &str) -> NewTask {
    NewTask { title: title.into(), ..Default::default() }
}

fn field_message(e: AppError) -> (String, String) {
    match e {
        AppError::Validation(v) => (v.0[0].path.clone(), v.0[0].message.clone()),
        other => panic!("expected a validation error, got {other:?}"),
    }
}

backend_tests! {
    async fn refs_accept_ids_and_codes_hint_at_wrong_kinds_and_ask_for_ids_when_ambiguous(t) {
        let app = App::local(t.db.clone(), AppConfig::default());
        let alice = user(&app, "alice").await;
        let bob = user(&app, "bob").await;
        let eve = user(&app, "eve").await;
        let p1 = product_of(&app, &alice, "One").await;
        let p2 = product_of(&app, &bob, "Two").await;
        member(&app, &p2, &alice, "READ_WRITE").await;
        let a = app.create_pbi(&alice, &p1, new_pbi("A")).await.expect("pbi");
        let s = app.create_story(&alice, "PBI-1", new_story("S")).await.expect("story");
        let tk = app.create_task(&alice, "ST-001", new_task("T")).await.expect("task").task;

        assert_eq!(refs::resolve_pbi(&app.db, &alice, &a.id).await.expect("by id").code, "PBI-1");
        assert_eq!(refs::resolve_story(&app.db, &alice, "st-1").await.expect("short code").id, s.id);
        assert_eq!(refs::resolve_task(&app.db, &alice, " t-1 ").await.expect("padded").id, tk.id);

        let (path, msg) = field_message(refs::resolve_task(&app.db, &alice, "ST-001").await.expect_err("story code"));
        assert_eq!((path.as_str(), msg.as_str()), ("task_id", "ST-001 is a story code; pass a task id or T-… code"));
        let (path, msg) = field_message(refs::resolve_story_at(&app.db, &alice, "T-1", "items.0").await.expect_err("task code"));
        assert_eq!((path.as_str(), msg.as_str()), ("items.0", "T-1 is a task code; pass a story id or ST-… code"));
        let (path, _) = field_message(refs::resolve_pbi(&app.db, &alice, "  ").await.expect_err("empty"));
        assert_eq!(path, "pbi_id");

        // Bob's product (where Alice is a member) gets its own PBI-1: ambiguous for Alice, not for Bob.
        let b = app.create_pbi(&bob, &p2, new_pbi("B")).await.expect("pbi");
        assert_eq!(b.code, "PBI-1");
        let (_, msg) = field_message(refs::resolve_pbi(&app.db, &alice, "PBI-1").await.expect_err("ambiguous"));
        assert!(msg.contains(&a.id) && msg.contains(&b.id), "{msg}");
        assert_eq!(refs::resolve_pbi(&app.db, &bob, "PBI-1").await.expect("bob's").id, b.id);
        // Eve sees nothing: not found, by id or code, exactly like a missing item.
        for r in [a.id.as_str(), "PBI-1", "PBI-99"] {
            assert!(matches!(refs::resolve_pbi(&app.db, &eve, r).await, Err(AppError::NotFound(_))), "{r}");
        }
        assert!(matches!(refs::resolve_task(&app.db, &bob, &tk.id).await, Err(AppError::NotFound("task"))));
    }

    async fn update_task_status_reports_story_pbi_and_sprint_changes(t) {
        let app = App::local(t.db.clone(), AppConfig::default());
        let alice = user(&app, "alice").await;
        let p = product_of(&app, &alice, "One").await;
        let sp = open_sprint(&app, &p).await;
        app.create_pbi(&alice, &p, new_pbi("A")).await.expect("pbi");
        let s = app
            .create_story(&alice, "PBI-1", NewStory { sprint_id: Some("sp-1".into()), ..new_story("S") })
            .await
            .expect("story");
        assert_eq!(s.status, StoryStatus::InSprint);
        assert_eq!(s.sprint_id.as_deref(), Some(sp.as_str()));
        let created = app.create_task(&alice, &s.code, new_task("T")).await.expect("task");
        assert_eq!(created.task.sprint_id.as_deref(), Some(sp.as_str()));
        assert_eq!(created.story_status_change, None);

        let r = app.update_task_status(&alice, "T-1", TaskStatus::Done, None).await.expect("done");
        assert_eq!(r.task.status, TaskStatus::Done);
        assert_eq!(r.story_status, StoryStatus::Done);
        assert_eq!(r.story_status_change, Some(StoryChange::Promoted));
        assert_eq!(r.pbi_status_change, Some(Transition { from: PbiStatus::Ready, to: PbiStatus::Done }));
        assert_eq!(r.sprint_status_change, Some(Transition { from: SprintStatus::Open, to: SprintStatus::Closed }));
        assert_eq!(r.sprint_run_status_change, None);
        let json = serde_json::to_value(&r).expect("json");
        assert_eq!(json["story_status_change"], "promoted");
        assert_eq!(json["pbi_status_change"], serde_json::json!({ "from": "ready", "to": "done" }));
        assert_eq!(json["code"], "T-1", "the task's fields are flattened into the report");

        let r = app.update_task_plan(&alice, "T-1", Some("New plan".into())).await.expect("plan");
        assert_eq!(r.task.implementation_plan.as_deref(), Some("New plan"));
        assert_eq!(r.story_status_change, None);

        let r = app.update_task_status(&alice, "T-1", TaskStatus::ToDo, None).await.expect("reopen");
        assert_eq!(r.story_status_change, Some(StoryChange::Demoted));
        assert_eq!(r.sprint_status_change, Some(Transition { from: SprintStatus::Closed, to: SprintStatus::Open }));

        // A refused update (unknown run) leaves the task as it was.
        let err = app.update_task_status(&alice, "T-1", TaskStatus::Done, Some("nope".into())).await.expect_err("bad run");
        assert_eq!(field_message(err).0, "sprint_run_id");
        assert_eq!(app.get_task(&alice, "T-1").await.expect("task").status, TaskStatus::ToDo);
    }

    async fn propagation_from_seeds_repairs_inconsistent_rows_and_bulk_helpers_share_the_transaction(t) {
        let app = App::local(t.db.clone(), AppConfig::default());
        let alice = user(&app, "alice").await;
        let p = product_of(&app, &alice, "One").await;
        app.create_pbi(&alice, &p, new_pbi("A")).await.expect("pbi");
        let s = app.create_story(&alice, "PBI-1", new_story("S")).await.expect("story");
        let t1 = app.create_task(&alice, "ST-001", new_task("T1")).await.expect("task").task;
        let t2 = app.create_task(&alice, "ST-001", new_task("T2")).await.expect("task").task;
        // Rows written behind the services' back: both tasks done, story still open.
        t.db.execute_raw(Statement::from_string(t.db.get_database_backend(), "UPDATE tasks SET status = 'DONE'"))
            .await
            .expect("raw update");
        let sid = s.id.clone();
        let roll = txn::in_product_txn(&app.db, &p, move |c| Box::pin(async move { propagate(c, Seeds::stories([sid])).await }))
        .await
        .expect("propagate");
        assert_eq!(roll.story(&s.id), Some(Transition { from: StoryStatus::Open, to: StoryStatus::Done }));
        assert_eq!(roll.pbis.len(), 1);
        assert!(roll.sprints.is_empty());

        // Two status changes in one transaction (as a bulk change does), then a rollback: nothing stays.
        let actor = alice.clone();
        let (a, b, sid) = (t1.id.clone(), t2.id.clone(), s.id.clone());
        let res: Result<(), AppError> = txn::in_product_txn(&app.db, &p, move |c| {
            Box::pin(async move {
                for id in [a, b] {
                    let m = task::Entity::find_by_id(id).one(c).await?.ok_or(AppError::NotFound("task"))?;
                    apply_task_status(c, &actor, &m, TaskStatus::Failed, None).await?;
                }
                let st = story::Entity::find_by_id(sid).one(c).await?.ok_or(AppError::NotFound("story"))?;
                assert_eq!(st.status, "FAILED", "visible inside the transaction");
                Err(AppError::Conflict("roll back".into()))
            })
        })
        .await;
        assert!(matches!(res, Err(AppError::Conflict(_))));
        assert_eq!(app.get_story(&alice, "ST-001").await.expect("story").status, StoryStatus::Done);
        assert_eq!(app.get_task(&alice, "T-2").await.expect("task").status, TaskStatus::Done);
    }

    async fn sixty_concurrent_service_creates_in_one_product_get_distinct_gap_free_codes(t) {
        let app = Arc::new(App::local(t.db.clone(), AppConfig::default()));
        let alice = user(&app, "alice").await;
        let p = product_of(&app, &alice, "One").await;
        app.create_pbi(&alice, &p, new_pbi("A")).await.expect("pbi");
        app.create_story(&alice, "PBI-1", new_story("S")).await.expect("story");
        let mut handles = Vec::new();
        for n in 0..60 {
            let (app, alice, p) = (app.clone(), alice.clone(), p.clone());
            handles.push(tokio::spawn(async move {
                match n % 3 {
                    0 => app.create_pbi(&alice, &p, new_pbi(&format!("P{n}"))).await.map(|v| v.code),
                    1 => app.create_story(&alice, "PBI-1", new_story(&format!("S{n}"))).await.map(|v| v.code),
                    _ => app.create_task(&alice, "ST-001", new_task(&format!("T{n}"))).await.map(|v| v.task.code),
                }
            }));
        }
        let mut got = Vec::new();
        for h in handles {
            got.push(h.await.expect("join").expect("every create succeeds"));
        }
        got.sort();
        let mut want: Vec<String> = (2..=21)
            .map(|n| format!("PBI-{n}"))
            .chain((2..=21).map(|n| format!("ST-{n:03}")))
            .chain((1..=20).map(|n| format!("T-{n}")))
            .collect();
        want.sort();
        assert_eq!(got, want);
    }
}
