//! The question channel: an agent asks a person (reference §3.7, §7.5, §9.1).
//!
//! * An agent asks about a story, a task (which implies its story) or one of
//!   its owner's ideas; the question is open for 24 hours.
//! * People answer through REST (any product member who may write; for an
//!   idea only its owner). The answer is **one conditional update**
//!   (`WHERE status = 'OPEN' AND expires_at > now`), so of two racing answers
//!   exactly one wins and the other gets a 409 saying what happened.
//! * The asker may cancel an open question; a sweeper expires old ones.
//! * A question past `expires_at` that the sweeper has not reached yet is
//!   already shown (and refused) as `expired`.
//!
//! Every change publishes `question_changed` after it is committed, carrying
//! the whole question so a page can update without refetching.

use baton_domain::{ValidationErrors, agents::QuestionStatus, validation::check_text};
use baton_store::{
    entities::{idea, product, question},
    events::{Event, kinds},
    new_id, now,
    sea_orm::{
        ActiveModelTrait, ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter,
        QueryOrder, QuerySelect, sea_query::Expr, sea_query::Query,
    },
};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::{
    Actor, App, AppError, AppResult, AuthVia,
    access::{self, Reach},
    backlog::{paginate, refs},
    list::{Page, PageParams},
};

/// Longest question or answer, in characters.
pub const MAX_TEXT: usize = 4000;
/// Most answer options.
pub const MAX_OPTIONS: usize = 8;
/// Longest answer option, in characters.
pub const MAX_OPTION_LEN: usize = 500;
/// How long a question stays open.
pub const TTL_HOURS: i64 = 24;
/// Most questions `list_open_questions` returns.
pub const OPEN_LIST_LIMIT: u64 = 50;
/// Longest `wait_seconds` of `ask_user_question`.
pub const MAX_ASK_WAIT: std::time::Duration = std::time::Duration::from_secs(600);
/// A waiting `ask_user_question` re-reads its question at least this often
/// even without an event (the reference's poll interval; events wake it at once).
pub const ASK_WAIT_POLL: std::time::Duration = std::time::Duration::from_secs(2);

/// A question as REST and MCP show it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct QuestionView {
    /// Id (UUID v7).
    pub id: String,
    /// open | answered | cancelled | expired | closed. An open question past
    /// `expires_at` is shown as `expired` even before the sweeper runs.
    pub status: QuestionStatus,
    /// The story asked about (`None` for idea questions).
    pub story_id: Option<String>,
    /// The task asked about, if any.
    pub task_id: Option<String>,
    /// The idea asked about (`None` for story questions).
    pub idea_id: Option<String>,
    /// The product the story or idea belongs to.
    pub product_id: String,
    /// The user whose agent asked.
    pub asked_by: String,
    /// The question text.
    pub question: String,
    /// The allowed answers; `None` for a free-text answer.
    pub options: Option<Vec<String>>,
    /// The answer, once answered.
    pub answer: Option<String>,
    /// Who answered.
    pub answered_by: Option<String>,
    /// When it was answered.
    pub answered_at: Option<DateTime<Utc>>,
    /// When it was asked.
    pub created_at: DateTime<Utc>,
    /// When it stops accepting answers.
    pub expires_at: DateTime<Utc>,
}

/// Converts a row into its view, as of `at`.
pub fn question_view(m: question::Model, at: DateTime<Utc>) -> AppResult<QuestionView> {
    let stored = QuestionStatus::decode(&m.status, "questions.status")?;
    let status = if stored == QuestionStatus::Open && m.expires_at <= at { QuestionStatus::Expired } else { stored };
    let options = m.options.and_then(|v| serde_json::from_value::<Vec<String>>(v).ok());
    Ok(QuestionView {
        id: m.id,
        status,
        story_id: m.story_id,
        task_id: m.task_id,
        idea_id: m.idea_id,
        product_id: m.product_id,
        asked_by: m.asked_by,
        question: m.question,
        options,
        answer: m.answer,
        answered_by: m.answered_by,
        answered_at: m.answered_at,
        created_at: m.created_at,
        expires_at: m.expires_at,
    })
}

