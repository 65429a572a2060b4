//! The job queue as people look at it (the `/jobs` pages): each job with
//! the task and product it is about and its cost, and one job in full with
//! the other jobs of its task and whether the caller may cancel or retry it
//! now — and if not, why. The reasons come from the same rules the cancel
//! and retry services apply ([`super::enqueue::cancel_blocker`],
//! [`super::retry::retry_blocker_of`]), so a disabled button and a refused
//! request always say the same thing.

use std::collections::HashMap;

use baton_domain::{
    agents::{AgentRuntime, JobStatus},
    costs::Usage,
};
use baton_store::{
    entities::{job, product, task},
    sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder},
};

use super::{
    JobView,
    enqueue::{JobFilter, cancel_blocker},
    job_view,
    retry::retry_blocker_of,
};
use crate::{
    Actor, App, AppResult, access,
    list::Page,
    prices::{MONEY_PLACES, PriceBook},
};

/// Why a demo account's write control is disabled.
pub const DEMO_REASON: &str = "Demo accounts are read-only";
/// Why a read-only member's write control is disabled.
pub const READ_ONLY_REASON: &str = "You have read-only access to this product";

/// The task a job works on, as a link needs it.
#[derive(Debug, Clone)]
pub struct TaskLabel {
    /// Id.
    pub id: String,
    /// `T-N`.
    pub code: String,
    /// Title.
    pub title: String,
}

/// The product a job belongs to, as a link needs it.
#[derive(Debug, Clone)]
pub struct ProductLabel {
    /// Id.
    pub id: String,
    /// Its code, if it has one (pages use it in URLs).
    pub code: Option<String>,
    /// Name.
    pub name: String,
}

/// One job of a list, with what it is about.
#[derive(Debug, Clone)]
pub struct JobRow {
    /// The job.
    pub job: JobView,
    /// Its task, for task jobs.
    pub task: Option<TaskLabel>,
    /// Its product.
    pub product: Option<ProductLabel>,
    /// Its cost in USD (6 places), when its model has a price.
    pub cost_usd: Option<String>,
}

/// One job in full, with what the caller may do with it.
#[derive(Debug, Clone)]
pub struct JobDetail {
    /// The job, its task, product and cost.
    pub row: JobRow,
    /// Every job of the same task, newest first (this one included); empty
    /// for jobs without a task.
    pub history: Vec<JobView>,
    /// Why the caller cannot cancel it now, if they cannot.
    pub cancel_blocker: Option<String>,
    /// Why the caller cannot retry it now, if they cannot.
    pub retry_blocker: Option<String>,
    /// Why the caller cannot requeue it now, if they cannot.
    pub requeue_blocker: Option<String>,
}

/// The cost of a job in USD, when it reported usage and its model has a
/// price (the same lookup as [`PriceBook::job_cost`]).
fn cost_of(book: &PriceBook, j: &JobView) -> Option<String> {
    let used = [j.input_tokens, j.output_tokens, j.cache_read_tokens, j.cache_write_tokens];
    if used.iter().all(Option::is_none) {
        return None;
    }
    let usage = Usage {
        input: j.input_tokens.unwrap_or(0),
        output: j.output_tokens.unwrap_or(0),
        cache_read: j.cache_read_tokens.unwrap_or(0),
        cache_write: j.cache_write_tokens.unwrap_or(0),
    };
    let runtime = AgentRuntime::parse_api(&j.runtime).map(AgentRuntime::as_db);
    book.cost(j.model_id.as_deref(), runtime, j.finished_at.or(Some(j.updated_at)), usage)
        .map(|c| c.to_decimal(MONEY_PLACES))
}

impl App {
    /// [`App::list_jobs`] with each job's task, product and cost (same
    /// filters, access and order).
    pub async fn list_job_rows(&self, actor: &Actor, filter: JobFilter) -> AppResult<Page<JobRow>> {
        let page = self.list_jobs(actor, filter).await?;
        let (tasks, products) = self.labels(&page.items).await?;
        let book = self.price_book().await?;
        Ok(Page {
            items: page
                .items
                .into_iter()
                .map(|job| JobRow {
                    cost_usd: cost_of(&book, &job),
                    task: job.task_id.as_ref().and_then(|t| tasks.get(t).cloned()),
                    product: products.get(&job.product_id).cloned(),
                    job,
                })
                .collect(),
            page: page.page,
            limit: page.limit,
            total: page.total,
        })
    }

