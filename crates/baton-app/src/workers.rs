//! Worker presence (reference §8): one row per (user, token, instance) with
//! runtime, capabilities, tier, host, pid and the last quota reading. A
//! heartbeat whose row has gone re-registers it (self-healing), and
//! "active" means seen within 30 seconds.

use baton_domain::{
    ValidationErrors,
    agents::{AgentRuntime, WorkerTier},
};
use baton_store::{
    entities::worker,
    events::{Event, kinds},
    new_id, now,
    sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, sea_query::OnConflict},
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::{Actor, App, AppError, AppResult, queue::token_of_pub};

/// A worker counts as active when seen within this many seconds.
pub const ACTIVE_WINDOW_SECS: i64 = 30;

/// The event type of a worker coming online (its first heartbeat or
/// registration after being inactive) or going away (its active window
/// lapsed, or it said goodbye). Sent to the worker's owner only, so pages
/// showing "agent connected" update without reloading; unlike
/// `worker_heartbeat` it is not sent on every heartbeat.
pub const WORKER_PRESENCE: &str = "worker_presence";

/// How often `baton serve` looks for workers whose active window lapsed:
/// "agent connected" goes away at most this long after the 30 s window.
pub const PRESENCE_SWEEP_SECS: u64 = 5;

/// How a registration or heartbeat changed a worker's presence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PresenceChange {
    /// Still live, serving the same product and runtime.
    None,
    /// It was not live (or had no row).
    Online,
    /// Live, but now limited to another product or running another runtime.
    Changed,
}

/// Serde default of a worker's runtime (also used by claim requests).
pub(crate) fn default_runtime() -> AgentRuntime {
    AgentRuntime::Claude
}
/// Serde default of a worker's tier (also used by claim requests).
pub(crate) fn default_tier() -> WorkerTier {
    WorkerTier::MediumP
}

/// What a worker says about itself when it starts (and with each heartbeat,
/// so a lost row can be re-created).
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WorkerInfo {
    /// This worker process (1–200 characters), e.g. `mcp-<host>-<pid>`.
    #[schema(max_length = 200, pattern = "\\S")]
    pub instance_id: String,
    /// Agent program (default `claude`).
    #[serde(default = "default_runtime")]
    pub runtime: AgentRuntime,
    /// Capabilities offered (each 1–40 characters).
    #[serde(default)]
    pub capabilities: Vec<String>,
    /// Tier (default `medium_p`).
    #[serde(default = "default_tier")]
    pub tier: WorkerTier,
    /// Host name (≤ 255).
    #[serde(default)]
    #[schema(max_length = 255)]
    pub hostname: Option<String>,
    /// Process id.
    #[serde(default)]
    pub pid: Option<i32>,
    /// The product this worker is limited to, if any (id).
    #[serde(default)]
    pub product_id: Option<String>,
}

impl WorkerInfo {
    /// A Claude worker of medium tier named `instance_id`.
    pub fn new(instance_id: impl Into<String>) -> WorkerInfo {
        WorkerInfo {
            instance_id: instance_id.into(),
            runtime: AgentRuntime::Claude,
            capabilities: Vec::new(),
            tier: WorkerTier::MediumP,
            hostname: None,
            pid: None,
            product_id: None,
        }
    }

    fn validate(&self) -> Result<(), ValidationErrors> {
        let mut e = ValidationErrors::new();
        let n = self.instance_id.trim().chars().count();
        if n == 0 || n > 200 {
            e.add("instance_id", "must be 1 to 200 characters");
        }
        for (i, c) in self.capabilities.iter().enumerate() {
            let n = c.trim().chars().count();
            if n == 0 || n > 40 {
                e.add(&format!("capabilities.{i}"), "must be 1 to 40 characters");
            }
        }
        if self.hostname.as_ref().is_some_and(|h| h.chars().count() > 255) {
            e.add("hostname", "must be at most 255 characters");
        }
        e.into_result()
    }
}

