//! `/ideas/{code}`: one of the caller's ideas — title and description,
//! product and secondary products, status, the grill and the plan rendered
//! (the plan as a structured preview of its PBI, stories and tasks, or its
//! parse errors with line numbers and dotted paths beside the numbered
//! source), editable grill and plan, the log with a decision/note form,
//! archive/unarchive, the idea's jobs and questions (answered inline), and
//! the dispatch and materialize actions, each disabled with the reason.
//!
//! Forms: `POST /ideas/{code}/update`, `…/archive`, `…/unarchive`,
//! `…/grill`, `…/plan`, `…/logs`, `…/jobs` (dispatch Grill, Make plan or
//! Review plan) and `…/materialize`. A refusal re-renders the page with the
//! message next to the form's field and the typed text kept.

use std::collections::HashMap;

use askama::Template;
use askama_web::WebTemplate;
use axum::{
    Form, Router,
    extract::{Path, State},
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
    routing::{get, post},
};
use baton_app::{
    Actor, AppError,
    ideas::{
        Availability, DispatchKind, IdeaLogView, IdeaPatch, IdeaView, MaterializeInput, NewIdeaLog, NoteType,
        PLAN_MD_WRITABLE_IN,
    },
    item_detail::Person,
    list::PageParams,
    products::ProductView,
};
use baton_domain::{
    idea_lifecycle::{GRILL_MD_WRITABLE_IN, grill_md_writable},
    ideas::IdeaStatus,
    plan_md::{Plan, PlanError, parse_plan_md},
};
use serde::Deserialize;

use super::{idea_path, my_products, product_of};
use crate::{
    AppState,
    pages::{
        layout::{
            DEMO_REASON, FormErrors, Layout, OrPage, PageError, PageUser, form_status, patch_text, slug, unix_text,
        },
        markdown,
        stories::{QuestionRow, question_rows},
        tasks::{JobRow, fmt_time, job_rows, status_label},
    },
};

/// The routes of the idea page.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/ideas/{idea}", get(show))
        .route("/ideas/{idea}/update", post(update))
        .route("/ideas/{idea}/archive", post(archive))
        .route("/ideas/{idea}/unarchive", post(unarchive))
        .route("/ideas/{idea}/grill", post(grill))
        .route("/ideas/{idea}/plan", post(plan))
        .route("/ideas/{idea}/logs", post(add_log))
        .route("/ideas/{idea}/jobs", post(dispatch))
        .route("/ideas/{idea}/materialize", post(materialize))
}

/// An action button: what it posts and why it is disabled, if it is.
struct ActionButton {
    /// The form's `kind` value (`grill`, `make_plan`, `review_plan`).
    kind: &'static str,
    label: &'static str,
    hint: &'static str,
    block: Option<String>,
}

/// Why an action is disabled: the page-wide reason first (demo), else the
/// reason its guard gives now.
fn action_block(write: &Option<String>, a: &Availability) -> Option<String> {
    write.clone().or_else(|| (!a.allowed).then(|| a.reason.clone().unwrap_or_else(|| "Not possible now".into())))
}

/// Most log entries shown (the newest).
const LOG_LIMIT: u64 = 200;

/// A product as a link (`slug`, name).
type ProductLink = (String, String);

/// A plan problem as the page lists it.
struct PlanErrorRow {
    line: Option<usize>,
    path: Option<String>,
    message: String,
}

fn error_rows(errors: &[PlanError]) -> Vec<PlanErrorRow> {
    errors.iter().map(|e| PlanErrorRow { line: e.line, path: e.path.clone(), message: e.message.clone() }).collect()
}

/// One line of a failed plan's source, numbered as the errors count.
struct SourceLine {
    number: usize,
    text: String,
    bad: bool,
}

fn source_lines(plan: &str, errors: &[PlanError]) -> Vec<SourceLine> {
    plan.lines()
        .enumerate()
        .map(|(i, text)| SourceLine {
            number: i + 1,
            bad: errors.iter().any(|e| e.line == Some(i + 1)),
            text: text.to_string(),
        })
        .collect()
}

