//! Projects: products with a client owner, a status, a stage and a brief
//! (issue 12 "Projects and stages", marketplace reference §1).
//!
//! Decisions where the reference is silent:
//! - Creating a project needs the `client` role (self-service, see
//!   [`roles`]); the client owns the product, so names are unique per client.
//!   The product gets a fixed definition of done (the QA gate decides).
//! - The brief lives in `products.brief` as JSON `{markdown, status,
//!   published_at}`; only the client writes it. Editing a published brief
//!   keeps it published (the experts work from the current text);
//!   publishing an already published brief changes nothing; an empty brief
//!   cannot be published (409).
//! - Who sees a project is decided in `access::project_for`: the client,
//!   product members, experts with an accepted bid (read only), and
//!   administrators (read only). Everyone else gets 404.
//! - PATCH may set the status only to `cancelled` (other statuses follow
//!   the stages); a cancelled or completed project is final (409). A
//!   cancelled project's opportunities stay as they are but take no bids
//!   and are no longer listed.
//! - Lists are newest first.
//! - Stage moves are the pure rule `project::advance`; see its module doc.

pub mod roles;

use std::collections::BTreeMap;

use baton_domain::{
    ValidationErrors,
    access::ProductAccess,
    marketplace::{
        Currency, OpportunityStatus, ProjectStatus, Stage, WorkflowStatus, bidding,
        project::{self, BriefStatus, ConcernsPolicy, DEFAULT_VALIDATION_THRESHOLD, MAX_BRIEF},
    },
    roles::Role,
    validation::check_text,
};
use baton_store::{
    entities::{opportunity, product, story, user},
    error::ResultExt,
    new_id, now,
    sea_orm::{
        ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
        QueryOrder, QuerySelect,
    },
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::opportunities::OpportunityView;
use crate::{
    Actor, App, AppError, AppResult, AuthVia,
    access::{project_for, visible_projects},
    list::{Page, PageParams},
    products::{MAX_NAME, MAX_TEXT, NewProduct, Settings, owner_clashes, product_clash},
    txn::in_product_txn,
};

/// Definition of done given to every project's product.
const PROJECT_DOD: &str = "Accepted by the client (planning) or passed by the QA gate (stories).";

/// A budget in hundredths of the currency's display unit (12.34 USDC = 1234).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Budget {
    /// Lowest amount, minor units, > 0.
    #[schema(minimum = 1)]
    pub min: i64,
    /// Highest amount, minor units, ≥ min.
    #[schema(minimum = 1)]
    pub max: i64,
    /// Currency (not `usd`: it cannot be escrowed).
    pub currency: Currency,
}

/// A project brief.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct BriefView {
    /// Markdown text.
    pub markdown: String,
    /// `draft` or `published`.
    pub status: BriefStatus,
    /// When it was first published.
    pub published_at: Option<DateTime<Utc>>,
}

/// A marketplace project.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ProjectView {
    /// The product id.
    pub id: String,
    /// The product code, if any.
    pub code: Option<String>,
    /// Name.
    pub name: String,
    /// Description.
    pub description: Option<String>,
    /// `planning`, `in_development`, `completed` or `cancelled`.
    pub status: ProjectStatus,
    /// The active stage.
    pub current_stage: Stage,
    /// The client (owner).
    pub client_id: String,
    /// The brief, if one was written.
    pub brief: Option<BriefView>,
    /// Budget of each story's developer opportunity.
    pub dev_budget: Budget,
    /// Budget of each story's QA opportunity.
    pub qa_budget: Budget,
    /// What a QA gate of CONCERNS does.
    pub concerns_policy: ConcernsPolicy,
    /// Readiness score a story needs to be approved.
    pub validation_threshold: i32,
    /// The caller's access: `own` (the client), `write`, `read`.
    pub access: String,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

