#!/usr/bin/env bash
# Tests actions/setup/install.sh against a release mirror served on 127.0.0.1: the version
# comes from the ref (full, major, minor, or the checkout's Cargo.toml), the archive is installed
# only when its sha256 matches the release's checksum manifest (or its legacy .sha256), with no
# cargo on PATH; the build attestation is checked when gh is present; a second run finds the
# binary in the tool cache; a missing release fails naming the version; from-source builds
# with cargo; binary-path wins over everything. Prints the cold and warm install times.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
install="$root/actions/setup/install.sh"
passed=0
failed=0
ok() { passed=$((passed + 1)); printf 'ok   %s\n' "$*"; }
bad() { failed=$((failed + 1)); printf 'FAIL %s\n' "$*"; }

work="$(mktemp -d "${TMPDIR:-/tmp}/factory-setup-test.XXXXXX")"
server_pid=""
cleanup() {
  [ -z "$server_pid" ] || kill "$server_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# A fake factory and cargo-dist style releases of it: software-factory-<target>.tar.xz with a
# top-level directory, the release's checksum manifest sha256.sum, and per-archive .sha256.
triple=x86_64-unknown-linux-musl
asset="software-factory-$triple.tar.xz"
release() { # VERSION: a release directory holding the archive of a factory that prints VERSION
  local v="$1" rel="$work/mirror/acme/factory/releases/download/v$1"
  mkdir -p "$rel" "$work/pkg-$v/software-factory-$triple"
  printf '#!/bin/sh\necho "factory %s"\n' "$v" >"$work/pkg-$v/software-factory-$triple/factory"
  chmod +x "$work/pkg-$v/software-factory-$triple/factory"
  tar -cJf "$rel/$asset" -C "$work/pkg-$v" "software-factory-$triple"
  printf '%s\n' "$rel"
}
rel="$(release 9.8.7)"
(cd "$rel" && sha256sum "$asset" >"$asset.sha256" && {
  echo "1111111111111111111111111111111111111111111111111111111111111111 *software-factory-aarch64-apple-darwin.tar.xz"
  sha256sum -b "$asset"
} >sha256.sum)
# A release whose manifest does not match its archive.
bad_rel="$(release 9.8.6)"
echo "0000000000000000000000000000000000000000000000000000000000000000  $asset" >"$bad_rel/sha256.sum"
# A release made before the manifest: only the archive's own .sha256.
old_rel="$(release 9.8.5)"
(cd "$old_rel" && sha256sum "$asset" >"$asset.sha256")
# A release whose manifest lists other archives only.
odd_rel="$(release 9.8.4)"
echo "1111111111111111111111111111111111111111111111111111111111111111  other.tar.xz" >"$odd_rel/sha256.sum"
mkdir -p "$work/fake-bin"
cp "$work/pkg-9.8.7/software-factory-$triple/factory" "$work/fake-bin/factory"

# The action's checkout as a hosted runner has it: files at the ref, no .git.
checkout() { # DIR VERSION
  mkdir -p "$1"
  printf '[package]\nname = "software-factory"\nversion = "%s"\nedition = "2024"\n\n[dependencies]\nversion = "0.0.0"\n' "$2" >"$1/Cargo.toml"
}
checkout "$work/at-v9" 9.8.7
checkout "$work/at-v8" 8.0.1

# A PATH without cargo: release installs must not need Rust.
nocargo="$work/nocargo-bin"
mkdir -p "$nocargo"
for tool in bash sh env curl tar xz sha256sum awk sed cut tr mkdir cp chmod touch find head tail mktemp rm dirname uname cat date; do
  p="$(command -v "$tool")" && ln -sf "$p" "$nocargo/$tool"
done

port_file="$work/port"
python3 - "$work/mirror" "$port_file" >"$work/server.log" 2>&1 <<'PY' &
import functools, http.server, sys
handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=sys.argv[1])
server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
open(sys.argv[2], "w").write(str(server.server_address[1]))
server.serve_forever()
PY
server_pid=$!
for _ in $(seq 1 100); do [ -s "$port_file" ] && break; sleep 0.1; done
[ -s "$port_file" ] || { echo "the mirror did not start"; cat "$work/server.log"; exit 1; }
base="http://127.0.0.1:$(cat "$port_file")"

