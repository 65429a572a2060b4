//! Opportunities: posted by clients (planning) or the platform (stories), listed for experts.
//!
//! Seam for the story workflow: [`open_for_story`] opens the developer
//! opportunity of a story that became approved and the QA opportunity of a
//! story that first became ready for review, with the project's per-story
//! budget defaults.
//!
//! Decisions where the reference is silent:
//! - Planning opportunities may be posted for the project's current stage
//!   or a later planning stage (a client may line up the architect while
//!   the PM works), never for a stage already left (409). One active (open
//!   or closed) opportunity per project and planning stage (409 naming it).
//! - A client may post a developer or QA opportunity by hand for one of the
//!   project's stories (`story_id` required then, and refused for planning
//!   stages); one per story and stage, like the automatic ones.
//! - Deadlines must lie in the future.
//! - Who sees an opportunity: every signed-in user while it is open and
//!   listed (the marketplace), the project's people (client, members,
//!   accepted experts, administrators) always, and an expert who bid on it.
//!   Anyone else gets 404, also for a developer opportunity hidden by the
//!   sequential rule.
//! - The list is filtered and sorted in memory after the SQL filters (the
//!   sequential rule needs each project's stories); open opportunities are
//!   few compared to everything else, so this stays cheap.
//! - The client is shown by username to the project's people and to
//!   experts with an accepted bid on the project; to everyone else as
//!   `Client #<short hash>` (the same label for the same client).

use std::collections::HashMap;

use baton_domain::{
    ValidationErrors,
    marketplace::{
        Currency, OpportunityStatus, ProjectStatus, Stage, WorkflowStatus,
        bidding::{self, SequenceFacts},
        project::BriefStatus,
    },
    validation::check_text,
};
use baton_store::{
    entities::{bid, opportunity, product, story, user},
    new_id, now,
    sea_orm::{
        ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, Set,
    },
};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use super::projects::{Budget, brief_of, client_project, ensure_active, story_budgets};
use crate::{
    Actor, App, AppError, AppResult,
    access::{has_accepted_bid, project_for},
    list::{Page, PageParams},
    txn::in_product_txn,
};

/// Longest opportunity title.
pub const MAX_TITLE: usize = 200;
/// Longest opportunity description.
pub const MAX_DESCRIPTION: usize = 20_000;

/// An opportunity as the API shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct OpportunityView {
    /// Id.
    pub id: String,
    /// The project (product) id.
    pub project_id: String,
    /// The project's name.
    pub project_name: String,
    /// The client: a username, or `Client #<hash>` until a bid of yours on the project is accepted.
    pub client: String,
    /// The story, for developer and QA opportunities.
    pub story_id: Option<String>,
    /// The stage (and the expert role it needs).
    pub stage: Stage,
    /// Title.
    pub title: String,
    /// Description.
    pub description: String,
    /// Budget in minor units.
    pub budget: Budget,
    /// Deadline, if any.
    pub deadline: Option<DateTime<Utc>>,
    /// `open`, `closed` or `completed`.
    pub status: OpportunityStatus,
    /// The accepted bid, once one is.
    pub accepted_bid_id: Option<String>,
    /// Bids not withdrawn.
    pub bid_count: u64,
    /// Created.
    pub created_at: DateTime<Utc>,
}

/// Input for a new opportunity.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewOpportunity {
    /// The stage.
    pub stage: Stage,
    /// 1–200 characters.
    #[schema(max_length = 200, pattern = "\\S")]
    pub title: String,
    /// 1–20000 characters.
    #[schema(max_length = 20000, pattern = "\\S")]
    pub description: String,
    /// Budget in minor units.
    pub budget: Budget,
    /// Optional deadline in the future.
    #[serde(default)]
    pub deadline: Option<DateTime<Utc>>,
    /// The story (developer and QA stages only; required there).
    #[serde(default)]
    pub story_id: Option<String>,
}

/// Order of the opportunity list.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum OpportunitySort {
    /// Newest first (default).
    #[default]
    Newest,
    /// Highest budget maximum first.
    Highest,
    /// Lowest budget minimum first.
    Lowest,
}

