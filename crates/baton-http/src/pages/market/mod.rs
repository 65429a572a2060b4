//! The expert marketplace's pages. Each area is one file; they call the
//! same `App` services as `/api/…` and MCP and only merge their routers here.

mod browse;
mod dashboard;
mod deliverables;
mod documents;
mod escrows;
mod expert;
mod my_bids;
mod opportunity;
mod projects;
mod qa;
mod story;

pub use story::story_path;

use axum::Router;

use crate::AppState;

/// The marketplace page routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .merge(browse::router())
        .merge(opportunity::router())
        .merge(my_bids::router())
        .merge(expert::router())
        .merge(projects::router())
        .merge(dashboard::router())
        .merge(escrows::router())
        .merge(deliverables::router())
        .merge(documents::router())
        .merge(story::router())
        .merge(qa::router())
}
