#!/usr/bin/env python3
"""End-to-end: fuzz the REST API with schemathesis against a real `baton serve`.

Usage: schemathesis_api.py <path to the baton binary> [extra schemathesis run arguments]

Sets up a fresh SQLite data directory, an administrator with the developer
role and an API token (CLI), starts `baton serve` on a free loopback port,
seeds a product with a sprint, a PBI, a story and a task (REST), and runs
schemathesis (from the same virtualenv as this Python) on the served
`/api/openapi.json` with the Bearer token and the checks
not_a_server_error, status_code_conformance, content_type_conformance and
response_schema_conformance. The seeded ids are offered as path parameters
half of the time, so operations also run on things that exist rather than
answering 404 to every generated id.

Generation is bounded (seeded, fixed examples per operation) so a run takes
a stable couple of minutes. Exits non-zero when schemathesis reports any
failure or error, or the server cannot be started.
"""

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

BATON = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else "target/debug/baton")
EXTRA = sys.argv[2:]
DATA = tempfile.mkdtemp(prefix="baton-schemathesis-")
ENV = {**os.environ, "BATON_DATA_DIR": DATA, "BATON_LOG": "warn"}
ENV.pop("BATON_DATABASE_URL", None)
# The virtualenv's own console script (sys.executable is that venv's python).
SCHEMATHESIS = os.path.join(os.path.dirname(sys.executable), "schemathesis")

# Bounded and seeded: the same cases every run, well under the 4 minute budget.
SEED = 9
MAX_EXAMPLES = 6
# Steps per stateful scenario (chains of calls along the links schemathesis infers).
MAX_STEPS = 6
CHECKS = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance"


def check(cond, msg):
    if not cond:
        raise AssertionError(msg)


def baton(*args, stdin=None):
    r = subprocess.run([BATON, *args], env=ENV, input=stdin, capture_output=True, text=True, timeout=120)
    check(r.returncode == 0, f"baton {' '.join(args)} failed: {r.stderr}")
    return r.stdout.strip()


def http(method, url, token=None, body=None):
    h = {"Content-Type": "application/json", "Accept": "application/json"}
    if token:
        h["Authorization"] = f"Bearer {token}"
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method, headers=h)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def created(method, url, token, body):
    status, text = http(method, url, token, body)
    check(status == 201, f"{method} {url}: {status} {text}")
    return json.loads(text)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def api_base(origin, doc):
    """The base URL the document's paths are relative to: its first server
    (relative to the origin), or `/api` while paths carry no prefix."""
    if any(p.startswith("/api/") for p in doc.get("paths", {})):
        return origin
    servers = doc.get("servers") or [{"url": "/api"}]
    url = servers[0]["url"]
    return url if "://" in url else origin + url


