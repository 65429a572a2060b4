//! The sprint board: one sprint's stories with their tasks, in execution
//! order, from two indexed reads.

use std::collections::HashMap;

use baton_domain::backlog::{StoryStatus, TaskStatus};
use baton_store::repo::sprints::{self as repo, BoardTaskRow};
use serde::Serialize;

use super::{SprintView, readable_sprint};
use crate::{Actor, App, AppResult};

/// One task on the sprint board.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct BoardTask {
    /// Task id.
    pub id: String,
    /// `T-N`.
    pub code: String,
    /// Title.
    pub title: String,
    /// todo | in_progress | review | done | failed | excluded.
    pub status: TaskStatus,
    /// 1 (critical) to 4.
    pub priority: i32,
    /// Position within the story.
    pub sort_order: f64,
}

/// One story on the sprint board, with its tasks in order.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct BoardStory {
    /// Story id.
    pub id: String,
    /// `ST-NNN`.
    pub code: String,
    /// The PBI it belongs to.
    pub pbi_id: String,
    /// Title.
    pub title: String,
    /// open | in_sprint | done | failed.
    pub status: StoryStatus,
    /// 1 (critical) to 4.
    pub priority: i32,
    /// Position within its PBI.
    pub sort_order: f64,
    /// Who works on it.
    pub assignee_id: Option<String>,
    /// Its tasks, by sort order, creation and id.
    pub tasks: Vec<BoardTask>,
}

/// A sprint with its stories and their tasks, in execution order (PBI order,
/// then story order, then task order; ties by creation time and id).
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct SprintBoard {
    /// The sprint.
    pub sprint: SprintView,
    /// Its stories.
    pub stories: Vec<BoardStory>,
}

impl App {
    /// The sprint board: the sprint's stories with their tasks, in execution
    /// order. Two indexed queries regardless of size.
    pub async fn sprint_board(&self, actor: &Actor, sprint_id: &str) -> AppResult<SprintBoard> {
        let s = readable_sprint(&self.db, actor, sprint_id).await?;
        let mut stories = repo::board_stories(&self.db, &s.id).await?;
        let tasks = repo::board_tasks(&self.db, &s.id).await?;
        // Sorting a few thousand rows here is cheaper than asking the
        // database to (Postgres compares text ids by collation) and keeps the
        // rows streaming straight from the indexes.
        stories.sort_by(|a, b| {
            a.pbi_sort
                .total_cmp(&b.pbi_sort)
                .then_with(|| a.pbi_created.cmp(&b.pbi_created))
                .then_with(|| a.pbi_id.cmp(&b.pbi_id))
                .then_with(|| a.sort_order.total_cmp(&b.sort_order))
                .then_with(|| a.created_at.cmp(&b.created_at))
                .then_with(|| a.id.cmp(&b.id))
        });
        let mut by_story: HashMap<String, Vec<BoardTaskRow>> = HashMap::with_capacity(stories.len());
        for t in tasks {
            by_story.entry(t.story_id.clone()).or_default().push(t);
        }
        let mut out = Vec::with_capacity(stories.len());
        for st in stories {
            let mut rows = by_story.remove(&st.id).unwrap_or_default();
            rows.sort_by(|a, b| {
                a.sort_order
                    .total_cmp(&b.sort_order)
                    .then_with(|| a.created_at.cmp(&b.created_at))
                    .then_with(|| a.id.cmp(&b.id))
            });
            let mut tasks = Vec::with_capacity(rows.len());
            for t in rows {
                tasks.push(BoardTask {
                    status: TaskStatus::decode(&t.status, "tasks.status")?,
                    id: t.id,
                    code: t.code,
                    title: t.title,
                    priority: t.priority,
                    sort_order: t.sort_order,
                });
            }
            out.push(BoardStory {
                status: StoryStatus::decode(&st.status, "stories.status")?,
                tasks,
                id: st.id,
                code: st.code,
                pbi_id: st.pbi_id,
                title: st.title,
                priority: st.priority,
                sort_order: st.sort_order,
                assignee_id: st.assignee_id,
            });
        }
        Ok(SprintBoard { sprint: SprintView::of(s)?, stories: out })
    }
}
