//! Server-rendered pages. They work without JavaScript and call the same
//! services as the REST API; handlers only read forms, call one service
//! function and render.

use askama::Template;
use askama_web::WebTemplate;
use axum::{
    Form, Router,
    extract::{Path, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Redirect, Response},
    routing::{get, post},
};
use baton_app::{Actor, AppError, accounts::NewUser, tokens::NewToken};
use serde::Deserialize;

use crate::{
    AppState,
    extract::{Client, MaybeCaller},
    middleware::{SESSION_COOKIE, cookie},
};

/// The page routes and embedded static files.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(home))
        .route("/setup", get(setup_form).post(setup_submit))
        .route("/login", get(login_form).post(login_submit))
        .route("/logout", post(logout))
        .route("/reset-password", get(reset_form).post(reset_submit))
        .route("/settings/tokens", get(tokens_page).post(tokens_create))
        .route("/settings/tokens/{id}/revoke", post(tokens_revoke))
        .route("/static/app.css", get(css))
}

async fn css() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8"), (header::CACHE_CONTROL, "public, max-age=3600")],
        include_str!("../../static/app.css"),
    )
}

#[derive(Template, WebTemplate)]
#[template(path = "message.html")]
struct MessagePage {
    nav_user: Option<String>,
    nav_demo: bool,
    heading: String,
    message: String,
    back: String,
}

fn message(status: StatusCode, heading: &str, message: &str, back: &str) -> Response {
    let page = MessagePage {
        nav_user: None,
        nav_demo: false,
        heading: heading.into(),
        message: message.into(),
        back: back.into(),
    };
    (status, page).into_response()
}

/// The page shown when a demo user tries to change something.
pub fn demo_refused() -> Response {
    message(
        StatusCode::FORBIDDEN,
        "Read-only demo",
        "Demo accounts are read-only: they can look at everything but cannot change anything. Nothing was changed.",
        "/",
    )
}

/// A service error as a page (for errors not shown inside a form).
fn error_page(e: AppError) -> Response {
    let api = crate::error::ApiError::from(e);
    message(api.status, "Something went wrong", &api.message, "/")
}

fn messages(e: &AppError) -> Vec<String> {
    match e {
        AppError::Validation(v) => v.0.iter().map(|f| format!("{}: {}", f.path.replace('_', " "), f.message)).collect(),
        other => vec![crate::error::ApiError::from(other.clone()).message],
    }
}

fn session_cookie(state: &AppState, value: &str, max_age_secs: i64) -> HeaderValue {
    let secure = if state.http.secure_cookies() { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{SESSION_COOKIE}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age_secs}{secure}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static(""))
}

fn redirect_with_cookie(to: &str, cookie: HeaderValue) -> Response {
    let mut res = Redirect::to(to).into_response();
    res.headers_mut().insert(header::SET_COOKIE, cookie);
    res
}

/// Where a logged-in user must go first, if anywhere.
fn gate(actor: &Actor) -> Option<Response> {
    actor.must_reset_password.then(|| Redirect::to("/reset-password").into_response())
}

#[derive(Template, WebTemplate)]
#[template(path = "home.html")]
struct HomePage {
    nav_user: Option<String>,
    nav_demo: bool,
    username: String,
    is_demo: bool,
    roles: Vec<String>,
}

async fn home(State(s): State<AppState>, MaybeCaller(actor): MaybeCaller) -> Response {
    match s.app.needs_setup().await {
        Ok(true) => return Redirect::to("/setup").into_response(),
        Ok(false) => {}
        Err(e) => return error_page(e),
    }
    let Some(actor) = actor else { return Redirect::to("/login").into_response() };
    if let Some(r) = gate(&actor) {
        return r;
    }
    HomePage {
        nav_user: Some(actor.username.clone()),
        nav_demo: actor.is_demo,
        roles: actor.roles.iter().map(|r| r.as_api()).collect(),
        username: actor.username,
        is_demo: actor.is_demo,
    }
    .into_response()
}

#[derive(Template, WebTemplate)]
#[template(path = "setup.html")]
struct SetupPage {
    nav_user: Option<String>,
    nav_demo: bool,
    errors: Vec<String>,
    username: String,
    email: String,
}

#[derive(Deserialize)]
struct SetupForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    password_confirm: String,
}

