//! `/questions`: the questions agents asked in the caller's products, open
//! ones first with an inline answer form (options or free text), and the
//! recently answered ones. Answering goes through the same
//! `answer_question` service as `POST /api/questions/{id}/answer`; when
//! someone else answered first, the page says who and what.

use std::collections::{HashMap, HashSet};

use askama::Template;
use askama_web::WebTemplate;
use axum::{
    Form, Router,
    extract::{Path, Query, State},
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Redirect, Response},
    routing::{get, post},
};
use baton_app::{
    Actor, AppError,
    products::{ProductFilter, ProductView},
    questions::{AnswerInput, QuestionFilter, QuestionView},
};
use baton_domain::agents::QuestionStatus;
use serde::Deserialize;

use super::{
    layout::{
        FormErrors, Layout, OrPage, PageError, PageUser, form_status, local_path, slug, urlencode, write_refusal,
    },
    markdown,
};
use crate::AppState;

/// The routes of this module.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/questions", get(questions_page))
        .route("/questions/{id}/answer", post(answer))
        .route("/questions/{id}/cancel", post(cancel))
}

/// How many recently answered questions the default view lists.
const RECENT_ANSWERED: u64 = 10;
/// Questions per page of a filtered list.
const PAGE_SIZE: u64 = 50;

