//! Bulk operations on lists of ids: reorder siblings, move stories to a
//! sprint (or back to the backlog), change the status of many PBIs, stories
//! or tasks.
//!
//! Every bulk request is all-or-nothing (reference §4.7, whose suggested
//! rules we adopt):
//!
//! * the list must not be empty (422 `ids`) nor hold duplicates (422 `ids.N`,
//!   also when an id and a code name the same item);
//! * every id (or code) must exist and be readable by the caller; one that
//!   does not exist and one the caller cannot see get the same 422 `ids.N`
//!   message, so existence never leaks;
//! * all items must belong to one product (and, for a reorder, one parent);
//! * demo users get 403 before anything is looked at; read-only members get
//!   403 once the product is known;
//! * all changes run in one product transaction, so an error leaves the
//!   database exactly as it was.

use std::collections::{HashMap, HashSet};

use baton_domain::{
    ValidationErrors,
    backlog::{PbiStatus, SprintStatus, StoryStatus, TaskStatus},
    codes::CodeKind,
};
use baton_store::{
    entities::{pbi, sprint, story, task},
    events::{Event, kinds},
    now,
    sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, sea_query::Expr},
};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::json;

use crate::{
    Actor, App, AppError, AppResult, access,
    backlog::{
        propagation::{Rollup, Seeds, propagate},
        refs,
        tasks::apply_task_status,
    },
    sprints::{self, MovedStory, SprintView},
    txn,
};

/// Most ids one bulk request may name.
pub const MAX_BULK_IDS: usize = 500;

/// Which kind of backlog item a bulk request is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum BulkKind {
    /// Product backlog items.
    Pbi,
    /// Stories.
    Story,
    /// Tasks.
    Task,
}

impl BulkKind {
    fn noun(self) -> &'static str {
        match self {
            BulkKind::Pbi => "PBI",
            BulkKind::Story => "story",
            BulkKind::Task => "task",
        }
    }
    fn parent_noun(self) -> &'static str {
        match self {
            BulkKind::Pbi => "product",
            BulkKind::Story => "PBI",
            BulkKind::Task => "story",
        }
    }
    fn of_code(kind: CodeKind) -> Option<BulkKind> {
        match kind {
            CodeKind::Pbi => Some(BulkKind::Pbi),
            CodeKind::Story => Some(BulkKind::Story),
            CodeKind::Task => Some(BulkKind::Task),
            CodeKind::Sprint => None,
        }
    }
}

/// Puts siblings in the given order.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReorderInput {
    /// What the ids are; inferred from the first id when absent.
    #[serde(default)]
    pub kind: Option<BulkKind>,
    /// Ids or codes of siblings (PBIs of one product, stories of one PBI or
    /// tasks of one story), in their new order. They get sort orders 1..n;
    /// siblings not listed follow in their current order.
    #[schema(min_items = 1, max_items = 500)]
    pub ids: Vec<String>,
}

/// Moves stories to a sprint or back to the backlog.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MoveToSprintInput {
    /// Story ids or codes, all of one product.
    #[schema(min_items = 1, max_items = 500)]
    pub story_ids: Vec<String>,
    /// An OPEN sprint of the same product, or `null` for the product backlog. Required.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub sprint_id: Option<Option<String>>,
}

/// Sets one status on many items.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BulkStatusInput {
    /// pbi | story | task.
    pub kind: BulkKind,
    /// Ids or codes, all of one product.
    #[schema(min_items = 1, max_items = 500)]
    pub ids: Vec<String>,
    /// The new status, lowercase (task: todo, in_progress, review, done,
    /// failed, excluded; story: open, in_sprint, done, failed; PBI: ready,
    /// blocked, failed, done).
    #[schema(pattern = "^(?:todo|in_progress|review|done|failed|excluded|open|in_sprint|ready|blocked)$")]
    pub status: String,
}

fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<Option<T>>, D::Error> {
    Ok(Some(Option::<T>::deserialize(d)?))
}

