//! Reading a product's whole backlog into the export document, and the
//! export download in either format.

use std::collections::HashMap;

use baton_domain::backlog::{
    PbiStatus, PrStrategy, SprintStatus, StoryLogType, StoryStatus, TaskStatus, TestStatus, VerifyRequired,
};
use baton_store::{
    entities::{pbi, product, sprint, story, story_log, task, user},
    now,
    sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter},
};
use chrono::{DateTime, Utc};

use super::{
    BacklogExport, EXPORT_FORMAT, EXPORT_VERSION, ExportFormat, ExportLog, ExportPbi, ExportProduct, ExportSprint,
    ExportStory, ExportTask, ExportedFile, csv::to_csv, import::CHUNK,
};
use crate::{
    Actor, App, AppError, AppResult,
    products::{context::by_position, readable_ref},
};

fn ordered<T>(mut v: Vec<T>, key: impl Fn(&T) -> (f64, &DateTime<Utc>, &str)) -> Vec<T> {
    v.sort_by(|a, b| by_position(key(a), key(b)));
    v
}

fn group<T>(rows: Vec<T>, parent: impl Fn(&T) -> String) -> HashMap<String, Vec<T>> {
    let mut m: HashMap<String, Vec<T>> = HashMap::new();
    for r in rows {
        m.entry(parent(&r)).or_default().push(r);
    }
    m
}

async fn all_in<C, E, F>(db: &C, col: F, ids: &[String]) -> AppResult<Vec<E::Model>>
where
    C: ConnectionTrait,
    E: EntityTrait,
    F: ColumnTrait,
{
    let mut out = Vec::new();
    for chunk in ids.chunks(CHUNK) {
        out.extend(E::find().filter(col.is_in(chunk.to_vec())).all(db).await?);
    }
    Ok(out)
}

fn export_task(t: task::Model) -> AppResult<ExportTask> {
    Ok(ExportTask {
        status: TaskStatus::decode(&t.status, "tasks.status")?,
        verify_required: VerifyRequired::decode(&t.verify_required, "tasks.verify_required")?,
        code: t.code,
        title: t.title,
        description: t.description,
        implementation_plan: t.implementation_plan,
        priority: t.priority,
        sort_order: t.sort_order,
        verify_only: t.verify_only,
        requires_opus: t.requires_opus,
        repo_url: t.repo_url,
        created_at: Some(t.created_at),
    })
}

