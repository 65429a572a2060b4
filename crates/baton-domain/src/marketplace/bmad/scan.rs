//! The import scan (pure): a repository's files in, per story number the
//! story file, its latest QA gate and its validation report out, plus every
//! file that could not be used, with the reason. `baton import bmad` and
//! `POST /api/projects/{id}/import/bmad` apply the result.
//!
//! Files are classified by their last path components, whatever comes
//! before (`docs/…`, `./docs/…`, `repo/docs/…`): `docs/stories/*.md`,
//! `docs/qa/gates/*.{yml,yaml,md}`, `docs/qa/validation-reports/*.md`.
//! Anything else (other documents, sub-folders, other extensions) is
//! ignored, not rejected. The result does not depend on the input order.

use std::collections::BTreeMap;

use serde::Serialize;

use super::file_names::{StoryNumber, base_name, gate_file_name, story_file_name, validation_report_name};
use super::qa_gate::{QaGate, parse_qa_gate_file};
use super::story_file::{StoryFile, parse_story_file};
use super::text_of;
use super::validation_report::{ValidationReport, parse_validation_report};

/// What a BMAD file is, by where it lies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FileKind {
    /// `docs/stories/*.md`
    Story,
    /// `docs/qa/gates/*.yml|yaml|md`
    Gate,
    /// `docs/qa/validation-reports/*.md`
    ValidationReport,
}

/// One parsed file and where it came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Parsed<T> {
    /// The path as given.
    pub path: String,
    /// The slug of the file name, if it has one.
    pub slug: Option<String>,
    /// The parsed content.
    pub value: T,
}

/// Everything found for one story number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ScannedStory {
    /// The number, from the file names.
    pub number: StoryNumber,
    /// The story file, if there is one.
    pub story_file: Option<Parsed<StoryFile>>,
    /// The latest QA gate (by `updated`, then path).
    pub gate: Option<Parsed<QaGate>>,
    /// The validation report (the last by path).
    pub validation: Option<Parsed<ValidationReport>>,
    /// What the import should show beside the story: unknown status,
    /// mismatched numbers, superseded gates, tolerated gate oddities.
    pub warnings: Vec<String>,
}

/// A file that could not be used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rejected {
    /// The path as given.
    pub path: String,
    /// Why, in words.
    pub reason: String,
}

/// The scan's answer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ScanResult {
    /// One entry per story number, in natural number order.
    pub stories: Vec<ScannedStory>,
    /// Unusable BMAD files, by path.
    pub rejected: Vec<Rejected>,
    /// Paths that are not BMAD files, by path.
    pub ignored: Vec<String>,
}

/// Which BMAD file a path names, if any.
pub fn classify(path: &str) -> Option<FileKind> {
    let parts: Vec<&str> = path.split(['/', '\\']).filter(|p| !p.is_empty() && *p != ".").collect();
    let name = parts.last()?.to_ascii_lowercase();
    let dirs = &parts[..parts.len() - 1];
    let under = |tail: &[&str]| dirs.len() >= tail.len() && dirs[dirs.len() - tail.len()..] == *tail;
    if under(&["docs", "stories"]) && name.ends_with(".md") {
        Some(FileKind::Story)
    } else if under(&["docs", "qa", "gates"]) && [".yml", ".yaml", ".md"].iter().any(|e| name.ends_with(e)) {
        Some(FileKind::Gate)
    } else if under(&["docs", "qa", "validation-reports"]) && name.ends_with(".md") {
        Some(FileKind::ValidationReport)
    } else {
        None
    }
}

/// Classifies and parses `files` (path, content) and merges them per story.
/// One file alone (a push webhook's changed file) goes through the same
/// call: `scan(&[(path, bytes)])`.
///
/// ```
/// use baton_domain::marketplace::bmad::scan;
/// let files = [
///     ("docs/stories/1.1.setup.md".to_string(), b"# Story 1.1: Setup\n\n## Status\n\nDone\n".to_vec()),
///     ("docs/qa/gates/1.1-setup.yml".to_string(), b"gate: PASS\n".to_vec()),
///     ("docs/prd.md".to_string(), b"# PRD".to_vec()),
/// ];
/// let r = scan(&files);
/// assert_eq!(r.stories.len(), 1);
/// assert!(r.stories[0].gate.is_some() && r.rejected.is_empty());
/// assert_eq!(r.ignored, ["docs/prd.md"]);
/// ```
pub fn scan<P: AsRef<str>, B: AsRef<[u8]>>(files: &[(P, B)]) -> ScanResult {
    let mut order: Vec<(&str, &[u8])> = files.iter().map(|(p, b)| (p.as_ref(), b.as_ref())).collect();
    order.sort_by(|a, b| a.0.cmp(b.0).then_with(|| a.1.cmp(b.1)));
    let mut result = ScanResult::default();
    let mut stories: BTreeMap<StoryNumber, ScannedStory> = BTreeMap::new();
    let mut previous: Option<&str> = None;
    for (path, bytes) in order {
        if previous == Some(path) {
            result.rejected.push(Rejected { path: path.to_string(), reason: "the same path is given twice".into() });
            continue;
        }
        previous = Some(path);
        let Some(kind) = classify(path) else {
            result.ignored.push(path.to_string());
            continue;
        };
        if let Err(reason) = take(kind, path, bytes, &mut stories) {
            result.rejected.push(Rejected { path: path.to_string(), reason });
        }
    }
    result.stories = stories.into_values().collect();
    result
}

