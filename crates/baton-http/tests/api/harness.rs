//! `TestApp`: a router over a fresh database plus helpers to call it.

use axum::{
    Router,
    body::Body,
    http::{HeaderMap, Method, Request, StatusCode, header},
};
use baton_app::{Actor, App, AppConfig, accounts::NewUser, tokens::NewToken};
use baton_domain::roles::Role;
use baton_http::{AppState, HttpConfig};
use baton_testkit::TestDb;
use serde_json::Value;
use tower::ServiceExt;

pub const ORIGIN: &str = "http://127.0.0.1:8080";

pub struct TestApp {
    pub t: TestDb,
    pub state: AppState,
    pub router: Router,
}

pub struct Res {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub text: String,
}

impl Res {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text))
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
    /// The value of the session cookie set by this response, if any.
    pub fn session_cookie(&self) -> Option<String> {
        self.headers
            .get_all(header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(|c| c.strip_prefix("baton_session="))
            .map(|rest| rest.split(';').next().unwrap_or_default().to_string())
            .filter(|v| !v.is_empty())
    }
    pub fn error_code(&self) -> String {
        self.json()["error"]["code"].as_str().unwrap_or_default().to_string()
    }
}

/// How a request authenticates.
#[derive(Clone)]
pub enum As {
    Nobody,
    Bearer(String),
    /// A browser session, sending our own Origin on writes.
    Cookie(String),
}

impl TestApp {
    pub async fn new(t: TestDb) -> TestApp {
        Self::with_config(t, AppConfig::default()).await
    }

    pub async fn with_config(t: TestDb, config: AppConfig) -> TestApp {
        let state = AppState::new(
            App::local(t.db.clone(), config),
            HttpConfig { public_url: ORIGIN.into(), ..Default::default() },
        );
        let router = baton_http::router(state.clone());
        TestApp { t, state, router }
    }

    pub fn app(&self) -> &App {
        &self.state.app
    }

    pub async fn send(&self, req: Request<Body>) -> Res {
        let res = self.router.clone().oneshot(req).await.expect("router never fails");
        let status = res.status();
        let headers = res.headers().clone();
        let bytes = axum::body::to_bytes(res.into_body(), usize::MAX).await.expect("body");
        Res { status, headers, text: String::from_utf8_lossy(&bytes).into_owned() }
    }

    fn builder(method: Method, path: &str, who: &As) -> axum::http::request::Builder {
        let mut b = Request::builder().method(method.clone()).uri(path).header(header::HOST, "127.0.0.1:8080");
        match who {
            As::Nobody => {}
            As::Bearer(t) => b = b.header(header::AUTHORIZATION, format!("Bearer {t}")),
            As::Cookie(c) => {
                b = b.header(header::COOKIE, format!("baton_session={c}"));
                if method != Method::GET {
                    b = b.header(header::ORIGIN, ORIGIN);
                }
            }
        }
        b
    }

    pub async fn get(&self, path: &str, who: &As) -> Res {
        self.send(Self::builder(Method::GET, path, who).body(Body::empty()).expect("request")).await
    }

    pub async fn json(&self, method: Method, path: &str, who: &As, body: &Value) -> Res {
        self.raw(method, path, who, "application/json", body.to_string()).await
    }

    pub async fn raw(&self, method: Method, path: &str, who: &As, content_type: &str, body: String) -> Res {
        let req = Self::builder(method, path, who)
            .header(header::CONTENT_TYPE, content_type)
            .body(Body::from(body))
            .expect("request");
        self.send(req).await
    }

    /// Posts an HTML form with our own Origin (as a browser would).
    pub async fn form(&self, path: &str, who: &As, fields: &[(&str, &str)]) -> Res {
        let body = fields.iter().map(|(k, v)| format!("{}={}", enc(k), enc(v))).collect::<Vec<_>>().join("&");
        let mut b =
            Self::builder(Method::POST, path, who).header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        if matches!(who, As::Nobody) {
            b = b.header(header::ORIGIN, ORIGIN);
        }
        self.send(b.body(Body::from(body)).expect("request")).await
    }

    /// Creates a user through the services (as the command line does).
    pub async fn user(&self, username: &str, roles: &[Role], is_demo: bool) -> String {
        let input = NewUser {
            username: username.into(),
            password: format!("{username}-password"),
            roles: roles.to_vec(),
            is_demo,
            ..Default::default()
        };
        self.app().create_user(&Actor::cli(), input).await.expect("create user").id
    }

    /// A token for a user.
    pub async fn token_for(&self, user_id: &str) -> String {
        let input = NewToken { label: "test".into(), ..Default::default() };
        self.app().create_token(&Actor::cli(), user_id, input).await.expect("create token").token
    }

    /// An admin user and its token.
    pub async fn admin(&self) -> (String, String) {
        let id = self.user("admin", &[Role::Admin], false).await;
        let token = self.token_for(&id).await;
        (id, token)
    }

