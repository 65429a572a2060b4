//! Status propagation under races, on both backends (issue 13 item 2): a
//! worker's `done` propagates without the product lock, taking its rows in
//! the order job → story → PBI → sprint. Many workers finishing siblings at
//! once, people editing the same backlog meanwhile, and a failed report's
//! PBI fail-cascade racing sibling dones must all end with every stored
//! story, PBI and sprint status equal to what the domain rules derive from
//! the children, and no call may fail with anything but a documented 409.

mod queue_common;

use std::{collections::HashMap, sync::Arc, time::Duration};

use baton_app::{
    Actor, App, AppError,
    backlog::{MoveTo, tasks::TaskPatch},
    bulk::{BulkKind, BulkStatusInput},
    queue::claim::ClaimRequest,
    queue::complete::{CASCADE_ERROR, UpdateJobStatus},
    sprints::{AddStories, NewSprint},
};
use baton_domain::{
    backlog::{PbiStatus, SprintStatus, StoryStatus, TaskStatus},
    propagation as rules,
};
use baton_store::{
    entities::{job, pbi, sprint, story, task},
    sea_orm::{ColumnTrait, EntityTrait, QueryFilter},
};
use baton_testkit::backend_tests;
use queue_common::*;

const LEASE: Duration = Duration::from_secs(300);
/// Rounds per scenario; each round builds a fresh PBI and races on it.
const ROUNDS: usize = 6;

fn diff_of(path: &str) -> String {
    format!("diff --git a/{path} b/{path}\n--- a/{path}\n+++ b/{path}\n@@ -1 +1 @@\n+x\n")
}

/// A task whose plan names one file, so a diff of that file verifies aligned.
async fn planned_task(app: &App, who: &Actor, story_id: &str, n: usize) -> String {
    task_in(app, who, story_id, &format!("Task {n}"), Some(&format!("Edit `src/f{n}.rs`."))).await
}

/// A claimed task job: the worker (its own token), the job, its attempt, the plan's file.
#[derive(Clone)]
struct Claimed {
    worker: Actor,
    job_id: String,
    attempt: i32,
    file: String,
    task_id: String,
}

/// Queues a task job for each task and has a fresh token of `owner` claim each.
async fn claim_all(app: &App, owner: &Actor, pid: &str, tasks: &[String]) -> Vec<Claimed> {
    for tid in tasks {
        let spec =
            JobSpec { kind: "TASK_IMPLEMENTATION", source: "MANUAL", task_id: Some(tid.clone()), ..Default::default() };
        insert_job(app, owner, pid, spec).await;
    }
    let mut out = Vec::new();
    for w in 0..tasks.len() {
        let worker = token(app, &owner.user_id).await;
        let c = app.claim_job(&worker, ClaimRequest::new(format!("w{w}"))).await.expect("claim").expect("a job");
        let plan = c.job.plan_snapshot.clone().expect("plan frozen at claim");
        let task_id = c.task.as_ref().and_then(|t| t["id"].as_str()).expect("task job").to_string();
        let file = plan.trim_start_matches("Edit `").trim_end_matches("`.").to_string();
        out.push(Claimed { worker, job_id: c.job_id, attempt: c.attempt, file, task_id });
    }
    out
}

/// A worker's whole report sequence: running, verify, then `last`.
async fn finish(app: &App, c: &Claimed, last: &str) -> Result<(), AppError> {
    let mut running = UpdateJobStatus::new(&c.job_id, "running");
    running.attempt = Some(c.attempt);
    app.update_job_status(&c.worker, running).await?;
    if last == "done" {
        app.record_verify_result(&c.worker, &c.job_id, &diff_of(&c.file)).await?;
    }
    let mut end = UpdateJobStatus::new(&c.job_id, last);
    end.attempt = Some(c.attempt);
    if last == "failed" {
        end.error = Some("tests fail".into());
    }
    app.update_job_status(&c.worker, end).await.map(|_| ())
}

/// Running and verified, so only the final report is left to race.
async fn prepare(app: &App, c: &Claimed) {
    let mut running = UpdateJobStatus::new(&c.job_id, "running");
    running.attempt = Some(c.attempt);
    app.update_job_status(&c.worker, running).await.expect("running");
    app.record_verify_result(&c.worker, &c.job_id, &diff_of(&c.file)).await.expect("verify");
}

