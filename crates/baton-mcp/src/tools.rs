//! The tool catalog and its dispatch. Every tool parses its arguments, calls
//! one `baton_app::App` service (a few reads bundle two), and returns what
//! the service returned; no rule lives here. The arguments and handlers
//! live per area: [`context_tools`](crate::context_tools) (the reads an
//! agent starts with), [`backlog_tools`](crate::backlog_tools),
//! [`log_tools`](crate::log_tools), [`queue_tools`](crate::queue_tools),
//! [`question_tools`](crate::question_tools),
//! [`sprint_tools`](crate::sprint_tools), [`idea_tools`](crate::idea_tools), and for parity with
//! the REST API [`edit_tools`](crate::edit_tools) and [`product_tools`](crate::product_tools); the
//! marketplace stories in [`market_story_tools`](crate::market_story_tools) and their BMAD import in
//! [`market_import_tools`](crate::market_import_tools).
//! marketplace in [`market_tools`](crate::market_tools).
//!
//! Arguments are checked by serde with `deny_unknown_fields`, so a typo in a
//! field name is a `VALIDATION_ERROR` naming the field, exactly like a
//! service's own validation.

use std::sync::Arc;

use baton_app::{Actor, App, AppError, AppResult, workers::WorkerInfo};
use baton_domain::ValidationErrors;
use rmcp::model::{JsonObject, Tool, ToolAnnotations};
use serde::{Serialize, de::DeserializeOwned};
use serde_json::{Value, json};

use crate::{
    Profile, Transport, admin_tools as admin, backlog_tools as backlog, context_tools as context, edit_tools as edit,
    idea_admin_tools as idea_admin, idea_tools as idea, log_tools as log, market_escrow_tools as escrow,
    market_import_tools as market_import, market_review_tools as review, market_story_tools as market_story,
    market_tools as market, product_tools as product, question_tools as question, queue_tools as queue,
    schema::input_schema, sprint_tools as sprint,
};

