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

/// Whether `user_id` has a queued job (of `product_id`, when given): a
/// worker's `next_action` after a report that did not read it on the way.
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
    if f.scope.is_some_and(<[String]>::is_empty) {
        return Ok(Vec::new());
    }
    let (where_sql, values) = candidate_where(f);
    let sql = format!(
        "SELECT j.id, j.product_id, j.kind, j.required_capability FROM jobs j \
         LEFT JOIN tasks t ON t.id = j.task_id \
         LEFT JOIN sprint_runs r ON r.id = j.sprint_run_id \
         WHERE {where_sql} ORDER BY j.created_at, j.id LIMIT {limit}"
    );
    Ok(Candidate::find_by_statement(Statement::from_sql_and_values(db.get_database_backend(), sql, values))
        .all(db)
        .await?)
}

/// The eligibility condition of a claim over `jobs j LEFT JOIN tasks t LEFT
/// JOIN sprint_runs r`, and its values (`$1` user, `$2` runtime, then the
/// product and scope filters). An empty scope must be handled by the caller.
fn candidate_where(f: &CandidateFilter<'_>) -> (String, Vec<Value>) {
    let standalone = in_list(&f.standalone.iter().map(|k| k.as_db()).collect::<Vec<_>>());
    let busy = in_list(&[JobStatus::Queued.as_db(), JobStatus::Claimed.as_db(), JobStatus::Running.as_db()]);
    let run_live = in_list(&[SprintRunStatus::Queued.as_db(), SprintRunStatus::Running.as_db()]);
    let run_kinds = in_list(&[JobKind::TaskImplementation.as_db(), JobKind::SprintImplementation.as_db()]);
    let by_hand = in_list(&[JobSource::Manual.as_db(), JobSource::Copilot.as_db()]);
    let task = in_list(&[JobKind::TaskImplementation.as_db()]);
    let queued = in_list(&[JobStatus::Queued.as_db()]);
    let mut values: Vec<Value> = vec![f.user_id.into(), f.runtime.into()];
    let mut sql = format!(
        "j.user_id = $1 AND j.status = {queued} AND j.runtime = $2 \
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
    if let Some(scope) = f.scope.filter(|s| !s.is_empty()) {
        sql.push_str(&format!(" AND j.product_id IN ({})", placeholders(values.len() + 1, scope.len())));
        values.extend(scope.iter().map(|s| Value::from(s.clone())));
    }
    (sql, values)
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

// ---------------------------------------------------------------------------
// The lean claim (issue 13): one read of everything a claim must know about
// its caller, then one statement that picks, locks, updates and (on
// Postgres) returns the payload rows.

/// What a claim needs to know before it writes, read in one statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Presence {
    /// The user's `min_quota_pct` (the floor of products without their own).
    pub user_floor: i32,
    /// The calling worker's last reported quota, if it reported one.
    pub my_quota: Option<i32>,
    /// A live worker of a higher tier exists (the claim must then weigh
    /// tier deference, which the general path does).
    pub higher_peer: bool,
    /// A QUEUED job of the user (and product filter) exists.
    pub queued: bool,
    /// A held job of the user has an expired lease (reset it first).
    pub expired: bool,
}

/// Who is claiming, for [`presence`] and [`claim_next`].
#[derive(Debug, Clone)]
pub struct Claimer<'a> {
    /// The claiming user.
    pub user_id: &'a str,
    /// The token holding the claim.
    pub token_id: &'a str,
    /// The worker instance.
    pub instance_id: &'a str,
    /// Database strings of the tiers above the worker's (live workers of
    /// these tiers may be owed the job).
    pub higher_tiers: &'a [&'static str],
}

