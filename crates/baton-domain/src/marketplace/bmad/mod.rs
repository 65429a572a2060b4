//! Parsers for the BMAD-METHOD files a marketplace repository holds
//! (marketplace reference §12): story files, QA gates, validate-next-story
//! reports, and the table-driven status mapper. Pure: text in, values out;
//! [`scan()`] classifies a repository's files and merges them per story, and
//! the import (app crate) applies the result.
//!
//! Lenient where real repositories are messy, strict where it matters
//! (§12.5). Every parser is total: any input yields a value or a
//! [`BmadError`] with the reason, never a panic, in bounded time (files over
//! [`MAX_FILE_BYTES`] are refused before anything is parsed; YAML goes
//! through the hostile-input guards of [`crate::plan_md`]).
//!
//! Checked against real repositories: `ALLiDoizCode/American_Nerd` (every
//! story and gate in its history parses; `1.9` "On Hold - Awaiting Funding"
//! maps to BLOCKED) and `dmisiuk/acousticalc` (front matter, `###`
//! sections, a markdown gate, `0.2.1` numbers; its two malformed gates and
//! one misnamed story are rejected with their reasons).
//!
//! Decisions where the reference is silent:
//! - **Status mapping** ([`status`]): `Deferred` and `On Hold` map to
//!   `BLOCKED` (parked by something outside the story); `Planning` (front
//!   matter of stories not yet drafted) to `DRAFT`; `In Review` to
//!   `READY_FOR_REVIEW`; `Complete`/`Completed` to `DONE`. Unknown strings
//!   map to `None`: the caller leaves the story unchanged and warns.
//! - **Story numbers** ([`file_names`]): `0.2.1.story.md` is epic 0, story
//!   `2.1` (a sub-story of 0.2, as the repositories that use it mean it);
//!   the story part keeps letter suffixes (`11b`, `2B1`) and sorts in
//!   natural order (`1.2` < `1.2.1` < `1.2b` < `1.10`). The file name is
//!   authoritative; a different number in the title or the gate's `story`
//!   is a warning.
//! - **Story status** ([`story_file`]): the first non-empty line after
//!   `## Status` wins; else `status:` of a YAML-style front matter; else the
//!   first `Status: X` / `**Status:** X` line outside QA Results and code
//!   fences (the BMAD v6 form). A file without any status parses with
//!   `status_raw = None`. Files that write the template's sections as `###`
//!   are read at that level; everything after `QA Results` up to the next
//!   template section is QA's.
//! - **QA gates** ([`qa_gate`]): a gate without `gate` is rejected unless it
//!   has a `decision` key (`PASS`/`CONCERNS`/`FAIL`/`WAIVED`, or the review
//!   words `APPROVE(D)` → PASS, `CHANGES_REQUESTED` → CONCERNS,
//!   `REJECT(ED)` → FAIL). `WAIVED` without `waiver.active: true`, a reason
//!   and an approver is rejected (not downgraded to CONCERNS): a waiver
//!   releases money, so a half-written one must be fixed, not guessed.
//!   Gate files saved as `.md` are read from YAML front matter, else the
//!   first ```` ```yaml ```` fence holding `gate:`, else the markdown
//!   rendering some teams commit (`## Gate Status: PASS`, `Quality Score:
//!   90`, `Updated: …`). `updated` without an offset is taken as UTC; a date
//!   alone as midnight UTC; an unreadable one is a warning, not an error. A
//!   numeric `story` (`story: 1.2`) is kept in YAML's number form. Unknown
//!   `severity` values (`resolved`) are kept raw with a warning. A key
//!   repeated outside the keys the gate is read from is a warning; repeated
//!   among them (two `gate:`) an error.
//! - **Gate vs findings** ([`gate_rules`]): BMAD's decision rule runs on
//!   every parsed gate (risk score, open top issues, NFR statuses); a gate
//!   milder than the rule's answer is kept as written (the reviewer decides)
//!   with a warning. Issues marked `status: FIXED`/`RESOLVED`/`CLOSED` do
//!   not count.
//! - **Validation reports** ([`validation_report`]): a fractional score
//!   (`8.5/10`) is rounded down (never lifts a story over the threshold); a
//!   missing GO/NO-GO decision is `None`, not an error (the score is the
//!   required part); report names may carry a suffix
//!   (`1.2-validation-20250922.md`).
//! - **Scan** ([`scan()`]): files are classified by their last path
//!   components (`…/docs/stories/<file>.md` etc., any prefix); other files
//!   are ignored, not rejected. Of two story files with one number the first
//!   by path is used and the other rejected. When several gates name one
//!   story the one with the latest `updated` wins (ties: the later path) and
//!   the others are noted as superseded; of several reports the later path
//!   wins (dated suffixes sort last).

