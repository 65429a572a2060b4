//! The backlog page's reads and placements: a product's whole backlog as a
//! tree (PBIs → stories → tasks) in a fixed number of queries, filtered the
//! way the page's filter bar says; codes resolved inside one product; and
//! moves that may change the parent and the position in one request.
//!
//! Decisions where the reference is silent:
//! - A filter matches an item of any level that has the attribute: status
//!   (each level's own statuses), priority and text on every level; sprint
//!   on stories and tasks (their own `sprint_id`); assignee on stories and
//!   on tasks (their story's assignee). An item is shown when it matches or
//!   one of its descendants does; ancestors shown only for their
//!   descendants are marked `matched: false` (context).
//! - Codes in page URLs are resolved in the page's product only, so `PBI-1`
//!   never meets the "code in several products" ambiguity of API refs.
//! - A placement that changes the parent runs the re-parenting (story or
//!   task update) first and then the move among the new siblings; each is
//!   one transaction, so a refused position leaves the item at the end of
//!   its new parent, which is where a plain re-parent puts it anyway.

use std::collections::HashMap;

use baton_domain::backlog::{PbiStatus, StoryStatus, TaskStatus};
use baton_store::{
    entities::{pbi, product_member, sprint, story, task, user},
    sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder},
};

use super::{
    MoveTo, Ordered, PBI_ORDER, STORY_ORDER, TASK_ORDER,
    pbis::{PbiView, pbi_view},
    refs::ItemKind,
    stories::{StoryPatch, StoryView, pbi_in_product, story_view},
    tasks::{TaskPatch, TaskView, story_in_product, task_view},
};
use crate::{Actor, App, AppError, AppResult, products};

/// The filters of the backlog page, as typed in its query string.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct TreeFilter {
    /// A status of any level (`todo`, `in_sprint`, `blocked`, …).
    #[serde(default)]
    pub status: Option<String>,
    /// 1–4.
    #[serde(default)]
    pub priority: Option<String>,
    /// A username (or user id) of the product's people; `none` = unassigned.
    #[serde(default)]
    pub assignee: Option<String>,
    /// A sprint code (or id) of the product; `none` = in no sprint.
    #[serde(default)]
    pub sprint: Option<String>,
    /// Text in the title or code (case-insensitive).
    #[serde(default)]
    pub q: Option<String>,
}

/// A parsed filter (see the module notes for what matches what).
#[derive(Debug, Clone, Default)]
struct Parsed {
    status: Option<String>,
    priority: Option<i32>,
    /// `Some(None)` = unassigned.
    assignee: Option<Option<String>>,
    /// `Some(None)` = in no sprint.
    sprint: Option<Option<String>>,
    q: Option<String>,
}

impl Parsed {
    fn is_empty(&self) -> bool {
        self.status.is_none()
            && self.priority.is_none()
            && self.assignee.is_none()
            && self.sprint.is_none()
            && self.q.is_none()
    }

    /// Whether an item with these attributes matches; `None` attributes are
    /// ones the level does not have (a PBI's sprint), which never match a
    /// filter on them.
    fn matches(
        &self,
        status: &str,
        priority: i32,
        code: &str,
        title: &str,
        assignee: Option<Option<&str>>,
        sprint: Option<Option<&str>>,
    ) -> bool {
        if self.status.as_deref().is_some_and(|s| s != status) {
            return false;
        }
        if self.priority.is_some_and(|p| p != priority) {
            return false;
        }
        if let Some(q) = &self.q
            && !code.to_lowercase().contains(q)
            && !title.to_lowercase().contains(q)
        {
            return false;
        }
        if let Some(want) = &self.assignee
            && assignee.is_none_or(|a| a != want.as_deref())
        {
            return false;
        }
        if let Some(want) = &self.sprint
            && sprint.is_none_or(|s| s != want.as_deref())
        {
            return false;
        }
        true
    }
}

/// A sprint of the product, for the filter and the bulk move.
#[derive(Debug, Clone, PartialEq)]
pub struct TreeSprint {
    /// Id.
    pub id: String,
    /// `SP-N`.
    pub code: String,
    /// Its goal.
    pub goal: String,
    /// Lowercase status.
    pub status: String,
}

/// The owner or a member of the product (assignees).
#[derive(Debug, Clone, PartialEq)]
pub struct TreePerson {
    /// User id.
    pub id: String,
    /// Username.
    pub username: String,
}

