#!/usr/bin/env bash
# What an outside user's `go get github.com/go-zoho/zohoauth/redisstore@vX.Y.Z`
# would get, before the tags exist. Serves the root module and every published
# sub-module (.ci/published) from a module proxy in a temporary folder
# (GOPROXY=file://...), at the version the sub-modules require (or the one
# given), each made from the commit checked out as the go command makes it
# from a tag; everything else comes from the machine's own GOPROXY. Then:
#   1. a new module outside the repository runs `go get` for each published
#      sub-module at that version, gets the root at the same version and the
#      go.sum hashes of the zips served, builds every package, and installs
#      the zohoauth command with `go install ...@version`;
#   2. each published sub-module, copied from what was downloaded, with its
#      replace removed, builds, needs no change to its go.mod, and passes its
#      tests with -race (with its own ci.sh where it has one: redisstore's
#      starts a redis-server on 127.0.0.1).
# A temporary module cache keeps these unpublished versions out of the
# machine's. Usage: .ci/fileproxy.sh [vX.Y.Z]
set -euo pipefail
cd "$(dirname "$0")/.."
start=$SECONDS

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

(cd .ci/modtool && go build -o "$tmp/modtool" .)
modtool=$tmp/modtool
required=$("$modtool" version)
version=${1:-$required}
if [[ $version != "$required" ]]; then
	echo "fileproxy.sh: the sub-modules require the published modules at $required, not $version: run .ci/release.sh -prepare $version and commit" >&2
	exit 1
fi
"$modtool" check

rev=$(git rev-parse HEAD)
if [[ -n $(git status --porcelain) ]]; then
	echo "fileproxy.sh: uncommitted changes are not checked: the modules are made from the commit $rev"
fi
# modzip.CreateFromVCS needs a repository of its own (a worktree is not
# one): copy the commit into a new one and check it out there.
git init -q "$tmp/repo"
git -C "$tmp/repo" config receive.shallowUpdate true
git -c core.hooksPath=/dev/null push -q "$tmp/repo" "$rev:refs/heads/fileproxy"
git -C "$tmp/repo" checkout -q fileproxy

machine_proxy=$(go env GOPROXY)
machine_cache=$(go env GOMODCACHE)
machine_flags=$(go env GOFLAGS)
export GOPROXY="file://$tmp/proxy,file://$machine_cache/cache/download,$machine_proxy"
export GOMODCACHE=$tmp/modcache
# -trimpath: paths in the temporary module cache change with every run;
# without it nothing built from there would come from the build cache again.
export GOFLAGS="$machine_flags -mod=mod -modcacherw -trimpath"
# Not published yet: no checksum database knows these modules, and they
# must come from the proxy above even where the machine marks them private.
export GONOSUMDB=github.com/go-zoho/zohoauth GOPRIVATE='' GONOPROXY=''
export GOWORK=off GOTOOLCHAIN=local

echo "== the modules as a proxy would serve them at $version (commit $rev)"
"$modtool" -C "$tmp/repo" proxy -rev "$rev" -version "$version" -out "$tmp/proxy" | tee "$tmp/modules"
mapfile -t modules <"$tmp/modules" # "path version hash", the root first
rootpath=${modules[0]%% *}

echo "== a user's module: go get each published sub-module at $version"
mkdir "$tmp/user"
cd "$tmp/user"
go mod init example.com/user >/dev/null 2>&1
for line in "${modules[@]:1}"; do
	go get "${line%% *}@$version"
done
if [[ $(go list -m -f '{{.Version}} {{.Replace}}' "$rootpath") != "$version <nil>" ]]; then
	echo "fileproxy.sh: the user got $rootpath $(go list -m -f '{{.Version}} {{.Replace}}' "$rootpath"), want $version" >&2
	exit 1
fi
for line in "${modules[@]}"; do
	if ! grep -qxF "$line" go.sum; then
		echo "fileproxy.sh: the user's go.sum lacks the line '$line' of the zip served:" >&2
		cat go.sum >&2
		exit 1
	fi
done
go build "$rootpath/..."
GOBIN="$tmp/bin" go install "$rootpath/cmd/zohoauth@$version"
"$tmp/bin/zohoauth" -h >/dev/null
echo "built every package of ${#modules[@]} modules and installed the zohoauth command"

# check_module DIR: the sub-module in folder DIR as the user downloaded it,
# without its replace, builds with no change to its go.mod and passes its
# tests. (Called where set -e does not apply: each step is checked.)
check_module() {
	local dir=$1 src=$tmp/src/$1
	echo "== $dir $version, as downloaded, without its replace"
	mkdir -p "$src" &&
		cp -R "$(go list -m -f '{{.Dir}}' "$rootpath/$dir")/." "$src" &&
		chmod -R u+w "$src" &&
		"$modtool" dropreplace "$src" &&
		cp "$src/go.mod" "$src.go.mod" || return 1
	if [[ -f $src/ci.sh ]]; then
		(cd "$src" && go build ./... && REFUSED_FOR=15s bash ci.sh </dev/null) || return 1
	else
		(cd "$src" && go build ./... && go vet ./... && go test -race -count=1 ./...) || return 1
	fi
	if ! diff -u "$src.go.mod" "$src/go.mod"; then
		echo "fileproxy.sh: $dir/go.mod lacks what a build against $rootpath $version needs (above)" >&2
		return 1
	fi
}

failed=()
for line in "${modules[@]:1}"; do
	path=${line%% *}
	check_module "${path#"$rootpath"/}" || failed+=("${path#"$rootpath"/}")
done
echo "fileproxy.sh: took $((SECONDS - start)) s"
if ((${#failed[@]} > 0)); then
	echo "fileproxy.sh: FAILED as a user would get them at $version: ${failed[*]}" >&2
	exit 1
fi
echo "fileproxy.sh: every published module builds and passes its tests as a user would get it at $version"
