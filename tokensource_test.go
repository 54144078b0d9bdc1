package zohoauth_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/go-zoho/zohoauth"
	"github.com/go-zoho/zohoauth/zohotest"
)

func TestExpiredTokenThousandCallersOneRefresh(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newZoho(t, zohotest.Options{})
		srv.SetFault(zohotest.Fault{Latency: 200 * time.Millisecond})
		src := zohoauth.NewSource(fakeCredentials(srv.Transport()), zohoauth.WithToken(issuedToken(srv, -time.Minute)))
		defer src.Close()
		var wg sync.WaitGroup
		var failed atomic.Int64
		got := make(chan string, 1000)
		for i := 0; i < 1000; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				tok, err := src.Token(bg())
				if err != nil {
					failed.Add(1)
					return
				}
				got <- tok.AccessToken
			}()
		}
		wg.Wait()
		close(got)
		if n := len(tokenCalls(srv)); n != 1 {
			t.Errorf("token endpoint calls = %d, want 1", n)
		}
		if failed.Load() != 0 {
			t.Errorf("%d callers failed", failed.Load())
		}
		minted := newestToken(srv)
		for a := range got {
			if a != minted {
				t.Fatalf("a caller got a token other than the one refresh minted")
			}
		}
	})
}

func TestStaleWindowNoCallerWaits(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newZoho(t, zohotest.Options{})
		srv.SetFault(zohotest.Fault{Latency: 300 * time.Millisecond})
		tok := issuedToken(srv, 2*time.Minute) // inside the 5 min window
		src := zohoauth.NewSource(fakeCredentials(srv.Transport()), zohoauth.WithToken(tok))
		defer src.Close()
		// One request per millisecond while the refresh takes 300 ms.
		for i := 0; i < 500; i++ {
			start := time.Now()
			got, err := src.Token(bg())
			if err != nil {
				t.Fatalf("Token: %v", err)
			}
			if waited := time.Since(start); waited > 0 {
				t.Fatalf("request %d waited %v for the refresh", i, waited)
			}
			if i < 299 && got.AccessToken != tok.AccessToken {
				t.Fatalf("request %d got a new token before the refresh could finish", i)
			}
			time.Sleep(time.Millisecond)
		}
		if n := len(tokenCalls(srv)); n != 1 {
			t.Errorf("token endpoint calls = %d, want 1 background refresh", n)
		}
		got, _ := src.Token(bg())
		if got.AccessToken != newestToken(srv) {
			t.Errorf("the background refresh's token was not installed")
		}
	})
}

func TestHangingEndpointEachCallerLeavesWithItsContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newZoho(t, zohotest.Options{})
		srv.SetFault(zohotest.Fault{Latency: time.Hour}) // hangs past the refresh deadline
		src := zohoauth.NewSource(fakeCredentials(srv.Transport()), zohoauth.WithToken(issuedToken(srv, -time.Minute)),
			zohoauth.WithRefreshTimeout(20*time.Second))
		defer src.Close()
		var wg sync.WaitGroup
		for i := 1; i <= 5; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				budget := time.Duration(i) * time.Second
				ctx, cancel := context.WithTimeout(bg(), budget)
				defer cancel()
				start := time.Now()
				_, err := src.Token(ctx)
				if !errors.Is(err, context.DeadlineExceeded) {
					t.Errorf("caller %d: err = %v, want its own deadline", i, err)
				}
				if took := time.Since(start); took != budget {
					t.Errorf("caller %d returned after %v, want exactly its budget %v", i, took, budget)
				}
			}()
		}
		wg.Wait()
		// The shared refresh gives up at its own deadline, not an hour later.
		start := time.Now()
		_, err := src.Token(bg())
		if !errors.Is(err, zohoauth.ErrTransient) || !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("after the refresh deadline: err = %v, want ErrTransient from the deadline", err)
		}
		if took := time.Since(start); took != 15*time.Second {
			t.Errorf("the shared refresh ended %v after the last caller left, want 15s (its 20s deadline)", took)
		}
	})
}