/// A task in the tree.
#[derive(Debug, Clone)]
pub struct TreeTask {
    /// The task.
    pub task: TaskView,
    /// Whether it matches the filter itself (always, without filters).
    pub matched: bool,
}

/// A story in the tree, with its shown tasks.
#[derive(Debug, Clone)]
pub struct TreeStory {
    /// The story.
    pub story: StoryView,
    /// Whether it matches the filter itself.
    pub matched: bool,
    /// The assignee's username.
    pub assignee: Option<String>,
    /// The sprint's code.
    pub sprint_code: Option<String>,
    /// Its tasks that are shown, in order.
    pub tasks: Vec<TreeTask>,
    /// How many tasks it has in all.
    pub task_count: usize,
}

/// A PBI in the tree, with its shown stories.
#[derive(Debug, Clone)]
pub struct TreePbi {
    /// The PBI.
    pub pbi: PbiView,
    /// Whether it matches the filter itself.
    pub matched: bool,
    /// Its stories that are shown, in order.
    pub stories: Vec<TreeStory>,
    /// How many stories it has in all.
    pub story_count: usize,
}

/// A product's backlog as the backlog page shows it.
#[derive(Debug, Clone)]
pub struct BacklogTree {
    /// The shown PBIs, in order.
    pub pbis: Vec<TreePbi>,
    /// Every PBI code of the product, in order (re-parent choices).
    pub pbi_codes: Vec<String>,
    /// Every story code of the product, in backlog order (re-parent choices).
    pub story_codes: Vec<String>,
    /// The product's sprints, oldest first.
    pub sprints: Vec<TreeSprint>,
    /// The owner and members.
    pub people: Vec<TreePerson>,
    /// Whether any filter was given.
    pub filtered: bool,
    /// Items in the product: PBIs, stories, tasks.
    pub totals: (usize, usize, usize),
}

/// Where a placement puts an item among its (new) siblings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Position {
    /// First.
    Top,
    /// One up.
    Up,
    /// One down.
    Down,
    /// Last.
    Bottom,
    /// Just before this sibling (code or id).
    Before(String),
    /// Just after this sibling (code or id).
    After(String),
}

impl Position {
    /// Parses the Move… form's `position` (`top`, `up`, `down`, `bottom`).
    pub fn parse(value: &str) -> AppResult<Position> {
        match value.trim().to_ascii_lowercase().as_str() {
            "top" => Ok(Position::Top),
            "up" => Ok(Position::Up),
            "down" => Ok(Position::Down),
            "bottom" => Ok(Position::Bottom),
            _ => Err(AppError::field("position", "must be top, up, down or bottom")),
        }
    }
}

/// Lowercase status values of every level, for the filter's check.
fn all_statuses() -> Vec<String> {
    let mut v: Vec<String> = PbiStatus::ALL.iter().map(|s| s.as_api()).collect();
    v.extend(StoryStatus::ALL.iter().map(|s| s.as_api()));
    v.extend(TaskStatus::ALL.iter().map(|s| s.as_api()));
    v.dedup();
    v
}

