package zohoauth_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/go-zoho/zohoauth"
	"github.com/go-zoho/zohoauth/zohotest"
	"github.com/hashicorp/go-retryablehttp"
	"github.com/jarcoal/httpmock"
)

const leadsURL = "https://www.zohoapis.com/crm/v8/Leads"

// retryClient is a real retryablehttp.Client with zohoauth.Transport inside
// its HTTPClient, the documented arrangement, over the in-memory fake.
type retryClient struct {
	rc       *retryablehttp.Client
	attempts atomic.Int64 // requests retryablehttp sent
	wire     *wireLog     // what reached the API
}

func newRetryClient(api http.RoundTripper, src zohoauth.TokenSource, policy bool) *retryClient {
	c := &retryClient{wire: &wireLog{next: api}}
	c.rc = retryablehttp.NewClient()
	c.rc.Logger = nil
	c.rc.RetryMax = 4
	c.rc.HTTPClient = &http.Client{Transport: &zohoauth.Transport{Source: src, Base: c.wire}}
	c.rc.RequestLogHook = func(retryablehttp.Logger, *http.Request, int) { c.attempts.Add(1) }
	if policy {
		var p zohoauth.RetryPolicy
		c.rc.CheckRetry, c.rc.Backoff = p.CheckRetry, p.Backoff
	}
	return c
}

// freshRetryClient is a retryClient whose source holds a token the fake's
// API accepts; the API answers the first requests with replies, in order,
// and the rest as zohotest does.
func freshRetryClient(t *testing.T, policy bool, replies ...httpmock.Responder) (*zohotest.Server, *retryClient) {
	srv := newZoho(t, zohotest.Options{})
	src := zohoauth.NewSource(fakeCredentials(srv.Transport()), zohoauth.WithToken(issuedToken(srv, time.Hour)))
	t.Cleanup(func() { src.Close() })
	return srv, newRetryClient(scriptedAPI(append(replies, srv.Transport().RoundTrip)...), src, policy)
}

// scriptedAPI answers the n-th request with answers[n], and every request
// after the last with the last.
func scriptedAPI(answers ...httpmock.Responder) http.RoundTripper {
	chain := answers[0]
	for _, a := range answers[1:] {
		chain = chain.Then(a)
	}
	mt := httpmock.NewMockTransport()
	mt.RegisterNoResponder(chain)
	return mt
}

func reply(status int, header map[string]string, body string) httpmock.Responder {
	h := http.Header{}
	for k, v := range header {
		h.Set(k, v)
	}
	return httpmock.NewStringResponder(status, body).HeaderSet(h)
}

// addLeads creates n leads in srv's US data center, as another client of
// the account would, and returns the API's answer to listing them.
func addLeads(t *testing.T, srv *zohotest.Server, n int) string {
	t.Helper()
	access, _ := srv.IssueToken("us")
	client := &http.Client{Transport: srv.Transport()}
	send := func(method, url, body string) string {
		req, _ := http.NewRequest(method, url, strings.NewReader(body))
		req.Header.Set("Authorization", "Zoho-oauthtoken "+access)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return readAll(t, resp)
	}
	for i := range n {
		send(http.MethodPost, leadsURL, fmt.Sprintf(`{"data":[{"Last_Name":"Lead %d"}]}`, i+1))
	}
	return send(http.MethodGet, leadsURL+"?fields=Last_Name", "")
}

const tooMany = `{"code":"TOO_MANY_REQUESTS","details":{"retry_after":%d},"message":"too many requests","status":"error"}`

func readAll(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading the response: %v", err)
	}
	return string(b)
}

func TestRetryablehttp503Then200(t *testing.T) {
	for _, policy := range []bool{false, true} {
		t.Run(fmt.Sprintf("zoho_policy=%v", policy), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				srv, c := freshRetryClient(t, policy, reply(503, nil, `{"code":"INTERNAL_ERROR"}`))
				page := addLeads(t, srv, 2)
				token := srv.Stats().AccessTokens[0] // the source's
				start := time.Now()
				resp, err := c.rc.Get(leadsURL + "?fields=Last_Name")
				if err != nil {
					t.Fatalf("Get: %v", err)
				}
				if body := readAll(t, resp); resp.StatusCode != 200 || body != page {
					t.Fatalf("got %d %s, want 200 with the page %s", resp.StatusCode, body, page)
				}
				if n := c.attempts.Load(); n != 2 {
					t.Errorf("retryablehttp attempts = %d, want 2", n)
				}
				if n := len(tokenCalls(srv)); n != 0 {
					t.Errorf("token endpoint calls = %d, want 0: a 503 is not a token problem", n)
				}
				for i, r := range c.wire.sent() {
					if a := r.header.Get("Authorization"); a != "Zoho-oauthtoken "+token {
						t.Errorf("attempt %d carried Authorization %q", i+1, a)
					}
				}
				// retryablehttp's default first wait is RetryWaitMin (1 s).
				if waited := time.Since(start); waited != time.Second {
					t.Errorf("waited %v between attempts, want 1s", waited)
				}
			})
		})
	}
}

