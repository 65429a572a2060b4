//! `/workers`: the caller's agent workers (administrators: everyone's) with
//! runtime, tier, capabilities, quota, host and when each was last seen.
//! "Active" is the service's rule (seen within the last 30 s). The list is
//! one live region re-read every few seconds (`data-poll`): worker
//! heartbeats are not on the page stream, and "active" changes with the
//! clock anyway, so a worker that stops calling in turns inactive without
//! a reload.

use askama::Template;
use askama_web::WebTemplate;
use axum::{Router, extract::State, response::Response, routing::get};
use baton_app::workers::{ACTIVE_WINDOW_SECS, WorkerView};
use chrono::{DateTime, Utc};

use super::layout::{Layout, OrPage, PageError, PageUser};
use crate::AppState;

/// The routes of this module.
pub fn router() -> Router<AppState> {
    Router::new().route("/workers", get(index))
}

/// How often the open page re-reads the list (seconds), so "active" follows
/// the clock between heartbeats.
const POLL_SECS: i64 = 10;

fn fmt_time(t: Option<DateTime<Utc>>) -> String {
    t.map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string()).unwrap_or_default()
}

/// "12 s ago", "5 min ago", "3 h ago", "2 d ago".
fn ago(t: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let s = now.signed_duration_since(t).num_seconds().max(0);
    match s {
        0..60 => format!("{s} s ago"),
        60..3600 => format!("{} min ago", s / 60),
        3600..86_400 => format!("{} h ago", s / 3600),
        _ => format!("{} d ago", s / 86_400),
    }
}

/// One worker as the page shows it.
struct WorkerItem {
    id: String,
    instance_id: String,
    runtime: String,
    tier: String,
    capabilities: Vec<String>,
    quota: Option<i32>,
    quota_checked: String,
    host: String,
    started: String,
    last_seen: String,
    last_seen_ago: String,
    state: &'static str,
}

fn worker_item(w: WorkerView, now: DateTime<Utc>) -> WorkerItem {
    WorkerItem {
        state: if w.active { "active" } else { "inactive" },
        host: match (&w.hostname, w.pid) {
            (Some(h), Some(p)) => format!("{h} (pid {p})"),
            (Some(h), None) => h.clone(),
            (None, Some(p)) => format!("pid {p}"),
            (None, None) => String::new(),
        },
        last_seen_ago: ago(w.last_seen_at, now),
        last_seen: fmt_time(Some(w.last_seen_at)),
        started: fmt_time(Some(w.started_at)),
        quota: w.last_quota_pct,
        quota_checked: fmt_time(w.last_quota_check_at),
        id: w.id,
        instance_id: w.instance_id,
        runtime: w.runtime,
        tier: w.tier.replace('_', " "),
        capabilities: w.capabilities,
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "workers/index.html")]
struct WorkersPage {
    layout: Layout,
    workers: Vec<WorkerItem>,
    active: usize,
    window: i64,
    poll: i64,
}

async fn index(State(s): State<AppState>, PageUser(actor): PageUser) -> Result<Response, PageError> {
    let layout = Layout::new(&s, &actor, "Workers", "workers").await.or_page(&actor)?;
    let now = Utc::now();
    let workers: Vec<WorkerItem> =
        s.app.list_workers(&actor).await.or_page(&actor)?.into_iter().map(|w| worker_item(w, now)).collect();
    let page = WorkersPage {
        active: workers.iter().filter(|w| w.state == "active").count(),
        layout,
        workers,
        window: ACTIVE_WINDOW_SECS,
        poll: POLL_SECS,
    };
    Ok(axum::response::IntoResponse::into_response(page))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn last_seen_reads_as_a_duration() {
        let now = Utc::now();
        assert_eq!(ago(now - chrono::Duration::seconds(12), now), "12 s ago");
        assert_eq!(ago(now - chrono::Duration::seconds(300), now), "5 min ago");
        assert_eq!(ago(now - chrono::Duration::hours(3), now), "3 h ago");
        assert_eq!(ago(now - chrono::Duration::days(2), now), "2 d ago");
        assert_eq!(ago(now + chrono::Duration::seconds(5), now), "0 s ago", "clock skew is not negative");
    }
}
