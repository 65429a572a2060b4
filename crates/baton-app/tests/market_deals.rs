//! The parties of a marketplace deal on both backends: planning
//! deliverables (submit, review: approve, request changes,
//! reject-and-reselect), ratings after completed work, expert profiles,
//! project documents in a real directory store, and the permission matrix
//! with refusals that write nothing.
//!
//! The deal itself (project, opportunity, accepted bid, escrow) is written
//! with the entities here so these tests check only the deliverable and
//! rating services.

mod common;

use baton_app::{
    Actor, App, AppConfig, AppError,
    marketplace::{
        deliverables::{ReviewDecision, ReviewDeliverable, SubmitDeliverable},
        documents::NewDocument,
        escrows,
        ratings::NewRating,
    },
};
use baton_domain::{
    marketplace::{BidStatus, DeliverableStatus, EscrowStatus, OpportunityStatus, ProjectStatus, Stage},
    roles::Role,
};
use baton_store::{
    Db,
    entities::{bid, deliverable, document, escrow, opportunity, product, product_member, rating},
    new_id, now,
    sea_orm::{ActiveModelTrait, ActiveValue::Set, EntityTrait, IntoActiveModel},
};
use baton_testkit::{backend_tests, market};
use common::{product_row, user_with};

struct Deal {
    client: Actor,
    expert: Actor,
    rival: Actor,
    outsider: Actor,
    demo: Actor,
    admin: Actor,
    project_id: String,
    opportunity_id: String,
    bid_id: String,
}

/// A project with a PM opportunity awarded to `expert` (bid accepted,
/// escrow pending) and a rejected bid of `rival`.
async fn deal(app: &App) -> Deal {
    let client = user_with(app, "clara", false, &[Role::Client]).await;
    let expert = user_with(app, "pete", false, &[Role::Pm]).await;
    let rival = user_with(app, "rita", false, &[Role::Pm]).await;
    let outsider = user_with(app, "otto", false, &[Role::Pm, Role::Client]).await;
    let demo = user_with(app, "demo", true, &[Role::Client, Role::Pm]).await;
    let admin = user_with(app, "ada", false, &[Role::Admin]).await;
    let project_id = product_row(&app.db, &client.user_id, "Shop").await;
    let p = product::Entity::find_by_id(&project_id).one(&app.db).await.expect("read").expect("project");
    let mut am = p.into_active_model();
    am.project_status = Set(Some(ProjectStatus::Planning.as_db().into()));
    am.current_stage = Set(Some(Stage::Pm.as_db().into()));
    am.repo_url = Set(Some("https://github.com/clara/shop".into()));
    am.update(&app.db).await.expect("project");
    let opp = opportunity::ActiveModel {
        title: Set("Write the PRD".into()),
        description: Set("A PRD in BMAD format".into()),
        budget_min: Set(80_000),
        budget_max: Set(150_000),
        status: Set(OpportunityStatus::Closed.as_db().into()),
        ..market::opportunity(&project_id, Stage::Pm.as_db())
    }
    .insert(&app.db)
    .await
    .expect("opportunity");
    let bid_of = |expert_id: &str, status: BidStatus| bid::ActiveModel {
        amount: Set(100_000),
        proposal: Set("p".repeat(120)),
        estimated_hours: Set(Some(20)),
        status: Set(status.as_db().into()),
        ..market::bid(&opp.id, expert_id)
    };
    let won = bid_of(&expert.user_id, BidStatus::Accepted).insert(&app.db).await.expect("bid");
    bid_of(&rival.user_id, BidStatus::Rejected).insert(&app.db).await.expect("bid");
    let opp = market::accept(&app.db, opp, &won.id).await;
    escrows::create_for_accepted_bid(&app.db, &app.config, &opp, &won, &client.user_id).await.expect("escrow");
    Deal { client, expert, rival, outsider, demo, admin, project_id, opportunity_id: opp.id, bid_id: won.id }
}

/// Every row the services under test may write, for before/after checks.
async fn snapshot(db: &Db) -> String {
    format!(
        "{:?}|{:?}|{:?}|{:?}|{:?}",
        deliverable::Entity::find().all(db).await.expect("d"),
        opportunity::Entity::find().all(db).await.expect("o"),
        bid::Entity::find().all(db).await.expect("b"),
        escrow::Entity::find().all(db).await.expect("e"),
        rating::Entity::find().all(db).await.expect("r"),
    )
}

