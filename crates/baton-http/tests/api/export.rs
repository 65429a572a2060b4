//! Backlog export (JSON and CSV) and import into a new product: the
//! round trip keeps everything but ids, a bad row is refused by path with
//! nothing written, and the code counters continue after imported codes.

use axum::http::{Method, StatusCode};
use baton_domain::roles::Role;
use baton_store::{entities::product, sea_orm::EntityTrait};
use baton_testkit::backend_tests;
use serde_json::{Value, json};

use crate::{
    context::Fx,
    harness::{As, TestApp},
    products::{paths, snapshot},
};

fn without_exported_at(mut v: Value) -> Value {
    v.as_object_mut().expect("object").remove("exported_at");
    v
}

backend_tests! {
    async fn export_then_import_then_export_gives_the_same_backlog(t) {
        let app = TestApp::new(t).await;
        let po = app.user("exporter", &[Role::ProductOwner, Role::Developer], false).await;
        let me = As::Bearer(app.token_for(&po).await);
        let res = app.json(Method::POST, "/api/products", &me, &json!({
            "name": "Source", "code": "SRC", "definition_of_done": "shipped", "repo_url": "git@git.example.com:t/src.git",
            "auto_pr": true, "pr_strategy": "story", "preferred_model": "sonnet"
        })).await;
        let pid = res.json()["id"].as_str().expect("id").to_string();
        let fx = Fx { app: &app, pid: pid.clone() };
        let b = fx.backlog().await;
        // The owner as assignee survives the round trip.
        let db = &app.t.db;
        use sea_orm::{ConnectionTrait, Statement};
        db.execute_raw(Statement::from_string(db.get_database_backend(),
            format!("UPDATE stories SET assignee_id = '{po}' WHERE id = '{}'", b.s2))).await.expect("assign");

        let res = app.get("/api/products/SRC/export?format=json", &me).await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.text);
        assert_eq!(res.header("content-type"), Some("application/json"));
        assert_eq!(res.header("content-disposition"), Some("attachment; filename=\"src-backlog.json\""));
        let first = res.json();
        assert_eq!(first["format"], "baton-backlog");
        assert_eq!(first["version"], 1);
        assert_eq!(first["product"]["name"], "Source");
        assert_eq!(first["sprints"].as_array().expect("sprints").len(), 2);
        let pbi_codes: Vec<&str> = first["pbis"].as_array().expect("pbis").iter().map(|p| p["code"].as_str().unwrap_or_default()).collect();
        assert_eq!(pbi_codes, ["PBI-1", "PBI-2"]);
        let st2 = &first["pbis"][0]["stories"][1];
        assert_eq!(st2["code"], "ST-002");
        assert_eq!(st2["sprint_code"], "SP-2");
        assert_eq!(st2["assignee"], "exporter");
        assert_eq!(st2["tasks"][0]["code"], "T-2");
        assert_eq!(st2["logs"].as_array().expect("logs").len(), 3);
        assert_eq!(st2["logs"][1]["type"], "test_result");
        assert_eq!(st2["logs"][1]["status"], "passed");
        assert!(first.to_string().find(&pid).is_none(), "no ids in an export");
        // Default format is JSON.
        assert_eq!(without_exported_at(app.get(&format!("/api/products/{pid}/export"), &me).await.json()), without_exported_at(first.clone()));

        // Another user imports it: identical content.
        let other = app.user("importer", &[Role::ProductOwner], false).await;
        let them = As::Bearer(app.token_for(&other).await);
        let res = app.json(Method::POST, "/api/products/import", &them, &first).await;
        assert_eq!(res.status, StatusCode::CREATED, "{}", res.text);
        let imported = res.json();
        assert_eq!(imported["product"]["user_id"], other.as_str());
        assert_eq!(imported["product"]["name"], "Source");
        assert_eq!((imported["sprints"].clone(), imported["pbis"].clone(), imported["stories"].clone(), imported["tasks"].clone(), imported["logs"].clone()),
            (json!(2), json!(2), json!(4), json!(6), json!(3)));
        assert_eq!(imported["warnings"], json!(["pbis.0.stories.1.assignee: `exporter` is not a member of the new product; left unassigned"]));
        let new_id = imported["product"]["id"].as_str().expect("id").to_string();
        let again = app.get(&format!("/api/products/{new_id}/export"), &them).await.json();
        let mut expected = without_exported_at(first.clone());
        expected["pbis"][0]["stories"][1]["assignee"] = Value::Null;
        assert_eq!(without_exported_at(again), expected);

        // The same owner imports it: name and code made unique, all else equal.
        let res = app.json(Method::POST, "/api/products/import", &me, &first).await;
        assert_eq!(res.status, StatusCode::CREATED, "{}", res.text);
        let mine = res.json();
        assert_eq!(mine["product"]["name"], "Source (imported)");
        assert_eq!(mine["product"]["code"], "SRC-2");
        assert_eq!(mine["warnings"].as_array().expect("warnings").len(), 2);
        let again = app.get(&format!("/api/products/{}/export", mine["product"]["id"].as_str().expect("id")), &me).await.json();
        let mut expected = without_exported_at(first.clone());
        expected["product"]["name"] = json!("Source (imported)");
        expected["product"]["code"] = json!("SRC-2");
        assert_eq!(without_exported_at(again), expected);

        // Code counters continue after the imported codes.
        let row = product::Entity::find_by_id(new_id).one(&app.t.db).await.expect("q").expect("row");
        assert_eq!((row.last_pbi_number, row.last_story_number, row.last_task_number, row.last_sprint_number), (2, 4, 6, 2));
    }

    async fn csv_export_has_one_row_per_item_with_type_and_parent_codes(t) {
        let app = TestApp::new(t).await;
        let mx = app.matrix().await;
        let fx = Fx { app: &app, pid: mx.product_id.clone() };
        fx.backlog().await;
        let res = app.get(&format!("/api/products/{}/export?format=csv", mx.product_id), &As::Bearer(mx.reader.clone())).await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.text);
        assert_eq!(res.header("content-type"), Some("text/csv; charset=utf-8"));
        assert_eq!(res.header("content-disposition"), Some("attachment; filename=\"matrix-backlog.csv\""));
        let lines: Vec<&str> = res.text.split("\r\n").collect();
        assert!(lines[0].starts_with("type,code,pbi_code,story_code,sprint_code,title,"), "{}", lines[0]);
        let types: Vec<&str> = lines[1..].iter().filter(|l| !l.is_empty()).map(|l| l.split(',').next().unwrap_or_default()).collect();
        let count = |t: &str| types.iter().filter(|x| **x == t).count();
        assert_eq!((count("product"), count("sprint"), count("pbi"), count("story"), count("task")), (1, 2, 2, 4, 6));
        assert!(res.text.contains("task,T-2,PBI-1,ST-002,SP-2,Task T-2,"), "{}", res.text);
        // Quotes, commas and newlines are quoted.
        assert!(res.text.contains("\"line one\nline \"\"two\"\"\""), "{}", res.text);
        assert!(res.text.contains("\"plan, with \"\"quotes\"\"\""));
        for (who, token, may_read, _) in mx.callers() {
            let res = app.get(&format!("/api/products/{}/export?format=csv", mx.product_id), &As::Bearer(token)).await;
            assert_eq!(res.status, if may_read { StatusCode::OK } else { StatusCode::NOT_FOUND }, "{who}");
        }
        // An unknown format is a bad query parameter: 422 naming it.
        let res = app.get(&format!("/api/products/{}/export?format=xml", mx.product_id), &As::Bearer(mx.owner)).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", res.text);
        assert_eq!(res.json()["error"]["details"][0]["path"], "format", "{}", res.text);
    }

    async fn an_import_with_one_bad_row_is_refused_by_path_and_writes_nothing(t) {
        let app = TestApp::new(t).await;
        let mx = app.matrix().await;
        let fx = Fx { app: &app, pid: mx.product_id.clone() };
        fx.backlog().await;
        let owner = As::Bearer(mx.owner.clone());
        let good = app.get(&format!("/api/products/{}/export", mx.product_id), &owner).await.json();
        let before = snapshot(&app).await;

        let mut bad = good.clone();
        bad["pbis"][1]["stories"][0]["tasks"][1]["title"] = json!("");
        let res = app.json(Method::POST, "/api/products/import", &owner, &bad).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", res.text);
        assert_eq!(paths(&res), ["pbis.1.stories.0.tasks.1.title"]);

        let mut bad = good.clone();
        bad["pbis"][0]["stories"][0]["sprint_code"] = json!("SP-99");
        bad["pbis"][1]["code"] = json!("PBI-1");
        bad["pbis"][0]["priority"] = json!(7);
        bad["version"] = json!(2);
        let res = app.json(Method::POST, "/api/products/import", &owner, &bad).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(paths(&res), ["version", "pbis.0.priority", "pbis.0.stories.0.sprint_code", "pbis.1.code"]);

        let mut bad = good.clone();
        bad["pbis"][0]["stories"][1]["tasks"][0]["status"] = json!("finished");
        let res = app.json(Method::POST, "/api/products/import", &owner, &bad).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(paths(&res), ["pbis.0.stories.1.tasks.0.status"]);

        let mut bad = good.clone();
        bad["pbis"][0]["stories"][1]["logs"][1]["status"] = Value::Null;
        bad["product"]["definition_of_done"] = json!("");
        let res = app.json(Method::POST, "/api/products/import", &owner, &bad).await;
        assert_eq!(paths(&res), ["pbis.0.stories.1.logs.1.status", "product.definition_of_done"]);

        let mut bad = good.clone();
        bad["pbis"][0]["surprise"] = json!(1);
        let res = app.json(Method::POST, "/api/products/import", &owner, &bad).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(res.text.contains("surprise"));
        assert_eq!(snapshot(&app).await, before);

        let res = app.json(Method::POST, "/api/products/import", &As::Bearer(mx.demo.clone()), &good).await;
        assert_eq!(res.status, StatusCode::FORBIDDEN);
        assert_eq!(snapshot(&app).await, before);
        // Read-only members may import into a product of their own.
        let res = app.json(Method::POST, "/api/products/import", &As::Bearer(mx.reader), &good).await;
        assert_eq!(res.status, StatusCode::CREATED, "{}", res.text);
    }
}
