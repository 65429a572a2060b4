//! BMAD v4 story files (reference §12.1, template `story-template-v2`):
//! title, status, the user story, acceptance criteria, task checkboxes,
//! whether QA Results exist, and the Dev Agent Record's file list.
//!
//! Tolerates CRLF line ends, a byte order mark, `---` rules between
//! sections, headings inside code fences (ignored), a status decorated in
//! any way [`super::status`] accepts, and `**Status:**` lines inside
//! `## QA Results` (never taken for the story's status).

use serde::Serialize;

use super::file_names::StoryNumber;
use super::status::map_status;
use super::{BmadError, checked_text, is_fence, is_rule, strip_markdown};
use crate::marketplace::WorkflowStatus;

/// A parsed story file. Only [`parse_story_file`] makes one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoryFile {
    /// Title from `# Story {e}.{s}: {title}`, else the first H1 as written.
    pub title: Option<String>,
    /// The number in the `# Story {e}.{s}:` heading, if it has one.
    pub title_number: Option<StoryNumber>,
    /// The status as written (first non-empty line after `## Status`, or a
    /// `Status:` line outside QA Results).
    pub status_raw: Option<String>,
    /// [`Self::status_raw`] mapped; `None` when absent or unknown.
    pub status: Option<WorkflowStatus>,
    /// The `## Story` section's text as written (the description).
    pub description: Option<String>,
    /// `**As a** …, **I want** …, **so that** …` read from the Story section.
    pub user_story: UserStory,
    /// The numbered acceptance criteria, in order (bullets when unnumbered).
    pub acceptance_criteria: Vec<String>,
    /// Checkboxes of `## Tasks / Subtasks`, subtasks included.
    pub tasks: TaskCount,
    /// Whether `## QA Results` exists with any content.
    pub has_qa_results: bool,
    /// Paths listed under the Dev Agent Record's `### File List`.
    pub file_list: Vec<String>,
}

impl StoryFile {
    /// The acceptance criteria as one numbered markdown list (for
    /// `stories.acceptance_criteria`); `None` when there are none.
    ///
    /// ```
    /// let s = baton_domain::marketplace::bmad::parse_story_file("## Acceptance Criteria\n1. A\n2. B\n   more\n").unwrap();
    /// assert_eq!(s.acceptance_criteria_markdown().as_deref(), Some("1. A\n2. B\n   more"));
    /// ```
    pub fn acceptance_criteria_markdown(&self) -> Option<String> {
        if self.acceptance_criteria.is_empty() {
            return None;
        }
        let items: Vec<String> = self
            .acceptance_criteria
            .iter()
            .enumerate()
            .map(|(i, ac)| format!("{}. {}", i + 1, ac.replace('\n', "\n   ")))
            .collect();
        Some(items.join("\n"))
    }

    /// A warning when the file states a status the mapper does not know (the
    /// caller leaves the story's status unchanged).
    pub fn status_warning(&self) -> Option<String> {
        match (&self.status_raw, self.status) {
            (Some(raw), None) => Some(format!("unknown status {raw:?}; the story's status is left unchanged")),
            _ => None,
        }
    }
}

/// The three parts of a user story; each `None` when not found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct UserStory {
    /// The role after "As a"/"As an".
    pub as_a: Option<String>,
    /// The action after "I want".
    pub i_want: Option<String>,
    /// The benefit after "so that".
    pub so_that: Option<String>,
}

/// Checked and total checkboxes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct TaskCount {
    /// Checked (`- [x]`).
    pub done: u32,
    /// All (`- [ ]` and `- [x]`).
    pub total: u32,
}

/// One line of the file, and whether it sits inside a code fence.
#[derive(Clone, Copy)]
struct Line<'a> {
    text: &'a str,
    fenced: bool,
}

/// A `##` section: its name (lower case, markdown removed), the value after
/// a colon in the heading (`## Status: Done`), and its lines.
struct Section<'a> {
    name: String,
    heading_value: Option<String>,
    lines: Vec<Line<'a>>,
    /// Part of QA's appended results (see [`split`]).
    qa: bool,
}

