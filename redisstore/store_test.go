package redisstore_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-zoho/zohoauth"
	"github.com/go-zoho/zohoauth/redisstore"
	"github.com/go-zoho/zohoauth/zohotest/storetest"
	"github.com/redis/go-redis/v9"
)

// sampleBase is the expiry of sample(0): within the hour, as Zoho's tokens.
var sampleBase = time.Now().Add(10 * time.Minute).Truncate(time.Second)

// sample is storetest.Sample(n) expiring n seconds after sampleBase.
func sample(n int) *zohoauth.Token {
	return expiring(n, sampleBase.Add(time.Duration(n)*time.Second))
}

// expiring is storetest.Sample(n) expiring at exp.
func expiring(n int, exp time.Time) *zohoauth.Token {
	tok := storetest.Sample(n)
	tok.Expiry = exp
	return tok
}

func TestContract(t *testing.T) {
	c := newClient(t, sharedAddr(t))
	storetest.Run(t, func(t *testing.T) zohoauth.Store {
		return redisstore.New(c, "acct", redisstore.WithPrefix(uniquePrefix(t, c)))
	})
}

func TestKeyLayout(t *testing.T) {
	ctx := context.Background()
	c := newClient(t, sharedAddr(t))
	p := uniquePrefix(t, c)
	s := redisstore.New(c, "crm-prod", redisstore.WithPrefix(p))
	want := sample(1)
	if err := s.Save(ctx, want); err != nil {
		t.Fatal(err)
	}
	unlock, err := s.Lock(ctx, 40*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	now := time.Now()
	if _, _, err := s.TakeCall(ctx, now, now, 10, 10*time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveState(ctx, []byte(`{}`)); err != nil {
		t.Fatal(err)
	}

	keys, err := c.Keys(ctx, p+"*").Result()
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(keys)
	base := p + "{crm-prod}:"
	tokenKey, lockKey, callsKey, stateKey := base+"token", base+"lock", base+"calls", base+"state"
	if want := []string{callsKey, lockKey, stateKey, tokenKey}; !slices.Equal(keys, want) {
		t.Fatalf("keys = %q; want %q", keys, want)
	}
	for key, want := range map[string]struct{ min, max time.Duration }{
		// No TTL (-1): a TTL would drop the refresh token.
		tokenKey: {-1, -1},
		// A short lease, renewed while held, whatever lease was asked.
		lockKey: {redisstore.LockTTL - time.Second, redisstore.LockTTL},
		// The call's window, and a minute.
		callsKey: {10*time.Minute + time.Minute - 5*time.Second, 10*time.Minute + time.Minute + time.Second},
		stateKey: {redisstore.StateTTL - 5*time.Second, redisstore.StateTTL},
	} {
		ttl := c.PTTL(ctx, key).Val()
		if want.min == -1 && ttl != -1 || want.min != -1 && (ttl < want.min || ttl > want.max) {
			t.Errorf("%s TTL = %v; want %v to %v", key, ttl, want.min, want.max)
		}
	}

	raw, err := c.Get(ctx, tokenKey).Bytes()
	if err != nil {
		t.Fatal(err)
	}
	var fields map[string]any
	if err := json.Unmarshal(raw, &fields); err != nil {
		t.Fatalf("stored value is not JSON: %v", err)
	}
	for _, f := range []string{"access_token", "refresh_token", "token_type", "api_domain", "scope", "expiry", "accounts_server"} {
		if _, ok := fields[f]; !ok {
			t.Errorf("stored JSON lacks %q", f)
		}
	}
	var back zohoauth.Token
	if err := json.Unmarshal(raw, &back); err != nil || back.RefreshToken != want.RefreshToken || !back.Expiry.Equal(want.Expiry) {
		t.Errorf("stored JSON does not decode to the saved token (err %v)", err)
	}
}

func TestDefaultPrefix(t *testing.T) {
	ctx := context.Background()
	c := newClient(t, sharedAddr(t))
	account := "default-prefix-" + uniquePrefix(t, c)
	s := redisstore.New(c, account)
	t.Cleanup(func() { _ = s.Delete(context.Background()) })
	if err := s.Save(ctx, sample(1)); err != nil {
		t.Fatal(err)
	}
	if n := c.Exists(ctx, "zohoauth:{"+account+"}:token").Val(); n != 1 {
		t.Fatalf("token not under the default prefix %q", redisstore.DefaultPrefix)
	}
}

// TestCluster runs the contract against a one-node Redis Cluster that
// serves every slot, through a cluster client, and checks that both keys of
// an account share a slot.
func TestCluster(t *testing.T) {
	ctx := context.Background()
	srv := startServer(t, "--cluster-enabled", "yes")
	admin := newClient(t, srv.addr)
	if err := admin.Do(ctx, "CLUSTER", "ADDSLOTSRANGE", 0, 16383).Err(); err != nil {
		t.Fatalf("CLUSTER ADDSLOTSRANGE: %v", err)
	}
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		info, _ := admin.ClusterInfo(ctx).Result()
		if strings.Contains(info, "cluster_state:ok") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("cluster not ready: %s", info)
		}
	}
	cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{srv.addr}, DialTimeout: time.Second})
	t.Cleanup(func() { _ = cc.Close() })
	storetest.Run(t, func(t *testing.T) zohoauth.Store {
		return redisstore.New(cc, "acct", redisstore.WithPrefix(uniquePrefix(t, cc)))
	})

	// Whatever braces the prefix or the account hold, the keys share the
	// text up to the first "}" after the first "{", so they share a slot.
	for _, account := range []string{"crm-prod", "a}b", "x{y}z"} {
		for _, p := range []string{redisstore.DefaultPrefix, "p{", "p{q}:"} {
			tokenSlot := admin.ClusterKeySlot(ctx, p+"{"+account+"}:token").Val()
			for _, k := range []string{"lock", "calls", "state"} {
				if slot := admin.ClusterKeySlot(ctx, p+"{"+account+"}:"+k).Val(); slot != tokenSlot {
					t.Errorf("prefix %q, account %q: token in slot %d, %s in slot %d", p, account, tokenSlot, k, slot)
				}
			}
		}
	}
}

