package zohoauth_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-zoho/zohoauth"
	"github.com/go-zoho/zohoauth/zohotest"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// Secret values used across the tests; none may ever show up in output.
const (
	testClientSecret = "cs-very-secret-9f8e7d"
	testGrantCode    = "1000.grantcode.abc123"
	testRefresh      = "1000.refresh.r3fr3sh"
)

// roundTripFunc adapts a function to http.RoundTripper.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// newZoho returns zohotest's fake Zoho, the one users test against, closed
// when the test ends. In a synctest bubble, call it inside the bubble.
func newZoho(t *testing.T, opts zohotest.Options) *zohotest.Server {
	t.Helper()
	srv := zohotest.New(opts)
	t.Cleanup(srv.Close)
	return srv
}

// fakeCredentials is a Config with zohotest's default credentials whose
// token calls go through rt.
func fakeCredentials(rt http.RoundTripper) *zohoauth.Config {
	return &zohoauth.Config{ClientID: "test-client-id", ClientSecret: fakeClientSecret, HTTPClient: &http.Client{Transport: rt}}
}

// fakeClientSecret is zohotest's default client secret.
const fakeClientSecret = "test-client-secret"

// issuedToken returns a token srv issued in its US data center, as a
// program saved it after an exchange, with left to run. When left is not
// positive, the API refuses the access token too.
func issuedToken(srv *zohotest.Server, left time.Duration) *zohoauth.Token {
	access, refresh := srv.IssueToken("us")
	if left <= 0 {
		srv.RevokeAccessToken(access)
	}
	return &zohoauth.Token{AccessToken: access, RefreshToken: refresh, APIDomain: zohoauth.US.APIDomain,
		Expiry: time.Now().Add(left)}
}

// tokenCalls returns the calls that reached srv's token endpoint (not its
// revoke endpoint), in the order they arrived.
func tokenCalls(srv *zohotest.Server) []zohotest.TokenRequest {
	var calls []zohotest.TokenRequest
	for _, r := range srv.Stats().TokenRequests {
		if r.Path == "/oauth/v2/token" {
			calls = append(calls, r)
		}
	}
	return calls
}

// callTimes returns when each call reached srv's token endpoint.
func callTimes(srv *zohotest.Server) []time.Time {
	var at []time.Time
	for _, c := range tokenCalls(srv) {
		at = append(at, c.At)
	}
	return at
}

// newestToken returns the access token srv minted last.
func newestToken(srv *zohotest.Server) string {
	minted := srv.Stats().AccessTokens
	if len(minted) == 0 {
		return ""
	}
	return minted[len(minted)-1]
}

// checkWindow fails the test if more than n of times (in order) fall
// within any span of length w.
func checkWindow(t *testing.T, times []time.Time, n int, w time.Duration) {
	t.Helper()
	for i, c := range times {
		k := 0
		for _, d := range times[i:] {
			if d.Sub(c) < w {
				k++
			}
		}
		if k > n {
			t.Errorf("%d token calls within %v from the one at %v", k, w, c)
			return
		}
	}
}

// fakeSecrets returns the secrets in play at srv: every access token it
// minted, and every refresh token and grant code sent to its token
// endpoint.
func fakeSecrets(srv *zohotest.Server) []string {
	st := srv.Stats()
	secrets := st.AccessTokens
	for _, r := range st.TokenRequests {
		for _, k := range []string{"refresh_token", "code", "token"} {
			if v := r.Form.Get(k); v != "" {
				secrets = append(secrets, v)
			}
		}
	}
	return secrets
}

// wireLog is a base transport that records each request on its way to
// next, as the server at the other end sees it.
type wireLog struct {
	next http.RoundTripper
	mu   sync.Mutex
	reqs []wireRequest
}

// wireRequest is one request as it left.
type wireRequest struct {
	at         time.Time
	method     string
	url        *url.URL
	header     http.Header
	body       string
	replayable bool // GetBody was set
}

func (w *wireLog) RoundTrip(r *http.Request) (*http.Response, error) {
	sent := wireRequest{at: time.Now(), method: r.Method, url: r.URL, header: r.Header.Clone(), replayable: r.GetBody != nil}
	if r.Body != nil && r.Body != http.NoBody {
		body, err := io.ReadAll(r.Body)
		r.Body.Close()
		if err != nil {
			return nil, err
		}
		sent.body = string(body)
		r = r.Clone(r.Context())
		r.Body = io.NopCloser(strings.NewReader(sent.body))
	}
	w.mu.Lock()
	w.reqs = append(w.reqs, sent)
	w.mu.Unlock()
	return w.next.RoundTrip(r)
}

// form is the request's form body.
func (r wireRequest) form() url.Values {
	form, _ := url.ParseQuery(r.body)
	return form
}

// sent returns the requests recorded so far.
func (w *wireLog) sent() []wireRequest {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.reqs)
}

// logCapture collects slog output at debug level.
type logCapture struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (c *logCapture) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.buf.Write(p)
}

func (c *logCapture) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.buf.String()
}

func (c *logCapture) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(c, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// assertNoSecrets fails if s contains any secret the tests use, any
// access token the fake minted, or any of more (fakeSecrets, say).
func assertNoSecrets(t *testing.T, what, s string, more ...string) {
	t.Helper()
	for _, secret := range append([]string{testClientSecret, fakeClientSecret, testGrantCode, testRefresh, "1000.access-"}, more...) {
		if secret != "" && strings.Contains(s, secret) {
			t.Errorf("%s leaks a secret (%q...): %s", what, secret[:min(6, len(secret))], s)
		}
	}
}

func bg() context.Context { return context.Background() }
