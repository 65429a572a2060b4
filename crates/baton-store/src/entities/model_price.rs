//! `model_prices`: token prices per model, for job cost reporting.

use sea_orm::entity::prelude::*;

/// One price row.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "model_prices")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub model_id: String,
    /// `AgentRuntime`.
    pub runtime: String,
    pub provider: String,
    /// `BillingMode`.
    pub billing_mode: String,
    /// `BillingUnit`.
    pub billing_unit: String,
    pub service_tier: String,
    /// Micro-units of `currency` per million tokens.
    pub input_price_per_1m_micros: i64,
    pub output_price_per_1m_micros: i64,
    pub cache_read_price_per_1m_micros: i64,
    pub cache_write_price_per_1m_micros: i64,
    pub currency: String,
    pub effective_from: Option<DateTimeUtc>,
    pub source_url: Option<String>,
    pub notes: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
