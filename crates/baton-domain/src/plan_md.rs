//! The `plan_md` format (agent-backlog reference §7.3): YAML front-matter that
//! describes a PBI with its stories and tasks, followed by free markdown.
//!
//! Parsing is deterministic and total: any input, however hostile, yields a
//! [`Plan`] or a list of [`PlanError`]s quickly, never a panic. The guards
//! against bad input run before the YAML parser sees anything (see
//! [`PLAN_MD_MAX_BYTES`], [`MAX_FLOW_DEPTH`]) or while it runs (an alias
//! expansion budget and [`MAX_NESTING`]).
//!
//! Decisions where §7.3 is silent:
//! - A UTF-8 byte order mark before the opening `---` is skipped: it is an
//!   invisible encoding marker some editors add, and refusing it would show
//!   "expected first line: ---" above a first line that reads `---`.
//! - Anchors and aliases are accepted as long as expanding them adds nothing
//!   beyond the document's own size; a "billion laughs" document is refused
//!   within milliseconds: the expanded content may be at most three times
//!   the document's size, which no alias-free document reaches.
//! - Optional fields given as YAML `null` count as absent; required ones as missing.
//! - Titles and the sprint goal are trimmed; long texts (descriptions,
//!   acceptance criteria, implementation plans) are kept exactly as written.
//! - `verify_required` accepts the values in any case (`ALIGNED` or the API's
//!   `aligned`).
//! - Text holding the NUL character is refused (Postgres cannot store it).

use std::cell::Cell;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, EnumAccess, MapAccess, SeqAccess, VariantAccess, Visitor};
use serde::{Deserialize, Serialize};
use yaml_serde::Value;

use crate::backlog::VerifyRequired;

/// Largest accepted `plan_md` in bytes (256 KB). Larger input is refused
/// before anything is parsed.
pub const PLAN_MD_MAX_BYTES: usize = 256 * 1024;

/// Deepest accepted nesting of YAML flow collections (`[` and `{`). The
/// YAML scanner's work per token grows with this depth, so thousands of
/// nested brackets would take seconds; the schema itself needs none.
pub const MAX_FLOW_DEPTH: usize = 64;

/// Deepest accepted nesting of YAML collections of any style. The schema
/// needs five levels (root → stories → story → tasks → task).
pub const MAX_NESTING: usize = 32;

/// Longest title of the PBI, a story or a task, in characters.
pub const TITLE_MAX: usize = 200;
/// Longest sprint goal, in characters.
pub const GOAL_MAX: usize = 500;
/// Longest description or acceptance criteria, in characters.
pub const TEXT_MAX: usize = 4000;
/// Longest implementation plan of a task, in characters.
pub const IMPLEMENTATION_PLAN_MAX: usize = 8000;

/// A parsed plan: what materialization turns into a PBI, stories and tasks.
/// Only [`parse_plan_md`] makes one (it is serialized for REST and MCP, never
/// deserialized, so no unchecked plan can enter).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Plan {
    /// Goal of the build sprint, when the plan asks for one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sprint: Option<PlanSprint>,
    /// The product backlog item.
    pub pbi: PlanPbi,
    /// Its stories, in plan order (at least one).
    pub stories: Vec<PlanStory>,
    /// The markdown after the front-matter, leading whitespace trimmed.
    /// Free reasoning; not used for materialization.
    pub body: String,
}

/// The optional build sprint of a plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct PlanSprint {
    /// Sprint goal, 1..500 characters.
    pub goal: String,
}

/// The plan's product backlog item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct PlanPbi {
    /// Title, 1..200 characters.
    pub title: String,
    /// Description, at most 4000 characters.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Priority 1 (highest) to 4.
    pub priority: i32,
}

/// A story of a plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct PlanStory {
    /// Title, 1..200 characters.
    pub title: String,
    /// Description, at most 4000 characters.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Acceptance criteria, at most 4000 characters.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub acceptance_criteria: Option<String>,
    /// Priority 1 (highest) to 4.
    pub priority: i32,
    /// Its tasks, in plan order (at least one).
    pub tasks: Vec<PlanTask>,
}

