//! `/settings/tokens`: the caller's API tokens (create, list, revoke).

use askama::Template;
use askama_web::WebTemplate;
use axum::{
    Form, Router,
    extract::{Path, State},
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Redirect, Response},
    routing::{get, post},
};
use baton_app::{Actor, AppError, tokens::NewToken};
use serde::Deserialize;

use super::layout::{FormErrors, Layout, PageError, PageUser, form_status};
use crate::AppState;

/// The routes of this module.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/settings/tokens", get(tokens_page).post(tokens_create))
        .route("/settings/tokens/{id}/revoke", post(tokens_revoke))
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
#[template(path = "tokens/index.html")]
struct TokensPage {
    layout: Layout,
    is_demo: bool,
    errors: FormErrors,
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
    errors: FormErrors,
    created: Option<String>,
) -> Response {
    let tokens = match s.app.list_tokens(actor, &actor.user_id).await {
        Ok(t) => t,
        Err(e) => return PageError::new(actor, e).into_response(),
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
        layout: match Layout::new(s, actor, "API tokens", "tokens").await {
            Ok(l) => l,
            Err(e) => return PageError::new(actor, e).into_response(),
        },
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

async fn tokens_page(State(s): State<AppState>, PageUser(actor): PageUser) -> Response {
    render_tokens(&s, &actor, StatusCode::OK, FormErrors::none(), None).await
}

#[derive(Deserialize)]
struct TokenForm {
    #[serde(default)]
    label: String,
    #[serde(default)]
    expires_in_days: String,
}

async fn tokens_create(State(s): State<AppState>, PageUser(actor): PageUser, Form(f): Form<TokenForm>) -> Response {
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
        Ok(created) => render_tokens(&s, &actor, StatusCode::CREATED, FormErrors::none(), Some(created.token)).await,
        Err(e) => render_tokens(&s, &actor, form_status(&e), FormErrors::from(&e), None).await,
    }
}

async fn tokens_revoke(State(s): State<AppState>, PageUser(actor): PageUser, Path(id): Path<String>) -> Response {
    match s.app.revoke_token(&actor, &id).await {
        Ok(_) => Redirect::to("/settings/tokens").into_response(),
        Err(e) => PageError::new(&actor, e).into_response(),
    }
}
