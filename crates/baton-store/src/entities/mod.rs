//! SeaORM entities, one file per table. Enum columns are plain strings here
//! (UPPER_SNAKE); the domain crate's enums convert them at the edges.

pub mod api_token;
pub mod api_token_product;
pub mod login_attempt;
pub mod product;
pub mod product_member;
pub mod session;
pub mod user;
pub mod user_role;
