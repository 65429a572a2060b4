//! `/jobs` (the queue, filtered by status, kind and product in the URL,
//! paginated) and `/jobs/{id}` (one job: its request and plan, git state,
//! verify result, usage and cost, a timeline, the other jobs of its task),
//! with cancel and retry as plain forms that redirect (303) back.
//!
//! Both pages are one live region each: any job event on the page stream
//! refetches the page and swaps the region.

use askama::Template;
use askama_web::WebTemplate;
use axum::{
    Router,
    extract::{Path, Query, State},
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
    routing::{get, post},
};
use baton_app::{
    Actor, AppError,
    queue::{
        JobView,
        enqueue::JobFilter,
        overview::{JobDetail, JobRow},
    },
};
use baton_domain::agents::{JobKind, JobStatus};
use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::layout::{FormErrors, Layout, OrPage, PageError, PageUser, form_status, listed_or_filter_errors, urlencode};
use crate::AppState;

/// The routes of this module.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/jobs", get(index))
        .route("/jobs/{id}", get(show))
        .route("/jobs/{id}/cancel", post(cancel))
        .route("/jobs/{id}/retry", post(retry))
        .route("/jobs/{id}/requeue", post(requeue))
}

/// Jobs per page of the queue.
const PER_PAGE: u64 = 50;

fn fmt_time(t: Option<DateTime<Utc>>) -> String {
    t.map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string()).unwrap_or_default()
}

/// The last 8 characters of a job id: enough to tell jobs apart on a page.
fn short_id(id: &str) -> String {
    let chars: Vec<char> = id.chars().collect();
    chars[chars.len().saturating_sub(8)..].iter().collect()
}

/// A lowercase API value as words (`task_implementation` → "task implementation").
fn words(v: &str) -> String {
    v.replace('_', " ")
}

/// A pull request link is only followed when it is a web address.
fn web_url(u: Option<&str>) -> Option<String> {
    u.filter(|u| {
        let l = u.trim().to_ascii_lowercase();
        l.starts_with("https://") || l.starts_with("http://")
    })
    .map(str::to_string)
}

/// One job as the pages show it.
struct JobItem {
    id: String,
    short: String,
    kind: String,
    status: String,
    runtime: String,
    task_code: Option<String>,
    task_title: Option<String>,
    task_href: Option<String>,
    product_name: String,
    created: String,
    cost: Option<String>,
}

fn job_item(r: &JobRow) -> JobItem {
    let j = &r.job;
    let slug = r.product.as_ref().map(|p| p.code.clone().unwrap_or_else(|| p.id.clone()));
    JobItem {
        id: j.id.clone(),
        short: short_id(&j.id),
        kind: words(&j.kind),
        status: j.status.clone(),
        runtime: j.runtime.clone(),
        task_code: r.task.as_ref().map(|t| t.code.clone()),
        task_title: r.task.as_ref().map(|t| t.title.clone()),
        task_href: match (&slug, &r.task) {
            (Some(s), Some(t)) => Some(format!("/products/{}/tasks/{}", urlencode(s), urlencode(&t.code))),
            _ => None,
        },
        product_name: r.product.as_ref().map(|p| p.name.clone()).unwrap_or_default(),
        created: fmt_time(Some(j.created_at)),
        cost: r.cost_usd.clone(),
    }
}

/// The status filter's extra value: failed jobs out of attempts.
const DEAD: &str = "dead";

/// An option of a filter select.
struct Choice {
    value: String,
    label: String,
    selected: bool,
}

fn choices(values: impl Iterator<Item = (String, String)>, current: &str) -> Vec<Choice> {
    values.map(|(value, label)| Choice { selected: value == current, value, label }).collect()
}

/// The queue's filters as they arrive in the URL (empty = any).
#[derive(Debug, Default, Deserialize)]
struct JobsQuery {
    #[serde(default)]
    status: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    product: String,
    #[serde(default)]
    page: String,
}

impl JobsQuery {
    /// The URL of this list on page `page`, filters kept.
    fn url(&self, page: u64) -> String {
        let mut q = Vec::new();
        for (k, v) in [("status", &self.status), ("kind", &self.kind), ("product", &self.product)] {
            if !v.trim().is_empty() {
                q.push(format!("{k}={}", urlencode(v.trim())));
            }
        }
        if page > 1 {
            q.push(format!("page={page}"));
        }
        if q.is_empty() { "/jobs".into() } else { format!("/jobs?{}", q.join("&")) }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "jobs/index.html")]
