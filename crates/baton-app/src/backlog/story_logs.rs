//! Story logs (being written).
