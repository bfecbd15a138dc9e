#!/usr/bin/env bash
# Installs the `factory` binary for the setup action and for every phase action, which run this
# script from "$GITHUB_ACTION_PATH/../setup" (a composite action cannot `uses:` a sibling action
# by relative path).
#
# Inputs arrive as environment variables, never as ${{ }} text inside the script:
#   FACTORY_BINARY_PATH   use this existing binary (self-hosted runners, tests)
#   FACTORY_FROM_SOURCE   "true": build with cargo from the action's own checkout
#   FACTORY_VERSION       release tag to install (default: the action's ref when it is a version)
#   FACTORY_SHA256        expected sha256 of the release archive (default: the release's .sha256)
#   FACTORY_REPOSITORY    owner/name hosting the releases (default: the action's repository)
#   FACTORY_ACTION_REF    the ref the action was used at (github.action_ref)
#   FACTORY_SOURCE_DIR    the action repository's root (for source builds)
#   FACTORY_RELEASE_URL   base URL of release downloads (default: https://github.com)
# Writes `path` and `version` to $GITHUB_OUTPUT and the binary's directory to $GITHUB_PATH.
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

# 3. The release asset for the version: the input, else the action's ref when it names a version.
version="${FACTORY_VERSION:-}"
if [ -z "$version" ]; then
  case "${FACTORY_ACTION_REF:-}" in
    v[0-9]*.[0-9]*.[0-9]* | [0-9]*.[0-9]*.[0-9]*) version="$FACTORY_ACTION_REF" ;;
  esac
fi
if [ -z "$version" ]; then
  log "the action's ref '${FACTORY_ACTION_REF:-}' is not a release version: building from source"
  build_from_source
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

log "downloading $url"
status="$(curl "${tls[@]}" -sSL --retry 3 -o "$work/$asset" -w '%{http_code}' "$url" || true)"
if [ "$status" = "404" ]; then
  log "no release asset $asset for $tag: building from source"
  build_from_source
fi
[ "$status" = "200" ] || die "download of $url failed (HTTP ${status:-none}); retry, or set from-source: true"

expected="${FACTORY_SHA256:-}"
if [ -z "$expected" ]; then
  curl "${tls[@]}" -fsSL --retry 3 -o "$work/$asset.sha256" "$url.sha256" \
    || die "download of $url.sha256 failed; cannot verify the archive"
  expected="$(cut -d' ' -f1 <"$work/$asset.sha256" | tr -d '*\r\n')"
fi
actual="$(sha256_of "$work/$asset")"
if [ "$actual" != "$expected" ]; then
  die "sha256 mismatch for $asset: expected $expected, got $actual; the archive was not installed"
fi
log "sha256 verified: $actual"

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