struct JobsPage {
    layout: Layout,
    errors: FormErrors,
    statuses: Vec<Choice>,
    kinds: Vec<Choice>,
    products: Vec<Choice>,
    jobs: Vec<JobItem>,
    total: u64,
    page: u64,
    pages: u64,
    prev: Option<String>,
    next: Option<String>,
    filtered: bool,
}

fn blank(v: &str) -> Option<String> {
    let v = v.trim();
    (!v.is_empty()).then(|| v.to_string())
}

async fn index(
    State(s): State<AppState>,
    PageUser(actor): PageUser,
    Query(q): Query<JobsQuery>,
) -> Result<Response, PageError> {
    let layout = Layout::new(&s, &actor, "Jobs", "jobs").await.or_page(&actor)?;
    let page = match blank(&q.page) {
        None => Ok(None),
        Some(p) => p.parse::<u64>().map(Some).map_err(|_| AppError::field("page", "must be a whole number from 1")),
    };
    let listed = match page {
        Ok(page) => {
            // "Dead" is offered among the statuses: failed after the last attempt.
            let dead = q.status.trim() == DEAD;
            let filter = JobFilter {
                status: blank(&q.status).filter(|_| !dead),
                dead: dead.then_some(true),
                kind: blank(&q.kind),
                product_id: blank(&q.product),
                page,
                limit: Some(PER_PAGE),
                ..Default::default()
            };
            s.app.list_job_rows(&actor, filter).await
        }
        Err(e) => Err(e),
    };
    // A bad filter value is shown next to its field; an unknown product is
    // the one 404 page, as everywhere.
    let (status, errors, listed) = listed_or_filter_errors(&actor, listed, PER_PAGE)?;
    let pages = listed.total.div_ceil(listed.limit.max(1)).max(1);
    let dead = (DEAD.to_string(), "Dead (failed, out of attempts)".to_string());
    let statuses = choices(
        JobStatus::ALL.iter().map(|s| (s.as_api(), words(&s.as_api()))).chain(std::iter::once(dead)),
        q.status.trim(),
    );
    let kinds = choices(JobKind::ALL.iter().map(|k| (k.as_api(), words(&k.as_api()))), q.kind.trim());
    let products = choices(layout.products.iter().map(|p| (p.slug.clone(), p.name.clone())), q.product.trim());
    let page = JobsPage {
        errors,
        statuses,
        kinds,
        products,
        jobs: listed.items.iter().map(job_item).collect(),
        total: listed.total,
        page: listed.page,
        pages,
        prev: (listed.page > 1).then(|| q.url(listed.page - 1)),
        next: (listed.page < pages).then(|| q.url(listed.page + 1)),
        filtered: [&q.status, &q.kind, &q.product].iter().any(|v| !v.trim().is_empty()),
        layout,
    };
    Ok((status, page).into_response())
}

/// "done" → "Done".
fn capitalised(s: &str) -> String {
    let mut c = s.chars();
    c.next().map(|f| f.to_uppercase().chain(c).collect()).unwrap_or_default()
}

/// One line of a job's timeline.
struct Moment {
    at: String,
    what: String,
    detail: String,
}

/// The job's history as its stamps tell it, oldest first.
fn timeline(j: &JobView) -> Vec<Moment> {
    let mut out: Vec<(DateTime<Utc>, String, String)> =
        vec![(j.created_at, "Queued".into(), format!("source {}", j.source))];
    if let Some(t) = j.claimed_at {
        let by = j.worker_instance_id.as_deref().map(|w| format!("by {w}")).unwrap_or_default();
        let attempt = if j.retry_count > 0 { format!(" (attempt {})", j.retry_count) } else { String::new() };
        out.push((t, "Claimed".into(), format!("{by}{attempt}")));
    }
    if let Some(t) = j.started_at {
        out.push((t, "Running".into(), String::new()));
    }
    if let Some(t) = j.pushed_at {
        out.push((t, "Pushed".into(), j.branch.clone().unwrap_or_default()));
    }
    if let Some(t) = j.finished_at {
        out.push((
            t,
            capitalised(&words(&j.status)),
            j.error.clone().or_else(|| j.summary.clone()).unwrap_or_default(),
        ));
    }
    out.sort_by_key(|(t, _, _)| *t);
    out.into_iter().map(|(t, what, detail)| Moment { at: fmt_time(Some(t)), what, detail }).collect()
}

