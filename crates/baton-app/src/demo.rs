//! `baton demo`: a read-only demo account and a small sample product, so a
//! newcomer sees something real.

use baton_domain::{
    backlog::{PbiStatus, PrStrategy, SprintStatus, StoryStatus, TaskStatus},
    roles::Role,
};
use baton_store::{
    entities::{pbi, product, sprint, story, task},
    new_id, now,
    sea_orm::{ActiveModelTrait, ActiveValue::Set, ConnectionTrait, TransactionTrait},
};

use crate::{App, AppError, AppResult, accounts::NewUser, passwords};

/// The demo account's login name.
pub const DEMO_USERNAME: &str = "demo";
/// The demo account's password (public by design: the account is read-only).
pub const DEMO_PASSWORD: &str = "demo1234";

impl App {
    /// Creates the demo user and sample product; running it again changes nothing.
    pub async fn seed_demo(&self) -> AppResult<String> {
        if self.find_user_by_username(DEMO_USERNAME).await?.is_some() {
            return Ok("demo data is already present; nothing changed".into());
        }
        let hash = passwords::hash_off_thread(DEMO_PASSWORD).await?;
        self.db
            .transaction::<_, (), AppError>(|txn| {
                Box::pin(async move {
                    let input = NewUser {
                        username: DEMO_USERNAME.into(),
                        password: DEMO_PASSWORD.into(),
                        name: Some("Demo".into()),
                        roles: vec![Role::ProductOwner, Role::Developer],
                        is_demo: true,
                        ..Default::default()
                    };
                    let user = crate::accounts::insert_user(txn, input, hash).await?;
                    let t = now();
                    let product = product::ActiveModel {
                        id: Set(new_id()),
                        user_id: Set(user.id.clone()),
                        name: Set("Baton demo".into()),
                        code: Set(Some("DEMO".into())),
                        description: Set(Some("A sample product to look around in.".into())),
                        repo_url: Set(None),
                        definition_of_done: Set("Code reviewed, tests green, deployed to staging.".into()),
                        auto_pr: Set(false),
                        pr_strategy: Set(PrStrategy::SprintBatch.as_db().into()),
                        archived: Set(false),
                        created_at: Set(t),
                        updated_at: Set(t),
                        ..Default::default()
                    }
                    .insert(txn)
                    .await?;
                    seed_backlog(txn, &product.id, &user.id).await
                })
            })
            .await?;
        Ok("created the demo user and a sample product with backlog and an open sprint".into())
    }
}

/// (PBI title, [(story title, story in sprint?, [(task title, status)])])
type Sample = (&'static str, &'static [(&'static str, bool, &'static [(&'static str, TaskStatus)])]);

const SAMPLE: &[Sample] = &[
    (
        "Sign-in for the team",
        &[
            (
                "Log in with username and password",
                true,
                &[("Login form", TaskStatus::Done), ("Rate-limit failed logins", TaskStatus::InProgress)],
            ),
            (
                "Pair a phone by QR code",
                true,
                &[("Show QR code", TaskStatus::ToDo), ("Confirm pairing on the phone", TaskStatus::ToDo)],
            ),
        ],
    ),
    (
        "Agents pick up work on their own",
        &[
            (
                "Agents claim queued jobs",
                false,
                &[("Claim with lease", TaskStatus::ToDo), ("Heartbeat extends the lease", TaskStatus::ToDo)],
            ),
            ("Ask a person a question", false, &[("Question inbox", TaskStatus::ToDo)]),
        ],
    ),
];

async fn seed_backlog<C: ConnectionTrait>(db: &C, product_id: &str, user_id: &str) -> Result<(), AppError> {
    let t = now();
    let sprint = sprint::ActiveModel {
        id: Set(new_id()),
        product_id: Set(product_id.into()),
        code: Set("SP-1".into()),
        sprint_goal: Set("Team members can sign in safely".into()),
        status: Set(SprintStatus::Open.as_db().into()),
        start_date: Set(Some(t.date_naive())),
        end_date: Set(Some(t.date_naive() + chrono::Duration::days(14))),
        created_at: Set(t),
        updated_at: Set(t),
        completed_at: Set(None),
    }
    .insert(db)
    .await?;
    let (mut story_n, mut task_n) = (0, 0);
    for (pi, (pbi_title, stories)) in SAMPLE.iter().enumerate() {
        let pbi = pbi::ActiveModel {
            id: Set(new_id()),
            product_id: Set(product_id.into()),
            code: Set(format!("PBI-{}", pi + 1)),
            title: Set((*pbi_title).into()),
            priority: Set(pi as i32 + 1),
            sort_order: Set((pi + 1) as f64),
            status: Set(PbiStatus::Ready.as_db().into()),
            created_at: Set(t),
            updated_at: Set(t),
            ..Default::default()
        }
        .insert(db)
        .await?;
        for (story_title, in_sprint, tasks) in stories.iter() {
            story_n += 1;
            let sprint_id = in_sprint.then(|| sprint.id.clone());
            let st = story::ActiveModel {
                id: Set(new_id()),
                pbi_id: Set(pbi.id.clone()),
                product_id: Set(product_id.into()),
                sprint_id: Set(sprint_id.clone()),
                assignee_id: Set(in_sprint.then(|| user_id.to_string())),
                code: Set(format!("ST-{story_n:03}")),
                title: Set((*story_title).into()),
                priority: Set(2),
                sort_order: Set(story_n as f64),
                status: Set(if *in_sprint { StoryStatus::InSprint } else { StoryStatus::Open }.as_db().into()),
                created_at: Set(t),
                updated_at: Set(t),
                ..Default::default()
            }
            .insert(db)
            .await?;
            for (title, status) in tasks.iter() {
                task_n += 1;
                task::ActiveModel {
                    id: Set(new_id()),
                    story_id: Set(st.id.clone()),
                    product_id: Set(product_id.into()),
                    sprint_id: Set(sprint_id.clone()),
                    code: Set(format!("T-{task_n}")),
                    title: Set((*title).into()),
                    priority: Set(2),
                    sort_order: Set(task_n as f64),
                    status: Set(status.as_db().into()),
                    created_at: Set(t),
                    updated_at: Set(t),
                    ..Default::default()
                }
                .insert(db)
                .await?;
            }
        }
    }
    Ok(())
}