/// A task of the plan preview.
struct TaskPreview {
    title: String,
    priority: i32,
    verify: Option<String>,
    verify_only: bool,
}

/// A story of the plan preview.
struct StoryPreview {
    title: String,
    priority: i32,
    criteria_html: Option<String>,
    tasks: Vec<TaskPreview>,
}

/// What materializing the plan would create, as the page previews it.
struct PlanPreview {
    sprint_goal: Option<String>,
    pbi_title: String,
    pbi_priority: i32,
    pbi_html: Option<String>,
    stories: Vec<StoryPreview>,
    task_count: usize,
    body_html: Option<String>,
}

fn preview(plan: Plan) -> PlanPreview {
    PlanPreview {
        task_count: plan.task_count(),
        sprint_goal: plan.sprint.map(|s| s.goal),
        pbi_title: plan.pbi.title,
        pbi_priority: plan.pbi.priority,
        pbi_html: plan.pbi.description.as_deref().map(markdown::render),
        stories: plan
            .stories
            .into_iter()
            .map(|s| StoryPreview {
                title: s.title,
                priority: s.priority,
                criteria_html: s.acceptance_criteria.as_deref().map(markdown::render),
                tasks: s
                    .tasks
                    .into_iter()
                    .map(|t| TaskPreview {
                        title: t.title,
                        priority: t.priority,
                        verify: t.verify_required.map(|v| status_label(&v.as_api())),
                        verify_only: t.verify_only,
                    })
                    .collect(),
            })
            .collect(),
        body_html: Some(plan.body).filter(|b| !b.trim().is_empty()).map(|b| markdown::render(&b)),
    }
}

/// An idea log entry as the page shows it.
struct LogRow {
    kind: String,
    kind_label: String,
    html: String,
    errors: Vec<String>,
    at: String,
}

fn log_rows(logs: Vec<IdeaLogView>) -> Vec<LogRow> {
    logs.into_iter()
        .rev()
        .map(|l| {
            let kind = l.kind.as_api();
            // A plan that did not parse logs its errors in the metadata.
            let errors = l
                .metadata
                .as_ref()
                .and_then(|m| m.get("errors"))
                .and_then(|e| serde_json::from_value::<Vec<PlanError>>(e.clone()).ok())
                .unwrap_or_default()
                .iter()
                .map(ToString::to_string)
                .collect();
            LogRow {
                kind_label: status_label(&kind),
                html: markdown::render(&l.content),
                at: fmt_time(l.created_at),
                errors,
                kind,
            }
        })
        .collect()
}

/// Which form a re-rendered page answers, with the values it sent.
#[derive(Default)]
struct Posted {
    /// `update`, `grill`, `plan`, `log`, `archive` or `action`.
    form: &'static str,
    errors: FormErrors,
    /// The text typed into the grill, plan or log form.
    text: Option<String>,
}

#[derive(Template, WebTemplate)]
#[template(path = "ideas/show.html")]
struct IdeaPage {
    layout: Layout,
    idea: IdeaView,
    status: String,
    status_label: String,
    product: Option<ProductLink>,
    secondaries: Vec<ProductLink>,
    pbi: Option<(String, String)>,
    build_sprint: Option<(String, String)>,
    description_html: Option<String>,
    grill_html: Option<String>,
    plan: Option<PlanPreview>,
    plan_errors: Vec<PlanErrorRow>,
    plan_source: Vec<SourceLine>,
    grill_text: String,
    plan_text: String,
    log_text: String,
    /// Products the idea can be for: (id, name, selected as product, checked as secondary).
    product_choices: Vec<(String, String, bool, bool)>,
    logs: Vec<LogRow>,
    log_total: u64,
    jobs: Vec<JobRow>,
    questions: Vec<QuestionRow>,
    /// Grill, Make plan and Review plan.
    dispatches: Vec<ActionButton>,
    /// Why Materialize is disabled, if it is.
    materialize_block: Option<String>,
    /// Why nothing can be written (demo).
    write_block: Option<String>,
    /// Why the idea cannot be changed (demo, archived).
    edit_block: Option<String>,
    grill_block: Option<String>,
    plan_block: Option<String>,
    form: &'static str,
    errors: FormErrors,
}

