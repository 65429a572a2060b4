//! Backlog enums: products, PBIs, stories, tasks, sprints and story logs.
//! Values are the seed's (`000_*`, latest form from the agent-backlog
//! reference §2); `docs/data-model.md` lists which column holds which.

crate::db_enum! {
    /// What kind of product a backlog is (`products.kind`).
    pub enum ProductKind {
        /// An ordinary application repository.
        App => "APP",
        /// A system/infrastructure product.
        System => "SYSTEM",
    }
}

crate::db_enum! {
    /// How agent work is turned into pull requests (`products.pr_strategy`,
    /// snapshotted in `sprint_runs.pr_strategy`).
    pub enum PrStrategy {
        /// One job per task, one draft PR per sprint run.
        Sprint => "SPRINT",
        /// One job per task, one PR per story, auto-merged when the story is done.
        Story => "STORY",
        /// One batch job per sprint run, one draft PR (the default).
        SprintBatch => "SPRINT_BATCH",
    }
}

crate::db_enum! {
    /// Status of a product backlog item (`pbis.status`).
    pub enum PbiStatus {
        /// Default; not blocked, not finished.
        Ready => "READY",
        /// Set by hand only; status propagation leaves it alone.
        Blocked => "BLOCKED",
        /// One of its stories failed.
        Failed => "FAILED",
        /// All of its stories are done.
        Done => "DONE",
    }
}

crate::db_enum! {
    /// Backlog status of a story (`stories.status`). The marketplace workflow
    /// state lives beside it in `stories.workflow_status`
    /// ([`crate::marketplace::WorkflowStatus`]).
    pub enum StoryStatus {
        /// In the product backlog.
        Open => "OPEN",
        /// Planned into a sprint.
        InSprint => "IN_SPRINT",
        /// All tasks done.
        Done => "DONE",
        /// A task failed.
        Failed => "FAILED",
    }
}

crate::db_enum! {
    /// Status of a task (`tasks.status`). `TO_DO` is `todo` at the API.
    pub enum TaskStatus {
        /// Not started.
        ToDo => "TO_DO" as "todo",
        /// Being worked on.
        InProgress => "IN_PROGRESS",
        /// Waiting for review.
        Review => "REVIEW",
        /// Finished.
        Done => "DONE",
        /// Failed; fails its story.
        Failed => "FAILED",
        /// Skipped by verification during a sprint run; ignored by the story roll-up.
        Excluded => "EXCLUDED",
    }
}

crate::db_enum! {
    /// Status of a sprint (`sprints.status`). Several sprints of one product
    /// may be OPEN at once.
    pub enum SprintStatus {
        /// Running.
        Open => "OPEN",
        /// Finished (sets `completed_at`).
        Closed => "CLOSED",
        /// Put away.
        Archived => "ARCHIVED",
        /// A PBI in it failed.
        Failed => "FAILED",
    }
}

crate::db_enum! {
    /// Kind of a story log entry (`story_logs.type`).
    pub enum StoryLogType {
        /// The plan an agent followed.
        ImplementationPlan => "IMPLEMENTATION_PLAN",
        /// A test run; `story_logs.status` says whether it passed.
        TestResult => "TEST_RESULT",
        /// A commit, with hash and message.
        Commit => "COMMIT",
    }
}

crate::db_enum! {
    /// Outcome of a logged test run (`story_logs.status`).
    pub enum TestStatus {
        /// Tests passed.
        Passed => "PASSED",
        /// Tests failed.
        Failed => "FAILED",
    }
}

crate::db_enum! {
    /// Result of the diff-versus-plan check (`jobs.verify_result`,
    /// `sprint_task_executions.verify_result`).
    pub enum VerifyResult {
        /// The diff touches exactly what the plan names.
        Aligned => "ALIGNED",
        /// Some planned paths are missing from the diff.
        Partial => "PARTIAL",
        /// The diff is empty.
        Empty => "EMPTY",
        /// The diff goes far beyond the plan.
        Divergent => "DIVERGENT",
    }
}

crate::db_enum! {
    /// The weakest verify result a task accepts (`tasks.verify_required`,
    /// snapshotted in `sprint_task_executions.verify_required_snapshot`).
    pub enum VerifyRequired {
        /// Only ALIGNED.
        Aligned => "ALIGNED",
        /// ALIGNED, or PARTIAL/DIVERGENT with an explaining summary (the default).
        AlignedOrPartial => "ALIGNED_OR_PARTIAL",
        /// Anything.
        Any => "ANY",
    }
}

/// Priorities run from 1 (critical) to 4 (nice to have); a label and filter only.
pub const PRIORITY_RANGE: std::ops::RangeInclusive<i32> = 1..=4;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn task_status_uses_todo_at_the_api_and_accepts_both_spellings() {
        assert_eq!(TaskStatus::ToDo.as_db(), "TO_DO");
        assert_eq!(TaskStatus::ToDo.as_api(), "todo");
        for input in ["todo", "TODO", "to_do", "TO_DO", " todo "] {
            assert_eq!(TaskStatus::parse_api(input), Some(TaskStatus::ToDo), "{input}");
        }
        assert_eq!(TaskStatus::parse_api("in_progress"), Some(TaskStatus::InProgress));
        assert_eq!(TaskStatus::api_values(), "todo, in_progress, review, done, failed, excluded");
    }

    #[test]
    fn every_backlog_enum_round_trips_through_the_database_form() {
        fn check<T: Copy + PartialEq + std::fmt::Debug>(
            all: &[T],
            db: fn(T) -> &'static str,
            back: fn(&str) -> Option<T>,
        ) {
            for v in all {
                assert_eq!(back(db(*v)), Some(*v));
                assert!(db(*v).chars().all(|c| c.is_ascii_uppercase() || c == '_'), "{v:?}");
            }
        }
        check(ProductKind::ALL, ProductKind::as_db, ProductKind::from_db);
        check(PrStrategy::ALL, PrStrategy::as_db, PrStrategy::from_db);
        check(PbiStatus::ALL, PbiStatus::as_db, PbiStatus::from_db);
        check(StoryStatus::ALL, StoryStatus::as_db, StoryStatus::from_db);
        check(TaskStatus::ALL, TaskStatus::as_db, TaskStatus::from_db);
        check(SprintStatus::ALL, SprintStatus::as_db, SprintStatus::from_db);
        check(StoryLogType::ALL, StoryLogType::as_db, StoryLogType::from_db);
        check(TestStatus::ALL, TestStatus::as_db, TestStatus::from_db);
        check(VerifyResult::ALL, VerifyResult::as_db, VerifyResult::from_db);
        check(VerifyRequired::ALL, VerifyRequired::as_db, VerifyRequired::from_db);
    }
}