/// Input for a new project.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewProject {
    /// 1–200 characters, unique among your projects and products.
    #[schema(max_length = 200, pattern = "\\S")]
    pub name: String,
    /// Optional code: 1–30 letters, digits, `-`, `_`, `.`.
    #[serde(default)]
    #[schema(min_length = 1, max_length = 30, pattern = "^[A-Za-z0-9._-]+$")]
    pub code: Option<String>,
    /// Up to 4000 characters.
    #[serde(default)]
    #[schema(max_length = 4000)]
    pub description: Option<String>,
    /// The brief's first draft (markdown, up to 100000 characters).
    #[serde(default)]
    #[schema(max_length = 100000)]
    pub brief: Option<String>,
    /// Developer opportunity budget per story (default 500.00–1500.00 USDC).
    #[serde(default)]
    pub dev_budget: Option<Budget>,
    /// QA opportunity budget per story (default 100.00–200.00 USDC); same currency as `dev_budget`.
    #[serde(default)]
    pub qa_budget: Option<Budget>,
    /// `rework` (default) or `proceed`.
    #[serde(default)]
    pub concerns_policy: Option<ConcernsPolicy>,
    /// 1–10 (default 8).
    #[serde(default)]
    #[schema(minimum = 1, maximum = 10)]
    pub validation_threshold: Option<i32>,
}

/// Changes to a project; absent fields stay as they are.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProjectPatch {
    /// New name.
    #[serde(default)]
    #[schema(max_length = 200, pattern = "\\S")]
    pub name: Option<String>,
    /// New description (empty clears it).
    #[serde(default)]
    #[schema(max_length = 4000)]
    pub description: Option<String>,
    /// Developer opportunity budget per story.
    #[serde(default)]
    pub dev_budget: Option<Budget>,
    /// QA opportunity budget per story.
    #[serde(default)]
    pub qa_budget: Option<Budget>,
    /// `rework` or `proceed`.
    #[serde(default)]
    pub concerns_policy: Option<ConcernsPolicy>,
    /// 1–10.
    #[serde(default)]
    #[schema(minimum = 1, maximum = 10)]
    pub validation_threshold: Option<i32>,
    /// Only `cancelled`.
    #[serde(default)]
    pub status: Option<ProjectStatus>,
}

/// Which projects to list.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ProjectFilter {
    /// Only projects in this status.
    pub status: Option<ProjectStatus>,
    /// Page number, from 1.
    #[param(minimum = 1, maximum = 1_000_000)]
    pub page: Option<u64>,
    /// Items per page, 1–200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u64>,
}

/// A brief's text.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BriefInput {
    /// Markdown, 1–100000 characters.
    #[schema(max_length = 100000, pattern = "\\S")]
    pub markdown: String,
}

/// Where to move the project.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AdvanceInput {
    /// The stage to enter; default the next one. From `architect`, `developer` skips UX.
    #[serde(default)]
    pub to: Option<Stage>,
}

/// A project's state at a glance (MCP `get_project_status`).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ProjectStatusView {
    /// The project.
    pub project: ProjectView,
    /// Its opportunities, newest first.
    pub opportunities: Vec<OpportunityView>,
    /// Marketplace stories by workflow status (`draft`, `approved`, …).
    pub stories_by_status: BTreeMap<String, u64>,
}

fn access_name(a: ProductAccess) -> String {
    match a {
        ProductAccess::Own => "own",
        ProductAccess::Write => "write",
        ProductAccess::Read | ProductAccess::None => "read",
    }
    .into()
}

/// The brief stored in `products.brief`, read leniently (a brief written by
/// an older version, or missing keys, reads as a draft).
pub(crate) fn brief_of(p: &product::Model) -> Option<BriefView> {
    let b = p.brief.as_ref()?;
    let markdown = b.get("markdown").and_then(|m| m.as_str()).unwrap_or_default().to_string();
    let status =
        b.get("status").and_then(|s| s.as_str()).and_then(BriefStatus::parse_api).unwrap_or(BriefStatus::Draft);
    let published_at = b
        .get("published_at")
        .and_then(|s| s.as_str())
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map(|d| d.with_timezone(&Utc));
    Some(BriefView { markdown, status, published_at })
}

fn brief_json(b: &BriefView) -> serde_json::Value {
    json!({
        "markdown": b.markdown,
        "status": b.status.as_api(),
        "published_at": b.published_at.map(|d| d.to_rfc3339()),
    })
}

/// The per-story budgets of a project.
pub(crate) fn story_budgets(p: &product::Model) -> AppResult<(Budget, Budget)> {
    let currency = Currency::decode(&p.story_budget_currency, "products.story_budget_currency")?;
    Ok((
        Budget { min: p.dev_budget_min, max: p.dev_budget_max, currency },
        Budget { min: p.qa_budget_min, max: p.qa_budget_max, currency },
    ))
}

