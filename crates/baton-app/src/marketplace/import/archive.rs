//! Unpacking an uploaded BMAD archive (pure, in memory): a tar.gz or a zip
//! of a repository's `docs/` or of the repository itself becomes the
//! `(docs/…, bytes)` list that [`App::import_bmad`](crate::App::import_bmad)
//! takes from the command line, so REST, MCP and the CLI share one import.
//!
//! Decisions (the reference is silent):
//! - **Format by content.** gzip (`1f 8b`) is read as a tar.gz, `PK\x03\x04`
//!   (or an empty zip's `PK\x05\x06`) as a zip, whatever the request's
//!   `Content-Type` says; anything else is refused. A stated format (MCP's
//!   `format`) must agree with the bytes.
//! - **Layout.** An archive of `docs/` and one of the whole repository both
//!   work: the BMAD files are `…/stories/*.md`, `…/qa/gates/*.{yml,yaml,md}`
//!   and `…/qa/validation-reports/*.md` directly under one root, which is the
//!   shallowest folder named `docs` that holds any (`docs/`,
//!   `repo-main/docs/`), or the archive's root when no such folder does.
//!   BMAD-looking files elsewhere (a vendored `node_modules/x/docs/`,
//!   `__MACOSX/`) and every other file are ignored silently; so are macOS
//!   `._*` resource forks. Paths are given to the import as
//!   `docs/<folder>/<file>`, exactly as the CLI reads them, so both paths
//!   of the import see the same story files (a second import through the
//!   other one is `unchanged`).
//! - **Limits, never trusting declared sizes.** At most
//!   [`MAX_ENTRIES`] entries (every entry counts, directories too) and
//!   [`MAX_UNPACKED_BYTES`] of decompressed data actually read (for a
//!   tar.gz the whole decompressed stream, since skipping an entry inflates
//!   it too; for a zip the entries read, the others are never inflated).
//!   Reading stops the moment a limit is passed and the whole archive is
//!   refused (422 naming the input). A BMAD file over the parser's
//!   [`MAX_FILE_BYTES`] is read only one byte past it and reported
//!   `rejected` like the CLI does, the rest is imported.
//! - **Hostile entries.** A name with a `..` component, an absolute path or
//!   a drive letter refuses the whole archive: `tar czf docs.tgz docs` never
//!   makes one, and nothing is ever written to disk, so refusing is about
//!   not trusting the rest of such an archive. Symbolic and hard links,
//!   devices and FIFOs are never followed or read: at a BMAD path they are
//!   reported `rejected` with the reason, elsewhere ignored (repositories do
//!   contain links).

use std::{
    cell::Cell,
    io::{Cursor, Read},
    rc::Rc,
};

use baton_domain::marketplace::bmad::MAX_FILE_BYTES;
use serde::{Deserialize, Serialize};

/// Most entries an archive may have (files, directories, links…).
pub const MAX_ENTRIES: usize = 5_000;
/// Most decompressed bytes read from an archive (32 MiB).
pub const MAX_UNPACKED_BYTES: u64 = 32 * 1024 * 1024;

/// An archive format the import reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ArchiveFormat {
    /// A gzip-compressed tar (`.tar.gz`, `.tgz`).
    TarGz,
    /// A zip (stored or deflated entries).
    Zip,
}

impl ArchiveFormat {
    /// The format `bytes` are in, by their first bytes (magic numbers).
    pub fn detect(bytes: &[u8]) -> Option<ArchiveFormat> {
        if bytes.starts_with(&[0x1f, 0x8b]) {
            Some(ArchiveFormat::TarGz)
        } else if bytes.starts_with(b"PK\x03\x04") || bytes.starts_with(b"PK\x05\x06") {
            Some(ArchiveFormat::Zip)
        } else {
            None
        }
    }

    fn name(self) -> &'static str {
        match self {
            ArchiveFormat::TarGz => "tar.gz",
            ArchiveFormat::Zip => "zip",
        }
    }
}

