//! `/products/{code}/sprints`: a product's sprints with status, dates and
//! progress; create, edit, close (unfinished stories back to the backlog or
//! on to another open sprint), archive, delete, and start a sprint run.
//! Also what the sprint pages share: the product context with the reason
//! write controls are disabled, form state, labels.

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
    backlog::MoveTo,
    products::ProductView,
    sprint_runs::StartSprintRun,
    sprints::{CloseSprint, NewSprint, SprintPatch, SprintProgress, SprintView},
};
use chrono::NaiveDate;
use serde::Deserialize;

use super::layout::{self, FormErrors, Layout, OrPage, PageError, PageUser, form_status, local_path};
use crate::AppState;

/// The routes of this module.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/products/{code}/sprints", get(index).post(create))
        .route("/products/{code}/sprints/{sprint}", post(update))
        .route("/products/{code}/sprints/{sprint}/close", post(close))
        .route("/products/{code}/sprints/{sprint}/archive", post(archive))
        .route("/products/{code}/sprints/{sprint}/delete", post(delete))
        .route("/products/{code}/sprints/{sprint}/runs", post(start_run))
}

/// The product a sprint page is about, and why the caller may not change it.
pub(super) struct ProductCtx {
    /// The product.
    pub product: ProductView,
    /// Its URL segment.
    pub slug: String,
    /// Why write controls are disabled (`None`: the caller may write).
    pub blocked: Option<String>,
}

impl ProductCtx {
    /// Loads the product (404 for unknown or invisible ones).
    pub async fn load(s: &AppState, actor: &Actor, code: &str) -> Result<ProductCtx, PageError> {
        let product = s.app.get_product(actor, code).await.or_page(actor)?;
        let blocked = if actor.is_demo {
            Some("Demo accounts are read-only".to_string())
        } else if product.access == "read_only" {
            Some("Read-only member".to_string())
        } else if product.archived {
            Some("The product is archived".to_string())
        } else {
            None
        };
        Ok(ProductCtx { slug: layout::slug(&product), product, blocked })
    }

    /// The page layout for this product.
    pub async fn layout(
        &self,
        s: &AppState,
        actor: &Actor,
        title: &str,
        section: &'static str,
    ) -> Result<Layout, PageError> {
        Layout::for_product(s, actor, title, section, &self.product).await.or_page(actor)
    }
}

/// A form that failed: which one, its messages and what was typed.
#[derive(Debug, Clone, Default)]
pub(super) struct Failed {
    /// The form's key (`new`, `edit-SP-1`, `close-SP-1`, `move-ST-001` …).
    pub form: String,
    /// Its messages.
    pub errors: FormErrors,
    /// What was typed, by field.
    pub values: HashMap<String, String>,
}

impl Failed {
    /// A failure of `form` with the service's error; `PRE_FLIGHT_BLOCKED`
    /// refusals are split into one line per blocker.
    pub fn new(form: impl Into<String>, e: &AppError, values: &[(&str, &str)]) -> Failed {
        let mut errors = FormErrors::from(e);
        errors.general = errors.general.iter().flat_map(|m| split_blockers(m)).collect();
        Failed {
            form: form.into(),
            errors,
            values: values.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        }
    }

    /// A refused drag-and-drop move of `item` (board, planning): shown above
    /// the columns, so every message — a field's too, named — becomes a
    /// line saying what was not moved.
    pub fn not_moved(item: &str, e: &AppError, value: (&str, &str)) -> Failed {
        let mut failed = Failed::new(format!("move-{item}"), e, &[value]);
        let fields: Vec<String> = failed.errors.fields.drain(..).map(|(k, m)| format!("{k}: {m}")).collect();
        failed.errors.general.extend(fields);
        failed.errors.general = failed.errors.general.iter().map(|m| format!("{item} was not moved: {m}")).collect();
        failed
    }
}

/// Where a drop puts an item: just before (`before`) or just after the
/// neighbour `other_id`.
pub(super) fn beside(other_id: String, before: bool) -> MoveTo {
    if before {
        MoveTo { before_id: Some(other_id), ..Default::default() }
    } else {
        MoveTo { after_id: Some(other_id), ..Default::default() }
    }
}

/// Splits `PRE_FLIGHT_BLOCKED: a; b` into a heading and one line per blocker.
fn split_blockers(m: &str) -> Vec<String> {
    match m.split_once("PRE_FLIGHT_BLOCKED:") {
        Some((_, rest)) => std::iter::once("The sprint run cannot start; blockers:".to_string())
            .chain(rest.split("; ").map(|b| b.trim().to_string()).filter(|b| !b.is_empty()))
            .collect(),
        None => vec![m.to_string()],
    }
}

