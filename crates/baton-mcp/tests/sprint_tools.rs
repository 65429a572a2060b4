//! The sprint-run tools through `BatonMcp::call` on both backends:
//! `start_sprint_run`, and a batch worker's `wait_for_job` →
//! `update_task_execution` → `verify_sprint_task` (a diff over HTTP, a real
//! git worktree over stdio) → `update_job_status done`, with the error
//! conventions (VALIDATION_ERROR naming the field, PERMISSION_DENIED for
//! demo accounts and other workers, the sprint gate's message).

mod common;

use std::{path::PathBuf, process::Command, sync::Arc};

use baton_app::{
    Actor, App,
    backlog::{pbis::NewPbi, stories::NewStory, tasks::NewTask},
    products::NewProduct,
    queue::complete::UpdateJobStatus,
    sprints::NewSprint,
    workers::WorkerInfo,
};
use baton_mcp::{BatonMcp, Profile};
use baton_testkit::{TestDb, backend_tests};
use common::{Base, base, err, ok};
use serde_json::{Value, json};

struct Fx {
    _t: TestDb,
    app: Arc<App>,
    mcp: BatonMcp,
    owner: Actor,
    demo: Actor,
    sprint_id: String,
    task_codes: Vec<String>,
}

/// An open sprint with one story and two planned tasks (`src/one.rs`, `src/two.rs`).
async fn fixture(t: TestDb) -> Fx {
    let product = NewProduct { name: "Rocket".into(), definition_of_done: "tests pass".into(), ..Default::default() };
    let Base { app, owner, demo, product_id } = base(&t, product).await;
    let sprint = NewSprint { sprint_goal: "Launch".into(), ..Default::default() };
    let sprint_id = app.create_sprint(&owner, &product_id, sprint).await.expect("sprint").id;
    let pbi = app.create_pbi(&owner, &product_id, NewPbi { title: "Launch".into(), ..Default::default() }).await;
    let story = NewStory { title: "Countdown".into(), sprint_id: Some(sprint_id.clone()), ..Default::default() };
    let story_id = app.create_story(&owner, &pbi.expect("pbi").id, story).await.expect("story").id;
    let mut task_codes = Vec::new();
    for name in ["one", "two"] {
        let task = NewTask {
            title: name.into(),
            implementation_plan: Some(format!("Edit `src/{name}.rs`.")),
            ..Default::default()
        };
        task_codes.push(app.create_task(&owner, &story_id, task).await.expect("task").task.code);
    }
    let mcp = BatonMcp::http(app.clone(), Profile::All);
    Fx { _t: t, app, mcp, owner, demo, sprint_id, task_codes }
}

fn diff_of(path: &str) -> String {
    format!("diff --git a/{path} b/{path}\n--- a/{path}\n+++ b/{path}\n@@ -1 +1 @@\n+x\n")
}

