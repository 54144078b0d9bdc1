package redisstore_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-zoho/zohoauth"
)

const (
	fakeClientID     = "1000.FLEETCLIENT"
	fakeClientSecret = "fleet-client-secret"
)

// fakeZoho is a token endpoint and an API over loopback. It mints tokens
// with a fixed lifetime, records every refresh call, and lets API calls
// through only with a token it minted that has not expired.
type fakeZoho struct {
	lifetime time.Duration
	refresh  string
	accounts *httptest.Server
	api      *httptest.Server

	mu       sync.Mutex
	expiry   map[string]time.Time // access token -> expiry
	latest   time.Time            // expiry of the newest token
	calls    []refreshCall
	rejected []string
	users    map[string]map[string]bool // access token -> workers that used it
}

type refreshCall struct {
	At     time.Time
	Worker string
	// Left is how long the newest token had to live when the call came.
	Left time.Duration
	// Access is the token the call got.
	Access string
}

func newFakeZoho(t *testing.T, lifetime time.Duration) *fakeZoho {
	f := &fakeZoho{
		lifetime: lifetime,
		refresh:  "1000.fleet-refresh." + randHex(8),
		expiry:   map[string]time.Time{},
		users:    map[string]map[string]bool{},
	}
	f.accounts = httptest.NewServer(http.HandlerFunc(f.serveToken))
	f.api = httptest.NewServer(http.HandlerFunc(f.serveAPI))
	t.Cleanup(f.accounts.Close)
	t.Cleanup(f.api.Close)
	return f
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// mint issues a token expiring after life.
func (f *fakeZoho) mint(life time.Duration) *zohoauth.Token {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.mintLocked(life)
}

func (f *fakeZoho) mintLocked(life time.Duration) *zohoauth.Token {
	access := "1000." + randHex(12) + ".fleetaccess"
	exp := time.Now().Add(life)
	f.expiry[access] = exp
	f.latest = exp
	return &zohoauth.Token{
		AccessToken: access, RefreshToken: f.refresh, TokenType: "Bearer",
		APIDomain: f.api.URL, Scope: "ZohoCRM.modules.ALL", Expiry: exp,
	}
}

func (f *fakeZoho) serveToken(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	if r.Method != http.MethodPost || r.URL.Path != "/oauth/v2/token" {
		http.NotFound(w, r)
		return
	}
	if r.PostFormValue("grant_type") != "refresh_token" || r.PostFormValue("client_id") != fakeClientID ||
		r.PostFormValue("client_secret") != fakeClientSecret || r.PostFormValue("refresh_token") != f.refresh {
		fmt.Fprint(w, `{"error":"invalid_code"}`)
		return
	}
	f.mu.Lock()
	call := refreshCall{At: time.Now(), Worker: r.Header.Get(workerHeader), Left: time.Until(f.latest)}
	tok := f.mintLocked(f.lifetime)
	call.Access = tok.AccessToken
	f.calls = append(f.calls, call)
	f.mu.Unlock()
	_ = json.NewEncoder(w).Encode(map[string]any{
		"access_token": tok.AccessToken, "api_domain": tok.APIDomain, "token_type": "Bearer",
		"expires_in": int(f.lifetime / time.Second), "scope": tok.Scope,
	})
}

func (f *fakeZoho) serveAPI(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	access, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Zoho-oauthtoken ")
	f.mu.Lock()
	exp, known := f.expiry[access]
	valid := ok && known && time.Now().Before(exp)
	if valid {
		if f.users[access] == nil {
			f.users[access] = map[string]bool{}
		}
		f.users[access][r.Header.Get(workerHeader)] = true
	} else {
		f.rejected = append(f.rejected, r.Header.Get(workerHeader))
	}
	f.mu.Unlock()
	if !valid {
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprint(w, `{"code":"INVALID_TOKEN","details":{},"message":"invalid oauth token","status":"error"}`)
		return
	}
	fmt.Fprint(w, `{"org":[{"id":"1"}]}`)
}

func (f *fakeZoho) refreshCalls() []refreshCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]refreshCall(nil), f.calls...)
}

// waitCalls waits until at least n refresh calls have been made.
func (f *fakeZoho) waitCalls(t *testing.T, n int, limit time.Duration) []refreshCall {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		calls := f.refreshCalls()
		if len(calls) >= n {
			return calls
		}
		if time.Now().After(deadline) {
			t.Fatalf("only %d refresh calls after %v; want %d", len(calls), limit, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// usersOf returns the workers that used access successfully.
func (f *fakeZoho) usersOf(access string) map[string]bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string]bool{}
	for w := range f.users[access] {
		out[w] = true
	}
	return out
}

// worker is one running worker process.
type worker struct {
	id     string
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stdout bytes.Buffer
	stderr bytes.Buffer
	done   chan error
}

// startWorker re-executes the test binary as a worker.
func startWorker(t *testing.T, cfg workerConfig) *worker {
	t.Helper()
	if cfg.Interval == 0 {
		cfg.Interval = 50 * time.Millisecond
	}
	b, _ := json.Marshal(cfg)
	w := &worker{id: cfg.ID, done: make(chan error, 1)}
	w.cmd = exec.Command(os.Args[0], "-test.run=^$")
	// The race detector sleeps a second at exit unless told not to.
	w.cmd.Env = append(os.Environ(), workerEnv+"="+string(b), "GORACE="+os.Getenv("GORACE")+" atexit_sleep_ms=0")
	w.cmd.Stdout = &w.stdout
	w.cmd.Stderr = &w.stderr
	var err error
	if w.stdin, err = w.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	if err := w.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { w.done <- w.cmd.Wait() }()
	t.Cleanup(func() {
		_ = w.cmd.Process.Kill()
		<-w.done
		w.done <- nil
		if t.Failed() || os.Getenv("FLEET_LOGS") != "" {
			t.Logf("worker %s log:\n%s", w.id, tail(w.stderr.String(), 40))
		}
	})
	return w
}

// stop ends the worker and returns its summary.
func (w *worker) stop(t *testing.T) workerSummary {
	t.Helper()
	_ = w.stdin.Close()
	select {
	case err := <-w.done:
		w.done <- err
		if err != nil {
			t.Fatalf("worker %s: %v", w.id, err)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("worker %s did not stop", w.id)
	}
	var sum workerSummary
	if err := json.Unmarshal(w.stdout.Bytes(), &sum); err != nil {
		t.Fatalf("worker %s printed no summary (%v): %q", w.id, err, w.stdout.String())
	}
	return sum
}

// kill ends the worker with SIGKILL, as a crash would.
func (w *worker) kill(t *testing.T) {
	t.Helper()
	if err := w.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	err := <-w.done
	w.done <- err
}

// logCount counts the worker's log records with the given message.
func (w *worker) logCount(msg string) int {
	n := 0
	for _, line := range strings.Split(w.stderr.String(), "\n") {
		var rec struct{ Msg string }
		if json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == msg {
			n++
		}
	}
	return n
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// hangServer is a token endpoint that never answers. hit receives the
// worker's id when a call arrives.
func hangServer(t *testing.T) (url string, hit <-chan string) {
	ch := make(chan string, 8)
	quit := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ch <- r.Header.Get(workerHeader)
		select {
		case <-r.Context().Done():
		case <-quit:
		}
	}))
	t.Cleanup(func() {
		close(quit)
		srv.Close()
	})
	return srv.URL, ch
}

func seed(t *testing.T, store zohoauth.Store, tok *zohoauth.Token) {
	t.Helper()
	if err := store.Save(context.Background(), tok); err != nil {
		t.Fatal(err)
	}
}
