//! Escrows: created on acceptance, funded, released, refunded.
