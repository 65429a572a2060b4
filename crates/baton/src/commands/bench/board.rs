//! `baton bench board` (the default of `baton bench`): seeds a big product
//! and measures the two hot paths of the backlog through the real services,
//! with a raw-SQL baseline measured in the same run (so the ratio means
//! something on a noisy machine).
//!
//! * **Seeding**: a product with `--stories` stories (20 per PBI) and
//!   `--tasks` tasks spread evenly over them, written with multi-row inserts
//!   in one transaction (then `ANALYZE` on Postgres, as autovacuum would). Half the stories sit in sprints of
//!   `--board-stories` stories each (the newest one OPEN), the rest in the
//!   backlog.
//! * **Sprint board**: [`App::sprint_board`] for the open sprint plus the JSON
//!   encoding the REST handler does. Baseline: the same two `SELECT`s
//!   through the same pool, rows fetched but not mapped or sorted.
//! * **Task status update**: [`App::update_task_status`] (access check,
//!   product transaction, status propagation story → PBI → sprint → run,
//!   change report, event). Baseline: a bare one-row `UPDATE` in its own
//!   transaction.
//!
//! Every database of the run is measured in turn and reported in one table
//! (or one JSON document with `--json`). The bench product and user are
//! deleted afterwards unless `--keep` is given.

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use baton_app::{
    Actor, App, AppConfig, AuthVia,
    accounts::NewUser,
    sprints::{BOARD_STORIES_SQL, BOARD_TASKS_SQL},
};
use baton_domain::{
    backlog::{PbiStatus, PrStrategy, SprintStatus, StoryStatus, TaskStatus},
    roles::Role,
};
use baton_store::{
    Db,
    db::redact_url,
    entities::{pbi, product, sprint, story, task, user},
    new_id, now,
    sea_orm::{ActiveModelTrait, ActiveValue::Set, ConnectionTrait, EntityTrait, Statement, TransactionTrait, Value},
};

use serde_json::json;

use super::stats::{Stats, ms, ms_f, ratio, verdict};
use crate::cli::{BenchArgs, DbArgs};

/// Stories per PBI in the seeded product.
const STORIES_PER_PBI: usize = 20;
/// Requests run before measuring, to warm caches and the pool.
const WARMUP: usize = 50;
/// Rows per multi-row INSERT (well under both backends' bind limits).
const CHUNK: usize = 500;

/// Targets from the issue.
const BOARD_P99_TARGET: Duration = Duration::from_millis(50);
const UPDATE_P99_TARGET: Duration = Duration::from_millis(10);

struct Seeded {
    product_id: String,
    user_id: String,
    username: String,
    password: String,
    actor: Actor,
    sprint_id: String,
    sprint_tasks: Vec<String>,
    stories: usize,
    tasks: usize,
    board_stories: usize,
    board_tasks: usize,
    took: Duration,
}

pub(super) struct Row {
    pub(super) backend: String,
    pub(super) what: String,
    pub(super) n: usize,
    pub(super) p50: Duration,
    pub(super) p99: Duration,
    pub(super) max: Duration,
    pub(super) note: String,
}

/// Runs the benchmark and prints the table (or JSON) on stdout.
pub async fn run(db: &DbArgs, args: BenchArgs) -> anyhow::Result<()> {
    if args.stories == 0 || args.board_stories == 0 || args.board_stories > args.stories {
        bail!("--board-stories must be between 1 and --stories");
    }
    if args.requests == 0 {
        bail!("--requests must be at least 1");
    }
    let mut rows = Vec::new();
    for target in super::targets(db, &args) {
        bench_one(&target.url, &args, &mut rows)
            .await
            .with_context(|| format!("benchmark on {} failed", target.label()))?;
    }
    if args.json {
        let rows: Vec<serde_json::Value> = rows
            .iter()
            .map(|r| {
                json!({"backend": r.backend, "operation": r.what.trim(), "n": r.n, "p50_ms": ms_f(r.p50),
                       "p99_ms": ms_f(r.p99), "max_ms": ms_f(r.max), "note": r.note})
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&json!({"bench": "board", "rows": rows}))?);
    } else {
        print_table(&rows);
    }
    Ok(())
}

