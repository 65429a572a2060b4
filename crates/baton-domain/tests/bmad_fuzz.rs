//! Fuzzing of the BMAD parsers: no input panics, every answer keeps the
//! parsers' promises, and each parse finishes in bounded time, also on the
//! largest accepted pathological files.

#[path = "common/mutate.rs"]
mod mutate;

use std::time::Duration;

use baton_domain::marketplace::QaGateStatus;
use baton_domain::marketplace::bmad::file_names::{base_name, gate_file_name, story_file_name, validation_report_name};
use baton_domain::marketplace::bmad::qa_gate::{parse_qa_gate_file, parse_qa_gate_md};
use baton_domain::marketplace::bmad::status::{STATUS_TABLE, normalise};
use baton_domain::marketplace::bmad::{
    BmadError, MAX_FILE_BYTES, StoryNumber, map_status, parse_qa_gate, parse_story_file, parse_validation_report, scan,
};
use mutate::{Rng, mutate, timed};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

const MARKDOWN_SHAPED: &str = "(## Status|## Story|## QA Results|## Acceptance Criteria|## Tasks / Subtasks|\
### File List|## Dev Agent Record|# Story 1\\.2: |\\*\\*Status:\\*\\* |Status: |Done|InProgress|✅|❌|\\(|\\)| - | — |\
1\\. |2\\) |- \\[x\\] |- \\[ \\] |- `|`|---|```|```yaml\n|\r\n|\n|  |As a |I want |so that |\\*\\*|_|GO|NO-GO|NO GO|\
Final Assessment: |Implementation Readiness Score: |/10|8|10|0|Confidence: |High|gate: |PASS|WAIVED|Gate Status: |\
Active: true|## Waiver|### Story|### QA Results|---\n|status: |title: |- \\*\\*File List\\*\\*:|\\*   \\[x\\] |\
x|é|😀){0,80}";

const YAML_SHAPED: &str = "(gate|decision|waiver|active|true|reason|approved_by|top_issues|severity|high|updated|\
story|quality_score|: |- |\n|  |\\[|\\]|\\{|\\}|&a |\\*a|'|\"|#|,|PASS|WAIVED|CONCERNS|APPROVE|\
2025-09-12T10:00:00-04:00|1\\.2|101|!t |---\n|~|null){0,80}";

