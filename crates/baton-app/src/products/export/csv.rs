//! The flat CSV form of an export, both ways.
//!
//! One row per item, with a `type` column and the codes of its parents;
//! each type fills only its own columns (a value in a column its type does
//! not use is refused, never dropped). Reading checks what only the CSV
//! form can get wrong — cells that do not parse, unknown columns, parents
//! that are not in the file — and hands the document to the JSON import,
//! whose errors are then renamed to the row and column they came from.

use std::collections::HashMap;

use ::csv::{ErrorKind, ReaderBuilder, StringRecord, Terminator, WriterBuilder};
use baton_domain::{
    ValidationErrors,
    backlog::{PbiStatus, PrStrategy, SprintStatus, StoryLogType, StoryStatus, TaskStatus, TestStatus, VerifyRequired},
    validation::NUL_MESSAGE,
};
use chrono::{DateTime, NaiveDate, Utc};
use serde_json::Value;

use super::{
    BacklogExport, EXPORT_FORMAT, EXPORT_VERSION, ExportLog, ExportPbi, ExportProduct, ExportSprint, ExportStory,
    ExportTask, ImportResult,
    formats::{default_strategy, default_verify, yes},
    import::may_import,
};
use crate::{Actor, App, AppError, AppResult};

/// Declares the columns once: the enum the code uses and the names in the file.
macro_rules! columns {
    ($($variant:ident => $name:literal),+ $(,)?) => {
        /// One column of the CSV form; its number is its position.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        enum Col { $($variant),+ }

        impl Col {
            /// Every column, in file order.
            const ALL: &'static [Col] = &[$(Col::$variant),+];

            /// The column's name in the header.
            fn name(self) -> &'static str {
                match self { $(Col::$variant => $name),+ }
            }
        }

        /// The CSV columns, in order.
        pub const CSV_COLUMNS: &[&str] = &[$($name),+];
    };
}

columns! {
    Type => "type",
    Code => "code",
    PbiCode => "pbi_code",
    StoryCode => "story_code",
    SprintCode => "sprint_code",
    Title => "title",
    Description => "description",
    AcceptanceCriteria => "acceptance_criteria",
    ImplementationPlan => "implementation_plan",
    DefinitionOfDone => "definition_of_done",
    Priority => "priority",
    SortOrder => "sort_order",
    Status => "status",
    Assignee => "assignee",
    StartDate => "start_date",
    EndDate => "end_date",
    CompletedAt => "completed_at",
    VerifyOnly => "verify_only",
    VerifyRequired => "verify_required",
    RequiresOpus => "requires_opus",
    RepoUrl => "repo_url",
    PrUrl => "pr_url",
    LogType => "log_type",
    CommitHash => "commit_hash",
    CommitMessage => "commit_message",
    Metadata => "metadata",
    CreatedAt => "created_at",
    PrMergedAt => "pr_merged_at",
    EpicNumber => "epic_number",
    StoryNumber => "story_number",
    AutoPr => "auto_pr",
    PrStrategy => "pr_strategy",
    PreferredModel => "preferred_model",
    ThinkingBudgetDefault => "thinking_budget_default",
    PreferredPermissionMode => "preferred_permission_mode",
    AutoPrReview => "auto_pr_review",
    AutoTaskReview => "auto_task_review",
    AutoPlanReview => "auto_plan_review",
    AutoMaterializePlan => "auto_materialize_plan",
    AutoDeploy => "auto_deploy",
}

/// The value of the `type` column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Product,
    Sprint,
    Pbi,
    Story,
    Task,
    Log,
}

impl Kind {
    const ALL: [Kind; 6] = [Kind::Product, Kind::Sprint, Kind::Pbi, Kind::Story, Kind::Task, Kind::Log];

