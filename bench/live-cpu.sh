#!/usr/bin/env bash
# Benchmark (issue 12): what the live-CPU probe adds to `probe`. The same one-case scenario
# (lab-c>lab-a, linux) with custom:qemu64 (usable on both: no live CPU) and custom:Westmere
# (blocked on lab-c: its live CPU on lab-a and lab-c), alternating, each into a new DB.
# Needs root and a 3-host lab (scripts/lab-up.sh 3); leaves it up.
# Usage: bench/live-cpu.sh [REPS] [BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
reps=${1:-3}
mm=${2:-build}/migmatrix
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
[[ -f scenarios/lab-generated.inc ]] || { echo "bench/live-cpu.sh: no lab include: run scripts/lab-up.sh 3" >&2; exit 2; }
for m in qemu64 Westmere; do
  printf '[run]\nname = live-%s\ninclude = %s/scenarios/lab-generated.inc\n[matrix]\npairs = lab-c>lab-a\nguests = linux\nmodes = custom:%s\n' \
    "$m" "$PWD" "$m" > "$tmp/$m.ini"
done
for i in $(seq 1 "$reps"); do
  for m in qemu64 Westmere; do
    rm -f "$tmp/p.db"
    t0=$(date +%s.%N)
    "$mm" probe "$tmp/$m.ini" --db "$tmp/p.db" > /dev/null 2> "$tmp/err"
    t1=$(date +%s.%N)
    live=$(sed -n 's/^probed \([0-9]*\) live CPU.*/\1/p' "$tmp/err")
    awk -v i="$i" -v m="$m" -v a="$t0" -v b="$t1" -v l="${live:-0}" \
      'BEGIN { printf "run %d: custom:%-8s probe %.2f s, %d live CPU(s)\n", i, m, b - a, l }'
  done
done