func TestThrottleStopsAskingAndServesValidToken(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newZoho(t, zohotest.Options{})
		srv.Script(zohotest.Fault{Body: throttleText})
		tok := issuedToken(srv, 4*time.Minute) // stale now, valid for 4 min
		src := zohoauth.NewSource(fakeCredentials(srv.Transport()), zohoauth.WithToken(tok))
		defer src.Close()
		for i := 0; i < 3*60; i++ { // 3 minutes, one request a second
			got, err := src.Token(bg())
			if err != nil {
				t.Fatalf("t=%ds: Token: %v", i, err)
			}
			if got.AccessToken != tok.AccessToken {
				t.Fatalf("t=%ds: got another token while throttled", i)
			}
			time.Sleep(time.Second)
			synctest.Wait()
		}
		if n := len(tokenCalls(srv)); n != 1 {
			t.Fatalf("token calls while throttled = %d, want 1 (the throttled one)", n)
		}
		// Once the token has expired and the window has not ended, callers
		// get ErrThrottled at once.
		time.Sleep(2 * time.Minute)
		_, err := src.Token(bg())
		if !errors.Is(err, zohoauth.ErrThrottled) {
			t.Fatalf("expired during throttle: err = %v, want ErrThrottled", err)
		}
		if n := len(tokenCalls(srv)); n != 1 {
			t.Fatalf("token calls = %d, want still 1", n)
		}
		time.Sleep(6 * time.Minute) // the 10 minute window has passed
		got, err := src.Token(bg())
		if err != nil || got.AccessToken != newestToken(srv) || len(tokenCalls(srv)) != 2 {
			t.Fatalf("after the window: %v, %v; want the new token", got, err)
		}
	})
}

func TestNeverMoreThanTenTokensInTenMinutes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newZoho(t, zohotest.Options{ThrottleLimit: -1}) // the limit under test is the source's
		src := zohoauth.NewSource(fakeCredentials(srv.Transport()), zohoauth.WithToken(issuedToken(srv, -time.Minute)))
		defer src.Close()
		var calls []time.Time
		start := time.Now()
		for time.Since(start) < 30*time.Minute {
			if _, err := src.Refresh(bg()); err == nil {
				calls = append(calls, time.Now())
			} else if !errors.Is(err, zohoauth.ErrThrottled) {
				t.Fatalf("Refresh: %v", err)
			}
			time.Sleep(5 * time.Second)
		}
		if n := len(tokenCalls(srv)); n != len(calls) {
			t.Fatalf("endpoint saw %d calls, source reported %d successes", n, len(calls))
		}
		checkWindow(t, calls, 10, 10*time.Minute)
		if len(calls) < 20 {
			t.Errorf("only %d refreshes in 30 minutes; the limiter is stricter than Zoho", len(calls))
		}
	})
}

func TestFailedRefreshBacksOff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newZoho(t, zohotest.Options{})
		srv.SetFault(zohotest.Fault{Status: 503, Body: "down"})
		src := zohoauth.NewSource(fakeCredentials(srv.Transport()), zohoauth.WithToken(issuedToken(srv, -time.Minute)))
		defer src.Close()
		for i := 0; i < 100; i++ { // 100 requests in 10 seconds
			if _, err := src.Token(bg()); !errors.Is(err, zohoauth.ErrTransient) {
				t.Fatalf("err = %v, want ErrTransient", err)
			}
			time.Sleep(100 * time.Millisecond)
		}
		// Each refresh makes at most 3 attempts; backoff 1s, 2s, 4s, 8s
		// between refreshes means at most 4 refreshes in 10 s.
		if n := len(tokenCalls(srv)); n > 12 {
			t.Errorf("token endpoint calls = %d in 10 s; want backoff to keep it at 12 or fewer", n)
		}
	})
}

func TestRejectOnlyCurrentTokenRefreshesOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newZoho(t, zohotest.Options{})
		src := zohoauth.NewSource(fakeCredentials(srv.Transport()), zohoauth.WithToken(issuedToken(srv, time.Hour)))
		defer src.Close()
		first, _ := src.Token(bg())
		var wg sync.WaitGroup
		for i := 0; i < 1000; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				src.Reject(first)
				if tok, err := src.Token(bg()); err != nil || tok.AccessToken == first.AccessToken {
					t.Errorf("after Reject: %v, %v; want a new token", tok, err)
				}
			}()
		}
		wg.Wait()
		if n := len(tokenCalls(srv)); n != 1 {
			t.Errorf("token calls = %d, want 1", n)
		}
	})
}

