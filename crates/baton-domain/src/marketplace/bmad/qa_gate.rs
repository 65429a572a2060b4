//! BMAD QA gate files (reference §12.2, template `qa-gate-template-v1`):
//! `docs/qa/gates/{epic}.{story}-{slug}.yml`, also `.yaml`, and `.md` as
//! some teams save them.
//!
//! Lenient where real files are messy: leading comments, quoted or
//! unquoted enum values in any case, inline (`{ active: false }`) or block
//! waivers, unknown keys ignored, `updated` with any offset (stored in UTC),
//! `story` as a string or a number. Strict where money depends on it: no
//! `gate` → rejected with the reason unless a `decision` key maps (see the
//! `bmad` module docs); `WAIVED` only with an active, reasoned, approved
//! waiver. YAML passes the hostile-input guards of [`crate::plan_md`]
//! (size, flow depth, alias bombs, nesting) before it is parsed.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use serde::Serialize;
use yaml_serde::{Mapping, Value};

use super::gate_rules::{GateFindings, decide, severity_rank};
use super::{BmadError, checked_text, is_fence, strip_markdown};
use crate::marketplace::QaGateStatus;
use crate::plan_md::{MAX_FLOW_DEPTH, MAX_NESTING, YamlHazard, yaml_hazard};

/// A parsed QA gate. Only the parsers of this module make one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QaGate {
    /// `story` as written (`"1.3"`; a YAML number in its number form).
    pub story: Option<String>,
    /// `story_title`.
    pub story_title: Option<String>,
    /// The decision.
    pub gate: QaGateStatus,
    /// Where [`Self::gate`] was read from.
    pub gate_source: GateSource,
    /// `status_reason`.
    pub status_reason: Option<String>,
    /// `reviewer`.
    pub reviewer: Option<String>,
    /// `updated`, in UTC.
    pub updated: Option<DateTime<Utc>>,
    /// `waiver`; inactive when absent.
    pub waiver: Waiver,
    /// `top_issues`, in order.
    pub top_issues: Vec<TopIssue>,
    /// `quality_score` (0–100).
    pub quality_score: Option<u8>,
    /// `nfr_validation`: each check's name and status, in file order.
    pub nfr: Vec<NfrCheck>,
    /// `risk_summary.highest.score`.
    pub highest_risk_score: Option<u32>,
    /// What was tolerated (an unreadable `updated`, an unknown severity…),
    /// for the import summary.
    pub warnings: Vec<String>,
}

/// Which key gave the gate decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum GateSource {
    /// The template's `gate` key.
    Gate,
    /// The documented fallback: a `decision` key, with the word it held.
    Decision(String),
    /// A `Gate:` / `Gate Status:` line of a markdown rendering.
    Markdown,
}

/// A gate's waiver.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Waiver {
    /// `active: true`.
    pub active: bool,
    /// Why the issues are accepted.
    pub reason: Option<String>,
    /// Who approved the waiver.
    pub approved_by: Option<String>,
}

/// One of `top_issues`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct TopIssue {
    /// `id` (`SEC-001`).
    pub id: Option<String>,
    /// `severity` when it is one of low, medium, high (any case).
    pub severity: Option<Severity>,
    /// `severity` as written.
    pub severity_raw: Option<String>,
    /// `finding`.
    pub finding: Option<String>,
    /// `suggested_action`.
    pub suggested_action: Option<String>,
    /// `suggested_owner` (dev, sm, po).
    pub suggested_owner: Option<String>,
    /// `status`, which real gates add to issues fixed during review
    /// (`FIXED`, `RESOLVED`).
    pub status: Option<String>,
}

impl TopIssue {
    /// Whether the issue is marked fixed, resolved, closed or done: it no
    /// longer counts in BMAD's decision rule.
    pub fn is_resolved(&self) -> bool {
        self.status.as_deref().is_some_and(|s| {
            matches!(s.trim().to_ascii_lowercase().as_str(), "fixed" | "resolved" | "closed" | "done" | "addressed")
        })
    }
}

/// One NFR check of `nfr_validation` (`security: {status: PASS, notes: …}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NfrCheck {
    /// The check's key (`security`, `performance`, …).
    pub name: String,
    /// PASS, CONCERNS or FAIL; `None` when missing or another word.
    pub status: Option<QaGateStatus>,
}

/// A top issue's severity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// low
    Low,
    /// medium
    Medium,
    /// high
    High,
}

const GATE_VALUES: &str = "PASS, CONCERNS, FAIL or WAIVED";

/// Parses a gate file: YAML for `.yml`/`.yaml` names, [`parse_qa_gate_md`]
/// for `.md` names.
pub fn parse_qa_gate_file(name: &str, text: &str) -> Result<QaGate, BmadError> {
    if name.to_ascii_lowercase().ends_with(".md") { parse_qa_gate_md(text) } else { parse_qa_gate(text) }
}

