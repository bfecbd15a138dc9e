#!/usr/bin/env bash
# Tests scripts/release-tags.sh against a stand-in gh that keeps tags as files: a new newest
# release creates and then moves v<major> and v<major>.<minor>; a patch to an older line moves
# only its minor tag; a prerelease moves nothing.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d "${TMPDIR:-/tmp}/factory-release-tags.XXXXXX")"
trap 'rm -rf "$work"' EXIT
passed=0
failed=0
ok() { passed=$((passed + 1)); printf 'ok   %s\n' "$*"; }
bad() { failed=$((failed + 1)); printf 'FAIL %s\n' "$*"; }

mkdir -p "$work/bin" "$work/refs"
cat >"$work/bin/gh" <<SH
#!/usr/bin/env bash
# The git refs API of one repository, tags kept as files named after the tag.
refs="$work/refs"
SH
cat >>"$work/bin/gh" <<'SH'
echo "$*" >>"$(dirname "$refs")/gh.calls"
[ "$1" = api ] || exit 2
shift
method=GET
[ "$1" = --paginate ] && shift
[ "$1" = -X ] && { method="$2"; shift 2; }
path="$1"
shift
field() { local k="$1"; shift; while [ $# -gt 0 ]; do case "$1" in -f|-F) [ "${2%%=*}" = "$k" ] && { echo "${2#*=}"; return; }; shift 2 ;; *) shift ;; esac; done; }
case "$method $path" in
  "GET repos/acme/factory/git/matching-refs/tags/"*)
    prefix="${path#repos/acme/factory/git/matching-refs/tags/}"
    for f in "$refs"/*; do [ -e "$f" ] || continue; t="${f##*/}"; case "$t" in "$prefix"*) echo "refs/tags/$t" ;; esac; done ;;
  "GET repos/acme/factory/git/ref/tags/"*) [ -f "$refs/${path##*/}" ] ;;
  "PATCH repos/acme/factory/git/refs/tags/"*)
    [ -f "$refs/${path##*/}" ] || exit 1
    [ "$(field force "$@")" = true ] || exit 1
    field sha "$@" >"$refs/${path##*/}" ;;
  "POST repos/acme/factory/git/refs")
    t="$(field ref "$@")"; t="${t#refs/tags/}"
    [ ! -f "$refs/$t" ] || exit 1
    field sha "$@" >"$refs/$t" ;;
  *) echo "unexpected: $method $path" >&2; exit 2 ;;
esac
SH
chmod +x "$work/bin/gh"

release() { # TAG SHA: publishes the release tag, then runs the script as the release workflow does
  echo "$2" >"$work/refs/$1"
  PATH="$work/bin:$PATH" GITHUB_REPOSITORY=acme/factory "$root/scripts/release-tags.sh" "$1" "$2" >"$work/out" 2>&1
}
at() { cat "$work/refs/$1" 2>/dev/null || echo none; }

if release v1.0.0 aaa && [ "$(at v1)" = aaa ] && [ "$(at v1.0)" = aaa ]; then
  ok "the first release creates v1 and v1.0"
else bad "first release: $(cat "$work/out")"; fi

if release v1.1.0 bbb && [ "$(at v1)" = bbb ] && [ "$(at v1.1)" = bbb ] && [ "$(at v1.0)" = aaa ]; then
  ok "a new minor release moves v1 and creates v1.1, leaving v1.0"
else bad "minor release: $(cat "$work/out")"; fi

if release v1.0.1 ccc && [ "$(at v1.0)" = ccc ] && [ "$(at v1)" = bbb ] \
  && grep -q 'v1 stays: v1.1.0 is newer than v1.0.1' "$work/out"; then
  ok "a patch to an older minor line moves its minor tag only"
else bad "older patch: $(cat "$work/out")"; fi

if release v1.9.0 fff && release v1.10.0 ddd && [ "$(at v1)" = ddd ] && [ "$(at v1.10)" = ddd ]; then
  ok "versions compare as numbers (1.10.0 is newer than 1.9.0)"
else bad "numeric order: $(cat "$work/out")"; fi

if release v2.0.0-rc.1 eee && [ "$(at v2)" = none ] && grep -q 'not a final vX.Y.Z release' "$work/out"; then
  ok "a prerelease moves nothing"
else bad "prerelease: $(cat "$work/out")"; fi

printf 'release tags: %d passed, %d failed\n' "$passed" "$failed"
[ "$failed" -eq 0 ]
