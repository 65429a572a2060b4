//! Agent-facing reads (reference §3.1 and §10): the bundled product context,
//! the next story to implement, and a sprint's tasks in execution order.
//!
//! Decisions:
//! - `next_story` follows the reference literally: the first story of the
//!   newest OPEN sprint, ordered by the story's own `sort_order`,
//!   `created_at`, `id`, whose status is open or in_sprint and which has no
//!   tasks or a task that is not done.
//! - `GET …/next-story` always answers 200 with `{sprint, story}`;
//!   `story` is `null` when there is nothing to do (agents get JSON either way).
//! - A sprint's task list is in execution order (PBI → story → task, each
//!   by `sort_order`, `created_at`, `id`) and paginated like every list.
//! - Derived task codes `<story code>.<n>` count a story's tasks in order
//!   from 1; they are output only, beside the real `code`.

use std::cmp::Ordering;

use baton_domain::{
    backlog::{SprintStatus, StoryStatus, TaskStatus, VerifyRequired},
    ideas::IdeaStatus,
};
use baton_store::{
    entities::{idea, pbi, sprint, story, task},
    sea_orm::{ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect},
};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::{ProductView, product_view, resolve};
use crate::{
    Actor, App, AppError, AppResult, access,
    list::{Page, PageParams},
};

/// Most ideas returned in a context.
pub const MAX_OPEN_IDEAS: u64 = 50;

/// A sprint as the context shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ContextSprint {
    /// Id.
    pub id: String,
    /// `SP-N` (or an explicit code).
    pub code: String,
    /// The sprint goal.
    pub sprint_goal: String,
    /// `open`, `closed`, `archived` or `failed`.
    pub status: SprintStatus,
    /// First day.
    pub start_date: Option<NaiveDate>,
    /// Last day.
    pub end_date: Option<NaiveDate>,
    /// When it was closed.
    pub completed_at: Option<DateTime<Utc>>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
}

impl From<sprint::Model> for ContextSprint {
    fn from(s: sprint::Model) -> Self {
        ContextSprint {
            status: SprintStatus::from_db(&s.status).unwrap_or(SprintStatus::Open),
            id: s.id,
            code: s.code,
            sprint_goal: s.sprint_goal,
            start_date: s.start_date,
            end_date: s.end_date,
            completed_at: s.completed_at,
            created_at: s.created_at,
        }
    }
}

/// A task as an agent needs it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ContextTask {
    /// Id.
    pub id: String,
    /// `T-N`.
    pub code: String,
    /// `<story code>.<n>`: the legacy code, counted within the story from 1.
    pub derived_code: String,
    /// The story.
    pub story_id: String,
    /// Title.
    pub title: String,
    /// Description.
    pub description: Option<String>,
    /// The plan to follow.
    pub implementation_plan: Option<String>,
    /// 1 (critical) to 4.
    pub priority: i32,
    /// Position within the story.
    pub sort_order: f64,
    /// `todo`, `in_progress`, `review`, `done`, `failed` or `excluded`.
    pub status: TaskStatus,
    /// Verification-only task (an empty diff is fine).
    pub verify_only: bool,
    /// Weakest acceptable verify result.
    pub verify_required: VerifyRequired,
    /// Needs the strongest model.
    pub requires_opus: bool,
    /// Repository override.
    pub repo_url: Option<String>,
}

/// The next story to implement, with its tasks in order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ContextStory {
    /// Id.
    pub id: String,
    /// `ST-NNN`.
    pub code: String,
    /// The PBI.
    pub pbi_id: String,
    /// The sprint.
    pub sprint_id: Option<String>,
    /// Who works on it.
    pub assignee_id: Option<String>,
    /// Title.
    pub title: String,
    /// Description.
    pub description: Option<String>,
    /// Acceptance criteria.
    pub acceptance_criteria: Option<String>,
    /// 1 (critical) to 4.
    pub priority: i32,
    /// Position within the PBI.
    pub sort_order: f64,
    /// `open`, `in_sprint`, `done` or `failed`.
    pub status: StoryStatus,
    /// Its tasks in order.
    pub tasks: Vec<ContextTask>,
}

