//! Request extractors: JSON bodies and query strings with precise errors,
//! the authenticated caller, and the client's address.

use std::net::SocketAddr;

use axum::{
    body::Bytes,
    extract::{ConnectInfo, FromRequest, FromRequestParts, Request},
    http::{header, request::Parts},
};
use baton_app::{Actor, sessions::ClientInfo};
use baton_domain::validation::{NUL_MESSAGE, find_nul};
use serde::de::DeserializeOwned;

use crate::{AppState, error::ApiError};

/// A JSON body. Syntax errors and wrong content types are 400; well-formed
/// JSON with a missing or mistyped field is 422 naming the field.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let is_json =
            req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|ct| {
                ct.split(';').next().is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"))
            });
        if !is_json {
            return Err(ApiError::malformed("expected a JSON body with Content-Type: application/json"));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::new(e.status(), "payload_too_large", "the request body is too large")
            } else {
                ApiError::malformed(format!("could not read the body: {e}"))
            }
        })?;
        parse_json(&bytes).map(ApiJson)
    }
}

/// Parses JSON the way [`ApiJson`] does.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    // First check syntax alone, so "not JSON" and "wrong fields" get different statuses.
    let value = serde_json::from_slice::<serde_json::Value>(bytes)
        .map_err(|e| ApiError::malformed(format!("the body is not valid JSON: {e}")))?;
    // Postgres cannot store NUL in text and SQLite would: refuse it on both,
    // in any field, before a service sees it.
    if let Some(path) = find_nul(&value) {
        return Err(baton_app::AppError::field(&path, NUL_MESSAGE).into());
    }
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = dotted(&e.path().to_string());
        let inner = e.into_inner().to_string();
        // serde reports a missing field at its parent's path; name the field itself.
        let (path, message) = match inner.split_once("missing field `") {
            Some((_, rest)) => {
                let field = rest.split('`').next().unwrap_or_default();
                let full = if path == "." || path.is_empty() { field.to_string() } else { format!("{path}.{field}") };
                (full, "is required".to_string())
            }
            None => {
                let msg = inner.split(" at line ").next().unwrap_or(&inner).to_string();
                (if path.is_empty() { ".".into() } else { path }, msg)
            }
        };
        baton_app::AppError::field(&path, message).into()
    })
}

/// Query parameters (`?page=2&status=open`) for every `/api` route. A value
/// that does not parse (`page=-1`, `limit=abc`, a number too large, an
/// unknown enum value) or holds a NUL character is 422 naming the parameter,
/// in the JSON error shape, instead of axum's plain-text 400.
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parse_query(parts.uri.query().unwrap_or_default()).map(ApiQuery)
    }
}

/// Parses a query string the way [`ApiQuery`] does.
pub fn parse_query<T: DeserializeOwned>(query: &str) -> Result<T, ApiError> {
    let pairs = || form_urlencoded::parse(query.as_bytes());
    if let Some((name, _)) = pairs().find(|(k, v)| k.contains('\0') || v.contains('\0')) {
        return Err(baton_app::AppError::field(&name.replace('\0', "\\u0000"), NUL_MESSAGE).into());
    }
    // The same decoding as axum's `Query`, keeping the parameter's name.
    let de = serde_urlencoded::Deserializer::new(pairs());
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner().to_string();
        let (path, message) = match inner.split_once("missing field `") {
            Some((_, rest)) => (rest.split('`').next().unwrap_or_default().to_string(), "is required".to_string()),
            None if path.is_empty() || path == "." => ("query".to_string(), inner),
            None => (path, inner),
        };
        baton_app::AppError::field(&path, message).into()
    })
}

/// `items[2].title` → `items.2.title`, the one path style of our errors.
fn dotted(path: &str) -> String {
    path.replace('[', ".").replace(']', "")
}

/// What the authentication middleware found, stored in request extensions.
#[derive(Clone)]
pub enum Auth {
    /// No credentials were sent.
    Anonymous,
    /// A valid session or token.
    User(Box<Actor>),
    /// Credentials were sent but refused (message says why).
    Refused(String),
}

/// The authenticated caller; 401 when there is none.
pub struct Caller(pub Actor);

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        match parts.extensions.get::<Auth>() {
            Some(Auth::User(a)) => Ok(Caller((**a).clone())),
            Some(Auth::Refused(m)) => Err(ApiError::unauthorized(m.clone())),
            _ => Err(ApiError::unauthorized("log in, or send Authorization: Bearer <token>")),
        }
    }
}

/// The caller if authenticated.
pub struct MaybeCaller(pub Option<Actor>);

impl<S: Send + Sync> FromRequestParts<S> for MaybeCaller {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(MaybeCaller(match parts.extensions.get::<Auth>() {
            Some(Auth::User(a)) => Some((**a).clone()),
            _ => None,
        }))
    }
}

/// The client's IP (first `X-Forwarded-For` hop when behind a trusted proxy)
/// and User-Agent.
pub struct Client(pub ClientInfo);

impl FromRequestParts<AppState> for Client {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        Ok(Client(client_info(parts, state)))
    }
}

/// Reads the client address and agent from request parts.
pub fn client_info(parts: &Parts, state: &AppState) -> ClientInfo {
    let forwarded = state
        .http
        .trust_proxy
        .then(|| parts.headers.get("x-forwarded-for").and_then(|v| v.to_str().ok()))
        .flatten()
        .and_then(|v| v.split(',').next())
        .map(|s| s.trim().to_string());
    let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip().to_string());
    ClientInfo {
        ip: forwarded.or(peer).unwrap_or_else(|| "unknown".into()),
        user_agent: parts.headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok()).map(str::to_string),
    }
}
