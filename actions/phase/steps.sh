#!/usr/bin/env bash
# The steps every state-carrying action shares (intake, phase, plan, implement, review,
# merge-verify, complete). A composite action cannot `uses:` a sibling action by a relative path, so the
# actions call this script from their own checkout: "$GITHUB_ACTION_PATH/../phase/steps.sh".
#
#   steps.sh restore [optional]   unpack $RUNNER_TEMP/factory-state-in/factory-state.tar (and
#                                 the local forge's branches, see pack_branches)
#   steps.sh merge                merge the matrix jobs' state copies into .factory
#   steps.sh need ROLE PHASE      `factory doctor --need <agent>` for the CLI that plays ROLE in
#                                 PHASE: stop before the phase when its CLI or credentials are
#                                 missing, naming the secret (nothing for a command of yours)
#   steps.sh run ARGS...          run `factory ARGS...`, record exit-code, then `outputs`
#   steps.sh identity             warn when factory writes with the workflow's GITHUB_TOKEN,
#                                 whose pull requests run no CI (`factory doctor`'s check)
#   steps.sh outputs [PHASE]      session outputs from `factory status --json`
#   steps.sh pack                 .factory/ into $RUNNER_TEMP/factory-state-out/factory-state.tar
#   steps.sh summary TITLE        `factory status` into the step summary
#
# Needs FACTORY (the binary), GITHUB_OUTPUT, GITHUB_STEP_SUMMARY and RUNNER_TEMP; runs in the
# repository (the step's working-directory). Inputs arrive as arguments or environment
# variables, never spliced into this text.
set -euo pipefail

: "${FACTORY:?FACTORY (the factory binary) is not set}"
: "${RUNNER_TEMP:?RUNNER_TEMP is not set: run this inside a GitHub Actions job}"

status_json="$RUNNER_TEMP/factory-status.json"

# An action input left empty arrives as an empty variable; an agent CLI could take an empty
# key for a set one, so empty credential variables are removed.
for credential in ANTHROPIC_API_KEY CLAUDE_CODE_OAUTH_TOKEN CODEX_API_KEY OPENAI_API_KEY; do
  [ -n "${!credential:-}" ] || unset "$credential"
done

need() {
  local agent report="$RUNNER_TEMP/factory-doctor.txt"
  agent="$("$FACTORY" workflow agent "$1" --phase "$2")"
  case "$agent" in claude | codex) ;; *) return 0 ;; esac
  if ! "$FACTORY" doctor --need "$agent" >"$report" 2>&1; then
    cat "$report"
    grep '✗' "$report" | while IFS= read -r line; do
      printf '::error title=factory doctor::%s\n' "${line#✗ }"
    done
    exit 2
  fi
}

restore() {
  local archive="$RUNNER_TEMP/factory-state-in/factory-state.tar"
  if [ ! -f "$archive" ]; then
    if [ "${1:-}" = optional ]; then
      echo "no state artifact: starting without a session"
      return 0
    fi
    echo "::error title=factory::the state artifact holds no factory-state.tar; run the intake action in an earlier job"
    exit 2
  fi
  # Only .factory/ comes out of the archive, as plain files and directories: an agent job's
  # archive could carry .git/hooks or .git/config for this job, which may hold a token.
  "$FACTORY" state restore "$archive"
  policy_from_checkout
  restore_branches
}

# The policy entries of .factory/: what judges this job's writes (workflow.yaml, with its
# safe-outputs limits) and what its prompts are made of (templates, packs, lessons).
policy=(.factory/workflow.yaml .factory/templates .factory/packs .factory/lessons)

# The state was saved by an earlier job, perhaps one that ran an agent: policy comes from the
# checkout of the trusted base, never from that state. `factory state restore` already leaves
# policy members of the archive out (and logs it); this puts back whatever the checkout has.
policy_from_checkout() {
  git rev-parse --git-dir >/dev/null 2>&1 || return 0
  local p
  for p in "${policy[@]}"; do
    rm -rf "$p"
    if [ -n "$(git ls-files -- "$p")" ]; then
      git checkout -- "$p"
    fi
  done
}

