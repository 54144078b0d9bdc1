#!/usr/bin/env bash
# Browser tests: "zohoauth login" and the web consent example driven
# through Debian's headless Chromium (browsertest/, its own module), all
# against zohotest on 127.0.0.1. Installs Chromium if it is missing. On a
# failure, screenshots of the pages are in the folder printed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v chromium >/dev/null 2>&1; then
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq chromium >/dev/null
fi
dpkg-query -W chromium

artifacts=$(mktemp -d)
cd browsertest
go vet ./...
if ! ZOHOAUTH_BROWSER_TESTS=require go test -race -count=1 -artifacts -outputdir "$artifacts" ./...; then
	echo "browser tests failed; screenshots of the pages: $artifacts/_artifacts"
	exit 1
fi
rm -rf "$artifacts"
