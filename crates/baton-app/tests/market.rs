//! Marketplace projects, opportunities and bids on both backends: the
//! rules of issue 12 and reference §4, every error path, the permission
//! matrix (client, expert, other expert, outsider, demo, admin) with a
//! database snapshot proving that refusals write nothing, and two accepts
//! racing on one opportunity.

mod common;

use std::sync::Arc;

use baton_app::{
    Actor, App, AppConfig, AppError,
    backlog::{pbis::NewPbi, stories::NewStory},
    marketplace::{
        bids::NewBid,
        opportunities::{NewOpportunity, OpportunityFilter, OpportunitySort, open_for_story},
        projects::{AdvanceInput, BriefInput, Budget, NewProject, ProjectFilter, ProjectPatch, roles::MyRolesInput},
    },
};
use baton_domain::{
    marketplace::{BidStatus, Currency, OpportunityStatus, ProjectStatus, Stage, WorkflowStatus},
    roles::Role,
};
use baton_store::{
    Db,
    entities::{bid, escrow, opportunity, product, story, user_role},
    sea_orm::{ActiveModelTrait, EntityTrait, Set},
};
use baton_testkit::backend_tests;
use common::user_with;

const PROPOSAL: &str = "I have shipped a dozen PRDs for marketplaces like this one; I will interview you, write the PRD in BMAD format and shard it.";

struct World {
    app: App,
    client: Actor,
    expert: Actor,
    other: Actor,
    outsider: Actor,
    demo: Actor,
    admin: Actor,
}

async fn world(db: &Db) -> World {
    let app = App::local(db.clone(), AppConfig::default());
    let experts = [Role::Pm, Role::Architect, Role::Developer, Role::Qa];
    World {
        client: user_with(&app, "client", false, &[Role::Client]).await,
        expert: user_with(&app, "expert", false, &experts).await,
        other: user_with(&app, "other", false, &experts).await,
        outsider: user_with(&app, "outsider", false, &[Role::Developer]).await,
        demo: user_with(&app, "demo", true, &[Role::Client, Role::Pm]).await,
        admin: user_with(&app, "admin", false, &[Role::Admin]).await,
        app,
    }
}

fn usdc(min: i64, max: i64) -> Budget {
    Budget { min, max, currency: Currency::Usdc }
}

fn new_project(name: &str) -> NewProject {
    NewProject {
        name: name.into(),
        brief: Some("# Brief\nA marketplace for dog walkers.".into()),
        ..Default::default()
    }
}

fn opp(stage: Stage) -> NewOpportunity {
    NewOpportunity {
        stage,
        title: format!("{stage} work"),
        description: "Deliver it in BMAD format.".into(),
        budget: usdc(80_000, 150_000),
        deadline: None,
        story_id: None,
    }
}

fn a_bid(amount: i64) -> NewBid {
    NewBid { amount, currency: Currency::Usdc, proposal: PROPOSAL.into(), estimated_hours: Some(20) }
}

/// Every row of the tables these services write, for before/after comparisons.
async fn snapshot(db: &Db) -> String {
    format!(
        "{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}",
        product::Entity::find().all(db).await.expect("products"),
        opportunity::Entity::find().all(db).await.expect("opportunities"),
        bid::Entity::find().all(db).await.expect("bids"),
        escrow::Entity::find().all(db).await.expect("escrows"),
        story::Entity::find().all(db).await.expect("stories"),
        user_role::Entity::find().all(db).await.expect("roles"),
    )
}

fn field(e: AppError) -> String {
    match e {
        AppError::Validation(v) => v.0[0].path.clone(),
        other => panic!("expected a validation error, got {other:?}"),
    }
}

fn conflict(e: AppError) -> String {
    match e {
        AppError::Conflict(m) => m,
        other => panic!("expected a conflict, got {other:?}"),
    }
}

fn is_forbidden(e: &AppError) -> bool {
    matches!(e, AppError::Forbidden(_) | AppError::DemoReadOnly)
}

