//! What one job costs the database (issue 13): the statements and
//! transactions of claim → running → verify → done, counted by
//! [`baton_store::Db::counts`] on both backends, must stay within the
//! budget below, so the count cannot creep back up unnoticed: a typical
//! job (its story keeps its status), and the job that closes its story, so
//! `done` propagates to the story and PBI (the most expensive path). The per-call breakdown is printed, so a
//! failure shows which call grew.
//!
//! With `BATON_QUEUE_COST_SQL=1` the test also prints every statement of
//! the counted lifecycle, call by call (from `Db::record_sql`): run it with
//! `--no-capture` to see what a job sends and what to cut.
//!
//! On Postgres the counts include the `pg_notify` of each event (the bus
//! publishes through the same `Db`); on SQLite events are in-process.

mod queue_common;

use std::time::Duration;

use baton_app::{
    Actor, App,
    queue::{claim::ClaimRequest, complete::UpdateJobStatus, enqueue::NewTaskJob},
};
use baton_store::{
    Backend, DbCounts,
    entities::{pbi, story, task},
    sea_orm::EntityTrait,
};
use baton_testkit::backend_tests;
use queue_common::*;

/// (call, statements, transactions) a typical job may spend, on either
/// backend (Postgres counts the `pg_notify` of its events): claim = the
/// presence read, the claim statement and its event; running = one update
/// and its event; verify = one read and one update; done = the job read and
/// lock, the job update, the story lock, the task update with the story's
/// roll-up read, and the events after the commit.
const CALL_BUDGETS: [(&str, u64, u64); 4] = [("claim", 3, 2), ("running", 2, 2), ("verify", 2, 2), ("done", 5, 2)];
/// Statements of the job that closes its story: the typical budget plus
/// the story's and its PBI's roll-up (story update, PBI lock, its stories'
/// statuses, PBI update).
const MAX_STATEMENTS_PER_JOB: u64 = 12 + 4;
/// Transactions of that job (begun ones plus autocommit statements): the
/// roll-up runs inside `done`'s transaction.
const MAX_TRANSACTIONS_PER_JOB: u64 = 8;

const LEASE: Duration = Duration::from_secs(300);
const PLAN: &str = "1. Change `src/lib.rs`.\n2. Test it.";
const DIFF: &str =
    "diff --git a/src/lib.rs b/src/lib.rs\n--- a/src/lib.rs\n+++ b/src/lib.rs\n@@ -1 +1 @@\n-old\n+new\n";

