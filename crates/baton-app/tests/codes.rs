//! Code allocation under concurrency, on both backends: 60 transactions
//! racing in one product all get distinct, gap-free numbers.

mod common;

use std::sync::Arc;

use baton_app::{AppError, txn};
use baton_domain::codes::CodeKind;
use baton_testkit::backend_tests;
use common::{product_row, user_row};

/// A product of a bare owner row.
async fn product(db: &baton_store::Db) -> String {
    let owner = user_row(db, "owner").await;
    product_row(db, &owner.id, "P").await
}

backend_tests! {
    async fn sixty_concurrent_allocations_get_distinct_numbers(t) {
        let pid = Arc::new(product(&t.db).await);
        let mut handles = Vec::new();
        for _ in 0..60 {
            let (db, pid) = (t.db.clone(), pid.clone());
            handles.push(tokio::spawn(async move {
                txn::in_product_txn(&db, &pid.clone(), move |c| {
                    Box::pin(async move { txn::allocate_code(c, &pid, CodeKind::Story).await })
                })
                .await
            }));
        }
        let mut codes = Vec::new();
        for h in handles {
            codes.push(h.await.expect("task").expect("allocation"));
        }
        codes.sort();
        let expected: Vec<String> = (1..=60).map(|n| CodeKind::Story.format(n)).collect();
        assert_eq!(codes, expected);
    }

    async fn a_rolled_back_transaction_leaves_no_trace_and_explicit_codes_move_the_counter(t) {
        let pid = product(&t.db).await;
        let p2 = pid.clone();
        let failed: Result<(), AppError> = txn::in_product_txn(&t.db, &pid, move |c| {
            Box::pin(async move {
                txn::allocate_code(c, &p2, CodeKind::Pbi).await?;
                Err(AppError::Conflict("changed my mind".into()))
            })
        })
        .await;
        assert!(matches!(failed, Err(AppError::Conflict(_))));
        let p3 = pid.clone();
        let code = txn::in_product_txn(&t.db, &pid, move |c| {
            Box::pin(async move {
                txn::note_code(c, &p3, CodeKind::Pbi, "PBI-41").await?;
                txn::note_code(c, &p3, CodeKind::Pbi, "PBI-7").await?;
                txn::allocate_code(c, &p3, CodeKind::Pbi).await
            })
        })
        .await
        .expect("allocate");
        assert_eq!(code, "PBI-42");
        let missing = txn::in_product_txn(&t.db, "no-such-product", |_| Box::pin(async { Ok(()) })).await;
        assert!(matches!(missing, Err(AppError::NotFound("product"))));
    }
}
