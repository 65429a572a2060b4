//! Sprint services under concurrency, on both backends: sprint codes stay
//! distinct, a sprint closes exactly once, and a story planned into two
//! sprints at the same time ends up in one of them with its tasks following.

mod common;

use std::sync::Arc;

use baton_app::{
    Actor, App, AppConfig, AppError, AuthVia,
    sprints::{AddStories, CloseSprint, NewSprint},
};
use baton_store::{
    Db,
    entities::{pbi, story, task},
    new_id, now,
    sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter},
};
use baton_testkit::backend_tests;
use common::{product_row, user_row};

/// A bare owner row, acting as if through a token.
async fn owner(db: &Db) -> Actor {
    let u = user_row(db, "owner").await;
    Actor {
        user_id: u.id,
        username: u.username,
        roles: vec![],
        is_demo: false,
        must_reset_password: false,
        via: AuthVia::Token { token_id: String::new(), scope: None },
    }
}

async fn product_of(db: &Db, actor: &Actor) -> String {
    product_row(db, &actor.user_id, "P").await
}

/// A PBI with `n` open stories, each with two tasks; returns the story ids.
async fn stories(db: &Db, pid: &str, n: usize) -> Vec<String> {
    let t = now();
    let p = pbi::ActiveModel {
        id: Set(new_id()),
        product_id: Set(pid.into()),
        code: Set("PBI-1".into()),
        title: Set("PBI".into()),
        priority: Set(2),
        sort_order: Set(1.0),
        status: Set("READY".into()),
        created_at: Set(t),
        updated_at: Set(t),
        ..Default::default()
    }
    .insert(db)
    .await
    .expect("pbi");
    let mut out = Vec::new();
    for i in 0..n {
        let s = story::ActiveModel {
            id: Set(new_id()),
            pbi_id: Set(p.id.clone()),
            product_id: Set(pid.into()),
            code: Set(format!("ST-{:03}", i + 1)),
            title: Set(format!("Story {i}")),
            priority: Set(2),
            sort_order: Set(i as f64),
            status: Set("OPEN".into()),
            created_at: Set(t),
            updated_at: Set(t),
            ..Default::default()
        }
        .insert(db)
        .await
        .expect("story");
        for j in 0..2 {
            task::ActiveModel {
                id: Set(new_id()),
                story_id: Set(s.id.clone()),
                product_id: Set(pid.into()),
                code: Set(format!("T-{}", i * 2 + j + 1)),
                title: Set("Task".into()),
                priority: Set(2),
                sort_order: Set(j as f64),
                status: Set("TO_DO".into()),
                created_at: Set(t),
                updated_at: Set(t),
                ..Default::default()
            }
            .insert(db)
            .await
            .expect("task");
        }
        out.push(s.id);
    }
    out
}

fn goal(g: &str) -> NewSprint {
    NewSprint { sprint_goal: g.into(), ..Default::default() }
}

backend_tests! {
    async fn thirty_concurrent_sprint_creations_get_distinct_codes(t) {
        let app = Arc::new(App::local(t.db.clone(), AppConfig::default()));
        let actor = owner(&t.db).await;
        let pid = product_of(&t.db, &actor).await;
        let mut handles = Vec::new();
        for i in 0..30 {
            let (app, actor, pid) = (app.clone(), actor.clone(), pid.clone());
            handles.push(tokio::spawn(async move { app.create_sprint(&actor, &pid, goal(&format!("g{i}"))).await }));
        }
        let mut codes = Vec::new();
        for h in handles {
            codes.push(h.await.expect("task").expect("create").code);
        }
        codes.sort_by_key(|c| c.trim_start_matches("SP-").parse::<u32>().expect("number"));
        let want: Vec<String> = (1..=30).map(|n| format!("SP-{n}")).collect();
        assert_eq!(codes, want);
    }

    async fn two_concurrent_closes_close_once_and_the_loser_is_told_the_status(t) {
        let app = Arc::new(App::local(t.db.clone(), AppConfig::default()));
        let actor = owner(&t.db).await;
        let pid = product_of(&t.db, &actor).await;
        let ids = stories(&t.db, &pid, 3).await;
        let sp = app.create_sprint(&actor, &pid, goal("close me")).await.expect("sprint");
        app.add_stories_to_sprint(&actor, &sp.id, AddStories { story_ids: ids.clone() }).await.expect("add");
        let mut handles = Vec::new();
        for _ in 0..2 {
            let (app, actor, id) = (app.clone(), actor.clone(), sp.id.clone());
            handles.push(tokio::spawn(async move { app.close_sprint(&actor, &id, CloseSprint::default()).await }));
        }
        let mut ok = 0;
        for h in handles {
            match h.await.expect("task") {
                Ok(closed) => {
                    ok += 1;
                    assert_eq!(closed.returned_to_backlog.len(), 3);
                }
                Err(AppError::Conflict(m)) => assert!(m.contains("is closed"), "{m}"),
                Err(e) => panic!("unexpected {e:?}"),
            }
        }
        assert_eq!(ok, 1, "exactly one close wins");
        let rows = story::Entity::find().filter(story::Column::ProductId.eq(&pid)).all(&t.db).await.expect("stories");
        assert!(rows.iter().all(|s| s.sprint_id.is_none() && s.status == "OPEN"));
        let tasks = task::Entity::find().filter(task::Column::ProductId.eq(&pid)).all(&t.db).await.expect("tasks");
        assert!(tasks.iter().all(|t| t.sprint_id.is_none()));
    }

    async fn a_story_planned_into_two_sprints_at_once_lands_in_one_with_its_tasks(t) {
        let app = Arc::new(App::local(t.db.clone(), AppConfig::default()));
        let actor = owner(&t.db).await;
        let pid = product_of(&t.db, &actor).await;
        let ids = stories(&t.db, &pid, 4).await;
        let a = app.create_sprint(&actor, &pid, goal("a")).await.expect("a");
        let b = app.create_sprint(&actor, &pid, goal("b")).await.expect("b");
        let mut handles = Vec::new();
        for sp in [a.id.clone(), b.id.clone(), a.id.clone(), b.id.clone()] {
            let (app, actor, ids) = (app.clone(), actor.clone(), ids.clone());
            handles.push(tokio::spawn(async move {
                app.add_stories_to_sprint(&actor, &sp, AddStories { story_ids: ids }).await
            }));
        }
        for h in handles {
            h.await.expect("task").expect("add");
        }
        let rows = story::Entity::find().filter(story::Column::ProductId.eq(&pid)).all(&t.db).await.expect("stories");
        for s in &rows {
            assert_eq!(s.status, "IN_SPRINT");
            let sprint = s.sprint_id.clone().expect("in a sprint");
            assert!(sprint == a.id || sprint == b.id);
            let tasks = task::Entity::find().filter(task::Column::StoryId.eq(&s.id)).all(&t.db).await.expect("tasks");
            assert!(tasks.iter().all(|t| t.sprint_id.as_deref() == Some(sprint.as_str())), "tasks follow their story");
        }
    }
}
