//! Ideas: a person's private notes that are grilled into `grill_md`,
//! planned into `plan_md` and later materialized into backlog (agent-backlog
//! reference §7, §3.8).
//!
//! An idea belongs to the user who created it and to nobody else: another
//! user (administrators included) gets the same 404 as for an idea that does
//! not exist, and a product-scoped token sees only the ideas without a
//! product or with one in its scope. Every write checks the caller first
//! (demo accounts are read-only), runs in [`in_user_txn`] (one transaction,
//! the owner's row locked, so `IDEA-NNN` codes never race) and announces an
//! `idea_changed` event to the owner after the commit.
//!
//! Decisions where the reference is silent:
//! - Ideas are **archived, not deleted** (`PATCH {archived: true}`): the seed
//!   keeps an `archived` flag, and deleting would cascade to the idea's jobs
//!   and questions while a worker may still be running one. An archived idea
//!   is read-only until it is unarchived; lists hide archived ideas unless
//!   asked (`archived=true`).
//! - The product and the secondary products must be products the caller may
//!   change (READ_WRITE); an unknown or read-only one is a 422 naming the
//!   field. The product cannot change once the idea was materialized into a
//!   PBI of it (409). A secondary product equal to the product is dropped;
//!   duplicates count once.
//! - `plan_md` may be written while a make-plan job may run or is running
//!   ([`PLAN_MD_WRITABLE_IN`]); a plan that does not parse is stored anyway
//!   with PLAN_FAILED so its errors (with line numbers) can be shown and
//!   fixed, as §3.8 says. Hostile input (over [`PLAN_MD_MAX_BYTES`], a
//!   YAML bomb, absurd nesting, a NUL) is refused outright (422, nothing
//!   written). The errors are logged in a JOB_EVENT
//!   entry and derived again from the stored plan when the idea is read.
//! - Grill and plan live in the idea's `grill_md` / `plan_md`; each grill
//!   written and each plan that parses is also kept as an immutable
//!   revision (`doc_revisions`, folders GRILLS / PLANS, see [`docs`]) that
//!   materialization pins through `pbi_docs` ([`materialize`]). There is no
//!   general product-documents feature (list/search/edit) yet.
//! - Dispatch guards and the pages' action availability share one set of
//!   guard functions ([`dispatch`]).
//! - Codes follow the reference: `n` = max(counter + 1, highest existing
//!   code + 1), and the counter is corrected when it has drifted.

mod context;
pub mod dispatch;
pub mod docs;
mod logs;
pub mod materialize;

pub use context::{CONTEXT_LOGS, IdeaContext};
pub use dispatch::{Availability, DispatchInput, DispatchKind, IdeaActions};
pub use docs::{MAX_GRILL_MD, MarkdownInput, PLAN_MD_WRITABLE_IN, PlanMdResult};
pub use logs::{IdeaLogView, MAX_LOG_CONTENT, MAX_METADATA_BYTES, NewIdeaLog, NoteType};
pub use materialize::{MaterializeInput, MaterializeResult};