/// One of the caller's open ideas.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ContextIdea {
    /// Id.
    pub id: String,
    /// `IDEA-NNN`.
    pub code: String,
    /// Title.
    pub title: String,
    /// Description.
    pub description: Option<String>,
    /// Lifecycle status (lowercase).
    pub status: IdeaStatus,
    /// The product, or `null` for ideas not tied to one.
    pub product_id: Option<String>,
    /// When it was noted.
    pub created_at: DateTime<Utc>,
}

/// Everything an agent needs to start on a product.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ProductContext {
    /// The product.
    pub product: ProductView,
    /// The newest OPEN sprint, if any.
    pub active_sprint: Option<ContextSprint>,
    /// All OPEN sprints, newest first.
    pub open_sprints: Vec<ContextSprint>,
    /// The next story of the active sprint, with its tasks.
    pub next_story: Option<ContextStory>,
    /// Up to 50 of the caller's ideas for this product (or no product) that
    /// are neither archived nor planned, oldest first.
    pub open_ideas: Vec<ContextIdea>,
}

/// The answer of `GET /api/products/{id}/next-story`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct NextStory {
    /// The sprint it was taken from (the newest OPEN one), if any.
    pub sprint: Option<ContextSprint>,
    /// The story, or `null` when nothing is left to do.
    pub story: Option<ContextStory>,
}

/// A task of a sprint, in execution order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SprintTask {
    /// Id.
    pub id: String,
    /// `T-N`.
    pub code: String,
    /// `<story code>.<n>`.
    pub derived_code: String,
    /// The story.
    pub story_id: String,
    /// The story's code.
    pub story_code: String,
    /// The story's title.
    pub story_title: String,
    /// The PBI.
    pub pbi_id: String,
    /// The PBI's code.
    pub pbi_code: String,
    /// The sprint.
    pub sprint_id: String,
    /// Title.
    pub title: String,
    /// Description.
    pub description: Option<String>,
    /// The plan to follow.
    pub implementation_plan: Option<String>,
    /// 1 (critical) to 4.
    pub priority: i32,
    /// Position within the story.
    pub sort_order: f64,
    /// Lowercase status.
    pub status: TaskStatus,
    /// Verification-only task.
    pub verify_only: bool,
    /// Weakest acceptable verify result.
    pub verify_required: VerifyRequired,
    /// Needs the strongest model.
    pub requires_opus: bool,
    /// Repository override.
    pub repo_url: Option<String>,
}

/// `sort_order`, `created_at`, `id` — the one ordering of every sibling list.
pub(crate) fn by_position(a: (f64, &DateTime<Utc>, &str), b: (f64, &DateTime<Utc>, &str)) -> Ordering {
    a.0.total_cmp(&b.0).then_with(|| a.1.cmp(b.1)).then_with(|| a.2.cmp(b.2))
}

fn context_task(t: task::Model, story_code: &str, n: usize) -> ContextTask {
    ContextTask {
        derived_code: format!("{story_code}.{n}"),
        status: TaskStatus::from_db(&t.status).unwrap_or(TaskStatus::ToDo),
        verify_required: VerifyRequired::from_db(&t.verify_required).unwrap_or(VerifyRequired::AlignedOrPartial),
        id: t.id,
        code: t.code,
        story_id: t.story_id,
        title: t.title,
        description: t.description,
        implementation_plan: t.implementation_plan,
        priority: t.priority,
        sort_order: t.sort_order,
        verify_only: t.verify_only,
        requires_opus: t.requires_opus,
        repo_url: t.repo_url,
    }
}

