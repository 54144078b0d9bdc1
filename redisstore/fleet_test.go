package redisstore_test

import (
	"context"
	"errors"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-zoho/zohoauth"
	"github.com/go-zoho/zohoauth/redisstore"
	"github.com/go-zoho/zohoauth/zohotest"
)

// Token timing of the fleet test: 3s tokens, refreshed once inside the 1s
// refresh window, so each token is replaced about 2s after it was minted and
// expires a second later. FLEET_LIFETIME and FLEET_WINDOW override the values
// (the lifetime in whole seconds, as Zoho reports it).
var (
	fleetLifetime = envDuration("FLEET_LIFETIME", 3*time.Second)
	fleetWindow   = envDuration("FLEET_WINDOW", time.Second)
	fleetCycle    = fleetLifetime - fleetWindow
)

func envDuration(name string, def time.Duration) time.Duration {
	if d, err := time.ParseDuration(os.Getenv(name)); err == nil {
		return d
	}
	return def
}

// TestFleet runs 8 processes, each with its own Source, over one Redis and
// one fake Zoho, through 6 refreshes (and so at least 5 expiries). Exactly
// one process must call the token endpoint per token; every API request
// must succeed.
func TestFleet(t *testing.T) {
	t.Parallel()
	const workers, cycles = 8, 6
	addr := sharedAddr(t)
	c := newClient(t, addr)
	prefix := uniquePrefix(t, c)
	zoho := newFakeZoho(t, fleetLifetime)
	seed(t, redisstore.New(c, "fleet", redisstore.WithPrefix(prefix)), zoho.issue())

	start := time.Now()
	var ws []*worker
	for i := range workers {
		ws = append(ws, startWorker(t, workerConfig{
			ID: "w" + strconv.Itoa(i), RedisAddr: addr, Prefix: prefix, Account: "fleet",
			AccountsURL: zoho.url, Window: fleetWindow, Timeout: 5 * time.Second,
		}))
	}
	zoho.waitCalls(t, cycles, time.Duration(cycles+4)*fleetCycle+10*time.Second)
	// Let the last token reach every worker.
	time.Sleep(fleetCycle / 2)
	ok, failed := 0, 0
	for _, w := range ws {
		sum := w.stop(t)
		ok, failed = ok+sum.OK, failed+sum.Failed
		if sum.Failed > 0 {
			t.Errorf("worker %s: %d of %d requests failed: %q", w.id, sum.Failed, sum.OK+sum.Failed, sum.Errors)
		}
	}
	elapsed := time.Since(start)
	calls := zoho.refreshCalls()
	dups := checkOnePerCycle(t, calls)
	st := zoho.Stats()
	if n := st.TokenCalls["refresh_token"]; n != len(calls) || len(minted(calls)) != n {
		t.Errorf("zohotest counted %d refresh calls; the recorder %d, %d of which got a token", n, len(calls), len(minted(calls)))
	}
	if st.Unauthorized > 0 || st.ThrottleHits > 0 {
		t.Errorf("the API refused %d requests and the token endpoint throttled %d times; want none", st.Unauthorized, st.ThrottleHits)
	}
	if t.Failed() {
		for i, c := range calls {
			t.Logf("refresh %d at +%v by %s, newest token had %v left", i, c.At.Sub(start).Round(10*time.Millisecond), c.Worker, c.Left.Round(10*time.Millisecond))
		}
	}
	t.Logf("fleet: %d processes, %v of %v tokens: %d refresh calls (zohotest: %d), %d duplicates, %d API requests, %d failed",
		workers, elapsed.Round(100*time.Millisecond), fleetLifetime, len(calls), st.TokenCalls["refresh_token"], dups, ok, failed)
}

