//! `baton worker` with real processes (issue 11, "`baton worker` — the
//! built-in runner"): a real `baton serve`, real `baton worker` processes
//! running a small sh script as the agent, and a real bare git origin in a
//! temp dir. The product's repository URL is an https URL that git rewrites
//! to the local origin (`url.<dir>/.insteadOf`, given to the worker through
//! `GIT_CONFIG_*`), exactly as a user's git config would. On SQLite and
//! Postgres.
//!
//! 1. A bad token or an unreachable server: one `error:` line, exit 2.
//! 2. With `--jobs 2`: a task job is committed in its worktree, its branch
//!    pushed to origin and reported done with the command's last lines and
//!    its usage file; a command exiting 3 fails its job with "exit status 3"
//!    and the last lines; two jobs run at the same time. A worker whose
//!    `--quota-cmd` says 5 % claims nothing. `--cleanup` removes the
//!    finished, pushed worktree and keeps the one with an unpushed commit.
//!    SIGTERM: the worker goes offline and exits 0.
//! 3. A sprint run (story strategy) of two tasks: both jobs run one after
//!    the other on the shared `feat/story-…` branch (the second worktree
//!    starts from the pushed first commit), the story and the run are done.
//! 4. With a 2 s lease: a job cancelled over REST while its command sleeps
//!    has the command stopped within the grace period and stays cancelled;
//!    a worker killed with SIGKILL mid-job loses the job when the lease ends
//!    and a second worker completes it as attempt 1. SIGTERM lets a running
//!    job finish and be reported, then the worker exits 0; a second signal
//!    stops the command and hands the job back (the lease lapses and the
//!    job is queued again).

mod common;

use std::{
    path::{Path, PathBuf},
    process::Stdio,
    time::{Duration, Instant},
};

use baton_testkit::backend_tests;
use common::{git::*, mcp::*, *};
use serde_json::{Value, json};
use tokio::process::Child;

/// Where the product's repository URL points (rewritten to the local origin).
const REPO_URL: &str = "https://git.example.test/team/engine.git";
/// Global flags of the lease test: a 2 s lease, a 100 ms safety poll.
const SHORT_LEASE: &[&str] = &["--job-lease-seconds", "2", "--job-wait-poll-ms", "100"];

/// The agent: a sh script choosing its behaviour by the task title in the
/// payload. It writes its pid to `<marks>/<job>.pid` first.
fn agent_script(marks: &Path) -> String {
    format!(
        r#"set -e
p="$BATON_PAYLOAD_PATH"
marks="{marks}"
echo "$$" > "$marks/$BATON_JOB_ID.pid"
commit() {{ printf 'fn ignite() {{}}\n' >> src/engine.rs; git commit -q -am "ignite $BATON_JOB_ID"; }}
if grep -q 'Ignite-broken' "$p"; then commit; echo "building the engine"; echo "error: the engine broke" >&2; exit 3; fi
if grep -q 'Ignite-sleepy' "$p"; then exec sleep 120; fi
if grep -q 'Ignite-crashy' "$p" && [ "$BATON_JOB_ATTEMPT" = 0 ]; then exec sleep 120; fi
if grep -q 'Ignite-slow' "$p"; then sleep 3; fi
if grep -q 'Ignite-pair' "$p"; then
  touch "$marks/$BATON_JOB_ID.start"
  i=0
  while [ "$(ls "$marks" | grep -c '\.start$')" -lt 2 ]; do
    i=$((i+1)); if [ $i -gt 150 ]; then echo "ran alone"; exit 4; fi; sleep 0.2
  done
fi
commit
printf '{{"model_id":"claude-test","input_tokens":120,"output_tokens":30,"cache_read_tokens":7,"cache_write_tokens":2}}' > "$BATON_USAGE_PATH"
echo "engine ignited in $(basename "$PWD")"
echo "all checks passed"
"#,
        marks = marks.display()
    )
}

