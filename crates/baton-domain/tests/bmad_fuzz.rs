//! Fuzzing of the BMAD parsers: no input panics, every answer keeps the
//! parsers' promises, and each parse finishes in bounded time, also on the
//! largest accepted pathological files.

use std::time::{Duration, Instant};

use baton_domain::marketplace::QaGateStatus;
use baton_domain::marketplace::bmad::file_names::{gate_file_name, story_file_name, validation_report_name};
use baton_domain::marketplace::bmad::qa_gate::{parse_qa_gate_file, parse_qa_gate_md};
use baton_domain::marketplace::bmad::status::normalise;
use baton_domain::marketplace::bmad::{
    MAX_FILE_BYTES, StoryNumber, map_status, parse_qa_gate, parse_story_file, parse_validation_report, scan,
};
use proptest::prelude::*;

const MARKDOWN_SHAPED: &str = "(## Status|## Story|## QA Results|## Acceptance Criteria|## Tasks / Subtasks|\
### File List|## Dev Agent Record|# Story 1\\.2: |\\*\\*Status:\\*\\* |Status: |Done|InProgress|✅|❌|\\(|\\)| - | — |\
1\\. |2\\) |- \\[x\\] |- \\[ \\] |- `|`|---|```|```yaml\n|\r\n|\n|  |As a |I want |so that |\\*\\*|_|GO|NO-GO|NO GO|\
Final Assessment: |Implementation Readiness Score: |/10|8|10|0|Confidence: |High|gate: |PASS|WAIVED|Gate Status: |\
Active: true|## Waiver|### Story|### QA Results|---\n|status: |title: |- \\*\\*File List\\*\\*:|\\*   \\[x\\] |\
x|é|😀){0,80}";

const YAML_SHAPED: &str = "(gate|decision|waiver|active|true|reason|approved_by|top_issues|severity|high|updated|\
story|quality_score|: |- |\n|  |\\[|\\]|\\{|\\}|&a |\\*a|'|\"|#|,|PASS|WAIVED|CONCERNS|APPROVE|\
2025-09-12T10:00:00-04:00|1\\.2|101|!t |---\n|~|null){0,80}";

/// Every parser on one text; checks what each promises.
fn all_parsers(s: &str) {
    let _ = normalise(s);
    if let Some(status) = map_status(s) {
        assert_eq!(map_status(&normalise(s)), Some(status), "{s:?}");
    }
    let _ = (story_file_name(s), gate_file_name(s), validation_report_name(s), StoryNumber::parse(s));
    if let Some(n) = StoryNumber::parse(s) {
        assert_eq!(StoryNumber::parse(&n.to_string()), Some(n), "a number survives display → parse");
    }
    let story = parse_story_file(s);
    assert_eq!(story.is_err(), s.contains('\0'), "a story file fails only on NUL (size is bounded here): {s:?}");
    for gate in [parse_qa_gate(s), parse_qa_gate_md(s), parse_qa_gate_file("x.yml", s)].into_iter().flatten() {
        if gate.gate == QaGateStatus::Waived {
            assert!(gate.waiver.active && gate.waiver.reason.is_some() && gate.waiver.approved_by.is_some());
        }
        assert!(gate.quality_score.is_none_or(|q| q <= 100));
    }
    if let Ok(r) = parse_validation_report(s) {
        assert!((1..=10).contains(&r.score));
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn any_string_never_panics(s in any::<String>()) {
        all_parsers(&s);
    }

    #[test]
    fn markdown_shaped_text_never_panics(s in proptest::string::string_regex(MARKDOWN_SHAPED).expect("regex")) {
        all_parsers(&s);
    }

    #[test]
    fn yaml_shaped_text_never_panics(s in proptest::string::string_regex(YAML_SHAPED).expect("regex")) {
        all_parsers(&s);
    }

    #[test]
    fn any_files_scan_without_panicking_and_account_for_every_path(
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
        // Superseded gates and reports are neither used nor rejected.
        prop_assert!(used + r.rejected.len() + r.ignored.len() <= paths.len());
        let mut reversed = files.clone();
        reversed.reverse();
        prop_assert_eq!(scan(&reversed), r);
    }
}

/// A tiny deterministic generator (xorshift64).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        if n == 0 { 0 } else { (self.next() % n as u64) as usize }
    }
}

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

/// Deletes, inserts, overwrites, truncates, repeats slices (sometimes
/// thousands of times) and swaps lines.
fn mutate(rng: &mut Rng, base: &[u8]) -> Vec<u8> {
    let mut doc = base.to_vec();
    for _ in 0..=rng.below(4) {
        let at = rng.below(doc.len() + 1);
        match rng.below(7) {
            0 => {
                let end = (at + rng.below(40)).min(doc.len());
                doc.drain(at..end);
            }
            1 | 2 => {
                let s = SPLICES[rng.below(SPLICES.len())].as_bytes();
                doc.splice(at..at, s.iter().copied());
            }
            3 => {
                let b = (rng.next() & 0xff) as u8;
                if at < doc.len() {
                    doc[at] = b;
                } else {
                    doc.push(b);
                }
            }
            4 => doc.truncate(at),
            5 => {
                let end = (at + 1 + rng.below(30)).min(doc.len());
                let times = if rng.below(20) == 0 { 1 + rng.below(4000) } else { 1 + rng.below(5) };
                let piece = doc[at.min(end)..end].to_vec();
                let room = MAX_FILE_BYTES.saturating_sub(doc.len()) / piece.len().max(1);
                for _ in 0..times.min(room) {
                    doc.splice(at..at, piece.iter().copied());
                }
            }
            _ => {
                let text = String::from_utf8_lossy(&doc).into_owned();
                let mut lines: Vec<&str> = text.split('\n').collect();
                let (i, j) = (rng.below(lines.len()), rng.below(lines.len()));
                lines.swap(i, j);
                doc = lines.join("\n").into_bytes();
            }
        }
    }
    doc
}

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

/// The fastest of a few runs: the machine is shared, so a descheduled
/// thread is not blamed on the parser, while a really slow input stays slow.
fn timed(f: &dyn Fn()) -> Duration {
    let mut took = Duration::MAX;
    for _ in 0..3 {
        let start = Instant::now();
        f();
        took = took.min(start.elapsed());
        if took < BOUND / 4 {
            break;
        }
    }
    took
}

#[test]
fn ten_thousand_mutated_files_each_scan_quickly() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let (mut worst, mut worst_case, mut total, mut used) = (Duration::ZERO, 0, Duration::ZERO, 0usize);
    for case in 0..FUZZ_CASES {
        let (path, base) = BASES[case % BASES.len()];
        assert!(scan(&[(path, base.as_bytes())]).rejected.is_empty(), "the base {path} is accepted");
        let doc = mutate(&mut rng, base.as_bytes());
        let files = [(path, doc)];
        let took = timed(&|| {
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
        let took = timed(&|| {
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
