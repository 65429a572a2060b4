//! `ask_user_question` with `wait_seconds` (reference §3.7) through the
//! service, on both backends with the backend's real event bus (LISTEN/NOTIFY
//! on Postgres): an answer from another task wakes the waiter through the
//! `question_changed` event well before the 2 s safety poll, a cancel does
//! too, an unanswered question comes back open with `timed_out`, and an
//! out-of-range wait is refused before anything is written.

mod queue_common;

use std::time::{Duration, Instant};

use baton_app::{
    AppError,
    questions::{ASK_WAIT_POLL, AnswerInput, NewQuestion},
};
use baton_domain::agents::QuestionStatus;
use baton_store::{
    events::kinds,
    sea_orm::{ConnectionTrait, Statement},
};
use baton_testkit::backend_tests;
use queue_common::*;

const LEASE: Duration = Duration::from_secs(300);

fn ask(story_id: &str) -> NewQuestion {
    NewQuestion {
        story_id: Some(story_id.into()),
        question: "Which database?".into(),
        options: Some(vec!["sqlite".into(), "postgres".into()]),
        ..Default::default()
    }
}

async fn questions(app: &baton_app::App) -> i64 {
    let row = app
        .db
        .query_one_raw(Statement::from_string(app.db.get_database_backend(), "SELECT COUNT(*) AS c FROM questions"))
        .await
        .expect("count")
        .expect("row");
    row.try_get::<i64>("", "c").expect("count")
}

/// Waits for the `asked` event of a new question and returns its id.
async fn asked_id(events: &mut tokio::sync::broadcast::Receiver<baton_store::events::Event>) -> String {
    tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let ev = events.recv().await.expect("event");
            if ev.kind == kinds::QUESTION_CHANGED && ev.data["op"] == "asked" {
                return ev.data["question_id"].as_str().expect("question_id").to_string();
            }
        }
    })
    .await
    .expect("the question is asked within 10 s")
}

backend_tests! {
    async fn an_answer_wakes_the_waiting_agent_well_before_the_safety_poll(t) {
        let app = app(&t, LEASE).await;
        let agent = user(&app, "agent-owner").await;
        let pid = product_of(&app, &agent, "P").await;
        let (_pbi, sid) = pbi_story(&app, &agent, &pid, "Storage").await;
        // The person answering: the same user through another token (a browser, say).
        let person = token(&app, &agent.user_id).await;
        let mut events = app.bus.subscribe();

        let waiter = {
            let (app, agent, sid) = (app.clone(), agent.clone(), sid.clone());
            tokio::spawn(async move {
                let r = app.ask_question_and_wait(&agent, ask(&sid), Duration::from_secs(30)).await;
                (r, Instant::now())
            })
        };
        let qid = asked_id(&mut events).await;
        // Let the waiter park on the bus: its safety poll is then at least
        // 1.7 s away, so a return within 1 s of the answer can only be the event.
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(!waiter.is_finished(), "still waiting before the answer");
        let answered_at = Instant::now();
        let answer = AnswerInput { answer: "postgres".into() };
        app.answer_question(&person, &qid, answer).await.expect("answer");
        let (r, returned_at) = tokio::time::timeout(Duration::from_secs(10), waiter).await.expect("returns").expect("join");
        let got = r.expect("asked and answered");
        let latency = returned_at.duration_since(answered_at);
        assert!(latency < Duration::from_secs(1) && latency < ASK_WAIT_POLL / 2, "woken by the event, took {latency:?}");
        assert_eq!(got.question.id, qid);
        assert_eq!(got.question.status, QuestionStatus::Answered);
        assert_eq!(got.question.answer.as_deref(), Some("postgres"));
        assert!(!got.timed_out);
        eprintln!("answer → waiting ask_user_question returned in {latency:?}");
    }

    async fn a_cancel_also_ends_the_wait(t) {
        let app = app(&t, LEASE).await;
        let agent = user(&app, "agent-owner").await;
        let pid = product_of(&app, &agent, "P").await;
        let (_pbi, sid) = pbi_story(&app, &agent, &pid, "Storage").await;
        let other_session = token(&app, &agent.user_id).await;
        let mut events = app.bus.subscribe();
        let waiter = {
            let (app, agent, sid) = (app.clone(), agent.clone(), sid.clone());
            tokio::spawn(async move { app.ask_question_and_wait(&agent, ask(&sid), Duration::from_secs(30)).await })
        };
        let qid = asked_id(&mut events).await;
        let started = Instant::now();
        app.cancel_question(&other_session, &qid).await.expect("the asker cancels");
        let got = tokio::time::timeout(Duration::from_secs(10), waiter).await.expect("returns").expect("join").expect("ok");
        assert!(started.elapsed() < Duration::from_secs(5));
        assert_eq!(got.question.status, QuestionStatus::Cancelled);
        assert!(!got.timed_out);
    }

    async fn an_unanswered_question_comes_back_open_and_timed_out(t) {
        let app = app(&t, LEASE).await;
        let agent = user(&app, "agent-owner").await;
        let pid = product_of(&app, &agent, "P").await;
        let (_pbi, sid) = pbi_story(&app, &agent, &pid, "Storage").await;

        let started = Instant::now();
        let got = app.ask_question_and_wait(&agent, ask(&sid), Duration::from_secs(1)).await.expect("asked");
        let took = started.elapsed();
        assert!(took >= Duration::from_secs(1) && took < Duration::from_secs(4), "waited {took:?}");
        assert_eq!(got.question.status, QuestionStatus::Open);
        assert!(got.timed_out);
        assert!(got.question.answer.is_none());
        // The question stays open for a person to answer later.
        let later = app.get_question(&agent, &got.question.id).await.expect("read");
        assert_eq!(later.status, QuestionStatus::Open);

        // No wait: at once, not timed out.
        let started = Instant::now();
        let now = app.ask_question_and_wait(&agent, ask(&sid), Duration::ZERO).await.expect("asked");
        assert!(started.elapsed() < Duration::from_secs(1));
        assert_eq!((now.question.status, now.timed_out), (QuestionStatus::Open, false));
        let json = serde_json::to_value(&now).expect("json");
        assert_eq!(json["timed_out"], false);
        assert_eq!(json["id"], now.question.id.as_str(), "the view is flattened: {json}");
    }

    async fn a_wait_over_600_seconds_is_refused_before_asking(t) {
        let app = app(&t, LEASE).await;
        let agent = user(&app, "agent-owner").await;
        let pid = product_of(&app, &agent, "P").await;
        let (_pbi, sid) = pbi_story(&app, &agent, &pid, "Storage").await;
        let before = questions(&app).await;
        let e = app.ask_question_and_wait(&agent, ask(&sid), Duration::from_secs(601)).await.expect_err("too long");
        match e {
            AppError::Validation(v) => assert_eq!(v.0[0].path, "wait_seconds", "{v:?}"),
            other => panic!("expected a validation error, got {other:?}"),
        }
        assert_eq!(questions(&app).await, before, "nothing was asked");
    }
}
