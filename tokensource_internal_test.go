package zohoauth

import (
	"net/http"
	"testing"
	"time"

	"github.com/go-zoho/zohoauth/zohotest"
)

// A caller that judged the served token stale, and reaches startBackground
// only after another refresh installed a fresh token, must not refresh
// again. The race is narrow in real runs (TestStaleRefreshOncePerToken...
// shows it under load); here it is set up step by step.
func TestStartBackgroundSkipsReplacedSnapshot(t *testing.T) {
	srv := zohotest.New(zohotest.Options{})
	defer srv.Close()
	access, refresh := srv.IssueToken("us")
	calls := func() int { return srv.Stats().TokenCalls["refresh_token"] }
	cfg := &Config{
		ClientID:     "test-client-id",
		ClientSecret: "test-client-secret",
		HTTPClient:   &http.Client{Transport: srv.Transport()},
	}
	now := time.Now()
	s := NewSource(cfg, WithToken(&Token{AccessToken: access, RefreshToken: refresh, Expiry: now.Add(time.Minute)}))
	defer s.Close()
	seen := s.cur.Load()
	if now.Before(seen.staleAt) {
		t.Fatal("the starting token should be inside the refresh window")
	}

	s.mu.Lock()
	s.install((&Token{AccessToken: "1000.internal.fresh", RefreshToken: refresh, Expiry: now.Add(time.Hour)}).sealed(), now, true)
	s.mu.Unlock()
	s.startBackground(seen, now)
	s.wg.Wait()
	if n := calls(); n != 0 {
		t.Errorf("token calls = %d after the stale token was already replaced, want 0", n)
	}

	// The snapshot still being served is refreshed as usual.
	s.startBackground(s.cur.Load(), now.Add(time.Hour))
	s.wg.Wait()
	if n := calls(); n != 1 {
		t.Errorf("token calls = %d for a stale token still served, want 1", n)
	}
}
