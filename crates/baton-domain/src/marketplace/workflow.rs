//! A marketplace story's workflow (marketplace reference §6.2): the
//! transition table and the one rule that keeps `workflow_status` and the
//! backlog `status` consistent.
//!
//! Decisions (the reference is silent or leaves them open):
//!
//! - **Who.** A story has four kinds of parties: the *validator* (a PM or
//!   architect expert of the project, or the client acting as product owner
//!   — reference §9.11), the *assigned developer*, the *assigned QA* and the
//!   client. "Any assigned party" (blocking) means the assigned developer,
//!   the assigned QA, a validator or the client: anyone answerable for the
//!   story's progress.
//! - **Via.** Each move of the table is made by exactly one use case
//!   ([`Via`]): DRAFT → APPROVED only by recording a GO validation,
//!   IN_PROGRESS → READY_FOR_REVIEW only by submitting a PR, the two QA moves
//!   only by a QA review or approval. The generic "move" covers the rest
//!   (start, block, unblock), so no side effect (opportunity, escrow) can be
//!   skipped by calling the generic move instead.
//! - **Blocked and back.** BLOCKED is reachable from every state but DONE
//!   and returns only to the state it was blocked from (the service reads
//!   it from the audit log); [`check_unblock`] is that rule.
//! - **Backlog status.** [`backlog_status`]: DONE → DONE; every other
//!   workflow state → OPEN (or IN_SPRINT when the story sits in a sprint).
//!   BLOCKED is *not* FAILED: in the backlog FAILED fails the PBI and the
//!   sprint (propagation), while a blocked story is waiting, not broken.
//!   A marketplace story therefore counts as done for its epic (PBI) exactly
//!   when its workflow is DONE.
//! - **CONCERNS.** [`qa_outcome`]: PASS and WAIVED complete the story, FAIL
//!   sends it back to IN_PROGRESS, CONCERNS does too unless the project's
//!   [`ConcernsPolicy`] is `proceed` (BMAD's "non-blocking").

use std::fmt;

use super::{QaGateStatus, WorkflowStatus};

/// The part a caller plays for one story.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StoryRole {
    /// A PM or architect expert of the project (accepted bid on that
    /// stage's opportunity), or the client acting as product owner.
    Validator,
    /// The developer assigned to the story.
    Developer,
    /// The QA reviewer assigned to the story.
    Qa,
    /// The project's client (owner of the product).
    Client,
}

/// Who may make a move.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Who {
    /// Only validators.
    Validator,
    /// Only the assigned developer.
    Developer,
    /// Only the assigned QA.
    Qa,
    /// The assigned developer or QA, a validator or the client.
    AnyParty,
}

impl Who {
    /// Whether `role` is allowed.
    pub fn admits(self, role: StoryRole) -> bool {
        match self {
            Who::Validator => role == StoryRole::Validator,
            Who::Developer => role == StoryRole::Developer,
            Who::Qa => role == StoryRole::Qa,
            Who::AnyParty => true,
        }
    }

    /// How the API names the party, for messages.
    pub fn describe(self) -> &'static str {
        match self {
            Who::Validator => "a PM or architect of the project, or the client",
            Who::Developer => "the assigned developer",
            Who::Qa => "the assigned QA",
            Who::AnyParty => "a party of the story",
        }
    }
}

/// The one use case that makes a move (so side effects cannot be skipped).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// The generic move (`POST /api/stories/{id}/transition`).
    Move,
    /// A GO validation with a score at or above the threshold.
    Validation,
    /// Submitting the pull request.
    SubmitPr,
    /// A QA review whose gate sends the story back to rework.
    QaRework,
    /// A passing QA review or the QA's approval (`complete_story`).
    Complete,
}

impl Via {
    /// The route a caller should use instead, for messages.
    pub fn describe(self) -> &'static str {
        match self {
            Via::Move => "POST /api/stories/{id}/transition",
            Via::Validation => "POST /api/stories/{id}/validation",
            Via::SubmitPr => "POST /api/stories/{id}/submit-pr",
            Via::QaRework => "POST /api/stories/{id}/qa-review",
            Via::Complete => "POST /api/stories/{id}/qa-review or /approve",
        }
    }
}

