package redisstore_test

import (
	"context"
	"errors"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/go-zoho/zohoauth"
	"github.com/go-zoho/zohoauth/redisstore"
)

// Token timing of the cross-process tests. A token is refreshed once it is
// inside the refresh window, so with these values each token is replaced
// fleetCycle after it was minted. The Source stops serving a token 10s before
// its expiry, so the window must exceed 10s for tokens to have a stale phase
// (served while one process refreshes). FLEET_LIFETIME and FLEET_WINDOW
// override the values, to try others.
var (
	fleetLifetime = envDuration("FLEET_LIFETIME", 13*time.Second)
	fleetWindow   = envDuration("FLEET_WINDOW", 11*time.Second)
	fleetCycle    = fleetLifetime - fleetWindow
)

func envDuration(name string, def time.Duration) time.Duration {
	if d, err := time.ParseDuration(os.Getenv(name)); err == nil {
		return d
	}
	return def
}

// TestFleet runs 8 processes, each with its own Source, over one Redis and
// one token endpoint, through at least 6 token lifetimes. Exactly one
// process must call the token endpoint per token; every API request must
// succeed.
func TestFleet(t *testing.T) {
	t.Parallel()
	const workers, cycles = 8, 6
	addr := sharedAddr(t)
	c := newClient(t, addr)
	prefix := uniquePrefix(t, c)
	zoho := newFakeZoho(t, fleetLifetime)
	seed(t, redisstore.New(c, "fleet", redisstore.WithPrefix(prefix)), zoho.mint(fleetLifetime))

	start := time.Now()
	var ws []*worker
	for i := range workers {
		ws = append(ws, startWorker(t, workerConfig{
			ID: "w" + strconv.Itoa(i), RedisAddr: addr, Prefix: prefix, Account: "fleet",
			AccountsURL: zoho.accounts.URL, APIURL: zoho.api.URL,
			Window: fleetWindow, Timeout: 5 * time.Second,
		}))
	}
	zoho.waitCalls(t, cycles, time.Duration(cycles+4)*fleetCycle+10*time.Second)
	// Let the last token reach every worker.
	time.Sleep(fleetCycle / 2)
	ok := 0
	for _, w := range ws {
		sum := w.stop(t)
		ok += sum.OK
		if sum.Failed > 0 {
			t.Errorf("worker %s: %d of %d requests failed: %q", w.id, sum.Failed, sum.OK+sum.Failed, sum.Errors)
		}
	}
	elapsed := time.Since(start)
	calls := zoho.refreshCalls()
	dups := checkOnePerCycle(t, calls)
	for i, c := range calls {
		t.Logf("refresh %d at +%v by %s, newest token had %v left", i, c.At.Sub(start).Round(10*time.Millisecond), c.Worker, c.Left.Round(10*time.Millisecond))
	}
	t.Logf("fleet: %d processes, %v: %d refresh calls for %d tokens (%d duplicates), %d API requests, all succeeded: %v",
		workers, elapsed.Round(100*time.Millisecond), len(calls), len(calls)-dups, dups, ok, !t.Failed())
}

// checkOnePerCycle fails the test for every refresh call made while the
// newest token was not yet inside its refresh window, which is what a
// second process refreshing the same token looks like. It returns how many
// there were.
func checkOnePerCycle(t *testing.T, calls []refreshCall) int {
	t.Helper()
	dups := 0
	for i, c := range calls {
		if c.Left > fleetWindow+500*time.Millisecond {
			dups++
			t.Errorf("refresh call %d by %s came while the newest token still had %v to live: a duplicate refresh",
				i, c.Worker, c.Left.Round(time.Millisecond))
		}
	}
	return dups
}

