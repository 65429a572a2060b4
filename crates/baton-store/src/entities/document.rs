//! `documents`: supporting files uploaded to a project.

use sea_orm::entity::prelude::*;

/// One document.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "documents")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub product_id: String,
    pub uploaded_by_id: String,
    pub filename: String,
    pub storage_path: String,
    pub mime_type: String,
    /// Bytes.
    pub size: i64,
    /// `brief`, `prd`, `architecture`, `wireframes`, …
    pub document_type: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
