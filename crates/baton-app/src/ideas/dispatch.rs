//! Dispatching idea jobs (IDEA_GRILL, IDEA_MAKE_PLAN, IDEA_REVIEW_PLAN) with
//! the guards of the agent-backlog reference §7.1, and the availability of
//! every idea action for the pages.
//!
//! Each guard is one function returning the error the action fails with;
//! [`App::dispatch_idea_job`] runs them in the reference's order and stops at
//! the first, and [`App::idea_actions`] runs the same functions to say why a
//! button is disabled, so a page and the action can never disagree.
//!
//! Guards, in order:
//! 1. the idea is the caller's own (another user's is 404), and in the
//!    product given, if one is (`idea in this product not found`); the
//!    product is the idea's product or one of its secondary products;
//! 2. the idea's status allows the job (409 naming the current status and
//!    the allowed ones, from `baton_domain::idea_lifecycle`);
//! 3. the idea has a product (also when a secondary one is given: grill and
//!    plan are stored against it), the caller may change the product the
//!    job runs in, it is not archived and it has a `repo_url` (the agent
//!    works in its repository);
//! 4. the content policy (decided here, cheap and deterministic): the title
//!    is not blank and the description within its limit (both already
//!    enforced on write, re-checked because rows may predate the rule); a
//!    make-plan job needs a non-blank `grill_md` (a plan is made from the
//!    grill) and a review job a `plan_md` (there must be a plan to review).
//!    The product's `content_policy` column is not interpreted yet;
//! 5. no other job of this idea is queued, claimed or running (409 naming it);
//! 6. a live worker of the caller: seen within [`DISPATCH_WORKER_WINDOW_SECS`]
//!    and not limited to another product; a review job needs one offering
//!    the `review` capability. The reference asks for a CODEX worker for
//!    reviews; we require the capability but not the runtime (any runtime
//!    may review) and queue the job for the runtime of the live worker found
//!    (the claim only hands a job to a worker of the same runtime), so the
//!    job is always claimable by the worker that made the guard pass.
//!
//! Then one transaction (the owner's row locked, guards 2 and 5 re-checked
//! inside it): the job, the idea's running status, a `JOB_EVENT` log
//! "<KIND> queued" `{job_id}`. After the commit the job-enqueued event wakes
//! waiting workers and `idea_changed` tells the owner's pages.

use baton_domain::{
    agents::{AgentRuntime, JobSource},
    idea_lifecycle::{IdeaJob, check_materialize},
    ideas::{IDEA_DESCRIPTION_MAX, IdeaLogType, IdeaStatus},
};
use baton_store::{
    entities::{idea, idea_product, job, product, worker},
    now,
    sea_orm::{
        ActiveModelTrait, ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter,
        QueryOrder,
    },
};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{ensure_not_archived, find_own, logs::add_log};
use crate::{
    Actor, App, AppError, AppResult, access, products,
    queue::{
        JobView,
        enqueue::{active_db, new_job_model},
        job_view, status_of,
    },
    txn::in_user_txn,
    workers::capabilities_of,
};

/// A worker counts as live for idea dispatch when seen within this many
/// seconds (§7.1 guard 6, §8).
pub const DISPATCH_WORKER_WINDOW_SECS: i64 = 15;
/// The worker capability a plan review needs.
pub const REVIEW_CAPABILITY: &str = "review";

/// An idea job kind as the API names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DispatchKind {
    /// IDEA_GRILL: interview the owner into `grill_md`.
    Grill,
    /// IDEA_MAKE_PLAN: turn the grill into `plan_md`.
    MakePlan,
    /// IDEA_REVIEW_PLAN: review the plan.
    ReviewPlan,
}

impl From<DispatchKind> for IdeaJob {
    fn from(k: DispatchKind) -> Self {
        match k {
            DispatchKind::Grill => IdeaJob::Grill,
            DispatchKind::MakePlan => IdeaJob::MakePlan,
            DispatchKind::ReviewPlan => IdeaJob::ReviewPlan,
        }
    }
}

