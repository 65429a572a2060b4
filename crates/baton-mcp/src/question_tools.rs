//! Questions to a person: `ask_user_question`, `get_question_answer`,
//! `list_open_questions`, `cancel_question`; and the person's side,
//! `answer_question`.

use baton_app::{
    AppResult,
    questions::{AnswerInput, NewQuestion},
};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;

use crate::tools::{Cx, parse, to_json};

/// Arguments of `ask_user_question`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct AskArgs {
    /// The story it is about (id or `ST-NNN`); give this, a task, or an idea.
    #[serde(default)]
    story_id: Option<String>,
    /// The task it is about (id or `T-N`).
    #[serde(default)]
    task_id: Option<String>,
    /// The idea it is about (your own).
    #[serde(default)]
    idea_id: Option<String>,
    /// The question, 1–4000 characters.
    question: String,
    /// Up to 8 allowed answers; omit for free text.
    #[serde(default)]
    options: Option<Vec<String>>,
    /// Seconds to wait for the answer, 0–600 (default 0: return at once). Returns as soon as it is answered, cancelled or expired; `timed_out: true` if still open.
    #[serde(default)]
    #[schemars(range(max = 600))]
    wait_seconds: Option<u64>,
}

/// Arguments of the tools about one question.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct QuestionArgs {
    /// The question id from `ask_user_question`.
    question_id: String,
}

/// Arguments of `list_open_questions`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ListQuestionsArgs {
    /// Only questions about this story (id or `ST-NNN`).
    #[serde(default)]
    story_id: Option<String>,
}

/// `ask_user_question`.
pub(crate) async fn ask_user_question(cx: &Cx<'_>, args: Value) -> AppResult<Value> {
    let (app, actor) = (cx.app, cx.actor);
    let a: AskArgs = parse(args)?;
    let input = NewQuestion {
        story_id: a.story_id,
        task_id: a.task_id,
        idea_id: a.idea_id,
        question: a.question,
        options: a.options,
    };
    let wait = std::time::Duration::from_secs(a.wait_seconds.unwrap_or(0));
    to_json(app.ask_question_and_wait(actor, input, wait).await?)
}

/// `get_question_answer`.
pub(crate) async fn get_question_answer(cx: &Cx<'_>, args: Value) -> AppResult<Value> {
    let (app, actor) = (cx.app, cx.actor);
    let a: QuestionArgs = parse(args)?;
    to_json(app.get_question(actor, &a.question_id).await?)
}

/// `list_open_questions`.
pub(crate) async fn list_open_questions(cx: &Cx<'_>, args: Value) -> AppResult<Value> {
    let (app, actor) = (cx.app, cx.actor);
    let a: ListQuestionsArgs = parse(args)?;
    to_json(app.list_open_questions(actor, a.story_id.as_deref()).await?)
}

/// `cancel_question`.
pub(crate) async fn cancel_question(cx: &Cx<'_>, args: Value) -> AppResult<Value> {
    let (app, actor) = (cx.app, cx.actor);
    let a: QuestionArgs = parse(args)?;
    to_json(app.cancel_question(actor, &a.question_id).await?)
}

/// Arguments of `answer_question`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct AnswerArgs {
    /// The open question's id (from the bell, `GET /api/questions` or the agent).
    question_id: String,
    /// The answer, 1–4000 characters; one of the question's options when it has them.
    answer: String,
}

/// `answer_question`: a person (or a script acting for one) answers an
/// agent's question; an agent waiting in `ask_user_question` wakes up.
pub(crate) async fn answer_question(cx: &Cx<'_>, args: Value) -> AppResult<Value> {
    let a: AnswerArgs = parse(args)?;
    to_json(cx.app.answer_question(cx.actor, &a.question_id, AnswerInput { answer: a.answer }).await?)
}