func TestForcedRefreshKeepsRefreshTokenAndAPIDomain(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newZoho(t, zohotest.Options{OmitAPIDomainOnRefresh: true}) // an answer without refresh_token and api_domain
		tok := issuedToken(srv, time.Hour)
		tok.APIDomain = "https://www.zohoapis.eu"
		tok.Scope = zohotest.DefaultScope
		var hooked atomic.Int64
		src := zohoauth.NewSource(fakeCredentials(srv.Transport()), zohoauth.WithToken(tok),
			zohoauth.WithOnRefresh(func(ctx context.Context, tok *zohoauth.Token) error { hooked.Add(1); return nil }))
		defer src.Close()
		got, err := src.Refresh(bg())
		if err != nil {
			t.Fatal(err)
		}
		if got.AccessToken == tok.AccessToken || got.RefreshToken != tok.RefreshToken ||
			got.APIDomain != "https://www.zohoapis.eu" || got.Scope != tok.Scope {
			t.Errorf("forced refresh lost fields: %v", got)
		}
		if !got.Expiry.Equal(time.Now().Add(time.Hour)) {
			t.Errorf("expiry = %v, want one hour from now", got.Expiry)
		}
		if hooked.Load() != 1 {
			t.Errorf("OnRefresh called %d times, want 1", hooked.Load())
		}
	})
}

func TestCloseStopsBackgroundRefresh(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newZoho(t, zohotest.Options{})
		srv.SetFault(zohotest.Fault{Latency: time.Hour})
		src := zohoauth.NewSource(fakeCredentials(srv.Transport()), zohoauth.WithToken(issuedToken(srv, time.Minute)))
		if _, err := src.Token(bg()); err != nil { // starts a background refresh
			t.Fatal(err)
		}
		synctest.Wait()
		done := make(chan struct{})
		go func() { src.Close(); close(done) }()
		synctest.Wait()
		select {
		case <-done:
		default:
			t.Fatal("Close did not stop the hanging background refresh")
		}
		time.Sleep(2 * time.Minute)
		if _, err := src.Token(bg()); err == nil {
			t.Fatal("a closed source refreshed an expired token")
		}
	})
}

func TestStoreRestartMakesNoTokenCall(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newZoho(t, zohotest.Options{})
		store := &zohoauth.MemoryStore{}
		saved := issuedToken(srv, time.Hour)
		if err := store.Save(bg(), saved); err != nil {
			t.Fatal(err)
		}
		src := zohoauth.NewSource(fakeCredentials(srv.Transport()), zohoauth.WithStore(store))
		defer src.Close()
		tok, err := src.Token(bg())
		if err != nil || tok.AccessToken != saved.AccessToken {
			t.Fatalf("Token = %v, %v; want the stored token", tok, err)
		}
		if n := len(tokenCalls(srv)); n != 0 {
			t.Fatalf("token calls = %d, want 0", n)
		}
	})
}

func TestStoreSharedBetweenSourcesOneRefresh(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newZoho(t, zohotest.Options{})
		srv.SetFault(zohotest.Fault{Latency: 100 * time.Millisecond})
		store := &zohoauth.MemoryStore{}
		_ = store.Save(bg(), issuedToken(srv, -time.Minute))
		var srcs []*zohoauth.Source
		for i := 0; i < 8; i++ {
			srcs = append(srcs, zohoauth.NewSource(fakeCredentials(srv.Transport()), zohoauth.WithStore(store)))
		}
		for expiry := 0; expiry < 5; expiry++ {
			var wg sync.WaitGroup
			for _, s := range srcs {
				wg.Add(1)
				go func() {
					defer wg.Done()
					if _, err := s.Token(bg()); err != nil {
						t.Errorf("Token: %v", err)
					}
				}()
			}
			wg.Wait()
			if n := len(tokenCalls(srv)); n != expiry+1 {
				t.Fatalf("after expiry %d: token calls = %d, want %d", expiry, n, expiry+1)
			}
			time.Sleep(time.Hour)
		}
		for _, s := range srcs {
			s.Close()
		}
	})
}

func TestFailedRefreshLeavesStoreUntouched(t *testing.T) {
	for name, reply := range map[string]string{
		"zoho error": `{"error":"invalid_code"}`,
		"no token":   `{"status":"failure"}`,
		"garbage":    `<html>maintenance</html>`,
	} {
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				srv := newZoho(t, zohotest.Options{})
				srv.SetFault(zohotest.Fault{Body: reply})
				store := &zohoauth.MemoryStore{}
				old := issuedToken(srv, -time.Minute)
				_ = store.Save(bg(), old)
				src := zohoauth.NewSource(fakeCredentials(srv.Transport()), zohoauth.WithStore(store))
				defer src.Close()
				if _, err := src.Token(bg()); err == nil {
					t.Fatal("Token succeeded on a failed refresh")
				}
				got, err := store.Load(bg())
				if err != nil || got.AccessToken != old.AccessToken || got.RefreshToken != old.RefreshToken {
					t.Fatalf("stored token changed after a failed refresh: %v, %v", got, err)
				}
			})
		})
	}
}

type failingStore struct{ zohoauth.MemoryStore }

func (s *failingStore) Save(context.Context, *zohoauth.Token) error {
	return errors.New("zohoauth: disk full")
}

