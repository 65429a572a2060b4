//! End-to-end tests of `baton serve` run as a real process: start-up and
//! health, graceful SIGTERM shutdown, and the scale-out acceptance scenario
//! (two servers on one database sharing sessions and tokens). Every test
//! runs on SQLite and on Postgres (`backend_tests!`).

mod common;

use std::time::Duration;

use baton_testkit::backend_tests;
use common::*;

backend_tests! {
    /// Serve on port 0, answer `/api/health`, exit 0 on SIGTERM.
    async fn serve_is_healthy_and_stops_on_sigterm(t) {
        let baton = Baton::new(&t.url);
        let mut server = baton.serve().await;
        assert_eq!(server.base, format!("http://127.0.0.1:{}", server.port));
        let health = server.wait_healthy(Duration::from_secs(30)).await;
        let to_healthy = server.spawned.elapsed();
        eprintln!("[{:?}] spawn to first healthy response: {to_healthy:?}", t.backend);
        assert_eq!(health.status, 200);
        let body = health.json();
        assert_eq!(body["status"], "ok", "{body}");
        assert!(body["version"].is_string(), "{body}");
        assert!(health.header("content-type").is_some_and(|c| c.starts_with("application/json")), "{health:?}");

        let db = server.get("/api/health?db=1", &[]).await;
        assert_eq!(db.status, 200, "{db:?}");
        assert_eq!(db.json()["database"], "ok");

        // Unknown API routes answer the JSON error shape; protected ones need auth.
        let missing = server.get("/api/no-such-route", &[]).await;
        assert_eq!(missing.status, 404);
        assert_eq!(missing.json()["error"]["code"], "route_not_found");
        let me = server.get("/api/me", &[]).await;
        assert_eq!(me.status, 401, "{me:?}");
        assert_eq!(me.json()["error"]["code"], "unauthorized");

        // The running server and `baton openapi` publish one document, whose
        // paths resolve against its `/api` server entry.
        let served = server.get("/api/openapi.json", &[]).await;
        assert_eq!(served.status, 200, "{served:?}");
        let printed = baton.run(&["openapi"]).await;
        printed.success();
        let printed: serde_json::Value = serde_json::from_str(&printed.stdout).expect("baton openapi prints JSON");
        assert_eq!(served.json(), printed, "served document differs from `baton openapi`");
        assert_eq!(printed["servers"][0]["url"], "/api");

        let (status, took) = server.terminate(Duration::from_secs(10)).await;
        eprintln!("[{:?}] SIGTERM to exit: {took:?}", t.backend);
        assert!(status.success(), "exit status after SIGTERM: {status:?}; log:\n{}", server.log_text());
        assert_no_panic(&server.log_text());
    }

    /// An idle keep-alive connection (as a browser leaves open) must not hold
    /// up a graceful shutdown.
    async fn sigterm_is_not_held_up_by_an_idle_keep_alive_connection(t) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};

        let baton = Baton::new(&t.url);
        let mut server = baton.serve().await;
        let mut conn = tokio::net::TcpStream::connect(("127.0.0.1", server.port)).await.expect("connect");
        conn.write_all(format!("GET /api/health HTTP/1.1\r\nHost: 127.0.0.1:{}\r\n\r\n", server.port).as_bytes())
            .await
            .expect("send a keep-alive request");
        let mut buf = vec![0u8; 4096];
        let n = tokio::time::timeout(Duration::from_secs(30), conn.read(&mut buf))
            .await
            .expect("an answer in time")
            .expect("read the answer");
        let head = String::from_utf8_lossy(&buf[..n]).to_string();
        assert!(head.starts_with("HTTP/1.1 200"), "{head}");
        // The connection stays open and idle while the server is told to stop.
        let (status, took) = server.terminate(Duration::from_secs(10)).await;
        eprintln!("[{:?}] SIGTERM to exit with an idle keep-alive connection: {took:?}", t.backend);
        assert!(status.success(), "{status:?}; log:\n{}", server.log_text());
        drop(conn);
    }

    /// The acceptance scenario: two servers on one database; the first-run
    /// setup on A gives a session that B honours; a CLI token works on both.
    async fn two_servers_share_sessions_and_tokens(t) {
        let baton = Baton::new(&t.url);
        let a = baton.serve().await;
        let b = baton.serve().await;
        assert_ne!(a.port, b.port);

        // A fresh installation sends visitors to the first-run page.
        let home = a.get("/", &[]).await;
        assert_eq!(home.status, 303, "{home:?}");
        assert_eq!(home.header("location"), Some("/setup"));
        let setup_page = b.get("/setup", &[]).await;
        assert_eq!(setup_page.status, 200, "{setup_page:?}");

        let password = "first-admin-password";
        let r = a
            .post_form(
                "/setup",
                &[
                    ("username", "root"),
                    ("email", "root@example.com"),
                    ("password", password),
                    ("password_confirm", password),
                ],
                &[],
            )
            .await;
        assert_eq!(r.status, 303, "{r:?}");
        let set_cookie = r.header("set-cookie").expect("a Set-Cookie header");
        assert!(set_cookie.contains("HttpOnly") && set_cookie.contains("SameSite=Lax"), "{set_cookie}");
        let cookie = r.session_cookie().expect("a baton_session cookie");

        // The session, made on A, is honoured by B (sessions live in the database).
        let me_b = b.get("/api/me", &[("Cookie", &cookie)]).await;
        assert_eq!(me_b.status, 200, "{me_b:?}; log of B:\n{}", b.log_text());
        let me = me_b.json();
        assert_eq!(me["username"], "root");
        assert_eq!(me["is_admin"], true);
        assert_eq!(me["is_demo"], false);
        assert_eq!(a.get("/api/me", &[("Cookie", &cookie)]).await.json()["username"], "root");

        // Set-up is over, on both servers: a second attempt is not an admin.
        let again = b
            .post_form(
                "/setup",
                &[("username", "intruder"), ("email", "i@example.com"), ("password", password), ("password_confirm", password)],
                &[],
            )
            .await;
        assert!(again.session_cookie().is_none(), "a second set-up must not log anyone in: {again:?}");
        assert_eq!(baton.users().await.len(), 1, "no second user was created");
        assert_eq!(b.get("/setup", &[]).await.header("location"), Some("/login"));

        // A cross-site form post is refused.
        let forged = a
            .request(
                "POST",
                "/api/tokens",
                &[("Cookie", &cookie), ("Origin", "http://evil.example"), ("Content-Type", "application/json")],
                Some(br#"{"label":"forged"}"#),
            )
            .await;
        assert_eq!(forged.status, 403, "{forged:?}");
        assert_eq!(forged.json()["error"]["code"], "csrf_failed");

        // A CLI token for that admin works on both servers.
        let token = baton.create_token("root", "e2e").await;
        let bearer = format!("Bearer {token}");
        for server in [&a, &b] {
            let r = server.get("/api/me", &[("Authorization", &bearer)]).await;
            assert_eq!(r.status, 200, "{r:?}");
            assert_eq!(r.json()["username"], "root");
        }

        // Revoked from the command line, it stops working on both at once.
        let id = baton.run(&["token", "list", "--user", "root", "--json"]).await.json()[0]["id"]
            .as_str()
            .expect("token id")
            .to_string();
        baton.run(&["token", "revoke", &id]).await.success();
        for server in [&a, &b] {
            let r = server.get("/api/me", &[("Authorization", &bearer)]).await;
            assert_eq!(r.status, 401, "{r:?}");
        }
        // The browser session is unaffected.
        assert_eq!(b.get("/api/me", &[("Cookie", &cookie)]).await.status, 200);

        // Logging out on B ends the session on A too.
        let out = b.post_form("/logout", &[], &[("Cookie", &cookie)]).await;
        assert_eq!(out.status, 303, "{out:?}");
        assert_eq!(a.get("/api/me", &[("Cookie", &cookie)]).await.status, 401);

        assert_no_panic(&a.log_text());
        assert_no_panic(&b.log_text());
    }
}
