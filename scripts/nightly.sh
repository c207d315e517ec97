#!/usr/bin/env bash
# nightly.sh SCENARIO [DB]: run the matrix, write the reports, compare with the previous run.
# Exits non-zero when run found unexpected outcomes (1), infrastructure failed (3), diff found
# a new failure (1), or a run compared is unfinished (4). See docs/nightly.md.
set -uo pipefail
cd "$(dirname "$0")/.."
scenario=${1:?usage: scripts/nightly.sh SCENARIO [DB]}
db=${2:-results/migmatrix.db}
mm=build/migmatrix

"$mm" run "$scenario" --db "$db"
run_rc=$?
# A bad scenario or option stored nothing: there is no new run to report on.
((run_rc == 2)) && exit 2
for fmt in md html junit; do
  ext=$fmt; [[ $fmt == junit ]] && ext=junit.xml
  "$mm" report --db "$db" --latest --format "$fmt" --out "results/report.$ext" || exit 3
done
# The previous matrix run of the same scenario in this DB, if any (runs lists newest first;
# RUN KIND STATUS STARTED ENDED CASES NOT-RUN UNEXPECTED SCENARIO: field 9 is the scenario path
# as given to run).
runs_of_scenario() { "$mm" runs --db "$db" | awk -v s="$scenario" '$2 == "run" && $9 == s { print $1 }'; }
prev=$(runs_of_scenario | sed -n 2p)
latest=$(runs_of_scenario | sed -n 1p)
diff_rc=0
if [[ -n "$prev" ]]; then
  "$mm" diff --db "$db" "$prev" "$latest"
  diff_rc=$?
fi
echo "reports: results/report.md results/report.html results/report.junit.xml"
((run_rc != 0)) && exit $run_rc
exit $diff_rc
