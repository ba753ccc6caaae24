#!/usr/bin/env bash
# Runs every test of Một Cửa, installing what the tests need on a fresh machine
# (beyond the Rust toolchain): Debian's Chromium, the Nu Html Checker's Java, tesseract
# with Vietnamese (the photo test's OCR), the npm
# packages of the browser tests, and the Python test tools (moto, aiosmtpd, cfn-lint,
# cargo-lambda for its Lambda Runtime API emulator).
#
#   scripts/test.sh            everything
#   SKIP_E2E=1 scripts/test.sh  without the browser tests
#   SKIP_README_COMMAND=1 ...   without running the README's first command (its release
#                               build takes about 20 minutes the first time)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

say() { printf '\n== %s\n' "$*"; }

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

say "Installing what the tests need"
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v java >/dev/null 2>&1 || missing+=(default-jre-headless)
command -v curl >/dev/null 2>&1 || missing+=(curl)
# The photo test reads a photographed form before and after it is made smaller (OCR).
command -v tesseract >/dev/null 2>&1 || missing+=(tesseract-ocr)
[ -e /usr/share/tesseract-ocr/5/tessdata/vie.traineddata ] || ls /usr/share/tesseract-ocr/*/tessdata/vie.traineddata >/dev/null 2>&1 || missing+=(tesseract-ocr-vie)
if [ ${#missing[@]} -gt 0 ]; then
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "${missing[@]}" >/dev/null
fi
python3 -m pip install -q --disable-pip-version-check aiosmtpd 'moto[server]' cfn-lint cargo-lambda 2>&1 | grep -v "Running pip as the 'root' user" || true
(cd e2e && npm ci --no-audit --no-fund --loglevel=error)

say "Building once (debug, all targets)"
# A clean build takes about 2.5 GB under target/; a full disk shows up as a linker
# killed by SIGBUS, which says nothing about the cause.
free_kib=$(df -Pk . | awk 'NR==2 {print $4}')
if [ "$free_kib" -lt $((4 * 1024 * 1024)) ]; then
  echo "warning: only $((free_kib / 1024)) MiB free on this disk; the build needs about 2.5 GB." >&2
fi
cargo build --workspace --all-targets

say "Unit, integration, snapshot and router tests (embedded S3 store)"
cargo test --workspace

say "Storage tests again against a second S3 implementation (moto)"
moto_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
python3 -m moto.server -H 127.0.0.1 -p "$moto_port" >/tmp/motcua-moto.log 2>&1 &
moto_pid=$!
trap 'kill $moto_pid 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$moto_port/" >/dev/null 2>&1 && break; sleep 0.2; done
# The whole workspace, so that cargo reuses the build above (building one crate alone
# would unify features differently and compile it again); only the web crate's storage
# tests, and the widgets', read MOTCUA_TEST_S3_ENDPOINT.
MOTCUA_TEST_S3_ENDPOINT="http://127.0.0.1:$moto_port" cargo test --workspace --tests
kill $moto_pid 2>/dev/null || true

say "The function under a Lambda runtime loop (cargo lambda's Runtime API emulator, moto)"
python3 scripts/lambda_smoke.py "$root/target/debug/submit-fn"

say "The Lambda build carries no development store (cargo tree)"
# What `cargo lambda build -p submit-fn --no-default-features` links (infra/README.md).
dev_only=$(cargo tree -p submit-fn --no-default-features -e normal --prefix none | grep -E '^(dev-store|s3s|s3s-fs|xattr) ' | sort -u || true)
if [ -n "$dev_only" ]; then
  echo "The Lambda build of submit-fn would link the embedded development store:" >&2
  echo "$dev_only" >&2
  exit 1
fi
echo "submit-fn --no-default-features: no dev-store, s3s, s3s-fs or xattr"

say "The architecture's rules (cargo tree, module circles)"
# The rules are plain Rust: no I/O crate under catalog and dossier, and their tests
# build without the AWS SDK.
for core in catalog dossier; do
  io=$(cargo tree -p "$core" -e normal,build,dev --prefix none | grep -E '^(tokio|axum|hyper|lettre|aws-[a-z-]+|s3s|lambda_http) ' | sort -u || true)
  if [ -n "$io" ]; then
    echo "$core depends on I/O crates; its rules must take plain values:" >&2
    echo "$io" >&2
    exit 1
  fi
  echo "$core: no tokio, axum, hyper, lettre, AWS SDK or s3s (tests included)"
done
python3 scripts/module_cycles.py

if [ -f infra/template.yaml ]; then
  say "Infrastructure template (cfn-lint)"
  # Through python3 so that a fresh pyenv needs no shim rehash.
  python3 -c 'import sys; from cfnlint.runner import main; sys.argv[0] = "cfn-lint"; sys.exit(main())' infra/template.yaml infra/waf.yaml
fi

if [ -z "${SKIP_E2E:-}" ]; then
  say "End-to-end tests in headless Chromium (axe-core, Nu Html Checker)"
  GENERATOR_BIN="$root/target/debug/generator" e2e/run.sh

  say "End-to-end tests again, production-shaped (CloudFront from the template, the Lambda runtime emulator, moto)"
  E2E_STACK=prod GENERATOR_BIN="$root/target/debug/generator" SUBMIT_FN_BIN="$root/target/debug/submit-fn" e2e/run.sh
fi

if [ -z "${SKIP_README_COMMAND:-}" ]; then
  say "The README's first command, as the README writes it (the one release build)"
  # Read from README.md, not copied here: a README edit that breaks it fails this step.
  python3 scripts/readme_first_command.py
fi

say "All tests passed"
