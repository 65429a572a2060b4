//! The members part of `/products/{code}/settings`: add by username with
//! access and role, change, remove — the owner only, through the member
//! services the REST API uses. Errors re-render the settings page with the
//! message next to the form that failed.

use axum::{
    Form, Router,
    extract::{Path, State},
    response::{IntoResponse, Redirect, Response},
    routing::post,
};
use baton_app::{
    AppError,
    products::{MemberPatch, NewMember},
};
use baton_domain::roles::{MemberAccess, Role};
use serde::Deserialize;

use super::{
    layout::{FormErrors, PageError, PageUser, form_status},
    products::{AddMemberForm, Failed, render_settings},
};
use crate::AppState;

/// The routes of this module.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/products/{code}/members", post(add))
        .route("/products/{code}/members/{user_id}", post(change))
        .route("/products/{code}/members/{user_id}/remove", post(remove))
}

fn parse_access(v: &str) -> Result<Option<MemberAccess>, AppError> {
    match v.trim() {
        "" => Ok(None),
        v => MemberAccess::parse_api(v)
            .map(Some)
            .ok_or_else(|| AppError::field("access", format!("must be one of {}", MemberAccess::api_values()))),
    }
}

fn parse_role(v: &str) -> Result<Option<Role>, AppError> {
    match v.trim() {
        "" => Ok(None),
        v => Role::parse_api(v)
            .map(Some)
            .ok_or_else(|| AppError::field("role", format!("must be one of {}", Role::api_values()))),
    }
}

fn settings(code: &str) -> Response {
    Redirect::to(&format!("/products/{code}/settings#members")).into_response()
}

async fn add(
    State(s): State<AppState>,
    PageUser(actor): PageUser,
    Path(code): Path<String>,
    Form(f): Form<AddMemberForm>,
) -> Result<Response, PageError> {
    let input = parse_access(&f.access)
        .and_then(|access| Ok(NewMember { username: f.username.clone(), access, role: parse_role(&f.role)? }));
    let result = match input {
        Ok(input) => s.app.add_member(&actor, &code, input).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(_) => Ok(settings(&code)),
        Err(e @ AppError::NotFound(_)) => Err(PageError::new(&actor, e)),
        Err(e) => {
            let status = form_status(&e);
            render_settings(&s, &actor, &code, Failed::AddMember(f, FormErrors::from(&e)), status).await
        }
    }
}

#[derive(Deserialize)]
struct ChangeForm {
    #[serde(default)]
    access: String,
    #[serde(default)]
    role: String,
}

async fn change(
    State(s): State<AppState>,
    PageUser(actor): PageUser,
    Path((code, user_id)): Path<(String, String)>,
    Form(f): Form<ChangeForm>,
) -> Result<Response, PageError> {
    let patch = parse_access(&f.access).and_then(|access| Ok(MemberPatch { access, role: parse_role(&f.role)? }));
    let result = match patch {
        Ok(patch) => s.app.update_member(&actor, &code, &user_id, patch).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(_) => Ok(settings(&code)),
        Err(e) => failed_row(&s, &actor, &code, user_id, e).await,
    }
}

async fn remove(
    State(s): State<AppState>,
    PageUser(actor): PageUser,
    Path((code, user_id)): Path<(String, String)>,
) -> Result<Response, PageError> {
    match s.app.remove_member(&actor, &code, &user_id).await {
        Ok(()) => Ok(settings(&code)),
        Err(e) => failed_row(&s, &actor, &code, user_id, e).await,
    }
}

/// A member row's failure: an unknown product is the 404 page; an unknown
/// member of a visible product is shown on the page (404 status), as is
/// any refusal.
async fn failed_row(
    s: &AppState,
    actor: &baton_app::Actor,
    code: &str,
    user_id: String,
    e: AppError,
) -> Result<Response, PageError> {
    let status = form_status(&e);
    render_settings(s, actor, code, Failed::Member(user_id, FormErrors::from(&e)), status).await
}
