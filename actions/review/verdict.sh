#!/usr/bin/env bash
# verdict.sh PR: the review action's outputs for `factory review --pr PR`, read from the
# latest review of PR in .factory/artifacts/reviews/ (PR-CYCLE.json), plus a step summary.
set -euo pipefail
pr="${1:?usage: verdict.sh PR}"
case "$pr" in *[!0-9]*) echo "::error title=factory review::pr must be a number, got: $pr"; exit 2 ;; esac
latest=""
best=-1
for f in .factory/artifacts/reviews/"$pr"-*.json; do
  [ -f "$f" ] || continue
  cycle="${f##*/"$pr"-}"
  cycle="${cycle%.json}"
  case "$cycle" in '' | *[!0-9]*) continue ;; esac
  if [ "$cycle" -gt "$best" ]; then best="$cycle"; latest="$f"; fi
done
if [ -z "$latest" ]; then
  echo "no review of #$pr was written; see the step's log"
  exit 0
fi
{
  echo "verdict=$(jq -r '.verdict' "$latest")"
  echo "findings=$(jq -r '.findings | length' "$latest")"
  echo "critical=$(jq -r '.security_assessment.findings_count.critical' "$latest")"
  echo "review-file=$latest"
} >>"$GITHUB_OUTPUT"
{
  echo "### factory review of #$pr (cycle $best): $(jq -r '.verdict' "$latest")"
  echo
  jq -r '.security_assessment.findings_count | "\(.critical) critical · \(.important) important · \(.advisory) advisory"' "$latest"
  echo
  jq -r '.summary' "$latest" | tr -d '\r' | head -c 4000
  echo
  jq -r '.findings[:50][] | "- **\(.severity)** `\(.file // "")\(if .line then ":\(.line)" else "" end)`: \(.description | gsub("[\r\n]+"; " "))"' "$latest"
} >>"$GITHUB_STEP_SUMMARY"
