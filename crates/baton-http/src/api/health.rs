//! `GET /api/health`: liveness, and with `?db=1` the database too.

use axum::{Json, extract::State, http::StatusCode};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::responses::Invalid;
use crate::{AppState, extract::ApiQuery};

/// Health query.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HealthQuery {
    /// `1` to also check the database.
    pub db: Option<String>,
}

/// Health answer.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Health {
    /// `ok`, or `degraded` when the database is down.
    pub status: &'static str,
    /// Baton's version.
    pub version: &'static str,
    /// Server time (UTC).
    pub time: DateTime<Utc>,
    /// `ok` or `down` (only with `?db=1`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database: Option<&'static str>,
}

/// Reports that the server is up; no authentication.
#[utoipa::path(get, path = "/health", tag = "system", params(HealthQuery),
    responses((status = 200, body = Health), (status = 503, description = "database down", body = Health), Invalid))]
pub async fn health(State(s): State<AppState>, ApiQuery(q): ApiQuery<HealthQuery>) -> (StatusCode, Json<Health>) {
    let mut h = Health { status: "ok", version: env!("CARGO_PKG_VERSION"), time: Utc::now(), database: None };
    if q.db.as_deref().is_some_and(|v| v == "1" || v == "true") {
        if s.app.database_ok().await {
            h.database = Some("ok");
        } else {
            h.database = Some("down");
            h.status = "degraded";
            return (StatusCode::SERVICE_UNAVAILABLE, Json(h));
        }
    }
    (StatusCode::OK, Json(h))
}
