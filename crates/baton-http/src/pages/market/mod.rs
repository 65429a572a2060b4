//! The marketplace pages. Each area lives in its own modules; this file
//! only declares them and merges their routes.

mod dashboard;
mod deliverables;
mod documents;
mod escrows;
mod projects;

use axum::Router;

use crate::AppState;

/// The marketplace page routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .merge(projects::router())
        .merge(dashboard::router())
        .merge(escrows::router())
        .merge(deliverables::router())
        .merge(documents::router())
}