/// The form state a template reads: errors and values of the failed form
/// when `key` is that form, else nothing.
pub(super) struct FormView<'a> {
    failed: Option<&'a Failed>,
    none: FormErrors,
}

impl<'a> FormView<'a> {
    /// Wraps the page's failed form.
    pub fn new(failed: Option<&'a Failed>) -> FormView<'a> {
        FormView { failed, none: FormErrors::none() }
    }

    fn is(&self, prefix: &str, code: &str) -> Option<&'a Failed> {
        self.failed.filter(|f| {
            if code.is_empty() {
                f.form == prefix
            } else {
                f.form.strip_prefix(prefix).and_then(|r| r.strip_prefix('-')) == Some(code)
            }
        })
    }

    /// The errors of form `prefix-code` (`code` empty: form `prefix`);
    /// empty for other forms.
    pub fn errors(&self, prefix: &str, code: &str) -> &FormErrors {
        self.is(prefix, code).map_or(&self.none, |f| &f.errors)
    }

    /// What was typed into `field` of form `prefix-code`, else `default`.
    pub fn value(&self, prefix: &str, code: &str, field: &str, default: &str) -> String {
        match self.is(prefix, code) {
            Some(f) => f.values.get(field).cloned().unwrap_or_default(),
            None => default.to_string(),
        }
    }
}

/// A date field: empty is `None`; anything else must be `YYYY-MM-DD`.
pub(super) fn parse_date(field: &str, v: &str) -> Result<Option<NaiveDate>, AppError> {
    let v = v.trim();
    if v.is_empty() {
        return Ok(None);
    }
    NaiveDate::parse_from_str(v, "%Y-%m-%d")
        .map(Some)
        .map_err(|_| AppError::field(field, "must be a date (YYYY-MM-DD)"))
}

/// Human words for a lowercase status (`in_progress` → `In progress`).
pub(super) fn label(status: &str) -> String {
    super::tasks::status_label(status)
}

/// A date, or a dash.
pub(super) fn day(d: Option<NaiveDate>) -> String {
    d.map(|d| d.to_string()).unwrap_or_else(|| "—".into())
}

/// `done` of `total` as a whole percentage.
pub(super) fn percent(done: u64, total: u64) -> u64 {
    (done * 100).checked_div(total).unwrap_or(0)
}

/// One row of the sprints table.
struct SprintRow {
    code: String,
    goal: String,
    status: String,
    start: String,
    end: String,
    start_value: String,
    end_value: String,
    stories: u64,
    stories_done: u64,
    tasks: u64,
    tasks_done: u64,
    percent: u64,
    open: bool,
    closed: bool,
    run_id: String,
    run_status: String,
    run_active: bool,
}

impl SprintRow {
    fn of(p: SprintProgress) -> SprintRow {
        let status = p.sprint.status.as_api();
        let run_active = p.latest_run.as_ref().is_some_and(|r| r.status.is_active());
        SprintRow {
            open: status == "open",
            closed: status == "closed",
            code: p.sprint.code,
            goal: p.sprint.sprint_goal,
            start: day(p.sprint.start_date),
            end: day(p.sprint.end_date),
            start_value: p.sprint.start_date.map(|d| d.to_string()).unwrap_or_default(),
            end_value: p.sprint.end_date.map(|d| d.to_string()).unwrap_or_default(),
            percent: percent(p.tasks_done, p.tasks),
            stories: p.stories,
            stories_done: p.stories_done,
            tasks: p.tasks,
            tasks_done: p.tasks_done,
            run_id: p.latest_run.as_ref().map(|r| r.id.clone()).unwrap_or_default(),
            run_status: p.latest_run.as_ref().map(|r| r.status.as_api()).unwrap_or_default(),
            run_active,
            status,
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "sprints/index.html")]
struct SprintsPage<'a> {
    layout: Layout,
    slug: String,
    blocked: Option<String>,
    sprints: Vec<SprintRow>,
    open_codes: Vec<String>,
    forms: FormView<'a>,
    errors: FormErrors,
    return_to: String,
}

/// Renders the sprints page, with a failed form when there is one.
async fn render(s: &AppState, actor: &Actor, code: &str, status: StatusCode, failed: Option<Failed>) -> Response {
    render_page(s, actor, code, status, failed.as_ref()).await.unwrap_or_else(IntoResponse::into_response)
}