/// A task of a plan story.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct PlanTask {
    /// Title, 1..200 characters.
    pub title: String,
    /// Description, at most 4000 characters.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// How to implement it, 1..8000 characters.
    pub implementation_plan: String,
    /// Priority 1 (highest) to 4 as written in the plan.
    pub priority: i32,
    /// The verify gate's bar, when the plan sets one (materialization
    /// applies the default and the exploration downgrade).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verify_required: Option<VerifyRequired>,
    /// Whether the task only verifies (no code change expected); default false.
    pub verify_only: bool,
}

impl Plan {
    /// Number of tasks over all stories.
    pub fn task_count(&self) -> usize {
        self.stories.iter().map(|s| s.tasks.len()).sum()
    }
}

/// One problem with a `plan_md`, as §7.3 reports it: a YAML syntax error
/// has the document `line` (1-based, counting the front-matter's `---`);
/// a schema violation has the dotted `path` and a message starting with it
/// (`stories.0.tasks.1.implementation_plan: required`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PlanError {
    /// Line in the whole document, when the problem has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    /// Dotted path of the offending field for schema violations (`<root>`
    /// for the document itself).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// What is wrong, in words a person (or agent) can act on.
    pub message: String,
}

impl PlanError {
    fn at_line(line: usize, message: impl Into<String>) -> Self {
        PlanError { line: Some(line), path: None, message: message.into() }
    }
    fn whole(message: impl Into<String>) -> Self {
        PlanError { line: None, path: None, message: message.into() }
    }
    fn schema(path: &str, reason: &str) -> Self {
        let path = if path.is_empty() { "<root>" } else { path };
        PlanError { line: None, path: Some(path.to_string()), message: format!("{path}: {reason}") }
    }
}

impl fmt::Display for PlanError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "line {line}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

/// Every problem found in one `plan_md` (never empty).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema, thiserror::Error)]
#[serde(transparent)]
#[error("{}", self.summary())]
pub struct PlanErrors(pub Vec<PlanError>);

impl PlanErrors {
    fn one(e: PlanError) -> Self {
        PlanErrors(vec![e])
    }
    /// The errors joined by `; `, e.g. for an MCP error text or a log line.
    pub fn summary(&self) -> String {
        self.0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")
    }
}

/// Parses raw bytes as a `plan_md`: the size limit first, then UTF-8 (an
/// invalid sequence is reported with its byte offset and line), then
/// [`parse_plan_md`].
pub fn parse_plan_md_bytes(input: &[u8]) -> Result<Plan, PlanErrors> {
    check_size(input.len())?;
    match std::str::from_utf8(input) {
        Ok(text) => parse_plan_md(text),
        Err(e) => {
            let at = e.valid_up_to();
            let line = line_of(input, at);
            Err(PlanErrors::one(PlanError::at_line(
                line,
                format!("invalid UTF-8 at byte {at} (line {line}); plan_md must be UTF-8 text"),
            )))
        }
    }
}

/// Refuses input that no plan could be, before anything stores it: over
/// [`PLAN_MD_MAX_BYTES`], holding a NUL, flow collections nested deeper
/// than [`MAX_FLOW_DEPTH`], or YAML whose aliases or nesting trip the
/// guards (a "YAML bomb"). A plan with ordinary mistakes (no front-matter,
/// a YAML syntax error, a schema violation) passes: those are kept and shown
/// with their lines so they can be fixed, but hostile input is refused
/// outright so nothing of it is written.
///
/// ```
/// use baton_domain::plan_md::refuse_hostile;
/// assert!(refuse_hostile("---\nstories: [\n---\n").is_ok(), "a syntax error is an ordinary mistake");
/// let bomb = format!("---\na: &a [x, x, x, x, x, x, x, x, x]\n{}---\n",
///     (b'b'..=b'k').map(|c| format!("{0}: &{0} [*{1}, *{1}, *{1}, *{1}, *{1}, *{1}, *{1}, *{1}, *{1}]\n", c as char, (c - 1) as char)).collect::<String>());
/// assert!(refuse_hostile(&bomb).is_err());
/// ```
pub fn refuse_hostile(input: &str) -> Result<(), PlanErrors> {
    check_size_and_nul(input)?;
    let Ok((yaml, _)) = split_front_matter(input) else {
        return Ok(());
    };
    const OFFSET: usize = 1;
    scan_flow_depth(yaml).map_err(|(line, msg)| PlanErrors::one(PlanError::at_line(line + OFFSET, msg)))?;
    match probe(yaml) {
        Err(ProbeError::Tripped(t)) => Err(PlanErrors::one(PlanError::whole(t.message()))),
        _ => Ok(()),
    }
}

