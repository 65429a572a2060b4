//! Agent enums: the job queue, sprint runs and their frozen task executions,
//! workers, the agent → human question channel and model prices. Values are
//! the latest ones of the agent-backlog reference §2.

crate::db_enum! {
    /// What a job asks an agent to do (`jobs.kind`).
    pub enum JobKind {
        /// Implement one task.
        TaskImplementation => "TASK_IMPLEMENTATION",
        /// Implement a whole sprint run's frozen task list in one job.
        SprintImplementation => "SPRINT_IMPLEMENTATION",
        /// Interview the user about an idea, producing `grill_md`.
        IdeaGrill => "IDEA_GRILL",
        /// Turn a grilled idea into `plan_md`.
        IdeaMakePlan => "IDEA_MAKE_PLAN",
        /// Review an idea's plan.
        IdeaReviewPlan => "IDEA_REVIEW_PLAN",
        /// Chat about a plan.
        PlanChat => "PLAN_CHAT",
        /// Write a spec for an idea.
        IdeaMakeSpec => "IDEA_MAKE_SPEC",
        /// Revise an idea's spec.
        IdeaReviseSpec => "IDEA_REVISE_SPEC",
        /// Chat about an idea.
        IdeaChat => "IDEA_CHAT",
        /// Review a pull request.
        PrReview => "PR_REVIEW",
        /// Review a spec.
        SpecReview => "SPEC_REVIEW",
        /// Review a task's result.
        TaskReview => "TASK_REVIEW",
        /// Deploy.
        Deploy => "DEPLOY",
        /// Audit the docs.
        DocsAudit => "DOCS_AUDIT",
    }
}

impl JobKind {
    /// Idea-scoped kinds, which need `jobs.idea_id` and no task.
    pub fn is_idea_kind(self) -> bool {
        matches!(
            self,
            JobKind::IdeaGrill
                | JobKind::IdeaMakePlan
                | JobKind::IdeaReviewPlan
                | JobKind::IdeaMakeSpec
                | JobKind::IdeaReviseSpec
                | JobKind::IdeaChat
        )
    }
}

crate::db_enum! {
    /// Where a job is in the queue (`jobs.status`).
    pub enum JobStatus {
        /// Waiting for a worker.
        Queued => "QUEUED",
        /// Handed to a worker under a lease.
        Claimed => "CLAIMED",
        /// The worker reported it started.
        Running => "RUNNING",
        /// Finished successfully.
        Done => "DONE",
        /// Finished unsuccessfully.
        Failed => "FAILED",
        /// Cancelled by a user or a cascade.
        Cancelled => "CANCELLED",
        /// Skipped by the agent (nothing to do).
        Skipped => "SKIPPED",
    }
}

impl JobStatus {
    /// Whether no further transition is expected.
    pub fn is_terminal(self) -> bool {
        matches!(self, JobStatus::Done | JobStatus::Failed | JobStatus::Cancelled | JobStatus::Skipped)
    }
}

crate::db_enum! {
    /// Who created a job (`jobs.source`).
    pub enum JobSource {
        /// Baton itself (sprint runs, idea dispatch).
        System => "SYSTEM",
        /// A person, by hand.
        Manual => "MANUAL",
        /// An orchestrating agent.
        Orchestrator => "ORCHESTRATOR",
        /// A copilot session.
        Copilot => "COPILOT",
    }
}

crate::db_enum! {
    /// Which agent program runs a job or a worker (`jobs.runtime`,
    /// `workers.runtime`, `model_prices.runtime`).
    pub enum AgentRuntime {
        /// Claude Code.
        Claude => "CLAUDE",
        /// OpenAI Codex.
        Codex => "CODEX",
        /// A custom harness that reports its own cost.
        Harness => "HARNESS",
    }
}

crate::db_enum! {
    /// A worker's tier (`workers.tier`; the seed's `capability`). Lower tiers
    /// defer to idle higher-tier workers.
    pub enum WorkerTier {
        /// Highest.
        HighP => "HIGH_P",
        /// Middle.
        MediumP => "MEDIUM_P",
        /// Lowest.
        LowP => "LOW_P",
    }
}