fn blank(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// Checks the filter against the product's sprints and people; every bad
/// value is an error on its own field.
fn parse_filter(f: &TreeFilter, sprints: &[TreeSprint], people: &[TreePerson]) -> AppResult<Parsed> {
    let mut errs = baton_domain::ValidationErrors::new();
    let mut out = Parsed::default();
    if let Some(s) = blank(&f.status) {
        let s = s.to_ascii_lowercase();
        let all = all_statuses();
        if all.contains(&s) {
            out.status = Some(s);
        } else {
            errs.add("status", format!("must be one of: {}", all.join(", ")));
        }
    }
    if let Some(p) = blank(&f.priority) {
        match p.parse::<i32>() {
            Ok(n) if (1..=4).contains(&n) => out.priority = Some(n),
            _ => errs.add("priority", "must be 1 (critical), 2 (normal), 3 (low) or 4 (nice to have)"),
        }
    }
    if let Some(a) = blank(&f.assignee) {
        if a.eq_ignore_ascii_case("none") {
            out.assignee = Some(None);
        } else if let Some(p) = people.iter().find(|p| p.id == a || p.username.eq_ignore_ascii_case(a)) {
            out.assignee = Some(Some(p.id.clone()));
        } else {
            errs.add("assignee", format!("`{a}` is not the owner or a member of this product"));
        }
    }
    if let Some(sp) = blank(&f.sprint) {
        if sp.eq_ignore_ascii_case("none") {
            out.sprint = Some(None);
        } else if let Some(s) = sprints.iter().find(|s| s.id == sp || s.code.eq_ignore_ascii_case(sp)) {
            out.sprint = Some(Some(s.id.clone()));
        } else {
            errs.add("sprint", format!("no sprint `{sp}` in this product"));
        }
    }
    out.q = blank(&f.q).map(str::to_lowercase);
    errs.into_result()?;
    Ok(out)
}

/// Groups rows by a key, keeping their order.
fn group<T>(rows: Vec<T>, key: impl Fn(&T) -> String) -> HashMap<String, Vec<T>> {
    let mut out: HashMap<String, Vec<T>> = HashMap::new();
    for r in rows {
        out.entry(key(&r)).or_default().push(r);
    }
    out
}

async fn people_of<C: ConnectionTrait>(db: &C, owner_id: &str, product_id: &str) -> AppResult<Vec<TreePerson>> {
    let members =
        product_member::Entity::find().filter(product_member::Column::ProductId.eq(product_id)).all(db).await?;
    let mut ids: Vec<String> = vec![owner_id.to_string()];
    ids.extend(members.into_iter().map(|m| m.user_id));
    let users = user::Entity::find().filter(user::Column::Id.is_in(ids.clone())).all(db).await?;
    let mut people: Vec<TreePerson> =
        users.into_iter().map(|u| TreePerson { id: u.id, username: u.username }).collect();
    // The owner first, then members by name.
    people.sort_by(|a, b| (a.id != owner_id, &a.username).cmp(&(b.id != owner_id, &b.username)));
    Ok(people)
}

impl App {
    /// A product's whole backlog as a filtered tree, in six queries
    /// whatever its size (product, sprints, people ×2, PBIs, stories, tasks).
    pub async fn backlog_tree(&self, actor: &Actor, product: &str, filter: &TreeFilter) -> AppResult<BacklogTree> {
        let p = products::readable_ref(&self.db, actor, product).await?;
        let sprints: Vec<TreeSprint> = sprint::Entity::find()
            .filter(sprint::Column::ProductId.eq(&p.id))
            .order_by_asc(sprint::Column::CreatedAt)
            .order_by_asc(sprint::Column::Id)
            .all(&self.db)
            .await?
            .into_iter()
            .map(|s| TreeSprint { status: s.status.to_ascii_lowercase(), id: s.id, code: s.code, goal: s.sprint_goal })
            .collect();
        let people = people_of(&self.db, &p.user_id, &p.id).await?;
        let parsed = parse_filter(filter, &sprints, &people)?;
        let pbis = pbi::Entity::find()
            .filter(pbi::Column::ProductId.eq(&p.id))
            .order_by_asc(pbi::Column::SortOrder)
            .order_by_asc(pbi::Column::CreatedAt)
            .order_by_asc(pbi::Column::Id)
            .all(&self.db)
            .await?;
        let stories = story::Entity::find()
            .filter(story::Column::ProductId.eq(&p.id))
            .order_by_asc(story::Column::SortOrder)
            .order_by_asc(story::Column::CreatedAt)
            .order_by_asc(story::Column::Id)
            .all(&self.db)
            .await?;
        let tasks = task::Entity::find()
            .filter(task::Column::ProductId.eq(&p.id))
            .order_by_asc(task::Column::SortOrder)
            .order_by_asc(task::Column::CreatedAt)
            .order_by_asc(task::Column::Id)
            .all(&self.db)
            .await?;
        let totals = (pbis.len(), stories.len(), tasks.len());
        let pbi_codes = pbis.iter().map(|b| b.code.clone()).collect();
        let mut story_codes = Vec::with_capacity(stories.len());
        let usernames: HashMap<&str, &str> = people.iter().map(|p| (p.id.as_str(), p.username.as_str())).collect();
        let sprint_codes: HashMap<&str, &str> = sprints.iter().map(|s| (s.id.as_str(), s.code.as_str())).collect();
        let mut stories_by_pbi = group(stories, |s| s.pbi_id.clone());
        let mut tasks_by_story = group(tasks, |t| t.story_id.clone());

        let mut out = Vec::new();
        for b in pbis {
            let b = pbi_view(b)?;
            let b_matched = parsed.matches(&b.status.as_api(), b.priority, &b.code, &b.title, None, None);
            let all_stories = stories_by_pbi.remove(&b.id).unwrap_or_default();
            let story_count = all_stories.len();
            let mut shown = Vec::new();
            for s in all_stories {
                story_codes.push(s.code.clone());
                let s = story_view(s)?;
                let assignee = s.assignee_id.as_deref();
                let sprint = s.sprint_id.as_deref();
                let s_matched =
                    parsed.matches(&s.status.as_api(), s.priority, &s.code, &s.title, Some(assignee), Some(sprint));
                let all_tasks = tasks_by_story.remove(&s.id).unwrap_or_default();
                let task_count = all_tasks.len();
                let mut shown_tasks = Vec::new();
                for t in all_tasks {
                    let t = task_view(t)?;
                    let matched = parsed.matches(
                        &t.status.as_api(),
                        t.priority,
                        &t.code,
                        &t.title,
                        Some(assignee),
                        Some(t.sprint_id.as_deref()),
                    );
                    if matched {
                        shown_tasks.push(TreeTask { task: t, matched });
                    }
                }
                if s_matched || !shown_tasks.is_empty() {
                    shown.push(TreeStory {
                        assignee: assignee.and_then(|a| usernames.get(a)).map(|u| u.to_string()),
                        sprint_code: sprint.and_then(|x| sprint_codes.get(x)).map(|c| c.to_string()),
                        story: s,
                        matched: s_matched,
                        tasks: shown_tasks,
                        task_count,
                    });
                }
            }
            if b_matched || !shown.is_empty() {
                out.push(TreePbi { pbi: b, matched: b_matched, stories: shown, story_count });
            }
        }
        Ok(BacklogTree { pbis: out, pbi_codes, story_codes, sprints, people, filtered: !parsed.is_empty(), totals })
    }

    /// The id of the PBI, story or task `code` (or id) of `product` — only
    /// in that product; anything else is "not found".
    pub async fn backlog_item_id(&self, actor: &Actor, product: &str, kind: ItemKind, code: &str) -> AppResult<String> {
        let p = products::readable_ref(&self.db, actor, product).await?;
        let key = code.trim();
        let upper = key.to_ascii_uppercase();
        let not_found = || AppError::NotFound(kind.noun());
        // The resolvers of `stories`/`tasks` look in one product and report
        // a validation error; here an unknown code is simply not found.
        let id = match kind {
            ItemKind::Pbi => pbi_in_product(&self.db, &p.id, key, "pbi").await.map(|m| m.id),
            ItemKind::Story => story_in_product(&self.db, &p.id, key, "story").await.map(|m| m.id),
            ItemKind::Task => task::Entity::find()
                .filter(task::Column::ProductId.eq(&p.id))
                .filter(
                    baton_store::sea_orm::Condition::any()
                        .add(task::Column::Id.eq(key))
                        .add(task::Column::Code.eq(upper.as_str())),
                )
                .one(&self.db)
                .await?
                .map(|m| m.id)
                .ok_or_else(not_found),
        };
        id.map_err(|e| match e {
            AppError::Validation(_) => not_found(),
            other => other,
        })
    }

    /// Moves a PBI to `position` among the product's PBIs.
    pub async fn place_pbi(&self, actor: &Actor, pbi_id: &str, position: Position) -> AppResult<PbiView> {
        let b = self.get_pbi(actor, pbi_id).await?;
        let to = self.move_to(&PBI_ORDER, &b.product_id, &b.id, position).await?;
        self.move_pbi(actor, &b.id, to).await
    }

    /// Moves a story to another PBI of its product (`pbi`: code or id) and/or
    /// to `position` among its siblings there. Without a position, a story
    /// that changes PBI goes to the end of it.
    pub async fn place_story(
        &self,
        actor: &Actor,
        story_id: &str,
        pbi: Option<&str>,
        position: Option<Position>,
    ) -> AppResult<StoryView> {
        let mut s = self.get_story(actor, story_id).await?;
        if let Some(r) = pbi.map(str::trim).filter(|r| !r.is_empty()) {
            let target = pbi_in_product(&self.db, &s.product_id, r, "pbi").await?;
            if target.id != s.pbi_id {
                let patch = StoryPatch { pbi_id: Some(target.id), ..Default::default() };
                s = self.update_story(actor, &s.id, patch).await?;
            }
        }
        match position {
            Some(pos) => {
                let to = self.move_to(&STORY_ORDER, &s.pbi_id, &s.id, pos).await?;
                self.move_story(actor, &s.id, to).await
            }
            None => Ok(s),
        }
    }

    /// Moves a task to another story of its product (`story`: code or id)
    /// and/or to `position` among its siblings there.
    pub async fn place_task(
        &self,
        actor: &Actor,
        task_id: &str,
        story: Option<&str>,
        position: Option<Position>,
    ) -> AppResult<TaskView> {
        let mut t = self.get_task(actor, task_id).await?;
        if let Some(r) = story.map(str::trim).filter(|r| !r.is_empty()) {
            let target = story_in_product(&self.db, &t.product_id, r, "story").await?;
            if target.id != t.story_id {
                let patch = TaskPatch { story_id: Some(target.id), ..Default::default() };
                t = self.update_task(actor, &t.id, patch).await?.task;
            }
        }
        match position {
            Some(pos) => {
                let to = self.move_to(&TASK_ORDER, &t.story_id, &t.id, pos).await?;
                self.move_task(actor, &t.id, to).await
            }
            None => Ok(t),
        }
    }

    /// Turns a position into the move services' `MoveTo` (up and down need
    /// the item's current index among its siblings).
    async fn move_to(&self, order: &Ordered, parent_id: &str, item_id: &str, position: Position) -> AppResult<MoveTo> {
        let index = |i: usize| MoveTo { index: Some(i as u64), ..Default::default() };
        Ok(match position {
            Position::Top => index(0),
            Position::Bottom => index(usize::MAX / 2),
            Position::Before(code) => MoveTo { before_id: Some(code), ..Default::default() },
            Position::After(code) => MoveTo { after_id: Some(code), ..Default::default() },
            Position::Up | Position::Down => {
                let siblings = order.siblings(&self.db, parent_id).await?;
                let at = siblings.iter().position(|s| s.id == item_id).unwrap_or(0);
                if position == Position::Up { index(at.saturating_sub(1)) } else { index(at + 1) }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sprints() -> Vec<TreeSprint> {
        vec![TreeSprint { id: "s1".into(), code: "SP-1".into(), goal: "g".into(), status: "open".into() }]
    }
    fn people() -> Vec<TreePerson> {
        vec![TreePerson { id: "u1".into(), username: "alice".into() }]
    }

    #[test]
    fn filters_are_checked_field_by_field() {
        let f = TreeFilter {
            status: Some("bogus".into()),
            priority: Some("9".into()),
            assignee: Some("mallory".into()),
            sprint: Some("SP-9".into()),
            q: None,
        };
        let Err(AppError::Validation(v)) = parse_filter(&f, &sprints(), &people()) else { panic!("refused") };
        let fields: Vec<&str> = v.0.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(fields, ["status", "priority", "assignee", "sprint"]);
        let ok = TreeFilter {
            status: Some(" IN_PROGRESS ".into()),
            priority: Some("1".into()),
            assignee: Some("Alice".into()),
            sprint: Some("sp-1".into()),
            q: Some(" Login ".into()),
        };
        let p = parse_filter(&ok, &sprints(), &people()).expect("valid");
        assert_eq!(p.status.as_deref(), Some("in_progress"));
        assert_eq!(p.assignee, Some(Some("u1".into())));
        assert_eq!(p.sprint, Some(Some("s1".into())));
        assert_eq!(p.q.as_deref(), Some("login"));
    }

    #[test]
    fn a_level_without_the_attribute_never_matches_a_filter_on_it() {
        let p = Parsed { sprint: Some(None), ..Default::default() };
        assert!(!p.matches("ready", 2, "PBI-1", "x", None, None));
        assert!(p.matches("open", 2, "ST-001", "x", Some(None), Some(None)));
        assert!(!p.matches("open", 2, "ST-001", "x", Some(None), Some(Some("s1"))));
        let q = Parsed { q: Some("log".into()), ..Default::default() };
        assert!(q.matches("todo", 2, "T-1", "Login page", None, None));
        assert!(q.matches("todo", 2, "LOG-1", "x", None, None));
        assert!(!q.matches("todo", 2, "T-1", "x", None, None));
    }

    #[test]
    fn positions_parse_from_the_move_form() {
        assert_eq!(Position::parse("Top").expect("top"), Position::Top);
        assert_eq!(Position::parse("down").expect("down"), Position::Down);
        assert!(Position::parse("sideways").is_err());
    }
}
