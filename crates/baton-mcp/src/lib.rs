//! Baton's MCP server: the agent-facing tools as thin adapters over the
//! `baton_app::App` services, served over Streamable HTTP (mounted at `/mcp`
//! by `baton-http`, stateless, Bearer token) and over stdio (`baton mcp`,
//! token from `BATON_TOKEN`).
//!
//! - [`results`]: the result conventions of reference §1.3 and the one
//!   mapping from `AppError` to a tool error.
//! - [`server`]: the `ServerHandler` (tool list by profile and transport,
//!   caller resolution, the demo guard, dispatch).
//! - [`http`]: the HTTP front: method check, Bearer auth (401 with JSON-RPC
//!   `-32001`), Host/Origin allowlist, rmcp's stateless Streamable HTTP.
//! - [`push`]: "check, push, then report" for `update_job_status done`
//!   with a worktree, behind the [`push::JobReporter`] trait (local
//!   services or a remote server).
//! - [`stdio`]: serving one authenticated caller over stdin/stdout until
//!   EOF, transport close or SIGTERM/SIGINT.

mod admin_tools;
mod backlog_tools;
mod base64;
mod context_tools;
mod edit_tools;
pub mod git;
pub mod http;
mod idea_admin_tools;
mod idea_tools;
mod log_tools;
mod market_escrow_tools;
mod market_import_tools;
mod market_review_tools;
mod market_story_tools;
mod market_tools;
mod product_tools;
pub mod push;
mod question_tools;
mod queue_tools;
pub mod results;
mod schema;
pub mod server;
mod sprint_tools;
pub mod stdio;
mod tools;
pub mod worktrees;

pub use http::HttpSettings;
pub use server::{BatonMcp, Profile, Transport, tool_list};
pub use tools::tool_names;