func TestSaveKeepsNewerToken(t *testing.T) {
	ctx := context.Background()
	c := newClient(t, sharedAddr(t))
	s := redisstore.New(c, "acct", redisstore.WithPrefix(uniquePrefix(t, c)))
	newer, older := sample(3), sample(2)
	if err := s.Save(ctx, newer); err != nil {
		t.Fatal(err)
	}
	// A holder that outlived its lease comes back with an older token.
	if err := s.Save(ctx, older); err != nil {
		t.Fatalf("Save of an older token: %v; want nil (the newer one is kept)", err)
	}
	got, err := s.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got.AccessToken != newer.AccessToken {
		t.Fatal("an older token replaced a newer one")
	}
	// Same expiry replaces.
	same := *newer
	same.AccessToken = "1000.same-expiry.secret"
	if err := s.Save(ctx, &same); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Load(ctx); got == nil || got.AccessToken != same.AccessToken {
		t.Fatal("a token with the same expiry did not replace the stored one")
	}
	// After Delete anything goes.
	if err := s.Delete(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.Save(ctx, older); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Load(ctx); got == nil || got.AccessToken != older.AccessToken {
		t.Fatal("Save after Delete did not store the token")
	}
}

// The script that keeps the newer token reads the stored expiry as Go
// wrote it: check it against Go's own comparison, across zones, fractions
// of seconds and calendar edges, for every expiry the store accepts (up to
// MaxExpiryAhead from now).
func TestSaveComparesExpiriesLikeGo(t *testing.T) {
	ctx := context.Background()
	c := newClient(t, sharedAddr(t))
	s := redisstore.New(c, "acct", redisstore.WithPrefix(uniquePrefix(t, c)))
	zones := []*time.Location{
		time.UTC, time.FixedZone("", 5*3600+30*60), time.FixedZone("", -8*3600), time.FixedZone("", 14*3600),
	}
	now := time.Now()
	base := []time.Time{
		{}, // zero: unknown expiry
		time.Date(1969, 12, 31, 23, 59, 59, 999999999, time.UTC),
		time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2000, 2, 29, 12, 0, 0, 0, time.UTC),
		now.Truncate(time.Second),
		now.Truncate(time.Second).Add(1),
		now.Truncate(time.Second).Add(500 * time.Millisecond),
		now.Add(redisstore.MaxExpiryAhead - time.Minute), // the latest accepted, with a minute for slow machines
	}
	rnd := rand.New(rand.NewPCG(1, 2))
	for range 40 {
		base = append(base, now.Add(time.Duration(rnd.Int64N(int64(redisstore.MaxExpiryAhead-time.Minute)))))
	}
	for range 10 {
		base = append(base, now.Add(-time.Duration(rnd.Int64N(int64(100*24*time.Hour))))) // expired
	}
	var times []time.Time
	for _, b := range base {
		for _, z := range zones {
			times = append(times, b.In(z))
		}
	}
	checked := 0
	for i := 0; i < 300; i++ {
		a, b := times[rnd.IntN(len(times))], times[rnd.IntN(len(times))]
		if i < len(base) { // every edge against its neighbour, in two zones
			a, b = base[i].In(zones[i%len(zones)]), base[(i+1)%len(base)].In(zones[(i+1)%len(zones)])
		}
		if err := s.Delete(ctx); err != nil {
			t.Fatal(err)
		}
		if err := s.Save(ctx, expiring(1, a)); err != nil {
			t.Fatal(err)
		}
		if err := s.Save(ctx, expiring(2, b)); err != nil {
			t.Fatal(err)
		}
		got, err := s.Load(ctx)
		if err != nil {
			t.Fatal(err)
		}
		want := sample(2).AccessToken
		if a.After(b) {
			want = sample(1).AccessToken
		}
		if got.AccessToken != want {
			t.Errorf("stored %v, then saved %v: kept the wrong one", a, b)
		}
		checked++
	}
	t.Logf("%d pairs of expiries compared as Go does", checked)
}