# Session outputs, when there is a session to read. PHASE names the phase whose status is
# reported as `status`.
outputs() {
  local phase="${1:-}"
  if [ ! -f .factory/session.json ] || ! "$FACTORY" status --state-dir .factory --json >"$status_json"; then
    return 0
  fi
  {
    [ -z "$phase" ] || echo "status=$(jq -r --arg p "$phase" '.session.phases[$p].status // ""' "$status_json")"
    echo "next-phase=$(jq -r '.next_phase // ""' "$status_json")"
    echo "cost-usd=$(jq -r '.cost.usd' "$status_json")"
    echo "tokens=$(jq -r '.cost.tokens' "$status_json")"
    echo "issues=$(jq -c '.outputs.issues' "$status_json")"
    echo "pull-requests=$(jq -c '.outputs.pull_requests' "$status_json")"
    echo "matrix=$(jq -c '.outputs.matrix' "$status_json")"
    echo "wave-matrix=$(jq -c '.outputs.wave_matrix' "$status_json")"
    # The current wave (the earliest with a pull request not merged yet), empty when there is
    # none or every wave merged; the waves with their status, for a workflow's next stage.
    echo "wave=$(jq -r '.outputs.wave // ""' "$status_json")"
    echo "waves=$(jq -c '.outputs.waves // []' "$status_json")"
    echo "verdict=$(jq -r '.outputs.verdict' "$status_json")"
    echo "findings=$(jq -r '.outputs.findings' "$status_json")"
    echo "score=$(jq -r '.outputs.score // ""' "$status_json")"
    # Merges whose post-merge verification waits for `factory verify --pending`.
    echo "verify-pending=$(jq -c '.outputs.verify_pending // []' "$status_json")"
    # Issues whose validation waits for `factory implement --validate-pending`.
    echo "validation-pending=$(jq -c '.outputs.validation_pending // []' "$status_json")"
  } >>"$GITHUB_OUTPUT"
}

identity() {
  [ -n "${GITHUB_TOKEN:-}" ] || return 0
  "$FACTORY" doctor --json 2>/dev/null \
    | jq -r '.checks[] | select(.check == "write identity" and (.ok | not)) | "::warning title=factory write identity::" + .detail' \
    || true
}

run() {
  local rc=0
  identity
  # stderr is kept for the step summary's error lines, and shown in the log as well.
  "$FACTORY" "$@" 2>"$RUNNER_TEMP/factory-stderr.txt" || rc=$?
  cat "$RUNNER_TEMP/factory-stderr.txt" >&2
  echo "exit-code=$rc" >>"$GITHUB_OUTPUT"
  # The status reported is PHASE's when set, else that of `--phase P` in the arguments.
  local phase="${PHASE:-}" prev=""
  if [ -z "$phase" ]; then
    for a in "$@"; do
      [ "$prev" != "--phase" ] || phase="$a"
      prev="$a"
    done
  fi
  outputs "$phase"
}

# The local forge (no GitHub token: offline runs, tests) keeps its branches in the job's git
# repository, which the next job does not get: they travel in the state as a git bundle.
bundle=.factory/forge/branches.bundle

pack_branches() {
  [ -d .factory/forge ] && git rev-parse --git-dir >/dev/null 2>&1 || return 0
  local heads
  heads="$(git for-each-ref --format='%(objectname) %(refname)' refs/heads/)"
  [ -n "$heads" ] || return 0
  # Unchanged branches keep the bundle as it is: the state copies of parallel jobs that made no
  # branch stay identical, so factory state merge has nothing to reconcile.
  if [ -f "$bundle" ] && [ "$(git bundle list-heads "$bundle" 2>/dev/null | sort)" = "$(sort <<<"$heads")" ]; then
    return 0
  fi
  git bundle create --quiet "$bundle" --branches
}

restore_branches() {
  fetch_branches "$bundle" "the state artifact"
}

