//! `mcp_sessions`: OAuth polling state for hosted MCP clients.

use sea_orm::entity::prelude::*;

/// One pending or finished sign-in.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "mcp_sessions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    /// SHA-256 of the OAuth `state`.
    pub state_hash: String,
    pub user_id: Option<String>,
    /// The API token minted for this sign-in.
    pub token_id: Option<String>,
    pub expires_at: DateTimeUtc,
    pub consumed_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