/// Why an archive was refused as a whole. The message completes a sentence
/// about the input ("the archive …").
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ArchiveError {
    /// Neither gzip nor zip magic bytes.
    #[error("is neither a tar.gz nor a zip archive")]
    NotAnArchive,
    /// The stated format is not what the bytes are.
    #[error("was said to be {stated} but is {actual}")]
    WrongFormat {
        /// The format the caller named.
        stated: &'static str,
        /// The format of the bytes.
        actual: &'static str,
    },
    /// More than [`MAX_ENTRIES`] entries.
    #[error("has more than {MAX_ENTRIES} entries")]
    TooManyEntries,
    /// More than [`MAX_UNPACKED_BYTES`] once decompressed.
    #[error("unpacks to more than {MAX_UNPACKED_BYTES} bytes (32 MiB)")]
    TooLarge,
    /// An entry whose name leaves the archive's root.
    #[error("has an entry outside its root (`..` or an absolute path): {0}")]
    UnsafePath(String),
    /// Truncated or malformed.
    #[error("is damaged or not a valid {format}: {reason}")]
    Damaged {
        /// The format being read.
        format: &'static str,
        /// What the reader said.
        reason: String,
    },
}

/// What an archive held for the import.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Unpacked {
    /// The BMAD files as `(docs/…, bytes)`, sorted by path.
    pub files: Vec<(String, Vec<u8>)>,
    /// BMAD paths not read, as `(docs/…, reason)`: links, devices,
    /// oversized files, names that are not UTF-8.
    pub skipped: Vec<(String, String)>,
}

/// Unpacks `bytes` (see the module docs); `stated` is the caller's word on
/// the format, checked against the bytes.
pub fn unpack(bytes: &[u8], stated: Option<ArchiveFormat>) -> Result<Unpacked, ArchiveError> {
    let format = ArchiveFormat::detect(bytes).ok_or(ArchiveError::NotAnArchive)?;
    if let Some(s) = stated
        && s != format
    {
        return Err(ArchiveError::WrongFormat { stated: s.name(), actual: format.name() });
    }
    let found = match format {
        ArchiveFormat::TarGz => read_tar_gz(bytes)?,
        ArchiveFormat::Zip => read_zip(bytes)?,
    };
    Ok(select(found))
}

/// What an entry at a BMAD-looking path is.
#[derive(Debug)]
enum Payload {
    /// Its content (at most `MAX_FILE_BYTES + 1` bytes read).
    File(Vec<u8>),
    /// Not read, with the reason.
    Skipped(String),
}

/// A BMAD-looking entry: the folders before its BMAD folder, its path
/// below the docs root (`stories/1.1.md`), and what it holds.
#[derive(Debug)]
struct Found {
    prefix: Vec<String>,
    rel: String,
    payload: Payload,
}

/// The entry kinds the readers tell apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    File,
    Dir,
    Symlink,
    Hardlink,
    Device,
    /// Metadata entries (pax headers…) and anything unknown: ignored.
    Other,
}

impl Kind {
    fn refusal(self) -> Option<&'static str> {
        match self {
            Kind::Symlink => Some("a symbolic link is not imported"),
            Kind::Hardlink => Some("a hard link is not imported"),
            Kind::Device => Some("a device or FIFO is not imported"),
            Kind::File | Kind::Dir | Kind::Other => None,
        }
    }
}

/// The components of an entry name, refusing names that leave the root.
fn components(raw: &str) -> Result<Vec<String>, ArchiveError> {
    let unsafe_path = || ArchiveError::UnsafePath(raw.chars().take(200).collect());
    let bytes = raw.as_bytes();
    let drive = bytes.len() >= 2 && bytes[0].is_ascii_alphabetic() && bytes[1] == b':';
    if raw.starts_with(['/', '\\']) || drive {
        return Err(unsafe_path());
    }
    let mut out = Vec::new();
    for part in raw.split(['/', '\\']) {
        match part {
            "" | "." => {}
            ".." => return Err(unsafe_path()),
            p => out.push(p.to_string()),
        }
    }
    Ok(out)
}

