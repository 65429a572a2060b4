//! The MCP tools added for REST parity (issue 11), through `BatonMcp::call`
//! (the dispatch both transports use) on SQLite and Postgres: one happy
//! path per family and the permission rules (read-only member refused,
//! outsider told "not found", demo refused before the service), plus the
//! queue administration: requeue (the old worker is refused), the dead-jobs
//! filter, the per-kind configuration in the claim's resolution order and
//! the per-product quota floor.

mod common;

use std::sync::Arc;

use baton_app::{
    Actor, App,
    accounts::NewUser,
    backlog::{pbis::NewPbi, stories::NewStory, tasks::NewTask},
    products::{NewMember, NewProduct},
    tokens::NewToken,
};
use baton_domain::roles::{MemberAccess, Role};
use baton_mcp::{BatonMcp, Profile};
use baton_testkit::{TestDb, backend_tests};
use common::{Base, base};
use serde_json::{Value, json};

struct Fx {
    _t: TestDb,
    app: Arc<App>,
    mcp: BatonMcp,
    owner: Actor,
    demo: Actor,
    reader: Actor,
    outsider: Actor,
    product_id: String,
    pbi_id: String,
    story_id: String,
    task_id: String,
}

/// An account with `roles` acting through a token.
async fn token_actor(app: &App, name: &str, roles: Vec<Role>) -> Actor {
    let user = NewUser { username: name.into(), password: format!("{name}-password"), roles, ..Default::default() };
    let id = app.create_user(&Actor::cli(), user).await.expect("user").id;
    let token = app
        .create_token(&Actor::cli(), &id, NewToken { label: "agent".into(), ..Default::default() })
        .await
        .expect("token")
        .token;
    app.token_actor(&token).await.expect("actor")
}

async fn fixture(t: TestDb) -> Fx {
    let product = NewProduct {
        name: "Rocket".into(),
        code: Some("ROCKET".into()),
        definition_of_done: "tests pass".into(),
        ..Default::default()
    };
    let Base { app, owner, demo, product_id } = base(&t, product).await;
    let reader = common::actor(&app, "reader", false).await;
    let member = NewMember { username: "reader".into(), access: Some(MemberAccess::ReadOnly), role: None };
    app.add_member(&owner, &product_id, member).await.expect("reader");
    let outsider = common::actor(&app, "outsider", false).await;
    let pbi_id = app.create_pbi(&owner, &product_id, NewPbi { title: "Launch".into(), ..Default::default() }).await;
    let pbi_id = pbi_id.expect("pbi").id;
    let story = NewStory { title: "Countdown".into(), ..Default::default() };
    let story_id = app.create_story(&owner, &pbi_id, story).await.expect("story").id;
    let task = NewTask {
        title: "Timer".into(),
        implementation_plan: Some("Change `src/timer.rs`.".into()),
        ..Default::default()
    };
    let task_id = app.create_task(&owner, &story_id, task).await.expect("task").task.id;
    let mcp = BatonMcp::http(app.clone(), Profile::All);
    Fx { _t: t, app, mcp, owner, demo, reader, outsider, product_id, pbi_id, story_id, task_id }
}

impl Fx {
    async fn ok(&self, who: &Actor, name: &str, args: Value) -> Value {
        common::ok(&self.mcp, who, name, args).await
    }

    async fn err(&self, who: &Actor, name: &str, args: Value) -> String {
        common::err(&self.mcp, who, name, args).await
    }

    /// The read-only member, the outsider and the demo account are each
    /// refused `name` with `args`, in their own words.
    async fn refused_to_others(&self, name: &str, args: Value) {
        let text = self.err(&self.reader, name, args.clone()).await;
        assert!(text.starts_with("PERMISSION_DENIED: "), "{name} as reader: {text}");
        let text = self.err(&self.outsider, name, args.clone()).await;
        assert!(text.starts_with("PERMISSION_DENIED: ") && text.contains("not found"), "{name} as outsider: {text}");
        let text = self.err(&self.demo, name, args).await;
        assert_eq!(text, "PERMISSION_DENIED: Demo accounts cannot perform write operations", "{name} as demo");
    }