    fn name(self) -> &'static str {
        match self {
            Kind::Product => "product",
            Kind::Sprint => "sprint",
            Kind::Pbi => "pbi",
            Kind::Story => "story",
            Kind::Task => "task",
            Kind::Log => "log",
        }
    }

    /// The columns a row of this type fills (besides `type`).
    fn columns(self) -> &'static [Col] {
        use Col::*;
        match self {
            Kind::Product => &[
                Code,
                Title,
                Description,
                DefinitionOfDone,
                RepoUrl,
                AutoPr,
                PrStrategy,
                PreferredModel,
                ThinkingBudgetDefault,
                PreferredPermissionMode,
                AutoPrReview,
                AutoTaskReview,
                AutoPlanReview,
                AutoMaterializePlan,
                AutoDeploy,
            ],
            Kind::Sprint => &[Code, Title, Status, StartDate, EndDate, CompletedAt, CreatedAt],
            Kind::Pbi => {
                &[Code, Title, Description, Priority, SortOrder, Status, PrUrl, PrMergedAt, EpicNumber, CreatedAt]
            }
            Kind::Story => &[
                Code,
                PbiCode,
                SprintCode,
                Title,
                Description,
                AcceptanceCriteria,
                Priority,
                SortOrder,
                Status,
                Assignee,
                EpicNumber,
                StoryNumber,
                CreatedAt,
            ],
            Kind::Task => &[
                Code,
                PbiCode,
                StoryCode,
                SprintCode,
                Title,
                Description,
                ImplementationPlan,
                Priority,
                SortOrder,
                Status,
                VerifyOnly,
                VerifyRequired,
                RequiresOpus,
                RepoUrl,
                CreatedAt,
            ],
            Kind::Log => {
                &[PbiCode, StoryCode, Description, Status, LogType, CommitHash, CommitMessage, Metadata, CreatedAt]
            }
        }
    }

    /// The column holding a field of the JSON document, for error paths.
    fn column_of(self, field: &str) -> &str {
        match (self, field) {
            (Kind::Product, "name") | (Kind::Sprint, "sprint_goal") => "title",
            (Kind::Log, "content") => "description",
            (Kind::Log, "type") => "log_type",
            _ => field,
        }
    }
}

// ---------------------------------------------------------------- writing

fn opt(v: &Option<String>) -> String {
    v.clone().unwrap_or_default()
}

fn ts(v: &Option<DateTime<Utc>>) -> String {
    v.map(|t| t.to_rfc3339()).unwrap_or_default()
}

fn num<T: ToString>(v: Option<T>) -> String {
    v.map(|n| n.to_string()).unwrap_or_default()
}

/// One row: `cells` by column, every other column empty.
fn record(kind: Kind, cells: Vec<(Col, String)>) -> Vec<String> {
    let mut row = vec![String::new(); Col::ALL.len()];
    row[Col::Type as usize] = kind.name().to_string();
    for (col, v) in cells {
        debug_assert!(kind.columns().contains(&col), "{} rows do not use {}", kind.name(), col.name());
        row[col as usize] = v;
    }
    row
}

fn product_row(p: &ExportProduct) -> Vec<String> {
    record(
        Kind::Product,
        vec![
            (Col::Code, opt(&p.code)),
            (Col::Title, p.name.clone()),
            (Col::Description, opt(&p.description)),
            (Col::DefinitionOfDone, p.definition_of_done.clone()),
            (Col::RepoUrl, opt(&p.repo_url)),
            (Col::AutoPr, p.auto_pr.to_string()),
            (Col::PrStrategy, p.pr_strategy.as_api()),
            (Col::PreferredModel, opt(&p.preferred_model)),
            (Col::ThinkingBudgetDefault, num(p.thinking_budget_default)),
            (Col::PreferredPermissionMode, opt(&p.preferred_permission_mode)),
            (Col::AutoPrReview, p.auto_pr_review.to_string()),
            (Col::AutoTaskReview, p.auto_task_review.to_string()),
            (Col::AutoPlanReview, p.auto_plan_review.to_string()),
            (Col::AutoMaterializePlan, p.auto_materialize_plan.to_string()),
            (Col::AutoDeploy, p.auto_deploy.to_string()),
        ],
    )
}

fn sprint_row(s: &ExportSprint) -> Vec<String> {
    record(
        Kind::Sprint,
        vec![
            (Col::Code, s.code.clone()),
            (Col::Title, s.sprint_goal.clone()),
            (Col::Status, s.status.as_api()),
            (Col::StartDate, num(s.start_date)),
            (Col::EndDate, num(s.end_date)),
            (Col::CompletedAt, ts(&s.completed_at)),
            (Col::CreatedAt, ts(&s.created_at)),
        ],
    )
}

fn pbi_row(b: &ExportPbi) -> Vec<String> {
    record(
        Kind::Pbi,
        vec![
            (Col::Code, b.code.clone()),
            (Col::Title, b.title.clone()),
            (Col::Description, opt(&b.description)),
            (Col::Priority, b.priority.to_string()),
            (Col::SortOrder, b.sort_order.to_string()),
            (Col::Status, b.status.as_api()),
            (Col::PrUrl, opt(&b.pr_url)),
            (Col::PrMergedAt, ts(&b.pr_merged_at)),
            (Col::EpicNumber, num(b.epic_number)),
            (Col::CreatedAt, ts(&b.created_at)),
        ],
    )
}

