//! Opportunities and bids (marketplace reference §4): who may post, list,
//! bid, withdraw, accept and reject, and the limits on each.
