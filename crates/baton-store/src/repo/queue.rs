//! The job queue's hand-written SQL: finding and resetting expired leases,
//! the claim's candidate query and its row lock. The rules (which kinds are
//! claimable without a run, how many retries a job gets) stay in the
//! service; these functions only say how to ask the database.
//!
//! Enum values come from the enums' own database strings, never literals.

use baton_domain::agents::{JobKind, JobSource, JobStatus, SprintRunStatus};
use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DbBackend, FromQueryResult, Statement, Value};

use super::{in_list, placeholders};
use crate::StoreError;

/// The SQL condition of a claim whose lease ran out: `lease_until` before
/// `now`, or (legacy rows without a lease) claimed before `legacy_cutoff`;
/// the arguments are the placeholders of those two times.
fn expired_lease(now: &str, legacy_cutoff: &str) -> String {
    format!("(lease_until < {now} OR (lease_until IS NULL AND claimed_at < {legacy_cutoff}))")
}

/// The statuses of a job someone holds.
fn held() -> String {
    in_list(&[JobStatus::Claimed.as_db(), JobStatus::Running.as_db()])
}

/// Whether `user_id` has a held job whose lease expired (a cheap read, so an
/// idle queue costs no write).
pub async fn has_expired_claim<C: ConnectionTrait>(
    db: &C,
    user_id: &str,
    now: DateTime<Utc>,
    legacy_cutoff: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let sql = format!(
        "SELECT id FROM jobs WHERE user_id = $1 AND status IN ({}) AND {} LIMIT 1",
        held(),
        expired_lease("$2", "$3")
    );
    let row = db
        .query_one_raw(Statement::from_sql_and_values(
            db.get_database_backend(),
            sql,
            [user_id.into(), now.into(), legacy_cutoff.into()],
        ))
        .await?;
    Ok(row.is_some())
}

/// Fails the expired claims of `user_id` that used up `max_retries`
/// requeues, with `error`; returns their ids.
pub async fn fail_expired_claims<C: ConnectionTrait>(
    db: &C,
    user_id: &str,
    now: DateTime<Utc>,
    legacy_cutoff: DateTime<Utc>,
    max_retries: i32,
    error: &str,
) -> Result<Vec<String>, StoreError> {
    let sql = format!(
        "UPDATE jobs SET status = $5, finished_at = $2, updated_at = $2, lease_until = NULL, error = $4 \
         WHERE user_id = $1 AND status IN ({}) AND retry_count >= $6 AND {} RETURNING id",
        held(),
        expired_lease("$2", "$3")
    );
    let values: [Value; 6] = [
        user_id.into(),
        now.into(),
        legacy_cutoff.into(),
        error.into(),
        JobStatus::Failed.as_db().into(),
        max_retries.into(),
    ];
    ids(db, sql, values.into()).await
}

/// Puts the other expired claims of `user_id` back in the queue with
/// `retry_count + 1` and their claim fields cleared (so the old worker's
/// token no longer holds them); returns their ids.
pub async fn requeue_expired_claims<C: ConnectionTrait>(
    db: &C,
    user_id: &str,
    now: DateTime<Utc>,
    legacy_cutoff: DateTime<Utc>,
    max_retries: i32,
) -> Result<Vec<String>, StoreError> {
    let sql = format!(
        "UPDATE jobs SET status = $4, claimed_by_token_id = NULL, claimed_at = NULL, plan_snapshot = NULL, \
         lease_until = NULL, worker_instance_id = NULL, retry_count = retry_count + 1, updated_at = $2 \
         WHERE user_id = $1 AND status IN ({}) AND retry_count < $5 AND {} RETURNING id",
        held(),
        expired_lease("$2", "$3")
    );
    let values: [Value; 5] =
        [user_id.into(), now.into(), legacy_cutoff.into(), JobStatus::Queued.as_db().into(), max_retries.into()];
    ids(db, sql, values.into()).await
}

