//! An index for the claim query: a worker takes the oldest QUEUED job of its
//! user (`WHERE user_id = ? AND status = 'QUEUED' ORDER BY created_at, id`).
//! With only `(user_id, status)` the database sorted every queued job of the
//! user on each claim (21 ms for 2,000 queued jobs on Postgres); with the
//! ordering columns in the index it reads the first rows in order.

use sea_orm_migration::prelude::*;

use super::schema::index;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0006_queue_claim_index"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_index(index("jobs", &["user_id", "status", "created_at", "id"], false)).await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_index(Index::drop().name("jobs_user_id_status_created_at_id_idx").table(Alias::new("jobs")).to_owned())
            .await
    }
}