/// Parses a `plan_md` document per §7.3.
///
/// ```
/// let plan = baton_domain::plan_md::parse_plan_md(
///     "---\npbi: {title: T, priority: 1}\nstories:\n  - title: S\n    priority: 2\n    tasks:\n      - {title: A, implementation_plan: do it, priority: 3}\n---\nWhy.\n",
/// ).unwrap();
/// assert_eq!(plan.stories[0].tasks[0].title, "A");
/// assert_eq!(plan.body, "Why.\n");
/// ```
pub fn parse_plan_md(input: &str) -> Result<Plan, PlanErrors> {
    check_size_and_nul(input)?;
    let (yaml, body) = split_front_matter(input)?;
    // The YAML text starts on the document's second line.
    const OFFSET: usize = 1;
    scan_flow_depth(yaml).map_err(|(line, msg)| PlanErrors::one(PlanError::at_line(line + OFFSET, msg)))?;
    probe(yaml).map_err(|e| {
        PlanErrors::one(match e {
            ProbeError::Tripped(t) => PlanError::whole(t.message()),
            ProbeError::Yaml(e) => yaml_error(e, OFFSET),
        })
    })?;
    let value: Value = yaml_serde::from_str(yaml).map_err(|e| PlanErrors::one(yaml_error(e, OFFSET)))?;
    let mut errs = Vec::new();
    let plan = read_plan(&value, &mut errs, body.trim_start().to_string());
    match plan {
        Some(plan) if errs.is_empty() => Ok(plan),
        _ => {
            if errs.is_empty() {
                // read_plan returns None only after recording why.
                errs.push(PlanError::schema("", "invalid plan"));
            }
            Err(PlanErrors(errs))
        }
    }
}

/// Writes a plan as `plan_md` (front-matter, then the body), in the form
/// [`parse_plan_md`] reads back to the same plan.
pub fn render_plan_md(plan: &Plan) -> String {
    #[derive(Serialize)]
    struct Front<'a> {
        #[serde(skip_serializing_if = "Option::is_none")]
        sprint: Option<&'a PlanSprint>,
        pbi: &'a PlanPbi,
        stories: &'a [PlanStory],
    }
    let front = Front { sprint: plan.sprint.as_ref(), pbi: &plan.pbi, stories: &plan.stories };
    // Serializing plain structs of strings, integers and booleans to YAML
    // cannot fail; an empty front-matter would be reported by the parser.
    let yaml = yaml_serde::to_string(&front).unwrap_or_default();
    let mut out = String::with_capacity(yaml.len() + plan.body.len() + 16);
    out.push_str("---\n");
    out.push_str(&yaml);
    if !yaml.ends_with('\n') {
        out.push('\n');
    }
    out.push_str("---\n");
    if !plan.body.is_empty() {
        out.push('\n');
        out.push_str(&plan.body);
    }
    out
}

/// The checks every entry point makes first: the size limit, then no NUL
/// (it cannot be stored, and no YAML needs it raw).
fn check_size_and_nul(input: &str) -> Result<(), PlanErrors> {
    check_size(input.len())?;
    if let Some(at) = input.find('\0') {
        let line = line_of(input.as_bytes(), at);
        return Err(PlanErrors::one(PlanError::at_line(
            line,
            "contains the NUL character (\\u0000), which cannot be stored",
        )));
    }
    Ok(())
}

fn check_size(len: usize) -> Result<(), PlanErrors> {
    if len > PLAN_MD_MAX_BYTES {
        return Err(PlanErrors::one(PlanError::whole(format!(
            "plan_md is {len} bytes; the limit is {PLAN_MD_MAX_BYTES} bytes (256 KB)"
        ))));
    }
    Ok(())
}

/// 1-based line of byte offset `at`.
fn line_of(input: &[u8], at: usize) -> usize {
    input[..at.min(input.len())].iter().filter(|&&b| b == b'\n').count() + 1
}

