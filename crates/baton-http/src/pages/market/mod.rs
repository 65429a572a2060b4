//! Marketplace pages. Each file is one page area; this module only merges
//! their routers.

mod qa;
mod story;

pub use story::story_path;

use axum::Router;

use crate::AppState;

/// The routes of the marketplace pages.
pub fn router() -> Router<AppState> {
    Router::new().merge(story::router()).merge(qa::router())
}
