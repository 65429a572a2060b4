//! `pbi_docs`: the document revisions a PBI was materialized from.

use sea_orm::entity::prelude::*;

/// A link from a PBI to a revision it was built from.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "pbi_docs")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub pbi_id: String,
    pub revision_id: String,
    /// `PLAN` or `GRILL`.
    pub role: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
