//! The indexes of `jobs` (m0012, issue 13): every hot query on the table is
//! planned with the index docs/data-model.md ("Indexes of jobs") names for
//! it, never a full scan of `jobs`, on both backends; the set of indexes is
//! exactly the documented one; and on Postgres the share of HOT updates in
//! a job lifecycle is measured before and after m0012.
//!
//! The queue's SQL is the real one: the repository functions run against
//! [`Explain`], a connection that plans each statement instead of running it.

use std::collections::BTreeSet;
use std::sync::Mutex;

use baton_domain::agents::{AgentRuntime, JobKind, JobStatus};
use baton_store::repo::queue;
use baton_testkit::{TestDb, backend_tests};
use chrono::{DateTime, Duration, Utc};
use sea_orm::{ConnectionTrait, DbBackend, DbErr, ExecResult, QueryResult, Statement, Value};
use sea_orm_migration::MigratorTrait;

/// The claim index (m0006): claim, presence's queued check, `next_action`.
const CLAIM: &str = "jobs_user_id_status_created_at_id_idx";
/// The held-jobs partial index (m0012): expired-lease checks and the sweeper.
const HELD: &str = "jobs_held_user_id_idx";

/// Every index of `jobs` after m0012 (Postgres names; SQLite names its
/// primary key `sqlite_autoindex_jobs_1`).
const EXPECTED: &[&str] = &[
    "jobs_held_user_id_idx",
    "jobs_idea_id_status_idx",
    "jobs_pkey",
    "jobs_product_id_status_idx",
    "jobs_sprint_run_id_sprint_sequence_key",
    "jobs_task_id_status_idx",
    "jobs_user_id_status_created_at_id_idx",
];

const USERS: usize = 3;
const JOBS: i64 = 5_000;

/// A connection that answers every query with nothing after recording the
/// database's plan of it (`EXPLAIN (FORMAT JSON)` on Postgres, `EXPLAIN
/// QUERY PLAN` on SQLite). Planning never runs the statement, so UPDATEs
/// change nothing.
struct Explain<'a> {
    db: &'a baton_store::Db,
    plans: Mutex<Vec<Plan>>,
}

/// What a plan says about `jobs`.
#[derive(Debug, Default, Clone)]
struct Plan {
    /// Every index the plan reads.
    indexes: BTreeSet<String>,
    /// Whether some node reads all of `jobs` (Seq Scan / SCAN without index).
    scans_jobs: bool,
    /// The plan as the database printed it (for the failure message).
    text: String,
}

impl<'a> Explain<'a> {
    fn new(db: &'a baton_store::Db) -> Self {
        Explain { db, plans: Mutex::new(Vec::new()) }
    }

    async fn plan(&self, stmt: Statement) -> Result<(), DbErr> {
        let b = self.db.get_database_backend();
        let plan = if b == DbBackend::Postgres {
            let sql = format!("EXPLAIN (FORMAT JSON) {}", stmt.sql);
            let row =
                self.db.query_one_raw(Statement { sql, values: stmt.values, db_backend: b }).await?.expect("a plan");
            let json: serde_json::Value = row.try_get("", "QUERY PLAN")?;
            let mut p = Plan { text: serde_json::to_string_pretty(&json).unwrap_or_default(), ..Plan::default() };
            walk_pg(&json, &mut p);
            p
        } else {
            let sql = format!("EXPLAIN QUERY PLAN {}", stmt.sql);
            let rows = self.db.query_all_raw(Statement { sql, values: stmt.values, db_backend: b }).await?;
            let mut p = Plan::default();
            for r in rows {
                let detail: String = r.try_get("", "detail")?;
                p.text.push_str(&detail);
                p.text.push('\n');
                if let Some(i) = detail.find(" INDEX ") {
                    let name = detail[i + 7..].split_whitespace().next().unwrap_or_default();
                    p.indexes.insert(name.to_string());
                }
                // `SCAN j` reads the table; `SCAN j USING INDEX` walks an index.
                let words: Vec<&str> = detail.split_whitespace().collect();
                if words.first() == Some(&"SCAN") && !detail.contains("USING") && is_jobs_alias(words.get(1)) {
                    p.scans_jobs = true;
                }
            }
            p
        };
        self.plans.lock().expect("plans").push(plan);
        Ok(())
    }