/// The final report alone (after [`prepare`]).
async fn report_end(app: &App, c: &Claimed, last: &str) -> Result<(), AppError> {
    let mut end = UpdateJobStatus::new(&c.job_id, last);
    end.attempt = Some(c.attempt);
    if last == "failed" {
        end.error = Some("tests fail".into());
    }
    app.update_job_status(&c.worker, end).await.map(|_| ())
}

/// Runs every future on its own tokio task and returns the results in order.
async fn race<T: Send + 'static>(futs: Vec<tokio::task::JoinHandle<T>>) -> Vec<T> {
    let mut out = Vec::with_capacity(futs.len());
    for h in futs {
        out.push(h.await.expect("task panicked"));
    }
    out
}

/// Only a documented refusal may come back from a racing call; never an
/// internal error (a deadlock or a serialisation failure would be one).
fn ok_or_refused(what: &str, r: Result<(), AppError>) {
    match r {
        Ok(()) | Err(AppError::Conflict(_)) => {}
        Err(e) => panic!("{what}: unexpected {e:?}"),
    }
}

/// Checks that every story, PBI and sprint of the product stores the status
/// the domain rules derive from its children; returns the mismatches.
async fn inconsistencies(app: &App, pid: &str) -> Vec<String> {
    let db = &app.db;
    let tasks = task::Entity::find().filter(task::Column::ProductId.eq(pid)).all(db).await.expect("tasks");
    let stories = story::Entity::find().filter(story::Column::ProductId.eq(pid)).all(db).await.expect("stories");
    let pbis = pbi::Entity::find().filter(pbi::Column::ProductId.eq(pid)).all(db).await.expect("pbis");
    let sprints = sprint::Entity::find().filter(sprint::Column::ProductId.eq(pid)).all(db).await.expect("sprints");
    let mut bad = Vec::new();
    let mut tasks_of: HashMap<&str, Vec<TaskStatus>> = HashMap::new();
    for t in &tasks {
        tasks_of.entry(&t.story_id).or_default().push(TaskStatus::from_db(&t.status).expect("task status"));
    }
    for s in &stories {
        let stored = StoryStatus::from_db(&s.status).expect("story status");
        let derived = rules::story_status(tasks_of.get(s.id.as_str()).map_or(&[][..], |v| v), s.sprint_id.is_some());
        if stored != derived {
            bad.push(format!("story {} stored {stored:?}, derived {derived:?}", s.code));
        }
    }
    for p in &pbis {
        let stored = PbiStatus::from_db(&p.status).expect("pbi status");
        let of: Vec<StoryStatus> = stories
            .iter()
            .filter(|s| s.pbi_id == p.id)
            .map(|s| StoryStatus::from_db(&s.status).expect("story status"))
            .collect();
        let derived = rules::pbi_status(stored, &of);
        if stored != derived {
            bad.push(format!("PBI {} stored {stored:?}, derived {derived:?}", p.code));
        }
    }
    for sp in &sprints {
        let stored = SprintStatus::from_db(&sp.status).expect("sprint status");
        let mut of: Vec<&str> = stories
            .iter()
            .filter(|s| s.sprint_id.as_deref() == Some(sp.id.as_str()))
            .map(|s| s.pbi_id.as_str())
            .collect();
        of.sort();
        of.dedup();
        let statuses: Vec<PbiStatus> = of
            .iter()
            .map(|id| {
                let p = pbis.iter().find(|p| p.id == *id).expect("pbi of story");
                PbiStatus::from_db(&p.status).expect("pbi status")
            })
            .collect();
        let derived = rules::sprint_status(stored, &statuses);
        if stored != derived {
            bad.push(format!("sprint {} stored {stored:?}, derived {derived:?}", sp.code));
        }
    }
    bad
}

async fn status_of<E: EntityTrait>(app: &App, id: &str) -> String
where
    E::Model: HasStatus,
    <E::PrimaryKey as baton_store::sea_orm::PrimaryKeyTrait>::ValueType: From<String>,
{
    E::find_by_id(id.to_string()).one(&app.db).await.expect("read").expect("exists").status().to_string()
}

trait HasStatus {
    fn status(&self) -> &str;
}
impl HasStatus for story::Model {
    fn status(&self) -> &str {
        &self.status
    }
}
impl HasStatus for pbi::Model {
    fn status(&self) -> &str {
        &self.status
    }
}
impl HasStatus for sprint::Model {
    fn status(&self) -> &str {
        &self.status
    }
}

