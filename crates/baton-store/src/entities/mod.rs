//! SeaORM entities, one file per table. Enum columns are plain strings here
//! (UPPER_SNAKE); the domain crate's enums convert them at the edges.

pub mod api_token;
pub mod api_token_product;
pub mod bid;
pub mod deliverable;
pub mod document;
pub mod escrow;
pub mod github_installation;
pub mod idea;
pub mod idea_log;
pub mod idea_product;
pub mod job;
pub mod login_attempt;
pub mod login_pairing;
pub mod mcp_session;
pub mod model_price;
pub mod opportunity;
pub mod pbi;
pub mod product;
pub mod product_member;
pub mod push_subscription;
pub mod question;
pub mod rating;
pub mod session;
pub mod sprint;
pub mod sprint_run;
pub mod sprint_task_execution;
pub mod story;
pub mod story_audit_log;
pub mod story_log;
pub mod task;
pub mod user;
pub mod user_question;
pub mod user_role;
pub mod wallet;
pub mod worker;
