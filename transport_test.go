package zohoauth_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/go-zoho/zohoauth"
)

// countingBody records how often it is closed.
type countingBody struct {
	io.Reader
	closed atomic.Int32
}

func (b *countingBody) Close() error { b.closed.Add(1); return nil }

func newCountingBody(s string) *countingBody { return &countingBody{Reader: strings.NewReader(s)} }

// staticSource hands out one token, or an error.
type staticSource struct {
	tok *zohoauth.Token
	err error
}

func (s staticSource) Token(context.Context) (*zohoauth.Token, error) { return s.tok, s.err }

func validTok() *zohoauth.Token {
	return &zohoauth.Token{AccessToken: "1000.access-static.secret", APIDomain: "https://www.zohoapis.com", Expiry: time.Now().Add(time.Hour)}
}

func TestRoundTripperContract(t *testing.T) {
	var seen http.Header
	base := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		seen = r.Header
		r.Header.Set("X-Downstream", "changed") // a rude transport
		r.Header["Accept"] = append(r.Header["Accept"], "text/plain")
		if r.Body != nil {
			r.Body.Close()
		}
		return &http.Response{StatusCode: 200, Body: http.NoBody, Request: r}, nil
	})
	tr := &zohoauth.Transport{Source: staticSource{tok: validTok()}, Base: base}
	req, _ := http.NewRequest("GET", "https://www.zohoapis.com/crm/v8/Leads", nil)
	req.Header["Accept"] = make([]string, 1, 4)[:1:4] // spare capacity an append could use
	req.Header["Accept"][0] = "application/json"
	req.Header.Set("X-Caller", "mine")
	before := req.Header.Clone()
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := seen.Get("Authorization"); got != "Zoho-oauthtoken 1000.access-static.secret" {
		t.Errorf("Authorization sent = %q", got)
	}
	if len(req.Header) != len(before) || req.Header.Get("Authorization") != "" || req.Header.Get("X-Downstream") != "" {
		t.Errorf("caller's headers changed: %v", req.Header)
	}
	for k, v := range before {
		if strings.Join(req.Header[k], ",") != strings.Join(v, ",") {
			t.Errorf("header %s changed to %q", k, req.Header[k])
		}
	}
	if spare := req.Header["Accept"][:2]; spare[1] != "" {
		t.Errorf("a downstream append wrote into the caller's header array: %q", spare[1])
	}
}

func TestBearerScheme(t *testing.T) {
	var got string
	base := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		got = r.Header.Get("Authorization")
		return &http.Response{StatusCode: 200, Body: http.NoBody}, nil
	})
	tr := &zohoauth.Transport{Source: staticSource{tok: validTok()}, Base: base, Scheme: "Bearer"}
	req, _ := http.NewRequest("GET", "https://www.zohoapis.com/crm/v8/Leads", nil)
	if _, err := tr.RoundTrip(req); err != nil {
		t.Fatal(err)
	}
	if got != "Bearer 1000.access-static.secret" {
		t.Errorf("Authorization = %q", got)
	}
}

func TestRequestBodyClosedOncePerPath(t *testing.T) {
	ok := func(r *http.Request) (*http.Response, error) {
		r.Body.Close()
		return &http.Response{StatusCode: 200, Body: http.NoBody}, nil
	}
	cases := []struct {
		name string
		tr   *zohoauth.Transport
		url  string
	}{
		{"success", &zohoauth.Transport{Source: staticSource{tok: validTok()}, Base: roundTripFunc(ok)}, "https://www.zohoapis.com/x"},
		{"token error", &zohoauth.Transport{Source: staticSource{err: errors.New("zohoauth: no")}, Base: roundTripFunc(ok)}, "https://www.zohoapis.com/x"},
		{"no source", &zohoauth.Transport{Base: roundTripFunc(ok)}, "https://www.zohoapis.com/x"},
		{"base error", &zohoauth.Transport{Source: staticSource{tok: validTok()}, Base: roundTripFunc(func(r *http.Request) (*http.Response, error) {
			r.Body.Close()
			return nil, errors.New("dial failed")
		})}, "https://www.zohoapis.com/x"},
		{"foreign host passes through", &zohoauth.Transport{Source: staticSource{tok: validTok()}, Base: roundTripFunc(ok)}, "https://example.org/x"},
		{"plain http passes through", &zohoauth.Transport{Source: staticSource{tok: validTok()}, Base: roundTripFunc(ok)}, "http://www.zohoapis.com/x"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			body := newCountingBody("payload")
			req, _ := http.NewRequest("POST", c.url, body)
			resp, err := c.tr.RoundTrip(req)
			if err == nil {
				resp.Body.Close()
			}
			if n := body.closed.Load(); n != 1 {
				t.Errorf("body closed %d times, want 1", n)
			}
		})
	}
}