/// One tool: its name, what an agent reads about it, its input schema, and
/// where it is offered.
pub(crate) struct Spec {
    pub name: &'static str,
    pub description: &'static str,
    pub(crate) schema: fn() -> Arc<JsonObject>,
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

macro_rules! spec {
    ($name:literal, $args:ty, core: $core:expr, writes: $writes:expr, $desc:expr) => {
        Spec {
            name: $name,
            description: $desc,
            schema: input_schema::<$args>,
            core: $core,
            writes: $writes,
            only: None,
        }
    };
    ($name:literal, $args:ty, core: $core:expr, writes: $writes:expr, only: $only:expr, $desc:expr) => {
        Spec {
            name: $name,
            description: $desc,
            schema: input_schema::<$args>,
            core: $core,
            writes: $writes,
            only: Some($only),
        }
    };
}

/// Every tool, in the order `tools/list` shows them.
pub(crate) static CATALOG: &[Spec] = &[
    spec!("health", context::NoArgs, core: true, writes: false,
        "Checks that Baton and its database answer: {status, version, database}."),
    spec!("list_products", context::ListProductsArgs, core: true, writes: false,
        "Lists the active products you own or are a member of (paginated). Use a product's id or code with `get_context`."),
    spec!("get_context", context::ContextArgs, core: true, writes: false,
        "Everything needed to start on a product: the product, its OPEN sprints (newest first, `active_sprint` = newest), the next story to implement with its tasks, and your open ideas. Then use `get_sprint_context` for a sprint's tasks."),
    spec!("get_claude_context", context::ContextArgs, core: false, writes: false,
        "Deprecated alias of `get_context` (same arguments and result)."),
    spec!("get_sprint_context", context::SprintContextArgs, core: true, writes: false,
        "A sprint and its tasks in execution order (PBI, story, task), paginated; with `task_id` also that task in full. Sprint ids come from `get_context`."),
    spec!("create_pbi", backlog::CreatePbiArgs, core: false, writes: true,
        "Creates a product backlog item (code `PBI-N`) at the end of the product's backlog. Add stories with `create_story`."),
    spec!("create_story", backlog::CreateStoryArgs, core: false, writes: true,
        "Creates a story (code `ST-NNN`) under a PBI, optionally straight into an OPEN sprint. Add tasks with `create_task`."),
    spec!("create_task", backlog::CreateTaskArgs, core: false, writes: true,
        "Creates a task (code `T-N`, status todo) under a story; it inherits the story's product and sprint. In a sprint, an unassigned story gets you as assignee."),
    spec!("create_sprint", backlog::CreateSprintArgs, core: false, writes: true,
        "Creates an OPEN sprint (code `SP-N` unless given). Several OPEN sprints may coexist; put stories in with `create_story` `sprint_id`."),
    spec!("update_sprint", backlog::UpdateSprintArgs, core: false, writes: true,
        "Changes a sprint's status, goal or dates; give at least one. `closed` sets completed_at."),
    spec!("update_task_status", backlog::UpdateTaskStatusArgs, core: true, writes: true,
        "Sets a task's status (todo, in_progress, review, done, failed, excluded). The story, PBI, sprint and sprint run follow in the same transaction; the result says whether the story was `promoted` or `demoted`."),
    spec!("update_task_plan", backlog::UpdateTaskPlanArgs, core: true, writes: true,
        "Replaces a task's implementation plan (markdown naming the files to change); `verify_task_against_plan` compares your diff with it."),
    spec!("log_implementation", log::LogImplementationArgs, core: true, writes: true,
        "Appends an implementation note to a story's log."),
    spec!("log_test_result", log::LogTestResultArgs, core: true, writes: true,
        "Appends a test result (passed or failed) to a story's log."),
    spec!("log_commit", log::LogCommitArgs, core: true, writes: true,
        "Appends a commit (hash and message) to a story's log."),
    spec!("wait_for_job", queue::WaitForJobArgs, core: true, writes: true,
        "Waits (long poll) for the next job queued for you and claims it: returns the job with task, story, PBI, sprint, product, model config, `attempt` and lease, or `{status: \"timeout\"}`. Then `update_job_status running`, `job_heartbeat` every 60 s, do the work, `verify_task_against_plan`, `update_job_status done`; loop while `next_action` is `wait_for_job_again`."),
    spec!("job_heartbeat", queue::JobHeartbeatArgs, core: true, writes: true,
        "Extends your job's lease (call every 60 s). `cancelled: true` means stop, discard the work and call `wait_for_job` again."),
    spec!("update_job_status", queue::UpdateJobStatusArgs, core: true, writes: true, only: Transport::Http,
        "Reports your job: running, done (the verify gate applies), failed or skipped. Task status and story/PBI/sprint follow. `next_action` says whether to `wait_for_job` again. `JOB_CANCELLED:` means discard the work."),
    spec!("update_job_status", queue::UpdateJobStatusStdioArgs, core: true, writes: true, only: Transport::Stdio,
        "Reports your job: running, done (the verify gate applies; with `worktree_path` your branch is pushed first), failed or skipped. Task status and story/PBI/sprint follow. `next_action` says whether to `wait_for_job` again. `JOB_CANCELLED:` means discard the work."),
    spec!("worker_heartbeat", queue::WorkerHeartbeatArgs, core: true, writes: true,
        "Marks this worker alive and records its remaining quota (0–100 %); workers below the quota threshold get no jobs."),
    spec!("check_queue_empty", queue::QueueStatusArgs, core: true, writes: false,
        "Counts your jobs still queued, claimed or running: `{empty, remaining}` for one product, or with `by_product` per product you can read. Use it to decide whether to keep calling `wait_for_job`."),
    spec!("retry_job", queue::RetryJobArgs, core: false, writes: true,
        "Queues a new job for the task of a failed or cancelled task job, with the same runtime and model settings, for your agents; the old job stays as it was. Refused while the task has another queued, claimed or running job, and for jobs of a sprint run (resume the run instead)."),
    spec!("verify_task_against_plan", queue::VerifyDiffArgs, core: true, writes: true, only: Transport::Http,
        "Classifies your diff against the task's plan (aligned, partial, empty, divergent) and records it on your job; `update_job_status done` needs it. Send the unified diff of your work."),
    spec!("verify_task_against_plan", queue::VerifyWorktreeArgs, core: true, writes: true, only: Transport::Stdio,
        "Diffs your worktree against the job's base (or the remote default branch), classifies it against the task's plan (aligned, partial, empty, divergent) and records it on your job; `update_job_status done` needs it."),
    spec!("cleanup_my_worktrees", crate::worktrees::CleanupArgs, core: false, writes: true, only: Transport::Stdio,
        "Removes your `baton worker` worktrees on this machine whose jobs are finished and that hold no unpushed commits or uncommitted changes; each kept worktree says why."),
    spec!("start_sprint_run", sprint::StartSprintRunArgs, core: false, writes: true,
        "Starts a run of an OPEN sprint: its todo tasks (in PBI → story → task order) are queued for your agents as one sprint_implementation job (sprint_batch) or one task job per task (story, sprint). Refused with `PRE_FLIGHT_BLOCKED: <type> <label>; …` listing every blocker (task_no_plan, open_question, pbi_blocked, task_cross_repo, task_has_job), or while the sprint has an active run."),
    spec!("update_task_execution", sprint::UpdateTaskExecutionArgs, core: true, writes: true,
        "Sprint batch jobs: reports one task of your frozen `task_executions` — running when you start it, done (with `head_sha`, after `verify_sprint_task`), skipped or failed. Also call `update_task_status` with `sprint_run_id`. Repeating a report is harmless."),
    spec!("verify_sprint_task", sprint::VerifySprintDiffArgs, core: true, writes: true, only: Transport::Http,
        "Sprint batch jobs: classifies one task's diff against its frozen plan (aligned, partial, empty, divergent), records it on the execution and says whether `update_job_status done` would accept it (`allowed_for_done`, `reason`). Base: the execution's, else the previous done task's head_sha, else the base_sha you reported; MISSING_BASE_SHA otherwise."),
    spec!("verify_sprint_task", sprint::VerifySprintWorktreeArgs, core: true, writes: true, only: Transport::Stdio,
        "Sprint batch jobs: diffs your worktree from the task's base (the execution's, else the previous done task's head_sha, else the base_sha you reported) to HEAD, classifies it against the frozen plan, records it and says whether `update_job_status done` would accept it (`allowed_for_done`, `reason`)."),
    spec!("set_pbi_pr", backlog::SetPbiPrArgs, core: false, writes: true,
        "Links a pull request to a PBI (GitHub /pull/N, Forgejo/Gitea /pulls/N or GitLab /-/merge_requests/N URL on an allowed host). The same URL again changes nothing; a new one clears `pr_merged_at`."),
    spec!("mark_pbi_pr_merged", backlog::PbiArgs, core: false, writes: true,
        "Records that the PBI's linked pull request was merged (now; again keeps the first time). Fails with a conflict when no pull request is linked: call `set_pbi_pr` first."),
    spec!("ask_user_question", question::AskArgs, core: true, writes: true,
        "Asks a person a question about a story, task or idea (free text or up to 8 options); open for 24 h. With `wait_seconds` (≤ 600) it waits for the answer and returns as soon as it arrives (`timed_out: true` if not); otherwise poll with `get_question_answer`."),
    spec!("get_question_answer", question::QuestionArgs, core: true, writes: false,
        "A question's status (open, answered, cancelled, expired) and answer."),
    spec!("list_open_questions", question::ListQuestionsArgs, core: false, writes: false,
        "Your own open and answered questions, newest first (at most 50)."),
    spec!("cancel_question", question::QuestionArgs, core: false, writes: true,
        "Cancels one of your open questions."),
    spec!("create_idea", idea::CreateIdeaArgs, core: false, writes: true,
        "Creates a private DRAFT idea (code `IDEA-NNN`, yours only). Give it a product before it can be grilled."),
    spec!("get_idea_context", idea::IdeaArgs, core: true, writes: false,
        "One of your ideas with its product, open questions and latest log entries (at most 20). Start here when a job's payload names an idea."),
    spec!("get_ideas_context", idea::IdeasArgs, core: false, writes: false,
        "Your ideas, newest first (without their markdown), optionally of one product or status; paginated."),
    spec!("update_idea_grill_md", idea::MarkdownArgs, core: true, writes: true,
        "Stores the grill's result (markdown, 1–64000 characters) and sets the idea grilled; allowed while grilling, grilled or plan_ready, and only with a product. Kept as a revision."),
    spec!("update_idea_plan_md", idea::MarkdownArgs, core: true, writes: true,
        "Stores and parses the plan (YAML front-matter at byte 0: pbi, stories with tasks, optional sprint goal). Returns `{ok, idea, errors}`: ok → plan_ready; not ok → plan_failed with `errors` ({line, path, message}); fix the plan and call again. Not a tool error."),
    spec!("log_idea_decision", idea::LogDecisionArgs, core: true, writes: true,
        "Logs a decision (default) or note on your idea, e.g. each answer while grilling."),
    spec!("materialize_idea", idea::MaterializeArgs, core: false, writes: true,
        "Turns a plan_ready or plan_reviewed idea's plan into a PBI with stories and tasks in one step (optionally an OPEN build sprint): `{pbi_id, pbi_code, story_ids, task_ids, product_id, build_sprint_id}`. Refused with `PBI_HAS_ACTIVE_TASKS:<code>` over an earlier PBI with work in progress unless `allow_alongside`."),
    spec!("dispatch_idea_job", idea::DispatchArgs, core: false, writes: true,
        "Queues a grill, make_plan or review_plan job for your idea after checking, in order: your idea (in the product), its status, the product's repo_url, the content policy, no other live job of the idea, and a live worker of yours (seen within 15 s; `review` capability for reviews)."),
    // ---- Parity with the REST API (issue 11): every write a person or agent
    // needs, `all` profile only. Each calls the same service as its REST
    // operation; `tests/parity.rs` maps the operations to these tools.
    spec!("update_pbi", edit::UpdatePbiArgs, core: false, writes: true,
        "Changes a PBI's title, description (`null` clears), priority or status (blocked only by hand); give at least one."),
    spec!("delete_pbi", edit::DeleteArgs, core: false, writes: true,
        "Deletes a PBI (id or code) with its stories, their tasks and logs. Refused while one of its tasks has a live job."),
    spec!("move_pbi", edit::MoveArgs, core: false, writes: true,
        "Moves a PBI within its product's backlog: exactly one of `before_id`, `after_id` (a sibling's id or code) or `index` (0-based)."),
    spec!("update_story", edit::UpdateStoryArgs, core: false, writes: true,
        "Changes a story's title, description, acceptance criteria, priority, PBI (`pbi_id`, same product), assignee, or (without tasks) status; give at least one."),
    spec!("delete_story", edit::DeleteArgs, core: false, writes: true,
        "Deletes a story (id or code) with its tasks and log."),
    spec!("move_story", edit::MoveArgs, core: false, writes: true,
        "Moves a story among its PBI's stories: exactly one of `before_id`, `after_id` or `index`."),
    spec!("update_task", edit::UpdateTaskArgs, core: false, writes: true,
        "Changes a task's fields (title, description, plan, priority, status, story, verify settings, repository); give at least one. A status change propagates like `update_task_status`."),
    spec!("delete_task", edit::DeleteArgs, core: false, writes: true,
        "Deletes a task (id or code); its story's status follows."),
    spec!("move_task", edit::MoveArgs, core: false, writes: true,
        "Moves a task among its story's tasks: exactly one of `before_id`, `after_id` or `index`."),
    spec!("create_product", product::CreateProductArgs, core: false, writes: true,
        "Creates a product you own (name and definition of done required); settings as on the product settings page."),
    spec!("update_product", product::UpdateProductArgs, core: false, writes: true,
        "Changes a product's settings: name, code, repository, definition of done, PR and review automation, model preferences, `min_quota_pct`; `null` clears an optional field."),
    spec!("archive_product", product::ProductArgs, core: false, writes: true,
        "Archives a product: hidden from lists, no new jobs."),
    spec!("unarchive_product", product::ProductArgs, core: false, writes: true,
        "Brings an archived product back."),
    spec!("delete_product", product::ProductArgs, core: false, writes: true,
        "Deletes a product and its whole backlog. Cannot be undone: export it first."),
    spec!("add_member", product::AddMemberArgs, core: false, writes: true,
        "Adds a user (by username) to a product: access read_only (default) or read_write, and a product role."),
    spec!("update_member", product::UpdateMemberArgs, core: false, writes: true,
        "Changes a member's access or role."),
    spec!("remove_member", product::RemoveMemberArgs, core: false, writes: true,
        "Removes a member from a product."),
    spec!("export_product", product::ExportArgs, core: false, writes: false,
        "A product's whole backlog as a file: `{filename, content_type, content}`, JSON (default; importable) or CSV."),
    spec!("import_product", product::ImportArgs, core: false, writes: true,
        "Creates a new product from an export: `export` (the JSON object) or `csv` (the CSV text)."),
    spec!("bulk_status", product::BulkStatusArgs, core: false, writes: true,
        "Sets one status on up to 500 PBIs, stories or tasks of one product, in one transaction (all or nothing)."),
    spec!("bulk_move_to_sprint", product::BulkMoveArgs, core: false, writes: true,
        "Moves up to 500 stories of one product into an OPEN sprint, or back to the backlog with `sprint_id: null`."),
    spec!("bulk_reorder", product::BulkReorderArgs, core: false, writes: true,
        "Puts siblings (PBIs of one product, stories of one PBI or tasks of one story) in the given order."),
    spec!("add_stories_to_sprint", sprint::AddStoriesArgs, core: false, writes: true,
        "Adds stories (not done, same product) to an OPEN sprint; their tasks follow."),
    spec!("remove_story_from_sprint", sprint::RemoveStoryArgs, core: false, writes: true,
        "Sends a story of a sprint back to the product backlog."),
    spec!("close_sprint", sprint::CloseSprintArgs, core: false, writes: true,
        "Closes an OPEN sprint: done stories stay, unfinished ones go back to the backlog or to `move_unfinished_to`."),
    spec!("archive_sprint", sprint::SprintArgs, core: false, writes: true,
        "Archives a closed or failed sprint."),
    spec!("fail_sprint", sprint::SprintArgs, core: false, writes: true,
        "Marks a sprint failed."),
    spec!("delete_sprint", sprint::SprintArgs, core: false, writes: true,
        "Deletes a sprint; its stories go back to the product backlog. Refused while it has an active run."),
    spec!("cancel_sprint_run", sprint::RunArgs, core: false, writes: true,
        "Cancels a sprint run and its unfinished jobs."),
    spec!("resume_sprint_run", sprint::RunArgs, core: false, writes: true,
        "Resumes a paused or failed sprint run: its unfinished tasks are queued again in the run's order."),
    spec!("dispatch_job", queue::DispatchJobArgs, core: false, writes: true,
        "\"Start agent\" on a task: queues a task job for your agents (optionally with runtime, capability, model, thinking budget, permission mode). Refused while the task has a live job. Sprints: `start_sprint_run`; ideas: `dispatch_idea_job`."),
    spec!("list_jobs", queue::ListJobsArgs, core: false, writes: false,
        "Jobs in the products you can read, newest first, filtered by status, kind, product, task or `dead` (failed after the last attempt); paginated."),
    spec!("get_job", queue::JobArgs, core: false, writes: false,
        "One job with its status, attempt (`retry_count`), verify result, summary and error."),
    spec!("cancel_job", queue::JobArgs, core: false, writes: true,
        "Cancels an unfinished job; its worker gets `JOB_CANCELLED` on its next report."),
    spec!("requeue_job", queue::JobArgs, core: false, writes: true,
        "Puts a stuck claimed or running job back in the queue now (job owner or admin): claim cleared, `retry_count + 1`; the worker still holding it is refused on its next report."),
    spec!("answer_question", question::AnswerArgs, core: false, writes: true,
        "Answers an open question an agent asked you (one of its options when it has them); a waiting `ask_user_question` returns at once."),
    spec!("update_idea", idea_admin::UpdateIdeaArgs, core: false, writes: true,
        "Changes your idea's title, description (`null` clears), product, secondary products, or archives/unarchives it; give at least one."),
    spec!("list_job_kind_configs", context::NoArgs, core: false, writes: false,
        "Administrators: every job kind's model configuration (model, thinking budget, permission mode, allowed tools, max turns) and the defaults it falls back to."),
    spec!("set_job_kind_config", admin::SetKindConfigArgs, core: false, writes: true,
        "Administrators: replaces a job kind's configuration (absent or `null` = not set); claims use it after the job's and the product's own settings, before the defaults."),
    spec!("submit_deliverable", review::SubmitDeliverableArgs, core: false, writes: true,
        "Marketplace expert: submits (or, after changes were requested, resubmits) the pull request that delivers the planning opportunity your bid was accepted on."),
    spec!("list_deliverables", review::OpportunityArgs, core: false, writes: false,
        "An opportunity's deliverables, newest first (the client sees all, an expert their own)."),
    spec!("review_deliverable", review::ReviewDeliverableArgs, core: false, writes: true,
        "Marketplace client: approves a submitted deliverable (completes the opportunity, approves its escrow's release), requests changes or rejects it (the opportunity opens again); notes required unless approving."),
    spec!("rate_expert", review::RateExpertArgs, core: false, writes: true,
        "Marketplace client: rates an expert 1–5 (optional feedback) once per stage of your project, after their work at that stage was completed."),
    spec!("list_project_ratings", review::ProjectArgs, core: false, writes: false,
        "Marketplace client: the ratings you gave in a project, newest first."),
    spec!("get_expert_profile", review::ExpertArgs, core: false, writes: false,
        "An expert's profile: average rating and count overall and per stage, completed engagements, newest ratings."),
    spec!("upload_document", review::UploadDocumentArgs, core: false, writes: true,
        "Uploads a supporting file (PNG, JPEG, WebP, GIF, PDF, Markdown, text; base64) to a marketplace project you are a party of."),
    spec!("list_documents", review::ListDocumentsArgs, core: false, writes: false,
        "A marketplace project's documents, newest first (download them over REST: GET /api/documents/{id}/content)."),
    spec!("delete_document", review::DocumentArgs, core: false, writes: true,
        "Deletes a project document you uploaded (or any, as the project's client)."),
    // ---- Marketplace stories (issue 12), `all` profile.
    spec!("list_project_stories", market_story::ListArgs, core: false, writes: false,
        "`{stories}`: a marketplace project's stories in `epic.story` order: number (`3.1`), title, workflow_status, validation_score, qa_gate (pass, concerns, fail, waived or null), qa_quality_score, qa_review_count, story_file, qa_gate_path, assigned developer and QA; optionally of one workflow state."),
    spec!("get_story_workflow", market_story::StoryArgs, core: false, writes: false,
        "One marketplace story with its audit trail (who moved it from where to where, validations, PRs, QA gates), oldest first."),
    spec!("upsert_market_story", market_story::UpsertArgs, core: false, writes: true,
        "Creates (draft) or updates a project's story keyed by `epic.story` (client or a PM/architect of the project): `{outcome: created|updated|unchanged, story}`; repeating it changes nothing."),
    spec!("record_story_validation", market_story::ValidationArgs, core: false, writes: true,
        "Records a validate-next-story result on a draft story (PM/architect of the project or the client): score 1–10 and go/no_go. A go at or above the project's threshold (default 8) approves the story and opens its developer opportunity."),
    spec!("transition_story", market_story::TransitionArgs, core: false, writes: true,
        "Moves a story as the workflow allows: `in_progress` (assigned developer starts an approved story), `blocked` (any party), or back from blocked to where it was. PR, QA and validation moves have their own tools."),
    spec!("submit_story_pr", market_story::SubmitPrArgs, core: false, writes: true,
        "Assigned developer: links the story's pull request (https://github.com/owner/repo/pull/N) and moves it in_progress → ready_for_review; the first time opens the QA opportunity."),
    spec!("submit_qa_review", market_story::QaReviewArgs, core: false, writes: true,
        "Assigned QA (not the story's developer): records a gate on a story ready for review. pass or waived completes it (opportunities completed, escrows approved for release); fail sends it back to in_progress, concerns too unless the project's policy is proceed."),
    spec!("approve_story", market_story::ApproveArgs, core: false, writes: true,
        "Assigned QA: approves a story ready for review (gate pass) and completes it; approving a done story again changes nothing (`changed: false`)."),
    spec!("import_bmad", market_import::ImportBmadArgs, core: false, writes: true,
        "Imports BMAD stories, QA gates and validation reports into a marketplace project (its client, PM or architect) from a base64 tar.gz or zip of the repository's docs/ (or of the repository): stories created or updated by epic.story in one transaction; the same summary as `baton import bmad` (created, updated, unchanged, rejected files with the reason); a second import of the same files changes nothing."),
    spec!("set_my_roles", market::SetMyRolesArgs, core: false, writes: true,
        "Sets your self-service marketplace roles (client, analyst, pm, architect, ux, developer, qa); administrator-granted roles stay. Bidding needs the stage's role; creating a project needs client."),
    spec!("create_project", market::CreateProjectArgs, core: false, writes: true,
        "Creates a marketplace project (you need the client role): status planning, stage analyst, optional draft brief, per-story budgets (minor units), concerns policy and validation threshold."),
    spec!("list_projects", market::ListProjectsArgs, core: false, writes: false,
        "Your projects as client, member or accepted expert, newest first (paginated)."),
    spec!("get_project_status", market::ProjectArgs, core: false, writes: false,
        "A project with its stage, its opportunities and its stories counted by workflow status."),
    spec!("update_project", market::UpdateProjectArgs, core: false, writes: true,
        "Changes your project's name, description, per-story budgets, concerns policy or validation threshold, or cancels it (`status: cancelled`)."),
    spec!("create_brief", market::BriefArgs, core: false, writes: true,
        "Writes your project's brief (markdown) as a draft; publish it with `publish_brief`."),
    spec!("get_project_brief", market::ProjectArgs, core: false, writes: false,
        "A project's brief: markdown, status (draft, published), published_at."),
    spec!("update_brief", market::BriefArgs, core: false, writes: true,
        "Replaces your project's brief markdown; a published brief stays published."),
    spec!("publish_brief", market::ProjectArgs, core: false, writes: true,
        "Publishes your project's brief; the PM opportunity can then be posted."),
    spec!("advance_project_stage", market::AdvanceArgs, core: false, writes: true,
        "Moves your project to its next stage (analyst → pm → architect → ux → developer → qa; from architect `to: developer` skips UX). Refused while the stage's opportunity is open or closed."),
    spec!("post_opportunity", market::PostOpportunityArgs, core: false, writes: true,
        "Posts an opportunity on your project: stage, title, description, budget {min, max, currency} in minor units, deadline?, story_id (developer/QA only). One active per planning stage; PM needs a published brief."),
    spec!("list_opportunities", market::ListOpportunitiesArgs, core: false, writes: false,
        "Open opportunities to bid on: filters stage, currency, budget_min/budget_max (overlap), deadline_within_days; sort newest, highest, lowest; paginated. Clients are anonymised until a bid of yours is accepted."),
    spec!("get_opportunity", market::OpportunityArgs, core: false, writes: false,
        "One opportunity with its budget, status and bid count."),
    spec!("list_opportunity_bids", market::OpportunityArgs, core: false, writes: false,
        "The bids on an opportunity: all of them for the project's client, only yours otherwise."),
    spec!("submit_bid", market::SubmitBidArgs, core: false, writes: true,
        "Bids on an open opportunity (your roles must include the stage's; amount in minor units up to 1.5 × the budget maximum; proposal ≥ 100 characters). Answers with the fee preview."),
    spec!("get_my_bids", market::MyBidsArgs, core: false, writes: false,
        "Your bids, newest first, optionally of one status (paginated)."),
    spec!("withdraw_bid", market::BidArgs, core: false, writes: true,
        "Withdraws your pending bid; you may bid again later."),
    spec!("reject_bid", market::BidArgs, core: false, writes: true,
        "Rejects a pending bid on your project's opportunity."),
    spec!("accept_bid", market::BidArgs, core: false, writes: true,
        "Accepts a pending bid on your project's opportunity: other pending bids are rejected, the opportunity closes, the escrow is created (pending) and the story assigned."),
    spec!("list_project_escrows", escrow::ProjectEscrowsArgs, core: false, writes: false,
        "`{escrows}`: a project's escrows, oldest first (all of them for its client and administrators, an expert's own for an expert): status, amounts, fee, transaction hashes; the ids the other escrow tools take."),
    spec!("get_escrow_status", escrow::EscrowArgs, core: false, writes: false,
        "An escrow's status (pending, funded, released, refunded), amounts (base units and display), fee, transaction hashes and the last on-chain check (confirmations); poll it after `fund_escrow` until funded."),
    spec!("generate_wallet_qr", escrow::EscrowArgs, core: false, writes: false,
        "How the client pays an escrow: address, token, amount in display units, the EIP-681 / Solana Pay URI and that URI as an SVG QR code."),
    spec!("fund_escrow", escrow::EscrowTxArgs, core: false, writes: true,
        "The escrow's client records the funding transaction; it is verified on chain: funded when confirmed, else pending and re-checked. A transaction that cannot fund the escrow is refused with the reason."),
    spec!("record_escrow_release", escrow::EscrowTxArgs, core: false, writes: true,
        "Administrators: records the release transaction of a funded escrow whose work was approved, verified on chain."),
    spec!("refund_escrow", escrow::RefundArgs, core: false, writes: true,
        "Administrators: refunds an escrow with a reason — a pending one is cancelled without a transaction; a funded one needs the refund transaction and a rejection in the last 30 days."),
];

/// The name of every tool on any profile or transport, each once (for the
/// REST/MCP parity test and documentation).
pub fn tool_names() -> Vec<&'static str> {
    let mut names: Vec<&'static str> = CATALOG.iter().map(|s| s.name).collect();
    names.sort_unstable();
    names.dedup();
    names
}

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