/// Every parser on one text; checks what each promises. Besides not
/// panicking: each answer is deterministic, every value taken from the text
/// is found in it, numbers survive display → parse, statuses agree with the
/// mapper, and every refusal says why.
fn all_parsers(s: &str) -> Result<(), TestCaseError> {
    // The status mapper: its key is letters and digits only (lower-case
    // where ASCII), and mapping the key again gives the same answer.
    let key = normalise(s);
    prop_assert_eq!(&key, &normalise(s));
    prop_assert!(
        key.chars().all(|c| !c.is_ascii() || c.is_ascii_lowercase() || c.is_ascii_digit()),
        "key {:?} of {:?}",
        key,
        s
    );
    prop_assert!(!key.chars().any(char::is_whitespace));
    if let Some(status) = map_status(s) {
        prop_assert_eq!(map_status(&key), Some(status), "{:?}", s);
        prop_assert!(STATUS_TABLE.iter().any(|(k, st, _)| *k == key && *st == status), "{:?} is a table row", key);
    } else {
        prop_assert!(STATUS_TABLE.iter().all(|(k, _, _)| *k != key), "{:?} is not a table row", key);
    }

    // File names: a number read from a name is the digits written in it, a
    // slug is a piece of it, and a refusal names the file and the patterns.
    let base = base_name(s);
    let names = [story_file_name(s), gate_file_name(s), validation_report_name(s).map(|n| (n, None))];
    for name in names {
        match name {
            Ok((n, slug)) => {
                prop_assert!(base.contains(&n.to_string()), "{} is written in {:?}", n, base);
                prop_assert!(n.epic >= 0);
                prop_assert_eq!(StoryNumber::parse(&n.to_string()), Some(n.clone()));
                if let Some(slug) = slug {
                    prop_assert!(!slug.is_empty() && base.contains(&slug), "slug {:?} of {:?}", slug, base);
                }
            }
            Err(e) => {
                prop_assert!(matches!(&e, BmadError::UnknownName { name, .. } if name == s), "{:?}", e);
                prop_assert!(e.to_string().contains("expected"), "{}", e);
            }
        }
    }
    if let Some(n) = StoryNumber::parse(s) {
        prop_assert_eq!(StoryNumber::parse(&n.to_string()), Some(n.clone()), "a number survives display → parse");
        prop_assert!(s.trim().ends_with(&format!(".{}", n.story)), "{:?} ends with the story part of {}", s, n);
    }

    // The story file: fails only on NUL (size is bounded here); its status
    // is its raw status mapped; counts are consistent.
    let story = parse_story_file(s);
    prop_assert_eq!(story.is_err(), s.contains('\0'), "a story file fails only on NUL: {:?}", s);
    prop_assert_eq!(&story, &parse_story_file(s));
    match story {
        Ok(story) => {
            prop_assert_eq!(story.status, story.status_raw.as_deref().and_then(map_status));
            prop_assert!(story.tasks.done <= story.tasks.total, "{:?}", story.tasks);
            if let Some(n) = &story.title_number {
                prop_assert!(s.contains(&n.to_string()), "title number {} is written in the text", n);
            }
        }
        Err(e) => prop_assert_eq!(e, BmadError::Nul),
    }

    // Gates: a waiver is complete, a score is a percentage, the answer is
    // deterministic, and a refusal says why.
    for parse in [parse_qa_gate, parse_qa_gate_md, |t: &str| parse_qa_gate_file("x.yml", t)] {
        let gate = parse(s);
        prop_assert_eq!(&gate, &parse(s));
        match gate {
            Ok(gate) => {
                if gate.gate == QaGateStatus::Waived {
                    prop_assert!(
                        gate.waiver.active && gate.waiver.reason.is_some() && gate.waiver.approved_by.is_some()
                    );
                }
                prop_assert!(gate.quality_score.is_none_or(|q| q <= 100));
            }
            Err(e) => prop_assert!(!e.to_string().trim().is_empty()),
        }
    }

    // Validation reports: a score out of ten, whose digits are in the text.
    match parse_validation_report(s) {
        Ok(r) => {
            prop_assert!((1..=10).contains(&r.score));
            prop_assert!(s.contains(&r.score.to_string()) || s.contains('/'), "score {} from {:?}", r.score, s);
        }
        Err(e) => prop_assert!(!e.to_string().trim().is_empty()),
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn any_string_gets_consistent_answers(s in any::<String>()) {
        all_parsers(&s)?;
    }

    #[test]
    fn markdown_shaped_text_gets_consistent_answers(s in proptest::string::string_regex(MARKDOWN_SHAPED).expect("regex")) {
        all_parsers(&s)?;
    }

    #[test]
    fn yaml_shaped_text_gets_consistent_answers(s in proptest::string::string_regex(YAML_SHAPED).expect("regex")) {
        all_parsers(&s)?;
    }

    #[test]
    fn any_files_scan_the_same_in_any_order_from_their_own_paths(
        files in proptest::collection::vec(
            (
                proptest::sample::select(vec!["docs/stories/", "docs/qa/gates/", "docs/qa/validation-reports/", "docs/", "x/docs/stories/"]),
                proptest::string::string_regex("(1|0|2|\\.|-|b|story|validation|slug|\\.md|\\.yml|\\.yaml){0,8}").expect("regex"),
                proptest::collection::vec(any::<u8>(), 0..200),
            ),
            0..12,
        )
    ) {
        let files: Vec<(String, Vec<u8>)> = files.into_iter().map(|(dir, name, bytes)| (format!("{dir}{name}"), bytes)).collect();
        let r = scan(&files);
        let mut paths: Vec<&str> = files.iter().map(|f| f.0.as_str()).collect();
        paths.sort();
        let used = r.stories.iter().flat_map(|s| {
            [s.story_file.as_ref().map(|f| f.path.as_str()), s.gate.as_ref().map(|f| f.path.as_str()), s.validation.as_ref().map(|f| f.path.as_str())]
        }).flatten().count();
        // Every file the scan used is one of the given ones.
        for s in &r.stories {
            for p in [s.story_file.as_ref().map(|f| &f.path), s.gate.as_ref().map(|f| &f.path), s.validation.as_ref().map(|f| &f.path)].into_iter().flatten() {
                prop_assert!(paths.binary_search(&p.as_str()).is_ok(), "{} is not an input path", p);
            }
        }
        // Superseded gates and reports are neither used nor rejected.
        prop_assert!(used + r.rejected.len() + r.ignored.len() <= paths.len());
        let mut reversed = files.clone();
        reversed.reverse();
        prop_assert_eq!(scan(&reversed), r);
    }
}

/// Fragments that steer mutations toward the BMAD parsers' edges.
const SPLICES: &[&str] = &[
    "---\nstatus: Done\n---\n",
    "### ",
    "- **File List**:\n",
    "    *   [x] ",
    "gate: PASS\ngate: FAIL\n",
    "a:\n  d: 1\n  d: 2\n",
    "\n",
    "\r\n",
    "## Status\n",
    "## QA Results\n",
    "**Status:** ",
    "Done ✅",
    "(",
    ")",
    " - ",
    "---\n",
    "```\n",
    "```yaml\n",
    "- [x] ",
    "1. ",
    "As a ",
    "gate: ",
    "WAIVED",
    "waiver: {active: true}",
    "[",
    "{",
    "&a ",
    "*a",
    "'",
    "\"",
    "#",
    ": ",
    "  ",
    "Implementation Readiness Score: ",
    "/10",
    "GO",
    "NO-GO",
    "\0",
    "\u{feff}",
    "😀",
];

const BASES: &[(&str, &str)] = &[
    ("docs/stories/1.3.user-auth.md", include_str!("bmad/docs/stories/1.3.user-auth.md")),
    ("docs/qa/gates/1.3-user-auth.yml", include_str!("bmad/docs/qa/gates/1.3-user-auth.yml")),
    ("docs/qa/gates/2.1-login-form.yaml", include_str!("bmad/docs/qa/gates/2.1-login-form.yaml")),
    ("docs/qa/gates/1.2-calculator-engine.md", include_str!("bmad/docs/qa/gates/1.2-calculator-engine.md")),
    (
        "docs/qa/validation-reports/story-1.3-validation.md",
        include_str!("bmad/docs/qa/validation-reports/story-1.3-validation.md"),
    ),
];

const FUZZ_CASES: usize = 10_000;
/// Per parse of one file (a debug build on a shared two-core machine).
const BOUND: Duration = Duration::from_millis(250);

#[test]
fn ten_thousand_mutated_files_each_scan_quickly() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let (mut worst, mut worst_case, mut total, mut used) = (Duration::ZERO, 0, Duration::ZERO, 0usize);
    for case in 0..FUZZ_CASES {
        let (path, base) = BASES[case % BASES.len()];
        assert!(scan(&[(path, base.as_bytes())]).rejected.is_empty(), "the base {path} is accepted");
        let doc = mutate(&mut rng, base.as_bytes(), SPLICES, MAX_FILE_BYTES);
        let files = [(path, doc)];
        let took = timed(BOUND, &mut || {
            let r = scan(&files);
            assert_eq!(r.stories.len() + r.rejected.len(), 1, "one file, one answer");
        });
        used += scan(&files).stories.len();
        total += took;
        if took > worst {
            (worst, worst_case) = (took, case);
        }
    }
    println!(
        "bmad fuzz: {FUZZ_CASES} cases, {used} used, worst {worst:?} (case {worst_case}), mean {:?}",
        total / FUZZ_CASES as u32
    );
    assert!(worst < BOUND, "case {worst_case} took {worst:?}");
}

