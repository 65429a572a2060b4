//! The `plan_md` parser (reference §7.3) through its public API: the
//! reference's example, every kind of error with its exact line or path, and
//! the bad-input guards.

use std::time::{Duration, Instant};

use baton_domain::backlog::VerifyRequired;
use baton_domain::plan_md::{
    PLAN_MD_MAX_BYTES, Plan, PlanError, PlanPbi, PlanSprint, PlanStory, PlanTask, parse_plan_md, parse_plan_md_bytes,
    render_plan_md,
};

/// The example of §7.3, verbatim. Line numbers in the tests count from here.
const EXAMPLE: &str = include_str!("plan_md_example.md");

fn expected() -> Plan {
    Plan {
        sprint: Some(PlanSprint { goal: "Ship CSV export".into() }),
        pbi: PlanPbi {
            title: "Export backlog as CSV".into(),
            description: Some("Users can download the product backlog as a CSV file.\n".into()),
            priority: 2,
        },
        stories: vec![PlanStory {
            title: "Download button on backlog page".into(),
            description: None,
            acceptance_criteria: Some("- Button visible for members\n- File contains code, title, status\n".into()),
            priority: 2,
            tasks: vec![
                PlanTask {
                    title: "Add export route".into(),
                    description: None,
                    implementation_plan:
                        "1. Create `app/api/products/[id]/export/route.ts`\n2. Stream rows ordered by sort_order\n"
                            .into(),
                    priority: 2,
                    verify_required: Some(VerifyRequired::AlignedOrPartial),
                    verify_only: false,
                },
                PlanTask {
                    title: "Typecheck pass".into(),
                    description: None,
                    implementation_plan: "Run `npm run typecheck`; no code changes expected.\n".into(),
                    priority: 3,
                    verify_required: None,
                    verify_only: true,
                },
            ],
        }],
        body: "# Overwegingen\nWhy this split, assumptions, alternatives, decisions.\n".into(),
    }
}

/// The errors of a document that must not parse.
fn errors(doc: &str) -> Vec<PlanError> {
    match parse_plan_md(doc) {
        Ok(plan) => panic!("expected errors, parsed {plan:?}"),
        Err(e) => e.0,
    }
}

/// The messages of a document's schema errors.
fn messages(doc: &str) -> Vec<String> {
    errors(doc).into_iter().map(|e| e.message).collect()
}

/// The example with line `n` (1-based) replaced by `with` (which may hold several lines).
fn example_with_line(n: usize, with: &str) -> String {
    let mut lines: Vec<&str> = EXAMPLE.split('\n').collect();
    lines[n - 1] = with;
    lines.join("\n")
}

#[test]
fn the_reference_example_parses_to_the_expected_plan() {
    let plan = parse_plan_md(EXAMPLE).expect("example parses");
    assert_eq!(plan, expected());
    assert_eq!(plan.task_count(), 2);
}

#[test]
fn crlf_line_breaks_parse_to_the_same_plan() {
    let crlf = EXAMPLE.replace('\n', "\r\n");
    let plan = parse_plan_md(&crlf).expect("CRLF example parses");
    let want = expected();
    assert_eq!((&plan.sprint, &plan.pbi, &plan.stories), (&want.sprint, &want.pbi, &want.stories));
    assert_eq!(plan.body, want.body.replace('\n', "\r\n"));
}

#[test]
fn a_utf8_bom_before_the_front_matter_is_skipped() {
    assert_eq!(parse_plan_md(&format!("\u{feff}{EXAMPLE}")), Ok(expected()));
    assert_eq!(parse_plan_md_bytes(format!("\u{feff}{EXAMPLE}").as_bytes()), Ok(expected()));
}

#[test]
fn the_body_is_trimmed_at_the_start_only_and_may_be_absent() {
    let front = EXAMPLE.split("---\n\n#").next().expect("front");
    let plan = parse_plan_md(&format!("{front}---")).expect("no body, no final newline");
    assert_eq!(plan.body, "");
    let plan = parse_plan_md(&format!("{front}---\n \n\t  text  \n\n")).expect("body");
    assert_eq!(plan.body, "text  \n\n");
}

#[test]
fn missing_front_matter_is_reported_on_line_1() {
    for doc in ["", "# Plan\n", "\n---\npbi: {}\n---\n", " ---\n", "--- \n---\n", "---pbi:\n---\n", "----\n---\n"] {
        let errs = errors(doc);
        assert_eq!(errs.len(), 1, "{doc:?}");
        assert_eq!(errs[0].line, Some(1), "{doc:?}");
        assert!(errs[0].message.ends_with("expected first line: ---"), "{doc:?}: {}", errs[0].message);
    }
}