use baton_domain::{
    ValidationErrors,
    ideas::{IdeaStatus, idea_code, idea_code_number},
    plan_md::{PLAN_MD_MAX_BYTES, PlanError, parse_plan_md},
};
use baton_store::{
    entities::{idea, idea_product},
    events::Event,
    new_id, now,
    sea_orm::{
        ActiveModelTrait, ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter,
        QueryOrder, QuerySelect, Statement, sea_query::Query,
    },
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::{
    Actor, App, AppError, AppResult,
    backlog::{MAX_TEXT, check_opt_text, check_title, clean, clean_opt, nullable, paginate, parse_status},
    list::{Page, PageParams},
    products,
    txn::in_user_txn,
};

/// Event type published (to the owner) after an idea was created or changed.
pub const IDEA_CHANGED: &str = "idea_changed";
/// Most secondary products an idea may have.
pub const MAX_SECONDARY_PRODUCTS: usize = 20;

/// An idea as the detail routes return it.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct IdeaView {
    /// Id (UUID v7).
    pub id: String,
    /// `IDEA-NNN`, unique per owner; never changes.
    pub code: String,
    /// Title (1–200 characters).
    pub title: String,
    /// Description (≤ 4000 characters).
    pub description: Option<String>,
    /// Where the idea is in its lifecycle.
    pub status: IdeaStatus,
    /// The product it is for, if chosen.
    pub product_id: Option<String>,
    /// Secondary products it also affects.
    pub product_ids: Vec<String>,
    /// The grill's result (markdown).
    pub grill_md: Option<String>,
    /// The plan (markdown with YAML front-matter).
    pub plan_md: Option<String>,
    /// Why the stored plan does not parse (status plan_failed), with line
    /// numbers for YAML errors and dotted paths for schema errors; empty otherwise.
    pub plan_errors: Vec<PlanError>,
    /// The PBI it was materialized into.
    pub pbi_id: Option<String>,
    /// The sprint built for it at materialization.
    pub build_sprint_id: Option<String>,
    /// Archived ideas are read-only and hidden from lists by default.
    pub archived: bool,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

/// An idea in a list (without its markdown).
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct IdeaSummary {
    /// Id (UUID v7).
    pub id: String,
    /// `IDEA-NNN`.
    pub code: String,
    /// Title.
    pub title: String,
    /// Where the idea is in its lifecycle.
    pub status: IdeaStatus,
    /// The product it is for, if chosen.
    pub product_id: Option<String>,
    /// The PBI it was materialized into.
    pub pbi_id: Option<String>,
    /// Whether it is archived.
    pub archived: bool,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

fn idea_view(m: idea::Model, product_ids: Vec<String>) -> AppResult<IdeaView> {
    let status = IdeaStatus::decode(&m.status, "ideas.status")?;
    // Derived from the stored plan rather than stored beside it, so the
    // errors shown always belong to the plan shown.
    let plan_errors = match (&m.plan_md, status) {
        (Some(md), IdeaStatus::PlanFailed) => parse_plan_md(md).err().map(|e| e.0).unwrap_or_default(),
        _ => Vec::new(),
    };
    Ok(IdeaView {
        status,
        plan_errors,
        product_ids,
        id: m.id,
        code: m.code,
        title: m.title,
        description: m.description,
        product_id: m.product_id,
        grill_md: m.grill_md,
        plan_md: m.plan_md,
        pbi_id: m.pbi_id,
        build_sprint_id: m.build_sprint_id,
        archived: m.archived,
        created_at: m.created_at,
        updated_at: m.updated_at,
    })
}

fn idea_summary(m: idea::Model) -> AppResult<IdeaSummary> {
    Ok(IdeaSummary {
        status: IdeaStatus::decode(&m.status, "ideas.status")?,
        id: m.id,
        code: m.code,
        title: m.title,
        product_id: m.product_id,
        pbi_id: m.pbi_id,
        archived: m.archived,
        created_at: m.created_at,
        updated_at: m.updated_at,
    })
}

/// Input for a new idea.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewIdea {
    /// Title, 1–200 characters.
    #[schema(max_length = 200, pattern = "\\S")]
    pub title: String,
    /// Description, at most 4000 characters.
    #[serde(default)]
    #[schema(max_length = 4000)]
    pub description: Option<String>,
    /// The product (id or code) it is for; one you may change.
    #[serde(default)]
    pub product_id: Option<String>,
    /// Secondary products (ids or codes) it also affects, at most 20.
    #[serde(default)]
    #[schema(max_items = 20)]
    pub product_ids: Option<Vec<String>>,
}

/// Changes to an idea; absent fields stay as they are.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(min_properties = 1)]
pub struct IdeaPatch {
    /// New title.
    #[serde(default)]
    #[schema(max_length = 200, pattern = "\\S")]
    pub title: Option<String>,
    /// New description; `null` clears it.
    #[serde(default, deserialize_with = "nullable::deserialize")]
    #[schema(value_type = Option<String>, max_length = 4000)]
    pub description: Option<Option<String>>,
    /// New product (id or code); `null` clears it.
    #[serde(default, deserialize_with = "nullable::deserialize")]
    #[schema(value_type = Option<String>)]
    pub product_id: Option<Option<String>>,
    /// Replaces the secondary products (ids or codes), at most 20.
    #[serde(default)]
    #[schema(max_items = 20)]
    pub product_ids: Option<Vec<String>>,
    /// Archive (read-only, hidden from lists) or unarchive.
    #[serde(default)]
    pub archived: Option<bool>,
}

/// Which of the caller's ideas to list.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct IdeaFilter {
    /// Only this status (lowercase, e.g. `plan_ready`).
    #[param(value_type = Option<IdeaStatus>, inline)]
    pub status: Option<String>,
    /// Only ideas for this product id (as product or secondary product).
    pub product: Option<String>,
    /// Archived ideas instead of current ones (default false).
    pub archived: Option<bool>,
}

fn validate_new(input: &NewIdea) -> Result<(), ValidationErrors> {
    let mut errs = ValidationErrors::new();
    check_title(&mut errs, "title", &input.title);
    check_opt_text(&mut errs, "description", input.description.as_deref(), MAX_TEXT);
    check_product_count(&mut errs, input.product_ids.as_deref());
    errs.into_result()
}

