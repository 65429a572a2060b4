//! `/admin/users`: list users; create one (roles, demo flag, forced reset);
//! change roles and flags, disable or enable, set a password with a forced
//! reset — through the account services `baton user …` and the REST API use.

use askama::Template;
use askama_web::WebTemplate;
use axum::{
    Form, Router,
    extract::{Path, State},
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
    routing::{get, post},
};
use baton_app::{
    Actor, AppError,
    accounts::{NewUser, UserPatch},
};
use baton_domain::roles::Role;

use super::{Fields, admin_only};
use crate::{
    AppState,
    pages::layout::{DEMO_REASON, FormErrors, Layout, OrPage, PageError, PageUser, form_status},
};

/// The routes of this module.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/users", get(page).post(create))
        .route("/admin/users/{id}", post(update))
        .route("/admin/users/{id}/disabled", post(set_disabled))
        .route("/admin/users/{id}/password", post(set_password))
}

/// `(value, label, checked)` for each role checkbox.
type RoleBox = (String, String, bool);

fn role_boxes(held: &[Role]) -> Vec<RoleBox> {
    Role::ALL.iter().map(|r| (r.as_api(), r.as_api().replace('_', " "), held.contains(r))).collect()
}

/// The roles ticked in a form; an unknown one is an error on `roles`.
fn roles_of(f: &Fields) -> Result<Vec<Role>, AppError> {
    f.all("roles")
        .iter()
        .map(|r| {
            Role::parse_api(r).ok_or_else(|| AppError::field("roles", format!("must be among {}", Role::api_values())))
        })
        .collect()
}

struct UserRow {
    id: String,
    username: String,
    name: String,
    email: String,
    roles: Vec<RoleBox>,
    is_demo: bool,
    must_reset: bool,
    disabled: bool,
    is_me: bool,
    created: String,
    errors: FormErrors,
}

/// The create form's values, kept on errors.
#[derive(Default)]
struct CreateValues {
    username: String,
    email: String,
    name: String,
    roles: Vec<RoleBox>,
    is_demo: bool,
    must_reset: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "admin/users.html")]
struct UsersPage {
    layout: Layout,
    users: Vec<UserRow>,
    create: CreateValues,
    errors: FormErrors,
    disabled: Option<String>,
}

enum Failed {
    Nothing,
    Create(CreateValues, FormErrors),
    Row(String, FormErrors),
}

async fn render(s: &AppState, actor: &Actor, failed: Failed, status: StatusCode) -> Result<Response, PageError> {
    admin_only(actor)?;
    let layout = Layout::new(s, actor, "Users", "admin").await.or_page(actor)?;
    let list = s.app.list_users(actor).await.or_page(actor)?;
    let (mut create, mut errors, mut row_failed) = (
        CreateValues { roles: role_boxes(&[Role::Developer]), must_reset: true, ..Default::default() },
        FormErrors::none(),
        None,
    );
    match failed {
        Failed::Nothing => {}
        Failed::Create(v, e) => {
            create = v;
            errors = e;
        }
        Failed::Row(id, e) => row_failed = Some((id, e)),
    }
    if let Some((id, e)) = &row_failed
        && !list.iter().any(|u| u.id == *id)
    {
        errors.general.extend(e.all());
    }
    let users = list
        .into_iter()
        .map(|u| UserRow {
            errors: match &row_failed {
                Some((id, e)) if *id == u.id => e.clone(),
                _ => FormErrors::none(),
            },
            roles: role_boxes(&u.roles),
            is_me: u.id == actor.user_id,
            name: u.name.unwrap_or_default(),
            email: u.email.unwrap_or_default(),
            is_demo: u.is_demo,
            must_reset: u.must_reset_password,
            disabled: u.disabled,
            created: u.created_at.format("%Y-%m-%d").to_string(),
            username: u.username,
            id: u.id,
        })
        .collect();
    let page = UsersPage { layout, users, create, errors, disabled: actor.is_demo.then(|| DEMO_REASON.to_string()) };
    Ok((status, page).into_response())
}

async fn page(State(s): State<AppState>, PageUser(actor): PageUser) -> Result<Response, PageError> {
    render(&s, &actor, Failed::Nothing, StatusCode::OK).await
}

async fn create(
    State(s): State<AppState>,
    PageUser(actor): PageUser,
    Form(f): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    admin_only(&actor)?;
    let f = Fields(f);
    let result = match roles_of(&f) {
        Ok(roles) => {
            let input = NewUser {
                username: f.get("username"),
                password: f.0.iter().find(|(k, _)| k == "password").map(|(_, v)| v.clone()).unwrap_or_default(),
                email: Some(f.get("email")).filter(|v| !v.is_empty()),
                name: Some(f.get("name")).filter(|v| !v.is_empty()),
                roles,
                is_demo: f.checked("is_demo"),
                must_reset_password: f.checked("must_reset_password"),
            };
            s.app.create_user(&actor, input).await
        }
        Err(e) => Err(e),
    };
    match result {
        Ok(_) => Ok(Redirect::to("/admin/users").into_response()),
        Err(e) => {
            let held: Vec<Role> = f.all("roles").iter().filter_map(|r| Role::parse_api(r)).collect();
            let values = CreateValues {
                username: f.get("username"),
                email: f.get("email"),
                name: f.get("name"),
                roles: role_boxes(&held),
                is_demo: f.checked("is_demo"),
                must_reset: f.checked("must_reset_password"),
            };
            render(&s, &actor, Failed::Create(values, FormErrors::from(&e)), form_status(&e)).await
        }
    }
}

/// Runs one change to user `id` and answers: back to the list, or the list
/// with the message on that user's row.
async fn apply(
    s: &AppState,
    actor: &Actor,
    id: String,
    patch: Result<UserPatch, AppError>,
) -> Result<Response, PageError> {
    admin_only(actor)?;
    let result = match patch {
        Ok(p) => s.app.update_user(actor, &id, p).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(_) => Ok(Redirect::to(&format!("/admin/users#user-{id}")).into_response()),
        Err(e) => render(s, actor, Failed::Row(id, FormErrors::from(&e)), form_status(&e)).await,
    }
}

async fn update(
    State(s): State<AppState>,
    PageUser(actor): PageUser,
    Path(id): Path<String>,
    Form(f): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let f = Fields(f);
    let patch = roles_of(&f).map(|roles| UserPatch {
        roles: Some(roles),
        is_demo: Some(f.checked("is_demo")),
        must_reset_password: Some(f.checked("must_reset_password")),
        ..Default::default()
    });
    apply(&s, &actor, id, patch).await
}

async fn set_disabled(
    State(s): State<AppState>,
    PageUser(actor): PageUser,
    Path(id): Path<String>,
    Form(f): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let f = Fields(f);
    let patch = match f.get("disabled").as_str() {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(AppError::field("disabled", "must be true or false")),
    }
    .map(|d| UserPatch { disabled: Some(d), ..Default::default() });
    apply(&s, &actor, id, patch).await
}

async fn set_password(
    State(s): State<AppState>,
    PageUser(actor): PageUser,
    Path(id): Path<String>,
    Form(f): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let f = Fields(f);
    let password = f.0.iter().find(|(k, _)| k == "password").map(|(_, v)| v.clone()).unwrap_or_default();
    let patch = UserPatch {
        password: Some(password),
        must_reset_password: Some(f.checked("must_reset_password")),
        ..Default::default()
    };
    apply(&s, &actor, id, Ok(patch)).await
}
