//! Server-rendered pages. They work without JavaScript and call the same
//! services as the REST API and MCP; handlers only read forms, call one
//! service function and render or redirect.
//!
//! One module per resource; templates live in one folder per resource
//! under `templates/`; what every page shares is in [`layout`].

mod admin;
pub mod assets;
mod auth;
mod backlog;
mod board;
mod events;
mod home;
mod ideas;
mod item_edit;
mod jobs;
pub mod layout;
pub mod markdown;
mod market;
mod members;
mod planning;
mod products;
mod questions;
mod runs;
mod solo;
mod sprints;
mod stories;
mod tasks;
mod tokens;
mod workers;

use axum::{Router, http::StatusCode, response::Response, routing::get};

use crate::AppState;

/// The page routes and embedded static files.
pub fn router() -> Router<AppState> {
    Router::new()
        .merge(home::router())
        .merge(auth::router())
        .merge(tokens::router())
        .merge(events::router())
        .merge(products::router())
        .merge(members::router())
        .merge(questions::router())
        .merge(admin::router())
        .merge(sprints::router())
        .merge(planning::router())
        .merge(board::router())
        .merge(runs::router())
        .merge(stories::router())
        .merge(tasks::router())
        .merge(item_edit::router())
        .merge(solo::router())
        .merge(jobs::router())
        .merge(ideas::router())
        .merge(workers::router())
        .merge(backlog::router())
        .merge(market::router())
        .route("/static/{*path}", get(assets::serve))
        .fallback(unknown_page)
}

/// Any path no page answers: the same 404 page as a hidden product.
async fn unknown_page(crate::extract::MaybeCaller(actor): crate::extract::MaybeCaller) -> Response {
    let layout = match &actor {
        Some(a) => layout::Layout::bare(a, "Not found"),
        None => layout::Layout::anonymous("Not found"),
    };
    layout::not_found(layout)
}

/// The page shown when a demo user tries to change something.
pub fn demo_refused() -> Response {
    layout::message_page(
        layout::Layout::anonymous("Read-only demo"),
        StatusCode::FORBIDDEN,
        "Read-only demo",
        "Demo accounts are read-only: they can look at everything but cannot change anything. Nothing was changed.",
        "/",
    )
}
