#!/usr/bin/env bash
# Preflight benchmark: throughput (MB/s of diff, one core) on two generated diffs, the
# keyword-prefilter ceiling and the engine's ratio to it, and peak memory on a streamed diff.
#
#   bench/preflight.sh                 # 200 MiB ordinary diff, 50 MiB keyword-dense diff,
#                                      # ceiling and ratio (cargo bench --profile dist --bench preflight),
#                                      # RSS on a 500 MiB stream of each kind
#   SIZE_MB=100 DENSE_MB=50 STREAM_MB=200 bench/preflight.sh
#   bench/preflight.sh --compare       # also time detect-secrets, trufflehog3, secretlint,
#                                      # ripsecrets on the same input (installs them in temp dirs)
#
# The diffs are generated deterministically by bench/preflight_gen.py (seed 42; `--dense` for the
# keyword-dense one). Runs are pinned to one core with taskset when available. Needs python3 and
# GNU time (/usr/bin/time). MB is 10^6 bytes, MiB 2^20.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
size_mb="${SIZE_MB:-200}"
dense_mb="${DENSE_MB:-50}"
stream_mb="${STREAM_MB:-500}"
compare=0
[[ "${1:-}" == "--compare" ]] && compare=1

bin="${FACTORY_BIN:-$root/target/dist/factory}"
if [[ -z "${FACTORY_BIN:-}" ]]; then
  (cd "$root" && cargo build --profile dist --bin factory >&2)
fi
[[ -x /usr/bin/time ]] || { echo "GNU time missing: apt-get install -y time" >&2; exit 2; }

pin=()
command -v taskset >/dev/null && pin=(taskset -c 0)

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
diff="$work/bench.diff"
python3 "$here/preflight_gen.py" "$size_mb" 42 > "$diff"
bytes=$(stat -c %s "$diff")
pack=(--pack "$here/preflight-pack.json")
rules=$("$bin" rules list | wc -l)

echo "factory: $("$bin" --version); $rules documented rules + 5 bench pack rules"
echo "input: $((bytes / 1024 / 1024)) MiB diff, $(grep -c '^diff --git' "$diff") files"

# Best of three, end to end: the release binary reading the diff from a file, with the
# built-in rules (what `factory preflight` runs) or with the bench pack's five regex rules too.
throughput() { # label, diff file, extra arguments...
  local label="$1" file="$2" best="" start end t bytes
  shift 2
  bytes=$(stat -c %s "$file")
  for _ in 1 2 3; do
    start=$(date +%s.%N)
    "${pin[@]}" "$bin" preflight --diff "$file" "$@" --format json --fail-on never > /dev/null
    end=$(date +%s.%N)
    t=$(echo "$end - $start" | bc -l)
    if [[ -z "$best" ]] || (( $(echo "$t < $best" | bc -l) )); then best=$t; fi
  done
  printf 'throughput, %s (%.1f MB, %s files): best of 3 = %.2f s -> %.0f MB/s = %.0f MiB/s (one core)\n' \
    "$label" "$(echo "$bytes / 1000000" | bc -l)" "$(grep -c '^diff --git' "$file")" "$best" \
    "$(echo "$bytes / 1000000 / $best" | bc -l)" "$(echo "$bytes / 1048576 / $best" | bc -l)"
  last_best=$best
}

dense="$work/dense.diff"
python3 "$here/preflight_gen.py" "$dense_mb" 42 --dense > "$dense"
throughput "ordinary diff, built-in rules" "$diff"
throughput "ordinary diff, + bench pack" "$diff" "${pack[@]}"
best=$last_best
throughput "keyword-dense diff, built-in rules" "$dense"
throughput "keyword-dense diff, + bench pack" "$dense" "${pack[@]}"

# The engine in memory next to the keyword-prefilter ceiling, in one process (bench target).
if [[ "${SKIP_CEILING:-0}" != 1 ]]; then
  (cd "$root" && cargo bench --profile dist --bench preflight --no-run >&2)
  (cd "$root" && "${pin[@]}" cargo bench --profile dist --bench preflight -q -- "$dense" "$diff" 2>/dev/null)
fi