async fn render_page(
    s: &AppState,
    actor: &Actor,
    code: &str,
    status: StatusCode,
    failed: Option<&Failed>,
) -> Result<Response, PageError> {
    let ctx = ProductCtx::load(s, actor, code).await?;
    let progress = s.app.sprint_progress(actor, &ctx.product.id).await.or_page(actor)?;
    let rows: Vec<SprintRow> = progress.into_iter().map(SprintRow::of).collect();
    let open_codes = rows.iter().filter(|r| r.open).map(|r| r.code.clone()).collect();
    let page = SprintsPage {
        layout: ctx.layout(s, actor, &format!("Sprints · {}", ctx.product.name), "sprints").await?,
        return_to: format!("/products/{}/sprints", ctx.slug),
        slug: ctx.slug,
        blocked: ctx.blocked,
        sprints: rows,
        open_codes,
        errors: failed.filter(|f| f.form == "page").map(|f| f.errors.clone()).unwrap_or_default(),
        forms: FormView::new(failed),
    };
    Ok((status, page).into_response())
}

async fn index(State(s): State<AppState>, PageUser(actor): PageUser, Path(code): Path<String>) -> Response {
    render(&s, &actor, &code, StatusCode::OK, None).await
}

/// The fields of the new-sprint form (also posted by sprint planning).
#[derive(Deserialize)]
pub(super) struct NewSprintForm {
    #[serde(default)]
    sprint_goal: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    start_date: String,
    #[serde(default)]
    end_date: String,
    #[serde(default)]
    return_to: Option<String>,
}

async fn create(
    State(s): State<AppState>,
    PageUser(actor): PageUser,
    Path(code): Path<String>,
    Form(f): Form<NewSprintForm>,
) -> Response {
    let fallback = format!("/products/{code}/sprints");
    let input = parse_date("start_date", &f.start_date).and_then(|start| {
        Ok(NewSprint {
            sprint_goal: f.sprint_goal.clone(),
            code: Some(f.code.trim().to_string()).filter(|c| !c.is_empty()),
            start_date: start,
            end_date: parse_date("end_date", &f.end_date)?,
        })
    });
    let result = async { s.app.create_sprint(&actor, &code, input?).await }.await;
    match result {
        Ok(_) => Redirect::to(local_path(f.return_to.as_deref(), &fallback)).into_response(),
        Err(e) => {
            let values = [
                ("sprint_goal", f.sprint_goal.as_str()),
                ("code", f.code.as_str()),
                ("start_date", f.start_date.as_str()),
                ("end_date", f.end_date.as_str()),
            ];
            let failed = Failed::new("new", &e, &values);
            let planning = format!("/products/{code}/planning");
            if f.return_to.as_deref() == Some(planning.as_str()) {
                return super::planning::render(&s, &actor, &code, form_status(&e), Some(failed)).await;
            }
            render(&s, &actor, &code, form_status(&e), Some(failed)).await
        }
    }
}

/// Resolves the sprint of the URL (404 page when it is not this product's).
async fn sprint_of(s: &AppState, actor: &Actor, code: &str, sprint: &str) -> Result<SprintView, PageError> {
    s.app.product_sprint(actor, code, sprint).await.or_page(actor)
}

#[derive(Deserialize)]
struct EditForm {
    #[serde(default)]
    sprint_goal: String,
    #[serde(default)]
    start_date: String,
    #[serde(default)]
    end_date: String,
}

async fn update(
    State(s): State<AppState>,
    PageUser(actor): PageUser,
    Path((code, sprint)): Path<(String, String)>,
    Form(f): Form<EditForm>,
) -> Result<Response, PageError> {
    let sp = sprint_of(&s, &actor, &code, &sprint).await?;
    let patch = parse_date("start_date", &f.start_date).and_then(|start| {
        Ok(SprintPatch {
            sprint_goal: Some(f.sprint_goal.clone()),
            start_date: Some(start),
            end_date: Some(parse_date("end_date", &f.end_date)?),
            status: None,
        })
    });
    let result = async { s.app.update_sprint(&actor, &sp.id, patch?).await.map(|_| ()) }.await;
    let values = [
        ("sprint_goal", f.sprint_goal.as_str()),
        ("start_date", f.start_date.as_str()),
        ("end_date", f.end_date.as_str()),
    ];
    Ok(finish(&s, &actor, &code, result, &format!("edit-{}", sp.code), &values).await)
}

