//! Project documents over HTTP: a file larger than the 1 MB JSON limit is
//! uploaded as the raw body of its route (and only there), downloaded as a
//! sandboxed attachment with its own type, and deleted; the upload limit
//! still holds.

use axum::{
    body::Body,
    http::{Method, Request, StatusCode, header},
};
use baton_app::AppConfig;
use baton_domain::roles::Role;
use baton_testkit::{backend_tests, market};
use tower::ServiceExt;

use crate::harness::{As, TestApp};

fn upload(path: &str, token: &str, content_type: &str, body: Vec<u8>) -> Request<Body> {
    Request::builder()
        .method(Method::POST)
        .uri(path)
        .header(header::HOST, "127.0.0.1:8080")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(header::CONTENT_TYPE, content_type)
        .header(header::CONTENT_LENGTH, body.len())
        .body(Body::from(body))
        .expect("request")
}

backend_tests! {
    async fn a_big_file_goes_up_and_comes_back_as_a_sandboxed_attachment(t) {
        let dir = std::env::temp_dir().join(format!("baton-http-docs-{}", baton_store::new_id()));
        let config = AppConfig { documents_url: Some(format!("file://{}", dir.display())), ..AppConfig::default() };
        let app = TestApp::with_config(t, config).await;
        let client = app.user("clara", &[Role::Client], false).await;
        let token = app.token_for(&client).await;
        let pid = app.product_row(&client, "Shop").await;
        market::set_project_status(&app.app().db, &pid, "PLANNING").await;

        let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
        png.resize(2 * 1024 * 1024, 7);
        let path = format!("/api/projects/{pid}/documents?filename=wire%20frame.png&document_type=wireframes");
        let res = app.send(upload(&path, &token, "image/png", png.clone())).await;
        assert_eq!(res.status, StatusCode::CREATED, "{}", res.text);
        let doc = res.json();
        assert_eq!((doc["size"].as_i64(), doc["mime_type"].as_str()), (Some(png.len() as i64), Some("image/png")));
        let id = doc["id"].as_str().expect("id").to_string();

        let listed = app.get(&format!("/api/projects/{pid}/documents"), &As::Bearer(token.clone())).await;
        assert_eq!(listed.json().as_array().map(Vec::len), Some(1));

        let req = Request::builder()
            .uri(format!("/api/documents/{id}/content"))
            .header(header::HOST, "127.0.0.1:8080")
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .body(Body::empty())
            .expect("request");
        let res = app.router.clone().oneshot(req).await.expect("router never fails");
        assert_eq!(res.status(), StatusCode::OK);
        let h = res.headers().clone();
        assert_eq!(h.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()), Some("image/png"));
        let disposition = h.get(header::CONTENT_DISPOSITION).and_then(|v| v.to_str().ok()).unwrap_or_default();
        assert!(disposition.starts_with("attachment; filename=\"wire frame.png\""), "{disposition}");
        let csp = h.get(header::CONTENT_SECURITY_POLICY).and_then(|v| v.to_str().ok()).unwrap_or_default();
        assert!(csp.starts_with("sandbox"), "{csp}");
        let bytes = axum::body::to_bytes(res.into_body(), usize::MAX).await.expect("body");
        assert_eq!(bytes.to_vec(), png, "the same bytes come back");

        // The larger limit is only for uploads: JSON elsewhere keeps 1 MB.
        let big_json = format!("{{\"name\":\"{}\"}}", "x".repeat(2 * 1024 * 1024));
        let res = app.send(upload("/api/products", &token, "application/json", big_json.into_bytes())).await;
        assert_eq!(res.status, StatusCode::PAYLOAD_TOO_LARGE);
        // And uploads stop at theirs.
        let huge = vec![b'a'; app.state.http.upload_limit + 1];
        let res = app.send(upload(&path, &token, "text/plain", huge)).await;
        assert_eq!((res.status, res.error_code()), (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large".to_string()));
        // A lie about the type is named.
        let res = app.send(upload(&path, &token, "image/png", b"<svg onload=alert(1)>".to_vec())).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", res.text);
        assert!(res.text.contains("content_type"), "{}", res.text);
        assert_eq!(app.count("documents").await, 1);

        let res = app.send(
            Request::builder()
                .method(Method::DELETE)
                .uri(format!("/api/documents/{id}"))
                .header(header::HOST, "127.0.0.1:8080")
                .header(header::AUTHORIZATION, format!("Bearer {token}"))
                .body(Body::empty())
                .expect("request"),
        ).await;
        assert_eq!(res.status, StatusCode::NO_CONTENT, "{}", res.text);
        assert_eq!(app.count("documents").await, 0);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