/// Every user with an expired claim (for the lease sweeper).
pub async fn users_with_expired_claims<C: ConnectionTrait>(
    db: &C,
    now: DateTime<Utc>,
    legacy_cutoff: DateTime<Utc>,
) -> Result<Vec<String>, StoreError> {
    let sql =
        format!("SELECT DISTINCT user_id FROM jobs WHERE status IN ({}) AND {}", held(), expired_lease("$1", "$2"));
    let rows = db
        .query_all_raw(Statement::from_sql_and_values(
            db.get_database_backend(),
            sql,
            [now.into(), legacy_cutoff.into()],
        ))
        .await?;
    Ok(rows.iter().map(|r| r.try_get::<String>("", "user_id")).collect::<Result<_, _>>()?)
}

async fn ids<C: ConnectionTrait>(db: &C, sql: String, values: Vec<Value>) -> Result<Vec<String>, StoreError> {
    let rows = db.query_all_raw(Statement::from_sql_and_values(db.get_database_backend(), sql, values)).await?;
    Ok(rows.iter().map(|r| r.try_get::<String>("", "id")).collect::<Result<_, _>>()?)
}

/// Starts a claim transaction for `user_id` and returns the user's minimum
/// quota (`None` when the user is gone). On SQLite this writes first, so the
/// transaction holds the write lock from the start and never has to upgrade
/// (which SQLite refuses); on Postgres it is a plain read (the job row
/// itself is locked with `SKIP LOCKED` by [`lock_first_queued`]).
pub async fn claimer_min_quota<C: ConnectionTrait>(db: &C, user_id: &str) -> Result<Option<i32>, StoreError> {
    let b = db.get_database_backend();
    let sql = if b == DbBackend::Postgres {
        "SELECT min_quota_pct FROM users WHERE id = $1"
    } else {
        "UPDATE users SET min_quota_pct = min_quota_pct WHERE id = $1 RETURNING min_quota_pct"
    };
    let row = db.query_one_raw(Statement::from_sql_and_values(b, sql, [user_id.into()])).await?;
    Ok(match row {
        Some(r) => Some(r.try_get("", "min_quota_pct")?),
        None => None,
    })
}

/// Whether `user_id` has a queued job (of `product_id`, when given): the
/// cheap indexed check a woken claimer makes before a write transaction.
pub async fn has_queued_job<C: ConnectionTrait>(
    db: &C,
    user_id: &str,
    product_id: Option<&str>,
) -> Result<bool, StoreError> {
    let mut values: Vec<Value> = vec![user_id.into(), JobStatus::Queued.as_db().into()];
    let mut sql = "SELECT id FROM jobs WHERE user_id = $1 AND status = $2".to_string();
    if let Some(p) = product_id {
        values.push(p.into());
        sql.push_str(" AND product_id = $3");
    }
    sql.push_str(" LIMIT 1");
    Ok(db.query_one_raw(Statement::from_sql_and_values(db.get_database_backend(), sql, values)).await?.is_some())
}

/// Which queued jobs a claim looks at.
#[derive(Debug, Clone)]
pub struct CandidateFilter<'a> {
    /// The claiming user (jobs are per user).
    pub user_id: &'a str,
    /// Only jobs of this runtime.
    pub runtime: &'a str,
    /// Kinds claimable without a sprint run.
    pub standalone: &'a [JobKind],
    /// Only jobs of this product.
    pub product_id: Option<&'a str>,
    /// Only jobs of these products (a token's scope); `None` for any.
    pub scope: Option<&'a [String]>,
}

/// A queued job a claim may take.
#[derive(Debug, Clone, FromQueryResult)]
pub struct Candidate {
    /// Job id.
    pub id: String,
    /// Its product.
    pub product_id: String,
    /// Its kind, as stored.
    pub kind: String,
    /// The capability a worker needs for it.
    pub required_capability: Option<String>,
}