/// Splits `---\n<yaml>\n---\n<body>` (CRLF allowed) into the YAML text and
/// the body. The YAML text keeps its own line breaks so YAML line numbers
/// plus one are document line numbers.
fn split_front_matter(input: &str) -> Result<(&str, &str), PlanErrors> {
    let input = input.strip_prefix('\u{feff}').unwrap_or(input);
    let missing = || {
        PlanErrors::one(PlanError::at_line(1, "plan_md must start with YAML front-matter: expected first line: ---"))
    };
    let rest = input.strip_prefix("---").ok_or_else(missing)?;
    let yaml_start = if let Some(r) = rest.strip_prefix("\r\n") {
        input.len() - r.len()
    } else if let Some(r) = rest.strip_prefix('\n') {
        input.len() - r.len()
    } else {
        return Err(missing());
    };
    let mut pos = yaml_start;
    while pos <= input.len() {
        let line_end = input[pos..].find('\n').map_or(input.len(), |i| pos + i);
        let line = &input[pos..line_end];
        if line.strip_suffix('\r').unwrap_or(line) == "---" {
            let body_start = (line_end + 1).min(input.len());
            return Ok((&input[yaml_start..pos], &input[body_start..]));
        }
        pos = line_end + 1;
    }
    Err(PlanErrors::one(PlanError::at_line(
        1,
        "the front-matter opened on line 1 is never closed: expected a line --- after the YAML",
    )))
}

/// Turns a YAML error into a [`PlanError`] on the document's line: the
/// parser counts lines within the YAML text, which starts `offset` lines
/// into the document.
fn yaml_error(e: yaml_serde::Error, offset: usize) -> PlanError {
    let text = e.to_string();
    let text = shift_line_numbers(&text, offset);
    let text = if text.starts_with("recursion limit exceeded") {
        format!("YAML nested too deeply ({text}); the plan needs at most {MAX_NESTING} levels")
    } else if text.starts_with("repetition limit exceeded") {
        format!("YAML aliases repeat too much content ({text}); write the plan out without anchors and aliases")
    } else {
        format!("invalid YAML: {text}")
    };
    match e.location() {
        Some(loc) => PlanError::at_line(loc.line() + offset, text),
        None => PlanError::whole(text),
    }
}

/// Adds `offset` to every `line N` in a YAML error message.
fn shift_line_numbers(msg: &str, offset: usize) -> String {
    let mut out = String::with_capacity(msg.len() + 8);
    let mut rest = msg;
    while let Some(i) = rest.find("line ") {
        out.push_str(&rest[..i + 5]);
        rest = &rest[i + 5..];
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        match rest[..digits].parse::<usize>() {
            Ok(n) => out.push_str(&(n + offset).to_string()),
            Err(_) => out.push_str(&rest[..digits]),
        }
        rest = &rest[digits..];
    }
    out.push_str(rest);
    out
}

// ---------------------------------------------------------------------------
// Guards that run before or while the YAML parser runs.

/// What the hostile-YAML guards found, for other YAML formats of the domain
/// (the BMAD QA gate parser) that reuse them with their own wording.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum YamlHazard {
    /// Flow collections nest deeper than [`MAX_FLOW_DEPTH`], at this 1-based
    /// line of the YAML text.
    FlowDepth(usize),
    /// Anchors and aliases expand beyond the document's own size.
    Expansion,
    /// Collections nest deeper than [`MAX_NESTING`].
    Nesting,
}

/// Runs the guards of this module (flow depth, alias expansion, nesting) on
/// a YAML text before it is parsed. Syntax errors are not hazards: the real
/// parse reports them.
pub(crate) fn yaml_hazard(yaml: &str) -> Option<YamlHazard> {
    if let Err((line, _)) = scan_flow_depth(yaml) {
        return Some(YamlHazard::FlowDepth(line));
    }
    match probe(yaml) {
        Err(ProbeError::Tripped(Tripped::Expansion)) => Some(YamlHazard::Expansion),
        Err(ProbeError::Tripped(Tripped::Nesting)) => Some(YamlHazard::Nesting),
        _ => None,
    }
}

