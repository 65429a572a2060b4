//! The tool catalog and its dispatch. Every tool parses its arguments, calls
//! one `baton_app::App` service (a few reads bundle two), and returns what
//! the service returned; no rule lives here.
//!
//! Arguments are checked by serde with `deny_unknown_fields`, so a typo in a
//! field name is a `VALIDATION_ERROR` naming the field, exactly like a
//! service's own validation.

use std::sync::Arc;

use baton_app::{
    Actor, App, AppError, AppResult,
    backlog::{pbis::NewPbi, stories::NewStory, story_logs::NewStoryLog, tasks::NewTask},
    list::PageParams,
    products::ProductFilter,
    sprints::{NewSprint, SprintPatch},
};
use baton_domain::{
    ValidationErrors,
    backlog::{SprintStatus, StoryLogType, TaskStatus, TestStatus, VerifyRequired},
};
use chrono::NaiveDate;
use rmcp::{
    handler::server::common::schema_for_type,
    model::{JsonObject, Tool, ToolAnnotations},
};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize, de::DeserializeOwned};
use serde_json::{Value, json};

use crate::{Profile, Transport};

/// One tool: its name, what an agent reads about it, its input schema, and
/// where it is offered.
pub(crate) struct Spec {
    pub name: &'static str,
    pub description: &'static str,
    schema: fn() -> Arc<JsonObject>,
    /// Part of the compact `core` profile (the agent loop).
    pub core: bool,
    /// Changes data: refused for demo accounts before the service is called.
    pub writes: bool,
    /// Offered on this transport only (`None` = both).
    pub only: Option<Transport>,
}

impl Spec {
    /// The tool as `tools/list` shows it.
    pub fn tool(&self) -> Tool {
        let annotations = ToolAnnotations::new().read_only(!self.writes).open_world(false);
        Tool::new(self.name, self.description, (self.schema)()).annotate(annotations)
    }

    /// Whether the tool is offered for this profile and transport.
    pub fn offered(&self, profile: Profile, transport: Transport) -> bool {
        (self.core || profile == Profile::All) && self.only.is_none_or(|t| t == transport)
    }
}

macro_rules! api_enum_schema {
    ($fn:ident, $ty:ty) => {
        fn $fn(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
            let values: Vec<String> = <$ty>::ALL.iter().map(|v| v.as_api()).collect();
            schemars::json_schema!({ "type": "string", "enum": values })
        }
    };
}
api_enum_schema!(task_status_schema, TaskStatus);
api_enum_schema!(sprint_status_schema, SprintStatus);
api_enum_schema!(test_status_schema, TestStatus);
api_enum_schema!(verify_required_schema, VerifyRequired);

fn date_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({ "type": "string", "format": "date" })
}

/// No arguments.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NoArgs {}

/// Arguments of `list_products`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ListProductsArgs {
    /// Page number, from 1 (default 1).
    #[serde(default)]
    page: Option<u64>,
    /// Products per page, 1–200 (default 50).
    #[serde(default)]
    limit: Option<u64>,
}

/// Arguments of `get_context` / `get_claude_context`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ContextArgs {
    /// Product id or code (from `list_products`).
    product_id: String,
}

/// Arguments of `get_sprint_context`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct SprintContextArgs {
    /// Sprint id (from `get_context`: `open_sprints[].id`).
    sprint_id: String,
    /// Optional task id or code (`T-12`) to return in full as `task`.
    #[serde(default)]
    task_id: Option<String>,
    /// Page of the task list, from 1 (default 1).
    #[serde(default)]
    page: Option<u64>,
    /// Tasks per page, 1–200 (default 50).
    #[serde(default)]
    limit: Option<u64>,
}

/// Arguments of `create_pbi`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreatePbiArgs {
    /// Product id or code (from `list_products`).
    product_id: String,
    /// Title, 1–200 characters.
    title: String,
    /// Description, at most 4000 characters.
    #[serde(default)]
    description: Option<String>,
    /// 1 (critical) to 4 (nice to have); default 2.
    #[serde(default)]
    priority: Option<i32>,
}