def seed(api, token, mate_id):
    """Things for path parameters to name, per kind: a product with a sprint,
    a PBI, a story in the sprint, a task and a job, a member, a price row
    and a worker; and a spare of each kind for the operations that delete,
    archive, close or fail it, so the others keep finding theirs."""
    def product(name, code):
        return created("POST", f"{api}/products", token, {"name": name, "code": code, "definition_of_done": "tests pass"})

    def sprint(pid, goal):
        return created("POST", f"{api}/products/{pid}/sprints", token, {"sprint_goal": goal})

    def pbi(pid, title):
        return created("POST", f"{api}/products/{pid}/pbis", token, {"title": title})

    def story(pbi_id, title, sprint_id):
        return created("POST", f"{api}/pbis/{pbi_id}/stories", token, {"title": title, "sprint_id": sprint_id})

    def task(story_id, title):
        return created("POST", f"{api}/stories/{story_id}/tasks", token,
                       {"title": title, "implementation_plan": "- tests/e2e"})

    main = product("Fuzzed", "FZ")
    pid = main["id"]
    sp, spare_sp = sprint(pid, "Survive the fuzzer"), sprint(pid, "Spare")
    pb, spare_pb = pbi(pid, "Edges"), pbi(pid, "Spare")
    st, spare_st = story(pb["id"], "No 500", sp["id"]), story(pb["id"], "Spare", sp["id"])
    tk, spare_tk = task(st["id"], "Fuzz it"), task(st["id"], "Spare")
    job = created("POST", f"{api}/tasks/{tk['id']}/jobs", token, {})
    created("POST", f"{api}/products/{pid}/members", token, {"username": "fuzzmate", "access": "read_write"})
    price = created("POST", f"{api}/admin/model-prices", token,
                    {"model_id": "fuzz-model", "input_price_per_1m_micros": 1, "output_price_per_1m_micros": 2})
    status, text = http("POST", f"{api}/workers", token, {"instance_id": "fuzz-worker"})
    check(status == 200, f"register worker: {status} {text}")
    spare_products = [product(f"Spare {i}", f"SPARE{i}")["id"] for i in range(3)]
    return {
        "products": [pid, "FZ"], "spare_products": spare_products,
        "sprints": [sp["id"], sp["code"]], "spare_sprints": [spare_sp["id"]],
        "pbis": [pb["id"], pb["code"]], "spare_pbis": [spare_pb["id"]],
        "stories": [st["id"], st["code"]], "spare_stories": [spare_st["id"]],
        "tasks": [tk["id"], tk["code"]], "spare_tasks": [spare_tk["id"]],
        "jobs": [job["id"]], "users": [mate_id], "prices": [price["id"]], "workers": ["fuzz-worker"],
    }


# (path regex, methods (None: all), {path parameter: dictionary}). The first
# rule matching an operation is the one schemathesis uses, so the rules that
# hand out spares (to operations that delete, archive, close or fail) and the
# two-parameter paths come before the general rule of their path.
RULES = [
    (r"^/products/\{id\}$", ["DELETE"], {"id": "spare_products"}),
    (r"^/products/\{id\}/archive$", None, {"id": "spare_products"}),
    (r"^/products/\{id\}/members/\{user_id\}$", None, {"id": "products", "user_id": "users"}),
    (r"^/products/\{id\}", None, {"id": "products"}),
    (r"^/sprints/\{id\}$", ["DELETE"], {"id": "spare_sprints"}),
    (r"^/sprints/\{id\}/(close|fail|archive)$", None, {"id": "spare_sprints"}),
    (r"^/sprints/\{id\}/stories/\{story_id\}$", None, {"id": "sprints", "story_id": "spare_stories"}),
    (r"^/sprints/\{id\}", None, {"id": "sprints"}),
    (r"^/pbis/\{id\}$", ["DELETE"], {"id": "spare_pbis"}),
    (r"^/pbis/\{id\}", None, {"id": "pbis"}),
    (r"^/stories/\{id\}$", ["DELETE"], {"id": "spare_stories"}),
    (r"^/stories/\{id\}", None, {"id": "stories"}),
    (r"^/tasks/\{id\}$", ["DELETE"], {"id": "spare_tasks"}),
    (r"^/tasks/\{id\}", None, {"id": "tasks"}),
    (r"^/jobs/\{id\}", None, {"id": "jobs"}),
    (r"^/users/\{id\}$", None, {"id": "users"}),
    (r"^/admin/model-prices/\{id\}$", None, {"id": "prices"}),
    (r"^/workers/\{instance_id\}$", None, {"instance_id": "workers"}),
]


