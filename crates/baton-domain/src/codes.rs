//! Human codes per product: `PBI-N`, `ST-NNN` (zero-padded to 3), `T-N`,
//! `SP-N`. Codes never change once given, not even on re-parenting.

/// Which kind of item a code names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeKind {
    /// `PBI-N`
    Pbi,
    /// `ST-NNN`
    Story,
    /// `T-N`
    Task,
    /// `SP-N`
    Sprint,
}

impl CodeKind {
    /// The code prefix including the dash.
    pub fn prefix(self) -> &'static str {
        match self {
            CodeKind::Pbi => "PBI-",
            CodeKind::Story => "ST-",
            CodeKind::Task => "T-",
            CodeKind::Sprint => "SP-",
        }
    }

    /// Formats the `n`th code of this kind.
    pub fn format(self, n: i64) -> String {
        match self {
            CodeKind::Story => format!("ST-{n:03}"),
            other => format!("{}{n}", other.prefix()),
        }
    }

    /// The number in a generated-style code (`ST-042` → 42), if it is one.
    pub fn number(self, code: &str) -> Option<i64> {
        let digits = code.strip_prefix(self.prefix())?;
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) || digits.len() > 15 {
            return None;
        }
        digits.parse().ok()
    }

    /// Which kind a code looks like, if any (used to give hints when a
    /// story code is passed where a task is expected, and vice versa).
    pub fn of(code: &str) -> Option<CodeKind> {
        let upper = code.trim().to_ascii_uppercase();
        [CodeKind::Pbi, CodeKind::Story, CodeKind::Task, CodeKind::Sprint]
            .into_iter()
            .find(|k| k.number(&upper).is_some())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_and_parses_each_kind() {
        assert_eq!(CodeKind::Pbi.format(7), "PBI-7");
        assert_eq!(CodeKind::Story.format(1), "ST-001");
        assert_eq!(CodeKind::Story.format(1427), "ST-1427");
        assert_eq!(CodeKind::Task.format(12), "T-12");
        assert_eq!(CodeKind::Sprint.format(2), "SP-2");
        assert_eq!(CodeKind::Story.number("ST-042"), Some(42));
        assert_eq!(CodeKind::Task.number("T-"), None);
        assert_eq!(CodeKind::Task.number("T-1a"), None);
        assert_eq!(CodeKind::of("st-003"), Some(CodeKind::Story));
        assert_eq!(CodeKind::of("T-9"), Some(CodeKind::Task));
        assert_eq!(CodeKind::of("nonsense"), None);
    }
}
