//! The write path under concurrency on both backends: many writers all
//! commit, reads never wait for a writer; on SQLite (the write gate) no
//! writer meets `SQLITE_BUSY` even with a 1 ms busy timeout, writers are
//! served in arrival order, and a read-then-write transaction sees every
//! earlier commit.

use std::{
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use baton_store::{
    Backend, Db,
    db::{ConnectSettings, connect_with},
};
use baton_testkit::{TestDb, backend_tests};
use sea_orm::{ConnectionTrait, Statement, TransactionTrait};
use tokio::time::timeout;

/// Upper bound for anything that should take milliseconds.
const WAIT: Duration = Duration::from_secs(20);
/// Concurrent writers, and write transactions each.
const WRITERS: usize = 32;
const ROUNDS: usize = 5;

/// A second handle on the test database whose SQLite connections give up on
/// a lock after 1 ms: any writer that met the lock instead of queueing
/// would fail with `SQLITE_BUSY`.
async fn impatient(t: &TestDb) -> Db {
    let settings = ConnectSettings { sqlite_busy_timeout: Duration::from_millis(1) };
    let db = connect_with(&t.url, &settings).await.expect("open the impatient handle");
    assert_eq!(db.is_gated(), t.backend == Backend::Sqlite, "only a SQLite file is gated");
    db
}

async fn exec(db: &impl ConnectionTrait, sql: &str, values: Vec<sea_orm::Value>) {
    db.execute_raw(Statement::from_sql_and_values(db.get_database_backend(), sql, values))
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

async fn count(db: &impl ConnectionTrait, sql: &str) -> i64 {
    let row = db
        .query_one_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .expect("one row");
    row.try_get("", "n").expect("column n")
}

async fn make_tables(db: &Db) {
    exec(db, "CREATE TABLE gate_probe (writer BIGINT NOT NULL, seen BIGINT NOT NULL)", vec![]).await;
    exec(db, "CREATE TABLE gate_counter (n BIGINT NOT NULL)", vec![]).await;
    exec(db, "INSERT INTO gate_counter (n) VALUES (0)", vec![]).await;
}

backend_tests! {
    async fn many_concurrent_writers_all_commit_without_busy_errors(t) {
        let db = impatient(&t).await;
        make_tables(&db).await;
        let mut tasks = Vec::new();
        for w in 0..WRITERS {
            let db = db.clone();
            tasks.push(tokio::spawn(async move {
                for _ in 0..ROUNDS {
                    // Read first, write after: the transaction SQLite refuses
                    // to upgrade when another connection wrote in between.
                    let txn = db.begin().await?;
                    let seen = count(&txn, "SELECT COUNT(*) AS n FROM gate_probe").await;
                    let b = txn.get_database_backend();
                    txn.execute_raw(Statement::from_sql_and_values(
                        b,
                        "INSERT INTO gate_probe (writer, seen) VALUES ($1, $2)",
                        [(w as i64).into(), seen.into()],
                    ))
                    .await?;
                    txn.commit().await?;
                    // A single statement outside any transaction writes too.
                    db.execute_unprepared("UPDATE gate_counter SET n = n + 1").await?;
                }
                Ok::<_, sea_orm::DbErr>(())
            }));
        }
        for task in tasks {
            timeout(WAIT, task).await.expect("writers finish in time").expect("no panic").expect("every write succeeds");
        }
        let total = (WRITERS * ROUNDS) as i64;
        assert_eq!(count(&db, "SELECT COUNT(*) AS n FROM gate_probe").await, total);
        assert_eq!(count(&db, "SELECT n FROM gate_counter").await, total);
        if t.backend == Backend::Sqlite {
            // Serial transactions: each saw exactly the rows committed before it.
            let distinct = count(&db, "SELECT COUNT(DISTINCT seen) AS n FROM gate_probe").await;
            let max = count(&db, "SELECT MAX(seen) AS n FROM gate_probe").await;
            assert_eq!((distinct, max), (total, total - 1));
        }
        db.close().await.expect("close");
    }

    async fn reads_run_beside_an_open_write_transaction(t) {
        let db = impatient(&t).await;
        make_tables(&db).await;
        let txn = db.begin().await.expect("begin");
        exec(&txn, "INSERT INTO gate_probe (writer, seen) VALUES (1, 1)", vec![]).await;
        // A read neither waits for the writer nor sees its uncommitted row.
        let seen = timeout(Duration::from_secs(5), count(&db, "SELECT COUNT(*) AS n FROM gate_probe"))
            .await
            .expect("the read does not wait for the writer");
        assert_eq!(seen, 0);
        if t.backend == Backend::Sqlite {
            // A write queues behind the open transaction instead of failing
            // after the 1 ms busy timeout…
            let queued = db.clone();
            let write = tokio::spawn(async move {
                queued.execute_unprepared("INSERT INTO gate_probe (writer, seen) VALUES (2, 2)").await
            });
            tokio::time::sleep(Duration::from_millis(200)).await;
            assert!(!write.is_finished(), "the write waits for the writer connection");
            txn.commit().await.expect("commit");
            // …and runs once it is committed.
            timeout(WAIT, write).await.expect("in time").expect("no panic").expect("the queued write succeeds");
        } else {
            txn.commit().await.expect("commit");
            exec(&db, "INSERT INTO gate_probe (writer, seen) VALUES (2, 2)", vec![]).await;
        }
        assert_eq!(count(&db, "SELECT COUNT(*) AS n FROM gate_probe").await, 2);
        db.close().await.expect("close");
    }

    async fn writers_are_served_in_arrival_order(t) {
        let db = impatient(&t).await;
        make_tables(&db).await;
        // Hold the writer while the others line up, one every 50 ms.
        let holder = db.begin().await.expect("begin");
        exec(&holder, "UPDATE gate_counter SET n = n + 1", vec![]).await;
        let turn = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for i in 0..6usize {
            let (db, turn) = (db.clone(), turn.clone());
            tasks.push(tokio::spawn(async move {
                let txn = db.begin().await?;
                let got = turn.fetch_add(1, Ordering::SeqCst);
                exec(&txn, "UPDATE gate_counter SET n = n + 1", vec![]).await;
                txn.commit().await?;
                Ok::<_, sea_orm::DbErr>((i, got))
            }));
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        holder.commit().await.expect("commit the holder");
        let mut order = Vec::new();
        for task in tasks {
            order.push(timeout(WAIT, task).await.expect("in time").expect("no panic").expect("the write succeeds"));
        }
        assert_eq!(count(&db, "SELECT n FROM gate_counter").await, 7);
        if t.backend == Backend::Sqlite {
            // First come, first served. (Postgres has row locks and no gate:
            // it promises no order between waiters.)
            assert!(order.iter().all(|(i, got)| i == got), "arrival and service order differ: {order:?}");
        }
        db.close().await.expect("close");
    }
}
