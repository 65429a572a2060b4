#!/usr/bin/env python3
"""End-to-end proof of the expert marketplace (issue 12 "Proof", reference
§1.3 and §5): the whole flow against a real `baton serve` whose escrow
transactions are verified by Baton's own Polygon verifier against a fake
JSON-RPC node, once over plain REST and once with the official Python `mcp`
client over Streamable HTTP using only MCP tools.

Usage: marketplace_flow.py <path to the baton binary>

Set-up: a fresh SQLite data directory, users made with the CLI (a client,
two PM experts, a developer, a QA expert, an administrator) and an API token
each; `baton serve --polygon-rpc http://127.0.0.1:<port>` on Amoy with our
own escrow address and USDC contract, a 5 % + 10.00 USDC platform fee.

The fake node (http.server in a thread) answers `eth_blockNumber`,
`eth_getTransactionReceipt` and `eth_getTransactionByHash` with the real
response shapes. The script "sends" a transaction by registering its receipt
(status 0x1, an ERC-20 Transfer log of the allowed token from the payer to
the payee, the amount in `data`) mined 20 blocks below the head, so it has
the 12 confirmations Baton requires.

The flow, each run on its own project:
 1. client creates the project (brief draft), publishes the brief, enters
    the PM stage and posts the PM opportunity;
 2. two PM experts bid (the client is anonymised to them), one withdraws;
    experts cannot accept, the client cannot bid; the client accepts;
 3. the escrow (pending, fee split as configured) is funded by a verified
    transfer; a wrong-recipient transfer is refused and writes nothing;
 4. the PM submits the planning deliverable, the client approves it (the
    opportunity completes, the escrow is approved for release), the admin
    records the release (verified payout to the expert), the client rates;
 5. stages advance to developer (in development); a BMAD docs/ tree is
    imported twice (over REST as a tar.gz to `POST /api/projects/{id}/import/bmad`,
    over MCP with the `import_bmad` tool, or `baton import bmad` when absent) — the second run changes nothing;
 6. the PM validates story 1.1 with 9 / GO → approved, developer
    opportunity opened; the developer bids, is accepted, the escrow funded
    (a reused hash refused); the developer starts and submits the PR →
    ready for review, QA opportunity opened; the QA bids, is accepted,
    funded; QA CONCERNS → back to in_progress; PR again; QA PASS → done,
    project completed; both escrows released by verified payouts (a
    short payout and a reused hash refused);
 7. the audit trail of the story, every escrow, opportunity and bid state,
    and the rating on the expert's profile are checked.
Exits non-zero with the step's message on the first failure; prints a
summary with timings.
"""

import asyncio
import base64
import contextlib
import io
import json
import os
import secrets
import shutil
import subprocess
import sys
import tarfile
import urllib.error
import urllib.request
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from e2e_common import check, free_port, http, result

BATON = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else "target/debug/baton")
DATA = tempfile.mkdtemp(prefix="baton-market-e2e-")
ENV = {**os.environ, "BATON_DATA_DIR": DATA, "BATON_MCP_TOOLS": "all", "BATON_LOG": "warn"}
ENV.pop("BATON_DATABASE_URL", None)

# Chain facts: our USDC contract, the platform's escrow address, wallets.
USDC = "0x" + "a0" * 20
ESCROW = "0x" + "e5" * 20
CLIENT_WALLET = "0x" + "c1" * 20
EXPERT_WALLET = "0x" + "d1" * 20
OTHER = "0x" + "0b" * 20
FEE_BPS = 500
FEE_FLAT_MINOR = 1_000  # 10.00 USDC
USDC_MINOR_TO_BASE = 10 ** 4  # 6 decimals on chain, 2 in minor units
TRANSFER_TOPIC = "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef"
USERS = {  # username: (CLI role flags)
    "clara": ["--role", "client"],
    "pete": ["--role", "pm"],
    "paula": ["--role", "pm"],
    "dave": ["--role", "developer"],
    "quinn": ["--role", "qa"],
    "ada": ["--admin"],
}
PROPOSAL = ("I have shipped a dozen PRDs in BMAD format for marketplaces like this one; "
            "I will interview you, write the PRD, shard it and keep it current.")
TIMINGS = []


# ---------------------------------------------------------------- fake chain

