#!/usr/bin/env bash
# Benchmark (issue 11): the same matrix on two disjoint host pairs (lab-a>lab-b, lab-c>lab-d:
# four lab hosts), run one case at a time and with --jobs 2. Prints the makespans and their
# ratio (target: at most 0.6), where the case time goes (per phase, from the DB), and the
# harness's own time: migmatrix's CPU time (user + sys) over the summed case wall time (target:
# at most 2 %). Needs root; brings up a 4-host lab and takes it down again (any running lab is
# taken down first). Usage: bench/parallel.sh [BUILD_DIR] [REPEAT]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
repeat=${2:-3}
tmp=$(mktemp -d)
trap 'scripts/lab-down.sh >/dev/null 2>&1 || true; rm -rf "$tmp"' EXIT

scripts/lab-down.sh >/dev/null 2>&1 || true
scripts/lab-up.sh 4 >/dev/null
cat > "$tmp/parallel.ini" <<INI
[run]
name = parallel-bench
include = $PWD/scenarios/lab-generated.inc
boot_timeout = 90
[matrix]
pairs = lab-a>lab-b, lab-c>lab-d
guests = linux
modes = custom:qemu64, none
repeat = $repeat
INI

fail=0
for jobs in 1 2; do
  /usr/bin/time -f "%e %U %S" -o "$tmp/time-$jobs" \
    "$build/migmatrix" run "$tmp/parallel.ini" --db "$tmp/jobs-$jobs.db" --jobs "$jobs" --no-preflight \
    > "$tmp/out-$jobs" 2> "$tmp/err-$jobs" || { cat "$tmp/out-$jobs" "$tmp/err-$jobs"; exit 1; }
  read -r wall user sys < "$tmp/time-$jobs"
  cases=$(sqlite3 "$tmp/jobs-$jobs.db" "SELECT count(*) FROM cases")
  busy=$(sqlite3 "$tmp/jobs-$jobs.db" "SELECT sum(duration_ms) / 1000.0 FROM cases")
  outcomes=$(sqlite3 "$tmp/jobs-$jobs.db" "SELECT group_concat(o, ' ') FROM (SELECT outcome || ':' || count(*) AS o FROM cases GROUP BY outcome)")
  printf -- '--jobs %s: %s cases (%s) in %.1f s; case time %.1f s; migmatrix CPU %.2f s = %.2f %% of case time\n' \
    "$jobs" "$cases" "$outcomes" "$wall" "$busy" "$(awk -v u="$user" -v s="$sys" 'BEGIN{print u+s}')" \
    "$(awk -v u="$user" -v s="$sys" -v b="$busy" 'BEGIN{print 100*(u+s)/b}')"
  awk -v u="$user" -v s="$sys" -v b="$busy" 'BEGIN { exit !(100 * (u + s) / b <= 2) }' || { echo "  harness time above 2 %"; fail=1; }
  echo "  per phase (s, summed over cases):"
  sqlite3 -separator ' ' "$tmp/jobs-$jobs.db" \
    "SELECT '   ', phase, printf('%.1f', sum(duration_ms) / 1000.0) FROM steps GROUP BY phase ORDER BY sum(duration_ms) DESC"
  eval "wall_$jobs=$wall"
done
ratio=$(awk -v a="$wall_1" -v b="$wall_2" 'BEGIN { printf "%.2f", b / a }')
echo "makespan ratio (--jobs 2 / serial): $ratio (target <= 0.6)"
echo "load average now: $(cut -d' ' -f1-3 /proc/loadavg); CPUs: $(nproc)"
awk -v r="$ratio" 'BEGIN { exit !(r <= 0.6) }' || { echo "target missed: ratio above 0.6"; fail=1; }
exit $fail
