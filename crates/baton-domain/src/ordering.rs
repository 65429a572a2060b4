//! Float `sort_order` arithmetic (ADR-0002 of the reference): append after
//! the last sibling, drop between two neighbours at the midpoint, renumber a
//! sibling list only when a gap gets too small to split.

/// Step between items when appending or renumbering.
pub const STEP: f64 = 1.0;

/// Below this gap the list is renumbered before inserting.
pub const MIN_GAP: f64 = 1e-6;

/// Where a moved item goes, given its new neighbours' sort orders.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Slot {
    /// Between two neighbours (or at an end): the new value.
    At(f64),
    /// The neighbours are too close: renumber the siblings first.
    Renumber,
}

/// The sort order for an item placed between `before` (the neighbour that
/// will precede it) and `after` (the one that will follow it). `None` means
/// that side has no neighbour.
pub fn slot_between(before: Option<f64>, after: Option<f64>) -> Slot {
    match (before, after) {
        (None, None) => Slot::At(STEP),
        (Some(b), None) => Slot::At(b + STEP),
        (None, Some(a)) => {
            // Keep values positive-ish but allow going below the first item.
            Slot::At(a - STEP)
        }
        (Some(b), Some(a)) => {
            let mid = (b + a) / 2.0;
            if a - b < MIN_GAP || mid <= b || mid >= a { Slot::Renumber } else { Slot::At(mid) }
        }
    }
}

/// The value appended after the current last sibling.
pub fn after_last(last: Option<f64>) -> f64 {
    last.map_or(STEP, |l| l + STEP)
}

/// Evenly spaced values for `n` items, in order: 1, 2, 3, …
pub fn renumbered(n: usize) -> impl Iterator<Item = f64> {
    (1..=n).map(|i| i as f64 * STEP)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn midpoints_ends_and_renumbering() {
        assert_eq!(slot_between(None, None), Slot::At(1.0));
        assert_eq!(slot_between(Some(3.0), None), Slot::At(4.0));
        assert_eq!(slot_between(None, Some(1.0)), Slot::At(0.0));
        assert_eq!(slot_between(Some(1.0), Some(2.0)), Slot::At(1.5));
        assert_eq!(slot_between(Some(1.0), Some(1.0 + 1e-9)), Slot::Renumber);
        assert_eq!(after_last(None), 1.0);
        assert_eq!(renumbered(3).collect::<Vec<_>>(), [1.0, 2.0, 3.0]);
    }

    #[test]
    fn repeated_halving_eventually_asks_for_renumbering() {
        let (lo, mut hi) = (1.0, 2.0);
        let mut moves = 0;
        while let Slot::At(v) = slot_between(Some(lo), Some(hi)) {
            hi = v;
            moves += 1;
            assert!(moves < 100, "never asked to renumber");
        }
        assert!(moves >= 15, "renumbered too early: after {moves} moves");
    }
}
