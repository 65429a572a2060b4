//! One test per edge case that issue 12 and reference §12.5 list for the
//! BMAD parsers, named after it, so each can be traced.

use baton_domain::marketplace::bmad::file_names::{gate_file_name, story_file_name};
use baton_domain::marketplace::bmad::qa_gate::GateSource;
use baton_domain::marketplace::bmad::{
    BmadError, map_status, parse_qa_gate, parse_qa_gate_file, parse_story_file, scan,
};
use baton_domain::marketplace::{QaGateStatus, WorkflowStatus};

fn story_status(text: &str) -> Option<WorkflowStatus> {
    parse_story_file(text).expect("parses").status
}

fn gate(text: &str) -> baton_domain::marketplace::bmad::QaGate {
    parse_qa_gate(text).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn status_upper_case_done() {
    assert_eq!(map_status("DONE"), Some(WorkflowStatus::Done));
    assert_eq!(story_status("## Status\n\nDONE\n"), Some(WorkflowStatus::Done));
}

#[test]
fn status_in_markdown_bold() {
    assert_eq!(story_status("## Status\n\n**Done**\n"), Some(WorkflowStatus::Done));
}

#[test]
fn status_with_a_trailing_emoji() {
    assert_eq!(story_status("## Status\n\nDone ✅\n"), Some(WorkflowStatus::Done));
}

#[test]
fn status_with_a_leading_emoji_and_a_parenthetical() {
    assert_eq!(story_status("## Status\n\n✅ Done (QA Approved)\n"), Some(WorkflowStatus::Done));
}

#[test]
fn status_with_trailing_prose() {
    let text = "## Status\n\nDone - Implementation Complete (all ACs met, 48 tests passing)\n";
    assert_eq!(story_status(text), Some(WorkflowStatus::Done));
}

#[test]
fn status_deferred_with_trailing_prose() {
    assert_eq!(story_status("## Status\n\nDeferred - Post-Epic 5\n"), Some(WorkflowStatus::Blocked));
}

#[test]
fn status_v6_strings() {
    let v6 = ["backlog", "ready-for-dev", "in-progress", "review", "done"].map(map_status);
    use WorkflowStatus::*;
    assert_eq!(v6, [Some(Draft), Some(Approved), Some(InProgress), Some(ReadyForReview), Some(Done)]);
    assert_eq!(story_status("# Story 1.2: T\n\nStatus: ready-for-dev\n"), Some(Approved));
}

#[test]
fn status_unknown_leaves_none_and_a_warning() {
    let s = parse_story_file("## Status\n\nOn hold until Q3\n").expect("parses");
    assert_eq!(s.status, None);
    assert!(s.status_warning().is_some());
}

#[test]
fn status_lines_inside_qa_results_are_not_the_story_status() {
    let text = "# Story 1.2: T\n\n## Status\n\nIn Progress\n\n## QA Results\n\n**Status:** Done\n";
    assert_eq!(story_status(text), Some(WorkflowStatus::InProgress));
    let without_section = "# Story 1.2: T\n\n## QA Results\n\n**Status:** Done\n";
    assert_eq!(story_status(without_section), None);
}

#[test]
fn rule_separators_between_sections() {
    let text =
        "# Story 1.2: T\n\n---\n\n## Status\n\n---\n\nApproved\n\n---\n\n## Acceptance Criteria\n\n1. A\n\n---\n";
    let s = parse_story_file(text).expect("parses");
    assert_eq!(
        (s.status, s.acceptance_criteria.as_slice()),
        (Some(WorkflowStatus::Approved), ["A".to_string()].as_slice())
    );
}

#[test]
fn story_file_names_with_slug_and_story_suffix() {
    for (name, number, slug) in [
        ("1.3.user-auth.md", "1.3", Some("user-auth")),
        ("1.3.story.md", "1.3", None),
        ("1.3.user-auth.story.md", "1.3", Some("user-auth")),
        ("1.11b.retry.md", "1.11b", Some("retry")),
        ("2.2B1.split.md", "2.2B1", Some("split")),
    ] {
        let (n, s) = story_file_name(name).expect(name);
        assert_eq!((n.to_string().as_str(), s.as_deref()), (number, slug), "{name}");
    }
}

#[test]
fn story_numbers_like_0_2_1() {
    let (n, _) = story_file_name("0.2.1.story.md").expect("parses");
    assert_eq!((n.epic, n.story.as_str()), (0, "2.1"));
    let (g, slug) = gate_file_name("0.2.1-core-testing-framework.yml").expect("parses");
    assert_eq!((g, slug.as_deref()), (n, Some("core-testing-framework")));
}

#[test]
fn gate_enums_quoted_and_unquoted() {
    assert_eq!(gate("gate: \"PASS\"\n").gate, QaGateStatus::Pass);
    assert_eq!(gate("gate: PASS\n").gate, QaGateStatus::Pass);
    assert_eq!(gate("gate: 'concerns'\n").gate, QaGateStatus::Concerns);
}

#[test]
fn gate_with_leading_comment_lines() {
    assert_eq!(gate("# Powered by BMAD™ Core\n# second comment\nschema: 1\ngate: FAIL\n").gate, QaGateStatus::Fail);
}

#[test]
fn gate_timestamps_with_offsets() {
    let g = gate("gate: PASS\nupdated: 2025-09-12T10:00:00-04:00\n");
    assert_eq!(g.updated.map(|u| u.to_rfc3339()).as_deref(), Some("2025-09-12T14:00:00+00:00"));
}

#[test]
fn gate_waiver_inline_and_block() {
    assert!(!gate("gate: PASS\nwaiver: { active: false }\n").waiver.active);
    assert!(!gate("gate: PASS\nwaiver:\n  active: false\n").waiver.active);
    let block = gate("gate: WAIVED\nwaiver:\n  active: true\n  reason: MVP\n  approved_by: PO\n");
    assert_eq!(block.gate, QaGateStatus::Waived);
}

#[test]
fn gate_waived_without_an_active_waiver_is_rejected() {
    let err = parse_qa_gate("gate: WAIVED\nwaiver: { active: false }\n").expect_err("inactive waiver");
    assert!(matches!(err, BmadError::Field { ref field, .. } if field == "waiver"), "{err}");
}

#[test]
fn gate_extra_keys_are_ignored() {
    let g = gate("gate: PASS\nsprint: 4\nteam_notes: { anything: [1, 2] }\ncustom_list:\n  - a\n");
    assert_eq!((g.gate, g.warnings.len()), (QaGateStatus::Pass, 0));
}

#[test]
fn gate_story_as_string_or_number() {
    assert_eq!(gate("story: \"1.3\"\ngate: PASS\n").story.as_deref(), Some("1.3"));
    assert_eq!(gate("story: 1.3\ngate: PASS\n").story.as_deref(), Some("1.3"));
}

#[test]
fn gate_without_gate_is_rejected_with_the_reason() {
    let err = parse_qa_gate("schema: 1\nstory: '1.3'\nreviewer: Quinn\n").expect_err("no gate");
    assert_eq!(
        err.to_string(),
        "gate: missing; a QA gate must state gate: PASS, CONCERNS, FAIL or WAIVED (or an explicit decision:)"
    );
}

#[test]
fn gate_with_an_explicit_decision_mapping() {
    let g = gate("schema: 1\ndecision: REJECT\n");
    assert_eq!((g.gate, g.gate_source), (QaGateStatus::Fail, GateSource::Decision("REJECT".into())));
}

#[test]
fn gate_saved_as_md() {
    let md = "# Quality Gate Decision: 1.2 - Calculator Engine\n\n## Gate Status: PASS\n\n## Quality Score: 90\n";
    assert_eq!(parse_qa_gate_file("1.2-calculator-engine.md", md).map(|g| g.gate), Ok(QaGateStatus::Pass));
    let r = scan(&[("docs/qa/gates/1.2-calculator-engine.md", md.as_bytes())]);
    assert_eq!(r.stories[0].gate.as_ref().map(|g| g.value.quality_score), Some(Some(90)));
}