/// Parses a gate's YAML.
///
/// ```
/// use baton_domain::marketplace::{QaGateStatus, bmad::parse_qa_gate};
/// let g = parse_qa_gate("# gate\nschema: 1\nstory: '1.3'\ngate: pass\nupdated: 2025-09-12T10:00:00-04:00\nwaiver: { active: false }\n").unwrap();
/// assert_eq!(g.gate, QaGateStatus::Pass);
/// assert_eq!(g.updated.unwrap().to_rfc3339(), "2025-09-12T14:00:00+00:00");
/// assert!(parse_qa_gate("schema: 1\nstory: '1.3'\n").unwrap_err().to_string().contains("gate"));
/// ```
pub fn parse_qa_gate(text: &str) -> Result<QaGate, BmadError> {
    let text = checked_text(text)?;
    if let Some(h) = yaml_hazard(text) {
        return Err(BmadError::Yaml(match h {
            YamlHazard::FlowDepth(line) => {
                format!("line {line}: flow collections ('[' and '{{') nest deeper than {MAX_FLOW_DEPTH} levels")
            }
            YamlHazard::Expansion => {
                "anchors and aliases expand to more than the file's own size (a \"YAML bomb\")".to_string()
            }
            YamlHazard::Nesting => format!("nested deeper than {MAX_NESTING} levels"),
        }));
    }
    let value: Value = match yaml_serde::from_str(text) {
        Ok(v) => v,
        Err(e) if e.to_string().contains("duplicate entry") => return read_despite_duplicates(text, &e),
        Err(e) => return Err(BmadError::Yaml(e.to_string())),
    };
    match untag(&value) {
        Value::Mapping(m) => read_gate(m, Vec::new()),
        Value::Null => {
            Err(BmadError::field("gate", format!("missing: the file is empty; expected gate: {GATE_VALUES}")))
        }
        _ => Err(BmadError::Yaml("a QA gate must be a mapping of keys (schema, story, gate, …)".to_string())),
    }
}

/// Parses a gate saved as markdown: YAML front matter, else the first
/// ```` ```yaml ```` fence holding `gate:` or `decision:`, else the markdown
/// rendering (`## Gate Status: PASS`, `Quality Score: 90`, `Updated: …`,
/// `Reviewer: …`, `Story: 1.2 - Title`, a `## Status Reason` paragraph,
/// `Active: true` under `## Waiver`).
pub fn parse_qa_gate_md(text: &str) -> Result<QaGate, BmadError> {
    let text = checked_text(text)?;
    let lines: Vec<&str> = text.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l)).collect();
    if lines.first().is_some_and(|l| l.trim_end() == "---")
        && let Some(end) = lines.iter().skip(1).position(|l| l.trim_end() == "---" || l.trim_end() == "...")
    {
        return parse_qa_gate(&lines[1..=end].join("\n"));
    }
    let mut i = 0;
    while i < lines.len() {
        let t = lines[i].trim_start().to_ascii_lowercase();
        if t.starts_with("```yaml") || t.starts_with("```yml") {
            let len = lines[i + 1..].iter().position(|l| is_fence(l)).unwrap_or(lines.len() - i - 1);
            let yaml = lines[i + 1..i + 1 + len].join("\n");
            if yaml.lines().any(|l| l.starts_with("gate:") || l.starts_with("decision:")) {
                return parse_qa_gate(&yaml);
            }
            i += len + 1;
        }
        i += 1;
    }
    read_markdown_gate(&lines)
}

fn untag(v: &Value) -> &Value {
    let mut v = v;
    while let Value::Tagged(t) = v {
        v = &t.value;
    }
    v
}

