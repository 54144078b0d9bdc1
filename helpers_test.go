package zohoauth_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
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

// handlerTransport serves requests in memory with h, on the calling
// goroutine, so it works inside synctest bubbles.
func handlerTransport(h http.Handler) http.RoundTripper {
	return roundTripFunc(func(r *http.Request) (*http.Response, error) {
		if r.Body != nil {
			defer r.Body.Close()
		}
		if err := r.Context().Err(); err != nil {
			return nil, err
		}
		rec := httptest.NewRecorder()
		in := r
		if in.Body == nil {
			in = r.Clone(r.Context())
			in.Body = http.NoBody
		}
		h.ServeHTTP(rec, in)
		if err := r.Context().Err(); err != nil {
			return nil, err
		}
		resp := rec.Result()
		resp.Request = r
		return resp, nil
	})
}

// fakeZoho is a minimal token endpoint plus API for the root package's
// tests: every refresh mints "access-N"; the API accepts only the newest.
type fakeZoho struct {
	mu       sync.Mutex
	calls    atomic.Int64 // token endpoint requests
	n        int
	lifetime time.Duration
	delay    time.Duration             // token endpoint latency (fake time in bubbles)
	reply    func(n int) (int, string) // overrides the token endpoint's answer when set
	valid    map[string]bool
	apiCalls atomic.Int64
	api      func(w http.ResponseWriter, r *http.Request, tokenOK bool)
	forms    []url.Values
}

func newFake() *fakeZoho {
	return &fakeZoho{lifetime: time.Hour, valid: map[string]bool{}}
}

func (f *fakeZoho) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/oauth/v2/token":
		f.token(w, r)
	case "/oauth/v2/token/revoke":
		_ = r.ParseForm()
		if r.PostForm.Get("token") == testRefresh {
			io.WriteString(w, `{"status":"success"}`)
			return
		}
		w.WriteHeader(http.StatusBadRequest)
	default:
		f.apiCalls.Add(1)
		auth := r.Header.Get("Authorization")
		f.mu.Lock()
		ok := strings.HasPrefix(auth, "Zoho-oauthtoken ") && f.valid[strings.TrimPrefix(auth, "Zoho-oauthtoken ")]
		f.mu.Unlock()
		if f.api != nil {
			f.api(w, r, ok)
			return
		}
		if !ok {
			w.WriteHeader(http.StatusUnauthorized)
			io.WriteString(w, `{"code":"INVALID_TOKEN","details":{},"message":"invalid oauth token","status":"error"}`)
			return
		}
		body, _ := io.ReadAll(r.Body)
		fmt.Fprintf(w, `{"echo":%q}`, body)
	}
}

func (f *fakeZoho) token(w http.ResponseWriter, r *http.Request) {
	f.calls.Add(1)
	if err := r.ParseForm(); err != nil {
		w.WriteHeader(400)
		return
	}
	f.mu.Lock()
	f.forms = append(f.forms, r.PostForm)
	f.n++
	n := f.n
	delay, reply := f.delay, f.reply
	f.mu.Unlock()
	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
			return
		}
	}
	if reply != nil {
		if status, body := reply(n); status != 0 {
			w.WriteHeader(status)
			io.WriteString(w, body)
			return
		}
	}
	if r.PostForm.Get("client_secret") != testClientSecret {
		io.WriteString(w, `{"error":"invalid_client_secret"}`)
		return
	}
	access := fmt.Sprintf("1000.access-%d.secret", n)
	f.mu.Lock()
	f.valid[access] = true
	f.mu.Unlock()
	switch r.PostForm.Get("grant_type") {
	case "authorization_code":
		if r.PostForm.Get("code") != testGrantCode {
			io.WriteString(w, `{"error":"invalid_code"}`)
			return
		}
		fmt.Fprintf(w, `{"access_token":%q,"refresh_token":%q,"api_domain":"https://www.zohoapis.com","token_type":"Bearer","expires_in":%d,"scope":"ZohoCRM.modules.ALL"}`,
			access, testRefresh, int(f.lifetime.Seconds()))
	case "refresh_token":
		if r.PostForm.Get("refresh_token") != testRefresh {
			io.WriteString(w, `{"error":"invalid_code"}`)
			return
		}
		fmt.Fprintf(w, `{"access_token":%q,"token_type":"Bearer","expires_in":%d}`, access, int(f.lifetime.Seconds()))
	default:
		io.WriteString(w, `{"error":"unsupported_grant_type"}`)
	}
}

// invalidateAll makes the API refuse every token minted so far.
func (f *fakeZoho) invalidateAll() {
	f.mu.Lock()
	f.valid = map[string]bool{}
	f.mu.Unlock()
}

func (f *fakeZoho) config() *zohoauth.Config {
	return &zohoauth.Config{
		ClientID:     "client-1",
		ClientSecret: testClientSecret,
		HTTPClient:   &http.Client{Transport: handlerTransport(f)},
	}
}

// expiredToken is a saved token whose access token has run out.
func expiredToken() *zohoauth.Token {
	return &zohoauth.Token{
		AccessToken:  "1000.access-old.secret",
		RefreshToken: testRefresh,
		APIDomain:    "https://www.zohoapis.com",
		Expiry:       time.Now().Add(-time.Minute),
	}
}

// freshToken is valid for an hour and known to the fake's API.
func (f *fakeZoho) freshToken() *zohoauth.Token {
	tok := &zohoauth.Token{
		AccessToken:  "1000.access-seeded.secret",
		RefreshToken: testRefresh,
		APIDomain:    "https://www.zohoapis.com",
		Expiry:       time.Now().Add(time.Hour),
	}
	f.mu.Lock()
	f.valid[tok.AccessToken] = true
	f.mu.Unlock()
	return tok
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
