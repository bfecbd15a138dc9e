#!/usr/bin/env bash
# Preflight on real history: run the gate on the last N commits of each repository given and
# print every important-or-worse finding, then a count per repository. A maintainer reads the
# list: each line is either a real problem or a false positive to turn into an idioms case.
#
#   bench/history.sh [-n N] REPO_DIR...        # a clone or a bare repository each
#   N=1000 bench/history.sh ~/src/express ~/src/requests
#
# Merge commits are skipped (their diff repeats their parents'). Needs git and jq.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
n="${N:-400}"
if [[ "${1:-}" == "-n" ]]; then n="$2"; shift 2; fi
[[ $# -gt 0 ]] || { sed -n '2,9p' "$0" >&2; exit 2; }
command -v jq >/dev/null || { echo "jq missing" >&2; exit 2; }

bin="${FACTORY_BIN:-$root/target/release/factory}"
if [[ -z "${FACTORY_BIN:-}" ]]; then
  (cd "$root" && cargo build --release --bin factory >&2)
fi

total_commits=0
total_findings=0
for repo in "$@"; do
  gitdir=$(git -C "$repo" rev-parse --git-dir)
  gitdir=$(cd "$repo" && cd "$gitdir" && pwd)
  name=$(basename "$(cd "$repo" && pwd)")
  commits=0
  findings=0
  while read -r c; do
    commits=$((commits + 1))
    lines=$(git --git-dir="$gitdir" show --format= --no-color -M "$c" \
      | "$bin" preflight --diff - --audit off --format json --fail-on never 2>/dev/null \
      | jq -r --arg c "${c:0:10}" --arg n "$name" \
          '.findings[] | select(.severity != "advisory") | "\($n) \($c) \(.rule_id) \(.severity) \(.path):\(.line)"' \
      || true)
    if [[ -n "$lines" ]]; then
      echo "$lines"
      findings=$((findings + $(wc -l <<<"$lines")))
    fi
  done < <(git --git-dir="$gitdir" rev-list --no-merges -n "$n" HEAD)
  echo "# $name: $commits commits, $findings important-or-worse finding(s)"
  total_commits=$((total_commits + commits))
  total_findings=$((total_findings + findings))
done
echo "# total: $total_commits commits, $total_findings important-or-worse finding(s)"
