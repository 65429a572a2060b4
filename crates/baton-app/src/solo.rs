//! The solo board (reference §9.5, "Solo Paneel"): one person's view of a
//! product's active sprint — the stories assigned to them and the
//! unassigned ones they may take, each with its tasks, each task with its
//! latest agent job and whether an agent can be started on it now (the
//! rules of [`crate::agent_start`]).

use std::collections::HashMap;

use baton_domain::backlog::{StoryStatus, TaskStatus};
use baton_store::{
    entities::{job, task},
    sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder},
};
use serde::Serialize;

use crate::{
    Actor, App, AppResult,
    agent_start::{StartBlocker, start_blockers},
    products::ContextSprint,
    queue::{JobView, enqueue::ACTIVE_STATUSES, job_view},
};

/// A task on the solo board.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SoloTask {
    /// Task id.
    pub id: String,
    /// `T-N`.
    pub code: String,
    /// Title.
    pub title: String,
    /// todo | in_progress | review | done | failed | excluded.
    pub status: TaskStatus,
    /// 1 (critical) to 4.
    pub priority: i32,
    /// Whether it has an implementation plan.
    pub has_plan: bool,
    /// Its newest agent job, whatever its status.
    pub job: Option<JobView>,
    /// Why "Start agent" cannot run now; empty = it can.
    pub blockers: Vec<StartBlocker>,
}

/// A story on the solo board, with its tasks in order.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SoloStory {
    /// Story id.
    pub id: String,
    /// `ST-NNN`.
    pub code: String,
    /// Title.
    pub title: String,
    /// open | in_sprint | done | failed.
    pub status: StoryStatus,
    /// 1 (critical) to 4.
    pub priority: i32,
    /// Who works on it (`None` = free to take).
    pub assignee_id: Option<String>,
    /// Its tasks.
    pub tasks: Vec<SoloTask>,
}

/// The caller's solo board of a product.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SoloBoard {
    /// The active sprint (the newest open one); `None` when there is none.
    pub sprint: Option<ContextSprint>,
    /// Stories of the sprint assigned to the caller, in execution order.
    pub mine: Vec<SoloStory>,
    /// Stories of the sprint assigned to nobody, in execution order.
    pub unassigned: Vec<SoloStory>,
    /// Whether one of the caller's workers could take a job now.
    pub worker_connected: bool,
}

impl App {
    /// The caller's solo board of a product (id or code). Stories assigned
    /// to other people are not on it.
    pub async fn solo_board(&self, actor: &Actor, product_ref: &str) -> AppResult<SoloBoard> {
        let ctx = self.product_context(actor, product_ref).await?;
        let worker_connected = self.worker_connected(&actor.user_id, &ctx.product.id).await?;
        let Some(sprint) = ctx.active_sprint else {
            return Ok(SoloBoard { sprint: None, mine: vec![], unassigned: vec![], worker_connected });
        };
        let board = self.sprint_board(actor, &sprint.id).await?;
        let relevant: Vec<_> = board
            .stories
            .into_iter()
            .filter(|s| s.assignee_id.is_none() || s.assignee_id.as_deref() == Some(actor.user_id.as_str()))
            .collect();
        let task_ids: Vec<String> = relevant.iter().flat_map(|s| s.tasks.iter().map(|t| t.id.clone())).collect();
        // Plans and jobs of the board's tasks: two reads, whatever the size.
        let mut plans: HashMap<String, bool> = HashMap::new();
        let mut latest: HashMap<String, JobView> = HashMap::new();
        let mut live: HashMap<String, JobView> = HashMap::new();
        for chunk in task_ids.chunks(500) {
            for t in task::Entity::find().filter(task::Column::Id.is_in(chunk.to_vec())).all(&self.db).await? {
                plans.insert(t.id, t.implementation_plan.is_some_and(|p| !p.trim().is_empty()));
            }
            let jobs = job::Entity::find()
                .filter(job::Column::TaskId.is_in(chunk.to_vec()))
                .order_by_asc(job::Column::CreatedAt)
                .order_by_asc(job::Column::Id)
                .all(&self.db)
                .await?;
            let active: Vec<&str> = ACTIVE_STATUSES.iter().map(|s| s.as_db()).collect();
            for j in jobs {
                let Some(tid) = j.task_id.clone() else { continue };
                let is_live = active.contains(&j.status.as_str());
                let v = job_view(j)?;
                // Oldest live job (the one the enqueue rule names), newest job overall.
                if is_live && !live.contains_key(&tid) {
                    live.insert(tid.clone(), v.clone());
                }
                latest.insert(tid, v);
            }
        }
        let mut mine = vec![];
        let mut unassigned = vec![];
        for s in relevant {
            let tasks = s
                .tasks
                .into_iter()
                .map(|t| {
                    let has_plan = plans.get(&t.id).copied().unwrap_or(false);
                    let plan = has_plan.then_some("plan");
                    let blockers =
                        start_blockers(&t.code, plan, live.get(&t.id), worker_connected, ctx.product.archived);
                    SoloTask {
                        job: latest.remove(&t.id),
                        id: t.id,
                        code: t.code,
                        title: t.title,
                        status: t.status,
                        priority: t.priority,
                        has_plan,
                        blockers,
                    }
                })
                .collect();
            let story = SoloStory {
                id: s.id,
                code: s.code,
                title: s.title,
                status: s.status,
                priority: s.priority,
                assignee_id: s.assignee_id,
                tasks,
            };
            if story.assignee_id.is_some() { mine.push(story) } else { unassigned.push(story) }
        }
        Ok(SoloBoard { sprint: Some(sprint), mine, unassigned, worker_connected })
    }
}
