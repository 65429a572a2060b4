//! Read models of the sprint pages: a product's sprints with their
//! progress, one sprint's board with everything its cards and swimlanes
//! show (task, story, PBI and assignee in two reads), and the planning view
//! (backlog stories by PBI beside the open sprints). Codes are resolved
//! within the product, so `ST-001` of another product never matches.

use std::collections::HashMap;

use baton_domain::{
    agents::SprintRunStatus,
    backlog::{PbiStatus, SprintStatus, StoryStatus, TaskStatus},
};
use baton_store::{
    entities::{pbi, sprint, sprint_run, story, task},
    sea_orm::{
        ColumnTrait, ConnectionTrait, EntityTrait, FromQueryResult, QueryFilter, QueryOrder, QuerySelect, Statement,
        sea_query::{Expr, ExprTrait},
    },
};
use chrono::{DateTime, Utc};

use super::SprintView;
use crate::{
    Actor, App, AppError, AppResult,
    backlog::{stories::sprint_in_product, tasks::story_in_product},
    products,
};

/// A sprint run, in short.
#[derive(Debug, Clone, PartialEq)]
pub struct RunBrief {
    /// Run id.
    pub id: String,
    /// Its status.
    pub status: SprintRunStatus,
}

/// A sprint with its progress.
#[derive(Debug, Clone, PartialEq)]
pub struct SprintProgress {
    /// The sprint.
    pub sprint: SprintView,
    /// Stories in it.
    pub stories: u64,
    /// Of which done.
    pub stories_done: u64,
    /// Tasks in it.
    pub tasks: u64,
    /// Of which done.
    pub tasks_done: u64,
    /// Its newest run, if it has one.
    pub latest_run: Option<RunBrief>,
}

/// One task card of the board.
#[derive(Debug, Clone, PartialEq)]
pub struct BoardCard {
    /// Task id.
    pub id: String,
    /// `T-N`.
    pub code: String,
    /// Title.
    pub title: String,
    /// Status.
    pub status: TaskStatus,
    /// 1 (critical) to 4.
    pub priority: i32,
    /// Its story's code.
    pub story_code: String,
    /// Its story's assignee (username), if any.
    pub assignee: Option<String>,
}

/// One story of the board (its swimlane), with its PBI.
#[derive(Debug, Clone, PartialEq)]
pub struct BoardLane {
    /// Story id.
    pub id: String,
    /// `ST-NNN`.
    pub code: String,
    /// Title.
    pub title: String,
    /// Story status.
    pub status: StoryStatus,
    /// Assignee (username), if any.
    pub assignee: Option<String>,
    /// The PBI's code.
    pub pbi_code: String,
    /// The PBI's title.
    pub pbi_title: String,
    /// The PBI's status.
    pub pbi_status: PbiStatus,
    /// Its tasks (excluded ones included).
    pub tasks: u64,
    /// Of which done.
    pub tasks_done: u64,
}

/// The board of one sprint: lanes (stories) and cards (tasks), both in
/// execution order (PBI order, story order, task order).
#[derive(Debug, Clone, PartialEq)]
pub struct BoardRead {
    /// The sprint shown: the one asked for, else the newest open one.
    pub sprint: Option<SprintView>,
    /// Every sprint of the product, newest first (the sprint picker).
    pub sprints: Vec<SprintView>,
    /// The shown sprint's stories.
    pub lanes: Vec<BoardLane>,
    /// The shown sprint's tasks.
    pub cards: Vec<BoardCard>,
    /// The shown sprint's newest run, if any.
    pub latest_run: Option<RunBrief>,
}

/// A story as sprint planning shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanStory {
    /// Story id.
    pub id: String,
    /// `ST-NNN`.
    pub code: String,
    /// Title.
    pub title: String,
    /// Status.
    pub status: StoryStatus,
    /// 1 (critical) to 4.
    pub priority: i32,
    /// Its PBI's code.
    pub pbi_code: String,
    /// How many tasks it has.
    pub tasks: u64,
}