async fn setup_form(State(s): State<AppState>) -> Response {
    match s.app.needs_setup().await {
        Ok(true) => {
            SetupPage { nav_user: None, nav_demo: false, errors: vec![], username: String::new(), email: String::new() }
                .into_response()
        }
        Ok(false) => Redirect::to("/login").into_response(),
        Err(e) => error_page(e),
    }
}

async fn setup_submit(State(s): State<AppState>, Client(client): Client, Form(f): Form<SetupForm>) -> Response {
    let page = |errors: Vec<String>, f: &SetupForm| {
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            SetupPage { nav_user: None, nav_demo: false, errors, username: f.username.clone(), email: f.email.clone() },
        )
            .into_response()
    };
    if f.password != f.password_confirm {
        return page(vec!["password confirm: does not match the password".into()], &f);
    }
    let input = NewUser {
        username: f.username.clone(),
        password: f.password.clone(),
        email: Some(f.email.clone()),
        ..Default::default()
    };
    match s.app.setup_first_admin(input).await {
        Ok(_) => match s.app.login(&f.username, &f.password, &client).await {
            Ok(sess) => redirect_with_cookie(
                "/",
                session_cookie(&s, &sess.cookie_value, s.app.config.session_idle.as_secs() as i64),
            ),
            Err(e) => error_page(e),
        },
        Err(AppError::Conflict(_)) => Redirect::to("/login").into_response(),
        Err(e) => page(messages(&e), &f),
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "login.html")]
struct LoginPage {
    nav_user: Option<String>,
    nav_demo: bool,
    errors: Vec<String>,
    username: String,
}

#[derive(Deserialize)]
struct LoginForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
}

async fn login_form(State(s): State<AppState>, MaybeCaller(actor): MaybeCaller) -> Response {
    if actor.is_some() {
        return Redirect::to("/").into_response();
    }
    if matches!(s.app.needs_setup().await, Ok(true)) {
        return Redirect::to("/setup").into_response();
    }
    LoginPage { nav_user: None, nav_demo: false, errors: vec![], username: String::new() }.into_response()
}

async fn login_submit(State(s): State<AppState>, Client(client): Client, Form(f): Form<LoginForm>) -> Response {
    match s.app.login(&f.username, &f.password, &client).await {
        Ok(sess) => {
            let to = if sess.user.must_reset_password { "/reset-password" } else { "/" };
            redirect_with_cookie(to, session_cookie(&s, &sess.cookie_value, s.app.config.session_idle.as_secs() as i64))
        }
        Err(e) => {
            let status = crate::error::ApiError::from(e.clone()).status;
            let mut res = (
                status,
                LoginPage { nav_user: None, nav_demo: false, errors: messages(&e), username: f.username.clone() },
            )
                .into_response();
            if let AppError::RateLimited { retry_after_secs } = e
                && let Ok(v) = HeaderValue::from_str(&retry_after_secs.to_string())
            {
                res.headers_mut().insert(header::RETRY_AFTER, v);
            }
            res
        }
    }
}

async fn logout(State(s): State<AppState>, headers: HeaderMap) -> Response {
    if let Some(c) = cookie(&headers, SESSION_COOKIE)
        && let Err(e) = s.app.logout(c).await
    {
        return error_page(e);
    }
    redirect_with_cookie("/login", session_cookie(&s, "", 0))
}

#[derive(Template, WebTemplate)]
#[template(path = "reset.html")]
struct ResetPage {
    nav_user: Option<String>,
    nav_demo: bool,
    errors: Vec<String>,
    forced: bool,
}

#[derive(Deserialize)]
struct ResetForm {
    #[serde(default)]
    current_password: String,
    #[serde(default)]
    new_password: String,
    #[serde(default)]
    new_password_confirm: String,
}

async fn reset_form(MaybeCaller(actor): MaybeCaller) -> Response {
    let Some(actor) = actor else { return Redirect::to("/login").into_response() };
    ResetPage {
        nav_user: Some(actor.username.clone()),
        nav_demo: actor.is_demo,
        errors: vec![],
        forced: actor.must_reset_password,
    }
    .into_response()
}

