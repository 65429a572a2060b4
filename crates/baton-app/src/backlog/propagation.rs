//! The storage side of status propagation (reference §4.3): load the
//! statuses a roll-up depends on, apply the pure rules of
//! [`baton_domain::propagation`], write back only what changed, and report
//! every change. Always called inside the write transaction that caused it
//! (so a task change and its roll-ups commit or roll back together).
//!
//! Seeds say where to start: stories are re-derived from their tasks, then
//! the PBIs of those stories (plus any seeded PBIs), then the sprints of
//! those stories (plus any seeded sprints, plus every sprint holding a story
//! of a PBI whose status changed — a PBI can span sprints).
//!
//! **Locks.** A roll-up reads a row's children and writes the row, so two
//! writers must not both read before either writes. Every recompute first
//! locks its row (`SELECT … FOR NO KEY UPDATE` on Postgres; SQLite has one
//! writer anyway) and only then reads the children, always in the order
//! story → PBI → sprint → sprint run. Under READ COMMITTED the read after
//! the lock sees whatever the previous holder committed. This is what lets
//! a worker's `done` propagate without the product-wide lock of
//! [`crate::txn::in_product_txn`]: writers of sibling tasks queue on their
//! story row, writers of sibling stories on their PBI row, and nobody takes
//! these locks in the other order (no deadlocks).

use std::collections::BTreeSet;

use baton_domain::{
    agents::{JobStatus, SprintRunStatus},
    backlog::{PbiStatus, SprintStatus, StoryStatus, TaskStatus},
    propagation::{self as rules, Transition},
};
use baton_store::{
    entities::{job, pbi, sprint, sprint_run, story, task},
    now,
    sea_orm::{
        ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
        sea_query::{Expr, LockType, Query},
    },
};

use crate::AppResult;

/// A status that changed on one row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Changed<T> {
    /// The row's id.
    pub id: String,
    /// Its status before and after.
    pub transition: Transition<T>,
}

/// Everything a propagation changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rollup {
    /// Stories whose status changed.
    pub stories: Vec<Changed<StoryStatus>>,
    /// PBIs whose status changed.
    pub pbis: Vec<Changed<PbiStatus>>,
    /// Sprints whose status changed.
    pub sprints: Vec<Changed<SprintStatus>>,
    /// Sprint runs finished because their sprint closed or failed.
    pub sprint_runs: Vec<Changed<SprintRunStatus>>,
    /// Jobs cancelled because a task failed in their sprint run.
    pub cancelled_jobs: Vec<String>,
}

impl Rollup {
    /// The change of story `id`, if it changed.
    pub fn story(&self, id: &str) -> Option<Transition<StoryStatus>> {
        self.stories.iter().find(|c| c.id == id).map(|c| c.transition)
    }
    /// The change of PBI `id`, if it changed.
    pub fn pbi(&self, id: &str) -> Option<Transition<PbiStatus>> {
        self.pbis.iter().find(|c| c.id == id).map(|c| c.transition)
    }
    /// The change of sprint `id`, if it changed.
    pub fn sprint(&self, id: &str) -> Option<Transition<SprintStatus>> {
        self.sprints.iter().find(|c| c.id == id).map(|c| c.transition)
    }
    /// Whether nothing changed.
    pub fn is_empty(&self) -> bool {
        self.stories.is_empty()
            && self.pbis.is_empty()
            && self.sprints.is_empty()
            && self.sprint_runs.is_empty()
            && self.cancelled_jobs.is_empty()
    }
}

/// Where a propagation starts. Ids of rows that no longer exist are skipped.
#[derive(Debug, Clone, Default)]
pub struct Seeds {
    /// Stories to re-derive from their tasks.
    pub stories: Vec<String>,
    /// PBIs to re-derive from their stories.
    pub pbis: Vec<String>,
    /// Sprints to re-derive from their stories' PBIs.
    pub sprints: Vec<String>,
}

impl Seeds {
    /// Starting from stories.
    pub fn stories<I: IntoIterator<Item = S>, S: Into<String>>(ids: I) -> Seeds {
        Seeds { stories: ids.into_iter().map(Into::into).collect(), ..Default::default() }
    }
    /// Adds PBIs.
    pub fn and_pbis<I: IntoIterator<Item = S>, S: Into<String>>(mut self, ids: I) -> Seeds {
        self.pbis.extend(ids.into_iter().map(Into::into));
        self
    }
    /// Adds sprints (`None`s are ignored, so `story.sprint_id` can be passed as is).
    pub fn and_sprints<I: IntoIterator<Item = Option<S>>, S: Into<String>>(mut self, ids: I) -> Seeds {
        self.sprints.extend(ids.into_iter().flatten().map(Into::into));
        self
    }
}