    /// Logs in through the form and returns the session cookie.
    pub async fn login(&self, username: &str, password: &str) -> String {
        let res = self.form("/login", &As::Nobody, &[("username", username), ("password", password)]).await;
        assert_eq!(res.status, StatusCode::SEE_OTHER, "login failed: {}", res.text);
        res.session_cookie().expect("session cookie")
    }

    pub async fn count(&self, table: &str) -> i64 {
        use sea_orm::ConnectionTrait;
        let row = self
            .t
            .db
            .query_one_raw(sea_orm::Statement::from_string(
                self.t.db.get_database_backend(),
                format!("SELECT COUNT(*) AS c FROM {table}"),
            ))
            .await
            .expect("count")
            .expect("row");
        row.try_get::<i64>("", "c").expect("count value")
    }
}

fn enc(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(b as char),
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// Everyone the permission matrix needs, around one product.
pub struct Matrix {
    /// The product everyone is tested against.
    pub product_id: String,
    /// Owner's token.
    pub owner: String,
    /// A READ_WRITE member's token.
    pub writer: String,
    /// A READ_ONLY member's token.
    pub reader: String,
    /// A user with no relation to the product.
    pub outsider: String,
    /// A demo user who is a READ_WRITE member (still read-only).
    pub demo: String,
    /// The owner's token scoped to this product.
    pub scoped_in: String,
    /// The owner's token scoped to another product of theirs.
    pub scoped_out: String,
}

impl Matrix {
    /// (name, token, may read, may write) for every caller kind.
    pub fn callers(&self) -> Vec<(&'static str, String, bool, bool)> {
        vec![
            ("owner", self.owner.clone(), true, true),
            ("read_write member", self.writer.clone(), true, true),
            ("read_only member", self.reader.clone(), true, false),
            ("outsider", self.outsider.clone(), false, false),
            ("demo member", self.demo.clone(), true, false),
            ("token scoped to this product", self.scoped_in.clone(), true, true),
            ("token scoped to another product", self.scoped_out.clone(), false, false),
        ]
    }

    /// The status a caller must get for a write they may not make:
    /// 404 when they cannot see the product, 403 when they can.
    pub fn refused_status(may_read: bool) -> StatusCode {
        if may_read { StatusCode::FORBIDDEN } else { StatusCode::NOT_FOUND }
    }
}

impl TestApp {
    /// Inserts a product owned by `owner_id` directly (fixtures only).
    pub async fn product_row(&self, owner_id: &str, name: &str) -> String {
        use baton_store::{
            entities::product,
            new_id, now,
            sea_orm::{ActiveModelTrait, ActiveValue::Set},
        };
        let t = now();
        product::ActiveModel {
            id: Set(new_id()),
            user_id: Set(owner_id.into()),
            name: Set(name.into()),
            definition_of_done: Set("Reviewed and tested".into()),
            created_at: Set(t),
            updated_at: Set(t),
            ..Default::default()
        }
        .insert(&self.t.db)
        .await
        .expect("product row")
        .id
    }

    /// Adds a membership row directly (fixtures only); `access` is READ_WRITE or READ_ONLY.
    pub async fn member_row(&self, product_id: &str, user_id: &str, access: &str) {
        use baton_store::{
            entities::product_member,
            new_id, now,
            sea_orm::{ActiveModelTrait, ActiveValue::Set},
        };
        product_member::ActiveModel {
            id: Set(new_id()),
            product_id: Set(product_id.into()),
            user_id: Set(user_id.into()),
            role: Set("DEVELOPER".into()),
            access: Set(access.into()),
            created_at: Set(now()),
        }
        .insert(&self.t.db)
        .await
        .expect("member row");
    }

    /// Builds the permission matrix around a fresh product.
    pub async fn matrix(&self) -> Matrix {
        let owner_id = self.user("mx-owner", &[Role::ProductOwner], false).await;
        let writer_id = self.user("mx-writer", &[Role::Developer], false).await;
        let reader_id = self.user("mx-reader", &[Role::Developer], false).await;
        let outsider_id = self.user("mx-outsider", &[Role::Developer], false).await;
        let demo_id = self.user("mx-demo", &[Role::Developer], true).await;
        let product_id = self.product_row(&owner_id, "Matrix").await;
        let other_product = self.product_row(&owner_id, "Elsewhere").await;
        self.member_row(&product_id, &writer_id, "READ_WRITE").await;
        self.member_row(&product_id, &reader_id, "READ_ONLY").await;
        self.member_row(&product_id, &demo_id, "READ_WRITE").await;
        let scoped = |pid: String| NewToken { label: "scoped".into(), product_ids: vec![pid], expires_in_days: None };
        let scoped_in =
            self.app().create_token(&Actor::cli(), &owner_id, scoped(product_id.clone())).await.expect("scoped").token;
        let scoped_out =
            self.app().create_token(&Actor::cli(), &owner_id, scoped(other_product)).await.expect("scoped").token;
        Matrix {
            product_id,
            owner: self.token_for(&owner_id).await,
            writer: self.token_for(&writer_id).await,
            reader: self.token_for(&reader_id).await,
            outsider: self.token_for(&outsider_id).await,
            demo: self.token_for(&demo_id).await,
            scoped_in,
            scoped_out,
        }
    }
}
