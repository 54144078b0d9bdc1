package zohoauth_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/go-zoho/zohoauth"
	"github.com/go-zoho/zohoauth/zohotest"
	"github.com/jarcoal/httpmock"
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
	base := httpmock.NewMockTransport()
	base.RegisterResponder("GET", "https://www.zohoapis.com/crm/v8/Leads", func(r *http.Request) (*http.Response, error) {
		seen = r.Header
		r.Header.Set("X-Downstream", "changed") // a rude transport
		r.Header["Accept"] = append(r.Header["Accept"], "text/plain")
		return httpmock.NewStringResponse(200, ""), nil
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
	srv := newZoho(t, zohotest.Options{AcceptBearer: true}) // like an API that takes Bearer
	tok := issuedToken(srv, time.Hour)
	tr := &zohoauth.Transport{Source: staticSource{tok: tok}, Base: srv.Transport(), Scheme: "Bearer"}
	req, _ := http.NewRequest("GET", leadsURL+"?fields=Last_Name", nil)
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := srv.Stats().AuthHeaders; len(got) != 1 || got[0] != "Bearer "+tok.AccessToken || resp.StatusCode != http.StatusNoContent {
		t.Errorf("Authorization = %q, answered %d", got, resp.StatusCode)
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

// apiClient is a client whose Transport, with a Source holding tok, sends
// the API requests to api and the token calls to srv.
func apiClient(srv *zohotest.Server, api http.RoundTripper, tok *zohoauth.Token) (*http.Client, *zohoauth.Source) {
	src := zohoauth.NewSource(fakeCredentials(srv.Transport()), zohoauth.WithToken(tok))
	return &http.Client{Transport: &zohoauth.Transport{Source: src, Base: api}}, src
}

func TestInvalidTokenRefreshesOnceAndReplaysBody(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newZoho(t, zohotest.Options{})
		stale := issuedToken(srv, time.Hour)
		srv.RevokeAccessToken(stale.AccessToken) // revoked server side, still valid locally
		wire := &wireLog{next: srv.Transport()}
		client, src := apiClient(srv, wire, stale)
		defer src.Close()
		payload := `{"data":[{"Last_Name":"Zöhö","Company":"Acme"}]}`
		resp, err := client.Post(leadsURL, "application/json", strings.NewReader(payload))
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusCreated || !strings.Contains(string(got), `"code":"SUCCESS"`) {
			t.Fatalf("status %d body %q", resp.StatusCode, got)
		}
		if sent := wire.sent(); len(sent) != 2 || sent[0].body != payload || sent[1].body != payload {
			t.Errorf("API saw %d requests %+v, want the payload twice", len(sent), sent)
		}
		if n := len(tokenCalls(srv)); n != 1 {
			t.Errorf("token calls = %d, want 1", n)
		}
		if st := srv.Stats(); st.Unauthorized != 1 || st.AuthHeaders[1] != "Zoho-oauthtoken "+newestToken(srv) {
			t.Errorf("API answered %d 401s; the replay carried %q", st.Unauthorized, st.AuthHeaders[1:])
		}
	})
}

func TestSecond401IsReturnedNotRetried(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newZoho(t, zohotest.Options{})
		api := httpmock.NewMockTransport() // refuses every token, as another DC's API would
		api.RegisterResponder("GET", leadsURL, httpmock.NewStringResponder(401, `{"code":"INVALID_TOKEN","message":"invalid oauth token"}`))
		client, src := apiClient(srv, api, issuedToken(srv, time.Hour))
		defer src.Close()
		resp, err := client.Get(leadsURL)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 401 || !strings.Contains(string(body), "INVALID_TOKEN") {
			t.Fatalf("got %d %q, want the second 401 with its body", resp.StatusCode, body)
		}
		if n := api.GetTotalCallCount(); n != 2 {
			t.Errorf("API calls = %d, want 2 (one replay)", n)
		}
		if n := len(tokenCalls(srv)); n != 1 {
			t.Errorf("token calls = %d, want 1", n)
		}
	})
}

