//! What every page shares: the logged-in user extractor, the layout data
//! (top bar, product switcher, questions bell, assets, live stream), form
//! errors next to their fields, and the error pages.

use askama::Template;
use askama_web::WebTemplate;
use axum::{
    extract::FromRequestParts,
    http::{StatusCode, request::Parts},
    response::{IntoResponse, Redirect, Response},
};
use baton_app::{Actor, AppError, products::ProductFilter, products::ProductView, questions::QuestionFilter};

use super::assets;
use crate::{AppState, extract::MaybeCaller};

/// The logged-in user of a page. Without a session the page redirects to
/// `/login`; a user who must change their password goes there first.
pub struct PageUser(pub Actor);

impl FromRequestParts<AppState> for PageUser {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let Ok(MaybeCaller(actor)) = MaybeCaller::from_request_parts(parts, state).await;
        match actor {
            None => Err(Redirect::to("/login").into_response()),
            Some(a) if a.must_reset_password => Err(Redirect::to("/reset-password").into_response()),
            Some(a) => Ok(PageUser(a)),
        }
    }
}

/// The user shown in the top bar.
#[derive(Debug, Clone)]
pub struct NavUser {
    /// Username.
    pub username: String,
    /// Demo accounts are read-only.
    pub is_demo: bool,
    /// Administrators see the admin pages.
    pub is_admin: bool,
}

/// One entry of the product switcher.
#[derive(Debug, Clone)]
pub struct NavProduct {
    /// What the product's URLs use: its code, or its id when it has none.
    pub slug: String,
    /// Its name.
    pub name: String,
    /// Whether it is the product the page is about.
    pub current: bool,
}

/// The product's URL segment: its code, or its id when it has none.
pub fn slug(p: &ProductView) -> String {
    p.code.clone().unwrap_or_else(|| p.id.clone())
}

/// Everything `layout/base.html` needs. Each page struct holds one as
/// `layout`.
#[derive(Debug, Clone)]
pub struct Layout {
    /// The page title (before " · Baton").
    pub title: String,
    /// The logged-in user, if any.
    pub user: Option<NavUser>,
    /// The caller's products for the switcher.
    pub products: Vec<NavProduct>,
    /// The product the page is about.
    pub product: Option<NavProduct>,
    /// Open questions the caller can answer (the bell).
    pub open_questions: usize,
    /// Which top-bar entry is current (`dashboard`, `products`, `jobs`, …).
    pub section: &'static str,
    /// The SSE stream of this page (`/events`, `/events?product=CODE`).
    pub live_src: String,
    /// Stylesheet URL (content-hashed).
    pub css: String,
    /// Favicon URL.
    pub favicon: String,
    /// ES modules every page loads.
    pub scripts: Vec<String>,
    /// The newest open questions for the bell's panel (at most
    /// [`BELL_QUESTIONS`]); `open_questions` is the total.
    pub bell_questions: Vec<BellQuestion>,
}

/// How many open questions the bell's panel lists.
pub const BELL_QUESTIONS: u64 = 5;

/// One open question in the bell's panel.
#[derive(Debug, Clone)]
pub struct BellQuestion {
    /// The question's id.
    pub id: String,
    /// The question, cut to a line.
    pub text: String,
    /// The allowed answers (empty: free text).
    pub options: Vec<String>,
    /// Why the caller cannot answer it here (demo, read-only member).
    pub disabled: Option<String>,
}

/// Why `actor` cannot write to a product with access `access` (`owner`,
/// `read_write`, `read_only`), shown next to disabled controls.
pub fn write_refusal(actor: &Actor, access: &str) -> Option<String> {
    if actor.is_demo {
        Some(DEMO_REASON.into())
    } else if access == "read_only" {
        Some(READ_ONLY_REASON.into())
    } else {
        None
    }
}

/// The reason shown on a demo user's disabled controls.
pub const DEMO_REASON: &str = "Demo accounts are read-only";
/// The reason shown on a read-only member's disabled controls.
pub const READ_ONLY_REASON: &str = "Read-only member";

/// The modules every page loads; each wires its own `data-*` behaviour.
const SCRIPTS: [&str; 6] =
    ["js/live.js", "js/forms.js", "js/dnd.js", "js/hotkeys.js", "js/poll.js", "js/browse-bid.js"];

impl Layout {
    /// A page without a logged-in user (log-in, set-up, errors).
    pub fn anonymous(title: &str) -> Layout {
        Layout {
            title: title.to_string(),
            user: None,
            products: vec![],
            product: None,
            open_questions: 0,
            section: "",
            live_src: String::new(),
            css: assets::url("css/app.css"),
            favicon: assets::url("favicon.svg"),
            scripts: SCRIPTS.iter().map(|s| assets::url(s)).collect(),
            bell_questions: vec![],
        }
    }

    /// A page of `actor` without reading anything (error pages).
    pub fn bare(actor: &Actor, title: &str) -> Layout {
        Layout {
            user: Some(NavUser {
                username: actor.username.clone(),
                is_demo: actor.is_demo,
                is_admin: actor.is_admin(),
            }),
            ..Layout::anonymous(title)
        }
    }

