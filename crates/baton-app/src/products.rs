//! Products: create, list, read, change, archive, delete; the caller's
//! active product; resolving a product by id **or** code; the archived guard
//! every backlog write calls ([`ensure_not_archived`]).
//!
//! Decisions where the reference is silent:
//! - Any non-demo user may create products (the reference only says product
//!   owners add developers); the creator owns it.
//! - Names and codes are unique per owner **case-insensitively** (the
//!   database index is exact; the service checks first, the index catches
//!   races). Codes are 1–30 letters, digits, `-`, `_` or `.` so they can be
//!   used in URLs (`GET /api/products/BATON`).
//! - Archived products are read-only for everyone: every write but
//!   unarchive and delete answers 409. Selecting an archived product as the
//!   active product is allowed (it changes the user, not the product).
//! - Lists are ordered oldest first (`created_at`, `id`), the same on both
//!   backends regardless of collation.

mod context;
mod export;
mod members;

pub use context::{ContextIdea, ContextSprint, ContextStory, ContextTask, NextStory, ProductContext, SprintTask};
pub use export::{
    BacklogExport, CSV_COLUMNS, ExportFormat, ExportLog, ExportParams, ExportPbi, ExportProduct, ExportSprint,
    ExportStory, ExportTask, ExportedFile, ImportResult, to_csv,
};
pub use members::{MemberPatch, MemberView, NewMember};

use baton_domain::{
    ValidationErrors,
    access::ProductAccess,
    backlog::{PrStrategy, ProductKind},
    validation::check_text,
};
use baton_store::{
    entities::{product, product_member, user},
    error::{ResultExt, unique},
    events::Event,
    new_id, now,
    sea_orm::{
        ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
        QueryOrder, QuerySelect,
    },
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::{
    Actor, App, AppError, AppResult, AuthVia,
    access::{self, Reach, product_for},
    accounts::{UserView, view},
    list::{Page, PageParams},
};

/// Event type published after a product or its membership changed.
pub const PRODUCT_CHANGED: &str = "product_changed";

/// Longest product name.
pub const MAX_NAME: usize = 200;
/// Longest product code.
pub const MAX_CODE: usize = 30;
/// Longest description / definition of done.
pub const MAX_TEXT: usize = 4000;
/// Largest default thinking budget (tokens).
pub const MAX_THINKING_BUDGET: i32 = 200_000;

/// A product as every route returns it: the reference's
/// `{id, code, name, description, repo_url, definition_of_done}` plus the
/// rest of its settings and the caller's access.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ProductView {
    /// Id (UUID v7).
    pub id: String,
    /// Short code, unique per owner (e.g. `BATON`); usable instead of the id.
    pub code: Option<String>,
    /// Name, unique per owner.
    pub name: String,
    /// What the product is.
    pub description: Option<String>,
    /// The repository agents work in.
    pub repo_url: Option<String>,
    /// What "done" means for every story.
    pub definition_of_done: String,
    /// The owner's user id.
    pub user_id: String,
    /// Archived products are read-only and not listed by default.
    pub archived: bool,
    /// Open pull requests automatically for agent work.
    pub auto_pr: bool,
    /// `sprint`, `story` or `sprint_batch`.
    pub pr_strategy: PrStrategy,
    /// Model agents use unless a task or job says otherwise.
    pub preferred_model: Option<String>,
    /// Default thinking budget (tokens).
    pub thinking_budget_default: Option<i32>,
    /// Agent permission mode (e.g. `acceptEdits`).
    pub preferred_permission_mode: Option<String>,
    /// Quota floor (0–100 %) for claiming this product's jobs: a worker whose
    /// last reported quota is lower does not claim them; `null` = each
    /// user's own threshold.
    pub min_quota_pct: Option<i32>,
    /// `app` or `system`.
    pub kind: ProductKind,
    /// Review agent pull requests automatically.
    pub auto_pr_review: bool,
    /// Review finished tasks automatically.
    pub auto_task_review: bool,
    /// Review idea plans automatically.
    pub auto_plan_review: bool,
    /// Turn reviewed plans into backlog automatically.
    pub auto_materialize_plan: bool,
    /// Deploy automatically.
    pub auto_deploy: bool,
    /// The caller's access: `owner`, `read_write` or `read_only`.
    pub access: String,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

fn access_name(a: ProductAccess) -> &'static str {
    match a {
        ProductAccess::Own => "owner",
        ProductAccess::Write => "read_write",
        _ => "read_only",
    }
}

