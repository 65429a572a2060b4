//! Property tests and a bounded-time fuzz run for the `plan_md` parser: no
//! input panics or takes long, and every plan the schema allows survives a
//! render → parse round trip unchanged.

#[path = "common/mutate.rs"]
mod mutate;

use std::time::{Duration, Instant};

use baton_domain::backlog::VerifyRequired;
use baton_domain::plan_md::{
    PLAN_MD_MAX_BYTES, Plan, PlanPbi, PlanSprint, PlanStory, PlanTask, parse_plan_md, parse_plan_md_bytes,
    render_plan_md,
};
use mutate::{Rng, mutate, timed};
use proptest::prelude::*;

/// Characters YAML gives meaning to, plus non-ASCII, so generated text
/// exercises quoting and escaping.
const TRICKY: &str = "[a-zA-Z0-9 _:#'\"{}\\[\\],&*!|>%@`~?=.\\-éü漢😀]";

/// YAML-looking text: the plan's keys, indentation and YAML's punctuation.
const YAML_SHAPED: &str =
    "(pbi|stories|tasks|title|priority|- |: |\n|  |\\[|\\]|\\{|\\}|&a |\\*a|\\||>|'|\"|#|,|1|x|!t ){0,80}";

/// Prefixes that might fool the flow-depth pre-scan (quotes, comments,
/// block scalars, tags, document markers).
const HIDING_PREFIX: &str =
    r#"(a|b|- |: |:|\n|\n  |  |\t|\[|\]|\{|\}|,|'|"|\\|#| #|\||>|&a |\*a|!t |\? |---|\.\.\.|\r\n){0,40}"#;

/// What every answer must be: a plan with at least one story, each with at
/// least one task, or at least one error that says something.
fn well_formed(r: &Result<Plan, baton_domain::plan_md::PlanErrors>) -> bool {
    match r {
        Ok(p) => !p.stories.is_empty() && p.stories.iter().all(|s| !s.tasks.is_empty()),
        Err(e) => !e.0.is_empty() && e.0.iter().all(|x| !x.message.trim().is_empty()),
    }
}

fn title() -> impl Strategy<Value = String> {
    proptest::string::string_regex(&format!("{TRICKY}{{1,40}}"))
        .expect("regex")
        .prop_map(|s| s.trim().to_string())
        .prop_filter("non-empty title", |s| !s.is_empty())
}

fn long_text() -> impl Strategy<Value = String> {
    proptest::string::string_regex(&format!("({TRICKY}|\n|\t){{0,120}}")).expect("regex")
}

fn required_text() -> impl Strategy<Value = String> {
    long_text().prop_filter("non-empty text", |s| !s.trim().is_empty())
}

fn verify_required() -> impl Strategy<Value = Option<VerifyRequired>> {
    proptest::option::of(proptest::sample::select(VerifyRequired::ALL))
}

fn task() -> impl Strategy<Value = PlanTask> {
    (title(), proptest::option::of(long_text()), required_text(), 1..=4i32, verify_required(), any::<bool>()).prop_map(
        |(title, description, implementation_plan, priority, verify_required, verify_only)| PlanTask {
            title,
            description,
            implementation_plan,
            priority,
            verify_required,
            verify_only,
        },
    )
}

fn story() -> impl Strategy<Value = PlanStory> {
    (
        title(),
        proptest::option::of(long_text()),
        proptest::option::of(long_text()),
        1..=4i32,
        proptest::collection::vec(task(), 1..4),
    )
        .prop_map(|(title, description, acceptance_criteria, priority, tasks)| PlanStory {
            title,
            description,
            acceptance_criteria,
            priority,
            tasks,
        })
}

fn plan() -> impl Strategy<Value = Plan> {
    (
        proptest::option::of(title()),
        title(),
        proptest::option::of(long_text()),
        1..=4i32,
        proptest::collection::vec(story(), 1..4),
        long_text(),
    )
        .prop_map(|(goal, title, description, priority, stories, body)| Plan {
            sprint: goal.map(|goal| PlanSprint { goal }),
            pbi: PlanPbi { title, description, priority },
            stories,
            body: body.trim_start().to_string(),
        })
}

