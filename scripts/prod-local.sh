#!/usr/bin/env bash
# The production-shaped stack on this machine, one command:
#
#   scripts/prod-local.sh [PORT]        (default 8090)
#
# Builds the two programs (debug) and the site, then runs e2e/prod-stack.js: the site
# deployed with `generator deploy` into moto and served with the response headers,
# rewrites and error pages of the CloudFront distribution in infra/template.yaml (read
# from the template itself), and /api/* reaching the `submit-fn` binary in its Lambda
# mode, as API Gateway payload-2.0 events under cargo-lambda's Runtime API emulator.
# What a citizen would meet on AWS, at http://127.0.0.1:PORT/. Ctrl+C stops it all.
#
# Needs moto and cargo-lambda (pip) and the e2e packages (npm ci in e2e/): installed
# here when missing, as scripts/test.sh does.
set -euo pipefail
cd "$(dirname "$0")/.."
port="${1:-8090}"

python3 -c 'import moto' 2>/dev/null && python3 -m pip show cargo-lambda >/dev/null 2>&1 \
  || python3 -m pip install -q --disable-pip-version-check 'moto[server]' cargo-lambda
[ -d e2e/node_modules/yaml ] || (cd e2e && npm ci --no-audit --no-fund --loglevel=error)

cargo build -p generator -p submit-fn
out="${SITE_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/motcua-prod-site.XXXXXX")/site}"
target/debug/generator build --out "$out"
GENERATOR_BIN="$PWD/target/debug/generator" SUBMIT_FN_BIN="$PWD/target/debug/submit-fn" \
  exec node e2e/prod-stack.js --port "$port" --site "$out"
