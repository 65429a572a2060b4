//! Ending a sprint: close (unfinished stories go back or on, PBIs whose
//! stories are all done become done), archive and fail; each cascades to
//! the sprint's active run (reference §4.3 step 5).

use baton_domain::{
    agents::{JobStatus, SprintRunStatus},
    backlog::{PbiStatus, SprintStatus, StoryStatus},
};
use baton_store::{
    entities::{job, pbi, sprint, sprint_run, story},
    now,
    repo::sprints as repo,
    sea_orm::{
        ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
        QuerySelect,
    },
};
use serde::{Deserialize, Serialize};

use super::{
    MovedStory, PbiChange, RunChange, SprintStatusChange, SprintView, announce_stories, moved, readable_sprint, reload,
    require_open, sprint_status,
    stories::{move_stories, stories_in_order},
    today, writable_sprint,
};
use crate::{Actor, App, AppError, AppResult, txn};

/// Options of closing a sprint.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CloseSprint {
    /// An OPEN sprint of the same product to move unfinished stories to;
    /// absent or `null` = back to the product backlog.
    #[serde(default)]
    pub move_unfinished_to: Option<String>,
}

/// What closing a sprint did.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ClosedSprint {
    /// The sprint, now closed.
    pub sprint: SprintView,
    /// Done stories; they stay in the closed sprint.
    pub done_stories: Vec<MovedStory>,
    /// Unfinished stories sent back to the product backlog.
    pub returned_to_backlog: Vec<MovedStory>,
    /// Unfinished stories moved to `moved_to` instead.
    pub moved_to_sprint: Vec<MovedStory>,
    /// The sprint unfinished stories moved to, if one was given.
    pub moved_to: Option<SprintView>,
    /// PBIs that became done because all their stories are done.
    pub pbis_done: Vec<PbiChange>,
    /// The sprint's active run, if one was finished by the close.
    pub sprint_run: Option<RunChange>,
}

/// The sprint's newest queued, running or paused run.
pub(super) async fn active_run<C: ConnectionTrait>(db: &C, sprint_id: &str) -> AppResult<Option<sprint_run::Model>> {
    let active = [SprintRunStatus::Queued, SprintRunStatus::Running, SprintRunStatus::Paused].map(|s| s.as_db());
    Ok(sprint_run::Entity::find()
        .filter(sprint_run::Column::SprintId.eq(sprint_id))
        .filter(sprint_run::Column::Status.is_in(active))
        .order_by_desc(sprint_run::Column::CreatedAt)
        .order_by_desc(sprint_run::Column::Id)
        .one(db)
        .await?)
}

/// Locks the unfinished jobs of the sprint's runs, in id order, before a
/// close or fail writes anything: it ends by cancelling them, while a
/// worker's `done` (no product lock) holds its job first and reaches the
/// sprint row last, so taking them in the other order deadlocks.
pub(super) async fn lock_live_run_jobs<C: ConnectionTrait>(db: &C, sprint_id: &str) -> AppResult<()> {
    let runs = baton_store::sea_orm::sea_query::Query::select()
        .column(sprint_run::Column::Id)
        .from(sprint_run::Entity)
        .and_where(sprint_run::Column::SprintId.eq(sprint_id))
        .to_owned();
    let live = [JobStatus::Queued, JobStatus::Claimed, JobStatus::Running];
    let _: Vec<String> = job::Entity::find()
        .select_only()
        .column(job::Column::Id)
        .filter(job::Column::SprintRunId.in_subquery(runs))
        .filter(job::Column::Status.is_in(live.iter().map(|s| s.as_db())))
        .order_by_asc(job::Column::Id)
        .lock(baton_store::sea_orm::sea_query::LockType::Update)
        .into_tuple()
        .all(db)
        .await?;
    Ok(())
}

/// The active run of a sprint finished by a close or fail (reference §4.3
/// step 5): CLOSED → the run is DONE, FAILED → the run is FAILED; its other
/// queued or running jobs are cancelled.
pub(super) async fn finish_active_run<C: ConnectionTrait>(
    db: &C,
    s: &sprint::Model,
    status: SprintStatus,
) -> AppResult<Option<RunChange>> {
    let run_status = match status {
        SprintStatus::Closed => SprintRunStatus::Done,
        SprintStatus::Failed => SprintRunStatus::Failed,
        _ => return Ok(None),
    };
    let Some(run) = active_run(db, &s.id).await? else {
        return Ok(None);
    };
    let t = now();
    let reason = format!("sprint {} was {status}", s.code);
    let mut am: sprint_run::ActiveModel = run.clone().into();
    am.status = Set(run_status.as_db().into());
    am.finished_at = Set(Some(t));
    am.updated_at = Set(t);
    if run_status == SprintRunStatus::Failed && run.failure_reason.is_none() {
        am.failure_reason = Set(Some(reason.clone()));
    }
    am.update(db).await?;
    let cancelled = repo::cancel_run_jobs(db, &run.id, &format!("Cancelled: {reason}"), t).await?;
    Ok(Some(RunChange { id: run.id, status: run_status, cancelled_jobs: cancelled }))
}

