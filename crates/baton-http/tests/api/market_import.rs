//! `POST /api/projects/{id}/import/bmad`: the BMAD fixture repository
//! (crates/baton-domain/tests/bmad) uploaded as a tar.gz and as a zip in
//! each layout (archive of `docs/`, of the repository, of a wrapping
//! folder), a second import unchanged, the permission matrix, and every
//! archive limit refused with a 422 naming `body` (413 above the upload
//! limit) while the database stays exactly as it was.

use axum::{
    body::Body,
    http::{Method, Request, StatusCode, header},
};
use baton_domain::roles::Role;
use baton_store::{
    entities::{pbi, product, story, story_audit_log},
    sea_orm::{ActiveModelTrait, ActiveValue::Set, EntityTrait, QueryOrder},
};
use baton_testkit::{
    archives::{self, TarEntry, TarKind},
    backend_tests,
};

use crate::harness::{Res, TestApp};

fn import_request(pid: &str, token: &str, content_type: &str, body: Vec<u8>) -> Request<Body> {
    Request::builder()
        .method(Method::POST)
        .uri(format!("/api/projects/{pid}/import/bmad"))
        .header(header::HOST, "127.0.0.1:8080")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(header::CONTENT_TYPE, content_type)
        .header(header::CONTENT_LENGTH, body.len())
        .body(Body::from(body))
        .expect("request")
}

async fn import(app: &TestApp, pid: &str, token: &str, content_type: &str, body: Vec<u8>) -> Res {
    app.send(import_request(pid, token, content_type, body)).await
}

struct People {
    client: String,
    pm: String,
    other_expert: String,
    reader: String,
    outsider: String,
    demo: String,
    admin: String,
}

/// A planning project owned by `client`, a PM with an accepted bid, a UX
/// expert with one (not a planner), a read-only member, an outsider, a
/// demo client who is a member, an administrator.
async fn project(app: &TestApp) -> (String, People) {
    let client_id = app.user("client", &[Role::Client], false).await;
    let pm_id = app.user("pm-expert", &[Role::Pm], false).await;
    let ux_id = app.user("ux-expert", &[Role::Ux], false).await;
    let reader_id = app.user("reader", &[Role::Developer], false).await;
    let outsider_id = app.user("outsider", &[Role::Pm], false).await;
    let demo_id = app.user("demo", &[Role::Client, Role::Pm], true).await;
    let (_, admin) = app.admin().await;
    let pid = app.product_row(&client_id, "Shop").await;
    let mut p: product::ActiveModel =
        product::Entity::find_by_id(pid.clone()).one(&app.t.db).await.expect("read").expect("product").into();
    p.project_status = Set(Some("PLANNING".into()));
    p.update(&app.t.db).await.expect("project");
    app.member_row(&pid, &reader_id, "READ_ONLY").await;
    app.member_row(&pid, &demo_id, "READ_WRITE").await;
    accepted_bid_row(&app.t.db, &pid, &pm_id, "PM").await;
    accepted_bid_row(&app.t.db, &pid, &ux_id, "UX").await;
    let people = People {
        client: app.token_for(&client_id).await,
        pm: app.token_for(&pm_id).await,
        other_expert: app.token_for(&ux_id).await,
        reader: app.token_for(&reader_id).await,
        outsider: app.token_for(&outsider_id).await,
        demo: app.token_for(&demo_id).await,
        admin,
    };
    (pid, people)
}

/// An accepted bid of `expert_id` on a closed opportunity of `stage`.
async fn accepted_bid_row(db: &baton_store::Db, product_id: &str, expert_id: &str, stage: &str) {
    use baton_store::{
        entities::{bid, opportunity},
        new_id, now,
    };
    let t = now();
    let opp = opportunity::ActiveModel {
        id: Set(new_id()),
        product_id: Set(product_id.into()),
        story_id: Set(None),
        stage: Set(stage.into()),
        title: Set("Work".into()),
        description: Set("Work".into()),
        budget_min: Set(100),
        budget_max: Set(200),
        currency: Set("USDC".into()),
        deadline: Set(None),
        status: Set("CLOSED".into()),
        accepted_bid_id: Set(None),
        created_at: Set(t),
        updated_at: Set(t),
    }
    .insert(db)
    .await
    .expect("opportunity");
    let b = bid::ActiveModel {
        id: Set(new_id()),
        opportunity_id: Set(opp.id.clone()),
        expert_id: Set(expert_id.into()),
        amount: Set(150),
        currency: Set("USDC".into()),
        proposal: Set("p".repeat(100)),
        estimated_hours: Set(None),
        status: Set("ACCEPTED".into()),
        created_at: Set(t),
        updated_at: Set(t),
    }
    .insert(db)
    .await
    .expect("bid");
    let mut o: opportunity::ActiveModel = opp.into();
    o.accepted_bid_id = Set(Some(b.id));
    o.update(db).await.expect("accept");
}