/// A bare origin at `<dir>/team/engine.git` with default branch `trunk`
/// holding `src/engine.rs`; returns its path.
fn origin(dir: &Path) -> PathBuf {
    let origin = dir.join("team/engine.git");
    std::fs::create_dir_all(&origin).expect("create the origin");
    git(&origin, &["init", "-q", "--bare", "-b", "trunk"]);
    let seed = dir.join("seed");
    std::fs::create_dir_all(seed.join("src")).expect("create the seed");
    git(&seed, &["init", "-q", "-b", "trunk"]);
    std::fs::write(seed.join("src/engine.rs"), "fn main() {}\n").expect("write");
    git(&seed, &["add", "."]);
    git(&seed, &["-c", "user.name=seed", "-c", "user.email=seed@example.com", "commit", "-q", "-m", "base"]);
    git(&seed, &["push", "-q", origin.to_str().expect("utf-8"), "HEAD:refs/heads/trunk"]);
    origin
}

/// A `baton worker` child process.
struct WorkerProc {
    child: Child,
    pid: u32,
    log: PathBuf,
    instance: String,
}

impl WorkerProc {
    /// Starts `baton worker` against `server` with the agent script of
    /// `dir`, worktrees in `<dir>/<instance>-wt`, heartbeats every second and
    /// a 2 s grace period, git rewriting [`REPO_URL`] to the origin in `dir`.
    fn start(dir: &Path, server: &Server, token: &str, instance: &str, extra: &[&str]) -> WorkerProc {
        let log = dir.join(format!("worker-{instance}.log"));
        let file = std::fs::File::create(&log).expect("create the worker log");
        let out = file.try_clone().expect("clone the log handle");
        let wt = dir.join(format!("{instance}-wt"));
        let script = dir.join("agent.sh");
        let mut cmd = command(dir);
        cmd.args(["worker", "--url", &server.base, "--exec", &format!("sh {}", script.display())])
            .args(["--worktrees", wt.to_str().expect("utf-8"), "--grace", "2", "--instance-id", instance])
            .args(extra)
            .env("BATON_TOKEN", token)
            .env("BATON_WORKER_HEARTBEAT_SECS", "1")
            .env("BATON_WORKER_QUOTA_RETRY_SECS", "1")
            .env("BATON_LOG", "info")
            .envs(git_env(dir))
            .stdin(Stdio::null())
            .stdout(Stdio::from(out))
            .stderr(Stdio::from(file));
        let child = cmd.spawn().expect("spawn baton worker");
        let pid = child.id().expect("pid");
        WorkerProc { child, pid, log, instance: instance.to_string() }
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Sends SIGTERM and waits for the exit status.
    async fn terminate(&mut self, within: Duration) -> std::process::ExitStatus {
        signal(self.pid, "TERM");
        tokio::time::timeout(within, self.child.wait())
            .await
            .unwrap_or_else(|_| panic!("worker did not stop within {within:?}; log:\n{}", self.log_text()))
            .expect("wait for the worker")
    }
}

/// The environment making git rewrite [`REPO_URL`] to `dir` and commit as a test user.
fn git_env(dir: &Path) -> Vec<(String, String)> {
    vec![
        ("GIT_CONFIG_COUNT".into(), "1".into()),
        ("GIT_CONFIG_KEY_0".into(), format!("url.{}/.insteadOf", dir.display())),
        ("GIT_CONFIG_VALUE_0".into(), "https://git.example.test/".into()),
        ("GIT_AUTHOR_NAME".into(), "agent".into()),
        ("GIT_AUTHOR_EMAIL".into(), "agent@example.com".into()),
        ("GIT_COMMITTER_NAME".into(), "agent".into()),
        ("GIT_COMMITTER_EMAIL".into(), "agent@example.com".into()),
    ]
}

fn signal(pid: u32, sig: &str) {
    let _ = std::process::Command::new("kill").args(["-s", sig, &pid.to_string()]).status();
}

/// Runs `baton worker <args>` to completion with `token` (for start errors and `--cleanup`).
async fn run_worker(dir: &Path, token: &str, args: &[&str]) -> Run {
    let mut cmd = command(dir);
    cmd.arg("worker").args(args).env("BATON_TOKEN", token).envs(git_env(dir));
    let out = tokio::time::timeout(CLI_TIMEOUT, cmd.output()).await.expect("baton worker finishes").expect("run");
    Run {
        status: out.status,
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// A product `code` whose repository is [`REPO_URL`], with an open sprint
/// and a story; returns the story id.
async fn product(rest: &mut Rest, code: &str) -> String {
    let story = backlog(rest, code).await;
    let s = rest.get_ok(&format!("/api/stories/{story}")).await;
    let pbi = rest.get_ok(&format!("/api/pbis/{}", s["pbi_id"].as_str().expect("pbi id"))).await;
    let pid = pbi["product_id"].as_str().expect("product id");
    let r = rest.send("PATCH", &format!("/api/products/{pid}"), Some(&json!({"repo_url": REPO_URL}))).await;
    assert_eq!(r.status, 200, "set the repo URL: {r:?}");
    story
}

/// Polls the job until `pred` holds (or fails after `within`); the job.
async fn wait_job(rest: &mut Rest, id: &str, within: Duration, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
    let start = Instant::now();
    loop {
        let job = rest.get_ok(&format!("/api/jobs/{id}")).await;
        if pred(&job) {
            return job;
        }
        assert!(start.elapsed() < within, "{what}: job not there within {within:?}: {job}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn finished(j: &Value) -> bool {
    matches!(j["status"].as_str(), Some("done" | "failed" | "cancelled"))
}

/// Whether `pid` runs: it exists and is not a zombie (a stopped command's
/// children are reparented to PID 1, which may reap them late).
fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| s.rsplit_once(')').map(|(_, rest)| rest.trim_start().starts_with('Z')))
        .is_some_and(|zombie| !zombie)
}

/// The pid the agent script wrote for `job`, waiting for it.
async fn agent_pid(marks: &Path, job: &str) -> u32 {
    let f = marks.join(format!("{job}.pid"));
    let start = Instant::now();
    loop {
        if let Some(pid) = std::fs::read_to_string(&f).ok().and_then(|s| s.trim().parse().ok()) {
            return pid;
        }
        assert!(start.elapsed() < Duration::from_secs(60), "the agent of {job} never started");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

backend_tests! {
    async fn a_bad_token_or_an_unreachable_server_is_one_line_and_exit_2(t) {
        let (baton, server, _tokens) = agent_server(&t.url, &["rest"]).await;
        let dir = baton.scratch.path.clone();
        let bad = run_worker(&dir, "baton_not-a-token", &["--url", &server.base, "--exec", "true"]).await;
        let line = bad.one_error_line();
        assert!(line.contains("BATON_TOKEN refused"), "{line}");
        assert_eq!(bad.status.code(), Some(2), "{bad:?}");
        let gone = run_worker(&dir, "baton_x", &["--url", "http://127.0.0.1:9", "--exec", "true"]).await;
        let line = gone.one_error_line();
        assert!(line.contains("cannot reach Baton at http://127.0.0.1:9"), "{line}");
        assert_eq!(gone.status.code(), Some(2), "{gone:?}");
    }

    async fn jobs_are_run_in_worktrees_pushed_and_reported_and_cleanup_keeps_unpushed_work(t) {
        let (baton, server, tokens) = agent_server(&t.url, &["rest", "worker"]).await;
        let dir = baton.scratch.path.clone();
        let origin = origin(&dir);
        let marks = dir.join("marks");
        std::fs::create_dir_all(&marks).expect("marks");
        std::fs::write(dir.join("agent.sh"), agent_script(&marks)).expect("script");
        let mut rest = Rest::new(server.port, &tokens[0]);
        let story = product(&mut rest, "WRK").await;

        // Below the minimum quota (the user's default 20 %) nothing is claimed.
        let (_, ok_job) = task_with_job(&mut rest, &story, "Ignite-ok").await;
        let mut low = WorkerProc::start(&dir, &server, &tokens[1], "low", &["--quota-cmd", "echo 5%"]);
        let start = Instant::now();
        loop {
            if worker(&mut rest, "low").await.is_some_and(|w| w["last_quota_pct"] == 5) {
                break;
            }
            assert!(start.elapsed() < Duration::from_secs(30), "quota never reported; log:\n{}", low.log_text());
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
        assert_eq!(rest.get_ok(&format!("/api/jobs/{ok_job}")).await["status"], "queued", "{}", low.log_text());
        assert_eq!(low.terminate(Duration::from_secs(20)).await.code(), Some(0), "{}", low.log_text());
        assert!(worker(&mut rest, "low").await.is_none(), "offline after SIGTERM");

        // Two slots: the good job and the broken one (in another product: a
        // failed task cancels its PBI's other jobs, reference §4.6).
        let other = product(&mut rest, "WRF").await;
        let (_, broken_job) = task_with_job(&mut rest, &other, "Ignite-broken").await;
        let mut w = WorkerProc::start(&dir, &server, &tokens[1], "w2", &["--jobs", "2", "--quota-cmd", "echo 80"]);
        let done = wait_job(&mut rest, &ok_job, Duration::from_secs(90), "ok", finished).await;
        assert_eq!(done["status"], "done", "{done}\nlog:\n{}", w.log_text());
        let branch = done["branch"].as_str().expect("branch").to_string();
        assert!(branch.starts_with("feat/job-"), "{done}");
        let head = git(&origin, &["rev-parse", &format!("refs/heads/{branch}")]);
        assert_eq!(done["head_sha"].as_str(), Some(head.as_str()), "the pushed branch is the reported head: {done}");
        assert!(done["pushed_at"].is_string(), "{done}");
        assert_ne!(done["base_sha"], done["head_sha"], "{done}");
        assert_eq!(git(&origin, &["rev-parse", &format!("{head}~1")]), git(&origin, &["rev-parse", "trunk"]),
            "one commit on top of the default branch");
        let summary = done["summary"].as_str().unwrap_or_default();
        assert!(summary.ends_with("all checks passed") && summary.contains("engine ignited in"), "{summary}");
        assert_eq!(done["verify_result"], "aligned", "{done}");
        assert_eq!((done["model_id"].as_str(), done["input_tokens"].as_i64(), done["output_tokens"].as_i64(),
            done["cache_read_tokens"].as_i64(), done["cache_write_tokens"].as_i64()),
            (Some("claude-test"), Some(120), Some(30), Some(7), Some(2)), "usage: {done}");
        assert_eq!(done["worker_instance_id"], "w2", "{done}");
        let wt = dir.join("w2-wt");
        assert!(wt.join(ok_job.as_str()).join("src/engine.rs").exists(), "the worktree is kept until cleanup");
        let payload: Value = serde_json::from_str(&std::fs::read_to_string(wt.join(format!("{ok_job}.payload.json"))).expect("payload file")).expect("json");
        assert_eq!(payload["job_id"], ok_job.as_str());

        let failed = wait_job(&mut rest, &broken_job, Duration::from_secs(60), "broken", finished).await;
        assert_eq!(failed["status"], "failed", "{failed}");
        let error = failed["error"].as_str().unwrap_or_default();
        assert!(error.starts_with("exit status 3\n"), "{error}");
        assert!(error.contains("building the engine") && error.contains("error: the engine broke"), "{error}");
        assert!(failed["pushed_at"].is_null(), "{failed}");

        // Two at once: each command waits for the other to have started.
        let (_, pair1) = task_with_job(&mut rest, &story, "Ignite-pair one").await;
        let (_, pair2) = task_with_job(&mut rest, &story, "Ignite-pair two").await;
        for id in [&pair1, &pair2] {
            let j = wait_job(&mut rest, id, Duration::from_secs(90), "pair", finished).await;
            assert_eq!(j["status"], "done", "both ran at the same time: {j}\nlog:\n{}", w.log_text());
        }

        // Cleanup: the pushed, finished worktree goes; the failed one with an
        // unpushed commit stays, and says why.
        let wt_arg = wt.to_str().expect("utf-8").to_string();
        let run = run_worker(&dir, &tokens[1], &["--url", &server.base, "--worktrees", &wt_arg, "--cleanup"]).await;
        run.success();
        assert!(!wt.join(ok_job.as_str()).exists(), "{}", run.stdout);
        assert!(wt.join(broken_job.as_str()).join("src/engine.rs").exists(), "{}", run.stdout);
        let kept = run.stdout.lines().find(|l| l.contains(broken_job.as_str())).unwrap_or_default();
        assert!(kept.starts_with("kept ") && kept.contains("1 unpushed commit(s)"), "{}", run.stdout);
        assert!(run.stdout.lines().any(|l| l.starts_with("removed ") && l.contains(ok_job.as_str())), "{}", run.stdout);

        // The same cleanup as a `baton mcp` tool (on the database, then
        // forwarding): kept while the commit is only here, removed once pushed.
        let args = json!({"worktrees_dir": wt_arg});
        let mut local = McpStdio::start(Mode::Local(&t.url), &dir, &tokens[1], &["--tools", "all", "--instance-id", "ml"]).await;
        let r = local.call("cleanup_my_worktrees", args.clone()).await;
        let r = r.ok("cleanup over stdio");
        assert_eq!((r["removed"].as_i64(), r["kept"].as_i64()), (Some(0), Some(1)), "{r}");
        assert!(r["worktrees"][0]["reason"].as_str().is_some_and(|x| x.contains("unpushed")), "{r}");
        local.close(Duration::from_secs(20)).await;
        let broken_wt = wt.join(broken_job.as_str());
        let rewrite = format!("url.{}/.insteadOf=https://git.example.test/", dir.display());
        git(&broken_wt, &["-c", &rewrite, "push", "-q", "origin", "HEAD:refs/heads/rescued"]);
        let mut fwd = McpStdio::start(Mode::Forward(&server.base), &dir, &tokens[1], &["--tools", "all", "--instance-id", "mf"]).await;
        assert!(fwd.tools().await.contains_key("cleanup_my_worktrees"), "listed when forwarding");
        let r = fwd.call("cleanup_my_worktrees", args).await;
        let r = r.ok("cleanup when forwarding");
        assert_eq!((r["removed"].as_i64(), r["kept"].as_i64()), (Some(1), Some(0)), "{r}");
        assert!(!broken_wt.exists(), "pushed and finished: removed");
        fwd.close(Duration::from_secs(20)).await;

        // A second signal stops a running command and hands its job back at
        // once (the lease here is the default 5 minutes: only the worker's
        // requeue can put it back in the queue this soon).
        let (_, sleepy) = task_with_job(&mut rest, &story, "Ignite-sleepy").await;
        let pid = agent_pid(&marks, &sleepy).await;
        wait_job(&mut rest, &sleepy, Duration::from_secs(30), "running", |j| j["status"] == "running").await;
        signal(w.pid, "TERM");
        tokio::time::sleep(Duration::from_millis(300)).await;
        let status = w.terminate(Duration::from_secs(30)).await;
        assert_eq!(status.code(), Some(0), "{}", w.log_text());
        let stopped = Instant::now();
        while process_exists(pid) {
            assert!(stopped.elapsed() < Duration::from_secs(5), "command {pid} still there; log:\n{}", w.log_text());
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let back = rest.get_ok(&format!("/api/jobs/{sleepy}")).await;
        assert_eq!((back["status"].as_str(), back["retry_count"].as_i64()), (Some("queued"), Some(1)), "{back}");
        assert!(back["claimed_at"].is_null() && back["lease_until"].is_null(), "claim cleared: {back}");
        assert!(worker(&mut rest, "w2").await.is_none(), "offline after SIGTERM");
        assert!(!w.log_text().contains("panicked"), "{}", w.log_text());
    }

    async fn a_sprint_run_is_completed_task_by_task_on_one_shared_branch(t) {
        let (baton, server, tokens) = agent_server(&t.url, &["rest", "worker"]).await;
        let dir = baton.scratch.path.clone();
        let origin = origin(&dir);
        let marks = dir.join("marks");
        std::fs::create_dir_all(&marks).expect("marks");
        std::fs::write(dir.join("agent.sh"), agent_script(&marks)).expect("script");
        let mut rest = Rest::new(server.port, &tokens[0]);
        let story = product(&mut rest, "RUN").await;
        for title in ["Ignite first", "Ignite second"] {
            rest.post_expect(&format!("/api/stories/{story}/tasks"), &json!({"title": title, "implementation_plan": PLAN}), 201).await;
        }
        let sprint = rest.get_ok(&format!("/api/stories/{story}")).await["sprint_id"].as_str().expect("sprint").to_string();
        let run = rest.post_expect(&format!("/api/sprints/{sprint}/runs"), &json!({"pr_strategy": "story"}), 201).await;
        let run_id = run["id"].as_str().or(run["run"]["id"].as_str()).expect("run id").to_string();
        let mut w = WorkerProc::start(&dir, &server, &tokens[1], "run", &[]);
        let start = Instant::now();
        let detail = loop {
            let d = rest.get_ok(&format!("/api/sprint-runs/{run_id}")).await;
            let status = d["status"].as_str().or(d["run"]["status"].as_str()).unwrap_or_default().to_string();
            if status != "queued" && status != "running" {
                break d;
            }
            assert!(start.elapsed() < Duration::from_secs(90), "run not finished: {d}\nlog:\n{}", w.log_text());
            tokio::time::sleep(Duration::from_millis(300)).await;
        };
        let status = detail["status"].as_str().or(detail["run"]["status"].as_str()).unwrap_or_default();
        assert_eq!(status, "done", "{detail}\nlog:\n{}", w.log_text());
        let jobs = rest.get_ok("/api/jobs").await;
        let jobs: Vec<Value> = jobs.as_array().cloned().or_else(|| jobs["items"].as_array().cloned()).expect("jobs list");
        let run_jobs: Vec<&Value> = jobs.iter().filter(|j| j["sprint_run_id"] == run_id.as_str()).collect();
        assert_eq!(run_jobs.len(), 2, "{jobs:?}");
        let branch = run_jobs[0]["branch"].as_str().expect("branch").to_string();
        assert!(branch.starts_with("feat/story-"), "{branch}");
        for j in &run_jobs {
            assert_eq!((j["status"].as_str(), j["branch"].as_str()), (Some("done"), Some(branch.as_str())), "{j}");
        }
        // Both commits are on the shared branch, one after the other, on top of trunk.
        let tip = git(&origin, &["rev-parse", &format!("refs/heads/{branch}")]);
        assert_eq!(git(&origin, &["rev-list", "--count", &format!("trunk..{tip}")]), "2");
        assert!(run_jobs.iter().any(|j| j["head_sha"] == tip.as_str()), "{run_jobs:?}");
        assert_eq!(rest.get_ok(&format!("/api/stories/{story}")).await["status"], "done");
        assert_eq!(w.terminate(Duration::from_secs(30)).await.code(), Some(0), "{}", w.log_text());
    }

    async fn a_cancelled_job_stops_its_command_and_a_killed_workers_job_goes_to_another(t) {
        let baton = Baton::new(&t.url);
        baton.create_user("agent", PASSWORD, &["--role", "developer"]).await;
        let mut tokens = Vec::new();
        for label in ["rest", "worker-a", "worker-b"] {
            tokens.push(baton.create_token("agent", label).await);
        }
        let dir = baton.scratch.path.clone();
        let server = Server::start_with(&t.url, &dir, SHORT_LEASE).await;
        let origin = origin(&dir);
        let marks = dir.join("marks");
        std::fs::create_dir_all(&marks).expect("marks");
        std::fs::write(dir.join("agent.sh"), agent_script(&marks)).expect("script");
        let mut rest = Rest::new(server.port, &tokens[0]);
        let story = product(&mut rest, "KIL").await;

        // Cancelled over REST while the command sleeps: stopped within the grace period.
        let (_, sleepy) = task_with_job(&mut rest, &story, "Ignite-sleepy").await;
        let mut a = WorkerProc::start(&dir, &server, &tokens[1], "a", &[]);
        let pid = agent_pid(&marks, &sleepy).await;
        wait_job(&mut rest, &sleepy, Duration::from_secs(30), "running", |j| j["status"] == "running").await;
        assert!(alive(pid));
        let r = rest.send("POST", &format!("/api/jobs/{sleepy}/cancel"), None).await;
        assert_eq!(r.status, 200, "{r:?}");
        let cancelled_at = Instant::now();
        while alive(pid) {
            // One heartbeat (1 s) plus the grace period (2 s), with room for a busy machine.
            assert!(cancelled_at.elapsed() < Duration::from_secs(8), "command {pid} still there; log:\n{}", a.log_text());
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
        let j = rest.get_ok(&format!("/api/jobs/{sleepy}")).await;
        assert_eq!(j["status"], "cancelled", "{j}");

        // SIGKILL mid-job: the lease lapses and a second worker completes the job.
        let (_, crashy) = task_with_job(&mut rest, &story, "Ignite-crashy").await;
        let orphan = agent_pid(&marks, &crashy).await;
        wait_job(&mut rest, &crashy, Duration::from_secs(30), "running", |j| j["status"] == "running").await;
        signal(a.pid, "KILL");
        let _ = a.child.wait().await;
        // The command is in its own process group: it outlives a SIGKILLed
        // worker (its late reports would be refused); end it here.
        signal(orphan, "KILL");
        std::fs::remove_file(marks.join(format!("{crashy}.pid"))).expect("remove the pid file");
        let mut b = WorkerProc::start(&dir, &server, &tokens[2], "b", &[]);
        let done = wait_job(&mut rest, &crashy, Duration::from_secs(60), "crashy", finished).await;
        assert_eq!(done["status"], "done", "{done}\nlog b:\n{}", b.log_text());
        assert_eq!((done["retry_count"].as_i64(), done["worker_instance_id"].as_str()), (Some(1), Some("b")), "{done}");
        let branch = done["branch"].as_str().expect("branch");
        assert_eq!(git(&origin, &["rev-parse", &format!("refs/heads/{branch}")]), done["head_sha"].as_str().unwrap_or_default());

        // SIGTERM while a job runs: it finishes and is reported, then the worker exits 0.
        let (_, slow) = task_with_job(&mut rest, &story, "Ignite-slow").await;
        agent_pid(&marks, &slow).await;
        assert_eq!(b.terminate(Duration::from_secs(30)).await.code(), Some(0), "{}", b.log_text());
        let j = rest.get_ok(&format!("/api/jobs/{slow}")).await;
        assert_eq!(j["status"], "done", "finished before the worker stopped: {j}\nlog:\n{}", b.log_text());
        assert!(worker(&mut rest, &b.instance).await.is_none(), "offline");

        // A second signal stops the command and hands the job back: nothing is
        // reported, the lease lapses and the job is queued again.
        let (_, handed) = task_with_job(&mut rest, &story, "Ignite-sleepy handed back").await;
        let mut c = WorkerProc::start(&dir, &server, &tokens[2], "c", &[]);
        let pid = agent_pid(&marks, &handed).await;
        wait_job(&mut rest, &handed, Duration::from_secs(30), "running", |j| j["status"] == "running").await;
        signal(c.pid, "TERM");
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert!(alive(pid), "the first signal lets the command run");
        let status = c.terminate(Duration::from_secs(20)).await;
        assert_eq!(status.code(), Some(0), "{}", c.log_text());
        assert!(!alive(pid), "the second signal stopped the command; log:\n{}", c.log_text());
        let j = wait_job(&mut rest, &handed, Duration::from_secs(20), "requeued", |j| j["status"] == "queued").await;
        assert_eq!(j["retry_count"], 1, "handed back through the lease: {j}");
        assert!(j["error"].is_null(), "{j}");
    }
}
