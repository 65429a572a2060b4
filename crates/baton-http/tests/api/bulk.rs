//! Bulk operations over HTTP: reorder, move to a sprint and status changes,
//! each all-or-nothing — one bad id is a 422 naming it and the database is
//! exactly as before — plus the permission matrix.

use axum::http::{Method, StatusCode};
use baton_testkit::backend_tests;
use serde_json::{Value, json};

use crate::{
    harness::{As, Matrix, Res, TestApp},
    sprints::fx,
};

fn paths(res: &Res) -> Vec<String> {
    res.json()["error"]["details"]
        .as_array()
        .map(|a| a.iter().map(|d| d["path"].as_str().unwrap_or_default().to_string()).collect())
        .unwrap_or_default()
}

fn codes(v: &Value, key: &str) -> Vec<String> {
    v[key].as_array().expect(key).iter().map(|i| i["code"].as_str().expect("code").to_string()).collect()
}

async fn post(app: &TestApp, tok: &str, path: &str, body: Value) -> Res {
    app.json(Method::POST, &format!("/api/bulk/{path}"), &As::Bearer(tok.into()), &body).await
}

/// A product with two PBIs; PBI-1 has four stories, ST-001 has three tasks.
struct Tree {
    pid: String,
    p1: String,
    p2: String,
    s: Vec<String>,
    t: Vec<String>,
    other_pbi_story: String,
}

async fn tree(app: &TestApp, pid: &str) -> Tree {
    let p1 = fx::pbi(app, pid, "PBI-1", "READY", 1.0).await;
    let p2 = fx::pbi(app, pid, "PBI-2", "READY", 2.0).await;
    let mut s = Vec::new();
    for n in 1..=4 {
        s.push(fx::story(app, pid, &p1, &format!("ST-00{n}"), None, "OPEN", n as f64).await);
    }
    let other_pbi_story = fx::story(app, pid, &p2, "ST-005", None, "OPEN", 1.0).await;
    let mut t = Vec::new();
    for n in 1..=3 {
        t.push(fx::task(app, pid, &s[0], &format!("T-{n}"), None, "TO_DO", n as f64).await);
    }
    Tree { pid: pid.to_string(), p1, p2, s, t, other_pbi_story }
}

