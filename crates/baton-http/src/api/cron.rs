//! `/api/cron/…`: housekeeping for external schedulers, authenticated by
//! the cron secret (`--cron-secret` / `BATON_CRON_SECRET`), not by a user.
//! Without a configured secret the routes do not exist (404).

use axum::{
    Json,
    extract::State,
    http::{HeaderMap, StatusCode, header},
};
use baton_app::{questions::ExpiredQuestions, secrets::sha256_hex};

use super::responses::{Forbidden, NotFound, Unauthorized};
use crate::{
    AppState,
    error::{ApiError, ApiResult},
};

/// Checks `Authorization: Bearer <cron secret>`. The hashes are compared,
/// so timing tells nothing about the secret.
fn check_secret(s: &AppState, headers: &HeaderMap) -> ApiResult<()> {
    let Some(secret) = s.app.config.cron_secret.as_deref().filter(|v| !v.is_empty()) else {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "cron routes are disabled: no cron secret is configured (--cron-secret / BATON_CRON_SECRET)",
        ));
    };
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, t)| t.trim());
    match given {
        Some(t) if sha256_hex(t) == sha256_hex(secret) => Ok(()),
        Some(_) => Err(ApiError::unauthorized("wrong cron secret")),
        None => Err(ApiError::unauthorized("send Authorization: Bearer <cron secret>")),
    }
}

/// Expires every open question past its deadline; answers how many.
#[utoipa::path(post, path = "/cron/expire-questions", tag = "cron", security(("bearer" = [])),
    responses((status = 200, body = ExpiredQuestions), Unauthorized, Forbidden, NotFound))]
pub async fn expire_questions(State(s): State<AppState>, headers: HeaderMap) -> ApiResult<Json<ExpiredQuestions>> {
    check_secret(&s, &headers)?;
    Ok(Json(s.app.expire_questions().await?))
}
