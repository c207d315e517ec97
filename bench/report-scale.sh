#!/usr/bin/env bash
# Benchmark (issue 5): every report format over a run of 104,500 stored cases, and diff of two
# such runs. Target: each under 1 s and 200 MiB RSS. Usage: bench/report-scale.sh [BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

t0=$(date +%s.%N)
"$build/bench/report-fixture" "$tmp/scale.db"
echo "fixture written in $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}') s, $(du -m "$tmp/scale.db" | cut -f1) MiB"
fail=0
measure() {   # LABEL CMD…
  local label=$1; shift
  /usr/bin/time -f "%e %M" -o "$tmp/t" "$@" > "$tmp/out" || true
  read -r wall kb < <(tail -1 "$tmp/t")
  printf '%-14s %6.2f s  %5d MiB  %8d KiB output\n' "$label" "$wall" $((kb / 1024)) $(($(stat -c %s "$tmp/out") / 1024))
  awk -v w="$wall" -v k="$kb" 'BEGIN { exit !(w < 1.0 && k < 200 * 1024) }' || fail=1
}
for f in md csv json junit html; do
  measure "report $f" "$build/migmatrix" report --db "$tmp/scale.db" --run 2 --format "$f"
done
measure "diff 1 2" "$build/migmatrix" diff --db "$tmp/scale.db" 1 2
((fail)) && echo "at least one target (< 1 s, < 200 MiB) missed" && exit 1
echo "all under 1 s and 200 MiB"