    /// The plans recorded so far, in order; clears the list.
    fn take(&self) -> Vec<Plan> {
        std::mem::take(&mut *self.plans.lock().expect("plans"))
    }
}

/// The aliases the queue's SQL gives `jobs`.
fn is_jobs_alias(w: Option<&&str>) -> bool {
    matches!(w.copied(), Some("jobs" | "j" | "q" | "x" | "e" | "cj"))
}

fn walk_pg(v: &serde_json::Value, p: &mut Plan) {
    match v {
        serde_json::Value::Array(a) => a.iter().for_each(|x| walk_pg(x, p)),
        serde_json::Value::Object(o) => {
            if let Some(serde_json::Value::String(i)) = o.get("Index Name") {
                p.indexes.insert(i.clone());
            }
            if o.get("Node Type").and_then(|n| n.as_str()) == Some("Seq Scan")
                && o.get("Relation Name").and_then(|n| n.as_str()) == Some("jobs")
            {
                p.scans_jobs = true;
            }
            o.values().for_each(|x| walk_pg(x, p));
        }
        _ => {}
    }
}

#[async_trait::async_trait]
impl ConnectionTrait for Explain<'_> {
    fn get_database_backend(&self) -> DbBackend {
        self.db.get_database_backend()
    }

    async fn execute_raw(&self, stmt: Statement) -> Result<ExecResult, DbErr> {
        self.plan(stmt).await?;
        Err(DbErr::Custom("planned, not executed".into()))
    }

    async fn execute_unprepared(&self, sql: &str) -> Result<ExecResult, DbErr> {
        Err(DbErr::Custom(format!("not planned: {sql}")))
    }

    async fn query_one_raw(&self, stmt: Statement) -> Result<Option<QueryResult>, DbErr> {
        self.plan(stmt).await?;
        Ok(None)
    }

    async fn query_all_raw(&self, stmt: Statement) -> Result<Vec<QueryResult>, DbErr> {
        self.plan(stmt).await?;
        Ok(Vec::new())
    }
}

fn user(i: usize) -> String {
    format!("u{i}")
}

