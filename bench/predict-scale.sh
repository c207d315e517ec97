#!/usr/bin/env bash
# Benchmark (issue 12): `predict` over 1e5 cases (the four real captures of tests/data/cpu, every
# mode, repeated), and `baseline` over 100 hosts. Targets: under 1 s and under 2 s.
# Usage: bench/predict-scale.sh [BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
mm=$build/migmatrix
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

caps=(e5-2630v4:Xeon-E5-2630-v4 gold-6130:Xeon-Gold-6130 hygon-7185:Hygon-C86-7185-32-core epyc-7601:EPYC-7601-32-Core)
for c in "${caps[@]}"; do
    host=${c%%:*} cap=${c#*:}
    "$mm" probe --import "$host" --db "$tmp/p.db" tests/data/cpu/x86_64-cpuid-$cap-host.xml \
        tests/data/cpu/x86_64-cpuid-$cap-json.xml > /dev/null 2>&1
done
# 108 cases a repeat: 926 repeats are 100 008 cases.
sed -e 's/^\[matrix\]$/[matrix]\nrepeat = 926/' tests/data/predict/captures.ini > "$tmp/scale.ini"
/usr/bin/time -f "%e %M" -o "$tmp/t" "$mm" predict "$tmp/scale.ini" --db "$tmp/p.db" --format json > "$tmp/pred.json"
read -r wall kb < "$tmp/t"
cases=$(grep -o '"src":' "$tmp/pred.json" | wc -l)
printf 'predict: %s cases in %.2f s, %d MiB RSS (json)\n' "$cases" "$wall" $((kb / 1024))
/usr/bin/time -f "%e %M" -o "$tmp/t" "$mm" predict "$tmp/scale.ini" --db "$tmp/p.db" > /dev/null
read -r wall_text kb < "$tmp/t"
printf 'predict: %.2f s (text)\n' "$wall_text"

# 100 hosts: 50 copies of each Intel capture's dossier under new names, then their baseline.
for i in $(seq 1 50); do
    for c in "${caps[@]:0:2}"; do
        host=${c%%:*} cap=${c#*:}
        "$mm" probe --import "$host-$i" --db "$tmp/b.db" tests/data/cpu/x86_64-cpuid-$cap-host.xml \
            tests/data/cpu/x86_64-cpuid-$cap-json.xml > /dev/null 2>&1
    done
done
/usr/bin/time -f "%e %M" -o "$tmp/t" "$mm" baseline --db "$tmp/b.db" --hosts '*' > "$tmp/base.xml"
read -r bwall kb < "$tmp/t"
printf 'baseline: %d hosts in %.2f s, %d MiB RSS, model %s\n' "$(grep -c 'gives up' "$tmp/base.xml")" "$bwall" \
    $((kb / 1024)) "$(sed -n "s/.*<model[^>]*>\(.*\)<\/model>.*/\1/p" "$tmp/base.xml")"
ok=0
awk -v w="$wall" 'BEGIN { exit !(w < 1.0) }' && echo "predict under 1 s" || { echo "target missed: predict under 1 s"; ok=1; }
awk -v w="$bwall" 'BEGIN { exit !(w < 2.0) }' && echo "baseline under 2 s" || { echo "target missed: baseline under 2 s"; ok=1; }
exit $ok
