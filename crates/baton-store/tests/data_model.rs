//! The data model on both backends: every entity agrees with its table (a
//! full row of every table round-trips unchanged, Rust types included), and
//! the constraints and delete rules of docs/data-model.md hold.

use baton_store::entities::*;
use baton_store::{Db, StoreError, new_id, now};
use baton_testkit::backend_tests;
use chrono::NaiveDate;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, PaginatorTrait, QueryFilter,
};
use serde_json::json;

/// Inserts a model with every column set as given, checks that reading it
/// back by id returns exactly the same model, and returns it.
macro_rules! put {
    ($db:expr, $m:ident, $model:expr) => {{
        let model: $m::Model = $model;
        model.clone().into_active_model().reset_all().insert($db).await.expect(concat!("insert ", stringify!($m)));
        let read = $m::Entity::find_by_id(model.id.clone())
            .one($db)
            .await
            .expect(concat!("read ", stringify!($m)))
            .expect(concat!(stringify!($m), " row"));
        assert_eq!(read, model, concat!(stringify!($m), " must round-trip unchanged"));
        model
    }};
}

/// Inserts a model and returns the store's classified error, if any.
macro_rules! try_put {
    ($db:expr, $m:ident, $model:expr) => {{
        let model: $m::Model = $model;
        model.into_active_model().reset_all().insert($db).await.map(|_| ()).map_err(StoreError::from)
    }};
}

fn user(name: &str) -> user::Model {
    let t = now();
    user::Model {
        id: new_id(),
        username: name.to_string(),
        email: Some(format!("{name}@example.com")),
        name: Some(name.to_uppercase()),
        password_hash: "argon2id$test".into(),
        is_demo: false,
        bio: None,
        bio_detail: None,
        must_reset_password: false,
        avatar_data: Some(vec![0, 1, 254, 255]),
        avatar_url: None,
        github_username: Some(format!("gh-{name}")),
        active_product_id: None,
        idea_code_counter: 0,
        min_quota_pct: 20,
        disabled_at: None,
        created_at: t,
        updated_at: t,
    }
}

fn product(owner: &user::Model, name: &str) -> product::Model {
    let t = now();
    product::Model {
        id: new_id(),
        user_id: owner.id.clone(),
        name: name.to_string(),
        code: Some(name.to_uppercase()),
        description: Some("A product".into()),
        repo_url: Some("https://git.example.com/acme/app".into()),
        definition_of_done: "Tests pass".into(),
        auto_pr: true,
        pr_strategy: "SPRINT_BATCH".into(),
        archived: false,
        preferred_model: None,
        thinking_budget_default: Some(6000),
        preferred_permission_mode: None,
        min_quota_pct: None,
        kind: "APP".into(),
        auto_pr_review: false,
        auto_task_review: false,
        auto_plan_review: true,
        auto_materialize_plan: true,
        auto_deploy: false,
        deploy_flow: None,
        enabled_doc_folders: Some(json!(["PLANS", "GRILLS"])),
        content_policy: None,
        project_status: Some("PLANNING".into()),
        current_stage: Some("PM".into()),
        brief: Some(json!({"problem": "slow invoicing", "users": ["freelancers"]})),
        repo_name: Some("acme/app".into()),
        dev_budget_min: 60_000,
        dev_budget_max: 120_000,
        qa_budget_min: 10_000,
        qa_budget_max: 25_000,
        story_budget_currency: "USDC_SPL".into(),
        concerns_policy: "PROCEED".into(),
        validation_threshold: 9,
        last_pbi_number: 7,
        last_story_number: 42,
        last_task_number: 99,
        last_sprint_number: 3,
        created_at: t,
        updated_at: t,
    }
}

fn sprint(p: &product::Model, code: &str) -> sprint::Model {
    let t = now();
    sprint::Model {
        id: new_id(),
        product_id: p.id.clone(),
        code: code.into(),
        sprint_goal: "Ship export".into(),
        status: "OPEN".into(),
        start_date: NaiveDate::from_ymd_opt(2026, 5, 4),
        end_date: NaiveDate::from_ymd_opt(2026, 5, 15),
        created_at: t,
        updated_at: t,
        completed_at: None,
    }
}

fn pbi(p: &product::Model, code: &str) -> pbi::Model {
    let t = now();
    pbi::Model {
        id: new_id(),
        product_id: p.id.clone(),
        code: code.into(),
        title: "Export backlog".into(),
        description: None,
        priority: 2,
        sort_order: 1.5,
        status: "READY".into(),
        pr_url: None,
        pr_merged_at: None,
        epic_number: Some(1),
        created_at: t,
        updated_at: t,
    }
}

