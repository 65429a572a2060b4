//! `Db::counts` on both backends (a real SQLite file with its write gate,
//! and Postgres): statements outside a transaction count one transaction
//! each, a transaction of K statements counts K statements, one transaction
//! and K + 2 round trips whether it commits or rolls back, clones share the
//! counters, and the statement log shows what ran, in order.

use baton_store::{Db, DbCounts, entities::user};
use baton_testkit::backend_tests;
use sea_orm::{ConnectionTrait, EntityTrait, PaginatorTrait, Statement, TransactionTrait};

async fn exec(db: &impl ConnectionTrait, sql: &str, values: Vec<sea_orm::Value>) {
    db.execute_raw(Statement::from_sql_and_values(db.get_database_backend(), sql, values)).await.expect(sql);
}

async fn scratch_table(db: &Db) {
    db.execute_unprepared("CREATE TABLE count_t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)").await.expect("create");
}

backend_tests! {
    /// Five statements through the `Db` itself, of every kind (prepared write,
    /// unprepared, single-row and multi-row reads, an entity query): five
    /// statements, five (autocommit) transactions, five round trips.
    async fn statements_outside_a_transaction_count_one_transaction_each(t) {
        let db = &t.db;
        scratch_table(db).await;
        let before = db.counts();
        exec(db, "INSERT INTO count_t (id, v) VALUES ($1, $2)", vec![1.into(), "a".into()]).await;
        db.execute_unprepared("UPDATE count_t SET v = 'b'").await.expect("update");
        let one = db
            .query_one_raw(Statement::from_string(db.get_database_backend(), "SELECT v FROM count_t"))
            .await
            .expect("read")
            .expect("a row");
        assert_eq!(one.try_get::<String>("", "v").expect("v"), "b");
        let all = db
            .query_all_raw(Statement::from_string(db.get_database_backend(), "SELECT id FROM count_t"))
            .await
            .expect("read all");
        assert_eq!(all.len(), 1);
        assert_eq!(user::Entity::find().count(db).await.expect("count users"), 0);
        assert_eq!(db.counts() - before, DbCounts { statements: 5, transactions: 5, round_trips: 5 });
    }

    /// A transaction of three statements counts three statements, one
    /// transaction and five round trips (BEGIN and COMMIT or ROLLBACK), for
    /// a committed, a rolled-back and a closure transaction alike; a clone
    /// of the handle counts into the same counters.
    async fn a_transaction_counts_once_with_its_statements(t) {
        let db = &t.db;
        scratch_table(db).await;
        let three = DbCounts { statements: 3, transactions: 1, round_trips: 5 };

        let before = db.counts();
        let txn = db.begin().await.expect("begin");
        exec(&txn, "INSERT INTO count_t (id, v) VALUES ($1, $2)", vec![1.into(), "a".into()]).await;
        exec(&txn, "UPDATE count_t SET v = $1 WHERE id = $2", vec!["b".into(), 1.into()]).await;
        assert_eq!(user::Entity::find().all(&txn).await.expect("users").len(), 0);
        txn.commit().await.expect("commit");
        assert_eq!(db.counts() - before, three, "committed");

        let clone = db.clone();
        let before = db.counts();
        let txn = clone.begin().await.expect("begin");
        exec(&txn, "INSERT INTO count_t (id, v) VALUES ($1, $2)", vec![2.into(), "c".into()]).await;
        exec(&txn, "DELETE FROM count_t WHERE id = $1", vec![1.into()]).await;
        exec(&txn, "UPDATE count_t SET v = $1", vec!["d".into()]).await;
        txn.rollback().await.expect("rollback");
        assert_eq!(db.counts() - before, three, "rolled back, through a clone");

        let before = db.counts();
        db.transaction::<_, (), sea_orm::DbErr>(|txn| {
            Box::pin(async move {
                exec(txn, "INSERT INTO count_t (id, v) VALUES ($1, $2)", vec![3.into(), "e".into()]).await;
                exec(txn, "UPDATE count_t SET v = $1 WHERE id = $2", vec!["f".into(), 3.into()]).await;
                exec(txn, "DELETE FROM count_t WHERE id = $1", vec![3.into()]).await;
                Ok(())
            })
        })
        .await
        .expect("closure transaction");
        assert_eq!(db.counts() - before, three, "closure transaction");

        let n = db
            .query_one_raw(Statement::from_string(db.get_database_backend(), "SELECT COUNT(*) AS n FROM count_t"))
            .await
            .expect("count")
            .expect("row")
            .try_get::<i64>("", "n")
            .expect("n");
        assert_eq!(n, 1, "only the first transaction's row is left");
    }

    /// The statement log keeps what ran, in order, with BEGIN markers and
    /// the autocommit statements tagged; off, it records nothing.
    async fn the_statement_log_shows_what_ran(t) {
        let db = &t.db;
        scratch_table(db).await;
        db.record_sql(true);
        exec(db, "INSERT INTO count_t (id, v) VALUES ($1, $2)", vec![1.into(), "a".into()]).await;
        let txn = db.begin().await.expect("begin");
        exec(&txn, "UPDATE count_t SET v = $1 WHERE id = $2", vec!["b".into(), 1.into()]).await;
        txn.commit().await.expect("commit");
        db.execute_unprepared("DELETE FROM count_t").await.expect("delete");
        let log = db.take_sql();
        let shown: Vec<(String, bool)> = log.iter().map(|e| (e.sql.clone(), e.autocommit)).collect();
        assert_eq!(shown.len(), 4, "{shown:#?}");
        assert!(shown[0].0.starts_with("INSERT INTO count_t") && shown[0].0.contains("a") && shown[0].1, "{shown:#?}");
        assert_eq!(shown[1], ("BEGIN".to_string(), false));
        assert!(shown[2].0.starts_with("UPDATE count_t") && !shown[2].1, "in the transaction: {shown:#?}");
        assert_eq!(shown[3], ("DELETE FROM count_t".to_string(), true));
        assert!(db.take_sql().is_empty(), "taking empties the log");

        db.record_sql(false);
        exec(db, "INSERT INTO count_t (id, v) VALUES ($1, $2)", vec![2.into(), "c".into()]).await;
        assert!(db.take_sql().is_empty(), "the log is off");
    }
}