impl Section<'_> {
    fn named(&self, prefix: &str) -> bool {
        self.name.starts_with(prefix)
    }

    fn is_qa(&self) -> bool {
        self.qa
    }
}

/// The template's top-level sections (§12.1), by lower-case name prefix.
const KNOWN_SECTIONS: &[&str] =
    &["status", "story", "user story", "acceptance criteria", "tasks", "dev notes", "change log", "dev agent record"];

/// `## QA Results` and its variants (`QA Review`, `QA Notes`): what QA
/// appends, never the story's own status.
fn is_qa_name(name: &str) -> bool {
    name == "qa" || name.starts_with("qa ")
}

fn is_known_name(name: &str) -> bool {
    is_qa_name(name) || KNOWN_SECTIONS.iter().any(|k| name == *k || name.starts_with(&format!("{k} ")))
}

/// A section heading's lower-case name and the value after a colon in it
/// (`## Status: Done` → ("status", "Done")).
fn section_name(t: &str) -> (String, Option<String>) {
    let plain = strip_markdown(t);
    match plain.split_once(':') {
        Some((n, v)) if !v.trim().is_empty() => {
            let value = t.split_once(':').map_or(v, |p| p.1);
            // `## **Status:** Done`: the label's closing emphasis.
            let value = value.strip_prefix("**").filter(|r| r.starts_with(' ')).unwrap_or(value);
            (n.trim().to_lowercase(), Some(value.trim().to_string()))
        }
        _ => (plain.trim_end_matches(':').trim().to_lowercase(), None),
    }
}

/// Parses a story file's text.
///
/// ```
/// use baton_domain::marketplace::{WorkflowStatus, bmad::parse_story_file};
/// let s = parse_story_file("# Story 1.2: Login\r\n\r\n## Status\r\n\r\n**Done** ✅\r\n").unwrap();
/// assert_eq!(s.title.as_deref(), Some("Login"));
/// assert_eq!(s.status, Some(WorkflowStatus::Done));
/// ```
pub fn parse_story_file(text: &str) -> Result<StoryFile, BmadError> {
    let text = checked_text(text)?;
    let (front, text) = front_matter(text);
    let front_value = |key: &str| front.iter().find(|(k, v)| k == key && !v.is_empty()).map(|(_, v)| v.clone());
    let (h1, preamble, sections) = split(text);
    let (title, title_number) = h1.map(read_title).unwrap_or_default();
    let title = title.or_else(|| front_value("title"));
    let status_raw = status_from_section(&sections)
        .or_else(|| front_value("status"))
        .or_else(|| status_from_lines(&preamble, &sections));
    let status = status_raw.as_deref().and_then(map_status);
    let story = sections.iter().find(|s| s.name == "story" || s.name == "user story");
    let description = story.map(|s| body(&s.lines)).filter(|b| !b.is_empty());
    let user_story = description.as_deref().map(read_user_story).unwrap_or_default();
    let acceptance_criteria =
        sections.iter().find(|s| s.named("acceptance criteria")).map(|s| read_list(&s.lines)).unwrap_or_default();
    let tasks = sections.iter().filter(|s| s.name.contains("tasks")).map(|s| count_tasks(&s.lines)).fold(
        TaskCount::default(),
        |a, b| TaskCount { done: a.done.saturating_add(b.done), total: a.total.saturating_add(b.total) },
    );
    let has_qa_results = sections.iter().any(|s| s.is_qa() && !body(&s.lines).is_empty());
    // Under the Dev Agent Record's `### File List`, or a `### File List`
    // section of its own in files whose sections are `###`.
    let file_list = sections
        .iter()
        .find(|s| s.named("dev agent record"))
        .map(|s| read_file_list(&s.lines, false))
        .filter(|l| !l.is_empty())
        .or_else(|| sections.iter().find(|s| s.name == "file list").map(|s| read_file_list(&s.lines, true)))
        .unwrap_or_default();
    Ok(StoryFile {
        title,
        title_number,
        status_raw,
        status,
        description,
        user_story,
        acceptance_criteria,
        tasks,
        has_qa_results,
        file_list,
    })
}