/// One item after a reorder.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct OrderedItem {
    /// Item id.
    pub id: String,
    /// Its code.
    pub code: String,
    /// Its new sort order.
    pub sort_order: f64,
}

/// The whole sibling list after a reorder.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Reordered {
    /// What was reordered.
    pub kind: BulkKind,
    /// The parent: the product (PBIs), PBI (stories) or story (tasks).
    pub parent_id: String,
    /// Every sibling, in the new order.
    pub items: Vec<OrderedItem>,
}

/// Stories after a bulk move.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct MovedToSprint {
    /// The sprint they are in now; `null` = product backlog.
    pub sprint: Option<SprintView>,
    /// The stories, in the order given.
    pub stories: Vec<MovedStory>,
}

/// One item after a bulk status change.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct StatusItem {
    /// Item id.
    pub id: String,
    /// Its code.
    pub code: String,
    /// Status before (lowercase).
    pub from: String,
    /// Status now (lowercase).
    pub status: String,
}

/// Another item whose status a bulk change rolled up to.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct RolledUp {
    /// story | pbi | sprint | sprint_run.
    pub kind: String,
    /// Item id.
    pub id: String,
    /// Its code (`null` for sprint runs).
    pub code: Option<String>,
    /// Status before (lowercase).
    pub from: String,
    /// Status now (lowercase).
    pub to: String,
}

/// What a bulk status change did.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct BulkStatusResult {
    /// What was changed.
    pub kind: BulkKind,
    /// The items, in the order given.
    pub items: Vec<StatusItem>,
    /// Stories, PBIs and sprints whose status followed (status propagation).
    pub rolled_up: Vec<RolledUp>,
}

/// A resolved item of any kind, with what the bulk rules need.
#[derive(Debug, Clone)]
struct Item {
    id: String,
    code: String,
    product_id: String,
    parent_id: String,
    status: String,
    sprint_id: Option<String>,
    /// A marketplace story's workflow state: its status follows that, not bulk edits.
    workflow: Option<String>,
}

impl From<pbi::Model> for Item {
    fn from(m: pbi::Model) -> Self {
        Item {
            parent_id: m.product_id.clone(),
            id: m.id,
            code: m.code,
            product_id: m.product_id,
            status: m.status,
            sprint_id: None,
            workflow: None,
        }
    }
}
impl From<story::Model> for Item {
    fn from(m: story::Model) -> Self {
        Item {
            id: m.id,
            code: m.code,
            product_id: m.product_id,
            parent_id: m.pbi_id,
            status: m.status,
            sprint_id: m.sprint_id,
            workflow: m.workflow_status,
        }
    }
}
impl From<task::Model> for Item {
    fn from(m: task::Model) -> Self {
        Item {
            id: m.id,
            code: m.code,
            product_id: m.product_id,
            parent_id: m.story_id,
            status: m.status,
            sprint_id: m.sprint_id,
            workflow: None,
        }
    }
}

async fn load_by_ids<C: ConnectionTrait>(db: &C, kind: BulkKind, ids: Vec<String>) -> AppResult<Vec<Item>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(match kind {
        BulkKind::Pbi => {
            pbi::Entity::find().filter(pbi::Column::Id.is_in(ids)).all(db).await?.into_iter().map(Item::from).collect()
        }
        BulkKind::Story => story::Entity::find()
            .filter(story::Column::Id.is_in(ids))
            .all(db)
            .await?
            .into_iter()
            .map(Item::from)
            .collect(),
        BulkKind::Task => task::Entity::find()
            .filter(task::Column::Id.is_in(ids))
            .all(db)
            .await?
            .into_iter()
            .map(Item::from)
            .collect(),
    })
}

async fn resolve_code<C: ConnectionTrait>(
    db: &C,
    actor: &Actor,
    kind: BulkKind,
    reference: &str,
    path: &str,
) -> AppResult<Item> {
    Ok(match kind {
        BulkKind::Pbi => refs::resolve_pbi_at(db, actor, reference, path).await?.into(),
        BulkKind::Story => refs::resolve_story_at(db, actor, reference, path).await?.into(),
        BulkKind::Task => refs::resolve_task_at(db, actor, reference, path).await?.into(),
    })
}

