#!/usr/bin/env python3
"""The function under a real Lambda runtime loop, end to end.

The Rust tests call `lambda::handle` directly; this drives the built binary the way AWS
Lambda does: `cargo lambda watch --only-lambda-apis` emulates the Runtime API, the
binary (started with AWS_LAMBDA_RUNTIME_API set, so in its Lambda mode) polls it for
events, and its S3 is a moto server. The template's three functions each get their own
emulator: the dossier function (`submit-fn`) API Gateway v2 requests, the widgets
function (`widgets-fn`) the home page's, and the outbox worker (`outbox-worker`) the
EventBridge schedule, as the aws_lambda_events crate's own fixture has it.

    scripts/lambda_smoke.py [path/to/submit-fn]     (default target/debug/submit-fn;
                                                     the other two beside it)

Needs cargo-lambda and moto (pip); scripts/test.sh installs both.
"""

import base64
import glob
import json
import os
import subprocess
import sys
import sysconfig
import tempfile
import time
import urllib.parse
import urllib.request

from testkit import EXTRACT, EXTRACT_CODE, free_port, solve, wait_for_port

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BINARY = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "target/debug/submit-fn")
# The generator built beside it: the function runs on the bundle it writes, as deployed.
GENERATOR = os.environ.get("GENERATOR_BIN") or os.path.join(os.path.dirname(BINARY), "generator")
BUCKET = "motcua-lambda-smoke"


def http_event(method, path, body=None, base64_encoded=False, headers=None):
    """An API Gateway v2 (HTTP API / Function URL) request event."""
    return {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": "",
        "headers": {"host": "iapet.example.vn", "user-agent": "lambda-smoke", **(headers or {})},
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "smoke",
            "domainName": "iapet.example.vn",
            "domainPrefix": "iapet",
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1",
                     "sourceIp": "203.0.113.7", "userAgent": "lambda-smoke"},
            "requestId": f"smoke-{time.time_ns()}",
            "routeKey": "$default",
            "stage": "$default",
            "time": "25/Nov/2026:10:00:00 +0000",
            "timeEpoch": int(time.time() * 1000),
        },
        "body": body,
        "isBase64Encoded": base64_encoded,
    }


def schedule_event():
    """The EventBridge schedule fixture aws_lambda_events ships (in cargo's registry once
    the workspace is built), else the same event written out."""
    home = os.environ.get("CARGO_HOME") or os.path.expanduser("~/.cargo")
    found = sorted(glob.glob(os.path.join(
        home, "registry/src/*/aws_lambda_events-*/src/fixtures/example-eventbridge-schedule.json")))
    if found:
        with open(found[-1]) as f:
            return json.load(f)
    return SCHEDULE


SCHEDULE = {
    "version": "0",
    "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa",
    "detail-type": "Scheduled Event",
    "source": "aws.events",
    "account": "123456789012",
    "time": "2026-11-25T03:04:00Z",
    "region": "ap-southeast-1",
    "resources": ["arn:aws:events:ap-southeast-1:123456789012:rule/motcua-OutboxSchedule"],
    "detail": {},
}