/// Arguments of `create_story`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateStoryArgs {
    /// PBI id or code (`PBI-3`) the story belongs to; the product is taken from it.
    pbi_id: String,
    /// Title, 1–200 characters.
    title: String,
    /// Description, at most 4000 characters.
    #[serde(default)]
    description: Option<String>,
    /// Acceptance criteria, at most 4000 characters.
    #[serde(default)]
    acceptance_criteria: Option<String>,
    /// 1 (critical) to 4 (nice to have); default 2.
    #[serde(default)]
    priority: Option<i32>,
    /// An OPEN sprint of the same product (id or code, see `get_context`); the story starts in_sprint.
    #[serde(default)]
    sprint_id: Option<String>,
}

/// Arguments of `create_task`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateTaskArgs {
    /// Story id or code (`ST-001`); the task inherits its product and sprint.
    story_id: String,
    /// Title, 1–200 characters.
    title: String,
    /// Description, at most 4000 characters.
    #[serde(default)]
    description: Option<String>,
    /// Markdown plan naming the files to change, at most 8000 characters (checked by `verify_task_against_plan`).
    #[serde(default)]
    implementation_plan: Option<String>,
    /// 1 (critical) to 4 (nice to have); default 2.
    #[serde(default)]
    priority: Option<i32>,
    /// Repository URL overriding the product's.
    #[serde(default)]
    repo_url: Option<String>,
    /// The task only verifies: an empty diff is acceptable (default false).
    #[serde(default)]
    verify_only: Option<bool>,
    /// Weakest verify result that lets the job finish (default aligned_or_partial).
    #[serde(default)]
    #[schemars(schema_with = "verify_required_schema")]
    verify_required: Option<VerifyRequired>,
    /// Needs the strongest model (default false).
    #[serde(default)]
    requires_opus: Option<bool>,
}

/// Arguments of `create_sprint`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateSprintArgs {
    /// Product id or code (from `list_products`).
    product_id: String,
    /// What the sprint is meant to achieve, 1–500 characters.
    sprint_goal: String,
    /// Explicit code (at most 30 characters, unique in the product); default `SP-N`.
    #[serde(default)]
    code: Option<String>,
    /// First day, `YYYY-MM-DD`; default today (UTC).
    #[serde(default)]
    #[schemars(schema_with = "date_schema")]
    start_date: Option<NaiveDate>,
    /// Last day, `YYYY-MM-DD`; not before the start date.
    #[serde(default)]
    #[schemars(schema_with = "date_schema")]
    end_date: Option<NaiveDate>,
}

/// Arguments of `update_sprint`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct UpdateSprintArgs {
    /// Sprint id (from `get_context`: `open_sprints[].id`, or `create_sprint`).
    sprint_id: String,
    /// New status; no state machine (the last write wins). A terminal status sets a missing end_date to today.
    #[serde(default)]
    #[schemars(schema_with = "sprint_status_schema")]
    status: Option<SprintStatus>,
    /// New goal, 1–500 characters.
    #[serde(default)]
    sprint_goal: Option<String>,
    /// New first day, `YYYY-MM-DD`.
    #[serde(default)]
    #[schemars(schema_with = "date_schema")]
    start_date: Option<NaiveDate>,
    /// New last day, `YYYY-MM-DD`.
    #[serde(default)]
    #[schemars(schema_with = "date_schema")]
    end_date: Option<NaiveDate>,
}

/// Arguments of `update_task_status`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct UpdateTaskStatusArgs {
    /// Task id or code (`T-12`), e.g. from `get_sprint_context` or the job payload of `wait_for_job`.
    task_id: String,
    /// New status; the story, PBI and sprint follow automatically.
    #[schemars(schema_with = "task_status_schema")]
    status: TaskStatus,
    /// The sprint run you are working in (from the job payload), if any.
    #[serde(default)]
    sprint_run_id: Option<String>,
}

/// Arguments of `update_task_plan`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct UpdateTaskPlanArgs {
    /// Task id or code (`T-12`).
    task_id: String,
    /// The new markdown plan (at most 8000 characters) naming the files to change; `null` clears it.
    implementation_plan: Option<String>,
}

