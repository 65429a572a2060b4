//! Shared set-up of the queue tests: users with tokens, a product with a
//! backlog, hand-made jobs and sprint runs.
#![allow(dead_code)]

use std::{sync::Arc, time::Duration};

use baton_app::{
    Actor, App, AppConfig, AppError,
    backlog::{pbis::NewPbi, stories::NewStory, tasks::NewTask},
};
use baton_store::{
    entities::{job, sprint, sprint_run},
    events::EventBus,
    new_id, now,
    sea_orm::{ActiveModelTrait, ActiveValue::Set, EntityTrait},
};
use baton_testkit::TestDb;

#[path = "../common/mod.rs"]
mod common;
#[allow(unused_imports, reason = "each test crate uses a different subset of the helpers")]
pub use common::{member, product_of, token, user, user_with};

/// An app on the test database with `lease` as the job lease.
pub async fn app(t: &TestDb, lease: Duration) -> Arc<App> {
    app_on(t, t.db.clone(), lease).await
}

/// An app on `db` (another pool of the same database for a second
/// instance) with a real event bus for the backend.
pub async fn app_on(t: &TestDb, db: baton_store::Db, lease: Duration) -> Arc<App> {
    let bus = EventBus::for_db(&db, &t.url).await.expect("bus");
    let config = AppConfig { job_lease: lease, ..AppConfig::default() };
    Arc::new(App::new(db, bus, config))
}

/// A PBI with one story; returns (pbi id, story id).
pub async fn pbi_story(app: &App, who: &Actor, product_id: &str, title: &str) -> (String, String) {
    let p = app.create_pbi(who, product_id, NewPbi { title: title.into(), ..Default::default() }).await.expect("pbi");
    let s = story_in(app, who, &p.id, title).await;
    (p.id, s)
}

/// Another story under a PBI.
pub async fn story_in(app: &App, who: &Actor, pbi_id: &str, title: &str) -> String {
    app.create_story(who, pbi_id, NewStory { title: title.into(), ..Default::default() }).await.expect("story").id
}

/// A task with a plan; returns its id.
pub async fn task_in(app: &App, who: &Actor, story_id: &str, title: &str, plan: Option<&str>) -> String {
    let input = NewTask { title: title.into(), implementation_plan: plan.map(Into::into), ..Default::default() };
    app.create_task(who, story_id, input).await.expect("task").task.id
}

/// What a hand-made job looks like.
#[derive(Clone)]
pub struct JobSpec {
    pub kind: &'static str,
    pub runtime: &'static str,
    pub source: &'static str,
    pub task_id: Option<String>,
    pub sprint_run_id: Option<String>,
    pub sprint_sequence: Option<i32>,
    pub required_capability: Option<String>,
}

impl Default for JobSpec {
    fn default() -> Self {
        JobSpec {
            kind: "PR_REVIEW",
            runtime: "CLAUDE",
            source: "SYSTEM",
            task_id: None,
            sprint_run_id: None,
            sprint_sequence: None,
            required_capability: None,
        }
    }
}

/// Inserts a QUEUED job for `user` directly (kinds and links the REST API
/// cannot create yet).
pub async fn insert_job(app: &App, user: &Actor, product_id: &str, spec: JobSpec) -> String {
    let t = now();
    job::ActiveModel {
        id: Set(new_id()),
        user_id: Set(user.user_id.clone()),
        product_id: Set(product_id.into()),
        task_id: Set(spec.task_id),
        sprint_run_id: Set(spec.sprint_run_id),
        sprint_sequence: Set(spec.sprint_sequence),
        kind: Set(spec.kind.into()),
        status: Set("QUEUED".into()),
        runtime: Set(spec.runtime.into()),
        source: Set(spec.source.into()),
        required_capability: Set(spec.required_capability),
        retry_count: Set(0),
        created_at: Set(t),
        updated_at: Set(t),
        ..Default::default()
    }
    .insert(&app.db)
    .await
    .expect("job")
    .id
}

/// An open sprint and a run of it in `status`; returns (sprint id, run id).
pub async fn sprint_run(app: &App, who: &Actor, product_id: &str, status: &str) -> (String, String) {
    let t = now();
    let sp = sprint::ActiveModel {
        id: Set(new_id()),
        product_id: Set(product_id.into()),
        code: Set({
            let id = new_id();
            format!("S-{}", &id[id.len() - 8..])
        }),
        sprint_goal: Set("Goal".into()),
        status: Set("OPEN".into()),
        start_date: Set(None),
        end_date: Set(None),
        created_at: Set(t),
        updated_at: Set(t),
        completed_at: Set(None),
    }
    .insert(&app.db)
    .await
    .expect("sprint");
    let run = sprint_run::ActiveModel {
        id: Set(new_id()),
        sprint_id: Set(sp.id.clone()),
        started_by_id: Set(who.user_id.clone()),
        status: Set(status.into()),
        pr_strategy: Set("SPRINT_BATCH".into()),
        created_at: Set(t),
        updated_at: Set(t),
        ..Default::default()
    }
    .insert(&app.db)
    .await
    .expect("run");
    (sp.id, run.id)
}

/// A job row.
pub async fn job_row(app: &App, id: &str) -> job::Model {
    job::Entity::find_by_id(id.to_string()).one(&app.db).await.expect("read").expect("job exists")
}

/// The message of a refusal, with its kind.
pub fn refusal(e: AppError) -> String {
    match e {
        AppError::Forbidden(m) => format!("forbidden: {m}"),
        AppError::Conflict(m) => format!("conflict: {m}"),
        AppError::Validation(v) => format!("validation: {}", v.summary()),
        AppError::NotFound(w) => format!("not found: {w}"),
        other => format!("other: {other}"),
    }
}