/// A quota reading sent with a heartbeat.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Quota {
    /// Remaining subscription quota in percent (0–100).
    #[serde(default)]
    pub last_quota_pct: Option<i32>,
    /// When it was measured (default now).
    #[serde(default)]
    pub last_quota_check_at: Option<DateTime<Utc>>,
}

/// A worker as the API shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct WorkerView {
    /// Row id.
    pub id: String,
    /// Owner.
    pub user_id: String,
    /// The token it works through.
    pub token_id: String,
    /// Its instance id.
    pub instance_id: String,
    /// Product it is limited to.
    pub product_id: Option<String>,
    /// Agent program (lowercase).
    pub runtime: String,
    /// Capabilities.
    pub capabilities: Vec<String>,
    /// Tier (lowercase).
    pub tier: String,
    /// Host.
    pub hostname: Option<String>,
    /// Process id.
    pub pid: Option<i32>,
    /// When it registered.
    pub started_at: DateTime<Utc>,
    /// Last heartbeat.
    pub last_seen_at: DateTime<Utc>,
    /// Last quota reading.
    pub last_quota_pct: Option<i32>,
    /// When the quota was read.
    pub last_quota_check_at: Option<DateTime<Utc>>,
    /// Seen within the last 30 seconds.
    pub active: bool,
}

/// The capabilities stored on a worker row.
pub fn capabilities_of(w: &worker::Model) -> Vec<String> {
    w.capabilities
        .as_ref()
        .and_then(|v| v.as_array())
        .map(|a| a.iter().filter_map(|s| s.as_str().map(str::to_string)).collect())
        .unwrap_or_default()
}

/// The API view of a worker row.
pub fn worker_view(w: worker::Model) -> WorkerView {
    let active = now().signed_duration_since(w.last_seen_at).num_seconds() < ACTIVE_WINDOW_SECS;
    WorkerView {
        capabilities: capabilities_of(&w),
        runtime: w.runtime.to_lowercase(),
        tier: w.tier.to_lowercase(),
        id: w.id,
        user_id: w.user_id,
        token_id: w.token_id,
        instance_id: w.instance_id,
        product_id: w.product_id,
        hostname: w.hostname,
        pid: w.pid,
        started_at: w.started_at,
        last_seen_at: w.last_seen_at,
        last_quota_pct: w.last_quota_pct,
        last_quota_check_at: w.last_quota_check_at,
        active,
    }
}

impl App {
    /// Registers (or refreshes) the calling worker; needs an API token.
    pub async fn register_worker(&self, actor: &Actor, info: WorkerInfo) -> AppResult<WorkerView> {
        let (view, change) = self.upsert_worker(actor, &info, None).await?;
        self.announce_worker(&view, "registered").await;
        self.announce_change(&view, change).await;
        Ok(view)
    }

    /// Marks the worker alive and records its quota; re-registers it from
    /// `info` when its row has gone (self-healing).
    pub async fn worker_heartbeat(&self, actor: &Actor, info: WorkerInfo, quota: Quota) -> AppResult<WorkerView> {
        if quota.last_quota_pct.is_some_and(|q| !(0..=100).contains(&q)) {
            return Err(AppError::field("last_quota_pct", "must be between 0 and 100"));
        }
        let (view, change) = self.upsert_worker(actor, &info, Some(quota)).await?;
        self.announce_worker(&view, "heartbeat").await;
        self.announce_change(&view, change).await;
        Ok(view)
    }