/// Reads [`Presence`] in one statement; `None` when the user is gone.
pub async fn presence<C: ConnectionTrait>(
    db: &C,
    who: &Claimer<'_>,
    f: &CandidateFilter<'_>,
    live_since: DateTime<Utc>,
    now: DateTime<Utc>,
    legacy_cutoff: DateTime<Utc>,
) -> Result<Option<Presence>, StoreError> {
    let mut values: Vec<Value> = vec![
        who.user_id.into(),
        who.token_id.into(),
        who.instance_id.into(),
        f.runtime.into(),
        live_since.into(),
        now.into(),
        legacy_cutoff.into(),
    ];
    let higher = if who.higher_tiers.is_empty() {
        "0".to_string()
    } else {
        format!(
            "CASE WHEN EXISTS (SELECT 1 FROM workers w WHERE w.user_id = $1 AND w.runtime = $4 \
             AND w.last_seen_at > $5 AND w.tier IN ({}) AND NOT (w.token_id = $2 AND w.instance_id = $3)) \
             THEN 1 ELSE 0 END",
            in_list(who.higher_tiers)
        )
    };
    let mut queued =
        format!("SELECT 1 FROM jobs q WHERE q.user_id = $1 AND q.status = {}", in_list(&[JobStatus::Queued.as_db()]));
    if let Some(p) = f.product_id {
        values.push(p.into());
        queued.push_str(&format!(" AND q.product_id = ${}", values.len()));
    }
    let sql = format!(
        "SELECT u.min_quota_pct AS user_floor, \
         (SELECT w.last_quota_pct FROM workers w WHERE w.user_id = $1 AND w.token_id = $2 AND w.instance_id = $3) \
           AS my_quota, \
         {higher} AS higher_peer, \
         CASE WHEN EXISTS ({queued}) THEN 1 ELSE 0 END AS queued, \
         CASE WHEN EXISTS (SELECT 1 FROM jobs x WHERE x.user_id = $1 AND x.status IN ({}) AND {}) THEN 1 ELSE 0 END \
           AS expired \
         FROM users u WHERE u.id = $1",
        held(),
        expired_lease("$6", "$7").replace("lease_until", "x.lease_until").replace("claimed_at", "x.claimed_at"),
    );
    let Some(r) = db.query_one_raw(Statement::from_sql_and_values(db.get_database_backend(), sql, values)).await?
    else {
        return Ok(None);
    };
    let flag = |col: &str| -> Result<bool, StoreError> { Ok(r.try_get::<i32>("", col)? != 0) };
    Ok(Some(Presence {
        user_floor: r.try_get("", "user_floor")?,
        my_quota: r.try_get("", "my_quota")?,
        higher_peer: flag("higher_peer")?,
        queued: flag("queued")?,
        expired: flag("expired")?,
    }))
}

/// The rows a claim payload is made of, all read with the claim.
#[derive(Debug, Clone)]
pub struct ClaimRows {
    /// The claimed job, as updated.
    pub job: crate::entities::job::Model,
    /// Its product.
    pub product: Option<crate::entities::product::Model>,
    /// The administrator's configuration of its kind.
    pub kind_config: Option<crate::entities::job_kind_config::Model>,
    /// Its task, story, PBI and sprint (task jobs).
    pub task: Option<crate::entities::task::Model>,
    /// The task's story.
    pub story: Option<crate::entities::story::Model>,
    /// The story's PBI.
    pub pbi: Option<crate::entities::pbi::Model>,
    /// The story's sprint.
    pub sprint: Option<crate::entities::sprint::Model>,
}

