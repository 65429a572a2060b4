//! The BMAD import (issue 12, "Stories, BMAD and QA"): `baton import bmad`
//! and `POST /api/projects/{id}/import/bmad` hand a repository's
//! `docs/stories/*.md`, `docs/qa/gates/*` and
//! `docs/qa/validation-reports/*.md` to [`App::import_bmad`], which runs the
//! pure scan (`baton_domain::marketplace::bmad::scan`) and applies it.
//!
//! Decisions (the reference is silent):
//! - **Who.** The project's client (the command line acts as the client) or
//!   a PM/architect expert of it, as for story creation; other parties 403,
//!   outsiders 404, demo accounts 403.
//! - **One transaction per run.** A database error rolls the whole import
//!   back; a file the scan or the story rules refuse is not an error but a
//!   `rejected` entry (file and reason), and the rest is imported.
//! - **Idempotent.** Stories are upserted by `epic.story`
//!   (`upsert_market_story`); gates and reports go through
//!   `apply_bmad_record`, which writes only what differs. A second run of
//!   the same files writes nothing and reports every story `unchanged`.
//! - **Gates and reports are records, not decisions.** The import stores the
//!   committed validation score/decision and gate path/status/quality score
//!   (audit rows VALIDATED / GATE_UPDATED with `{file}`), and never moves the
//!   workflow state or money: approving a story (and opening its developer
//!   opportunity) or releasing escrow stays with `record_validation`,
//!   `submit_qa_review` and `approve_story`. The status written in a story
//!   file is shown as a warning when it differs from the workflow state.
//! - **Gate or report without a story.** When neither the repository nor the
//!   project has story `N`, its gate and report are rejected ("no story N").
//! - **Story without a title** gets "Story N".
//! - **Archives** (REST and MCP): [`App::import_bmad_archive`] unpacks a
//!   tar.gz or zip in memory with [`archive::unpack`] (see its docs for
//!   layouts and limits) after the permission check, so a refused caller
//!   learns nothing about the archive, and then runs the same import as the
//!   CLI. An archive refused as a whole is a 422 naming the input (`body`
//!   over REST, `archive_base64` over MCP) and writes nothing; entries that
//!   are not read (links, devices, oversized files) are listed first in
//!   `rejected` with the reason.

use baton_domain::marketplace::{
    WorkflowStatus,
    bmad::{ScannedStory, scan},
};
use baton_store::{
    entities::story,
    events::{Event, kinds},
    sea_orm::{ColumnTrait, EntityTrait, QueryFilter},
};
use serde::{Deserialize, Serialize};
use serde_json::json;

pub mod archive;

use self::archive::ArchiveFormat;
use super::stories::{
    NewMarketStory, ProjectParties, UpsertOutcome, apply_bmad_record, ensure_open, upsert_market_story,
};
use crate::{Actor, App, AppError, AppResult, txn::in_product_txn};

/// A file the import could not use, or a note about one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ImportIssue {
    /// The file's path in the repository.
    pub file: String,
    /// Why, in words.
    pub reason: String,
}

/// One story the import touched or checked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ImportedStory {
    /// `epic.story`, e.g. `1.3`.
    pub number: String,
    /// The story's id.
    pub story_id: String,
    /// created | updated | unchanged.
    pub outcome: UpsertOutcome,
}

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ImportSummary {
    /// Stories created.
    pub created: usize,
    /// Stories whose text, story file, validation or gate changed.
    pub updated: usize,
    /// Stories found identical.
    pub unchanged: usize,
    /// Every story, in number order.
    pub stories: Vec<ImportedStory>,
    /// Files refused, each with the reason.
    pub rejected: Vec<ImportIssue>,
    /// Things to look at that did not stop the import (unknown status, superseded gates…).
    pub warnings: Vec<ImportIssue>,
}

