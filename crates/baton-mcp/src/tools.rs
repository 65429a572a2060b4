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
    questions::NewQuestion,
    queue::{claim::ClaimRequest, complete::UpdateJobStatus},
    sprints::{NewSprint, SprintPatch},
    workers::{Quota, WorkerInfo},
};
use baton_domain::{
    ValidationErrors,
    agents::{AgentRuntime, WorkerTier},
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
api_enum_schema!(runtime_schema, AgentRuntime);
api_enum_schema!(tier_schema, WorkerTier);

fn job_status_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({ "type": "string", "enum": ["running", "done", "failed", "skipped"] })
}

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

/// Arguments of `wait_for_job`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct WaitForJobArgs {
    /// Only jobs of this product (id or code).
    #[serde(default)]
    product_id: Option<String>,
    /// How long to wait for a job, 1–600 seconds (default 300). A timeout is a normal result `{status: "timeout"}`.
    #[serde(default)]
    wait_seconds: Option<u64>,
    /// This worker's instance id (default: the `baton mcp` process's, or `mcp-http-<token>` over HTTP).
    #[serde(default)]
    instance_id: Option<String>,
    /// Agent program (default claude); only jobs of this runtime are claimed.
    #[serde(default)]
    #[schemars(schema_with = "runtime_schema")]
    runtime: Option<AgentRuntime>,
    /// Capabilities this worker offers (jobs may require one).
    #[serde(default)]
    capabilities: Option<Vec<String>>,
    /// This worker's tier (default medium_p); lower tiers defer to idle higher ones.
    #[serde(default)]
    #[schemars(schema_with = "tier_schema")]
    tier: Option<WorkerTier>,
}

/// Arguments of `job_heartbeat`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct JobHeartbeatArgs {
    /// The job id from `wait_for_job`.
    job_id: String,
    /// The claim `attempt` from `wait_for_job` (a claim taken over after a lease expiry is refused).
    #[serde(default)]
    attempt: Option<i32>,
}

/// Arguments of `update_job_status`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct UpdateJobStatusArgs {
    /// The job id from `wait_for_job`.
    job_id: String,
    /// running (started), done (verify gate applies: call `verify_task_against_plan` first), failed, or skipped (needs `error` ≥ 10 characters).
    #[schemars(schema_with = "job_status_schema")]
    status: String,
    /// The claim `attempt` from `wait_for_job`.
    #[serde(default)]
    attempt: Option<i32>,
    /// The branch the work is on.
    #[serde(default)]
    branch: Option<String>,
    /// The commit the work ended at.
    #[serde(default)]
    head_sha: Option<String>,
    /// The commit the work started from.
    #[serde(default)]
    base_sha: Option<String>,
    /// Whether you pushed the branch.
    #[serde(default)]
    pushed: Option<bool>,
    /// Pull request URL, if you opened one.
    #[serde(default)]
    pr_url: Option<String>,
    /// What was done (≤ 1000); must explain any drift when verification was partial or divergent.
    #[serde(default)]
    summary: Option<String>,
    /// Why it failed or was skipped (≤ 2000).
    #[serde(default)]
    error: Option<String>,
    /// Model used.
    #[serde(default)]
    model_id: Option<String>,
    /// Input tokens used.
    #[serde(default)]
    input_tokens: Option<i64>,
    /// Output tokens used.
    #[serde(default)]
    output_tokens: Option<i64>,
    /// Cache-read tokens.
    #[serde(default)]
    cache_read_tokens: Option<i64>,
    /// Cache-write tokens.
    #[serde(default)]
    cache_write_tokens: Option<i64>,
    /// Thinking tokens.
    #[serde(default)]
    actual_thinking_tokens: Option<i64>,
    /// Only check whether this report would be accepted now (claim, verify gate); changes nothing.
    #[serde(default)]
    check_only: Option<bool>,
}