def main():
    failures = []

    def check(ok, what):
        print(("ok    " if ok else "FAIL  ") + what)
        if not ok:
            failures.append(what)

    procs = []
    logs = tempfile.mkdtemp(prefix="motcua-lambda-smoke.")
    try:
        s3_port = free_port()
        moto = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(s3_port)],
            stdout=open(os.path.join(logs, "moto.log"), "w"), stderr=subprocess.STDOUT)
        procs.append(moto)
        wait_for_port(s3_port, moto, "moto")
        urllib.request.urlopen(urllib.request.Request(
            f"http://127.0.0.1:{s3_port}/{BUCKET}", method="PUT")).read()

        # The binary pip installed, called as cargo would call it (a fresh pyenv has no
        # shim for it until a rehash).
        cargo_lambda = os.path.join(sysconfig.get_path("scripts"), "cargo-lambda")
        if not os.path.exists(cargo_lambda):
            cargo_lambda = "cargo-lambda"
        env = {
            **os.environ,
            # What the emulator says a function under it must have.
            "AWS_LAMBDA_FUNCTION_NAME": "_",
            "AWS_LAMBDA_FUNCTION_VERSION": "1",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
            "AWS_REGION": "ap-southeast-1",
            "AWS_ACCESS_KEY_ID": "smoke",
            "AWS_SECRET_ACCESS_KEY": "smoke",
            "MOTCUA_BUCKET": BUCKET,
            "MOTCUA_S3_ENDPOINT": f"http://127.0.0.1:{s3_port}",
            "MOTCUA_PUBLIC_URL": "https://iapet.example.vn",
            "MOTCUA_SIGNING_KEY": "lambda-smoke-signing-key-0123456789abcdef",
            "MOTCUA_CAPTCHA_KEY": "lambda-smoke-captcha-key-fedcba9876543210",
            "MOTCUA_UNIT_CODE": "H21.IAPET",
        }
        # Packaged as infra/README.md says: the site and its function bundle from one
        # build of content/, the bundle beside the bootstrap (Lambda's working folder),
        # named as the template's MOTCUA_CATALOG names it.
        site = os.path.join(logs, "site")
        subprocess.run([GENERATOR, "--content", os.path.join(ROOT, "content"),
                        "--templates", os.path.join(ROOT, "templates"), "--out", site, "build"],
                       check=True, stdout=subprocess.DEVNULL)
        task = site + ".function"
        env["MOTCUA_CATALOG"] = "catalog.json"
        def start_function(binary, name, env):
            """`binary` in its Lambda mode under an emulator of its own; returns its
            process and a function that invokes it with one event."""
            port = free_port()
            emulator = subprocess.Popen(
                [cargo_lambda, "lambda", "watch", "--only-lambda-apis", "-A", "127.0.0.1", "-P", str(port)],
                cwd=ROOT, stdout=open(os.path.join(logs, f"emulator-{name}.log"), "w"),
                stderr=subprocess.STDOUT)
            procs.append(emulator)
            wait_for_port(port, emulator, "cargo lambda watch")
            process = subprocess.Popen(
                [binary], env={**env, "AWS_LAMBDA_RUNTIME_API": f"http://127.0.0.1:{port}/.rt"},
                cwd=task, stdout=open(os.path.join(logs, f"{name}.log"), "w"), stderr=subprocess.STDOUT)
            procs.append(process)

            def invoke(event):
                request = urllib.request.Request(
                    f"http://127.0.0.1:{port}/2015-03-31/functions/_/invocations",
                    data=json.dumps(event).encode(), method="POST",
                    headers={"content-type": "application/json"})
                with urllib.request.urlopen(request, timeout=60) as answer:
                    return json.loads(answer.read())
            return process, invoke

        function, invoke = start_function(BINARY, "function", env)

        r = invoke(http_event("GET", "/api/challenge"))
        body = json.loads(r.get("body") or "{}")
        check(r.get("statusCode") == 200 and {"challenge", "salt", "signature"} <= body.keys(),
              f"GET /api/challenge through the runtime: 200 with a challenge ({r.get('statusCode')})")

        r = invoke(http_event("POST", "/api/dossiers", body="%%% không phải base64 %%%",
                              base64_encoded=True, headers={"content-type": "application/json"}))
        check(r.get("statusCode") == 400 and "base64" in (r.get("body") or ""),
              f"a body marked base64 that does not decode: 400, not a crash ({r.get('statusCode')})")

        r = invoke(http_event("POST", "/api/dossiers",
                              body=json.dumps({"procedure": "9.999999", "idempotency_key": "smoke-00000001",
                                               "altcha": "", "values": {}}),
                              headers={"content-type": "application/json"}))
        check(400 <= r.get("statusCode", 0) < 500 and "Không có thủ tục" in (r.get("body") or ""),
              f"an unknown procedure: a 4xx in Vietnamese ({r.get('statusCode')})")

        # A whole submission, its receipt, and tracking, all through the runtime.
        submission = json.dumps({"procedure": EXTRACT_CODE, "idempotency_key": "lambda-smoke-0001",
                                 "altcha": solve(body), "values": EXTRACT}, ensure_ascii=False)
        r = invoke(http_event("POST", "/api/dossiers", body=submission,
                              headers={"content-type": "application/json"}))
        receipt = json.loads(r.get("body") or "{}").get("receipt", {})
        check(r.get("statusCode") == 201 and receipt.get("code", "").startswith("H21.IAPET-"),
              f"a dossier submitted: 201 with its code ({r.get('statusCode')} {(r.get('body') or '')[:300]})")
        again = invoke(http_event("POST", "/api/dossiers", body=submission,
                                  headers={"content-type": "application/json"}))
        check(again.get("statusCode") == 200
              and json.loads(again.get("body") or "{}").get("receipt", {}).get("code") == receipt.get("code"),
              f"the same submission again: the same receipt ({again.get('statusCode')})")
        listing = urllib.request.urlopen(
            f"http://127.0.0.1:{s3_port}/{BUCKET}?list-type=2&prefix=dossiers/").read().decode()
        check(listing.count("dossier.json</Key>") == 1, "one manifest in the bucket (moto)")
        code, token = receipt.get("code", ""), receipt.get("tracking_token", "")
        track = http_event("GET", "/api/track")
        track["rawQueryString"] = urllib.parse.urlencode({"code": code, "token": token})
        track["queryStringParameters"] = {"code": code, "token": token}
        track["headers"]["accept"] = "application/json"
        r = invoke(track)
        check(r.get("statusCode") == 200 and code in (r.get("body") or ""),
              f"tracking with the receipt's token ({r.get('statusCode')})")

        # The function's own pages wear the site's published stylesheet and header.
        r = invoke(http_event("GET", "/api/track"))
        page = r.get("body") or ""
        if r.get("isBase64Encoded"):
            page = base64.b64decode(page).decode()
        css = page.split('<link rel="stylesheet" href="', 1)[-1].split('"', 1)[0]
        check(r.get("statusCode") == 200 and css.startswith("/assets/site.")
              and os.path.isfile(os.path.join(site, css.lstrip("/")))
              and '<header class="top">' in page,
              f"the tracking page links the published stylesheet ({css}) and the site's header")

        # The outbox worker: the schedule, typed; nothing else.
        bin_dir = os.path.dirname(BINARY)
        worker, invoke_worker = start_function(os.path.join(bin_dir, "outbox-worker"), "worker", env)
        r = invoke_worker(schedule_event())
        check(isinstance(r, dict) and "sent" in r and "index" in r,
              f"the outbox worker on the EventBridge schedule: a delivery pass and the index upkeep ({json.dumps(r)[:200]})")

        # The widgets function: its own, with no secret in its environment.
        widgets_env = {k: v for k, v in env.items()
                       if k not in ("MOTCUA_SIGNING_KEY", "MOTCUA_CAPTCHA_KEY", "MOTCUA_PUBLIC_URL")}
        widgets, invoke_widgets = start_function(os.path.join(bin_dir, "widgets-fn"), "widgets", widgets_env)
        r = invoke_widgets(http_event("POST", "/api/stats", body=json.dumps({"sid": "lambda-smoke-visit"}),
                                      headers={"content-type": "application/json"}))
        figures = json.loads(r.get("body") or "{}")
        check(r.get("statusCode") == 200 and figures.get("today") == 1 and figures.get("total") == 1,
              f"the widgets function counts a visit once ({r.get('statusCode')} {r.get('body')})")
        # Its own schedule folds the visits into the figures a view reads.
        r = invoke_widgets(schedule_event())
        check(isinstance(r, dict) and (r.get("stats") or {}).get("Ok", {}).get("today") == 1,
              f"the widgets function on its schedule folds the figures ({json.dumps(r)[:200]})")
        r = invoke_widgets(http_event("GET", "/api/stats"))
        check(r.get("statusCode") == 200 and json.loads(r.get("body") or "{}").get("today") == 1,
              f"... and answers the folded figures ({r.get('statusCode')} {r.get('body')})")

        for name, p in (("function", function), ("worker", worker), ("widgets", widgets)):
            check(p.poll() is None, f"the {name} is still running after every event")
    finally:
        for p in reversed(procs):
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
    if failures:
        for name in sorted(n for n in os.listdir(logs) if n.endswith(".log")):
            print(f"--- {name} (last lines)")
            with open(os.path.join(logs, name)) as f:
                print("".join(f.readlines()[-30:]))
        sys.exit(f"{len(failures)} Lambda smoke check(s) failed")
    print("Lambda runtime smoke test passed")


if __name__ == "__main__":
    main()
