//! The backlog page itself: one render used for the page, the answer to a
//! refused form and the live refresh.

use askama::Template;
use askama_web::WebTemplate;
use axum::{
    extract::{Path, Query, State},
    http::StatusCode,
    response::{IntoResponse, Response},
};
use baton_app::{
    Actor, AppError,
    backlog::tree::{BacklogTree, TreeFilter, TreeSprint},
};

use super::{Ctx, Failed, write_reason};
use crate::{
    AppState,
    pages::layout::{FormErrors, Layout, PageError, PageUser, urlencode},
};

/// Errors of the forms that did not fail.
static NO_ERRORS: FormErrors = FormErrors { fields: Vec::new(), general: Vec::new() };

/// Status filter choices: (value, label), every level's statuses once.
const STATUSES: [(&str, &str); 10] = [
    ("ready", "Ready (PBI)"),
    ("blocked", "Blocked (PBI)"),
    ("open", "Open (story)"),
    ("in_sprint", "In sprint (story)"),
    ("todo", "To do (task)"),
    ("in_progress", "In progress (task)"),
    ("review", "Review (task)"),
    ("done", "Done"),
    ("failed", "Failed"),
    ("excluded", "Excluded (task)"),
];

/// Statuses a PBI may be given by hand.
const PBI_STATUSES: [&str; 4] = ["ready", "blocked", "failed", "done"];

#[derive(Template, WebTemplate)]
#[template(path = "backlog/index.html")]
struct BacklogPage {
    layout: Layout,
    slug: String,
    product_name: String,
    tree: BacklogTree,
    filter: TreeFilter,
    /// This view's path with its query (forms come back here).
    here: String,
    reason: Option<String>,
    failed: Option<Failed>,
    statuses: &'static [(&'static str, &'static str)],
    pbi_statuses: &'static [&'static str],
}

impl BacklogPage {
    fn key(kind: &str, code: &str) -> String {
        format!("{kind}:{code}")
    }

    fn failing(&self, kind: &str, code: &str) -> Option<&Failed> {
        self.failed.as_ref().filter(|f| f.key == Self::key(kind, code))
    }

    /// The errors of form `kind:code` (none unless it is the one that failed).
    fn errs(&self, kind: &str, code: &str) -> &FormErrors {
        self.failing(kind, code).map(|f| &f.errors).unwrap_or(&NO_ERRORS)
    }

    /// Whether form `kind:code` failed (its `<details>` stays open).
    fn open(&self, kind: &str, code: &str) -> bool {
        self.failing(kind, code).is_some()
    }

    /// The value of `field` in form `kind:code`: as typed when that form
    /// failed, else `current`.
    fn val(&self, kind: &str, code: &str, field: &str, current: &str) -> String {
        match self.failing(kind, code) {
            Some(f) => f.draft.get(field).cloned().unwrap_or_default(),
            None => current.to_string(),
        }
    }

    /// Like [`Self::val`] for optional texts.
    fn val_opt(&self, kind: &str, code: &str, field: &str, current: &Option<String>) -> String {
        self.val(kind, code, field, current.as_deref().unwrap_or(""))
    }

    /// Errors that belong to no field of the failed form.
    fn general(&self) -> Vec<String> {
        self.failed.as_ref().map(|f| f.errors.general.clone()).unwrap_or_default()
    }

    /// A status in words ("in_progress" → "In progress").
    fn human(&self, status: String) -> String {
        let s = status.replace('_', " ");
        let mut c = s.chars();
        match c.next() {
            Some(f) => f.to_uppercase().chain(c).collect(),
            None => s,
        }
    }

