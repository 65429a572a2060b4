//! `/projects`: the caller's marketplace projects (as client, member or
//! accepted expert — the same service as `GET /api/projects`, with its
//! status filter in the URL) and, for callers with the client role, the
//! create form (name, code, brief markdown) calling `create_project`.
//!
//! Also the helpers every client page shares: the project's URL, money in
//! display units, labels and the "why is this disabled" reason.
//!
//! Decisions:
//! - The create form is shown to callers holding the `client` role only;
//!   others see how to get the role (the service decides either way).
//! - A project's URL uses its code when it has one and the caller is its
//!   client or a member; readers (accepted experts, administrators) find
//!   projects by id only, so their links use the id.

use askama::Template;
use askama_web::WebTemplate;
use axum::{
    Form, Router,
    extract::{Query, State},
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
    routing::get,
};
use baton_app::{
    Actor, AppError,
    marketplace::projects::{NewProject, ProjectFilter, ProjectView},
};
use baton_domain::{
    marketplace::{Currency, ProjectStatus, money},
    roles::Role,
};
use serde::Deserialize;

use crate::{
    AppState,
    pages::layout::{
        DEMO_REASON, FormErrors, Layout, OrPage, PageError, PageUser, form_status, listed_or_filter_errors, unix_text,
        urlencode,
    },
};

/// The routes of this module.
pub fn router() -> Router<AppState> {
    Router::new().route("/projects", get(index).post(create))
}

/// Projects per page of the list.
const PER_PAGE: u64 = 50;

/// The URL segment of a project: its code for its client and members,
/// else (no code, or a reader such as an accepted expert, who finds
/// projects by id only) its id.
pub(super) fn project_slug(p: &ProjectView) -> String {
    match &p.code {
        Some(code) if p.access != "read" => code.clone(),
        _ => p.id.clone(),
    }
}

/// The dashboard URL of a project.
pub(super) fn project_path(p: &ProjectView) -> String {
    format!("/projects/{}", urlencode(&project_slug(p)))
}

/// An amount in minor units (hundredths) as display units: `150000` → `1500.00`.
pub(super) fn minor_display(minor: i64) -> String {
    money::format_display(u128::try_from(minor).unwrap_or_default(), 2)
}

/// A currency as people write it (`USDC`, `USDC-SPL`).
pub(super) fn currency_label(c: Currency) -> String {
    c.as_api().to_uppercase()
}

/// An API value as a label: `ready_for_review` → `Ready for review`.
pub(super) fn label(api: &str) -> String {
    let text = api.replace('_', " ");
    let mut c = text.chars();
    c.next().map(|f| f.to_uppercase().collect::<String>() + c.as_str()).unwrap_or_default()
}

/// Why the caller's write controls on a project are disabled: demo
/// accounts, and everyone who is not the project's client (members,
/// accepted experts and administrators only read).
pub(super) fn project_write_block(actor: &Actor, p: &ProjectView) -> Option<String> {
    if actor.is_demo {
        Some(DEMO_REASON.into())
    } else if p.access != "own" {
        Some("Only the project's client changes it; you can look at everything".into())
    } else {
        None
    }
}

/// One project in the list.
struct ProjectRow {
    path: String,
    slug: String,
    name: String,
    status: String,
    status_label: String,
    stage: String,
    role: &'static str,
}

fn row(p: ProjectView) -> ProjectRow {
    let status = p.status.as_api();
    ProjectRow {
        path: project_path(&p),
        slug: project_slug(&p),
        status_label: label(&status),
        status,
        stage: label(&p.current_stage.as_api()),
        role: match p.access.as_str() {
            "own" => "Client",
            "write" => "Member",
            _ => "Read only",
        },
        name: p.name,
    }
}

/// The list's filter as it arrives in the URL (empty = any).
#[derive(Debug, Default, Deserialize)]
struct ProjectsQuery {
    #[serde(default)]
    status: String,
    #[serde(default)]
    page: String,
}

impl ProjectsQuery {
    fn url(&self, page: u64) -> String {
        let mut q = Vec::new();
        if !self.status.trim().is_empty() {
            q.push(format!("status={}", urlencode(self.status.trim())));
        }
        if page > 1 {
            q.push(format!("page={page}"));
        }
        if q.is_empty() { "/projects".into() } else { format!("/projects?{}", q.join("&")) }
    }