fn kind<T: std::fmt::Debug>(r: &Result<T, AppError>) -> String {
    match r {
        Ok(_) => "ok".into(),
        Err(AppError::NotFound(_)) => "404".into(),
        Err(AppError::Forbidden(_)) => "403".into(),
        Err(AppError::DemoReadOnly) => "demo".into(),
        Err(AppError::Conflict(m)) => format!("409 {m}"),
        Err(AppError::Validation(v)) => format!("422 {}", v.0[0].path),
        Err(e) => format!("{e:?}"),
    }
}

fn pr(n: u32) -> SubmitDeliverable {
    SubmitDeliverable { pr_url: format!("https://github.com/clara/shop/pull/{n}") }
}

fn decide(decision: ReviewDecision, notes: Option<&str>) -> ReviewDeliverable {
    ReviewDeliverable { decision, notes: notes.map(str::to_string) }
}

backend_tests! {
    async fn only_the_accepted_expert_submits_and_refusals_write_nothing(t) {
        let app = App::local(t.db.clone(), AppConfig::default());
        let d = deal(&app).await;
        let before = snapshot(&app.db).await;
        let cases: [(&str, &Actor, &str); 5] = [
            ("client", &d.client, "403"),
            ("rejected rival", &d.rival, "403"),
            ("outsider", &d.outsider, "404"),
            ("demo", &d.demo, "demo"),
            ("admin", &d.admin, "403"),
        ];
        for (who, actor, want) in cases {
            let got = kind(&app.submit_deliverable(actor, &d.opportunity_id, pr(1)).await);
            assert_eq!(got, want, "{who}");
        }
        let bad = app
            .submit_deliverable(&d.expert, &d.opportunity_id, SubmitDeliverable { pr_url: "https://evil.example/x/y/pull/1".into() })
            .await;
        assert_eq!(kind(&bad), "422 pr_url");
        assert_eq!(kind(&app.submit_deliverable(&d.expert, "no-such-id", pr(1)).await), "404");
        assert_eq!(snapshot(&app.db).await, before, "refusals wrote something");

        let sub = app.submit_deliverable(&d.expert, &d.opportunity_id, pr(7)).await.expect("submit");
        assert_eq!((sub.status, sub.pr_number, sub.stage), (DeliverableStatus::Submitted, 7, Stage::Pm));
        assert_eq!(sub.pr_author, "pete");
        let again = app.submit_deliverable(&d.expert, &d.opportunity_id, pr(8)).await;
        assert!(kind(&again).starts_with("409") && kind(&again).contains("submitted"), "{}", kind(&again));
    }

    async fn changes_then_approval_completes_the_opportunity_once(t) {
        let app = App::local(t.db.clone(), AppConfig::default());
        let d = deal(&app).await;
        let sub = app.submit_deliverable(&d.expert, &d.opportunity_id, pr(7)).await.expect("submit");

        let before = snapshot(&app.db).await;
        for (who, actor, want) in [("expert", &d.expert, "403"), ("rival", &d.rival, "403"), ("outsider", &d.outsider, "404"), ("demo", &d.demo, "demo")] {
            let got = kind(&app.review_deliverable(actor, &sub.id, decide(ReviewDecision::Approve, None)).await);
            assert_eq!(got, want, "{who}");
        }
        let no_notes = app.review_deliverable(&d.client, &sub.id, decide(ReviewDecision::RequestChanges, Some("  "))).await;
        assert_eq!(kind(&no_notes), "422 notes");
        assert_eq!(snapshot(&app.db).await, before, "refusals wrote something");

        let changes = app
            .review_deliverable(&d.client, &sub.id, decide(ReviewDecision::RequestChanges, Some("Add the NFR section")))
            .await
            .expect("changes");
        assert_eq!(changes.status, DeliverableStatus::ChangesRequested);
        let early = app.review_deliverable(&d.client, &sub.id, decide(ReviewDecision::Approve, None)).await;
        assert!(kind(&early).contains("changes_requested"), "{}", kind(&early));

        let again = app.submit_deliverable(&d.expert, &d.opportunity_id, pr(9)).await.expect("resubmit");
        assert_eq!((again.id.as_str(), again.status, again.pr_number), (sub.id.as_str(), DeliverableStatus::Submitted, 9));
        assert_eq!(deliverable::Entity::find().all(&app.db).await.expect("rows").len(), 1, "the round reuses its row");

        let ok = app.review_deliverable(&d.client, &sub.id, decide(ReviewDecision::Approve, None)).await.expect("approve");
        assert_eq!(ok.status, DeliverableStatus::Approved);
        assert!(ok.approved_at.is_some());
        let opp = opportunity::Entity::find_by_id(&d.opportunity_id).one(&app.db).await.expect("read").expect("opp");
        assert_eq!(opp.status, OpportunityStatus::Completed.as_db());

        let after = snapshot(&app.db).await;
        let twice = app.review_deliverable(&d.client, &sub.id, decide(ReviewDecision::Approve, None)).await.expect("again");
        assert_eq!(twice, ok, "a repeated approval answers the same deliverable");
        assert_eq!(snapshot(&app.db).await, after, "a repeated approval changes nothing");
        let late = app.review_deliverable(&d.client, &sub.id, decide(ReviewDecision::Reject, Some("no"))).await;
        assert!(kind(&late).contains("approved"), "{}", kind(&late));
        let closed = app.submit_deliverable(&d.expert, &d.opportunity_id, pr(10)).await;
        assert!(kind(&closed).contains("completed"), "{}", kind(&closed));
    }

    async fn rejecting_reopens_the_opportunity_and_drops_the_unfunded_escrow(t) {
        let app = App::local(t.db.clone(), AppConfig::default());
        let d = deal(&app).await;
        let sub = app.submit_deliverable(&d.expert, &d.opportunity_id, pr(7)).await.expect("submit");
        let rejected = app
            .review_deliverable(&d.client, &sub.id, decide(ReviewDecision::Reject, Some("Not a PRD at all")))
            .await
            .expect("reject");
        assert_eq!(rejected.status, DeliverableStatus::Rejected);
        let opp = opportunity::Entity::find_by_id(&d.opportunity_id).one(&app.db).await.expect("read").expect("opp");
        assert_eq!((opp.status.as_str(), opp.accepted_bid_id.as_deref()), (OpportunityStatus::Open.as_db(), None));
        let b = bid::Entity::find_by_id(&d.bid_id).one(&app.db).await.expect("read").expect("bid");
        assert_eq!(b.status, BidStatus::Rejected.as_db());
        assert!(escrow::Entity::find().all(&app.db).await.expect("escrows").is_empty(), "the unfunded escrow is gone");
        let gone = app.submit_deliverable(&d.expert, &d.opportunity_id, pr(8)).await;
        assert_eq!(kind(&gone), "403", "the rejected expert no longer delivers");
        let listed = app.list_deliverables(&d.client, &d.opportunity_id).await.expect("list");
        assert_eq!(listed.len(), 1);
        assert_eq!(kind(&app.list_deliverables(&d.outsider, &d.opportunity_id).await), "404");
        assert!(app.list_deliverables(&d.rival, &d.opportunity_id).await.expect("rival's own").is_empty());
    }

    async fn a_funded_escrow_survives_a_rejection_for_the_refund(t) {
        let app = App::local(t.db.clone(), AppConfig::default());
        let d = deal(&app).await;
        let e = escrow::Entity::find().one(&app.db).await.expect("read").expect("escrow");
        let mut am = e.into_active_model();
        am.status = Set(EscrowStatus::Funded.as_db().into());
        am.transaction_hash = Set(Some("0xabc".into()));
        am.update(&app.db).await.expect("fund");
        let sub = app.submit_deliverable(&d.expert, &d.opportunity_id, pr(7)).await.expect("submit");
        app.review_deliverable(&d.client, &sub.id, decide(ReviewDecision::Reject, Some("Missed the brief"))).await.expect("reject");
        let kept = escrow::Entity::find().all(&app.db).await.expect("escrows");
        assert_eq!(kept.len(), 1);
        assert_eq!(kept[0].status, EscrowStatus::Funded.as_db());
        assert!(kept[0].rejected_at.is_some(), "the refund window opens");
    }

    async fn ratings_follow_completed_work_once_per_stage_and_feed_the_profile(t) {
        let app = App::local(t.db.clone(), AppConfig::default());
        let d = deal(&app).await;
        let rate = |stars: i64, feedback: Option<&str>| NewRating {
            expert: "pete".into(),
            stage: Stage::Pm,
            rating: stars,
            feedback: feedback.map(str::to_string),
        };
        let early = app.rate_expert(&d.client, &d.project_id, rate(5, None)).await;
        assert!(kind(&early).starts_with("409") && kind(&early).contains("completed no pm work"), "{}", kind(&early));
        let sub = app.submit_deliverable(&d.expert, &d.opportunity_id, pr(7)).await.expect("submit");
        app.review_deliverable(&d.client, &sub.id, decide(ReviewDecision::Approve, None)).await.expect("approve");

        let before = snapshot(&app.db).await;
        for (who, actor, want) in [("expert", &d.expert, "403"), ("outsider", &d.outsider, "404"), ("demo", &d.demo, "demo"), ("admin", &d.admin, "404")] {
            assert_eq!(kind(&app.rate_expert(actor, &d.project_id, rate(5, None)).await), want, "{who}");
        }
        assert_eq!(kind(&app.rate_expert(&d.client, &d.project_id, rate(6, None)).await), "422 rating");
        let long = "x".repeat(501);
        assert_eq!(kind(&app.rate_expert(&d.client, &d.project_id, rate(4, Some(&long))).await), "422 feedback");
        let rival = NewRating { expert: "rita".into(), ..rate(4, None) };
        assert!(kind(&app.rate_expert(&d.client, &d.project_id, rival).await).starts_with("409"));
        let nobody = NewRating { expert: "ghost".into(), ..rate(4, None) };
        assert_eq!(kind(&app.rate_expert(&d.client, &d.project_id, nobody).await), "422 expert");
        assert_eq!(snapshot(&app.db).await, before, "refusals wrote something");

        let r = app.rate_expert(&d.client, &d.project_id, rate(4, Some("Clear PRD"))).await.expect("rate");
        assert_eq!((r.rating, r.stage), (4, Stage::Pm));
        let twice = app.rate_expert(&d.client, &d.project_id, rate(5, None)).await;
        assert!(kind(&twice).contains("already rated"), "{}", kind(&twice));

        let profile = app.expert_profile(&d.outsider, "pete").await.expect("profile");
        assert_eq!((profile.overall.count, profile.overall.average.as_deref()), (1, Some("4.0")));
        assert_eq!(profile.completed_engagements, 1);
        assert_eq!(profile.stages.len(), 1);
        assert_eq!(profile.recent[0].feedback.as_deref(), Some("Clear PRD"));
        assert_eq!(profile.recent[0].client, None, "clients stay unnamed below five ratings");
        assert_eq!(kind(&app.expert_profile(&d.client, "ghost").await), "404");
        assert_eq!(app.project_ratings(&d.client, &d.project_id).await.expect("list").len(), 1);
        assert_eq!(kind(&app.project_ratings(&d.expert, &d.project_id).await), "404");
    }
}

