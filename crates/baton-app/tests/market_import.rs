//! The BMAD import (`App::import_bmad`) on both backends, with the fixture
//! repository of `crates/baton-domain/tests/bmad/docs/`: stories created,
//! a second run unchanged with the database identical, rejected files with
//! their reasons, gates and reports recorded without moving the workflow,
//! and the permission matrix (refusals write nothing).

mod common;

use baton_app::{Actor, App, AppConfig, AppError, marketplace::stories::UpsertOutcome, products::NewProduct};
use baton_domain::roles::Role;
use baton_store::{
    Db,
    entities::{pbi, product, story, story_audit_log},
    sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder},
};
use baton_testkit::{backend_tests, market};
use common::user_with;

struct World {
    app: App,
    project: String,
    client: Actor,
    pm: Actor,
    other: Actor,
    outsider: Actor,
    demo: Actor,
}

async fn world(db: &Db) -> World {
    let app = App::local(db.clone(), AppConfig::default());
    let client = user_with(&app, "client", false, &[Role::Client]).await;
    let pm = user_with(&app, "pm-expert", false, &[Role::Pm]).await;
    let other = user_with(&app, "other", false, &[Role::Ux]).await;
    let outsider = user_with(&app, "outsider", false, &[Role::Pm]).await;
    let demo = user_with(&app, "demo", true, &[Role::Client, Role::Pm]).await;
    let p = app
        .create_product(
            &client,
            NewProduct {
                name: "Shop".into(),
                code: Some("SHOP".into()),
                definition_of_done: "done".into(),
                ..Default::default()
            },
        )
        .await
        .expect("product");
    market::set_project_status(db, &p.id, "PLANNING").await;
    market::accepted_bid(db, &p.id, &pm.user_id, "PM", None).await;
    market::accepted_bid(db, &p.id, &other.user_id, "UX", None).await;
    World { app, project: p.id, client, pm, other, outsider, demo }
}

/// The fixture repository's files, paths relative to its root (`docs/…`).
fn fixture_files() -> Vec<(String, Vec<u8>)> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../baton-domain/tests/bmad");
    let mut out = Vec::new();
    let mut stack = vec![root.join("docs")];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).expect("read fixture dir") {
            let p = e.expect("entry").path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p.strip_prefix(&root).expect("under root").to_string_lossy().replace('\\', "/");
                out.push((rel, std::fs::read(&p).expect("read fixture")));
            }
        }
    }
    out.sort();
    out
}

async fn snapshot(db: &Db) -> String {
    let stories = story::Entity::find().order_by_asc(story::Column::Id).all(db).await.expect("stories");
    let audit = story_audit_log::Entity::find().order_by_asc(story_audit_log::Column::Id).all(db).await.expect("audit");
    let pbis = pbi::Entity::find().order_by_asc(pbi::Column::Id).all(db).await.expect("pbis");
    let products = product::Entity::find().order_by_asc(product::Column::Id).all(db).await.expect("products");
    format!("{stories:?}\n{audit:?}\n{pbis:?}\n{products:?}")
}

backend_tests! {
    async fn importing_the_fixture_repository_twice_changes_nothing_the_second_time(t) {
        let w = world(&t.db).await;
        let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let s2 = seen.clone();
        let sum = w
            .app
            .import_bmad(&w.client, "SHOP", fixture_files(), move |d, n| s2.lock().expect("lock").push((d, n)))
            .await
            .expect("import");
        assert_eq!((sum.created, sum.updated, sum.unchanged), (4, 0, 0), "{sum:#?}");
        let numbers: Vec<_> = sum.stories.iter().map(|s| s.number.as_str()).collect();
        assert_eq!(numbers, ["1.3", "1.4", "1.11b", "2.1"]);
        let progress = seen.lock().expect("lock").clone();
        assert_eq!(progress.last().map(|p| p.0), progress.last().map(|p| p.1), "progress reaches the total");
        // 0.2.1: epic 0 is refused by the story rules; the orphan gates name no story.
        let rejected = |file: &str| sum.rejected.iter().find(|r| r.file == file).map(|r| r.reason.clone());
        assert!(rejected("docs/stories/0.2.1.story.md").expect("0.2.1 rejected").contains("epic"));
        assert!(rejected("docs/qa/gates/1.5-review.yml").is_some());
        assert!(rejected("docs/qa/gates/1.4-no-decision.yml").is_some());
        // The committed gate and report are recorded, the workflow untouched.
        let s13 = story::Entity::find()
            .filter(story::Column::ProductId.eq(&w.project))
            .filter(story::Column::StoryNumber.eq("3"))
            .filter(story::Column::EpicNumber.eq(1))
            .one(&w.app.db)
            .await
            .expect("read")
            .expect("1.3");
        assert_eq!(s13.workflow_status.as_deref(), Some("DRAFT"));
        assert_eq!(s13.story_file.as_deref(), Some("docs/stories/1.3.user-auth.md"));
        assert!(s13.qa_gate_path.as_deref().is_some_and(|p| p.starts_with("docs/qa/gates/1.3-user-auth")));
        assert!(s13.validation_score.is_some() && s13.qa_gate_status.is_some());
        let acts: Vec<String> = story_audit_log::Entity::find()
            .filter(story_audit_log::Column::StoryId.eq(&s13.id))
            .all(&w.app.db)
            .await
            .expect("audit")
            .into_iter()
            .map(|a| a.action)
            .collect();
        for a in ["CREATED", "VALIDATED", "GATE_UPDATED"] {
            assert!(acts.iter().any(|x| x == a), "{a} in {acts:?}");
        }

        let before = snapshot(&w.app.db).await;
        let again = w.app.import_bmad(&w.pm, &w.project, fixture_files(), |_, _| {}).await.expect("second import");
        assert_eq!((again.created, again.updated, again.unchanged), (0, 0, 4), "{again:#?}");
        assert!(again.stories.iter().all(|s| s.outcome == UpsertOutcome::Unchanged));
        assert_eq!(again.rejected, sum.rejected);
        assert_eq!(snapshot(&w.app.db).await, before, "a second import writes nothing");
    }

    async fn only_the_client_and_planners_may_import(t) {
        let w = world(&t.db).await;
        let before = snapshot(&w.app.db).await;
        let r = w.app.import_bmad(&w.outsider, &w.project, fixture_files(), |_, _| {}).await;
        assert!(matches!(r, Err(AppError::NotFound(_))), "outsider: {r:?}");
        let r = w.app.import_bmad(&w.demo, &w.project, fixture_files(), |_, _| {}).await;
        assert!(matches!(r, Err(AppError::DemoReadOnly)), "demo: {r:?}");
        let r = w.app.import_bmad(&w.other, &w.project, fixture_files(), |_, _| {}).await;
        assert!(matches!(r, Err(AppError::Forbidden(_))), "other expert: {r:?}");
        assert_eq!(snapshot(&w.app.db).await, before, "refusals write nothing");
        let cli = w.app.import_bmad(&Actor::cli(), "SHOP", fixture_files(), |_, _| {}).await.expect("cli acts as client");
        assert_eq!(cli.created, 4);
    }
}