// Each way of handing a body to retryablehttp, and whether zohoauth can
// replay it after a 401: retryablehttp.NewRequest always sets GetBody;
// through StandardClient the request is the caller's own, so it has GetBody
// exactly when http.NewRequest could set one (bytes, strings readers).
func TestRetryablehttp401RecoveredBodyIntact(t *testing.T) {
	payload := `{"data":[{"Last_Name":"Kowalski","Company":"Acme"}]}`
	type sendFunc func(c *retryClient) (*http.Response, error)
	cases := []struct {
		name       string
		send       sendFunc
		recovered  bool
		wireReplay bool // GetBody set on the request the Transport got
	}{
		{"Do with []byte body", func(c *retryClient) (*http.Response, error) {
			req, err := retryablehttp.NewRequest(http.MethodPost, leadsURL, []byte(payload))
			if err != nil {
				return nil, err
			}
			req.Header.Set("Content-Type", "application/json")
			return c.rc.Do(req)
		}, true, true},
		{"Do with a one-shot io.Reader", func(c *retryClient) (*http.Response, error) {
			req, err := retryablehttp.NewRequest(http.MethodPost, leadsURL, io.MultiReader(strings.NewReader(payload)))
			if err != nil {
				return nil, err
			}
			return c.rc.Do(req)
		}, true, true},
		{"StandardClient with bytes.Reader", func(c *retryClient) (*http.Response, error) {
			return c.rc.StandardClient().Post(leadsURL, "application/json", bytes.NewReader([]byte(payload)))
		}, true, true},
		{"StandardClient with a one-shot io.Reader", func(c *retryClient) (*http.Response, error) {
			return c.rc.StandardClient().Post(leadsURL, "application/json", io.MultiReader(strings.NewReader(payload)))
		}, false, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				srv := newZoho(t, zohotest.Options{})
				tok := issuedToken(srv, time.Hour)
				srv.RevokeAccessToken(tok.AccessToken) // evicted at Zoho: the API answers 401 INVALID_TOKEN
				src := zohoauth.NewSource(fakeCredentials(srv.Transport()), zohoauth.WithToken(tok))
				defer src.Close()
				c := newRetryClient(srv.Transport(), src, true)
				resp, err := tc.send(c)
				if err != nil {
					t.Fatalf("send: %v", err)
				}
				body := readAll(t, resp)
				sent := c.wire.sent()
				if n := c.attempts.Load(); n != 1 {
					t.Errorf("retryablehttp attempts = %d, want 1 (the 401 is zohoauth's to handle)", n)
				}
				if len(sent) == 0 || sent[0].replayable != tc.wireReplay {
					t.Errorf("GetBody set on the request = %v, want %v", len(sent) > 0 && sent[0].replayable, tc.wireReplay)
				}
				if !tc.recovered {
					// The body could not be replayed: the 401 comes back
					// untouched, and the next request gets the new token.
					if resp.StatusCode != 401 || !strings.Contains(body, "INVALID_TOKEN") || len(sent) != 1 {
						t.Fatalf("got %d %s after %d API calls, want the 401 untouched after 1", resp.StatusCode, body, len(sent))
					}
					resp, err := c.rc.StandardClient().Post(leadsURL, "application/json", strings.NewReader(payload))
					if err != nil || resp.StatusCode != http.StatusCreated {
						t.Fatalf("next request: %v %v", resp, err)
					}
					resp.Body.Close()
				}
				if n := len(tokenCalls(srv)); n != 1 {
					t.Errorf("token endpoint calls = %d, want 1 refresh", n)
				}
				if !tc.recovered {
					return
				}
				if resp.StatusCode != http.StatusCreated || !strings.Contains(body, `"code":"SUCCESS"`) {
					t.Fatalf("got %d %s, want 201, the lead created", resp.StatusCode, body)
				}
				if len(sent) != 2 || sent[0].body != payload || sent[1].body != payload {
					t.Errorf("the API saw %d requests %+v, want the payload twice", len(sent), sent)
				}
				if auths := srv.Stats().AuthHeaders; len(auths) == 2 && (auths[0] == auths[1] || auths[1] != "Zoho-oauthtoken "+newestToken(srv)) {
					t.Errorf("Authorization headers %q: the replay must carry the refreshed token", auths)
				}
			})
		})
	}
}