/// Filters of the opportunity list.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct OpportunityFilter {
    /// Only this stage.
    pub stage: Option<Stage>,
    /// Only this currency.
    pub currency: Option<Currency>,
    /// Budgets reaching at least this much (minor units).
    #[param(minimum = 0)]
    pub budget_min: Option<i64>,
    /// Budgets starting at most this much (minor units).
    #[param(minimum = 0)]
    pub budget_max: Option<i64>,
    /// Only deadlines within this many days (1–365).
    #[param(minimum = 1, maximum = 365)]
    pub deadline_within_days: Option<i64>,
    /// `newest` (default), `highest` or `lowest`.
    pub sort: Option<OpportunitySort>,
    /// Page number, from 1.
    #[param(minimum = 1, maximum = 1_000_000)]
    pub page: Option<u64>,
    /// Items per page, 1–200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u64>,
}

/// Bids on an opportunity that were not withdrawn.
pub async fn bid_count<C: ConnectionTrait>(db: &C, opportunity_id: &str) -> AppResult<u64> {
    Ok(bid::Entity::find()
        .filter(bid::Column::OpportunityId.eq(opportunity_id))
        .filter(bid::Column::Status.ne(baton_domain::marketplace::BidStatus::Withdrawn.as_db()))
        .count(db)
        .await?)
}

/// Builds the view of an opportunity of project `p`, the client shown as `client`.
pub fn opportunity_view(
    o: opportunity::Model,
    p: &product::Model,
    client: String,
    bid_count: u64,
) -> AppResult<OpportunityView> {
    Ok(OpportunityView {
        stage: Stage::decode(&o.stage, "opportunities.stage")?,
        status: OpportunityStatus::decode(&o.status, "opportunities.status")?,
        budget: Budget {
            min: o.budget_min,
            max: o.budget_max,
            currency: Currency::decode(&o.currency, "opportunities.currency")?,
        },
        id: o.id,
        project_id: p.id.clone(),
        project_name: p.name.clone(),
        client,
        story_id: o.story_id,
        title: o.title,
        description: o.description,
        deadline: o.deadline,
        accepted_bid_id: o.accepted_bid_id,
        bid_count,
        created_at: o.created_at,
    })
}

/// How the caller relates to an opportunity's project.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Seat {
    /// The project's client.
    Client,
    /// Someone else who sees the project (member, accepted expert, admin).
    ProjectReader,
    /// An expert who sees the opportunity only on the marketplace or through their bid.
    Outside,
}

/// Whether a developer opportunity is hidden by the sequential rule.
async fn hidden_by_sequence<C: ConnectionTrait>(db: &C, o: &opportunity::Model) -> AppResult<bool> {
    if o.stage != Stage::Developer.as_db() {
        return Ok(false);
    }
    let Some(sid) = &o.story_id else { return Ok(false) };
    let Some(target) = story::Entity::find_by_id(sid.clone()).one(db).await? else { return Ok(false) };
    let (Some(epic), Some(number)) = (target.epic_number, target.story_number.clone()) else { return Ok(false) };
    let siblings = story::Entity::find()
        .filter(story::Column::ProductId.eq(&target.product_id))
        .filter(story::Column::EpicNumber.eq(epic))
        .all(db)
        .await?;
    Ok(sequence_hides(&target, epic, &number, &siblings))
}

fn sequence_hides(target: &story::Model, epic: i32, number: &str, siblings: &[story::Model]) -> bool {
    let done = WorkflowStatus::Done.as_db();
    let facts: Vec<SequenceFacts<'_>> = siblings
        .iter()
        .filter_map(|s| {
            Some(SequenceFacts {
                epic: s.epic_number?,
                story: s.story_number.as_deref()?,
                done: s.workflow_status.as_deref() == Some(done),
                parallel: s.can_start_in_parallel,
            })
        })
        .collect();
    let me = SequenceFacts { epic, story: number, done: false, parallel: target.can_start_in_parallel };
    bidding::waits_for_previous(&me, &facts)
}