func TestSaveFailureStillServesAndReports(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newZoho(t, zohotest.Options{})
		store := &failingStore{}
		_ = store.MemoryStore.Save(bg(), issuedToken(srv, -time.Minute))
		var logs logCapture
		src := zohoauth.NewSource(fakeCredentials(srv.Transport()), zohoauth.WithStore(store), zohoauth.WithLogger(logs.logger()))
		defer src.Close()
		tok, err := src.Token(bg())
		if err != nil || tok.AccessToken != newestToken(srv) {
			t.Fatalf("Token = %v, %v; want the new token in memory", tok, err)
		}
		if !strings.Contains(logs.String(), "saving the new token failed") {
			t.Errorf("save failure not logged: %s", logs.String())
		}
		if _, err := src.Refresh(bg()); err == nil || !strings.Contains(err.Error(), "not saved") {
			t.Errorf("forced Refresh: err = %v, want a not-saved error", err)
		}
		assertNoSecrets(t, "log", logs.String(), fakeSecrets(srv)...)
	})
}

func TestNoTokenAnywhere(t *testing.T) {
	srv := newZoho(t, zohotest.Options{})
	src := zohoauth.NewSource(fakeCredentials(srv.Transport()), zohoauth.WithStore(&zohoauth.MemoryStore{}))
	defer src.Close()
	if _, err := src.Token(bg()); !errors.Is(err, zohoauth.ErrNoToken) {
		t.Fatalf("err = %v, want ErrNoToken", err)
	}
}

// brokenLockStore loads and saves, but its lock backend is down.
type brokenLockStore struct{ zohoauth.MemoryStore }

func (s *brokenLockStore) Lock(ctx context.Context, lease time.Duration) (func(), error) {
	return nil, errors.New("zohoauth: lock backend unreachable")
}

func TestLockUnavailableKeepsValidTokenThenRefreshesLocallyOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newZoho(t, zohotest.Options{AccessTokenLifetime: 3 * time.Minute})
		store := &brokenLockStore{}
		tok := issuedToken(srv, 2*time.Minute) // stale
		_ = store.MemoryStore.Save(bg(), tok)
		var logs logCapture
		src := zohoauth.NewSource(fakeCredentials(srv.Transport()), zohoauth.WithStore(store), zohoauth.WithLogger(logs.logger()))
		defer src.Close()
		// While the token is valid, requests succeed and nobody refreshes
		// without the lock.
		for i := 0; i < 100; i++ {
			got, err := src.Token(bg())
			if err != nil || got.AccessToken != tok.AccessToken {
				t.Fatalf("t=%v: %v, %v; want the stored token", i, got, err)
			}
			time.Sleep(time.Second)
			synctest.Wait()
		}
		if n := len(tokenCalls(srv)); n != 0 {
			t.Fatalf("token calls while the token was valid = %d, want 0", n)
		}
		// Expired: one local refresh, reported in the log.
		time.Sleep(30 * time.Second)
		got, err := src.Token(bg())
		if err != nil || got.AccessToken != newestToken(srv) || got.AccessToken == tok.AccessToken {
			t.Fatalf("after expiry: %v, %v; want a locally refreshed token", got, err)
		}
		if !strings.Contains(logs.String(), "lock unavailable") {
			t.Errorf("the lock error was not reported: %s", logs.String())
		}
		// The new token (3 min) expires before the window allows another
		// unlocked refresh (5 min): callers get an error, not a refresh storm.
		time.Sleep(3 * time.Minute)
		if _, err := src.Token(bg()); err == nil {
			t.Error("a second unlocked refresh happened within the window")
		}
		if n := len(tokenCalls(srv)); n != 1 {
			t.Errorf("token calls = %d, want 1", n)
		}
	})
}

func TestReauthFailureBacksOffLonger(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newZoho(t, zohotest.Options{})
		tok := issuedToken(srv, -time.Minute)
		srv.RevokeRefreshToken(tok.RefreshToken) // Zoho answers invalid_code
		src := zohoauth.NewSource(fakeCredentials(srv.Transport()), zohoauth.WithToken(tok))
		defer src.Close()
		for i := 0; i < 60; i++ { // a minute, one request a second
			if _, err := src.Token(bg()); !errors.Is(err, zohoauth.ErrReauthRequired) {
				t.Fatalf("err = %v, want ErrReauthRequired", err)
			}
			time.Sleep(time.Second)
		}
		// Attempts at 0 s and 30 s; the next is due at 90 s.
		if n := len(tokenCalls(srv)); n != 2 {
			t.Errorf("token calls in a minute = %d, want 2", n)
		}
	})
}

