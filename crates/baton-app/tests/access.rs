//! The one product-access function over real data, on both backends:
//! owner, read-write member, read-only member, outsider, demo, admin and
//! scoped tokens.

mod common;

use baton_app::{Actor, App, AppConfig, AppError, access, tokens::NewToken};
use baton_domain::roles::Role;
use baton_testkit::backend_tests;
use common::{member, product_of, user_with};

/// (can read, can write, can manage) — errors are kept to check their kind.
async fn caps(
    app: &App,
    actor: &Actor,
    pid: &str,
) -> (Result<(), AppError>, Result<(), AppError>, Result<(), AppError>) {
    (
        access::readable(&app.db, actor, pid).await.map(|_| ()),
        access::writable(&app.db, actor, pid).await.map(|_| ()),
        access::manageable(&app.db, actor, pid).await.map(|_| ()),
    )
}

fn kind(r: &Result<(), AppError>) -> &'static str {
    match r {
        Ok(()) => "ok",
        Err(AppError::NotFound(_)) => "404",
        Err(AppError::Forbidden(_)) => "403",
        Err(AppError::DemoReadOnly) => "demo",
        Err(_) => "other",
    }
}

backend_tests! {
    async fn the_whole_access_matrix(t) {
        let app = App::local(t.db.clone(), AppConfig::default());
        let owner = user_with(&app, "owner", false, &[Role::ProductOwner]).await;
        let rw = user_with(&app, "writer", false, &[Role::Developer]).await;
        let ro = user_with(&app, "reader", false, &[Role::Developer]).await;
        let outsider = user_with(&app, "outsider", false, &[Role::Developer]).await;
        let demo = user_with(&app, "demo", true, &[Role::Developer]).await;
        let admin = user_with(&app, "root", false, &[Role::Admin]).await;
        let pid = product_of(&app, &owner, "Alpha").await;
        member(&app, &pid, &rw, "READ_WRITE").await;
        member(&app, &pid, &ro, "READ_ONLY").await;
        member(&app, &pid, &demo, "READ_WRITE").await;

        let cases: [(&str, &Actor, [&str; 3]); 6] = [
            ("owner", &owner, ["ok", "ok", "ok"]),
            ("read-write member", &rw, ["ok", "ok", "403"]),
            ("read-only member", &ro, ["ok", "403", "403"]),
            ("outsider", &outsider, ["404", "404", "404"]),
            ("demo member", &demo, ["ok", "demo", "demo"]),
            ("admin (not a member)", &admin, ["ok", "403", "403"]),
        ];
        for (who, actor, want) in cases {
            let (r, w, m) = caps(&app, actor, &pid).await;
            assert_eq!([kind(&r), kind(&w), kind(&m)], want, "{who}");
        }
        // Unknown ids look exactly like other people's products.
        assert_eq!(kind(&caps(&app, &owner, "no-such-product").await.0), "404");
    }

    async fn a_scoped_token_sees_only_its_products(t) {
        let app = App::local(t.db.clone(), AppConfig::default());
        let owner = user_with(&app, "owner", false, &[Role::ProductOwner]).await;
        let alpha = product_of(&app, &owner, "Alpha").await;
        let beta = product_of(&app, &owner, "Beta").await;
        let scoped = app
            .create_token(&owner, &owner.user_id, NewToken { label: "alpha only".into(), product_ids: vec![alpha.clone()], expires_in_days: None })
            .await
            .expect("scoped token");
        assert_eq!(scoped.info.product_ids, vec![alpha.clone()]);
        let actor = app.token_actor(&scoped.token).await.expect("actor");
        assert_eq!(actor.token_scope(), Some(&[alpha.clone()][..]));
        let (r, w, m) = caps(&app, &actor, &alpha).await;
        assert_eq!([kind(&r), kind(&w), kind(&m)], ["ok", "ok", "ok"]);
        let (r, w, m) = caps(&app, &actor, &beta).await;
        assert_eq!([kind(&r), kind(&w), kind(&m)], ["404", "404", "404"]);
    }

    async fn tokens_cannot_be_scoped_to_products_the_owner_cannot_see(t) {
        let app = App::local(t.db.clone(), AppConfig::default());
        let owner = user_with(&app, "owner", false, &[Role::ProductOwner]).await;
        let other = user_with(&app, "other", false, &[Role::ProductOwner]).await;
        let theirs = product_of(&app, &other, "Theirs").await;
        let err = app
            .create_token(&owner, &owner.user_id, NewToken { label: "x".into(), product_ids: vec![theirs], expires_in_days: None })
            .await
            .expect_err("not theirs to scope");
        match err {
            AppError::Validation(v) => assert_eq!(v.0[0].path, "product_ids.0"),
            other => panic!("expected a validation error, got {other:?}"),
        }
    }
}
