//! Status roll-up rules (reference §4.3), as pure functions: a task's status
//! decides its story's, the stories decide their PBI's, and the PBIs of a
//! sprint's stories decide the sprint's. The services load the statuses,
//! call these and write back what changed, all in one transaction.

use serde::Serialize;

use crate::backlog::{PbiStatus, SprintStatus, StoryStatus, TaskStatus};

/// A story's status from its tasks' statuses.
///
/// * any task FAILED → FAILED;
/// * at least one task, all DONE or EXCLUDED, and at least one DONE → DONE
///   (EXCLUDED tasks are ignored, but a story of only excluded tasks is not done);
/// * otherwise IN_SPRINT when the story is in a sprint, else OPEN.
pub fn story_status(tasks: &[TaskStatus], in_sprint: bool) -> StoryStatus {
    if tasks.contains(&TaskStatus::Failed) {
        return StoryStatus::Failed;
    }
    let all_handled = tasks.iter().all(|t| matches!(t, TaskStatus::Done | TaskStatus::Excluded));
    if all_handled && tasks.contains(&TaskStatus::Done) {
        return StoryStatus::Done;
    }
    if in_sprint { StoryStatus::InSprint } else { StoryStatus::Open }
}

/// A PBI's status from its stories' statuses. BLOCKED is only ever set by
/// hand, so a blocked PBI stays blocked.
///
/// * any story FAILED → FAILED;
/// * at least one story and all DONE → DONE;
/// * otherwise READY (a PBI without stories is not done).
pub fn pbi_status(current: PbiStatus, stories: &[StoryStatus]) -> PbiStatus {
    if current == PbiStatus::Blocked {
        return PbiStatus::Blocked;
    }
    if stories.contains(&StoryStatus::Failed) {
        PbiStatus::Failed
    } else if !stories.is_empty() && stories.iter().all(|s| *s == StoryStatus::Done) {
        PbiStatus::Done
    } else {
        PbiStatus::Ready
    }
}

/// A sprint's status from the statuses of the distinct PBIs of its stories.
/// A sprint therefore closes only when every PBI involved is done, not just
/// the stories in it.
///
/// * ARCHIVED sprints are put away by hand and never change here;
/// * no PBIs (no stories) → unchanged: there is nothing to roll up;
/// * any PBI FAILED → FAILED;
/// * all PBIs DONE → CLOSED;
/// * otherwise OPEN.
pub fn sprint_status(current: SprintStatus, pbis: &[PbiStatus]) -> SprintStatus {
    if current == SprintStatus::Archived || pbis.is_empty() {
        return current;
    }
    if pbis.contains(&PbiStatus::Failed) {
        SprintStatus::Failed
    } else if pbis.iter().all(|p| *p == PbiStatus::Done) {
        SprintStatus::Closed
    } else {
        SprintStatus::Open
    }
}

/// How a story's status moved, as reported to whoever changed a task.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum StoryChange {
    /// Closer to done: it became DONE, or recovered from FAILED.
    Promoted,
    /// Further from done: it left DONE, or it FAILED.
    Demoted,
}

/// How far along a status is: FAILED < OPEN = IN_SPRINT < DONE.
fn progress(s: StoryStatus) -> u8 {
    match s {
        StoryStatus::Failed => 0,
        StoryStatus::Open | StoryStatus::InSprint => 1,
        StoryStatus::Done => 2,
    }
}

/// Whether a story status change from `from` to `to` is a promotion or a
/// demotion; `None` when it did not change. OPEN ↔ IN_SPRINT (a sprint
/// membership change, not progress) counts as neither.
pub fn story_change(from: StoryStatus, to: StoryStatus) -> Option<StoryChange> {
    match progress(to).cmp(&progress(from)) {
        std::cmp::Ordering::Greater => Some(StoryChange::Promoted),
        std::cmp::Ordering::Less => Some(StoryChange::Demoted),
        std::cmp::Ordering::Equal => None,
    }
}

/// A status that changed: `{"from": "ready", "to": "done"}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Transition<T> {
    /// The status before.
    pub from: T,
    /// The status after.
    pub to: T,
}

