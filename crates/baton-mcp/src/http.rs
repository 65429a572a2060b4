//! MCP over Streamable HTTP, stateless: every POST carries
//! `Authorization: Bearer <api token>` and is answered on its own.
//!
//! In front of rmcp's service sits one gate:
//! - anything but POST → 405 with `Allow: POST` (there are no sessions to
//!   resume or delete);
//! - no Bearer token → 401 with JSON-RPC error `-32001` "Missing Bearer
//!   token" and a bare `WWW-Authenticate: Bearer` (RFC 6750 §3.1: no
//!   `error=` when no credentials were sent);
//! - an unknown, revoked or expired token → 401 with `-32001` and the
//!   reason, and `WWW-Authenticate: Bearer error="invalid_token",
//!   error_description="…"`, so a client shows the reason instead of
//!   starting an OAuth flow;
//! - a JSON body that is not one JSON-RPC message → 400 with a JSON-RPC
//!   error and `id: null` ([`check_message`]): `-32700` for malformed JSON,
//!   invalid UTF-8 or too deep nesting, `-32600` for a batch array (dropped
//!   by the 2025-06-18 Streamable HTTP transport), a non-object or a
//!   message without `jsonrpc: "2.0"` or `method`, `-32602` for `params`
//!   that are not an object (rmcp itself answers all of these with a
//!   text/plain 415);
//! - otherwise the caller's `Actor` goes into the request's extensions,
//!   where the tools find it.
//!
//! rmcp then checks `Host` and `Origin` against the allowlists (DNS
//! rebinding and cross-site protection): by default the public URL's origin
//! and loopback hosts, plus whatever `BATON_MCP_ALLOWED_ORIGINS` adds.

use std::sync::Arc;

use axum::{
    Router,
    body::Body,
    extract::{Request, State},
    http::{HeaderValue, Method, StatusCode, header},
    middleware::{Next, from_fn_with_state},
    response::{IntoResponse, Response},
};
use baton_app::{App, AppError};
use rmcp::{
    model::ClientJsonRpcMessage,
    transport::streamable_http_server::{
        StreamableHttpServerConfig, StreamableHttpService, session::never::NeverSessionManager,
    },
};
use serde_json::{Value, json};

use crate::{BatonMcp, Profile};

/// The JSON-RPC error code of an authentication failure.
pub const UNAUTHORIZED_CODE: i64 = -32001;
/// JSON-RPC "Parse error": the body is not JSON (or not UTF-8, or nested too deep).
pub const PARSE_ERROR: i64 = -32700;
/// JSON-RPC "Invalid Request": JSON, but not one JSON-RPC message.
pub const INVALID_REQUEST: i64 = -32600;
/// JSON-RPC "Invalid params": `params` that are not an object.
pub const INVALID_PARAMS: i64 = -32602;
/// The largest message accepted: rmcp's own default limit (4 MiB), kept
/// here so the gate reading the body and rmcp agree.
pub const MAX_MESSAGE_BYTES: usize = 4 * 1024 * 1024;

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
        .with_allowed_origins(settings.allowed_origins.clone())
        .with_max_request_body_bytes(MAX_MESSAGE_BYTES);
    let server = BatonMcp::http(app.clone(), settings.profile);
    let service =
        StreamableHttpService::new(move || Ok(server.clone()), Arc::new(NeverSessionManager::default()), config);
    Router::new().fallback_service(service).layer(from_fn_with_state(app, gate))
}

fn rpc_error(status: StatusCode, code: i64, message: &str) -> Response {
    rpc_error_with_id(status, Value::Null, code, message)
}

fn rpc_error_with_id(status: StatusCode, id: Value, code: i64, message: &str) -> Response {
    let body = json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message}});
    (status, axum::Json(body)).into_response()
}

/// 401 for a request that sent no Bearer token: a bare challenge.
fn missing_token() -> Response {
    let mut res = rpc_error(StatusCode::UNAUTHORIZED, UNAUTHORIZED_CODE, "Missing Bearer token");
    res.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    res
}

/// 401 for a token that was sent but refused (unknown, revoked, expired).
fn invalid_token(reason: &str) -> Response {
    let message = format!("Invalid or revoked token: {reason}");
    let mut res = rpc_error(StatusCode::UNAUTHORIZED, UNAUTHORIZED_CODE, &message);
    res.headers_mut().insert(header::WWW_AUTHENTICATE, invalid_token_challenge(&message));
    res
}

