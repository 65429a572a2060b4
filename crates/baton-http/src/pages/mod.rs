//! Server-rendered pages. They work without JavaScript and call the same
//! services as the REST API and MCP; handlers only read forms, call one
//! service function and render or redirect.
//!
//! One module per resource; templates live in one folder per resource
//! under `templates/`; what every page shares is in [`layout`].

pub mod assets;
mod auth;
mod backlog;
mod events;
mod home;
pub mod layout;
pub mod markdown;
mod tokens;

use axum::{Router, http::StatusCode, response::Response, routing::get};

use crate::AppState;

/// The page routes and embedded static files.
pub fn router() -> Router<AppState> {
    Router::new()
        .merge(home::router())
        .merge(auth::router())
        .merge(tokens::router())
        .merge(events::router())
        .merge(backlog::router())
        .route("/static/{*path}", get(assets::serve))
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
