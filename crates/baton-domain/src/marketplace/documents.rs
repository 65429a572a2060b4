//! Project documents (marketplace reference §8): which files are accepted.
//!
//! Uploads are supporting files (canonical deliverables live in the
//! repository), so the list is short: images, PDF, Markdown and plain text.
//! The declared type must match the bytes: a PNG must start like a PNG, a
//! text file must be UTF-8 without NUL, so a script cannot be stored as
//! "text/plain" and served back as something else.

use crate::validation::ValidationErrors;

/// Largest document by default (the reference's 10 MB per design asset).
pub const DEFAULT_MAX_BYTES: usize = 10 * 1024 * 1024;

/// Longest file name.
pub const MAX_FILENAME_CHARS: usize = 255;

/// What a document is for (`documents.document_type`).
pub const DOCUMENT_TYPES: &[&str] = &["brief", "prd", "architecture", "design", "wireframes", "other"];

/// The accepted MIME types.
pub const MIME_TYPES: &[&str] =
    &["image/png", "image/jpeg", "image/webp", "image/gif", "application/pdf", "text/markdown", "text/plain"];

/// Checks a file name: no path separators, no control characters, not
/// `.`/`..`, not blank, at most [`MAX_FILENAME_CHARS`]. Returns it trimmed.
pub fn check_filename(errs: &mut ValidationErrors, raw: &str) -> String {
    let name = raw.trim().to_string();
    if name.is_empty() {
        errs.add("filename", "must not be blank");
    } else if name.chars().count() > MAX_FILENAME_CHARS {
        errs.add("filename", format!("must be at most {MAX_FILENAME_CHARS} characters"));
    } else if name.contains(['/', '\\']) {
        errs.add("filename", "must be a plain file name, without `/` or `\\`");
    } else if name.chars().any(char::is_control) {
        errs.add("filename", "must not contain control characters");
    } else if name == "." || name == ".." {
        errs.add("filename", "must be a file name");
    }
    name
}

/// Checks the document type against [`DOCUMENT_TYPES`] (case-insensitive);
/// returns it lowercase.
pub fn check_document_type(errs: &mut ValidationErrors, raw: &str) -> String {
    let t = raw.trim().to_ascii_lowercase();
    if !DOCUMENT_TYPES.contains(&t.as_str()) {
        errs.add("document_type", format!("must be one of {}", DOCUMENT_TYPES.join(", ")));
    }
    t
}

/// Checks the declared MIME type (parameters such as `; charset=utf-8` are
/// ignored) against the list and the bytes; returns the bare type.
pub fn check_content(errs: &mut ValidationErrors, declared: &str, bytes: &[u8], max_bytes: usize) -> String {
    let mime = declared.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    if bytes.is_empty() {
        errs.add("file", "is empty");
        return mime;
    }
    if bytes.len() > max_bytes {
        errs.add("file", format!("must be at most {} bytes (it has {})", max_bytes, bytes.len()));
        return mime;
    }
    if !MIME_TYPES.contains(&mime.as_str()) {
        errs.add("content_type", format!("must be one of {}", MIME_TYPES.join(", ")));
        return mime;
    }
    if !matches_bytes(&mime, bytes) {
        errs.add("content_type", format!("the file's bytes are not {mime}"));
    }
    mime
}

fn matches_bytes(mime: &str, b: &[u8]) -> bool {
    match mime {
        "image/png" => b.starts_with(b"\x89PNG\r\n\x1a\n"),
        "image/jpeg" => b.starts_with(&[0xFF, 0xD8, 0xFF]),
        "image/gif" => b.starts_with(b"GIF87a") || b.starts_with(b"GIF89a"),
        "image/webp" => b.len() >= 12 && &b[..4] == b"RIFF" && &b[8..12] == b"WEBP",
        "application/pdf" => b.starts_with(b"%PDF-"),
        "text/markdown" | "text/plain" => std::str::from_utf8(b).is_ok() && !b.contains(&0),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(f: impl FnOnce(&mut ValidationErrors)) -> Option<String> {
        let mut e = ValidationErrors::new();
        f(&mut e);
        e.into_result().err().map(|v| format!("{} {}", v.0[0].path, v.0[0].message))
    }

    #[test]
    fn file_names_are_plain_names() {
        assert_eq!(one(|e| drop(check_filename(e, "wireframe v2.png"))), None);
        for bad in ["", "  ", "../etc/passwd", "a/b.md", "a\\b.md", "..", "tab\there", &"x".repeat(256)] {
            let got = one(|e| drop(check_filename(e, bad))).unwrap_or_default();
            assert!(got.starts_with("filename"), "{bad:?}: {got}");
        }
    }

    #[test]
    fn types_come_from_the_list() {
        assert_eq!(one(|e| assert_eq!(check_document_type(e, " PRD "), "prd")), None);
        assert!(one(|e| drop(check_document_type(e, "invoice"))).unwrap_or_default().starts_with("document_type"));
    }

    #[test]
    fn content_must_match_its_declared_type() {
        let png = b"\x89PNG\r\n\x1a\nrest";
        assert_eq!(one(|e| assert_eq!(check_content(e, "image/png", png, 100), "image/png")), None);
        assert_eq!(one(|e| drop(check_content(e, "text/markdown; charset=utf-8", "# Hi é".as_bytes(), 100))), None);
        assert_eq!(one(|e| drop(check_content(e, "application/pdf", b"%PDF-1.7", 100))), None);
        let cases: [(&str, &[u8], &str); 6] = [
            ("image/png", b"<script>", "content_type the file's bytes are not image/png"),
            ("text/plain", b"a\0b", "content_type the file's bytes are not text/plain"),
            ("text/plain", &[0xff, 0xfe], "content_type the file's bytes are not text/plain"),
            ("text/html", b"<p>", "content_type must be one of"),
            ("text/plain", b"", "file is empty"),
            ("text/plain", &[b'a'; 101], "file must be at most 100 bytes"),
        ];
        for (mime, bytes, want) in cases {
            let got = one(|e| drop(check_content(e, mime, bytes, 100))).unwrap_or_default();
            assert!(got.starts_with(want), "{mime}: {got}");
        }
    }
}
