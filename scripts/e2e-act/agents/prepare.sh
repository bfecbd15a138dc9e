#!/usr/bin/env bash
# prepare.sh REPO DIR: the fake agents of the built-in pipeline run in scripts/e2e-act.sh.
# DIR gets the test suite's fake `claude` and `codex` (tests/fixtures/agents, in DIR/bin) and
# their answers, in the order factory.yml's jobs make the calls (the matrix jobs one at a time,
# limits.max_concurrent_issues 1). The plan has three tasks in two waves (the parent issue is
# #1, the tasks #2, #3 and #4; their pull requests #5, #6 and #7):
#    1 strategic_plan (claude)        the plan, validated by `sh check.sh`
#   wave 1 (the wave_1 stage of factory.yml):
#    2 tactical_plan #2 (claude)      task-001, src/auth/reset_token.ts
#    3 tactical_plan #3 (claude)      task-002, templates/email/reset.txt
#    4 implementation #2 (codex)      writes src/auth/reset_token.ts: pull request #5
#    5 implementation #3 (codex)      writes templates/email/reset.txt: pull request #6
#    6 code_review #5 (claude)        requests changes: the comparison is not constant-time
#    7 code_review #6 (claude)        approves
#    8 implementation #2 (codex)      the rework on the same branch (review round 2)
#    9 code_review #5 (claude)        approves; #6 keeps its approval; merge merges both
#   wave 2 (the wave_2 stage, after wave 1's merge job):
#   10 tactical_plan #4 (claude)      task-003, src/routes/password.ts
#   11 implementation #4 (codex)      records what its worktree holds of wave 1 (DIR/wave2-saw),
#                                     writes src/routes/password.ts: pull request #7
#   12 code_review #7 (claude)        approves; merge, then completion
set -euo pipefail
repo="$1"
dir="$2"
mkdir -p "$dir/bin"
cp "$repo"/tests/fixtures/agents/claude "$repo"/tests/fixtures/agents/codex "$dir/bin/"
chmod +x "$dir/bin/claude" "$dir/bin/codex"
cp "$repo"/tests/fixtures/agents/review-approve.json "$dir/"
jq '.validation_commands = {build: "sh check.sh build", test: "sh check.sh test"}
    | .threat_assessment = {summary: "Reset tokens are bearer credentials sent by e-mail; brute force is the risk.", threats: []}' \
  "$repo/evals/plans/valid-strategic-plan.json" >"$dir/strategic.json"
# tactical ISSUE TASK FILES OUT [NAME]: a tactical plan for ISSUE (task TASK) changing the files
# of the JSON array FILES (inside the task's files_in_scope) and not OUT, validated by check.sh,
# in DIR/NAME (tactical-ISSUE.json).
tactical() {
  jq --argjson issue "$1" --arg task "$2" --argjson files "$3" --argjson out "$4" '
    .issue_number = $issue | .task_id = $task
    | .implementation_steps = [$files | to_entries[] | {order: (.key + 1), file: .value, action: "create", description: "as the task says"}]
    | .new_files = [{path: $files[0], purpose: "the task'"'"'s code"}]
    | .test_strategy = {unit_tests: [], edge_cases: []}
    | .context_files_for_implementer = []
    | .handoff.in_scope_files = $files | .handoff.out_of_scope_files = $out
    | .handoff.validation_commands = {build: "sh check.sh build", test: "sh check.sh test"}' \
    "$repo/evals/plans/valid-tactical-plan.json" >"$dir/${5:-tactical-$1.json}"
}
tactical 2 task-001 '["src/auth/reset_token.ts", "src/auth/reset_token.test.ts"]' '["src/auth/session.ts"]'
tactical 3 task-002 '["templates/email/reset.txt"]' '[]'
tactical 4 task-003 '["src/routes/password.ts", "src/routes/password.test.ts"]' '["src/auth/"]'
jq -n '{schema_version: "1.0", pr_number: 5, verdict: "REQUEST_CHANGES",
  findings: [{severity: "important", category: "auth", file: "src/auth/reset_token.ts", line: 1,
    description: "the token comparison is not constant-time", recommendation: "compare in constant time"}],
  scope_compliance: {in_scope_match: true, out_of_scope_violation: false},
  security_assessment: {passed: true, findings_count: {critical: 0, important: 1, advisory: 0}},
  test_coverage: {happy_path: "covered"}, summary: "One finding."}' >"$dir/changes.json"
# The implementer's edits, run by the fake codex in its worktree.
printf 'mkdir -p src/auth && echo "export const ok = 1;" > src/auth/reset_token.ts\n' >"$dir/good.sh"
printf 'mkdir -p templates/email && echo "Reset your password: {{link}}" > templates/email/reset.txt\n' >"$dir/template.sh"
printf 'echo "export const ok = 2; // constant-time compare" > src/auth/reset_token.ts\n' >"$dir/review.sh"
# Wave 2 records what its worktree holds of wave 1's work before it writes its own.
printf '%s\n' '{ cat src/auth/reset_token.ts templates/email/reset.txt; } >"$FAKE_AGENT_DIR/wave2-saw" 2>&1' \
  'mkdir -p src/routes && echo "import { ok } from \"../auth/reset_token\";" > src/routes/password.ts' >"$dir/routes.sh"
printf '%s\n' ok:strategic.json ok:tactical-2.json ok:tactical-3.json edit:good.sh edit:template.sh \
  ok:changes.json ok:review-approve.json edit:review.sh ok:review-approve.json \
  ok:tactical-4.json edit:routes.sh ok:review-approve.json >"$dir/script"

# For a plan with more waves than factory.yml has wave stages (scripts/e2e-act.sh, case 10):
# four waves of one task each, every task depending on the one before (issues #2 to #5), each
# writing src/stepN.ts. The calls: the strategic plan, then per wave the tactical plan, the
# implementation and an approving review - three waves, ten calls; the fourth never runs.
jq '.tasks = [range(1; 5) as $w | .tasks[1] + {id: "task-00\($w)", title: "Step \($w)",
      description: "Step \($w) of four.", files_in_scope: ["src/step\($w).ts"],
      dependencies: (if $w == 1 then [] else ["task-00\($w - 1)"] end), wave: $w}]' \
  "$dir/strategic.json" >"$dir/strategic-4-waves.json"
for w in 1 2 3 4; do
  tactical "$((w + 1))" "task-00$w" "[\"src/step$w.ts\"]" '[]' "tactical-step-$w.json"
  printf 'mkdir -p src && echo "export const step = %s;" > src/step%s.ts\n' "$w" "$w" >"$dir/step-$w.sh"
done