class FakePolygon:
    """A Polygon JSON-RPC node: transactions are registered, Baton asks."""

    def __init__(self):
        self.head = 5_000_000
        self.receipts = {}
        self.calls = []
        self.lock = threading.Lock()
        chain = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"null")
                reply = [chain.answer(r) for r in body] if isinstance(body, list) else chain.answer(body)
                data = json.dumps(reply).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *_):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def answer(self, req):
        method, params = req.get("method"), req.get("params") or []
        with self.lock:
            self.calls.append((method, params[0] if params else None))
            if method == "eth_blockNumber":
                res = hex(self.head)
            elif method == "eth_chainId":
                res = hex(80002)
            elif method == "eth_getTransactionReceipt":
                res = self.receipts.get(str(params[0]).lower())
            elif method == "eth_getTransactionByHash":
                r = self.receipts.get(str(params[0]).lower())
                res = None if r is None else {
                    "hash": r["transactionHash"], "blockNumber": r["blockNumber"], "from": r["from"],
                    "to": r["to"], "value": "0x0", "input": "0xa9059cbb", "nonce": "0x1"}
            else:
                return {"jsonrpc": "2.0", "id": req.get("id"), "error": {"code": -32601, "message": "method not found"}}
        return {"jsonrpc": "2.0", "id": req.get("id"), "result": res}

    def send(self, frm, to, amount, token=USDC):
        """Mines an ERC-20 transfer 20 blocks below the head; its hash."""
        tx = "0x" + secrets.token_hex(32)
        block = hex(self.head - 20)
        blockhash = "0x" + secrets.token_hex(32)
        pad = lambda a: "0x" + "0" * 24 + a[2:]  # noqa: E731
        with self.lock:
            self.receipts[tx] = {
                "blockHash": blockhash, "blockNumber": block, "contractAddress": None,
                "cumulativeGasUsed": "0x1f4a3", "effectiveGasPrice": "0x6fc23ac00", "from": frm,
                "gasUsed": "0xb411", "logsBloom": "0x" + "0" * 512, "status": "0x1", "to": token,
                "transactionHash": tx, "transactionIndex": "0x3", "type": "0x2",
                "logs": [{"address": token, "topics": [TRANSFER_TOPIC, pad(frm), pad(to)],
                          "data": f"0x{amount:064x}", "blockNumber": block, "blockHash": blockhash,
                          "transactionHash": tx, "transactionIndex": "0x3", "logIndex": "0x7", "removed": False}],
            }
        return tx

    def asked(self, tx):
        with self.lock:
            return any(m == "eth_getTransactionReceipt" and p == tx for m, p in self.calls)


CHAIN = None


# ---------------------------------------------------------------- drivers

# op: (REST method, path with {arg} placeholders, MCP tool, key the MCP result wraps the REST answer in)
OPS = {
    "create_project": ("POST", "/projects", "create_project", None),
    "put_brief": ("PUT", "/projects/{project_id}/brief", "create_brief", None),
    "publish_brief": ("POST", "/projects/{project_id}/brief/publish", "publish_brief", None),
    "get_project": ("GET", "/projects/{project_id}", "get_project_status", "project"),
    "advance": ("POST", "/projects/{project_id}/advance-stage", "advance_project_stage", None),
    "post_opportunity": ("POST", "/projects/{project_id}/opportunities", "post_opportunity", None),
    "list_opportunities": ("GET", "/opportunities", "list_opportunities", None),
    "get_opportunity": ("GET", "/opportunities/{opportunity_id}", "get_opportunity", None),
    "submit_bid": ("POST", "/opportunities/{opportunity_id}/bids", "submit_bid", None),
    "opportunity_bids": ("GET", "/opportunities/{opportunity_id}/bids", "list_opportunity_bids", "items"),
    "my_bids": ("GET", "/me/bids", "get_my_bids", None),
    "withdraw_bid": ("POST", "/bids/{bid_id}/withdraw", "withdraw_bid", None),
    "accept_bid": ("POST", "/bids/{bid_id}/accept", "accept_bid", None),
    "project_escrows": ("GET", "/projects/{project_id}/escrows", "list_project_escrows", "escrows"),
    "escrow": ("GET", "/escrows/{escrow_id}", "get_escrow_status", None),
    "payment": ("GET", "/escrows/{escrow_id}/payment", "generate_wallet_qr", None),
    "fund": ("POST", "/escrows/{escrow_id}/fund", "fund_escrow", None),
    "release": ("POST", "/escrows/{escrow_id}/release", "record_escrow_release", None),
    "submit_deliverable": ("POST", "/opportunities/{opportunity_id}/deliverables", "submit_deliverable", None),
    "review_deliverable": ("POST", "/deliverables/{deliverable_id}/review", "review_deliverable", None),
    "rate": ("POST", "/projects/{project_id}/ratings", "rate_expert", None),
    "profile": ("GET", "/experts/{username}", "get_expert_profile", None),
    "stories": ("GET", "/projects/{project_id}/stories", "list_project_stories", "stories"),
    "story": ("GET", "/stories/{story_id}/workflow", "get_story_workflow", None),
    "validate": ("POST", "/stories/{story_id}/validation", "record_story_validation", None),
    "transition": ("POST", "/stories/{story_id}/transition", "transition_story", None),
    "submit_pr": ("POST", "/stories/{story_id}/submit-pr", "submit_story_pr", None),
    "qa_review": ("POST", "/stories/{story_id}/qa-review", "submit_qa_review", None),
}
REST_KINDS = {403: "forbidden", 404: "not_found", 409: "conflict", 422: "validation", 503: "unavailable"}


class Failure(Exception):
    """A refused call: kind (forbidden, not_found, conflict, validation, unavailable) and message."""

    def __init__(self, kind, message):
        super().__init__(f"{kind}: {message}")
        self.kind, self.message = kind, message


