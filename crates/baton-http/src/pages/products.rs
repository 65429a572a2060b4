//! `/products` (list, create) and `/products/{code}/settings` (edit,
//! archive, unarchive, delete; the members part is in [`super::members`]).
//! Every action calls the product services the REST API uses.

use askama::Template;
use askama_web::WebTemplate;
use axum::{
    Form, Router,
    extract::{Path, Query, State},
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
    routing::{get, post},
};
use baton_app::{
    Actor, AppError,
    list::PageParams,
    products::{MemberView, NewProduct, ProductFilter, ProductPatch, ProductView},
};
use baton_domain::{
    backlog::PrStrategy,
    roles::{MemberAccess, Role},
};
use serde::Deserialize;

use super::layout::{DEMO_REASON, FormErrors, Layout, OrPage, PageError, PageUser, form_status, slug, write_refusal};
use crate::AppState;

/// The routes of this module.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/products", get(list_page).post(create))
        .route("/products/{code}/settings", get(settings_page).post(update))
        .route("/products/{code}/archive", post(archive))
        .route("/products/{code}/unarchive", post(unarchive))
        .route("/products/{code}/delete", post(delete))
}

/// `(value, label)` pairs of every PR strategy.
fn pr_strategies() -> Vec<(String, String)> {
    PrStrategy::ALL
        .iter()
        .map(|p| {
            let label = match p {
                PrStrategy::Sprint => "One PR per sprint run (a job per task)",
                PrStrategy::Story => "One PR per story (auto-merged when done)",
                PrStrategy::SprintBatch => "One batch job and PR per sprint run",
            };
            (p.as_api(), label.to_string())
        })
        .collect()
}

/// `(value, label)` pairs of the roles a member may have in a product.
pub(super) fn product_roles() -> Vec<(String, String)> {
    Role::ALL
        .iter()
        .filter(|r| !matches!(r, Role::Admin | Role::Client))
        .map(|r| (r.as_api(), r.as_api().replace('_', " ")))
        .collect()
}

/// `(value, label)` pairs of member access levels.
pub(super) fn accesses() -> Vec<(String, String)> {
    MemberAccess::ALL
        .iter()
        .map(|a| (a.as_api(), if *a == MemberAccess::ReadWrite { "Read and write" } else { "Read only" }.to_string()))
        .collect()
}

// ---------------------------------------------------------------- list

struct ProductRow {
    slug: String,
    name: String,
    code: String,
    access: String,
    created: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "products/index.html")]
struct ListPage {
    layout: Layout,
    archived: bool,
    products: Vec<ProductRow>,
    form: SettingsForm,
    errors: FormErrors,
    strategies: Vec<(String, String)>,
    disabled: Option<String>,
}

#[derive(Deserialize, Default)]
struct ListQuery {
    #[serde(default)]
    archived: Option<String>,
}

async fn render_list(
    s: &AppState,
    actor: &Actor,
    archived: bool,
    form: SettingsForm,
    errors: FormErrors,
    status: StatusCode,
) -> Result<Response, PageError> {
    let layout = Layout::new(s, actor, "Products", "products").await.or_page(actor)?;
    let filter = ProductFilter { archived: Some(archived), limit: Some(200), ..Default::default() };
    let items = s.app.list_products(actor, filter).await.or_page(actor)?.items;
    let products = items
        .iter()
        .map(|p| ProductRow {
            slug: slug(p),
            name: p.name.clone(),
            code: p.code.clone().unwrap_or_default(),
            access: p.access.replace('_', " "),
            created: p.created_at.format("%Y-%m-%d").to_string(),
        })
        .collect();
    let form =
        if form.pr_strategy.is_empty() { SettingsForm { pr_strategy: "sprint_batch".into(), ..form } } else { form };
    let page = ListPage {
        layout,
        archived,
        products,
        form,
        errors,
        strategies: pr_strategies(),
        disabled: actor.is_demo.then(|| DEMO_REASON.to_string()),
    };
    Ok((status, page).into_response())
}

async fn list_page(
    State(s): State<AppState>,
    PageUser(actor): PageUser,
    Query(q): Query<ListQuery>,
) -> Result<Response, PageError> {
    let archived = q.archived.as_deref().is_some_and(|v| matches!(v, "1" | "true" | "on" | "yes"));
    render_list(&s, &actor, archived, SettingsForm::default(), FormErrors::none(), StatusCode::OK).await
}

/// An optional text field: empty means "not given".
fn opt(v: &str) -> Option<String> {
    let v = v.trim();
    (!v.is_empty()).then(|| v.to_string())
}