# run NAME [VAR=value...]: runs install.sh in a clean environment; its outputs land in
# $work/NAME.out, its log in $work/NAME.log; returns its exit status.
run() {
  local name="$1"
  shift
  : >"$work/$name.out"
  env -i PATH="$nocargo" HOME="$HOME" RUNNER_OS=Linux RUNNER_ARCH=X64 \
    RUNNER_TEMP="$work" RUNNER_TOOL_CACHE="$work/tool-cache" \
    GITHUB_OUTPUT="$work/$name.out" GITHUB_PATH="$work/$name.path" \
    FACTORY_RELEASE_URL="$base" FACTORY_REPOSITORY=acme/factory "$@" \
    bash "$install" >"$work/$name.log" 2>&1
}
out() { sed -n "s/^$2=//p" "$work/$1.out"; }

now() { date +%s%N; }
t0=$(now)
if run release FACTORY_VERSION=v9.8.7 && [ "$(out release version)" = 9.8.7 ] \
  && grep -q 'sha256 verified against sha256.sum' "$work/release.log" \
  && [ "$(out release path)" = "$work/tool-cache/factory/9.8.7/x64/factory" ]; then
  ok "a release archive is downloaded with no cargo on PATH, verified against the release's sha256.sum and installed into the tool cache"
else bad "release install: $(cat "$work/release.log")"; fi
cold_ms=$((($(now) - t0) / 1000000))

t0=$(now)
if run ref FACTORY_ACTION_REF=v9.8.7 && grep -q 'found in the tool cache' "$work/ref.log" \
  && [ "$(out ref version)" = 9.8.7 ]; then
  ok "the action's version ref selects the release, and the second run uses the tool cache"
else bad "cache hit: $(cat "$work/ref.log")"; fi
warm_ms=$((($(now) - t0) / 1000000))

if run major FACTORY_ACTION_REF=v9 FACTORY_SOURCE_DIR="$work/at-v9" RUNNER_TOOL_CACHE="$work/tc-major" \
  && grep -q 'ref v9 resolves to release v9.8.7' "$work/major.log" && [ "$(out major version)" = 9.8.7 ]; then
  ok "a major ref (v9) installs the release named by Cargo.toml at that ref"
else bad "major ref: $(cat "$work/major.log")"; fi

if run minor FACTORY_ACTION_REF=v9.8 FACTORY_SOURCE_DIR="$work/at-v9" RUNNER_TOOL_CACHE="$work/tc-minor" \
  && [ "$(out minor version)" = 9.8.7 ]; then
  ok "a minor ref (v9.8) installs the newest patch release it points at"
else bad "minor ref: $(cat "$work/minor.log")"; fi

if ! run stale FACTORY_ACTION_REF=v9 FACTORY_SOURCE_DIR="$work/at-v8" \
  && grep -q 'ref v9 holds Cargo.toml version 8.0.1, which is not a v9 release' "$work/stale.log"; then
  ok "a major tag that points outside its major version fails naming both"
else bad "stale major tag: $(cat "$work/stale.log")"; fi

if run commit FACTORY_ACTION_REF=0123456789abcdef0123456789abcdef01234567 FACTORY_SOURCE_DIR="$work/at-v9" \
  RUNNER_TOOL_CACHE="$work/tc-commit" && grep -q 'installing release v9.8.7, the version in Cargo.toml' "$work/commit.log"; then
  ok "a commit ref installs the release of the version in Cargo.toml at that commit"
else bad "commit ref: $(cat "$work/commit.log")"; fi

if ! run noversion FACTORY_ACTION_REF=main FACTORY_SOURCE_DIR="$work/nowhere" \
  && grep -q "cannot tell which factory release to install" "$work/noversion.log"; then
  ok "a ref whose checkout names no version fails and says what to set"
else bad "no version: $(cat "$work/noversion.log")"; fi

if ! run mismatch FACTORY_VERSION=v9.8.6 && grep -q 'sha256 mismatch.*(sha256.sum)' "$work/mismatch.log" \
  && [ ! -e "$work/tool-cache/factory/9.8.6" ] && [ -z "$(out mismatch path)" ]; then
  ok "an archive whose sha256 does not match the manifest is refused and not installed"
else bad "checksum mismatch: $(cat "$work/mismatch.log")"; fi

if run legacy FACTORY_VERSION=v9.8.5 && grep -q "sha256 verified against $asset.sha256" "$work/legacy.log"; then
  ok "a release without sha256.sum is verified against the archive's .sha256"
else bad "legacy checksum: $(cat "$work/legacy.log")"; fi

if ! run unlisted FACTORY_VERSION=v9.8.4 && grep -q "sha256.sum has no line for $asset" "$work/unlisted.log"; then
  ok "a manifest without the archive's line is refused"
else bad "unlisted archive: $(cat "$work/unlisted.log")"; fi