backend_tests! {
    async fn reorder_numbers_the_listed_siblings_first_and_keeps_the_rest_in_order(t) {
        let app = TestApp::new(t).await;
        let m = app.matrix().await;
        let tr = tree(&app, &m.product_id).await;
        let res = post(&app, &m.owner, "reorder", json!({"ids": [tr.s[2], "st-001"]})).await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.text);
        let body = res.json();
        assert_eq!(body["kind"], "story");
        assert_eq!(body["parent_id"], tr.p1.as_str());
        assert_eq!(codes(&body, "items"), ["ST-003", "ST-001", "ST-002", "ST-004"]);
        let orders: Vec<f64> = body["items"].as_array().expect("items").iter().map(|i| i["sort_order"].as_f64().expect("f64")).collect();
        assert_eq!(orders, [1.0, 2.0, 3.0, 4.0]);
        assert_eq!(fx::col(&app, "stories", "sort_order", &tr.s[2]).await.parse::<f64>().expect("num"), 1.0);
        assert_eq!(fx::col(&app, "stories", "sort_order", &tr.s[0]).await.parse::<f64>().expect("num"), 2.0);
        assert_eq!(fx::col(&app, "stories", "sort_order", &tr.s[3]).await.parse::<f64>().expect("num"), 4.0);

        let res = post(&app, &m.writer, "reorder", json!({"kind": "task", "ids": ["T-3", "T-2", "T-1"]})).await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.text);
        assert_eq!(codes(&res.json(), "items"), ["T-3", "T-2", "T-1"]);
        let res = post(&app, &m.owner, "reorder", json!({"ids": [tr.p2, tr.p1]})).await;
        assert_eq!(res.json()["kind"], "pbi");
        assert_eq!(codes(&res.json(), "items"), ["PBI-2", "PBI-1"]);
        assert_eq!(res.json()["parent_id"], tr.pid.as_str());
    }

    async fn a_bad_reorder_is_422_naming_the_id_and_changes_nothing(t) {
        let app = TestApp::new(t).await;
        let m = app.matrix().await;
        let tr = tree(&app, &m.product_id).await;
        let theirs = app.product_row(&app.user("them", &[], false).await, "Theirs").await;
        let their_pbi = fx::pbi(&app, &theirs, "PBI-1", "READY", 1.0).await;
        let their_story = fx::story(&app, &theirs, &their_pbi, "ST-001", None, "OPEN", 1.0).await;
        let before = fx::snapshot(&app).await;
        for (body, want) in [
            (json!({"ids": []}), vec!["ids"]),
            (json!({"kind": "story", "ids": []}), vec!["ids"]),
            (json!({"ids": [tr.s[0], tr.s[1], tr.s[0]]}), vec!["ids.2"]),
            (json!({"ids": [tr.s[0], "ST-001"]}), vec!["ids.1"]),
            (json!({"ids": [tr.s[0], tr.s[1], "no-such-id"]}), vec!["ids.2"]),
            (json!({"ids": [tr.s[0], their_story]}), vec!["ids.1"]),
            (json!({"ids": [tr.s[0], tr.other_pbi_story]}), vec!["ids.1"]),
            (json!({"ids": ["nothing-at-all"]}), vec!["ids.0"]),
            (json!({"kind": "task", "ids": ["ST-001"]}), vec!["ids.0"]),
            (json!({"kind": "story", "ids": [tr.s[0], tr.t[0]]}), vec!["ids.1"]),
            (json!({"kind": "epic", "ids": [tr.s[0]]}), vec!["kind"]),
            (json!({"ids": [tr.s[0]], "extra": true}), vec!["extra"]),
        ] {
            let res = post(&app, &m.owner, "reorder", body.clone()).await;
            assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {}", res.text);
            let got = paths(&res);
            if want == ["extra"] {
                assert!(res.text.contains("extra"), "{}", res.text);
            } else {
                assert_eq!(got, want, "{body}: {}", res.text);
            }
        }
        // Not existing and not accessible read exactly the same.
        let gone = post(&app, &m.owner, "reorder", json!({"kind": "story", "ids": ["0190aaaa-0000-7000-8000-000000000000"]})).await;
        let hidden = post(&app, &m.owner, "reorder", json!({"kind": "story", "ids": [their_story]})).await;
        assert_eq!(
            gone.json()["error"]["details"][0]["message"].as_str().map(|s| s.replace("0190aaaa-0000-7000-8000-000000000000", "X")),
            hidden.json()["error"]["details"][0]["message"].as_str().map(|s| s.replace(&their_story, "X"))
        );
        assert_eq!(fx::snapshot(&app).await, before);
    }

    async fn move_to_sprint_moves_stories_and_tasks_and_refuses_bad_requests_whole(t) {
        let app = TestApp::new(t).await;
        let m = app.matrix().await;
        let tr = tree(&app, &m.product_id).await;
        let pid = tr.pid.clone();
        let sp = fx::sprint(&app, &pid, "SP-1", "OPEN").await;
        let closed = fx::sprint(&app, &pid, "SP-2", "CLOSED").await;
        let done = fx::story(&app, &pid, &tr.p2, "ST-006", None, "DONE", 2.0).await;
        let theirs = app.product_row(&app.user("them", &[], false).await, "Theirs").await;
        let their_sprint = fx::sprint(&app, &theirs, "SP-1", "OPEN").await;
        let me = app.get("/api/me", &As::Bearer(m.owner.clone())).await.json();
        let mine2 = app.product_row(me["id"].as_str().expect("id"), "Mine too").await;
        let mine2_pbi = fx::pbi(&app, &mine2, "PBI-1", "READY", 1.0).await;
        let mine2_story = fx::story(&app, &mine2, &mine2_pbi, "ST-001", None, "OPEN", 1.0).await;

        let before = fx::snapshot(&app).await;
        for (body, want) in [
            (json!({"story_ids": [tr.s[0]]}), vec!["sprint_id"]),
            (json!({"story_ids": [], "sprint_id": sp}), vec!["story_ids"]),
            (json!({"story_ids": [tr.s[0], tr.s[0]], "sprint_id": sp}), vec!["story_ids.1"]),
            (json!({"story_ids": [tr.s[0], done], "sprint_id": sp}), vec!["story_ids.1"]),
            (json!({"story_ids": [tr.s[0], "nope"], "sprint_id": sp}), vec!["story_ids.1"]),
            (json!({"story_ids": [tr.s[0], mine2_story], "sprint_id": sp}), vec!["story_ids.1"]),
            (json!({"story_ids": [tr.s[0]], "sprint_id": closed}), vec!["sprint_id"]),
            (json!({"story_ids": [tr.s[0]], "sprint_id": their_sprint}), vec!["sprint_id"]),
            (json!({"story_ids": [tr.s[0]], "sprint_id": "nope"}), vec!["sprint_id"]),
        ] {
            let res = post(&app, &m.owner, "move-to-sprint", body.clone()).await;
            assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {}", res.text);
            assert_eq!(paths(&res), want, "{body}: {}", res.text);
        }
        assert_eq!(fx::snapshot(&app).await, before);

        let res = post(&app, &m.owner, "move-to-sprint", json!({"story_ids": [tr.s[0], "st-5"], "sprint_id": sp})).await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.text);
        let body = res.json();
        assert_eq!(body["sprint"]["code"], "SP-1");
        assert_eq!(codes(&body, "stories"), ["ST-001", "ST-005"]);
        assert!(body["stories"].as_array().expect("s").iter().all(|s| s["status"] == "in_sprint" && s["sprint_id"] == sp.as_str()));
        for t in &tr.t {
            assert_eq!(fx::col(&app, "tasks", "sprint_id", t).await, sp);
        }
        let res = post(&app, &m.owner, "move-to-sprint", json!({"story_ids": [tr.s[0]], "sprint_id": null})).await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.text);
        assert_eq!(res.json()["sprint"], Value::Null);
        assert_eq!(res.json()["stories"][0]["status"], "open");
        assert_eq!(fx::col(&app, "stories", "sprint_id", &tr.s[0]).await, "NULL");
        assert_eq!(fx::col(&app, "tasks", "sprint_id", &tr.t[0]).await, "NULL");
        assert_eq!(fx::col(&app, "stories", "sprint_id", &tr.other_pbi_story).await, sp);
    }

    async fn bulk_task_status_runs_propagation_and_reports_promotions_and_demotions(t) {
        let app = TestApp::new(t).await;
        let m = app.matrix().await;
        let pid = m.product_id.clone();
        let sp = fx::sprint(&app, &pid, "SP-1", "OPEN").await;
        let p1 = fx::pbi(&app, &pid, "PBI-1", "READY", 1.0).await;
        let s1 = fx::story(&app, &pid, &p1, "ST-001", Some(&sp), "IN_SPRINT", 1.0).await;
        let t1 = fx::task(&app, &pid, &s1, "T-1", Some(&sp), "TO_DO", 1.0).await;
        let t2 = fx::task(&app, &pid, &s1, "T-2", Some(&sp), "IN_PROGRESS", 2.0).await;
        let res = post(&app, &m.writer, "status", json!({"kind": "task", "ids": ["T-1", t2], "status": "done"})).await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.text);
        let body = res.json();
        assert_eq!(body["items"][0]["from"], "todo");
        assert_eq!(body["items"][0]["status"], "done");
        assert_eq!(body["items"][1]["from"], "in_progress");
        let rolled: Vec<(String, String, String)> = body["rolled_up"].as_array().expect("rolled").iter().map(|r| (r["kind"].as_str().expect("k").to_string(), r["from"].as_str().expect("f").to_string(), r["to"].as_str().expect("t").to_string())).collect();
        assert_eq!(rolled, [
            ("story".to_string(), "in_sprint".to_string(), "done".to_string()),
            ("pbi".to_string(), "ready".to_string(), "done".to_string()),
            ("sprint".to_string(), "open".to_string(), "closed".to_string()),
        ]);
        assert_eq!(body["rolled_up"][0]["code"], "ST-001");
        assert_eq!(fx::col(&app, "stories", "status", &s1).await, "DONE");
        assert_eq!(fx::col(&app, "pbis", "status", &p1).await, "DONE");
        assert_eq!(fx::col(&app, "sprints", "status", &sp).await, "CLOSED");

        let res = post(&app, &m.owner, "status", json!({"kind": "task", "ids": [t1], "status": "todo"})).await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.text);
        assert_eq!(res.json()["rolled_up"][0]["to"], "in_sprint", "demoted: {}", res.text);
        assert_eq!(fx::col(&app, "stories", "status", &s1).await, "IN_SPRINT");
        assert_eq!(fx::col(&app, "pbis", "status", &p1).await, "READY");
    }

    async fn bulk_story_and_pbi_status_follow_the_rules_and_a_bad_item_changes_nothing(t) {
        let app = TestApp::new(t).await;
        let m = app.matrix().await;
        let tr = tree(&app, &m.product_id).await;
        let pid = tr.pid.clone();
        let sp = fx::sprint(&app, &pid, "SP-1", "OPEN").await;
        let planned = fx::story(&app, &pid, &tr.p2, "ST-007", Some(&sp), "IN_SPRINT", 3.0).await;
        let before = fx::snapshot(&app).await;
        for (body, want) in [
            (json!({"kind": "story", "ids": [tr.s[1]], "status": "finished"}), vec!["status"]),
            (json!({"kind": "story", "ids": [], "status": "done"}), vec!["ids"]),
            (json!({"kind": "story", "ids": [tr.s[1], "nope"], "status": "bogus"}), vec!["ids.1", "status"]),
            (json!({"kind": "story", "ids": [tr.s[1], tr.s[0]], "status": "done"}), vec!["ids.1"]),
            (json!({"kind": "story", "ids": [tr.s[1]], "status": "in_sprint"}), vec!["ids.0"]),
            (json!({"kind": "story", "ids": [tr.s[1], planned], "status": "open"}), vec!["ids.1"]),
            (json!({"kind": "task", "ids": [tr.t[0], tr.t[1], tr.t[0]], "status": "done"}), vec!["ids.2"]),
            (json!({"kind": "task", "ids": [tr.t[0], "T-99"], "status": "done"}), vec!["ids.1"]),
            (json!({"kind": "pbi", "ids": [tr.p1, tr.s[1]], "status": "blocked"}), vec!["ids.1"]),
            (json!({"kind": "pbi", "ids": ["PBI-1"]}), vec!["status"]),
        ] {
            let res = post(&app, &m.owner, "status", body.clone()).await;
            assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {}", res.text);
            assert_eq!(paths(&res), want, "{body}: {}", res.text);
        }
        assert_eq!(fx::snapshot(&app).await, before);

        let res = post(&app, &m.owner, "status", json!({"kind": "story", "ids": ["ST-005"], "status": "done"})).await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.text);
        assert_eq!(res.json()["items"][0]["status"], "done");
        // PBI-2 still has the planned ST-007, so it stays ready.
        assert_eq!(res.json()["rolled_up"], json!([]));
        let res = post(&app, &m.owner, "status", json!({"kind": "story", "ids": [planned], "status": "done"})).await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.text);
        assert_eq!(res.json()["rolled_up"][0]["kind"], "pbi");
        assert_eq!(res.json()["rolled_up"][0]["to"], "done");
        assert_eq!(fx::col(&app, "pbis", "status", &tr.p2).await, "DONE");
        let res = post(&app, &m.owner, "status", json!({"kind": "pbi", "ids": ["PBI-1", "pbi-2"], "status": "blocked"})).await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.text);
        assert_eq!(codes(&res.json(), "items"), ["PBI-1", "PBI-2"]);
        assert_eq!(res.json()["items"][1]["from"], "done");
        assert_eq!(fx::col(&app, "pbis", "status", &tr.p1).await, "BLOCKED");
        assert_eq!(fx::col(&app, "pbis", "status", &tr.p2).await, "BLOCKED");
    }

    async fn every_bulk_route_follows_the_permission_matrix_without_leaking_existence(t) {
        let app = TestApp::new(t).await;
        let m = app.matrix().await;
        let tr = tree(&app, &m.product_id).await;
        let sp = fx::sprint(&app, &tr.pid, "SP-1", "OPEN").await;
        for (who, tok, may_read, may_write) in m.callers() {
            let before = fx::snapshot(&app).await;
            let calls = [
                ("reorder", json!({"ids": [tr.s[1], tr.s[0]]})),
                ("move-to-sprint", json!({"story_ids": [tr.s[2]], "sprint_id": sp})),
                ("status", json!({"kind": "task", "ids": [tr.t[2]], "status": "in_progress"})),
            ];
            for (path, body) in calls {
                let res = post(&app, &tok, path, body).await;
                if may_write {
                    assert_eq!(res.status, StatusCode::OK, "{who} {path}: {}", res.text);
                } else if who.starts_with("demo") {
                    assert_eq!(res.status, StatusCode::FORBIDDEN, "{who} {path}");
                    assert_eq!(res.error_code(), "demo_read_only");
                } else if may_read {
                    assert_eq!(res.status, Matrix::refused_status(true), "{who} {path}: {}", res.text);
                } else {
                    // Ids the caller cannot see are reported exactly like ids that do not exist.
                    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{who} {path}: {}", res.text);
                    let first = paths(&res)[0].clone();
                    assert!(first == "ids.0" || first == "story_ids.0", "{who} {path}: {}", res.text);
                }
            }
            if !may_write {
                assert_eq!(fx::snapshot(&app).await, before, "{who}: nothing changed");
            }
        }
        let res = app.json(Method::POST, "/api/bulk/status", &As::Nobody, &json!({"kind": "task", "ids": [tr.t[0]], "status": "done"})).await;
        assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    }
}
