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
	if st.ThrottleHits > 0 {
		t.Errorf("the token endpoint throttled %d times; want none", st.ThrottleHits)
	}
	if t.Failed() {
		for i, c := range calls {
			t.Logf("refresh %d at +%v by %s, newest token had %v left", i, c.At.Sub(start).Round(10*time.Millisecond), c.Worker, c.Left.Round(10*time.Millisecond))
		}
	}
	// A 401 here means a request took longer than the Source's margin
	// before expiry; the Transport then replays it with a new token.
	t.Logf("fleet: %d processes, %v of %v tokens: %d refresh calls (zohotest: %d), %d duplicates, %d API requests, %d failed (%d answered 401 first)",
		workers, elapsed.Round(100*time.Millisecond), fleetLifetime, len(calls), st.TokenCalls["refresh_token"], dups, ok, failed, st.Unauthorized)
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
// endpoint, with the Source's default refresh timeout (30 s) and so its
// default lease. The others, whose token is stale, queue on the lock: while
// the holder lives, for longer than LockTTL, none of them gets it (the lease
// is renewed); once it is killed, one of them takes the lock over and
// finishes a refresh within 15 s, the rest adopt its token, and no request
// fails meanwhile.
func TestLockHolderKilled(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	addr := sharedAddr(t)
	c := newClient(t, addr)
	prefix := uniquePrefix(t, c)
	store := redisstore.New(c, "crash", redisstore.WithPrefix(prefix))
	lockKey := prefix + "{crash}:lock"
	// Tokens live long enough for the others to outlast the victim while
	// their token is stale; it goes stale staleAfter after the seed, once
	// they have all started.
	const life, staleAfter, takeover = 60 * time.Second, 12 * time.Second, 15 * time.Second
	zoho := newFakeZoho(t, life)
	seeded := zoho.issue()
	seed(t, store, seeded)
	staleAt := seeded.Expiry.Add(-life + staleAfter)
	cfg := workerConfig{
		RedisAddr: addr, Prefix: prefix, Account: "crash",
		AccountsURL: zoho.url, Window: life - staleAfter,
	}
	// One at a time, so that their first loads do not queue on the lock.
	var ws []*worker
	for i := range 3 {
		wc := cfg
		wc.ID = "w" + strconv.Itoa(i)
		ws = append(ws, startWorker(t, wc))
		for start := time.Now(); !zoho.usersOf(seeded.AccessToken)[wc.ID]; time.Sleep(20 * time.Millisecond) {
			if time.Since(start) > 10*time.Second {
				t.Fatalf("worker %s did not start using the stored token", wc.ID)
			}
		}
	}

	// The victim's window covers its whole token, so it refreshes at once;
	// its token call gets no answer.
	zoho.SetFault(zohotest.Fault{Latency: time.Hour, Count: 1})
	victimCfg := cfg
	victimCfg.ID, victimCfg.Window = "victim", life
	victim := startWorker(t, victimCfg)
	var called time.Time
	select {
	case w := <-zoho.arrived:
		if w != victimCfg.ID {
			t.Fatalf("worker %s called the token endpoint first; want the victim", w)
		}
		called = time.Now()
	case <-time.After(10 * time.Second):
		t.Fatal("the victim never called the token endpoint")
	}
	holder := c.Get(ctx, lockKey).Val()
	if holder == "" {
		t.Fatal("the victim called the token endpoint without holding the lock")
	}
	if time.Now().After(staleAt) {
		t.Fatalf("the workers' token went stale %v before the victim took the lock; the machine is too slow for this test", time.Since(staleAt))
	}
	// The victim keeps the lock, renewed, well past LockTTL while the
	// others queue on it; kill it before its own 30 s refresh deadline.
	killAt := staleAt.Add(redisstore.LockTTL + 2*time.Second)
	if d := killAt.Sub(called); d < 2*redisstore.LockTTL {
		killAt = called.Add(2 * redisstore.LockTTL)
	}
	for time.Now().Before(killAt) {
		ttl := c.PTTL(ctx, lockKey).Val()
		if c.Get(ctx, lockKey).Val() != holder || ttl > redisstore.LockTTL {
			t.Fatalf("%v after the victim took the lock: held by another, or a TTL of %v; want the victim's, at most %v",
				time.Since(called).Round(time.Millisecond), ttl, redisstore.LockTTL)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if n := len(zoho.refreshCalls()); n != 1 {
		t.Fatalf("%d token calls while the victim held the lock; want its own alone", n)
	}
	victim.kill(t)
	killed := time.Now()

	// The first refresh after the kill is finished when its token is saved.
	waitStored(t, store, func(tok *zohoauth.Token) bool { return tok.AccessToken != seeded.AccessToken }, 2*takeover)
	took := time.Since(killed)
	if took > takeover {
		t.Errorf("a refresh finished %v after the lock holder was killed; want within %v", took.Round(time.Millisecond), takeover)
	}
	calls := zoho.waitCalls(t, 1, time.Second)
	// Let the others pick up the new token, and catch any second refresh.
	deadline := time.Now().Add(10 * time.Second)
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
			t.Logf("token call by %s at %v, got a token: %v", c.Worker, c.At.Format(tsFormat), c.Access != "")
		}
	}
	if users := zoho.usersOf(calls[0].Access); len(users) != len(ws) {
		t.Errorf("the token refreshed after the crash was used by %d of %d workers", len(users), len(ws))
	}
	t.Logf("default refresh timeout; the victim held the lock %v (the others waiting on it for %v), then was killed; "+
		"the token call after the kill came %v after it, by %s, and its token was saved %v after it; %d of %d survivors use it",
		killed.Sub(called).Round(100*time.Millisecond), killed.Sub(staleAt).Round(100*time.Millisecond),
		calls[0].At.Sub(killed).Round(100*time.Millisecond), calls[0].Worker, took.Round(100*time.Millisecond),
		len(zoho.usersOf(calls[0].Access)), len(ws))
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
	// 5s (until sendMargin before its expiry).
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
	// stale from r+cycle and due at r+life-sendMargin, when each process
	// refreshes without the lock; Redis is back a little later.
	r := zoho.waitCalls(t, 1, limit)[0]
	time.Sleep(time.Until(r.At.Add(cycle / 8)))
	down1 := time.Now()
	srv.stop(t, true)
	time.Sleep(time.Until(r.At.Add(life - sendMargin + cycle/4)))
	srv.start(t)
	up1 := time.Now()

	// Coordination has resumed once a process saved a new token. Outage 2
	// follows, between two refreshes, and loses the data.
	waitStored(t, store, func(tok *zohoauth.Token) bool { return tok.AccessToken != r.Access }, limit)
	time.Sleep(cycle / 8)
	before, err := store.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	down2 := time.Now()
	srv.stop(t, false)
	time.Sleep(cycle / 4)
	srv.start(t)
	up2 := time.Now()
	// Normally nothing; a worker may have saved a new token already.
	if tok, err := store.Load(ctx); err == nil && tok.AccessToken == before.AccessToken {
		t.Fatal("the token survived SHUTDOWN NOSAVE")
	} else if err != nil && !errors.Is(err, zohoauth.ErrNoToken) {
		t.Fatal(err)
	}
	// Two more refreshes after the data loss.
	zoho.waitCalls(t, len(minted(zoho.refreshCalls()))+2, 2*limit)
	time.Sleep(cycle / 4)
	for _, w := range ws {
		sum := w.stop(t)
		if sum.Failed > 0 || sum.OK == 0 {
			t.Errorf("worker %s: %d requests failed, %d succeeded: %q", w.id, sum.Failed, sum.OK, sum.Errors)
		}
	}
	calls := minted(zoho.refreshCalls())

	// Each worker refreshed once without the lock, in outage 1 (not in the
	// short outage 2), after attempts that kept its stale token; it logged
	// the Redis error.
	unlocked, kept := 0, 0
	for _, w := range ws {
		times := w.logTimes("zohoauth: store lock unavailable; refreshing without it")
		unlocked += len(times)
		if len(times) != 1 || times[0].Before(down1) || times[0].After(up1) {
			t.Errorf("worker %s refreshed without the lock at %v; want once, during outage 1 (%v to %v)",
				w.id, times, down1.Format(tsFormat), up1.Format(tsFormat))
		}
		k := len(w.logTimes("zohoauth: refresh failed"))
		kept += k
		if k == 0 {
			t.Errorf("worker %s refreshed without the lock while its token was only stale", w.id)
		}
	}
	// The other refreshes were coordinated: one per token.
	coordinated := withoutUnlocked(calls, ws)
	dups := checkSpacing(t, coordinated, cycle/2)

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
		up1.Sub(down1).Round(100*time.Millisecond), unlocked, len(ws), kept, up2.Sub(down2).Round(100*time.Millisecond),
		len(calls), len(coordinated), dups, !t.Failed())
}

