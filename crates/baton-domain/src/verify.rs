//! The diff-versus-plan classifier (reference §5.3) and the verify gate that
//! decides whether a task job may be marked done (§5.4). Heuristic, no model:
//! the same diff and plan always give the same answer.

use crate::backlog::{VerifyRequired, VerifyResult};

/// A classification with a short explanation for the agent and the people
/// reading the job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// The result.
    pub result: VerifyResult,
    /// Why, in one sentence.
    pub reasoning: String,
}

/// Changed lines above which a diff with a path-less plan is divergent.
pub const PLANLESS_LINE_LIMIT: usize = 50;
/// Diff paths per plan path at or above which a fully covered diff is scope creep.
pub const SCOPE_CREEP_RATIO: usize = 3;
/// Shortest summary that may explain a partial or divergent result.
pub const MIN_DRIFT_SUMMARY: usize = 20;

/// Paths named by `+++ b/<path>` lines of a unified diff (not `/dev/null`).
pub fn diff_paths(diff: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for line in diff.lines() {
        if let Some(rest) = line.strip_prefix("+++ ") {
            let rest = rest.split('\t').next().unwrap_or(rest).trim();
            if rest == "/dev/null" {
                continue;
            }
            let path = rest.strip_prefix("b/").unwrap_or(rest);
            let path = normalise(path);
            if !path.is_empty() && !out.contains(&path) {
                out.push(path);
            }
        }
    }
    out
}

/// Lines that add or remove content (file headers excluded).
pub fn changed_lines(diff: &str) -> usize {
    diff.lines()
        .filter(|l| (l.starts_with('+') && !l.starts_with("+++")) || (l.starts_with('-') && !l.starts_with("---")))
        .count()
}

fn normalise(p: &str) -> String {
    p.trim().replace('\\', "/").trim_start_matches("./").to_string()
}

/// Whether a backtick token in a plan names a file path. Rejects attribute
/// snippets (`data-debug-label="x"`), code, ranges and bare words — the
/// reference system once read `data-debug-label="…"` as a path, failed a job
/// and cascaded into cancelling twelve siblings.
pub fn looks_like_path(token: &str) -> bool {
    let t = token.trim();
    if t.chars().count() <= 3 || t.contains(char::is_whitespace) {
        return false;
    }
    if t.contains(['=', '"', '\'', '(', ')', '[', ']', '{', '}', '<', '>', ',', ';', '`', '*', '|']) || t.contains("..")
    {
        return false;
    }
    if t.contains("://") {
        return false;
    }
    let last = t.rsplit('/').next().unwrap_or(t);
    let has_ext = last.rsplit_once('.').is_some_and(|(stem, ext)| {
        !stem.is_empty() && (1..=10).contains(&ext.len()) && ext.chars().all(|c| c.is_ascii_alphanumeric())
    });
    // A directory-ish token with a slash and no extension is a path too,
    // unless it ends with a slash (a bare directory the diff never names).
    has_ext
        || (t.contains('/')
            && !t.ends_with('/')
            && last.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)))
}

/// Paths a plan names: path-like backtick tokens and `- **file.ext**:` bullet headings.
pub fn plan_paths(plan: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut push = |p: &str| {
        let p = normalise(p);
        if !out.contains(&p) {
            out.push(p);
        }
    };
    for line in plan.lines() {
        let mut parts = line.split('`');
        // Odd-indexed pieces are inside backticks.
        let _ = parts.next();
        while let Some(inside) = parts.next() {
            if looks_like_path(inside) {
                push(inside);
            }
            let _ = parts.next();
        }
        let trimmed = line.trim_start();
        if let Some(rest) = trimmed.strip_prefix("- **").or_else(|| trimmed.strip_prefix("* **"))
            && let Some((name, after)) = rest.split_once("**")
            && after.trim_start().starts_with(':')
            && looks_like_path(name)
        {
            push(name);
        }
    }
    out
}

