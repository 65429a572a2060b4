//! The backlog: product backlog items, stories, tasks and story logs, with
//! reference resolution (ids or codes) and status propagation.
//!
//! Every write runs in [`crate::txn::in_product_txn`] after the access check,
//! and publishes its events only after the commit.

pub mod refs;