// Callers that saw the stale token must not start a second background
// refresh after the first one installed a fresh token: every extra call
// spends one of the 10 Zoho allows per 10 minutes.
func TestStaleRefreshOncePerTokenUnderConcurrentCallers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newZoho(t, zohotest.Options{AccessTokenLifetime: 2 * time.Minute})
		src := zohoauth.NewSource(fakeCredentials(srv.Transport()), zohoauth.WithToken(issuedToken(srv, 2*time.Minute)),
			zohoauth.WithRefreshWindow(30*time.Second))
		defer src.Close()
		const span = 3 * time.Hour
		var wg sync.WaitGroup
		for range 32 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for end := time.Now().Add(span); time.Now().Before(end); time.Sleep(time.Second) {
					if _, err := src.Token(bg()); err != nil {
						t.Errorf("Token: %v", err)
						return
					}
				}
			}()
		}
		wg.Wait()
		synctest.Wait()
		at := callTimes(srv)
		// A token minted at t is stale at t+90s, and callers come every
		// second: one refresh every 90 s.
		if want := int((span - 1) / (90 * time.Second)); len(at) != want {
			t.Errorf("token endpoint calls = %d over %v, want %d (one per token)", len(at), span, want)
		}
		for i := 1; i < len(at); i++ {
			if gap := at[i].Sub(at[i-1]); gap < 90*time.Second {
				t.Errorf("refreshes %d and %d only %v apart", i, i+1, gap)
			}
		}
	})
}

// A forced refresh (a cron job) may go through the backoff of failed
// refreshes. When it succeeds, that backoff is over: if the new token is
// then rejected once, the next Token call refreshes instead of serving the
// rejected token until the old backoff ends.
func TestForcedSuccessEndsFailureBackoff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newZoho(t, zohotest.Options{})
		srv.SetFault(zohotest.Fault{Status: 503, Body: "down"})
		src := zohoauth.NewSource(fakeCredentials(srv.Transport()), zohoauth.WithToken(issuedToken(srv, -time.Minute)))
		defer src.Close()
		for i := range 5 { // five failures, backoff 1 to 16 s; the sixth below: 32 s
			_, _ = src.Token(bg())
			time.Sleep(time.Duration(1<<i)*time.Second + time.Millisecond)
		}
		_, _ = src.Token(bg())
		srv.SetFault(zohotest.Fault{})
		b, err := src.Refresh(bg()) // the cron job goes through the backoff
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Second)
		src.Reject(b)
		got, err := src.Token(bg())
		if err != nil || got.AccessToken == b.AccessToken {
			t.Fatalf("after a successful refresh and one rejection: %v, %v; want a new token", got, err)
		}
	})
}

// A token built by hand with time.Now().Add carries a monotonic clock
// reading, which stops while the host is suspended. The source judges
// expiry by the wall clock, as it does for tokens Zoho sends.
func TestSourceServesWallClockExpiry(t *testing.T) {
	srv := newZoho(t, zohotest.Options{})
	tok := issuedToken(srv, time.Hour) // Expiry: time.Now().Add(time.Hour)
	if !strings.Contains(tok.Expiry.String(), "m=") {
		t.Fatal("the test token should carry a monotonic reading")
	}
	src := zohoauth.NewSource(fakeCredentials(srv.Transport()), zohoauth.WithToken(tok))
	defer src.Close()
	got, err := src.Token(bg())
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(got.Expiry.String(), "m=") {
		t.Errorf("served expiry %v keeps a monotonic reading", got.Expiry)
	}
	if !got.Expiry.Equal(tok.Expiry) {
		t.Errorf("served expiry %v, want %v", got.Expiry, tok.Expiry)
	}
	if !strings.Contains(tok.Expiry.String(), "m=") {
		t.Error("the caller's token was modified")
	}
}

// A token endpoint that claims tokens live one second does not make the
// Source refresh on every call: the claim is not believed.
func TestTinyExpiresInDoesNotCauseARefreshPerCall(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newZoho(t, zohotest.Options{AccessTokenLifetime: time.Second}) // answers "expires_in": 1
		src := zohoauth.NewSource(fakeCredentials(srv.Transport()), zohoauth.WithToken(issuedToken(srv, -time.Minute)))
		defer src.Close()
		for range 200 {
			if _, err := src.Token(bg()); err != nil {
				t.Fatal(err)
			}
			time.Sleep(150 * time.Millisecond)
		}
		if n := len(tokenCalls(srv)); n != 1 {
			t.Errorf("%d token calls in 30 s, want 1", n)
		}
	})
}
