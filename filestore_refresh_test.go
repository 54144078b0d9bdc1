package zohoauth_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/go-zoho/zohoauth"
)

// Values the loopback fake accepts; none may show up in any output. The
// examples spell them out.
const (
	loopClientSecret = "example-client-secret"
	loopGrantCode    = "1000.example-grant-code"
	loopRefresh      = "1000.example-refresh-token"
)

// loopZoho is a token endpoint and an API for tests and examples whose
// clients may be other processes. Access tokens live lifetime; the API
// accepts a token only until it expires.
type loopZoho struct {
	lifetime time.Duration
	base     string // where it is served: api_domain and accounts server

	mu        sync.Mutex
	minted    int
	refreshes []time.Time          // when each refresh call arrived
	expiry    map[string]time.Time // access token -> expiry
	fail      string               // "", "zoho-error" or "5xx": how refreshes fail
	apiOK     int
	apiBad    []string // why requests were refused
}

func newLoopZoho(lifetime time.Duration, base string) *loopZoho {
	return &loopZoho{lifetime: lifetime, base: base, expiry: map[string]time.Time{}}
}

// serveLoopZoho serves a new fake on 127.0.0.1 until srv is closed.
func serveLoopZoho(lifetime time.Duration) (*loopZoho, *httptest.Server) {
	z := newLoopZoho(lifetime, "")
	srv := httptest.NewUnstartedServer(z)
	z.base = "http://" + srv.Listener.Addr().String() // before any request can read it
	srv.Start()
	return z, srv
}

func startLoopZoho(t testing.TB, lifetime time.Duration) *loopZoho {
	z, srv := serveLoopZoho(lifetime)
	t.Cleanup(srv.Close)
	return z
}

func (z *loopZoho) config() *zohoauth.Config {
	return &zohoauth.Config{ClientID: "1000.EXAMPLECLIENT", ClientSecret: loopClientSecret, AccountsURL: z.base}
}

func (z *loopZoho) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/oauth/v2/token" {
		z.api(w, r)
		return
	}
	if err := r.ParseForm(); err != nil || r.PostForm.Get("client_secret") != loopClientSecret {
		io.WriteString(w, `{"error":"invalid_client_secret"}`)
		return
	}
	z.mu.Lock()
	defer z.mu.Unlock()
	form := r.PostForm
	switch {
	case form.Get("grant_type") == "authorization_code" && form.Get("code") == loopGrantCode:
	case form.Get("grant_type") == "refresh_token" && form.Get("refresh_token") == loopRefresh:
		z.refreshes = append(z.refreshes, time.Now())
		switch z.fail {
		case "zoho-error":
			io.WriteString(w, `{"error":"invalid_code"}`)
			return
		case "5xx":
			w.WriteHeader(http.StatusBadGateway)
			return
		}
	default:
		io.WriteString(w, `{"error":"invalid_code"}`)
		return
	}
	z.minted++
	access := fmt.Sprintf("1000.loop-access-%d.secret", z.minted)
	z.expiry[access] = time.Now().Add(z.lifetime)
	fmt.Fprintf(w, `{"access_token":%q,"refresh_token":%q,"api_domain":%q,"token_type":"Bearer","expires_in":%g}`,
		access, loopRefresh, z.base, z.lifetime.Seconds())
}

func (z *loopZoho) api(w http.ResponseWriter, r *http.Request) {
	access, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Zoho-oauthtoken ")
	z.mu.Lock()
	exp, known := z.expiry[access]
	switch {
	case !ok || !known:
		z.apiBad = append(z.apiBad, "unknown token")
	case !time.Now().Before(exp):
		z.apiBad = append(z.apiBad, fmt.Sprintf("token expired %v ago", time.Since(exp).Round(time.Millisecond)))
	default:
		z.apiOK++
		z.mu.Unlock()
		io.WriteString(w, `{"org":[{"id":"1"}]}`)
		return
	}
	z.mu.Unlock()
	w.WriteHeader(http.StatusUnauthorized)
	io.WriteString(w, `{"code":"INVALID_TOKEN","details":{},"message":"invalid oauth token","status":"error"}`)
}

func (z *loopZoho) refreshTimes() []time.Time {
	z.mu.Lock()
	defer z.mu.Unlock()
	return append([]time.Time(nil), z.refreshes...)
}

func (z *loopZoho) setFail(mode string) {
	z.mu.Lock()
	z.fail = mode
	z.mu.Unlock()
}

func init() {
	helpers["api-client"] = helperAPIClient
}

