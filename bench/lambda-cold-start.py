#!/usr/bin/env python3
"""Cold start of the Lambda build, under cargo-lambda's Runtime API emulator.

    cargo lambda build --release -p submit-fn --no-default-features --bin submit-fn
    python3 bench/lambda-cold-start.py [target/lambda/submit-fn/bootstrap] [ROUNDS]

Each round starts the bootstrap as Lambda would (its working folder holding the
catalogue `generator build` wrote, as infra/README.md packages it; S3 is moto) and
times, from the process start: its first poll of the Runtime API (the init: the SDK
client and the catalogue loaded), and the answer to a first API Gateway event
(`GET /api/health`, then `GET /api/challenge`). Prints the bootstrap's size and the
medians. The Lambda service's own start (download, sandbox) is not in these figures.
"""

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scripts"))
from testkit import free_port, wait_for_port  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BOOTSTRAP = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "target/lambda/submit-fn/bootstrap"))
ROUNDS = int(sys.argv[2]) if len(sys.argv) > 2 else 20
BUCKET = "motcua-cold-start"


def event(path):
    return {
        "version": "2.0", "routeKey": "$default", "rawPath": path, "rawQueryString": "",
        "headers": {"host": "iapet.example.vn"},
        "requestContext": {"accountId": "1", "apiId": "bench", "domainName": "iapet.example.vn",
                           "domainPrefix": "iapet", "http": {"method": "GET", "path": path,
                           "protocol": "HTTP/1.1", "sourceIp": "203.0.113.7", "userAgent": "bench"},
                           "requestId": f"bench-{time.time_ns()}", "routeKey": "$default",
                           "stage": "$default", "time": "01/Dec/2026:10:00:00 +0000",
                           "timeEpoch": int(time.time() * 1000)},
        "isBase64Encoded": False,
    }


def main():
    procs = []
    work = tempfile.mkdtemp(prefix="motcua-cold.")
    try:
        generator = os.path.join(ROOT, "target/release/generator")
        if not os.path.exists(generator):
            generator = os.path.join(ROOT, "target/debug/generator")
        subprocess.run([generator, "build", "--out", os.path.join(work, "site")], cwd=ROOT,
                       check=True, stdout=subprocess.DEVNULL)
        task = os.path.join(work, "task")
        shutil.copytree(os.path.join(work, "site.function"), task)

        s3_port, api_port = free_port(), free_port()
        moto = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(s3_port)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        procs.append(moto)
        wait_for_port(s3_port, moto, "moto")
        urllib.request.urlopen(urllib.request.Request(f"http://127.0.0.1:{s3_port}/{BUCKET}", method="PUT")).read()
        cargo_lambda = shutil.which("cargo-lambda") or "cargo-lambda"
        emulator = subprocess.Popen([cargo_lambda, "lambda", "watch", "--only-lambda-apis", "-A", "127.0.0.1",
                                     "-P", str(api_port)], cwd=ROOT, stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL)
        procs.append(emulator)
        wait_for_port(api_port, emulator, "cargo lambda watch")
        env = {**os.environ,
               "AWS_LAMBDA_RUNTIME_API": f"http://127.0.0.1:{api_port}/.rt",
               "AWS_LAMBDA_FUNCTION_NAME": "_", "AWS_LAMBDA_FUNCTION_VERSION": "1",
               "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256", "AWS_REGION": "ap-southeast-1",
               "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench",
               "MOTCUA_BUCKET": BUCKET, "MOTCUA_S3_ENDPOINT": f"http://127.0.0.1:{s3_port}",
               "MOTCUA_CATALOG": "catalog.json", "MOTCUA_PUBLIC_URL": "https://iapet.example.vn",
               "MOTCUA_SIGNING_KEY": "cold-start-signing-key-0123456789abcdef",
               "MOTCUA_CAPTCHA_KEY": "cold-start-captcha-key-fedcba9876543210",
               "RUST_LOG": "warn"}

        def invoke(path):
            request = urllib.request.Request(
                f"http://127.0.0.1:{api_port}/2015-03-31/functions/_/invocations",
                data=json.dumps(event(path)).encode(), method="POST",
                headers={"content-type": "application/json"})
            with urllib.request.urlopen(request, timeout=60) as answer:
                return json.loads(answer.read())

        firsts, challenges = [], []
        for _ in range(ROUNDS):
            started = time.perf_counter()
            fn = subprocess.Popen([BOOTSTRAP], cwd=task, env=env, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)
            try:
                # Queued by the emulator until the function's first poll: so this times
                # the init and the first answer together.
                r = invoke("/api/health")
                firsts.append((time.perf_counter() - started) * 1000)
                assert r.get("statusCode") == 200, r
                t = time.perf_counter()
                r = invoke("/api/challenge")
                challenges.append((time.perf_counter() - t) * 1000)
                assert r.get("statusCode") == 200, r
            finally:
                fn.terminate()
                fn.wait()
        size = os.path.getsize(BOOTSTRAP)
        print(f"bootstrap: {size / 1e6:.1f} MB ({BOOTSTRAP})")
        print(f"process start → first answer (init included): median {statistics.median(firsts):.1f} ms, "
              f"min {min(firsts):.1f}, max {max(firsts):.1f} over {ROUNDS} starts   [target < 50 ms]")
        print(f"second request (a challenge): median {statistics.median(challenges):.1f} ms")
    finally:
        for p in procs:
            p.terminate()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