/// Builds the view of a product row for a caller with `access`.
pub fn product_view(p: product::Model, access: ProductAccess) -> AppResult<ProductView> {
    Ok(ProductView {
        pr_strategy: PrStrategy::decode(&p.pr_strategy, "products.pr_strategy")?,
        kind: ProductKind::decode(&p.kind, "products.kind")?,
        access: access_name(access).into(),
        id: p.id,
        code: p.code,
        name: p.name,
        description: p.description,
        repo_url: p.repo_url,
        definition_of_done: p.definition_of_done,
        user_id: p.user_id,
        archived: p.archived,
        auto_pr: p.auto_pr,
        preferred_model: p.preferred_model,
        thinking_budget_default: p.thinking_budget_default,
        preferred_permission_mode: p.preferred_permission_mode,
        min_quota_pct: p.min_quota_pct,
        auto_pr_review: p.auto_pr_review,
        auto_task_review: p.auto_task_review,
        auto_plan_review: p.auto_plan_review,
        auto_materialize_plan: p.auto_materialize_plan,
        auto_deploy: p.auto_deploy,
        created_at: p.created_at,
        updated_at: p.updated_at,
    })
}

/// Input for a new product.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewProduct {
    /// 1–200 characters, unique among the caller's products.
    #[schema(max_length = 200, pattern = "\\S")]
    pub name: String,
    /// Optional short code: 1–30 letters, digits, `-`, `_`, `.`; unique among the caller's products.
    #[serde(default)]
    #[schema(min_length = 1, max_length = 30, pattern = "^[A-Za-z0-9._-]+$")]
    pub code: Option<String>,
    /// Up to 4000 characters.
    #[serde(default)]
    #[schema(max_length = 4000)]
    pub description: Option<String>,
    /// An `http(s)://`, `ssh://` or `git@host:path` repository URL.
    #[serde(default)]
    #[schema(
        max_length = 500,
        pattern = "^(?:(?:[Hh][Tt][Tt][Pp][Ss]?|[Ss][Ss][Hh]|[Gg][Ii][Tt])://(?:[^\\s\\x00-\\x1f\\x7f-\\x9f/?#]*@)?[^\\s\\x00-\\x1f\\x7f-\\x9f/?#@:.][^\\s\\x00-\\x1f\\x7f-\\x9f/?#@]*(?:[/?#][^\\s\\x00-\\x1f\\x7f-\\x9f]*)?|[^\\s\\x00-\\x1f\\x7f-\\x9f@:]+@[^\\s\\x00-\\x1f\\x7f-\\x9f:/]+:[^\\s\\x00-\\x1f\\x7f-\\x9f:]+)$"
    )]
    pub repo_url: Option<String>,
    /// Required, 1–4000 characters.
    #[schema(max_length = 4000, pattern = "\\S")]
    pub definition_of_done: String,
    /// Default false.
    #[serde(default)]
    pub auto_pr: Option<bool>,
    /// `sprint`, `story` or `sprint_batch` (default).
    #[serde(default)]
    pub pr_strategy: Option<PrStrategy>,
    /// Up to 200 characters.
    #[serde(default)]
    #[schema(max_length = 200)]
    pub preferred_model: Option<String>,
    /// 0–200000 tokens.
    #[serde(default)]
    #[schema(minimum = 0, maximum = 200000)]
    pub thinking_budget_default: Option<i32>,
    /// 1–40 letters, digits, `-` or `_` (e.g. `acceptEdits`).
    #[serde(default)]
    #[schema(max_length = 40, pattern = "^[A-Za-z0-9_-]*$")]
    pub preferred_permission_mode: Option<String>,
    /// Default false.
    #[serde(default)]
    pub auto_pr_review: Option<bool>,
    /// Default false.
    #[serde(default)]
    pub auto_task_review: Option<bool>,
    /// Default true.
    #[serde(default)]
    pub auto_plan_review: Option<bool>,
    /// Default true.
    #[serde(default)]
    pub auto_materialize_plan: Option<bool>,
    /// Default false.
    #[serde(default)]
    pub auto_deploy: Option<bool>,
    /// Quota floor 0–100 % for claiming this product's jobs; absent = each user's own threshold.
    #[serde(default)]
    #[schema(minimum = 0, maximum = 100)]
    pub min_quota_pct: Option<i32>,
}