// countLeads stands for existing code that knows nothing of retries or
// tokens: it takes an *http.Client.
func countLeads(hc *http.Client, endpoint string) (int, error) {
	resp, err := hc.Get(endpoint)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("status %d", resp.StatusCode)
	}
	var page struct{ Data []json.RawMessage }
	if err := json.NewDecoder(resp.Body).Decode(&page); err != nil {
		return 0, err
	}
	return len(page.Data), nil
}

func TestStandardClientForCodeThatTakesHTTPClient(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newZoho(t, zohotest.Options{})
		addLeads(t, srv, 3)
		tok := issuedToken(srv, time.Hour)
		srv.RevokeAccessToken(tok.AccessToken)
		src := zohoauth.NewSource(fakeCredentials(srv.Transport()), zohoauth.WithToken(tok))
		defer src.Close()
		// A 401 for the evicted token (zohoauth refreshes), then a 502
		// (retryablehttp retries), then the page.
		api := srv.Transport().RoundTrip
		c := newRetryClient(scriptedAPI(api, reply(502, nil, ""), api), src, true)
		var hc *http.Client = c.rc.StandardClient()
		got, err := countLeads(hc, leadsURL+"?fields=Last_Name")
		if err != nil || got != 3 {
			t.Fatalf("countLeads = %d, %v; want 3", got, err)
		}
		if sent, calls := len(c.wire.sent()), len(tokenCalls(srv)); sent != 3 || c.attempts.Load() != 2 || calls != 1 {
			t.Errorf("API calls %d, retryablehttp attempts %d, token calls %d; want 3, 2, 1",
				sent, c.attempts.Load(), calls)
		}
	})
}

func TestRetryPolicyWaitsAsZohoAsks(t *testing.T) {
	cases := []struct {
		name string
		resp httpmock.Responder
		want time.Duration
	}{
		{"body details.retry_after", reply(429, nil, fmt.Sprintf(tooMany, 7)), 7 * time.Second},
		{"body retry_after as a string", reply(429, nil, `{"code":"TOO_MANY_REQUESTS","details":{"retry_after":"4"}}`), 4 * time.Second},
		{"body in data[0]", reply(429, nil, `{"data":[{"code":"TOO_MANY_REQUESTS","details":{"retry_after":5},"status":"error"}]}`), 5 * time.Second},
		{"Retry-After header", reply(429, map[string]string{"Retry-After": "3"}, `{"code":"TOO_MANY_REQUESTS"}`), 3 * time.Second},
		{"header and body: the longer", reply(429, map[string]string{"Retry-After": "2"}, fmt.Sprintf(tooMany, 9)), 9 * time.Second},
		{"503 with Retry-After", reply(503, map[string]string{"Retry-After": "6"}, ``), 6 * time.Second},
		{"429 without a hint: RetryWaitMin", reply(429, nil, `{"code":"TOO_MANY_REQUESTS"}`), time.Second},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				_, c := freshRetryClient(t, true, tc.resp)
				start := time.Now()
				resp, err := c.rc.Post(leadsURL, "application/json", []byte(`{"data":[{"Last_Name":"Kowalski"}]}`))
				if err != nil {
					t.Fatalf("Post: %v", err)
				}
				readAll(t, resp)
				if resp.StatusCode != http.StatusCreated || c.attempts.Load() != 2 {
					t.Fatalf("status %d after %d attempts, want 201 after 2", resp.StatusCode, c.attempts.Load())
				}
				if waited := time.Since(start); waited != tc.want {
					t.Errorf("waited %v, want %v", waited, tc.want)
				}
			})
		})
	}
}

