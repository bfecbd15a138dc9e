#!/usr/bin/env bash
# Points the floating tags v<major> and v<major>.<minor> at a new release, so that
# `uses: <owner>/factory/actions/<name>@v1` follows releases (actions/setup reads the version
# from Cargo.toml at the ref, docs/release.md). A tag moves only when the release is the newest
# of its major (or minor) line: a patch to an older line leaves v<major> where it is.
# Prereleases (v1.2.0-rc.1) move nothing.
#
# Usage: scripts/release-tags.sh TAG SHA   (GH_TOKEN and GITHUB_REPOSITORY in the environment;
#        needs gh and jq, both on GitHub-hosted runners)
set -euo pipefail

tag="${1:?usage: release-tags.sh TAG SHA}"
sha="${2:?usage: release-tags.sh TAG SHA}"
repo="${GITHUB_REPOSITORY:?GITHUB_REPOSITORY is not set}"

if [[ ! "$tag" =~ ^v([0-9]+)\.([0-9]+)\.([0-9]+)$ ]]; then
  echo "release-tags: $tag is not a final vX.Y.Z release; no floating tag moves"
  exit 0
fi
major="${BASH_REMATCH[1]}"
minor="${BASH_REMATCH[2]}"

# newest PREFIX: the highest vX.Y.Z release tag starting with PREFIX (every page of the refs).
newest() {
  gh api --paginate "repos/$repo/git/matching-refs/tags/$1" --jq '.[].ref' \
    | sed -n 's#^refs/tags/\(v[0-9]*\.[0-9]*\.[0-9]*\)$#\1#p' \
    | sort -t. -k1.2,1n -k2,2n -k3,3n | tail -1
}

# point FLOATING: create or force-move the tag to the release commit.
point() {
  if gh api "repos/$repo/git/ref/tags/$1" >/dev/null 2>&1; then
    gh api -X PATCH "repos/$repo/git/refs/tags/$1" -f sha="$sha" -F force=true >/dev/null
  else
    gh api -X POST "repos/$repo/git/refs" -f ref="refs/tags/$1" -f sha="$sha" >/dev/null
  fi
  echo "release-tags: $1 -> $tag ($sha)"
}

for floating in "v$major.$minor" "v$major"; do
  top="$(newest "$floating.")"
  if [ "$top" != "$tag" ]; then
    echo "release-tags: $floating stays: $top is newer than $tag"
    continue
  fi
  point "$floating"
done