// checkOnePerCycle fails the test for every refresh call made while the
// newest token was not yet inside its refresh window, which is what a
// second process refreshing the same token looks like. It returns how many
// there were.
func checkOnePerCycle(t *testing.T, calls []refreshCall) int {
	t.Helper()
	dups := 0
	for i, c := range calls {
		if c.Left > fleetWindow+fleetCycle/4 {
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
	seeded := zoho.issue()
	seed(t, redisstore.New(c, "crash", redisstore.WithPrefix(prefix)), seeded)
	cfg := workerConfig{
		RedisAddr: addr, Prefix: prefix, Account: "crash", Timeout: timeout,
		AccountsURL: zoho.url, Window: life - 9*time.Second, // stale 9s after the seed
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

	// The victim's window covers its whole token, so it refreshes at once;
	// its token call gets no answer.
	zoho.SetFault(zohotest.Fault{Latency: time.Hour, Count: 1})
	victimCfg := cfg
	victimCfg.ID, victimCfg.Window = "victim", life
	victim := startWorker(t, victimCfg)
	select {
	case w := <-zoho.arrived:
		if w != victimCfg.ID {
			t.Fatalf("worker %s called the token endpoint first; want the victim", w)
		}
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
	}
	all := zoho.refreshCalls()
	calls = minted(all)
	if len(calls) != 1 || len(all) != 2 {
		t.Errorf("%d token calls (%d got a token); want the victim's and one more", len(all), len(calls))
		for _, c := range all {
			t.Logf("token call by %s at %v, got a token: %v", c.Worker, c.At.Format("15:04:05.000"), c.Access != "")
		}
	}
	if users := zoho.usersOf(calls[0].Access); len(users) != len(ws) {
		t.Errorf("the token refreshed after the crash was used by %d of %d workers", len(users), len(ws))
	}
	t.Logf("holder killed with the lock; takeover refresh %v after the kill by %s; %d token calls after the victim's; %d of %d survivors use its token",
		took.Round(100*time.Millisecond), calls[0].Worker, len(calls), len(zoho.usersOf(calls[0].Access)), len(ws))
}

// Redis stops and starts twice under a running fleet.
//
// The first outage keeps the data (SHUTDOWN SAVE, as a persistent Redis
// would). It starts just after a refresh and lasts past the point where the
// token stops being sent: while the token is only stale, the processes keep
// it and try the lock again later; when it is due, each refreshes once
// without the lock. The second outage loses the data (SHUTDOWN NOSAVE, no
// snapshot): the next refresh must put the token, refresh token included,
// back into the store. Coordination resumes after each, and no request fails.
func TestRedisRestart(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv := startServer(t)
	c := newClient(t, srv.addr)
	prefix := uniquePrefix(t, c)
	store := redisstore.New(c, "restart", redisstore.WithPrefix(prefix))
	// A token is refreshed 2s after it is minted; the Source sends it for
	// 4s (until half the window before its expiry).
	const life, window = 6 * time.Second, 4 * time.Second
	const cycle = life - window
	zoho := newFakeZoho(t, life)
	first := zoho.issue()
	seed(t, store, first)
	var ws []*worker
	for i := range 4 {
		ws = append(ws, startWorker(t, workerConfig{
			ID: "w" + strconv.Itoa(i), RedisAddr: srv.addr, Prefix: prefix, Account: "restart",
			AccountsURL: zoho.url, Window: window, Timeout: 5 * time.Second,
		}))
	}
	limit := 2*cycle + 10*time.Second

	// Outage 1 starts just after a coordinated refresh at r. The token is
	// stale from r+cycle and due at r+2*cycle, when each process refreshes
	// without the lock; Redis is back a little later.
	r := zoho.waitCalls(t, 1, limit)[0].At
	time.Sleep(time.Until(r.Add(cycle / 8)))
	down1 := time.Now()
	srv.stop(t, true)
	time.Sleep(time.Until(r.Add(2*cycle + cycle/4)))
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
	calls := minted(zoho.refreshCalls())

	// Outage 1: exactly one refresh per worker without the lock, logged
	// with the Redis error, after attempts that kept the stale token.
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
			t.Errorf("worker %s refreshed without the lock while its token was only stale", w.id)
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
	if last := calls[len(calls)-1]; got.AccessToken != last.Access || got.RefreshToken != first.RefreshToken {
		t.Errorf("the store does not hold the newest token with its refresh token")
	}
	t.Logf("outage keeping data (%v): %d refreshes without the lock by %d workers after %d attempts that kept the stale token, then coordinated; "+
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

// Redis stays down longer than a token lives. Each process refreshes
// without the lock once, when its token is due; when that token is due in
// turn, still within the Source's limit of one such refresh per refresh
// window (at least a minute), requests fail instead of minting more
// tokens, until Redis is back and a coordinated refresh succeeds.
func TestRedisOutageOutlastsToken(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	c := newClient(t, srv.addr)
	prefix := uniquePrefix(t, c)
	const life, window = 6 * time.Second, 4 * time.Second
	const cycle, margin = life - window, window / 2 // margin: the Source stops sending a token this long before its expiry
	zoho := newFakeZoho(t, life)
	seed(t, redisstore.New(c, "long", redisstore.WithPrefix(prefix)), zoho.issue())
	var ws []*worker
	for i := range 2 {
		ws = append(ws, startWorker(t, workerConfig{
			ID: "w" + strconv.Itoa(i), RedisAddr: srv.addr, Prefix: prefix, Account: "long",
			AccountsURL: zoho.url, Window: window, Timeout: 5 * time.Second,
		}))
	}
	r := zoho.waitCalls(t, 1, 2*cycle+10*time.Second)[0].At
	time.Sleep(time.Until(r.Add(cycle / 8)))
	down := time.Now()
	srv.stop(t, true)
	// The first token is due at r+life-margin; the ones minted then are
	// due a token lifetime later. Stay down a second past that.
	time.Sleep(time.Until(r.Add(2*(life-margin) + time.Second)))
	srv.start(t)
	up := time.Now()
	recovered := zoho.waitCalls(t, 2+len(ws), 3*life)
	time.Sleep(cycle / 2)

	during := callsBetween(zoho.refreshCalls(), down, up)
	per := map[string]int{}
	for _, c := range during {
		per[c.Worker]++
	}
	var worst time.Duration
	for _, w := range ws {
		sum := w.stop(t)
		if per[w.id] != 1 {
			t.Errorf("worker %s made %d token calls while Redis was down; want 1", w.id, per[w.id])
		}
		// Failures only after the second token was due, and none once
		// Redis was back and a refresh went through.
		dueAgain := r.Add(2 * (life - margin))
		switch {
		case sum.Failed == 0:
			t.Errorf("worker %s: no request failed; want failures once its second token was due with Redis down", w.id)
		case sum.FirstFail.Before(dueAgain.Add(-cycle / 2)):
			t.Errorf("worker %s: first failure %v before the second token was due", w.id, dueAgain.Sub(sum.FirstFail))
		case !sum.LastOK.After(sum.LastFail):
			t.Errorf("worker %s did not recover: last failure %v, last success %v", w.id, sum.LastFail, sum.LastOK)
		}
		for _, e := range sum.Errors {
			if !strings.Contains(e, "store lock unavailable") {
				t.Errorf("worker %s: failure does not name the store lock: %s", w.id, e)
			}
		}
		worst = max(worst, sum.LastFail.Sub(up))
		t.Logf("worker %s: %d requests failed from %v after the outage began until %v after Redis was back: %s",
			w.id, sum.Failed, sum.FirstFail.Sub(down).Round(100*time.Millisecond), sum.LastFail.Sub(up).Round(100*time.Millisecond), firstOf(sum.Errors))
	}
	t.Logf("outage %v with %v tokens: %d token calls while down (1 per worker), failures until at most %v after Redis was back; first coordinated refresh after it at +%v",
		up.Sub(down).Round(100*time.Millisecond), life, len(during), worst.Round(100*time.Millisecond),
		firstAfter(recovered, up).Sub(up).Round(100*time.Millisecond))
}

func firstOf(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[0]
}

func firstAfter(calls []refreshCall, t time.Time) time.Time {
	for _, c := range calls {
		if c.At.After(t) {
			return c.At
		}
	}
	return t
}