/// Tasks of the given stories, each story's list in order.
async fn tasks_of<C: ConnectionTrait>(db: &C, story_ids: Vec<String>) -> AppResult<Vec<task::Model>> {
    let mut tasks = Vec::new();
    for chunk in story_ids.chunks(500) {
        tasks.extend(task::Entity::find().filter(task::Column::StoryId.is_in(chunk.to_vec())).all(db).await?);
    }
    tasks.sort_by(|a, b| {
        a.story_id
            .cmp(&b.story_id)
            .then_with(|| by_position((a.sort_order, &a.created_at, &a.id), (b.sort_order, &b.created_at, &b.id)))
    });
    Ok(tasks)
}

/// All OPEN sprints of a product, newest first.
pub(crate) async fn open_sprints<C: ConnectionTrait>(db: &C, product_id: &str) -> AppResult<Vec<ContextSprint>> {
    Ok(sprint::Entity::find()
        .filter(sprint::Column::ProductId.eq(product_id))
        .filter(sprint::Column::Status.eq(SprintStatus::Open.as_db()))
        .order_by_desc(sprint::Column::CreatedAt)
        .order_by_desc(sprint::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(ContextSprint::from)
        .collect())
}

/// The next story of a sprint (see the module notes), with its tasks.
pub(crate) async fn next_story_in<C: ConnectionTrait>(db: &C, sprint_id: &str) -> AppResult<Option<ContextStory>> {
    let stories = story::Entity::find()
        .filter(story::Column::SprintId.eq(sprint_id))
        .filter(story::Column::Status.is_in([StoryStatus::Open.as_db(), StoryStatus::InSprint.as_db()]))
        .order_by_asc(story::Column::SortOrder)
        .order_by_asc(story::Column::CreatedAt)
        .order_by_asc(story::Column::Id)
        .all(db)
        .await?;
    let tasks = tasks_of(db, stories.iter().map(|s| s.id.clone()).collect()).await?;
    for s in stories {
        let mine: Vec<task::Model> = tasks.iter().filter(|t| t.story_id == s.id).cloned().collect();
        if mine.is_empty() || mine.iter().any(|t| t.status != TaskStatus::Done.as_db()) {
            let tasks = mine.into_iter().enumerate().map(|(i, t)| context_task(t, &s.code, i + 1)).collect();
            return Ok(Some(ContextStory {
                status: StoryStatus::from_db(&s.status).unwrap_or(StoryStatus::Open),
                id: s.id,
                code: s.code,
                pbi_id: s.pbi_id,
                sprint_id: s.sprint_id,
                assignee_id: s.assignee_id,
                title: s.title,
                description: s.description,
                acceptance_criteria: s.acceptance_criteria,
                priority: s.priority,
                sort_order: s.sort_order,
                tasks,
            }));
        }
    }
    Ok(None)
}

impl App {
    /// The bundled context of a product (by id or code): product, active
    /// sprint, all open sprints, next story and the caller's open ideas.
    pub async fn product_context(&self, actor: &Actor, product: &str) -> AppResult<ProductContext> {
        let (p, access) = resolve(&self.db, actor, product).await?;
        let open_sprints = open_sprints(&self.db, &p.id).await?;
        let active_sprint = open_sprints.first().cloned();
        let next_story = match &active_sprint {
            Some(s) => next_story_in(&self.db, &s.id).await?,
            None => None,
        };
        let open_ideas = idea::Entity::find()
            .filter(idea::Column::UserId.eq(&actor.user_id))
            .filter(idea::Column::Archived.eq(false))
            .filter(idea::Column::Status.ne(IdeaStatus::Planned.as_db()))
            .filter(Condition::any().add(idea::Column::ProductId.eq(&p.id)).add(idea::Column::ProductId.is_null()))
            .order_by_asc(idea::Column::CreatedAt)
            .order_by_asc(idea::Column::Id)
            .limit(MAX_OPEN_IDEAS)
            .all(&self.db)
            .await?
            .into_iter()
            .map(|i| ContextIdea {
                status: IdeaStatus::from_db(&i.status).unwrap_or(IdeaStatus::Draft),
                id: i.id,
                code: i.code,
                title: i.title,
                description: i.description,
                product_id: i.product_id,
                created_at: i.created_at,
            })
            .collect();
        Ok(ProductContext { product: product_view(p, access), active_sprint, open_sprints, next_story, open_ideas })
    }

    /// The next story of a product's newest OPEN sprint, with its tasks.
    pub async fn next_story(&self, actor: &Actor, product: &str) -> AppResult<NextStory> {
        let (p, _) = resolve(&self.db, actor, product).await?;
        let sprint = open_sprints(&self.db, &p.id).await?.into_iter().next();
        let story = match &sprint {
            Some(s) => next_story_in(&self.db, &s.id).await?,
            None => None,
        };
        Ok(NextStory { sprint, story })
    }

    /// A sprint's tasks in execution order: PBI, then story, then task
    /// position. Sprints of products the caller cannot read are not found.
    pub async fn sprint_tasks(
        &self,
        actor: &Actor,
        sprint_id: &str,
        params: PageParams,
    ) -> AppResult<Page<SprintTask>> {
        let (page, limit, offset) = params.window()?;
        let s = sprint::Entity::find_by_id(sprint_id.trim().to_string())
            .one(&self.db)
            .await?
            .ok_or(AppError::NotFound("sprint"))?;
        access::readable(&self.db, actor, &s.product_id).await.map_err(|e| match e {
            AppError::NotFound(_) => AppError::NotFound("sprint"),
            e => e,
        })?;
        let stories = story::Entity::find().filter(story::Column::SprintId.eq(&s.id)).all(&self.db).await?;
        let mut pbi_ids: Vec<String> = stories.iter().map(|st| st.pbi_id.clone()).collect();
        pbi_ids.sort();
        pbi_ids.dedup();
        let mut pbis = Vec::new();
        for chunk in pbi_ids.chunks(500) {
            pbis.extend(pbi::Entity::find().filter(pbi::Column::Id.is_in(chunk.to_vec())).all(&self.db).await?);
        }
        let tasks = tasks_of(&self.db, stories.iter().map(|st| st.id.clone()).collect()).await?;
        let mut stories: Vec<(&pbi::Model, &story::Model)> =
            stories.iter().filter_map(|st| pbis.iter().find(|p| p.id == st.pbi_id).map(|p| (p, st))).collect();
        stories.sort_by(|(pa, sa), (pb, sb)| {
            by_position((pa.sort_order, &pa.created_at, &pa.id), (pb.sort_order, &pb.created_at, &pb.id)).then_with(
                || by_position((sa.sort_order, &sa.created_at, &sa.id), (sb.sort_order, &sb.created_at, &sb.id)),
            )
        });
        let mut by_story: std::collections::HashMap<&str, Vec<&task::Model>> = std::collections::HashMap::new();
        for t in &tasks {
            by_story.entry(t.story_id.as_str()).or_default().push(t);
        }
        let mut all = Vec::with_capacity(tasks.len());
        for (p, st) in stories {
            for (i, t) in by_story.get(st.id.as_str()).into_iter().flatten().enumerate() {
                let c = context_task((*t).clone(), &st.code, i + 1);
                all.push(SprintTask {
                    id: c.id,
                    code: c.code,
                    derived_code: c.derived_code,
                    story_id: st.id.clone(),
                    story_code: st.code.clone(),
                    story_title: st.title.clone(),
                    pbi_id: p.id.clone(),
                    pbi_code: p.code.clone(),
                    sprint_id: s.id.clone(),
                    title: c.title,
                    description: c.description,
                    implementation_plan: c.implementation_plan,
                    priority: c.priority,
                    sort_order: c.sort_order,
                    status: c.status,
                    verify_only: c.verify_only,
                    verify_required: c.verify_required,
                    requires_opus: c.requires_opus,
                    repo_url: c.repo_url,
                });
            }
        }
        let total = all.len() as u64;
        // The offset is at most MAX_PAGE × MAX_LIMIT, which fits any usize we build for.
        let skip = usize::try_from(offset).unwrap_or(usize::MAX);
        let items = all.into_iter().skip(skip).take(limit as usize).collect();
        Ok(Page { items, page, limit, total })
    }
}
