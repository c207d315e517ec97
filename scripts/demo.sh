#!/usr/bin/env bash
# The README's first command: install, build, and show what migmatrix does.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" >/dev/null

echo "== migmatrix validate scenarios/hygon.ini"
build/migmatrix validate scenarios/hygon.ini
echo
echo "== migmatrix plan scenarios/hygon.ini"
build/migmatrix plan scenarios/hygon.ini
