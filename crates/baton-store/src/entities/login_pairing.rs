//! `login_pairings`: QR login from a phone to a desktop. Only hashes are stored.

use sea_orm::entity::prelude::*;

/// One pairing.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "login_pairings")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub secret_hash: String,
    pub desktop_token_hash: String,
    /// `PairingStatus`.
    pub status: String,
    pub user_id: Option<String>,
    pub desktop_ua: Option<String>,
    pub desktop_ip: Option<String>,
    pub created_at: DateTimeUtc,
    pub expires_at: DateTimeUtc,
    pub approved_at: Option<DateTimeUtc>,
    pub consumed_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
