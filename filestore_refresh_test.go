package zohoauth_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/go-zoho/zohoauth"
	"github.com/go-zoho/zohoauth/zohotest"
)

// refreshTimes returns when each refresh call reached srv.
func refreshTimes(srv *zohotest.Server) []time.Time {
	var at []time.Time
	for _, c := range tokenCalls(srv) {
		if c.Form.Get("grant_type") == "refresh_token" {
			at = append(at, c.At)
		}
	}
	return at
}

func init() {
	helpers["api-client"] = helperAPIClient
}

// helperAPIClient calls the fake Zoho at args[1] through a Source that
// shares the FileStore at args[0], with refresh window args[2], until its
// standard input closes; then it prints how many requests succeeded and
// failed.
func helperAPIClient(args []string) int {
	path, base := args[0], args[1]
	window, _ := time.ParseDuration(args[2])
	var stop atomic.Bool
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		stop.Store(true)
	}()
	cfg := &zohoauth.Config{ClientID: "test-client-id", ClientSecret: "test-client-secret", AccountsURL: base}
	src := zohoauth.NewSource(cfg, zohoauth.WithStore(zohoauth.NewFileStore(path)), zohoauth.WithRefreshWindow(window))
	defer src.Close()
	client := zohoauth.NewClient(src)
	defer client.CloseIdleConnections()
	ok, failed := 0, 0
	for !stop.Load() {
		resp, err := client.Get(base + "/crm/v8/Leads?fields=Last_Name")
		if err != nil {
			failed++
			fmt.Fprintln(os.Stderr, err)
		} else {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusNoContent { // Zoho's answer for an empty list
				ok++
			} else {
				failed++
				fmt.Fprintln(os.Stderr, "HTTP", resp.StatusCode)
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	fmt.Printf("%d %d\n", ok, failed)
	return 0
}

// TestFileStoreCrossProcessRefresh: 8 processes share one FileStore and call
// the API through it while tokens come due again and again. Every expiry
// must cost exactly one refresh call in total, and every request must
// succeed.
//
// A Source stops sending a token 10 s before its expiry, so the tokens live
// 12 s with a 10 s refresh window: each is due for refresh 2 s after it was
// minted, as a 3 s token with a 1 s window would be.
func TestFileStoreCrossProcessRefresh(t *testing.T) {
	const (
		procs    = 8
		lifetime = 12 * time.Second
		window   = 10 * time.Second
		due      = lifetime - window
		expiries = 5
	)
	z := newZoho(t, zohotest.Options{AccessTokenLifetime: lifetime})
	z.Start() // the processes reach it on a loopback port
	accounts := z.DC("us").AccountsURL
	path := filepath.Join(t.TempDir(), "token.json")
	ctx := context.Background()

	// First run: exchange a grant code and save the token.
	cfg := &zohoauth.Config{ClientID: "test-client-id", ClientSecret: fakeClientSecret, AccountsURL: accounts}
	tok, err := cfg.Exchange(ctx, z.NewGrantCode("us"))
	if err != nil {
		t.Fatal(err)
	}
	if err := zohoauth.NewFileStore(path).Save(ctx, tok); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	var cmds []*exec.Cmd
	var stops []io.Closer
	var outs []*strings.Builder
	for i := 0; i < procs; i++ {
		cmd := helperCmd(t, "api-client", path, accounts, window.String())
		var out strings.Builder
		cmd.Stdout = &out
		stop, err := cmd.StdinPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds, stops, outs = append(cmds, cmd), append(stops, stop), append(outs, &out)
	}
	// Run until the fifth refresh, then half a token period more so the last
	// token is used too.
	deadline := start.Add(4 * expiries * due)
	for len(refreshTimes(z)) < expiries && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(due / 2)
	for _, s := range stops {
		s.Close()
	}
	ok, failed := 0, 0
	for i, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Fatalf("process %d: %v", i, err)
		}
		var o, f int
		if _, err := fmt.Sscanf(outs[i].String(), "%d %d", &o, &f); err != nil {
			t.Fatalf("process %d printed %q", i, outs[i].String())
		}
		if o == 0 {
			t.Errorf("process %d made no successful request", i)
		}
		ok, failed = ok+o, failed+f
	}
	ran := time.Since(start)
	times := refreshTimes(z)
	var gaps []string
	prev := start
	for _, at := range times {
		gaps = append(gaps, at.Sub(prev).Round(10*time.Millisecond).String())
		prev = at
	}
	stats := z.Stats()
	t.Logf("%d processes, tokens due %v after minting, ran %v: %d refresh calls (%s apart); %d requests succeeded, %d failed",
		procs, due, ran.Round(time.Millisecond), len(times), strings.Join(gaps, ", "), ok, failed)
	if failed != 0 || stats.Unauthorized != 0 {
		t.Errorf("%d requests failed; the API refused %d", failed, stats.Unauthorized)
	}
	if ok != stats.APICalls {
		t.Errorf("processes counted %d successes, the API %d calls", ok, stats.APICalls)
	}
	if len(times) < expiries {
		t.Fatalf("%d refresh calls in %v; want one for each of %d expiries", len(times), ran, expiries)
	}
	// A token is refreshed once it is due: a second call for the same
	// expiry would come soon after the first.
	prev = start
	for i, at := range times {
		if gap := at.Sub(prev); gap < due/2 {
			t.Errorf("refresh call %d came %v after the previous token: more than one call for one expiry", i+1, gap)
		}
		prev = at
	}
	if most := int(ran/due) + 1; len(times) > most {
		t.Errorf("%d refresh calls in %v; at most %d tokens can have come due", len(times), ran, most)
	}
}