/// A PBI with `per_story.len()` stories holding that many planned tasks
/// each; returns (pbi id, story ids, task ids per story).
async fn backlog(
    app: &App,
    who: &Actor,
    pid: &str,
    round: usize,
    per_story: &[usize],
) -> (String, Vec<String>, Vec<Vec<String>>) {
    let (p, first) = pbi_story(app, who, pid, &format!("PBI {round}")).await;
    let mut stories = vec![first];
    for i in 1..per_story.len() {
        stories.push(story_in(app, who, &p, &format!("Story {round}.{i}")).await);
    }
    let mut tasks = Vec::new();
    let mut n = 0;
    for (s, count) in stories.iter().zip(per_story) {
        let mut ts = Vec::new();
        for _ in 0..*count {
            n += 1;
            ts.push(planned_task(app, who, s, round * 100 + n).await);
        }
        tasks.push(ts);
    }
    (p, stories, tasks)
}

/// A new open sprint holding `stories`.
async fn sprint_with(app: &App, who: &Actor, pid: &str, stories: &[String]) -> String {
    let sp = app
        .create_sprint(who, pid, NewSprint { sprint_goal: "Race".into(), ..Default::default() })
        .await
        .expect("sprint");
    app.add_stories_to_sprint(who, &sp.id, AddStories { story_ids: stories.to_vec() }).await.expect("add");
    sp.id
}

/// Every claimed job reports done at once.
async fn all_done(app: &Arc<App>, claimed: &[Claimed]) {
    let handles = claimed
        .iter()
        .cloned()
        .map(|c| {
            let app = app.clone();
            tokio::spawn(async move { finish(&app, &c, "done").await })
        })
        .collect();
    for (i, r) in race(handles).await.into_iter().enumerate() {
        r.unwrap_or_else(|e| panic!("worker {i}: done failed: {e:?}"));
    }
}