class Rest:
    label = "REST"

    def __init__(self, base, tokens):
        self.base, self.tokens = base, tokens

    async def call(self, user, op, **args):
        method, path, _, _ = OPS[op]
        for k in list(args):
            if "{" + k + "}" in path:
                path = path.replace("{" + k + "}", str(args.pop(k)))
        body = None
        if method == "GET":
            if args:
                path += "?" + "&".join(f"{k}={v}" for k, v in args.items())
        else:
            body = args
        status, _, text = await asyncio.to_thread(http, method, f"{self.base}/api{path}", self.tokens[user], body)
        if status >= 300:
            raise Failure(REST_KINDS.get(status, f"http {status}"), text)
        return json.loads(text) if text else None


class Mcp:
    label = "MCP"

    def __init__(self, sessions):
        self.sessions = sessions

    async def call(self, user, op, **args):
        _, _, tool, key = OPS[op]
        err, text, data = result(await self.sessions[user].call_tool(tool, args))
        if err:
            if text.startswith("PERMISSION_DENIED") and "not found" in text:
                raise Failure("not_found", text)
            for prefix, kind in (("PERMISSION_DENIED", "forbidden"), ("VALIDATION_ERROR", "validation"),
                                 ("UNAVAILABLE", "unavailable"), ("INTERNAL_ERROR", "internal")):
                if text.startswith(prefix):
                    raise Failure(kind, text)
            raise Failure("conflict", text)
        check(isinstance(data, dict), f"{tool}: no structuredContent")
        return data[key] if key else data


async def refused(d, kind, user, op, **args):
    """Calls op expecting a refusal of `kind`; the message."""
    try:
        got = await d.call(user, op, **args)
    except Failure as f:
        check(f.kind == kind, f"{d.label} {op} as {user}: expected {kind}, got {f.kind}: {f.message}")
        return f.message
    raise AssertionError(f"{d.label} {op} as {user}: expected {kind}, got success {got}")


@contextlib.contextmanager
def step(label, name):
    t0 = time.monotonic()
    try:
        yield
    except Failure as f:
        raise AssertionError(f"{label} / {name}: unexpected refusal {f.kind}: {f.message}") from None
    except AssertionError as e:
        raise AssertionError(f"{label} / {name}: {e}") from None
    TIMINGS.append((label, name, time.monotonic() - t0))
    print(f"ok  {label:4} {name} ({time.monotonic() - t0:.2f} s)")


# ---------------------------------------------------------------- the flow

def base_units(minor):
    return minor * USDC_MINOR_TO_BASE


def split(minor):
    """(amount, fee, expert) in base units, as §5.3 computes them."""
    amount = base_units(minor)
    fee = base_units(FEE_FLAT_MINOR) + amount * FEE_BPS // 10_000
    return amount, fee, amount - fee


async def escrow_of(d, project_id, opportunity_id):
    es = [e for e in await d.call("clara", "project_escrows", project_id=project_id)
          if e["opportunity_id"] == opportunity_id]
    check(len(es) == 1, f"one escrow for opportunity {opportunity_id} expected: {es}")
    return es[0]


async def fund(d, escrow, minor):
    """Pays the escrow on the fake chain and records it; the funded escrow and the hash."""
    amount, fee, expert = split(minor)
    check((escrow["status"], escrow["amount"], escrow["platform_fee"], escrow["expert_amount"])
          == ("pending", str(amount), str(fee), str(expert)), f"escrow before funding: {escrow}")
    check(escrow["escrow_address"].lower() == ESCROW and escrow["blockchain"] == "polygon", f"escrow chain: {escrow}")
    pay = await d.call("clara", "payment", escrow_id=escrow["id"])
    check(pay["address"].lower() == ESCROW and pay["token"].lower() == USDC and pay["amount"] == str(amount)
          and pay["uri"].startswith("ethereum:") and "<svg" in pay["qr_svg"], f"payment instructions: {pay}")
    # A transfer to someone else is refused with the reason and stores nothing.
    wrong = CHAIN.send(CLIENT_WALLET, OTHER, amount)
    msg = await refused(d, "validation", "clara", "fund", escrow_id=escrow["id"], tx_hash=wrong)
    check("wrong recipient" in msg, f"wrong-recipient reason: {msg}")
    check((await d.call("clara", "escrow", escrow_id=escrow["id"]))["transaction_hash"] is None,
          "a refused funding stored its hash")
    tx = CHAIN.send(CLIENT_WALLET, ESCROW, amount)
    e = await d.call("clara", "fund", escrow_id=escrow["id"], tx_hash=tx)
    check(CHAIN.asked(tx), f"Baton did not ask the chain for {tx}")
    check((e["status"], e["transaction_hash"]) == ("funded", tx) and e["funded_at"], f"funded escrow: {e}")
    check(e["last_check"] and e["last_check"]["confirmations"] >= 12, f"confirmations: {e['last_check']}")
    again = await d.call("clara", "fund", escrow_id=escrow["id"], tx_hash=tx)
    check(again["status"] == "funded" and again["funded_at"] == e["funded_at"], f"repeat funding changed it: {again}")
    return e, tx


