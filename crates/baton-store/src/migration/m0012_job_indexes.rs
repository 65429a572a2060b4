//! The indexes of `jobs`, trimmed to the ones a query uses (issue 13).
//!
//! m0003 and m0006 left eleven indexes on `jobs`; every claim, heartbeat,
//! verify and `done` had to maintain all of them, and any index on
//! `lease_until` or `claimed_at` made the heartbeat (which moves
//! `lease_until` every few seconds) a non-HOT update on Postgres. This
//! migration drops the five that no query needs and adds one small partial
//! index for the held jobs:
//!
//! - dropped `(user_id, status)`: a prefix of the claim index
//!   `(user_id, status, created_at, id)`, which serves every query it did;
//! - dropped `(sprint_run_id, status)`: the unique
//!   `(sprint_run_id, sprint_sequence)` serves `sprint_run_id = ?` (a run has
//!   a handful of jobs, so the status filter runs over few rows) and the
//!   `ON DELETE SET NULL` of `sprint_runs`;
//! - dropped `(status, claimed_at)` and `(status, lease_until)`: replaced by
//!   `jobs_held_user_id_idx` `(user_id) WHERE status IN ('CLAIMED',
//!   'RUNNING')`, one entry per busy worker, which serves the expired-lease
//!   checks (presence, `has_expired_claim`, the sweeper's scan) without
//!   indexing `lease_until`, so a heartbeat is a HOT update;
//! - dropped `(status, finished_at)`: the cost report filters on
//!   `finished_at` and the product, never on `status`, so it never used it.
//!
//! The claim index stays a full index (not partial on QUEUED): it also
//! covers the `users` foreign key (`ON DELETE CASCADE` needs an index whose
//! first column is `user_id`) and `queue_status` (user and live statuses).
//! A partial `WHERE status = 'QUEUED'` index would also be unusable for
//! `has_queued_job`, which binds the status as a parameter: Postgres' generic
//! plan (after five executions of a prepared statement) cannot prove a
//! partial index's condition from a parameter.
//! docs/data-model.md ("Indexes of jobs") lists every remaining index with
//! the query it serves; crates/baton-store/tests/job_indexes.rs proves each
//! with `EXPLAIN` on both backends.
//!
//! The partial index is written as SQL because it is the same text on both
//! backends; its `IN` list has the order of the queries' (`held()` in
//! repo/queue.rs), since SQLite matches a partial index's condition against
//! the query's terms textually.

use sea_orm_migration::prelude::*;

use super::schema::index;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0012_job_indexes"
    }
}

/// The indexes this migration drops (`down` recreates them).
const DROPPED: &[&[&str]] = &[
    &["user_id", "status"],
    &["sprint_run_id", "status"],
    &["status", "claimed_at"],
    &["status", "finished_at"],
    &["status", "lease_until"],
];

const HELD: &str = "jobs_held_user_id_idx";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for cols in DROPPED {
            m.drop_index(
                Index::drop().name(format!("jobs_{}_idx", cols.join("_"))).table(Alias::new("jobs")).to_owned(),
            )
            .await?;
        }
        m.get_connection()
            .execute_unprepared(&format!(
                "CREATE INDEX {HELD} ON jobs (user_id) WHERE status IN ('CLAIMED', 'RUNNING')"
            ))
            .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_index(Index::drop().name(HELD).table(Alias::new("jobs")).to_owned()).await?;
        for cols in DROPPED {
            m.create_index(index("jobs", cols, false)).await?;
        }
        Ok(())
    }
}