async fn exec<C: ConnectionTrait>(db: &C, sql: &str, values: Vec<Value>) {
    db.execute_raw(Statement::from_sql_and_values(db.get_database_backend(), sql, values))
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

/// Users `u<i>` for `i` in `users`, each with product `p<i>` and token
/// `t<i>`, no jobs.
async fn seed_owners<C: ConnectionTrait>(db: &C, users: std::ops::Range<usize>, t: DateTime<Utc>) {
    for i in users {
        let (u, p, k) = (user(i), format!("p{i}"), format!("t{i}"));
        exec(
            db,
            "INSERT INTO users (id, username, password_hash, created_at, updated_at) VALUES ($1, $1, 'x', $2, $2)",
            vec![u.clone().into(), t.into()],
        )
        .await;
        exec(
            db,
            "INSERT INTO products (id, user_id, name, definition_of_done, created_at, updated_at) \
             VALUES ($1, $2, $1, '', $3, $3)",
            vec![p.into(), u.clone().into(), t.into()],
        )
        .await;
        exec(
            db,
            "INSERT INTO api_tokens (id, user_id, token_hash, prefix, created_at) VALUES ($1, $2, $1, 'x', $3)",
            vec![k.into(), u.into(), t.into()],
        )
        .await;
    }
}

/// 5,000 jobs over three users, a realistic mix: 2 % QUEUED, 10 CLAIMED and
/// 10 RUNNING (one per busy worker), the rest DONE with the summary and
/// frozen plan a finished job carries (so the heap has its real width);
/// then statistics.
async fn seed(db: &baton_store::Db) -> DateTime<Utc> {
    let t = Utc::now();
    seed_owners(db, 0..USERS, t).await;
    let sql = format!(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {JOBS}) \
         INSERT INTO jobs (id, user_id, product_id, kind, status, runtime, claimed_by_token_id, claimed_at, \
                           lease_until, finished_at, summary, plan_snapshot, created_at, updated_at) \
         SELECT 'j' || (100000 + i), 'u' || (i % 3), 'p' || (i % 3), $1, \
                CASE WHEN i % 100 < 2 THEN $2 WHEN i % 500 = 5 THEN $3 WHEN i % 500 = 6 THEN $4 ELSE $5 END, \
                $6, \
                CASE WHEN i % 500 IN (5, 6) THEN 't' || (i % 3) END, \
                CASE WHEN i % 500 IN (5, 6) THEN $7 END, \
                CASE WHEN i % 500 IN (5, 6) THEN $8 END, \
                CASE WHEN i % 100 >= 2 AND i % 500 NOT IN (5, 6) THEN $7 END, \
                CASE WHEN i % 100 >= 2 AND i % 500 NOT IN (5, 6) THEN $9 END, \
                $10, \
                $7, $7 \
         FROM n"
    );
    exec(
        db,
        &sql,
        vec![
            JobKind::IdeaGrill.as_db().into(),
            JobStatus::Queued.as_db().into(),
            JobStatus::Claimed.as_db().into(),
            JobStatus::Running.as_db().into(),
            JobStatus::Done.as_db().into(),
            AgentRuntime::Claude.as_db().into(),
            t.into(),
            (t + Duration::minutes(10)).into(),
            "Implemented the change and ran the checks. ".repeat(5).into(),
            "1. Read the story. 2. Change the code. 3. Test it. ".repeat(20).into(),
        ],
    )
    .await;
    db.execute_unprepared("ANALYZE").await.expect("analyze");
    t
}

const STANDALONE: &[JobKind] = &[JobKind::IdeaGrill];

fn filter(user_id: &str) -> queue::CandidateFilter<'_> {
    queue::CandidateFilter {
        user_id,
        runtime: AgentRuntime::Claude.as_db(),
        standalone: STANDALONE,
        product_id: None,
        scope: None,
    }
}

fn claimer<'a>(user_id: &'a str, token_id: &'a str) -> queue::Claimer<'a> {
    queue::Claimer { user_id, token_id, instance_id: "w1", higher_tiers: &["HIGH_P"] }
}

fn fit() -> queue::Fit<'static> {
    queue::Fit { my_quota: None, user_floor: 0, capabilities: &[], only_kind: None }
}

/// Mismatches found by [`check_plans`], reported together by [`assert_checked`].
static MISMATCHES: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Checks that `plans` (the statements of one query) never read all of
/// `jobs` and read exactly the `want` indexes of `jobs`.
fn check_plans(what: &str, plans: &[Plan], want: &[&str]) {
    let text: String = plans.iter().map(|p| p.text.clone()).collect::<Vec<_>>().join("\n---\n");
    println!("== {what}\n{text}");
    let mut found = Vec::new();
    if plans.is_empty() {
        found.push(format!("{what}: nothing was planned"));
    }
    if plans.iter().any(|p| p.scans_jobs) {
        found.push(format!("{what}: scans all of jobs"));
    }
    let used: BTreeSet<String> = plans
        .iter()
        .flat_map(|p| p.indexes.iter().cloned())
        .filter(|i| i.starts_with("jobs_") || i.starts_with("sqlite_autoindex_jobs"))
        .collect();
    let want: BTreeSet<String> = want.iter().map(|s| s.to_string()).collect();
    if used != want {
        found.push(format!("{what}: uses {used:?}, intended {want:?}"));
    }
    MISMATCHES.lock().expect("mismatches").extend(found);
}

