//! Sprint runs through their services on both backends (reference §6):
//! starting with each PR strategy and every pre-flight blocker, the batch
//! job's frozen scope, executions with verification, the aggregate gate,
//! finalisation, pause on quota and resume on a chained run, failure,
//! cancel, the per-task barrier, and a late worker after a take-over.

mod queue_common;

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use baton_app::{
    Actor, App,
    backlog::{pbis::PbiPatch, stories::NewStory, tasks::NewTask},
    list::PageParams,
    questions::NewQuestion,
    queue::{
        claim::{ClaimRequest, ClaimedJob},
        complete::UpdateJobStatus,
        enqueue::NewTaskJob,
    },
    sprint_runs::{
        StartSprintRun,
        executions::{UpdateTaskExecution, VerifySprintTask},
        sprint_branch,
    },
    sprints::NewSprint,
};
use baton_domain::{
    agents::{SprintRunStatus, TaskExecutionStatus},
    backlog::{PbiStatus, PrStrategy, TaskStatus, VerifyResult},
};
use baton_store::{
    entities::{job, product, sprint_run, sprint_task_execution, task},
    sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, sea_query::Expr},
};
use baton_testkit::{TestDb, backend_tests};
use queue_common::*;
use serde_json::Value;

const LEASE: Duration = Duration::from_secs(300);

/// A sprint with three stories over two PBIs and four TO_DO tasks with
/// plans, plus a story of the second PBI outside the sprint (so the sprint
/// stays open when the sprint's stories are done and finalisation is what
/// finishes the run).
struct Fx {
    app: Arc<App>,
    alice: Actor,
    pid: String,
    sprint: String,
    /// Tasks in execution order: a1, a2 (story A), b1 (story B), c1 (story C, second PBI).
    tasks: Vec<String>,
    codes: Vec<String>,
    /// Stories A, B, C.
    stories: Vec<String>,
    /// A task of a story outside the sprint.
    outside_task: String,
}

fn plan(file: &str) -> String {
    format!("Change `src/{file}.rs`.")
}

fn diff_of(paths: &[&str]) -> String {
    paths.iter().map(|p| format!("diff --git a/{p} b/{p}\n--- a/{p}\n+++ b/{p}\n@@ -1 +1 @@\n+x\n")).collect()
}

async fn set_strategy(app: &App, pid: &str, s: PrStrategy) {
    product::Entity::update_many()
        .col_expr(product::Column::PrStrategy, Expr::value(s.as_db()))
        .filter(product::Column::Id.eq(pid))
        .exec(&app.db)
        .await
        .expect("strategy");
}

async fn fixture(t: &TestDb, strategy: PrStrategy, lease: Duration) -> Fx {
    let app = app(t, lease).await;
    let alice = user(&app, "alice").await;
    let pid = product_of(&app, &alice, "Shop").await;
    set_strategy(&app, &pid, strategy).await;
    let sprint = app
        .create_sprint(&alice, &pid, NewSprint { sprint_goal: "Checkout".into(), ..Default::default() })
        .await
        .expect("sprint")
        .id;
    let (pbi1, _) = pbi_story(&app, &alice, &pid, "Backlog filler").await;
    let (pbi2, outside_story) = pbi_story(&app, &alice, &pid, "Payments").await;
    let in_sprint =
        |title: &str| NewStory { title: title.into(), sprint_id: Some(sprint.clone()), ..Default::default() };
    let a = app.create_story(&alice, &pbi1, in_sprint("A")).await.expect("story").id;
    let b = app.create_story(&alice, &pbi1, in_sprint("B")).await.expect("story").id;
    let c = app.create_story(&alice, &pbi2, in_sprint("C")).await.expect("story").id;
    let mut tasks = Vec::new();
    for (story, name) in [(&a, "a1"), (&a, "a2"), (&b, "b1"), (&c, "c1")] {
        tasks.push(task_in(&app, &alice, story, name, Some(&plan(name))).await);
    }
    let outside_task = task_in(&app, &alice, &outside_story, "later", Some(&plan("later"))).await;
    let mut codes = Vec::new();
    for id in &tasks {
        codes.push(task_row(&app, id).await.code);
    }
    Fx { app, alice, pid, sprint, tasks, codes, stories: vec![a, b, c], outside_task }
}

async fn task_row(app: &App, id: &str) -> task::Model {
    task::Entity::find_by_id(id.to_string()).one(&app.db).await.expect("read").expect("task")
}

async fn run_row(app: &App, id: &str) -> sprint_run::Model {
    sprint_run::Entity::find_by_id(id.to_string()).one(&app.db).await.expect("read").expect("run")
}

async fn counts(app: &App) -> (u64, u64, u64) {
    (
        sprint_run::Entity::find().count(&app.db).await.expect("count"),
        job::Entity::find().count(&app.db).await.expect("count"),
        sprint_task_execution::Entity::find().count(&app.db).await.expect("count"),
    )
}

