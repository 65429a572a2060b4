//! The queue's side of sprint runs, called from `queue::claim` and
//! `queue::complete` inside their transactions:
//!
//! * [`on_claim`]: a claimed `SPRINT_IMPLEMENTATION` job gets its frozen
//!   scope (reference §6.2): one execution per TO_DO task in execution
//!   order with the plan and verify rules snapshotted, the run's branch
//!   (`feat/sprint-<last8 run id>`, or the previous run's on a resume), and
//!   the payload fields a batch worker needs. A per-task job of a run gets
//!   its strategy's branch.
//! * [`done_gate`]: the aggregate gate (§6.3) a batch job must pass before
//!   `done`; every blocker is listed, one per line.
//! * [`after_report`]: finalisation on `done` (every story DONE or FAILED →
//!   run DONE), and pause (`QUOTA_PAUSE:`) or failure on `failed` (§6.4).

use std::collections::{HashMap, HashSet};

use baton_domain::{
    agents::{JobKind, JobStatus, PauseReason, SprintRunStatus, TaskExecutionStatus},
    backlog::{PbiStatus, PrStrategy, StoryStatus, VerifyRequired, VerifyResult},
    verify,
};
use baton_store::{
    entities::{job, product, sprint, sprint_run, sprint_task_execution, story, task},
    new_id, now,
    sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder},
};
use serde::Serialize;
use serde_json::{Value as Json, json};

use super::{last8, scope, sprint_branch};
use crate::{AppError, AppResult, queue::enqueue::ACTIVE_STATUSES};

/// How many characters of a worker's error become the run's `failure_reason`.
pub const MAX_FAILURE_REASON: usize = 500;
/// A batch job failed with an error starting with this pauses its run
/// (quota ran out) instead of failing it.
pub const QUOTA_PAUSE: &str = "QUOTA_PAUSE:";

/// What a batch worker receives on top of the common claim payload
/// (reference §6.2); flattened into it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SprintBatchClaim {
    /// `{id, pr_strategy, branch, previous_run_id}`.
    #[schema(value_type = Object)]
    pub sprint_run: Json,
    /// The PBIs of the stories in scope, without repeats: `{id, code, title, priority, sort_order, status}`.
    #[schema(value_type = Vec<Object>)]
    pub pbis: Vec<Json>,
    /// The stories in scope: `{id, code, title, pbi_id, priority, sort_order, status}`.
    #[schema(value_type = Vec<Object>)]
    pub stories: Vec<Json>,
    /// The frozen task list in order: `{execution_id, task_id, code, title, story_id, order,
    /// plan_snapshot, verify_required, verify_only, base_sha, status}`.
    #[schema(value_type = Vec<Object>)]
    pub task_executions: Vec<Json>,
    /// The branch to work on (create it, or check it out on a resume).
    pub branch_name: String,
    /// The repository to clone.
    pub repo_url: Option<String>,
    /// The base commit; null until the worker reports it (`update_job_status running` with `base_sha`).
    pub base_sha: Option<String>,
}

fn status_db(s: TaskExecutionStatus) -> &'static str {
    s.as_db()
}

