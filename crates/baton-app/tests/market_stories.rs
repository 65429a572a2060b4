//! Marketplace stories on both backends: the idempotent upsert, validation
//! and approval, every move of the workflow allowed or refused (409 naming
//! the state), PR submission, QA reviews under both CONCERNS policies, the
//! rework cycle, one idempotent completion, the audit trail, and the
//! permission matrix (client, assigned developer, assigned QA, other
//! expert, outsider, demo, admin) with refusals that write nothing.
//!
//! The bids service sets `assigned_dev_id` / `assigned_qa_id` on bid
//! acceptance; these tests set them on the row, and give experts their
//! accepted bids with bare opportunity and bid rows.

mod common;

use baton_app::{
    Actor, App, AppConfig, AppError,
    marketplace::stories::{
        NewMarketStory, QaReviewInput, StoryApproval, StoryFilter, StoryMoveResult, StoryPr, StoryTransition,
        UpsertOutcome, ValidationInput,
    },
    products::NewProduct,
};
use baton_domain::{
    backlog::StoryStatus,
    marketplace::{QaGateStatus, Stage, WorkflowStatus, workflow::ValidationDecision},
    roles::Role,
};
use baton_store::{
    Db,
    entities::{opportunity, pbi, product, story, story_audit_log},
    sea_orm::{
        ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
        Statement,
    },
};
use baton_testkit::{backend_tests, market};
use common::user_with;

/// A project with its people.
struct World {
    app: App,
    project: String,
    client: Actor,
    pm: Actor,
    dev: Actor,
    qa: Actor,
    /// An expert of the project (accepted UX bid), no party of the stories.
    other: Actor,
    outsider: Actor,
    demo: Actor,
    admin: Actor,
}

async fn world(db: &Db) -> World {
    let app = App::local(db.clone(), AppConfig::default());
    let client = user_with(&app, "client", false, &[Role::Client]).await;
    let pm = user_with(&app, "pm-expert", false, &[Role::Pm]).await;
    let dev = user_with(&app, "dev-expert", false, &[Role::Developer]).await;
    let qa = user_with(&app, "qa-expert", false, &[Role::Qa]).await;
    let other = user_with(&app, "other", false, &[Role::Ux, Role::Developer, Role::Qa]).await;
    let outsider = user_with(&app, "outsider", false, &[Role::Developer, Role::Pm]).await;
    let demo = user_with(&app, "demo", true, &[Role::Client, Role::Developer, Role::Qa]).await;
    let admin = user_with(&app, "admin", false, &[Role::Admin]).await;
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
    market::accepted_bid(db, &p.id, &pm.user_id, Stage::Pm.as_db(), None).await;
    market::accepted_bid(db, &p.id, &other.user_id, Stage::Ux.as_db(), None).await;
    World { app, project: p.id, client, pm, dev, qa, other, outsider, demo, admin }
}

/// What the bids service does on acceptance: the assignee on the story,
/// and an accepted bid (on a bare opportunity of the stage, so the story's
/// own opportunities stay as the workflow opened them) that lets them see
/// the project.
async fn assign(db: &Db, story_id: &str, dev: Option<&Actor>, qa: Option<&Actor>) {
    let found = story::Entity::find_by_id(story_id.to_string()).one(db).await.expect("read").expect("story");
    let product_id = found.product_id.clone();
    let mut row: story::ActiveModel = found.into();
    if let Some(d) = dev {
        row.assigned_dev_id = Set(Some(d.user_id.clone()));
        market::accepted_bid(db, &product_id, &d.user_id, Stage::Developer.as_db(), None).await;
    }
    if let Some(q) = qa {
        row.assigned_qa_id = Set(Some(q.user_id.clone()));
        market::accepted_bid(db, &product_id, &q.user_id, Stage::Qa.as_db(), None).await;
    }
    row.update(db).await.expect("assign");
}

fn new_story(epic: i32, number: &str, title: &str) -> NewMarketStory {
    NewMarketStory {
        epic,
        number: number.into(),
        title: title.into(),
        description: Some("As a shopper I want to log in.".into()),
        acceptance_criteria: Some("1. Login works".into()),
        ..Default::default()
    }
}

async fn create(w: &World, epic: i32, number: &str) -> String {
    w.app.create_market_story(&w.client, &w.project, new_story(epic, number, "Login")).await.expect("story").story.id
}

