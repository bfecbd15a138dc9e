#!/usr/bin/env bash
# Tests actions/setup/install.sh against a release mirror served on 127.0.0.1: the archive is
# installed only when its sha256 matches, a second run finds it in the tool cache, a missing
# release falls back to a source build, and binary-path wins over everything.
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

# A fake factory and a cargo-dist style release of it: software-factory-<target>.tar.xz with a
# top-level directory, and its .sha256.
mkdir -p "$work/fake-bin"
cat >"$work/fake-bin/factory" <<'SH'
#!/bin/sh
echo "factory 9.8.7"
SH
chmod +x "$work/fake-bin/factory"
triple=x86_64-unknown-linux-musl
rel="$work/mirror/acme/factory/releases/download/v9.8.7"
mkdir -p "$rel" "$work/pkg/software-factory-$triple"
cp "$work/fake-bin/factory" "$work/pkg/software-factory-$triple/factory"
tar -cJf "$rel/software-factory-$triple.tar.xz" -C "$work/pkg" "software-factory-$triple"
(cd "$rel" && sha256sum "software-factory-$triple.tar.xz" >"software-factory-$triple.tar.xz.sha256")
# A release whose checksum file does not match its archive.
bad_rel="$work/mirror/acme/factory/releases/download/v9.8.6"
mkdir -p "$bad_rel"
cp "$rel/software-factory-$triple.tar.xz" "$bad_rel/"
echo "0000000000000000000000000000000000000000000000000000000000000000  software-factory-$triple.tar.xz" \
  >"$bad_rel/software-factory-$triple.tar.xz.sha256"

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
  env -i PATH="$PATH" HOME="$HOME" RUNNER_OS=Linux RUNNER_ARCH=X64 \
    RUNNER_TEMP="$work" RUNNER_TOOL_CACHE="$work/tool-cache" \
    GITHUB_OUTPUT="$work/$name.out" GITHUB_PATH="$work/$name.path" \
    FACTORY_RELEASE_URL="$base" FACTORY_REPOSITORY=acme/factory "$@" \
    bash "$install" >"$work/$name.log" 2>&1
}
out() { sed -n "s/^$2=//p" "$work/$1.out"; }

if run release FACTORY_VERSION=v9.8.7 && [ "$(out release version)" = 9.8.7 ] \
  && grep -q 'sha256 verified' "$work/release.log" \
  && [ "$(out release path)" = "$work/tool-cache/factory/9.8.7/x64/factory" ]; then
  ok "a release archive is downloaded, verified and installed into the tool cache"
else bad "release install: $(cat "$work/release.log")"; fi

if run ref FACTORY_ACTION_REF=v9.8.7 && grep -q 'found in the tool cache' "$work/ref.log" \
  && [ "$(out ref version)" = 9.8.7 ]; then
  ok "the action's version ref selects the release, and the second run uses the tool cache"
else bad "cache hit: $(cat "$work/ref.log")"; fi

if ! run mismatch FACTORY_VERSION=v9.8.6 && grep -q 'sha256 mismatch' "$work/mismatch.log" \
  && [ ! -e "$work/tool-cache/factory/9.8.6" ] && [ -z "$(out mismatch path)" ]; then
  ok "an archive whose sha256 does not match is refused and not installed"
else bad "checksum mismatch: $(cat "$work/mismatch.log")"; fi

if ! run pinned FACTORY_VERSION=v9.8.7 FACTORY_SHA256=abc RUNNER_TOOL_CACHE="$work/tc2" \
  && grep -q 'sha256 mismatch' "$work/pinned.log"; then
  ok "the sha256 input overrides the published checksum"
else bad "pinned sha256: $(cat "$work/pinned.log")"; fi

if ! run missing FACTORY_VERSION=v1.0.0 FACTORY_SOURCE_DIR="$work/nowhere" \
  && grep -q 'no release asset' "$work/missing.log" \
  && grep -q 'cannot build from source' "$work/missing.log"; then
  ok "a version without a release falls back to a source build"
else bad "missing release: $(cat "$work/missing.log")"; fi

if ! run branch FACTORY_ACTION_REF=main FACTORY_SOURCE_DIR="$work/nowhere" \
  && grep -q "is not a release version: building from source" "$work/branch.log"; then
  ok "a branch or commit ref builds from source"
else bad "branch ref: $(cat "$work/branch.log")"; fi

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

printf 'setup action: %d passed, %d failed\n' "$passed" "$failed"
[ "$failed" -eq 0 ]
