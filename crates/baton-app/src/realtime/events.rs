//! The events realtime streams send: one schema per `type`, each bus
//! event's payload typed, and the two streams' `oneOf`s with their
//! discriminator (documented in the OpenAPI document).

use baton_store::events::{Event, kinds};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize, de::DeserializeOwned};
use serde_json::Value;
use utoipa::ToSchema;

use crate::questions::QuestionView;

/// One status change a roll-up made.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct StatusChange {
    /// The row's id.
    pub id: String,
    /// Status before.
    pub from: String,
    /// Status after.
    pub to: String,
}

/// Statuses a change rolled up to its parents.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct RollupData {
    /// Stories whose status changed.
    pub stories: Vec<StatusChange>,
    /// PBIs whose status changed.
    pub pbis: Vec<StatusChange>,
    /// Sprints whose status changed.
    pub sprints: Vec<StatusChange>,
    /// Sprint runs that finished.
    pub sprint_runs: Vec<StatusChange>,
    /// Jobs cancelled because a task failed in their sprint run.
    pub cancelled_jobs: Vec<String>,
}

/// `data` of `task_changed`: one task changed (`task_id` …), or several were
/// reordered (`parent_id`, `ids`) or moved to a status at once (`ids`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct TaskChangedData {
    /// What happened: created, updated, deleted, moved, reordered, status, …
    pub action: Option<String>,
    /// The task.
    pub task_id: Option<String>,
    /// Its code (`T-NNN`).
    pub code: Option<String>,
    /// Its story.
    pub story_id: Option<String>,
    /// Its sprint.
    pub sprint_id: Option<String>,
    /// Its status after the change.
    pub status: Option<String>,
    /// Statuses rolled up to its story, PBI and sprint.
    pub rollup: Option<RollupData>,
    /// The story whose tasks were reordered.
    pub parent_id: Option<String>,
    /// The tasks of a bulk change, in their new order for `reordered`.
    pub ids: Option<Vec<String>>,
}

/// `data` of `story_changed`: one story changed (`story_id`), several moved
/// (`story_ids` or `ids`), a roll-up changed its status (`from`, `to`), or a
/// log entry was added (`log_id`, `type`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct StoryChangedData {
    /// What happened: created, updated, deleted, moved, status, logged, reordered, …
    pub action: Option<String>,
    /// The story.
    pub story_id: Option<String>,
    /// Stories moved together (sprint planning).
    pub story_ids: Option<Vec<String>>,
    /// Statuses rolled up to its PBI and sprint.
    pub rollup: Option<RollupData>,
    /// Status before (`action` = status).
    pub from: Option<String>,
    /// Status after (`action` = status).
    pub to: Option<String>,
    /// The new log entry (`action` = logged).
    pub log_id: Option<String>,
    /// The log entry's type (`action` = logged).
    #[serde(rename = "type")]
    pub log_type: Option<String>,
    /// The PBI whose stories were reordered.
    pub parent_id: Option<String>,
    /// The stories of a bulk change, in their new order for `reordered`.
    pub ids: Option<Vec<String>>,
}

/// `data` of `pbi_changed`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct PbiChangedData {
    /// What happened: created, updated, deleted, moved, pr_linked, status, reordered, …
    pub action: Option<String>,
    /// The PBI.
    pub pbi_id: Option<String>,
    /// Statuses rolled up.
    pub rollup: Option<RollupData>,
    /// Its pull request.
    pub pr_url: Option<String>,
    /// When its pull request was merged.
    pub pr_merged_at: Option<DateTime<Utc>>,
    /// The product whose PBIs were reordered.
    pub parent_id: Option<String>,
    /// The PBIs of a bulk change, in their new order for `reordered`.
    pub ids: Option<Vec<String>>,
}

/// `data` of `sprint_changed`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct SprintChangedData {
    /// The sprint.
    pub sprint_id: Option<String>,
    /// What happened: created, updated, closed, deleted, …
    pub action: Option<String>,
}

/// `data` of `product_changed`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct ProductChangedData {
    /// The product.
    pub product_id: Option<String>,
    /// What happened: created, updated, archived, members, …
    pub action: Option<String>,
}

