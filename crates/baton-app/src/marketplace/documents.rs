//! Project documents (marketplace reference §8): supporting files of a
//! project (wireframes, PDFs, notes) kept in an object store — a directory
//! under the data directory by default, S3-compatible storage by
//! configuration (`documents_url`), so several `baton serve` processes can
//! share them.
//!
//! Decisions where the reference is silent:
//! - Who: the parties of the project read and upload — its client, its
//!   product members (read-only members only read) and experts with an
//!   accepted bid on it. Everyone else gets 404. The uploader and the client
//!   delete.
//! - Objects are stored by content hash (`projects/<id>/<sha256>`), as the
//!   reference proposes: the same bytes uploaded twice are stored once, a
//!   file name can never become a path, and deleting one row removes the
//!   object only when no other row of the project points at it.
//! - The object is written before its row; if the row cannot be written the
//!   object is removed again unless another row uses it. Deleting removes
//!   the row first and the object after the commit: a crash in between
//!   leaves an unreferenced object, never a row without its file.
//! - Without a configured store the document routes answer 503.

use std::sync::Arc;

use baton_domain::{
    ValidationErrors,
    marketplace::documents::{check_content, check_document_type, check_filename},
};
use baton_store::{
    entities::{document, product},
    new_id, now,
};
use object_store::{ObjectStore, ObjectStoreExt, PutPayload, local::LocalFileSystem, path::Path as ObjectPath};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect};
use serde::Serialize;

use crate::{Actor, App, AppError, AppResult, access, secrets::sha256_bytes_hex};

/// Opens the document store a `documents_url` names: `file:///abs/dir`
/// (created if missing) or `s3://bucket[/prefix]` with credentials and
/// endpoint from the usual `AWS_*` environment variables.
pub fn open_store(url: &str) -> Result<Arc<dyn ObjectStore>, String> {
    if let Some(dir) = url.strip_prefix("file://") {
        std::fs::create_dir_all(dir).map_err(|e| format!("cannot create the documents directory {dir}: {e}"))?;
        let fs = LocalFileSystem::new_with_prefix(dir).map_err(|e| format!("documents directory {dir}: {e}"))?;
        return Ok(Arc::new(fs));
    }
    if url.starts_with("s3://") {
        let s3 = object_store::aws::AmazonS3Builder::from_env()
            .with_url(url)
            .build()
            .map_err(|e| format!("documents store {url}: {e}"))?;
        return Ok(Arc::new(s3));
    }
    Err(format!("documents store `{url}`: use file:///absolute/dir or s3://bucket/prefix"))
}

/// A document's metadata as the API answers it.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct DocumentView {
    /// Id.
    pub id: String,
    /// The project.
    pub project_id: String,
    /// Who uploaded it.
    pub uploaded_by_id: String,
    /// The file name it is downloaded as.
    pub filename: String,
    /// Its MIME type.
    pub mime_type: String,
    /// Size in bytes.
    pub size: i64,
    /// What it is for: brief, prd, architecture, design, wireframes, other.
    pub document_type: String,
    /// SHA-256 of the content, hex.
    pub sha256: String,
    /// When.
    pub created_at: chrono::DateTime<chrono::Utc>,
}

/// An upload.
#[derive(Debug, Clone)]
pub struct NewDocument {
    /// The file name (no path).
    pub filename: String,
    /// brief, prd, architecture, design, wireframes or other.
    pub document_type: String,
    /// The declared MIME type.
    pub content_type: String,
    /// The content.
    pub bytes: Vec<u8>,
}

/// A downloaded document.
#[derive(Debug, Clone)]
pub struct DocumentFile {
    /// Its metadata.
    pub meta: DocumentView,
    /// Its content.
    pub bytes: Vec<u8>,
}

/// How the caller stands to a project.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Party {
    /// The client (owner).
    Client,
    /// A product member or an accepted expert: reads and uploads.
    Contributor,
    /// A read-only member.
    Reader,
}

fn view(m: document::Model) -> DocumentView {
    let sha256 = m.storage_path.rsplit('/').next().unwrap_or_default().to_string();
    DocumentView {
        id: m.id,
        project_id: m.product_id,
        uploaded_by_id: m.uploaded_by_id,
        filename: m.filename,
        mime_type: m.mime_type,
        size: m.size,
        document_type: m.document_type,
        sha256,
        created_at: m.created_at,
    }
}

impl App {
    fn document_store(&self) -> AppResult<Arc<dyn ObjectStore>> {
        self.documents.clone().ok_or_else(|| AppError::Unavailable("document storage is not configured".into()))
    }

    /// The caller's standing in a marketplace project (visibility decided
    /// by [`access::project_for`]); 404 for everyone else.
    async fn project_party(&self, actor: &Actor, project_id: &str) -> AppResult<(product::Model, Party)> {
        let (p, read_only) = match access::project_for(&self.db, actor, project_id).await {
            Ok((p, a)) => (p, !a.can_write()),
            Err(e) => return Err(e),
        };
        let party = if p.user_id == actor.user_id {
            Party::Client
        } else if !read_only {
            Party::Contributor
        } else if !actor.is_demo && access::has_accepted_bid(&self.db, actor, &p.id).await? {
            // Experts with an accepted bid read the project but contribute files.
            Party::Contributor
        } else {
            Party::Reader
        };
        Ok((p, party))
    }