async fn reset_submit(
    State(s): State<AppState>,
    MaybeCaller(actor): MaybeCaller,
    Form(f): Form<ResetForm>,
) -> Response {
    let Some(actor) = actor else { return Redirect::to("/login").into_response() };
    let result = if f.new_password != f.new_password_confirm {
        Err(AppError::field("new_password_confirm", "does not match the new password"))
    } else {
        s.app.change_own_password(&actor, &f.current_password, &f.new_password).await
    };
    match result {
        Ok(()) => Redirect::to("/").into_response(),
        Err(e) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            ResetPage {
                nav_user: Some(actor.username.clone()),
                nav_demo: actor.is_demo,
                errors: messages(&e),
                forced: actor.must_reset_password,
            },
        )
            .into_response(),
    }
}

struct TokenRow {
    id: String,
    label: String,
    prefix: String,
    created: String,
    expires: String,
    last_used: String,
    state: &'static str,
    active: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "tokens.html")]
struct TokensPage {
    nav_user: Option<String>,
    nav_demo: bool,
    is_demo: bool,
    errors: Vec<String>,
    created: Option<String>,
    tokens: Vec<TokenRow>,
    public_url: String,
}

fn fmt_time(t: Option<chrono::DateTime<chrono::Utc>>, none: &str) -> String {
    t.map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string()).unwrap_or_else(|| none.to_string())
}

async fn render_tokens(
    s: &AppState,
    actor: &Actor,
    status: StatusCode,
    errors: Vec<String>,
    created: Option<String>,
) -> Response {
    let tokens = match s.app.list_tokens(actor, &actor.user_id).await {
        Ok(t) => t,
        Err(e) => return error_page(e),
    };
    let tokens = tokens
        .into_iter()
        .map(|t| TokenRow {
            state: if t.revoked_at.is_some() {
                "revoked"
            } else if t.active {
                "active"
            } else {
                "expired"
            },
            active: t.active,
            id: t.id,
            label: t.label.unwrap_or_default(),
            prefix: t.prefix,
            created: fmt_time(Some(t.created_at), ""),
            expires: fmt_time(t.expires_at, "never"),
            last_used: fmt_time(t.last_used_at, "never"),
        })
        .collect();
    let page = TokensPage {
        nav_user: Some(actor.username.clone()),
        nav_demo: actor.is_demo,
        is_demo: actor.is_demo,
        errors,
        created,
        tokens,
        public_url: s.http.public_url.trim_end_matches('/').to_string(),
    };
    let mut res = (status, page).into_response();
    // The page may hold a secret: never cache it.
    res.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

async fn tokens_page(State(s): State<AppState>, MaybeCaller(actor): MaybeCaller) -> Response {
    let Some(actor) = actor else { return Redirect::to("/login").into_response() };
    if let Some(r) = gate(&actor) {
        return r;
    }
    render_tokens(&s, &actor, StatusCode::OK, vec![], None).await
}

#[derive(Deserialize)]
struct TokenForm {
    #[serde(default)]
    label: String,
    #[serde(default)]
    expires_in_days: String,
}

async fn tokens_create(
    State(s): State<AppState>,
    MaybeCaller(actor): MaybeCaller,
    Form(f): Form<TokenForm>,
) -> Response {
    let Some(actor) = actor else { return Redirect::to("/login").into_response() };
    if let Some(r) = gate(&actor) {
        return r;
    }
    let days = f.expires_in_days.trim();
    let expires_in_days = if days.is_empty() {
        Ok(None)
    } else {
        days.parse::<u32>().map(Some).map_err(|_| AppError::field("expires_in_days", "must be a whole number of days"))
    };
    let result = match expires_in_days {
        Ok(expires_in_days) => {
            let input = NewToken { label: f.label, product_ids: vec![], expires_in_days };
            s.app.create_token(&actor, &actor.user_id, input).await
        }
        Err(e) => Err(e),
    };
    match result {
        Ok(created) => render_tokens(&s, &actor, StatusCode::CREATED, vec![], Some(created.token)).await,
        Err(e) => render_tokens(&s, &actor, StatusCode::UNPROCESSABLE_ENTITY, messages(&e), None).await,
    }
}

async fn tokens_revoke(State(s): State<AppState>, MaybeCaller(actor): MaybeCaller, Path(id): Path<String>) -> Response {
    let Some(actor) = actor else { return Redirect::to("/login").into_response() };
    match s.app.revoke_token(&actor, &id).await {
        Ok(_) => Redirect::to("/settings/tokens").into_response(),
        Err(e) => error_page(e),
    }
}