/// Fails with every mismatch [`check_plans`] found.
fn assert_checked() {
    let m = std::mem::take(&mut *MISMATCHES.lock().expect("mismatches"));
    assert!(m.is_empty(), "plans other than intended (see the plans printed above):\n{}", m.join("\n"));
}

/// The index of a held-jobs check for one user: the small partial index on
/// Postgres; SQLite probes the claim index once per held status instead
/// (as cheap: a handful of rows), and reads the partial index only for the
/// sweeper, which has no user to start from.
fn held_of_user(b: DbBackend) -> &'static str {
    if b == DbBackend::Postgres { HELD } else { CLAIM }
}

/// The primary key's index name on `backend`.
fn pkey(b: DbBackend) -> &'static str {
    if b == DbBackend::Postgres { "jobs_pkey" } else { "sqlite_autoindex_jobs_1" }
}

async fn plan_sql(x: &Explain<'_>, sql: &str, values: Vec<Value>) -> Vec<Plan> {
    let _ = x.query_all_raw(Statement::from_sql_and_values(x.get_database_backend(), sql, values)).await;
    x.take()
}

backend_tests! {
    /// Each hot query on `jobs` reads the index it was designed for.
    async fn every_hot_query_uses_its_index(t) {
        let now = seed(&t.db).await;
        let b = t.db.get_database_backend();
        let x = Explain::new(&t.db);
        let u = user(0);
        let cutoff = now - Duration::minutes(30);

        queue::presence(&x, &claimer(&u, "t0"), &filter(&u), now, now, cutoff).await.expect("presence");
        check_plans("presence (queued and expired EXISTS)", &x.take(), &[CLAIM, held_of_user(b)]);

        queue::claim_next(&x, &claimer(&u, "t0"), &filter(&u), &fit(), &queue::ClaimMark { now, lease_until: now })
            .await
            .expect("claim");
        // The sequenced-sprint EXISTS is planned too but never reached for a standalone kind.
        let claim = x.take();
        check_plans("claim_next (pick, lock, mark)", &claim, &claim_indexes(b));

        queue::has_queued_job(&x, &u, None).await.expect("has queued");
        check_plans("has_queued_job", &x.take(), &[CLAIM]);

        queue::job_and_task(&x, "j100001", &u, true).await.expect("job and task");
        check_plans("job_and_task (running, verify, done read)", &x.take(), &[pkey(b)]);

        // On SQLite the task update runs first as a statement of its own,
        // which the recorder only plans; the read is the same EXISTS as
        // presence's queued check above.
        if b == DbBackend::Postgres {
            let _ = queue::set_task_status_reading_story(&x, "no-task", "no-story", "DONE", now, Some(&u)).await;
            check_plans("set_task_status_reading_story (next_action queued EXISTS)", &x.take(), &[CLAIM]);
        }

        queue::held_job_for(&x, "j100001", &u, "t0").await.expect("held job");
        // The token's held job: Postgres goes from the task (few jobs per
        // task), SQLite from the user's held jobs.
        let held_by_token = if b == DbBackend::Postgres { "jobs_task_id_status_idx".to_string() } else { held_of_user(b).to_string() };
        check_plans("held_job_for (verify: by job id, or the token's held job)", &x.take(), &[pkey(b), held_by_token.as_str()]);

        queue::has_expired_claim(&x, &u, now, cutoff).await.expect("expired");
        check_plans("has_expired_claim", &x.take(), &[held_of_user(b)]);

        queue::users_with_expired_claims(&x, now, cutoff).await.expect("sweeper");
        check_plans("users_with_expired_claims (sweeper)", &x.take(), &[HELD]);

        let _ = queue::requeue_expired_claims(&x, &u, now, cutoff, 3).await;
        check_plans("requeue_expired_claims", &x.take(), &[held_of_user(b)]);

        let _ = queue::fail_expired_claims(&x, &u, now, cutoff, 3, "lease expired").await;
        check_plans("fail_expired_claims", &x.take(), &[held_of_user(b)]);

        // The services' own statements (SeaORM builds them; same shape).
        let held = "'CLAIMED', 'RUNNING'";
        let active = "'QUEUED', 'CLAIMED', 'RUNNING'";
        let heartbeat = format!(
            "UPDATE jobs SET lease_until = $1, updated_at = $1 WHERE id = $2 AND user_id = $3 \
             AND claimed_by_token_id = $4 AND status IN ({held})"
        );
        let p = plan_sql(&x, &heartbeat, vec![now.into(), "j100005".into(), u.clone().into(), "t0".into()]).await;
        check_plans("heartbeat / running / verify / done (by id)", &p, &[pkey(b)]);

        let sql = format!("SELECT id FROM jobs WHERE task_id = $1 AND status IN ({active}) ORDER BY created_at LIMIT 1");
        let p = plan_sql(&x, &sql, vec!["some-task".into()]).await;
        check_plans("enqueue: active job of a task", &p, &["jobs_task_id_status_idx"]);

        let sql = format!("SELECT id FROM jobs WHERE idea_id = $1 AND status IN ({active}) ORDER BY created_at LIMIT 1");
        let p = plan_sql(&x, &sql, vec!["some-idea".into()]).await;
        check_plans("idea dispatch: active job of an idea", &p, &["jobs_idea_id_status_idx"]);

        let sql = format!("SELECT id FROM jobs WHERE sprint_run_id = $1 AND status IN ({active})");
        let p = plan_sql(&x, &sql, vec!["some-run".into()]).await;
        check_plans("sprint run: live jobs of a run", &p, &["jobs_sprint_run_id_sprint_sequence_key"]);

        let sql = "SELECT id FROM jobs WHERE product_id = $1 AND status = $2 ORDER BY created_at DESC, id DESC LIMIT 20";
        let p = plan_sql(&x, sql, vec!["p1".into(), JobStatus::Queued.as_db().into()]).await;
        check_plans("list_jobs by product and status", &p, &["jobs_product_id_status_idx"]);
        assert_checked();
    }

    /// The indexes of `jobs` are exactly the documented set, and every
    /// foreign key that deletes or nulls jobs rows (users, products, tasks,
    /// ideas, sprint runs) leads an index.
    async fn jobs_has_exactly_the_documented_indexes(t) {
        let mut names = BTreeSet::new();
        let mut leading = BTreeSet::new();
        for (name, def) in index_defs(&t.db).await {
            if let Some(open) = def.find('(') {
                let first = def[open + 1..].split([',', ')']).next().unwrap_or_default().trim().trim_matches('"');
                leading.insert(first.to_string());
            }
            names.insert(name);
        }
        let want: BTreeSet<String> = EXPECTED.iter().map(|s| s.to_string()).collect();
        assert_eq!(names, want, "the indexes of jobs changed: update docs/data-model.md and this test");
        for fk in ["user_id", "product_id", "task_id", "idea_id", "sprint_run_id"] {
            assert!(leading.contains(fk), "no index leads with {fk} (a delete of its parent would scan jobs)");
        }
    }

    /// m0012's `down` restores the m0011 indexes and `up` applies it again.
    async fn m0012_down_restores_the_old_indexes_and_up_reapplies(t) {
        let db = sea_orm::Database::connect(t.url.clone()).await.expect("connect");
        baton_store::migration::Migrator::down(&db, Some(1)).await.expect("down");
        let mut old: BTreeSet<String> = EXPECTED.iter().map(|s| s.to_string()).collect();
        old.remove(HELD);
        for cols in ["user_id_status", "sprint_run_id_status", "status_claimed_at", "status_finished_at", "status_lease_until"] {
            old.insert(format!("jobs_{cols}_idx"));
        }
        assert_eq!(index_names(&db).await, old, "down restores the eleven m0011 indexes");
        baton_store::migration::Migrator::up(&db, None).await.expect("up");
        let new: BTreeSet<String> = EXPECTED.iter().map(|s| s.to_string()).collect();
        assert_eq!(index_names(&db).await, new);
    }
}