/// Splits a BMAD-looking path into (folders before the BMAD folder, path
/// below the docs root); `None` for every other path.
fn bmad_location(parts: &[String]) -> Option<(Vec<String>, String)> {
    let (name, dirs) = parts.split_last()?;
    let lower = name.to_ascii_lowercase();
    if name.starts_with("._") {
        return None;
    }
    let ends = |tail: &[&str]| dirs.len() >= tail.len() && dirs[dirs.len() - tail.len()..].iter().eq(tail.iter());
    let gate = ends(&["qa", "gates"]) && [".yml", ".yaml", ".md"].iter().any(|e| lower.ends_with(e));
    let report = ends(&["qa", "validation-reports"]) && lower.ends_with(".md");
    let depth = if ends(&["stories"]) && lower.ends_with(".md") {
        1
    } else if gate || report {
        2
    } else {
        return None;
    };
    let split = dirs.len() - depth;
    let rel = parts[split..].join("/");
    Some((dirs[..split].to_vec(), rel))
}

/// Reads one entry's content, at most one byte past the parser's limit.
fn read_capped(r: &mut impl Read) -> std::io::Result<Payload> {
    let mut buf = Vec::new();
    r.take(MAX_FILE_BYTES as u64 + 1).read_to_end(&mut buf)?;
    if buf.len() > MAX_FILE_BYTES {
        return Ok(Payload::Skipped(format!("the file is larger than {MAX_FILE_BYTES} bytes (512 KB)")));
    }
    Ok(Payload::File(buf))
}

/// A reader that counts what passes through it and fails past a limit.
struct Counting<R> {
    inner: R,
    read: Rc<Cell<u64>>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        let total = self.read.get().saturating_add(n as u64);
        self.read.set(total);
        if total > MAX_UNPACKED_BYTES {
            return Err(std::io::Error::other("unpacked size limit"));
        }
        Ok(n)
    }
}

/// One entry of either format, handed to [`take`].
struct Entry<'a, R> {
    name: std::borrow::Cow<'a, [u8]>,
    kind: Kind,
    reader: R,
}

/// Looks at one entry: refuses unsafe names, keeps BMAD-looking ones.
fn take<R: Read>(e: Entry<'_, R>, found: &mut Vec<Found>) -> Result<(), TakeError> {
    let Entry { name, kind, mut reader } = e;
    let text = String::from_utf8_lossy(&name).into_owned();
    let parts = components(&text).map_err(TakeError::Archive)?;
    if kind == Kind::Dir || kind == Kind::Other {
        return Ok(());
    }
    let Some((prefix, rel)) = bmad_location(&parts) else { return Ok(()) };
    let payload = if let Some(reason) = kind.refusal() {
        Payload::Skipped(reason.into())
    } else if std::str::from_utf8(&name).is_err() {
        Payload::Skipped("the file name is not UTF-8".into())
    } else {
        read_capped(&mut reader).map_err(TakeError::Io)?
    };
    found.push(Found { prefix, rel, payload });
    Ok(())
}

enum TakeError {
    Archive(ArchiveError),
    Io(std::io::Error),
}

fn read_tar_gz(bytes: &[u8]) -> Result<Vec<Found>, ArchiveError> {
    let read = Rc::new(Cell::new(0u64));
    let gz = flate2::read::GzDecoder::new(Cursor::new(bytes));
    let mut archive = tar::Archive::new(Counting { inner: gz, read: read.clone() });
    let damaged = |e: std::io::Error| {
        if read.get() > MAX_UNPACKED_BYTES {
            ArchiveError::TooLarge
        } else {
            ArchiveError::Damaged { format: "tar.gz", reason: e.to_string() }
        }
    };
    let mut found = Vec::new();
    let mut count = 0usize;
    for entry in archive.entries().map_err(damaged)? {
        let mut entry = entry.map_err(damaged)?;
        count += 1;
        if count > MAX_ENTRIES {
            return Err(ArchiveError::TooManyEntries);
        }
        let kind = match entry.header().entry_type() {
            tar::EntryType::Regular | tar::EntryType::Continuous => Kind::File,
            tar::EntryType::Directory => Kind::Dir,
            tar::EntryType::Symlink => Kind::Symlink,
            tar::EntryType::Link => Kind::Hardlink,
            tar::EntryType::Char | tar::EntryType::Block | tar::EntryType::Fifo => Kind::Device,
            _ => Kind::Other,
        };
        let name = entry.path_bytes().into_owned();
        match take(Entry { name: name.into(), kind, reader: &mut entry }, &mut found) {
            Ok(()) => {}
            Err(TakeError::Archive(e)) => return Err(e),
            Err(TakeError::Io(e)) => return Err(damaged(e)),
        }
    }
    Ok(found)
}

