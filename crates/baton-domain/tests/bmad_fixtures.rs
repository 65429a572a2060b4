//! The BMAD parsers and the import scan on a small but realistic repository
//! (`tests/bmad/docs/…`): a v4 template story with QA Results, a CRLF story
//! with `---` separators, a `0.2.1` story, a `**Status:**`-line story, gates
//! in YAML (comments, offsets, inline and block waivers, extra keys, a
//! `decision` key, a gate without `gate`), a markdown gate, and reports.

use std::path::Path;

use baton_domain::marketplace::bmad::qa_gate::{GateSource, Severity};
use baton_domain::marketplace::bmad::validation_report::{Confidence, ValidationDecision};
use baton_domain::marketplace::bmad::{ScanResult, ScannedStory, scan};
use baton_domain::marketplace::{QaGateStatus, WorkflowStatus};

/// Every file under `tests/bmad`, as (repository path, bytes).
fn repository() -> Vec<(String, Vec<u8>)> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, Vec<u8>)>) {
        for entry in std::fs::read_dir(dir).expect("fixture dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                let rel = path.strip_prefix(root).expect("under root").to_string_lossy().replace('\\', "/");
                out.push((rel, std::fs::read(&path).expect("fixture")));
            }
        }
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/bmad");
    let mut out = Vec::new();
    walk(&root, &root, &mut out);
    out.push(("docs/stories/3.1.binary.md".into(), b"# Story 3.1: \xff\xfe".to_vec()));
    out.push(("docs/prd.md".into(), b"# PRD\n".to_vec()));
    out
}

fn story<'a>(r: &'a ScanResult, number: &str) -> &'a ScannedStory {
    r.stories.iter().find(|s| s.number.to_string() == number).unwrap_or_else(|| panic!("no story {number}"))
}

#[test]
fn the_scan_merges_stories_gates_and_reports_in_natural_order() {
    let r = scan(&repository());
    let numbers: Vec<_> = r.stories.iter().map(|s| s.number.to_string()).collect();
    assert_eq!(numbers, ["0.2.1", "1.2", "1.3", "1.4", "1.5", "1.11b", "2.1"]);
    assert_eq!(r.ignored, ["docs/prd.md"]);
    let rejected: Vec<(&str, &str)> = r.rejected.iter().map(|x| (x.path.as_str(), x.reason.as_str())).collect();
    assert_eq!(rejected.len(), 4, "{rejected:#?}");
    assert!(rejected[0].0.ends_with("gates/1.4-no-decision.yml") && rejected[0].1.starts_with("gate: missing"));
    assert!(
        rejected[1].0.ends_with("story-0.2.1-validation.md")
            && rejected[1].1.contains("Implementation Readiness Score")
    );
    assert!(
        rejected[2].0.ends_with("stories/3.1.binary.md") && rejected[2].1.contains("invalid UTF-8 at byte 13"),
        "{rejected:?}"
    );
    assert!(rejected[3].0.ends_with("stories/README.md") && rejected[3].1.contains("unknown file name"));
}

#[test]
fn the_scan_is_deterministic_whatever_the_input_order() {
    let files = repository();
    let mut reversed = files.clone();
    reversed.reverse();
    assert_eq!(scan(&files), scan(&reversed));
}

#[test]
fn the_template_story_with_its_gate_history_and_report() {
    let r = scan(&repository());
    let s = story(&r, "1.3");
    let file = &s.story_file.as_ref().expect("story file").value;
    assert_eq!(file.title.as_deref(), Some("User Authentication with GitHub OAuth"));
    assert_eq!((file.status_raw.as_deref(), file.status), (Some("✅ Done (QA Approved)"), Some(WorkflowStatus::Done)));
    assert_eq!(file.user_story.as_a.as_deref(), Some("client"));
    assert_eq!(file.acceptance_criteria.len(), 4);
    assert!(file.acceptance_criteria[1].contains("`githubUsername`"));
    assert_eq!((file.tasks.done, file.tasks.total), (7, 7));
    assert!(file.has_qa_results);
    assert_eq!(file.file_list, ["src/auth/github.ts", "src/auth/session.ts", "tests/auth/github.test.ts"]);
    let gate = s.gate.as_ref().expect("gate");
    assert!(gate.path.ends_with("1.3-user-auth.yml"), "the later `updated` wins over the first pass");
    assert_eq!(gate.slug.as_deref(), Some("user-auth"));
    assert_eq!(gate.value.gate, QaGateStatus::Pass);
    assert_eq!(gate.value.updated.map(|u| u.to_rfc3339()).as_deref(), Some("2025-09-12T20:40:00+00:00"));
    assert_eq!(gate.value.quality_score, Some(95));
    assert_eq!(gate.value.top_issues[0].severity, Some(Severity::Low));
    assert!(!gate.value.waiver.active);
    assert!(s.warnings.iter().any(|w| w.contains("1.3-user-auth-first-pass.yml: superseded")), "{:?}", s.warnings);
    let report = &s.validation.as_ref().expect("report").value;
    assert_eq!(
        (report.score, report.decision, report.confidence),
        (9, Some(ValidationDecision::Go), Some(Confidence::High))
    );
}