impl IdeaPage {
    /// The errors of `form` (empty for the other forms of the page).
    fn errors_of(&self, form: &str) -> FormErrors {
        if self.form == form { self.errors.clone() } else { FormErrors::none() }
    }
}

/// Why the grill or plan cannot be written now, if it cannot: the page-wide
/// reason, no product, or a status the service refuses.
fn document_block(edit: &Option<String>, idea: &IdeaView, writable: bool, allowed_in: &[IdeaStatus]) -> Option<String> {
    if let Some(r) = edit {
        return Some(r.clone());
    }
    if idea.product_id.is_none() {
        return Some("Choose the idea's product first".into());
    }
    (!writable).then(|| {
        let allowed: Vec<String> = allowed_in.iter().map(|s| status_label(&s.as_api()).to_lowercase()).collect();
        format!(
            "The idea is {}; this can be written while it is {}",
            status_label(&idea.status.as_api()).to_lowercase(),
            allowed.join(", ")
        )
    })
}

/// The newest `LOG_LIMIT` log entries (the service lists oldest first) and the total.
async fn recent_logs(s: &AppState, actor: &Actor, id: &str) -> Result<(Vec<IdeaLogView>, u64), AppError> {
    let first = s.app.list_idea_logs(actor, id, PageParams { page: None, limit: Some(LOG_LIMIT) }).await?;
    if first.total <= LOG_LIMIT {
        return Ok((first.items, first.total));
    }
    let last = first.total.div_ceil(LOG_LIMIT);
    let page = s.app.list_idea_logs(actor, id, PageParams { page: Some(last), limit: Some(LOG_LIMIT) }).await?;
    Ok((page.items, first.total))
}