/// Builds the view of a project row.
pub fn project_view(p: product::Model, access: ProductAccess) -> AppResult<ProjectView> {
    let status = ProjectStatus::decode(
        p.project_status.as_deref().ok_or(AppError::NotFound("project"))?,
        "products.project_status",
    )?;
    let current_stage = match p.current_stage.as_deref() {
        Some(s) => Stage::decode(s, "products.current_stage")?,
        None => Stage::Analyst,
    };
    let (dev_budget, qa_budget) = story_budgets(&p)?;
    Ok(ProjectView {
        brief: brief_of(&p),
        concerns_policy: ConcernsPolicy::decode(&p.concerns_policy, "products.concerns_policy")?,
        validation_threshold: p.validation_threshold,
        access: access_name(access),
        id: p.id,
        code: p.code,
        name: p.name,
        description: p.description,
        status,
        current_stage,
        client_id: p.user_id,
        dev_budget,
        qa_budget,
        created_at: p.created_at,
        updated_at: p.updated_at,
    })
}

fn check_settings(errs: &mut ValidationErrors, dev: Option<&Budget>, qa: Option<&Budget>, threshold: Option<i32>) {
    if let Some(b) = dev {
        bidding::check_budget(errs, "dev_budget", b.min, b.max, b.currency);
    }
    if let Some(b) = qa {
        bidding::check_budget(errs, "qa_budget", b.min, b.max, b.currency);
    }
    if let (Some(d), Some(q)) = (dev, qa)
        && d.currency != q.currency
    {
        errs.add("qa_budget.currency", "must be the same currency as dev_budget");
    }
    if let Some(t) = threshold
        && !(1..=10).contains(&t)
    {
        errs.add("validation_threshold", "must be between 1 and 10");
    }
}

fn check_brief(errs: &mut ValidationErrors, path: &str, markdown: &str) {
    check_text(errs, path, markdown, 1, MAX_BRIEF);
}

/// Loads a project the caller owns (the client), for a write: demo users
/// 403, others who can see it 403, everyone else 404; final projects 409.
pub(crate) async fn client_project<C: ConnectionTrait>(
    db: &C,
    actor: &Actor,
    id_or_code: &str,
    what: &str,
) -> AppResult<product::Model> {
    actor.require_write()?;
    let (p, access) = project_for(db, actor, id_or_code).await?;
    if !access.can_manage() {
        return Err(AppError::Forbidden(format!("only the project's client may {what}")));
    }
    Ok(p)
}

/// Refuses changes to a cancelled or completed project (409 naming the status).
pub(crate) fn ensure_active(p: &product::Model) -> AppResult<ProjectStatus> {
    let status = ProjectStatus::decode(p.project_status.as_deref().unwrap_or_default(), "products.project_status")?;
    if matches!(status, ProjectStatus::Cancelled | ProjectStatus::Completed) {
        return Err(AppError::Conflict(format!("the project is {status}")));
    }
    Ok(status)
}

