//! The stdio transport's local git: the diff of a worktree against the
//! job's base commit, or against the remote's default branch (resolved with
//! `git symbolic-ref refs/remotes/origin/HEAD`, never assumed to be `main`).

use std::path::Path;

use baton_app::{AppError, AppResult};
use tokio::process::Command;

async fn git(dir: &Path, args: &[&str]) -> AppResult<String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .kill_on_drop(true)
        .output()
        .await
        .map_err(|e| AppError::Conflict(format!("GIT_FAILED: cannot run git: {e}")))?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let first: String = stderr.trim().chars().take(200).collect();
        return Err(AppError::Conflict(format!("GIT_FAILED: git {} failed: {first}", args.join(" "))));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The remote default branch as a ref (`origin/main`, `origin/trunk`, …).
pub async fn default_branch(dir: &Path) -> AppResult<String> {
    let r = git(dir, &["symbolic-ref", "--short", "refs/remotes/origin/HEAD"]).await.map_err(|_| {
        AppError::Conflict(
            "NO_DEFAULT_BRANCH: origin/HEAD is not set in this worktree; run `git remote set-head origin --auto` \
             or pass `base`"
                .into(),
        )
    })?;
    Ok(r.trim().to_string())
}

/// `git diff <base>...HEAD` in `worktree`; `base` defaults to the remote's
/// default branch. Returns the diff and the base used.
pub async fn diff_against(worktree: &str, base: Option<&str>) -> AppResult<(String, String)> {
    let dir = Path::new(worktree);
    if !dir.is_absolute() || !dir.is_dir() {
        return Err(AppError::field("worktree_path", "must be an absolute path to an existing directory"));
    }
    let base = match base.map(str::trim).filter(|b| !b.is_empty()) {
        Some(b) => {
            if b.starts_with('-') {
                return Err(AppError::field("base", "must be a commit or ref"));
            }
            b.to_string()
        }
        None => default_branch(dir).await?,
    };
    let diff = git(dir, &["diff", "--no-color", "--no-ext-diff", &format!("{base}...HEAD")]).await?;
    Ok((diff, base))
}
