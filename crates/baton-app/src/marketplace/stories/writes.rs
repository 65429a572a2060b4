//! The story use cases: list, detail, create/upsert, validation, moves, PR,
//! QA review and approval.

use baton_domain::{
    ValidationErrors,
    backlog::PbiStatus,
    marketplace::{
        ProjectStatus, QaGateStatus, Stage, WorkflowStatus,
        workflow::{
            self, QaOutcome, StoryNumber, StoryRole, TransitionError, ValidationDecision, Via, check_unblock,
            check_via, parse_pr_url, qa_outcome,
        },
    },
    validation::check_text,
};
use baton_store::{
    entities::{pbi, product, story, story_audit_log},
    events::{Event, kinds},
    new_id, now,
    sea_orm::{
        ActiveModelTrait,
        ActiveValue::Set,
        ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter, QueryOrder,
        sea_query::{Expr, ExprTrait},
    },
};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{
    CompleteOutcome, ProjectParties,
    access::story_for,
    actions, audit,
    complete::complete_story,
    policy::story_policy,
    views::{AuditEntryView, MarketStoryDetail, MarketStoryView, audit_views, number_key, views},
};
use crate::{
    Actor, App, AppError, AppResult,
    backlog::{
        DEFAULT_PRIORITY,
        ordered::code_and_slot,
        propagation::{Rollup, Seeds, propagate},
    },
    marketplace::opportunities,
    products,
    txn::{TxnBody, in_product_txn},
};

/// Longest description or acceptance criteria of a marketplace story
/// (BMAD story sections are longer than backlog stories').
pub const MAX_STORY_TEXT: usize = 20_000;

/// Which stories to list.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StoryFilter {
    /// Only this workflow state: draft | approved | in_progress | ready_for_review | done | blocked.
    #[param(value_type = Option<WorkflowStatus>, inline)]
    pub workflow_status: Option<String>,
}

/// A marketplace story to create or update, keyed by `epic.story`.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewMarketStory {
    /// Epic number (≥ 1); its PBI is created ("Epic N") when missing.
    #[schema(minimum = 1)]
    pub epic: i32,
    /// The story's number within the epic (`1`, `2b`) or the whole key (`3.1`, whose epic must match `epic`).
    #[schema(max_length = 20)]
    pub number: String,
    /// Title, 1–200 characters.
    #[schema(max_length = 200, pattern = "\\S")]
    pub title: String,
    /// Description (the BMAD "Story" section), at most 20 000 characters.
    #[serde(default)]
    #[schema(max_length = 20000)]
    pub description: Option<String>,
    /// Acceptance criteria, at most 20 000 characters.
    #[serde(default)]
    #[schema(max_length = 20000)]
    pub acceptance_criteria: Option<String>,
    /// Repository path of the BMAD story file, e.g. `docs/stories/3.1.login.md`.
    #[serde(default)]
    #[schema(max_length = 500)]
    pub story_file: Option<String>,
    /// Title of the epic's PBI when it has to be created.
    #[serde(default)]
    #[schema(max_length = 200)]
    pub epic_title: Option<String>,
}

/// What an upsert did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum UpsertOutcome {
    /// A new story (DRAFT).
    Created,
    /// Its text or story file changed.
    Updated,
    /// Nothing differed; nothing was written.
    Unchanged,
}

/// The answer to a create/upsert.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct UpsertResult {
    /// created | updated | unchanged.
    pub outcome: UpsertOutcome,
    /// The story as it is now.
    pub story: MarketStoryView,
}

/// A validate-next-story result.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ValidationInput {
    /// Implementation readiness score, 1–10.
    #[schema(minimum = 1, maximum = 10)]
    pub score: i32,
    /// go | no_go.
    pub decision: ValidationDecision,
}

/// A generic move.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StoryTransition {
    /// The state to move to: in_progress (start), blocked, or back from blocked.
    pub to: WorkflowStatus,
}

/// The developer's pull request.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StoryPr {
    /// `https://github.com/owner/repo/pull/N` (GitHub Enterprise hosts too).
    #[schema(max_length = 500)]
    pub pr_url: String,
}

