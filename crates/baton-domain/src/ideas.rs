//! Idea enums: the idea lifecycle, idea log entries and the owner's own
//! questions on an idea. Values from the agent-backlog reference §2.

crate::db_enum! {
    /// Where an idea is in its life (`ideas.status`).
    pub enum IdeaStatus {
        /// Captured, nothing run yet.
        Draft => "DRAFT",
        /// A grill job is queued or running.
        Grilling => "GRILLING",
        /// The grill job failed.
        GrillFailed => "GRILL_FAILED",
        /// `grill_md` is written.
        Grilled => "GRILLED",
        /// A make-plan job is queued or running.
        Planning => "PLANNING",
        /// Making or parsing the plan failed.
        PlanFailed => "PLAN_FAILED",
        /// `plan_md` parsed; ready to review or materialize.
        PlanReady => "PLAN_READY",
        /// A plan review job is queued or running.
        ReviewingPlan => "REVIEWING_PLAN",
        /// The plan review failed.
        PlanReviewFailed => "PLAN_REVIEW_FAILED",
        /// The plan was reviewed.
        PlanReviewed => "PLAN_REVIEWED",
        /// Materialized into a PBI with stories and tasks.
        Planned => "PLANNED",
        /// A spec is being drafted.
        SpecDrafting => "SPEC_DRAFTING",
        /// A spec is being reviewed.
        SpecReviewing => "SPEC_REVIEWING",
        /// Drafting or reviewing the spec failed.
        SpecFailed => "SPEC_FAILED",
    }
}

crate::db_enum! {
    /// Kind of an idea log entry (`idea_logs.type`).
    pub enum IdeaLogType {
        /// A decision taken while grilling.
        Decision => "DECISION",
        /// A free note.
        Note => "NOTE",
        /// A grill finished.
        GrillResult => "GRILL_RESULT",
        /// A plan was made or materialized.
        PlanResult => "PLAN_RESULT",
        /// A plan review finished.
        PlanReviewResult => "PLAN_REVIEW_RESULT",
        /// The idea's status changed.
        StatusChange => "STATUS_CHANGE",
        /// A job about the idea was queued or failed.
        JobEvent => "JOB_EVENT",
    }
}

crate::db_enum! {
    /// State of a question the owner keeps on an idea (`user_questions.status`;
    /// the seed's lowercase values are the API form).
    pub enum UserQuestionStatus {
        /// Not answered yet.
        Pending => "PENDING",
        /// Answered.
        Answered => "ANSWERED",
    }
}

/// Maximum length of an idea's description, in characters.
pub const IDEA_DESCRIPTION_MAX: usize = 4000;

/// The prefix of an idea's code.
pub const IDEA_CODE_PREFIX: &str = "IDEA-";

/// Formats the `n`th idea code of a user: `IDEA-NNN`, zero-padded to 3.
pub fn idea_code(n: i64) -> String {
    format!("{IDEA_CODE_PREFIX}{n:03}")
}

/// The number in an idea code (`IDEA-007` or `idea-7` → 7), if it is one.
pub fn idea_code_number(code: &str) -> Option<i64> {
    let code = code.trim();
    let head = code.get(..IDEA_CODE_PREFIX.len())?;
    if !head.eq_ignore_ascii_case(IDEA_CODE_PREFIX) {
        return None;
    }
    let digits = &code[IDEA_CODE_PREFIX.len()..];
    if digits.is_empty() || digits.len() > 15 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lowercase_seed_values_are_the_api_form() {
        assert_eq!(UserQuestionStatus::Pending.as_api(), "pending");
        assert_eq!(UserQuestionStatus::parse_api("answered"), Some(UserQuestionStatus::Answered));
        assert_eq!(IdeaStatus::parse_api("plan_ready"), Some(IdeaStatus::PlanReady));
        assert_eq!(IdeaStatus::ALL.len(), 14);
        assert_eq!(IdeaLogType::from_db("JOB_EVENT"), Some(IdeaLogType::JobEvent));
    }

    #[test]
    fn idea_codes_are_zero_padded_and_read_back_in_any_case() {
        assert_eq!(idea_code(1), "IDEA-001");
        assert_eq!(idea_code(1234), "IDEA-1234");
        assert_eq!(idea_code_number("IDEA-007"), Some(7));
        assert_eq!(idea_code_number(" idea-12 "), Some(12));
        for bad in ["IDEA-", "IDEA-1a", "PBI-3", "IDEA-\u{0661}", "ID", "ÉDEA-1"] {
            assert_eq!(idea_code_number(bad), None, "{bad}");
        }
    }
}