const tsFormat = "15:04:05.000"

// sendMargin is how long before its expiry a Source stops sending a token
// (with a refresh window of 2s or more, as in these tests).
const sendMargin = time.Second

// waitStored waits until the stored token satisfies ok.
func waitStored(t *testing.T, store *redisstore.Store, ok func(*zohoauth.Token) bool, limit time.Duration) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		if tok, err := store.Load(context.Background()); err == nil && ok(tok) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the store did not get the expected token within %v", limit)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// withoutUnlocked drops the token calls that followed a worker's log record
// of refreshing without the lock: the first call by that worker after it.
func withoutUnlocked(calls []refreshCall, ws []*worker) []refreshCall {
	skip := map[int]bool{}
	for _, w := range ws {
		for _, at := range w.logTimes("zohoauth: store lock unavailable; refreshing without it") {
			for i, c := range calls {
				if c.Worker == w.id && !c.At.Before(at) && !skip[i] {
					skip[i] = true
					break
				}
			}
		}
	}
	var out []refreshCall
	for i, c := range calls {
		if !skip[i] {
			out = append(out, c)
		}
	}
	return out
}

// checkSpacing fails the test for every token call that came less than gap
// after the one before it: two processes refreshing the same token. It
// returns how many there were.
func checkSpacing(t *testing.T, calls []refreshCall, gap time.Duration) int {
	t.Helper()
	dups := 0
	for i := 1; i < len(calls); i++ {
		if d := calls[i].At.Sub(calls[i-1].At); d < gap {
			dups++
			t.Errorf("token call by %s at %s came %v after the one by %s: a duplicate refresh",
				calls[i].Worker, calls[i].At.Format(tsFormat), d.Round(time.Millisecond), calls[i-1].Worker)
		}
	}
	return dups
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
	store := redisstore.New(c, "long", redisstore.WithPrefix(prefix))
	const life, window = 6 * time.Second, 4 * time.Second
	const cycle = life - window
	zoho := newFakeZoho(t, life)
	seed(t, store, zoho.issue())
	var ws []*worker
	for i := range 2 {
		ws = append(ws, startWorker(t, workerConfig{
			ID: "w" + strconv.Itoa(i), RedisAddr: srv.addr, Prefix: prefix, Account: "long",
			AccountsURL: zoho.url, Window: window, Timeout: 5 * time.Second,
		}))
	}
	r := zoho.waitCalls(t, 1, 2*cycle+10*time.Second)[0]
	time.Sleep(time.Until(r.At.Add(cycle / 8)))
	down := time.Now()
	srv.stop(t, true)
	// The first token is due at r+life-sendMargin; the ones minted then are
	// due a token lifetime later. Stay down a second past that.
	dueAgain := r.At.Add(2 * (life - sendMargin))
	time.Sleep(time.Until(dueAgain.Add(time.Second)))
	srv.start(t)
	up := time.Now()
	waitStored(t, store, func(tok *zohoauth.Token) bool { return tok.AccessToken != r.Access }, 3*life)
	resumed := time.Now()
	time.Sleep(cycle / 2)

	var worst time.Duration
	for _, w := range ws {
		sum := w.stop(t)
		if n := len(w.logTimes("zohoauth: store lock unavailable; refreshing without it")); n != 1 {
			t.Errorf("worker %s refreshed %d times without the lock; want 1", w.id, n)
		}
		// Failures only once the second token was due, and none once
		// Redis was back and a refresh went through.
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
	t.Logf("outage %v with %v tokens: 1 refresh without the lock per worker, failures until at most %v after Redis was back; a coordinated refresh was saved %v after it",
		up.Sub(down).Round(100*time.Millisecond), life, worst.Round(100*time.Millisecond), resumed.Sub(up).Round(100*time.Millisecond))
}

func firstOf(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[0]
}
