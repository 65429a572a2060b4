//! Materialization: turning an idea's plan into a PBI with stories and
//! tasks (agent-backlog reference §7.4), in one transaction.
//!
//! The transaction locks the product (codes and sort orders never race with
//! other backlog writes) and then the owner's row (the idea never races with
//! a dispatch or a plan write). Every check runs inside it, so a refusal
//! leaves the database exactly as it was.
//!
//! 1. The idea is the caller's own, in PLAN_READY or PLAN_REVIEWED (409
//!    naming the status), with a product (409), which the caller may change.
//! 2. Source: the idea's current `plan_md`, pinned as the newest PLANS
//!    revision (the revision written when it parsed, or a new one when the
//!    plan predates revisions). There is no plan-review data model yet, so a
//!    PLAN_REVIEWED idea uses its current plan too (no STALE_PLAN check).
//!    No plan → 409; a plan that does not parse → 409 with the errors.
//! 3. Re-materializing an idea that already has a PBI: when that PBI has
//!    tasks IN_PROGRESS or DONE the answer is 409
//!    `PBI_HAS_ACTIVE_TASKS:<code>` unless `allow_alongside` (then the old
//!    PBI stays and the new one is created next to it); with none, the old
//!    PBI is deleted with its stories and tasks and a new one created.
//! 4. Codes are allocated once, up front, from the product's counters (the
//!    same `allocate_code` as `create_pbi`/`create_story`/`create_task`):
//!    `PBI-n` at the end of the backlog, status READY; stories `ST-nnn`,
//!    sort order 1..k in plan order, status OPEN, the story's priority;
//!    tasks `T-n`, sort order 1..m within their story, status TO_DO,
//!    `verify_only` default false, `verify_required` default
//!    ALIGNED_OR_PARTIAL with the exploration downgrade
//!    (`idea_lifecycle::materialized_verify_required`: ALIGNED becomes
//!    ALIGNED_OR_PARTIAL when the plan only reads some of the files it names).
//!    **Task priority**: each task keeps its own `priority` from the plan.
//!    The reference's materializer copies the story's priority onto every
//!    task, which it calls a likely quirk; the plan grammar requires a
//!    priority per task and people set it deliberately, so we honour it.
//! 5. The idea gets `pbi_id`, status PLANNED, and `pbi_docs` links (PLAN,
//!    and GRILL when the idea has a grill) to the revisions used.
//! 6. `build_sprint`: an OPEN sprint coded `S-<YYYY-MM-DD>-<idea code lower>`
//!    (at most 30 characters; `-2`, `-3`, … when taken), goal = the plan's
//!    `sprint.goal` or the PBI title; every new story IN_SPRINT in it, their
//!    tasks' `sprint_id` set; `ideas.build_sprint_id` records it (cleared
//!    when a re-materialization builds none).
//! 7. A PLAN_RESULT log "Materialized into PBI-x (N stories, M tasks)", plus
//!    a line naming downgraded tasks; metadata `{pbi_id, pbi_code,
//!    story_count, task_count, downgraded_task_codes?, plan_revision_id}`.

use baton_domain::{
    backlog::{PbiStatus, SprintStatus, StoryStatus, TaskStatus},
    codes::CodeKind,
    idea_lifecycle::materialized_verify_required,
    ideas::IdeaLogType,
    plan_md::parse_plan_md,
};
use baton_store::{
    entities::{idea, pbi, pbi_doc, sprint, story, task},
    new_id, now,
    repo::sprints as sprint_repo,
    sea_orm::{
        ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
        QuerySelect,
    },
};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{
    dispatch::guard_materialize_status,
    docs::{GRILLS, PLANS, latest_revision, pin_revision},
    find_own,
    logs::add_log,
};
use crate::{
    Actor, App, AppError, AppResult, access,
    backlog::{
        ordered::code_and_slot,
        propagation::{Rollup, Seeds, propagate},
    },
    products,
    txn::{allocate_code, in_product_txn, lock_user},
};

/// Longest sprint code (as for sprints created by hand).
const MAX_SPRINT_CODE: usize = 30;

/// Options of a materialization.
#[derive(Debug, Clone, Copy, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MaterializeInput {
    /// Also create an OPEN sprint for the new stories (default false).
    #[serde(default)]
    pub build_sprint: bool,
    /// Keep an earlier PBI of this idea that has tasks in progress or done
    /// and create the new one alongside it (default false: refused).
    #[serde(default)]
    pub allow_alongside: bool,
}

