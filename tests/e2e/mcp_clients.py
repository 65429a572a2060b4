#!/usr/bin/env python3
"""End-to-end: drive Baton with the official Python `mcp` client package over
Streamable HTTP (`baton serve`, /mcp) and over stdio (`baton mcp`).

Usage: mcp_clients.py <path to the baton binary>

Sets up a fresh SQLite data directory, a user with an API token and a
product (CLI and REST), then with each transport: lists the tools, reads the
context, creates a story and a task, and moves the task to in_progress and
done (the story is promoted). Also checks the HTTP error contract (401
-32001, 405 Allow: POST). When the queue tools are offered it runs the job
flow too. Exits non-zero on the first failure.
"""

import asyncio
import json
import os
import threading
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

import httpx2
from mcp import Client, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client

from e2e_common import check, free_port, http, result

BATON = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else "target/debug/baton")
DATA = tempfile.mkdtemp(prefix="baton-e2e-")
ENV = {**os.environ, "BATON_DATA_DIR": DATA, "BATON_MCP_TOOLS": "all", "BATON_LOG": "warn"}
ENV.pop("BATON_DATABASE_URL", None)


def baton(*args, stdin=None):
    r = subprocess.run([BATON, *args], env=ENV, input=stdin, capture_output=True, text=True, timeout=120)
    check(r.returncode == 0, f"baton {' '.join(args)} failed: {r.stderr}")
    return r.stdout.strip()


async def call(client, name, args):
    err, text, data = result(await client.call_tool(name, args))
    check(not err, f"{name} failed: {text}")
    check(isinstance(data, dict), f"{name}: no structuredContent")
    check(json.loads(text) == data, f"{name}: text and structuredContent differ")
    return data


async def backlog_flow(client, label, product_code, pbi_code):
    tools = await client.list_tools()
    names = {t.name for t in tools.tools}
    for n in ["health", "get_context", "create_story", "create_task", "update_task_status"]:
        check(n in names, f"{label}: tool {n} missing from {sorted(names)}")
    ctx = await call(client, "get_context", {"product_id": product_code})
    check(ctx["product"]["code"] == product_code, f"{label}: wrong context {ctx}")
    # The sprint made over REST closes itself once its stories are done, so
    # each transport plans into a fresh one.
    sprint = await call(client, "create_sprint", {"product_id": product_code, "sprint_goal": f"Ship over {label}"})
    check(sprint["status"] == "open", f"{label}: sprint {sprint}")
    sprint_id = sprint["id"]
    story = await call(client, "create_story", {"pbi_id": pbi_code, "title": f"Story over {label}", "sprint_id": sprint_id})
    check(story["status"] == "in_sprint", f"{label}: story {story}")
    task = await call(client, "create_task", {"story_id": story["code"], "title": f"Task over {label}",
                                              "implementation_plan": "- src/lib.rs"})
    r = await call(client, "update_task_status", {"task_id": task["code"], "status": "in_progress"})
    check(r["status"] == "in_progress", f"{label}: {r}")
    r = await call(client, "update_task_status", {"task_id": task["id"], "status": "done"})
    check(r["status"] == "done" and r["story_status_change"] == "promoted", f"{label}: not promoted {r}")
    err, text, _ = result(await client.call_tool("create_pbi", {"product_id": product_code, "title": ""}))
    check(err and text.startswith("VALIDATION_ERROR: title: "), f"{label}: validation error expected, got {text}")
    print(f"ok  {label}: {len(names)} tools; get_context, create_sprint, create_story, create_task, "
          "update_task_status (promoted), VALIDATION_ERROR")
    return names


class SseWatcher:
    """Collects the event names of `GET /api/realtime/solo?product_id=…` in a thread."""

    def __init__(self, base, token, product_id):
        self.events = []
        self.ready = threading.Event()
        url = f"{base}/api/realtime/solo?product_id={product_id}"
        self.req = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}",
                                                        "Accept": "text/event-stream"})
        threading.Thread(target=self.run, daemon=True).start()

    def run(self):
        try:
            with urllib.request.urlopen(self.req, timeout=120) as r:
                for raw in r:
                    line = raw.decode().rstrip("\n")
                    if line.startswith("event:"):
                        name = line.split(":", 1)[1].strip()
                        self.events.append(name)
                        if name == "ready":
                            self.ready.set()
        except Exception as e:  # noqa: BLE001 - the assertions report what is missing
            self.events.append(f"error: {e}")
            self.ready.set()

    def wait_for(self, names, timeout=10):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if all(n in self.events for n in names):
                return
            time.sleep(0.05)
        raise AssertionError(f"SSE did not see {names}; saw {self.events}")


