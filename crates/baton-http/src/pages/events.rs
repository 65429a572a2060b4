//! `GET /events`: the one live stream of a page (Server-Sent Events). It
//! carries what the page's regions and the questions bell need — the
//! events of one product (`?product=CODE`) or of all the caller's
//! products — as thin signals: the page refetches itself and swaps the
//! regions that changed, so permissions and rendering stay in the normal
//! request path.

use axum::{
    Router,
    extract::{Query, State},
    response::{IntoResponse, Response},
    routing::get,
};
use serde::Deserialize;

use super::layout::PageUser;
use crate::{AppState, extract::Client};

/// The routes of this module.
pub fn router() -> Router<AppState> {
    Router::new().route("/events", get(events))
}

#[derive(Deserialize)]
struct EventsQuery {
    product: Option<String>,
}

async fn events(
    State(s): State<AppState>,
    PageUser(actor): PageUser,
    Client(client): Client,
    Query(q): Query<EventsQuery>,
) -> Response {
    let product = q.product.as_deref().map(str::trim).filter(|p| !p.is_empty());
    match s.app.open_page_stream(&actor, product, &client.ip).await {
        Ok(stream) => crate::api::realtime::event_stream(&s, stream),
        Err(e) => crate::error::ApiError::from(e).into_response(),
    }
}
