//! Per-kind job configuration (issue 11, `job_kind_configs`): an
//! administrator sets, per job kind, the model, thinking budget, permission
//! mode, allowed tools and turn limit agents should use. The claim's
//! [`resolve_config`](super::claim::resolve_config) takes each setting from
//! here when neither the job nor its product asks for one, before the
//! built-in defaults ([`kind_defaults`]).
//!
//! Saving a kind replaces its whole configuration (a missing or `null`
//! setting is "not set here"); the list shows every kind, configured or not,
//! with the defaults it falls back to.

use baton_domain::{ValidationErrors, agents::JobKind};
use baton_store::{
    entities::job_kind_config,
    now,
    sea_orm::{ActiveModelTrait, ActiveValue::Set, EntityTrait},
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::claim::kind_defaults;
use crate::{Actor, App, AppError, AppResult};

/// Most tools one kind may list.
pub const MAX_ALLOWED_TOOLS: usize = 100;
/// Highest turn limit.
pub const MAX_TURNS: i32 = 1000;

/// The built-in configuration of a kind, used when nothing else is set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct KindDefaults {
    /// Model.
    pub model: String,
    /// Thinking budget in tokens.
    pub thinking_budget: i32,
    /// Permission mode.
    pub permission_mode: String,
    /// Turn limit.
    pub max_turns: i32,
}

/// A job kind's configuration as the admin API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct JobKindConfigView {
    /// The job kind (`task_implementation`, `idea_grill`, …).
    pub kind: String,
    /// Model, if set for this kind.
    pub model: Option<String>,
    /// Thinking budget in tokens, if set.
    pub thinking_budget: Option<i32>,
    /// Permission mode, if set.
    pub permission_mode: Option<String>,
    /// The tools agents may use, if restricted.
    pub allowed_tools: Option<Vec<String>>,
    /// Turn limit, if set.
    pub max_turns: Option<i32>,
    /// What applies where nothing is set.
    pub defaults: KindDefaults,
    /// When an administrator last saved it (`null`: never).
    pub updated_at: Option<DateTime<Utc>>,
    /// Who saved it last (user id).
    pub updated_by: Option<String>,
}

/// A kind's new configuration; every setting optional (`null` or absent =
/// not set for this kind).
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct JobKindConfigInput {
    /// Model name or alias, 1–200 characters.
    #[serde(default)]
    #[schema(max_length = 200, pattern = "\\S")]
    pub model: Option<String>,
    /// Thinking budget, 0–200000 tokens.
    #[serde(default)]
    #[schema(minimum = 0, maximum = 200000)]
    pub thinking_budget: Option<i32>,
    /// Permission mode, 1–40 letters, digits, `-` or `_`.
    #[serde(default)]
    #[schema(min_length = 1, max_length = 40, pattern = "^[A-Za-z0-9_-]+$")]
    pub permission_mode: Option<String>,
    /// Tool names agents may use (at most 100, each 1–100 characters without spaces).
    #[serde(default)]
    #[schema(max_items = 100)]
    pub allowed_tools: Option<Vec<String>>,
    /// Turn limit, 1–1000.
    #[serde(default)]
    #[schema(minimum = 1, maximum = 1000)]
    pub max_turns: Option<i32>,
}