/// Loads an opportunity the caller may see, its project and the caller's
/// seat; `NotFound` otherwise (see the module doc for who sees what).
pub(crate) async fn visible_opportunity<C: ConnectionTrait>(
    db: &C,
    actor: &Actor,
    id: &str,
) -> AppResult<(opportunity::Model, product::Model, Seat)> {
    let o = opportunity::Entity::find_by_id(id.to_string()).one(db).await?.ok_or(AppError::NotFound("opportunity"))?;
    if let Ok((p, access)) = project_for(db, actor, &o.product_id).await {
        let seat = if access.can_manage() || p.user_id == actor.user_id { Seat::Client } else { Seat::ProjectReader };
        return Ok((o, p, seat));
    }
    let p =
        product::Entity::find_by_id(o.product_id.clone()).one(db).await?.ok_or(AppError::NotFound("opportunity"))?;
    if actor.token_scope().is_some() {
        // A product-scoped token reaches only its products.
        return Err(AppError::NotFound("opportunity"));
    }
    let has_bid = bid::Entity::find()
        .filter(bid::Column::OpportunityId.eq(&o.id))
        .filter(bid::Column::ExpertId.eq(&actor.user_id))
        .count(db)
        .await?
        > 0;
    let listed =
        o.status == OpportunityStatus::Open.as_db() && project_is_active(&p) && !hidden_by_sequence(db, &o).await?;
    if has_bid || listed { Ok((o, p, Seat::Outside)) } else { Err(AppError::NotFound("opportunity")) }
}

fn project_is_active(p: &product::Model) -> bool {
    !p.archived
        && matches!(
            p.project_status.as_deref(),
            Some(s) if s == ProjectStatus::Planning.as_db() || s == ProjectStatus::InDevelopment.as_db()
        )
}

/// How the caller sees the client of project `p`.
pub(crate) async fn client_label<C: ConnectionTrait>(db: &C, actor: &Actor, p: &product::Model) -> AppResult<String> {
    let reveals = p.user_id == actor.user_id || project_for(db, actor, &p.id).await.is_ok();
    if reveals {
        let u = user::Entity::find_by_id(p.user_id.clone()).one(db).await?;
        Ok(u.map(|u| u.username).unwrap_or_default())
    } else {
        Ok(bidding::anonymised_client(&p.user_id))
    }
}

/// Opens the `stage` (developer or QA) opportunity of a story inside the
/// caller's transaction, unless the story already has one for that stage
/// (then `None`: a story reworked and resubmitted keeps its QA opportunity).
/// The budget is the project's per-story default for that stage.
pub async fn open_for_story<C: ConnectionTrait>(
    txn: &C,
    story: &story::Model,
    stage: Stage,
) -> AppResult<Option<opportunity::Model>> {
    let existing = opportunity::Entity::find()
        .filter(opportunity::Column::StoryId.eq(&story.id))
        .filter(opportunity::Column::Stage.eq(stage.as_db()))
        .one(txn)
        .await?;
    if existing.is_some() {
        return Ok(None);
    }
    let p =
        product::Entity::find_by_id(story.product_id.clone()).one(txn).await?.ok_or(AppError::NotFound("project"))?;
    let (dev, qa) = story_budgets(&p)?;
    let budget = if stage == Stage::Qa { qa } else { dev };
    let number = match (story.epic_number, story.story_number.as_deref()) {
        (Some(e), Some(s)) => format!("{e}.{s} "),
        _ => String::new(),
    };
    let title = format!("{} story {number}{}", if stage == Stage::Qa { "QA review of" } else { "Build" }, story.title);
    let at = now();
    let row = opportunity::ActiveModel {
        id: Set(new_id()),
        product_id: Set(story.product_id.clone()),
        story_id: Set(Some(story.id.clone())),
        stage: Set(stage.as_db().to_string()),
        title: Set(title.chars().take(MAX_TITLE).collect()),
        description: Set(story.description.clone().unwrap_or_default()),
        budget_min: Set(budget.min),
        budget_max: Set(budget.max),
        currency: Set(budget.currency.as_db().to_string()),
        deadline: Set(None),
        status: Set(OpportunityStatus::Open.as_db().to_string()),
        accepted_bid_id: Set(None),
        created_at: Set(at),
        updated_at: Set(at),
    };
    Ok(Some(row.insert(txn).await?))
}

