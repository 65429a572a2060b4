//! `/admin/…`: administration pages (users, model prices, job kinds). Everyone but
//! administrators gets the one 404 page, so the pages do not even confirm
//! that they exist.

mod job_kinds;
mod prices;
mod users;

use axum::Router;
use baton_app::{Actor, AppError};

use super::layout::PageError;
use crate::AppState;

/// The routes of this module.
pub fn router() -> Router<AppState> {
    Router::new().merge(users::router()).merge(prices::router()).merge(job_kinds::router())
}

/// Non-administrators see the 404 page.
fn admin_only(actor: &Actor) -> Result<(), PageError> {
    if actor.is_admin() { Ok(()) } else { Err(PageError::new(actor, AppError::NotFound("page"))) }
}

/// A form's fields as sent, repeated names included (role checkboxes).
struct Fields(Vec<(String, String)>);

impl Fields {
    /// The first value of `name`, trimmed ("" when absent).
    fn get(&self, name: &str) -> String {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v.trim().to_string()).unwrap_or_default()
    }

    /// Whether a checkbox `name` was ticked.
    fn checked(&self, name: &str) -> bool {
        self.0.iter().any(|(k, v)| k == name && !v.is_empty())
    }

    /// Every value of `name`.
    fn all(&self, name: &str) -> Vec<String> {
        self.0.iter().filter(|(k, _)| k == name).map(|(_, v)| v.trim().to_string()).collect()
    }
}