def config(path, ids):
    """A schemathesis.toml offering the seeded ids of the right kind for
    path parameters, most of the time (random ids test the 404s)."""
    lines = ["[phases.stateful]", f"max-steps = {MAX_STEPS}", "",
             # The import body nests the whole backlog: its coverage cases
             # alone took a third of the budget. Fuzzing still covers it.
             "[[operations]]", 'include-name = "POST /products/import"',
             "phases.coverage.enabled = false", ""]
    for name, values in ids.items():
        lines += [f"[dictionaries.{name}]", "values = " + json.dumps(values), ""]
    for regex, methods, params in RULES:
        # One name regex ("METHOD /path"): separate filters of one entry
        # would select what any of them matches.
        method = "|".join(methods) if methods else "[A-Z]+"
        lines += ["[[operations]]", "include-name-regex = " + json.dumps(f"^(?:{method}) {regex[1:]}")]
        bound = ", ".join(f'"path.{p}" = {{ dictionary = "{d}", probability = 0.7 }}' for p, d in params.items())
        lines += [f"parameters = {{ {bound} }}", ""]
    with open(path, "w") as f:
        f.write("\n".join(lines))


def main():
    baton("migrate")
    baton("user", "create", "--username", "fuzzer", "--admin", "--role", "developer", "--password-stdin",
          stdin="fuzzer-password-1\n")
    mate_id = baton("user", "create", "--username", "fuzzmate", "--role", "developer", "--password-stdin",
                    stdin="fuzzmate-password-1\n")
    token = baton("token", "create", "--user", "fuzzer", "--label", "schemathesis")
    check(token.startswith("baton_"), f"unexpected token output {token!r}")

    port = free_port()
    origin = f"http://127.0.0.1:{port}"
    log = open(os.path.join(DATA, "server.log"), "w+")
    server = subprocess.Popen([BATON, "serve", "--bind", f"127.0.0.1:{port}"], env=ENV,
                              stdout=subprocess.DEVNULL, stderr=log, text=True)
    started = time.time()
    try:
        for _ in range(300):
            try:
                if http("GET", f"{origin}/api/health")[0] == 200:
                    break
            except OSError:
                pass
            time.sleep(0.1)
        else:
            raise AssertionError("baton serve did not come up")
        status, text = http("GET", f"{origin}/api/openapi.json")
        check(status == 200, f"openapi.json: {status}")
        api = api_base(origin, json.loads(text))
        ids = seed(api, token, mate_id)
        cfg = os.path.join(DATA, "schemathesis.toml")
        config(cfg, ids)

        # The realtime routes are Server-Sent Event streams that never end on
        # their own; they are left out (their events are checked by the
        # realtime tests).
        cmd = [SCHEMATHESIS, "--config-file", cfg, "--no-color", "run", f"{origin}/api/openapi.json",
               "--url", api, "--checks", CHECKS, "--header", f"Authorization: Bearer {token}",
               "--seed", str(SEED), "--max-examples", str(MAX_EXAMPLES), "--workers", "1",
               "--request-timeout", "10", "--exclude-path-regex", "^/(api/)?realtime/",
               "--generation-database", "none", "--suppress-health-check", "all", *EXTRA]
        print("== " + " ".join(c if not c.startswith("Authorization") else "Authorization: Bearer …" for c in cmd),
              flush=True)
        # Run in the data directory so its cache goes away with it.
        r = subprocess.run(cmd, env={**os.environ, "SCHEMATHESIS_HOOKS": ""}, cwd=DATA, timeout=600)
        elapsed = time.time() - started
        print(f"schemathesis: exit {r.returncode} after {elapsed:.0f} s", flush=True)
        if r.returncode != 0:
            log.seek(0)
            errors = [line for line in log if "ERROR" in line or "panicked" in line]
            if errors:
                print("server errors:\n" + "".join(errors[-20:]), file=sys.stderr)
        return r.returncode
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()
        shutil.rmtree(DATA, ignore_errors=True)


if __name__ == "__main__":
    try:
        code = main()
    except Exception as e:  # noqa: BLE001 - a clear report, non-zero exit
        import traceback

        traceback.print_exception(e)
        print(f"FAIL schemathesis: {type(e).__name__}: {e}", file=sys.stderr)
        sys.exit(1)
    if code != 0:
        print("FAIL schemathesis: failures above", file=sys.stderr)
        sys.exit(code)
    print("schemathesis: 0 failures")
