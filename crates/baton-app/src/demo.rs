//! `baton demo`: a read-only demo account and a small sample product, so a
//! newcomer sees something real.

use baton_domain::roles::Role;
use baton_store::{
    entities::product,
    new_id, now,
    sea_orm::{ActiveModelTrait, ActiveValue::Set, TransactionTrait},
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
        let hash = passwords::hash(DEMO_PASSWORD)?;
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
                    product::ActiveModel {
                        id: Set(new_id()),
                        user_id: Set(user.id.clone()),
                        name: Set("Baton demo".into()),
                        code: Set(Some("DEMO".into())),
                        description: Set(Some("A sample product to look around in.".into())),
                        repo_url: Set(None),
                        definition_of_done: Set("Code reviewed, tests green, deployed to staging.".into()),
                        auto_pr: Set(false),
                        pr_strategy: Set("SPRINT_BATCH".into()),
                        archived: Set(false),
                        created_at: Set(t),
                        updated_at: Set(t),
                        ..Default::default()
                    }
                    .insert(txn)
                    .await?;
                    Ok(())
                })
            })
            .await?;
        Ok("created the demo user and a sample product".into())
    }
}
