//! Read services for the story page and the QA review page: what the
//! caller may do with a story now (each action with the reason it would be
//! refused, from the same guards and transition table the writes use), the
//! project settings the forms explain (threshold, CONCERNS policy), the
//! story's developer and QA opportunities, and the caller's QA queue.
//!
//! Decisions:
//! - **Availability mirrors the writes.** Each action runs the checks of its
//!   write in the same order (demo, party, project open, transition table
//!   through `workflow::check_via`), so a page shows an enabled control
//!   exactly when the write would pass its guards; the write still checks
//!   again in its transaction.
//! - **Unblock** offers only the state the story was blocked from (read from
//!   the audit log, as the write does); a story blocked by an import (no
//!   previous state known) is unblocked over the API, which takes any state.
//! - **QA queue.** The stories of every project where the caller is the
//!   assigned QA, ready for review first, then in progress, approved,
//!   blocked, draft, and done last; within a state by project name and
//!   `epic.story`. Administrators are no party: their queue is empty.

use std::collections::HashMap;

use baton_domain::marketplace::{
    WorkflowStatus,
    workflow::{ConcernsPolicy, StoryRole, Via, check_unblock, check_via},
};
use baton_store::{
    entities::{opportunity, product, story},
    sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder},
};

use super::{
    ProjectParties,
    access::story_for,
    views::{MarketStoryView, number_key, views},
    writes::{blocked_from, ensure_open},
};
use crate::{
    Actor, App, AppError, AppResult,
    marketplace::opportunities::{OpportunityView, bid_count, client_label, opportunity_view, visible_opportunity},
};

/// Whether an action would pass its guards now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionState {
    /// The write would pass its guards now.
    pub allowed: bool,
    /// The message the write would fail with; `None` when allowed.
    pub reason: Option<String>,
}

impl ActionState {
    fn of(r: AppResult<()>) -> ActionState {
        match r {
            Ok(()) => ActionState { allowed: true, reason: None },
            Err(e) => ActionState { allowed: false, reason: Some(e.to_string()) },
        }
    }
}

/// What the caller may do with a story now.
#[derive(Debug, Clone)]
pub struct StoryActions {
    /// Record a validation (`record_validation`).
    pub validate: ActionState,
    /// Start the story: approved → in_progress (`transition_story`).
    pub start: ActionState,
    /// Submit the pull request (`submit_story_pr`).
    pub submit_pr: ActionState,
    /// Record a QA gate (`submit_qa_review`).
    pub qa_review: ActionState,
    /// Approve (gate PASS) and complete (`approve_story`).
    pub approve: ActionState,
    /// Block the story (`transition_story`).
    pub block: ActionState,
    /// Return a blocked story to where it was (`transition_story`).
    pub unblock: ActionState,
    /// Where unblocking returns it.
    pub unblock_to: Option<WorkflowStatus>,
}

/// The project of a story as its pages show it.
#[derive(Debug, Clone)]
pub struct StoryProject {
    /// Project (product) id.
    pub id: String,
    /// Its code, when it has one.
    pub code: Option<String>,
    /// Its name.
    pub name: String,
    /// Minimum GO score that approves a story.
    pub validation_threshold: i32,
    /// What a CONCERNS gate does.
    pub concerns_policy: ConcernsPolicy,
}

impl StoryProject {
    fn of(p: &product::Model) -> AppResult<StoryProject> {
        Ok(StoryProject {
            id: p.id.clone(),
            code: p.code.clone(),
            name: p.name.clone(),
            validation_threshold: p.validation_threshold,
            concerns_policy: ConcernsPolicy::decode(&p.concerns_policy, "products.concerns_policy")?,
        })
    }
}

/// Everything the story page needs besides the story and its audit trail.
#[derive(Debug, Clone)]
pub struct StoryWorkflow {
    /// The project.
    pub project: StoryProject,
    /// The caller's parts: `client`, `validator`, `developer`, `qa`.
    pub roles: Vec<&'static str>,
    /// What the caller may do now.
    pub actions: StoryActions,
    /// The story's developer and QA opportunities the caller may see, oldest first.
    pub opportunities: Vec<OpportunityView>,
}

/// One story of the caller's QA queue.
#[derive(Debug, Clone)]
pub struct QaQueueEntry {
    /// Its project.
    pub project: StoryProject,
    /// The story.
    pub story: MarketStoryView,
}