/// Changes to a product; absent fields stay as they are, `null` clears an
/// optional field.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProductPatch {
    /// New name.
    #[schema(max_length = 200, pattern = "\\S")]
    pub name: Option<String>,
    /// New code (`null` clears it).
    #[serde(default, with = "double_option")]
    #[schema(value_type = Option<String>, min_length = 1, max_length = 30, pattern = "^[A-Za-z0-9._-]+$")]
    pub code: Option<Option<String>>,
    /// New description (`null` clears it).
    #[serde(default, with = "double_option")]
    #[schema(value_type = Option<String>, max_length = 4000)]
    pub description: Option<Option<String>>,
    /// New repository URL (`null` clears it).
    #[serde(default, with = "double_option")]
    #[schema(value_type = Option<String>, max_length = 500, pattern = "^(?:(?:[Hh][Tt][Tt][Pp][Ss]?|[Ss][Ss][Hh]|[Gg][Ii][Tt])://(?:[^\\s\\x00-\\x1f\\x7f-\\x9f/?#]*@)?[^\\s\\x00-\\x1f\\x7f-\\x9f/?#@:.][^\\s\\x00-\\x1f\\x7f-\\x9f/?#@]*(?:[/?#][^\\s\\x00-\\x1f\\x7f-\\x9f]*)?|[^\\s\\x00-\\x1f\\x7f-\\x9f@:]+@[^\\s\\x00-\\x1f\\x7f-\\x9f:/]+:[^\\s\\x00-\\x1f\\x7f-\\x9f:]+)$")]
    pub repo_url: Option<Option<String>>,
    /// New definition of done.
    #[schema(max_length = 4000, pattern = "\\S")]
    pub definition_of_done: Option<String>,
    /// Auto PR.
    pub auto_pr: Option<bool>,
    /// PR strategy.
    pub pr_strategy: Option<PrStrategy>,
    /// Preferred model (`null` clears it).
    #[serde(default, with = "double_option")]
    #[schema(value_type = Option<String>, max_length = 200)]
    pub preferred_model: Option<Option<String>>,
    /// Default thinking budget (`null` clears it).
    #[serde(default, with = "double_option")]
    #[schema(value_type = Option<i32>, minimum = 0, maximum = 200000)]
    pub thinking_budget_default: Option<Option<i32>>,
    /// Permission mode (`null` clears it).
    #[serde(default, with = "double_option")]
    #[schema(value_type = Option<String>, max_length = 40, pattern = "^[A-Za-z0-9_-]*$")]
    pub preferred_permission_mode: Option<Option<String>>,
    /// Auto PR review.
    pub auto_pr_review: Option<bool>,
    /// Auto task review.
    pub auto_task_review: Option<bool>,
    /// Auto plan review.
    pub auto_plan_review: Option<bool>,
    /// Auto materialize plan.
    pub auto_materialize_plan: Option<bool>,
    /// Auto deploy.
    pub auto_deploy: Option<bool>,
    /// Quota floor 0–100 % for claiming this product's jobs (`null` = each user's own threshold).
    #[serde(default, with = "double_option")]
    #[schema(value_type = Option<i32>, minimum = 0, maximum = 100)]
    pub min_quota_pct: Option<Option<i32>>,
}

/// Serde helper telling "absent" from "null".
pub(crate) mod double_option {
    use serde::{Deserialize, Deserializer};

    pub fn deserialize<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<Option<T>>, D::Error> {
        Ok(Some(Option::<T>::deserialize(d)?))
    }
}

/// Which products to list.
#[derive(Debug, Clone, Copy, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ProductFilter {
    /// `true` lists archived products instead of active ones.
    #[serde(default)]
    pub archived: Option<bool>,
    /// Page number, from 1 to 1000000.
    #[param(minimum = 1, maximum = 1_000_000)]
    pub page: Option<u64>,
    /// Items per page, 1–200 (default 50).
    pub limit: Option<u64>,
}

/// The caller's active product choice.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActiveProduct {
    /// A product id or code the caller can read; `null` clears the choice
    /// (the field is required, so a typo never clears it by accident).
    #[serde(deserialize_with = "nullable")]
    pub product_id: Option<String>,
}

/// A required field that may be `null` (serde treats a missing `Option` as
/// `None` unless a deserializer is named).
fn nullable<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Option::<String>::deserialize(d)
}

fn clean(s: Option<String>) -> Option<String> {
    s.map(|v| v.trim().to_string()).filter(|v| !v.is_empty())
}