/// One allowed move.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transition {
    /// Current state.
    pub from: WorkflowStatus,
    /// Next state.
    pub to: WorkflowStatus,
    /// Who may make it.
    pub who: Who,
    /// Which use case makes it.
    pub via: Via,
}

const fn t(from: WorkflowStatus, to: WorkflowStatus, who: Who, via: Via) -> Transition {
    Transition { from, to, who, via }
}

use WorkflowStatus::{Approved, Blocked, Done, Draft, InProgress, ReadyForReview};

/// The transition table of reference §6.2. Creation (→ DRAFT) is not a
/// move; BLOCKED → back is restricted further by [`check_unblock`].
pub const TRANSITIONS: &[Transition] = &[
    t(Draft, Approved, Who::Validator, Via::Validation),
    t(Approved, InProgress, Who::Developer, Via::Move),
    t(InProgress, ReadyForReview, Who::Developer, Via::SubmitPr),
    t(ReadyForReview, InProgress, Who::Qa, Via::QaRework),
    t(ReadyForReview, Done, Who::Qa, Via::Complete),
    t(Draft, Blocked, Who::AnyParty, Via::Move),
    t(Approved, Blocked, Who::AnyParty, Via::Move),
    t(InProgress, Blocked, Who::AnyParty, Via::Move),
    t(ReadyForReview, Blocked, Who::AnyParty, Via::Move),
    t(Blocked, Draft, Who::AnyParty, Via::Move),
    t(Blocked, Approved, Who::AnyParty, Via::Move),
    t(Blocked, InProgress, Who::AnyParty, Via::Move),
    t(Blocked, ReadyForReview, Who::AnyParty, Via::Move),
];

/// Why a move is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransitionError {
    /// The table has no such move (a state conflict: 409).
    #[error("a story cannot move from {} to {}", .from.as_api(), .to.as_api())]
    NotAllowed {
        /// Current state.
        from: WorkflowStatus,
        /// Requested state.
        to: WorkflowStatus,
    },
    /// The move exists but belongs to another party (403).
    #[error("moving a story from {} to {} is for {}", .from.as_api(), .to.as_api(), .who.describe())]
    WrongParty {
        /// Current state.
        from: WorkflowStatus,
        /// Requested state.
        to: WorkflowStatus,
        /// Who may.
        who: Who,
    },
    /// The move exists but is made by another use case (409).
    #[error("moving a story from {} to {} goes through {}", .from.as_api(), .to.as_api(), .via.describe())]
    WrongVia {
        /// Current state.
        from: WorkflowStatus,
        /// Requested state.
        to: WorkflowStatus,
        /// The use case that makes it.
        via: Via,
    },
    /// A blocked story only returns to the state it was blocked from (409).
    #[error("story is blocked; it can only return to {}, where it was", .previous.as_api())]
    NotWhereItWas {
        /// The state before blocking.
        previous: WorkflowStatus,
    },
}

/// The table's row for `from` → `to`, if any.
pub fn find(from: WorkflowStatus, to: WorkflowStatus) -> Option<&'static Transition> {
    TRANSITIONS.iter().find(|t| t.from == from && t.to == to)
}

/// Whether `role` may move a story from `from` to `to` (any use case).
pub fn check_transition(from: WorkflowStatus, to: WorkflowStatus, role: StoryRole) -> Result<(), TransitionError> {
    let row = find(from, to).ok_or(TransitionError::NotAllowed { from, to })?;
    if !row.who.admits(role) {
        return Err(TransitionError::WrongParty { from, to, who: row.who });
    }
    Ok(())
}

/// Like [`check_transition`] for a caller holding several roles (a PM of
/// the project may also be its assigned developer): allowed when any role
/// is; otherwise the table's refusal (not allowed before wrong party).
pub fn check_transition_any(
    from: WorkflowStatus,
    to: WorkflowStatus,
    roles: &[StoryRole],
) -> Result<(), TransitionError> {
    let row = find(from, to).ok_or(TransitionError::NotAllowed { from, to })?;
    if roles.iter().any(|r| row.who.admits(*r)) {
        Ok(())
    } else {
        Err(TransitionError::WrongParty { from, to, who: row.who })
    }
}