def make_worktree(root):
    """A git repo whose origin/HEAD points at `origin/trunk` (not main) and one commit on top."""
    def git(*a):
        subprocess.run(["git", "-C", root, *a], check=True, capture_output=True, text=True)
    os.makedirs(os.path.join(root, "src"))
    git("init", "-q", "-b", "work")
    git("config", "user.email", "e2e@example.com")
    git("config", "user.name", "e2e")
    with open(os.path.join(root, "src", "engine.rs"), "w") as f:
        f.write("fn main() {}\n")
    git("add", ".")
    git("commit", "-q", "-m", "base")
    git("update-ref", "refs/remotes/origin/trunk", "HEAD")
    git("symbolic-ref", "refs/remotes/origin/HEAD", "refs/remotes/origin/trunk")
    with open(os.path.join(root, "src", "engine.rs"), "a") as f:
        f.write("fn ignite() {}\n")
    git("commit", "-q", "-am", "ignite")


async def queue_flow(client, label, base, token, product_code, pbi_code, worktree=None, sse=None):
    """A person starts an agent on a task over REST while the agent already waits."""
    sprint = await call(client, "create_sprint", {"product_id": product_code, "sprint_goal": f"Queue over {label}"})
    story = await call(client, "create_story", {"pbi_id": pbi_code, "title": f"Queued {label}", "sprint_id": sprint["id"]})
    task = await call(client, "create_task", {"story_id": story["id"], "title": "Ignite",
                                              "implementation_plan": "Change `src/engine.rs` to add ignition."})
    waiting = asyncio.create_task(client.call_tool("wait_for_job", {"wait_seconds": 60}))
    await asyncio.sleep(0.5)
    status, _, body = await asyncio.to_thread(http, "POST", f"{base}/api/tasks/{task['id']}/jobs", token, {})
    check(status == 201, f"{label}: start job: {status} {body}")
    job_id = json.loads(body)["id"]
    err, text, claimed = result(await asyncio.wait_for(waiting, 70))
    check(not err and claimed.get("job_id") == job_id, f"{label}: wait_for_job: {text}")
    attempt = claimed["attempt"]
    beat = await call(client, "job_heartbeat", {"job_id": job_id, "attempt": attempt})
    check(beat["ok"] is True, f"{label}: heartbeat {beat}")
    await call(client, "update_job_status", {"job_id": job_id, "status": "running", "attempt": attempt})
    r = await call(client, "update_task_status", {"task_id": task["id"], "status": "in_progress"})
    check(r["status"] == "in_progress", f"{label}: {r}")

    q = await call(client, "ask_user_question", {"task_id": task["code"], "question": "Which fuel?", "options": ["A", "B"]})
    status, _, body = await asyncio.to_thread(http, "POST", f"{base}/api/questions/{q['id']}/answer", token, {"answer": "B"})
    check(status == 200, f"{label}: answer: {status} {body}")
    a = await call(client, "get_question_answer", {"question_id": q["id"]})
    check(a["status"] == "answered" and a["answer"] == "B", f"{label}: answer read back {a}")

    if worktree:
        v = await call(client, "verify_task_against_plan", {"task_id": task["code"], "worktree_path": worktree})
        check(v.get("diffed_against") == "origin/trunk", f"{label}: default branch not resolved: {v}")
    else:
        diff = ("diff --git a/src/engine.rs b/src/engine.rs\n--- a/src/engine.rs\n+++ b/src/engine.rs\n"
                "@@ -1 +1,2 @@\n fn main() {}\n+fn ignite() {}\n")
        v = await call(client, "verify_task_against_plan", {"task_id": task["code"], "diff": diff})
    check(v["verify_result"] == "aligned", f"{label}: verify {v}")
    done = await call(client, "update_job_status", {"job_id": job_id, "status": "done", "attempt": attempt,
                                                   "branch": "feat/ignite", "head_sha": "abc1234", "summary": "ignition"})
    check(done["status"] == "done" and done["task_status"] == "done", f"{label}: done {done}")
    status, _, body = await asyncio.to_thread(http, "GET", f"{base}/api/stories/{story['id']}", token)
    check(status == 200 and json.loads(body)["status"] == "done", f"{label}: story not promoted: {body}")
    if sse:
        sse.wait_for(["job_enqueued", "job_status", "task_changed", "story_changed", "question_changed"])
    print(f"ok  {label}: REST start -> wait_for_job -> heartbeat -> in_progress -> question answered over REST "
          f"-> verify ({v['verify_result']}) -> done -> story promoted" + (" (seen over SSE)" if sse else ""))