    /// Removes the calling worker's row for this instance only; `false`
    /// when this token has no such worker. Demo users are refused (403).
    pub async fn worker_offline(&self, actor: &Actor, instance_id: &str) -> AppResult<bool> {
        actor.require_write()?;
        let token = token_of_pub(actor)?;
        let gone = worker::Entity::find()
            .filter(worker::Column::UserId.eq(&actor.user_id))
            .filter(worker::Column::TokenId.eq(token))
            .filter(worker::Column::InstanceId.eq(instance_id.trim()))
            .one(&self.db)
            .await?;
        let rows = worker::Entity::delete_many()
            .filter(worker::Column::UserId.eq(&actor.user_id))
            .filter(worker::Column::TokenId.eq(token))
            .filter(worker::Column::InstanceId.eq(instance_id.trim()))
            .exec(&self.db)
            .await?
            .rows_affected;
        let data = json!({"action": "offline", "user_id": actor.user_id, "token_id": token, "instance_id": instance_id.trim()});
        self.announce(Event::new(kinds::WORKER_HEARTBEAT).for_user(&actor.user_id).with_data(data)).await;
        if let Some(w) = gone.filter(|_| rows > 0).map(worker_view).filter(|w| w.active) {
            self.announce_presence(&w, "offline", w.product_id.as_deref(), false).await;
        }
        Ok(rows > 0)
    }

    /// The caller's workers (administrators: everyone's), most recently seen first.
    pub async fn list_workers(&self, actor: &Actor) -> AppResult<Vec<WorkerView>> {
        let mut q = worker::Entity::find();
        if !actor.is_admin() {
            q = q.filter(worker::Column::UserId.eq(&actor.user_id));
        }
        let rows = q.order_by_desc(worker::Column::LastSeenAt).order_by_asc(worker::Column::Id).all(&self.db).await?;
        Ok(rows.into_iter().map(worker_view).collect())
    }

    /// Announces, to this process's page streams, the workers whose active
    /// window lapsed after `after` (the cutoff the previous call returned;
    /// `None` on the first call: the last two sweep periods), and returns
    /// this call's cutoff. Every instance sweeps the shared table itself and
    /// tells only its own subscribers (see `EventBus::publish_local`), so
    /// each page hears of a lapse once. Cheap: one indexed range read.
    pub async fn announce_lapsed_workers(&self, after: Option<DateTime<Utc>>) -> AppResult<DateTime<Utc>> {
        let cutoff = now() - chrono::Duration::seconds(ACTIVE_WINDOW_SECS);
        let after = after.unwrap_or(cutoff - chrono::Duration::seconds(2 * PRESENCE_SWEEP_SECS as i64));
        let lapsed = worker::Entity::find()
            .filter(worker::Column::LastSeenAt.gt(after))
            .filter(worker::Column::LastSeenAt.lte(cutoff))
            .all(&self.db)
            .await?;
        for w in lapsed {
            let w = worker_view(w);
            self.announce_presence(&w, "offline", w.product_id.as_deref(), true).await;
        }
        Ok(cutoff)
    }

    /// Announces a registration's or heartbeat's presence change, if any.
    async fn announce_change(&self, w: &WorkerView, change: PresenceChange) {
        match change {
            PresenceChange::None => {}
            PresenceChange::Online => self.announce_presence(w, "online", w.product_id.as_deref(), false).await,
            // It may have left a product's pages and joined another's: tell all of them.
            PresenceChange::Changed => self.announce_presence(w, "changed", None, false).await,
        }
    }

    /// Publishes `worker_presence` to the worker's owner: `product_id` is
    /// the product whose pages it concerns (`None`: all of them); `local`
    /// keeps it in this process.
    async fn announce_presence(&self, w: &WorkerView, action: &str, product_id: Option<&str>, local: bool) {
        let data = json!({
            "action": action,
            "worker_id": w.id,
            "instance_id": w.instance_id,
            "product_id": product_id,
            "runtime": w.runtime,
        });
        let event = Event::new(WORKER_PRESENCE).for_user(&w.user_id).with_data(data);
        if local {
            self.bus.publish_local(&event);
        } else {
            self.announce(event).await;
        }
    }

