//! `import_bmad` through `BatonMcp::call` on SQLite and Postgres: the BMAD
//! fixture repository as a base64 tar.gz and zip gives the same summary as
//! the CLI and REST (a second import unchanged), a stated format must agree
//! with the bytes, bad base64 and refused archives name `archive_base64`,
//! and the other parties, outsiders and the demo account are refused
//! without a write.

mod common;

use std::sync::Arc;

use baton_app::{Actor, App, AppConfig, accounts::NewUser, products::NewProduct, tokens::NewToken};
use baton_domain::roles::Role;
use baton_mcp::{BatonMcp, Profile};
use baton_store::{
    entities::{product, story, story_audit_log},
    sea_orm::{ActiveModelTrait, ActiveValue::Set, EntityTrait, QueryOrder},
};
use baton_testkit::{archives, backend_tests};
use serde_json::json;

async fn person(app: &App, name: &str, roles: Vec<Role>, is_demo: bool) -> Actor {
    let user =
        NewUser { username: name.into(), password: format!("{name}-password"), roles, is_demo, ..Default::default() };
    let id = app.create_user(&Actor::cli(), user).await.expect("user").id;
    let token = app
        .create_token(&Actor::cli(), &id, NewToken { label: "agent".into(), ..Default::default() })
        .await
        .expect("token")
        .token;
    app.token_actor(&token).await.expect("actor")
}

/// Standard base64 with padding (what an agent would send).
fn b64(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

async fn snapshot(db: &baton_store::Db) -> String {
    let stories = story::Entity::find().order_by_asc(story::Column::Id).all(db).await.expect("stories");
    let audit = story_audit_log::Entity::find().order_by_asc(story_audit_log::Column::Id).all(db).await.expect("audit");
    format!("{stories:?}\n{audit:?}")
}

backend_tests! {
    async fn import_bmad_over_mcp_matches_the_cli_summary(t) {
        let app = Arc::new(App::local(t.db.clone(), AppConfig::default()));
        let client = person(&app, "client", vec![Role::Client], false).await;
        let expert = person(&app, "expert", vec![Role::Pm], false).await;
        let demo = person(&app, "demo", vec![Role::Client], true).await;
        let input = NewProduct { name: "Shop".into(), code: Some("SHOP".into()), definition_of_done: "done".into(), ..Default::default() };
        let pid = app.create_product(&client, input).await.expect("product").id;
        let mut p: product::ActiveModel = product::Entity::find_by_id(pid.clone()).one(&t.db).await.expect("read").expect("p").into();
        p.project_status = Set(Some("PLANNING".into()));
        p.update(&t.db).await.expect("project");
        let mcp = BatonMcp::http(app.clone(), Profile::All);
        let files = archives::bmad_fixture_files();
        let tgz = b64(&archives::tar_gz(&files));
        let zip = b64(&archives::zip(&files));

        // Refusals first: nothing is written by any of them.
        let before = snapshot(&t.db).await;
        let text = common::err(&mcp, &expert, "import_bmad", json!({"project_id": pid, "archive_base64": tgz})).await;
        assert!(text.contains("not found"), "an outsider expert: {text}");
        let text = common::err(&mcp, &demo, "import_bmad", json!({"project_id": pid, "archive_base64": tgz})).await;
        assert_eq!(text, "PERMISSION_DENIED: Demo accounts cannot perform write operations");
        let text = common::err(&mcp, &client, "import_bmad", json!({"project_id": pid, "archive_base64": "not base64!"})).await;
        assert!(text.starts_with("VALIDATION_ERROR: archive_base64"), "{text}");
        let text = common::err(&mcp, &client, "import_bmad", json!({"project_id": pid, "archive_base64": b64(b"plain text")})).await;
        assert!(text.starts_with("VALIDATION_ERROR: archive_base64") && text.contains("neither a tar.gz nor a zip"), "{text}");
        let text = common::err(&mcp, &client, "import_bmad", json!({"project_id": pid, "archive_base64": zip, "format": "tar.gz"})).await;
        assert!(text.contains("was said to be tar.gz but is zip"), "{text}");
        let text = common::err(&mcp, &client, "import_bmad", json!({"project_id": pid, "archive_base64": zip, "format": "rar"})).await;
        assert!(text.starts_with("VALIDATION_ERROR: format"), "{text}");
        assert_eq!(snapshot(&t.db).await, before, "refusals write nothing");

        let r = common::ok(&mcp, &client, "import_bmad", json!({"project_id": "SHOP", "archive_base64": tgz, "format": "tar.gz"})).await;
        assert_eq!((r["created"].as_u64(), r["updated"].as_u64(), r["unchanged"].as_u64()), (Some(4), Some(0), Some(0)), "{r}");
        assert!(r["rejected"].as_array().expect("rejected").iter().any(|x| x["file"] == "docs/stories/0.2.1.story.md"), "{r}");
        let after = snapshot(&t.db).await;
        let again = common::ok(&mcp, &client, "import_bmad", json!({"project_id": pid, "archive_base64": zip})).await;
        assert_eq!((again["created"].as_u64(), again["unchanged"].as_u64()), (Some(0), Some(4)), "{again}");
        assert_eq!(again["rejected"], r["rejected"]);
        assert_eq!(snapshot(&t.db).await, after, "a second import writes nothing");
        // The CLI's direct import of the same files agrees.
        let cli = app.import_bmad(&Actor::cli(), &pid, files, |_, _| {}).await.expect("cli import");
        assert_eq!(serde_json::to_value(&cli).expect("json"), again);
    }
}
