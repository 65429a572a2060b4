//! BMAD's QA gate decision rule and quality score (reference §12.2,
//! `review-story.md`), as pure functions: the QA review service can suggest
//! a gate from the findings, and the gate parser warns when a committed
//! gate is milder than its own findings.

use serde::Serialize;

use super::qa_gate::Severity;
use crate::marketplace::QaGateStatus;

/// What the decision rule looks at.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct GateFindings {
    /// The highest risk score of the risk profile (1–9), if assessed.
    pub highest_risk_score: Option<u32>,
    /// A P0 test is missing; `Some(true)` when it guards security or data loss.
    pub missing_p0_test: Option<bool>,
    /// Severities of the top issues.
    pub issue_severities: Vec<Severity>,
    /// Statuses of the NFR checks (security, performance, reliability,
    /// maintainability): PASS, CONCERNS or FAIL.
    pub nfr_statuses: Vec<QaGateStatus>,
}

/// The decision rule, applied in order: risk score ≥ 9 → FAIL, ≥ 6 →
/// CONCERNS; a missing P0 test → CONCERNS (FAIL for security/data loss);
/// any high issue → FAIL, else any medium → CONCERNS; any NFR FAIL → FAIL,
/// any NFR CONCERNS → CONCERNS; else PASS. WAIVED is never suggested: only a
/// person grants a waiver. The first rule that applies decides, with its
/// reason.
///
/// ```
/// use baton_domain::marketplace::QaGateStatus;
/// use baton_domain::marketplace::bmad::gate_rules::{GateFindings, decide};
/// use baton_domain::marketplace::bmad::qa_gate::Severity;
/// let f = GateFindings { issue_severities: vec![Severity::Low, Severity::Medium], ..Default::default() };
/// assert_eq!(decide(&f).0, QaGateStatus::Concerns);
/// ```
pub fn decide(f: &GateFindings) -> (QaGateStatus, &'static str) {
    use QaGateStatus::*;
    match f.highest_risk_score {
        Some(s) if s >= 9 => return (Fail, "a risk scores 9 or more"),
        Some(s) if s >= 6 => return (Concerns, "a risk scores 6 or more"),
        _ => {}
    }
    match f.missing_p0_test {
        Some(true) => return (Fail, "a P0 test for security or data loss is missing"),
        Some(false) => return (Concerns, "a P0 test is missing"),
        None => {}
    }
    if f.issue_severities.contains(&Severity::High) {
        return (Fail, "a high-severity issue is open");
    }
    if f.issue_severities.contains(&Severity::Medium) {
        return (Concerns, "a medium-severity issue is open");
    }
    if f.nfr_statuses.contains(&Fail) {
        return (Fail, "an NFR check failed");
    }
    if f.nfr_statuses.contains(&Concerns) {
        return (Concerns, "an NFR check has concerns");
    }
    (Pass, "no finding blocks the story")
}

/// Quality score: 100 − 20 per FAIL − 10 per CONCERNS, clamped to 0–100.
///
/// ```
/// assert_eq!(baton_domain::marketplace::bmad::gate_rules::quality_score(1, 2), 60);
/// assert_eq!(baton_domain::marketplace::bmad::gate_rules::quality_score(9, 0), 0);
/// ```
pub fn quality_score(fails: u32, concerns: u32) -> u8 {
    let penalty = u64::from(fails) * 20 + u64::from(concerns) * 10;
    u8::try_from(100u64.saturating_sub(penalty)).unwrap_or(0)
}

/// How blocking a gate is: PASS and WAIVED 0, CONCERNS 1, FAIL 2.
pub fn severity_rank(g: QaGateStatus) -> u8 {
    match g {
        QaGateStatus::Pass | QaGateStatus::Waived => 0,
        QaGateStatus::Concerns => 1,
        QaGateStatus::Fail => 2,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use QaGateStatus::*;

    #[test]
    fn the_rule_applies_in_order() {
        let base = GateFindings::default();
        let cases: Vec<(GateFindings, QaGateStatus)> = vec![
            (base.clone(), Pass),
            (GateFindings { highest_risk_score: Some(9), ..base.clone() }, Fail),
            (GateFindings { highest_risk_score: Some(6), ..base.clone() }, Concerns),
            (GateFindings { highest_risk_score: Some(5), ..base.clone() }, Pass),
            (GateFindings { missing_p0_test: Some(true), ..base.clone() }, Fail),
            (GateFindings { missing_p0_test: Some(false), ..base.clone() }, Concerns),
            (GateFindings { issue_severities: vec![Severity::Low, Severity::High], ..base.clone() }, Fail),
            (GateFindings { issue_severities: vec![Severity::Low], ..base.clone() }, Pass),
            (GateFindings { nfr_statuses: vec![Pass, Fail], ..base.clone() }, Fail),
            (GateFindings { nfr_statuses: vec![Concerns], ..base.clone() }, Concerns),
            // Order: the risk rule decides before a high issue would.
            (
                GateFindings { highest_risk_score: Some(7), issue_severities: vec![Severity::High], ..base.clone() },
                Concerns,
            ),
        ];
        for (f, want) in cases {
            assert_eq!(decide(&f).0, want, "{f:?}");
        }
    }

    #[test]
    fn quality_score_is_clamped() {
        assert_eq!(quality_score(0, 0), 100);
        assert_eq!(quality_score(2, 1), 50);
        assert_eq!(quality_score(u32::MAX, u32::MAX), 0);
        assert!(severity_rank(Fail) > severity_rank(Concerns) && severity_rank(Waived) == severity_rank(Pass));
    }
}