// apiServer builds a Transport over the fake's API with a real Source.
func apiClient(f *fakeZoho, tok *zohoauth.Token) (*http.Client, *zohoauth.Source) {
	src := zohoauth.NewSource(f.config(), zohoauth.WithToken(tok))
	return &http.Client{Transport: &zohoauth.Transport{Source: src, Base: handlerTransport(f)}}, src
}

func TestInvalidTokenRefreshesOnceAndReplaysBody(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFake()
		var bodies []string
		var mu sync.Mutex
		f.api = func(w http.ResponseWriter, r *http.Request, ok bool) {
			b, _ := io.ReadAll(r.Body)
			mu.Lock()
			bodies = append(bodies, string(b))
			mu.Unlock()
			if !ok {
				w.WriteHeader(401)
				io.WriteString(w, `{"code":"INVALID_TOKEN","details":{},"message":"invalid oauth token","status":"error"}`)
				return
			}
			w.Write(b)
		}
		stale := f.freshToken()
		f.invalidateAll() // revoked server side, still valid locally
		client, src := apiClient(f, stale)
		defer src.Close()
		payload := `{"data":[{"Last_Name":"Zöhö","Company":"Acme"}]}`
		resp, err := client.Post("https://www.zohoapis.com/crm/v8/Leads", "application/json", strings.NewReader(payload))
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(got) != payload {
			t.Fatalf("status %d body %q", resp.StatusCode, got)
		}
		if len(bodies) != 2 || bodies[0] != payload || bodies[1] != payload {
			t.Errorf("API saw bodies %q, want the payload twice", bodies)
		}
		if n := f.calls.Load(); n != 1 {
			t.Errorf("token calls = %d, want 1", n)
		}
	})
}

func TestSecond401IsReturnedNotRetried(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFake()
		f.api = func(w http.ResponseWriter, r *http.Request, ok bool) { // e.g. another DC's API
			w.WriteHeader(401)
			io.WriteString(w, `{"code":"INVALID_TOKEN","message":"invalid oauth token"}`)
		}
		client, src := apiClient(f, f.freshToken())
		defer src.Close()
		resp, err := client.Get("https://www.zohoapis.com/crm/v8/Leads")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 401 || !strings.Contains(string(body), "INVALID_TOKEN") {
			t.Fatalf("got %d %q, want the second 401 with its body", resp.StatusCode, body)
		}
		if n := f.apiCalls.Load(); n != 2 {
			t.Errorf("API calls = %d, want 2 (one replay)", n)
		}
		if n := f.calls.Load(); n != 1 {
			t.Errorf("token calls = %d, want 1", n)
		}
	})
}

func TestScopeMismatchReturnedUntouched(t *testing.T) {
	f := newFake()
	const body401 = `{"code":"OAUTH_SCOPE_MISMATCH","details":{},"message":"invalid oauth scope to access this URL","status":"error"}`
	f.api = func(w http.ResponseWriter, r *http.Request, ok bool) {
		w.WriteHeader(401)
		io.WriteString(w, body401)
	}
	client, src := apiClient(f, f.freshToken())
	defer src.Close()
	resp, err := client.Get("https://www.zohoapis.com/crm/v8/Deals")
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 401 || string(got) != body401 {
		t.Fatalf("got %d %q", resp.StatusCode, got)
	}
	if f.calls.Load() != 0 || f.apiCalls.Load() != 1 {
		t.Errorf("token calls %d, API calls %d; want 0 and 1", f.calls.Load(), f.apiCalls.Load())
	}
}

