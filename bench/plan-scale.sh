#!/usr/bin/env bash
# Benchmark: `migmatrix plan` on a generated scenario of >= 100,000 cases.
# Target (issue 2): under 0.5 s wall and under 100 MiB max RSS.
# Usage: bench/plan-scale.sh [BUILD_DIR]   (default build/; a RelWithDebInfo build)
# Prints one line per repetition and the median; exits 1 if the median misses the target.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-build}/migmatrix
reps=${REPS:-5}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# 20 hosts -> 380 ordered pairs, x 25 guests x 11 modes = 104,500 cases, 20 expect rules.
{
  echo "[run]"; echo "name = plan-scale"
  for h in $(seq -w 1 20); do
    echo "[host:h$h]"; echo "uri = qemu+ssh://root@h$h.example.net/system"
  done
  for g in $(seq -w 1 25); do
    echo "[guest:g$g]"; echo "disk = /srv/g$g.qcow2"
  done
  echo "[matrix]"; echo "pairs = all"; echo "guests = *"
  echo "modes = custom:Dhyana, custom:EPYC-IBPB, custom:Broadwell, custom:IvyBridge, custom:Westmere, custom:qemu64, custom:Skylake-Server, host-model, host-passthrough, maximum, none"
  echo "[expect]"
  for h in $(seq -w 1 20); do echo "h$h>*/g0*/host-passthrough = start-failed: rule $h"; done
} > "$tmp/scale.ini"

cases=$("$bin" plan "$tmp/scale.ini" --format json | grep -c '"id":')
echo "cases: $cases"
times=()
for i in $(seq 1 "$reps"); do
  /usr/bin/time -f "%e %M" -o "$tmp/t" "$bin" plan "$tmp/scale.ini" > "$tmp/out.txt"
  read -r wall rss_kb < "$tmp/t"
  echo "run $i: wall ${wall} s, max RSS $((rss_kb / 1024)) MiB"
  times+=("$wall $rss_kb")
done
median=$(printf '%s\n' "${times[@]}" | sort -n | sed -n "$(((reps + 1) / 2))p")
read -r wall rss_kb <<< "$median"
echo "median: wall ${wall} s, max RSS $((rss_kb / 1024)) MiB (target < 0.5 s, < 100 MiB)"
awk -v w="$wall" -v r="$rss_kb" 'BEGIN { exit !(w < 0.5 && r < 100 * 1024) }'