backend_tests! {
    async fn ten_sibling_tasks_done_at_once_finish_story_and_pbi(t) {
        let app = app(&t, LEASE).await;
        let alice = user(&app, "alice").await;
        let pid = product_of(&app, &alice, "P").await;
        let started = std::time::Instant::now();
        for round in 0..ROUNDS {
            let (p, stories, tasks) = backlog(&app, &alice, &pid, round, &[10]).await;
            let claimed = claim_all(&app, &alice, &pid, &tasks[0]).await;
            all_done(&app, &claimed).await;
            assert_eq!(status_of::<story::Entity>(&app, &stories[0]).await, "DONE", "round {round}: story stuck");
            assert_eq!(status_of::<pbi::Entity>(&app, &p).await, "DONE", "round {round}: PBI stuck");
            assert_eq!(inconsistencies(&app, &pid).await, Vec::<String>::new(), "round {round}");
        }
        eprintln!("scenario a on {:?}: {ROUNDS} rounds in {:?}", t.backend, started.elapsed());
    }

    async fn two_stories_finishing_together_finish_pbi_and_sprint(t) {
        let app = app(&t, LEASE).await;
        let alice = user(&app, "alice").await;
        let pid = product_of(&app, &alice, "P").await;
        let started = std::time::Instant::now();
        for round in 0..ROUNDS {
            // Without a sprint: the PBI's two stories finish concurrently.
            let (p, stories, tasks) = backlog(&app, &alice, &pid, round * 2, &[4, 4]).await;
            let claimed = claim_all(&app, &alice, &pid, &tasks.concat()).await;
            all_done(&app, &claimed).await;
            for s in &stories {
                assert_eq!(status_of::<story::Entity>(&app, s).await, "DONE", "round {round}");
            }
            assert_eq!(status_of::<pbi::Entity>(&app, &p).await, "DONE", "round {round}: PBI stuck");

            // In a sprint with a second PBI: the sprint closes only when both PBIs are done.
            let (p1, s1, t1) = backlog(&app, &alice, &pid, round * 2 + 1, &[3, 3]).await;
            let (p2, s2, t2) = backlog(&app, &alice, &pid, round * 2 + 1000, &[2]).await;
            let sp = sprint_with(&app, &alice, &pid, &[s1.clone(), s2.clone()].concat()).await;
            let claimed = claim_all(&app, &alice, &pid, &[t1.concat(), t2.concat()].concat()).await;
            all_done(&app, &claimed).await;
            assert_eq!(status_of::<pbi::Entity>(&app, &p1).await, "DONE", "round {round}");
            assert_eq!(status_of::<pbi::Entity>(&app, &p2).await, "DONE", "round {round}");
            assert_eq!(status_of::<sprint::Entity>(&app, &sp).await, "CLOSED", "round {round}: sprint stuck");
            assert_eq!(inconsistencies(&app, &pid).await, Vec::<String>::new(), "round {round}");
        }
        eprintln!("scenario b on {:?}: {ROUNDS} rounds in {:?}", t.backend, started.elapsed());
    }

    async fn people_editing_the_backlog_while_agents_finish_leave_every_status_derived(t) {
        let app = app(&t, LEASE).await;
        let alice = user(&app, "alice").await;
        let pid = product_of(&app, &alice, "P").await;
        let person = Actor::cli();
        let started = std::time::Instant::now();
        for round in 0..ROUNDS {
            let (p, stories, tasks) = backlog(&app, &alice, &pid, round, &[5, 4]).await;
            // Tasks only people touch, one per story.
            let extra: Vec<String> = {
                let mut v = Vec::new();
                for (i, s) in stories.iter().enumerate() {
                    v.push(planned_task(&app, &alice, s, round * 100 + 50 + i).await);
                }
                v
            };
            let sp = if round % 2 == 0 { Some(sprint_with(&app, &alice, &pid, &stories).await) } else { None };
            let claimed = claim_all(&app, &alice, &pid, &tasks.concat()).await;
            let mut handles = Vec::new();
            for c in claimed.clone() {
                let app = app.clone();
                handles.push(tokio::spawn(async move { ("agent done", finish(&app, &c, "done").await) }));
            }
            let statuses = ["in_progress", "done", "review", "done"];
            for (i, status) in statuses.iter().enumerate() {
                let (app, person, ids, status) = (app.clone(), person.clone(), extra.clone(), status.to_string());
                handles.push(tokio::spawn(async move {
                    let r = if i % 2 == 0 {
                        let input = BulkStatusInput { kind: BulkKind::Task, ids: if i == 0 { ids } else { ids.into_iter().rev().collect() }, status };
                        app.bulk_status(&person, input).await.map(|_| ())
                    } else {
                        let s = TaskStatus::from_db(&status.to_uppercase()).expect("status");
                        app.update_task_status(&person, &ids[i % ids.len()], s, None).await.map(|_| ())
                    };
                    ("person status", r)
                }));
            }
            for s in stories.clone() {
                let (app, person) = (app.clone(), person.clone());
                handles.push(tokio::spawn(async move {
                    let input = baton_app::backlog::tasks::NewTask { title: "Late".into(), ..Default::default() };
                    ("person create task", app.create_task(&person, &s, input).await.map(|_| ()))
                }));
            }
            {
                let (app, person, tid) = (app.clone(), person.clone(), tasks[0][0].clone());
                handles.push(tokio::spawn(async move {
                    let to = MoveTo { index: Some(3), ..Default::default() };
                    ("person move task", app.move_task(&person, &tid, to).await.map(|_| ()))
                }));
            }
            {
                let (app, person, sid) = (app.clone(), person.clone(), stories[1].clone());
                handles.push(tokio::spawn(async move {
                    let to = MoveTo { index: Some(0), ..Default::default() };
                    ("person move story", app.move_story(&person, &sid, to).await.map(|_| ()))
                }));
            }
            {
                // A person moves a task between the two stories.
                let (app, person, tid, to) = (app.clone(), person.clone(), extra[0].clone(), stories[1].clone());
                handles.push(tokio::spawn(async move {
                    let patch = TaskPatch { story_id: Some(to), ..Default::default() };
                    ("person re-home task", app.update_task(&person, &tid, patch).await.map(|_| ()))
                }));
            }
            for (what, r) in race(handles).await {
                match (what, r) {
                    ("agent done", r) => r.unwrap_or_else(|e| panic!("round {round}: agent done failed: {e:?}")),
                    (what, r) => ok_or_refused(&format!("round {round}: {what}"), r),
                }
            }
            assert_eq!(inconsistencies(&app, &pid).await, Vec::<String>::new(), "round {round}");
            // The late tasks keep both stories (and so the PBI and sprint) open.
            assert_ne!(status_of::<pbi::Entity>(&app, &p).await, "DONE", "round {round}");
            if let Some(sp) = sp {
                assert_eq!(status_of::<sprint::Entity>(&app, &sp).await, "OPEN", "round {round}");
            }
        }
        eprintln!("scenario c on {:?}: {ROUNDS} rounds in {:?}", t.backend, started.elapsed());
    }

    async fn a_failed_report_racing_sibling_dones_cascades_without_deadlock(t) {
        let app = app(&t, LEASE).await;
        let alice = user(&app, "alice").await;
        let pid = product_of(&app, &alice, "P").await;
        let started = std::time::Instant::now();
        for round in 0..ROUNDS {
            let (p, _stories, tasks) = backlog(&app, &alice, &pid, round, &[5, 5]).await;
            let claimed = claim_all(&app, &alice, &pid, &tasks.concat()).await;
            let failing = round % claimed.len();
            for c in &claimed {
                prepare(&app, c).await;
            }
            let handles = claimed
                .iter()
                .cloned()
                .enumerate()
                .map(|(i, c)| {
                    let app = app.clone();
                    let last = if i == failing { "failed" } else { "done" };
                    tokio::spawn(async move { (last, report_end(&app, &c, last).await) })
                })
                .collect();
            for (last, r) in race(handles).await {
                match (last, r) {
                    ("failed", r) => r.unwrap_or_else(|e| panic!("round {round}: failed report refused: {e:?}")),
                    // A sibling cancelled by the cascade is told so (409 JOB_CANCELLED).
                    (_, Err(AppError::Conflict(m))) => assert!(m.contains("JOB_CANCELLED"), "round {round}: {m}"),
                    (_, r) => r.unwrap_or_else(|e| panic!("round {round}: done failed: {e:?}")),
                }
            }
            let ids: Vec<String> = claimed.iter().map(|c| c.job_id.clone()).collect();
            let jobs = job::Entity::find().filter(job::Column::Id.is_in(ids)).all(&app.db).await.expect("jobs");
            for j in &jobs {
                let task = task::Entity::find_by_id(j.task_id.clone().expect("task job"))
                    .one(&app.db)
                    .await
                    .expect("read")
                    .expect("task");
                match j.status.as_str() {
                    "FAILED" => {
                        assert_eq!(j.id, claimed[failing].job_id, "round {round}");
                        assert_eq!(task.status, "FAILED");
                    }
                    "DONE" => assert_eq!(task.status, "DONE", "round {round}: a done job's task is done"),
                    "CANCELLED" => {
                        assert_eq!(j.error.as_deref(), Some(CASCADE_ERROR), "round {round}");
                    }
                    other => panic!("round {round}: job left {other}"),
                }
            }
            assert_eq!(status_of::<pbi::Entity>(&app, &p).await, "FAILED", "round {round}");
            assert_eq!(inconsistencies(&app, &pid).await, Vec::<String>::new(), "round {round}");
        }
        eprintln!("scenario d on {:?}: {ROUNDS} rounds in {:?}", t.backend, started.elapsed());
    }

    async fn bulk_task_status_across_stories_racing_a_done_does_not_deadlock(t) {
        // Bulk status walks its tasks one by one: story S1 → (S1 changed) its
        // PBI → story S2. A worker finishing S2's last task holds S2 and wants
        // the PBI: the reverse order, unless bulk locks its stories first.
        let app = app(&t, LEASE).await;
        let alice = user(&app, "alice").await;
        let pid = product_of(&app, &alice, "P").await;
        let person = Actor::cli();
        let started = std::time::Instant::now();
        for round in 0..ROUNDS {
            let mut pairs = Vec::new();
            for k in 0..8 {
                let n = round * 10 + k;
                let (p, stories, tasks) = backlog(&app, &alice, &pid, n, &[1, 2]).await;
                let (x, y, y2) = (tasks[0][0].clone(), tasks[1][0].clone(), tasks[1][1].clone());
                app.update_task_status(&person, &y2, TaskStatus::Done, None).await.expect("y2 done");
                let c = claim_all(&app, &alice, &pid, std::slice::from_ref(&y)).await.remove(0);
                prepare(&app, &c).await;
                pairs.push((p, stories, x, y2, c));
            }
            let mut handles = Vec::new();
            for (_, _, x, y2, c) in pairs.iter().cloned() {
                let app2 = app.clone();
                handles.push(tokio::spawn(async move {
                    let mut done = UpdateJobStatus::new(&c.job_id, "done");
                    done.attempt = Some(c.attempt);
                    ("agent done", app2.update_job_status(&c.worker, done).await.map(|_| ()))
                }));
                let (app2, person) = (app.clone(), person.clone());
                handles.push(tokio::spawn(async move {
                    let input = BulkStatusInput { kind: BulkKind::Task, ids: vec![x, y2], status: "done".into() };
                    ("person bulk status", app2.bulk_status(&person, input).await.map(|_| ()))
                }));
            }
            for (what, r) in race(handles).await {
                r.unwrap_or_else(|e| panic!("round {round}: {what} failed: {e:?}"));
            }
            for (p, _, _, _, _) in &pairs {
                assert_eq!(status_of::<pbi::Entity>(&app, p).await, "DONE", "round {round}");
            }
            assert_eq!(inconsistencies(&app, &pid).await, Vec::<String>::new(), "round {round}");
        }
        eprintln!("scenario e on {:?}: {ROUNDS} rounds in {:?}", t.backend, started.elapsed());
    }

    async fn planning_stories_in_and_out_of_a_sprint_while_agents_finish_them(t) {
        // Sprint planning rewrites the stories' and their tasks' sprint; a
        // worker's done holds its story and then writes its task.
        let app = app(&t, LEASE).await;
        let alice = user(&app, "alice").await;
        let pid = product_of(&app, &alice, "P").await;
        let person = Actor::cli();
        let started = std::time::Instant::now();
        for round in 0..ROUNDS {
            let (_p, stories, tasks) = backlog(&app, &alice, &pid, round, &[4, 4]).await;
            let sp = app
                .create_sprint(&alice, &pid, NewSprint { sprint_goal: "Plan".into(), ..Default::default() })
                .await
                .expect("sprint")
                .id;
            let claimed = claim_all(&app, &alice, &pid, &tasks.concat()).await;
            let mut handles = Vec::new();
            for c in claimed.clone() {
                let app = app.clone();
                handles.push(tokio::spawn(async move { ("agent done", finish(&app, &c, "done").await) }));
            }
            for (i, s) in stories.iter().enumerate() {
                let (app, person, s, sp) = (app.clone(), person.clone(), s.clone(), sp.clone());
                handles.push(tokio::spawn(async move {
                    for k in 0..3 {
                        let r = if (k + i) % 2 == 0 {
                            app.add_stories_to_sprint(&person, &sp, AddStories { story_ids: vec![s.clone()] }).await.map(|_| ())
                        } else {
                            let input = baton_app::bulk::MoveToSprintInput { story_ids: vec![s.clone()], sprint_id: Some(None) };
                            app.bulk_move_to_sprint(&person, input).await.map(|_| ())
                        };
                        match r {
                            // A story that finished meanwhile cannot be planned (422 naming it).
                            Ok(()) | Err(AppError::Conflict(_)) | Err(AppError::Validation(_)) => {}
                            Err(e) => return ("person planning", Err(e)),
                        }
                    }
                    ("person planning", Ok(()))
                }));
            }
            for (what, r) in race(handles).await {
                r.unwrap_or_else(|e| panic!("round {round}: {what} failed: {e:?}"));
            }
            assert_eq!(inconsistencies(&app, &pid).await, Vec::<String>::new(), "round {round}");
        }
        eprintln!("scenario f on {:?}: {ROUNDS} rounds in {:?}", t.backend, started.elapsed());
    }

    async fn a_person_setting_or_deleting_the_task_an_agent_finishes_does_not_deadlock(t) {
        // The person's write takes the task row before the story (update)
        // or the task and then its jobs (delete's cascade); the worker's
        // done holds the job and the story before it writes the task.
        let app = app(&t, LEASE).await;
        let alice = user(&app, "alice").await;
        let pid = product_of(&app, &alice, "P").await;
        let person = Actor::cli();
        let started = std::time::Instant::now();
        for round in 0..ROUNDS {
            let (_p, _stories, tasks) = backlog(&app, &alice, &pid, round, &[4, 4]).await;
            let all = tasks.concat();
            let deleted: Vec<String> = all.iter().skip(3).step_by(4).cloned().collect();
            let claimed = claim_all(&app, &alice, &pid, &all).await;
            let mut handles = Vec::new();
            for c in claimed.clone() {
                let app = app.clone();
                let what = if deleted.contains(&c.task_id) { "agent on deleted task" } else { "agent done" };
                handles.push(tokio::spawn(async move { (what, finish(&app, &c, "done").await) }));
            }
            for (i, tid) in all.iter().enumerate() {
                let (app, person, tid) = (app.clone(), person.clone(), tid.clone());
                handles.push(tokio::spawn(async move {
                    if i % 4 == 3 {
                        ("person delete task", app.delete_task(&person, &tid).await)
                    } else {
                        let patch = TaskPatch { title: Some(format!("Renamed {i}")), status: Some(TaskStatus::Done), ..Default::default() };
                        ("person task status", app.update_task(&person, &tid, patch).await.map(|_| ()))
                    }
                }));
            }
            for (what, r) in race(handles).await {
                match (what, r) {
                    // The job went with its deleted task: 404 — or 403 when the
                    // delete lands between verify's check and its write (see
                    // record_verify_result).
                    ("agent on deleted task", Err(AppError::NotFound(_) | AppError::Forbidden(_))) => {}
                    ("agent done", r) => r.unwrap_or_else(|e| panic!("round {round}: agent done failed: {e:?}")),
                    (what, r) => ok_or_refused(&format!("round {round}: {what}"), r),
                }
            }
            assert_eq!(inconsistencies(&app, &pid).await, Vec::<String>::new(), "round {round}");
        }
        eprintln!("scenario g on {:?}: {ROUNDS} rounds in {:?}", t.backend, started.elapsed());
    }

    // PENDING (fails on Postgres until the fixes in complete.rs land): the PBI
    // fail-cascade reads its victims unlocked and then cancels each by id, so
    // a sibling whose `done` committed in between is overwritten CANCELLED
    // with its task DONE; and a verify racing the cascade gets 403 instead of
    // 409 JOB_CANCELLED.
    async fn a_cascade_never_cancels_a_finished_job_and_a_late_verify_is_told_cancelled(t) {
        let app = app(&t, LEASE).await;
        let alice = user(&app, "alice").await;
        let pid = product_of(&app, &alice, "P").await;
        for round in 0..ROUNDS {
            let (_p, _stories, tasks) = backlog(&app, &alice, &pid, round, &[5, 5]).await;
            let claimed = claim_all(&app, &alice, &pid, &tasks.concat()).await;
            let failing = round % claimed.len();
            let handles = claimed
                .iter()
                .cloned()
                .enumerate()
                .map(|(i, c)| {
                    let app = app.clone();
                    let last = if i == failing { "failed" } else { "done" };
                    tokio::spawn(async move { (last, finish(&app, &c, last).await) })
                })
                .collect();
            for (last, r) in race(handles).await {
                match (last, r) {
                    ("failed", r) => r.unwrap_or_else(|e| panic!("round {round}: failed report refused: {e:?}")),
                    (_, Err(AppError::Conflict(m))) => assert!(m.contains("JOB_CANCELLED"), "round {round}: {m}"),
                    (_, r) => r.unwrap_or_else(|e| panic!("round {round}: done failed: {e:?}")),
                }
            }
            for c in &claimed {
                let j = job_row(&app, &c.job_id).await;
                let task = task::Entity::find_by_id(c.task_id.clone()).one(&app.db).await.expect("read").expect("task");
                if j.status == "CANCELLED" {
                    assert_ne!(task.status, "DONE", "round {round}: a cancelled job finished nothing");
                }
            }
        }
    }
}

