//! The board page of `baton bench board`: `GET /products/{id}/board`
//! through the real router and middleware (session cookie, access checks,
//! the board read, the askama render of every card, column and lane), in
//! process, the whole body collected. Beside it, in the same run: the
//! service read the page makes (`App::board_read`) and the JSON sprint
//! board of the REST API measured just before, so the ratio shows what
//! rendering HTML costs. Then the bytes of the page and of the JS + CSS it
//! loads, gzip-compressed as served (`Accept-Encoding: gzip`).

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use axum::{
    Router,
    body::Body,
    http::{Request, StatusCode, header},
};
use baton_app::{App, AppConfig, sessions::ClientInfo};
use baton_http::{AppState, HttpConfig};
use baton_store::Db;
use tower::ServiceExt;

use super::{
    board::Row,
    stats::{Stats, ratio, verdict},
};

/// Renders measured before the samples, to warm caches and the pool.
const WARMUP: usize = 20;
/// The targets.
const PAGE_P99_TARGET: Duration = Duration::from_millis(30);
const ASSETS_TARGET: usize = 60 * 1024;

/// The seeded product the page shows.
pub(super) struct Target<'a> {
    /// Product id (the bench product has no code, so its URLs use the id).
    pub product_id: &'a str,
    /// The bench user, who owns it.
    pub username: &'a str,
    /// Their password (the page is read with a real session).
    pub password: &'a str,
    /// Stories on the open sprint's board.
    pub board_stories: usize,
    /// Tasks on it.
    pub board_tasks: usize,
}

async fn get(router: &Router, path: &str, cookie: Option<&str>, gzip: bool) -> anyhow::Result<(StatusCode, Vec<u8>)> {
    let mut req = Request::builder().uri(path).header(header::HOST, "127.0.0.1:8080");
    if let Some(c) = cookie {
        req = req.header(header::COOKIE, format!("baton_session={c}"));
    }
    if gzip {
        req = req.header(header::ACCEPT_ENCODING, "gzip");
    }
    let res = router.clone().oneshot(req.body(Body::empty())?).await.context("the router failed")?;
    let status = res.status();
    let body = axum::body::to_bytes(res.into_body(), usize::MAX).await.context("reading the body")?;
    Ok((status, body.to_vec()))
}

fn stats(samples: &mut [Duration]) -> (Duration, Duration, Duration) {
    Stats::of(samples).map_or((Duration::ZERO, Duration::ZERO, Duration::ZERO), |s| (s.p50, s.p99, s.max))
}

/// Measures the board page and its assets; appends rows to the report.
/// `service` is (sprint_board + JSON p50, raw SELECT p50) from the same run.
pub(super) async fn measure(
    db: &Db,
    t: Target<'_>,
    n: usize,
    backend: &str,
    service: (Duration, Duration),
    rows: &mut Vec<Row>,
) -> anyhow::Result<()> {
    let state = AppState::new(
        App::local(db.clone(), AppConfig::default()),
        HttpConfig { public_url: "http://127.0.0.1:8080".into(), ..Default::default() },
    );
    let client = ClientInfo { ip: "127.0.0.1".into(), user_agent: Some("baton bench".into()) };
    let session =
        state.app.login(t.username, t.password, &client).await.map_err(|e| anyhow::anyhow!("bench login: {e}"))?;
    let actor = state
        .app
        .session_actor(&session.cookie_value)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?
        .context("the bench session is not valid")?;
    let router = baton_http::router(state.clone());
    let path = format!("/products/{}/board", t.product_id);

    // (c) the page, whole body collected.
    let mut page = Vec::with_capacity(n);
    let mut html = Vec::new();
    for i in 0..WARMUP + n {
        let start = Instant::now();
        let (status, body) = get(&router, &path, Some(&session.cookie_value), false).await?;
        let took = start.elapsed();
        if status != StatusCode::OK {
            bail!("the board page answered {status}: {}", String::from_utf8_lossy(&body));
        }
        if i == 0 {
            let text = String::from_utf8_lossy(&body);
            let cards = text.matches("class=\"task-card\"").count();
            let lanes = text.matches("class=\"story-card\"").count();
            if cards != t.board_tasks || lanes != t.board_stories {
                bail!(
                    "the page shows {cards} cards and {lanes} stories, expected {} and {}",
                    t.board_tasks,
                    t.board_stories
                );
            }
        }
        if i >= WARMUP {
            page.push(took);
        }
        html = body;
    }
    // The read the page makes, without the router and the template.
    let mut read = Vec::with_capacity(n);
    for i in 0..WARMUP + n {
        let start = Instant::now();
        let b = state.app.board_read(&actor, t.product_id, None).await.map_err(|e| anyhow::anyhow!("{e}"))?;
        let took = start.elapsed();
        if b.cards.len() != t.board_tasks {
            bail!("board_read gave {} cards, expected {}", b.cards.len(), t.board_tasks);
        }
        if i >= WARMUP {
            read.push(took);
        }
    }
    let (p, r) = (stats(&mut page), stats(&mut read));
    let (gz_status, gz_html) = get(&router, &path, Some(&session.cookie_value), true).await?;
    if gz_status != StatusCode::OK {
        bail!("the gzip board page answered {gz_status}");
    }
    rows.push(Row {
        backend: backend.into(),
        what: format!("board page HTML: {} stories, {} tasks", t.board_stories, t.board_tasks),
        n,
        p50: p.0,
        p99: p.1,
        max: p.2,
        note: format!(
            "{} (p99 < 30 ms); {:.1}x the service read p50, {:.1}x the JSON board p50, {:.1}x raw SELECT p50; {} KB HTML ({} KB gzip)",
            verdict(p.1 < PAGE_P99_TARGET),
            ratio(p.0, r.0),
            ratio(p.0, service.0),
            ratio(p.0, service.1),
            html.len() / 1024,
            gz_html.len() / 1024
        ),
    });
    rows.push(Row {
        backend: backend.into(),
        what: "  baseline: the page's read (App::board_read)".into(),
        n,
        p50: r.0,
        p99: r.1,
        max: r.2,
        note: String::new(),
    });

    // (d) the JS + CSS the page loads, as served with gzip.
    let text = String::from_utf8_lossy(&html);
    let mut urls: Vec<String> = baton_http::pages::assets::all()
        .into_iter()
        .map(|(u, _)| u)
        .filter(|u| {
            (u.ends_with(".js") || u.ends_with(".css")) && (text.contains(u.as_str()) || u.contains("/js/app."))
        })
        .collect();
    urls.sort();
    let (mut raw, mut gz) = (0usize, 0usize);
    for u in &urls {
        let (s1, plain) = get(&router, u, None, false).await?;
        let (s2, packed) = get(&router, u, None, true).await?;
        if s1 != StatusCode::OK || s2 != StatusCode::OK {
            bail!("{u} answered {s1} / {s2}");
        }
        raw += plain.len();
        gz += packed.len();
    }
    rows.push(Row {
        backend: backend.into(),
        what: format!("board page JS + CSS ({} files)", urls.len()),
        n: 1,
        p50: Duration::ZERO,
        p99: Duration::ZERO,
        max: Duration::ZERO,
        note: format!(
            "{} (< 60 KB gzip): {:.1} KB gzip, {:.1} KB raw",
            verdict(gz < ASSETS_TARGET),
            gz as f64 / 1024.0,
            raw as f64 / 1024.0
        ),
    });
    Ok(())
}
