//! Administrator tools: the per-kind job configuration
//! (`list_job_kind_configs`, `set_job_kind_config`), the same services as
//! `/api/admin/job-kinds`. Refused for everyone but administrators by the
//! services.

#![allow(dead_code)] // `SetKindConfigArgs` only describes the arguments, see below

use baton_app::{AppResult, queue::kind_config::JobKindConfigInput};
use schemars::JsonSchema;
use serde_json::{Value, json};

use crate::{
    context_tools::NoArgs,
    tools::{Cx, parse, parse_with_id, to_json},
};

/// Arguments of `set_job_kind_config`: the kind, then the service's own
/// `JobKindConfigInput` (parsed from the rest, so MCP and REST accept the
/// same fields); this struct only describes them.
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
pub(crate) struct SetKindConfigArgs {
    /// The job kind, e.g. `task_implementation`, `idea_grill`.
    kind: String,
    /// Model name or alias, 1–200 characters; `null` = not set.
    model: Option<String>,
    /// Thinking budget, 0–200000 tokens.
    #[schemars(range(min = 0, max = 200000))]
    thinking_budget: Option<i32>,
    /// Permission mode, 1–40 letters, digits, `-` or `_`.
    permission_mode: Option<String>,
    /// Tool names agents may use (at most 100); `null` = the runtime's defaults.
    allowed_tools: Option<Vec<String>>,
    /// Turn limit, 1–1000.
    #[schemars(range(min = 1, max = 1000))]
    max_turns: Option<i32>,
}

/// `list_job_kind_configs`.
pub(crate) async fn list(cx: &Cx<'_>, args: Value) -> AppResult<Value> {
    let NoArgs {} = parse(args)?;
    Ok(json!({ "kinds": cx.app.list_job_kind_configs(cx.actor).await? }))
}

/// `set_job_kind_config`.
pub(crate) async fn set(cx: &Cx<'_>, args: Value) -> AppResult<Value> {
    let (kind, input): (String, JobKindConfigInput) = parse_with_id(args, "kind")?;
    to_json(cx.app.put_job_kind_config(cx.actor, &kind, input).await?)
}
