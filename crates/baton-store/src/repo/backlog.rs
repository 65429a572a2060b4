//! The backlog's hand-written SQL: the ordering of PBIs within a product,
//! stories within a PBI and tasks within a story, which the three tables
//! share (a float `sort_order` within a parent column).

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, FromQueryResult, Statement, Value};

use crate::StoreError;

/// A table whose rows are ordered within a parent (both names are Baton's
/// own constants, never input).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrderScope {
    /// Table name.
    pub table: &'static str,
    /// The column naming the parent.
    pub parent: &'static str,
}

/// PBIs within their product.
pub const PBIS: OrderScope = OrderScope { table: "pbis", parent: "product_id" };
/// Stories within their PBI.
pub const STORIES: OrderScope = OrderScope { table: "stories", parent: "pbi_id" };
/// Tasks within their story.
pub const TASKS: OrderScope = OrderScope { table: "tasks", parent: "story_id" };

/// One sibling in an ordered list.
#[derive(Debug, Clone, PartialEq, FromQueryResult)]
pub struct Sibling {
    /// Row id.
    pub id: String,
    /// Its human code.
    pub code: String,
    /// Its position.
    pub sort_order: f64,
}

/// The largest `sort_order` among the children of `parent_id` (`None` when
/// it has none).
pub async fn max_sort_order<C: ConnectionTrait>(
    db: &C,
    scope: OrderScope,
    parent_id: &str,
) -> Result<Option<f64>, StoreError> {
    let row = db
        .query_one_raw(Statement::from_sql_and_values(
            db.get_database_backend(),
            format!("SELECT MAX(sort_order) AS m FROM {} WHERE {} = $1", scope.table, scope.parent),
            [parent_id.into()],
        ))
        .await?;
    Ok(match row {
        Some(r) => r.try_get("", "m")?,
        None => None,
    })
}

/// The children of `parent_id` in order (`sort_order, created_at, id`).
pub async fn siblings<C: ConnectionTrait>(
    db: &C,
    scope: OrderScope,
    parent_id: &str,
) -> Result<Vec<Sibling>, StoreError> {
    Ok(Sibling::find_by_statement(Statement::from_sql_and_values(
        db.get_database_backend(),
        format!(
            "SELECT id, code, sort_order FROM {} WHERE {} = $1 ORDER BY sort_order, created_at, id",
            scope.table, scope.parent
        ),
        [parent_id.into()],
    ))
    .all(db)
    .await?)
}

/// Sets one row's `sort_order`.
pub async fn set_sort_order<C: ConnectionTrait>(
    db: &C,
    scope: OrderScope,
    id: &str,
    value: f64,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    db.execute_raw(Statement::from_sql_and_values(
        db.get_database_backend(),
        format!("UPDATE {} SET sort_order = $1, updated_at = $2 WHERE id = $3", scope.table),
        [Value::from(value), Value::from(now), Value::from(id)],
    ))
    .await?;
    Ok(())
}