/// The oldest `limit` claimable QUEUED jobs for `f`, oldest first: a
/// standalone kind, a task or batch job of a queued or running sprint run,
/// or a task job enqueued by hand or by a copilot; never a job whose task
/// was deleted, nor a sequenced sprint job while an earlier one of its run
/// is still unfinished. LEFT JOIN: jobs without a task or run are claimable.
pub async fn claim_candidates<C: ConnectionTrait>(
    db: &C,
    f: &CandidateFilter<'_>,
    limit: u64,
) -> Result<Vec<Candidate>, StoreError> {
    let standalone = in_list(&f.standalone.iter().map(|k| k.as_db()).collect::<Vec<_>>());
    let busy = in_list(&[JobStatus::Queued.as_db(), JobStatus::Claimed.as_db(), JobStatus::Running.as_db()]);
    let run_live = in_list(&[SprintRunStatus::Queued.as_db(), SprintRunStatus::Running.as_db()]);
    let run_kinds = in_list(&[JobKind::TaskImplementation.as_db(), JobKind::SprintImplementation.as_db()]);
    let by_hand = in_list(&[JobSource::Manual.as_db(), JobSource::Copilot.as_db()]);
    let task = in_list(&[JobKind::TaskImplementation.as_db()]);
    let queued = in_list(&[JobStatus::Queued.as_db()]);
    let mut values: Vec<Value> = vec![f.user_id.into(), f.runtime.into()];
    let mut sql = format!(
        "SELECT j.id, j.product_id, j.kind, j.required_capability FROM jobs j \
         LEFT JOIN tasks t ON t.id = j.task_id \
         LEFT JOIN sprint_runs r ON r.id = j.sprint_run_id \
         WHERE j.user_id = $1 AND j.status = {queued} AND j.runtime = $2 \
         AND (j.kind IN ({standalone}) \
              OR (j.kind IN ({run_kinds}) AND j.sprint_run_id IS NOT NULL AND r.status IN ({run_live})) \
              OR (j.kind = {task} AND j.sprint_run_id IS NULL AND j.source IN ({by_hand}))) \
         AND (j.task_id IS NULL OR t.id IS NOT NULL) \
         AND NOT (j.kind = {task} AND j.sprint_run_id IS NOT NULL AND j.sprint_sequence IS NOT NULL \
                  AND EXISTS (SELECT 1 FROM jobs e WHERE e.sprint_run_id = j.sprint_run_id \
                              AND e.sprint_sequence IS NOT NULL AND e.sprint_sequence < j.sprint_sequence \
                              AND e.status IN ({busy})))"
    );
    if let Some(p) = f.product_id {
        values.push(p.into());
        sql.push_str(&format!(" AND j.product_id = ${}", values.len()));
    }
    if let Some(scope) = f.scope {
        if scope.is_empty() {
            return Ok(Vec::new());
        }
        sql.push_str(&format!(" AND j.product_id IN ({})", placeholders(values.len() + 1, scope.len())));
        values.extend(scope.iter().map(|s| Value::from(s.clone())));
    }
    sql.push_str(&format!(" ORDER BY j.created_at, j.id LIMIT {limit}"));
    Ok(Candidate::find_by_statement(Statement::from_sql_and_values(db.get_database_backend(), sql, values))
        .all(db)
        .await?)
}

/// Picks the job to claim among `ids` (oldest first) and locks it: on
/// Postgres the first still QUEUED and not locked by another claimer
/// (`FOR UPDATE SKIP LOCKED`); on SQLite, whose claim transaction already
/// holds the write lock, simply the first.
pub async fn lock_first_queued<C: ConnectionTrait>(db: &C, ids: &[String]) -> Result<Option<String>, StoreError> {
    let b = db.get_database_backend();
    if b != DbBackend::Postgres || ids.is_empty() {
        return Ok(ids.first().cloned());
    }
    let mut values: Vec<Value> = vec![JobStatus::Queued.as_db().into()];
    values.extend(ids.iter().map(|id| Value::from(id.clone())));
    let sql = format!(
        "SELECT id FROM jobs WHERE status = $1 AND id IN ({}) ORDER BY created_at, id LIMIT 1 FOR UPDATE SKIP LOCKED",
        placeholders(2, ids.len())
    );
    match db.query_one_raw(Statement::from_sql_and_values(b, sql, values)).await? {
        Some(r) => Ok(Some(r.try_get("", "id")?)),
        None => Ok(None),
    }
}