/// Checks a repository URL: `http(s)://host/…`, `ssh://…`, `git://…` or
/// scp-style `user@host:path`, no spaces, at most 500 characters. Shared
/// with task `repo_url` overrides.
pub fn check_repo_url(errs: &mut ValidationErrors, path: &str, url: &str) {
    let ok = url.len() <= 500
        && !url.chars().any(|c| c.is_whitespace() || c.is_control())
        && match url.split_once("://") {
            Some((scheme, rest)) => {
                matches!(scheme.to_ascii_lowercase().as_str(), "http" | "https" | "ssh" | "git")
                    && rest.split(['/', '?', '#']).next().is_some_and(|host| {
                        let host = host.rsplit('@').next().unwrap_or(host);
                        !host.is_empty() && !host.starts_with(':') && !host.starts_with('.')
                    })
            }
            None => match url.split_once('@').and_then(|(u, rest)| rest.split_once(':').map(|(h, p)| (u, h, p))) {
                Some((u, h, p)) => !u.is_empty() && !h.is_empty() && !p.is_empty() && !h.contains('/'),
                None => false,
            },
        };
    if !ok {
        errs.add(path, "must be a repository URL like https://git.example.com/team/repo or git@host:team/repo.git");
    }
}

fn check_code(errs: &mut ValidationErrors, path: &str, code: &str) {
    let len = code.chars().count();
    if len == 0 || len > MAX_CODE {
        errs.add(path, format!("must be 1 to {MAX_CODE} characters"));
    } else if !code.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')) {
        errs.add(path, "may contain only letters, digits, '-', '_' and '.'");
    }
}

fn check_model(errs: &mut ValidationErrors, path: &str, v: &str) {
    check_text(errs, path, v, 1, 200);
}

fn check_mode(errs: &mut ValidationErrors, path: &str, v: &str) {
    if v.is_empty() || v.len() > 40 || !v.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_')) {
        errs.add(path, "must be 1 to 40 letters, digits, '-' or '_' (e.g. acceptEdits)");
    }
}

fn check_budget(errs: &mut ValidationErrors, path: &str, v: i32) {
    if !(0..=MAX_THINKING_BUDGET).contains(&v) {
        errs.add(path, format!("must be between 0 and {MAX_THINKING_BUDGET}"));
    }
}

fn check_quota(errs: &mut ValidationErrors, path: &str, v: i32) {
    if !(0..=100).contains(&v) {
        errs.add(path, "must be between 0 and 100");
    }
}

/// The validated, trimmed settings of a product, shared by create and import.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub name: String,
    pub code: Option<String>,
    pub description: Option<String>,
    pub repo_url: Option<String>,
    pub definition_of_done: String,
    pub auto_pr: bool,
    pub pr_strategy: PrStrategy,
    pub preferred_model: Option<String>,
    pub thinking_budget_default: Option<i32>,
    pub preferred_permission_mode: Option<String>,
    pub min_quota_pct: Option<i32>,
    pub kind: ProductKind,
    pub auto_pr_review: bool,
    pub auto_task_review: bool,
    pub auto_plan_review: bool,
    pub auto_materialize_plan: bool,
    pub auto_deploy: bool,
}

impl Settings {
    /// Validates `input`, naming fields under `prefix` (`""` or `product.`).
    pub(crate) fn from_input(input: NewProduct, prefix: &str, errs: &mut ValidationErrors) -> Settings {
        let p = |f: &str| format!("{prefix}{f}");
        check_text(errs, &p("name"), &input.name, 1, MAX_NAME);
        let code = input.code.map(|c| c.trim().to_string());
        if let Some(c) = &code {
            check_code(errs, &p("code"), c);
        }
        let description = clean(input.description);
        if let Some(d) = &description {
            check_text(errs, &p("description"), d, 0, MAX_TEXT);
        }
        let repo_url = clean(input.repo_url);
        if let Some(u) = &repo_url {
            check_repo_url(errs, &p("repo_url"), u);
        }
        check_text(errs, &p("definition_of_done"), &input.definition_of_done, 1, MAX_TEXT);
        let preferred_model = clean(input.preferred_model);
        if let Some(m) = &preferred_model {
            check_model(errs, &p("preferred_model"), m);
        }
        if let Some(b) = input.thinking_budget_default {
            check_budget(errs, &p("thinking_budget_default"), b);
        }
        let preferred_permission_mode = clean(input.preferred_permission_mode);
        if let Some(m) = &preferred_permission_mode {
            check_mode(errs, &p("preferred_permission_mode"), m);
        }
        if let Some(q) = input.min_quota_pct {
            check_quota(errs, &p("min_quota_pct"), q);
        }
        Settings {
            name: input.name.trim().to_string(),
            code,
            description,
            repo_url,
            definition_of_done: input.definition_of_done.trim().to_string(),
            auto_pr: input.auto_pr.unwrap_or(false),
            pr_strategy: input.pr_strategy.unwrap_or(PrStrategy::SprintBatch),
            preferred_model,
            thinking_budget_default: input.thinking_budget_default,
            preferred_permission_mode,
            min_quota_pct: input.min_quota_pct,
            kind: ProductKind::App,
            auto_pr_review: input.auto_pr_review.unwrap_or(false),
            auto_task_review: input.auto_task_review.unwrap_or(false),
            auto_plan_review: input.auto_plan_review.unwrap_or(true),
            auto_materialize_plan: input.auto_materialize_plan.unwrap_or(true),
            auto_deploy: input.auto_deploy.unwrap_or(false),
        }
    }

