#!/usr/bin/env python3
"""End-to-end proof of ideas and the built-in runner (issue 11): from an idea
to a finished sprint with the official Python `mcp` client, a real
`baton serve`, a real `baton worker` and a real git origin.

Usage: idea_to_sprint.py <path to the baton binary>

1. A bare git origin whose default branch is `trunk` (never `main`); the
   product's repo_url is an https URL that git maps to that origin with
   `url.<path>.insteadOf` in a throwaway global git config, so the runner
   clones and pushes exactly as it would against a real host.
2. `baton worker --exec "python scripted_agent.py"` runs in the background.
3. Over MCP: create_idea → dispatch grill; the agent asks a question, it
   is answered over REST, grill_md is stored (grilled).
4. Dispatch make_plan; the agent's first plan has a YAML error on a known
   line (reported with that line), then the fixed plan (plan_ready).
5. materialize_idea with a build sprint → start_sprint_run → the worker
   completes every task (a commit each, verified, pushed) → the run and
   the sprint are done, and the origin has the sprint branch with both
   commits.
Exits non-zero on the first failure.
"""

import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from e2e_common import check, free_port, http, result

BATON = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else "target/debug/baton")
HERE = os.path.dirname(os.path.abspath(__file__))
DATA = tempfile.mkdtemp(prefix="baton-idea-e2e-")
ORIGIN = os.path.join(DATA, "origin.git")
REPO_URL = "https://git.example.test/team/greeting.git"
GITCONFIG = os.path.join(DATA, "gitconfig")
ENV = {**os.environ, "BATON_DATA_DIR": DATA, "BATON_MCP_TOOLS": "all", "BATON_LOG": "warn",
       "GIT_CONFIG_GLOBAL": GITCONFIG, "GIT_CONFIG_NOSYSTEM": "1"}
ENV.pop("BATON_DATABASE_URL", None)


def run(*args, **kw):
    r = subprocess.run(list(args), env=ENV, capture_output=True, text=True, timeout=120, **kw)
    check(r.returncode == 0, f"{' '.join(args)} failed: {r.stderr}")
    return r.stdout.strip()


def make_origin():
    with open(GITCONFIG, "w") as f:
        f.write(f'[url "{ORIGIN}"]\n\tinsteadOf = {REPO_URL}\n'
                "[user]\n\temail = e2e@example.com\n\tname = e2e\n")
    run("git", "init", "-q", "--bare", "-b", "trunk", ORIGIN)
    seed = os.path.join(DATA, "seed")
    run("git", "clone", "-q", REPO_URL, seed)
    with open(os.path.join(seed, "README.md"), "w") as f:
        f.write("# greeting\n")
    run("git", "-C", seed, "add", ".")
    run("git", "-C", seed, "commit", "-q", "-m", "base")
    run("git", "-C", seed, "push", "-q", "origin", "HEAD:trunk")


async def call(client, name, args):
    err, text, data = result(await client.call_tool(name, args))
    check(not err, f"{name} failed: {text}")
    return data


def rest(method, path, token, body=None):
    status, _, text = http(method, f"{BASE}{path}", token, body)
    check(status < 300, f"{method} {path}: {status} {text}")
    return json.loads(text) if text else None


async def until(what, fn, timeout=120):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = await asyncio.to_thread(fn)
        if last:
            return last
        await asyncio.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}; last: {last}")


def idea_status(token, idea_id):
    return rest("GET", f"/api/ideas/{idea_id}", token)["status"]


