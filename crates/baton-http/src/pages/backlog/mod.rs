//! `/products/{code}`: the backlog page — PBIs → stories → tasks as a tree
//! with inline create, edit, delete, drag-and-drop and "Move…" forms,
//! filters in the URL, bulk status and sprint moves, export and import.
//!
//! Every write handler reads its form, calls one service and answers 303
//! to `return_to` (a local path) — or, on a refusal, the whole backlog page
//! again with the message next to the failing form's field, so the tree's
//! live region (`#backlog-tree`) is the truth for enhanced forms and drops.
//!
//! Files: [`tree`] (the page), [`forms`] (create/edit/delete/move of one
//! item), [`bulk`] (multi-select), [`transfer`] (export and import).

mod bulk;
mod forms;
mod transfer;
mod tree;

use std::collections::HashMap;

use axum::{
    Router,
    extract::FromRequest,
    response::{IntoResponse, Redirect, Response},
    routing::{get, post},
};
use baton_app::{Actor, AppError, backlog::tree::TreeFilter, products::ProductView};

use super::layout::{self, FormErrors, PageError};
use crate::AppState;

/// The routes of this module.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/products/{code}", get(tree::show))
        .route("/products/{code}/pbis", post(forms::create_pbi))
        .route("/products/{code}/pbis/{item}", post(forms::update_pbi))
        .route("/products/{code}/pbis/{item}/edit", post(forms::update_pbi))
        .route("/products/{code}/pbis/{item}/delete", post(forms::delete_pbi))
        .route("/products/{code}/pbis/{item}/moves", post(forms::move_pbi))
        .route("/products/{code}/pbis/{item}/stories", post(forms::create_story))
        .route("/products/{code}/stories/{item}/edit", post(forms::update_story))
        .route("/products/{code}/stories/{item}/delete", post(forms::delete_story))
        .route("/products/{code}/stories/{item}/moves", post(forms::move_story))
        .route("/products/{code}/stories/{item}/tasks", post(forms::create_task))
        .route("/products/{code}/tasks/{item}/edit", post(forms::update_task))
        .route("/products/{code}/tasks/{item}/delete", post(forms::delete_task))
        .route("/products/{code}/tasks/{item}/moves", post(forms::move_task))
        .route("/products/{code}/bulk", post(bulk::bulk))
        .route("/products/{code}/export.json", get(transfer::export_json))
        .route("/products/{code}/export.csv", get(transfer::export_csv))
        .route("/products/import", get(transfer::import_page).post(transfer::import))
}

/// A posted form as name/value pairs, in order (repeated names such as
/// the bulk form's `ids` are kept).
pub(crate) struct Fields(Vec<(String, String)>);

impl<S: Send + Sync> FromRequest<S> for Fields {
    type Rejection = Response;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, Self::Rejection> {
        let axum::Form(pairs) =
            axum::Form::<Vec<(String, String)>>::from_request(req, state).await.map_err(IntoResponse::into_response)?;
        Ok(Fields(pairs))
    }
}

impl Fields {
    /// The first value of `name`, if the form has that field.
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// The trimmed value of `name`, `None` when absent or blank.
    pub(crate) fn filled(&self, name: &str) -> Option<&str> {
        self.get(name).map(str::trim).filter(|v| !v.is_empty())
    }

    /// Every value of `name`.
    pub(crate) fn all(&self, name: &str) -> Vec<&str> {
        self.0.iter().filter(|(k, _)| k == name).map(|(_, v)| v.as_str()).collect()
    }

    /// Where to go after the post: `return_to` when it is a local path.
    pub(crate) fn return_to<'a>(&'a self, fallback: &'a str) -> &'a str {
        layout::local_path(self.get("return_to"), fallback)
    }

    /// The values as typed, to refill the form after an error.
    fn draft(&self) -> HashMap<String, String> {
        self.0.iter().filter(|(k, _)| k != "ids").cloned().collect()
    }
}

/// The form that failed on this render: which one (`kind:code`), its
/// errors, and what was typed into it.
#[derive(Debug, Clone, Default)]
pub(crate) struct Failed {
    /// `new:pbi`, `new:PBI-3` (story under it), `edit:ST-001`, `move:T-4`, `bulk:`, `filter:`.
    pub key: String,
    /// The messages.
    pub errors: FormErrors,
    /// What was typed.
    pub draft: HashMap<String, String>,
}

/// The product a backlog request is about, looked up once.
pub(crate) struct Ctx {
    /// The product as the caller sees it.
    pub product: ProductView,
    /// Its URL segment.
    pub slug: String,
}

impl Ctx {
    /// Looks the product up; unknown and invisible products are the one 404 page.
    pub(crate) async fn load(s: &AppState, actor: &Actor, code: &str) -> Result<Ctx, PageError> {
        let product = s.app.get_product(actor, code).await.map_err(|e| PageError::new(actor, e))?;
        Ok(Ctx { slug: layout::slug(&product), product })
    }

    /// The backlog page's path.
    pub(crate) fn home(&self) -> String {
        format!("/products/{}", self.slug)
    }

    /// Answers a write: 303 to `return_to` (else the backlog) on success;
    /// otherwise the backlog page again with the errors on form `key`
    /// (unknown items: the 404 page).
    pub(crate) async fn finish<T>(
        &self,
        s: &AppState,
        actor: &Actor,
        result: Result<T, AppError>,
        key: String,
        form: &Fields,
    ) -> Response {
        let home = self.home();
        match result {
            Ok(_) => Redirect::to(form.return_to(&home)).into_response(),
            Err(e @ AppError::NotFound(_)) => PageError::new(actor, e).into_response(),
            Err(e) => {
                let failed = Failed { key, errors: FormErrors::from(&e), draft: form.draft() };
                let filter = filter_of(form.return_to(&home));
                tree::render(s, actor, self, &filter, layout::form_status(&e), Some(failed)).await
            }
        }
    }
}

/// The filters in a `return_to` path's query, so a refused form shows the
/// same view the user posted from.
fn filter_of(path: &str) -> TreeFilter {
    let query = path.split_once('?').map(|(_, q)| q).unwrap_or("");
    let mut f = TreeFilter::default();
    for (k, v) in form_urlencoded::parse(query.as_bytes()) {
        let v = Some(v.into_owned());
        match k.as_ref() {
            "status" => f.status = v,
            "priority" => f.priority = v,
            "assignee" => f.assignee = v,
            "sprint" => f.sprint = v,
            "q" => f.q = v,
            _ => {}
        }
    }
    f
}

/// Why the caller's write controls are disabled, if they are.
pub(crate) fn write_reason(actor: &Actor, product: &ProductView) -> Option<String> {
    if actor.is_demo {
        Some("Demo accounts are read-only".into())
    } else if product.access == "read_only" {
        Some("Read-only member: you can look but not change".into())
    } else if product.archived {
        Some("This product is archived".into())
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_filter_of_a_return_path_is_read_back() {
        let f = filter_of("/products/P?status=todo&q=a+b&sprint=SP-1&x=1");
        assert_eq!(f.status.as_deref(), Some("todo"));
        assert_eq!(f.q.as_deref(), Some("a b"));
        assert_eq!(f.sprint.as_deref(), Some("SP-1"));
        assert!(filter_of("/products/P").status.is_none());
    }
}