/// An uploaded archive of a repository's `docs/` (or of the repository).
#[derive(Debug, Clone)]
pub struct BmadArchive {
    /// The archive's bytes.
    pub bytes: Vec<u8>,
    /// The format the caller says it is, checked against the bytes; `None`
    /// tells it by the bytes alone.
    pub format: Option<ArchiveFormat>,
    /// The input's name in the caller's terms (`body` over REST,
    /// `archive_base64` over MCP), named by a 422.
    pub field: &'static str,
}

impl App {
    /// Imports BMAD files (`(path, content)`, paths relative to the
    /// repository root) into a project's marketplace stories; `progress(done,
    /// total)` is called after each story. See the module docs.
    pub async fn import_bmad(
        &self,
        actor: &Actor,
        project: &str,
        files: Vec<(String, Vec<u8>)>,
        progress: impl Fn(usize, usize) + Send + Sync + 'static,
    ) -> AppResult<ImportSummary> {
        let parties = self.import_parties(actor, project).await?;
        self.import_files(actor, parties, files, Vec::new(), progress).await
    }

    /// Imports the BMAD files of an uploaded tar.gz or zip (see
    /// [`archive`]): the same import, permission and summary as
    /// [`App::import_bmad`]; an archive refused as a whole is a 422 naming
    /// `archive.field` and writes nothing.
    pub async fn import_bmad_archive(
        &self,
        actor: &Actor,
        project: &str,
        archive: BmadArchive,
        progress: impl Fn(usize, usize) + Send + Sync + 'static,
    ) -> AppResult<ImportSummary> {
        let parties = self.import_parties(actor, project).await?;
        let BmadArchive { bytes, format, field } = archive;
        // Inflating up to 32 MiB is CPU work: keep it off the async workers.
        let unpacked = tokio::task::spawn_blocking(move || archive::unpack(&bytes, format))
            .await
            .map_err(|e| AppError::internal_from("archive task", e))?
            .map_err(|e| AppError::field(field, format!("the archive {e}")))?;
        let skipped = unpacked.skipped.into_iter().map(|(file, reason)| ImportIssue { file, reason }).collect();
        self.import_files(actor, parties, unpacked.files, skipped, progress).await
    }

    /// Who may import into `project` (see the module docs).
    async fn import_parties(&self, actor: &Actor, project: &str) -> AppResult<ProjectParties> {
        actor.require_write()?;
        let parties = ProjectParties::load(&self.db, actor, project).await?;
        if !(parties.is_client || parties.is_planner) {
            return Err(AppError::Forbidden(
                "stories are imported by the client or a PM or architect of the project".into(),
            ));
        }
        Ok(parties)
    }

    /// The import proper, for a caller `parties` admits; `skipped` are
    /// files refused before the scan, reported first among the rejected.
    async fn import_files(
        &self,
        actor: &Actor,
        parties: ProjectParties,
        files: Vec<(String, Vec<u8>)>,
        skipped: Vec<ImportIssue>,
        progress: impl Fn(usize, usize) + Send + Sync + 'static,
    ) -> AppResult<ImportSummary> {
        let scanned = scan(&files);
        drop(files);
        let pid = parties.product.id.clone();
        let user_id = actor.user_id.clone();
        let summary = in_product_txn(&self.db, &pid.clone(), move |c| {
            Box::pin(async move {
                let p = baton_store::entities::product::Entity::find_by_id(pid.clone())
                    .one(c)
                    .await?
                    .ok_or(AppError::NotFound("project"))?;
                ensure_open(&p)?;
                let mut sum = ImportSummary {
                    rejected: skipped
                        .into_iter()
                        .chain(
                            scanned
                                .rejected
                                .iter()
                                .map(|r| ImportIssue { file: r.path.clone(), reason: r.reason.clone() }),
                        )
                        .collect(),
                    ..ImportSummary::default()
                };
                let total = scanned.stories.len();
                for (i, s) in scanned.stories.iter().enumerate() {
                    import_one(c, &pid, s, &user_id, &mut sum).await?;
                    progress(i + 1, total);
                }
                Ok(sum)
            })
        })
        .await?;
        if summary.created + summary.updated > 0 {
            let data = json!({ "action": "imported", "created": summary.created, "updated": summary.updated });
            self.announce(Event::new(kinds::STORY_CHANGED).for_product(&parties.product.id).with_data(data)).await;
        }
        Ok(summary)
    }
}

