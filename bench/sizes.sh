#!/usr/bin/env bash
# Compressed (gzip -9) bytes of each page type of the built site and of its scripts.
#   cargo run --release -p generator -- build && bench/sizes.sh [site]
set -euo pipefail
site=${1:-site}
gz() { gzip -9c "$1" | wc -c; }
css=$(ls "$site"/assets/site.*.css)
printf '%-44s %8s %8s\n' "page" "bytes" "gzip"
for p in index.html thu-tuc/dang-ky-khai-sinh/index.html thu-tuc/dang-ky-khai-sinh/nop-truc-tuyen/index.html \
         thu-tuc/dang-ky-khai-sinh/mau-in/index.html tin-tuc/index.html tra-cuu/index.html tim-kiem/index.html \
         lien-he/index.html 404.html can-bo/index.html; do
  [ -f "$site/$p" ] && printf '%-44s %8d %8d\n' "$p" "$(wc -c <"$site/$p")" "$(gz "$site/$p")"
done
for a in "$css" "$site"/assets/*.js; do
  printf '%-44s %8d %8d\n' "${a#"$site"/}" "$(wc -c <"$a")" "$(gz "$a")"
done
proc=$(( $(gz "$site/thu-tuc/dang-ky-khai-sinh/index.html") + $(gz "$css") ))
# What the form page loads before the citizen acts: form.js, the proof-of-work worker and
# the service worker's registration (offline.js). drafts.js (a draft exists or the
# citizen types) and photo.js (a photo is chosen) load only when used; sw.js runs beside.
form_js=$(( $(gz "$(ls "$site"/assets/form.*.js)") + $(gz "$(ls "$site"/assets/altcha-worker.*.js)") + $(gz "$(ls "$site"/assets/offline.*.js)") ))
[ -f "$site/sw.js" ] && printf '%-44s %8d %8d\n' "sw.js" "$(wc -c <"$site/sw.js")" "$(gz "$site/sw.js")"
echo "procedure page + CSS, gzip: $proc bytes (target < 14336)"
echo "form page JavaScript before the citizen acts (form.js + worker + offline.js), gzip: $form_js bytes (target < 15360)"
echo "  loaded when used: drafts.js $(gz "$(ls "$site"/assets/drafts.*.js)"), photo.js $(gz "$(ls "$site"/assets/photo.*.js)") bytes gzip"