    pub(crate) fn into_active(self, id: String, owner_id: &str, created_at: DateTime<Utc>) -> product::ActiveModel {
        product::ActiveModel {
            id: Set(id),
            user_id: Set(owner_id.to_string()),
            name: Set(self.name),
            code: Set(self.code),
            description: Set(self.description),
            repo_url: Set(self.repo_url),
            definition_of_done: Set(self.definition_of_done),
            auto_pr: Set(self.auto_pr),
            pr_strategy: Set(self.pr_strategy.as_db().into()),
            archived: Set(false),
            preferred_model: Set(self.preferred_model),
            thinking_budget_default: Set(self.thinking_budget_default),
            preferred_permission_mode: Set(self.preferred_permission_mode),
            min_quota_pct: Set(self.min_quota_pct),
            kind: Set(self.kind.as_db().into()),
            auto_pr_review: Set(self.auto_pr_review),
            auto_task_review: Set(self.auto_task_review),
            auto_plan_review: Set(self.auto_plan_review),
            auto_materialize_plan: Set(self.auto_materialize_plan),
            auto_deploy: Set(self.auto_deploy),
            created_at: Set(created_at),
            updated_at: Set(now()),
            ..Default::default()
        }
    }
}

/// Whether another product of `owner_id` (other than `except`) already has
/// this name or code, compared case-insensitively. Returns which fields clash.
pub(crate) async fn owner_clashes<C: ConnectionTrait>(
    db: &C,
    owner_id: &str,
    except: Option<&str>,
    name: Option<&str>,
    code: Option<&str>,
) -> AppResult<(bool, bool)> {
    let mut q = product::Entity::find().filter(product::Column::UserId.eq(owner_id));
    if let Some(id) = except {
        q = q.filter(product::Column::Id.ne(id));
    }
    let rows: Vec<(String, Option<String>)> =
        q.select_only().column(product::Column::Name).column(product::Column::Code).into_tuple().all(db).await?;
    let name_taken = name.is_some_and(|n| rows.iter().any(|(rn, _)| rn.eq_ignore_ascii_case(n)));
    let code_taken =
        code.is_some_and(|c| rows.iter().any(|(_, rc)| rc.as_deref().is_some_and(|rc| rc.eq_ignore_ascii_case(c))));
    Ok((name_taken, code_taken))
}

/// For [`ResultExt::on_unique`]: a clash of an owner's product names or
/// codes as an error naming the field (`{prefix}name`, `{prefix}code`).
pub(crate) fn product_clash(prefix: &str) -> impl FnOnce(&str) -> Option<AppError> + '_ {
    move |index| {
        let field = match index {
            unique::PRODUCTS_CODE => "code",
            unique::PRODUCTS_NAME => "name",
            _ => return None,
        };
        Some(AppError::field(&format!("{prefix}{field}"), "is already used by another of your products"))
    }
}

/// Turns a unique violation on `products` into an error naming the field
/// (see [`product_clash`]).
pub(crate) fn product_unique_error(e: baton_store::sea_orm::DbErr, prefix: &str) -> AppError {
    let Err(e) = Err::<std::convert::Infallible, _>(e).on_unique(product_clash(prefix));
    e
}

/// Refuses writes to an archived product with 409; every backlog write
/// calls this after its access check (inside its transaction, after the
/// product row is locked, so an archive cannot slip in between).
pub fn ensure_not_archived(p: &product::Model) -> AppResult<()> {
    if p.archived {
        return Err(AppError::Conflict(format!(
            "product `{}` is archived and read-only: its owner must unarchive it before anything in it can change",
            p.name
        )));
    }
    Ok(())
}

/// Re-reads a product inside a write transaction (after `lock_product`) and
/// refuses if it has been archived meanwhile.
pub async fn ensure_not_archived_in<C: ConnectionTrait>(db: &C, product_id: &str) -> AppResult<product::Model> {
    let p = product::Entity::find_by_id(product_id.to_string()).one(db).await?.ok_or(AppError::NotFound("product"))?;
    ensure_not_archived(&p)?;
    Ok(p)
}

