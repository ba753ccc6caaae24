#!/usr/bin/env bash
# Load test of the home page's widgets over loopback with wrk (apt-get install wrk),
# against the real local function and its embedded store:
#   1. many new visitors at once: the counters must equal the visits answered 2xx;
#   2. many new voters at once, each voting twice: the poll's total must equal the votes
#      answered 201, and every second vote must be refused (409).
#   bench/stats-load.sh [SECONDS] [CONNECTIONS]
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}; conns=${2:-32}
cargo build --release -q -p submit-fn --bin submit-fn
data=$(mktemp -d /dev/shm/motcua-stats.XXXXXX)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
MOTCUA_ADDR=127.0.0.1:$port MOTCUA_DATA_DIR=$data target/release/submit-fn >"$data/log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; rm -rf "$data"' EXIT
for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$port/api/health" >/dev/null && break; sleep 0.1; done
before=$(curl -fs "http://127.0.0.1:$port/api/stats")
wrk -t2 -c"$conns" -d"${secs}s" --latency -s bench/stats-load.lua "http://127.0.0.1:$port" | tee "$data/wrk.txt"
# Requests the client gave up on (timeouts) may still be finishing on the server.
sleep 5
after=$(curl -fs "http://127.0.0.1:$port/api/stats")
echo "before: $before"
echo "after:  $after"

echo
echo "== votes"
before=$(curl -fs "http://127.0.0.1:$port/api/polls/tim-thay-trang")
wrk -t2 -c"$conns" -d"${secs}s" --latency -s bench/poll-load.lua "http://127.0.0.1:$port" | tee "$data/wrk-poll.txt"
sleep 5
after=$(curl -fs "http://127.0.0.1:$port/api/polls/tim-thay-trang")
echo "before: $before"
echo "after:  $after"