/// What a materialization created.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct MaterializeResult {
    /// The new PBI.
    pub pbi_id: String,
    /// Its code (`PBI-n`).
    pub pbi_code: String,
    /// The new stories, in plan order.
    pub story_ids: Vec<String>,
    /// The new tasks, in plan order.
    pub task_ids: Vec<String>,
    /// The product they are in.
    pub product_id: String,
    /// The sprint built for them, when asked.
    pub build_sprint_id: Option<String>,
}

/// The idea's PBI's tasks that are in progress or done.
async fn active_task_count<C: ConnectionTrait>(c: &C, pbi_id: &str) -> AppResult<u64> {
    let story_ids: Vec<String> = story::Entity::find()
        .select_only()
        .column(story::Column::Id)
        .filter(story::Column::PbiId.eq(pbi_id))
        .into_tuple()
        .all(c)
        .await?;
    if story_ids.is_empty() {
        return Ok(0);
    }
    Ok(task::Entity::find()
        .filter(task::Column::StoryId.is_in(story_ids))
        .filter(task::Column::Status.is_in([TaskStatus::InProgress.as_db(), TaskStatus::Done.as_db()]))
        .count(c)
        .await?)
}

/// The checks that need the idea only (status, product, a plan that
/// parses); the pages ask them through `idea_actions`.
pub(super) fn check_plan(m: &idea::Model) -> AppResult<(String, String)> {
    guard_materialize_status(m)?;
    let Some(pid) = m.product_id.clone() else {
        return Err(AppError::Conflict(format!("idea {} has no product; set its product_id first", m.code)));
    };
    let Some(md) = m.plan_md.clone().filter(|p| !p.trim().is_empty()) else {
        return Err(AppError::Conflict(format!("idea {} has no plan_md to materialize", m.code)));
    };
    if let Err(e) = parse_plan_md(&md) {
        return Err(AppError::Conflict(format!("idea {}'s plan does not parse: {}", m.code, e.summary())));
    }
    Ok((pid, md))
}

/// A free sprint code for the idea's build sprint.
async fn build_sprint_code<C: ConnectionTrait>(c: &C, product_id: &str, idea_code: &str) -> AppResult<String> {
    let base: String =
        format!("S-{}-{}", now().format("%Y-%m-%d"), idea_code.to_lowercase()).chars().take(MAX_SPRINT_CODE).collect();
    if sprint_repo::sprint_with_code(c, product_id, &base).await?.is_none() {
        return Ok(base);
    }
    for n in 2..1000 {
        let suffix = format!("-{n}");
        let stem: String = base.chars().take(MAX_SPRINT_CODE - suffix.len()).collect();
        let candidate = format!("{stem}{suffix}");
        if sprint_repo::sprint_with_code(c, product_id, &candidate).await?.is_none() {
            return Ok(candidate);
        }
    }
    Err(AppError::Conflict(format!("no free sprint code for {base}; archive some of its sprints")))
}

/// What the transaction made, for the events after it.
struct Made {
    result: MaterializeResult,
    idea: idea::Model,
    deleted_pbi: Option<String>,
    roll: Rollup,
}

impl App {
    /// Whether the caller could materialize the idea now (everything but the
    /// active-tasks check, which depends on `allow_alongside`).
    pub(super) async fn check_materialize_now(&self, actor: &Actor, m: &idea::Model) -> AppResult<()> {
        actor.require_write()?;
        let (pid, _) = check_plan(m)?;
        let p = access::writable(&self.db, actor, &pid).await?;
        products::ensure_not_archived(&p)
    }