proptest! {
    // Integration tests have no lib.rs for proptest to file regressions beside.
    #![proptest_config(ProptestConfig { cases: 200, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn any_string_parses_or_fails_without_panicking(s in any::<String>()) {
        let bare = parse_plan_md(&s);
        prop_assert!(well_formed(&bare), "{:?}", bare);
        if !s.starts_with("---") && !s.starts_with('\u{feff}') {
            prop_assert!(bare.is_err(), "no front-matter, no plan");
        }
        let framed = parse_plan_md(&format!("---\n{s}\n---\n"));
        prop_assert!(well_formed(&framed), "{:?}", framed);
    }

    #[test]
    fn any_bytes_parse_or_fail_without_panicking(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let bare = parse_plan_md_bytes(&bytes);
        prop_assert!(well_formed(&bare), "{:?}", bare);
        if std::str::from_utf8(&bytes).is_err() {
            prop_assert!(bare.is_err(), "invalid UTF-8 is never a plan");
        }
        let mut framed = b"---\n".to_vec();
        framed.extend_from_slice(&bytes);
        framed.extend_from_slice(b"\n---\n");
        let framed = parse_plan_md_bytes(&framed);
        prop_assert!(well_formed(&framed), "{:?}", framed);
    }

    #[test]
    fn yaml_shaped_text_parses_or_fails_without_panicking(
        s in proptest::string::string_regex(YAML_SHAPED).expect("regex")
    ) {
        let r = parse_plan_md(&format!("---\n{s}\n---\n"));
        prop_assert!(well_formed(&r), "{:?}", r);
    }

    /// Whatever comes first, deep nesting after it is still caught before the
    /// YAML scanner spends seconds on it: a prefix that fooled the pre-scan
    /// (a quote or comment it misread) would let the tail through.
    #[test]
    fn no_prefix_hides_deep_nesting_from_the_pre_scan(
        prefix in proptest::string::string_regex(HIDING_PREFIX).expect("regex")
    ) {
        let doc = format!("---\n{prefix}\n{}\n---\n", "{a: [\n".repeat(10_000));
        let mut took = Duration::MAX;
        for _ in 0..3 {
            let start = Instant::now();
            let result = parse_plan_md(&doc);
            took = took.min(start.elapsed());
            prop_assert!(result.is_err());
            if took < Duration::from_millis(500) {
                break;
            }
        }
        prop_assert!(took < Duration::from_millis(500), "took {:?} after prefix {:?}", took, prefix);
    }

    #[test]
    fn a_rendered_plan_parses_back_to_the_same_plan(plan in plan()) {
        let md = render_plan_md(&plan);
        prop_assert_eq!(parse_plan_md(&md), Ok(plan), "rendered:\n{}", md);
    }
}

/// Fragments that steer mutations toward the parser's edges.
const SPLICES: &[&str] = &[
    "[",
    "]",
    "{",
    "}",
    "&a ",
    "*a",
    "&b [*a,*a,*a,*a]",
    ": ",
    "- ",
    "\n",
    "\r\n",
    "\r",
    "  ",
    "\t",
    "|",
    ">-",
    "'",
    "\"",
    "\\",
    "#",
    "---\n",
    "...\n",
    "? ",
    "!!str ",
    "!t ",
    "%YAML 1.2\n",
    "~",
    "null",
    "priority: 9",
    "tasks: []",
    "\u{feff}",
    "\u{85}",
    "\u{2028}",
    "é",
    "😀",
    "\0",
    "<<: *a",
    "0x1F",
    "1e400",
    ".nan",
];

const FUZZ_CASES: usize = 20_000;
const BOUND: Duration = Duration::from_millis(200);

#[test]
fn twenty_thousand_mutated_plans_each_parse_or_fail_quickly() {
    let base = include_str!("plan_md_example.md").as_bytes();
    assert!(parse_plan_md_bytes(base).is_ok(), "the base parses");
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let (mut worst, mut worst_case, mut total, mut parsed) = (Duration::ZERO, 0, Duration::ZERO, 0);
    for case in 0..FUZZ_CASES {
        let doc = mutate(&mut rng, base, SPLICES, PLAN_MD_MAX_BYTES);
        let mut result = None;
        let took = timed(BOUND, &mut || result = Some(parse_plan_md_bytes(&doc)));
        total += took;
        if took > worst {
            (worst, worst_case) = (took, case);
            if let Some(dir) = std::env::var_os("PLAN_MD_FUZZ_DUMP") {
                // Keep the slowest input for a closer look.
                let _ = std::fs::write(std::path::Path::new(&dir).join("slowest.md"), &doc);
            }
        }
        match result.expect("parsed at least once") {
            Ok(_) => parsed += 1,
            Err(errors) => assert!(!errors.0.is_empty(), "case {case}: an error list is never empty"),
        }
    }
    println!(
        "plan_md fuzz: {FUZZ_CASES} cases, {parsed} parsed, worst {worst:?} (case {worst_case}), mean {:?}",
        total / FUZZ_CASES as u32
    );
    assert!(worst < BOUND, "case {worst_case} took {worst:?}");
}