impl<T: PartialEq> Transition<T> {
    /// `Some` only when the status really changed.
    pub fn between(from: T, to: T) -> Option<Transition<T>> {
        (from != to).then_some(Transition { from, to })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use PbiStatus as P;
    use SprintStatus as Sp;
    use StoryStatus as S;
    use TaskStatus as T;

    #[test]
    fn story_roll_up_table() {
        let cases: &[(&[TaskStatus], bool, StoryStatus)] = &[
            (&[], false, S::Open),
            (&[], true, S::InSprint),
            (&[T::ToDo], true, S::InSprint),
            (&[T::ToDo, T::Done], false, S::Open),
            (&[T::Done], true, S::Done),
            (&[T::Done, T::Done], false, S::Done),
            (&[T::Done, T::Excluded], true, S::Done),
            (&[T::Excluded], true, S::InSprint),
            (&[T::Excluded, T::Excluded], false, S::Open),
            (&[T::Done, T::Review], true, S::InSprint),
            (&[T::InProgress, T::Done], true, S::InSprint),
            (&[T::Done, T::Failed], true, S::Failed),
            (&[T::Failed], false, S::Failed),
            (&[T::Excluded, T::Failed, T::Done], true, S::Failed),
        ];
        for (tasks, in_sprint, want) in cases {
            assert_eq!(story_status(tasks, *in_sprint), *want, "{tasks:?} in_sprint={in_sprint}");
        }
    }

    #[test]
    fn pbi_roll_up_table() {
        let cases: &[(PbiStatus, &[StoryStatus], PbiStatus)] = &[
            (P::Ready, &[], P::Ready),
            (P::Done, &[], P::Ready),
            (P::Ready, &[S::Done], P::Done),
            (P::Ready, &[S::Done, S::Done], P::Done),
            (P::Done, &[S::Done, S::InSprint], P::Ready),
            (P::Ready, &[S::Open, S::Done], P::Ready),
            (P::Ready, &[S::Failed, S::Done], P::Failed),
            (P::Failed, &[S::InSprint], P::Ready),
            (P::Blocked, &[S::Done], P::Blocked),
            (P::Blocked, &[S::Failed], P::Blocked),
        ];
        for (current, stories, want) in cases {
            assert_eq!(pbi_status(*current, stories), *want, "{current:?} {stories:?}");
        }
    }

    #[test]
    fn sprint_roll_up_table() {
        let cases: &[(SprintStatus, &[PbiStatus], SprintStatus)] = &[
            (Sp::Open, &[], Sp::Open),
            (Sp::Closed, &[], Sp::Closed),
            (Sp::Open, &[P::Ready], Sp::Open),
            (Sp::Open, &[P::Done], Sp::Closed),
            (Sp::Open, &[P::Done, P::Done], Sp::Closed),
            (Sp::Open, &[P::Done, P::Ready], Sp::Open),
            (Sp::Open, &[P::Done, P::Blocked], Sp::Open),
            (Sp::Open, &[P::Failed, P::Done], Sp::Failed),
            (Sp::Closed, &[P::Ready, P::Done], Sp::Open),
            (Sp::Failed, &[P::Ready], Sp::Open),
            (Sp::Archived, &[P::Done], Sp::Archived),
            (Sp::Archived, &[P::Failed], Sp::Archived),
        ];
        for (current, pbis, want) in cases {
            assert_eq!(sprint_status(*current, pbis), *want, "{current:?} {pbis:?}");
        }
    }

    #[test]
    fn promotions_and_demotions() {
        let cases = [
            (S::InSprint, S::Done, Some(StoryChange::Promoted)),
            (S::Open, S::Done, Some(StoryChange::Promoted)),
            (S::Failed, S::InSprint, Some(StoryChange::Promoted)),
            (S::Failed, S::Done, Some(StoryChange::Promoted)),
            (S::Done, S::InSprint, Some(StoryChange::Demoted)),
            (S::Done, S::Open, Some(StoryChange::Demoted)),
            (S::InSprint, S::Failed, Some(StoryChange::Demoted)),
            (S::Done, S::Failed, Some(StoryChange::Demoted)),
            (S::Open, S::InSprint, None),
            (S::Done, S::Done, None),
        ];
        for (from, to, want) in cases {
            assert_eq!(story_change(from, to), want, "{from:?} → {to:?}");
        }
    }

    #[test]
    fn transitions_only_when_changed() {
        assert_eq!(Transition::between(P::Ready, P::Ready), None);
        assert_eq!(Transition::between(P::Ready, P::Done), Some(Transition { from: P::Ready, to: P::Done }));
    }
}
