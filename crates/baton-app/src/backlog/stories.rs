//! Stories: create under a PBI (optionally straight into an open sprint),
//! list, read, change (including moving to another PBI of the same
//! product), move within the PBI, delete (with its tasks and logs).

use baton_domain::{
    ValidationErrors,
    backlog::{SprintStatus, StoryStatus},
    codes::CodeKind,
};
use baton_store::{
    entities::{job, pbi, product, product_member, sprint, story, task},
    events::{Event, kinds},
    new_id, now,
    sea_orm::{
        ActiveModelTrait,
        ActiveValue::Set,
        ColumnTrait, Condition, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
        sea_query::{LockType, Query},
    },
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{
    DEFAULT_PRIORITY, MAX_TEXT, MoveTo, STORY_ORDER, check_opt_text, check_priority, check_title, clean, clean_opt,
    nullable,
    ordered::{by_sprint, code_and_slot, common_filters, find_in, move_in_product, page_in_order, sprint_filter},
    parse_status,
    pbis::rollup_json,
    propagation::{Rollup, Seeds, propagate},
    refs,
};
use crate::{
    Actor, App, AppError, AppResult, access,
    list::{Page, PageParams},
    products,
    txn::in_product_txn,
};

/// A story as every route returns it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct StoryView {
    /// Id (UUID v7).
    pub id: String,
    /// The PBI it belongs to.
    pub pbi_id: String,
    /// The product (from the PBI).
    pub product_id: String,
    /// The sprint it is planned into; `null` = in the product backlog.
    pub sprint_id: Option<String>,
    /// Who works on it.
    pub assignee_id: Option<String>,
    /// `ST-NNN`, unique in the product; never changes.
    pub code: String,
    /// Title (1–200 characters).
    pub title: String,
    /// Description (≤ 4000 characters).
    pub description: Option<String>,
    /// Acceptance criteria (≤ 4000 characters).
    pub acceptance_criteria: Option<String>,
    /// 1 (critical) to 4 (nice to have).
    pub priority: i32,
    /// Position among the PBI's stories (ascending).
    pub sort_order: f64,
    /// open | in_sprint | done | failed (derived from the tasks).
    pub status: StoryStatus,
    /// BMAD epic number (marketplace stories).
    pub epic_number: Option<i32>,
    /// BMAD story number (marketplace stories).
    pub story_number: Option<String>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

/// The API form of a story row.
pub fn story_view(m: story::Model) -> AppResult<StoryView> {
    Ok(StoryView {
        status: StoryStatus::decode(&m.status, "stories.status")?,
        id: m.id,
        pbi_id: m.pbi_id,
        product_id: m.product_id,
        sprint_id: m.sprint_id,
        assignee_id: m.assignee_id,
        code: m.code,
        title: m.title,
        description: m.description,
        acceptance_criteria: m.acceptance_criteria,
        priority: m.priority,
        sort_order: m.sort_order,
        epic_number: m.epic_number,
        story_number: m.story_number,
        created_at: m.created_at,
        updated_at: m.updated_at,
    })
}

/// Input for a new story.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewStory {
    /// Title, 1–200 characters.
    #[schema(max_length = 200, pattern = "\\S")]
    pub title: String,
    /// Description, at most 4000 characters.
    #[serde(default)]
    #[schema(max_length = 4000)]
    pub description: Option<String>,
    /// Acceptance criteria, at most 4000 characters.
    #[serde(default)]
    #[schema(max_length = 4000)]
    pub acceptance_criteria: Option<String>,
    /// 1 (critical) to 4 (nice to have); default 2.
    #[serde(default)]
    #[schema(minimum = 1, maximum = 4)]
    pub priority: Option<i32>,
    /// An OPEN sprint of the same product (id or code): the story starts in_sprint.
    #[serde(default)]
    pub sprint_id: Option<String>,
    /// The owner or a member of the product.
    #[serde(default)]
    pub assignee_id: Option<String>,
}

