//! Ratings of experts by clients (marketplace reference §8): limits and the
//! profile average.

use crate::validation::ValidationErrors;

/// Longest feedback text (the reference's optional 500-character text).
pub const MAX_FEEDBACK_CHARS: usize = 500;

/// Below this many ratings a profile does not name the clients who rated,
/// so a client of a new expert cannot be singled out (§8).
pub const NAMED_CLIENTS_FROM: u64 = 5;

/// Checks a rating's stars (1–5) and feedback, naming the field at fault.
pub fn check_rating(errs: &mut ValidationErrors, rating: i64, feedback: Option<&str>) {
    if !(1..=5).contains(&rating) {
        errs.add("rating", "must be a whole number from 1 to 5");
    }
    if let Some(f) = feedback
        && f.chars().count() > MAX_FEEDBACK_CHARS
    {
        errs.add("feedback", format!("must be at most {MAX_FEEDBACK_CHARS} characters"));
    }
}

/// The average of `count` ratings summing to `sum`, in tenths (4.7 → 47),
/// rounded half up as the reference's "rounded to 1 decimal"; `None`
/// without ratings. Integer arithmetic, so 4.45 never becomes 4.4 through
/// a float.
pub fn average_tenths(sum: u64, count: u64) -> Option<u64> {
    if count == 0 {
        return None;
    }
    Some((sum * 20 + count) / (count * 2))
}

/// [`average_tenths`] as the text a profile shows ("4.7").
pub fn average_text(sum: u64, count: u64) -> Option<String> {
    average_tenths(sum, count).map(|t| format!("{}.{}", t / 10, t % 10))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stars_and_feedback_are_checked_by_field() {
        for ok in 1..=5 {
            let mut e = ValidationErrors::new();
            check_rating(&mut e, ok, Some("fine"));
            assert!(e.into_result().is_ok(), "{ok}");
        }
        let mut e = ValidationErrors::new();
        check_rating(&mut e, 0, Some(&"x".repeat(MAX_FEEDBACK_CHARS + 1)));
        let text = format!("{:?}", e.into_result().expect_err("refused"));
        assert!(text.contains("rating") && text.contains("feedback"), "{text}");
        let mut e = ValidationErrors::new();
        check_rating(&mut e, 6, Some(&"é".repeat(MAX_FEEDBACK_CHARS)));
        let text = format!("{:?}", e.into_result().expect_err("refused"));
        assert!(text.contains("rating") && !text.contains("feedback"), "{text}");
    }

    #[test]
    fn averages_round_half_up_to_one_decimal() {
        assert_eq!(average_text(0, 0), None);
        assert_eq!(average_text(5, 1).as_deref(), Some("5.0"));
        assert_eq!(average_text(9, 2).as_deref(), Some("4.5"));
        // 4.45 → 4.5; 4.44… → 4.4
        assert_eq!(average_text(89, 20).as_deref(), Some("4.5"));
        assert_eq!(average_text(40, 9).as_deref(), Some("4.4"));
        assert_eq!(average_text(7, 3).as_deref(), Some("2.3"));
    }
}
