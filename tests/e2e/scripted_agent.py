#!/usr/bin/env python3
"""A scripted coding agent for `baton worker --exec` in the end-to-end proof
(tests/e2e/idea_to_sprint.py). It does what a real agent would, minus the
model: it reads the claim payload (`BATON_PAYLOAD_PATH`), talks to Baton
over MCP with the official Python client (`BATON_URL`, `BATON_TOKEN`), and
works in its current directory (the job's worktree).

- idea_grill: asks the owner one multiple-choice question on the idea and
  waits for the answer, logs it as a decision, stores grill_md.
- idea_make_plan: stores a plan with a deliberate YAML error (the answer
  must name its line), then the fixed plan (the idea becomes plan_ready).
- task_implementation: creates every backticked path the task's plan names
  and commits; `baton worker` verifies, pushes and reports done.

Prints a line per step; the worker keeps the last lines as the summary.
"""

import asyncio
import json
import os
import re
import subprocess
import sys

import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

# The plan the make-plan step writes. Line 6 of the broken copy has one
# space too many, a YAML syntax error on that line of the file.
PLAN = """---
sprint:
  goal: "Ship the greeting"
pbi:
  title: "Greeting"
  priority: 2
stories:
  - title: "Say hello"
    acceptance_criteria: |
      - hello.txt says hello
    priority: 2
    tasks:
      - title: "Write hello"
        implementation_plan: |
          1. Create `greeting/hello.txt` with the greeting.
        priority: 1
      - title: "Write goodbye"
        implementation_plan: |
          1. Create `greeting/goodbye.txt` with the farewell.
        priority: 3
---

# Why
Two small tasks so the sprint has a sequence.
"""
BROKEN = PLAN.replace("  priority: 2\nstories:", "   priority: 2\nstories:", 1)
BROKEN_LINE = 6


def fail(msg):
    print(f"agent: {msg}", file=sys.stderr)
    sys.exit(1)


async def call(client, name, args):
    r = (await client.call_tool(name, args)).model_dump(by_alias=True)
    text = r["content"][0]["text"] if r.get("content") else ""
    if r.get("isError"):
        fail(f"{name} failed: {text}")
    return r.get("structuredContent") or json.loads(text)


async def grill(client, idea):
    q = await call(client, "ask_user_question", {
        "idea_id": idea["id"], "question": "Who is the greeting for?",
        "options": ["The world", "The team"], "wait_seconds": 120})
    if q.get("status") != "answered":
        fail(f"question not answered in time: {q}")
    answer = q["answer"]
    print(f"asked and got: {answer}")
    await call(client, "log_idea_decision", {"idea_id": idea["id"], "type": "decision",
                                             "content": f"The greeting is for {answer}."})
    md = (f"# Idee — {idea['title']}\n\n## Scope\nGreet {answer}.\n\n## Acceptatie\n- hello\n- goodbye\n- both files\n\n"
          "## Risico's & onbekenden\n- none\n\n## Open eindjes (niet in v1)\n- i18n\n")
    await call(client, "update_idea_grill_md", {"idea_id": idea["id"], "markdown": md})
    print("grill stored")


async def plan(client, idea):
    r = await call(client, "update_idea_plan_md", {"idea_id": idea["id"], "markdown": BROKEN})
    lines = [e.get("line") for e in r.get("errors", [])]
    if r.get("ok") is not False or BROKEN_LINE not in lines:
        fail(f"the broken plan was not refused with line {BROKEN_LINE}: {r}")
    print(f"broken plan refused at line {BROKEN_LINE}")
    r = await call(client, "update_idea_plan_md", {"idea_id": idea["id"], "markdown": PLAN})
    if r.get("ok") is not True:
        fail(f"the fixed plan did not parse: {r}")
    print("plan stored")


def implement(task):
    paths = re.findall(r"`([^`\s]+/[^`\s]+)`", task.get("implementation_plan") or "")
    if not paths:
        fail(f"no paths in the plan of {task['code']}")
    for p in paths:
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "w") as f:
            f.write(f"{task['title']}\n")
    subprocess.run(["git", "add", *paths], check=True)
    subprocess.run(["git", "-c", "user.email=agent@example.com", "-c", "user.name=agent", "commit", "-q", "-m",
                    f"{task['code']}: {task['title']}"], check=True)
    print(f"committed {', '.join(paths)}")


async def main():
    with open(os.environ["BATON_PAYLOAD_PATH"]) as f:
        payload = json.load(f)
    kind = payload["kind"]
    print(f"job {os.environ['BATON_JOB_ID']} ({kind})")
    if kind == "task_implementation":
        implement(payload["task"])
        return
    headers = {"Authorization": f"Bearer {os.environ['BATON_TOKEN']}"}
    async with httpx2.AsyncClient(headers=headers, timeout=180) as hc:
        async with Client(streamable_http_client(f"{os.environ['BATON_URL']}/mcp", http_client=hc)) as client:
            if kind == "idea_grill":
                await grill(client, payload["idea"])
            elif kind == "idea_make_plan":
                await plan(client, payload["idea"])
            else:
                fail(f"unexpected kind {kind}")


asyncio.run(main())