/// Changes to a story; absent fields stay as they are.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(min_properties = 1)]
pub struct StoryPatch {
    /// New title.
    #[serde(default)]
    #[schema(max_length = 200, pattern = "\\S")]
    pub title: Option<String>,
    /// New description; `null` clears it.
    #[serde(default, deserialize_with = "nullable::deserialize")]
    #[schema(value_type = Option<String>, max_length = 4000)]
    pub description: Option<Option<String>>,
    /// New acceptance criteria; `null` clears them.
    #[serde(default, deserialize_with = "nullable::deserialize")]
    #[schema(value_type = Option<String>, max_length = 4000)]
    pub acceptance_criteria: Option<Option<String>>,
    /// New priority, 1–4.
    #[serde(default)]
    #[schema(minimum = 1, maximum = 4)]
    pub priority: Option<i32>,
    /// Move the story to another PBI of the same product (id or code); it
    /// keeps its code and goes to the end of that PBI.
    #[serde(default)]
    pub pbi_id: Option<String>,
    /// New assignee (owner or member of the product); `null` clears it.
    #[serde(default, deserialize_with = "nullable::deserialize")]
    #[schema(value_type = Option<String>)]
    pub assignee_id: Option<Option<String>>,
    /// Only for a story without tasks (otherwise its status follows them):
    /// open or in_sprint (must match whether it is in a sprint), done or failed.
    #[serde(default)]
    pub status: Option<StoryStatus>,
}

/// Which stories to list.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StoryFilter {
    /// Only this status: open | in_sprint | done | failed.
    #[param(value_type = Option<baton_domain::backlog::StoryStatus>, inline)]
    pub status: Option<String>,
    /// Only stories in this sprint (id); `none` = only stories in no sprint.
    pub sprint_id: Option<String>,
    /// Only stories of this PBI (id or code).
    pub pbi_id: Option<String>,
    /// Only stories assigned to this user (id).
    pub assignee_id: Option<String>,
    /// Only this priority (1–4).
    #[param(minimum = 1, maximum = 4)]
    pub priority: Option<i32>,
    /// Text in the title or code (case-insensitive).
    pub q: Option<String>,
}

/// Which stories a list covers.
#[derive(Debug, Clone)]
pub enum StoryScope {
    /// The stories of one PBI (id or code).
    Pbi(String),
    /// All stories of a product (id or code).
    Product(String),
}

fn validate_new(input: &NewStory) -> Result<(), ValidationErrors> {
    let mut errs = ValidationErrors::new();
    check_title(&mut errs, "title", &input.title);
    check_opt_text(&mut errs, "description", input.description.as_deref(), MAX_TEXT);
    check_opt_text(&mut errs, "acceptance_criteria", input.acceptance_criteria.as_deref(), MAX_TEXT);
    check_priority(&mut errs, "priority", input.priority);
    errs.into_result()
}

fn validate_patch(p: &StoryPatch) -> Result<(), ValidationErrors> {
    let mut errs = ValidationErrors::new();
    if let Some(t) = &p.title {
        check_title(&mut errs, "title", t);
    }
    if let Some(Some(d)) = &p.description {
        check_opt_text(&mut errs, "description", Some(d), MAX_TEXT);
    }
    if let Some(Some(a)) = &p.acceptance_criteria {
        check_opt_text(&mut errs, "acceptance_criteria", Some(a), MAX_TEXT);
    }
    check_priority(&mut errs, "priority", p.priority);
    let empty = p.title.is_none()
        && p.description.is_none()
        && p.acceptance_criteria.is_none()
        && p.priority.is_none()
        && p.pbi_id.is_none()
        && p.assignee_id.is_none()
        && p.status.is_none();
    if empty {
        errs.add(
            "title",
            "give at least one of title, description, acceptance_criteria, priority, pbi_id, assignee_id or status",
        );
    }
    errs.into_result()
}

