package main

import (
	"strings"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestReadTakesMediansAndStripsProcs(t *testing.T) {
	in := `goos: linux
BenchmarkHotPath/serial-2   	  1000	  900 ns/op	  0.40 x-oauth2	  3 allocs/op	 720 B/op
BenchmarkHotPath/serial-2   	  1000	  950 ns/op	  0.60 x-oauth2	  3 allocs/op	 720 B/op
BenchmarkHotPath/serial-2   	  1000	  800 ns/op	  0.45 x-oauth2	  3 allocs/op	 720 B/op
BenchmarkRevoked/zohoauth-16	     1	  52 ns/op	  0 failed-reqs	  1.000 token-calls
PASS
ok  	github.com/go-zoho/zohoauth/benchmarks	2.591s
`
	r := results{}
	r.read(strings.NewReader(in))
	s, ok := r.get("HotPath/serial", "x-oauth2")
	if !ok || s.med != 0.45 || s.min != 0.40 || s.max != 0.60 || s.n != 3 {
		t.Errorf("x-oauth2 = %+v, %v; want median 0.45 of 3 in 0.40-0.60", s, ok)
	}
	if _, ok := r.get("Revoked/zohoauth", "token-calls"); !ok {
		t.Error("the -16 suffix was not stripped")
	}
	if _, ok := r.get("HotPath/serial", "nothing"); ok {
		t.Error("a unit never reported has a value")
	}
}

func TestVerdicts(t *testing.T) {
	in := `BenchmarkHotPath/serial-2 1 900 ns/op 0.45 x-oauth2 3 allocs/op 720 B/op
BenchmarkHotPath/parallel-2 1 900 ns/op 0.70 x-oauth2 3 allocs/op 720 B/op
BenchmarkHotPath/parallel64-2 1 900 ns/op 0.45 x-oauth2 4 allocs/op 720 B/op
BenchmarkRevoked/zohoauth-2 1 5 ns/op 0 failed-reqs 1 token-calls
BenchmarkStorm/n=1000-2 1 5 ns/op 1 zohoauth-max-token-calls 4 zohoauth-p99-extra-ms
BenchmarkStorm/n=10000-2 1 5 ns/op 1 zohoauth-max-token-calls 40 zohoauth-p99-extra-ms
BenchmarkLoopback/serial-2 1 5 ns/op 1.03 x-floor
BenchmarkLoopback/serial-2 1 5 ns/op 0.99 x-floor
BenchmarkLoopback/serial-2 1 5 ns/op 1.02 x-floor
BenchmarkLoopback/parallel-2 1 5 ns/op 1.01 x-floor
BenchmarkLoopback/parallel-2 1 5 ns/op 1.03 x-floor
BenchmarkNearExpiry/left=5s/zohoauth-2 1 5 ns/op 0 delayed-reqs 1 token-calls
BenchmarkNearExpiry/left=5s/zohoauth-2 1 5 ns/op 2 delayed-reqs 1 token-calls
BenchmarkNearExpiry/left=5s/zohoauth-2 1 5 ns/op 0 delayed-reqs 1 token-calls
BenchmarkNearExpiry/usable=500ms/zohoauth-2 1 5 ns/op 3 delayed-reqs 1 token-calls
`
	r := results{}
	r.read(strings.NewReader(in))
	got := map[string]string{}
	for _, row := range evaluate(r) {
		got[row.scenario] = row.verdict
	}
	for scenario, want := range map[string]string{
		"1. hot path, serial":        "pass",
		"1. hot path, parallel":      "miss", // too slow
		"1. hot path, parallel64":    "miss", // too many allocations
		"6. revoked token":           "pass",
		"3. storm, 1000 goroutines":  "pass",
		"3. storm, 10000 goroutines": "miss",
		"2. loopback, serial":        "pass",
		"2. loopback, parallel":      "miss",
		"2. loopback, parallel64":    "no data",
		"7. fleet of 8, redis":       "no data",
		"4. near expiry, service starts with 5 s left, endpoint 200 ms": "pass",
		"4. near expiry, token usable 500 ms more, endpoint 300 ms":     "miss",
		"5. failing endpoint, 20 waiters":                               "no data",
	} {
		if got[scenario] != want {
			t.Errorf("%s: %q, want %q", scenario, got[scenario], want)
		}
	}
}

func TestTableHasOneLinePerRow(t *testing.T) {
	var b strings.Builder
	rows := evaluate(results{})
	writeTable(&b, rows)
	if lines := strings.Count(b.String(), "\n"); lines != len(rows)+2 {
		t.Errorf("%d lines for %d rows", lines, len(rows))
	}
}