fn read_zip(bytes: &[u8]) -> Result<Vec<Found>, ArchiveError> {
    let damaged = |reason: String| ArchiveError::Damaged { format: "zip", reason };
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).map_err(|e| damaged(e.to_string()))?;
    if archive.len() > MAX_ENTRIES {
        return Err(ArchiveError::TooManyEntries);
    }
    let read = Rc::new(Cell::new(0u64));
    let mut found = Vec::new();
    for i in 0..archive.len() {
        let file = archive.by_index(i).map_err(|e| damaged(e.to_string()))?;
        // S_IFMT of the Unix mode, when the zip was made on Unix.
        let kind = match file.unix_mode().map(|m| m & 0o170_000) {
            _ if file.is_dir() => Kind::Dir,
            Some(0o120_000) => Kind::Symlink,
            Some(0o020_000 | 0o060_000 | 0o010_000 | 0o140_000) => Kind::Device,
            _ => Kind::File,
        };
        let name = file.name_raw().to_vec();
        let reader = Counting { inner: file, read: read.clone() };
        match take(Entry { name: name.into(), kind, reader }, &mut found) {
            Ok(()) => {}
            Err(TakeError::Archive(e)) => return Err(e),
            Err(_) if read.get() > MAX_UNPACKED_BYTES => return Err(ArchiveError::TooLarge),
            Err(TakeError::Io(e)) => return Err(damaged(e.to_string())),
        }
    }
    Ok(found)
}

/// Keeps the entries under the docs root (see the module docs) as `docs/…`.
fn select(found: Vec<Found>) -> Unpacked {
    let root = found
        .iter()
        .filter(|f| f.prefix.last().is_some_and(|d| d == "docs"))
        .map(|f| &f.prefix)
        .min_by(|a, b| a.len().cmp(&b.len()).then_with(|| a.cmp(b)))
        .cloned()
        .unwrap_or_default();
    let mut out = Unpacked::default();
    for f in found.into_iter().filter(|f| f.prefix == root) {
        let path = format!("docs/{}", f.rel);
        match f.payload {
            Payload::File(b) => out.files.push((path, b)),
            Payload::Skipped(reason) => out.skipped.push((path, reason)),
        }
    }
    out.files.sort();
    out.skipped.sort();
    out
}

#[cfg(test)]
mod tests {
    use baton_testkit::archives::{self, TarEntry, TarKind};

    use super::*;

    const STORY: &[u8] = b"# Story 1.1: Setup\n\n## Status\n\nDraft\n";

    fn paths(u: &Unpacked) -> Vec<&str> {
        u.files.iter().map(|(p, _)| p.as_str()).collect()
    }

    #[test]
    fn the_format_is_told_by_the_bytes_and_a_stated_one_must_agree() {
        let tgz = archives::tar_gz(&[("docs/stories/1.1.md", STORY)]);
        let zip = archives::zip(&[("docs/stories/1.1.md", STORY)]);
        assert_eq!(ArchiveFormat::detect(&tgz), Some(ArchiveFormat::TarGz));
        assert_eq!(ArchiveFormat::detect(&zip), Some(ArchiveFormat::Zip));
        assert_eq!(unpack(&tgz, None).expect("tgz").files, [("docs/stories/1.1.md".to_string(), STORY.to_vec())]);
        assert_eq!(unpack(&zip, Some(ArchiveFormat::Zip)).expect("zip").files.len(), 1);
        assert_eq!(
            unpack(&zip, Some(ArchiveFormat::TarGz)),
            Err(ArchiveError::WrongFormat { stated: "tar.gz", actual: "zip" })
        );
        assert_eq!(unpack(b"# just markdown", None), Err(ArchiveError::NotAnArchive));
        assert_eq!(unpack(b"", None), Err(ArchiveError::NotAnArchive));
        let e = unpack(&[0x1f, 0x8b, 0, 1, 2], None).expect_err("truncated gzip");
        assert!(matches!(e, ArchiveError::Damaged { format: "tar.gz", .. }), "{e:?}");
        let e = unpack(b"PK\x03\x04garbage", None).expect_err("bad zip");
        assert!(matches!(e, ArchiveError::Damaged { format: "zip", .. }), "{e:?}");
    }

