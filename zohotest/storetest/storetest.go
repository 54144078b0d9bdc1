// Package storetest checks that a zohoauth.Store keeps the contract written
// on the Store, Locker, Ledger and Deleter interfaces. Every store in this project
// runs it, and so can a store written by a user:
//
//	func TestMyStore(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) zohoauth.Store { return newMyStore(t) })
//	}
package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/go-zoho/zohoauth"
)

// Run checks the Store contract against stores made by newStore, which must
// return a new, empty store each time it is called. If the store also
// implements zohoauth.Locker, zohoauth.Ledger or zohoauth.Deleter, those
// contracts are checked too.
//
// The tokens Run saves are like Sample's, except that they expire within the
// hour after Run starts, as tokens Zoho mints do: a store may refuse an
// expiry far in the future.
func Run(t *testing.T, newStore func(t *testing.T) zohoauth.Store) {
	base := time.Now().Add(10 * time.Minute).Truncate(time.Second)
	sample := func(n int) *zohoauth.Token { return sampleAt(n, base) }
	isSample := func(got *zohoauth.Token) bool { return isSampleAt(got, base) }
	t.Run("EmptyLoadIsErrNoToken", func(t *testing.T) {
		s := newStore(t)
		tok, err := s.Load(context.Background())
		if !errors.Is(err, zohoauth.ErrNoToken) {
			t.Fatalf("Load on an empty store: got %v, %v; want an error matching ErrNoToken", tok, err)
		}
	})
	t.Run("SaveThenLoadKeepsEveryField", func(t *testing.T) {
		s := newStore(t)
		want := sample(1)
		if err := s.Save(context.Background(), want); err != nil {
			t.Fatalf("Save: %v", err)
		}
		got, err := s.Load(context.Background())
		if err != nil {
			t.Fatalf("Load: %v", err)
		}
		if msg := diff(got, want); msg != "" {
			t.Fatal(msg)
		}
	})
	t.Run("SaveReplaces", func(t *testing.T) {
		s := newStore(t)
		ctx := context.Background()
		mustSave(t, s, sample(1))
		mustSave(t, s, sample(2))
		got, err := s.Load(ctx)
		if err != nil {
			t.Fatalf("Load: %v", err)
		}
		if msg := diff(got, sample(2)); msg != "" {
			t.Fatal(msg)
		}
	})
	t.Run("RefusesNonTokensAndKeepsThePrevious", func(t *testing.T) {
		s := newStore(t)
		mustSave(t, s, sample(1))
		for name, bad := range map[string]*zohoauth.Token{
			"nil":             nil,
			"no access token": {RefreshToken: "1000.r.only", Expiry: time.Now().Add(time.Hour)},
		} {
			if err := s.Save(context.Background(), bad); err == nil {
				t.Errorf("Save(%s) succeeded; want an error", name)
			}
		}
		got, err := s.Load(context.Background())
		if err != nil {
			t.Fatalf("Load after refused saves: %v", err)
		}
		if msg := diff(got, sample(1)); msg != "" {
			t.Fatal("previous token lost: " + msg)
		}
	})
	t.Run("StoresCopies", func(t *testing.T) {
		s := newStore(t)
		in := sample(1)
		mustSave(t, s, in)
		in.AccessToken = "changed-by-caller"
		got, err := s.Load(context.Background())
		if err != nil {
			t.Fatalf("Load: %v", err)
		}
		got.RefreshToken = "changed-after-load"
		again, err := s.Load(context.Background())
		if err != nil {
			t.Fatalf("Load: %v", err)
		}
		if msg := diff(again, sample(1)); msg != "" {
			t.Fatal("store shares memory with its callers: " + msg)
		}
	})
	t.Run("CancelledContext", func(t *testing.T) {
		s := newStore(t)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if err := s.Save(ctx, sample(1)); err == nil {
			t.Error("Save with a cancelled context succeeded")
		}
		if _, err := s.Load(ctx); err == nil || errors.Is(err, zohoauth.ErrNoToken) {
			t.Errorf("Load with a cancelled context: got %v; want the context's error", err)
		}
	})
	t.Run("ConcurrentSaveAndLoad", func(t *testing.T) {
		s := newStore(t)
		ctx := context.Background()
		mustSave(t, s, sample(0))
		var wg sync.WaitGroup
		for w := 1; w <= 4; w++ {
			wg.Add(2)
			go func() {
				defer wg.Done()
				for i := 0; i < 20; i++ {
					if err := s.Save(ctx, sample(w)); err != nil {
						t.Errorf("Save: %v", err)
						return
					}
				}
			}()
			go func() {
				defer wg.Done()
				for i := 0; i < 20; i++ {
					got, err := s.Load(ctx)
					if err != nil {
						t.Errorf("Load: %v", err)
						return
					}
					if !isSample(got) {
						t.Errorf("Load returned a token that was never saved whole: %+v", got)
						return
					}
				}
			}()
		}
		wg.Wait()
	})
	if _, ok := newStore(t).(zohoauth.Locker); ok {
		t.Run("Locker", func(t *testing.T) { runLocker(t, newStore) })
	}
	if _, ok := newStore(t).(zohoauth.Ledger); ok {
		t.Run("Ledger", func(t *testing.T) { runLedger(t, newStore) })
	}
	if _, ok := newStore(t).(zohoauth.Deleter); ok {
		t.Run("Deleter", func(t *testing.T) {
			s := newStore(t)
			mustSave(t, s, sample(1))
			if err := s.(zohoauth.Deleter).Delete(context.Background()); err != nil {
				t.Fatalf("Delete: %v", err)
			}
			if _, err := s.Load(context.Background()); !errors.Is(err, zohoauth.ErrNoToken) {
				t.Fatalf("Load after Delete: %v; want ErrNoToken", err)
			}
		})
	}
}