/// A sprint of product `product_id` by id or code (case-insensitive), or a
/// validation error on `field`.
pub async fn sprint_in_product<C: ConnectionTrait>(
    c: &C,
    product_id: &str,
    reference: &str,
    field: &str,
) -> AppResult<sprint::Model> {
    let key = reference.trim();
    sprint::Entity::find()
        .filter(sprint::Column::ProductId.eq(product_id))
        .filter(
            Condition::any()
                .add(sprint::Column::Id.eq(key))
                .add(sprint::Column::Code.eq(key.to_ascii_uppercase()))
                .add(sprint::Column::Code.eq(key)),
        )
        .one(c)
        .await?
        .ok_or_else(|| AppError::field(field, format!("no sprint `{key}` in this product")))
}

/// A PBI of product `product_id` by id or code, or a validation error on
/// `field` (re-parenting never leaves the product).
pub async fn pbi_in_product<C: ConnectionTrait>(
    c: &C,
    product_id: &str,
    reference: &str,
    field: &str,
) -> AppResult<pbi::Model> {
    let key = reference.trim();
    let upper = key.to_ascii_uppercase();
    let canonical = CodeKind::Pbi.number(&upper).map(|n| CodeKind::Pbi.format(n)).unwrap_or_else(|| upper.clone());
    if let Some(k) = CodeKind::of(key).filter(|k| *k != CodeKind::Pbi) {
        let _ = k;
        return Err(AppError::field(field, format!("{upper} is not a PBI code; pass a PBI id or PBI-… code")));
    }
    pbi::Entity::find()
        .filter(pbi::Column::ProductId.eq(product_id))
        .filter(Condition::any().add(pbi::Column::Id.eq(key)).add(pbi::Column::Code.is_in([upper, canonical])))
        .one(c)
        .await?
        .ok_or_else(|| {
            AppError::field(field, format!("no PBI `{key}` in this product (stories move only within their product)"))
        })
}

/// Checks that `user_id` is the owner or a member of the product.
pub async fn check_assignee<C: ConnectionTrait>(
    c: &C,
    product: &product::Model,
    user_id: &str,
    field: &str,
) -> AppResult<()> {
    if product.user_id == user_id {
        return Ok(());
    }
    let member = product_member::Entity::find()
        .filter(product_member::Column::ProductId.eq(&product.id))
        .filter(product_member::Column::UserId.eq(user_id))
        .count(c)
        .await?;
    if member == 0 {
        return Err(AppError::field(field, "must be the owner or a member of this product"));
    }
    Ok(())
}

impl App {
    /// Announces a story change and the roll-ups it caused.
    pub(crate) async fn announce_story(&self, product_id: &str, story_id: &str, action: &str, roll: &Rollup) {
        let data = json!({ "story_id": story_id, "action": action, "rollup": rollup_json(roll) });
        self.announce(Event::new(kinds::STORY_CHANGED).for_product(product_id).with_data(data)).await;
        self.announce_rollup(product_id, roll).await;
    }

    /// Announces every story whose status a roll-up changed, and cancelled jobs.
    pub(crate) async fn announce_rollup(&self, product_id: &str, roll: &Rollup) {
        self.announce_all(&rollup_events(product_id, roll)).await;
    }