    /// A page of `actor` in `section`: the switcher's products and the
    /// bell's count are read here.
    pub async fn new(s: &AppState, actor: &Actor, title: &str, section: &'static str) -> Result<Layout, AppError> {
        let filter = ProductFilter { limit: Some(200), ..Default::default() };
        let products = s.app.list_products(actor, filter).await?.items;
        // The bell counts what the caller may answer: open questions in
        // their own products (and their own idea questions).
        let filter = QuestionFilter { status: Some("open".into()), limit: Some(BELL_QUESTIONS), ..Default::default() };
        let open = s.app.list_my_questions(actor, filter).await?;
        Ok(Layout {
            products: products
                .iter()
                .map(|p| NavProduct { slug: slug(p), name: p.name.clone(), current: false })
                .collect(),
            open_questions: usize::try_from(open.total).unwrap_or(usize::MAX),
            bell_questions: open
                .items
                .into_iter()
                .map(|q| {
                    let access = products.iter().find(|p| p.id == q.product_id).map_or("owner", |p| p.access.as_str());
                    BellQuestion {
                        text: one_line(&q.question, 140),
                        options: q.options.unwrap_or_default(),
                        disabled: write_refusal(actor, access),
                        id: q.id,
                    }
                })
                .collect(),
            section,
            live_src: "/events".into(),
            ..Layout::bare(actor, title)
        })
    }

    /// A page about `product`: marks it in the switcher, narrows the live
    /// stream to it, and remembers it as the user's active product (not
    /// for demo users, whose choice lives in the URL only).
    pub async fn for_product(
        s: &AppState,
        actor: &Actor,
        title: &str,
        section: &'static str,
        product: &ProductView,
    ) -> Result<Layout, AppError> {
        let mut layout = Layout::new(s, actor, title, section).await?;
        let current = slug(product);
        for p in &mut layout.products {
            p.current = p.slug == current;
        }
        layout.live_src = format!("/events?product={}", urlencode(&current));
        layout.product = Some(NavProduct { slug: current, name: product.name.clone(), current: true });
        if !actor.is_demo {
            remember_active_product(s, actor, &product.id).await;
        }
        Ok(layout)
    }

    /// Whether the caller is a read-only demo user.
    pub fn is_demo(&self) -> bool {
        self.user.as_ref().is_some_and(|u| u.is_demo)
    }
}

/// Saves the product as the user's active one when it is not already; a
/// failure only costs the preference, so it is logged, not shown.
async fn remember_active_product(s: &AppState, actor: &Actor, product_id: &str) {
    let current = match s.app.me(actor).await {
        Ok(me) => me.active_product_id,
        Err(_) => return,
    };
    if current.as_deref() == Some(product_id) {
        return;
    }
    let input = baton_app::products::ActiveProduct { product_id: Some(product_id.to_string()) };
    if let Err(e) = s.app.set_active_product(actor, input).await {
        tracing::debug!(error = %e, "could not remember the active product");
    }
}

/// The first line of `text`, cut to `max` characters with an ellipsis.
pub fn one_line(text: &str, max: usize) -> String {
    let line = text.lines().map(str::trim).find(|l| !l.is_empty()).unwrap_or_default();
    if line.chars().count() > max || text.trim().lines().nth(1).is_some() {
        let cut: String = line.chars().take(max).collect();
        format!("{}…", cut.trim_end())
    } else {
        line.to_string()
    }
}

/// Percent-encodes a URL query value.
pub fn urlencode(v: &str) -> String {
    form_urlencoded::byte_serialize(v.as_bytes()).collect()
}

/// A form's errors: each next to its field, the rest above the form.
#[derive(Debug, Clone, Default)]
pub struct FormErrors {
    /// (field name, message) pairs.
    pub fields: Vec<(String, String)>,
    /// Messages not about one field.
    pub general: Vec<String>,
}

impl FormErrors {
    /// No errors.
    pub fn none() -> FormErrors {
        FormErrors::default()
    }

    /// The message for `field`, if any (templates: `errors.field("title")`).
    pub fn field(&self, field: &str) -> Option<&str> {
        self.fields.iter().find(|(f, _)| f == field).map(|(_, m)| m.as_str())
    }

    /// Whether there is anything to show.
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty() && self.general.is_empty()
    }

    /// Every message, field ones first (`field: message`).
    pub fn all(&self) -> Vec<String> {
        self.fields
            .iter()
            .map(|(f, m)| format!("{}: {m}", f.replace('_', " ")))
            .chain(self.general.iter().cloned())
            .collect()
    }
}

impl From<&AppError> for FormErrors {
    fn from(e: &AppError) -> FormErrors {
        match e {
            AppError::Validation(v) => FormErrors {
                // Nested paths (`items[2].status`) are shown at their top-level field.
                fields: v
                    .0
                    .iter()
                    .map(|f| {
                        let top = f.path.split(['.', '[']).next().unwrap_or(&f.path).to_string();
                        (top, f.message.clone())
                    })
                    .collect(),
                general: vec![],
            },
            other => FormErrors { fields: vec![], general: vec![crate::error::ApiError::from(other.clone()).message] },
        }
    }
}