/// A QA review.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QaReviewInput {
    /// pass | concerns | fail | waived.
    pub gate: QaGateStatus,
    /// What QA found, 1–4000 characters.
    #[schema(max_length = 4000, pattern = "\\S")]
    pub notes: String,
    /// The main issues, at most 20, each 1–500 characters.
    #[serde(default)]
    #[schema(max_items = 20)]
    pub top_issues: Option<Vec<String>>,
    /// Quality score 0–100 (BMAD `quality_score`).
    #[serde(default)]
    #[schema(minimum = 0, maximum = 100)]
    pub quality_score: Option<i32>,
}

/// A QA approval.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StoryApproval {
    /// Optional notes, at most 4000 characters.
    #[serde(default)]
    #[schema(max_length = 4000)]
    pub notes: Option<String>,
}

/// The answer to a story write.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct StoryMoveResult {
    /// The story as it is now.
    pub story: MarketStoryView,
    /// Whether anything changed (an approval of a story already done changes nothing).
    pub changed: bool,
    /// The developer or QA opportunity this write opened.
    pub opened_opportunity_id: Option<String>,
    /// The project became completed (its last story is done).
    pub project_completed: bool,
}

fn workflow_of(s: &story::Model) -> AppResult<WorkflowStatus> {
    s.workflow_status
        .as_deref()
        .map(|w| WorkflowStatus::decode(w, "stories.workflow_status"))
        .transpose()?
        .ok_or(AppError::NotFound("story"))
}

/// The API error of a refused move: 403 for the wrong party, 409 otherwise.
fn refused(e: TransitionError) -> AppError {
    match e {
        TransitionError::WrongParty { .. } => AppError::Forbidden(e.to_string()),
        _ => AppError::Conflict(e.to_string()),
    }
}

/// Refuses writes to cancelled or completed projects and archived products.
pub(crate) fn ensure_open(p: &product::Model) -> AppResult<()> {
    products::ensure_not_archived(p)?;
    match p.project_status.as_deref().and_then(ProjectStatus::from_db) {
        Some(s @ (ProjectStatus::Cancelled | ProjectStatus::Completed)) => {
            Err(AppError::Conflict(format!("project is {}; its stories cannot change", s.as_api())))
        }
        _ => Ok(()),
    }
}

/// Sets the workflow state (and the backlog status the one rule derives
/// from it) and writes the STATUS_CHANGED row.
async fn set_workflow<C: ConnectionTrait>(
    c: &C,
    s: &story::Model,
    user_id: &str,
    from: WorkflowStatus,
    to: WorkflowStatus,
    metadata: serde_json::Value,
) -> AppResult<()> {
    let backlog = workflow::backlog_status(to, s.sprint_id.is_some());
    story::Entity::update_many()
        .col_expr(story::Column::WorkflowStatus, Expr::value(to.as_db()))
        .col_expr(story::Column::Status, Expr::value(backlog.as_db()))
        .col_expr(story::Column::UpdatedAt, Expr::value(now()))
        .filter(story::Column::Id.eq(&s.id))
        .exec(c)
        .await?;
    audit(c, &s.id, Some(user_id), actions::STATUS_CHANGED, Some(from), Some(to), metadata).await
}

/// The state a blocked story was blocked from (its last move into BLOCKED).
async fn blocked_from<C: ConnectionTrait>(c: &C, story_id: &str) -> AppResult<Option<WorkflowStatus>> {
    let last = story_audit_log::Entity::find()
        .filter(story_audit_log::Column::StoryId.eq(story_id))
        .filter(story_audit_log::Column::Action.eq(actions::STATUS_CHANGED))
        .filter(story_audit_log::Column::ToStatus.eq(WorkflowStatus::Blocked.as_db()))
        .order_by_desc(story_audit_log::Column::CreatedAt)
        .order_by_desc(story_audit_log::Column::Id)
        .one(c)
        .await?;
    Ok(last.and_then(|a| a.from_status).and_then(|s| WorkflowStatus::from_db(&s)))
}

/// What a write did, carried out of its transaction for the answer and the events.
struct Applied {
    story_id: String,
    product_id: String,
    from: WorkflowStatus,
    to: WorkflowStatus,
    opened: Option<String>,
    project_completed: bool,
    changed: bool,
    rollup: Rollup,
}

