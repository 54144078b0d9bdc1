#!/usr/bin/env bash
# Every module's go.mod and go.sum are as `go mod tidy` leaves them, and the
# published modules agree with the root: the same go line, one version of
# each dependency they share, no replace that users would not get, and one
# version at which the sub-modules require the published modules. Changes
# nothing: `go mod tidy -diff` prints what tidy would change and fails.
set -euo pipefail
cd "$(dirname "$0")/.."

status=0
while IFS= read -r mod; do
	dir=$(dirname "$mod")
	if ! (cd "$dir" && go mod tidy -diff); then
		echo "tidy.sh: $dir: run go mod tidy there and commit go.mod and go.sum (the diff is above)" >&2
		status=1
	fi
done < <(find . -name go.mod -not -path '*/testdata/*' -not -path '*/vendor/*' | sort)

bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
(cd .ci/modtool && go build -o "$bin/modtool" .)
"$bin/modtool" check || status=1
if version=$("$bin/modtool" version); then
	echo "tidy.sh: the sub-modules require the published modules at $version"
else
	status=1
fi
exit "$status"
