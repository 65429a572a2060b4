//! The lease sweeper `serve` runs: expired claims of every user return to
//! the queue without any worker of that user polling, live leases are left
//! alone, and the last attempt fails; and the claim's candidate window,
//! which widens when the oldest jobs are all for other workers. Both backends.

mod queue_common;

use std::time::Duration;

use baton_app::queue::claim::{ClaimRequest, STALE_FAILURE};
use baton_testkit::backend_tests;
use queue_common::*;

backend_tests! {
    async fn the_sweeper_requeues_every_users_expired_claims_and_leaves_live_ones(t) {
        // Two apps on one database: one hands out leases that expire at
        // once, the other five-minute leases.
        let expiring = app(&t, Duration::ZERO).await;
        let live = app_on(&t, t.db.clone(), Duration::from_secs(300)).await;
        let alice = user(&expiring, "alice").await;
        let bob = user(&expiring, "bob").await;
        let carol = user(&expiring, "carol").await;
        let pa = product_of(&expiring, &alice, "A").await;
        let pb = product_of(&expiring, &bob, "B").await;
        let pc = product_of(&expiring, &carol, "C").await;
        let ja = insert_job(&expiring, &alice, &pa, JobSpec::default()).await;
        let jb = insert_job(&expiring, &bob, &pb, JobSpec::default()).await;
        let jc = insert_job(&expiring, &carol, &pc, JobSpec::default()).await;
        for (who, job) in [(&alice, &ja), (&bob, &jb)] {
            let got = expiring.claim_job(who, ClaimRequest::new("w")).await.expect("claim").expect("a job");
            assert_eq!(&got.job_id, job);
        }
        let got = live.claim_job(&carol, ClaimRequest::new("w")).await.expect("claim").expect("a job");
        assert_eq!(got.job_id, jc);

        let mut ids = live.sweep_stale_jobs().await.expect("sweep");
        ids.sort();
        let mut want = vec![ja.clone(), jb.clone()];
        want.sort();
        assert_eq!(ids, want, "both expired claims, nothing else");
        for job in [&ja, &jb] {
            let row = job_row(&live, job).await;
            assert_eq!((row.status.as_str(), row.retry_count), ("QUEUED", 1));
            assert_eq!((row.claimed_by_token_id, row.lease_until, row.worker_instance_id), (None, None, None));
        }
        let row = job_row(&live, &jc).await;
        assert_eq!((row.status.as_str(), row.retry_count), ("CLAIMED", 0), "a live lease is kept");
        assert!(live.sweep_stale_jobs().await.expect("sweep").is_empty(), "nothing left to reset");

        // Two more expiries: the job fails with the reference message.
        for attempt in [1, 2] {
            let got = expiring.claim_job(&alice, ClaimRequest::new("w")).await.expect("claim").expect("a job");
            assert_eq!((got.job_id.as_str(), got.attempt), (ja.as_str(), attempt));
            if attempt == 1 {
                assert_eq!(live.sweep_stale_jobs().await.expect("sweep"), vec![ja.clone()]);
            }
        }
        assert_eq!(live.sweep_stale_jobs().await.expect("sweep"), vec![ja.clone()]);
        let row = job_row(&live, &ja).await;
        assert_eq!((row.status.as_str(), row.error.as_deref(), row.retry_count), ("FAILED", Some(STALE_FAILURE), 2));
    }

    async fn a_claim_looks_past_a_full_window_of_jobs_for_other_workers(t) {
        let app = app(&t, Duration::from_secs(300)).await;
        let alice = user(&app, "alice").await;
        let pid = product_of(&app, &alice, "P").await;
        // More gpu-only jobs than the first candidate window holds, all
        // older than the one plain job.
        for _ in 0..40 {
            let spec = JobSpec { required_capability: Some("gpu".into()), ..JobSpec::default() };
            insert_job(&app, &alice, &pid, spec).await;
        }
        let plain = insert_job(&app, &alice, &pid, JobSpec::default()).await;
        let got = app.claim_job(&alice, ClaimRequest::new("cpu")).await.expect("claim").expect("the plain job");
        assert_eq!(got.job_id, plain);
        assert!(app.claim_job(&alice, ClaimRequest::new("cpu")).await.expect("claim").is_none());
        let mut gpu = ClaimRequest::new("gpu");
        gpu.capabilities = vec!["gpu".into()];
        let first_gpu = app.claim_job(&alice, gpu).await.expect("claim").expect("a gpu job");
        assert_ne!(first_gpu.job_id, plain);
    }
}
