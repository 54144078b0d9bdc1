package redisstore_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-zoho/zohoauth"
	"github.com/go-zoho/zohoauth/zohotest"
)

const (
	fakeClientID     = "1000.FLEETCLIENT"
	fakeClientSecret = "fleet-client-secret"
)

// fakeZoho is zohotest's fake Zoho (US data center) served on loopback
// behind a recorder, which notes for every token call when it came, from
// which worker and what it got, and which workers used each access token.
// With refuse set, zohotest revokes every access token as soon as it is
// minted: the API answers 401 INVALID_TOKEN to every request, as it does for
// a revoked grant or a token of another data center.
type fakeZoho struct {
	*zohotest.Server
	lifetime time.Duration
	url      string // accounts server and API domain
	arrived  chan string
	refuse   bool // set before the fake is used

	mu     sync.Mutex
	latest time.Time // expiry of the newest token
	calls  []refreshCall
	users  map[string]map[string]bool // access token -> workers it served
}

type refreshCall struct {
	At     time.Time
	Worker string
	// Left is how long the newest token had to live when the call came.
	Left time.Duration
	// Access is the token the call got; "" if it got none.
	Access string
}

func newFakeZoho(t *testing.T, lifetime time.Duration) *fakeZoho {
	f := &fakeZoho{
		Server: zohotest.New(zohotest.Options{
			ClientID: fakeClientID, ClientSecret: fakeClientSecret, AccessTokenLifetime: lifetime,
		}),
		lifetime: lifetime,
		arrived:  make(chan string, 64),
		users:    map[string]map[string]bool{},
	}
	inner := f.Handler("us")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		worker := r.Header.Get(workerHeader)
		if r.URL.Path != "/oauth/v2/token" {
			rec := &recorder{ResponseWriter: w, status: http.StatusOK}
			inner.ServeHTTP(rec, r)
			if rec.status == http.StatusNoContent { // the token worked: the (empty) list was answered
				access, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Zoho-oauthtoken ")
				f.mu.Lock()
				if f.users[access] == nil {
					f.users[access] = map[string]bool{}
				}
				f.users[access][worker] = true
				f.mu.Unlock()
			}
			return
		}
		// Recorded on arrival: a faulted call may never return here (zohotest
		// aborts the handler to drop a connection).
		f.mu.Lock()
		i := len(f.calls)
		f.calls = append(f.calls, refreshCall{At: time.Now(), Worker: worker, Left: time.Until(f.latest)})
		f.mu.Unlock()
		select {
		case f.arrived <- worker:
		default:
		}
		rec := &recorder{ResponseWriter: w, status: http.StatusOK}
		inner.ServeHTTP(rec, r)
		var body struct {
			AccessToken string `json:"access_token"`
		}
		if json.Unmarshal(rec.body.Bytes(), &body) == nil && body.AccessToken != "" {
			if f.refuse {
				// Before the handler returns: the answer is still buffered.
				f.RevokeAccessToken(body.AccessToken)
			}
			f.mu.Lock()
			f.calls[i].Access = body.AccessToken
			f.latest = time.Now().Add(lifetime)
			f.mu.Unlock()
		}
	}))
	f.url = srv.URL
	t.Cleanup(func() {
		f.Close() // ends a token call held by a fault
		srv.Close()
	})
	return f
}

// recorder keeps the status and body of a response as it goes out.
type recorder struct {
	http.ResponseWriter
	status int
	body   bytes.Buffer
}

func (r *recorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	r.body.Write(b)
	return r.ResponseWriter.Write(b)
}

// issue returns a new grant's first token, as after a code exchange.
func (f *fakeZoho) issue() *zohoauth.Token {
	access, refresh := f.IssueToken("us")
	if f.refuse {
		f.RevokeAccessToken(access)
	}
	exp := time.Now().Add(f.lifetime)
	f.mu.Lock()
	f.latest = exp
	f.mu.Unlock()
	return &zohoauth.Token{
		AccessToken: access, RefreshToken: refresh, TokenType: "Bearer",
		APIDomain: f.url, Scope: zohotest.DefaultScope, Expiry: exp,
	}
}

func (f *fakeZoho) refreshCalls() []refreshCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]refreshCall(nil), f.calls...)
}

// minted returns the calls that got a token.
func minted(calls []refreshCall) []refreshCall {
	var out []refreshCall
	for _, c := range calls {
		if c.Access != "" {
			out = append(out, c)
		}
	}
	return out
}

// waitCalls waits until at least n token calls have got a token.
func (f *fakeZoho) waitCalls(t *testing.T, n int, limit time.Duration) []refreshCall {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		calls := minted(f.refreshCalls())
		if len(calls) >= n {
			return calls
		}
		if time.Now().After(deadline) {
			t.Fatalf("only %d tokens minted after %v; want %d", len(calls), limit, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// usersOf returns the workers that used access successfully.
func (f *fakeZoho) usersOf(access string) map[string]bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return maps.Clone(f.users[access])
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

// logTimes returns when the worker logged records with the given message.
// Call it only after the worker has ended.
func (w *worker) logTimes(msg string) []time.Time {
	var out []time.Time
	for _, line := range strings.Split(w.stderr.String(), "\n") {
		var rec struct {
			Time time.Time
			Msg  string
		}
		if json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == msg {
			out = append(out, rec.Time)
		}
	}
	return out
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func seed(t *testing.T, store zohoauth.Store, tok *zohoauth.Token) {
	t.Helper()
	if err := store.Save(context.Background(), tok); err != nil {
		t.Fatal(err)
	}
}