    /// Dispatches a job with `args`, claims it, cancels it; its resolved config.
    async fn claim_config(&self, args: Value) -> Value {
        let job = self.ok(&self.owner, "dispatch_job", args).await;
        let c = self.claim().await;
        assert_eq!(c["job_id"], job["id"]);
        self.ok(&self.owner, "cancel_job", json!({"job_id": job["id"]})).await;
        c["config"].clone()
    }

    /// Claims the next job as the owner's worker; `Null` on timeout.
    async fn claim(&self) -> Value {
        let r = self.ok(&self.owner, "wait_for_job", json!({"wait_seconds": 1})).await;
        if r["status"] == "timeout" { Value::Null } else { r }
    }
}

backend_tests! {
    async fn backlog_items_are_edited_moved_and_deleted_over_mcp(t) {
        let fx = fixture(t).await;
        let pbi = fx.ok(&fx.owner, "update_pbi", json!({"pbi_id": "PBI-1", "title": "Lift-off", "description": null})).await;
        assert_eq!((pbi["title"].as_str(), pbi["description"].as_str()), (Some("Lift-off"), None));
        // The service's own input type: an unknown field is named.
        let text = fx.err(&fx.owner, "update_pbi", json!({"pbi_id": "PBI-1", "titel": "x"})).await;
        assert!(text.starts_with("VALIDATION_ERROR: titel: unknown field"), "{text}");
        let text = fx.err(&fx.owner, "update_pbi", json!({"title": "x"})).await;
        assert_eq!(text, "VALIDATION_ERROR: pbi_id: is required");
        fx.refused_to_others("update_pbi", json!({"pbi_id": fx.pbi_id, "title": "Nope"})).await;

        let second = fx.ok(&fx.owner, "create_story", json!({"pbi_id": "PBI-1", "title": "Ignition"})).await;
        let moved = fx.ok(&fx.owner, "move_story", json!({"id": second["code"], "before_id": fx.story_id})).await;
        assert_eq!(moved["code"], second["code"]);
        let stories = fx.app.list_stories(&fx.owner, baton_app::backlog::stories::StoryScope::Pbi(fx.pbi_id.clone()), Default::default(), Default::default()).await.expect("stories");
        let order: Vec<&str> = stories.items.iter().map(|s| s.code.as_str()).collect();
        assert_eq!(order, [second["code"].as_str().expect("code"), "ST-001"]);
        let text = fx.err(&fx.owner, "move_story", json!({"id": "ST-001", "index": 0, "after_id": "ST-002"})).await;
        assert!(text.starts_with("VALIDATION_ERROR"), "{text}");
        fx.refused_to_others("move_story", json!({"id": fx.story_id, "index": 0})).await;

        let task = fx.ok(&fx.owner, "update_task", json!({"task_id": "T-1", "priority": 1, "status": "in_progress"})).await;
        assert_eq!((task["priority"].as_i64(), task["status"].as_str()), (Some(1), Some("in_progress")), "{task}");
        fx.refused_to_others("delete_task", json!({"id": fx.task_id})).await;
        let gone = fx.ok(&fx.owner, "delete_task", json!({"id": "T-1"})).await;
        assert_eq!(gone["deleted"], "T-1");
        let text = fx.err(&fx.owner, "delete_task", json!({"id": "T-1"})).await;
        assert!(text.contains("not found"), "{text}");
        let text = fx.err(&fx.owner, "delete_story", json!({"id": "ST-001", "cascade": true})).await;
        assert!(text.starts_with("VALIDATION_ERROR: cascade: unknown field"), "{text}");
        fx.ok(&fx.owner, "delete_pbi", json!({"id": "PBI-1"})).await;
        assert!(fx.app.get_pbi(&fx.owner, &fx.pbi_id).await.is_err(), "the PBI is gone");
    }

    async fn products_members_settings_export_and_bulk_over_mcp(t) {
        let fx = fixture(t).await;
        let p = fx.ok(&fx.outsider, "create_product", json!({"name": "Probe", "definition_of_done": "ok", "min_quota_pct": 40})).await;
        assert_eq!(p["min_quota_pct"], 40, "{p}");
        let text = fx.err(&fx.outsider, "create_product", json!({"name": "Bad", "definition_of_done": "ok", "min_quota_pct": 101})).await;
        assert_eq!(text, "VALIDATION_ERROR: min_quota_pct: must be between 0 and 100");

        let p = fx.ok(&fx.owner, "update_product", json!({"product_id": "ROCKET", "min_quota_pct": 25, "preferred_model": "opus"})).await;
        assert_eq!((p["min_quota_pct"].as_i64(), p["preferred_model"].as_str()), (Some(25), Some("opus")));
        let p = fx.ok(&fx.owner, "update_product", json!({"product_id": "ROCKET", "min_quota_pct": null})).await;
        assert!(p["min_quota_pct"].is_null(), "null clears it: {p}");
        fx.refused_to_others("update_product", json!({"product_id": fx.product_id, "name": "Mine"})).await;

        let m = fx.ok(&fx.owner, "update_member", json!({"product_id": "ROCKET", "user_id": fx.reader.user_id, "access": "read_write"})).await;
        assert_eq!(m["access"], "read_write", "{m}");
        let text = fx.err(&fx.reader, "remove_member", json!({"product_id": "ROCKET", "user_id": fx.demo.user_id})).await;
        assert!(text.starts_with("PERMISSION_DENIED"), "a member is not the owner: {text}");
        fx.ok(&fx.owner, "remove_member", json!({"product_id": "ROCKET", "user_id": fx.reader.user_id})).await;
        let text = fx.err(&fx.reader, "get_context", json!({"product_id": "ROCKET"})).await;
        assert!(text.contains("not found"), "removed: {text}");
        fx.ok(&fx.owner, "add_member", json!({"product_id": "ROCKET", "username": "reader"})).await;

        let bulk = fx.ok(&fx.owner, "bulk_status", json!({"kind": "task", "ids": ["T-1"], "status": "review"})).await;
        assert!(bulk.to_string().contains("review"), "{bulk}");
        assert_eq!(fx.app.get_task(&fx.owner, "T-1").await.expect("task").status.as_api(), "review");
        let args = json!({"kind": "task", "ids": [fx.task_id], "status": "done"});
        let text = fx.err(&fx.reader, "bulk_status", args.clone()).await;
        assert!(text.starts_with("PERMISSION_DENIED"), "{text}");
        // Bulk requests judge each id: one the caller cannot see is named.
        let text = fx.err(&fx.outsider, "bulk_status", args.clone()).await;
        assert_eq!(text, format!("VALIDATION_ERROR: ids.0: no task {} that you can access", fx.task_id));
        let text = fx.err(&fx.demo, "bulk_status", args).await;
        assert!(text.starts_with("PERMISSION_DENIED: Demo"), "{text}");

        let file = fx.ok(&fx.reader, "export_product", json!({"product_id": "ROCKET"})).await;
        assert_eq!(file["content_type"], "application/json");
        let export: Value = serde_json::from_str(file["content"].as_str().expect("content")).expect("json");
        let mut export = export;
        export["product"]["name"] = json!("Rocket copy");
        export["product"]["code"] = json!("COPY");
        let imported = fx.ok(&fx.outsider, "import_product", json!({"export": export})).await;
        assert!(imported.to_string().contains("Rocket copy") || imported["product"].is_object(), "{imported}");
        let text = fx.err(&fx.outsider, "import_product", json!({})).await;
        assert_eq!(text, "VALIDATION_ERROR: export: give exactly one of export or csv");

        fx.refused_to_others("archive_product", json!({"product_id": fx.product_id})).await;
        let a = fx.ok(&fx.owner, "archive_product", json!({"product_id": "ROCKET"})).await;
        assert_eq!(a["archived"], true);
        let a = fx.ok(&fx.owner, "unarchive_product", json!({"product_id": "ROCKET"})).await;
        assert_eq!(a["archived"], false);
    }

    async fn sprints_are_filled_and_closed_over_mcp(t) {
        let fx = fixture(t).await;
        let sprint = fx.ok(&fx.owner, "create_sprint", json!({"product_id": "ROCKET", "sprint_goal": "Fly"})).await;
        let sid = sprint["id"].as_str().expect("id").to_string();
        fx.refused_to_others("add_stories_to_sprint", json!({"sprint_id": sid, "story_ids": [fx.story_id]})).await;
        let added = fx.ok(&fx.owner, "add_stories_to_sprint", json!({"sprint_id": sid, "story_ids": ["ST-001"]})).await;
        assert_eq!(added["stories"][0]["code"], "ST-001", "{added}");
        fx.ok(&fx.owner, "bulk_move_to_sprint", json!({"story_ids": ["ST-001"], "sprint_id": null})).await;
        fx.ok(&fx.owner, "add_stories_to_sprint", json!({"sprint_id": sid, "story_ids": ["ST-001"]})).await;
        fx.refused_to_others("close_sprint", json!({"sprint_id": sid})).await;
        let closed = fx.ok(&fx.owner, "close_sprint", json!({"sprint_id": sid})).await;
        assert_eq!(closed["sprint"]["status"], "closed", "{closed}");
        assert_eq!(closed["returned_to_backlog"][0]["code"], "ST-001", "unfinished story back in the backlog");
        let text = fx.err(&fx.owner, "close_sprint", json!({"sprint_id": sid})).await;
        assert!(!text.starts_with("PERMISSION_DENIED") && !text.starts_with("VALIDATION_ERROR"), "a conflict: {text}");
        fx.ok(&fx.owner, "archive_sprint", json!({"sprint_id": sid})).await;
        let deleted = fx.ok(&fx.owner, "delete_sprint", json!({"sprint_id": sid})).await;
        assert_eq!(deleted["deleted"], sid.as_str());
    }

    async fn jobs_are_dispatched_listed_cancelled_and_questions_answered_over_mcp(t) {
        let fx = fixture(t).await;
        fx.refused_to_others("dispatch_job", json!({"task_id": fx.task_id})).await;
        let job = fx.ok(&fx.owner, "dispatch_job", json!({"task_id": "T-1", "requested_model": "haiku"})).await;
        assert_eq!((job["status"].as_str(), job["requested_model"].as_str()), (Some("queued"), Some("haiku")));
        let text = fx.err(&fx.owner, "dispatch_job", json!({"task_id": "T-1"})).await;
        assert!(text.contains("already"), "one live job per task: {text}");
        let listed = fx.ok(&fx.reader, "list_jobs", json!({"task_id": "T-1"})).await;
        assert_eq!(listed["total"], 1);
        let got = fx.ok(&fx.reader, "get_job", json!({"job_id": job["id"]})).await;
        assert_eq!(got["id"], job["id"]);
        let text = fx.err(&fx.outsider, "get_job", json!({"job_id": job["id"]})).await;
        assert!(text.contains("not found"), "{text}");
        fx.refused_to_others("cancel_job", json!({"job_id": job["id"]})).await;
        let cancelled = fx.ok(&fx.owner, "cancel_job", json!({"job_id": job["id"]})).await;
        assert_eq!(cancelled["status"], "cancelled");

        let q = fx.ok(&fx.owner, "ask_user_question", json!({"task_id": "T-1", "question": "Which fuel?", "options": ["A", "B"]})).await;
        let qid = q["id"].clone();
        fx.refused_to_others("answer_question", json!({"question_id": qid, "answer": "A"})).await;
        let text = fx.err(&fx.owner, "answer_question", json!({"question_id": qid, "answer": "C"})).await;
        assert!(text.starts_with("VALIDATION_ERROR: answer"), "{text}");
        let answered = fx.ok(&fx.owner, "answer_question", json!({"question_id": qid, "answer": "B"})).await;
        assert_eq!((answered["status"].as_str(), answered["answer"].as_str()), (Some("answered"), Some("B")));
    }

    async fn a_requeued_job_goes_back_to_the_queue_and_its_old_worker_is_refused(t) {
        let fx = fixture(t).await;
        let job = fx.ok(&fx.owner, "dispatch_job", json!({"task_id": "T-1"})).await;
        let id = job["id"].as_str().expect("id").to_string();
        let text = fx.err(&fx.owner, "requeue_job", json!({"job_id": id})).await;
        assert_eq!(text, "job is queued; only claimed or running jobs can be requeued");
        let claimed = fx.claim().await;
        assert_eq!(claimed["job_id"], id.as_str());
        let attempt = claimed["attempt"].as_i64().expect("attempt");

        // Not the owner: a read-write member, the read-only one, an outsider, the demo.
        fx.app.update_member(&fx.owner, &fx.product_id, &fx.reader.user_id, baton_app::products::MemberPatch { access: Some(MemberAccess::ReadWrite), role: None }).await.expect("rw");
        let text = fx.err(&fx.reader, "requeue_job", json!({"job_id": id})).await;
        assert_eq!(text, "PERMISSION_DENIED: only the job's owner or an administrator can requeue it");
        let text = fx.err(&fx.outsider, "requeue_job", json!({"job_id": id})).await;
        assert!(text.contains("not found"), "{text}");
        let text = fx.err(&fx.demo, "requeue_job", json!({"job_id": id})).await;
        assert_eq!(text, "PERMISSION_DENIED: Demo accounts cannot perform write operations");

        let requeued = fx.ok(&fx.owner, "requeue_job", json!({"job_id": id})).await;
        assert_eq!(requeued["status"], "queued");
        assert_eq!(requeued["retry_count"].as_i64(), Some(attempt + 1), "a requeue uses an attempt");
        assert!(requeued["claimed_by_token_id"].is_null() && requeued["lease_until"].is_null(), "{requeued}");
        // The worker that held it is refused from now on.
        let text = fx.err(&fx.owner, "job_heartbeat", json!({"job_id": id, "attempt": attempt})).await;
        assert!(text.starts_with("PERMISSION_DENIED"), "{text}");
        let text = fx.err(&fx.owner, "update_job_status", json!({"job_id": id, "attempt": attempt, "status": "running"})).await;
        assert!(text.starts_with("PERMISSION_DENIED"), "{text}");
        // A worker claims it again as the next attempt.
        let again = fx.claim().await;
        assert_eq!((again["job_id"].as_str(), again["attempt"].as_i64()), (Some(id.as_str()), Some(attempt + 1)));

        // An administrator (not a member) may requeue it too.
        let admin = token_actor(&fx.app, "root", vec![Role::Admin, Role::Developer]).await;
        let r = fx.ok(&admin, "requeue_job", json!({"job_id": id})).await;
        assert_eq!(r["status"], "queued");
    }

    async fn the_dead_filter_lists_failed_jobs_out_of_attempts(t) {
        let fx = fixture(t).await;
        let job = fx.ok(&fx.owner, "dispatch_job", json!({"task_id": "T-1"})).await;
        let id = job["id"].as_str().expect("id").to_string();
        for _ in 0..baton_app::queue::claim::MAX_RETRIES {
            assert_eq!(fx.claim().await["job_id"], id.as_str());
            fx.ok(&fx.owner, "requeue_job", json!({"job_id": id})).await;
        }
        let last = fx.claim().await;
        let attempt = last["attempt"].clone();
        fx.ok(&fx.owner, "update_job_status", json!({"job_id": id, "attempt": attempt, "status": "failed", "error": "boom"})).await;
        // A failed job with attempts left is not dead.
        fx.ok(&fx.owner, "create_task", json!({"story_id": "ST-001", "title": "Other", "implementation_plan": "Edit `a.rs`."})).await;
        let other = fx.ok(&fx.owner, "dispatch_job", json!({"task_id": "T-2"})).await;
        let c = fx.claim().await;
        fx.ok(&fx.owner, "update_job_status", json!({"job_id": other["id"], "attempt": c["attempt"], "status": "failed", "error": "x"})).await;

        let dead = fx.ok(&fx.owner, "list_jobs", json!({"dead": true})).await;
        let ids: Vec<&str> = dead["items"].as_array().expect("items").iter().filter_map(|j| j["id"].as_str()).collect();
        assert_eq!(ids, [id.as_str()]);
        let alive = fx.ok(&fx.owner, "list_jobs", json!({"dead": false, "status": "failed"})).await;
        let ids: Vec<&str> = alive["items"].as_array().expect("items").iter().filter_map(|j| j["id"].as_str()).collect();
        assert_eq!(ids, [other["id"].as_str().expect("id")]);
    }

    async fn the_claim_resolves_config_job_then_product_then_kind_config_then_defaults(t) {
        let fx = fixture(t).await;
        let admin = token_actor(&fx.app, "root", vec![Role::Admin, Role::Developer]).await;
        let text = fx.err(&fx.owner, "set_job_kind_config", json!({"kind": "task_implementation", "model": "x"})).await;
        assert!(text.starts_with("PERMISSION_DENIED"), "administrators only: {text}");
        let text = fx.err(&admin, "set_job_kind_config", json!({"kind": "nope"})).await;
        assert!(text.starts_with("VALIDATION_ERROR: kind: must be one of"), "{text}");
        let text = fx.err(&admin, "set_job_kind_config", json!({"kind": "task_implementation", "max_turns": 0})).await;
        assert_eq!(text, "VALIDATION_ERROR: max_turns: must be between 1 and 1000");
        let saved = fx.ok(&admin, "set_job_kind_config", json!({"kind": "task_implementation", "model": "kind-model",
            "thinking_budget": 111, "permission_mode": "kindMode", "allowed_tools": ["Read", "Edit"], "max_turns": 7})).await;
        assert_eq!(saved["updated_by"], admin.user_id.as_str());
        let listed = fx.ok(&admin, "list_job_kind_configs", json!({})).await;
        let kinds = listed["kinds"].as_array().expect("kinds");
        assert!(kinds.iter().any(|k| k["kind"] == "task_implementation" && k["model"] == "kind-model"), "{listed}");
        assert!(kinds.iter().any(|k| k["kind"] == "idea_grill" && k["model"].is_null() && k["defaults"]["model"] == "sonnet"));

        // Step 4: nothing on the job or product, so the kind's configuration.
        let c = fx.claim_config(json!({"task_id": "T-1"})).await;
        assert_eq!(c, json!({"model": "kind-model", "thinking_budget": 111, "permission_mode": "kindMode",
            "max_turns": 7, "allowed_tools": ["Read", "Edit"], "model_source": "kind_config"}));
        // Step 3: the product's preferences win over the kind's.
        fx.ok(&fx.owner, "update_product", json!({"product_id": "ROCKET", "preferred_model": "prod-model", "thinking_budget_default": 222})).await;
        let c = fx.claim_config(json!({"task_id": "T-1"})).await;
        assert_eq!((c["model"].as_str(), c["model_source"].as_str(), c["thinking_budget"].as_i64()), (Some("prod-model"), Some("product"), Some(222)));
        assert_eq!(c["permission_mode"], "kindMode", "not set on the product: still the kind's");
        // Step 2: the job's request wins over the product's.
        let c = fx.claim_config(json!({"task_id": "T-1", "requested_model": "job-model", "requested_permission_mode": "jobMode"})).await;
        assert_eq!((c["model"].as_str(), c["model_source"].as_str(), c["permission_mode"].as_str()), (Some("job-model"), Some("job"), Some("jobMode")));
        // Step 1: requires_opus wins over everything.
        fx.ok(&fx.owner, "update_task", json!({"task_id": "T-1", "requires_opus": true})).await;
        let c = fx.claim_config(json!({"task_id": "T-1", "requested_model": "job-model"})).await;
        assert_eq!((c["model"].as_str(), c["model_source"].as_str()), (Some("opus"), Some("requires_opus")));
        // Step 5: without a kind configuration, the defaults.
        fx.ok(&admin, "set_job_kind_config", json!({"kind": "task_implementation"})).await;
        fx.ok(&fx.owner, "update_task", json!({"task_id": "T-1", "requires_opus": false})).await;
        fx.ok(&fx.owner, "update_product", json!({"product_id": "ROCKET", "preferred_model": null, "thinking_budget_default": null})).await;
        let c = fx.claim_config(json!({"task_id": "T-1"})).await;
        assert_eq!(c, json!({"model": "sonnet", "thinking_budget": 6000, "permission_mode": "bypassPermissions",
            "max_turns": 50, "allowed_tools": null, "model_source": "default"}));
    }

    async fn a_worker_below_the_products_quota_floor_does_not_claim_its_jobs(t) {
        let fx = fixture(t).await;
        fx.ok(&fx.owner, "update_product", json!({"product_id": "ROCKET", "min_quota_pct": 50})).await;
        fx.ok(&fx.owner, "worker_heartbeat", json!({"last_quota_pct": 30})).await;
        let job = fx.ok(&fx.owner, "dispatch_job", json!({"task_id": "T-1"})).await;
        assert!(fx.claim().await.is_null(), "30 % is below the product's 50 %");
        fx.ok(&fx.owner, "worker_heartbeat", json!({"last_quota_pct": 60})).await;
        let c = fx.claim().await;
        assert_eq!(c["job_id"], job["id"]);
        assert_eq!(c["product"]["min_quota_pct"], 50, "runners read the floor from the payload");
        fx.ok(&fx.owner, "cancel_job", json!({"job_id": job["id"]})).await;
        // Back to the user's own threshold when the product has none.
        fx.ok(&fx.owner, "update_product", json!({"product_id": "ROCKET", "min_quota_pct": null})).await;
        fx.ok(&fx.owner, "worker_heartbeat", json!({"last_quota_pct": 30})).await;
        let job = fx.ok(&fx.owner, "dispatch_job", json!({"task_id": "T-1"})).await;
        let c = fx.claim().await;
        assert_eq!(c["job_id"], job["id"], "30 % passes the user's default threshold");
        assert!(c["product"]["min_quota_pct"].is_null());
    }

    async fn an_idea_is_updated_by_its_owner_only(t) {
        let fx = fixture(t).await;
        let input = baton_app::ideas::NewIdea { title: "Moon base".into(), description: None, ..Default::default() };
        let idea = fx.app.create_idea(&fx.owner, input).await.expect("idea");
        let updated = fx.ok(&fx.owner, "update_idea", json!({"idea_id": idea.id, "title": "Mars base", "product_id": "ROCKET"})).await;
        assert_eq!((updated["title"].as_str(), updated["product_id"].as_str()), (Some("Mars base"), Some(fx.product_id.as_str())), "{updated}");
        let text = fx.err(&fx.owner, "update_idea", json!({"idea_id": idea.id, "titel": "x"})).await;
        assert!(text.starts_with("VALIDATION_ERROR: titel: unknown field"), "{text}");
        // Ideas are their owner's: a member of the product sees nothing.
        let text = fx.err(&fx.reader, "update_idea", json!({"idea_id": idea.id, "title": "Mine"})).await;
        assert!(text.contains("not found"), "{text}");
        let text = fx.err(&fx.demo, "update_idea", json!({"idea_id": idea.id, "title": "Mine"})).await;
        assert!(text.starts_with("PERMISSION_DENIED: Demo"), "{text}");
    }

    async fn runs_are_cancelled_and_the_other_sprint_and_product_tools_reach_their_services(t) {
        let fx = fixture(t).await;
        let sprint = fx.ok(&fx.owner, "create_sprint", json!({"product_id": "ROCKET", "sprint_goal": "Fly"})).await;
        let sid = sprint["id"].as_str().expect("id").to_string();
        fx.ok(&fx.owner, "add_stories_to_sprint", json!({"sprint_id": sid, "story_ids": ["ST-001"]})).await;
        let run = fx.ok(&fx.owner, "start_sprint_run", json!({"sprint_id": sid})).await;
        let run_id = run["run"]["id"].as_str().expect("run").to_string();
        fx.refused_to_others("cancel_sprint_run", json!({"sprint_run_id": run_id})).await;
        let cancelled = fx.ok(&fx.owner, "cancel_sprint_run", json!({"sprint_run_id": run_id})).await;
        assert_eq!(cancelled["run"]["status"], "cancelled", "{cancelled}");
        assert!(cancelled["jobs"].as_array().expect("jobs").iter().all(|j| j["status"] == "cancelled"), "{cancelled}");
        let text = fx.err(&fx.owner, "resume_sprint_run", json!({"sprint_run_id": run_id})).await;
        assert!(!text.starts_with("PERMISSION_DENIED") && !text.starts_with("VALIDATION_ERROR"), "only a paused run resumes: {text}");

        fx.refused_to_others("remove_story_from_sprint", json!({"sprint_id": sid, "story_id": fx.story_id})).await;
        let removed = fx.ok(&fx.owner, "remove_story_from_sprint", json!({"sprint_id": sid, "story_id": "ST-001"})).await;
        assert_eq!(removed["removed"], "ST-001");
        assert!(fx.app.get_story(&fx.owner, "ST-001").await.expect("story").sprint_id.is_none());
        let failed = fx.ok(&fx.owner, "fail_sprint", json!({"sprint_id": sid})).await;
        assert!(failed.to_string().contains("failed"), "{failed}");

        let second = fx.ok(&fx.owner, "create_pbi", json!({"product_id": "ROCKET", "title": "Second"})).await;
        let r = fx.ok(&fx.owner, "bulk_reorder", json!({"ids": [second["code"], "PBI-1"]})).await;
        assert!(r.to_string().contains(second["id"].as_str().expect("id")), "{r}");
        let moved = fx.ok(&fx.owner, "move_pbi", json!({"id": "PBI-1", "index": 0})).await;
        assert_eq!(moved["code"], "PBI-1");

        let csv = fx.ok(&fx.owner, "export_product", json!({"product_id": "ROCKET", "format": "csv"})).await;
        assert!(csv["content_type"].as_str().expect("type").starts_with("text/csv"), "{csv}");
        let content = csv["content"].as_str().expect("csv").replace("Rocket", "Rocket csv").replace("ROCKET", "CSVCOPY");
        let imported = fx.ok(&fx.owner, "import_product", json!({"csv": content})).await;
        assert!(imported.to_string().contains("Rocket csv"), "{imported}");
        let text = fx.err(&fx.owner, "import_product", json!({"csv": content, "export": {}})).await;
        assert_eq!(text, "VALIDATION_ERROR: export: give exactly one of export or csv");

        fx.refused_to_others("delete_product", json!({"product_id": fx.product_id})).await;
        let gone = fx.ok(&fx.owner, "delete_product", json!({"product_id": "ROCKET"})).await;
        assert_eq!(gone["deleted"], "ROCKET");
        let text = fx.err(&fx.owner, "get_context", json!({"product_id": fx.product_id})).await;
        assert!(text.contains("not found"), "{text}");
    }
}
