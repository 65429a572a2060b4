//! The MCP endpoint through the real HTTP router (in process), on SQLite and
//! Postgres: auth and method errors, the tool list, the result conventions
//! (PERMISSION_DENIED for demo writes, VALIDATION_ERROR naming the path) and
//! a happy path from PBI to a promoted story; plus stdio over a pipe.

mod common;

use std::sync::Arc;

use axum::{
    Router,
    body::Body,
    http::{HeaderMap, Method, Request, StatusCode, header},
};
use baton_app::{
    Actor, App, AppConfig,
    products::{NewMember, NewProduct},
    tokens::NewToken,
};
use baton_domain::roles::MemberAccess;
use baton_http::{AppState, HttpConfig};
use baton_mcp::{HttpSettings, Profile};
use baton_testkit::{TestDb, backend_tests};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tower::ServiceExt;

const HOST: &str = "127.0.0.1:8080";
const PUBLIC: &str = "http://127.0.0.1:8080";

struct Mcp {
    _t: TestDb,
    state: AppState,
    router: Router,
}

struct Res {
    status: StatusCode,
    headers: HeaderMap,
    text: String,
}

impl Res {
    fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text))
    }
}

impl Mcp {
    async fn new(t: TestDb, profile: Profile) -> Mcp {
        let http =
            HttpConfig { public_url: PUBLIC.into(), mcp: HttpSettings::new(PUBLIC, "", profile), ..Default::default() };
        let state = AppState::new(App::local(t.db.clone(), AppConfig::default()), http);
        let router = baton_http::router(state.clone());
        Mcp { _t: t, state, router }
    }

    fn app(&self) -> &App {
        &self.state.app
    }

    async fn send(&self, req: Request<Body>) -> Res {
        let res = self.router.clone().oneshot(req).await.expect("router never fails");
        let status = res.status();
        let headers = res.headers().clone();
        let bytes = axum::body::to_bytes(res.into_body(), usize::MAX).await.expect("body");
        Res { status, headers, text: String::from_utf8_lossy(&bytes).into_owned() }
    }

    fn request(method: Method, token: Option<&str>) -> axum::http::request::Builder {
        let mut b = Request::builder()
            .method(method)
            .uri("/mcp")
            .header(header::HOST, HOST)
            .header(header::ACCEPT, "application/json, text/event-stream")
            .header(header::CONTENT_TYPE, "application/json");
        if let Some(t) = token {
            b = b.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        b
    }

    async fn post(&self, token: Option<&str>, body: &Value) -> Res {
        self.send(Self::request(Method::POST, token).body(Body::from(body.to_string())).expect("request")).await
    }

    async fn post_raw(&self, token: Option<&str>, body: impl Into<Body>) -> Res {
        self.send(Self::request(Method::POST, token).body(body.into()).expect("request")).await
    }

    /// A JSON-RPC call; returns the `result` (panics on a JSON-RPC error).
    async fn rpc(&self, token: &str, method: &str, params: Value) -> Value {
        let res = self.post(Some(token), &json!({"jsonrpc": "2.0", "id": 7, "method": method, "params": params})).await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.text);
        let body = res.json();
        assert!(body.get("error").is_none(), "JSON-RPC error: {body}");
        body["result"].clone()
    }

    /// Calls a tool; returns `(is_error, text, structuredContent)`.
    async fn tool(&self, token: &str, name: &str, args: Value) -> (bool, String, Value) {
        let r = self.rpc(token, "tools/call", json!({"name": name, "arguments": args})).await;
        let text = r["content"][0]["text"].as_str().unwrap_or_default().to_string();
        (r["isError"].as_bool().unwrap_or(false), text, r["structuredContent"].clone())
    }

    async fn user(&self, name: &str, is_demo: bool) -> String {
        self.app().create_user(&Actor::cli(), common::developer(name, is_demo)).await.expect("user").id
    }

    async fn token(&self, user_id: &str) -> (String, String) {
        let input = NewToken { label: "agent".into(), ..Default::default() };
        let t = self.app().create_token(&Actor::cli(), user_id, input).await.expect("token");
        (t.info.id, t.token)
    }

    /// An owner with a token and a product; a demo member with a token.
    async fn world(&self) -> World {
        let owner_id = self.user("owner", false).await;
        let (_, owner) = self.token(&owner_id).await;
        let actor = self.app().token_actor(&owner).await.expect("actor");
        let product = self
            .app()
            .create_product(
                &actor,
                NewProduct {
                    name: "Rocket".into(),
                    code: Some("ROCKET".into()),
                    definition_of_done: "tests pass".into(),
                    ..Default::default()
                },
            )
            .await
            .expect("product");
        self.user("demo", true).await;
        let demo_id = self.app().find_user_by_username("demo").await.expect("find").expect("demo").id;
        let member = NewMember { username: "demo".into(), access: Some(MemberAccess::ReadWrite), role: None };
        self.app().add_member(&actor, &product.id, member).await.expect("member");
        let (_, demo) = self.token(&demo_id).await;
        World { owner, demo, product_id: product.id }
    }

