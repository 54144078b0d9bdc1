package zohoauth_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-zoho/zohoauth"
	"github.com/go-zoho/zohoauth/zohotest"
)

func init() {
	helpers["refused-client"] = helperRefusedClient
}

// helperRefusedClient calls an API that refuses every token, through a
// Source that shares the FileStore at args[0] and mints at the accounts
// server args[1], until its standard input closes.
func helperRefusedClient(args []string) int {
	path, accounts := args[0], args[1]
	var stop atomic.Bool
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		stop.Store(true)
	}()
	cfg := &zohoauth.Config{ClientID: "test-client-id", ClientSecret: "test-client-secret", AccountsURL: accounts}
	src := zohoauth.NewSource(cfg, zohoauth.WithStore(zohoauth.NewFileStore(path)))
	defer src.Close()
	refused := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		return &http.Response{StatusCode: 401, Request: r, Header: http.Header{},
			Body: io.NopCloser(strings.NewReader(`{"code":"INVALID_TOKEN","details":{},"message":"invalid oauth token","status":"error"}`))}, nil
	})
	client := &http.Client{Transport: &zohoauth.Transport{Source: src, Base: refused}}
	for !stop.Load() {
		// The token's api_domain is the accounts server's loopback host.
		if resp, err := client.Get(accounts + "/crm/v8/Leads?fields=Last_Name"); err == nil {
			resp.Body.Close()
		}
		time.Sleep(50 * time.Millisecond)
	}
	return 0
}

// refusedFleet runs procs processes sharing one token file against an API
// that refuses every token, for d, and returns the times of their token
// calls.
func refusedFleet(t *testing.T, procs int, d time.Duration) []time.Time {
	z := zohotest.New(zohotest.Options{})
	defer z.Close()
	var mu sync.Mutex
	var calls []time.Time
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/oauth/v2/token" && r.ParseForm() == nil && r.Form.Get("grant_type") == "refresh_token" {
			mu.Lock()
			calls = append(calls, time.Now())
			mu.Unlock()
		}
		z.Handler("us").ServeHTTP(w, r)
	}))
	defer srv.Close()
	path := filepath.Join(t.TempDir(), "token.json")
	cfg := &zohoauth.Config{ClientID: "test-client-id", ClientSecret: "test-client-secret", AccountsURL: srv.URL}
	tok, err := cfg.Exchange(context.Background(), z.NewGrantCode("us"))
	if err != nil {
		t.Fatal(err)
	}
	if err := zohoauth.NewFileStore(path).Save(context.Background(), tok); err != nil {
		t.Fatal(err)
	}
	var cmds []*exec.Cmd
	var stops []io.Closer
	for range procs {
		cmd := helperCmd(t, "refused-client", path, srv.URL)
		stop, err := cmd.StdinPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds, stops = append(cmds, cmd), append(stops, stop)
	}
	time.Sleep(d)
	for _, s := range stops {
		s.Close()
	}
	for i, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Errorf("process %d: %v", i, err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	return append([]time.Time(nil), calls...)
}

// Eight processes sharing a token file, against an API that refuses every
// token, make no more token calls than one process does: the budget and
// the streak of refused tokens live in the ledger beside the file. (The
// run is 40 s of real time; over an hour the same rules give the figures
// TestRefusedFleetSharesOneBudget measures, at most 10 calls in any 10
// minutes.)
func TestFileStoreRefusedFleetSharesOneBudget(t *testing.T) {
	if testing.Short() {
		t.Skip("runs 40 s of real time")
	}
	const run = 40 * time.Second
	var one, eight []time.Time
	var wg sync.WaitGroup
	wg.Go(func() { one = refusedFleet(t, 1, run) })
	wg.Go(func() { eight = refusedFleet(t, 8, run) })
	wg.Wait()
	describe := func(calls []time.Time) string {
		var at []string
		for _, c := range calls {
			at = append(at, c.Sub(calls[0]).Round(100*time.Millisecond).String())
		}
		return strings.Join(at, " ")
	}
	t.Logf("%v against an API refusing every token: 1 process %d token calls (at %s), 8 processes %d (at %s)",
		run, len(one), describe(one), len(eight), describe(eight))
	checkWindow(t, eight, 10, 10*time.Minute)
	// The rules give both the same calls (after 0, 0, 10, 30 s); a call
	// falling just either side of the run's end may differ.
	if len(eight) > len(one)+1 {
		t.Errorf("8 processes made %d token calls, one process %d; want no more than one makes", len(eight), len(one))
	}
	if len(eight) == 0 || len(one) == 0 {
		t.Errorf("no token calls (%d, %d): the API's refusals went unnoticed", len(one), len(eight))
	}
}
