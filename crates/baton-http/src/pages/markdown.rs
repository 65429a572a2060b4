//! Markdown (descriptions, plans, questions) rendered to safe HTML: raw HTML
//! in the source is shown as text, and links or images whose URL is not
//! http(s), mailto or relative are dropped to their text.

use pulldown_cmark::{CowStr, Event, Options, Parser, Tag, html};

/// Whether a link target may be followed from a page: `http(s):`, `mailto:`
/// and relative URLs. Anything else (`javascript:`, `data:`, `vbscript:`,
/// and schemes hidden behind whitespace or control characters) is refused.
fn safe_url(url: &str) -> bool {
    let cleaned: String = url.chars().filter(|c| !c.is_whitespace() && !c.is_control()).collect();
    let lower = cleaned.to_ascii_lowercase();
    match lower.find(':') {
        // A colon before any `/`, `?` or `#` names a scheme.
        Some(colon) if !lower[..colon].contains(['/', '?', '#']) => {
            let scheme = &lower[..colon];
            matches!(scheme, "http" | "https" | "mailto")
        }
        _ => true,
    }
}

/// Renders markdown to HTML that is safe to embed in a page.
pub fn render(source: &str) -> String {
    let options = Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TASKLISTS;
    // Links and images with an unsafe URL lose their tag, keeping the text.
    let mut dropped: Vec<bool> = Vec::new();
    let events = Parser::new_ext(source, options).filter_map(|event| match event {
        Event::Html(raw) | Event::InlineHtml(raw) => Some(Event::Text(raw)),
        Event::Start(Tag::Link { link_type, dest_url, title, id }) => {
            let ok = safe_url(&dest_url);
            dropped.push(!ok);
            ok.then_some(Event::Start(Tag::Link { link_type, dest_url, title, id }))
        }
        Event::Start(Tag::Image { dest_url, title, .. }) => {
            // Images would load third-party content into our pages (and the
            // CSP forbids them anyway): show the alt text as a link instead.
            let ok = safe_url(&dest_url);
            dropped.push(!ok);
            ok.then_some(Event::Start(Tag::Link {
                link_type: pulldown_cmark::LinkType::Inline,
                dest_url,
                title,
                id: CowStr::Borrowed(""),
            }))
        }
        Event::End(pulldown_cmark::TagEnd::Link) | Event::End(pulldown_cmark::TagEnd::Image) => {
            if dropped.pop().unwrap_or(false) { None } else { Some(Event::End(pulldown_cmark::TagEnd::Link)) }
        }
        other => Some(other),
    });
    let mut out = String::with_capacity(source.len() + source.len() / 4);
    html::push_html(&mut out, events);
    out
}

#[cfg(test)]
mod tests {
    use super::render;

    #[test]
    fn markdown_is_rendered() {
        let html = render("# Plan\n\n- step **one**\n- [x] done\n\n`code`");
        assert!(html.contains("<h1>Plan</h1>"), "{html}");
        assert!(html.contains("<strong>one</strong>"), "{html}");
        assert!(html.contains("<code>code</code>"), "{html}");
    }

    #[test]
    fn raw_html_is_shown_as_text() {
        let html = render("hi <script>alert(1)</script>\n\n<img src=x onerror=alert(1)>\n\n<div onclick=\"x\">y</div>");
        assert!(!html.contains("<script"), "{html}");
        assert!(!html.contains("<img"), "{html}");
        assert!(!html.contains("<div"), "{html}");
        assert!(html.contains("&lt;script&gt;"), "{html}");
    }

    #[test]
    fn unsafe_links_keep_only_their_text() {
        for src in [
            "[click](javascript:alert(1))",
            "[click](JaVaScRiPt:alert(1))",
            "[click](java\tscript:alert(1))",
            "[click](data:text/html,<script>alert(1)</script>)",
            "[click](vbscript:msgbox)",
            "<javascript:alert(1)>",
            "![click](javascript:alert(1))",
        ] {
            let html = render(src);
            assert!(!html.to_ascii_lowercase().contains("href=\"javascript"), "{src} → {html}");
            assert!(!html.contains("href=\"data"), "{src} → {html}");
            assert!(!html.contains("href=\"vbscript"), "{src} → {html}");
            assert!(!html.contains("<img"), "{src} → {html}");
        }
        assert!(render("[click](javascript:alert(1))").contains("click"));
    }

    #[test]
    fn safe_links_stay_links() {
        assert!(render("[docs](https://example.com/a?b=1)").contains("href=\"https://example.com/a?b=1\""));
        assert!(render("[task](/products/P/tasks/T-1)").contains("href=\"/products/P/tasks/T-1\""));
        assert!(render("[mail](mailto:a@b.c)").contains("href=\"mailto:a@b.c\""));
        assert!(render("![alt](https://example.com/i.png)").contains("href=\"https://example.com/i.png\""));
    }

    #[test]
    fn a_very_long_word_renders_whole() {
        let word = "x".repeat(10_000);
        assert!(render(&word).contains(&word));
    }
}