/// A PBI with its stories waiting in the product backlog.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanPbi {
    /// PBI id.
    pub id: String,
    /// `PBI-N`.
    pub code: String,
    /// Title.
    pub title: String,
    /// Status.
    pub status: PbiStatus,
    /// Its unfinished stories outside any sprint, in order.
    pub stories: Vec<PlanStory>,
}

/// An open sprint with its stories.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanSprint {
    /// The sprint.
    pub sprint: SprintView,
    /// Its stories, in execution order.
    pub stories: Vec<PlanStory>,
}

/// Sprint planning: the backlog by PBI (PBIs without waiting stories
/// left out) and every open sprint, newest first.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanningRead {
    /// PBIs with stories to plan.
    pub backlog: Vec<PlanPbi>,
    /// Open sprints.
    pub sprints: Vec<PlanSprint>,
}

#[derive(Debug, FromQueryResult)]
struct LaneRow {
    id: String,
    code: String,
    title: String,
    status: String,
    sort_order: f64,
    created_at: DateTime<Utc>,
    pbi_id: String,
    pbi_code: String,
    pbi_title: String,
    pbi_status: String,
    pbi_sort: f64,
    pbi_created: DateTime<Utc>,
    assignee: Option<String>,
}

/// The board's stories with their PBI and assignee (indexed by
/// `stories.sprint_id`).
const LANES_SQL: &str = "SELECT s.id, s.code, s.title, s.status, s.sort_order, s.created_at, \
     p.id AS pbi_id, p.code AS pbi_code, p.title AS pbi_title, p.status AS pbi_status, \
     p.sort_order AS pbi_sort, p.created_at AS pbi_created, u.username AS assignee \
     FROM stories s JOIN pbis p ON p.id = s.pbi_id LEFT JOIN users u ON u.id = s.assignee_id \
     WHERE s.sprint_id = $1";

#[derive(Debug, FromQueryResult)]
struct CardRow {
    id: String,
    story_id: String,
    code: String,
    title: String,
    status: String,
    priority: i32,
    sort_order: f64,
    created_at: DateTime<Utc>,
}

/// The board's tasks (indexed by the denormalised `tasks.sprint_id`).
const CARDS_SQL: &str = "SELECT t.id, t.story_id, t.code, t.title, t.status, t.priority, t.sort_order, \
     t.created_at FROM tasks t WHERE t.sprint_id = $1";

fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

/// (total, done) per group key from `(key, status, count)` rows.
fn tally(rows: Vec<(Option<String>, String, i64)>, done: &str) -> HashMap<String, (u64, u64)> {
    let mut out: HashMap<String, (u64, u64)> = HashMap::new();
    for (key, status, n) in rows {
        let Some(key) = key else { continue };
        let e = out.entry(key).or_default();
        e.0 += count(n);
        if status == done {
            e.1 += count(n);
        }
    }
    out
}

/// Newest run per sprint of the product.
async fn latest_runs<C: ConnectionTrait>(db: &C, sprint_ids: Vec<String>) -> AppResult<HashMap<String, RunBrief>> {
    let runs = sprint_run::Entity::find()
        .filter(sprint_run::Column::SprintId.is_in(sprint_ids))
        .order_by_desc(sprint_run::Column::CreatedAt)
        .order_by_desc(sprint_run::Column::Id)
        .all(db)
        .await?;
    let mut out = HashMap::new();
    for r in runs {
        if !out.contains_key(&r.sprint_id) {
            let status = SprintRunStatus::decode(&r.status, "sprint_runs.status")?;
            out.insert(r.sprint_id.clone(), RunBrief { id: r.id, status });
        }
    }
    Ok(out)
}

