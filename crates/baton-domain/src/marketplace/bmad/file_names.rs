//! BMAD file names → story numbers (reference §12.1–§12.3): story files
//! `{epic}.{story}.{slug}.md`, `{epic}.{story}.story.md`,
//! `{epic}.{story}.{slug}.story.md`; gates `{epic}.{story}-{slug}.yml`
//! (`.yaml`, `.md`); validation reports `story-{epic}.{story}-validation.md`
//! and `{epic}.{story}-validation.md`.

use std::cmp::Ordering;
use std::fmt;

use super::BmadError;

/// Longest story part of a number (`11b`, `2B1`, `2.1`), in characters.
const STORY_PART_MAX: usize = 16;
/// Most digits of an epic number (it must fit the `i32` column).
const EPIC_DIGITS_MAX: usize = 9;

/// A story's number: the epic and the story within it, e.g. `3.1`, `1.11b`,
/// `2.2B1`, or `0.2.1` (epic 0, story `2.1`). Ordered naturally: `1.2` <
/// `1.10` < `2.1`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize)]
pub struct StoryNumber {
    /// The epic number (`stories.epic_number`).
    pub epic: i32,
    /// The story part as written (`stories.story_number`): digits, then
    /// letters or digits, optionally `.digits` for a sub-story.
    pub story: String,
}

impl StoryNumber {
    /// Parses `epic.story` exactly (`"1.2"`, `"1.11b"`, `"0.2.1"`); `None`
    /// for anything else.
    ///
    /// ```
    /// use baton_domain::marketplace::bmad::StoryNumber;
    /// assert_eq!(StoryNumber::parse("0.2.1").map(|n| n.story), Some("2.1".to_string()));
    /// assert!(StoryNumber::parse("1.x").is_none());
    /// ```
    pub fn parse(s: &str) -> Option<Self> {
        match leading_number(s.trim(), &['.'])? {
            (n, "") => Some(n),
            _ => None,
        }
    }

    /// The natural sort key of the story part: runs of digits compare as
    /// numbers, other runs as text.
    fn key(&self) -> Vec<(u8, u64, &str)> {
        let mut out = Vec::new();
        let s = self.story.as_str();
        let mut start = 0;
        let bytes = s.as_bytes();
        while start < bytes.len() {
            let digit = bytes[start].is_ascii_digit();
            let len = bytes[start..].iter().take_while(|b| b.is_ascii_digit() == digit).count();
            let run = &s[start..start + len];
            out.push(if digit { (0, run.parse().unwrap_or(u64::MAX), "") } else { (1, 0, run) });
            start += len;
        }
        out
    }
}

impl fmt::Display for StoryNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.epic, self.story)
    }
}

impl Ord for StoryNumber {
    fn cmp(&self, other: &Self) -> Ordering {
        self.epic.cmp(&other.epic).then_with(|| self.key().cmp(&other.key())).then_with(|| self.story.cmp(&other.story))
    }
}

impl PartialOrd for StoryNumber {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Reads a story number at the start of `s`: `digits '.' digit[alnum]*`,
/// then optionally `'.' digits` (a sub-story) when what follows is the end
/// or one of `ends`. Returns the number and the rest after it (starting at
/// the end character, if any).
fn leading_number<'a>(s: &'a str, ends: &[char]) -> Option<(StoryNumber, &'a str)> {
    let epic_len = s.bytes().take_while(u8::is_ascii_digit).count();
    if epic_len == 0 || epic_len > EPIC_DIGITS_MAX {
        return None;
    }
    let epic: i32 = s[..epic_len].parse().ok()?;
    let rest = s[epic_len..].strip_prefix('.')?;
    if !rest.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    let story_len = rest.bytes().take_while(u8::is_ascii_alphanumeric).count();
    let mut story_end = story_len;
    let after = &rest[story_len..];
    // `0.2.1…`: a purely numeric third part is a sub-story when the story
    // part is numeric too and the sub-number is followed by an end.
    if let Some(sub) = after.strip_prefix('.') {
        let sub_len = sub.bytes().take_while(u8::is_ascii_digit).count();
        let sub_end = &sub[sub_len..];
        let numeric_story = rest[..story_len].bytes().all(|b| b.is_ascii_digit());
        if numeric_story && sub_len > 0 && (sub_end.is_empty() || sub_end.starts_with(ends)) {
            story_end = story_len + 1 + sub_len;
        }
    }
    let story = &rest[..story_end];
    let tail = &rest[story_end..];
    if story.len() > STORY_PART_MAX || !(tail.is_empty() || tail.starts_with(ends)) {
        return None;
    }
    Some((StoryNumber { epic, story: story.to_string() }, tail))
}

/// The last path component (`/` or `\` separated).
pub fn base_name(path: &str) -> &str {
    path.rsplit(['/', '\\']).next().unwrap_or(path)
}