/// Arguments of `update_job_status` over stdio: as over HTTP, plus the
/// worktree to push. Only its schema is used: `worktree_path` is taken out
/// before the rest is parsed as [`UpdateJobStatusArgs`] (serde's `flatten`
/// would let unknown fields through).
#[derive(JsonSchema)]
#[allow(dead_code)]
pub(crate) struct UpdateJobStatusStdioArgs {
    #[serde(flatten)]
    report: UpdateJobStatusArgs,
    /// Absolute path of your git worktree. With `done`, the report is checked first, then HEAD is pushed to `origin` (branch: `branch`, else the worktree's branch, else `feat/job-<id>`) and branch, head_sha and pushed are recorded; a failed push reports the job failed. Leave it out to push yourself.
    worktree_path: Option<String>,
}

/// Arguments of `worker_heartbeat`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct WorkerHeartbeatArgs {
    /// Remaining subscription quota in percent, 0–100.
    #[serde(default)]
    last_quota_pct: Option<i32>,
    /// When the quota was measured (RFC 3339; default now).
    #[serde(default)]
    last_quota_check_at: Option<chrono::DateTime<chrono::Utc>>,
    /// This worker's instance id (default: as for `wait_for_job`).
    #[serde(default)]
    instance_id: Option<String>,
    /// Agent program (default: this process's, or claude); kept on the worker row.
    #[serde(default)]
    #[schemars(schema_with = "runtime_schema")]
    runtime: Option<AgentRuntime>,
    /// This worker's tier (default: this process's, or medium_p).
    #[serde(default)]
    #[schemars(schema_with = "tier_schema")]
    tier: Option<WorkerTier>,
    /// Capabilities this worker offers (default: this process's, or none).
    #[serde(default)]
    capabilities: Option<Vec<String>>,
    /// Host the worker runs on.
    #[serde(default)]
    hostname: Option<String>,
    /// The worker's process id.
    #[serde(default)]
    pid: Option<i32>,
}

/// Arguments of `verify_task_against_plan` over HTTP.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct VerifyDiffArgs {
    /// The task (id or `T-N`) whose claimed job you hold, or the job id.
    task_id: String,
    /// Unified diff of your work (`git diff <base>...HEAD`), at most 5 MiB.
    diff: String,
}

/// Arguments of `verify_task_against_plan` over stdio.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct VerifyWorktreeArgs {
    /// The task (id or `T-N`) whose claimed job you hold, or the job id.
    task_id: String,
    /// Absolute path of the git worktree with your commits.
    worktree_path: String,
    /// Commit or ref to diff from (default: the job's `base_sha`, else the remote default branch from origin/HEAD).
    #[serde(default)]
    base: Option<String>,
}

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

/// Arguments of `check_queue_empty`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct QueueStatusArgs {
    /// Only this product (id or code); omit to count per product you can read.
    #[serde(default)]
    product_id: Option<String>,
}

/// Arguments of `set_pbi_pr`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct SetPbiPrArgs {
    /// PBI id or code (`PBI-3`).
    pbi_id: String,
    /// The pull request URL: `https://host/owner/repo/pull/N` (GitHub), `…/owner/repo/pulls/N` (Forgejo, Gitea) or `…/group/repo/-/merge_requests/N` (GitLab), on the product repository's host or an allowed host.
    pr_url: String,
}

