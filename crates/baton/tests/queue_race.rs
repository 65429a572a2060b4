//! The claim race with real servers (issue 5, "Proof with real clients"):
//! 16 concurrent claimers speaking JSON-RPC over HTTP to `/mcp`, each with
//! its own token, drain 2,000 jobs that a person enqueued over REST (tasks
//! imported in one request per product, four products). On Postgres two
//! `baton serve` instances share the database (8 claimers and half the
//! enqueues on each); on SQLite one instance serves all 16.
//!
//! Every job must be claimed exactly once and completed exactly once
//! (verify against the plan, then `update_job_status done`): 2,000 distinct
//! claims, all attempt 0, and in the database 2,000 DONE jobs with
//! `retry_count` 0 on 2,000 distinct tasks, all DONE, every story promoted.
//! The enqueue and drain rates are printed (figures for the README).

mod common;

use std::{
    collections::HashSet,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use baton_store::sea_orm::{ConnectionTrait, Statement};
use baton_testkit::backend_tests;
use common::{mcp::*, *};
use serde_json::{Value, json};

const JOBS: usize = 2000;
const CLAIMERS: usize = 16;
const ENQUEUERS: usize = 4;
const _: () = assert!(ENQUEUERS.is_multiple_of(PRODUCTS), "each enqueuer serves one product");
/// Products the tasks are spread over: completions lock their product row,
/// so one product would serialise all 16 claimers' completions.
const PRODUCTS: usize = 4;
const PBIS_PER_PRODUCT: usize = 5;
const STORIES_PER_PBI: usize = 5;
const TASKS_PER_STORY: usize = JOBS / (PRODUCTS * PBIS_PER_PRODUCT * STORIES_PER_PBI);
/// The whole drain must finish within this (it fails instead of hanging).
const DRAIN_DEADLINE: Duration = Duration::from_secs(420);

/// Product `p` (0-based) of the race as one JSON export (imported in one
/// request). Task codes are unique across products (`T-n`, n = 1..=JOBS),
/// so `T-n` names one task; its plan names `src/job_n.rs`.
fn backlog(p: usize) -> Value {
    let per_product = JOBS / PRODUCTS;
    let mut n = p * per_product;
    let pbis: Vec<Value> = (1..=PBIS_PER_PRODUCT)
        .map(|b| {
            let stories: Vec<Value> = (1..=STORIES_PER_PBI)
                .map(|s| {
                    let tasks: Vec<Value> = (1..=TASKS_PER_STORY)
                        .map(|k| {
                            n += 1;
                            json!({"code": format!("T-{n}"), "title": format!("Job {n}"),
                                   "implementation_plan": format!("Change `src/job_{n}.rs`."),
                                   "priority": 3, "sort_order": k as f64, "status": "todo"})
                        })
                        .collect();
                    json!({"code": format!("ST-{b}-{s}"), "title": format!("Story {b}.{s}"), "priority": 3,
                           "sort_order": s as f64, "status": "open", "tasks": tasks})
                })
                .collect();
            json!({"code": format!("PBI-{b}"), "title": format!("PBI {b}"), "priority": 3, "sort_order": b as f64,
                   "status": "ready", "stories": stories})
        })
        .collect();
    json!({"format": "baton-backlog", "version": 1,
           "product": {"name": format!("Race {p}"), "code": format!("RACE{p}"), "definition_of_done": "tests pass"},
           "pbis": pbis})
}

/// The diff an agent would send for task `T-n`: exactly the planned file.
fn diff_for(task_code: &str) -> String {
    let n = task_code.trim_start_matches("T-");
    format!(
        "diff --git a/src/job_{n}.rs b/src/job_{n}.rs\n--- a/src/job_{n}.rs\n+++ b/src/job_{n}.rs\n\
         @@ -1 +1,2 @@\n fn main() {{}}\n+fn job_{n}() {{}}\n"
    )
}

/// What one claimer did.
struct Claims {
    server: usize,
    jobs: Vec<String>,
}

/// One `wait_for_job` of `wait_seconds` by the claimer `who`, which must
/// not still be busy after `deadline`: `None` on a timeout, else the claim
/// with its job id and task code.
async fn next_claim(
    mcp: &mut McpHttp,
    who: &str,
    deadline: Instant,
    wait_seconds: u64,
) -> Option<(Value, String, String)> {
    assert!(Instant::now() < deadline, "{who} still busy after {DRAIN_DEADLINE:?}");
    let r = mcp.call("wait_for_job", json!({"wait_seconds": wait_seconds})).await;
    let r = r.ok("wait_for_job");
    if r["status"] == "timeout" {
        return None;
    }
    let job_id = r["job_id"].as_str().expect("a claim has a job_id").to_string();
    let code = r["task"]["code"].as_str().expect("a task job carries its task").to_string();
    Some((r.clone(), job_id, code))
}

/// Verifies the claimed job's diff (it must be aligned with the plan of
/// task `code`) and reports the job done; the report's result.
async fn verify_and_finish(mcp: &mut McpHttp, job_id: &str, code: &str) -> Value {
    let v = mcp.call("verify_task_against_plan", json!({"task_id": job_id, "diff": diff_for(code)})).await;
    assert_eq!(v.ok("verify")["verify_result"], "aligned", "{v:?}");
    let d = mcp.call("update_job_status", json!({"job_id": job_id, "status": "done", "attempt": 0})).await;
    let d = d.ok("update_job_status done").clone();
    assert_eq!(d["status"], "done", "{d}");
    d
}

/// Claims, verifies and completes jobs until a wait times out: nothing is
/// enqueued during the drain and no lease expires, so a timeout means the
/// queue is empty.
async fn claimer(port: u16, server: usize, token: String) -> Claims {
    let mut mcp = McpHttp::new(port, &token);
    let mut jobs = Vec::new();
    let deadline = Instant::now() + DRAIN_DEADLINE;
    let who = format!("claimer on server {server}");
    loop {
        let Some((r, job_id, code)) = next_claim(&mut mcp, &who, deadline, 1).await else {
            return Claims { server, jobs };
        };
        assert_eq!(r["attempt"], 0, "no lease expires in this race: {r}");
        let d = verify_and_finish(&mut mcp, &job_id, &code).await;
        assert_eq!(d["task_status"], "done", "{d}");
        jobs.push(job_id);
    }
}

/// A claim as a waiting claimer saw it.
struct Seen {
    job_id: String,
    /// The task's number (`T-n`); the enqueue went to instance `n % instances`.
    task_number: usize,
    /// Enqueue → claim, from the job row's timestamps.
    latency: chrono::Duration,
}

/// Like [`claimer`], but started before anything is queued: waits until
/// `total` jobs are done (by anyone), so every job reaches it through an
/// enqueue event, not a backlog.
async fn waiting_claimer(
    port: u16,
    server: usize,
    token: String,
    done: Arc<AtomicUsize>,
    total: usize,
) -> (usize, Vec<Seen>) {
    let mut mcp = McpHttp::new(port, &token);
    let mut seen = Vec::new();
    let deadline = Instant::now() + DRAIN_DEADLINE;
    let who = format!("waiting claimer on server {server}");
    loop {
        let Some((r, job_id, code)) = next_claim(&mut mcp, &who, deadline, 2).await else {
            if done.load(Ordering::SeqCst) >= total {
                return (server, seen);
            }
            continue;
        };
        let at = |k: &str| -> chrono::DateTime<chrono::Utc> {
            r["job"][k]
                .as_str()
                .and_then(|s| s.parse().ok())
                .unwrap_or_else(|| panic!("job.{k} is not a timestamp: {r}"))
        };
        let latency = at("claimed_at") - at("created_at");
        verify_and_finish(&mut mcp, &job_id, &code).await;
        done.fetch_add(1, Ordering::SeqCst);
        let task_number = code.trim_start_matches("T-").parse().expect("T-n");
        seen.push(Seen { job_id, task_number, latency });
    }
}

async fn scalar(db: &baton_store::Db, sql: &str) -> i64 {
    let row = db
        .query_one_raw(Statement::from_string(db.get_database_backend(), sql.to_string()))
        .await
        .expect("query")
        .expect("one row");
    row.try_get::<i64>("", "n").expect("a count named n")
}

backend_tests! {
    async fn sixteen_claimers_over_mcp_take_two_thousand_jobs_exactly_once(t) {
        let instances = if t.backend == baton_store::Backend::Postgres { 2 } else { 1 };
        let baton = Baton::new(&t.url);
        baton.create_user("agent", PASSWORD, &["--role", "developer"]).await;
        let rest_token = baton.create_token("agent", "rest").await;
        let mut servers = Vec::new();
        for _ in 0..instances {
            servers.push(baton.serve().await);
        }
        let ports: Vec<u16> = servers.iter().map(|s| s.port).collect();
        let mut rest = Rest::new(ports[0], &rest_token);

        // Set-up: the backlog in one import; one token per claimer.
        let setup = Instant::now();
        for p in 0..PRODUCTS {
            let imported = rest.post_expect("/api/products/import", &backlog(p), 201).await;
            assert_eq!(imported["tasks"], JOBS / PRODUCTS, "{imported}");
        }
        let mut tokens = Vec::new();
        for i in 0..CLAIMERS {
            let created = rest.post_expect("/api/tokens", &json!({"label": format!("claimer-{i}")}), 201).await;
            tokens.push(created["token"].as_str().expect("the secret").to_string());
        }
        eprintln!("[{:?}] set-up (import of {JOBS} tasks in {PRODUCTS} products, {CLAIMERS} tokens): {:?}", t.backend, setup.elapsed());

        // A person starts the agent on every task, over REST, on every
        // instance. (Enqueued before the claimers start: with 16 claimers
        // waiting, every enqueue wakes all of them and the herd, not the
        // claim, sets the pace; see the report of issue 5.)
        let enqueue_started = Instant::now();
        let mut enqueuers = Vec::new();
        for e in 0..ENQUEUERS {
            let port = ports[e % instances];
            let token = rest_token.clone();
            // Enqueuer e starts the tasks of product e % PRODUCTS, so the
            // queue (claimed oldest first) interleaves the products.
            let per_product = JOBS / PRODUCTS;
            let first = (e % PRODUCTS) * per_product + 1;
            let range: Vec<usize> = (first..first + per_product).skip(e / PRODUCTS).step_by(ENQUEUERS / PRODUCTS).collect();
            enqueuers.push(tokio::spawn(async move {
                let mut rest = Rest::new(port, &token);
                for n in range {
                    rest.post_expect(&format!("/api/tasks/T-{n}/jobs"), &json!({}), 201).await;
                }
            }));
        }
        for h in enqueuers {
            h.await.expect("enqueuer");
        }
        let enqueue_took = enqueue_started.elapsed();
        assert_eq!(scalar(&t.db, "SELECT COUNT(*) AS n FROM jobs WHERE status = 'QUEUED'").await, JOBS as i64);

        // The race: 16 claimers, spread over the instances, drain the queue.
        let started = Instant::now();
        let mut handles = Vec::new();
        for (i, token) in tokens.into_iter().enumerate() {
            let server = i % instances;
            handles.push(tokio::spawn(claimer(ports[server], server, token)));
        }
        let mut all = Vec::new();
        let mut per_server = vec![0usize; instances];
        let mut per_claimer = Vec::new();
        for h in handles {
            let c = h.await.unwrap_or_else(|e| {
                for s in &servers {
                    eprintln!("server log:\n{}", s.log_text());
                }
                panic!("claimer failed: {e}")
            });
            per_server[c.server] += c.jobs.len();
            per_claimer.push(c.jobs.len());
            all.extend(c.jobs);
        }
        let took = started.elapsed();
        eprintln!(
            "[{:?}] {JOBS} jobs enqueued over REST ({ENQUEUERS} connections) in {enqueue_took:?} = {:.0} jobs/s; \
             {CLAIMERS} claimers over /mcp on {instances} instance(s) claimed+verified+completed them in {took:?} = {:.0} jobs/s; \
             per instance {per_server:?}; per claimer {per_claimer:?}",
            t.backend,
            JOBS as f64 / enqueue_took.as_secs_f64(),
            JOBS as f64 / took.as_secs_f64()
        );

        // Exactly once, as the claimers saw it.
        let distinct: HashSet<&String> = all.iter().collect();
        assert_eq!(all.len(), JOBS, "every job completed once, none twice");
        assert_eq!(distinct.len(), JOBS, "no job was claimed by two claimers");
        assert!(per_server.iter().all(|&n| n > 0), "every instance served claims: {per_server:?}");
        // And as the database has it.
        assert_eq!(scalar(&t.db, "SELECT COUNT(*) AS n FROM jobs").await, JOBS as i64, "one job per enqueue");
        assert_eq!(scalar(&t.db, "SELECT COUNT(*) AS n FROM jobs WHERE status = 'DONE'").await, JOBS as i64);
        assert_eq!(scalar(&t.db, "SELECT COUNT(*) AS n FROM jobs WHERE retry_count <> 0").await, 0);
        assert_eq!(scalar(&t.db, "SELECT COUNT(*) AS n FROM jobs WHERE finished_at IS NULL OR verify_result <> 'ALIGNED'").await, 0);
        assert_eq!(scalar(&t.db, "SELECT COUNT(DISTINCT task_id) AS n FROM jobs").await, JOBS as i64);
        assert_eq!(scalar(&t.db, "SELECT COUNT(*) AS n FROM tasks WHERE status = 'DONE'").await, JOBS as i64);
        assert_eq!(scalar(&t.db, "SELECT COUNT(*) AS n FROM stories WHERE status = 'DONE'").await, (PRODUCTS * PBIS_PER_PRODUCT * STORIES_PER_PBI) as i64);
        for s in &servers {
            assert_no_panic(&s.log_text());
        }
    }

    /// Claimers wait before anything is queued, on every instance; a person
    /// enqueues jobs one by one, alternating instances. Each job reaches a
    /// waiting claimer through the enqueue event (across instances on
    /// Postgres: LISTEN/NOTIFY) — the safety poll is set to 60 s, so a
    /// missed event would show as a latency near it — and is done once.
    async fn waiting_claimers_are_woken_by_enqueues_on_any_instance(t) {
        const WOKEN_JOBS: usize = 200;
        let instances = if t.backend == baton_store::Backend::Postgres { 2 } else { 1 };
        let baton = Baton::new(&t.url);
        baton.create_user("agent", PASSWORD, &["--role", "developer"]).await;
        let rest_token = baton.create_token("agent", "rest").await;
        let mut servers = Vec::new();
        for _ in 0..instances {
            servers.push(Server::start_with(&t.url, &baton.scratch.path, &["--job-wait-poll-ms", "60000"]).await);
        }
        let ports: Vec<u16> = servers.iter().map(|s| s.port).collect();
        let mut rests: Vec<Rest> = ports.iter().map(|p| Rest::new(*p, &rest_token)).collect();
        rests[0].post_expect("/api/products/import", &backlog(0), 201).await;
        let done = Arc::new(AtomicUsize::new(0));
        let mut handles = Vec::new();
        for i in 0..CLAIMERS {
            let created = rests[0].post_expect("/api/tokens", &json!({"label": format!("waiter-{i}")}), 201).await;
            let token = created["token"].as_str().expect("the secret").to_string();
            let server = i % instances;
            handles.push(tokio::spawn(waiting_claimer(ports[server], server, token, done.clone(), WOKEN_JOBS)));
        }
        let started = Instant::now();
        for n in 1..=WOKEN_JOBS {
            rests[n % instances].post_expect(&format!("/api/tasks/T-{n}/jobs"), &json!({}), 201).await;
        }
        let enqueue_took = started.elapsed();
        let mut seen = Vec::new();
        let mut cross = 0;
        for h in handles {
            let (server, s) = h.await.unwrap_or_else(|e| {
                for s in &servers {
                    eprintln!("server log:\n{}", s.log_text());
                }
                panic!("claimer failed: {e}")
            });
            cross += s.iter().filter(|c| c.task_number % instances != server).count();
            seen.extend(s);
        }
        let took = started.elapsed();
        let distinct: HashSet<&String> = seen.iter().map(|c| &c.job_id).collect();
        assert_eq!(seen.len(), WOKEN_JOBS, "every job completed once, none twice");
        assert_eq!(distinct.len(), WOKEN_JOBS, "no job was claimed by two claimers");
        let mut lat: Vec<chrono::Duration> = seen.iter().map(|c| c.latency).collect();
        lat.sort();
        let (p50, max) = (lat[lat.len() / 2], lat[lat.len() - 1]);
        eprintln!(
            "[{:?}] {WOKEN_JOBS} jobs enqueued one by one while {CLAIMERS} claimers waited on {instances} instance(s): \
             enqueued in {enqueue_took:?}, all done in {took:?} ({:.0} jobs/s); enqueue → claim p50 {} ms, max {} ms; \
             {cross} claimed on another instance than their enqueue",
            t.backend,
            WOKEN_JOBS as f64 / took.as_secs_f64(),
            p50.num_milliseconds(),
            max.num_milliseconds()
        );
        assert!(max < chrono::Duration::seconds(30), "a job waited {max} for a claimer: an enqueue event was missed");
        if instances > 1 {
            assert!(cross > 0, "no job enqueued on one instance was claimed through the other");
        }
        assert_eq!(scalar(&t.db, "SELECT COUNT(*) AS n FROM jobs WHERE status = 'DONE' AND retry_count = 0").await, WOKEN_JOBS as i64);
        assert_eq!(scalar(&t.db, "SELECT COUNT(*) AS n FROM jobs").await, WOKEN_JOBS as i64);
        for s in &servers {
            assert_no_panic(&s.log_text());
        }
    }
}
