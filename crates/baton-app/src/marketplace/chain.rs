//! Verifying escrow transactions on chain: one `ChainVerifier` trait, one implementation per chain.
