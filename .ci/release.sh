#!/usr/bin/env bash
# Releases zohoauth (docs/releasing.md). Pushes nothing.
#
#   .ci/release.sh -prepare vX.Y.Z
#       sets the version at which every sub-module requires the root module
#       and the published modules to vX.Y.Z, for you to commit.
#   .ci/release.sh vX.Y.Z
#       on the commit checked out, with a clean tree: checks that the
#       sub-modules require that version, that CHANGELOG.md has a dated
#       section for it, and that no tag of the release exists yet; runs
#       .ci/fileproxy.sh, which builds and tests each published sub-module
#       against the modules as `go get` would fetch them at vX.Y.Z; then tags
#       the root module vX.Y.Z and each published sub-module (.ci/published)
#       DIR/vX.Y.Z together, and prints the `git push` that publishes them.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/.."

die() {
	echo "release.sh: $*" >&2
	exit 1
}

prepare=false
if [[ ${1:-} == -prepare ]]; then
	prepare=true
	shift
fi
if [[ $# -ne 1 ]]; then
	echo "usage: .ci/release.sh [-prepare] vX.Y.Z" >&2
	exit 2
fi
version=$1
if ! [[ $version =~ ^v[01]\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(-[0-9A-Za-z.-]+)?$ ]]; then
	die "$version is not a version such as v0.1.0, v1.2.3 or v1.3.0-rc.1 (v2 and later need a /v2 module path first)"
fi

bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
(cd .ci/modtool && go build -o "$bin/modtool" .)
modtool=$bin/modtool

if $prepare; then
	"$modtool" bump "$version"
	echo "release.sh: add a '## [${version#v}] - YYYY-MM-DD' section to CHANGELOG.md, commit, then run .ci/release.sh $version"
	exit 0
fi

if [[ -n $(git status --porcelain) ]]; then
	git status --short >&2
	die "the tree has changes (above): commit or remove them; a release is made from a commit"
fi
git var GIT_COMMITTER_IDENT >/dev/null || die "git needs user.name and user.email to make the tags"
mapfile -t tags < <("$modtool" tags "$version")
for tag in "${tags[@]}"; do
	if git rev-parse -q --verify "refs/tags/$tag" >/dev/null; then
		die "the tag $tag exists already (git show $tag)"
	fi
done
required=$("$modtool" version)
if [[ $required != "$version" ]]; then
	die "the sub-modules require the published modules at $required: run .ci/release.sh -prepare $version, commit, and run this again"
fi
"$modtool" check
number=${version#v}
if ! grep -Eq "^## \[${number//./\\.}\] - [0-9]{4}-[0-9]{2}-[0-9]{2}[[:space:]]*$" CHANGELOG.md; then
	die "CHANGELOG.md has no section '## [${version#v}] - YYYY-MM-DD': give the release its date there and commit"
fi

rev=$(git rev-parse HEAD)
echo "release.sh: checking $rev as the published modules at $version"
bash "$here/fileproxy.sh" "$version" || die "not tagged: the published modules fail as a user would get them at $version (above)"
if [[ $(git rev-parse HEAD) != "$rev" || -n $(git status --porcelain) ]]; then
	die "not tagged: the tree changed while it was being checked"
fi

made=()
for tag in "${tags[@]}"; do
	if ! git tag -a -m "zohoauth $tag" "$tag" "$rev"; then
		git tag -d "${made[@]}" >/dev/null 2>&1 || true
		die "could not make the tag $tag; removed the ones made before it"
	fi
	made+=("$tag")
done
echo "release.sh: tagged $rev as ${tags[*]}"
echo "Nothing was pushed. To publish the release, push the tags (to the remote of github.com/go-zoho/zohoauth):"
echo
echo "    git push origin ${tags[*]}"
echo
echo "To take them back before pushing: git tag -d ${tags[*]}"