/// What the first reference names, for a reorder without `kind`.
async fn infer_kind<C: ConnectionTrait>(db: &C, first: &str) -> AppResult<Option<BulkKind>> {
    if let Some(k) = CodeKind::of(first) {
        return Ok(BulkKind::of_code(k));
    }
    let id = first.trim().to_string();
    for kind in [BulkKind::Pbi, BulkKind::Story, BulkKind::Task] {
        if !load_by_ids(db, kind, vec![id.clone()]).await?.is_empty() {
            return Ok(Some(kind));
        }
    }
    Ok(None)
}

/// Resolves a bulk id list: non-empty, no duplicates, every item readable,
/// all in one product. Returns the items in the order given.
async fn resolve_list<C: ConnectionTrait>(
    db: &C,
    actor: &Actor,
    kind: BulkKind,
    field: &str,
    list: &[String],
) -> AppResult<Vec<Item>> {
    let mut errs = ValidationErrors::new();
    if list.is_empty() {
        return Err(AppError::field(field, "must list at least one id"));
    }
    if list.len() > MAX_BULK_IDS {
        return Err(AppError::field(field, format!("may list at most {MAX_BULK_IDS} ids")));
    }
    let mut first_at: HashMap<String, usize> = HashMap::new();
    for (i, r) in list.iter().enumerate() {
        let key = r.trim().to_ascii_uppercase();
        if key.is_empty() {
            errs.add(&format!("{field}.{i}"), format!("must be a {} id or code", kind.noun()));
        } else if let Some(first) = first_at.get(&key) {
            errs.add(&format!("{field}.{i}"), format!("duplicates {field}.{first}"));
        } else {
            first_at.insert(key, i);
        }
    }
    if !errs.is_empty() {
        return Err(errs.into());
    }

    // Ids in one query; codes one by one through the shared resolver (hints, ambiguity).
    let plain: Vec<String> = list.iter().filter(|r| CodeKind::of(r).is_none()).map(|r| r.trim().to_string()).collect();
    let by_id: HashMap<String, Item> =
        load_by_ids(db, kind, plain).await?.into_iter().map(|i| (i.id.clone(), i)).collect();
    let mut readable: HashMap<String, bool> = HashMap::new();
    let mut out: Vec<(usize, Item)> = Vec::with_capacity(list.len());
    let unknown = |r: &str| format!("no {} {} that you can access", kind.noun(), r.trim());
    for (i, r) in list.iter().enumerate() {
        let path = format!("{field}.{i}");
        let item = if CodeKind::of(r).is_some() {
            match resolve_code(db, actor, kind, r, &path).await {
                Ok(item) => Some(item),
                Err(AppError::NotFound(_)) => None,
                Err(AppError::Validation(v)) => {
                    errs.0.extend(v.0);
                    continue;
                }
                Err(e) => return Err(e),
            }
        } else {
            by_id.get(r.trim()).cloned()
        };
        let Some(item) = item else {
            errs.add(&path, unknown(r));
            continue;
        };
        let ok = match readable.get(&item.product_id) {
            Some(ok) => *ok,
            None => {
                let ok = match access::readable(db, actor, &item.product_id).await {
                    Ok(_) => true,
                    Err(AppError::NotFound(_)) => false,
                    Err(e) => return Err(e),
                };
                readable.insert(item.product_id.clone(), ok);
                ok
            }
        };
        if !ok {
            errs.add(&path, unknown(r));
            continue;
        }
        out.push((i, item));
    }
    // An id and a code naming the same item.
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for (i, item) in &out {
        if let Some(first) = seen.get(item.id.as_str()) {
            errs.add(&format!("{field}.{i}"), format!("names the same {} as {field}.{first}", kind.noun()));
        } else {
            seen.insert(&item.id, *i);
        }
    }
    if !errs.is_empty() {
        return Err(errs.into());
    }
    let (i0, first) = &out[0];
    for (i, item) in &out[1..] {
        if item.product_id != first.product_id {
            errs.add(
                &format!("{field}.{i}"),
                format!("{} {} belongs to another product than {field}.{i0}", kind.noun(), item.code),
            );
        }
    }
    errs.into_result()?;
    Ok(out.into_iter().map(|(_, item)| item).collect())
}