/// [`check_transition_any`] for the use case `via`: also refuses a move the
/// table gives to another use case.
pub fn check_via(
    from: WorkflowStatus,
    to: WorkflowStatus,
    roles: &[StoryRole],
    via: Via,
) -> Result<(), TransitionError> {
    check_transition_any(from, to, roles)?;
    match find(from, to) {
        Some(row) if row.via != via => Err(TransitionError::WrongVia { from, to, via: row.via }),
        _ => Ok(()),
    }
}

/// A blocked story returns only to `previous`, the state it was blocked
/// from; without a known previous state (a story blocked by an import)
/// any state the table allows is accepted.
pub fn check_unblock(previous: Option<WorkflowStatus>, to: WorkflowStatus) -> Result<(), TransitionError> {
    match previous {
        Some(p) if p != to && p != Blocked => Err(TransitionError::NotWhereItWas { previous: p }),
        _ => Ok(()),
    }
}

/// The backlog status a marketplace story has in workflow state `w`: the
/// one mapping (see the module doc). `in_sprint` = the story is planned
/// into a sprint.
pub fn backlog_status(w: WorkflowStatus, in_sprint: bool) -> crate::backlog::StoryStatus {
    use crate::backlog::StoryStatus;
    match w {
        Done => StoryStatus::Done,
        Draft | Approved | InProgress | ReadyForReview | Blocked => {
            if in_sprint {
                StoryStatus::InSprint
            } else {
                StoryStatus::Open
            }
        }
    }
}

crate::db_enum! {
    /// What a CONCERNS gate does to a story (a project setting,
    /// `products.concerns_policy`).
    pub enum ConcernsPolicy {
        /// Back to IN_PROGRESS for rework (American Nerd; the default).
        Rework => "REWORK",
        /// Non-blocking: the story completes (BMAD's meaning).
        Proceed => "PROCEED",
    }
}

/// What a QA gate does to a story under review.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QaOutcome {
    /// The story completes (DONE, escrows released).
    Complete,
    /// The story goes back to IN_PROGRESS.
    Rework,
}

/// The outcome of `gate` under `policy`.
pub fn qa_outcome(gate: QaGateStatus, policy: ConcernsPolicy) -> QaOutcome {
    match (gate, policy) {
        (QaGateStatus::Pass | QaGateStatus::Waived, _) => QaOutcome::Complete,
        (QaGateStatus::Concerns, ConcernsPolicy::Proceed) => QaOutcome::Complete,
        (QaGateStatus::Concerns, ConcernsPolicy::Rework) | (QaGateStatus::Fail, _) => QaOutcome::Rework,
    }
}

/// The default approval threshold of a validation score (reference §6.3).
pub const DEFAULT_VALIDATION_THRESHOLD: i32 = 8;

crate::db_enum! {
    /// A validate-next-story decision (`stories.validation_decision`).
    pub enum ValidationDecision {
        /// Ready for implementation.
        Go => "GO",
        /// Not ready.
        NoGo => "NO_GO",
    }
}

/// Why a validation does not approve a story.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValidationError {
    /// The score is outside 1–10.
    #[error("score must be between 1 and 10")]
    ScoreOutOfRange,
}

/// Whether a validation approves the story: a GO with `score` ≥
/// `threshold`. A score outside 1–10 is an error.
pub fn approves(score: i32, decision: ValidationDecision, threshold: i32) -> Result<bool, ValidationError> {
    if !(1..=10).contains(&score) {
        return Err(ValidationError::ScoreOutOfRange);
    }
    Ok(decision == ValidationDecision::Go && score >= threshold)
}

/// A story's BMAD key `epic.story`, e.g. `3.1` or `11.2b`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StoryNumber {
    /// The epic number (≥ 1).
    pub epic: i32,
    /// The story part: digits, optionally followed by lowercase letters.
    pub story: String,
}

impl StoryNumber {
    /// `"3.1"`.
    pub fn number(&self) -> String {
        format!("{}.{}", self.epic, self.story)
    }

