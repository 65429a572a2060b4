//! The edit forms of a story and a task (their detail pages, and the
//! solo board's "Take"): `POST /products/{code}/stories/{ST}/update`,
//! `POST /products/{code}/tasks/{T}/update` and the plan alone,
//! `POST /products/{code}/tasks/{T}/plan`.
//!
//! Each takes the fields of `StoryPatch` / `TaskPatch` as a form: a field
//! left out stays as it is, an empty text field clears it (title excepted:
//! the service refuses a blank title). After a change the browser goes to
//! `return_to` (a local path) or the item's page; a refusal re-renders the
//! item's page with each message next to its field and the typed values
//! kept.

use axum::{
    Form, Router,
    extract::{Path, State},
    response::{IntoResponse, Redirect, Response},
    routing::post,
};
use baton_app::{
    Actor, AppError,
    backlog::{
        stories::{StoryPatch, StoryView},
        tasks::{TaskPatch, TaskView},
    },
};
use baton_domain::{
    ValidationErrors,
    backlog::{StoryStatus, TaskStatus, VerifyRequired},
};
use serde::Deserialize;

use super::{
    layout::{FormErrors, OrPage, PageError, PageUser, form_status, local_path, patch_text, slug, unix_text},
    stories::render_story,
    tasks::{TaskExtras, render_task},
};
use crate::AppState;

/// The routes of this module.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/products/{code}/stories/{story}/update", post(story_update))
        .route("/products/{code}/tasks/{task}/update", post(task_update))
        .route("/products/{code}/tasks/{task}/plan", post(task_plan))
}

/// A 1–4 priority field: absent or blank = unchanged.
fn priority(errs: &mut ValidationErrors, v: &Option<String>) -> Option<i32> {
    let v = v.as_deref().map(str::trim).filter(|s| !s.is_empty())?;
    match v.parse::<i32>() {
        Ok(n) if (1..=4).contains(&n) => Some(n),
        _ => {
            errs.add("priority", "must be a number from 1 (critical) to 4 (nice to have)");
            None
        }
    }
}

/// A yes/no select: absent = unchanged.
fn flag(errs: &mut ValidationErrors, field: &str, v: &Option<String>) -> Option<bool> {
    match v.as_deref().map(str::trim)? {
        "true" | "on" | "yes" => Some(true),
        "false" | "off" | "no" => Some(false),
        _ => {
            errs.add(field, "must be yes or no");
            None
        }
    }
}

/// An enum select: absent or blank = unchanged.
fn choice<T>(
    errs: &mut ValidationErrors,
    field: &str,
    v: &Option<String>,
    parse: fn(&str) -> Option<T>,
    allowed: &str,
) -> Option<T> {
    let v = v.as_deref().map(str::trim).filter(|s| !s.is_empty())?;
    let parsed = parse(v);
    if parsed.is_none() {
        errs.add(field, format!("must be one of {allowed}"));
    }
    parsed
}

/// The story edit form as posted.
#[derive(Debug, Default, Deserialize)]
pub(super) struct StoryForm {
    title: Option<String>,
    description: Option<String>,
    acceptance_criteria: Option<String>,
    priority: Option<String>,
    assignee_id: Option<String>,
    pbi_id: Option<String>,
    status: Option<String>,
    return_to: Option<String>,
}

impl StoryForm {
    fn patch(&self) -> Result<StoryPatch, AppError> {
        let mut errs = ValidationErrors::new();
        let patch = StoryPatch {
            title: self.title.as_deref().map(unix_text),
            description: patch_text(self.description.as_deref()),
            acceptance_criteria: patch_text(self.acceptance_criteria.as_deref()),
            priority: priority(&mut errs, &self.priority),
            pbi_id: self.pbi_id.clone().filter(|p| !p.trim().is_empty()),
            assignee_id: self.assignee_id.as_ref().map(|a| Some(a.trim().to_string()).filter(|a| !a.is_empty())),
            status: choice(&mut errs, "status", &self.status, StoryStatus::parse_api, &StoryStatus::api_values()),
        };
        errs.into_result()?;
        Ok(patch)
    }
}

/// The values the story edit form shows.
#[derive(Debug, Clone, Default)]
pub struct StoryEdit {
    title: String,
    description: String,
    acceptance_criteria: String,
    priority: String,
    assignee_id: String,
}

impl StoryEdit {
    /// The story's current values.
    pub fn of(s: &StoryView) -> StoryEdit {
        StoryEdit {
            title: s.title.clone(),
            description: s.description.clone().unwrap_or_default(),
            acceptance_criteria: s.acceptance_criteria.clone().unwrap_or_default(),
            priority: s.priority.to_string(),
            assignee_id: s.assignee_id.clone().unwrap_or_default(),
        }
    }

