//! `baton bench queue`: the agent job queue through the real services, on
//! the event bus the server would use for the database (in-process for
//! SQLite, LISTEN/NOTIFY for Postgres).
//!
//! * **Latency**: `--waiters` agents are blocked in [`App::wait_for_job`];
//!   a person starts an agent on a task ([`App::enqueue_task_job`]). One
//!   sample runs from just before the enqueue call to the moment
//!   `wait_for_job` returns the claimed job in one of the agents. The agent
//!   then finishes the job (running → verify → done) and waits again; the
//!   next enqueue comes once every agent is blocked again.
//! * **Throughput**: `--jobs` jobs are enqueued (timed too), then
//!   `--workers` workers each loop claim → `running` → record a diff
//!   (the verify gate of `done` needs one) → `done` until the queue is
//!   empty. The bench checks that every job ended DONE, completed exactly
//!   once and never re-claimed, and fails otherwise.
//! * **Cost** ([`cost`]): statements, transactions and round trips per job
//!   of the drain, from Baton's counters and, on Postgres, the server's;
//!   then one more job run alone, call by call.
//! * **Baseline**, same run, same server: on Postgres `pgbench -i` (scale 1)
//!   into a throwaway database on the same server and `pgbench -b
//!   tpcb-like -c WORKERS -j 2 -T SECONDS`; on SQLite (no pgbench) the same
//!   tpcb-like transaction run by `--workers` tasks through a pool like
//!   Baton's on a scratch file beside the database. The same in-process
//!   loop also runs on Postgres, to show the driver's share.
//!
//! This file drives the queue; [`baseline`] measures the baseline and
//! [`report`] prints the figures against the targets.