/// Arguments of `mark_pbi_pr_merged`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct PbiArgs {
    /// PBI id or code (`PBI-3`).
    pbi_id: String,
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
    ($name:literal, $args:ty, core: $core:expr, writes: $writes:expr, only: $only:expr, $desc:expr) => {
        Spec {
            name: $name,
            description: $desc,
            schema: schema_for_type::<$args>,
            core: $core,
            writes: $writes,
            only: Some($only),
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
    spec!("wait_for_job", WaitForJobArgs, core: true, writes: true,
        "Waits (long poll) for the next job queued for you and claims it: returns the job with task, story, PBI, sprint, product, model config, `attempt` and lease, or `{status: \"timeout\"}`. Then `update_job_status running`, `job_heartbeat` every 60 s, do the work, `verify_task_against_plan`, `update_job_status done`; loop while `next_action` is `wait_for_job_again`."),
    spec!("job_heartbeat", JobHeartbeatArgs, core: true, writes: true,
        "Extends your job's lease (call every 60 s). `cancelled: true` means stop, discard the work and call `wait_for_job` again."),
    spec!("update_job_status", UpdateJobStatusArgs, core: true, writes: true, only: Transport::Http,
        "Reports your job: running, done (the verify gate applies), failed or skipped. Task status and story/PBI/sprint follow. `next_action` says whether to `wait_for_job` again. `JOB_CANCELLED:` means discard the work."),
    spec!("update_job_status", UpdateJobStatusStdioArgs, core: true, writes: true, only: Transport::Stdio,
        "Reports your job: running, done (the verify gate applies; with `worktree_path` your branch is pushed first), failed or skipped. Task status and story/PBI/sprint follow. `next_action` says whether to `wait_for_job` again. `JOB_CANCELLED:` means discard the work."),
    spec!("worker_heartbeat", WorkerHeartbeatArgs, core: true, writes: true,
        "Marks this worker alive and records its remaining quota (0–100 %); workers below the quota threshold get no jobs."),
    spec!("check_queue_empty", QueueStatusArgs, core: true, writes: false,
        "Counts your jobs still queued, claimed or running: `{empty, remaining}` for one product, or with `by_product` per product you can read. Use it to decide whether to keep calling `wait_for_job`."),
    spec!("verify_task_against_plan", VerifyDiffArgs, core: true, writes: true, only: Transport::Http,
        "Classifies your diff against the task's plan (aligned, partial, empty, divergent) and records it on your job; `update_job_status done` needs it. Send the unified diff of your work."),
    spec!("verify_task_against_plan", VerifyWorktreeArgs, core: true, writes: true, only: Transport::Stdio,
        "Diffs your worktree against the job's base (or the remote default branch), classifies it against the task's plan (aligned, partial, empty, divergent) and records it on your job; `update_job_status done` needs it."),
    spec!("start_sprint_run", crate::sprint_tools::StartSprintRunArgs, core: false, writes: true,
        "Starts a run of an OPEN sprint: its todo tasks (in PBI → story → task order) are queued for your agents as one sprint_implementation job (sprint_batch) or one task job per task (story, sprint). Refused with `PRE_FLIGHT_BLOCKED: <type> <label>; …` listing every blocker (task_no_plan, open_question, pbi_blocked, task_cross_repo, task_has_job), or while the sprint has an active run."),
    spec!("update_task_execution", crate::sprint_tools::UpdateTaskExecutionArgs, core: true, writes: true,
        "Sprint batch jobs: reports one task of your frozen `task_executions` — running when you start it, done (with `head_sha`, after `verify_sprint_task`), skipped or failed. Also call `update_task_status` with `sprint_run_id`. Repeating a report is harmless."),
    spec!("verify_sprint_task", crate::sprint_tools::VerifySprintDiffArgs, core: true, writes: true, only: Transport::Http,
        "Sprint batch jobs: classifies one task's diff against its frozen plan (aligned, partial, empty, divergent), records it on the execution and says whether `update_job_status done` would accept it (`allowed_for_done`, `reason`). Base: the execution's, else the previous done task's head_sha, else the base_sha you reported; MISSING_BASE_SHA otherwise."),
    spec!("verify_sprint_task", crate::sprint_tools::VerifySprintWorktreeArgs, core: true, writes: true, only: Transport::Stdio,
        "Sprint batch jobs: diffs your worktree from the task's base (the execution's, else the previous done task's head_sha, else the base_sha you reported) to HEAD, classifies it against the frozen plan, records it and says whether `update_job_status done` would accept it (`allowed_for_done`, `reason`)."),
    spec!("set_pbi_pr", SetPbiPrArgs, core: false, writes: true,
        "Links a pull request to a PBI (GitHub /pull/N, Forgejo/Gitea /pulls/N or GitLab /-/merge_requests/N URL on an allowed host). The same URL again changes nothing; a new one clears `pr_merged_at`."),
    spec!("mark_pbi_pr_merged", PbiArgs, core: false, writes: true,
        "Records that the PBI's linked pull request was merged (now; again keeps the first time). Fails with a conflict when no pull request is linked: call `set_pbi_pr` first."),
    spec!("ask_user_question", AskArgs, core: true, writes: true,
        "Asks a person a question about a story, task or idea (free text or up to 8 options); open for 24 h. With `wait_seconds` (≤ 600) it waits for the answer and returns as soon as it arrives (`timed_out: true` if not); otherwise poll with `get_question_answer`."),
    spec!("get_question_answer", QuestionArgs, core: true, writes: false,
        "A question's status (open, answered, cancelled, expired) and answer."),
    spec!("list_open_questions", ListQuestionsArgs, core: false, writes: false,
        "Your own open and answered questions, newest first (at most 50)."),
    spec!("cancel_question", QuestionArgs, core: false, writes: true,
        "Cancels one of your open questions."),
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
    serde_json::to_value(v).map_err(|e| AppError::internal_from("cannot serialize a tool result", e))
}

fn page(page: Option<u64>, limit: Option<u64>) -> PageParams {
    PageParams { page, limit }
}

/// Who is calling and from where.
pub(crate) struct Cx<'a> {
    pub app: &'a App,
    pub actor: &'a Actor,
    pub transport: Transport,
    /// The `baton mcp` process's worker identity (stdio), if any.
    pub worker: Option<&'a WorkerInfo>,
}

