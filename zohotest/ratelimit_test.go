package zohotest_test

import (
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/go-zoho/zohoauth"
	"github.com/go-zoho/zohoauth/zohotest"
	"github.com/hashicorp/go-retryablehttp"
)

// Credits run out per data center in a sliding window: the call after the
// last one gets 429 TOO_MANY_REQUESTS with details.retry_after, the time
// until the oldest credit comes back, and every answer says what is left.
func TestAPICreditsRunOut(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, c := newServer(t, zohotest.Options{APICredits: 2, APICreditWindow: time.Minute})
		us, _ := s.IssueToken("us")
		eu, _ := s.IssueToken("eu")
		list := func(loc, tok string) reply {
			return api(t, c, "GET", "https://www.zohoapis."+map[string]string{"us": "com", "eu": "eu"}[loc]+"/crm/v8/Leads?fields=Last_Name", tok, "")
		}
		remaining := func(r reply) string {
			return r.Header.Get("X-RATELIMIT-DAY-LIMIT") + "/" + r.Header.Get("X-RATELIMIT-DAY-REMAINING")
		}
		if r := list("us", us); r.Status != 204 || remaining(r) != "2/1" {
			t.Errorf("call 1: %d, credits %s", r.Status, remaining(r))
		}
		time.Sleep(20 * time.Second)
		if r := list("us", us); r.Status != 204 || remaining(r) != "2/0" {
			t.Errorf("call 2: %d, credits %s", r.Status, remaining(r))
		}
		time.Sleep(10 * time.Second)
		r := list("us", us)
		const want = `{"code":"TOO_MANY_REQUESTS","details":{"retry_after":30,"limit":2,"window":60},"message":"Rate limit exceeded. Please retry after the specified time.","status":"error"}`
		if r.Status != http.StatusTooManyRequests || r.Raw != want || remaining(r) != "2/0" {
			t.Errorf("call 3: %d %s (credits %s), want 429 %s", r.Status, r.Raw, remaining(r), want)
		}
		if r := list("eu", eu); r.Status != 204 {
			t.Errorf("EU has its own credits: %d %s", r.Status, r.Raw)
		}
		if r := list("us", "1000.dead.token"); r.Status != 401 || r.Header.Get("X-RATELIMIT-DAY-LIMIT") != "" {
			t.Errorf("a dead token: %d %v", r.Status, r.Header)
		}
		time.Sleep(30 * time.Second) // the first credit leaves the window
		if r := list("us", us); r.Status != 204 || remaining(r) != "2/0" {
			t.Errorf("after the wait: %d %s, credits %s", r.Status, r.Raw, remaining(r))
		}
		if st := s.Stats(); st.TooManyRequests != 1 || st.APICalls != 6 {
			t.Errorf("stats: %+v", st)
		}
	})
}

// Without APICredits there is no limit and no header.
func TestNoCreditHeadersByDefault(t *testing.T) {
	s, c := newServer(t, zohotest.Options{})
	tok, _ := s.IssueToken("us")
	for range 50 {
		r := api(t, c, "GET", "https://www.zohoapis.com/crm/v8/Leads?fields=Last_Name", tok, "")
		if r.Status != 204 || r.Header.Get("X-RATELIMIT-DAY-REMAINING") != "" {
			t.Fatalf("%d %v", r.Status, r.Header)
		}
	}
}

// zohoauth's RetryPolicy against the fake's 429: retryablehttp waits the
// details.retry_after Zoho's body asks for, then the create succeeds, sent
// twice with the same body; a wait longer than the policy's bound hands
// the 429 back at once.
func TestRetryPolicyAgainstTooManyRequests(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, _ := newServer(t, zohotest.Options{APICredits: 1, APICreditWindow: 20 * time.Second})
		access, refresh := s.IssueToken("us")
		cfg := &zohoauth.Config{ClientID: "test-client-id", ClientSecret: "test-client-secret",
			HTTPClient: &http.Client{Transport: s.Transport()}}
		src := zohoauth.NewSource(cfg, zohoauth.WithToken(&zohoauth.Token{AccessToken: access, RefreshToken: refresh,
			APIDomain: zohoauth.US.APIDomain, Expiry: time.Now().Add(time.Hour)}))
		defer src.Close()
		var attempts atomic.Int64
		rc := retryablehttp.NewClient()
		rc.Logger = nil
		rc.HTTPClient = &http.Client{Transport: &zohoauth.Transport{Source: src, Base: s.Transport()}}
		rc.RequestLogHook = func(retryablehttp.Logger, *http.Request, int) { attempts.Add(1) }
		p := zohoauth.RetryPolicy{MaxWait: 30 * time.Second}
		rc.CheckRetry, rc.Backoff = p.CheckRetry, p.Backoff

		resp, err := rc.Get(zohoauth.US.APIDomain + "/crm/v8/Leads?fields=Last_Name") // the only credit
		if err != nil || resp.StatusCode != 204 {
			t.Fatalf("first call: %v %v", resp, err)
		}
		resp.Body.Close()
		start := time.Now()
		resp, err = rc.Post(zohoauth.US.APIDomain+"/crm/v8/Leads", "application/json", []byte(`{"data":[{"Last_Name":"Kowalski"}]}`))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusCreated || time.Since(start) != 20*time.Second || attempts.Load() != 3 {
			t.Errorf("create: %d after %v and %d attempts, want 201 after 20s (the body's retry_after) and 3 attempts",
				resp.StatusCode, time.Since(start), attempts.Load())
		}
		if st := s.Stats(); st.TooManyRequests != 1 || st.TokenCalls["refresh_token"] != 0 {
			t.Errorf("stats: %+v", st)
		}
		resp, err = rc.Get(zohoauth.US.APIDomain + "/crm/v8/Leads?fields=Last_Name")
		if err != nil {
			t.Fatal(err)
		}
		body := readBody(t, resp)
		if !strings.Contains(body, `"Last_Name":"Kowalski"`) {
			t.Errorf("the retried create stored %s", body)
		}

		// Asked to wait longer than MaxWait: the 429 comes back at once,
		// body intact.
		short := zohoauth.RetryPolicy{MaxWait: time.Second}
		rc.CheckRetry, rc.Backoff = short.CheckRetry, short.Backoff
		start = time.Now()
		resp, err = rc.Get(zohoauth.US.APIDomain + "/crm/v8/Leads?fields=Last_Name")
		if err != nil {
			t.Fatal(err)
		}
		if body := readBody(t, resp); resp.StatusCode != 429 || time.Since(start) != 0 || !strings.Contains(body, `"retry_after":20`) {
			t.Errorf("over the bound: %d after %v: %s", resp.StatusCode, time.Since(start), body)
		}
	})
}

func readBody(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
