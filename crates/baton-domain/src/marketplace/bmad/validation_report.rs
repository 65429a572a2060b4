//! validate-next-story reports (reference §12.3, §6.3), when a team commits
//! them (`docs/qa/validation-reports/story-1.2-validation.md`): the
//! Implementation Readiness Score (required), the GO / NO-GO decision and
//! the confidence.
//!
//! Tolerates markdown around labels and values (`**8/10**`), `8 / 10`,
//! `8/10` or a bare `8`, a label in a heading with its value on the next
//! line, `Final Assessment: GO`, `**GO**`, `NO GO`/`NO-GO`, and emoji.

use serde::Serialize;

use super::{BmadError, checked_text, is_fence, strip_markdown};

/// A parsed report. Only [`parse_validation_report`] makes one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ValidationReport {
    /// Implementation Readiness Score, 1–10 (a fraction rounded down).
    pub score: u8,
    /// The final GO / NO-GO, when the report states one.
    pub decision: Option<ValidationDecision>,
    /// The confidence, when stated.
    pub confidence: Option<Confidence>,
}

/// The report's final assessment (API form `go` / `no_go`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ValidationDecision {
    /// Ready for implementation.
    Go,
    /// Must be fixed first.
    NoGo,
}

/// The reviewer's confidence in the assessment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Confidence {
    /// High.
    High,
    /// Medium.
    Medium,
    /// Low.
    Low,
}

const SCORE_LABEL: &str = "Implementation Readiness Score";

/// Parses a report's text.
///
/// ```
/// use baton_domain::marketplace::bmad::{parse_validation_report, validation_report::ValidationDecision};
/// let r = parse_validation_report("**Final Assessment: GO**\n**Implementation Readiness Score:** 8 / 10\nConfidence: High\n").unwrap();
/// assert_eq!((r.score, r.decision), (8, Some(ValidationDecision::Go)));
/// assert!(parse_validation_report("GO\n").is_err());
/// ```
pub fn parse_validation_report(text: &str) -> Result<ValidationReport, BmadError> {
    let text = checked_text(text)?;
    let mut fenced = false;
    let lines: Vec<String> = text
        .split('\n')
        .filter_map(|l| {
            let l = l.strip_suffix('\r').unwrap_or(l);
            if is_fence(l) {
                fenced = !fenced;
                return None;
            }
            (!fenced).then(|| plain(l))
        })
        .collect();
    let scores = labeled(&lines, &["implementation readiness score", "readiness score"]);
    let score = match scores.iter().find_map(|v| read_score(v).ok()) {
        Some(score) => score,
        None => {
            return Err(match scores.first() {
                Some(v) => read_score(v).err().unwrap_or_else(|| BmadError::field(SCORE_LABEL, "unreadable")),
                None => BmadError::field(
                    SCORE_LABEL,
                    "missing; expected a line like `Implementation Readiness Score: 8/10`",
                ),
            });
        }
    };
    let decision = labeled(&lines, &["final assessment", "final decision", "go/no-go decision", "decision"])
        .iter()
        .find_map(|v| decision_word(v, false))
        .or_else(|| lines.iter().find_map(|l| decision_word(l, true)));
    let confidence = labeled(&lines, &["confidence level", "confidence"]).iter().find_map(|v| {
        match v.split(|c: char| !c.is_alphanumeric()).find(|w| !w.is_empty())?.to_ascii_lowercase().as_str() {
            "high" => Some(Confidence::High),
            "medium" => Some(Confidence::Medium),
            "low" => Some(Confidence::Low),
            _ => None,
        }
    });
    Ok(ValidationReport { score, decision, confidence })
}

/// A line without list/heading/quote marks, markdown emphasis and emoji.
fn plain(line: &str) -> String {
    let t = strip_markdown(line);
    let t: String = t.chars().filter(|c| c.is_alphanumeric() || c.is_ascii() || c.is_whitespace()).collect();
    t.trim().trim_start_matches(['#', '-', '>', '+']).trim().to_string()
}

/// The values after `labels` in the lines, in the order of `labels` then
/// of lines: after parentheticals (`(1-10)`) and a colon; the next
/// non-empty line when the label's line has nothing after it.
fn labeled(lines: &[String], labels: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    for label in labels {
        for (i, line) in lines.iter().enumerate() {
            let Some(at) = line.to_ascii_lowercase().find(label) else { continue };
            let mut rest = line[at + label.len()..].trim_start();
            while let Some(r) = rest.strip_prefix('(') {
                rest = r.split_once(')').map_or("", |p| p.1).trim_start();
            }
            let rest = rest.trim_start_matches([':', '=', '-', ' ', '\t']).trim();
            if !rest.is_empty() {
                out.push(rest.to_string());
            } else if let Some(next) = lines[i + 1..].iter().find(|l| !l.is_empty()) {
                out.push(next.clone());
            }
        }
    }
    out
}

/// `8/10`, `8 / 10`, `8`, `8.5/10` → 8; out of 1–10 or another scale → error.
fn read_score(v: &str) -> Result<u8, BmadError> {
    let bad = |why: &str| BmadError::field(SCORE_LABEL, format!("{v:?} {why}"));
    let digits = v.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 || digits > 3 {
        return Err(bad("is not a score from 1 to 10"));
    }
    let whole: u16 = v[..digits].parse().map_err(|_| bad("is not a score from 1 to 10"))?;
    let mut rest = &v[digits..];
    if let Some(r) = rest.strip_prefix('.') {
        rest = r.trim_start_matches(|c: char| c.is_ascii_digit());
    }
    if let Some(den) = rest.trim_start().strip_prefix('/') {
        let den = den.trim_start();
        let n = den.bytes().take_while(u8::is_ascii_digit).count();
        if &den[..n] != "10" {
            return Err(bad("is not out of 10"));
        }
    }
    match u8::try_from(whole) {
        Ok(s @ 1..=10) => Ok(s),
        _ => Err(bad("is not a score from 1 to 10")),
    }
}

