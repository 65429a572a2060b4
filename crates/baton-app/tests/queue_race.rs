//! Claim races: 16 concurrent workers drain 200 jobs — on SQLite through one
//! app, on Postgres through two apps (two pools, like two instances) — and
//! every job is claimed and completed exactly once.

mod queue_common;

use std::{collections::HashSet, sync::Arc, time::Duration};

use baton_app::{
    App,
    queue::{claim::ClaimRequest, complete::UpdateJobStatus},
};
use baton_store::{
    entities::job,
    sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter},
};
use baton_testkit::backend_tests;
use queue_common::*;

const JOBS: usize = 200;
const WORKERS: usize = 16;
const LEASE: Duration = Duration::from_secs(300);

backend_tests! {
    async fn sixteen_claimers_take_every_job_exactly_once(t) {
        let first = app(&t, LEASE).await;
        let second: Arc<App> = if t.backend == baton_store::Backend::Postgres {
            app_on(&t, t.second_pool().await, LEASE).await
        } else {
            first.clone()
        };
        let alice = user(&first, "alice").await;
        let pid = product_of(&first, &alice, "P").await;
        for _ in 0..JOBS {
            insert_job(&first, &alice, &pid, JobSpec::default()).await;
        }
        let mut handles = Vec::new();
        for w in 0..WORKERS {
            let app = if w % 2 == 0 { first.clone() } else { second.clone() };
            let actor = token(&app, &alice.user_id).await;
            handles.push(tokio::spawn(async move {
                let mut mine = Vec::new();
                while let Some(c) = app.claim_job(&actor, ClaimRequest::new(format!("w{w}"))).await.expect("claim") {
                    let mut done = UpdateJobStatus::new(&c.job_id, "done");
                    done.attempt = Some(c.attempt);
                    app.update_job_status(&actor, done).await.expect("done");
                    mine.push(c.job_id);
                }
                mine
            }));
        }
        let mut all = Vec::new();
        for h in handles {
            all.extend(h.await.expect("worker"));
        }
        let unique: HashSet<&String> = all.iter().collect();
        assert_eq!(all.len(), JOBS, "every job claimed once, none twice");
        assert_eq!(unique.len(), JOBS);
        let done = job::Entity::find().filter(job::Column::Status.eq("DONE")).count(&first.db).await.expect("succeeds");
        assert_eq!(done as usize, JOBS);
    }
}
