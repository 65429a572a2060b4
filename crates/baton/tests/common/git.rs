//! Git fixtures of the end-to-end tests: a worktree with a bare local
//! `origin`, whose one commit on top of the base matches [`PLAN`].

use std::path::{Path, PathBuf};

/// The plan of the tasks the workers work on; the worktree's diff matches it.
pub const PLAN: &str = "Change `src/engine.rs` to add ignition.";

/// Runs git in `dir`; must succeed. Its trimmed standard output.
pub fn git(dir: &Path, args: &[&str]) -> String {
    let out = std::process::Command::new("git").arg("-C").arg(dir).args(args).output().expect("run git");
    assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).expect("git output is UTF-8").trim().to_string()
}

/// Whether `git rev-parse` finds `rev` in `dir`.
pub fn has_ref(dir: &Path, rev: &str) -> bool {
    std::process::Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["rev-parse", "--verify", "-q", rev])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// A clone-like worktree at `root` on branch `branch` with a real (bare,
/// local) `origin` (returned) whose default branch `trunk` is the base
/// commit; one commit on top changes exactly the file of [`PLAN`].
pub fn make_worktree(root: &Path, branch: &str) -> PathBuf {
    let origin = root.with_extension("origin.git");
    std::fs::create_dir_all(&origin).expect("create the origin");
    git(&origin, &["init", "-q", "--bare", "-b", "trunk"]);
    std::fs::create_dir_all(root.join("src")).expect("create the worktree");
    git(root, &["init", "-q", "-b", branch]);
    git(root, &["config", "user.email", "e2e@example.com"]);
    git(root, &["config", "user.name", "e2e"]);
    std::fs::write(root.join("src/engine.rs"), "fn main() {}\n").expect("write");
    git(root, &["add", "."]);
    git(root, &["commit", "-q", "-m", "base"]);
    git(root, &["remote", "add", "origin", origin.to_str().expect("utf-8 path")]);
    git(root, &["push", "-q", "origin", "HEAD:refs/heads/trunk"]);
    git(root, &["fetch", "-q", "origin"]);
    git(root, &["remote", "set-head", "origin", "trunk"]);
    std::fs::write(root.join("src/engine.rs"), "fn main() {}\nfn ignite() {}\n").expect("write");
    git(root, &["commit", "-q", "-am", "ignite"]);
    origin
}