fn story_row(b: &ExportPbi, s: &ExportStory) -> Vec<String> {
    record(
        Kind::Story,
        vec![
            (Col::Code, s.code.clone()),
            (Col::PbiCode, b.code.clone()),
            (Col::SprintCode, opt(&s.sprint_code)),
            (Col::Title, s.title.clone()),
            (Col::Description, opt(&s.description)),
            (Col::AcceptanceCriteria, opt(&s.acceptance_criteria)),
            (Col::Priority, s.priority.to_string()),
            (Col::SortOrder, s.sort_order.to_string()),
            (Col::Status, s.status.as_api()),
            (Col::Assignee, opt(&s.assignee)),
            (Col::EpicNumber, num(s.epic_number)),
            (Col::StoryNumber, opt(&s.story_number)),
            (Col::CreatedAt, ts(&s.created_at)),
        ],
    )
}

fn task_row(b: &ExportPbi, s: &ExportStory, t: &ExportTask) -> Vec<String> {
    record(
        Kind::Task,
        vec![
            (Col::Code, t.code.clone()),
            (Col::PbiCode, b.code.clone()),
            (Col::StoryCode, s.code.clone()),
            (Col::SprintCode, opt(&s.sprint_code)),
            (Col::Title, t.title.clone()),
            (Col::Description, opt(&t.description)),
            (Col::ImplementationPlan, opt(&t.implementation_plan)),
            (Col::Priority, t.priority.to_string()),
            (Col::SortOrder, t.sort_order.to_string()),
            (Col::Status, t.status.as_api()),
            (Col::VerifyOnly, t.verify_only.to_string()),
            (Col::VerifyRequired, t.verify_required.as_api()),
            (Col::RequiresOpus, t.requires_opus.to_string()),
            (Col::RepoUrl, opt(&t.repo_url)),
            (Col::CreatedAt, ts(&t.created_at)),
        ],
    )
}

fn log_row(b: &ExportPbi, s: &ExportStory, l: &ExportLog) -> Vec<String> {
    record(
        Kind::Log,
        vec![
            (Col::PbiCode, b.code.clone()),
            (Col::StoryCode, s.code.clone()),
            (Col::Description, l.content.clone()),
            (Col::Status, l.status.map(|s| s.as_api()).unwrap_or_default()),
            (Col::LogType, l.log_type.as_api()),
            (Col::CommitHash, opt(&l.commit_hash)),
            (Col::CommitMessage, opt(&l.commit_message)),
            (Col::Metadata, l.metadata.as_ref().map(Value::to_string).unwrap_or_default()),
            (Col::CreatedAt, ts(&l.created_at)),
        ],
    )
}

fn write_error(e: impl std::fmt::Display) -> AppError {
    AppError::internal(format!("could not write the CSV export: {e}"))
}

/// The export as CSV: a header, then one row per item (CRLF line ends,
/// fields quoted only when they hold a comma, quote or line break).
pub fn to_csv(e: &BacklogExport) -> AppResult<String> {
    let mut w = WriterBuilder::new().terminator(Terminator::CRLF).from_writer(Vec::new());
    let mut rows = vec![product_row(&e.product)];
    rows.extend(e.sprints.iter().map(sprint_row));
    for b in &e.pbis {
        rows.push(pbi_row(b));
        for s in &b.stories {
            rows.push(story_row(b, s));
            rows.extend(s.tasks.iter().map(|t| task_row(b, s, t)));
            rows.extend(s.logs.iter().map(|l| log_row(b, s, l)));
        }
    }
    w.write_record(CSV_COLUMNS).map_err(write_error)?;
    for row in rows {
        w.write_record(&row).map_err(write_error)?;
    }
    let bytes = w.into_inner().map_err(write_error)?;
    String::from_utf8(bytes).map_err(write_error)
}

// ---------------------------------------------------------------- reading

/// Where each part of a document read from CSV came from, so errors and
/// warnings about it name the row and column (`rows.3.title`).
#[derive(Debug, Default)]
struct RowMap {
    /// JSON path of an item (`pbis.1.stories.0`) → its row and type.
    items: Vec<(String, usize, Kind)>,
}

impl RowMap {
    fn note(&mut self, path: String, row: usize, kind: Kind) {
        self.items.push((path, row, kind));
    }

    /// `pbis.1.stories.0.title` → `rows.4.title`; a path outside every item
    /// stays as it is.
    fn rename(&self, path: &str) -> String {
        let inside = |p: &str| path == p || path.strip_prefix(p).is_some_and(|rest| rest.starts_with('.'));
        let Some((p, row, kind)) = self.items.iter().filter(|(p, ..)| inside(p)).max_by_key(|(p, ..)| p.len()) else {
            return path.to_string();
        };
        match path[p.len()..].trim_start_matches('.') {
            "" => format!("rows.{row}"),
            field => format!("rows.{row}.{}", kind.column_of(field)),
        }
    }