func TestConcurrentSavesKeepNewest(t *testing.T) {
	ctx := context.Background()
	c := newClient(t, sharedAddr(t))
	s := redisstore.New(c, "acct", redisstore.WithPrefix(uniquePrefix(t, c)))
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 10 {
				if err := s.Save(ctx, sample(w*10+i)); err != nil {
					t.Errorf("Save: %v", err)
					return
				}
			}
		}()
	}
	wg.Wait()
	got, err := s.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := sample(79); got.AccessToken != want.AccessToken {
		t.Fatalf("after racing saves the store holds the token expiring %v; want the newest, %v", got.Expiry, want.Expiry)
	}
}

func TestDamagedValue(t *testing.T) {
	ctx := context.Background()
	c := newClient(t, sharedAddr(t))
	p := uniquePrefix(t, c)
	s := redisstore.New(c, "acct", redisstore.WithPrefix(p))
	key := p + "{acct}:token"
	for name, raw := range map[string]string{
		"not json":        "1000.secret-looking-garbage",
		"error body":      `{"error":"invalid_code"}`,
		"no access token": `{"refresh_token":"1000.refresh.secret","expiry":"2030-01-01T00:00:00Z"}`,
	} {
		t.Run(name, func(t *testing.T) {
			c.Set(ctx, key, raw, 0)
			tok, err := s.Load(ctx)
			if err == nil || errors.Is(err, zohoauth.ErrNoToken) {
				t.Fatalf("Load of a damaged value = %v, %v; want an error other than ErrNoToken", tok, err)
			}
			if strings.Contains(err.Error(), "secret") {
				t.Fatalf("error quotes the stored value: %v", err)
			}
			// A damaged value does not block a good token.
			if err := s.Save(ctx, sample(1)); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Load(ctx); err != nil {
				t.Fatalf("Load after overwriting a damaged value: %v", err)
			}
		})
	}
}

func TestNoSecretsInOutput(t *testing.T) {
	c := newClient(t, sharedAddr(t))
	s := redisstore.New(c, "acct", redisstore.WithPrefix(uniquePrefix(t, c)))
	if err := s.Save(context.Background(), sample(1)); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"%v", "%+v", "%#v", "%s"} {
		if out := fmt.Sprintf(f, s); strings.Contains(out, "secret") || !strings.Contains(out, "{acct}:token") {
			t.Errorf("Sprintf(%q, store) = %q", f, out)
		}
	}
	if err := s.Save(context.Background(), &zohoauth.Token{RefreshToken: "1000.refresh.secret"}); err == nil ||
		strings.Contains(err.Error(), "secret") {
		t.Errorf("Save without an access token: %v", err)
	}
}

func TestNewPanicsOnMisuse(t *testing.T) {
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
	defer c.Close()
	for name, f := range map[string]func(){
		"nil client":    func() { redisstore.New(nil, "acct") },
		"empty account": func() { redisstore.New(c, "") },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("New with %s did not panic", name)
				}
			}()
			f()
		}()
	}
}