/// What an agent asks. Give a story (id or code), a task (which implies its
/// story) or an idea; a story and an idea together are refused.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewQuestion {
    /// The story the question is about (id or `ST-NNN`).
    #[serde(default)]
    pub story_id: Option<String>,
    /// The task the question is about (id or `T-N`); must belong to the story when both are given.
    #[serde(default)]
    pub task_id: Option<String>,
    /// The idea the question is about (the caller's own).
    #[serde(default)]
    pub idea_id: Option<String>,
    /// The question, 1–4000 characters.
    pub question: String,
    /// Up to 8 allowed answers (each non-empty); omit for free text.
    #[serde(default)]
    pub options: Option<Vec<String>>,
}

/// What `ask_user_question` returns: the question as it is when the call
/// returns, and whether a wait ended with it still open.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct AskedQuestion {
    /// The question (status `answered` with the answer when it came in time).
    #[serde(flatten)]
    pub question: QuestionView,
    /// The wait ended with the question still open (the reference's
    /// `status: "pending"`); poll with `get_question_answer`. `false` without a wait.
    pub timed_out: bool,
}

/// A person's answer.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AnswerInput {
    /// The answer, 1–4000 characters; one of the question's options when it has them.
    #[schema(max_length = 4000, pattern = "\\S")]
    pub answer: String,
}

/// Filters of the people's question list.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct QuestionFilter {
    /// open | answered | cancelled | expired | closed.
    #[param(value_type = Option<baton_domain::agents::QuestionStatus>, inline)]
    pub status: Option<String>,
    /// Only questions of this product.
    pub product_id: Option<String>,
    /// Page number, from 1 to 1000000.
    #[param(minimum = 1, maximum = 1_000_000)]
    pub page: Option<u64>,
    /// Items per page, 1–200 (default 50).
    pub limit: Option<u64>,
}

/// The caller's own open and answered questions.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct OpenQuestions {
    /// How many are listed.
    pub count: usize,
    /// Newest first, at most 50.
    pub questions: Vec<QuestionView>,
}

/// What the sweeper did.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ExpiredQuestions {
    /// How many open questions it expired.
    pub expired: u64,
}

fn check_question(input: &NewQuestion) -> Result<Option<Vec<String>>, ValidationErrors> {
    let mut errs = ValidationErrors::new();
    check_text(&mut errs, "question", &input.question, 1, MAX_TEXT);
    let has = |s: &Option<String>| s.as_deref().is_some_and(|v| !v.trim().is_empty());
    for (field, value) in [("story_id", &input.story_id), ("task_id", &input.task_id), ("idea_id", &input.idea_id)] {
        if value.as_deref().is_some_and(|v| v.trim().is_empty()) {
            errs.add(field, "must not be empty when given");
        }
    }
    if has(&input.idea_id) && (has(&input.story_id) || has(&input.task_id)) {
        errs.add("idea_id", "give either a story (story_id or task_id) or an idea_id, not both");
    } else if !has(&input.idea_id) && !has(&input.story_id) && !has(&input.task_id) {
        errs.add("story_id", "give story_id, task_id or idea_id");
    }
    let mut options = None;
    if let Some(list) = &input.options {
        if list.len() > MAX_OPTIONS {
            errs.add("options", format!("at most {MAX_OPTIONS} options"));
        }
        let mut seen: Vec<String> = Vec::new();
        for (i, o) in list.iter().enumerate() {
            let path = format!("options.{i}");
            let o = o.trim();
            if o.is_empty() {
                errs.add(&path, "must not be empty");
            } else if o.chars().count() > MAX_OPTION_LEN {
                errs.add(&path, format!("must be at most {MAX_OPTION_LEN} characters"));
            } else if let Some(j) = seen.iter().position(|s| s == o) {
                errs.add(&path, format!("repeats options.{j}"));
            }
            seen.push(o.to_string());
        }
        if !list.is_empty() {
            options = Some(seen);
        }
    }
    errs.into_result()?;
    Ok(options)
}

/// Products the caller may read, as a condition on `col` (see
/// [`access::visible_products`]; kept under this name for the cost queries).
pub(crate) fn readable_products<C: ColumnTrait>(actor: &Actor, col: C) -> Condition {
    access::visible_products(actor, col, Reach::Readable)
}

/// Which questions a status filter selects, as of `at` (open questions past
/// their expiry count as expired).
pub(crate) fn status_condition(status: QuestionStatus, at: DateTime<Utc>) -> Condition {
    match status {
        QuestionStatus::Open => Condition::all()
            .add(question::Column::Status.eq(QuestionStatus::Open.as_db()))
            .add(question::Column::ExpiresAt.gt(at)),
        QuestionStatus::Expired => {
            Condition::any().add(question::Column::Status.eq(QuestionStatus::Expired.as_db())).add(
                Condition::all()
                    .add(question::Column::Status.eq(QuestionStatus::Open.as_db()))
                    .add(question::Column::ExpiresAt.lte(at)),
            )
        }
        other => Condition::all().add(question::Column::Status.eq(other.as_db())),
    }
}