/// Splits the item reference `key` (required string) off the arguments and
/// parses the rest as the service's own input type, so a tool accepts
/// exactly the fields (and `null` semantics) its REST operation accepts.
pub(crate) fn parse_with_id<T: DeserializeOwned>(args: Value, key: &str) -> AppResult<(String, T)> {
    let mut args = if args.is_null() { json!({}) } else { args };
    let Some(object) = args.as_object_mut() else {
        return Err(AppError::Validation(ValidationErrors::one("", "must be an object")));
    };
    let id = match object.remove(key) {
        Some(Value::String(id)) => id,
        Some(_) => return Err(AppError::Validation(ValidationErrors::one(key, "must be a string"))),
        None => return Err(AppError::Validation(ValidationErrors::one(key, "is required"))),
    };
    Ok((id, parse(args)?))
}

fn join(path: &str, field: &str) -> String {
    if path.is_empty() || path == "." { field.to_string() } else { format!("{path}.{field}") }
}

/// A service result as JSON.
pub(crate) fn to_json<T: Serialize>(v: T) -> AppResult<Value> {
    serde_json::to_value(v).map_err(|e| AppError::internal_from("cannot serialize a tool result", e))
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
    pub(crate) fn worker(&self, instance_id: Option<String>) -> WorkerInfo {
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
/// accounts were already refused for writing tools, and arguments holding
/// a NUL character were refused (see `BatonMcp::call`).
pub(crate) async fn run(cx: &Cx<'_>, name: &str, args: Value) -> AppResult<Value> {
    let http = cx.transport == Transport::Http;
    match name {
        "health" => context::health(cx, args).await,
        "list_products" => context::list_products(cx, args).await,
        "get_context" | "get_claude_context" => context::get_context(cx, args).await,
        "get_sprint_context" => context::get_sprint_context(cx, args).await,
        "create_pbi" => backlog::create_pbi(cx, args).await,
        "create_story" => backlog::create_story(cx, args).await,
        "create_task" => backlog::create_task(cx, args).await,
        "create_sprint" => backlog::create_sprint(cx, args).await,
        "update_sprint" => backlog::update_sprint(cx, args).await,
        "update_task_status" => backlog::update_task_status(cx, args).await,
        "update_task_plan" => backlog::update_task_plan(cx, args).await,
        "set_pbi_pr" => backlog::set_pbi_pr(cx, args).await,
        "mark_pbi_pr_merged" => backlog::mark_pbi_pr_merged(cx, args).await,
        "log_implementation" => log::log_implementation(cx, args).await,
        "log_test_result" => log::log_test_result(cx, args).await,
        "log_commit" => log::log_commit(cx, args).await,
        "wait_for_job" => queue::wait_for_job(cx, args).await,
        "job_heartbeat" => queue::job_heartbeat(cx, args).await,
        "update_job_status" => queue::update_job_status(cx, args).await,
        "worker_heartbeat" => queue::worker_heartbeat(cx, args).await,
        "check_queue_empty" => queue::check_queue_empty(cx, args).await,
        "retry_job" => queue::retry_job(cx, args).await,
        "verify_task_against_plan" if http => queue::verify_diff(cx, args).await,
        "verify_task_against_plan" => queue::verify_worktree(cx, args).await,
        "ask_user_question" => question::ask_user_question(cx, args).await,
        "get_question_answer" => question::get_question_answer(cx, args).await,
        "list_open_questions" => question::list_open_questions(cx, args).await,
        "cancel_question" => question::cancel_question(cx, args).await,
        "create_idea" => idea::create_idea(cx, args).await,
        "get_idea_context" => idea::get_idea_context(cx, args).await,
        "get_ideas_context" => idea::get_ideas_context(cx, args).await,
        "update_idea_grill_md" => idea::update_idea_grill_md(cx, args).await,
        "update_idea_plan_md" => idea::update_idea_plan_md(cx, args).await,
        "log_idea_decision" => idea::log_idea_decision(cx, args).await,
        "materialize_idea" => idea::materialize_idea(cx, args).await,
        "dispatch_idea_job" => idea::dispatch_idea_job(cx, args).await,
        "cleanup_my_worktrees" => crate::worktrees::cleanup_tool(cx, args).await,
        "start_sprint_run" => sprint::start(cx, args).await,
        "update_task_execution" => sprint::update_execution(cx, args).await,
        "verify_sprint_task" if http => sprint::verify_diff(cx, args).await,
        "verify_sprint_task" => sprint::verify_worktree(cx, args).await,
        // Parity with the REST API (issue 11).
        "update_pbi" => edit::update_pbi(cx, args).await,
        "delete_pbi" => edit::delete(cx, args, "pbi").await,
        "move_pbi" => edit::move_pbi(cx, args).await,
        "update_story" => edit::update_story(cx, args).await,
        "delete_story" => edit::delete(cx, args, "story").await,
        "move_story" => edit::move_story(cx, args).await,
        "update_task" => edit::update_task(cx, args).await,
        "delete_task" => edit::delete(cx, args, "task").await,
        "move_task" => edit::move_task(cx, args).await,
        "create_product" => product::create_product(cx, args).await,
        "update_product" => product::update_product(cx, args).await,
        "archive_product" => product::set_archived(cx, args, true).await,
        "unarchive_product" => product::set_archived(cx, args, false).await,
        "delete_product" => product::delete_product(cx, args).await,
        "add_member" => product::add_member(cx, args).await,
        "update_member" => product::update_member(cx, args).await,
        "remove_member" => product::remove_member(cx, args).await,
        "export_product" => product::export_product(cx, args).await,
        "import_product" => product::import_product(cx, args).await,
        "bulk_status" => product::bulk_status(cx, args).await,
        "bulk_move_to_sprint" => product::bulk_move_to_sprint(cx, args).await,
        "bulk_reorder" => product::bulk_reorder(cx, args).await,
        "add_stories_to_sprint" => sprint::add_stories(cx, args).await,
        "remove_story_from_sprint" => sprint::remove_story(cx, args).await,
        "close_sprint" => sprint::close(cx, args).await,
        "archive_sprint" => sprint::archive(cx, args).await,
        "fail_sprint" => sprint::fail(cx, args).await,
        "delete_sprint" => sprint::delete(cx, args).await,
        "cancel_sprint_run" => sprint::cancel_run(cx, args).await,
        "resume_sprint_run" => sprint::resume_run(cx, args).await,
        "dispatch_job" => queue::dispatch_job(cx, args).await,
        "list_jobs" => queue::list_jobs(cx, args).await,
        "get_job" => queue::get_job(cx, args).await,
        "cancel_job" => queue::cancel_job(cx, args).await,
        "requeue_job" => queue::requeue_job(cx, args).await,
        "answer_question" => question::answer_question(cx, args).await,
        "update_idea" => idea_admin::update_idea(cx, args).await,
        "list_job_kind_configs" => admin::list(cx, args).await,
        "set_job_kind_config" => admin::set(cx, args).await,
        "submit_deliverable" => review::submit_deliverable(cx, args).await,
        "list_deliverables" => review::list_deliverables(cx, args).await,
        "review_deliverable" => review::review_deliverable(cx, args).await,
        "rate_expert" => review::rate_expert(cx, args).await,
        "list_project_ratings" => review::list_project_ratings(cx, args).await,
        "get_expert_profile" => review::get_expert_profile(cx, args).await,
        "upload_document" => review::upload_document(cx, args).await,
        "list_documents" => review::list_documents(cx, args).await,
        "delete_document" => review::delete_document(cx, args).await,
        "list_project_stories" => market_story::list(cx, args).await,
        "get_story_workflow" => market_story::detail(cx, args).await,
        "upsert_market_story" => market_story::upsert(cx, args).await,
        "record_story_validation" => market_story::validation(cx, args).await,
        "transition_story" => market_story::transition(cx, args).await,
        "submit_story_pr" => market_story::submit_pr(cx, args).await,
        "submit_qa_review" => market_story::qa_review(cx, args).await,
        "approve_story" => market_story::approve(cx, args).await,
        "import_bmad" => market_import::import_bmad(cx, args).await,
        "set_my_roles" => market::set_my_roles(cx, args).await,
        "create_project" => market::create_project(cx, args).await,
        "list_projects" => market::list_projects(cx, args).await,
        "get_project_status" => market::get_project_status(cx, args).await,
        "update_project" => market::update_project(cx, args).await,
        "create_brief" | "update_brief" => market::put_brief(cx, args).await,
        "get_project_brief" => market::get_project_brief(cx, args).await,
        "publish_brief" => market::publish_brief(cx, args).await,
        "advance_project_stage" => market::advance_project_stage(cx, args).await,
        "post_opportunity" => market::post_opportunity(cx, args).await,
        "list_opportunities" => market::list_opportunities(cx, args).await,
        "get_opportunity" => market::get_opportunity(cx, args).await,
        "list_opportunity_bids" => market::list_opportunity_bids(cx, args).await,
        "submit_bid" => market::submit_bid(cx, args).await,
        "get_my_bids" => market::get_my_bids(cx, args).await,
        "withdraw_bid" => market::withdraw_bid(cx, args).await,
        "reject_bid" => market::reject_bid(cx, args).await,
        "accept_bid" => market::accept_bid(cx, args).await,
        "list_project_escrows" => escrow::list_project_escrows(cx, args).await,
        "get_escrow_status" => escrow::get_escrow_status(cx, args).await,
        "generate_wallet_qr" => escrow::generate_wallet_qr(cx, args).await,
        "fund_escrow" => escrow::fund_escrow(cx, args).await,
        "record_escrow_release" => escrow::record_escrow_release(cx, args).await,
        "refund_escrow" => escrow::refund_escrow(cx, args).await,
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
        let e = parse::<backlog::CreatePbiArgs>(json!({"product_id": "p"})).expect_err("title missing");
        assert_eq!(crate::results::error_message(&e), "VALIDATION_ERROR: title: is required");
        let e = parse::<context::ContextArgs>(json!({"product_id": "p", "prodcut": 1})).expect_err("unknown field");
        assert!(crate::results::error_message(&e).starts_with("VALIDATION_ERROR: prodcut: unknown field"), "{e}");
        let e =
            parse::<backlog::UpdateTaskStatusArgs>(json!({"task_id": "T-1", "status": "doing"})).expect_err("bad enum");
        assert!(crate::results::error_message(&e).starts_with("VALIDATION_ERROR: status: "), "{e}");
    }
}
