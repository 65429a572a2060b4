//! The MCP tools `check_queue_empty`, `retry_job`, `set_pbi_pr`,
//! `mark_pbi_pr_merged` and `ask_user_question` with `wait_seconds`, called through
//! `BatonMcp::call` (the dispatch both transports use) on SQLite and
//! Postgres: results, the error conventions (VALIDATION_ERROR naming the
//! field, PERMISSION_DENIED, conflicts keeping their message), profiles and
//! read-only annotations.

mod common;

use std::{sync::Arc, time::Duration};

use baton_app::{
    Actor, App,
    backlog::{pbis::NewPbi, stories::NewStory, tasks::NewTask},
    products::{NewMember, NewProduct},
    questions::AnswerInput,
    queue::enqueue::NewTaskJob,
};
use baton_domain::roles::MemberAccess;
use baton_mcp::{BatonMcp, Profile};
use baton_store::events::kinds;
use baton_testkit::{TestDb, backend_tests};
use common::{Base, base};
use serde_json::{Value, json};

struct Fx {
    _t: TestDb,
    app: Arc<App>,
    mcp: BatonMcp,
    owner: Actor,
    demo: Actor,
    product_id: String,
    story_id: String,
    task_id: String,
}

async fn fixture(t: TestDb) -> Fx {
    let product = NewProduct {
        name: "Rocket".into(),
        code: Some("ROCKET".into()),
        definition_of_done: "tests pass".into(),
        ..Default::default()
    };
    let Base { app, owner, demo, product_id } = base(&t, product).await;
    let pbi = app.create_pbi(&owner, &product_id, NewPbi { title: "Launch".into(), ..Default::default() }).await;
    let pbi = pbi.expect("pbi");
    let story = NewStory { title: "Countdown".into(), ..Default::default() };
    let story_id = app.create_story(&owner, &pbi.id, story).await.expect("story").id;
    let task = NewTask { title: "Timer".into(), ..Default::default() };
    let task_id = app.create_task(&owner, &story_id, task).await.expect("task").task.id;
    let mcp = BatonMcp::http(app.clone(), Profile::All);
    Fx { _t: t, app, mcp, owner, demo, product_id, story_id, task_id }
}

impl Fx {
    async fn ok(&self, who: &Actor, name: &str, args: Value) -> Value {
        common::ok(&self.mcp, who, name, args).await
    }

    async fn err(&self, who: &Actor, name: &str, args: Value) -> String {
        common::err(&self.mcp, who, name, args).await
    }
}