if ! run pinned FACTORY_VERSION=v9.8.7 FACTORY_SHA256=abc RUNNER_TOOL_CACHE="$work/tc2" \
  && grep -q 'sha256 mismatch.*(the sha256 input)' "$work/pinned.log"; then
  ok "the sha256 input overrides the published checksum"
else bad "pinned sha256: $(cat "$work/pinned.log")"; fi

if ! run missing FACTORY_VERSION=v1.0.0 FACTORY_SOURCE_DIR="$work/at-v9" \
  && grep -q 'factory release v1.0.0 has no asset' "$work/missing.log" \
  && ! grep -q 'building from source' "$work/missing.log"; then
  ok "a version without a release fails naming it, with no source build"
else bad "missing release: $(cat "$work/missing.log")"; fi

# Build attestations through a stand-in gh that records its arguments.
mkdir -p "$work/gh-ok" "$work/gh-bad"
printf '#!/bin/sh\necho "$*" >>"%s/gh.calls"\n' "$work" >"$work/gh-ok/gh"
printf '#!/bin/sh\necho "verification failed: no attestations found" >&2\nexit 1\n' >"$work/gh-bad/gh"
chmod +x "$work/gh-ok/gh" "$work/gh-bad/gh"
if run attested PATH="$work/gh-ok:$nocargo" GH_TOKEN=t RUNNER_TOOL_CACHE="$work/tc-att" FACTORY_VERSION=v9.8.7 \
  && grep -q 'build attestation verified' "$work/attested.log" \
  && grep -q "^attestation verify .*/$asset --repo acme/factory\$" "$work/gh.calls"; then
  ok "with gh and a token the archive's build attestation is verified"
else bad "attestation: $(cat "$work/attested.log")"; fi

if ! run unattested PATH="$work/gh-bad:$nocargo" GH_TOKEN=t RUNNER_TOOL_CACHE="$work/tc-unatt" FACTORY_VERSION=v9.8.7 \
  && grep -q 'build attestation of .* does not verify' "$work/unattested.log" \
  && [ ! -e "$work/tc-unatt/factory/9.8.7/x64/factory" ]; then
  ok "an archive whose attestation does not verify is refused"
else bad "failed attestation: $(cat "$work/unattested.log")"; fi

if ! run required FACTORY_ATTESTATIONS=required RUNNER_TOOL_CACHE="$work/tc-req" FACTORY_VERSION=v9.8.7 \
  && grep -q 'attestations: required, but the gh CLI is not installed' "$work/required.log"; then
  ok "attestations: required without gh fails"
else bad "required attestation: $(cat "$work/required.log")"; fi

if run given FACTORY_BINARY_PATH="$work/fake-bin/factory" FACTORY_VERSION=v1.0.0 \
  && [ "$(out given path)" = "$work/fake-bin/factory" ] \
  && [ "$(cat "$work/given.path")" = "$work/fake-bin" ]; then
  ok "binary-path is used as is and its directory added to PATH"
else bad "binary-path: $(cat "$work/given.log")"; fi

if ! run nobinary FACTORY_BINARY_PATH="$work/absent" && grep -q 'does not exist' "$work/nobinary.log"; then
  ok "a binary-path that does not exist is an error naming it"
else bad "absent binary-path: $(cat "$work/nobinary.log")"; fi

# A source build, with a stand-in cargo that records its calls and "builds" the fake binary.
src="$work/src"
mkdir -p "$src" "$work/fake-cargo"
touch "$src/Cargo.toml"
git -C "$src" init -q && git -C "$src" add -A \
  && git -C "$src" -c user.name=t -c user.email=t@example.invalid commit -qm src
rev="$(git -C "$src" rev-parse HEAD)"
cat >"$work/fake-cargo/cargo" <<SH
#!/bin/sh
echo "\$*" >>"$work/cargo.calls"
mkdir -p "\$CARGO_TARGET_DIR/release" && cp "$work/fake-bin/factory" "\$CARGO_TARGET_DIR/release/factory"
SH
chmod +x "$work/fake-cargo/cargo"
if run source1 PATH="$work/fake-cargo:$PATH" FACTORY_FROM_SOURCE=true FACTORY_SOURCE_DIR="$src" \
  && run source2 PATH="$work/fake-cargo:$PATH" FACTORY_FROM_SOURCE=true FACTORY_SOURCE_DIR="$src" \
  && [ "$(wc -l <"$work/cargo.calls")" -eq 1 ] \
  && grep -q -- 'build --release --locked --bin factory' "$work/cargo.calls" \
  && [ "$(out source2 path)" = "$work/tool-cache/factory/source-$rev/x64/factory" ]; then
  ok "from-source builds with cargo once per commit and reuses the tool cache"
