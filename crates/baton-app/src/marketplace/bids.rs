//! Bids: submit, withdraw, reject, accept (one transaction).