    /// Parses `"3.1"`, `"11.2b"` (surrounding spaces ignored); `None` when
    /// malformed (epic not a positive number, story not digits + letters,
    /// longer than 20 characters).
    pub fn parse(s: &str) -> Option<StoryNumber> {
        let (e, st) = s.trim().split_once('.')?;
        let epic: i32 = e.parse().ok().filter(|n| *n >= 1)?;
        if e.starts_with('+') || e.starts_with('0') {
            return None;
        }
        Self::story_part(st).map(|story| StoryNumber { epic, story })
    }

    /// Checks and normalises a story part (`"1"`, `"2b"`; lowercased).
    pub fn story_part(s: &str) -> Option<String> {
        let s = s.trim();
        let digits = s.chars().take_while(char::is_ascii_digit).count();
        let rest = &s[digits..];
        let ok = digits >= 1
            && s.len() <= 20
            && !(digits > 1 && s.starts_with('0'))
            && rest.chars().all(|c| c.is_ascii_alphabetic());
        ok.then(|| s.to_ascii_lowercase())
    }
}

impl fmt::Display for StoryNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.epic, self.story)
    }
}

/// A pull-request URL checked and parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrRef {
    /// The URL as given (trimmed, without a trailing slash or `/files`-like tail).
    pub url: String,
    /// `owner/name`.
    pub repo: String,
    /// The PR number.
    pub number: i32,
}

/// Why a PR URL is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PrUrlError {
    /// Not `http(s)://host/owner/name/pull/N`.
    #[error("must be a pull request URL like https://github.com/owner/repo/pull/12")]
    Malformed,
}