// helperAPIClient calls the loopback API at args[1] through a Source that
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
	u, _ := url.Parse(base)
	cfg := newLoopZoho(0, base).config()
	src := zohoauth.NewSource(cfg, zohoauth.WithStore(zohoauth.NewFileStore(path)), zohoauth.WithRefreshWindow(window))
	defer src.Close()
	client := &http.Client{Transport: &zohoauth.Transport{Source: src, AllowedHosts: []string{u.Host}}}
	defer client.CloseIdleConnections()
	ok, failed := 0, 0
	for !stop.Load() {
		resp, err := client.Get(base + "/crm/v8/org")
		if err != nil {
			failed++
			fmt.Fprintln(os.Stderr, err)
		} else {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
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
// 11.5 s with a 10 s refresh window: each is due for refresh 1.5 s after it
// was minted.
func TestFileStoreCrossProcessRefresh(t *testing.T) {
	const (
		procs    = 8
		lifetime = 11500 * time.Millisecond
		window   = 10 * time.Second
		due      = lifetime - window
		expiries = 5
	)
	z := startLoopZoho(t, lifetime)
	path := filepath.Join(t.TempDir(), "token.json")
	ctx := context.Background()

	// First run: exchange the grant code and save the token.
	tok, err := z.config().Exchange(ctx, loopGrantCode)
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
		cmd := helperCmd(t, "api-client", path, z.base, window.String())
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
	for len(z.refreshTimes()) < expiries && time.Now().Before(deadline) {
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
	times := z.refreshTimes()
	var gaps []string
	prev := start
	for _, at := range times {
		gaps = append(gaps, at.Sub(prev).Round(10*time.Millisecond).String())
		prev = at
	}
	z.mu.Lock()
	apiOK, apiBad := z.apiOK, z.apiBad
	z.mu.Unlock()
	t.Logf("%d processes, tokens due %v after minting, ran %v: %d refresh calls (%s apart); %d requests succeeded, %d failed",
		procs, due, ran.Round(time.Millisecond), len(times), strings.Join(gaps, ", "), ok, failed)
	if failed != 0 || len(apiBad) != 0 {
		t.Errorf("%d requests failed; the API refused: %v", failed, apiBad)
	}
	if ok != apiOK {
		t.Errorf("processes counted %d successes, the API %d", ok, apiOK)
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
	if max := int(ran/due) + 1; len(times) > max {
		t.Errorf("%d refresh calls in %v; at most %d tokens can have come due", len(times), ran, max)
	}
}

// TestFileStoreRestartMakesNoTokenCall: a new Source over a FileStore that
// holds a fresh token serves it without calling the token endpoint.
func TestFileStoreRestartMakesNoTokenCall(t *testing.T) {
	z := startLoopZoho(t, time.Hour)
	ctx := context.Background()
	store := zohoauth.NewFileStore(filepath.Join(t.TempDir(), "token.json"))
	first, err := z.config().Exchange(ctx, loopGrantCode)
	if err != nil {
		t.Fatal(err)
	}
	if err := store.Save(ctx, first); err != nil {
		t.Fatal(err)
	}
	for restart := 1; restart <= 3; restart++ {
		src := zohoauth.NewSource(z.config(), zohoauth.WithStore(zohoauth.NewFileStore(store.Path())))
		client := zohoauth.NewClient(src)
		resp, err := client.Get(z.base + "/crm/v8/org")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		client.CloseIdleConnections()
		src.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("restart %d: API answered %s", restart, resp.Status)
		}
	}
	if n := len(z.refreshTimes()); n != 0 {
		t.Fatalf("%d token endpoint calls after restarts; want 0", n)
	}
}

// TestFileStoreFailedRefreshLeavesFileUnchanged: whatever way a refresh
// fails, the token file keeps every byte it had.
func TestFileStoreFailedRefreshLeavesFileUnchanged(t *testing.T) {
	for _, fail := range []string{"zoho-error", "5xx", "network"} {
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
	z := newLoopZoho(time.Hour, "http://127.0.0.1:9")
	z.fail = fail
	var attempts atomic.Int64
	var rt http.RoundTripper = roundTripFunc(func(r *http.Request) (*http.Response, error) {
		attempts.Add(1)
		if fail == "network" {
			if r.Body != nil {
				r.Body.Close()
			}
			return nil, errors.New("dial tcp 127.0.0.1:9: connect: connection refused")
		}
		return handlerTransport(z).RoundTrip(r)
	})
	cfg := z.config()
	cfg.HTTPClient = &http.Client{Transport: rt}

	path := filepath.Join(t.TempDir(), "token.json")
	store := zohoauth.NewFileStore(path)
	old := &zohoauth.Token{
		AccessToken: "1000.example-access-old", RefreshToken: loopRefresh, TokenType: "Bearer",
		APIDomain: z.base, Scope: "ZohoCRM.modules.ALL", Expiry: time.Now().Add(-time.Minute), AccountsServer: z.base,
	}
	if forced {
		old.Expiry = time.Now().Add(time.Hour)
	}
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
	if attempts.Load() == 0 {
		t.Fatal("the token endpoint was never asked")
	}
	for _, s := range []string{old.AccessToken, loopRefresh, loopClientSecret} {
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
