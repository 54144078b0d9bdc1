package redisstore_test

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-zoho/zohoauth"
	"github.com/go-zoho/zohoauth/redisstore"
	"github.com/redis/go-redis/v9"
)

// Zoho's limit on token calls per refresh token.
const zohoLimit, zohoWindow = 10, 10 * time.Minute

// Processes share the budget: stores on separate connections, as separate
// processes have, taking calls at once are granted exactly the limit
// between them, and Redis keeps no more.
func TestBudgetSharedAcrossClients(t *testing.T) {
	ctx := context.Background()
	addr := sharedAddr(t)
	c := newClient(t, addr)
	p := uniquePrefix(t, c)
	var stores []*redisstore.Store
	for range 4 {
		stores = append(stores, redisstore.New(newClient(t, addr), "acct", redisstore.WithPrefix(p)))
	}
	now := time.Now()
	var granted atomic.Int32
	var wg sync.WaitGroup
	for i := range 4 * zohoLimit {
		wg.Go(func() {
			ok, calls, err := stores[i%len(stores)].TakeCall(ctx, now, now, zohoLimit, zohoWindow)
			if err != nil {
				t.Errorf("TakeCall: %v", err)
			}
			if len(calls) > zohoLimit {
				t.Errorf("TakeCall returned %d calls; the limit is %d", len(calls), zohoLimit)
			}
			if ok {
				granted.Add(1)
			}
		})
	}
	wg.Wait()
	if n := granted.Load(); n != zohoLimit {
		t.Errorf("%d calls granted across 4 clients; want %d", n, zohoLimit)
	}
	if n := c.ZCard(ctx, p+"{acct}:calls").Val(); n != zohoLimit {
		t.Errorf("the calls key holds %d calls; want %d", n, zohoLimit)
	}
}

// Redis keeps times to the microsecond; the rounding never lets a call
// leave the window early: the call is rounded up, now down.
func TestBudgetRoundsToCountCallsLonger(t *testing.T) {
	ctx := context.Background()
	_, s, _ := acctStore(t)
	first := time.Now().Truncate(time.Microsecond).Add(400) // 0.4µs past a microsecond
	for i := range zohoLimit {
		at := first.Add(time.Duration(i) * time.Second)
		ok, calls, err := s.TakeCall(ctx, at, at, zohoLimit, zohoWindow)
		if err != nil || !ok {
			t.Fatalf("call %d: ok=%v, %v", i+1, ok, err)
		}
		if got := calls[len(calls)-1]; got.Before(at) || got.Sub(at) >= time.Microsecond {
			t.Fatalf("call recorded at %v, sent at %v: want it rounded up to the microsecond", got, at)
		}
	}
	// 1ns before the first call is a window old, it still counts.
	now := first.Add(zohoWindow - 1)
	if ok, _, err := s.TakeCall(ctx, now, now, zohoLimit, zohoWindow); err != nil || ok {
		t.Fatalf("a window less 1ns after the first call: ok=%v, %v; want refused", ok, err)
	}
	now = first.Add(zohoWindow + time.Microsecond)
	if ok, _, err := s.TakeCall(ctx, now, now, zohoLimit, zohoWindow); err != nil || !ok {
		t.Fatalf("a window and 1µs after the first call: ok=%v, %v; want granted", ok, err)
	}
}

// A call recorded by a host whose clock is far ahead would otherwise hold
// a slot until that clock's time came; it is dropped once it lies more than
// a window ahead of another caller's now.
func TestBudgetDropsCallsFarAhead(t *testing.T) {
	ctx := context.Background()
	c, s, p := acctStore(t)
	ahead := time.Now().Add(365 * 24 * time.Hour)
	for range zohoLimit {
		if ok, _, err := s.TakeCall(ctx, ahead, ahead, zohoLimit, zohoWindow); err != nil || !ok {
			t.Fatalf("TakeCall a year ahead: ok=%v, %v", ok, err)
		}
	}
	now := time.Now()
	ok, calls, err := s.TakeCall(ctx, now, now, zohoLimit, zohoWindow)
	if err != nil || !ok || len(calls) != 1 || calls[0].Before(now) || calls[0].Sub(now) >= time.Microsecond {
		t.Fatalf("TakeCall now after calls a year ahead: ok=%v, calls %v, %v; want granted, alone", ok, calls, err)
	}
	// Within a window ahead (a retry's wait, a small clock difference) a
	// call counts.
	soon := now.Add(zohoWindow / 2)
	if _, calls, _ := s.TakeCall(ctx, now, soon, zohoLimit, zohoWindow); len(calls) != 2 {
		t.Fatalf("a call half a window ahead: %d calls; want 2", len(calls))
	}
	// The key lives until its newest call leaves the window, and a minute.
	ttl := c.PTTL(ctx, p+"{acct}:calls").Val()
	if want := zohoWindow/2 + zohoWindow + time.Minute; ttl > want+time.Second || ttl < want-5*time.Second {
		t.Errorf("calls key TTL = %v; want about %v", ttl, want)
	}
}

