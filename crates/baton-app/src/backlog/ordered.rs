//! What PBIs, stories and tasks share as ordered child items of a parent
//! (product, PBI, story): the code and slot of a new item, a move among its
//! siblings, and the list query's common filters, backlog order and page.
//!
//! Each entity keeps its own service functions (their validations, roll-ups
//! and events differ); only the plumbing that was the same lives here.

use baton_store::{
    Db,
    entities::{pbi, story, task},
    sea_orm::{ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, PrimaryKeyTrait, QueryFilter, QueryOrder, Select},
};

use super::{MoveTo, Ordered, PBI_ORDER, STORY_ORDER, TASK_ORDER, paginate, text_match};
use crate::{
    AppError, AppResult,
    list::{Page, PageParams},
    products,
    txn::{allocate_code, in_product_txn},
};

/// A backlog table whose rows are ordered within a parent.
pub(crate) trait OrderedItem: EntityTrait {
    /// Word in the "not found" error ("story").
    const NOUN: &'static str;
    /// The ordering scope (table, parent column, code kind).
    const ORDER: Ordered;
    /// Whether the parent is the product itself (PBIs), so a move needs no
    /// read of the row to learn it.
    const PARENT_IS_PRODUCT: bool;
    /// `sort_order`.
    const SORT_ORDER: Self::Column;
    /// `created_at` (second sort key, for equal sort orders).
    const CREATED_AT: Self::Column;
    /// `id` (last sort key, so pages never overlap).
    const ID: Self::Column;
    /// `title`.
    const TITLE: Self::Column;
    /// `code`.
    const CODE: Self::Column;
    /// `priority`.
    const PRIORITY: Self::Column;
    /// `status`.
    const STATUS: Self::Column;

    /// The parent the row is ordered within.
    fn parent_id(m: &Self::Model) -> &str;
}

impl OrderedItem for pbi::Entity {
    const NOUN: &'static str = "PBI";
    const ORDER: Ordered = PBI_ORDER;
    const PARENT_IS_PRODUCT: bool = true;
    const SORT_ORDER: pbi::Column = pbi::Column::SortOrder;
    const CREATED_AT: pbi::Column = pbi::Column::CreatedAt;
    const ID: pbi::Column = pbi::Column::Id;
    const TITLE: pbi::Column = pbi::Column::Title;
    const CODE: pbi::Column = pbi::Column::Code;
    const PRIORITY: pbi::Column = pbi::Column::Priority;
    const STATUS: pbi::Column = pbi::Column::Status;

    fn parent_id(m: &pbi::Model) -> &str {
        &m.product_id
    }
}

impl OrderedItem for story::Entity {
    const NOUN: &'static str = "story";
    const ORDER: Ordered = STORY_ORDER;
    const PARENT_IS_PRODUCT: bool = false;
    const SORT_ORDER: story::Column = story::Column::SortOrder;
    const CREATED_AT: story::Column = story::Column::CreatedAt;
    const ID: story::Column = story::Column::Id;
    const TITLE: story::Column = story::Column::Title;
    const CODE: story::Column = story::Column::Code;
    const PRIORITY: story::Column = story::Column::Priority;
    const STATUS: story::Column = story::Column::Status;

    fn parent_id(m: &story::Model) -> &str {
        &m.pbi_id
    }
}

impl OrderedItem for task::Entity {
    const NOUN: &'static str = "task";
    const ORDER: Ordered = TASK_ORDER;
    const PARENT_IS_PRODUCT: bool = false;
    const SORT_ORDER: task::Column = task::Column::SortOrder;
    const CREATED_AT: task::Column = task::Column::CreatedAt;
    const ID: task::Column = task::Column::Id;
    const TITLE: task::Column = task::Column::Title;
    const CODE: task::Column = task::Column::Code;
    const PRIORITY: task::Column = task::Column::Priority;
    const STATUS: task::Column = task::Column::Status;

    fn parent_id(m: &task::Model) -> &str {
        &m.story_id
    }
}

/// The next code of the item's kind in `product_id` and the sort order that
/// puts a new item last under `parent_id`. Call inside the product
/// transaction (it holds the product lock that keeps codes unique).
pub(crate) async fn code_and_slot<E: OrderedItem, C: ConnectionTrait>(
    c: &C,
    product_id: &str,
    parent_id: &str,
) -> AppResult<(String, f64)> {
    let code = allocate_code(c, product_id, E::ORDER.code_kind).await?;
    let sort_order = E::ORDER.next(c, parent_id).await?;
    Ok((code, sort_order))
}