/// Checks a GitHub-style pull request URL, `http(s)://<host>/<owner>/<repo>/pull/<n>`
/// (GitHub Enterprise hosts accepted; an optional tail such as `/files` or
/// a `#fragment` is dropped), and parses its number.
pub fn parse_pr_url(raw: &str) -> Result<PrRef, PrUrlError> {
    let s = raw.trim();
    if s.len() > 500 || s.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(PrUrlError::Malformed);
    }
    let rest = s.strip_prefix("https://").or_else(|| s.strip_prefix("http://")).ok_or(PrUrlError::Malformed)?;
    let rest = rest.split(['#', '?']).next().unwrap_or_default();
    let parts: Vec<&str> = rest.split('/').collect();
    if parts.len() < 5 {
        return Err(PrUrlError::Malformed);
    }
    let (host, owner, repo, pull, num) = (parts[0], parts[1], parts[2], parts[3], parts[4]);
    let name_ok = |p: &str| {
        !p.is_empty() && p != "." && p != ".." && p.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
    };
    let host_ok = !host.is_empty()
        && !host.contains('@')
        && host.chars().all(|c| c.is_ascii_alphanumeric() || "-.:".contains(c))
        && host.contains('.');
    if !host_ok || !name_ok(owner) || !name_ok(repo) || pull != "pull" {
        return Err(PrUrlError::Malformed);
    }
    let number: i32 = if num.chars().all(|c| c.is_ascii_digit()) && !num.starts_with('0') {
        num.parse().map_err(|_| PrUrlError::Malformed)?
    } else {
        return Err(PrUrlError::Malformed);
    };
    let tail_ok = parts[5..].iter().all(|p| name_ok(p) || p.is_empty());
    if !tail_ok {
        return Err(PrUrlError::Malformed);
    }
    let scheme = if s.starts_with("https://") { "https" } else { "http" };
    Ok(PrRef {
        url: format!("{scheme}://{host}/{owner}/{repo}/pull/{number}"),
        repo: format!("{owner}/{repo}"),
        number,
    })
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    const ROLES: [StoryRole; 4] = [StoryRole::Validator, StoryRole::Developer, StoryRole::Qa, StoryRole::Client];

    /// Every (from, to, role) the table allows, written out by hand.
    fn expected_allowed(from: WorkflowStatus, to: WorkflowStatus, role: StoryRole) -> bool {
        use StoryRole as R;
        match (from, to) {
            (Draft, Approved) => role == R::Validator,
            (Approved, InProgress) | (InProgress, ReadyForReview) => role == R::Developer,
            (ReadyForReview, InProgress) | (ReadyForReview, Done) => role == R::Qa,
            (Draft | Approved | InProgress | ReadyForReview, Blocked) => true,
            (Blocked, Draft | Approved | InProgress | ReadyForReview) => true,
            _ => false,
        }
    }

    #[test]
    fn every_move_for_every_role_follows_the_table() {
        let mut allowed = 0;
        for &from in WorkflowStatus::ALL {
            for &to in WorkflowStatus::ALL {
                for role in ROLES {
                    let got = check_transition(from, to, role);
                    let want = expected_allowed(from, to, role);
                    assert_eq!(got.is_ok(), want, "{from:?} -> {to:?} as {role:?}: {got:?}");
                    if want {
                        allowed += 1;
                    } else if find(from, to).is_none() {
                        assert_eq!(got, Err(TransitionError::NotAllowed { from, to }));
                    } else {
                        assert!(matches!(got, Err(TransitionError::WrongParty { .. })), "{got:?}");
                    }
                }
            }
        }
        // 5 single-party moves + 8 block/unblock moves open to all 4 roles.
        assert_eq!(allowed, 5 + 8 * 4);
    }

    #[test]
    fn done_is_final_and_nothing_moves_to_draft_except_unblocking() {
        for &to in WorkflowStatus::ALL {
            assert!(find(Done, to).is_none(), "DONE -> {to:?}");
        }
        let into_draft: Vec<_> = TRANSITIONS.iter().filter(|t| t.to == Draft).map(|t| t.from).collect();
        assert_eq!(into_draft, [Blocked]);
        assert!(find(Draft, Draft).is_none() && find(Blocked, Blocked).is_none() && find(Blocked, Done).is_none());
    }

    #[test]
    fn each_move_belongs_to_one_use_case() {
        let roles = [StoryRole::Developer];
        assert_eq!(check_via(Approved, InProgress, &roles, Via::Move), Ok(()));
        assert_eq!(
            check_via(InProgress, ReadyForReview, &roles, Via::Move),
            Err(TransitionError::WrongVia { from: InProgress, to: ReadyForReview, via: Via::SubmitPr })
        );
        assert_eq!(check_via(InProgress, ReadyForReview, &roles, Via::SubmitPr), Ok(()));
        let qa = [StoryRole::Qa];
        assert!(matches!(check_via(ReadyForReview, Done, &qa, Via::Move), Err(TransitionError::WrongVia { .. })));
        assert_eq!(check_via(ReadyForReview, Done, &qa, Via::Complete), Ok(()));
        assert_eq!(check_via(ReadyForReview, InProgress, &qa, Via::QaRework), Ok(()));
        // Party is checked before the use case: the developer learns it is QA's move.
        assert!(matches!(
            check_via(ReadyForReview, Done, &roles, Via::Complete),
            Err(TransitionError::WrongParty { who: Who::Qa, .. })
        ));
        let v = [StoryRole::Validator];
        assert!(matches!(check_via(Draft, Approved, &v, Via::Move), Err(TransitionError::WrongVia { .. })));
    }

    #[test]
    fn several_roles_allow_what_any_of_them_allows() {
        let both = [StoryRole::Validator, StoryRole::Developer];
        assert!(check_transition_any(Approved, InProgress, &both).is_ok());
        assert!(check_transition_any(Draft, Approved, &both).is_ok());
        assert!(check_transition_any(ReadyForReview, Done, &both).is_err());
        assert!(check_transition_any(Draft, Blocked, &[]).is_err(), "no role at all is no party");
        assert!(matches!(check_transition_any(Done, Blocked, &both), Err(TransitionError::NotAllowed { .. })));
    }

    #[test]
    fn a_blocked_story_returns_only_where_it_was() {
        assert_eq!(check_unblock(Some(InProgress), InProgress), Ok(()));
        assert_eq!(
            check_unblock(Some(InProgress), Approved),
            Err(TransitionError::NotWhereItWas { previous: InProgress })
        );
        assert_eq!(check_unblock(None, Approved), Ok(()));
        let msg = TransitionError::NotWhereItWas { previous: ReadyForReview }.to_string();
        assert_eq!(msg, "story is blocked; it can only return to ready_for_review, where it was");
    }

    #[test]
    fn refusals_name_the_current_state() {
        let e = check_transition(Done, InProgress, StoryRole::Qa).expect_err("refused");
        assert_eq!(e.to_string(), "a story cannot move from done to in_progress");
        let e = check_transition(Approved, InProgress, StoryRole::Qa).expect_err("refused");
        assert_eq!(e.to_string(), "moving a story from approved to in_progress is for the assigned developer");
    }

    #[test]
    fn the_backlog_status_follows_the_workflow() {
        use crate::backlog::StoryStatus;
        for &w in WorkflowStatus::ALL {
            let out = backlog_status(w, false);
            let inside = backlog_status(w, true);
            if w == Done {
                assert_eq!((out, inside), (StoryStatus::Done, StoryStatus::Done));
            } else {
                assert_eq!((out, inside), (StoryStatus::Open, StoryStatus::InSprint), "{w:?}");
            }
        }
        // Never FAILED: blocking must not fail the epic or the sprint.
        assert!(WorkflowStatus::ALL.iter().all(|w| backlog_status(*w, false) != StoryStatus::Failed));
    }

    #[test]
    fn qa_gates_complete_or_rework_per_policy() {
        use ConcernsPolicy::{Proceed, Rework};
        use QaGateStatus::{Concerns, Fail, Pass, Waived};
        let cases = [
            (Pass, Rework, QaOutcome::Complete),
            (Pass, Proceed, QaOutcome::Complete),
            (Waived, Rework, QaOutcome::Complete),
            (Waived, Proceed, QaOutcome::Complete),
            (Concerns, Rework, QaOutcome::Rework),
            (Concerns, Proceed, QaOutcome::Complete),
            (Fail, Rework, QaOutcome::Rework),
            (Fail, Proceed, QaOutcome::Rework),
        ];
        for (gate, policy, want) in cases {
            assert_eq!(qa_outcome(gate, policy), want, "{gate:?} {policy:?}");
        }
        assert_eq!(ConcernsPolicy::parse_api("proceed"), Some(Proceed));
    }

    #[test]
    fn validation_approves_a_go_at_or_above_the_threshold() {
        use ValidationDecision::{Go, NoGo};
        assert_eq!(approves(8, Go, 8), Ok(true));
        assert_eq!(approves(10, Go, 8), Ok(true));
        assert_eq!(approves(7, Go, 8), Ok(false));
        assert_eq!(approves(9, NoGo, 8), Ok(false));
        assert_eq!(approves(6, Go, 6), Ok(true));
        assert_eq!(approves(0, Go, 8), Err(ValidationError::ScoreOutOfRange));
        assert_eq!(approves(11, Go, 8), Err(ValidationError::ScoreOutOfRange));
        assert_eq!(ValidationDecision::parse_api("no_go"), Some(NoGo));
    }

    #[test]
    fn story_numbers_parse_and_print_as_epic_dot_story() {
        let n = StoryNumber::parse("3.1").expect("3.1");
        assert_eq!((n.epic, n.story.as_str(), n.number()), (3, "1", "3.1".to_string()));
        assert_eq!(StoryNumber::parse(" 11.2B ").expect("11.2b").number(), "11.2b");
        for bad in ["", "3", "3.", ".1", "0.1", "03.1", "-1.2", "+1.2", "a.1", "3.b", "3.01", "3.1.2", "3.1 b"] {
            assert_eq!(StoryNumber::parse(bad), None, "{bad:?}");
        }
        assert_eq!(StoryNumber::story_part("2a"), Some("2a".into()));
        assert_eq!(StoryNumber::story_part("x"), None);
    }

    #[test]
    fn pr_urls_are_github_style_pull_requests() {
        let pr = parse_pr_url(" https://github.com/acme/shop/pull/42/files ").expect("pr");
        assert_eq!(
            pr,
            PrRef { url: "https://github.com/acme/shop/pull/42".into(), repo: "acme/shop".into(), number: 42 }
        );
        assert_eq!(parse_pr_url("http://git.example.com/a/b/pull/7#discussion").expect("ghe").number, 7);
        for bad in [
            "",
            "github.com/a/b/pull/1",
            "ftp://github.com/a/b/pull/1",
            "https://github.com/a/b/issues/1",
            "https://github.com/a/b/pull/",
            "https://github.com/a/b/pull/0",
            "https://github.com/a/b/pull/x1",
            "https://github.com/a/b/pull/99999999999",
            "https://github.com/a/../pull/1",
            "https://user@github.com/a/b/pull/1",
            "https://localhost/a/b/pull/1",
            "https://github.com/a b/c/pull/1",
            "javascript:alert(1)//github.com/a/b/pull/1",
        ] {
            assert_eq!(parse_pr_url(bad), Err(PrUrlError::Malformed), "{bad:?}");
        }
    }

    proptest! {
        /// Any text, and text shaped like the inputs so that some of it is
        /// accepted: an accepted PR URL is canonical (parsing it again gives
        /// it back) and made of what was written; an accepted story number
        /// is the text without spaces, lower-cased, and survives display →
        /// parse; a refusal says what is expected.
        #[test]
        fn parsed_values_come_from_the_input_and_parse_again(
            s in prop_oneof![
                ".{0,80}",
                "(https?://)?[a-zA-Z.:@-]{0,12}/[a-z0-9._-]{0,6}/[a-z0-9._-]{0,6}/(pull|pulls)/[0-9]{0,4}[/#?a-z0-9 ]{0,6}",
                " ?[0-9+-]{0,4}\\. ?[0-9a-zA-Z]{0,4}[. ]{0,2}",
            ]
        ) {
            let pr = parse_pr_url(&s);
            prop_assert_eq!(&pr, &parse_pr_url(&s));
            match pr {
                Ok(pr) => {
                    prop_assert!(pr.number >= 1);
                    prop_assert!(s.contains(&pr.repo), "{:?} is written in {:?}", pr.repo, s);
                    prop_assert!(pr.url.ends_with(&format!("/{}/pull/{}", pr.repo, pr.number)), "{:?}", pr);
                    prop_assert!(s.trim().starts_with(pr.url.as_str()), "{:?} starts {:?}", pr.url, s);
                    prop_assert_eq!(parse_pr_url(&pr.url), Ok(pr.clone()));
                    let zero = format!("{}/pull/0", pr.url.rsplit_once("/pull/").map_or("", |(head, _)| head));
                    prop_assert!(parse_pr_url(&zero).is_err(), "pull request 0 does not exist: {:?}", zero);
                }
                Err(e) => prop_assert!(e.to_string().contains("pull request URL"), "{}", e),
            }
            if let Some(n) = StoryNumber::parse(&s) {
                prop_assert!(n.epic >= 1);
                let written: String = s.chars().filter(|c| !c.is_whitespace()).collect();
                prop_assert_eq!(n.number(), written.to_ascii_lowercase());
                prop_assert_eq!(StoryNumber::parse(&n.number()), Some(n.clone()));
                prop_assert_eq!(StoryNumber::story_part(&n.story), Some(n.story.clone()));
            }
        }

        #[test]
        fn parsed_pr_urls_round_trip(owner in "[a-z][a-z0-9-]{0,10}", repo in "[a-z][a-z0-9_.-]{0,10}", n in 1..i32::MAX) {
            prop_assume!(repo != "." && repo != "..");
            let url = format!("https://github.com/{owner}/{repo}/pull/{n}");
            let pr = parse_pr_url(&url).expect("valid");
            prop_assert_eq!(pr.number, n);
            prop_assert_eq!(pr.repo, format!("{owner}/{repo}"));
            prop_assert_eq!(pr.url, url);
        }

        #[test]
        fn story_numbers_round_trip(epic in 1..10_000i32, story in 1..1000u32, suffix in "[a-z]{0,2}") {
            let s = format!("{epic}.{story}{suffix}");
            prop_assert_eq!(StoryNumber::parse(&s).map(|n| n.number()), Some(s));
            prop_assert!(StoryNumber::parse(&format!("{epic}.x{story}")).is_none(), "the story part starts with a digit");
        }
    }
}
