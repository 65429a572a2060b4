//! Static files embedded in the binary and served under content-hashed
//! names (`/static/js/live.3f2a9c1b.js`), so a page can cache them for a
//! year and a new build is picked up at once.
//!
//! ES modules import each other by relative name (`./app.js`); those
//! specifiers are rewritten to the hashed names at start-up, so a module is
//! loaded once, under one URL, whatever page imports it.

use std::{collections::HashMap, sync::LazyLock};

use axum::{
    extract::Path,
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};

/// One embedded file, as listed in [`SOURCES`].
struct Source {
    path: &'static str,
    bytes: &'static [u8],
    content_type: &'static str,
}

macro_rules! embed {
    ($($path:literal => $ct:literal),* $(,)?) => {
        &[$(Source { path: $path, bytes: include_bytes!(concat!("../../static/", $path)), content_type: $ct }),*]
    };
}

/// Every static file. Modules come after the modules they import, so their
/// imports can be rewritten to names that are already known.
static SOURCES: &[Source] = embed![
    "css/app.css" => "text/css; charset=utf-8",
    "favicon.svg" => "image/svg+xml",
    "js/app.js" => "text/javascript; charset=utf-8",
    "js/live.js" => "text/javascript; charset=utf-8",
    "js/forms.js" => "text/javascript; charset=utf-8",
    "js/dnd.js" => "text/javascript; charset=utf-8",
    "js/hotkeys.js" => "text/javascript; charset=utf-8",
    "js/poll.js" => "text/javascript; charset=utf-8",
    "js/browse-bid.js" => "text/javascript; charset=utf-8",
];

/// A file ready to serve.
struct Asset {
    body: Vec<u8>,
    content_type: &'static str,
}

struct Assets {
    /// Logical path (`js/app.js`) → hashed URL (`/static/js/app.1a2b3c4d.js`).
    urls: HashMap<&'static str, String>,
    /// Hashed path under `/static/` → the file.
    files: HashMap<String, Asset>,
}

/// FNV-1a, 64 bit: enough to tell two builds of a file apart (a cache key,
/// not a security boundary), and no dependency.
fn fingerprint(bytes: &[u8]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{:08x}", h >> 32)
}

fn hashed_path(path: &str, hash: &str) -> String {
    match path.rsplit_once('.') {
        Some((stem, ext)) => format!("{stem}.{hash}.{ext}"),
        None => format!("{path}.{hash}"),
    }
}

static ASSETS: LazyLock<Assets> = LazyLock::new(|| {
    let mut urls = HashMap::new();
    let mut files = HashMap::new();
    // (`./app.js`, `./app.1a2b3c4d.js`) for every module seen so far.
    let mut rewrites: Vec<(String, String)> = Vec::new();
    for s in SOURCES {
        let mut body = s.bytes.to_vec();
        if s.path.ends_with(".js") {
            let mut text = String::from_utf8_lossy(&body).into_owned();
            for (from, to) in &rewrites {
                text = text.replace(from.as_str(), to);
            }
            body = text.into_bytes();
        }
        let hashed = hashed_path(s.path, &fingerprint(&body));
        if let Some(name) = s.path.strip_prefix("js/") {
            let hashed_name = hashed.trim_start_matches("js/").to_string();
            rewrites.push((format!("\"./{name}\""), format!("\"./{hashed_name}\"")));
        }
        urls.insert(s.path, format!("/static/{hashed}"));
        files.insert(hashed, Asset { body, content_type: s.content_type });
    }
    Assets { urls, files }
});

/// The URL of an embedded file (`"js/live.js"` → `/static/js/live.1a2b3c4d.js`).
/// An unknown name gives the unhashed URL, which answers 404: a typo shows
/// up as a broken asset in tests, never as a panic.
pub fn url(path: &str) -> String {
    ASSETS.urls.get(path).cloned().unwrap_or_else(|| format!("/static/{path}"))
}

/// `GET /static/{*path}`: an embedded file by its hashed name, cached for a
/// year (the name changes when the content does).
pub async fn serve(Path(path): Path<String>) -> Response {
    match ASSETS.files.get(&path) {
        Some(a) => (
            [
                (header::CONTENT_TYPE, HeaderValue::from_static(a.content_type)),
                (header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=31536000, immutable")),
            ],
            a.body.clone(),
        )
            .into_response(),
        None => (StatusCode::NOT_FOUND, [(header::CACHE_CONTROL, "no-store")], "not found").into_response(),
    }
}

/// Every embedded file's hashed URL and size in bytes (uncompressed), for
/// tests and the page-weight figures.
pub fn all() -> Vec<(String, usize)> {
    let mut v: Vec<_> = ASSETS.urls.values().map(|u| (u.clone(), 0)).collect();
    for (u, size) in &mut v {
        *size = ASSETS.files.get(u.trim_start_matches("/static/")).map_or(0, |a| a.body.len());
    }
    v.sort();
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_file_has_a_hashed_url_that_serves_it() {
        for s in SOURCES {
            let u = url(s.path);
            assert_ne!(u, format!("/static/{}", s.path), "{} has no hashed name", s.path);
            assert!(ASSETS.files.contains_key(u.trim_start_matches("/static/")), "{u} is not served");
        }
    }

    #[test]
    fn module_imports_point_at_hashed_names() {
        let app = url("js/app.js");
        let app_name = app.rsplit('/').next().unwrap_or_default();
        for s in SOURCES.iter().filter(|s| s.path.ends_with(".js") && s.path != "js/app.js") {
            let body = &ASSETS.files[url(s.path).trim_start_matches("/static/")].body;
            let text = String::from_utf8_lossy(body);
            assert!(!text.contains("\"./app.js\""), "{} still imports ./app.js", s.path);
            if text.contains("from \"./app") {
                assert!(text.contains(app_name), "{} imports app.js under another name", s.path);
            }
        }
    }

    #[test]
    fn fingerprints_change_with_content() {
        assert_ne!(fingerprint(b"a"), fingerprint(b"b"));
        assert_eq!(fingerprint(b"same"), fingerprint(b"same"));
        assert_eq!(hashed_path("js/app.js", "abc"), "js/app.abc.js");
    }
}