/// `Bearer error="invalid_token", error_description="…"` (RFC 6750 §3).
/// The description may only hold printable ASCII without `"` and `\`
/// (§3, `error_description` grammar); anything else is replaced.
pub fn invalid_token_challenge(description: &str) -> HeaderValue {
    let clean: String = description
        .chars()
        .map(|c| match c {
            '"' | '\\' => '\'',
            ' '..='~' => c,
            _ => '?',
        })
        .take(200)
        .collect();
    HeaderValue::from_str(&format!("Bearer error=\"invalid_token\", error_description=\"{clean}\""))
        .unwrap_or_else(|_| HeaderValue::from_static("Bearer error=\"invalid_token\""))
}

/// Why a body is not one JSON-RPC message: `(id, code, message)`, with the
/// request's id when it could be read (else `null`).
#[derive(Debug, Clone, PartialEq)]
pub struct MessageError {
    /// The id to answer with (`null` unless the message had a valid one).
    pub id: Value,
    /// The JSON-RPC error code.
    pub code: i64,
    /// What is wrong, for the client.
    pub message: String,
}

impl MessageError {
    fn new(code: i64, message: impl Into<String>) -> Self {
        MessageError { id: Value::Null, code, message: message.into() }
    }
}

/// Checks that `body` is exactly one JSON-RPC message that rmcp can take.
pub fn check_message(body: &[u8]) -> Result<(), MessageError> {
    let text = std::str::from_utf8(body)
        .map_err(|e| MessageError::new(PARSE_ERROR, format!("Parse error: the body is not valid UTF-8 ({e})")))?;
    // serde_json refuses nesting deeper than 128 levels ("recursion limit
    // exceeded"), which is a parse error like any other.
    let value: Value =
        serde_json::from_str(text).map_err(|e| MessageError::new(PARSE_ERROR, format!("Parse error: {e}")))?;
    let obj = match &value {
        Value::Object(o) => o,
        Value::Array(_) => {
            return Err(MessageError::new(
                INVALID_REQUEST,
                "Invalid Request: batches (JSON arrays) are not supported; send one JSON-RPC message per POST",
            ));
        }
        _ => {
            return Err(MessageError::new(INVALID_REQUEST, "Invalid Request: a JSON-RPC message must be a JSON object"));
        }
    };
    if obj.get("jsonrpc") != Some(&json!("2.0")) {
        return Err(MessageError::new(INVALID_REQUEST, "Invalid Request: `jsonrpc` must be \"2.0\""));
    }
    let id = match obj.get("id") {
        None => None,
        Some(id @ Value::String(_)) => Some(id.clone()),
        Some(id @ Value::Number(n)) if n.is_i64() || n.is_u64() => Some(id.clone()),
        Some(_) => {
            return Err(MessageError::new(INVALID_REQUEST, "Invalid Request: `id` must be a string or an integer"));
        }
    };
    match obj.get("method") {
        Some(Value::String(_)) => {}
        Some(_) => return Err(MessageError::new(INVALID_REQUEST, "Invalid Request: `method` must be a string")),
        // A response to a server request (a stateless server sends none, but rmcp accepts them).
        None if id.is_some() && (obj.contains_key("result") || obj.contains_key("error")) => {}
        None => return Err(MessageError::new(INVALID_REQUEST, "Invalid Request: `method` is required")),
    }
    let id = id.unwrap_or(Value::Null);
    if obj.get("params").is_some_and(|p| !p.is_object()) {
        let message = "Invalid params: MCP `params` must be a JSON object".to_string();
        return Err(MessageError { id, code: INVALID_PARAMS, message });
    }
    // The shape is right; rmcp's own reading of it is the last word.
    serde_json::from_value::<ClientJsonRpcMessage>(value.clone()).map_err(|e| MessageError {
        id,
        code: INVALID_REQUEST,
        message: format!("Invalid Request: {e}"),
    })?;
    Ok(())
}

fn is_json(req: &Request) -> bool {
    req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|v| {
        let essence = v.split(';').next().unwrap_or_default().trim();
        essence.eq_ignore_ascii_case("application/json")
    })
}