fn export_log(l: story_log::Model) -> AppResult<ExportLog> {
    Ok(ExportLog {
        log_type: StoryLogType::decode(&l.r#type, "story_logs.type")?,
        status: l.status.as_deref().map(|s| TestStatus::decode(s, "story_logs.status")).transpose()?,
        content: l.content,
        commit_hash: l.commit_hash,
        commit_message: l.commit_message,
        metadata: l.metadata,
        created_at: Some(l.created_at),
    })
}

fn export_sprint(s: sprint::Model) -> AppResult<ExportSprint> {
    Ok(ExportSprint {
        status: SprintStatus::decode(&s.status, "sprints.status")?,
        code: s.code,
        sprint_goal: s.sprint_goal,
        start_date: s.start_date,
        end_date: s.end_date,
        completed_at: s.completed_at,
        created_at: Some(s.created_at),
    })
}

fn export_product(p: product::Model) -> AppResult<ExportProduct> {
    Ok(ExportProduct {
        pr_strategy: PrStrategy::decode(&p.pr_strategy, "products.pr_strategy")?,
        name: p.name,
        code: p.code,
        description: p.description,
        repo_url: p.repo_url,
        definition_of_done: p.definition_of_done,
        auto_pr: p.auto_pr,
        preferred_model: p.preferred_model,
        thinking_budget_default: p.thinking_budget_default,
        preferred_permission_mode: p.preferred_permission_mode,
        auto_pr_review: p.auto_pr_review,
        auto_task_review: p.auto_task_review,
        auto_plan_review: p.auto_plan_review,
        auto_materialize_plan: p.auto_materialize_plan,
        auto_deploy: p.auto_deploy,
    })
}

/// A product's stories, tasks and logs grouped by parent, with the names
/// the export uses instead of ids.
struct Children {
    stories_by_pbi: HashMap<String, Vec<story::Model>>,
    tasks_by_story: HashMap<String, Vec<task::Model>>,
    logs_by_story: HashMap<String, Vec<story_log::Model>>,
    sprint_codes: HashMap<String, String>,
    usernames: HashMap<String, String>,
}

impl Children {
    fn story(&mut self, s: story::Model) -> AppResult<ExportStory> {
        let tasks =
            ordered(self.tasks_by_story.remove(&s.id).unwrap_or_default(), |x| (x.sort_order, &x.created_at, &x.id));
        let mut logs = self.logs_by_story.remove(&s.id).unwrap_or_default();
        logs.sort_by(|a, b| a.created_at.cmp(&b.created_at).then_with(|| a.id.cmp(&b.id)));
        Ok(ExportStory {
            status: StoryStatus::decode(&s.status, "stories.status")?,
            sprint_code: s.sprint_id.as_ref().and_then(|id| self.sprint_codes.get(id).cloned()),
            assignee: s.assignee_id.as_ref().and_then(|id| self.usernames.get(id).cloned()),
            code: s.code,
            title: s.title,
            description: s.description,
            acceptance_criteria: s.acceptance_criteria,
            priority: s.priority,
            sort_order: s.sort_order,
            epic_number: s.epic_number,
            story_number: s.story_number,
            created_at: Some(s.created_at),
            tasks: tasks.into_iter().map(export_task).collect::<AppResult<_>>()?,
            logs: logs.into_iter().map(export_log).collect::<AppResult<_>>()?,
        })
    }

    fn pbi(&mut self, b: pbi::Model) -> AppResult<ExportPbi> {
        let stories =
            ordered(self.stories_by_pbi.remove(&b.id).unwrap_or_default(), |x| (x.sort_order, &x.created_at, &x.id));
        Ok(ExportPbi {
            status: PbiStatus::decode(&b.status, "pbis.status")?,
            stories: stories.into_iter().map(|s| self.story(s)).collect::<AppResult<_>>()?,
            code: b.code,
            title: b.title,
            description: b.description,
            priority: b.priority,
            sort_order: b.sort_order,
            pr_url: b.pr_url,
            pr_merged_at: b.pr_merged_at,
            epic_number: b.epic_number,
            created_at: Some(b.created_at),
        })
    }
}

/// Reads a product's whole backlog into the export document.
async fn build_export<C: ConnectionTrait>(db: &C, p: product::Model) -> AppResult<BacklogExport> {
    let mut sprints = sprint::Entity::find().filter(sprint::Column::ProductId.eq(&p.id)).all(db).await?;
    sprints.sort_by(|a, b| a.created_at.cmp(&b.created_at).then_with(|| a.id.cmp(&b.id)));
    let pbis = ordered(pbi::Entity::find().filter(pbi::Column::ProductId.eq(&p.id)).all(db).await?, |x| {
        (x.sort_order, &x.created_at, &x.id)
    });
    let stories = story::Entity::find().filter(story::Column::ProductId.eq(&p.id)).all(db).await?;
    let tasks = task::Entity::find().filter(task::Column::ProductId.eq(&p.id)).all(db).await?;
    let story_ids: Vec<String> = stories.iter().map(|s| s.id.clone()).collect();
    let logs = all_in::<_, story_log::Entity, _>(db, story_log::Column::StoryId, &story_ids).await?;
    let mut assignee_ids: Vec<String> = stories.iter().filter_map(|s| s.assignee_id.clone()).collect();
    assignee_ids.sort();
    assignee_ids.dedup();
    let mut children = Children {
        usernames: all_in::<_, user::Entity, _>(db, user::Column::Id, &assignee_ids)
            .await?
            .into_iter()
            .map(|u| (u.id, u.username))
            .collect(),
        sprint_codes: sprints.iter().map(|s| (s.id.clone(), s.code.clone())).collect(),
        stories_by_pbi: group(stories, |s| s.pbi_id.clone()),
        tasks_by_story: group(tasks, |t| t.story_id.clone()),
        logs_by_story: group(logs, |l| l.story_id.clone()),
    };
    Ok(BacklogExport {
        format: EXPORT_FORMAT.into(),
        version: EXPORT_VERSION,
        exported_at: Some(now()),
        product: export_product(p)?,
        sprints: sprints.into_iter().map(export_sprint).collect::<AppResult<_>>()?,
        pbis: pbis.into_iter().map(|b| children.pbi(b)).collect::<AppResult<_>>()?,
    })
}

/// A file-name-safe slug of the product's code or name.
fn slug(p: &ExportProduct) -> String {
    let base = p.code.clone().unwrap_or_else(|| p.name.clone()).to_ascii_lowercase();
    let mut s: String = base.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '-' }).collect();
    while s.contains("--") {
        s = s.replace("--", "-");
    }
    let s = s.trim_matches('-').chars().take(60).collect::<String>();
    if s.is_empty() { "product".into() } else { s }
}

impl App {
    /// A product's whole backlog as an export document.
    pub async fn export_backlog(&self, actor: &Actor, product: &str) -> AppResult<BacklogExport> {
        let p = readable_ref(&self.db, actor, product).await?;
        build_export(&self.db, p).await
    }

    /// A product's whole backlog as a file in `format`, with a file name.
    pub async fn export_product(&self, actor: &Actor, product: &str, format: ExportFormat) -> AppResult<ExportedFile> {
        let e = self.export_backlog(actor, product).await?;
        let stem = format!("{}-backlog", slug(&e.product));
        Ok(match format {
            ExportFormat::Json => ExportedFile {
                filename: format!("{stem}.json"),
                content_type: "application/json",
                body: serde_json::to_string_pretty(&e)
                    .map_err(|err| AppError::internal_from("could not write the JSON export", err))?,
            },
            ExportFormat::Csv => ExportedFile {
                filename: format!("{stem}.csv"),
                content_type: "text/csv; charset=utf-8",
                body: to_csv(&e)?,
            },
        })
    }
}