    fn rename_errors(&self, errs: ValidationErrors) -> ValidationErrors {
        let mut out = ValidationErrors::new();
        for e in errs.0 {
            out.add(&self.rename(&e.path), e.message);
        }
        out
    }

    /// Warnings read `path: message`.
    fn rename_warning(&self, w: String) -> String {
        match w.split_once(": ") {
            Some((path, msg)) => format!("{}: {msg}", self.rename(path)),
            None => w,
        }
    }
}

/// One data row and where its columns are.
struct Cells<'r> {
    row: usize,
    record: &'r StringRecord,
    /// Column number → field number in this file (columns may be missing or in any order).
    at: &'r [Option<usize>],
}

impl Cells<'_> {
    fn raw(&self, c: Col) -> &str {
        self.at[c as usize].and_then(|i| self.record.get(i)).unwrap_or("")
    }

    fn path(&self, c: Col) -> String {
        format!("rows.{}.{}", self.row, c.name())
    }

    /// The cell as it is (an empty cell is an empty string).
    fn text(&self, c: Col) -> String {
        self.raw(c).to_string()
    }

    /// The cell, `None` when empty.
    fn opt(&self, c: Col) -> Option<String> {
        Some(self.raw(c)).filter(|v| !v.is_empty()).map(str::to_string)
    }

    /// The parsed cell, `None` when empty or when it does not parse (then an
    /// error names the cell).
    fn get<T>(&self, errs: &mut ValidationErrors, c: Col, parse: impl Fn(&str) -> Result<T, String>) -> Option<T> {
        let v = self.raw(c);
        if v.is_empty() {
            return None;
        }
        parse(v).map_err(|m| errs.add(&self.path(c), m)).ok()
    }

    /// Like [`Cells::get`], and an empty cell is an error too.
    fn need<T>(&self, errs: &mut ValidationErrors, c: Col, parse: impl Fn(&str) -> Result<T, String>) -> Option<T> {
        if self.raw(c).is_empty() {
            errs.add(&self.path(c), "is required");
            return None;
        }
        self.get(errs, c, parse)
    }

    /// A cell that defaults when empty; `None` only when it does not parse.
    fn or<T>(
        &self,
        errs: &mut ValidationErrors,
        c: Col,
        default: T,
        parse: impl Fn(&str) -> Result<T, String>,
    ) -> Option<T> {
        if self.raw(c).is_empty() { Some(default) } else { self.get(errs, c, parse) }
    }
}

fn int(v: &str) -> Result<i32, String> {
    v.trim().parse().map_err(|_| "must be a whole number".to_string())
}

fn float(v: &str) -> Result<f64, String> {
    v.trim().parse().map_err(|_| "must be a number".to_string())
}

fn boolean(v: &str) -> Result<bool, String> {
    match v.trim().to_ascii_lowercase().as_str() {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err("must be true or false".into()),
    }
}

fn date(v: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(v.trim(), "%Y-%m-%d").map_err(|_| "must be a date (YYYY-MM-DD)".into())
}

fn instant(v: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(v.trim())
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| "must be an RFC 3339 instant (2025-01-31T12:00:00Z)".into())
}

fn json(v: &str) -> Result<Value, String> {
    serde_json::from_str(v).map_err(|e| format!("must be JSON: {e}"))
}

/// A parser for one of our enums, with the JSON import's message.
macro_rules! enum_parser {
    ($t:ty) => {
        |v: &str| {
            <$t>::parse_api(v).ok_or_else(|| format!("unknown value `{v}`, expected one of: {}", <$t>::api_values()))
        }
    };
}

fn read_product(c: &Cells, errs: &mut ValidationErrors) -> Option<ExportProduct> {
    let pr_strategy = c.or(errs, Col::PrStrategy, default_strategy(), enum_parser!(PrStrategy));
    let thinking_budget_default = c.get(errs, Col::ThinkingBudgetDefault, int);
    let flags = [
        (Col::AutoPr, false),
        (Col::AutoPrReview, false),
        (Col::AutoTaskReview, false),
        (Col::AutoPlanReview, yes()),
        (Col::AutoMaterializePlan, yes()),
        (Col::AutoDeploy, false),
    ]
    .map(|(col, default)| c.or(errs, col, default, boolean));
    let [
        Some(auto_pr),
        Some(auto_pr_review),
        Some(auto_task_review),
        Some(auto_plan_review),
        Some(auto_materialize_plan),
        Some(auto_deploy),
    ] = flags
    else {
        return None;
    };
    Some(ExportProduct {
        name: c.text(Col::Title),
        code: c.opt(Col::Code),
        description: c.opt(Col::Description),
        repo_url: c.opt(Col::RepoUrl),
        definition_of_done: c.text(Col::DefinitionOfDone),
        auto_pr,
        pr_strategy: pr_strategy?,
        preferred_model: c.opt(Col::PreferredModel),
        thinking_budget_default,
        preferred_permission_mode: c.opt(Col::PreferredPermissionMode),
        auto_pr_review,
        auto_task_review,
        auto_plan_review,
        auto_materialize_plan,
        auto_deploy,
    })
}