func TestNonReplayableBodyReturns401(t *testing.T) {
	f := newFake()
	tok := f.freshToken()
	f.invalidateAll()
	client, src := apiClient(f, tok)
	defer src.Close()
	body := newCountingBody(`{"data":[]}`)
	req, _ := http.NewRequest("POST", "https://www.zohoapis.com/crm/v8/Leads", io.NopCloser(body))
	req.Body = body // no GetBody: cannot be replayed
	req.GetBody = nil
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 401 || !strings.Contains(string(got), "INVALID_TOKEN") {
		t.Fatalf("got %d %q, want the 401", resp.StatusCode, got)
	}
	if f.apiCalls.Load() != 1 {
		t.Errorf("API calls = %d, want 1", f.apiCalls.Load())
	}
	if body.closed.Load() != 1 {
		t.Errorf("body closed %d times", body.closed.Load())
	}
	// The token was reported: the next request gets a fresh one.
	resp, err = client.Get("https://www.zohoapis.com/crm/v8/Leads")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || f.calls.Load() != 1 {
		t.Errorf("next request: %d with %d token calls; want 200 after 1 refresh", resp.StatusCode, f.calls.Load())
	}
}

func TestParallel401sOneRefresh(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFake()
		f.delay = 50 * time.Millisecond
		tok := f.freshToken()
		f.invalidateAll()
		client, src := apiClient(f, tok)
		defer src.Close()
		var wg sync.WaitGroup
		var bad atomic.Int32
		for i := 0; i < 1000; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				resp, err := client.Get("https://www.zohoapis.com/crm/v8/Leads")
				if err != nil {
					bad.Add(1)
					return
				}
				resp.Body.Close()
				if resp.StatusCode != 200 {
					bad.Add(1)
				}
			}()
		}
		wg.Wait()
		if n := f.calls.Load(); n != 1 {
			t.Errorf("token calls = %d, want 1", n)
		}
		if bad.Load() != 0 {
			t.Errorf("%d requests failed", bad.Load())
		}
	})
}

func TestRedirectToOtherHostGetsNoToken(t *testing.T) {
	var leaked atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "" {
			leaked.Add(1)
		}
	}))
	defer other.Close()
	for _, code := range []int{301, 302, 303, 307, 308} {
		api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("Authorization") == "" {
				t.Errorf("API host got no token")
			}
			http.Redirect(w, r, strings.Replace(other.URL, "127.0.0.1", "localhost", 1)+"/elsewhere", code)
		}))
		tok := validTok()
		tok.APIDomain = api.URL
		client := &http.Client{Transport: &zohoauth.Transport{Source: staticSource{tok: tok}}}
		resp, err := client.Post(api.URL+"/crm/v8/Leads", "application/json", strings.NewReader("{}"))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		api.Close()
		client.CloseIdleConnections()
	}
	if leaked.Load() != 0 {
		t.Errorf("%d redirected requests carried the token to another host", leaked.Load())
	}
}

type idleCounter struct {
	http.RoundTripper
	n int
}

func (c *idleCounter) CloseIdleConnections() { c.n++ }

func TestCloseIdleConnectionsForwarded(t *testing.T) {
	base := &idleCounter{}
	tr := &zohoauth.Transport{Base: base}
	tr.CloseIdleConnections()
	if base.n != 1 {
		t.Fatalf("CloseIdleConnections reached the base %d times", base.n)
	}
}

func TestTransportWithoutSourceFails(t *testing.T) {
	body := newCountingBody("x")
	req, _ := http.NewRequest("POST", "https://www.zohoapis.com/crm/v8/Leads", body)
	_, err := (&zohoauth.Transport{}).RoundTrip(req)
	if err == nil || !strings.Contains(err.Error(), "no Source") {
		t.Fatalf("err = %v; want a no-Source error", err)
	}
	if body.closed.Load() != 1 {
		t.Errorf("body closed %d times", body.closed.Load())
	}
}