    async fn count(&self, table: &str) -> i64 {
        use baton_store::sea_orm::ConnectionTrait;
        let db = &self.app().db;
        let row = db
            .query_one_raw(baton_store::sea_orm::Statement::from_string(
                db.get_database_backend(),
                format!("SELECT COUNT(*) AS c FROM {table}"),
            ))
            .await
            .expect("count")
            .expect("row");
        row.try_get::<i64>("", "c").expect("count value")
    }
}

async fn send(w: &mut (impl tokio::io::AsyncWrite + Unpin), v: Value) {
    w.write_all(format!("{v}\n").as_bytes()).await.expect("write");
}

type Lines = tokio::io::Lines<BufReader<tokio::io::ReadHalf<tokio::io::DuplexStream>>>;
type Writer = tokio::io::WriteHalf<tokio::io::DuplexStream>;
type Served = tokio::task::JoinHandle<Result<(), String>>;

/// A stdio server for `actor` on an in-memory pipe, initialized: the
/// client's reader and writer, and the serving task.
async fn stdio_client(mcp: &Mcp, actor: Actor, profile: Profile, instance: &str) -> (Lines, Writer, Served) {
    let (client, server) = tokio::io::duplex(256 * 1024);
    let (server_r, server_w) = tokio::io::split(server);
    let served = tokio::spawn(baton_mcp::stdio::serve_on(
        mcp.state.app.clone(),
        actor,
        profile,
        baton_app::workers::WorkerInfo::new(instance),
        (server_r, server_w),
        std::future::pending(),
    ));
    let (client_r, mut client_w) = tokio::io::split(client);
    let mut lines = BufReader::new(client_r).lines();
    send(
        &mut client_w,
        json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}}),
    )
    .await;
    let init: Value = serde_json::from_str(&lines.next_line().await.expect("read").expect("line")).expect("json");
    assert_eq!(init["result"]["serverInfo"]["name"], "baton");
    send(&mut client_w, json!({"jsonrpc": "2.0", "method": "notifications/initialized"})).await;
    (lines, client_w, served)
}

struct World {
    owner: String,
    demo: String,
    product_id: String,
}

fn names(list: &Value) -> Vec<String> {
    list["tools"].as_array().expect("tools").iter().map(|t| t["name"].as_str().expect("name").to_string()).collect()
}

const CORE_TOOLS: &[&str] = &[
    "health",
    "list_products",
    "get_context",
    "get_sprint_context",
    "update_task_status",
    "update_task_plan",
    "log_implementation",
    "log_test_result",
    "log_commit",
    "wait_for_job",
    "job_heartbeat",
    "update_job_status",
    "worker_heartbeat",
    "check_queue_empty",
    "verify_task_against_plan",
    "update_task_execution",
    "verify_sprint_task",
    "ask_user_question",
    "get_question_answer",
    "get_idea_context",
    "update_idea_grill_md",
    "update_idea_plan_md",
    "log_idea_decision",
];

const ALL_TOOLS: &[&str] = &[
    "health",
    "list_products",
    "get_context",
    "get_claude_context",
    "get_sprint_context",
    "create_pbi",
    "create_story",
    "create_task",
    "create_sprint",
    "update_sprint",
    "update_task_status",
    "update_task_plan",
    "log_implementation",
    "log_test_result",
    "log_commit",
    "wait_for_job",
    "job_heartbeat",
    "update_job_status",
    "worker_heartbeat",
    "check_queue_empty",
    "retry_job",
    "verify_task_against_plan",
    "start_sprint_run",
    "update_task_execution",
    "verify_sprint_task",
    "set_pbi_pr",
    "mark_pbi_pr_merged",
    "ask_user_question",
    "get_question_answer",
    "list_open_questions",
    "cancel_question",
    "create_idea",
    "get_idea_context",
    "get_ideas_context",
    "update_idea_grill_md",
    "update_idea_plan_md",
    "log_idea_decision",
    "materialize_idea",
    "dispatch_idea_job",
    // Parity with the REST API (issue 11).
    "update_pbi",
    "delete_pbi",
    "move_pbi",
    "update_story",
    "delete_story",
    "move_story",
    "update_task",
    "delete_task",
    "move_task",
    "create_product",
    "update_product",
    "archive_product",
    "unarchive_product",
    "delete_product",
    "add_member",
    "update_member",
    "remove_member",
    "export_product",
    "import_product",
    "bulk_status",
    "bulk_move_to_sprint",
    "bulk_reorder",
    "add_stories_to_sprint",
    "remove_story_from_sprint",
    "close_sprint",
    "archive_sprint",
    "fail_sprint",
    "delete_sprint",
    "cancel_sprint_run",
    "resume_sprint_run",
    "dispatch_job",
    "list_jobs",
    "get_job",
    "cancel_job",
    "requeue_job",
    "answer_question",
    "update_idea",
    "list_job_kind_configs",
    "set_job_kind_config",
    "submit_deliverable",
    "list_deliverables",
    "review_deliverable",
    "rate_expert",
    "list_project_ratings",
    "get_expert_profile",
    "upload_document",
    "list_documents",
    "delete_document",
    "list_project_stories",
    "get_story_workflow",
    "upsert_market_story",
    "record_story_validation",
    "transition_story",
    "submit_story_pr",
    "submit_qa_review",
    "approve_story",
    "import_bmad",
    "set_my_roles",
    "create_project",
    "list_projects",
    "get_project_status",
    "update_project",
    "create_brief",
    "get_project_brief",
    "update_brief",
    "publish_brief",
    "advance_project_stage",
    "post_opportunity",
    "list_opportunities",
    "get_opportunity",
    "list_opportunity_bids",
    "submit_bid",
    "get_my_bids",
    "withdraw_bid",
    "reject_bid",
    "accept_bid",
    "list_project_escrows",
    "get_escrow_status",
    "generate_wallet_qr",
    "fund_escrow",
    "record_escrow_release",
    "refund_escrow",
];