// A worker dies (SIGKILL) while it holds the lock and waits on the token
// endpoint. The others, which hold the current token, must wait out its
// lease; then exactly one of them refreshes and the rest adopt its token,
// and no request fails meanwhile.
func TestLockHolderKilled(t *testing.T) {
	t.Parallel()
	addr := sharedAddr(t)
	c := newClient(t, addr)
	prefix := uniquePrefix(t, c)
	// The Source asks Lock for its refresh timeout plus 10s; with the
	// store's margin a dead holder's lock lasts 13.1s. Tokens live long
	// enough for the others to outlast it while their token is stale.
	const timeout, life = time.Second, 40 * time.Second
	zoho := newFakeZoho(t, life)
	hangURL, hit := hangServer(t)
	seeded := zoho.mint(life)
	seed(t, redisstore.New(c, "crash", redisstore.WithPrefix(prefix)), seeded)
	cfg := workerConfig{
		RedisAddr: addr, Prefix: prefix, Account: "crash", APIURL: zoho.api.URL, Timeout: timeout,
		AccountsURL: zoho.accounts.URL, Window: life - 9*time.Second, // stale 9s after the seed
	}
	start := time.Now()
	var ws []*worker
	for i := range 3 {
		wc := cfg
		wc.ID = "w" + strconv.Itoa(i)
		ws = append(ws, startWorker(t, wc))
	}
	for len(zoho.usersOf(seeded.AccessToken)) < len(ws) {
		if time.Since(start) > 10*time.Second {
			t.Fatal("the workers did not start using the stored token")
		}
		time.Sleep(20 * time.Millisecond)
	}

	// The victim's window covers its whole token, so it refreshes at once.
	victimCfg := cfg
	victimCfg.ID, victimCfg.AccountsURL, victimCfg.Window = "victim", hangURL, life
	victim := startWorker(t, victimCfg)
	select {
	case <-hit:
	case <-time.After(10 * time.Second):
		t.Fatal("the victim never called the token endpoint")
	}
	held := c.Exists(context.Background(), prefix+"{crash}:lock").Val() == 1
	victim.kill(t)
	killed := time.Now()
	if !held {
		t.Fatal("the victim called the token endpoint without holding the lock")
	}

	calls := zoho.waitCalls(t, 1, life)
	took := calls[0].At.Sub(killed)
	// Let the others pick up the new token, and catch any second refresh.
	deadline := time.Now().Add(5 * time.Second)
	for len(zoho.usersOf(calls[0].Access)) < len(ws) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond)
	for _, w := range ws {
		sum := w.stop(t)
		if sum.Failed > 0 || sum.OK == 0 {
			t.Errorf("worker %s: %d requests failed, %d succeeded: %q", w.id, sum.Failed, sum.OK, sum.Errors)
		}
		if n := w.logCount("zohoauth: adopted token saved by another process"); w.id != calls[0].Worker && n != 2 {
			t.Errorf("worker %s adopted a stored token %d times; want 2 (at start, after the takeover)", w.id, n)
		}
	}
	calls = zoho.refreshCalls()
	if len(calls) != 1 {
		t.Errorf("%d refresh calls after the holder died; want 1", len(calls))
	}
	if users := zoho.usersOf(calls[0].Access); len(users) != len(ws) {
		t.Errorf("the token refreshed after the crash was used by %d of %d workers", len(users), len(ws))
	}
	t.Logf("holder killed with the lock; takeover refresh %v after the kill by %s; %d refresh calls; all %d survivors use its token",
		took.Round(100*time.Millisecond), calls[0].Worker, len(calls), len(zoho.usersOf(calls[0].Access)))
}