impl Applied {
    /// Story `s` moved (or, with `to == from`, was written) from `from` to `to`.
    fn moved(s: &story::Model, from: WorkflowStatus, to: WorkflowStatus) -> Applied {
        Applied {
            story_id: s.id.clone(),
            product_id: s.product_id.clone(),
            from,
            to,
            opened: None,
            project_completed: false,
            changed: true,
            rollup: Rollup::default(),
        }
    }

    /// Completes the story through the one idempotent [`complete_story`]
    /// (QA review and approval converge there with the import) and keeps
    /// what it did for the answer and the events.
    async fn complete<C: ConnectionTrait>(mut self, c: &C, user_id: &str, via: &str) -> AppResult<Applied> {
        if let CompleteOutcome::Completed { project_completed, rollup, .. } =
            complete_story(c, &self.story_id, Some(user_id), via).await?
        {
            self.project_completed = project_completed;
            self.rollup = rollup;
        }
        Ok(self)
    }
}

/// Opens the developer or QA opportunity of story `story_id`, reading the
/// story again so the opportunity sees the writes made before it in this
/// transaction; its id, `None` when one is open already.
async fn open_opportunity<C: ConnectionTrait>(c: &C, story_id: &str, stage: Stage) -> AppResult<Option<String>> {
    let fresh = story::Entity::find_by_id(story_id.to_string()).one(c).await?.ok_or(AppError::NotFound("story"))?;
    Ok(opportunities::open_for_story(c, &fresh, stage).await?.map(|o| o.id))
}

fn validate_upsert(input: &NewMarketStory) -> Result<StoryNumber, ValidationErrors> {
    let mut errs = ValidationErrors::new();
    if input.epic < 1 {
        errs.add("epic", "must be a whole number of at least 1");
    }
    let number = input.number.trim();
    let story = match number.split_once('.') {
        Some((e, st)) => {
            if e.trim().parse::<i32>().ok() != Some(input.epic) {
                errs.add("number", format!("`{number}` is not a story of epic {}", input.epic));
            }
            StoryNumber::story_part(st)
        }
        None => StoryNumber::story_part(number),
    };
    if story.is_none() {
        errs.add("number", "must be a story number like `1`, `2b` or `3.1`");
    }
    check_text(&mut errs, "title", &input.title, 1, crate::backlog::MAX_TITLE);
    if let Some(d) = &input.description {
        check_text(&mut errs, "description", d, 0, MAX_STORY_TEXT);
    }
    if let Some(a) = &input.acceptance_criteria {
        check_text(&mut errs, "acceptance_criteria", a, 0, MAX_STORY_TEXT);
    }
    if let Some(t) = &input.epic_title {
        check_text(&mut errs, "epic_title", t, 0, crate::backlog::MAX_TITLE);
    }
    if let Some(f) = input.story_file.as_deref().map(str::trim).filter(|f| !f.is_empty()) {
        let bad = f.len() > 500
            || f.starts_with('/')
            || f.contains('\\')
            || f.split('/').any(|p| p.is_empty() || p == "." || p == "..")
            || f.chars().any(char::is_control);
        if bad {
            errs.add("story_file", "must be a relative path inside the repository, like docs/stories/3.1.login.md");
        }
    }
    errs.into_result()?;
    Ok(StoryNumber { epic: input.epic, story: story.unwrap_or_default() })
}

fn clean_opt(s: Option<&str>) -> Option<String> {
    s.map(str::trim).filter(|s| !s.is_empty()).map(str::to_string)
}

