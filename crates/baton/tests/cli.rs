//! End-to-end tests of the `baton` command line, run as a real process:
//! `migrate`, `user …`, `token …`, `demo`, and the one-line start-up errors.
//! Every database test runs on SQLite and on Postgres (`backend_tests!`).

mod common;

use baton_store::Backend;
use baton_testkit::backend_tests;
use common::*;

backend_tests! {
    /// `baton migrate` twice on a database that has never been migrated:
    /// both succeed, the second applies nothing.
    async fn migrate_twice_on_an_empty_database(t) {
        let scratch = Scratch::new();
        // The harness database is migrated already; make a truly empty one.
        let (url, _pg) = match t.backend {
            Backend::Sqlite => {
                let url = format!("sqlite://{}?mode=rwc", scratch.path.join("fresh.db").display());
                (url, None)
            }
            Backend::Postgres => {
                let db = EmptyPgDb::create().await;
                (db.url.clone(), Some(db))
            }
        };
        let baton = Baton::new(&url);
        let first = baton.run(&["migrate"]).await;
        first.success();
        assert_eq!(first.stdout, "", "migrate prints nothing on stdout");
        let applied = applied_migrations(&url).await;
        assert!(!applied.is_empty(), "the first migrate applied migrations");

        let second = baton.run(&["migrate"]).await;
        second.success();
        assert_eq!(applied_migrations(&url).await, applied, "the second migrate must be a no-op");
        // The schema is usable: an empty user list.
        assert_eq!(baton.users().await, Vec::<serde_json::Value>::new());
    }

    /// User creation: stdout is only the id, the list shows the role, and
    /// every refusal is one `error:` line.
    async fn user_create_and_its_errors(t) {
        let baton = Baton::new(&t.url);
        let r = baton
            .run_stdin(&["user", "create", "--username", "alice", "--admin", "--password-stdin"], Some("s3cret-pass\n"))
            .await;
        r.success();
        assert_eq!(r.stdout.lines().count(), 1, "stdout must be one line: {:?}", r.stdout);
        assert!(r.stdout.ends_with('\n'));
        let id = r.stdout.trim_end();
        uuid::Uuid::parse_str(id).unwrap_or_else(|e| panic!("stdout {id:?} is not a UUID: {e}"));
        assert!(!r.stderr.contains("s3cret-pass"), "the password must never be echoed");

        let users = baton.users().await;
        assert_eq!(users.len(), 1, "{users:?}");
        let alice = &users[0];
        assert_eq!(alice["username"], "alice");
        assert_eq!(alice["id"], id);
        assert_eq!(roles(alice), vec!["admin"]);
        assert_eq!(alice["is_admin"], true);
        assert_eq!(alice["is_demo"], false);
        assert!(alice.get("password_hash").is_none(), "no hash in the listing");

        // Same username again.
        let dup = baton
            .run_stdin(&["user", "create", "--username", "alice", "--password-stdin"], Some("another-pass\n"))
            .await;
        let line = dup.one_error_line();
        assert!(line.contains("username"), "{line}");

        // Too short a password.
        let short = baton.run_stdin(&["user", "create", "--username", "bob", "--password-stdin"], Some("short\n")).await;
        let line = short.one_error_line();
        assert!(line.contains("password"), "{line}");

        // Unknown role: the message lists the valid ones.
        let wizard = baton
            .run_stdin(
                &["user", "create", "--username", "carol", "--role", "wizard", "--password-stdin"],
                Some("s3cret-pass\n"),
            )
            .await;
        let line = wizard.one_error_line();
        assert!(line.contains("wizard"), "{line}");
        for role in ["product_owner", "scrum_master", "developer", "admin", "client", "analyst", "pm", "architect", "ux", "qa"]
        {
            assert!(line.contains(role), "`{role}` missing from {line}");
        }

        // No password on stdin and no terminal: refused, not hung.
        let no_tty = baton.run(&["user", "create", "--username", "dave"]).await;
        let line = no_tty.one_error_line();
        assert!(line.contains("--password-stdin"), "{line}");

        // None of the refused users exist.
        let names: Vec<String> = baton.users().await.iter().map(|u| u["username"].as_str().unwrap_or_default().to_string()).collect();
        assert_eq!(names, vec!["alice"]);
    }

    /// Token create / list / revoke: only the secret on stdout, the rest on stderr.
    async fn token_create_list_revoke(t) {
        let baton = Baton::new(&t.url);
        baton.create_user("alice", PASSWORD, &["--admin"]).await;

        let r = baton.run(&["token", "create", "--user", "alice", "--label", "ci"]).await;
        r.success();
        assert_eq!(r.stdout.lines().count(), 1, "stdout must be only the token: {:?}", r.stdout);
        let token = r.stdout.trim_end();
        assert!(token.starts_with("baton_"), "{token}");
        assert!(token.len() > "baton_".len() + 16, "a real secret: {token}");
        assert!(!r.stderr.is_empty(), "the notice goes to stderr");
        assert!(!r.stderr.contains(token), "the secret must not be repeated on stderr");

        let list = baton.run(&["token", "list", "--user", "alice", "--json"]).await;
        list.success();
        let tokens = list.json();
        let tokens = tokens.as_array().expect("an array");
        assert_eq!(tokens.len(), 1, "{tokens:?}");
        let t0 = &tokens[0];
        assert_eq!(t0["label"], "ci");
        assert_eq!(t0["active"], true);
        assert!(t0["revoked_at"].is_null());
        let prefix = t0["prefix"].as_str().expect("prefix");
        assert!(token.starts_with(prefix), "prefix {prefix} is the start of the token");
        assert!(!list.stdout.contains(token), "the secret is never listed");
        let id = t0["id"].as_str().expect("id").to_string();
        assert!(r.stderr.contains(&id), "the notice names the token id: {}", r.stderr);

        let rev = baton.run(&["token", "revoke", &id]).await;
        rev.success();
        assert_eq!(rev.stdout, "");

        let list = baton.run(&["token", "list", "--user", "alice", "--json"]).await;
        list.success();
        let t0 = &list.json()[0];
        assert_eq!(t0["id"], id.as_str());
        assert!(t0["revoked_at"].is_string(), "revoked_at is set: {t0}");
        assert_eq!(t0["active"], false);

        // Unknown token id and unknown user: one error line each.
        baton.run(&["token", "revoke", "no-such-token"]).await.one_error_line();
        let line = baton.run(&["token", "create", "--user", "nobody", "--label", "x"]).await.one_error_line().to_string();
        assert!(line.contains("nobody"), "{line}");
    }

    /// passwd, grant and revoke, as seen by `user list --json` and by a
    /// served login with the new password.
    async fn user_passwd_grant_revoke(t) {
        let baton = Baton::new(&t.url);
        baton.create_user("alice", PASSWORD, &["--admin"]).await;

        let new_password = "brand-new-password";
        let r = baton
            .run_stdin(&["user", "passwd", "alice", "--password-stdin", "--must-reset"], Some(&format!("{new_password}\n")))
            .await;
        r.success();
        assert_eq!(r.stdout, "");
        assert_eq!(baton.user("alice").await["must_reset_password"], true);
        baton
            .run_stdin(&["user", "passwd", "alice", "--password-stdin"], Some(&format!("{new_password}\n")))
            .await
            .success();
        assert_eq!(baton.user("alice").await["must_reset_password"], false);

        let short = baton.run_stdin(&["user", "passwd", "alice", "--password-stdin"], Some("tiny\n")).await;
        assert!(short.one_error_line().contains("password"));
        baton
            .run_stdin(&["user", "passwd", "nobody", "--password-stdin"], Some(&format!("{new_password}\n")))
            .await
            .one_error_line();

        let g = baton.run(&["user", "grant", "alice", "qa"]).await;
        g.success();
        assert!(g.stdout.contains("alice") && g.stdout.contains("qa"), "{}", g.stdout);
        let mut r = roles(&baton.user("alice").await);
        r.sort();
        assert_eq!(r, vec!["admin", "qa"]);
        // Granting again is a no-op.
        baton.run(&["user", "grant", "alice", "qa"]).await.success();
        assert_eq!(roles(&baton.user("alice").await).len(), 2);

        let v = baton.run(&["user", "revoke", "alice", "qa"]).await;
        v.success();
        assert_eq!(roles(&baton.user("alice").await), vec!["admin"]);
        assert!(baton.run(&["user", "grant", "alice", "wizard"]).await.one_error_line().contains("product_owner"));

        // The changed password is the one that logs in.
        let server = baton.serve().await;
        let old = server.post_form("/login", &[("username", "alice"), ("password", PASSWORD)], &[]).await;
        assert_ne!(old.status, 303, "the old password must no longer work");
        assert!(old.session_cookie().is_none());
        let cookie = server.login("alice", new_password).await;
        let me = server.get("/api/me", &[("Cookie", &cookie)]).await;
        assert_eq!(me.status, 200, "{me:?}");
        assert_eq!(me.json()["username"], "alice");
    }

    /// `baton demo` is idempotent, and the demo account is read-only over the API.
    async fn demo_seed_is_idempotent_and_read_only(t) {
        let baton = Baton::new(&t.url);
        let first = baton.run(&["demo"]).await;
        first.success();
        assert!(first.stderr.contains("demo1234"), "tells how to log in: {}", first.stderr);
        assert!(!first.stderr.contains("nothing changed"), "{}", first.stderr);
        let second = baton.run(&["demo"]).await;
        second.success();
        assert!(second.stderr.contains("nothing changed"), "the second run says nothing changed: {}", second.stderr);
        let demos: Vec<_> = baton.users().await.into_iter().filter(|u| u["username"] == "demo").collect();
        assert_eq!(demos.len(), 1, "exactly one demo user after two runs");
        assert_eq!(demos[0]["is_demo"], true);

        let server = baton.serve().await;
        let cookie = server.login("demo", "demo1234").await;
        let me = server.get("/api/me", &[("Cookie", &cookie)]).await;
        assert_eq!(me.status, 200, "{me:?}");
        assert_eq!(me.json()["username"], "demo");
        assert_eq!(me.json()["is_demo"], true);

        let origin = server.origin();
        let body = br#"{"label":"sneaky"}"#;
        let r = server
            .request(
                "POST",
                "/api/tokens",
                &[("Cookie", &cookie), ("Origin", &origin), ("Content-Type", "application/json")],
                Some(body),
            )
            .await;
        assert_eq!(r.status, 403, "{r:?}");
        assert_eq!(r.json()["error"]["code"], "demo_read_only", "{r:?}");
        // Nothing was created.
        let list = server.get("/api/tokens", &[("Cookie", &cookie)]).await;
        assert_eq!(list.status, 200, "{list:?}");
        assert_eq!(list.json(), serde_json::json!([]));
    }

    /// The port-in-use error is one line, whatever the backend.
    async fn serve_reports_a_port_in_use_in_one_line(t) {
        let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a port");
        let addr = taken.local_addr().expect("local address").to_string();
        let baton = Baton::new(&t.url);
        let r = baton.run(&["serve", "--bind", &addr]).await;
        let line = r.one_error_line();
        assert!(line.contains(&addr), "{line}");
        assert!(line.to_lowercase().contains("in use"), "{line}");
        drop(taken);
    }
}

