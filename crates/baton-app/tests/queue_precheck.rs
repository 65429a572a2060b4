//! The read-only report check (`check_job_report`, what `update_job_status`
//! with `check_only` and the stdio push call first): it refuses exactly what
//! the report would refuse — another token's or a stale claim, a cancelled
//! or finished job, the verify gate, bad fields — and never changes the job.
//! On both backends.

mod queue_common;

use std::time::Duration;

use baton_app::queue::{claim::ClaimRequest, complete::UpdateJobStatus, enqueue::NewTaskJob, precheck::job_branch};
use baton_testkit::backend_tests;
use queue_common::*;

const LEASE: Duration = Duration::from_secs(300);

fn diff_of(path: &str) -> String {
    format!("diff --git a/{path} b/{path}\n--- a/{path}\n+++ b/{path}\n@@ -1 +1 @@\n+x\n")
}

backend_tests! {
    async fn the_check_refuses_what_the_report_would_and_changes_nothing(t) {
        let app = app(&t, LEASE).await;
        let alice = user(&app, "alice").await;
        let other_token = token(&app, &alice.user_id).await;
        let pid = product_of(&app, &alice, "P").await;
        let (_pbi, sid) = pbi_story(&app, &alice, &pid, "Login").await;
        task_in(&app, &alice, &sid, "Form", Some("Edit `src/login.rs`.")).await;
        let job = app.enqueue_task_job(&alice, "T-1", NewTaskJob::default()).await.expect("enqueue");
        let claimed = app.claim_job(&alice, ClaimRequest::new("w1")).await.expect("claim").expect("a job");
        let before = job_row(&app, &job.id).await;

        // Not verified: the gate refuses, as the report would.
        let done = UpdateJobStatus::new(&job.id, "done");
        let e = app.check_job_report(&alice, &done).await.expect_err("gate");
        assert!(refusal(e).contains("VERIFY_GATE"));
        let e = app.update_job_status(&alice, done.clone()).await.expect_err("the report agrees");
        assert!(refusal(e).contains("VERIFY_GATE"));
        // Another token of the same user, or a stale attempt, does not hold the claim.
        let e = app.check_job_report(&other_token, &done).await.expect_err("not its claim");
        assert!(refusal(e).contains("PERMISSION_DENIED"));
        let mut stale = done.clone();
        stale.attempt = Some(claimed.attempt + 1);
        assert!(refusal(app.check_job_report(&alice, &stale).await.expect_err("stale")).contains("PERMISSION_DENIED"));
        // Bad fields name the field; a short skip reason is refused.
        let mut bad = UpdateJobStatus::new(&job.id, "finished");
        bad.head_sha = Some("f".repeat(65));
        let e = refusal(app.check_job_report(&alice, &bad).await.expect_err("invalid"));
        assert!(e.contains("status") && e.contains("head_sha"), "{e}");
        let mut skip = UpdateJobStatus::new(&job.id, "skipped");
        skip.error = Some("short".into());
        assert!(refusal(app.check_job_report(&alice, &skip).await.expect_err("short skip")).contains("error"));
        assert_eq!(job_row(&app, &job.id).await, before, "checks change nothing");

        // Verified: the check passes, names the default branch, and still changes nothing.
        app.record_verify_result(&alice, &job.id, &diff_of("src/login.rs")).await.expect("verify");
        let verified = job_row(&app, &job.id).await;
        let ok = app.check_job_report(&alice, &done).await.expect("would pass");
        assert!(ok.would_pass);
        assert_eq!((ok.job_id.as_str(), ok.kind.as_str(), ok.status.as_str()), (job.id.as_str(), "task_implementation", "done"));
        assert_eq!(ok.default_branch, job_branch(&job.id));
        assert_eq!(job_row(&app, &job.id).await, verified);
        assert_eq!(job_row(&app, &job.id).await.status, "CLAIMED");

        // Cancelled, then finished: refused with the report's messages.
        app.cancel_job(&alice, &job.id).await.expect("cancel");
        let e = refusal(app.check_job_report(&alice, &done).await.expect_err("cancelled"));
        assert!(e.contains("JOB_CANCELLED"), "{e}");
    }

    async fn a_finished_job_is_refused_as_terminal(t) {
        let app = app(&t, LEASE).await;
        let bob = user(&app, "bob").await;
        let pid = product_of(&app, &bob, "Q").await;
        let (_pbi, sid) = pbi_story(&app, &bob, &pid, "Search").await;
        task_in(&app, &bob, &sid, "Box", Some("Edit `src/search.rs`.")).await;
        let job = app.enqueue_task_job(&bob, "T-1", NewTaskJob::default()).await.expect("enqueue");
        app.claim_job(&bob, ClaimRequest::new("w1")).await.expect("claim").expect("a job");
        let mut failed = UpdateJobStatus::new(&job.id, "failed");
        failed.error = Some("gave up".into());
        app.check_job_report(&bob, &failed).await.expect("a failure report passes the check");
        app.update_job_status(&bob, failed).await.expect("failed");
        let e = refusal(app.check_job_report(&bob, &UpdateJobStatus::new(&job.id, "done")).await.expect_err("terminal"));
        assert!(e.contains("already in terminal state: failed"), "{e}");
        // Someone else's job is not found.
        let eve = user(&app, "eve").await;
        let e = app.check_job_report(&eve, &UpdateJobStatus::new(&job.id, "done")).await.expect_err("not found");
        assert!(matches!(e, baton_app::AppError::NotFound(_)), "{e:?}");
    }
}