impl App {
    /// Posts an opportunity on a project (its client only). See the module
    /// doc for the stage rules.
    pub async fn post_opportunity(
        &self,
        actor: &Actor,
        project_id_or_code: &str,
        input: NewOpportunity,
    ) -> AppResult<OpportunityView> {
        let p = client_project(&self.db, actor, project_id_or_code, "post opportunities").await?;
        let mut errs = ValidationErrors::new();
        check_text(&mut errs, "title", &input.title, 1, MAX_TITLE);
        check_text(&mut errs, "description", &input.description, 1, MAX_DESCRIPTION);
        bidding::check_budget(&mut errs, "budget", input.budget.min, input.budget.max, input.budget.currency);
        if input.deadline.is_some_and(|d| d <= now()) {
            errs.add("deadline", "must be in the future");
        }
        let story_id = input.story_id.map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
        match (input.stage.is_planning(), &story_id) {
            (true, Some(_)) => errs.add("story_id", "only developer and QA opportunities belong to a story"),
            (false, None) => errs.add("story_id", "is required for developer and QA opportunities"),
            _ => {}
        }
        errs.into_result()?;
        let pid = p.id.clone();
        let (row, p) = in_product_txn(&self.db, &p.id, move |txn| {
            Box::pin(async move {
                let p = product::Entity::find_by_id(pid).one(txn).await?.ok_or(AppError::NotFound("project"))?;
                ensure_active(&p)?;
                let current = Stage::decode(p.current_stage.as_deref().unwrap_or("ANALYST"), "products.current_stage")?;
                let stage = input.stage;
                let mut story_row = None;
                if stage.is_planning() {
                    if stage < current {
                        return Err(AppError::Conflict(format!(
                            "the project is in the {current} stage; the {stage} stage is over"
                        )));
                    }
                    let active = opportunity::Entity::find()
                        .filter(opportunity::Column::ProductId.eq(&p.id))
                        .filter(opportunity::Column::Stage.eq(stage.as_db()))
                        .filter(opportunity::Column::Status.ne(OpportunityStatus::Completed.as_db()))
                        .one(txn)
                        .await?;
                    if let Some(a) = active {
                        return Err(AppError::Conflict(format!(
                            "the project already has an active {stage} opportunity `{}` ({}, {})",
                            a.title,
                            a.id,
                            a.status.to_lowercase()
                        )));
                    }
                    if stage == Stage::Pm {
                        let status = brief_of(&p).map(|b| b.status);
                        if status != Some(BriefStatus::Published) {
                            return Err(AppError::Conflict(format!(
                                "the brief is {}; publish it before posting the PM opportunity",
                                status.map(|s| s.as_api()).unwrap_or_else(|| "not written".into())
                            )));
                        }
                    }
                } else {
                    let sid = story_id.clone().unwrap_or_default();
                    let s = story::Entity::find_by_id(sid)
                        .one(txn)
                        .await?
                        .filter(|s| s.product_id == p.id)
                        .ok_or_else(|| AppError::field("story_id", "no such story in this project"))?;
                    let existing = opportunity::Entity::find()
                        .filter(opportunity::Column::StoryId.eq(&s.id))
                        .filter(opportunity::Column::Stage.eq(stage.as_db()))
                        .one(txn)
                        .await?;
                    if let Some(a) = existing {
                        return Err(AppError::Conflict(format!(
                            "the story already has a {stage} opportunity ({}, {})",
                            a.id,
                            a.status.to_lowercase()
                        )));
                    }
                    story_row = Some(s);
                }
                let at = now();
                let row = opportunity::ActiveModel {
                    id: Set(new_id()),
                    product_id: Set(p.id.clone()),
                    story_id: Set(story_row.map(|s| s.id)),
                    stage: Set(stage.as_db().to_string()),
                    title: Set(input.title.trim().to_string()),
                    description: Set(input.description.trim().to_string()),
                    budget_min: Set(input.budget.min),
                    budget_max: Set(input.budget.max),
                    currency: Set(input.budget.currency.as_db().to_string()),
                    deadline: Set(input.deadline),
                    status: Set(OpportunityStatus::Open.as_db().to_string()),
                    accepted_bid_id: Set(None),
                    created_at: Set(at),
                    updated_at: Set(at),
                }
                .insert(txn)
                .await?;
                Ok((row, p))
            })
        })
        .await?;
        self.publish_product_event(&p.id, "opportunity_posted").await;
        let client = client_label(&self.db, actor, &p).await?;
        opportunity_view(row, &p, client, 0)
    }