/// GO / NO-GO at the start of a value (`strict`: in upper case, alone or
/// followed by ` -`, `:` or `.`, for lines without a label). `GO / NO-GO`
/// (the template's wording) is no decision.
fn decision_word(v: &str, strict: bool) -> Option<ValidationDecision> {
    let v = v.trim_start_matches(|c: char| !c.is_alphanumeric());
    let upper = v.to_ascii_uppercase();
    let s = if strict { v } else { upper.as_str() };
    let (decision, rest) = ["NO-GO", "NO GO", "NO_GO", "NOGO"]
        .iter()
        .find_map(|w| s.strip_prefix(w).map(|r| (ValidationDecision::NoGo, r)))
        .or_else(|| s.strip_prefix("GO").map(|r| (ValidationDecision::Go, r)))?;
    if rest.starts_with(|c: char| c.is_alphanumeric()) || rest.trim_start().starts_with('/') {
        return None;
    }
    let ends =
        rest.trim().is_empty() || rest.starts_with([':', '.', '!']) || rest.starts_with(" -") || rest.starts_with(" —");
    (!strict || ends).then_some(decision)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ValidationDecision::*;

    /// A report in the shape validate-next-story asks for (§12.3).
    const REPORT: &str = "# Story 1.2 Validation Report\n\n## Template Compliance Issues\nNone.\n\n\
        ## Critical Issues (Must Fix - Story Blocked)\n- None\n\n## Should-Fix Issues\n- Clarify error copy\n\n\
        ## Anti-Hallucination Findings\nAll claims traced to architecture docs.\n\n\
        ## Final Assessment\n\n**GO** - Story is ready for implementation ✅\n\n\
        **Implementation Readiness Score:** 9/10\n\n**Confidence Level:** High\n";

    #[test]
    fn the_sample_report_reads_completely() {
        let r = parse_validation_report(REPORT).expect("parses");
        assert_eq!(r, ValidationReport { score: 9, decision: Some(Go), confidence: Some(Confidence::High) });
        let crlf = REPORT.replace('\n', "\r\n");
        assert_eq!(parse_validation_report(&crlf), Ok(r));
    }

    #[test]
    fn score_forms() {
        for (line, want) in [
            ("Implementation Readiness Score: 8/10", 8),
            ("**Implementation Readiness Score: 8 / 10**", 8),
            ("- **Implementation Readiness Score**: **7/10**", 7),
            ("Implementation Readiness Score (1-10): 10", 10),
            ("implementation readiness score = 6", 6),
            ("## Implementation Readiness Score\n\n**8/10** - solid", 8),
            ("Readiness Score: 8.5/10", 8),
            ("Implementation Readiness Score: 7.9 / 10", 7),
        ] {
            assert_eq!(parse_validation_report(line).map(|r| r.score), Ok(want), "{line}");
        }
        for bad in [
            "Implementation Readiness Score: 0/10",
            "Implementation Readiness Score: 11/10",
            "Implementation Readiness Score: 8/100",
            "Implementation Readiness Score: high",
            "Implementation Readiness Score:",
            "Implementation Readiness Score: 99999999999",
        ] {
            let err = parse_validation_report(bad).expect_err(bad);
            assert!(err.to_string().starts_with(SCORE_LABEL), "{bad}: {err}");
        }
    }

    #[test]
    fn a_missing_score_is_an_error_that_says_so() {
        let err = parse_validation_report("## Final Assessment\nGO\nConfidence: High\n").expect_err("no score");
        assert!(err.to_string().contains("missing"), "{err}");
        assert!(
            parse_validation_report("```\nImplementation Readiness Score: 9/10\n```\n").is_err(),
            "code is not the report"
        );
    }

    #[test]
    fn decision_forms() {
        let with = |d: &str| {
            parse_validation_report(&format!("{d}\nImplementation Readiness Score: 8/10\n")).map(|r| r.decision)
        };
        for (text, want) in [
            ("Final Assessment: GO", Some(Go)),
            ("**Final Assessment:** NO-GO", Some(NoGo)),
            ("Final Assessment: NO GO - fix AC 3", Some(NoGo)),
            ("## Final Assessment\n\n**GO**", Some(Go)),
            ("**GO**", Some(Go)),
            ("✅ GO - ready", Some(Go)),
            ("❌ NO-GO", Some(NoGo)),
            ("Decision: go", Some(Go)),
            ("GO/NO-GO Decision: NO_GO", Some(NoGo)),
            ("Final Assessment: GO / NO-GO", None),
            ("Let's go ahead", None),
            ("GOOD work", None),
            ("", None),
        ] {
            assert_eq!(with(text), Ok(want), "{text:?}");
        }
    }

    #[test]
    fn confidence_forms() {
        let with = |c: &str| {
            parse_validation_report(&format!("Implementation Readiness Score: 8/10\n{c}\n")).map(|r| r.confidence)
        };
        assert_eq!(with("Confidence: High"), Ok(Some(Confidence::High)));
        assert_eq!(with("**Confidence Level:** medium"), Ok(Some(Confidence::Medium)));
        assert_eq!(with("### Confidence\n\nLow (missing docs)"), Ok(Some(Confidence::Low)));
        assert_eq!(with("Confidence: unsure"), Ok(None));
        assert_eq!(with(""), Ok(None));
    }
}