/// An unsupported URL scheme is refused in one line, for admin commands and serve.
#[tokio::test]
async fn bad_database_url_is_one_line() {
    let scratch = Scratch::new();
    for args in [
        &["--database-url", "mysql://x", "migrate"][..],
        &["--database-url", "mysql://x", "user", "list"][..],
        &["--database-url", "mysql://x", "serve", "--bind", "127.0.0.1:0"][..],
    ] {
        let r = run_in(&scratch.path, args, None).await;
        let line = r.one_error_line();
        assert!(line.contains("mysql://x"), "{line}");
        assert!(line.contains("sqlite://") && line.contains("postgres://"), "names the supported schemes: {line}");
    }
}

/// An unreachable Postgres is one line naming the (redacted) URL, never the password.
#[tokio::test]
async fn unreachable_postgres_is_one_line_without_the_password() {
    let scratch = Scratch::new();
    let url = "postgres://postgres:hunter2@127.0.0.1:1/x";
    for args in
        [&["--database-url", url, "migrate"][..], &["--database-url", url, "serve", "--bind", "127.0.0.1:0"][..]]
    {
        let started = std::time::Instant::now();
        let r = run_in(&scratch.path, args, None).await;
        let line = r.one_error_line();
        eprintln!("unreachable Postgres reported after {:?}: {line}", started.elapsed());
        assert!(line.contains("127.0.0.1:1"), "names the server: {line}");
        assert!(!line.contains("hunter2"), "the password leaked: {line}");
    }
}