backend_tests! {
    async fn a_post_without_a_bearer_token_is_401_with_json_rpc_error_32001(t) {
        let mcp = Mcp::new(t, Profile::Core).await;
        let res = mcp.post(None, &json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"})).await;
        assert_eq!(res.status, StatusCode::UNAUTHORIZED);
        assert_eq!(res.json()["error"]["code"], -32001);
        assert_eq!(res.json()["error"]["message"], "Missing Bearer token");
        assert_eq!(res.headers.get(header::WWW_AUTHENTICATE).and_then(|v| v.to_str().ok()), Some("Bearer"));
        // A browser session cookie is not a credential here.
        let req = Mcp::request(Method::POST, None)
            .header(header::COOKIE, "baton_session=whatever")
            .header(header::ORIGIN, PUBLIC)
            .body(Body::from(json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}).to_string()))
            .expect("request");
        let res = mcp.send(req).await;
        assert_eq!(res.status, StatusCode::UNAUTHORIZED);
        assert_eq!(res.json()["error"]["code"], -32001);
    }

    async fn an_unknown_or_revoked_token_is_401(t) {
        let mcp = Mcp::new(t, Profile::Core).await;
        let body = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"});
        let res = mcp.post(Some("baton_not-a-real-token"), &body).await;
        assert_eq!(res.status, StatusCode::UNAUTHORIZED);
        assert_eq!(res.json()["error"]["code"], -32001);
        assert!(res.json()["error"]["message"].as_str().unwrap_or_default().starts_with("Invalid or revoked token"));

        let uid = mcp.user("ann", false).await;
        let (id, token) = mcp.token(&uid).await;
        assert_eq!(mcp.post(Some(&token), &body).await.status, StatusCode::OK);
        let actor = mcp.app().token_actor(&token).await.expect("actor");
        mcp.app().revoke_token(&actor, &id).await.expect("revoke");
        let res = mcp.post(Some(&token), &body).await;
        assert_eq!(res.status, StatusCode::UNAUTHORIZED);
        assert_eq!(res.json()["error"]["code"], -32001);
    }

    async fn get_and_delete_are_405_allowing_post(t) {
        let mcp = Mcp::new(t, Profile::Core).await;
        let uid = mcp.user("ann", false).await;
        let (_, token) = mcp.token(&uid).await;
        for method in [Method::GET, Method::DELETE] {
            for tok in [None, Some(token.as_str())] {
                let res = mcp.send(Mcp::request(method.clone(), tok).body(Body::empty()).expect("request")).await;
                assert_eq!(res.status, StatusCode::METHOD_NOT_ALLOWED, "{method}");
                assert_eq!(res.headers.get(header::ALLOW).and_then(|v| v.to_str().ok()), Some("POST"));
            }
        }
    }

    async fn a_foreign_origin_or_host_is_refused(t) {
        let mcp = Mcp::new(t, Profile::Core).await;
        let uid = mcp.user("ann", false).await;
        let (_, token) = mcp.token(&uid).await;
        let body = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}).to_string();
        let req = Mcp::request(Method::POST, Some(&token))
            .header(header::ORIGIN, "https://evil.example")
            .body(Body::from(body.clone()))
            .expect("request");
        assert_eq!(mcp.send(req).await.status, StatusCode::FORBIDDEN);
        let mut req = Mcp::request(Method::POST, Some(&token)).body(Body::from(body.clone())).expect("request");
        req.headers_mut().insert(header::HOST, "evil.example".parse().expect("host"));
        assert_eq!(mcp.send(req).await.status, StatusCode::FORBIDDEN);
        let req = Mcp::request(Method::POST, Some(&token))
            .header(header::ORIGIN, PUBLIC)
            .body(Body::from(body))
            .expect("request");
        assert_eq!(mcp.send(req).await.status, StatusCode::OK);
    }

    async fn tools_list_offers_the_core_profile_by_default_and_every_tool_with_all(t) {
        let mcp = Mcp::new(t, Profile::Core).await;
        let uid = mcp.user("ann", false).await;
        let (_, token) = mcp.token(&uid).await;
        let init = mcp.rpc(&token, "initialize", json!({
            "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "test", "version": "1"}
        })).await;
        assert_eq!(init["serverInfo"]["name"], "baton");
        assert!(init["capabilities"]["tools"].is_object());
        let list = mcp.rpc(&token, "tools/list", json!({})).await;
        assert_eq!(names(&list), CORE_TOOLS);
        for tool in list["tools"].as_array().expect("tools") {
            assert_eq!(tool["inputSchema"]["type"], "object", "{tool}");
            assert!(tool["description"].as_str().is_some_and(|d| d.len() > 20), "{tool}");
        }
        let status = &list["tools"][4]["inputSchema"]["properties"]["status"];
        assert_eq!(status["enum"], json!(["todo", "in_progress", "review", "done", "failed", "excluded"]));
        assert_eq!(list["tools"][4]["inputSchema"]["required"], json!(["task_id", "status"]));
        assert!(list["tools"][4]["inputSchema"]["properties"]["task_id"]["description"].as_str().is_some());
        // A tool outside the profile is not callable either.
        let res = mcp.post(Some(&token), &json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call",
            "params": {"name": "create_pbi", "arguments": {}}})).await;
        assert!(res.json()["error"]["message"].as_str().unwrap_or_default().contains("unknown tool"), "{}", res.text);

        let mut http = (*mcp.state.http).clone();
        http.mcp.profile = Profile::All;
        let all = baton_http::router(AppState { app: mcp.state.app.clone(), http: Arc::new(http) });
        let req = Mcp::request(Method::POST, Some(&token))
            .body(Body::from(json!({"jsonrpc": "2.0", "id": 3, "method": "tools/list"}).to_string()))
            .expect("request");
        let res = all.oneshot(req).await.expect("router");
        let bytes = axum::body::to_bytes(res.into_body(), usize::MAX).await.expect("body");
        let body: Value = serde_json::from_slice(&bytes).expect("json");
        assert_eq!(names(&body["result"]), ALL_TOOLS);
    }

    async fn a_demo_token_reads_but_every_write_tool_is_permission_denied(t) {
        let mcp = Mcp::new(t, Profile::All).await;
        let w = mcp.world().await;
        let (err, text, ctx) = mcp.tool(&w.demo, "get_context", json!({"product_id": "ROCKET"})).await;
        assert!(!err, "{text}");
        assert_eq!(ctx["product"]["id"], w.product_id.as_str());
        let before = mcp.count("pbis").await;
        let (err, text, _) =
            mcp.tool(&w.demo, "create_pbi", json!({"product_id": w.product_id, "title": "Sneaky"})).await;
        assert!(err);
        assert_eq!(text, "PERMISSION_DENIED: Demo accounts cannot perform write operations");
        assert_eq!(mcp.count("pbis").await, before);
    }

    async fn invalid_arguments_are_validation_errors_naming_the_path(t) {
        let mcp = Mcp::new(t, Profile::All).await;
        let w = mcp.world().await;
        let before = mcp.count("pbis").await;
        let (err, text, _) = mcp
            .tool(&w.owner, "create_pbi", json!({"product_id": w.product_id, "title": "", "priority": 9}))
            .await;
        assert!(err);
        assert!(text.starts_with("VALIDATION_ERROR: title: "), "{text}");
        assert!(text.contains("; priority: "), "{text}");
        let (err, text, _) = mcp.tool(&w.owner, "create_pbi", json!({"product_id": w.product_id})).await;
        assert!(err);
        assert_eq!(text, "VALIDATION_ERROR: title: is required");
        let (err, text, _) = mcp.tool(&w.owner, "update_task_status", json!({"task_id": "T-1", "status": "doing"})).await;
        assert!(err);
        assert!(text.starts_with("VALIDATION_ERROR: status: "), "{text}");
        assert_eq!(mcp.count("pbis").await, before);
        // Someone else's product is not visible.
        let other = mcp.user("other", false).await;
        let (_, other) = mcp.token(&other).await;
        let (err, text, _) = mcp.tool(&other, "get_context", json!({"product_id": w.product_id})).await;
        assert!(err);
        assert!(text.starts_with("PERMISSION_DENIED: "), "{text}");
    }

    async fn an_agent_plans_and_finishes_a_task_and_the_story_is_promoted(t) {
        let mcp = Mcp::new(t, Profile::All).await;
        let w = mcp.world().await;
        let tok = w.owner.as_str();
        let (err, text, health) = mcp.tool(tok, "health", json!({})).await;
        assert!(!err, "{text}");
        assert_eq!(health["database"], "ok");
        assert!(text.contains("\n  \"status\": \"ok\""), "pretty JSON text: {text}");
        let (_, _, products) = mcp.tool(tok, "list_products", json!({})).await;
        assert_eq!(products["items"][0]["code"], "ROCKET");

        let (err, text, sprint) =
            mcp.tool(tok, "create_sprint", json!({"product_id": "ROCKET", "sprint_goal": "Lift off"})).await;
        assert!(!err, "{text}");
        let (err, text, pbi) = mcp.tool(tok, "create_pbi", json!({"product_id": "ROCKET", "title": "Engines"})).await;
        assert!(!err, "{text}");
        assert_eq!(pbi["code"], "PBI-1");
        let (err, text, story) = mcp
            .tool(tok, "create_story", json!({"pbi_id": pbi["code"], "title": "Ignite", "sprint_id": sprint["id"]}))
            .await;
        assert!(!err, "{text}");
        assert_eq!(story["code"], "ST-001");
        assert_eq!(story["status"], "in_sprint");
        let (err, text, task) = mcp
            .tool(tok, "create_task", json!({"story_id": "ST-001", "title": "Wire the igniter",
                "implementation_plan": "- src/igniter.rs"}))
            .await;
        assert!(!err, "{text}");
        assert_eq!(task["status"], "todo");

        let (_, _, ctx) = mcp.tool(tok, "get_context", json!({"product_id": "ROCKET"})).await;
        assert_eq!(ctx["active_sprint"]["id"], sprint["id"]);
        assert_eq!(ctx["next_story"]["code"], "ST-001");
        let (err, text, sc) =
            mcp.tool(tok, "get_sprint_context", json!({"sprint_id": sprint["id"], "task_id": task["code"]})).await;
        assert!(!err, "{text}");
        assert_eq!(sc["tasks"]["total"], 1);
        assert_eq!(sc["task"]["id"], task["id"]);

        let (err, text, r) =
            mcp.tool(tok, "update_task_status", json!({"task_id": task["id"], "status": "in_progress"})).await;
        assert!(!err, "{text}");
        assert_eq!(r["status"], "in_progress");
        let (err, text, _) = mcp
            .tool(tok, "update_task_plan", json!({"task_id": task["id"], "implementation_plan": "- src/igniter.rs\n- src/main.rs"}))
            .await;
        assert!(!err, "{text}");
        for (name, args) in [
            ("log_implementation", json!({"story_id": "ST-001", "content": "wired"})),
            ("log_test_result", json!({"story_id": "ST-001", "content": "cargo test", "status": "passed"})),
            ("log_commit", json!({"story_id": "ST-001", "content": "c", "commit_hash": "abc1234", "commit_message": "Wire"})),
        ] {
            let (err, text, _) = mcp.tool(tok, name, args).await;
            assert!(!err, "{name}: {text}");
        }
        assert_eq!(mcp.count("story_logs").await, 3);
        let (err, text, r) = mcp.tool(tok, "update_task_status", json!({"task_id": "T-1", "status": "done"})).await;
        assert!(!err, "{text}");
        assert_eq!(r["status"], "done");
        assert_eq!(r["story_status_change"], "promoted");
        assert_eq!(r["story_status"], "done");
        let (err, text, s) = mcp.tool(tok, "update_sprint", json!({"sprint_id": sprint["id"], "status": "closed"})).await;
        assert!(!err, "{text}");
        assert!(s.to_string().contains("closed"), "{s}");
    }

    async fn a_long_poll_whose_client_went_away_claims_nothing(t) {
        let mcp = Arc::new(Mcp::new(t, Profile::Core).await);
        let w = mcp.world().await;
        let tok = w.owner.clone();
        let actor = mcp.app().token_actor(&tok).await.expect("actor");
        let pbi = mcp
            .app()
            .create_pbi(&actor, &w.product_id, baton_app::backlog::pbis::NewPbi { title: "P".into(), ..Default::default() })
            .await
            .expect("pbi");
        let story = mcp
            .app()
            .create_story(&actor, &pbi.id, baton_app::backlog::stories::NewStory { title: "S".into(), ..Default::default() })
            .await
            .expect("story");
        let task = mcp
            .app()
            .create_task(&actor, &story.id, baton_app::backlog::tasks::NewTask { title: "T".into(), ..Default::default() })
            .await
            .expect("task")
            .task;

        // The HTTP request is dropped mid-wait, as when a worker stops while
        // it long-polls; a job started afterwards must stay in the queue.
        let waiter = {
            let (mcp, tok) = (mcp.clone(), tok.clone());
            tokio::spawn(async move { mcp.tool(&tok, "wait_for_job", json!({"wait_seconds": 30})).await })
        };
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        waiter.abort();
        assert!(waiter.await.is_err_and(|e| e.is_cancelled()), "the request was dropped");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        let job = mcp.app().enqueue_task_job(&actor, &task.id, Default::default()).await.expect("enqueue");
        tokio::time::sleep(std::time::Duration::from_millis(700)).await;
        let (err, text, again) = mcp.tool(&tok, "wait_for_job", json!({"wait_seconds": 1})).await;
        assert!(!err, "{text}");
        assert_eq!(again["job_id"], job.id.as_str(), "the job was still queued for the next waiter: {again}");
        assert_eq!(again["attempt"], 0, "claimed once: {again}");
    }

    async fn a_waiting_agent_gets_a_started_job_and_finishes_it_through_the_verify_gate(t) {
        let mcp = Arc::new(Mcp::new(t, Profile::Core).await);
        let w = mcp.world().await;
        let tok = w.owner.clone();
        let actor = mcp.app().token_actor(&tok).await.expect("actor");
        let sprint = mcp
            .app()
            .create_sprint(&actor, &w.product_id, baton_app::sprints::NewSprint { sprint_goal: "Go".into(), ..Default::default() })
            .await
            .expect("sprint");
        let pbi = mcp
            .app()
            .create_pbi(&actor, &w.product_id, baton_app::backlog::pbis::NewPbi { title: "P".into(), ..Default::default() })
            .await
            .expect("pbi");
        let story = mcp
            .app()
            .create_story(&actor, &pbi.id, baton_app::backlog::stories::NewStory {
                title: "S".into(),
                sprint_id: Some(sprint.id.clone()),
                ..Default::default()
            })
            .await
            .expect("story");
        let task = mcp
            .app()
            .create_task(&actor, &story.id, baton_app::backlog::tasks::NewTask {
                title: "T".into(),
                implementation_plan: Some("Change `src/engine.rs` to add ignition.".into()),
                ..Default::default()
            })
            .await
            .expect("task")
            .task;

        // The agent is already waiting when a person starts the job.
        let waiter = {
            let (mcp, tok) = (mcp.clone(), tok.clone());
            tokio::spawn(async move { mcp.tool(&tok, "wait_for_job", json!({"wait_seconds": 30})).await })
        };
        let (err, text, hb) = mcp.tool(&tok, "worker_heartbeat", json!({"last_quota_pct": 80})).await;
        assert!(!err, "{text}");
        assert_eq!(hb["last_quota_pct"], 80, "{hb}");
        tokio::task::yield_now().await;
        let job = mcp.app().enqueue_task_job(&actor, &task.id, Default::default()).await.expect("enqueue");
        let (err, text, claimed) = waiter.await.expect("waiter");
        assert!(!err, "{text}");
        assert_eq!(claimed["job_id"], job.id.as_str(), "{claimed}");
        assert_eq!(claimed["task"]["id"], task.id.as_str());
        let attempt = claimed["attempt"].clone();

        let (err, text, beat) = mcp.tool(&tok, "job_heartbeat", json!({"job_id": job.id, "attempt": attempt})).await;
        assert!(!err, "{text}");
        assert_eq!(beat["ok"], true);
        let (err, text, _) = mcp.tool(&tok, "update_job_status", json!({"job_id": job.id, "status": "running", "attempt": attempt})).await;
        assert!(!err, "{text}");
        let (err, text, r) = mcp.tool(&tok, "update_task_status", json!({"task_id": task.id, "status": "in_progress"})).await;
        assert!(!err, "{text}");
        assert_eq!(r["status"], "in_progress");

        // A person is asked and answers.
        let (err, text, q) = mcp
            .tool(&tok, "ask_user_question", json!({"task_id": task.code, "question": "Which fuel?", "options": ["A", "B"]}))
            .await;
        assert!(!err, "{text}");
        assert_eq!(q["status"], "open");
        let qid = q["id"].as_str().expect("question id").to_string();
        mcp.app()
            .answer_question(&actor, &qid, baton_app::questions::AnswerInput { answer: "B".into() })
            .await
            .expect("answer");
        let (err, text, a) = mcp.tool(&tok, "get_question_answer", json!({"question_id": qid})).await;
        assert!(!err, "{text}");
        assert_eq!((a["status"].as_str(), a["answer"].as_str()), (Some("answered"), Some("B")), "{a}");

        // Done is gated on a recorded verification.
        let diff = "diff --git a/src/engine.rs b/src/engine.rs\n--- a/src/engine.rs\n+++ b/src/engine.rs\n@@ -1 +1,2 @@\n fn main() {}\n+fn ignite() {}\n";
        let (err, text, v) = mcp.tool(&tok, "verify_task_against_plan", json!({"task_id": task.code, "diff": diff})).await;
        assert!(!err, "{text}");
        assert_eq!(v["verify_result"], "aligned", "{v}");
        let (err, text, done) = mcp
            .tool(&tok, "update_job_status", json!({"job_id": job.id, "status": "done", "attempt": attempt,
                "branch": "feat/x", "head_sha": "abc1234", "summary": "ignition"}))
            .await;
        assert!(!err, "{text}");
        assert_eq!(done["status"], "done", "{done}");
        assert_eq!(done["task_status"], "done");
        assert_eq!(done["next_action"], "queue_empty");
        let story = mcp.app().get_story(&actor, &story.id).await.expect("story");
        assert_eq!(serde_json::to_value(story.status).expect("status"), json!("done"));
        // A stale or finished claim cannot report again.
        let (err, text, _) = mcp.tool(&tok, "update_job_status", json!({"job_id": job.id, "status": "failed", "error": "late"})).await;
        assert!(err);
        assert!(text.contains("terminal state"), "{text}");
    }

    async fn stdio_serves_one_caller_until_the_client_closes_the_stream(t) {
        let mcp = Mcp::new(t, Profile::Core).await;
        let w = mcp.world().await;
        let actor = mcp.app().token_actor(&w.demo).await.expect("actor");
        let (mut lines, mut client_w, served) = stdio_client(&mcp, actor, Profile::Core, "stdio-test").await;
        send(&mut client_w, json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {
            "name": "get_context", "arguments": {"product_id": "ROCKET"}}})).await;
        let r: Value = serde_json::from_str(&lines.next_line().await.expect("read").expect("line")).expect("json");
        assert_eq!(r["result"]["structuredContent"]["product"]["code"], "ROCKET", "{r}");
        send(&mut client_w, json!({"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {
            "name": "update_task_status", "arguments": {"task_id": "T-1", "status": "done"}}})).await;
        let r: Value = serde_json::from_str(&lines.next_line().await.expect("read").expect("line")).expect("json");
        assert_eq!(r["result"]["isError"], true);
        assert!(r["result"]["content"][0]["text"].as_str().unwrap_or_default().starts_with("PERMISSION_DENIED: "));
        client_w.shutdown().await.expect("close stdin");
        let done = tokio::time::timeout(std::time::Duration::from_secs(10), served).await;
        assert!(matches!(done, Ok(Ok(Ok(())))), "stdio server did not stop on EOF: {done:?}");
    }

    async fn bodies_that_are_not_one_json_rpc_message_get_json_rpc_errors_not_415(t) {
        let mcp = Mcp::new(t, Profile::Core).await;
        let uid = mcp.user("ann", false).await;
        let (_, token) = mcp.token(&uid).await;
        let deep = format!("{}{}", "[".repeat(5000), "]".repeat(5000));
        let cases: Vec<(&str, Vec<u8>, i64)> = vec![
            ("malformed JSON", b"{\"jsonrpc\": \"2.0\", \"id\": 1,".to_vec(), -32700),
            ("invalid UTF-8", b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\xc3\x28\"}".to_vec(), -32700),
            ("deep nesting", deep.into_bytes(), -32700),
            ("batch array", br#"[{"jsonrpc":"2.0","id":1,"method":"ping"}]"#.to_vec(), -32600),
            ("not an object", b"\"ping\"".to_vec(), -32600),
            ("no jsonrpc", br#"{"id":1,"method":"ping"}"#.to_vec(), -32600),
            ("no method", br#"{"jsonrpc":"2.0","id":1}"#.to_vec(), -32600),
        ];
        for (what, body, code) in cases {
            let res = mcp.post_raw(Some(&token), body).await;
            assert_eq!(res.status, StatusCode::BAD_REQUEST, "{what}: {}", res.text);
            let ct = res.headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
            assert!(ct.starts_with("application/json"), "{what}: content type {ct}");
            let body = res.json();
            assert_eq!(body["jsonrpc"], "2.0", "{what}: {body}");
            assert_eq!(body["id"], Value::Null, "{what}: {body}");
            assert_eq!(body["error"]["code"], code, "{what}: {body}");
            assert!(body["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "{what}: {body}");
        }
        // Params that are not an object: invalid params, with the request's id.
        let res = mcp.post(Some(&token), &json!({"jsonrpc": "2.0", "id": 9, "method": "tools/call", "params": 5})).await;
        assert_eq!(res.status, StatusCode::BAD_REQUEST, "{}", res.text);
        assert_eq!((res.json()["id"].clone(), res.json()["error"]["code"].clone()), (json!(9), json!(-32602)));
        // Authentication still comes first, and a valid message still works.
        let res = mcp.post_raw(None, b"[".to_vec()).await;
        assert_eq!(res.status, StatusCode::UNAUTHORIZED);
        assert_eq!(mcp.post(Some(&token), &json!({"jsonrpc": "2.0", "id": 1, "method": "ping"})).await.status, StatusCode::OK);
        // Another media type is still rmcp's 415.
        let req = Request::builder()
            .method(Method::POST)
            .uri("/mcp")
            .header(header::HOST, HOST)
            .header(header::ACCEPT, "application/json, text/event-stream")
            .header(header::CONTENT_TYPE, "text/plain")
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .body(Body::from("ping"))
            .expect("request");
        assert_eq!(mcp.send(req).await.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    }

    async fn a_refused_token_gets_an_rfc_6750_invalid_token_challenge(t) {
        let mcp = Mcp::new(t, Profile::Core).await;
        let body = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"});
        let challenge = |res: &Res| {
            res.headers.get(header::WWW_AUTHENTICATE).and_then(|v| v.to_str().ok()).unwrap_or_default().to_string()
        };
        // No credentials at all: a bare challenge, no error (RFC 6750 §3.1).
        assert_eq!(challenge(&mcp.post(None, &body).await), "Bearer");
        let wrong = mcp.post(Some("baton_not-a-real-token"), &body).await;
        assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
        let c = challenge(&wrong);
        assert!(c.starts_with("Bearer error=\"invalid_token\", error_description=\"Invalid or revoked token"), "{c}");
        assert!(c.ends_with('"'), "{c}");
        let uid = mcp.user("ann", false).await;
        let (id, token) = mcp.token(&uid).await;
        let actor = mcp.app().token_actor(&token).await.expect("actor");
        mcp.app().revoke_token(&actor, &id).await.expect("revoke");
        let revoked = mcp.post(Some(&token), &body).await;
        assert_eq!(revoked.status, StatusCode::UNAUTHORIZED);
        assert!(challenge(&revoked).starts_with("Bearer error=\"invalid_token\", error_description=\""), "{}", challenge(&revoked));
    }

    async fn a_nul_character_in_any_argument_is_a_validation_error_and_writes_nothing(t) {
        let mcp = Mcp::new(t, Profile::All).await;
        let w = mcp.world().await;
        let before = mcp.count("pbis").await;
        let (err, text, _) = mcp
            .tool(&w.owner, "create_pbi", json!({"product_id": w.product_id, "title": "Rocket\u{0000}engine"}))
            .await;
        assert!(err);
        assert_eq!(text, format!("VALIDATION_ERROR: title: {}", baton_domain::validation::NUL_MESSAGE));
        assert_eq!(mcp.count("pbis").await, before);
        // Nested values are named by their path, for every tool alike.
        let (err, text, _) = mcp
            .tool(&w.owner, "log_implementation", json!({"story_id": "ST-001", "content": "x", "metadata": {"files": ["a", "b\u{0000}"]}}))
            .await;
        assert!(err);
        assert!(text.starts_with("VALIDATION_ERROR: metadata.files.1: "), "{text}");
        // The same title without the NUL is stored.
        let (err, text, _) = mcp.tool(&w.owner, "create_pbi", json!({"product_id": w.product_id, "title": "Rocket engine"})).await;
        assert!(!err, "{text}");
        assert_eq!(mcp.count("pbis").await, before + 1);
    }

    async fn both_transports_answer_tools_list_with_the_snapshotted_catalog(t) {
        let mcp = Mcp::new(t, Profile::All).await;
        let w = mcp.world().await;
        let list = mcp.rpc(&w.owner, "tools/list", json!({})).await;
        let expected = serde_json::to_value(baton_mcp::tool_list(Profile::All, baton_mcp::Transport::Http)).expect("json");
        assert_eq!(list["tools"], expected);

        let actor = mcp.app().token_actor(&w.owner).await.expect("actor");
        let (mut lines, mut client_w, served) = stdio_client(&mcp, actor, Profile::Core, "stdio-list").await;
        send(&mut client_w, json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"})).await;
        let r: Value = serde_json::from_str(&lines.next_line().await.expect("read").expect("line")).expect("json");
        let expected = serde_json::to_value(baton_mcp::tool_list(Profile::Core, baton_mcp::Transport::Stdio)).expect("json");
        assert_eq!(r["result"]["tools"], expected);
        client_w.shutdown().await.expect("close stdin");
        let done = tokio::time::timeout(std::time::Duration::from_secs(10), served).await;
        assert!(matches!(done, Ok(Ok(Ok(())))), "{done:?}");
    }
}
