//! Question services on both backends: idea questions are their owner's
//! alone, many concurrent answers leave exactly one winner, the sweeper
//! expires overdue questions once (announcing each), and every change is
//! published after commit.

mod common;

use std::{sync::Arc, time::Duration};

use baton_app::{
    Actor, App, AppConfig, AppError,
    backlog::{pbis::NewPbi, stories::NewStory},
    events::kinds,
    products::NewProduct,
    questions::{AnswerInput, NewQuestion},
};
use baton_store::{
    entities::{idea, question},
    new_id, now,
    sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr},
};
use baton_testkit::backend_tests;
use common::product_owner;

async fn idea_row(app: &App, owner: &Actor, product_id: Option<&str>) -> String {
    let t = now();
    idea::ActiveModel {
        id: Set(new_id()),
        user_id: Set(owner.user_id.clone()),
        product_id: Set(product_id.map(str::to_string)),
        code: Set(format!("IDEA-{}", &new_id()[24..])),
        title: Set("An idea".into()),
        status: Set("DRAFT".into()),
        archived: Set(false),
        created_at: Set(t),
        updated_at: Set(t),
        ..Default::default()
    }
    .insert(&app.db)
    .await
    .expect("idea")
    .id
}

/// A product owned by `owner` with one story; returns (product id, story id).
async fn product_with_story(app: &App, owner: &Actor) -> (String, String) {
    let p = app
        .create_product(
            owner,
            NewProduct { name: "Questions".into(), definition_of_done: "tested".into(), ..Default::default() },
        )
        .await
        .expect("product");
    let pbi = app.create_pbi(owner, &p.id, NewPbi { title: "P".into(), ..Default::default() }).await.expect("pbi");
    let story =
        app.create_story(owner, &pbi.id, NewStory { title: "S".into(), ..Default::default() }).await.expect("story");
    (p.id, story.id)
}