    /// Uploads a document to a project (its client, read-write members and
    /// accepted experts). Validation names the field: `filename`,
    /// `document_type`, `content_type` (not allowed, or not what the bytes
    /// are) or `file` (empty, too big).
    pub async fn upload_document(
        &self,
        actor: &Actor,
        project_id: &str,
        input: NewDocument,
    ) -> AppResult<DocumentView> {
        actor.require_write()?;
        let (project, party) = self.project_party(actor, project_id).await?;
        if party == Party::Reader {
            return Err(AppError::Forbidden("you have read-only access to this project".into()));
        }
        let mut errs = ValidationErrors::new();
        let filename = check_filename(&mut errs, &input.filename);
        let document_type = check_document_type(&mut errs, &input.document_type);
        let mime = check_content(&mut errs, &input.content_type, &input.bytes, self.config.documents_max_bytes);
        errs.into_result()?;
        let store = self.document_store()?;
        let hash = sha256_bytes_hex(&input.bytes);
        let key = format!("projects/{}/{hash}", project.id);
        let size = i64::try_from(input.bytes.len()).map_err(|_| AppError::field("file", "is too big"))?;
        store
            .put(&ObjectPath::from(key.as_str()), PutPayload::from(input.bytes))
            .await
            .map_err(|e| AppError::internal_from("cannot store the document", e))?;
        let row = document::ActiveModel {
            id: sea_orm::Set(new_id()),
            product_id: sea_orm::Set(project.id.clone()),
            uploaded_by_id: sea_orm::Set(actor.user_id.clone()),
            filename: sea_orm::Set(filename),
            storage_path: sea_orm::Set(key.clone()),
            mime_type: sea_orm::Set(mime),
            size: sea_orm::Set(size),
            document_type: sea_orm::Set(document_type),
            created_at: sea_orm::Set(now()),
        }
        .insert(&self.db)
        .await;
        match row {
            Ok(row) => Ok(view(row)),
            Err(e) => {
                self.drop_object_if_unused(&store, &key).await;
                Err(e.into())
            }
        }
    }

    /// A project's documents, newest first, optionally of one type.
    pub async fn list_documents(
        &self,
        actor: &Actor,
        project_id: &str,
        document_type: Option<&str>,
    ) -> AppResult<Vec<DocumentView>> {
        let (project, _) = self.project_party(actor, project_id).await?;
        let mut q = document::Entity::find().filter(document::Column::ProductId.eq(&project.id));
        if let Some(t) = document_type {
            q = q.filter(document::Column::DocumentType.eq(t.trim().to_ascii_lowercase()));
        }
        Ok(q.order_by_desc(document::Column::CreatedAt).limit(500).all(&self.db).await?.into_iter().map(view).collect())
    }

    /// One document with its content.
    pub async fn download_document(&self, actor: &Actor, document_id: &str) -> AppResult<DocumentFile> {
        let row = self.readable_document(actor, document_id).await?;
        let store = self.document_store()?;
        let got = store
            .get(&ObjectPath::from(row.storage_path.as_str()))
            .await
            .map_err(|e| AppError::internal_from("cannot read the document", e))?;
        let bytes = got.bytes().await.map_err(|e| AppError::internal_from("cannot read the document", e))?;
        Ok(DocumentFile { meta: view(row), bytes: bytes.to_vec() })
    }

    /// Deletes a document (its uploader or the project's client).
    pub async fn delete_document(&self, actor: &Actor, document_id: &str) -> AppResult<()> {
        actor.require_write()?;
        let row = self.readable_document(actor, document_id).await?;
        let project = product::Entity::find_by_id(&row.product_id).one(&self.db).await?;
        let is_client = project.is_some_and(|p| p.user_id == actor.user_id);
        if row.uploaded_by_id != actor.user_id && !is_client {
            return Err(AppError::Forbidden("only the uploader or the project's client deletes a document".into()));
        }
        let store = self.document_store()?;
        document::Entity::delete_by_id(&row.id).exec(&self.db).await?;
        self.drop_object_if_unused(&store, &row.storage_path).await;
        Ok(())
    }

    async fn readable_document(&self, actor: &Actor, document_id: &str) -> AppResult<document::Model> {
        let row =
            document::Entity::find_by_id(document_id).one(&self.db).await?.ok_or(AppError::NotFound("document"))?;
        self.project_party(actor, &row.product_id).await.map_err(|e| match e {
            AppError::NotFound(_) => AppError::NotFound("document"),
            e => e,
        })?;
        Ok(row)
    }

    async fn drop_object_if_unused(&self, store: &Arc<dyn ObjectStore>, key: &str) {
        let users = document::Entity::find().filter(document::Column::StoragePath.eq(key)).count(&self.db).await;
        if matches!(users, Ok(0))
            && let Err(e) = store.delete(&ObjectPath::from(key)).await
        {
            tracing::warn!(key, error = %e, "cannot delete an unused document object");
        }
    }
}
