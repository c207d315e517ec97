#!/usr/bin/env bash
# Rewrite every golden file from the current output. Review `git diff tests/data` before committing:
# a golden that changed is a behaviour that changed.
set -euo pipefail
cd "$(dirname "$0")/.."
cmake --build build -j"$(nproc)"
for t in build/tests/test-*; do
  [[ -x "$t" ]] && MM_REGENERATE=1 "$t" >/dev/null || true
done
git status --short tests/data