/// Creates or updates marketplace story `epic.story` of project
/// `product_id` inside the caller's product transaction (the BMAD import
/// calls it too). Validates the input (422 naming the field). `user_id`
/// (empty = the platform) is written to the audit row.
pub async fn upsert_market_story<C: ConnectionTrait>(
    c: &C,
    product_id: &str,
    input: &NewMarketStory,
    user_id: &str,
) -> AppResult<(story::Model, UpsertOutcome)> {
    let key = validate_upsert(input)?;
    let title = input.title.trim().to_string();
    let description = clean_opt(input.description.as_deref());
    let criteria = clean_opt(input.acceptance_criteria.as_deref());
    let story_file = clean_opt(input.story_file.as_deref());
    let existing = story::Entity::find()
        .filter(story::Column::ProductId.eq(product_id))
        .filter(story::Column::EpicNumber.eq(key.epic))
        .filter(story::Column::StoryNumber.eq(&key.story))
        .one(c)
        .await?;
    if let Some(s) = existing {
        if s.workflow_status.is_none() {
            return Err(AppError::Conflict(format!(
                "story {} ({}) is a backlog story, not a marketplace story",
                key.number(),
                s.code
            )));
        }
        let mut changed = Vec::new();
        if s.title != title {
            changed.push("title");
        }
        if s.description != description {
            changed.push("description");
        }
        if s.acceptance_criteria != criteria {
            changed.push("acceptance_criteria");
        }
        if story_file.is_some() && s.story_file != story_file {
            changed.push("story_file");
        }
        if changed.is_empty() {
            return Ok((s, UpsertOutcome::Unchanged));
        }
        let mut row: story::ActiveModel = s.clone().into();
        row.title = Set(title);
        row.description = Set(description);
        row.acceptance_criteria = Set(criteria);
        if story_file.is_some() {
            row.story_file = Set(story_file);
        }
        row.updated_at = Set(now());
        let row = row.update(c).await?;
        audit(c, &row.id, Some(user_id), actions::UPDATED, None, None, json!({ "fields": changed })).await?;
        return Ok((row, UpsertOutcome::Updated));
    }
    let epic = match pbi::Entity::find()
        .filter(pbi::Column::ProductId.eq(product_id))
        .filter(pbi::Column::EpicNumber.eq(key.epic))
        .one(c)
        .await?
    {
        Some(p) => p,
        None => {
            let (code, sort_order) = code_and_slot::<pbi::Entity, _>(c, product_id, product_id).await?;
            let t = now();
            pbi::ActiveModel {
                id: Set(new_id()),
                product_id: Set(product_id.to_string()),
                code: Set(code),
                title: Set(clean_opt(input.epic_title.as_deref()).unwrap_or_else(|| format!("Epic {}", key.epic))),
                description: Set(None),
                priority: Set(DEFAULT_PRIORITY),
                sort_order: Set(sort_order),
                status: Set(PbiStatus::Ready.as_db().into()),
                pr_url: Set(None),
                pr_merged_at: Set(None),
                epic_number: Set(Some(key.epic)),
                created_at: Set(t),
                updated_at: Set(t),
            }
            .insert(c)
            .await?
        }
    };
    let (code, sort_order) = code_and_slot::<story::Entity, _>(c, product_id, &epic.id).await?;
    let t = now();
    let row = story::ActiveModel {
        id: Set(new_id()),
        pbi_id: Set(epic.id.clone()),
        product_id: Set(product_id.to_string()),
        code: Set(code),
        title: Set(title),
        description: Set(description),
        acceptance_criteria: Set(criteria),
        priority: Set(DEFAULT_PRIORITY),
        sort_order: Set(sort_order),
        status: Set(workflow::backlog_status(WorkflowStatus::Draft, false).as_db().into()),
        epic_number: Set(Some(key.epic)),
        story_number: Set(Some(key.story.clone())),
        workflow_status: Set(Some(WorkflowStatus::Draft.as_db().into())),
        story_file: Set(story_file),
        qa_review_count: Set(0),
        created_at: Set(t),
        updated_at: Set(t),
        ..Default::default()
    }
    .insert(c)
    .await?;
    audit(
        c,
        &row.id,
        Some(user_id),
        actions::CREATED,
        None,
        Some(WorkflowStatus::Draft),
        json!({ "number": key.number() }),
    )
    .await?;
    // A new open story reopens an epic that was done.
    propagate(c, Seeds::default().and_pbis([epic.id])).await?;
    Ok((row, UpsertOutcome::Created))
}

impl App {
    async fn announce_market_story(&self, a: &Applied, action: &str) {
        let data = json!({
            "story_id": a.story_id, "action": action,
            "from": a.from, "to": a.to, "opened_opportunity_id": a.opened,
        });
        self.announce(Event::new(kinds::STORY_CHANGED).for_product(&a.product_id).with_data(data)).await;
        self.announce_rollup(&a.product_id, &a.rollup).await;
    }