fn read_sprint(c: &Cells, errs: &mut ValidationErrors) -> Option<ExportSprint> {
    let status = c.need(errs, Col::Status, enum_parser!(SprintStatus));
    let start_date = c.get(errs, Col::StartDate, date);
    let end_date = c.get(errs, Col::EndDate, date);
    let completed_at = c.get(errs, Col::CompletedAt, instant);
    let created_at = c.get(errs, Col::CreatedAt, instant);
    Some(ExportSprint {
        code: c.text(Col::Code),
        sprint_goal: c.text(Col::Title),
        status: status?,
        start_date,
        end_date,
        completed_at,
        created_at,
    })
}

fn read_pbi(c: &Cells, errs: &mut ValidationErrors) -> Option<ExportPbi> {
    let priority = c.need(errs, Col::Priority, int);
    let sort_order = c.need(errs, Col::SortOrder, float);
    let status = c.need(errs, Col::Status, enum_parser!(PbiStatus));
    let pr_merged_at = c.get(errs, Col::PrMergedAt, instant);
    let epic_number = c.get(errs, Col::EpicNumber, int);
    let created_at = c.get(errs, Col::CreatedAt, instant);
    Some(ExportPbi {
        code: c.text(Col::Code),
        title: c.text(Col::Title),
        description: c.opt(Col::Description),
        priority: priority?,
        sort_order: sort_order?,
        status: status?,
        pr_url: c.opt(Col::PrUrl),
        pr_merged_at,
        epic_number,
        created_at,
        stories: Vec::new(),
    })
}

fn read_story(c: &Cells, errs: &mut ValidationErrors) -> Option<ExportStory> {
    let priority = c.need(errs, Col::Priority, int);
    let sort_order = c.need(errs, Col::SortOrder, float);
    let status = c.need(errs, Col::Status, enum_parser!(StoryStatus));
    let epic_number = c.get(errs, Col::EpicNumber, int);
    let created_at = c.get(errs, Col::CreatedAt, instant);
    Some(ExportStory {
        code: c.text(Col::Code),
        title: c.text(Col::Title),
        description: c.opt(Col::Description),
        acceptance_criteria: c.opt(Col::AcceptanceCriteria),
        priority: priority?,
        sort_order: sort_order?,
        status: status?,
        sprint_code: c.opt(Col::SprintCode),
        assignee: c.opt(Col::Assignee),
        epic_number,
        story_number: c.opt(Col::StoryNumber),
        created_at,
        tasks: Vec::new(),
        logs: Vec::new(),
    })
}

fn read_task(c: &Cells, errs: &mut ValidationErrors) -> Option<ExportTask> {
    let priority = c.need(errs, Col::Priority, int);
    let sort_order = c.need(errs, Col::SortOrder, float);
    let status = c.need(errs, Col::Status, enum_parser!(TaskStatus));
    let verify_only = c.or(errs, Col::VerifyOnly, false, boolean);
    let verify_required = c.or(errs, Col::VerifyRequired, default_verify(), enum_parser!(VerifyRequired));
    let requires_opus = c.or(errs, Col::RequiresOpus, false, boolean);
    let created_at = c.get(errs, Col::CreatedAt, instant);
    Some(ExportTask {
        code: c.text(Col::Code),
        title: c.text(Col::Title),
        description: c.opt(Col::Description),
        implementation_plan: c.opt(Col::ImplementationPlan),
        priority: priority?,
        sort_order: sort_order?,
        status: status?,
        verify_only: verify_only?,
        verify_required: verify_required?,
        requires_opus: requires_opus?,
        repo_url: c.opt(Col::RepoUrl),
        created_at,
    })
}

fn read_log(c: &Cells, errs: &mut ValidationErrors) -> Option<ExportLog> {
    let log_type = c.need(errs, Col::LogType, enum_parser!(StoryLogType));
    let status = c.get(errs, Col::Status, enum_parser!(TestStatus));
    let metadata = c.get(errs, Col::Metadata, json);
    let created_at = c.get(errs, Col::CreatedAt, instant);
    Some(ExportLog {
        log_type: log_type?,
        content: c.text(Col::Description),
        status,
        commit_hash: c.opt(Col::CommitHash),
        commit_message: c.opt(Col::CommitMessage),
        metadata,
        created_at,
    })
}