/// A project with a published brief and an open PM opportunity.
async fn pm_opportunity(w: &World) -> (String, String) {
    let p = w.app.create_project(&w.client, new_project("Walkies")).await.expect("project");
    w.app.publish_project_brief(&w.client, &p.id).await.expect("publish");
    let o = w.app.post_opportunity(&w.client, &p.id, opp(Stage::Pm)).await.expect("opportunity");
    (p.id, o.id)
}

backend_tests! {
    async fn a_client_creates_a_project_and_publishes_its_brief(t) {
        let w = world(&t.db).await;
        let e = w.app.create_project(&w.expert, new_project("Nope")).await.expect_err("not a client");
        assert!(matches!(&e, AppError::Forbidden(m) if m.contains("client role")), "{e:?}");
        let p = w.app.create_project(&w.client, NewProject { code: Some("WALK".into()), ..new_project("Walkies") }).await.expect("project");
        assert_eq!((p.status, p.current_stage, p.access.as_str()), (ProjectStatus::Planning, Stage::Analyst, "own"));
        assert_eq!(p.dev_budget, usdc(50_000, 150_000));
        assert_eq!(p.validation_threshold, 8);
        let brief = p.brief.expect("draft brief");
        assert_eq!(brief.status.as_api(), "draft");
        // By code as well as id.
        assert_eq!(w.app.get_project(&w.client, "walk").await.expect("by code").id, p.id);
        // PM needs the published brief.
        let e = w.app.post_opportunity(&w.client, &p.id, opp(Stage::Pm)).await.expect_err("draft brief");
        assert!(conflict(e).contains("the brief is draft"));
        let edited = w.app.put_project_brief(&w.client, &p.id, BriefInput { markdown: "# Brief v2".into() }).await.expect("edit");
        assert_eq!(edited.markdown, "# Brief v2");
        let published = w.app.publish_project_brief(&w.client, &p.id).await.expect("publish");
        assert!(published.published_at.is_some());
        let again = w.app.publish_project_brief(&w.client, &p.id).await.expect("idempotent");
        assert_eq!(again.published_at, published.published_at);
        assert_eq!(w.app.get_project_brief(&w.client, &p.id).await.expect("brief").markdown, "# Brief v2");
        // Validation names fields.
        let bad = NewProject { validation_threshold: Some(11), dev_budget: Some(usdc(10, 5)), ..new_project("Bad") };
        let e = w.app.create_project(&w.client, bad).await.expect_err("invalid");
        let AppError::Validation(v) = e else { panic!("validation") };
        let paths: Vec<_> = v.0.iter().map(|f| f.path.as_str()).collect();
        assert!(paths.contains(&"dev_budget.max") && paths.contains(&"validation_threshold"), "{paths:?}");
        let dup = w.app.create_project(&w.client, new_project("walkies")).await.expect_err("dup");
        assert_eq!(field(dup), "name");
    }

    async fn opportunities_follow_the_stage_rules(t) {
        let w = world(&t.db).await;
        let (pid, oid) = pm_opportunity(&w).await;
        let e = w.app.post_opportunity(&w.client, &pid, opp(Stage::Pm)).await.expect_err("second PM");
        let m = conflict(e);
        assert!(m.contains("active pm opportunity") && m.contains(&oid), "{m}");
        let usd = NewOpportunity { budget: Budget { min: 1, max: 2, currency: Currency::Usd }, ..opp(Stage::Architect) };
        let e = w.app.post_opportunity(&w.client, &pid, usd).await.expect_err("usd");
        let AppError::Validation(v) = e else { panic!("validation") };
        assert_eq!(v.0[0].path, "budget.currency");
        assert!(v.0[0].message.contains("use USDC"));
        let inverted = NewOpportunity { budget: usdc(200, 100), ..opp(Stage::Architect) };
        assert_eq!(field(w.app.post_opportunity(&w.client, &pid, inverted).await.expect_err("min > max")), "budget.max");
        let dev = w.app.post_opportunity(&w.client, &pid, opp(Stage::Developer)).await.expect_err("no story");
        assert_eq!(field(dev), "story_id");
        let past = NewOpportunity { deadline: Some(chrono::Utc::now() - chrono::Duration::days(1)), ..opp(Stage::Architect) };
        assert_eq!(field(w.app.post_opportunity(&w.client, &pid, past).await.expect_err("past")), "deadline");
        // A later planning stage may be lined up.
        w.app.post_opportunity(&w.client, &pid, opp(Stage::Architect)).await.expect("architect");
    }

    async fn bids_are_checked_and_accepting_one_closes_the_opportunity(t) {
        let w = world(&t.db).await;
        let (pid, oid) = pm_opportunity(&w).await;
        // Clients cannot bid on their own opportunity; the role must match.
        let e = w.app.submit_bid(&w.client, &oid, a_bid(100_000)).await.expect_err("client");
        assert!(matches!(&e, AppError::Forbidden(m) if m.contains("client")), "{e:?}");
        let e = w.app.submit_bid(&w.outsider, &oid, a_bid(100_000)).await.expect_err("role");
        assert!(matches!(&e, AppError::Forbidden(m) if m.contains("pm role")), "{e:?}");
        // Amount, currency and proposal.
        assert_eq!(field(w.app.submit_bid(&w.expert, &oid, a_bid(225_001)).await.expect_err("too much")), "amount");
        assert_eq!(field(w.app.submit_bid(&w.expert, &oid, a_bid(0)).await.expect_err("zero")), "amount");
        let short = NewBid { proposal: "short".into(), ..a_bid(100) };
        assert_eq!(field(w.app.submit_bid(&w.expert, &oid, short).await.expect_err("short")), "proposal");
        let sol = NewBid { currency: Currency::Sol, ..a_bid(100) };
        assert_eq!(field(w.app.submit_bid(&w.expert, &oid, sol).await.expect_err("currency")), "currency");
        let b1 = w.app.submit_bid(&w.expert, &oid, a_bid(225_000)).await.expect("bid at the ceiling");
        let fee = b1.fee_preview.clone().expect("fee preview");
        assert_eq!((fee.amount_base_units.as_str(), fee.platform_fee.as_str(), fee.expert_receives.as_str()), ("2250000000", "112500000", "2137500000"));
        // The bid form's preview is the same computation, before any bid exists.
        assert_eq!(w.app.bid_fee_preview(225_000, Currency::Usdc), Some(fee));
        assert_eq!(w.app.bid_fee_preview(0, Currency::Usdc), None, "nothing to escrow");
        assert_eq!(w.app.bid_fee_preview(100, Currency::Usd), None, "fiat is never escrowed");
        let dup = w.app.submit_bid(&w.expert, &oid, a_bid(100_000)).await.expect_err("second bid");
        assert!(conflict(dup).contains("already bid"));
        // Withdraw, then bid again (the row is reused).
        let wd = w.app.withdraw_bid(&w.expert, &b1.id).await.expect("withdraw");
        assert_eq!(wd.status, BidStatus::Withdrawn);
        assert!(conflict(w.app.withdraw_bid(&w.expert, &b1.id).await.expect_err("twice")).contains("withdrawn"));
        let b1 = w.app.submit_bid(&w.expert, &oid, a_bid(120_000)).await.expect("re-bid");
        assert_eq!((b1.status, b1.amount), (BidStatus::Pending, 120_000));
        let b2 = w.app.submit_bid(&w.other, &oid, a_bid(110_000)).await.expect("other bid");
        // The expert sees only their bid; the client sees both.
        assert_eq!(w.app.list_opportunity_bids(&w.expert, &oid).await.expect("own").len(), 1);
        assert_eq!(w.app.list_opportunity_bids(&w.client, &oid).await.expect("all").len(), 2);
        // Experts cannot accept; the bid's owner is told, a stranger sees nothing.
        assert!(is_forbidden(&w.app.accept_bid(&w.expert, &b1.id).await.expect_err("expert")));
        assert!(matches!(w.app.accept_bid(&w.outsider, &b1.id).await, Err(AppError::NotFound(_))));
        assert!(matches!(w.app.withdraw_bid(&w.other, &b1.id).await, Err(AppError::NotFound(_))));
        assert!(is_forbidden(&w.app.withdraw_bid(&w.client, &b1.id).await.expect_err("client withdraw")));
        let accepted = w.app.accept_bid(&w.client, &b1.id).await.expect("accept");
        assert_eq!(accepted.status, BidStatus::Accepted);
        let o = w.app.get_opportunity(&w.client, &oid).await.expect("opportunity");
        assert_eq!((o.status, o.accepted_bid_id.as_deref()), (OpportunityStatus::Closed, Some(b1.id.as_str())));
        let mine = w.app.list_my_bids(&w.other, Default::default()).await.expect("bids");
        assert_eq!(mine.items[0].id, b2.id);
        assert_eq!(mine.items[0].status, BidStatus::Rejected);
        let escrows = escrow::Entity::find().all(&t.db).await.expect("escrows");
        assert_eq!(escrows.len(), 1);
        assert_eq!((escrows[0].amount.as_str(), escrows[0].expert_id.as_str()), ("1200000000", w.expert.user_id.as_str()));
        assert!(conflict(w.app.accept_bid(&w.client, &b1.id).await.expect_err("again")).contains("accepted"));
        // The accepted expert now sees the project and the client's name; the stage holds.
        let seen = w.app.get_project(&w.expert, &pid).await.expect("accepted expert sees it");
        assert_eq!(seen.access, "read");
        assert_eq!(w.app.list_projects(&w.expert, ProjectFilter::default()).await.expect("list").total, 1);
        assert_eq!(w.app.get_opportunity(&w.expert, &oid).await.expect("opp").client, "client");
        assert!(matches!(w.app.get_project(&w.other, &pid).await, Err(AppError::NotFound(_))));
        w.app.advance_project_stage(&w.client, &pid, AdvanceInput::default()).await.expect("analyst → pm");
        let e = w.app.advance_project_stage(&w.client, &pid, AdvanceInput::default()).await.expect_err("pm running");
        assert!(conflict(e).contains("the pm opportunity is closed"));
    }

    async fn the_permission_matrix_refuses_writes_and_writes_nothing(t) {
        let w = world(&t.db).await;
        let (pid, oid) = pm_opportunity(&w).await;
        let b = w.app.submit_bid(&w.expert, &oid, a_bid(100_000)).await.expect("bid");
        let before = snapshot(&t.db).await;
        for (who, actor) in [("expert", &w.expert), ("other", &w.other), ("outsider", &w.outsider), ("demo", &w.demo), ("admin", &w.admin)] {
            let results = vec![
                ("update", w.app.update_project(actor, &pid, ProjectPatch { name: Some("X".into()), ..Default::default() }).await.err()),
                ("brief", w.app.put_project_brief(actor, &pid, BriefInput { markdown: "x".into() }).await.err()),
                ("publish", w.app.publish_project_brief(actor, &pid).await.err()),
                ("advance", w.app.advance_project_stage(actor, &pid, AdvanceInput::default()).await.err()),
                ("post", w.app.post_opportunity(actor, &pid, opp(Stage::Architect)).await.err()),
                ("accept", w.app.accept_bid(actor, &b.id).await.err()),
                ("reject", w.app.reject_bid(actor, &b.id).await.err()),
            ];
            for (what, e) in results {
                let e = e.unwrap_or_else(|| panic!("{who} may not {what}"));
                let ok = match who {
                    // The bid's own expert is told why; admins see everything but change nothing.
                    "expert" if what == "accept" || what == "reject" => is_forbidden(&e),
                    "admin" | "demo" => is_forbidden(&e) || matches!(e, AppError::NotFound(_)),
                    _ => matches!(e, AppError::NotFound(_)),
                };
                assert!(ok, "{who} {what}: {e:?}");
            }
            if who != "expert" {
                assert!(w.app.withdraw_bid(actor, &b.id).await.is_err(), "{who} withdraw");
            }
        }
        assert!(matches!(w.app.create_project(&w.demo, new_project("Demo")).await, Err(AppError::DemoReadOnly)));
        assert!(matches!(w.app.submit_bid(&w.demo, &oid, a_bid(100)).await, Err(AppError::DemoReadOnly)));
        assert!(matches!(w.app.set_my_roles(&w.demo, MyRolesInput { roles: vec![Role::Qa] }).await, Err(AppError::DemoReadOnly)));
        // The admin reads the project but the others do not.
        assert_eq!(w.app.get_project(&w.admin, &pid).await.expect("admin reads").access, "read");
        assert!(matches!(w.app.get_project(&w.outsider, &pid).await, Err(AppError::NotFound(_))));
        assert_eq!(snapshot(&t.db).await, before, "refused writes changed the database");
    }

    async fn roles_are_self_service_except_the_admin_granted_ones(t) {
        let w = world(&t.db).await;
        let u = w.app.set_my_roles(&w.admin, MyRolesInput { roles: vec![Role::Client, Role::Qa] }).await.expect("roles");
        assert!(u.roles.contains(&Role::Admin) && u.roles.contains(&Role::Client) && u.roles.contains(&Role::Qa));
        let u = w.app.set_my_roles(&w.admin, MyRolesInput { roles: vec![Role::Qa] }).await.expect("drop client");
        assert!(u.roles.contains(&Role::Admin) && !u.roles.contains(&Role::Client));
        let before = snapshot(&t.db).await;
        let e = w.app.set_my_roles(&w.expert, MyRolesInput { roles: vec![Role::Pm, Role::Admin] }).await.expect_err("admin");
        assert_eq!(field(e), "roles[1]");
        assert_eq!(snapshot(&t.db).await, before);
    }

    async fn stages_advance_in_order_and_ux_can_be_skipped(t) {
        let w = world(&t.db).await;
        let p = w.app.create_project(&w.client, new_project("Stages")).await.expect("project");
        let go = |to| AdvanceInput { to };
        let e = w.app.advance_project_stage(&w.client, &p.id, go(Some(Stage::Architect))).await.expect_err("skip pm");
        assert!(conflict(e).contains("can move to pm"));
        w.app.advance_project_stage(&w.client, &p.id, go(None)).await.expect("pm");
        w.app.advance_project_stage(&w.client, &p.id, go(None)).await.expect("architect (no PM opportunity posted)");
        let dev = w.app.advance_project_stage(&w.client, &p.id, go(Some(Stage::Developer))).await.expect("skip ux");
        assert_eq!((dev.current_stage, dev.status), (Stage::Developer, ProjectStatus::InDevelopment));
        let cancelled = w.app.update_project(&w.client, &p.id, ProjectPatch { status: Some(ProjectStatus::Cancelled), ..Default::default() }).await.expect("cancel");
        assert_eq!(cancelled.status, ProjectStatus::Cancelled);
        let e = w.app.advance_project_stage(&w.client, &p.id, go(None)).await.expect_err("final");
        assert!(conflict(e).contains("cancelled"));
        let e = w.app.update_project(&w.client, &p.id, ProjectPatch { status: Some(ProjectStatus::Completed), ..Default::default() }).await.expect_err("completed");
        assert_eq!(field(e), "status");
        let listed = w.app.list_projects(&w.client, ProjectFilter { status: Some(ProjectStatus::Cancelled), ..Default::default() }).await.expect("list");
        assert_eq!(listed.total, 1);
    }

    async fn experts_browse_open_opportunities_anonymised_with_the_sequential_rule(t) {
        let w = world(&t.db).await;
        let (pid, _) = pm_opportunity(&w).await;
        let big = NewOpportunity { budget: usdc(300_000, 500_000), deadline: Some(chrono::Utc::now() + chrono::Duration::days(3)), ..opp(Stage::Architect) };
        w.app.post_opportunity(&w.client, &pid, big).await.expect("architect");
        // Stories 1.1 and 1.2 with developer opportunities from the seam.
        let pbi = w.app.create_pbi(&w.client, &pid, NewPbi { title: "Epic 1".into(), ..Default::default() }).await.expect("pbi");
        let mut stories = Vec::new();
        for n in ["1", "2"] {
            let s = w.app.create_story(&w.client, &pbi.id, NewStory { title: format!("Story {n}"), ..Default::default() }).await.expect("story");
            let row = story::Entity::find_by_id(s.id.clone()).one(&t.db).await.expect("q").expect("row");
            let mut am: story::ActiveModel = row.into();
            am.epic_number = Set(Some(1));
            am.story_number = Set(Some(n.into()));
            am.workflow_status = Set(Some(WorkflowStatus::Approved.as_db().into()));
            let row = am.update(&t.db).await.expect("bmad story");
            let o = open_for_story(&t.db, &row, Stage::Developer).await.expect("seam").expect("opened");
            assert_eq!((o.budget_min, o.budget_max, o.currency.as_str()), (50_000, 150_000, "USDC"));
            assert!(open_for_story(&t.db, &row, Stage::Developer).await.expect("seam").is_none(), "once per story");
            stories.push(row);
        }
        let list = |f: OpportunityFilter| { let app = &w.app; let a = &w.expert; async move { app.list_opportunities(a, f).await.expect("list") } };
        let all = list(OpportunityFilter::default()).await;
        // PM, architect and story 1.1; 1.2 waits for 1.1.
        assert_eq!(all.total, 3, "{:?}", all.items.iter().map(|o| &o.title).collect::<Vec<_>>());
        assert!(all.items.iter().all(|o| o.client.starts_with("Client #")), "anonymised");
        let dev = list(OpportunityFilter { stage: Some(Stage::Developer), ..Default::default() }).await;
        assert_eq!(dev.total, 1);
        assert!(dev.items[0].title.contains("1.1"));
        let mut am: story::ActiveModel = stories[0].clone().into();
        am.workflow_status = Set(Some(WorkflowStatus::Done.as_db().into()));
        am.update(&t.db).await.expect("1.1 done");
        assert_eq!(list(OpportunityFilter { stage: Some(Stage::Developer), ..Default::default() }).await.total, 2);
        // Filters and sort.
        let highest = list(OpportunityFilter { sort: Some(OpportunitySort::Highest), ..Default::default() }).await;
        assert_eq!(highest.items[0].budget.max, 500_000);
        let lowest = list(OpportunityFilter { sort: Some(OpportunitySort::Lowest), ..Default::default() }).await;
        assert_eq!(lowest.items[0].budget.min, 50_000);
        assert_eq!(list(OpportunityFilter { budget_min: Some(400_000), ..Default::default() }).await.total, 1);
        assert_eq!(list(OpportunityFilter { budget_max: Some(60_000), ..Default::default() }).await.total, 2);
        assert_eq!(list(OpportunityFilter { deadline_within_days: Some(7), ..Default::default() }).await.total, 1);
        assert_eq!(list(OpportunityFilter { currency: Some(Currency::Sol), ..Default::default() }).await.total, 0);
        let paged = list(OpportunityFilter { limit: Some(2), page: Some(2), ..Default::default() }).await;
        assert_eq!((paged.items.len(), paged.total), (2, 4));
        let e = w.app.list_opportunities(&w.expert, OpportunityFilter { deadline_within_days: Some(0), ..Default::default() }).await.expect_err("bad");
        assert_eq!(field(e), "deadline_within_days");
        // The client sees their own name; accepting a developer bid assigns the story.
        assert_eq!(w.app.list_opportunities(&w.client, OpportunityFilter::default()).await.expect("list").items[0].client, "client");
        let dev_opp = dev.items[0].id.clone();
        let b = w.app.submit_bid(&w.expert, &dev_opp, a_bid(60_000)).await.expect("dev bid");
        w.app.accept_bid(&w.client, &b.id).await.expect("accept");
        let s = story::Entity::find_by_id(stories[0].id.clone()).one(&t.db).await.expect("q").expect("row");
        assert_eq!(s.assigned_dev_id.as_deref(), Some(w.expert.user_id.as_str()));
        let status = w.app.project_status(&w.expert, &pid).await.expect("status");
        assert_eq!(status.stories_by_status.get("approved"), Some(&1));
        assert_eq!(status.opportunities.len(), 4);
    }

    async fn story_opportunities_take_the_projects_budget_defaults(t) {
        let w = world(&t.db).await;
        let p = w.app.create_project(&w.client, new_project("Budgets")).await.expect("project");
        let sol = |min, max| Budget { min, max, currency: Currency::Sol };
        let e = w.app.update_project(&w.client, &p.id, ProjectPatch { dev_budget: Some(sol(1, 2)), ..Default::default() }).await.expect_err("mixed currencies");
        assert_eq!(field(e), "qa_budget.currency");
        let patch = ProjectPatch { dev_budget: Some(sol(700, 900)), qa_budget: Some(sol(100, 150)), ..Default::default() };
        let changed = w.app.update_project(&w.client, &p.id, patch).await.expect("budgets");
        assert_eq!(changed.qa_budget, sol(100, 150));
        let pbi = w.app.create_pbi(&w.client, &p.id, NewPbi { title: "E".into(), ..Default::default() }).await.expect("pbi");
        let s = w.app.create_story(&w.client, &pbi.id, NewStory { title: "S".into(), ..Default::default() }).await.expect("story");
        let row = story::Entity::find_by_id(s.id).one(&t.db).await.expect("q").expect("row");
        let qa = open_for_story(&t.db, &row, Stage::Qa).await.expect("seam").expect("opened");
        assert_eq!((qa.budget_min, qa.budget_max, qa.currency.as_str()), (100, 150, "SOL"));
        let dev = open_for_story(&t.db, &row, Stage::Developer).await.expect("seam").expect("opened");
        assert_eq!((dev.budget_min, dev.budget_max), (700, 900));
    }

    async fn two_accepts_at_once_leave_exactly_one_winner(t) {
        let w = world(&t.db).await;
        let (_, oid) = pm_opportunity(&w).await;
        let b1 = w.app.submit_bid(&w.expert, &oid, a_bid(100_000)).await.expect("bid 1");
        let b2 = w.app.submit_bid(&w.other, &oid, a_bid(90_000)).await.expect("bid 2");
        let app = Arc::new(w.app);
        let client = Arc::new(w.client);
        let mut handles = Vec::new();
        for id in [b1.id.clone(), b2.id.clone(), b1.id.clone(), b2.id.clone()] {
            let (app, client) = (app.clone(), client.clone());
            handles.push(tokio::spawn(async move { app.accept_bid(&client, &id).await }));
        }
        let mut wins = 0;
        for h in handles {
            match h.await.expect("task") {
                Ok(_) => wins += 1,
                Err(AppError::Conflict(_)) => {}
                Err(e) => panic!("unexpected: {e:?}"),
            }
        }
        assert_eq!(wins, 1);
        let bids = bid::Entity::find().all(&t.db).await.expect("bids");
        assert_eq!(bids.iter().filter(|b| b.status == BidStatus::Accepted.as_db()).count(), 1);
        assert_eq!(bids.iter().filter(|b| b.status == BidStatus::Rejected.as_db()).count(), 1);
        assert_eq!(escrow::Entity::find().all(&t.db).await.expect("escrows").len(), 1);
    }
}
