#!/usr/bin/env bash
# Lighthouse (mobile) performance and accessibility of the home, a procedure and a form
# page, against a running `generator serve` (default http://127.0.0.1:8080).
#
#   npm install --prefix /tmp/lh lighthouse@12     (once; works offline from the registry)
#   bench/lighthouse.sh [BASE_URL]
set -euo pipefail
base=${1:-http://127.0.0.1:8080}
lh=${LIGHTHOUSE:-/tmp/lh/node_modules/.bin/lighthouse}
export CHROME_PATH=${CHROME_PATH:-/usr/bin/chromium}
out=$(mktemp -d)
for page in / /thu-tuc/dang-ky-khai-sinh/ /thu-tuc/dang-ky-khai-sinh/nop-truc-tuyen/ /thu-tuc/cap-ban-sao-trich-luc-ho-tich/nop-truc-tuyen/; do
  "$lh" "$base$page" --quiet --output=json --output-path="$out/r.json" \
    --only-categories=performance,accessibility --form-factor=mobile \
    --chrome-flags="--headless=new --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking --disable-component-update --disable-sync" >/dev/null 2>&1
  node -e '
    const r = require(process.argv[1]);
    const c = r.categories, a = r.audits;
    console.log(`${process.argv[2].padEnd(52)} performance ${Math.round(c.performance.score*100)}  accessibility ${Math.round(c.accessibility.score*100)}  FCP ${a["first-contentful-paint"].displayValue}  LCP ${a["largest-contentful-paint"].displayValue}  TBT ${a["total-blocking-time"].displayValue}  CLS ${a["cumulative-layout-shift"].displayValue}`);
  ' "$out/r.json" "$page"
done
rm -rf "$out"