    /// The filter as the service takes it; a bad value is an error on its field.
    fn filter(&self) -> Result<ProjectFilter, AppError> {
        let status =
            match self.status.trim() {
                "" => None,
                s => Some(ProjectStatus::parse_api(s).ok_or_else(|| {
                    AppError::field("status", format!("must be one of {}", ProjectStatus::api_values()))
                })?),
            };
        let page = match self.page.trim() {
            "" => None,
            p => Some(p.parse::<u64>().map_err(|_| AppError::field("page", "must be a whole number from 1"))?),
        };
        Ok(ProjectFilter { status, page, limit: Some(PER_PAGE) })
    }
}

/// The values of the create form (kept when it is refused).
#[derive(Debug, Default, Deserialize)]
struct CreateForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    brief: String,
}

/// A `<select>` option.
pub(super) struct Choice {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "market/client_index.html")]
struct ProjectsPage {
    layout: Layout,
    errors: FormErrors,
    create_errors: FormErrors,
    create: CreateForm,
    statuses: Vec<Choice>,
    projects: Vec<ProjectRow>,
    total: u64,
    page: u64,
    pages: u64,
    prev: Option<String>,
    next: Option<String>,
    filtered: bool,
    is_client: bool,
    write_block: Option<String>,
}

async fn render_index(
    s: &AppState,
    actor: &Actor,
    q: ProjectsQuery,
    status: StatusCode,
    create: CreateForm,
    create_errors: FormErrors,
) -> Result<Response, PageError> {
    let layout = Layout::new(s, actor, "Projects", "projects").await.or_page(actor)?;
    let listed = match q.filter() {
        Ok(f) => s.app.list_projects(actor, f).await,
        Err(e) => Err(e),
    };
    let (list_status, errors, listed) = listed_or_filter_errors(actor, listed, PER_PAGE)?;
    let status = if status == StatusCode::OK { list_status } else { status };
    let pages = listed.total.div_ceil(listed.limit.max(1)).max(1);
    let current = q.status.trim().to_ascii_lowercase();
    let page = ProjectsPage {
        layout,
        errors,
        create_errors,
        create,
        statuses: ProjectStatus::ALL
            .iter()
            .map(|st| {
                let v = st.as_api();
                Choice { label: label(&v), selected: v == current, value: v }
            })
            .collect(),
        projects: listed.items.into_iter().map(row).collect(),
        total: listed.total,
        page: listed.page,
        pages,
        prev: (listed.page > 1).then(|| q.url(listed.page - 1)),
        next: (listed.page < pages).then(|| q.url(listed.page + 1)),
        filtered: !current.is_empty(),
        is_client: actor.roles.contains(&Role::Client),
        write_block: actor.is_demo.then(|| DEMO_REASON.to_string()),
    };
    Ok((status, page).into_response())
}

async fn index(
    State(s): State<AppState>,
    PageUser(actor): PageUser,
    Query(q): Query<ProjectsQuery>,
) -> Result<Response, PageError> {
    render_index(&s, &actor, q, StatusCode::OK, CreateForm::default(), FormErrors::none()).await
}

/// `POST /projects`: creates a project and opens its dashboard; a refusal
/// shows the list again with the message next to its field.
async fn create(
    State(s): State<AppState>,
    PageUser(actor): PageUser,
    Form(f): Form<CreateForm>,
) -> Result<Response, PageError> {
    let blank = |v: &str| Some(v.trim().to_string()).filter(|v| !v.is_empty());
    let input = NewProject {
        name: f.name.clone(),
        code: blank(&f.code),
        brief: blank(&unix_text(&f.brief)),
        ..Default::default()
    };
    match s.app.create_project(&actor, input).await {
        Ok(p) => Ok(Redirect::to(&project_path(&p)).into_response()),
        Err(e) => render_index(&s, &actor, ProjectsQuery::default(), form_status(&e), f, FormErrors::from(&e)).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_show_in_display_units_from_integers() {
        assert_eq!(minor_display(150_000), "1500.00");
        assert_eq!(minor_display(1), "0.01");
        assert_eq!(minor_display(i64::MAX), "92233720368547758.07");
    }

    #[test]
    fn labels_and_filters() {
        assert_eq!(label("ready_for_review"), "Ready for review");
        assert_eq!(currency_label(Currency::UsdcSpl), "USDC-SPL");
        let q = ProjectsQuery { status: "planning".into(), page: "2".into() };
        assert_eq!(q.url(3), "/projects?status=planning&page=3");
        assert!(q.filter().is_ok());
        let bad = ProjectsQuery { status: "nope".into(), page: String::new() };
        assert!(matches!(bad.filter(), Err(AppError::Validation(_))));
    }
}