impl WorkerTier {
    /// Explicit rank, higher is stronger. Never compare tiers by declaration
    /// order: that once made workers defer to *lower* tiers.
    pub fn rank(self) -> u8 {
        match self {
            WorkerTier::HighP => 3,
            WorkerTier::MediumP => 2,
            WorkerTier::LowP => 1,
        }
    }
}

crate::db_enum! {
    /// Status of one execution of a sprint (`sprint_runs.status`).
    pub enum SprintRunStatus {
        /// Created, no job claimed yet.
        Queued => "QUEUED",
        /// A job was claimed.
        Running => "RUNNING",
        /// Waiting for a person (merge conflict) or for quota.
        Paused => "PAUSED",
        /// Every story finished.
        Done => "DONE",
        /// A task failed.
        Failed => "FAILED",
        /// Cancelled by a user, or replaced by a resumed run.
        Cancelled => "CANCELLED",
    }
}

impl SprintRunStatus {
    /// QUEUED, RUNNING or PAUSED: a sprint has at most one such run.
    pub fn is_active(self) -> bool {
        matches!(self, SprintRunStatus::Queued | SprintRunStatus::Running | SprintRunStatus::Paused)
    }
}

crate::db_enum! {
    /// Status of one frozen task inside a batch job (`sprint_task_executions.status`).
    pub enum TaskExecutionStatus {
        /// Not started.
        Pending => "PENDING",
        /// Being implemented.
        Running => "RUNNING",
        /// Implemented and verified.
        Done => "DONE",
        /// Failed.
        Failed => "FAILED",
        /// Nothing to do (empty diff).
        Skipped => "SKIPPED",
    }
}

crate::db_enum! {
    /// Why a sprint run is paused (`sprint_runs.pause_context.pause_reason`).
    pub enum PauseReason {
        /// A story PR could not be merged.
        MergeConflict => "MERGE_CONFLICT",
        /// The worker ran out of subscription quota.
        QuotaDepleted => "QUOTA_DEPLETED",
    }
}

crate::db_enum! {
    /// State of an agent's question to a person (`questions.status`; the
    /// seed's lowercase strings are the API form).
    pub enum QuestionStatus {
        /// Waiting for an answer.
        Open => "OPEN",
        /// Answered.
        Answered => "ANSWERED",
        /// Withdrawn by the asking agent.
        Cancelled => "CANCELLED",
        /// Nobody answered before `expires_at`.
        Expired => "EXPIRED",
        /// Closed by the sprint flow (a resumed run closes its conflict question).
        Closed => "CLOSED",
    }
}

crate::db_enum! {
    /// How a model price is billed (`model_prices.billing_mode`).
    pub enum BillingMode {
        /// Part of a flat subscription.
        Subscription => "SUBSCRIPTION",
        /// Pay per token.
        Api => "API",
    }
}

crate::db_enum! {
    /// The unit a model price is in (`model_prices.billing_unit`).
    pub enum BillingUnit {
        /// Equivalent US dollars for subscription plans.
        UsdProxy => "USD_PROXY",
        /// US dollars.
        Usd => "USD",
        /// Provider credits.
        Credits => "CREDITS",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tier_rank_is_explicit_not_declaration_order() {
        assert!(WorkerTier::HighP.rank() > WorkerTier::MediumP.rank());
        assert!(WorkerTier::MediumP.rank() > WorkerTier::LowP.rank());
        // Declaration order is the opposite, which is the trap `rank` avoids.
        assert!(WorkerTier::HighP < WorkerTier::LowP);
    }

    #[test]
    fn status_helpers() {
        let terminal: Vec<_> = JobStatus::ALL.iter().filter(|s| s.is_terminal()).map(|s| s.as_api()).collect();
        assert_eq!(terminal, ["done", "failed", "cancelled", "skipped"]);
        let active: Vec<_> = SprintRunStatus::ALL.iter().filter(|s| s.is_active()).map(|s| s.as_db()).collect();
        assert_eq!(active, ["QUEUED", "RUNNING", "PAUSED"]);
        assert!(JobKind::IdeaGrill.is_idea_kind() && !JobKind::TaskImplementation.is_idea_kind());
        assert_eq!(QuestionStatus::parse_api("answered"), Some(QuestionStatus::Answered));
        assert_eq!(JobKind::ALL.len(), 14);
    }
}