fn story(b: &pbi::Model, code: &str, sprint_id: Option<&str>, assignee: Option<&str>) -> story::Model {
    let t = now();
    story::Model {
        id: new_id(),
        pbi_id: b.id.clone(),
        product_id: b.product_id.clone(),
        sprint_id: sprint_id.map(str::to_string),
        assignee_id: assignee.map(str::to_string),
        code: code.into(),
        title: "Download button".into(),
        description: Some("As a member I want a button".into()),
        acceptance_criteria: Some("- visible\n- works".into()),
        priority: 2,
        sort_order: 0.25,
        status: if sprint_id.is_some() { "IN_SPRINT" } else { "OPEN" }.into(),
        epic_number: None,
        story_number: None,
        workflow_status: None,
        assigned_dev_id: None,
        assigned_qa_id: None,
        dev_pr_url: None,
        dev_pr_number: None,
        dev_pr_author: None,
        story_file: None,
        validated_at: None,
        validated_by: None,
        validation_score: None,
        qa_gate_path: None,
        qa_gate_status: None,
        qa_reviewed_at: None,
        qa_review_count: 0,
        validation_decision: None,
        qa_quality_score: None,
        qa_notes: None,
        can_start_in_parallel: true,
        created_at: t,
        updated_at: t,
    }
}

fn task(s: &story::Model, code: &str) -> task::Model {
    let t = now();
    task::Model {
        id: new_id(),
        story_id: s.id.clone(),
        product_id: s.product_id.clone(),
        sprint_id: s.sprint_id.clone(),
        code: code.into(),
        title: "Add export route".into(),
        description: None,
        implementation_plan: Some("1. Create `src/export.rs`".into()),
        priority: 2,
        sort_order: 1.0,
        status: "TO_DO".into(),
        verify_only: false,
        verify_required: "ALIGNED_OR_PARTIAL".into(),
        requires_opus: false,
        repo_url: None,
        created_at: t,
        updated_at: t,
    }
}

fn job(
    u: &user::Model,
    p: &product::Model,
    task_id: Option<&str>,
    run_id: Option<&str>,
    seq: Option<i32>,
) -> job::Model {
    let t = now();
    job::Model {
        id: new_id(),
        user_id: u.id.clone(),
        product_id: p.id.clone(),
        task_id: task_id.map(str::to_string),
        idea_id: None,
        sprint_run_id: run_id.map(str::to_string),
        sprint_sequence: seq,
        kind: "TASK_IMPLEMENTATION".into(),
        status: "QUEUED".into(),
        runtime: "CLAUDE".into(),
        source: "SYSTEM".into(),
        required_capability: None,
        claimed_by_token_id: None,
        claimed_at: None,
        worker_instance_id: None,
        lease_until: None,
        retry_count: 0,
        started_at: None,
        finished_at: None,
        pushed_at: None,
        verify_result: None,
        plan_snapshot: None,
        base_sha: None,
        head_sha: None,
        branch: None,
        pr_url: None,
        summary: None,
        error: None,
        model_id: None,
        input_tokens: None,
        output_tokens: None,
        cache_read_tokens: None,
        cache_write_tokens: None,
        actual_thinking_tokens: None,
        requested_model: None,
        requested_thinking_budget: None,
        requested_permission_mode: None,
        created_at: t,
        updated_at: t,
    }
}

fn sprint_run(s: &sprint::Model, by: &user::Model, previous: Option<&str>) -> sprint_run::Model {
    let t = now();
    sprint_run::Model {
        id: new_id(),
        sprint_id: s.id.clone(),
        started_by_id: by.id.clone(),
        status: "QUEUED".into(),
        pr_strategy: "SPRINT_BATCH".into(),
        branch: Some("feat/sprint-1234abcd".into()),
        pr_url: None,
        started_at: Some(t),
        finished_at: None,
        failure_reason: None,
        failed_task_id: None,
        pause_context: None,
        previous_run_id: previous.map(str::to_string),
        created_at: t,
        updated_at: t,
    }
}

fn idea(u: &user::Model, p: Option<&product::Model>, code: &str) -> idea::Model {
    let t = now();
    idea::Model {
        id: new_id(),
        user_id: u.id.clone(),
        product_id: p.map(|p| p.id.clone()),
        code: code.into(),
        title: "CSV export".into(),
        description: Some("Let users download the backlog".into()),
        grill_md: None,
        plan_md: None,
        plan_review_log: None,
        pbi_id: None,
        build_sprint_id: None,
        build_sprint_run_id: None,
        status: "DRAFT".into(),
        archived: false,
        created_at: t,
        updated_at: t,
    }
}