/// Every row an import could write.
async fn snapshot(app: &TestApp) -> String {
    let db = &app.t.db;
    let stories = story::Entity::find().order_by_asc(story::Column::Id).all(db).await.expect("stories");
    let audit = story_audit_log::Entity::find().order_by_asc(story_audit_log::Column::Id).all(db).await.expect("audit");
    let pbis = pbi::Entity::find().order_by_asc(pbi::Column::Id).all(db).await.expect("pbis");
    let products = product::Entity::find().order_by_asc(product::Column::Id).all(db).await.expect("products");
    format!("{stories:?}\n{audit:?}\n{pbis:?}\n{products:?}")
}

/// The fixture files with `docs/` replaced by `prefix`.
fn fixture_as(prefix: &str) -> Vec<(String, Vec<u8>)> {
    archives::bmad_fixture_files()
        .into_iter()
        .map(|(p, b)| (format!("{prefix}{}", p.strip_prefix("docs/").expect("docs/")), b))
        .collect()
}

fn counts(res: &Res) -> (u64, u64, u64) {
    let j = res.json();
    let n = |k: &str| j[k].as_u64().unwrap_or_else(|| panic!("{k} in {j}"));
    (n("created"), n("updated"), n("unchanged"))
}

/// The 422's single detail: (path, message).
fn detail(res: &Res) -> (String, String) {
    let j = res.json();
    let d = &j["error"]["details"][0];
    (d["path"].as_str().unwrap_or_default().into(), d["message"].as_str().unwrap_or_default().into())
}

