#!/usr/bin/env bash
# Runs every benchmark of this module COUNT times (default 6) and writes,
# under results/<UTC time>/:
#   raw.txt        the go test output of every pass
#   benchstat.txt  benchstat's table of it (medians and spreads per unit)
#   goals.md       each goal of the issue, the medians measured, pass or miss
#   env.txt        Go version, CPUs and load, which skew absolute times
# Set REDIS_ADDR (host:port) to add the fleet sharing one Redis.
#
# The whole suite is run COUNT times over rather than each benchmark COUNT
# times in a row, so that drift of a shared machine spreads over all of them.
# Before each pass it waits, up to 20 minutes, until the 1-minute load
# average is at most LOAD_MAX (default 1.5; its own last pass counts too),
# and writes the load each pass started at to env.txt. About one and a half
# minutes per pass on 2 cores.
set -euo pipefail
cd "$(dirname "$0")"

count=${COUNT:-6}
load_max=${LOAD_MAX:-1.5}
benchstat=golang.org/x/perf/cmd/benchstat@v0.0.0-20260908200009-22c9c6c9d4da
out=results/$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$out"
raw=$out/raw.txt
bin=$out/benchmarks.test

{
	go version
	echo "cpus: $(getconf _NPROCESSORS_ONLN)"
	echo "load before: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || uptime)"
	echo "redis: ${REDIS_ADDR:-not set}"
} >"$out/env.txt"

go test -c -o "$bin" .

# bench PATTERN BENCHTIME: one pass of the benchmarks matching PATTERN.
bench() {
	"$bin" -test.run '^$' -test.bench "$1" -test.benchtime "$2" -test.count 1 | tee -a "$raw"
}

# quiet: wait until the load is at most load_max, 20 minutes at the most.
quiet() {
	local i
	for i in $(seq 120); do
		awk -v max="$load_max" '{ exit !($1 <= max) }' /proc/loadavg 2>/dev/null && return
		[[ -r /proc/loadavg ]] || return
		[[ $i == 1 ]] && echo "waiting for the load to fall to $load_max: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
		sleep 10
	done
}

start=$SECONDS
for pass in $(seq 1 "$count"); do
	quiet
	echo "pass $pass: load $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo unknown)" >>"$out/env.txt"
	echo "== pass $pass of $count ($((SECONDS - start)) s so far)" >&2
	bench '^BenchmarkHotPath$' 1s
	bench '^BenchmarkHotPathEach$' 300ms
	bench '^BenchmarkLoopback$' 1s
	bench '^BenchmarkStorm$' 3x
	bench '^BenchmarkNearExpiry$' 2x
	bench '^BenchmarkFailingEndpoint$' 1x
	bench '^BenchmarkRevoked$' 5x
	bench '^BenchmarkFleet$' 1x
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || uptime)" >>"$out/env.txt"
echo "took: $((SECONDS - start)) s" >>"$out/env.txt"
rm -f "$bin"

go run "$benchstat" "$raw" >"$out/benchstat.txt"
go run ./summarize "$raw" >"$out/goals.md"
cat "$out/goals.md"
echo "results in $out" >&2
