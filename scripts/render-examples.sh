#!/usr/bin/env bash
# Regenerates the committed report examples from a real local-lab run, never by hand:
#   docs/compatibility-example.md   migmatrix report --format md
#   docs/report-example.png         the HTML report in headless Chromium
# Usage: scripts/render-examples.sh [DB]   (default results/migmatrix.db, e.g. after scripts/demo.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
db=${1:-results/migmatrix.db}
[[ -r $db ]] || { echo "no DB at $db: run scripts/demo.sh first" >&2; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

build/migmatrix report --db "$db" --latest --format md --out docs/compatibility-example.md
build/migmatrix report --db "$db" --latest --format html --out "$tmp/report.html"
chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking \
  --disable-component-update --disable-sync --user-data-dir="$tmp/profile" --hide-scrollbars \
  --window-size=1280,1500 --screenshot="$tmp/report.png" "file://$tmp/report.html" 2>/dev/null
cp "$tmp/report.png" docs/report-example.png
echo "wrote docs/compatibility-example.md and docs/report-example.png"