/// The header's columns by number; unknown, repeated or missing `type`
/// columns are errors naming `header.N`.
fn read_header(header: &StringRecord, errs: &mut ValidationErrors) -> Vec<Option<usize>> {
    let mut at = vec![None; Col::ALL.len()];
    for (i, name) in header.iter().enumerate() {
        let name = name.trim();
        match Col::ALL.iter().find(|c| c.name().eq_ignore_ascii_case(name)) {
            None => errs.add(
                &format!("header.{i}"),
                format!("unknown column `{name}`; the columns are {}", CSV_COLUMNS.join(", ")),
            ),
            Some(c) if at[*c as usize].is_some() => {
                errs.add(&format!("header.{i}"), format!("column `{name}` appears twice"))
            }
            Some(c) => at[*c as usize] = Some(i),
        }
    }
    if at[Col::Type as usize].is_none() {
        errs.add("header", "must have a `type` column");
    }
    at
}

/// Reads a CSV export into the export document, remembering each item's row.
/// Every cell that does not parse and every child whose parent is not in the
/// file is reported at once; the document's own rules are checked by the
/// import.
fn from_csv(text: &str) -> Result<(BacklogExport, RowMap), ValidationErrors> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut errs = ValidationErrors::new();
    let mut reader = ReaderBuilder::new().has_headers(true).flexible(false).from_reader(text.as_bytes());
    let at = match reader.headers() {
        Ok(h) => read_header(h, &mut errs),
        Err(e) => return Err(ValidationErrors::one("header", format!("could not be read: {e}"))),
    };
    errs.clone().into_result()?;
    let mut records = Vec::new();
    for (row, rec) in reader.records().enumerate() {
        match rec {
            Ok(r) => records.push(r),
            Err(e) => match e.kind() {
                ErrorKind::UnequalLengths { expected_len, len, .. } => {
                    errs.add(&format!("rows.{row}"), format!("has {len} cells; the header has {expected_len}"))
                }
                _ => errs.add(&format!("rows.{row}"), format!("could not be read: {e}")),
            },
        }
    }
    errs.clone().into_result()?;

    let mut product = None;
    let mut sprints = Vec::new();
    let mut pbis: Vec<Parent<ExportPbi>> = Vec::new();
    // Children wait until every parent is known, so rows may come in any order.
    let (mut stories, mut tasks, mut logs) = (Vec::new(), Vec::new(), Vec::new());
    for (row, record) in records.iter().enumerate() {
        let kind_text = record.get(at[Col::Type as usize].unwrap_or(0)).unwrap_or("").trim();
        let Some(kind) = Kind::ALL.iter().copied().find(|k| k.name().eq_ignore_ascii_case(kind_text)) else {
            let values = Kind::ALL.map(Kind::name).join(", ");
            errs.add(&format!("rows.{row}.type"), format!("unknown value `{kind_text}`, expected one of: {values}"));
            continue;
        };
        let c = Cells { row, record, at: &at };
        for col in Col::ALL.iter().copied().filter(|col| *col != Col::Type) {
            let v = c.raw(col);
            if v.contains('\0') {
                errs.add(&c.path(col), NUL_MESSAGE);
            } else if !v.is_empty() && !kind.columns().contains(&col) {
                errs.add(&c.path(col), format!("is not used by a `{}` row; leave it empty", kind.name()));
            }
        }
        match kind {
            Kind::Product if product.is_some() => {
                errs.add(&c.path(Col::Type), "a second product row; a file holds one product")
            }
            Kind::Product => product = Some((row, read_product(&c, &mut errs))),
            Kind::Sprint => sprints.push((row, read_sprint(&c, &mut errs))),
            Kind::Pbi => pbis.push(Parent::new(&c, read_pbi(&c, &mut errs))),
            Kind::Story => stories.push((c.text(Col::PbiCode), Parent::new(&c, read_story(&c, &mut errs)))),
            Kind::Task => tasks.push((
                c.row,
                c.opt(Col::PbiCode),
                c.text(Col::StoryCode),
                c.opt(Col::SprintCode),
                read_task(&c, &mut errs),
            )),
            Kind::Log => logs.push((c.row, c.opt(Col::PbiCode), c.text(Col::StoryCode), read_log(&c, &mut errs))),
        }
    }
    if product.is_none() {
        errs.add("rows", "must have one row of type `product`");
    }

    // A parent whose own cells did not parse still takes its children, so
    // one bad cell is one error, not one per descendant.
    let mut pbi_by_code = HashMap::new();
    for (i, b) in pbis.iter().enumerate() {
        pbi_by_code.entry(b.code.clone()).or_insert(i);
    }
    let mut story_list: Vec<(usize, Parent<ExportStory>)> = Vec::new();
    for (pbi_code, story) in stories {
        match pbi_by_code.get(&pbi_code) {
            Some(&bi) => story_list.push((bi, story)),
            None => missing_parent(&mut errs, story.row, Col::PbiCode, "PBI", &pbi_code),
        }
    }
    let mut story_by_code = HashMap::new();
    for (i, (_, s)) in story_list.iter().enumerate() {
        story_by_code.entry(s.code.clone()).or_insert(i);
    }
    let mut tasks_of: Vec<Vec<(usize, Option<ExportTask>)>> = story_list.iter().map(|_| Vec::new()).collect();
    let mut logs_of: Vec<Vec<(usize, Option<ExportLog>)>> = story_list.iter().map(|_| Vec::new()).collect();
    let parent = |errs: &mut ValidationErrors, row: usize, pbi_code: Option<String>, story_code: &str| {
        let Some(&si) = story_by_code.get(story_code) else {
            missing_parent(errs, row, Col::StoryCode, "story", story_code);
            return None;
        };
        let (bi, story) = &story_list[si];
        let of = &pbis[*bi].code;
        if let Some(pc) = pbi_code
            && pc != *of
        {
            errs.add(
                &format!("rows.{row}.pbi_code"),
                format!("`{pc}` is not the PBI of story `{story_code}` (`{of}`)"),
            );
        }
        Some((si, story.sprint_code.clone()))
    };
    for (row, pbi_code, story_code, sprint_code, task) in tasks {
        let Some((si, story_sprint)) = parent(&mut errs, row, pbi_code, &story_code) else { continue };
        if let Some(sc) = sprint_code
            && story_sprint.as_ref() != Some(&sc)
        {
            errs.add(
                &format!("rows.{row}.sprint_code"),
                format!("`{sc}` is not the sprint of story `{story_code}` (a task is in its story's sprint)"),
            );
        }
        tasks_of[si].push((row, task));
    }
    for (row, pbi_code, story_code, log) in logs {
        let Some((si, _)) = parent(&mut errs, row, pbi_code, &story_code) else { continue };
        logs_of[si].push((row, log));
    }
    errs.into_result()?;

    // Every cell parsed and every parent was found: assemble in row order.
    let mut map = RowMap::default();
    let incomplete = || ValidationErrors::one("rows", "could not be read");
    let Some((row, Some(product))) = product else { return Err(incomplete()) };
    map.note("product".into(), row, Kind::Product);
    let mut doc = BacklogExport {
        format: EXPORT_FORMAT.into(),
        version: EXPORT_VERSION,
        exported_at: None,
        product,
        sprints: Vec::new(),
        pbis: Vec::new(),
    };
    for (row, s) in sprints {
        map.note(format!("sprints.{}", doc.sprints.len()), row, Kind::Sprint);
        doc.sprints.push(s.ok_or_else(incomplete)?);
    }
    for b in pbis {
        map.note(format!("pbis.{}", doc.pbis.len()), b.row, Kind::Pbi);
        doc.pbis.push(b.item.ok_or_else(incomplete)?);
    }
    for ((bi, s), (tasks, logs)) in story_list.into_iter().zip(tasks_of.into_iter().zip(logs_of)) {
        let pbi = &mut doc.pbis[bi];
        let at = format!("pbis.{bi}.stories.{}", pbi.stories.len());
        map.note(at.clone(), s.row, Kind::Story);
        let mut story = s.item.ok_or_else(incomplete)?;
        for (row, t) in tasks {
            map.note(format!("{at}.tasks.{}", story.tasks.len()), row, Kind::Task);
            story.tasks.push(t.ok_or_else(incomplete)?);
        }
        for (row, l) in logs {
            map.note(format!("{at}.logs.{}", story.logs.len()), row, Kind::Log);
            story.logs.push(l.ok_or_else(incomplete)?);
        }
        pbi.stories.push(story);
    }
    Ok((doc, map))
}