fn validate_patch(p: &IdeaPatch) -> Result<(), ValidationErrors> {
    let mut errs = ValidationErrors::new();
    if let Some(t) = &p.title {
        check_title(&mut errs, "title", t);
    }
    if let Some(Some(d)) = &p.description {
        check_opt_text(&mut errs, "description", Some(d), MAX_TEXT);
    }
    check_product_count(&mut errs, p.product_ids.as_deref());
    if p.title.is_none()
        && p.description.is_none()
        && p.product_id.is_none()
        && p.product_ids.is_none()
        && p.archived.is_none()
    {
        errs.add("title", "give at least one of title, description, product_id, product_ids or archived");
    }
    errs.into_result()
}

fn check_product_count(errs: &mut ValidationErrors, ids: Option<&[String]>) {
    if ids.is_some_and(|ids| ids.len() > MAX_SECONDARY_PRODUCTS) {
        errs.add("product_ids", format!("at most {MAX_SECONDARY_PRODUCTS} products"));
    }
}

/// Resolves a product named in a request body to the id of a product the
/// caller may change; an unknown, invisible or read-only one is a 422 on `path`.
async fn product_field(app: &App, actor: &Actor, path: &str, reference: &str) -> AppResult<String> {
    match products::writable_ref(&app.db, actor, reference.trim()).await {
        Ok(p) => Ok(p.id),
        Err(AppError::NotFound(_)) => Err(AppError::field(path, "no product you can see has this id or code")),
        Err(AppError::Forbidden(_)) => {
            Err(AppError::field(path, "you have read-only access to this product; ideas go in products you can change"))
        }
        Err(e) => Err(e),
    }
}

/// Resolves secondary products: each must be changeable by the caller;
/// duplicates and the primary product are dropped.
async fn secondary_products(
    app: &App,
    actor: &Actor,
    refs: &[String],
    primary: Option<&str>,
) -> AppResult<Vec<String>> {
    let mut out: Vec<String> = Vec::new();
    for (i, r) in refs.iter().enumerate() {
        let id = product_field(app, actor, &format!("product_ids.{i}"), r).await?;
        if Some(id.as_str()) != primary && !out.contains(&id) {
            out.push(id);
        }
    }
    Ok(out)
}

/// The condition "an idea `actor` may see": their own, and within a token's
/// product scope when the token has one.
fn own_ideas(actor: &Actor) -> Condition {
    let mut cond = Condition::all().add(idea::Column::UserId.eq(&actor.user_id));
    if let Some(scope) = actor.token_scope() {
        cond = cond.add(
            Condition::any().add(idea::Column::ProductId.is_null()).add(idea::Column::ProductId.is_in(scope.to_vec())),
        );
    }
    cond
}

/// One of the caller's ideas by id or code (`IDEA-7`, `idea-007`); anyone
/// else's is `NotFound`.
pub(crate) async fn find_own<C: ConnectionTrait>(db: &C, actor: &Actor, reference: &str) -> AppResult<idea::Model> {
    let key = reference.trim();
    let mut by = Condition::any().add(idea::Column::Id.eq(key));
    if let Some(n) = idea_code_number(key) {
        by = by.add(idea::Column::Code.eq(idea_code(n)));
    }
    idea::Entity::find().filter(own_ideas(actor)).filter(by).one(db).await?.ok_or(AppError::NotFound("idea"))
}

/// The idea's secondary product ids, oldest first.
async fn secondary_ids<C: ConnectionTrait>(db: &C, idea_id: &str) -> AppResult<Vec<String>> {
    Ok(idea_product::Entity::find()
        .select_only()
        .column(idea_product::Column::ProductId)
        .filter(idea_product::Column::IdeaId.eq(idea_id))
        .order_by_asc(idea_product::Column::CreatedAt)
        .order_by_asc(idea_product::Column::Id)
        .into_tuple()
        .all(db)
        .await?)
}

/// Replaces the idea's secondary products.
async fn set_secondaries<C: ConnectionTrait>(db: &C, idea_id: &str, ids: &[String]) -> AppResult<()> {
    idea_product::Entity::delete_many().filter(idea_product::Column::IdeaId.eq(idea_id)).exec(db).await?;
    let t = now();
    for pid in ids {
        idea_product::ActiveModel {
            id: Set(new_id()),
            idea_id: Set(idea_id.to_string()),
            product_id: Set(pid.clone()),
            created_at: Set(t),
        }
        .insert(db)
        .await?;
    }
    Ok(())
}