async fn product_sprints<C: ConnectionTrait>(db: &C, product_id: &str) -> AppResult<Vec<SprintView>> {
    sprint::Entity::find()
        .filter(sprint::Column::ProductId.eq(product_id))
        .order_by_desc(sprint::Column::CreatedAt)
        .order_by_desc(sprint::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(SprintView::of)
        .collect()
}

/// Per-story task counts `(total, done)` of these stories.
async fn task_counts<C: ConnectionTrait>(db: &C, story_ids: Vec<String>) -> AppResult<HashMap<String, (u64, u64)>> {
    let mut out = HashMap::new();
    // Chunked: both backends limit the bound values of one statement.
    for chunk in story_ids.chunks(500) {
        let rows: Vec<(Option<String>, String, i64)> = task::Entity::find()
            .select_only()
            .column(task::Column::StoryId)
            .column(task::Column::Status)
            .column_as(Expr::col(task::Column::Id).count(), "n")
            .filter(task::Column::StoryId.is_in(chunk.to_vec()))
            .group_by(task::Column::StoryId)
            .group_by(task::Column::Status)
            .into_tuple()
            .all(db)
            .await?;
        out.extend(tally(rows, TaskStatus::Done.as_db()));
    }
    Ok(out)
}

impl App {
    /// A sprint of a product the actor can read, by id or code (any case);
    /// anything else is 404.
    pub async fn product_sprint(&self, actor: &Actor, product: &str, sprint_ref: &str) -> AppResult<SprintView> {
        let p = products::readable_ref(&self.db, actor, product).await?;
        match sprint_in_product(&self.db, &p.id, sprint_ref, "sprint").await {
            Ok(s) => SprintView::of(s),
            Err(AppError::Validation(_)) => Err(AppError::NotFound("sprint")),
            Err(e) => Err(e),
        }
    }

    /// The id of a story of a product the actor can read, by id or code;
    /// 404 otherwise (page URLs name items by their product's codes).
    pub async fn product_story_id(&self, actor: &Actor, product: &str, story_ref: &str) -> AppResult<String> {
        let p = products::readable_ref(&self.db, actor, product).await?;
        match story_in_product(&self.db, &p.id, story_ref, "story").await {
            Ok(s) => Ok(s.id),
            Err(AppError::Validation(_)) => Err(AppError::NotFound("story")),
            Err(e) => Err(e),
        }
    }

    /// The id of a task of a product the actor can read, by id or code; 404
    /// otherwise.
    pub async fn product_task_id(&self, actor: &Actor, product: &str, task_ref: &str) -> AppResult<String> {
        let p = products::readable_ref(&self.db, actor, product).await?;
        let key = task_ref.trim();
        let row = task::Entity::find()
            .filter(task::Column::ProductId.eq(&p.id))
            .filter(task::Column::Id.eq(key).or(task::Column::Code.is_in([key.to_string(), key.to_ascii_uppercase()])))
            .one(&self.db)
            .await?;
        row.map(|t| t.id).ok_or(AppError::NotFound("task"))
    }

    /// A product's sprints, newest first, with story and task progress and
    /// their newest run.
    pub async fn sprint_progress(&self, actor: &Actor, product: &str) -> AppResult<Vec<SprintProgress>> {
        let p = products::readable_ref(&self.db, actor, product).await?;
        let sprints = product_sprints(&self.db, &p.id).await?;
        let stories: Vec<(Option<String>, String, i64)> = story::Entity::find()
            .select_only()
            .column(story::Column::SprintId)
            .column(story::Column::Status)
            .column_as(Expr::col(story::Column::Id).count(), "n")
            .filter(story::Column::ProductId.eq(&p.id))
            .filter(story::Column::SprintId.is_not_null())
            .group_by(story::Column::SprintId)
            .group_by(story::Column::Status)
            .into_tuple()
            .all(&self.db)
            .await?;
        let tasks: Vec<(Option<String>, String, i64)> = task::Entity::find()
            .select_only()
            .column(task::Column::SprintId)
            .column(task::Column::Status)
            .column_as(Expr::col(task::Column::Id).count(), "n")
            .filter(task::Column::ProductId.eq(&p.id))
            .filter(task::Column::SprintId.is_not_null())
            .group_by(task::Column::SprintId)
            .group_by(task::Column::Status)
            .into_tuple()
            .all(&self.db)
            .await?;
        let stories = tally(stories, StoryStatus::Done.as_db());
        let tasks = tally(tasks, TaskStatus::Done.as_db());
        let mut runs = latest_runs(&self.db, sprints.iter().map(|s| s.id.clone()).collect()).await?;
        Ok(sprints
            .into_iter()
            .map(|s| {
                let (st, sd) = stories.get(&s.id).copied().unwrap_or_default();
                let (tt, td) = tasks.get(&s.id).copied().unwrap_or_default();
                SprintProgress {
                    latest_run: runs.remove(&s.id),
                    sprint: s,
                    stories: st,
                    stories_done: sd,
                    tasks: tt,
                    tasks_done: td,
                }
            })
            .collect())
    }

    /// The board of a product's sprint (`sprint_ref`, else its newest open
    /// sprint; `None` when it has none): stories with their PBI and
    /// assignee, tasks with their story, in execution order. Two indexed
    /// reads for the rows whatever the sprint's size.
    pub async fn board_read(&self, actor: &Actor, product: &str, sprint_ref: Option<&str>) -> AppResult<BoardRead> {
        let p = products::readable_ref(&self.db, actor, product).await?;
        let sprints = product_sprints(&self.db, &p.id).await?;
        let shown = match sprint_ref.map(str::trim).filter(|s| !s.is_empty()) {
            Some(r) => Some(
                sprints
                    .iter()
                    .find(|s| s.id == r || s.code.eq_ignore_ascii_case(r))
                    .cloned()
                    .ok_or(AppError::NotFound("sprint"))?,
            ),
            None => sprints.iter().find(|s| s.status == SprintStatus::Open).cloned(),
        };
        let Some(shown) = shown else {
            return Ok(BoardRead { sprint: None, sprints, lanes: vec![], cards: vec![], latest_run: None });
        };
        let be = self.db.get_database_backend();
        let mut lanes =
            LaneRow::find_by_statement(Statement::from_sql_and_values(be, LANES_SQL, [shown.id.clone().into()]))
                .all(&self.db)
                .await?;
        let mut cards =
            CardRow::find_by_statement(Statement::from_sql_and_values(be, CARDS_SQL, [shown.id.clone().into()]))
                .all(&self.db)
                .await?;
        let latest_run = latest_runs(&self.db, vec![shown.id.clone()]).await?.remove(&shown.id);
        // Sorted here rather than by the database: Postgres compares text
        // ids by collation, and the rows stream straight from the indexes.
        lanes.sort_by(|a, b| {
            a.pbi_sort
                .total_cmp(&b.pbi_sort)
                .then_with(|| a.pbi_created.cmp(&b.pbi_created))
                .then_with(|| a.pbi_id.cmp(&b.pbi_id))
                .then_with(|| a.sort_order.total_cmp(&b.sort_order))
                .then_with(|| a.created_at.cmp(&b.created_at))
                .then_with(|| a.id.cmp(&b.id))
        });
        let lane_index: HashMap<&str, usize> = lanes.iter().enumerate().map(|(i, l)| (l.id.as_str(), i)).collect();
        cards.sort_by(|a, b| {
            let la = lane_index.get(a.story_id.as_str()).copied().unwrap_or(usize::MAX);
            let lb = lane_index.get(b.story_id.as_str()).copied().unwrap_or(usize::MAX);
            la.cmp(&lb)
                .then_with(|| a.sort_order.total_cmp(&b.sort_order))
                .then_with(|| a.created_at.cmp(&b.created_at))
                .then_with(|| a.id.cmp(&b.id))
        });
        let mut progress = vec![(0u64, 0u64); lanes.len()];
        let mut out_cards = Vec::with_capacity(cards.len());
        for c in cards {
            let status = TaskStatus::decode(&c.status, "tasks.status")?;
            // A task whose story left the sprint in between the two reads is skipped.
            let Some(&i) = lane_index.get(c.story_id.as_str()) else { continue };
            progress[i].0 += 1;
            if status == TaskStatus::Done {
                progress[i].1 += 1;
            }
            out_cards.push(BoardCard {
                id: c.id,
                code: c.code,
                title: c.title,
                status,
                priority: c.priority,
                story_code: lanes[i].code.clone(),
                assignee: lanes[i].assignee.clone(),
            });
        }
        let mut out_lanes = Vec::with_capacity(lanes.len());
        for (l, (tasks, done)) in lanes.into_iter().zip(progress) {
            out_lanes.push(BoardLane {
                status: StoryStatus::decode(&l.status, "stories.status")?,
                pbi_status: PbiStatus::decode(&l.pbi_status, "pbis.status")?,
                id: l.id,
                code: l.code,
                title: l.title,
                assignee: l.assignee,
                pbi_code: l.pbi_code,
                pbi_title: l.pbi_title,
                tasks,
                tasks_done: done,
            });
        }
        Ok(BoardRead { sprint: Some(shown), sprints, lanes: out_lanes, cards: out_cards, latest_run })
    }

    /// Sprint planning of a product: its unfinished stories outside any
    /// sprint, by PBI in order, and its open sprints (newest first) with
    /// their stories.
    pub async fn planning_read(&self, actor: &Actor, product: &str) -> AppResult<PlanningRead> {
        let p = products::readable_ref(&self.db, actor, product).await?;
        let open: Vec<SprintView> =
            product_sprints(&self.db, &p.id).await?.into_iter().filter(|s| s.status == SprintStatus::Open).collect();
        let pbis = pbi::Entity::find()
            .filter(pbi::Column::ProductId.eq(&p.id))
            .order_by_asc(pbi::Column::SortOrder)
            .order_by_asc(pbi::Column::CreatedAt)
            .order_by_asc(pbi::Column::Id)
            .all(&self.db)
            .await?;
        let open_ids: Vec<String> = open.iter().map(|s| s.id.clone()).collect();
        let stories = story::Entity::find()
            .filter(story::Column::ProductId.eq(&p.id))
            .filter(
                story::Column::SprintId
                    .is_null()
                    .and(story::Column::Status.ne(StoryStatus::Done.as_db()))
                    .or(story::Column::SprintId.is_in(open_ids)),
            )
            .order_by_asc(story::Column::SortOrder)
            .order_by_asc(story::Column::CreatedAt)
            .order_by_asc(story::Column::Id)
            .all(&self.db)
            .await?;
        let counts = task_counts(&self.db, stories.iter().map(|s| s.id.clone()).collect()).await?;
        let pbi_pos: HashMap<&str, usize> = pbis.iter().enumerate().map(|(i, p)| (p.id.as_str(), i)).collect();
        let mut backlog: Vec<PlanPbi> = pbis
            .iter()
            .map(|p| {
                Ok(PlanPbi {
                    id: p.id.clone(),
                    code: p.code.clone(),
                    title: p.title.clone(),
                    status: PbiStatus::decode(&p.status, "pbis.status")?,
                    stories: vec![],
                })
            })
            .collect::<AppResult<_>>()?;
        let mut by_sprint: HashMap<String, Vec<(usize, PlanStory)>> = HashMap::new();
        for s in stories {
            let Some(&i) = pbi_pos.get(s.pbi_id.as_str()) else { continue };
            let plan = PlanStory {
                status: StoryStatus::decode(&s.status, "stories.status")?,
                tasks: counts.get(&s.id).map_or(0, |c| c.0),
                id: s.id,
                code: s.code,
                title: s.title,
                priority: s.priority,
                pbi_code: backlog[i].code.clone(),
            };
            match s.sprint_id {
                None => backlog[i].stories.push(plan),
                Some(sp) => by_sprint.entry(sp).or_default().push((i, plan)),
            }
        }
        backlog.retain(|p| !p.stories.is_empty());
        let sprints = open
            .into_iter()
            .map(|sprint| {
                let mut stories = by_sprint.remove(&sprint.id).unwrap_or_default();
                // Execution order: PBI order first, story order within (stable sort).
                stories.sort_by_key(|(i, _)| *i);
                PlanSprint { sprint, stories: stories.into_iter().map(|(_, s)| s).collect() }
            })
            .collect();
        Ok(PlanningRead { backlog, sprints })
    }
}