/// One lifecycle of the job on `task_id`; returns the cost of each call
/// (claim, running, verify, done); `show` prints its statements when
/// `BATON_QUEUE_COST_SQL` is set.
async fn lifecycle(app: &App, who: &Actor, task_id: &str, show: bool) -> [(&'static str, DbCounts); 4] {
    let job = app.enqueue_task_job(who, task_id, NewTaskJob::default()).await.expect("enqueue");
    let db = &app.db;
    let show_sql = show && std::env::var_os("BATON_QUEUE_COST_SQL").is_some();
    db.record_sql(show_sql);
    let print_sql = |call: &str| {
        for e in db.take_sql() {
            let tag = if e.autocommit { "autocommit" } else { "" };
            eprintln!("-- {call} {tag}\n{};", e.sql);
        }
    };
    let t0 = db.counts();
    let claimed = app.claim_job(who, ClaimRequest::new("cost")).await.expect("claim").expect("a job");
    assert_eq!(claimed.job_id, job.id);
    let t1 = db.counts();
    print_sql("claim");
    let report =
        |status: &str| UpdateJobStatus { attempt: Some(claimed.attempt), ..UpdateJobStatus::new(&job.id, status) };
    let running = app.update_job_status(who, report("running")).await.expect("running");
    assert_eq!(running.status, "running");
    let t2 = db.counts();
    print_sql("running");
    let verified = app.record_verify_result(who, task_id, DIFF).await.expect("verify");
    assert!(verified.gate_passes_without_summary, "the diff matches the plan: {:?}", verified.verify_result);
    let t3 = db.counts();
    print_sql("verify");
    let done = app.update_job_status(who, report("done")).await.expect("done");
    assert_eq!(done.status, "done");
    let t4 = db.counts();
    print_sql("done");
    db.record_sql(false);
    [("claim", t1 - t0), ("running", t2 - t1), ("verify", t3 - t2), ("done", t4 - t3)]
}

fn print_costs(backend: &str, what: &str, calls: &[(&'static str, DbCounts); 4]) {
    eprintln!("{backend}: {what}");
    for (name, c) in calls {
        eprintln!(
            "{backend}:   {name:<8} {:>3} statements {:>3} transactions {:>3} round trips",
            c.statements, c.transactions, c.round_trips
        );
    }
    let sum = total(calls);
    eprintln!(
        "{backend}:   {:<8} {:>3} statements {:>3} transactions {:>3} round trips",
        "job", sum.statements, sum.transactions, sum.round_trips
    );
}

fn total(calls: &[(&'static str, DbCounts); 4]) -> DbCounts {
    calls.iter().fold(DbCounts::default(), |sum, (_, c)| DbCounts {
        statements: sum.statements + c.statements,
        transactions: sum.transactions + c.transactions,
        round_trips: sum.round_trips + c.round_trips,
    })
}

backend_tests! {
    /// A product with one PBI, two stories and three planned tasks; the
    /// first story's first task is done through the queue (warming up), then
    /// its second and last task's job is counted call by call. The job, the
    /// task and the story end DONE (the work really happened), and the whole
    /// lifecycle stays within the budget.
    async fn one_job_lifecycle_stays_within_its_statement_budget(t) {
        let app = app(&t, LEASE).await;
        let alice = user(&app, "alice").await;
        let pid = product_of(&app, &alice, "P").await;
        let (pbi_id, first) = pbi_story(&app, &alice, &pid, "Login").await;
        let second = story_in(&app, &alice, &pbi_id, "Logout").await;
        let warm = task_in(&app, &alice, &first, "Form", Some(PLAN)).await;
        let middle = task_in(&app, &alice, &first, "Validate", Some(PLAN)).await;
        let last = task_in(&app, &alice, &first, "Submit", Some(PLAN)).await;
        let other = task_in(&app, &alice, &second, "Button", Some(PLAN)).await;

        lifecycle(&app, &alice, &warm, false).await;
        let backend = if t.backend == Backend::Postgres { "postgres" } else { "sqlite" };
        let typical = lifecycle(&app, &alice, &middle, true).await;
        print_costs(backend, "a typical job", &typical);
        let calls = lifecycle(&app, &alice, &last, false).await;
        print_costs(backend, "the story's last job", &calls);
        let sum = total(&calls);

        let row = |status: Option<String>| status.expect("row exists");
        let task_status = |id: String| async { row(task::Entity::find_by_id(id).one(&app.db).await.expect("task").map(|t| t.status)) };
        assert_eq!(task_status(last.clone()).await, "DONE");
        assert_eq!(task_status(other.clone()).await, "TO_DO", "the other story's task was not touched");
        let s = story::Entity::find_by_id(first.clone()).one(&app.db).await.expect("story").expect("story exists");
        assert_eq!(s.status, "DONE", "the last task's done promoted its story");
        let s2 = story::Entity::find_by_id(second.clone()).one(&app.db).await.expect("story").expect("story exists");
        assert_ne!(s2.status, "DONE");
        let p = pbi::Entity::find_by_id(pbi_id.clone()).one(&app.db).await.expect("pbi").expect("pbi exists");
        assert_ne!(p.status, "DONE", "one story of the PBI is still open");
        let jobs = app
            .list_jobs(&alice, baton_app::queue::enqueue::JobFilter { status: Some("done".into()), ..Default::default() })
            .await
            .expect("jobs");
        assert_eq!(jobs.total, 3, "every job is DONE");

        for (name, c) in typical.iter().chain(&calls) {
            assert!(c.statements > 0 && c.transactions > 0, "{name} did its work through the database");
        }
        // A typical job: every call within its own budget, and the whole job
        // within the 14 statements and 9 transactions.
        for ((name, c), (_, max_statements, max_transactions)) in typical.iter().zip(CALL_BUDGETS) {
            assert!(
                c.statements <= max_statements && c.transactions <= max_transactions,
                "{backend}: {name} took {} statements / {} transactions, its budget is {max_statements} / {max_transactions}",
                c.statements,
                c.transactions
            );
        }
        let typical_sum = total(&typical);
        assert!(
            typical_sum.statements <= 14 && typical_sum.transactions <= 9,
            "{backend}: a typical job took {typical_sum:?}"
        );
        assert!(
            sum.statements <= MAX_STATEMENTS_PER_JOB,
            "{backend}: a job took {} statements, the budget is {MAX_STATEMENTS_PER_JOB} (per call: {calls:?})",
            sum.statements
        );
        assert!(
            sum.transactions <= MAX_TRANSACTIONS_PER_JOB,
            "{backend}: a job took {} transactions, the budget is {MAX_TRANSACTIONS_PER_JOB} (per call: {calls:?})",
            sum.transactions
        );
    }
}