    /// A priority in words.
    fn priority_label(&self, p: impl std::borrow::Borrow<i32>) -> &'static str {
        match *p.borrow() {
            1 => "critical",
            2 => "normal",
            3 => "low",
            4 => "nice to have",
            _ => "?",
        }
    }

    /// Whether form `kind:code` failed with `field` = `value` (re-selects a choice).
    fn val_is(&self, kind: &str, code: &str, field: &str, value: &str) -> bool {
        self.failing(kind, code).and_then(|f| f.draft.get(field)).is_some_and(|v| v == value)
    }

    /// String equality (templates compare owned and borrowed strings).
    fn is(&self, a: &str, b: &str) -> bool {
        a == b
    }

    fn priorities(&self) -> [i32; 4] {
        [1, 2, 3, 4]
    }

    /// "3 PBIs · 5 stories · 9 tasks".
    fn counts(&self) -> String {
        let (p, s, t) = self.tree.totals;
        format!("{p} PBIs · {s} stories · {t} tasks")
    }

    fn filter_is(&self, field: &str, value: &str) -> bool {
        let v = match field {
            "status" => &self.filter.status,
            "priority" => &self.filter.priority,
            "assignee" => &self.filter.assignee,
            "sprint" => &self.filter.sprint,
            _ => &None,
        };
        v.as_deref().is_some_and(|v| v.trim().eq_ignore_ascii_case(value))
    }

    fn open_sprints(&self) -> Vec<&TreeSprint> {
        self.tree.sprints.iter().filter(|s| s.status == "open").collect()
    }
}

/// The path of this view: the backlog with its filters.
fn here(ctx: &Ctx, f: &TreeFilter) -> String {
    let parts: Vec<String> = [
        ("status", &f.status),
        ("priority", &f.priority),
        ("assignee", &f.assignee),
        ("sprint", &f.sprint),
        ("q", &f.q),
    ]
    .iter()
    .filter_map(|(k, v)| v.as_deref().filter(|v| !v.trim().is_empty()).map(|v| format!("{k}={}", urlencode(v))))
    .collect();
    if parts.is_empty() { ctx.home() } else { format!("{}?{}", ctx.home(), parts.join("&")) }
}

/// Renders the backlog of `ctx` with `filter`; a bad filter value shows
/// its message next to it (422) over the unfiltered tree.
pub(super) async fn render(
    s: &AppState,
    actor: &Actor,
    ctx: &Ctx,
    filter: &TreeFilter,
    status: StatusCode,
    failed: Option<Failed>,
) -> Response {
    let (tree, status, failed) = match s.app.backlog_tree(actor, &ctx.product.id, filter).await {
        Ok(t) => (t, status, failed),
        Err(e @ AppError::Validation(_)) => {
            let f = Failed { key: "filter:".into(), errors: FormErrors::from(&e), draft: Default::default() };
            match s.app.backlog_tree(actor, &ctx.product.id, &TreeFilter::default()).await {
                Ok(t) => (t, StatusCode::UNPROCESSABLE_ENTITY, Some(f)),
                Err(e) => return PageError::new(actor, e).into_response(),
            }
        }
        Err(e) => return PageError::new(actor, e).into_response(),
    };
    let title = format!("{} — backlog", ctx.product.name);
    let layout = match Layout::for_product(s, actor, &title, "backlog", &ctx.product).await {
        Ok(l) => l,
        Err(e) => return PageError::new(actor, e).into_response(),
    };
    let page = BacklogPage {
        layout,
        slug: ctx.slug.clone(),
        product_name: ctx.product.name.clone(),
        here: here(ctx, filter),
        filter: filter.clone(),
        tree,
        reason: write_reason(actor, &ctx.product),
        failed,
        statuses: &STATUSES,
        pbi_statuses: &PBI_STATUSES,
    };
    (status, page).into_response()
}

/// `GET /products/{code}`.
pub(super) async fn show(
    State(s): State<AppState>,
    PageUser(actor): PageUser,
    Path(code): Path<String>,
    Query(filter): Query<TreeFilter>,
) -> Response {
    match Ctx::load(&s, &actor, &code).await {
        Ok(ctx) => render(&s, &actor, &ctx, &filter, StatusCode::OK, None).await,
        Err(e) => e.into_response(),
    }
}
