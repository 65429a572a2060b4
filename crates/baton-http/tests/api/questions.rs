//! Questions over REST on both backends: asking rules, the answer
//! permission matrix, options, the answer race (exactly one wins), cancel,
//! listing with filters, expiry through the cron route.

use std::sync::Arc;

use axum::http::{Method, StatusCode};
use baton_app::{
    AppConfig, AppError,
    questions::{NewQuestion, QuestionView},
};
use baton_testkit::backend_tests;
use serde_json::{Value, json};

use crate::harness::{As, Matrix, TestApp};

/// A PBI with two stories (the first with a task) in the matrix product.
struct Backlog {
    story: String,
    story_code: String,
    other_story: String,
    task: String,
}

async fn backlog(app: &TestApp, m: &Matrix) -> Backlog {
    let owner = As::Bearer(m.owner.clone());
    let pbi =
        app.json(Method::POST, &format!("/api/products/{}/pbis", m.product_id), &owner, &json!({"title": "P"})).await;
    assert_eq!(pbi.status, StatusCode::CREATED, "{}", pbi.text);
    let pbi = pbi.json()["id"].as_str().expect("pbi id").to_string();
    let mk = |title: &'static str| {
        let pbi = pbi.clone();
        let owner = owner.clone();
        async move {
            let r = app.json(Method::POST, &format!("/api/pbis/{pbi}/stories"), &owner, &json!({"title": title})).await;
            assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
            r.json()
        }
    };
    let story = mk("S1").await;
    let other = mk("S2").await;
    let sid = story["id"].as_str().expect("id").to_string();
    let task = app.json(Method::POST, &format!("/api/stories/{sid}/tasks"), &owner, &json!({"title": "T"})).await;
    assert_eq!(task.status, StatusCode::CREATED, "{}", task.text);
    Backlog {
        story: sid,
        story_code: story["code"].as_str().expect("code").to_string(),
        other_story: other["id"].as_str().expect("id").to_string(),
        task: task.json()["id"].as_str().expect("task id").to_string(),
    }
}

async fn ask(app: &TestApp, token: &str, input: NewQuestion) -> Result<QuestionView, AppError> {
    let actor = app.app().token_actor(token).await.expect("actor");
    app.app().ask_question(&actor, input).await
}

fn q(story: &str, text: &str) -> NewQuestion {
    NewQuestion { story_id: Some(story.into()), question: text.into(), ..Default::default() }
}

fn paths(e: AppError) -> Vec<String> {
    match e {
        AppError::Validation(v) => v.0.into_iter().map(|f| f.path).collect(),
        other => panic!("expected a validation error, got {other:?}"),
    }
}

