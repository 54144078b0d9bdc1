package zohotest_test

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/go-zoho/zohoauth/zohotest"
)

func TestTransportRefusesOtherHosts(t *testing.T) {
	s := zohotest.New(zohotest.Options{})
	defer s.Close()
	for _, u := range []string{
		"https://example.com/oauth/v2/token?client_secret=test-client-secret",
		"https://accounts.zoho.in/oauth/v2/token",
		"https://127.0.0.1/oauth/v2/token",
		"http://accounts.zoho.com/oauth/v2/token",
		"https://accounts.zoho.com:8443/oauth/v2/token",
		"https://zohoapis.com/crm/v8/Leads",
	} {
		body := newCountingBody("grant_type=refresh_token")
		req, _ := http.NewRequest(http.MethodPost, u, body)
		resp, err := s.Transport().RoundTrip(req)
		if err == nil {
			resp.Body.Close()
			t.Errorf("%s: got a response, want an error", u)
			continue
		}
		if body.closes != 1 {
			t.Errorf("%s: body closed %d times, want 1", u, body.closes)
		}
		if strings.Contains(err.Error(), "test-client-secret") || !strings.HasPrefix(err.Error(), "zohotest: ") {
			t.Errorf("%s: error %q", u, err)
		}
	}
}

func TestTransportContract(t *testing.T) {
	s := zohotest.New(zohotest.Options{})
	defer s.Close()
	code := s.NewGrantCode("us")
	body := newCountingBody(form("grant_type", "authorization_code", "code", code).Encode())
	req, _ := http.NewRequest(http.MethodPost, "https://accounts.zoho.com:443/oauth/v2/token", body)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	before := req.Header.Clone()
	resp, err := s.Transport().RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || resp.Request != req || body.closes != 1 {
		t.Errorf("status %d, Request set %v, body closed %d times", resp.StatusCode, resp.Request == req, body.closes)
	}
	if len(req.Header) != len(before) || req.Header.Get("Content-Type") != before.Get("Content-Type") {
		t.Errorf("request headers changed: %v", req.Header)
	}
}

func TestTransportCancelledContext(t *testing.T) {
	s := zohotest.New(zohotest.Options{})
	defer s.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	body := newCountingBody("")
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, "https://accounts.zoho.com/oauth/v2/token", body)
	if _, err := s.Transport().RoundTrip(req); !errors.Is(err, context.Canceled) || body.closes != 1 {
		t.Errorf("err = %v, body closes %d; want context.Canceled and 1", err, body.closes)
	}
	if got := s.Stats().TokenCalls; len(got) != 0 {
		t.Errorf("a cancelled request reached the server: %v", got)
	}
}

func TestTransportAfterClose(t *testing.T) {
	s := zohotest.New(zohotest.Options{})
	s.Close()
	s.Close() // twice is fine
	req, _ := http.NewRequest(http.MethodGet, "https://www.zohoapis.com/crm/v8/Leads", nil)
	if _, err := s.Transport().RoundTrip(req); err == nil {
		t.Error("transport of a closed server answered")
	}
}

func TestConcurrentUse(t *testing.T) {
	s, c := newServer(t, zohotest.Options{ThrottleLimit: -1, MaxLiveTokens: -1})
	const workers, rounds = 8, 25
	var wg sync.WaitGroup
	for w := range workers {
		loc := []string{"us", "eu"}[w%2]
		dc := s.DC(loc)
		wg.Go(func() {
			_, rt := s.IssueToken(loc)
			for range rounds {
				req, _ := http.NewRequest("POST", dc.AccountsURL+"/oauth/v2/token",
					strings.NewReader(form("grant_type", "refresh_token", "refresh_token", rt).Encode()))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				r, err := send(c, req)
				if err != nil || r.str("access_token") == "" {
					t.Errorf("refresh: %v %s", err, r.Raw)
					return
				}
				req, _ = http.NewRequest("POST", dc.APIDomain+"/crm/v8/Leads", strings.NewReader(`{"data":[{"Last_Name":"x"}]}`))
				req.Header.Set("Authorization", "Zoho-oauthtoken "+r.str("access_token"))
				if r, err := send(c, req); err != nil || r.Status != http.StatusCreated {
					t.Errorf("create: %v %s", err, r.Raw)
				}
				s.Stats()
			}
		})
	}
	wg.Go(func() {
		for range rounds {
			s.SetFault(zohotest.Fault{Latency: 1, Count: 1})
			s.NewGrantCode("eu")
		}
	})
	wg.Wait()
	st := s.Stats()
	if st.TokenCalls["refresh_token"] != workers*rounds || st.APICalls != workers*rounds || st.Unauthorized != 0 || st.LiveTokens != workers*(rounds+1) {
		t.Errorf("stats after the run: %+v", st)
	}
	access, _ := s.IssueToken("us")
	r := api(t, c, "GET", "https://www.zohoapis.com/crm/v8/Leads?fields=Last_Name", access, "")
	if n := r.JSON["info"].(map[string]any)["count"]; n != float64(workers/2*rounds) {
		t.Errorf("US lists %v records, want %d", n, workers/2*rounds)
	}
}

func TestStats(t *testing.T) {
	s, c := newServer(t, zohotest.Options{})
	a1, rt := s.IssueToken("us")
	a2, _ := s.IssueToken("eu")
	refresh(t, c, s.DC("us"), rt)
	postToken(t, c, s.DC("eu").AccountsURL, form("grant_type", "client_credentials", "scope", "ZohoCRM.modules.ALL", "soid", "ZohoCRM.1"))
	api(t, c, "GET", "https://www.zohoapis.com/crm/v8/Leads?fields=Last_Name", a1, "")
	apiAuth(t, c, "GET", "https://www.zohoapis.eu/crm/v8/Leads?fields=Last_Name", "Bearer "+a2, "")
	api(t, c, "GET", "https://www.zohoapis.eu/crm/v8/Leads?fields=Last_Name", "", "")

	st := s.Stats()
	wantHeaders := []string{"Zoho-oauthtoken " + a1, "Bearer " + a2, ""}
	// A Bearer header is refused like a missing one by default.
	if st.LiveTokens != 4 || st.APICalls != 3 || st.Unauthorized != 2 || len(st.AuthHeaders) != 3 || st.ProductCalls["crm"] != 3 ||
		st.TokenCalls["refresh_token"] != 1 || st.TokenCalls["client_credentials"] != 1 || st.TokenCalls["authorization_code"] != 0 {
		t.Errorf("stats: %+v", st)
	}
	for i, h := range wantHeaders {
		if st.AuthHeaders[i] != h {
			t.Errorf("AuthHeaders[%d] = %q, want %q", i, st.AuthHeaders[i], h)
		}
	}
	if len(st.AccessTokens) != 4 || st.AccessTokens[0] != a1 || st.AccessTokens[1] != a2 || slices.Contains(st.AccessTokens, "") {
		t.Errorf("AccessTokens = %q, want the 4 minted, oldest first", st.AccessTokens)
	}
	st.AuthHeaders[0], st.TokenCalls["x"], st.AccessTokens[0] = "changed", 9, "changed" // a copy
	if again := s.Stats(); again.AuthHeaders[0] == "changed" || again.TokenCalls["x"] != 0 || again.AccessTokens[0] != a1 {
		t.Error("Stats shares memory with the server")
	}

	s.ExpireAll()
	if got := s.Stats().LiveTokens; got != 0 {
		t.Errorf("LiveTokens after ExpireAll = %d", got)
	}
	wantToken(t, refresh(t, c, s.DC("us"), rt)) // refresh tokens survive
}