/// Refuses YAML whose flow collections (`[…]`, `{…}`) nest deeper than
/// [`MAX_FLOW_DEPTH`], before the YAML scanner sees it: its work per token
/// grows with the flow depth (43,000 levels take half a minute).
///
/// A light tokenizer mirroring the YAML scanner's rules: block scalars
/// (`key: |`) and their more-indented lines are text, quoted scalars start
/// only where a node starts, comments start after a blank, a multi-line plain
/// scalar continues on more-indented lines, and in block context `[`/`{`
/// open a collection only where a node starts. Returns the 1-based line
/// within the YAML text and the message.
fn scan_flow_depth(yaml: &str) -> Result<(), (usize, String)> {
    let mut depth = 0usize;
    // The parent column of the block scalar being skipped.
    let mut block_scalar: Option<usize> = None;
    // Inside a quoted scalar (which may span lines).
    let mut quote: Option<u8> = None;
    // Whether the next character may begin a node.
    let mut token_start = true;
    // After a quoted scalar or a flow collection: `:` is an indicator even
    // without a blank after it (JSON-like `{"a":"b"}`).
    let mut json_node = false;
    // Block context: a plain scalar is open and continues on lines indented
    // deeper than this column.
    let mut plain_parent: Option<usize> = None;
    // Column of the `- ` entry indicator just passed on this line.
    let mut dash: Option<usize>;
    for (n, raw) in yaml.split('\n').enumerate() {
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        let bytes = line.as_bytes();
        let indent = bytes.iter().take_while(|&&b| b == b' ').count();
        if let Some(parent) = block_scalar {
            if line.trim().is_empty() || indent > parent {
                continue;
            }
            block_scalar = None;
        }
        if quote.is_none() && depth == 0 && !line.trim().is_empty() {
            // A new line in block context begins a node unless it continues a plain scalar.
            let continues = plain_parent.is_some_and(|p| indent > p);
            if !continues {
                plain_parent = None;
                token_start = true;
                json_node = false;
            }
        }
        dash = None;
        // Computed once per line: a line of many `- ` and many keys would
        // otherwise make this scan quadratic.
        let mut line_parent: Option<usize> = None;
        let mut parent_column = || *line_parent.get_or_insert_with(|| block_parent_column(line, indent));
        let mut i = 0;
        let mut prev_blank = true;
        while i < bytes.len() {
            let b = bytes[i];
            if let Some(q) = quote {
                match b {
                    b'\\' if q == b'"' => i += 1,
                    b'\'' if q == b'\'' && bytes.get(i + 1) == Some(&b'\'') => i += 1,
                    _ if b == q => {
                        quote = None;
                        token_start = false;
                        json_node = true;
                    }
                    _ => {}
                }
                prev_blank = false;
                i += 1;
                continue;
            }
            let next = bytes.get(i + 1).copied();
            let next_blank = matches!(next, None | Some(b' ' | b'\t'));
            match b {
                b' ' | b'\t' => {
                    prev_blank = true;
                    i += 1;
                    continue;
                }
                b'#' if prev_blank => {
                    plain_parent = None;
                    break;
                }
                b'"' | b'\'' if token_start => {
                    quote = Some(b);
                    plain_parent = None;
                }
                // In block context a flow collection starts only where a
                // node starts (`key: [`, `- {`); `a[0]` in a plain scalar is text.
                b'[' | b'{' if depth > 0 || token_start => {
                    depth += 1;
                    if depth > MAX_FLOW_DEPTH {
                        return Err((
                            n + 1,
                            format!(
                                "YAML flow collections ('[' and '{{') nest deeper than {MAX_FLOW_DEPTH} levels; \
                                 write the plan in block style"
                            ),
                        ));
                    }
                    (token_start, json_node, plain_parent) = (true, false, None);
                }
                b']' | b'}' if depth > 0 => {
                    depth -= 1;
                    (token_start, json_node) = (false, true);
                }
                b'|' | b'>' if token_start && depth == 0 && is_block_scalar_header(&bytes[i + 1..]) => {
                    block_scalar = Some(dash.unwrap_or_else(&mut parent_column));
                    plain_parent = None;
                    break;
                }
                b',' if depth > 0 => (token_start, json_node) = (true, false),
                b':' if next_blank
                    || json_node
                    || (depth > 0 && matches!(next, Some(b',' | b'[' | b']' | b'{' | b'}'))) =>
                {
                    (token_start, json_node, plain_parent, dash) = (true, false, None, None);
                }
                b'-' | b'?' if token_start && next_blank => {
                    if b == b'-' {
                        dash = Some(i);
                    }
                }
                b'-' | b'.' if i == 0 && (line.starts_with("---") || line.starts_with("...")) => {
                    // A document marker; a node may follow it.
                    i += 3;
                    prev_blank = false;
                    continue;
                }
                b'!' | b'&' if token_start => {
                    // A tag or anchor: its name is not content; a node follows.
                    while i < bytes.len() && !matches!(bytes[i], b' ' | b'\t') && !(depth > 0 && bytes[i] == b',') {
                        i += 1;
                    }
                    continue;
                }
                _ => {
                    // Plain scalar text (or an alias).
                    if token_start && depth == 0 && plain_parent.is_none() {
                        plain_parent = Some(dash.unwrap_or_else(&mut parent_column));
                    }
                    (token_start, json_node) = (false, false);
                }
            }
            prev_blank = false;
            i += 1;
        }
    }
    Ok(())
}