fn question(p: &product::Model, asker: &user::Model, story_id: Option<&str>, idea_id: Option<&str>) -> question::Model {
    let t = now();
    question::Model {
        id: new_id(),
        story_id: story_id.map(str::to_string),
        task_id: None,
        idea_id: idea_id.map(str::to_string),
        product_id: p.id.clone(),
        asked_by: asker.id.clone(),
        question: "Which format?".into(),
        options: Some(json!(["csv", "xlsx"])),
        status: "OPEN".into(),
        answer: None,
        answered_by: None,
        answered_at: None,
        created_at: t,
        expires_at: t + chrono::Duration::hours(24),
    }
}

fn opportunity(p: &product::Model, story_id: Option<&str>) -> opportunity::Model {
    let t = now();
    opportunity::Model {
        id: new_id(),
        product_id: p.id.clone(),
        story_id: story_id.map(str::to_string),
        stage: if story_id.is_some() { "DEVELOPER" } else { "PM" }.into(),
        title: "Write the PRD".into(),
        description: "BMAD PRD, sharded".into(),
        budget_min: 80_000,
        budget_max: 150_000,
        currency: "USDC".into(),
        deadline: Some(t + chrono::Duration::days(14)),
        status: "OPEN".into(),
        accepted_bid_id: None,
        created_at: t,
        updated_at: t,
    }
}

fn bid(o: &opportunity::Model, expert: &user::Model) -> bid::Model {
    let t = now();
    bid::Model {
        id: new_id(),
        opportunity_id: o.id.clone(),
        expert_id: expert.id.clone(),
        amount: 120_000,
        currency: "USDC".into(),
        proposal: "I have written twenty PRDs in BMAD format.".into(),
        estimated_hours: Some(30),
        status: "PENDING".into(),
        created_at: t,
        updated_at: t,
    }
}

fn escrow(
    p: &product::Model,
    o: Option<&opportunity::Model>,
    client: &user::Model,
    expert: &user::Model,
) -> escrow::Model {
    let t = now();
    escrow::Model {
        id: new_id(),
        product_id: p.id.clone(),
        opportunity_id: o.map(|o| o.id.clone()),
        client_id: client.id.clone(),
        expert_id: expert.id.clone(),
        // More than u64 can hold: amounts are decimal strings for a reason.
        amount: "340282366920938463463374607431768211455".into(),
        currency: "MATIC".into(),
        blockchain: "POLYGON".into(),
        platform_fee_bps: 500,
        platform_fee_flat: "0".into(),
        status: "PENDING".into(),
        contract_address: "0x1111111111111111111111111111111111111111".into(),
        transaction_hash: None,
        release_transaction_hash: None,
        refund_transaction_hash: None,
        funded_at: None,
        released_at: None,
        refunded_at: None,
        created_at: t,
        updated_at: t,
        release_approved_at: None,
        rejected_at: None,
        refund_reason: None,
        checked_at: None,
        check_result: None,
        check_confirmations: None,
        check_attempts: 0,
        next_check_at: None,
    }
}

/// Asserts that an insert was refused by a CHECK constraint (and not, say,
/// by a foreign key), naming the constraint on both backends.
fn assert_check(res: Result<(), StoreError>, constraint: &str) {
    let err = res.expect_err("the CHECK must refuse the row");
    let msg = err.to_string();
    assert!(
        matches!(err, StoreError::Db(_)) && msg.to_lowercase().contains("check constraint") && msg.contains(constraint),
        "expected CHECK {constraint}, got {msg}"
    );
}

async fn count<E: EntityTrait>(db: &Db) -> u64
where
    E::Model: Sync,
{
    E::find().count(db).await.expect("count")
}

