//! The event bus.
