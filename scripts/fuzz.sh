#!/usr/bin/env bash
# fuzz.sh SECONDS: build the libFuzzer targets with clang (build-fuzz/, ASan + UBSan) and run
# each for SECONDS, from its seed corpus (tests/fuzz/corpus/NAME). New inputs go to
# build-fuzz/corpus/NAME, never into the checkout. A crash stops with the command that
# reproduces it; copy the input into tests/fuzz/regressions/NAME/ so that fuzz-replay-NAME
# runs it in every build from then on.
set -euo pipefail
cd "$(dirname "$0")/.."

secs=${1:-}
[[ "$secs" =~ ^[0-9]+$ && "$secs" -ge 1 ]] || { echo "usage: scripts/fuzz.sh SECONDS (per target)" >&2; exit 2; }
command -v clang >/dev/null || { echo "fuzz.sh: clang is missing (apt-get install clang)" >&2; exit 2; }

targets=(scenario xmldiff dossier classify)
CC=clang cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=Debug -DMM_FUZZ=ON >/dev/null
cmake --build build-fuzz -j"$(nproc)" --target "${targets[@]/#/fuzz-}"

mkdir -p build-fuzz/crashes
for t in "${targets[@]}"; do
  mkdir -p "build-fuzz/corpus/$t"
  echo "fuzz-$t: $secs s"
  # Leaks are errors too (detect_leaks); -max_len keeps a scenario a scenario.
  if ! ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
      "build-fuzz/tests/fuzz-$t" -max_total_time="$secs" -max_len=16384 -rss_limit_mb=2048 -timeout=20 \
      -print_final_stats=1 -artifact_prefix="build-fuzz/crashes/$t-" \
      "build-fuzz/corpus/$t" "tests/fuzz/corpus/$t" "tests/fuzz/regressions/$t" 2> "build-fuzz/fuzz-$t.log"; then
    tail -60 "build-fuzz/fuzz-$t.log" >&2
    echo "fuzz.sh: fuzz-$t found a crash: $(ls -t build-fuzz/crashes/"$t"-* 2>/dev/null | head -1)" >&2
    echo "  reproduce: build-fuzz/tests/fuzz-$t FILE; keep it: cp FILE tests/fuzz/regressions/$t/WHAT-IT-BROKE" >&2
    exit 1
  fi
  grep -E "stat::number_of_executed_units|stat::new_units_added" "build-fuzz/fuzz-$t.log" | sed "s/^/  /"
done
