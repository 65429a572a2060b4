//! The login rate limits over real data, on both backends: per IP and
//! username (guessing one account's password) and per IP over every
//! username (password spraying). Both are counted in `login_attempts`, so
//! they hold across instances sharing the database.

mod common;

use baton_app::{App, AppConfig, AppError, sessions::ClientInfo};
use baton_testkit::backend_tests;
use common::user;

fn from(ip: &str) -> ClientInfo {
    ClientInfo { ip: ip.into(), user_agent: None }
}

/// A config whose per-IP limit is small enough to reach quickly, above the
/// per-account one as in production.
fn spray_config() -> AppConfig {
    AppConfig { login_max_failures: 3, login_ip_max_failures: 5, ..AppConfig::default() }
}

fn is_429(r: &Result<baton_app::sessions::NewSession, AppError>) -> bool {
    matches!(r, Err(AppError::RateLimited { retry_after_secs }) if (1..=60).contains(retry_after_secs))
}

fn is_401(r: &Result<baton_app::sessions::NewSession, AppError>) -> bool {
    matches!(r, Err(AppError::Unauthorized(_)))
}

backend_tests! {
    async fn spraying_many_usernames_from_one_ip_is_refused_with_429(t) {
        let app = App::local(t.db.clone(), spray_config());
        user(&app, "victim").await;
        // One wrong password each for many usernames: the per-account limit
        // never trips, the per-IP one does after five failures.
        for i in 0..5 {
            let r = app.login(&format!("guess{i}"), "Password1", &from("203.0.113.7")).await;
            assert!(is_401(&r), "attempt {i}: {r:?}");
        }
        let r = app.login("victim", "Password1", &from("203.0.113.7")).await;
        assert!(is_429(&r), "the sixth failure from one IP is refused: {r:?}");
        // Refused before the password is checked: even the right one.
        let r = app.login("victim", "long enough", &from("203.0.113.7")).await;
        assert!(is_429(&r), "{r:?}");
        // Another IP is not affected.
        let r = app.login("victim", "long enough", &from("198.51.100.1")).await;
        assert!(r.is_ok(), "{r:?}");
        let r = app.login("guess0", "Password1", &from("198.51.100.1")).await;
        assert!(is_401(&r), "{r:?}");
    }

    async fn correct_logins_are_not_counted_against_the_ip(t) {
        let app = App::local(t.db.clone(), spray_config());
        user(&app, "alice").await;
        user(&app, "bob").await;
        let ip = from("192.0.2.10");
        // Many successful logins (an office behind one address) never trip
        // the per-IP limit.
        for _ in 0..12 {
            app.login("alice", "long enough", &ip).await.expect("alice logs in");
            app.login("bob", "long enough", &ip).await.expect("bob logs in");
        }
        // Failures are still counted, and a success does not wipe the IP's
        // count (a sprayer cannot reset it by logging into their own account).
        for i in 0..4 {
            let r = app.login(&format!("nobody{i}"), "wrong-pass", &ip).await;
            assert!(is_401(&r), "{r:?}");
            app.login("alice", "long enough", &ip).await.expect("a correct login still works");
        }
        let r = app.login("nobody-else", "wrong-pass", &ip).await;
        assert!(is_401(&r), "the fifth failure is still answered: {r:?}");
        let r = app.login("alice", "long enough", &ip).await;
        assert!(is_429(&r), "five failures from this IP within the window: {r:?}");
    }

    async fn the_per_account_limit_still_holds_below_the_per_ip_one(t) {
        let app = App::local(t.db.clone(), spray_config());
        user(&app, "carol").await;
        user(&app, "dave").await;
        let ip = from("192.0.2.20");
        for _ in 0..3 {
            assert!(is_401(&app.login("carol", "wrong-pass", &ip).await));
        }
        assert!(is_429(&app.login("carol", "long enough", &ip).await), "three failures for carol");
        app.login("dave", "long enough", &ip).await.expect("dave from the same IP is not affected");
    }

    async fn the_ip_limit_is_shared_by_instances_on_one_database(t) {
        // Two services on one database stand for two server instances.
        let a = App::local(t.db.clone(), spray_config());
        let b = App::local(t.db.clone(), spray_config());
        let ip = from("203.0.113.99");
        for i in 0..3 {
            assert!(is_401(&a.login(&format!("a{i}"), "wrong-pass", &ip).await));
        }
        for i in 0..2 {
            assert!(is_401(&b.login(&format!("b{i}"), "wrong-pass", &ip).await));
        }
        assert!(is_429(&a.login("someone", "wrong-pass", &ip).await));
        assert!(is_429(&b.login("someone", "wrong-pass", &ip).await));
    }
}