/// `alias.col AS prefixcol, …` for every column of entity `E`.
fn columns_of<E: sea_orm::EntityTrait>(alias: &str, prefix: &str) -> String {
    use sea_orm::{IdenStatic, Iterable};
    E::Column::iter()
        .map(|c| format!("{alias}.{col} AS {prefix}{col}", col = c.as_str()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `jobs` as `alias` with columns prefixed `j_`, built once per alias.
fn job_columns(alias: &'static str) -> &'static str {
    use crate::entities::job;
    static CJ: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    static J: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let cell = if alias == "cj" { &CJ } else { &J };
    cell.get_or_init(|| columns_of::<job::Entity>(alias, "j_"))
}

/// `tasks pt` with columns prefixed `t_`, built once.
fn task_columns() -> &'static str {
    use crate::entities::task;
    static PT: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    PT.get_or_init(|| columns_of::<task::Entity>("pt", "t_"))
}

/// Model `M` from the columns prefixed `pre`, or `None` when the outer join
/// found no row (its key column `key` is null).
fn joined<M: sea_orm::FromQueryResult>(
    r: &sea_orm::QueryResult,
    pre: &str,
    key: &str,
) -> Result<Option<M>, StoreError> {
    if r.try_get::<Option<String>>(pre, key)?.is_none() {
        return Ok(None);
    }
    Ok(Some(M::from_query_result(r, pre)?))
}

/// The payload tables joined to a job's product, kind and task (`{p}` is
/// the expression of the product id, `{k}` of the kind, `{t}` of the task id).
fn payload_joins(product: &str, kind: &str, task: &str) -> String {
    format!(
        "JOIN products pp ON pp.id = {product} \
         LEFT JOIN job_kind_configs pk ON pk.kind = {kind} \
         LEFT JOIN tasks pt ON pt.id = {task} \
         LEFT JOIN stories ps ON ps.id = pt.story_id \
         LEFT JOIN pbis pb ON pb.id = ps.pbi_id \
         LEFT JOIN sprints psp ON psp.id = ps.sprint_id"
    )
}

/// The payload rows' columns, built once (the list is long and the claim is
/// the hottest statement).
fn payload_columns() -> &'static str {
    use crate::entities::{job_kind_config, pbi, product, sprint, story, task};
    static COLUMNS: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    COLUMNS.get_or_init(|| {
        [
            columns_of::<product::Entity>("pp", "p_"),
            columns_of::<job_kind_config::Entity>("pk", "k_"),
            columns_of::<task::Entity>("pt", "t_"),
            columns_of::<story::Entity>("ps", "s_"),
            columns_of::<pbi::Entity>("pb", "b_"),
            columns_of::<sprint::Entity>("psp", "sp_"),
        ]
        .join(", ")
    })
}

fn claim_rows(r: &sea_orm::QueryResult, job: crate::entities::job::Model) -> Result<ClaimRows, StoreError> {
    Ok(ClaimRows {
        job,
        product: joined(r, "p_", "id")?,
        kind_config: joined(r, "k_", "kind")?,
        task: joined(r, "t_", "id")?,
        story: joined(r, "s_", "id")?,
        pbi: joined(r, "b_", "id")?,
        sprint: joined(r, "sp_", "id")?,
    })
}

/// The payload rows of a job already read (SQLite, whose `RETURNING` cannot
/// name joined tables, and the general claim path): one statement.
pub async fn payload_rows<C: ConnectionTrait>(
    db: &C,
    job: crate::entities::job::Model,
) -> Result<ClaimRows, StoreError> {
    let sql = format!("SELECT {} FROM (SELECT 1 AS one) one {}", payload_columns(), payload_joins("$1", "$2", "$3"));
    let values: Vec<Value> = vec![job.product_id.clone().into(), job.kind.clone().into(), job.task_id.clone().into()];
    let r = db
        .query_one_raw(Statement::from_sql_and_values(db.get_database_backend(), sql, values))
        .await?
        .ok_or_else(|| StoreError::Db(sea_orm::DbErr::RecordNotFound(format!("product {}", job.product_id))))?;
    claim_rows(&r, job)
}

/// How a claim marks the job it takes.
#[derive(Debug, Clone)]
pub struct ClaimMark {
    /// Claim time.
    pub now: DateTime<Utc>,
    /// Lease end.
    pub lease_until: DateTime<Utc>,
}

/// Who may take what in the one-statement claim: the quota floors and the
/// worker's capabilities as SQL conditions.
#[derive(Debug, Clone)]
pub struct Fit<'a> {
    /// The worker's quota (`None`: not reported, passes every floor).
    pub my_quota: Option<i32>,
    /// The floor of products without their own.
    pub user_floor: i32,
    /// The worker's capabilities (a job's `required_capability` must be one).
    pub capabilities: &'a [String],
    /// A dedicated worker takes only this kind.
    pub only_kind: Option<&'static str>,
}

/// Claims the oldest eligible QUEUED job in one statement: picks it with the
/// claim's eligibility rules (the same as [`claim_candidates`], plus the
/// quota floor and capability checks), locks it (`FOR UPDATE SKIP LOCKED` on
/// Postgres, so concurrent claimers pass each other), marks it claimed with
/// the task's plan frozen, and returns it. On Postgres the same statement
/// returns the payload rows; on SQLite (whose claim runs in the single write
/// transaction) a second read does.
pub async fn claim_next<C: ConnectionTrait>(
    db: &C,
    who: &Claimer<'_>,
    f: &CandidateFilter<'_>,
    fit: &Fit<'_>,
    mark: &ClaimMark,
) -> Result<Option<ClaimRows>, StoreError> {
    use crate::entities::job;
    let b = db.get_database_backend();
    let (where_sql, mut values) = candidate_where(f);
    if f.scope.is_some_and(<[String]>::is_empty) {
        return Ok(None);
    }
    let mut extra = String::new();
    values.push(fit.my_quota.into());
    let q = values.len();
    values.push(fit.user_floor.into());
    extra.push_str(&format!(" AND (${q} IS NULL OR ${q} >= COALESCE(fp.min_quota_pct, ${}))", q + 1));
    if fit.capabilities.is_empty() {
        extra.push_str(" AND j.required_capability IS NULL");
    } else {
        extra.push_str(&format!(
            " AND (j.required_capability IS NULL OR j.required_capability IN ({}))",
            placeholders(values.len() + 1, fit.capabilities.len())
        ));
        values.extend(fit.capabilities.iter().map(|c| Value::from(c.clone())));
    }
    if let Some(k) = fit.only_kind {
        values.push(k.into());
        extra.push_str(&format!(" AND j.kind = ${}", values.len()));
    }
    let lock = if b == DbBackend::Postgres { " FOR UPDATE OF j SKIP LOCKED" } else { "" };
    let pick = format!(
        "SELECT j.id, j.product_id, j.kind, j.task_id FROM jobs j \
         LEFT JOIN tasks t ON t.id = j.task_id \
         LEFT JOIN sprint_runs r ON r.id = j.sprint_run_id \
         JOIN products fp ON fp.id = j.product_id \
         WHERE {where_sql}{extra} ORDER BY j.created_at, j.id LIMIT 1{lock}"
    );
    let base = values.len();
    values.extend([
        Value::from(JobStatus::Claimed.as_db()),
        who.token_id.into(),
        mark.now.into(),
        who.instance_id.into(),
        mark.lease_until.into(),
    ]);
    let set = format!(
        "status = ${s}, claimed_by_token_id = ${tk}, claimed_at = ${t}, worker_instance_id = ${i}, \
         lease_until = ${l}, updated_at = ${t}",
        s = base + 1,
        tk = base + 2,
        t = base + 3,
        i = base + 4,
        l = base + 5
    );
    let update = format!(
        "UPDATE jobs SET {set}, plan_snapshot = COALESCE((SELECT pt.implementation_plan FROM tasks pt \
         WHERE pt.id = jobs.task_id), '') WHERE id = (SELECT id FROM ({pick}) pick) RETURNING *"
    );
    if b == DbBackend::Postgres {
        // The payload rows in the same statement: the update in a CTE and
        // the joins over what it returns. `id = (SELECT …)` keeps the update
        // a primary-key lookup whatever the planner thinks of the pick.
        let sql = format!(
            "WITH cj AS ({update}) SELECT {}, {} FROM cj {}",
            job_columns("cj"),
            payload_columns(),
            payload_joins("cj.product_id", "cj.kind", "cj.task_id"),
        );
        let Some(r) = db.query_one_raw(Statement::from_sql_and_values(b, sql, values)).await? else {
            return Ok(None);
        };
        let job = <job::Model as sea_orm::FromQueryResult>::from_query_result(&r, "j_")?;
        return Ok(Some(claim_rows(&r, job)?));
    }
    let Some(r) = db.query_one_raw(Statement::from_sql_and_values(b, update, values)).await? else {
        return Ok(None);
    };
    let job = <job::Model as sea_orm::FromQueryResult>::from_query_result(&r, "")?;
    Ok(Some(payload_rows(db, job).await?))
}

/// A job and its task, read in one statement; on Postgres the job row is
/// locked (`FOR NO KEY UPDATE`) when `lock` is set. `None` when the job
/// does not exist or is another user's.
pub async fn job_and_task<C: ConnectionTrait>(
    db: &C,
    job_id: &str,
    user_id: &str,
    lock: bool,
) -> Result<Option<(crate::entities::job::Model, Option<crate::entities::task::Model>)>, StoreError> {
    use crate::entities::job;
    let b = db.get_database_backend();
    let lock = if lock && b == DbBackend::Postgres { " FOR NO KEY UPDATE OF j" } else { "" };
    let sql = format!(
        "SELECT {}, {} FROM jobs j LEFT JOIN tasks pt ON pt.id = j.task_id WHERE j.id = $1 AND j.user_id = $2{lock}",
        job_columns("j"),
        task_columns(),
    );
    let Some(r) = db.query_one_raw(Statement::from_sql_and_values(b, sql, [job_id.into(), user_id.into()])).await?
    else {
        return Ok(None);
    };
    let job = <job::Model as sea_orm::FromQueryResult>::from_query_result(&r, "j_")?;
    Ok(Some((job, joined(&r, "t_", "id")?)))
}

/// Sets task `task_id` (of story `story_id`) to `status` and reads what the
/// story's roll-up needs: the statuses of all its tasks (this one's new
/// status included) and, with `queued_of`, whether that user has a QUEUED
/// job (a worker's `next_action`). On Postgres one statement (the update in
/// a CTE, whose change the outer read cannot see, so this task is left out
/// there and added here); on SQLite two. Call with the story locked.
pub async fn set_task_status_reading_story<C: ConnectionTrait>(
    db: &C,
    task_id: &str,
    story_id: &str,
    status: &str,
    now: DateTime<Utc>,
    queued_of: Option<&str>,
) -> Result<(Vec<String>, bool), StoreError> {
    let b = db.get_database_backend();
    let mut values: Vec<Value> = vec![story_id.into(), task_id.into()];
    let queued = match queued_of {
        Some(user) => {
            values.push(user.into());
            format!(
                "CASE WHEN EXISTS (SELECT 1 FROM jobs q WHERE q.user_id = $3 AND q.status = {}) THEN 1 ELSE 0 END",
                in_list(&[JobStatus::Queued.as_db()])
            )
        }
        None => "0".into(),
    };
    let agg = if b == DbBackend::Postgres { "string_agg(t.status, ',')" } else { "group_concat(t.status, ',')" };
    let read = format!(
        "SELECT (SELECT {agg} FROM tasks t WHERE t.story_id = $1 AND t.id <> $2) AS siblings, {queued} AS queued"
    );
    let sql = if b == DbBackend::Postgres {
        let (s, n) = (values.len() + 1, values.len() + 2);
        values.push(status.into());
        values.push(now.into());
        format!("WITH done AS (UPDATE tasks SET status = ${s}, updated_at = ${n} WHERE id = $2 RETURNING id) {read}")
    } else {
        db.execute_raw(Statement::from_sql_and_values(
            b,
            "UPDATE tasks SET status = $1, updated_at = $2 WHERE id = $3",
            [status.into(), now.into(), task_id.into()],
        ))
        .await?;
        read
    };
    let r = db
        .query_one_raw(Statement::from_sql_and_values(b, sql, values))
        .await?
        .ok_or_else(|| StoreError::Db(sea_orm::DbErr::RecordNotFound("story roll-up read".into())))?;
    let siblings: Option<String> = r.try_get("", "siblings")?;
    let mut statuses: Vec<String> =
        siblings.iter().flat_map(|s| s.split(',')).filter(|s| !s.is_empty()).map(str::to_string).collect();
    statuses.push(status.to_string());
    Ok((statuses, r.try_get::<i32>("", "queued")? != 0))
}

/// The job `target` names for the verification of a worker: the job with
/// that id, or else the CLAIMED or RUNNING job held by `token_id`
/// whose task has that id or code (the newest claim first), each with its
/// task; one statement. `None` when neither exists (the caller then works
/// out which error to give).
pub async fn held_job_for<C: ConnectionTrait>(
    db: &C,
    target: &str,
    user_id: &str,
    token_id: &str,
) -> Result<Option<(crate::entities::job::Model, Option<crate::entities::task::Model>)>, StoreError> {
    use crate::entities::job;
    // Two index lookups, not one OR across two tables (which no index
    // serves): the job by primary key, and the token's held jobs (the
    // partial index of held jobs; a queued job is held by no token).
    let cols = format!("{}, {}", job_columns("j"), task_columns());
    let sql = format!(
        "SELECT * FROM (SELECT 0 AS pref, {cols} FROM jobs j LEFT JOIN tasks pt ON pt.id = j.task_id \
         WHERE j.id = $1 AND j.user_id = $2 \
         UNION ALL SELECT 1 AS pref, {cols} FROM jobs j JOIN tasks pt ON pt.id = j.task_id \
         WHERE j.user_id = $2 AND j.status IN ({held}) AND j.claimed_by_token_id = $3 \
         AND (pt.id = $1 OR UPPER(pt.code) = UPPER($1))) found ORDER BY pref, j_claimed_at DESC LIMIT 1",
        held = held()
    );
    let values: [Value; 3] = [target.into(), user_id.into(), token_id.into()];
    let Some(r) = db.query_one_raw(Statement::from_sql_and_values(db.get_database_backend(), sql, values)).await?
    else {
        return Ok(None);
    };
    let job = <job::Model as sea_orm::FromQueryResult>::from_query_result(&r, "j_")?;
    Ok(Some((job, joined(&r, "t_", "id")?)))
}
