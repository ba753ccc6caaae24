#!/usr/bin/env bash
# End-to-end tests of Một Cửa in a real browser against the real system.
#
#   e2e/run.sh [test files…]
#
# Installs nothing (.ci/run installs Debian's chromium and runs `npm ci` here). Builds and
# starts `generator serve` (site + function at /api, embedded S3 in a temporary folder) on
# a free local port, waits until it answers, runs the tests with node's test runner and
# stops the server. Environment:
#   GENERATOR_BIN   a generator binary to use instead of `cargo run --release -p generator`
#   PORT            the port to serve on (default: a free one)
#   CHROMIUM        the browser (default /usr/bin/chromium)
#   E2E_STACK=prod  run against the production-shaped stack instead (e2e/prod-stack.js:
#                   the distribution of infra/template.yaml, the function binary in its
#                   Lambda mode under cargo-lambda's emulator, moto as S3); needs
#                   GENERATOR_BIN and SUBMIT_FN_BIN (default target/debug/submit-fn).
#                   Tests that reach into the embedded store's folder are left out.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
cd "$root"

[ -x "${CHROMIUM:-/usr/bin/chromium}" ] || { echo "Không thấy trình duyệt ${CHROMIUM:-/usr/bin/chromium} (apt-get install chromium)." >&2; exit 2; }
[ -d "$here/node_modules/playwright-core" ] || { echo "Chưa cài gói cho e2e: chạy 'npm ci' trong e2e/." >&2; exit 2; }

# The payment gateway as the tests play it (tests/gateway.test.js): VNPAY's protocol,
# with a terminal code and secret of the tests' own, in both stacks.
export MOTCUA_VNPAY_TMN_CODE="${MOTCUA_VNPAY_TMN_CODE:-E2ETEST1}"
export MOTCUA_VNPAY_HASH_SECRET="${MOTCUA_VNPAY_HASH_SECRET:-e2e-vnpay-secret-0123456789abcdef0123}"

port="${PORT:-$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')}"
data="$(mktemp -d "${TMPDIR:-/tmp}/motcua-e2e.XXXXXX")"
log="$data/serve.log"

if [ "${E2E_STACK:-}" = prod ]; then
  [ -n "${GENERATOR_BIN:-}" ] || { echo "E2E_STACK=prod needs GENERATOR_BIN." >&2; exit 2; }
  "$GENERATOR_BIN" build --out "$data/site" >"$data/build.log" 2>&1 || { cat "$data/build.log" >&2; exit 1; }
  export SITE_DIR="$data/site"
  cmd=(node "$here/prod-stack.js" --port "$port" --site "$data/site")
elif [ -n "${GENERATOR_BIN:-}" ]; then
  cmd=("$GENERATOR_BIN" serve --addr "127.0.0.1:$port" --data "$data/store")
else
  cargo build --release -p generator
  cmd=(cargo run --release -q -p generator -- serve --addr "127.0.0.1:$port" --data "$data/store")
fi
"${cmd[@]}" >"$log" 2>&1 &
server=$!
stop() {
  kill "$server" 2>/dev/null || true
  wait "$server" 2>/dev/null || true
  rm -rf "$data"
}
trap stop EXIT

for _ in $(seq 1 300); do
  if curl -fs "http://127.0.0.1:$port/api/health" >/dev/null 2>&1; then ready=1; break; fi
  if ! kill -0 "$server" 2>/dev/null; then echo "Máy chủ dừng khi khởi động:" >&2; cat "$log" >&2; exit 1; fi
  sleep 0.2
done
if [ -z "${ready:-}" ]; then echo "Máy chủ không trả lời /api/health sau 60 giây:" >&2; cat "$log" >&2; exit 1; fi

export E2E_BASE="http://127.0.0.1:$port"
cd "$here"
if [ "${E2E_STACK:-}" = prod ]; then
  # The store is moto: the officers' CLI reaches it as on AWS, through the S3 API.
  for _ in $(seq 1 50); do grep -q '^moto ' "$log" && break; sleep 0.1; done
  read -r _ E2E_S3_ENDPOINT _ E2E_BUCKET < <(grep '^moto ' "$log")
  export E2E_S3_ENDPOINT E2E_BUCKET
  if [ $# -eq 0 ]; then set -- $(ls tests/*.test.js | grep -v console-actions); fi
else
  export E2E_DATA="$data/store"   # the server's data folder (embedded S3 in s3/, secrets/)
  export SITE_DIR="$root/site"
  if [ $# -eq 0 ]; then set -- tests/*.test.js; fi
fi
status=0
node --test --test-concurrency=1 --test-reporter=spec "$@" || status=$?
if [ "${E2E_STACK:-}" = prod ]; then
  # The personal data the tests typed (e2e/lib.js, answers()) never reaches the
  # functions' logs (CloudWatch on AWS): Law 91/2025/QH15 on personal data protection.
  logs=$(sed -n 's/^logs //p' "$log" | head -n 1)
  if [ -z "$logs" ] || ! ls "$logs"/function-*.log >/dev/null 2>&1; then
    echo "Không thấy nhật ký của các hàm (dòng 'logs …' của prod-stack.js)." >&2; status=1
  elif grep -El '064090012345|064195012345|0912 ?345 ?678|hoa\.nguyen@example\.com' "$logs"/function-*.log >&2; then
    echo "Dữ liệu cá nhân (số định danh, điện thoại, thư) trong nhật ký của hàm ở trên." >&2; status=1
  else
    echo "Nhật ký của các hàm: không có số định danh, điện thoại hay địa chỉ thư nào đã nhập."
  fi
fi
if [ $status -ne 0 ]; then echo "--- nhật ký máy chủ (cuối) ---" >&2; tail -n 40 "$log" >&2; fi
exit $status