/// Parses an enum field of a form; a bad value is an error naming it.
fn parse_strategy(v: &str) -> Result<Option<PrStrategy>, AppError> {
    match opt(v) {
        None => Ok(None),
        Some(v) => PrStrategy::parse_api(&v)
            .map(Some)
            .ok_or_else(|| AppError::field("pr_strategy", format!("must be one of {}", PrStrategy::api_values()))),
    }
}

async fn create(
    State(s): State<AppState>,
    PageUser(actor): PageUser,
    Form(f): Form<SettingsForm>,
) -> Result<Response, PageError> {
    let result = match parse_strategy(&f.pr_strategy) {
        Ok(pr_strategy) => {
            let input = NewProduct {
                name: f.name.clone(),
                code: opt(&f.code),
                description: opt(&f.description),
                repo_url: opt(&f.repo_url),
                definition_of_done: f.definition_of_done.clone(),
                pr_strategy,
                ..Default::default()
            };
            s.app.create_product(&actor, input).await
        }
        Err(e) => Err(e),
    };
    match result {
        Ok(p) => Ok(Redirect::to(&format!("/products/{}", slug(&p))).into_response()),
        Err(e) => render_list(&s, &actor, false, f, FormErrors::from(&e), form_status(&e)).await,
    }
}

// ------------------------------------------------------------ settings

/// The settings form's values (strings, as typed), kept on errors.
#[derive(Debug, Clone, Default, Deserialize)]
pub(super) struct SettingsForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    repo_url: String,
    #[serde(default)]
    definition_of_done: String,
    #[serde(default)]
    pr_strategy: String,
    #[serde(default)]
    preferred_model: String,
    #[serde(default)]
    thinking_budget_default: String,
    #[serde(default)]
    preferred_permission_mode: String,
    #[serde(default)]
    min_quota_pct: String,
    #[serde(default)]
    auto_pr: Option<String>,
    #[serde(default)]
    auto_pr_review: Option<String>,
    #[serde(default)]
    auto_task_review: Option<String>,
    #[serde(default)]
    auto_plan_review: Option<String>,
    #[serde(default)]
    auto_materialize_plan: Option<String>,
    #[serde(default)]
    auto_deploy: Option<String>,
}

impl SettingsForm {
    fn of(p: &ProductView) -> SettingsForm {
        let on = |b: bool| b.then(|| "on".to_string());
        SettingsForm {
            name: p.name.clone(),
            code: p.code.clone().unwrap_or_default(),
            description: p.description.clone().unwrap_or_default(),
            repo_url: p.repo_url.clone().unwrap_or_default(),
            definition_of_done: p.definition_of_done.clone(),
            pr_strategy: p.pr_strategy.as_api(),
            preferred_model: p.preferred_model.clone().unwrap_or_default(),
            thinking_budget_default: p.thinking_budget_default.map(|b| b.to_string()).unwrap_or_default(),
            preferred_permission_mode: p.preferred_permission_mode.clone().unwrap_or_default(),
            min_quota_pct: p.min_quota_pct.map(|q| q.to_string()).unwrap_or_default(),
            auto_pr: on(p.auto_pr),
            auto_pr_review: on(p.auto_pr_review),
            auto_task_review: on(p.auto_task_review),
            auto_plan_review: on(p.auto_plan_review),
            auto_materialize_plan: on(p.auto_materialize_plan),
            auto_deploy: on(p.auto_deploy),
        }
    }

    /// `(field, label, checked)` for the automation checkboxes.
    fn switches(&self) -> Vec<(&'static str, &'static str, bool)> {
        vec![
            ("auto_pr", "Open pull requests automatically", self.auto_pr.is_some()),
            ("auto_pr_review", "Review agent pull requests automatically", self.auto_pr_review.is_some()),
            ("auto_task_review", "Review finished tasks automatically", self.auto_task_review.is_some()),
            ("auto_plan_review", "Review idea plans automatically", self.auto_plan_review.is_some()),
            (
                "auto_materialize_plan",
                "Turn reviewed plans into backlog automatically",
                self.auto_materialize_plan.is_some(),
            ),
            ("auto_deploy", "Deploy automatically", self.auto_deploy.is_some()),
        ]
    }