fn role_name(r: StoryRole) -> &'static str {
    match r {
        StoryRole::Client => "client",
        StoryRole::Validator => "validator",
        StoryRole::Developer => "developer",
        StoryRole::Qa => "qa",
    }
}

/// The guard of the QA writes: the assigned QA, not also the developer.
fn qa_party(roles: &[StoryRole]) -> AppResult<()> {
    if !roles.contains(&StoryRole::Qa) {
        return Err(AppError::Forbidden("only the story's assigned QA may review it".into()));
    }
    if roles.contains(&StoryRole::Developer) {
        return Err(AppError::Forbidden("QA cannot review their own code: you are also the story's developer".into()));
    }
    Ok(())
}

fn any_party(roles: &[StoryRole]) -> AppResult<()> {
    if roles.is_empty() {
        return Err(AppError::Forbidden("only a party of the story may move it".into()));
    }
    Ok(())
}

/// Queue order of a workflow state: ready for review first, done last.
fn queue_rank(w: WorkflowStatus) -> u8 {
    match w {
        WorkflowStatus::ReadyForReview => 0,
        WorkflowStatus::InProgress => 1,
        WorkflowStatus::Approved => 2,
        WorkflowStatus::Blocked => 3,
        WorkflowStatus::Draft => 4,
        WorkflowStatus::Done => 5,
    }
}

impl App {
    /// The story page's facts about marketplace story `story_id`: project
    /// settings, the caller's parts and available actions, and the story's
    /// opportunities. 404 like [`App::get_market_story`].
    pub async fn story_workflow(&self, actor: &Actor, story_id: &str) -> AppResult<StoryWorkflow> {
        let (s, parties) = story_for(&self.db, actor, story_id).await?;
        let roles = parties.roles_for(&s);
        let from = s
            .workflow_status
            .as_deref()
            .map(|w| WorkflowStatus::decode(w, "stories.workflow_status"))
            .transpose()?
            .ok_or(AppError::NotFound("story"))?;
        let open = || ensure_open(&parties.product);
        let write = || actor.require_write();
        let refused = |e: baton_domain::marketplace::workflow::TransitionError| match e {
            baton_domain::marketplace::workflow::TransitionError::WrongParty { .. } => {
                AppError::Forbidden(e.to_string())
            }
            _ => AppError::Conflict(e.to_string()),
        };
        let validate = ActionState::of((|| {
            write()?;
            if !roles.contains(&StoryRole::Validator) {
                return Err(AppError::Forbidden(
                    "validations are recorded by a PM or architect of the project, or the client".into(),
                ));
            }
            open()?;
            if from != WorkflowStatus::Draft {
                return Err(AppError::Conflict(format!(
                    "story is {}; validations are recorded on draft stories",
                    from.as_api()
                )));
            }
            Ok(())
        })());
        let start = ActionState::of((|| {
            write()?;
            any_party(&roles)?;
            open()?;
            if from != WorkflowStatus::Approved {
                return Err(AppError::Conflict(format!("story is {}; only an approved story starts", from.as_api())));
            }
            check_via(from, WorkflowStatus::InProgress, &roles, Via::Move).map_err(refused)
        })());
        let submit_pr = ActionState::of((|| {
            write()?;
            if !roles.contains(&StoryRole::Developer) {
                return Err(AppError::Forbidden("only the story's assigned developer may submit its PR".into()));
            }
            open()?;
            check_via(from, WorkflowStatus::ReadyForReview, &roles, Via::SubmitPr).map_err(refused)
        })());
        let qa_check = || -> AppResult<()> {
            write()?;
            qa_party(&roles)?;
            open()?;
            check_via(from, WorkflowStatus::Done, &roles, Via::Complete).map_err(refused)
        };
        let qa_review = ActionState::of(qa_check());
        let approve = ActionState::of(qa_check());
        let block = ActionState::of((|| {
            write()?;
            any_party(&roles)?;
            open()?;
            check_via(from, WorkflowStatus::Blocked, &roles, Via::Move).map_err(refused)
        })());
        let (unblock, unblock_to) = if from == WorkflowStatus::Blocked {
            let previous = blocked_from(&self.db, &s.id).await?;
            let r = (|| {
                write()?;
                any_party(&roles)?;
                open()?;
                let to = previous.ok_or_else(|| {
                    AppError::Conflict("the state before blocking is not known; choose it over the API".into())
                })?;
                check_via(from, to, &roles, Via::Move).map_err(refused)?;
                check_unblock(previous, to).map_err(refused)
            })();
            (ActionState::of(r), previous)
        } else {
            (ActionState::of(Err(AppError::Conflict(format!("story is {}, not blocked", from.as_api())))), None)
        };
        let opportunities = self.story_opportunities(actor, &s.id).await?;
        Ok(StoryWorkflow {
            project: StoryProject::of(&parties.product)?,
            roles: roles.iter().map(|r| role_name(*r)).collect(),
            actions: StoryActions { validate, start, submit_pr, qa_review, approve, block, unblock, unblock_to },
            opportunities,
        })
    }