#[test]
fn an_unclosed_front_matter_is_reported() {
    let errs = errors("---\npbi:\n  title: x\n");
    assert_eq!(errs.len(), 1);
    assert_eq!(errs[0].line, Some(1));
    assert!(errs[0].message.contains("never closed"), "{}", errs[0].message);
    // `--- ` and `---x` do not close it either.
    assert!(errors("---\na: 1\n--- \n")[0].message.contains("never closed"));
    assert!(errors("---\na: 1\n---x\n")[0].message.contains("never closed"));
}

#[test]
fn yaml_syntax_errors_carry_the_line_in_the_whole_document() {
    // Line 8 of the example is `  priority: 2`; one space too many breaks the mapping.
    let doc = example_with_line(8, "   priority: 2");
    let errs = errors(&doc);
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert_eq!(errs[0].line, Some(8), "{errs:?}");
    assert!(errs[0].message.starts_with("invalid YAML: "), "{}", errs[0].message);
    assert!(errs[0].message.contains("line 8 column"), "message uses document lines: {}", errs[0].message);

    // An unterminated flow sequence opened on line 20.
    let doc = example_with_line(20, "        priority: [2");
    let errs = errors(&doc);
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert!(errs[0].line.is_some_and(|l| l >= 20), "{errs:?}");

    // The same error with CRLF line breaks is on the same line.
    let errs = errors(&example_with_line(8, "   priority: 2").replace('\n', "\r\n"));
    assert_eq!(errs[0].line, Some(8), "{errs:?}");
}

#[test]
fn duplicate_keys_are_a_yaml_error_with_a_line() {
    let doc = example_with_line(8, "  priority: 2\n  priority: 3");
    let errs = errors(&doc);
    assert_eq!(errs.len(), 1, "{errs:?}");
    // The YAML library points at the mapping holding the duplicate (`pbi:`'s value).
    assert_eq!(errs[0].line, Some(5), "{errs:?}");
    assert!(errs[0].message.contains("pbi: duplicate entry with key \"priority\""), "{}", errs[0].message);
    assert!(errs[0].message.contains("duplicate"), "{}", errs[0].message);
}

#[test]
fn schema_violations_are_all_reported_with_dotted_paths() {
    let doc = EXAMPLE
        .replace("  priority: 2\nstories:", "  priority: 5\nstories:")
        .replace("  goal: \"Ship CSV export\"", "  goal: \"\"")
        .replace("        implementation_plan: |\n          Run `npm run typecheck`; no code changes expected.\n", "")
        .replace("verify_required: ALIGNED_OR_PARTIAL", "verify_required: SOMETIMES")
        .replace("verify_only: true", "verify_only: \"yes\"")
        .replace("  - title: \"Download button on backlog page\"", "  - title: 42");
    assert_eq!(
        messages(&doc),
        [
            "sprint.goal: must not be empty",
            "pbi.priority: must be an integer from 1 to 4",
            "stories.0.title: must be a string",
            "stories.0.tasks.0.verify_required: must be one of ALIGNED, ALIGNED_OR_PARTIAL, ANY",
            "stories.0.tasks.1.implementation_plan: required",
            "stories.0.tasks.1.verify_only: must be true or false",
        ]
    );
    let errs = errors(&doc);
    assert!(errs.iter().all(|e| e.line.is_none()));
    assert_eq!(errs[4].path.as_deref(), Some("stories.0.tasks.1.implementation_plan"));
}

#[test]
fn required_parts_and_shapes() {
    assert_eq!(messages("---\n---\n"), ["<root>: must be a mapping with pbi and stories"]);
    assert_eq!(messages("---\n- a\n---\n"), ["<root>: must be a mapping with pbi and stories"]);
    assert_eq!(errors("---\n- a\n---\n")[0].path.as_deref(), Some("<root>"));
    assert_eq!(messages("---\nother: 1\n---\n"), ["pbi: required", "stories: required"]);
    assert_eq!(
        messages("---\npbi: x\nstories: []\nsprint: [1]\n---\n"),
        ["sprint: must be a mapping", "pbi: must be a mapping", "stories: must have at least 1 item"]
    );
    assert_eq!(
        messages("---\npbi: {title: T, priority: 1}\nstories:\n  - {title: S, priority: 1, tasks: {}}\n  - 7\n---\n"),
        ["stories.0.tasks: must be a list", "stories.1: must be a mapping"]
    );
    assert_eq!(
        messages("---\npbi: {title: '  ', priority: 2.0}\nstories: [{title: S, priority: '1', tasks: []}]\n---\n"),
        [
            "pbi.title: must not be empty",
            "pbi.priority: must be an integer from 1 to 4",
            "stories.0.priority: must be an integer from 1 to 4",
            "stories.0.tasks: must have at least 1 item",
        ]
    );
}