/// The HTTP status a form answered with an error is re-rendered with.
pub fn form_status(e: &AppError) -> StatusCode {
    crate::error::ApiError::from(e.clone()).status
}

#[derive(Template, WebTemplate)]
#[template(path = "errors/message.html")]
struct MessagePage {
    layout: Layout,
    heading: String,
    message: String,
    back: String,
}

/// A page with one message (errors, refusals).
pub fn message_page(layout: Layout, status: StatusCode, heading: &str, message: &str, back: &str) -> Response {
    let page = MessagePage { layout, heading: heading.into(), message: message.into(), back: back.into() };
    (status, page).into_response()
}

/// The one "not found" page: unknown ids and other people's things look
/// the same, so a page never confirms that something exists.
pub fn not_found(layout: Layout) -> Response {
    message_page(
        layout,
        StatusCode::NOT_FOUND,
        "Not found",
        "There is nothing here, or you do not have access to it.",
        "/",
    )
}

/// A page's failure: a service error rendered as a page. Handlers return
/// `Result<Response, PageError>` and use `?` on service calls.
pub struct PageError {
    error: AppError,
    // Boxed: a layout is large and `Result<_, PageError>` is returned everywhere.
    layout: Box<Layout>,
}

impl PageError {
    /// The error, rendered with the caller's top bar.
    pub fn new(actor: &Actor, error: AppError) -> PageError {
        PageError { layout: Box::new(Layout::bare(actor, "Error")), error }
    }

    /// The error on a page without a logged-in user.
    pub fn anonymous(error: AppError) -> PageError {
        PageError { layout: Box::new(Layout::anonymous("Error")), error }
    }
}

/// A filtered list for a page: the service's page; on a bad filter value an
/// empty page of `limit` with the message next to its field and the form's
/// status, so the filter form is shown again; any other error is the error page.
pub fn listed_or_filter_errors<T>(
    actor: &Actor,
    listed: Result<baton_app::list::Page<T>, AppError>,
    limit: u64,
) -> Result<(StatusCode, FormErrors, baton_app::list::Page<T>), PageError> {
    match listed {
        Ok(p) => Ok((StatusCode::OK, FormErrors::none(), p)),
        Err(e @ AppError::Validation(_)) => Ok((
            form_status(&e),
            FormErrors::from(&e),
            baton_app::list::Page { items: vec![], page: 1, limit, total: 0 },
        )),
        Err(e) => Err(PageError::new(actor, e)),
    }
}

/// Turns a service result into a page result for `actor`.
pub trait OrPage<T> {
    /// Maps the error to a [`PageError`] shown with `actor`'s top bar.
    fn or_page(self, actor: &Actor) -> Result<T, PageError>;
}

impl<T> OrPage<T> for Result<T, AppError> {
    fn or_page(self, actor: &Actor) -> Result<T, PageError> {
        self.map_err(|e| PageError::new(actor, e))
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        match self.error {
            AppError::NotFound(_) => not_found(*self.layout),
            e => {
                let api = crate::error::ApiError::from(e);
                if api.status.is_server_error() {
                    tracing::error!(message = %api.message, "page failed");
                }
                message_page(*self.layout, api.status, "That did not work", &api.message, "/")
            }
        }
    }
}

/// A textarea's value as the services count it: browsers send line breaks
/// as CRLF.
pub fn unix_text(v: &str) -> String {
    v.replace("\r\n", "\n")
}

/// A text field of an edit form: absent = unchanged (`None`), blank =
/// cleared (`Some(None)`), else the text with Unix line breaks.
pub fn patch_text(v: Option<&str>) -> Option<Option<String>> {
    v.map(|s| Some(unix_text(s)).filter(|s| !s.trim().is_empty()))
}

/// Where a form may send the browser back to: a path on this site only
/// (never `//host` or a full URL), else `fallback`.
pub fn local_path<'a>(candidate: Option<&'a str>, fallback: &'a str) -> &'a str {
    match candidate {
        Some(p)
            if p.starts_with('/')
                && !p.starts_with("//")
                && !p.contains('\\')
                && !p.contains("\r")
                && !p.contains('\n') =>
        {
            p
        }
        _ => fallback,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_paths_are_redirect_targets() {
        assert_eq!(local_path(Some("/products/P"), "/"), "/products/P");
        assert_eq!(local_path(Some("//evil.example"), "/"), "/");
        assert_eq!(local_path(Some("https://evil.example"), "/"), "/");
        assert_eq!(local_path(Some("/\\evil.example"), "/"), "/");
        assert_eq!(local_path(None, "/x"), "/x");
    }

    #[test]
    fn validation_errors_go_next_to_their_top_level_field() {
        let e = AppError::field("title", "must not be blank");
        let f = FormErrors::from(&e);
        assert_eq!(f.field("title"), Some("must not be blank"));
        assert!(f.general.is_empty());
        let f = FormErrors::from(&AppError::Conflict("the sprint is closed".into()));
        assert_eq!(f.general, vec!["the sprint is closed".to_string()]);
        assert!(f.field("title").is_none());
    }
}
