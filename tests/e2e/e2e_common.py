"""Helpers shared by the end-to-end scripts in this folder."""

import json
import socket
import urllib.error
import urllib.request


def check(cond, msg):
    if not cond:
        raise AssertionError(msg)


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