#[test]
fn unknown_keys_and_nulls_for_optional_fields_are_ignored() {
    let doc = EXAMPLE
        .replace("pbi:\n", "owner: me\n? [complex, key]\n: value\n1: one\npbi:\n  extra: {a: [1, 2]}\n")
        .replace("  - title: \"Download", "  - notes: ~\n    description: null\n    title: \"Download");
    assert_eq!(parse_plan_md(&doc), Ok(expected()));
    // An explicit null sprint is no sprint.
    let plan =
        parse_plan_md(&EXAMPLE.replace("sprint:\n  goal: \"Ship CSV export\"\n", "sprint: ~\n")).expect("parses");
    assert_eq!(plan.sprint, None);
}

#[test]
fn lengths_are_counted_in_characters() {
    let title = |t: &str| EXAMPLE.replace("\"Add export route\"", &format!("\"{t}\""));
    // 200 two-byte characters (400 bytes) fit; 201 do not.
    let plan = parse_plan_md(&title(&"é".repeat(200))).expect("200 chars fit");
    assert_eq!(plan.stories[0].tasks[0].title.chars().count(), 200);
    assert_eq!(
        messages(&title(&"é".repeat(201))),
        ["stories.0.tasks.0.title: must be at most 200 characters (has 201)"]
    );
    let goal = EXAMPLE.replace("Ship CSV export", &"ü".repeat(501));
    assert_eq!(messages(&goal), ["sprint.goal: must be at most 500 characters (has 501)"]);
}

#[test]
fn verify_required_accepts_the_api_form_too() {
    let plan = parse_plan_md(&EXAMPLE.replace("ALIGNED_OR_PARTIAL", "any")).expect("parses");
    assert_eq!(plan.stories[0].tasks[0].verify_required, Some(VerifyRequired::Any));
    let plan = parse_plan_md(&EXAMPLE.replace("ALIGNED_OR_PARTIAL", "ALIGNED")).expect("parses");
    assert_eq!(plan.stories[0].tasks[0].verify_required, Some(VerifyRequired::Aligned));
}

#[test]
fn nul_characters_are_refused() {
    let errs = errors(&EXAMPLE.replace("Why this split", "Why\0 this split"));
    assert_eq!((errs.len(), errs[0].line), (1, Some(30)), "{errs:?}");
    assert!(errs[0].message.contains("NUL"));
    // Escaped in a double-quoted YAML string, it is a schema error on the field.
    assert_eq!(
        messages(&EXAMPLE.replace("\"Add export route\"", "\"Add\\0route\"")),
        ["stories.0.tasks.0.title: must not contain the NUL character (\\u0000)"]
    );
}

#[test]
fn oversized_plans_are_refused_before_parsing() {
    let at_limit = format!("{EXAMPLE}{}", "x".repeat(PLAN_MD_MAX_BYTES - EXAMPLE.len()));
    assert_eq!(at_limit.len(), PLAN_MD_MAX_BYTES);
    assert!(parse_plan_md(&at_limit).is_ok());
    let over = format!("{at_limit}x");
    for errs in [errors(&over), parse_plan_md_bytes(over.as_bytes()).expect_err("too big").0] {
        assert_eq!(errs.len(), 1);
        assert_eq!(errs[0].message, "plan_md is 262145 bytes; the limit is 262144 bytes (256 KB)");
        assert_eq!(errs[0].line, None);
    }
}

#[test]
fn invalid_utf8_is_reported_with_its_byte_and_line() {
    let mut bytes = EXAMPLE.as_bytes().to_vec();
    let at = EXAMPLE.find("Export backlog").expect("title");
    bytes[at] = 0xff;
    let errs = parse_plan_md_bytes(&bytes).expect_err("invalid").0;
    assert_eq!(errs.len(), 1);
    assert_eq!(errs[0].line, Some(5));
    assert_eq!(errs[0].message, format!("invalid UTF-8 at byte {at} (line 5); plan_md must be UTF-8 text"));
    // A truncated multi-byte character at the very end.
    let errs = parse_plan_md_bytes(&[b'-', b'-', b'-', b'\n', 0xe2, 0x82]).expect_err("invalid").0;
    assert_eq!(errs[0].line, Some(2));
}

