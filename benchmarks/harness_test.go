package benchmarks

import (
	"errors"
	"net/http"
	"runtime"
	"sync"
	"testing"
	"time"
)

// These tests keep the harness honest: every contender really adds the
// token and leaves the caller's request alone, and each scenario, run small,
// shows the behaviour its benchmark reports.

type recorder struct {
	got  []string
	resp *http.Response
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	r.got = append(r.got, req.Header.Get("Authorization"))
	return r.resp, nil
}

func TestContendersAddTheToken(t *testing.T) {
	want := map[string]string{
		"floor":     "Zoho-oauthtoken 1000.access-seed.bench",
		"zohoauth":  "Zoho-oauthtoken 1000.access-seed.bench",
		"oauth2":    "Bearer 1000.access-seed.bench",
		"cloudauth": "Bearer 1000.access-seed.bench",
	}
	for _, c := range hotContenders[1:] {
		t.Run(c.name, func(t *testing.T) {
			rec := &recorder{resp: newStaticTransport().resp}
			rt, stop := c.build(hotSetup(rec, ""))
			defer stop()
			req := newRequest("")
			for range 3 {
				if status, err := do(rt, req); err != nil || status != http.StatusOK {
					t.Fatalf("status %d, error %v", status, err)
				}
			}
			for _, got := range rec.got {
				if got != want[c.name] {
					t.Errorf("Authorization = %q, want %q", got, want[c.name])
				}
			}
			if len(req.Header) != 1 || req.Header.Get("Authorization") != "" {
				t.Errorf("caller's request changed: %v", req.Header)
			}
		})
	}
}

func TestFakeAPIChecksTokens(t *testing.T) {
	f := newFakeZoho()
	s := f.seedToken(time.Now().Add(time.Hour))
	req := newRequest("")
	if status, _ := do(f, req); status != http.StatusUnauthorized {
		t.Errorf("no token: status %d, want 401", status)
	}
	req.Header.Set("Authorization", "Zoho-oauthtoken "+s.access)
	if status, _ := do(f, req); status != http.StatusOK {
		t.Errorf("seed token: status %d, want 200", status)
	}
	f.revokeAll()
	if status, _ := do(f, req); status != http.StatusUnauthorized {
		t.Errorf("revoked token: status %d, want 401", status)
	}
}

func TestStormSmall(t *testing.T) {
	for _, c := range append([]contender{zohoauthFileC}, competitors...) {
		o, st := runStorm(c, 200, 50*time.Millisecond)
		// Measured from the release of the requests: after it, and long
		// before the test's requests are done.
		if st.callDelay <= 0 || st.callDelay > time.Second {
			t.Errorf("%s: the token call reached the endpoint %v after the requests started", c.name, st.callDelay)
		}
		if timed := c.name == "zohoauth-file"; timed != (st.ledger > 0) || st.ledger > st.callDelay {
			t.Errorf("%s: ledger write timed at %v, token call at %v; want a time only with a FileStore, before the call",
				c.name, st.ledger, st.callDelay)
		}
		if o.tokenCalls != 1 || o.failed != 0 {
			t.Errorf("%s: %d token calls, %d failed; want 1 and 0", c.name, o.tokenCalls, o.failed)
		}
	}
}

func TestNearExpirySmall(t *testing.T) {
	const delay = 150 * time.Millisecond
	for _, nc := range []nearCase{
		{"usable=100ms", func(c contender) time.Duration { return c.margin + 100*time.Millisecond }, delay},
		{"left=5s", nearCases[1].left, delay},
	} {
		t.Run(nc.name, func(t *testing.T) {
			z := measureNearExpiry(zohoauthC, nc, 300)
			if z.tokenCalls != 1 || z.failed != 0 {
				t.Errorf("zohoauth: %d token calls, %d failed; want 1 and 0", z.tokenCalls, z.failed)
			}
			if worst := quantile(z.lat, 1); worst >= delay {
				t.Errorf("zohoauth: a request waited %v, as long as the refresh", worst)
			}
			// The scenario must cross the point where x/oauth2 refreshes,
			// and count the requests that wait for it, or it measures
			// nothing.
			o := measureNearExpiry(oauth2C, nc, 300)
			if worst := quantile(o.lat, 1); worst < delay/2 {
				t.Errorf("oauth2: worst request took %v; the scenario did not reach its refresh", worst)
			}
			if len(o.delays) < 10 {
				t.Errorf("oauth2: %d requests counted as delayed; a %v refresh at one request a millisecond delays dozens",
					len(o.delays), delay)
			}
		})
	}
}