/// `data` of `sprint_run_changed`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct SprintRunChangedData {
    /// The run.
    pub sprint_run_id: Option<String>,
    /// Its sprint.
    pub sprint_id: Option<String>,
    /// Its status after the change.
    pub status: Option<String>,
    /// What happened: started, cancelled, finished, …
    pub action: Option<String>,
}

/// `data` of `job_status`: a job changed status. A job cancelled by a
/// roll-up carries only `job_id` and `status`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct JobStatusData {
    /// The job.
    pub job_id: Option<String>,
    /// Its owner.
    pub user_id: Option<String>,
    /// Its product.
    pub product_id: Option<String>,
    /// Its kind.
    pub kind: Option<String>,
    /// Its status after the change.
    pub status: Option<String>,
    /// Its task.
    pub task_id: Option<String>,
    /// Its idea.
    pub idea_id: Option<String>,
    /// The branch the agent pushed.
    pub branch: Option<String>,
    /// When it was pushed.
    pub pushed_at: Option<DateTime<Utc>>,
    /// The pull request opened.
    pub pr_url: Option<String>,
    /// The verification result.
    pub verify_result: Option<String>,
    /// The agent's summary.
    pub summary: Option<String>,
    /// Why it failed.
    pub error: Option<String>,
    /// How often it was retried.
    pub retry_count: Option<i64>,
}

/// `data` of `idea_changed` (sent to the idea's owner only).
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct IdeaChangedData {
    /// The idea.
    pub idea_id: Option<String>,
    /// Its code (`IDEA-NNN`).
    pub code: Option<String>,
    /// Its status after the change (lowercase).
    pub status: Option<String>,
    /// What happened: created, updated, grilled, planned, dispatched, materialized, logged, …
    pub action: Option<String>,
}

/// `data` of `job_enqueued`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct JobEnqueuedData {
    /// The job.
    pub job_id: Option<String>,
    /// Its owner.
    pub user_id: Option<String>,
    /// Its product.
    pub product_id: Option<String>,
    /// Its task.
    pub task_id: Option<String>,
    /// Its idea.
    pub idea_id: Option<String>,
    /// Its kind.
    pub kind: Option<String>,
    /// `queued`.
    pub status: Option<String>,
}

/// `data` of `question_changed`: the whole question, so a page can update
/// without refetching.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct QuestionChangedData {
    /// What happened: asked, answered, cancelled, expired.
    pub op: Option<String>,
    /// The question.
    pub question_id: Option<String>,
    /// The question after the change.
    pub question: Option<QuestionView>,
}

/// `data` of `worker_presence`: one of the caller's workers came online or
/// went away (its 30 s window lapsed, or it went offline).
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct WorkerPresenceData {
    /// `online`, `offline`, or `changed` (a live worker now serves another
    /// product or runtime; `product_id` is then absent so every page of the
    /// owner refetches).
    pub action: Option<String>,
    /// The worker's row id.
    pub worker_id: Option<String>,
    /// Its instance id.
    pub instance_id: Option<String>,
    /// The product whose pages it concerns (the one it is limited to);
    /// absent: all of the owner's.
    pub product_id: Option<String>,
    /// Its agent program.
    pub runtime: Option<String>,
}

/// Why a stream asks the client to re-read what it shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ResyncReason {
    /// The stream fell behind and events were dropped for it.
    Lagged,
    /// The Postgres listener reconnected; events may have been missed.
    BusResync,
}

macro_rules! type_tag {
    ($(#[$doc:meta])* $tag:ident = $value:tt) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
        pub enum $tag {
            #[doc = concat!("`", $value, "`")]
            #[serde(rename = $value)]
            Tag,
        }
    };
}

type_tag!(
    /// The `type` of a `ready` event.
    ReadyType = "ready"
);
type_tag!(
    /// The `type` of a `resync` event.
    ResyncType = "resync"
);

/// `resync`: events may have been missed; re-read the state you show. The
/// stream goes on.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Resync {
    /// `resync`.
    #[serde(rename = "type")]
    pub kind: ResyncType,
    /// Why.
    pub reason: ResyncReason,
    /// How many events were dropped (`lagged` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub missed: Option<u64>,
}