/// Loads a question the actor may see: story questions need read access to
/// the product, idea questions belong to the idea's owner alone.
async fn visible_question<C: ConnectionTrait>(db: &C, actor: &Actor, id: &str) -> AppResult<question::Model> {
    let q = question::Entity::find_by_id(id.trim().to_string()).one(db).await?.ok_or(AppError::NotFound("question"))?;
    if let Some(idea_id) = &q.idea_id {
        let owner = idea::Entity::find_by_id(idea_id.clone()).one(db).await?.map(|i| i.user_id);
        let in_scope = actor.token_scope().is_none_or(|s| s.iter().any(|p| p == &q.product_id));
        let cli = matches!(actor.via, AuthVia::Cli);
        if !cli && (owner.as_deref() != Some(actor.user_id.as_str()) || !in_scope) {
            return Err(AppError::NotFound("question"));
        }
    } else {
        match access::readable(db, actor, &q.product_id).await {
            Ok(_) => {}
            Err(AppError::NotFound(_)) => return Err(AppError::NotFound("question")),
            Err(e) => return Err(e),
        }
    }
    Ok(q)
}

fn conflict_for(q: &question::Model, at: DateTime<Utc>, verb: &str) -> AppError {
    let status = match question_view(q.clone(), at) {
        Ok(v) => v.status,
        Err(e) => return e,
    };
    let what = match status {
        QuestionStatus::Answered => "already answered".to_string(),
        QuestionStatus::Expired => "already expired".to_string(),
        other => format!("already {other}"),
    };
    AppError::Conflict(format!("cannot {verb} question {}: it is {what}", q.id))
}

impl App {
    async fn publish_question(&self, op: &str, view: &QuestionView) {
        let event = Event::new(kinds::QUESTION_CHANGED)
            .for_product(view.product_id.clone())
            .for_user(view.asked_by.clone())
            .with_data(json!({ "op": op, "question_id": view.id, "question": view }));
        if let Err(e) = self.bus.publish(&event).await {
            tracing::warn!(error = %e, question_id = %view.id, "could not publish question_changed");
        }
    }

    /// An agent asks a person a question about a story, task or idea.
    /// Needs write access to the story's product (idea: the caller's own
    /// idea, which must belong to a product). Open for 24 hours.
    pub async fn ask_question(&self, actor: &Actor, input: NewQuestion) -> AppResult<QuestionView> {
        actor.require_write()?;
        let options = check_question(&input)?;
        let nonempty = |s: &Option<String>| s.as_deref().map(str::trim).filter(|v| !v.is_empty()).map(str::to_string);
        let (story_id, task_id, idea_id, product_id) = if let Some(idea_ref) = nonempty(&input.idea_id) {
            let idea = idea::Entity::find_by_id(idea_ref).one(&self.db).await?;
            let idea = match idea {
                Some(i) if i.user_id == actor.user_id || matches!(actor.via, AuthVia::Cli) => i,
                _ => return Err(AppError::NotFound("idea")),
            };
            let Some(pid) = idea.product_id.clone() else {
                return Err(AppError::field("idea_id", "the idea has no product yet; link it to a product first"));
            };
            if actor.token_scope().is_some_and(|s| !s.iter().any(|p| p == &pid)) {
                return Err(AppError::NotFound("idea"));
            }
            (None, None, Some(idea.id), pid)
        } else {
            let task = match nonempty(&input.task_id) {
                Some(r) => Some(refs::resolve_task_at(&self.db, actor, &r, "task_id").await?),
                None => None,
            };
            let story = match nonempty(&input.story_id) {
                Some(r) => refs::resolve_story_at(&self.db, actor, &r, "story_id").await?,
                None => {
                    let t = task.as_ref().ok_or_else(|| AppError::field("story_id", "give story_id or task_id"))?;
                    refs::resolve_story_at(&self.db, actor, &t.story_id, "task_id").await?
                }
            };
            if let Some(t) = &task
                && t.story_id != story.id
            {
                return Err(AppError::field(
                    "task_id",
                    format!("task {} belongs to another story, not {}", t.code, story.code),
                ));
            }
            access::writable(&self.db, actor, &story.product_id).await?;
            (Some(story.id), task.map(|t| t.id), None, story.product_id)
        };
        let at = now();
        let row = question::ActiveModel {
            id: Set(new_id()),
            story_id: Set(story_id),
            task_id: Set(task_id),
            idea_id: Set(idea_id),
            product_id: Set(product_id),
            asked_by: Set(actor.user_id.clone()),
            question: Set(input.question.trim().to_string()),
            options: Set(options.map(|o| json!(o))),
            status: Set(QuestionStatus::Open.as_db().to_string()),
            answer: Set(None),
            answered_by: Set(None),
            answered_at: Set(None),
            created_at: Set(at),
            expires_at: Set(at + Duration::hours(TTL_HOURS)),
        }
        .insert(&self.db)
        .await?;
        let view = question_view(row, at)?;
        self.publish_question("asked", &view).await;
        Ok(view)
    }