impl Cx<'_> {
    /// The worker identity for a queue call: the process's (stdio), or one
    /// named after the token (HTTP), with the caller's overrides.
    fn worker(&self, instance_id: Option<String>) -> WorkerInfo {
        let mut w = match self.worker {
            Some(w) => w.clone(),
            None => {
                let token = match &self.actor.via {
                    baton_app::AuthVia::Token { token_id, .. } => token_id.clone(),
                    _ => self.actor.user_id.clone(),
                };
                WorkerInfo::new(format!("mcp-http-{token}"))
            }
        };
        if let Some(i) = instance_id.filter(|i| !i.trim().is_empty()) {
            w.instance_id = i;
        }
        w
    }
}

/// Runs one tool for a caller. The caller is already authenticated; demo
/// accounts were already refused for writing tools.
pub(crate) async fn run(cx: &Cx<'_>, name: &str, args: Value) -> AppResult<Value> {
    let (app, actor) = (cx.app, cx.actor);
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
        "wait_for_job" => {
            let a: WaitForJobArgs = parse(args)?;
            let w = cx.worker(a.instance_id);
            let req = ClaimRequest {
                product_id: a.product_id,
                runtime: a.runtime.unwrap_or(w.runtime),
                capabilities: a.capabilities.unwrap_or(w.capabilities),
                tier: a.tier.unwrap_or(w.tier),
                instance_id: w.instance_id,
            };
            let wait = std::time::Duration::from_secs(a.wait_seconds.unwrap_or(300));
            if wait.is_zero() {
                return Err(AppError::field("wait_seconds", "must be between 1 and 600"));
            }
            to_json(app.wait_for_job(actor, req, wait).await?)
        }
        "job_heartbeat" => {
            let a: JobHeartbeatArgs = parse(args)?;
            to_json(app.job_heartbeat(actor, &a.job_id, a.attempt).await?)
        }
        "update_job_status" => {
            // Only stdio has a worktree on this machine to push from.
            let (worktree, args) = match cx.transport {
                Transport::Stdio => crate::stdio::take_worktree(args)?,
                Transport::Http => (None, args),
            };
            let a: UpdateJobStatusArgs = parse(args)?;
            let input = UpdateJobStatus {
                job_id: a.job_id,
                status: a.status,
                attempt: a.attempt,
                branch: a.branch,
                head_sha: a.head_sha,
                base_sha: a.base_sha,
                pushed: a.pushed,
                pr_url: a.pr_url,
                summary: a.summary,
                error: a.error,
                model_id: a.model_id,
                input_tokens: a.input_tokens,
                output_tokens: a.output_tokens,
                cache_read_tokens: a.cache_read_tokens,
                cache_write_tokens: a.cache_write_tokens,
                actual_thinking_tokens: a.actual_thinking_tokens,
            };
            if a.check_only == Some(true) {
                return to_json(app.check_job_report(actor, &input).await?);
            }
            match worktree {
                Some(wt) if input.status.trim() == "done" => {
                    to_json(crate::stdio::report_done_with_push(app, actor, input, &wt).await?)
                }
                _ => to_json(app.update_job_status(actor, input).await?),
            }
        }
        "worker_heartbeat" => {
            let a: WorkerHeartbeatArgs = parse(args)?;
            let quota = Quota { last_quota_pct: a.last_quota_pct, last_quota_check_at: a.last_quota_check_at };
            // What the worker says about itself is kept (a heartbeat upserts the row).
            let mut w = cx.worker(a.instance_id);
            w.runtime = a.runtime.unwrap_or(w.runtime);
            w.tier = a.tier.unwrap_or(w.tier);
            w.capabilities = a.capabilities.unwrap_or(w.capabilities);
            w.hostname = a.hostname.or(w.hostname);
            w.pid = a.pid.or(w.pid);
            to_json(app.worker_heartbeat(actor, w, quota).await?)
        }
        "verify_task_against_plan" if cx.transport == Transport::Http => {
            let a: VerifyDiffArgs = parse(args)?;
            to_json(app.record_verify_result(actor, &a.task_id, &a.diff).await?)
        }
        "verify_task_against_plan" => {
            let a: VerifyWorktreeArgs = parse(args)?;
            let base = match a.base {
                Some(b) => Some(b),
                // The job's base commit, when the target is a job we can read.
                None => app.get_job(actor, &a.task_id).await.ok().and_then(|j| j.base_sha),
            };
            let (diff, base) = crate::git::diff_against(&a.worktree_path, base.as_deref()).await?;
            let mut report = to_json(app.record_verify_result(actor, &a.task_id, &diff).await?)?;
            if let Value::Object(m) = &mut report {
                m.insert("diffed_against".into(), Value::String(base));
            }
            Ok(report)
        }
        "ask_user_question" => {
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
        "check_queue_empty" => {
            let a: QueueStatusArgs = parse(args)?;
            to_json(app.queue_status(actor, a.product_id.as_deref()).await?)
        }
        "set_pbi_pr" => {
            let a: SetPbiPrArgs = parse(args)?;
            to_json(app.set_pbi_pr(actor, &a.pbi_id, &a.pr_url).await?)
        }
        "mark_pbi_pr_merged" => {
            let a: PbiArgs = parse(args)?;
            to_json(app.mark_pbi_pr_merged(actor, &a.pbi_id).await?)
        }
        "get_question_answer" => {
            let a: QuestionArgs = parse(args)?;
            to_json(app.get_question(actor, &a.question_id).await?)
        }
        "list_open_questions" => {
            let a: ListQuestionsArgs = parse(args)?;
            to_json(app.list_open_questions(actor, a.story_id.as_deref()).await?)
        }
        "cancel_question" => {
            let a: QuestionArgs = parse(args)?;
            to_json(app.cancel_question(actor, &a.question_id).await?)
        }
        "start_sprint_run" => crate::sprint_tools::start(cx, args).await,
        "update_task_execution" => crate::sprint_tools::update_execution(cx, args).await,
        "verify_sprint_task" if cx.transport == Transport::Http => crate::sprint_tools::verify_diff(cx, args).await,
        "verify_sprint_task" => crate::sprint_tools::verify_worktree(cx, args).await,
        other => Err(AppError::internal(format!("tool {other} is in the catalog but has no handler"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_catalog_entry_has_a_unique_name_and_an_object_schema() {
        for transport in [Transport::Http, Transport::Stdio] {
            let mut names: Vec<&str> =
                CATALOG.iter().filter(|s| s.offered(Profile::All, transport)).map(|s| s.name).collect();
            names.sort_unstable();
            let before = names.len();
            names.dedup();
            assert_eq!(before, names.len(), "duplicate tool names on {transport:?}");
        }
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
