//! `/ideas` (the caller's ideas, filtered by status, product and archived in
//! the URL, with a create form) and `/ideas/{code}` (one idea: see
//! [`show`]). Ideas are private: another user's idea is the one 404 page.
//!
//! Every action is a plain form post answered with a 303 redirect or the
//! same page with the error next to its field; the handlers call the same
//! `App` services as `/api/ideas…` and MCP. Both pages are live regions on
//! the unscoped page stream, which carries the caller's `idea_changed`,
//! job and question events.

mod show;

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
    ideas::{IdeaFilter, IdeaSummary, NewIdea},
    list::PageParams,
    products::{ProductFilter, ProductView},
};
use baton_domain::ideas::IdeaStatus;
use serde::Deserialize;

use super::{
    layout::{
        DEMO_REASON, FormErrors, Layout, OrPage, PageError, PageUser, form_status, listed_or_filter_errors, slug,
        unix_text, urlencode,
    },
    tasks::{fmt_time, status_label},
};
use crate::AppState;

/// The routes of this module.
pub fn router() -> Router<AppState> {
    Router::new().route("/ideas", get(index).post(create)).merge(show::router())
}

/// Ideas per page of the list.
const PER_PAGE: u64 = 50;

/// The caller's products (at most 200, as the switcher), to name an idea's
/// products and offer them in the forms.
async fn my_products(s: &AppState, actor: &Actor) -> Result<Vec<ProductView>, AppError> {
    Ok(s.app.list_products(actor, ProductFilter { limit: Some(200), ..Default::default() }).await?.items)
}

/// A product of the caller's list by id.
fn product_of<'a>(products: &'a [ProductView], id: Option<&str>) -> Option<&'a ProductView> {
    id.and_then(|id| products.iter().find(|p| p.id == id))
}

/// The URL of an idea's page.
fn idea_path(code: &str) -> String {
    format!("/ideas/{}", urlencode(code))
}

/// An option of a select.
struct Choice {
    value: String,
    label: String,
    selected: bool,
}

/// One idea in the list.
struct IdeaRow {
    code: String,
    title: String,
    status: String,
    status_label: String,
    product: Option<(String, String)>,
    archived: bool,
    updated: String,
}

fn idea_row(i: IdeaSummary, products: &[ProductView]) -> IdeaRow {
    let status = i.status.as_api();
    IdeaRow {
        status_label: status_label(&status),
        product: product_of(products, i.product_id.as_deref()).map(|p| (slug(p), p.name.clone())),
        updated: fmt_time(i.updated_at),
        archived: i.archived,
        code: i.code,
        title: i.title,
        status,
    }
}

/// The list's filters as they arrive in the URL (empty = any).
#[derive(Debug, Default, Deserialize)]
struct IdeasQuery {
    #[serde(default)]
    status: String,
    /// A product code (or id).
    #[serde(default)]
    product: String,
    /// `true` (the checkbox sends `on`) lists archived ideas.
    #[serde(default)]
    archived: String,
    #[serde(default)]
    page: String,
}

impl IdeasQuery {
    fn archived(&self) -> bool {
        matches!(self.archived.trim(), "on" | "true" | "1")
    }

    /// The URL of this list on page `page`, filters kept.
    fn url(&self, page: u64) -> String {
        let mut q = Vec::new();
        for (k, v) in [("status", &self.status), ("product", &self.product)] {
            if !v.trim().is_empty() {
                q.push(format!("{k}={}", urlencode(v.trim())));
            }
        }
        if self.archived() {
            q.push("archived=true".into());
        }
        if page > 1 {
            q.push(format!("page={page}"));
        }
        if q.is_empty() { "/ideas".into() } else { format!("/ideas?{}", q.join("&")) }
    }

    fn filtered(&self) -> bool {
        !self.status.trim().is_empty() || !self.product.trim().is_empty() || self.archived()
    }
}

/// The values of the create form (kept when it is refused).
#[derive(Debug, Default, Deserialize)]
struct CreateForm {
    #[serde(default)]
    title: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    product_id: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "ideas/index.html")]
struct IdeasPage {
    layout: Layout,
    errors: FormErrors,
    create_errors: FormErrors,
    create: CreateForm,
    statuses: Vec<Choice>,
    products: Vec<Choice>,
    /// Products an idea can be for (those the caller may change).
    writable: Vec<Choice>,
    archived: bool,
    ideas: Vec<IdeaRow>,
    total: u64,
    page: u64,
    pages: u64,
    prev: Option<String>,
    next: Option<String>,
    filtered: bool,
    write_block: Option<String>,
}

fn blank(v: &str) -> Option<String> {
    let v = v.trim();
    (!v.is_empty()).then(|| v.to_string())
}