/// The indexes of `jobs` as (name, definition), the primary key named
/// `jobs_pkey` on both backends.
async fn index_defs<C: ConnectionTrait>(db: &C) -> Vec<(String, String)> {
    let b = db.get_database_backend();
    let sql = if b == DbBackend::Postgres {
        "SELECT indexname AS name, indexdef AS def FROM pg_indexes WHERE tablename = 'jobs' ORDER BY indexname"
    } else {
        "SELECT name, COALESCE(sql, '') AS def FROM sqlite_master WHERE type = 'index' AND tbl_name = 'jobs' \
         ORDER BY name"
    };
    let rows = db.query_all_raw(Statement::from_string(b, sql)).await.expect("indexes");
    rows.iter()
        .map(|r| {
            let name: String = r.try_get("", "name").expect("name");
            let def: String = r.try_get("", "def").expect("def");
            (if name == "sqlite_autoindex_jobs_1" { "jobs_pkey".to_string() } else { name }, def)
        })
        .collect()
}

async fn index_names<C: ConnectionTrait>(db: &C) -> BTreeSet<String> {
    index_defs(db).await.into_iter().map(|(n, _)| n).collect()
}

/// The indexes the claim statement reads: the claim index for the pick
/// (and the sequencing EXISTS's unique key), plus the primary key for the
/// update of the picked row.
fn claim_indexes(b: DbBackend) -> Vec<&'static str> {
    vec![CLAIM, pkey(b), "jobs_sprint_run_id_sprint_sequence_key"]
}