else bad "source build: $(cat "$work/source1.log" "$work/source2.log")"; fi

# The agent CLIs (agents.sh), with a stand-in npm that records its calls and "installs" a CLI
# printing the version it was asked for.
agents="$root/actions/setup/agents.sh"
mkdir -p "$work/fake-npm"
cat >"$work/fake-npm/npm" <<SH
#!/usr/bin/env bash
echo "\$*" >>"$work/npm.calls"
prefix="" spec=""
while [ \$# -gt 0 ]; do
  case "\$1" in --prefix) prefix="\$2"; shift 2 ;; --registry) shift 2 ;; -*) shift ;; *) spec="\$1"; shift ;; esac
done
name=claude; case "\$spec" in @openai/codex@*) name=codex ;; esac
mkdir -p "\$prefix/node_modules/.bin"
printf '#!/bin/sh\necho "%s (fake)"\n' "\${spec##*@}" >"\$prefix/node_modules/.bin/\$name"
chmod +x "\$prefix/node_modules/.bin/\$name"
SH
chmod +x "$work/fake-npm/npm"
agents_run() { # NAME ARGS... (environment assignments first, then the script's arguments)
  local name="$1" vars=()
  shift
  while [ $# -gt 0 ] && [[ "$1" == *=* ]]; do vars+=("$1"); shift; done
  : >"$work/$name.out"
  env -i PATH="$work/fake-npm:$nocargo" HOME="$HOME" RUNNER_TOOL_CACHE="$work/agents-cache" \
    GITHUB_PATH="$work/$name.path" "${vars[@]}" bash "$agents" "$@" >"$work/$name.log" 2>&1
}
if agents_run claude1 claude && agents_run claude2 claude \
  && [ "$(grep -c 'claude-code@2' "$work/npm.calls")" -eq 1 ] \
  && grep -q 'found in the tool cache' "$work/claude2.log" \
  && [ "$(cat "$work/claude2.path")" = "$work/agents-cache/factory-agents/claude-2.1.332/node_modules/.bin" ]; then
  ok "Claude Code is installed from npm at the pinned version once, then found in the tool cache"
else bad "agent install: $(cat "$work/claude1.log" "$work/claude2.log")"; fi

if agents_run codex FACTORY_CODEX_VERSION=0.200.1 codex && grep -q '@openai/codex@0.200.1' "$work/npm.calls" \
  && grep -q 'codex 0.200.1 ready' "$work/codex.log"; then
  ok "the version input overrides the pinned one"
else bad "version override: $(cat "$work/codex.log")"; fi

if ! agents_run badversion 'FACTORY_CLAUDE_VERSION=1.0.0; rm -rf /' claude \
  && grep -q 'is not a version' "$work/badversion.log"; then
  ok "a version that is not one is refused before npm runs"
else bad "bad version: $(cat "$work/badversion.log")"; fi

if ! agents_run noinstall FACTORY_INSTALL_AGENTS=false claude && grep -q 'claude is not on PATH' "$work/noinstall.log"; then
  ok "install-agents: false with no CLI on PATH fails naming it"
else bad "install-agents false: $(cat "$work/noinstall.log")"; fi

# ROLE PHASE asks factory which CLI the role needs; a stand-in factory answers.
mkdir -p "$work/fake-factory"
# shellcheck disable=SC2016 # the stand-in expands its own arguments
printf '#!/bin/sh\n[ "$1 $2 $3" = "workflow agent reviewer" ] && echo "$ANSWER"\n' >"$work/fake-factory/factory"
chmod +x "$work/fake-factory/factory"
: >"$work/npm.calls"
if agents_run role-none FACTORY="$work/fake-factory/factory" ANSWER=command reviewer code_review \
  && grep -q 'a command of yours' "$work/role-none.log" && [ ! -s "$work/npm.calls" ] \
  && agents_run role-codex FACTORY="$work/fake-factory/factory" ANSWER=codex reviewer code_review \
  && grep -q '@openai/codex@0.171.0' "$work/npm.calls"; then
  ok "a role installs the CLI workflow.yaml gives it, and nothing for a command of yours"
else bad "role: $(cat "$work/role-none.log" "$work/role-codex.log")"; fi

printf 'install time on a loopback mirror: cold %d ms (budget 15000), warm %d ms (budget 5000)\n' "$cold_ms" "$warm_ms"
[ "$cold_ms" -le 15000 ] || bad "cold install took $cold_ms ms"
[ "$warm_ms" -le 5000 ] || bad "warm install took $warm_ms ms"
printf 'setup action: %d passed, %d failed\n' "$passed" "$failed"
[ "$failed" -eq 0 ]
