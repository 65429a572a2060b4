//! Opportunities: posted by clients (planning) or the platform (stories), listed for experts.
