//! Export a product's whole backlog (JSON or CSV) and import either format
//! into a new product.
//!
//! The JSON export is nested — product settings, sprints, then PBIs with
//! their stories, each story with its tasks and logs — and refers to other
//! items only by code (a story's `sprint_code`, its assignee's username),
//! never by id, so it can be imported anywhere. Every list is in its
//! natural order (sprints oldest first; PBIs, stories and tasks by
//! position; logs oldest first) and timestamps are kept, so
//! export → import → export gives the same document except `exported_at`
//! (and the product name when it had to be made unique).
//!
//! The CSV export holds the same document flat: one row per item with a
//! `type` column (`product`, `sprint`, `pbi`, `story`, `task`, `log`) and
//! the parent codes; an empty cell is an absent value. Importing it reads
//! the rows back into the same document (children in row order under the
//! parent their codes name) and goes through the JSON import, so both
//! formats follow one set of rules; only the error paths differ: a CSV
//! error names the row and column (`rows.3.title`, rows counted from 0 after
//! the header, like every other path).
//!
//! Import decisions:
//! - It always creates a NEW product owned by the caller. A name or code the
//!   caller already uses gets a suffix (` (imported)`, ` (imported 2)`, …;
//!   `-2`, `-3`, …) and a warning says so.
//! - Codes are kept as they are and the product's code counters move past
//!   them, so new items continue the numbering.
//! - A story assignee is kept only when it is the importing user (the new
//!   product has no members yet); others are left unassigned with a warning.
//! - Everything is validated before anything is written and written in one
//!   transaction: one bad row is a 422 naming its path
//!   (`pbis.0.stories.2.tasks.1.title`, or `rows.7.title` in a CSV) and
//!   nothing is created.
//!
//! Files: [`formats`] (the document), `build` (reading a backlog into it),
//! [`csv`] (the flat form, both ways), `import` (checks and the write).

mod build;
pub mod csv;
pub mod formats;
mod import;

pub use self::csv::{CSV_COLUMNS, to_csv};
pub use formats::{
    BacklogExport, EXPORT_FORMAT, EXPORT_VERSION, ExportFormat, ExportLog, ExportParams, ExportPbi, ExportProduct,
    ExportSprint, ExportStory, ExportTask, ExportedFile, ImportResult,
};
