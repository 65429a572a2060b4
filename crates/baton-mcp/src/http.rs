//! MCP over Streamable HTTP, stateless: every POST carries
//! `Authorization: Bearer <api token>` and is answered on its own.
//!
//! In front of rmcp's service sits one gate:
//! - anything but POST → 405 with `Allow: POST` (there are no sessions to
//!   resume or delete);
//! - no Bearer token → 401 with JSON-RPC error `-32001` "Missing Bearer token";
//! - an unknown, revoked or expired token → 401 with `-32001` and the reason;
//! - otherwise the caller's `Actor` goes into the request's extensions,
//!   where the tools find it.
//!
//! rmcp then checks `Host` and `Origin` against the allowlists (DNS
//! rebinding and cross-site protection): by default the public URL's origin
//! and loopback hosts, plus whatever `BATON_MCP_ALLOWED_ORIGINS` adds.

use std::sync::Arc;

use axum::{
    Router,
    extract::{Request, State},
    http::{HeaderValue, Method, StatusCode, header},
    middleware::{Next, from_fn_with_state},
    response::{IntoResponse, Response},
};
use baton_app::{App, AppError};
use rmcp::transport::streamable_http_server::{
    StreamableHttpServerConfig, StreamableHttpService, session::never::NeverSessionManager,
};
use serde_json::json;

use crate::{BatonMcp, Profile};

/// The JSON-RPC error code of an authentication failure.
pub const UNAUTHORIZED_CODE: i64 = -32001;

/// Settings of the HTTP transport.
#[derive(Debug, Clone)]
pub struct HttpSettings {
    /// Which tools to offer.
    pub profile: Profile,
    /// Accepted `Origin` values (`scheme://host:port`, `:*` for any port).
    pub allowed_origins: Vec<String>,
    /// Accepted `Host` values (`host` for any port, or `host:port`).
    pub allowed_hosts: Vec<String>,
}

impl Default for HttpSettings {
    fn default() -> Self {
        HttpSettings::new("http://127.0.0.1:8080", "", Profile::Core)
    }
}

/// `(scheme, host, port)` of a URL like `https://baton.example.com:8443/x`.
fn split_url(url: &str) -> Option<(String, String, Option<u16>)> {
    let (scheme, rest) = url.trim().split_once("://")?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let authority = authority.rsplit_once('@').map_or(authority, |(_, a)| a);
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let (h, after) = v6.split_once(']')?;
        (format!("[{h}]"), after.strip_prefix(':').and_then(|p| p.parse().ok()))
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h.to_string(), p.parse().ok()),
            None => (authority.to_string(), None),
        }
    };
    if host.is_empty() {
        return None;
    }
    Some((scheme.to_ascii_lowercase(), host.to_ascii_lowercase(), port))
}

impl HttpSettings {
    /// Settings for a server reached at `public_url`: its origin and loopback
    /// origins are allowed, plus `extra_origins` (comma-separated, e.g. the
    /// value of `BATON_MCP_ALLOWED_ORIGINS`; `*` accepts any Origin and Host).
    pub fn new(public_url: &str, extra_origins: &str, profile: Profile) -> Self {
        let mut origins: Vec<String> =
            vec!["http://localhost:*".into(), "http://127.0.0.1:*".into(), "http://[::1]:*".into()];
        let mut hosts: Vec<String> = vec!["localhost".into(), "127.0.0.1".into(), "[::1]".into(), "::1".into()];
        let extra: Vec<&str> = extra_origins.split(',').map(str::trim).filter(|s| !s.is_empty()).collect();
        if extra.contains(&"*") {
            return HttpSettings { profile, allowed_origins: Vec::new(), allowed_hosts: Vec::new() };
        }
        for url in std::iter::once(public_url).chain(extra.iter().copied()) {
            if let Some((scheme, host, port)) = split_url(url) {
                let port = port.unwrap_or(if scheme == "https" { 443 } else { 80 });
                origins.push(format!("{scheme}://{host}:{port}"));
                hosts.push(host);
            }
        }
        origins.dedup();
        hosts.dedup();
        HttpSettings { profile, allowed_origins: origins, allowed_hosts: hosts }
    }
}

/// The `/mcp` service, to be mounted with `nest_service("/mcp", …)`.
pub fn router(app: Arc<App>, settings: HttpSettings) -> Router {
    let config = StreamableHttpServerConfig::default()
        .with_legacy_session_mode(false)
        .with_json_response(true)
        .with_sse_keep_alive(None)
        .with_allowed_hosts(settings.allowed_hosts.clone())
        .with_allowed_origins(settings.allowed_origins.clone());
    let server = BatonMcp::http(app.clone(), settings.profile);
    let service =
        StreamableHttpService::new(move || Ok(server.clone()), Arc::new(NeverSessionManager::default()), config);
    Router::new().fallback_service(service).layer(from_fn_with_state(app, gate))
}

fn rpc_error(status: StatusCode, code: i64, message: &str) -> Response {
    let body = json!({"jsonrpc": "2.0", "id": null, "error": {"code": code, "message": message}});
    let mut res = (status, axum::Json(body)).into_response();
    if status == StatusCode::UNAUTHORIZED {
        res.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    }
    res
}

fn bearer(req: &Request) -> Option<&str> {
    let v = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = v.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// Method check and Bearer authentication in front of the MCP service.
async fn gate(State(app): State<Arc<App>>, mut req: Request, next: Next) -> Response {
    if req.method() != Method::POST {
        let mut res =
            (StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed: MCP here is stateless, use POST").into_response();
        res.headers_mut().insert(header::ALLOW, HeaderValue::from_static("POST"));
        return res;
    }
    let Some(token) = bearer(&req) else {
        return rpc_error(StatusCode::UNAUTHORIZED, UNAUTHORIZED_CODE, "Missing Bearer token");
    };
    match app.token_actor(token).await {
        Ok(actor) => {
            tracing::Span::current().record("user", actor.username.as_str());
            req.extensions_mut().insert(Arc::new(actor));
            next.run(req).await
        }
        Err(AppError::Unauthorized(m)) => {
            rpc_error(StatusCode::UNAUTHORIZED, UNAUTHORIZED_CODE, &format!("Invalid or revoked token: {m}"))
        }
        Err(e) => {
            tracing::error!(error = %e, "MCP authentication failed");
            rpc_error(StatusCode::INTERNAL_SERVER_ERROR, -32603, "internal error")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_public_origin_and_loopback_are_allowed_by_default() {
        let s = HttpSettings::new("https://baton.example.com", "", Profile::Core);
        assert!(s.allowed_origins.contains(&"https://baton.example.com:443".to_string()));
        assert!(s.allowed_origins.contains(&"http://localhost:*".to_string()));
        assert!(s.allowed_hosts.contains(&"baton.example.com".to_string()));
        let s = HttpSettings::new("http://127.0.0.1:8080", "https://a.example:8443, http://b.example", Profile::All);
        assert!(s.allowed_origins.contains(&"http://127.0.0.1:8080".to_string()));
        assert!(s.allowed_origins.contains(&"https://a.example:8443".to_string()));
        assert!(s.allowed_origins.contains(&"http://b.example:80".to_string()));
        assert!(s.allowed_hosts.contains(&"a.example".to_string()));
        let open = HttpSettings::new("http://127.0.0.1:8080", "*", Profile::Core);
        assert!(open.allowed_origins.is_empty() && open.allowed_hosts.is_empty());
    }
}