/// Hands out the owner's next `IDEA-NNN`. Call inside [`in_user_txn`]: the
/// counter update holds the user's row until the commit, so two creates
/// never get the same number.
async fn next_idea_code<C: ConnectionTrait>(db: &C, user_id: &str) -> AppResult<String> {
    let backend = db.get_database_backend();
    let row = db
        .query_one_raw(Statement::from_sql_and_values(
            backend,
            "UPDATE users SET idea_code_counter = idea_code_counter + 1 WHERE id = $1 RETURNING idea_code_counter AS n",
            [user_id.into()],
        ))
        .await?
        .ok_or(AppError::NotFound("user"))?;
    let counter = i64::from(row.try_get::<i32>("", "n")?);
    let codes: Vec<String> = idea::Entity::find()
        .select_only()
        .column(idea::Column::Code)
        .filter(idea::Column::UserId.eq(user_id))
        .into_tuple()
        .all(db)
        .await?;
    let highest = codes.iter().filter_map(|c| idea_code_number(c)).max().unwrap_or(0);
    let n = counter.max(highest.saturating_add(1));
    if n != counter {
        // The counter drifted behind existing codes: catch it up.
        let stored = i32::try_from(n).map_err(|_| AppError::internal("idea code counter out of range"))?;
        db.execute_raw(Statement::from_sql_and_values(
            backend,
            "UPDATE users SET idea_code_counter = $1 WHERE id = $2",
            [stored.into(), user_id.into()],
        ))
        .await?;
    }
    Ok(idea_code(n))
}

/// 409 when the idea is archived.
fn ensure_not_archived(m: &idea::Model) -> AppResult<()> {
    if m.archived {
        return Err(AppError::Conflict(format!("idea {} is archived and read-only: unarchive it first", m.code)));
    }
    Ok(())
}

impl App {
    /// Announces an idea change to its owner.
    pub(crate) async fn announce_idea(&self, m: &idea::Model, action: &str) {
        let data = json!({ "idea_id": m.id, "code": m.code, "status": m.status.to_lowercase(), "action": action });
        let mut event = Event::new(IDEA_CHANGED).for_user(&m.user_id).with_data(data);
        if let Some(p) = &m.product_id {
            event = event.for_product(p);
        }
        self.announce(event).await;
    }

    /// Creates a DRAFT idea owned by the caller, with their next `IDEA-NNN`.
    pub async fn create_idea(&self, actor: &Actor, input: NewIdea) -> AppResult<IdeaView> {
        actor.require_write()?;
        validate_new(&input)?;
        let product_id = match input.product_id.as_deref().map(str::trim).filter(|r| !r.is_empty()) {
            Some(r) => Some(product_field(self, actor, "product_id", r).await?),
            None => None,
        };
        let secondaries =
            secondary_products(self, actor, input.product_ids.as_deref().unwrap_or_default(), product_id.as_deref())
                .await?;
        let uid = actor.user_id.clone();
        let kept = secondaries.clone();
        let row = in_user_txn(&self.db, &actor.user_id, move |c| {
            Box::pin(async move {
                let code = next_idea_code(c, &uid).await?;
                let t = now();
                let row = idea::ActiveModel {
                    id: Set(new_id()),
                    user_id: Set(uid),
                    product_id: Set(product_id),
                    code: Set(code),
                    title: Set(clean(&input.title)),
                    description: Set(clean_opt(input.description)),
                    grill_md: Set(None),
                    plan_md: Set(None),
                    plan_review_log: Set(None),
                    pbi_id: Set(None),
                    build_sprint_id: Set(None),
                    build_sprint_run_id: Set(None),
                    status: Set(IdeaStatus::Draft.as_db().into()),
                    archived: Set(false),
                    created_at: Set(t),
                    updated_at: Set(t),
                }
                .insert(c)
                .await?;
                set_secondaries(c, &row.id, &kept).await?;
                Ok(row)
            })
        })
        .await?;
        self.announce_idea(&row, "created").await;
        idea_view(row, secondaries)
    }

    /// One of the caller's ideas, by id or code.
    pub async fn get_idea(&self, actor: &Actor, idea_ref: &str) -> AppResult<IdeaView> {
        let m = find_own(&self.db, actor, idea_ref).await?;
        let secondaries = secondary_ids(&self.db, &m.id).await?;
        idea_view(m, secondaries)
    }

