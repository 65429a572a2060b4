//! `doc_revisions`: immutable revisions of an idea's grill and plan.

use sea_orm::entity::prelude::*;

/// One revision of a grill (folder GRILLS) or plan (folder PLANS).
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "doc_revisions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub product_id: String,
    pub idea_id: String,
    /// `GRILLS` or `PLANS`.
    pub folder: String,
    /// `<idea code lower>-grill` or `-plan`.
    pub slug: String,
    /// 1, 2, … per idea and folder.
    pub revision: i32,
    pub content: String,
    pub created_by: Option<String>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
