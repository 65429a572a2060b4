//! Repositories: the hand-written SQL of Baton, as named query functions
//! grouped by area, each returning [`StoreError`](crate::StoreError).
//!
//! Simple reads and writes use SeaORM's query builder in the services; SQL
//! lives here when the builder cannot say it (the queue's claim with
//! `FOR UPDATE SKIP LOCKED`, `UPDATE … RETURNING`, set-based moves of
//! stories and tasks, the sprint board's index-shaped reads). Every
//! statement uses `$N` placeholders, which both backends accept, and
//! takes enum values from the enums' own database strings.

pub mod backlog;
pub mod queue;
pub mod sprints;

/// `$from, $from+1, …` for `n` values.
pub(crate) fn placeholders(from: usize, n: usize) -> String {
    (from..from + n).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ")
}

/// A quoted SQL list of enum database strings (`'A', 'B'`). Only for the
/// `as_db()` constants of Baton's enums (UPPER_SNAKE, no quotes), never for
/// input: input is always bound as a parameter.
pub(crate) fn in_list(values: &[&'static str]) -> String {
    values
        .iter()
        .map(|v| {
            debug_assert!(v.bytes().all(|b| b.is_ascii_uppercase() || b == b'_'), "not an enum constant: {v}");
            format!("'{v}'")
        })
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_count_from_the_given_number() {
        assert_eq!(placeholders(3, 2), "$3, $4");
        assert_eq!(placeholders(1, 0), "");
    }

    #[test]
    fn enum_lists_are_quoted_constants() {
        assert_eq!(in_list(&["QUEUED", "IN_SPRINT"]), "'QUEUED', 'IN_SPRINT'");
    }
}
