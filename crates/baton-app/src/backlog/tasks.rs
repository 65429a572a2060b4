//! Tasks (being written).