    /// Creates a story at the end of a PBI, with the next `ST-NNN` code. With
    /// `sprint_id` (an OPEN sprint of the same product) it starts in_sprint.
    pub async fn create_story(&self, actor: &Actor, pbi_ref: &str, input: NewStory) -> AppResult<StoryView> {
        let parent = refs::resolve_pbi(&self.db, actor, pbi_ref).await?;
        access::writable(&self.db, actor, &parent.product_id).await?;
        validate_new(&input)?;
        let pid = parent.product_id.clone();
        let (row, roll) = in_product_txn(&self.db, &pid, move |c| {
            Box::pin(async move {
                let product = products::ensure_not_archived_in(c, &parent.product_id).await?;
                let parent = find_in::<pbi::Entity, _>(c, &parent.id).await?;
                let mut errs = ValidationErrors::new();
                let mut sprint_id = None;
                if let Some(r) = input.sprint_id.as_deref() {
                    match sprint_in_product(c, &parent.product_id, r, "sprint_id").await {
                        Ok(sp) if sp.status == SprintStatus::Open.as_db() => sprint_id = Some(sp.id),
                        Ok(sp) => errs.add(
                            "sprint_id",
                            format!(
                                "sprint {} is {}; stories can only be added to an open sprint",
                                sp.code,
                                SprintStatus::decode(&sp.status, "sprints.status")?.as_api()
                            ),
                        ),
                        Err(AppError::Validation(v)) => errs.0.extend(v.0),
                        Err(e) => return Err(e),
                    }
                }
                let assignee = clean_opt(input.assignee_id);
                if let Some(a) = assignee.as_deref() {
                    match check_assignee(c, &product, a, "assignee_id").await {
                        Ok(()) => {}
                        Err(AppError::Validation(v)) => errs.0.extend(v.0),
                        Err(e) => return Err(e),
                    }
                }
                errs.into_result()?;
                let (code, sort_order) = code_and_slot::<story::Entity, _>(c, &parent.product_id, &parent.id).await?;
                let t = now();
                let status = if sprint_id.is_some() { StoryStatus::InSprint } else { StoryStatus::Open };
                let row = story::ActiveModel {
                    id: Set(new_id()),
                    pbi_id: Set(parent.id.clone()),
                    product_id: Set(parent.product_id.clone()),
                    sprint_id: Set(sprint_id.clone()),
                    assignee_id: Set(assignee),
                    code: Set(code),
                    title: Set(clean(&input.title)),
                    description: Set(clean_opt(input.description)),
                    acceptance_criteria: Set(clean_opt(input.acceptance_criteria)),
                    priority: Set(input.priority.unwrap_or(DEFAULT_PRIORITY)),
                    sort_order: Set(sort_order),
                    status: Set(status.as_db().into()),
                    qa_review_count: Set(0),
                    created_at: Set(t),
                    updated_at: Set(t),
                    ..Default::default()
                }
                .insert(c)
                .await?;
                let roll = propagate(c, Seeds::default().and_pbis([parent.id]).and_sprints([sprint_id])).await?;
                Ok((row, roll))
            })
        })
        .await?;
        self.announce_story(&row.product_id, &row.id, "created", &roll).await;
        story_view(row)
    }