/// Finds a product by id or, failing that, by code among the products the
/// actor can see (case-insensitive), and returns it with the actor's access.
/// Unknown and inaccessible products are `NotFound`; a code shared by
/// several accessible products (of different owners) is a 422 asking for
/// the id.
pub async fn resolve<C: ConnectionTrait>(
    db: &C,
    actor: &Actor,
    id_or_code: &str,
) -> AppResult<(product::Model, ProductAccess)> {
    let key = id_or_code.trim();
    if product::Entity::find_by_id(key.to_string()).one(db).await?.is_some() {
        return product_for(db, actor, key).await;
    }
    if key.is_empty() || key.len() > MAX_CODE {
        return Err(AppError::NotFound("product"));
    }
    let mut q = product::Entity::find();
    if !matches!(actor.via, AuthVia::Cli) {
        q = q.filter(access::visible_products(actor, product::Column::Id, Reach::Own));
    }
    let candidates: Vec<product::Model> = q
        .filter(product::Column::Code.is_not_null())
        .all(db)
        .await?
        .into_iter()
        .filter(|p| p.code.as_deref().is_some_and(|c| c.eq_ignore_ascii_case(key)))
        .collect();
    let mut found = Vec::new();
    for p in candidates {
        if let Ok(hit) = product_for(db, actor, &p.id).await {
            found.push(hit);
        }
    }
    match found.len() {
        0 => Err(AppError::NotFound("product")),
        1 => Ok(found.remove(0)),
        n => Err(AppError::field(
            "product_id",
            format!("the code `{key}` matches {n} products you can access; use the product id instead"),
        )),
    }
}

/// A product (by id or code) the actor may read.
pub async fn readable_ref<C: ConnectionTrait>(db: &C, actor: &Actor, id_or_code: &str) -> AppResult<product::Model> {
    Ok(resolve(db, actor, id_or_code).await?.0)
}

/// A product (by id or code) the actor may change: 403 for readers and demo
/// users, 409 when archived.
pub async fn writable_ref<C: ConnectionTrait>(db: &C, actor: &Actor, id_or_code: &str) -> AppResult<product::Model> {
    actor.require_write()?;
    let (p, access) = resolve(db, actor, id_or_code).await?;
    if !access.can_write() {
        return Err(AppError::Forbidden("you have read-only access to this product".into()));
    }
    ensure_not_archived(&p)?;
    Ok(p)
}

/// A product (by id or code) the actor owns; 403 for everyone else who can
/// see it. Does not check `archived` (unarchive and delete need it).
pub async fn manageable_ref<C: ConnectionTrait>(db: &C, actor: &Actor, id_or_code: &str) -> AppResult<product::Model> {
    actor.require_write()?;
    let (p, access) = resolve(db, actor, id_or_code).await?;
    if !access.can_manage() {
        return Err(AppError::Forbidden("only the product owner may do this".into()));
    }
    Ok(p)
}

impl App {
    /// Announces a committed product change; a failure is logged, never returned.
    pub(crate) async fn publish_product_event(&self, product_id: &str, action: &str) {
        let event = Event::new(PRODUCT_CHANGED)
            .for_product(product_id)
            .with_data(json!({ "product_id": product_id, "action": action }));
        if let Err(e) = self.bus.publish(&event).await {
            tracing::warn!(error = %e, kind = PRODUCT_CHANGED, "could not publish event");
        }
    }

    /// Creates a product owned by the caller. Demo users are refused.
    pub async fn create_product(&self, actor: &Actor, input: NewProduct) -> AppResult<ProductView> {
        actor.require_write()?;
        if matches!(actor.via, AuthVia::Cli) {
            return Err(AppError::Forbidden("products are created by a user (use the API or web UI)".into()));
        }
        let mut errs = ValidationErrors::new();
        let settings = Settings::from_input(input, "", &mut errs);
        let (name_taken, code_taken) =
            owner_clashes(&self.db, &actor.user_id, None, Some(&settings.name), settings.code.as_deref()).await?;
        if name_taken {
            errs.add("name", format!("you already have a product named `{}`", settings.name));
        }
        if code_taken {
            errs.add(
                "code",
                format!("you already have a product with code `{}`", settings.code.clone().unwrap_or_default()),
            );
        }
        errs.into_result()?;
        let row = settings
            .into_active(new_id(), &actor.user_id, now())
            .insert(&self.db)
            .await
            .on_unique(product_clash(""))?;
        self.publish_product_event(&row.id, "created").await;
        product_view(row, ProductAccess::Own)
    }