/// Runs the roll-ups from `seeds` and writes every changed status.
pub async fn propagate<C: ConnectionTrait>(c: &C, seeds: Seeds) -> AppResult<Rollup> {
    let mut roll = Rollup::default();
    let mut pbis: BTreeSet<String> = seeds.pbis.into_iter().collect();
    let mut sprints: BTreeSet<String> = seeds.sprints.into_iter().collect();
    let stories: BTreeSet<String> = seeds.stories.into_iter().collect();
    for id in &stories {
        if let Some(s) = recompute_story(c, id, &mut roll).await? {
            pbis.insert(s.pbi_id);
            sprints.extend(s.sprint_id);
        }
    }
    for id in &pbis {
        if recompute_pbi(c, id, &mut roll).await?.is_some() && roll.pbi(id).is_some() {
            sprints.extend(sprints_of_pbi(c, id).await?);
        }
    }
    for id in &sprints {
        recompute_sprint(c, id, &mut roll).await?;
    }
    Ok(roll)
}

/// Re-derives one story's status from its tasks — or, for a marketplace
/// story, from its workflow state (the one rule of
/// `baton_domain::marketplace::workflow::backlog_status`), so a task roll-up
/// never breaks that rule; `None` if it does not exist.
pub async fn recompute_story<C: ConnectionTrait>(
    c: &C,
    story_id: &str,
    roll: &mut Rollup,
) -> AppResult<Option<story::Model>> {
    let Some(s) = lock_story(c, story_id).await? else { return Ok(None) };
    let statuses: Vec<String> = task::Entity::find()
        .select_only()
        .column(task::Column::Status)
        .filter(task::Column::StoryId.eq(story_id))
        .into_tuple()
        .all(c)
        .await?;
    Ok(Some(settle_story(c, s, &statuses, roll).await?))
}

/// Locks story `story_id` for a roll-up and returns it (see the module docs).
pub async fn lock_story<C: ConnectionTrait>(c: &C, story_id: &str) -> AppResult<Option<story::Model>> {
    Ok(story::Entity::find_by_id(story_id.to_string()).lock(LockType::NoKeyUpdate).one(c).await?)
}

/// Writes story `s`'s status as its tasks' `statuses` (as stored) derive it,
/// when it changed; `s` must be locked ([`lock_story`]) and the statuses
/// read after the lock. Returns the story as it is now.
pub async fn settle_story<C: ConnectionTrait>(
    c: &C,
    s: story::Model,
    statuses: &[String],
    roll: &mut Rollup,
) -> AppResult<story::Model> {
    let story_id = s.id.clone();
    let tasks: Vec<TaskStatus> =
        statuses.iter().map(|s| TaskStatus::decode(s, "tasks.status")).collect::<Result<_, _>>()?;
    let from = StoryStatus::decode(&s.status, "stories.status")?;
    let to = match s.workflow_status.as_deref() {
        Some(w) => baton_domain::marketplace::workflow::backlog_status(
            baton_domain::marketplace::WorkflowStatus::decode(w, "stories.workflow_status")?,
            s.sprint_id.is_some(),
        ),
        None => rules::story_status(&tasks, s.sprint_id.is_some()),
    };
    if let Some(transition) = Transition::between(from, to) {
        story::Entity::update_many()
            .col_expr(story::Column::Status, Expr::value(to.as_db()))
            .col_expr(story::Column::UpdatedAt, Expr::value(now()))
            .filter(story::Column::Id.eq(story_id))
            .exec(c)
            .await?;
        roll.stories.push(Changed { id: s.id.clone(), transition });
        return Ok(story::Model { status: to.as_db().to_string(), ..s });
    }
    Ok(s)
}

/// The roll-ups above story `s` after [`settle_story`]: nothing when the
/// story kept its status (its PBI and sprint read the same inputs as
/// before); otherwise its PBI, then the sprints that may have changed.
pub async fn propagate_above<C: ConnectionTrait>(c: &C, s: &story::Model, roll: &mut Rollup) -> AppResult<()> {
    if roll.story(&s.id).is_none() {
        return Ok(());
    }
    let mut sprints: BTreeSet<String> = s.sprint_id.iter().cloned().collect();
    if recompute_pbi(c, &s.pbi_id, roll).await?.is_some() && roll.pbi(&s.pbi_id).is_some() {
        sprints.extend(sprints_of_pbi(c, &s.pbi_id).await?);
    }
    for id in &sprints {
        recompute_sprint(c, id, roll).await?;
    }
    Ok(())
}

