//! The stdio transport's local git: the diff of a worktree against the
//! job's base commit, or against the remote's default branch (resolved with
//! `git symbolic-ref refs/remotes/origin/HEAD`, never assumed to be `main`),
//! and pushing the worktree's branch when a job is reported done (reference
//! §3.5). Used by `baton mcp` with a local database and when it forwards to
//! a remote server: the worktree is always on the agent's machine.

use std::path::Path;

use baton_app::{AppError, AppResult};
use tokio::process::Command;

/// Runs `git -C dir args` without a terminal (a credential prompt fails
/// instead of hanging); its stdout, or why it failed (the command and the
/// start of its stderr). Shared by the stdio tools, `baton worker` and the
/// worktree cleanup.
pub async fn run(dir: &Path, args: &[&str]) -> Result<String, String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .env("GIT_TERMINAL_PROMPT", "0")
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true)
        .output()
        .await
        .map_err(|e| format!("cannot run git: {e}"))?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let first: String = stderr.trim().chars().take(200).collect();
        return Err(format!("git {} failed: {first}", args.join(" ")));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// [`run`] with its output trimmed (refs, hashes, one-line answers).
pub async fn text(dir: &Path, args: &[&str]) -> Result<String, String> {
    run(dir, args).await.map(|s| s.trim().to_string())
}

async fn git(dir: &Path, args: &[&str]) -> AppResult<String> {
    run(dir, args).await.map_err(|e| AppError::Conflict(format!("GIT_FAILED: {e}")))
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
    let dir = worktree_dir(worktree)?;
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

/// How long a `git push` may take before it counts as failed.
pub const PUSH_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(120);

/// What pushing a worktree did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PushOutcome {
    /// The branch was created or moved on the remote.
    Pushed,
    /// Nothing to push: the remote branch already is at HEAD ("Everything
    /// up-to-date"), or HEAD has no commits beyond the base.
    NothingToPush,
    /// The push failed; the message is the job's error,
    /// `push failed (<reason>): <first 200 characters of stderr>`.
    Failed(String),
}

/// A push of a worktree's HEAD: which branch, at which commit, and how it went.
#[derive(Debug, Clone)]
pub struct Push {
    /// The branch on `origin` (`refs/heads/<branch>`).
    pub branch: String,
    /// `git rev-parse HEAD` of the worktree.
    pub head_sha: String,
    /// What happened.
    pub outcome: PushOutcome,
}

/// A worktree path given by the agent: absolute and an existing directory.
pub fn worktree_dir(worktree: &str) -> AppResult<&Path> {
    let dir = Path::new(worktree);
    if !dir.is_absolute() || !dir.is_dir() {
        return Err(AppError::field("worktree_path", "must be an absolute path to an existing directory"));
    }
    Ok(dir)
}

/// The worktree's current branch, unless HEAD is detached or on the
/// remote's default branch (work is never pushed onto the default branch).
async fn current_work_branch(dir: &Path) -> Option<String> {
    let current = git(dir, &["symbolic-ref", "--short", "-q", "HEAD"]).await.ok()?.trim().to_string();
    if current.is_empty() {
        return None;
    }
    let protected = match default_branch(dir).await {
        Ok(d) => vec![d.strip_prefix("origin/").unwrap_or(&d).to_string()],
        Err(_) => vec!["main".to_string(), "master".to_string()],
    };
    (!protected.contains(&current)).then_some(current)
}

/// The branch to push: the reported one, else the worktree's current branch
/// (not the default branch), else `fallback` (the job's branch or
/// `feat/job-<last8>`). A reported name git refuses is a validation error.
pub async fn branch_to_push(dir: &Path, reported: Option<&str>, fallback: &str) -> AppResult<String> {
    if let Some(b) = reported.map(str::trim).filter(|b| !b.is_empty()) {
        let ok = !b.starts_with('-') && git(dir, &["check-ref-format", "--branch", b]).await.is_ok();
        if !ok {
            return Err(AppError::field("branch", "is not a valid git branch name"));
        }
        return Ok(b.to_string());
    }
    Ok(current_work_branch(dir).await.unwrap_or_else(|| fallback.to_string()))
}

