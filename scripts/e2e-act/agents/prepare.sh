#!/usr/bin/env bash
# prepare.sh REPO DIR: the fake agents of the built-in pipeline run in scripts/e2e-act.sh.
# DIR gets the test suite's fake `claude` and `codex` (tests/fixtures/agents, in DIR/bin) and
# their answers, in the order factory.yml's jobs make the calls:
#   1 strategic_plan (claude)   a one-task plan validated by `sh check.sh`
#   2 tactical_plan (claude)    the plan of task issue #2 (the parent is #1)
#   3 implementation (codex)    writes src/auth/reset_token.ts
#   4 code_review (claude)      requests changes: the comparison is not constant-time
#   5 implementation (codex)    the rework on the same branch
#   6 code_review (claude)      approves
set -euo pipefail
repo="$1"
dir="$2"
mkdir -p "$dir/bin"
cp "$repo"/tests/fixtures/agents/claude "$repo"/tests/fixtures/agents/codex "$dir/bin/"
chmod +x "$dir/bin/claude" "$dir/bin/codex"
cp "$repo"/tests/fixtures/agents/review-approve.json "$dir/"
jq '.validation_commands = {build: "sh check.sh build", test: "sh check.sh test"}
    | .tasks = [.tasks[0]]
    | .threat_assessment = {summary: "Reset tokens are bearer credentials sent by e-mail; brute force is the risk.", threats: []}' \
  "$repo/evals/plans/valid-strategic-plan.json" >"$dir/strategic.json"
jq '.issue_number = 2 | .handoff.validation_commands = {build: "sh check.sh build", test: "sh check.sh test"}' \
  "$repo/evals/plans/valid-tactical-plan.json" >"$dir/tactical.json"
jq -n '{schema_version: "1.0", pr_number: 1, verdict: "REQUEST_CHANGES",
  findings: [{severity: "important", category: "auth", file: "src/auth/reset_token.ts", line: 1,
    description: "the token comparison is not constant-time", recommendation: "compare in constant time"}],
  scope_compliance: {in_scope_match: true, out_of_scope_violation: false},
  security_assessment: {passed: true, findings_count: {critical: 0, important: 1, advisory: 0}},
  test_coverage: {happy_path: "covered"}, summary: "One finding."}' >"$dir/changes.json"
printf 'mkdir -p src/auth && echo "export const ok = 1;" > src/auth/reset_token.ts\n' >"$dir/good.sh"
printf 'echo "export const ok = 2; // constant-time compare" > src/auth/reset_token.ts\n' >"$dir/review.sh"
printf '%s\n' ok:strategic.json ok:tactical.json edit:good.sh ok:changes.json edit:review.sh ok:review-approve.json >"$dir/script"