    /// Open opportunities of active projects for experts, filtered, sorted
    /// and paged; developer stories waiting for their predecessor are
    /// hidden (§4.1).
    pub async fn list_opportunities(
        &self,
        actor: &Actor,
        filter: OpportunityFilter,
    ) -> AppResult<Page<OpportunityView>> {
        let (page, limit, offset) = PageParams { page: filter.page, limit: filter.limit }.window()?;
        let mut errs = ValidationErrors::new();
        if filter.budget_min.is_some_and(|v| v < 0) {
            errs.add("budget_min", "must not be negative");
        }
        if filter.budget_max.is_some_and(|v| v < 0) {
            errs.add("budget_max", "must not be negative");
        }
        if filter.deadline_within_days.is_some_and(|d| !(1..=365).contains(&d)) {
            errs.add("deadline_within_days", "must be between 1 and 365");
        }
        errs.into_result()?;
        let mut q = opportunity::Entity::find().filter(opportunity::Column::Status.eq(OpportunityStatus::Open.as_db()));
        if let Some(s) = filter.stage {
            q = q.filter(opportunity::Column::Stage.eq(s.as_db()));
        }
        if let Some(c) = filter.currency {
            q = q.filter(opportunity::Column::Currency.eq(c.as_db()));
        }
        if let Some(v) = filter.budget_min {
            q = q.filter(opportunity::Column::BudgetMax.gte(v));
        }
        if let Some(v) = filter.budget_max {
            q = q.filter(opportunity::Column::BudgetMin.lte(v));
        }
        if let Some(d) = filter.deadline_within_days {
            q = q
                .filter(opportunity::Column::Deadline.is_not_null())
                .filter(opportunity::Column::Deadline.lte(now() + Duration::days(d)));
        }
        if let Some(scope) = actor.token_scope() {
            q = q.filter(opportunity::Column::ProductId.is_in(scope.to_vec()));
        }
        let rows = q
            .order_by_desc(opportunity::Column::CreatedAt)
            .order_by_desc(opportunity::Column::Id)
            .all(&self.db)
            .await?;
        let mut projects: HashMap<String, Option<product::Model>> = HashMap::new();
        let mut kept = Vec::new();
        for o in rows {
            if !projects.contains_key(&o.product_id) {
                let p = product::Entity::find_by_id(o.product_id.clone()).one(&self.db).await?;
                projects.insert(o.product_id.clone(), p);
            }
            let Some(Some(p)) = projects.get(&o.product_id) else { continue };
            if !project_is_active(p) || hidden_by_sequence(&self.db, &o).await? {
                continue;
            }
            kept.push(o);
        }
        match filter.sort.unwrap_or_default() {
            OpportunitySort::Newest => {}
            OpportunitySort::Highest => kept.sort_by_key(|o| std::cmp::Reverse(o.budget_max)),
            OpportunitySort::Lowest => kept.sort_by_key(|o| o.budget_min),
        }
        let total = kept.len() as u64;
        let mut labels: HashMap<String, String> = HashMap::new();
        let mut items = Vec::new();
        for o in kept.into_iter().skip(usize::try_from(offset).unwrap_or(usize::MAX)).take(limit as usize) {
            let Some(Some(p)) = projects.get(&o.product_id) else { continue };
            if !labels.contains_key(&p.id) {
                labels.insert(p.id.clone(), client_label(&self.db, actor, p).await?);
            }
            let client = labels.get(&p.id).cloned().unwrap_or_default();
            let n = bid_count(&self.db, &o.id).await?;
            items.push(opportunity_view(o, p, client, n)?);
        }
        Ok(Page { items, page, limit, total })
    }

    /// One opportunity the caller may see.
    pub async fn get_opportunity(&self, actor: &Actor, id: &str) -> AppResult<OpportunityView> {
        let (o, p, _) = visible_opportunity(&self.db, actor, id).await?;
        let client = client_label(&self.db, actor, &p).await?;
        let n = bid_count(&self.db, &o.id).await?;
        opportunity_view(o, &p, client, n)
    }

    /// Whether `actor` has an accepted bid on the project (for pages).
    pub async fn is_accepted_expert(&self, actor: &Actor, project_id: &str) -> AppResult<bool> {
        has_accepted_bid(&self.db, actor, project_id).await
    }
}