/// The filter as the service takes it; an unknown product or a bad page
/// number is a validation error on its field.
fn service_filter(q: &IdeasQuery, products: &[ProductView]) -> Result<(IdeaFilter, PageParams), AppError> {
    let product = match blank(&q.product) {
        None => None,
        Some(p) => Some(
            products
                .iter()
                .find(|v| v.id == p || v.code.as_deref().is_some_and(|c| c.eq_ignore_ascii_case(&p)))
                .map(|v| v.id.clone())
                .ok_or_else(|| AppError::field("product", "no product with that code that you can see"))?,
        ),
    };
    let page = match blank(&q.page) {
        None => None,
        Some(p) => Some(p.parse::<u64>().map_err(|_| AppError::field("page", "must be a whole number from 1"))?),
    };
    let filter = IdeaFilter { status: blank(&q.status), product, archived: Some(q.archived()) };
    Ok((filter, PageParams { page, limit: Some(PER_PAGE) }))
}

async fn render_index(
    s: &AppState,
    actor: &Actor,
    q: IdeasQuery,
    status: StatusCode,
    create: CreateForm,
    create_errors: FormErrors,
) -> Result<Response, PageError> {
    let layout = Layout::new(s, actor, "Ideas", "ideas").await.or_page(actor)?;
    let products = my_products(s, actor).await.or_page(actor)?;
    let listed = match service_filter(&q, &products) {
        Ok((filter, params)) => s.app.list_ideas(actor, filter, params).await,
        Err(e) => Err(e),
    };
    // A bad filter value is shown next to its field with an empty list.
    let (list_status, errors, listed) = listed_or_filter_errors(actor, listed, PER_PAGE)?;
    let status = if status == StatusCode::OK { list_status } else { status };
    let pages = listed.total.div_ceil(listed.limit.max(1)).max(1);
    let current_status = q.status.trim().to_ascii_lowercase();
    let statuses = IdeaStatus::ALL
        .iter()
        .map(|st| {
            let v = st.as_api();
            Choice { label: status_label(&v), selected: v == current_status, value: v }
        })
        .collect();
    let current_product = q.product.trim();
    let product_choices = products
        .iter()
        .map(|p| {
            let v = slug(p);
            Choice {
                selected: v.eq_ignore_ascii_case(current_product) || p.id == current_product,
                value: v,
                label: p.name.clone(),
            }
        })
        .collect();
    let writable = products
        .iter()
        .filter(|p| p.access != "read_only" && !p.archived)
        .map(|p| Choice { selected: p.id == create.product_id.trim(), value: p.id.clone(), label: p.name.clone() })
        .collect();
    let page = IdeasPage {
        errors,
        create_errors,
        statuses,
        products: product_choices,
        writable,
        archived: q.archived(),
        ideas: listed.items.into_iter().map(|i| idea_row(i, &products)).collect(),
        total: listed.total,
        page: listed.page,
        pages,
        prev: (listed.page > 1).then(|| q.url(listed.page - 1)),
        next: (listed.page < pages).then(|| q.url(listed.page + 1)),
        filtered: q.filtered(),
        write_block: actor.is_demo.then(|| DEMO_REASON.to_string()),
        create,
        layout,
    };
    Ok((status, page).into_response())
}

async fn index(
    State(s): State<AppState>,
    PageUser(actor): PageUser,
    Query(q): Query<IdeasQuery>,
) -> Result<Response, PageError> {
    render_index(&s, &actor, q, StatusCode::OK, CreateForm::default(), FormErrors::none()).await
}

/// `POST /ideas`: creates a draft idea and opens its page; a refusal shows
/// the list again with the message next to the field and the values kept.
async fn create(
    State(s): State<AppState>,
    PageUser(actor): PageUser,
    Form(f): Form<CreateForm>,
) -> Result<Response, PageError> {
    let input = NewIdea {
        title: f.title.clone(),
        description: blank(&unix_text(&f.description)),
        product_id: blank(&f.product_id),
        product_ids: None,
    };
    match s.app.create_idea(&actor, input).await {
        Ok(idea) => Ok(Redirect::to(&idea_path(&idea.code)).into_response()),
        Err(e @ AppError::NotFound(_)) => Err(PageError::new(&actor, e)),
        Err(e) => render_index(&s, &actor, IdeasQuery::default(), form_status(&e), f, FormErrors::from(&e)).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_stay_in_the_url_across_pages() {
        let q =
            IdeasQuery { status: "plan_ready".into(), product: "SHOP".into(), archived: "on".into(), page: "2".into() };
        assert_eq!(q.url(3), "/ideas?status=plan_ready&product=SHOP&archived=true&page=3");
        assert_eq!(IdeasQuery::default().url(1), "/ideas");
        assert!(!IdeasQuery::default().filtered());
    }

    #[test]
    fn idea_paths_are_encoded() {
        assert_eq!(idea_path("IDEA-001"), "/ideas/IDEA-001");
    }
}