/// Whether what follows a `|` or `>` makes it a block scalar header:
/// chomping and indentation indicators, then blanks and at most a comment.
/// Looks only at the indicators and blanks, so scanning stays linear.
fn is_block_scalar_header(after: &[u8]) -> bool {
    let indicators = after.iter().take_while(|&&c| c == b'-' || c == b'+' || c.is_ascii_digit()).count();
    let rest = &after[indicators..];
    let blanks = rest.iter().take_while(|&&c| c == b' ' || c == b'\t').count();
    match rest.get(blanks) {
        None => true,
        Some(b'#') => blanks > 0,
        Some(_) => false,
    }
}

/// Column of the node a block scalar header on `line` belongs to: the key
/// after any `- ` entries (`- key: |`), or the last dash (`- |`). Lines
/// indented deeper than it are the scalar's text.
fn block_parent_column(line: &str, indent: usize) -> usize {
    let bytes = line.as_bytes();
    let mut col = indent;
    while bytes.get(col) == Some(&b'-') && bytes.get(col + 1) == Some(&b' ') {
        let next = col + 1 + bytes[col + 1..].iter().take_while(|&&b| b == b' ').count();
        if matches!(bytes.get(next), Some(b'|' | b'>')) {
            return col;
        }
        col = next;
    }
    col
}

/// Which guard of [`probe`] stopped the walk.
#[derive(Debug, Clone, Copy)]
enum Tripped {
    Expansion,
    Nesting,
}

impl Tripped {
    fn message(self) -> String {
        match self {
            Tripped::Expansion => "YAML anchors and aliases expand to more than the document's own size \
                                   (a \"YAML bomb\"); write the plan out without anchors (&name) and aliases (*name)"
                .to_string(),
            Tripped::Nesting => {
                format!("YAML nested deeper than {MAX_NESTING} levels; the plan needs at most 5")
            }
        }
    }
}

/// Why [`probe`] refused a document.
enum ProbeError {
    /// One of its own limits.
    Tripped(Tripped),
    /// The YAML parser's error (syntax, duplicate key, …).
    Yaml(yaml_serde::Error),
}

/// Walks the whole YAML document once without building anything, following
/// aliases as the real parse will, and stops when the content met exceeds a
/// budget of three times the document's size (an alias-free document can
/// never exceed it: a node costs one unit and a scalar its bytes, and no
/// escape sequence decodes to more than 1.5 times its own length) or nests
/// deeper than [`MAX_NESTING`]. This is what makes a "billion laughs"
/// document fail fast instead of exhausting memory.
fn probe(yaml: &str) -> Result<(), ProbeError> {
    let budget = Cell::new(yaml.len().saturating_mul(3).saturating_add(64));
    let tripped = Cell::new(None);
    let seed = Probe { budget: &budget, tripped: &tripped, depth: 0 };
    let result = seed.deserialize(yaml_serde::Deserializer::from_str(yaml));
    match (result, tripped.get()) {
        (Ok(()), _) => Ok(()),
        (Err(_), Some(t)) => Err(ProbeError::Tripped(t)),
        (Err(e), None) => Err(ProbeError::Yaml(e)),
    }
}

#[derive(Clone, Copy)]
struct Probe<'a> {
    budget: &'a Cell<usize>,
    tripped: &'a Cell<Option<Tripped>>,
    depth: usize,
}

impl Probe<'_> {
    fn charge<E: de::Error>(&self, units: usize) -> Result<(), E> {
        match self.budget.get().checked_sub(units.saturating_add(1)) {
            Some(left) => {
                self.budget.set(left);
                Ok(())
            }
            None => {
                self.tripped.set(Some(Tripped::Expansion));
                Err(E::custom("expansion budget exceeded"))
            }
        }
    }
    fn deeper<E: de::Error>(self) -> Result<Self, E> {
        if self.depth >= MAX_NESTING {
            self.tripped.set(Some(Tripped::Nesting));
            return Err(E::custom("nesting limit exceeded"));
        }
        self.charge::<E>(0)?;
        Ok(Probe { depth: self.depth + 1, ..self })
    }
}