/// Re-derives one PBI's status from its stories (BLOCKED stays); `None` if it does not exist.
pub async fn recompute_pbi<C: ConnectionTrait>(
    c: &C,
    pbi_id: &str,
    roll: &mut Rollup,
) -> AppResult<Option<pbi::Model>> {
    let Some(p) = pbi::Entity::find_by_id(pbi_id.to_string()).lock(LockType::NoKeyUpdate).one(c).await? else {
        return Ok(None);
    };
    let statuses: Vec<String> = story::Entity::find()
        .select_only()
        .column(story::Column::Status)
        .filter(story::Column::PbiId.eq(pbi_id))
        .into_tuple()
        .all(c)
        .await?;
    let stories: Vec<StoryStatus> =
        statuses.iter().map(|s| StoryStatus::decode(s, "stories.status")).collect::<Result<_, _>>()?;
    let from = PbiStatus::decode(&p.status, "pbis.status")?;
    let to = rules::pbi_status(from, &stories);
    if let Some(transition) = Transition::between(from, to) {
        pbi::Entity::update_many()
            .col_expr(pbi::Column::Status, Expr::value(to.as_db()))
            .col_expr(pbi::Column::UpdatedAt, Expr::value(now()))
            .filter(pbi::Column::Id.eq(pbi_id))
            .exec(c)
            .await?;
        roll.pbis.push(Changed { id: p.id.clone(), transition });
        return Ok(Some(pbi::Model { status: to.as_db().to_string(), ..p }));
    }
    Ok(Some(p))
}

/// Re-derives one sprint's status from the distinct PBIs of its stories.
/// Closing sets `completed_at`; leaving CLOSED clears it.
pub async fn recompute_sprint<C: ConnectionTrait>(
    c: &C,
    sprint_id: &str,
    roll: &mut Rollup,
) -> AppResult<Option<sprint::Model>> {
    let Some(sp) = sprint::Entity::find_by_id(sprint_id.to_string()).lock(LockType::NoKeyUpdate).one(c).await? else {
        return Ok(None);
    };
    let statuses: Vec<String> = pbi::Entity::find()
        .select_only()
        .column(pbi::Column::Status)
        .filter(
            pbi::Column::Id.in_subquery(
                Query::select()
                    .column(story::Column::PbiId)
                    .from(story::Entity)
                    .and_where(story::Column::SprintId.eq(sprint_id))
                    .to_owned(),
            ),
        )
        .into_tuple()
        .all(c)
        .await?;
    let pbis: Vec<PbiStatus> =
        statuses.iter().map(|s| PbiStatus::decode(s, "pbis.status")).collect::<Result<_, _>>()?;
    let from = SprintStatus::decode(&sp.status, "sprints.status")?;
    let to = rules::sprint_status(from, &pbis);
    let Some(transition) = Transition::between(from, to) else { return Ok(Some(sp)) };
    let t = now();
    let completed_at = match to {
        SprintStatus::Closed => Some(t),
        _ if from == SprintStatus::Closed => None,
        _ => sp.completed_at,
    };
    sprint::Entity::update_many()
        .col_expr(sprint::Column::Status, Expr::value(to.as_db()))
        .col_expr(sprint::Column::CompletedAt, Expr::value(completed_at))
        .col_expr(sprint::Column::UpdatedAt, Expr::value(t))
        .filter(sprint::Column::Id.eq(sprint_id))
        .exec(c)
        .await?;
    roll.sprints.push(Changed { id: sp.id.clone(), transition });
    Ok(Some(sprint::Model { status: to.as_db().to_string(), completed_at, updated_at: t, ..sp }))
}

/// The distinct sprints holding stories of a PBI.
async fn sprints_of_pbi<C: ConnectionTrait>(c: &C, pbi_id: &str) -> AppResult<Vec<String>> {
    let ids: Vec<Option<String>> = story::Entity::find()
        .select_only()
        .column(story::Column::SprintId)
        .distinct()
        .filter(story::Column::PbiId.eq(pbi_id))
        .filter(story::Column::SprintId.is_not_null())
        .into_tuple()
        .all(c)
        .await?;
    Ok(ids.into_iter().flatten().collect())
}

/// Sprint runs that are still going.
const ACTIVE_RUN: [SprintRunStatus; 3] = [SprintRunStatus::Queued, SprintRunStatus::Running, SprintRunStatus::Paused];

