package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"path/filepath"
	"runtime/trace"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-zoho/zohoauth"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// slowTokens answers every token call with a new token after delay.
type slowTokens struct{ delay time.Duration }

func (s slowTokens) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil {
		req.Body.Close()
	}
	time.Sleep(s.delay)
	body := `{"access_token":"1000.fresh.test","api_domain":"https://www.zohoapis.com","token_type":"Bearer","expires_in":3600}`
	return &http.Response{StatusCode: http.StatusOK, Header: http.Header{"Content-Type": {"application/json"}},
		Body: io.NopCloser(strings.NewReader(body)), Request: req}, nil
}

// TestFindsTheRefresh traces 50 callers sharing one refresh of a Source with
// a FileStore and checks that analyze finds that refresh, its wait for the
// endpoint and the file system calls it made.
func TestFindsTheRefresh(t *testing.T) {
	const delay = 30 * time.Millisecond
	src := zohoauth.NewSource(&zohoauth.Config{
		ClientID: "1000.test", ClientSecret: "secret", AccountsURL: "https://accounts.zoho.com",
		HTTPClient: &http.Client{Transport: slowTokens{delay}},
	}, zohoauth.WithToken(&zohoauth.Token{
		AccessToken: "1000.old.test", RefreshToken: "1000.refresh.test", APIDomain: "https://www.zohoapis.com",
		Expiry: time.Now().Add(-time.Minute),
	}), zohoauth.WithStore(zohoauth.NewFileStore(filepath.Join(t.TempDir(), "token.json"))))
	defer src.Close()

	var buf bytes.Buffer
	if err := trace.Start(&buf); err != nil {
		t.Skip("tracing unavailable:", err)
	}
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			if _, err := src.Token(context.Background()); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	trace.Stop()

	flights, err := analyze(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if len(flights) != 1 {
		t.Fatalf("%d refreshes found, want 1", len(flights))
	}
	fl := flights[0]
	if fl.waiting < delay {
		t.Errorf("waited %v in all, less than the endpoint's %v", fl.waiting, delay)
	}
	fsync := false
	for c := range fl.calls {
		fsync = fsync || strings.Contains(c, "Fsync")
	}
	if fl.syscalls == 0 || !fsync {
		t.Errorf("%d system calls, %v; want the FileStore's, an fsync among them", fl.syscalls, fl.calls)
	}
}