// runLedger checks the Ledger contract: the call budget counts calls in
// its window, refuses the one over the limit and says when the oldest
// leaves, holds under concurrent callers on separate handles of one store
// where the store allows it, and the state round-trips, bounded in size.
func runLedger(t *testing.T, newStore func(t *testing.T) zohoauth.Store) {
	ctx := context.Background()
	const limit, window = 10, 10 * time.Minute
	t.Run("BudgetCountsTheWindow", func(t *testing.T) {
		l := newStore(t).(zohoauth.Ledger)
		start := time.Now().Truncate(time.Millisecond)
		for i := range limit {
			at := start.Add(time.Duration(i) * time.Second)
			ok, calls, err := l.TakeCall(ctx, at, at, limit, window)
			if err != nil || !ok || len(calls) != i+1 {
				t.Fatalf("call %d: ok=%v, %d calls, %v; want ok with %d calls", i+1, ok, len(calls), err, i+1)
			}
			for j := 1; j < len(calls); j++ {
				if calls[j].Before(calls[j-1]) {
					t.Fatalf("calls not oldest first: %v", calls)
				}
			}
		}
		now := start.Add(time.Minute)
		ok, calls, err := l.TakeCall(ctx, now, now, limit, window)
		if err != nil || ok || len(calls) != limit || !calls[0].Equal(start) {
			t.Fatalf("the 11th call in the window: ok=%v, calls %v, %v; want refused, with the 10 calls from %v", ok, calls, err, start)
		}
		// Once the oldest is older than the window, one more fits.
		now = start.Add(window)
		ok, calls, err = l.TakeCall(ctx, now, now, limit, window)
		if err != nil || !ok || len(calls) != limit || !calls[limit-1].Equal(now) {
			t.Fatalf("after the oldest left the window: ok=%v, %d calls, %v; want ok with %d", ok, len(calls), err, limit)
		}
		// A retry's call is recorded at when it will be sent.
		later := now.Add(30 * time.Second)
		_, calls, _ = l.TakeCall(ctx, now.Add(2*window), later.Add(2*window), limit, window)
		if n := len(calls); n != 1 || !calls[0].Equal(later.Add(2*window)) {
			t.Fatalf("a call to be sent later: calls %v; want just it", calls)
		}
	})
	t.Run("BudgetHoldsUnderConcurrentCallers", func(t *testing.T) {
		l := newStore(t).(zohoauth.Ledger)
		now := time.Now()
		var wg sync.WaitGroup
		var mu sync.Mutex
		granted := 0
		for range 4 * limit {
			wg.Go(func() {
				ok, _, err := l.TakeCall(ctx, now, now, limit, window)
				if err != nil {
					t.Errorf("TakeCall: %v", err)
				}
				if ok {
					mu.Lock()
					granted++
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if granted != limit {
			t.Fatalf("%d of %d concurrent calls granted, want %d", granted, 4*limit, limit)
		}
	})
	t.Run("StateRoundTrips", func(t *testing.T) {
		l := newStore(t).(zohoauth.Ledger)
		if b, err := l.LoadState(ctx); err != nil || b != nil {
			t.Fatalf("LoadState on an empty store: %q, %v; want nil, nil", b, err)
		}
		want := []byte(`{"not_before":"2030-01-01T00:00:00Z","streak":2}`)
		if err := l.SaveState(ctx, want); err != nil {
			t.Fatalf("SaveState: %v", err)
		}
		want[2] = 'X' // the store keeps its own copy
		got, err := l.LoadState(ctx)
		if err != nil || string(got) != `{"not_before":"2030-01-01T00:00:00Z","streak":2}` {
			t.Fatalf("LoadState: %q, %v", got, err)
		}
		if err := l.SaveState(ctx, make([]byte, zohoauth.MaxLedgerState+1)); err == nil {
			t.Errorf("SaveState of %d bytes succeeded; want an error", zohoauth.MaxLedgerState+1)
		}
		if got, err := l.LoadState(ctx); err != nil || string(got) != `{"not_before":"2030-01-01T00:00:00Z","streak":2}` {
			t.Errorf("after a refused SaveState: %q, %v; want the previous state", got, err)
		}
	})
	t.Run("CancelledContext", func(t *testing.T) {
		l := newStore(t).(zohoauth.Ledger)
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if ok, _, err := l.TakeCall(cctx, time.Now(), time.Now(), limit, window); err == nil || ok {
			t.Errorf("TakeCall with a cancelled context: ok=%v, %v; want an error", ok, err)
		}
	})
}

func runLocker(t *testing.T, newStore func(t *testing.T) zohoauth.Store) {
	l := newStore(t).(zohoauth.Locker)
	ctx := context.Background()
	unlock, err := l.Lock(ctx, 10*time.Second)
	if err != nil {
		t.Fatalf("Lock: %v", err)
	}
	short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	if u2, err := l.Lock(short, 10*time.Second); err == nil {
		u2()
		t.Fatal("a second Lock succeeded while the first was held")
	}
	unlock()
	unlock() // a second call must be harmless
	u3, err := l.Lock(ctx, 10*time.Second)
	if err != nil {
		t.Fatalf("Lock after unlock: %v", err)
	}
	// Exclusion under contention: a counter only the holder touches.
	u3()
	var mu sync.Mutex
	inside, maxInside := 0, 0
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 5; j++ {
				u, err := l.Lock(ctx, 10*time.Second)
				if err != nil {
					t.Errorf("Lock: %v", err)
					return
				}
				mu.Lock()
				inside++
				maxInside = max(maxInside, inside)
				mu.Unlock()
				time.Sleep(time.Millisecond)
				mu.Lock()
				inside--
				mu.Unlock()
				u()
			}
		}()
	}
	wg.Wait()
	if maxInside != 1 {
		t.Fatalf("%d holders at once; want 1", maxInside)
	}
}

// Sample returns a complete token whose every field is derived from n, for
// tests that need distinct, recognisable tokens. It expires in 2030, n
// minutes after the first token's expiry.
func Sample(n int) *zohoauth.Token {
	return sampleAt(n, time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC))
}

// sampleAt is Sample with the first token's expiry at base.
func sampleAt(n int, base time.Time) *zohoauth.Token {
	return &zohoauth.Token{
		AccessToken:    fmt.Sprintf("1000.access%d.secret", n),
		RefreshToken:   fmt.Sprintf("1000.refresh%d.secret", n),
		TokenType:      "Bearer",
		APIDomain:      "https://www.zohoapis.eu",
		Scope:          "ZohoCRM.modules.ALL ZohoCRM.settings.READ",
		Expiry:         base.Add(time.Duration(n) * time.Minute),
		AccountsServer: "https://accounts.zoho.eu",
	}
}

func isSampleAt(got *zohoauth.Token, base time.Time) bool {
	for n := 0; n <= 4; n++ {
		if diff(got, sampleAt(n, base)) == "" {
			return true
		}
	}
	return false
}

func mustSave(t *testing.T, s zohoauth.Store, tok *zohoauth.Token) {
	t.Helper()
	if err := s.Save(context.Background(), tok); err != nil {
		t.Fatalf("Save: %v", err)
	}
}

// diff compares two tokens field by field; secrets are compared but never
// printed.
func diff(got, want *zohoauth.Token) string {
	if got == nil {
		return "got no token"
	}
	switch {
	case got.AccessToken != want.AccessToken:
		return "AccessToken differs"
	case got.RefreshToken != want.RefreshToken:
		return "RefreshToken differs"
	case got.TokenType != want.TokenType:
		return fmt.Sprintf("TokenType = %q, want %q", got.TokenType, want.TokenType)
	case got.APIDomain != want.APIDomain:
		return fmt.Sprintf("APIDomain = %q, want %q", got.APIDomain, want.APIDomain)
	case got.Scope != want.Scope:
		return fmt.Sprintf("Scope = %q, want %q", got.Scope, want.Scope)
	case !got.Expiry.Equal(want.Expiry):
		return fmt.Sprintf("Expiry = %v, want %v", got.Expiry, want.Expiry)
	case got.AccountsServer != want.AccountsServer:
		return fmt.Sprintf("AccountsServer = %q, want %q", got.AccountsServer, want.AccountsServer)
	}
	return ""
}
