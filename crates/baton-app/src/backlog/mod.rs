//! The backlog: product backlog items, stories, tasks and story logs, with
//! reference resolution (ids or codes) and status propagation.
//!
//! Every write checks access first, then runs in
//! [`crate::txn::in_product_txn`] (which locks the product row, so codes and
//! roll-ups never race) and publishes its events only after the commit.
//!
//! Decisions where the reference is silent:
//! - `move` takes exactly one of `before_id` (place the item just before that
//!   sibling), `after_id` (just after it) or `index` (0-based position in the
//!   sibling list after the move; past the end appends). Siblings may be
//!   named by id or code.
//! - Roll-ups run on every change that can alter them, not only on task
//!   status changes: creating, deleting and re-parenting tasks and stories
//!   re-derive the statuses above them, so a done story that gets a new task
//!   goes back to in_sprint/open. A PBI whose status changes also re-derives
//!   every sprint holding one of its stories (a PBI can span sprints).
//! - `story_status_change` is `promoted` when the story moves closer to done
//!   (to DONE, or out of FAILED) and `demoted` when it moves away (out of
//!   DONE, or into FAILED); OPEN ↔ IN_SPRINT is neither.
//! - A PBI without stories is READY; a sprint whose stories are all gone
//!   keeps its status; ARCHIVED sprints (like BLOCKED PBIs) are never rolled
//!   up. Leaving CLOSED clears `completed_at`.
//! - Story statuses are derived; `PATCH` may set one only on a story without
//!   tasks (409 otherwise). PBI statuses may be set by hand (BLOCKED only
//!   ever is), which re-derives the sprints of its stories.
//! - A code matching items in several products the caller can read is a 422
//!   on the field, listing the ids to choose from.
//! - When a task fails inside a sprint run, the run's other live jobs are
//!   cancelled, but not the jobs of the failing task itself (its worker
//!   reports on them).
//! - Empty optional texts are stored as `null`; titles and texts are trimmed.

pub(crate) mod ordered;
pub mod pbi_pr;
pub mod pbis;
pub mod propagation;
pub mod refs;
pub mod stories;
pub mod story_logs;
pub mod tasks;
pub mod tree;

use baton_domain::{
    ValidationErrors,
    backlog::PRIORITY_RANGE,
    codes::CodeKind,
    ordering::{Slot, after_last, renumbered, slot_between},
    validation::check_text,
};
use baton_store::{
    events::Event,
    now,
    repo::backlog::{self as order, OrderScope},
    sea_orm::{
        ConnectionTrait, DbBackend, EntityTrait, PaginatorTrait, QuerySelect, Select,
        sea_query::{Condition, Expr, IntoColumnRef},
    },
};
use serde::Deserialize;

use crate::{
    App, AppError, AppResult,
    list::{Page, PageParams},
};

/// Longest title.
pub const MAX_TITLE: usize = 200;
/// Longest description or acceptance criteria.
pub const MAX_TEXT: usize = 4000;
/// Longest implementation plan.
pub const MAX_PLAN: usize = 8000;
/// Priority when none is given (2 = normal).
pub const DEFAULT_PRIORITY: i32 = 2;

/// Serde helper telling an absent field (`None`) from `null` (`Some(None)`).
pub(crate) mod nullable {
    use serde::{Deserialize, Deserializer};

    pub fn deserialize<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<Option<T>>, D::Error> {
        Ok(Some(Option::<T>::deserialize(d)?))
    }
}

/// Where to move an item among its siblings: exactly one of the three.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(min_properties = 1, max_properties = 1)]
pub struct MoveTo {
    /// Place the item just before this sibling (id or code).
    #[schema(nullable = false)]
    pub before_id: Option<String>,
    /// Place the item just after this sibling (id or code).
    #[schema(nullable = false)]
    pub after_id: Option<String>,
    /// 0-based position among the siblings after the move; past the end appends.
    #[schema(nullable = false)]
    pub index: Option<u64>,
}

