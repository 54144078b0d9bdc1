package redisstore_test

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/go-zoho/zohoauth/redisstore"
)

// renewing counts the goroutines renewing a lock in this process: those
// the store's hold started, running or not yet scheduled (whose stack shows
// a wrapper, not renew, but names who created it).
func renewing() int {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	return strings.Count(string(buf), "\ncreated by github.com/go-zoho/zohoauth/redisstore.hold ")
}

// A live holder keeps the lock past LockTTL for as long as its lease: the
// key's TTL is renewed. unlock ends the renewal before it returns and frees
// the lock at once.
func TestLockRenewedWhileHeld(t *testing.T) {
	ctx := context.Background()
	c, s, p := acctStore(t)
	key := p + "{acct}:lock"
	before := renewing()
	unlock, err := s.Lock(ctx, 40*time.Second) // the Source's default lease
	if err != nil {
		t.Fatal(err)
	}
	holder := c.Get(ctx, key).Val()
	if n := renewing() - before; n != 1 {
		t.Fatalf("%d goroutines renew the lock; want 1", n)
	}
	held := redisstore.LockTTL*2 + time.Second
	for start := time.Now(); time.Since(start) < held; time.Sleep(100 * time.Millisecond) {
		ttl := c.PTTL(ctx, key).Val()
		if ttl <= 0 || ttl > redisstore.LockTTL || c.Get(ctx, key).Val() != holder {
			t.Fatalf("%v after Lock: lock key TTL %v, holder changed: %v; want a live lease of at most %v",
				time.Since(start).Round(time.Millisecond), ttl, c.Get(ctx, key).Val() != holder, redisstore.LockTTL)
		}
	}
	assertHeld(t, s, "while its holder lives")
	start := time.Now()
	unlock()
	if took := time.Since(start); took > time.Second {
		t.Errorf("unlock took %v", took)
	}
	if n := renewing() - before; n != 0 {
		t.Errorf("%d goroutines still renew the lock after unlock", n)
	}
	if c.Exists(ctx, key).Val() != 0 {
		t.Error("the lock key outlived unlock")
	}
	unlock() // harmless
	u, err := s.Lock(ctx, time.Second)
	if err != nil {
		t.Fatalf("Lock after unlock: %v", err)
	}
	u()
}

// A holder that never unlocks (a hung refresh) is renewed only for its
// lease: the renewal then ends by itself, and the lock frees within the TTL.
func TestLockRenewalEndsWithLease(t *testing.T) {
	ctx := context.Background()
	_, s, _ := acctStore(t)
	before := renewing()
	const lease = 6 * time.Second // longer than LockTTL: renewed
	start := time.Now()
	stale, err := s.Lock(ctx, lease)
	if err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, 3*lease)
	defer cancel()
	unlock, err := s.Lock(wctx, time.Second)
	if err != nil {
		t.Fatalf("waiting for an abandoned lock: %v", err)
	}
	defer unlock()
	took := time.Since(start)
	if took < lease || took > lease+redisstore.LockTTL+time.Second {
		t.Errorf("an abandoned lock with a %v lease freed after %v; want after the lease, within %v more", lease, took, redisstore.LockTTL)
	}
	if n := renewing() - before; n != 1 { // the new holder's
		t.Errorf("%d goroutines renew the lock; want the new holder's alone", n)
	}
	// The first holder wakes up: its unlock must not free the new holder's lock.
	stale()
	assertHeld(t, s, "after a stale unlock")
	t.Logf("a holder with a %v lease that never unlocked lost the lock %v after taking it", lease, took.Round(10*time.Millisecond))
}

// assertHeld fails t unless another Lock of s waits in vain for 300ms,
// ending with its context's error.
func assertHeld(t *testing.T, s *redisstore.Store, when string) {
	t.Helper()
	short, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if u, err := s.Lock(short, time.Second); err == nil {
		u()
		t.Fatalf("another Lock got the lock %s", when)
	} else if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Lock ended by its context: %v; want it to wrap context.DeadlineExceeded", err)
	}
}