async fn bench_one(url: &str, args: &BenchArgs, rows: &mut Vec<Row>) -> anyhow::Result<()> {
    let db = baton_store::connect(url).await.with_context(|| format!("cannot open {}", redact_url(url)))?;
    baton_store::db::migrate(&db).await.context("cannot migrate")?;
    let backend = format!("{:?}", db.get_database_backend()).to_lowercase();
    eprintln!("{backend}: seeding {} stories and {} tasks into {} …", args.stories, args.tasks, redact_url(url));
    let app = App::local(db.clone(), AppConfig::default());
    let seeded = seed(&app, args).await?;
    rows.push(Row {
        backend: backend.clone(),
        what: format!("seed {} stories + {} tasks (batch inserts)", seeded.stories, seeded.tasks),
        n: 1,
        p50: seeded.took,
        p99: seeded.took,
        max: seeded.took,
        note: format!("{:.0} rows/s", (seeded.stories + seeded.tasks) as f64 / seeded.took.as_secs_f64()),
    });
    let outcome = measure(&app, &db, args, &seeded, &backend, rows).await;
    if args.keep {
        eprintln!("{backend}: kept product {} (user {})", seeded.product_id, seeded.user_id);
    } else {
        cleanup(&db, &seeded).await?;
    }
    db.close().await.ok();
    outcome
}

