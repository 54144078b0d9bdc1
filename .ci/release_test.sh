#!/usr/bin/env bash
# Tests .ci/release.sh on a clone of the commit checked out, whose origin is
# a bare repository in a temporary folder. Each check that must stop a
# release (no version, a version that is not one or is v2, changes in the
# tree, a required version that differs, an undated CHANGELOG section, a
# failing module check, tags that exist) stops it with its message and makes
# no tag; a release tags the root and every published sub-module on HEAD
# with annotated tags, runs the module check with the version, prints the
# `git push` and pushes nothing; -prepare sets the new required version in
# every sub-module. The module check (.ci/fileproxy.sh) has a step of its
# own: here a stand-in records its arguments and exits as told.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

export GIT_AUTHOR_NAME=release-test GIT_AUTHOR_EMAIL=release-test@example.invalid
export GIT_COMMITTER_NAME=release-test GIT_COMMITTER_EMAIL=release-test@example.invalid
git init -q --bare "$tmp/origin.git"
git -c core.hooksPath=/dev/null push -q "$tmp/origin.git" "$(git rev-parse HEAD):refs/heads/main"
git clone -q -b main "$tmp/origin.git" "$tmp/repo"
cd "$tmp/repo"
export FILEPROXY_CALLS=$tmp/fileproxy.calls FILEPROXY_STATUS=0
cat >.ci/fileproxy.sh <<'EOF'
#!/usr/bin/env bash
echo "fileproxy.sh $*" >>"$FILEPROXY_CALLS"
exit "$FILEPROXY_STATUS"
EOF
git commit -qam "release test: a stand-in for fileproxy.sh"

passed=0
failed=0
ok() {
	passed=$((passed + 1))
	echo "ok   $1"
}
bad() {
	failed=$((failed + 1))
	echo "FAIL $1" >&2
	sed 's/^/     | /' "$tmp/out" >&2
}

# refused NAME PATTERN ARGS...: release.sh ARGS fails, says PATTERN and
# makes no tag.
refused() {
	local name=$1 pattern=$2
	shift 2
	if bash .ci/release.sh "$@" >"$tmp/out" 2>&1; then
		bad "$name: release.sh $* succeeded"
	elif ! grep -q -- "$pattern" "$tmp/out"; then
		bad "$name: release.sh $* did not say '$pattern'"
	elif [[ -n $(git tag -l) ]]; then
		bad "$name: release.sh $* left tags: $(git tag -l | tr '\n' ' ')"
	else
		ok "$name"
	fi
}

refused "no version" "usage: .ci/release.sh"
refused "not a version" "0.1.0 is not a version" 0.1.0
refused "v2 needs a /v2 path" "need a /v2 module path" v2.0.0
refused "undated CHANGELOG section" "CHANGELOG.md has no section '## \[0.1.0\] - YYYY-MM-DD'" v0.1.0
sed -i 's/^## \[0\.1\.0\] - Unreleased$/## [0.1.0] - 2026-01-02/' CHANGELOG.md
git commit -qam "release test: date 0.1.0"
echo "scratch" >untracked.txt
refused "a new file in the tree" "the tree has changes" v0.1.0
rm untracked.txt
echo "// scratch" >>redisstore/doc.go
refused "a changed file in the tree" "the tree has changes" v0.1.0
git checkout -q -- redisstore/doc.go
refused "required version differs" "require the published modules at v0.1.0: run .ci/release.sh -prepare v0.2.0" v0.2.0
rm -f "$FILEPROXY_CALLS"
FILEPROXY_STATUS=1 refused "module check fails" "not tagged: the published modules fail" v0.1.0
if [[ $(cat "$FILEPROXY_CALLS" 2>/dev/null) == "fileproxy.sh v0.1.0" ]]; then
	ok "the module check ran once, for v0.1.0"
else
	echo "calls: $(cat "$FILEPROXY_CALLS" 2>/dev/null)" >"$tmp/out"
	bad "the module check ran once, for v0.1.0"
fi

want_tags=(v0.1.0 redisstore/v0.1.0 oauth2adapter/v0.1.0)
rm -f "$FILEPROXY_CALLS"
if ! bash .ci/release.sh v0.1.0 >"$tmp/out" 2>&1; then
	bad "release v0.1.0"
else
	ok "release v0.1.0"
	head=$(git rev-parse HEAD)
	for tag in "${want_tags[@]}"; do
		if [[ $(git cat-file -t "$tag") == tag && $(git rev-parse "$tag^{commit}") == "$head" ]]; then
			ok "annotated tag $tag on HEAD"
		else
			bad "annotated tag $tag on HEAD"
		fi
	done
	if [[ $(git tag -l | wc -l) -eq 3 ]]; then ok "no other tag"; else bad "no other tag: $(git tag -l | tr '\n' ' ')"; fi
	if grep -qxF "    git push origin ${want_tags[*]}" "$tmp/out"; then ok "prints the push"; else bad "prints the push"; fi
	if [[ $(cat "$FILEPROXY_CALLS") == "fileproxy.sh v0.1.0" ]]; then ok "checked v0.1.0 first"; else bad "checked v0.1.0 first"; fi
	if [[ -z $(git ls-remote --tags origin) ]]; then ok "pushed nothing"; else bad "pushed nothing"; fi
fi
refused_after() { # the tags exist now: same checks, but the tags stay
	if bash .ci/release.sh v0.1.0 >"$tmp/out" 2>&1 || ! grep -q "the tag v0.1.0 exists already" "$tmp/out"; then
		bad "tags that exist stop a release"
	elif [[ $(git tag -l | wc -l) -ne 3 ]]; then
		bad "tags that exist stop a release: tags now $(git tag -l | tr '\n' ' ')"
	else
		ok "tags that exist stop a release"
	fi
}
refused_after

if ! bash .ci/release.sh -prepare v0.2.0 >"$tmp/out" 2>&1; then
	bad "-prepare v0.2.0"
else
	stale=$(git ls-files -z '*go.mod' | xargs -0 grep -l 'github.com/go-zoho/zohoauth\(/[a-z0-9]*\)\? v0\.1\.0' || true)
	if [[ -z $stale && $(git diff --name-only | grep -c 'go.mod$') -ge 6 ]]; then
		ok "-prepare v0.2.0 sets v0.2.0 in every sub-module"
	else
		bad "-prepare v0.2.0 sets v0.2.0 in every sub-module (still v0.1.0: $stale)"
	fi
	git commit -qam "release test: require v0.2.0"
	git tag -d "${want_tags[@]}" >/dev/null
	refused "after -prepare, v0.2.0 gets to the CHANGELOG check" "no section '## \[0.2.0\]" v0.2.0
fi

echo "release_test.sh: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