/// Parses `doc` and returns the result with the time taken. The machine is
/// shared, so a slow run is timed again and the fastest run counts: a
/// descheduled thread is not the parser's fault, a really slow input stays slow.
fn timed(doc: &str) -> (Result<Plan, baton_domain::plan_md::PlanErrors>, Duration) {
    let start = Instant::now();
    let result = parse_plan_md(doc);
    let mut took = start.elapsed();
    if took > Duration::from_millis(250) {
        for _ in 0..3 {
            let start = Instant::now();
            let _ = parse_plan_md(doc);
            took = took.min(start.elapsed());
        }
    }
    (result, took)
}

/// Asserts `doc` fails quickly with one error whose message contains `needle`.
fn refused_fast(doc: &str, needle: &str) -> PlanError {
    let (result, took) = timed(doc);
    assert!(took < Duration::from_secs(1), "took {took:?}");
    let errs = result.expect_err("refused").0;
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert!(errs[0].message.contains(needle), "{:?} lacks {needle:?}", errs[0].message);
    errs.into_iter().next().expect("one error")
}

#[test]
fn a_billion_laughs_document_is_refused_quickly() {
    let mut yaml = String::from("a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n");
    for (name, prev) in ["b", "c", "d", "e", "f", "g", "h", "i"].iter().zip(["a", "b", "c", "d", "e", "f", "g", "h"]) {
        let refs = vec![format!("*{prev}"); 9].join(",");
        yaml.push_str(&format!("{name}: &{name} [{refs}]\n"));
    }
    refused_fast(&format!("---\n{yaml}---\n"), "YAML bomb");
    // The same bomb hidden in a field the schema reads.
    let doc = format!("---\n{yaml}pbi:\n  title: *i\n  priority: 1\nstories: *i\n---\n");
    refused_fast(&doc, "YAML bomb");
    // A big anchored story repeated thousands of times.
    let story = format!(
        "{{title: T, priority: 1, tasks: [{{title: t, priority: 1, implementation_plan: \"{}\"}}]}}",
        "p".repeat(4000)
    );
    let doc = format!(
        "---\npbi: {{title: T, priority: 1}}\ns: &s {story}\nstories: [{}]\n---\n",
        vec!["*s"; 20_000].join(",")
    );
    refused_fast(&doc, "YAML bomb");
    // Dense alias-free YAML (many nodes per byte) stays within the expansion budget.
    for dense in [format!("x: [{}]", "{a: },".repeat(40_000)), format!("x:\n{}", "-\n".repeat(100_000))] {
        assert_eq!(messages(&format!("---\n{dense}\n---\n")), ["pbi: required", "stories: required"]);
    }
    // A few small aliases are harmless and accepted.
    let doc = EXAMPLE
        .replace("  priority: 2\nstories:", "  priority: &p 2\nstories:")
        .replace("        priority: 3", "        priority: *p");
    assert_eq!(parse_plan_md(&doc).expect("small aliases").stories[0].tasks[1].priority, 2);
}

#[test]
fn deep_nesting_is_refused_with_a_clear_error() {
    let e = refused_fast(&format!("---\npbi: {}\n---\n", "[".repeat(10_000)), "nest deeper than 64");
    assert_eq!(e.line, Some(2));
    let e = refused_fast(&format!("---\na:\n{}---\n", "{a: [\n".repeat(40_000)), "nest deeper than 64");
    assert_eq!(e.line, Some(35), "the 65th level opens on the 33rd `{{a: [` line, document line 35");
    // Closed brackets on many lines never go deep.
    let flat = format!(
        "---\n{}pbi: {{title: T, priority: 1}}\nstories: [{{title: S, priority: 1, tasks: [{{title: t, priority: 1, implementation_plan: p}}]}}]\n---\n",
        (0..5000).map(|i| format!("x{i}: [[1], {{a: [2]}}]\n")).collect::<String>()
    );
    assert!(parse_plan_md(&flat).is_ok());
    // Block-style nesting is capped too.
    let mut deep = String::from("---\n");
    for i in 0..100 {
        deep.push_str(&" ".repeat(i));
        deep.push_str("a:\n");
    }
    deep.push_str("---\n");
    refused_fast(&deep, "nested deeper than 32");
    refused_fast(&format!("---\n{}x\n---\n", "- ".repeat(10_000)), "nested deeper than 32");
}