/// `ready` of the Solo stream: sent first, once the stream listens.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SoloReady {
    /// `ready`.
    #[serde(rename = "type")]
    pub kind: ReadyType,
    /// The product streamed.
    pub product_id: String,
    /// The caller.
    pub user_id: String,
}

/// `ready` of the notification stream: sent first, with the open questions
/// so the bell needs no second request.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct NotificationsReady {
    /// `ready`.
    #[serde(rename = "type")]
    pub kind: ReadyType,
    /// The caller.
    pub user_id: String,
    /// Products whose questions the stream carries (owned or member of,
    /// within the token's scope).
    pub product_ids: Vec<String>,
    /// Open questions, newest first (at most 50).
    pub open_questions: Vec<QuestionView>,
}

/// Decodes a bus event's payload: `None` with `truncated` when it was
/// dropped or does not decode.
fn decode<D: DeserializeOwned>(e: &mut Event) -> (Option<D>, Option<bool>) {
    if e.truncated {
        return (None, Some(true));
    }
    match std::mem::take(&mut e.data) {
        Value::Null => (None, None),
        data => match serde_json::from_value(data) {
            Ok(d) => (Some(d), None),
            Err(err) => {
                tracing::warn!(kind = %e.kind, error = %err, "event data does not match its schema; sent without it");
                (None, Some(true))
            }
        },
    }
}

macro_rules! bus_events {
    ($($(#[$doc:meta])* $event:ident, $tag:ident, $value:tt, $data:ty;)*) => {
        $(
            type_tag!(
                #[doc = concat!("The `type` of a `", $value, "` event.")]
                $tag = $value
            );

            $(#[$doc])*
            #[derive(Debug, Clone, Serialize, ToSchema)]
            pub struct $event {
                #[doc = concat!("`", $value, "`.")]
                #[serde(rename = "type")]
                pub kind: $tag,
                /// The product the event belongs to.
                pub product_id: Option<String>,
                /// The user the event is addressed to or about.
                pub user_id: Option<String>,
                /// The payload; absent when `truncated` (or when there is none).
                #[serde(skip_serializing_if = "Option::is_none")]
                pub data: Option<$data>,
                /// `true` when `data` was dropped (too big to pass between
                /// instances): refetch what you show.
                #[serde(skip_serializing_if = "Option::is_none")]
                pub truncated: Option<bool>,
            }

            impl From<Event> for $event {
                fn from(mut e: Event) -> Self {
                    let (data, truncated) = decode(&mut e);
                    $event { kind: $tag::Tag, product_id: e.product_id, user_id: e.user_id, data, truncated }
                }
            }
        )*
    };
}

bus_events! {
    /// `task_changed`: a task was created, changed, moved or deleted.
    TaskChangedEvent, TaskChangedType, "task_changed", TaskChangedData;
    /// `story_changed`: a story was created, changed, moved, logged or deleted.
    StoryChangedEvent, StoryChangedType, "story_changed", StoryChangedData;
    /// `pbi_changed`: a PBI was created, changed, moved or deleted.
    PbiChangedEvent, PbiChangedType, "pbi_changed", PbiChangedData;
    /// `sprint_changed`: a sprint was created, changed or closed.
    SprintChangedEvent, SprintChangedType, "sprint_changed", SprintChangedData;
    /// `product_changed`: the product's settings or members changed.
    ProductChangedEvent, ProductChangedType, "product_changed", ProductChangedData;
    /// `sprint_run_changed`: a sprint run started, progressed or ended.
    SprintRunChangedEvent, SprintRunChangedType, "sprint_run_changed", SprintRunChangedData;
    /// `job_status`: a job changed status.
    JobStatusEvent, JobStatusType, "job_status", JobStatusData;
    /// `job_enqueued`: a job was queued.
    JobEnqueuedEvent, JobEnqueuedType, "job_enqueued", JobEnqueuedData;
    /// `question_changed`: a question was asked, answered, withdrawn or expired.
    QuestionChangedEvent, QuestionChangedType, "question_changed", QuestionChangedData;
    /// `worker_presence`: one of the caller's workers came online or went away.
    WorkerPresenceEvent, WorkerPresenceType, "worker_presence", WorkerPresenceData;
    /// `idea_changed`: one of the caller's ideas was created or changed.
    IdeaChangedEvent, IdeaChangedType, "idea_changed", IdeaChangedData;
}

/// An event a realtime stream sends: its SSE event name and its data.
pub trait StreamEvent: Serialize + Send + 'static {
    /// The typed event for a bus event this stream carries (`None` for a
    /// type it does not carry).
    fn from_bus(e: Event) -> Option<Self>
    where
        Self: Sized;
    /// The `resync` event.
    fn resync(r: Resync) -> Self;
    /// The SSE event name (the `type`).
    fn name(&self) -> &'static str;
}

/// One event of `GET /api/realtime/solo`; the SSE event name is its `type`.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(untagged)]
#[schema(discriminator(property_name = "type", mapping(
    ("ready" = "#/components/schemas/SoloReady"),
    ("resync" = "#/components/schemas/Resync"),
    ("task_changed" = "#/components/schemas/TaskChangedEvent"),
    ("story_changed" = "#/components/schemas/StoryChangedEvent"),
    ("pbi_changed" = "#/components/schemas/PbiChangedEvent"),
    ("sprint_changed" = "#/components/schemas/SprintChangedEvent"),
    ("product_changed" = "#/components/schemas/ProductChangedEvent"),
    ("sprint_run_changed" = "#/components/schemas/SprintRunChangedEvent"),
    ("job_status" = "#/components/schemas/JobStatusEvent"),
    ("job_enqueued" = "#/components/schemas/JobEnqueuedEvent"),
    ("question_changed" = "#/components/schemas/QuestionChangedEvent"),
    ("worker_presence" = "#/components/schemas/WorkerPresenceEvent"),
    ("idea_changed" = "#/components/schemas/IdeaChangedEvent")
)))]
pub enum SoloEvent {
    /// `ready`.
    Ready(SoloReady),
    /// `resync`.
    Resync(Resync),
    /// `task_changed`.
    TaskChanged(TaskChangedEvent),
    /// `story_changed`.
    StoryChanged(StoryChangedEvent),
    /// `pbi_changed`.
    PbiChanged(PbiChangedEvent),
    /// `sprint_changed`.
    SprintChanged(SprintChangedEvent),
    /// `product_changed`.
    ProductChanged(ProductChangedEvent),
    /// `sprint_run_changed`.
    SprintRunChanged(SprintRunChangedEvent),
    /// `job_status`.
    JobStatus(JobStatusEvent),
    /// `job_enqueued`.
    JobEnqueued(JobEnqueuedEvent),
    /// `question_changed`.
    QuestionChanged(QuestionChangedEvent),
    /// `worker_presence`.
    WorkerPresence(WorkerPresenceEvent),
    /// `idea_changed` (the caller's own ideas only).
    IdeaChanged(IdeaChangedEvent),
}