    #[test]
    fn docs_root_repository_root_and_a_wrapping_folder_give_the_same_paths() {
        let want =
            ["docs/qa/gates/1.1-setup.yml", "docs/qa/validation-reports/1.1-validation.md", "docs/stories/1.1.md"];
        for prefix in ["", "docs/", "./docs/", "repo-main/docs/"] {
            let files = [
                (format!("{prefix}stories/1.1.md"), STORY.to_vec()),
                (format!("{prefix}qa/gates/1.1-setup.yml"), b"gate: PASS\n".to_vec()),
                (format!("{prefix}qa/validation-reports/1.1-validation.md"), b"score 9/10".to_vec()),
                (format!("{prefix}prd.md"), b"# PRD".to_vec()),
                (format!("{prefix}stories/drafts/1.2.md"), STORY.to_vec()),
                (format!("{prefix}qa/gates/notes.txt"), b"x".to_vec()),
            ];
            for bytes in [archives::tar_gz(&files), archives::zip(&files)] {
                let u = unpack(&bytes, None).expect("unpack");
                assert_eq!(paths(&u), want, "prefix {prefix:?}");
                assert!(u.skipped.is_empty());
            }
        }
    }

    #[test]
    fn the_shallowest_docs_folder_wins_and_other_copies_are_ignored() {
        let files = [
            ("repo/node_modules/lib/docs/stories/9.9.md", STORY),
            ("repo/docs/stories/1.1.md", STORY),
            ("__MACOSX/repo/docs/stories/._1.1.md", STORY),
            ("repo/docs/stories/._1.1.md", STORY),
            ("stories/7.7.md", STORY),
        ];
        let u = unpack(&archives::zip(&files), None).expect("unpack");
        assert_eq!(paths(&u), ["docs/stories/1.1.md"]);
    }

    #[test]
    fn names_leaving_the_root_refuse_the_whole_archive() {
        for bad in ["../docs/stories/1.1.md", "docs/../../etc/passwd", "/etc/passwd", "C:\\x\\stories\\1.1.md"] {
            let tar = archives::gzip(&archives::tar(&[
                TarEntry::file("docs/stories/1.1.md", STORY),
                TarEntry::file(bad, b"x"),
            ]));
            assert!(matches!(unpack(&tar, None), Err(ArchiveError::UnsafePath(_))), "{bad}");
        }
        let zip = archives::zip(&[("docs/stories/1.1.md", STORY), ("../evil.md", b"x")]);
        assert!(matches!(unpack(&zip, None), Err(ArchiveError::UnsafePath(_))));
    }