impl<'de> DeserializeSeed<'de> for Probe<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Probe<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        self.charge(0)
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        self.charge(0)
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        self.charge(0)
    }
    fn visit_i128<E: de::Error>(self, _: i128) -> Result<(), E> {
        self.charge(0)
    }
    fn visit_u128<E: de::Error>(self, _: u128) -> Result<(), E> {
        self.charge(0)
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        self.charge(0)
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<(), E> {
        self.charge(v.len())
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.charge(0)
    }
    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        self.charge(0)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        self.deeper()?.deserialize(d)
    }
    fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        self.deeper()?.deserialize(d)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let inner = self.deeper()?;
        while seq.next_element_seed(inner)?.is_some() {}
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let inner = self.deeper()?;
        while map.next_key_seed(inner)?.is_some() {
            map.next_value_seed(inner)?;
        }
        Ok(())
    }
    fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<(), A::Error> {
        let inner = self.deeper()?;
        let ((), variant) = data.variant_seed(inner)?;
        variant.newtype_variant_seed(inner)
    }
}

// ---------------------------------------------------------------------------
// Schema: reads the YAML value into a Plan, collecting every violation.

fn untag(v: &Value) -> &Value {
    let mut v = v;
    while let Value::Tagged(t) = v {
        v = &t.value;
    }
    v
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() { key.to_string() } else { format!("{path}.{key}") }
}

/// A present, non-null field of a mapping.
fn field<'v>(map: &'v yaml_serde::Mapping, key: &str) -> Option<&'v Value> {
    map.get(key).map(untag).filter(|v| !v.is_null())
}

fn mapping<'v>(v: &'v Value, path: &str, errs: &mut Vec<PlanError>) -> Option<&'v yaml_serde::Mapping> {
    match untag(v) {
        Value::Mapping(m) => Some(m),
        _ => {
            errs.push(PlanError::schema(path, "must be a mapping"));
            None
        }
    }
}

fn required<'v>(
    map: &'v yaml_serde::Mapping,
    path: &str,
    key: &str,
    errs: &mut Vec<PlanError>,
) -> Option<(&'v Value, String)> {
    let p = join(path, key);
    match field(map, key) {
        Some(v) => Some((v, p)),
        None => {
            errs.push(PlanError::schema(&p, "required"));
            None
        }
    }
}

/// A string of `min..=max` characters (counted after trimming for `min`).
fn text(v: &Value, path: &str, min: usize, max: usize, trim: bool, errs: &mut Vec<PlanError>) -> Option<String> {
    let Value::String(s) = v else {
        errs.push(PlanError::schema(path, "must be a string"));
        return None;
    };
    let s = if trim { s.trim() } else { s.as_str() };
    let len = s.chars().count();
    if s.contains('\0') {
        errs.push(PlanError::schema(path, crate::validation::NUL_MESSAGE));
        None
    } else if s.trim().is_empty() && min > 0 {
        errs.push(PlanError::schema(path, "must not be empty"));
        None
    } else if len > max {
        errs.push(PlanError::schema(path, &format!("must be at most {max} characters (has {len})")));
        None
    } else {
        Some(s.to_string())
    }
}

fn required_text(
    map: &yaml_serde::Mapping,
    path: &str,
    key: &str,
    max: usize,
    trim: bool,
    errs: &mut Vec<PlanError>,
) -> Option<String> {
    let (v, p) = required(map, path, key, errs)?;
    text(v, &p, 1, max, trim, errs)
}

/// `Ok(None)` when absent; `Err(())` when present and invalid (recorded).
fn optional_text(
    map: &yaml_serde::Mapping,
    path: &str,
    key: &str,
    max: usize,
    errs: &mut Vec<PlanError>,
) -> Result<Option<String>, ()> {
    match field(map, key) {
        None => Ok(None),
        Some(v) => text(v, &join(path, key), 0, max, false, errs).map(Some).ok_or(()),
    }
}

fn priority(map: &yaml_serde::Mapping, path: &str, errs: &mut Vec<PlanError>) -> Option<i32> {
    let (v, p) = required(map, path, "priority", errs)?;
    match v.as_i64() {
        Some(n @ 1..=4) => i32::try_from(n).ok(),
        _ => {
            errs.push(PlanError::schema(&p, "must be an integer from 1 to 4"));
            None
        }
    }
}