    /// The patch this form asks for: every field is sent, so empty
    /// optional fields clear their value and unchecked boxes are `false`.
    fn patch(&self) -> Result<ProductPatch, AppError> {
        let budget = match opt(&self.thinking_budget_default) {
            None => None,
            Some(v) => Some(v.parse::<i32>().map_err(|_| {
                AppError::field("thinking_budget_default", "must be a whole number of tokens (0 to 200000)")
            })?),
        };
        let quota = match opt(&self.min_quota_pct) {
            None => None,
            Some(v) => Some(
                v.trim_end_matches('%')
                    .trim()
                    .parse::<i32>()
                    .map_err(|_| AppError::field("min_quota_pct", "must be a whole percentage (0 to 100)"))?,
            ),
        };
        Ok(ProductPatch {
            name: Some(self.name.clone()),
            code: Some(opt(&self.code)),
            description: Some(opt(&self.description)),
            repo_url: Some(opt(&self.repo_url)),
            definition_of_done: Some(self.definition_of_done.clone()),
            pr_strategy: parse_strategy(&self.pr_strategy)?,
            preferred_model: Some(opt(&self.preferred_model)),
            thinking_budget_default: Some(budget),
            preferred_permission_mode: Some(opt(&self.preferred_permission_mode)),
            auto_pr: Some(self.auto_pr.is_some()),
            auto_pr_review: Some(self.auto_pr_review.is_some()),
            auto_task_review: Some(self.auto_task_review.is_some()),
            auto_plan_review: Some(self.auto_plan_review.is_some()),
            auto_materialize_plan: Some(self.auto_materialize_plan.is_some()),
            auto_deploy: Some(self.auto_deploy.is_some()),
            min_quota_pct: Some(quota),
        })
    }
}

/// One member row of the settings page.
pub(super) struct MemberRow {
    pub user_id: String,
    pub username: String,
    pub name: String,
    pub role: String,
    pub access: String,
    pub errors: FormErrors,
}

/// The add-member form's values, kept on errors.
#[derive(Debug, Clone, Default, Deserialize)]
pub(super) struct AddMemberForm {
    #[serde(default)]
    pub username: String,
    #[serde(default)]
    pub access: String,
    #[serde(default)]
    pub role: String,
}

/// Which form of the settings page failed, with its errors.
pub(super) enum Failed {
    /// Nothing failed.
    Nothing,
    /// The settings form, with what was typed.
    Settings(Box<SettingsForm>, FormErrors),
    /// The add-member form.
    AddMember(AddMemberForm, FormErrors),
    /// A member row (change or remove).
    Member(String, FormErrors),
    /// Archive, unarchive or delete.
    Danger(FormErrors),
}

#[derive(Template, WebTemplate)]
#[template(path = "products/settings.html")]
struct SettingsPage {
    layout: Layout,
    slug: String,
    product_name: String,
    archived: bool,
    is_owner: bool,
    form: SettingsForm,
    errors: FormErrors,
    strategies: Vec<(String, String)>,
    edit_disabled: Option<String>,
    manage_disabled: Option<String>,
    members: Vec<MemberRow>,
    add: AddMemberForm,
    add_errors: FormErrors,
    roles: Vec<(String, String)>,
    accesses: Vec<(String, String)>,
    danger_errors: FormErrors,
}

/// Renders the settings page of `code` with the outcome of a failed form.
pub(super) async fn render_settings(
    s: &AppState,
    actor: &Actor,
    code: &str,
    failed: Failed,
    status: StatusCode,
) -> Result<Response, PageError> {
    let p = s.app.get_product(actor, code).await.or_page(actor)?;
    let title = format!("{} · Settings", p.name);
    let layout = Layout::for_product(s, actor, &title, "settings", &p).await.or_page(actor)?;
    let members =
        s.app.list_members(actor, &p.id, PageParams { page: Some(1), limit: Some(200) }).await.or_page(actor)?;
    let is_owner = p.access == "owner";
    let archived_reason = "Archived products are read-only: unarchive it first";
    let edit_disabled = write_refusal(actor, &p.access).or_else(|| p.archived.then(|| archived_reason.to_string()));
    let manage_disabled = if actor.is_demo {
        Some(DEMO_REASON.to_string())
    } else if !is_owner {
        Some("Only the product's owner manages members and archiving".to_string())
    } else {
        p.archived.then(|| archived_reason.to_string())
    };
    let (mut form, mut errors) = (SettingsForm::of(&p), FormErrors::none());
    let (mut add, mut add_errors) = (AddMemberForm::default(), FormErrors::none());
    let mut danger_errors = FormErrors::none();
    let mut member_failed: Option<(String, FormErrors)> = None;
    match failed {
        Failed::Nothing => {}
        Failed::Settings(f, e) => {
            form = *f;
            errors = e;
        }
        Failed::AddMember(f, e) => {
            add = f;
            add_errors = e;
        }
        Failed::Member(id, e) => member_failed = Some((id, e)),
        Failed::Danger(e) => danger_errors = e,
    }
    let listed = |id: &str| members.items.iter().any(|m| m.user_id == id);
    if let Some((id, e)) = &member_failed
        && !listed(id)
    {
        // A member that is no longer listed: show the message above the list.
        add_errors.general.extend(e.all());
    }
    let members = members
        .items
        .into_iter()
        .map(|m: MemberView| MemberRow {
            errors: match &member_failed {
                Some((id, e)) if *id == m.user_id => e.clone(),
                _ => FormErrors::none(),
            },
            role: m.role.as_api(),
            access: m.access.as_api(),
            name: m.name.unwrap_or_default(),
            username: m.username,
            user_id: m.user_id,
        })
        .collect();
    if add.access.is_empty() {
        add.access = MemberAccess::ReadOnly.as_api();
    }
    if add.role.is_empty() {
        add.role = Role::Developer.as_api();
    }
    let page = SettingsPage {
        layout,
        slug: slug(&p),
        product_name: p.name.clone(),
        archived: p.archived,
        is_owner,
        form,
        errors,
        strategies: pr_strategies(),
        edit_disabled,
        manage_disabled,
        members,
        add,
        add_errors,
        roles: product_roles(),
        accesses: accesses(),
        danger_errors,
    };
    Ok((status, page).into_response())
}