impl JobKindConfigInput {
    /// Trimmed and checked; every problem names its field.
    fn validated(self) -> Result<Self, ValidationErrors> {
        let mut e = ValidationErrors::new();
        let model = self.model.map(|m| m.trim().to_string());
        if model.as_ref().is_some_and(|m| m.is_empty() || m.chars().count() > 200) {
            e.add("model", "must be 1 to 200 characters");
        }
        if self.thinking_budget.is_some_and(|b| !(0..=200_000).contains(&b)) {
            e.add("thinking_budget", "must be between 0 and 200000");
        }
        let mode = self.permission_mode.map(|m| m.trim().to_string());
        if let Some(m) = &mode
            && (m.is_empty()
                || m.chars().count() > 40
                || !m.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'))
        {
            e.add("permission_mode", "must be 1 to 40 letters, digits, '-' or '_'");
        }
        let tools = self.allowed_tools.map(|ts| ts.into_iter().map(|t| t.trim().to_string()).collect::<Vec<_>>());
        if let Some(ts) = &tools {
            if ts.len() > MAX_ALLOWED_TOOLS {
                e.add("allowed_tools", format!("must list at most {MAX_ALLOWED_TOOLS} tools"));
            }
            for (i, t) in ts.iter().enumerate() {
                if t.is_empty() || t.chars().count() > 100 || t.chars().any(char::is_whitespace) {
                    e.add(&format!("allowed_tools.{i}"), "must be 1 to 100 characters without spaces");
                }
            }
        }
        if self.max_turns.is_some_and(|t| !(1..=MAX_TURNS).contains(&t)) {
            e.add("max_turns", format!("must be between 1 and {MAX_TURNS}"));
        }
        e.into_result()?;
        Ok(Self {
            model,
            thinking_budget: self.thinking_budget,
            permission_mode: mode,
            allowed_tools: tools,
            max_turns: self.max_turns,
        })
    }
}

/// The kind named in a request (`kind` path or argument).
fn parse_kind(kind: &str) -> AppResult<JobKind> {
    JobKind::parse_api(kind.trim())
        .ok_or_else(|| AppError::field("kind", format!("must be one of {}", JobKind::api_values())))
}

fn view(kind: JobKind, row: Option<job_kind_config::Model>) -> JobKindConfigView {
    let (model, thinking_budget, permission_mode, max_turns) = kind_defaults(kind);
    let defaults =
        KindDefaults { model: model.into(), thinking_budget, permission_mode: permission_mode.into(), max_turns };
    let Some(row) = row else {
        return JobKindConfigView {
            kind: kind.as_api(),
            model: None,
            thinking_budget: None,
            permission_mode: None,
            allowed_tools: None,
            max_turns: None,
            defaults,
            updated_at: None,
            updated_by: None,
        };
    };
    JobKindConfigView {
        kind: kind.as_api(),
        model: row.model,
        thinking_budget: row.thinking_budget,
        permission_mode: row.permission_mode,
        // Written by `put_job_kind_config` as a list of strings only.
        allowed_tools: row.allowed_tools.and_then(|v| serde_json::from_value(v).ok()),
        max_turns: row.max_turns,
        defaults,
        updated_at: Some(row.updated_at),
        updated_by: row.updated_by,
    }
}

impl App {
    /// Every job kind with its configuration (administrators).
    pub async fn list_job_kind_configs(&self, actor: &Actor) -> AppResult<Vec<JobKindConfigView>> {
        actor.require_admin()?;
        let rows = job_kind_config::Entity::find().all(&self.db).await?;
        Ok(JobKind::ALL.iter().map(|k| view(*k, rows.iter().find(|r| r.kind == k.as_db()).cloned())).collect())
    }

    /// One kind's configuration (administrators).
    pub async fn get_job_kind_config(&self, actor: &Actor, kind: &str) -> AppResult<JobKindConfigView> {
        actor.require_admin()?;
        let kind = parse_kind(kind)?;
        Ok(view(kind, job_kind_config::Entity::find_by_id(kind.as_db().to_string()).one(&self.db).await?))
    }

    /// Replaces one kind's configuration (administrators); the next claims
    /// of that kind use it. 403 for demo accounts and non-administrators.
    pub async fn put_job_kind_config(
        &self,
        actor: &Actor,
        kind: &str,
        input: JobKindConfigInput,
    ) -> AppResult<JobKindConfigView> {
        actor.require_write()?;
        actor.require_admin()?;
        let kind = parse_kind(kind)?;
        let input = input.validated()?;
        let tools = input
            .allowed_tools
            .map(serde_json::to_value)
            .transpose()
            .map_err(|e| AppError::internal_from("cannot store allowed_tools", e))?;
        let existing = job_kind_config::Entity::find_by_id(kind.as_db().to_string()).one(&self.db).await?;
        let am = job_kind_config::ActiveModel {
            kind: Set(kind.as_db().to_string()),
            model: Set(input.model),
            thinking_budget: Set(input.thinking_budget),
            permission_mode: Set(input.permission_mode),
            allowed_tools: Set(tools),
            max_turns: Set(input.max_turns),
            updated_at: Set(now()),
            updated_by: Set(Some(actor.user_id.clone())),
        };
        // One statement either way: a concurrent save of the same kind is
        // "last write wins", like the other admin settings.
        let row = if existing.is_some() { am.update(&self.db).await? } else { am.insert(&self.db).await? };
        Ok(view(kind, Some(row)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_names_each_bad_field() {
        let bad = JobKindConfigInput {
            model: Some("  ".into()),
            thinking_budget: Some(-1),
            permission_mode: Some("accept edits".into()),
            allowed_tools: Some(vec!["Read".into(), "two words".into()]),
            max_turns: Some(0),
        };
        let errs = bad.validated().expect_err("invalid");
        let paths: Vec<&str> = errs.0.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(paths, ["model", "thinking_budget", "permission_mode", "allowed_tools.1", "max_turns"]);
        let ok = JobKindConfigInput { model: Some(" opus ".into()), ..Default::default() }.validated().expect("valid");
        assert_eq!(ok.model.as_deref(), Some("opus"));
    }

    #[test]
    fn an_unsaved_kind_shows_its_defaults() {
        let v = view(JobKind::IdeaGrill, None);
        assert_eq!((v.model, v.updated_at), (None, None));
        assert_eq!(v.defaults.model, "sonnet");
        assert_eq!(v.defaults.max_turns, 15);
        assert!(parse_kind("nope").is_err());
    }
}
