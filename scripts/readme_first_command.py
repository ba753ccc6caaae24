#!/usr/bin/env python3
"""The README's first command, run exactly as the README writes it, as a newcomer would.

Reads the command from README.md ("The two commands", the first `sh` block), runs it from
the repository's root, and checks what a newcomer meets:

1. it builds and serves the site, and `/api/health` answers;
2. a dossier can be submitted through it (the ALTCHA proof of work solved here, as the
   form's worker does) and tracked with its receipt's token;
3. the same command again while the first runs: a clear Vietnamese message that names
   `--addr`, a failing exit status, and the first server unharmed;
4. Ctrl+C (SIGINT to the terminal's process group): a clean stop, with no half-written
   file left in the site or the data folder;
5. the command once more, with the data folder already there: it starts, and the dossier
   sent before is still tracked.

It also checks that `.ci/run` runs the README's second command. A README edit that breaks
either command fails this script.

    scripts/readme_first_command.py

The first run builds in release mode (about 20 minutes on 2 cores).
"""

import json
import os
import re
import shlex
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

from testkit import EXTRACT, EXTRACT_CODE, solve

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
READY = re.compile(r"Trang web đang chạy tại (http://\S+?)/?\s")
FIRST_BUILD_SECONDS = 60 * 60
failures = []


def check(ok, what):
    print(("ok    " if ok else "FAIL  ") + what, flush=True)
    if not ok:
        failures.append(what)
    return ok


def readme_commands():
    """The `sh` blocks under "## The two commands", each a list of command lines."""
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
        text = f.read()
    section = text.split("## The two commands", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```sh\n(.*?)```", section, re.S)
    return [[line for line in b.splitlines() if line.strip() and not line.startswith("#")]
            for b in blocks]


class Server:
    """The command in its own process group, as a terminal runs it; its output echoed."""

    def __init__(self, command, label):
        self.label = label
        self.lines = []
        self.url = None
        self.ready = threading.Event()
        self.proc = subprocess.Popen(
            shlex.split(command), cwd=ROOT, start_new_session=True,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, encoding="utf-8")
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            self.lines.append(line)
            print(f"  [{self.label}] {line}", end="", flush=True)
            m = READY.search(line)
            if m and not self.url:
                self.url = m.group(1)
                self.ready.set()

    def output(self):
        return "".join(self.lines)

    def wait_ready(self, seconds):
        deadline = time.time() + seconds
        while time.time() < deadline:
            if self.ready.wait(1):
                return True
            if self.proc.poll() is not None:
                return False
        return False

    def interrupt(self, seconds=60):
        """Ctrl+C: SIGINT to the whole process group."""
        os.killpg(self.proc.pid, signal.SIGINT)
        try:
            return self.proc.wait(timeout=seconds)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
            return None

    def kill(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()


def get(url, accept=None):
    request = urllib.request.Request(url, headers={"accept": accept} if accept else {})
    try:
        with urllib.request.urlopen(request, timeout=30) as r:
            return r.status, r.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode("utf-8", "replace")


def post_json(url, value):
    request = urllib.request.Request(
        url, data=json.dumps(value, ensure_ascii=False).encode(), method="POST",
        headers={"content-type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=60) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode("utf-8", "replace")


def leftovers():
    """Files a write cut short would leave: the build's staging folders, a rebuild's
    temporary pages, the function catalogue's temporary file, the embedded store's
    unfinished objects."""
    found = [p for p in (".site.staging", ".site.old") if os.path.exists(os.path.join(ROOT, p))]
    for top in ("site", "site.function", "data"):
        for folder, _, files in os.walk(os.path.join(ROOT, top)):
            found += [os.path.join(folder, f) for f in files
                      if f.endswith((".tmp~", ".motcua-part", ".json.tmp"))]
    return found


def main():
    commands = readme_commands()
    if not check(len(commands) >= 2 and len(commands[0]) == 1 and len(commands[1]) == 1,
                 f"README: two commands of one line each under 'The two commands' ({commands})"):
        sys.exit(1)
    first, second = commands[0][0], commands[1][0]
    with open(os.path.join(ROOT, ".ci", "run"), encoding="utf-8") as f:
        ci = f.read()
    check(re.search(r"^\s*(exec\s+)?" + re.escape(second) + r"\s*$", ci, re.M) is not None,
          f".ci/run runs the README's second command ({second})")

    print(f"The README's first command: {first}", flush=True)
    server = Server(first, "serve")
    try:
        started = time.time()
        if not check(server.wait_ready(FIRST_BUILD_SECONDS),
                     "the command builds the site and serves it"):
            print(server.output()[-4000:])
            sys.exit(1)
        print(f"  ready after {time.time() - started:.0f} s at {server.url}", flush=True)
        base = server.url

        status, home = get(base + "/")
        check(status == 200 and "<html" in home, f"the home page answers ({status})")
        status, health = get(base + "/api/health")
        check(status == 200 and json.loads(health).get("ok") is True,
              f"/api/health answers ok ({status} {health[:100]})")

        status, challenge = get(base + "/api/challenge")
        check(status == 200, f"a proof-of-work challenge ({status})")
        key = f"readme-first-command-{time.time_ns()}"
        status, answer = post_json(base + "/api/dossiers", {
            "procedure": EXTRACT_CODE, "idempotency_key": key,
            "altcha": solve(json.loads(challenge)), "values": EXTRACT})
        receipt = answer.get("receipt", {}) if isinstance(answer, dict) else {}
        code, token = receipt.get("code", ""), receipt.get("tracking_token", "")
        check(status == 201 and code and token,
              f"a dossier submitted through it: 201 with a code ({status} {str(answer)[:300]})")
        track_url = base + "/api/track?" + urllib.parse.urlencode({"code": code, "token": token})
        status, tracked = get(track_url, accept="application/json")
        check(status == 200 and code in tracked, f"the dossier tracked with its token ({status})")

        twin = Server(first, "serve again")
        try:
            twin.proc.wait(timeout=600)
        except subprocess.TimeoutExpired:
            twin.kill()
        said = twin.output()
        check(twin.proc.returncode not in (0, None), f"the same command while the port is taken fails ({twin.proc.returncode})")
        check("--addr" in said and "cổng" in said and "Cách sửa" in said,
              "…saying in Vietnamese that the port is taken and how to choose another with --addr")
        check(not twin.ready.is_set(), "…without serving or rebuilding anything")
        status, _ = get(base + "/api/health")
        check(status == 200, "the first server still answers")

        exit_status = server.interrupt()
        check(exit_status == 0, f"Ctrl+C stops it cleanly (exit {exit_status})")
        check("Đã dừng" in server.output(), "…and it says it stopped")
        left = leftovers()
        check(not left, f"nothing half-written left behind ({left[:5]})")
        check(os.path.isfile(os.path.join(ROOT, "site", "index.html")), "the built site is still there")

        again = Server(first, "serve, second time")
        try:
            check(again.wait_ready(600), "a second run in the same clone (data folder there) starts")
            status, tracked = get(track_url, accept="application/json")
            check(status == 200 and code in tracked,
                  f"…and still tracks the dossier sent in the first run ({status})")
            exit_status = again.interrupt()
            check(exit_status == 0, f"…and stops cleanly (exit {exit_status})")
        finally:
            again.kill()
    finally:
        server.kill()

    if failures:
        sys.exit(f"{len(failures)} check(s) of the README's first command failed")
    print("The README's first command works as written")


if __name__ == "__main__":
    main()
