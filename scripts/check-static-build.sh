#!/usr/bin/env bash
# Build the published binary (the dist profile) for x86_64 Linux musl and check that it is fully static and under
# the size budget. Usage: scripts/check-static-build.sh [MAX_BYTES]
set -euo pipefail
cd "$(dirname "$0")/.."

max_bytes=${1:-15728640} # 15 MiB
target=x86_64-unknown-linux-musl

if ! rustup target list --installed | grep -qx "$target"; then
  rustup target add "$target"
fi
# ring (behind rustls) compiles C: use the musl C compiler when it is installed.
if command -v musl-gcc >/dev/null 2>&1; then
  export CC_x86_64_unknown_linux_musl=musl-gcc
fi

cargo build --locked --profile dist --target "$target" --bin factory
bin="target/$target/dist/factory"

# A static-pie binary has no PT_INTERP program header (no dynamic loader) and no NEEDED entries.
if readelf -l "$bin" | grep -q "Requesting program interpreter"; then
  echo "FAIL: $bin asks for a dynamic loader" >&2
  exit 1
fi
if readelf -d "$bin" 2>/dev/null | grep -q "(NEEDED)"; then
  echo "FAIL: $bin links shared libraries:" >&2
  readelf -d "$bin" | grep "(NEEDED)" >&2
  exit 1
fi
size=$(stat -c %s "$bin")
printf 'static binary: %s, %d bytes (%.1f MiB), budget %d bytes\n' "$bin" "$size" "$(echo "$size/1048576" | bc -l)" "$max_bytes"
if [ "$size" -gt "$max_bytes" ]; then
  echo "FAIL: binary is over the size budget" >&2
  exit 1
fi
"$bin" --version