fn git(dir: &PathBuf, args: &[&str]) -> String {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
        .args(args)
        .output()
        .expect("git runs");
    assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

backend_tests! {
    async fn a_batch_worker_works_through_its_executions_over_http(t) {
        let fx = fixture(t).await;
        let mcp = &fx.mcp;
        // Demo accounts may not start runs; arguments are validated by name.
        assert!(err(mcp, &fx.demo, "start_sprint_run", json!({"sprint_id": fx.sprint_id})).await.starts_with("PERMISSION_DENIED"));
        let e = err(mcp, &fx.owner, "start_sprint_run", json!({"sprint_id": fx.sprint_id, "pr_strategy": "often"})).await;
        assert!(e.starts_with("VALIDATION_ERROR: pr_strategy: "), "{e}");
        let run = ok(mcp, &fx.owner, "start_sprint_run", json!({"sprint_id": fx.sprint_id})).await;
        assert_eq!(run["run"]["status"], "queued");
        let e = err(mcp, &fx.owner, "start_sprint_run", json!({"sprint_id": fx.sprint_id})).await;
        assert!(e.contains("already has a queued sprint run"), "{e}");

        let job = ok(mcp, &fx.owner, "wait_for_job", json!({"wait_seconds": 1})).await;
        assert_eq!(job["kind"], "sprint_implementation");
        assert_eq!(job["branch_name"], job["sprint_run"]["branch"]);
        let xs = job["task_executions"].as_array().expect("executions").clone();
        let codes: Vec<&str> = xs.iter().map(|x| x["code"].as_str().expect("code")).collect();
        assert_eq!(codes, fx.task_codes.iter().map(String::as_str).collect::<Vec<_>>());
        let job_id = job["job_id"].as_str().expect("job").to_string();
        let x0 = xs[0]["execution_id"].as_str().expect("id").to_string();
        let x1 = xs[1]["execution_id"].as_str().expect("id").to_string();

        let e = err(mcp, &fx.owner, "update_task_execution", json!({"execution_id": x0, "status": "started"})).await;
        assert!(e.starts_with("VALIDATION_ERROR: status: "), "{e}");
        let e = err(mcp, &fx.owner, "verify_sprint_task", json!({"execution_id": x0, "diff": diff_of("src/one.rs")})).await;
        assert!(e.starts_with("MISSING_BASE_SHA"), "{e}");
        let x = ok(mcp, &fx.owner, "update_task_execution", json!({"execution_id": x0, "status": "running", "base_sha": "1234abcd", "attempt": 0})).await;
        assert_eq!((x["status"].as_str(), x["base_sha"].as_str()), (Some("running"), Some("1234abcd")));
        assert!(x["started_at"].is_string());
        let v = ok(mcp, &fx.owner, "verify_sprint_task", json!({"execution_id": x0, "diff": diff_of("src/one.rs")})).await;
        assert_eq!((v["result"].as_str(), v["allowed_for_done"].as_bool(), v["base_sha"].as_str()), (Some("aligned"), Some(true), Some("1234abcd")));
        assert_eq!(v["reason"], Value::Null);
        ok(mcp, &fx.owner, "update_task_execution", json!({"execution_id": x0, "status": "done", "head_sha": "5678ef01"})).await;

        // The gate names the unfinished execution.
        let e = err(mcp, &fx.owner, "update_job_status", json!({"job_id": job_id, "status": "done"})).await;
        assert!(e.starts_with("SPRINT_GATE: 1 of 2") && e.contains(&format!("\n{} (order 1): pending", fx.task_codes[1])), "{e}");
        // Another user's worker cannot touch the execution.
        assert!(err(mcp, &fx.demo, "update_task_execution", json!({"execution_id": x1, "status": "running"})).await.starts_with("PERMISSION_DENIED"));

        ok(mcp, &fx.owner, "update_task_execution", json!({"execution_id": x1, "status": "running"})).await;
        let v = ok(mcp, &fx.owner, "verify_sprint_task", json!({"execution_id": x1, "diff": diff_of("src/two.rs")})).await;
        assert_eq!(v["base_sha"], "5678ef01", "the previous done task's head");
        ok(mcp, &fx.owner, "update_task_execution", json!({"execution_id": x1, "status": "done", "head_sha": "9abc0123"})).await;
        let r = ok(mcp, &fx.owner, "update_job_status", json!({"job_id": job_id, "status": "done"})).await;
        assert_eq!(r["status"], "done");
    }

    async fn over_stdio_verify_sprint_task_diffs_the_worktree_from_the_reported_base(t) {
        let fx = fixture(t).await;
        let stdio = BatonMcp::stdio(fx.app.clone(), Profile::Core, fx.owner.clone(), WorkerInfo::new("stdio-1"));
        let tools: Vec<String> = stdio.tools().iter().map(|t| t.name.to_string()).collect();
        assert!(tools.contains(&"verify_sprint_task".to_string()) && tools.contains(&"update_task_execution".to_string()));
        assert!(!tools.contains(&"start_sprint_run".to_string()), "start_sprint_run is not in the core profile");
        ok(&fx.mcp, &fx.owner, "start_sprint_run", json!({"sprint_id": fx.sprint_id})).await;
        let job = ok(&stdio, &fx.owner, "wait_for_job", json!({"wait_seconds": 1})).await;
        let x0 = job["task_executions"][0]["execution_id"].as_str().expect("id").to_string();

        let dir = std::env::temp_dir().join(format!("baton-sprint-{}", baton_store::new_id()));
        std::fs::create_dir_all(dir.join("src")).expect("dir");
        git(&dir, &["init", "-q"]);
        std::fs::write(dir.join("README.md"), "hi\n").expect("write");
        git(&dir, &["add", "."]);
        git(&dir, &["commit", "-q", "-m", "base"]);
        let base = git(&dir, &["rev-parse", "HEAD"]);
        std::fs::write(dir.join("src/one.rs"), "fn one() {}\n").expect("write");
        git(&dir, &["add", "."]);
        git(&dir, &["commit", "-q", "-m", "one"]);

        let mut running = UpdateJobStatus::new(job["job_id"].as_str().expect("job"), "running");
        running.base_sha = Some(base.clone());
        fx.app.update_job_status(&fx.owner, running).await.expect("running");
        let path = dir.to_string_lossy().to_string();
        let v = ok(&stdio, &fx.owner, "verify_sprint_task", json!({"execution_id": x0, "worktree_path": path})).await;
        assert_eq!((v["result"].as_str(), v["base_sha"].as_str()), (Some("aligned"), Some(base.as_str())), "{v}");
        // The HTTP form of the arguments is refused over stdio, naming the field.
        let e = err(&stdio, &fx.owner, "verify_sprint_task", json!({"execution_id": x0, "diff": "x"})).await;
        assert!(e.starts_with("VALIDATION_ERROR: ") && e.contains("diff"), "{e}");
        std::fs::remove_dir_all(&dir).expect("clean up");
    }
}