backend_tests! {
    async fn idea_questions_belong_to_the_ideas_owner_alone(t) {
        let app = App::local(t.db.clone(), AppConfig::default());
        let owner = product_owner(&app, "idea-owner").await;
        let other = product_owner(&app, "someone").await;
        let (pid, _) = product_with_story(&app, &owner).await;
        app.add_member(&owner, &pid, baton_app::products::NewMember {
            username: other.username.clone(),
            access: Some(baton_domain::roles::MemberAccess::ReadWrite),
            role: None,
        }).await.expect("member");
        let idea = idea_row(&app, &owner, Some(&pid)).await;
        let homeless = idea_row(&app, &owner, None).await;

        let q = app
            .ask_question(&owner, NewQuestion { idea_id: Some(idea.clone()), question: "Scope?".into(), ..Default::default() })
            .await
            .expect("ask about own idea");
        assert_eq!(q.idea_id.as_deref(), Some(idea.as_str()));
        assert_eq!(q.product_id, pid, "product taken from the idea");
        assert!(q.story_id.is_none());

        let e = app
            .ask_question(&other, NewQuestion { idea_id: Some(idea.clone()), question: "Mine?".into(), ..Default::default() })
            .await
            .expect_err("not the owner");
        assert!(matches!(e, AppError::NotFound("idea")), "{e:?}");
        let e = app
            .ask_question(&owner, NewQuestion { idea_id: Some(homeless), question: "Where?".into(), ..Default::default() })
            .await
            .expect_err("idea without product");
        assert!(matches!(&e, AppError::Validation(v) if v.0[0].path == "idea_id"), "{e:?}");

        // A product member still cannot see, list or answer someone's idea question.
        assert!(matches!(app.get_question(&other, &q.id).await, Err(AppError::NotFound(_))));
        let listed = app.list_questions(&other, Default::default()).await.expect("list");
        assert_eq!(listed.total, 0);
        let e = app.answer_question(&other, &q.id, AnswerInput { answer: "x".into() }).await.expect_err("hidden");
        assert!(matches!(e, AppError::NotFound(_)), "{e:?}");
        assert_eq!(app.list_questions(&owner, Default::default()).await.expect("list").total, 1);
        let answered = app.answer_question(&owner, &q.id, AnswerInput { answer: "Small".into() }).await.expect("owner answers");
        assert_eq!(answered.answered_by.as_deref(), Some(owner.user_id.as_str()));
    }

    async fn of_many_concurrent_answers_exactly_one_wins(t) {
        let app = Arc::new(App::local(t.db.clone(), AppConfig::default()));
        let owner = product_owner(&app, "racer-owner").await;
        let (_, story) = product_with_story(&app, &owner).await;
        let q = app
            .ask_question(&owner, NewQuestion { story_id: Some(story), question: "Who?".into(), ..Default::default() })
            .await
            .expect("ask");
        let owner = Arc::new(owner);
        let mut handles = Vec::new();
        for i in 0..8 {
            let (app, owner, id) = (app.clone(), owner.clone(), q.id.clone());
            handles.push(tokio::spawn(async move {
                app.answer_question(&owner, &id, AnswerInput { answer: format!("answer {i}") }).await
            }));
        }
        let mut winners = Vec::new();
        for h in handles {
            match h.await.expect("task") {
                Ok(v) => winners.push(v.answer.expect("answer")),
                Err(AppError::Conflict(m)) => assert!(m.contains("already answered"), "{m}"),
                Err(e) => panic!("unexpected: {e:?}"),
            }
        }
        assert_eq!(winners.len(), 1, "exactly one answer wins");
        let stored = app.get_question(&owner, &q.id).await.expect("get");
        assert_eq!(stored.answer.as_deref(), Some(winners[0].as_str()));
    }

    async fn the_sweeper_expires_overdue_questions_once_and_announces_each(t) {
        let app = App::local(t.db.clone(), AppConfig::default());
        let owner = product_owner(&app, "sweeper-owner").await;
        let (pid, story) = product_with_story(&app, &owner).await;
        let ask = |text: &'static str| {
            let app = &app;
            let owner = &owner;
            let story = story.clone();
            async move {
                app.ask_question(owner, NewQuestion { story_id: Some(story), question: text.into(), ..Default::default() })
                    .await
                    .expect("ask")
            }
        };
        let old = ask("Old?").await;
        let answered_old = ask("Answered?").await;
        let fresh = ask("Fresh?").await;
        app.answer_question(&owner, &answered_old.id, AnswerInput { answer: "yes".into() }).await.expect("answer");
        question::Entity::update_many()
            .col_expr(question::Column::ExpiresAt, Expr::value(now() - chrono::Duration::hours(1)))
            .filter(question::Column::Id.is_in([old.id.clone(), answered_old.id.clone()]))
            .exec(&app.db)
            .await
            .expect("backdate");
        let mut rx = app.bus.subscribe();
        let swept = app.expire_questions().await.expect("sweep");
        assert_eq!(swept.expired, 1, "only the open overdue question; answered ones stay answered");
        let event = tokio::time::timeout(Duration::from_secs(5), rx.recv()).await.expect("event in time").expect("event");
        assert_eq!(event.kind, kinds::QUESTION_CHANGED);
        assert_eq!(event.product_id.as_deref(), Some(pid.as_str()));
        assert_eq!(event.data["op"], "expired");
        assert_eq!(event.data["question"]["id"], old.id.as_str());
        assert_eq!(app.expire_questions().await.expect("again").expired, 0);
        assert_eq!(app.get_question(&owner, &old.id).await.expect("get").status.as_api(), "expired");
        assert_eq!(app.get_question(&owner, &answered_old.id).await.expect("get").status.as_api(), "answered");
        assert_eq!(app.get_question(&owner, &fresh.id).await.expect("get").status.as_api(), "open");
        let e = app.cancel_question(&owner, &old.id).await.expect_err("expired");
        assert!(matches!(&e, AppError::Conflict(m) if m.contains("expired")), "{e:?}");
    }
}