backend_tests! {
    async fn check_queue_empty_counts_the_callers_live_jobs(t) {
        let fx = fixture(t).await;
        let empty = fx.ok(&fx.owner, "check_queue_empty", json!({})).await;
        assert_eq!(empty, json!({"empty": true, "remaining": 0, "by_product": {}}));
        fx.app.enqueue_task_job(&fx.owner, &fx.task_id, NewTaskJob::default()).await.expect("enqueue");
        let all = fx.ok(&fx.owner, "check_queue_empty", json!({})).await;
        assert_eq!(all, json!({"empty": false, "remaining": 1, "by_product": {fx.product_id.clone(): 1}}));
        let one = fx.ok(&fx.owner, "check_queue_empty", json!({"product_id": "rocket"})).await;
        assert_eq!(one, json!({"empty": false, "remaining": 1, "product_id": fx.product_id}));
        // Another member's queue is theirs: the demo member has none (and may read).
        let demo = fx.ok(&fx.demo, "check_queue_empty", json!({"product_id": "ROCKET"})).await;
        assert_eq!((demo["empty"].as_bool(), demo["remaining"].as_u64()), (Some(true), Some(0)));
        let text = fx.err(&fx.owner, "check_queue_empty", json!({"product_id": "NOPE"})).await;
        assert!(text.starts_with("PERMISSION_DENIED: product not found"), "{text}");
        let text = fx.err(&fx.owner, "check_queue_empty", json!({"product": "ROCKET"})).await;
        assert!(text.starts_with("VALIDATION_ERROR: product: unknown field"), "{text}");
        // Core and read-only; the PR tools are in the full profile and write.
        let core = BatonMcp::http(fx.app.clone(), Profile::Core);
        let tools = core.tools();
        let tool = tools.iter().find(|t| t.name == "check_queue_empty").expect("in the core profile");
        assert_eq!(tool.annotations.as_ref().and_then(|a| a.read_only_hint), Some(true));
        assert!(!tools.iter().any(|t| t.name == "set_pbi_pr" || t.name == "mark_pbi_pr_merged"));
        assert!(core.call(&fx.owner, "set_pbi_pr", json!({})).await.is_none(), "outside the core profile");
        let all = fx.mcp.tools();
        for name in ["set_pbi_pr", "mark_pbi_pr_merged"] {
            let tool = all.iter().find(|t| t.name == name).expect("in the full profile");
            assert_eq!(tool.annotations.as_ref().and_then(|a| a.read_only_hint), Some(false), "{name}");
        }
    }

    async fn set_pbi_pr_and_mark_pbi_pr_merged_link_validate_and_refuse(t) {
        let fx = fixture(t).await;
        let text = fx.err(&fx.owner, "mark_pbi_pr_merged", json!({"pbi_id": "PBI-1"})).await;
        assert!(text.contains("PBI-1 has no linked pull request"), "{text}");
        let text = fx.err(&fx.owner, "set_pbi_pr", json!({"pbi_id": "PBI-1", "pr_url": "https://evil.example/a/b/pull/1"})).await;
        assert!(text.starts_with("VALIDATION_ERROR: pr_url: host `evil.example` is not allowed"), "{text}");
        let text = fx.err(&fx.owner, "set_pbi_pr", json!({"pbi_id": "PBI-1"})).await;
        assert_eq!(text, "VALIDATION_ERROR: pr_url: is required");
        let text = fx.err(&fx.demo, "set_pbi_pr", json!({"pbi_id": "PBI-1", "pr_url": "https://github.com/a/b/pull/1"})).await;
        assert_eq!(text, "PERMISSION_DENIED: Demo accounts cannot perform write operations");
        let text = fx.err(&fx.demo, "mark_pbi_pr_merged", json!({"pbi_id": "PBI-1"})).await;
        assert!(text.starts_with("PERMISSION_DENIED"), "{text}");
        let unchanged = fx.app.get_pbi(&fx.owner, "PBI-1").await.expect("pbi");
        assert!(unchanged.pr_url.is_none() && unchanged.pr_merged_at.is_none());

        let url = "https://codeberg.org/acme/rocket/pulls/3";
        let linked = fx.ok(&fx.owner, "set_pbi_pr", json!({"pbi_id": "PBI-1", "pr_url": url})).await;
        assert_eq!((linked["code"].as_str(), linked["pr_url"].as_str()), (Some("PBI-1"), Some(url)));
        assert!(linked["pr_merged_at"].is_null());
        let merged = fx.ok(&fx.owner, "mark_pbi_pr_merged", json!({"pbi_id": "PBI-1"})).await;
        assert!(merged["pr_merged_at"].is_string(), "{merged}");
        let again = fx.ok(&fx.owner, "mark_pbi_pr_merged", json!({"pbi_id": "PBI-1"})).await;
        assert_eq!(again["pr_merged_at"], merged["pr_merged_at"], "the first merge time stays");
        let same = fx.ok(&fx.owner, "set_pbi_pr", json!({"pbi_id": "PBI-1", "pr_url": url})).await;
        assert_eq!(same, merged, "the same link again is a no-op");
        let text = fx.err(&fx.owner, "set_pbi_pr", json!({"pbi_id": "PBI-9", "pr_url": url})).await;
        assert!(text.starts_with("PERMISSION_DENIED: PBI not found"), "{text}");
    }

    async fn ask_user_question_waits_for_the_answer_or_times_out(t) {
        let fx = fixture(t).await;
        for bad in [json!(601), json!(-1), json!("soon")] {
            let args = json!({"story_id": fx.story_id, "question": "Go?", "wait_seconds": bad});
            let text = fx.err(&fx.owner, "ask_user_question", args).await;
            assert!(text.starts_with("VALIDATION_ERROR: wait_seconds: "), "{bad}: {text}");
        }
        assert_eq!(fx.app.list_open_questions(&fx.owner, None).await.expect("list").count, 0, "nothing was asked");

        // Answered by a person while the agent waits.
        let mut events = fx.app.bus.subscribe();
        let person = {
            let (app, owner) = (fx.app.clone(), fx.owner.clone());
            tokio::spawn(async move {
                loop {
                    let ev = events.recv().await.expect("event");
                    if ev.kind == kinds::QUESTION_CHANGED && ev.data["op"] == "asked" {
                        let id = ev.data["question_id"].as_str().expect("id").to_string();
                        let answer = AnswerInput { answer: "yes".into() };
                        return app.answer_question(&owner, &id, answer).await.expect("answer");
                    }
                }
            })
        };
        let args = json!({"task_id": "T-1", "question": "Launch now?", "options": ["yes", "no"], "wait_seconds": 60});
        let got = tokio::time::timeout(Duration::from_secs(20), fx.ok(&fx.owner, "ask_user_question", args))
            .await
            .expect("returns with the answer, long before 60 s");
        person.await.expect("answered");
        assert_eq!((got["status"].as_str(), got["answer"].as_str()), (Some("answered"), Some("yes")), "{got}");
        assert_eq!(got["timed_out"], false);
        assert_eq!(got["task_id"], fx.task_id.as_str());

        // Nobody answers: back after the wait, still open.
        let args = json!({"story_id": fx.story_id, "question": "Anyone?", "wait_seconds": 1});
        let got = fx.ok(&fx.owner, "ask_user_question", args).await;
        assert_eq!((got["status"].as_str(), got["timed_out"].as_bool()), (Some("open"), Some(true)), "{got}");
        // Without wait_seconds it returns at once.
        let got = fx.ok(&fx.owner, "ask_user_question", json!({"story_id": fx.story_id, "question": "Later?"})).await;
        assert_eq!((got["status"].as_str(), got["timed_out"].as_bool()), (Some("open"), Some(false)), "{got}");
    }

    async fn retry_job_queues_a_new_job_for_a_failed_or_cancelled_one(t) {
        let fx = fixture(t).await;
        let reader = common::actor(&fx.app, "reader", false).await;
        let outsider = common::actor(&fx.app, "outsider", false).await;
        let member = NewMember { username: "reader".into(), access: Some(MemberAccess::ReadOnly), role: None };
        fx.app.add_member(&fx.owner, &fx.product_id, member).await.expect("member");
        let job = fx.app.enqueue_task_job(&fx.owner, &fx.task_id, NewTaskJob::default()).await.expect("enqueue");
        let args = json!({"job_id": job.id});

        let text = fx.err(&fx.owner, "retry_job", args.clone()).await;
        assert_eq!(text, "job is queued; only failed or cancelled jobs can be retried");
        fx.app.cancel_job(&fx.owner, &job.id).await.expect("cancel");
        let text = fx.err(&fx.demo, "retry_job", args.clone()).await;
        assert_eq!(text, "PERMISSION_DENIED: Demo accounts cannot perform write operations");
        let text = fx.err(&reader, "retry_job", args.clone()).await;
        assert!(text.starts_with("PERMISSION_DENIED: you have read-only access"), "{text}");
        let text = fx.err(&outsider, "retry_job", args.clone()).await;
        assert!(text.starts_with("PERMISSION_DENIED: job not found"), "{text}");
        let text = fx.err(&fx.owner, "retry_job", json!({"job_id": "nope"})).await;
        assert!(text.starts_with("PERMISSION_DENIED: job not found"), "{text}");
        let text = fx.err(&fx.owner, "retry_job", json!({"id": job.id})).await;
        assert!(text.starts_with("VALIDATION_ERROR: id: unknown field"), "{text}");
        let listed = fx.app.list_jobs(&fx.owner, Default::default()).await.expect("list");
        assert_eq!(listed.total, 1, "refusals queue nothing");

        let new = fx.ok(&fx.owner, "retry_job", args.clone()).await;
        assert_ne!(new["id"], json!(job.id));
        assert_eq!((new["status"].as_str(), new["task_id"].as_str()), (Some("queued"), Some(fx.task_id.as_str())));
        let text = fx.err(&fx.owner, "retry_job", args).await;
        assert!(text.starts_with("task T-1 already has a queued job"), "{text}");
        // A write tool outside the core profile.
        let core = BatonMcp::http(fx.app.clone(), Profile::Core);
        assert!(!core.tools().iter().any(|t| t.name == "retry_job"));
        let tool = fx.mcp.tools().into_iter().find(|t| t.name == "retry_job").expect("in the full profile");
        assert_eq!(tool.annotations.as_ref().and_then(|a| a.read_only_hint), Some(false));
    }
}