/// A title: required, 1–200 characters.
pub(crate) fn check_title(errs: &mut ValidationErrors, path: &str, title: &str) {
    check_text(errs, path, title, 1, MAX_TITLE);
}

/// An optional text of at most `max` characters.
pub(crate) fn check_opt_text(errs: &mut ValidationErrors, path: &str, value: Option<&str>, max: usize) {
    if let Some(v) = value {
        check_text(errs, path, v, 0, max);
    }
}

/// A priority from 1 to 4.
pub(crate) fn check_priority(errs: &mut ValidationErrors, path: &str, value: Option<i32>) {
    if let Some(p) = value
        && !PRIORITY_RANGE.contains(&p)
    {
        errs.add(path, "must be 1 (critical), 2 (normal), 3 (low) or 4 (nice to have)");
    }
}

/// Trims a required text.
pub(crate) fn clean(s: &str) -> String {
    s.trim().to_string()
}

/// Trims an optional text; empty becomes `None`.
pub(crate) fn clean_opt(s: Option<String>) -> Option<String> {
    s.map(|v| v.trim().to_string()).filter(|v| !v.is_empty())
}

/// Parses a lowercase status filter, naming the parameter when it is not one of `values`.
pub(crate) fn parse_status<T>(
    value: Option<&str>,
    path: &str,
    parse: fn(&str) -> Option<T>,
    values: fn() -> String,
) -> AppResult<Option<T>> {
    match value.map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) => parse(v).map(Some).ok_or_else(|| AppError::field(path, format!("must be one of: {}", values()))),
    }
}

/// A `LIKE` pattern matching `q` anywhere, with `%`, `_` and `\` escaped.
pub fn like_pattern(q: &str) -> String {
    let mut out = String::with_capacity(q.len() + 2);
    out.push('%');
    for c in q.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

/// `LOWER(col) LIKE LOWER(pattern) ESCAPE '\'` for each column, OR-ed: a
/// case-insensitive substring match that behaves the same on SQLite and
/// Postgres. The backend picks the placeholder style of the custom SQL.
pub fn text_match<C: IntoColumnRef + Copy>(backend: DbBackend, columns: &[C], q: &str) -> Condition {
    let pattern = like_pattern(q.trim());
    let sql = match backend {
        DbBackend::Postgres => "LOWER($1) LIKE LOWER($2) ESCAPE '\\'",
        _ => "LOWER(?) LIKE LOWER(?) ESCAPE '\\'",
    };
    let mut any = Condition::any();
    for c in columns {
        any = any.add(Expr::cust_with_exprs(sql, [Expr::col(*c), Expr::val(pattern.clone())]));
    }
    any
}

/// Runs a list query one page at a time.
pub(crate) async fn paginate<C, E>(db: &C, query: Select<E>, params: PageParams) -> AppResult<Page<E::Model>>
where
    C: ConnectionTrait,
    E: EntityTrait,
    E::Model: Sync,
{
    let (page, limit, offset) = params.window()?;
    let total = query.clone().count(db).await?;
    let items = query.offset(offset).limit(limit).all(db).await?;
    Ok(Page { items, page, limit, total })
}

pub(crate) use baton_store::repo::backlog::Sibling;

/// A table whose rows are ordered within a parent.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ordered {
    /// The table and its parent column (the SQL lives in the store's repo).
    pub scope: OrderScope,
    /// The kind of code the rows carry (to match siblings named by code).
    pub code_kind: CodeKind,
    /// Word for messages ("task").
    pub noun: &'static str,
    /// Word for the parent in messages ("story").
    pub parent_noun: &'static str,
}

/// Ordering scopes of the backlog.
pub(crate) const PBI_ORDER: Ordered =
    Ordered { scope: order::PBIS, code_kind: CodeKind::Pbi, noun: "PBI", parent_noun: "product" };
