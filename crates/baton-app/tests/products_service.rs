//! Product services on both backends: concurrent creates with one name,
//! the archived guard inside a product transaction, resolving by code, and
//! the agent context of a product nobody has planned yet.

mod common;

use std::sync::Arc;

use baton_app::{Actor, App, AppConfig, AppError, products, products::NewProduct, txn};
use baton_testkit::backend_tests;
use common::product_owner;

fn new_product(name: &str, code: Option<&str>) -> NewProduct {
    NewProduct {
        name: name.into(),
        code: code.map(str::to_string),
        definition_of_done: "tested".into(),
        ..Default::default()
    }
}

backend_tests! {
    async fn concurrent_creates_with_one_name_leave_exactly_one_product(t) {
        let app = Arc::new(App::local(t.db.clone(), AppConfig::default()));
        let owner = Arc::new(product_owner(&app, "racer").await);
        let mut handles = Vec::new();
        for i in 0..12 {
            let (app, owner) = (app.clone(), owner.clone());
            handles.push(tokio::spawn(async move {
                app.create_product(&owner, new_product("Same name", Some(&format!("C{i}")))).await
            }));
        }
        let mut ok = 0;
        for h in handles {
            match h.await.expect("task") {
                Ok(_) => ok += 1,
                Err(AppError::Validation(v)) => assert_eq!(v.0[0].path, "name", "{v}"),
                Err(e) => panic!("unexpected error: {e:?}"),
            }
        }
        assert_eq!(ok, 1);
        let page = app.list_products(&owner, Default::default()).await.expect("list");
        assert_eq!(page.total, 1);
    }

    async fn the_archived_guard_refuses_writes_inside_a_product_transaction(t) {
        let app = App::local(t.db.clone(), AppConfig::default());
        let owner = product_owner(&app, "keeper").await;
        let p = app.create_product(&owner, new_product("Kept", Some("KEPT"))).await.expect("product");
        let pid = p.id.clone();
        let ok = txn::in_product_txn(&app.db, &pid.clone(), move |c| {
            Box::pin(async move { products::ensure_not_archived_in(c, &pid).await.map(|p| p.name) })
        })
        .await;
        assert_eq!(ok.expect("active product"), "Kept");
        app.set_product_archived(&owner, "kept", true).await.expect("archive");
        let pid = p.id.clone();
        let refused = txn::in_product_txn(&app.db, &pid.clone(), move |c| {
            Box::pin(async move { products::ensure_not_archived_in(c, &pid).await.map(|p| p.name) })
        })
        .await;
        match refused {
            Err(AppError::Conflict(m)) => assert!(m.contains("archived"), "{m}"),
            other => panic!("expected a conflict, got {other:?}"),
        }
        match products::writable_ref(&app.db, &owner, "KEPT").await {
            Err(AppError::Conflict(_)) => {}
            other => panic!("expected a conflict, got {other:?}"),
        }
        // Reading still works, by id or code.
        assert_eq!(products::readable_ref(&app.db, &owner, "kept").await.expect("read").id, p.id);
        assert!(matches!(products::readable_ref(&app.db, &owner, "OTHER").await, Err(AppError::NotFound(_))));
    }

    async fn a_product_without_sprints_or_ideas_has_an_empty_context(t) {
        let app = App::local(t.db.clone(), AppConfig::default());
        let owner = product_owner(&app, "fresh").await;
        let p = app.create_product(&owner, new_product("Fresh", None)).await.expect("product");
        let ctx = app.product_context(&owner, &p.id).await.expect("context");
        assert_eq!(ctx.product, p);
        assert!(ctx.active_sprint.is_none() && ctx.open_sprints.is_empty() && ctx.next_story.is_none());
        assert!(ctx.open_ideas.is_empty());
        let stranger = product_owner(&app, "stranger").await;
        assert!(matches!(app.product_context(&stranger, &p.id).await, Err(AppError::NotFound(_))));
        // Demo accounts and the command line cannot create products.
        let demo = Actor { is_demo: true, ..owner.clone() };
        assert!(matches!(app.create_product(&demo, new_product("D", None)).await, Err(AppError::DemoReadOnly)));
        assert!(matches!(app.create_product(&Actor::cli(), new_product("C", None)).await, Err(AppError::Forbidden(_))));
    }
}
