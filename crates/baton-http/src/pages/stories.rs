//! `/products/{code}/stories/{ST-NNN}`: a story with its description and
//! acceptance criteria, PBI, sprint and assignee, its tasks, its log
//! (plans, test results, commits), the agent jobs of its tasks, and the
//! questions asked about it (answered inline on the questions page's route).
//!
//! Also the question and log rows the task page shares.

use std::collections::HashMap;

use askama::Template;
use askama_web::WebTemplate;
use axum::{
    Router,
    extract::{Path, State},
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::get,
};
use baton_app::{
    Actor,
    backlog::{stories::StoryView, story_logs::StoryLogView, tasks::TaskScope},
    item_detail::Person,
    list::PageParams,
    questions::QuestionView,
};

use super::{
    item_edit::StoryEdit,
    layout::{FormErrors, Layout, OrPage, PageError, PageUser, slug},
    markdown,
    tasks::{JobRow, fmt_time, job_rows, status_label, write_block},
};
use crate::AppState;

/// The routes of this module.
pub fn router() -> Router<AppState> {
    Router::new().route("/products/{code}/stories/{story}", get(story_page))
}

/// A question as its row shows it.
pub(super) struct QuestionRow {
    /// Question id.
    pub id: String,
    /// Lowercase status.
    pub status: String,
    /// Status label.
    pub status_label: String,
    /// The question, rendered markdown.
    pub html: String,
    /// The allowed answers (empty: free text).
    pub options: Vec<String>,
    /// The answer.
    pub answer: Option<String>,
    /// Who answered, and when.
    pub answered: Option<String>,
    /// Who asked (through their agent), and when.
    pub asked: String,
    /// Whether it can still be answered.
    pub open: bool,
    /// Where the answer form sends the browser back to.
    pub return_to: String,
    /// Why the answer form is disabled, if it is.
    pub answer_block: Option<String>,
}

fn username(people: &[Person], id: &str) -> String {
    people.iter().find(|p| p.id == id).map(|p| p.username.clone()).unwrap_or_else(|| "a former member".into())
}

/// Rows of questions; `back` is the page the answer form returns to.
pub(super) fn question_rows(
    qs: Vec<QuestionView>,
    people: &[Person],
    back: &str,
    write: &Option<String>,
) -> Vec<QuestionRow> {
    qs.into_iter()
        .map(|q| {
            let status = q.status.as_api();
            QuestionRow {
                open: status == "open",
                status_label: status_label(&status),
                html: markdown::render(&q.question),
                options: q.options.unwrap_or_default(),
                answered: q.answered_by.as_deref().map(|u| {
                    let at = q.answered_at.map(|t| format!(" on {}", fmt_time(t))).unwrap_or_default();
                    format!("{}{at}", username(people, u))
                }),
                asked: format!("{} on {}", username(people, &q.asked_by), fmt_time(q.created_at)),
                answer: q.answer,
                return_to: back.to_string(),
                answer_block: write.clone(),
                id: q.id,
                status,
            }
        })
        .collect()
}

/// A story log entry as its row shows it.
pub(super) struct LogRow {
    /// `implementation_plan`, `test_result` or `commit`.
    pub kind: String,
    /// Its label.
    pub kind_label: String,
    /// The content, rendered markdown.
    pub html: String,
    /// `passed` / `failed` (test results).
    pub status: Option<String>,
    /// Short commit hash (commits).
    pub commit: Option<String>,
    /// Commit message (commits).
    pub message: Option<String>,
    /// When.
    pub at: String,
}

/// Rows of story log entries.
pub(super) fn log_rows(logs: Vec<StoryLogView>) -> Vec<LogRow> {
    logs.into_iter()
        .map(|l| {
            let kind = l.kind.as_api();
            LogRow {
                kind_label: match kind.as_str() {
                    "implementation_plan" => "Plan".into(),
                    "test_result" => "Test result".into(),
                    other => status_label(other),
                },
                html: markdown::render(&l.content),
                status: l.status.map(|s| s.as_api()),
                commit: l.commit_hash.map(|h| h.chars().take(12).collect()),
                message: l.commit_message,
                at: fmt_time(l.created_at),
                kind,
            }
        })
        .collect()
}

/// A task in the story's list.
struct TaskLine {
    code: String,
    title: String,
    status: String,
    status_label: String,
    has_plan: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "stories/show.html")]