/// Runs at claim time for jobs of a sprint run, in the claim transaction.
/// Returns the job as updated (its branch) and, for a batch job, the
/// payload additions; `sprint` and `product` of the payload are replaced by
/// the batch forms.
pub(crate) async fn on_claim<C: ConnectionTrait>(
    c: &C,
    m: job::Model,
    sprint_json: &mut Option<Json>,
    product_json: &mut Json,
    branch_suggestion: &mut String,
) -> AppResult<(job::Model, Option<SprintBatchClaim>)> {
    let Some(run_id) = m.sprint_run_id.clone() else { return Ok((m, None)) };
    let Some(run) = sprint_run::Entity::find_by_id(run_id).one(c).await? else { return Ok((m, None)) };
    let strategy = PrStrategy::decode(&run.pr_strategy, "sprint_runs.pr_strategy")?;
    let kind = JobKind::decode(&m.kind, "jobs.kind")?;
    let t = now();
    if kind == JobKind::TaskImplementation {
        // Per-task strategies: STORY shares a branch per story, SPRINT one per run.
        let branch = match strategy {
            PrStrategy::Story => match &m.task_id {
                Some(tid) => match task::Entity::find_by_id(tid.clone()).one(c).await? {
                    Some(tk) => format!("feat/story-{}", last8(&tk.story_id)),
                    None => return Ok((m, None)),
                },
                None => return Ok((m, None)),
            },
            _ => run.branch.clone().unwrap_or_else(|| sprint_branch(&run.id)),
        };
        if strategy != PrStrategy::Story && run.branch.is_none() {
            let mut r: sprint_run::ActiveModel = run.into();
            r.branch = Set(Some(branch.clone()));
            r.updated_at = Set(t);
            r.update(c).await?;
        }
        *branch_suggestion = branch.clone();
        let mut am: job::ActiveModel = m.into();
        am.branch = Set(Some(branch));
        return Ok((am.update(c).await?, None));
    }
    if kind != JobKind::SprintImplementation {
        return Ok((m, None));
    }

    // The branch: a resumed run (chained, with a branch) keeps it.
    let branch = match (&run.previous_run_id, &run.branch) {
        (Some(_), Some(b)) => b.clone(),
        _ => sprint_branch(&run.id),
    };
    let mut existing: Vec<sprint_task_execution::Model> = sprint_task_execution::Entity::find()
        .filter(sprint_task_execution::Column::SprintJobId.eq(&m.id))
        .order_by_asc(sprint_task_execution::Column::RunOrder)
        .all(c)
        .await?;
    if existing.is_empty() {
        let scope = scope::load(c, &run.sprint_id).await?;
        for (i, tk) in scope.tasks.iter().enumerate() {
            let order = i32::try_from(i).map_err(|_| AppError::Conflict("too many tasks for one batch".into()))?;
            let row = sprint_task_execution::ActiveModel {
                id: Set(new_id()),
                sprint_job_id: Set(m.id.clone()),
                task_id: Set(tk.id.clone()),
                run_order: Set(order),
                plan_snapshot: Set(tk.implementation_plan.clone().unwrap_or_default()),
                verify_required_snapshot: Set(tk.verify_required.clone()),
                verify_only_snapshot: Set(tk.verify_only),
                base_sha: Set(if i == 0 { m.base_sha.clone() } else { None }),
                status: Set(status_db(TaskExecutionStatus::Pending).into()),
                created_at: Set(t),
                updated_at: Set(t),
                ..Default::default()
            }
            .insert(c)
            .await?;
            existing.push(row);
        }
    } else {
        // A reclaim after a lease expiry: the scope stays frozen (inserting
        // it again would trip the (job, task) unique index). Finished work
        // stays finished; what the lost worker left unfinished is pending again.
        for x in existing.iter_mut() {
            let st = TaskExecutionStatus::decode(&x.status, "sprint_task_executions.status")?;
            if matches!(st, TaskExecutionStatus::Running | TaskExecutionStatus::Failed) {
                let mut am: sprint_task_execution::ActiveModel = x.clone().into();
                am.status = Set(status_db(TaskExecutionStatus::Pending).into());
                am.started_at = Set(None);
                am.finished_at = Set(None);
                am.verify_result = Set(None);
                am.verify_summary = Set(None);
                am.head_sha = Set(None);
                am.updated_at = Set(t);
                *x = am.update(c).await?;
            }
        }
    }

    let mut r: sprint_run::ActiveModel = run.clone().into();
    r.branch = Set(Some(branch.clone()));
    r.updated_at = Set(t);
    let run = r.update(c).await?;
    let mut am: job::ActiveModel = m.into();
    am.branch = Set(Some(branch.clone()));
    let m = am.update(c).await?;

    let task_ids: Vec<String> = existing.iter().map(|x| x.task_id.clone()).collect();
    let tasks: HashMap<String, task::Model> = task::Entity::find()
        .filter(task::Column::Id.is_in(task_ids))
        .all(c)
        .await?
        .into_iter()
        .map(|t| (t.id.clone(), t))
        .collect();
    let story_ids: HashSet<String> = tasks.values().map(|t| t.story_id.clone()).collect();
    let stories: HashMap<String, story::Model> = story::Entity::find()
        .filter(story::Column::Id.is_in(story_ids))
        .all(c)
        .await?
        .into_iter()
        .map(|s| (s.id.clone(), s))
        .collect();
    let pbi_ids: HashSet<String> = stories.values().map(|s| s.pbi_id.clone()).collect();
    let pbis = super::scope::pbis_by_id(c, pbi_ids).await?;
    let (mut story_out, mut pbi_out, mut seen_s, mut seen_p) = (Vec::new(), Vec::new(), HashSet::new(), HashSet::new());
    let mut execs = Vec::with_capacity(existing.len());
    for x in &existing {
        let tk = tasks.get(&x.task_id);
        let st = tk.and_then(|t| stories.get(&t.story_id));
        if let Some(st) = st
            && seen_s.insert(st.id.clone())
        {
            if let Some(p) = pbis.get(&st.pbi_id)
                && seen_p.insert(p.id.clone())
            {
                pbi_out.push(json!({"id": p.id, "code": p.code, "title": p.title, "priority": p.priority,
                    "sort_order": p.sort_order, "status": PbiStatus::decode(&p.status, "pbis.status")?.as_api()}));
            }
            story_out.push(json!({"id": st.id, "code": st.code, "title": st.title, "pbi_id": st.pbi_id,
                "priority": st.priority, "sort_order": st.sort_order,
                "status": StoryStatus::decode(&st.status, "stories.status")?.as_api()}));
        }
        execs.push(json!({
            "execution_id": x.id,
            "task_id": x.task_id,
            "code": tk.map(|t| t.code.clone()),
            "title": tk.map(|t| t.title.clone()),
            "story_id": tk.map(|t| t.story_id.clone()),
            "order": x.run_order,
            "plan_snapshot": x.plan_snapshot,
            "verify_required":
                VerifyRequired::decode(&x.verify_required_snapshot, "sprint_task_executions.verify_required_snapshot")?.as_api(),
            "verify_only": x.verify_only_snapshot,
            "base_sha": if x.run_order == 0 { x.base_sha.clone() } else { None },
            "status": TaskExecutionStatus::decode(&x.status, "sprint_task_executions.status")?.as_api(),
        }));
    }
    let sp = sprint::Entity::find_by_id(run.sprint_id.clone()).one(c).await?;
    if let Some(sp) = &sp {
        *sprint_json = Some(json!({"id": sp.id, "code": sp.code, "sprint_goal": sp.sprint_goal,
            "status": sp.status.to_lowercase()}));
    }
    let p = product::Entity::find_by_id(m.product_id.clone()).one(c).await?;
    if let Some(p) = &p {
        *product_json = json!({"id": p.id, "code": p.code, "name": p.name, "repo_url": p.repo_url,
            "definition_of_done": p.definition_of_done, "auto_pr": p.auto_pr});
    }
    *branch_suggestion = branch.clone();
    let claim = SprintBatchClaim {
        sprint_run: json!({"id": run.id, "pr_strategy": strategy.as_api(), "branch": run.branch,
            "previous_run_id": run.previous_run_id}),
        pbis: pbi_out,
        stories: story_out,
        task_executions: execs,
        branch_name: branch,
        repo_url: p.and_then(|p| p.repo_url),
        base_sha: m.base_sha.clone(),
    };
    Ok((m, Some(claim)))
}

