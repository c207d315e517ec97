#!/usr/bin/env bash
# Benchmark: lab-up wall time once the guest image, KVM verdict and QEMU capabilities cache
# exist (issue 3 target: under 10 s), and lab-down time. Needs root. Brings any running lab down.
# Usage: bench/lab-up.sh [REPS]
set -euo pipefail
cd "$(dirname "$0")/.."
reps=${1:-5}
scripts/lab-down.sh >/dev/null 2>&1 || true
scripts/lab-up.sh >/dev/null 2>&1 && scripts/lab-down.sh >/dev/null 2>&1   # warm the caches
for i in $(seq 1 "$reps"); do
  t0=$(date +%s.%N); scripts/lab-up.sh >/dev/null 2>&1; t1=$(date +%s.%N)
  scripts/lab-down.sh >/dev/null 2>&1; t2=$(date +%s.%N)
  awk -v i="$i" -v a="$t0" -v b="$t1" -v c="$t2" 'BEGIN { printf "run %d: lab-up %.2f s, lab-down %.2f s\n", i, b - a, c - b }'
done