// fileStoreFake is a fake Zoho served in memory and a config for it.
func fileStoreFake() (*zohotest.Server, *zohoauth.Config) {
	z := zohotest.New(zohotest.Options{})
	return z, &zohoauth.Config{
		ClientID: "test-client-id", ClientSecret: "test-client-secret", AccountsURL: zohoauth.EU.AccountsURL,
		HTTPClient: &http.Client{Transport: z.Transport()},
	}
}

// TestFileStoreRestartMakesNoTokenCall: a new Source over a FileStore that
// holds a fresh token serves it without calling the token endpoint.
func TestFileStoreRestartMakesNoTokenCall(t *testing.T) {
	z, cfg := fileStoreFake()
	defer z.Close()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "token.json")
	first, err := cfg.Exchange(ctx, z.NewGrantCode("eu"))
	if err != nil {
		t.Fatal(err)
	}
	if err := zohoauth.NewFileStore(path).Save(ctx, first); err != nil {
		t.Fatal(err)
	}
	for restart := 1; restart <= 3; restart++ {
		src := zohoauth.NewSource(cfg, zohoauth.WithStore(zohoauth.NewFileStore(path)))
		client := &http.Client{Transport: &zohoauth.Transport{Source: src, Base: z.Transport()}}
		resp, err := client.Get(first.APIDomain + "/crm/v8/Leads?fields=Last_Name")
		src.Close()
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNoContent { // Zoho's answer for an empty list
			t.Fatalf("restart %d: API answered %s", restart, resp.Status)
		}
	}
	if calls := z.Stats().TokenCalls; calls["refresh_token"] != 0 || calls["authorization_code"] != 1 {
		t.Fatalf("token endpoint calls %v; want the one exchange only", calls)
	}
}

// TestFileStoreFailedRefreshLeavesFileUnchanged: whatever way a refresh
// fails, the token file keeps every byte it had.
func TestFileStoreFailedRefreshLeavesFileUnchanged(t *testing.T) {
	for _, fail := range []string{"zoho error", "throttled", "HTTP 502", "network"} {
		for _, forced := range []bool{false, true} {
			name := fail + "/expired"
			if forced {
				name = fail + "/forced"
			}
			t.Run(name, func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) { failedRefresh(t, fail, forced) })
			})
		}
	}
}

func failedRefresh(t *testing.T, fail string, forced bool) {
	ctx := context.Background()
	z, cfg := fileStoreFake()
	defer z.Close()
	access, refresh := z.IssueToken("eu")
	switch fail {
	case "zoho error": // Zoho's answer, in HTTP 200, for a revoked refresh token
		z.RevokeRefreshToken(refresh)
	case "throttled":
		z.SetFault(zohotest.Fault{Body: `{"error":"Access Denied","error_description":"You have made too many requests continuously. Please try again after some time.","status":"failure"}`})
	case "HTTP 502":
		z.SetFault(zohotest.Fault{Status: http.StatusBadGateway})
	case "network":
		z.SetFault(zohotest.Fault{Drop: true})
	}
	old := &zohoauth.Token{
		AccessToken: access, RefreshToken: refresh, TokenType: "Bearer", APIDomain: "https://www.zohoapis.eu",
		Scope: zohotest.DefaultScope, Expiry: time.Now().Add(-time.Minute), AccountsServer: zohoauth.EU.AccountsURL,
	}
	if forced {
		old.Expiry = time.Now().Add(time.Hour)
	}
	path := filepath.Join(t.TempDir(), "token.json")
	store := zohoauth.NewFileStore(path)
	if err := store.Save(ctx, old); err != nil {
		t.Fatal(err)
	}
	before, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	src := zohoauth.NewSource(cfg, zohoauth.WithStore(store))
	defer src.Close()
	if forced {
		_, err = src.Refresh(ctx)
	} else {
		_, err = src.Token(ctx)
	}
	if err == nil {
		t.Fatal("the refresh succeeded")
	}
	if n := z.Stats().TokenCalls["refresh_token"]; n == 0 {
		t.Fatal("the token endpoint was never asked")
	}
	for _, s := range []string{access, refresh, cfg.ClientSecret} {
		if strings.Contains(err.Error(), s) {
			t.Errorf("error %q contains a secret", err)
		}
	}
	after, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(before, after) {
		t.Fatal("the token file changed after a failed refresh")
	}
	assertNoTempFiles(t, filepath.Dir(path))
}