async def release(d, escrow_id, minor, reused):
    """The admin records the payout to the expert, verified on chain."""
    _, _, expert = split(minor)
    short = CHAIN.send(ESCROW, EXPERT_WALLET, expert - 1)
    msg = await refused(d, "validation", "ada", "release", escrow_id=escrow_id, tx_hash=short)
    check("too little" in msg, f"short payout reason: {msg}")
    if reused:
        await refused(d, "conflict", "ada", "release", escrow_id=escrow_id, tx_hash=reused)
    await refused(d, "forbidden", "clara", "release", escrow_id=escrow_id, tx_hash=CHAIN.send(ESCROW, EXPERT_WALLET, expert))
    tx = CHAIN.send(ESCROW, EXPERT_WALLET, expert)
    e = await d.call("ada", "release", escrow_id=escrow_id, tx_hash=tx)
    check(CHAIN.asked(tx), f"Baton did not ask the chain for {tx}")
    check((e["status"], e["release_transaction_hash"]) == ("released", tx) and e["released_at"], f"released: {e}")
    return e


async def planning(d, n):
    """Steps 1–4: project, brief, PM opportunity, bids, escrow, deliverable, release, rating."""
    label = d.label
    with step(label, "project created, brief published, PM opportunity posted"):
        p = await d.call("clara", "create_project", name=f"Shop {label}", code=f"SHOP{n}",
                         description="An online shop for a bakery.", brief="# Brief\n\nDraft.")
        check((p["status"], p["current_stage"], p["brief"]["status"]) == ("planning", "analyst", "draft"), f"new project: {p}")
        pid = p["id"]
        await d.call("clara", "put_brief", project_id=pid,
                     markdown="# Brief\n\nProblem: orders by phone.\n\nUsers: bakery customers.\n\nMVP: order online.")
        await refused(d, "conflict", "clara", "post_opportunity", project_id=pid, stage="pm", title="Write the PRD",
                      description="A BMAD PRD.", budget={"min": 80_000, "max": 150_000, "currency": "usdc"})
        b = await d.call("clara", "publish_brief", project_id=pid)
        brief = b.get("brief", b)
        check(brief["status"] == "published" and brief["published_at"], f"published brief: {b}")
        p = await d.call("clara", "advance", project_id=pid, to="pm")
        check(p["current_stage"] == "pm" and p["status"] == "planning", f"advanced to pm: {p}")
        o = await d.call("clara", "post_opportunity", project_id=pid, stage="pm", title="Write the PRD",
                         description="A BMAD PRD, sharded into docs/prd/.",
                         budget={"min": 80_000, "max": 150_000, "currency": "usdc"})
        check((o["status"], o["stage"], o["budget"]["max"]) == ("open", "pm", 150_000), f"PM opportunity: {o}")
        oid = o["id"]

    with step(label, "two PM experts bid, one withdraws, the client accepts"):
        listed = (await d.call("paula", "list_opportunities", stage="pm"))["items"]
        mine = [x for x in listed if x["id"] == oid]
        check(len(mine) == 1 and mine[0]["client"] != "clara" and mine[0]["client"].startswith("Client #"),
              f"the client is anonymised to experts: {mine}")
        await refused(d, "forbidden", "clara", "submit_bid", opportunity_id=oid, amount=100_000, currency="usdc",
                      proposal=PROPOSAL)
        await refused(d, "forbidden", "dave", "submit_bid", opportunity_id=oid, amount=100_000, currency="usdc",
                      proposal=PROPOSAL)
        await refused(d, "validation", "pete", "submit_bid", opportunity_id=oid, amount=100_000, currency="usdc",
                      proposal="too short")
        b1 = await d.call("pete", "submit_bid", opportunity_id=oid, amount=100_000, currency="usdc",
                          proposal=PROPOSAL, estimated_hours=30)
        amount, fee, expert = split(100_000)
        fp = b1["fee_preview"]
        check((b1["status"], fp["amount_base_units"], fp["platform_fee"], fp["expert_receives"])
              == ("pending", str(amount), str(fee), str(expert)), f"bid and fee preview: {b1}")
        await refused(d, "conflict", "pete", "submit_bid", opportunity_id=oid, amount=90_000, currency="usdc",
                      proposal=PROPOSAL)
        b2 = await d.call("paula", "submit_bid", opportunity_id=oid, amount=120_000, currency="usdc",
                          proposal=PROPOSAL + " Fast.")
        w = await d.call("paula", "withdraw_bid", bid_id=b2["id"])
        check(w["status"] == "withdrawn", f"withdrawn: {w}")
        await refused(d, "conflict", "clara", "accept_bid", bid_id=b2["id"])
        bids = await d.call("clara", "opportunity_bids", opportunity_id=oid)
        check(sorted((x["expert"], x["status"]) for x in bids) == [("paula", "withdrawn"), ("pete", "pending")],
              f"the client sees both bids: {bids}")
        check([x["expert"] for x in await d.call("pete", "opportunity_bids", opportunity_id=oid)] == ["pete"],
              "an expert sees only their own bid")
        await refused(d, "forbidden", "pete", "accept_bid", bid_id=b1["id"])
        a = await d.call("clara", "accept_bid", bid_id=b1["id"])
        check(a["status"] == "accepted", f"accepted: {a}")
        o = await d.call("pete", "get_opportunity", opportunity_id=oid)
        check((o["status"], o["accepted_bid_id"], o["client"]) == ("closed", b1["id"], "clara"),
              f"opportunity closed, client named to the accepted expert: {o}")
        my = (await d.call("pete", "my_bids"))["items"]
        check(any(x["id"] == b1["id"] and x["status"] == "accepted" for x in my), f"my bids: {my}")

    with step(label, "PM escrow funded by a verified transfer (wrong recipient refused)"):
        e = await escrow_of(d, pid, oid)
        e, pm_fund_tx = await fund(d, e, 100_000)
        pm_escrow = e["id"]
        await refused(d, "not_found", "paula", "escrow", escrow_id=pm_escrow)
        await refused(d, "not_found", "paula", "project_escrows", project_id=pid)
        check([x["id"] for x in await d.call("pete", "project_escrows", project_id=pid)] == [pm_escrow],
              "the expert lists their own escrow")

    with step(label, "planning deliverable submitted and approved, escrow released, PM rated"):
        await refused(d, "conflict", "clara", "rate", project_id=pid, expert="pete", stage="pm", rating=5)
        dl = await d.call("pete", "submit_deliverable", opportunity_id=oid, pr_url=f"https://github.com/bakery/shop{n}/pull/1")
        check(dl["status"] == "submitted" and dl["pr_number"] == 1, f"deliverable: {dl}")
        await refused(d, "forbidden", "pete", "review_deliverable", deliverable_id=dl["id"], decision="approve")
        await refused(d, "conflict", "ada", "release", escrow_id=pm_escrow, tx_hash=CHAIN.send(ESCROW, EXPERT_WALLET, 1))
        r = await d.call("clara", "review_deliverable", deliverable_id=dl["id"], decision="approve", notes="Great PRD.")
        check(r["status"] == "approved" and r["approved_at"], f"approved deliverable: {r}")
        o = await d.call("clara", "get_opportunity", opportunity_id=oid)
        check(o["status"] == "completed", f"PM opportunity completed: {o}")
        e = await d.call("clara", "escrow", escrow_id=pm_escrow)
        check(e["status"] == "funded" and e["release_approved_at"], f"escrow approved for release: {e}")
        await release(d, pm_escrow, 100_000, reused=None)
        before = (await d.call("clara", "profile", username="pete"))["overall"]["count"]
        rating = await d.call("clara", "rate", project_id=pid, expert="pete", stage="pm", rating=5,
                              feedback="Clear PRD, on time.")
        check(rating["rating"] == 5 and rating["stage"] == "pm", f"rating: {rating}")
        await refused(d, "conflict", "clara", "rate", project_id=pid, expert="pete", stage="pm", rating=4)
        prof = await d.call("paula", "profile", username="pete")
        check(prof["overall"]["count"] == before + 1 and prof["overall"]["average"] == "5.0"
              and any(s["stage"] == "pm" and s["count"] == before + 1 for s in prof["stages"])
              and any(x["feedback"] == "Clear PRD, on time." for x in prof["recent"]), f"expert profile: {prof}")
    return pid, pm_fund_tx


