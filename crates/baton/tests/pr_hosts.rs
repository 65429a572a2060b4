//! `--pr-hosts` (`BATON_PR_HOSTS`) reaches the services of a real
//! `baton serve`: the listed hosts replace the defaults for
//! `PUT /api/pbis/{id}/pr`, and the product repository's host stays allowed.

mod common;

use baton_testkit::backend_tests;
use common::*;
use serde_json::{Value, json};

const PASSWORD: &str = "correct horse battery";

async fn call(server: &Server, auth: &str, method: &str, path: &str, body: &Value) -> Response {
    let body = body.to_string();
    let headers = [("Authorization", auth), ("Content-Type", "application/json")];
    server.request(method, path, &headers, Some(body.as_bytes())).await
}

backend_tests! {
    async fn configured_pr_hosts_replace_the_defaults(t) {
        let baton = Baton::new(&t.url);
        baton.create_user("lead", PASSWORD, &["--role", "product_owner"]).await;
        let token = baton.create_token("lead", "rest").await;
        let auth = format!("Bearer {token}");
        let dir = baton.scratch.path.clone();
        let server = Server::start_with(&t.url, &dir, &["--pr-hosts", "git.example.com, forge.internal"]).await;

        let product = json!({"name": "Hosts", "definition_of_done": "done", "repo_url": "git@code.corp:team/app.git"});
        let res = call(&server, &auth, "POST", "/api/products", &product).await;
        assert_eq!(res.status, 201, "{res:?}");
        let pid = res.json()["id"].as_str().expect("product id").to_string();
        let res = call(&server, &auth, "POST", &format!("/api/products/{pid}/pbis"), &json!({"title": "Ship"})).await;
        assert_eq!(res.status, 201, "{res:?}");
        let pbi = res.json()["id"].as_str().expect("pbi id").to_string();
        let path = format!("/api/pbis/{pbi}/pr");

        // github.com is a default, replaced by the flag.
        let res = call(&server, &auth, "PUT", &path, &json!({"pr_url": "https://github.com/a/b/pull/1"})).await;
        assert_eq!(res.status, 422, "{res:?}");
        assert_eq!(res.json()["error"]["details"][0]["path"], "pr_url", "{res:?}");
        for url in [
            "https://git.example.com/team/app/pulls/2",
            "https://forge.internal/team/app/pull/3",
            "https://code.corp/team/app/-/merge_requests/4",
        ] {
            let res = call(&server, &auth, "PUT", &path, &json!({"pr_url": url})).await;
            assert_eq!(res.status, 200, "{url}: {res:?}");
            assert_eq!(res.json()["pr_url"], url);
        }
    }
}
