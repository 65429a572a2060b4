//! Pure types and rules of Baton. Nothing here does I/O, so every rule can be
//! unit-tested directly and reused by the store, the services, REST and MCP.

pub mod access;
pub mod agents;
pub mod backlog;
pub mod codes;
pub mod costs;
pub mod db_enum;
pub mod idea_lifecycle;
pub mod ideas;
pub mod marketplace;
pub mod ordering;
pub mod pairing;
pub mod plan_md;
pub mod propagation;
pub mod pull_requests;
pub mod roles;
pub mod validation;
pub mod verify;

pub use validation::{FieldError, ValidationErrors};