/// Heading level and text of a line (`## Status` → (2, "Status")), outside
/// fences only.
fn heading(line: &str) -> Option<(usize, &str)> {
    let t = line.trim_start();
    let level = t.bytes().take_while(|&b| b == b'#').count();
    if level == 0 || level > 6 || line.len() - t.len() > 3 {
        return None;
    }
    let rest = &t[level..];
    (rest.is_empty() || rest.starts_with([' ', '\t'])).then(|| (level, rest.trim().trim_end_matches('#').trim()))
}

/// YAML-style front matter (`---` … `---` on the first lines, as some
/// repositories add): its `key: value` lines (keys lower-cased, quotes
/// around values removed) and the text after it. Read line by line, not as
/// YAML: only flat scalars (`title`, `status`) are used.
fn front_matter(text: &str) -> (Vec<(String, String)>, &str) {
    let first_end = text.find('\n').unwrap_or(text.len());
    if text[..first_end].trim_end() != "---" {
        return (Vec::new(), text);
    }
    let mut pairs = Vec::new();
    let mut pos = (first_end + 1).min(text.len());
    while pos < text.len() {
        let end = text[pos..].find('\n').map_or(text.len(), |i| pos + i);
        let line = text[pos..end].trim_end_matches('\r');
        if line.trim_end() == "---" || line.trim_end() == "..." {
            return (pairs, &text[(end + 1).min(text.len())..]);
        }
        if let Some((k, v)) = line.split_once(':').filter(|(k, _)| !k.starts_with([' ', '\t', '#', '-'])) {
            pairs.push((k.trim().to_ascii_lowercase(), unquote(v.trim()).to_string()));
        }
        pos = end + 1;
    }
    // Never closed: not front matter.
    (Vec::new(), text)
}

/// `"Done"` / `'Done'` → `Done`.
fn unquote(v: &str) -> &str {
    for q in ['"', '\''] {
        if let Some(inner) = v.strip_prefix(q).and_then(|r| r.strip_suffix(q)) {
            return inner.trim();
        }
    }
    v
}

/// Splits the file into its first H1, the lines before the first section,
/// and the sections.
///
/// Sections start at `##` headings, as the template writes them; in a file
/// that writes more of the template's sections as `###` than as `##` (real
/// repositories do that, sometimes with `## QA Results` among them) they
/// start at `###` and `##`. With `###` sections QA's sub-headings (`### Review
/// Date`, `### Gate Status`) are sections too, so every section after QA
/// Results counts as QA's until one of the template's own names returns.
fn split(text: &str) -> (Option<&str>, Vec<Line<'_>>, Vec<Section<'_>>) {
    let lines: Vec<Line<'_>> = {
        let mut fenced = false;
        let mut out = Vec::new();
        for raw in text.split('\n') {
            let line = raw.strip_suffix('\r').unwrap_or(raw);
            if is_fence(line) {
                fenced = !fenced;
                continue;
            }
            if !fenced && is_rule(line) {
                continue;
            }
            out.push(Line { text: line, fenced });
        }
        out
    };
    // How many of the template's section names appear at a level.
    let known_at = |level: usize| {
        let mut names: Vec<String> = lines
            .iter()
            .filter(|l| !l.fenced)
            .filter_map(|l| heading(l.text).filter(|(n, _)| *n == level))
            .map(|(_, t)| section_name(t).0)
            .filter(|n| is_known_name(n))
            .collect();
        names.sort();
        names.dedup();
        names.len()
    };
    let level = if known_at(3) > known_at(2) { 3 } else { 2 };
    let mut h1 = None;
    let mut preamble = Vec::new();
    let mut sections: Vec<Section<'_>> = Vec::new();
    for l in lines {
        match heading(l.text).filter(|_| !l.fenced) {
            Some((1, t)) => {
                h1.get_or_insert(t);
                continue;
            }
            Some((n, t)) if n <= level => {
                let (name, heading_value) = section_name(t);
                let qa =
                    is_qa_name(&name) || (level == 3 && sections.last().is_some_and(|s| s.qa) && !is_known_name(&name));
                sections.push(Section { name, heading_value, lines: Vec::new(), qa });
                continue;
            }
            _ => {}
        }
        match sections.last_mut() {
            Some(s) => s.lines.push(l),
            None => preamble.push(l),
        }
    }
    (h1, preamble, sections)
}