    /// Turns the idea's plan into a PBI with stories and tasks (§7.4; see
    /// the module doc for every rule), in one transaction.
    pub async fn materialize_idea(
        &self,
        actor: &Actor,
        idea_id: &str,
        input: MaterializeInput,
    ) -> AppResult<MaterializeResult> {
        actor.require_write()?;
        let found = find_own(&self.db, actor, idea_id).await?;
        let (pid, _) = check_plan(&found)?;
        access::writable(&self.db, actor, &pid).await?;
        let (id, uid, lock_pid) = (found.id.clone(), actor.user_id.clone(), pid.clone());
        let made = in_product_txn(&self.db, &lock_pid, move |c| {
            Box::pin(async move {
                lock_user(c, &uid).await?;
                products::ensure_not_archived_in(c, &pid).await?;
                let m = idea::Entity::find_by_id(id).one(c).await?.ok_or(AppError::NotFound("idea"))?;
                // Checked again under the locks: the idea may have changed.
                let (now_pid, md) = check_plan(&m)?;
                if now_pid != pid {
                    return Err(AppError::Conflict(format!("idea {}'s product changed; try again", m.code)));
                }
                let plan = parse_plan_md(&md).map_err(|e| AppError::Conflict(e.summary()))?;
                let plan_rev = pin_revision(c, &m, PLANS, &md, &uid).await?;
                let grill_rev = match m.grill_md.as_deref().filter(|g| !g.trim().is_empty()) {
                    Some(g) => Some(pin_revision(c, &m, GRILLS, g, &uid).await?),
                    None => latest_revision(c, &m.id, GRILLS).await?,
                };

                // Step 3: an earlier PBI of this idea.
                let mut deleted_pbi = None;
                let mut roll = Rollup::default();
                let old_pbi = match m.pbi_id.as_deref() {
                    Some(old) => pbi::Entity::find_by_id(old.to_string()).one(c).await?,
                    None => None,
                };
                if let Some(old) = old_pbi {
                    if active_task_count(c, &old.id).await? > 0 {
                        if !input.allow_alongside {
                            return Err(AppError::Conflict(format!(
                                "PBI_HAS_ACTIVE_TASKS:{}: the idea's earlier PBI has tasks in progress or done; \
                                 pass allow_alongside to create the new PBI next to it",
                                old.code
                            )));
                        }
                    } else {
                        let sprints: Vec<Option<String>> = story::Entity::find()
                            .select_only()
                            .column(story::Column::SprintId)
                            .distinct()
                            .filter(story::Column::PbiId.eq(&old.id))
                            .into_tuple()
                            .all(c)
                            .await?;
                        // Jobs, then stories, then the PBI, as a worker's `done`
                        // takes them (the delete cascades the other way).
                        let story_ids: Vec<String> = story::Entity::find()
                            .select_only()
                            .column(story::Column::Id)
                            .filter(story::Column::PbiId.eq(&old.id))
                            .into_tuple()
                            .all(c)
                            .await?;
                        crate::backlog::stories::lock_jobs_under(c, &story_ids).await?;
                        crate::sprints::lock_stories(c, &story_ids).await?;
                        pbi::Entity::delete_by_id(old.id.clone()).exec(c).await?;
                        roll = propagate(c, Seeds::default().and_sprints(sprints)).await?;
                        deleted_pbi = Some(old.id);
                    }
                }

                // Step 4: every code once, up front.
                let (pbi_code, pbi_slot) = code_and_slot::<pbi::Entity, _>(c, &pid, &pid).await?;
                let mut story_codes = Vec::with_capacity(plan.stories.len());
                for _ in &plan.stories {
                    story_codes.push(allocate_code(c, &pid, CodeKind::Story).await?);
                }
                let mut task_codes = Vec::with_capacity(plan.task_count());
                for _ in 0..plan.task_count() {
                    task_codes.push(allocate_code(c, &pid, CodeKind::Task).await?);
                }

                let t = now();
                let sprint_row = if input.build_sprint {
                    let code = build_sprint_code(c, &pid, &m.code).await?;
                    let goal = plan.sprint.as_ref().map_or_else(|| plan.pbi.title.clone(), |s| s.goal.clone());
                    Some(
                        sprint::ActiveModel {
                            id: Set(new_id()),
                            product_id: Set(pid.clone()),
                            code: Set(code),
                            sprint_goal: Set(goal),
                            status: Set(SprintStatus::Open.as_db().into()),
                            start_date: Set(Some(t.date_naive())),
                            end_date: Set(None),
                            created_at: Set(t),
                            updated_at: Set(t),
                            completed_at: Set(None),
                        }
                        .insert(c)
                        .await?,
                    )
                } else {
                    None
                };
                let sprint_id = sprint_row.as_ref().map(|s| s.id.clone());
                let story_status = if sprint_id.is_some() { StoryStatus::InSprint } else { StoryStatus::Open };

                let new_pbi = pbi::ActiveModel {
                    id: Set(new_id()),
                    product_id: Set(pid.clone()),
                    code: Set(pbi_code.clone()),
                    title: Set(plan.pbi.title.trim().to_string()),
                    description: Set(plan.pbi.description.clone()),
                    priority: Set(plan.pbi.priority),
                    sort_order: Set(pbi_slot),
                    status: Set(PbiStatus::Ready.as_db().into()),
                    pr_url: Set(None),
                    pr_merged_at: Set(None),
                    epic_number: Set(None),
                    created_at: Set(t),
                    updated_at: Set(t),
                }
                .insert(c)
                .await?;

                let (mut story_ids, mut task_ids, mut downgraded) = (Vec::new(), Vec::new(), Vec::new());
                let mut task_codes = task_codes.into_iter();
                for ((si, s), code) in plan.stories.iter().enumerate().zip(story_codes) {
                    let srow = story::ActiveModel {
                        id: Set(new_id()),
                        pbi_id: Set(new_pbi.id.clone()),
                        product_id: Set(pid.clone()),
                        sprint_id: Set(sprint_id.clone()),
                        assignee_id: Set(None),
                        code: Set(code),
                        title: Set(s.title.trim().to_string()),
                        description: Set(s.description.clone()),
                        acceptance_criteria: Set(s.acceptance_criteria.clone()),
                        priority: Set(s.priority),
                        sort_order: Set((si + 1) as f64),
                        status: Set(story_status.as_db().into()),
                        qa_review_count: Set(0),
                        created_at: Set(t),
                        updated_at: Set(t),
                        ..Default::default()
                    }
                    .insert(c)
                    .await?;
                    for (ti, tk) in s.tasks.iter().enumerate() {
                        let code = task_codes.next().ok_or_else(|| AppError::internal("task codes ran out"))?;
                        let (verify_required, was_downgraded) =
                            materialized_verify_required(tk.verify_required, &tk.implementation_plan);
                        if was_downgraded {
                            downgraded.push(code.clone());
                        }
                        let trow = task::ActiveModel {
                            id: Set(new_id()),
                            story_id: Set(srow.id.clone()),
                            product_id: Set(pid.clone()),
                            sprint_id: Set(sprint_id.clone()),
                            code: Set(code),
                            title: Set(tk.title.trim().to_string()),
                            description: Set(tk.description.clone()),
                            implementation_plan: Set(Some(tk.implementation_plan.clone())),
                            // The task's own priority (see the module doc).
                            priority: Set(tk.priority),
                            sort_order: Set((ti + 1) as f64),
                            status: Set(TaskStatus::ToDo.as_db().into()),
                            verify_only: Set(tk.verify_only),
                            verify_required: Set(verify_required.as_db().into()),
                            requires_opus: Set(false),
                            repo_url: Set(None),
                            created_at: Set(t),
                            updated_at: Set(t),
                        }
                        .insert(c)
                        .await?;
                        task_ids.push(trow.id);
                    }
                    story_ids.push(srow.id);
                }

                // Step 5: pin the revisions used.
                let links = [Some(("PLAN", plan_rev.id.clone())), grill_rev.map(|g| ("GRILL", g.id))];
                for (role, revision_id) in links.into_iter().flatten() {
                    pbi_doc::ActiveModel {
                        id: Set(new_id()),
                        pbi_id: Set(new_pbi.id.clone()),
                        revision_id: Set(revision_id),
                        role: Set(role.into()),
                        created_at: Set(t),
                    }
                    .insert(c)
                    .await?;
                }

                let mut am: idea::ActiveModel = m.into();
                am.pbi_id = Set(Some(new_pbi.id.clone()));
                am.build_sprint_id = Set(sprint_id.clone());
                am.status = Set(baton_domain::ideas::IdeaStatus::Planned.as_db().into());
                am.updated_at = Set(t);
                let idea_row = am.update(c).await?;

                // Step 7: the log.
                let (n_stories, n_tasks) = (story_ids.len(), task_ids.len());
                let mut content = format!("Materialized into {pbi_code} ({n_stories} stories, {n_tasks} tasks)");
                if !downgraded.is_empty() {
                    content.push_str(&format!(
                        "\nverify_required downgraded to ALIGNED_OR_PARTIAL (exploration steps): {}",
                        downgraded.join(", ")
                    ));
                }
                let mut meta = json!({
                    "pbi_id": new_pbi.id,
                    "pbi_code": pbi_code,
                    "story_count": n_stories,
                    "task_count": n_tasks,
                    "plan_revision_id": plan_rev.id,
                    "plan_revision": plan_rev.revision,
                    "build_sprint_id": sprint_id,
                });
                if !downgraded.is_empty() {
                    meta["downgraded_task_codes"] = json!(downgraded);
                }
                add_log(c, &idea_row.id, IdeaLogType::PlanResult, content, Some(meta)).await?;

                Ok(Made {
                    result: MaterializeResult {
                        pbi_id: new_pbi.id,
                        pbi_code,
                        story_ids,
                        task_ids,
                        product_id: pid,
                        build_sprint_id: sprint_id,
                    },
                    idea: idea_row,
                    deleted_pbi,
                    roll,
                })
            })
        })
        .await?;
        let product_id = made.result.product_id.clone();
        if let Some(old) = &made.deleted_pbi {
            self.announce_pbi(&product_id, old, "deleted", &made.roll).await;
        }
        if let Some(s) = &made.result.build_sprint_id {
            self.announce_sprint(&product_id, s, "created").await;
        }
        for sid in &made.result.story_ids {
            self.announce_story(&product_id, sid, "created", &Rollup::default()).await;
        }
        self.announce_pbi(&product_id, &made.result.pbi_id, "created", &Rollup::default()).await;
        self.announce_idea(&made.idea, "materialized").await;
        Ok(made.result)
    }
}
