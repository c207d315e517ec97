#!/usr/bin/env bash
# The README's first command: install, build, bring the local lab up, probe its hosts, run
# the lab's matrix (scenarios/local.ini, about 8 minutes), print the summary, write
# results/report.html and results/report.md, and bring the lab down again (also on failure or
# Ctrl-C). Exits with `migmatrix run`'s exit code.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" >/dev/null

echo "== the seed lab's matrix (a template): migmatrix plan scenarios/hygon.ini | tail -3"
build/migmatrix plan scenarios/hygon.ini | tail -3
echo

started=0
if ! scripts/lab-status.sh >/dev/null 2>&1; then
  echo "== scripts/lab-up.sh"
  scripts/lab-up.sh
  started=1
fi
# Leave a lab that someone else started alone.
trap '((started)) && scripts/lab-down.sh' EXIT

echo
echo "== migmatrix probe scenarios/local.ini"
build/migmatrix probe scenarios/local.ini

echo
echo "== migmatrix run scenarios/local.ini"
rc=0
build/migmatrix run scenarios/local.ini || rc=$?

echo
build/migmatrix report --latest --format html --out results/report.html
build/migmatrix report --latest --format md --out results/report.md
echo "reports: $PWD/results/report.html and $PWD/results/report.md"
exit $rc