BMAD_STORY = """# Story 1.1: Order a cake online

## Status
Draft

## Story
**As a** bakery customer,
**I want** to order a cake online,
**so that** I do not have to call.

## Acceptance Criteria
1. A customer picks a cake and a pick-up date.
2. The order is confirmed by e-mail.

---

## Tasks / Subtasks
- [ ] Order form (AC: 1)
- [ ] Confirmation e-mail (AC: 2)

## Dev Notes
Use the existing mailer.

## Change Log
| Date | Version | Description | Author |
|------|---------|-------------|--------|
| 2026-12-01 | 0.1 | Draft | Pete (PM) |

## QA Results
"""


def tool_import_args(schema, pid, repo):
    """Arguments for the `import_bmad` tool from its input schema: the files'
    text (`files`) or a base64 tar.gz of docs/ (a property naming an
    archive); None when the schema is neither (the CLI is used then)."""
    props = (schema or {}).get("properties") or {}
    ref = "project_id" if "project_id" in props else ("project" if "project" in props else None)
    if ref is None:
        return None
    files = []
    for root, _, names in os.walk(os.path.join(repo, "docs")):
        for name in names:
            path = os.path.join(root, name)
            with open(path) as f:
                files.append({"path": os.path.relpath(path, repo), "content": f.read()})
    if "files" in props:
        return {ref: pid, "files": files}
    archive = next((k for k in props if "archive" in k or "tar" in k), None)
    if archive:
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w:gz") as tar:
            tar.add(os.path.join(repo, "docs"), arcname="docs")
        return {ref: pid, archive: base64.b64encode(buf.getvalue()).decode()}
    return None