async fn render(
    s: &AppState,
    actor: &Actor,
    idea_ref: &str,
    status: StatusCode,
    posted: Posted,
) -> Result<Response, PageError> {
    let idea = s.app.get_idea(actor, idea_ref).await.or_page(actor)?;
    let products = my_products(s, actor).await.or_page(actor)?;
    let (logs, log_total) = recent_logs(s, actor, &idea.id).await.or_page(actor)?;
    let jobs = s.app.idea_jobs(actor, &idea.id).await.or_page(actor)?;
    let questions = s.app.idea_questions(actor, &idea.id).await.or_page(actor)?;
    let actions = s.app.idea_actions(actor, &idea.id).await.or_page(actor)?;
    let layout = Layout::new(s, actor, &format!("{} {}", idea.code, idea.title), "ideas").await.or_page(actor)?;
    let link = |p: &ProductView| (slug(p), p.name.clone());
    // A PBI or sprint deleted since is simply not linked.
    let pbi = match &idea.pbi_id {
        Some(id) => s.app.get_pbi(actor, id).await.ok().and_then(|b| {
            product_of(&products, Some(&b.product_id))
                .map(|p| (format!("/products/{}#pbi-{}", slug(p), b.code), format!("{} {}", b.code, b.title)))
        }),
        None => None,
    };
    let build_sprint = match &idea.build_sprint_id {
        Some(id) => s.app.get_sprint(actor, id).await.ok().and_then(|sp| {
            product_of(&products, Some(&sp.product_id)).map(|p| {
                (format!("/products/{}/board?sprint={}", slug(p), sp.code), format!("{} — {}", sp.code, sp.sprint_goal))
            })
        }),
        None => None,
    };
    let write_block = actor.is_demo.then(|| DEMO_REASON.to_string());
    let edit_block = write_block
        .clone()
        .or_else(|| idea.archived.then(|| format!("{} is archived: unarchive it to change it", idea.code)));
    let dispatches = vec![
        ActionButton {
            kind: "grill",
            label: "Grill",
            hint: "an agent asks you about scope, acceptance and risks",
            block: action_block(&write_block, &actions.grill),
        },
        ActionButton {
            kind: "make_plan",
            label: "Make plan",
            hint: "an agent turns the grill into a plan",
            block: action_block(&write_block, &actions.make_plan),
        },
        ActionButton {
            kind: "review_plan",
            label: "Review plan",
            hint: "a reviewing agent checks the plan",
            block: action_block(&write_block, &actions.review_plan),
        },
    ];
    let materialize_block = action_block(&write_block, &actions.materialize);
    let grill_block = document_block(&edit_block, &idea, grill_md_writable(idea.status), GRILL_MD_WRITABLE_IN);
    let plan_block =
        document_block(&edit_block, &idea, PLAN_MD_WRITABLE_IN.contains(&idea.status), PLAN_MD_WRITABLE_IN);
    let plan = match (&idea.plan_md, idea.plan_errors.is_empty()) {
        (Some(md), true) => parse_plan_md(md).ok().map(preview),
        _ => None,
    };
    let plan_source = match &idea.plan_md {
        Some(md) if !idea.plan_errors.is_empty() => source_lines(md, &idea.plan_errors),
        _ => vec![],
    };
    let mut product_choices: Vec<(String, String, bool, bool)> = products
        .iter()
        .filter(|p| (p.access != "read_only" && !p.archived) || idea.product_id.as_deref() == Some(p.id.as_str()))
        .map(|p| {
            let primary = idea.product_id.as_deref() == Some(p.id.as_str());
            (p.id.clone(), p.name.clone(), primary, idea.product_ids.contains(&p.id))
        })
        .collect();
    product_choices.sort_by(|a, b| a.1.cmp(&b.1));
    // The caller's own agent asks the idea's questions, and only the owner answers.
    let people = vec![Person { id: actor.user_id.clone(), username: actor.username.clone() }];
    let self_path = idea_path(&idea.code);
    let text_of = |form: &str, fallback: Option<&String>| match (posted.form == form, &posted.text) {
        (true, Some(t)) => t.clone(),
        _ => fallback.cloned().unwrap_or_default(),
    };
    let api_status = idea.status.as_api();
    let page = IdeaPage {
        layout,
        status_label: status_label(&api_status),
        status: api_status,
        product: product_of(&products, idea.product_id.as_deref()).map(link),
        secondaries: idea.product_ids.iter().filter_map(|id| product_of(&products, Some(id)).map(link)).collect(),
        pbi,
        build_sprint,
        description_html: idea.description.as_deref().map(markdown::render),
        grill_html: idea.grill_md.as_deref().filter(|g| !g.trim().is_empty()).map(markdown::render),
        plan,
        plan_errors: error_rows(&idea.plan_errors),
        plan_source,
        grill_text: text_of("grill", idea.grill_md.as_ref()),
        plan_text: text_of("plan", idea.plan_md.as_ref()),
        log_text: text_of("log", None),
        product_choices,
        logs: log_rows(logs),
        log_total,
        jobs: job_rows(jobs, &HashMap::new()),
        questions: question_rows(questions, &people, &self_path, &write_block),
        dispatches,
        materialize_block,
        write_block,
        edit_block,
        grill_block,
        plan_block,
        form: posted.form,
        errors: posted.errors,
        idea,
    };
    Ok((status, page).into_response())
}

async fn show(
    State(s): State<AppState>,
    PageUser(actor): PageUser,
    Path(idea): Path<String>,
) -> Result<Response, PageError> {
    render(&s, &actor, &idea, StatusCode::OK, Posted::default()).await
}

/// After a form: back to the idea's page (303), or the page again with the
/// refusal next to the form (404 stays the one not-found page).
async fn answer<T>(
    s: &AppState,
    actor: &Actor,
    idea: &str,
    form: &'static str,
    text: Option<String>,
    done: Result<T, AppError>,
    path_of: impl FnOnce(&T) -> String,
) -> Result<Response, PageError> {
    match done {
        Ok(v) => Ok(Redirect::to(&path_of(&v)).into_response()),
        Err(e @ AppError::NotFound(_)) => Err(PageError::new(actor, e)),
        Err(e) => render(s, actor, idea, form_status(&e), Posted { form, errors: FormErrors::from(&e), text }).await,
    }
}