fn matches(plan_path: &str, diff_path: &str) -> bool {
    plan_path == diff_path
        || diff_path.ends_with(&format!("/{plan_path}"))
        || plan_path.ends_with(&format!("/{diff_path}"))
}

fn list(items: &[&String]) -> String {
    items.iter().take(3).map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
}

/// Classifies a unified diff against an implementation plan.
pub fn classify(diff: &str, plan: &str) -> Verdict {
    let dpaths = diff_paths(diff);
    if dpaths.is_empty() {
        return Verdict { result: VerifyResult::Empty, reasoning: "the diff changes no files".into() };
    }
    let lines = changed_lines(diff);
    let ppaths = plan_paths(plan);
    if ppaths.is_empty() {
        return if lines > PLANLESS_LINE_LIMIT {
            Verdict {
                result: VerifyResult::Divergent,
                reasoning: format!(
                    "the plan names no files and the diff changes {lines} lines (more than {PLANLESS_LINE_LIMIT})"
                ),
            }
        } else {
            Verdict {
                result: VerifyResult::Aligned,
                reasoning: format!("the plan names no files; a small diff of {lines} lines is accepted"),
            }
        };
    }
    let missing: Vec<&String> = ppaths.iter().filter(|p| !dpaths.iter().any(|d| matches(p, d))).collect();
    if !missing.is_empty() {
        let present = ppaths.len() - missing.len();
        return Verdict {
            result: VerifyResult::Partial,
            reasoning: format!("{present}/{} plan paths present; missing: {}", ppaths.len(), list(&missing)),
        };
    }
    if dpaths.len() >= SCOPE_CREEP_RATIO * ppaths.len() {
        let extra: Vec<&String> = dpaths.iter().filter(|d| !ppaths.iter().any(|p| matches(p, d))).collect();
        return Verdict {
            result: VerifyResult::Divergent,
            reasoning: format!(
                "all {} plan paths present, but the diff touches {} files; extra: {}",
                ppaths.len(),
                dpaths.len(),
                list(&extra)
            ),
        };
    }
    Verdict { result: VerifyResult::Aligned, reasoning: format!("all {} plan paths present", ppaths.len()) }
}

/// Why the gate refused to mark a job done.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GateRefusal(pub String);

