//! The job worktrees `baton worker` makes under its `--worktrees`
//! directory, and their cleanup: `baton worker --cleanup` and the
//! `cleanup_my_worktrees` tool of `baton mcp` (stdio) call
//! [`cleanup_worktrees`].
//!
//! Each job's working directory `<dir>/<name>` (a git worktree of a clone
//! of the product's repository, or a plain scratch directory) has a record
//! next to it, `<dir>/<name>.worker.json` ([`WorktreeRecord`]): only
//! directories with a record of the caller are ever touched, so a
//! `--worktrees` directory shared with other tools or users is safe.
//!
//! A worktree is removed only when its job is finished (asked from the
//! server for each one) **and** nothing in it would be lost: no uncommitted
//! change and no commit that is not on `origin` (after a fetch). Every kept
//! worktree says why.

use std::{
    future::Future,
    path::{Path, PathBuf},
};

use crate::git::text as git;
use baton_app::{AppError, AppResult};
use serde::{Deserialize, Serialize};

/// The suffix of a worktree's record file (`<name>.worker.json`).
pub const RECORD_SUFFIX: &str = ".worker.json";

/// Files `baton worker` keeps next to a worktree `<name>`, removed with it.
const SIDE_FILES: [&str; 3] = [RECORD_SUFFIX, ".payload.json", ".usage.json"];

/// What `baton worker` records about a job's working directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorktreeRecord {
    /// The job.
    pub job_id: String,
    /// The job's owner (the worker's user): cleanup skips other users' worktrees.
    pub user_id: String,
    /// The job kind (lowercase).
    pub kind: String,
    /// The branch the work is pushed to, if any.
    #[serde(default)]
    pub branch: Option<String>,
    /// HEAD when the worktree was made.
    #[serde(default)]
    pub base_sha: Option<String>,
    /// The clone the worktree belongs to; `None` for a scratch directory.
    #[serde(default)]
    pub repo_cache: Option<PathBuf>,
}

impl WorktreeRecord {
    /// Where the record of worktree `name` in `dir` lives.
    pub fn path(dir: &Path, name: &str) -> PathBuf {
        dir.join(format!("{name}{RECORD_SUFFIX}"))
    }

    /// Writes the record of worktree `name` in `dir`.
    pub fn write(&self, dir: &Path, name: &str) -> std::io::Result<()> {
        let text = serde_json::to_string_pretty(self).map_err(std::io::Error::other)?;
        std::fs::write(Self::path(dir, name), text)
    }
}

/// Asks where the jobs live (the local services, or a remote server) for a
/// job's status.
pub trait JobLookup: Sync {
    /// The job's status (lowercase), or `None` when the caller cannot see it.
    fn job_status(&self, job_id: &str) -> impl Future<Output = Option<String>> + Send;
}

/// What cleanup did with one worktree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CleanupEntry {
    /// The worktree's path.
    pub worktree: String,
    /// Its job.
    pub job_id: String,
    /// Whether it was removed.
    pub removed: bool,
    /// Why it was kept, or what was removed.
    pub reason: String,
}

/// Whether a job in `status` will not run again in this worktree.
fn finished(status: &str) -> bool {
    matches!(status, "done" | "failed" | "cancelled" | "skipped")
}

/// Why a git worktree must be kept (work that exists only here), if it must.
async fn unpushed(dir: &Path) -> Option<String> {
    // Fresh remote refs when the origin answers; a push from here has moved
    // them already, so a failed fetch errs on the side of keeping.
    if let Err(e) = git(dir, &["fetch", "-q", "origin"]).await {
        tracing::debug!(worktree = %dir.display(), error = %e, "fetch before cleanup failed");
    }
    match git(dir, &["status", "--porcelain"]).await {
        Ok(s) if !s.is_empty() => return Some("uncommitted changes".into()),
        Ok(_) => {}
        Err(e) => return Some(format!("cannot inspect it: {e}")),
    }
    match git(dir, &["rev-list", "--count", "HEAD", "--not", "--remotes=origin"]).await {
        Ok(n) if n == "0" => None,
        Ok(n) => Some(format!("{n} unpushed commit(s) (not on origin)")),
        Err(e) => Some(format!("cannot inspect it: {e}")),
    }
}