# Memory: a STREAM_MB diff of each kind generated on the fly and streamed on stdin.
rss() { # label, generator arguments...
  local label="$1"; shift
  python3 "$here/preflight_gen.py" "$stream_mb" 7 "$@" \
    | /usr/bin/time -v "$bin" preflight --diff - "${pack[@]}" --format json --fail-on never \
        > /dev/null 2> "$work/time.txt"
  local rss_kb
  rss_kb=$(awk -F: '/Maximum resident set size/ {gsub(/ /, "", $2); print $2}' "$work/time.txt")
  printf 'memory, %s: %s MiB streamed on stdin -> max RSS %.1f MiB\n' "$label" "$stream_mb" \
    "$(echo "$rss_kb / 1024" | bc -l)"
}
rss "ordinary diff"
rss "keyword-dense diff" --dense

if [[ $compare -eq 0 ]]; then
  exit 0
fi

# ---- comparisons ------------------------------------------------------------------------
time_cmd() { # name, command...
  local name="$1"; shift
  local start end rc=0
  start=$(date +%s.%N)
  "${pin[@]}" "$@" > "$work/$name.out" 2> "$work/$name.err" || rc=$?
  end=$(date +%s.%N)
  local t; t=$(echo "$end - $start" | bc -l)
  # Secret scanners exit non-zero when they find something; rc is printed so that a run that
  # failed outright (tiny output, error on stderr) is visible rather than flattering.
  printf '%-14s %8.2f s  %7.1f MiB/s  factory is %.1fx faster  (exit %s, %s bytes of output)\n' "$name" "$t" \
    "$(echo "$bytes / 1048576 / $t" | bc -l)" "$(echo "$t / $best" | bc -l)" "$rc" "$(stat -c %s "$work/$name.out")"
  [[ -s "$work/$name.err" ]] && head -c 300 "$work/$name.err" | sed 's/^/    stderr: /' || true
}

tools="$work/tools"
mkdir -p "$tools"
# A smaller input keeps slow tools within minutes; factory is re-timed on the same input. An AWS
# key id and a GitHub token shape (both fake) are appended so every tool has something to find:
# a tool with empty output did not really scan.
cmp_mb="${COMPARE_MB:-5}"
mkdir -p "$work/cmp"
diff="$work/cmp/bench.diff"
{
  python3 "$here/preflight_gen.py" "$cmp_mb" 42
  printf 'diff --git a/deploy/keys.py b/deploy/keys.py\n--- a/deploy/keys.py\n+++ b/deploy/keys.py\n@@ -1 +1,3 @@\n import os\n+ACCESS_KEY = "AKIAZ3MHQ5R7TXW4PL2N"\n+GH = "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"\n'
} > "$diff"
bytes=$(stat -c %s "$diff")
start=$(date +%s.%N)
"${pin[@]}" "$bin" preflight --diff "$diff" "${pack[@]}" --format json --fail-on never > "$work/factory.out"
best=$(echo "$(date +%s.%N) - $start" | bc -l)
printf 'comparison input: %s MiB + 2 planted tokens; factory %.2f s (%s findings)\n' "$cmp_mb" "$best" \
  "$(grep -c '"rule_id"' "$work/factory.out")"
echo '{}' > "$work/trufflehog3.yml"

python3 -m venv "$tools/venv" && "$tools/venv/bin/pip" -q install detect-secrets trufflehog3 \
  && {
    # detect-secrets only scans files below the working directory.
    time_cmd detect-secrets env -C "$work/cmp" "$tools/venv/bin/detect-secrets" scan --all-files bench.diff
    # trufflehog3 reads a file target as its config: give it the directory and an empty config.
    time_cmd trufflehog3 "$tools/venv/bin/trufflehog3" -z -p 1 --no-history -c "$work/trufflehog3.yml" "$work/cmp"
  } || echo "detect-secrets/trufflehog3: install failed, skipped"
(cd "$tools" && npm install --silent --no-audit --no-fund secretlint @secretlint/secretlint-rule-preset-recommend >/dev/null 2>&1) \
  && {
    echo '{"rules":[{"id":"@secretlint/secretlint-rule-preset-recommend"}]}' > "$tools/.secretlintrc.json"
    time_cmd secretlint "$tools/node_modules/.bin/secretlint" --secretlintrc "$tools/.secretlintrc.json" "$diff"
  } || echo "secretlint: install failed, skipped"
cargo install --quiet --root "$tools/cargo" ripsecrets >/dev/null 2>&1 \
  && time_cmd ripsecrets "$tools/cargo/bin/ripsecrets" "$diff" \
  || echo "ripsecrets: install failed, skipped"
