//! Where a job's command runs (reference §3.4 worktree rules, adapted):
//!
//! - Each repository is cloned once under `<worktrees>/.repos/` (a plain
//!   clone without checkout, so `origin` and `origin/HEAD` exist in every
//!   worktree made from it) and fetched before each job.
//! - Task and sprint jobs get `git worktree add <worktrees>/<name> -B
//!   <branch>` where the branch is the payload's (`branch_name` of a sprint
//!   batch, else the job's recorded branch, else `branch_suggestion`),
//!   started from `origin/<branch>` when that branch exists (a sibling's or
//!   a resumed run's work is reused), else from the remote's default branch
//!   (resolved, never assumed to be `main`). When git refuses the branch
//!   (checked out in another live worktree), the worktree is detached at the
//!   same commit: the branch is pushed by name either way.
//! - Idea jobs (and other kinds without a branch) get a detached worktree at
//!   the default branch when the product has a repository (the agent reads
//!   the code; nothing is pushed), else an empty scratch directory.
//! - The repository is the task's `repo_url` override, else the payload's,
//!   else the product's.

use std::{
    collections::HashMap,
    path::{Path, PathBuf},
    sync::{Arc, Mutex},
};

use baton_mcp::git::text as git;
use serde_json::Value;

/// A job's working directory, ready for the command.
#[derive(Debug, Clone)]
pub(super) struct Place {
    /// The directory (a worktree or a scratch directory).
    pub(super) dir: PathBuf,
    /// The branch to push to (task and sprint jobs).
    pub(super) branch: Option<String>,
    /// HEAD when the worktree was made.
    pub(super) base_sha: Option<String>,
    /// The clone the worktree belongs to.
    pub(super) repo_cache: Option<PathBuf>,
}

/// One lock per repository clone, so two slots never fetch or add
/// worktrees in the same clone at once.
#[derive(Default)]
pub(super) struct Repos(Mutex<HashMap<PathBuf, Arc<tokio::sync::Mutex<()>>>>);

impl Repos {
    fn lock_for(&self, cache: &Path) -> Arc<tokio::sync::Mutex<()>> {
        match self.0.lock() {
            Ok(mut m) => m.entry(cache.to_path_buf()).or_default().clone(),
            Err(_) => Arc::default(),
        }
    }
}

fn non_empty(v: &Value) -> Option<String> {
    v.as_str().map(str::trim).filter(|s| !s.is_empty()).map(str::to_string)
}

/// The repository of a claim: task override, payload, product.
pub(super) fn repo_url(payload: &Value) -> Option<String> {
    non_empty(&payload["task"]["repo_url"])
        .or_else(|| non_empty(&payload["repo_url"]))
        .or_else(|| non_empty(&payload["product"]["repo_url"]))
}

/// Whether the job's work is committed on a branch and pushed.
pub(super) fn has_branch(kind: &str) -> bool {
    matches!(kind, "task_implementation" | "sprint_implementation")
}

/// The branch a task or sprint job works on.
pub(super) fn branch_of(payload: &Value) -> Option<String> {
    non_empty(&payload["branch_name"])
        .or_else(|| non_empty(&payload["job"]["branch"]))
        .or_else(|| non_empty(&payload["branch_suggestion"]))
}

/// The directory name of a repository's clone: readable and unique.
fn cache_name(url: &str) -> String {
    let tail: String = url
        .trim_end_matches('/')
        .trim_end_matches(".git")
        .rsplit(['/', ':'])
        .next()
        .unwrap_or("repo")
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '_' })
        .take(60)
        .collect();
    // FNV-1a: stable across runs and versions (unlike std's hasher).
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in url.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{tail}-{h:016x}")
}