/// Re-reads the items inside the transaction; they must still be there, in
/// the same product (and with the same parent when `same_parent`).
async fn recheck<C: ConnectionTrait>(
    db: &C,
    kind: BulkKind,
    items: &[Item],
    same_parent: bool,
) -> AppResult<Vec<Item>> {
    let fresh = load_by_ids(db, kind, items.iter().map(|i| i.id.clone()).collect()).await?;
    let mut by_id: HashMap<String, Item> = fresh.into_iter().map(|i| (i.id.clone(), i)).collect();
    let mut out = Vec::with_capacity(items.len());
    for old in items {
        match by_id.remove(&old.id) {
            Some(new) if new.product_id == old.product_id && (!same_parent || new.parent_id == old.parent_id) => {
                out.push(new)
            }
            _ => {
                return Err(AppError::Conflict(format!(
                    "{} {} was deleted or moved meanwhile; nothing was changed, try again",
                    kind.noun(),
                    old.code
                )));
            }
        }
    }
    Ok(out)
}

/// Siblings of a parent, in list order.
async fn siblings<C: ConnectionTrait>(
    db: &C,
    kind: BulkKind,
    parent_id: &str,
) -> AppResult<Vec<(String, String, f64)>> {
    Ok(match kind {
        BulkKind::Pbi => pbi::Entity::find()
            .filter(pbi::Column::ProductId.eq(parent_id))
            .order_by_asc(pbi::Column::SortOrder)
            .order_by_asc(pbi::Column::CreatedAt)
            .order_by_asc(pbi::Column::Id)
            .all(db)
            .await?
            .into_iter()
            .map(|m| (m.id, m.code, m.sort_order))
            .collect(),
        BulkKind::Story => story::Entity::find()
            .filter(story::Column::PbiId.eq(parent_id))
            .order_by_asc(story::Column::SortOrder)
            .order_by_asc(story::Column::CreatedAt)
            .order_by_asc(story::Column::Id)
            .all(db)
            .await?
            .into_iter()
            .map(|m| (m.id, m.code, m.sort_order))
            .collect(),
        BulkKind::Task => task::Entity::find()
            .filter(task::Column::StoryId.eq(parent_id))
            .order_by_asc(task::Column::SortOrder)
            .order_by_asc(task::Column::CreatedAt)
            .order_by_asc(task::Column::Id)
            .all(db)
            .await?
            .into_iter()
            .map(|m| (m.id, m.code, m.sort_order))
            .collect(),
    })
}

async fn set_sort_order<C: ConnectionTrait>(db: &C, kind: BulkKind, id: &str, value: f64) -> AppResult<()> {
    let t = now();
    match kind {
        BulkKind::Pbi => {
            pbi::Entity::update_many()
                .col_expr(pbi::Column::SortOrder, Expr::value(value))
                .col_expr(pbi::Column::UpdatedAt, Expr::value(t))
                .filter(pbi::Column::Id.eq(id))
                .exec(db)
                .await?;
        }
        BulkKind::Story => {
            story::Entity::update_many()
                .col_expr(story::Column::SortOrder, Expr::value(value))
                .col_expr(story::Column::UpdatedAt, Expr::value(t))
                .filter(story::Column::Id.eq(id))
                .exec(db)
                .await?;
        }
        BulkKind::Task => {
            task::Entity::update_many()
                .col_expr(task::Column::SortOrder, Expr::value(value))
                .col_expr(task::Column::UpdatedAt, Expr::value(t))
                .filter(task::Column::Id.eq(id))
                .exec(db)
                .await?;
        }
    }
    Ok(())
}