/// Whether a run in this status can still take task updates.
pub fn run_is_active(status: &str) -> AppResult<bool> {
    Ok(ACTIVE_RUN.contains(&SprintRunStatus::decode(status, "sprint_runs.status")?))
}

/// Step 5 of §4.3: when a sprint has just become FAILED or CLOSED because of
/// task `task_id`, finish its active run. The run is the explicit one, else
/// the newest run of a job on this task, else the sprint's newest active
/// run. A failed sprint fails the run (recording the task) and cancels the
/// run's other queued, claimed or running jobs; a closed sprint finishes it
/// as DONE. Runs already finished are left alone.
pub async fn settle_sprint_run<C: ConnectionTrait>(
    c: &C,
    sprint_id: &str,
    sprint_to: SprintStatus,
    task_id: &str,
    explicit_run: Option<&str>,
    roll: &mut Rollup,
) -> AppResult<()> {
    let run_to = match sprint_to {
        SprintStatus::Failed => SprintRunStatus::Failed,
        SprintStatus::Closed => SprintRunStatus::Done,
        _ => return Ok(()),
    };
    let mut run = match explicit_run {
        Some(id) => sprint_run::Entity::find_by_id(id.to_string()).one(c).await?,
        None => None,
    };
    if run.is_none() {
        let from_job: Option<Option<String>> = job::Entity::find()
            .select_only()
            .column(job::Column::SprintRunId)
            .filter(job::Column::TaskId.eq(task_id))
            .filter(job::Column::SprintRunId.is_not_null())
            .order_by_desc(job::Column::CreatedAt)
            .order_by_desc(job::Column::Id)
            .into_tuple()
            .one(c)
            .await?;
        if let Some(Some(id)) = from_job {
            run = sprint_run::Entity::find_by_id(id).one(c).await?;
        }
    }
    if run.is_none() {
        run = sprint_run::Entity::find()
            .filter(sprint_run::Column::SprintId.eq(sprint_id))
            .filter(sprint_run::Column::Status.is_in(ACTIVE_RUN.iter().map(|s| s.as_db())))
            .order_by_desc(sprint_run::Column::CreatedAt)
            .order_by_desc(sprint_run::Column::Id)
            .one(c)
            .await?;
    }
    let Some(run) = run.filter(|r| r.sprint_id == sprint_id) else { return Ok(()) };
    let from = SprintRunStatus::decode(&run.status, "sprint_runs.status")?;
    if !ACTIVE_RUN.contains(&from) {
        return Ok(());
    }
    let t = now();
    let mut update = sprint_run::Entity::update_many()
        .col_expr(sprint_run::Column::Status, Expr::value(run_to.as_db()))
        .col_expr(sprint_run::Column::FinishedAt, Expr::value(t))
        .col_expr(sprint_run::Column::UpdatedAt, Expr::value(t));
    if run_to == SprintRunStatus::Failed {
        update = update.col_expr(sprint_run::Column::FailedTaskId, Expr::value(task_id));
    }
    update.filter(sprint_run::Column::Id.eq(&run.id)).exec(c).await?;
    roll.sprint_runs.push(Changed { id: run.id.clone(), transition: Transition { from, to: run_to } });
    if run_to == SprintRunStatus::Failed {
        let live = [JobStatus::Queued, JobStatus::Claimed, JobStatus::Running];
        let others = Condition::any().add(job::Column::TaskId.is_null()).add(job::Column::TaskId.ne(task_id));
        let ids: Vec<String> = job::Entity::find()
            .select_only()
            .column(job::Column::Id)
            .filter(job::Column::SprintRunId.eq(&run.id))
            .filter(job::Column::Status.is_in(live.iter().map(|s| s.as_db())))
            .filter(others)
            .into_tuple()
            .all(c)
            .await?;
        if !ids.is_empty() {
            job::Entity::update_many()
                .col_expr(job::Column::Status, Expr::value(JobStatus::Cancelled.as_db()))
                .col_expr(
                    job::Column::Error,
                    Expr::value(format!("Cancelled: task {task_id} failed in same sprint run")),
                )
                .col_expr(job::Column::FinishedAt, Expr::value(t))
                .col_expr(job::Column::UpdatedAt, Expr::value(t))
                .filter(job::Column::Id.is_in(ids.clone()))
                .exec(c)
                .await?;
            roll.cancelled_jobs.extend(ids);
        }
    }
    Ok(())
}