fn doc(name: &str, mime: &str, bytes: &[u8]) -> NewDocument {
    NewDocument {
        filename: name.into(),
        document_type: "wireframes".into(),
        content_type: mime.into(),
        bytes: bytes.to_vec(),
    }
}

/// Files in the store's directory (recursively).
fn stored_files(dir: &std::path::Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else { return 0 };
    entries.flatten().map(|e| if e.path().is_dir() { stored_files(&e.path()) } else { 1 }).sum()
}

backend_tests! {
    async fn documents_are_kept_by_content_for_the_projects_parties_only(t) {
        let dir = std::env::temp_dir().join(format!("baton-docs-{}", new_id()));
        let config = AppConfig { documents_url: Some(format!("file://{}", dir.display())), documents_max_bytes: 64, ..AppConfig::default() };
        let app = App::local(t.db.clone(), config);
        let d = deal(&app).await;
        let reader = user_with(&app, "rory", false, &[Role::Developer]).await;
        product_member::ActiveModel {
            id: Set(new_id()),
            product_id: Set(d.project_id.clone()),
            user_id: Set(reader.user_id.clone()),
            access: Set("READ_ONLY".into()),
            created_at: Set(now()),
            ..Default::default()
        }
        .insert(&app.db)
        .await
        .expect("member");
        let png = b"\x89PNG\r\n\x1a\nimage";
        let before = format!("{:?}", document::Entity::find().all(&app.db).await.expect("docs"));
        for (who, actor, want) in [("rival", &d.rival, "404"), ("outsider", &d.outsider, "404"), ("demo", &d.demo, "demo"), ("read-only member", &reader, "403")] {
            assert_eq!(kind(&app.upload_document(actor, &d.project_id, doc("a.png", "image/png", png)).await), want, "{who}");
        }
        let bad: [(NewDocument, &str); 5] = [
            (doc("../a.png", "image/png", png), "422 filename"),
            (doc("a.png", "image/png", b"<script>alert(1)</script>"), "422 content_type"),
            (doc("a.html", "text/html", b"<p>"), "422 content_type"),
            (doc("big.md", "text/markdown", &[b'a'; 65]), "422 file"),
            (NewDocument { document_type: "invoice".into(), ..doc("a.png", "image/png", png) }, "422 document_type"),
        ];
        for (input, want) in bad {
            assert_eq!(kind(&app.upload_document(&d.client, &d.project_id, input).await), want);
        }
        assert_eq!(format!("{:?}", document::Entity::find().all(&app.db).await.expect("docs")), before, "refusals wrote rows");
        assert_eq!(stored_files(&dir), 0, "refusals stored files");

        let mine = app.upload_document(&d.client, &d.project_id, doc("wire.png", "image/png", png)).await.expect("client");
        let theirs = app.upload_document(&d.expert, &d.project_id, doc("same.png", "image/png", png)).await.expect("expert");
        assert_eq!(mine.sha256, theirs.sha256);
        assert_eq!(stored_files(&dir), 1, "the same bytes are stored once");
        let notes = app.upload_document(&d.expert, &d.project_id, doc("n.md", "text/markdown; charset=utf-8", "# Notes é".as_bytes())).await.expect("md");
        assert_eq!((notes.mime_type.as_str(), notes.size), ("text/markdown", 10));
        assert_eq!(stored_files(&dir), 2);

        let listed = app.list_documents(&reader, &d.project_id, Some("WIREFRAMES")).await.expect("reader lists");
        assert_eq!(listed.len(), 3);
        assert_eq!(kind(&app.list_documents(&d.outsider, &d.project_id, None).await), "404");
        let file = app.download_document(&reader, &theirs.id).await.expect("download");
        assert_eq!((file.bytes.as_slice(), file.meta.filename.as_str()), (&png[..], "same.png"));
        assert_eq!(kind(&app.download_document(&d.rival, &theirs.id).await), "404");

        assert_eq!(kind(&app.delete_document(&d.expert, &mine.id).await), "403", "not the uploader, not the client");
        assert_eq!(kind(&app.delete_document(&reader, &mine.id).await), "403");
        app.delete_document(&d.client, &theirs.id).await.expect("the client deletes any");
        assert_eq!(stored_files(&dir), 2, "the object stays while another row uses it");
        app.delete_document(&d.client, &mine.id).await.expect("own");
        assert_eq!(stored_files(&dir), 1, "the last row takes its object with it");
        assert_eq!(kind(&app.download_document(&d.client, &mine.id).await), "404");
        let _ = std::fs::remove_dir_all(&dir);
    }

    async fn without_a_store_documents_answer_unavailable(t) {
        let app = App::local(t.db.clone(), AppConfig::default());
        let d = deal(&app).await;
        let got = app.upload_document(&d.client, &d.project_id, doc("a.md", "text/markdown", b"# a")).await;
        assert!(matches!(got, Err(AppError::Unavailable(_))), "{got:?}");
        assert!(document::Entity::find().all(&app.db).await.expect("docs").is_empty());
    }
}