/// Runs `cycles` job lifecycles (enqueue, claim with the real claim
/// statement, running, heartbeat, verify, done) for a user with nothing
/// else queued, and returns (updates, HOT updates) of `jobs` they caused.
async fn lifecycle(db: &sea_orm::DatabaseConnection, tag: &str, cycles: usize) -> (i64, i64) {
    let before = hot_counts(db, None).await;
    let u = user(9);
    let (held, kind) = ("'CLAIMED', 'RUNNING'", JobKind::IdeaGrill.as_db());
    for n in 0..cycles {
        let t = Utc::now();
        let id = format!("{tag}{n:06}");
        exec(
            db,
            "INSERT INTO jobs (id, user_id, product_id, kind, status, runtime, created_at, updated_at) \
             VALUES ($1, $2, 'p9', $3, $4, $5, $6, $6)",
            vec![
                id.clone().into(),
                u.clone().into(),
                kind.into(),
                JobStatus::Queued.as_db().into(),
                AgentRuntime::Claude.as_db().into(),
                t.into(),
            ],
        )
        .await;
        let rows = queue::claim_next(
            db,
            &claimer(&u, "t9"),
            &filter(&u),
            &fit(),
            &queue::ClaimMark { now: t, lease_until: t + Duration::minutes(5) },
        )
        .await
        .expect("claim")
        .expect("a job to claim");
        assert_eq!(rows.job.id, id);
        exec(
            db,
            &format!(
                "UPDATE jobs SET status = 'RUNNING', started_at = COALESCE(started_at, $1), branch = 'b', \
                 updated_at = $1 WHERE id = $2 AND claimed_by_token_id = 't9' AND status IN ({held})"
            ),
            vec![t.into(), id.clone().into()],
        )
        .await;
        exec(
            db,
            &format!(
                "UPDATE jobs SET lease_until = $1, updated_at = $2 WHERE id = $3 AND user_id = $4 \
                 AND claimed_by_token_id = 't9' AND status IN ({held})"
            ),
            vec![(t + Duration::minutes(6)).into(), t.into(), id.clone().into(), u.clone().into()],
        )
        .await;
        exec(
            db,
            &format!(
                "UPDATE jobs SET verify_result = 'ALIGNED', updated_at = $1 WHERE id = $2 \
                 AND claimed_by_token_id = 't9' AND status IN ({held})"
            ),
            vec![t.into(), id.clone().into()],
        )
        .await;
        exec(
            db,
            "UPDATE jobs SET status = 'DONE', finished_at = $1, lease_until = NULL, summary = 'ok', \
             input_tokens = 1000, output_tokens = 200, updated_at = $1 WHERE id = $2",
            vec![t.into(), id.into()],
        )
        .await;
    }
    let after = hot_counts(db, Some((before.0 + 5 * cycles as i64, before.1))).await;
    (after.0 - before.0, after.1 - before.1)
}