/// Reads a JSON body and answers a JSON-RPC error if it is not one message;
/// otherwise hands the request on with the same bytes. Bodies of another
/// media type go on untouched (rmcp answers those 415, as it should).
async fn checked_body(req: Request) -> Result<Request, Response> {
    if !is_json(&req) {
        return Ok(req);
    }
    let (parts, body) = req.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_MESSAGE_BYTES).await else {
        return Err(rpc_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            INVALID_REQUEST,
            &format!("Invalid Request: the message exceeds {MAX_MESSAGE_BYTES} bytes"),
        ));
    };
    if let Err(e) = check_message(&bytes) {
        return Err(rpc_error_with_id(StatusCode::BAD_REQUEST, e.id, e.code, &e.message));
    }
    Ok(Request::from_parts(parts, Body::from(bytes)))
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
        return missing_token();
    };
    match app.token_actor(token).await {
        Ok(actor) => {
            tracing::Span::current().record("user", actor.username.as_str());
            req.extensions_mut().insert(Arc::new(actor));
            match checked_body(req).await {
                Ok(req) => next.run(req).await,
                Err(res) => res,
            }
        }
        Err(AppError::Unauthorized(m)) => invalid_token(&m),
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

    fn check(body: &[u8]) -> Result<(), (i64, Value)> {
        check_message(body).map_err(|e| (e.code, e.id))
    }

    #[test]
    fn bodies_that_are_not_one_json_rpc_message_get_the_spec_codes() {
        let init = br#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#;
        assert_eq!(check(init), Ok(()));
        assert_eq!(check(br#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#), Ok(()));
        assert_eq!(check(b"{\"jsonrpc\": "), Err((PARSE_ERROR, Value::Null)));
        assert_eq!(check(b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"\xff\"}"), Err((PARSE_ERROR, Value::Null)));
        let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
        let e = check_message(deep.as_bytes()).expect_err("too deep");
        assert_eq!(e.code, PARSE_ERROR);
        assert!(e.message.contains("recursion limit"), "{}", e.message);
        let e = check_message(format!("[{}]", String::from_utf8_lossy(init)).as_bytes()).expect_err("batch");
        assert_eq!((e.code, e.message.contains("batches")), (INVALID_REQUEST, true));
        assert_eq!(check(b"42"), Err((INVALID_REQUEST, Value::Null)));
        assert_eq!(check(br#"{"id":1,"method":"tools/list"}"#), Err((INVALID_REQUEST, Value::Null)));
        assert_eq!(check(br#"{"jsonrpc":"1.0","id":1,"method":"tools/list"}"#), Err((INVALID_REQUEST, Value::Null)));
        assert_eq!(check(br#"{"jsonrpc":"2.0","id":1}"#), Err((INVALID_REQUEST, Value::Null)));
        assert_eq!(check(br#"{"jsonrpc":"2.0","id":[1],"method":"ping"}"#), Err((INVALID_REQUEST, Value::Null)));
        assert_eq!(check(br#"{"jsonrpc":"2.0","id":1,"method":7}"#), Err((INVALID_REQUEST, Value::Null)));
        assert_eq!(check(br#"{"jsonrpc":"2.0","id":1.5,"method":"ping"}"#), Err((INVALID_REQUEST, Value::Null)));
        // Params that are not an object: the id is known and echoed.
        assert_eq!(
            check(br#"{"jsonrpc":"2.0","id":"a","method":"tools/call","params":5}"#),
            Err((INVALID_PARAMS, json!("a")))
        );
        assert_eq!(check(br#"{"jsonrpc":"2.0","id":3,"method":"ping","params":[1]}"#), Err((INVALID_PARAMS, json!(3))));
        // A response to a server request is a message too.
        assert_eq!(check(br#"{"jsonrpc":"2.0","id":1,"result":{}}"#), Ok(()));
    }

    #[test]
    fn the_invalid_token_challenge_is_rfc_6750_and_header_safe() {
        let v = invalid_token_challenge("token \"x\" expired\n\u{e9}");
        assert_eq!(
            v.to_str().expect("ASCII"),
            "Bearer error=\"invalid_token\", error_description=\"token 'x' expired??\""
        );
    }
}