    /// Runs one story write: refuses demo accounts, finds the story (404
    /// unless the caller may see it), then runs `f` in the project's
    /// transaction with the story and its parties read again there (so the
    /// checks see the state the write changes), and answers with the story
    /// as it is afterwards, announcing it as `action` when it changed.
    async fn write_story<F>(&self, actor: &Actor, story_id: &str, action: &str, f: F) -> AppResult<StoryMoveResult>
    where
        F: for<'c> FnOnce(&'c DatabaseTransaction, Actor, story::Model, ProjectParties) -> TxnBody<'c, Applied>
            + Send
            + 'static,
    {
        actor.require_write()?;
        let (s, _) = story_for(&self.db, actor, story_id).await?;
        let actor = actor.clone();
        let applied = in_product_txn(&self.db, &s.product_id.clone(), move |c| {
            Box::pin(async move {
                let (s, parties) = story_for(c, &actor, &s.id).await?;
                f(c, actor, s, parties).await
            })
        })
        .await?;
        self.move_result(applied, action).await
    }

    async fn move_result(&self, a: Applied, action: &str) -> AppResult<StoryMoveResult> {
        if a.changed {
            self.announce_market_story(&a, action).await;
        }
        let row =
            story::Entity::find_by_id(a.story_id.clone()).one(&self.db).await?.ok_or(AppError::NotFound("story"))?;
        let story = views(&self.db, vec![row]).await?.remove(0);
        Ok(StoryMoveResult {
            story,
            changed: a.changed,
            opened_opportunity_id: a.opened,
            project_completed: a.project_completed,
        })
    }

    /// The marketplace stories of a project in `epic.story` order, optionally
    /// of one workflow state.
    pub async fn list_project_stories(
        &self,
        actor: &Actor,
        project: &str,
        filter: StoryFilter,
    ) -> AppResult<Vec<MarketStoryView>> {
        let status = match filter.workflow_status.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            Some(s) => Some(WorkflowStatus::parse_api(s).ok_or_else(|| {
                AppError::field("workflow_status", format!("must be one of: {}", WorkflowStatus::api_values()))
            })?),
            None => None,
        };
        let parties = ProjectParties::load(&self.db, actor, project).await?;
        let mut q = story::Entity::find()
            .filter(story::Column::ProductId.eq(&parties.product.id))
            .filter(story::Column::WorkflowStatus.is_not_null());
        if let Some(s) = status {
            q = q.filter(story::Column::WorkflowStatus.eq(s.as_db()));
        }
        let mut rows = q.all(&self.db).await?;
        rows.sort_by_key(number_key);
        views(&self.db, rows).await
    }

    /// One marketplace story with its audit trail (oldest first).
    pub async fn get_market_story(&self, actor: &Actor, story_id: &str) -> AppResult<MarketStoryDetail> {
        let (s, _) = story_for(&self.db, actor, story_id).await?;
        let audit = self.story_audit(actor, &s.id).await?;
        let story = views(&self.db, vec![s]).await?.remove(0);
        Ok(MarketStoryDetail { story, audit })
    }

    /// The audit trail of a marketplace story, oldest first.
    pub async fn story_audit(&self, actor: &Actor, story_id: &str) -> AppResult<Vec<AuditEntryView>> {
        let (s, _) = story_for(&self.db, actor, story_id).await?;
        let rows = story_audit_log::Entity::find()
            .filter(story_audit_log::Column::StoryId.eq(&s.id))
            .order_by_asc(story_audit_log::Column::CreatedAt)
            .order_by_asc(story_audit_log::Column::Id)
            .all(&self.db)
            .await?;
        audit_views(&self.db, rows).await
    }

    /// Creates or updates marketplace story `epic.story` of a project: by the
    /// client or a PM/architect of the project (403 for other parties).
    pub async fn create_market_story(
        &self,
        actor: &Actor,
        project: &str,
        input: NewMarketStory,
    ) -> AppResult<UpsertResult> {
        actor.require_write()?;
        let parties = ProjectParties::load(&self.db, actor, project).await?;
        if !(parties.is_client || parties.is_planner) {
            return Err(AppError::Forbidden(
                "stories are written by the client or a PM or architect of the project".into(),
            ));
        }
        validate_upsert(&input)?;
        let pid = parties.product.id.clone();
        let user_id = actor.user_id.clone();
        let (row, outcome) = in_product_txn(&self.db, &pid.clone(), move |c| {
            Box::pin(async move {
                let p = product::Entity::find_by_id(pid.clone()).one(c).await?.ok_or(AppError::NotFound("project"))?;
                ensure_open(&p)?;
                upsert_market_story(c, &pid, &input, &user_id).await
            })
        })
        .await?;
        if outcome != UpsertOutcome::Unchanged {
            let action = if outcome == UpsertOutcome::Created { "created" } else { "updated" };
            let data = json!({ "story_id": row.id, "action": action });
            self.announce(Event::new(kinds::STORY_CHANGED).for_product(&row.product_id).with_data(data)).await;
        }
        let story = views(&self.db, vec![row]).await?.remove(0);
        Ok(UpsertResult { outcome, story })
    }

    /// Records a validation (score 1–10, go/no_go) of a DRAFT story by a
    /// validator; a GO at or above the project's threshold approves it and
    /// opens its developer opportunity.
    pub async fn record_validation(
        &self,
        actor: &Actor,
        story_id: &str,
        input: ValidationInput,
    ) -> AppResult<StoryMoveResult> {
        self.write_story(actor, story_id, "validated", move |c, actor, s, parties| {
            Box::pin(async move {
                let roles = parties.roles_for(&s);
                if !roles.contains(&StoryRole::Validator) {
                    return Err(AppError::Forbidden(
                        "validations are recorded by a PM or architect of the project, or the client".into(),
                    ));
                }
                if !(1..=10).contains(&input.score) {
                    return Err(AppError::field("score", "must be between 1 and 10"));
                }
                ensure_open(&parties.product)?;
                let from = workflow_of(&s)?;
                if from != WorkflowStatus::Draft {
                    return Err(AppError::Conflict(format!(
                        "story is {}; validations are recorded on draft stories",
                        from.as_api()
                    )));
                }
                let policy = story_policy(c, &s.product_id).await?;
                let approves = workflow::approves(input.score, input.decision, policy.validation_threshold)
                    .map_err(|e| AppError::field("score", e.to_string()))?;
                let at = now();
                let validator = Some(actor.user_id.clone()).filter(|u| !u.is_empty());
                story::Entity::update_many()
                    .col_expr(story::Column::ValidationScore, Expr::value(input.score))
                    .col_expr(story::Column::ValidationDecision, Expr::value(input.decision.as_db()))
                    .col_expr(story::Column::ValidatedAt, Expr::value(at))
                    .col_expr(story::Column::ValidatedBy, Expr::value(validator))
                    .col_expr(story::Column::UpdatedAt, Expr::value(at))
                    .filter(story::Column::Id.eq(&s.id))
                    .exec(c)
                    .await?;
                let meta = json!({
                    "score": input.score, "decision": input.decision,
                    "threshold": policy.validation_threshold, "approved": approves,
                });
                audit(c, &s.id, Some(&actor.user_id), actions::VALIDATED, None, None, meta).await?;
                let mut applied = Applied::moved(&s, from, from);
                if approves {
                    check_via(from, WorkflowStatus::Approved, &roles, Via::Validation).map_err(refused)?;
                    let opened = open_opportunity(c, &s.id, Stage::Developer).await?;
                    let meta = json!({ "via": "validation", "score": input.score, "opportunity_id": opened });
                    set_workflow(c, &s, &actor.user_id, from, WorkflowStatus::Approved, meta).await?;
                    applied.to = WorkflowStatus::Approved;
                    applied.opened = opened;
                }
                Ok(applied)
            })
        })
        .await
    }

    /// A generic move by a party of the story, as the transition table
    /// allows: start (approved → in_progress), block, and back from blocked.
    pub async fn transition_story(
        &self,
        actor: &Actor,
        story_id: &str,
        input: StoryTransition,
    ) -> AppResult<StoryMoveResult> {
        self.write_story(actor, story_id, "workflow", move |c, actor, s, parties| {
            Box::pin(async move {
                let roles = parties.roles_for(&s);
                if roles.is_empty() {
                    return Err(AppError::Forbidden("only a party of the story may move it".into()));
                }
                ensure_open(&parties.product)?;
                let from = workflow_of(&s)?;
                let to = input.to;
                check_via(from, to, &roles, Via::Move).map_err(refused)?;
                if from == WorkflowStatus::Blocked {
                    check_unblock(blocked_from(c, &s.id).await?, to).map_err(refused)?;
                }
                set_workflow(c, &s, &actor.user_id, from, to, json!({ "via": "transition" })).await?;
                Ok(Applied::moved(&s, from, to))
            })
        })
        .await
    }

    /// The assigned developer submits the story's pull request: in_progress
    /// → ready_for_review; the first submission opens the QA opportunity.
    pub async fn submit_story_pr(&self, actor: &Actor, story_id: &str, input: StoryPr) -> AppResult<StoryMoveResult> {
        self.write_story(actor, story_id, "pr_submitted", move |c, actor, s, parties| {
            Box::pin(async move {
                let roles = parties.roles_for(&s);
                if !roles.contains(&StoryRole::Developer) {
                    return Err(AppError::Forbidden("only the story's assigned developer may submit its PR".into()));
                }
                let pr = parse_pr_url(&input.pr_url).map_err(|e| AppError::field("pr_url", e.to_string()))?;
                ensure_open(&parties.product)?;
                let from = workflow_of(&s)?;
                let to = WorkflowStatus::ReadyForReview;
                check_via(from, to, &roles, Via::SubmitPr).map_err(refused)?;
                story::Entity::update_many()
                    .col_expr(story::Column::DevPrUrl, Expr::value(pr.url.clone()))
                    .col_expr(story::Column::DevPrNumber, Expr::value(pr.number))
                    .col_expr(story::Column::UpdatedAt, Expr::value(now()))
                    .filter(story::Column::Id.eq(&s.id))
                    .exec(c)
                    .await?;
                let meta = json!({ "pr_url": pr.url, "pr_number": pr.number, "repo": pr.repo });
                audit(c, &s.id, Some(&actor.user_id), actions::PR_LINKED, None, None, meta).await?;
                let opened = open_opportunity(c, &s.id, Stage::Qa).await?;
                let meta = json!({ "via": "submit_pr", "opportunity_id": opened });
                set_workflow(c, &s, &actor.user_id, from, to, meta).await?;
                Ok(Applied { opened, ..Applied::moved(&s, from, to) })
            })
        })
        .await
    }

    /// The assigned QA records a gate on a story ready for review: PASS and
    /// WAIVED complete it, FAIL sends it back to in_progress, CONCERNS too
    /// unless the project's policy is `proceed`.
    pub async fn submit_qa_review(
        &self,
        actor: &Actor,
        story_id: &str,
        input: QaReviewInput,
    ) -> AppResult<StoryMoveResult> {
        self.write_story(actor, story_id, "qa_reviewed", move |c, actor, s, parties| {
            Box::pin(async move {
                let roles = qa_roles(&parties, &s)?;
                let mut errs = ValidationErrors::new();
                check_text(&mut errs, "notes", &input.notes, 1, crate::backlog::MAX_TEXT);
                let issues: Vec<String> = input.top_issues.iter().flatten().map(|i| i.trim().to_string()).collect();
                if issues.len() > 20 {
                    errs.add("top_issues", "at most 20 issues");
                }
                for (i, issue) in issues.iter().enumerate() {
                    check_text(&mut errs, &format!("top_issues[{i}]"), issue, 1, 500);
                }
                if input.quality_score.is_some_and(|q| !(0..=100).contains(&q)) {
                    errs.add("quality_score", "must be between 0 and 100");
                }
                errs.into_result()?;
                ensure_open(&parties.product)?;
                let from = workflow_of(&s)?;
                let policy = story_policy(c, &s.product_id).await?;
                let outcome = qa_outcome(input.gate, policy.concerns_policy);
                let to = match outcome {
                    QaOutcome::Complete => WorkflowStatus::Done,
                    QaOutcome::Rework => WorkflowStatus::InProgress,
                };
                let via = if outcome == QaOutcome::Complete { Via::Complete } else { Via::QaRework };
                check_via(from, to, &roles, via).map_err(refused)?;
                record_gate(
                    c,
                    &s,
                    &actor.user_id,
                    input.gate,
                    Some(input.notes.trim()),
                    input.quality_score,
                    issues,
                    policy.concerns_policy,
                    "qa_review",
                )
                .await?;
                let applied = Applied::moved(&s, from, to);
                match outcome {
                    QaOutcome::Rework => {
                        let meta = json!({ "via": "qa_review", "gate": input.gate });
                        set_workflow(c, &s, &actor.user_id, from, to, meta).await?;
                        Ok(applied)
                    }
                    QaOutcome::Complete => applied.complete(c, &actor.user_id, "qa_review").await,
                }
            })
        })
        .await
    }

    /// The assigned QA approves a story ready for review (gate PASS) and it
    /// completes. Approving a story already done changes nothing.
    pub async fn approve_story(
        &self,
        actor: &Actor,
        story_id: &str,
        input: StoryApproval,
    ) -> AppResult<StoryMoveResult> {
        self.write_story(actor, story_id, "approved", move |c, actor, s, parties| {
            Box::pin(async move {
                let roles = qa_roles(&parties, &s)?;
                let notes = clean_opt(input.notes.as_deref());
                if let Some(n) = &notes {
                    let mut errs = ValidationErrors::new();
                    check_text(&mut errs, "notes", n, 0, crate::backlog::MAX_TEXT);
                    errs.into_result()?;
                }
                let from = workflow_of(&s)?;
                if from == WorkflowStatus::Done {
                    return Ok(Applied { changed: false, ..Applied::moved(&s, from, from) });
                }
                ensure_open(&parties.product)?;
                check_via(from, WorkflowStatus::Done, &roles, Via::Complete).map_err(refused)?;
                let policy = story_policy(c, &s.product_id).await?;
                record_gate(
                    c,
                    &s,
                    &actor.user_id,
                    QaGateStatus::Pass,
                    notes.as_deref(),
                    None,
                    Vec::new(),
                    policy.concerns_policy,
                    "approve",
                )
                .await?;
                Applied::moved(&s, from, WorkflowStatus::Done).complete(c, &actor.user_id, "approve").await
            })
        })
        .await
    }
}

