package zohoauth_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/go-zoho/zohoauth"
	"github.com/go-zoho/zohoauth/zohotest"
)

// refusingAPI answers every API request 401 INVALID_TOKEN, as Zoho does for
// a revoked grant or a token of another data center; token calls go to srv.
func refusingAPI(srv *zohotest.Server) http.RoundTripper {
	return roundTripFunc(func(r *http.Request) (*http.Response, error) {
		if strings.HasPrefix(r.URL.Host, "accounts.") {
			return srv.Transport().RoundTrip(r)
		}
		if r.Body != nil {
			r.Body.Close()
		}
		return &http.Response{StatusCode: 401, Request: r, Header: http.Header{},
			Body: io.NopCloser(strings.NewReader(`{"code":"INVALID_TOKEN","details":{},"message":"invalid oauth token","status":"error"}`))}, nil
	})
}

// runRefusedFleet runs n Sources sharing one MemoryStore for an hour of
// fake time against an API that refuses every token, each making a request
// a second, and returns the times of the token calls.
func runRefusedFleet(t *testing.T, n int) []time.Time {
	var calls []time.Time
	synctest.Test(t, func(t *testing.T) {
		srv := zohotest.New(zohotest.Options{})
		defer srv.Close()
		access, refresh := srv.IssueToken("eu")
		store := &zohoauth.MemoryStore{}
		_ = store.Save(bg(), &zohoauth.Token{AccessToken: access, RefreshToken: refresh, APIDomain: zohoauth.EU.APIDomain,
			AccountsServer: zohoauth.EU.AccountsURL, Expiry: time.Now().Add(time.Hour)})
		base := refusingAPI(srv)
		cfg := &zohoauth.Config{ClientID: "test-client-id", ClientSecret: "test-client-secret",
			AccountsURL: zohoauth.EU.AccountsURL, HTTPClient: &http.Client{Transport: base}}
		ctx, cancel := context.WithTimeout(bg(), time.Hour)
		defer cancel()
		var wg sync.WaitGroup
		for range n {
			src := zohoauth.NewSource(cfg, zohoauth.WithStore(store))
			defer src.Close()
			client := &http.Client{Transport: &zohoauth.Transport{Source: src, Base: base}}
			wg.Go(func() {
				for ctx.Err() == nil {
					req, _ := http.NewRequestWithContext(ctx, "GET", zohoauth.EU.APIDomain+"/crm/v8/Leads?fields=Last_Name", nil)
					if resp, err := client.Do(req); err == nil {
						resp.Body.Close()
					}
					time.Sleep(time.Second)
				}
			})
		}
		wg.Wait()
		calls = callTimes(srv)
	})
	return calls
}

// Zoho's limits belong to the refresh token: eight Sources sharing a store
// whose tokens the API refuses, every one of them, make no more token calls
// than one Source would, and never more than 10 in any 10 minutes.
func TestRefusedFleetSharesOneBudget(t *testing.T) {
	one := runRefusedFleet(t, 1)
	eight := runRefusedFleet(t, 8)
	checkWindow(t, eight, 10, 10*time.Minute)
	if len(eight) > len(one) {
		t.Errorf("8 Sources made %d token calls in an hour, one Source %d; want no more than one makes", len(eight), len(one))
	}
	t.Logf("an hour against an API refusing every token: 1 Source %d token calls, 8 Sources %d", len(one), len(eight))
}

// A storm of requests from many Sources sharing a store, on a token that
// has expired, costs one refresh.
func TestStormAcrossSourcesOneRefresh(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := zohotest.New(zohotest.Options{})
		defer srv.Close()
		access, refresh := srv.IssueToken("eu")
		srv.ExpireAll()
		srv.SetFault(zohotest.Fault{Latency: 200 * time.Millisecond})
		store := &zohoauth.MemoryStore{}
		_ = store.Save(bg(), &zohoauth.Token{AccessToken: access, RefreshToken: refresh, APIDomain: zohoauth.EU.APIDomain,
			AccountsServer: zohoauth.EU.AccountsURL, Expiry: time.Now().Add(-time.Second)})
		cfg := &zohoauth.Config{ClientID: "test-client-id", ClientSecret: "test-client-secret",
			AccountsURL: zohoauth.EU.AccountsURL, HTTPClient: &http.Client{Transport: srv.Transport()}}
		var clients []*http.Client
		for range 8 {
			src := zohoauth.NewSource(cfg, zohoauth.WithStore(store))
			defer src.Close()
			clients = append(clients, &http.Client{Transport: &zohoauth.Transport{Source: src, Base: srv.Transport()}})
		}
		var wg sync.WaitGroup
		failed := 0
		var mu sync.Mutex
		for i := range 1000 {
			wg.Go(func() {
				resp, err := clients[i%8].Get(zohoauth.EU.APIDomain + "/crm/v8/Leads?fields=Last_Name")
				if err == nil {
					resp.Body.Close()
				}
				if err != nil || resp.StatusCode/100 != 2 {
					mu.Lock()
					failed++
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if n := len(callTimes(srv)); n != 1 {
			t.Errorf("%d token calls for 1,000 requests across 8 Sources, want 1", n)
		}
		if failed != 0 {
			t.Errorf("%d requests failed", failed)
		}
	})
}

// A wait the token endpoint asks for, in a Retry-After header or in Zoho's
// details.retry_after, holds the next token call back that long, although
// callers keep asking every second.
func TestTokenEndpointRetryAfterIsHonoured(t *testing.T) {
	for name, fault := range map[string]zohotest.Fault{
		"header": {Status: 503, Header: http.Header{"Retry-After": {"30"}}},
		"body":   {Status: 429, Body: `{"code":"TOO_MANY_REQUESTS","details":{"retry_after":30},"status":"error"}`},
		"date":   {Status: 503, Header: http.Header{"Retry-After": {time.Date(2000, 1, 1, 0, 0, 30, 0, time.UTC).Format(http.TimeFormat)}}},
	} {
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				srv, cfg, tok := zohotestSource(t)
				srv.Script(fault)
				src := zohoauth.NewSource(cfg, zohoauth.WithToken(tok))
				defer src.Close()
				start := time.Now()
				for {
					if _, err := src.Token(bg()); err == nil {
						break
					}
					time.Sleep(time.Second)
				}
				calls := callTimes(srv)
				if len(calls) != 2 {
					t.Fatalf("%d token calls, want 2 (the refused one, then one after the wait)", len(calls))
				}
				if gap := calls[1].Sub(calls[0]); gap < 30*time.Second || gap > 31*time.Second {
					t.Errorf("the second call came %v after the first; Zoho asked for 30 s", gap)
				}
				t.Logf("token after %v", time.Since(start))
			})
		})
	}
}