/// 303 back to the sprints page, or the page again with the failed form.
async fn finish(
    s: &AppState,
    actor: &Actor,
    code: &str,
    result: Result<(), AppError>,
    form: &str,
    values: &[(&str, &str)],
) -> Response {
    match result {
        Ok(()) => Redirect::to(&format!("/products/{code}/sprints")).into_response(),
        Err(AppError::NotFound(w)) => PageError::new(actor, AppError::NotFound(w)).into_response(),
        Err(e) => {
            // Field errors go next to the form's fields; refusals (409, 403)
            // to the sprint's row, which shows whatever the state now is
            // (the close form is gone once the sprint is closed).
            let key = match (&e, form.split_once('-')) {
                (AppError::Validation(_), _) | (_, None) => form.to_string(),
                (_, Some((_, sprint))) => format!("row-{sprint}"),
            };
            render(s, actor, code, form_status(&e), Some(Failed::new(key, &e, values))).await
        }
    }
}

#[derive(Deserialize)]
struct CloseForm {
    #[serde(default)]
    move_unfinished_to: String,
}

async fn close(
    State(s): State<AppState>,
    PageUser(actor): PageUser,
    Path((code, sprint)): Path<(String, String)>,
    Form(f): Form<CloseForm>,
) -> Result<Response, PageError> {
    let sp = sprint_of(&s, &actor, &code, &sprint).await?;
    // The form names the target by code; the service takes an id, so
    // resolve it within this product (codes repeat across products).
    let target = f.move_unfinished_to.trim();
    let target = if target.is_empty() {
        Ok(None)
    } else {
        match s.app.product_sprint(&actor, &code, target).await {
            Ok(t) => Ok(Some(t.id)),
            Err(AppError::NotFound(_)) => {
                Err(AppError::field("move_unfinished_to", format!("no sprint {target} in this product")))
            }
            Err(e) => Err(e),
        }
    };
    let result =
        async { s.app.close_sprint(&actor, &sp.id, CloseSprint { move_unfinished_to: target? }).await.map(|_| ()) }
            .await;
    let values = [("move_unfinished_to", f.move_unfinished_to.as_str())];
    Ok(finish(&s, &actor, &code, result, &format!("close-{}", sp.code), &values).await)
}

async fn archive(
    State(s): State<AppState>,
    PageUser(actor): PageUser,
    Path((code, sprint)): Path<(String, String)>,
) -> Result<Response, PageError> {
    let sp = sprint_of(&s, &actor, &code, &sprint).await?;
    let result = s.app.archive_sprint(&actor, &sp.id).await.map(|_| ());
    Ok(finish(&s, &actor, &code, result, &format!("row-{}", sp.code), &[]).await)
}

async fn delete(
    State(s): State<AppState>,
    PageUser(actor): PageUser,
    Path((code, sprint)): Path<(String, String)>,
) -> Result<Response, PageError> {
    let sp = sprint_of(&s, &actor, &code, &sprint).await?;
    let result = s.app.delete_sprint(&actor, &sp.id).await;
    Ok(finish(&s, &actor, &code, result, &format!("row-{}", sp.code), &[]).await)
}

#[derive(Deserialize)]
struct StartForm {
    #[serde(default)]
    return_to: Option<String>,
}

async fn start_run(
    State(s): State<AppState>,
    PageUser(actor): PageUser,
    Path((code, sprint)): Path<(String, String)>,
    Form(f): Form<StartForm>,
) -> Result<Response, PageError> {
    let sp = sprint_of(&s, &actor, &code, &sprint).await?;
    Ok(match s.app.start_sprint_run(&actor, &sp.id, StartSprintRun::default()).await {
        Ok(d) => Redirect::to(&format!("/products/{code}/runs/{}", d.run.id)).into_response(),
        Err(AppError::NotFound(w)) => PageError::new(&actor, AppError::NotFound(w)).into_response(),
        Err(e) => {
            let failed = Failed::new(format!("run-{}", sp.code), &e, &[]);
            let board = format!("/products/{code}/board");
            if f.return_to.as_deref().is_some_and(|r| r.starts_with(&board)) {
                super::board::render(&s, &actor, &code, Some(&sp.code), form_status(&e), Some(failed)).await
            } else {
                render(&s, &actor, &code, form_status(&e), Some(failed)).await
            }
        }
    })
}