    /// Lists the caller's active (or, with `archived`, archived) products:
    /// owned or member of, within the token's scope, oldest first.
    pub async fn list_products(&self, actor: &Actor, filter: ProductFilter) -> AppResult<Page<ProductView>> {
        let (page, limit) = PageParams { page: filter.page, limit: filter.limit }.resolve()?;
        let q = product::Entity::find()
            .filter(product::Column::Archived.eq(filter.archived.unwrap_or(false)))
            .filter(access::visible_products(actor, product::Column::Id, Reach::Own));
        let pager =
            q.order_by_asc(product::Column::CreatedAt).order_by_asc(product::Column::Id).paginate(&self.db, limit);
        let total = pager.num_items().await?;
        let rows = pager.fetch_page(page - 1).await?;
        let ids: Vec<String> = rows.iter().map(|p| p.id.clone()).collect();
        let memberships = product_member::Entity::find()
            .filter(product_member::Column::UserId.eq(&actor.user_id))
            .filter(product_member::Column::ProductId.is_in(ids))
            .all(&self.db)
            .await?;
        let items = rows
            .into_iter()
            .map(|p| {
                let access = if p.user_id == actor.user_id {
                    if actor.is_demo { ProductAccess::Read } else { ProductAccess::Own }
                } else {
                    match memberships.iter().find(|m| m.product_id == p.id).map(|m| m.access.as_str()) {
                        Some("READ_WRITE") if !actor.is_demo => ProductAccess::Write,
                        _ => ProductAccess::Read,
                    }
                };
                product_view(p, access)
            })
            .collect::<AppResult<_>>()?;
        Ok(Page { items, page, limit, total })
    }

    /// One product (by id or code) the caller can read.
    pub async fn get_product(&self, actor: &Actor, id_or_code: &str) -> AppResult<ProductView> {
        let (p, access) = resolve(&self.db, actor, id_or_code).await?;
        product_view(p, access)
    }

    /// Changes a product's settings. Owner and read-write members may;
    /// archived products are refused with 409.
    pub async fn update_product(&self, actor: &Actor, id_or_code: &str, patch: ProductPatch) -> AppResult<ProductView> {
        let p = writable_ref(&self.db, actor, id_or_code).await?;
        let mut errs = ValidationErrors::new();
        let name = patch.name.map(|n| n.trim().to_string());
        if let Some(n) = &name {
            check_text(&mut errs, "name", n, 1, MAX_NAME);
        }
        let code = patch.code.map(|c| c.map(|c| c.trim().to_string()));
        if let Some(Some(c)) = &code {
            check_code(&mut errs, "code", c);
        }
        let description = patch.description.map(clean);
        if let Some(Some(d)) = &description {
            check_text(&mut errs, "description", d, 0, MAX_TEXT);
        }
        let repo_url = patch.repo_url.map(clean);
        if let Some(Some(u)) = &repo_url {
            check_repo_url(&mut errs, "repo_url", u);
        }
        let dod = patch.definition_of_done.map(|d| d.trim().to_string());
        if let Some(d) = &dod {
            check_text(&mut errs, "definition_of_done", d, 1, MAX_TEXT);
        }
        let model = patch.preferred_model.map(clean);
        if let Some(Some(m)) = &model {
            check_model(&mut errs, "preferred_model", m);
        }
        if let Some(Some(b)) = patch.thinking_budget_default {
            check_budget(&mut errs, "thinking_budget_default", b);
        }
        let mode = patch.preferred_permission_mode.map(clean);
        if let Some(Some(m)) = &mode {
            check_mode(&mut errs, "preferred_permission_mode", m);
        }
        if let Some(Some(q)) = patch.min_quota_pct {
            check_quota(&mut errs, "min_quota_pct", q);
        }
        let (name_taken, code_taken) =
            owner_clashes(&self.db, &p.user_id, Some(&p.id), name.as_deref(), code.as_ref().and_then(|c| c.as_deref()))
                .await?;
        if name_taken {
            errs.add("name", "is already used by another product of this owner");
        }
        if code_taken {
            errs.add("code", "is already used by another product of this owner");
        }
        errs.into_result()?;
        let pid = p.id.clone();
        let row = crate::txn::in_product_txn(&self.db, &pid, move |txn| {
            Box::pin(async move {
                let current = ensure_not_archived_in(txn, &p.id).await?;
                let mut am: product::ActiveModel = current.into();
                if let Some(v) = name {
                    am.name = Set(v);
                }
                if let Some(v) = code {
                    am.code = Set(v);
                }
                if let Some(v) = description {
                    am.description = Set(v);
                }
                if let Some(v) = repo_url {
                    am.repo_url = Set(v);
                }
                if let Some(v) = dod {
                    am.definition_of_done = Set(v);
                }
                if let Some(v) = patch.auto_pr {
                    am.auto_pr = Set(v);
                }
                if let Some(v) = patch.pr_strategy {
                    am.pr_strategy = Set(v.as_db().into());
                }
                if let Some(v) = model {
                    am.preferred_model = Set(v);
                }
                if let Some(v) = patch.thinking_budget_default {
                    am.thinking_budget_default = Set(v);
                }
                if let Some(v) = mode {
                    am.preferred_permission_mode = Set(v);
                }
                if let Some(v) = patch.min_quota_pct {
                    am.min_quota_pct = Set(v);
                }
                if let Some(v) = patch.auto_pr_review {
                    am.auto_pr_review = Set(v);
                }
                if let Some(v) = patch.auto_task_review {
                    am.auto_task_review = Set(v);
                }
                if let Some(v) = patch.auto_plan_review {
                    am.auto_plan_review = Set(v);
                }
                if let Some(v) = patch.auto_materialize_plan {
                    am.auto_materialize_plan = Set(v);
                }
                if let Some(v) = patch.auto_deploy {
                    am.auto_deploy = Set(v);
                }
                am.updated_at = Set(now());
                am.update(txn).await.on_unique(product_clash(""))
            })
        })
        .await?;
        self.publish_product_event(&pid, "updated").await;
        let (_, access) = product_for(&self.db, actor, &pid).await?;
        product_view(row, access)
    }