/// A PBI or story row as read: its code and sprint (which children check
/// against), and the item itself when its cells parsed.
struct Parent<T> {
    row: usize,
    code: String,
    sprint_code: Option<String>,
    item: Option<T>,
}

impl<T> Parent<T> {
    fn new(c: &Cells, item: Option<T>) -> Parent<T> {
        Parent { row: c.row, code: c.text(Col::Code), sprint_code: c.opt(Col::SprintCode), item }
    }
}

fn missing_parent(errs: &mut ValidationErrors, row: usize, col: Col, what: &str, code: &str) {
    let path = format!("rows.{row}.{}", col.name());
    if code.is_empty() {
        errs.add(&path, "is required");
    } else {
        errs.add(&path, format!("no {what} `{code}` in this file"));
    }
}

impl App {
    /// Imports a CSV export as a new product owned by the caller: the same
    /// rules as [`App::import_product`], with errors and warnings naming the
    /// row and column (`rows.3.title`).
    pub async fn import_product_csv(&self, actor: &Actor, text: &str) -> AppResult<ImportResult> {
        may_import(actor)?;
        let (doc, rows) = from_csv(text)?;
        let mut res = self.import_product(actor, doc).await.map_err(|e| match e {
            AppError::Validation(v) => AppError::Validation(rows.rename_errors(v)),
            other => other,
        })?;
        res.warnings = res.warnings.into_iter().map(|w| rows.rename_warning(w)).collect();
        Ok(res)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_type_fills_known_columns_and_the_header_names_them_all() {
        assert_eq!(CSV_COLUMNS.len(), Col::ALL.len());
        assert_eq!(&CSV_COLUMNS[..6], ["type", "code", "pbi_code", "story_code", "sprint_code", "title"]);
        for (i, c) in Col::ALL.iter().enumerate() {
            assert_eq!(*c as usize, i, "{}", c.name());
        }
    }

    #[test]
    fn paths_of_the_document_become_rows_and_columns() {
        let mut m = RowMap::default();
        m.note("product".into(), 0, Kind::Product);
        m.note("pbis.1".into(), 4, Kind::Pbi);
        m.note("pbis.1.stories.0".into(), 5, Kind::Story);
        m.note("pbis.1.stories.0.logs.0".into(), 6, Kind::Log);
        m.note("pbis.10".into(), 9, Kind::Pbi);
        assert_eq!(m.rename("product.name"), "rows.0.title");
        assert_eq!(m.rename("pbis.1.title"), "rows.4.title");
        assert_eq!(m.rename("pbis.10.priority"), "rows.9.priority");
        assert_eq!(m.rename("pbis.1.stories.0.sprint_code"), "rows.5.sprint_code");
        assert_eq!(m.rename("pbis.1.stories.0.logs.0.content"), "rows.6.description");
        assert_eq!(m.rename("pbis.1"), "rows.4");
        assert_eq!(m.rename("version"), "version");
        assert_eq!(m.rename_warning("product.code: taken".into()), "rows.0.code: taken");
    }

    fn paths(text: &str) -> Vec<String> {
        match from_csv(text) {
            Ok(_) => Vec::new(),
            Err(e) => e.0.into_iter().map(|f| f.path).collect(),
        }
    }

    #[test]
    fn cells_that_do_not_parse_and_missing_parents_are_named_by_row_and_column() {
        let text = "type,code,pbi_code,story_code,title,priority,sort_order,status,definition_of_done,surprise\n";
        assert_eq!(paths(text), ["header.9"]);
        let text = "code,title\nP,x\n";
        assert_eq!(paths(text), ["header"]);
        let text = "type,code,pbi_code,story_code,title,priority,sort_order,status,definition_of_done\r\n\
            product,P,,,Prod,,,,done\r\n\
            pbi,PBI-1,,,One,high,1,ready,\r\n\
            story,ST-001,PBI-9,,S,1,1,open,\r\n\
            task,T-1,,ST-404,T,1,x,todo,\r\n\
            wat,,,,,,,,\r\n\
            sprint,SP-1,,,Goal,,,open,x\r\n\
            pbi,PBI-2,,,Two,1,1\r\n";
        assert_eq!(paths(text), ["rows.6"], "a row with the wrong number of cells stops the read before anything else");
        let text = text.replace("pbi,PBI-2,,,Two,1,1\r\n", "");
        assert_eq!(
            paths(&text),
            [
                "rows.1.priority",
                "rows.3.sort_order",
                "rows.4.type",
                "rows.5.definition_of_done",
                "rows.2.pbi_code",
                "rows.3.story_code"
            ]
        );
    }

    #[test]
    fn a_file_without_a_product_row_or_with_two_is_refused() {
        assert_eq!(paths("type,title\n"), ["rows"]);
        assert_eq!(paths("type,title,definition_of_done\nproduct,A,d\nproduct,B,d\n"), ["rows.1.type"]);
        assert_eq!(paths("type,title,definition_of_done\nproduct,A\u{0},d\n"), ["rows.0.title"]);
        assert!(paths("\u{feff}type,title,definition_of_done\nproduct,A,d\n").is_empty(), "a BOM is skipped");
    }
}