async def import_bmad(d, sessions, pid, n):
    """Writes a docs/ tree and imports it twice; both summaries and how.
    Over MCP the `import_bmad` tool is used when the server offers it in a
    shape this script knows, else (like over REST) `baton import bmad`."""
    repo = os.path.join(DATA, f"repo{n}")
    os.makedirs(os.path.join(repo, "docs", "stories"))
    with open(os.path.join(repo, "docs", "stories", "1.1.order-a-cake.md"), "w") as f:
        f.write(BMAD_STORY)
    args = None
    if sessions is not None:
        tools = {t.name: t for t in (await sessions["clara"].list_tools()).tools}
        if "import_bmad" in tools:
            args = tool_import_args(tools["import_bmad"].input_schema, pid, repo)
            if args is None:
                print("    import_bmad's arguments are unknown to this script; using the CLI")
    runs = []
    if sessions is None:
        # Over REST: the repository's docs/ as a tar.gz to the import route.
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w:gz") as tar:
            tar.add(os.path.join(repo, "docs"), arcname="docs")
        for _ in range(2):
            req = urllib.request.Request(f"{d.base}/api/projects/{pid}/import/bmad", data=buf.getvalue(), method="POST",
                                         headers={"Content-Type": "application/gzip", "Accept": "application/json",
                                                  "Authorization": f"Bearer {d.tokens['clara']}"})
            try:
                with await asyncio.to_thread(urllib.request.urlopen, req, timeout=60) as r:
                    runs.append(json.loads(r.read().decode()))
            except urllib.error.HTTPError as e:
                check(False, f"POST /import/bmad: {e.code} {e.read().decode()}")
        return runs, "POST /api/projects/{id}/import/bmad (tar.gz)"
    for _ in range(2):
        if args:
            err, text, data = result(await sessions["clara"].call_tool("import_bmad", args))
            check(not err, f"import_bmad: {text}")
            runs.append(data)
        else:
            r = await asyncio.to_thread(subprocess.run, [BATON, "import", "bmad", repo, "--project", pid, "--json"],
                                        env=ENV, capture_output=True, text=True, timeout=60)
            check(r.returncode == 0, f"baton import bmad failed: {r.stderr}")
            runs.append(json.loads(r.stdout))
    return runs, ("import_bmad tool" if args else "baton import bmad CLI")


