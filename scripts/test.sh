#!/usr/bin/env bash
# The README's test command: install dependencies, build, run every test (unit and lab),
# then build and run the unit tests again under AddressSanitizer + UBSan, then fuzz each
# libFuzzer target for a short, fixed time.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh

jobs=$(nproc)
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build build -j"$jobs"
(cd build && ctest --output-on-failure)

cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DMM_SANITIZE=ON
cmake --build build-asan -j"$jobs"
# The sanitizer pass: every unit suite, and the lab probe suite (the code that talks to libvirt
# and libssh). The full lab matrix runs once, in the normal build above.
(cd build-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
    ctest --output-on-failure -E '^test-lab-run$')

# Every fuzz target for 30 s (MM_FUZZ_SECONDS): a crash fails CI with the input to keep as a
# regression (tests/fuzz/regressions).
scripts/fuzz.sh "${MM_FUZZ_SECONDS:-30}"