backend_tests! {
    async fn a_full_row_of_every_table_round_trips(t) {
        let db = &t.db;
        let ts = now();
        let owner = put!(db, user, user("owner"));
        let dev = put!(db, user, user("dev"));
        let p = put!(db, product, product(&owner, "shop"));
        let token = put!(db, api_token, api_token::Model {
            id: new_id(), user_id: dev.id.clone(), token_hash: "a".repeat(64), prefix: "bt_abcd".into(),
            label: Some("laptop".into()), created_at: ts, expires_at: None, last_used_at: None, revoked_at: None,
        });
        let sp = put!(db, sprint, sprint(&p, "SP-1"));
        let b = put!(db, pbi, pbi(&p, "PBI-1"));
        let s = put!(db, story, story::Model {
            epic_number: Some(1),
            story_number: Some("11b".into()),
            workflow_status: Some("READY_FOR_REVIEW".into()),
            assigned_dev_id: Some(dev.id.clone()),
            assigned_qa_id: Some(owner.id.clone()),
            dev_pr_url: Some("https://github.com/acme/app/pull/7".into()),
            dev_pr_number: Some(7),
            dev_pr_author: Some("gh-dev".into()),
            story_file: Some("docs/stories/1.11b.export.md".into()),
            validated_at: Some(ts),
            validated_by: Some(owner.id.clone()),
            validation_score: Some(9),
            qa_gate_path: Some("docs/qa/gates/1.11b-export.yml".into()),
            qa_gate_status: Some("CONCERNS".into()),
            qa_reviewed_at: Some(ts),
            qa_review_count: 2,
            ..story(&b, "ST-001", Some(&sp.id), Some(&dev.id))
        });
        put!(db, story_log, story_log::Model {
            id: new_id(), story_id: s.id.clone(), r#type: "TEST_RESULT".into(), content: "42 passed".into(),
            status: Some("PASSED".into()), commit_hash: None, commit_message: None,
            metadata: Some(json!({"agent": "claude", "model_id": "claude-opus-4-7"})), created_at: ts,
        });
        let tk = put!(db, task, task(&s, "T-1"));
        let run = put!(db, sprint_run, sprint_run::Model {
            pause_context: Some(json!({"pause_reason": "QUOTA_DEPLETED", "conflict_files": []})),
            failed_task_id: Some(tk.id.clone()),
            ..sprint_run(&sp, &owner, None)
        });
        let i = put!(db, idea, idea::Model {
            pbi_id: Some(b.id.clone()),
            build_sprint_id: Some(sp.id.clone()),
            build_sprint_run_id: Some(run.id.clone()),
            plan_review_log: Some(json!([{"round": 1, "verdict": "APPROVED"}])),
            ..idea(&owner, Some(&p), "IDEA-001")
        });
        put!(db, idea_product, idea_product::Model { id: new_id(), idea_id: i.id.clone(), product_id: p.id.clone(), created_at: ts });
        put!(db, idea_log, idea_log::Model {
            id: new_id(), idea_id: i.id.clone(), r#type: "JOB_EVENT".into(), content: "IDEA_GRILL queued".into(),
            metadata: None, created_at: ts,
        });
        put!(db, user_question, user_question::Model {
            id: new_id(), idea_id: i.id.clone(), user_id: owner.id.clone(), question: "Who pays?".into(),
            answer: None, status: "PENDING".into(), created_at: ts, updated_at: ts,
        });
        let j = put!(db, job, job::Model {
            kind: "SPRINT_IMPLEMENTATION".into(),
            status: "CLAIMED".into(),
            claimed_by_token_id: Some(token.id.clone()),
            claimed_at: Some(ts),
            lease_until: Some(ts + chrono::Duration::minutes(5)),
            worker_instance_id: Some("mcp-host-42".into()),
            verify_result: Some("ALIGNED".into()),
            input_tokens: Some(12_000_000_000),
            cache_read_tokens: Some(3),
            requested_thinking_budget: Some(24_000),
            ..job(&dev, &p, None, Some(&run.id), None)
        });
        put!(db, sprint_task_execution, sprint_task_execution::Model {
            id: new_id(), sprint_job_id: j.id.clone(), task_id: tk.id.clone(), run_order: 0,
            plan_snapshot: "frozen plan".into(), verify_required_snapshot: "ANY".into(), verify_only_snapshot: true,
            base_sha: Some("0".repeat(40)), head_sha: None, status: "PENDING".into(), verify_result: None,
            verify_summary: None, skip_reason: None, started_at: None, finished_at: None, created_at: ts, updated_at: ts,
        });
        put!(db, worker, worker::Model {
            id: new_id(), user_id: dev.id.clone(), token_id: token.id.clone(), instance_id: "mcp-host-42".into(),
            product_id: Some(p.id.clone()), runtime: "CODEX".into(), capabilities: Some(json!(["review", "deploy"])),
            tier: "HIGH_P".into(), hostname: Some("host".into()), pid: Some(42), started_at: ts, last_seen_at: ts,
            last_quota_pct: Some(55), last_quota_check_at: Some(ts),
        });
        put!(db, question, question(&p, &dev, Some(&s.id), None));
        put!(db, question, question(&p, &owner, None, Some(&i.id)));
        put!(db, model_price, model_price::Model {
            id: new_id(), model_id: "claude-opus-4-7".into(), runtime: "CLAUDE".into(), provider: "anthropic".into(),
            billing_mode: "API".into(), billing_unit: "USD".into(), service_tier: "standard".into(),
            input_price_per_1m_micros: 15_000_000, output_price_per_1m_micros: 75_000_000,
            cache_read_price_per_1m_micros: 1_500_000, cache_write_price_per_1m_micros: 18_750_000,
            currency: "USD".into(), effective_from: Some(ts), source_url: None, notes: Some("list price".into()),
            created_at: ts, updated_at: ts,
        });
        put!(db, login_pairing, login_pairing::Model {
            id: new_id(), secret_hash: "b".repeat(64), desktop_token_hash: "c".repeat(64), status: "APPROVED".into(),
            user_id: Some(owner.id.clone()), desktop_ua: Some("Firefox".into()), desktop_ip: Some("2001:db8::1".into()),
            created_at: ts, expires_at: ts + chrono::Duration::minutes(2), approved_at: Some(ts), consumed_at: None,
        });
        put!(db, push_subscription, push_subscription::Model {
            id: new_id(), user_id: owner.id.clone(), endpoint: "https://push.example.com/abc".into(),
            p256dh: "key".into(), auth: "auth".into(), user_agent: None, app_scope: "baton".into(),
            created_at: ts, last_used_at: ts,
        });
        let o = put!(db, opportunity, opportunity(&p, None));
        let bd = put!(db, bid, bid(&o, &dev));
        put!(db, opportunity, opportunity::Model { accepted_bid_id: Some(bd.id.clone()), ..opportunity(&p, Some(&s.id)) });
        put!(db, deliverable, deliverable::Model {
            id: new_id(), opportunity_id: Some(o.id.clone()), story_id: None, expert_id: dev.id.clone(), stage: "PM".into(),
            pr_url: "https://github.com/acme/app/pull/3".into(), pr_number: 3, pr_author: "gh-dev".into(),
            status: "SUBMITTED".into(), review_notes: None, submitted_at: ts, reviewed_at: None, approved_at: None,
        });
        put!(db, escrow, escrow::Model { transaction_hash: Some(format!("0x{}", "d".repeat(64))), ..escrow(&p, Some(&o), &owner, &dev) });
        put!(db, wallet, wallet::Model {
            id: new_id(), user_id: dev.id.clone(), blockchain: "SOLANA".into(),
            address: "So11111111111111111111111111111111111111112".into(), verified_at: None, created_at: ts,
        });
        put!(db, document, document::Model {
            id: new_id(), product_id: p.id.clone(), uploaded_by_id: owner.id.clone(), filename: "wireframe.png".into(),
            storage_path: "projects/x/wireframes/wireframe.png".into(), mime_type: "image/png".into(),
            size: 5_000_000_000, document_type: "wireframes".into(), created_at: ts,
        });
        put!(db, rating, rating::Model {
            id: new_id(), product_id: p.id.clone(), expert_id: dev.id.clone(), client_id: owner.id.clone(),
            stage: "PM".into(), rating: 5, feedback: Some("Great".into()), created_at: ts,
        });
        put!(db, mcp_session, mcp_session::Model {
            id: new_id(), state_hash: "e".repeat(64), user_id: Some(owner.id.clone()), token_id: Some(token.id.clone()),
            expires_at: ts + chrono::Duration::minutes(10), consumed_at: None, created_at: ts,
        });
        put!(db, github_installation, github_installation::Model {
            id: new_id(), installation_id: 9_000_000_000, account_id: 1234, account_login: "acme".into(), created_at: ts,
        });
        put!(db, story_audit_log, story_audit_log::Model {
            id: new_id(), story_id: s.id.clone(), user_id: None, action: "STATUS_CHANGED".into(),
            from_status: Some("IN_PROGRESS".into()), to_status: Some("READY_FOR_REVIEW".into()),
            metadata: Some(json!({"delivery": "abc-123"})), created_at: ts,
        });
    }

    async fn codes_are_unique_per_product_and_reported_as_unique_violations(t) {
        let db = &t.db;
        let owner = put!(db, user, user("owner"));
        let p1 = put!(db, product, product(&owner, "one"));
        let p2 = put!(db, product, product(&owner, "two"));
        let b1 = put!(db, pbi, pbi(&p1, "PBI-1"));
        let b2 = put!(db, pbi, pbi(&p2, "PBI-1"));
        put!(db, story, story(&b1, "ST-001", None, None));
        // The same code in another product is fine.
        put!(db, story, story(&b2, "ST-001", None, None));
        let err = try_put!(db, story, story(&b1, "ST-001", None, None)).expect_err("duplicate story code");
        assert!(matches!(err, StoreError::Unique(_)), "{err:?}");
        assert_eq!(err.unique_index(), Some("stories_product_id_code_key"), "both backends name the index: {err:?}");

        let s = put!(db, story, story(&b1, "ST-002", None, None));
        put!(db, task, task(&s, "T-1"));
        assert!(matches!(try_put!(db, task, task(&s, "T-1")), Err(StoreError::Unique(_))));
        assert!(matches!(try_put!(db, pbi, pbi(&p1, "PBI-1")), Err(StoreError::Unique(_))));
        put!(db, sprint, sprint(&p1, "SP-1"));
        assert!(matches!(try_put!(db, sprint, sprint(&p1, "SP-1")), Err(StoreError::Unique(_))));
        put!(db, idea, idea(&owner, None, "IDEA-001"));
        assert!(matches!(try_put!(db, idea, idea(&owner, Some(&p1), "IDEA-001")), Err(StoreError::Unique(_))));

        // A BMAD story key is unique per product too.
        let bmad = |code: &str| story::Model { epic_number: Some(1), story_number: Some("3".into()), ..story(&b1, code, None, None) };
        put!(db, story, bmad("ST-010"));
        let err = try_put!(db, story, bmad("ST-011")).expect_err("duplicate story 1.3");
        assert_eq!(err.unique_index(), Some("stories_product_id_epic_number_story_number_key"), "{err:?}");
    }

    async fn deleting_a_product_cascades_to_its_whole_backlog(t) {
        let db = &t.db;
        let owner = put!(db, user, user("owner"));
        let keep = put!(db, product, product(&owner, "keep"));
        let gone = put!(db, product, product(&owner, "gone"));
        for p in [&keep, &gone] {
            let sp = put!(db, sprint, sprint(p, "SP-1"));
            let b = put!(db, pbi, pbi(p, "PBI-1"));
            let s = put!(db, story, story(&b, "ST-001", Some(&sp.id), None));
            let tk = put!(db, task, task(&s, "T-1"));
            let run = put!(db, sprint_run, sprint_run(&sp, &owner, None));
            put!(db, job, job(&owner, p, Some(&tk.id), Some(&run.id), Some(0)));
            put!(db, question, question(p, &owner, Some(&s.id), None));
            put!(db, opportunity, opportunity(p, Some(&s.id)));
        }
        product::Entity::delete_by_id(gone.id.clone()).exec(db).await.expect("delete product");

        assert_eq!(count::<sprint::Entity>(db).await, 1);
        assert_eq!(count::<pbi::Entity>(db).await, 1);
        assert_eq!(count::<story::Entity>(db).await, 1);
        assert_eq!(count::<task::Entity>(db).await, 1);
        assert_eq!(count::<sprint_run::Entity>(db).await, 1);
        assert_eq!(count::<job::Entity>(db).await, 1);
        assert_eq!(count::<question::Entity>(db).await, 1);
        assert_eq!(count::<opportunity::Entity>(db).await, 1);
        let left = story::Entity::find().one(db).await.expect("read").expect("one story");
        assert_eq!(left.product_id, keep.id);
    }

    async fn deleting_a_user_or_sprint_clears_references_without_losing_rows(t) {
        let db = &t.db;
        let owner = put!(db, user, user("owner"));
        let dev = put!(db, user, user("dev"));
        let p = put!(db, product, product(&owner, "shop"));
        let sp = put!(db, sprint, sprint(&p, "SP-1"));
        let b = put!(db, pbi, pbi(&p, "PBI-1"));
        let s = put!(db, story, story::Model {
            assigned_dev_id: Some(dev.id.clone()),
            ..story(&b, "ST-001", Some(&sp.id), Some(&dev.id))
        });
        let tk = put!(db, task, task(&s, "T-1"));
        assert_eq!(tk.sprint_id.as_deref(), Some(sp.id.as_str()));

        user::Entity::delete_by_id(dev.id.clone()).exec(db).await.expect("delete user");
        let s2 = story::Entity::find_by_id(s.id.clone()).one(db).await.expect("read").expect("story kept");
        assert_eq!(s2.assignee_id, None);
        assert_eq!(s2.assigned_dev_id, None);

        // Deleting a sprint returns its stories and tasks to the backlog.
        sprint::Entity::delete_by_id(sp.id.clone()).exec(db).await.expect("delete sprint");
        let s3 = story::Entity::find_by_id(s.id.clone()).one(db).await.expect("read").expect("story kept");
        let t3 = task::Entity::find_by_id(tk.id.clone()).one(db).await.expect("read").expect("task kept");
        assert_eq!((s3.sprint_id, t3.sprint_id), (None, None));
    }

    async fn a_user_with_escrow_history_cannot_be_hard_deleted(t) {
        let db = &t.db;
        let client = put!(db, user, user("client"));
        let expert = put!(db, user, user("expert"));
        let p = put!(db, product, product(&client, "proj"));
        put!(db, escrow, escrow(&p, None, &client, &expert));
        let err = StoreError::from(user::Entity::delete_by_id(expert.id.clone()).exec(db).await.expect_err("refused"));
        assert!(matches!(err, StoreError::ForeignKey(_)), "{err:?}");
        // Nor can the client, whose products would cascade into the escrow.
        let err = StoreError::from(user::Entity::delete_by_id(client.id.clone()).exec(db).await.expect_err("refused"));
        assert!(matches!(err, StoreError::ForeignKey(_)), "{err:?}");
        assert_eq!(count::<escrow::Entity>(db).await, 1);
        assert_eq!(count::<user::Entity>(db).await, 2);
    }

    async fn one_bid_per_expert_and_one_accepted_bid_per_opportunity(t) {
        let db = &t.db;
        let client = put!(db, user, user("client"));
        let expert = put!(db, user, user("expert"));
        let other = put!(db, user, user("other"));
        let p = put!(db, product, product(&client, "proj"));
        let o = put!(db, opportunity, opportunity(&p, None));
        let accepted = put!(db, bid, bid(&o, &expert));
        put!(db, bid, bid(&o, &other));
        let err = try_put!(db, bid, bid(&o, &expert)).expect_err("second bid by the same expert");
        assert_eq!(err.unique_index(), Some("bids_opportunity_id_expert_id_key"), "{err:?}");

        let mut am = o.clone().into_active_model();
        am.accepted_bid_id = sea_orm::Set(Some(accepted.id.clone()));
        am.update(db).await.expect("accept");
        let err = try_put!(db, opportunity, opportunity::Model {
            accepted_bid_id: Some(accepted.id.clone()),
            ..opportunity(&p, None)
        })
        .expect_err("a bid is the accepted bid of one opportunity only");
        assert!(matches!(err, StoreError::Unique(_)), "{err:?}");

        // Deleting the accepted bid clears the opportunity's pointer.
        bid::Entity::delete_by_id(accepted.id.clone()).exec(db).await.expect("delete bid");
        let o2 = opportunity::Entity::find_by_id(o.id.clone()).one(db).await.expect("read").expect("kept");
        assert_eq!(o2.accepted_bid_id, None);
    }

    async fn checks_refuse_invalid_rows(t) {
        let db = &t.db;
        let owner = put!(db, user, user("owner"));
        let p = put!(db, product, product(&owner, "shop"));
        let b = put!(db, pbi, pbi(&p, "PBI-1"));
        let s = put!(db, story, story(&b, "ST-001", None, None));
        let i = put!(db, idea, idea(&owner, Some(&p), "IDEA-001"));
        // A question belongs to exactly one of a story and an idea.
        let xor = "questions_story_id_xor_idea_id_check";
        assert_check(try_put!(db, question, question(&p, &owner, None, None)), xor);
        assert_check(try_put!(db, question, question(&p, &owner, Some(&s.id), Some(&i.id))), xor);
        // So does a deliverable to exactly one of an opportunity and a story.
        let o = put!(db, opportunity, opportunity(&p, None));
        let d = |opp: Option<&str>, story: Option<&str>| deliverable::Model {
            id: new_id(), opportunity_id: opp.map(str::to_string), story_id: story.map(str::to_string),
            expert_id: owner.id.clone(), stage: "DEVELOPER".into(), pr_url: "https://x/pull/1".into(), pr_number: 1,
            pr_author: "x".into(), status: "SUBMITTED".into(), review_notes: None, submitted_at: now(),
            reviewed_at: None, approved_at: None,
        };
        let xor = "deliverables_opportunity_id_xor_story_id_check";
        assert_check(try_put!(db, deliverable, d(Some(&o.id), Some(&s.id))), xor);
        assert_check(try_put!(db, deliverable, d(None, None)), xor);
        put!(db, deliverable, d(None, Some(&s.id)));
        // Ratings run from 1 to 5.
        let r = |n: i32| rating::Model {
            id: new_id(), product_id: p.id.clone(), expert_id: owner.id.clone(), client_id: owner.id.clone(),
            stage: format!("QA{n}"), rating: n, feedback: None, created_at: now(),
        };
        assert_check(try_put!(db, rating, r(0)), "rating");
        assert_check(try_put!(db, rating, r(6)), "rating");
        put!(db, rating, r(5));
        assert_eq!(count::<question::Entity>(db).await, 0);
        assert_eq!(
            deliverable::Entity::find().filter(deliverable::Column::StoryId.eq(s.id.clone())).count(db).await.expect("count"),
            1
        );
    }

    async fn sprint_runs_chain_once_and_jobs_keep_their_order_per_run(t) {
        let db = &t.db;
        let owner = put!(db, user, user("owner"));
        let p = put!(db, product, product(&owner, "shop"));
        let sp = put!(db, sprint, sprint(&p, "SP-1"));
        let first = put!(db, sprint_run, sprint_run(&sp, &owner, None));
        put!(db, sprint_run, sprint_run(&sp, &owner, Some(&first.id)));
        let err = try_put!(db, sprint_run, sprint_run(&sp, &owner, Some(&first.id))).expect_err("a run is resumed once");
        assert_eq!(err.unique_index(), Some("sprint_runs_previous_run_id_key"), "{err:?}");

        put!(db, job, job(&owner, &p, None, Some(&first.id), Some(0)));
        put!(db, job, job(&owner, &p, None, Some(&first.id), Some(1)));
        // Jobs outside a run, or without a sequence, never collide.
        put!(db, job, job(&owner, &p, None, None, None));
        put!(db, job, job(&owner, &p, None, None, None));
        put!(db, job, job(&owner, &p, None, Some(&first.id), None));
        put!(db, job, job(&owner, &p, None, Some(&first.id), None));
        let err = try_put!(db, job, job(&owner, &p, None, Some(&first.id), Some(1))).expect_err("sequence taken");
        assert_eq!(err.unique_index(), Some("jobs_sprint_run_id_sprint_sequence_key"), "{err:?}");
    }

    async fn the_unique_indexes_services_map_exist_and_are_named_alike_on_both_backends(t) {
        let db = &t.db;
        let sql = match t.backend {
            baton_store::Backend::Sqlite => "SELECT name FROM sqlite_master WHERE type = 'index'",
            baton_store::Backend::Postgres => "SELECT indexname AS name FROM pg_indexes WHERE schemaname = 'public'",
        };
        let rows = db
            .query_all_raw(sea_orm::Statement::from_string(db.get_database_backend(), sql))
            .await
            .expect("list indexes");
        let names: Vec<String> = rows.iter().map(|r| r.try_get("", "name").expect("name")).collect();
        for key in baton_store::error::unique::ALL {
            assert!(names.iter().any(|n| n == key), "index {key} exists: {names:?}");
        }
        // A violation of each kind a service maps reports that very name.
        let owner = put!(db, user, user("owner"));
        let err = try_put!(db, user, user::Model {
            id: new_id(),
            email: Some("other@example.com".into()),
            github_username: None,
            ..owner.clone()
        })
            .expect_err("same username");
        assert_eq!(err.unique_index(), Some(baton_store::error::unique::USERS_USERNAME), "{err:?}");
        let err = try_put!(db, user, user::Model {
            id: new_id(),
            username: "other".into(),
            github_username: None,
            ..owner.clone()
        })
        .expect_err("same email");
        assert_eq!(err.unique_index(), Some(baton_store::error::unique::USERS_EMAIL), "{err:?}");
        let p = put!(db, product, product(&owner, "shop"));
        let err = try_put!(db, product, product::Model { id: new_id(), code: Some("OTHER".into()), ..p.clone() })
            .expect_err("same name");
        assert_eq!(err.unique_index(), Some(baton_store::error::unique::PRODUCTS_NAME), "{err:?}");
        let err = try_put!(db, product, product::Model { id: new_id(), name: "other".into(), ..p.clone() })
            .expect_err("same code");
        assert_eq!(err.unique_index(), Some(baton_store::error::unique::PRODUCTS_CODE), "{err:?}");
        // Anything that is not a unique violation names no index.
        assert_eq!(StoreError::from(sea_orm::DbErr::Custom("other".into())).unique_index(), None);
    }
}