fn api_status(kind: BulkKind, db_value: &str) -> AppResult<String> {
    Ok(match kind {
        BulkKind::Pbi => PbiStatus::decode(db_value, "pbis.status")?.as_api(),
        BulkKind::Story => StoryStatus::decode(db_value, "stories.status")?.as_api(),
        BulkKind::Task => TaskStatus::decode(db_value, "tasks.status")?.as_api(),
    })
}

/// The database form of a status given for `kind`, or a 422 naming `status`.
fn parse_status(kind: BulkKind, value: &str) -> AppResult<&'static str> {
    let (parsed, values) = match kind {
        BulkKind::Pbi => (PbiStatus::parse_api(value).map(PbiStatus::as_db), PbiStatus::api_values()),
        BulkKind::Story => (StoryStatus::parse_api(value).map(StoryStatus::as_db), StoryStatus::api_values()),
        BulkKind::Task => (TaskStatus::parse_api(value).map(TaskStatus::as_db), TaskStatus::api_values()),
    };
    parsed.ok_or_else(|| AppError::field("status", format!("must be one of ({} statuses): {values}", kind.noun())))
}

/// Net changes of a propagation (first `from`, last `to` per row), with codes.
#[derive(Default)]
struct Changes {
    order: Vec<(&'static str, String)>,
    by_key: HashMap<(&'static str, String), (String, String)>,
}

impl Changes {
    fn note(&mut self, kind: &'static str, id: &str, from: String, to: String) {
        let key = (kind, id.to_string());
        match self.by_key.get_mut(&key) {
            Some(entry) => entry.1 = to,
            None => {
                self.order.push(key.clone());
                self.by_key.insert(key, (from, to));
            }
        }
    }

    fn add(&mut self, roll: &Rollup) {
        for c in &roll.stories {
            self.note("story", &c.id, c.transition.from.as_api(), c.transition.to.as_api());
        }
        for c in &roll.pbis {
            self.note("pbi", &c.id, c.transition.from.as_api(), c.transition.to.as_api());
        }
        for c in &roll.sprints {
            self.note("sprint", &c.id, c.transition.from.as_api(), c.transition.to.as_api());
        }
        for c in &roll.sprint_runs {
            self.note("sprint_run", &c.id, c.transition.from.as_api(), c.transition.to.as_api());
        }
    }

    async fn describe<C: ConnectionTrait>(self, db: &C) -> AppResult<Vec<RolledUp>> {
        let ids = |kind: &str| -> Vec<String> {
            self.order.iter().filter(|(k, _)| *k == kind).map(|(_, id)| id.clone()).collect()
        };
        let mut codes: HashMap<String, String> = HashMap::new();
        let stories = ids("story");
        if !stories.is_empty() {
            codes.extend(
                story::Entity::find()
                    .filter(story::Column::Id.is_in(stories))
                    .all(db)
                    .await?
                    .into_iter()
                    .map(|m| (m.id, m.code)),
            );
        }
        let pbis = ids("pbi");
        if !pbis.is_empty() {
            codes.extend(
                pbi::Entity::find()
                    .filter(pbi::Column::Id.is_in(pbis))
                    .all(db)
                    .await?
                    .into_iter()
                    .map(|m| (m.id, m.code)),
            );
        }
        let sprints = ids("sprint");
        if !sprints.is_empty() {
            codes.extend(
                sprint::Entity::find()
                    .filter(sprint::Column::Id.is_in(sprints))
                    .all(db)
                    .await?
                    .into_iter()
                    .map(|m| (m.id, m.code)),
            );
        }
        let mut out = Vec::new();
        for key in self.order {
            let Some((from, to)) = self.by_key.get(&key).cloned() else { continue };
            if from == to {
                continue;
            }
            out.push(RolledUp { code: codes.get(&key.1).cloned(), kind: key.0.to_string(), id: key.1, from, to });
        }
        Ok(out)
    }
}

/// Sets each task's status through the one task-status operation (with the
/// full propagation: story → PBI → sprint → sprint run), one after another,
/// exactly as that many single updates in a row would.
async fn set_task_statuses<C: ConnectionTrait>(
    c: &C,
    actor: &Actor,
    items: &[Item],
    status: TaskStatus,
) -> AppResult<Vec<RolledUp>> {
    let mut changes = Changes::default();
    let ids: Vec<String> = items.iter().map(|i| i.id.clone()).collect();
    let mut rows: HashMap<String, task::Model> = task::Entity::find()
        .filter(task::Column::Id.is_in(ids))
        .all(c)
        .await?
        .into_iter()
        .map(|t| (t.id.clone(), t))
        .collect();
    // Every story first, in id order: a task's roll-up locks its story and
    // then the PBI, so walking the tasks one by one would take a story after
    // a PBI, the reverse of a worker's `done` (story → PBI), and deadlock.
    let mut stories: Vec<String> = rows.values().map(|t| t.story_id.clone()).collect();
    stories.sort();
    stories.dedup();
    sprints::lock_stories(c, &stories).await?;
    for item in items {
        let t = rows.remove(&item.id).ok_or(AppError::NotFound("task"))?;
        let roll = apply_task_status(c, actor, &t, status, None).await?;
        changes.add(&roll);
    }
    changes.describe(c).await
}

impl App {
    /// Puts siblings in the given order: they get sort orders 1..n, the
    /// siblings not listed follow in their current order.
    pub async fn bulk_reorder(&self, actor: &Actor, input: ReorderInput) -> AppResult<Reordered> {
        actor.require_write()?;
        if input.ids.is_empty() {
            return Err(AppError::field("ids", "must list at least one id"));
        }
        let kind = match input.kind {
            Some(k) => k,
            None => match infer_kind(&self.db, &input.ids[0]).await? {
                Some(k) => k,
                None => {
                    return Err(AppError::field(
                        "ids.0",
                        format!("no PBI, story or task {} that you can access", input.ids[0].trim()),
                    ));
                }
            },
        };
        let items = resolve_list(&self.db, actor, kind, "ids", &input.ids).await?;
        let mut errs = ValidationErrors::new();
        for (i, item) in items.iter().enumerate().skip(1) {
            if item.parent_id != items[0].parent_id {
                errs.add(
                    &format!("ids.{i}"),
                    format!("{} {} belongs to another {} than ids.0", kind.noun(), item.code, kind.parent_noun()),
                );
            }
        }
        errs.into_result()?;
        let product_id = items[0].product_id.clone();
        access::writable(&self.db, actor, &product_id).await?;
        let parent_id = items[0].parent_id.clone();
        let result = txn::in_product_txn(&self.db, &product_id, move |c| {
            Box::pin(async move {
                let items = recheck(c, kind, &items, true).await?;
                let all = siblings(c, kind, &parent_id).await?;
                let mut position: HashMap<&str, usize> = HashMap::new();
                for (i, item) in items.iter().enumerate() {
                    position.insert(item.id.as_str(), i);
                }
                let mut listed: Vec<Option<(String, String, f64)>> = vec![None; items.len()];
                let mut rest = Vec::new();
                for s in all {
                    match position.get(s.0.as_str()) {
                        Some(i) => listed[*i] = Some(s),
                        None => rest.push(s),
                    }
                }
                let ordered: Vec<(String, String, f64)> = listed.into_iter().flatten().chain(rest).collect();
                let mut out = Vec::with_capacity(ordered.len());
                for (n, (id, code, old)) in ordered.into_iter().enumerate() {
                    let value = (n + 1) as f64;
                    if old != value {
                        set_sort_order(c, kind, &id, value).await?;
                    }
                    out.push(OrderedItem { id, code, sort_order: value });
                }
                Ok(Reordered { kind, parent_id, items: out })
            })
        })
        .await?;
        let event = match kind {
            BulkKind::Task => Some(kinds::TASK_CHANGED),
            BulkKind::Story => Some(kinds::STORY_CHANGED),
            BulkKind::Pbi => None,
        };
        let ids: Vec<&str> = result.items.iter().map(|i| i.id.as_str()).collect();
        let data = json!({ "action": "reordered", "parent_id": result.parent_id, "ids": ids });
        sprints::publish(self, Event::new(event.unwrap_or("pbi_changed")).for_product(&product_id).with_data(data))
            .await;
        Ok(result)
    }

    /// Moves stories into an OPEN sprint (`sprint_id`) or back to the
    /// backlog (`null`); their tasks follow. Stories moving into a sprint must
    /// not be done; done stories sent to the backlog stay done.
    pub async fn bulk_move_to_sprint(&self, actor: &Actor, input: MoveToSprintInput) -> AppResult<MovedToSprint> {
        actor.require_write()?;
        let Some(sprint_ref) = input.sprint_id else {
            return Err(AppError::field("sprint_id", "is required: a sprint id, or null for the product backlog"));
        };
        let sprint_ref = sprint_ref.map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
        let into_sprint = sprint_ref.is_some();
        let stories =
            sprints::resolve_stories_for_move(&self.db, actor, "story_ids", &input.story_ids, None, into_sprint)
                .await?;
        let product_id = stories[0].product_id.clone();
        let target = match &sprint_ref {
            None => None,
            Some(r) => {
                let bad = |m: String| AppError::field("sprint_id", m);
                let s = match self.get_sprint(actor, r).await {
                    Ok(s) => s,
                    Err(AppError::NotFound(_)) => return Err(bad(format!("no sprint {r} that you can access"))),
                    Err(e) => return Err(e),
                };
                if s.product_id != product_id {
                    return Err(bad(format!("sprint {} belongs to another product than the stories", s.code)));
                }
                if s.status != SprintStatus::Open {
                    return Err(bad(format!(
                        "sprint {} is {}; stories can only move to an open sprint",
                        s.code, s.status
                    )));
                }
                Some(s.id)
            }
        };
        access::writable(&self.db, actor, &product_id).await?;
        let pid = product_id.clone();
        let result = txn::in_product_txn(&self.db, &product_id, move |c| {
            Box::pin(async move {
                let sprint = match &target {
                    Some(id) => {
                        let s = sprints::load_open_sprint(c, id)
                            .await
                            .map_err(|e| AppError::field("sprint_id", e.to_string()))?;
                        Some(s)
                    }
                    None => None,
                };
                let ids = sprints::recheck_stories(c, &stories, &pid, into_sprint).await?;
                let to_move: Vec<String> =
                    stories.iter().filter(|st| st.sprint_id != target).map(|st| st.id.clone()).collect();
                sprints::move_stories(c, &to_move, target.as_deref()).await?;
                Ok(MovedToSprint { sprint, stories: sprints::moved_stories(c, &ids).await? })
            })
        })
        .await?;
        let ids: Vec<String> = result.stories.iter().map(|s| s.id.clone()).collect();
        sprints::announce_stories(self, &product_id, &ids, "moved").await;
        Ok(result)
    }

    /// Sets one status on many PBIs, stories or tasks. Task changes run the
    /// full status propagation (story → PBI → sprint → run) for each task;
    /// story changes re-derive their PBIs. Stories with tasks have derived
    /// statuses and cannot be set by hand; `in_sprint` needs a sprint and
    /// `open` needs none.
    pub async fn bulk_status(&self, actor: &Actor, input: BulkStatusInput) -> AppResult<BulkStatusResult> {
        actor.require_write()?;
        let kind = input.kind;
        let status_err = parse_status(kind, &input.status).err();
        let items = match resolve_list(&self.db, actor, kind, "ids", &input.ids).await {
            Ok(items) => items,
            Err(AppError::Validation(mut v)) => {
                if let Some(AppError::Validation(s)) = status_err {
                    v.0.extend(s.0);
                }
                return Err(v.into());
            }
            Err(e) => return Err(e),
        };
        if let Some(e) = status_err {
            return Err(e);
        }
        let status = parse_status(kind, &input.status)?;
        let product_id = items[0].product_id.clone();
        access::writable(&self.db, actor, &product_id).await?;
        let with_tasks: HashSet<String> = if kind == BulkKind::Story {
            task::Entity::find()
                .filter(task::Column::StoryId.is_in(items.iter().map(|i| i.id.clone())))
                .all(&self.db)
                .await?
                .into_iter()
                .map(|t| t.story_id)
                .collect()
        } else {
            HashSet::new()
        };
        if kind == BulkKind::Story {
            let mut errs = ValidationErrors::new();
            for (i, item) in items.iter().enumerate() {
                let path = format!("ids.{i}");
                if let Some(w) = &item.workflow {
                    let w = baton_domain::marketplace::WorkflowStatus::decode(w, "stories.workflow_status")?;
                    errs.add(
                        &path,
                        format!(
                            "story {} is a marketplace story ({}); its status follows the workflow",
                            item.code,
                            w.as_api()
                        ),
                    );
                } else if with_tasks.contains(&item.id) {
                    errs.add(
                        &path,
                        format!("story {} has tasks, so its status follows them; change the tasks instead", item.code),
                    );
                } else if status == StoryStatus::InSprint.as_db() && item.sprint_id.is_none() {
                    errs.add(&path, format!("story {} is not in a sprint; add it to a sprint instead", item.code));
                } else if status == StoryStatus::Open.as_db() && item.sprint_id.is_some() {
                    errs.add(&path, format!("story {} is in a sprint; move it to the backlog instead", item.code));
                }
            }
            errs.into_result()?;
        }
        let actor = actor.clone();
        let result = txn::in_product_txn(&self.db, &product_id, move |c| {
            Box::pin(async move {
                let items = recheck(c, kind, &items, false).await?;
                let t = now();
                let mut out = Vec::with_capacity(items.len());
                let mut rolled_up = Vec::new();
                match kind {
                    BulkKind::Pbi => {
                        for item in &items {
                            pbi::Entity::update_many()
                                .col_expr(pbi::Column::Status, Expr::value(status))
                                .col_expr(pbi::Column::UpdatedAt, Expr::value(t))
                                .filter(pbi::Column::Id.eq(&item.id))
                                .exec(c)
                                .await?;
                        }
                    }
                    BulkKind::Story => {
                        for item in &items {
                            story::Entity::update_many()
                                .col_expr(story::Column::Status, Expr::value(status))
                                .col_expr(story::Column::UpdatedAt, Expr::value(t))
                                .filter(story::Column::Id.eq(&item.id))
                                .exec(c)
                                .await?;
                        }
                        let mut pbis: Vec<String> = items.iter().map(|i| i.parent_id.clone()).collect();
                        pbis.sort();
                        pbis.dedup();
                        let roll = propagate(c, Seeds::default().and_pbis(pbis)).await?;
                        let mut changes = Changes::default();
                        changes.add(&roll);
                        rolled_up.extend(changes.describe(c).await?);
                    }
                    BulkKind::Task => {
                        let status = TaskStatus::from_db(status).ok_or(AppError::NotFound("task status"))?;
                        rolled_up.extend(set_task_statuses(c, &actor, &items, status).await?);
                    }
                }
                for item in items {
                    out.push(StatusItem {
                        from: api_status(kind, &item.status)?,
                        status: api_status(kind, status)?,
                        id: item.id,
                        code: item.code,
                    });
                }
                Ok(BulkStatusResult { kind, items: out, rolled_up })
            })
        })
        .await?;
        let ids: Vec<&str> = result.items.iter().map(|i| i.id.as_str()).collect();
        let event = match kind {
            BulkKind::Task => kinds::TASK_CHANGED,
            BulkKind::Story => kinds::STORY_CHANGED,
            BulkKind::Pbi => "pbi_changed",
        };
        sprints::publish(
            self,
            Event::new(event).for_product(&product_id).with_data(json!({ "action": "status", "ids": ids })),
        )
        .await;
        Ok(result)
    }
}
