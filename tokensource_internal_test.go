package zohoauth

import (
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

// A caller that judged the served token stale, and reaches startBackground
// only after another refresh installed a fresh token, must not refresh
// again. The race is narrow in real runs (TestStaleRefreshOncePerToken...
// shows it under load); here it is set up step by step.
func TestStartBackgroundSkipsReplacedSnapshot(t *testing.T) {
	var calls atomic.Int64
	cfg := &Config{
		ClientID:     "client-1",
		ClientSecret: "internal-test-secret",
		AccountsURL:  "http://127.0.0.1:1",
		HTTPClient: &http.Client{Transport: roundTripper(func(r *http.Request) (*http.Response, error) {
			calls.Add(1)
			rec := httptest.NewRecorder()
			io.WriteString(rec, `{"access_token":"1000.internal.next","expires_in":3600}`)
			return rec.Result(), nil
		})},
	}
	now := time.Now()
	s := NewSource(cfg, WithToken(&Token{AccessToken: "1000.internal.stale", RefreshToken: "1000.internal.refresh", Expiry: now.Add(time.Minute)}))
	defer s.Close()
	seen := s.cur.Load()
	if now.Before(seen.staleAt) {
		t.Fatal("the starting token should be inside the refresh window")
	}

	s.mu.Lock()
	s.install((&Token{AccessToken: "1000.internal.fresh", RefreshToken: "1000.internal.refresh", Expiry: now.Add(time.Hour)}).sealed(), now, true)
	s.mu.Unlock()
	s.startBackground(seen, now)
	s.wg.Wait()
	if n := calls.Load(); n != 0 {
		t.Errorf("token calls = %d after the stale token was already replaced, want 0", n)
	}

	// The snapshot still being served is refreshed as usual.
	s.startBackground(s.cur.Load(), now.Add(time.Hour))
	s.wg.Wait()
	if n := calls.Load(); n != 1 {
		t.Errorf("token calls = %d for a stale token still served, want 1", n)
	}
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