    /// What was typed, over the story's values for fields not posted.
    fn typed(f: &StoryForm, s: &StoryView) -> StoryEdit {
        let cur = StoryEdit::of(s);
        StoryEdit {
            title: f.title.clone().unwrap_or(cur.title),
            description: f.description.clone().unwrap_or(cur.description),
            acceptance_criteria: f.acceptance_criteria.clone().unwrap_or(cur.acceptance_criteria),
            priority: f.priority.clone().unwrap_or(cur.priority),
            assignee_id: f.assignee_id.clone().unwrap_or(cur.assignee_id),
        }
    }

    /// The value of a field (templates: `edit.value("title")`).
    pub fn value(&self, field: &str) -> &str {
        match field {
            "title" => &self.title,
            "description" => &self.description,
            "acceptance_criteria" => &self.acceptance_criteria,
            "priority" => &self.priority,
            "assignee_id" => &self.assignee_id,
            _ => "",
        }
    }
}

/// The task edit form (and the plan form) as posted.
#[derive(Debug, Default, Deserialize)]
pub(super) struct TaskForm {
    title: Option<String>,
    description: Option<String>,
    implementation_plan: Option<String>,
    priority: Option<String>,
    status: Option<String>,
    verify_only: Option<String>,
    verify_required: Option<String>,
    requires_opus: Option<String>,
    repo_url: Option<String>,
    story_id: Option<String>,
    return_to: Option<String>,
}

impl TaskForm {
    fn patch(&self) -> Result<TaskPatch, AppError> {
        let mut errs = ValidationErrors::new();
        let patch = TaskPatch {
            title: self.title.as_deref().map(unix_text),
            description: patch_text(self.description.as_deref()),
            implementation_plan: patch_text(self.implementation_plan.as_deref()),
            priority: priority(&mut errs, &self.priority),
            status: choice(&mut errs, "status", &self.status, TaskStatus::parse_api, &TaskStatus::api_values()),
            sprint_run_id: None,
            story_id: self.story_id.clone().filter(|p| !p.trim().is_empty()),
            verify_only: flag(&mut errs, "verify_only", &self.verify_only),
            verify_required: choice(
                &mut errs,
                "verify_required",
                &self.verify_required,
                VerifyRequired::parse_api,
                &VerifyRequired::api_values(),
            ),
            requires_opus: flag(&mut errs, "requires_opus", &self.requires_opus),
            repo_url: self.repo_url.as_ref().map(|u| Some(u.trim().to_string()).filter(|u| !u.is_empty())),
        };
        errs.into_result()?;
        Ok(patch)
    }
}

/// The values the task edit and plan forms show.
#[derive(Debug, Clone, Default)]
pub struct TaskEdit {
    title: String,
    description: String,
    implementation_plan: String,
    priority: String,
    status: String,
    verify_only: String,
    verify_required: String,
    requires_opus: String,
    repo_url: String,
}

impl TaskEdit {
    /// The task's current values.
    pub fn of(t: &TaskView) -> TaskEdit {
        TaskEdit {
            title: t.title.clone(),
            description: t.description.clone().unwrap_or_default(),
            implementation_plan: t.implementation_plan.clone().unwrap_or_default(),
            priority: t.priority.to_string(),
            status: t.status.as_api(),
            verify_only: t.verify_only.to_string(),
            verify_required: t.verify_required.as_api(),
            requires_opus: t.requires_opus.to_string(),
            repo_url: t.repo_url.clone().unwrap_or_default(),
        }
    }

    /// What was typed, over the task's values for fields not posted.
    fn typed(f: &TaskForm, t: &TaskView) -> TaskEdit {
        let cur = TaskEdit::of(t);
        let pick = |v: &Option<String>, c: String| v.clone().unwrap_or(c);
        TaskEdit {
            title: pick(&f.title, cur.title),
            description: pick(&f.description, cur.description),
            implementation_plan: pick(&f.implementation_plan, cur.implementation_plan),
            priority: pick(&f.priority, cur.priority),
            status: pick(&f.status, cur.status),
            verify_only: pick(&f.verify_only, cur.verify_only),
            verify_required: pick(&f.verify_required, cur.verify_required),
            requires_opus: pick(&f.requires_opus, cur.requires_opus),
            repo_url: pick(&f.repo_url, cur.repo_url),
        }
    }

    /// The value of a field (templates: `edit.value("title")`).
    pub fn value(&self, field: &str) -> &str {
        match field {
            "title" => &self.title,
            "description" => &self.description,
            "implementation_plan" => &self.implementation_plan,
            "priority" => &self.priority,
            "status" => &self.status,
            "verify_only" => &self.verify_only,
            "verify_required" => &self.verify_required,
            "requires_opus" => &self.requires_opus,
            "repo_url" => &self.repo_url,
            _ => "",
        }
    }
}

/// Where a form goes back to: its `return_to` when local, else the item page.
fn back_to(return_to: &Option<String>, fallback: &str) -> String {
    local_path(return_to.as_deref(), fallback).to_string()
}