/// Stories within their PBI.
pub(crate) const STORY_ORDER: Ordered =
    Ordered { scope: order::STORIES, code_kind: CodeKind::Story, noun: "story", parent_noun: "PBI" };
/// Tasks within their story.
pub(crate) const TASK_ORDER: Ordered =
    Ordered { scope: order::TASKS, code_kind: CodeKind::Task, noun: "task", parent_noun: "story" };

impl Ordered {
    /// The sort order for a new last child of `parent_id`.
    pub async fn next<C: ConnectionTrait>(&self, db: &C, parent_id: &str) -> AppResult<f64> {
        Ok(after_last(order::max_sort_order(db, self.scope, parent_id).await?))
    }

    /// The children of `parent_id` in order (`sort_order, created_at, id`).
    pub async fn siblings<C: ConnectionTrait>(&self, db: &C, parent_id: &str) -> AppResult<Vec<Sibling>> {
        Ok(order::siblings(db, self.scope, parent_id).await?)
    }

    async fn set_order<C: ConnectionTrait>(&self, db: &C, id: &str, value: f64) -> AppResult<()> {
        Ok(order::set_sort_order(db, self.scope, id, value, now()).await?)
    }

    /// Moves `item_id` among the children of `parent_id` as `to` says: one
    /// row write at the midpoint of its new neighbours, or a renumbering of
    /// the whole sibling list when the gap is too small to split.
    pub async fn move_item<C: ConnectionTrait>(
        &self,
        db: &C,
        parent_id: &str,
        item_id: &str,
        to: &MoveTo,
    ) -> AppResult<()> {
        let all = self.siblings(db, parent_id).await?;
        let others: Vec<&Sibling> = all.iter().filter(|s| s.id != item_id).collect();
        let pos = self.position(&others, item_id, to)?;
        let before = pos.checked_sub(1).map(|i| others[i].sort_order);
        let after = others.get(pos).map(|s| s.sort_order);
        match slot_between(before, after) {
            Slot::At(v) => self.set_order(db, item_id, v).await,
            Slot::Renumber => {
                let mut order: Vec<&str> = others.iter().map(|s| s.id.as_str()).collect();
                order.insert(pos, item_id);
                let current: std::collections::HashMap<&str, f64> =
                    all.iter().map(|s| (s.id.as_str(), s.sort_order)).collect();
                for (id, v) in order.into_iter().zip(renumbered(all.len())) {
                    if current.get(id).copied() != Some(v) {
                        self.set_order(db, id, v).await?;
                    }
                }
                Ok(())
            }
        }
    }

    /// The index among `others` (the siblings without the item) where the item goes.
    fn position(&self, others: &[&Sibling], item_id: &str, to: &MoveTo) -> AppResult<usize> {
        let given = [to.before_id.is_some(), to.after_id.is_some(), to.index.is_some()].iter().filter(|b| **b).count();
        if given != 1 {
            let path = if to.before_id.is_some() {
                "before_id"
            } else if to.after_id.is_some() {
                "after_id"
            } else {
                "index"
            };
            return Err(AppError::field(path, "give exactly one of before_id, after_id or index"));
        }
        if let Some(i) = to.index {
            return Ok(usize::try_from(i).unwrap_or(usize::MAX).min(others.len()));
        }
        let (path, reference) = match (&to.before_id, &to.after_id) {
            (Some(r), _) => ("before_id", r),
            (_, Some(r)) => ("after_id", r),
            _ => unreachable!("exactly one is given"),
        };
        let key = reference.trim();
        let upper = key.to_ascii_uppercase();
        let canonical = self.code_kind.number(&upper).map(|n| self.code_kind.format(n));
        let is_self = key == item_id;
        if is_self {
            return Err(AppError::field(path, format!("cannot place a {} relative to itself", self.noun)));
        }
        let idx = others
            .iter()
            .position(|s| s.id == key || s.code == upper || canonical.as_deref() == Some(s.code.as_str()))
            .ok_or_else(|| {
                AppError::field(path, format!("`{key}` is not another {} of the same {}", self.noun, self.parent_noun))
            })?;
        Ok(if path == "before_id" { idx } else { idx + 1 })
    }
}

