//! The scope of a sprint run and its pre-flight check (reference §6.1 steps
//! 3–4): the sprint's unfinished stories and their TO_DO tasks, flattened in
//! execution order (PBI → story → task `sort_order`, ties by `created_at`
//! then id, reference §4.2), and everything that blocks a start.

use std::collections::{HashMap, HashSet};

use baton_domain::{
    agents::QuestionStatus,
    backlog::{PbiStatus, PrStrategy, StoryStatus, TaskStatus},
};
use baton_store::{
    entities::{job, pbi, product, question, story, task},
    now,
    sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter},
};

use crate::{AppError, AppResult, queue::enqueue::ACTIVE_STATUSES};

/// The work a run covers, in execution order.
#[derive(Debug, Clone, Default)]
pub(crate) struct Scope {
    /// PBIs of the stories in scope, in execution order, without repeats.
    pub pbis: Vec<pbi::Model>,
    /// Stories in scope (not DONE), in execution order.
    pub stories: Vec<story::Model>,
    /// TO_DO tasks of those stories, in execution order.
    pub tasks: Vec<task::Model>,
}

/// Loads the scope of sprint `sprint_id`: stories in it that are not DONE
/// and their TO_DO tasks, flattened in execution order.
pub(crate) async fn load<C: ConnectionTrait>(c: &C, sprint_id: &str) -> AppResult<Scope> {
    let stories: Vec<story::Model> = story::Entity::find()
        .filter(story::Column::SprintId.eq(sprint_id))
        .filter(story::Column::Status.ne(StoryStatus::Done.as_db()))
        .all(c)
        .await?;
    if stories.is_empty() {
        return Ok(Scope::default());
    }
    let pbi_ids: HashSet<String> = stories.iter().map(|s| s.pbi_id.clone()).collect();
    let pbis = pbis_by_id(c, pbi_ids).await?;
    let mut stories = stories;
    // Stories whose PBI vanished cannot be ordered; they are not in scope.
    stories.retain(|s| pbis.contains_key(&s.pbi_id));
    stories.sort_by(|a, b| {
        let (pa, pb) = (&pbis[&a.pbi_id], &pbis[&b.pbi_id]);
        pa.sort_order
            .total_cmp(&pb.sort_order)
            .then_with(|| pa.created_at.cmp(&pb.created_at))
            .then_with(|| pa.id.cmp(&pb.id))
            .then_with(|| a.sort_order.total_cmp(&b.sort_order))
            .then_with(|| a.created_at.cmp(&b.created_at))
            .then_with(|| a.id.cmp(&b.id))
    });
    let story_ids: Vec<String> = stories.iter().map(|s| s.id.clone()).collect();
    let mut by_story: HashMap<String, Vec<task::Model>> = HashMap::new();
    for t in task::Entity::find()
        .filter(task::Column::StoryId.is_in(story_ids))
        .filter(task::Column::Status.eq(TaskStatus::ToDo.as_db()))
        .all(c)
        .await?
    {
        by_story.entry(t.story_id.clone()).or_default().push(t);
    }
    let mut out = Scope::default();
    let mut seen = HashSet::new();
    for s in stories {
        if seen.insert(s.pbi_id.clone()) {
            out.pbis.push(pbis[&s.pbi_id].clone());
        }
        let mut ts = by_story.remove(&s.id).unwrap_or_default();
        ts.sort_by(|a, b| {
            a.sort_order
                .total_cmp(&b.sort_order)
                .then_with(|| a.created_at.cmp(&b.created_at))
                .then_with(|| a.id.cmp(&b.id))
        });
        out.tasks.extend(ts);
        out.stories.push(s);
    }
    Ok(out)
}

/// Collects every pre-flight blocker of a start (reference §6.1 step 4) as
/// `<type> <label>` entries, in a stable order: `task_no_plan`,
/// `open_question`, `pbi_blocked`, `task_cross_repo`, then `task_has_job`
/// (a task that already has a queued, claimed or running job, e.g. from a
/// manual "start agent": a run would otherwise give it a second job).
pub(crate) async fn blockers<C: ConnectionTrait>(
    c: &C,
    sprint_id: &str,
    scope: &Scope,
    product: &product::Model,
    strategy: PrStrategy,
) -> AppResult<Vec<String>> {
    let mut out = Vec::new();
    for t in &scope.tasks {
        if t.implementation_plan.as_deref().is_none_or(|p| p.trim().is_empty()) {
            out.push(format!("task_no_plan {}", t.code));
        }
    }
    // Open questions on any story of the sprint (not only those in scope):
    // an unanswered question means someone is still deciding something.
    let sprint_stories: Vec<story::Model> =
        story::Entity::find().filter(story::Column::SprintId.eq(sprint_id)).all(c).await?;
    let codes: HashMap<String, String> = sprint_stories.iter().map(|s| (s.id.clone(), s.code.clone())).collect();
    let open: Vec<question::Model> = question::Entity::find()
        .filter(question::Column::StoryId.is_in(codes.keys().cloned().collect::<Vec<_>>()))
        .filter(question::Column::Status.eq(QuestionStatus::Open.as_db()))
        .filter(question::Column::ExpiresAt.gt(now()))
        .all(c)
        .await?;
    let mut asked: Vec<&String> =
        open.iter().filter_map(|q| q.story_id.as_ref()).filter_map(|id| codes.get(id)).collect();
    asked.sort();
    asked.dedup();
    out.extend(asked.into_iter().map(|code| format!("open_question {code}")));
    for p in &scope.pbis {
        if matches!(PbiStatus::decode(&p.status, "pbis.status")?, PbiStatus::Blocked | PbiStatus::Failed) {
            out.push(format!("pbi_blocked {}", p.code));
        }
    }
    if strategy == PrStrategy::SprintBatch {
        let home = product.repo_url.as_deref().map(str::trim).unwrap_or("");
        for t in &scope.tasks {
            if let Some(r) = t.repo_url.as_deref().map(str::trim).filter(|r| !r.is_empty())
                && r != home
            {
                out.push(format!("task_cross_repo {}", t.code));
            }
        }
    }
    let ids: Vec<String> = scope.tasks.iter().map(|t| t.id.clone()).collect();
    if !ids.is_empty() {
        let busy: HashSet<String> = job::Entity::find()
            .filter(job::Column::TaskId.is_in(ids))
            .filter(job::Column::Status.is_in(ACTIVE_STATUSES.iter().map(|s| s.as_db())))
            .all(c)
            .await?
            .into_iter()
            .filter_map(|j| j.task_id)
            .collect();
        for t in scope.tasks.iter().filter(|t| busy.contains(&t.id)) {
            out.push(format!("task_has_job {}", t.code));
        }
    }
    Ok(out)
}

/// The refusal for a start with blockers: `PRE_FLIGHT_BLOCKED: a; b; …`.
pub(crate) fn blocked(blockers: &[String]) -> AppError {
    AppError::Conflict(format!("PRE_FLIGHT_BLOCKED: {}", blockers.join("; ")))
}

/// The PBIs with these ids, by id (scope ordering and the claim payload).
pub(crate) async fn pbis_by_id<C: ConnectionTrait>(
    c: &C,
    ids: HashSet<String>,
) -> AppResult<HashMap<String, pbi::Model>> {
    Ok(pbi::Entity::find()
        .filter(pbi::Column::Id.is_in(ids))
        .all(c)
        .await?
        .into_iter()
        .map(|p| (p.id.clone(), p))
        .collect())
}
