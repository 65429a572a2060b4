//! `ratings`: a client's rating of an expert for one stage of a project.

use sea_orm::entity::prelude::*;

/// One rating.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "ratings")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub product_id: String,
    pub expert_id: String,
    pub client_id: String,
    pub stage: String,
    /// 1 to 5.
    pub rating: i32,
    pub feedback: Option<String>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