# Fetch every branch of the git bundle FILE (named WHERE in errors) into the repository.
fetch_branches() {
  local file="$1" where="$2"
  [ -f "$file" ] && git rev-parse --git-dir >/dev/null 2>&1 || return 0
  if ! git bundle verify --quiet "$file" >/dev/null 2>&1; then
    echo "::error title=factory::$file in $where is not a git bundle of this repository; the local forge's branches cannot be restored"
    exit 2
  fi
  local current
  current="$(git symbolic-ref --quiet --short HEAD || true)"
  git bundle list-heads "$file" | while read -r sha ref; do
    local name="${ref#refs/heads/}"
    [ "$name" != "$ref" ] || continue
    if [ "$name" = "$current" ]; then
      # The checked-out branch moves only forward, with its working tree.
      git fetch --quiet "$file" "$ref" && git merge --quiet --ff-only "$sha" 2>/dev/null || true
    else
      git fetch --quiet "$file" "+$ref:$ref"
    fi
  done
}

# The state copies saved by the jobs of a matrix (each downloaded into its own directory under
# $RUNNER_TEMP/factory-copies/), merged into the restored state: factory state merge.
merge_copies() {
  local from="$RUNNER_TEMP/factory-copies" into="$RUNNER_TEMP/factory-copies-unpacked"
  local dirs=()
  rm -rf "$into"
  for archive in "$from"/*/factory-state.tar; do
    [ -f "$archive" ] || continue
    local name
    name="$(basename "$(dirname "$archive")")"
    mkdir -p "$into/$name"
    "$FACTORY" state restore "$archive" --into "$into/$name"
    fold_branches "$into/$name/.factory"
    dirs+=("$into/$name/.factory")
  done
  if [ ${#dirs[@]} -eq 0 ]; then
    echo "no state copies to merge in $from"
    return 0
  fi
  local rc=0
  "$FACTORY" state merge --base .factory "${dirs[@]}" || rc=$?
  # 1: merged, and a copy stopped for a person; the phase run that follows says so.
  [ "$rc" -le 1 ] || exit "$rc"
}

# The local forge's branches a copy made (each job's own branch) go into this job's repository;
# the copy's bundle is then set back to the base's, so factory state merge sees no change to
# it, and pack makes the new bundle of every branch.
fold_branches() {
  local copy="$1/forge/branches.bundle"
  [ -f "$copy" ] || return 0
  fetch_branches "$copy" "a matrix job's state copy"
  if [ -f "$bundle" ]; then
    cp "$bundle" "$copy"
  else
    rm -f "$copy"
  fi
}

pack() {
  pack_branches
  mkdir -p "$RUNNER_TEMP/factory-state-out"
  if [ -d .factory ]; then
    # Session, log, artifacts, outbox and the local forge; never policy (see policy above).
    local p excludes=()
    for p in "${policy[@]}"; do excludes+=(--exclude="$p"); done
    tar -cf "$RUNNER_TEMP/factory-state-out/factory-state.tar" "${excludes[@]}" .factory
  fi
}

# The step summary: TITLE, the error lines of a run that failed (RC, when set and not 0), and
# `factory status`.
summary() {
  [ -f .factory/session.json ] || return 0
  {
    echo "### $1"
    echo
    if [ "${RC:-0}" != "0" ] && [ -s "$RUNNER_TEMP/factory-stderr.txt" ]; then
      echo '```text'
      grep -E '^(error|needs a human|the pipeline)' "$RUNNER_TEMP/factory-stderr.txt" | tail -n 20 || true
      echo '```'
      echo
    fi
    echo '```text'
    "$FACTORY" status --state-dir .factory || true
    echo '```'
  } >>"$GITHUB_STEP_SUMMARY"
}

cmd="${1:-}"
[ $# -eq 0 ] || shift
case "$cmd" in
  restore) restore "$@" ;;
  merge) merge_copies ;;
  need) need "$@" ;;
  identity) identity ;;
  run) run "$@" ;;
  outputs) outputs "$@" ;;
  pack) pack ;;
  summary) summary "${1:-factory}" ;;
  *)
    echo "usage: steps.sh restore [optional] | merge | need ROLE PHASE | identity | run ARGS... | outputs [PHASE] | pack | summary TITLE" >&2
    exit 2
    ;;
esac
