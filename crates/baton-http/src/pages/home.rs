//! `/`: the dashboard (first-run set-up and log-in redirect from here).

use askama::Template;
use askama_web::WebTemplate;
use axum::{
    Router,
    extract::State,
    response::{IntoResponse, Redirect, Response},
    routing::get,
};

use super::layout::{Layout, PageError};
use crate::{AppState, extract::MaybeCaller};

/// The routes of this module.
pub fn router() -> Router<AppState> {
    Router::new().route("/", get(home))
}

#[derive(Template, WebTemplate)]
#[template(path = "home/index.html")]
struct HomePage {
    layout: Layout,
    username: String,
    is_demo: bool,
    roles: Vec<String>,
}

async fn home(State(s): State<AppState>, MaybeCaller(maybe): MaybeCaller) -> Response {
    match s.app.needs_setup().await {
        Ok(true) => return Redirect::to("/setup").into_response(),
        Ok(false) => {}
        Err(e) => return PageError::anonymous(e).into_response(),
    }
    let actor = match maybe {
        None => return Redirect::to("/login").into_response(),
        Some(a) if a.must_reset_password => return Redirect::to("/reset-password").into_response(),
        Some(a) => a,
    };
    let layout = match Layout::new(&s, &actor, "Dashboard", "dashboard").await {
        Ok(l) => l,
        Err(e) => return PageError::new(&actor, e).into_response(),
    };
    HomePage {
        layout,
        roles: actor.roles.iter().map(|r| r.as_api()).collect(),
        username: actor.username,
        is_demo: actor.is_demo,
    }
    .into_response()
}