async fn measure(
    app: &App,
    db: &Db,
    args: &BenchArgs,
    seeded: &Seeded,
    backend: &str,
    rows: &mut Vec<Row>,
) -> anyhow::Result<()> {
    let n = args.requests;
    let what_board = format!("sprint board: {} stories, {} tasks", seeded.board_stories, seeded.board_tasks);

    // (a) the sprint board through the service, plus JSON as the REST handler does.
    let mut board = Vec::with_capacity(n);
    let mut bytes = 0;
    for i in 0..WARMUP + n {
        let start = Instant::now();
        let b = app.sprint_board(&seeded.actor, &seeded.sprint_id).await.map_err(|e| anyhow::anyhow!("{e}"))?;
        let json = serde_json::to_vec(&b)?;
        let took = start.elapsed();
        if b.stories.len() != seeded.board_stories {
            bail!("the board shows {} stories, expected {}", b.stories.len(), seeded.board_stories);
        }
        bytes = json.len();
        if i >= WARMUP {
            board.push(took);
        }
    }
    // Baseline: the same statements through the same pool, rows fetched but not mapped or sorted.
    let mut raw = Vec::with_capacity(n);
    let be = db.get_database_backend();
    for i in 0..WARMUP + n {
        let start = Instant::now();
        let s = db
            .query_all_raw(Statement::from_sql_and_values(be, BOARD_STORIES_SQL, [seeded.sprint_id.clone().into()]))
            .await?;
        let t = db
            .query_all_raw(Statement::from_sql_and_values(be, BOARD_TASKS_SQL, [seeded.sprint_id.clone().into()]))
            .await?;
        let took = start.elapsed();
        if s.len() != seeded.board_stories || t.len() != seeded.board_tasks {
            bail!("the baseline read {} stories and {} tasks", s.len(), t.len());
        }
        if i >= WARMUP {
            raw.push(took);
        }
    }
    let (b, r) = (stats(&mut board), stats(&mut raw));
    rows.push(Row {
        backend: backend.into(),
        what: what_board,
        n,
        p50: b.0,
        p99: b.1,
        max: b.2,
        note: format!(
            "{} (p99 < 50 ms); {:.1}x baseline p50; {} KB JSON",
            verdict(b.1 < BOARD_P99_TARGET),
            ratio(b.0, r.0),
            bytes / 1024
        ),
    });
    rows.push(Row {
        backend: backend.into(),
        what: "  baseline: raw SELECT of the same rows".into(),
        n,
        p50: r.0,
        p99: r.1,
        max: r.2,
        note: String::new(),
    });

    // (b) task status updates with propagation: walk the sprint's tasks setting
    // them done (every fifth request completes a story, promoting it and
    // re-deriving its PBI and the sprint), then back to todo (demotions).
    let tasks = &seeded.sprint_tasks;
    let mut update = Vec::with_capacity(n);
    let mut promoted = 0usize;
    for i in 0..WARMUP + n {
        let task_id = &tasks[i % tasks.len()];
        let status = if (i / tasks.len()).is_multiple_of(2) { TaskStatus::Done } else { TaskStatus::ToDo };
        let start = Instant::now();
        let change =
            app.update_task_status(&seeded.actor, task_id, status, None).await.map_err(|e| anyhow::anyhow!("{e}"))?;
        let took = start.elapsed();
        if change.story_status_change.is_some() {
            promoted += 1;
        }
        if i >= WARMUP {
            update.push(took);
        }
    }
    // Baseline: a bare one-row UPDATE in its own transaction.
    let mut raw_update = Vec::with_capacity(n);
    for i in 0..WARMUP + n {
        let task_id = &tasks[i % tasks.len()];
        let start = Instant::now();
        let txn = db.begin().await?;
        txn.execute_raw(Statement::from_sql_and_values(
            be,
            "UPDATE tasks SET status = $1, updated_at = $2 WHERE id = $3",
            [TaskStatus::InProgress.as_db().into(), Value::from(now()), task_id.clone().into()],
        ))
        .await?;
        txn.commit().await?;
        if i >= WARMUP {
            raw_update.push(start.elapsed());
        }
    }
    let (u, ru) = (stats(&mut update), stats(&mut raw_update));
    rows.push(Row {
        backend: backend.into(),
        what: "task status update + propagation".into(),
        n,
        p50: u.0,
        p99: u.1,
        max: u.2,
        note: format!(
            "{} (p99 < 10 ms); {:.1}x baseline p50; {promoted} story changes",
            verdict(u.1 < UPDATE_P99_TARGET),
            ratio(u.0, ru.0)
        ),
    });
    rows.push(Row {
        backend: backend.into(),
        what: "  baseline: raw one-row UPDATE + commit".into(),
        n,
        p50: ru.0,
        p99: ru.1,
        max: ru.2,
        note: String::new(),
    });
    super::board_page::measure(db, seeded_page(seeded), n, backend, (b.0, r.0), rows).await
}

/// What the board page measurement needs from the seeded product.
fn seeded_page(s: &Seeded) -> super::board_page::Target<'_> {
    super::board_page::Target {
        product_id: &s.product_id,
        username: &s.username,
        password: &s.password,
        board_stories: s.board_stories,
        board_tasks: s.board_tasks,
    }
}

/// (p50, p99, max) of the samples (the callers never pass an empty set).
fn stats(samples: &mut [Duration]) -> (Duration, Duration, Duration) {
    Stats::of(samples).map_or((Duration::ZERO, Duration::ZERO, Duration::ZERO), |s| (s.p50, s.p99, s.max))
}

fn print_table(rows: &[Row]) {
    println!(
        "{:<9} {:<48} {:>6} {:>10} {:>10} {:>10}  note",
        "backend", "operation", "n", "p50 ms", "p99 ms", "max ms"
    );
    for r in rows {
        println!(
            "{:<9} {:<48} {:>6} {:>10} {:>10} {:>10}  {}",
            r.backend,
            r.what,
            r.n,
            ms(r.p50),
            ms(r.p99),
            ms(r.max),
            r.note
        );
    }
}