/// The aggregate gate of a batch job before `done` (reference §6.3): every
/// execution must be finished and verified; the refusal lists each blocker
/// on its own line and changes nothing.
pub(crate) async fn done_gate<C: ConnectionTrait>(c: &C, m: &job::Model) -> AppResult<()> {
    let execs: Vec<sprint_task_execution::Model> = sprint_task_execution::Entity::find()
        .filter(sprint_task_execution::Column::SprintJobId.eq(&m.id))
        .order_by_asc(sprint_task_execution::Column::RunOrder)
        .all(c)
        .await?;
    if execs.is_empty() {
        return Err(AppError::Conflict(
            "SPRINT_GATE: this job has no task executions (claim bug); fail it so it can be reclaimed".into(),
        ));
    }
    let codes: HashMap<String, String> = task::Entity::find()
        .filter(task::Column::Id.is_in(execs.iter().map(|x| x.task_id.clone())))
        .all(c)
        .await?
        .into_iter()
        .map(|t| (t.id, t.code))
        .collect();
    let mut blockers = Vec::new();
    for x in &execs {
        let label =
            format!("{} (order {})", codes.get(&x.task_id).map_or(x.task_id.as_str(), String::as_str), x.run_order);
        let required =
            VerifyRequired::decode(&x.verify_required_snapshot, "sprint_task_executions.verify_required_snapshot")?;
        match TaskExecutionStatus::decode(&x.status, "sprint_task_executions.status")? {
            TaskExecutionStatus::Done => {
                let result = x
                    .verify_result
                    .as_deref()
                    .map(|v| VerifyResult::decode(v, "sprint_task_executions.verify_result"))
                    .transpose()?;
                if let Err(r) = verify::gate(result, x.verify_only_snapshot, required, x.verify_summary.as_deref()) {
                    blockers
                        .push(format!("{label}: {}", r.0.replace("verify_task_against_plan", "verify_sprint_task")));
                }
            }
            TaskExecutionStatus::Skipped if required == VerifyRequired::Any => {}
            TaskExecutionStatus::Skipped => blockers.push(format!(
                "{label}: skipped, but the task requires {} (only any allows a skip)",
                required.as_api()
            )),
            TaskExecutionStatus::Failed => blockers.push(format!("{label}: failed")),
            other => blockers.push(format!("{label}: {} — unfinished work", other.as_api())),
        }
    }
    if blockers.is_empty() {
        return Ok(());
    }
    Err(AppError::Conflict(format!(
        "SPRINT_GATE: {} of {} task executions block done:\n{}",
        blockers.len(),
        execs.len(),
        blockers.join("\n")
    )))
}

