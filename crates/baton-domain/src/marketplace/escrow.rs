//! The escrow state machine (marketplace reference §5.2).