/// A dispatch request.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DispatchInput {
    /// Which job to run.
    pub kind: DispatchKind,
    /// The product (id or code) to run it in: the idea's product or one of
    /// its secondary products; default the idea's product.
    #[serde(default)]
    pub product_id: Option<String>,
}

/// Whether an action is possible now, and if not, why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Availability {
    /// The action would pass its guards now.
    pub allowed: bool,
    /// The message the action would fail with; `None` when allowed.
    pub reason: Option<String>,
}

impl Availability {
    fn of(result: AppResult<()>) -> Self {
        match result {
            Ok(()) => Availability { allowed: true, reason: None },
            Err(e) => Availability { allowed: false, reason: Some(e.to_string()) },
        }
    }
}

/// What can be done with an idea now (for the idea pages' buttons).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct IdeaActions {
    /// The idea's id.
    pub idea_id: String,
    /// Dispatch IDEA_GRILL.
    pub grill: Availability,
    /// Dispatch IDEA_MAKE_PLAN.
    pub make_plan: Availability,
    /// Dispatch IDEA_REVIEW_PLAN.
    pub review_plan: Availability,
    /// Materialize the plan into backlog items.
    pub materialize: Availability,
}

/// Guard 1 (product part): the product the job runs in, the given one
/// (which must be the idea's product or a secondary one) or the idea's.
/// `None` when neither is set (guard 3 refuses that).
async fn guard_in_product<C: ConnectionTrait>(
    db: &C,
    actor: &Actor,
    m: &idea::Model,
    given: Option<&str>,
) -> AppResult<Option<String>> {
    let Some(given) = given.map(str::trim).filter(|g| !g.is_empty()) else {
        return Ok(m.product_id.clone());
    };
    let not_here = AppError::NotFound("idea in this product");
    let p = match products::readable_ref(db, actor, given).await {
        Ok(p) => p,
        Err(AppError::NotFound(_)) => return Err(not_here),
        Err(e) => return Err(e),
    };
    if m.product_id.as_deref() == Some(p.id.as_str()) {
        return Ok(Some(p.id));
    }
    let secondary = idea_product::Entity::find()
        .filter(idea_product::Column::IdeaId.eq(&m.id))
        .filter(idea_product::Column::ProductId.eq(&p.id))
        .one(db)
        .await?;
    if secondary.is_some() { Ok(Some(p.id)) } else { Err(not_here) }
}

/// Guard 2: the idea's status allows the job; returns the status to set.
fn guard_status(job: IdeaJob, m: &idea::Model) -> AppResult<IdeaStatus> {
    ensure_not_archived(m)?;
    let current = IdeaStatus::decode(&m.status, "ideas.status")?;
    job.dispatch(current).map_err(|e| AppError::Conflict(e.to_string()))
}

/// Guard 3: the idea has a product the caller may change, not archived,
/// with a repository.
async fn guard_repo<C: ConnectionTrait>(
    db: &C,
    actor: &Actor,
    m: &idea::Model,
    product_id: Option<&str>,
) -> AppResult<product::Model> {
    // The idea itself needs a product even when a secondary one is given:
    // the grill and the plan are stored against it (§3.8).
    let (Some(pid), Some(_)) = (product_id, m.product_id.as_deref()) else {
        return Err(AppError::Conflict(format!("idea {} has no product; set its product_id first", m.code)));
    };
    let p = access::writable(db, actor, pid).await?;
    products::ensure_not_archived(&p)?;
    if p.repo_url.as_deref().is_none_or(|u| u.trim().is_empty()) {
        return Err(AppError::Conflict(format!(
            "product {} has no repo_url; set one in the product settings so the agent has a repository to work in",
            p.code.as_deref().unwrap_or(&p.name)
        )));
    }
    Ok(p)
}