async def flow(client, token, product_id):
    idea = await call(client, "create_idea", {"product_id": product_id, "title": "Greet people"})
    idea_id = idea["id"]
    check(idea["code"].startswith("IDEA-") and idea["status"] == "draft", f"create_idea: {idea}")

    # A live worker must exist before an idea job can be dispatched.
    await until("the worker online", lambda: rest("GET", "/api/workers", token) or None, 60)
    job = await call(client, "dispatch_idea_job", {"idea_id": idea_id, "kind": "grill"})
    check(job["status"] == "queued", f"dispatch grill: {job}")
    q = await until("the grill question", lambda: [x for x in rest("GET", "/api/questions?status=open", token)["items"]
                                                   if x.get("idea_id") == idea_id], 90)
    rest("POST", f"/api/questions/{q[0]['id']}/answer", token, {"answer": "The team"})
    await until("grilled", lambda: idea_status(token, idea_id) == "grilled")
    # The idea is grilled as soon as grill_md is stored; the job ends when the
    # agent's command exits. One live job per idea: wait for it to finish.
    await until("the grill job done", lambda: rest("GET", f"/api/jobs/{job['id']}", token)["status"] == "done")
    ctx = await call(client, "get_idea_context", {"idea_id": idea_id})
    check("Greet The team" in (ctx["idea"]["grill_md"] or ""), f"grill_md: {ctx['idea']}")
    print("ok  grill: question answered over REST, grill_md stored, idea grilled")

    job = await call(client, "dispatch_idea_job", {"idea_id": idea_id, "kind": "make_plan"})
    await until("plan_ready", lambda: idea_status(token, idea_id) == "plan_ready")
    await until("the plan job done", lambda: rest("GET", f"/api/jobs/{job['id']}", token)["status"] == "done")
    logs = rest("GET", f"/api/ideas/{idea_id}/logs", token)
    logs = logs["items"] if isinstance(logs, dict) else logs
    failed = [entry for entry in logs if "parse failed" in (entry.get("content") or "")]
    check(failed and "6" in json.dumps(failed[0].get("metadata")), f"parse failure with its line not logged: {logs}")
    print("ok  plan: a YAML error reported at line 6, fixed, idea plan_ready")

    m = await call(client, "materialize_idea", {"idea_id": idea_id, "build_sprint": True})
    check(len(m["story_ids"]) == 1 and len(m["task_ids"]) == 2 and m["build_sprint_id"], f"materialize: {m}")
    check(idea_status(token, idea_id) == "planned", "idea not planned")
    print(f"ok  materialized into {m['pbi_code']} with build sprint")

    run_ = await call(client, "start_sprint_run", {"sprint_id": m["build_sprint_id"], "pr_strategy": "sprint"})
    run_id = run_.get("id") or run_.get("sprint_run_id") or run_["run"]["id"]
    def finished():
        r = rest("GET", f"/api/sprint-runs/{run_id}", token)["run"]
        return r if r["status"] in ("done", "failed", "cancelled", "paused") else None

    done = await until("the sprint run done", finished, 240)
    check(done["status"] == "done", f"sprint run ended {done}")
    for t in m["task_ids"]:
        check(rest("GET", f"/api/tasks/{t}", token)["status"] == "done", f"task {t} not done")
    sprint = rest("GET", f"/api/sprints/{m['build_sprint_id']}", token)
    check(sprint["status"] in ("closed", "done"), f"sprint not done: {sprint}")
    branches = run("git", "--git-dir", ORIGIN, "for-each-ref", "--format=%(refname:short)", "refs/heads")
    work = [b for b in branches.split() if b != "trunk"]
    check(len(work) == 1, f"one sprint branch expected on the origin: {branches}")
    log = run("git", "--git-dir", ORIGIN, "log", "--format=%s", f"trunk..{work[0]}")
    check("Write hello" in log and "Write goodbye" in log, f"commits missing on {work[0]}: {log}")
    print(f"ok  sprint run done; {work[0]} on the origin holds both task commits")


async def main():
    global BASE
    make_origin()
    run(BATON, "migrate")
    run(BATON, "user", "create", "--username", "owner", "--role", "developer", "--password-stdin",
        input="owner-password-1\n")
    token = run(BATON, "token", "create", "--user", "owner", "--label", "e2e")
    port = free_port()
    BASE = f"http://127.0.0.1:{port}"
    server = subprocess.Popen([BATON, "serve", "--bind", f"127.0.0.1:{port}"], env=ENV,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    worker = None
    try:
        for _ in range(200):
            try:
                if http("GET", f"{BASE}/api/health")[0] == 200:
                    break
            except OSError:
                pass
            time.sleep(0.1)
        else:
            raise AssertionError("baton serve did not come up")
        product = rest("POST", "/api/products", token, {"name": "Greeting", "code": "GRT", "repo_url": REPO_URL,
                                                   "definition_of_done": "Both files exist."})
        agent = f"{sys.executable} {os.path.join(HERE, 'scripted_agent.py')}"
        worker = subprocess.Popen([BATON, "worker", "--url", BASE, "--exec", agent,
                                   "--worktrees", os.path.join(DATA, "worktrees")],
                                  env={**ENV, "BATON_TOKEN": token}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                  text=True)
        async with httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=180) as hc:
            async with Client(streamable_http_client(f"{BASE}/mcp", http_client=hc)) as client:
                await flow(client, token, product["id"])
    except BaseException:
        if worker:
            worker.terminate()
            out = worker.communicate(timeout=30)[0]
            print(f"--- baton worker output\n{out}", file=sys.stderr)
        raise
    finally:
        if worker and worker.poll() is None:
            worker.terminate()
            worker.wait(timeout=30)
        server.terminate()
        server.wait(timeout=20)
        shutil.rmtree(DATA, ignore_errors=True)
    print("ok  idea → plan → backlog → sprint run with baton worker")


if __name__ == "__main__":
    asyncio.run(main())
