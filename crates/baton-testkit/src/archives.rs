//! Archives built in memory for the BMAD import tests: well-formed tar.gz
//! and zip files of a set of `(path, bytes)`, and the hostile entries an
//! importer must survive (paths escaping the root, links, devices), which
//! the `tar` builder refuses to write and are therefore made by hand.

use std::io::Write;

/// The kind of a hand-made tar entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TarKind {
    /// A regular file with the given content.
    File,
    /// A symbolic link to the given target (the content is the target).
    Symlink,
    /// A hard link to the given target (the content is the target).
    Hardlink,
    /// A character device (no content).
    CharDevice,
    /// A directory (no content).
    Dir,
}

/// One raw tar entry: its name is written as given, unchecked.
#[derive(Debug, Clone)]
pub struct TarEntry {
    /// The name, written verbatim (may be `../x` or `/etc/passwd`).
    pub path: String,
    /// What it is.
    pub kind: TarKind,
    /// File content, or the link target.
    pub data: Vec<u8>,
}

impl TarEntry {
    /// A regular file.
    pub fn file(path: &str, data: &[u8]) -> TarEntry {
        TarEntry { path: path.into(), kind: TarKind::File, data: data.to_vec() }
    }
}

/// A tar stream of `entries`, names written verbatim (ustar headers).
pub fn tar(entries: &[TarEntry]) -> Vec<u8> {
    let mut out = Vec::new();
    for e in entries {
        let mut h = tar::Header::new_ustar();
        {
            // The raw name field: the checked setters refuse `..` and absolute names.
            let name = &mut h.as_old_mut().name;
            let bytes = e.path.as_bytes();
            assert!(bytes.len() <= name.len(), "test path too long for a ustar name");
            name[..bytes.len()].copy_from_slice(bytes);
        }
        h.set_mode(0o644);
        h.set_mtime(0);
        let (kind, body): (tar::EntryType, &[u8]) = match e.kind {
            TarKind::File => (tar::EntryType::Regular, &e.data),
            TarKind::Symlink => (tar::EntryType::Symlink, &[]),
            TarKind::Hardlink => (tar::EntryType::Link, &[]),
            TarKind::CharDevice => (tar::EntryType::Char, &[]),
            TarKind::Dir => (tar::EntryType::Directory, &[]),
        };
        h.set_entry_type(kind);
        if matches!(e.kind, TarKind::Symlink | TarKind::Hardlink) {
            h.set_link_name(String::from_utf8_lossy(&e.data).as_ref()).expect("link name");
        }
        h.set_size(body.len() as u64);
        h.set_cksum();
        out.extend_from_slice(h.as_bytes());
        out.extend_from_slice(body);
        out.resize(out.len().div_ceil(512) * 512, 0);
    }
    out.resize(out.len() + 1024, 0);
    out
}

/// Gzip of `bytes`.
pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(bytes).expect("gzip");
    enc.finish().expect("gzip")
}

/// A tar.gz of regular files.
pub fn tar_gz<P: AsRef<str>, B: AsRef<[u8]>>(files: &[(P, B)]) -> Vec<u8> {
    let entries: Vec<TarEntry> = files.iter().map(|(p, b)| TarEntry::file(p.as_ref(), b.as_ref())).collect();
    gzip(&tar(&entries))
}

/// A zip of regular files, deflated.
pub fn zip<P: AsRef<str>, B: AsRef<[u8]>>(files: &[(P, B)]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    for (p, b) in files {
        w.start_file(p.as_ref(), opts).expect("zip entry");
        w.write_all(b.as_ref()).expect("zip write");
    }
    w.finish().expect("zip finish").into_inner()
}

/// A zip holding one symbolic link `path` → `target` besides `files`.
pub fn zip_with_symlink<P: AsRef<str>, B: AsRef<[u8]>>(files: &[(P, B)], path: &str, target: &str) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    for (p, b) in files {
        w.start_file(p.as_ref(), opts).expect("zip entry");
        w.write_all(b.as_ref()).expect("zip write");
    }
    w.add_symlink(path, target, opts).expect("zip symlink");
    w.finish().expect("zip finish").into_inner()
}

/// The BMAD fixture repository's `docs/` (`crates/baton-domain/tests/bmad/docs`)
/// as `(docs/…, bytes)`, sorted.
pub fn bmad_fixture_files() -> Vec<(String, Vec<u8>)> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../baton-domain/tests/bmad");
    let mut out = Vec::new();
    let mut stack = vec![root.join("docs")];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).expect("read fixture dir") {
            let p = e.expect("entry").path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p.strip_prefix(&root).expect("under root").to_string_lossy().replace('\\', "/");
                out.push((rel, std::fs::read(&p).expect("read fixture")));
            }
        }
    }
    out.sort();
    out
}