/// The files of one scanned story, for rejecting them together.
fn story_files(s: &ScannedStory) -> Vec<String> {
    let mut v = Vec::new();
    if let Some(f) = &s.story_file {
        v.push(f.path.clone());
    }
    if let Some(g) = &s.gate {
        v.push(g.path.clone());
    }
    if let Some(r) = &s.validation {
        v.push(r.path.clone());
    }
    v
}

async fn import_one<C: baton_store::sea_orm::ConnectionTrait>(
    c: &C,
    product_id: &str,
    s: &ScannedStory,
    user_id: &str,
    sum: &mut ImportSummary,
) -> AppResult<()> {
    let number = format!("{}.{}", s.number.epic, s.number.story);
    let main_file = story_files(s).into_iter().next().unwrap_or_default();
    for w in &s.warnings {
        sum.warnings.push(ImportIssue { file: main_file.clone(), reason: w.clone() });
    }
    let (row, mut outcome) = match &s.story_file {
        Some(f) => {
            let input = NewMarketStory {
                epic: s.number.epic,
                number: s.number.story.clone(),
                title: f
                    .value
                    .title
                    .clone()
                    .filter(|t| !t.trim().is_empty())
                    .unwrap_or_else(|| format!("Story {number}")),
                description: f.value.description.clone(),
                acceptance_criteria: f.value.acceptance_criteria_markdown(),
                story_file: Some(f.path.clone()),
                epic_title: None,
            };
            // Refusals of the story rules happen before any write, so the
            // transaction stays usable and the story is reported instead.
            match upsert_market_story(c, product_id, &input, user_id).await {
                Ok(r) => r,
                Err(e @ (AppError::Validation(_) | AppError::Conflict(_))) => {
                    let reason = e.to_string();
                    for file in story_files(s) {
                        sum.rejected.push(ImportIssue { file, reason: reason.clone() });
                    }
                    return Ok(());
                }
                Err(e) => return Err(e),
            }
        }
        None => {
            let existing = story::Entity::find()
                .filter(story::Column::ProductId.eq(product_id))
                .filter(story::Column::EpicNumber.eq(s.number.epic))
                .filter(story::Column::StoryNumber.eq(&s.number.story))
                .filter(story::Column::WorkflowStatus.is_not_null())
                .one(c)
                .await?;
            match existing {
                Some(r) => (r, UpsertOutcome::Unchanged),
                None => {
                    for file in story_files(s) {
                        sum.rejected.push(ImportIssue {
                            file,
                            reason: format!("no story {number} in docs/stories or in the project"),
                        });
                    }
                    return Ok(());
                }
            }
        }
    };
    if let Some(f) = &s.story_file
        && let Some(st) = f.value.status
        && row.workflow_status.as_deref() != Some(st.as_db())
    {
        sum.warnings.push(ImportIssue {
            file: f.path.clone(),
            reason: format!(
                "the file says {} but the story is {}; the import does not move the workflow",
                st.as_api(),
                row.workflow_status
                    .as_deref()
                    .and_then(WorkflowStatus::from_db)
                    .map_or_else(|| "?".to_string(), |w| w.as_api())
            ),
        });
    }
    if apply_bmad_record(c, &row, s.validation.as_ref(), s.gate.as_ref(), user_id).await?
        && outcome == UpsertOutcome::Unchanged
    {
        outcome = UpsertOutcome::Updated;
    }
    match outcome {
        UpsertOutcome::Created => sum.created += 1,
        UpsertOutcome::Updated => sum.updated += 1,
        UpsertOutcome::Unchanged => sum.unchanged += 1,
    }
    sum.stories.push(ImportedStory { number, story_id: row.id, outcome });
    Ok(())
}