/// Formats a time the way every page of this module shows it (UTC).
pub(super) fn fmt_time(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// One question as the page shows it.
pub(super) struct QuestionRow {
    pub id: String,
    pub status: String,
    pub status_label: String,
    pub html: String,
    pub product_name: String,
    pub product_slug: String,
    pub story: Option<(String, String)>,
    pub asked_by: String,
    pub asked_at: String,
    pub expires_at: String,
    pub options: Vec<String>,
    pub answer: Option<String>,
    pub answered_by: String,
    pub answered_at: String,
    pub open: bool,
    pub can_cancel: bool,
    pub disabled: Option<String>,
    pub errors: FormErrors,
    pub notice: Option<String>,
}

#[derive(Template, WebTemplate)]
#[template(path = "questions/index.html")]
struct QuestionsPage {
    layout: Layout,
    filter_status: String,
    filter_product: String,
    products: Vec<(String, String)>,
    statuses: Vec<(String, String)>,
    list_title: String,
    questions: Vec<QuestionRow>,
    recent: Vec<QuestionRow>,
    total: u64,
    page: u64,
    next_page: Option<String>,
    prev_page: Option<String>,
    errors: FormErrors,
    return_to: String,
}

#[derive(Deserialize, Default)]
struct Filters {
    status: Option<String>,
    product: Option<String>,
    page: Option<u64>,
}

fn status_label(s: QuestionStatus) -> String {
    let api = s.as_api();
    let mut c = api.chars();
    c.next().map(|f| f.to_uppercase().collect::<String>() + c.as_str()).unwrap_or_default()
}

/// Turns service views into rows: product names, story codes and the
/// names of who asked and answered, looked up once per page.
pub(super) async fn rows(
    s: &AppState,
    actor: &Actor,
    products: &[ProductView],
    views: Vec<QuestionView>,
) -> Result<Vec<QuestionRow>, AppError> {
    let mut ids: Vec<String> = Vec::new();
    for q in &views {
        ids.push(q.asked_by.clone());
        ids.extend(q.answered_by.clone());
    }
    ids.sort();
    ids.dedup();
    let names = s.app.usernames(actor, &ids).await?;
    let mut stories: HashMap<String, (String, String)> = HashMap::new();
    let wanted: HashSet<&String> = views.iter().filter_map(|q| q.story_id.as_ref()).collect();
    for id in wanted {
        // A story deleted since is simply not linked.
        if let Ok(st) = s.app.get_story(actor, id).await {
            stories.insert(id.clone(), (st.code, st.title));
        }
    }
    let name = |id: &str| {
        if id == actor.user_id { "you".to_string() } else { names.get(id).cloned().unwrap_or_else(|| "someone".into()) }
    };
    Ok(views
        .into_iter()
        .map(|q| {
            let product = products.iter().find(|p| p.id == q.product_id);
            let access = product.map_or("owner", |p| p.access.as_str());
            let open = q.status == QuestionStatus::Open;
            QuestionRow {
                status: q.status.as_api(),
                status_label: status_label(q.status),
                html: markdown::render(&q.question),
                product_name: product.map(|p| p.name.clone()).unwrap_or_default(),
                product_slug: product.map(slug).unwrap_or_default(),
                story: q.story_id.as_ref().and_then(|id| stories.get(id).cloned()),
                asked_by: name(&q.asked_by),
                asked_at: fmt_time(q.created_at),
                expires_at: fmt_time(q.expires_at),
                options: q.options.clone().unwrap_or_default(),
                answered_by: q.answered_by.as_deref().map(name).unwrap_or_default(),
                answered_at: q.answered_at.map(fmt_time).unwrap_or_default(),
                answer: q.answer,
                can_cancel: open && q.asked_by == actor.user_id && !actor.is_demo,
                disabled: write_refusal(actor, access),
                open,
                errors: FormErrors::none(),
                notice: None,
                id: q.id,
            }
        })
        .collect())
}

/// What a failed answer or cancel shows on its question.
struct Outcome {
    id: String,
    errors: FormErrors,
    notice: Option<String>,
}

async fn render(
    s: &AppState,
    actor: &Actor,
    f: Filters,
    status: StatusCode,
    outcome: Option<Outcome>,
) -> Result<Response, PageError> {
    let layout = Layout::new(s, actor, "Questions", "questions").await.or_page(actor)?;
    let products = s
        .app
        .list_products(actor, ProductFilter { limit: Some(200), ..Default::default() })
        .await
        .or_page(actor)?
        .items;
    let filter_status = f.status.clone().unwrap_or_else(|| "open".into()).trim().to_ascii_lowercase();
    let filter_product = f.product.clone().unwrap_or_default().trim().to_string();
    let mut errors = FormErrors::none();
    let status_filter = match filter_status.as_str() {
        "all" => None,
        other => Some(other.to_string()),
    };
    let page_no = f.page.unwrap_or(1).max(1);
    let filter = QuestionFilter {
        status: status_filter.clone(),
        product_id: (!filter_product.is_empty()).then(|| filter_product.clone()),
        page: Some(page_no),
        limit: Some(PAGE_SIZE),
    };
    let page = match s.app.list_my_questions(actor, filter).await {
        Ok(p) => p,
        // A bad filter is shown next to the filters, with an empty list.
        Err(e @ AppError::Validation(_)) => {
            errors = FormErrors::from(&e);
            baton_app::list::Page { items: vec![], page: 1, limit: PAGE_SIZE, total: 0 }
        }
        Err(AppError::NotFound(_)) => {
            errors.fields.push(("product".into(), "no product with that code that you can see".into()));
            baton_app::list::Page { items: vec![], page: 1, limit: PAGE_SIZE, total: 0 }
        }
        Err(e) => return Err(PageError::new(actor, e)),
    };
    let recent_views = if filter_status == "open" && page_no == 1 && errors.is_empty() {
        let recent = QuestionFilter {
            status: Some("answered".into()),
            product_id: (!filter_product.is_empty()).then(|| filter_product.clone()),
            page: Some(1),
            limit: Some(RECENT_ANSWERED),
        };
        s.app.list_my_questions(actor, recent).await.or_page(actor)?.items
    } else {
        vec![]
    };
    let total = page.total;
    let mut questions = rows(s, actor, &products, page.items).await.or_page(actor)?;
    let mut recent = rows(s, actor, &products, recent_views).await.or_page(actor)?;
    if let Some(o) = outcome {
        let mut placed = false;
        for row in questions.iter_mut().chain(recent.iter_mut()) {
            if row.id == o.id {
                row.errors = o.errors.clone();
                row.notice = o.notice.clone();
                placed = true;
            }
        }
        if !placed {
            // The question is not in this view (answered by someone else
            // while the list shows open ones): show it on top with the news.
            if let Ok(q) = s.app.get_question(actor, &o.id).await {
                let mut extra = rows(s, actor, &products, vec![q]).await.or_page(actor)?;
                for row in &mut extra {
                    row.errors = o.errors.clone();
                    row.notice = o.notice.clone();
                }
                extra.append(&mut questions);
                questions = extra;
            } else {
                errors.general.extend(o.errors.all());
            }
        }
    }
    let query = |p: u64| {
        format!("/questions?status={}&product={}&page={p}", urlencode(&filter_status), urlencode(&filter_product))
    };
    let shown = page_no.saturating_sub(1) * PAGE_SIZE + questions.len() as u64;
    let mut statuses = vec![("open".to_string(), "Open".to_string())];
    for st in [QuestionStatus::Answered, QuestionStatus::Cancelled, QuestionStatus::Expired, QuestionStatus::Closed] {
        statuses.push((st.as_api(), status_label(st)));
    }
    statuses.push(("all".into(), "All".into()));
    let list_title = statuses
        .iter()
        .find(|(v, _)| *v == filter_status)
        .map(|(_, l)| format!("{l} questions"))
        .unwrap_or_else(|| "Questions".into());
    let page = QuestionsPage {
        layout,
        products: products.iter().map(|p| (slug(p), p.name.clone())).collect(),
        return_to: query(page_no),
        next_page: (shown < total).then(|| query(page_no + 1)),
        prev_page: (page_no > 1).then(|| query(page_no - 1)),
        page: page_no,
        filter_status,
        filter_product,
        statuses,
        list_title,
        questions,
        recent,
        total,
        errors,
    };
    Ok((status, page).into_response())
}

async fn questions_page(
    State(s): State<AppState>,
    PageUser(actor): PageUser,
    Query(f): Query<Filters>,
) -> Result<Response, PageError> {
    render(&s, &actor, f, StatusCode::OK, None).await
}

#[derive(Deserialize)]
struct AnswerForm {
    #[serde(default)]
    answer: Option<String>,
    #[serde(default)]
    option: Option<String>,
    #[serde(default)]
    return_to: Option<String>,
}

/// Where to go back to: the form's `return_to`, else the page the form
/// was on (same-origin `Referer`), else `/questions`.
fn back_to(return_to: Option<&str>, headers: &HeaderMap, fallback: &str) -> String {
    if let Some(p) = return_to.filter(|p| !p.is_empty()) {
        return local_path(Some(p), fallback).to_string();
    }
    let referer = headers.get(header::REFERER).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let path = referer
        .split_once("://")
        .and_then(|(_, rest)| rest.strip_prefix(host))
        .filter(|_| !host.is_empty())
        .filter(|p| p.starts_with('/'));
    local_path(path, fallback).to_string()
}

/// The filters of a `/questions?…` return path, so an error re-renders
/// the list the user was looking at.
fn filters_of(path: &str) -> Filters {
    let Some(("/questions", query)) = path.split_once('?') else { return Filters::default() };
    serde_urlencoded::from_str(query).unwrap_or_default()
}

async fn answer(
    State(s): State<AppState>,
    PageUser(actor): PageUser,
    Path(id): Path<String>,
    headers: HeaderMap,
    Form(f): Form<AnswerForm>,
) -> Result<Response, PageError> {
    let back = back_to(f.return_to.as_deref(), &headers, "/questions");
    // A chosen option wins over the text box (the option buttons and the
    // text field share one form).
    let text = f.option.filter(|o| !o.is_empty()).or(f.answer).unwrap_or_default();
    match s.app.answer_question(&actor, &id, AnswerInput { answer: text }).await {
        Ok(_) => Ok(Redirect::to(&back).into_response()),
        Err(e @ AppError::NotFound(_)) => Err(PageError::new(&actor, e)),
        Err(e) => {
            let status = form_status(&e);
            let notice = match &e {
                AppError::Conflict(_) => Some(conflict_notice(&s, &actor, &id).await),
                _ => None,
            };
            let outcome = Outcome { id, errors: FormErrors::from(&e), notice };
            render(&s, &actor, filters_of(&back), status, Some(outcome)).await
        }
    }
}

/// "Already answered by bob: yes" — what the person who lost the race
/// needs to know.
async fn conflict_notice(s: &AppState, actor: &Actor, id: &str) -> String {
    let Ok(q) = s.app.get_question(actor, id).await else {
        return "This question can no longer be answered.".into();
    };
    match (q.status, q.answer) {
        (QuestionStatus::Answered, Some(answer)) => {
            let by = match q.answered_by {
                Some(u) if u == actor.user_id => "you".to_string(),
                Some(u) => s
                    .app
                    .usernames(actor, std::slice::from_ref(&u))
                    .await
                    .ok()
                    .and_then(|m| m.get(&u).cloned())
                    .unwrap_or_else(|| "someone".into()),
                None => "someone".into(),
            };
            format!("Already answered by {by}: “{answer}”. Your answer was not saved.")
        }
        (status, _) => format!("This question is {}; your answer was not saved.", status.as_api()),
    }
}

#[derive(Deserialize)]
struct CancelForm {
    #[serde(default)]
    return_to: Option<String>,
}

async fn cancel(
    State(s): State<AppState>,
    PageUser(actor): PageUser,
    Path(id): Path<String>,
    headers: HeaderMap,
    Form(f): Form<CancelForm>,
) -> Result<Response, PageError> {
    let back = back_to(f.return_to.as_deref(), &headers, "/questions");
    match s.app.cancel_question(&actor, &id).await {
        Ok(_) => Ok(Redirect::to(&back).into_response()),
        Err(e @ AppError::NotFound(_)) => Err(PageError::new(&actor, e)),
        Err(e) => {
            let outcome = Outcome { id, errors: FormErrors::from(&e), notice: None };
            render(&s, &actor, filters_of(&back), form_status(&e), Some(outcome)).await
        }
    }
}