fn entry(stories: &mut BTreeMap<StoryNumber, ScannedStory>, number: StoryNumber) -> &mut ScannedStory {
    stories.entry(number.clone()).or_insert_with(|| ScannedStory {
        number,
        story_file: None,
        gate: None,
        validation: None,
        warnings: Vec::new(),
    })
}

/// Parses one file into its story's entry; `Err` with the reason to reject it.
fn take(
    kind: FileKind,
    path: &str,
    bytes: &[u8],
    stories: &mut BTreeMap<StoryNumber, ScannedStory>,
) -> Result<(), String> {
    let name = base_name(path);
    match kind {
        FileKind::Story => {
            let (number, slug) = story_file_name(name).map_err(|e| e.to_string())?;
            let value = text_of(bytes).and_then(parse_story_file).map_err(|e| e.to_string())?;
            let story = entry(stories, number.clone());
            if let Some(first) = &story.story_file {
                return Err(format!("another story file for {number} is used: {}", first.path));
            }
            if let Some(w) = value.status_warning() {
                story.warnings.push(format!("{path}: {w}"));
            }
            if let Some(t) = value.title_number.as_ref().filter(|t| **t != number) {
                story.warnings.push(format!("{path}: the title says story {t}; the file name's {number} is used"));
            }
            story.story_file = Some(Parsed { path: path.to_string(), slug, value });
        }
        FileKind::Gate => {
            let (number, slug) = gate_file_name(name).map_err(|e| e.to_string())?;
            let value = text_of(bytes).and_then(|t| parse_qa_gate_file(name, t)).map_err(|e| e.to_string())?;
            let story = entry(stories, number.clone());
            story.warnings.extend(value.warnings.iter().map(|w| format!("{path}: {w}")));
            if let Some(s) = value.story.as_deref().filter(|s| StoryNumber::parse(s).as_ref() != Some(&number)) {
                story.warnings.push(format!("{path}: the gate says story {s:?}; the file name's {number} is used"));
            }
            let new = Parsed { path: path.to_string(), slug, value };
            match story.gate.take() {
                // Paths come in order, so on equal `updated` the later path wins.
                Some(old) if old.value.updated > new.value.updated => {
                    story.warnings.push(format!("{}: superseded by {} (updated later)", new.path, old.path));
                    story.gate = Some(old);
                }
                Some(old) => {
                    story.warnings.push(format!("{}: superseded by {}", old.path, new.path));
                    story.gate = Some(new);
                }
                None => story.gate = Some(new),
            }
        }
        FileKind::ValidationReport => {
            let number = validation_report_name(name).map_err(|e| e.to_string())?;
            let value = text_of(bytes).and_then(parse_validation_report).map_err(|e| e.to_string())?;
            let story = entry(stories, number);
            if let Some(old) = story.validation.take() {
                story.warnings.push(format!("{}: superseded by {path}", old.path));
            }
            story.validation = Some(Parsed { path: path.to_string(), slug: None, value });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classification_by_the_last_components() {
        let cases = [
            ("docs/stories/1.1.setup.md", Some(FileKind::Story)),
            ("./docs/stories/1.1.story.md", Some(FileKind::Story)),
            ("repo\\docs\\stories\\1.1.story.MD", Some(FileKind::Story)),
            ("docs/qa/gates/1.1-setup.yml", Some(FileKind::Gate)),
            ("docs/qa/gates/1.1-setup.yaml", Some(FileKind::Gate)),
            ("docs/qa/gates/1.1-setup.md", Some(FileKind::Gate)),
            ("docs/qa/validation-reports/story-1.1-validation.md", Some(FileKind::ValidationReport)),
            ("docs/stories/archive/1.1.md", None),
            ("docs/stories/notes.txt", None),
            ("docs/qa/assessments/1.1-risk-20250101.md", None),
            ("stories/1.1.md", None),
            ("docs/qa/gates/1.1.json", None),
            ("", None),
        ];
        for (path, want) in cases {
            assert_eq!(classify(path), want, "{path}");
        }
    }
}