// Redis stops and starts twice under a running fleet.
//
// The first outage keeps the data (SHUTDOWN SAVE, as a persistent Redis
// would) and lasts through two refresh points: at the first, each process
// refreshes once without the lock; at the second, it must not refresh again
// but keep serving its token until Redis is back. The second outage loses
// the data (SHUTDOWN NOSAVE, no snapshot): the next refresh must put the
// token, refresh token included, back into the store. Coordination resumes
// after each, and no request fails throughout.
func TestRedisRestart(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv := startServer(t)
	c := newClient(t, srv.addr)
	prefix := uniquePrefix(t, c)
	store := redisstore.New(c, "restart", redisstore.WithPrefix(prefix))
	// A token is refreshed 4s after it is minted and usable for 6s.
	const life, window = 16 * time.Second, 12 * time.Second
	const cycle = life - window
	zoho := newFakeZoho(t, life)
	seed(t, store, zoho.mint(life))
	var ws []*worker
	for i := range 4 {
		ws = append(ws, startWorker(t, workerConfig{
			ID: "w" + strconv.Itoa(i), RedisAddr: srv.addr, Prefix: prefix, Account: "restart",
			AccountsURL: zoho.accounts.URL, APIURL: zoho.api.URL,
			Window: window, Timeout: 5 * time.Second,
		}))
	}
	limit := 2*cycle + 10*time.Second

	// Outage 1 starts just after a coordinated refresh at r and ends
	// between the second refresh point (r+2*cycle) and the end of the
	// backoff that follows (r+2*cycle+1s).
	r := zoho.waitCalls(t, 1, limit)[0].At
	time.Sleep(time.Until(r.Add(cycle / 8)))
	down1 := time.Now()
	srv.stop(t, true)
	time.Sleep(time.Until(r.Add(2*cycle + 500*time.Millisecond)))
	srv.start(t)
	up1 := time.Now()
	during1 := callsBetween(zoho.refreshCalls(), down1, up1)

	// Outage 2, between two refreshes, loses the data.
	n := len(zoho.waitCalls(t, 1+len(during1)+1, limit))
	time.Sleep(cycle / 8)
	down2 := time.Now()
	srv.stop(t, false)
	time.Sleep(cycle / 4)
	srv.start(t)
	up2 := time.Now()
	if _, err := store.Load(ctx); !errors.Is(err, zohoauth.ErrNoToken) {
		t.Fatalf("after SHUTDOWN NOSAVE the store answers %v; want ErrNoToken", err)
	}
	// Two more refreshes after the data loss.
	zoho.waitCalls(t, n+2, 2*limit)
	time.Sleep(cycle / 4)
	for _, w := range ws {
		sum := w.stop(t)
		if sum.Failed > 0 || sum.OK == 0 {
			t.Errorf("worker %s: %d requests failed, %d succeeded: %q", w.id, sum.Failed, sum.OK, sum.Errors)
		}
	}
	calls := zoho.refreshCalls()

	// Outage 1: exactly one refresh per worker without the lock, and one
	// refused refresh at the second refresh point.
	per := map[string]int{}
	for _, c := range during1 {
		per[c.Worker]++
	}
	refused := 0
	for _, w := range ws {
		if per[w.id] != 1 {
			t.Errorf("worker %s refreshed %d times during the outage; want 1", w.id, per[w.id])
		}
		if k := w.logCount("zohoauth: store lock unavailable; refreshing without it"); k != per[w.id] {
			t.Errorf("worker %s logged %d refreshes without the lock; it made %d", w.id, k, per[w.id])
		}
		k := w.logCount("zohoauth: refresh failed")
		refused += k
		if k == 0 {
			t.Errorf("worker %s never held back a second refresh without the lock", w.id)
		}
	}
	// Outside outage 1, one refresh per token; none during outage 2.
	var coordinated []refreshCall
	for _, c := range calls {
		if c.At.Before(down1) || c.At.After(up1) {
			coordinated = append(coordinated, c)
		}
	}
	dups := 0
	for i, c := range coordinated {
		if c.Left > window+500*time.Millisecond {
			dups++
			t.Errorf("coordinated refresh %d by %s came while the newest token still had %v to live", i, c.Worker, c.Left)
		}
	}
	if during2 := callsBetween(calls, down2, up2); len(during2) > 0 {
		t.Errorf("%d refresh calls during the short outage", len(during2))
	}

	// The store holds the newest token again, refresh token included.
	got, err := store.Load(ctx)
	if err != nil {
		t.Fatalf("Load after the restarts: %v", err)
	}
	if last := calls[len(calls)-1]; got.AccessToken != last.Access || got.RefreshToken != zoho.refresh {
		t.Errorf("the store does not hold the newest token with its refresh token")
	}
	t.Logf("outage keeping data (%v): %d refreshes without the lock by %d workers, %d refused refresh attempts, then coordinated; "+
		"outage losing data (%v): store refilled by the next refresh; %d refresh calls in all, %d coordinated, %d duplicates; no request failed: %v",
		up1.Sub(down1).Round(100*time.Millisecond), len(during1), len(ws), refused, up2.Sub(down2).Round(100*time.Millisecond),
		len(calls), len(coordinated), dups, !t.Failed())
}

func callsBetween(calls []refreshCall, from, to time.Time) []refreshCall {
	var out []refreshCall
	for _, c := range calls {
		if !c.At.Before(from) && !c.At.After(to) {
			out = append(out, c)
		}
	}
	return out
}