fn go(score: i32) -> ValidationInput {
    ValidationInput { score, decision: ValidationDecision::Go }
}

fn review(gate: QaGateStatus) -> QaReviewInput {
    QaReviewInput { gate, notes: "Checked every criterion.".into(), top_issues: None, quality_score: Some(90) }
}

fn to(s: WorkflowStatus) -> StoryTransition {
    StoryTransition { to: s }
}

fn pr(n: i32) -> StoryPr {
    StoryPr { pr_url: format!("https://github.com/acme/shop/pull/{n}") }
}

/// A story approved, assigned to `dev` and `qa`, started by the developer.
async fn in_progress(w: &World, epic: i32, number: &str) -> String {
    let id = create(w, epic, number).await;
    w.app.record_validation(&w.pm, &id, go(9)).await.expect("approve");
    assign(&w.app.db, &id, Some(&w.dev), Some(&w.qa)).await;
    w.app.transition_story(&w.dev, &id, to(WorkflowStatus::InProgress)).await.expect("start");
    id
}

/// Every row a story write can touch, in a comparable form.
async fn snapshot(db: &Db) -> String {
    let stories = story::Entity::find().order_by_asc(story::Column::Id).all(db).await.expect("stories");
    let audit = story_audit_log::Entity::find().order_by_asc(story_audit_log::Column::Id).all(db).await.expect("audit");
    let opps = opportunity::Entity::find().order_by_asc(opportunity::Column::Id).all(db).await.expect("opps");
    let pbis = pbi::Entity::find().order_by_asc(pbi::Column::Id).all(db).await.expect("pbis");
    let products = product::Entity::find().order_by_asc(product::Column::Id).all(db).await.expect("products");
    format!("{stories:?}\n{audit:?}\n{opps:?}\n{pbis:?}\n{products:?}")
}

async fn actions(db: &Db, id: &str) -> Vec<String> {
    story_audit_log::Entity::find()
        .filter(story_audit_log::Column::StoryId.eq(id))
        .order_by_asc(story_audit_log::Column::CreatedAt)
        .order_by_asc(story_audit_log::Column::Id)
        .all(db)
        .await
        .expect("audit")
        .into_iter()
        .map(|a| a.action)
        .collect()
}

async fn opportunities_of(db: &Db, story_id: &str) -> Vec<opportunity::Model> {
    opportunity::Entity::find()
        .filter(opportunity::Column::StoryId.eq(story_id))
        .order_by_asc(opportunity::Column::Id)
        .all(db)
        .await
        .expect("opps")
}

/// Adds a `products` setting column the projects service's migration will
/// own, unless it is there already.
async fn product_setting(db: &Db, product_id: &str, col: &str, ty: &str, value: &str) {
    let backend = db.get_database_backend();
    let exists = match backend {
        baton_store::sea_orm::DbBackend::Sqlite => {
            format!("SELECT name FROM pragma_table_info('products') WHERE name = '{col}'")
        }
        _ => format!(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() \
             AND table_name = 'products' AND column_name = '{col}'"
        ),
    };
    if db.query_one_raw(Statement::from_string(backend, exists)).await.expect("probe").is_none() {
        db.execute_raw(Statement::from_string(backend, format!("ALTER TABLE products ADD COLUMN {col} {ty}")))
            .await
            .expect("add column");
    }
    db.execute_raw(Statement::from_string(
        backend,
        format!("UPDATE products SET {col} = {value} WHERE id = '{product_id}'"),
    ))
    .await
    .expect("set");
}

#[track_caller]
fn conflict<T: std::fmt::Debug>(r: Result<T, AppError>, needle: &str) {
    match r {
        Err(AppError::Conflict(m)) => assert!(m.contains(needle), "{m:?} should contain {needle:?}"),
        other => panic!("expected a 409 containing {needle:?}, got {other:?}"),
    }
}

#[track_caller]
fn forbidden<T: std::fmt::Debug>(r: Result<T, AppError>) {
    assert!(matches!(r, Err(AppError::Forbidden(_) | AppError::DemoReadOnly)), "expected 403, got {r:?}");
}

#[track_caller]
fn not_found<T: std::fmt::Debug>(r: Result<T, AppError>) {
    assert!(matches!(r, Err(AppError::NotFound(_))), "expected 404, got {r:?}");
}