impl App {
    /// Publishes an event after a commit; a failure is logged, never returned.
    pub(crate) async fn announce(&self, event: Event) {
        if let Err(e) = self.bus.publish(&event).await {
            tracing::warn!(error = %e, kind = %event.kind, "could not publish event");
        }
    }

    /// Publishes several events after a commit, in one round trip on
    /// Postgres; a failure is logged, never returned.
    pub(crate) async fn announce_all(&self, events: &[Event]) {
        if events.is_empty() {
            return;
        }
        if let Err(e) = self.bus.publish_all(events).await {
            tracing::warn!(error = %e, events = events.len(), "could not publish events");
        }
    }

    /// Commits `txn` with `events` going out exactly at the commit: on
    /// Postgres as NOTIFYs inside the transaction (no extra round trip or
    /// pool checkout), in-process right after the commit.
    pub(crate) async fn commit_announcing(
        &self,
        txn: baton_store::sea_orm::DatabaseTransaction,
        events: Vec<Event>,
    ) -> AppResult<()> {
        let rest = match self.bus.notify_on_commit(&txn, events).await {
            Ok(rest) => rest,
            Err(e) => {
                txn.rollback().await?;
                return Err(e.into());
            }
        };
        txn.commit().await?;
        self.announce_all(&rest).await;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_patterns_escape_wildcards() {
        assert_eq!(like_pattern("abc"), "%abc%");
        assert_eq!(like_pattern("50%_off\\"), "%50\\%\\_off\\\\%");
    }

    fn sib(id: &str, code: &str, v: f64) -> Sibling {
        Sibling { id: id.into(), code: code.into(), sort_order: v }
    }

    #[test]
    fn move_positions() {
        let list = [sib("a", "T-1", 1.0), sib("b", "T-2", 2.0), sib("c", "T-3", 3.0)];
        let others: Vec<&Sibling> = list.iter().collect();
        let pos = |to: MoveTo| TASK_ORDER.position(&others, "x", &to);
        assert_eq!(pos(MoveTo { before_id: Some("a".into()), ..Default::default() }).expect("position"), 0);
        assert_eq!(pos(MoveTo { after_id: Some("t-2".into()), ..Default::default() }).expect("position"), 2);
        assert_eq!(pos(MoveTo { index: Some(1), ..Default::default() }).expect("position"), 1);
        assert_eq!(pos(MoveTo { index: Some(99), ..Default::default() }).expect("position"), 3);
        assert!(pos(MoveTo::default()).is_err());
        assert!(pos(MoveTo { index: Some(1), after_id: Some("a".into()), ..Default::default() }).is_err());
        assert!(pos(MoveTo { before_id: Some("zzz".into()), ..Default::default() }).is_err());
        assert!(pos(MoveTo { before_id: Some("x".into()), ..Default::default() }).is_err());
    }
}

#[cfg(test)]
mod sql_tests {
    use baton_store::{
        entities::pbi,
        sea_orm::{DbBackend, EntityTrait, QueryFilter, QueryTrait},
    };

    #[test]
    fn text_match_renders_lower_like_escape_on_both_backends() {
        for backend in [DbBackend::Sqlite, DbBackend::Postgres] {
            let q = pbi::Entity::find().filter(super::text_match(backend, &[pbi::Column::Title], "a%b"));
            let sql = q.build(backend).to_string();
            assert!(sql.contains(r#"LOWER("title") LIKE LOWER("#), "{backend:?}: {sql}");
            assert!(sql.ends_with(r#") ESCAPE '\'"#), "{backend:?}: {sql}");
        }
    }
}