/// Removes worktree `name` in `dir` and its side files.
async fn remove(dir: &Path, name: &str, rec: &WorktreeRecord) -> Result<(), String> {
    let path = dir.join(name);
    if let Some(cache) = &rec.repo_cache {
        let p = path.to_string_lossy().to_string();
        if git(cache, &["worktree", "remove", "--force", &p]).await.is_err() {
            // The clone may be gone; the directory still goes.
            if path.exists() {
                std::fs::remove_dir_all(&path).map_err(|e| format!("cannot remove {}: {e}", path.display()))?;
            }
            let _ = git(cache, &["worktree", "prune"]).await;
        }
    } else if path.exists() {
        std::fs::remove_dir_all(&path).map_err(|e| format!("cannot remove {}: {e}", path.display()))?;
    }
    for suffix in SIDE_FILES {
        let _ = std::fs::remove_file(dir.join(format!("{name}{suffix}")));
    }
    Ok(())
}

/// Removes the worktrees of `user_id` under `dir` whose jobs are finished
/// and that hold no unpushed work (see the module documentation). Returns
/// one entry per worktree of the user, removed or kept (with the reason).
pub async fn cleanup_worktrees(dir: &Path, user_id: &str, jobs: &impl JobLookup) -> AppResult<Vec<CleanupEntry>> {
    if !dir.is_absolute() {
        return Err(AppError::field("worktrees_dir", "must be an absolute path"));
    }
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(_) => return Err(AppError::field("worktrees_dir", "must be a readable directory")),
    };
    let mut names: Vec<String> = entries
        .flatten()
        .filter_map(|e| e.file_name().to_str().and_then(|n| n.strip_suffix(RECORD_SUFFIX)).map(str::to_string))
        .collect();
    names.sort();
    let mut out = Vec::new();
    for name in names {
        let Ok(text) = std::fs::read_to_string(WorktreeRecord::path(dir, &name)) else { continue };
        let Ok(rec) = serde_json::from_str::<WorktreeRecord>(&text) else { continue };
        if rec.user_id != user_id {
            continue;
        }
        let path = dir.join(&name);
        let entry = |removed: bool, reason: String| CleanupEntry {
            worktree: path.to_string_lossy().to_string(),
            job_id: rec.job_id.clone(),
            removed,
            reason,
        };
        let status = jobs.job_status(&rec.job_id).await;
        let keep = match status.as_deref() {
            None => Some("the job was not found (or the server did not answer)".to_string()),
            Some(s) if !finished(s) => Some(format!("the job is {s}")),
            Some(_) if rec.repo_cache.is_some() && path.join(".git").exists() => unpushed(&path).await,
            Some(_) => None,
        };
        let e = match keep {
            Some(why) => entry(false, format!("kept: {why}")),
            None => match remove(dir, &name, &rec).await {
                Ok(()) => entry(true, format!("removed: the job is {}", status.unwrap_or_default())),
                Err(why) => entry(false, format!("kept: {why}")),
            },
        };
        out.push(e);
    }
    Ok(out)
}

/// The default `--worktrees` of `baton worker` (and of the tool):
/// `BATON_WORKER_WORKTREES`, else `./baton-worktrees`, made absolute.
pub fn default_dir() -> PathBuf {
    let dir = std::env::var("BATON_WORKER_WORKTREES")
        .ok()
        .filter(|d| !d.trim().is_empty())
        .unwrap_or_else(|| "./baton-worktrees".into());
    let dir = PathBuf::from(dir);
    if dir.is_absolute() { dir } else { std::env::current_dir().map(|c| c.join(&dir)).unwrap_or(dir) }
}

/// Arguments of `cleanup_my_worktrees` (stdio only: the worktrees are on
/// this machine).
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CleanupArgs {
    /// Absolute path of the worktrees directory of `baton worker` (default: `BATON_WORKER_WORKTREES`, else `./baton-worktrees` of this process).
    #[serde(default)]
    worktrees_dir: Option<String>,
}

