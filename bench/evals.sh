#!/usr/bin/env bash
# Eval-suite benchmark: wall-clock time of `factory evals` over the whole bundled suite
# (plans, diffs, packs, rules), best and median of RUNS runs, release build.
#
#   bench/evals.sh              # 20 runs
#   RUNS=50 bench/evals.sh
#   FACTORY_BIN=/path/to/factory bench/evals.sh   # skip the build
#
# Prints the case count, best and median wall time, and the per-suite time factory reports.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
runs="${RUNS:-20}"

bin="${FACTORY_BIN:-$root/target/release/factory}"
if [[ -z "${FACTORY_BIN:-}" ]]; then
  (cd "$root" && cargo build --release --bin factory >&2)
fi

cd "$root"
times=()
for _ in $(seq "$runs"); do
  start=$(date +%s%N)
  "$bin" evals --format json > /dev/null
  end=$(date +%s%N)
  times+=($(( (end - start) / 1000 )))
done
mapfile -t sorted < <(printf '%s\n' "${times[@]}" | sort -n)
best=${sorted[0]}
median=${sorted[$(( runs / 2 ))]}

echo "factory: $("$bin" --version)"
"$bin" evals --format json | python3 -c '
import json, sys
r = json.load(sys.stdin)
per = ", ".join("%s %d cases %d ms" % (s["suite"], len(s["cases"]), s["elapsed_ms"]) for s in r["suites"])
print("cases: %d (%s)" % (r["total"], per))
'
printf 'wall time over %d runs: best %d.%03d s, median %d.%03d s\n' "$runs" \
  $((best / 1000000)) $(((best / 1000) % 1000)) $((median / 1000000)) $(((median / 1000) % 1000))
