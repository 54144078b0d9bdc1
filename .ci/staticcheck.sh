#!/usr/bin/env bash
# Runs staticcheck (honnef.co/go/tools) in every Go module of the
# repository: each folder holding a go.mod, found afresh on every run, so a
# module added later is checked too. Installs the pinned version into a
# temporary folder first. Exits non-zero if any module has findings.
set -euo pipefail
cd "$(dirname "$0")/.."

# The version the code was last checked with (staticcheck 2026.2.2).
version=v0.8.2

bindir=$(mktemp -d)
trap 'rm -rf "$bindir"' EXIT
echo "staticcheck.sh: installing honnef.co/go/tools/cmd/staticcheck@$version"
GOBIN="$bindir" go install "honnef.co/go/tools/cmd/staticcheck@$version"

status=0
while IFS= read -r mod; do
	dir=$(dirname "$mod")
	echo "staticcheck.sh: $dir"
	(cd "$dir" && "$bindir/staticcheck" ./...) || status=1
done < <(find . -name go.mod -not -path '*/testdata/*' -not -path '*/vendor/*' | sort)
exit "$status"