#[test]
fn crlf_rules_and_qa_status_lines_do_not_fool_the_story_parser() {
    let r = scan(&repository());
    let s = story(&r, "2.1");
    let file = &s.story_file.as_ref().expect("story file").value;
    assert_eq!(file.status, Some(WorkflowStatus::ReadyForReview), "not the **Status:** Done of QA Results");
    assert_eq!(file.acceptance_criteria, ["Email and password fields validate on blur.", "Errors name the field."]);
    assert_eq!((file.tasks.done, file.tasks.total), (1, 2));
    let gate = &s.gate.as_ref().expect("gate").value;
    assert_eq!(gate.gate, QaGateStatus::Waived);
    assert_eq!(gate.waiver.approved_by.as_deref(), Some("Product Owner"));
    assert_eq!(gate.updated.map(|u| u.to_rfc3339()).as_deref(), Some("2025-09-14T07:00:00+00:00"));
    let report = &s.validation.as_ref().expect("report").value;
    assert_eq!(
        (report.score, report.decision, report.confidence),
        (6, Some(ValidationDecision::NoGo), Some(Confidence::Medium))
    );
    assert!(s.warnings.is_empty(), "{:?}", s.warnings);

    let s = story(&r, "1.11b");
    let file = &s.story_file.as_ref().expect("story file").value;
    assert_eq!(
        (file.title.as_deref(), file.status),
        (Some("Retry queue for failed webhooks"), Some(WorkflowStatus::InProgress))
    );
    assert_eq!(s.story_file.as_ref().map(|f| f.slug.as_deref()), Some(Some("retry-queue")));
}

#[test]
fn sub_story_numbers_deferred_unknown_statuses_and_mismatches() {
    let r = scan(&repository());
    let s = story(&r, "0.2.1");
    assert_eq!((s.number.epic, s.number.story.as_str()), (0, "2.1"));
    assert_eq!(s.story_file.as_ref().and_then(|f| f.value.status), Some(WorkflowStatus::Blocked));
    assert!(s.validation.is_none(), "its report was rejected");

    let s = story(&r, "1.4");
    let file = &s.story_file.as_ref().expect("story file").value;
    assert_eq!((file.status_raw.as_deref(), file.status), (Some("Shipped"), None));
    assert!(s.gate.is_none());
    assert_eq!(s.warnings.len(), 2, "{:?}", s.warnings);
    assert!(s.warnings[0].contains("unknown status \"Shipped\""));
    assert!(s.warnings[1].contains("the title says story 1.5"));
}

#[test]
fn markdown_gates_and_decision_keys() {
    let r = scan(&repository());
    let gate = &story(&r, "1.2").gate.as_ref().expect("md gate").value;
    assert_eq!(
        (gate.gate, &gate.gate_source, gate.quality_score),
        (QaGateStatus::Pass, &GateSource::Markdown, Some(90))
    );
    assert!(story(&r, "1.2").story_file.is_none());
    let gate = &story(&r, "1.5").gate.as_ref().expect("decision gate").value;
    assert_eq!(gate.gate, QaGateStatus::Concerns);
    assert_eq!(gate.gate_source, GateSource::Decision("CHANGES_REQUESTED".into()));
    assert_eq!(gate.updated.map(|u| u.to_rfc3339()).as_deref(), Some("2025-09-20T00:00:00+00:00"));
}

#[test]
fn a_duplicate_story_file_or_path_is_rejected_with_the_one_used() {
    let story = b"## Status\nDraft\n".to_vec();
    let r = scan(&[
        ("docs/stories/1.1.story.md", story.clone()),
        ("docs/stories/1.1.setup.md", story.clone()),
        ("docs/stories/1.1.setup.md", story),
    ]);
    assert_eq!(r.stories.len(), 1);
    assert_eq!(r.stories[0].story_file.as_ref().map(|f| f.path.as_str()), Some("docs/stories/1.1.setup.md"));
    let reasons: Vec<_> = r.rejected.iter().map(|x| x.reason.as_str()).collect();
    assert_eq!(
        reasons,
        ["the same path is given twice", "another story file for 1.1 is used: docs/stories/1.1.setup.md"]
    );
    assert_eq!(scan::<&str, &[u8]>(&[]), ScanResult::default());
}