impl CleanupArgs {
    /// The directory to clean.
    pub fn dir(&self) -> PathBuf {
        match self.worktrees_dir.as_deref().map(str::trim).filter(|d| !d.is_empty()) {
            Some(d) => PathBuf::from(d),
            None => default_dir(),
        }
    }
}

/// The answer of `cleanup_my_worktrees`.
pub fn cleanup_result(dir: &Path, entries: Vec<CleanupEntry>) -> serde_json::Value {
    let removed = entries.iter().filter(|e| e.removed).count();
    serde_json::json!({"worktrees_dir": dir.to_string_lossy(), "removed": removed,
        "kept": entries.len() - removed, "worktrees": entries})
}

/// Job statuses from the local services.
struct LocalJobs<'a>(&'a crate::tools::Cx<'a>);

impl JobLookup for LocalJobs<'_> {
    async fn job_status(&self, job_id: &str) -> Option<String> {
        self.0.app.get_job(self.0.actor, job_id).await.ok().map(|j| j.status)
    }
}

/// `cleanup_my_worktrees` on the database (`baton mcp` without `--url`).
pub(crate) async fn cleanup_tool(cx: &crate::tools::Cx<'_>, args: serde_json::Value) -> AppResult<serde_json::Value> {
    let a: CleanupArgs = crate::tools::parse(args)?;
    let dir = a.dir();
    let entries = cleanup_worktrees(&dir, &cx.actor.user_id, &LocalJobs(cx)).await?;
    Ok(cleanup_result(&dir, entries))
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Fixed(&'static str);
    impl JobLookup for Fixed {
        async fn job_status(&self, _: &str) -> Option<String> {
            Some(self.0.to_string())
        }
    }

    #[tokio::test]
    async fn scratch_dirs_of_finished_jobs_go_and_others_stay() {
        let dir = std::env::temp_dir().join(format!("baton-wt-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("j1")).expect("mkdir");
        std::fs::create_dir_all(dir.join("j2")).expect("mkdir");
        let rec = |job: &str, user: &str| WorktreeRecord {
            job_id: job.into(),
            user_id: user.into(),
            kind: "idea_grill".into(),
            branch: None,
            base_sha: None,
            repo_cache: None,
        };
        rec("j1", "u").write(&dir, "j1").expect("write");
        rec("j2", "other").write(&dir, "j2").expect("write");
        let running = cleanup_worktrees(&dir, "u", &Fixed("running")).await.expect("cleanup");
        assert_eq!(running.len(), 1, "only the caller's: {running:?}");
        assert!(!running[0].removed && running[0].reason == "kept: the job is running", "{running:?}");
        let done = cleanup_worktrees(&dir, "u", &Fixed("done")).await.expect("cleanup");
        assert!(done[0].removed, "{done:?}");
        assert!(!dir.join("j1").exists() && !WorktreeRecord::path(&dir, "j1").exists());
        assert!(dir.join("j2").exists(), "another user's worktree is untouched");
        let e = cleanup_worktrees(Path::new("rel"), "u", &Fixed("done")).await.expect_err("relative");
        assert!(format!("{e:?}").contains("worktrees_dir"), "{e:?}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn the_tool_is_offered_over_stdio_in_the_all_profile_only() {
        use crate::{Profile, Transport, stdio::stdio_tool};
        let tool = stdio_tool("cleanup_my_worktrees", Profile::All).expect("offered over stdio");
        let props = tool.input_schema.get("properties").and_then(serde_json::Value::as_object).expect("properties");
        assert!(props.contains_key("worktrees_dir"), "{props:?}");
        assert!(stdio_tool("cleanup_my_worktrees", Profile::Core).is_none(), "core stays small");
        assert!(
            crate::tools::find("cleanup_my_worktrees", Profile::All, Transport::Http).is_none(),
            "no worktrees over HTTP"
        );
        let a: CleanupArgs = crate::tools::parse(serde_json::json!({"worktrees_dir": "/w"})).expect("args");
        assert_eq!(a.dir(), PathBuf::from("/w"));
        let e = crate::tools::parse::<CleanupArgs>(serde_json::json!({"dir": "/w"})).expect_err("unknown field");
        assert!(format!("{e:?}").contains("dir"), "{e:?}");
    }
}
