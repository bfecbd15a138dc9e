#!/usr/bin/env bash
# Installs the `factory` binary for the setup action and for every phase action, which run this
# script from "$GITHUB_ACTION_PATH/../setup" (a composite action cannot `uses:` a sibling action
# by relative path).
#
# Inputs arrive as environment variables, never as ${{ }} text inside the script:
#   FACTORY_BINARY_PATH   use this existing binary (self-hosted runners, tests)
#   FACTORY_FROM_SOURCE   "true": build with cargo from the action's own checkout
#   FACTORY_VERSION       release tag to install (default: resolved from the action's ref)
#   FACTORY_SHA256        expected sha256 of the release archive (default: the release's
#                         checksum manifest sha256.sum, else the archive's .sha256)
#   FACTORY_REPOSITORY    owner/name hosting the releases (default: the action's repository)
#   FACTORY_ACTION_REF    the ref the action was used at (github.action_ref)
#   FACTORY_SOURCE_DIR    the action repository's root: its Cargo.toml names the version a
#                         major, minor or commit ref installs, and source builds use it
#   FACTORY_RELEASE_URL   base URL of release downloads (default: https://github.com)
#   FACTORY_ATTESTATIONS  auto (verify the archive's build attestation when `gh` and a token
#                         are present), required, or off
#   GH_TOKEN              token `gh attestation verify` uses (read access is enough)
# Writes `path` and `version` to $GITHUB_OUTPUT and the binary's directory to $GITHUB_PATH.
#
# A version that has no release fails naming it: nothing is built unless from-source is true.
set -euo pipefail

log() { printf 'factory setup: %s\n' "$*" >&2; }
die() { printf '::error title=factory setup::%s\n' "$*"; exit 2; }

output() {
  if [ -n "${GITHUB_OUTPUT:-}" ]; then printf '%s=%s\n' "$1" "$2" >>"$GITHUB_OUTPUT"; fi
}

exe=""
case "${RUNNER_OS:-$(uname -s)}" in
  Windows | MINGW* | MSYS* | CYGWIN*) exe=".exe" ;;
esac

# The target triple of the cargo-dist archive for this runner.
target_triple() {
  local os arch
  os="${RUNNER_OS:-$(uname -s)}"
  arch="${RUNNER_ARCH:-$(uname -m)}"
  case "$arch" in
    X64 | x86_64 | amd64) arch=x86_64 ;;
    ARM64 | aarch64 | arm64) arch=aarch64 ;;
    *) return 1 ;;
  esac
  case "$os" in
    Linux) echo "$arch-unknown-linux-musl" ;;
    macOS | Darwin) echo "$arch-apple-darwin" ;;
    Windows | MINGW* | MSYS* | CYGWIN*)
      [ "$arch" = x86_64 ] || return 1
      echo "x86_64-pc-windows-msvc"
      ;;
    *) return 1 ;;
  esac
}

sha256_of() {
  if command -v sha256sum >/dev/null 2>&1; then
    sha256sum "$1" | cut -d' ' -f1
  else
    shasum -a 256 "$1" | cut -d' ' -f1
  fi
}

# Publish the installed binary to the caller and stop.
finish() {
  local bin="$1" version
  [ -x "$bin" ] || die "$bin is not an executable file"
  version="$("$bin" --version | awk '{print $2}')" || die "$bin --version failed"
  [ -n "$version" ] || die "$bin --version printed no version"
  if [ -n "${GITHUB_PATH:-}" ]; then dirname "$bin" >>"$GITHUB_PATH"; fi
  output path "$bin"
  output version "$version"
  log "using $bin (factory $version)"
  exit 0
}

cache_root="${RUNNER_TOOL_CACHE:-${TMPDIR:-/tmp}/factory-tool-cache}/factory"
arch_dir="$(printf '%s' "${RUNNER_ARCH:-$(uname -m)}" | tr '[:upper:]' '[:lower:]')"