/// After a sprint-run job's report was written and propagated (same
/// transaction). Batch jobs: `done` finalises the run when every story of
/// the sprint is DONE or FAILED; `failed` pauses the run (`QUOTA_PAUSE:`)
/// or fails it. Per-task jobs: the last one done finalises the run the same
/// way. Returns the run if it changed. Runs already finished are left alone
/// (idempotent).
pub(crate) async fn after_report<C: ConnectionTrait>(
    c: &C,
    m: &job::Model,
    to: JobStatus,
) -> AppResult<Option<sprint_run::Model>> {
    let kind = JobKind::decode(&m.kind, "jobs.kind")?;
    let Some(run_id) = &m.sprint_run_id else { return Ok(None) };
    let Some(run) = sprint_run::Entity::find_by_id(run_id.clone()).one(c).await? else { return Ok(None) };
    if !SprintRunStatus::decode(&run.status, "sprint_runs.status")?.is_active() {
        return Ok(None);
    }
    if kind == JobKind::TaskImplementation {
        // Per-task runs finish through propagation when the sprint closes;
        // when it cannot close (a PBI has work outside the sprint), the run
        // finalises once its last job is done, like a batch run.
        if to != JobStatus::Done {
            return Ok(None);
        }
        let live = job::Entity::find()
            .filter(job::Column::SprintRunId.eq(&run.id))
            .filter(job::Column::Status.is_in(ACTIVE_STATUSES.iter().map(|s| s.as_db())))
            .one(c)
            .await?;
        if live.is_some() {
            return Ok(None);
        }
        return finalise(c, run).await;
    }
    if kind != JobKind::SprintImplementation {
        return Ok(None);
    }
    let t = now();
    match to {
        JobStatus::Done => finalise(c, run).await,
        JobStatus::Failed => {
            let error = m.error.clone().unwrap_or_default();
            let mut am: sprint_run::ActiveModel = run.clone().into();
            if error.trim_start().starts_with(QUOTA_PAUSE) {
                let last = sprint_task_execution::Entity::find()
                    .filter(sprint_task_execution::Column::SprintJobId.eq(&m.id))
                    .filter(sprint_task_execution::Column::Status.eq(TaskExecutionStatus::Done.as_db()))
                    .order_by_desc(sprint_task_execution::Column::RunOrder)
                    .one(c)
                    .await?;
                am.status = Set(SprintRunStatus::Paused.as_db().into());
                am.pause_context = Set(Some(json!({
                    "pause_reason": PauseReason::QuotaDepleted.as_db(),
                    "paused_at": t.to_rfc3339(),
                    "resume_instructions": format!(
                        "The agent ran out of quota. Resume the run when quota is available \
                         (POST /api/sprint-runs/{}/resume); a new run continues on branch {} with the tasks still in todo.",
                        run.id,
                        run.branch.as_deref().unwrap_or("(none)")
                    ),
                    "pr_url": run.pr_url,
                    "pr_head_sha": m.head_sha,
                    "conflict_files": [],
                    "claude_question_id": "",
                    "last_completed_execution_id": last.as_ref().map(|x| x.id.clone()),
                    "last_completed_order": last.as_ref().map(|x| x.run_order),
                    "last_completed_task_id": last.as_ref().map(|x| x.task_id.clone()),
                })));
            } else {
                let reason: String = if error.trim().is_empty() {
                    "sprint job failed without an error message".into()
                } else {
                    error.chars().take(MAX_FAILURE_REASON).collect()
                };
                am.status = Set(SprintRunStatus::Failed.as_db().into());
                am.failure_reason = Set(Some(reason));
                am.failed_task_id = Set(failed_task(c, &m.product_id, &error).await?);
                am.finished_at = Set(Some(t));
            }
            am.updated_at = Set(t);
            Ok(Some(am.update(c).await?))
        }
        _ => Ok(None),
    }
}

