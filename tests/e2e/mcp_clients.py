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
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

import httpx2
from mcp import Client, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client

BATON = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else "target/debug/baton")
DATA = tempfile.mkdtemp(prefix="baton-e2e-")
ENV = {**os.environ, "BATON_DATA_DIR": DATA, "BATON_MCP_TOOLS": "all", "BATON_LOG": "warn"}
ENV.pop("BATON_DATABASE_URL", None)


def check(cond, msg):
    if not cond:
        raise AssertionError(msg)


def baton(*args, stdin=None):
    r = subprocess.run([BATON, *args], env=ENV, input=stdin, capture_output=True, text=True, timeout=120)
    check(r.returncode == 0, f"baton {' '.join(args)} failed: {r.stderr}")
    return r.stdout.strip()


def http(method, url, token=None, body=None, headers=None):
    h = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream", **(headers or {})}
    if token:
        h["Authorization"] = f"Bearer {token}"
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method, headers=h)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, dict(r.headers), r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read().decode()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def result(r):
    """(is_error, text, structuredContent) of a CallToolResult."""
    d = r.model_dump(by_alias=True)
    text = d["content"][0]["text"] if d.get("content") else ""
    return bool(d.get("isError")), text, d.get("structuredContent")


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
        async with httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=60) as hc:
            async with Client(streamable_http_client(f"{base}/mcp", http_client=hc)) as client:
                await backlog_flow(client, "streamable-http", "E2E", pbi_code)

        # stdio: `baton mcp` on the same database.
        params = StdioServerParameters(command=BATON, args=["mcp"],
                                       env={"BATON_TOKEN": token, "BATON_DATA_DIR": DATA,
                                            "BATON_MCP_TOOLS": "all", "BATON_LOG": "warn"})
        async with Client(params) as client:
            await backlog_flow(client, "stdio", "E2E", pbi_code)

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