async fn claim(app: &App, who: &Actor, instance: &str) -> ClaimedJob {
    app.claim_job(who, ClaimRequest::new(instance)).await.expect("claim").expect("a job")
}

fn executions(c: &ClaimedJob) -> Vec<Value> {
    let v = serde_json::to_value(c).expect("json");
    v["task_executions"].as_array().expect("task_executions").clone()
}

fn exec_ids(c: &ClaimedJob) -> Vec<String> {
    executions(c).iter().map(|x| x["execution_id"].as_str().expect("id").to_string()).collect()
}

async fn set_exec(app: &App, who: &Actor, id: &str, status: TaskExecutionStatus, head: Option<&str>) {
    let mut u = UpdateTaskExecution::new(id, status);
    u.head_sha = head.map(Into::into);
    app.update_task_execution(who, u).await.expect("update execution");
}

async fn verify(app: &App, who: &Actor, id: &str, diff: &str, summary: Option<&str>) -> VerifyResult {
    let input = VerifySprintTask {
        execution_id: id.into(),
        diff: diff.into(),
        summary: summary.map(Into::into),
        attempt: None,
    };
    app.verify_sprint_task(who, input).await.expect("verify").result
}

/// Implements execution `i` of the fixture's batch: running, task in
/// progress, verified aligned, done with a head commit, task done.
async fn implement(f: &Fx, run_id: &str, ids: &[String], i: usize) {
    let (app, who) = (&f.app, &f.alice);
    set_exec(app, who, &ids[i], TaskExecutionStatus::Running, None).await;
    app.update_task_status(who, &f.tasks[i], TaskStatus::InProgress, Some(run_id.into())).await.expect("in progress");
    let file = ["a1", "a2", "b1", "c1"][i];
    assert_eq!(verify(app, who, &ids[i], &diff_of(&[&format!("src/{file}.rs")]), None).await, VerifyResult::Aligned);
    set_exec(app, who, &ids[i], TaskExecutionStatus::Done, Some(&format!("{:04x}beef", i + 1))).await;
    app.update_task_status(who, &f.tasks[i], TaskStatus::Done, Some(run_id.into())).await.expect("task done");
}

