//! Logging in and out, browser sessions, and the login rate limit.
//!
//! Sessions live in the database (hashed), so any instance sharing it
//! accepts any session cookie. Failed logins are counted in the database
//! too, so the rate limit holds across instances.

use baton_store::{
    entities::{login_attempt, session, user},
    new_id, now,
    sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder},
};
use chrono::{DateTime, Duration, Utc};

use crate::{
    Actor, App, AppError, AppResult, AuthVia,
    accounts::{UserView, view},
    passwords,
    secrets::{random_hex, sha256_hex},
};

/// The one message for a wrong password and an unknown user alike.
pub const BAD_LOGIN: &str = "wrong username or password";

/// Where a login attempt comes from.
#[derive(Debug, Clone, Default)]
pub struct ClientInfo {
    /// The client's IP address as text.
    pub ip: String,
    /// The browser's User-Agent, if sent.
    pub user_agent: Option<String>,
}

/// A new session: the secret cookie value (shown once) and the user.
#[derive(Debug, Clone)]
pub struct NewSession {
    /// The secret to put in the cookie.
    pub cookie_value: String,
    /// When it expires unless used.
    pub expires_at: DateTime<Utc>,
    /// Who logged in.
    pub user: UserView,
}

fn to_chrono(d: std::time::Duration) -> Duration {
    Duration::from_std(d).unwrap_or(Duration::MAX)
}

/// The `login_attempts` key of one IP and username (the per-account limit).
fn account_key(ip: &str, username: &str) -> String {
    sha256_hex(&format!("{ip}|{username}"))
}

/// The `login_attempts` key of one IP over every username (the per-IP
/// limit against password spraying). The prefix keeps it apart from every
/// account key: no username contains a NUL.
fn ip_key(ip: &str) -> String {
    sha256_hex(&format!("ip\0{ip}"))
}

impl App {
    /// Refuses a login when `key_hash` already has `max` failures within the
    /// window, with the seconds until the oldest of them leaves it.
    async fn check_login_limit(&self, key_hash: &str, max: u32) -> AppResult<()> {
        let window_start = now() - to_chrono(self.config.login_window);
        let recent = login_attempt::Entity::find()
            .filter(login_attempt::Column::KeyHash.eq(key_hash))
            .filter(login_attempt::Column::CreatedAt.gt(window_start))
            .order_by_desc(login_attempt::Column::CreatedAt)
            .paginate(&self.db, u64::from(max.max(1)));
        let newest = recent.fetch_page(0).await?;
        if newest.len() as u32 >= max {
            // The `max`-th newest failure is the one whose leaving the
            // window lets the next attempt through.
            let oldest = newest.last().map(|a| a.created_at).unwrap_or_else(now);
            let free_at = oldest + to_chrono(self.config.login_window);
            let secs = (free_at - now()).num_seconds().max(1) as u64;
            return Err(AppError::RateLimited { retry_after_secs: secs });
        }
        Ok(())
    }

    /// Counts a failed login against the account key and the IP key.
    async fn record_failed_login(&self, keys: [&str; 2]) -> AppResult<()> {
        let t = now();
        let rows = keys.map(|k| login_attempt::ActiveModel {
            id: Set(new_id()),
            key_hash: Set(k.to_string()),
            created_at: Set(t),
        });
        login_attempt::Entity::insert_many(rows).exec(&self.db).await?;
        // Keep the table small: old rows no longer count for anything.
        login_attempt::Entity::delete_many()
            .filter(login_attempt::Column::CreatedAt.lt(t - Duration::hours(1)))
            .exec(&self.db)
            .await?;
        Ok(())
    }