    /// The caller's ideas, newest first, filtered and paginated.
    pub async fn list_ideas(
        &self,
        actor: &Actor,
        filter: IdeaFilter,
        params: PageParams,
    ) -> AppResult<Page<IdeaSummary>> {
        let status = parse_status(filter.status.as_deref(), "status", IdeaStatus::parse_api, IdeaStatus::api_values)?;
        let mut q = idea::Entity::find()
            .filter(own_ideas(actor))
            .filter(idea::Column::Archived.eq(filter.archived.unwrap_or(false)));
        if let Some(s) = status {
            q = q.filter(idea::Column::Status.eq(s.as_db()));
        }
        if let Some(p) = filter.product.as_deref().map(str::trim).filter(|p| !p.is_empty()) {
            let secondary = Query::select()
                .column(idea_product::Column::IdeaId)
                .from(idea_product::Entity)
                .and_where(idea_product::Column::ProductId.eq(p))
                .to_owned();
            q = q.filter(
                Condition::any().add(idea::Column::ProductId.eq(p)).add(idea::Column::Id.in_subquery(secondary)),
            );
        }
        let q = q.order_by_desc(idea::Column::CreatedAt).order_by_desc(idea::Column::Id);
        paginate(&self.db, q, params).await?.try_map(idea_summary)
    }

    /// Changes an idea's title, description, product, secondary products or
    /// archived flag. The status only moves through the lifecycle.
    pub async fn update_idea(&self, actor: &Actor, idea_ref: &str, patch: IdeaPatch) -> AppResult<IdeaView> {
        actor.require_write()?;
        let found = find_own(&self.db, actor, idea_ref).await?;
        validate_patch(&patch)?;
        let product_id = match &patch.product_id {
            Some(Some(r)) if !r.trim().is_empty() => Some(Some(product_field(self, actor, "product_id", r).await?)),
            Some(_) => Some(None),
            None => None,
        };
        let primary = product_id.clone().unwrap_or_else(|| found.product_id.clone());
        let secondaries = match &patch.product_ids {
            Some(refs) => Some(secondary_products(self, actor, refs, primary.as_deref()).await?),
            None => None,
        };
        let id = found.id.clone();
        let (row, secondaries) = in_user_txn(&self.db, &actor.user_id, move |c| {
            Box::pin(async move {
                let m = idea::Entity::find_by_id(id).one(c).await?.ok_or(AppError::NotFound("idea"))?;
                // Unarchiving may come with other changes; anything else needs a live idea.
                if patch.archived != Some(false) {
                    ensure_not_archived(&m)?;
                }
                if let Some(p) = &product_id
                    && *p != m.product_id
                    && m.pbi_id.is_some()
                {
                    return Err(AppError::Conflict(format!(
                        "idea {} was materialized into a PBI of its product; its product cannot change",
                        m.code
                    )));
                }
                let mut am: idea::ActiveModel = m.into();
                if let Some(t) = patch.title {
                    am.title = Set(clean(&t));
                }
                if let Some(d) = patch.description {
                    am.description = Set(clean_opt(d));
                }
                if let Some(p) = product_id {
                    am.product_id = Set(p);
                }
                if let Some(a) = patch.archived {
                    am.archived = Set(a);
                }
                am.updated_at = Set(now());
                let row = am.update(c).await?;
                let secondaries = match secondaries {
                    Some(ids) => {
                        set_secondaries(c, &row.id, &ids).await?;
                        ids
                    }
                    None => {
                        // A new primary product is no longer also a secondary one.
                        if let Some(p) = &row.product_id {
                            idea_product::Entity::delete_many()
                                .filter(idea_product::Column::IdeaId.eq(&row.id))
                                .filter(idea_product::Column::ProductId.eq(p))
                                .exec(c)
                                .await?;
                        }
                        secondary_ids(c, &row.id).await?
                    }
                };
                Ok((row, secondaries))
            })
        })
        .await?;
        self.announce_idea(&row, "updated").await;
        idea_view(row, secondaries)
    }
}

/// Checks a markdown text's size: 1..`max` characters after trimming.
fn check_markdown(markdown: &str, max_chars: usize) -> AppResult<()> {
    let mut errs = ValidationErrors::new();
    baton_domain::validation::check_text(&mut errs, "markdown", markdown, 1, max_chars);
    Ok(errs.into_result()?)
}

/// A `plan_md` over the parser's size limit is refused before anything is written.
fn check_plan_size(markdown: &str) -> AppResult<()> {
    if markdown.len() > PLAN_MD_MAX_BYTES {
        return Err(AppError::field(
            "markdown",
            format!("is {} bytes; a plan may be at most {PLAN_MD_MAX_BYTES} bytes (256 KB)", markdown.len()),
        ));
    }
    Ok(())
}