async fn settings_page(
    State(s): State<AppState>,
    PageUser(actor): PageUser,
    Path(code): Path<String>,
) -> Result<Response, PageError> {
    render_settings(&s, &actor, &code, Failed::Nothing, StatusCode::OK).await
}

async fn update(
    State(s): State<AppState>,
    PageUser(actor): PageUser,
    Path(code): Path<String>,
    Form(f): Form<SettingsForm>,
) -> Result<Response, PageError> {
    let result = match f.patch() {
        Ok(patch) => s.app.update_product(&actor, &code, patch).await,
        Err(e) => Err(e),
    };
    match result {
        // The code may have changed: go to the settings under the new one.
        Ok(p) => Ok(Redirect::to(&format!("/products/{}/settings", slug(&p))).into_response()),
        Err(e @ AppError::NotFound(_)) => Err(PageError::new(&actor, e)),
        Err(e) => {
            let status = form_status(&e);
            render_settings(&s, &actor, &code, Failed::Settings(Box::new(f), FormErrors::from(&e)), status).await
        }
    }
}

/// Answers an archive/unarchive/delete failure on the settings page.
async fn danger_failed(s: &AppState, actor: &Actor, code: &str, e: AppError) -> Result<Response, PageError> {
    if matches!(e, AppError::NotFound(_)) {
        return Err(PageError::new(actor, e));
    }
    let status = form_status(&e);
    render_settings(s, actor, code, Failed::Danger(FormErrors::from(&e)), status).await
}

async fn set_archived(s: &AppState, actor: &Actor, code: &str, archived: bool) -> Result<Response, PageError> {
    match s.app.set_product_archived(actor, code, archived).await {
        Ok(p) => Ok(Redirect::to(&format!("/products/{}/settings", slug(&p))).into_response()),
        Err(e) => danger_failed(s, actor, code, e).await,
    }
}

async fn archive(
    State(s): State<AppState>,
    PageUser(actor): PageUser,
    Path(code): Path<String>,
) -> Result<Response, PageError> {
    set_archived(&s, &actor, &code, true).await
}

async fn unarchive(
    State(s): State<AppState>,
    PageUser(actor): PageUser,
    Path(code): Path<String>,
) -> Result<Response, PageError> {
    set_archived(&s, &actor, &code, false).await
}

#[derive(Deserialize)]
struct DeleteForm {
    #[serde(default)]
    confirm: String,
}

async fn delete(
    State(s): State<AppState>,
    PageUser(actor): PageUser,
    Path(code): Path<String>,
    Form(f): Form<DeleteForm>,
) -> Result<Response, PageError> {
    // Deleting is for good: the owner types the product's code (or name)
    // first, so a stray click or a form without it changes nothing. Anyone
    // else goes straight to the service, which refuses them (403).
    let p = s.app.get_product(&actor, &code).await.or_page(&actor)?;
    let typed = f.confirm.trim();
    let expected = slug(&p);
    if p.access == "owner" && typed != expected && typed != p.name {
        let e = AppError::field("confirm", format!("type `{expected}` to confirm deleting this product"));
        return danger_failed(&s, &actor, &code, e).await;
    }
    match s.app.delete_product(&actor, &p.id).await {
        Ok(()) => Ok(Redirect::to("/products").into_response()),
        Err(e) => danger_failed(&s, &actor, &code, e).await,
    }
}