backend_tests! {
    async fn deleting_a_story_or_pbi_while_its_agents_finish_does_not_deadlock(t) {
        // A delete cascades story → tasks → jobs (PBI → stories → … for a
        // PBI); a worker's done holds its job, then its story, then the PBI.
        let app = app(&t, LEASE).await;
        let alice = user(&app, "alice").await;
        let pid = product_of(&app, &alice, "P").await;
        let person = Actor::cli();
        for round in 0..ROUNDS {
            let (p, stories, tasks) = backlog(&app, &alice, &pid, round, &[3, 3]).await;
            let (p2, _, tasks2) = backlog(&app, &alice, &pid, round + 500, &[3, 3]).await;
            let claimed = claim_all(&app, &alice, &pid, &[tasks.concat(), tasks2.concat()].concat()).await;
            let mut handles = Vec::new();
            for c in claimed.clone() {
                let app = app.clone();
                handles.push(tokio::spawn(async move { ("agent done", finish(&app, &c, "done").await) }));
            }
            let (app2, person2, sid) = (app.clone(), person.clone(), stories[round % 2].clone());
            handles.push(tokio::spawn(async move { ("person delete story", app2.delete_story(&person2, &sid).await) }));
            let (app2, person2) = (app.clone(), person.clone());
            handles.push(tokio::spawn(async move { ("person delete PBI", app2.delete_pbi(&person2, &p2).await) }));
            for (what, r) in race(handles).await {
                match (what, r) {
                    // The job went with its story or PBI (404), or between verify's check and write (403).
                    ("agent done", Err(AppError::NotFound(_) | AppError::Forbidden(_))) => {}
                    (what, r) => ok_or_refused(&format!("round {round}: {what}"), r),
                }
            }
            let _ = p;
            assert_eq!(inconsistencies(&app, &pid).await, Vec::<String>::new(), "round {round}");
        }
    }
}