/// A data directory that cannot be created or written is one line.
#[tokio::test]
async fn unwritable_data_dir_is_one_line() {
    let scratch = Scratch::new();
    let file = scratch.path.join("a-file");
    std::fs::write(&file, b"not a directory").expect("write a file");
    let under_file = file.join("data");
    let under_file = under_file.to_str().expect("UTF-8 path");
    for dir in ["/proc/baton-test", under_file] {
        for cmd in [&["migrate"][..], &["serve", "--bind", "127.0.0.1:0"][..]] {
            let mut args = vec!["--data-dir", dir];
            args.extend_from_slice(cmd);
            let r = run_in(&scratch.path, &args, None).await;
            let line = r.one_error_line();
            assert!(line.contains(dir), "names the directory: {line}");
        }
    }
    // Nothing was created in the working directory either.
    let entries: Vec<_> = std::fs::read_dir(&scratch.path).expect("list scratch").collect();
    assert_eq!(entries.len(), 1, "only the file we made: {entries:?}");
}

/// Without `--database-url`, the SQLite database lands in `--data-dir`, and
/// `BATON_DATABASE_URL` works like the flag.
#[tokio::test]
async fn data_dir_and_env_url() {
    let scratch = Scratch::new();
    let data = scratch.path.join("data");
    let data_s = data.to_str().expect("UTF-8 path");
    run_in(&scratch.path, &["--data-dir", data_s, "migrate"], None).await.success();
    assert!(data.join("baton.db").is_file(), "the SQLite file is in the data dir");

    let r = run_in(
        &scratch.path,
        &["--data-dir", data_s, "user", "create", "--username", "erin", "--password-stdin"],
        Some(&format!("{PASSWORD}\n")),
    )
    .await;
    r.success();

    let url = format!("sqlite://{}?mode=rwc", data.join("baton.db").display());
    let mut cmd = command(&scratch.path);
    let out = cmd
        .env("BATON_DATABASE_URL", &url)
        .args(["user", "list", "--json"])
        .output()
        .await
        .expect("run baton with BATON_DATABASE_URL");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let users: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(users[0]["username"], "erin");
}