/// The verify gate: may a task job with this verification be marked done?
pub fn gate(
    result: Option<VerifyResult>,
    verify_only: bool,
    required: VerifyRequired,
    summary: Option<&str>,
) -> Result<(), GateRefusal> {
    let Some(result) = result else {
        return Err(GateRefusal("no verification yet: run verify_task_against_plan first".into()));
    };
    match result {
        VerifyResult::Aligned => Ok(()),
        VerifyResult::Empty if verify_only => Ok(()),
        VerifyResult::Empty => Err(GateRefusal(
            "the diff is empty: mark the task verify_only if nothing needed changing, or report the job as skipped"
                .into(),
        )),
        VerifyResult::Partial | VerifyResult::Divergent => match required {
            VerifyRequired::Any => Ok(()),
            VerifyRequired::Aligned => Err(GateRefusal(format!(
                "this task requires an aligned diff, but verification says {}",
                result.as_api()
            ))),
            VerifyRequired::AlignedOrPartial => {
                let len = summary.map(|s| s.trim().chars().count()).unwrap_or(0);
                if len >= MIN_DRIFT_SUMMARY {
                    Ok(())
                } else {
                    Err(GateRefusal(format!(
                        "verification says {}: give a summary of at least {MIN_DRIFT_SUMMARY} characters explaining the drift",
                        result.as_api()
                    )))
                }
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn diff(paths: &[&str], lines_each: usize) -> String {
        let mut d = String::new();
        for p in paths {
            d.push_str(&format!("diff --git a/{p} b/{p}\n--- a/{p}\n+++ b/{p}\n@@ -1 +1 @@\n"));
            for i in 0..lines_each {
                d.push_str(&format!("+line {i}\n"));
            }
        }
        d
    }

    #[test]
    fn classifier_table() {
        let cases: &[(&str, String, &str, VerifyResult)] = &[
            ("empty diff", String::new(), "Edit `src/a.rs`", VerifyResult::Empty),
            ("deleted file only", "--- a/x.rs\n+++ /dev/null\n-gone\n".into(), "Edit `x.rs`", VerifyResult::Empty),
            ("no plan paths, small diff", diff(&["src/a.rs"], 10), "Make it faster", VerifyResult::Aligned),
            ("no plan paths, big diff", diff(&["src/a.rs"], 51), "", VerifyResult::Divergent),
            (
                "all plan paths present",
                diff(&["src/a.rs", "src/b.rs"], 3),
                "Change `src/a.rs` and `src/b.rs`",
                VerifyResult::Aligned,
            ),
            ("suffix match", diff(&["crates/x/src/lib.rs"], 3), "Touch `src/lib.rs`", VerifyResult::Aligned),
            ("missing one", diff(&["src/a.rs"], 3), "Change `src/a.rs` and `src/b.rs`", VerifyResult::Partial),
            ("scope creep", diff(&["src/a.rs", "b.rs", "c.rs"], 3), "Only `src/a.rs`", VerifyResult::Divergent),
            ("bullet heading", diff(&["web/app.css"], 3), "- **web/app.css**: colours", VerifyResult::Aligned),
            (
                "attribute is not a path",
                diff(&["src/view.tsx"], 3),
                "Add `data-debug-label=\"save\"` in `src/view.tsx`",
                VerifyResult::Aligned,
            ),
            ("windows separators", diff(&["src/a.rs"], 3), "Edit `src\\a.rs`", VerifyResult::Aligned),
        ];
        for (name, d, plan, want) in cases {
            assert_eq!(classify(d, plan).result, *want, "{name}: {:?}", classify(d, plan));
        }
    }

    #[test]
    fn reasoning_names_missing_and_extra_paths() {
        let v = classify(&diff(&["src/a.rs"], 2), "`src/a.rs` `src/b.rs` `src/c.rs`");
        assert_eq!(v.reasoning, "1/3 plan paths present; missing: src/b.rs, src/c.rs");
        let v = classify(&diff(&["a.rs", "x.rs", "y.rs"], 2), "`a.rs`");
        assert!(v.reasoning.contains("extra: x.rs, y.rs"), "{}", v.reasoning);
    }

    #[test]
    fn path_tokens() {
        for yes in ["src/main.rs", "README.md", "crates/baton/Cargo.toml", "app/routes/login", "x.ts"] {
            assert!(looks_like_path(yes), "{yes}");
        }
        for no in ["data-debug-label=\"save\"", "foo()", "a b.rs", "../x.rs", "src/", "https://x.io/a.js", "ab", "let"]
        {
            assert!(!looks_like_path(no), "{no}");
        }
    }

    #[test]
    fn gate_table() {
        use VerifyRequired as R;
        use VerifyResult as V;
        let long = Some("renamed a helper the plan did not mention");
        let cases = [
            (None, false, R::Any, None, false),
            (Some(V::Aligned), false, R::Aligned, None, true),
            (Some(V::Empty), true, R::Aligned, None, true),
            (Some(V::Empty), false, R::Any, None, false),
            (Some(V::Partial), false, R::Any, None, true),
            (Some(V::Divergent), false, R::Aligned, long, false),
            (Some(V::Partial), false, R::AlignedOrPartial, Some("short"), false),
            (Some(V::Partial), false, R::AlignedOrPartial, long, true),
            (Some(V::Divergent), false, R::AlignedOrPartial, long, true),
        ];
        for (result, verify_only, required, summary, ok) in cases {
            assert_eq!(
                gate(result, verify_only, required, summary).is_ok(),
                ok,
                "{result:?} {verify_only} {required:?} {summary:?}"
            );
        }
        let refusal = gate(None, false, R::Any, None).expect_err("no verification");
        assert!(refusal.0.contains("verify_task_against_plan"));
    }
}