backend_tests! {
    async fn a_tar_gz_then_zips_in_every_layout_import_once(t) {
        let app = TestApp::new(t).await;
        let (pid, who) = project(&app).await;
        let res = import(&app, &pid, &who.client, "application/gzip", archives::tar_gz(&fixture_as("docs/"))).await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.text);
        assert_eq!(counts(&res), (4, 0, 0), "{}", res.text);
        let j = res.json();
        let numbers: Vec<&str> = j["stories"].as_array().expect("stories").iter().filter_map(|s| s["number"].as_str()).collect();
        assert_eq!(numbers, ["1.3", "1.4", "1.11b", "2.1"]);
        let rejected = j["rejected"].as_array().expect("rejected");
        assert!(rejected.iter().any(|r| r["file"] == "docs/stories/0.2.1.story.md"), "{j}");
        let s13 = story::Entity::find().all(&app.t.db).await.expect("stories").into_iter()
            .find(|s| s.epic_number == Some(1) && s.story_number.as_deref() == Some("3")).expect("1.3");
        assert_eq!(s13.story_file.as_deref(), Some("docs/stories/1.3.user-auth.md"), "the CLI's path");

        // The same files again, as zips of docs/, of the repository and of
        // GitHub's wrapping folder, and as a tar.gz sent as octet-stream.
        let before = snapshot(&app).await;
        let again = [
            ("application/zip", archives::zip(&fixture_as(""))),
            ("application/octet-stream", archives::zip(&fixture_as("./docs/"))),
            ("application/x-gzip", archives::zip(&fixture_as("shop-main/docs/"))),
            ("application/octet-stream", archives::tar_gz(&fixture_as("docs/"))),
        ];
        for (ct, body) in again {
            let res = import(&app, &pid, &who.pm, ct, body).await;
            assert_eq!(res.status, StatusCode::OK, "{ct}: {}", res.text);
            assert_eq!(counts(&res), (0, 0, 4), "{ct}: {}", res.text);
            assert_eq!(res.json()["rejected"], j["rejected"], "the same rejections");
        }
        assert_eq!(snapshot(&app).await, before, "second imports write nothing");
    }

    async fn only_the_client_and_planners_import(t) {
        let app = TestApp::new(t).await;
        let (pid, who) = project(&app).await;
        let body = archives::tar_gz(&fixture_as("docs/"));
        let before = snapshot(&app).await;
        let refused = [
            ("outsider", &who.outsider, StatusCode::NOT_FOUND),
            ("demo member", &who.demo, StatusCode::FORBIDDEN),
            ("UX expert", &who.other_expert, StatusCode::FORBIDDEN),
            ("read-only member", &who.reader, StatusCode::FORBIDDEN),
            ("admin", &who.admin, StatusCode::FORBIDDEN),
        ];
        for (name, token, status) in refused {
            let res = import(&app, &pid, token, "application/gzip", body.clone()).await;
            assert_eq!(res.status, status, "{name}: {}", res.text);
            // A refused caller learns nothing about the archive either.
            let res = import(&app, &pid, token, "application/gzip", b"not an archive".to_vec()).await;
            assert_eq!(res.status, status, "{name} with junk: {}", res.text);
        }
        let anonymous = Request::builder()
            .method(Method::POST)
            .uri(format!("/api/projects/{pid}/import/bmad"))
            .header(header::HOST, "127.0.0.1:8080")
            .header(header::CONTENT_TYPE, "application/gzip")
            .body(Body::from(body.clone()))
            .expect("request");
        assert_eq!(app.send(anonymous).await.status, StatusCode::UNAUTHORIZED);
        assert_eq!(snapshot(&app).await, before, "refusals write nothing");
        let res = import(&app, &pid, &who.pm, "application/gzip", body).await;
        assert_eq!((res.status, counts(&res)), (StatusCode::OK, (4, 0, 0)), "{}", res.text);
    }

    async fn refused_archives_name_body_and_write_nothing(t) {
        let app = TestApp::new(t).await;
        let (pid, who) = project(&app).await;
        let story = b"# Story 1.1: Setup\n\n## Status\n\nDraft\n".to_vec();
        let many: Vec<(String, Vec<u8>)> = (0..=5_000).map(|i| (format!("docs/misc/{i}.txt"), Vec::new())).collect();
        let zeros = vec![0u8; 9 * 1024 * 1024];
        let bomb: Vec<(String, Vec<u8>)> = (0..4).map(|i| (format!("docs/blob{i}.bin"), zeros.clone())).collect();
        let traversal = archives::gzip(&archives::tar(&[
            TarEntry::file("docs/stories/1.1.md", &story),
            TarEntry::file("docs/../../etc/cron.d/x", b"x"),
        ]));
        let cases: Vec<(&str, Vec<u8>, &str)> = vec![
            ("not an archive", b"# just markdown\n".to_vec(), "neither a tar.gz nor a zip"),
            ("empty body", Vec::new(), "neither a tar.gz nor a zip"),
            ("truncated gzip", vec![0x1f, 0x8b, 8, 0, 0], "damaged"),
            ("too many entries (tar.gz)", archives::tar_gz(&many), "more than 5000 entries"),
            ("too many entries (zip)", archives::zip(&many), "more than 5000 entries"),
            ("bomb", archives::tar_gz(&bomb), "more than 33554432 bytes"),
            ("traversal", traversal, "outside its root"),
            ("absolute zip entry", archives::zip(&[("docs/stories/1.1.md".to_string(), story.clone()), ("/etc/passwd".into(), b"x".to_vec())]), "outside its root"),
        ];
        let before = snapshot(&app).await;
        for (name, body, says) in cases {
            let res = import(&app, &pid, &who.client, "application/octet-stream", body).await;
            assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{name}: {}", res.text);
            let (path, message) = detail(&res);
            assert_eq!(path, "body", "{name}: {}", res.text);
            assert!(message.contains(says), "{name}: {message}");
            assert_eq!(snapshot(&app).await, before, "{name} wrote nothing");
        }
        let huge = vec![0x1f; app.state.http.upload_limit + 1];
        let res = import(&app, &pid, &who.client, "application/gzip", huge).await;
        assert_eq!((res.status, res.error_code()), (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large".to_string()));
        assert!(res.text.contains(&app.state.http.upload_limit.to_string()), "names the upload limit: {}", res.text);
        assert_eq!(snapshot(&app).await, before);
    }

    async fn links_and_oversized_files_are_reported_and_the_rest_imported(t) {
        let app = TestApp::new(t).await;
        let (pid, who) = project(&app).await;
        let story = b"# Story 1.1: Setup\n\n## Status\n\nDraft\n".to_vec();
        let big = vec![b'a'; 512 * 1024 + 1];
        let tar = archives::gzip(&archives::tar(&[
            TarEntry::file("docs/stories/1.1.setup.md", &story),
            TarEntry::file("docs/stories/1.3.big.md", &big),
            TarEntry { path: "docs/stories/1.2.link.md".into(), kind: TarKind::Symlink, data: b"/etc/passwd".to_vec() },
            TarEntry { path: "docs/qa/gates/1.1-setup.yml".into(), kind: TarKind::Hardlink, data: b"/etc/shadow".to_vec() },
        ]));
        let res = import(&app, &pid, &who.client, "application/gzip", tar).await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.text);
        assert_eq!(counts(&res), (1, 0, 0));
        let j = res.json();
        let rejected: Vec<(String, String)> = j["rejected"].as_array().expect("rejected").iter()
            .map(|r| (r["file"].as_str().unwrap_or_default().into(), r["reason"].as_str().unwrap_or_default().into()))
            .collect();
        let reason = |f: &str| rejected.iter().find(|(p, _)| p == f).map(|(_, r)| r.clone()).unwrap_or_else(|| panic!("{f} in {rejected:?}"));
        assert_eq!(reason("docs/stories/1.2.link.md"), "a symbolic link is not imported");
        assert_eq!(reason("docs/qa/gates/1.1-setup.yml"), "a hard link is not imported");
        assert!(reason("docs/stories/1.3.big.md").contains("larger than 524288 bytes"));

        let zip = archives::zip_with_symlink(&[("docs/stories/1.1.setup.md", story)], "docs/stories/1.4.md", "../../secret");
        let res = import(&app, &pid, &who.client, "application/zip", zip).await;
        assert_eq!((res.status, counts(&res)), (StatusCode::OK, (0, 0, 1)), "{}", res.text);
        assert_eq!(res.json()["rejected"][0]["file"], "docs/stories/1.4.md");
        assert_eq!(app.count("stories").await, 1, "only the real story");
    }
}