/// Sets a sprint's status the way `update_sprint` does: a terminal status
/// without an end date sets it to today; CLOSED sets `completed_at`; OPEN
/// clears it.
pub(super) fn apply_status(
    am: &mut sprint::ActiveModel,
    current: &sprint::Model,
    status: SprintStatus,
    end_given: bool,
) {
    let t = now();
    am.status = Set(status.as_db().into());
    if status != SprintStatus::Open && current.end_date.is_none() && !end_given {
        am.end_date = Set(Some(today()));
    }
    match status {
        SprintStatus::Closed => am.completed_at = Set(Some(t)),
        SprintStatus::Open => am.completed_at = Set(None),
        _ => {}
    }
}

impl App {
    /// Closes an OPEN sprint: done stories stay in it; unfinished stories go
    /// back to the backlog (open, no sprint) or on to another OPEN sprint of
    /// the product, their tasks following; PBIs whose stories are now all
    /// done become done (BLOCKED PBIs are left alone); `completed_at` and
    /// (if unset) `end_date` are set; the active run, if any, is finished.
    pub async fn close_sprint(&self, actor: &Actor, sprint_id: &str, input: CloseSprint) -> AppResult<ClosedSprint> {
        let s = writable_sprint(&self.db, actor, sprint_id).await?;
        require_open(&s, "be closed")?;
        let target = match input.move_unfinished_to.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
            None => None,
            Some(t) => {
                let bad = |m: String| AppError::field("move_unfinished_to", m);
                let target = match readable_sprint(&self.db, actor, t).await {
                    Ok(x) => x,
                    Err(AppError::NotFound(_)) => return Err(bad(format!("no sprint {t} that you can access"))),
                    Err(e) => return Err(e),
                };
                if target.id == s.id {
                    return Err(bad("must be another sprint than the one being closed".into()));
                }
                if target.product_id != s.product_id {
                    return Err(bad(format!("sprint {} belongs to another product", target.code)));
                }
                let st = sprint_status(&target)?;
                if st != SprintStatus::Open {
                    return Err(bad(format!(
                        "sprint {} is {st}; unfinished stories can only move to an open sprint",
                        target.code
                    )));
                }
                Some(target.id)
            }
        };
        let sid = s.id.clone();
        let result = txn::in_product_txn(&self.db, &s.product_id, move |c| {
            Box::pin(async move {
                let current = reload(c, &sid).await?;
                require_open(&current, "be closed")?;
                lock_live_run_jobs(c, &current.id).await?;
                let moved_to = match &target {
                    Some(tid) => {
                        let t = reload(c, tid)
                            .await
                            .map_err(|_| AppError::field("move_unfinished_to", "that sprint was deleted meanwhile"))?;
                        let st = sprint_status(&t)?;
                        if st != SprintStatus::Open {
                            return Err(AppError::field(
                                "move_unfinished_to",
                                format!(
                                    "sprint {} is {st}; unfinished stories can only move to an open sprint",
                                    t.code
                                ),
                            ));
                        }
                        Some(t)
                    }
                    None => None,
                };
                // Locked before their statuses are read: a worker's `done`
                // (no product lock) may be finishing one of them right now.
                let stories = story::Entity::find()
                    .filter(story::Column::SprintId.eq(&current.id))
                    .lock(baton_store::sea_orm::sea_query::LockType::NoKeyUpdate)
                    .order_by_asc(story::Column::SortOrder)
                    .order_by_asc(story::Column::CreatedAt)
                    .order_by_asc(story::Column::Id)
                    .all(c)
                    .await?;
                let (done, unfinished): (Vec<_>, Vec<_>) =
                    stories.into_iter().partition(|st| st.status == StoryStatus::Done.as_db());
                let unfinished_ids: Vec<String> = unfinished.iter().map(|s| s.id.clone()).collect();
                move_stories(c, &unfinished_ids, moved_to.as_ref().map(|t| t.id.as_str())).await?;

                // PBIs of the done stories whose stories are now all done.
                let promote = repo::pbis_completed_by(c, &current.id).await?;
                let t = now();
                let mut pbis_done = Vec::with_capacity(promote.len());
                for p in promote {
                    pbi::Entity::update_many()
                        .col_expr(
                            pbi::Column::Status,
                            baton_store::sea_orm::sea_query::Expr::value(PbiStatus::Done.as_db()),
                        )
                        .col_expr(pbi::Column::UpdatedAt, baton_store::sea_orm::sea_query::Expr::value(t))
                        .filter(pbi::Column::Id.eq(&p.id))
                        .exec(c)
                        .await?;
                    pbis_done.push(PbiChange { id: p.id, code: p.code, status: PbiStatus::Done });
                }

                let mut am: sprint::ActiveModel = current.clone().into();
                apply_status(&mut am, &current, SprintStatus::Closed, false);
                am.updated_at = Set(t);
                let closed = am.update(c).await?;
                let run = finish_active_run(c, &current, SprintStatus::Closed).await?;

                let after = stories_in_order(c, &unfinished_ids).await?;
                let after: Vec<MovedStory> = after.into_iter().map(moved).collect::<AppResult<_>>()?;
                let (returned, moved_on) = if moved_to.is_some() { (Vec::new(), after) } else { (after, Vec::new()) };
                Ok(ClosedSprint {
                    sprint: SprintView::of(closed)?,
                    done_stories: done.into_iter().map(moved).collect::<AppResult<_>>()?,
                    returned_to_backlog: returned,
                    moved_to_sprint: moved_on,
                    moved_to: moved_to.map(SprintView::of).transpose()?,
                    pbis_done,
                    sprint_run: run,
                })
            })
        })
        .await?;
        self.announce_sprint(&s.product_id, &s.id, "closed").await;
        let moved_ids: Vec<String> =
            result.returned_to_backlog.iter().chain(&result.moved_to_sprint).map(|s| s.id.clone()).collect();
        announce_stories(self, &s.product_id, &moved_ids, "sprint_closed").await;
        Ok(result)
    }

    /// Archives a CLOSED sprint (409 in any other status).
    pub async fn archive_sprint(&self, actor: &Actor, sprint_id: &str) -> AppResult<SprintView> {
        let s = writable_sprint(&self.db, actor, sprint_id).await?;
        let sid = s.id.clone();
        let view = txn::in_product_txn(&self.db, &s.product_id, move |c| {
            Box::pin(async move {
                let current = reload(c, &sid).await?;
                let st = sprint_status(&current)?;
                if st != SprintStatus::Closed {
                    return Err(AppError::Conflict(format!(
                        "sprint {} is {st}; only a closed sprint can be archived",
                        current.code
                    )));
                }
                let mut am: sprint::ActiveModel = current.clone().into();
                apply_status(&mut am, &current, SprintStatus::Archived, false);
                am.updated_at = Set(now());
                SprintView::of(am.update(c).await?)
            })
        })
        .await?;
        self.announce_sprint(&view.product_id, &view.id, "archived").await;
        Ok(view)
    }

    /// Marks an OPEN sprint failed (409 in any other status): the end date is
    /// set if it had none, its stories stay as they are, and its active run
    /// fails with its queued and running jobs cancelled.
    pub async fn fail_sprint(&self, actor: &Actor, sprint_id: &str) -> AppResult<SprintStatusChange> {
        let s = writable_sprint(&self.db, actor, sprint_id).await?;
        require_open(&s, "be failed")?;
        let sid = s.id.clone();
        let result = txn::in_product_txn(&self.db, &s.product_id, move |c| {
            Box::pin(async move {
                let current = reload(c, &sid).await?;
                require_open(&current, "be failed")?;
                lock_live_run_jobs(c, &current.id).await?;
                let mut am: sprint::ActiveModel = current.clone().into();
                apply_status(&mut am, &current, SprintStatus::Failed, false);
                am.updated_at = Set(now());
                let m = am.update(c).await?;
                let run = finish_active_run(c, &current, SprintStatus::Failed).await?;
                Ok(SprintStatusChange { sprint: SprintView::of(m)?, sprint_run: run })
            })
        })
        .await?;
        self.announce_sprint(&s.product_id, &s.id, "failed").await;
        Ok(result)
    }
}