impl StreamEvent for SoloEvent {
    fn from_bus(e: Event) -> Option<Self> {
        Some(match e.kind.as_str() {
            kinds::TASK_CHANGED => SoloEvent::TaskChanged(e.into()),
            kinds::STORY_CHANGED => SoloEvent::StoryChanged(e.into()),
            crate::backlog::pbis::PBI_CHANGED => SoloEvent::PbiChanged(e.into()),
            crate::sprints::SPRINT_CHANGED => SoloEvent::SprintChanged(e.into()),
            crate::products::PRODUCT_CHANGED => SoloEvent::ProductChanged(e.into()),
            crate::sprint_runs::SPRINT_RUN_CHANGED => SoloEvent::SprintRunChanged(e.into()),
            kinds::JOB_STATUS => SoloEvent::JobStatus(e.into()),
            kinds::JOB_ENQUEUED => SoloEvent::JobEnqueued(e.into()),
            kinds::QUESTION_CHANGED => SoloEvent::QuestionChanged(e.into()),
            crate::workers::WORKER_PRESENCE => SoloEvent::WorkerPresence(e.into()),
            crate::ideas::IDEA_CHANGED => SoloEvent::IdeaChanged(e.into()),
            other => {
                tracing::debug!(kind = other, "the Solo stream does not carry this event type");
                return None;
            }
        })
    }

    fn resync(r: Resync) -> Self {
        SoloEvent::Resync(r)
    }