backend_tests! {
    async fn asking_checks_the_input_links_tasks_to_their_story_and_needs_write_access(t) {
        let app = TestApp::new(t).await;
        let m = app.matrix().await;
        let b = backlog(&app, &m).await;

        let asked = ask(&app, &m.owner, NewQuestion {
            task_id: Some(b.task.clone()),
            question: "  Which database?  ".into(),
            options: Some(vec!["SQLite".into(), " Postgres ".into()]),
            ..Default::default()
        }).await.expect("ask");
        assert_eq!(asked.story_id.as_deref(), Some(b.story.as_str()), "a task implies its story");
        assert_eq!(asked.task_id.as_deref(), Some(b.task.as_str()));
        assert_eq!(asked.product_id, m.product_id);
        assert_eq!(asked.question, "Which database?");
        assert_eq!(asked.options, Some(vec!["SQLite".to_string(), "Postgres".to_string()]));
        assert_eq!(asked.status.as_api(), "open");
        assert_eq!((asked.expires_at - asked.created_at).num_hours(), 24);

        // A story code works too.
        let by_code = ask(&app, &m.owner, q(&b.story_code, "By code?")).await.expect("ask by code");
        assert_eq!(by_code.story_id.as_deref(), Some(b.story.as_str()));

        let before = app.count("questions").await;
        let e = ask(&app, &m.owner, NewQuestion {
            question: " ".into(),
            options: Some(vec!["a".into(), "".into(), "a".into(), "d".into(), "e".into(), "f".into(), "g".into(), "h".into(), "i".into()]),
            ..Default::default()
        }).await.expect_err("invalid");
        let p = paths(e);
        for want in ["question", "story_id", "options", "options.1", "options.2"] {
            assert!(p.iter().any(|x| x == want), "{want} missing from {p:?}");
        }
        let e = ask(&app, &m.owner, NewQuestion { idea_id: Some("x".into()), ..q(&b.story, "both?") }).await.expect_err("both");
        assert_eq!(paths(e), vec!["idea_id"]);
        let e = ask(&app, &m.owner, NewQuestion { task_id: Some(b.task.clone()), ..q(&b.other_story, "mismatch?") })
            .await
            .expect_err("task of another story");
        assert_eq!(paths(e), vec!["task_id"]);
        assert!(matches!(ask(&app, &m.reader, q(&b.story, "reader?")).await, Err(AppError::Forbidden(_))));
        assert!(matches!(ask(&app, &m.demo, q(&b.story, "demo?")).await, Err(AppError::DemoReadOnly)));
        assert!(matches!(ask(&app, &m.outsider, q(&b.story, "outsider?")).await, Err(AppError::NotFound(_))));
        assert!(matches!(ask(&app, &m.scoped_out, q(&b.story, "scoped?")).await, Err(AppError::NotFound(_))));
        assert_eq!(app.count("questions").await, before, "refused questions leave nothing behind");
    }

    async fn answering_follows_the_permission_matrix(t) {
        let app = TestApp::new(t).await;
        let m = app.matrix().await;
        let b = backlog(&app, &m).await;
        for (who, token, may_read, may_write) in m.callers() {
            let asked = ask(&app, &m.owner, q(&b.story, &format!("For {who}?"))).await.expect("ask");
            let url = format!("/api/questions/{}", asked.id);
            let got = app.get(&url, &As::Bearer(token.clone())).await;
            assert_eq!(got.status, if may_read { StatusCode::OK } else { StatusCode::NOT_FOUND }, "{who} get: {}", got.text);
            let res = app.json(Method::POST, &format!("{url}/answer"), &As::Bearer(token.clone()), &json!({"answer": "yes"})).await;
            if may_write {
                assert_eq!(res.status, StatusCode::OK, "{who}: {}", res.text);
                let v = res.json();
                assert_eq!(v["status"], "answered");
                assert_eq!(v["answer"], "yes");
                assert!(v["answered_by"].is_string());
                assert!(v["answered_at"].is_string());
            } else {
                assert_eq!(res.status, Matrix::refused_status(may_read), "{who}: {}", res.text);
                if who == "demo member" {
                    assert_eq!(res.error_code(), "demo_read_only");
                }
                let still = app.get(&url, &As::Bearer(m.owner.clone())).await.json();
                assert_eq!(still["status"], "open", "{who}: a refused answer changes nothing");
                assert!(still["answer"].is_null());
            }
        }
    }

    async fn answers_must_match_the_options_and_a_second_answer_is_a_conflict(t) {
        let app = TestApp::new(t).await;
        let m = app.matrix().await;
        let b = backlog(&app, &m).await;
        let asked = ask(&app, &m.owner, NewQuestion { options: Some(vec!["A".into(), "B".into()]), ..q(&b.story, "A or B?") })
            .await
            .expect("ask");
        let url = format!("/api/questions/{}/answer", asked.id);
        let writer = As::Bearer(m.writer.clone());
        let res = app.json(Method::POST, &url, &writer, &json!({"answer": "C"})).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", res.text);
        assert_eq!(res.json()["error"]["details"][0]["path"], "answer");
        let res = app.json(Method::POST, &url, &writer, &json!({"answer": ""})).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
        let res = app.json(Method::POST, &url, &writer, &json!({"answer": "B", "extra": 1})).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "unknown fields are refused: {}", res.text);
        let res = app.json(Method::POST, &url, &writer, &json!({"answer": "B"})).await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.text);
        let res = app.json(Method::POST, &url, &As::Bearer(m.owner.clone()), &json!({"answer": "A"})).await;
        assert_eq!(res.status, StatusCode::CONFLICT, "{}", res.text);
        assert!(res.json()["error"]["message"].as_str().unwrap_or_default().contains("already answered"), "{}", res.text);
        let v = app.get(&format!("/api/questions/{}", asked.id), &writer).await.json();
        assert_eq!(v["answer"], "B", "the first answer stands");
        let unknown = app.json(Method::POST, "/api/questions/nope/answer", &writer, &json!({"answer": "A"})).await;
        assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    }

    async fn of_two_racing_answers_exactly_one_wins(t) {
        let app = Arc::new(TestApp::new(t).await);
        let m = app.matrix().await;
        let b = backlog(&app, &m).await;
        for round in 0..6 {
            let asked = ask(&app, &m.owner, q(&b.story, &format!("Race {round}?"))).await.expect("ask");
            let url = format!("/api/questions/{}/answer", asked.id);
            let (a1, a2) = (app.clone(), app.clone());
            let (u1, u2) = (url.clone(), url.clone());
            let (w, o) = (As::Bearer(m.writer.clone()), As::Bearer(m.owner.clone()));
            let h1 = tokio::spawn(async move { a1.json(Method::POST, &u1, &w, &json!({"answer": "writer"})).await });
            let h2 = tokio::spawn(async move { a2.json(Method::POST, &u2, &o, &json!({"answer": "owner"})).await });
            let (r1, r2) = (h1.await.expect("task"), h2.await.expect("task"));
            let mut statuses = [r1.status, r2.status];
            statuses.sort();
            assert_eq!(statuses, [StatusCode::OK, StatusCode::CONFLICT], "{} / {}", r1.text, r2.text);
            let winner = if r1.status == StatusCode::OK { &r1 } else { &r2 };
            let stored = app.get(&format!("/api/questions/{}", asked.id), &As::Bearer(m.owner.clone())).await.json();
            assert_eq!(stored["answer"], winner.json()["answer"], "the stored answer is the winner's");
        }
    }

    async fn only_the_asker_cancels_and_only_while_open(t) {
        let app = TestApp::new(t).await;
        let m = app.matrix().await;
        let b = backlog(&app, &m).await;
        let asked = ask(&app, &m.writer, q(&b.story, "Cancel me?")).await.expect("ask");
        let url = format!("/api/questions/{}/cancel", asked.id);
        let res = app.json(Method::POST, &url, &As::Bearer(m.owner.clone()), &json!({})).await;
        assert_eq!(res.status, StatusCode::NOT_FOUND, "not the asker: {}", res.text);
        let res = app.json(Method::POST, &url, &As::Bearer(m.writer.clone()), &json!({})).await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.text);
        assert_eq!(res.json()["status"], "cancelled");
        let res = app.json(Method::POST, &url, &As::Bearer(m.writer.clone()), &json!({})).await;
        assert_eq!(res.status, StatusCode::CONFLICT);
        assert!(res.text.contains("already cancelled"), "{}", res.text);
        let res = app
            .json(Method::POST, &format!("/api/questions/{}/answer", asked.id), &As::Bearer(m.owner.clone()), &json!({"answer": "x"}))
            .await;
        assert_eq!(res.status, StatusCode::CONFLICT, "a cancelled question takes no answer: {}", res.text);

        // The agent's own list: open and answered, newest first.
        let writer = app.app().token_actor(&m.writer).await.expect("actor");
        let a = ask(&app, &m.writer, q(&b.story, "First?")).await.expect("ask");
        let c = ask(&app, &m.writer, q(&b.story, "Second?")).await.expect("ask");
        app.app().answer_question(&app.app().token_actor(&m.owner).await.expect("owner"), &a.id, baton_app::questions::AnswerInput { answer: "ok".into() })
            .await
            .expect("answer");
        let mine = app.app().list_open_questions(&writer, None).await.expect("list");
        let ids: Vec<&str> = mine.questions.iter().map(|q| q.id.as_str()).collect();
        assert_eq!(ids, vec![c.id.as_str(), a.id.as_str()]);
        assert_eq!(mine.count, 2);
        let owner = app.app().token_actor(&m.owner).await.expect("owner");
        assert_eq!(app.app().list_open_questions(&owner, None).await.expect("list").count, 0, "only the asker's own");
    }

    async fn the_list_shows_readable_products_and_filters_by_status_and_product(t) {
        let app = TestApp::new(t).await;
        let m = app.matrix().await;
        let b = backlog(&app, &m).await;
        let one = ask(&app, &m.owner, q(&b.story, "One?")).await.expect("ask");
        let two = ask(&app, &m.owner, q(&b.story, "Two?")).await.expect("ask");
        let res = app
            .json(Method::POST, &format!("/api/questions/{}/answer", one.id), &As::Bearer(m.owner.clone()), &json!({"answer": "y"}))
            .await;
        assert_eq!(res.status, StatusCode::OK);
        for (who, token, may_read, _) in m.callers() {
            let page = app.get("/api/questions", &As::Bearer(token)).await;
            assert_eq!(page.status, StatusCode::OK, "{who}");
            let total = page.json()["total"].as_u64().expect("total");
            assert_eq!(total, if may_read { 2 } else { 0 }, "{who}: {}", page.text);
        }
        let owner = As::Bearer(m.owner.clone());
        let open = app.get("/api/questions?status=open", &owner).await.json();
        assert_eq!(open["total"], 1);
        assert_eq!(open["items"][0]["id"], two.id.as_str());
        let answered = app.get(&format!("/api/questions?status=answered&product_id={}", m.product_id), &owner).await.json();
        assert_eq!(answered["items"][0]["id"], one.id.as_str());
        let all = app.get("/api/questions?limit=1&page=2", &owner).await.json();
        assert_eq!(all["items"][0]["id"], one.id.as_str(), "newest first");
        let bad = app.get("/api/questions?status=maybe&limit=0", &owner).await;
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
        let body = bad.json();
        let paths: Vec<&str> = body["error"]["details"].as_array().expect("details").iter().filter_map(|d| d["path"].as_str()).collect();
        assert_eq!(paths, vec!["status", "limit"], "{}", bad.text);
        let other = app.get(&format!("/api/questions?product_id={}", m.product_id), &As::Bearer(m.outsider.clone())).await;
        assert_eq!(other.status, StatusCode::NOT_FOUND);
    }

    async fn the_cron_route_needs_the_secret_and_expires_overdue_questions(t) {
        use baton_store::{entities::question, sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr}};
        let config = AppConfig { cron_secret: Some("s3cret-value".into()), ..AppConfig::default() };
        let app = TestApp::with_config(t, config).await;
        let m = app.matrix().await;
        let b = backlog(&app, &m).await;
        let old = ask(&app, &m.owner, q(&b.story, "Old?")).await.expect("ask");
        let fresh = ask(&app, &m.owner, q(&b.story, "Fresh?")).await.expect("ask");
        question::Entity::update_many()
            .col_expr(question::Column::ExpiresAt, Expr::value(baton_store::now() - chrono::Duration::minutes(1)))
            .filter(question::Column::Id.eq(&old.id))
            .exec(&app.t.db)
            .await
            .expect("backdate");
        // Past its deadline it is already shown and refused as expired.
        let owner = As::Bearer(m.owner.clone());
        assert_eq!(app.get(&format!("/api/questions/{}", old.id), &owner).await.json()["status"], "expired");
        let res = app.json(Method::POST, &format!("/api/questions/{}/answer", old.id), &owner, &json!({"answer": "late"})).await;
        assert_eq!(res.status, StatusCode::CONFLICT);
        assert!(res.text.contains("expired"), "{}", res.text);

        let url = "/api/cron/expire-questions";
        let none = app.json(Method::POST, url, &As::Nobody, &json!({})).await;
        assert_eq!(none.status, StatusCode::UNAUTHORIZED);
        let wrong = app.json(Method::POST, url, &As::Bearer("nope".into()), &json!({})).await;
        assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
        let user_token = app.json(Method::POST, url, &owner, &json!({})).await;
        assert_eq!(user_token.status, StatusCode::UNAUTHORIZED, "a user token is not the cron secret");
        let stored = |id: String| {
            let db = app.t.db.clone();
            async move { question::Entity::find_by_id(id).one(&db).await.expect("find").expect("row").status }
        };
        assert_eq!(stored(old.id.clone()).await, "OPEN");
        let ok = app.json(Method::POST, url, &As::Bearer("s3cret-value".into()), &json!({})).await;
        assert_eq!(ok.status, StatusCode::OK, "{}", ok.text);
        assert_eq!(ok.json(), json!({"expired": 1}));
        assert_eq!(stored(old.id.clone()).await, "EXPIRED");
        assert_eq!(stored(fresh.id.clone()).await, "OPEN");
        let again = app.json(Method::POST, url, &As::Bearer("s3cret-value".into()), &json!({})).await;
        assert_eq!(again.json(), json!({"expired": 0}));

        let expired: Value = app.get("/api/questions?status=expired", &owner).await.json();
        assert_eq!(expired["total"], 1);
    }

    async fn the_cron_route_does_not_exist_without_a_secret(t) {
        let app = TestApp::new(t).await;
        let res = app.json(Method::POST, "/api/cron/expire-questions", &As::Bearer("anything".into()), &json!({})).await;
        assert_eq!(res.status, StatusCode::NOT_FOUND, "{}", res.text);
    }
}