/// Sets an active run DONE if every story of its sprint is DONE or FAILED
/// (reference §6.3 finalisation); otherwise leaves it.
async fn finalise<C: ConnectionTrait>(c: &C, run: sprint_run::Model) -> AppResult<Option<sprint_run::Model>> {
    let open = story::Entity::find()
        .filter(story::Column::SprintId.eq(&run.sprint_id))
        .filter(story::Column::Status.is_not_in([StoryStatus::Done.as_db(), StoryStatus::Failed.as_db()]))
        .one(c)
        .await?;
    if open.is_some() {
        return Ok(None);
    }
    let t = now();
    let mut am: sprint_run::ActiveModel = run.into();
    am.status = Set(SprintRunStatus::Done.as_db().into());
    am.finished_at = Set(Some(t));
    am.updated_at = Set(t);
    Ok(Some(am.update(c).await?))
}

/// The task named in an error by a `task: <id or code>` pattern, if it is a
/// task of the product (anything else is ignored: the column is a foreign key).
async fn failed_task<C: ConnectionTrait>(c: &C, product_id: &str, error: &str) -> AppResult<Option<String>> {
    let lower = error.to_ascii_lowercase();
    let Some(at) = lower.find("task:") else { return Ok(None) };
    let rest = error[at + "task:".len()..].trim_start();
    let token: String = rest.chars().take_while(|ch| ch.is_ascii_alphanumeric() || *ch == '-' || *ch == '_').collect();
    if token.is_empty() {
        return Ok(None);
    }
    let hit = task::Entity::find()
        .filter(task::Column::ProductId.eq(product_id))
        .filter(task::Column::Id.eq(&token))
        .one(c)
        .await?;
    let hit = match hit {
        Some(t) => Some(t),
        None => {
            task::Entity::find()
                .filter(task::Column::ProductId.eq(product_id))
                .filter(task::Column::Code.eq(token.to_ascii_uppercase()))
                .one(c)
                .await?
        }
    };
    Ok(hit.map(|t| t.id))
}
