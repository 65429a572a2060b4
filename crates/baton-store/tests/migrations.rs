//! The one migration set builds the whole schema on both backends, and a
//! second run changes nothing.

use baton_store::{Backend, Db};
use baton_testkit::backend_tests;
use sea_orm::{ConnectionTrait, Statement};

/// Every table the seeds name, in our naming (see docs/data-model.md).
const EXPECTED_TABLES: &[&str] = &[
    "users",
    "user_roles",
    "sessions",
    "api_tokens",
    "api_token_products",
    "login_attempts",
    "products",
    "product_members",
    // m0002_backlog
    "sprints",
    "pbis",
    "stories",
    "story_logs",
    "tasks",
    // m0003_agents
    "sprint_runs",
    "ideas",
    "idea_products",
    "idea_logs",
    "user_questions",
    "jobs",
    "sprint_task_executions",
    "workers",
    "questions",
    "model_prices",
    "login_pairings",
    "push_subscriptions",
    // m0004_marketplace
    "opportunities",
    "bids",
    "deliverables",
    "escrows",
    "wallets",
    "documents",
    "ratings",
    "mcp_sessions",
    "github_installations",
    "story_audit_logs",
];

async fn tables(db: &Db, backend: Backend) -> Vec<String> {
    let sql = match backend {
        Backend::Sqlite => "SELECT name AS n FROM sqlite_master WHERE type = 'table' ORDER BY name",
        Backend::Postgres => {
            "SELECT tablename::text AS n FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"
        }
    };
    let rows = db.query_all_raw(Statement::from_string(db.get_database_backend(), sql)).await.expect("list tables");
    rows.iter().map(|r| r.try_get::<String>("", "n").expect("table name")).collect()
}

backend_tests! {
    async fn every_seed_table_exists_after_migrating(t) {
        let found = tables(&t.db, t.backend).await;
        let missing: Vec<_> = EXPECTED_TABLES.iter().filter(|name| !found.iter().any(|f| f == *name)).collect();
        assert!(missing.is_empty(), "missing tables: {missing:?}; found {found:?}");
    }

    async fn a_second_migrate_is_a_no_op(t) {
        let before = tables(&t.db, t.backend).await;
        baton_store::db::migrate(&t.db).await.expect("second migrate");
        let after = tables(&t.db, t.backend).await;
        assert_eq!(before, after);
        let applied = t
            .db
            .query_one_raw(Statement::from_string(t.db.get_database_backend(), "SELECT COUNT(*) AS c FROM seaql_migrations"))
            .await
            .expect("count migrations")
            .expect("one row");
        let count: i64 = applied.try_get("", "c").expect("count");
        assert_eq!(count as usize, <baton_store::migration::Migrator as sea_orm_migration::MigratorTrait>::migrations().len());
    }

    async fn foreign_keys_are_enforced(t) {
        let backend = t.db.get_database_backend();
        let now = baton_store::now();
        let res = t.db.execute_raw(Statement::from_sql_and_values(
            backend,
            "INSERT INTO user_roles (id, user_id, role) VALUES ($1, $2, $3)",
            [baton_store::new_id().into(), "no-such-user".into(), "ADMIN".into()],
        )).await;
        let err = baton_store::StoreError::from(res.expect_err("dangling user_id must be refused"));
        assert!(matches!(err, baton_store::StoreError::ForeignKey(_)), "{err:?} at {now}");
    }
}