/// `POST /ideas/{code}/update`: title, description, product and secondary
/// products. Read as pairs because the secondary products are checkboxes
/// sharing one name; `product_ids_shown` says the checkboxes were on the
/// form, so none ticked clears them.
async fn update(
    State(s): State<AppState>,
    PageUser(actor): PageUser,
    Path(idea): Path<String>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let one = |name: &str| fields.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    let secondaries: Vec<String> =
        fields.iter().filter(|(k, v)| k == "product_ids" && !v.trim().is_empty()).map(|(_, v)| v.clone()).collect();
    let patch = IdeaPatch {
        title: one("title").map(str::to_string),
        description: patch_text(one("description")),
        product_id: one("product_id").map(|p| Some(p.trim().to_string()).filter(|p| !p.is_empty())),
        product_ids: one("product_ids_shown").map(|_| secondaries),
        archived: None,
    };
    let done = s.app.update_idea(&actor, &idea, patch).await;
    answer(&s, &actor, &idea, "update", None, done, |v| idea_path(&v.code)).await
}

async fn set_archived(s: &AppState, actor: &Actor, idea: &str, archived: bool) -> Result<Response, PageError> {
    let patch = IdeaPatch { archived: Some(archived), ..Default::default() };
    let done = s.app.update_idea(actor, idea, patch).await;
    answer(s, actor, idea, "archive", None, done, |v| idea_path(&v.code)).await
}

/// `POST /ideas/{code}/archive`: the idea becomes read-only and leaves the list.
async fn archive(
    State(s): State<AppState>,
    PageUser(actor): PageUser,
    Path(idea): Path<String>,
) -> Result<Response, PageError> {
    set_archived(&s, &actor, &idea, true).await
}

/// `POST /ideas/{code}/unarchive`.
async fn unarchive(
    State(s): State<AppState>,
    PageUser(actor): PageUser,
    Path(idea): Path<String>,
) -> Result<Response, PageError> {
    set_archived(&s, &actor, &idea, false).await
}

/// A markdown document posted from a textarea.
#[derive(Deserialize)]
struct MarkdownForm {
    #[serde(default)]
    markdown: String,
}

/// `POST /ideas/{code}/grill`: the owner writes or fixes the grill by hand.
async fn grill(
    State(s): State<AppState>,
    PageUser(actor): PageUser,
    Path(idea): Path<String>,
    Form(f): Form<MarkdownForm>,
) -> Result<Response, PageError> {
    let text = unix_text(&f.markdown);
    let done = s.app.update_idea_grill_md(&actor, &idea, text.clone()).await;
    answer(&s, &actor, &idea, "grill", Some(text), done, |v| idea_path(&v.code)).await
}

/// `POST /ideas/{code}/plan`: the owner writes or fixes the plan by hand. A
/// plan that does not parse is stored (plan_failed) and the page lists its
/// errors; only hostile input (too big, a YAML bomb) is refused here.
async fn plan(
    State(s): State<AppState>,
    PageUser(actor): PageUser,
    Path(idea): Path<String>,
    Form(f): Form<MarkdownForm>,
) -> Result<Response, PageError> {
    let text = unix_text(&f.markdown);
    let done = s.app.update_idea_plan_md(&actor, &idea, text.clone()).await;
    answer(&s, &actor, &idea, "plan", Some(text), done, |v| format!("{}#plan", idea_path(&v.idea.code))).await
}

/// The decision/note form.
#[derive(Deserialize)]
struct LogForm {
    #[serde(default, rename = "type")]
    kind: String,
    #[serde(default)]
    content: String,
}