backend_tests! {
    async fn failing_or_closing_a_sprint_while_its_run_jobs_finish_does_not_deadlock(t) {
        // fail/close write the sprint row, then its run, then cancel the run's
        // jobs; a worker's done holds its job and reaches the sprint last
        // (when it finishes a PBI of the sprint).
        let app = app(&t, LEASE).await;
        let alice = user(&app, "alice").await;
        let pid = product_of(&app, &alice, "P").await;
        let person = Actor::cli();
        for round in 0..ROUNDS {
            let mut sprints = Vec::new();
            for k in 0..8 {
                let n = round * 10 + k;
                let (sp, run) = sprint_run(&app, &alice, &pid, "RUNNING").await;
                let (_a, sa, ta) = backlog(&app, &alice, &pid, n, &[1]).await;
                let (_b, sb, tb) = backlog(&app, &alice, &pid, n + 5000, &[1]).await;
                app.add_stories_to_sprint(&alice, &sp, AddStories { story_ids: [sa, sb].concat() }).await.expect("plan");
                for (seq, tid) in [(1, ta[0][0].clone()), (2, tb[0][0].clone())] {
                    let spec = JobSpec {
                        kind: "TASK_IMPLEMENTATION",
                        task_id: Some(tid),
                        sprint_run_id: Some(run.clone()),
                        sprint_sequence: Some(seq),
                        ..Default::default()
                    };
                    insert_job(&app, &alice, &pid, spec).await;
                }
                sprints.push(sp);
            }
            let mut claimed = Vec::new();
            for w in 0..8 {
                let worker = token(&app, &alice.user_id).await;
                let c = app.claim_job(&worker, ClaimRequest::new(format!("w{w}"))).await.expect("claim").expect("a job");
                let plan = c.job.plan_snapshot.clone().expect("plan");
                let file = plan.trim_start_matches("Edit `").trim_end_matches("`.").to_string();
                let task_id = c.task.as_ref().and_then(|t| t["id"].as_str()).expect("task job").to_string();
                claimed.push(Claimed { worker, job_id: c.job_id, attempt: c.attempt, file, task_id });
            }
            for c in &claimed {
                prepare(&app, c).await;
            }
            let mut handles = Vec::new();
            for c in claimed.clone() {
                let app = app.clone();
                handles.push(tokio::spawn(async move {
                    match report_end(&app, &c, "done").await {
                        // Cancelled with its run: told so.
                        Err(AppError::Conflict(m)) if m.contains("JOB_CANCELLED") => ("agent done", Ok(())),
                        r => ("agent done", r),
                    }
                }));
            }
            for (k, sp) in sprints.iter().cloned().enumerate() {
                let (app2, person2) = (app.clone(), person.clone());
                handles.push(tokio::spawn(async move {
                    let r = if k % 2 == 0 {
                        app2.fail_sprint(&person2, &sp).await.map(|_| ())
                    } else {
                        app2.close_sprint(&person2, &sp, baton_app::sprints::CloseSprint::default()).await.map(|_| ())
                    };
                    ("person fail/close sprint", r)
                }));
            }
            for (what, r) in race(handles).await {
                ok_or_refused(&format!("round {round}: {what}"), r);
            }
        }
    }
}