fn list<'v>(
    map: &'v yaml_serde::Mapping,
    path: &str,
    key: &str,
    errs: &mut Vec<PlanError>,
) -> Option<(&'v [Value], String)> {
    let (v, p) = required(map, path, key, errs)?;
    match v {
        Value::Sequence(items) if items.is_empty() => {
            errs.push(PlanError::schema(&p, "must have at least 1 item"));
            None
        }
        Value::Sequence(items) => Some((items.as_slice(), p)),
        _ => {
            errs.push(PlanError::schema(&p, "must be a list"));
            None
        }
    }
}

/// Reads every item of a list, so each item's problems are reported even
/// after an earlier one failed; `None` if any failed.
fn each<T>(
    items: &[Value],
    path: &str,
    errs: &mut Vec<PlanError>,
    read: fn(&Value, &str, &mut Vec<PlanError>) -> Option<T>,
) -> Option<Vec<T>> {
    let read: Vec<Option<T>> =
        items.iter().enumerate().map(|(i, v)| read(v, &join(path, &i.to_string()), errs)).collect();
    read.into_iter().collect()
}

fn read_plan(root: &Value, errs: &mut Vec<PlanError>, body: String) -> Option<Plan> {
    let Value::Mapping(map) = untag(root) else {
        errs.push(PlanError::schema("", "must be a mapping with pbi and stories"));
        return None;
    };
    let sprint = match field(map, "sprint") {
        None => Ok(None),
        Some(v) => match mapping(v, "sprint", errs) {
            Some(m) => {
                required_text(m, "sprint", "goal", GOAL_MAX, true, errs).map(|goal| Some(PlanSprint { goal })).ok_or(())
            }
            None => Err(()),
        },
    };
    let pbi = required(map, "", "pbi", errs).and_then(|(v, p)| {
        let m = mapping(v, &p, errs)?;
        let title = required_text(m, &p, "title", TITLE_MAX, true, errs);
        let description = optional_text(m, &p, "description", TEXT_MAX, errs);
        let priority = priority(m, &p, errs);
        Some(PlanPbi { title: title?, description: description.ok()?, priority: priority? })
    });
    let stories = list(map, "", "stories", errs).and_then(|(items, p)| each(items, &p, errs, read_story));
    Some(Plan { sprint: sprint.ok()?, pbi: pbi?, stories: stories?, body })
}

fn read_story(v: &Value, path: &str, errs: &mut Vec<PlanError>) -> Option<PlanStory> {
    let m = mapping(v, path, errs)?;
    let title = required_text(m, path, "title", TITLE_MAX, true, errs);
    let description = optional_text(m, path, "description", TEXT_MAX, errs);
    let acceptance_criteria = optional_text(m, path, "acceptance_criteria", TEXT_MAX, errs);
    let priority = priority(m, path, errs);
    let tasks = list(m, path, "tasks", errs).and_then(|(items, p)| each(items, &p, errs, read_task));
    Some(PlanStory {
        title: title?,
        description: description.ok()?,
        acceptance_criteria: acceptance_criteria.ok()?,
        priority: priority?,
        tasks: tasks?,
    })
}

fn read_task(v: &Value, path: &str, errs: &mut Vec<PlanError>) -> Option<PlanTask> {
    let m = mapping(v, path, errs)?;
    let title = required_text(m, path, "title", TITLE_MAX, true, errs);
    let description = optional_text(m, path, "description", TEXT_MAX, errs);
    let implementation_plan = required_text(m, path, "implementation_plan", IMPLEMENTATION_PLAN_MAX, false, errs);
    let priority = priority(m, path, errs);
    let verify_required = match field(m, "verify_required") {
        None => Ok(None),
        Some(v) => match v.as_str().and_then(VerifyRequired::parse_api) {
            Some(r) => Ok(Some(r)),
            None => {
                errs.push(PlanError::schema(
                    &join(path, "verify_required"),
                    "must be one of ALIGNED, ALIGNED_OR_PARTIAL, ANY",
                ));
                Err(())
            }
        },
    };
    let verify_only = match field(m, "verify_only") {
        None => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(_) => {
            errs.push(PlanError::schema(&join(path, "verify_only"), "must be true or false"));
            Err(())
        }
    };
    Some(PlanTask {
        title: title?,
        description: description.ok()?,
        implementation_plan: implementation_plan?,
        priority: priority?,
        verify_required: verify_required.ok()?,
        verify_only: verify_only.ok()?,
    })
}