    /// One job the caller can read, in full (404 otherwise, as
    /// [`App::get_job`]).
    pub async fn job_detail(&self, actor: &Actor, job_id: &str) -> AppResult<JobDetail> {
        let m = self.readable_job(actor, job_id).await?;
        let (_, product_access) = access::product_for(&self.db, actor, &m.product_id).await?;
        let history = match &m.task_id {
            Some(t) => job::Entity::find()
                .filter(job::Column::TaskId.eq(t))
                .order_by_desc(job::Column::CreatedAt)
                .order_by_desc(job::Column::Id)
                .all(&self.db)
                .await?
                .into_iter()
                .map(job_view)
                .collect::<AppResult<Vec<_>>>()?,
            None => vec![],
        };
        let job = job_view(m)?;
        let cost_usd = cost_of(&self.price_book().await?, &job);
        // Who may write comes first: a demo account or a reader learns that,
        // not a state they could not change anyway.
        let write = if actor.is_demo {
            Some(DEMO_REASON.to_string())
        } else if !product_access.can_write() {
            Some(READ_ONLY_REASON.to_string())
        } else {
            None
        };
        let status = JobStatus::parse_api(&job.status);
        let cancel_blocker = write.clone().or_else(|| match status {
            Some(s) => cancel_blocker(s),
            None => Some("job cannot be cancelled".into()),
        });
        let live = history
            .iter()
            .find(|h| h.id != job.id && JobStatus::parse_api(&h.status).is_some_and(|s| !s.is_terminal()));
        // Requeue: the job's owner or an administrator (see `requeue_job`).
        let requeue_blocker = if actor.is_demo {
            Some(DEMO_REASON.to_string())
        } else if job.user_id != actor.user_id && !actor.is_admin() {
            Some(super::requeue::NOT_OWNER.to_string())
        } else {
            match status {
                Some(s) => super::requeue::requeue_blocker(s),
                None => Some("job cannot be requeued".into()),
            }
        };
        let retry_blocker = write.or_else(|| retry_blocker_of(&job)).or_else(|| {
            live.map(|l| format!("the task already has a {} job; cancel it or wait for it to finish", l.status))
        });
        let (tasks, products) = self.labels(std::slice::from_ref(&job)).await?;
        Ok(JobDetail {
            row: JobRow {
                task: job.task_id.as_ref().and_then(|t| tasks.get(t).cloned()),
                product: products.get(&job.product_id).cloned(),
                cost_usd,
                job,
            },
            history,
            cancel_blocker,
            retry_blocker,
            requeue_blocker,
        })
    }

    /// The tasks and products of jobs the caller can read, by id.
    async fn labels(&self, jobs: &[JobView]) -> AppResult<(HashMap<String, TaskLabel>, HashMap<String, ProductLabel>)> {
        let task_ids: Vec<String> = jobs.iter().filter_map(|j| j.task_id.clone()).collect();
        let product_ids: Vec<String> = jobs.iter().map(|j| j.product_id.clone()).collect();
        let tasks = if task_ids.is_empty() {
            HashMap::new()
        } else {
            task::Entity::find()
                .filter(task::Column::Id.is_in(task_ids))
                .all(&self.db)
                .await?
                .into_iter()
                .map(|t| (t.id.clone(), TaskLabel { id: t.id, code: t.code, title: t.title }))
                .collect()
        };
        let products = if product_ids.is_empty() {
            HashMap::new()
        } else {
            product::Entity::find()
                .filter(product::Column::Id.is_in(product_ids))
                .all(&self.db)
                .await?
                .into_iter()
                .map(|p| (p.id.clone(), ProductLabel { id: p.id, code: p.code, name: p.name }))
                .collect()
        };
        Ok((tasks, products))
    }
}
