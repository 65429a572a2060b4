//! Self-tests of the harness: its checks catch what they are for, and its
//! drag helpers really move things in this Chromium.

use serde_json::{Value, json};

use crate::harness::{Browser, DropAt, Js, Site, WAIT, html_problems};

/// The page checks themselves catch what they are for: an inline style
/// attribute (CSP and HTML check) and an image without alternative text
/// (axe-core, critical). One backend is enough: nothing here touches the
/// database.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_checks_catch_violations() {
    let site = Site::start(baton_testkit::TestDb::sqlite().await).await;
    let b = site.browser(Js::On).await;
    b.goto("/login").await;
    assert_eq!(b.csp_violations().await, Vec::<Value>::new());
    assert_eq!(b.axe_violations().await.iter().filter(|v| v["impact"] == "critical").count(), 0);
    b.js(
        "document.querySelector('main').insertAdjacentHTML('beforeend', \
         '<p style=\"color: red\">styled</p><img src=\"/static/app.css\">'); return true;",
        vec![],
    )
    .await;
    b.wait_js("window.__batonCsp.length > 0", WAIT).await;
    let csp = b.csp_violations().await;
    assert!(csp.iter().any(|v| v["directive"].as_str().is_some_and(|d| d.starts_with("style-src"))), "{csp:#?}");
    let html = html_problems(&b.client.source().await.expect("page source"));
    assert!(html.iter().any(|p| p.starts_with("`style`")), "{html:#?}");
    let axe = b.axe_violations().await;
    assert!(axe.iter().any(|v| v["id"] == "image-alt" && v["impact"] == "critical"), "{axe:#?}");
}

/// A page (no CSP: a `data:` URL) with an HTML5 drag-and-drop list `#h`
/// and a pointer-event list `#p`, each reordering on drop.
const DND_PAGE: &str = r#"<!doctype html><title>dnd</title>
<style>li { padding: 12px; list-style: none; border: 1px solid gray; }</style>
<ul id="h"><li id="a" draggable="true">A</li><li id="b" draggable="true">B</li><li id="c" draggable="true">C</li></ul>
<ul id="p"><li id="x">X</li><li id="y">Y</li><li id="z">Z</li></ul>
<script>
const place = (s, t, y) => { const r = t.getBoundingClientRect(); if (y < r.top + r.height / 2) t.before(s); else t.after(s); };
for (const li of document.querySelectorAll('ul[id=h] li')) {
  li.addEventListener('dragstart', e => e.dataTransfer.setData('text/plain', li.id));
  li.addEventListener('dragover', e => e.preventDefault());
  li.addEventListener('drop', e => { e.preventDefault(); place(document.getElementById(e.dataTransfer.getData('text/plain')), li, e.clientY); });
}
let held = null;
for (const li of document.querySelectorAll('ul[id=p] li')) li.addEventListener('pointerdown', () => { held = li; });
document.addEventListener('pointerup', e => {
  const t = document.elementFromPoint(e.clientX, e.clientY);
  if (held && t && t.parentNode.id === 'p' && t !== held) place(held, t, e.clientY);
  held = null;
});
</script>"#;

async fn order(b: &Browser, list: &str) -> String {
    let v = b
        .js("return [...document.querySelectorAll(arguments[0] + ' li')].map(l => l.id).join('');", vec![json!(list)])
        .await;
    v.as_str().unwrap_or_default().to_string()
}

/// `html5_drag` reorders an HTML5 drag-and-drop list above and below a
/// target; `pointer_drag` drives a pointer-event list and native HTML5
/// drag and drop.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_drag_helpers_move_items() {
    let site = Site::start(baton_testkit::TestDb::sqlite().await).await;
    let b = site.browser(Js::On).await;
    let url = format!("data:text/html,{}", DND_PAGE.replace('%', "%25").replace('#', "%23"));
    b.client.goto(&url).await.expect("open the drag test page");
    assert_eq!(order(&b, "#h").await, "abc");

    b.html5_drag("#c", "#a", DropAt::Top).await;
    assert_eq!(order(&b, "#h").await, "cab");
    b.html5_drag("#c", "#b", DropAt::Bottom).await;
    assert_eq!(order(&b, "#h").await, "abc");
    b.html5_drag("#a", "#b", DropAt::Center).await;
    assert_eq!(order(&b, "#h").await, "bac", "a drop on the lower half of the middle goes below");

    b.pointer_drag("#z", "#x", DropAt::Top).await;
    assert_eq!(order(&b, "#p").await, "zxy");
    b.pointer_drag("#z", "#y", DropAt::Bottom).await;
    assert_eq!(order(&b, "#p").await, "xyz");

    // The real mouse also starts native HTML5 drags in this Chromium: the
    // closest a test gets to a person dragging a card.
    b.pointer_drag("#a", "#c", DropAt::Bottom).await;
    assert_eq!(order(&b, "#h").await, "bca", "WebDriver's mouse drives HTML5 drag and drop");
}