async def development(d, sessions, pid, n, pm_fund_tx):
    """Steps 5–7: stages, BMAD import, validation, developer and QA work, releases."""
    label = d.label
    with step(label, "stages advance to developer; BMAD stories imported twice (idempotent)"):
        await refused(d, "forbidden", "pete", "advance", project_id=pid, to="architect")
        p = await d.call("clara", "advance", project_id=pid, to="architect")
        check(p["current_stage"] == "architect", f"architect: {p}")
        p = await d.call("clara", "advance", project_id=pid, to="developer")
        check((p["current_stage"], p["status"]) == ("developer", "in_development"), f"developer stage: {p}")
        (first, second), how = await import_bmad(d, sessions, pid, n)
        check((first["created"], first["rejected"]) == (1, []), f"first import ({how}): {first}")
        check((second["created"], second["updated"], second["unchanged"]) == (0, 0, 1), f"second import ({how}): {second}")
        stories = await d.call("clara", "stories", project_id=pid)
        check(len(stories) == 1, f"stories: {stories}")
        s = stories[0]
        check((s["number"], s["title"], s["workflow_status"], s["story_file"])
              == ("1.1", "Order a cake online", "draft", "docs/stories/1.1.order-a-cake.md"), f"imported story: {s}")
        sid = s["id"]
        print(f"    imported with the {how}")

    with step(label, "story validated 9 / GO by the PM → approved, developer opportunity opened"):
        await refused(d, "not_found", "dave", "validate", story_id=sid, score=9, decision="go")
        r = await d.call("pete", "validate", story_id=sid, score=9, decision="go")
        check((r["story"]["workflow_status"], r["story"]["validation_score"]) == ("approved", 9), f"validated: {r}")
        dev_oid = r.get("opened_opportunity_id")
        devs = [o for o in (await d.call("dave", "list_opportunities", stage="developer"))["items"] if o["story_id"] == sid]
        check(len(devs) == 1 and devs[0]["status"] == "open" and (dev_oid in (None, devs[0]["id"])),
              f"developer opportunity listed for the developer: {devs}")
        dev_oid = devs[0]["id"]
        check(devs[0]["budget"]["currency"] == "usdc", f"dev budget: {devs[0]}")

    with step(label, "developer bids, is accepted; escrow funded (reused hash refused)"):
        await refused(d, "forbidden", "quinn", "submit_bid", opportunity_id=dev_oid, amount=80_000, currency="usdc",
                      proposal=PROPOSAL)
        bid = await d.call("dave", "submit_bid", opportunity_id=dev_oid, amount=80_000, currency="usdc",
                           proposal=PROPOSAL, estimated_hours=16)
        await d.call("clara", "accept_bid", bid_id=bid["id"])
        s = await d.call("clara", "story", story_id=sid)
        check((s["story"]["assigned_dev"] or {}).get("username") == "dave", f"developer assigned: {s['story']}")
        e = await escrow_of(d, pid, dev_oid)
        await refused(d, "conflict", "clara", "fund", escrow_id=e["id"], tx_hash=pm_fund_tx)
        check((await d.call("clara", "escrow", escrow_id=e["id"]))["status"] == "pending", "a reused hash moved the escrow")
        e, dev_fund_tx = await fund(d, e, 80_000)
        dev_escrow = e["id"]

    with step(label, "developer starts and submits the PR → ready for review, QA opportunity opened"):
        await refused(d, "conflict", "dave", "submit_pr", story_id=sid, pr_url=f"https://github.com/bakery/shop{n}/pull/2")
        r = await d.call("dave", "transition", story_id=sid, to="in_progress")
        check(r["story"]["workflow_status"] == "in_progress", f"started: {r}")
        await refused(d, "not_found", "quinn", "submit_pr", story_id=sid, pr_url=f"https://github.com/bakery/shop{n}/pull/2")
        r = await d.call("dave", "submit_pr", story_id=sid, pr_url=f"https://github.com/bakery/shop{n}/pull/2")
        check((r["story"]["workflow_status"], r["story"]["dev_pr_number"]) == ("ready_for_review", 2), f"PR: {r}")
        qa_oid = r["opened_opportunity_id"]
        qas = [o for o in (await d.call("quinn", "list_opportunities", stage="qa"))["items"] if o["story_id"] == sid]
        check([o["id"] for o in qas] == [qa_oid] and qa_oid, f"QA opportunity listed for QA: {qas}")

    with step(label, "QA bids, is accepted; escrow funded"):
        bid = await d.call("quinn", "submit_bid", opportunity_id=qa_oid, amount=15_000, currency="usdc",
                           proposal=PROPOSAL, estimated_hours=3)
        await d.call("clara", "accept_bid", bid_id=bid["id"])
        s = await d.call("quinn", "story", story_id=sid)
        check((s["story"]["assigned_qa"] or {}).get("username") == "quinn", f"QA assigned: {s['story']}")
        e = await escrow_of(d, pid, qa_oid)
        await refused(d, "conflict", "clara", "fund", escrow_id=e["id"], tx_hash=dev_fund_tx)
        e, qa_fund_tx = await fund(d, e, 15_000)
        qa_escrow = e["id"]

    with step(label, "QA CONCERNS → rework; PR again; QA PASS → done, project completed"):
        await refused(d, "forbidden", "dave", "qa_review", story_id=sid, gate="pass", notes="Self-review.")
        r = await d.call("quinn", "qa_review", story_id=sid, gate="concerns", notes="The e-mail lacks the date.",
                         top_issues=["confirmation e-mail without the pick-up date"], quality_score=70)
        check((r["story"]["workflow_status"], r["story"]["qa_gate"], r["story"]["qa_review_count"])
              == ("in_progress", "concerns", 1), f"concerns: {r}")
        e = await d.call("clara", "escrow", escrow_id=dev_escrow)
        check(e["release_approved_at"] is None, "concerns approved the release")
        await refused(d, "conflict", "ada", "release", escrow_id=dev_escrow, tx_hash=CHAIN.send(ESCROW, EXPERT_WALLET, 1))
        r = await d.call("dave", "submit_pr", story_id=sid, pr_url=f"https://github.com/bakery/shop{n}/pull/3")
        check((r["story"]["workflow_status"], r["opened_opportunity_id"]) == ("ready_for_review", None), f"resubmitted: {r}")
        r = await d.call("quinn", "qa_review", story_id=sid, gate="pass", notes="All criteria met.", quality_score=95)
        check((r["story"]["workflow_status"], r["story"]["qa_gate"], r["story"]["qa_review_count"], r["project_completed"])
              == ("done", "pass", 2, True), f"pass: {r}")
        p = await d.call("clara", "get_project", project_id=pid)
        check(p["status"] == "completed", f"project completed: {p}")
        stories = await d.call("clara", "stories", project_id=pid)
        check([(x["workflow_status"], x["qa_gate"], x["qa_quality_score"], x["qa_review_count"]) for x in stories]
              == [("done", "pass", 95, 2)], f"story list after PASS: {stories}")
        for oid in (dev_oid, qa_oid):
            o = await d.call("clara", "get_opportunity", opportunity_id=oid)
            check(o["status"] == "completed", f"story opportunity completed: {o}")

    with step(label, "both story escrows released by verified payouts"):
        await release(d, dev_escrow, 80_000, reused=qa_fund_tx)
        await release(d, qa_escrow, 15_000, reused=dev_fund_tx)
        es = await d.call("clara", "project_escrows", project_id=pid)
        check([e["status"] for e in es] == ["released"] * 3, f"every escrow released: {es}")
        hashes = [h for e in es for h in (e["transaction_hash"], e["release_transaction_hash"])]
        check(len(set(hashes)) == 6, f"six distinct transactions: {hashes}")

    with step(label, "story audit trail"):
        detail = await d.call("clara", "story", story_id=sid)
        moves = [(a["from_status"], a["to_status"]) for a in detail["audit"] if a["action"] == "STATUS_CHANGED"]
        check(moves == [("draft", "approved"), ("approved", "in_progress"), ("in_progress", "ready_for_review"),
                        ("ready_for_review", "in_progress"), ("in_progress", "ready_for_review"),
                        ("ready_for_review", "done")], f"status moves: {moves}")
        actions = [a["action"] for a in detail["audit"]]
        for a, count in (("VALIDATED", 1), ("PR_LINKED", 2), ("GATE_UPDATED", 2), ("MERGED", 1), ("ESCROW_RELEASED", 1)):
            check(actions.count(a) == count, f"{count} × {a} expected in {actions}")
        who = {a["action"]: (a["user"] or {}).get("username") for a in detail["audit"]}
        check((who["VALIDATED"], who["PR_LINKED"], who["GATE_UPDATED"]) == ("pete", "dave", "quinn"),
              f"audit authors: {who}")
        last = [a for a in detail["audit"] if a["action"] == "STATUS_CHANGED"][-1]
        check(last["user"]["username"] == "quinn", f"done by the QA: {last}")


