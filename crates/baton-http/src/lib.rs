//! Baton's HTTP surface: the REST API under `/api` (documented by OpenAPI
//! generated from the same router), server-rendered pages, and the
//! middleware every request passes through (request ids, auth, CSRF, the
//! demo read-only guard, security headers, body limits).
//!
//! This crate never names a database backend: it sees only `baton_app::App`.

pub mod api;
pub mod error;
pub mod extract;
pub mod middleware;
pub mod pages;

use std::sync::Arc;

use axum::Router;
use baton_app::App;

/// Settings of the HTTP layer.
#[derive(Debug, Clone)]
pub struct HttpConfig {
    /// The URL people use to reach Baton (for links and the cookie's Secure flag).
    pub public_url: String,
    /// Take the client IP from `X-Forwarded-For` (only behind your own proxy).
    pub trust_proxy: bool,
    /// Largest accepted request body, in bytes.
    pub body_limit: usize,
    /// Largest body of a file upload (project documents, BMAD imports).
    pub upload_limit: usize,
    /// The MCP endpoint at `/mcp`: tool profile and Host/Origin allowlists.
    pub mcp: baton_mcp::HttpSettings,
}

impl HttpConfig {
    /// Whether cookies must be `Secure` (Baton is reached over https).
    pub fn secure_cookies(&self) -> bool {
        self.public_url.starts_with("https://")
    }
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            public_url: "http://127.0.0.1:8080".into(),
            trust_proxy: false,
            body_limit: 1024 * 1024,
            // The largest document plus room for the request around it.
            upload_limit: baton_domain::marketplace::documents::DEFAULT_MAX_BYTES + 64 * 1024,
            mcp: baton_mcp::HttpSettings::default(),
        }
    }
}

/// Shared state of every handler.
#[derive(Clone)]
pub struct AppState {
    /// The services.
    pub app: Arc<App>,
    /// HTTP settings.
    pub http: Arc<HttpConfig>,
}

impl AppState {
    /// Bundles the services and settings.
    pub fn new(app: App, http: HttpConfig) -> Self {
        AppState { app: Arc::new(app), http: Arc::new(http) }
    }
}

/// The whole application: API, OpenAPI document, pages and static files,
/// wrapped in the middleware stack.
pub fn router(state: AppState) -> Router {
    let (api, openapi) = api::router().split_for_parts();
    let openapi = Arc::new(openapi);
    let app = Router::new()
        .nest("/api", api.fallback(api::not_found))
        .route(
            "/api/openapi.json",
            axum::routing::get(move || {
                let doc = openapi.clone();
                async move { axum::Json((*doc).clone()) }
            }),
        )
        .merge(pages::router())
        .with_state(state.clone())
        // MCP (Bearer only): its own auth gate answers 401/405 as JSON-RPC
        // expects; the cookie, CSRF and demo guards below skip it.
        .nest_service("/mcp", baton_mcp::http::router(state.app.clone(), state.http.mcp.clone()));
    middleware::wrap(app, state)
}

/// The OpenAPI document (for tests and `baton openapi`).
pub fn openapi() -> utoipa::openapi::OpenApi {
    api::router().split_for_parts().1
}
