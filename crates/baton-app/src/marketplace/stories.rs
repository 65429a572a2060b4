//! Marketplace stories: workflow transitions, validation, PRs and QA gates, audit log.
