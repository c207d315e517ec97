#!/usr/bin/env bash
# Benchmark (issue 11): `merge` of 10 shard DBs of 1e4 cases each (8 steps, an artifact and a
# migration record per case). Target: under 2 s. Usage: bench/merge-scale.sh [BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

t0=$(date +%s.%N)
for k in $(seq 1 10); do "$build/bench/shard-fixture" "$tmp/shard-$k.db" "$k" 10 10000 & done
wait
echo "10 shard DBs written in $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}') s, $(du -cm "$tmp"/shard-*.db | tail -1 | cut -f1) MiB"
/usr/bin/time -f "%e %M" -o "$tmp/t" "$build/migmatrix" merge --db "$tmp/merged.db" "$tmp"/shard-*.db
read -r wall kb < "$tmp/t"
printf 'merge: %.2f s, %d MiB RSS, %s MiB DB\n' "$wall" $((kb / 1024)) "$(du -m "$tmp/merged.db" | cut -f1)"
# The merged run is whole and in plan order.
"$build/migmatrix" report --db "$tmp/merged.db" --format csv > "$tmp/merged.csv"
rows=$(($(wc -l < "$tmp/merged.csv") - 1))
echo "report of the merged run: $rows cases"
((rows == 100000)) || { echo "expected 100000 cases"; exit 1; }
awk -v w="$wall" 'BEGIN { exit !(w < 2.0) }' || { echo "target missed: merge under 2 s"; exit 1; }
echo "merge under 2 s"