    /// Lists stories (of a PBI or a whole product) in order.
    pub async fn list_stories(
        &self,
        actor: &Actor,
        scope: StoryScope,
        filter: StoryFilter,
        params: PageParams,
    ) -> AppResult<Page<StoryView>> {
        let mut q = story::Entity::find();
        let product_id = match scope {
            StoryScope::Pbi(r) => {
                let p = refs::resolve_pbi(&self.db, actor, &r).await?;
                q = q.filter(story::Column::PbiId.eq(&p.id));
                p.product_id
            }
            StoryScope::Product(r) => {
                let p = products::readable_ref(&self.db, actor, &r).await?;
                q = q.filter(story::Column::ProductId.eq(&p.id));
                p.id
            }
        };
        let status = parse_status(filter.status.as_deref(), "status", StoryStatus::parse_api, StoryStatus::api_values)?;
        let sprint = sprint_filter(&self.db, &product_id, filter.sprint_id.as_deref()).await?;
        q = by_sprint(q, story::Column::SprintId, sprint);
        if let Some(r) = filter.pbi_id.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            let p = pbi_in_product(&self.db, &product_id, r, "pbi_id").await?;
            q = q.filter(story::Column::PbiId.eq(p.id));
        }
        if let Some(a) = filter.assignee_id.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            q = q.filter(story::Column::AssigneeId.eq(a));
        }
        let backend = self.db.get_database_backend();
        let q = common_filters(q, backend, status.map(StoryStatus::as_db), filter.priority, filter.q.as_deref());
        page_in_order(&self.db, q, params, story_view).await
    }

    /// One story, by id or code.
    pub async fn get_story(&self, actor: &Actor, story_ref: &str) -> AppResult<StoryView> {
        story_view(refs::resolve_story(&self.db, actor, story_ref).await?)
    }

    /// Changes a story. Moving it to another PBI (same product only) keeps its
    /// code, appends it to that PBI and re-derives both PBIs and its sprint.
    pub async fn update_story(&self, actor: &Actor, story_ref: &str, patch: StoryPatch) -> AppResult<StoryView> {
        let found = refs::resolve_story(&self.db, actor, story_ref).await?;
        access::writable(&self.db, actor, &found.product_id).await?;
        validate_patch(&patch)?;
        let id = found.id.clone();
        let pid = found.product_id.clone();
        let (row, roll) = in_product_txn(&self.db, &found.product_id, move |c| {
            Box::pin(async move {
                let product = products::ensure_not_archived_in(c, &pid).await?;
                let m = find_in::<story::Entity, _>(c, &id).await?;
                let mut errs = ValidationErrors::new();
                let mut new_pbi = None;
                if let Some(r) = patch.pbi_id.as_deref() {
                    match pbi_in_product(c, &m.product_id, r, "pbi_id").await {
                        Ok(p) if p.id != m.pbi_id => new_pbi = Some(p),
                        Ok(_) => {}
                        Err(AppError::Validation(v)) => errs.0.extend(v.0),
                        Err(e) => return Err(e),
                    }
                }
                if let Some(Some(a)) = patch.assignee_id.as_ref().map(|a| clean_opt(a.clone())) {
                    match check_assignee(c, &product, &a, "assignee_id").await {
                        Ok(()) => {}
                        Err(AppError::Validation(v)) => errs.0.extend(v.0),
                        Err(e) => return Err(e),
                    }
                }
                if let Some(s) = patch.status {
                    crate::marketplace::stories::ensure_backlog_status_is_free(&m)?;
                    let tasks = task::Entity::find().filter(task::Column::StoryId.eq(&m.id)).count(c).await?;
                    if tasks > 0 {
                        return Err(AppError::Conflict(format!(
                            "story {} has {tasks} task(s), so its status ({}) follows them: change the tasks instead",
                            m.code,
                            StoryStatus::decode(&m.status, "stories.status")?.as_api()
                        )));
                    }
                    match (s, m.sprint_id.is_some()) {
                        (StoryStatus::InSprint, false) => {
                            errs.add("status", "in_sprint needs a sprint: add the story to a sprint instead")
                        }
                        (StoryStatus::Open, true) => {
                            errs.add("status", "open means not in a sprint: remove the story from its sprint instead")
                        }
                        _ => {}
                    }
                }
                errs.into_result()?;
                let old_pbi = m.pbi_id.clone();
                let sprint_id = m.sprint_id.clone();
                let mut am: story::ActiveModel = m.into();
                if let Some(t) = patch.title {
                    am.title = Set(clean(&t));
                }
                if let Some(d) = patch.description {
                    am.description = Set(clean_opt(d));
                }
                if let Some(a) = patch.acceptance_criteria {
                    am.acceptance_criteria = Set(clean_opt(a));
                }
                if let Some(p) = patch.priority {
                    am.priority = Set(p);
                }
                if let Some(a) = patch.assignee_id {
                    am.assignee_id = Set(clean_opt(a));
                }
                if let Some(s) = patch.status {
                    am.status = Set(s.as_db().into());
                }
                let moved_to = new_pbi.map(|p| p.id);
                if let Some(p) = &moved_to {
                    am.pbi_id = Set(p.clone());
                    am.sort_order = Set(STORY_ORDER.next(c, p).await?);
                }
                am.updated_at = Set(now());
                let status_set = patch.status.is_some();
                let row = am.update(c).await?;
                let roll = if moved_to.is_some() || status_set {
                    let pbis = [Some(old_pbi), moved_to].into_iter().flatten();
                    propagate(c, Seeds::default().and_pbis(pbis).and_sprints([sprint_id])).await?
                } else {
                    Rollup::default()
                };
                Ok((row, roll))
            })
        })
        .await?;
        self.announce_story(&row.product_id, &row.id, "updated", &roll).await;
        story_view(row)
    }

    /// Moves a story within its PBI.
    pub async fn move_story(&self, actor: &Actor, story_ref: &str, to: MoveTo) -> AppResult<StoryView> {
        let found = refs::resolve_story(&self.db, actor, story_ref).await?;
        access::writable(&self.db, actor, &found.product_id).await?;
        let row = move_in_product::<story::Entity>(&self.db, &found.product_id, found.id.clone(), to).await?;
        self.announce_story(&row.product_id, &row.id, "moved", &Rollup::default()).await;
        story_view(row)
    }

    /// Deletes a story with its tasks and logs; its PBI and sprint are re-derived.
    pub async fn delete_story(&self, actor: &Actor, story_ref: &str) -> AppResult<()> {
        let found = refs::resolve_story(&self.db, actor, story_ref).await?;
        access::writable(&self.db, actor, &found.product_id).await?;
        let id = found.id.clone();
        let pid = found.product_id.clone();
        let roll = in_product_txn(&self.db, &found.product_id, move |c| {
            Box::pin(async move {
                products::ensure_not_archived_in(c, &pid).await?;
                let m = find_in::<story::Entity, _>(c, &id).await?;
                lock_jobs_under(c, std::slice::from_ref(&id)).await?;
                story::Entity::delete_by_id(id).exec(c).await?;
                propagate(c, Seeds::default().and_pbis([m.pbi_id]).and_sprints([m.sprint_id])).await
            })
        })
        .await?;
        self.announce_story(&found.product_id, &found.id, "deleted", &roll).await;
        Ok(())
    }
}