    #[test]
    fn links_and_devices_are_never_read_and_reported_at_bmad_paths() {
        let entries = [
            TarEntry::file("docs/stories/1.1.md", STORY),
            TarEntry { path: "docs/stories/1.2.md".into(), kind: TarKind::Symlink, data: b"/etc/passwd".to_vec() },
            TarEntry {
                path: "docs/stories/1.3.md".into(),
                kind: TarKind::Hardlink,
                data: b"docs/stories/1.1.md".to_vec(),
            },
            TarEntry { path: "docs/qa/gates/1.1.yml".into(), kind: TarKind::CharDevice, data: Vec::new() },
            TarEntry { path: "docs/README-link".into(), kind: TarKind::Symlink, data: b"../README.md".to_vec() },
            TarEntry { path: "docs/stories".into(), kind: TarKind::Dir, data: Vec::new() },
        ];
        let u = unpack(&archives::gzip(&archives::tar(&entries)), None).expect("unpack");
        assert_eq!(paths(&u), ["docs/stories/1.1.md"]);
        let skipped: Vec<(&str, &str)> = u.skipped.iter().map(|(p, r)| (p.as_str(), r.as_str())).collect();
        assert_eq!(
            skipped,
            [
                ("docs/qa/gates/1.1.yml", "a device or FIFO is not imported"),
                ("docs/stories/1.2.md", "a symbolic link is not imported"),
                ("docs/stories/1.3.md", "a hard link is not imported"),
            ]
        );
        let zip = archives::zip_with_symlink(&[("docs/stories/1.1.md", STORY)], "docs/stories/1.2.md", "/etc/passwd");
        let u = unpack(&zip, None).expect("unpack zip");
        assert_eq!(paths(&u), ["docs/stories/1.1.md"]);
        assert_eq!(u.skipped, [("docs/stories/1.2.md".to_string(), "a symbolic link is not imported".to_string())]);
    }

    #[test]
    fn too_many_entries_are_refused_in_both_formats() {
        let files: Vec<(String, Vec<u8>)> =
            (0..=MAX_ENTRIES).map(|i| (format!("docs/misc/{i}.txt"), Vec::new())).collect();
        assert_eq!(unpack(&archives::tar_gz(&files), None), Err(ArchiveError::TooManyEntries));
        assert_eq!(unpack(&archives::zip(&files), None), Err(ArchiveError::TooManyEntries));
        let ok = &files[..MAX_ENTRIES];
        assert!(unpack(&archives::tar_gz(ok), None).is_ok(), "exactly the limit passes");
    }

    #[test]
    fn a_bomb_stops_at_the_unpacked_limit_whatever_the_headers_say() {
        // 40 MiB of zeros in entries the import ignores: a tar.gz inflates
        // them all to skip them, so the limit applies to the whole stream.
        let zeros = vec![0u8; 8 * 1024 * 1024];
        let files: Vec<(String, &[u8])> = (0..5).map(|i| (format!("docs/blob{i}.bin"), &zeros[..])).collect();
        let tgz = archives::tar_gz(&files);
        assert!(tgz.len() < 200 * 1024, "compresses well: {}", tgz.len());
        assert_eq!(unpack(&tgz, None), Err(ArchiveError::TooLarge));
        // A zip only inflates what it reads: many oversized BMAD files.
        let big = vec![b'a'; 2 * 1024 * 1024];
        let files: Vec<(String, &[u8])> = (0..80).map(|i| (format!("docs/stories/1.{i}.md"), &big[..])).collect();
        assert_eq!(unpack(&archives::zip(&files), None), Err(ArchiveError::TooLarge));
    }

    #[test]
    fn an_oversized_bmad_file_is_skipped_with_the_reason_and_the_rest_kept() {
        let big = vec![b'a'; MAX_FILE_BYTES + 10];
        let files = [("docs/stories/1.1.md", STORY), ("docs/stories/1.2.md", &big[..])];
        for bytes in [archives::tar_gz(&files), archives::zip(&files)] {
            let u = unpack(&bytes, None).expect("unpack");
            assert_eq!(paths(&u), ["docs/stories/1.1.md"]);
            assert_eq!(u.skipped.len(), 1);
            assert!(u.skipped[0].1.contains("larger than"), "{:?}", u.skipped);
        }
        let exact = vec![b'a'; MAX_FILE_BYTES];
        let u = unpack(&archives::zip(&[("docs/stories/1.1.md", &exact[..])]), None).expect("unpack");
        assert_eq!(u.files[0].1.len(), MAX_FILE_BYTES, "the limit itself is accepted");
    }

    #[test]
    fn an_archive_without_bmad_files_unpacks_to_nothing() {
        let u = unpack(&archives::tar_gz(&[("README.md", b"# hi")]), None).expect("unpack");
        assert_eq!(u, Unpacked::default());
        let empty_zip = archives::zip::<&str, &[u8]>(&[]);
        assert_eq!(unpack(&empty_zip, None).expect("empty zip"), Unpacked::default());
    }
}