/// Guard 4: the content policy (see the module doc).
fn guard_content(job: IdeaJob, m: &idea::Model) -> AppResult<()> {
    let blank = |s: Option<&str>| s.is_none_or(|s| s.trim().is_empty());
    if m.title.trim().is_empty() {
        return Err(AppError::Conflict(format!("idea {} has a blank title; give it one first", m.code)));
    }
    if m.description.as_deref().is_some_and(|d| d.chars().count() > IDEA_DESCRIPTION_MAX) {
        return Err(AppError::Conflict(format!(
            "idea {}'s description is over {IDEA_DESCRIPTION_MAX} characters; shorten it first",
            m.code
        )));
    }
    match job {
        IdeaJob::MakePlan if blank(m.grill_md.as_deref()) => {
            Err(AppError::Conflict(format!("idea {} has no grill_md to plan from; grill it first", m.code)))
        }
        IdeaJob::ReviewPlan if blank(m.plan_md.as_deref()) => {
            Err(AppError::Conflict(format!("idea {} has no plan_md to review; make a plan first", m.code)))
        }
        _ => Ok(()),
    }
}

/// Guard 5: no other job of the idea is queued, claimed or running.
async fn guard_no_active_job<C: ConnectionTrait>(db: &C, m: &idea::Model) -> AppResult<()> {
    if let Some(busy) = job::Entity::find()
        .filter(job::Column::IdeaId.eq(&m.id))
        .filter(job::Column::Status.is_in(active_db()))
        .order_by_asc(job::Column::CreatedAt)
        .one(db)
        .await?
    {
        return Err(AppError::Conflict(format!(
            "idea {} already has a {} {} job ({}); cancel it or wait for it to finish",
            m.code,
            status_of(&busy)?.as_api(),
            busy.kind,
            busy.id
        )));
    }
    Ok(())
}

/// Guard 6: a live worker of the caller that can take the job; returns its
/// runtime (the job is queued for it).
async fn guard_live_worker<C: ConnectionTrait>(
    db: &C,
    user_id: &str,
    job: IdeaJob,
    product_id: &str,
) -> AppResult<AgentRuntime> {
    let since = now() - chrono::Duration::seconds(DISPATCH_WORKER_WINDOW_SECS);
    let live = worker::Entity::find()
        .filter(worker::Column::UserId.eq(user_id))
        .filter(worker::Column::LastSeenAt.gt(since))
        .filter(Condition::any().add(worker::Column::ProductId.is_null()).add(worker::Column::ProductId.eq(product_id)))
        .order_by_desc(worker::Column::LastSeenAt)
        .order_by_asc(worker::Column::Id)
        .all(db)
        .await?;
    let fit =
        live.iter().find(|w| !job.needs_review_worker() || capabilities_of(w).iter().any(|c| c == REVIEW_CAPABILITY));
    match fit {
        Some(w) => Ok(AgentRuntime::decode(&w.runtime, "workers.runtime")?),
        None if job.needs_review_worker() => Err(AppError::Conflict(format!(
            "no live worker of yours offers the `{REVIEW_CAPABILITY}` capability (none seen in the last \
             {DISPATCH_WORKER_WINDOW_SECS} s); start one that can review plans"
        ))),
        None => Err(AppError::Conflict(format!(
            "no live worker of yours is connected (none seen in the last {DISPATCH_WORKER_WINDOW_SECS} s); \
             start one with the command baton mcp or baton worker"
        ))),
    }
}

/// What the guards decided: the status to set, the product, the runtime.
struct Cleared {
    next: IdeaStatus,
    product_id: String,
    runtime: AgentRuntime,
}