struct StoryPage {
    layout: Layout,
    slug: String,
    story: StoryView,
    status: String,
    status_label: String,
    pbi: String,
    sprint: Option<String>,
    assignee: Option<String>,
    description_html: Option<String>,
    criteria_html: Option<String>,
    tasks: Vec<TaskLine>,
    jobs: Vec<JobRow>,
    questions: Vec<QuestionRow>,
    logs: Vec<LogRow>,
    people: Vec<Person>,
    write_block: Option<String>,
    errors: FormErrors,
    edit: StoryEdit,
    self_path: String,
    /// The marketplace workflow page, for marketplace stories.
    market_href: Option<String>,
}

impl StoryPage {
    /// Whether `v` is the edit form's current value of `field` (for `selected`).
    fn is(&self, field: &str, v: &str) -> bool {
        self.edit.value(field) == v
    }
}

/// Renders the story page (also with a refused edit form's errors and values).
pub(super) async fn render_story(
    s: &AppState,
    actor: &Actor,
    code: &str,
    story_ref: &str,
    status: StatusCode,
    errors: FormErrors,
    edit: Option<StoryEdit>,
) -> Result<Response, PageError> {
    let product = s.app.get_product(actor, code).await.or_page(actor)?;
    let story = s.app.product_story(actor, &product.id, story_ref).await.or_page(actor)?;
    let pbi = s.app.get_pbi(actor, &story.pbi_id).await.or_page(actor)?;
    let sprint = match &story.sprint_id {
        Some(id) => Some(s.app.get_sprint(actor, id).await.or_page(actor)?),
        None => None,
    };
    let params = PageParams { page: None, limit: Some(200) };
    let tasks = s
        .app
        .list_tasks(actor, TaskScope::Story(story.id.clone()), Default::default(), params)
        .await
        .or_page(actor)?
        .items;
    let codes: HashMap<String, String> = tasks.iter().map(|t| (t.id.clone(), t.code.clone())).collect();
    let task_ids: Vec<String> = tasks.iter().map(|t| t.id.clone()).collect();
    let jobs = s.app.task_jobs(actor, &product.id, &task_ids).await.or_page(actor)?;
    let people = s.app.product_people(actor, &product.id).await.or_page(actor)?;
    let questions = s.app.item_questions(actor, &story.id, None).await.or_page(actor)?;
    let logs =
        s.app.list_story_logs(actor, &story.id, Default::default(), Default::default()).await.or_page(actor)?.items;
    // A marketplace story (numbered `epic.story`) also has its workflow page.
    let market_href = match story.epic_number {
        Some(_) => s.app.get_market_story(actor, &story.id).await.ok().map(|m| super::market::story_path(&m.story.id)),
        None => None,
    };
    let p = slug(&product);
    let write = write_block(actor, &product);
    let self_path = format!("/products/{p}/stories/{}", story.code);
    let page = StoryPage {
        layout: Layout::for_product(s, actor, &format!("{} {}", story.code, story.title), "backlog", &product)
            .await
            .or_page(actor)?,
        status: story.status.as_api(),
        status_label: status_label(&story.status.as_api()),
        pbi: format!("{} {}", pbi.code, pbi.title),
        sprint: sprint.map(|sp| format!("{} — {}", sp.code, sp.sprint_goal)),
        assignee: story.assignee_id.as_deref().map(|a| username(&people, a)),
        description_html: story.description.as_deref().map(markdown::render),
        criteria_html: story.acceptance_criteria.as_deref().map(markdown::render),
        tasks: tasks
            .into_iter()
            .map(|t| TaskLine {
                status: t.status.as_api(),
                status_label: status_label(&t.status.as_api()),
                has_plan: t.implementation_plan.as_deref().is_some_and(|p| !p.trim().is_empty()),
                code: t.code,
                title: t.title,
            })
            .collect(),
        jobs: job_rows(jobs, &codes),
        questions: question_rows(questions, &people, &self_path, &write),
        logs: log_rows(logs),
        write_block: write,
        errors,
        edit: edit.unwrap_or_else(|| StoryEdit::of(&story)),
        people,
        slug: p,
        self_path,
        market_href,
        story,
    };
    Ok((status, page).into_response())
}

async fn story_page(
    State(s): State<AppState>,
    PageUser(actor): PageUser,
    Path((code, story)): Path<(String, String)>,
) -> Result<Response, PageError> {
    render_story(&s, &actor, &code, &story, StatusCode::OK, FormErrors::none(), None).await
}
