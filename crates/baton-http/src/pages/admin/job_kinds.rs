//! `/admin/job-kinds`: the model configuration per job kind (model,
//! thinking budget, permission mode, allowed tools, max turns) through the
//! services `/api/admin/job-kinds` uses. One form per kind; an empty field
//! is "not set" (the product's preference or the built-in default applies),
//! allowed tools are typed one per line or comma-separated.

use askama::Template;
use askama_web::WebTemplate;
use axum::{
    Form, Router,
    extract::{Path, State},
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
    routing::{get, post},
};
use baton_app::{
    Actor, AppError,
    queue::kind_config::{JobKindConfigInput, JobKindConfigView},
};
use serde::Deserialize;

use super::admin_only;
use crate::{
    AppState,
    pages::layout::{DEMO_REASON, FormErrors, Layout, OrPage, PageError, PageUser, form_status},
};

/// The routes of this module.
pub fn router() -> Router<AppState> {
    Router::new().route("/admin/job-kinds", get(page)).route("/admin/job-kinds/{kind}", post(save))
}

/// One kind's form, as typed.
#[derive(Debug, Clone, Default, Deserialize)]
struct KindForm {
    #[serde(default)]
    model: String,
    #[serde(default)]
    thinking_budget: String,
    #[serde(default)]
    permission_mode: String,
    #[serde(default)]
    allowed_tools: String,
    #[serde(default)]
    max_turns: String,
}

fn opt(v: &str) -> Option<String> {
    let v = v.trim();
    (!v.is_empty()).then(|| v.to_string())
}

/// A whole number in a form field, or a validation error naming it.
fn number(field: &str, v: &str, what: &str) -> Result<Option<i32>, AppError> {
    opt(v)
        .map(|v| v.parse::<i32>().map_err(|_| AppError::field(field, format!("must be a whole number ({what})"))))
        .transpose()
}

impl KindForm {
    fn of(v: &JobKindConfigView) -> KindForm {
        KindForm {
            model: v.model.clone().unwrap_or_default(),
            thinking_budget: v.thinking_budget.map(|b| b.to_string()).unwrap_or_default(),
            permission_mode: v.permission_mode.clone().unwrap_or_default(),
            allowed_tools: v.allowed_tools.as_ref().map(|t| t.join("\n")).unwrap_or_default(),
            max_turns: v.max_turns.map(|t| t.to_string()).unwrap_or_default(),
        }
    }

    /// The service's input; an empty field is not set.
    fn input(&self) -> Result<JobKindConfigInput, AppError> {
        let tools: Vec<String> = self
            .allowed_tools
            .split([',', '\n'])
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_string)
            .collect();
        Ok(JobKindConfigInput {
            model: opt(&self.model),
            thinking_budget: number("thinking_budget", &self.thinking_budget, "0 to 200000 tokens")?,
            permission_mode: opt(&self.permission_mode),
            allowed_tools: (!tools.is_empty()).then_some(tools),
            max_turns: number("max_turns", &self.max_turns, "1 to 1000")?,
        })
    }
}

struct KindRow {
    view: JobKindConfigView,
    form: KindForm,
    errors: FormErrors,
}

#[derive(Template, WebTemplate)]
#[template(path = "admin/job_kinds.html")]
struct KindsPage {
    layout: Layout,
    rows: Vec<KindRow>,
    disabled: Option<String>,
}

async fn render(
    s: &AppState,
    actor: &Actor,
    failed: Option<(String, KindForm, FormErrors)>,
    status: StatusCode,
) -> Result<Response, PageError> {
    admin_only(actor)?;
    let layout = Layout::new(s, actor, "Job kinds", "admin").await.or_page(actor)?;
    let list = s.app.list_job_kind_configs(actor).await.or_page(actor)?;
    let rows = list
        .into_iter()
        .map(|v| match &failed {
            Some((kind, f, e)) if *kind == v.kind => KindRow { form: f.clone(), errors: e.clone(), view: v },
            _ => KindRow { form: KindForm::of(&v), errors: FormErrors::none(), view: v },
        })
        .collect();
    let page = KindsPage { layout, rows, disabled: actor.is_demo.then(|| DEMO_REASON.to_string()) };
    Ok((status, page).into_response())
}

async fn page(State(s): State<AppState>, PageUser(actor): PageUser) -> Result<Response, PageError> {
    render(&s, &actor, None, StatusCode::OK).await
}

async fn save(
    State(s): State<AppState>,
    PageUser(actor): PageUser,
    Path(kind): Path<String>,
    Form(f): Form<KindForm>,
) -> Result<Response, PageError> {
    admin_only(&actor)?;
    let result = match f.input() {
        Ok(input) => s.app.put_job_kind_config(&actor, &kind, input).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(v) => Ok(Redirect::to(&format!("/admin/job-kinds#kind-{}", v.kind)).into_response()),
        Err(e) => {
            let errors = FormErrors::from(&e);
            render(&s, &actor, Some((kind, f, errors)), form_status(&e)).await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_fields_are_not_set_and_tools_split_on_lines_or_commas() {
        let f = KindForm { allowed_tools: "Read, Edit\nBash\n\n".into(), max_turns: "12".into(), ..Default::default() };
        let input = f.input().expect("valid");
        assert_eq!(input.allowed_tools, Some(vec!["Read".into(), "Edit".into(), "Bash".into()]));
        assert_eq!((input.model, input.thinking_budget, input.max_turns), (None, None, Some(12)));
        let bad = KindForm { max_turns: "many".into(), ..Default::default() };
        assert!(bad.input().is_err());
    }
}
