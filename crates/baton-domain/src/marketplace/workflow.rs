//! A marketplace story's workflow (marketplace reference §6.2): the
//! transition table and the one rule that keeps `workflow_status` and the
//! backlog `status` consistent.