# 1. An existing binary.
if [ -n "${FACTORY_BINARY_PATH:-}" ]; then
  bin="$FACTORY_BINARY_PATH"
  case "$bin" in /*) ;; *) bin="$PWD/$bin" ;; esac
  [ -f "$bin" ] || die "binary-path: $FACTORY_BINARY_PATH does not exist; build factory first or leave binary-path empty"
  finish "$bin"
fi

build_from_source() {
  local src="${FACTORY_SOURCE_DIR:-}" rev dir target_dir
  { [ -n "$src" ] && [ -f "$src/Cargo.toml" ]; } || die "cannot build from source: no Cargo.toml in '${src}' (the action's checkout)"
  command -v cargo >/dev/null 2>&1 || die "cannot build from source: cargo is not on PATH; install Rust (rustup) first"
  rev="$(git -C "$src" rev-parse HEAD 2>/dev/null || true)"
  dir="$cache_root/source-${rev:-unversioned}/$arch_dir"
  if [ -n "$rev" ] && [ -f "$dir/.complete" ]; then
    log "source build of $rev found in the tool cache"
    finish "$dir/factory$exe"
  fi
  target_dir="${CARGO_TARGET_DIR:-$src/target}"
  log "building from source in $src (cargo build --release --locked)"
  CARGO_TARGET_DIR="$target_dir" cargo build --release --locked --bin factory --manifest-path "$src/Cargo.toml" >&2 \
    || die "cargo build failed; see the log above"
  mkdir -p "$dir"
  cp "$target_dir/release/factory$exe" "$dir/factory$exe"
  [ -z "$rev" ] || touch "$dir/.complete"
  finish "$dir/factory$exe"
}

# 2. A source build when asked for.
if [ "${FACTORY_FROM_SOURCE:-false}" = "true" ]; then
  build_from_source
fi

# The version in the action checkout's Cargo.toml: the release built from the same commit as
# the action's scripts. The release process moves the v<major> and v<major>.<minor> tags to
# each release, so at `@v1` this file names the newest 1.x.y (docs/release.md).
checkout_version() {
  local src="${FACTORY_SOURCE_DIR:-}" v
  [ -n "$src" ] && [ -f "$src/Cargo.toml" ] || return 1
  v="$(sed -n '/^\[package\]/,/^\[/s/^version *= *"\([^"]*\)".*/\1/p' "$src/Cargo.toml" | head -1)"
  [ -n "$v" ] || return 1
  printf '%s\n' "$v"
}

# 3. The release for the version: the input; else the action's ref when it is a full version;
#    else (a major or minor tag such as v1 or v1.4, a branch or a commit) the version named in
#    the action's own Cargo.toml, which for a major or minor tag must lie inside it.
ref="${FACTORY_ACTION_REF:-}"
version="${FACTORY_VERSION:-}"
if [ -z "$version" ]; then
  case "$ref" in
    v[0-9]*.[0-9]*.[0-9]* | [0-9]*.[0-9]*.[0-9]*) version="$ref" ;;
    *)
      version="$(checkout_version)" \
        || die "cannot tell which factory release to install: the action's ref '${ref}' is not a full version and its checkout has no Cargo.toml version; set the version input (e.g. v1.2.3) or from-source: true"
      if [[ "$ref" =~ ^v?[0-9]+(\.[0-9]+)?$ ]]; then
        prefix="${ref#v}."
        case "$version." in
          "$prefix"*) log "the action's ref $ref resolves to release v$version (Cargo.toml at that ref)" ;;
          *) die "the action's ref $ref holds Cargo.toml version $version, which is not a $ref release; the tag was not moved by the release process (docs/release.md) - use a full version ref such as @v$version" ;;
        esac
      else
        log "the action's ref '${ref:-?}' is not a version tag: installing release v$version, the version in Cargo.toml at that ref"
      fi
      ;;
  esac
fi
case "$version" in v*) tag="$version" ;; *) tag="v$version" ;; esac

triple="$(target_triple)" || die "no release build for ${RUNNER_OS:-?}/${RUNNER_ARCH:-?}; set from-source: true"
dir="$cache_root/${tag#v}/$arch_dir"
if [ -f "$dir/.complete" ]; then
  log "factory $tag found in the tool cache"
  finish "$dir/factory$exe"
fi