pub mod file_names;
pub mod gate_rules;
pub mod qa_gate;
pub mod scan;
pub mod status;
pub mod story_file;
pub mod validation_report;

pub use file_names::StoryNumber;
pub use qa_gate::{QaGate, parse_qa_gate, parse_qa_gate_file};
pub use scan::{Rejected, ScanResult, ScannedStory, scan};
pub use status::map_status;
pub use story_file::{StoryFile, parse_story_file};
pub use validation_report::{ValidationReport, parse_validation_report};

/// Largest BMAD file accepted, in bytes (512 KB; real story files with long
/// QA Results stay far below). Larger files are refused unread.
pub const MAX_FILE_BYTES: usize = 512 * 1024;

/// Why a BMAD file could not be parsed. The message is the reason shown in
/// the import summary.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BmadError {
    /// Over [`MAX_FILE_BYTES`].
    #[error("the file is {size} bytes; the limit is {MAX_FILE_BYTES} bytes (512 KB)")]
    TooLarge {
        /// The file's size in bytes.
        size: usize,
    },
    /// Not UTF-8 text.
    #[error("invalid UTF-8 at byte {at}; BMAD files must be UTF-8 text")]
    NotUtf8 {
        /// Offset of the first invalid byte.
        at: usize,
    },
    /// Holds a NUL character.
    #[error("contains the NUL character (\\u0000), which cannot be stored")]
    Nul,
    /// YAML that does not parse or trips a hostile-input guard.
    #[error("invalid YAML: {0}")]
    Yaml(String),
    /// A required field is missing or holds a value outside its set.
    #[error("{field}: {reason}")]
    Field {
        /// The field (YAML key or report label).
        field: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The file name does not follow a BMAD pattern.
    #[error("unknown file name {name:?}: expected {expected}")]
    UnknownName {
        /// The file name.
        name: String,
        /// The patterns accepted where it was found.
        expected: &'static str,
    },
}

impl BmadError {
    fn field(field: &str, reason: impl Into<String>) -> Self {
        BmadError::Field { field: field.to_string(), reason: reason.into() }
    }
}

/// Checks size, UTF-8 and NUL, and drops a byte order mark: the first step
/// of every parser that takes bytes.
pub fn text_of(bytes: &[u8]) -> Result<&str, BmadError> {
    if bytes.len() > MAX_FILE_BYTES {
        return Err(BmadError::TooLarge { size: bytes.len() });
    }
    let text = std::str::from_utf8(bytes).map_err(|e| BmadError::NotUtf8 { at: e.valid_up_to() })?;
    checked_text(text)
}

/// The same checks for text already decoded.
fn checked_text(text: &str) -> Result<&str, BmadError> {
    if text.len() > MAX_FILE_BYTES {
        return Err(BmadError::TooLarge { size: text.len() });
    }
    if text.contains('\0') {
        return Err(BmadError::Nul);
    }
    Ok(text.strip_prefix('\u{feff}').unwrap_or(text))
}

/// Removes inline markdown emphasis and code marks (`**`, `__`, `*`, `_`,
/// backticks, `~~`) from a short value. Underscores inside words go too:
/// the callers compare words, not identifiers.
fn strip_markdown(s: &str) -> String {
    s.chars().filter(|c| !matches!(c, '*' | '_' | '`' | '~')).collect()
}

/// Whether a line is a thematic break (`---`, `***`, `___`), which BMAD
/// files put between sections.
fn is_rule(line: &str) -> bool {
    let t = line.trim();
    t.len() >= 3
        && ['-', '*', '_'].iter().any(|&m| t.chars().all(|c| c == m || c == ' '))
        && t.chars().filter(|c| !c.is_whitespace()).count() >= 3
}

/// Whether a line opens or closes a fenced code block.
fn is_fence(line: &str) -> bool {
    let t = line.trim_start();
    t.starts_with("```") || t.starts_with("~~~")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_of_refuses_oversized_non_utf8_and_nul_and_drops_the_bom() {
        assert_eq!(text_of(&vec![b'a'; MAX_FILE_BYTES + 1]), Err(BmadError::TooLarge { size: MAX_FILE_BYTES + 1 }));
        assert_eq!(text_of(b"ab\xffc"), Err(BmadError::NotUtf8 { at: 2 }));
        assert_eq!(text_of(b"a\0b"), Err(BmadError::Nul));
        assert_eq!(text_of("\u{feff}# T".as_bytes()), Ok("# T"));
    }

    #[test]
    fn rules_are_three_or_more_marks() {
        assert!(is_rule("---") && is_rule(" *** ") && is_rule("___") && is_rule("- - -"));
        assert!(!is_rule("--") && !is_rule("-- x") && !is_rule("-*-") && !is_rule(""));
    }
}
