//! `baton import bmad <repo-dir> --project <id-or-code> [--json]`: reads the
//! BMAD files of a repository and hands them to `App::import_bmad` as the
//! command line (`Actor::cli()`, which acts as the project's client).
//! `--project` is the project's id or its product code. When stderr is a
//! terminal an indicatif progress bar counts the stories applied (files
//! parsed / total) and is cleared before the summary; off a terminal (a
//! script, `--json` piped into `jq`, the tests) nothing but the summary and
//! errors is written, so stderr stays clean for the caller.

use std::{
    io::{IsTerminal, Read},
    path::Path,
};

use anyhow::Context;
use baton_app::{Actor, App, AppConfig, marketplace::import::ImportSummary};

use crate::cli::{DbArgs, ImportBmadArgs, ImportCommand};

/// The BMAD folders read, relative to the repository root.
const BMAD_DIRS: [&str; 3] = ["docs/stories", "docs/qa/gates", "docs/qa/validation-reports"];
/// The scan's size limit: larger files are read only up to one byte past it.
const MAX_FILE_BYTES: u64 = baton_domain::marketplace::bmad::MAX_FILE_BYTES as u64;

/// Runs an `import` subcommand.
pub async fn run(db: &DbArgs, cmd: ImportCommand) -> anyhow::Result<()> {
    match cmd {
        ImportCommand::Bmad(args) => bmad(db, args).await,
    }
}

/// The BMAD files of `root` as (`docs/…` path, content); missing folders are skipped.
fn read_bmad_files(root: &Path) -> anyhow::Result<Vec<(String, Vec<u8>)>> {
    if !root.join("docs").is_dir() {
        anyhow::bail!("{} has no docs/ folder", root.display());
    }
    let mut out = Vec::new();
    for dir in BMAD_DIRS {
        let Ok(entries) = std::fs::read_dir(root.join(dir)) else { continue };
        for e in entries {
            let e = e.with_context(|| format!("cannot list {dir}"))?;
            let meta = e.metadata()?;
            if !meta.is_file() {
                continue;
            }
            let name = e.file_name().to_string_lossy().into_owned();
            let path = format!("{dir}/{name}");
            // Read at most one byte past the limit: the scan then refuses an
            // oversized file with its reason without the whole of it in memory.
            let mut bytes = Vec::new();
            std::fs::File::open(e.path())
                .and_then(|f| f.take(MAX_FILE_BYTES + 1).read_to_end(&mut bytes))
                .with_context(|| format!("cannot read {path}"))?;
            out.push((path, bytes));
        }
    }
    out.sort();
    Ok(out)
}

async fn bmad(db: &DbArgs, args: ImportBmadArgs) -> anyhow::Result<()> {
    let files = read_bmad_files(&args.repo_dir)?;
    let app = App::local(crate::config::open(db).await?, AppConfig::default());
    let bar = std::io::stderr().is_terminal().then(progress_bar);
    let tick = bar.clone();
    let summary = app
        .import_bmad(&Actor::cli(), &args.project, files, move |done, total| {
            if let Some(b) = &tick {
                b.set_length(total as u64);
                b.set_position(done as u64);
            }
        })
        .await;
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    let summary = summary.with_context(|| format!("cannot import into project {}", args.project))?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
    } else {
        print!("{}", human(&summary));
    }
    Ok(())
}

/// The terminal's progress bar: stories applied out of those found.
fn progress_bar() -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new(0);
    // The template is a constant; should it ever fail to parse, the default style is fine.
    if let Ok(style) = indicatif::ProgressStyle::with_template("importing stories [{bar:30}] {pos}/{len}") {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}

/// The summary for people.
fn human(s: &ImportSummary) -> String {
    let mut out = format!(
        "created {}, updated {}, unchanged {}, rejected {}\n",
        s.created,
        s.updated,
        s.unchanged,
        s.rejected.len()
    );
    for r in &s.rejected {
        out.push_str(&format!("rejected {}: {}\n", r.file, r.reason));
    }
    for w in &s.warnings {
        out.push_str(&format!("warning {}: {}\n", w.file, w.reason));
    }
    out
}
