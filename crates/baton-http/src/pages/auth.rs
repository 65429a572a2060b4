//! First-run set-up, log-in, log-out and the password change.

use askama::Template;
use askama_web::WebTemplate;
use axum::{
    Form, Router,
    extract::State,
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Redirect, Response},
    routing::{get, post},
};
use baton_app::{AppError, accounts::NewUser};
use serde::Deserialize;

use super::layout::{FormErrors, Layout, PageError};
use crate::{
    AppState,
    extract::{Client, MaybeCaller},
    middleware::{SESSION_COOKIE, cookie},
};

/// The routes of this module.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/setup", get(setup_form).post(setup_submit))
        .route("/login", get(login_form).post(login_submit))
        .route("/logout", post(logout))
        .route("/reset-password", get(reset_form).post(reset_submit))
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

#[derive(Template, WebTemplate)]
#[template(path = "auth/setup.html")]
struct SetupPage {
    layout: Layout,
    errors: FormErrors,
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
        Ok(true) => SetupPage {
            layout: Layout::anonymous("Set up"),
            errors: FormErrors::none(),
            username: String::new(),
            email: String::new(),
        }
        .into_response(),
        Ok(false) => Redirect::to("/login").into_response(),
        Err(e) => PageError::anonymous(e).into_response(),
    }
}

async fn setup_submit(State(s): State<AppState>, Client(client): Client, Form(f): Form<SetupForm>) -> Response {
    let page = |errors: FormErrors, f: &SetupForm| {
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            SetupPage {
                layout: Layout::anonymous("Set up"),
                errors,
                username: f.username.clone(),
                email: f.email.clone(),
            },
        )
            .into_response()
    };
    if f.password != f.password_confirm {
        return page(FormErrors::from(&AppError::field("password_confirm", "does not match the password")), &f);
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
            Err(e) => PageError::anonymous(e).into_response(),
        },
        Err(AppError::Conflict(_)) => Redirect::to("/login").into_response(),
        Err(e) => page(FormErrors::from(&e), &f),
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "auth/login.html")]
struct LoginPage {
    layout: Layout,
    errors: FormErrors,
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
    LoginPage { layout: Layout::anonymous("Log in"), errors: FormErrors::none(), username: String::new() }
        .into_response()
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
                LoginPage {
                    layout: Layout::anonymous("Log in"),
                    errors: FormErrors::from(&e),
                    username: f.username.clone(),
                },
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
        return PageError::anonymous(e).into_response();
    }
    redirect_with_cookie("/login", session_cookie(&s, "", 0))
}

#[derive(Template, WebTemplate)]
#[template(path = "auth/reset.html")]
struct ResetPage {
    layout: Layout,
    errors: FormErrors,
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
        layout: Layout::bare(&actor, "New password"),
        errors: FormErrors::none(),
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
                layout: Layout::bare(&actor, "New password"),
                errors: FormErrors::from(&e),
                forced: actor.must_reset_password,
            },
        )
            .into_response(),
    }
}