/// Seeds the product; returns what the measurements need.
async fn seed(app: &App, args: &BenchArgs) -> anyhow::Result<Seeded> {
    let suffix: String = new_id().chars().filter(char::is_ascii_hexdigit).rev().take(10).collect();
    let username = format!("bench-{suffix}");
    let password = format!("bench-{}", new_id());
    let owner = app
        .create_user(
            &Actor::cli(),
            NewUser {
                username: username.clone(),
                password: password.clone(),
                roles: vec![Role::ProductOwner, Role::Developer],
                ..Default::default()
            },
        )
        .await
        .map_err(|e| anyhow::anyhow!("cannot create the bench user: {e}"))?;
    let actor = Actor::from_user(owner.clone(), AuthVia::Token { token_id: String::new(), scope: None });

    let started = Instant::now();
    let (stories_n, tasks_n, board_n) = (args.stories, args.tasks, args.board_stories);
    let pbis_n = stories_n.div_ceil(STORIES_PER_PBI);
    // Half the stories are in sprints of `board_n` each; the last sprint is open.
    let planned = (stories_n / 2).max(board_n) / board_n * board_n;
    let sprints_n = planned / board_n;
    let t0 = now();
    let product_id = new_id();
    let sprint_ids: Vec<String> = (0..sprints_n).map(|_| new_id()).collect();
    let story_ids: Vec<String> = (0..stories_n).map(|_| new_id()).collect();
    let open_sprint = sprint_ids[sprints_n - 1].clone();
    let mut sprint_tasks = Vec::new();

    let txn = app.db.begin().await?;
    product::ActiveModel {
        id: Set(product_id.clone()),
        user_id: Set(owner.id.clone()),
        name: Set(format!("Bench {suffix}")),
        definition_of_done: Set("Benchmarked".into()),
        pr_strategy: Set(PrStrategy::SprintBatch.as_db().into()),
        last_pbi_number: Set(pbis_n as i64),
        last_story_number: Set(stories_n as i64),
        last_task_number: Set(tasks_n as i64),
        last_sprint_number: Set(sprints_n as i64),
        created_at: Set(t0),
        updated_at: Set(t0),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    let sprints: Vec<sprint::ActiveModel> = sprint_ids
        .iter()
        .enumerate()
        .map(|(i, id)| {
            let open = i == sprints_n - 1;
            sprint::ActiveModel {
                id: Set(id.clone()),
                product_id: Set(product_id.clone()),
                code: Set(format!("SP-{}", i + 1)),
                sprint_goal: Set(format!("Bench sprint {}", i + 1)),
                status: Set(if open { SprintStatus::Open } else { SprintStatus::Closed }.as_db().into()),
                start_date: Set(Some(t0.date_naive())),
                end_date: Set(None),
                created_at: Set(t0 + chrono::Duration::microseconds(i as i64)),
                updated_at: Set(t0),
                completed_at: Set((!open).then_some(t0)),
            }
        })
        .collect();
    sprint::Entity::insert_many(sprints).exec(&txn).await?;
    let pbi_ids: Vec<String> = (0..pbis_n).map(|_| new_id()).collect();
    for chunk in pbi_ids.chunks(CHUNK).enumerate() {
        let (c, ids) = chunk;
        let models: Vec<pbi::ActiveModel> = ids
            .iter()
            .enumerate()
            .map(|(j, id)| {
                let n = c * CHUNK + j;
                pbi::ActiveModel {
                    id: Set(id.clone()),
                    product_id: Set(product_id.clone()),
                    code: Set(format!("PBI-{}", n + 1)),
                    title: Set(format!("Bench PBI {}", n + 1)),
                    description: Set(None),
                    priority: Set(2),
                    sort_order: Set((n + 1) as f64),
                    status: Set(PbiStatus::Ready.as_db().into()),
                    pr_url: Set(None),
                    pr_merged_at: Set(None),
                    epic_number: Set(None),
                    created_at: Set(t0),
                    updated_at: Set(t0),
                }
            })
            .collect();
        pbi::Entity::insert_many(models).exec(&txn).await?;
    }
    let sprint_of = |n: usize| -> Option<&String> { (n < planned).then(|| &sprint_ids[n / board_n]) };
    for (c, ids) in story_ids.chunks(CHUNK).enumerate() {
        let models: Vec<story::ActiveModel> = ids
            .iter()
            .enumerate()
            .map(|(j, id)| {
                let n = c * CHUNK + j;
                let sp = sprint_of(n).cloned();
                story::ActiveModel {
                    id: Set(id.clone()),
                    pbi_id: Set(pbi_ids[n / STORIES_PER_PBI].clone()),
                    product_id: Set(product_id.clone()),
                    status: Set(if sp.is_some() { StoryStatus::InSprint } else { StoryStatus::Open }.as_db().into()),
                    sprint_id: Set(sp),
                    assignee_id: Set(None),
                    code: Set(format!("ST-{:03}", n + 1)),
                    title: Set(format!("Bench story {}", n + 1)),
                    description: Set(Some("As a user I want a realistic description here.".into())),
                    acceptance_criteria: Set(None),
                    priority: Set(2),
                    sort_order: Set((n % STORIES_PER_PBI + 1) as f64),
                    qa_review_count: Set(0),
                    created_at: Set(t0),
                    updated_at: Set(t0),
                    ..Default::default()
                }
            })
            .collect();
        story::Entity::insert_many(models).exec(&txn).await?;
    }
    let mut batch: Vec<task::ActiveModel> = Vec::with_capacity(CHUNK);
    for n in 0..tasks_n {
        let s = n % stories_n;
        let sp = sprint_of(s).cloned();
        let id = new_id();
        if sp.as_deref() == Some(open_sprint.as_str()) {
            sprint_tasks.push(id.clone());
        }
        batch.push(task::ActiveModel {
            id: Set(id),
            story_id: Set(story_ids[s].clone()),
            product_id: Set(product_id.clone()),
            sprint_id: Set(sp),
            code: Set(format!("T-{}", n + 1)),
            title: Set(format!("Bench task {}", n + 1)),
            description: Set(None),
            implementation_plan: Set(Some("1. Change `src/lib.rs`.\n2. Test it.".into())),
            priority: Set(2),
            sort_order: Set((n / stories_n + 1) as f64),
            status: Set(TaskStatus::ToDo.as_db().into()),
            verify_only: Set(false),
            verify_required: Set("ALIGNED_OR_PARTIAL".into()),
            requires_opus: Set(false),
            repo_url: Set(None),
            created_at: Set(t0),
            updated_at: Set(t0),
        });
        if batch.len() == CHUNK {
            task::Entity::insert_many(std::mem::take(&mut batch)).exec(&txn).await?;
        }
    }
    if !batch.is_empty() {
        task::Entity::insert_many(batch).exec(&txn).await?;
    }
    txn.commit().await?;
    // A live Postgres would have analysed tables this size (autovacuum) long
    // before anyone reads them; without statistics it plans for empty tables.
    if app.db.get_database_backend() == baton_store::sea_orm::DbBackend::Postgres {
        app.db.execute_unprepared("ANALYZE pbis, stories, tasks, sprints").await?;
    }
    let took = started.elapsed();
    if sprint_tasks.is_empty() {
        bail!("the open sprint has no tasks; give more --tasks");
    }
    let board_tasks = sprint_tasks.len();
    // Task ids in board order, so updates walk story by story.
    let board = app.sprint_board(&actor, &open_sprint).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    let sprint_tasks: Vec<String> = board.stories.iter().flat_map(|s| s.tasks.iter().map(|t| t.id.clone())).collect();
    Ok(Seeded {
        product_id,
        user_id: owner.id,
        username,
        password,
        actor,
        sprint_id: open_sprint,
        sprint_tasks,
        stories: stories_n,
        tasks: tasks_n,
        board_stories: board_n,
        board_tasks,
        took,
    })
}

async fn cleanup(db: &Db, seeded: &Seeded) -> anyhow::Result<()> {
    let txn = db.begin().await?;
    product::Entity::delete_by_id(seeded.product_id.clone()).exec(&txn).await?;
    user::Entity::delete_by_id(seeded.user_id.clone()).exec(&txn).await?;
    txn.commit().await?;
    Ok(())
}