/// A story file's name → its number and slug (`None` for
/// `{e}.{s}.story.md` and `{e}.{s}.md`).
///
/// ```
/// use baton_domain::marketplace::bmad::file_names::story_file_name;
/// let (n, slug) = story_file_name("1.3.user-auth.story.md").unwrap();
/// assert_eq!((n.to_string(), slug.as_deref()), ("1.3".to_string(), Some("user-auth")));
/// ```
pub fn story_file_name(name: &str) -> Result<(StoryNumber, Option<String>), BmadError> {
    const EXPECTED: &str = "{epic}.{story}.{slug}.md, {epic}.{story}.story.md or {epic}.{story}.{slug}.story.md";
    let unknown = || BmadError::UnknownName { name: name.to_string(), expected: EXPECTED };
    let stem = strip_suffix_ci(base_name(name), ".md").ok_or_else(unknown)?;
    let (number, rest) = leading_number(stem, &['.']).ok_or_else(unknown)?;
    let rest = rest.strip_prefix('.').unwrap_or(rest);
    let slug = strip_suffix_ci(rest, ".story").unwrap_or(rest);
    let slug = if slug.eq_ignore_ascii_case("story") { "" } else { slug };
    Ok((number, (!slug.is_empty()).then(|| slug.to_string())))
}

/// A QA gate file's name → number and slug: `{epic}.{story}-{slug}.yml`,
/// `.yaml` or `.md` (also without a slug).
pub fn gate_file_name(name: &str) -> Result<(StoryNumber, Option<String>), BmadError> {
    const EXPECTED: &str = "{epic}.{story}-{slug}.yml (or .yaml, .md)";
    let unknown = || BmadError::UnknownName { name: name.to_string(), expected: EXPECTED };
    let base = base_name(name);
    let stem = [".yml", ".yaml", ".md"].iter().find_map(|ext| strip_suffix_ci(base, ext)).ok_or_else(unknown)?;
    let (number, rest) = leading_number(stem, &['-']).ok_or_else(unknown)?;
    let slug = rest.strip_prefix('-').unwrap_or(rest);
    Ok((number, (!slug.is_empty()).then(|| slug.to_string())))
}

/// A validate-next-story report's name → number: `story-1.2-validation.md`
/// or `1.2-validation.md`, optionally with a suffix after `-validation`
/// (`1.2-validation-20250922.md`).
pub fn validation_report_name(name: &str) -> Result<StoryNumber, BmadError> {
    const EXPECTED: &str = "story-{epic}.{story}-validation.md or {epic}.{story}-validation.md";
    let unknown = || BmadError::UnknownName { name: name.to_string(), expected: EXPECTED };
    let stem = strip_suffix_ci(base_name(name), ".md").ok_or_else(unknown)?;
    let stem = strip_prefix_ci(stem, "story-").unwrap_or(stem);
    let (number, rest) = leading_number(stem, &['-']).ok_or_else(unknown)?;
    let tail = strip_prefix_ci(rest, "-validation").ok_or_else(unknown)?;
    if tail.is_empty() || tail.starts_with(['-', '.', '_']) { Ok(number) } else { Err(unknown()) }
}

/// A gate file's slug from a story title (§12.2): lower case, spaces to
/// hyphens, punctuation removed (`"User Auth - Login!"` → `user-auth-login`).
///
/// ```
/// use baton_domain::marketplace::bmad::file_names::slug;
/// assert_eq!(slug("User Auth - Login!"), "user-auth-login");
/// ```
pub fn slug(title: &str) -> String {
    let mut out = String::new();
    for c in title.chars().flat_map(char::to_lowercase) {
        if c.is_alphanumeric() {
            out.push(c);
        } else if (c.is_whitespace() || c == '-' || c == '_') && !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_end_matches('-').to_string()
}

/// Where BMAD writes a story's gate: `docs/qa/gates/{epic}.{story}-{slug}.yml`
/// (§12.2); `docs/qa/gates/{epic}.{story}.yml` when the title has no letters
/// or digits.
pub fn gate_path(number: &StoryNumber, title: &str) -> String {
    match slug(title) {
        s if s.is_empty() => format!("docs/qa/gates/{number}.yml"),
        s => format!("docs/qa/gates/{number}-{s}.yml"),
    }
}

fn strip_suffix_ci<'a>(s: &'a str, suffix: &str) -> Option<&'a str> {
    let cut = s.len().checked_sub(suffix.len())?;
    (s.is_char_boundary(cut) && s[cut..].eq_ignore_ascii_case(suffix)).then(|| &s[..cut])
}

fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    (s.is_char_boundary(prefix.len().min(s.len()))
        && s.len() >= prefix.len()
        && s[..prefix.len()].eq_ignore_ascii_case(prefix))
    .then(|| &s[prefix.len()..])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(epic: i32, story: &str) -> StoryNumber {
        StoryNumber { epic, story: story.to_string() }
    }

    #[test]
    fn story_file_names_of_the_template_the_tasks_and_real_repositories() {
        let cases: &[(&str, StoryNumber, Option<&str>)] = &[
            ("1.3.user-auth.md", n(1, "3"), Some("user-auth")),
            ("1.3.story.md", n(1, "3"), None),
            ("2.1.login-form.story.md", n(2, "1"), Some("login-form")),
            ("1.11b.retry-queue.md", n(1, "11b"), Some("retry-queue")),
            ("2.2B1.split.story.md", n(2, "2B1"), Some("split")),
            ("0.2.1.story.md", n(0, "2.1"), None),
            ("0.2.story.md", n(0, "2"), None),
            ("docs/stories/10.4.md", n(10, "4"), None),
            ("3.2.v1.5-migration.md", n(3, "2"), Some("v1.5-migration")),
            ("1.2.3fa-login.md", n(1, "2"), Some("3fa-login")),
            ("1.3.User-Auth.STORY.MD", n(1, "3"), Some("User-Auth")),
        ];
        for (name, number, slug) in cases {
            let got = story_file_name(name).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!((&got.0, got.1.as_deref()), (number, *slug), "{name}");
        }
    }

    #[test]
    fn unknown_story_file_names_are_refused_with_the_patterns() {
        for name in [
            "README.md",
            "0.2-comprehensive-implementation-plan.md",
            "1.3.user-auth.txt",
            "story-1.3.md",
            "1.md",
            "a.1.md",
            "1.x.md",
            "9999999999.1.md",
            "1.12345678901234567.md",
            ".md",
        ] {
            let err = story_file_name(name).expect_err(name);
            assert!(err.to_string().contains("{epic}.{story}"), "{name}: {err}");
        }
    }

    #[test]
    fn gate_file_names() {
        assert_eq!(gate_file_name("docs/qa/gates/1.3-user-auth.yml"), Ok((n(1, "3"), Some("user-auth".into()))));
        assert_eq!(gate_file_name("0.1-bmad-github.yaml"), Ok((n(0, "1"), Some("bmad-github".into()))));
        assert_eq!(gate_file_name("1.2-calculator-engine.md"), Ok((n(1, "2"), Some("calculator-engine".into()))));
        assert_eq!(gate_file_name("0.2.1-core-testing.yml"), Ok((n(0, "2.1"), Some("core-testing".into()))));
        assert_eq!(gate_file_name("1.11b.yml"), Ok((n(1, "11b"), None)));
        for bad in ["gate.yml", "1.3-user-auth.json", "1.3_user.yml", "13-x.yml"] {
            assert!(matches!(gate_file_name(bad), Err(BmadError::UnknownName { .. })), "{bad}");
        }
    }

    #[test]
    fn slugs_and_gate_paths_round_trip_through_the_gate_name_parser() {
        assert_eq!(slug("User Auth - Login!"), "user-auth-login");
        assert_eq!(slug("  Ünïcode   Café__x  "), "ünïcode-café-x");
        assert_eq!(slug("!!!"), "");
        let path = gate_path(&n(1, "3"), "User Auth - Login!");
        assert_eq!(path, "docs/qa/gates/1.3-user-auth-login.yml");
        assert_eq!(gate_file_name(&path), Ok((n(1, "3"), Some("user-auth-login".into()))));
        assert_eq!(gate_path(&n(0, "2.1"), "?"), "docs/qa/gates/0.2.1.yml");
    }

    #[test]
    fn validation_report_names() {
        assert_eq!(validation_report_name("story-1.2-validation.md"), Ok(n(1, "2")));
        assert_eq!(validation_report_name("1.2-validation.md"), Ok(n(1, "2")));
        assert_eq!(validation_report_name("Story-3.11b-Validation.md"), Ok(n(3, "11b")));
        assert_eq!(validation_report_name("0.2.1-validation-20250924.md"), Ok(n(0, "2.1")));
        for bad in ["1.2-validations.md", "1.2.md", "story-1.2-validation.yml", "validation-1.2.md"] {
            assert!(validation_report_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn numbers_parse_display_and_sort_naturally() {
        assert_eq!(StoryNumber::parse("1.2"), Some(n(1, "2")));
        assert_eq!(StoryNumber::parse(" 0.2.1 "), Some(n(0, "2.1")));
        assert_eq!(StoryNumber::parse("1.2 - Title"), None);
        assert_eq!(n(0, "2.1").to_string(), "0.2.1");
        let mut v = [n(2, "1"), n(1, "10"), n(1, "2"), n(1, "2b"), n(1, "11b"), n(0, "2.1"), n(1, "2.1")];
        v.sort();
        let shown: Vec<_> = v.iter().map(ToString::to_string).collect();
        assert_eq!(shown, ["0.2.1", "1.2", "1.2.1", "1.2b", "1.10", "1.11b", "2.1"]);
    }
}
