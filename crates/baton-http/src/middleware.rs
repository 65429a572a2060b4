//! The middleware stack: request ids and tracing, authentication (once per
//! request), CSRF checks for browser writes, the demo read-only guard,
//! security headers and body limits.

use axum::{
    Router,
    body::Body,
    extract::{Request, State},
    http::{HeaderName, HeaderValue, Method, StatusCode, header},
    middleware::{Next, from_fn, from_fn_with_state},
    response::{IntoResponse, Response},
};
use tower::{Layer, ServiceBuilder, ServiceExt};
use tower_http::{
    LatencyUnit,
    catch_panic::CatchPanicLayer,
    compression::CompressionLayer,
    limit::RequestBodyLimitLayer,
    request_id::{MakeRequestUuid, PropagateRequestIdLayer, RequestId, SetRequestIdLayer},
    sensitive_headers::SetSensitiveRequestHeadersLayer,
    set_header::SetResponseHeaderLayer,
    trace::{DefaultOnResponse, TraceLayer},
};

use crate::{AppState, error::ApiError, extract::Auth};

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "baton_session";

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The Content-Security-Policy: our own scripts and styles only, no inline
/// script, no framing.
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'";

/// Wraps the application in the middleware stack.
pub fn wrap(app: Router, state: AppState) -> Router {
    let limits = (state.http.body_limit, state.http.upload_limit);
    app.layer(from_fn(demo_guard))
        .layer(from_fn_with_state(state.clone(), authenticate))
        .layer(from_fn_with_state(state, csrf_guard))
        .layer(
            ServiceBuilder::new()
                .layer(SetSensitiveRequestHeadersLayer::new([header::AUTHORIZATION, header::COOKIE]))
                .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
                // gzip when the client asks; never for event streams (the
                // default predicate skips text/event-stream and images).
                .layer(CompressionLayer::new())
                .layer(TraceLayer::new_for_http().make_span_with(|req: &Request<Body>| {
                    let id = req.extensions().get::<RequestId>().and_then(|r| r.header_value().to_str().ok()).unwrap_or("-");
                    tracing::info_span!("request", method = %req.method(), path = %req.uri().path(), request_id = %id, user = tracing::field::Empty)
                }).on_response(DefaultOnResponse::new().level(tracing::Level::INFO).latency_unit(LatencyUnit::Micros)))
                .layer(PropagateRequestIdLayer::new(REQUEST_ID))
                .layer(CatchPanicLayer::custom(|_| {
                    ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal_error", "something went wrong on our side")
                        .into_response()
                }))
                .layer(SetResponseHeaderLayer::if_not_present(
                    header::CONTENT_SECURITY_POLICY,
                    HeaderValue::from_static(CSP),
                ))
                .layer(SetResponseHeaderLayer::overriding(
                    header::X_CONTENT_TYPE_OPTIONS,
                    HeaderValue::from_static("nosniff"),
                ))
                .layer(SetResponseHeaderLayer::overriding(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")))
                .layer(SetResponseHeaderLayer::overriding(
                    header::REFERRER_POLICY,
                    HeaderValue::from_static("same-origin"),
                ))
                .layer(from_fn_with_state(limits, api_json_errors))
                .layer(from_fn_with_state(limits, body_limit)),
        )
}

/// Routes that take files (`POST`), whose bodies may reach `upload_limit`
/// instead of `body_limit`: project documents and BMAD imports.
fn is_upload(req: &Request) -> bool {
    let path = req.uri().path();
    req.method() == Method::POST
        && ((path.starts_with("/api/projects/") && (path.ends_with("/documents") || path.ends_with("/import/bmad")))
            // The documents page's upload form.
            || (path.starts_with("/projects/") && path.ends_with("/documents")))
}

/// The request body limit: `body_limit` for everything but uploads. Bodies
/// announcing a larger length get 413 at once; others are cut off when they
/// pass the limit.
async fn body_limit(State((body, upload)): State<(usize, usize)>, req: Request, next: Next) -> Response {
    let limit = if is_upload(&req) { upload } else { body };
    // The limit wraps the body in its own type; the rest of the stack takes `Body`.
    let inner = next.map_request(|r: axum::http::Request<_>| r.map(Body::new));
    match RequestBodyLimitLayer::new(limit).layer(inner).oneshot(req).await {
        Ok(res) => res.map(Body::new),
        Err(never) => match never {},
    }
}

fn is_api(path: &str) -> bool {
    path == "/api" || path.starts_with("/api/")
}

/// Every `/api` answer is the JSON error shape, also those made outside our
/// handlers: the body limit's 413 (plain text when the request announced its
/// length), the router's 405 (empty body) and 404 (empty, for `/api/`), and
/// axum's own rejections. Their status and headers (`Allow`) are kept.
/// A URL path holding an encoded NUL is refused here, before any route.
async fn api_json_errors(State((body, upload)): State<(usize, usize)>, req: Request, next: Next) -> Response {
    let path = req.uri().path().to_string();
    if !is_api(&path) {
        return next.run(req).await;
    }
    // The limit the 413 names is the one that applied (uploads have their own).
    let limit = if is_upload(&req) { upload } else { body };
    if path.contains("%00") {
        return ApiError::from(baton_app::AppError::field("path", baton_domain::validation::NUL_MESSAGE))
            .into_response();
    }
    let method = req.method().clone();
    let res = next.run(req).await;
    let status = res.status();
    let is_json = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/json"));
    if is_json || !(status.is_client_error() || status.is_server_error()) {
        return res;
    }
    let (parts, body) = res.into_parts();
    // Bodies of these answers are a line at most; a longer one is not shown.
    let text = axum::body::to_bytes(body, 4096)
        .await
        .ok()
        .map(|b| String::from_utf8_lossy(&b).trim().to_string())
        .filter(|t| !t.is_empty());
    let error = match status {
        StatusCode::NOT_FOUND => ApiError::route_not_found(&path),
        StatusCode::METHOD_NOT_ALLOWED => ApiError::new(
            status,
            "method_not_allowed",
            format!("{method} is not allowed on {path}; the Allow header lists the methods that are"),
        ),
        StatusCode::PAYLOAD_TOO_LARGE => {
            ApiError::new(status, "payload_too_large", format!("the request body is larger than {limit} bytes"))
        }
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ApiError::new(
            status,
            "unsupported_media_type",
            text.unwrap_or_else(|| "send Content-Type: application/json".into()),
        ),
        StatusCode::BAD_REQUEST => ApiError::malformed(text.unwrap_or_else(|| "the request is malformed".into())),
        s if s.is_server_error() => {
            tracing::error!(status = %s, body = text.as_deref().unwrap_or_default(), "non-JSON error answer");
            ApiError::new(s, "internal_error", "something went wrong on our side")
        }
        s => ApiError::new(s, "http_error", text.unwrap_or_else(|| s.canonical_reason().unwrap_or("error").into())),
    };
    let mut res = error.into_response();
    let fresh: Vec<HeaderName> = res.headers().keys().cloned().collect();
    for (name, value) in &parts.headers {
        if name != header::CONTENT_LENGTH && !fresh.contains(name) {
            res.headers_mut().append(name.clone(), value.clone());
        }
    }
    res
}

/// `/mcp` authenticates by Bearer token only, in its own gate (cookies are
/// ignored there, so CSRF cannot apply, and demo callers may use its read tools).
fn is_mcp(path: &str) -> bool {
    path == "/mcp" || path.starts_with("/mcp/")
}

fn is_write(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

fn bearer(req: &Request) -> Option<&str> {
    let v = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = v.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then_some(token.trim())
}

/// Reads one cookie's value from the request.
pub fn cookie<'a>(req: &'a axum::http::HeaderMap, name: &str) -> Option<&'a str> {
    req.get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// Resolves the caller once per request (Bearer token first, then session
/// cookie) and stores the outcome for the extractors.
async fn authenticate(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let path = req.uri().path();
    let auth = if path.starts_with("/static/") || path == "/api/health" || is_mcp(path) {
        Auth::Anonymous
    } else if let Some(token) = bearer(&req) {
        match state.app.token_actor(token).await {
            Ok(actor) => Auth::User(Box::new(actor)),
            Err(baton_app::AppError::Unauthorized(m)) => Auth::Refused(m),
            Err(e) => return ApiError::from(e).into_response(),
        }
    } else if let Some(c) = cookie(req.headers(), SESSION_COOKIE) {
        match state.app.session_actor(c).await {
            Ok(Some(actor)) => Auth::User(Box::new(actor)),
            Ok(None) => Auth::Anonymous,
            Err(e) => return ApiError::from(e).into_response(),
        }
    } else {
        Auth::Anonymous
    };
    if let Auth::User(a) = &auth {
        tracing::Span::current().record("user", a.username.as_str());
    }
    req.extensions_mut().insert(auth);
    next.run(req).await
}

/// Refuses cross-site browser writes. Requests authenticated by a Bearer
/// token are not sent automatically by browsers and need no check; every
/// other write must come from our own origin (Sec-Fetch-Site or Origin).
async fn csrf_guard(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if !is_write(req.method()) || bearer(&req).is_some() || is_mcp(req.uri().path()) {
        return next.run(req).await;
    }
    let is_api = req.uri().path().starts_with("/api/");
    let has_session = cookie(req.headers(), SESSION_COOKIE).is_some();
    if is_api && !has_session {
        // No ambient credentials: nothing a forged request could use.
        return next.run(req).await;
    }
    if same_origin(&req, &state.http.public_url) {
        return next.run(req).await;
    }
    ApiError::new(
        StatusCode::FORBIDDEN,
        "csrf_failed",
        "cross-site request refused: send writes from Baton's own pages, or use a Bearer token",
    )
    .into_response()
}

fn same_origin(req: &Request, public_url: &str) -> bool {
    let h = req.headers();
    if let Some(site) = h.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        return site == "same-origin" || site == "none";
    }
    let Some(origin) = h.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else { return false };
    let host = h.get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let origin_host = origin.split_once("://").map(|(_, rest)| rest).unwrap_or(origin);
    origin_host == host || origin.trim_end_matches('/') == public_url.trim_end_matches('/')
}

/// Demo users are read-only on every route: one guard, so no route can
/// forget it. Logging in and out stays possible.
async fn demo_guard(req: Request, next: Next) -> Response {
    let is_demo = matches!(req.extensions().get::<Auth>(), Some(Auth::User(a)) if a.is_demo);
    let path = req.uri().path();
    if is_demo && is_write(req.method()) && path != "/login" && path != "/logout" {
        if path.starts_with("/api/") {
            return ApiError::from(baton_app::AppError::DemoReadOnly).into_response();
        }
        return crate::pages::demo_refused().into_response();
    }
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookie_parsing_finds_the_named_cookie_only() {
        let mut h = axum::http::HeaderMap::new();
        h.insert(header::COOKIE, HeaderValue::from_static("a=1; baton_session=abc; b=2"));
        assert_eq!(cookie(&h, SESSION_COOKIE), Some("abc"));
        assert_eq!(cookie(&h, "c"), None);
    }
}