    /// Asks like [`ask_question`](Self::ask_question), then waits up to
    /// `wait` (at most 600 s; zero returns at once) until the question is no
    /// longer open: answered, cancelled or expired. Woken by the
    /// `question_changed` event of this question (within milliseconds, on
    /// every instance sharing the bus), with a 2 s safety poll. A wait that
    /// ends with the question still open returns it with `timed_out: true`.
    pub async fn ask_question_and_wait(
        &self,
        actor: &Actor,
        input: NewQuestion,
        wait: std::time::Duration,
    ) -> AppResult<AskedQuestion> {
        if wait > MAX_ASK_WAIT {
            return Err(AppError::field("wait_seconds", "must be between 0 and 600"));
        }
        // Subscribe before the question exists, so no answer can be
        // published between the insert and the wait.
        let mut rx = self.bus.subscribe();
        let asked = self.ask_question(actor, input).await?;
        if wait.is_zero() {
            return Ok(AskedQuestion { question: asked, timed_out: false });
        }
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let row = question::Entity::find_by_id(asked.id.clone())
                .one(&self.db)
                .await?
                .ok_or(AppError::NotFound("question"))?;
            let view = question_view(row, now())?;
            if view.status != QuestionStatus::Open {
                return Ok(AskedQuestion { question: view, timed_out: false });
            }
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            if left.is_zero() {
                return Ok(AskedQuestion { question: view, timed_out: true });
            }
            let slice = left.min(ASK_WAIT_POLL);
            // Wait for an event about this question (or a resync), or the poll.
            let _ = tokio::time::timeout(slice, async {
                loop {
                    match rx.recv().await {
                        Ok(ev) if ev.kind == kinds::BUS_RESYNC => return,
                        Ok(ev)
                            if ev.kind == kinds::QUESTION_CHANGED
                                && (ev.truncated
                                    || ev.data.get("question_id").and_then(Value::as_str)
                                        == Some(asked.id.as_str())) =>
                        {
                            return;
                        }
                        Ok(_) => {}
                        Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => return,
                        // A closed bus wakes no one: sleep out the slice and re-read.
                        Err(tokio::sync::broadcast::error::RecvError::Closed) => std::future::pending::<()>().await,
                    }
                }
            })
            .await;
        }
    }

    /// One question the caller may see (story questions: product readers;
    /// idea questions: the idea's owner).
    pub async fn get_question(&self, actor: &Actor, id: &str) -> AppResult<QuestionView> {
        let q = visible_question(&self.db, actor, id).await?;
        question_view(q, now())
    }

    /// The caller's own open and answered questions (optionally about one
    /// story), newest first, at most 50.
    pub async fn list_open_questions(&self, actor: &Actor, story_id: Option<&str>) -> AppResult<OpenQuestions> {
        let mut q = question::Entity::find()
            .filter(question::Column::AskedBy.eq(&actor.user_id))
            .filter(question::Column::Status.is_in([QuestionStatus::Open.as_db(), QuestionStatus::Answered.as_db()]));
        if let Some(s) = story_id.map(str::trim).filter(|s| !s.is_empty()) {
            let story = refs::resolve_story_at(&self.db, actor, s, "story_id").await?;
            q = q.filter(question::Column::StoryId.eq(story.id));
        }
        if let Some(scope) = actor.token_scope() {
            q = q.filter(question::Column::ProductId.is_in(scope.to_vec()));
        }
        let rows = q
            .order_by_desc(question::Column::CreatedAt)
            .order_by_desc(question::Column::Id)
            .limit(OPEN_LIST_LIMIT)
            .all(&self.db)
            .await?;
        let at = now();
        let questions: Vec<QuestionView> = rows.into_iter().map(|r| question_view(r, at)).collect::<AppResult<_>>()?;
        Ok(OpenQuestions { count: questions.len(), questions })
    }

    /// Questions people may answer or read: story questions in products the
    /// caller can read and the caller's own idea questions, newest first.
    pub async fn list_questions(&self, actor: &Actor, filter: QuestionFilter) -> AppResult<Page<QuestionView>> {
        self.questions_within(actor, filter, Reach::Readable).await
    }

    /// Like [`list_questions`](Self::list_questions), but only about the
    /// caller's own work: story questions in products they own or belong
    /// to (administrators included) and their own idea questions. The web
    /// pages' bell and question list use it, as the notification stream does.
    pub async fn list_my_questions(&self, actor: &Actor, filter: QuestionFilter) -> AppResult<Page<QuestionView>> {
        self.questions_within(actor, filter, Reach::Own).await
    }

    async fn questions_within(
        &self,
        actor: &Actor,
        filter: QuestionFilter,
        reach: Reach,
    ) -> AppResult<Page<QuestionView>> {
        let at = now();
        let mut errs = ValidationErrors::new();
        let status = match filter.status.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            Some(s) => match QuestionStatus::parse_api(s) {
                Some(st) => Some(st),
                None => {
                    errs.add("status", format!("must be one of {}", QuestionStatus::api_values()));
                    None
                }
            },
            None => None,
        };
        let params = PageParams { page: filter.page, limit: filter.limit };
        if let Err(AppError::Validation(v)) = params.resolve() {
            errs.0.extend(v.0);
        }
        errs.into_result()?;
        let visible = Condition::any()
            .add(Condition::all().add(question::Column::StoryId.is_not_null()).add(access::visible_products(
                actor,
                question::Column::ProductId,
                reach,
            )))
            .add(
                Condition::all().add(question::Column::IdeaId.is_not_null()).add(
                    question::Column::IdeaId.in_subquery(
                        Query::select()
                            .column(idea::Column::Id)
                            .from(idea::Entity)
                            .and_where(idea::Column::UserId.eq(&actor.user_id))
                            .to_owned(),
                    ),
                ),
            );
        let mut q = question::Entity::find().filter(visible);
        if let Some(scope) = actor.token_scope() {
            q = q.filter(question::Column::ProductId.is_in(scope.to_vec()));
        }
        if let Some(pid) = filter.product_id.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            let p = crate::products::readable_ref(&self.db, actor, pid).await?;
            q = q.filter(question::Column::ProductId.eq(p.id));
        }
        if let Some(st) = status {
            q = q.filter(status_condition(st, at));
        }
        let q = q.order_by_desc(question::Column::CreatedAt).order_by_desc(question::Column::Id);
        let page = paginate(&self.db, q, params).await?;
        page.try_map(|m| question_view(m, at))
    }

    /// The asker withdraws an open question. Anyone else gets 404 ("not
    /// found or not yours"); a question no longer open gets 409.
    pub async fn cancel_question(&self, actor: &Actor, id: &str) -> AppResult<QuestionView> {
        actor.require_write()?;
        let id = id.trim().to_string();
        let res = question::Entity::update_many()
            .col_expr(question::Column::Status, Expr::value(QuestionStatus::Cancelled.as_db()))
            .filter(question::Column::Id.eq(&id))
            .filter(question::Column::AskedBy.eq(&actor.user_id))
            .filter(question::Column::Status.eq(QuestionStatus::Open.as_db()))
            .exec(&self.db)
            .await?;
        let row = question::Entity::find_by_id(id).one(&self.db).await?;
        let row = match row {
            Some(r) if r.asked_by == actor.user_id => r,
            _ => return Err(AppError::NotFound("question")),
        };
        let at = now();
        if res.rows_affected == 0 {
            return Err(conflict_for(&row, at, "cancel"));
        }
        let view = question_view(row, at)?;
        self.publish_question("cancelled", &view).await;
        Ok(view)
    }

    /// A person answers an open question. Story questions: anyone who may
    /// write to the product; idea questions: the idea's owner. With options,
    /// the answer must be one of them. Exactly one of several racing answers
    /// wins; the others get 409 ("already answered" / "already expired").
    pub async fn answer_question(&self, actor: &Actor, id: &str, input: AnswerInput) -> AppResult<QuestionView> {
        actor.require_write()?;
        let q = visible_question(&self.db, actor, id).await?;
        if q.story_id.is_some() {
            access::writable(&self.db, actor, &q.product_id).await?;
        }
        let mut errs = ValidationErrors::new();
        check_text(&mut errs, "answer", &input.answer, 1, MAX_TEXT);
        errs.into_result()?;
        let answer = input.answer.trim().to_string();
        let options = q.options.clone().and_then(|v| serde_json::from_value::<Vec<String>>(v).ok());
        if let Some(opts) = options.filter(|o| !o.is_empty())
            && !opts.contains(&answer)
        {
            return Err(AppError::field("answer", format!("must be one of the options: {}", opts.join(", "))));
        }
        let at = now();
        let res = question::Entity::update_many()
            .col_expr(question::Column::Status, Expr::value(QuestionStatus::Answered.as_db()))
            .col_expr(question::Column::Answer, Expr::value(answer))
            .col_expr(question::Column::AnsweredBy, Expr::value(actor.user_id.clone()))
            .col_expr(question::Column::AnsweredAt, Expr::value(at))
            .filter(question::Column::Id.eq(&q.id))
            .filter(question::Column::Status.eq(QuestionStatus::Open.as_db()))
            .filter(question::Column::ExpiresAt.gt(at))
            .exec(&self.db)
            .await?;
        let row =
            question::Entity::find_by_id(q.id.clone()).one(&self.db).await?.ok_or(AppError::NotFound("question"))?;
        if res.rows_affected == 0 {
            return Err(conflict_for(&row, at, "answer"));
        }
        let view = question_view(row, at)?;
        self.publish_question("answered", &view).await;
        Ok(view)
    }

    /// Expires every open question past `expires_at` (the sweeper and
    /// `POST /api/cron/expire-questions`). Safe to run on several instances
    /// at once: each question is expired, and announced, by one statement.
    pub async fn expire_questions(&self) -> AppResult<ExpiredQuestions> {
        let at = now();
        let due: Vec<String> = question::Entity::find()
            .select_only()
            .column(question::Column::Id)
            .filter(question::Column::Status.eq(QuestionStatus::Open.as_db()))
            .filter(question::Column::ExpiresAt.lte(at))
            .into_tuple()
            .all(&self.db)
            .await?;
        if due.is_empty() {
            return Ok(ExpiredQuestions { expired: 0 });
        }
        let mut expired = 0;
        for chunk in due.chunks(500) {
            let ids = chunk.to_vec();
            let res = question::Entity::update_many()
                .col_expr(question::Column::Status, Expr::value(QuestionStatus::Expired.as_db()))
                .filter(question::Column::Id.is_in(ids.clone()))
                .filter(question::Column::Status.eq(QuestionStatus::Open.as_db()))
                .filter(question::Column::ExpiresAt.lte(at))
                .exec(&self.db)
                .await?;
            expired += res.rows_affected;
            let rows = question::Entity::find()
                .filter(question::Column::Id.is_in(ids))
                .filter(question::Column::Status.eq(QuestionStatus::Expired.as_db()))
                .all(&self.db)
                .await?;
            for r in rows {
                self.publish_question("expired", &question_view(r, at)?).await;
            }
        }
        if expired > 0 {
            tracing::info!(expired, "expired open questions");
        }
        Ok(ExpiredQuestions { expired })
    }
}

/// Whether a `question_changed` event may be shown to `user_id`, given the
/// products they can read: idea questions go to their asker (the idea's
/// owner) only, story questions to readers of the product.
pub fn event_visible_to(event: &Event, user_id: &str, readable: &[String]) -> bool {
    let data: &Value = &event.data;
    let is_idea = data.get("question").and_then(|q| q.get("idea_id")).is_some_and(|v| !v.is_null());
    if is_idea {
        return event.user_id.as_deref() == Some(user_id);
    }
    event.product_id.as_ref().is_some_and(|p| readable.iter().any(|r| r == p))
}

impl App {
    /// Ids of the products whose events the caller's notification stream
    /// carries: owned or member of, within the token's scope. (Administrators
    /// may read every product, but their bell stays about their own work.)
    pub async fn notification_products(&self, actor: &Actor) -> AppResult<Vec<String>> {
        let q = product::Entity::find().select_only().column(product::Column::Id).filter(access::visible_products(
            actor,
            product::Column::Id,
            Reach::Own,
        ));
        Ok(q.into_tuple().all(&self.db).await?)
    }
}