    /// Archives (`true`) or unarchives (`false`) a product; owner only.
    /// Archiving an archived product (or the reverse) is a 409 naming the state.
    pub async fn set_product_archived(
        &self,
        actor: &Actor,
        id_or_code: &str,
        archived: bool,
    ) -> AppResult<ProductView> {
        let p = manageable_ref(&self.db, actor, id_or_code).await?;
        let pid = p.id.clone();
        let row = crate::txn::in_product_txn(&self.db, &pid, move |txn| {
            Box::pin(async move {
                let current =
                    product::Entity::find_by_id(p.id.clone()).one(txn).await?.ok_or(AppError::NotFound("product"))?;
                if current.archived == archived {
                    return Err(AppError::Conflict(format!(
                        "product `{}` is already {}",
                        current.name,
                        if archived { "archived" } else { "active (not archived)" }
                    )));
                }
                let mut am: product::ActiveModel = current.into();
                am.archived = Set(archived);
                am.updated_at = Set(now());
                Ok(am.update(txn).await?)
            })
        })
        .await?;
        self.publish_product_event(&pid, if archived { "archived" } else { "unarchived" }).await;
        product_view(row, ProductAccess::Own)
    }

    /// Deletes a product and everything in it, for good; owner only. A
    /// marketplace project with escrow history cannot be deleted (409).
    pub async fn delete_product(&self, actor: &Actor, id_or_code: &str) -> AppResult<()> {
        let p = manageable_ref(&self.db, actor, id_or_code).await?;
        // Escrows are the one reference that does not cascade.
        product::Entity::delete_by_id(p.id.clone()).exec(&self.db).await.on_foreign_key(|| {
            AppError::Conflict(format!(
                "product `{}` has marketplace payment history and cannot be deleted; archive it instead",
                p.name
            ))
        })?;
        self.publish_product_event(&p.id, "deleted").await;
        Ok(())
    }

    /// Sets (or with `None` clears) the caller's active product, which must
    /// be readable; returns the caller's account.
    pub async fn set_active_product(&self, actor: &Actor, input: ActiveProduct) -> AppResult<UserView> {
        actor.require_write()?;
        let pid = match clean(input.product_id) {
            Some(key) => Some(readable_ref(&self.db, actor, &key).await.map_err(|e| match e {
                AppError::NotFound(_) => {
                    AppError::field("product_id", format!("no product `{key}` that you can access"))
                }
                other => other,
            })?),
            None => None,
        }
        .map(|p| p.id);
        let u =
            user::Entity::find_by_id(actor.user_id.clone()).one(&self.db).await?.ok_or(AppError::NotFound("user"))?;
        let mut am: user::ActiveModel = u.into();
        am.active_product_id = Set(pid);
        am.updated_at = Set(now());
        let u = am.update(&self.db).await?;
        view(&self.db, u).await
    }
}