/// The caller's roles for a QA write: 403 unless they are the assigned QA,
/// and 403 when the QA is also the story's developer.
fn qa_roles(parties: &ProjectParties, s: &story::Model) -> AppResult<Vec<StoryRole>> {
    let roles = parties.roles_for(s);
    if !roles.contains(&StoryRole::Qa) {
        return Err(AppError::Forbidden("only the story's assigned QA may review it".into()));
    }
    if roles.contains(&StoryRole::Developer) {
        return Err(AppError::Forbidden("QA cannot review their own code: you are also the story's developer".into()));
    }
    Ok(roles)
}

/// Stores a QA gate on the story (gate, notes, quality score, review count
/// + 1, reviewed at) and writes the GATE_UPDATED row.
#[allow(clippy::too_many_arguments, reason = "one call site per QA path; a struct would only rename them")]
async fn record_gate<C: ConnectionTrait>(
    c: &C,
    s: &story::Model,
    user_id: &str,
    gate: QaGateStatus,
    notes: Option<&str>,
    quality_score: Option<i32>,
    top_issues: Vec<String>,
    policy: workflow::ConcernsPolicy,
    via: &str,
) -> AppResult<()> {
    let at = now();
    story::Entity::update_many()
        .col_expr(story::Column::QaGateStatus, Expr::value(gate.as_db()))
        .col_expr(story::Column::QaNotes, Expr::value(notes.map(str::to_string)))
        .col_expr(story::Column::QaQualityScore, Expr::value(quality_score))
        .col_expr(story::Column::QaReviewedAt, Expr::value(at))
        .col_expr(story::Column::QaReviewCount, Expr::col(story::Column::QaReviewCount).add(1))
        .col_expr(story::Column::UpdatedAt, Expr::value(at))
        .filter(story::Column::Id.eq(&s.id))
        .exec(c)
        .await?;
    let meta = json!({
        "gate": gate, "notes": notes, "top_issues": top_issues, "quality_score": quality_score,
        "concerns_policy": policy, "via": via,
    });
    audit(c, &s.id, Some(user_id), actions::GATE_UPDATED, None, None, meta).await
}