    /// Inserts or refreshes the caller's worker row; also says how its
    /// presence changed (it came online: no row, or outside the active
    /// window; or, live, it now serves another product or runtime), so
    /// presence is announced on a change and not on every heartbeat.
    async fn upsert_worker(
        &self,
        actor: &Actor,
        info: &WorkerInfo,
        quota: Option<Quota>,
    ) -> AppResult<(WorkerView, PresenceChange)> {
        actor.require_write()?;
        let token = token_of_pub(actor)?.to_string();
        info.validate()?;
        if let Some(p) = &info.product_id {
            crate::access::writable(&self.db, actor, p).await?;
        }
        let before = worker::Entity::find()
            .filter(worker::Column::UserId.eq(&actor.user_id))
            .filter(worker::Column::TokenId.eq(&token))
            .filter(worker::Column::InstanceId.eq(info.instance_id.trim()))
            .one(&self.db)
            .await?;
        let t = now();
        let change = match before {
            None => PresenceChange::Online,
            Some(b) if t.signed_duration_since(b.last_seen_at).num_seconds() >= ACTIVE_WINDOW_SECS => {
                PresenceChange::Online
            }
            Some(b) if b.product_id != info.product_id || b.runtime != info.runtime.as_db() => PresenceChange::Changed,
            Some(_) => PresenceChange::None,
        };
        let caps: Vec<String> = info.capabilities.iter().map(|c| c.trim().to_string()).collect();
        let mut am = worker::ActiveModel {
            id: Set(new_id()),
            user_id: Set(actor.user_id.clone()),
            token_id: Set(token.clone()),
            instance_id: Set(info.instance_id.trim().to_string()),
            product_id: Set(info.product_id.clone()),
            runtime: Set(info.runtime.as_db().into()),
            capabilities: Set(Some(json!(caps))),
            tier: Set(info.tier.as_db().into()),
            hostname: Set(info.hostname.clone()),
            pid: Set(info.pid),
            started_at: Set(t),
            last_seen_at: Set(t),
            last_quota_pct: Set(None),
            last_quota_check_at: Set(None),
        };
        let mut update = vec![
            worker::Column::ProductId,
            worker::Column::Runtime,
            worker::Column::Capabilities,
            worker::Column::Tier,
            worker::Column::Hostname,
            worker::Column::Pid,
            worker::Column::LastSeenAt,
        ];
        if let Some(q) = quota
            && q.last_quota_pct.is_some()
        {
            am.last_quota_pct = Set(q.last_quota_pct);
            am.last_quota_check_at = Set(Some(q.last_quota_check_at.unwrap_or(t)));
            update.extend([worker::Column::LastQuotaPct, worker::Column::LastQuotaCheckAt]);
        }
        worker::Entity::insert(am)
            .on_conflict(
                OnConflict::columns([worker::Column::UserId, worker::Column::TokenId, worker::Column::InstanceId])
                    .update_columns(update)
                    .to_owned(),
            )
            .exec_without_returning(&self.db)
            .await?;
        let row = worker::Entity::find()
            .filter(worker::Column::UserId.eq(&actor.user_id))
            .filter(worker::Column::TokenId.eq(&token))
            .filter(worker::Column::InstanceId.eq(info.instance_id.trim()))
            .one(&self.db)
            .await?
            .ok_or(AppError::Internal("worker row vanished after upsert".into()))?;
        Ok((worker_view(row), change))
    }

    async fn announce_worker(&self, w: &WorkerView, action: &str) {
        let data = json!({
            "action": action,
            "worker_id": w.token_id,
            "user_id": w.user_id,
            "token_id": w.token_id,
            "instance_id": w.instance_id,
            "runtime": w.runtime,
            "tier": w.tier,
            "last_quota_pct": w.last_quota_pct,
            "last_quota_check_at": w.last_quota_check_at,
        });
        self.announce(Event::new(kinds::WORKER_HEARTBEAT).for_user(&w.user_id).with_data(data)).await;
    }
}