async def run_flow(d, sessions, n):
    pid, pm_fund_tx = await planning(d, n)
    await development(d, sessions, pid, n, pm_fund_tx)


# ---------------------------------------------------------------- main

def baton(*args, stdin=None):
    r = subprocess.run([BATON, *args], env=ENV, input=stdin, capture_output=True, text=True, timeout=120)
    check(r.returncode == 0, f"baton {' '.join(args)} failed: {r.stderr}")
    return r.stdout.strip()


async def main():
    global CHAIN
    t0 = time.monotonic()
    CHAIN = FakePolygon()
    baton("migrate")
    tokens = {}
    for user, flags in USERS.items():
        baton("user", "create", "--username", user, *flags, "--password-stdin", stdin=f"{user}-password-1\n")
        tokens[user] = baton("token", "create", "--user", user, "--label", "market-e2e")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [BATON, "serve", "--bind", f"127.0.0.1:{port}", "--polygon-rpc", CHAIN.url, "--polygon-network", "amoy",
         "--polygon-escrow-address", ESCROW, "--polygon-tokens", f"USDC={USDC}",
         "--platform-fee-bps", str(FEE_BPS), "--platform-fee-flat", str(FEE_FLAT_MINOR)],
        env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    ok = False
    try:
        for _ in range(200):
            try:
                if http("GET", f"{base}/api/health")[0] == 200:
                    break
            except OSError:
                pass
            check(server.poll() is None, "baton serve exited")
            time.sleep(0.1)
        else:
            raise AssertionError("baton serve did not come up")
        TIMINGS.append(("", "set-up (users, tokens, serve)", time.monotonic() - t0))

        await run_flow(Rest(base, tokens), None, 1)

        async with contextlib.AsyncExitStack() as stack:
            sessions = {}
            for user, token in tokens.items():
                hc = await stack.enter_async_context(
                    httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=60))
                sessions[user] = await stack.enter_async_context(
                    Client(streamable_http_client(f"{base}/mcp", http_client=hc)))
            names = {t.name for t in (await sessions["clara"].list_tools()).tools}
            missing = sorted({tool for _, _, tool, _ in OPS.values()} - names)
            check(not missing, f"MCP tools missing: {missing}")
            await run_flow(Mcp(sessions), sessions, 2)
        ok = True
    finally:
        server.terminate()
        try:
            _, err = server.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            _, err = server.communicate()
        CHAIN.server.shutdown()
        if not ok and err:
            print(f"--- baton serve stderr (tail)\n{err[-4000:]}", file=sys.stderr)
        shutil.rmtree(DATA, ignore_errors=True)
    bad = [line for line in (err or "").splitlines() if "ERROR" in line or "panicked" in line]
    check(not bad, "baton serve logged errors:\n" + "\n".join(bad[:20]))
    total = time.monotonic() - t0
    receipts = sum(1 for m, _ in CHAIN.calls if m == "eth_getTransactionReceipt")
    print(f"\nsummary: {len([t for t in TIMINGS if t[0]])} steps over REST and MCP in {total:.1f} s; "
          f"{receipts} receipts checked by Baton on the fake Polygon node")
    for label in ("REST", "MCP"):
        print(f"  {label:4} {sum(t for lab, _, t in TIMINGS if lab == label):6.2f} s")
    print("ok  marketplace §1.3 end to end over REST and MCP")


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except AssertionError as e:
        print(f"FAIL {e}", file=sys.stderr)
        sys.exit(1)