    /// The developer and QA opportunities of a story that the caller may see.
    async fn story_opportunities(&self, actor: &Actor, story_id: &str) -> AppResult<Vec<OpportunityView>> {
        let rows = opportunity::Entity::find()
            .filter(opportunity::Column::StoryId.eq(story_id))
            .order_by_asc(opportunity::Column::CreatedAt)
            .order_by_asc(opportunity::Column::Id)
            .all(&self.db)
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        for o in rows {
            let (o, p, _) = match visible_opportunity(&self.db, actor, &o.id).await {
                Ok(hit) => hit,
                Err(AppError::NotFound(_)) => continue,
                Err(e) => return Err(e),
            };
            let client = client_label(&self.db, actor, &p).await?;
            let n = bid_count(&self.db, &o.id).await?;
            out.push(opportunity_view(o, &p, client, n)?);
        }
        Ok(out)
    }

    /// The caller's QA queue: marketplace stories they are the assigned QA
    /// of, ready for review first (see the module doc for the order).
    pub async fn qa_queue(&self, actor: &Actor) -> AppResult<Vec<QaQueueEntry>> {
        if actor.user_id.is_empty() {
            return Ok(Vec::new());
        }
        let rows = story::Entity::find()
            .filter(story::Column::AssignedQaId.eq(&actor.user_id))
            .filter(story::Column::WorkflowStatus.is_not_null())
            .all(&self.db)
            .await?;
        let mut projects: HashMap<String, Option<StoryProject>> = HashMap::new();
        let mut kept = Vec::new();
        for s in rows {
            if !projects.contains_key(&s.product_id) {
                let p = match product::Entity::find_by_id(s.product_id.clone()).one(&self.db).await? {
                    Some(p) => match ProjectParties::for_product(&self.db, actor, p, false).await {
                        Ok(parties) => Some(StoryProject::of(&parties.product)?),
                        Err(AppError::NotFound(_)) => None,
                        Err(e) => return Err(e),
                    },
                    None => None,
                };
                projects.insert(s.product_id.clone(), p);
            }
            if let Some(Some(p)) = projects.get(&s.product_id) {
                kept.push((p.clone(), s));
            }
        }
        let rank = |s: &story::Model| {
            s.workflow_status.as_deref().and_then(WorkflowStatus::from_db).map_or(u8::MAX, queue_rank)
        };
        kept.sort_by(|(pa, a), (pb, b)| {
            (rank(a), &pa.name, &pa.id, number_key(a)).cmp(&(rank(b), &pb.name, &pb.id, number_key(b)))
        });
        let (projects, rows): (Vec<StoryProject>, Vec<story::Model>) = kept.into_iter().unzip();
        let stories = views(&self.db, rows).await?;
        Ok(projects.into_iter().zip(stories).map(|(project, story)| QaQueueEntry { project, story }).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_queue_puts_review_first_and_done_last() {
        let mut all = WorkflowStatus::ALL.to_vec();
        all.sort_by_key(|w| queue_rank(*w));
        assert_eq!(all.first(), Some(&WorkflowStatus::ReadyForReview));
        assert_eq!(all.last(), Some(&WorkflowStatus::Done));
    }

    #[test]
    fn a_qa_who_is_also_the_developer_is_refused() {
        assert!(qa_party(&[StoryRole::Qa]).is_ok());
        assert!(matches!(qa_party(&[StoryRole::Qa, StoryRole::Developer]), Err(AppError::Forbidden(_))));
        assert!(matches!(qa_party(&[StoryRole::Client]), Err(AppError::Forbidden(_))));
        assert!(any_party(&[]).is_err());
    }
}
