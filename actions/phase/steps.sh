#!/usr/bin/env bash
# The steps every state-carrying action shares (phase, plan, implement, review, merge-verify,
# complete). A composite action cannot `uses:` a sibling action by a relative path, so the
# actions call this script from their own checkout: "$GITHUB_ACTION_PATH/../phase/steps.sh".
#
#   steps.sh restore [optional]   unpack $RUNNER_TEMP/factory-state-in/factory-state.tar
#   steps.sh run ARGS...          run `factory ARGS...`, record exit-code, then `outputs`
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
  tar -xf "$archive"
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
    echo "verdict=$(jq -r '.outputs.verdict' "$status_json")"
    echo "findings=$(jq -r '.outputs.findings' "$status_json")"
    echo "score=$(jq -r '.outputs.score // ""' "$status_json")"
  } >>"$GITHUB_OUTPUT"
}

run() {
  local rc=0
  "$FACTORY" "$@" || rc=$?
  echo "exit-code=$rc" >>"$GITHUB_OUTPUT"
  # `run --resume --phase P`: report P's status.
  local phase="" prev=""
  for a in "$@"; do
    [ "$prev" != "--phase" ] || phase="$a"
    prev="$a"
  done
  outputs "$phase"
}

pack() {
  mkdir -p "$RUNNER_TEMP/factory-state-out"
  if [ -d .factory ]; then
    tar -cf "$RUNNER_TEMP/factory-state-out/factory-state.tar" .factory
  fi
}

summary() {
  [ -f .factory/session.json ] || return 0
  {
    echo "### $1"
    echo
    echo '```text'
    "$FACTORY" status --state-dir .factory || true
    echo '```'
  } >>"$GITHUB_STEP_SUMMARY"
}

cmd="${1:-}"
[ $# -eq 0 ] || shift
case "$cmd" in
  restore) restore "$@" ;;
  run) run "$@" ;;
  outputs) outputs "$@" ;;
  pack) pack ;;
  summary) summary "${1:-factory}" ;;
  *)
    echo "usage: steps.sh restore [optional] | run ARGS... | outputs [PHASE] | pack | summary TITLE" >&2
    exit 2
    ;;
esac
