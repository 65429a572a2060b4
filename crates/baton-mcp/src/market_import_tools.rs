//! `import_bmad`: the BMAD import of `baton import bmad` and `POST
//! /api/projects/{id}/import/bmad` for agents, a thin adapter over the same
//! service (`App::import_bmad_archive`). The archive travels as base64 text;
//! over Streamable HTTP the whole request stays within the server's JSON
//! body limit (1 MB by default), so larger repositories go through REST or
//! the command line.

use baton_app::{
    AppError, AppResult,
    marketplace::import::{BmadArchive, archive::ArchiveFormat},
};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;

use crate::{
    base64::decode_base64,
    tools::{Cx, parse, to_json},
};

/// The archive's format, as the caller states it.
#[derive(Debug, Clone, Copy, JsonSchema, Deserialize)]
pub(crate) enum FormatArg {
    /// A gzip-compressed tar.
    #[serde(rename = "tar.gz", alias = "tgz", alias = "tar_gz")]
    #[schemars(rename = "tar.gz")]
    TarGz,
    /// A zip.
    #[serde(rename = "zip")]
    #[schemars(rename = "zip")]
    Zip,
}

/// Arguments of `import_bmad`.
#[derive(JsonSchema, Deserialize)]
#[schemars(deny_unknown_fields)]
#[serde(deny_unknown_fields)]
pub(crate) struct ImportBmadArgs {
    /// The project (id or code).
    project_id: String,
    /// A tar.gz or zip of the repository's `docs/` (or of the repository),
    /// base64-encoded (standard alphabet, padding optional).
    archive_base64: String,
    /// `tar.gz` or `zip`; told by the bytes when left out, and checked
    /// against them when given.
    format: Option<FormatArg>,
}

/// `import_bmad`.
pub(crate) async fn import_bmad(cx: &Cx<'_>, args: Value) -> AppResult<Value> {
    let a: ImportBmadArgs = parse(args)?;
    let bytes =
        decode_base64(&a.archive_base64).ok_or_else(|| AppError::field("archive_base64", "is not valid base64"))?;
    let format = a.format.map(|f| match f {
        FormatArg::TarGz => ArchiveFormat::TarGz,
        FormatArg::Zip => ArchiveFormat::Zip,
    });
    let archive = BmadArchive { bytes, format, field: "archive_base64" };
    to_json(cx.app.import_bmad_archive(cx.actor, &a.project_id, archive, |_, _| {}).await?)
}