use std::{
    collections::HashSet,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use anyhow::{Context, anyhow, bail, ensure};
use baton_app::{
    Actor, App, AppConfig,
    accounts::NewUser,
    queue::{
        claim::{ClaimRequest, ClaimedJob, WaitOutcome},
        complete::UpdateJobStatus,
        enqueue::NewTaskJob,
    },
    tokens::NewToken,
};
use baton_domain::{
    backlog::{PbiStatus, StoryStatus, TaskStatus},
    roles::Role,
};
use baton_store::{
    Db, DbCounts,
    entities::{pbi, product, story, task, user},
    events::EventBus,
    new_id, now,
    sea_orm::{
        ActiveModelTrait, ActiveValue::Set, ConnectionTrait, DbBackend, EntityTrait, Statement, TransactionTrait,
    },
};
use tokio::sync::mpsc;

use self::{
    baseline::baseline,
    cost::{Cost, ServerStats},
    report::{Rate, Report},
};
use super::{Target, stats::Stats};
use crate::cli::{BenchArgs, DbArgs};

mod baseline;
mod cost;
mod report;

/// Pause before each latency sample, so every agent woken by the previous
/// enqueue has finished its claim attempt and is blocked again.
const SETTLE: Duration = Duration::from_millis(20);
/// The longest a waiting agent may take to hold a job before the bench fails.
const HOLD_TIMEOUT: Duration = Duration::from_secs(30);
/// Tasks per story and stories per PBI in the seeded product.
const TASKS_PER_STORY: usize = 10;
const STORIES_PER_PBI: usize = 20;
/// Rows per multi-row INSERT.
const CHUNK: usize = 500;
/// Every task's plan names one file; [`DIFF`] changes exactly that file, so
/// verification says ALIGNED and `done` passes the gate.
const PLAN: &str = "1. Change `src/lib.rs`.\n2. Test it.";
const DIFF: &str =
    "diff --git a/src/lib.rs b/src/lib.rs\n--- a/src/lib.rs\n+++ b/src/lib.rs\n@@ -1 +1 @@\n-old\n+new\n";
/// `SELECT 1` samples of the round-trip figure.
const ROUND_TRIPS: usize = 200;
/// The bench's user, product, tokens and tasks.
struct Seeded {
    user_id: String,
    product_id: String,
    /// The person starting agents.
    owner: Actor,
    /// One token per waiting agent and per worker.
    agents: Vec<Actor>,
    tasks: Vec<String>,
}

/// Runs the queue benchmark on every database of the run and prints the report.
pub async fn run(db: &DbArgs, args: BenchArgs) -> anyhow::Result<()> {
    let mut reports = Vec::new();
    for target in super::targets(db, &args) {
        let r =
            bench_one(&target, &args).await.with_context(|| format!("queue benchmark on {} failed", target.label()))?;
        reports.push(r);
    }
    report::print(&reports, &args)
}

async fn bench_one(target: &Target, args: &BenchArgs) -> anyhow::Result<Report> {
    let url = &target.url;
    let db = baton_store::connect(url).await.with_context(|| format!("cannot open {}", target.label()))?;
    baton_store::db::migrate(&db).await.context("cannot migrate")?;
    let backend = format!("{:?}", db.get_database_backend()).to_lowercase();
    let bus = EventBus::for_db(&db, url).await.context("cannot start the event bus")?;
    let app = Arc::new(App::new(db.clone(), bus, AppConfig::default()));
    // One more task than the phases use: the job run alone for the per-call cost.
    let n_tasks = args.warmup + args.samples + args.jobs + 1;
    eprintln!("{backend}: seeding {n_tasks} tasks into {} …", target.label());
    let seeded = seed(&app, args, n_tasks).await?;
    let measured = measure(&app, &seeded, args, &backend).await;
    if args.keep {
        eprintln!("{backend}: kept product {} (user {})", seeded.product_id, seeded.user_id);
    } else {
        cleanup(&db, &seeded).await?;
    }
    db.close().await.ok();
    let (round_trip, latency, enqueue_call, wake_to_held, fill, throughput, ops, cost) = measured?;
    eprintln!("{backend}: tpcb-like baseline, {} clients, {} s …", args.workers, args.pgbench_seconds);
    let baseline = baseline(target, &backend, args).await;
    Ok(Report {
        backend,
        database: target.label(),
        round_trip,
        latency,
        enqueue_call,
        wake_to_held,
        fill,
        throughput,
        ops,
        cost,
        baseline,
    })
}

type Measured = (Stats, Stats, Stats, Stats, Rate, Rate, [(&'static str, Stats); 4], Cost);

async fn measure(app: &Arc<App>, seeded: &Seeded, args: &BenchArgs, backend: &str) -> anyhow::Result<Measured> {
    let (alone, tasks) = seeded.tasks.split_last().ok_or_else(|| anyhow!("no tasks seeded"))?;
    let (lat_tasks, fill_tasks) = tasks.split_at(args.warmup + args.samples);
    let round_trip = round_trip(&app.db).await?;
    eprintln!("{backend}: enqueue → waiting agent, {} agents, {} samples …", args.waiters, args.samples);
    let (latency, enqueue_call, wake_to_held) = latency(app, seeded, args, lat_tasks).await?;
    eprintln!("{backend}: {} workers claim → complete {} jobs …", args.workers, args.jobs);
    let (fill, throughput, ops, mut cost) = throughput(app, seeded, args, fill_tasks).await?;
    eprintln!("{backend}: one job alone, call by call …");
    cost.per_call = one_job(app, seeded, alone).await?;
    check_all_done(app, seeded, seeded.tasks.len()).await?;
    Ok((round_trip, latency, enqueue_call, wake_to_held, fill, throughput, ops, cost))
}

/// One job on `task_id` with the queue otherwise empty and one worker: what
/// each call (claim, running, verify, done) sends, from [`Db::counts`].
async fn one_job(app: &App, seeded: &Seeded, task_id: &str) -> anyhow::Result<Vec<(&'static str, DbCounts)>> {
    let job = app
        .enqueue_task_job(&seeded.owner, task_id, NewTaskJob::default())
        .await
        .map_err(|e| anyhow!("enqueue: {e}"))?;
    let actor = seeded.agents.first().ok_or_else(|| anyhow!("no agent token"))?;
    let db = &app.db;
    let t0 = db.counts();
    let c = app
        .claim_job(actor, ClaimRequest::new("bench-alone"))
        .await
        .map_err(|e| anyhow!("claim: {e}"))?
        .ok_or_else(|| anyhow!("the job run alone was not claimed"))?;
    ensure!(c.job_id == job.id, "claimed job {} instead of {}", c.job_id, job.id);
    let t1 = db.counts();
    let report = |status: &str| UpdateJobStatus { attempt: Some(c.attempt), ..UpdateJobStatus::new(&c.job_id, status) };
    app.update_job_status(actor, report("running")).await.map_err(|e| anyhow!("running: {e}"))?;
    let t2 = db.counts();
    let v = app.record_verify_result(actor, &c.job_id, DIFF).await.map_err(|e| anyhow!("verify: {e}"))?;
    ensure!(v.gate_passes_without_summary, "verification of job {} says {:?}", c.job_id, v.verify_result);
    let t3 = db.counts();
    let done = app.update_job_status(actor, report("done")).await.map_err(|e| anyhow!("done: {e}"))?;
    ensure!(done.status == "done", "job {} is {} after done", c.job_id, done.status);
    let t4 = db.counts();
    Ok(vec![("claim", t1 - t0), ("running", t2 - t1), ("verify", t3 - t2), ("done", t4 - t3)])
}

/// One `SELECT 1` through the pool, 200 times: the machine's price of a
/// statement, to read the service figures against (each service call is a
/// known number of statements).
async fn round_trip(db: &Db) -> anyhow::Result<Stats> {
    let mut v = Vec::with_capacity(ROUND_TRIPS);
    for _ in 0..ROUND_TRIPS {
        let t = Instant::now();
        db.query_one_raw(Statement::from_string(db.get_database_backend(), "SELECT 1 AS one")).await?;
        v.push(t.elapsed());
    }
    Stats::of(&mut v).ok_or_else(|| anyhow!("no round trips"))
}

/// Messages from the waiting agents to the bench.
enum AgentMsg {
    /// About to call `wait_for_job`.
    Waiting,
    /// `wait_for_job` returned this job at this instant.
    Holds { job_id: String, at: Instant },
    /// Something failed.
    Failed(String),
}

/// Enqueue → held latency with agents blocked in `wait_for_job`; returns
/// (enqueue → held, the enqueue call alone, enqueue returned → held).
async fn latency(
    app: &Arc<App>,
    seeded: &Seeded,
    args: &BenchArgs,
    tasks: &[String],
) -> anyhow::Result<(Stats, Stats, Stats)> {
    let (tx, mut rx) = mpsc::unbounded_channel::<AgentMsg>();
    let mut agents = Vec::new();
    for (i, actor) in seeded.agents.iter().take(args.waiters).enumerate() {
        let (app, actor, tx) = (app.clone(), actor.clone(), tx.clone());
        agents.push(tokio::spawn(async move {
            let instance = format!("bench-agent-{i}");
            loop {
                if tx.send(AgentMsg::Waiting).is_err() {
                    return;
                }
                let outcome =
                    app.wait_for_job(&actor, ClaimRequest::new(instance.clone()), Duration::from_secs(600)).await;
                let claimed = match outcome {
                    Ok(WaitOutcome::Claimed(c)) => c,
                    Ok(WaitOutcome::Timeout(_)) => continue,
                    Err(e) => {
                        let _ = tx.send(AgentMsg::Failed(format!("wait_for_job: {e}")));
                        return;
                    }
                };
                let at = Instant::now();
                let _ = tx.send(AgentMsg::Holds { job_id: claimed.job_id.clone(), at });
                if let Err(e) = finish(&app, &actor, &claimed).await {
                    let _ = tx.send(AgentMsg::Failed(format!("{e:#}")));
                    return;
                }
            }
        }));
    }
    drop(tx);
    let result = async {
        for _ in 0..args.waiters {
            expect_waiting(&mut rx).await?;
        }
        let (mut total, mut call, mut wake) = (Vec::new(), Vec::new(), Vec::new());
        for (i, task_id) in tasks.iter().enumerate() {
            tokio::time::sleep(SETTLE).await;
            let start = Instant::now();
            let job = app
                .enqueue_task_job(&seeded.owner, task_id, NewTaskJob::default())
                .await
                .map_err(|e| anyhow!("enqueue: {e}"))?;
            let returned = Instant::now();
            let at = match tokio::time::timeout(HOLD_TIMEOUT, rx.recv()).await {
                Err(_) => bail!("no waiting agent held job {} within {HOLD_TIMEOUT:?}", job.id),
                Ok(None) => bail!("the waiting agents stopped"),
                Ok(Some(AgentMsg::Failed(e))) => bail!("a waiting agent failed: {e}"),
                Ok(Some(AgentMsg::Waiting)) => bail!("an agent came back without a job"),
                Ok(Some(AgentMsg::Holds { job_id, at })) => {
                    ensure!(job_id == job.id, "an agent received job {job_id}, expected {}", job.id);
                    at
                }
            };
            // The agent finishes the job and waits again before the next sample.
            expect_waiting(&mut rx).await?;
            if i >= args.warmup {
                total.push(at.saturating_duration_since(start));
                call.push(returned.saturating_duration_since(start));
                wake.push(at.saturating_duration_since(returned));
            }
        }
        let s = |v: &mut Vec<Duration>| Stats::of(v).ok_or_else(|| anyhow!("no samples"));
        Ok((s(&mut total)?, s(&mut call)?, s(&mut wake)?))
    }
    .await;
    for a in &agents {
        a.abort();
    }
    result
}

async fn expect_waiting(rx: &mut mpsc::UnboundedReceiver<AgentMsg>) -> anyhow::Result<()> {
    match tokio::time::timeout(HOLD_TIMEOUT, rx.recv()).await {
        Ok(Some(AgentMsg::Waiting)) => Ok(()),
        Ok(Some(AgentMsg::Failed(e))) => bail!("a waiting agent failed: {e}"),
        Ok(Some(AgentMsg::Holds { job_id, .. })) => bail!("an agent holds job {job_id} nobody enqueued"),
        Ok(None) => bail!("the waiting agents stopped"),
        Err(_) => bail!("an agent did not get back to waiting within {HOLD_TIMEOUT:?}"),
    }
}

/// What an agent does with a claimed job: `running`, record a diff (the gate
/// of `done` needs a verification), `done`. Returns each call's duration.
async fn finish(app: &App, actor: &Actor, c: &ClaimedJob) -> anyhow::Result<[Duration; 3]> {
    let report = |status: &str| UpdateJobStatus { attempt: Some(c.attempt), ..UpdateJobStatus::new(&c.job_id, status) };
    let t0 = Instant::now();
    app.update_job_status(actor, report("running")).await.map_err(|e| anyhow!("running: {e}"))?;
    let t1 = Instant::now();
    let v = app.record_verify_result(actor, &c.job_id, DIFF).await.map_err(|e| anyhow!("verify: {e}"))?;
    ensure!(v.gate_passes_without_summary, "verification of job {} says {:?}", c.job_id, v.verify_result);
    let t2 = Instant::now();
    let done = app.update_job_status(actor, report("done")).await.map_err(|e| anyhow!("done: {e}"))?;
    ensure!(done.status == "done", "job {} is {} after done", c.job_id, done.status);
    Ok([t1 - t0, t2 - t1, t2.elapsed()])
}

/// Fills the queue, then lets the workers drain it; returns (the fill, the
/// drain, per-call durations of claim/running/verify/done, what the drain
/// cost the database).
async fn throughput(
    app: &Arc<App>,
    seeded: &Seeded,
    args: &BenchArgs,
    tasks: &[String],
) -> anyhow::Result<(Rate, Rate, [(&'static str, Stats); 4], Cost)> {
    let started = Instant::now();
    let mut enqueued = HashSet::with_capacity(tasks.len());
    for task_id in tasks {
        let job = app
            .enqueue_task_job(&seeded.owner, task_id, NewTaskJob::default())
            .await
            .map_err(|e| anyhow!("enqueue: {e}"))?;
        enqueued.insert(job.id);
    }
    let fill = Rate { count: tasks.len(), took: started.elapsed() };
    if app.db.get_database_backend() == DbBackend::Postgres {
        // As autovacuum would have by the time a real queue holds this many
        // jobs: without it the planner still believes the table empty (it
        // was analyzed at seeding) and picks scans that grow with every job.
        app.db.execute_unprepared("ANALYZE jobs").await?;
    }

    // The server's counters, read tightly around the drain (Postgres).
    let server = ServerStats::open(&app.db).await;
    let server_before = match &server {
        Some(s) => Some(s.before(&app.db).await?),
        None => None,
    };
    // The bench's own "still queued?" queries, left out of the cost.
    let checks = Arc::new(AtomicU64::new(0));
    let gate = Arc::new(tokio::sync::Barrier::new(args.workers + 1));
    let mut workers = Vec::new();
    for (i, actor) in seeded.agents.iter().take(args.workers).enumerate() {
        let (app, actor, gate, user_id) = (app.clone(), actor.clone(), gate.clone(), seeded.user_id.clone());
        let checks = checks.clone();
        workers.push(tokio::spawn(async move {
            let req = ClaimRequest::new(format!("bench-worker-{i}"));
            let mut done = Vec::new();
            let mut times: [Vec<Duration>; 4] = Default::default();
            gate.wait().await;
            loop {
                let t = Instant::now();
                let claimed = app.claim_job(&actor, req.clone()).await.map_err(|e| anyhow!("claim: {e}"))?;
                let Some(c) = claimed else {
                    // On Postgres a claim can come back empty while the last
                    // jobs are locked by other claimers: stop only when none
                    // is queued.
                    checks.fetch_add(1, Ordering::Relaxed);
                    if queued(&app.db, &user_id).await? == 0 {
                        return Ok::<_, anyhow::Error>((done, times, Instant::now()));
                    }
                    tokio::task::yield_now().await;
                    continue;
                };
                times[0].push(t.elapsed());
                let [running, verify, finished] = finish(&app, &actor, &c).await?;
                times[1].push(running);
                times[2].push(verify);
                times[3].push(finished);
                done.push(c.job_id);
            }
        }));
    }
    let counts_before = app.db.counts();
    gate.wait().await;
    let start = Instant::now();
    let mut completed: Vec<String> = Vec::new();
    let mut all: [Vec<Duration>; 4] = Default::default();
    let mut last = start;
    for w in workers {
        let (done, times, ended) = w.await.context("a worker panicked")??;
        completed.extend(done);
        for (a, t) in all.iter_mut().zip(times) {
            a.extend(t);
        }
        last = last.max(ended);
    }
    let drain = Rate { count: completed.len(), took: last - start };
    let checks = checks.load(Ordering::Relaxed);
    let own = DbCounts { statements: checks, transactions: checks, round_trips: checks };
    let client = app.db.counts() - counts_before - own;
    let server = match (&server, server_before) {
        (Some(s), Some(before)) => Some(s.after(&app.db, before, checks).await?),
        _ => None,
    };
    let unique: HashSet<&String> = completed.iter().collect();
    ensure!(unique.len() == completed.len(), "{} jobs were completed twice", completed.len() - unique.len());
    ensure!(
        unique.len() == enqueued.len() && unique.iter().all(|id| enqueued.contains(*id)),
        "the workers completed {} jobs, {} were enqueued",
        unique.len(),
        enqueued.len()
    );
    let names = ["claim", "running", "verify", "done"];
    let mut ops = Vec::with_capacity(4);
    for (name, mut v) in names.into_iter().zip(all) {
        ops.push((name, Stats::of(&mut v).ok_or_else(|| anyhow!("no {name} calls"))?));
    }
    let ops: [(&'static str, Stats); 4] = ops.try_into().map_err(|_| anyhow!("four operations"))?;
    let cost = Cost { jobs: completed.len(), client, server, per_call: Vec::new() };
    Ok((fill, drain, ops, cost))
}

/// Jobs of the user still queued.
async fn queued(db: &Db, user_id: &str) -> anyhow::Result<i64> {
    let row = db
        .query_one_raw(Statement::from_sql_and_values(
            db.get_database_backend(),
            "SELECT COUNT(*) AS n FROM jobs WHERE user_id = $1 AND status = 'QUEUED'",
            [user_id.into()],
        ))
        .await?
        .ok_or_else(|| anyhow!("COUNT returned no row"))?;
    Ok(row.try_get("", "n")?)
}

/// Every job of the bench ended DONE on its first claim and every task is DONE.
async fn check_all_done(app: &App, seeded: &Seeded, expected: usize) -> anyhow::Result<()> {
    let b = app.db.get_database_backend();
    let rows = app
        .db
        .query_all_raw(Statement::from_sql_and_values(
            b,
            "SELECT status, COUNT(*) AS n, SUM(retry_count) AS retries FROM jobs WHERE product_id = $1 GROUP BY status",
            [seeded.product_id.clone().into()],
        ))
        .await?;
    let mut by_status = Vec::new();
    for r in &rows {
        let status: String = r.try_get("", "status")?;
        let n: i64 = r.try_get("", "n")?;
        let retries: i64 = r.try_get("", "retries")?;
        by_status.push((status, n, retries));
    }
    ensure!(
        by_status.len() == 1 && by_status[0].0 == "DONE" && by_status[0].1 == expected as i64 && by_status[0].2 == 0,
        "expected {expected} jobs DONE on their first claim, found (status, count, retries) {by_status:?}"
    );
    let row = app
        .db
        .query_one_raw(Statement::from_sql_and_values(
            b,
            "SELECT COUNT(*) AS n FROM tasks WHERE product_id = $1 AND status <> $2",
            [seeded.product_id.clone().into(), TaskStatus::Done.as_db().into()],
        ))
        .await?
        .ok_or_else(|| anyhow!("COUNT returned no row"))?;
    let open: i64 = row.try_get("", "n")?;
    ensure!(open == 0, "{open} tasks are not DONE after their jobs were");
    Ok(())
}

/// A user with a token per agent, a product, PBIs, stories and `n` tasks
/// (batch inserts; the services are measured, not the seeding).
async fn seed(app: &App, args: &BenchArgs, n: usize) -> anyhow::Result<Seeded> {
    let suffix: String = new_id().chars().filter(char::is_ascii_hexdigit).rev().take(10).collect();
    let cli = Actor::cli();
    let owner = app
        .create_user(
            &cli,
            NewUser {
                username: format!("bench-q-{suffix}"),
                password: format!("bench-{}", new_id()),
                roles: vec![Role::ProductOwner, Role::Developer],
                ..Default::default()
            },
        )
        .await
        .map_err(|e| anyhow!("cannot create the bench user: {e}"))?;
    let mut tokens = Vec::new();
    for i in 0..=args.waiters.max(args.workers) {
        let t = app
            .create_token(&cli, &owner.id, NewToken { label: format!("bench agent {i}"), ..Default::default() })
            .await
            .map_err(|e| anyhow!("cannot create a token: {e}"))?;
        tokens.push(app.token_actor(&t.token).await.map_err(|e| anyhow!("token: {e}"))?);
    }
    let owner_actor = tokens.remove(0);

    let stories_n = n.div_ceil(TASKS_PER_STORY);
    let pbis_n = stories_n.div_ceil(STORIES_PER_PBI);
    let t0 = now();
    let product_id = new_id();
    let txn = app.db.begin().await?;
    product::ActiveModel {
        id: Set(product_id.clone()),
        user_id: Set(owner.id.clone()),
        name: Set(format!("Queue bench {suffix}")),
        definition_of_done: Set("Benchmarked".into()),
        last_pbi_number: Set(pbis_n as i64),
        last_story_number: Set(stories_n as i64),
        last_task_number: Set(n as i64),
        created_at: Set(t0),
        updated_at: Set(t0),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    let pbi_ids: Vec<String> = (0..pbis_n).map(|_| new_id()).collect();
    for (c, ids) in pbi_ids.chunks(CHUNK).enumerate() {
        let models = ids.iter().enumerate().map(|(j, id)| {
            let k = c * CHUNK + j + 1;
            pbi::ActiveModel {
                id: Set(id.clone()),
                product_id: Set(product_id.clone()),
                code: Set(format!("PBI-{k}")),
                title: Set(format!("Queue bench PBI {k}")),
                description: Set(None),
                priority: Set(2),
                sort_order: Set(k as f64),
                status: Set(PbiStatus::Ready.as_db().into()),
                pr_url: Set(None),
                pr_merged_at: Set(None),
                epic_number: Set(None),
                created_at: Set(t0),
                updated_at: Set(t0),
            }
        });
        pbi::Entity::insert_many(models).exec(&txn).await?;
    }
    let story_ids: Vec<String> = (0..stories_n).map(|_| new_id()).collect();
    for (c, ids) in story_ids.chunks(CHUNK).enumerate() {
        let models = ids.iter().enumerate().map(|(j, id)| {
            let k = c * CHUNK + j;
            story::ActiveModel {
                id: Set(id.clone()),
                pbi_id: Set(pbi_ids[k / STORIES_PER_PBI].clone()),
                product_id: Set(product_id.clone()),
                status: Set(StoryStatus::Open.as_db().into()),
                sprint_id: Set(None),
                assignee_id: Set(None),
                code: Set(format!("ST-{:03}", k + 1)),
                title: Set(format!("Queue bench story {}", k + 1)),
                description: Set(None),
                acceptance_criteria: Set(None),
                priority: Set(2),
                sort_order: Set((k % STORIES_PER_PBI + 1) as f64),
                qa_review_count: Set(0),
                created_at: Set(t0),
                updated_at: Set(t0),
                ..Default::default()
            }
        });
        story::Entity::insert_many(models).exec(&txn).await?;
    }
    let task_ids: Vec<String> = (0..n).map(|_| new_id()).collect();
    for (c, ids) in task_ids.chunks(CHUNK).enumerate() {
        let models = ids.iter().enumerate().map(|(j, id)| {
            let k = c * CHUNK + j;
            task::ActiveModel {
                id: Set(id.clone()),
                story_id: Set(story_ids[k / TASKS_PER_STORY].clone()),
                product_id: Set(product_id.clone()),
                sprint_id: Set(None),
                code: Set(format!("T-{}", k + 1)),
                title: Set(format!("Queue bench task {}", k + 1)),
                description: Set(None),
                implementation_plan: Set(Some(PLAN.into())),
                priority: Set(2),
                sort_order: Set((k % TASKS_PER_STORY + 1) as f64),
                status: Set(TaskStatus::ToDo.as_db().into()),
                verify_only: Set(false),
                verify_required: Set("ANY".into()),
                requires_opus: Set(false),
                repo_url: Set(None),
                created_at: Set(t0),
                updated_at: Set(t0),
            }
        });
        task::Entity::insert_many(models).exec(&txn).await?;
    }
    txn.commit().await?;
    if app.db.get_database_backend() == DbBackend::Postgres {
        // As autovacuum would have long before a real queue got this big.
        app.db.execute_unprepared("ANALYZE pbis, stories, tasks, jobs").await?;
    }
    Ok(Seeded { user_id: owner.id, product_id, owner: owner_actor, agents: tokens, tasks: task_ids })
}

/// Deletes the bench product (its backlog and jobs cascade) and user (its tokens cascade).
async fn cleanup(db: &Db, seeded: &Seeded) -> anyhow::Result<()> {
    let txn = db.begin().await?;
    product::Entity::delete_by_id(seeded.product_id.clone()).exec(&txn).await?;
    user::Entity::delete_by_id(seeded.user_id.clone()).exec(&txn).await?;
    txn.commit().await?;
    Ok(())
}