repo="${FACTORY_REPOSITORY:-software-factory/factory}"
case "$triple" in *windows*) ext=zip ;; *) ext=tar.xz ;; esac
asset="software-factory-$triple.$ext"
url="${FACTORY_RELEASE_URL:-https://github.com}/$repo/releases/download/$tag/$asset"
# HTTPS only; plain HTTP is accepted for a loopback mirror (the setup tests serve one).
tls=(--proto '=https' --tlsv1.2)
case "$url" in http://127.0.0.1:* | http://localhost:*) tls=() ;; esac
work="$(mktemp -d "${RUNNER_TEMP:-${TMPDIR:-/tmp}}/factory-setup.XXXXXX")"
trap 'rm -rf "$work"' EXIT

# fetch URL FILE: prints the HTTP status ("000" when there was no answer).
fetch() {
  curl "${tls[@]}" -sSL --retry 3 --connect-timeout 10 -o "$2" -w '%{http_code}' "$1" 2>/dev/null || true
}

release_base="${url%/*}"
log "downloading $url"
status="$(fetch "$url" "$work/$asset")"
case "$status" in
  200) ;;
  404) die "factory release $tag has no asset $asset ($url answered 404): check that $tag is published at $repo, set the version input to a published release, or set from-source: true to build with cargo" ;;
  *) die "download of $url failed (HTTP ${status:-none}); retry, or set from-source: true" ;;
esac

# The expected sha256: the input, else the release's checksum manifest, else the archive's
# own .sha256 file (releases made before the manifest existed).
expected="${FACTORY_SHA256:-}"
source="the sha256 input"
if [ -z "$expected" ]; then
  if [ "$(fetch "$release_base/sha256.sum" "$work/sha256.sum")" = 200 ]; then
    expected="$(awk -v a="$asset" '{ f = $2; sub(/^\*/, "", f); if (f == a) { print $1; exit } }' "$work/sha256.sum")"
    [ -n "$expected" ] || die "the checksum manifest $release_base/sha256.sum has no line for $asset; the archive was not installed"
    source="sha256.sum"
  elif [ "$(fetch "$url.sha256" "$work/$asset.sha256")" = 200 ]; then
    expected="$(cut -d' ' -f1 <"$work/$asset.sha256" | tr -d '*\r\n')"
    source="$asset.sha256"
  else
    die "release $tag publishes neither sha256.sum nor $asset.sha256; cannot verify the archive"
  fi
fi
actual="$(sha256_of "$work/$asset")"
if [ "$actual" != "$expected" ]; then
  die "sha256 mismatch for $asset: expected $expected ($source), got $actual; the archive was not installed"
fi
log "sha256 verified against $source: $actual"

# The build attestation: proves the archive was built by this repository's release workflow.
attest="${FACTORY_ATTESTATIONS:-auto}"
case "$attest" in
  off) ;;
  auto | required)
    if command -v gh >/dev/null 2>&1 && [ -n "${GH_TOKEN:-}" ]; then
      gh attestation verify "$work/$asset" --repo "$repo" >"$work/attest.log" 2>&1 \
        || die "the build attestation of $asset does not verify against $repo: $(tail -3 "$work/attest.log" | tr '\n' ' ')"
      log "build attestation verified ($repo)"
    elif [ "$attest" = required ]; then
      die "attestations: required, but $(command -v gh >/dev/null 2>&1 && echo 'no token was given (GH_TOKEN)' || echo 'the gh CLI is not installed')"
    else
      log "build attestation not checked: $(command -v gh >/dev/null 2>&1 && echo 'no GH_TOKEN' || echo 'gh is not installed') (the sha256 was)"
    fi
    ;;
  *) die "attestations must be auto, required or off, got: $attest" ;;
esac

mkdir -p "$work/x"
case "$asset" in
  # GNU tar (first on PATH in Git Bash) cannot read zip archives.
  *.zip)
    if command -v unzip >/dev/null 2>&1; then
      unzip -q "$work/$asset" -d "$work/x" || die "cannot unpack $asset"
    else
      7z x -y -o"$work/x" "$work/$asset" >/dev/null || die "cannot unpack $asset"
    fi
    ;;
  *) tar -xf "$work/$asset" -C "$work/x" || die "cannot unpack $asset" ;;
esac
found="$(find "$work/x" -type f -name "factory$exe" | head -1)"
[ -n "$found" ] || die "$asset holds no factory$exe binary"
mkdir -p "$dir"
cp "$found" "$dir/factory$exe"
chmod +x "$dir/factory$exe"
touch "$dir/.complete"
finish "$dir/factory$exe"
