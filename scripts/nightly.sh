#!/usr/bin/env bash
# nightly.sh SCENARIO [DB]: run the matrix, write the reports, compare with the previous run.
# Exits non-zero when run found unexpected outcomes (1), infrastructure failed (3), or diff
# found a new failure (1). See docs/nightly.md.
set -uo pipefail
cd "$(dirname "$0")/.."
scenario=${1:?usage: scripts/nightly.sh SCENARIO [DB]}
db=${2:-results/migmatrix.db}
mm=build/migmatrix

"$mm" run "$scenario" --db "$db"
run_rc=$?
for fmt in md html junit; do
  ext=$fmt; [[ $fmt == junit ]] && ext=junit.xml
  "$mm" report --db "$db" --latest --format "$fmt" --out "results/report.$ext" || exit 3
done
# The previous matrix run of this DB, if any.
prev=$("$mm" runs --db "$db" | awk '$2 == "run" { print $1 }' | sed -n 2p)
latest=$("$mm" runs --db "$db" | awk '$2 == "run" { print $1 }' | sed -n 1p)
diff_rc=0
if [[ -n "$prev" ]]; then
  "$mm" diff --db "$db" "$prev" "$latest"
  diff_rc=$?
fi
echo "reports: results/report.md results/report.html results/report.junit.xml"
((run_rc != 0)) && exit $run_rc
exit $diff_rc
