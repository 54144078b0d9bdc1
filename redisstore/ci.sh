#!/usr/bin/env bash
# Runs the redisstore tests against a real redis-server: installs it if
# missing, starts one on 127.0.0.1 at a free port without persistence, runs
# `go vet` and `go test -race ./...` in this module, and stops the server on
# exit. The exit status is the tests'.
set -euo pipefail
cd "$(dirname "$0")"

if ! command -v redis-server >/dev/null 2>&1; then
	echo "redisstore/ci.sh: installing redis-server"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq redis-server >/dev/null
	# Where the package's own service was started, stop it: the tests use
	# their own server, and nothing may be left running after CI.
	service redis-server stop >/dev/null 2>&1 || true
fi
bin=$(command -v redis-server)

workdir=$(mktemp -d)
pid=""
stop_redis() {
	if [[ -n "$pid" ]]; then
		kill "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
		pid=""
	fi
}
trap 'stop_redis; rm -rf "$workdir"' EXIT

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

port=""
for _ in $(seq 20); do
	candidate=$((20000 + RANDOM % 30000))
	port_free "$candidate" || continue
	"$bin" --port "$candidate" --bind 127.0.0.1 --save '' --appendonly no \
		--dir "$workdir" --logfile "$workdir/redis.log" &
	pid=$!
	for _ in $(seq 50); do
		if ! kill -0 "$pid" 2>/dev/null; then
			break # exited: the port was taken after all
		fi
		if redis-cli -h 127.0.0.1 -p "$candidate" ping 2>/dev/null | grep -q PONG; then
			port=$candidate
			break 2
		fi
		sleep 0.1
	done
	stop_redis
done
if [[ -z "$port" ]]; then
	echo "redisstore/ci.sh: could not start redis-server" >&2
	cat "$workdir/redis.log" >&2 || true
	exit 1
fi
echo "redisstore/ci.sh: $("$bin" --version | cut -d' ' -f1-3) on 127.0.0.1:$port"

go vet ./...

status=0
# The cross-process tests mostly wait on real time: run them side by side.
REDIS_ADDR="127.0.0.1:$port" REDIS_SERVER_BIN="$bin" go test -race -count=1 -parallel 4 ./... || status=$?
exit "$status"