/// Guards 2–6 for an idea already found (guard 1) in `product_id`.
async fn check_dispatch<C: ConnectionTrait>(
    db: &C,
    actor: &Actor,
    m: &idea::Model,
    job: IdeaJob,
    product_id: Option<&str>,
) -> AppResult<Cleared> {
    let next = guard_status(job, m)?;
    let p = guard_repo(db, actor, m, product_id).await?;
    guard_content(job, m)?;
    guard_no_active_job(db, m).await?;
    let runtime = guard_live_worker(db, &m.user_id, job, &p.id).await?;
    Ok(Cleared { next, product_id: p.id, runtime })
}

/// The checks of materialization that do not depend on its options:
/// status (§7.4 step 1), product, a plan that parses.
pub(super) fn guard_materialize_status(m: &idea::Model) -> AppResult<IdeaStatus> {
    ensure_not_archived(m)?;
    let current = IdeaStatus::decode(&m.status, "ideas.status")?;
    check_materialize(current).map_err(|e| AppError::Conflict(e.to_string()))
}

impl App {
    /// Dispatches an idea job with the guards of §7.1 in order (see the
    /// module doc); job, status and log in one transaction.
    pub async fn dispatch_idea_job(
        &self,
        actor: &Actor,
        idea_id: &str,
        kind: IdeaJob,
        product_id: Option<&str>,
    ) -> AppResult<JobView> {
        actor.require_write()?;
        let found = find_own(&self.db, actor, idea_id).await?;
        let pid = guard_in_product(&self.db, actor, &found, product_id).await?;
        let cleared = check_dispatch(&self.db, actor, &found, kind, pid.as_deref()).await?;
        let (uid, id) = (actor.user_id.clone(), found.id.clone());
        let (row, idea_row) = in_user_txn(&self.db, &actor.user_id, move |c| {
            Box::pin(async move {
                let m = idea::Entity::find_by_id(id).one(c).await?.ok_or(AppError::NotFound("idea"))?;
                // Re-checked under the owner's lock: two racing dispatches queue one job.
                guard_status(kind, &m)?;
                guard_no_active_job(c, &m).await?;
                let required = kind.needs_review_worker().then(|| REVIEW_CAPABILITY.to_string());
                let row = new_job_model(
                    uid,
                    cleared.product_id,
                    None,
                    Some(m.id.clone()),
                    kind.kind(),
                    cleared.runtime,
                    JobSource::Manual,
                    required,
                )
                .insert(c)
                .await?;
                let t = now();
                let mut am: idea::ActiveModel = m.into();
                am.status = Set(cleared.next.as_db().into());
                am.updated_at = Set(t);
                let idea_row = am.update(c).await?;
                let content = format!("{} queued", kind.kind().as_db());
                add_log(c, &idea_row.id, IdeaLogType::JobEvent, content, Some(json!({ "job_id": row.id }))).await?;
                Ok((row, idea_row))
            })
        })
        .await?;
        self.announce_enqueued(&row).await;
        self.announce_idea(&idea_row, "dispatched").await;
        job_view(row)
    }

    /// Which actions the caller could take on the idea now, each with the
    /// reason it would fail (the same guard code the actions run).
    pub async fn idea_actions(&self, actor: &Actor, idea_id: &str) -> AppResult<IdeaActions> {
        let m = find_own(&self.db, actor, idea_id).await?;
        let pid = m.product_id.clone();
        let dispatch = |job: IdeaJob| {
            let (m, pid) = (&m, pid.as_deref());
            async move {
                actor.require_write()?;
                check_dispatch(&self.db, actor, m, job, pid).await.map(|_| ())
            }
        };
        let grill = Availability::of(dispatch(IdeaJob::Grill).await);
        let make_plan = Availability::of(dispatch(IdeaJob::MakePlan).await);
        let review_plan = Availability::of(dispatch(IdeaJob::ReviewPlan).await);
        let materialize = Availability::of(self.check_materialize_now(actor, &m).await);
        Ok(IdeaActions { idea_id: m.id, grill, make_plan, review_plan, materialize })
    }
}