#[test]
fn brackets_inside_block_scalars_and_quotes_are_text() {
    let code = "{[(".repeat(200);
    let doc = EXAMPLE.replace(
        "          2. Stream rows ordered by sort_order\n",
        &format!("          2. Stream rows ordered by sort_order\n          {code}\n"),
    );
    assert!(
        parse_plan_md(&doc).expect("brackets in a block scalar").stories[0].tasks[0]
            .implementation_plan
            .contains(&code)
    );
    let doc = EXAMPLE.replace("\"Add export route\"", &format!("'{}'", "[".repeat(150)));
    assert_eq!(parse_plan_md(&doc).expect("brackets in quotes").stories[0].tasks[0].title, "[".repeat(150));
    let doc = EXAMPLE.replace("\"Add export route\"", &format!("\"{}\" # {}", "{".repeat(150), "[".repeat(100)));
    assert_eq!(
        parse_plan_md(&doc).expect("brackets in quotes and comments").stories[0].tasks[0].title,
        "{".repeat(150)
    );
}

#[test]
fn errors_serialize_as_the_reference_shows_them() {
    let errs = parse_plan_md("# no front-matter").expect_err("missing");
    assert_eq!(
        serde_json::to_value(&errs).expect("json"),
        serde_json::json!([{"line": 1, "message": "plan_md must start with YAML front-matter: expected first line: ---"}])
    );
    let errs = parse_plan_md("---\n- 1\n---\n").expect_err("root");
    assert_eq!(
        serde_json::to_value(&errs).expect("json"),
        serde_json::json!([{"path": "<root>", "message": "<root>: must be a mapping with pbi and stories"}])
    );
    assert_eq!(
        parse_plan_md("# x").expect_err("missing").to_string(),
        "line 1: plan_md must start with YAML front-matter: expected first line: ---"
    );
}

#[test]
fn a_rendered_plan_parses_back_to_itself() {
    let plan = expected();
    let md = render_plan_md(&plan);
    assert!(md.starts_with("---\n"));
    assert_eq!(parse_plan_md(&md), Ok(plan));
}

/// Inputs built to make the YAML scanner slow (its work per token grows with
/// the flow depth) or to slip deep nesting past the pre-scan: each fills the
/// size limit and must fail within a second even in a debug build.
#[test]
fn hostile_inputs_of_the_full_size_fail_fast() {
    fn fill(head: &str, unit: &str) -> String {
        let room = PLAN_MD_MAX_BYTES - head.len() - 16;
        format!("---\n{head}{}\n---\n", unit.repeat(room / unit.len()))
    }
    let cases = [
        ("one line of [", fill("a: ", "[")),
        ("{a: [ per line", fill("a:\n", "{a: [\n")),
        ("{a: per line", fill("a:\n", "{a: \n")),
        ("JSON-like {\"a\":", fill("a: ", "{\"a\":")),
        ("tags and anchors", fill("a: ", "!t {a: &x [\n")),
        ("comments hide closers", fill("a: ", "[ # ]\n")),
        ("explicit keys", fill("a: ", "? [\n")),
        ("quote inside a flow plain scalar", fill("a: [x 'b\n", ", {a: [\n")),
        ("quote continuing a plain scalar", fill("k: foo\n  \"bar\nx: ", "{a: [\n")),
        ("false block scalar header", fill("a: b |\n", "  {a: [\n")),
        ("document marker", fill("--- ", "{a: [\n")),
        ("closers in quotes", fill("a: ", "[ \"]\", ")),
        ("anchor bomb", fill("a: &a [x]\nb: [", "*a, ")),
        ("many entries and keys on one line", fill(&"- ".repeat(40_000), "a: ")),
    ];
    let mut report = Vec::new();
    for (name, doc) in &cases {
        let (result, took) = timed(doc);
        report.push(format!("{name}: {took:?}"));
        assert!(result.is_err(), "{name} parsed");
        assert!(took < Duration::from_secs(1), "{name} took {took:?}");
    }
    println!("hostile inputs ({} bytes each): {}", PLAN_MD_MAX_BYTES, report.join("; "));
}