/// Clones `url` into `cache` or fetches it; leaves `origin/HEAD` resolved.
async fn refresh(cache: &Path, url: &str) -> Result<(), String> {
    if cache.join(".git").exists() {
        git(cache, &["fetch", "-q", "--prune", "origin"]).await?;
        // The remote's default branch may have changed since the clone.
        if let Err(e) = git(cache, &["remote", "set-head", "origin", "--auto"]).await {
            tracing::debug!(error = %e, "origin/HEAD not refreshed");
        }
        let _ = git(cache, &["worktree", "prune"]).await;
        return Ok(());
    }
    let parent = cache.parent().ok_or("the clone has no parent directory")?;
    std::fs::create_dir_all(parent).map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
    let dest = cache.to_string_lossy().to_string();
    git(parent, &["clone", "-q", "--no-checkout", "--", url, &dest]).await?;
    Ok(())
}

/// Makes the working directory `<root>/<name>` for the claim `payload`.
pub(super) async fn prepare(root: &Path, repos: &Repos, payload: &Value, name: &str) -> Result<Place, String> {
    let kind = payload["kind"].as_str().unwrap_or_default();
    let dir = root.join(name);
    let Some(url) = repo_url(payload) else {
        if has_branch(kind) {
            return Err("the job has no repository: set the product's repo_url (or the task's)".into());
        }
        std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        return Ok(Place { dir, branch: None, base_sha: None, repo_cache: None });
    };
    let cache = root.join(".repos").join(cache_name(&url));
    let lock = repos.lock_for(&cache);
    let _guard = lock.lock().await;
    refresh(&cache, &url).await?;
    let default = baton_mcp::git::default_branch(&cache).await.map_err(|e| e.to_string())?;
    let path = dir.to_string_lossy().to_string();
    let branch = if has_branch(kind) { branch_of(payload) } else { None };
    match &branch {
        Some(b) => {
            if b.starts_with('-') || git(&cache, &["check-ref-format", "--branch", b]).await.is_err() {
                return Err(format!("the job's branch {b:?} is not a valid branch name"));
            }
            let remote = format!("origin/{b}");
            let start =
                if git(&cache, &["rev-parse", "--verify", "-q", &format!("refs/remotes/{remote}")]).await.is_ok() {
                    remote
                } else {
                    default.clone()
                };
            if let Err(e) = git(&cache, &["worktree", "add", "-q", "--no-track", "-B", b, &path, &start]).await {
                tracing::info!(branch = %b, error = %e, "branch busy; using a detached worktree");
                git(&cache, &["worktree", "add", "-q", "--detach", &path, &start]).await?;
            }
        }
        None => {
            git(&cache, &["worktree", "add", "-q", "--detach", &path, &default]).await?;
        }
    }
    let base = git(&dir, &["rev-parse", "HEAD"]).await?;
    Ok(Place { dir, branch, base_sha: Some(base), repo_cache: Some(cache) })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn the_repository_and_branch_come_from_the_payload_in_order() {
        let p = json!({"task": {"repo_url": "https://h/t/over.git"}, "product": {"repo_url": "https://h/t/prod.git"},
            "branch_suggestion": "feat/job-1", "job": {"branch": null}});
        assert_eq!(repo_url(&p).as_deref(), Some("https://h/t/over.git"));
        assert_eq!(branch_of(&p).as_deref(), Some("feat/job-1"));
        let p = json!({"task": {"repo_url": " "}, "product": {"repo_url": "git@h:t/prod.git"},
            "branch_name": "feat/sprint-1", "branch_suggestion": "x"});
        assert_eq!(repo_url(&p).as_deref(), Some("git@h:t/prod.git"));
        assert_eq!(branch_of(&p).as_deref(), Some("feat/sprint-1"));
        assert_eq!(repo_url(&json!({"product": {"repo_url": null}})), None);
        assert!(has_branch("task_implementation") && !has_branch("idea_grill"));
    }

    #[test]
    fn clone_names_are_readable_and_unique_per_url() {
        let a = cache_name("https://git.example.com/team/engine.git");
        assert!(a.starts_with("engine-"), "{a}");
        assert_ne!(a, cache_name("https://git.example.com/other/engine.git"));
        assert!(cache_name("git@h:t/we ird.git").starts_with("we_ird-"));
    }
}