#[test]
fn the_largest_pathological_files_parse_in_bounded_time() {
    let fill = |piece: &str| piece.repeat((MAX_FILE_BYTES - 64) / piece.len());
    let cases = [
        ("docs/stories/1.1.a.md", fill("## Status\n")),
        ("docs/stories/1.1.b.md", fill("## Story\nas a as a i want so that ")),
        ("docs/stories/1.1.c.md", fill("## Acceptance Criteria\n1. x\n  y\n")),
        ("docs/stories/1.1.d.md", fill("## Dev Agent Record\n### File List\n- `a` - b\n")),
        ("docs/stories/1.1.e.md", fill("**Status:** ")),
        ("docs/stories/1.1.f.md", fill("```\n## Status\n")),
        ("docs/stories/1.1.g.md", fill("### Story\n### QA Results\n**Status:** x\n")),
        ("docs/stories/1.1.h.md", format!("---\n{}---\n", fill("status: x\n"))),
        ("docs/stories/1.1.i.md", fill("## Dev Agent Record\n- **File List**:\n    *   [x] `a`\n")),
        ("docs/qa/gates/1.1-a.md", fill("```yaml\ngate: x\n")),
        ("docs/qa/gates/1.1-b.md", fill("Gate Status: PASS\n## Waiver\nActive: true\n")),
        ("docs/qa/gates/1.1-c.yml", format!("gate: PASS\ntop_issues:\n{}", fill("  - {id: a, severity: high}\n"))),
        ("docs/qa/gates/1.1-d.yml", fill("[")),
        ("docs/qa/gates/1.1-e.yml", format!("gate: PASS\nx: '{}'\n", fill("a"))),
        ("docs/qa/validation-reports/1.1-validation.md", fill("Implementation Readiness Score\n")),
        ("docs/qa/validation-reports/1.2-validation.md", fill("## Final Assessment\n\n")),
        ("docs/qa/validation-reports/1.3-validation.md", fill("GO / NO-GO (((((")),
    ];
    let mut worst = (Duration::ZERO, "");
    for (path, text) in &cases {
        assert!(text.len() <= MAX_FILE_BYTES);
        let files = [(*path, text.as_bytes())];
        let took = timed(BOUND, &mut || {
            let _ = scan(&files);
        });
        if took > worst.0 {
            worst = (took, path);
        }
        assert!(took < Duration::from_secs(2), "{path} took {took:?}");
    }
    println!("bmad pathological: {} files of up to 512 KB, worst {:?} ({})", cases.len(), worst.0, worst.1);
    let over = "a".repeat(MAX_FILE_BYTES + 1);
    let r = scan(&[("docs/stories/1.1.x.md", over.as_bytes())]);
    assert!(r.rejected[0].reason.contains("limit"), "{:?}", r.rejected);
}