impl App {
    /// Creates a project (role `client`): a product owned by the caller in
    /// the analyst stage, status planning, with an optional draft brief.
    pub async fn create_project(&self, actor: &Actor, input: NewProject) -> AppResult<ProjectView> {
        actor.require_write()?;
        if matches!(actor.via, AuthVia::Cli) {
            return Err(AppError::Forbidden("projects are created by a client (use the API or MCP)".into()));
        }
        if !roles::holds_role(&self.db, actor, Role::Client).await? {
            return Err(AppError::Forbidden(
                "creating a project needs the client role; add it to your roles (PUT /api/me/roles)".into(),
            ));
        }
        let mut errs = ValidationErrors::new();
        let settings = Settings::from_input(
            NewProduct {
                name: input.name,
                code: input.code,
                description: input.description,
                definition_of_done: PROJECT_DOD.into(),
                ..Default::default()
            },
            "",
            &mut errs,
        );
        check_settings(&mut errs, input.dev_budget.as_ref(), input.qa_budget.as_ref(), input.validation_threshold);
        if input.dev_budget.is_some() != input.qa_budget.is_some()
            && let Some(b) = input.dev_budget.or(input.qa_budget)
            && b.currency != Currency::Usdc
        {
            let field = if input.dev_budget.is_some() { "qa_budget" } else { "dev_budget" };
            errs.add(field, "give both budgets when they are not in USDC (they share one currency)");
        }
        let brief = input.brief.map(|b| b.trim().to_string()).filter(|b| !b.is_empty());
        if let Some(b) = &brief {
            check_brief(&mut errs, "brief", b);
        }
        let (name_taken, code_taken) =
            owner_clashes(&self.db, &actor.user_id, None, Some(&settings.name), settings.code.as_deref()).await?;
        if name_taken {
            errs.add("name", format!("you already have a project or product named `{}`", settings.name));
        }
        if code_taken {
            errs.add("code", "you already have a project or product with this code");
        }
        errs.into_result()?;
        let mut row = settings.into_active(new_id(), &actor.user_id, now());
        row.project_status = Set(Some(ProjectStatus::Planning.as_db().into()));
        row.current_stage = Set(Some(Stage::Analyst.as_db().into()));
        row.brief =
            Set(brief
                .map(|markdown| brief_json(&BriefView { markdown, status: BriefStatus::Draft, published_at: None })));
        if let Some(b) = input.dev_budget {
            row.dev_budget_min = Set(b.min);
            row.dev_budget_max = Set(b.max);
            row.story_budget_currency = Set(b.currency.as_db().into());
        }
        if let Some(b) = input.qa_budget {
            row.qa_budget_min = Set(b.min);
            row.qa_budget_max = Set(b.max);
            row.story_budget_currency = Set(b.currency.as_db().into());
        }
        if let Some(c) = input.concerns_policy {
            row.concerns_policy = Set(c.as_db().into());
        }
        row.validation_threshold = Set(input.validation_threshold.unwrap_or(DEFAULT_VALIDATION_THRESHOLD));
        let row = row.insert(&self.db).await.on_unique(product_clash(""))?;
        self.publish_product_event(&row.id, "project_created").await;
        project_view(row, ProductAccess::Own)
    }

    /// The caller's projects: as client, as member, or with an accepted bid;
    /// newest first, optionally of one status.
    pub async fn list_projects(&self, actor: &Actor, filter: ProjectFilter) -> AppResult<Page<ProjectView>> {
        let (page, limit) = PageParams { page: filter.page, limit: filter.limit }.resolve()?;
        let mut q = product::Entity::find()
            .filter(product::Column::ProjectStatus.is_not_null())
            .filter(visible_projects(actor, product::Column::Id));
        if let Some(s) = filter.status {
            q = q.filter(product::Column::ProjectStatus.eq(s.as_db()));
        }
        let pager =
            q.order_by_desc(product::Column::CreatedAt).order_by_desc(product::Column::Id).paginate(&self.db, limit);
        let total = pager.num_items().await?;
        let rows = pager.fetch_page(page - 1).await?;
        let mut items = Vec::with_capacity(rows.len());
        for p in rows {
            let id = p.id.clone();
            let access = project_for(&self.db, actor, &id).await.map(|(_, a)| a).unwrap_or(ProductAccess::Read);
            items.push(project_view(p, access)?);
        }
        Ok(Page { items, page, limit, total })
    }

    /// One project (by id or code) the caller may see.
    pub async fn get_project(&self, actor: &Actor, id_or_code: &str) -> AppResult<ProjectView> {
        let (p, access) = project_for(&self.db, actor, id_or_code).await?;
        project_view(p, access)
    }