/// The events of a roll-up: each story whose status changed, each job it cancelled.
pub(crate) fn rollup_events(product_id: &str, roll: &Rollup) -> Vec<Event> {
    let mut out = Vec::with_capacity(roll.stories.len() + roll.cancelled_jobs.len());
    for s in &roll.stories {
        let data = json!({ "story_id": s.id, "action": "status", "from": s.transition.from, "to": s.transition.to });
        out.push(Event::new(kinds::STORY_CHANGED).for_product(product_id).with_data(data));
    }
    for j in &roll.cancelled_jobs {
        let data = json!({ "job_id": j, "status": "cancelled" });
        out.push(Event::new(kinds::JOB_STATUS).for_product(product_id).with_data(data));
    }
    out
}

/// Locks the jobs of every task of these stories, in id order. A delete
/// cascades story → task → job, but a worker's `done` (no product lock)
/// holds its job, then its story, then its task: taking the jobs first keeps
/// one order (job → story → task) and so no deadlock.
pub(crate) async fn lock_jobs_under<C: ConnectionTrait>(c: &C, story_ids: &[String]) -> AppResult<()> {
    if story_ids.is_empty() {
        return Ok(());
    }
    let tasks = Query::select()
        .column(task::Column::Id)
        .from(task::Entity)
        .and_where(task::Column::StoryId.is_in(story_ids.iter().cloned()))
        .to_owned();
    let _: Vec<String> = job::Entity::find()
        .select_only()
        .column(job::Column::Id)
        .filter(job::Column::TaskId.in_subquery(tasks))
        .order_by_asc(job::Column::Id)
        .lock(LockType::Update)
        .into_tuple()
        .all(c)
        .await?;
    Ok(())
}