/// Arguments of `log_implementation`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct LogImplementationArgs {
    /// Story id or code (`ST-001`).
    story_id: String,
    /// What was implemented and how (markdown).
    content: String,
    /// Optional JSON object (at most 16 KiB).
    #[serde(default)]
    metadata: Option<Value>,
}

/// Arguments of `log_test_result`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct LogTestResultArgs {
    /// Story id or code (`ST-001`).
    story_id: String,
    /// The test run: command and summary of its output.
    content: String,
    /// Whether the tests passed.
    #[schemars(schema_with = "test_status_schema")]
    status: TestStatus,
    /// Optional JSON object (at most 16 KiB).
    #[serde(default)]
    metadata: Option<Value>,
}

/// Arguments of `log_commit`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct LogCommitArgs {
    /// Story id or code (`ST-001`).
    story_id: String,
    /// Note about the commit.
    content: String,
    /// The commit hash, 7–64 hex digits.
    commit_hash: String,
    /// The commit message (at most 4000 characters).
    commit_message: String,
    /// Optional JSON object (at most 16 KiB).
    #[serde(default)]
    metadata: Option<Value>,
}

macro_rules! spec {
    ($name:literal, $args:ty, core: $core:expr, writes: $writes:expr, $desc:expr) => {
        Spec {
            name: $name,
            description: $desc,
            schema: schema_for_type::<$args>,
            core: $core,
            writes: $writes,
            only: None,
        }
    };
}

/// Every tool, in the order `tools/list` shows them.
pub(crate) static CATALOG: &[Spec] = &[
    spec!("health", NoArgs, core: true, writes: false,
        "Checks that Baton and its database answer: {status, version, database}."),
    spec!("list_products", ListProductsArgs, core: true, writes: false,
        "Lists the active products you own or are a member of (paginated). Use a product's id or code with `get_context`."),
    spec!("get_context", ContextArgs, core: true, writes: false,
        "Everything needed to start on a product: the product, its OPEN sprints (newest first, `active_sprint` = newest), the next story to implement with its tasks, and your open ideas. Then use `get_sprint_context` for a sprint's tasks."),
    spec!("get_claude_context", ContextArgs, core: false, writes: false,
        "Deprecated alias of `get_context` (same arguments and result)."),
    spec!("get_sprint_context", SprintContextArgs, core: true, writes: false,
        "A sprint and its tasks in execution order (PBI, story, task), paginated; with `task_id` also that task in full. Sprint ids come from `get_context`."),
    spec!("create_pbi", CreatePbiArgs, core: false, writes: true,
        "Creates a product backlog item (code `PBI-N`) at the end of the product's backlog. Add stories with `create_story`."),
    spec!("create_story", CreateStoryArgs, core: false, writes: true,
        "Creates a story (code `ST-NNN`) under a PBI, optionally straight into an OPEN sprint. Add tasks with `create_task`."),
    spec!("create_task", CreateTaskArgs, core: false, writes: true,
        "Creates a task (code `T-N`, status todo) under a story; it inherits the story's product and sprint. In a sprint, an unassigned story gets you as assignee."),
    spec!("create_sprint", CreateSprintArgs, core: false, writes: true,
        "Creates an OPEN sprint (code `SP-N` unless given). Several OPEN sprints may coexist; put stories in with `create_story` `sprint_id`."),
    spec!("update_sprint", UpdateSprintArgs, core: false, writes: true,
        "Changes a sprint's status, goal or dates; give at least one. `closed` sets completed_at."),
    spec!("update_task_status", UpdateTaskStatusArgs, core: true, writes: true,
        "Sets a task's status (todo, in_progress, review, done, failed, excluded). The story, PBI, sprint and sprint run follow in the same transaction; the result says whether the story was `promoted` or `demoted`."),
    spec!("update_task_plan", UpdateTaskPlanArgs, core: true, writes: true,
        "Replaces a task's implementation plan (markdown naming the files to change); `verify_task_against_plan` compares your diff with it."),
    spec!("log_implementation", LogImplementationArgs, core: true, writes: true,
        "Appends an implementation note to a story's log."),
    spec!("log_test_result", LogTestResultArgs, core: true, writes: true,
        "Appends a test result (passed or failed) to a story's log."),
    spec!("log_commit", LogCommitArgs, core: true, writes: true,
        "Appends a commit (hash and message) to a story's log."),
];