    /// Changes a project's name, description, settings, or cancels it (client only).
    pub async fn update_project(&self, actor: &Actor, id_or_code: &str, patch: ProjectPatch) -> AppResult<ProjectView> {
        let p = client_project(&self.db, actor, id_or_code, "change it").await?;
        let mut errs = ValidationErrors::new();
        let name = patch.name.map(|n| n.trim().to_string());
        if let Some(n) = &name {
            check_text(&mut errs, "name", n, 1, MAX_NAME);
        }
        let description = patch.description.map(|d| d.trim().to_string());
        if let Some(d) = &description {
            check_text(&mut errs, "description", d, 0, MAX_TEXT);
        }
        check_settings(&mut errs, patch.dev_budget.as_ref(), patch.qa_budget.as_ref(), patch.validation_threshold);
        let (dev, qa) = story_budgets(&p)?;
        let dev_new = patch.dev_budget.unwrap_or(dev);
        let qa_new = patch.qa_budget.unwrap_or(qa);
        if dev_new.currency != qa_new.currency {
            errs.add("qa_budget.currency", "the developer and QA budgets share one currency");
        }
        if let Some(s) = patch.status
            && s != ProjectStatus::Cancelled
        {
            errs.add("status", "only `cancelled` can be set; the other statuses follow the stages");
        }
        if let Some(n) = &name {
            let (taken, _) = owner_clashes(&self.db, &p.user_id, Some(&p.id), Some(n), None).await?;
            if taken {
                errs.add("name", format!("you already have a project or product named `{n}`"));
            }
        }
        errs.into_result()?;
        let id = p.id.clone();
        let row = in_product_txn(&self.db, &p.id, move |txn| {
            Box::pin(async move {
                let p = product::Entity::find_by_id(id).one(txn).await?.ok_or(AppError::NotFound("project"))?;
                ensure_active(&p)?;
                let mut am: product::ActiveModel = p.into();
                if let Some(n) = name {
                    am.name = Set(n);
                }
                if let Some(d) = description {
                    am.description = Set(Some(d).filter(|d| !d.is_empty()));
                }
                am.dev_budget_min = Set(dev_new.min);
                am.dev_budget_max = Set(dev_new.max);
                am.qa_budget_min = Set(qa_new.min);
                am.qa_budget_max = Set(qa_new.max);
                am.story_budget_currency = Set(dev_new.currency.as_db().into());
                if let Some(c) = patch.concerns_policy {
                    am.concerns_policy = Set(c.as_db().into());
                }
                if let Some(t) = patch.validation_threshold {
                    am.validation_threshold = Set(t);
                }
                if patch.status == Some(ProjectStatus::Cancelled) {
                    am.project_status = Set(Some(ProjectStatus::Cancelled.as_db().into()));
                }
                am.updated_at = Set(now());
                am.update(txn).await.on_unique(product_clash(""))
            })
        })
        .await?;
        self.publish_product_event(&row.id, "project_updated").await;
        project_view(row, ProductAccess::Own)
    }

    /// The project's brief (anyone who sees the project); 404 when none was written.
    pub async fn get_project_brief(&self, actor: &Actor, id_or_code: &str) -> AppResult<BriefView> {
        let (p, _) = project_for(&self.db, actor, id_or_code).await?;
        brief_of(&p).ok_or(AppError::NotFound("brief"))
    }

    /// Writes (creates or replaces) the brief's markdown (client only). A
    /// published brief stays published.
    pub async fn put_project_brief(&self, actor: &Actor, id_or_code: &str, input: BriefInput) -> AppResult<BriefView> {
        let p = client_project(&self.db, actor, id_or_code, "write the brief").await?;
        let mut errs = ValidationErrors::new();
        check_brief(&mut errs, "markdown", &input.markdown);
        errs.into_result()?;
        let markdown = input.markdown.trim().to_string();
        self.write_brief(&p.id, move |old| match old {
            Some(b) => Ok(BriefView { markdown, ..b }),
            None => Ok(BriefView { markdown, status: BriefStatus::Draft, published_at: None }),
        })
        .await
    }

    /// Publishes the brief (client only): the PM opportunity may then be
    /// posted. Publishing again changes nothing; no brief → 409.
    pub async fn publish_project_brief(&self, actor: &Actor, id_or_code: &str) -> AppResult<BriefView> {
        let p = client_project(&self.db, actor, id_or_code, "publish the brief").await?;
        self.write_brief(&p.id, |old| match old {
            Some(b) if b.status == BriefStatus::Published => Ok(b),
            Some(b) if !b.markdown.trim().is_empty() => {
                Ok(BriefView { status: BriefStatus::Published, published_at: Some(now()), ..b })
            }
            _ => Err(AppError::Conflict("the project has no brief yet; write it before publishing".into())),
        })
        .await
    }