func TestLockWaitsForRelease(t *testing.T) {
	ctx := context.Background()
	c := newClient(t, sharedAddr(t))
	p := uniquePrefix(t, c)
	a := redisstore.New(c, "acct", redisstore.WithPrefix(p))
	b := redisstore.New(newClient(t, sharedAddr(t)), "acct", redisstore.WithPrefix(p))
	unlock, err := a.Lock(ctx, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	released := make(chan time.Time, 1)
	go func() {
		time.Sleep(300 * time.Millisecond)
		released <- time.Now()
		unlock()
	}()
	start := time.Now()
	unlockB, err := b.Lock(ctx, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	got := time.Now()
	unlockB()
	rel := <-released
	if got.Before(rel) {
		t.Fatal("the second Lock returned before the first was released")
	}
	// Polling backs off to at most 250 ms between tries.
	if lag := got.Sub(rel); lag > 400*time.Millisecond {
		t.Errorf("the waiter took %v after the release to get the lock", lag)
	}
	t.Logf("waited %v; acquired %v after the release", got.Sub(start).Round(time.Millisecond), got.Sub(rel).Round(time.Millisecond))
}

func TestLockLeaseExpires(t *testing.T) {
	ctx := context.Background()
	c := newClient(t, sharedAddr(t))
	p := uniquePrefix(t, c)
	s := redisstore.New(c, "acct", redisstore.WithPrefix(p))
	// lease 100ms: the key lives 100ms + 1s + 10ms.
	staleUnlock, err := s.Lock(ctx, 100*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	// The first holder never unlocks in time, as if it died. Lock waits
	// past the deadline-less Obtain window for as long as ctx allows.
	unlock, err := s.Lock(ctx, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	waited := time.Since(start)
	if waited < 1*time.Second || waited > 2*time.Second {
		t.Errorf("took over an abandoned lock after %v; want about 1.11s", waited)
	}
	// The first holder wakes up: its unlock must not free the new holder's lock.
	staleUnlock()
	assertHeld(t, s, "after a stale unlock")
	unlock()
	if u, err := s.Lock(ctx, time.Second); err != nil {
		t.Fatalf("Lock after unlock: %v", err)
	} else {
		u()
	}
}

func TestLockWaitsWithoutDeadline(t *testing.T) {
	ctx := context.Background()
	c := newClient(t, sharedAddr(t))
	s := redisstore.New(c, "acct", redisstore.WithPrefix(uniquePrefix(t, c)))
	unlock, err := s.Lock(ctx, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	// Cancellation, not a deadline, ends the wait.
	cctx, cancel := context.WithCancelCause(ctx)
	why := errors.New("caller gave up")
	time.AfterFunc(300*time.Millisecond, func() { cancel(why) })
	_, err = s.Lock(cctx, 10*time.Second)
	if !errors.Is(err, why) {
		t.Fatalf("Lock = %v; want the context's cause", err)
	}
}

// An unreachable Redis must cost a request little: every call returns an
// error promptly instead of hanging.
func TestRedisDownFailsFast(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	c := redis.NewClient(recommendedOptions(srv.addr))
	t.Cleanup(func() { _ = c.Close() })
	s := redisstore.New(c, "acct")
	if err := s.Save(context.Background(), sample(1)); err != nil {
		t.Fatal(err)
	}
	srv.stop(t, false)

	// A port that accepts connections and never answers: a hung Redis.
	hung, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns sync.WaitGroup
	var held []net.Conn
	var mu sync.Mutex
	conns.Add(1)
	go func() {
		defer conns.Done()
		for {
			cn, err := hung.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			held = append(held, cn)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		_ = hung.Close()
		conns.Wait()
		mu.Lock()
		for _, cn := range held {
			_ = cn.Close()
		}
		mu.Unlock()
	})
	hc := redis.NewClient(recommendedOptions(hung.Addr().String()))
	t.Cleanup(func() { _ = hc.Close() })
	hs := redisstore.New(hc, "acct")
	// With go-redis's default 5s read timeout, longer than the lock's TTL.
	slow := redis.NewClient(&redis.Options{Addr: hung.Addr().String(), MaxRetries: -1})
	t.Cleanup(func() { _ = slow.Close() })
	slowStore := redisstore.New(slow, "acct")

	for _, tc := range []struct {
		name  string
		store *redisstore.Store
		limit time.Duration
	}{
		// Limits well above the figures (tens of ms; 500 ms) so that a
		// loaded machine passes, well below go-redis's defaults (1.7 s; 5 s).
		{"stopped", s, time.Second},
		// ReadTimeout 500ms; go-redis does not retry a timed-out read.
		{"hung", hs, 2 * time.Second},
		{"hung, default timeouts", slowStore, 8 * time.Second},
	} {
		calls := map[string]func(ctx context.Context) error{
			"Load": func(ctx context.Context) error { _, err := tc.store.Load(ctx); return err },
			"Save": func(ctx context.Context) error { return tc.store.Save(ctx, sample(2)) },
			// No deadline: Lock must end on the Redis error by itself.
			"Lock": func(ctx context.Context) error {
				u, err := tc.store.Lock(ctx, 100*time.Millisecond)
				if err == nil {
					u()
				}
				return err
			},
			"Delete": func(ctx context.Context) error { return tc.store.Delete(ctx) },
		}
		ops := []string{"Load", "Save", "Lock", "Delete"}
		if tc.store == slowStore {
			ops = []string{"Lock"}
		}
		for _, op := range ops {
			start := time.Now()
			err := calls[op](context.Background())
			took := time.Since(start)
			if err == nil || errors.Is(err, zohoauth.ErrNoToken) {
				t.Errorf("%s %s: err = %v; want a Redis error", tc.name, op, err)
			}
			if took > tc.limit {
				t.Errorf("%s %s took %v; want under %v", tc.name, op, took, tc.limit)
			}
			t.Logf("redis %s: %s failed after %v: %v", tc.name, op, took.Round(time.Millisecond), err)
		}
	}
}