/// The spec of a tool offered on this profile and transport.
pub(crate) fn find(name: &str, profile: Profile, transport: Transport) -> Option<&'static Spec> {
    CATALOG.iter().find(|s| s.name == name && s.offered(profile, transport))
}

/// Parses tool arguments; every problem becomes a validation error naming
/// its field.
pub(crate) fn parse<T: DeserializeOwned>(args: Value) -> AppResult<T> {
    let args = if args.is_null() { json!({}) } else { args };
    serde_path_to_error::deserialize(args).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner().to_string();
        let (path, message) = if let Some(rest) = inner.strip_prefix("missing field `") {
            let field = rest.split('`').next().unwrap_or_default();
            (join(&path, field), "is required".to_string())
        } else if let Some(rest) = inner.strip_prefix("unknown field `") {
            // The path already ends with the unknown field.
            let field = rest.split('`').next().unwrap_or_default();
            let path = if path.is_empty() || path == "." { field.to_string() } else { path };
            (path, format!("unknown field{}", rest.split_once('`').map_or("", |(_, r)| r)))
        } else {
            (path, inner)
        };
        AppError::Validation(ValidationErrors::one(&path, message))
    })
}

fn join(path: &str, field: &str) -> String {
    if path.is_empty() || path == "." { field.to_string() } else { format!("{path}.{field}") }
}

/// A service result as JSON.
pub(crate) fn to_json<T: Serialize>(v: T) -> AppResult<Value> {
    serde_json::to_value(v).map_err(|e| AppError::Internal(format!("cannot serialize a tool result: {e}")))
}

fn page(page: Option<u64>, limit: Option<u64>) -> PageParams {
    PageParams { page, limit }
}