#[track_caller]
fn invalid<T: std::fmt::Debug>(r: Result<T, AppError>, field: &str) {
    match r {
        Err(AppError::Validation(v)) => assert_eq!(v.0[0].path, field, "{v}"),
        other => panic!("expected a 422 on {field}, got {other:?}"),
    }
}

backend_tests! {
    async fn the_backlog_side_cannot_move_a_marketplace_storys_status(t) {
        let w = world(&t.db).await;
        let id = create(&w, 1, "1").await;
        let code = story::Entity::find_by_id(&id).one(&w.app.db).await.expect("read").expect("story").code;
        let patch = baton_app::backlog::stories::StoryPatch { status: Some(StoryStatus::Done), ..Default::default() };
        conflict(w.app.update_story(&w.client, &id, patch).await, "its status follows the workflow");
        let bulk = baton_app::bulk::BulkStatusInput {
            kind: baton_app::bulk::BulkKind::Story,
            ids: vec![code],
            status: "done".into(),
        };
        invalid(w.app.bulk_status(&w.client, bulk).await, "ids.0");
        // A task finished under it rolls up by the workflow, not the tasks.
        let task = w
            .app
            .create_task(&w.client, &id, baton_app::backlog::tasks::NewTask { title: "Build it".into(), ..Default::default() })
            .await
            .expect("task");
        let done = w
            .app
            .update_task_status(&w.client, &task.task.id, baton_domain::backlog::TaskStatus::Done, None)
            .await
            .expect("task done");
        assert_eq!(done.story_status, StoryStatus::Open, "a draft story stays open however its tasks end");
        let row = story::Entity::find_by_id(&id).one(&w.app.db).await.expect("read").expect("story");
        assert_eq!((row.status.as_str(), row.workflow_status.as_deref()), ("OPEN", Some("DRAFT")));
    }

    async fn creating_a_story_is_an_idempotent_upsert_keyed_by_number(t) {
        let w = world(&t.db).await;
        let made = w.app.create_market_story(&w.client, &w.project, new_story(3, "1", "Login")).await.expect("create");
        assert_eq!(made.outcome, UpsertOutcome::Created);
        let s = &made.story;
        assert_eq!((s.number.as_str(), s.workflow_status, s.status), ("3.1", WorkflowStatus::Draft, StoryStatus::Open));
        assert_eq!((s.qa_gate, s.qa_review_count, s.validation_score), (None, 0, None));
        let epic = pbi::Entity::find_by_id(s.pbi_id.clone()).one(&t.db).await.expect("read").expect("epic");
        assert_eq!((epic.epic_number, epic.title.as_str()), (Some(3), "Epic 3"));

        let before = snapshot(&t.db).await;
        let again = w.app.create_market_story(&w.client, &w.project, new_story(3, "3.1", "Login")).await.expect("again");
        assert_eq!((again.outcome, again.story.id.as_str()), (UpsertOutcome::Unchanged, s.id.as_str()));
        assert_eq!(snapshot(&t.db).await, before, "an unchanged upsert writes nothing");

        // A PM of the project may write stories too; a second story joins the same epic.
        let changed = w.app.create_market_story(&w.pm, &w.project, new_story(3, "1", "Log in")).await.expect("update");
        assert_eq!((changed.outcome, changed.story.title.as_str()), (UpsertOutcome::Updated, "Log in"));
        let second = w.app.create_market_story(&w.client, "shop", new_story(3, "2", "Logout")).await.expect("second");
        assert_eq!(second.story.pbi_id, s.pbi_id);
        assert_eq!(actions(&t.db, &s.id).await, ["CREATED", "UPDATED"]);

        // An assigned developer sees the project but does not write stories.
        assign(&t.db, &s.id, Some(&w.dev), None).await;
        let before = snapshot(&t.db).await;
        invalid(w.app.create_market_story(&w.client, &w.project, new_story(3, "4.1", "X")).await, "number");
        invalid(w.app.create_market_story(&w.client, &w.project, new_story(3, "one", "X")).await, "number");
        invalid(w.app.create_market_story(&w.client, &w.project, new_story(0, "1", "X")).await, "epic");
        invalid(w.app.create_market_story(&w.client, &w.project, new_story(3, "5", "  ")).await, "title");
        let bad_file = NewMarketStory { story_file: Some("../etc/passwd".into()), ..new_story(3, "5", "X") };
        invalid(w.app.create_market_story(&w.client, &w.project, bad_file).await, "story_file");
        forbidden(w.app.create_market_story(&w.dev, &w.project, new_story(3, "5", "X")).await.map(|_| ()));
        forbidden(w.app.create_market_story(&w.other, &w.project, new_story(3, "5", "X")).await.map(|_| ()));
        forbidden(w.app.create_market_story(&w.demo, &w.project, new_story(3, "5", "X")).await.map(|_| ()));
        forbidden(w.app.create_market_story(&w.admin, &w.project, new_story(3, "5", "X")).await.map(|_| ()));
        not_found(w.app.create_market_story(&w.outsider, &w.project, new_story(3, "5", "X")).await.map(|_| ()));
        assert_eq!(snapshot(&t.db).await, before, "refused creates write nothing");
    }

    async fn validation_approves_only_a_go_at_the_threshold_and_opens_the_developer_opportunity(t) {
        let w = world(&t.db).await;
        let id = create(&w, 1, "1").await;
        // An expert assigned to the story is a party, but no validator.
        assign(&t.db, &id, Some(&w.dev), None).await;
        let before = snapshot(&t.db).await;
        forbidden(w.app.record_validation(&w.dev, &id, go(9)).await);
        forbidden(w.app.record_validation(&w.other, &id, go(9)).await);
        forbidden(w.app.record_validation(&w.demo, &id, go(9)).await);
        forbidden(w.app.record_validation(&w.admin, &id, go(9)).await);
        not_found(w.app.record_validation(&w.outsider, &id, go(9)).await);
        invalid(w.app.record_validation(&w.pm, &id, go(11)).await, "score");
        invalid(w.app.record_validation(&w.pm, &id, go(0)).await, "score");
        assert_eq!(snapshot(&t.db).await, before, "refused validations write nothing");

        let r = w.app.record_validation(&w.pm, &id, ValidationInput { score: 9, decision: ValidationDecision::NoGo }).await.expect("no go");
        assert_eq!((r.story.workflow_status, r.story.validation_score), (WorkflowStatus::Draft, Some(9)));
        assert_eq!(r.story.validation_decision, Some(ValidationDecision::NoGo));
        let r = w.app.record_validation(&w.client, &id, go(7)).await.expect("low score");
        assert_eq!((r.story.workflow_status, r.opened_opportunity_id), (WorkflowStatus::Draft, None));
        assert!(opportunities_of(&t.db, &id).await.is_empty());

        let r = w.app.record_validation(&w.pm, &id, go(8)).await.expect("approve");
        assert_eq!((r.story.workflow_status, r.story.status), (WorkflowStatus::Approved, StoryStatus::Open));
        assert_eq!(r.story.validated_by.as_deref(), Some(w.pm.user_id.as_str()));
        let opps = opportunities_of(&t.db, &id).await;
        assert_eq!(opps.len(), 1);
        assert_eq!((opps[0].stage.as_str(), opps[0].status.as_str()), ("DEVELOPER", "OPEN"));
        assert_eq!(r.opened_opportunity_id.as_deref(), Some(opps[0].id.as_str()));
        assert_eq!(actions(&t.db, &id).await, ["CREATED", "VALIDATED", "VALIDATED", "VALIDATED", "STATUS_CHANGED"]);

        let before = snapshot(&t.db).await;
        conflict(w.app.record_validation(&w.pm, &id, go(10)).await, "story is approved");
        assert_eq!(snapshot(&t.db).await, before);

        // The project's own threshold (a projects-service column) is honoured.
        let id2 = create(&w, 1, "2").await;
        product_setting(&t.db, &w.project, "validation_threshold", "INTEGER", "9").await;
        let r = w.app.record_validation(&w.pm, &id2, go(8)).await.expect("below 9");
        assert_eq!(r.story.workflow_status, WorkflowStatus::Draft);
        let r = w.app.record_validation(&w.pm, &id2, go(9)).await.expect("at 9");
        assert_eq!(r.story.workflow_status, WorkflowStatus::Approved);
    }

    async fn the_full_cycle_reworks_on_concerns_and_completes_once(t) {
        let w = world(&t.db).await;
        market::set_project_status(&t.db, &w.project, "IN_DEVELOPMENT").await;
        let id = create(&w, 2, "1").await;
        w.app.record_validation(&w.pm, &id, go(9)).await.expect("approve");
        let dev_opp = opportunities_of(&t.db, &id).await.remove(0);
        assign(&t.db, &id, Some(&w.dev), Some(&w.qa)).await;

        forbidden(w.app.transition_story(&w.qa, &id, to(WorkflowStatus::InProgress)).await);
        let r = w.app.transition_story(&w.dev, &id, to(WorkflowStatus::InProgress)).await.expect("start");
        assert_eq!(r.story.workflow_status, WorkflowStatus::InProgress);

        let before = snapshot(&t.db).await;
        invalid(w.app.submit_story_pr(&w.dev, &id, StoryPr { pr_url: "https://github.com/acme/shop/issues/3".into() }).await, "pr_url");
        forbidden(w.app.submit_story_pr(&w.qa, &id, pr(3)).await);
        assert_eq!(snapshot(&t.db).await, before);

        let r = w.app.submit_story_pr(&w.dev, &id, pr(3)).await.expect("pr");
        assert_eq!(r.story.workflow_status, WorkflowStatus::ReadyForReview);
        assert_eq!((r.story.dev_pr_url.as_deref(), r.story.dev_pr_number), (Some("https://github.com/acme/shop/pull/3"), Some(3)));
        let qa_opp = r.opened_opportunity_id.clone().expect("QA opportunity");
        assert_eq!(opportunities_of(&t.db, &id).await.len(), 2);

        // CONCERNS under the default policy: back to rework.
        let r = w.app.submit_qa_review(&w.qa, &id, review(QaGateStatus::Concerns)).await.expect("concerns");
        assert_eq!((r.story.workflow_status, r.story.qa_gate, r.story.qa_review_count), (WorkflowStatus::InProgress, Some(QaGateStatus::Concerns), 1));
        assert_eq!((r.story.qa_quality_score, r.story.qa_notes.as_deref()), (Some(90), Some("Checked every criterion.")));

        // Resubmitting does not open a second QA opportunity.
        let r = w.app.submit_story_pr(&w.dev, &id, pr(4)).await.expect("resubmit");
        assert_eq!((r.story.workflow_status, r.opened_opportunity_id), (WorkflowStatus::ReadyForReview, None));
        let opps = opportunities_of(&t.db, &id).await;
        assert_eq!(opps.iter().filter(|o| o.stage == "QA").count(), 1);

        let r = w.app.submit_qa_review(&w.qa, &id, review(QaGateStatus::Pass)).await.expect("pass");
        assert_eq!((r.story.workflow_status, r.story.status, r.story.qa_review_count), (WorkflowStatus::Done, StoryStatus::Done, 2));
        assert!(r.project_completed, "the last story completes a project in development");
        for o in opportunities_of(&t.db, &id).await {
            assert_eq!(o.status, "COMPLETED", "{}", o.stage);
            assert!(o.id == dev_opp.id || o.id == qa_opp, "only the story's opportunities");
        }
        let epic = pbi::Entity::find_by_id(r.story.pbi_id.clone()).one(&t.db).await.expect("read").expect("epic");
        assert_eq!(epic.status, "DONE");
        let p = product::Entity::find_by_id(w.project.clone()).one(&t.db).await.expect("read").expect("project");
        assert_eq!(p.project_status.as_deref(), Some("COMPLETED"));
        assert_eq!(
            actions(&t.db, &id).await,
            [
                "CREATED", "VALIDATED", "STATUS_CHANGED", "STATUS_CHANGED", "PR_LINKED", "STATUS_CHANGED",
                "GATE_UPDATED", "STATUS_CHANGED", "PR_LINKED", "STATUS_CHANGED", "GATE_UPDATED", "STATUS_CHANGED",
                "MERGED", "ESCROW_RELEASED",
            ]
        );
        let detail = w.app.get_market_story(&w.client, &id).await.expect("detail");
        let last = detail.audit.iter().rev().find(|a| a.action == "STATUS_CHANGED").expect("move");
        assert_eq!((last.from_status, last.to_status), (Some(WorkflowStatus::ReadyForReview), Some(WorkflowStatus::Done)));
        assert_eq!(last.user.as_ref().map(|u| u.username.as_str()), Some("qa-expert"));

        // Completing again changes nothing.
        let before = snapshot(&t.db).await;
        let again: StoryMoveResult = w.app.approve_story(&w.qa, &id, StoryApproval::default()).await.expect("again");
        assert!(!again.changed);
        assert_eq!(snapshot(&t.db).await, before, "a second completion writes nothing");
        conflict(w.app.submit_qa_review(&w.qa, &id, review(QaGateStatus::Pass)).await, "project is completed");
    }

    async fn approve_completes_but_leaves_a_planning_project_alone(t) {
        let w = world(&t.db).await;
        let id = in_progress(&w, 1, "1").await;
        conflict(w.app.approve_story(&w.qa, &id, StoryApproval::default()).await, "from in_progress");
        w.app.submit_story_pr(&w.dev, &id, pr(1)).await.expect("pr");
        let before = snapshot(&t.db).await;
        forbidden(w.app.approve_story(&w.dev, &id, StoryApproval::default()).await);
        forbidden(w.app.approve_story(&w.client, &id, StoryApproval::default()).await);
        forbidden(w.app.approve_story(&w.other, &id, StoryApproval::default()).await);
        forbidden(w.app.approve_story(&w.demo, &id, StoryApproval::default()).await);
        forbidden(w.app.approve_story(&w.admin, &id, StoryApproval::default()).await);
        not_found(w.app.approve_story(&w.outsider, &id, StoryApproval::default()).await);
        assert_eq!(snapshot(&t.db).await, before, "refused approvals write nothing");
        let r = w.app.approve_story(&w.qa, &id, StoryApproval { notes: Some("LGTM".into()) }).await.expect("approve");
        assert!(r.changed && !r.project_completed);
        assert_eq!((r.story.workflow_status, r.story.qa_gate, r.story.qa_review_count), (WorkflowStatus::Done, Some(QaGateStatus::Pass), 1));
        let p = product::Entity::find_by_id(w.project.clone()).one(&t.db).await.expect("read").expect("project");
        assert_eq!(p.project_status.as_deref(), Some("PLANNING"));
    }

    async fn concerns_proceed_when_the_project_says_so_and_fail_always_reworks(t) {
        let w = world(&t.db).await;
        product_setting(&t.db, &w.project, "concerns_policy", "VARCHAR(40)", "'PROCEED'").await;
        let a = in_progress(&w, 1, "1").await;
        w.app.submit_story_pr(&w.dev, &a, pr(1)).await.expect("pr");
        let r = w.app.submit_qa_review(&w.qa, &a, review(QaGateStatus::Concerns)).await.expect("concerns");
        assert_eq!((r.story.workflow_status, r.story.qa_gate), (WorkflowStatus::Done, Some(QaGateStatus::Concerns)));
        let b = in_progress(&w, 1, "2").await;
        w.app.submit_story_pr(&w.dev, &b, pr(2)).await.expect("pr");
        let r = w.app.submit_qa_review(&w.qa, &b, review(QaGateStatus::Fail)).await.expect("fail");
        assert_eq!(r.story.workflow_status, WorkflowStatus::InProgress);
        w.app.submit_story_pr(&w.dev, &b, pr(2)).await.expect("again");
        let r = w.app.submit_qa_review(&w.qa, &b, review(QaGateStatus::Waived)).await.expect("waived");
        assert_eq!((r.story.workflow_status, r.story.qa_review_count), (WorkflowStatus::Done, 2));
    }

    async fn qa_reviews_are_for_the_assigned_qa_who_is_not_the_developer(t) {
        let w = world(&t.db).await;
        let id = in_progress(&w, 1, "1").await;
        w.app.submit_story_pr(&w.dev, &id, pr(1)).await.expect("pr");
        let before = snapshot(&t.db).await;
        for who in [&w.client, &w.dev, &w.pm, &w.other, &w.demo, &w.admin] {
            forbidden(w.app.submit_qa_review(who, &id, review(QaGateStatus::Pass)).await);
        }
        not_found(w.app.submit_qa_review(&w.outsider, &id, review(QaGateStatus::Pass)).await);
        let empty = QaReviewInput { notes: "  ".into(), ..review(QaGateStatus::Fail) };
        invalid(w.app.submit_qa_review(&w.qa, &id, empty).await, "notes");
        let score = QaReviewInput { quality_score: Some(101), ..review(QaGateStatus::Fail) };
        invalid(w.app.submit_qa_review(&w.qa, &id, score).await, "quality_score");
        let issues = QaReviewInput { top_issues: Some(vec!["ok".into(), "".into()]), ..review(QaGateStatus::Fail) };
        invalid(w.app.submit_qa_review(&w.qa, &id, issues).await, "top_issues[1]");
        assert_eq!(snapshot(&t.db).await, before, "refused reviews write nothing");

        // The same person as developer and QA may not review.
        assign(&t.db, &id, Some(&w.other), Some(&w.other)).await;
        let before = snapshot(&t.db).await;
        match w.app.submit_qa_review(&w.other, &id, review(QaGateStatus::Pass)).await {
            Err(AppError::Forbidden(m)) => assert!(m.contains("own code"), "{m}"),
            other => panic!("expected 403, got {other:?}"),
        }
        assert_eq!(snapshot(&t.db).await, before);
    }

    async fn moves_outside_the_table_are_409_naming_the_state_and_write_nothing(t) {
        let w = world(&t.db).await;
        let id = create(&w, 1, "1").await;
        assign(&t.db, &id, Some(&w.dev), Some(&w.qa)).await;
        let before = snapshot(&t.db).await;
        conflict(w.app.transition_story(&w.dev, &id, to(WorkflowStatus::InProgress)).await, "from draft to in_progress");
        conflict(w.app.transition_story(&w.pm, &id, to(WorkflowStatus::Approved)).await, "/validation");
        conflict(w.app.submit_story_pr(&w.dev, &id, pr(1)).await, "from draft");
        conflict(w.app.submit_qa_review(&w.qa, &id, review(QaGateStatus::Pass)).await, "from draft");
        conflict(w.app.approve_story(&w.qa, &id, StoryApproval::default()).await, "from draft");
        for who in [&w.other, &w.admin] {
            forbidden(w.app.transition_story(who, &id, to(WorkflowStatus::Blocked)).await);
        }
        forbidden(w.app.transition_story(&w.demo, &id, to(WorkflowStatus::Blocked)).await);
        not_found(w.app.transition_story(&w.outsider, &id, to(WorkflowStatus::Blocked)).await);
        assert_eq!(snapshot(&t.db).await, before, "refused moves write nothing");

        w.app.record_validation(&w.client, &id, go(10)).await.expect("approve");
        w.app.transition_story(&w.dev, &id, to(WorkflowStatus::InProgress)).await.expect("start");
        conflict(w.app.transition_story(&w.dev, &id, to(WorkflowStatus::ReadyForReview)).await, "/submit-pr");
        // Any party blocks; the story returns only where it was.
        let r = w.app.transition_story(&w.client, &id, to(WorkflowStatus::Blocked)).await.expect("block");
        assert_eq!((r.story.workflow_status, r.story.status), (WorkflowStatus::Blocked, StoryStatus::Open));
        conflict(w.app.transition_story(&w.dev, &id, to(WorkflowStatus::Approved)).await, "story is blocked; it can only return to in_progress");
        conflict(w.app.transition_story(&w.qa, &id, to(WorkflowStatus::Done)).await, "from blocked to done");
        let r = w.app.transition_story(&w.qa, &id, to(WorkflowStatus::InProgress)).await.expect("unblock");
        assert_eq!(r.story.workflow_status, WorkflowStatus::InProgress);
        w.app.submit_story_pr(&w.dev, &id, pr(1)).await.expect("pr");
        w.app.approve_story(&w.qa, &id, StoryApproval::default()).await.expect("done");
        let before = snapshot(&t.db).await;
        conflict(w.app.transition_story(&w.client, &id, to(WorkflowStatus::Blocked)).await, "from done to blocked");
        assert_eq!(snapshot(&t.db).await, before);
    }

    async fn every_generic_move_by_every_party_follows_the_table(t) {
        use baton_domain::marketplace::workflow::{StoryRole, TransitionError, Via, backlog_status, check_via};
        let w = world(&t.db).await;
        let id = create(&w, 1, "1").await;
        assign(&t.db, &id, Some(&w.dev), Some(&w.qa)).await;
        let parties: [(&Actor, &[StoryRole]); 5] = [
            (&w.client, &[StoryRole::Validator, StoryRole::Client]),
            (&w.pm, &[StoryRole::Validator]),
            (&w.dev, &[StoryRole::Developer]),
            (&w.qa, &[StoryRole::Qa]),
            (&w.other, &[]),
        ];
        let mut allowed = 0;
        for &from in WorkflowStatus::ALL {
            for &target in WorkflowStatus::ALL {
                for (who, roles) in parties {
                    // Put the story in `from` (as an import would) before each attempt.
                    let mut r: story::ActiveModel = story::Entity::find_by_id(id.clone()).one(&t.db).await.expect("read").expect("story").into();
                    r.workflow_status = Set(Some(from.as_db().into()));
                    r.status = Set(backlog_status(from, false).as_db().into());
                    r.update(&t.db).await.expect("reset");
                    // Blocked "as imported": no earlier move into BLOCKED, so any way back
                    // the table allows (returning only where it was is tested above).
                    story_audit_log::Entity::delete_many().exec(&t.db).await.expect("clear audit");
                    let before = snapshot(&t.db).await;
                    let got = w.app.transition_story(who, &id, to(target)).await;
                    let want = if roles.is_empty() { Err(TransitionError::NotWhereItWas { previous: from }) } else { check_via(from, target, roles, Via::Move) };
                    let case = format!("{from:?} -> {target:?} as {}", who.username);
                    match (want, got) {
                        (Ok(()), Ok(r)) => {
                            allowed += 1;
                            assert_eq!((r.story.workflow_status, r.story.status), (target, backlog_status(target, false)), "{case}");
                            assert_eq!(actions(&t.db, &id).await.last().map(String::as_str), Some("STATUS_CHANGED"), "{case}");
                            continue;
                        }
                        (Err(TransitionError::WrongParty { .. }), Err(AppError::Forbidden(_))) => {}
                        (Err(_), Err(AppError::Forbidden(m))) if roles.is_empty() => assert!(m.contains("party"), "{case}: {m}"),
                        (Err(_), Err(AppError::Conflict(m))) => assert!(m.contains(&from.as_api()), "{case}: {m}"),
                        (want, got) => panic!("{case}: expected {want:?}, got {got:?}"),
                    }
                    assert_eq!(snapshot(&t.db).await, before, "{case}: a refused move wrote something");
                }
            }
        }
        // approved → in_progress (developer) and 8 block/unblock moves for 4 parties.
        assert_eq!(allowed, 1 + 8 * 4);
    }

    async fn the_project_list_shows_numbers_gates_and_parties_to_who_may_see_them(t) {
        let w = world(&t.db).await;
        for n in ["10", "2", "1"] {
            create(&w, 1, n).await;
        }
        create(&w, 2, "1").await;
        let approved = in_progress(&w, 3, "1").await;
        let all = w.app.list_project_stories(&w.client, &w.project, StoryFilter::default()).await.expect("list");
        let numbers: Vec<_> = all.iter().map(|s| s.number.as_str()).collect();
        assert_eq!(numbers, ["1.1", "1.2", "1.10", "2.1", "3.1"]);
        let last = all.last().expect("3.1");
        assert_eq!(last.assigned_dev.as_ref().map(|p| p.username.as_str()), Some("dev-expert"));
        assert_eq!(last.assigned_qa.as_ref().map(|p| p.username.as_str()), Some("qa-expert"));
        assert_eq!(last.id, approved);

        let only = StoryFilter { workflow_status: Some("in_progress".into()) };
        let started = w.app.list_project_stories(&w.dev, "SHOP", only.clone()).await;
        // The assigned developer is no member: the project code does not resolve for them, the id does.
        not_found(started);
        let started = w.app.list_project_stories(&w.dev, &w.project, only).await.expect("dev sees");
        assert_eq!(started.len(), 1);
        invalid(w.app.list_project_stories(&w.client, &w.project, StoryFilter { workflow_status: Some("finished".into()) }).await, "workflow_status");
        for who in [&w.pm, &w.other, &w.admin, &w.qa] {
            assert_eq!(w.app.list_project_stories(who, &w.project, StoryFilter::default()).await.expect("sees").len(), 5);
        }
        not_found(w.app.list_project_stories(&w.outsider, &w.project, StoryFilter::default()).await);
        not_found(w.app.get_market_story(&w.outsider, &approved).await);
        not_found(w.app.story_audit(&w.demo, &approved).await);
        let audit = w.app.story_audit(&w.other, &approved).await.expect("audit");
        assert_eq!(audit.first().map(|a| a.action.as_str()), Some("CREATED"));
    }
}