backend_tests! {
    async fn a_batch_run_queues_one_sprint_job_and_a_second_start_is_refused_without_writing(t) {
        let f = fixture(&t, PrStrategy::SprintBatch, LEASE).await;
        let mut events = f.app.bus.subscribe();
        let d = f.app.start_sprint_run(&f.alice, &f.sprint, StartSprintRun::default()).await.expect("start");
        assert_eq!((d.run.status, d.run.pr_strategy), (SprintRunStatus::Queued, PrStrategy::SprintBatch));
        assert_eq!(d.run.started_by_id, f.alice.user_id);
        assert!(d.run.started_at.is_some() && d.run.previous_run_id.is_none());
        assert_eq!(d.jobs.len(), 1);
        let j = &d.jobs[0];
        assert_eq!((j.kind.as_str(), j.status.as_str(), j.source.as_str()), ("sprint_implementation", "queued", "system"));
        assert_eq!((j.task_id.as_deref(), j.sprint_sequence), (None, None));
        assert_eq!(j.sprint_run_id.as_deref(), Some(d.run.id.as_str()));
        assert!(d.task_executions.is_empty(), "the scope is frozen at claim time");
        // Waiting workers are woken by a job_enqueued event for the new job.
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let ev = tokio::time::timeout(left, events.recv()).await.expect("an enqueue event in time").expect("event");
            if ev.kind == baton_store::events::kinds::JOB_ENQUEUED {
                assert_eq!(ev.data["job_id"], j.id.as_str());
                break;
            }
        }

        let before = counts(&f.app).await;
        let e = f.app.start_sprint_run(&f.alice, &f.sprint, StartSprintRun::default()).await.expect_err("active run");
        let msg = refusal(e);
        assert!(msg.starts_with("conflict: ") && msg.contains("already has a queued sprint run"), "{msg}");
        assert!(msg.contains(&d.run.id), "names the active run: {msg}");
        assert_eq!(counts(&f.app).await, before, "a refused start writes nothing");

        let listed = f.app.list_sprint_runs(&f.alice, &f.sprint, PageParams::default()).await.expect("list");
        assert_eq!((listed.total, listed.items[0].id.as_str()), (1, d.run.id.as_str()));
        let got = f.app.get_sprint_run(&f.alice, &d.run.id).await.expect("get");
        assert_eq!(got.jobs.len(), 1);
        // Someone else cannot see it.
        let bob = user(&f.app, "bob").await;
        assert!(refusal(f.app.get_sprint_run(&bob, &d.run.id).await.expect_err("hidden")).starts_with("not found"));
        assert!(refusal(f.app.start_sprint_run(&bob, &f.sprint, StartSprintRun::default()).await.expect_err("hidden"))
            .starts_with("not found"));
    }

    async fn two_racing_starts_give_exactly_one_run(t) {
        let f = fixture(&t, PrStrategy::Story, LEASE).await;
        let (a, b) = tokio::join!(
            f.app.start_sprint_run(&f.alice, &f.sprint, StartSprintRun::default()),
            f.app.start_sprint_run(&f.alice, &f.sprint, StartSprintRun::default()),
        );
        let oks = [a.is_ok(), b.is_ok()].iter().filter(|ok| **ok).count();
        assert_eq!(oks, 1, "exactly one start wins");
        let loser = if let Err(e) = a { e } else { b.expect_err("one loses") };
        assert!(refusal(loser).contains("already has a queued sprint run"));
        assert_eq!(counts(&f.app).await.0, 1);
        assert_eq!(counts(&f.app).await.1, 4, "one set of jobs");
    }

    async fn story_and_sprint_strategies_queue_one_job_per_todo_task_in_execution_order(t) {
        let f = fixture(&t, PrStrategy::Story, LEASE).await;
        // One task is already done: it is out of scope.
        f.app.update_task_status(&f.alice, &f.tasks[1], TaskStatus::Done, None).await.expect("done");
        let d = f.app.start_sprint_run(&f.alice, &f.sprint, StartSprintRun::default()).await.expect("start");
        assert_eq!(d.run.pr_strategy, PrStrategy::Story);
        let got: Vec<(Option<String>, Option<i32>, String)> =
            d.jobs.iter().map(|j| (j.task_id.clone(), j.sprint_sequence, j.kind.clone())).collect();
        let want: Vec<(Option<String>, Option<i32>, String)> = [0usize, 2, 3]
            .iter()
            .enumerate()
            .map(|(seq, &i)| (Some(f.tasks[i].clone()), Some(seq as i32), "task_implementation".to_string()))
            .collect();
        assert_eq!(got, want);

        // An override picks the strategy for one run.
        f.app.cancel_sprint_run(&f.alice, &d.run.id).await.expect("cancel");
        let input = StartSprintRun { pr_strategy: Some(PrStrategy::Sprint), ..Default::default() };
        let d2 = f.app.start_sprint_run(&f.alice, &f.sprint, input).await.expect("start again");
        assert_eq!((d2.run.pr_strategy, d2.jobs.len()), (PrStrategy::Sprint, 3));
        // The claim gives SPRINT jobs the run's branch and stores it on the run.
        let c = claim(&f.app, &f.alice, "w1").await;
        assert_eq!(c.job_id, d2.jobs[0].id);
        assert_eq!(c.branch_suggestion, sprint_branch(&d2.run.id));
        assert_eq!(run_row(&f.app, &d2.run.id).await.branch, Some(sprint_branch(&d2.run.id)));
        assert!(c.sprint_batch.is_none());
    }

    async fn every_preflight_blocker_is_listed_and_nothing_is_written(t) {
        let f = fixture(&t, PrStrategy::SprintBatch, LEASE).await;
        let app = &f.app;
        // task_no_plan: a2 loses its plan.
        app.update_task_plan(&f.alice, &f.tasks[1], None).await.expect("plan");
        // open_question on story B.
        let q = NewQuestion { story_id: Some(f.stories[1].clone()), task_id: None, idea_id: None,
            question: "Which provider?".into(), options: None };
        app.ask_question(&f.alice, q).await.expect("question");
        // pbi_blocked: the PBI of story C.
        let c = baton_store::entities::story::Entity::find_by_id(f.stories[2].clone()).one(&app.db).await.expect("read").expect("story");
        let pbi = app.update_pbi(&f.alice, &c.pbi_id, PbiPatch { status: Some(PbiStatus::Blocked), ..Default::default() })
            .await.expect("block");
        // task_cross_repo: a task in another repository.
        let cross = app.create_task(&f.alice, &f.stories[0], NewTask { title: "x".into(),
            implementation_plan: Some(plan("x")), repo_url: Some("https://git.example/other".into()), ..Default::default() })
            .await.expect("task").task;
        // task_has_job: b1 was started by hand.
        app.enqueue_task_job(&f.alice, &f.tasks[2], NewTaskJob::default()).await.expect("manual job");
        let story_b = baton_store::entities::story::Entity::find_by_id(f.stories[1].clone()).one(&app.db).await.expect("read").expect("story");

        let before = counts(app).await;
        let e = app.start_sprint_run(&f.alice, &f.sprint, StartSprintRun::default()).await.expect_err("blocked");
        let msg = refusal(e);
        let want = format!(
            "conflict: PRE_FLIGHT_BLOCKED: task_no_plan {}; open_question {}; pbi_blocked {}; task_cross_repo {}; task_has_job {}",
            f.codes[1], story_b.code, pbi.code, cross.code, f.codes[2]
        );
        assert_eq!(msg, want);
        assert_eq!(counts(app).await, before, "nothing written");

        // A cross-repo task only blocks a batch: per-task strategies run it in its own repo.
        let input = StartSprintRun { pr_strategy: Some(PrStrategy::Story), ..Default::default() };
        let msg = refusal(app.start_sprint_run(&f.alice, &f.sprint, input).await.expect_err("blocked"));
        assert!(!msg.contains("task_cross_repo") && msg.contains("task_no_plan"), "{msg}");
        assert_eq!(counts(app).await, before);
    }

    async fn only_open_sprints_with_todo_work_can_run(t) {
        let f = fixture(&t, PrStrategy::SprintBatch, LEASE).await;
        let empty = f.app.create_sprint(&f.alice, &f.pid, NewSprint { sprint_goal: "Nothing".into(), ..Default::default() })
            .await.expect("sprint");
        let msg = refusal(f.app.start_sprint_run(&f.alice, &empty.id, StartSprintRun::default()).await.expect_err("empty"));
        assert!(msg.contains("no tasks in todo"), "{msg}");
        f.app.fail_sprint(&f.alice, &empty.id).await.expect("fail");
        let msg = refusal(f.app.start_sprint_run(&f.alice, &empty.id, StartSprintRun::default()).await.expect_err("failed"));
        assert!(msg.contains("is failed; only an open sprint"), "{msg}");
        let msg = refusal(f.app.start_sprint_run(&f.alice, "nope", StartSprintRun::default()).await.expect_err("missing"));
        assert_eq!(msg, "not found: sprint");
    }

    async fn a_batch_claim_freezes_the_scope_and_hands_out_branch_and_executions(t) {
        let f = fixture(&t, PrStrategy::SprintBatch, LEASE).await;
        let d = f.app.start_sprint_run(&f.alice, &f.sprint, StartSprintRun::default()).await.expect("start");
        let c = claim(&f.app, &f.alice, "w1").await;
        assert_eq!((c.job_id.as_str(), c.kind.as_str()), (d.jobs[0].id.as_str(), "sprint_implementation"));
        let v = serde_json::to_value(&c).expect("json");
        let branch = sprint_branch(&d.run.id);
        assert_eq!(v["branch_name"], branch.as_str());
        assert_eq!(v["branch_suggestion"], branch.as_str());
        assert_eq!(v["sprint_run"]["id"], d.run.id.as_str());
        assert_eq!(v["sprint_run"]["pr_strategy"], "sprint_batch");
        assert_eq!(v["sprint_run"]["previous_run_id"], Value::Null);
        assert_eq!(v["sprint"]["sprint_goal"], "Checkout");
        assert_eq!(v["product"]["auto_pr"], false);
        assert_eq!(v["base_sha"], Value::Null);
        assert_eq!(v["heartbeat_interval_seconds"], 60);
        assert_eq!(v["pbis"].as_array().expect("pbis").len(), 2);
        let stories: Vec<&str> = v["stories"].as_array().expect("stories").iter().map(|s| s["id"].as_str().expect("id")).collect();
        assert_eq!(stories, f.stories.iter().map(String::as_str).collect::<Vec<_>>());
        let xs = executions(&c);
        let got: Vec<(String, i64, String, String)> = xs.iter().map(|x| (
            x["task_id"].as_str().expect("task").to_string(),
            x["order"].as_i64().expect("order"),
            x["plan_snapshot"].as_str().expect("plan").to_string(),
            x["status"].as_str().expect("status").to_string(),
        )).collect();
        let want: Vec<(String, i64, String, String)> = ["a1", "a2", "b1", "c1"].iter().enumerate()
            .map(|(i, n)| (f.tasks[i].clone(), i as i64, plan(n), "pending".to_string())).collect();
        assert_eq!(got, want);
        assert_eq!(xs[0]["verify_required"], "aligned_or_partial");
        assert_eq!(xs[1]["code"], f.codes[1].as_str());

        let run = run_row(&f.app, &d.run.id).await;
        assert_eq!((run.status.as_str(), run.branch.as_deref()), ("RUNNING", Some(branch.as_str())));
        assert_eq!(job_row(&f.app, &c.job_id).await.branch.as_deref(), Some(branch.as_str()));

        // Changing a plan after the claim does not change the frozen snapshot.
        f.app.update_task_plan(&f.alice, &f.tasks[0], Some("Change `src/other.rs`.".into())).await.expect("plan");
        let got = f.app.get_sprint_run(&f.alice, &d.run.id).await.expect("get");
        assert_eq!(got.task_executions.len(), 4);
        assert_eq!(got.task_executions[0].plan_snapshot, plan("a1"));
        assert!(got.task_executions.iter().all(|x| x.status == TaskExecutionStatus::Pending));
    }

    async fn executions_are_verified_and_the_aggregate_gate_lists_every_blocker_then_finalises(t) {
        let f = fixture(&t, PrStrategy::SprintBatch, LEASE).await;
        let (app, who) = (&f.app, &f.alice);
        let d = app.start_sprint_run(who, &f.sprint, StartSprintRun::default()).await.expect("start");
        let c = claim(app, who, "w1").await;
        let ids = exec_ids(&c);

        // Without any base commit, verification cannot know what to diff.
        let e = app.verify_sprint_task(who, VerifySprintTask { execution_id: ids[0].clone(), diff: diff_of(&["src/a1.rs"]),
            summary: None, attempt: Some(0) }).await.expect_err("no base");
        assert!(refusal(e).contains("MISSING_BASE_SHA"));
        let mut running = UpdateJobStatus::new(&c.job_id, "running");
        running.base_sha = Some("abc0123".into());
        app.update_job_status(who, running).await.expect("running");

        // RUNNING sets started_at once; repeating it changes nothing.
        let first = app.update_task_execution(who, UpdateTaskExecution::new(&ids[0], TaskExecutionStatus::Running)).await.expect("running");
        let again = app.update_task_execution(who, UpdateTaskExecution::new(&ids[0], TaskExecutionStatus::Running)).await.expect("idempotent");
        assert!(first.started_at.is_some());
        assert_eq!(first.started_at, again.started_at);
        // Execution 0 misses its planned file (partial) and does not explain it.
        let input = VerifySprintTask { execution_id: ids[0].clone(), diff: diff_of(&["src/zzz.rs"]), summary: None, attempt: Some(0) };
        let r = app.verify_sprint_task(who, input).await.expect("verify");
        assert_eq!((r.result, r.base_sha.as_str(), r.allowed_for_done), (VerifyResult::Partial, "abc0123", false));
        assert!(r.reason.as_deref().is_some_and(|m| m.contains("at least 20 characters")));
        set_exec(app, who, &ids[0], TaskExecutionStatus::Done, Some("0001beef")).await;
        // Execution 1 stays pending, 2 failed, 3 skipped although its task requires a diff.
        set_exec(app, who, &ids[2], TaskExecutionStatus::Failed, None).await;
        let mut skip = UpdateTaskExecution::new(&ids[3], TaskExecutionStatus::Skipped);
        skip.skip_reason = Some("already in main".into());
        let skipped = app.update_task_execution(who, skip).await.expect("skip");
        assert!(skipped.finished_at.is_some() && skipped.skip_reason.as_deref() == Some("already in main"));

        let job_before = job_row(app, &c.job_id).await;
        let run_before = run_row(app, &d.run.id).await;
        let e = app.update_job_status(who, UpdateJobStatus::new(&c.job_id, "done")).await.expect_err("gate");
        let msg = refusal(e);
        let lines: Vec<&str> = msg.lines().collect();
        assert!(lines[0].starts_with("conflict: SPRINT_GATE: 4 of 4 task executions block done"), "{msg}");
        assert_eq!(lines.len(), 5, "one line per blocker: {msg}");
        assert!(lines[1].starts_with(&format!("{} (order 0): verification says partial", f.codes[0])), "{msg}");
        assert!(lines[2].starts_with(&format!("{} (order 1): pending", f.codes[1])), "{msg}");
        assert_eq!(lines[3], format!("{} (order 2): failed", f.codes[2]));
        assert!(lines[4].starts_with(&format!("{} (order 3): skipped", f.codes[3])), "{msg}");
        assert_eq!(job_row(app, &c.job_id).await, job_before, "the refused job is unchanged");
        assert_eq!(run_row(app, &d.run.id).await, run_before, "the run is unchanged");

        // Fix everything: each execution is implemented and verified; the
        // base of a later execution is the head of the previous done one.
        let input = VerifySprintTask { execution_id: ids[0].clone(), diff: diff_of(&["src/a1.rs"]), summary: None, attempt: None };
        assert_eq!(app.verify_sprint_task(who, input).await.expect("verify").result, VerifyResult::Aligned);
        app.update_task_status(who, &f.tasks[0], TaskStatus::Done, Some(d.run.id.clone())).await.expect("done");
        for i in 1..4 {
            implement(&f, &d.run.id, &ids, i).await;
        }
        let got = app.get_sprint_run(who, &d.run.id).await.expect("get");
        assert_eq!(got.task_executions[1].base_sha.as_deref(), Some("0001beef"));
        assert_eq!(got.task_executions[2].base_sha.as_deref(), Some("0002beef"));
        assert!(got.task_executions[3].finished_at.is_some());
        assert_eq!(run_row(app, &d.run.id).await.status, "RUNNING", "the sprint is still open (a PBI has more work)");

        let r = app.update_job_status(who, UpdateJobStatus::new(&c.job_id, "done")).await.expect("done");
        assert_eq!(r.status, "done");
        let run = run_row(app, &d.run.id).await;
        assert_eq!(run.status, "DONE", "every story of the sprint is done: the run finalises");
        assert!(run.finished_at.is_some());
        // No outside task was touched by the run.
        assert_eq!(task_row(app, &f.outside_task).await.status, "TO_DO");
    }

    async fn quota_pauses_the_run_and_resume_continues_on_a_chained_run_with_the_same_branch(t) {
        let f = fixture(&t, PrStrategy::SprintBatch, LEASE).await;
        let (app, who) = (&f.app, &f.alice);
        let d = app.start_sprint_run(who, &f.sprint, StartSprintRun::default()).await.expect("start");
        let c = claim(app, who, "w1").await;
        let ids = exec_ids(&c);
        let mut running = UpdateJobStatus::new(&c.job_id, "running");
        running.base_sha = Some("abc0123".into());
        app.update_job_status(who, running).await.expect("running");
        implement(&f, &d.run.id, &ids, 0).await;
        implement(&f, &d.run.id, &ids, 1).await;
        let hb = app.job_heartbeat(who, &c.job_id, Some(0)).await.expect("heartbeat");
        assert_eq!((hb.sprint_run_status.as_deref(), hb.sprint_run_pause_reason.as_deref()), (Some("running"), None));

        let mut failed = UpdateJobStatus::new(&c.job_id, "failed");
        failed.error = Some("QUOTA_PAUSE: 4% left".into());
        app.update_job_status(who, failed).await.expect("failed");
        let run = run_row(app, &d.run.id).await;
        assert_eq!(run.status, "PAUSED");
        assert!(run.finished_at.is_none() && run.failure_reason.is_none());
        let pc = run.pause_context.clone().expect("pause context");
        assert_eq!(pc["pause_reason"], "QUOTA_DEPLETED");
        assert_eq!(pc["claude_question_id"], "");
        assert_eq!(pc["conflict_files"], serde_json::json!([]));
        assert_eq!(pc["last_completed_execution_id"], ids[1].as_str());
        assert_eq!(pc["last_completed_order"], 1);
        assert_eq!(pc["last_completed_task_id"], f.tasks[1].as_str());
        assert!(pc["paused_at"].as_str().is_some() && pc["resume_instructions"].as_str().is_some());
        // A second start is refused while the run is paused.
        let msg = refusal(app.start_sprint_run(who, &f.sprint, StartSprintRun::default()).await.expect_err("paused"));
        assert!(msg.contains("already has a paused sprint run"), "{msg}");

        let before = counts(app).await;
        let resumed = app.resume_sprint_run(who, &d.run.id).await.expect("resume");
        assert_eq!(counts(app).await.0, before.0 + 1, "one new run");
        assert_ne!(resumed.run.id, d.run.id);
        assert_eq!(resumed.run.previous_run_id.as_deref(), Some(d.run.id.as_str()));
        assert_eq!(resumed.run.branch, run.branch);
        assert_eq!((resumed.run.status, resumed.jobs.len()), (SprintRunStatus::Queued, 1));
        let old = run_row(app, &d.run.id).await;
        assert_eq!((old.status.as_str(), old.pause_context.is_none()), ("CANCELLED", true));
        let msg = refusal(app.resume_sprint_run(who, &d.run.id).await.expect_err("not paused"));
        assert!(msg.contains("only a paused run can be resumed"), "{msg}");

        // The new batch job reuses the branch and covers only the tasks still in todo.
        let c2 = claim(app, who, "w1").await;
        let v = serde_json::to_value(&c2).expect("json");
        assert_eq!(v["branch_name"], run.branch.as_deref().expect("branch"));
        assert_eq!(v["sprint_run"]["previous_run_id"], d.run.id.as_str());
        let tasks: Vec<String> = executions(&c2).iter().map(|x| x["task_id"].as_str().expect("id").to_string()).collect();
        assert_eq!(tasks, vec![f.tasks[2].clone(), f.tasks[3].clone()]);
    }

    async fn another_failure_fails_the_run_naming_the_task_without_a_fail_cascade(t) {
        let f = fixture(&t, PrStrategy::SprintBatch, LEASE).await;
        let (app, who) = (&f.app, &f.alice);
        let d = app.start_sprint_run(who, &f.sprint, StartSprintRun::default()).await.expect("start");
        let c = claim(app, who, "w1").await;
        let manual = app.enqueue_task_job(who, &f.outside_task, NewTaskJob::default()).await.expect("manual");
        let long = format!("tests broke in task: {} — {}", f.codes[2], "x".repeat(600));
        let mut failed = UpdateJobStatus::new(&c.job_id, "failed");
        failed.error = Some(long.clone());
        let r = app.update_job_status(who, failed).await.expect("failed");
        assert_eq!(r.status, "failed");
        assert!(r.cancelled_jobs.is_empty(), "no PBI fail-cascade for a batch job");
        let run = run_row(app, &d.run.id).await;
        assert_eq!(run.status, "FAILED");
        assert_eq!(run.failure_reason.as_deref().map(|s| s.chars().count()), Some(500));
        assert!(long.starts_with(run.failure_reason.as_deref().expect("reason")));
        assert_eq!(run.failed_task_id.as_deref(), Some(f.tasks[2].as_str()));
        assert!(run.finished_at.is_some());
        assert_eq!(job_row(app, &manual.id).await.status, "QUEUED");
        for id in &f.tasks {
            assert_eq!(task_row(app, id).await.status, "TO_DO", "tasks untouched");
        }
    }

    async fn cancelling_stops_the_run_and_its_jobs_and_workers_find_out(t) {
        let f = fixture(&t, PrStrategy::SprintBatch, LEASE).await;
        let (app, who) = (&f.app, &f.alice);
        let d = app.start_sprint_run(who, &f.sprint, StartSprintRun::default()).await.expect("start");
        let c = claim(app, who, "w1").await;
        let ids = exec_ids(&c);
        let got = app.cancel_sprint_run(who, &d.run.id).await.expect("cancel");
        assert_eq!(got.run.status, SprintRunStatus::Cancelled);
        assert!(got.run.finished_at.is_some() && got.run.pause_context.is_none());
        assert_eq!(got.jobs[0].status, "cancelled");
        let msg = refusal(app.update_task_execution(who, UpdateTaskExecution::new(&ids[0], TaskExecutionStatus::Running)).await.expect_err("cancelled"));
        assert!(msg.contains("JOB_CANCELLED"), "{msg}");
        let hb = app.job_heartbeat(who, &c.job_id, Some(0)).await.expect("heartbeat");
        assert!(hb.cancelled && !hb.ok);
        assert_eq!(hb.sprint_run_status.as_deref(), Some("cancelled"));
        let msg = refusal(app.cancel_sprint_run(who, &d.run.id).await.expect_err("again"));
        assert!(msg.contains("already cancelled"), "{msg}");

        // A queued per-task run: every job is cancelled, none can be claimed.
        let input = StartSprintRun { pr_strategy: Some(PrStrategy::Story), ..Default::default() };
        let d2 = app.start_sprint_run(who, &f.sprint, input).await.expect("start");
        let got = app.cancel_sprint_run(who, &d2.run.id).await.expect("cancel");
        assert!(got.jobs.iter().all(|j| j.status == "cancelled"), "all jobs cancelled");
        assert!(app.claim_job(who, ClaimRequest::new("w2")).await.expect("claim").is_none());
    }

    async fn a_paused_per_task_run_resumes_in_place_closing_its_conflict_question(t) {
        let f = fixture(&t, PrStrategy::Story, LEASE).await;
        let (app, who) = (&f.app, &f.alice);
        let d = app.start_sprint_run(who, &f.sprint, StartSprintRun::default()).await.expect("start");
        let c = claim(app, who, "w1").await;
        // A merge conflict paused the run (as the PR flow would), asking a person.
        let q = NewQuestion { story_id: Some(f.stories[0].clone()), task_id: None, idea_id: None,
            question: "Merge-conflict on PR 7".into(), options: None };
        let q = app.ask_question(who, q).await.expect("question");
        let pause = serde_json::json!({"pause_reason": "MERGE_CONFLICT", "paused_at": "2026-01-01T00:00:00Z",
            "resume_instructions": "fix it", "pr_url": null, "pr_head_sha": null, "conflict_files": ["a.rs"],
            "claude_question_id": q.id});
        sprint_run::Entity::update_many()
            .col_expr(sprint_run::Column::Status, Expr::value("PAUSED"))
            .col_expr(sprint_run::Column::PauseContext, Expr::value(Some(pause)))
            .filter(sprint_run::Column::Id.eq(&d.run.id))
            .exec(&app.db).await.expect("pause");
        let hb = app.job_heartbeat(who, &c.job_id, Some(0)).await.expect("heartbeat");
        assert_eq!((hb.sprint_run_status.as_deref(), hb.sprint_run_pause_reason.as_deref()), (Some("paused"), Some("merge_conflict")));
        app.update_job_status(who, UpdateJobStatus::new(&c.job_id, "running")).await.expect("running");
        app.record_verify_result(who, &c.job_id, &diff_of(&["src/a1.rs"])).await.expect("verify");
        app.update_job_status(who, UpdateJobStatus::new(&c.job_id, "done")).await.expect("done");
        assert!(app.claim_job(who, ClaimRequest::new("w1")).await.expect("claim").is_none(), "a paused run hands out nothing");

        let before = counts(app).await;
        let r = app.resume_sprint_run(who, &d.run.id).await.expect("resume");
        assert_eq!(counts(app).await, before, "a per-task run resumes in place");
        assert_eq!((r.run.id.as_str(), r.run.status), (d.run.id.as_str(), SprintRunStatus::Running));
        assert!(r.run.pause_context.is_none());
        assert_eq!(app.get_question(who, &q.id).await.expect("question").status.as_api(), "closed");
        let next = claim(app, who, "w1").await;
        assert_eq!(next.job_id, d.jobs[1].id, "the next job is claimable again");
    }

    async fn per_task_jobs_of_a_run_wait_for_their_earlier_siblings(t) {
        let f = fixture(&t, PrStrategy::Story, LEASE).await;
        let (app, who) = (&f.app, &f.alice);
        let d = app.start_sprint_run(who, &f.sprint, StartSprintRun::default()).await.expect("start");
        let c = claim(app, who, "w1").await;
        assert_eq!(c.job_id, d.jobs[0].id);
        assert_eq!(c.branch_suggestion, format!("feat/story-{}", &f.stories[0][f.stories[0].len() - 8..]));
        let w2 = token(app, &who.user_id).await;
        assert!(app.claim_job(&w2, ClaimRequest::new("w2")).await.expect("claim").is_none(), "job 1 waits for job 0");
        app.update_job_status(who, UpdateJobStatus::new(&c.job_id, "running")).await.expect("running");
        app.record_verify_result(who, &c.job_id, &diff_of(&["src/a1.rs"])).await.expect("verify");
        app.update_job_status(who, UpdateJobStatus::new(&c.job_id, "done")).await.expect("done");
        let c2 = claim(app, &w2, "w2").await;
        assert_eq!(c2.job_id, d.jobs[1].id);
        assert_eq!(c2.branch_suggestion, c.branch_suggestion, "siblings of one story share its branch");

        // The remaining jobs run one by one; the sprint cannot close (a PBI
        // has a story outside it), so the run finalises with its last job.
        let mut current = c2;
        for (i, file) in ["a2", "b1", "c1"].iter().enumerate() {
            assert_eq!(current.job_id, d.jobs[i + 1].id);
            assert_eq!(run_row(app, &d.run.id).await.status, "RUNNING");
            app.update_job_status(&w2, UpdateJobStatus::new(&current.job_id, "running")).await.expect("running");
            app.record_verify_result(&w2, &current.job_id, &diff_of(&[&format!("src/{file}.rs")])).await.expect("verify");
            app.update_job_status(&w2, UpdateJobStatus::new(&current.job_id, "done")).await.expect("done");
            if i < 2 {
                current = claim(app, &w2, "w2").await;
            }
        }
        let run = run_row(app, &d.run.id).await;
        assert_eq!(run.status, "DONE");
        assert!(run.finished_at.is_some());
        assert_eq!(baton_store::entities::sprint::Entity::find_by_id(f.sprint.clone()).one(&app.db).await.expect("read").expect("sprint").status, "OPEN");
    }

    async fn a_late_worker_cannot_touch_executions_after_a_take_over(t) {
        let f = fixture(&t, PrStrategy::SprintBatch, Duration::from_millis(400)).await;
        let (app, late) = (&f.app, &f.alice);
        app.start_sprint_run(late, &f.sprint, StartSprintRun::default()).await.expect("start");
        let c = claim(app, late, "w1").await;
        let ids = exec_ids(&c);
        set_exec(app, late, &ids[0], TaskExecutionStatus::Running, None).await;
        // The lease runs out; another worker of the same user takes the job over.
        let other = token(app, &late.user_id).await;
        let deadline = Instant::now() + Duration::from_secs(20);
        let c2 = loop {
            if let Some(c) = app.claim_job(&other, ClaimRequest::new("w2")).await.expect("claim") {
                break c;
            }
            assert!(Instant::now() < deadline, "the lease never expired");
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        assert_eq!((c2.job_id.as_str(), c2.attempt), (c.job_id.as_str(), 1));
        // The frozen scope is reused (no unique violation); unfinished work is pending again.
        assert_eq!(exec_ids(&c2), ids);
        assert_eq!(executions(&c2)[0]["status"], "pending");
        assert_eq!(counts(app).await.2, 4);

        let before: Vec<sprint_task_execution::Model> = sprint_task_execution::Entity::find().all(&app.db).await.expect("read");
        let msg = refusal(app.update_task_execution(late, UpdateTaskExecution::new(&ids[0], TaskExecutionStatus::Done)).await.expect_err("late"));
        assert!(msg.starts_with("forbidden: PERMISSION_DENIED"), "{msg}");
        let input = VerifySprintTask { execution_id: ids[0].clone(), diff: diff_of(&["src/a1.rs"]), summary: None, attempt: None };
        assert!(refusal(app.verify_sprint_task(late, input).await.expect_err("late")).contains("PERMISSION_DENIED"));
        // The new holder with a stale attempt number is refused too.
        let mut stale = UpdateTaskExecution::new(&ids[0], TaskExecutionStatus::Running);
        stale.attempt = Some(0);
        assert!(refusal(app.update_task_execution(&other, stale).await.expect_err("stale attempt")).contains("PERMISSION_DENIED"));
        let after: Vec<sprint_task_execution::Model> = sprint_task_execution::Entity::find().all(&app.db).await.expect("read");
        assert_eq!(before, after, "refused updates change nothing");
        let mut ok = UpdateTaskExecution::new(&ids[0], TaskExecutionStatus::Running);
        ok.attempt = Some(1);
        assert_eq!(app.update_task_execution(&other, ok).await.expect("holder").status, TaskExecutionStatus::Running);
        // An outsider does not even see the execution.
        let bob = user(app, "bob").await;
        assert_eq!(refusal(app.update_task_execution(&bob, UpdateTaskExecution::new(&ids[0], TaskExecutionStatus::Done)).await.expect_err("outsider")),
            "not found: task execution");
    }
}