    /// Checks a username and password and opens a session.
    ///
    /// Wrong password, unknown user and disabled account give the same
    /// error and take about the same time. After too many failures for one
    /// IP and username (`login_max_failures`), or for one IP over all
    /// usernames (`login_ip_max_failures`, against password spraying), the
    /// attempt is refused with 429 before the password is checked. A
    /// successful login clears its account's failures but not its IP's, so
    /// a sprayer cannot reset the IP count by logging into an account of
    /// their own; a refused attempt is not counted.
    pub async fn login(&self, username: &str, password: &str, client: &ClientInfo) -> AppResult<NewSession> {
        let username = username.trim().to_ascii_lowercase();
        let key_hash = account_key(&client.ip, &username);
        let ip_hash = ip_key(&client.ip);
        self.check_login_limit(&ip_hash, self.config.login_ip_max_failures).await?;
        self.check_login_limit(&key_hash, self.config.login_max_failures).await?;
        let found = user::Entity::find().filter(user::Column::Username.eq(&username)).one(&self.db).await?;
        let ok_user = match found {
            Some(u) => {
                let pw = password.to_string();
                let stored = u.password_hash.clone();
                let ok = tokio::task::spawn_blocking(move || passwords::verify(&pw, &stored))
                    .await
                    .map_err(|e| AppError::internal_from("verify task", e))?;
                (ok && u.disabled_at.is_none()).then_some(u)
            }
            None => {
                let pw = password.to_string();
                let _ = tokio::task::spawn_blocking(move || passwords::verify_dummy(&pw)).await;
                None
            }
        };
        let Some(u) = ok_user else {
            self.record_failed_login([&key_hash, &ip_hash]).await?;
            return Err(AppError::Unauthorized(BAD_LOGIN.into()));
        };
        login_attempt::Entity::delete_many()
            .filter(login_attempt::Column::KeyHash.eq(&key_hash))
            .exec(&self.db)
            .await?;
        let cookie_value = random_hex(32);
        let t = now();
        let expires_at = t + to_chrono(self.config.session_idle);
        session::ActiveModel {
            id: Set(new_id()),
            id_hash: Set(sha256_hex(&cookie_value)),
            user_id: Set(u.id.clone()),
            user_agent: Set(client.user_agent.clone().map(|ua| ua.chars().take(300).collect())),
            ip: Set(Some(client.ip.chars().take(64).collect())),
            created_at: Set(t),
            last_seen_at: Set(t),
            expires_at: Set(expires_at),
        }
        .insert(&self.db)
        .await?;
        Ok(NewSession { cookie_value, expires_at, user: view(&self.db, u).await? })
    }

    /// Resolves a session cookie to the caller, renewing its expiry now and
    /// then (sliding expiry). Unknown or expired cookies give `None`.
    pub async fn session_actor(&self, cookie_value: &str) -> AppResult<Option<Actor>> {
        let hash = sha256_hex(cookie_value);
        let Some(s) = session::Entity::find().filter(session::Column::IdHash.eq(&hash)).one(&self.db).await? else {
            return Ok(None);
        };
        let t = now();
        if s.expires_at <= t {
            session::Entity::delete_by_id(s.id).exec(&self.db).await?;
            return Ok(None);
        }
        let Some(u) = user::Entity::find_by_id(s.user_id.clone()).one(&self.db).await? else { return Ok(None) };
        if u.disabled_at.is_some() {
            return Ok(None);
        }
        if t - s.last_seen_at > to_chrono(self.config.session_renew_every) {
            let mut am: session::ActiveModel = s.clone().into();
            am.last_seen_at = Set(t);
            am.expires_at = Set(t + to_chrono(self.config.session_idle));
            am.update(&self.db).await?;
        }
        let v = view(&self.db, u).await?;
        Ok(Some(Actor::from_user(v, AuthVia::Session { session_id: s.id })))
    }

    /// Ends the session with this cookie value (no error if already gone).
    pub async fn logout(&self, cookie_value: &str) -> AppResult<()> {
        session::Entity::delete_many()
            .filter(session::Column::IdHash.eq(sha256_hex(cookie_value)))
            .exec(&self.db)
            .await?;
        Ok(())
    }

    /// Removes expired sessions; returns how many. Called periodically.
    pub async fn purge_expired_sessions(&self) -> AppResult<u64> {
        Ok(session::Entity::delete_many()
            .filter(session::Column::ExpiresAt.lte(now()))
            .exec(&self.db)
            .await?
            .rows_affected)
    }
}
