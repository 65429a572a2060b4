//! A value in an enum column that Baton does not know (written by hand, by
//! another program or a newer version) is never read as some default: the
//! read answers an internal error whose logged chain names the column and
//! the value, and the client sees nothing of it. On both backends.

mod queue_common;

use std::time::Duration;

use baton_app::{AppError, queue::enqueue::NewTaskJob};
use baton_store::sea_orm::{ConnectionTrait, Statement};
use baton_testkit::backend_tests;
use queue_common::*;

/// Writes `value` into `table.column` of row `id` with raw SQL.
async fn poke(app: &baton_app::App, table: &str, column: &str, id: &str, value: &str) {
    let sql = format!("UPDATE {table} SET {column} = $1 WHERE id = $2");
    let db = &app.db;
    let done = db
        .execute_raw(Statement::from_sql_and_values(db.get_database_backend(), sql, [value.into(), id.into()]))
        .await
        .expect("raw update");
    assert_eq!(done.rows_affected(), 1, "{table}.{column} of {id} written");
}

/// The logged chain of an internal error (anything else fails the test).
fn internal(e: AppError) -> String {
    match e {
        AppError::Internal(i) => format!("{i:#}"),
        other => panic!("expected an internal error, got {other:?}"),
    }
}

backend_tests! {
    async fn an_unknown_enum_value_is_an_internal_error_naming_its_column(t) {
        let app = app(&t, Duration::from_secs(300)).await;
        let alice = user(&app, "alice").await;
        let pid = product_of(&app, &alice, "P").await;
        let (_pbi, sid) = pbi_story(&app, &alice, &pid, "Login").await;
        let tid = task_in(&app, &alice, &sid, "Form", None).await;
        let job = app.enqueue_task_job(&alice, &tid, NewTaskJob::default()).await.expect("enqueue");

        poke(&app, "tasks", "status", &tid, "HALF_DONE").await;
        let chain = internal(app.get_task(&alice, &tid).await.expect_err("unknown task status"));
        assert_eq!(chain, r#"unknown value "HALF_DONE" in column tasks.status"#);

        poke(&app, "jobs", "status", &job.id, "PONDERING").await;
        let chain = internal(app.get_job(&alice, &job.id).await.expect_err("unknown job status"));
        assert!(chain.contains("jobs.status") && chain.contains("PONDERING"), "{chain}");

        poke(&app, "stories", "status", &sid, "SIDEWAYS").await;
        let chain = internal(app.get_story(&alice, &sid).await.expect_err("unknown story status"));
        assert!(chain.contains("stories.status") && chain.contains("SIDEWAYS"), "{chain}");

        // The product itself still reads: only the rows holding the bad value fail.
        app.get_product(&alice, &pid).await.expect("product still readable");
    }
}
