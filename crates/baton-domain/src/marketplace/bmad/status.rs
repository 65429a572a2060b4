//! The table-driven status mapper: a story file's status string (BMAD v4,
//! BMAD v6, or as real repositories decorate them) → [`WorkflowStatus`]
//! (reference §7 "Status mapping", §12.1, §12.4).
//!
//! A value is normalised before the table lookup: markdown marks
//! (`**`, `_`, backticks) removed, a parenthetical suffix (`(QA Approved)`)
//! and trailing prose after ` - `, ` — `, `:`, `,` or `;` cut off, then only
//! letters and digits kept, lower-cased, so emoji and symbols (✅ ❌ ✓),
//! case, spaces, hyphens and underscores never matter.

use crate::marketplace::WorkflowStatus;

/// Which BMAD generation a table row comes from (documentation of the table;
/// the mapper accepts all rows alike).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// BMAD v4 (`story-tmpl.yaml` choices and the statuses its agents write).
    V4,
    /// BMAD v6 sprint-status values.
    V6,
    /// Seen in real repositories; a Baton decision (module docs of `bmad`).
    Observed,
}

/// The mapping: normalised key → status. Keys are lower-case letters and
/// digits only, as [`normalise`] produces them.
pub const STATUS_TABLE: &[(&str, WorkflowStatus, Origin)] = &[
    ("draft", WorkflowStatus::Draft, Origin::V4),
    ("approved", WorkflowStatus::Approved, Origin::V4),
    ("inprogress", WorkflowStatus::InProgress, Origin::V4),
    ("review", WorkflowStatus::ReadyForReview, Origin::V4),
    ("readyforreview", WorkflowStatus::ReadyForReview, Origin::V4),
    // apply-qa-fixes writes it when the gate passed; QA still has to gate.
    ("readyfordone", WorkflowStatus::ReadyForReview, Origin::V4),
    ("done", WorkflowStatus::Done, Origin::V4),
    ("blocked", WorkflowStatus::Blocked, Origin::V4),
    ("backlog", WorkflowStatus::Draft, Origin::V6),
    ("readyfordev", WorkflowStatus::Approved, Origin::V6),
    // "in-progress", "review" and "done" normalise to the v4 keys above.
    ("deferred", WorkflowStatus::Blocked, Origin::Observed),
    // American Nerd's own 1.9 story: "On Hold - Awaiting Funding".
    ("onhold", WorkflowStatus::Blocked, Origin::Observed),
    // Front matter of stories not yet drafted (dmisiuk/acousticalc).
    ("planning", WorkflowStatus::Draft, Origin::Observed),
    ("inreview", WorkflowStatus::ReadyForReview, Origin::Observed),
    ("complete", WorkflowStatus::Done, Origin::Observed),
    ("completed", WorkflowStatus::Done, Origin::Observed),
];

/// Maps a status string as written in a story file to a workflow status;
/// `None` when it is not one the table knows (the caller leaves the story
/// unchanged and warns).
///
/// ```
/// use baton_domain::marketplace::{WorkflowStatus, bmad::map_status};
/// assert_eq!(map_status("✅ Done (QA Approved)"), Some(WorkflowStatus::Done));
/// assert_eq!(map_status("ready-for-dev"), Some(WorkflowStatus::Approved));
/// assert_eq!(map_status("Shipped"), None);
/// ```
pub fn map_status(raw: &str) -> Option<WorkflowStatus> {
    let key = normalise(raw);
    STATUS_TABLE.iter().find(|(k, _, _)| *k == key).map(|(_, s, _)| *s)
}

/// The lookup key of a status string (see the module docs); empty when
/// nothing of a word remains.
pub fn normalise(raw: &str) -> String {
    let text = super::strip_markdown(raw);
    let mut text = text.as_str();
    // A parenthetical or bracketed suffix, then trailing prose.
    for cut in ['(', '[', ':', ',', ';', '—', '–'] {
        if let Some(i) = text.find(cut) {
            text = &text[..i];
        }
    }
    if let Some(i) = text.find(" - ") {
        text = &text[..i];
    }
    text.chars().filter(|c| c.is_alphanumeric()).flat_map(char::to_lowercase).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use WorkflowStatus::*;

    #[test]
    fn the_cases_of_the_issue_and_the_reference_map() {
        let cases: &[(&str, Option<WorkflowStatus>)] = &[
            // Issue 12, one by one.
            ("DONE", Some(Done)),
            ("**Done**", Some(Done)),
            ("Done ✅", Some(Done)),
            ("✅ Done (QA Approved)", Some(Done)),
            ("Done - Implementation Complete (all 6 ACs met, 42 tests)", Some(Done)),
            ("Deferred - Post-Epic 5", Some(Blocked)),
            // v4 template and agents.
            ("Draft", Some(Draft)),
            ("Approved", Some(Approved)),
            ("InProgress", Some(InProgress)),
            ("In Progress", Some(InProgress)),
            ("Review", Some(ReadyForReview)),
            ("Ready for Review", Some(ReadyForReview)),
            ("Ready for Done", Some(ReadyForReview)),
            ("Blocked", Some(Blocked)),
            // Observed in real repositories.
            ("On Hold - Awaiting Funding", Some(Blocked)),
            ("\"Planning\"", Some(Draft)),
            ("In Review", Some(ReadyForReview)),
            ("Completed", Some(Done)),
            // v6.
            ("backlog", Some(Draft)),
            ("ready-for-dev", Some(Approved)),
            ("in-progress", Some(InProgress)),
            ("review", Some(ReadyForReview)),
            ("done", Some(Done)),
            // Decorations.
            ("`InProgress`", Some(InProgress)),
            ("_Approved_", Some(Approved)),
            ("in_progress", Some(InProgress)),
            ("  READY FOR REVIEW  ", Some(ReadyForReview)),
            ("Ready-For-Review — waiting on Quinn", Some(ReadyForReview)),
            ("Ready for Review: PR #12 opened", Some(ReadyForReview)),
            ("❌ Blocked [waiting on API keys]", Some(Blocked)),
            ("Done ✓, merged", Some(Done)),
            ("**Status:** Done", None),
            // Unknown and empty.
            ("Shipped", None),
            ("Changes Required", None),
            ("", None),
            ("✅", None),
            ("(Done)", None),
        ];
        for (raw, want) in cases {
            assert_eq!(map_status(raw), *want, "{raw:?} normalised to {:?}", normalise(raw));
        }
    }

    #[test]
    fn every_table_key_is_already_normalised_and_unique() {
        for (i, (key, _, _)) in STATUS_TABLE.iter().enumerate() {
            assert_eq!(normalise(key), *key);
            assert!(STATUS_TABLE[..i].iter().all(|(k, _, _)| k != key), "{key} twice");
        }
    }

    #[test]
    fn every_workflow_status_is_reachable() {
        for s in WorkflowStatus::ALL {
            assert!(STATUS_TABLE.iter().any(|(_, t, _)| t == s), "{s:?}");
            assert_eq!(map_status(s.as_db()), Some(*s), "the db form maps to itself");
        }
    }
}
