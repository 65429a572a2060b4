//! `baton mcp` forwarding to a remote server (`BATON_URL`), with real
//! processes: `baton serve` on a database, and `baton mcp --url` with no
//! database of its own, spoken to over stdio. On SQLite and Postgres.
//!
//! - The token is checked at start: a refused token, an unreachable server
//!   or a bad URL is exit 1 with one `error:` line, and no worker appears.
//! - The worker (with this process's runtime, tier, capabilities, pid) is
//!   registered before serving, keeps its identity through heartbeats and
//!   is taken offline on stdin EOF (exit 0) or SIGTERM.
//! - `tools/list` shows the stdio schemas of the worktree tools; remote
//!   tools work; requests run concurrently (a pending `wait_for_job` does
//!   not hold up `ping` or `health`) and ids come back unchanged.

mod common;

use std::time::{Duration, Instant};

use baton_testkit::backend_tests;
use common::{mcp::*, *};
use serde_json::{Value, json};

backend_tests! {
    async fn forwarding_serves_the_remote_tools_as_this_worker_and_goes_offline_at_eof(t) {
        let (baton, server, tokens) = agent_server(&t.url, &["rest", "laptop"]).await;
        let (dir, token) = (baton.scratch.path.clone(), &tokens[1]);
        let mut rest = Rest::new(server.port, &tokens[0]);
        backlog(&mut rest, "FWD").await;

        let args = ["--instance-id", "laptop-1", "--runtime", "codex", "--tier", "high_p", "--capabilities", "deploy,gpu"];
        let mut p = McpStdio::start(Mode::Forward(&server.base), &dir, token, &args).await;

        // Registered before serving, as this process.
        let w = worker(&mut rest, "laptop-1").await.expect("the forwarding worker is listed after the handshake");
        assert_eq!((w["runtime"].as_str(), w["tier"].as_str()), (Some("codex"), Some("high_p")), "{w}");
        assert_eq!(w["capabilities"], json!(["deploy", "gpu"]), "{w}");
        assert_eq!((w["pid"].as_u64(), w["active"].as_bool()), (Some(u64::from(p.pid)), Some(true)), "{w}");

        // The worktree tools show their stdio schemas; the rest is the server's.
        let tools = p.tools().await;
        let verify = properties(&tools["verify_task_against_plan"]);
        assert!(verify.contains(&"worktree_path".to_string()) && !verify.contains(&"diff".to_string()), "{verify:?}");
        assert!(properties(&tools["update_job_status"]).contains(&"worktree_path".to_string()));
        assert!(tools.contains_key("wait_for_job") && tools.contains_key("list_products"), "{:?}", tools.keys());

        let products = p.call("list_products", json!({})).await;
        let products = products.ok("list_products");
        assert_eq!(products["items"][0]["code"], "FWD", "{products}");
        // A tool error comes back as a tool error, not a protocol error.
        let bad = p.call("get_context", json!({"product_id": "NOPE"})).await;
        assert!(bad.is_error, "{bad:?}");

        // Concurrency: a long poll in flight does not hold up other calls.
        let started = Instant::now();
        let waiting = p.send_call("wait_for_job", json!({"wait_seconds": 3})).await;
        let ping = p.send("ping", json!({})).await;
        let pong = p.read(&json!(ping), Duration::from_secs(10)).await;
        assert_eq!(pong["result"], json!({}), "{pong}");
        let health = p.call("health", json!({})).await;
        assert_eq!(health.ok("health")["status"], "ok");
        assert!(started.elapsed() < Duration::from_millis(2500), "ping and health waited for the long poll: {:?}", started.elapsed());
        // String ids are passed through unchanged.
        p.line(json!({"jsonrpc": "2.0", "id": "req-x", "method": "tools/call", "params": {"name": "health", "arguments": {}}})).await;
        let by_name = p.read(&json!("req-x"), Duration::from_secs(30)).await;
        assert_eq!(by_name["result"]["structuredContent"]["status"], "ok", "{by_name}");
        let timeout = p.recv("wait_for_job", waiting, Duration::from_secs(30)).await;
        assert_eq!(timeout.ok("wait_for_job")["status"], "timeout");
        assert!(started.elapsed() >= Duration::from_secs(3), "the wait lasted {:?}", started.elapsed());
        let waits = server.log_text();
        assert!(waits.contains("wait_for_job"), "the long poll ran on the server: {waits}");

        // A heartbeat keeps this worker's identity and records the quota.
        p.call("worker_heartbeat", json!({"last_quota_pct": 55})).await.ok("worker_heartbeat");
        let w = worker(&mut rest, "laptop-1").await.expect("still listed");
        assert_eq!((w["runtime"].as_str(), w["tier"].as_str(), w["last_quota_pct"].as_i64()),
            (Some("codex"), Some("high_p"), Some(55)), "{w}");
        assert_eq!(w["capabilities"], json!(["deploy", "gpu"]), "{w}");
        assert_eq!(w["pid"].as_u64(), Some(u64::from(p.pid)), "{w}");
        let all = rest.get_ok("/api/workers").await;
        assert_eq!(all.as_array().map(Vec::len), Some(1), "one worker, not one per call: {all}");

        // EOF: a clean exit, and the worker is gone.
        let status = p.close(Duration::from_secs(20)).await;
        assert_eq!(status.code(), Some(0), "exit status {status:?}; log:\n{}", p.log_text());
        assert!(worker(&mut rest, "laptop-1").await.is_none(), "the worker went offline");
        assert!(!process_exists(p.pid) || descendants(p.pid).is_empty());
    }

    async fn sigterm_ends_a_forwarding_process_with_a_pending_long_poll(t) {
        let (baton, server, tokens) = agent_server(&t.url, &["laptop"]).await;
        let (dir, token) = (baton.scratch.path.clone(), &tokens[0]);
        let mut rest = Rest::new(server.port, token);
        let mut p = McpStdio::start(Mode::Forward(&server.base), &dir, token, &["--instance-id", "term-1"]).await;
        assert!(worker(&mut rest, "term-1").await.is_some());
        let _waiting = p.send_call("wait_for_job", json!({"wait_seconds": 120})).await;
        // Lines are read in order: once the ping is answered, the long poll is in flight.
        let ping = p.send("ping", json!({})).await;
        p.read(&json!(ping), Duration::from_secs(10)).await;
        let sent = Instant::now();
        let kill = std::process::Command::new("kill").args(["-TERM", &p.pid.to_string()]).status().expect("run kill");
        assert!(kill.success());
        let status = p.wait(Duration::from_secs(15)).await;
        assert_eq!(status.code(), Some(0), "exit status {status:?}; log:\n{}", p.log_text());
        assert!(sent.elapsed() < Duration::from_secs(12), "SIGTERM took {:?}", sent.elapsed());
        assert!(worker(&mut rest, "term-1").await.is_none(), "the worker went offline");
    }

    async fn a_refused_token_or_an_unreachable_server_is_one_error_line(t) {
        let (baton, server, tokens) = agent_server(&t.url, &["laptop"]).await;
        let (dir, token) = (baton.scratch.path.clone(), &tokens[0]);
        let mut rest = Rest::new(server.port, token);
        let unreachable = {
            // A port that was free a moment ago: nothing listens there.
            let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
            let port = l.local_addr().expect("addr").port();
            drop(l);
            format!("http://127.0.0.1:{port}")
        };
        let cases = [
            (server.base.clone(), "not-a-token".to_string(), "BATON_TOKEN refused"),
            (unreachable, token.clone(), "cannot reach Baton"),
            ("ftp://example.invalid".to_string(), token.clone(), "BATON_URL must start with http"),
        ];
        for (url, tok, expected) in cases {
            let (child, log) = spawn(Mode::Forward(&url), &dir, &tok, &["--instance-id", "never"]);
            let out = tokio::time::timeout(Duration::from_secs(30), child.wait_with_output())
                .await
                .expect("exits at once")
                .expect("wait");
            let stderr = std::fs::read_to_string(&log).unwrap_or_default();
            assert_eq!(out.status.code(), Some(1), "{url}: {stderr}");
            assert!(out.stdout.is_empty(), "nothing on the protocol stream: {:?}", String::from_utf8_lossy(&out.stdout));
            let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
            assert_eq!(lines.len(), 1, "{url}: one line expected: {stderr}");
            assert!(lines[0].starts_with("error: ") && lines[0].contains(expected), "{url}: {stderr}");
            assert_no_panic(&stderr);
        }
        assert!(worker(&mut rest, "never").await.is_none(), "no worker registered");
        let none: Value = rest.get_ok("/api/workers").await;
        assert_eq!(none, json!([]));
    }
}