// TestContenderMargins checks each contender's margin: with a token endpoint
// that always fails, a token expiring just after the margin is still sent,
// and one expiring just before it is not.
func TestContenderMargins(t *testing.T) {
	const slack = 300 * time.Millisecond
	for _, c := range competitors {
		t.Run(c.name, func(t *testing.T) {
			for _, tc := range []struct {
				left   time.Duration
				wantOK bool
			}{{c.margin + slack, true}, {c.margin - slack, false}} {
				f := newFakeZoho()
				f.status = http.StatusServiceUnavailable
				rt, stop := c.build(setup{zoho: f, seed: f.seedToken(time.Now().Add(tc.left))})
				status, err := do(rt, newRequest(""))
				stop()
				if ok := err == nil && status == http.StatusOK; ok != tc.wantOK {
					t.Errorf("token expiring in %v: status %d, error %v; want the seed token sent: %v",
						tc.left, status, err, tc.wantOK)
				}
			}
		})
	}
}

func TestFailingEndpointSmall(t *testing.T) {
	z, follow := runFailing(zohoauthC, 5, 10*time.Millisecond)
	if z.failed != 5 || z.tokenCalls < 1 || z.tokenCalls > 3 || follow != 0 {
		t.Errorf("zohoauth: %d failed, %d token calls, %d follow-up calls; want 5, 1..3 (one call and its retries), 0",
			z.failed, z.tokenCalls, follow)
	}
	if spread := quantile(z.lat, 1) - quantile(z.lat, 0); spread > 100*time.Millisecond {
		t.Errorf("zohoauth: waiters finished %v apart; they should share one failure", spread)
	}
	o, follow := runFailing(oauth2C, 5, 10*time.Millisecond)
	if o.tokenCalls != 5 || follow != 5 {
		t.Errorf("oauth2: %d token calls, %d follow-up calls; the scenario expects one each per request", o.tokenCalls, follow)
	}
}

func TestRevokedSmall(t *testing.T) {
	z := runRevoked(zohoauthC, 5, 5, 10*time.Millisecond)
	if z.failed != 0 || z.tokenCalls != 1 {
		t.Errorf("zohoauth: %d failed, %d token calls; want 0 and 1", z.failed, z.tokenCalls)
	}
	o := runRevoked(oauth2C, 5, 5, 10*time.Millisecond)
	if o.failed != 10 || o.tokenCalls != 0 {
		t.Errorf("oauth2: %d failed, %d token calls; the scenario expects 10 and 0", o.failed, o.tokenCalls)
	}
}

func TestQuantile(t *testing.T) {
	ds := []time.Duration{5, 1, 4, 2, 3, 6, 7, 8, 9, 10}
	for _, c := range []struct {
		q    float64
		want time.Duration
	}{{0, 1}, {0.5, 5}, {0.9, 9}, {0.99, 10}, {1, 10}} {
		if got := quantile(ds, c.q); got != c.want {
			t.Errorf("quantile(%v) = %v, want %v", c.q, got, c.want)
		}
	}
	if quantile(nil, 0.5) != 0 {
		t.Error("quantile of nothing is not 0")
	}
}

func TestFleetSmall(t *testing.T) {
	const procs = 3
	run := 2*fleetWindow + fleetWindow/2
	for _, c := range fleetCases() {
		t.Run(c.name, func(t *testing.T) {
			spec, store, err := c.store(t)
			if errors.Is(err, errSkip) {
				t.Skip(err)
			}
			if err != nil {
				t.Fatal(err)
			}
			r := runFleet(t, c.kind, spec, store, procs, run)
			if c.kind == "oauth2" {
				if r.maxGroup != procs {
					t.Errorf("uncoordinated fleet: %+v; the harness should see one call per process per expiry", r)
				}
				return
			}
			if r.expiries < 1 || r.maxGroup != 1 || r.failed != 0 || r.ok == 0 {
				t.Errorf("%+v; want one call per expiry and no failed request", r)
			}
		})
	}
}

// TestRunQueueWaitSeesContention: more busy threads than CPUs must show up
// as time spent waiting for a CPU.
func TestRunQueueWaitSeesContention(t *testing.T) {
	before, ok := runQueueWait()
	if !ok {
		// Linux without schedstat (CONFIG_SCHED_INFO), or another system:
		// the storm then reports no os-wait-ms.
		t.Skip("the kernel reports no run-queue wait")
	}
	const spin = 100 * time.Millisecond
	threads := 2 * runtime.NumCPU()
	prev := runtime.GOMAXPROCS(threads)
	defer runtime.GOMAXPROCS(prev)
	var wg sync.WaitGroup
	for range threads {
		wg.Go(func() {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			for end := time.Now().Add(spin); time.Now().Before(end); {
			}
		})
	}
	wg.Wait()
	after, _ := runQueueWait()
	// threads busy threads on half as many CPUs: each waits about half of
	// spin; a tenth of that is a safe floor.
	if waited := after - before; waited < spin/10 {
		t.Errorf("run-queue wait grew by %v while %d threads spun for %v on %d CPUs", waited, threads, spin, runtime.NumCPU())
	}
}