/// The item of a story or task route: its product's id, the item, and
/// where the form goes back to. Unknown products and codes are the 404 page.
struct Target<T> {
    product_id: String,
    item: T,
    back: String,
}

async fn story_target(
    s: &AppState,
    actor: &Actor,
    code: &str,
    story: &str,
    return_to: &Option<String>,
) -> Result<Target<StoryView>, PageError> {
    let product = s.app.get_product(actor, code).await.or_page(actor)?;
    let item = s.app.product_story(actor, &product.id, story).await.or_page(actor)?;
    let back = back_to(return_to, &format!("/products/{}/stories/{}", slug(&product), item.code));
    Ok(Target { product_id: product.id, item, back })
}

async fn task_target(
    s: &AppState,
    actor: &Actor,
    code: &str,
    task: &str,
    return_to: &Option<String>,
) -> Result<Target<TaskView>, PageError> {
    let product = s.app.get_product(actor, code).await.or_page(actor)?;
    let item = s.app.product_task(actor, &product.id, task).await.or_page(actor)?;
    let back = back_to(return_to, &format!("/products/{}/tasks/{}", slug(&product), item.code));
    Ok(Target { product_id: product.id, item, back })
}

/// A refusal worth re-rendering the form for, or the 404 page when the
/// item vanished meanwhile (that is a page of its own, not a form error).
fn refusal(actor: &Actor, e: AppError) -> Result<AppError, PageError> {
    match e {
        AppError::NotFound(_) => Err(PageError::new(actor, e)),
        e => Ok(e),
    }
}

async fn story_update(
    State(s): State<AppState>,
    PageUser(actor): PageUser,
    Path((code, story)): Path<(String, String)>,
    Form(f): Form<StoryForm>,
) -> Result<Response, PageError> {
    let Target { product_id, item: st, back } = story_target(&s, &actor, &code, &story, &f.return_to).await?;
    let result = async { s.app.update_story(&actor, &st.id, f.patch()?).await }.await;
    match result {
        Ok(_) => Ok(Redirect::to(&back).into_response()),
        Err(e) => {
            let e = refusal(&actor, e)?;
            let edit = Some(StoryEdit::typed(&f, &st));
            render_story(&s, &actor, &product_id, &st.id, form_status(&e), FormErrors::from(&e), edit).await
        }
    }
}

async fn task_update(
    State(s): State<AppState>,
    PageUser(actor): PageUser,
    Path((code, task)): Path<(String, String)>,
    Form(f): Form<TaskForm>,
) -> Result<Response, PageError> {
    let target = task_target(&s, &actor, &code, &task, &f.return_to).await?;
    let result = async { s.app.update_task(&actor, &target.item.id, f.patch()?).await.map(|_| ()) }.await;
    task_answer(&s, &actor, target, &f, result).await
}

async fn task_plan(
    State(s): State<AppState>,
    PageUser(actor): PageUser,
    Path((code, task)): Path<(String, String)>,
    Form(f): Form<TaskForm>,
) -> Result<Response, PageError> {
    let target = task_target(&s, &actor, &code, &task, &f.return_to).await?;
    let plan = patch_text(f.implementation_plan.as_deref()).flatten();
    let result = s.app.update_task_plan(&actor, &target.item.id, plan).await.map(|_| ());
    task_answer(&s, &actor, target, &f, result).await
}

/// 303 after a change; the task page with the messages after a refusal.
async fn task_answer(
    s: &AppState,
    actor: &Actor,
    target: Target<TaskView>,
    f: &TaskForm,
    result: Result<(), AppError>,
) -> Result<Response, PageError> {
    match result {
        Ok(()) => Ok(Redirect::to(&target.back).into_response()),
        Err(e) => {
            let e = refusal(actor, e)?;
            let t = &target.item;
            let extras =
                TaskExtras { errors: FormErrors::from(&e), edit: Some(TaskEdit::typed(f, t)), ..Default::default() };
            render_task(s, actor, &target.product_id, &t.id, form_status(&e), extras).await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blank_text_clears_and_absent_text_stays() {
        let f = StoryForm { description: Some("  ".into()), ..Default::default() };
        let p = f.patch().expect("valid");
        assert_eq!(p.description, Some(None));
        assert_eq!(p.acceptance_criteria, None);
        assert_eq!(p.title, None);
    }

    #[test]
    fn bad_selects_name_their_field() {
        let f = TaskForm {
            priority: Some("9".into()),
            status: Some("nope".into()),
            verify_only: Some("maybe".into()),
            ..Default::default()
        };
        let e = FormErrors::from(&f.patch().expect_err("invalid"));
        assert!(e.field("priority").is_some() && e.field("status").is_some() && e.field("verify_only").is_some());
    }

    #[test]
    fn line_breaks_are_unix() {
        let f = TaskForm { implementation_plan: Some("a\r\nb".into()), ..Default::default() };
        assert_eq!(f.patch().expect("valid").implementation_plan, Some(Some("a\nb".into())));
    }
}