/// The reason shown in a push failure, from git's stderr.
fn push_failure_reason(stderr: &str) -> &'static str {
    let s = stderr.to_ascii_lowercase();
    if s.contains("[rejected]") || s.contains("rejected") {
        "rejected"
    } else if s.contains("authentication failed")
        || s.contains("permission denied")
        || s.contains("could not read username")
        || s.contains("error: 403")
    {
        "authentication"
    } else if s.contains("does not appear to be a git repository")
        || s.contains("could not read from remote repository")
        || s.contains("unable to access")
        || s.contains("could not resolve host")
        || s.contains("no such remote")
    {
        "remote unreachable"
    } else {
        "git error"
    }
}

fn push_error(reason: &str, stderr: &str) -> String {
    let first: String = stderr.trim().chars().take(200).collect();
    format!("push failed ({reason}): {first}")
}

/// Pushes the worktree's HEAD to `origin` as `refs/heads/<branch>` (never
/// prompting for credentials, at most [`PUSH_TIMEOUT`]). With `base`, a
/// HEAD without commits beyond it is not pushed. Errors only when the
/// worktree is unusable (the job is then left as it is); a failed push is
/// [`PushOutcome::Failed`].
pub async fn push_head(dir: &Path, branch: &str, base: Option<&str>) -> AppResult<Push> {
    let head_sha = git(dir, &["rev-parse", "HEAD"]).await?.trim().to_string();
    let done = |outcome| Push { branch: branch.to_string(), head_sha: head_sha.clone(), outcome };
    if let Some(base) = base.map(str::trim).filter(|b| !b.is_empty() && !b.starts_with('-'))
        && let Ok(n) = git(dir, &["rev-list", "--count", &format!("{base}..HEAD")]).await
        && n.trim() == "0"
    {
        return Ok(done(PushOutcome::NothingToPush));
    }
    let mut cmd = Command::new("git");
    cmd.arg("-C")
        .arg(dir)
        .args(["push", "--porcelain", "origin", &format!("HEAD:refs/heads/{branch}")])
        // An agent has no terminal: a credential prompt must fail, not hang.
        .env("GIT_TERMINAL_PROMPT", "0")
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true);
    if std::env::var_os("GIT_SSH_COMMAND").is_none() {
        cmd.env("GIT_SSH_COMMAND", "ssh -o BatchMode=yes");
    }
    let out = match tokio::time::timeout(PUSH_TIMEOUT, cmd.output()).await {
        Err(_) => {
            let msg = format!("push failed (timed out): no answer within {} s", PUSH_TIMEOUT.as_secs());
            return Ok(done(PushOutcome::Failed(msg)));
        }
        Ok(Err(e)) => return Ok(done(PushOutcome::Failed(push_error("cannot run git", &e.to_string())))),
        Ok(Ok(out)) => out,
    };
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        let reason = push_failure_reason(&format!("{stderr}\n{stdout}"));
        let text = if stderr.trim().is_empty() { stdout.to_string() } else { stderr.to_string() };
        return Ok(done(PushOutcome::Failed(push_error(reason, &text))));
    }
    // `--porcelain` marks an up-to-date ref with `=`.
    let up_to_date =
        stderr.contains("Everything up-to-date") || stdout.lines().any(|l| l.starts_with("=\t") || l.starts_with("= "));
    Ok(done(if up_to_date { PushOutcome::NothingToPush } else { PushOutcome::Pushed }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn push_failures_name_a_reason_and_keep_200_characters() {
        assert_eq!(push_failure_reason(" ! [rejected] HEAD -> x (non-fast-forward)"), "rejected");
        assert_eq!(push_failure_reason("fatal: '/nope' does not appear to be a git repository"), "remote unreachable");
        assert_eq!(push_failure_reason("remote: Permission denied to bot."), "authentication");
        assert_eq!(push_failure_reason("something else"), "git error");
        // Digits in a path are not an HTTP status.
        assert_eq!(
            push_failure_reason("fatal: '/tmp/x-c403b6/gone.git' does not appear to be a git repository"),
            "remote unreachable"
        );
        assert_eq!(push_failure_reason("The requested URL returned error: 403"), "authentication");
        let long = "e".repeat(500);
        let msg = push_error("rejected", &long);
        assert_eq!(msg, format!("push failed (rejected): {}", "e".repeat(200)));
    }
}