#[derive(Template, WebTemplate)]
#[template(path = "jobs/show.html")]
struct JobPage {
    layout: Layout,
    errors: FormErrors,
    item: JobItem,
    job: JobView,
    plan_html: Option<String>,
    pr_href: Option<String>,
    timeline: Vec<Moment>,
    history: Vec<JobItem>,
    cancel_blocker: Option<String>,
    retry_blocker: Option<String>,
    requeue_blocker: Option<String>,
}

async fn render_job(
    s: &AppState,
    actor: &Actor,
    id: &str,
    status: StatusCode,
    errors: FormErrors,
) -> Result<Response, PageError> {
    let d: JobDetail = s.app.job_detail(actor, id).await.or_page(actor)?;
    let item = job_item(&d.row);
    let layout = Layout::new(s, actor, &format!("Job {}", item.short), "jobs").await.or_page(actor)?;
    let job = d.row.job.clone();
    let history = d
        .history
        .iter()
        .map(|h| {
            job_item(&JobRow {
                job: h.clone(),
                task: d.row.task.clone(),
                product: d.row.product.clone(),
                cost_usd: None,
            })
        })
        .collect();
    let page = JobPage {
        layout,
        errors,
        plan_html: job.plan_snapshot.as_deref().filter(|p| !p.trim().is_empty()).map(super::markdown::render),
        pr_href: web_url(job.pr_url.as_deref()),
        timeline: timeline(&job),
        history,
        cancel_blocker: d.cancel_blocker,
        retry_blocker: d.retry_blocker,
        requeue_blocker: d.requeue_blocker,
        item,
        job,
    };
    Ok((status, page).into_response())
}

async fn show(
    State(s): State<AppState>,
    PageUser(actor): PageUser,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    render_job(&s, &actor, &id, StatusCode::OK, FormErrors::none()).await
}

/// A refused action: the job page again with the reason, in the status of
/// the refusal (404 stays the one not-found page).
async fn refused(s: &AppState, actor: &Actor, id: &str, e: AppError) -> Result<Response, PageError> {
    if matches!(e, AppError::NotFound(_)) {
        return Err(PageError::new(actor, e));
    }
    render_job(s, actor, id, form_status(&e), FormErrors::from(&e)).await
}

async fn cancel(
    State(s): State<AppState>,
    PageUser(actor): PageUser,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    match s.app.cancel_job(&actor, &id).await {
        Ok(j) => Ok(Redirect::to(&format!("/jobs/{}", urlencode(&j.id))).into_response()),
        Err(e) => refused(&s, &actor, &id, e).await,
    }
}

async fn retry(
    State(s): State<AppState>,
    PageUser(actor): PageUser,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    match s.app.retry_job(&actor, &id).await {
        // The new job's page: that is the one to watch now.
        Ok(j) => Ok(Redirect::to(&format!("/jobs/{}", urlencode(&j.id))).into_response()),
        Err(e) => refused(&s, &actor, &id, e).await,
    }
}

async fn requeue(
    State(s): State<AppState>,
    PageUser(actor): PageUser,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    match s.app.requeue_job(&actor, &id).await {
        Ok(j) => Ok(Redirect::to(&format!("/jobs/{}", urlencode(&j.id))).into_response()),
        Err(e) => refused(&s, &actor, &id, e).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_stay_in_the_url_across_pages() {
        let q = JobsQuery { status: "failed".into(), kind: String::new(), product: "My P".into(), page: "2".into() };
        assert_eq!(q.url(3), "/jobs?status=failed&product=My+P&page=3");
        assert_eq!(JobsQuery::default().url(1), "/jobs");
    }

    #[test]
    fn only_web_addresses_become_pull_request_links() {
        assert_eq!(web_url(Some("https://github.com/a/b/pull/1")).as_deref(), Some("https://github.com/a/b/pull/1"));
        assert_eq!(web_url(Some("javascript:alert(1)")), None);
        assert_eq!(web_url(None), None);
        assert_eq!(short_id("0192f5a1-7c3b-7aaa-9bbb-0123456789ab"), "456789ab");
    }
}