func TestScopeMismatchReturnedUntouched(t *testing.T) {
	srv := newZoho(t, zohotest.Options{})
	const body401 = `{"code":"OAUTH_SCOPE_MISMATCH","details":{},"message":"invalid oauth scope to access this URL","status":"error"}`
	access, refresh := srv.IssueToken("us", "ZohoCRM.modules.leads.ALL") // Leads only
	tok := &zohoauth.Token{AccessToken: access, RefreshToken: refresh, APIDomain: zohoauth.US.APIDomain, Expiry: time.Now().Add(time.Hour)}
	client, src := apiClient(srv, srv.Transport(), tok)
	defer src.Close()
	resp, err := client.Get("https://www.zohoapis.com/crm/v8/Deals?fields=Deal_Name")
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 401 || string(got) != body401 {
		t.Fatalf("got %d %q", resp.StatusCode, got)
	}
	if calls, api := len(tokenCalls(srv)), srv.Stats().APICalls; calls != 0 || api != 1 {
		t.Errorf("token calls %d, API calls %d; want 0 and 1", calls, api)
	}
}

func TestNonReplayableBodyReturns401(t *testing.T) {
	srv := newZoho(t, zohotest.Options{})
	tok := issuedToken(srv, time.Hour)
	srv.RevokeAccessToken(tok.AccessToken)
	client, src := apiClient(srv, srv.Transport(), tok)
	defer src.Close()
	body := newCountingBody(`{"data":[]}`)
	req, _ := http.NewRequest("POST", leadsURL, io.NopCloser(body))
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
	if n := srv.Stats().APICalls; n != 1 {
		t.Errorf("API calls = %d, want 1", n)
	}
	if body.closed.Load() != 1 {
		t.Errorf("body closed %d times", body.closed.Load())
	}
	// The token was reported: the next request gets a fresh one.
	resp, err = client.Get(leadsURL + "?fields=Last_Name")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if n := len(tokenCalls(srv)); resp.StatusCode != http.StatusNoContent || n != 1 { // Zoho's answer for an empty list
		t.Errorf("next request: %d with %d token calls; want 204 after 1 refresh", resp.StatusCode, n)
	}
}

func TestParallel401sOneRefresh(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newZoho(t, zohotest.Options{})
		srv.SetFault(zohotest.Fault{Latency: 50 * time.Millisecond})
		tok := issuedToken(srv, time.Hour)
		srv.RevokeAccessToken(tok.AccessToken)
		client, src := apiClient(srv, srv.Transport(), tok)
		defer src.Close()
		var wg sync.WaitGroup
		var bad atomic.Int32
		for i := 0; i < 1000; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				resp, err := client.Get(leadsURL + "?fields=Last_Name")
				if err != nil {
					bad.Add(1)
					return
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusNoContent { // Zoho's answer for an empty list
					bad.Add(1)
				}
			}()
		}
		wg.Wait()
		if n := len(tokenCalls(srv)); n != 1 {
			t.Errorf("token calls = %d, want 1", n)
		}
		if bad.Load() != 0 {
			t.Errorf("%d requests failed", bad.Load())
		}
	})
}

func TestRedirectToOtherHostGetsNoToken(t *testing.T) {
	const elsewhere = "https://other.example/elsewhere"
	var leaked, arrived int
	base := httpmock.NewMockTransport()
	for _, method := range []string{"GET", "POST"} {
		base.RegisterResponder(method, elsewhere, func(r *http.Request) (*http.Response, error) {
			arrived++
			if r.Header.Get("Authorization") != "" {
				leaked++
			}
			return httpmock.NewStringResponse(200, ""), nil
		})
	}
	for _, code := range []int{301, 302, 303, 307, 308} {
		base.RegisterResponder("POST", leadsURL, func(r *http.Request) (*http.Response, error) {
			if r.Header.Get("Authorization") == "" {
				t.Errorf("API host got no token")
			}
			resp := httpmock.NewStringResponse(code, "")
			resp.Header.Set("Location", elsewhere)
			return resp, nil
		})
		client := &http.Client{Transport: &zohoauth.Transport{Source: staticSource{tok: validTok()}, Base: base}}
		resp, err := client.Post(leadsURL, "application/json", strings.NewReader("{}"))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	if leaked != 0 || arrived != 5 {
		t.Errorf("%d of %d redirected requests carried the token to another host", leaked, arrived)
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