/// A scalar as text; `None` for null, collections and blank strings.
fn scalar(v: Option<&Value>) -> Option<String> {
    let s = match untag(v?) {
        Value::String(s) => s.trim().to_string(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        _ => return None,
    };
    (!s.is_empty()).then_some(s)
}

/// `PASS` (any case, markdown or quotes around it) → the gate.
fn gate_word(s: &str) -> Option<QaGateStatus> {
    match strip_markdown(s).trim().trim_matches(['"', '\'']).to_ascii_uppercase().as_str() {
        "PASS" => Some(QaGateStatus::Pass),
        "CONCERNS" => Some(QaGateStatus::Concerns),
        "FAIL" => Some(QaGateStatus::Fail),
        "WAIVED" => Some(QaGateStatus::Waived),
        _ => None,
    }
}

/// The documented `decision` mapping: a gate word, or a review verdict.
fn decision_word(s: &str) -> Option<QaGateStatus> {
    gate_word(s).or_else(|| {
        let w = strip_markdown(s).trim().to_ascii_uppercase().replace([' ', '-'], "_");
        match w.as_str() {
            "APPROVE" | "APPROVED" => Some(QaGateStatus::Pass),
            "CHANGESREQUESTED" | "CHANGES_REQUESTED" | "REQUEST_CHANGES" => Some(QaGateStatus::Concerns),
            "REJECT" | "REJECTED" => Some(QaGateStatus::Fail),
            _ => None,
        }
    })
}

/// `true`/`false`, also quoted or in any case.
fn truthy(v: Option<&Value>) -> Option<bool> {
    match untag(v?) {
        Value::Bool(b) => Some(*b),
        Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "true" | "yes" => Some(true),
            "false" | "no" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

/// An ISO-8601 timestamp in UTC: with an offset (`-04:00`, `Z`), without
/// one (taken as UTC), with a space for `T`, or a date alone (midnight UTC).
pub fn parse_timestamp(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    let t = s.replacen(' ', "T", 1);
    if let Ok(d) = DateTime::parse_from_rfc3339(&t) {
        return Some(d.with_timezone(&Utc));
    }
    for f in ["%Y-%m-%dT%H:%M:%S%.f%#z", "%Y-%m-%dT%H:%M%#z"] {
        if let Ok(d) = DateTime::parse_from_str(&t, f) {
            return Some(d.with_timezone(&Utc));
        }
    }
    for f in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M"] {
        if let Ok(d) = NaiveDateTime::parse_from_str(&t, f) {
            return Some(d.and_utc());
        }
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d").ok().and_then(|d| d.and_hms_opt(0, 0, 0)).map(|d| d.and_utc())
}

fn quality_score(v: &Value) -> Option<u8> {
    let n = match untag(v) {
        Value::Number(n) => n.as_u64().or_else(|| n.as_f64().filter(|f| f.is_finite() && *f >= 0.0).map(|f| f as u64)),
        Value::String(s) => s.trim().parse::<u64>().ok(),
        _ => None,
    }?;
    u8::try_from(n).ok().filter(|n| *n <= 100)
}

/// The keys a gate is read from; everything else is skipped unread.
#[derive(serde::Deserialize)]
struct GateKeys {
    story: Option<Value>,
    story_title: Option<Value>,
    gate: Option<Value>,
    decision: Option<Value>,
    status_reason: Option<Value>,
    reviewer: Option<Value>,
    updated: Option<Value>,
    waiver: Option<Value>,
    top_issues: Option<Value>,
    quality_score: Option<Value>,
    nfr_validation: Option<Value>,
    risk_summary: Option<Value>,
}

/// A duplicate key somewhere the gate is not read from (American Nerd's own
/// `1.4-bidding-workflow-with-staking.yml` repeats `details:` in a custom
/// section) is tolerated with a warning: only the keys above are read, and
/// a duplicate among them (two `gate:` lines) is still an error.
fn read_despite_duplicates(text: &str, first: &yaml_serde::Error) -> Result<QaGate, BmadError> {
    let keys: GateKeys = yaml_serde::from_str(text).map_err(|e| BmadError::Yaml(e.to_string()))?;
    let mut m = Mapping::new();
    let fields = [
        ("story", keys.story),
        ("story_title", keys.story_title),
        ("gate", keys.gate),
        ("decision", keys.decision),
        ("status_reason", keys.status_reason),
        ("reviewer", keys.reviewer),
        ("updated", keys.updated),
        ("waiver", keys.waiver),
        ("top_issues", keys.top_issues),
        ("quality_score", keys.quality_score),
        ("nfr_validation", keys.nfr_validation),
        ("risk_summary", keys.risk_summary),
    ];
    for (k, v) in fields {
        if let Some(v) = v {
            m.insert(Value::String(k.to_string()), v);
        }
    }
    read_gate(&m, vec![format!("a key outside the gate's own is repeated ({first}); the repetition is ignored")])
}

fn read_gate(m: &Mapping, mut warnings: Vec<String>) -> Result<QaGate, BmadError> {
    let (gate, gate_source) = match m.get("gate").map(untag).filter(|v| !v.is_null()) {
        Some(v) => match scalar(Some(v)).as_deref().and_then(gate_word) {
            Some(g) => (g, GateSource::Gate),
            None => {
                let shown = scalar(Some(v)).unwrap_or_else(|| "a collection".to_string());
                return Err(BmadError::field("gate", format!("{shown:?} is not one of {GATE_VALUES}")));
            }
        },
        None => match scalar(m.get("decision")) {
            Some(d) => match decision_word(&d) {
                Some(g) => (g, GateSource::Decision(d)),
                None => {
                    return Err(BmadError::field(
                        "decision",
                        format!(
                            "{d:?} is not one of {GATE_VALUES}, APPROVE, CHANGES_REQUESTED or REJECT \
                             (and the gate key is missing)"
                        ),
                    ));
                }
            },
            None => {
                return Err(BmadError::field(
                    "gate",
                    format!("missing; a QA gate must state gate: {GATE_VALUES} (or an explicit decision:)"),
                ));
            }
        },
    };
    let waiver = match m.get("waiver").map(untag) {
        Some(Value::Mapping(w)) => Waiver {
            active: truthy(w.get("active")).unwrap_or(false),
            reason: scalar(w.get("reason")),
            approved_by: scalar(w.get("approved_by")),
        },
        None | Some(Value::Null) => Waiver::default(),
        Some(_) => {
            warnings.push("waiver: not a mapping; taken as inactive".to_string());
            Waiver::default()
        }
    };
    check_waiver(gate, &waiver)?;
    let updated = scalar(m.get("updated")).and_then(|u| {
        let t = parse_timestamp(&u);
        if t.is_none() {
            warnings.push(format!("updated: {u:?} is not an ISO-8601 timestamp; ignored"));
        }
        t
    });
    let quality = m.get("quality_score").map(untag).filter(|v| !v.is_null()).and_then(|v| {
        let q = quality_score(v);
        if q.is_none() {
            warnings.push("quality_score: not a whole number from 0 to 100; ignored".to_string());
        }
        q
    });
    let mut top_issues = Vec::new();
    match m.get("top_issues").map(untag) {
        Some(Value::Sequence(items)) => {
            for (i, item) in items.iter().enumerate() {
                let Value::Mapping(issue) = untag(item) else {
                    warnings.push(format!("top_issues[{i}]: not a mapping; skipped"));
                    continue;
                };
                let severity_raw = scalar(issue.get("severity"));
                let severity = severity_raw.as_deref().and_then(|s| match s.to_ascii_lowercase().as_str() {
                    "low" => Some(Severity::Low),
                    "medium" => Some(Severity::Medium),
                    "high" => Some(Severity::High),
                    _ => None,
                });
                if let (Some(raw), None) = (&severity_raw, severity) {
                    warnings.push(format!("top_issues[{i}].severity: {raw:?} is not low, medium or high"));
                }
                top_issues.push(TopIssue {
                    id: scalar(issue.get("id")),
                    severity,
                    severity_raw,
                    finding: scalar(issue.get("finding")),
                    suggested_action: scalar(issue.get("suggested_action")),
                    suggested_owner: scalar(issue.get("suggested_owner")),
                    status: scalar(issue.get("status")),
                });
            }
        }
        None | Some(Value::Null) => {}
        Some(_) => warnings.push("top_issues: not a list; ignored".to_string()),
    }
    let nfr: Vec<NfrCheck> = match m.get("nfr_validation").map(untag) {
        Some(Value::Mapping(checks)) => checks
            .iter()
            .filter_map(|(k, v)| {
                let name = scalar(Some(k))?;
                let status = match untag(v) {
                    Value::Mapping(c) => scalar(c.get("status")),
                    other => scalar(Some(other)),
                };
                let status = status.as_deref().and_then(gate_word).filter(|g| *g != QaGateStatus::Waived);
                Some(NfrCheck { name, status })
            })
            .collect(),
        _ => Vec::new(),
    };
    let highest_risk_score = match m.get("risk_summary").map(untag) {
        Some(Value::Mapping(r)) => match r.get("highest").map(untag) {
            Some(Value::Mapping(h)) => scalar(h.get("score")).and_then(|s| s.parse::<u32>().ok()),
            _ => None,
        },
        _ => None,
    };
    // A gate milder than its own findings is kept (the reviewer decides)
    // but flagged.
    let findings = GateFindings {
        highest_risk_score,
        missing_p0_test: None,
        issue_severities: top_issues.iter().filter(|i| !i.is_resolved()).filter_map(|i| i.severity).collect(),
        nfr_statuses: nfr.iter().filter_map(|c| c.status).collect(),
    };
    let (expected, why) = decide(&findings);
    if gate != QaGateStatus::Waived && severity_rank(gate) < severity_rank(expected) {
        warnings.push(format!("gate {} although BMAD's rule gives {} ({why})", gate.as_db(), expected.as_db()));
    }
    Ok(QaGate {
        story: scalar(m.get("story")),
        story_title: scalar(m.get("story_title")),
        gate,
        gate_source,
        status_reason: scalar(m.get("status_reason")),
        reviewer: scalar(m.get("reviewer")),
        updated,
        waiver,
        top_issues,
        quality_score: quality,
        nfr,
        highest_risk_score,
        warnings,
    })
}

/// `WAIVED` stands only on an active waiver with a reason and an approver.
fn check_waiver(gate: QaGateStatus, w: &Waiver) -> Result<(), BmadError> {
    if gate != QaGateStatus::Waived || (w.active && w.reason.is_some() && w.approved_by.is_some()) {
        return Ok(());
    }
    let missing: Vec<&str> =
        [(!w.active, "active: true"), (w.reason.is_none(), "reason"), (w.approved_by.is_none(), "approved_by")]
            .into_iter()
            .filter_map(|(m, what)| m.then_some(what))
            .collect();
    Err(BmadError::field(
        "waiver",
        format!("gate WAIVED needs an active waiver with a reason and approved_by; missing: {}", missing.join(", ")),
    ))
}

/// The markdown rendering of a gate (no YAML anywhere).
fn read_markdown_gate(lines: &[&str]) -> Result<QaGate, BmadError> {
    let mut gate = None;
    let (mut story, mut story_title, mut reviewer, mut updated, mut date, mut quality, mut reason) =
        (None, None, None, None, None, None, None);
    let mut waiver = Waiver::default();
    let mut section = String::new();
    let mut fenced = false;
    let mut warnings = Vec::new();
    for line in lines {
        if is_fence(line) {
            fenced = !fenced;
            continue;
        }
        if fenced {
            continue;
        }
        let is_heading = line.trim_start().starts_with('#');
        let t = strip_markdown(line.trim_start_matches(['#', '-', '*', '>', ' ', '\t']));
        let t = t.trim();
        if is_heading && !t.contains(':') {
            section = t.to_ascii_lowercase();
            continue;
        }
        if section == "status reason" && reason.is_none() && !t.is_empty() && !is_heading {
            reason = Some(t.to_string());
            continue;
        }
        let Some((label, value)) = t.split_once(':') else { continue };
        let (label, value) = (label.trim().to_ascii_lowercase(), value.trim());
        let first =
            value.split_whitespace().next().unwrap_or("").trim_matches(|c: char| !c.is_alphanumeric() && c != '_');
        match label.as_str() {
            "gate" | "gate status" | "gate decision" | "decision" if gate.is_none() => {
                gate = Some(
                    decision_word(first)
                        .ok_or_else(|| BmadError::field("gate", format!("{first:?} is not one of {GATE_VALUES}")))?,
                );
            }
            "quality score" => quality = first.parse::<u8>().ok().filter(|q| *q <= 100),
            "updated" => updated = Some(value.to_string()),
            "date" | "review date" => date = Some(value.to_string()),
            "reviewer" | "reviewed by" => reviewer = Some(value.to_string()),
            "story" => {
                let (n, title) = value.split_once(" - ").unwrap_or((value, ""));
                story = Some(n.trim().to_string());
                story_title = (!title.trim().is_empty()).then(|| title.trim().to_string());
            }
            "active" if section == "waiver" => waiver.active = first.eq_ignore_ascii_case("true"),
            "reason" if section == "waiver" => waiver.reason = Some(value.to_string()),
            "approved by" if section == "waiver" => waiver.approved_by = Some(value.to_string()),
            _ => {}
        }
    }
    let Some(gate) = gate else {
        return Err(BmadError::field(
            "gate",
            format!("missing; a .md gate needs YAML front matter, a ```yaml block or a `Gate: {GATE_VALUES}` line"),
        ));
    };
    check_waiver(gate, &waiver)?;
    let updated = updated.or(date).and_then(|u| {
        let t = parse_timestamp(&u);
        if t.is_none() {
            warnings.push(format!("updated: {u:?} is not an ISO-8601 timestamp; ignored"));
        }
        t
    });
    Ok(QaGate {
        story,
        story_title,
        gate,
        gate_source: GateSource::Markdown,
        status_reason: reason,
        reviewer,
        updated,
        waiver,
        top_issues: Vec::new(),
        quality_score: quality,
        nfr: Vec::new(),
        highest_risk_score: None,
        warnings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A gate as the v4.44.1 template writes it (story 1.3).
    const TEMPLATE_GATE: &str = r#"# Powered by BMAD™ Core
schema: 1
story: "1.3"
story_title: "User Auth - Login"
gate: "CONCERNS"
status_reason: "Missing rate limiting on the login endpoint."
reviewer: "Quinn (Test Architect)"
updated: "2025-09-12T10:15:00Z"

waiver: { active: false }

top_issues:
  - id: "SEC-001"
    severity: high
    finding: "No rate limiting on login endpoint"
    suggested_action: "Add rate limiting middleware before production"
    suggested_owner: dev
  - id: "TEST-001"
    severity: Medium
    finding: "No integration tests for the auth flow"
    suggested_action: "Add integration test coverage"

risk_summary:
  totals: { critical: 0, high: 1, medium: 1, low: 0 }
  recommendations:
    must_fix: ["Add rate limiting"]
    monitor: []
quality_score: 70
expires: "2025-09-26T10:15:00Z"
evidence:
  tests_reviewed: 12
  trace:
    ac_covered: [1, 2, 3]
    ac_gaps: [4]
nfr_validation:
  security: { status: CONCERNS, notes: "Rate limiting missing" }
history:
  - at: "2025-09-12T10:15:00Z"
    gate: CONCERNS
    note: "Initial review"
team_custom_key: anything
"#;

    fn gate(text: &str) -> QaGate {
        parse_qa_gate(text).unwrap_or_else(|e| panic!("{e}\n{text}"))
    }

    #[test]
    fn the_template_gate_reads_completely() {
        let g = gate(TEMPLATE_GATE);
        assert_eq!(g.gate, QaGateStatus::Concerns);
        assert_eq!(g.gate_source, GateSource::Gate);
        assert_eq!(g.story.as_deref(), Some("1.3"));
        assert_eq!(g.story_title.as_deref(), Some("User Auth - Login"));
        assert_eq!(g.reviewer.as_deref(), Some("Quinn (Test Architect)"));
        assert_eq!(g.updated.map(|u| u.to_rfc3339()), Some("2025-09-12T10:15:00+00:00".into()));
        assert_eq!(g.waiver, Waiver::default());
        assert_eq!(g.quality_score, Some(70));
        assert_eq!(g.top_issues.len(), 2);
        assert_eq!(g.top_issues[0].severity, Some(Severity::High));
        assert_eq!(g.top_issues[1].severity, Some(Severity::Medium), "severity in any case");
        assert_eq!(g.top_issues[0].suggested_owner.as_deref(), Some("dev"));
        assert_eq!(g.nfr, [NfrCheck { name: "security".into(), status: Some(QaGateStatus::Concerns) }]);
        assert_eq!(g.highest_risk_score, None);
        // Kept as written, but flagged: BMAD's rule makes a high issue a FAIL.
        assert_eq!(g.warnings, ["gate CONCERNS although BMAD's rule gives FAIL (a high-severity issue is open)"]);
    }

    #[test]
    fn a_gate_consistent_with_its_findings_has_no_warning() {
        let text = "gate: FAIL\nrisk_summary:\n  highest: {id: SEC-1, score: 9, title: x}\nnfr_validation:\n  security: {status: fail}\n";
        let g = gate(text);
        assert_eq!((g.highest_risk_score, g.warnings.len()), (Some(9), 0));
        let fixed = "gate: PASS\ntop_issues:\n  - {id: SEC-001, severity: high, status: FIXED}\n  - {id: REL-1, severity: medium, status: resolved}\n";
        let g = gate(fixed);
        assert!(g.top_issues.iter().all(TopIssue::is_resolved) && g.warnings.is_empty(), "{:?}", g.warnings);
        let g = gate("gate: PASS\nrisk_summary:\n  highest: {score: 6}\n");
        assert!(g.warnings[0].contains("a risk scores 6 or more"), "{:?}", g.warnings);
        let g = gate(
            "gate: PASS\nnfr_validation:\n  performance: CONCERNS\n  security: {status: PASS}\n  odd: {status: WAIVED}\n",
        );
        assert_eq!(
            g.nfr.iter().map(|c| c.status).collect::<Vec<_>>(),
            [Some(QaGateStatus::Concerns), Some(QaGateStatus::Pass), None]
        );
        assert_eq!(g.warnings.len(), 1);
    }

    #[test]
    fn enum_values_quoted_unquoted_and_in_any_case() {
        for (v, want) in [
            ("PASS", QaGateStatus::Pass),
            ("\"PASS\"", QaGateStatus::Pass),
            ("'fail'", QaGateStatus::Fail),
            ("Concerns", QaGateStatus::Concerns),
            ("\" pass \"", QaGateStatus::Pass),
        ] {
            assert_eq!(gate(&format!("gate: {v}\n")).gate, want, "{v}");
        }
    }

    #[test]
    fn leading_comments_extra_keys_and_a_document_marker() {
        let g = gate("# QA gate for 2.1\n# generated\n---\nschema: 1\nstory: 2.1\ngate: PASS\nfoo: {bar: [1, 2]}\n");
        assert_eq!((g.gate, g.story.as_deref()), (QaGateStatus::Pass, Some("2.1")), "story as a number");
        assert_eq!(gate("story: 3\ngate: PASS\n").story.as_deref(), Some("3"));
    }

    #[test]
    fn timestamps_with_offsets_are_stored_in_utc() {
        let cases = [
            ("2025-09-12T10:15:00-04:00", "2025-09-12T14:15:00+00:00"),
            ("2025-09-12T10:15:00+05:30", "2025-09-12T04:45:00+00:00"),
            ("2025-09-12T10:15:00.250Z", "2025-09-12T10:15:00.250+00:00"),
            ("2025-09-12 10:15:00-04:00", "2025-09-12T14:15:00+00:00"),
            ("2025-09-12T10:15:00", "2025-09-12T10:15:00+00:00"),
            ("2025-09-12T10:15-0400", "2025-09-12T14:15:00+00:00"),
            ("2025-09-12", "2025-09-12T00:00:00+00:00"),
        ];
        for (raw, want) in cases {
            let g = gate(&format!("gate: PASS\nupdated: {raw}\n"));
            assert_eq!(g.updated.map(|u| u.to_rfc3339()).as_deref(), Some(want), "{raw}");
            assert!(g.warnings.is_empty());
        }
        let g = gate("gate: PASS\nupdated: last tuesday\n");
        assert_eq!(g.updated, None);
        assert!(g.warnings[0].contains("last tuesday"));
    }

    #[test]
    fn waivers_inline_or_block_and_waived_needs_an_approved_one() {
        let block =
            "gate: WAIVED\nwaiver:\n  active: true\n  reason: \"Accepted for MVP\"\n  approved_by: \"Product Owner\"\n";
        let g = gate(block);
        assert_eq!(g.gate, QaGateStatus::Waived);
        assert_eq!(g.waiver.approved_by.as_deref(), Some("Product Owner"));
        let inline = "gate: WAIVED\nwaiver: { active: 'true', reason: MVP, approved_by: PO }\n";
        assert!(gate(inline).waiver.active);
        for bad in [
            "gate: WAIVED\nwaiver: { active: false }\n",
            "gate: WAIVED\n",
            "gate: WAIVED\nwaiver: { active: true, reason: MVP }\n",
            "gate: WAIVED\nwaiver:\n  active: true\n  approved_by: PO\n",
        ] {
            let err = parse_qa_gate(bad).expect_err(bad);
            assert!(matches!(&err, BmadError::Field { field, .. } if field == "waiver"), "{bad}: {err}");
        }
        // An active waiver on a PASS is recorded, not an error.
        assert!(gate("gate: PASS\nwaiver: {active: true}\n").waiver.active);
    }

    #[test]
    fn a_gate_without_gate_is_rejected_with_the_reason_unless_a_decision_maps() {
        let err = parse_qa_gate("schema: 1\nstory: '1.3'\nstatus_reason: fine\n").expect_err("no gate");
        assert_eq!(err.to_string().split(':').next(), Some("gate"));
        assert!(err.to_string().contains("missing"));
        assert!(parse_qa_gate("gate:\n").is_err(), "null gate is missing");
        assert!(parse_qa_gate("").expect_err("empty").to_string().contains("empty"));
        assert!(parse_qa_gate("gate: PASSED\n").expect_err("typo").to_string().contains("PASSED"));
        assert!(parse_qa_gate("gate: [PASS]\n").is_err());
        for (d, want) in [
            ("PASS", QaGateStatus::Pass),
            ("APPROVE", QaGateStatus::Pass),
            ("approved", QaGateStatus::Pass),
            ("CHANGES_REQUESTED", QaGateStatus::Concerns),
            ("changes requested", QaGateStatus::Concerns),
            ("REJECT", QaGateStatus::Fail),
            ("CONCERNS", QaGateStatus::Concerns),
        ] {
            let g = gate(&format!("decision: {d}\n"));
            assert_eq!((g.gate, g.gate_source), (want, GateSource::Decision(d.to_string())), "{d}");
        }
        assert!(parse_qa_gate("decision: MAYBE\n").expect_err("bad").to_string().starts_with("decision:"));
        assert_eq!(gate("gate: FAIL\ndecision: APPROVE\n").gate, QaGateStatus::Fail, "gate wins");
    }

    #[test]
    fn tolerated_oddities_become_warnings() {
        let g = gate(
            "gate: PASS\nquality_score: 140\ntop_issues:\n  - id: DEP-001\n    severity: critical\n  - just text\nwaiver: no\n",
        );
        assert_eq!(g.quality_score, None);
        assert_eq!(g.top_issues.len(), 1);
        assert_eq!((g.top_issues[0].severity, g.top_issues[0].severity_raw.as_deref()), (None, Some("critical")));
        assert_eq!(g.warnings.len(), 4, "{:?}", g.warnings);
        assert_eq!(gate("gate: PASS\nquality_score: '85'\n").quality_score, Some(85));
        assert_eq!(gate("gate: PASS\nquality_score: 92.5\n").quality_score, Some(92));
    }

    #[test]
    fn a_duplicate_key_outside_the_gate_keys_is_a_warning_inside_them_an_error() {
        let g = gate("gate: PASS\nstandards_compliance:\n  details: a\n  details: b\n");
        assert_eq!(g.gate, QaGateStatus::Pass);
        assert!(g.warnings[0].contains("repeated"), "{:?}", g.warnings);
        assert!(parse_qa_gate("gate: PASS\ngate: FAIL\nx:\n  a: 1\n  a: 2\n").is_err());
        assert!(parse_qa_gate("gate: PASS\ngate: FAIL\n").is_err(), "two gates are ambiguous");
        assert!(parse_qa_gate("waiver:\n  active: true\n  active: false\ngate: WAIVED\n").is_err());
    }

    #[test]
    fn hostile_yaml_is_refused_with_a_reason() {
        let bomb = format!(
            "a: &a [x, x, x, x, x, x, x, x, x]\n{}gate: PASS\n",
            (b'b'..=b'k')
                .map(|c| format!(
                    "{0}: &{0} [*{1}, *{1}, *{1}, *{1}, *{1}, *{1}, *{1}, *{1}, *{1}]\n",
                    c as char,
                    (c - 1) as char
                ))
                .collect::<String>()
        );
        assert!(matches!(parse_qa_gate(&bomb), Err(BmadError::Yaml(m)) if m.contains("bomb")));
        let deep = format!("gate: PASS\nx: {}{}\n", "[".repeat(100), "]".repeat(100));
        assert!(matches!(parse_qa_gate(&deep), Err(BmadError::Yaml(m)) if m.contains("nest deeper")));
        let nested = format!("gate: PASS\n{}", (0..40).map(|i| format!("{}k:\n", "  ".repeat(i))).collect::<String>());
        assert!(matches!(parse_qa_gate(&nested), Err(BmadError::Yaml(_))));
        assert!(matches!(parse_qa_gate("gate: PASS\n\0"), Err(BmadError::Nul)));
        assert!(matches!(parse_qa_gate("gate: [PASS\n"), Err(BmadError::Yaml(_))));
        assert!(matches!(parse_qa_gate("- gate: PASS\n"), Err(BmadError::Yaml(_))));
    }

    #[test]
    fn md_gates_with_front_matter_a_fence_or_the_markdown_rendering() {
        let front = "---\nschema: 1\nstory: '1.2'\ngate: PASS\n---\n\n# Notes\n";
        assert_eq!(parse_qa_gate_md(front).map(|g| g.gate), Ok(QaGateStatus::Pass));
        let fenced = "# Gate 1.2\n\n```yaml\nexample: true\n```\n\n```yaml\ngate: FAIL\nstory: '1.2'\n```\n";
        assert_eq!(parse_qa_gate_md(fenced).map(|g| g.gate), Ok(QaGateStatus::Fail));
        // As dmisiuk/acousticalc committed docs/qa/gates/1.2-calculator-engine.md.
        let rendered = "# Quality Gate Decision: 1.2 - Calculator Engine\r\n\r\n## Gate Status: PASS\r\n\r\n\
                        ## Story Information\r\n- **Story**: 1.2 - Core Calculator Engine\r\n\
                        - **Reviewer**: Quinn (Test Architect)\r\n- **Date**: 2025-09-21\r\n\
                        - **Updated**: 2025-09-21T21:59:00Z\r\n\r\n## Status Reason\r\nAll ACs met.\r\n\r\n\
                        ## Quality Score: 90\r\n\r\n## Top Issues\r\n- **Severity**: resolved\r\n\r\n## Waiver\r\n- Active: false\r\n";
        let g = parse_qa_gate_md(rendered).expect("rendered gate");
        assert_eq!((g.gate, &g.gate_source), (QaGateStatus::Pass, &GateSource::Markdown));
        assert_eq!(g.story.as_deref(), Some("1.2"));
        assert_eq!(g.story_title.as_deref(), Some("Core Calculator Engine"));
        assert_eq!(g.quality_score, Some(90));
        assert_eq!(g.updated.map(|u| u.to_rfc3339()).as_deref(), Some("2025-09-21T21:59:00+00:00"));
        assert_eq!(g.status_reason.as_deref(), Some("All ACs met."));
        assert_eq!(g.reviewer.as_deref(), Some("Quinn (Test Architect)"));
        let err = parse_qa_gate_md("# Gate\n\nLooks good to me.\n").expect_err("no gate");
        assert!(err.to_string().starts_with("gate: missing"), "{err}");
        assert!(parse_qa_gate_md("## Gate: MAYBE\n").is_err());
        assert!(parse_qa_gate_md("Gate: WAIVED\n## Waiver\nActive: false\n").is_err());
        assert_eq!(parse_qa_gate_file("x.yml", "gate: pass\n").map(|g| g.gate), Ok(QaGateStatus::Pass));
        assert_eq!(parse_qa_gate_file("x.MD", "Gate: FAIL\n").map(|g| g.gate), Ok(QaGateStatus::Fail));
    }
}