/// `jobs`' (n_tup_upd, n_tup_hot_upd); with `at_least`, waits (up to 15 s)
/// until the statistics show that many updates (they are flushed lazily).
async fn hot_counts(db: &sea_orm::DatabaseConnection, at_least: Option<(i64, i64)>) -> (i64, i64) {
    for _ in 0..150 {
        db.execute_unprepared("SELECT pg_stat_force_next_flush()").await.expect("flush");
        db.execute_unprepared("SELECT pg_stat_clear_snapshot()").await.expect("clear snapshot");
        let r = db
            .query_one_raw(Statement::from_string(
                DbBackend::Postgres,
                "SELECT n_tup_upd AS u, n_tup_hot_upd AS h FROM pg_stat_user_tables WHERE relname = 'jobs'",
            ))
            .await
            .expect("stats")
            .expect("jobs stats");
        let c: (i64, i64) = (r.try_get("", "u").expect("upd"), r.try_get("", "h").expect("hot"));
        if at_least.is_none_or(|(u, _)| c.0 >= u) {
            return c;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("jobs' update statistics never caught up");
}

/// HOT updates of a job lifecycle on Postgres, with the indexes before m0012
/// and after it: the heartbeat (and verify) no longer touch an indexed
/// column, so they stay on the heap page without index writes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lifecycle_updates_are_hot_after_m0012_on_postgres() {
    let t = TestDb::postgres().await;
    let mut opts = sea_orm::ConnectOptions::new(t.url.clone());
    opts.max_connections(1).min_connections(1).sqlx_logging(false);
    let db = sea_orm::Database::connect(opts).await.expect("one connection");
    seed(&t.db).await;
    seed_owners(&db, 9..10, Utc::now()).await;
    const CYCLES: usize = 200;

    baton_store::migration::Migrator::down(&db, Some(1)).await.expect("down to m0011");
    let (upd_before, hot_before) = lifecycle(&db, "b", CYCLES).await;
    baton_store::migration::Migrator::up(&db, None).await.expect("up to m0012");
    let (upd_after, hot_after) = lifecycle(&db, "a", CYCLES).await;

    let pct = |h: i64, u: i64| if u == 0 { 0.0 } else { 100.0 * h as f64 / u as f64 };
    println!(
        "HOT updates of jobs over {CYCLES} lifecycles (claim, running, heartbeat, verify, done): \
         before m0012 {hot_before}/{upd_before} = {:.1} %, after {hot_after}/{upd_after} = {:.1} %",
        pct(hot_before, upd_before),
        pct(hot_after, upd_after)
    );
    assert_eq!(upd_before, 5 * CYCLES as i64, "five updates per lifecycle");
    assert_eq!(upd_after, 5 * CYCLES as i64, "five updates per lifecycle");
    assert!(
        hot_after >= hot_before + CYCLES as i64 / 2,
        "the heartbeat should be a HOT update after m0012 ({hot_before} → {hot_after})"
    );
}