/// Loads the row `id` inside the transaction, or "not found".
pub(crate) async fn find_in<E: OrderedItem, C: ConnectionTrait>(c: &C, id: &str) -> AppResult<E::Model>
where
    E::PrimaryKey: PrimaryKeyTrait<ValueType = String>,
{
    E::find_by_id(id.to_string()).one(c).await?.ok_or(AppError::NotFound(E::NOUN))
}

/// Moves row `id` of product `product_id` among its siblings as `to` says,
/// in the product transaction (refused while the product is archived), and
/// returns the row as it is now.
pub(crate) async fn move_in_product<E: OrderedItem>(
    db: &Db,
    product_id: &str,
    id: String,
    to: MoveTo,
) -> AppResult<E::Model>
where
    E::PrimaryKey: PrimaryKeyTrait<ValueType = String>,
    E::Model: Send,
{
    let pid = product_id.to_string();
    in_product_txn(db, product_id, move |c| {
        Box::pin(async move {
            products::ensure_not_archived_in(c, &pid).await?;
            let parent =
                if E::PARENT_IS_PRODUCT { pid } else { E::parent_id(&find_in::<E, _>(c, &id).await?).to_string() };
            E::ORDER.move_item(c, &parent, &id, &to).await?;
            find_in::<E, _>(c, &id).await
        })
    })
    .await
}

/// Adds the filters every backlog list has: an already-parsed status (its
/// DB form), a priority and a case-insensitive text in the title or code.
pub(crate) fn common_filters<E: OrderedItem>(
    mut q: Select<E>,
    backend: DbBackend,
    status: Option<&'static str>,
    priority: Option<i32>,
    text: Option<&str>,
) -> Select<E> {
    if let Some(s) = status {
        q = q.filter(E::STATUS.eq(s));
    }
    if let Some(pr) = priority {
        q = q.filter(E::PRIORITY.eq(pr));
    }
    if let Some(text) = text.filter(|t| !t.trim().is_empty()) {
        q = q.filter(text_match(backend, &[E::TITLE, E::CODE], text));
    }
    q
}

/// One page of `q` in backlog order (`sort_order, created_at, id`), each
/// row in its API form.
pub(crate) async fn page_in_order<E, C, V>(
    db: &C,
    q: Select<E>,
    params: PageParams,
    view: fn(E::Model) -> AppResult<V>,
) -> AppResult<Page<V>>
where
    E: OrderedItem,
    E::Model: Sync,
    C: ConnectionTrait,
{
    let q = q.order_by_asc(E::SORT_ORDER).order_by_asc(E::CREATED_AT).order_by_asc(E::ID);
    paginate(db, q, params).await?.try_map(view)
}

/// A `sprint_id` list filter: `none` (any case) = only items in no sprint,
/// otherwise the id of the given sprint; blank = no filter.
pub(crate) enum SprintFilter {
    /// Only items in no sprint.
    NoSprint,
    /// Only items in this sprint (id).
    In(String),
}

/// Resolves a `sprint_id` list filter against the sprints of `product_id`
/// (a validation error names `sprint_id` when there is no such sprint).
pub(crate) async fn sprint_filter<C: ConnectionTrait>(
    db: &C,
    product_id: &str,
    value: Option<&str>,
) -> AppResult<Option<SprintFilter>> {
    Ok(match value.map(str::trim).filter(|s| !s.is_empty()) {
        Some(s) if s.eq_ignore_ascii_case("none") => Some(SprintFilter::NoSprint),
        Some(s) => Some(SprintFilter::In(super::stories::sprint_in_product(db, product_id, s, "sprint_id").await?.id)),
        None => None,
    })
}

/// Narrows `q` to a resolved sprint filter on the table's `sprint_id` column.
pub(crate) fn by_sprint<E: EntityTrait>(q: Select<E>, column: E::Column, filter: Option<SprintFilter>) -> Select<E> {
    match filter {
        Some(SprintFilter::NoSprint) => q.filter(column.is_null()),
        Some(SprintFilter::In(id)) => q.filter(column.eq(id)),
        None => q,
    }
}