async def main():
    # A user, a token and (over REST) a product with an open sprint and a PBI.
    baton("migrate")
    baton("user", "create", "--username", "agent", "--role", "developer", "--password-stdin", stdin="agent-password-1\n")
    token = baton("token", "create", "--user", "agent", "--label", "e2e")
    check(token.startswith("baton_"), f"unexpected token output {token!r}")

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen([BATON, "serve", "--bind", f"127.0.0.1:{port}"], env=ENV,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        for _ in range(300):
            try:
                if http("GET", f"{base}/api/health")[0] == 200:
                    break
            except OSError:
                pass
            time.sleep(0.1)
        else:
            raise AssertionError("baton serve did not come up")

        status, _, body = http("POST", f"{base}/api/products", token,
                               {"name": "E2E", "code": "E2E", "definition_of_done": "tests pass"})
        check(status == 201, f"create product: {status} {body}")
        product_id = json.loads(body)["id"]
        status, _, body = http("POST", f"{base}/api/products/{product_id}/sprints", token, {"sprint_goal": "Ship"})
        check(status == 201, f"create sprint: {status} {body}")
        status, _, body = http("POST", f"{base}/api/products/E2E/pbis", token, {"title": "Clients"})
        check(status == 201, f"create PBI: {status} {body}")
        pbi_code = json.loads(body)["code"]

        # The HTTP error contract.
        rpc = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
        status, headers, body = http("POST", f"{base}/mcp", None, rpc)
        check(status == 401 and json.loads(body)["error"]["code"] == -32001, f"missing token: {status} {body}")
        check(json.loads(body)["error"]["message"] == "Missing Bearer token", body)
        status, _, body = http("POST", f"{base}/mcp", "baton_wrong", rpc)
        check(status == 401 and json.loads(body)["error"]["code"] == -32001, f"bad token: {status} {body}")
        for method in ["GET", "DELETE"]:
            status, headers, _ = http(method, f"{base}/mcp", token)
            allow = {k.lower(): v for k, v in headers.items()}.get("allow")
            check(status == 405 and allow == "POST", f"{method} /mcp: {status} allow={allow}")
        print("ok  http: 401 -32001 without or with a wrong token; GET/DELETE 405 Allow: POST")

        # Streamable HTTP.
        sse = SseWatcher(base, token, product_id)
        check(sse.ready.wait(10), "SSE ready event not received")
        async with httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=120) as hc:
            async with Client(streamable_http_client(f"{base}/mcp", http_client=hc)) as client:
                names = await backlog_flow(client, "streamable-http", "E2E", pbi_code)
                if "wait_for_job" in names:
                    await queue_flow(client, "streamable-http queue", base, token, "E2E", pbi_code, sse=sse)

        # stdio: `baton mcp` on the same database.
        params = StdioServerParameters(command=BATON, args=["mcp"],
                                       env={"BATON_TOKEN": token, "BATON_DATA_DIR": DATA,
                                            "BATON_MCP_TOOLS": "all", "BATON_LOG": "warn"})
        worktree = os.path.join(DATA, "worktree")
        make_worktree(worktree)
        async with Client(params) as client:
            names = await backlog_flow(client, "stdio", "E2E", pbi_code)
            if "wait_for_job" in names:
                await queue_flow(client, "stdio queue", base, token, "E2E", pbi_code, worktree=worktree)

        # stdio: SIGTERM ends the process (stdin still open), and its worker goes offline.
        proc = subprocess.Popen([BATON, "mcp"], env={**ENV, "BATON_TOKEN": token, "BATON_WORKER_INSTANCE_ID": "e2e-term"},
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        seen = False
        for _ in range(200):
            status, _, body = http("GET", f"{base}/api/workers", token)
            if status == 200 and "e2e-term" in body:
                seen = True
                break
            time.sleep(0.05)
        check(seen, f"baton mcp did not register its worker before serving: {body}")
        proc.terminate()
        try:
            code = proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise AssertionError("baton mcp did not stop on SIGTERM")
        check(code == 0, f"baton mcp exited with {code} on SIGTERM: {proc.stderr.read().decode()}")
        status, _, body = http("GET", f"{base}/api/workers", token)
        check("e2e-term" not in body, f"worker still listed after SIGTERM: {body}")
        print("ok  stdio: worker registered before serving; SIGTERM stops it and takes the worker offline")

        # stdio without a token refuses to start.
        r = subprocess.run([BATON, "mcp"], env={**ENV, "BATON_TOKEN": ""}, input="", capture_output=True,
                           text=True, timeout=60)
        check(r.returncode != 0 and "BATON_TOKEN" in r.stderr, f"baton mcp without a token: {r.returncode} {r.stderr}")
        print("ok  stdio: refuses to start without BATON_TOKEN")
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        shutil.rmtree(DATA, ignore_errors=True)


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except Exception as e:  # noqa: BLE001 - a clear report, non-zero exit
        import traceback

        traceback.print_exception(e)
        print(f"FAIL mcp e2e: {type(e).__name__}: {e}", file=sys.stderr)
        sys.exit(1)
    print("mcp e2e: all passed")
