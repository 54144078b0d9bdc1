package zohoauth_test

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-zoho/zohoauth"
	"github.com/go-zoho/zohoauth/zohotest"
)

// zohotestSource is a Config on a zohotest server and an expired token of
// its EU data center that a refresh would renew.
func zohotestSource(t *testing.T) (*zohotest.Server, *zohoauth.Config, *zohoauth.Token) {
	t.Helper()
	srv := zohotest.New(zohotest.Options{})
	t.Cleanup(srv.Close)
	access, refresh := srv.IssueToken("eu")
	cfg := &zohoauth.Config{ClientID: "test-client-id", ClientSecret: "test-client-secret", AccountsURL: zohoauth.EU.AccountsURL,
		HTTPClient: &http.Client{Transport: srv.Transport()}}
	return srv, cfg, &zohoauth.Token{AccessToken: access, RefreshToken: refresh, APIDomain: zohoauth.EU.APIDomain,
		AccountsServer: zohoauth.EU.AccountsURL, Expiry: time.Now().Add(-time.Minute)}
}

// A token file the Source cannot read, damaged or written by a newer
// version, is never written over: the caller hears why, and no token is
// minted for nothing.
func TestSourceDoesNotRefreshOverADamagedFile(t *testing.T) {
	for name, content := range map[string]string{
		"garbage":      "not json at all\n",
		"truncated":    `{"access_token":"1000.a.b","refresh_token":"1000.r`,
		"newer format": `{"format":2,"access_token":"1000.a.b","refresh_token":"1000.r.s","expiry":"2030-01-01T00:00:00Z"}`,
		"no token":     `{"refresh_token":"1000.r.s","expiry":"2030-01-01T00:00:00Z"}`,
	} {
		t.Run(name, func(t *testing.T) {
			srv, cfg, tok := zohotestSource(t)
			path := filepath.Join(t.TempDir(), "token.json")
			if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
				t.Fatal(err)
			}
			var logs logCapture
			src := zohoauth.NewSource(cfg, zohoauth.WithToken(tok), zohoauth.WithStore(zohoauth.NewFileStore(path)),
				zohoauth.WithLogger(logs.logger()))
			defer src.Close()
			_, err := src.Token(bg())
			if !errors.Is(err, zohoauth.ErrStoreDamaged) || !strings.Contains(err.Error(), path) {
				t.Errorf("Token: err = %v; want ErrStoreDamaged naming the file", err)
			}
			if _, err := src.Refresh(bg()); !errors.Is(err, zohoauth.ErrStoreDamaged) {
				t.Errorf("Refresh: err = %v; want ErrStoreDamaged", err)
			}
			if got, _ := os.ReadFile(path); string(got) != content {
				t.Errorf("the file changed to %q", got)
			}
			if n := srv.Stats().TokenCalls["refresh_token"]; n != 0 {
				t.Errorf("%d token calls; want none while the store cannot be read", n)
			}
			assertNoSecrets(t, "log", logs.String())
		})
	}
}

// failingLoadStore cannot be read (its backend is down) and counts saves.
type failingLoadStore struct {
	zohoauth.MemoryStore
	saves atomic.Int32
}

func (s *failingLoadStore) Load(context.Context) (*zohoauth.Token, error) {
	return nil, errors.New("store: connection refused")
}

func (s *failingLoadStore) Save(ctx context.Context, tok *zohoauth.Token) error {
	s.saves.Add(1)
	return s.MemoryStore.Save(ctx, tok)
}

// A store that cannot be reached for reading does not stop a Source that
// has its own refresh token, but nothing is saved over it, and a forced
// refresh says so.
func TestSourceDoesNotSaveOverAStoreItCouldNotRead(t *testing.T) {
	srv, cfg, tok := zohotestSource(t)
	store := &failingLoadStore{}
	src := zohoauth.NewSource(cfg, zohoauth.WithToken(tok), zohoauth.WithStore(store))
	defer src.Close()
	got, err := src.Token(bg())
	if err != nil || got.AccessToken == tok.AccessToken {
		t.Fatalf("Token = %v, %v; want a fresh token", got, err)
	}
	fresh, err := src.Refresh(bg())
	if fresh == nil || err == nil || !strings.Contains(err.Error(), "not saved") {
		t.Errorf("Refresh = %v, %v; want the token and an error saying it was not saved", fresh, err)
	}
	if n := store.saves.Load(); n != 0 {
		t.Errorf("%d saves over a store that could not be read", n)
	}
	if n := srv.Stats().TokenCalls["refresh_token"]; n != 2 {
		t.Errorf("%d token calls, want 2", n)
	}
}