// Whatever the keys hold, the ledger reads a bounded amount from Redis: a
// huge sorted set is cut to the limit in Redis, a huge state is not sent.
// Keys of another type give an error that says what to do, and SaveState
// replaces the state whatever it held.
func TestLedgerBoundsWhatItReads(t *testing.T) {
	ctx := context.Background()
	addr := sharedAddr(t)
	c := newClient(t, addr)
	p := uniquePrefix(t, c)
	counted, read := countingClient(t, addr)
	s := redisstore.New(counted, "acct", redisstore.WithPrefix(p))
	if b, err := s.LoadState(ctx); err != nil || b != nil { // connects, loads the script
		t.Fatalf("LoadState on an empty store: %q, %v", b, err)
	}
	if _, _, err := s.TakeCall(ctx, time.Now(), time.Now(), 1, time.Second); err != nil {
		t.Fatal(err)
	}
	calls, state := p+"{acct}:calls", p+"{acct}:state"

	now := time.Now()
	members := make([]redis.Z, 100_000)
	for i := range members {
		members[i] = redis.Z{Score: float64(now.UnixMicro() - int64(i)), Member: strings.Repeat("x", 20) + strconv.Itoa(i)}
	}
	if err := c.ZAdd(ctx, calls, members...).Err(); err != nil {
		t.Fatal(err)
	}
	before := read.Load()
	ok, got, err := s.TakeCall(ctx, now, now, zohoLimit, zohoWindow)
	if n := read.Load() - before; n > 1024 || err != nil || ok || len(got) != zohoLimit {
		t.Errorf("TakeCall over 100,000 recorded calls: ok=%v, %d calls, %v, %d bytes read; want refused, %d calls, under 1 KiB",
			ok, len(got), err, n, zohoLimit)
	}
	if n := c.ZCard(ctx, calls).Val(); n != zohoLimit {
		t.Errorf("the calls key holds %d calls after TakeCall; want %d", n, zohoLimit)
	}

	c.Set(ctx, state, strings.Repeat("s", 8<<20), 0)
	before = read.Load()
	b, err := s.LoadState(ctx)
	if n := read.Load() - before; b != nil || err != nil || n > 1024 {
		t.Errorf("LoadState of an 8 MiB value: %d bytes, %v, %d bytes read; want none, no error, under 1 KiB", len(b), err, n)
	}
	c.Set(ctx, state, strings.Repeat("s", zohoauth.MaxLedgerState), 0)
	if b, err := s.LoadState(ctx); len(b) != zohoauth.MaxLedgerState || err != nil {
		t.Errorf("LoadState of a %d-byte value: %d bytes, %v; want all of it", zohoauth.MaxLedgerState, len(b), err)
	}

	c.Del(ctx, calls, state)
	c.Set(ctx, calls, "not a sorted set", 0)
	c.HSet(ctx, state, "f", "v")
	if _, _, err := s.TakeCall(ctx, now, now, zohoLimit, zohoWindow); err == nil ||
		!strings.Contains(err.Error(), "delete the key") || !strings.Contains(err.Error(), calls) {
		t.Errorf("TakeCall over a string key: %v; want an error naming the key and what to do", err)
	}
	if _, err := s.LoadState(ctx); err == nil {
		t.Error("LoadState over a hash succeeded")
	}
	if err := s.SaveState(ctx, []byte(`{"streak":1}`)); err != nil {
		t.Fatalf("SaveState over a hash: %v", err)
	}
	if b, err := s.LoadState(ctx); string(b) != `{"streak":1}` || err != nil {
		t.Errorf("LoadState after SaveState: %q, %v", b, err)
	}
}

func TestTakeCallRefusesBadArguments(t *testing.T) {
	_, s, _ := acctStore(t)
	now, y3k := time.Now(), time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name    string
		now, at time.Time
		limit   int
		window  time.Duration
	}{
		{"limit 0", now, now, 0, zohoWindow},
		{"limit too large", now, now, redisstore.MaxCallLimit + 1, zohoWindow},
		{"no window", now, now, zohoLimit, 0},
		{"zero time", time.Time{}, now, zohoLimit, zohoWindow},
		{"year 3000", y3k, y3k, zohoLimit, zohoWindow},
	} {
		_, _, err := s.TakeCall(context.Background(), tc.now, tc.at, tc.limit, tc.window)
		if err == nil || !strings.Contains(err.Error(), "out of range") {
			t.Errorf("%s: %v; want an error saying what is out of range", tc.name, err)
		}
	}
}
