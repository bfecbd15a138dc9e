#!/usr/bin/env bash
# Installs the agent CLI a phase runs, from npm at a pinned version, for the plan, implement
# and review actions (which run this script from "$GITHUB_ACTION_PATH/../setup").
#
#   agents.sh ROLE PHASE     the CLI that plays ROLE (planner, implementer, reviewer) in PHASE,
#                            as .factory/workflow.yaml says (`factory workflow agent`): claude or
#                            codex is installed; a command of yours or a phase program needs none
#   agents.sh claude|codex   that CLI
#
# Inputs arrive as environment variables, never as ${{ }} text inside the script:
#   FACTORY_INSTALL_AGENTS     true (default): install; false: use the CLIs already on PATH
#   FACTORY_CLAUDE_VERSION     @anthropic-ai/claude-code version (default below)
#   FACTORY_CODEX_VERSION      @openai/codex version (default below)
#   FACTORY_NPM_REGISTRY       npm registry to install from (default: npm's configured one)
#   FACTORY                    the factory binary (for ROLE PHASE)
#   RUNNER_TOOL_CACHE          where installs are kept, one directory per package and version
# Adds each CLI's directory to $GITHUB_PATH. Installs no credentials: the agent's key reaches
# only the step that runs it.
set -euo pipefail

# The versions factory is tested with (.ci/run installs the same ones for tests/real_cli.rs).
default_claude=2.1.332
default_codex=0.171.0

log() { printf 'factory agents: %s\n' "$*" >&2; }
die() { printf '::error title=factory agents::%s\n' "$*"; exit 2; }

[ $# -gt 0 ] || die "usage: agents.sh ROLE PHASE | agents.sh claude|codex..."
case "$1" in
  planner | implementer | reviewer)
    [ $# -eq 2 ] || die "usage: agents.sh ROLE PHASE"
    : "${FACTORY:?FACTORY (the factory binary) is not set}"
    agent="$("$FACTORY" workflow agent "$1" --phase "$2")" || die "factory workflow agent $1 failed; see the log above"
    case "$agent" in
      claude | codex) set -- "$agent" ;;
      command) log "the $1 is a command of yours (.factory/workflow.yaml): no agent CLI to install"; exit 0 ;;
      none) log "$2 runs a phase program of yours (.factory/workflow.yaml): no agent CLI to install"; exit 0 ;;
      *) die "factory workflow agent printed '$agent'" ;;
    esac
    ;;
esac
cache="${RUNNER_TOOL_CACHE:-${TMPDIR:-/tmp}/factory-tool-cache}/factory-agents"

for agent in "$@"; do
  case "$agent" in
    claude) package=@anthropic-ai/claude-code version="${FACTORY_CLAUDE_VERSION:-$default_claude}" ;;
    codex) package=@openai/codex version="${FACTORY_CODEX_VERSION:-$default_codex}" ;;
    *) die "unknown agent '$agent': expected claude or codex" ;;
  esac
  if [ "${FACTORY_INSTALL_AGENTS:-true}" != true ]; then
    found="$(command -v "$agent" || true)"
    [ -n "$found" ] || die "install-agents is false but $agent is not on PATH: install $package on the runner or set install-agents: true"
    log "using $found ($("$agent" --version 2>/dev/null | head -1))"
    continue
  fi
  [[ "$version" =~ ^[0-9A-Za-z.+-]+$ ]] || die "$package version '$version' is not a version"
  command -v npm >/dev/null 2>&1 || die "npm is not on PATH: use a runner with Node.js (GitHub-hosted runners have it) or add actions/setup-node before this step"
  dir="$cache/$agent-$version"
  bin="$dir/node_modules/.bin"
  if [ -f "$dir/.complete" ] && [ -x "$bin/$agent" ]; then
    log "$package@$version found in the tool cache"
  else
    rm -rf "$dir"
    mkdir -p "$dir"
    registry=()
    [ -z "${FACTORY_NPM_REGISTRY:-}" ] || registry=(--registry "$FACTORY_NPM_REGISTRY")
    log "installing $package@$version from npm"
    npm install --no-audit --no-fund --loglevel=error "${registry[@]}" \
      --prefix "$dir" "$package@$version" >&2 \
      || die "npm install $package@$version failed; see the log above"
    [ -x "$bin/$agent" ] || die "$package@$version installed no '$agent' executable"
    touch "$dir/.complete"
  fi
  reported="$("$bin/$agent" --version 2>/dev/null | head -1 || true)"
  case "$reported" in
    *"$version"*) log "$agent $version ready ($bin)" ;;
    *) die "$bin/$agent --version printed '${reported}', expected $version" ;;
  esac
  if [ -n "${GITHUB_PATH:-}" ]; then printf '%s\n' "$bin" >>"$GITHUB_PATH"; fi
done