    fn name(&self) -> &'static str {
        match self {
            SoloEvent::Ready(_) => "ready",
            SoloEvent::Resync(_) => "resync",
            SoloEvent::TaskChanged(_) => kinds::TASK_CHANGED,
            SoloEvent::StoryChanged(_) => kinds::STORY_CHANGED,
            SoloEvent::PbiChanged(_) => crate::backlog::pbis::PBI_CHANGED,
            SoloEvent::SprintChanged(_) => crate::sprints::SPRINT_CHANGED,
            SoloEvent::ProductChanged(_) => crate::products::PRODUCT_CHANGED,
            SoloEvent::SprintRunChanged(_) => crate::sprint_runs::SPRINT_RUN_CHANGED,
            SoloEvent::JobStatus(_) => kinds::JOB_STATUS,
            SoloEvent::JobEnqueued(_) => kinds::JOB_ENQUEUED,
            SoloEvent::QuestionChanged(_) => kinds::QUESTION_CHANGED,
            SoloEvent::WorkerPresence(_) => crate::workers::WORKER_PRESENCE,
            SoloEvent::IdeaChanged(_) => crate::ideas::IDEA_CHANGED,
        }
    }
}

/// One event of `GET /api/realtime/notifications`; the SSE event name is its
/// `type`.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(untagged)]
#[schema(discriminator(property_name = "type", mapping(
    ("ready" = "#/components/schemas/NotificationsReady"),
    ("resync" = "#/components/schemas/Resync"),
    ("question_changed" = "#/components/schemas/QuestionChangedEvent"),
    ("job_status" = "#/components/schemas/JobStatusEvent"),
    ("job_enqueued" = "#/components/schemas/JobEnqueuedEvent"),
    ("idea_changed" = "#/components/schemas/IdeaChangedEvent")
)))]
pub enum NotificationEvent {
    /// `ready`.
    Ready(NotificationsReady),
    /// `resync`.
    Resync(Resync),
    /// `question_changed`.
    QuestionChanged(QuestionChangedEvent),
    /// `job_status`.
    JobStatus(JobStatusEvent),
    /// `job_enqueued`.
    JobEnqueued(JobEnqueuedEvent),
    /// `idea_changed`.
    IdeaChanged(IdeaChangedEvent),
}

impl StreamEvent for NotificationEvent {
    fn from_bus(e: Event) -> Option<Self> {
        Some(match e.kind.as_str() {
            kinds::QUESTION_CHANGED => NotificationEvent::QuestionChanged(e.into()),
            kinds::JOB_STATUS => NotificationEvent::JobStatus(e.into()),
            kinds::JOB_ENQUEUED => NotificationEvent::JobEnqueued(e.into()),
            crate::ideas::IDEA_CHANGED => NotificationEvent::IdeaChanged(e.into()),
            _ => return None,
        })
    }

    fn resync(r: Resync) -> Self {
        NotificationEvent::Resync(r)
    }

    fn name(&self) -> &'static str {
        match self {
            NotificationEvent::Ready(_) => "ready",
            NotificationEvent::Resync(_) => "resync",
            NotificationEvent::QuestionChanged(_) => kinds::QUESTION_CHANGED,
            NotificationEvent::JobStatus(_) => kinds::JOB_STATUS,
            NotificationEvent::JobEnqueued(_) => kinds::JOB_ENQUEUED,
            NotificationEvent::IdeaChanged(_) => crate::ideas::IDEA_CHANGED,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_payload_of_the_wrong_shape_is_sent_as_truncated() {
        let e = Event::new(kinds::TASK_CHANGED).for_product("p").with_data(serde_json::json!({"task_id": 5}));
        let typed = TaskChangedEvent::from(e);
        assert!(typed.data.is_none());
        assert_eq!(typed.truncated, Some(true));
        let e = Event::new(kinds::TASK_CHANGED).with_data(serde_json::json!({"task_id": "t1", "extra": 1}));
        let typed = serde_json::to_value(TaskChangedEvent::from(e)).expect("json");
        assert_eq!(typed["data"]["task_id"], "t1");
        assert!(typed["data"].get("extra").is_none(), "undeclared fields are dropped");
        assert_eq!(typed["type"], "task_changed");
    }
}