/// `POST /ideas/{code}/logs`: a decision or a note in the idea's log.
async fn add_log(
    State(s): State<AppState>,
    PageUser(actor): PageUser,
    Path(idea): Path<String>,
    Form(f): Form<LogForm>,
) -> Result<Response, PageError> {
    let kind = match f.kind.trim() {
        "note" => Some(NoteType::Note),
        "" | "decision" => Some(NoteType::Decision),
        _ => {
            let e = AppError::field("type", "must be decision or note");
            return render(
                &s,
                &actor,
                &idea,
                form_status(&e),
                Posted { form: "log", errors: FormErrors::from(&e), text: Some(f.content) },
            )
            .await;
        }
    };
    let text = unix_text(&f.content);
    let input = NewIdeaLog { kind, content: text.clone(), metadata: None };
    let done = s.app.log_idea_decision(&actor, &idea, input).await;
    let path = idea_path(&idea);
    answer(&s, &actor, &idea, "log", Some(text), done, |_| format!("{path}#logs")).await
}

/// The dispatch form: which job.
#[derive(Deserialize)]
struct DispatchForm {
    #[serde(default)]
    kind: String,
}

/// `POST /ideas/{code}/jobs`: queues a grill, make-plan or review-plan job
/// for the idea (guards of §7.1); the job shows up in the page's jobs.
async fn dispatch(
    State(s): State<AppState>,
    PageUser(actor): PageUser,
    Path(idea): Path<String>,
    Form(f): Form<DispatchForm>,
) -> Result<Response, PageError> {
    let kind = match f.kind.trim() {
        "grill" => Ok(DispatchKind::Grill),
        "make_plan" => Ok(DispatchKind::MakePlan),
        "review_plan" => Ok(DispatchKind::ReviewPlan),
        _ => Err(AppError::field("kind", "must be grill, make_plan or review_plan")),
    };
    let done = match kind {
        Ok(k) => s.app.dispatch_idea_job(&actor, &idea, k.into(), None).await,
        Err(e) => Err(e),
    };
    let path = idea_path(&idea);
    answer(&s, &actor, &idea, "action", None, done, |_| path).await
}

/// The materialize form: two checkboxes.
#[derive(Deserialize)]
struct MaterializeForm {
    #[serde(default)]
    build_sprint: Option<String>,
    #[serde(default)]
    allow_alongside: Option<String>,
}

/// `POST /ideas/{code}/materialize`: turns the plan into a PBI with its
/// stories and tasks (optionally with a build sprint); the page then links
/// the new PBI in the backlog.
async fn materialize(
    State(s): State<AppState>,
    PageUser(actor): PageUser,
    Path(idea): Path<String>,
    Form(f): Form<MaterializeForm>,
) -> Result<Response, PageError> {
    let ticked = |v: &Option<String>| v.as_deref().is_some_and(|v| !v.is_empty());
    let input = MaterializeInput { build_sprint: ticked(&f.build_sprint), allow_alongside: ticked(&f.allow_alongside) };
    let done = s.app.materialize_idea(&actor, &idea, input).await;
    let path = idea_path(&idea);
    answer(&s, &actor, &idea, "action", None, done, |_| path).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_plans_number_their_lines_and_mark_the_bad_ones() {
        let errors = vec![PlanError { line: Some(2), path: None, message: "bad".into() }];
        let lines = source_lines("---\n  x: [\n---", &errors);
        assert_eq!(lines.len(), 3);
        assert_eq!((lines[1].number, lines[1].bad, lines[1].text.as_str()), (2, true, "  x: ["));
        assert!(!lines[0].bad && !lines[2].bad);
    }

    #[test]
    fn a_plan_previews_its_pbi_stories_and_tasks() {
        let md = "---\nsprint:\n  goal: Ship\npbi:\n  title: Export\n  priority: 2\nstories:\n  - title: Button\n    priority: 2\n    tasks:\n      - title: Route\n        implementation_plan: add it\n        priority: 3\n        verify_only: true\n---\n\n# Why\n";
        let p = preview(parse_plan_md(md).expect("parses"));
        assert_eq!((p.pbi_title.as_str(), p.pbi_priority, p.task_count), ("Export", 2, 1));
        assert_eq!(p.sprint_goal.as_deref(), Some("Ship"));
        assert_eq!(p.stories[0].tasks[0].title, "Route");
        assert!(p.stories[0].tasks[0].verify_only);
        assert!(p.body_html.as_deref().is_some_and(|h| h.contains("<h1>Why</h1>")), "{:?}", p.body_html);
    }
}
