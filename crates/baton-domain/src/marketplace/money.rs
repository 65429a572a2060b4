//! Amounts and fees (marketplace reference §5.3, §4.3): base-unit integer
//! strings in u128, display units, the flat + bps fee and the expert's share.
