//! `baton import bmad` run as a real process on a temporary copy of the BMAD
//! fixture repository (crates/baton-domain/tests/bmad), on both backends:
//! the JSON summary counts, a second run all unchanged, and a clean error
//! for an unknown project.

mod common;

use baton_app::{Actor, App, AppConfig, AuthVia, accounts::NewUser, products::NewProduct};
use baton_domain::roles::Role;
use baton_store::{
    entities::product,
    sea_orm::{ActiveModelTrait, ActiveValue::Set, EntityTrait},
};
use baton_testkit::backend_tests;
use common::*;

/// Copies the fixture repository's `docs/` into `dest`.
fn copy_fixtures(dest: &std::path::Path) {
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../baton-domain/tests/bmad");
    let mut stack = vec![std::path::PathBuf::from("docs")];
    while let Some(rel) = stack.pop() {
        std::fs::create_dir_all(dest.join(&rel)).expect("mkdir");
        for e in std::fs::read_dir(src.join(&rel)).expect("read fixture dir") {
            let e = e.expect("entry");
            let r = rel.join(e.file_name());
            if e.path().is_dir() {
                stack.push(r);
            } else {
                std::fs::copy(e.path(), dest.join(&r)).expect("copy");
            }
        }
    }
}

backend_tests! {
    async fn import_bmad_twice_prints_json_summaries(t) {
        let app = App::local(t.db.clone(), AppConfig::default());
        let input = NewUser { username: "client".into(), password: "long enough".into(), roles: vec![Role::Client], ..Default::default() };
        let user = app.create_user(&Actor::cli(), input).await.expect("user");
        let client = Actor::from_user(user, AuthVia::Token { token_id: String::new(), scope: None });
        let p = app
            .create_product(&client, NewProduct { name: "Shop".into(), code: Some("SHOP".into()), definition_of_done: "done".into(), ..Default::default() })
            .await
            .expect("product");
        let mut row: product::ActiveModel = product::Entity::find_by_id(p.id.clone()).one(&t.db).await.expect("read").expect("p").into();
        row.project_status = Set(Some("PLANNING".into()));
        row.update(&t.db).await.expect("project status");

        let scratch = Scratch::new();
        copy_fixtures(&scratch.path);
        let repo = scratch.path.to_string_lossy().into_owned();
        let baton = Baton::new(&t.url);
        let first = baton.run(&["import", "bmad", &repo, "--project", "SHOP", "--json"]).await;
        first.success();
        let j = first.json();
        assert_eq!((j["created"].as_u64(), j["updated"].as_u64(), j["unchanged"].as_u64()), (Some(4), Some(0), Some(0)), "{j}");
        let rejected = j["rejected"].as_array().expect("rejected");
        assert!(rejected.iter().any(|r| r["file"] == "docs/stories/0.2.1.story.md"), "{j}");
        assert!(rejected.iter().all(|r| r["reason"].as_str().is_some_and(|s| !s.is_empty())));

        let second = baton.run(&["import", "bmad", &repo, "--project", &p.id, "--json"]).await;
        second.success();
        let j2 = second.json();
        assert_eq!((j2["created"].as_u64(), j2["updated"].as_u64(), j2["unchanged"].as_u64()), (Some(0), Some(0), Some(4)), "{j2}");

        let human = baton.run(&["import", "bmad", &repo, "--project", "SHOP"]).await;
        human.success();
        assert!(human.stdout.starts_with("created 0, updated 0, unchanged 4, rejected "), "{}", human.stdout);
        assert!(human.stderr.is_empty() || !human.stderr.contains("importing"), "no progress line off a terminal");

        let missing = baton.run(&["import", "bmad", &repo, "--project", "NOPE", "--json"]).await;
        assert!(!missing.status.success());
        assert!(missing.one_error_line().contains("NOPE"), "{}", missing.stderr);
    }
}