/// Runs one tool for a caller. The caller is already authenticated; demo
/// accounts were already refused for writing tools.
pub(crate) async fn run(app: &App, actor: &Actor, name: &str, args: Value) -> AppResult<Value> {
    match name {
        "health" => {
            let _: NoArgs = parse(args)?;
            let ok = app.database_ok().await;
            Ok(json!({
                "status": if ok { "ok" } else { "degraded" },
                "version": env!("CARGO_PKG_VERSION"),
                "database": if ok { "ok" } else { "unreachable" },
            }))
        }
        "list_products" => {
            let a: ListProductsArgs = parse(args)?;
            let filter = ProductFilter { archived: None, page: a.page, limit: a.limit };
            to_json(app.list_products(actor, filter).await?)
        }
        "get_context" | "get_claude_context" => {
            let a: ContextArgs = parse(args)?;
            to_json(app.product_context(actor, &a.product_id).await?)
        }
        "get_sprint_context" => {
            let a: SprintContextArgs = parse(args)?;
            let sprint = app.get_sprint(actor, &a.sprint_id).await?;
            let tasks = app.sprint_tasks(actor, &sprint.id, page(a.page, a.limit)).await?;
            let task = match &a.task_id {
                Some(t) => Some(app.get_task(actor, t).await?),
                None => None,
            };
            Ok(json!({ "sprint": to_json(sprint)?, "tasks": to_json(tasks)?, "task": to_json(task)? }))
        }
        "create_pbi" => {
            let a: CreatePbiArgs = parse(args)?;
            let input = NewPbi { title: a.title, description: a.description, priority: a.priority };
            to_json(app.create_pbi(actor, &a.product_id, input).await?)
        }
        "create_story" => {
            let a: CreateStoryArgs = parse(args)?;
            let input = NewStory {
                title: a.title,
                description: a.description,
                acceptance_criteria: a.acceptance_criteria,
                priority: a.priority,
                sprint_id: a.sprint_id,
                assignee_id: None,
            };
            to_json(app.create_story(actor, &a.pbi_id, input).await?)
        }
        "create_task" => {
            let a: CreateTaskArgs = parse(args)?;
            let input = NewTask {
                title: a.title,
                description: a.description,
                implementation_plan: a.implementation_plan,
                priority: a.priority,
                verify_only: a.verify_only,
                verify_required: a.verify_required,
                requires_opus: a.requires_opus,
                repo_url: a.repo_url,
            };
            to_json(app.create_task(actor, &a.story_id, input).await?)
        }
        "create_sprint" => {
            let a: CreateSprintArgs = parse(args)?;
            let input =
                NewSprint { sprint_goal: a.sprint_goal, code: a.code, start_date: a.start_date, end_date: a.end_date };
            // The sprint service takes a product id; accept a code like the other tools do.
            let product = app.get_product(actor, &a.product_id).await?;
            to_json(app.create_sprint(actor, &product.id, input).await?)
        }
        "update_sprint" => {
            let a: UpdateSprintArgs = parse(args)?;
            let patch = SprintPatch {
                sprint_goal: a.sprint_goal,
                start_date: a.start_date.map(Some),
                end_date: a.end_date.map(Some),
                status: a.status,
            };
            to_json(app.update_sprint(actor, &a.sprint_id, patch).await?)
        }
        "update_task_status" => {
            let a: UpdateTaskStatusArgs = parse(args)?;
            to_json(app.update_task_status(actor, &a.task_id, a.status, a.sprint_run_id).await?)
        }
        "update_task_plan" => {
            let a: UpdateTaskPlanArgs = parse(args)?;
            to_json(app.update_task_plan(actor, &a.task_id, a.implementation_plan).await?)
        }
        "log_implementation" => {
            let a: LogImplementationArgs = parse(args)?;
            let input = NewStoryLog {
                kind: StoryLogType::ImplementationPlan,
                content: a.content,
                status: None,
                commit_hash: None,
                commit_message: None,
                metadata: a.metadata,
            };
            to_json(app.add_story_log(actor, &a.story_id, input).await?)
        }
        "log_test_result" => {
            let a: LogTestResultArgs = parse(args)?;
            let input = NewStoryLog {
                kind: StoryLogType::TestResult,
                content: a.content,
                status: Some(a.status),
                commit_hash: None,
                commit_message: None,
                metadata: a.metadata,
            };
            to_json(app.add_story_log(actor, &a.story_id, input).await?)
        }
        "log_commit" => {
            let a: LogCommitArgs = parse(args)?;
            let input = NewStoryLog {
                kind: StoryLogType::Commit,
                content: a.content,
                status: None,
                commit_hash: Some(a.commit_hash),
                commit_message: Some(a.commit_message),
                metadata: a.metadata,
            };
            to_json(app.add_story_log(actor, &a.story_id, input).await?)
        }
        other => Err(AppError::Internal(format!("tool {other} is in the catalog but has no handler"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_catalog_entry_has_a_unique_name_and_an_object_schema() {
        let mut names: Vec<&str> = CATALOG.iter().map(|s| s.name).collect();
        names.sort_unstable();
        let before = names.len();
        names.dedup();
        assert_eq!(before, names.len(), "duplicate tool names");
        for s in CATALOG {
            let schema = (s.schema)();
            assert_eq!(schema.get("type"), Some(&json!("object")), "{}", s.name);
        }
    }

    #[test]
    fn argument_errors_name_the_field() {
        let e = parse::<CreatePbiArgs>(json!({"product_id": "p"})).expect_err("title missing");
        assert_eq!(crate::results::error_message(&e), "VALIDATION_ERROR: title: is required");
        let e = parse::<ContextArgs>(json!({"product_id": "p", "prodcut": 1})).expect_err("unknown field");
        assert!(crate::results::error_message(&e).starts_with("VALIDATION_ERROR: prodcut: unknown field"), "{e}");
        let e = parse::<UpdateTaskStatusArgs>(json!({"task_id": "T-1", "status": "doing"})).expect_err("bad enum");
        assert!(crate::results::error_message(&e).starts_with("VALIDATION_ERROR: status: "), "{e}");
    }
}