func TestRetryPolicyDoesNotRetry(t *testing.T) {
	cases := []struct {
		name   string
		status int
		header map[string]string
		body   string
	}{
		{"429 asking for an hour", 429, nil, fmt.Sprintf(tooMany, 3600)},
		{"429 asking beyond any duration", 429, nil, `{"code":"TOO_MANY_REQUESTS","details":{"retry_after":1e300}}`},
		{"503 with Retry-After beyond MaxWait", 503, map[string]string{"Retry-After": "120"}, `{"code":"INTERNAL_ERROR"}`},
		{"401 OAUTH_SCOPE_MISMATCH", 401, nil, `{"code":"OAUTH_SCOPE_MISMATCH","details":{},"message":"invalid oauth scope to access this URL","status":"error"}`},
		{"403 NO_PERMISSION", 403, nil, `{"code":"NO_PERMISSION","details":{"permissions":["Crm_Implied_Api_Access"]},"message":"permission denied","status":"error"}`},
		{"400 INVALID_DATA", 400, nil, `{"data":[{"code":"INVALID_DATA","details":{"api_name":"Email"},"status":"error"}]}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				srv, c := freshRetryClient(t, true, reply(tc.status, tc.header, tc.body))
				start := time.Now()
				resp, err := c.rc.Get(leadsURL)
				if err != nil {
					t.Fatalf("Get: %v", err)
				}
				if body := readAll(t, resp); resp.StatusCode != tc.status || body != tc.body {
					t.Errorf("got %d %q, want %d with Zoho's body intact", resp.StatusCode, body, tc.status)
				}
				if n := c.attempts.Load(); n != 1 {
					t.Errorf("attempts = %d, want 1", n)
				}
				if n := len(tokenCalls(srv)); n != 0 {
					t.Errorf("token endpoint calls = %d, want 0", n)
				}
				if waited := time.Since(start); waited != 0 {
					t.Errorf("waited %v", waited)
				}
			})
		})
	}
}

// A 5xx other than 503 that names a wait longer than MaxWait: the policy
// promises to return it rather than retry early, as it does for 429 and 503.
func TestRetryPolicyLongRetryAfterOn502NotShortened(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		body := `{"code":"INTERNAL_ERROR"}`
		_, c := freshRetryClient(t, true, reply(502, map[string]string{"Retry-After": "3600"}, body))
		start := time.Now()
		resp, err := c.rc.Get(leadsURL)
		if err != nil {
			t.Fatalf("Get: %v (after %v and %d attempts)", err, time.Since(start), c.attempts.Load())
		}
		if got := readAll(t, resp); resp.StatusCode != 502 || got != body {
			t.Errorf("got %d %q, want the 502 untouched", resp.StatusCode, got)
		}
		if n := c.attempts.Load(); n != 1 {
			t.Errorf("attempts = %d, want 1", n)
		}
		if waited := time.Since(start); waited != 0 {
			t.Errorf("waited %v before giving the 502 back", waited)
		}
	})
}

// A Retry-After too large for an int64 is a wait beyond any bound, as a body
// retry_after of 1e300 is; it must not be read as "no hint" and retried.
func TestRetryPolicyRetryAfterBeyondInt64(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		body := `{"code":"TOO_MANY_REQUESTS"}`
		_, c := freshRetryClient(t, true, reply(429, map[string]string{"Retry-After": "99999999999999999999"}, body))
		start := time.Now()
		resp, err := c.rc.Get(leadsURL)
		if err != nil {
			t.Fatalf("Get: %v (after %v and %d attempts)", err, time.Since(start), c.attempts.Load())
		}
		if got := readAll(t, resp); resp.StatusCode != 429 || got != body {
			t.Errorf("got %d %q, want the 429 untouched", resp.StatusCode, got)
		}
		if n := c.attempts.Load(); n != 1 {
			t.Errorf("attempts = %d, want 1", n)
		}
	})
}

// A refresh token Zoho revoked: retrying the request cannot help. The
// default policy retries the token error RetryMax times; the source's backoff
// after a refusal that needs a new grant (30 s and more) outlasts those
// retries, so Zoho is asked once either way. The Zoho policy also stops
// retrying at once.
func TestRetryPolicyStopsOnReauthError(t *testing.T) {
	for _, tc := range []struct {
		policy       bool
		wantAttempts int64
		wantMints    int64
	}{{false, 5, 1}, {true, 1, 1}} {
		t.Run(fmt.Sprintf("zoho_policy=%v", tc.policy), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				srv := newZoho(t, zohotest.Options{})
				tok := issuedToken(srv, -time.Minute)
				srv.RevokeRefreshToken(tok.RefreshToken) // Zoho answers invalid_code
				src := zohoauth.NewSource(fakeCredentials(srv.Transport()), zohoauth.WithToken(tok))
				defer src.Close()
				c := newRetryClient(srv.Transport(), src, tc.policy)
				_, err := c.rc.Get(leadsURL)
				if !errors.Is(err, zohoauth.ErrReauthRequired) {
					t.Fatalf("err = %v, want ErrReauthRequired", err)
				}
				assertNoSecrets(t, "error", err.Error(), append(fakeSecrets(srv), tok.RefreshToken)...)
				if n := c.attempts.Load(); n != tc.wantAttempts {
					t.Errorf("attempts = %d, want %d", n, tc.wantAttempts)
				}
				if n := int64(len(tokenCalls(srv))); n != tc.wantMints {
					t.Errorf("token endpoint calls = %d, want %d", n, tc.wantMints)
				}
			})
		})
	}
}

func TestRetryPolicyCheckRetryErrors(t *testing.T) {
	urlErr := func(err error) error { return &url.Error{Op: "Get", URL: leadsURL, Err: err} }
	cancelled, cancel := context.WithCancel(bg())
	cancel()
	cases := []struct {
		name    string
		ctx     context.Context
		err     error
		want    bool
		wantErr bool
	}{
		{"connection refused", bg(), urlErr(&net.OpError{Op: "dial", Err: errors.New("connection refused")}), true, false},
		{"token endpoint down", bg(), urlErr(&zohoauth.Error{Op: "refresh", StatusCode: 502, Class: zohoauth.ClassTransient}), true, false},
		{"refresh token revoked", bg(), urlErr(&zohoauth.Error{Op: "refresh", Code: "invalid_code", Class: zohoauth.ClassReauth}), false, false},
		{"token endpoint throttled", bg(), urlErr(&zohoauth.Error{Op: "refresh", Code: "Access Denied", Class: zohoauth.ClassThrottled}), false, false},
		{"localized unknown error", bg(), urlErr(&zohoauth.Error{Op: "refresh", Code: "错误", Class: zohoauth.ClassUnknown}), false, false},
		{"no token stored", bg(), urlErr(zohoauth.ErrNoToken), false, false},
		{"context cancelled", cancelled, urlErr(context.Canceled), false, true},
	}
	var p zohoauth.RetryPolicy
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			retry, err := p.CheckRetry(tc.ctx, nil, tc.err)
			if retry != tc.want || (err != nil) != tc.wantErr {
				t.Errorf("CheckRetry = %v, %v; want %v, error %v", retry, err, tc.want, tc.wantErr)
			}
		})
	}
}

func TestRetryPolicyBackoff(t *testing.T) {
	header := func(k, v string) *http.Response {
		return &http.Response{StatusCode: 429, Header: http.Header{k: {v}}, Body: http.NoBody}
	}
	synctest.Test(t, func(t *testing.T) {
		p := zohoauth.RetryPolicy{MaxWait: 30 * time.Second}
		cases := []struct {
			name    string
			resp    *http.Response
			attempt int
			want    time.Duration
		}{
			{"no response: exponential", nil, 2, 4 * time.Second},
			{"no hint: exponential, capped", &http.Response{StatusCode: 500, Header: http.Header{}, Body: http.NoBody}, 10, 20 * time.Second},
			{"seconds", header("Retry-After", "12"), 0, 12 * time.Second},
			{"HTTP date", header("Retry-After", time.Now().Add(25*time.Second).UTC().Format(http.TimeFormat)), 0, 25 * time.Second},
			{"HTTP date in the past", header("Retry-After", time.Now().Add(-time.Hour).UTC().Format(http.TimeFormat)), 0, 0},
			{"beyond MaxWait: capped", header("Retry-After", "600"), 0, 30 * time.Second},
			{"negative: ignored", header("Retry-After", "-5"), 1, 2 * time.Second},
			{"garbage: ignored", header("Retry-After", "soon"), 0, time.Second},
		}
		for _, tc := range cases {
			if got := p.Backoff(time.Second, 20*time.Second, tc.attempt, tc.resp); got != tc.want {
				t.Errorf("%s: Backoff = %v, want %v", tc.name, got, tc.want)
			}
		}
		var zero zohoauth.RetryPolicy
		if got := zero.Backoff(time.Second, time.Minute, 0, header("Retry-After", "3600")); got != zohoauth.DefaultMaxRetryWait {
			t.Errorf("zero policy: Backoff = %v, want DefaultMaxRetryWait", got)
		}
	})
}

// All three layers against the fake Zoho: retryablehttp outside, zohoauth's
// Transport inside it, and the token call's own retries. The access token
// was revoked at Zoho and the token endpoint's first answer is a 503: the
// create call still succeeds, sent twice with the same body, one
// retryablehttp attempt, one refresh (after one retried 503).
func TestRetryablehttpAgainstZohotest(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := zohotest.New(zohotest.Options{})
		defer s.Close()
		access, refresh := s.IssueToken("us")
		cfg := &zohoauth.Config{ClientID: "test-client-id", ClientSecret: "test-client-secret",
			HTTPClient: &http.Client{Transport: s.Transport()}}
		src := zohoauth.NewSource(cfg, zohoauth.WithToken(&zohoauth.Token{AccessToken: access, RefreshToken: refresh,
			APIDomain: zohoauth.US.APIDomain, Expiry: time.Now().Add(time.Hour)}))
		defer src.Close()
		s.RevokeAccessToken(access)
		s.SetFault(zohotest.Fault{Status: 503, Count: 1})

		var attempts atomic.Int64
		rc := retryablehttp.NewClient()
		rc.Logger = nil
		rc.HTTPClient = &http.Client{Transport: &zohoauth.Transport{Source: src, Base: s.Transport()}}
		rc.RequestLogHook = func(retryablehttp.Logger, *http.Request, int) { attempts.Add(1) }
		var p zohoauth.RetryPolicy
		rc.CheckRetry, rc.Backoff = p.CheckRetry, p.Backoff

		resp, err := rc.Post(zohoauth.US.APIDomain+"/crm/v8/Leads", "application/json", []byte(`{"data":[{"Last_Name":"Kowalski"}]}`))
		if err != nil {
			t.Fatal(err)
		}
		body := readAll(t, resp)
		var created struct {
			Data []struct{ Details struct{ ID string } }
		}
		if err := json.Unmarshal([]byte(body), &created); err != nil || resp.StatusCode != 201 || len(created.Data) != 1 {
			t.Fatalf("create: %d %s", resp.StatusCode, body)
		}
		st := s.Stats()
		if attempts.Load() != 1 || st.APICalls != 2 || st.Unauthorized != 1 || st.TokenCalls["refresh_token"] != 2 {
			t.Errorf("attempts %d, API calls %d, 401s %d, token calls %d; want 1, 2, 1, 2 (a 503 and its retry)",
				attempts.Load(), st.APICalls, st.Unauthorized, st.TokenCalls["refresh_token"])
		}
		// Zoho answers a create with the new id only: the record itself
		// shows whether the replayed body arrived intact.
		resp, err = rc.Get(zohoauth.US.APIDomain + "/crm/v8/Leads/" + created.Data[0].Details.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got := readAll(t, resp); !strings.Contains(got, `"Last_Name":"Kowalski"`) {
			t.Errorf("stored record: %d %s", resp.StatusCode, got)
		}
	})
}

// The policy reads outside input (headers and bodies of any response):
// whatever comes, it must not panic, must leave the body as it was, never
// retry 401/403, and never wait less than zero or more than its bound.
func FuzzRetryPolicy(f *testing.F) {
	f.Add(429, "", fmt.Sprintf(tooMany, 7))
	f.Add(429, "3", `{"data":[{"code":"TOO_MANY_REQUESTS","details":{"retry_after":"12.5"}}]}`)
	f.Add(503, "Wed, 21 Oct 2015 07:28:00 GMT", "<html>busy</html>")
	f.Add(429, "99999999999999999999", `{"details":{"retry_after":-1}}`)
	f.Add(401, "1", `{"code":"INVALID_TOKEN"}`)
	f.Add(403, "", `{"details":{"retry_after":1e400}}`)
	f.Fuzz(func(t *testing.T, status int, header, body string) {
		resp := &http.Response{StatusCode: status, Header: http.Header{"Retry-After": {header}},
			Body: io.NopCloser(strings.NewReader(body))}
		var p zohoauth.RetryPolicy
		retry, _ := p.CheckRetry(bg(), resp, nil)
		wait := p.Backoff(time.Second, 30*time.Second, 3, resp)
		got, err := io.ReadAll(resp.Body)
		if err != nil || string(got) != body {
			t.Fatalf("the body changed: %q", got)
		}
		if retry && (status == 401 || status == 403) {
			t.Fatalf("retries %d", status)
		}
		if wait < 0 || wait > zohoauth.DefaultMaxRetryWait {
			t.Fatalf("wait %v out of bounds", wait)
		}
	})
}
