#!/usr/bin/env python3
"""Counts the requests one client can make on each limited route of a running local
server before it answers 429 (crates/web/src/limits.rs), each route from its own
loopback source address so that the routes' counts do not mix.

    python3 scripts/limits_probe.py [host:port]     (default 127.0.0.1:8787)

Start the server first, e.g. `cargo run -p submit-fn` or `generator serve`. The
function's data is not touched: the bodies are refused (400/401/422) before anything
is stored, and they still count, as the WAF counts them.
"""
import http.client
import json
import sys

ADDR = sys.argv[1] if len(sys.argv) > 1 else "127.0.0.1:8787"
HOST, PORT = ADDR.rsplit(":", 1)
ROUTES = [
    ("dossiers", "POST", "/api/dossiers", "application/json", b"{}"),
    ("uploads", "POST", "/api/uploads", "application/json", b"{}"),
    ("login", "POST", "/api/admin/login", "application/json", b"{}"),
    ("api", "GET", "/api/health", None, None),
]


def probe(source, method, path, content_type, body, ceiling=5000):
    conn = http.client.HTTPConnection(HOST, int(PORT), timeout=10, source_address=(source, 0))
    for n in range(ceiling):
        headers = {"content-type": content_type} if content_type else {}
        conn.request(method, path, body=body, headers=headers)
        r = conn.getresponse()
        text = r.read()
        if r.status == 429:
            return n, r.getheader("retry-after"), json.loads(text).get("message", "")
    return ceiling, None, ""


for i, (name, method, path, ct, body) in enumerate(ROUTES):
    allowed, retry_after, message = probe(f"127.0.0.{10 + i}", method, path, ct, body)
    print(f"{name:9} {method} {path:20} {allowed:5} requests before 429 "
          f"(Retry-After: {retry_after} s) {message[:70]}…")