    async fn write_brief(
        &self,
        product_id: &str,
        change: impl FnOnce(Option<BriefView>) -> AppResult<BriefView> + Send + 'static,
    ) -> AppResult<BriefView> {
        let id = product_id.to_string();
        let brief = in_product_txn(&self.db, product_id, move |txn| {
            Box::pin(async move {
                let p = product::Entity::find_by_id(id).one(txn).await?.ok_or(AppError::NotFound("project"))?;
                ensure_active(&p)?;
                let brief = change(brief_of(&p))?;
                let mut am: product::ActiveModel = p.into();
                am.brief = Set(Some(brief_json(&brief)));
                am.updated_at = Set(now());
                am.update(txn).await?;
                Ok(brief)
            })
        })
        .await?;
        self.publish_product_event(product_id, "brief_changed").await;
        Ok(brief)
    }

    /// Moves the project to its next stage (client only; see
    /// `project::advance` for the rule). Entering developer sets the status
    /// to in development.
    pub async fn advance_project_stage(
        &self,
        actor: &Actor,
        id_or_code: &str,
        input: AdvanceInput,
    ) -> AppResult<ProjectView> {
        let p = client_project(&self.db, actor, id_or_code, "move its stage").await?;
        let id = p.id.clone();
        let row = in_product_txn(&self.db, &p.id, move |txn| {
            Box::pin(async move {
                let p = product::Entity::find_by_id(id).one(txn).await?.ok_or(AppError::NotFound("project"))?;
                let status =
                    ProjectStatus::decode(p.project_status.as_deref().unwrap_or_default(), "products.project_status")?;
                let current = Stage::decode(p.current_stage.as_deref().unwrap_or("ANALYST"), "products.current_stage")?;
                let statuses: Vec<String> = opportunity::Entity::find()
                    .filter(opportunity::Column::ProductId.eq(&p.id))
                    .filter(opportunity::Column::Stage.eq(current.as_db()))
                    .select_only()
                    .column(opportunity::Column::Status)
                    .into_tuple()
                    .all(txn)
                    .await?;
                let statuses = statuses
                    .iter()
                    .map(|s| OpportunityStatus::decode(s, "opportunities.status"))
                    .collect::<Result<Vec<_>, _>>()?;
                let (stage, new_status) = project::advance(status, current, input.to, &statuses)
                    .map_err(|e| AppError::Conflict(e.to_string()))?;
                let mut am: product::ActiveModel = p.into();
                am.current_stage = Set(Some(stage.as_db().into()));
                am.project_status = Set(Some(new_status.as_db().into()));
                am.updated_at = Set(now());
                Ok(am.update(txn).await?)
            })
        })
        .await?;
        self.publish_product_event(&row.id, "stage_advanced").await;
        project_view(row, ProductAccess::Own)
    }

    /// The project, its opportunities and its stories counted by workflow
    /// status (anyone who sees the project).
    pub async fn project_status(&self, actor: &Actor, id_or_code: &str) -> AppResult<ProjectStatusView> {
        let (p, access) = project_for(&self.db, actor, id_or_code).await?;
        let opps = opportunity::Entity::find()
            .filter(opportunity::Column::ProductId.eq(&p.id))
            .order_by_desc(opportunity::Column::CreatedAt)
            .order_by_desc(opportunity::Column::Id)
            .all(&self.db)
            .await?;
        let client = user::Entity::find_by_id(p.user_id.clone()).one(&self.db).await?;
        let client_name = client.map(|u| u.username).unwrap_or_default();
        let mut opportunities = Vec::with_capacity(opps.len());
        for o in opps {
            let bids = super::opportunities::bid_count(&self.db, &o.id).await?;
            opportunities.push(super::opportunities::opportunity_view(o, &p, client_name.clone(), bids)?);
        }
        let rows: Vec<Option<String>> = story::Entity::find()
            .filter(story::Column::ProductId.eq(&p.id))
            .filter(story::Column::WorkflowStatus.is_not_null())
            .select_only()
            .column(story::Column::WorkflowStatus)
            .into_tuple()
            .all(&self.db)
            .await?;
        let mut stories_by_status: BTreeMap<String, u64> =
            WorkflowStatus::ALL.iter().map(|s| (s.as_api(), 0)).collect();
        for s in rows.into_iter().flatten() {
            let s = WorkflowStatus::decode(&s, "stories.workflow_status")?;
            *stories_by_status.entry(s.as_api()).or_default() += 1;
        }
        Ok(ProjectStatusView { project: project_view(p, access)?, opportunities, stories_by_status })
    }
}
