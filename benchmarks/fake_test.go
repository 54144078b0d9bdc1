package benchmarks

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Addresses the contenders are pointed at. The fake below answers them in
// memory, so nothing leaves the process.
const (
	accountsURL  = "https://accounts.zoho.com"
	tokenURL     = accountsURL + "/oauth/v2/token"
	apiURL       = "https://www.zohoapis.com/crm/v8/Leads"
	apiDomain    = "https://www.zohoapis.com"
	clientID     = "1000.benchclient"
	clientSecret = "bench-client-secret"
	refreshToken = "1000.bench.refresh"
)

// fakeZoho is an in-memory Zoho: a token endpoint that mints numbered
// access tokens after a configurable delay (or fails), and an API that
// answers 200 to a token it minted and that has not been revoked, 401
// INVALID_TOKEN otherwise. The API's 200 is one shared response with an empty
// body, so that a storm of thousands of requests measures the contenders,
// not the fake. It is an http.RoundTripper, so every contender
// uses it as its inner transport and as its token client.
type fakeZoho struct {
	delay    time.Duration // token endpoint latency, real time
	status   int           // if not 0, the token endpoint answers this status with no token
	lifetime int           // expires_in of minted tokens, seconds; 0 means 3600

	tokenCalls atomic.Int64
	firstCall  atomic.Int64 // when the first token call arrived, Unix nanoseconds
	apiCalls   atomic.Int64
	seq        atomic.Int64

	ok *http.Response // the API's answer to a good token, shared: its body is empty

	mu    sync.Mutex                          // serialises writers of valid
	valid atomic.Pointer[map[string]struct{}] // access tokens the API accepts; copied on write
}

func newFakeZoho() *fakeZoho {
	f := &fakeZoho{ok: &http.Response{
		Status: "200 OK", StatusCode: http.StatusOK, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: http.Header{}, Body: http.NoBody,
	}}
	f.valid.Store(&map[string]struct{}{})
	return f
}

// allow makes the API accept access.
func (f *fakeZoho) allow(access string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	old := *f.valid.Load()
	next := make(map[string]struct{}, len(old)+1)
	for k, v := range old {
		next[k] = v
	}
	next[access] = struct{}{}
	f.valid.Store(&next)
}

// revokeAll makes the API refuse every token minted or allowed so far, as
// Zoho does after a revocation or when a token is evicted.
func (f *fakeZoho) revokeAll() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.valid.Store(&map[string]struct{}{})
}

func (f *fakeZoho) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Path == "/oauth/v2/token" {
		return f.token(req)
	}
	if req.Body != nil {
		req.Body.Close()
	}
	f.apiCalls.Add(1)
	auth := req.Header.Get("Authorization")
	_, tok, _ := strings.Cut(auth, " ")
	if _, ok := (*f.valid.Load())[tok]; !ok || tok == "" {
		return reply(req, http.StatusUnauthorized,
			`{"code":"INVALID_TOKEN","details":{},"message":"invalid oauth token","status":"error"}`), nil
	}
	return f.ok, nil
}

func (f *fakeZoho) token(req *http.Request) (*http.Response, error) {
	f.tokenCalls.Add(1)
	f.firstCall.CompareAndSwap(0, time.Now().UnixNano())
	if req.Body != nil {
		_, _ = io.Copy(io.Discard, req.Body)
		req.Body.Close()
	}
	if f.delay > 0 {
		t := time.NewTimer(f.delay)
		select {
		case <-t.C:
		case <-req.Context().Done():
			t.Stop()
			return nil, req.Context().Err()
		}
	}
	if f.status != 0 {
		return reply(req, f.status, `{"error":"service unavailable"}`), nil
	}
	life := f.lifetime
	if life == 0 {
		life = 3600
	}
	access := fmt.Sprintf("1000.access-%d.bench", f.seq.Add(1))
	f.allow(access)
	return reply(req, http.StatusOK, fmt.Sprintf(
		`{"access_token":%q,"api_domain":%q,"token_type":"Bearer","expires_in":%d}`, access, apiDomain, life)), nil
}

func reply(req *http.Request, status int, body string) *http.Response {
	return &http.Response{
		Status:        fmt.Sprintf("%d %s", status, http.StatusText(status)),
		StatusCode:    status,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        http.Header{"Content-Type": {"application/json"}},
		Body:          io.NopCloser(strings.NewReader(body)),
		ContentLength: int64(len(body)),
		Request:       req,
	}
}

// seed is the token every contender starts from in a scenario.
type seed struct {
	access string
	expiry time.Time
}

// seedToken registers a starting access token with the fake's API.
func (f *fakeZoho) seedToken(expiry time.Time) seed {
	s := seed{access: "1000.access-seed.bench", expiry: expiry}
	f.allow(s.access)
	return s
}

// do sends one request through rt and reports the status, or 0 and the
// error. The response body is read and closed.
func do(rt http.RoundTripper, req *http.Request) (int, error) {
	resp, err := rt.RoundTrip(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

// newRequest is a caller's GET request to target (apiURL if empty).
func newRequest(target string) *http.Request {
	if target == "" {
		target = apiURL
	}
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, target, nil)
	if err != nil {
		panic(err)
	}
	req.Header.Set("Accept", "application/json")
	return req
}