/// `Story 1.2: Title` → ("Title", 1.2); other H1 texts are the title.
fn read_title(h1: &str) -> (Option<String>, Option<StoryNumber>) {
    let plain = strip_markdown(h1);
    let plain = plain.trim();
    let numbered = plain.get(..6).filter(|p| p.eq_ignore_ascii_case("story ")).and_then(|_| {
        let rest = &plain[6..];
        let end = rest.find([':', ' ', '—', '–']).unwrap_or(rest.len());
        let number = StoryNumber::parse(&rest[..end])?;
        let title = rest[end..].trim_start_matches([':', ' ', '-', '—', '–']).trim();
        Some((title.to_string(), number))
    });
    match numbered {
        Some((title, number)) => ((!title.is_empty()).then_some(title), Some(number)),
        None => ((!plain.is_empty()).then(|| plain.to_string()), None),
    }
}

/// The first non-empty line of the first `## Status` section (or the value
/// in its heading).
fn status_from_section(sections: &[Section<'_>]) -> Option<String> {
    let s = sections.iter().find(|s| s.name == "status")?;
    if let Some(v) = &s.heading_value {
        return Some(v.clone());
    }
    let line = s.lines.iter().map(|l| l.text.trim()).find(|t| !t.is_empty() && !t.starts_with("<!--"))?;
    let line = line.strip_prefix("- ").or_else(|| line.strip_prefix("* ")).unwrap_or(line).trim();
    let value = status_label_value(line).unwrap_or(line);
    (!value.is_empty()).then(|| value.to_string())
}

/// The first `Status: X` / `**Status:** X` line outside QA Results and code
/// fences.
fn status_from_lines(preamble: &[Line<'_>], sections: &[Section<'_>]) -> Option<String> {
    let outside_qa = sections.iter().filter(|s| !s.is_qa()).flat_map(|s| s.lines.iter());
    preamble
        .iter()
        .chain(outside_qa)
        .filter(|l| !l.fenced)
        .find_map(|l| status_label_value(l.text.trim()).filter(|v| !v.is_empty()))
        .map(str::to_string)
}

/// `**Status:** Done`, `Status: Done`, `- **Status**: Done` → `Done` (the
/// value as written, minus the label's closing emphasis).
fn status_label_value(line: &str) -> Option<&str> {
    let t = line.trim_start_matches(['-', '*', '_', '>', ' ']);
    let label = t.get(..6).filter(|l| l.eq_ignore_ascii_case("status"))?;
    let rest = t[label.len()..].trim_start_matches(['*', '_', ' ']);
    let value = rest.strip_prefix(':')?;
    let value = value.strip_prefix("**").or_else(|| value.strip_prefix("__")).unwrap_or(value);
    Some(unquote(value.trim()))
}

/// A section's text without leading/trailing blank lines.
fn body(lines: &[Line<'_>]) -> String {
    lines.iter().map(|l| l.text).collect::<Vec<_>>().join("\n").trim().to_string()
}

/// Finds `needle` (ASCII lower case) at a word start in `hay_lower`, from `from`.
fn find_word(hay_lower: &str, needle: &str, from: usize) -> Option<usize> {
    let mut at = from;
    while let Some(i) = hay_lower.get(at..)?.find(needle) {
        let pos = at + i;
        let before_ok = pos == 0 || !hay_lower.as_bytes()[pos - 1].is_ascii_alphanumeric();
        let end = pos + needle.len();
        let after_ok = end >= hay_lower.len() || !hay_lower.as_bytes()[end].is_ascii_alphanumeric();
        if before_ok && after_ok {
            return Some(pos);
        }
        at = pos + needle.len();
    }
    None
}

/// Reads "As a …, I want …, so that …" from the Story section's text.
fn read_user_story(text: &str) -> UserStory {
    let flat = strip_markdown(&text.split_whitespace().collect::<Vec<_>>().join(" "));
    // ASCII lower-casing keeps byte offsets valid for `flat`.
    let lower = flat.to_ascii_lowercase();
    let as_a =
        find_word(&lower, "as an", 0).map(|p| (p, p + 5)).or_else(|| find_word(&lower, "as a", 0).map(|p| (p, p + 4)));
    let want = find_word(&lower, "i want", as_a.map_or(0, |a| a.1)).map(|p| (p, p + 6));
    let so = find_word(&lower, "so that", want.or(as_a).map_or(0, |a| a.1)).map(|p| (p, p + 7));
    let part = |start: Option<(usize, usize)>, end: Option<usize>| {
        let (_, from) = start?;
        let to = end.filter(|&e| e >= from).unwrap_or(flat.len());
        let s = flat.get(from..to)?.trim().trim_end_matches([',', '.', ';']).trim();
        (!s.is_empty()).then(|| s.to_string())
    };
    UserStory {
        as_a: part(as_a, want.or(so).map(|w| w.0)),
        i_want: part(want, so.map(|s| s.0)),
        so_that: part(so, None),
    }
}

/// `1. text` / `1) text` → `Some("text")`.
fn numbered_item(line: &str) -> Option<&str> {
    let t = line.trim_start();
    let digits = t.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 {
        return None;
    }
    let rest = t[digits..].strip_prefix(['.', ')'])?;
    rest.starts_with([' ', '\t']).then(|| rest.trim())
}

/// `- text` / `* text` / `+ text` at the left margin.
fn bullet_item(line: &str) -> Option<&str> {
    if line.starts_with([' ', '\t']) {
        return None;
    }
    line.strip_prefix("- ").or_else(|| line.strip_prefix("* ")).or_else(|| line.strip_prefix("+ ")).map(str::trim)
}

/// A numbered list (continuation lines kept, joined by line breaks); a
/// bullet list when nothing is numbered.
fn read_list(lines: &[Line<'_>]) -> Vec<String> {
    let collect = |item: &dyn Fn(&str) -> Option<&str>| {
        let mut items: Vec<String> = Vec::new();
        // Whether the last item may still continue: a sub-heading (criteria
        // grouped under `### Functional`) ends it but not the list.
        let mut open = false;
        for l in lines {
            if heading(l.text).is_some() && !l.fenced {
                open = false;
                continue;
            }
            if let Some(t) = item(l.text).filter(|_| !l.fenced) {
                items.push(t.to_string());
                open = true;
            } else if let Some(last) = items.last_mut().filter(|_| open)
                && !l.text.trim().is_empty()
            {
                last.push('\n');
                last.push_str(l.text.trim());
            }
        }
        items
    };
    let numbered = collect(&numbered_item);
    if numbered.is_empty() { collect(&bullet_item) } else { numbered }
}

fn count_tasks(lines: &[Line<'_>]) -> TaskCount {
    let mut count = TaskCount::default();
    for l in lines.iter().filter(|l| !l.fenced) {
        let t = l.text.trim_start();
        // `- [x]`, also `*   [x]` as some editors indent.
        let Some(rest) = t
            .strip_prefix(['-', '*', '+'])
            .filter(|r| r.starts_with([' ', '\t']))
            .and_then(|r| r.trim_start().strip_prefix('['))
        else {
            continue;
        };
        let mut chars = rest.chars();
        let (mark, close) = (chars.next(), chars.next());
        if close != Some(']') {
            continue;
        }
        match mark {
            Some(' ') => count.total = count.total.saturating_add(1),
            Some('x' | 'X') => {
                count.total = count.total.saturating_add(1);
                count.done = count.done.saturating_add(1);
            }
            _ => {}
        }
    }
    count
}

/// Paths of the `### File List` sub-section: backticked text if any, else
/// the item up to a ` - ` or ` (` comment. Label items (`**New:**`) are
/// skipped; duplicates kept once.
fn read_file_list(lines: &[Line<'_>], mut inside: bool) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    // The indent of a `- **File List**:` bullet whose sub-bullets are the
    // files (instead of a `### File List` heading).
    let mut label_indent: Option<usize> = None;
    for l in lines.iter().filter(|l| !l.fenced) {
        if let Some((_, text)) = heading(l.text) {
            inside = strip_markdown(text).trim().trim_end_matches(':').trim().eq_ignore_ascii_case("file list");
            label_indent = None;
            continue;
        }
        let t = l.text.trim_start();
        let indent = l.text.len() - t.len();
        let Some(item) = t.strip_prefix(['-', '*', '+']).filter(|r| r.starts_with([' ', '\t'])).map(str::trim) else {
            continue;
        };
        if label_indent.is_some_and(|i| indent <= i) {
            (inside, label_indent) = (false, None);
        }
        if strip_markdown(item).trim().trim_end_matches(':').trim().eq_ignore_ascii_case("file list") {
            (inside, label_indent) = (true, Some(indent));
            continue;
        }
        if !inside {
            continue;
        }
        let path = match item.split('`').nth(1) {
            Some(code) if item.contains('`') => code.trim(),
            _ => {
                let end = [" - ", " (", " — ", " – "].iter().filter_map(|s| item.find(s)).min().unwrap_or(item.len());
                item[..end].trim().trim_matches('*').trim()
            }
        };
        if path.is_empty() || path.ends_with(':') || out.iter().any(|p| p == path) {
            continue;
        }
        out.push(path.to_string());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status_of(text: &str) -> (Option<String>, Option<WorkflowStatus>) {
        let s = parse_story_file(text).expect("parses");
        (s.status_raw, s.status)
    }

    #[test]
    fn status_is_the_first_non_empty_line_after_the_heading() {
        assert_eq!(
            status_of("# Story 1.1: A\n\n## Status\n\n\nDone\n"),
            (Some("Done".into()), Some(WorkflowStatus::Done))
        );
        assert_eq!(
            status_of("## Status\n---\n**Done** ✅\n"),
            (Some("**Done** ✅".into()), Some(WorkflowStatus::Done))
        );
        assert_eq!(
            status_of("## Status\n- In Progress\n"),
            (Some("In Progress".into()), Some(WorkflowStatus::InProgress))
        );
        assert_eq!(status_of("## Status: Approved\n"), (Some("Approved".into()), Some(WorkflowStatus::Approved)));
        assert_eq!(
            status_of("## **Status**\n\n**Status:** Draft\n"),
            (Some("Draft".into()), Some(WorkflowStatus::Draft))
        );
    }

    #[test]
    fn a_status_line_outside_qa_results_is_used_without_a_status_section() {
        assert_eq!(
            status_of("# Story 1.2: T\n\n**Status:** Review\n\n## Story\nx\n").1,
            Some(WorkflowStatus::ReadyForReview)
        );
        // BMAD v6 template.
        assert_eq!(status_of("# Story 1.2: T\n\nStatus: ready-for-dev\n").1, Some(WorkflowStatus::Approved));
        assert_eq!(status_of("## Story\n- **Status**: Blocked\n").1, Some(WorkflowStatus::Blocked));
    }

    #[test]
    fn status_lines_inside_qa_results_or_code_are_not_the_story_status() {
        let text = "# Story 2.1: T\n\n## Story\nx\n\n## QA Results\n\n### Review\n**Status:** Done\n";
        assert_eq!(status_of(text), (None, None));
        let text = "## Status\n\nInProgress\n\n## QA Results\n**Status:** Done ✅\n";
        assert_eq!(status_of(text).1, Some(WorkflowStatus::InProgress));
        assert_eq!(status_of("```\nStatus: Done\n```\n").0, None);
        assert_eq!(status_of("## Notes\n```md\n## Status\nDone\n```\n").0, None);
    }

    #[test]
    fn an_unknown_status_is_kept_raw_with_a_warning() {
        let s = parse_story_file("## Status\nShipped to prod\n").expect("parses");
        assert_eq!((s.status_raw.as_deref(), s.status), (Some("Shipped to prod"), None));
        assert!(s.status_warning().is_some_and(|w| w.contains("Shipped to prod")));
        assert_eq!(parse_story_file("## Status\nDone\n").expect("parses").status_warning(), None);
    }

    #[test]
    fn titles_with_and_without_the_story_prefix() {
        let s = parse_story_file("# Story 1.11b: Retry queue\n").expect("parses");
        assert_eq!(
            (s.title.as_deref(), s.title_number.map(|n| n.to_string())),
            (Some("Retry queue"), Some("1.11b".into()))
        );
        let s = parse_story_file("# **Story 0.2.1 - Core testing**\n").expect("parses");
        assert_eq!(
            (s.title.as_deref(), s.title_number.map(|n| n.to_string())),
            (Some("Core testing"), Some("0.2.1".into()))
        );
        let s = parse_story_file("intro\n# Calculator engine\n# Second\n").expect("parses");
        assert_eq!((s.title.as_deref(), s.title_number), (Some("Calculator engine"), None));
        assert_eq!(parse_story_file("## Status\nDraft\n").expect("parses").title, None);
    }

    #[test]
    fn user_story_acceptance_criteria_tasks_and_file_list() {
        let text = "## Story\n**As a** client,\n**I want** to log in with GitHub,\n**so that** my projects stay private.\n\n\
                    ## Acceptance Criteria\n1. Login works\n   with OAuth\n2) Logout works\n\n\
                    ## Tasks / Subtasks\n- [x] Task 1 (AC: 1)\n  - [X] sub\n  - [ ] sub 2\n- [ ] Task 2\n* [~] not a box\n\n\
                    ## Dev Agent Record\n### Agent Model Used\nx\n### File List\n**Created:**\n- `src/auth/login.rs` - new\n\
                    - src/auth/mod.rs (modified)\n- `src/auth/login.rs`\n- **Modified:**\n\n## QA Results\n";
        let s = parse_story_file(text).expect("parses");
        assert_eq!(s.user_story.as_a.as_deref(), Some("client"));
        assert_eq!(s.user_story.i_want.as_deref(), Some("to log in with GitHub"));
        assert_eq!(s.user_story.so_that.as_deref(), Some("my projects stay private"));
        assert_eq!(s.acceptance_criteria, ["Login works\nwith OAuth", "Logout works"]);
        assert_eq!(s.tasks, TaskCount { done: 2, total: 4 });
        assert_eq!(s.file_list, ["src/auth/login.rs", "src/auth/mod.rs"]);
        assert!(!s.has_qa_results, "an empty QA Results section does not count");
        assert!(s.description.as_deref().is_some_and(|d| d.starts_with("**As a** client,")));
    }

    #[test]
    fn bulleted_criteria_and_an_as_an_role() {
        let s = parse_story_file(
            "## Story\nAs an admin I want reports so that I can audit.\n## Acceptance Criteria\n- One\n- Two\n  more\n",
        )
        .expect("parses");
        assert_eq!(s.user_story.as_a.as_deref(), Some("admin"));
        assert_eq!(s.user_story.i_want.as_deref(), Some("reports"));
        assert_eq!(s.user_story.so_that.as_deref(), Some("I can audit"));
        assert_eq!(s.acceptance_criteria, ["One", "Two\nmore"]);
    }

    #[test]
    fn grouped_criteria_status_in_a_heading_and_qa_review_variants() {
        let text = "## **Status:** Done\n\n## Acceptance Criteria\n### Functional\n1. A\n2. B\n### Non-functional\nIntro text.\n1. C\n";
        let s = parse_story_file(text).expect("parses");
        assert_eq!((s.status_raw.as_deref(), s.status), (Some("Done"), Some(WorkflowStatus::Done)));
        assert_eq!(s.acceptance_criteria, ["A", "B", "C"], "a sub-heading ends an item, not the list");
        let s = parse_story_file("# Story 1.1: T\n\n## QA Review\n**Status:** Done\n").expect("parses");
        assert_eq!((s.status_raw, s.has_qa_results), (None, true));
    }

    #[test]
    fn front_matter_h3_sections_indented_checkboxes_and_a_file_list_bullet() {
        // The layout of dmisiuk/acousticalc's docs/stories/1.1.story.md.
        let text = "---\nepic: 1\nstory: 1\ntitle: \"Project Setup\"\nstatus: \"Done\"\n---\n\n### Story\n\n\
                    As a project maintainer, I want CI so that builds are checked.\n\n### Acceptance Criteria\n\n\
                    1.  A repository exists.\n2.  CI runs.\n\n### Tasks / Subtasks\n\n1.  **Setup**:\n    *   [x] git init\n\
                    *   [ ] CI\n\n### Dev Agent Record\n\n*   **Agent Model Used**: Gemini\n*   **File List**:\n\
                    \x20   *   `.github/workflows/ci.yml`\n    *   `go.mod`\n*   **Change Log**:\n    *   Created things.\n\n\
                    ## QA Results\n\n### Review Date: 2025-09-21\n\n### Gate Status\n\n**Status:** Done\n";
        let s = parse_story_file(text).expect("parses");
        assert_eq!((s.title.as_deref(), s.status_raw.as_deref()), (Some("Project Setup"), Some("Done")));
        assert_eq!(s.status, Some(WorkflowStatus::Done));
        assert_eq!(s.user_story.as_a.as_deref(), Some("project maintainer"));
        assert_eq!(s.acceptance_criteria, ["A repository exists.", "CI runs."]);
        assert_eq!(s.tasks, TaskCount { done: 1, total: 2 });
        assert_eq!(s.file_list, [".github/workflows/ci.yml", "go.mod"]);
        assert!(s.has_qa_results);
        // Without front matter or a status section, QA's `###` sub-sections
        // after `## QA Results` are still QA's.
        let text = "### Story\nx\n### Acceptance Criteria\n1. A\n## QA Results\n### Gate Status\n**Status:** Done\n";
        assert_eq!(status_of(text), (None, None));
        assert_eq!(status_of("---\nstatus: 'Planning'\n---\n# T\n").1, Some(WorkflowStatus::Draft));
        let unclosed = parse_story_file("---\ntitle: T\n").expect("parses");
        assert_eq!(unclosed.title, None, "an unclosed front matter is no front matter");
    }

    #[test]
    fn crlf_and_rules_between_sections_change_nothing() {
        let lf = "# Story 3.1: T\n\n## Status\n\nDone\n\n---\n\n## Story\n\n**As a** user, **I want** x, **so that** y\n\n---\n\n## Acceptance Criteria\n\n1. A\n2. B\n\n---\n\n## QA Results\n\n### Gate Status\nGate: PASS\n";
        let crlf = lf.replace('\n', "\r\n");
        let (a, b) = (parse_story_file(lf).expect("lf"), parse_story_file(&crlf).expect("crlf"));
        assert_eq!(a, b);
        assert_eq!(a.status, Some(WorkflowStatus::Done));
        assert_eq!(a.acceptance_criteria, ["A", "B"]);
        assert!(a.has_qa_results);
    }

    #[test]
    fn hostile_text_is_refused_or_parsed_never_a_panic() {
        assert_eq!(parse_story_file("a\0b"), Err(BmadError::Nul));
        assert!(parse_story_file(&"#".repeat(super::super::MAX_FILE_BYTES + 1)).is_err());
        for text in [
            "",
            "#",
            "##",
            "## Status",
            "## Status\n",
            "# Story",
            "# Story 1.",
            "- [",
            "Status",
            "**Status:**",
            "## Story\nas a",
        ] {
            assert!(parse_story_file(text).is_ok(), "{text:?}");
        }
    }
}
